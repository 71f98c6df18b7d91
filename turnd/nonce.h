/*
 * Stateless nonces (RFC 8489 section 9.2): the server keeps nothing per
 * client.  A nonce carries the RFC 8489 cookie with the security feature
 * bits, its expiry, and a MAC over the expiry and the client's transport
 * address made with a key drawn at start-up, so a nonce is good only for
 * the client it was given to and only until it expires.
 */
#ifndef TURND_NONCE_H
#define TURND_NONCE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define NONCE_KEY_LEN 32
/* cookie (9) + features (4) + expiry hex (8) + MAC base64url (16) */
#define NONCE_LEN 37

struct nonce_key {
	uint8_t k[NONCE_KEY_LEN];
};

#define NONCE_OK 0
#define NONCE_STALE 1 /* well formed and ours, but expired */
#define NONCE_BAD 2   /* not ours, or made for another client */

/* Draws a fresh random key.  Returns 0 or -1. */
int nonce_key_init(struct nonce_key *k);

/*
 * Writes a NUL-terminated nonce valid until expires (monotonic seconds)
 * for client over transport into out.  Returns NONCE_LEN.
 */
size_t nonce_make(const struct nonce_key *k, uint32_t expires,
    const union taddr *client, int transport, char out[NONCE_LEN + 1]);

/* Checks a nonce from a request.  Returns NONCE_OK, NONCE_STALE or NONCE_BAD. */
int nonce_check(const struct nonce_key *k, const uint8_t *nonce, size_t len,
    const union taddr *client, int transport, uint32_t now);

#endif
