/*
 * Retransmission cache: TXCACHE_SLOTS entries of up to TXCACHE_RESP_MAX
 * bytes, indexed by a keyed hash of the 5-tuple and transaction ID.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "txcache.h"

struct txent {
	const void *owner; /* listener or connection */
	union taddr client;
	uint8_t txid[STUN_TXID_LEN];
	uint32_t expires;
	uint16_t len; /* 0: empty */
	uint8_t resp[TXCACHE_RESP_MAX];
};

struct txcache {
	uint32_t seed;
	struct txent e[TXCACHE_SLOTS];
};

static const void *
ep_owner(const struct client_ep *ep)
{
	return ep->conn != NULL ? (const void *)ep->conn :
	    (const void *)ep->l;
}

static size_t
tx_slot(const struct txcache *c, const struct client_ep *ep,
    const uint8_t txid[STUN_TXID_LEN])
{
	uint32_t h = taddr_hash(&ep->addr, c->seed), w;

	for (int i = 0; i < STUN_TXID_LEN; i += 4) {
		memcpy(&w, txid + i, 4);
		h = (h ^ w) * 0x9e3779b1U;
		h ^= h >> 15;
	}
	h ^= (uint32_t)((uintptr_t)ep_owner(ep) >> 4) * 0x85ebca6bU;
	return (h ^ (h >> 16)) % TXCACHE_SLOTS;
}

struct txcache *
txcache_new(uint32_t seed)
{
	struct txcache *c = calloc(1, sizeof(*c));

	if (c != NULL)
		c->seed = seed;
	return c;
}

void
txcache_free(struct txcache *c)
{
	free(c);
}

void
txcache_put(struct txcache *c, const struct client_ep *ep,
    const uint8_t txid[STUN_TXID_LEN], const uint8_t *resp, size_t len,
    uint32_t now)
{
	struct txent *e;

	if (len == 0 || len > TXCACHE_RESP_MAX)
		return;
	e = &c->e[tx_slot(c, ep, txid)];
	e->owner = ep_owner(ep);
	e->client = ep->addr;
	memcpy(e->txid, txid, STUN_TXID_LEN);
	e->expires = now + TXCACHE_TTL_S;
	e->len = (uint16_t)len;
	memcpy(e->resp, resp, len);
}

const uint8_t *
txcache_get(struct txcache *c, const struct client_ep *ep,
    const uint8_t txid[STUN_TXID_LEN], size_t *len, uint32_t now)
{
	struct txent *e = &c->e[tx_slot(c, ep, txid)];

	if (e->len == 0 || e->owner != ep_owner(ep) ||
	    memcmp(e->txid, txid, STUN_TXID_LEN) != 0 ||
	    !taddr_eq(&e->client, &ep->addr) ||
	    (int32_t)(e->expires - now) <= 0)
		return NULL;
	*len = e->len;
	return e->resp;
}

void
txcache_forget_conn(struct txcache *c, const void *conn)
{
	for (size_t i = 0; i < TXCACHE_SLOTS; i++)
		if (c->e[i].owner == conn)
			c->e[i].len = 0;
}
