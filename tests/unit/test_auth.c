/*
 * Credentials: the TURN REST password as LiveKit and backends mint it,
 * and auth_check's verdicts on requests built with the encoder: static
 * users (password and precomputed key), REST users with either of two
 * secrets, expiry, SHA-256 negotiation, USERHASH, and each refusal.
 */
#include <string.h>

#include "auth.h"
#include "check.h"
#include "config.h"
#include "nonce.h"
#include "stun_enc.h"
#include "stun_hdr.h"
#include "stun_integrity.h"
#include "stun_msg.h"

#define REALM "example.org"

static struct nonce_key nk;
static union taddr client;
static char nonce[NONCE_LEN + 1];

struct req_spec {
	const char *user;
	const char *pass;
	const char *realm;
	int sha256;
	int no_nonce;
	int no_mi;
	int userhash;
	int bad_pwalgs;
};

static int
build(const struct req_spec *s, uint8_t *buf, size_t cap, struct stun_msg *m)
{
	static const uint8_t txid[12] = { 1, 2, 3 };
	const char *realm = s->realm ? s->realm : REALM;
	struct stun_enc e;
	uint8_t key[32];
	int klen, len;

	stun_enc_init(&e, buf, cap, stun_type(STUN_METHOD_ALLOCATE,
	    STUN_CLASS_REQUEST), txid);
	stun_enc_u8pad(&e, STUN_ATTR_REQUESTED_TRANSPORT, 17);
	if (s->userhash) {
		uint8_t h[32];

		stun_userhash(s->user, strlen(s->user), realm, strlen(realm),
		    h);
		stun_enc_attr(&e, STUN_ATTR_USERHASH, h, 32);
	} else
		stun_enc_str(&e, STUN_ATTR_USERNAME, s->user);
	stun_enc_str(&e, STUN_ATTR_REALM, realm);
	if (!s->no_nonce)
		stun_enc_str(&e, STUN_ATTR_NONCE, nonce);
	if (s->sha256 || s->bad_pwalgs) {
		uint16_t algs[2] = { STUN_PWALG_SHA256, STUN_PWALG_MD5 };

		if (s->bad_pwalgs)
			algs[0] = STUN_PWALG_MD5; /* not what was offered */
		stun_enc_pwalgs(&e, algs, s->bad_pwalgs ? 1 : 2);
		stun_enc_pwalg(&e, s->sha256 ? STUN_PWALG_SHA256 :
		    STUN_PWALG_MD5);
	}
	klen = stun_key_long_term(s->sha256 ? STUN_PWALG_SHA256 :
	    STUN_PWALG_MD5, s->user, strlen(s->user), realm, strlen(realm),
	    s->pass, strlen(s->pass), key);
	if (!s->no_mi) {
		if (s->sha256)
			stun_enc_integrity_sha256(&e, key, (size_t)klen);
		else
			stun_enc_integrity(&e, key, (size_t)klen);
	}
	len = stun_enc_finish(&e);
	if (len < 0 || stun_msg_decode(m, buf, (size_t)len) != 0)
		return -1;
	return 0;
}

static void
expect(const struct auth_store *st, const struct req_spec *s, int code,
    int reason)
{
	uint8_t buf[1024];
	struct stun_msg m;
	struct auth_result r;

	if (build(s, buf, sizeof(buf), &m) != 0) {
		CHECK_MSG(0, "build %s", s->user);
		return;
	}
	auth_check(st, &nk, &m, &client, CONF_T_UDP, 100, &r);
	CHECK_MSG(r.code == code && r.reason == reason,
	    "user %s: code %u reason %d, want %d %d", s->user, r.code,
	    r.reason, code, reason);
}

int
main(void)
{
	struct conf_user users[2];
	char *secrets[2] = { "first-secret", "second-secret" };
	struct turnd_conf c;
	struct auth_store *st;
	char pass[AUTH_REST_PASSWORD_LEN + 1], pass2[AUTH_REST_PASSWORD_LEN + 1];
	struct auth_result r;
	uint8_t buf[1024];
	struct stun_msg m;

	/* the LiveKit vector: secret north, 1767225600:PA_2fGhJkLmNpQr */
	auth_rest_password("north", 5, "1767225600:PA_2fGhJkLmNpQr", 26, pass);
	CHECK_EQ_STR(pass, "9g/unxQ0dDsj+CYBeKK5uQUp9OU=");

	CHECK(nonce_key_init(&nk) == 0);
	CHECK(taddr_parse(&client, "192.0.2.1:4000", 0) == 0);
	nonce_make(&nk, 1000, &client, CONF_T_UDP, nonce);

	memset(&c, 0, sizeof(c));
	memset(users, 0, sizeof(users));
	c.realm = REALM;
	users[0].name = "alice";
	users[0].password = "wonderland";
	users[1].name = "bob";
	/* MD5("bob:example.org:builder") */
	{
		uint8_t k[STUN_KEY_MAX];

		stun_key_long_term(STUN_PWALG_MD5, "bob", 3, REALM,
		    strlen(REALM), "builder", 7, k);
		memcpy(users[1].key_md5, k, 16);
	}
	users[1].has_key = 1;
	c.auth.users = users;
	c.auth.n_users = 2;
	c.auth.secrets = secrets;
	c.auth.n_secrets = 2;
	st = auth_store_new(&c);
	CHECK(st != NULL);

	expect(st, &(struct req_spec){ .user = "alice", .pass = "wonderland" }, 0, AUTH_R_OK);
	expect(st, &(struct req_spec){ .user = "alice", .pass = "wonderland", .sha256 = 1 }, 0,
	    AUTH_R_OK);
	expect(st, &(struct req_spec){ .user = "alice", .pass = "wonderland", .userhash = 1 },
	    0, AUTH_R_OK);
	expect(st, &(struct req_spec){ .user = "alice", .pass = "wrong" }, 401, AUTH_R_BAD_MI);
	expect(st, &(struct req_spec){ .user = "bob", .pass = "builder" }, 0, AUTH_R_OK);
	/* a precomputed MD5 key cannot answer a SHA-256 request */
	expect(st, &(struct req_spec){ .user = "bob", .pass = "builder", .sha256 = 1 }, 401,
	    AUTH_R_BAD_MI);
	expect(st, &(struct req_spec){ .user = "carol", .pass = "x" }, 401,
	    AUTH_R_UNKNOWN_USER);
	expect(st, &(struct req_spec){ .user = "alice", .pass = "wonderland", .realm = "other.org" },
	    401, AUTH_R_REALM);
	expect(st, &(struct req_spec){ .user = "alice", .pass = "wonderland", .no_nonce = 1 },
	    400, AUTH_R_BAD_REQUEST);
	expect(st, &(struct req_spec){ .user = "alice", .pass = "wonderland", .no_mi = 1 },
	    401, AUTH_R_NO_CREDS);
	expect(st, &(struct req_spec){ .user = "alice", .pass = "wonderland",
	    .bad_pwalgs = 1 }, 400, AUTH_R_BAD_REQUEST);

	/* REST: either secret; expiry judged separately */
	auth_rest_password(secrets[0], strlen(secrets[0]), "2000000000:pa_1",
	    15, pass);
	auth_rest_password(secrets[1], strlen(secrets[1]), "2000000000:pa_1",
	    15, pass2);
	expect(st, &(struct req_spec){ .user = "2000000000:pa_1", .pass = pass }, 0,
	    AUTH_R_OK);
	expect(st, &(struct req_spec){ .user = "2000000000:pa_1", .pass = pass2 }, 0,
	    AUTH_R_OK);
	expect(st, &(struct req_spec){ .user = "2000000000:pa_2", .pass = pass }, 401,
	    AUTH_R_BAD_MI);
	expect(st, &(struct req_spec){ .user = "not-a-time:pa_1", .pass = pass }, 401,
	    AUTH_R_UNKNOWN_USER);
	if (build(&(struct req_spec){ .user = "2000000000:pa_1", .pass = pass }, buf,
	    sizeof(buf), &m) == 0) {
		auth_check(st, &nk, &m, &client, CONF_T_UDP, 100, &r);
		CHECK_EQ_INT(r.code, 0);
		CHECK(r.expiry == 2000000000);
		CHECK(!auth_expired(&r, 1999999999));
		CHECK(auth_expired(&r, 2000000001));
		/* quota key: the id after the colon */
		CHECK_EQ_STR(r.user + r.quota_off, "pa_1");
		/* a stale nonce: 438, whatever else is right */
		auth_check(st, &nk, &m, &client, CONF_T_UDP, 1000, &r);
		CHECK_EQ_INT(r.code, 438);
		CHECK_EQ_INT(r.reason, AUTH_R_STALE_NONCE);
	} else
		CHECK(0);
	auth_store_free(st);
	return CHECK_DONE();
}
