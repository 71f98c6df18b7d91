/*
 * What the RFC 6062 integration tests use: stream clients of the test
 * users, Allocate with REQUESTED-TRANSPORT TCP, Connect (waited for or
 * not), ConnectionBind on a new data connection (with bytes after it in
 * the same write), the unframed bytes of a data connection, exchanges with
 * TCP peers (by hand, through an echo peer, a side that writes and closes
 * while the other reads), ConnectionAttempt indications, and a peer whose
 * accept queue is full.  Failures name the group under test (tr_where).
 * Header-only, like streamtest.h.
 */
#ifndef TURND_TESTS_RELAYTEST_H
#define TURND_TESTS_RELAYTEST_H

#include <errno.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "streamtest.h"
#include "stun_msg.h"
#include "tclient.h"
#include "tproc.h"
#include "ttcp.h"

#define TR_DF 0x01    /* Allocate with DONT-FRAGMENT */
#define TR_EVEN 0x02  /* with EVEN-PORT */
#define TR_TOKEN 0x04 /* with RESERVATION-TOKEN */
#define TR_V6 0x08    /* with REQUESTED-ADDRESS-FAMILY IPv6 */

#define TR_WAIT_MS 2000 /* for anything that should happen at once */
/* many times what turnd buffers (tcp.buffer_max, 256 KiB by default) */
#define TR_BIG (4 << 20)
#define TR_BIG_MS 10000 /* to move it */
/* less than that: turnd reads it all, and the end after it, at once */
#define TR_SOME 200000
#define TR_SMALL_BUF 4096 /* a slow reader's SO_RCVBUF */
#define TR_SMALL_MSS 536  /* and its TCP_MAXSEG */

/* The group and transport under test, for failure messages. */
#define TR_AT_LEN 64

static inline char *
tr_at(void)
{
	static char buf[TR_AT_LEN];

	return buf;
}

#define TR_AT tr_at()

/* Names the group under test (transport < 0: none). */
static inline void
tr_where(const char *group, int transport)
{
	if (transport < 0)
		snprintf(TR_AT, TR_AT_LEN, "%s", group);
	else
		snprintf(TR_AT, TR_AT_LEN, "%s %s", group, st_tname(transport));
}

/*
 * A stream client as user, to ip over transport; rcvbuf (when not 0)
 * makes it a reader with a small window.
 */
static inline int
tr_open_ex(struct tc *c, const struct tproc *p, int transport, const char *ip,
    const char *user, const char *pass, int rcvbuf)
{
	struct tc_stream s;

	memset(&s, 0, sizeof(s));
	s.transport = transport;
	s.rcvbuf = rcvbuf;
	s.maxseg = rcvbuf > 0 ? TR_SMALL_MSS : 0;
	if (transport == TC_TLS) {
		s.alpn = "stun.turn";
		s.ca_file = p->ca;
	}
	return tc_open_stream(
	    c, &s, ip, transport == TC_TLS ? p->tls_port : p->port, user, pass);
}

static inline int
tr_open(struct tc *c, const struct tproc *p, int transport, const char *ip,
    const char *user, const char *pass)
{
	return tr_open_ex(c, p, transport, ip, user, pass, 0);
}

static inline int
tr_open_alice(struct tc *c, const struct tproc *p, int transport)
{
	return tr_open(c, p, transport, "127.0.0.1", TPROC_USER, TPROC_PASS);
}

/* Allocate with REQUESTED-TRANSPORT TCP; the first relayed address. */
static inline int
tr_allocate(struct tc *c, int flags, union tc_addr *relayed)
{
	static const uint8_t token[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct tc_msg m;
	struct tc_resp r;
	int code;

	tcm_init(&m, STUN_METHOD_ALLOCATE);
	tcm_u8pad(&m, STUN_ATTR_REQUESTED_TRANSPORT, STUN_PROTO_TCP);
	if (flags & TR_DF)
		tcm_raw(&m, STUN_ATTR_DONT_FRAGMENT, "", 0);
	if (flags & TR_EVEN)
		tcm_raw(&m, STUN_ATTR_EVEN_PORT, "\x00", 1);
	if (flags & TR_TOKEN)
		tcm_raw(&m, STUN_ATTR_RESERVATION_TOKEN, token, sizeof(token));
	if (flags & TR_V6)
		tcm_u8pad(&m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, STUN_AF_IPV6);
	code = tc_call(c, &m, &r);
	if (code == 0) {
		CHECK_MSG(tc_check_integrity(c, &r) == 0 &&
		        STUN_HAS(&r.m, LIFETIME) &&
		        STUN_HAS(&r.m, XOR_MAPPED_ADDRESS) &&
		        !STUN_HAS(&r.m, RESERVATION_TOKEN),
		    "%s: TCP Allocate success response", TR_AT);
		if (r.m.n_relayed < 1)
			return -1;
		if (relayed != NULL)
			tc_addr_from_stun(relayed, &r.m.relayed[0]);
	}
	return code;
}

/*
 * Connect to peer (none: without XOR-PEER-ADDRESS).  Returns the code;
 * on success *id holds the CONNECTION-ID (0 when it is missing).
 */
static inline int
tr_connect(struct tc *c, const union tc_addr *peer, uint32_t *id)
{
	struct tc_msg m;
	struct tc_resp r;
	int code;

	*id = 0;
	tcm_init(&m, STUN_METHOD_CONNECT);
	if (peer != NULL)
		tcm_xaddr(&m, STUN_ATTR_XOR_PEER_ADDRESS, peer);
	code = tc_call(c, &m, &r);
	if (code >= 0)
		CHECK_MSG(tc_check_integrity(c, &r) == 0,
		    "%s: Connect answer %d without valid integrity", TR_AT,
		    code);
	if (code == 0) {
		CHECK_MSG(STUN_HAS(&r.m, CONNECTION_ID),
		    "%s: Connect success without CONNECTION-ID", TR_AT);
		if (STUN_HAS(&r.m, CONNECTION_ID))
			*id = r.m.connection_id;
	}
	return code;
}

/* Sends a Connect to peer without waiting for its answer. */
static inline int
tr_send_connect(
    struct tc *c, const union tc_addr *peer, uint8_t txid[STUN_TXID_LEN])
{
	uint8_t out[1024];
	struct tc_msg m;
	int n;

	tcm_init(&m, STUN_METHOD_CONNECT);
	tcm_xaddr(&m, STUN_ATTR_XOR_PEER_ADDRESS, peer);
	m.auth = 1;
	n = tc_encode(c, &m, out, sizeof(out), txid);
	return n < 0 ? -1 : tc_send_raw(c, out, (size_t)n);
}

/*
 * What an answer to one of our requests says, its integrity checked: 0
 * for a success, its code for an error, -1 otherwise.
 */
static inline int
tr_outcome(struct tc *c, struct tc_resp *r, const char *what)
{
	CHECK_MSG(tc_check_integrity(c, r) == 0,
	    "%s: %s without valid integrity", TR_AT, what);
	if (r->m.cls == STUN_CLASS_SUCCESS)
		return 0;
	if (r->m.cls == STUN_CLASS_ERROR && STUN_HAS(&r->m, ERROR_CODE))
		return r->m.error.code;
	return -1;
}

/*
 * Waits for the answer to txid, skipping other frames.  Returns 0 for a
 * success, its code for an error, -1 for none.
 */
static inline int
tr_await(struct tc *c, const uint8_t txid[STUN_TXID_LEN], int timeout_ms)
{
	long long deadline = tc_now_ms() + timeout_ms;
	struct tc_resp r;

	while (tc_now_ms() < deadline) {
		int n = tc_recv_raw(
		    c, r.buf, sizeof(r.buf), (int)(deadline - tc_now_ms()));

		if (n < 0)
			break;
		if ((size_t)n > sizeof(r.buf) ||
		    stun_msg_decode(&r.m, r.buf, (size_t)n) != 0 ||
		    memcmp(r.m.txid, txid, STUN_TXID_LEN) != 0)
			continue;
		return tr_outcome(c, &r, "an answer");
	}
	return -1;
}

/*
 * A listening peer whose accept queue is full (backlog 0, one connection
 * in it): the kernel drops further SYNs, so a connection to it stays
 * in progress for longer than the 30 s of section 5.2.  *filler is the
 * connection that fills the queue.  Returns the listening socket or -1.
 */
static inline int
tr_stuck_peer(union tc_addr *addr, int *filler)
{
	int lfd = ttcp_listen("127.0.0.1", addr);

	*filler = -1;
	if (lfd == -1 || listen(lfd, 0) != 0 ||
	    (*filler = ttcp_connect(addr, NULL, TR_WAIT_MS)) == -1) {
		if (lfd != -1)
			close(lfd);
		return -1;
	}
	return lfd;
}

/*
 * ConnectionBind for id on d (without CONNECTION-ID when !with_id), and
 * tail[0..tail_len) in the same write.  The answer must be the first
 * frame after the 401 that teaches d its nonce; what follows it stays in
 * d for tc_stream_read.  Returns the code, -1 for no answer.
 */
static inline int
tr_bind_on(
    struct tc *d, uint32_t id, int with_id, const void *tail, size_t tail_len)
{
	uint8_t out[8192], txid[STUN_TXID_LEN];
	struct tc_msg m;
	struct tc_resp r;
	int n;

	tcm_init(&m, STUN_METHOD_CONNECTION_BIND);
	if (with_id)
		tcm_u32(&m, STUN_ATTR_CONNECTION_ID, id);
	if (d->nonce[0] == '\0' &&
	    tc_transact(d, &m, &r) != STUN_ERR_UNAUTHORIZED)
		return r.code;
	m.auth = 1;
	n = tc_encode(d, &m, out, sizeof(out), txid);
	if (n < 0 || tail_len > sizeof(out) - (size_t)n)
		return -1;
	if (tail_len > 0)
		memcpy(out + n, tail, tail_len);
	if (tc_send_raw(d, out, (size_t)n + tail_len) != 0)
		return -1;
	memset(&r, 0, sizeof(r));
	n = tc_recv_raw(d, r.buf, sizeof(r.buf), TR_WAIT_MS);
	if (n <= 0 || (size_t)n > sizeof(r.buf) ||
	    stun_msg_decode(&r.m, r.buf, (size_t)n) != 0 ||
	    memcmp(r.m.txid, txid, STUN_TXID_LEN) != 0 ||
	    r.m.method != STUN_METHOD_CONNECTION_BIND)
		return -1;
	return tr_outcome(d, &r, "ConnectionBind answer");
}

/* A new data connection of alice's bound to id. Returns the code. */
static inline int
tr_bind(struct tc *d, const struct tproc *p, int transport, uint32_t id,
    const void *tail, size_t tail_len)
{
	if (tr_open_alice(d, p, transport) != 0)
		return -1;
	return tr_bind_on(d, id, 1, tail, tail_len);
}

/* The same with a small receive buffer: a slow reader. */
static inline int
tr_bind_small(struct tc *d, const struct tproc *p, int transport, uint32_t id)
{
	if (tr_open_ex(d, p, transport, "127.0.0.1", TPROC_USER, TPROC_PASS,
	        TR_SMALL_BUF) != 0)
		return -1;
	return tr_bind_on(d, id, 1, NULL, 0);
}

/* Reads len raw bytes from a data connection (fewer: timeout or end). */
static inline size_t
tr_read_full(struct tc *d, void *buf, size_t len, int timeout_ms)
{
	long long deadline = tc_now_ms() + timeout_ms;
	uint8_t *b = buf;
	size_t got = 0;

	while (got < len) {
		long long left = deadline - tc_now_ms();
		int n;

		if (left <= 0)
			break;
		n = tc_stream_read(d, b + got, len - got, (int)left);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

/* len bytes of pattern seed: client to peer fd, then peer to client. */
static inline void
tr_exchange(struct tc *d, int fd, size_t len, unsigned seed, const char *what)
{
	uint8_t *want = malloc(len), *got = malloc(len);
	size_t n;

	if (!CHECK(want != NULL && got != NULL))
		goto out;
	st_fill(want, len, seed);
	CHECK_MSG(tc_send_raw(d, want, len) == 0, "%s: %s: client write", TR_AT,
	    what);
	n = ttcp_read_full(fd, got, len, TR_WAIT_MS);
	CHECK_MSG(n == len && memcmp(got, want, len) == 0,
	    "%s: %s: peer got %zu of %zu bytes%s", TR_AT, what, n, len,
	    n == len ? ", other bytes" : "");
	st_fill(want, len, seed + 1);
	CHECK_MSG(ttcp_write(fd, want, len, TR_WAIT_MS) == 0,
	    "%s: %s: peer write", TR_AT, what);
	n = tr_read_full(d, got, len, TR_WAIT_MS);
	CHECK_MSG(n == len && memcmp(got, want, len) == 0,
	    "%s: %s: client got %zu of %zu bytes%s", TR_AT, what, n, len,
	    n == len ? ", other bytes" : "");
out:
	free(want);
	free(got);
}

/* Through an echo peer: chunks of the given sizes, each echoed exactly. */
static inline void
tr_echo(struct tc *d, const size_t *sizes, size_t n_sizes, const char *what)
{
	static uint8_t want[65536], got[65536];

	for (size_t i = 0; i < n_sizes; i++) {
		size_t len = sizes[i], n;

		st_fill(want, len, (unsigned)(i + 7));
		if (!CHECK_MSG(tc_send_raw(d, want, len) == 0,
		        "%s: %s: write %zu", TR_AT, what, i))
			return;
		n = tr_read_full(d, got, len, TR_WAIT_MS);
		if (!CHECK_MSG(n == len && memcmp(got, want, len) == 0,
		        "%s: %s: chunk %zu: %zu of %zu bytes back%s", TR_AT,
		        what, i, n, len, n == len ? ", other bytes" : ""))
			return;
	}
}

/* The next ConnectionAttempt indication on c: its CONNECTION-ID, or 0. */
static inline uint32_t
tr_attempt(struct tc *c, union tc_addr *peer, int timeout_ms)
{
	long long deadline = tc_now_ms() + timeout_ms;
	uint8_t buf[2048];

	while (tc_now_ms() < deadline) {
		struct stun_msg m;
		int n = tc_recv_raw(
		    c, buf, sizeof(buf), (int)(deadline - tc_now_ms()));

		if (n < 0)
			break;
		if ((size_t)n > sizeof(buf) ||
		    stun_msg_decode(&m, buf, (size_t)n) != 0 ||
		    m.method != STUN_METHOD_CONNECTION_ATTEMPT ||
		    m.cls != STUN_CLASS_INDICATION)
			continue;
		CHECK_MSG(m.n_peer == 1 && STUN_HAS(&m, CONNECTION_ID),
		    "%s: ConnectionAttempt without XOR-PEER-ADDRESS or "
		    "CONNECTION-ID",
		    TR_AT);
		if (m.n_peer >= 1)
			tc_addr_from_stun(peer, &m.peer[0]);
		return STUN_HAS(&m, CONNECTION_ID) ? m.connection_id : 0;
	}
	return 0;
}

/* A connection the server made must come from the relayed address. */
static inline int
tr_accept(int lfd, const union tc_addr *relayed, const char *what)
{
	union tc_addr from;
	char a[64], b[64];
	int fd = ttcp_accept(lfd, &from, TR_WAIT_MS);

	CHECK_MSG(fd != -1, "%s: %s: the peer saw no connection", TR_AT, what);
	if (fd != -1)
		CHECK_MSG(tc_addr_eq(&from, relayed),
		    "%s: %s: connection from %s, not the relayed %s", TR_AT,
		    what, tc_addr_str(&from, a, sizeof(a)),
		    tc_addr_str(relayed, b, sizeof(b)));
	return fd;
}

static inline void
tr_close_fd(int *fd)
{
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}

/*
 * The peer's half of a transfer, in a thread while the client does its
 * own: write buf and close fd, or read len bytes into buf.
 */
struct tr_side {
	pthread_t th;
	int fd;
	uint8_t *buf;
	size_t len, done;
	int write;
	int delay_ms; /* before reading */
};

static inline void *
tr_side_main(void *arg)
{
	struct tr_side *s = arg;

	if (s->write) {
		if (ttcp_write(s->fd, s->buf, s->len, TR_BIG_MS) == 0)
			s->done = s->len;
		close(s->fd);
	} else {
		st_sleep_ms(s->delay_ms);
		s->done = ttcp_read_full(s->fd, s->buf, s->len, TR_BIG_MS);
	}
	return NULL;
}

/*
 * One side writes len bytes and closes; the other starts reading
 * delay_ms later.  Every byte must arrive, then the end of the stream
 * (section 5.4 relays data as it is; 5.5 closes the other side).  The
 * writer is the peer (fd) when from_peer, else the client (d).  Closes d
 * and fd.
 */
static inline void
tr_close_after(struct tc *d, int fd, size_t len, int delay_ms, int from_peer,
    const char *what)
{
	uint8_t *big = malloc(len), *got = malloc(len);
	struct tr_side side = {.fd = fd, .len = len, .write = from_peer};
	size_t n = 0;
	int ended = 0;

	if (fd == -1 || !CHECK(big != NULL && got != NULL))
		goto out;
	st_fill(big, len, (unsigned)len);
	side.buf = from_peer ? big : got;
	side.delay_ms = from_peer ? 0 : delay_ms;
	if (!CHECK(pthread_create(&side.th, NULL, tr_side_main, &side) == 0))
		goto out;
	if (from_peer) {
		fd = -1; /* the thread closes it */
		st_sleep_ms(delay_ms);
		n = tr_read_full(d, got, len, TR_BIG_MS);
		ended = tc_wait_closed(d, TR_WAIT_MS) >= 0;
	} else {
		CHECK_MSG(tc_send_raw(d, big, len) == 0, "%s: %s: client write",
		    TR_AT, what);
		tc_close(d);
	}
	pthread_join(side.th, NULL);
	if (from_peer)
		CHECK_MSG(side.done == len, "%s: %s: peer write", TR_AT, what);
	else {
		n = side.done;
		ended = ttcp_wait_eof(fd, TR_WAIT_MS, NULL) >= 0;
	}
	CHECK_MSG(n == len && memcmp(got, big, len) == 0,
	    "%s: %s: %zu of %zu bytes arrived%s", TR_AT, what, n, len,
	    n == len ? ", other ones" : "");
	CHECK_MSG(ended, "%s: %s: the other side stayed open", TR_AT, what);
out:
	tc_close(d);
	if (fd != -1)
		close(fd);
	free(big);
	free(got);
}

#endif
