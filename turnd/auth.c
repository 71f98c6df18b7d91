/*
 * Long-term credential checks (RFC 8489 sections 9.2.4 and 9.2.5, RFC 8656
 * section 5): nonce, realm, password algorithm negotiation, user lookup by
 * USERNAME or USERHASH, and the integrity check.  Static users' keys and
 * user hashes are computed once when the store is built; REST credentials
 * cost one HMAC, one hash and one integrity check per configured secret.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "nonce.h"
#include "stun_enc.h"
#include "stun_integrity.h"
#include "stun_msg.h"

struct auth_user {
	char *name;
	size_t name_len;
	uint8_t key_md5[16];
	uint8_t key_sha256[32];
	int has_sha256; /* 0: only a precomputed MD5 key was configured */
	uint8_t userhash[STUN_USERHASH_LEN];
};

struct auth_store {
	char *realm;
	size_t realm_len;
	struct auth_user *users; /* sorted by name */
	size_t n_users;
	char **secrets;
	size_t n_secrets;
};

/* Offered in decreasing preference (RFC 8489 section 14.11). */
static const uint16_t offered_pwalgs[] = { STUN_PWALG_SHA256, STUN_PWALG_MD5 };
#define N_OFFERED (sizeof(offered_pwalgs) / sizeof(offered_pwalgs[0]))

static int user_cmp(const void *, const void *);
static const struct auth_user *user_find(const struct auth_store *,
    const uint8_t *, size_t);
static const struct auth_user *user_find_hash(const struct auth_store *,
    const uint8_t *);
static int rest_parse(const uint8_t *, size_t, int64_t *, size_t *);
static int pwalg_negotiate(const struct stun_msg *, uint16_t *);

static int
user_cmp(const void *a, const void *b)
{
	const struct auth_user *ua = a, *ub = b;
	size_t n = ua->name_len < ub->name_len ? ua->name_len : ub->name_len;
	int r = memcmp(ua->name, ub->name, n);

	if (r != 0)
		return r;
	return (ua->name_len > ub->name_len) - (ua->name_len < ub->name_len);
}

struct auth_store *
auth_store_new(const struct turnd_conf *c)
{
	struct auth_store *s;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->realm = strdup(c->realm);
	if (s->realm == NULL)
		goto fail;
	s->realm_len = strlen(s->realm);
	if (c->auth.n_users > 0) {
		s->users = calloc(c->auth.n_users, sizeof(*s->users));
		if (s->users == NULL)
			goto fail;
	}
	for (size_t i = 0; i < c->auth.n_users; i++) {
		const struct conf_user *cu = &c->auth.users[i];
		struct auth_user *u = &s->users[s->n_users];

		u->name = strdup(cu->name);
		if (u->name == NULL)
			goto fail;
		s->n_users++;
		u->name_len = strlen(u->name);
		if (cu->password != NULL) {
			size_t pl = strlen(cu->password);
			uint8_t k[STUN_KEY_MAX];

			stun_key_long_term(STUN_PWALG_MD5, u->name,
			    u->name_len, s->realm, s->realm_len, cu->password,
			    pl, k);
			memcpy(u->key_md5, k, sizeof(u->key_md5));
			OPENSSL_cleanse(k, sizeof(k));
			stun_key_long_term(STUN_PWALG_SHA256, u->name,
			    u->name_len, s->realm, s->realm_len, cu->password,
			    pl, u->key_sha256);
			u->has_sha256 = 1;
		} else
			memcpy(u->key_md5, cu->key_md5, sizeof(u->key_md5));
		stun_userhash(u->name, u->name_len, s->realm, s->realm_len,
		    u->userhash);
	}
	if (s->n_users > 0)
		qsort(s->users, s->n_users, sizeof(*s->users), user_cmp);
	if (c->auth.n_secrets > 0) {
		s->secrets = calloc(c->auth.n_secrets, sizeof(*s->secrets));
		if (s->secrets == NULL)
			goto fail;
	}
	for (size_t i = 0; i < c->auth.n_secrets; i++) {
		s->secrets[i] = strdup(c->auth.secrets[i]);
		if (s->secrets[i] == NULL)
			goto fail;
		s->n_secrets++;
	}
	return s;
fail:
	auth_store_free(s);
	return NULL;
}

void
auth_store_free(struct auth_store *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_users; i++) {
		free(s->users[i].name);
		OPENSSL_cleanse(s->users[i].key_md5,
		    sizeof(s->users[i].key_md5));
		OPENSSL_cleanse(s->users[i].key_sha256,
		    sizeof(s->users[i].key_sha256));
	}
	free(s->users);
	for (size_t i = 0; i < s->n_secrets; i++) {
		OPENSSL_cleanse(s->secrets[i], strlen(s->secrets[i]));
		free(s->secrets[i]);
	}
	free(s->secrets);
	free(s->realm);
	free(s);
}

const char *
auth_realm(const struct auth_store *s)
{
	return s->realm;
}

static const struct auth_user *
user_find(const struct auth_store *s, const uint8_t *name, size_t len)
{
	struct auth_user key = { .name = (char *)(uintptr_t)name,
		.name_len = len };

	if (s->n_users == 0)
		return NULL;
	return bsearch(&key, s->users, s->n_users, sizeof(*s->users),
	    user_cmp);
}

static const struct auth_user *
user_find_hash(const struct auth_store *s, const uint8_t *hash)
{
	for (size_t i = 0; i < s->n_users; i++)
		if (CRYPTO_memcmp(s->users[i].userhash, hash,
		    STUN_USERHASH_LEN) == 0)
			return &s->users[i];
	return NULL;
}

/*
 * TURN REST usernames: decimal expiry, optionally ":" and an id.  Returns
 * 0 and the expiry and the offset of the id (or 0 without one), or -1.
 */
static int
rest_parse(const uint8_t *u, size_t len, int64_t *expiry, size_t *id_off)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; i < len && u[i] != ':'; i++) {
		if (u[i] < '0' || u[i] > '9' || i >= 18)
			return -1;
		v = v * 10 + (u[i] - '0');
	}
	if (i == 0)
		return -1;
	*expiry = v;
	*id_off = i < len ? i + 1 : 0;
	return 0;
}

size_t
auth_pwalgs(uint16_t *algs, size_t max)
{
	size_t n = N_OFFERED < max ? N_OFFERED : max;

	memcpy(algs, offered_pwalgs, n * sizeof(*algs));
	return n;
}

/*
 * RFC 8489 section 9.2.4: a client that understood our nonce cookie
 * echoes PASSWORD-ALGORITHMS exactly as offered (downgrade protection) and
 * picks one in PASSWORD-ALGORITHM; a RFC 5389 client sends neither and
 * uses MD5.  Returns 0 and the algorithm, or -1 for a 400.
 */
static int
pwalg_negotiate(const struct stun_msg *m, uint16_t *alg)
{
	int has_list = STUN_HAS(m, PASSWORD_ALGORITHMS);
	int has_alg = STUN_HAS(m, PASSWORD_ALGORITHM);

	if (!has_list && !has_alg) {
		*alg = STUN_PWALG_MD5;
		return 0;
	}
	if (!has_list || !has_alg || m->n_pwalgs != N_OFFERED)
		return -1;
	for (size_t i = 0; i < N_OFFERED; i++)
		if (m->pwalgs[i].alg != offered_pwalgs[i] ||
		    m->pwalgs[i].params.len != 0)
			return -1;
	for (size_t i = 0; i < N_OFFERED; i++)
		if (m->pwalg.alg == offered_pwalgs[i]) {
			*alg = m->pwalg.alg;
			return 0;
		}
	return -1;
}

void
auth_rest_password(const char *secret, size_t secret_len, const char *user,
    size_t user_len, char out[AUTH_REST_PASSWORD_LEN + 1])
{
	uint8_t mac[20];

	stun_hmac_sha1((const uint8_t *)secret, secret_len,
	    (const uint8_t *)user, user_len, NULL, 0, mac);
	EVP_EncodeBlock((unsigned char *)out, mac, sizeof(mac));
	out[AUTH_REST_PASSWORD_LEN] = '\0';
}

static void
auth_fail(struct auth_result *r, uint16_t code, int reason)
{
	r->code = code;
	r->reason = reason;
	OPENSSL_cleanse(r->key, sizeof(r->key));
	r->keylen = 0;
}

void
auth_check(const struct auth_store *s, const struct nonce_key *nk,
    const struct stun_msg *m, const union taddr *client, int transport,
    uint32_t now, struct auth_result *r)
{
	const struct auth_user *u = NULL;
	int64_t expiry;
	size_t id_off;
	int nc;

	memset(r, 0, sizeof(*r));
	r->expiry = -1;
	if (!STUN_HAS(m, MESSAGE_INTEGRITY) &&
	    !STUN_HAS(m, MESSAGE_INTEGRITY_SHA256)) {
		auth_fail(r, STUN_ERR_UNAUTHORIZED, AUTH_R_NO_CREDS);
		return;
	}
	if ((!STUN_HAS(m, USERNAME) && !STUN_HAS(m, USERHASH)) ||
	    !STUN_HAS(m, REALM) || !STUN_HAS(m, NONCE)) {
		auth_fail(r, STUN_ERR_BAD_REQUEST, AUTH_R_BAD_REQUEST);
		return;
	}
	nc = nonce_check(nk, m->nonce.p, m->nonce.len, client, transport, now);
	if (nc != NONCE_OK) {
		auth_fail(r, STUN_ERR_STALE_NONCE, AUTH_R_STALE_NONCE);
		return;
	}
	if (pwalg_negotiate(m, &r->pwalg) != 0) {
		auth_fail(r, STUN_ERR_BAD_REQUEST, AUTH_R_BAD_REQUEST);
		return;
	}
	if (m->realm.len != s->realm_len ||
	    memcmp(m->realm.p, s->realm, s->realm_len) != 0) {
		auth_fail(r, STUN_ERR_UNAUTHORIZED, AUTH_R_REALM);
		return;
	}
	if (STUN_HAS(m, USERNAME)) {
		memcpy(r->user, m->username.p, m->username.len);
		r->user_len = m->username.len;
		u = user_find(s, m->username.p, m->username.len);
	} else {
		u = user_find_hash(s, m->userhash);
		if (u != NULL) {
			memcpy(r->user, u->name, u->name_len);
			r->user_len = u->name_len;
		}
	}
	r->user[r->user_len] = '\0';

	if (u != NULL) {
		if (r->pwalg == STUN_PWALG_SHA256) {
			if (!u->has_sha256) {
				auth_fail(r, STUN_ERR_UNAUTHORIZED,
				    AUTH_R_BAD_MI);
				return;
			}
			memcpy(r->key, u->key_sha256, 32);
			r->keylen = 32;
		} else {
			memcpy(r->key, u->key_md5, 16);
			r->keylen = 16;
		}
		if (stun_msg_check_integrity(m, r->key, r->keylen,
		    &r->which) != 0) {
			auth_fail(r, STUN_ERR_UNAUTHORIZED, AUTH_R_BAD_MI);
			return;
		}
		r->quota_off = 0;
		return;
	}
	if (s->n_secrets == 0 || !STUN_HAS(m, USERNAME) ||
	    rest_parse(m->username.p, m->username.len, &expiry, &id_off) !=
		0) {
		auth_fail(r, STUN_ERR_UNAUTHORIZED, AUTH_R_UNKNOWN_USER);
		return;
	}
	/* any configured secret will do, so that a secret can be rotated */
	for (size_t i = 0; i < s->n_secrets; i++) {
		char pass[AUTH_REST_PASSWORD_LEN + 1];
		int ok;

		auth_rest_password(s->secrets[i], strlen(s->secrets[i]),
		    r->user, r->user_len, pass);
		r->keylen = (size_t)stun_key_long_term(r->pwalg, r->user,
		    r->user_len, s->realm, s->realm_len, pass,
		    AUTH_REST_PASSWORD_LEN, r->key);
		OPENSSL_cleanse(pass, sizeof(pass));
		ok = stun_msg_check_integrity(m, r->key, r->keylen,
		    &r->which) == 0;
		if (ok) {
			r->expiry = expiry;
			r->quota_off = id_off;
			return;
		}
	}
	auth_fail(r, STUN_ERR_UNAUTHORIZED, AUTH_R_BAD_MI);
}

int
auth_expired(const struct auth_result *r, int64_t now)
{
	return r->expiry >= 0 && r->expiry < now;
}

const char *
auth_reason(int reason)
{
	/* the same words as the counters (turnd_auth_failures_total) */
	static const char *const names[] = { "ok", "no_creds",
		"bad_request", "stale_nonce", "realm", "unknown_user",
		"bad_mi" };

	if (reason < 0 || (size_t)reason >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[reason];
}
