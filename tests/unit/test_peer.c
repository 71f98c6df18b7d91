/*
 * The peer policy: every special-purpose range denied by default at its
 * first and last address, in every IPv6 form that embeds an IPv4 address;
 * allow and deny lists and their precedence; the server's own addresses
 * and listening ports; 0.0.0.0 and :: never allowed.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "peer.h"

static struct peer_policy *
policy(const char *const *allow, size_t n_allow, const char *const *deny,
    size_t n_deny, const union taddr *own, size_t n_own)
{
	static struct cidr a[16], d[16];
	struct turnd_conf c;

	memset(&c, 0, sizeof(c));
	for (size_t i = 0; i < n_allow; i++)
		CHECK(cidr_parse(&a[i], allow[i]) == 0);
	for (size_t i = 0; i < n_deny; i++)
		CHECK(cidr_parse(&d[i], deny[i]) == 0);
	c.peers.allow = a;
	c.peers.n_allow = n_allow;
	c.peers.deny = d;
	c.peers.n_deny = n_deny;
	return peer_policy_new(&c, own, n_own);
}

static int
verdict(const struct peer_policy *p, const char *addr, int check_port)
{
	union taddr a;

	if (taddr_parse(&a, addr, 9) != 0) {
		CHECK_MSG(0, "unparsable test address %s", addr);
		return -1;
	}
	return peer_check(p, &a, check_port);
}

static const struct {
	const char *addr;
	int want;
} defaults[] = {
	{ "0.0.0.0", PEER_DENY_DEFAULT },
	{ "0.255.255.255", PEER_DENY_DEFAULT },
	{ "10.0.0.0", PEER_DENY_DEFAULT },
	{ "10.255.255.255", PEER_DENY_DEFAULT },
	{ "100.64.0.0", PEER_DENY_DEFAULT },
	{ "100.127.255.255", PEER_DENY_DEFAULT },
	{ "100.128.0.0", PEER_OK },
	{ "127.0.0.0", PEER_DENY_DEFAULT },
	{ "127.0.0.1", PEER_DENY_DEFAULT },
	{ "127.255.255.255", PEER_DENY_DEFAULT },
	{ "169.254.0.0", PEER_DENY_DEFAULT },
	{ "169.254.169.254", PEER_DENY_DEFAULT },
	{ "169.254.255.255", PEER_DENY_DEFAULT },
	{ "172.15.255.255", PEER_OK },
	{ "172.16.0.0", PEER_DENY_DEFAULT },
	{ "172.31.255.255", PEER_DENY_DEFAULT },
	{ "172.32.0.0", PEER_OK },
	{ "192.0.0.0", PEER_DENY_DEFAULT },
	{ "192.0.0.255", PEER_DENY_DEFAULT },
	{ "192.168.0.0", PEER_DENY_DEFAULT },
	{ "192.168.255.255", PEER_DENY_DEFAULT },
	{ "198.18.0.0", PEER_DENY_DEFAULT },
	{ "198.19.255.255", PEER_DENY_DEFAULT },
	{ "198.20.0.0", PEER_OK },
	{ "224.0.0.0", PEER_DENY_DEFAULT },
	{ "239.255.255.255", PEER_DENY_DEFAULT },
	{ "240.0.0.0", PEER_DENY_DEFAULT },
	{ "255.255.255.255", PEER_DENY_DEFAULT },
	{ "8.8.8.8", PEER_OK },
	{ "1.1.1.1", PEER_OK },
	{ "::", PEER_DENY_DEFAULT },
	{ "::1", PEER_DENY_DEFAULT },
	{ "fc00::", PEER_DENY_DEFAULT },
	{ "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", PEER_DENY_DEFAULT },
	{ "fe80::1", PEER_DENY_DEFAULT },
	{ "febf:ffff::1", PEER_DENY_DEFAULT },
	{ "ff02::1", PEER_DENY_DEFAULT },
	{ "2001:4860:4860::8888", PEER_OK },
	/* mapped and compatible forms: never on the wire, always refused */
	{ "::ffff:127.0.0.1", PEER_DENY_DEFAULT },
	{ "::ffff:0.0.0.0", PEER_DENY_DEFAULT },
	{ "::ffff:10.1.2.3", PEER_DENY_DEFAULT },
	{ "::ffff:169.254.169.254", PEER_DENY_DEFAULT },
	{ "::ffff:8.8.8.8", PEER_DENY_DEFAULT },
	{ "::127.0.0.1", PEER_DENY_DEFAULT },
	{ "::10.0.0.1", PEER_DENY_DEFAULT },
	{ "::8.8.8.8", PEER_DENY_DEFAULT },
	/* NAT64 and 6to4: judged as the IPv4 address they reach */
	{ "64:ff9b::127.0.0.1", PEER_DENY_DEFAULT },
	{ "64:ff9b::a9fe:a9fe", PEER_DENY_DEFAULT },
	{ "64:ff9b::8.8.8.8", PEER_OK },
	{ "64:ff9b:1:7f00:0:100::", PEER_DENY_DEFAULT },
	{ "2002:7f00:1::", PEER_DENY_DEFAULT },
	{ "2002:a00:1::", PEER_DENY_DEFAULT },
	{ "2002:808:808::", PEER_OK },
};

static void
test_defaults(void)
{
	struct peer_policy *p = policy(NULL, 0, NULL, 0, NULL, 0);

	CHECK(p != NULL);
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		CHECK_MSG(verdict(p, defaults[i].addr, 1) == defaults[i].want,
		    "%s: got %d want %d", defaults[i].addr,
		    verdict(p, defaults[i].addr, 1), defaults[i].want);
	peer_policy_free(p);
}

static void
test_allow_deny(void)
{
	static const char *const allow[] = { "127.0.0.1/32", "10.0.0.0/8",
		"0.0.0.0/0", "::/0" };
	static const char *const deny[] = { "10.9.0.0/16", "8.8.8.8" };
	struct peer_policy *p = policy(allow, 4, deny, 2, NULL, 0);

	/* allowed explicitly */
	CHECK_EQ_INT(verdict(p, "127.0.0.1", 1), PEER_OK);
	CHECK_EQ_INT(verdict(p, "10.1.2.3", 1), PEER_OK);
	/* the deny list wins over the allow list */
	CHECK_EQ_INT(verdict(p, "10.9.1.1", 1), PEER_DENY_CONFIG);
	CHECK_EQ_INT(verdict(p, "8.8.8.8", 1), PEER_DENY_CONFIG);
	/* and over an allowed IPv6 form carrying the address */
	CHECK_EQ_INT(verdict(p, "64:ff9b::8.8.8.8", 1), PEER_DENY_CONFIG);
	CHECK_EQ_INT(verdict(p, "2002:808:808::1", 1), PEER_DENY_CONFIG);
	/* mapped forms stay refused even under ::/0 */
	CHECK_EQ_INT(verdict(p, "::ffff:1.2.3.4", 1), PEER_DENY_DEFAULT);
	/* 0.0.0.0 reaches the host itself: never, whatever allows it */
	CHECK_EQ_INT(verdict(p, "0.0.0.0", 1), PEER_DENY_DEFAULT);
	CHECK_EQ_INT(verdict(p, "0.1.2.3", 1), PEER_DENY_DEFAULT);
	CHECK_EQ_INT(verdict(p, "::", 1), PEER_DENY_DEFAULT);
	CHECK_EQ_INT(verdict(p, "::ffff:0.0.0.0", 1), PEER_DENY_DEFAULT);
	peer_policy_free(p);

	/* allowing 127.0.0.1 does not allow the rest of 127/8 */
	p = policy(allow, 1, NULL, 0, NULL, 0);
	CHECK_EQ_INT(verdict(p, "127.0.0.1", 1), PEER_OK);
	CHECK_EQ_INT(verdict(p, "127.0.0.2", 1), PEER_DENY_DEFAULT);
	/* nor the IPv6 forms that reach it (RFC 6052 3.1: NAT64 must not
	 * carry non-global addresses) */
	CHECK_EQ_INT(verdict(p, "64:ff9b::7f00:1", 1), PEER_DENY_DEFAULT);
	CHECK_EQ_INT(verdict(p, "2002:7f00:1::1", 1), PEER_DENY_DEFAULT);
	/* nor its IPv6 forms */
	CHECK_EQ_INT(verdict(p, "::ffff:127.0.0.1", 1), PEER_DENY_DEFAULT);
	CHECK_EQ_INT(verdict(p, "::127.0.0.1", 1), PEER_DENY_DEFAULT);
	peer_policy_free(p);

	/* ::1 is loopback, not an IPv4-compatible address: allowable */
	{
		static const char *const v6lo[] = { "::1/128" };

		p = policy(v6lo, 1, NULL, 0, NULL, 0);
		CHECK_EQ_INT(verdict(p, "::1", 1), PEER_OK);
		CHECK_EQ_INT(verdict(p, "::2", 1), PEER_DENY_DEFAULT);
		peer_policy_free(p);
	}
}

static void
test_own(void)
{
	static const char *const allow[] = { "203.0.113.0/24", "127.0.0.1" };
	union taddr own[3];
	struct peer_policy *p;

	CHECK(taddr_parse(&own[0], "203.0.113.7", 3478) == 0);
	CHECK(taddr_parse(&own[1], "198.51.100.1", 0) == 0);
	CHECK(taddr_parse(&own[2], "127.0.0.1", 3478) == 0);
	p = policy(allow, 2, NULL, 0, own, 3);
	/* an own address allowed by the config is a peer... */
	CHECK_EQ_INT(verdict(p, "203.0.113.7", 1), PEER_OK);
	/* ...except at a listening port */
	CHECK_EQ_INT(verdict(p, "203.0.113.7:3478", 1), PEER_DENY_LISTENER);
	CHECK_EQ_INT(verdict(p, "127.0.0.1:3478", 1), PEER_DENY_LISTENER);
	CHECK_EQ_INT(verdict(p, "127.0.0.1:3479", 1), PEER_OK);
	/* CreatePermission has no port to judge */
	CHECK_EQ_INT(verdict(p, "127.0.0.1:3478", 0), PEER_OK);
	/* an own address not allowed is refused as ours */
	CHECK_EQ_INT(verdict(p, "198.51.100.1", 1), PEER_DENY_SELF);
	peer_policy_free(p);
}

int
main(void)
{
	test_defaults();
	test_allow_deny();
	test_own();
	return CHECK_DONE();
}
