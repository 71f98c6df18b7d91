/*
 * The load generator's shared state (loadgen.c: modes, traffic, report;
 * lg_turn.c: the TURN client side of the control path and the bare
 * forwarder's handshake).  One thread, one epoll set, everything on
 * loopback and IPv4.
 */
#ifndef TURND_BENCH_LG_H
#define TURND_BENCH_LG_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "stun.h"

#define LG_PKT_MAX 2048	  /* largest datagram handled */
#define LG_PAYLOAD_MIN 24 /* magic, index, direction, sequence, time */
#define LG_PAYLOAD_MAX 1400
#define LG_MAGIC 0x31474c54U /* "TLG1" */

/* The bare forwarder's handshake: first byte 0xff is neither STUN nor
 * ChannelData. */
#define FWD_HELLO 0xff465742U /* bind: chan u16, peer port u16, peer ip */
#define FWD_ACK 0xff465741U   /* bound: relay port u16 */
#define FWD_DEL 0xff465744U   /* unbind */
#define FWD_PING 0xff465750U  /* liveness */
#define FWD_MSG_LEN 12

/* Allocation states. */
#define ST_IDLE 0
#define ST_ALLOC_NOAUTH 1 /* Allocate without credentials, 401 expected */
#define ST_ALLOC_AUTH 2	  /* Allocate with credentials */
#define ST_BIND 3	  /* ChannelBind or CreatePermission */
#define ST_READY 4
#define ST_DEALLOC 5 /* Refresh with LIFETIME 0 */
#define ST_DONE 6    /* deallocated */
#define ST_FAILED 7
#define ST_FWD_BIND 8
#define ST_FWD_DEL 9
#define ST_PROBE 10

/* What a control sequence ends with. */
#define GOAL_READY 1 /* allocated, channel or permission installed */
#define GOAL_CYCLE 2 /* allocate, then delete at once (alloc mode) */
#define GOAL_HOLD 3  /* allocate only */

struct lg_alloc {
	int fd;			 /* client socket (shared mode: shared) */
	struct sockaddr_in src;	 /* shared mode: our source address */
	struct sockaddr_in relay; /* relayed transport address */
	uint16_t chan;
	uint8_t state;
	uint8_t goal;
	uint8_t tries;
	uint8_t stale; /* 438s answered in this sequence */
	uint8_t txid[STUN_TXID_LEN];
	int64_t deadline_ns; /* retransmission; 0 when nothing pending */
	int64_t rto_ns;
	int64_t started_ns; /* the sequence's first request */
	uint16_t req_len;
	uint16_t nonce_len;
	uint8_t *req; /* the request in flight, LG_REQ_MAX bytes */
	char nonce[128];
	uint32_t seq[2]; /* next sequence number per direction */
	uint32_t gen;	 /* shared mode: source addresses used so far */
};

#define LG_REQ_MAX 512

struct lg_hist {
	uint64_t n;
	uint64_t b[1216];
};

/* Traffic counters of one measured window, per direction (0: client to
 * peer, 1: peer to client). */
struct lg_win {
	uint64_t sent[2];
	uint64_t recv[2]; /* of those sent in the window, whenever received */
	uint64_t lag[2];  /* due but not sent: the generator fell behind */
	uint64_t txfail[2];
	struct lg_hist lat[2]; /* one-way latency, ns */
	uint64_t done;	       /* alloc mode: sequences completed */
	struct lg_hist seq_lat; /* alloc mode: sequence duration, ns */
	int64_t t0, t1;	       /* CLOCK_MONOTONIC, ns */
	double cpu_s;	       /* the generator's own CPU time */
};

/* Traffic state of relay and alloc modes. */
struct lg_traffic {
	int64_t t0;	/* traffic (warm-up) start */
	int64_t tw;	/* first window start */
	int64_t win_ns; /* window length */
	int cur;	/* window running, -1 before, windows after */
	uint64_t total[2];
	size_t rr[2];
	struct lg_win *w;
	struct rusage ru;
	uint64_t bad;
	uint64_t unknown;
};

/* Epoll tags: type << 32 | allocation index. */
#define LG_EV_PEER 1ULL
#define LG_EV_CLIENT 2ULL
#define LG_EV_SHARED 3ULL

struct lg_io;

#define MODE_RELAY 1
#define MODE_ALLOC 2
#define MODE_HOLD 3
#define MODE_PROBE 4

struct lg {
	/* options */
	int mode;
	struct sockaddr_in server;
	const char *user;
	const char *pass;
	size_t n;	 /* allocations (relay), slots (alloc) */
	double rate;	 /* packets/s per direction, all allocations */
	size_t payload;	 /* bytes */
	double warmup_s;
	double duration_s; /* per window */
	int windows;
	int indications; /* Send/Data indications instead of channels */
	int forwarder;	 /* the server is the bare forwarder */
	int shared;	 /* one client socket, a source address each */
	size_t concurrency; /* control sequences in flight */
	int64_t tick_ns;
	double timeout_s;
	size_t *steps; /* hold mode */
	size_t n_steps;
	int cleanup; /* delete allocations at the end */
	uint32_t lifetime_s;

	/* state */
	int ep;
	int peer_fd;
	struct sockaddr_in peer;
	int shared_fd;
	struct lg_alloc *a;
	size_t n_a;	 /* allocations in use */
	size_t cap_a;	 /* allocated entries */
	char realm[128];
	size_t realm_len;
	uint8_t key[STUN_KEY_MAX];
	size_t keylen;
	uint64_t rng[2];
	uint8_t *reqmem;
	struct lg_io *io; /* lg_io.c's buffers */
	struct lg_traffic t;

	/* control counters */
	size_t pending; /* sequences in flight */
	uint64_t n_ready, n_done, n_failed, n_retx, n_401, n_438;
	uint64_t n_err[7]; /* error responses by hundreds: 3xx..6xx */
	int last_err;
	int probe_ok;
};

/* lg_turn.c */
void lg_turn_init(struct lg *lg);
/* Starts a control sequence toward goal (or deletion, for ST_DEALLOC). */
void lg_turn_start(struct lg *lg, struct lg_alloc *a, int goal);
void lg_turn_delete(struct lg *lg, struct lg_alloc *a);
void lg_turn_probe(struct lg *lg, struct lg_alloc *a);
/* A STUN message or forwarder reply for a; returns 1 if consumed. */
int lg_turn_input(struct lg *lg, struct lg_alloc *a, const uint8_t *p,
    size_t len, int64_t now);
/* Retransmits what is due; returns the nearest deadline or 0. */
int64_t lg_turn_timers(struct lg *lg, int64_t now);
/* Sends a's current request (again). */
void lg_turn_send(struct lg *lg, struct lg_alloc *a);
const char *lg_state_name(int state);

/* lg_io.c */
struct lg_io *lg_io_new(void);
int64_t lg_now(void);
/* A UDP socket bound to ip (host order), port 0, non-blocking. */
int lg_udp_socket(uint32_t ip, int rcvbuf, int pktinfo);
void lg_ep_add(struct lg *lg, int fd, uint64_t tag);
/* Gives allocation slot i a fresh client transport address. */
void lg_slot_open(struct lg *lg, size_t i);
void lg_slot_close(struct lg *lg, size_t i);
/* Sends one control message for a at once. */
void lg_sendto(struct lg *lg, struct lg_alloc *a, const uint8_t *p,
    size_t len);
/* Sends what the offered rate says is due by now. */
void lg_traffic_tick(struct lg *lg, int64_t now);
/* Waits for input until deadline at most, handles it; returns the time. */
int64_t lg_poll(struct lg *lg, int64_t deadline);
/* The window a send time falls in, or -1. */
int lg_win_of(const struct lg *lg, int64_t ts);
void lg_hist_add(struct lg_hist *h, uint64_t v);
/* The pct-th percentile, or NAN when empty. */
double lg_hist_pct(const struct lg_hist *h, double pct);

/* loadgen.c */
void lg_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* A sequence ended in ST_READY, ST_DONE or ST_FAILED. */
void lg_settled(struct lg *lg, struct lg_alloc *a, int64_t now);

#endif
