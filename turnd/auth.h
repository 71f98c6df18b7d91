/*
 * Long-term credentials (RFC 8489 section 9.2) against the credential
 * store: static users from the configuration and TURN REST API
 * credentials minted from shared secrets (username "expiry" or
 * "expiry:id", password base64(HMAC-SHA1(secret, username))).  The store
 * is immutable, shared by all workers and swapped whole on reload.
 */
#ifndef TURND_AUTH_H
#define TURND_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "stun.h"

struct turnd_conf;
struct stun_msg;
struct nonce_key;
struct auth_store;

/* Why a request was refused; counted and logged by reason. */
#define AUTH_R_OK 0
#define AUTH_R_NO_CREDS 1    /* 401: no integrity attribute */
#define AUTH_R_BAD_REQUEST 2 /* 400: integrity without user, realm, nonce */
#define AUTH_R_STALE_NONCE 3 /* 438 */
#define AUTH_R_REALM 4	     /* 401: another realm */
#define AUTH_R_UNKNOWN_USER 5 /* 401 */
#define AUTH_R_BAD_MI 6	     /* 401: integrity does not match */

struct auth_result {
	uint16_t code; /* 0 when authenticated, else 400, 401 or 438 */
	int reason;    /* AUTH_R_* */
	int which;     /* STUN_INTEGRITY_SHA1 or _SHA256, to answer alike */
	uint16_t pwalg; /* STUN_PWALG_* used for the key */
	uint8_t key[STUN_KEY_MAX];
	size_t keylen;
	char user[STUN_MAX_USERNAME + 1]; /* NUL-terminated copy */
	size_t user_len;
	int64_t expiry; /* REST credential expiry (Unix time), -1: static */
	size_t quota_off; /* quota key: user + quota_off, to user_len */
};

struct auth_store *auth_store_new(const struct turnd_conf *c);
void auth_store_free(struct auth_store *s);
const char *auth_realm(const struct auth_store *s);

/*
 * Authenticates request m from client over transport (CONF_T_*), now in
 * monotonic seconds for the nonce.  Fills r; r->code says what to answer.
 * REST expiry is not judged here: only an Allocate refuses an expired
 * credential (auth_expired), so that an allocation made in time keeps
 * refreshing for its whole life.
 */
void auth_check(const struct auth_store *s, const struct nonce_key *nk,
    const struct stun_msg *m, const union taddr *client, int transport,
    uint32_t now, struct auth_result *r);
/* True when r holds a REST credential whose expiry passed at wall time now. */
int auth_expired(const struct auth_result *r, int64_t now);
const char *auth_reason(int reason);

/*
 * Writes into out the PASSWORD-ALGORITHMS value the server offers (for
 * 401 and 438 responses); returns its length.
 */
size_t auth_pwalgs(uint16_t *algs, size_t max);

/*
 * The TURN REST API password for username with secret:
 * base64(HMAC-SHA1(secret, username)), NUL-terminated in out (29 bytes).
 */
#define AUTH_REST_PASSWORD_LEN 28
void auth_rest_password(const char *secret, size_t secret_len,
    const char *user, size_t user_len, char out[AUTH_REST_PASSWORD_LEN + 1]);

#endif
