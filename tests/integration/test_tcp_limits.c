/*
 * The limits of TCP and TLS client connections against a real turnd on
 * loopback: oversize frames, the idle and partial-frame deadlines
 * (tcp.idle_timeout_ms), the caps per source and in total, the allocation
 * dying with its connection (RFC 8656 section 3.1), a slow reader flooded
 * through its relay (tcp.buffer_max), and a clean stop while clients go.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chandata.h"
#include "check.h"
#include "streamtest.h"
#include "tclient.h"
#include "tproc.h"

/*
 * Frames over the server's limit (16 KiB) are refused as soon as their
 * header is in, well before the idle deadline (1 s here).
 */
static void
test_oversize(const struct tproc *p, int transport)
{
	const char *w = st_tname(transport);
	struct tc c;
	uint8_t *big = calloc(1, 16384), txid[12];
	size_t n;
	int ms;

	if (big == NULL) {
		CHECK(0);
		return;
	}
	/* a STUN header announcing a body of 16 KiB */
	CHECK(st_open(&c, p, transport, "127.0.0.1") == 0);
	n = st_binding_req(&c, big, 64, txid);
	big[2] = 0x40;
	big[3] = 0x00;
	CHECK(tc_send_raw(&c, big, n) == 0);
	ms = tc_wait_closed(&c, 2500);
	CHECK_MSG(ms >= 0 && ms < 800,
	    "%s: STUN frame of 16 KiB + 20: "
	    "closed after %d ms",
	    w, ms);
	tc_close(&c);

	/* 64 KiB announced, 10 bytes sent: closed, at once or by deadline */
	CHECK(st_open(&c, p, transport, "127.0.0.1") == 0);
	n = st_binding_req(&c, big, 64, txid);
	big[2] = 0xff;
	big[3] = 0xfc;
	CHECK(tc_send_raw(&c, big, 10) == 0);
	ms = tc_wait_closed(&c, 2500);
	CHECK_MSG(ms >= 0, "%s: STUN frame of 64 KiB, 10 bytes sent: open", w);
	tc_close(&c);

	CHECK(st_open(&c, p, transport, "127.0.0.1") == 0);
	chandata_hdr(big, ST_CHAN, 0xffff);
	memset(big + 4, 0x55, 6);
	CHECK(tc_send_raw(&c, big, 10) == 0);
	ms = tc_wait_closed(&c, 2500);
	CHECK_MSG(ms >= 0, "%s: ChannelData of 64 KiB, 10 bytes sent: open", w);
	tc_close(&c);

	/* a frame of exactly 16 KiB is not refused for its size */
	CHECK(st_open(&c, p, transport, "127.0.0.1") == 0);
	n = st_binding_req(&c, big, 64, txid);
	big[2] = (16384 - 20) >> 8;
	big[3] = (16384 - 20) & 0xff;
	big[20] = 0x80; /* a comprehension-optional attribute */
	big[21] = 0x7f;
	big[22] = (16384 - 24) >> 8;
	big[23] = (16384 - 24) & 0xff;
	CHECK(tc_send_raw(&c, big, 16384) == 0);
	st_await(&c, txid, 500);
	CHECK_MSG(!c.closed && st_binding(&c) == 0,
	    "%s: frame of 16384 bytes "
	    "closed the connection",
	    w);
	tc_close(&c);
	free(big);
}

/*
 * Deadlines, with tcp.idle_timeout_ms = 1000 (its minimum).  The rules
 * for connections with allocations are the same on TCP and TLS: full
 * runs them too.
 */
static void
test_idle(const struct tproc *p, int transport, int full)
{
	const char *w = st_tname(transport);
	struct tc c, quiet;
	struct tpeer peer;
	union tc_addr relayed;
	uint8_t hdr[20], txid[12];
	long long t0;
	int ms, i;

	/* sends nothing */
	t0 = tc_now_ms();
	CHECK(st_open(&quiet, p, transport, "127.0.0.1") == 0);
	ms = tc_wait_closed(&quiet, 3000);
	ms = ms < 0 ? -1 : (int)(tc_now_ms() - t0);
	CHECK_MSG(ms >= 900 && ms <= 2500,
	    "%s: silent connection closed "
	    "after %d ms, want about 1000",
	    w, ms);
	tc_close(&quiet);

	/* one byte every 200 ms of a frame that never completes */
	CHECK(st_open(&c, p, transport, "127.0.0.1") == 0);
	st_binding_req(&c, hdr, sizeof(hdr), txid);
	hdr[2] = 0x01; /* 400 bytes announced */
	hdr[3] = 0x90;
	t0 = tc_now_ms();
	for (i = 0; i < 20 && !c.closed; i++) {
		if (tc_send_raw(&c, hdr + i, 1) != 0)
			break;
		if (tc_wait_closed(&c, 200) >= 0)
			break;
	}
	ms = c.closed || tc_wait_closed(&c, 10) >= 0 ? (int)(tc_now_ms() - t0)
	                                             : -1;
	CHECK_MSG(ms >= 0 && ms <= 2500,
	    "%s: a frame dripping a byte every "
	    "200 ms: closed after %d ms",
	    w, ms);
	tc_close(&c);
	if (!full)
		return;

	/* valid requests keep a connection open */
	CHECK(st_open(&c, p, transport, "127.0.0.1") == 0);
	for (i = 0; i < 8; i++) {
		CHECK_MSG(
		    st_binding(&c) == 0, "%s: keep-alive Binding %d", w, i);
		st_sleep_ms(300);
	}
	CHECK(!c.closed);
	tc_close(&c);

	/* an allocation keeps its connection open however quiet */
	CHECK(st_open(&c, p, transport, "127.0.0.1") == 0);
	CHECK(tpeer_open(&peer, "127.0.0.1") == 0);
	CHECK_EQ_INT(tc_allocate(&c, &relayed), 0);
	CHECK_EQ_INT(tc_permission(&c, &peer.addr), 0);
	CHECK_MSG(tc_wait_closed(&c, 2500) < 0,
	    "%s: connection with an "
	    "allocation closed while idle",
	    w);
	CHECK_MSG(tc_refresh(&c, 600) == 0, "%s: Refresh after 2.5 s idle", w);
	CHECK(tc_send_ind(&c, &peer.addr, "still here", 10) == 0);
	st_peer_expect(&peer, &relayed, "still here", 10, "idle allocation");
	/* once the allocation is gone the idle rule is back */
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	ms = tc_wait_closed(&c, 3000);
	CHECK_MSG(ms >= 0 && ms <= 2500,
	    "%s: after deleting the allocation: "
	    "closed after %d ms",
	    w, ms);
	tc_close(&c);

	/* but it must still complete the frames it starts */
	CHECK(st_open(&c, p, transport, "127.0.0.1") == 0);
	CHECK_EQ_INT(tc_allocate(&c, &relayed), 0);
	st_binding_req(&c, hdr, sizeof(hdr), txid);
	hdr[2] = 0x01;
	hdr[3] = 0x90;
	CHECK(tc_send_raw(&c, hdr, sizeof(hdr)) == 0);
	ms = tc_wait_closed(&c, 3000);
	CHECK_MSG(ms >= 0 && ms <= 2500,
	    "%s: allocated connection with a "
	    "partial frame: closed after %d ms",
	    w, ms);
	tc_close(&c);
	tpeer_close(&peer);
}

/* tcp.max_per_source = 3: TCP and TLS connections share the count. */
static void
test_per_source(void)
{
	struct tproc p;
	struct tc c[3], extra, tls_extra;
	int ms;

	if (tproc_start(&p, TPROC_TCP | TPROC_TLS | TPROC_NO_IPV6,
	        "tcp = { max_per_source = 3; };") != 0) {
		CHECK(0);
		return;
	}
	CHECK(st_open(&c[0], &p, TC_TCP, "127.0.0.1") == 0);
	CHECK(st_open(&c[1], &p, TC_TCP, "127.0.0.1") == 0);
	CHECK(st_open(&c[2], &p, TC_TLS, "127.0.0.1") == 0);
	for (int i = 0; i < 3; i++)
		CHECK_MSG(
		    st_binding(&c[i]) == 0, "per source: connection %d", i + 1);
	/* the fourth is accepted by the kernel and closed by turnd at once */
	CHECK(st_open(&extra, &p, TC_TCP, "127.0.0.1") == 0);
	ms = tc_wait_closed(&extra, 1000);
	CHECK_MSG(ms >= 0 && ms < 500,
	    "per source: 4th connection closed "
	    "after %d ms",
	    ms);
	tc_close(&extra);
	CHECK_MSG(st_open(&tls_extra, &p, TC_TLS, "127.0.0.1") != 0,
	    "per source: 4th connection over TLS completed its handshake");
	tc_close(&tls_extra);
	/* another source is not affected */
	CHECK(st_open_as(&extra, &p, TC_TCP, "127.0.0.1", "127.0.0.2") == 0);
	CHECK_MSG(st_binding(&extra) == 0, "per source: another source");
	tc_close(&extra);
	for (int i = 0; i < 3; i++)
		CHECK_MSG(st_binding(&c[i]) == 0,
		    "per source: connection %d "
		    "after the refusals",
		    i + 1);
	/* a closed connection gives its slot back */
	tc_close(&c[0]);
	ms = -1;
	for (int i = 0; i < 20 && ms != 0; i++) {
		st_sleep_ms(50);
		CHECK(st_open(&extra, &p, TC_TCP, "127.0.0.1") == 0);
		ms = st_binding(&extra);
		if (ms != 0)
			tc_close(&extra);
	}
	CHECK_MSG(ms == 0, "per source: slot not given back");
	tc_close(&extra);
	tc_close(&c[1]);
	tc_close(&c[2]);
	st_finish(&p, "per source");
}

/* tcp.max_connections = 3, from three loopback addresses. */
static void
test_total(void)
{
	static const char *const src[] = {
	    "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"};
	struct tproc p;
	struct tc c[4];
	int ms;

	if (tproc_start(&p, TPROC_TCP | TPROC_NO_IPV6,
	        "tcp = { max_connections = 3; };") != 0) {
		CHECK(0);
		return;
	}
	for (int i = 0; i < 3; i++) {
		CHECK(st_open_as(&c[i], &p, TC_TCP, "127.0.0.1", src[i]) == 0);
		CHECK_MSG(
		    st_binding(&c[i]) == 0, "total: connection %d", i + 1);
	}
	CHECK(st_open_as(&c[3], &p, TC_TCP, "127.0.0.1", src[3]) == 0);
	ms = tc_wait_closed(&c[3], 1000);
	CHECK_MSG(ms >= 0 && ms < 500,
	    "total: 4th connection closed after "
	    "%d ms",
	    ms);
	tc_close(&c[3]);
	for (int i = 0; i < 3; i++)
		CHECK_MSG(st_binding(&c[i]) == 0, "total: connection %d after",
		    i + 1);
	for (int i = 0; i < 3; i++)
		tc_close(&c[i]);
	st_finish(&p, "total");
}

/*
 * True when a datagram to a meets a closed port: the ICMP port
 * unreachable comes back to a connected socket as ECONNREFUSED.
 */
static int
port_closed(const union tc_addr *a)
{
	int fd = socket(a->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char b;
	int closed = 0;

	if (fd == -1)
		return 0;
	if (connect(fd, &a->sa, tc_addr_len(a)) == 0 &&
	    send(fd, "x", 1, 0) == 1) {
		(void)poll(&pfd, 1, 200);
		closed =
		    recv(fd, &b, 1, MSG_DONTWAIT) < 0 && errno == ECONNREFUSED;
	}
	close(fd);
	return closed;
}

/* RFC 8656 section 3.1: the allocation dies with its connection. */
static void
test_alloc_dies(int transport)
{
	const char *w = st_tname(transport);
	struct tproc p;
	struct tc a, b;
	struct tpeer peer;
	union tc_addr relayed, again;
	char extra[256];
	uint16_t lo = tproc_relay_window(1);
	int code = -1, closed = 0;

	CHECK(lo != 0);
	snprintf(extra, sizeof(extra),
	    "relay = { addresses = [ \"127.0.0.1\" "
	    "]; port_min = %u; port_max = %u; };",
	    lo, lo);
	if (tproc_start(&p, TPROC_TCP | TPROC_TLS | TPROC_NO_IPV6, extra) !=
	    0) {
		CHECK(0);
		return;
	}
	CHECK(st_open(&a, &p, transport, "127.0.0.1") == 0);
	CHECK(st_open(&b, &p, transport, "127.0.0.1") == 0);
	CHECK(tpeer_open(&peer, "127.0.0.1") == 0);
	CHECK_EQ_INT(tc_allocate(&a, &relayed), 0);
	CHECK_EQ_INT(tc_addr_port(&relayed), lo);
	CHECK_EQ_INT(tc_permission(&a, &peer.addr), 0);
	CHECK(tc_send_ind(&a, &peer.addr, "alive", 5) == 0);
	st_peer_expect(&peer, &relayed, "alive", 5, w);
	CHECK_MSG(!port_closed(&relayed),
	    "%s: relay port closed while "
	    "allocated",
	    w);
	/* the one port is taken */
	CHECK_EQ_INT(tc_allocate(&b, NULL), STUN_ERR_INSUFFICIENT_CAPACITY);

	tc_close(&a);
	for (int i = 0; i < 20 && !closed; i++) {
		st_sleep_ms(50);
		closed = port_closed(&relayed);
	}
	CHECK_MSG(closed,
	    "%s: the relay port still open after its "
	    "connection closed",
	    w);
	for (int i = 0; i < 20 && code != 0; i++) {
		code = tc_allocate(&b, &again);
		if (code != 0)
			st_sleep_ms(50);
	}
	CHECK_MSG(code == 0, "%s: the port not released: %d", w, code);
	CHECK_EQ_INT(tc_addr_port(&again), lo);
	tc_close(&b);
	tpeer_close(&peer);
	st_finish(&p, "alloc dies");
}

/*
 * A client that stops reading while its peer floods the relay: turnd
 * stays responsive, bounds what it queues (tcp.buffer_max) and the
 * connection works, or has been closed cleanly, when the client reads
 * again.
 */
static void
test_slow_reader(void)
{
	enum { FLOOD = 20000, DGRAM = 1000 };
	struct tproc p;
	struct tc slow, ucli, tcli;
	struct tpeer peer;
	union tc_addr relayed;
	uint8_t buf[DGRAM], frame[2048];
	long rss0, rss1, worst_ms = 0;
	long long t0, quiet;
	int got = 0, torn = 0, order = 0, n;
	uint32_t last = 0;

	if (tproc_start(&p, TPROC_TCP | TPROC_NO_IPV6, NULL) != 0) {
		CHECK(0);
		return;
	}
	CHECK(st_open(&slow, &p, TC_TCP, "127.0.0.1") == 0);
	CHECK(tpeer_open(&peer, "127.0.0.1") == 0);
	CHECK(st_setup_channel(&slow, &peer, &relayed) == 0);
	CHECK(tc_open(&ucli, "127.0.0.1", p.port, NULL, NULL) == 0);
	CHECK(st_open(&tcli, &p, TC_TCP, "127.0.0.1") == 0);
	CHECK_EQ_INT(st_binding(&ucli), 0);
	CHECK_EQ_INT(st_binding(&tcli), 0);
	rss0 = tproc_rss_kb(&p);

	for (uint32_t i = 0; i < FLOOD; i++) {
		uint32_t be = htonl(i);

		memset(buf, (int)(i & 0xff), sizeof(buf));
		memcpy(buf, &be, 4);
		(void)tpeer_send(&peer, &relayed, buf, sizeof(buf));
		if (i % 20 == 19)
			st_sleep_ms(1);
		if (i % 4000 == 3999) {
			/* others are served promptly meanwhile */
			long long s = tc_now_ms();

			ucli.tries = 1;
			ucli.timeout_ms = 1000;
			CHECK_MSG(st_binding(&ucli) == 0,
			    "slow reader: UDP "
			    "Binding during the flood (%u)",
			    i);
			CHECK_MSG(st_binding(&tcli) == 0,
			    "slow reader: TCP "
			    "Binding during the flood (%u)",
			    i);
			if (tc_now_ms() - s > worst_ms)
				worst_ms = (long)(tc_now_ms() - s);
		}
	}
	CHECK_MSG(
	    worst_ms < 500, "slow reader: Bindings took %ld ms", worst_ms);
	st_sleep_ms(300);
	rss1 = tproc_rss_kb(&p);
	CHECK(rss0 > 0 && rss1 > 0);
	/* 20 MB went towards the client; what turnd keeps must be bounded */
	CHECK_MSG(rss1 - rss0 < 16 * 1024,
	    "slow reader: turnd grew from "
	    "%ld to %ld KiB",
	    rss0, rss1);
	CHECK_MSG(kill(p.pid, 0) == 0, "slow reader: turnd is gone");

	/* reading again: whole frames, in order, then a working connection */
	t0 = tc_now_ms();
	quiet = tc_now_ms() + 1000;
	while (tc_now_ms() < quiet && tc_now_ms() - t0 < 20000) {
		struct chandata cd;
		uint32_t idx;

		n = tc_recv_raw(
		    &slow, frame, sizeof(frame), (int)(quiet - tc_now_ms()));
		if (n < 0)
			break;
		quiet = tc_now_ms() + 1000;
		if (chandata_decode(&cd, frame, (size_t)n,
		        CHANDATA_F_STREAM | CHANDATA_F_LEGACY) != 0 ||
		    cd.chan != ST_CHAN || cd.len != DGRAM) {
			torn++;
			continue;
		}
		memcpy(&idx, cd.data, 4);
		idx = ntohl(idx);
		if (got > 0 && idx <= last)
			order++;
		last = idx;
		got++;
	}
	fprintf(stderr,
	    "slow reader: %d of %d datagrams delivered after the "
	    "stall, rss %ld -> %ld KiB, %s\n",
	    got, FLOOD, rss0, rss1, slow.closed ? "closed" : "open");
	CHECK_MSG(
	    !slow.bad_frame && torn == 0, "slow reader: %d torn frames", torn);
	CHECK_MSG(order == 0, "slow reader: %d out of order", order);
	CHECK_MSG(
	    got < FLOOD, "slow reader: all %d datagrams were queued", got);
	if (!slow.closed) {
		CHECK_MSG(st_binding(&slow) == 0,
		    "slow reader: Binding after "
		    "reading again");
		CHECK(tpeer_send(&peer, &relayed, "fresh", 5) == 0);
		n = tc_recv_data(&slow, frame, sizeof(frame), NULL, NULL, 1000);
		CHECK_MSG(
		    n == 5, "slow reader: data after reading again: %d", n);
	}
	ucli.tries = 4;
	ucli.timeout_ms = 500;
	CHECK_EQ_INT(st_binding(&ucli), 0);
	tc_close(&tcli);
	tc_close(&ucli);
	tc_close(&slow);
	tpeer_close(&peer);
	st_finish(&p, "slow reader");
}

/*
 * Stopping while clients with allocations close: turnd still exits
 * cleanly (a sanitizer report at exit, a leak say, makes it non-zero).
 */
static void
test_shutdown(void)
{
	enum { NTCP = 8, NTLS = 4 }; /* quotas.allocations_per_user: 12 */
	struct tproc p;
	struct tc c[NTCP + NTLS];

	for (int round = 0; round < 6; round++) {
		int st;

		if (tproc_start(
		        &p, TPROC_TCP | TPROC_TLS | TPROC_NO_IPV6, NULL) != 0) {
			CHECK(0);
			return;
		}
		for (int i = 0; i < NTCP + NTLS; i++) {
			CHECK(st_open(&c[i], &p, i < NTCP ? TC_TCP : TC_TLS,
			          "127.0.0.1") == 0);
			CHECK(tc_allocate(&c[i], NULL) == 0);
		}
		for (int i = 0; i < NTCP + NTLS; i++)
			tc_close(&c[i]);
		st = tproc_finish(&p, check_state()->failed != 0);
		CHECK_MSG(st == 0,
		    "shutdown round %d: turnd exited with %d "
		    "as its clients closed",
		    round, st);
	}
}

int
main(void)
{
	static const int transports[] = {TC_TCP, TC_TLS};
	struct tproc p;

	/* the deadlines at tcp.idle_timeout_ms's minimum */
	for (int i = 0; i < 2; i++) {
		int t = transports[i];

		if (tproc_start(&p, TPROC_TCP | TPROC_TLS | TPROC_NO_IPV6,
		        "tcp = { idle_timeout_ms = 1000; };") != 0) {
			CHECK(0);
			continue;
		}
		test_oversize(&p, t);
		test_idle(&p, t, t == TC_TCP);
		st_finish(&p, "deadlines");
	}
	test_per_source();
	test_total();
	test_alloc_dies(TC_TCP);
	test_alloc_dies(TC_TLS);
	test_slow_reader();
	test_shutdown();
	return CHECK_DONE();
}
