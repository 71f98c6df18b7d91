/*
 * forwarder: the ceiling reference for the relay benchmark.  It moves
 * datagrams the way a TURN server's data path must (ChannelData from a
 * client loses its 4-byte header and leaves a per-client relay socket for
 * the peer; a datagram from the peer gains the header and goes back to
 * the client through the listening socket) and does nothing else: no
 * STUN, no authentication, no permissions, no lifetimes, no counters.
 *
 *	forwarder [-l IP:PORT] [-p MIN-MAX] [-b BYTES]
 *		listen there (127.0.0.1:3479), IPv4 only; relay sockets on
 *		127.0.0.1, in the port range if one is given (else
 *		ephemeral ports), so that a driver can tell them apart;
 *		-b sets SO_RCVBUF and SO_SNDBUF of the listening socket
 *
 * The mapping is set up by loadgen's handshake (lg.h): a client sends
 * FWD_HELLO with its channel number and its peer's address, the forwarder
 * opens a relay socket on 127.0.0.1 and answers FWD_ACK with its port.
 * FWD_DEL closes it, FWD_PING is echoed.
 *
 * I/O is what a good server would do: epoll, recvmmsg into a pool of
 * slots with headroom, the header written in place, and everything a
 * wake-up produced sent with one sendmmsg per run of datagrams leaving
 * the same socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lg.h"

#define BATCH 32
#define ROUNDS 4
#define SLOTS 1024
#define HEADROOM 64
#define SLOT_SIZE (HEADROOM + LG_PKT_MAX)
#define HBITS 16

struct client {
	struct sockaddr_in addr; /* the client */
	struct sockaddr_in peer;
	uint16_t chan;
	uint16_t relay_port;
	int fd; /* relay socket; -1: entry free */
	int32_t next; /* hash chain, or free list */
};

struct fwd {
	int ep;
	int lfd;
	struct client *c;
	size_t n_c, cap_c;
	int32_t free_c;
	int32_t heads[1 << HBITS];
	uint16_t port_min, port_max, port_next;

	uint8_t *mem; /* SLOTS slots */
	size_t used;
	struct mmsghdr rx[BATCH];
	struct iovec rx_iov[BATCH];
	struct sockaddr_in rx_from[BATCH];
	size_t n_tx;
	struct mmsghdr tx[SLOTS];
	struct iovec tx_iov[SLOTS];
	struct sockaddr_in tx_to[SLOTS]; /* copies: f->c may move */
	int tx_fd[SLOTS];
};

static struct fwd F;
static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	stop = sig;
}

static uint32_t
hash(const struct sockaddr_in *a)
{
	uint32_t h = a->sin_addr.s_addr * 0x9e3779b1U ^
	    (uint32_t)a->sin_port * 0x85ebca6bU;

	return (h ^ h >> 16) & ((1U << HBITS) - 1);
}

static struct client *
lookup(struct fwd *f, const struct sockaddr_in *a)
{
	for (int32_t i = f->heads[hash(a)]; i >= 0; i = f->c[i].next) {
		struct client *c = &f->c[i];

		if (c->addr.sin_port == a->sin_port &&
		    c->addr.sin_addr.s_addr == a->sin_addr.s_addr)
			return c;
	}
	return NULL;
}

/* Binds to the next free port of the range, or an ephemeral one. */
static int
bind_relay(struct fwd *f, int fd, struct sockaddr_in *sin)
{
	unsigned int span;

	if (f->port_min == 0)
		return bind(fd, (struct sockaddr *)sin, sizeof(*sin));
	span = (unsigned int)(f->port_max - f->port_min) + 1;
	for (unsigned int k = 0; k < span; k++) {
		if (f->port_next < f->port_min || f->port_next > f->port_max)
			f->port_next = f->port_min;
		sin->sin_port = htons(f->port_next++);
		if (bind(fd, (struct sockaddr *)sin, sizeof(*sin)) == 0)
			return 0;
		if (errno != EADDRINUSE)
			return -1;
	}
	return -1;
}

static struct client *
client_new(struct fwd *f, const struct sockaddr_in *a)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct epoll_event ev = { .events = EPOLLIN };
	struct client *c;
	int32_t i;
	uint32_t h = hash(a);
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return NULL;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind_relay(f, fd, &sin) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
		goto fail;
	if (f->free_c >= 0) {
		i = f->free_c;
		f->free_c = f->c[i].next;
	} else {
		if (f->n_c == f->cap_c) {
			size_t cap = f->cap_c ? f->cap_c * 2 : 256;
			struct client *nc = reallocarray(f->c, cap,
			    sizeof(*nc));

			if (nc == NULL)
				goto fail;
			f->c = nc;
			f->cap_c = cap;
		}
		i = (int32_t)f->n_c++;
	}
	c = &f->c[i];
	memset(c, 0, sizeof(*c));
	c->addr = *a;
	c->fd = fd;
	c->relay_port = sin.sin_port;
	c->next = f->heads[h];
	f->heads[h] = i;
	ev.data.u32 = (uint32_t)i + 1;
	if (epoll_ctl(f->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		f->heads[h] = c->next;
		c->fd = -1;
		c->next = f->free_c;
		f->free_c = i;
		close(fd);
		return NULL;
	}
	return c;
fail:
	close(fd);
	return NULL;
}

static void
client_del(struct fwd *f, struct client *c)
{
	int32_t i = (int32_t)(c - f->c), *pp = &f->heads[hash(&c->addr)];

	while (*pp >= 0 && *pp != i)
		pp = &f->c[*pp].next;
	if (*pp == i)
		*pp = c->next;
	close(c->fd);
	c->fd = -1;
	c->next = f->free_c;
	f->free_c = i;
}

static uint8_t *
slot(struct fwd *f, size_t i)
{
	return f->mem + i * SLOT_SIZE;
}

static void
flush(struct fwd *f)
{
	size_t i = 0;

	while (i < f->n_tx) {
		size_t run = 1;
		int n;

		while (i + run < f->n_tx && f->tx_fd[i + run] == f->tx_fd[i])
			run++;
		n = sendmmsg(f->tx_fd[i], &f->tx[i], (unsigned int)run,
		    MSG_DONTWAIT);
		i += n > 0 ? (size_t)n : 1;
	}
	f->n_tx = 0;
	f->used = 0;
}

static void
queue(struct fwd *f, int fd, const struct sockaddr_in *to, uint8_t *p,
    size_t len)
{
	size_t i = f->n_tx++;
	struct msghdr *mh = &f->tx[i].msg_hdr;

	f->tx_iov[i].iov_base = p;
	f->tx_iov[i].iov_len = len;
	f->tx_fd[i] = fd;
	f->tx_to[i] = *to;
	memset(mh, 0, sizeof(*mh));
	mh->msg_name = &f->tx_to[i];
	mh->msg_namelen = sizeof(*to);
	mh->msg_iov = &f->tx_iov[i];
	mh->msg_iovlen = 1;
}

static void
rx_init(struct fwd *f)
{
	for (size_t i = 0; i < BATCH; i++) {
		struct msghdr *mh = &f->rx[i].msg_hdr;

		f->rx_iov[i].iov_len = LG_PKT_MAX;
		memset(mh, 0, sizeof(*mh));
		mh->msg_name = &f->rx_from[i];
		mh->msg_iov = &f->rx_iov[i];
		mh->msg_iovlen = 1;
	}
}

static int
recv_batch(struct fwd *f, int fd)
{
	int n;

	if (f->used + BATCH > SLOTS)
		flush(f);
	/* the rest of each header was set once, in rx_init */
	for (size_t i = 0; i < BATCH; i++) {
		f->rx_iov[i].iov_base = slot(f, f->used + i) + HEADROOM;
		f->rx[i].msg_hdr.msg_namelen = sizeof(f->rx_from[i]);
	}
	n = recvmmsg(fd, f->rx, BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return 0;
	f->used += (size_t)n;
	return n;
}

/* The handshake: answered at once, it is not the data path. */
static void
control(struct fwd *f, const uint8_t *p, size_t len,
    const struct sockaddr_in *from)
{
	uint8_t out[FWD_MSG_LEN];
	struct client *c;
	uint32_t t;

	if (len < FWD_MSG_LEN)
		return;
	memcpy(&t, p, 4);
	memcpy(out, p, FWD_MSG_LEN);
	switch (ntohl(t)) {
	case FWD_HELLO:
		c = lookup(f, from);
		if (c == NULL && (c = client_new(f, from)) == NULL)
			return;
		memcpy(&c->chan, p + 4, 2);
		c->chan = ntohs(c->chan);
		c->peer.sin_family = AF_INET;
		memcpy(&c->peer.sin_port, p + 6, 2);
		memcpy(&c->peer.sin_addr, p + 8, 4);
		t = htonl(FWD_ACK);
		memcpy(out, &t, 4);
		memcpy(out + 4, &c->relay_port, 2);
		break;
	case FWD_DEL:
		if ((c = lookup(f, from)) != NULL)
			client_del(f, c);
		break;
	case FWD_PING:
		break;
	default:
		return;
	}
	(void)sendto(f->lfd, out, sizeof(out), MSG_DONTWAIT,
	    (const struct sockaddr *)from, sizeof(*from));
}

/* Client to peer: strip the ChannelData header. */
static void
from_clients(struct fwd *f)
{
	for (int round = 0; round < ROUNDS; round++) {
		int n = recv_batch(f, f->lfd);

		for (int i = 0; i < n; i++) {
			uint8_t *p = f->rx_iov[i].iov_base;
			size_t len = f->rx[i].msg_len;
			struct client *c;
			uint16_t chan, dlen;

			if (len < 4)
				continue;
			if (p[0] == 0xff) {
				control(f, p, len, &f->rx_from[i]);
				continue;
			}
			chan = (uint16_t)(p[0] << 8 | p[1]);
			dlen = (uint16_t)(p[2] << 8 | p[3]);
			c = lookup(f, &f->rx_from[i]);
			if (c == NULL || c->chan != chan || dlen > len - 4)
				continue;
			queue(f, c->fd, &c->peer, p + 4, dlen);
		}
		if (n < BATCH)
			break;
	}
}

/* Peer to client: prepend the ChannelData header in place. */
static void
from_peer(struct fwd *f, struct client *c)
{
	for (int round = 0; round < ROUNDS; round++) {
		int n = recv_batch(f, c->fd);

		for (int i = 0; i < n; i++) {
			uint8_t *p = (uint8_t *)f->rx_iov[i].iov_base - 4;
			size_t len = f->rx[i].msg_len;

			if (f->rx_from[i].sin_port != c->peer.sin_port ||
			    f->rx_from[i].sin_addr.s_addr !=
			    c->peer.sin_addr.s_addr || len > 0xffff)
				continue;
			p[0] = (uint8_t)(c->chan >> 8);
			p[1] = (uint8_t)c->chan;
			p[2] = (uint8_t)(len >> 8);
			p[3] = (uint8_t)len;
			queue(f, f->lfd, &c->addr, p, len + 4);
		}
		if (n < BATCH)
			break;
	}
}

int
main(int argc, char **argv)
{
	struct fwd *f = &F;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 0 };
	struct epoll_event evs[256];
	struct rlimit rl;
	const char *listen_at = "127.0.0.1:3479";
	char buf[64], *colon;
	int ch, bufsz = 0;

	while ((ch = getopt(argc, argv, "l:p:b:")) != -1) {
		switch (ch) {
		case 'b':
			bufsz = atoi(optarg);
			break;
		case 'l':
			listen_at = optarg;
			break;
		case 'p':
			if (sscanf(optarg, "%hu-%hu", &f->port_min,
			    &f->port_max) != 2 || f->port_min == 0 ||
			    f->port_max < f->port_min) {
				fprintf(stderr, "forwarder: -p MIN-MAX\n");
				return 64;
			}
			break;
		default:
			fprintf(stderr, "usage: forwarder [-l IP:PORT] "
			    "[-p MIN-MAX] [-b BYTES]\n");
			return 64;
		}
	}
	snprintf(buf, sizeof(buf), "%s", listen_at);
	colon = strrchr(buf, ':');
	if (colon == NULL)
		return 64;
	*colon = '\0';
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, buf, &sin.sin_addr) != 1)
		return 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	memset(f->heads, 0xff, sizeof(f->heads));
	f->free_c = -1;
	rx_init(f);
	f->mem = malloc((size_t)SLOTS * SLOT_SIZE);
	f->ep = epoll_create1(EPOLL_CLOEXEC);
	f->lfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (bufsz > 0 && f->lfd != -1) {
		(void)setsockopt(f->lfd, SOL_SOCKET, SO_RCVBUF, &bufsz,
		    sizeof(bufsz));
		(void)setsockopt(f->lfd, SOL_SOCKET, SO_SNDBUF, &bufsz,
		    sizeof(bufsz));
	}
	if (f->mem == NULL || f->ep == -1 || f->lfd == -1 ||
	    bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    epoll_ctl(f->ep, EPOLL_CTL_ADD, f->lfd, &ev) != 0) {
		perror("forwarder");
		return 1;
	}
	while (!stop) {
		int n = epoll_wait(f->ep, evs, 256, -1);

		if (n < 0 && errno != EINTR) {
			perror("epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			uint32_t k = evs[i].data.u32;

			if (k == 0)
				from_clients(f);
			else if (f->c[k - 1].fd != -1)
				from_peer(f, &f->c[k - 1]);
		}
		flush(f);
	}
	return 0;
}
