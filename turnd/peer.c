/*
 * The peer policy (RFC 8656 section 21, "Security Considerations"; the
 * special-purpose registries of RFC 6890).  Denied unless explicitly
 * allowed: "this network", loopback, private, CGNAT, link-local (cloud
 * metadata), IETF protocol assignments, benchmarking, multicast, reserved
 * and broadcast IPv4 space; the unspecified and loopback IPv6 addresses,
 * unique-local, link-local, multicast; and every IPv6 form that embeds an
 * IPv4 address is judged as that IPv4 address.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "peer.h"

static const char *const default_deny[] = {
	"0.0.0.0/8",	   /* "this network" */
	"10.0.0.0/8",	   /* private */
	"100.64.0.0/10",   /* shared address space (CGNAT) */
	"127.0.0.0/8",	   /* loopback */
	"169.254.0.0/16",  /* link-local, cloud metadata */
	"172.16.0.0/12",   /* private */
	"192.0.0.0/24",	   /* IETF protocol assignments */
	"192.0.2.0/24",	   /* documentation */
	"192.168.0.0/16",  /* private */
	"198.18.0.0/15",   /* benchmarking */
	"198.51.100.0/24", /* documentation */
	"203.0.113.0/24",  /* documentation */
	"224.0.0.0/4",	   /* multicast */
	"240.0.0.0/4",	   /* reserved, and 255.255.255.255 */
	"::/128",	   /* unspecified */
	"::1/128",	   /* loopback */
	"fc00::/7",	   /* unique local */
	"fe80::/10",	   /* link-local */
	"fec0::/10",	   /* site-local, deprecated */
	"ff00::/8",	   /* multicast */
	"2001:db8::/32",   /* documentation */
	"100::/64",	   /* discard-only */
};

#define N_DEFAULT_DENY (sizeof(default_deny) / sizeof(default_deny[0]))

struct peer_policy {
	struct cidr defaults[N_DEFAULT_DENY];
	struct cidr never[4]; /* never a peer, whatever allows it */
	struct cidr *allow;
	size_t n_allow;
	struct cidr *deny;
	size_t n_deny;
	union taddr *own;
	size_t n_own;
};



static int policy_match(const struct cidr *, size_t, int, const uint8_t *);

/* ::1 lies in the IPv4-compatible ::/96 but is judged as itself. */
static int
is_loopback6(const uint8_t ip[16])
{
	static const uint8_t one[16] = { [15] = 1 };

	return memcmp(ip, one, 16) == 0;
}
static int embedded_v4(const uint8_t ip6[16], uint8_t v4[4]);

struct peer_policy *
peer_policy_new(const struct turnd_conf *c, const union taddr *own,
    size_t n_own)
{
	struct peer_policy *p;

	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	for (size_t i = 0; i < N_DEFAULT_DENY; i++)
		if (cidr_parse(&p->defaults[i], default_deny[i]) != 0)
			abort(); /* the table is constant */
	/*
	 * Never a peer, whatever the lists say: 0.0.0.0 reaches the host
	 * itself on Linux (coturn's CVE-2020-26262), and IPv4-mapped and
	 * IPv4-compatible IPv6 addresses never appear on the wire (RFC 4291
	 * section 2.5.5): a peer given so is someone dodging the IPv4 rules.
	 */
	if (cidr_parse(&p->never[0], "0.0.0.0/8") != 0 ||
	    cidr_parse(&p->never[1], "::/128") != 0 ||
	    cidr_parse(&p->never[2], "::ffff:0:0/96") != 0 ||
	    cidr_parse(&p->never[3], "::/96") != 0)
		abort();
	if (c->peers.n_allow > 0) {
		p->allow = calloc(c->peers.n_allow, sizeof(*p->allow));
		if (p->allow == NULL)
			goto fail;
		memcpy(p->allow, c->peers.allow,
		    c->peers.n_allow * sizeof(*p->allow));
		p->n_allow = c->peers.n_allow;
	}
	if (c->peers.n_deny > 0) {
		p->deny = calloc(c->peers.n_deny, sizeof(*p->deny));
		if (p->deny == NULL)
			goto fail;
		memcpy(p->deny, c->peers.deny,
		    c->peers.n_deny * sizeof(*p->deny));
		p->n_deny = c->peers.n_deny;
	}
	if (n_own > 0) {
		p->own = calloc(n_own, sizeof(*p->own));
		if (p->own == NULL)
			goto fail;
		memcpy(p->own, own, n_own * sizeof(*own));
		p->n_own = n_own;
	}
	return p;
fail:
	peer_policy_free(p);
	return NULL;
}

void
peer_policy_free(struct peer_policy *p)
{
	if (p == NULL)
		return;
	free(p->allow);
	free(p->deny);
	free(p->own);
	free(p);
}

static int
policy_match(const struct cidr *list, size_t n, int family, const uint8_t *ip)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_match_raw(&list[i], family, ip))
			return 1;
	return 0;
}

/*
 * Finds an IPv4 address carried inside an IPv6 one that can reach it:
 * NAT64 (64:ff9b::/96, and the local-use 64:ff9b:1::/48 of RFC 8215 in
 * RFC 6052's /48 layout) and 6to4 (2002::/16).  The mapped and compatible
 * forms are refused outright (see peer_policy_new).  Returns 1 and fills
 * v4 when found.
 */
static int
embedded_v4(const uint8_t ip6[16], uint8_t v4[4])
{
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };
	static const uint8_t nat64_local[6] = { 0, 0x64, 0xff, 0x9b, 0, 1 };

	if (memcmp(ip6, nat64, 12) == 0) {
		memcpy(v4, ip6 + 12, 4);
		return 1;
	}
	if (memcmp(ip6, nat64_local, 6) == 0) {
		/* bits 64-71 (byte 8) are the reserved "u" octet */
		v4[0] = ip6[6];
		v4[1] = ip6[7];
		v4[2] = ip6[9];
		v4[3] = ip6[10];
		return 1;
	}
	if (ip6[0] == 0x20 && ip6[1] == 0x02) {
		memcpy(v4, ip6 + 2, 4);
		return 1;
	}
	return 0;
}

static int
own_match(const struct peer_policy *p, int family, const uint8_t *ip,
    uint16_t port, int check_port, int *listener)
{
	int found = 0;

	*listener = 0;
	for (size_t i = 0; i < p->n_own; i++) {
		const union taddr *o = &p->own[i];
		const uint8_t *oip;

		if (o->sa.sa_family != family)
			continue;
		oip = family == AF_INET ? (const uint8_t *)&o->in.sin_addr :
		    (const uint8_t *)&o->in6.sin6_addr;
		if (memcmp(oip, ip, family == AF_INET ? 4 : 16) != 0)
			continue;
		found = 1;
		if (check_port && taddr_port(o) != 0 && taddr_port(o) == port)
			*listener = 1;
	}
	return found;
}

/*
 * The verdict for one (family, address) form of the peer.  Without
 * use_allow the allow list is not consulted: an IPv4 address reached
 * through NAT64 or 6to4 is not what an IPv4 allow entry names.
 */
static int
judge(const struct peer_policy *p, int family, const uint8_t *ip,
    uint16_t port, int check_port, int use_allow)
{
	int listener, own;

	if (policy_match(p->never, 4, family, ip) &&
	    !(family == AF_INET6 && is_loopback6(ip)))
		return PEER_DENY_DEFAULT;
	own = own_match(p, family, ip, port, check_port, &listener);
	if (listener)
		return PEER_DENY_LISTENER;
	if (policy_match(p->deny, p->n_deny, family, ip))
		return PEER_DENY_CONFIG;
	if (use_allow && policy_match(p->allow, p->n_allow, family, ip))
		return PEER_OK;
	if (own)
		return PEER_DENY_SELF;
	if (policy_match(p->defaults, N_DEFAULT_DENY, family, ip))
		return PEER_DENY_DEFAULT;
	return PEER_OK;
}

int
peer_check(const struct peer_policy *p, const union taddr *peer,
    int check_port)
{
	uint16_t port = taddr_port(peer);
	uint8_t v4[4];
	int r;

	const uint8_t *ip6;

	if (peer->sa.sa_family == AF_INET)
		return judge(p, AF_INET, (const uint8_t *)&peer->in.sin_addr,
		    port, check_port, 1);
	if (peer->sa.sa_family != AF_INET6)
		return PEER_DENY_FAMILY;
	ip6 = (const uint8_t *)&peer->in6.sin6_addr;
	r = judge(p, AF_INET6, ip6, port, check_port, 1);
	if (r != PEER_OK)
		return r;
	/*
	 * An IPv6 form that reaches an IPv4 address must not smuggle a
	 * denied one: the configured deny list applies to the IPv4 address
	 * always, and unless the IPv6 address itself is allowed, so do the
	 * built-in rules (an IPv4 allow entry does not name it).
	 */
	if (!embedded_v4(ip6, v4))
		return PEER_OK;
	if (policy_match(p->deny, p->n_deny, AF_INET, v4))
		return PEER_DENY_CONFIG;
	if (policy_match(p->allow, p->n_allow, AF_INET6, ip6))
		return PEER_OK;
	return judge(p, AF_INET, v4, port, check_port, 0);
}

int
peer_is_own(const struct peer_policy *p, const union taddr *a)
{
	for (size_t i = 0; i < p->n_own; i++)
		if (taddr_eq_ip(&p->own[i], a))
			return 1;
	return 0;
}

const char *
peer_reason(int reason)
{
	switch (reason) {
	case PEER_OK:
		return "allowed";
	case PEER_DENY_CONFIG:
		return "denied_by_config";
	case PEER_DENY_DEFAULT:
		return "special_purpose_range";
	case PEER_DENY_SELF:
		return "server_address";
	case PEER_DENY_LISTENER:
		return "server_listener";
	case PEER_DENY_RELAY:
		return "server_relay";
	default:
		return "bad_family";
	}
}
