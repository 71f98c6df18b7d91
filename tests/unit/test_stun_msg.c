/*
 * stun_msg_decode: every attribute round trips through the encoder, the
 * message-level rules (duplicates, what counts after MESSAGE-INTEGRITY,
 * FINGERPRINT last and right, unknown attributes, caps), and hostile
 * messages, each refused with its own error.
 */
#include <string.h>

#include "check.h"
#include "stun.h"
#include "stun_attr.h"
#include "stun_enc.h"
#include "stun_hdr.h"
#include "stun_integrity.h"
#include "stun_msg.h"

static const uint8_t txid[12] = {
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
static const uint8_t key[16] = "0123456789abcdef";

static uint8_t buf[70000];
static struct stun_msg m;

/* A Binding request whose body is the given hex; returns its length. */
static size_t
build(const char *body)
{
	size_t n =
	    check_unhex(body, buf + STUN_HDR_LEN, sizeof(buf) - STUN_HDR_LEN);
	struct stun_enc e;

	stun_enc_init(&e, buf, STUN_HDR_LEN, 0x0001, txid);
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
	return STUN_HDR_LEN + n;
}

static void
addr4(struct stun_addr *a, uint8_t last, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = STUN_AF_IPV4;
	a->port = port;
	a->ip[0] = 203;
	a->ip[1] = 0;
	a->ip[2] = 113;
	a->ip[3] = last;
}

static void
addr6(struct stun_addr *a, uint8_t last, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = STUN_AF_IPV6;
	a->port = port;
	a->ip[0] = 0x20;
	a->ip[1] = 0x01;
	a->ip[2] = 0x0d;
	a->ip[3] = 0xb8;
	a->ip[15] = last;
}

static int
str_is(struct stun_str s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

/* Every attribute the codec knows, once, in one message. */
static void
test_round_trip(void)
{
	static const uint8_t token[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	static const uint8_t icmp[8] = {0, 0, 3, 1, 0, 0, 5, 0xdc};
	static const uint8_t even = 0x80, pad7[7] = {0};
	static const uint16_t unk[] = {0x0002, 0x7f00};
	static const uint16_t algs[] = {STUN_PWALG_MD5, STUN_PWALG_SHA256};
	struct stun_addr a4, a6, b4, b6, out;
	uint8_t uh[32];
	struct stun_enc e;
	uint64_t all;
	int len, which = 0, i;

	addr4(&a4, 7, 3478);
	addr6(&a6, 9, 65535);
	addr4(&b4, 8, 49152);
	addr6(&b6, 10, 1);
	for (i = 0; i < 32; i++)
		uh[i] = (uint8_t)(0xa0 + i);

	stun_enc_init(&e, buf, sizeof(buf),
	    stun_type(STUN_METHOD_ALLOCATE, STUN_CLASS_SUCCESS), txid);
	stun_enc_addr(&e, STUN_ATTR_MAPPED_ADDRESS, &a4);
	stun_enc_u32(
	    &e, STUN_ATTR_CHANGE_REQUEST, STUN_CHANGE_IP | STUN_CHANGE_PORT);
	stun_enc_str(&e, STUN_ATTR_USERNAME, "1700000000:alice");
	stun_enc_error(&e, STUN_ERR_STALE_NONCE, NULL);
	stun_enc_unknown(&e, unk, 2);
	stun_enc_u16pad(&e, STUN_ATTR_CHANNEL_NUMBER, 0x4001);
	stun_enc_u32(&e, STUN_ATTR_LIFETIME, 600);
	stun_enc_xaddr(&e, STUN_ATTR_XOR_PEER_ADDRESS, &a4);
	stun_enc_xaddr(&e, STUN_ATTR_XOR_PEER_ADDRESS, &a6);
	stun_enc_attr(&e, STUN_ATTR_DATA, "hello", 5);
	stun_enc_str(&e, STUN_ATTR_REALM, "example.org");
	stun_enc_str(&e, STUN_ATTR_NONCE, "obMatJos2AAABnonce");
	stun_enc_xaddr(&e, STUN_ATTR_XOR_RELAYED_ADDRESS, &b4);
	stun_enc_xaddr(&e, STUN_ATTR_XOR_RELAYED_ADDRESS, &b6);
	stun_enc_u8pad(&e, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, STUN_AF_IPV6);
	stun_enc_attr(&e, STUN_ATTR_EVEN_PORT, &even, 1);
	stun_enc_u8pad(&e, STUN_ATTR_REQUESTED_TRANSPORT, STUN_PROTO_UDP);
	stun_enc_attr(&e, STUN_ATTR_DONT_FRAGMENT, NULL, 0);
	stun_enc_pwalg(&e, STUN_PWALG_SHA256);
	stun_enc_attr(&e, STUN_ATTR_USERHASH, uh, sizeof(uh));
	stun_enc_xaddr(&e, STUN_ATTR_XOR_MAPPED_ADDRESS, &a6);
	stun_enc_attr(&e, STUN_ATTR_RESERVATION_TOKEN, token, sizeof(token));
	stun_enc_u32(&e, STUN_ATTR_PRIORITY, 0x6e0001ff);
	stun_enc_attr(&e, STUN_ATTR_USE_CANDIDATE, NULL, 0);
	stun_enc_attr(&e, STUN_ATTR_PADDING, pad7, sizeof(pad7));
	stun_enc_u16pad(&e, STUN_ATTR_RESPONSE_PORT, 5000);
	stun_enc_u32(&e, STUN_ATTR_CONNECTION_ID, 0xdeadbeef);
	stun_enc_u8pad(&e, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, STUN_AF_IPV6);
	stun_enc_address_error(&e, STUN_AF_IPV6, STUN_ERR_ADDRESS_FAMILY, NULL);
	stun_enc_pwalgs(&e, algs, 2);
	stun_enc_str(&e, STUN_ATTR_ALTERNATE_DOMAIN, "turn.example.org");
	stun_enc_attr(&e, STUN_ATTR_ICMP, icmp, sizeof(icmp));
	stun_enc_str(&e, STUN_ATTR_SOFTWARE, "turnd test");
	stun_enc_addr(&e, STUN_ATTR_ALTERNATE_SERVER, &a6);
	stun_enc_u32(&e, STUN_ATTR_CACHE_TIMEOUT, 42);
	stun_enc_u64(&e, STUN_ATTR_ICE_CONTROLLED, 0x932ff9b151263b36ULL);
	stun_enc_addr(&e, STUN_ATTR_RESPONSE_ORIGIN, &b4);
	stun_enc_addr(&e, STUN_ATTR_OTHER_ADDRESS, &b6);
	stun_enc_integrity(&e, key, sizeof(key));
	stun_enc_integrity_sha256(&e, key, sizeof(key));
	stun_enc_fingerprint(&e);
	len = stun_enc_finish(&e);
	if (!CHECK(len > 0))
		return;

	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), 0);
	CHECK_EQ_INT(m.type, 0x0103);
	CHECK_EQ_INT(m.method, STUN_METHOD_ALLOCATE);
	CHECK_EQ_INT(m.cls, STUN_CLASS_SUCCESS);
	CHECK_MEMEQ(m.txid, 12, txid, 12);
	CHECK(m.buf == buf);
	CHECK_EQ_INT(m.len, len);
	all = ((uint64_t)1 << STUN_AI_COUNT) - 1;
	all &= ~((uint64_t)1 << STUN_AI_ICE_CONTROLLING);
	CHECK_EQ_INT(m.present, all);
	CHECK_EQ_INT(m.n_attrs, 41);
	CHECK_EQ_INT(m.n_unknown, 0);

	CHECK_MEMEQ(&m.mapped, sizeof(out), &a4, sizeof(a4));
	CHECK_EQ_INT(m.change_request, 6);
	CHECK(str_is(m.username, "1700000000:alice"));
	CHECK_EQ_INT(m.error.code, 438);
	CHECK(str_is(m.error.reason, "Stale Nonce"));
	CHECK_EQ_INT(m.n_unknown_attrs, 2);
	CHECK_EQ_INT(m.unknown_attrs[0], 0x0002);
	CHECK_EQ_INT(m.unknown_attrs[1], 0x7f00);
	CHECK_EQ_INT(m.channel, 0x4001);
	CHECK_EQ_INT(m.lifetime, 600);
	CHECK_EQ_INT(m.n_peer, 2);
	CHECK_MEMEQ(&m.peer[0], sizeof(out), &a4, sizeof(a4));
	CHECK_MEMEQ(&m.peer[1], sizeof(out), &a6, sizeof(a6));
	CHECK(str_is(m.data, "hello"));
	CHECK(str_is(m.realm, "example.org"));
	CHECK(str_is(m.nonce, "obMatJos2AAABnonce"));
	CHECK_EQ_INT(m.n_relayed, 2);
	CHECK_MEMEQ(&m.relayed[0], sizeof(out), &b4, sizeof(b4));
	CHECK_MEMEQ(&m.relayed[1], sizeof(out), &b6, sizeof(b6));
	CHECK_EQ_INT(m.req_family, STUN_AF_IPV6);
	CHECK_EQ_INT(m.even_port_r, 1);
	CHECK_EQ_INT(m.transport, STUN_PROTO_UDP);
	CHECK_EQ_INT(m.pwalg.alg, STUN_PWALG_SHA256);
	CHECK_EQ_INT(m.pwalg.params.len, 0);
	CHECK_MEMEQ(m.userhash, 32, uh, 32);
	CHECK_MEMEQ(&m.xor_mapped, sizeof(out), &a6, sizeof(a6));
	CHECK_MEMEQ(m.reservation_token, 8, token, 8);
	CHECK_EQ_INT(m.priority, 0x6e0001ff);
	CHECK_EQ_INT(m.padding.len, 7);
	CHECK_EQ_INT(m.response_port, 5000);
	CHECK_EQ_INT(m.connection_id, 0xdeadbeef);
	CHECK_EQ_INT(m.add_family, STUN_AF_IPV6);
	CHECK_EQ_INT(m.address_error_family, STUN_AF_IPV6);
	CHECK_EQ_INT(m.address_error.code, 440);
	CHECK(str_is(m.address_error.reason, "Address Family not Supported"));
	CHECK_EQ_INT(m.n_pwalgs, 2);
	CHECK_EQ_INT(m.pwalgs[0].alg, STUN_PWALG_MD5);
	CHECK_EQ_INT(m.pwalgs[1].alg, STUN_PWALG_SHA256);
	CHECK_EQ_INT(m.pwalgs_raw.len, 8);
	CHECK(str_is(m.alternate_domain, "turn.example.org"));
	CHECK_EQ_INT(m.icmp_type, 3);
	CHECK_EQ_INT(m.icmp_code, 1);
	CHECK_EQ_INT(m.icmp_data, 1500);
	CHECK(str_is(m.software, "turnd test"));
	CHECK_MEMEQ(&m.alternate_server, sizeof(out), &a6, sizeof(a6));
	CHECK_EQ_INT(m.cache_timeout, 42);
	CHECK(m.ice_tiebreaker == 0x932ff9b151263b36ULL);
	CHECK_MEMEQ(&m.response_origin, sizeof(out), &b4, sizeof(b4));
	CHECK_MEMEQ(&m.other_address, sizeof(out), &b6, sizeof(b6));
	CHECK(m.mi_off != 0 && m.mi256_off == m.mi_off + 24);
	CHECK_EQ_INT(m.mi256_len, 32);
	CHECK_EQ_INT(m.fp_off, len - 8);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, key, sizeof(key), &which), 0);
	CHECK_EQ_INT(which, STUN_INTEGRITY_SHA256);

	/* ICE-CONTROLLING shares the tie-breaker field. */
	stun_enc_init(&e, buf, sizeof(buf), 0x0001, txid);
	stun_enc_u64(&e, STUN_ATTR_ICE_CONTROLLING, 0x0102030405060708ULL);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), 0);
	CHECK(STUN_HAS(&m, ICE_CONTROLLING) && !STUN_HAS(&m, ICE_CONTROLLED));
	CHECK(m.ice_tiebreaker == 0x0102030405060708ULL);

	/* An empty message. */
	stun_enc_init(&e, buf, sizeof(buf), 0x0001, txid);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(len, 20);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), 0);
	CHECK_EQ_INT(m.present, 0);
	CHECK_EQ_INT(m.n_attrs, 0);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, key, sizeof(key), NULL),
	    STUN_EINTEGRITY);
}

/* Hostile bodies under a good header, each with its own error. */
static const struct {
	const char *name;
	const char *body;
	int want;
} hostile[] = {
    {"attribute past the end", "00 06 00 08 61 62 63 64", STUN_ETRUNC},
    {"attribute length 0xffff", "00 06 ff ff 61 62 63 64", STUN_ETRUNC},
    {"second attribute past the end",
        "00 06 00 04 61 62 63 64 80 22 00 05 61 62 63 64", STUN_ETRUNC},
    {"IPv4 address family 3", "00 12 00 08 00 03 21 12 e1 12 a6 43",
        STUN_EFAMILY},
    {"address family 0", "00 01 00 08 00 00 00 50 01 02 03 04", STUN_EFAMILY},
    {"zero-length address", "00 12 00 00", STUN_EBADLEN},
    {"IPv4 address of 20 bytes",
        "00 20 00 14 00 01 21 12 e1 12 a6 43 00 00 00 00 00 00 00 00 00 "
        "00 00 00",
        STUN_EBADLEN},
    {"IPv6 address of 8 bytes", "00 20 00 08 00 02 21 12 e1 12 a6 43",
        STUN_EBADLEN},
    {"MI-SHA256 of 12", "00 1c 00 0c 00 00 00 00 00 00 00 00 00 00 00 00",
        STUN_EBADLEN},
    {"MI-SHA256 of 18",
        "00 1c 00 12 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
        "00 00 00",
        STUN_EBADLEN},
    {"MI-SHA256 of 36",
        "00 1c 00 24 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
        "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
        STUN_EBADLEN},
    {"FINGERPRINT not last", "80 28 00 04 00 00 00 00 80 22 00 04 61 62 63 64",
        STUN_EORDER},
    {"FINGERPRINT twice", "80 28 00 04 00 00 00 00 80 28 00 04 00 00 00 00",
        STUN_EORDER},
    {"unknown attribute after FINGERPRINT",
        "80 28 00 04 00 00 00 00 c0 57 00 00", STUN_EORDER},
    {"FINGERPRINT wrong", "80 28 00 04 00 00 00 00", STUN_EFINGERPRINT},
    {"ERROR-CODE class 2", "00 09 00 04 00 00 02 00", STUN_EBADVAL},
    {"ERROR-CODE class 7", "00 09 00 04 00 00 07 00", STUN_EBADVAL},
    {"ERROR-CODE number 100", "00 09 00 04 00 00 04 64", STUN_EBADVAL},
    {"ERROR-CODE of 3", "00 09 00 03 00 00 04 00", STUN_EBADLEN},
    {"ADDRESS-ERROR-CODE class 1", "80 01 00 04 01 00 01 00", STUN_EBADVAL},
    {"UNKNOWN-ATTRIBUTES of 3", "00 0a 00 03 00 02 00 00", STUN_EBADLEN},
    {"PASSWORD-ALGORITHM params past the value", "00 1d 00 04 00 02 00 04",
        STUN_EBADVAL},
    {"PASSWORD-ALGORITHM trailing bytes", "00 1d 00 08 00 02 00 00 00 01 00 00",
        STUN_EBADVAL},
    {"PASSWORD-ALGORITHMS truncated entry",
        "80 02 00 06 00 01 00 00 00 02 00 00", STUN_EBADVAL},
    {"PASSWORD-ALGORITHMS empty", "80 02 00 00", STUN_EBADLEN},
    {"duplicate LIFETIME of bad length",
        "00 0d 00 04 00 00 02 58 00 0d 00 05 00 00 02 58 00 00 00 00",
        STUN_EBADLEN},
};

static const struct {
	const char *name;
	const char *body;
} benign[] = {
    {"reserved address byte", "00 01 00 08 ff 01 00 50 01 02 03 04"},
    {"ERROR-CODE 300", "00 09 00 04 00 00 03 00"},
    {"ERROR-CODE 699 with reserved bits", "00 09 00 04 ff ff fe 63"},
    {"MI-SHA256 of 16",
        "00 1c 00 10 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"},
    {"PASSWORD-ALGORITHMS with parameters, last padding left out",
        "80 02 00 0f 00 01 00 02 aa bb 00 00 00 02 00 03 cc dd ee 00"},
    {"PASSWORD-ALGORITHM with a padded parameter",
        "00 1d 00 08 00 02 00 01 aa 00 00 00"},
    {"empty UNKNOWN-ATTRIBUTES", "00 0a 00 00"},
    {"unknown optional attributes", "c0 57 00 04 00 01 00 0a ff ff 00 00"},
    {"empty strings", "00 06 00 00 00 14 00 00 00 15 00 00 80 22 00 00"},
};

static void
test_hostile(void)
{
	size_t i, n;
	int err;

	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		n = build(hostile[i].body);
		err = stun_msg_decode(&m, buf, n);
		CHECK_MSG(err == hostile[i].want, "%s: %d (%s), want %d",
		    hostile[i].name, err, stun_strerror(err), hostile[i].want);
	}
	for (i = 0; i < sizeof(benign) / sizeof(benign[0]); i++) {
		n = build(benign[i].body);
		err = stun_msg_decode(&m, buf, n);
		CHECK_MSG(err == 0, "%s: %d (%s)", benign[i].name, err,
		    stun_strerror(err));
	}

	n = build(benign[4].body);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, n), 0);
	CHECK_EQ_INT(m.n_pwalgs, 2);
	CHECK_EQ_INT(m.pwalgs[0].params.len, 2);
	CHECK_EQ_INT(m.pwalgs[0].params.p[1], 0xbb);
	CHECK_EQ_INT(m.pwalgs[1].alg, 2);
	CHECK_EQ_INT(m.pwalgs[1].params.len, 3);
	CHECK_EQ_INT(m.pwalgs[1].params.p[2], 0xee);
	CHECK_EQ_INT(m.pwalgs_raw.len, 15);
	n = build(benign[2].body);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, n), 0);
	CHECK_EQ_INT(m.error.code, 699);
}

/* Each fixed-size attribute one byte short and one byte long. */
static void
test_fixed_lengths(void)
{
	const struct stun_attr_def *d;
	struct stun_enc e;
	uint8_t val[64];
	uint16_t type;
	int len, err, delta;

	memset(val, 0, sizeof(val));
	for (type = 0; type < 0x8100; type++) {
		if ((d = stun_attr_lookup(type)) == NULL ||
		    d->min_len != d->max_len)
			continue;
		for (delta = -1; delta <= 1; delta += 2) {
			if (d->min_len == 0 && delta < 0)
				continue;
			stun_enc_init(&e, buf, sizeof(buf), 0x0001, txid);
			stun_enc_attr(
			    &e, type, val, (size_t)(d->min_len + delta));
			len = stun_enc_finish(&e);
			err = stun_msg_decode(&m, buf, (size_t)len);
			CHECK_MSG(err == STUN_EBADLEN, "%s of %d: %d", d->name,
			    d->min_len + delta, err);
		}
	}
}

/* Header, framing and padding faults, on a message with real content. */
static void
test_twins(void)
{
	static uint8_t good[256];
	struct stun_enc e;
	size_t n;
	int len;

	stun_enc_init(&e, good, sizeof(good), 0x0003, txid);
	stun_enc_u8pad(&e, STUN_ATTR_REQUESTED_TRANSPORT, STUN_PROTO_UDP);
	stun_enc_str(&e, STUN_ATTR_USERNAME, "abcde");
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(len, 20 + 8 + 12);
	if (len < 0)
		return;
	n = (size_t)len;
	CHECK_EQ_INT(stun_msg_decode(&m, good, n), 0);

	/* Truncated anywhere. */
	for (size_t cut = 0; cut < n; cut++) {
		memcpy(buf, good, n);
		if (!CHECK_MSG(
		        stun_msg_decode(&m, buf, cut) != 0, "cut %zu", cut))
			break;
	}
	CHECK_EQ_INT(stun_msg_decode(&m, good, 19), STUN_ETRUNC);
	CHECK_EQ_INT(stun_msg_decode(&m, good, n - 4), STUN_ETRUNC);
	CHECK_EQ_INT(stun_msg_decode(&m, NULL, 0), STUN_ETRUNC);

	/* Header length +-1, +-4; buffer unchanged. */
	memcpy(buf, good, n);
	buf[3] = (uint8_t)(good[3] + 1);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, n), STUN_EHDR);
	buf[3] = (uint8_t)(good[3] - 1);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, n), STUN_EHDR);
	buf[3] = (uint8_t)(good[3] + 4);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, n), STUN_ETRUNC);
	buf[3] = (uint8_t)(good[3] - 4);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, n), STUN_EHDR);
	/* Trailing bytes after a complete message. */
	memcpy(buf, good, n);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, n + 4), STUN_EHDR);

	/* Bad cookie, top bits. */
	memcpy(buf, good, n);
	buf[4] ^= 0x01;
	CHECK_EQ_INT(stun_msg_decode(&m, buf, n), STUN_ECOOKIE);
	memcpy(buf, good, n);
	buf[0] |= 0x80;
	CHECK_EQ_INT(stun_msg_decode(&m, buf, n), STUN_EHDR);
	memcpy(buf, good, n);
	buf[0] |= 0x40;
	CHECK_EQ_INT(stun_msg_decode(&m, buf, n), STUN_EHDR);

	/* The last attribute's padding left out, header agreeing. */
	memcpy(buf, good, n);
	buf[3] = (uint8_t)(good[3] - 3);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, n - 3), STUN_EPADDING);
	/* Padding cut short by one byte only. */
	buf[3] = (uint8_t)(good[3] - 1);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, n - 1), STUN_EPADDING);
	/* Same but a bad cookie: the header is the first fault. */
	buf[3] = (uint8_t)(good[3] - 3);
	buf[5] ^= 0xff;
	CHECK_EQ_INT(stun_msg_decode(&m, buf, n - 3), STUN_ECOOKIE);
	/* Unaligned length where the last attribute is whole: a header
	 * fault, not padding. */
	memcpy(buf, good, n);
	buf[3] = (uint8_t)(good[3] + 2);
	buf[n] = 0;
	buf[n + 1] = 0;
	CHECK_EQ_INT(stun_msg_decode(&m, buf, n + 2), STUN_EHDR);

	/* Padding bytes may hold anything (RFC 8489 section 14). */
	memcpy(buf, good, n);
	buf[n - 1] = 0xff;
	buf[n - 2] = 0x20;
	CHECK_EQ_INT(stun_msg_decode(&m, buf, n), 0);
	CHECK(str_is(m.username, "abcde"));
}

static void
test_duplicates(void)
{
	struct stun_enc e;
	struct stun_addr a;
	int len, i;

	stun_enc_init(&e, buf, sizeof(buf), 0x0003, txid);
	stun_enc_str(&e, STUN_ATTR_USERNAME, "first");
	stun_enc_str(&e, STUN_ATTR_USERNAME, "second");
	stun_enc_u32(&e, STUN_ATTR_LIFETIME, 1);
	stun_enc_u32(&e, STUN_ATTR_LIFETIME, 2);
	stun_enc_error(&e, 401, NULL);
	/* Later duplicates are ignored, even with a bad value. */
	stun_enc_attr(&e, STUN_ATTR_ERROR_CODE, "\0\0\x09\x00", 4);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), 0);
	CHECK(str_is(m.username, "first"));
	CHECK_EQ_INT(m.lifetime, 1);
	CHECK_EQ_INT(m.error.code, 401);
	CHECK_EQ_INT(m.n_attrs, 6);

	/* Peers: up to STUN_MAX_PEERS, in order; one more is refused. */
	for (i = 0; i <= STUN_MAX_PEERS; i++) {
		stun_enc_init(&e, buf, sizeof(buf), 0x0008, txid);
		for (int j = 0; j < i; j++) {
			addr4(&a, (uint8_t)j, (uint16_t)(1000 + j));
			stun_enc_xaddr(&e, STUN_ATTR_XOR_PEER_ADDRESS, &a);
		}
		len = stun_enc_finish(&e);
		CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), 0);
		CHECK_EQ_INT(m.n_peer, i);
	}
	CHECK_EQ_INT(
	    m.peer[STUN_MAX_PEERS - 1].port, 1000 + STUN_MAX_PEERS - 1);
	CHECK_EQ_INT(m.peer[0].ip[3], 0);
	CHECK_EQ_INT(m.peer[5].ip[3], 5);
	addr4(&a, 99, 99);
	stun_enc_xaddr(&e, STUN_ATTR_XOR_PEER_ADDRESS, &a);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), STUN_ETOOMANY);

	stun_enc_init(&e, buf, sizeof(buf), 0x0103, txid);
	for (i = 0; i < STUN_MAX_RELAYED; i++)
		stun_enc_xaddr(&e, STUN_ATTR_XOR_RELAYED_ADDRESS, &a);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), 0);
	CHECK_EQ_INT(m.n_relayed, STUN_MAX_RELAYED);
	stun_enc_xaddr(&e, STUN_ATTR_XOR_RELAYED_ADDRESS, &a);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), STUN_ETOOMANY);
}

static void
test_caps(void)
{
	struct stun_enc e;
	uint16_t types[STUN_MAX_UNKNOWN + 1];
	uint16_t algs[STUN_MAX_PWALGS + 1];
	int len, i;

	/* Attributes walked: STUN_MAX_ATTRS, not one more. */
	stun_enc_init(&e, buf, sizeof(buf), 0x0001, txid);
	for (i = 0; i < STUN_MAX_ATTRS; i++)
		stun_enc_attr(&e, STUN_ATTR_SOFTWARE, NULL, 0);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), 0);
	CHECK_EQ_INT(m.n_attrs, STUN_MAX_ATTRS);
	stun_enc_attr(&e, 0xc000, NULL, 0);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), STUN_ETOOMANY);

	/* Unknown comprehension-required types: collected once each. */
	stun_enc_init(&e, buf, sizeof(buf), 0x0001, txid);
	stun_enc_attr(&e, 0x0002, "x", 1);
	stun_enc_attr(&e, 0xc057, "y", 1);
	stun_enc_attr(&e, 0x7fff, NULL, 0);
	stun_enc_attr(&e, 0x0002, "z", 1);
	stun_enc_attr(&e, 0x8fff, NULL, 0);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), 0);
	CHECK_EQ_INT(m.n_unknown, 2);
	CHECK_EQ_INT(m.unknown[0], 0x0002);
	CHECK_EQ_INT(m.unknown[1], 0x7fff);
	CHECK_EQ_INT(m.present, 0);
	CHECK_EQ_INT(m.n_attrs, 5);

	stun_enc_init(&e, buf, sizeof(buf), 0x0001, txid);
	for (i = 0; i < STUN_MAX_UNKNOWN; i++)
		stun_enc_attr(&e, (uint16_t)(0x0100 + i), NULL, 0);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), 0);
	CHECK_EQ_INT(m.n_unknown, STUN_MAX_UNKNOWN);
	stun_enc_attr(&e, 0x0200, NULL, 0);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), STUN_ETOOMANY);

	/* UNKNOWN-ATTRIBUTES and PASSWORD-ALGORITHMS lists. */
	for (i = 0; i <= STUN_MAX_UNKNOWN; i++)
		types[i] = (uint16_t)(0x0100 + i);
	stun_enc_init(&e, buf, sizeof(buf), 0x0111, txid);
	stun_enc_unknown(&e, types, STUN_MAX_UNKNOWN);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), 0);
	CHECK_EQ_INT(m.n_unknown_attrs, STUN_MAX_UNKNOWN);
	CHECK_EQ_INT(m.unknown_attrs[STUN_MAX_UNKNOWN - 1],
	    0x0100 + STUN_MAX_UNKNOWN - 1);
	stun_enc_init(&e, buf, sizeof(buf), 0x0111, txid);
	stun_enc_unknown(&e, types, STUN_MAX_UNKNOWN + 1);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), STUN_ETOOMANY);

	for (i = 0; i <= STUN_MAX_PWALGS; i++)
		algs[i] = (uint16_t)(i + 1);
	stun_enc_init(&e, buf, sizeof(buf), 0x0111, txid);
	stun_enc_pwalgs(&e, algs, STUN_MAX_PWALGS);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), 0);
	CHECK_EQ_INT(m.n_pwalgs, STUN_MAX_PWALGS);
	CHECK_EQ_INT(m.pwalgs[STUN_MAX_PWALGS - 1].alg, STUN_MAX_PWALGS);
	stun_enc_init(&e, buf, sizeof(buf), 0x0111, txid);
	stun_enc_pwalgs(&e, algs, STUN_MAX_PWALGS + 1);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), STUN_ETOOMANY);
}

/* A string attribute of n copies of a UTF-8 character. */
static int
decode_str(uint16_t type, const char *ch, size_t n)
{
	static char s[2048];
	struct stun_enc e;
	size_t i, cl = strlen(ch);
	int len;

	for (i = 0; i < n; i++)
		memcpy(s + i * cl, ch, cl);
	stun_enc_init(&e, buf, sizeof(buf), 0x0001, txid);
	stun_enc_attr(&e, type, s, n * cl);
	len = stun_enc_finish(&e);
	return stun_msg_decode(&m, buf, (size_t)len);
}

static void
test_strings(void)
{
	static const uint16_t capped[] = {
	    STUN_ATTR_REALM, STUN_ATTR_NONCE, STUN_ATTR_SOFTWARE};
	struct stun_enc e;
	char reason[800];
	size_t i;
	int len;

	CHECK_EQ_INT(decode_str(STUN_ATTR_USERNAME, "u", 508), 0);
	CHECK_EQ_INT(m.username.len, 508);
	CHECK_EQ_INT(decode_str(STUN_ATTR_USERNAME, "u", 509), STUN_EBADLEN);
	/* USERNAME counts bytes only. */
	CHECK_EQ_INT(decode_str(STUN_ATTR_USERNAME, "\xe3\x83\x9e", 169), 0);
	CHECK_EQ_INT(
	    decode_str(STUN_ATTR_USERNAME, "\xe3\x83\x9e", 170), STUN_EBADLEN);

	for (i = 0; i < sizeof(capped) / sizeof(capped[0]); i++) {
		const char *name = stun_attr_name(capped[i]);

		CHECK_MSG(decode_str(capped[i], "a", 127) == 0, "%s 127", name);
		CHECK_MSG(decode_str(capped[i], "a", 128) == STUN_EBADVAL,
		    "%s 128 chars", name);
		/* Three-byte characters: 127 of them are 381 bytes. */
		CHECK_MSG(decode_str(capped[i], "\xe3\x83\x9e", 127) == 0,
		    "%s 127 x 3 bytes", name);
		CHECK_MSG(
		    decode_str(capped[i], "\xe3\x83\x9e", 128) == STUN_EBADVAL,
		    "%s 128 x 3 bytes", name);
		CHECK_MSG(decode_str(capped[i], "\xf0\x9f\x98\x80", 127) == 0,
		    "%s 127 x 4 bytes", name);
		/* Continuation bytes alone count as no characters, but the
		 * byte ceiling still holds. */
		CHECK_MSG(
		    decode_str(capped[i], "\x80", 763) == 0, "%s 763", name);
		CHECK_MSG(decode_str(capped[i], "\x80", 764) == STUN_EBADLEN,
		    "%s 764 bytes", name);
	}
	CHECK_EQ_INT(decode_str(STUN_ATTR_ALTERNATE_DOMAIN, "d", 255), 0);
	CHECK_EQ_INT(
	    decode_str(STUN_ATTR_ALTERNATE_DOMAIN, "d", 256), STUN_EBADLEN);

	/* Reason phrases: 127 characters, not 128. */
	memset(reason, 'r', sizeof(reason));
	reason[127] = '\0';
	stun_enc_init(&e, buf, sizeof(buf), 0x0111, txid);
	stun_enc_error(&e, 400, reason);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), 0);
	CHECK_EQ_INT(m.error.reason.len, 127);
	reason[127] = 'r';
	reason[128] = '\0';
	stun_enc_init(&e, buf, sizeof(buf), 0x0111, txid);
	stun_enc_error(&e, 400, reason);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), STUN_EBADVAL);
	stun_enc_init(&e, buf, sizeof(buf), 0x0111, txid);
	stun_enc_address_error(&e, 1, 440, reason);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), STUN_EBADVAL);
}

/* RFC 8489 sections 14.5, 14.6: what counts after the integrity. */
static void
test_after_integrity(void)
{
	struct stun_enc e;
	int len;
	uint16_t mi;

	stun_enc_init(&e, buf, sizeof(buf), 0x0003, txid);
	stun_enc_str(&e, STUN_ATTR_USERNAME, "before");
	stun_enc_integrity(&e, key, sizeof(key));
	mi = (uint16_t)(e.len - 24);
	stun_enc_str(&e, STUN_ATTR_USERNAME, "after");
	stun_enc_str(&e, STUN_ATTR_REALM, "after");
	stun_enc_attr(&e, 0x0002, NULL, 0);
	/* Ignored attributes are not even length-checked. */
	stun_enc_attr(&e, STUN_ATTR_LIFETIME, "x", 1);
	stun_enc_integrity(&e, key, sizeof(key));
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), 0);
	CHECK(str_is(m.username, "before"));
	CHECK(!STUN_HAS(&m, REALM));
	CHECK(!STUN_HAS(&m, LIFETIME));
	CHECK_EQ_INT(m.n_unknown, 0);
	CHECK_EQ_INT(m.mi_off, mi);
	CHECK_EQ_INT(m.n_attrs, 7);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, key, sizeof(key), NULL), 0);

	/* After MI: MI-SHA256 and FINGERPRINT count. */
	stun_enc_init(&e, buf, sizeof(buf), 0x0003, txid);
	stun_enc_integrity(&e, key, sizeof(key));
	stun_enc_str(&e, STUN_ATTR_SOFTWARE, "ignored");
	stun_enc_integrity_sha256(&e, key, sizeof(key));
	stun_enc_fingerprint(&e);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), 0);
	CHECK_EQ_INT(m.mi_off, 20);
	CHECK_EQ_INT(m.mi256_off, 20 + 24 + 12);
	CHECK(STUN_HAS(&m, FINGERPRINT) && !STUN_HAS(&m, SOFTWARE));

	/* After MI-SHA256: MI no longer counts. */
	stun_enc_init(&e, buf, sizeof(buf), 0x0003, txid);
	stun_enc_integrity_sha256(&e, key, sizeof(key));
	stun_enc_integrity(&e, key, sizeof(key));
	stun_enc_fingerprint(&e);
	len = stun_enc_finish(&e);
	CHECK_EQ_INT(stun_msg_decode(&m, buf, (size_t)len), 0);
	CHECK_EQ_INT(m.mi_off, 0);
	CHECK_EQ_INT(m.mi256_off, 20);
	CHECK(!STUN_HAS(&m, MESSAGE_INTEGRITY));
	CHECK(STUN_HAS(&m, FINGERPRINT));
	CHECK_EQ_INT(m.fp_off, 20 + 36 + 24);
}

int
main(void)
{
	test_round_trip();
	test_hostile();
	test_fixed_lengths();
	test_twins();
	test_duplicates();
	test_caps();
	test_strings();
	test_after_integrity();
	return CHECK_DONE();
}
