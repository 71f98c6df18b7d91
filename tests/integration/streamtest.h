/*
 * What the TCP and TLS integration tests share: a stream client to a
 * tproc turnd (TLS with ALPN stun.turn, verified against the test CA),
 * Binding requests sent and awaited by hand, a peer that must receive
 * exactly some bytes, an allocation with a channel, and a stop that lets
 * turnd see its last clients go.  Header-only, like check.h.
 */
#ifndef TURND_TESTS_STREAMTEST_H
#define TURND_TESTS_STREAMTEST_H

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "tclient.h"
#include "tproc.h"

#define ST_CHAN 0x4001 /* the channel the tests bind */

static inline const char *
st_tname(int transport)
{
	return transport == TC_TLS ? "tls" : "tcp";
}

static inline void
st_sleep_ms(int ms)
{
	usleep((useconds_t)ms * 1000);
}

/*
 * Stops turnd once it has seen the clients that just closed (stopping with
 * closes in flight is test_tcp_limits.c's test_shutdown); a non-zero
 * status (sanitizer reports included) fails the group.
 */
static inline void
st_finish(struct tproc *p, const char *group)
{
	int st;

	st_sleep_ms(200);
	st = tproc_finish(p, check_state()->failed != 0);
	CHECK_MSG(st == 0, "%s: turnd exited with %d", group, st);
}

/* A stream client of the test user (TLS: ALPN stun.turn, verified). */
static inline int
st_open_as(struct tc *c, const struct tproc *p, int transport, const char *ip,
    const char *local_ip)
{
	struct tc_stream s;

	memset(&s, 0, sizeof(s));
	s.transport = transport;
	s.local_ip = local_ip;
	if (transport == TC_TLS) {
		s.alpn = "stun.turn";
		s.ca_file = p->ca;
	}
	return tc_open_stream(c, &s, ip,
	    transport == TC_TLS ? p->tls_port : p->port, TPROC_USER,
	    TPROC_PASS);
}

static inline int
st_open(struct tc *c, const struct tproc *p, int transport, const char *ip)
{
	return st_open_as(c, p, transport, ip, NULL);
}

static inline int
st_binding(struct tc *c)
{
	struct tc_msg m;
	struct tc_resp r;

	tcm_init(&m, STUN_METHOD_BINDING);
	return tc_transact(c, &m, &r);
}

/* Encodes a Binding request into buf; returns its length. */
static inline size_t
st_binding_req(struct tc *c, uint8_t *buf, size_t cap, uint8_t txid[12])
{
	struct tc_msg m;
	int n;

	tcm_init(&m, STUN_METHOD_BINDING);
	n = tc_encode(c, &m, buf, cap, txid);
	return n > 0 ? (size_t)n : 0;
}

/*
 * Waits for the response to txid, skipping other frames.  Returns 0 for
 * a success, 1 for an error response, -1 for none.
 */
static inline int
st_await(struct tc *c, const uint8_t txid[12], int timeout_ms)
{
	long long deadline = tc_now_ms() + timeout_ms;
	uint8_t buf[4096];

	while (tc_now_ms() < deadline) {
		struct stun_msg m;
		int n = tc_recv_raw(
		    c, buf, sizeof(buf), (int)(deadline - tc_now_ms()));

		if (n < 0)
			return -1;
		if ((size_t)n > sizeof(buf) ||
		    stun_msg_decode(&m, buf, (size_t)n) != 0 ||
		    memcmp(m.txid, txid, 12) != 0)
			continue;
		if (m.cls == STUN_CLASS_SUCCESS)
			return 0;
		if (m.cls == STUN_CLASS_ERROR)
			return 1;
	}
	return -1;
}

/* The peer receives exactly data[0..len) from the relayed address. */
static inline void
st_peer_expect(struct tpeer *peer, const union tc_addr *relayed,
    const void *data, size_t len, const char *what)
{
	uint8_t buf[2048];
	union tc_addr from;
	int n = tpeer_recv(peer, buf, sizeof(buf), &from, 1000);

	CHECK_MSG(
	    n == (int)len, "%s: peer got %d bytes, want %zu", what, n, len);
	CHECK_MSG(n == (int)len && memcmp(buf, data, len) == 0,
	    "%s: peer got other bytes", what);
	CHECK_MSG(n < 0 || tc_addr_eq(&from, relayed),
	    "%s: not from the relayed address", what);
}

/*
 * Allocated in the server address's family (RFC 8656: IPv4 unless asked),
 * with a permission and channel ST_CHAN for peer.
 */
static inline int
st_setup_channel(struct tc *c, const struct tpeer *peer, union tc_addr *relayed)
{
	if (tc_allocate_family(c,
	        c->server.sa.sa_family == AF_INET6 ? STUN_AF_IPV6
	                                           : STUN_AF_IPV4,
	        relayed) != 0 ||
	    tc_permission(c, &peer->addr) != 0 ||
	    tc_channel_bind(c, ST_CHAN, &peer->addr) != 0)
		return -1;
	return 0;
}

static inline void
st_fill(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + 1);
}

#endif
