/*
 * Published test vectors: RFC 5769 ("Test Vectors for STUN") sections 2.1
 * to 2.4 and RFC 8489 appendix B.1.  Each is decoded field by field, its
 * MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT verified, and rebuilt with the
 * encoder byte for byte.  Then each gets hostile twins: truncated, header
 * length +-1, a missing padding, a flipped bit under the MAC.
 *
 * Padding.  RFC 5769 pads USERNAME (2.1) and SOFTWARE (2.2, 2.3) with
 * spaces (0x20), not zeros; RFC 8489 section 14 lets padding be any value
 * and MESSAGE-INTEGRITY covers it, so the MAC only checks with those exact
 * bytes.  The encoder always pads with zeros; to rebuild the vectors the
 * test overwrites the padding bytes in its own buffer (the encoder's
 * output is the caller's to touch) right after appending the attribute and
 * before the MAC is computed.  Encoding "evtj:h6vY   " instead would
 * change the attribute's length field from 9 to 12.
 */
#include <string.h>

#include "check.h"
#include "stun.h"
#include "stun_attr.h"
#include "stun_enc.h"
#include "stun_hdr.h"
#include "stun_integrity.h"
#include "stun_msg.h"

/* RFC 5769 section 2.1: a Binding request, short-term credentials. */
static const char rfc5769_req[] =
    "00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74"
    "00 24 00 04 6e 00 01 ff"
    "80 29 00 08 93 2f f9 b1 51 26 3b 36"
    "00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20"
    "00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2"
    "80 28 00 04 e5 7a 3b cf";

/* Section 2.2: Binding success, XOR-MAPPED-ADDRESS 192.0.2.1:32853. */
static const char rfc5769_v4[] =
    "01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 08 00 01 a1 47 e1 12 a6 43"
    "00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7"
    "80 28 00 04 c0 7d 4c 96";

/* Section 2.3: the same with [2001:db8:1234:5678:11:2233:4455:6677]. */
static const char rfc5769_v6[] =
    "01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9"
    "00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41"
    "80 28 00 04 c8 fb 0b 4c";

/* Section 2.4: long-term credentials, no FINGERPRINT. */
static const char rfc5769_lt[] =
    "00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e"
    "00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00"
    "00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46"
    "53 54 76 79 36 34 73 41"
    "00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00"
    "00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66";

/*
 * RFC 8489 appendix B.1 as published.  Its length field says 0x9c, but the
 * attributes take 0x88 bytes: 0x9c is the whole message with its 20-byte
 * header.  Its MESSAGE-INTEGRITY-SHA256 was computed over that wrong
 * length, so no conforming receiver can verify it.
 */
static const char rfc8489_b1_published[] =
    "00 01 00 9c 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e"
    "00 1e 00 20 4a 3c f3 8f ef 69 92 bd a9 52 c6 78 04 17 da 0f 24 81 94 15"
    "56 9e 60 b2 05 c4 6e 41 40 7f 17 04"
    "00 15 00 29 6f 62 4d 61 74 4a 6f 73 32 41 41 41 43 66 2f 2f 34 39 39 6b"
    "39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41 00 00 00"
    "00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00"
    "00 1c 00 20 e4 68 6c 8f 0e de b5 90 13 e0 70 90 01 0a 93 ef cc bc cc 54"
    "4c 0a 45 d9 f8 30 aa 6d 6f 73 5a 01";

/*
 * RFC 8489 appendix B.1 as corrected in the erratum reported against it
 * (and used in that form by several STUN implementations): the length is
 * 0x90, a PASSWORD-ALGORITHM (SHA-256) attribute precedes
 * MESSAGE-INTEGRITY-SHA256, and the MAC is recomputed with the SHA-256
 * long-term key.  The erratum's page itself could not be reached from
 * here; what this test establishes independently is: the USERHASH bytes
 * are SHA-256("マトリックス:example.org") (also checked against sha256sum);
 * the published MAC above is exactly HMAC-SHA256 with the SHA-256 key over
 * the published bytes with their 0x9c length (test_b1_published), which
 * pins down key and algorithm; and the corrected MAC below verifies with
 * the same key under the RFC 8489 section 14.6 rules, and the encoder
 * rebuilds the corrected message byte for byte.
 */
static const char rfc8489_b1[] =
    "00 01 00 90 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e"
    "00 1e 00 20 4a 3c f3 8f ef 69 92 bd a9 52 c6 78 04 17 da 0f 24 81 94 15"
    "56 9e 60 b2 05 c4 6e 41 40 7f 17 04"
    "00 15 00 29 6f 62 4d 61 74 4a 6f 73 32 41 41 41 43 66 2f 2f 34 39 39 6b"
    "39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41 00 00 00"
    "00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00"
    "00 1d 00 04 00 02 00 00"
    "00 1c 00 20 b5 c7 bf 00 5b 6c 52 a2 1c 51 c5 e8 92 f8 19 24 13 62 96 cb"
    "92 7c 43 14 93 09 27 8c c6 51 8e 65";

static const char short_term[] = "VOkJxbRl1RmTxUk/WvJxBt";
/* "マトリックス"; the password is "TheMatrIX" after SASLprep/OpaqueString
 * ("The<U+00AD>M<U+00AA>tr<U+2168>" before), which is the caller's job. */
static const char lt_user[] = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83"
                              "\x83\xe3\x82\xaf\xe3\x82\xb9";
static const char b1_nonce[] = "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA";

static uint8_t vec[512], out[512];
static size_t vlen;
static struct stun_msg m;

static int
str_is(struct stun_str s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

static void
load(const char *hex)
{
	vlen = check_unhex(hex, vec, sizeof(vec));
	CHECK(vlen > 20);
}

/* Overwrites the padding of the attribute just appended. */
static void
pad_with(struct stun_enc *e, size_t n, uint8_t byte)
{
	memset(e->buf + e->len - n, byte, n);
}

/*
 * Twins every vector shares: truncation at every length, header length
 * +-1 and +-4, the last attribute's padding gone, a bit flipped under the
 * MAC, and MESSAGE-INTEGRITY appended a second time.
 */
static void
twins(const char *name, const uint8_t *k, size_t klen)
{
	uint8_t t[512];
	size_t cut;
	int err;

	for (cut = 0; cut < vlen; cut++)
		if (!CHECK_MSG(stun_msg_decode(&m, vec, cut) != 0,
		        "%s cut at %zu", name, cut))
			break;
	memcpy(t, vec, vlen);
	t[3] = (uint8_t)(vec[3] + 1);
	CHECK_MSG(stun_msg_decode(&m, t, vlen) == STUN_EHDR, "%s len+1", name);
	t[3] = (uint8_t)(vec[3] - 1);
	CHECK_MSG(stun_msg_decode(&m, t, vlen) == STUN_EHDR, "%s len-1", name);
	t[3] = (uint8_t)(vec[3] + 4);
	CHECK_MSG(
	    stun_msg_decode(&m, t, vlen) == STUN_ETRUNC, "%s len+4", name);
	t[3] = (uint8_t)(vec[3] - 4);
	CHECK_MSG(stun_msg_decode(&m, t, vlen) == STUN_EHDR, "%s len-4", name);
	/* Cut the buffer and the length by one byte: the padding (or the
	 * value, for an aligned last attribute) is short. */
	t[3] = (uint8_t)(vec[3] - 1);
	err = stun_msg_decode(&m, t, vlen - 1);
	CHECK_MSG(err == STUN_EPADDING || err == STUN_EHDR,
	    "%s short by one: %d", name, err);

	/* A flipped bit in the first attribute's value. */
	memcpy(t, vec, vlen);
	t[24] ^= 0x01;
	err = stun_msg_decode(&m, t, vlen);
	if (m.fp_off == 0 && err == 0)
		err = stun_msg_check_integrity(&m, k, klen, NULL);
	CHECK_MSG(err == STUN_EFINGERPRINT || err == STUN_EINTEGRITY,
	    "%s flipped: %d", name, err);
}

static void
test_request(void)
{
	struct stun_enc e;
	int which = 0, len;

	load(rfc5769_req);
	CHECK_EQ_INT(stun_msg_decode(&m, vec, vlen), 0);
	CHECK_EQ_INT(m.method, STUN_METHOD_BINDING);
	CHECK_EQ_INT(m.cls, STUN_CLASS_REQUEST);
	CHECK_MEMEQ(m.txid, 12, vec + 8, 12);
	CHECK(str_is(m.software, "STUN test client"));
	CHECK_EQ_INT(m.priority, 0x6e0001ff);
	CHECK(m.ice_tiebreaker == 0x932ff9b151263b36ULL);
	CHECK(STUN_HAS(&m, ICE_CONTROLLED));
	CHECK(str_is(m.username, "evtj:h6vY"));
	CHECK_EQ_INT(m.mi_off, 76);
	CHECK_EQ_INT(m.fp_off, 100);
	CHECK_EQ_INT(m.n_attrs, 6);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, (const uint8_t *)short_term,
	                 strlen(short_term), &which),
	    0);
	CHECK_EQ_INT(which, STUN_INTEGRITY_SHA1);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, (const uint8_t *)short_term,
	                 strlen(short_term) - 1, NULL),
	    STUN_EINTEGRITY);

	stun_enc_init(&e, out, sizeof(out), 0x0001, m.txid);
	stun_enc_str(&e, STUN_ATTR_SOFTWARE, "STUN test client");
	stun_enc_u32(&e, STUN_ATTR_PRIORITY, m.priority);
	stun_enc_u64(&e, STUN_ATTR_ICE_CONTROLLED, m.ice_tiebreaker);
	stun_enc_attr(&e, STUN_ATTR_USERNAME, m.username.p, m.username.len);
	pad_with(&e, 3, 0x20);
	stun_enc_integrity(&e, (const uint8_t *)short_term, strlen(short_term));
	stun_enc_fingerprint(&e);
	len = stun_enc_finish(&e);
	CHECK_MEMEQ(out, (size_t)(len > 0 ? len : 0), vec, vlen);

	twins("2.1", (const uint8_t *)short_term, strlen(short_term));
}

static void
test_responses(void)
{
	static const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34,
	    0x56, 0x78, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
	static const char *const vecs[2] = {rfc5769_v4, rfc5769_v6};
	struct stun_addr mapped;
	struct stun_enc e;
	int i, len;

	for (i = 0; i < 2; i++) {
		load(vecs[i]);
		CHECK_EQ_INT(stun_msg_decode(&m, vec, vlen), 0);
		CHECK_EQ_INT(m.type, 0x0101);
		CHECK(str_is(m.software, "test vector"));
		CHECK_EQ_INT(m.xor_mapped.port, 32853);
		if (i == 0) {
			CHECK_EQ_INT(m.xor_mapped.family, STUN_AF_IPV4);
			CHECK_EQ_INT(m.xor_mapped.ip[0], 192);
			CHECK_EQ_INT(m.xor_mapped.ip[1], 0);
			CHECK_EQ_INT(m.xor_mapped.ip[2], 2);
			CHECK_EQ_INT(m.xor_mapped.ip[3], 1);
		} else {
			CHECK_EQ_INT(m.xor_mapped.family, STUN_AF_IPV6);
			CHECK_MEMEQ(m.xor_mapped.ip, 16, ip6, 16);
		}
		CHECK_EQ_INT(
		    stun_msg_check_integrity(&m, (const uint8_t *)short_term,
		        strlen(short_term), NULL),
		    0);
		CHECK(m.fp_off != 0);

		mapped = m.xor_mapped;
		stun_enc_init(&e, out, sizeof(out), 0x0101, m.txid);
		stun_enc_str(&e, STUN_ATTR_SOFTWARE, "test vector");
		pad_with(&e, 1, 0x20);
		stun_enc_xaddr(&e, STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
		stun_enc_integrity(
		    &e, (const uint8_t *)short_term, strlen(short_term));
		stun_enc_fingerprint(&e);
		len = stun_enc_finish(&e);
		CHECK_MEMEQ(out, (size_t)(len > 0 ? len : 0), vec, vlen);

		twins(i == 0 ? "2.2" : "2.3", (const uint8_t *)short_term,
		    strlen(short_term));
	}
}

static void
test_long_term(void)
{
	uint8_t key[STUN_KEY_MAX];
	struct stun_enc e;
	int klen, len;

	load(rfc5769_lt);
	CHECK_EQ_INT(stun_msg_decode(&m, vec, vlen), 0);
	CHECK(str_is(m.username, lt_user));
	CHECK(str_is(m.nonce, "f//499k954d6OL34oL9FSTvy64sA"));
	CHECK(str_is(m.realm, "example.org"));
	CHECK_EQ_INT(m.fp_off, 0);
	CHECK(!STUN_HAS(&m, FINGERPRINT));

	klen = stun_key_long_term(STUN_PWALG_MD5, (const char *)m.username.p,
	    m.username.len, (const char *)m.realm.p, m.realm.len, "TheMatrIX",
	    9, key);
	CHECK_EQ_INT(klen, 16);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, key, (size_t)klen, NULL), 0);
	key[0] ^= 1;
	CHECK_EQ_INT(stun_msg_check_integrity(&m, key, (size_t)klen, NULL),
	    STUN_EINTEGRITY);
	key[0] ^= 1;

	stun_enc_init(&e, out, sizeof(out), 0x0001, m.txid);
	stun_enc_str(&e, STUN_ATTR_USERNAME, lt_user);
	stun_enc_str(&e, STUN_ATTR_NONCE, "f//499k954d6OL34oL9FSTvy64sA");
	stun_enc_str(&e, STUN_ATTR_REALM, "example.org");
	stun_enc_integrity(&e, key, (size_t)klen);
	len = stun_enc_finish(&e);
	CHECK_MEMEQ(out, (size_t)(len > 0 ? len : 0), vec, vlen);

	twins("2.4", key, (size_t)klen);
}

static void
test_b1_published(void)
{
	uint8_t key[STUN_KEY_MAX], hdr[20], mac[32];
	int klen;

	load(rfc8489_b1_published);
	CHECK_EQ_INT(vlen, 20 + 0x88);
	/* Its length field runs past the message. */
	CHECK_EQ_INT(stun_msg_decode(&m, vec, vlen), STUN_ETRUNC);

	/* Its MAC is HMAC-SHA256 with the SHA-256 key, over its bytes as
	 * printed, length field included. */
	klen = stun_key_long_term(STUN_PWALG_SHA256, lt_user, strlen(lt_user),
	    "example.org", 11, "TheMatrIX", 9, key);
	CHECK_EQ_INT(klen, 32);
	memcpy(hdr, vec, 20);
	stun_hmac_sha256(
	    key, (size_t)klen, hdr, 20, vec + 20, vlen - 20 - 36, mac);
	CHECK_MEMEQ(mac, 32, vec + vlen - 32, 32);

	/* With the length the rules give (0x88), that MAC does not check. */
	vec[3] = 0x88;
	CHECK_EQ_INT(stun_msg_decode(&m, vec, vlen), 0);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, key, (size_t)klen, NULL),
	    STUN_EINTEGRITY);
}

static void
test_b1(void)
{
	uint8_t key[STUN_KEY_MAX], uh[STUN_USERHASH_LEN];
	struct stun_enc e;
	int klen, which = 0, len;

	load(rfc8489_b1);
	CHECK_EQ_INT(stun_msg_decode(&m, vec, vlen), 0);
	CHECK_EQ_INT(m.type, 0x0001);
	CHECK(str_is(m.nonce, b1_nonce));
	CHECK(str_is(m.realm, "example.org"));
	CHECK(STUN_HAS(&m, USERHASH) && !STUN_HAS(&m, USERNAME));
	CHECK_EQ_INT(m.pwalg.alg, STUN_PWALG_SHA256);
	CHECK_EQ_INT(m.mi_off, 0);
	CHECK_EQ_INT(m.mi256_off, 20 + 36 + 48 + 16 + 8);
	CHECK_EQ_INT(m.mi256_len, 32);
	/* The nonce cookie, then the features "AAAC": username anonymity. */
	CHECK(memcmp(m.nonce.p, STUN_NONCE_COOKIE, STUN_NONCE_COOKIE_LEN) == 0);

	/* The server finds the user by USERHASH... */
	stun_userhash(lt_user, strlen(lt_user), "example.org", 11, uh);
	CHECK_MEMEQ(m.userhash, 32, uh, 32);
	/* ...and checks the MAC with its SHA-256 key. */
	klen = stun_key_long_term(m.pwalg.alg, lt_user, strlen(lt_user),
	    (const char *)m.realm.p, m.realm.len, "TheMatrIX", 9, key);
	CHECK_EQ_INT(klen, 32);
	CHECK_EQ_INT(
	    stun_msg_check_integrity(&m, key, (size_t)klen, &which), 0);
	CHECK_EQ_INT(which, STUN_INTEGRITY_SHA256);
	/* The MD5 key does not do. */
	klen = stun_key_long_term(STUN_PWALG_MD5, lt_user, strlen(lt_user),
	    "example.org", 11, "TheMatrIX", 9, key);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, key, (size_t)klen, NULL),
	    STUN_EINTEGRITY);

	klen = stun_key_long_term(STUN_PWALG_SHA256, lt_user, strlen(lt_user),
	    "example.org", 11, "TheMatrIX", 9, key);
	stun_enc_init(&e, out, sizeof(out), 0x0001, m.txid);
	stun_enc_attr(&e, STUN_ATTR_USERHASH, uh, sizeof(uh));
	stun_enc_str(&e, STUN_ATTR_NONCE, b1_nonce);
	stun_enc_str(&e, STUN_ATTR_REALM, "example.org");
	stun_enc_pwalg(&e, STUN_PWALG_SHA256);
	stun_enc_integrity_sha256(&e, key, (size_t)klen);
	len = stun_enc_finish(&e);
	CHECK_MEMEQ(out, (size_t)(len > 0 ? len : 0), vec, vlen);

	twins("B.1", key, (size_t)klen);
}

int
main(void)
{
	test_request();
	test_responses();
	test_long_term();
	test_b1_published();
	test_b1();
	return CHECK_DONE();
}
