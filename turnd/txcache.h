/*
 * The retransmission cache (RFC 8656 section 7, RFC 8489 section 6.3.4):
 * responses to authenticated requests, kept for the life of a client's
 * retransmissions so that a retransmitted request gets the same answer
 * instead of being processed twice.  Per worker, fixed size, direct
 * mapped: a new entry overwrites whatever shared its slot.
 */
#ifndef TURND_TXCACHE_H
#define TURND_TXCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "stun.h"

struct client_ep;
struct txcache;

#define TXCACHE_SLOTS 1024
#define TXCACHE_RESP_MAX 256 /* larger responses are not kept */
#define TXCACHE_TTL_S 40     /* RFC 8489: a transaction lasts 39.5 s */

struct txcache *txcache_new(uint32_t seed);
void txcache_free(struct txcache *c);
/* Keeps resp for (ep, txid) until now + TXCACHE_TTL_S. */
void txcache_put(struct txcache *c, const struct client_ep *ep,
    const uint8_t txid[STUN_TXID_LEN], const uint8_t *resp, size_t len,
    uint32_t now);
/* The kept response for (ep, txid), or NULL; *len set. Borrowed. */
const uint8_t *txcache_get(struct txcache *c, const struct client_ep *ep,
    const uint8_t txid[STUN_TXID_LEN], size_t *len, uint32_t now);
/* Forgets everything kept for a connection that is gone. */
void txcache_forget_conn(struct txcache *c, const void *conn);

#endif
