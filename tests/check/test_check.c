/*
 * turnctl's self-test (turnd/check.c) against a real turnd on loopback:
 * UDP, TCP and TLS client transports, IPv4 and IPv6, static users and
 * REST credentials minted from a secret, the table and the JSON report;
 * and the failures an operator must be able to read: wrong password and
 * wrong secret (401), peers the server refuses (403), the user's quota
 * (486), an untrusted certificate, a port where nothing listens or where
 * nothing answers (bounded by the timeout), and bad usage (exit 2).  A
 * scripted server on loopback covers what turnd will not do on demand: a
 * 438 in the middle of the credential dance, a 508, a forged
 * MESSAGE-INTEGRITY.
 */
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "stun_enc.h"
#include "stun_hdr.h"
#include "stun_integrity.h"
#include "tclient.h"
#include "tproc.h"
#include "turnd/check.h"

/* One check_run; its report is kept in out (malloc'd, caller frees). */
struct run {
	int rc;
	long long ms;
	char *out;
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
run(const struct check_opts *o, struct run *r)
{
	size_t len = 0;
	FILE *f = open_memstream(&r->out, &len);
	long long t = now_ms();

	r->rc = check_run(o, f);
	r->ms = now_ms() - t;
	fclose(f);
}

static void expect(const char *, const struct check_opts *, int, ...)
    __attribute__((sentinel));

/* Runs, checks the exit code and the strings in the report, frees. */
static void
expect(const char *what, const struct check_opts *o, int rc, ...)
{
	struct run r;
	va_list ap;
	const char *s;
	int ok;

	run(o, &r);
	ok = CHECK_MSG(r.rc == rc, "%s: exit %d, want %d", what, r.rc, rc);
	va_start(ap, rc);
	while ((s = va_arg(ap, const char *)) != NULL)
		ok &= CHECK_MSG(
		    strstr(r.out, s) != NULL, "%s: no \"%s\"", what, s);
	va_end(ap);
	if (!ok || getenv("CHECK_VERBOSE") != NULL)
		fprintf(stderr, "--- %s (%lld ms):\n%s", what, r.ms, r.out);
	free(r.out);
}

static void
opts_static(struct check_opts *o, const char *url)
{
	memset(o, 0, sizeof(*o));
	o->url = url;
	o->user = TPROC_USER;
	o->password = TPROC_PASS;
	o->timeout_ms = 3000;
}

/* Pure parts: URLs and REST credentials. */
static void
test_offline(void)
{
	static const struct {
		const char *url;
		int ok, secure, transport, is_ip;
		const char *host;
		uint16_t port;
	} t[] = {
	    {"turn:127.0.0.1", 1, 0, CHECK_T_UDP, 1, "127.0.0.1", 3478},
	    {"turn:example.org:1234?transport=tcp", 1, 0, CHECK_T_TCP, 0,
	        "example.org", 1234},
	    {"TURNS:example.org", 1, 1, CHECK_T_TCP, 0, "example.org", 5349},
	    {"turns:[::1]:443?transport=tcp", 1, 1, CHECK_T_TCP, 1, "::1", 443},
	    {"turn:[2001:db8::1]?transport=UDP", 1, 0, CHECK_T_UDP, 1,
	        "2001:db8::1", 3478},
	    {"turns:example.org?transport=udp", 0, 0, 0, 0, NULL, 0},
	    {"turn://example.org", 0, 0, 0, 0, NULL, 0},
	    {"stun:example.org", 0, 0, 0, 0, NULL, 0},
	    {"turn:", 0, 0, 0, 0, NULL, 0},
	    {"turn:host:0", 0, 0, 0, 0, NULL, 0},
	    {"turn:host:65536", 0, 0, 0, 0, NULL, 0},
	    {"turn:host:12a", 0, 0, 0, 0, NULL, 0},
	    {"turn:[::1", 0, 0, 0, 0, NULL, 0},
	    {"turn:[nothost]:1", 0, 0, 0, 0, NULL, 0},
	    {"turn:user@host", 0, 0, 0, 0, NULL, 0},
	    {"turn:host?transport=sctp", 0, 0, 0, 0, NULL, 0},
	    {"turn:host?foo=bar", 0, 0, 0, 0, NULL, 0},
	};
	char user[128], pass[64], want[64], err[200];
	long long expiry;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct check_url u;
		int r = check_url_parse(t[i].url, &u, err, sizeof(err));

		CHECK_MSG((r == 0) == t[i].ok, "%s: %d (%s)", t[i].url, r,
		    r ? err : "");
		if (r != 0 || !t[i].ok)
			continue;
		CHECK_MSG(u.secure == t[i].secure &&
		        u.transport == t[i].transport &&
		        u.host_is_ip == t[i].is_ip && u.port == t[i].port &&
		        strcmp(u.host, t[i].host) == 0,
		    "%s: parsed wrong", t[i].url);
	}

	CHECK(check_rest_credential("s3cret", 600, "turnctl-check", user,
	          sizeof(user), pass, sizeof(pass)) == 0);
	expiry = strtoll(user, NULL, 10);
	CHECK(expiry >= (long long)time(NULL) + 598 &&
	    expiry <= (long long)time(NULL) + 600);
	CHECK(strchr(user, ':') != NULL &&
	    strcmp(strchr(user, ':'), ":turnctl-check") == 0);
	tc_rest_password("s3cret", user, want);
	CHECK_EQ_STR(pass, want);
	CHECK(check_rest_credential("s3cret", 600, NULL, user, sizeof(user),
	          pass, sizeof(pass)) == 0 &&
	    strchr(user, ':') == NULL);
	CHECK(check_rest_credential(
	          "s3cret", 600, "id", user, 5, pass, sizeof(pass)) == -1);
	CHECK(check_rest_credential(
	          "s3cret", 600, "id", user, sizeof(user), pass, 28) == -1);
}

static void
test_usage(void)
{
	struct check_opts o;
	static const char *const bad[] = {"http://example.org",
	    "turn:", "turns:example.org?transport=udp", "turn:[::1"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		opts_static(&o, bad[i]);
		expect(bad[i], &o, CHECK_USAGE, NULL);
	}
	opts_static(&o, NULL);
	expect("no URL", &o, CHECK_USAGE, NULL);
	opts_static(&o, "turn:127.0.0.1");
	o.password = NULL;
	expect("no password", &o, CHECK_USAGE, NULL);
	opts_static(&o, "turn:127.0.0.1");
	o.secret = TPROC_SECRET;
	expect("secret and user", &o, CHECK_USAGE, NULL);
	opts_static(&o, "turn:127.0.0.1");
	o.count = CHECK_COUNT_MAX + 1;
	expect("count", &o, CHECK_USAGE, NULL);
	opts_static(&o, "turn:127.0.0.1");
	o.json = 1;
	o.timeout_ms = -1;
	expect("json usage", &o, CHECK_USAGE, "\"ok\":false",
	    "\"error\":\"timeout", NULL);
}

/* Nothing listens, or a socket that never answers: bounded failures. */
static void
test_unreachable(void)
{
	struct check_opts o;
	char url[64];
	uint16_t port = tproc_free_port();
	union tc_addr a;
	struct run r;
	int fd;

	snprintf(url, sizeof(url), "turn:127.0.0.1:%u", port);
	opts_static(&o, url);
	o.timeout_ms = 2000;
	run(&o, &r);
	CHECK_MSG(r.rc == CHECK_FAIL && r.ms < 2500 &&
	        strstr(r.out, "FAIL at binding") && strstr(r.out, "refused"),
	    "udp, nothing listens: %d in %lld ms:\n%s", r.rc, r.ms, r.out);
	free(r.out);

	snprintf(url, sizeof(url), "turn:127.0.0.1:%u?transport=tcp", port);
	opts_static(&o, url);
	o.timeout_ms = 2000;
	run(&o, &r);
	CHECK_MSG(r.rc == CHECK_FAIL && r.ms < 2500 &&
	        strstr(r.out, "FAIL at connect") && strstr(r.out, "refused"),
	    "tcp, nothing listens: %d in %lld ms:\n%s", r.rc, r.ms, r.out);
	free(r.out);

	/* a socket that takes datagrams and never answers: retransmit,
	 * then give up at the timeout */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	tc_addr_parse(&a, "127.0.0.1", port);
	CHECK(fd != -1 && bind(fd, &a.sa, sizeof(a.in)) == 0);
	snprintf(url, sizeof(url), "turn:127.0.0.1:%u", port);
	opts_static(&o, url);
	o.timeout_ms = 1600;
	o.json = 1;
	run(&o, &r);
	CHECK_MSG(r.rc == CHECK_FAIL && r.ms >= 1500 && r.ms < 2500 &&
	        strstr(r.out, "\"failed_step\":\"binding\"") &&
	        strstr(r.out, "no answer within 1600 ms"),
	    "udp, silent: %d in %lld ms:\n%s", r.rc, r.ms, r.out);
	free(r.out);
	if (fd != -1) {
		char buf[64];
		int n = 0;

		/* 0, 500 and 1500 ms: three sends within 1.6 s (two if
		 * the machine is too busy to wake at 1500) */
		while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			n++;
		CHECK_MSG(n == 2 || n == 3, "%d Binding requests, want 3", n);
		close(fd);
	}
}

/*
 * A scripted UDP server: Binding answered; Allocate without credentials
 * gets 401 with nonce-1, with nonce-1 a 438 and nonce-2, with nonce-2 the
 * answer alloc_code says (0 success, 1 success with a wrong
 * MESSAGE-INTEGRITY, else that error code); CreatePermission gets 403
 * (or succeeds, with perm_ok, though nothing is ever relayed) and Refresh
 * succeeds.  It counts what it answered.
 */
#define FAKE_REALM "fake.test"

struct fake {
	int fd;
	uint16_t port;
	int alloc_code;
	int perm_ok; /* CreatePermission succeeds; nothing is relayed */
	pthread_t th;
	volatile int stop;
	int n401, n438, n_alloc_ok, n_refresh;
};

static void
fake_answer(struct fake *f, const struct stun_msg *m, const union tc_addr *to)
{
	uint8_t out[512], key[STUN_KEY_MAX];
	struct stun_enc e;
	struct stun_addr a;
	int keylen, code = 0, n, sign = 1;
	const char *nonce = NULL;

	keylen = stun_key_long_term(STUN_PWALG_MD5, TPROC_USER,
	    strlen(TPROC_USER), FAKE_REALM, strlen(FAKE_REALM), TPROC_PASS,
	    strlen(TPROC_PASS), key);
	if (m->method == STUN_METHOD_ALLOCATE) {
		if (!STUN_HAS(m, NONCE)) {
			code = 401;
			nonce = "nonce-1";
			f->n401++;
		} else if (m->nonce.len == 7 &&
		    memcmp(m->nonce.p, "nonce-1", 7) == 0) {
			code = 438;
			nonce = "nonce-2";
			f->n438++;
		} else if (stun_msg_check_integrity(
		               m, key, (size_t)keylen, NULL) != 0) {
			code = 401;
			nonce = "nonce-2";
		} else if (f->alloc_code > 1)
			code = f->alloc_code;
		else {
			sign = f->alloc_code == 0 ? 1 : -1;
			f->n_alloc_ok++;
		}
	} else if (m->method == STUN_METHOD_CREATE_PERMISSION && !f->perm_ok)
		code = 403;
	else if (m->method == STUN_METHOD_REFRESH)
		f->n_refresh++;
	stun_enc_init(&e, out, sizeof(out),
	    stun_type(m->method, code ? STUN_CLASS_ERROR : STUN_CLASS_SUCCESS),
	    m->txid);
	if (code != 0) {
		stun_enc_error(&e, (uint16_t)code, NULL);
		if (nonce != NULL) {
			stun_enc_str(&e, STUN_ATTR_REALM, FAKE_REALM);
			stun_enc_str(&e, STUN_ATTR_NONCE, nonce);
		}
	} else {
		tc_addr_to_stun(&a, to);
		stun_enc_xaddr(&e, STUN_ATTR_XOR_MAPPED_ADDRESS, &a);
		if (m->method == STUN_METHOD_ALLOCATE) {
			a.port = 9;
			stun_enc_xaddr(&e, STUN_ATTR_XOR_RELAYED_ADDRESS, &a);
			stun_enc_u32(&e, STUN_ATTR_LIFETIME, 600);
		}
		if (m->method == STUN_METHOD_REFRESH)
			stun_enc_u32(&e, STUN_ATTR_LIFETIME, 0);
		if (m->method != STUN_METHOD_BINDING) {
			key[0] = (uint8_t)(key[0] + (sign < 0));
			stun_enc_integrity(&e, key, (size_t)keylen);
		}
	}
	n = stun_enc_finish(&e);
	if (n > 0)
		sendto(f->fd, out, (size_t)n, 0, &to->sa, sizeof(to->in));
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;

	while (!f->stop) {
		struct pollfd pfd = {.fd = f->fd, .events = POLLIN};
		uint8_t buf[2048];
		union tc_addr from;
		socklen_t flen = sizeof(from);
		struct stun_msg m;
		ssize_t n;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recvfrom(f->fd, buf, sizeof(buf), 0, &from.sa, &flen);
		if (n > 0 && stun_msg_decode(&m, buf, (size_t)n) == 0 &&
		    m.cls == STUN_CLASS_REQUEST)
			fake_answer(f, &m, &from);
	}
	return NULL;
}

static int
fake_start(struct fake *f, int alloc_code, int perm_ok)
{
	union tc_addr a;
	socklen_t len = sizeof(a);

	memset(f, 0, sizeof(*f));
	f->alloc_code = alloc_code;
	f->perm_ok = perm_ok;
	f->fd = socket(AF_INET, SOCK_DGRAM, 0);
	tc_addr_parse(&a, "127.0.0.1", 0);
	if (f->fd == -1 || bind(f->fd, &a.sa, sizeof(a.in)) != 0 ||
	    getsockname(f->fd, &a.sa, &len) != 0 ||
	    pthread_create(&f->th, NULL, fake_main, f) != 0)
		return -1;
	f->port = tc_addr_port(&a);
	return 0;
}

static void
fake_stop(struct fake *f)
{
	f->stop = 1;
	pthread_join(f->th, NULL);
	close(f->fd);
}

static void
test_scripted(void)
{
	struct fake f;
	struct check_opts o;
	char url[64];
	struct run r;

	/* 401, then 438 with a new nonce, then success */
	if (!CHECK(fake_start(&f, 0, 0) == 0))
		return;
	snprintf(url, sizeof(url), "turn:127.0.0.1:%u", f.port);
	opts_static(&o, url);
	expect("438", &o, CHECK_FAIL, "allocate      ok",
	    "realm \"fake.test\", MD5", "FAIL at permission: 403",
	    "deallocate    ok", NULL);
	fake_stop(&f);
	CHECK(f.n401 == 1 && f.n438 == 1 && f.n_alloc_ok == 1 &&
	    f.n_refresh == 1);

	if (!CHECK(fake_start(&f, 508, 0) == 0))
		return;
	snprintf(url, sizeof(url), "turn:127.0.0.1:%u", f.port);
	opts_static(&o, url);
	expect("508", &o, CHECK_FAIL,
	    "FAIL at allocate: 508 Insufficient "
	    "Capacity: insufficient capacity",
	    NULL);
	fake_stop(&f);

	if (!CHECK(fake_start(&f, 1, 0) == 0))
		return;
	snprintf(url, sizeof(url), "turn:127.0.0.1:%u", f.port);
	opts_static(&o, url);
	expect("forged integrity", &o, CHECK_FAIL,
	    "FAIL at allocate: the answer's MESSAGE-INTEGRITY does not verify",
	    NULL);
	fake_stop(&f);

	/* a relay that relays nothing: the probe gives up at the timeout */
	if (!CHECK(fake_start(&f, 0, 1) == 0))
		return;
	snprintf(url, sizeof(url), "turn:127.0.0.1:%u", f.port);
	opts_static(&o, url);
	o.timeout_ms = 1500;
	run(&o, &r);
	CHECK_MSG(r.rc == CHECK_FAIL && r.ms >= 1500 && r.ms < 2500 &&
	        strstr(r.out, "FAIL at probe") &&
	        strstr(r.out, "not relayed back within 1500 ms") &&
	        strstr(r.out, "deallocate    ok"),
	    "no relaying: %d in %lld ms:\n%s", r.rc, r.ms, r.out);
	free(r.out);
	fake_stop(&f);
}

static void
test_daemon(void)
{
	struct tproc p;
	struct check_opts o;
	char udp[64], udp6[64], tcp[64], tls[64], tlsname[64];
	struct run r;

	if (!CHECK(tproc_start(&p, TPROC_TCP | TPROC_TLS, NULL) == 0))
		return;
	snprintf(udp, sizeof(udp), "turn:127.0.0.1:%u", p.port);
	snprintf(udp6, sizeof(udp6), "turn:[::1]:%u?transport=udp", p.port);
	snprintf(tcp, sizeof(tcp), "turn:127.0.0.1:%u?transport=tcp", p.port);
	snprintf(tls, sizeof(tls), "turns:127.0.0.1:%u", p.tls_port);
	snprintf(tlsname, sizeof(tlsname), "turns:localhost:%u", p.tls_port);

	opts_static(&o, udp);
	expect("udp", &o, CHECK_PASS, "PASS: 5+5 datagrams",
	    "reflexive 127.0.0.1:", "relayed 127.0.0.1:", "SHA-256",
	    "5/5 intact", "Refresh LIFETIME 0 accepted", NULL);

	opts_static(&o, udp);
	o.user = o.password = NULL;
	o.secret = TPROC_SECRET2;
	o.count = 20;
	o.json = 1;
	run(&o, &r);
	CHECK_MSG(r.rc == CHECK_PASS && strstr(r.out, "\"ok\":true") &&
	        strstr(r.out,
	            "\"send\":{\"sent\":20,\"received\":20,\"lost\":0,"
	            "\"corrupt\":0,\"rtt_ms\":{") &&
	        strstr(r.out, "\"channel\":{\"sent\":20,\"received\":20") &&
	        strstr(r.out, ":turnctl-check\"") &&
	        strstr(r.out, "\"step\":\"deallocate\",\"result\":\"ok\"") &&
	        r.out[strlen(r.out) - 1] == '\n' && r.out[0] == '{',
	    "udp, secret, json: %d\n%s", r.rc, r.out);
	free(r.out);

	opts_static(&o, udp6);
	expect("udp6", &o, CHECK_PASS,
	    "reflexive [::1]:", "relayed [::1]:", "peer [::1]:", NULL);

	opts_static(&o, tcp);
	expect("tcp", &o, CHECK_PASS, "TCP 127.0.0.1:", "5/5 intact", NULL);

	opts_static(&o, tcp);
	o.user = o.password = NULL;
	o.secret = TPROC_SECRET;
	expect("tcp, secret", &o, CHECK_PASS, "user REST", NULL);

	opts_static(&o, tls);
	o.ca_file = p.ca;
	expect("tls", &o, CHECK_PASS, "ALPN stun.turn", "certificate verified",
	    "PASS", NULL);

	opts_static(&o, tlsname);
	o.ca_file = p.ca;
	expect("tls by name", &o, CHECK_PASS, "certificate verified", NULL);

	opts_static(&o, tls);
	expect("tls, system store", &o, CHECK_FAIL, "FAIL at connect",
	    "certificate not trusted", NULL);

	opts_static(&o, tls);
	o.insecure = 1;
	expect("tls, insecure", &o, CHECK_PASS, "NOT verified", NULL);

	opts_static(&o, udp);
	o.password = "wrong";
	expect("wrong password", &o, CHECK_FAIL, "FAIL at allocate: 401",
	    "wrong credentials or expired REST username", NULL);

	opts_static(&o, tcp);
	o.user = o.password = NULL;
	o.secret = "not-the-secret";
	o.json = 1;
	expect("wrong secret", &o, CHECK_FAIL, "\"code\":401",
	    "\"failed_step\":\"allocate\"", "expired REST username", NULL);

	CHECK(tproc_finish(&p, check_state()->failed != 0) == 0);
}

/* The server's policy refuses loopback peers: 403 on the permission. */
static void
test_peer_denied(void)
{
	struct tproc p;
	struct check_opts o;
	char url[64];

	if (!CHECK(tproc_start(&p, TPROC_NO_PEER_ALLOW, NULL) == 0))
		return;
	snprintf(url, sizeof(url), "turn:127.0.0.1:%u", p.port);
	opts_static(&o, url);
	expect("peer denied", &o, CHECK_FAIL, "FAIL at permission: 403",
	    "refuses to relay", "(peer 127.0.0.1)", "deallocate    ok", NULL);
	CHECK(tproc_finish(&p, check_state()->failed != 0) == 0);
}

/*
 * One allocation per user: two checks in a row pass only if the first
 * deallocated; with the one allocation held elsewhere, 486.
 */
static void
test_quota(void)
{
	struct tproc p;
	struct check_opts o;
	struct tc c;
	union tc_addr relayed;
	char url[64];

	if (!CHECK(tproc_start(&p, 0,
	               "quotas = { unauth_per_source = 0; "
	               "allocations_per_user = 1; };") == 0))
		return;
	snprintf(url, sizeof(url), "turn:127.0.0.1:%u", p.port);
	opts_static(&o, url);
	expect("quota, first", &o, CHECK_PASS, "PASS", NULL);
	expect("quota, second", &o, CHECK_PASS, "PASS", NULL);
	CHECK(tc_open(&c, "127.0.0.1", p.port, TPROC_USER, TPROC_PASS) == 0);
	CHECK(tc_allocate(&c, &relayed) == 0);
	expect("quota", &o, CHECK_FAIL, "FAIL at allocate: 486",
	    "quota reached", NULL);
	tc_refresh(&c, 0);
	tc_close(&c);
	CHECK(tproc_finish(&p, check_state()->failed != 0) == 0);
}

int
main(void)
{
	test_offline();
	test_usage();
	test_unreachable();
	test_scripted();
	test_daemon();
	test_peer_denied();
	test_quota();
	return CHECK_DONE();
}
