/*
 * What the workers share.  struct snap is the reloadable part (the
 * configuration and what is built from it: credential store, peer
 * policy), immutable once built and swapped whole: a worker holds a
 * pointer to one snapshot and moves to a new one when the main thread
 * hands it over.  The rest of struct server lives as long as the process:
 * the nonce key, the relay port pools and the quota table, which have
 * their own locks and are touched only when allocations come and go.
 */
#ifndef TURND_SERVER_H
#define TURND_SERVER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "addr.h"
#include "nonce.h"

struct turnd_conf;
struct auth_store;
struct peer_policy;
struct portpool;
struct quota;
struct tcprelay;
struct worker;
struct event_base;
typedef struct ssl_ctx_st SSL_CTX;

struct snap {
	struct turnd_conf *conf;
	struct auth_store *auth;
	struct peer_policy *peers;
	SSL_CTX *tls; /* NULL without TLS listeners */
};

struct server {
	struct snap *snap; /* current; written by the main thread only */
	struct nonce_key nonce;
	struct portpool *pool[2]; /* relay ports: [0] IPv4, [1] IPv6 */
	struct quota *quota;
	struct quota *conns; /* TCP/TLS connections per source IP */
	struct tcprelay *tcp; /* RFC 6062 pending connections */
	struct worker **workers;
	size_t n_workers;
	union taddr *own; /* the server's own addresses, for the policy */
	size_t n_own;
	struct event_base *base; /* the main thread's */
	time_t started;		 /* wall clock */
	_Atomic int draining;	 /* no new allocations */
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
 * conf, which it takes over.  NULL after logging why.
 */
struct server *server_new(struct turnd_conf *conf);
void server_free(struct server *srv);
/* Runs until SIGTERM or SIGINT; returns the exit status. */
int server_run(struct server *srv);
int server_own_addrs(const struct turnd_conf *c, union taddr **own,
    size_t *n);
unsigned int server_cpus(void);

static inline struct portpool *
server_pool(struct server *srv, int family)
{
	return srv->pool[family == AF_INET6 ? 1 : 0];
}

#endif
