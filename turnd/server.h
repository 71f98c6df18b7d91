/*
 * What the workers share, and the main thread's life cycle.
 *
 * struct snap is the reloadable part (the configuration and what is built
 * from it: credential store, peer policy), immutable once built and
 * swapped whole: a worker holds a pointer to one snapshot and moves to a
 * new one when the main thread hands it over through its mailbox; the old
 * snapshot is freed once every worker has moved.  The TLS context travels
 * the same way, on its own, so that SIGUSR2 can renew certificates alone.
 *
 * The rest of struct server lives as long as the process: the nonce key,
 * the relay port pools, the quota tables, the RFC 6062 table (each with
 * its own lock, touched only when allocations and connections come and
 * go), and what the main thread runs: signals, the control socket, the
 * metrics listener, the once-a-second sampling of counters for rates.
 */
#ifndef TURND_SERVER_H
#define TURND_SERVER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "addr.h"
#include "mbox.h"
#include "nonce.h"
#include "stats.h"

struct turnd_conf;
struct auth_store;
struct peer_policy;
struct portpool;
struct quota;
struct tcprelay;
struct ratelimit;
struct worker;
struct event;
struct event_base;
struct control;
struct metrics;
typedef struct ssl_ctx_st SSL_CTX;

struct snap {
	struct turnd_conf *conf;
	struct auth_store *auth;
	struct peer_policy *peers;
};

#define SERVER_RATE_WINDOW 10 /* seconds over which rates are reported */

struct server {
	struct snap *snap; /* current; the main thread's */
	SSL_CTX *tls;	   /* current, NULL without TLS; the main thread's */
	const char *conf_path; /* NULL: the embedded configuration */
	const char *conf_text;
	int verbose; /* -v count, on top of log.level */
	struct nonce_key nonce;
	struct portpool *pool[2]; /* relay ports: [0] IPv4, [1] IPv6 */
	struct quota *quota;
	struct quota *conns; /* TCP/TLS connections per source IP */
	struct tcprelay *tcp; /* RFC 6062 pending connections */
	struct ratelimit *unauth;  /* answers to strangers, per source IP */
	struct ratelimit *badpass; /* wrong credentials, per username */
	struct worker **workers;
	size_t n_workers;
	union taddr *own; /* the server's own addresses, for the policy */
	size_t n_own;

	struct event_base *base; /* the main thread's */
	struct mbox mbox;	 /* replies from workers */
	struct control *ctl;
	struct metrics *metrics;
	struct event *tick;  /* 1 Hz: samples, drain */
	time_t started;	     /* wall clock */
	uint64_t started_ms; /* monotonic */
	_Atomic int draining; /* no new allocations */
	int ready;	      /* listening, configuration loaded */
	int pidfile_written;
	uint64_t drain_until_ms;
	uint64_t reloads;
	uint64_t reload_failures;

	/* totals sampled once a second, for rates over the window */
	struct {
		uint64_t c2p_pkts, c2p_bytes, p2c_pkts, p2c_bytes;
	} samples[SERVER_RATE_WINDOW + 1];
	size_t sample_pos;
	size_t sample_n;
};

/*
 * Builds a snapshot from conf, taking ownership of it on success; on
 * failure returns NULL with the reason in err.
 */
struct snap *snap_new(struct turnd_conf *conf, const union taddr *own,
    size_t n_own, char *err, size_t errlen);
void snap_free(struct snap *s);

/*
 * Builds the shared state and the workers (bound, not yet running) for
 * conf, which it takes over: sockets are bound, the control socket made
 * and the pidfile written, then privileges are dropped.  NULL after
 * logging why.
 */
struct server *server_new(struct turnd_conf *conf, const char *path,
    const char *text, int verbose);
void server_free(struct server *srv);
/* Runs until stopped; returns the exit status. */
int server_run(struct server *srv);
/*
 * Re-reads the configuration and hands the new snapshot (and TLS
 * context) to the workers; with tls_only, only the certificates are
 * reloaded.  On failure the running configuration stays and the problems
 * are written to err (one a line).  Returns 0 or -1.
 */
int server_reload(struct server *srv, int tls_only, char *err, size_t errlen);
/* Starts a graceful stop; a second call stops at once. */
void server_stop(struct server *srv);
/* Counters of all workers summed. */
void server_stats(struct server *srv, struct stats *out);
/* Rates per second over the last window (c2p/p2c packets and bytes). */
void server_rates(const struct server *srv, double rates[4]);
uint64_t server_now_ms(void);

int server_own_addrs(const struct turnd_conf *c, union taddr **own,
    size_t *n);
unsigned int server_cpus(void);

static inline struct portpool *
server_pool(struct server *srv, int family)
{
	return srv->pool[family == AF_INET6 ? 1 : 0];
}

#endif
