/*
 * Keys, HMACs, CRC-32 and the integrity check: published vectors for the
 * primitives (RFC 2202, RFC 4231, the CRC-32 check value), then the byte
 * range each MAC covers, the choice between MESSAGE-INTEGRITY and
 * MESSAGE-INTEGRITY-SHA256, truncated SHA-256 MACs, MESSAGE-INTEGRITY
 * twice, and a flipped bit anywhere in a MAC.
 */
#include <string.h>

#include "check.h"
#include "stun.h"
#include "stun_enc.h"
#include "stun_integrity.h"
#include "stun_msg.h"

static const uint8_t txid[12] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};
static const uint8_t key[16] = "0123456789abcdef";
/* "マトリックス", RFC 5769 section 2.4 and RFC 8489 appendix B.1. */
static const char user[] = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83"
                           "\x83\xe3\x82\xaf\xe3\x82\xb9";

static void
test_keys(void)
{
	uint8_t out[STUN_KEY_MAX], want[32];

	/* md5sum and sha256sum of "マトリックス:example.org:TheMatrIX". */
	check_unhex("e8ca7ad59d5eb0518e312911d2dab2a9", want, sizeof(want));
	CHECK_EQ_INT(stun_key_long_term(STUN_PWALG_MD5, user, strlen(user),
	                 "example.org", 11, "TheMatrIX", 9, out),
	    16);
	CHECK_MEMEQ(out, 16, want, 16);
	check_unhex("dd295a613b9058c3c23d6dc7165bda07"
	            "2304d989c9d0af3a8c7e184b4f9bb4a1",
	    want, sizeof(want));
	CHECK_EQ_INT(stun_key_long_term(STUN_PWALG_SHA256, user, strlen(user),
	                 "example.org", 11, "TheMatrIX", 9, out),
	    32);
	CHECK_MEMEQ(out, 32, want, 32);
	/* md5sum of "alice:example.org:s3cret". */
	check_unhex("8b83b40c22906c0c67a3c5bcc491bc14", want, sizeof(want));
	CHECK_EQ_INT(stun_key_long_term(STUN_PWALG_MD5, "alice", 5,
	                 "example.org", 11, "s3cret", 6, out),
	    16);
	CHECK_MEMEQ(out, 16, want, 16);
	CHECK_EQ_INT(
	    stun_key_long_term(0, "a", 1, "b", 1, "c", 1, out), STUN_EINVAL);
	CHECK_EQ_INT(
	    stun_key_long_term(3, "a", 1, "b", 1, "c", 1, out), STUN_EINVAL);

	/* RFC 8489 appendix B.1's USERHASH value. */
	check_unhex("4a3cf38fef6992bda952c6780417da0f"
	            "24819415569e60b205c46e41407f1704",
	    want, sizeof(want));
	stun_userhash(user, strlen(user), "example.org", 11, out);
	CHECK_MEMEQ(out, 32, want, 32);
}

static const struct {
	const char *name;
	uint8_t keybyte;
	size_t keylen;
	const char *data;
	const char *sha1;
	const char *sha256;
} hmacs[] = {
    {"RFC 2202/4231 case 1", 0x0b, 20, "Hi There",
        "b617318655057264e28bc0b6fb378c8ef146be00",
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    {"RFC 2202 case 6 / 4231 case 6: key hashed first", 0xaa, 0,
        "Test Using Larger Than Block-Size Key - Hash Key First",
        "aa4ae5e15272d00e95705637ce8a3b55ed402112",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
};

static void
test_hmac(void)
{
	uint8_t k[131], want[32], out[32];
	size_t i, split, dlen, klen;

	for (i = 0; i < sizeof(hmacs) / sizeof(hmacs[0]); i++) {
		const uint8_t *d = (const uint8_t *)hmacs[i].data;

		dlen = strlen(hmacs[i].data);
		memset(k, hmacs[i].keybyte, sizeof(k));
		/* Case 6 uses an 80-byte key for SHA-1, 131 for SHA-256. */
		klen = hmacs[i].keylen != 0 ? hmacs[i].keylen : 80;
		check_unhex(hmacs[i].sha1, want, sizeof(want));
		for (split = 0; split <= dlen; split++) {
			CHECK_EQ_INT(stun_hmac_sha1(k, klen, d, split,
			                 d + split, dlen - split, out),
			    0);
			if (!CHECK_MEMEQ(out, 20, want, 20))
				break;
		}
		klen = hmacs[i].keylen != 0 ? hmacs[i].keylen : 131;
		check_unhex(hmacs[i].sha256, want, sizeof(want));
		for (split = 0; split <= dlen; split++) {
			CHECK_EQ_INT(stun_hmac_sha256(k, klen, d, split,
			                 d + split, dlen - split, out),
			    0);
			if (!CHECK_MEMEQ(out, 32, want, 32))
				break;
		}
	}
	/* Empty key and message: python's hmac.new(b'', b'', sha1). */
	check_unhex(
	    "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d", want, sizeof(want));
	CHECK_EQ_INT(stun_hmac_sha1(NULL, 0, NULL, 0, NULL, 0, out), 0);
	CHECK_MEMEQ(out, 20, want, 20);
}

static void
test_crc32(void)
{
	uint8_t zeros[32] = {0};

	CHECK_EQ_INT(stun_crc32((const uint8_t *)"123456789", 9), 0xcbf43926);
	CHECK_EQ_INT(stun_crc32(NULL, 0), 0);
	/* zlib.crc32(bytes(32)). */
	CHECK_EQ_INT(stun_crc32(zeros, sizeof(zeros)), 0x190a55ad);
}

static uint8_t buf[1024];
static struct stun_msg m;

static int
check(const uint8_t *k, size_t klen, int *which)
{
	return stun_msg_check_integrity(&m, k, klen, which);
}

/* Every bit of the MAC at mac[0..len) matters. */
static void
flip_each(uint8_t *mac, size_t len, const char *what)
{
	size_t i;
	int bit;

	for (i = 0; i < len; i++)
		for (bit = 0; bit < 8; bit++) {
			mac[i] ^= (uint8_t)(1 << bit);
			CHECK_MSG(
			    check(key, sizeof(key), NULL) == STUN_EINTEGRITY,
			    "%s byte %zu bit %d", what, i, bit);
			mac[i] ^= (uint8_t)(1 << bit);
		}
	CHECK_MSG(check(key, sizeof(key), NULL) == 0, "%s restored", what);
}

static int
encode_decode(struct stun_enc *e)
{
	int len = stun_enc_finish(e);

	if (!CHECK_MSG(len > 0, "encode: %d", len))
		return -1;
	return stun_msg_decode(&m, buf, (size_t)len);
}

static void
test_ranges(void)
{
	struct stun_enc e;
	uint8_t mac[32], hdr[20];
	int which = 0;

	/* MESSAGE-INTEGRITY then FINGERPRINT. */
	stun_enc_init(&e, buf, sizeof(buf), 0x0003, txid);
	stun_enc_str(&e, STUN_ATTR_USERNAME, "alice");
	stun_enc_u8pad(&e, STUN_ATTR_REQUESTED_TRANSPORT, STUN_PROTO_UDP);
	stun_enc_integrity(&e, key, sizeof(key));
	stun_enc_fingerprint(&e);
	CHECK_EQ_INT(encode_decode(&e), 0);
	CHECK_EQ_INT(m.mi_off, 40);
	CHECK_EQ_INT(check(key, sizeof(key), &which), 0);
	CHECK_EQ_INT(which, STUN_INTEGRITY_SHA1);
	/* The MAC covers buf[0..40) with the length ending at MI (0x2c),
	 * not the message's (0x34), computed here from the pieces. */
	CHECK_EQ_INT(buf[3], 0x34);
	memcpy(hdr, buf, 20);
	hdr[3] = 0x2c;
	stun_hmac_sha1(key, sizeof(key), hdr, 20, buf + 20, 20, mac);
	CHECK_MEMEQ(buf + 44, 20, mac, 20);
	flip_each(buf + 44, 20, "MI");
	/* A covered byte changed; then one past the MI (FINGERPRINT). */
	buf[24] ^= 1;
	CHECK_EQ_INT(check(key, sizeof(key), NULL), STUN_EINTEGRITY);
	buf[24] ^= 1;
	buf[3] ^= 4;
	CHECK_EQ_INT(check(key, sizeof(key), NULL), 0);
	buf[3] ^= 4;
	buf[m.fp_off + 4] ^= 1;
	CHECK_EQ_INT(check(key, sizeof(key), NULL), 0);
	buf[m.fp_off + 4] ^= 1;
	CHECK_EQ_INT(check(key, 15, NULL), STUN_EINTEGRITY);
	CHECK_EQ_INT(check(NULL, 0, NULL), STUN_EINTEGRITY);
	CHECK_EQ_INT(check(NULL, 3, NULL), STUN_EINVAL);

	/* MESSAGE-INTEGRITY-SHA256 then FINGERPRINT. */
	stun_enc_init(&e, buf, sizeof(buf), 0x0003, txid);
	stun_enc_str(&e, STUN_ATTR_USERNAME, "alice");
	stun_enc_integrity_sha256(&e, key, sizeof(key));
	stun_enc_fingerprint(&e);
	CHECK_EQ_INT(encode_decode(&e), 0);
	CHECK_EQ_INT(check(key, sizeof(key), &which), 0);
	CHECK_EQ_INT(which, STUN_INTEGRITY_SHA256);
	memcpy(hdr, buf, 20);
	hdr[3] = 12 + 36;
	stun_hmac_sha256(key, sizeof(key), hdr, 20, buf + 20, 12, mac);
	CHECK_MEMEQ(buf + 36, 32, mac, 32);
	flip_each(buf + 36, 32, "MI-SHA256");

	/* Both: SHA-256 is the one checked, with no fall back to SHA-1. */
	stun_enc_init(&e, buf, sizeof(buf), 0x0003, txid);
	stun_enc_str(&e, STUN_ATTR_USERNAME, "alice");
	stun_enc_integrity(&e, key, sizeof(key));
	stun_enc_integrity_sha256(&e, key, sizeof(key));
	stun_enc_fingerprint(&e);
	CHECK_EQ_INT(encode_decode(&e), 0);
	CHECK_EQ_INT(check(key, sizeof(key), &which), 0);
	CHECK_EQ_INT(which, STUN_INTEGRITY_SHA256);
	/* MI-SHA256 covers MI; a bad MI-SHA256 fails though MI is right. */
	buf[m.mi_off + 4] ^= 0xff;
	CHECK_EQ_INT(check(key, sizeof(key), NULL), STUN_EINTEGRITY);
	buf[m.mi_off + 4] ^= 0xff;
	buf[m.mi256_off + 4] ^= 0xff;
	CHECK_EQ_INT(check(key, sizeof(key), NULL), STUN_EINTEGRITY);
	buf[m.mi256_off + 4] ^= 0xff;
	/* The MI alone still checks if asked by hand (mi256_off cleared). */
	m.mi256_off = 0;
	CHECK_EQ_INT(check(key, sizeof(key), &which), 0);
	CHECK_EQ_INT(which, STUN_INTEGRITY_SHA1);
}

/* RFC 8489 section 14.6: a MAC truncated to 16..28 bytes. */
static void
test_truncated(void)
{
	static const uint8_t zero[32];
	struct stun_enc e;
	uint8_t mac[32];
	size_t tl;
	int len;

	for (tl = 16; tl <= 32; tl += 4) {
		stun_enc_init(&e, buf, sizeof(buf), 0x0003, txid);
		stun_enc_str(&e, STUN_ATTR_USERNAME, "bob");
		/* Reserve the attribute so the length counts it, then MAC. */
		stun_enc_attr(&e, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, zero, tl);
		len = stun_enc_finish(&e);
		stun_hmac_sha256(
		    key, sizeof(key), buf, (size_t)len - 4 - tl, NULL, 0, mac);
		memcpy(buf + len - (int)tl, mac, tl);
		CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), 0);
		CHECK_EQ_INT(m.mi256_len, tl);
		CHECK_MSG(
		    check(key, sizeof(key), NULL) == 0, "truncated to %zu", tl);
		flip_each(buf + len - (int)tl, tl, "truncated MI-SHA256");
	}
}

/*
 * MESSAGE-INTEGRITY twice: the first is the one verified, the second is
 * an attribute after MESSAGE-INTEGRITY and so ignored.
 */
static void
test_mi_twice(void)
{
	static const uint8_t junk[20] = {0xde, 0xad, 0xbe, 0xef};
	struct stun_enc e;

	/* First right, second junk: passes. */
	stun_enc_init(&e, buf, sizeof(buf), 0x0003, txid);
	stun_enc_str(&e, STUN_ATTR_USERNAME, "alice");
	stun_enc_integrity(&e, key, sizeof(key));
	stun_enc_attr(&e, STUN_ATTR_MESSAGE_INTEGRITY, junk, sizeof(junk));
	CHECK_EQ_INT(encode_decode(&e), 0);
	CHECK_EQ_INT(m.mi_off, 32);
	CHECK_EQ_INT(check(key, sizeof(key), NULL), 0);

	/* First junk, second right over everything before it: fails. */
	stun_enc_init(&e, buf, sizeof(buf), 0x0003, txid);
	stun_enc_str(&e, STUN_ATTR_USERNAME, "alice");
	stun_enc_attr(&e, STUN_ATTR_MESSAGE_INTEGRITY, junk, sizeof(junk));
	stun_enc_integrity(&e, key, sizeof(key));
	CHECK_EQ_INT(encode_decode(&e), 0);
	CHECK_EQ_INT(m.mi_off, 32);
	CHECK_EQ_INT(check(key, sizeof(key), NULL), STUN_EINTEGRITY);

	/* Same with FINGERPRINT after both. */
	stun_enc_fingerprint(&e);
	CHECK_EQ_INT(encode_decode(&e), 0);
	CHECK_EQ_INT(check(key, sizeof(key), NULL), STUN_EINTEGRITY);
}

/* A hand-made struct stun_msg cannot send the checker out of bounds. */
static void
test_bad_msg(void)
{
	struct stun_msg h;

	memset(&h, 0, sizeof(h));
	CHECK_EQ_INT(
	    stun_msg_check_integrity(&h, key, sizeof(key), NULL), STUN_EINVAL);
	h.buf = buf;
	h.len = 40;
	CHECK_EQ_INT(stun_msg_check_integrity(&h, key, sizeof(key), NULL),
	    STUN_EINTEGRITY);
	h.mi_off = 30;
	CHECK_EQ_INT(
	    stun_msg_check_integrity(&h, key, sizeof(key), NULL), STUN_EINVAL);
	h.mi_off = 10;
	h.len = 100;
	CHECK_EQ_INT(
	    stun_msg_check_integrity(&h, key, sizeof(key), NULL), STUN_EINVAL);
	h.mi_off = 0;
	h.mi256_off = 20;
	h.mi256_len = 64;
	CHECK_EQ_INT(
	    stun_msg_check_integrity(&h, key, sizeof(key), NULL), STUN_EINVAL);
	CHECK_EQ_INT(stun_msg_check_integrity(NULL, key, sizeof(key), NULL),
	    STUN_EINVAL);
}

int
main(void)
{
	test_keys();
	test_hmac();
	test_crc32();
	test_ranges();
	test_truncated();
	test_mi_twice();
	test_bad_msg();
	return CHECK_DONE();
}
