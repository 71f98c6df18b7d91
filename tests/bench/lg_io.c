/*
 * The load generator's data path: its sockets, the batched transmit queue
 * (sendmmsg per run of datagrams leaving the same socket), pacing at the
 * offered rate, payloads with index, direction, sequence number and send
 * time, the receive side (recvmmsg, ChannelData and Data indications
 * unwrapped, responses handed to lg_turn.c), windows and latency
 * histograms.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "chandata.h"
#include "lg.h"
#include "stun_enc.h"
#include "stun_hdr.h"
#include "stun_msg.h"

#define RX_BATCH 64
#define RX_ROUNDS 8
#define TX_MAX 1024
#define CMSG_SZ 64
#define SRC_BASE 0x7f010001U /* 127.1.0.1 */

struct txq {
	size_t n;
	struct mmsghdr msg[TX_MAX];
	struct iovec iov[TX_MAX];
	uint8_t cmsg[TX_MAX][CMSG_SZ];
	int fd[TX_MAX];
	int8_t dir[TX_MAX]; /* -1: control */
	int8_t win[TX_MAX];
	uint8_t buf[TX_MAX][LG_PKT_MAX];
};

struct rxq {
	struct mmsghdr msg[RX_BATCH];
	struct iovec iov[RX_BATCH];
	struct sockaddr_in from[RX_BATCH];
	uint8_t cmsg[RX_BATCH][CMSG_SZ];
	uint8_t buf[RX_BATCH][LG_PKT_MAX];
};

struct lg_io {
	struct txq tx;
	struct rxq rx;
};

static void flush(struct lg *);
static void rx_fd(struct lg *, int, uint64_t, int64_t);
static void client_input(struct lg *, struct lg_alloc *, uint8_t *, size_t,
    int64_t);
static void payload_input(struct lg *, int, const uint8_t *, size_t,
    int64_t);

struct lg_io *
lg_io_new(void)
{
	return calloc(1, sizeof(struct lg_io));
}

int64_t
lg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Latency histogram: 32 linear sub-buckets per power of two (~3 %). */
static size_t
hist_idx(uint64_t v)
{
	int e;

	if (v >= (1ULL << 41))
		v = (1ULL << 41) - 1;
	if (v < 32)
		return (size_t)v;
	e = 63 - __builtin_clzll(v);
	return (size_t)(e - 4) * 32 + ((v >> (e - 5)) & 31);
}

static uint64_t
hist_val(size_t i)
{
	size_t e;

	if (i < 32)
		return i;
	e = i / 32 + 4;
	return ((32 + (i % 32)) << (e - 5)) + ((1ULL << (e - 5)) >> 1);
}

void
lg_hist_add(struct lg_hist *h, uint64_t v)
{
	h->b[hist_idx(v)]++;
	h->n++;
}

double
lg_hist_pct(const struct lg_hist *h, double pct)
{
	uint64_t want, seen = 0;

	if (h->n == 0)
		return NAN;
	want = (uint64_t)ceil(h->n * pct / 100.0);
	if (want == 0)
		want = 1;
	for (size_t i = 0; i < sizeof(h->b) / sizeof(h->b[0]); i++) {
		seen += h->b[i];
		if (seen >= want)
			return (double)hist_val(i);
	}
	return NAN;
}

/* Sockets. */

int
lg_udp_socket(uint32_t ip, int rcvbuf, int pktinfo)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd, on = 1;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		lg_die("socket: %s", strerror(errno));
	sin.sin_addr.s_addr = htonl(ip);
	if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
	    sizeof(rcvbuf)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf));
	if (pktinfo)
		(void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		lg_die("bind: %s", strerror(errno));
	return fd;
}

void
lg_ep_add(struct lg *lg, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	if (epoll_ctl(lg->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		lg_die("epoll_ctl: %s", strerror(errno));
}

/* Gives slot i a fresh client transport address. */
void
lg_slot_open(struct lg *lg, size_t i)
{
	struct lg_alloc *a = &lg->a[i];
	uint32_t k;

	if (lg->shared) {
		/*
		 * slot = (address - base) mod n_a whatever the generation; a
		 * new generation never reuses a 5-tuple just deleted
		 */
		k = (uint32_t)i + a->gen++ * (uint32_t)lg->n_a;
		memset(&a->src, 0, sizeof(a->src));
		a->src.sin_family = AF_INET;
		a->src.sin_addr.s_addr = htonl(SRC_BASE + k % 0xfe0000U);
		a->fd = lg->shared_fd;
		return;
	}
	a->fd = lg_udp_socket(INADDR_LOOPBACK, 0, 0);
	lg_ep_add(lg, a->fd, LG_EV_CLIENT << 32 | i);
}

void
lg_slot_close(struct lg *lg, size_t i)
{
	struct lg_alloc *a = &lg->a[i];

	if (!lg->shared && a->fd != -1)
		close(a->fd);
	a->fd = -1;
}

static void
pktinfo_src(struct msghdr *mh, uint8_t *buf, const struct sockaddr_in *src)
{
	struct in_pktinfo pi = { .ipi_spec_dst = src->sin_addr };
	struct cmsghdr *cm;

	memset(buf, 0, CMSG_SZ);
	mh->msg_control = buf;
	mh->msg_controllen = CMSG_SPACE(sizeof(pi));
	cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
}

/* Control messages go out at once. */
void
lg_sendto(struct lg *lg, struct lg_alloc *a, const uint8_t *p, size_t len)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)p, .iov_len = len };
	struct msghdr mh = { 0 };
	uint8_t cbuf[CMSG_SZ];

	mh.msg_name = &lg->server;
	mh.msg_namelen = sizeof(lg->server);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (lg->shared)
		pktinfo_src(&mh, cbuf, &a->src);
	(void)sendmsg(a->fd, &mh, MSG_DONTWAIT);
}

/* Batched data path. */

static uint8_t *
tx_slot(struct lg *lg, int fd, const struct sockaddr_in *to,
    const struct sockaddr_in *src, int dir, int win)
{
	struct msghdr *mh;
	size_t i;

	if (lg->io->tx.n == TX_MAX)
		flush(lg);
	i = lg->io->tx.n++;
	mh = &lg->io->tx.msg[i].msg_hdr;
	memset(mh, 0, sizeof(*mh));
	mh->msg_name = (void *)(uintptr_t)to;
	mh->msg_namelen = sizeof(*to);
	mh->msg_iov = &lg->io->tx.iov[i];
	mh->msg_iovlen = 1;
	if (src != NULL)
		pktinfo_src(mh, lg->io->tx.cmsg[i], src);
	lg->io->tx.iov[i].iov_base = lg->io->tx.buf[i];
	lg->io->tx.fd[i] = fd;
	lg->io->tx.dir[i] = (int8_t)dir;
	lg->io->tx.win[i] = (int8_t)win;
	return lg->io->tx.buf[i];
}

static void
tx_done(struct lg *lg, size_t i, int ok)
{
	struct lg_win *w;

	if (lg->io->tx.dir[i] < 0 || lg->io->tx.win[i] < 0)
		return;
	w = &lg->t.w[lg->io->tx.win[i]];
	if (ok)
		w->sent[lg->io->tx.dir[i]]++;
	else
		w->txfail[lg->io->tx.dir[i]]++;
}

static void
flush(struct lg *lg)
{
	size_t i = 0;

	while (i < lg->io->tx.n) {
		size_t run = 1;
		int n;

		while (i + run < lg->io->tx.n && lg->io->tx.fd[i + run] == lg->io->tx.fd[i])
			run++;
		n = sendmmsg(lg->io->tx.fd[i], &lg->io->tx.msg[i], (unsigned int)run,
		    MSG_DONTWAIT);
		if (n <= 0) {
			tx_done(lg, i, 0);
			i++;
			continue;
		}
		for (int k = 0; k < n; k++)
			tx_done(lg, i + (size_t)k, 1);
		i += (size_t)n;
	}
	lg->io->tx.n = 0;
}

static void
put_payload(uint8_t *p, uint32_t idx, uint32_t dir, uint32_t seq, int64_t ts)
{
	uint32_t magic = LG_MAGIC;

	memcpy(p, &magic, 4);
	memcpy(p + 4, &idx, 4);
	memcpy(p + 8, &dir, 4);
	memcpy(p + 12, &seq, 4);
	memcpy(p + 16, &ts, 8);
}

int
lg_win_of(const struct lg *lg, int64_t ts)
{
	int64_t k;

	if (lg->t.w == NULL || ts < lg->t.tw)
		return -1;
	k = (ts - lg->t.tw) / lg->t.win_ns;
	return k < lg->windows ? (int)k : -1;
}

/* Queues one datagram of direction dir for allocation i. */
static void
queue_one(struct lg *lg, int dir, size_t i, int64_t now, int win)
{
	struct lg_alloc *a = &lg->a[i];
	uint8_t pl[LG_PAYLOAD_MAX], *p;

	if (dir == 1) {
		p = tx_slot(lg, lg->peer_fd, &a->relay, NULL, 1, win);
		put_payload(p, (uint32_t)i, 1, a->seq[1]++, now);
		lg->io->tx.iov[lg->io->tx.n - 1].iov_len = lg->payload;
		return;
	}
	p = tx_slot(lg, a->fd, &lg->server, lg->shared ? &a->src : NULL, 0,
	    win);
	if (!lg->indications) {
		chandata_hdr(p, a->chan, (uint16_t)lg->payload);
		put_payload(p + CHANDATA_HDR_LEN, (uint32_t)i, 0, a->seq[0]++,
		    now);
		lg->io->tx.iov[lg->io->tx.n - 1].iov_len = CHANDATA_HDR_LEN + lg->payload;
	} else {
		struct stun_enc e;
		struct stun_addr peer = { .family = STUN_AF_IPV4 };
		uint8_t txid[STUN_TXID_LEN];
		int n;

		memcpy(txid, &now, 8);
		memcpy(txid + 8, &i, 4);
		peer.port = ntohs(lg->peer.sin_port);
		memcpy(peer.ip, &lg->peer.sin_addr, 4);
		memset(pl, 0, lg->payload);
		put_payload(pl, (uint32_t)i, 0, a->seq[0]++, now);
		stun_enc_init(&e, p, LG_PKT_MAX,
		    stun_type(STUN_METHOD_SEND, STUN_CLASS_INDICATION), txid);
		stun_enc_xaddr(&e, STUN_ATTR_XOR_PEER_ADDRESS, &peer);
		stun_enc_attr(&e, STUN_ATTR_DATA, pl, lg->payload);
		n = stun_enc_finish(&e);
		lg->io->tx.iov[lg->io->tx.n - 1].iov_len = n > 0 ? (size_t)n : 0;
	}
}

/* Sends what the offered rate says is due by now. */
void
lg_traffic_tick(struct lg *lg, int64_t now)
{
	int64_t el = now - lg->t.t0;
	int win = lg_win_of(lg, now);
	uint64_t cap = (uint64_t)(lg->rate / 100) + 64; /* 10 ms worth */

	for (int dir = 0; dir < 2; dir++) {
		uint64_t want = (uint64_t)((double)el * lg->rate / 1e9), due;

		if (want <= lg->t.total[dir])
			continue;
		due = want - lg->t.total[dir];
		if (due > cap) {
			if (win >= 0)
				lg->t.w[win].lag[dir] += due - cap;
			lg->t.total[dir] += due - cap;
			due = cap;
		}
		for (uint64_t k = 0; k < due; k++) {
			size_t i = lg->t.rr[dir]++ % lg->n_a;

			queue_one(lg, dir, i, lg_now(), win);
		}
		lg->t.total[dir] += due;
	}
	flush(lg);
}

/* Receiving. */

static void
payload_input(struct lg *lg, int dir, const uint8_t *p, size_t len,
    int64_t now)
{
	uint32_t magic, idx, d, seq;
	int64_t ts;
	int win;

	if (len < LG_PAYLOAD_MIN) {
		lg->t.bad++;
		return;
	}
	memcpy(&magic, p, 4);
	memcpy(&idx, p + 4, 4);
	memcpy(&d, p + 8, 4);
	memcpy(&seq, p + 12, 4);
	memcpy(&ts, p + 16, 8);
	if (magic != LG_MAGIC || idx >= lg->n_a || d != (uint32_t)dir) {
		lg->t.bad++;
		return;
	}
	win = lg_win_of(lg, ts);
	if (win < 0)
		return;
	lg->t.w[win].recv[dir]++;
	lg_hist_add(&lg->t.w[win].lat[dir], (uint64_t)(now - ts));
}

static void
client_input(struct lg *lg, struct lg_alloc *a, uint8_t *p, size_t len,
    int64_t now)
{
	struct stun_msg m;
	uint16_t dlen;

	if (len >= CHANDATA_HDR_LEN && (p[0] & 0xc0) == 0x40) {
		dlen = (uint16_t)(p[2] << 8 | p[3]);
		if (dlen > len - CHANDATA_HDR_LEN) {
			lg->t.bad++;
			return;
		}
		payload_input(lg, 1, p + CHANDATA_HDR_LEN, dlen, now);
		return;
	}
	if (len >= STUN_HDR_LEN && (p[0] & 0xc0) == 0 &&
	    (p[1] & 0x10) != 0 && (p[0] & 0x01) == 0) {
		/* class indication: a Data indication, presumably */
		if (stun_msg_decode(&m, p, len) == 0 &&
		    m.method == STUN_METHOD_DATA && STUN_HAS(&m, DATA)) {
			payload_input(lg, 1, m.data.p, m.data.len, now);
			return;
		}
		lg->t.bad++;
		return;
	}
	if (!lg_turn_input(lg, a, p, len, now))
		lg->t.unknown++;
}

static struct lg_alloc *
shared_owner(struct lg *lg, struct msghdr *mh)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm))
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			uint32_t k;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			k = ntohl(pi.ipi_addr.s_addr) - SRC_BASE;
			if (k >= 0xfe0000U || lg->n_a == 0)
				return NULL;
			return &lg->a[k % lg->n_a];
		}
	return NULL;
}

static void
rx_fd(struct lg *lg, int fd, uint64_t tag, int64_t now)
{
	uint64_t type = tag >> 32;
	size_t idx = (size_t)(tag & 0xffffffffU);

	for (int round = 0; round < RX_ROUNDS; round++) {
		int n;

		for (int i = 0; i < RX_BATCH; i++) {
			struct msghdr *mh = &lg->io->rx.msg[i].msg_hdr;

			lg->io->rx.iov[i].iov_base = lg->io->rx.buf[i];
			lg->io->rx.iov[i].iov_len = LG_PKT_MAX;
			memset(mh, 0, sizeof(*mh));
			mh->msg_name = &lg->io->rx.from[i];
			mh->msg_namelen = sizeof(lg->io->rx.from[i]);
			mh->msg_iov = &lg->io->rx.iov[i];
			mh->msg_iovlen = 1;
			if (type == LG_EV_SHARED) {
				mh->msg_control = lg->io->rx.cmsg[i];
				mh->msg_controllen = CMSG_SZ;
			}
		}
		n = recvmmsg(fd, lg->io->rx.msg, RX_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		now = lg_now();
		for (int i = 0; i < n; i++) {
			uint8_t *p = lg->io->rx.buf[i];
			size_t len = lg->io->rx.msg[i].msg_len;
			struct lg_alloc *a;

			if (type == LG_EV_PEER) {
				payload_input(lg, 0, p, len, now);
				continue;
			}
			a = type == LG_EV_SHARED ?
			    shared_owner(lg, &lg->io->rx.msg[i].msg_hdr) :
			    (idx < lg->n_a ? &lg->a[idx] : NULL);
			if (a == NULL) {
				lg->t.unknown++;
				continue;
			}
			client_input(lg, a, p, len, now);
		}
		if (n < RX_BATCH)
			return;
	}
}

/*
 * Waits for input until deadline (or not at all when it has passed),
 * handles what arrived.  Returns the time after.
 */
int64_t
lg_poll(struct lg *lg, int64_t deadline)
{
	struct epoll_event ev[256];
	struct timespec ts = { 0, 0 };
	int64_t now = lg_now(), next, wait;
	int n;

	next = lg_turn_timers(lg, now);
	if (next != 0 && next < deadline)
		deadline = next;
	wait = deadline - now;
	if (wait > 0) {
		ts.tv_sec = wait / 1000000000LL;
		ts.tv_nsec = wait % 1000000000LL;
	}
	n = epoll_pwait2(lg->ep, ev, 256, &ts, NULL);
	if (n < 0 && errno != EINTR)
		lg_die("epoll_pwait2: %s", strerror(errno));
	now = lg_now();
	for (int i = 0; i < n; i++) {
		uint64_t type = ev[i].data.u64 >> 32;
		size_t idx = (size_t)(ev[i].data.u64 & 0xffffffffU);
		int fd;

		fd = type == LG_EV_PEER ? lg->peer_fd :
		    type == LG_EV_SHARED ? lg->shared_fd : lg->a[idx].fd;
		if (fd != -1)
			rx_fd(lg, fd, ev[i].data.u64, now);
	}
	return lg_now();
}
