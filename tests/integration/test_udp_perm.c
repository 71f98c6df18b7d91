/*
 * CreatePermission and ChannelBind over UDP against a real turnd on
 * loopback (RFC 8656 sections 9, 10 and 12) and the peer policy in front
 * of them (section 21): several XOR-PEER-ADDRESS in one request, all or
 * nothing; 400 without a peer; 443 for a peer of the other family; 403
 * for private, link-local, unspecified, multicast and loopback peers that
 * are not allowed, IPv6 forms of IPv4 addresses included, and for the
 * server's own listening port; channel numbers (0x4000-0x4FFF, and
 * 0x5000-0x7FFF only behind relay.legacy_channel_numbers), rebinding, and
 * the 400s for conflicting bindings.  Denied peers are only ever named in
 * requests: no datagram goes anywhere but loopback.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "tclient.h"
#include "tproc.h"

#define QUIET_MS 300

static void
alloc_msg(struct tc_msg *m)
{
	tcm_init(m, STUN_METHOD_ALLOCATE);
	tcm_u8pad(m, STUN_ATTR_REQUESTED_TRANSPORT, STUN_PROTO_UDP);
}

/*
 * An allocation for c: family 0 (default IPv4), STUN_AF_IPV6, or -1 for
 * dual.  Fills relayed[0] (IPv4 first when dual) and relayed[1].
 */
static int
allocate(
    const struct tproc *p, struct tc *c, int family, union tc_addr relayed[2])
{
	struct tc_msg m;
	struct tc_resp r;
	int code;

	if (tc_open(c, "127.0.0.1", p->port, TPROC_USER, TPROC_PASS) != 0)
		return -1;
	alloc_msg(&m);
	if (family == -1)
		tcm_u8pad(
		    &m, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, STUN_AF_IPV6);
	else if (family != 0)
		tcm_u8pad(
		    &m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, (uint8_t)family);
	code = tc_call(c, &m, &r);
	if (code != 0)
		return code;
	for (int i = 0; i < r.m.n_relayed && i < 2; i++) {
		int slot =
		    r.m.n_relayed == 2 && r.m.relayed[i].family == STUN_AF_IPV6;

		tc_addr_from_stun(&relayed[slot], &r.m.relayed[i]);
	}
	return 0;
}

static int
permission_many(
    struct tc *c, const union tc_addr *peers, size_t n, struct tc_resp *r)
{
	struct tc_msg m;

	tcm_init(&m, STUN_METHOD_CREATE_PERMISSION);
	for (size_t i = 0; i < n; i++)
		tcm_xaddr(&m, STUN_ATTR_XOR_PEER_ADDRESS, &peers[i]);
	return tc_call(c, &m, r);
}

/* A datagram from peer to the relay reaches c as a Data indication. */
static int
heard(struct tc *c, struct tpeer *peer, const union tc_addr *relayed,
    const char *msg)
{
	uint8_t buf[256];
	union tc_addr from;
	uint16_t chan = 0xffff;
	int n;

	if (tpeer_send(peer, relayed, msg, strlen(msg)) != 0)
		return 0;
	n = tc_recv_data(c, buf, sizeof(buf), &chan, &from, QUIET_MS);
	return n == (int)strlen(msg) && memcmp(buf, msg, (size_t)n) == 0 &&
	    chan == 0 && tc_addr_eq(&from, &peer->addr);
}

/* Data both ways over channel num between c and peer. */
static void
channel_roundtrip(struct tc *c, struct tpeer *peer,
    const union tc_addr *relayed, uint16_t num, const char *what)
{
	uint8_t buf[256];
	union tc_addr from;
	uint16_t chan = 0;
	int n;

	CHECK(tc_send_chan(c, num, "up", 2) == 0);
	n = tpeer_recv(peer, buf, sizeof(buf), &from, 1000);
	CHECK_MSG(
	    n == 2 && memcmp(buf, "up", 2) == 0 && tc_addr_eq(&from, relayed),
	    "%s: ChannelData up: %d", what, n);
	CHECK(tpeer_send(peer, relayed, "down", 4) == 0);
	n = tc_recv_data(c, buf, sizeof(buf), &chan, NULL, 1000);
	CHECK_MSG(n == 4 && memcmp(buf, "down", 4) == 0 && chan == num,
	    "%s: ChannelData down: %d on 0x%04x", what, n, chan);
}

static void
expect_peers(
    struct tc *c, const char *const *ips, size_t n, int want, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		union tc_addr peer;
		int code;

		CHECK_MSG(tc_addr_parse(&peer, ips[i], 3478) == 0,
		    "bad test address %s", ips[i]);
		code = tc_permission(c, &peer);
		CHECK_MSG(code == want, "%s: CreatePermission %s: %d, want %d",
		    what, ips[i], code, want);
	}
}

/* peers.allow = 127.0.0.1/32, 127.0.0.2/32, ::1/128 */
static void
test_create_permission(const struct tproc *p)
{
	static const char *const denied4[] = {"10.0.0.1", "10.255.255.255",
	    "169.254.169.254", "0.0.0.0", "0.1.2.3", "127.0.0.3",
	    "127.255.255.254", "172.16.0.1", "172.31.255.1", "192.168.1.1",
	    "100.64.0.1", "192.0.0.9", "198.18.0.1", "224.0.0.1",
	    "239.255.255.250", "240.0.0.1", "255.255.255.255"};
	static const char *const denied6[] = {"::ffff:10.0.0.1",
	    "::ffff:169.254.169.254", "::ffff:127.0.0.3", "::ffff:0.0.0.0",
	    "64:ff9b::a9fe:a9fe", "64:ff9b::a00:1", "::a00:1", "2002:a00:1::1",
	    "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "ff0e::1"};
	static const char *const v6[] = {"::1", "2001:4860::1"};
	static const char *const v4[] = {"127.0.0.1", "8.8.8.8"};
	struct tc c, c2, c6;
	struct tc_msg m;
	struct tc_resp r;
	struct tpeer p1, p2;
	union tc_addr relayed[2], relayed2[2], relayed6[2], both[2], bad;

	CHECK_EQ_INT(allocate(p, &c, 0, relayed), 0);
	CHECK(tpeer_open(&p1, "127.0.0.1") == 0);
	CHECK(tpeer_open(&p2, "127.0.0.2") == 0);

	tcm_init(&m, STUN_METHOD_CREATE_PERMISSION);
	CHECK_EQ_INT(tc_call(&c, &m, &r), STUN_ERR_BAD_REQUEST);

	/* no permission yet: not heard */
	CHECK(!heard(&c, &p2, &relayed[0], "too early"));
	both[0] = p1.addr;
	both[1] = p2.addr;
	CHECK_EQ_INT(permission_many(&c, both, 2, &r), 0);
	CHECK_EQ_INT(tc_check_integrity(&c, &r), 0);
	CHECK_MSG(heard(&c, &p1, &relayed[0], "from p1"),
	    "first peer of two not permitted");
	CHECK_MSG(heard(&c, &p2, &relayed[0], "from p2"),
	    "second peer of two not permitted");

	expect_peers(&c, denied4, sizeof(denied4) / sizeof(denied4[0]),
	    STUN_ERR_FORBIDDEN, "IPv4 allocation");
	expect_peers(&c, v6, sizeof(v6) / sizeof(v6[0]),
	    STUN_ERR_PEER_ADDRESS_FAMILY, "IPv4 allocation");

	/* all or nothing: one bad peer and nothing is installed */
	CHECK_EQ_INT(allocate(p, &c2, 0, relayed2), 0);
	both[0] = p1.addr;
	tc_addr_parse(&both[1], "10.0.0.1", 3478);
	CHECK_EQ_INT(permission_many(&c2, both, 2, &r), STUN_ERR_FORBIDDEN);
	tc_addr_parse(&both[1], "::1", 3478);
	CHECK_EQ_INT(
	    permission_many(&c2, both, 2, &r), STUN_ERR_PEER_ADDRESS_FAMILY);
	CHECK_MSG(!heard(&c2, &p1, &relayed2[0], "refused"),
	    "a refused CreatePermission installed its good peer");
	CHECK_EQ_INT(tc_refresh(&c2, 0), 0);

	/* an IPv6 allocation judges every IPv6 form of IPv4 as that IPv4 */
	CHECK_EQ_INT(allocate(p, &c6, STUN_AF_IPV6, relayed6), 0);
	CHECK(tc_addr_ip_is(&relayed6[0], "::1"));
	expect_peers(&c6, denied6, sizeof(denied6) / sizeof(denied6[0]),
	    STUN_ERR_FORBIDDEN, "IPv6 allocation");
	expect_peers(&c6, v4, sizeof(v4) / sizeof(v4[0]),
	    STUN_ERR_PEER_ADDRESS_FAMILY, "IPv6 allocation");
	tc_addr_parse(&bad, "::1", 5000);
	CHECK_EQ_INT(tc_permission(&c6, &bad), 0);
	CHECK_EQ_INT(tc_refresh(&c6, 0), 0);

	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tpeer_close(&p1);
	tpeer_close(&p2);
	tc_close(&c);
	tc_close(&c2);
	tc_close(&c6);
}

static void
test_channel_bind(const struct tproc *p)
{
	static const struct {
		const char *name;
		uint16_t chan;
	} bad_numbers[] = {
	    {"0x0000", 0x0000},
	    {"0x3fff", 0x3fff},
	    {"0x5000", 0x5000},
	    {"0x7fff", 0x7fff},
	    {"0x8000", 0x8000},
	    {"0xffff", 0xffff},
	};
	struct tc c, c6;
	struct tc_msg m;
	struct tc_resp r;
	struct tpeer pa, pb, pc;
	union tc_addr relayed[2], relayed6[2], peer;

	CHECK_EQ_INT(allocate(p, &c, 0, relayed), 0);
	CHECK(tpeer_open(&pa, "127.0.0.1") == 0);
	CHECK(tpeer_open(&pb, "127.0.0.1") == 0);
	CHECK(tpeer_open(&pc, "127.0.0.2") == 0);

	tcm_init(&m, STUN_METHOD_CHANNEL_BIND);
	tcm_u16pad(&m, STUN_ATTR_CHANNEL_NUMBER, 0x4000);
	tcm_xaddr(&m, STUN_ATTR_XOR_PEER_ADDRESS, &pa.addr);
	CHECK_EQ_INT(tc_call(&c, &m, &r), 0);
	CHECK_EQ_INT(tc_check_integrity(&c, &r), 0);
	channel_roundtrip(&c, &pa, &relayed[0], 0x4000, "0x4000");
	CHECK_EQ_INT(tc_channel_bind(&c, 0x4fff, &pb.addr), 0);
	channel_roundtrip(&c, &pb, &relayed[0], 0x4fff, "0x4fff");

	/* the same pair again refreshes it */
	CHECK_EQ_INT(tc_channel_bind(&c, 0x4000, &pa.addr), 0);
	/* conflicts */
	CHECK_EQ_INT(
	    tc_channel_bind(&c, 0x4000, &pc.addr), STUN_ERR_BAD_REQUEST);
	CHECK_EQ_INT(
	    tc_channel_bind(&c, 0x4001, &pa.addr), STUN_ERR_BAD_REQUEST);
	channel_roundtrip(&c, &pa, &relayed[0], 0x4000, "0x4000 after");

	for (size_t i = 0; i < sizeof(bad_numbers) / sizeof(bad_numbers[0]);
	     i++) {
		int code = tc_channel_bind(&c, bad_numbers[i].chan, &pc.addr);

		CHECK_MSG(code == STUN_ERR_BAD_REQUEST,
		    "channel %s: %d, want 400", bad_numbers[i].name, code);
	}

	tcm_init(&m, STUN_METHOD_CHANNEL_BIND);
	tcm_xaddr(&m, STUN_ATTR_XOR_PEER_ADDRESS, &pc.addr);
	CHECK_EQ_INT(tc_call(&c, &m, &r), STUN_ERR_BAD_REQUEST);
	tcm_init(&m, STUN_METHOD_CHANNEL_BIND);
	tcm_u16pad(&m, STUN_ATTR_CHANNEL_NUMBER, 0x4002);
	CHECK_EQ_INT(tc_call(&c, &m, &r), STUN_ERR_BAD_REQUEST);

	tc_addr_parse(&peer, "::1", 5000);
	CHECK_EQ_INT(
	    tc_channel_bind(&c, 0x4002, &peer), STUN_ERR_PEER_ADDRESS_FAMILY);
	tc_addr_parse(&peer, "10.0.0.1", 5000);
	CHECK_EQ_INT(tc_channel_bind(&c, 0x4002, &peer), STUN_ERR_FORBIDDEN);
	tc_addr_parse(&peer, "169.254.169.254", 80);
	CHECK_EQ_INT(tc_channel_bind(&c, 0x4002, &peer), STUN_ERR_FORBIDDEN);
	/* 127.0.0.1 is allowed, but not the server's own listener on it */
	tc_addr_parse(&peer, "127.0.0.1", p->port);
	CHECK_EQ_INT(tc_channel_bind(&c, 0x4002, &peer), STUN_ERR_FORBIDDEN);

	/* ChannelBind installs the permission it needs */
	CHECK_EQ_INT(tc_channel_bind(&c, 0x4002, &pc.addr), 0);
	channel_roundtrip(&c, &pc, &relayed[0], 0x4002, "0x4002");
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);

	/* the same on an IPv6 allocation */
	CHECK_EQ_INT(allocate(p, &c6, STUN_AF_IPV6, relayed6), 0);
	tc_addr_parse(&peer, "::1", p->port);
	CHECK_EQ_INT(tc_channel_bind(&c6, 0x4000, &peer), STUN_ERR_FORBIDDEN);
	CHECK_EQ_INT(tc_channel_bind(&c6, 0x4000, &pa.addr),
	    STUN_ERR_PEER_ADDRESS_FAMILY);
	tc_addr_parse(&peer, "::ffff:10.0.0.1", 5000);
	CHECK_EQ_INT(tc_channel_bind(&c6, 0x4000, &peer), STUN_ERR_FORBIDDEN);
	tc_addr_parse(&peer, "::1", 5000);
	CHECK_EQ_INT(tc_channel_bind(&c6, 0x4000, &peer), 0);
	CHECK_EQ_INT(tc_refresh(&c6, 0), 0);

	tpeer_close(&pa);
	tpeer_close(&pb);
	tpeer_close(&pc);
	tc_close(&c);
	tc_close(&c6);
}

/* No peers.allow: loopback is as denied as anything private. */
static void
test_no_allow(void)
{
	struct tproc p;
	struct tc c, c6;
	struct tpeer peer;
	union tc_addr relayed[2], relayed6[2], v6peer;

	if (tproc_start(&p, TPROC_NO_PEER_ALLOW, NULL) != 0) {
		CHECK(0);
		return;
	}
	CHECK(tpeer_open(&peer, "127.0.0.1") == 0);
	CHECK_EQ_INT(allocate(&p, &c, 0, relayed), 0);
	CHECK_EQ_INT(tc_permission(&c, &peer.addr), STUN_ERR_FORBIDDEN);
	CHECK_EQ_INT(
	    tc_channel_bind(&c, 0x4000, &peer.addr), STUN_ERR_FORBIDDEN);
	CHECK_MSG(!heard(&c, &peer, &relayed[0], "denied"),
	    "a denied peer was heard");
	CHECK_EQ_INT(allocate(&p, &c6, STUN_AF_IPV6, relayed6), 0);
	tc_addr_parse(&v6peer, "::1", 5000);
	CHECK_EQ_INT(tc_permission(&c6, &v6peer), STUN_ERR_FORBIDDEN);
	CHECK_EQ_INT(tc_channel_bind(&c6, 0x4000, &v6peer), STUN_ERR_FORBIDDEN);
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	CHECK_EQ_INT(tc_refresh(&c6, 0), 0);
	tc_close(&c);
	tc_close(&c6);
	tpeer_close(&peer);
	CHECK_EQ_INT(tproc_finish(&p, check_state()->failed != 0), 0);
}

/*
 * peers.allow = [ "127.0.0.1/32" ] only.  That allows the IPv4 address
 * 127.0.0.1; it allows no IPv6 address.  Its IPv4-mapped, IPv4-compatible
 * NAT64 and 6to4 forms are IPv6 addresses that no allow entry names.
 * RFC 6890 marks ::ffff:0:0/96 neither forwardable nor global; RFC 6052
 * section 3.1 forbids the NAT64 prefix with a non-global IPv4 address and
 * has translators drop such packets; 6to4 needs a global IPv4 address
 * (RFC 3056).  None of them reaches this host's 127.0.0.1: 403.
 */
static void
test_v4_allow_only(void)
{
	static const char *const denied6[] = {"::1", "::ffff:127.0.0.1",
	    "::7f00:1", "64:ff9b::7f00:1", "2002:7f00:1::1"};
	struct tproc p;
	struct tc c;
	union tc_addr relayed[2], peer;

	if (tproc_start(&p, 0, "peers = { allow = [ \"127.0.0.1/32\" ]; };") !=
	    0) {
		CHECK(0);
		return;
	}
	CHECK_EQ_INT(allocate(&p, &c, -1, relayed), 0);
	CHECK(tc_addr_ip_is(&relayed[0], "127.0.0.1"));
	CHECK(tc_addr_ip_is(&relayed[1], "::1"));
	tc_addr_parse(&peer, "127.0.0.1", 5000);
	CHECK_EQ_INT(tc_permission(&c, &peer), 0);
	expect_peers(&c, denied6, sizeof(denied6) / sizeof(denied6[0]),
	    STUN_ERR_FORBIDDEN, "allow 127.0.0.1/32 only");
	tc_addr_parse(&peer, "::ffff:127.0.0.1", 5000);
	CHECK_EQ_INT(tc_channel_bind(&c, 0x4000, &peer), STUN_ERR_FORBIDDEN);
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tc_close(&c);
	CHECK_EQ_INT(tproc_finish(&p, check_state()->failed != 0), 0);
}

/* relay.legacy_channel_numbers = true: RFC 5766's 0x4000-0x7FFF. */
static void
test_legacy_channels(void)
{
	struct tproc p;
	struct tc c;
	struct tpeer pa, pb, pc;
	union tc_addr relayed[2];
	char extra[256];
	uint16_t lo = tproc_relay_window(100);

	CHECK(lo != 0);
	snprintf(extra, sizeof(extra),
	    "relay = { addresses = [ "
	    "\"127.0.0.1\", \"::1\" ]; port_min = %u; port_max = %u; "
	    "legacy_channel_numbers = true; };",
	    lo, lo + 99);
	if (tproc_start(&p, 0, extra) != 0) {
		CHECK(0);
		return;
	}
	CHECK_EQ_INT(allocate(&p, &c, 0, relayed), 0);
	CHECK(tpeer_open(&pa, "127.0.0.1") == 0);
	CHECK(tpeer_open(&pb, "127.0.0.1") == 0);
	CHECK(tpeer_open(&pc, "127.0.0.1") == 0);
	CHECK_EQ_INT(tc_channel_bind(&c, 0x5000, &pa.addr), 0);
	channel_roundtrip(&c, &pa, &relayed[0], 0x5000, "legacy 0x5000");
	CHECK_EQ_INT(tc_channel_bind(&c, 0x7fff, &pb.addr), 0);
	channel_roundtrip(&c, &pb, &relayed[0], 0x7fff, "legacy 0x7fff");
	CHECK_EQ_INT(tc_channel_bind(&c, 0x4000, &pc.addr), 0);
	CHECK_EQ_INT(
	    tc_channel_bind(&c, 0x8000, &pc.addr), STUN_ERR_BAD_REQUEST);
	CHECK_EQ_INT(
	    tc_channel_bind(&c, 0x3fff, &pc.addr), STUN_ERR_BAD_REQUEST);
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tpeer_close(&pa);
	tpeer_close(&pb);
	tpeer_close(&pc);
	tc_close(&c);
	CHECK_EQ_INT(tproc_finish(&p, check_state()->failed != 0), 0);
}

int
main(void)
{
	struct tproc p;

	if (tproc_start(&p, 0,
	        "peers = { allow = [ \"127.0.0.1/32\", "
	        "\"127.0.0.2/32\", \"::1/128\" ]; };") != 0) {
		CHECK(0);
		return CHECK_DONE();
	}
	test_create_permission(&p);
	test_channel_bind(&p);
	CHECK_EQ_INT(tproc_finish(&p, check_state()->failed != 0), 0);
	test_no_allow();
	test_v4_allow_only();
	test_legacy_channels();
	return CHECK_DONE();
}
