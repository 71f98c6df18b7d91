/*
 * STUN over UDP against a real turnd on loopback: Binding over IPv4 and
 * IPv6 (RFC 8489 section 7.3: XOR-MAPPED-ADDRESS is the client's own
 * transport address; FINGERPRINT in the response exactly when the request
 * had one), unknown attributes (section 6.3: 420 with UNKNOWN-ATTRIBUTES
 * listing exactly the unknown comprehension-required types, checked after
 * authentication; comprehension-optional ones ignored), malformed requests
 * (400), and what must get no answer at all: bytes that are neither STUN
 * nor ChannelData, a wrong magic cookie or FINGERPRINT, responses and
 * indications sent to the server.  After all of it the server still
 * answers and stops cleanly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "stun_enc.h"
#include "stun_hdr.h"
#include "tclient.h"
#include "tproc.h"

#define UNKNOWN_REQ 0x0077 /* comprehension-required, unassigned */
#define UNKNOWN_REQ2 0x0078
#define UNKNOWN_OPT 0x8077 /* comprehension-optional, unassigned */
#define QUIET_MS 300       /* how long "no answer" is waited for */

static void
check_unknown(
    const struct tc_resp *r, const uint16_t *want, size_t n, const char *what)
{
	CHECK_MSG(STUN_HAS(&r->m, UNKNOWN_ATTRIBUTES),
	    "%s: no UNKNOWN-ATTRIBUTES", what);
	CHECK_MSG(r->m.n_unknown_attrs == n, "%s: %u unknown types, want %zu",
	    what, r->m.n_unknown_attrs, n);
	for (size_t i = 0; i < n && i < r->m.n_unknown_attrs; i++)
		CHECK_MSG(r->m.unknown_attrs[i] == want[i],
		    "%s: unknown[%zu] = 0x%04x, want 0x%04x", what, i,
		    r->m.unknown_attrs[i], want[i]);
}

/* A Binding answered right: true when it worked. */
static int
binding_ok(struct tc *c)
{
	struct tc_msg m;
	struct tc_resp r;
	union tc_addr mapped;

	tcm_init(&m, STUN_METHOD_BINDING);
	if (tc_transact(c, &m, &r) != 0 || !STUN_HAS(&r.m, XOR_MAPPED_ADDRESS))
		return 0;
	tc_addr_from_stun(&mapped, &r.m.xor_mapped);
	return tc_addr_eq(&mapped, &c->local);
}

static void
test_binding(const struct tproc *p, const char *ip)
{
	for (int fp = 0; fp < 2; fp++) {
		struct tc c;
		struct tc_msg m;
		struct tc_resp r;
		union tc_addr mapped;
		char got[80], want[80];
		int code;

		CHECK(tc_open(&c, ip, p->port, NULL, NULL) == 0);
		tcm_init(&m, STUN_METHOD_BINDING);
		m.fingerprint = fp;
		code = tc_transact(&c, &m, &r);
		CHECK_MSG(code == 0, "binding %s fp=%d: %d", ip, fp, code);
		CHECK_EQ_INT(r.m.method, STUN_METHOD_BINDING);
		CHECK_EQ_INT(r.m.cls, STUN_CLASS_SUCCESS);
		CHECK(STUN_HAS(&r.m, XOR_MAPPED_ADDRESS));
		tc_addr_from_stun(&mapped, &r.m.xor_mapped);
		CHECK_MSG(tc_addr_eq(&mapped, &c.local),
		    "XOR-MAPPED-ADDRESS %s, want %s",
		    tc_addr_str(&mapped, got, sizeof(got)),
		    tc_addr_str(&c.local, want, sizeof(want)));
		CHECK_MSG((int)STUN_HAS(&r.m, FINGERPRINT) == fp,
		    "binding %s: FINGERPRINT %s, request had %s", ip,
		    STUN_HAS(&r.m, FINGERPRINT) ? "present" : "absent",
		    fp ? "one" : "none");
		/* Binding needs no credentials, so the answer carries none */
		CHECK(!STUN_HAS(&r.m, MESSAGE_INTEGRITY));
		CHECK(!STUN_HAS(&r.m, MESSAGE_INTEGRITY_SHA256));
		CHECK(!STUN_HAS(&r.m, ERROR_CODE));
		tc_close(&c);
	}
}

static void
test_binding_unknown(const struct tproc *p)
{
	static const uint16_t one[] = {UNKNOWN_REQ};
	static const uint16_t two[] = {UNKNOWN_REQ, UNKNOWN_REQ2};
	struct tc c;
	struct tc_msg m;
	struct tc_resp r;

	CHECK(tc_open(&c, "127.0.0.1", p->port, NULL, NULL) == 0);

	tcm_init(&m, STUN_METHOD_BINDING);
	tcm_raw(&m, UNKNOWN_REQ, "abcd", 4);
	CHECK_EQ_INT(tc_transact(&c, &m, &r), STUN_ERR_UNKNOWN_ATTRIBUTE);
	CHECK_EQ_INT(r.m.method, STUN_METHOD_BINDING);
	check_unknown(&r, one, 1, "binding 0x0077");
	CHECK(!STUN_HAS(&r.m, XOR_MAPPED_ADDRESS));

	/* the optional one is not listed; both required ones are */
	tcm_init(&m, STUN_METHOD_BINDING);
	tcm_raw(&m, UNKNOWN_OPT, "xy", 2);
	tcm_raw(&m, UNKNOWN_REQ, "abcd", 4);
	tcm_raw(&m, UNKNOWN_REQ2, "", 0);
	m.fingerprint = 1;
	CHECK_EQ_INT(tc_transact(&c, &m, &r), STUN_ERR_UNKNOWN_ATTRIBUTE);
	check_unknown(&r, two, 2, "binding 0x8077 0x0077 0x0078");
	CHECK(STUN_HAS(&r.m, FINGERPRINT));

	/* comprehension-optional alone: ignored */
	tcm_init(&m, STUN_METHOD_BINDING);
	tcm_raw(&m, UNKNOWN_OPT, "ignored", 7);
	CHECK_EQ_INT(tc_transact(&c, &m, &r), 0);
	CHECK(STUN_HAS(&r.m, XOR_MAPPED_ADDRESS));
	CHECK(!STUN_HAS(&r.m, UNKNOWN_ATTRIBUTES));
	tc_close(&c);
}

static void
test_allocate_unknown(const struct tproc *p)
{
	static const uint16_t one[] = {UNKNOWN_REQ};
	struct tc c;
	struct tc_msg m;
	struct tc_resp r;
	union tc_addr relayed;

	CHECK(tc_open(&c, "127.0.0.1", p->port, TPROC_USER, TPROC_PASS) == 0);
	tcm_init(&m, STUN_METHOD_ALLOCATE);
	tcm_u8pad(&m, STUN_ATTR_REQUESTED_TRANSPORT, STUN_PROTO_UDP);
	tcm_raw(&m, UNKNOWN_REQ, "abcd", 4);

	/* authentication comes first: without credentials, 401 */
	CHECK_EQ_INT(tc_transact(&c, &m, &r), STUN_ERR_UNAUTHORIZED);
	CHECK(!STUN_HAS(&r.m, UNKNOWN_ATTRIBUTES));

	m.auth = 1;
	CHECK_EQ_INT(tc_transact(&c, &m, &r), STUN_ERR_UNKNOWN_ATTRIBUTE);
	CHECK_EQ_INT(r.m.method, STUN_METHOD_ALLOCATE);
	check_unknown(&r, one, 1, "allocate 0x0077");
	CHECK(r.m.n_relayed == 0);
	/* an authenticated request's answer carries integrity */
	CHECK(STUN_HAS(&r.m, MESSAGE_INTEGRITY));
	CHECK_EQ_INT(tc_check_integrity(&c, &r), 0);

	/* the 420 made no allocation: a clean Allocate now succeeds */
	CHECK_EQ_INT(tc_allocate(&c, &relayed), 0);
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tc_close(&c);

	/* an optional unknown attribute in an Allocate is ignored */
	CHECK(tc_open(&c, "127.0.0.1", p->port, TPROC_USER, TPROC_PASS) == 0);
	tcm_init(&m, STUN_METHOD_ALLOCATE);
	tcm_u8pad(&m, STUN_ATTR_REQUESTED_TRANSPORT, STUN_PROTO_UDP);
	tcm_raw(&m, UNKNOWN_OPT, "abcd", 4);
	CHECK_EQ_INT(tc_call(&c, &m, &r), 0);
	CHECK_EQ_INT(r.m.n_relayed, 1);
	CHECK(!STUN_HAS(&r.m, UNKNOWN_ATTRIBUTES));
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tc_close(&c);
}

/*
 * Forged requests: each starts as a valid encoding and is then broken in
 * one place.  Every one must get 400 for its own method and transaction.
 */
static size_t
forge_past_end(uint8_t *buf, size_t cap, const uint8_t *txid)
{
	struct stun_enc e;
	int n;

	stun_enc_init(&e, buf, cap,
	    stun_type(STUN_METHOD_BINDING, STUN_CLASS_REQUEST), txid);
	stun_enc_str(&e, STUN_ATTR_SOFTWARE, "abcd");
	n = stun_enc_finish(&e);
	/* SOFTWARE now claims 64 bytes where the message has 4 */
	buf[STUN_HDR_LEN + 2] = 0;
	buf[STUN_HDR_LEN + 3] = 64;
	return n > 0 ? (size_t)n : 0;
}

static size_t
forge_lifetime3(uint8_t *buf, size_t cap, const uint8_t *txid)
{
	struct stun_enc e;
	int n;

	stun_enc_init(&e, buf, cap,
	    stun_type(STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST), txid);
	stun_enc_u8pad(&e, STUN_ATTR_REQUESTED_TRANSPORT, STUN_PROTO_UDP);
	stun_enc_attr(&e, STUN_ATTR_LIFETIME, "\x00\x02\x58", 3);
	n = stun_enc_finish(&e);
	return n > 0 ? (size_t)n : 0;
}

static size_t
forge_transport8(uint8_t *buf, size_t cap, const uint8_t *txid)
{
	struct stun_enc e;
	int n;

	stun_enc_init(&e, buf, cap,
	    stun_type(STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST), txid);
	stun_enc_attr(&e, STUN_ATTR_REQUESTED_TRANSPORT,
	    "\x11\x00\x00\x00\x00\x00\x00\x00", 8);
	n = stun_enc_finish(&e);
	return n > 0 ? (size_t)n : 0;
}

static size_t
forge_peer_family3(uint8_t *buf, size_t cap, const uint8_t *txid)
{
	struct stun_enc e;
	int n;

	stun_enc_init(&e, buf, cap,
	    stun_type(STUN_METHOD_CREATE_PERMISSION, STUN_CLASS_REQUEST), txid);
	stun_enc_attr(&e, STUN_ATTR_XOR_PEER_ADDRESS,
	    "\x00\x03\x12\x34\x5e\x12\xa4\x43", 8);
	n = stun_enc_finish(&e);
	return n > 0 ? (size_t)n : 0;
}

static size_t
forge_channel2(uint8_t *buf, size_t cap, const uint8_t *txid)
{
	struct stun_enc e;
	int n;

	stun_enc_init(&e, buf, cap,
	    stun_type(STUN_METHOD_CHANNEL_BIND, STUN_CLASS_REQUEST), txid);
	stun_enc_attr(&e, STUN_ATTR_CHANNEL_NUMBER, "\x40\x00", 2);
	n = stun_enc_finish(&e);
	return n > 0 ? (size_t)n : 0;
}

static void
test_malformed(const struct tproc *p)
{
	static const struct {
		const char *name;
		uint16_t method;
		size_t (*forge)(uint8_t *, size_t, const uint8_t *);
	} cases[] = {
	    {"attribute length past the end", STUN_METHOD_BINDING,
	        forge_past_end},
	    {"LIFETIME of 3 bytes", STUN_METHOD_ALLOCATE, forge_lifetime3},
	    {"REQUESTED-TRANSPORT of 8 bytes", STUN_METHOD_ALLOCATE,
	        forge_transport8},
	    {"XOR-PEER-ADDRESS family 3", STUN_METHOD_CREATE_PERMISSION,
	        forge_peer_family3},
	    {"CHANNEL-NUMBER of 2 bytes", STUN_METHOD_CHANNEL_BIND,
	        forge_channel2},
	};
	struct tc c;
	struct tc_msg m;
	struct tc_resp r;
	uint8_t buf[512], txid[STUN_TXID_LEN];
	static const uint8_t lifetime3[3] = {0, 2, 0x58};

	CHECK(tc_open(&c, "127.0.0.1", p->port, TPROC_USER, TPROC_PASS) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n;
		int code;

		memset(txid, (int)(0xa0 + i), sizeof(txid));
		n = cases[i].forge(buf, sizeof(buf), txid);
		CHECK_MSG(n > 0, "%s: forging failed", cases[i].name);
		code = tc_transact_raw(&c, buf, n, &r);
		CHECK_MSG(code == STUN_ERR_BAD_REQUEST, "%s: got %d, want 400",
		    cases[i].name, code);
		CHECK_MSG(r.m.method == cases[i].method &&
		        r.m.cls == STUN_CLASS_ERROR,
		    "%s: answer type 0x%04x", cases[i].name, r.m.type);
	}

	/* the same with valid credentials around it: still 400 */
	CHECK_EQ_INT(tc_learn_nonce(&c), 0);
	tcm_init(&m, STUN_METHOD_ALLOCATE);
	tcm_u8pad(&m, STUN_ATTR_REQUESTED_TRANSPORT, STUN_PROTO_UDP);
	tcm_raw(&m, STUN_ATTR_LIFETIME, lifetime3, sizeof(lifetime3));
	m.auth = 1;
	CHECK_EQ_INT(tc_transact(&c, &m, &r), STUN_ERR_BAD_REQUEST);
	CHECK(r.m.n_relayed == 0);
	CHECK(binding_ok(&c));
	tc_close(&c);
}

/* Sends each datagram; none may be answered. */
static void
expect_silence(struct tc *c, const char *name, const void *p, size_t len)
{
	uint8_t in[2048];
	int n;

	CHECK_MSG(tc_send_raw(c, p, len) == 0, "%s: send failed", name);
	n = tc_recv_raw(c, in, sizeof(in), QUIET_MS);
	CHECK_MSG(n < 0, "%s: answered with %d bytes", name, n);
}

static size_t
encode_plain(uint8_t *buf, size_t cap, uint16_t method, uint8_t cls,
    int fingerprint, const struct tc *c)
{
	struct stun_enc e;
	struct stun_addr sa;
	uint8_t txid[STUN_TXID_LEN];
	int n;

	memset(txid, 0x5c, sizeof(txid));
	stun_enc_init(&e, buf, cap, stun_type(method, cls), txid);
	tc_addr_to_stun(&sa, &c->local);
	stun_enc_xaddr(&e, STUN_ATTR_XOR_MAPPED_ADDRESS, &sa);
	if (cls == STUN_CLASS_ERROR)
		stun_enc_error(&e, STUN_ERR_UNAUTHORIZED, NULL);
	if (fingerprint)
		stun_enc_fingerprint(&e);
	n = stun_enc_finish(&e);
	return n > 0 ? (size_t)n : 0;
}

static void
test_silence(const struct tproc *p)
{
	struct tc c;
	uint8_t buf[512];
	size_t n;

	CHECK(tc_open(&c, "127.0.0.1", p->port, NULL, NULL) == 0);

	/* neither STUN nor ChannelData: top bits 11 and 10 */
	memset(buf, 0xff, 40);
	expect_silence(&c, "0xff bytes", buf, 40);
	memset(buf, 0x80, 24);
	expect_silence(&c, "0x80 bytes", buf, 24);
	expect_silence(&c, "three bytes", "\x00\x01\x00", 3);
	expect_silence(&c, "empty datagram", "", 0);
	expect_silence(&c, "text", "GET / HTTP/1.0\r\n\r\n", 18);

	/* a Binding request whose magic cookie is wrong is not STUN */
	n = encode_plain(
	    buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_REQUEST, 0, &c);
	buf[4] ^= 0xff;
	expect_silence(&c, "wrong magic cookie", buf, n);

	/* nor is one whose FINGERPRINT does not match */
	n = encode_plain(
	    buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_REQUEST, 1, &c);
	CHECK(n > 8);
	buf[n - 1] ^= 0x01;
	expect_silence(&c, "wrong FINGERPRINT", buf, n);

	/* responses and indications are never answered */
	n = encode_plain(
	    buf, sizeof(buf), STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, 1, &c);
	expect_silence(&c, "Binding success response", buf, n);
	n = encode_plain(
	    buf, sizeof(buf), STUN_METHOD_ALLOCATE, STUN_CLASS_ERROR, 0, &c);
	expect_silence(&c, "Allocate error response", buf, n);
	n = encode_plain(buf, sizeof(buf), STUN_METHOD_BINDING,
	    STUN_CLASS_INDICATION, 0, &c);
	expect_silence(&c, "Binding indication", buf, n);
	n = encode_plain(
	    buf, sizeof(buf), STUN_METHOD_DATA, STUN_CLASS_INDICATION, 0, &c);
	expect_silence(&c, "Data indication from a client", buf, n);
	n = encode_plain(
	    buf, sizeof(buf), STUN_METHOD_SEND, STUN_CLASS_INDICATION, 0, &c);
	expect_silence(&c, "Send indication without allocation", buf, n);

	/* ChannelData without an allocation is dropped silently */
	expect_silence(&c, "ChannelData",
	    "\x40\x00\x00\x04"
	    "abcd",
	    8);

	CHECK(binding_ok(&c));
	tc_close(&c);
}

/*
 * A few hundred deterministic random datagrams, many shaped like STUN
 * (zero top bits, the cookie) or ChannelData, from one socket.  Answers
 * may come (400s); the server must survive and still answer.
 */
static void
test_noise(const struct tproc *p)
{
	struct tc c;
	uint8_t buf[600], in[2048];
	unsigned int seed = 8656;

	CHECK(tc_open(&c, "127.0.0.1", p->port, NULL, NULL) == 0);
	for (int i = 0; i < 400; i++) {
		size_t len = (size_t)(rand_r(&seed) % sizeof(buf));

		for (size_t k = 0; k < len; k++)
			buf[k] = (uint8_t)rand_r(&seed);
		if (len >= STUN_HDR_LEN && i % 3 != 0) {
			uint16_t body = (uint16_t)((len - STUN_HDR_LEN) & ~3u);

			buf[0] &= 0x3f;
			buf[2] = (uint8_t)(body >> 8);
			buf[3] = (uint8_t)body;
			buf[4] = 0x21;
			buf[5] = 0x12;
			buf[6] = 0xa4;
			buf[7] = 0x42;
			len = STUN_HDR_LEN + body;
		} else if (len >= 4 && i % 3 == 0)
			buf[0] = (uint8_t)(0x40 | (buf[0] & 0x3f));
		CHECK(tc_send_raw(&c, buf, len) == 0);
		while (tc_recv_raw(&c, in, sizeof(in), 0) >= 0)
			;
	}
	while (tc_recv_raw(&c, in, sizeof(in), 100) >= 0)
		;
	CHECK(binding_ok(&c));
	tc_close(&c);
}

int
main(void)
{
	struct tproc p;

	if (tproc_start(&p, 0, NULL) != 0) {
		CHECK(0);
		return CHECK_DONE();
	}
	test_binding(&p, "127.0.0.1");
	test_binding(&p, "::1");
	test_binding_unknown(&p);
	test_allocate_unknown(&p);
	test_malformed(&p);
	test_silence(&p);
	test_noise(&p);
	CHECK_EQ_INT(tproc_finish(&p, check_state()->failed != 0), 0);
	return CHECK_DONE();
}
