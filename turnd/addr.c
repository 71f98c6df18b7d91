/*
 * Transport address helpers: conversions between socket addresses and the
 * codec's struct stun_addr, parsing and printing, CIDR prefixes and the
 * table hash.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

socklen_t
taddr_len(const union taddr *a)
{
	if (a->sa.sa_family == AF_INET6)
		return sizeof(a->in6);
	if (a->sa.sa_family == AF_INET)
		return sizeof(a->in);
	return 0;
}

void
taddr_set_port(union taddr *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons(port);
	else if (a->sa.sa_family == AF_INET)
		a->in.sin_port = htons(port);
}

int
taddr_is_any(const union taddr *a)
{
	if (a->sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&a->in6.sin6_addr);
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == htonl(INADDR_ANY);
	return 1;
}

/* Murmur3's finaliser over 32-bit words: cheap and well mixed. */
static uint32_t
mix32(uint32_t h, uint32_t k)
{
	k *= 0xcc9e2d51U;
	k = (k << 15) | (k >> 17);
	k *= 0x1b873593U;
	h ^= k;
	h = (h << 13) | (h >> 19);
	return h * 5 + 0xe6546b64U;
}

uint32_t
taddr_hash(const union taddr *a, uint32_t seed)
{
	uint32_t h = seed, w;

	if (a->sa.sa_family == AF_INET6) {
		for (int i = 0; i < 4; i++) {
			memcpy(&w, (const uint8_t *)&a->in6.sin6_addr + 4 * i,
			    4);
			h = mix32(h, w);
		}
		h = mix32(h, a->in6.sin6_port);
	} else {
		h = mix32(h, a->in.sin_addr.s_addr);
		h = mix32(h, a->in.sin_port);
	}
	h ^= h >> 16;
	h *= 0x85ebca6bU;
	h ^= h >> 13;
	h *= 0xc2b2ae35U;
	h ^= h >> 16;
	return h;
}

uint32_t
taddr_hash_ip(const union taddr *a, uint32_t seed)
{
	union taddr ip = *a;

	taddr_set_port(&ip, 0);
	return taddr_hash(&ip, seed);
}

void
taddr_from_stun(union taddr *a, const struct stun_addr *s)
{
	memset(a, 0, sizeof(*a));
	if (s->family == STUN_AF_IPV6) {
		a->in6.sin6_family = AF_INET6;
		memcpy(&a->in6.sin6_addr, s->ip, 16);
		a->in6.sin6_port = htons(s->port);
	} else {
		a->in.sin_family = AF_INET;
		memcpy(&a->in.sin_addr, s->ip, 4);
		a->in.sin_port = htons(s->port);
	}
}

void
taddr_to_stun(struct stun_addr *s, const union taddr *a)
{
	memset(s, 0, sizeof(*s));
	if (a->sa.sa_family == AF_INET6) {
		s->family = STUN_AF_IPV6;
		memcpy(s->ip, &a->in6.sin6_addr, 16);
	} else {
		s->family = STUN_AF_IPV4;
		memcpy(s->ip, &a->in.sin_addr, 4);
	}
	s->port = taddr_port(a);
}

int
taddr_parse(union taddr *a, const char *s, uint16_t default_port)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *end;
	size_t n;

	memset(a, 0, sizeof(*a));
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL)
			return -1;
		n = (size_t)(end - s - 1);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
		s++;
	} else {
		end = strchr(s, ':');
		if (end != NULL && strchr(end + 1, ':') == NULL) {
			/* exactly one colon: IPv4 with a port */
			n = (size_t)(end - s);
			port = end + 1;
		} else
			n = strlen(s);
	}
	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (port != NULL) {
		char *ep;
		unsigned long p = strtoul(port, &ep, 10);

		if (*port == '\0' || *ep != '\0' || p > 65535)
			return -1;
		default_port = (uint16_t)p;
	}
	if (inet_pton(AF_INET, host, &a->in.sin_addr) == 1) {
		a->in.sin_family = AF_INET;
		a->in.sin_port = htons(default_port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons(default_port);
		return 0;
	}
	return -1;
}

const char *
taddr_ipstr(const union taddr *a, char *buf, size_t len)
{
	const void *src = a->sa.sa_family == AF_INET6 ?
	    (const void *)&a->in6.sin6_addr : (const void *)&a->in.sin_addr;

	if ((a->sa.sa_family != AF_INET && a->sa.sa_family != AF_INET6) ||
	    inet_ntop(a->sa.sa_family, src, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

const char *
taddr_str(const union taddr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	taddr_ipstr(a, ip, sizeof(ip));
	if (a->sa.sa_family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, taddr_port(a));
	else
		snprintf(buf, len, "%s:%u", ip, taddr_port(a));
	return buf;
}

int
cidr_parse(struct cidr *c, const char *s)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned long prefix;
	int max;

	memset(c, 0, sizeof(*c));
	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, c->ip) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, c->ip) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else
		return -1;
	prefix = (unsigned long)max;
	if (slash != NULL) {
		char *ep;

		if (slash[1] == '\0')
			return -1;
		prefix = strtoul(slash + 1, &ep, 10);
		if (*ep != '\0' || prefix > (unsigned long)max)
			return -1;
	}
	c->prefix = (uint8_t)prefix;
	/* clear host bits so that matching compares whole bytes */
	for (int bit = (int)prefix; bit < max; bit++)
		c->ip[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	return 0;
}

int
cidr_match_raw(const struct cidr *c, int family, const uint8_t *ip)
{
	unsigned int full = c->prefix / 8u, rest = c->prefix % 8u;

	if (family != c->family)
		return 0;
	if (memcmp(c->ip, ip, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((ip[full] ^ c->ip[full]) & (uint8_t)(0xff00 >> rest)) == 0;
}

int
cidr_match(const struct cidr *c, const union taddr *a)
{
	if (a->sa.sa_family == AF_INET6)
		return cidr_match_raw(c, AF_INET6,
		    (const uint8_t *)&a->in6.sin6_addr);
	if (a->sa.sa_family == AF_INET)
		return cidr_match_raw(c, AF_INET,
		    (const uint8_t *)&a->in.sin_addr);
	return 0;
}
