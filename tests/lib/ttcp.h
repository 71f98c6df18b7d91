/*
 * Plain TCP on loopback for the tests: the peers of RFC 6062 TCP relays
 * (a listening peer the server connects to, a peer that connects to a
 * relayed address), bounded reads and writes, and an echo peer running
 * in a thread of its own.  Sockets are non-blocking with TCP_NODELAY;
 * every wait is bounded by poll.  SIGPIPE is ignored once a socket is
 * made here: a write to a closed connection fails instead.
 */
#ifndef TURND_TESTS_TTCP_H
#define TURND_TESTS_TTCP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "tclient.h"

/*
 * A listening socket on ip and a port the kernel picks (addr).
 * Returns the socket, or -1.
 */
int ttcp_listen(const char *ip, union tc_addr *addr);
/*
 * Accepts one connection within timeout_ms; the peer's address goes in
 * from unless NULL.  Returns the connection, or -1.
 */
int ttcp_accept(int lfd, union tc_addr *from, int timeout_ms);
/*
 * Connects to `to` within timeout_ms; our own address goes in local
 * unless NULL.  Returns the connection, or -1 with errno set
 * (ECONNREFUSED, ETIMEDOUT...).
 */
int ttcp_connect(const union tc_addr *to, union tc_addr *local, int timeout_ms);
/* Writes all of p[0..len) within timeout_ms. Returns 0 or -1. */
int ttcp_write(int fd, const void *p, size_t len, int timeout_ms);
/*
 * Reads what is there, or what arrives within timeout_ms, at most cap
 * bytes.  Returns the count, 0 at end of stream (or a reset), -1 on
 * timeout.
 */
int ttcp_read(int fd, void *buf, size_t cap, int timeout_ms);
/*
 * Reads until len bytes came, the stream ended or timeout_ms passed.
 * Returns the count read (len when all came).
 */
size_t ttcp_read_full(int fd, void *buf, size_t len, int timeout_ms);
/*
 * Waits up to timeout_ms for the end of the stream (EOF or reset),
 * discarding what arrives; *got (unless NULL) counts the bytes
 * discarded.  Returns the milliseconds it took, or -1 when still open.
 */
int ttcp_wait_eof(int fd, int timeout_ms, size_t *got);

/*
 * An echo peer: a thread accepts connections on addr and sends back
 * every byte each one sends; when one ends, it closes it.
 */
#define TTCP_ECHO_MAX 32

struct ttcp_echo {
	int lfd;
	int stop[2]; /* a pipe: a byte written ends the thread */
	union tc_addr addr;
	pthread_t th;
	int running;
	atomic_int accepted; /* connections accepted so far */
	atomic_int open;     /* connections open now */
	atomic_size_t bytes; /* bytes echoed */
};

/* Starts an echo peer on ip. Returns 0 or -1. */
int ttcp_echo_start(struct ttcp_echo *e, const char *ip);
/* Stops the thread and closes every socket. */
void ttcp_echo_stop(struct ttcp_echo *e);

#endif
