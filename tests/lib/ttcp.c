/*
 * Plain TCP on loopback for the tests.  See ttcp.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ttcp.h"

#define ECHO_BUF 65536

struct echo_conn {
	int fd;
	size_t off, len; /* buf[off..len) waits to go back */
	unsigned char *buf;
};

static int stream_socket(int);
static void *echo_main(void *);

static int
stream_socket(int family)
{
	int on = 1, fd;

	signal(SIGPIPE, SIG_IGN);
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd != -1)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	return fd;
}

int
ttcp_listen(const char *ip, union tc_addr *addr)
{
	socklen_t len = sizeof(*addr);
	int fd;

	if (tc_addr_parse(addr, ip, 0) != 0)
		return -1;
	fd = stream_socket(addr->sa.sa_family);
	if (fd == -1)
		return -1;
	if (bind(fd, &addr->sa, tc_addr_len(addr)) != 0 ||
	    listen(fd, 64) != 0 || getsockname(fd, &addr->sa, &len) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
ttcp_accept(int lfd, union tc_addr *from, int timeout_ms)
{
	long long deadline = tc_now_ms() + timeout_ms;
	union tc_addr dummy;
	int on = 1;

	if (from == NULL)
		from = &dummy;
	for (;;) {
		socklen_t len = sizeof(*from);
		int fd =
		    accept4(lfd, &from->sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd != -1) {
			(void)setsockopt(
			    fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
			return fd;
		}
		if ((errno != EAGAIN && errno != EINTR) ||
		    !tc_wait_fd(lfd, POLLIN, deadline))
			return -1;
	}
}

int
ttcp_connect(const union tc_addr *to, union tc_addr *local, int timeout_ms)
{
	socklen_t len = sizeof(*local), elen;
	int fd, err = 0;

	fd = stream_socket(to->sa.sa_family);
	if (fd == -1)
		return -1;
	if (connect(fd, &to->sa, tc_addr_len(to)) != 0) {
		elen = sizeof(err);
		if (errno != EINPROGRESS)
			goto fail;
		if (!tc_wait_fd(fd, POLLOUT, tc_now_ms() + timeout_ms)) {
			errno = ETIMEDOUT;
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
			goto fail;
		if (err != 0) {
			errno = err;
			goto fail;
		}
	}
	if (local != NULL && getsockname(fd, &local->sa, &len) != 0)
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

int
ttcp_write(int fd, const void *p, size_t len, int timeout_ms)
{
	const unsigned char *b = p;
	long long deadline = tc_now_ms() + timeout_ms;

	while (len > 0) {
		ssize_t n = send(fd, b, len, MSG_NOSIGNAL);

		if (n > 0) {
			b += n;
			len -= (size_t)n;
			continue;
		}
		if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
		    !tc_wait_fd(fd, POLLOUT, deadline))
			return -1;
	}
	return 0;
}

int
ttcp_read(int fd, void *buf, size_t cap, int timeout_ms)
{
	long long deadline = tc_now_ms() + timeout_ms;

	for (;;) {
		ssize_t n = recv(fd, buf, cap, 0);

		if (n >= 0)
			return (int)n;
		if (errno != EAGAIN && errno != EINTR)
			return 0; /* a reset ends the stream too */
		if (!tc_wait_fd(fd, POLLIN, deadline))
			return -1;
	}
}

size_t
ttcp_read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	long long deadline = tc_now_ms() + timeout_ms;
	unsigned char *b = buf;
	size_t got = 0;

	while (got < len) {
		long long left = deadline - tc_now_ms();
		int n;

		if (left <= 0)
			break;
		n = ttcp_read(fd, b + got, len - got, (int)left);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

int
ttcp_wait_eof(int fd, int timeout_ms, size_t *got)
{
	long long start = tc_now_ms(), deadline = start + timeout_ms;
	unsigned char buf[16384];

	if (got != NULL)
		*got = 0;
	for (;;) {
		long long left = deadline - tc_now_ms();
		int n;

		if (left < 0)
			left = 0;
		n = ttcp_read(fd, buf, sizeof(buf), (int)left);
		if (n == 0)
			return (int)(tc_now_ms() - start);
		if (n < 0)
			return -1;
		if (got != NULL)
			*got += (size_t)n;
	}
}

/* One pass of the echo thread over its connections. */
static void
echo_io(struct ttcp_echo *e, struct echo_conn *c)
{
	if (c->off < c->len) {
		ssize_t n =
		    send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);

		if (n > 0) {
			c->off += (size_t)n;
			atomic_fetch_add(&e->bytes, (size_t)n);
		} else if (n < 0 && errno != EAGAIN && errno != EINTR)
			goto gone;
		return;
	} else {
		ssize_t n = recv(c->fd, c->buf, ECHO_BUF, 0);

		if (n > 0) {
			c->off = 0;
			c->len = (size_t)n;
			return;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
	}
gone:
	close(c->fd);
	c->fd = -1;
	atomic_fetch_sub(&e->open, 1);
}

static void *
echo_main(void *arg)
{
	struct ttcp_echo *e = arg;
	struct echo_conn conns[TTCP_ECHO_MAX];
	struct pollfd pfd[2 + TTCP_ECHO_MAX];

	for (int i = 0; i < TTCP_ECHO_MAX; i++) {
		conns[i].fd = -1;
		conns[i].buf = NULL;
	}
	for (;;) {
		int slot[TTCP_ECHO_MAX], n = 2;

		pfd[0] = (struct pollfd){.fd = e->stop[0], .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = e->lfd, .events = POLLIN};
		for (int i = 0; i < TTCP_ECHO_MAX; i++) {
			struct echo_conn *c = &conns[i];

			if (c->fd == -1)
				continue;
			slot[n - 2] = i;
			pfd[n++] = (struct pollfd){.fd = c->fd,
			    .events = c->off < c->len ? POLLOUT : POLLIN};
		}
		if (poll(pfd, (nfds_t)n, -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents != 0)
			break;
		for (int k = 2; k < n; k++)
			if (pfd[k].revents != 0)
				echo_io(e, &conns[slot[k - 2]]);
		if (pfd[1].revents != 0) {
			int fd = ttcp_accept(e->lfd, NULL, 0), i;

			for (i = 0; fd != -1 && i < TTCP_ECHO_MAX; i++)
				if (conns[i].fd == -1)
					break;
			if (fd != -1 && i == TTCP_ECHO_MAX) {
				close(fd);
				continue;
			}
			if (fd == -1)
				continue;
			if (conns[i].buf == NULL &&
			    (conns[i].buf = malloc(ECHO_BUF)) == NULL) {
				close(fd);
				continue;
			}
			conns[i].fd = fd;
			conns[i].off = conns[i].len = 0;
			atomic_fetch_add(&e->accepted, 1);
			atomic_fetch_add(&e->open, 1);
		}
	}
	for (int i = 0; i < TTCP_ECHO_MAX; i++) {
		if (conns[i].fd != -1)
			close(conns[i].fd);
		free(conns[i].buf);
	}
	return NULL;
}

int
ttcp_echo_start(struct ttcp_echo *e, const char *ip)
{
	memset(e, 0, sizeof(*e));
	e->stop[0] = e->stop[1] = -1;
	atomic_init(&e->accepted, 0);
	atomic_init(&e->open, 0);
	atomic_init(&e->bytes, 0);
	e->lfd = ttcp_listen(ip, &e->addr);
	if (e->lfd == -1 || pipe2(e->stop, O_CLOEXEC) != 0 ||
	    pthread_create(&e->th, NULL, echo_main, e) != 0) {
		ttcp_echo_stop(e);
		return -1;
	}
	e->running = 1;
	return 0;
}

void
ttcp_echo_stop(struct ttcp_echo *e)
{
	if (e->running) {
		(void)!write(e->stop[1], "x", 1);
		pthread_join(e->th, NULL);
		e->running = 0;
	}
	for (int i = 0; i < 2; i++)
		if (e->stop[i] != -1)
			close(e->stop[i]);
	if (e->lfd != -1)
		close(e->lfd);
	e->stop[0] = e->stop[1] = e->lfd = -1;
}
