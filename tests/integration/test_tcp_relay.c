/*
 * TCP relays (RFC 6062) through a real turnd on loopback, with control
 * and data connections over TCP and over TLS, TCP peers in this process
 * (a listening peer read and written by hand, an echo peer in a thread,
 * peers that connect to the relayed address); helpers in relaytest.h.
 *
 *  - Allocate with REQUESTED-TRANSPORT TCP (section 5.1): a listening
 *    relayed address, IPv4 or IPv6; 400 over UDP and with DONT-FRAGMENT,
 *    EVEN-PORT or RESERVATION-TOKEN.
 *  - Connect (5.2): CONNECTION-ID, the server connecting from the relayed
 *    address; 446 while a connection to that peer is in progress,
 *    pending or active (and not after it closed), 447 when the peer
 *    refuses, 403 for a denied peer (nothing is sent to it) or the
 *    server's own listeners, 400 without XOR-PEER-ADDRESS or on a UDP
 *    allocation, 437 without an allocation, 443 for the other family.
 *  - ConnectionAttempt for a peer that connects (5.3), and nothing but a
 *    closed connection without a permission.
 *  - ConnectionBind (5.4) and its errors (400, 441); afterwards bytes flow
 *    unframed both ways: those sent in the same write as the request, and
 *    those the peer sent before it; a side that closes has every byte it
 *    sent delivered first, to a slow reader too.
 *  - Data connections close with their allocation (5.5): Refresh with
 *    LIFETIME 0, or the control connection closing; a Connect still in
 *    progress then ends.
 *  - The 30 s deadlines of 5.2 and 5.3 (a Connect that cannot complete
 *    gets 447, pending peer connections without a ConnectionBind close),
 *    and a bound data connection exempt from the idle timeout: these run
 *    on a turnd of their own, begun first and checked last, so the test
 *    takes a little over 30 s.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "relaytest.h"
#include "streamtest.h"
#include "tclient.h"
#include "tproc.h"
#include "ttcp.h"

#define TR_BIND_S 30    /* TCPRELAY_BIND_S: a ConnectionBind's deadline */
#define TR_CONNECT_S 30 /* TCPRELAY_CONNECT_S: a Connect's */

/* Section 5.1. */
static void
test_allocate(const struct tproc *p, int transport)
{
	struct tc c;
	union tc_addr relayed, peer6;
	uint32_t id;
	int fd, lfd;

	tr_where("allocate", transport);
	CHECK_MSG(tr_open_alice(&c, p, transport) == 0, "%s: connect %s", TR_AT,
	    c.tls_error);
	CHECK_EQ_INT(tr_allocate(&c, TR_DF, NULL), STUN_ERR_BAD_REQUEST);
	CHECK_EQ_INT(tr_allocate(&c, TR_EVEN, NULL), STUN_ERR_BAD_REQUEST);
	CHECK_EQ_INT(tr_allocate(&c, TR_TOKEN, NULL), STUN_ERR_BAD_REQUEST);
	/* none of them made an allocation */
	CHECK_EQ_INT(tr_allocate(&c, 0, &relayed), 0);
	CHECK_MSG(tc_addr_ip_is(&relayed, "127.0.0.1") &&
	        tc_addr_port(&relayed) >= p->relay_min &&
	        tc_addr_port(&relayed) <= p->relay_max,
	    "%s: relayed address", TR_AT);
	/* a TCP listening socket */
	fd = ttcp_connect(&relayed, NULL, TR_WAIT_MS);
	CHECK_MSG(fd != -1, "%s: TCP connect to the relayed address: %s", TR_AT,
	    strerror(errno));
	tr_close_fd(&fd);
	/* one allocation per connection (RFC 8656 section 7.2) */
	CHECK_EQ_INT(tr_allocate(&c, 0, NULL), STUN_ERR_ALLOCATION_MISMATCH);
	tc_close(&c);

	/* IPv6: relayed on ::1, connecting from it */
	CHECK(tr_open(&c, p, transport, "::1", TPROC_USER, TPROC_PASS) == 0);
	CHECK_EQ_INT(tr_allocate(&c, TR_V6, &relayed), 0);
	CHECK_MSG(
	    tc_addr_ip_is(&relayed, "::1"), "%s: IPv6 relayed address", TR_AT);
	lfd = ttcp_listen("::1", &peer6);
	CHECK(lfd != -1);
	CHECK_EQ_INT(tr_connect(&c, &peer6, &id), 0);
	fd = tr_accept(lfd, &relayed, "IPv6 Connect");
	if (fd != -1) {
		struct tc d;

		CHECK_EQ_INT(tr_bind(&d, p, transport, id, NULL, 0), 0);
		tr_exchange(&d, fd, 1000, 1, "IPv6");
		tc_close(&d);
	}
	tr_close_fd(&fd);
	tr_close_fd(&lfd);
	tc_close(&c);
}

/* Over UDP: no TCP allocation, no Connect, no ConnectionBind. */
static void
test_udp(const struct tproc *p)
{
	struct tc c;
	struct tc_msg m;
	struct tc_resp r;
	union tc_addr relayed, peer;
	uint32_t id;

	tr_where("udp", -1);
	tc_addr_parse(&peer, "127.0.0.1", 9);
	CHECK(tc_open(&c, "127.0.0.1", p->port, TPROC_USER, TPROC_PASS) == 0);
	/* RFC 6062 section 5.1: a TCP allocation needs a TCP connection */
	CHECK_EQ_INT(tr_allocate(&c, 0, NULL), STUN_ERR_BAD_REQUEST);
	/* no allocation for this 5-tuple */
	CHECK_EQ_INT(tr_connect(&c, &peer, &id), STUN_ERR_ALLOCATION_MISMATCH);
	/* section 5.4: ConnectionBind needs a TCP or TLS connection */
	tcm_init(&m, STUN_METHOD_CONNECTION_BIND);
	tcm_u32(&m, STUN_ATTR_CONNECTION_ID, 1);
	CHECK_EQ_INT(tc_call(&c, &m, &r), STUN_ERR_BAD_REQUEST);
	/* a UDP allocation has no use for Connect */
	CHECK_EQ_INT(tc_allocate(&c, &relayed), 0);
	CHECK_EQ_INT(tr_connect(&c, &peer, &id), STUN_ERR_BAD_REQUEST);
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tc_close(&c);
}

/* Section 5.2 and 5.4: Connect, then data both ways. */
static void
test_connect(const struct tproc *p, int transport, struct ttcp_echo *echo)
{
	static const size_t mixed[] = {1, 2, 3, 5, 8, 13, 100, 1000, 1500, 4096,
	    16384, 65536, 7, 65536, 65536, 65536, 1};
	struct tc c, d, d2;
	union tc_addr relayed, lpeer;
	uint8_t early[1000], tail[1500], buf[2000];
	size_t n;
	uint32_t id, id2, id3;
	int lfd, fd;

	tr_where("connect", transport);
	CHECK(tr_open_alice(&c, p, transport) == 0);
	CHECK_EQ_INT(tr_allocate(&c, 0, &relayed), 0);
	lfd = ttcp_listen("127.0.0.1", &lpeer);
	CHECK(lfd != -1);

	CHECK_EQ_INT(tr_connect(&c, &lpeer, &id), 0);
	CHECK(id != 0);
	fd = tr_accept(lfd, &relayed, "Connect");
	/* the peer talks first: its bytes wait for the ConnectionBind */
	st_fill(early, sizeof(early), 11);
	CHECK(fd == -1 || ttcp_write(fd, early, sizeof(early), 1000) == 0);
	/* section 5.2: 446 while the connection is pending */
	CHECK_EQ_INT(tr_connect(&c, &lpeer, &id2), STUN_ERR_CONNECTION_EXISTS);

	/* the bytes after the request in the same write are data */
	st_fill(tail, sizeof(tail), 12);
	CHECK_EQ_INT(tr_bind(&d, p, transport, id, tail, sizeof(tail)), 0);
	n = tr_read_full(&d, buf, sizeof(early), TR_WAIT_MS);
	CHECK_MSG(n == sizeof(early) && memcmp(buf, early, n) == 0,
	    "%s: what the peer sent before the bind: %zu of %zu bytes%s", TR_AT,
	    n, sizeof(early), n == sizeof(early) ? ", other ones" : "");
	if (fd != -1) {
		n = ttcp_read_full(fd, buf, sizeof(tail), TR_WAIT_MS);
		CHECK_MSG(n == sizeof(tail) && memcmp(buf, tail, n) == 0,
		    "%s: what followed the ConnectionBind request: peer got "
		    "%zu of %zu bytes%s",
		    TR_AT, n, sizeof(tail),
		    n == sizeof(tail) ? ", other ones" : "");
		tr_exchange(&d, fd, 8192, 13, "8 KiB each way");
		tr_exchange(&d, fd, 1, 15, "one byte each way");
	}
	/* 446 while it is active */
	CHECK_EQ_INT(tr_connect(&c, &lpeer, &id2), STUN_ERR_CONNECTION_EXISTS);
	CHECK_MSG(!d.closed && !c.closed, "%s: connections lost", TR_AT);

	/* an echo peer, chunks of every size */
	CHECK_EQ_INT(tr_connect(&c, &echo->addr, &id2), 0);
	CHECK(id2 != 0 && id2 != id);
	CHECK_EQ_INT(tr_bind(&d2, p, transport, id2, NULL, 0), 0);
	tr_echo(&d2, mixed, sizeof(mixed) / sizeof(mixed[0]), "echo");
	tc_close(&d2);

	/* the peer closes: the bytes before it first */
	tr_close_after(&d, fd, TR_BIG, 0, 1, "peer closes after 4 MiB");

	/* the connection is gone, so is its 446: Connect again */
	CHECK_EQ_INT(tr_connect(&c, &lpeer, &id3), 0);
	fd = tr_accept(lfd, &relayed, "Connect after close");
	CHECK_EQ_INT(tr_bind_small(&d, p, transport, id3), 0);
	if (fd != -1)
		tr_exchange(&d, fd, 100, 16, "second connection to a peer");
	tr_close_after(&d, fd, TR_SOME, 300, 1, "peer closes, client slow");
	tr_close_fd(&lfd);
	CHECK_MSG(st_binding(&c) == 0, "%s: control connection", TR_AT);
	tc_close(&c);
}

/* The client closes its data connection: the bytes before it first. */
static void
test_client_close(const struct tproc *p, int transport)
{
	struct tc c, d;
	union tc_addr relayed, lpeer;
	uint32_t id;
	int lfd, fd;

	tr_where("client closes", transport);
	CHECK(tr_open_alice(&c, p, transport) == 0);
	CHECK_EQ_INT(tr_allocate(&c, 0, &relayed), 0);
	/*
	 * A peer each: turnd ends these peer connections first, and its
	 * side of each waits in TIME_WAIT, so it could not connect from
	 * the relayed address to the same peer again at once.
	 */
	for (int i = 0; i < 2; i++) {
		lfd = ttcp_listen("127.0.0.1", &lpeer);
		/* a slow reader: accepted connections inherit it */
		if (i == 0)
			CHECK(setsockopt(lfd, SOL_SOCKET, SO_RCVBUF,
			          &(int){TR_SMALL_BUF}, sizeof(int)) == 0 &&
			    setsockopt(lfd, IPPROTO_TCP, TCP_MAXSEG,
			        &(int){TR_SMALL_MSS}, sizeof(int)) == 0);
		CHECK_EQ_INT(tr_connect(&c, &lpeer, &id), 0);
		fd = tr_accept(lfd, &relayed, "Connect");
		CHECK_EQ_INT(tr_bind(&d, p, transport, id, NULL, 0), 0);
		if (i == 0)
			tr_close_after(&d, fd, TR_SOME, 300, 0,
			    "client closes, peer slow");
		else
			tr_close_after(
			    &d, fd, TR_BIG, 0, 0, "client closes after 4 MiB");
		tr_close_fd(&lfd);
	}
	CHECK_MSG(st_binding(&c) == 0, "%s: control connection", TR_AT);
	tc_close(&c);
}

/* Section 5.2: what Connect refuses. */
static void
test_connect_errors(const struct tproc *p, int transport)
{
	struct tc c;
	union tc_addr relayed, dead, far, own, v6, stuck;
	uint8_t txid[STUN_TXID_LEN];
	long long t0;
	uint32_t id;
	int lfd, filler, code;

	tr_where("connect errors", transport);
	/* no allocation on this connection */
	CHECK(tr_open_alice(&c, p, transport) == 0);
	tc_addr_parse(&far, "127.0.0.1", 9);
	CHECK_EQ_INT(tr_connect(&c, &far, &id), STUN_ERR_ALLOCATION_MISMATCH);
	/* a UDP allocation */
	CHECK_EQ_INT(tc_allocate(&c, &relayed), 0);
	lfd = ttcp_listen("127.0.0.1", &dead);
	CHECK_EQ_INT(tr_connect(&c, &dead, &id), STUN_ERR_BAD_REQUEST);
	CHECK_MSG(ttcp_accept(lfd, NULL, 200) == -1,
	    "%s: a UDP allocation connected to a peer", TR_AT);
	tc_close(&c);

	CHECK(tr_open_alice(&c, p, transport) == 0);
	CHECK_EQ_INT(tr_allocate(&c, 0, &relayed), 0);
	CHECK_EQ_INT(tr_connect(&c, NULL, &id), STUN_ERR_BAD_REQUEST);
	/* nothing listens: the RST makes it 447 at once, twice */
	tr_close_fd(&lfd);
	for (int i = 0; i < 2; i++) {
		t0 = tc_now_ms();
		code = tr_connect(&c, &dead, &id);
		CHECK_MSG(code == STUN_ERR_CONNECTION_FAILURE,
		    "%s: Connect to a closed port %d: %d, want 447", TR_AT, i,
		    code);
		CHECK_MSG(tc_now_ms() - t0 < 1500, "%s: 447 took %lld ms",
		    TR_AT, tc_now_ms() - t0);
	}
	/* denied peers, refused before any connection is made */
	tc_addr_parse(&far, "10.0.0.1", 80);
	CHECK_EQ_INT(tr_connect(&c, &far, &id), STUN_ERR_FORBIDDEN);
	tc_addr_parse(&own, "127.0.0.1", p->port);
	CHECK_EQ_INT(tr_connect(&c, &own, &id), STUN_ERR_FORBIDDEN);
	tc_addr_parse(&own, "127.0.0.1", p->tls_port);
	CHECK_EQ_INT(tr_connect(&c, &own, &id), STUN_ERR_FORBIDDEN);
	/* an IPv4 allocation has no IPv6 relay */
	tc_addr_parse(&v6, "::1", 9);
	CHECK_EQ_INT(tr_connect(&c, &v6, &id), STUN_ERR_PEER_ADDRESS_FAMILY);

	/*
	 * 446 while the server is still connecting; the allocation going
	 * (Refresh 0, then on another connection a close) ends the attempt.
	 */
	lfd = tr_stuck_peer(&stuck, &filler);
	CHECK_MSG(lfd != -1, "%s: a peer with a full accept queue", TR_AT);
	CHECK(tr_send_connect(&c, &stuck, txid) == 0);
	CHECK_MSG(tr_await(&c, txid, 300) == -1,
	    "%s: a connection to a peer with a full queue was answered", TR_AT);
	CHECK_EQ_INT(tr_connect(&c, &stuck, &id), STUN_ERR_CONNECTION_EXISTS);
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	CHECK_MSG(st_binding(&c) == 0, "%s: control connection", TR_AT);
	tc_close(&c);
	CHECK(tr_open_alice(&c, p, transport) == 0);
	CHECK_EQ_INT(tr_allocate(&c, 0, &relayed), 0);
	CHECK(tr_send_connect(&c, &stuck, txid) == 0);
	st_sleep_ms(100);
	tc_close(&c);
	CHECK(tr_open_alice(&c, p, transport) == 0);
	CHECK_MSG(
	    st_binding(&c) == 0, "%s: server after a cancelled Connect", TR_AT);
	tc_close(&c);
	tr_close_fd(&filler);
	tr_close_fd(&lfd);
}

/* With loopback peers denied (TPROC_NO_PEER_ALLOW). */
static void
test_denied(const struct tproc *p, int transport)
{
	struct tc c;
	union tc_addr relayed, lpeer;
	uint8_t buf[512];
	uint32_t id;
	int lfd, fd;

	tr_where("denied", transport);
	CHECK(tr_open_alice(&c, p, transport) == 0);
	CHECK_EQ_INT(tr_allocate(&c, 0, &relayed), 0);
	lfd = ttcp_listen("127.0.0.1", &lpeer);
	CHECK_EQ_INT(tr_connect(&c, &lpeer, &id), STUN_ERR_FORBIDDEN);
	fd = ttcp_accept(lfd, NULL, 300);
	CHECK_MSG(fd == -1, "%s: the server connected to a denied peer", TR_AT);
	tr_close_fd(&fd);
	tr_close_fd(&lfd);
	CHECK_EQ_INT(tc_permission(&c, &lpeer), STUN_ERR_FORBIDDEN);
	/* a denied peer connecting is closed, and the client hears nothing */
	fd = ttcp_connect(&relayed, NULL, TR_WAIT_MS);
	CHECK_MSG(fd != -1, "%s: connect to the relayed address", TR_AT);
	if (fd != -1)
		CHECK_MSG(ttcp_wait_eof(fd, TR_WAIT_MS, NULL) >= 0,
		    "%s: a denied peer's connection stayed open", TR_AT);
	tr_close_fd(&fd);
	CHECK_MSG(tc_recv_raw(&c, buf, sizeof(buf), 300) < 0 && !c.closed,
	    "%s: something came on the control connection", TR_AT);
	tc_close(&c);
}

/*
 * A port of the relay range that another socket holds is not handed out,
 * even when that socket set SO_REUSEPORT as turnd's own relay sockets do
 * (another turnd of the same user, say): the kernel would share the
 * peers' connections between the two.  With every port held: 508.
 */
static void
test_port_held(const struct tproc *p)
{
	int fds[256], n = 0;
	struct tc c;
	union tc_addr relayed;
	char a[64];
	int code;

	tr_where("relay port held", TC_TCP);
	for (unsigned port = p->relay_min; port <= p->relay_max && n < 256;
	     port++) {
		union tc_addr at;
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		tc_addr_parse(&at, "127.0.0.1", (uint16_t)port);
		if (fd == -1 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){1},
		        sizeof(int)) != 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &(int){1},
		        sizeof(int)) != 0 ||
		    bind(fd, &at.sa, tc_addr_len(&at)) != 0 ||
		    listen(fd, 8) != 0) {
			if (fd != -1)
				close(fd);
			continue;
		}
		fds[n++] = fd;
	}
	CHECK(tr_open_alice(&c, p, TC_TCP) == 0);
	code = tr_allocate(&c, 0, &relayed);
	CHECK_MSG(code == STUN_ERR_INSUFFICIENT_CAPACITY,
	    "%s: Allocate with every relay port held: %d, want 508%s%s", TR_AT,
	    code, code == 0 ? ", relayed address shared: " : "",
	    code == 0 ? tc_addr_str(&relayed, a, sizeof(a)) : "");
	tc_close(&c);
	while (n > 0)
		close(fds[--n]);
	/* and with them gone, all is well */
	CHECK(tr_open_alice(&c, p, TC_TCP) == 0);
	CHECK_EQ_INT(tr_allocate(&c, 0, NULL), 0);
	tc_close(&c);
}

/* Section 5.3: peers that connect to the relayed address. */
static void
test_peer(const struct tproc *p, int transport)
{
	struct tc c, d, d2;
	union tc_addr relayed, local, local2, from;
	uint8_t early[700], buf[1024];
	uint32_t id, id2;
	size_t n;
	int fd, fd2;

	tr_where("peer connects", transport);
	/* without a permission: closed at once, no indication */
	CHECK(tr_open_alice(&c, p, transport) == 0);
	CHECK_EQ_INT(tr_allocate(&c, 0, &relayed), 0);
	fd = ttcp_connect(&relayed, NULL, TR_WAIT_MS);
	CHECK_MSG(fd != -1, "%s: connect to the relayed address", TR_AT);
	if (fd != -1)
		CHECK_MSG(ttcp_wait_eof(fd, 1000, NULL) >= 0,
		    "%s: a peer without permission stayed connected", TR_AT);
	tr_close_fd(&fd);
	CHECK_MSG(tc_recv_raw(&c, buf, sizeof(buf), 300) < 0 && !c.closed,
	    "%s: ConnectionAttempt without a permission", TR_AT);

	/* with one (for the address, any port) */
	tc_addr_parse(&from, "127.0.0.1", 1);
	CHECK_EQ_INT(tc_permission(&c, &from), 0);
	fd = ttcp_connect(&relayed, &local, TR_WAIT_MS);
	CHECK_MSG(fd != -1, "%s: connect with a permission", TR_AT);
	memset(&from, 0, sizeof(from));
	id = tr_attempt(&c, &from, TR_WAIT_MS);
	CHECK_MSG(id != 0, "%s: no ConnectionAttempt", TR_AT);
	CHECK_MSG(tc_addr_eq(&from, &local),
	    "%s: ConnectionAttempt XOR-PEER-ADDRESS is not the peer", TR_AT);
	st_fill(early, sizeof(early), 21);
	CHECK(fd == -1 || ttcp_write(fd, early, sizeof(early), 1000) == 0);

	/* a second peer: another indication, another id */
	fd2 = ttcp_connect(&relayed, &local2, TR_WAIT_MS);
	id2 = tr_attempt(&c, &from, TR_WAIT_MS);
	CHECK_MSG(id2 != 0 && id2 != id && tc_addr_eq(&from, &local2),
	    "%s: second ConnectionAttempt", TR_AT);

	CHECK_EQ_INT(tr_bind(&d, p, transport, id, "hi", 2), 0);
	n = tr_read_full(&d, buf, sizeof(early), TR_WAIT_MS);
	CHECK_MSG(n == sizeof(early) && memcmp(buf, early, n) == 0,
	    "%s: the peer's bytes before the bind: %zu of %zu", TR_AT, n,
	    sizeof(early));
	if (fd != -1) {
		n = ttcp_read_full(fd, buf, 2, TR_WAIT_MS);
		CHECK_MSG(n == 2 && memcmp(buf, "hi", 2) == 0,
		    "%s: bytes with the ConnectionBind request", TR_AT);
		tr_exchange(&d, fd, 5000, 23, "peer-initiated");
	}
	CHECK_EQ_INT(tr_bind(&d2, p, transport, id2, NULL, 0), 0);
	if (fd2 != -1)
		tr_exchange(&d2, fd2, 3000, 25, "second peer");
	/* the first pair is unaffected */
	if (fd != -1)
		tr_exchange(&d, fd, 100, 27, "first peer again");
	tc_close(&d);
	tc_close(&d2);
	tr_close_fd(&fd);
	tr_close_fd(&fd2);

	/* a peer that said its piece and left before the bind */
	fd = ttcp_connect(&relayed, &local, TR_WAIT_MS);
	id = tr_attempt(&c, &from, TR_WAIT_MS);
	CHECK_MSG(id != 0 && tc_addr_eq(&from, &local),
	    "%s: third ConnectionAttempt", TR_AT);
	CHECK(fd == -1 || ttcp_write(fd, "bye", 3, 1000) == 0);
	tr_close_fd(&fd);
	st_sleep_ms(100);
	CHECK_EQ_INT(tr_bind(&d, p, transport, id, NULL, 0), 0);
	n = tr_read_full(&d, buf, 3, TR_WAIT_MS);
	CHECK_MSG(n == 3 && memcmp(buf, "bye", 3) == 0,
	    "%s: the bytes of a peer gone before the bind: %zu of 3", TR_AT, n);
	CHECK_MSG(tc_wait_closed(&d, TR_WAIT_MS) >= 0,
	    "%s: a peer gone before the bind: data connection open", TR_AT);
	tc_close(&d);
	tc_close(&c);
}

/* Section 5.4: what ConnectionBind refuses. */
static void
test_bind_errors(const struct tproc *p, int transport)
{
	struct tc c, d, bob;
	union tc_addr relayed, lpeer;
	uint32_t id;
	int lfd, fd;

	tr_where("bind errors", transport);
	CHECK(tr_open_alice(&c, p, transport) == 0);
	CHECK_EQ_INT(tr_allocate(&c, 0, &relayed), 0);
	lfd = ttcp_listen("127.0.0.1", &lpeer);
	CHECK_EQ_INT(tr_connect(&c, &lpeer, &id), 0);
	fd = tr_accept(lfd, &relayed, "Connect");

	CHECK(tr_open_alice(&d, p, transport) == 0);
	CHECK_EQ_INT(
	    tr_bind_on(&d, id ^ 0x5a5a5a5a, 1, NULL, 0), STUN_ERR_BAD_REQUEST);
	CHECK_EQ_INT(tr_bind_on(&d, 0, 0, NULL, 0), STUN_ERR_BAD_REQUEST);
	tc_close(&d);
	/* the control connection has its allocation */
	CHECK_EQ_INT(tr_bind_on(&c, id, 1, NULL, 0), STUN_ERR_BAD_REQUEST);
	/* another user */
	CHECK(tr_open(&bob, p, transport, "127.0.0.1", TPROC_USER2,
	          TPROC_PASS2) == 0);
	CHECK_EQ_INT(
	    tr_bind_on(&bob, id, 1, NULL, 0), STUN_ERR_WRONG_CREDENTIALS);
	tc_close(&bob);
	/* none of that took the connection */
	CHECK_EQ_INT(tr_bind(&d, p, transport, id, NULL, 0), 0);
	if (fd != -1)
		tr_exchange(&d, fd, 64, 31, "after refused binds");
	{
		struct tc d2;

		CHECK_EQ_INT(tr_bind(&d2, p, transport, id, NULL, 0),
		    STUN_ERR_BAD_REQUEST);
		tc_close(&d2);
	}
	if (fd != -1)
		tr_exchange(&d, fd, 64, 33, "after a second bind");
	tc_close(&d);
	tr_close_fd(&fd);
	tr_close_fd(&lfd);
	tc_close(&c);
}

/*
 * Section 5.5: the allocation goes (Refresh 0, or its connection
 * closing) and takes every data connection with it.
 */
static void
test_death(const struct tproc *p, int transport, int by_close)
{
	struct tc c, d, d2;
	union tc_addr relayed, lpeer, lpeer2, any;
	uint32_t id, id2, id3;
	int lfd, lfd2, fd, fd2, fd3, ms;

	tr_where(by_close ? "control closed" : "refresh 0", transport);
	CHECK(tr_open_alice(&c, p, transport) == 0);
	CHECK_EQ_INT(tr_allocate(&c, 0, &relayed), 0);
	tc_addr_parse(&any, "127.0.0.1", 1);
	CHECK_EQ_INT(tc_permission(&c, &any), 0);
	lfd = ttcp_listen("127.0.0.1", &lpeer);
	lfd2 = ttcp_listen("127.0.0.1", &lpeer2);
	/* active */
	CHECK_EQ_INT(tr_connect(&c, &lpeer, &id), 0);
	fd = tr_accept(lfd, &relayed, "Connect");
	CHECK_EQ_INT(tr_bind(&d, p, transport, id, NULL, 0), 0);
	if (fd != -1)
		tr_exchange(&d, fd, 100, 41, "before the end");
	/* pending, made by Connect */
	CHECK_EQ_INT(tr_connect(&c, &lpeer2, &id2), 0);
	fd2 = tr_accept(lfd2, &relayed, "second Connect");
	/* pending, made by the peer */
	fd3 = ttcp_connect(&relayed, NULL, TR_WAIT_MS);
	id3 = tr_attempt(&c, &any, TR_WAIT_MS);
	CHECK_MSG(id3 != 0, "%s: ConnectionAttempt", TR_AT);

	if (by_close)
		tc_close(&c);
	else
		CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	ms = tc_wait_closed(&d, TR_WAIT_MS);
	CHECK_MSG(ms >= 0, "%s: client data connection still open", TR_AT);
	ms = fd == -1 ? -1 : ttcp_wait_eof(fd, TR_WAIT_MS, NULL);
	CHECK_MSG(ms >= 0, "%s: active peer connection still open", TR_AT);
	ms = fd2 == -1 ? -1 : ttcp_wait_eof(fd2, TR_WAIT_MS, NULL);
	CHECK_MSG(ms >= 0, "%s: pending peer connection (Connect) open", TR_AT);
	ms = fd3 == -1 ? -1 : ttcp_wait_eof(fd3, TR_WAIT_MS, NULL);
	CHECK_MSG(ms >= 0, "%s: pending peer connection (peer's) open", TR_AT);
	/* their ids are gone */
	CHECK_EQ_INT(
	    tr_bind(&d2, p, transport, id2, NULL, 0), STUN_ERR_BAD_REQUEST);
	tc_close(&d2);
	CHECK_EQ_INT(
	    tr_bind(&d2, p, transport, id3, NULL, 0), STUN_ERR_BAD_REQUEST);
	tc_close(&d2);
	if (!by_close) {
		/* the connection outlives its allocation, can make another */
		CHECK_MSG(st_binding(&c) == 0, "%s: control connection", TR_AT);
		CHECK_EQ_INT(tr_allocate(&c, 0, NULL), 0);
		tc_close(&c);
	}
	tc_close(&d);
	tr_close_fd(&fd);
	tr_close_fd(&fd2);
	tr_close_fd(&fd3);
	tr_close_fd(&lfd);
	tr_close_fd(&lfd2);
}

/*
 * The 30 s of sections 5.2 and 5.3, on a turnd of its own with a 1 s idle
 * timeout: begun first, checked last, so that the rest runs meanwhile.
 */
struct slow {
	struct tproc p;
	int up;
	struct tc c, c2, d;
	struct ttcp_echo echo;
	int lfd, lfd_stuck, filler;
	int fd_connect, fd_peer; /* pending: made by Connect, by the peer */
	uint32_t id_connect, id_peer;
	uint8_t txid_stuck[STUN_TXID_LEN]; /* a Connect that cannot connect */
	long long t_connect, t_peer, t_stuck; /* when each began */
};

static void
slow_begin(struct slow *s)
{
	union tc_addr relayed, lpeer, any, stuck;
	char extra[256];
	unsigned first;
	uint32_t id;

	memset(s, 0, sizeof(*s));
	s->lfd = s->lfd_stuck = s->filler = s->fd_connect = s->fd_peer = -1;
	tr_where("timers", -1);
	/*
	 * Relay ports above those tproc picks (49152-64151) for the turnds
	 * that run meanwhile: two turnds must not share a TCP relay port
	 * (test_port_held).
	 */
	first = 64200 + (unsigned)(getpid() % 13) * 100;
	snprintf(extra, sizeof(extra),
	    "tcp = { idle_timeout_ms = 1000; };\n"
	    "relay = { addresses = [ \"127.0.0.1\" ]; port_min = %u; "
	    "port_max = %u; };",
	    first, first + 99);
	if (!CHECK(tproc_start(&s->p, TPROC_TCP | TPROC_NO_IPV6, extra) == 0))
		return;
	s->up = 1;
	CHECK(ttcp_echo_start(&s->echo, "127.0.0.1") == 0);
	CHECK(tr_open_alice(&s->c, &s->p, TC_TCP) == 0);
	CHECK_EQ_INT(tr_allocate(&s->c, 0, &relayed), 0);
	tc_addr_parse(&any, "127.0.0.1", 1);
	CHECK_EQ_INT(tc_permission(&s->c, &any), 0);
	s->lfd = ttcp_listen("127.0.0.1", &lpeer);
	CHECK_EQ_INT(tr_connect(&s->c, &lpeer, &s->id_connect), 0);
	s->t_connect = tc_now_ms();
	s->fd_connect = tr_accept(s->lfd, &relayed, "Connect");
	s->fd_peer = ttcp_connect(&relayed, NULL, TR_WAIT_MS);
	s->t_peer = tc_now_ms();
	s->id_peer = tr_attempt(&s->c, &any, TR_WAIT_MS);
	CHECK_MSG(s->id_peer != 0, "%s: ConnectionAttempt", TR_AT);
	/* a bound pair that idles all along */
	CHECK_EQ_INT(tr_connect(&s->c, &s->echo.addr, &id), 0);
	CHECK_EQ_INT(tr_bind(&s->d, &s->p, TC_TCP, id, NULL, 0), 0);
	tr_echo(&s->d, (const size_t[]){100}, 1, "before idling");
	/* a Connect that cannot complete, on a connection of its own */
	s->lfd_stuck = tr_stuck_peer(&stuck, &s->filler);
	CHECK_MSG(
	    s->lfd_stuck != -1, "%s: a peer with a full accept queue", TR_AT);
	CHECK(tr_open_alice(&s->c2, &s->p, TC_TCP) == 0);
	CHECK_EQ_INT(tr_allocate(&s->c2, 0, NULL), 0);
	CHECK(tr_send_connect(&s->c2, &stuck, s->txid_stuck) == 0);
	s->t_stuck = tc_now_ms();
}

/*
 * Shortly before the deadline (28 to 29 s after t0), the pending
 * connection fd is still open.
 */
static void
slow_check_open(int fd, long long t0, const char *what)
{
	long long open_until = t0 + (TR_BIND_S - 2) * 1000;

	if (fd == -1)
		return;
	if (tc_now_ms() < open_until)
		st_sleep_ms((int)(open_until - tc_now_ms()));
	if (tc_now_ms() > open_until + 1000) {
		fprintf(stderr, "%s: %s: too late to see it open at %d s\n",
		    TR_AT, what, TR_BIND_S - 2);
		return;
	}
	CHECK_MSG(ttcp_wait_eof(fd, 0, NULL) < 0, "%s: %s closed before %d s",
	    TR_AT, what, TR_BIND_S - 2);
}

/* After it: closed, at most 3 s late. */
static void
slow_check_closed(int fd, long long t0, const char *what)
{
	long long end = t0 + (TR_BIND_S + 3) * 1000;
	long long left = end - tc_now_ms();

	if (fd == -1)
		return;
	CHECK_MSG(ttcp_wait_eof(fd, left > 0 ? (int)left : 0, NULL) >= 0,
	    "%s: %s still open %d s after it was made", TR_AT, what,
	    TR_BIND_S + 3);
}

static void
slow_end(struct slow *s)
{
	struct tc d2;
	long long left, ms;
	int code;

	tr_where("timers", -1);
	if (!s->up)
		return;
	slow_check_open(
	    s->fd_connect, s->t_connect, "pending connection made by Connect");
	slow_check_open(
	    s->fd_peer, s->t_peer, "pending connection made by the peer");
	/* section 5.2: 447 when connecting timed out, after 30 s or more */
	left = s->t_stuck + (TR_CONNECT_S + 3) * 1000 - tc_now_ms();
	code = tr_await(&s->c2, s->txid_stuck, left > 0 ? (int)left : 0);
	ms = tc_now_ms() - s->t_stuck;
	CHECK_MSG(code == STUN_ERR_CONNECTION_FAILURE,
	    "%s: Connect to a peer that never answers: %d, want 447", TR_AT,
	    code);
	CHECK_MSG(code == -1 || ms >= TR_CONNECT_S * 1000 - 500,
	    "%s: the Connect timed out after %lld ms", TR_AT, ms);
	slow_check_closed(
	    s->fd_connect, s->t_connect, "pending connection made by Connect");
	slow_check_closed(
	    s->fd_peer, s->t_peer, "pending connection made by the peer");
	CHECK_EQ_INT(tr_bind(&d2, &s->p, TC_TCP, s->id_connect, NULL, 0),
	    STUN_ERR_BAD_REQUEST);
	tc_close(&d2);
	CHECK_EQ_INT(tr_bind(&d2, &s->p, TC_TCP, s->id_peer, NULL, 0),
	    STUN_ERR_BAD_REQUEST);
	tc_close(&d2);
	/* idle 30 s past a 1 s idle timeout: bound, so still there */
	CHECK_MSG(!s->d.closed, "%s: bound data connection closed", TR_AT);
	tr_echo(&s->d, (const size_t[]){100, 5000}, 2, "after idling");
	CHECK_MSG(st_binding(&s->c) == 0, "%s: control connection", TR_AT);
	tc_close(&s->d);
	tc_close(&s->c);
	tc_close(&s->c2);
	tr_close_fd(&s->fd_connect);
	tr_close_fd(&s->fd_peer);
	tr_close_fd(&s->filler);
	tr_close_fd(&s->lfd_stuck);
	tr_close_fd(&s->lfd);
	ttcp_echo_stop(&s->echo);
	st_finish(&s->p, "timers");
}

int
main(void)
{
	static const int transports[] = {TC_TCP, TC_TLS};
	struct ttcp_echo echo;
	struct slow slow;
	struct tproc p;

	slow_begin(&slow);
	CHECK(ttcp_echo_start(&echo, "127.0.0.1") == 0);
	for (int i = 0; i < 2; i++) {
		int t = transports[i];

		if (!CHECK(tproc_start(&p, TPROC_TCP | TPROC_TLS, NULL) == 0))
			continue;
		test_allocate(&p, t);
		if (t == TC_TCP)
			test_udp(&p);
		test_connect(&p, t, &echo);
		test_client_close(&p, t);
		test_connect_errors(&p, t);
		test_peer(&p, t);
		test_bind_errors(&p, t);
		test_death(&p, t, 0);
		test_death(&p, t, 1);
		st_finish(&p, st_tname(t));

		if (!CHECK(tproc_start(&p,
		               TPROC_TCP | TPROC_TLS | TPROC_NO_IPV6 |
		                   TPROC_NO_PEER_ALLOW,
		               NULL) == 0))
			continue;
		test_denied(&p, t);
		if (t == TC_TCP)
			test_port_held(&p);
		st_finish(&p, "denied");
	}
	ttcp_echo_stop(&echo);
	slow_end(&slow);
	return CHECK_DONE();
}
