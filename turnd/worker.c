/*
 * Workers: thread, event loop, mailbox, the once-a-second tick, and the
 * batched datagram I/O of the data path.  The loop runs libevent one
 * iteration at a time and flushes the transmit queue after each, so that
 * everything a wake-up produced leaves in one sendmmsg per socket run.
 */
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "listen.h"
#include "log.h"
#include "portpool.h"
#include "server.h"
#include "tcprelay.h"
#include "txcache.h"
#include "worker.h"

static void *worker_main(void *);
static void worker_tick_cb(evutil_socket_t, short, void *);
static void io_init(struct io *);

void
worker_clock(struct worker *w)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	w->now = (uint32_t)ts.tv_sec;
	w->now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* xorshift128+: port choice and Data indication transaction IDs. */
uint64_t
worker_rand(struct worker *w)
{
	uint64_t s1 = w->rng[0];
	const uint64_t s0 = w->rng[1];

	w->rng[0] = s0;
	s1 ^= s1 << 23;
	w->rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
	return w->rng[1] + s0;
}

struct worker *
worker_new(struct server *srv, int id)
{
	const struct turnd_conf *c = srv->snap->conf;
	struct worker *w;

	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		log_warn("event=worker_failed worker=%d", id);
		return NULL;
	}
	w->id = id;
	w->srv = srv;
	w->snap = srv->snap;
	if (srv->tls != NULL && SSL_CTX_up_ref(srv->tls) == 1)
		w->tls = srv->tls;
	w->mbox.fd = -1;
	TAILQ_INIT(&w->conns);
	TAILQ_INIT(&w->splices);
	if (RAND_bytes((unsigned char *)w->rng, sizeof(w->rng)) != 1 ||
	    (w->rng[0] | w->rng[1]) == 0)
		goto fail;
	w->next_alloc_id = (uint32_t)worker_rand(w) & 0xffff;
	worker_clock(w);
	io_init(&w->io);
	w->io.mem = mmap(NULL, (size_t)IO_SLOTS * IO_SLOT_SIZE,
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
	    MAP_NORESERVE, -1, 0);
	if (w->io.mem == MAP_FAILED) {
		w->io.mem = NULL;
		goto fail;
	}
	w->base = event_base_new();
	if (w->base == NULL)
		goto fail;
	w->allocs = alloc_table_new((uint32_t)worker_rand(w));
	w->txc = txcache_new((uint32_t)worker_rand(w));
	if (w->allocs == NULL || w->txc == NULL)
		goto fail;
	for (size_t i = 0; i < c->n_listen; i++) {
		static const int kinds[] = { CONF_T_UDP, CONF_T_TCP,
			CONF_T_TLS };

		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			struct listener *l, **nl;

			if (!(c->listen[i].transports & kinds[k]))
				continue;
			if (kinds[k] == CONF_T_UDP)
				l = listener_udp_new(w, &c->listen[i].addr, c);
			else
				l = listener_tcp_new(w, &c->listen[i].addr,
				    kinds[k]);
			if (l == NULL)
				goto fail_quiet;
			nl = reallocarray(w->listeners, w->n_listeners + 1,
			    sizeof(*nl));
			if (nl == NULL) {
				listener_free(l);
				goto fail;
			}
			w->listeners = nl;
			w->listeners[w->n_listeners++] = l;
		}
	}
	w->tick = event_new(w->base, -1, EV_PERSIST, worker_tick_cb, w);
	if (w->tick == NULL || mbox_init(&w->mbox, w->base, w) != 0)
		goto fail;
	{
		struct timeval one = { 1, 0 };

		if (event_add(w->tick, &one) != 0)
			goto fail;
	}
	return w;
fail:
	log_warn("event=worker_failed worker=%d", id);
fail_quiet:
	worker_free(w);
	return NULL;
}

void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	tconn_free_all(w);
	tcprelay_stop(w);
	/* deferred bufferevent callbacks hold references: let them drop */
	if (w->base != NULL)
		event_base_loop(w->base, EVLOOP_NONBLOCK);
	alloc_table_free(w, w->allocs);
	txcache_free(w->txc);
	for (size_t i = 0; i < w->n_listeners; i++)
		listener_free(w->listeners[i]);
	free(w->listeners);
	if (w->tick != NULL)
		event_free(w->tick);
	if (w->base != NULL)
		mbox_destroy(&w->mbox);
	if (w->base != NULL)
		event_base_free(w->base);
	if (w->io.mem != NULL)
		munmap(w->io.mem, (size_t)IO_SLOTS * IO_SLOT_SIZE);
	SSL_CTX_free(w->tls);
	free(w);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	while (!w->stopping) {
		if (event_base_loop(w->base, EVLOOP_ONCE) == -1) {
			log_warnx("event=worker_loop_failed worker=%d", w->id);
			break;
		}
		io_flush(w);
	}
	return NULL;
}

int
worker_start(struct worker *w)
{
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
		return -1;
	w->started = 1;
	return 0;
}

void
worker_join(struct worker *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = 0;
}

void
worker_post(struct worker *w, struct mmsg *m)
{
	mbox_post(&w->mbox, m);
}

void
worker_stop_fn(struct mmsg *m, void *ctx)
{
	struct worker *w = ctx;

	w->stopping = 1;
	event_base_loopbreak(w->base);
}

static void
worker_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker *w = arg;

	worker_clock(w);
	alloc_sweep(w, w->now);
	if (w->id == 0) {
		/* reservations are shared; one worker is enough */
		for (int i = 0; i < 2; i++)
			if (w->srv->pool[i] != NULL)
				portpool_expire(w->srv->pool[i], w->now);
		tcprelay_expire(w, w->now);
	}
}

/* Datagram I/O. */

static uint8_t *
slot(struct io *io, size_t i)
{
	return io->mem + i * IO_SLOT_SIZE;
}

static void
pktinfo_parse(struct msghdr *mh, union taddr *local)
{
	struct cmsghdr *cm;

	memset(local, 0, sizeof(*local));
	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			local->in.sin_family = AF_INET;
			local->in.sin_addr = pi.ipi_addr;
		} else if (cm->cmsg_level == IPPROTO_IPV6 &&
		    cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			local->in6.sin6_family = AF_INET6;
			local->in6.sin6_addr = pi.ipi6_addr;
		}
	}
}

/* The parts of the send and receive headers that never change. */
static void
io_init(struct io *io)
{
	for (size_t i = 0; i < IO_SLOTS; i++) {
		struct msghdr *mh = &io->tx_msg[i].msg_hdr;

		memset(mh, 0, sizeof(*mh));
		mh->msg_name = &io->tx_to[i];
		mh->msg_iov = &io->tx_iov[i];
		mh->msg_iovlen = 1;
	}
	for (size_t i = 0; i < IO_BATCH; i++) {
		struct msghdr *mh = &io->rx_msg[i].msg_hdr;

		memset(mh, 0, sizeof(*mh));
		mh->msg_name = &io->rx[i].from;
		mh->msg_iov = &io->rx_iov[i];
		mh->msg_iovlen = 1;
		io->rx_iov[i].iov_len = IO_DATA_MAX;
	}
}

size_t
io_recv(struct worker *w, int fd, int pktinfo, size_t batch)
{
	struct io *io = &w->io;
	int n;

	if (batch > IO_BATCH)
		batch = IO_BATCH;
	if (io->used + batch > IO_SLOTS)
		io_flush(w);
	/* only what recvmmsg overwrites is set again: it costs per call */
	for (size_t i = 0; i < batch; i++) {
		struct msghdr *mh = &io->rx_msg[i].msg_hdr;

		io->rx_iov[i].iov_base = slot(io, io->used + i) + IO_HEADROOM;
		mh->msg_namelen = sizeof(io->rx[i].from);
		mh->msg_control = pktinfo ? io->rx_cmsg[i] : NULL;
		mh->msg_controllen = pktinfo ? IO_CMSG_SPACE : 0;
	}
	n = recvmmsg(fd, io->rx_msg, (unsigned int)batch, MSG_DONTWAIT, NULL);
	if (n <= 0) {
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR && errno != ECONNREFUSED)
			log_debug("event=recv_failed fd=%d errno=%d", fd,
			    errno);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		struct io_pkt *p = &io->rx[i];
		struct msghdr *mh = &io->rx_msg[i].msg_hdr;

		p->data = io->rx_iov[i].iov_base;
		p->len = io->rx_msg[i].msg_len;
		p->truncated = (mh->msg_flags & MSG_TRUNC) != 0;
		if (pktinfo)
			pktinfo_parse(mh, &p->local);
	}
	io->used += (size_t)n;
	return (size_t)n;
}

static void
pktinfo_set(struct msghdr *mh, uint8_t *buf, const union taddr *local)
{
	struct cmsghdr *cm;

	memset(buf, 0, IO_CMSG_SPACE);
	mh->msg_control = buf;
	if (local->sa.sa_family == AF_INET6) {
		struct in6_pktinfo pi = { .ipi6_addr = local->in6.sin6_addr };

		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
		cm = CMSG_FIRSTHDR(mh);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	} else {
		struct in_pktinfo pi = { .ipi_spec_dst = local->in.sin_addr };

		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
		cm = CMSG_FIRSTHDR(mh);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
}

void
io_queue(struct worker *w, int fd, const union taddr *to,
    const union taddr *local, uint8_t *p, size_t len)
{
	struct io *io = &w->io;
	struct msghdr *mh;
	size_t i;

	if (io->n_tx == IO_SLOTS)
		io_flush(w); /* cannot happen: one entry per held slot */
	i = io->n_tx++;
	io->tx_to[i] = *to;
	io->tx_iov[i].iov_base = p;
	io->tx_iov[i].iov_len = len;
	io->tx_fd[i] = fd;
	/* name and iov pointers are set once in io_init */
	mh = &io->tx_msg[i].msg_hdr;
	mh->msg_namelen = taddr_len(to);
	if (local != NULL)
		pktinfo_set(mh, io->tx_cmsg[i], local);
	else {
		mh->msg_control = NULL;
		mh->msg_controllen = 0;
	}
}

void
io_flush(struct worker *w)
{
	struct io *io = &w->io;
	size_t i = 0;

	if (w->ops != NULL && w->ops->send != NULL) {
		for (i = 0; i < io->n_tx; i++)
			(void)w->ops->send(w, io->tx_fd[i], &io->tx_to[i],
			    io->tx_iov[i].iov_base, io->tx_iov[i].iov_len);
		io->n_tx = 0;
		io->used = 0;
		return;
	}
	while (i < io->n_tx) {
		size_t run = 1;
		int n;

		while (i + run < io->n_tx && io->tx_fd[i + run] == io->tx_fd[i])
			run++;
		n = sendmmsg(io->tx_fd[i], &io->tx_msg[i], (unsigned int)run,
		    MSG_DONTWAIT);
		if (n < 0) {
			/* the first datagram of the run failed: skip it */
			STAT_INC(&w->stats, DROP_SEND_FAIL);
			i++;
			continue;
		}
		if ((size_t)n == 0) {
			i++;
			continue;
		}
		i += (size_t)n;
	}
	io->n_tx = 0;
	io->used = 0;
}

int
io_send_now(struct worker *w, int fd, const union taddr *to,
    const union taddr *local, const uint8_t *p, size_t len)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)p, .iov_len = len };
	struct msghdr mh = { 0 };
	uint8_t cbuf[IO_CMSG_SPACE];

	if (w->ops != NULL && w->ops->send != NULL)
		return w->ops->send(w, fd, to, p, len);
	mh.msg_name = (void *)(uintptr_t)to;
	mh.msg_namelen = taddr_len(to);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (local != NULL)
		pktinfo_set(&mh, cbuf, local);
	if (sendmsg(fd, &mh, MSG_DONTWAIT) < 0) {
		STAT_INC(&w->stats, DROP_SEND_FAIL);
		return -1;
	}
	return 0;
}
