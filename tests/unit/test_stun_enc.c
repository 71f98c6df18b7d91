/*
 * The encoder: exact bytes of each attribute shape, the header length kept
 * current, zero padding, sticky errors, reason phrases, and the Data
 * indication header used to wrap relayed datagrams in place.
 */
#include <string.h>

#include "check.h"
#include "stun.h"
#include "stun_enc.h"
#include "stun_hdr.h"
#include "stun_msg.h"

static const uint8_t txid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static void
test_bytes(void)
{
	static const char *want_hex =
	    "01 13 00 50 21 12 a4 42 01 02 03 04 05 06 07 08 09 0a 0b 0c"
	    /* ERROR-CODE 438 Stale Nonce: 4 + 11, one byte of padding */
	    "00 09 00 0f 00 00 04 26 53 74 61 6c 65 20 4e 6f 6e 63 65 00"
	    /* LIFETIME 600 */
	    "00 0d 00 04 00 00 02 58"
	    /* REQUESTED-TRANSPORT UDP */
	    "00 19 00 04 11 00 00 00"
	    /* CHANNEL-NUMBER 0x4001 */
	    "00 0c 00 04 40 01 00 00"
	    /* ICE-CONTROLLING */
	    "80 2a 00 08 01 02 03 04 05 06 07 08"
	    /* UNKNOWN-ATTRIBUTES 0x0002 0x7fff 0x0100 */
	    "00 0a 00 06 00 02 7f ff 01 00 00 00"
	    /* PASSWORD-ALGORITHMS MD5 SHA-256 */
	    "80 02 00 08 00 01 00 00 00 02 00 00";
	static const uint16_t unk[] = {0x0002, 0x7fff, 0x0100};
	static const uint16_t algs[] = {STUN_PWALG_MD5, STUN_PWALG_SHA256};
	uint8_t want[256], buf[256];
	struct stun_enc e;
	size_t n = check_unhex(want_hex, want, sizeof(want));
	int len;

	memset(buf, 0xee, sizeof(buf));
	stun_enc_init(&e, buf, sizeof(buf),
	    stun_type(STUN_METHOD_ALLOCATE, STUN_CLASS_ERROR), txid);
	CHECK_EQ_INT(e.len, 20);
	CHECK_EQ_INT(buf[3], 0);
	stun_enc_error(&e, 438, NULL);
	CHECK_EQ_INT(buf[3], 20);
	stun_enc_u32(&e, STUN_ATTR_LIFETIME, 600);
	stun_enc_u8pad(&e, STUN_ATTR_REQUESTED_TRANSPORT, STUN_PROTO_UDP);
	stun_enc_u16pad(&e, STUN_ATTR_CHANNEL_NUMBER, 0x4001);
	stun_enc_u64(&e, STUN_ATTR_ICE_CONTROLLING, 0x0102030405060708ULL);
	stun_enc_unknown(&e, unk, 3);
	stun_enc_pwalgs(&e, algs, 2);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(len, n);
	CHECK_MEMEQ(buf, (size_t)len, want, n);
	CHECK_EQ_INT(buf[len], 0xee);

	/* Addresses: plain and XOR over the header's transaction ID. */
	{
		static const char *addr_hex =
		    "01 01 00 18 21 12 a4 42 01 02 03 04 05 06 07 08 09 0a 0b "
		    "0c"
		    "00 01 00 08 00 01 0d 96 c0 00 02 01"
		    "00 20 00 08 00 01 2c 84 e1 12 a6 43";
		struct stun_addr a = {STUN_AF_IPV4, 3478, {192, 0, 2, 1}};

		n = check_unhex(addr_hex, want, sizeof(want));
		stun_enc_init(&e, buf, sizeof(buf), 0x0101, txid);
		stun_enc_addr(&e, STUN_ATTR_MAPPED_ADDRESS, &a);
		stun_enc_xaddr(&e, STUN_ATTR_XOR_MAPPED_ADDRESS, &a);
		len = stun_enc_finish(&e);
		CHECK_MEMEQ(buf, (size_t)(len > 0 ? len : 0), want, n);
	}
}

static void
test_padding(void)
{
	uint8_t buf[64];
	struct stun_enc e;
	size_t i;
	int len;

	for (i = 0; i <= 8; i++) {
		memset(buf, 0xee, sizeof(buf));
		stun_enc_init(&e, buf, sizeof(buf), 0x0001, txid);
		stun_enc_attr(&e, STUN_ATTR_DATA, "abcdefgh", i);
		len = stun_enc_finish(&e);
		CHECK_EQ_INT(len, 20 + 4 + stun_pad(i));
		CHECK_EQ_INT(buf[3], 4 + stun_pad(i));
		CHECK_EQ_INT(buf[23], i);
		for (size_t j = 24 + i; j < (size_t)len; j++)
			CHECK_MSG(buf[j] == 0, "pad byte %zu of %zu", j, i);
		CHECK_EQ_INT(buf[len], 0xee);
	}
	CHECK_EQ_INT(stun_pad(0), 0);
	CHECK_EQ_INT(stun_pad(1), 4);
	CHECK_EQ_INT(stun_pad(4), 4);
	CHECK_EQ_INT(stun_pad(65535), 65536);
}

static void
test_errors(void)
{
	static uint8_t big[70000], src[65536];
	uint8_t buf[64];
	struct stun_enc e;
	struct stun_addr bad = {3, 1, {0}};

	/* No room for the header. */
	stun_enc_init(&e, buf, 19, 0x0001, txid);
	CHECK_EQ_INT(stun_enc_finish(&e), STUN_ENOSPC);
	stun_enc_init(&e, NULL, 100, 0x0001, txid);
	CHECK_EQ_INT(stun_enc_finish(&e), STUN_ENOSPC);
	stun_enc_init(&e, buf, sizeof(buf), 0x0001, NULL);
	CHECK_EQ_INT(stun_enc_finish(&e), STUN_EINVAL);
	stun_enc_init(&e, buf, sizeof(buf), 0x8001, txid);
	CHECK_EQ_INT(stun_enc_finish(&e), STUN_EINVAL);

	/* Out of room: sticky, and what was written stays. */
	stun_enc_init(&e, buf, 32, 0x0001, txid);
	stun_enc_u32(&e, STUN_ATTR_LIFETIME, 1);
	CHECK_EQ_INT(stun_enc_finish(&e), 28);
	stun_enc_u32(&e, STUN_ATTR_LIFETIME, 2);
	CHECK_EQ_INT(stun_enc_finish(&e), STUN_ENOSPC);
	stun_enc_attr(&e, STUN_ATTR_DONT_FRAGMENT, NULL, 0);
	CHECK_EQ_INT(stun_enc_finish(&e), STUN_ENOSPC);
	CHECK_EQ_INT(e.len, 28);
	CHECK_EQ_INT(buf[3], 8);

	/* Exactly full. */
	stun_enc_init(&e, buf, 28, 0x0001, txid);
	stun_enc_u32(&e, STUN_ATTR_LIFETIME, 1);
	CHECK_EQ_INT(stun_enc_finish(&e), 28);

	stun_enc_init(&e, buf, sizeof(buf), 0x0001, txid);
	stun_enc_addr(&e, STUN_ATTR_MAPPED_ADDRESS, &bad);
	CHECK_EQ_INT(stun_enc_finish(&e), STUN_EFAMILY);
	stun_enc_init(&e, buf, sizeof(buf), 0x0001, txid);
	stun_enc_xaddr(&e, STUN_ATTR_XOR_PEER_ADDRESS, &bad);
	CHECK_EQ_INT(stun_enc_finish(&e), STUN_EFAMILY);
	stun_enc_init(&e, buf, sizeof(buf), 0x0001, txid);
	stun_enc_error(&e, 200, "OK");
	CHECK_EQ_INT(stun_enc_finish(&e), STUN_EINVAL);
	stun_enc_init(&e, buf, sizeof(buf), 0x0001, txid);
	stun_enc_error(&e, 700, NULL);
	CHECK_EQ_INT(stun_enc_finish(&e), STUN_EINVAL);
	stun_enc_init(&e, buf, sizeof(buf), 0x0001, txid);
	stun_enc_str(&e, STUN_ATTR_SOFTWARE, NULL);
	CHECK_EQ_INT(stun_enc_finish(&e), STUN_EINVAL);
	stun_enc_init(&e, buf, sizeof(buf), 0x0001, txid);
	stun_enc_attr(&e, STUN_ATTR_DATA, NULL, 3);
	CHECK_EQ_INT(stun_enc_finish(&e), STUN_EINVAL);

	/* The 16-bit length field caps the message. */
	stun_enc_init(&e, big, sizeof(big), 0x0001, txid);
	stun_enc_attr(&e, STUN_ATTR_DATA, src, 65536);
	CHECK_EQ_INT(stun_enc_finish(&e), STUN_EINVAL);
	stun_enc_init(&e, big, sizeof(big), 0x0001, txid);
	stun_enc_attr(&e, STUN_ATTR_DATA, src, 65528);
	CHECK_EQ_INT(stun_enc_finish(&e), 20 + 65532);
	stun_enc_init(&e, big, sizeof(big), 0x0001, txid);
	stun_enc_attr(&e, STUN_ATTR_DATA, src, 65529);
	CHECK_EQ_INT(stun_enc_finish(&e), STUN_EINVAL);
	stun_enc_init(&e, big, sizeof(big), 0x0001, txid);
	stun_enc_attr(&e, STUN_ATTR_DATA, src, 65524);
	stun_enc_fingerprint(&e);
	CHECK_EQ_INT(stun_enc_finish(&e), STUN_EINVAL);
}

static void
test_reasons(void)
{
	static const struct {
		uint16_t code;
		const char *reason;
	} want[] = {
	    {300, "Try Alternate"},
	    {400, "Bad Request"},
	    {401, "Unauthenticated"},
	    {403, "Forbidden"},
	    {405, "Mobility Forbidden"},
	    {420, "Unknown Attribute"},
	    {437, "Allocation Mismatch"},
	    {438, "Stale Nonce"},
	    {440, "Address Family not Supported"},
	    {441, "Wrong Credentials"},
	    {442, "Unsupported Transport Protocol"},
	    {443, "Peer Address Family Mismatch"},
	    {446, "Connection Already Exists"},
	    {447, "Connection Timeout or Failure"},
	    {486, "Allocation Quota Reached"},
	    {487, "Role Conflict"},
	    {500, "Server Error"},
	    {508, "Insufficient Capacity"},
	};
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_EQ_STR(stun_reason(want[i].code), want[i].reason);
	CHECK_EQ_STR(stun_reason(STUN_ERR_STALE_NONCE), "Stale Nonce");
	CHECK_EQ_STR(stun_reason(STUN_ERR_INSUFFICIENT_CAPACITY),
	    "Insufficient Capacity");
	CHECK_EQ_STR(stun_reason(499), "");
	CHECK_EQ_STR(stun_reason(0), "");
}

static void
test_data_ind(void)
{
	static const char payload[] = "relayed datagram";
	/* Static: zeroed padding, so the structs compare as bytes. */
	static struct stun_addr peer = {STUN_AF_IPV6, 40000,
	    {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7}};
	static struct stun_addr peer4 = {
	    STUN_AF_IPV4, 40000, {198, 51, 100, 7}};
	uint8_t buf[256];
	struct stun_msg m;
	size_t dlen = sizeof(payload) - 1; /* 16: no padding */
	int hlen;

	hlen = stun_data_ind_hdr(buf, sizeof(buf), txid, &peer, dlen);
	CHECK_EQ_INT(hlen, STUN_DATA_IND_HDR_MAX);
	memcpy(buf + hlen, payload, dlen);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)hlen + dlen), 0);
	CHECK_EQ_INT(m.method, STUN_METHOD_DATA);
	CHECK_EQ_INT(m.cls, STUN_CLASS_INDICATION);
	CHECK_EQ_INT(m.n_peer, 1);
	CHECK_MEMEQ(&m.peer[0], sizeof(peer), &peer, sizeof(peer));
	CHECK_MEMEQ(m.data.p, m.data.len, payload, dlen);
	CHECK_EQ_INT(m.mi_off + m.fp_off, 0);

	/* Odd length: the caller adds the padding. */
	hlen = stun_data_ind_hdr(buf, sizeof(buf), txid, &peer4, 5);
	CHECK_EQ_INT(hlen, 20 + 12 + 4);
	memcpy(buf + hlen, "hello\0\0\0", 8);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)hlen + 8), 0);
	CHECK_MEMEQ(m.data.p, m.data.len, "hello", 5);
	CHECK_EQ_INT(m.peer[0].port, 40000);

	CHECK_EQ_INT(stun_data_ind_hdr(buf, 35, txid, &peer4, 5), STUN_ENOSPC);
	CHECK_EQ_INT(stun_data_ind_hdr(buf, 36, txid, &peer4, 5), 36);
	CHECK_EQ_INT(stun_data_ind_hdr(buf, sizeof(buf), txid, &peer4, 65536),
	    STUN_EINVAL);
	/* 24 + 4 + 65508 would pass the 16-bit body length. */
	CHECK_EQ_INT(stun_data_ind_hdr(buf, sizeof(buf), txid, &peer, 65505),
	    STUN_EINVAL);
	CHECK_EQ_INT(
	    stun_data_ind_hdr(buf, sizeof(buf), txid, &peer, 65504), 48);
	peer4.family = 9;
	CHECK_EQ_INT(
	    stun_data_ind_hdr(buf, sizeof(buf), txid, &peer4, 5), STUN_EFAMILY);
}

int
main(void)
{
	test_bytes();
	test_padding();
	test_errors();
	test_reasons();
	test_data_ind();
	return CHECK_DONE();
}
