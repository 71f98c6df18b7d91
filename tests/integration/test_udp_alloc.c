/*
 * Allocate and Refresh over UDP against a real turnd on loopback (RFC
 * 8656 sections 7 and 8): what a success carries, LIFETIME clamped to the
 * configured [default, max] on Allocate and Refresh, deletion with
 * LIFETIME 0, 437 without an allocation or for a second one, identical
 * answers to retransmissions, REQUESTED-TRANSPORT (400, 442), address
 * families (REQUESTED-ADDRESS-FAMILY, ADDITIONAL-ADDRESS-FAMILY, 440,
 * ADDRESS-ERROR-CODE), EVEN-PORT and RESERVATION-TOKEN, DONT-FRAGMENT,
 * 508 when the relay port range is used up, and the 486 quotas per user
 * (the REST id being the user) and in total.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "tclient.h"
#include "tproc.h"

static const uint8_t even_r0[1] = {0x00};
static const uint8_t even_r1[1] = {0x80};

static void
check_relayed(const struct stun_addr *sa, const char *ip, uint16_t min,
    uint16_t max, const char *what)
{
	union tc_addr a;
	char buf[80];

	tc_addr_from_stun(&a, sa);
	CHECK_MSG(tc_addr_ip_is(&a, ip), "%s: relayed %s, want %s", what,
	    tc_addr_str(&a, buf, sizeof(buf)), ip);
	CHECK_MSG(sa->port >= min && sa->port <= max,
	    "%s: relayed port %u outside %u-%u", what, sa->port, min, max);
}

static void
check_mapped(const struct tc *c, const struct tc_resp *r, const char *what)
{
	union tc_addr a;
	char got[80], want[80];

	CHECK_MSG(STUN_HAS(&r->m, XOR_MAPPED_ADDRESS),
	    "%s: no XOR-MAPPED-ADDRESS", what);
	tc_addr_from_stun(&a, &r->m.xor_mapped);
	CHECK_MSG(tc_addr_eq(&a, &c->local),
	    "%s: XOR-MAPPED-ADDRESS %s, want %s", what,
	    tc_addr_str(&a, got, sizeof(got)),
	    tc_addr_str(&c->local, want, sizeof(want)));
}

static void
alloc_msg(struct tc_msg *m)
{
	tcm_init(m, STUN_METHOD_ALLOCATE);
	tcm_u8pad(m, STUN_ATTR_REQUESTED_TRANSPORT, STUN_PROTO_UDP);
}

/* A client of user/pass that has learnt the nonce. */
static int
client(struct tc *c, const struct tproc *p, const char *ip, const char *user,
    const char *pass)
{
	if (tc_open(c, ip, p->port, user, pass) != 0)
		return -1;
	return tc_learn_nonce(c);
}

static int
refresh(struct tc *c, int with_lifetime, uint32_t lifetime, struct tc_resp *r)
{
	struct tc_msg m;

	tcm_init(&m, STUN_METHOD_REFRESH);
	if (with_lifetime)
		tcm_u32(&m, STUN_ATTR_LIFETIME, lifetime);
	return tc_call(c, &m, r);
}

static void
test_success(const struct tproc *p)
{
	struct tc c;
	struct tc_msg m;
	struct tc_resp r;

	/* everything a success carries (RFC 8656 section 7.3) */
	CHECK(client(&c, p, "127.0.0.1", TPROC_USER, TPROC_PASS) == 0);
	alloc_msg(&m);
	m.auth = 1;
	m.fingerprint = 1;
	CHECK_EQ_INT(tc_transact(&c, &m, &r), 0);
	CHECK_EQ_INT(r.m.method, STUN_METHOD_ALLOCATE);
	CHECK_EQ_INT(r.m.n_relayed, 1);
	check_relayed(&r.m.relayed[0], "127.0.0.1", p->relay_min, p->relay_max,
	    "allocate");
	CHECK(STUN_HAS(&r.m, LIFETIME));
	CHECK_EQ_INT(r.m.lifetime, 120);
	check_mapped(&c, &r, "allocate");
	CHECK(STUN_HAS(&r.m, MESSAGE_INTEGRITY));
	CHECK_EQ_INT(tc_check_integrity(&c, &r), 0);
	CHECK(STUN_HAS(&r.m, FINGERPRINT));
	CHECK(!STUN_HAS(&r.m, RESERVATION_TOKEN));
	CHECK(!STUN_HAS(&r.m, ADDRESS_ERROR_CODE));
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tc_close(&c);

	/* an IPv6 client without REQUESTED-ADDRESS-FAMILY gets IPv4 */
	CHECK(client(&c, p, "::1", TPROC_USER, TPROC_PASS) == 0);
	alloc_msg(&m);
	CHECK_EQ_INT(tc_call(&c, &m, &r), 0);
	CHECK_EQ_INT(r.m.n_relayed, 1);
	check_relayed(&r.m.relayed[0], "127.0.0.1", p->relay_min, p->relay_max,
	    "IPv6 client, default family");
	check_mapped(&c, &r, "IPv6 client");
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tc_close(&c);
}

struct lifetime_case {
	int present; /* LIFETIME in the request */
	uint32_t asked, want;
};

/* lifetime_default = 120, lifetime_max = 300 in this server. */
static const struct lifetime_case alloc_lifetimes[] = {
    {0, 0, 120},
    {1, 30, 120},
    {1, 0, 120},
    {1, 119, 120},
    {1, 200, 200},
    {1, 300, 300},
    {1, 301, 300},
    {1, 100000, 300},
};

static const struct lifetime_case refresh_lifetimes[] = {
    {1, 250, 250},
    {1, 10, 120},
    {0, 0, 120},
    {1, 5000, 300},
    {1, 1, 120},
    {1, 121, 121},
};

static void
test_lifetime(const struct tproc *p)
{
	const struct lifetime_case *allocs = alloc_lifetimes;
	const struct lifetime_case *refreshes = refresh_lifetimes;
	struct tc c;
	struct tc_msg m;
	struct tc_resp r;

	for (size_t i = 0; i < sizeof(alloc_lifetimes) / sizeof(*allocs); i++) {
		CHECK(client(&c, p, "127.0.0.1", TPROC_USER, TPROC_PASS) == 0);
		alloc_msg(&m);
		if (allocs[i].present)
			tcm_u32(&m, STUN_ATTR_LIFETIME, allocs[i].asked);
		CHECK_EQ_INT(tc_call(&c, &m, &r), 0);
		CHECK_MSG(
		    STUN_HAS(&r.m, LIFETIME) && r.m.lifetime == allocs[i].want,
		    "Allocate LIFETIME %s%u: got %u, want %u",
		    allocs[i].present ? "" : "absent, ", allocs[i].asked,
		    r.m.lifetime, allocs[i].want);
		CHECK_EQ_INT(tc_refresh(&c, 0), 0);
		tc_close(&c);
	}

	CHECK(client(&c, p, "127.0.0.1", TPROC_USER, TPROC_PASS) == 0);
	alloc_msg(&m);
	CHECK_EQ_INT(tc_call(&c, &m, &r), 0);
	for (size_t i = 0; i < sizeof(refresh_lifetimes) / sizeof(*refreshes);
	     i++) {
		CHECK_EQ_INT(
		    refresh(&c, refreshes[i].present, refreshes[i].asked, &r),
		    0);
		CHECK_MSG(STUN_HAS(&r.m, LIFETIME) &&
		        r.m.lifetime == refreshes[i].want,
		    "Refresh LIFETIME %s%u: got %u, want %u",
		    refreshes[i].present ? "" : "absent, ", refreshes[i].asked,
		    r.m.lifetime, refreshes[i].want);
		CHECK_EQ_INT(tc_check_integrity(&c, &r), 0);
	}
	/* REQUESTED-ADDRESS-FAMILY in a Refresh must match (section 8.2) */
	tcm_init(&m, STUN_METHOD_REFRESH);
	tcm_u8pad(&m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, STUN_AF_IPV6);
	CHECK_EQ_INT(tc_call(&c, &m, &r), STUN_ERR_PEER_ADDRESS_FAMILY);
	tcm_init(&m, STUN_METHOD_REFRESH);
	tcm_u8pad(&m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, STUN_AF_IPV4);
	CHECK_EQ_INT(tc_call(&c, &m, &r), 0);
	CHECK_EQ_INT(r.m.lifetime, 120);

	/* LIFETIME 0 deletes; the allocation is then gone */
	CHECK_EQ_INT(refresh(&c, 1, 0, &r), 0);
	CHECK(STUN_HAS(&r.m, LIFETIME));
	CHECK_EQ_INT(r.m.lifetime, 0);
	CHECK_EQ_INT(tc_check_integrity(&c, &r), 0);
	CHECK_EQ_INT(refresh(&c, 1, 120, &r), STUN_ERR_ALLOCATION_MISMATCH);
	CHECK_EQ_INT(refresh(&c, 1, 0, &r), STUN_ERR_ALLOCATION_MISMATCH);
	/* and a new one can be made on the same 5-tuple */
	alloc_msg(&m);
	CHECK_EQ_INT(tc_call(&c, &m, &r), 0);
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tc_close(&c);
}

static void
test_no_allocation(const struct tproc *p)
{
	struct tc c;
	struct tc_resp r;
	union tc_addr peer;

	tc_addr_parse(&peer, "127.0.0.1", 9);
	CHECK(tc_open(&c, "127.0.0.1", p->port, TPROC_USER, TPROC_PASS) == 0);
	CHECK_EQ_INT(refresh(&c, 1, 300, &r), STUN_ERR_ALLOCATION_MISMATCH);
	CHECK_EQ_INT(refresh(&c, 0, 0, &r), STUN_ERR_ALLOCATION_MISMATCH);
	CHECK_EQ_INT(tc_refresh(&c, 0), STUN_ERR_ALLOCATION_MISMATCH);
	CHECK_EQ_INT(tc_permission(&c, &peer), STUN_ERR_ALLOCATION_MISMATCH);
	CHECK_EQ_INT(
	    tc_channel_bind(&c, 0x4000, &peer), STUN_ERR_ALLOCATION_MISMATCH);
	tc_close(&c);
}

static void
test_retransmit(const struct tproc *p)
{
	struct tc c;
	struct tc_msg m;
	struct tc_resp first, again;

	CHECK(client(&c, p, "127.0.0.1", TPROC_USER, TPROC_PASS) == 0);
	alloc_msg(&m);
	m.auth = 1;
	m.txid_set = 1;
	CHECK(RAND_bytes(m.txid, sizeof(m.txid)) == 1);
	CHECK_EQ_INT(tc_transact(&c, &m, &first), 0);
	CHECK_EQ_INT(first.m.n_relayed, 1);

	/* the same request again: the very same answer, not 437 */
	CHECK_EQ_INT(tc_transact(&c, &m, &again), 0);
	CHECK_MEMEQ(again.buf, again.len, first.buf, first.len);
	/* still within the transaction's life, a second later */
	usleep(1100000);
	CHECK_EQ_INT(tc_transact(&c, &m, &again), 0);
	CHECK_MEMEQ(again.buf, again.len, first.buf, first.len);

	/* another transaction ID is another Allocate: 437 */
	m.txid_set = 0;
	CHECK_EQ_INT(tc_transact(&c, &m, &again), STUN_ERR_ALLOCATION_MISMATCH);
	CHECK(again.m.n_relayed == 0);

	/* a retransmitted Refresh 0 is answered alike, not with 437 */
	tcm_init(&m, STUN_METHOD_REFRESH);
	tcm_u32(&m, STUN_ATTR_LIFETIME, 0);
	m.auth = 1;
	m.txid_set = 1;
	CHECK(RAND_bytes(m.txid, sizeof(m.txid)) == 1);
	CHECK_EQ_INT(tc_transact(&c, &m, &first), 0);
	CHECK_EQ_INT(tc_transact(&c, &m, &again), 0);
	CHECK_MEMEQ(again.buf, again.len, first.buf, first.len);
	CHECK_EQ_INT(tc_refresh(&c, 0), STUN_ERR_ALLOCATION_MISMATCH);
	tc_close(&c);
}

static void
test_transport(const struct tproc *p)
{
	static const struct {
		const char *name;
		int present;
		uint8_t proto;
		int want;
	} cases[] = {
	    {"no REQUESTED-TRANSPORT", 0, 0, STUN_ERR_BAD_REQUEST},
	    /* RFC 6062 section 5.1: a TCP relay is asked for over TCP/TLS */
	    {"TCP over UDP", 1, STUN_PROTO_TCP, STUN_ERR_BAD_REQUEST},
	    {"SCTP", 1, 132, STUN_ERR_UNSUPPORTED_TRANSPORT},
	};
	struct tc c;
	struct tc_msg m;
	struct tc_resp r;
	int code;

	CHECK(client(&c, p, "127.0.0.1", TPROC_USER, TPROC_PASS) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tcm_init(&m, STUN_METHOD_ALLOCATE);
		if (cases[i].present)
			tcm_u8pad(
			    &m, STUN_ATTR_REQUESTED_TRANSPORT, cases[i].proto);
		code = tc_call(&c, &m, &r);
		CHECK_MSG(code == cases[i].want, "%s: %d, want %d",
		    cases[i].name, code, cases[i].want);
		CHECK(r.m.n_relayed == 0);
	}
	/* none of them left an allocation behind */
	alloc_msg(&m);
	CHECK_EQ_INT(tc_call(&c, &m, &r), 0);
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tc_close(&c);
}

static void
test_families(const struct tproc *p)
{
	static const struct {
		const char *name;
		int rfam, afam; /* -1: absent */
		int want;
	} bad[] = {
	    {"REQUESTED-ADDRESS-FAMILY 3", 3, -1, STUN_ERR_ADDRESS_FAMILY},
	    {"REQUESTED-ADDRESS-FAMILY 0", 0, -1, STUN_ERR_ADDRESS_FAMILY},
	    {"ADDITIONAL-ADDRESS-FAMILY IPv4", -1, STUN_AF_IPV4,
	        STUN_ERR_BAD_REQUEST},
	    {"both, IPv4 requested", STUN_AF_IPV4, STUN_AF_IPV6,
	        STUN_ERR_BAD_REQUEST},
	    {"both, IPv6 requested", STUN_AF_IPV6, STUN_AF_IPV6,
	        STUN_ERR_BAD_REQUEST},
	};
	struct tc c;
	struct tc_msg m;
	struct tc_resp r;
	union tc_addr peer;
	int v4 = -1, v6 = -1, code;

	CHECK(client(&c, p, "127.0.0.1", TPROC_USER, TPROC_PASS) == 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		alloc_msg(&m);
		if (bad[i].rfam >= 0)
			tcm_u8pad(&m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY,
			    (uint8_t)bad[i].rfam);
		if (bad[i].afam >= 0)
			tcm_u8pad(&m, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY,
			    (uint8_t)bad[i].afam);
		code = tc_call(&c, &m, &r);
		CHECK_MSG(code == bad[i].want, "%s: %d, want %d", bad[i].name,
		    code, bad[i].want);
	}

	/* IPv6 asked by an IPv4 client */
	alloc_msg(&m);
	tcm_u8pad(&m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, STUN_AF_IPV6);
	CHECK_EQ_INT(tc_call(&c, &m, &r), 0);
	CHECK_EQ_INT(r.m.n_relayed, 1);
	check_relayed(&r.m.relayed[0], "::1", p->relay_min, p->relay_max,
	    "REQUESTED-ADDRESS-FAMILY IPv6");
	check_mapped(&c, &r, "REQUESTED-ADDRESS-FAMILY IPv6");
	/* its peers are IPv6 */
	tc_addr_parse(&peer, "::1", 9);
	CHECK_EQ_INT(tc_permission(&c, &peer), 0);
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);

	/* IPv4 asked explicitly by an IPv6 client */
	tc_close(&c);
	CHECK(client(&c, p, "::1", TPROC_USER, TPROC_PASS) == 0);
	alloc_msg(&m);
	tcm_u8pad(&m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, STUN_AF_IPV4);
	CHECK_EQ_INT(tc_call(&c, &m, &r), 0);
	CHECK_EQ_INT(r.m.n_relayed, 1);
	check_relayed(&r.m.relayed[0], "127.0.0.1", p->relay_min, p->relay_max,
	    "REQUESTED-ADDRESS-FAMILY IPv4");
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tc_close(&c);

	/* dual allocation: one relayed address of each family */
	CHECK(client(&c, p, "127.0.0.1", TPROC_USER, TPROC_PASS) == 0);
	alloc_msg(&m);
	tcm_u8pad(&m, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, STUN_AF_IPV6);
	CHECK_EQ_INT(tc_call(&c, &m, &r), 0);
	CHECK_EQ_INT(r.m.n_relayed, 2);
	for (int i = 0; i < r.m.n_relayed && i < 2; i++) {
		if (r.m.relayed[i].family == STUN_AF_IPV4)
			v4 = i;
		else
			v6 = i;
	}
	CHECK(v4 >= 0 && v6 >= 0);
	if (v4 >= 0 && v6 >= 0) {
		check_relayed(&r.m.relayed[v4], "127.0.0.1", p->relay_min,
		    p->relay_max, "dual, IPv4");
		check_relayed(&r.m.relayed[v6], "::1", p->relay_min,
		    p->relay_max, "dual, IPv6");
	}
	CHECK(!STUN_HAS(&r.m, ADDRESS_ERROR_CODE));
	CHECK_EQ_INT(tc_check_integrity(&c, &r), 0);
	tc_addr_parse(&peer, "::1", 9);
	CHECK_EQ_INT(tc_permission(&c, &peer), 0);
	tc_addr_parse(&peer, "127.0.0.1", 9);
	CHECK_EQ_INT(tc_permission(&c, &peer), 0);
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tc_close(&c);
}

/* A server with IPv4 only. */
static void
test_no_ipv6(void)
{
	struct tproc p;
	struct tc c;
	struct tc_msg m;
	struct tc_resp r;

	if (tproc_start(&p, TPROC_NO_IPV6, NULL) != 0) {
		CHECK(0);
		return;
	}
	CHECK(client(&c, &p, "127.0.0.1", TPROC_USER, TPROC_PASS) == 0);
	alloc_msg(&m);
	tcm_u8pad(&m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, STUN_AF_IPV6);
	CHECK_EQ_INT(tc_call(&c, &m, &r), STUN_ERR_ADDRESS_FAMILY);
	CHECK(r.m.n_relayed == 0);

	/* dual: the IPv4 half, and why there is no IPv6 half */
	alloc_msg(&m);
	tcm_u8pad(&m, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, STUN_AF_IPV6);
	CHECK_EQ_INT(tc_call(&c, &m, &r), 0);
	CHECK_EQ_INT(r.m.n_relayed, 1);
	check_relayed(&r.m.relayed[0], "127.0.0.1", p.relay_min, p.relay_max,
	    "dual without IPv6");
	CHECK(STUN_HAS(&r.m, ADDRESS_ERROR_CODE));
	CHECK_EQ_INT(r.m.address_error_family, STUN_AF_IPV6);
	CHECK_EQ_INT(r.m.address_error.code, STUN_ERR_ADDRESS_FAMILY);
	CHECK(STUN_HAS(&r.m, LIFETIME));
	CHECK_EQ_INT(tc_check_integrity(&c, &r), 0);
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tc_close(&c);
	CHECK_EQ_INT(tproc_finish(&p, check_state()->failed != 0), 0);
}

static void
test_even_port(const struct tproc *p)
{
	static const uint8_t unknown_token[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct tc c, c2, c3;
	struct tc_msg m;
	struct tc_resp r;
	uint8_t token[8];
	uint16_t port;

	/* R = 0: an even port, no reservation */
	CHECK(client(&c, p, "127.0.0.1", TPROC_USER, TPROC_PASS) == 0);
	alloc_msg(&m);
	tcm_raw(&m, STUN_ATTR_EVEN_PORT, even_r0, 1);
	CHECK_EQ_INT(tc_call(&c, &m, &r), 0);
	CHECK_EQ_INT(r.m.n_relayed, 1);
	check_relayed(&r.m.relayed[0], "127.0.0.1", p->relay_min, p->relay_max,
	    "EVEN-PORT R=0");
	CHECK_MSG(r.m.relayed[0].port % 2 == 0, "EVEN-PORT R=0: port %u",
	    r.m.relayed[0].port);
	CHECK(!STUN_HAS(&r.m, RESERVATION_TOKEN));
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tc_close(&c);

	/* R = 1: an even port and a token for the next one */
	CHECK(client(&c, p, "127.0.0.1", TPROC_USER, TPROC_PASS) == 0);
	alloc_msg(&m);
	tcm_raw(&m, STUN_ATTR_EVEN_PORT, even_r1, 1);
	CHECK_EQ_INT(tc_call(&c, &m, &r), 0);
	CHECK_EQ_INT(r.m.n_relayed, 1);
	check_relayed(&r.m.relayed[0], "127.0.0.1", p->relay_min, p->relay_max,
	    "EVEN-PORT R=1");
	port = r.m.relayed[0].port;
	CHECK_MSG(port % 2 == 0, "EVEN-PORT R=1: port %u", port);
	CHECK(STUN_HAS(&r.m, RESERVATION_TOKEN));
	memcpy(token, r.m.reservation_token, sizeof(token));

	/* the token gets another client the port after it */
	CHECK(client(&c2, p, "127.0.0.1", TPROC_USER, TPROC_PASS) == 0);
	alloc_msg(&m);
	tcm_raw(&m, STUN_ATTR_RESERVATION_TOKEN, token, sizeof(token));
	CHECK_EQ_INT(tc_call(&c2, &m, &r), 0);
	CHECK_EQ_INT(r.m.n_relayed, 1);
	check_relayed(&r.m.relayed[0], "127.0.0.1", p->relay_min, p->relay_max,
	    "RESERVATION-TOKEN");
	CHECK_EQ_INT(r.m.relayed[0].port, port + 1);
	CHECK(!STUN_HAS(&r.m, RESERVATION_TOKEN));

	/* once */
	CHECK(client(&c3, p, "127.0.0.1", TPROC_USER, TPROC_PASS) == 0);
	CHECK_EQ_INT(tc_call(&c3, &m, &r), STUN_ERR_INSUFFICIENT_CAPACITY);
	/* a token nobody issued */
	alloc_msg(&m);
	tcm_raw(&m, STUN_ATTR_RESERVATION_TOKEN, unknown_token, 8);
	CHECK_EQ_INT(tc_call(&c3, &m, &r), STUN_ERR_INSUFFICIENT_CAPACITY);
	/* a token with EVEN-PORT, REQUESTED- or ADDITIONAL-ADDRESS-FAMILY */
	alloc_msg(&m);
	tcm_raw(&m, STUN_ATTR_RESERVATION_TOKEN, unknown_token, 8);
	tcm_raw(&m, STUN_ATTR_EVEN_PORT, even_r0, 1);
	CHECK_EQ_INT(tc_call(&c3, &m, &r), STUN_ERR_BAD_REQUEST);
	alloc_msg(&m);
	tcm_raw(&m, STUN_ATTR_RESERVATION_TOKEN, unknown_token, 8);
	tcm_u8pad(&m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, STUN_AF_IPV4);
	CHECK_EQ_INT(tc_call(&c3, &m, &r), STUN_ERR_BAD_REQUEST);
	alloc_msg(&m);
	tcm_raw(&m, STUN_ATTR_RESERVATION_TOKEN, unknown_token, 8);
	tcm_u8pad(&m, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, STUN_AF_IPV6);
	CHECK_EQ_INT(tc_call(&c3, &m, &r), STUN_ERR_BAD_REQUEST);
	/* R = 1 cannot go with a dual allocation */
	alloc_msg(&m);
	tcm_raw(&m, STUN_ATTR_EVEN_PORT, even_r1, 1);
	tcm_u8pad(&m, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, STUN_AF_IPV6);
	CHECK_EQ_INT(tc_call(&c3, &m, &r), STUN_ERR_BAD_REQUEST);
	/* none of that allocated anything */
	alloc_msg(&m);
	CHECK_EQ_INT(tc_call(&c3, &m, &r), 0);

	CHECK_EQ_INT(tc_refresh(&c3, 0), 0);
	CHECK_EQ_INT(tc_refresh(&c2, 0), 0);
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tc_close(&c3);
	tc_close(&c2);
	tc_close(&c);
}

static void
test_dont_fragment(const struct tproc *p)
{
	struct tc c;
	struct tc_msg m;
	struct tc_resp r;
	struct tpeer peer;
	union tc_addr relayed, from;
	uint8_t buf[64];

	CHECK(client(&c, p, "127.0.0.1", TPROC_USER, TPROC_PASS) == 0);
	CHECK(tpeer_open(&peer, "127.0.0.1") == 0);
	alloc_msg(&m);
	tcm_raw(&m, STUN_ATTR_DONT_FRAGMENT, NULL, 0);
	CHECK_EQ_INT(tc_call(&c, &m, &r), 0);
	CHECK_EQ_INT(r.m.n_relayed, 1);
	tc_addr_from_stun(&relayed, &r.m.relayed[0]);
	/* and it relays */
	CHECK_EQ_INT(tc_permission(&c, &peer.addr), 0);
	CHECK(tc_send_ind(&c, &peer.addr, "df", 2) == 0);
	CHECK_EQ_INT(tpeer_recv(&peer, buf, sizeof(buf), &from, 1000), 2);
	CHECK(tc_addr_eq(&from, &relayed));
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tpeer_close(&peer);
	tc_close(&c);
}

/* A relay range of two ports. */
static void
test_exhausted(void)
{
	struct tproc p;
	struct tc a, b, c;
	struct tc_msg m;
	struct tc_resp r;
	char extra[256];
	uint16_t lo = tproc_relay_window(2), port_a;

	CHECK(lo != 0);
	snprintf(extra, sizeof(extra),
	    "relay = { addresses = [ "
	    "\"127.0.0.1\" ]; port_min = %u; port_max = %u; };",
	    lo, lo + 1);
	if (tproc_start(&p, TPROC_NO_IPV6, extra) != 0) {
		CHECK(0);
		return;
	}
	CHECK(client(&a, &p, "127.0.0.1", TPROC_USER, TPROC_PASS) == 0);
	CHECK(client(&b, &p, "127.0.0.1", TPROC_USER, TPROC_PASS) == 0);
	CHECK(client(&c, &p, "127.0.0.1", TPROC_USER2, TPROC_PASS2) == 0);
	alloc_msg(&m);
	CHECK_EQ_INT(tc_call(&a, &m, &r), 0);
	check_relayed(&r.m.relayed[0], "127.0.0.1", lo, lo + 1, "first");
	port_a = r.m.relayed[0].port;
	CHECK_EQ_INT(tc_call(&b, &m, &r), 0);
	check_relayed(&r.m.relayed[0], "127.0.0.1", lo, lo + 1, "second");
	CHECK(r.m.relayed[0].port != port_a);

	CHECK_EQ_INT(tc_call(&c, &m, &r), STUN_ERR_INSUFFICIENT_CAPACITY);
	CHECK(r.m.n_relayed == 0);
	alloc_msg(&m);
	tcm_raw(&m, STUN_ATTR_EVEN_PORT, even_r0, 1);
	CHECK_EQ_INT(tc_call(&c, &m, &r), STUN_ERR_INSUFFICIENT_CAPACITY);

	/* a port comes back when its allocation is deleted */
	CHECK_EQ_INT(tc_refresh(&a, 0), 0);
	alloc_msg(&m);
	CHECK_EQ_INT(tc_call(&c, &m, &r), 0);
	CHECK_EQ_INT(r.m.n_relayed, 1);
	CHECK_EQ_INT(r.m.relayed[0].port, port_a);

	CHECK_EQ_INT(tc_refresh(&b, 0), 0);
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tc_close(&a);
	tc_close(&b);
	tc_close(&c);
	CHECK_EQ_INT(tproc_finish(&p, check_state()->failed != 0), 0);
}

/* allocations_per_user = 2, allocations_total = 5. */
static void
test_quotas(void)
{
	struct tproc p;
	struct tc alice[3], carol[3], bob[2];
	struct tc_msg m;
	struct tc_resp r;
	long long base = (long long)time(NULL) + 3600;

	if (tproc_start(&p, 0,
	        "quotas = { allocations_per_user = 2; "
	        "allocations_total = 5; unauth_per_source = 0; };") != 0) {
		CHECK(0);
		return;
	}
	alloc_msg(&m);
	for (int i = 0; i < 3; i++)
		CHECK(client(&alice[i], &p, "127.0.0.1", TPROC_USER,
		          TPROC_PASS) == 0);
	CHECK_EQ_INT(tc_call(&alice[0], &m, &r), 0);
	CHECK_EQ_INT(tc_call(&alice[1], &m, &r), 0);
	CHECK_EQ_INT(tc_call(&alice[2], &m, &r), STUN_ERR_ALLOCATION_QUOTA);
	CHECK(r.m.n_relayed == 0);

	/* REST credentials count against their id, whatever the expiry */
	for (int i = 0; i < 3; i++) {
		char user[64], pass[64];

		snprintf(user, sizeof(user), "%lld:carol", base + i);
		tc_rest_password(TPROC_SECRET, user, pass);
		CHECK(client(&carol[i], &p, "127.0.0.1", user, pass) == 0);
	}
	CHECK_EQ_INT(tc_call(&carol[0], &m, &r), 0);
	CHECK_EQ_INT(tc_call(&carol[1], &m, &r), 0);
	CHECK_EQ_INT(tc_call(&carol[2], &m, &r), STUN_ERR_ALLOCATION_QUOTA);

	/* four held; bob's first is the fifth, his second over the total */
	for (int i = 0; i < 2; i++)
		CHECK(client(&bob[i], &p, "127.0.0.1", TPROC_USER2,
		          TPROC_PASS2) == 0);
	CHECK_EQ_INT(tc_call(&bob[0], &m, &r), 0);
	CHECK_EQ_INT(tc_call(&bob[1], &m, &r), STUN_ERR_ALLOCATION_QUOTA);

	/* deleting one makes room */
	CHECK_EQ_INT(tc_refresh(&alice[0], 0), 0);
	CHECK_EQ_INT(tc_call(&bob[1], &m, &r), 0);
	CHECK_EQ_INT(tc_call(&alice[2], &m, &r), STUN_ERR_ALLOCATION_QUOTA);

	CHECK_EQ_INT(tc_refresh(&alice[1], 0), 0);
	CHECK_EQ_INT(tc_refresh(&carol[0], 0), 0);
	CHECK_EQ_INT(tc_refresh(&carol[1], 0), 0);
	CHECK_EQ_INT(tc_refresh(&bob[0], 0), 0);
	CHECK_EQ_INT(tc_refresh(&bob[1], 0), 0);
	for (int i = 0; i < 3; i++) {
		tc_close(&alice[i]);
		tc_close(&carol[i]);
	}
	tc_close(&bob[0]);
	tc_close(&bob[1]);
	CHECK_EQ_INT(tproc_finish(&p, check_state()->failed != 0), 0);
}

int
main(void)
{
	struct tproc p;

	if (tproc_start(&p, 0,
	        "allocation = { lifetime_default = 120; "
	        "lifetime_max = 300; };") != 0) {
		CHECK(0);
		return CHECK_DONE();
	}
	test_success(&p);
	test_lifetime(&p);
	test_no_allocation(&p);
	test_retransmit(&p);
	test_transport(&p);
	test_families(&p);
	test_even_port(&p);
	test_dont_fragment(&p);
	CHECK_EQ_INT(tproc_finish(&p, check_state()->failed != 0), 0);
	test_no_ipv6();
	test_exhausted();
	test_quotas();
	return CHECK_DONE();
}
