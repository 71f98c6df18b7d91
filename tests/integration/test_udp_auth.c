/*
 * Long-term credentials over UDP against a real turnd on loopback (RFC
 * 8489 section 9.2, RFC 8656 section 5): the 401 challenge (REALM, a
 * NONCE with the RFC 8489 cookie, PASSWORD-ALGORITHMS), wrong passwords,
 * users and realms (401), integrity without USERNAME, REALM or NONCE
 * (400), nonces made for another client or garbled (438 with a fresh
 * NONCE that then works), SHA-256 (PASSWORD-ALGORITHM with
 * MESSAGE-INTEGRITY-SHA256, answered alike) and its downgrade protection
 * (400), TURN REST credentials from either configured secret, expired ones
 * (401 at Allocate, but an allocation made in time keeps refreshing), and
 * 441 when another valid user speaks on an allocation's 5-tuple.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "tclient.h"
#include "tproc.h"

static int
str_is(const struct stun_str *s, const char *want)
{
	return s->len == strlen(want) && memcmp(s->p, want, s->len) == 0;
}

static int
has_pwalg(const struct stun_msg *m, uint16_t alg)
{
	for (uint8_t i = 0; i < m->n_pwalgs; i++)
		if (m->pwalgs[i].alg == alg)
			return 1;
	return 0;
}

/* A 401 or 438 must tell the client how to try again. */
static void
check_challenge(const struct tc_resp *r, int code, const char *what)
{
	CHECK_MSG(r->code == code, "%s: code %d, want %d", what, r->code, code);
	CHECK_MSG(STUN_HAS(&r->m, REALM) && str_is(&r->m.realm, TPROC_REALM),
	    "%s: REALM missing or not " TPROC_REALM, what);
	CHECK_MSG(STUN_HAS(&r->m, NONCE) &&
	        r->m.nonce.len >
	            STUN_NONCE_COOKIE_LEN + STUN_NONCE_FEATURES_LEN &&
	        memcmp(r->m.nonce.p, STUN_NONCE_COOKIE,
	            STUN_NONCE_COOKIE_LEN) == 0,
	    "%s: NONCE missing or without the cookie", what);
	CHECK_MSG(STUN_HAS(&r->m, PASSWORD_ALGORITHMS) &&
	        has_pwalg(&r->m, STUN_PWALG_MD5) &&
	        has_pwalg(&r->m, STUN_PWALG_SHA256),
	    "%s: PASSWORD-ALGORITHMS missing MD5 or SHA-256", what);
	CHECK_MSG(r->m.n_relayed == 0, "%s: relayed address in an error", what);
}

static void
alloc_msg(struct tc_msg *m)
{
	tcm_init(m, STUN_METHOD_ALLOCATE);
	tcm_u8pad(m, STUN_ATTR_REQUESTED_TRANSPORT, STUN_PROTO_UDP);
}

static void
test_challenge(const struct tproc *p)
{
	static const struct {
		const char *name;
		uint16_t method;
	} methods[] = {
	    {"Allocate", STUN_METHOD_ALLOCATE},
	    {"Refresh", STUN_METHOD_REFRESH},
	    {"CreatePermission", STUN_METHOD_CREATE_PERMISSION},
	    {"ChannelBind", STUN_METHOD_CHANNEL_BIND},
	};
	struct tc c;
	struct tc_msg m;
	struct tc_resp r;
	union tc_addr peer;

	CHECK(tc_open(&c, "127.0.0.1", p->port, TPROC_USER, TPROC_PASS) == 0);
	tc_addr_parse(&peer, "127.0.0.1", 9);
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		tcm_init(&m, methods[i].method);
		if (methods[i].method == STUN_METHOD_ALLOCATE)
			tcm_u8pad(
			    &m, STUN_ATTR_REQUESTED_TRANSPORT, STUN_PROTO_UDP);
		if (methods[i].method == STUN_METHOD_CHANNEL_BIND)
			tcm_u16pad(&m, STUN_ATTR_CHANNEL_NUMBER, 0x4000);
		if (methods[i].method == STUN_METHOD_CREATE_PERMISSION ||
		    methods[i].method == STUN_METHOD_CHANNEL_BIND)
			tcm_xaddr(&m, STUN_ATTR_XOR_PEER_ADDRESS, &peer);
		tc_transact(&c, &m, &r);
		check_challenge(&r, STUN_ERR_UNAUTHORIZED, methods[i].name);
		CHECK_MSG(r.m.method == methods[i].method,
		    "%s: answered as method 0x%03x", methods[i].name,
		    r.m.method);
		/* nothing to sign with yet */
		CHECK(!STUN_HAS(&r.m, MESSAGE_INTEGRITY));
		CHECK(!STUN_HAS(&r.m, MESSAGE_INTEGRITY_SHA256));
	}
	tc_close(&c);
}

static void
test_md5(const struct tproc *p)
{
	struct tc c;
	struct tc_msg m;
	struct tc_resp r;

	CHECK(tc_open(&c, "127.0.0.1", p->port, TPROC_USER, TPROC_PASS) == 0);
	alloc_msg(&m);
	CHECK_EQ_INT(tc_call(&c, &m, &r), 0);
	CHECK_EQ_INT(c.keylen, 16);
	CHECK(STUN_HAS(&r.m, MESSAGE_INTEGRITY));
	CHECK(!STUN_HAS(&r.m, MESSAGE_INTEGRITY_SHA256));
	CHECK_EQ_INT(tc_check_integrity(&c, &r), 0);
	/* the check is real: another key does not verify */
	c.key[0] ^= 1;
	CHECK(tc_check_integrity(&c, &r) != 0);
	c.key[0] ^= 1;
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tc_close(&c);
}

static void
test_bad_credentials(const struct tproc *p)
{
	char rest_future[64], rest_pass[64], bare_future[64];
	time_t now = time(NULL);
	struct {
		const char *name;
		const char *user;
		const char *pass;
		const char *realm; /* NULL: the server's */
	} cases[] = {
	    {"wrong password", TPROC_USER, "not-alice-secret", NULL},
	    {"unknown user", "mallory", TPROC_PASS, NULL},
	    {"another user's password", TPROC_USER2, TPROC_PASS, NULL},
	    {"wrong realm", TPROC_USER, TPROC_PASS, "other.test"},
	    {"REST user, unknown secret", rest_future, rest_pass, NULL},
	    {"REST expiry, wrong password", bare_future, "garbage", NULL},
	};

	snprintf(rest_future, sizeof(rest_future), "%lld:eve",
	    (long long)now + 3600);
	snprintf(
	    bare_future, sizeof(bare_future), "%lld", (long long)now + 3600);
	tc_rest_password("not-a-configured-secret", rest_future, rest_pass);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tc c;
		struct tc_msg m;
		struct tc_resp r;
		int code;

		CHECK(tc_open(&c, "127.0.0.1", p->port, cases[i].user,
		          cases[i].pass) == 0);
		CHECK_MSG(
		    tc_learn_nonce(&c) == 0, "%s: no challenge", cases[i].name);
		if (cases[i].realm != NULL)
			snprintf(
			    c.realm, sizeof(c.realm), "%s", cases[i].realm);
		alloc_msg(&m);
		m.auth = 1;
		tc_transact(&c, &m, &r);
		check_challenge(&r, STUN_ERR_UNAUTHORIZED, cases[i].name);

		/* the client may try again, with the right credentials */
		snprintf(c.user, sizeof(c.user), "%s", TPROC_USER);
		snprintf(c.pass, sizeof(c.pass), "%s", TPROC_PASS);
		code = tc_transact(&c, &m, &r);
		CHECK_MSG(code == 0, "%s: retry with good credentials: %d",
		    cases[i].name, code);
		CHECK_EQ_INT(tc_refresh(&c, 0), 0);
		tc_close(&c);
	}
}

static void
test_missing(const struct tproc *p)
{
	static const struct {
		const char *name;
		int no_username, no_realm, no_nonce;
	} cases[] = {
	    {"no USERNAME", 1, 0, 0},
	    {"no REALM", 0, 1, 0},
	    {"no NONCE", 0, 0, 1},
	    {"integrity alone", 1, 1, 1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tc c;
		struct tc_msg m;
		struct tc_resp r;
		int code;

		CHECK(tc_open(&c, "127.0.0.1", p->port, TPROC_USER,
		          TPROC_PASS) == 0);
		CHECK(tc_learn_nonce(&c) == 0);
		alloc_msg(&m);
		m.auth = 1;
		m.no_username = cases[i].no_username;
		m.no_realm = cases[i].no_realm;
		m.no_nonce = cases[i].no_nonce;
		code = tc_transact(&c, &m, &r);
		CHECK_MSG(code == STUN_ERR_BAD_REQUEST, "%s: %d, want 400",
		    cases[i].name, code);
		CHECK(r.m.n_relayed == 0);
		tc_close(&c);
	}
}

static void
test_stale_nonce(const struct tproc *p)
{
	struct tc a, b, v6;
	struct tc_msg m;
	struct tc_resp r;
	char old[256];

	CHECK(tc_open(&a, "127.0.0.1", p->port, TPROC_USER, TPROC_PASS) == 0);
	CHECK(tc_open(&b, "127.0.0.1", p->port, TPROC_USER, TPROC_PASS) == 0);
	CHECK(tc_open(&v6, "::1", p->port, TPROC_USER, TPROC_PASS) == 0);
	CHECK(tc_learn_nonce(&a) == 0);

	/* a's nonce is bound to a's address: b (another port) gets 438 */
	memcpy(b.realm, a.realm, sizeof(b.realm));
	memcpy(b.nonce, a.nonce, sizeof(b.nonce));
	alloc_msg(&m);
	m.auth = 1;
	tc_transact(&b, &m, &r);
	check_challenge(&r, STUN_ERR_STALE_NONCE, "nonce of another port");
	CHECK(strcmp(b.nonce, a.nonce) != 0);
	CHECK_EQ_INT(tc_transact(&b, &m, &r), 0);
	CHECK_EQ_INT(tc_refresh(&b, 0), 0);

	/* and to its family and address */
	memcpy(v6.realm, a.realm, sizeof(v6.realm));
	memcpy(v6.nonce, a.nonce, sizeof(v6.nonce));
	tc_transact(&v6, &m, &r);
	check_challenge(&r, STUN_ERR_STALE_NONCE, "nonce of an IPv4 client");
	CHECK_EQ_INT(tc_transact(&v6, &m, &r), 0);
	CHECK_EQ_INT(tc_refresh(&v6, 0), 0);

	/* a itself is fine with it */
	CHECK_EQ_INT(tc_transact(&a, &m, &r), 0);

	/*
	 * Garbled: last character changed, cut short, cookie broken.  The
	 * fresh NONCE replaces the garbled one (it may well equal the nonce
	 * before garbling: nonces are a function of expiry and client).
	 */
	a.nonce[strlen(a.nonce) - 1] ^= 0x01;
	snprintf(old, sizeof(old), "%s", a.nonce);
	tcm_init(&m, STUN_METHOD_REFRESH);
	m.auth = 1;
	tc_transact(&a, &m, &r);
	check_challenge(&r, STUN_ERR_STALE_NONCE, "nonce with a changed MAC");
	CHECK(strcmp(a.nonce, old) != 0);
	CHECK_EQ_INT(tc_transact(&a, &m, &r), 0);

	a.nonce[STUN_NONCE_COOKIE_LEN + STUN_NONCE_FEATURES_LEN] = '\0';
	tc_transact(&a, &m, &r);
	check_challenge(&r, STUN_ERR_STALE_NONCE, "nonce cut short");

	a.nonce[0] = 'x';
	tc_transact(&a, &m, &r);
	check_challenge(&r, STUN_ERR_STALE_NONCE, "nonce without cookie");
	CHECK_EQ_INT(tc_transact(&a, &m, &r), 0);
	CHECK_EQ_INT(tc_refresh(&a, 0), 0);
	tc_close(&a);
	tc_close(&b);
	tc_close(&v6);
}

static void
test_sha256(const struct tproc *p)
{
	static const struct {
		const char *name;
		uint16_t pwalgs[4];
		size_t n_pwalgs;
		uint16_t pwalg;
	} bad[] = {
	    {"list reordered", {STUN_PWALG_MD5, STUN_PWALG_SHA256}, 2,
	        STUN_PWALG_SHA256},
	    {"list of one", {STUN_PWALG_SHA256}, 1, STUN_PWALG_SHA256},
	    {"list with one more", {STUN_PWALG_SHA256, STUN_PWALG_MD5, 0x0003},
	        3, STUN_PWALG_SHA256},
	    {"algorithm without list", {0}, 0, STUN_PWALG_SHA256},
	    {"list without algorithm", {STUN_PWALG_SHA256, STUN_PWALG_MD5}, 2,
	        0},
	    {"algorithm not offered", {STUN_PWALG_SHA256, STUN_PWALG_MD5}, 2,
	        0x0003},
	};
	struct tc c;
	struct tc_msg m;
	struct tc_resp r;
	int code;

	CHECK(tc_open(&c, "127.0.0.1", p->port, TPROC_USER, TPROC_PASS) == 0);
	CHECK(tc_learn_nonce(&c) == 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		alloc_msg(&m);
		m.auth = 1;
		m.sha256 = 1;
		m.pwalg_set = 1;
		memcpy(m.pwalgs, bad[i].pwalgs, sizeof(m.pwalgs));
		m.n_pwalgs = bad[i].n_pwalgs;
		m.pwalg = bad[i].pwalg;
		code = tc_transact(&c, &m, &r);
		CHECK_MSG(code == STUN_ERR_BAD_REQUEST,
		    "PASSWORD-ALGORITHMS %s: %d, want 400", bad[i].name, code);
	}

	/* as offered, SHA-256 chosen: the answer uses SHA-256 too */
	alloc_msg(&m);
	m.auth = 1;
	m.sha256 = 1;
	CHECK_EQ_INT(tc_transact(&c, &m, &r), 0);
	CHECK_EQ_INT(c.keylen, 32);
	CHECK(STUN_HAS(&r.m, MESSAGE_INTEGRITY_SHA256));
	CHECK(!STUN_HAS(&r.m, MESSAGE_INTEGRITY));
	CHECK_EQ_INT(tc_check_integrity(&c, &r), 0);
	CHECK_EQ_INT(r.m.n_relayed, 1);

	tcm_init(&m, STUN_METHOD_REFRESH);
	tcm_u32(&m, STUN_ATTR_LIFETIME, 0);
	m.auth = 1;
	m.sha256 = 1;
	CHECK_EQ_INT(tc_transact(&c, &m, &r), 0);
	CHECK(STUN_HAS(&r.m, MESSAGE_INTEGRITY_SHA256));
	CHECK_EQ_INT(tc_check_integrity(&c, &r), 0);
	tc_close(&c);

	/* as offered, MD5 chosen: MESSAGE-INTEGRITY with the MD5 key */
	CHECK(tc_open(&c, "127.0.0.1", p->port, TPROC_USER, TPROC_PASS) == 0);
	CHECK(tc_learn_nonce(&c) == 0);
	alloc_msg(&m);
	m.auth = 1;
	m.pwalg_set = 1;
	m.pwalgs[0] = STUN_PWALG_SHA256;
	m.pwalgs[1] = STUN_PWALG_MD5;
	m.n_pwalgs = 2;
	m.pwalg = STUN_PWALG_MD5;
	CHECK_EQ_INT(tc_transact(&c, &m, &r), 0);
	CHECK(STUN_HAS(&r.m, MESSAGE_INTEGRITY));
	CHECK(!STUN_HAS(&r.m, MESSAGE_INTEGRITY_SHA256));
	CHECK_EQ_INT(tc_check_integrity(&c, &r), 0);
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tc_close(&c);
}

static int
rest_allocate(const struct tproc *p, struct tc *c, const char *user,
    const char *secret, struct tc_resp *r)
{
	struct tc_msg m;
	char pass[64];

	tc_rest_password(secret, user, pass);
	if (tc_open(c, "127.0.0.1", p->port, user, pass) != 0)
		return -1;
	alloc_msg(&m);
	return tc_call(c, &m, r);
}

static void
test_rest(const struct tproc *p)
{
	char user[64];
	time_t now = time(NULL);
	struct tc c, c2;
	struct tc_resp r;
	union tc_addr peer;
	int64_t soon;

	/* either secret works; with or without an id */
	snprintf(user, sizeof(user), "%lld:carol", (long long)now + 3600);
	CHECK_EQ_INT(rest_allocate(p, &c, user, TPROC_SECRET, &r), 0);
	CHECK_EQ_INT(tc_check_integrity(&c, &r), 0);
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tc_close(&c);
	CHECK_EQ_INT(rest_allocate(p, &c, user, TPROC_SECRET2, &r), 0);
	CHECK_EQ_INT(tc_check_integrity(&c, &r), 0);
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tc_close(&c);
	snprintf(user, sizeof(user), "%lld", (long long)now + 3600);
	CHECK_EQ_INT(rest_allocate(p, &c, user, TPROC_SECRET2, &r), 0);
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tc_close(&c);

	/* expired: 401 at Allocate, a challenge to try again with */
	snprintf(user, sizeof(user), "%lld:carol", (long long)now - 60);
	rest_allocate(p, &c, user, TPROC_SECRET, &r);
	check_challenge(&r, STUN_ERR_UNAUTHORIZED, "expired REST credential");
	tc_close(&c);

	/*
	 * Made two seconds before expiry: the allocation keeps refreshing,
	 * and installs permissions and channels, after the credential
	 * expired.  A new Allocate with it is refused.
	 */
	soon = (int64_t)time(NULL) + 2;
	snprintf(user, sizeof(user), "%lld:dave", (long long)soon);
	CHECK_EQ_INT(rest_allocate(p, &c, user, TPROC_SECRET, &r), 0);
	for (int i = 0; i < 60 && (int64_t)time(NULL) <= soon; i++)
		usleep(100000);
	CHECK((int64_t)time(NULL) > soon);
	tc_addr_parse(&peer, "127.0.0.1", 9);
	CHECK_EQ_INT(tc_refresh(&c, 600), 0);
	CHECK_EQ_INT(tc_permission(&c, &peer), 0);
	CHECK_EQ_INT(tc_channel_bind(&c, 0x4000, &peer), 0);
	rest_allocate(p, &c2, user, TPROC_SECRET, &r);
	check_challenge(&r, STUN_ERR_UNAUTHORIZED,
	    "Allocate with a credential that just expired");
	tc_close(&c2);
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tc_close(&c);
}

static void
test_wrong_user(const struct tproc *p)
{
	char rest_user[64], rest_pass[64];
	struct tc c;
	struct tc_msg m;
	struct tc_resp r;
	union tc_addr relayed, peer;

	snprintf(rest_user, sizeof(rest_user), "%lld:alice",
	    (long long)time(NULL) + 3600);
	tc_rest_password(TPROC_SECRET, rest_user, rest_pass);
	tc_addr_parse(&peer, "127.0.0.1", 9);

	CHECK(tc_open(&c, "127.0.0.1", p->port, TPROC_USER, TPROC_PASS) == 0);
	CHECK_EQ_INT(tc_allocate(&c, &relayed), 0);

	/* bob's credentials are valid, but this is alice's allocation */
	snprintf(c.user, sizeof(c.user), "%s", TPROC_USER2);
	snprintf(c.pass, sizeof(c.pass), "%s", TPROC_PASS2);
	CHECK_EQ_INT(tc_refresh(&c, 600), STUN_ERR_WRONG_CREDENTIALS);
	CHECK_EQ_INT(tc_refresh(&c, 0), STUN_ERR_WRONG_CREDENTIALS);
	CHECK_EQ_INT(tc_permission(&c, &peer), STUN_ERR_WRONG_CREDENTIALS);
	CHECK_EQ_INT(
	    tc_channel_bind(&c, 0x4000, &peer), STUN_ERR_WRONG_CREDENTIALS);
	alloc_msg(&m);
	CHECK_EQ_INT(tc_call(&c, &m, &r), STUN_ERR_ALLOCATION_MISMATCH);

	/* nor is a REST user whose id happens to be "alice" */
	snprintf(c.user, sizeof(c.user), "%s", rest_user);
	snprintf(c.pass, sizeof(c.pass), "%s", rest_pass);
	CHECK_EQ_INT(tc_refresh(&c, 600), STUN_ERR_WRONG_CREDENTIALS);
	CHECK_EQ_INT(tc_permission(&c, &peer), STUN_ERR_WRONG_CREDENTIALS);

	/* alice still owns it: none of the above touched it */
	snprintf(c.user, sizeof(c.user), "%s", TPROC_USER);
	snprintf(c.pass, sizeof(c.pass), "%s", TPROC_PASS);
	CHECK_EQ_INT(tc_permission(&c, &peer), 0);
	CHECK_EQ_INT(tc_channel_bind(&c, 0x4000, &peer), 0);
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	CHECK_EQ_INT(tc_refresh(&c, 0), STUN_ERR_ALLOCATION_MISMATCH);
	tc_close(&c);
}

int
main(void)
{
	struct tproc p;

	if (tproc_start(&p, 0, NULL) != 0) {
		CHECK(0);
		return CHECK_DONE();
	}
	test_challenge(&p);
	test_md5(&p);
	test_bad_credentials(&p);
	test_missing(&p);
	test_stale_nonce(&p);
	test_sha256(&p);
	test_rest(&p);
	test_wrong_user(&p);
	CHECK_EQ_INT(tproc_finish(&p, check_state()->failed != 0), 0);
	return CHECK_DONE();
}
