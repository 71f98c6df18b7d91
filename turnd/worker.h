/*
 * A worker: one thread, one event_base, its own UDP listener sockets
 * (SO_REUSEPORT, so the kernel keeps each client 5-tuple on one worker),
 * its own allocation table, relay sockets, retransmission cache and
 * counters.  Nothing on the data path is shared or locked.  The main
 * thread talks to a worker only through its mailbox.
 *
 * The datagram I/O of the data path lives here too: recvmmsg into a pool
 * of slots with headroom, so that a relayed datagram is wrapped or
 * unwrapped in place, and a transmit queue flushed with sendmmsg once per
 * loop iteration.
 */
#ifndef TURND_WORKER_H
#define TURND_WORKER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "addr.h"
#include "mbox.h"
#include "stats.h"

struct server;
struct snap;
struct listener;
struct tconn;
struct splice;
struct alloc_table;
struct txcache;
struct event;
struct event_base;
typedef struct ssl_ctx_st SSL_CTX;

#define IO_BATCH 32	/* datagrams per recvmmsg */
#define IO_SLOTS 256	/* datagrams held until the next flush */
#define IO_HEADROOM 64	/* room to prepend a Data indication header */
#define IO_DATA_MAX 65536 /* largest datagram kept whole */
#define IO_SLOT_SIZE (IO_HEADROOM + IO_DATA_MAX + 64)
#define IO_CMSG_SPACE 64 /* room for one IP_PKTINFO / IPV6_PKTINFO */

/* One received datagram. */
struct io_pkt {
	uint8_t *data; /* inside a slot, after the headroom */
	size_t len;
	union taddr from;
	union taddr local; /* destination, when the socket reports it */
	int truncated;
};

struct io {
	uint8_t *mem; /* IO_SLOTS slots of IO_SLOT_SIZE */
	size_t used;  /* slots holding queued datagrams */
	struct io_pkt rx[IO_BATCH];
	struct mmsghdr rx_msg[IO_BATCH];
	struct iovec rx_iov[IO_BATCH];
	uint8_t rx_cmsg[IO_BATCH][IO_CMSG_SPACE];
	size_t n_tx;
	struct mmsghdr tx_msg[IO_SLOTS];
	struct iovec tx_iov[IO_SLOTS];
	union taddr tx_to[IO_SLOTS];
	uint8_t tx_cmsg[IO_SLOTS][IO_CMSG_SPACE];
	int tx_fd[IO_SLOTS];
};

/*
 * The system calls the request and relay code makes, replaceable: the
 * in-process fuzz target (tests/fuzz/fuzz_server.c) runs the real code
 * against a fake network and clock through these.  NULL (the daemon):
 * the real calls.
 */
struct io_ops {
	/* Opens a relay socket bound to addr: an fd, or -1 with errno. */
	int (*relay_socket)(struct worker *w, const union taddr *addr, int tcp);
	/* Sends one datagram from fd to to: 0 or -1. */
	int (*send)(struct worker *w, int fd, const union taddr *to,
	    const uint8_t *p, size_t len);
	void *arg;
};

struct worker {
	int id;
	const struct io_ops *ops; /* NULL: real system calls */
	struct server *srv;
	struct snap *snap; /* the configuration this worker runs on */
	SSL_CTX *tls;	   /* this worker's reference, NULL without TLS */
	struct event_base *base;
	pthread_t thread;
	int started;
	int stopping;

	struct listener **listeners;
	size_t n_listeners;
	TAILQ_HEAD(, tconn) conns; /* TCP and TLS clients */
	TAILQ_HEAD(, splice) splices; /* RFC 6062 pairs run here */
	struct alloc_table *allocs;
	struct txcache *txc;
	struct stats stats;

	uint32_t now; /* monotonic seconds, refreshed per wake-up */
	uint64_t now_ms;
	struct event *tick;
	uint64_t rng[2];
	uint32_t next_alloc_id;
	uint32_t relay_warned_s; /* last relay_socket_failed log line */
	uint32_t accept_warned_s; /* last accept_paused log line */

	struct mbox mbox; /* from the main thread and other workers */

	struct io io;
};

/*
 * Creates worker id: its event base, its listeners bound per the
 * configuration in srv->snap.  Returns NULL after logging why.
 */
struct worker *worker_new(struct server *srv, int id);
void worker_free(struct worker *w);
int worker_start(struct worker *w);
/* Runs m->fn(m, w) on w's thread. Thread-safe. */
void worker_post(struct worker *w, struct mmsg *m);
/* A message fn that stops the worker's loop (m is not freed). */
void worker_stop_fn(struct mmsg *m, void *ctx);
void worker_join(struct worker *w);

/* Refreshes w->now. */
void worker_clock(struct worker *w);
uint64_t worker_rand(struct worker *w);

/*
 * Receives up to batch (at most IO_BATCH) datagrams from fd into free
 * slots; with pktinfo, each packet's local address too.  Returns how many
 * (0 when none or on error); they are w->io.rx[0..n), and their slots
 * stay held until the next io_flush, so they can be queued in place.
 * Each call prepares batch headers: a socket that brings one datagram a
 * wake-up (a relay) asks for few.
 */
size_t io_recv(struct worker *w, int fd, int pktinfo, size_t batch);
/*
 * Queues p[0..len), which must lie inside a slot filled by io_recv since
 * the last flush, to go out on fd to `to`, from local when local is not
 * NULL (wildcard sockets).
 */
void io_queue(struct worker *w, int fd, const union taddr *to,
    const union taddr *local, uint8_t *p, size_t len);
/* Sends everything queued, then frees all slots. */
void io_flush(struct worker *w);
/* Sends one datagram right away (control path). Returns 0 or -1. */
int io_send_now(struct worker *w, int fd, const union taddr *to,
    const union taddr *local, const uint8_t *p, size_t len);

#endif
