/*
 * Transport addresses inside turnd: a union of the IPv4 and IPv6 socket
 * addresses (28 bytes, unlike sockaddr_storage's 128), conversion to and
 * from the codec's struct stun_addr, text forms for logs and config, CIDR
 * prefixes, and the hash used by the allocation table.
 */
#ifndef TURND_ADDR_H
#define TURND_ADDR_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "stun.h"

union taddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/* Longest text form: "[" IPv6 "]:" port. */
#define TADDR_STRLEN (INET6_ADDRSTRLEN + 8)

struct cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t prefix;
	uint8_t ip[16]; /* host bits cleared */
};

socklen_t taddr_len(const union taddr *a);
void taddr_set_port(union taddr *a, uint16_t port);
/* True when the address (not the port) is the wildcard. */
int taddr_is_any(const union taddr *a);

/* Inline: the relay path compares addresses for every datagram. */
static inline int
taddr_family(const union taddr *a)
{
	return a->sa.sa_family;
}

static inline uint16_t
taddr_port(const union taddr *a)
{
	if (a->sa.sa_family == AF_INET6)
		return ntohs(a->in6.sin6_port);
	if (a->sa.sa_family == AF_INET)
		return ntohs(a->in.sin_port);
	return 0;
}

/* Address equal, port ignored. */
static inline int
taddr_eq_ip(const union taddr *a, const union taddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return 0;
	if (a->sa.sa_family == AF_INET6)
		return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	return 0;
}

/* Address and port equal. */
static inline int
taddr_eq(const union taddr *a, const union taddr *b)
{
	return taddr_eq_ip(a, b) && taddr_port(a) == taddr_port(b);
}
/* Hash of address and port, for tables; seed from the table. */
uint32_t taddr_hash(const union taddr *a, uint32_t seed);
/* Hash of the address alone. */
uint32_t taddr_hash_ip(const union taddr *a, uint32_t seed);

void taddr_from_stun(union taddr *a, const struct stun_addr *s);
void taddr_to_stun(struct stun_addr *s, const union taddr *a);

/*
 * Parses "1.2.3.4", "::1", "[::1]:3478", "1.2.3.4:3478" into a; a port in
 * the text overrides default_port.  Returns 0 or -1.
 */
int taddr_parse(union taddr *a, const char *s, uint16_t default_port);
/* Writes "1.2.3.4:5" or "[::1]:5" into buf (TADDR_STRLEN); returns buf. */
const char *taddr_str(const union taddr *a, char *buf, size_t len);
/* Writes the address only, without port. */
const char *taddr_ipstr(const union taddr *a, char *buf, size_t len);

/* Parses "10.0.0.0/8", "fe80::/10" or a bare address (full prefix). */
int cidr_parse(struct cidr *c, const char *s);
/* True when the address of a lies in c (same family only). */
int cidr_match(const struct cidr *c, const union taddr *a);
int cidr_match_raw(const struct cidr *c, int family, const uint8_t *ip);

#endif
