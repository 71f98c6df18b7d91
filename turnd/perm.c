/*
 * Permissions (RFC 8656 section 9): per allocation, the peer IP addresses
 * (no ports) that may exchange data with the relay, each for 300 seconds
 * from its last install or refresh.  A small array scanned linearly: a
 * WebRTC allocation has a handful, and the cap comes from the config.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "worker.h"

static const uint8_t *
peer_ip(const union taddr *peer, size_t *len)
{
	if (peer->sa.sa_family == AF_INET6) {
		*len = 16;
		return (const uint8_t *)&peer->in6.sin6_addr;
	}
	*len = 4;
	return (const uint8_t *)&peer->in.sin_addr;
}

static struct turn_perm *
perm_find(const struct turn_alloc *a, const union taddr *peer)
{
	size_t len;
	const uint8_t *ip = peer_ip(peer, &len);

	for (uint16_t i = 0; i < a->n_perm; i++) {
		struct turn_perm *p = &a->perms[i];

		if (p->family == peer->sa.sa_family &&
		    memcmp(p->ip, ip, len) == 0)
			return p;
	}
	return NULL;
}

int
perm_install(struct turn_alloc *a, const union taddr *peer, uint32_t now,
    uint32_t max)
{
	struct turn_perm *p = perm_find(a, peer);
	size_t len;
	const uint8_t *ip;

	if (p == NULL) {
		if (a->n_perm >= max)
			return -1;
		if (a->n_perm == a->cap_perm) {
			uint16_t cap = a->cap_perm ? a->cap_perm * 2 : 4;
			struct turn_perm *np;

			if (cap > max)
				cap = (uint16_t)max;
			np = reallocarray(a->perms, cap, sizeof(*np));
			if (np == NULL)
				return -1;
			a->perms = np;
			a->cap_perm = cap;
		}
		p = &a->perms[a->n_perm++];
		if (a->w != NULL)
			GAUGE_ADD(&a->w->stats, PERMISSIONS, 1);
		memset(p, 0, sizeof(*p));
		ip = peer_ip(peer, &len);
		p->family = (uint8_t)peer->sa.sa_family;
		memcpy(p->ip, ip, len);
	}
	p->expires = now + PERM_LIFETIME_S;
	return 0;
}

int
perm_check(const struct turn_alloc *a, const union taddr *peer, uint32_t now)
{
	const struct turn_perm *p = perm_find(a, peer);

	return p != NULL && (int32_t)(p->expires - now) > 0;
}

void
perm_prune(struct turn_alloc *a, uint32_t now)
{
	uint16_t i = 0;

	while (i < a->n_perm) {
		if ((int32_t)(a->perms[i].expires - now) <= 0) {
			a->perms[i] = a->perms[--a->n_perm];
			if (a->w != NULL)
				GAUGE_ADD(&a->w->stats, PERMISSIONS, -1);
		} else
			i++;
	}
}
