/*
 * TURN over TLS (RFC 8656 section 3.1, ALPN "stun.turn" of RFC 7443)
 * against a real turnd with a certificate made at test time: the chain
 * verifies against the test CA for 127.0.0.1 and ::1, ALPN is selected
 * when offered and not needed when not, TLS 1.2 and 1.3 are accepted and
 * TLS 1.1 refused, a plain TCP client on the TLS port is closed, and
 * start-up fails with the file named when the key does not match the
 * certificate or a file cannot be read.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "tclient.h"
#include "tproc.h"

static int
tls_open(struct tc *c, const struct tproc *p, const char *ip, const char *alpn,
    int version)
{
	struct tc_stream s;

	memset(&s, 0, sizeof(s));
	s.transport = TC_TLS;
	s.alpn = alpn;
	s.ca_file = p->ca;
	s.tls_version = version;
	return tc_open_stream(c, &s, ip, p->tls_port, TPROC_USER, TPROC_PASS);
}

static int
binding(struct tc *c)
{
	struct tc_msg m;
	struct tc_resp r;

	tcm_init(&m, STUN_METHOD_BINDING);
	return tc_transact(c, &m, &r);
}

static void
test_handshakes(const struct tproc *p)
{
	static const char *const ips[] = {"127.0.0.1", "::1"};
	struct tc c;
	struct tpeer peer;
	union tc_addr relayed;
	uint8_t buf[64];

	for (int i = 0; i < 2; i++) {
		/* verified against the CA, for the address itself */
		CHECK_MSG(tls_open(&c, p, ips[i], "stun.turn", 0) == 0,
		    "%s: handshake with ALPN: %s", ips[i], c.tls_error);
		CHECK_EQ_STR(c.alpn, "stun.turn");
		CHECK_MSG(c.tls_version >= TLS1_2_VERSION, "%s: version %#x",
		    ips[i], c.tls_version);
		CHECK_MSG(binding(&c) == 0, "%s: Binding over TLS", ips[i]);
		tc_close(&c);
	}

	/* no ALPN offered: TURN all the same, nothing selected */
	CHECK_MSG(tls_open(&c, p, "127.0.0.1", NULL, 0) == 0,
	    "handshake without ALPN: %s", c.tls_error);
	CHECK_EQ_STR(c.alpn, "");
	CHECK(binding(&c) == 0);
	tc_close(&c);

	/* only another protocol offered: no ALPN answer, still TURN */
	CHECK_MSG(tls_open(&c, p, "127.0.0.1", "h2", 0) == 0,
	    "handshake offering h2: %s", c.tls_error);
	CHECK_EQ_STR(c.alpn, "");
	CHECK(binding(&c) == 0);
	tc_close(&c);

	/* the certificate names localhost too */
	{
		struct tc_stream s;

		memset(&s, 0, sizeof(s));
		s.transport = TC_TLS;
		s.ca_file = p->ca;
		s.verify_name = "localhost";
		CHECK_MSG(tc_open_stream(&c, &s, "127.0.0.1", p->tls_port, NULL,
		              NULL) == 0,
		    "verify as localhost: %s", c.tls_error);
		tc_close(&c);
		/* and checking does check: another name fails */
		s.verify_name = "turn.example.org";
		CHECK_MSG(tc_open_stream(&c, &s, "127.0.0.1", p->tls_port, NULL,
		              NULL) != 0,
		    "a wrong name verified");
		tc_close(&c);
	}

	/* TLS 1.2 and 1.3 accepted */
	CHECK_MSG(
	    tls_open(&c, p, "127.0.0.1", "stun.turn", TLS1_2_VERSION) == 0,
	    "TLS 1.2: %s", c.tls_error);
	CHECK_EQ_INT(c.tls_version, TLS1_2_VERSION);
	CHECK(binding(&c) == 0);
	tc_close(&c);
	CHECK_MSG(
	    tls_open(&c, p, "127.0.0.1", "stun.turn", TLS1_3_VERSION) == 0,
	    "TLS 1.3: %s", c.tls_error);
	CHECK_EQ_INT(c.tls_version, TLS1_3_VERSION);
	CHECK(binding(&c) == 0);
	tc_close(&c);

	/*
	 * TLS 1.1 refused by the server: its protocol_version alert, not our
	 * own library declining to offer the version.
	 */
	CHECK_MSG(
	    tls_open(&c, p, "127.0.0.1", "stun.turn", TLS1_1_VERSION) != 0,
	    "TLS 1.1 accepted");
	CHECK_MSG(strstr(c.tls_error, "alert protocol version") != NULL,
	    "TLS 1.1 not refused by the server: %s", c.tls_error);
	tc_close(&c);

	/* allocation and data over TLS after all of that */
	CHECK(tls_open(&c, p, "127.0.0.1", "stun.turn", 0) == 0);
	CHECK(tpeer_open(&peer, "127.0.0.1") == 0);
	CHECK_EQ_INT(tc_allocate(&c, &relayed), 0);
	CHECK_EQ_INT(tc_permission(&c, &peer.addr), 0);
	CHECK(tc_send_ind(&c, &peer.addr, "over tls", 8) == 0);
	CHECK_EQ_INT(tpeer_recv(&peer, buf, sizeof(buf), NULL, 1000), 8);
	CHECK(tpeer_send(&peer, &relayed, "back", 4) == 0);
	CHECK_EQ_INT(tc_recv_data(&c, buf, sizeof(buf), NULL, NULL, 1000), 4);
	tpeer_close(&peer);
	tc_close(&c);
}

/* A plain TCP client on the TLS port: no answer, closed. */
static void
test_plain_on_tls(const struct tproc *p)
{
	struct tc_stream s;
	struct tc c;
	struct tc_msg m;
	struct tc_resp r;

	memset(&s, 0, sizeof(s));
	s.transport = TC_TCP;
	CHECK(
	    tc_open_stream(&c, &s, "127.0.0.1", p->tls_port, NULL, NULL) == 0);
	c.tries = 1;
	c.timeout_ms = 1000;
	tcm_init(&m, STUN_METHOD_BINDING);
	CHECK_MSG(tc_transact(&c, &m, &r) < 0,
	    "STUN answered on the TLS "
	    "port");
	CHECK_MSG(tc_wait_closed(&c, 2000) >= 0,
	    "plain TCP on the TLS port "
	    "not closed");
	tc_close(&c);

	/* a TLS client after it is served */
	CHECK(tls_open(&c, p, "127.0.0.1", "stun.turn", 0) == 0);
	CHECK(binding(&c) == 0);
	tc_close(&c);
}

/*
 * A log line naming key and saying that it does not match the
 * certificate, in turnd's words or OpenSSL's ("key values mismatch").
 */
static int
mismatch_line(const struct tproc *p, const char *key, char *line, size_t len)
{
	return tproc_log_find(
	           p, line, len, key, "does not match", (char *)NULL) ||
	    tproc_log_find(p, line, len, key, "mismatch", (char *)NULL);
}

/*
 * Start-up with bad TLS material: turnd exits non-zero at once, with a
 * line naming the file and what is wrong with it.
 */
static void
test_startup_errors(void)
{
	struct tproc p;
	char line[1024];
	int st;

	/*
	 * A key that is not the certificate's: of the same type (OpenSSL
	 * refuses it as it loads), then of another type (it loads, and the
	 * pair fails the check after).
	 */
	st = tproc_run(&p, TPROC_TCP | TPROC_TLS | TPROC_NO_IPV6,
	    "tls = { certificate = \"@DIR@/cert.pem\"; "
	    "private_key = \"@DIR@/other-key.pem\"; };",
	    5000);
	CHECK_MSG(st > 0, "mismatched key: exit status %d", st);
	CHECK_MSG(mismatch_line(&p, p.other_key, line, sizeof(line)),
	    "mismatched key: no line naming %s and saying it does not match",
	    p.other_key);
	tproc_finish(&p, check_state()->failed != 0);

	st = tproc_run(&p, TPROC_TCP | TPROC_TLS | TPROC_NO_IPV6,
	    "tls = { certificate = \"@DIR@/cert.pem\"; "
	    "private_key = \"@DIR@/rsa-key.pem\"; };",
	    5000);
	CHECK_MSG(st > 0, "key of another type: exit status %d", st);
	CHECK_MSG(mismatch_line(&p, p.rsa_key, line, sizeof(line)),
	    "key of another type: no line naming %s and saying it does not "
	    "match",
	    p.rsa_key);
	tproc_finish(&p, check_state()->failed != 0);

	/* a certificate that is not there */
	st = tproc_run(&p, TPROC_TCP | TPROC_TLS | TPROC_NO_IPV6,
	    "tls = { certificate = \"@DIR@/missing.pem\"; "
	    "private_key = \"@DIR@/key.pem\"; };",
	    5000);
	CHECK_MSG(st > 0, "missing certificate: exit status %d", st);
	CHECK_MSG(
	    tproc_log_find(&p, line, sizeof(line), "missing.pem", (char *)NULL),
	    "missing certificate: the file is not named");
	tproc_finish(&p, check_state()->failed != 0);

	/* a certificate file that holds no certificate */
	st = tproc_run(&p, TPROC_TCP | TPROC_TLS | TPROC_NO_IPV6,
	    "tls = { certificate = \"@DIR@/turnd.conf\"; "
	    "private_key = \"@DIR@/key.pem\"; };",
	    5000);
	CHECK_MSG(st > 0, "not a certificate: exit status %d", st);
	CHECK_MSG(tproc_log_find(&p, line, sizeof(line), "turnd.conf",
	              "certificate", (char *)NULL),
	    "not a certificate: the file is not "
	    "named");
	tproc_finish(&p, check_state()->failed != 0);

	/* a key that is not there */
	st = tproc_run(&p, TPROC_TCP | TPROC_TLS | TPROC_NO_IPV6,
	    "tls = { certificate = \"@DIR@/cert.pem\"; "
	    "private_key = \"@DIR@/missing-key.pem\"; };",
	    5000);
	CHECK_MSG(st > 0, "missing key: exit status %d", st);
	CHECK_MSG(tproc_log_find(
	              &p, line, sizeof(line), "missing-key.pem", (char *)NULL),
	    "missing key: the file is not named");
	tproc_finish(&p, check_state()->failed != 0);

	/* and the right pair starts */
	CHECK(
	    tproc_start(&p, TPROC_TCP | TPROC_TLS | TPROC_NO_IPV6, NULL) == 0);
	CHECK_EQ_INT(tproc_finish(&p, check_state()->failed != 0), 0);
}

int
main(void)
{
	struct tproc p;

	if (tproc_start(&p, TPROC_TCP | TPROC_TLS, NULL) != 0) {
		CHECK(0);
		return CHECK_DONE();
	}
	test_handshakes(&p);
	test_plain_on_tls(&p);
	usleep(200000); /* let turnd see the last close before stopping */
	CHECK_EQ_INT(tproc_finish(&p, check_state()->failed != 0), 0);
	test_startup_errors();
	return CHECK_DONE();
}
