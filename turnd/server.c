/*
 * The process-wide state: snapshots of the configuration, the server's own
 * addresses (for the peer policy), relay port pools, quotas, the nonce
 * key, and the workers' life cycle.
 */
#include <errno.h>
#include <event2/event.h>
#include <ifaddrs.h>
#include <signal.h>
#include <openssl/crypto.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "log.h"
#include "peer.h"
#include "portpool.h"
#include "quota.h"
#include "server.h"
#include "tcprelay.h"
#include "tls.h"
#include "worker.h"

struct snap *
snap_new(struct turnd_conf *conf, const union taddr *own, size_t n_own,
    char *err, size_t errlen)
{
	struct snap *s = calloc(1, sizeof(*s));

	snprintf(err, errlen, "out of memory");
	if (s == NULL)
		return NULL;
	s->conf = conf;
	s->auth = auth_store_new(conf);
	s->peers = peer_policy_new(conf, own, n_own);
	if (s->auth == NULL || s->peers == NULL)
		goto fail;
	if (tls_wanted(conf) &&
	    (s->tls = tls_ctx_new(conf, err, errlen)) == NULL)
		goto fail;
	return s;
fail:
	s->conf = NULL; /* the caller still owns conf on failure */
	snap_free(s);
	return NULL;
}

void
snap_free(struct snap *s)
{
	if (s == NULL)
		return;
	auth_store_free(s->auth);
	peer_policy_free(s->peers);
	tls_ctx_free(s->tls);
	conf_free(s->conf);
	free(s);
}

static int
own_add(union taddr **own, size_t *n, const union taddr *a, uint16_t port)
{
	union taddr *no = reallocarray(*own, *n + 1, sizeof(**own));

	if (no == NULL)
		return -1;
	*own = no;
	no[*n] = *a;
	taddr_set_port(&no[*n], port);
	(*n)++;
	return 0;
}

/*
 * The server's own addresses: every listener (with its port), every relay
 * and external address, and behind a wildcard listener every interface
 * address of its family (with the listener's port).
 */
int
server_own_addrs(const struct turnd_conf *c, union taddr **own, size_t *n)
{
	struct ifaddrs *ifa = NULL, *i;

	*own = NULL;
	*n = 0;
	for (size_t k = 0; k < c->n_listen; k++) {
		const union taddr *l = &c->listen[k].addr;

		if (own_add(own, n, l, taddr_port(l)) != 0)
			goto fail;
		if (!taddr_is_any(l))
			continue;
		if (ifa == NULL && getifaddrs(&ifa) != 0) {
			ifa = NULL;
			continue;
		}
		for (i = ifa; i != NULL; i = i->ifa_next) {
			union taddr a;

			if (i->ifa_addr == NULL ||
			    i->ifa_addr->sa_family != l->sa.sa_family)
				continue;
			memset(&a, 0, sizeof(a));
			memcpy(&a, i->ifa_addr, l->sa.sa_family == AF_INET ?
			    sizeof(a.in) : sizeof(a.in6));
			if (own_add(own, n, &a, taddr_port(l)) != 0)
				goto fail;
		}
	}
	for (size_t k = 0; k < c->relay.n_addrs; k++)
		if (own_add(own, n, &c->relay.addrs[k], 0) != 0)
			goto fail;
	for (size_t k = 0; k < c->relay.n_external; k++)
		if (own_add(own, n, &c->relay.external[k].public_addr, 0) != 0)
			goto fail;
	if (ifa != NULL)
		freeifaddrs(ifa);
	return 0;
fail:
	if (ifa != NULL)
		freeifaddrs(ifa);
	free(*own);
	*own = NULL;
	*n = 0;
	return -1;
}

/* CPUs this process may use: affinity mask, then the cgroup v2 quota. */
unsigned int
server_cpus(void)
{
	cpu_set_t set;
	unsigned int n = 1;
	FILE *f;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = (unsigned int)CPU_COUNT(&set);
	f = fopen("/sys/fs/cgroup/cpu.max", "r");
	if (f != NULL) {
		char quota[32];
		unsigned long period;

		if (fscanf(f, "%31s %lu", quota, &period) == 2 &&
		    strcmp(quota, "max") != 0 && period > 0) {
			unsigned long q = strtoul(quota, NULL, 10);
			unsigned int lim = (unsigned int)((q + period - 1) /
			    period);

			if (lim >= 1 && lim < n)
				n = lim;
		}
		fclose(f);
	}
	return n > 0 ? n : 1;
}

/* Whether a relay of this family can exist: configured, or a listener. */
static int
family_usable(const struct turnd_conf *c, int family)
{
	for (size_t i = 0; i < c->relay.n_addrs; i++)
		if (c->relay.addrs[i].sa.sa_family == family)
			return 1;
	for (size_t i = 0; i < c->n_listen; i++)
		if (c->listen[i].addr.sa.sa_family == family)
			return 1;
	return 0;
}

struct server *
server_new(struct turnd_conf *conf)
{
	struct server *srv;
	char err[512];
	unsigned int n;

	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return NULL;
	srv->started = time(NULL);
	if (nonce_key_init(&srv->nonce) != 0) {
		log_warnx("event=start_failed reason=no_random_bytes");
		goto fail;
	}
	if (server_own_addrs(conf, &srv->own, &srv->n_own) != 0)
		goto fail;
	srv->snap = snap_new(conf, srv->own, srv->n_own, err, sizeof(err));
	if (srv->snap == NULL) {
		log_warnx("event=start_failed reason=\"%s\"", err);
		goto fail;
	}
	for (int i = 0; i < 2; i++) {
		if (!family_usable(conf, i == 0 ? AF_INET : AF_INET6))
			continue;
		srv->pool[i] = portpool_new(conf->relay.port_min,
		    conf->relay.port_max);
		if (srv->pool[i] == NULL)
			goto fail;
	}
	srv->quota = quota_new();
	srv->conns = quota_new();
	srv->tcp = tcprelay_new();
	if (srv->quota == NULL || srv->conns == NULL || srv->tcp == NULL)
		goto fail;
	n = conf->process.workers != 0 ? conf->process.workers :
	    server_cpus();
	srv->workers = calloc(n, sizeof(*srv->workers));
	if (srv->workers == NULL)
		goto fail;
	for (unsigned int i = 0; i < n; i++) {
		srv->workers[i] = worker_new(srv, (int)i);
		if (srv->workers[i] == NULL)
			goto fail;
		srv->n_workers++;
	}
	return srv;
fail:
	if (srv->snap == NULL)
		conf_free(conf);
	server_free(srv);
	return NULL;
}

void
server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	for (size_t i = 0; i < srv->n_workers; i++)
		worker_free(srv->workers[i]);
	free(srv->workers);
	snap_free(srv->snap);
	for (int i = 0; i < 2; i++)
		portpool_free(srv->pool[i]);
	quota_free(srv->quota);
	quota_free(srv->conns);
	tcprelay_free(srv->tcp);
	free(srv->own);
	OPENSSL_cleanse(&srv->nonce, sizeof(srv->nonce));
	free(srv);
}

static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("event=stopping signal=%s",
		    sig == SIGTERM ? "TERM" : "INT");
		event_base_loopbreak(srv->base);
		break;
	case SIGHUP:
	case SIGUSR2:
		log_warnx("event=reload_unsupported signal=%s",
		    sig == SIGHUP ? "HUP" : "USR2");
		break;
	}
}

int
server_run(struct server *srv)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR2 };
	struct event *sev[sizeof(sigs) / sizeof(sigs[0])] = { 0 };
	struct wmsg *stop;
	int rc = 0;

	signal(SIGPIPE, SIG_IGN);
	srv->base = event_base_new();
	if (srv->base == NULL)
		return 1;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sev[i] = evsignal_new(srv->base, sigs[i], server_signal_cb,
		    srv);
		if (sev[i] == NULL || event_add(sev[i], NULL) != 0) {
			rc = 1;
			goto out;
		}
	}
	for (size_t i = 0; i < srv->n_workers; i++)
		if (worker_start(srv->workers[i]) != 0) {
			log_warn("event=worker_start_failed worker=%zu", i);
			rc = 1;
			goto stop;
		}
	log_info("event=ready workers=%zu realm=%s", srv->n_workers,
	    srv->snap->conf->realm);
	event_base_dispatch(srv->base);
stop:
	stop = calloc(srv->n_workers, sizeof(*stop));
	for (size_t i = 0; i < srv->n_workers; i++) {
		if (!srv->workers[i]->started)
			continue;
		if (stop != NULL) {
			stop[i].type = WMSG_STOP;
			worker_post(srv->workers[i], &stop[i]);
		}
	}
	for (size_t i = 0; i < srv->n_workers; i++)
		worker_join(srv->workers[i]);
	free(stop);
	log_info("event=stopped");
out:
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sev[i] != NULL)
			event_free(sev[i]);
	event_base_free(srv->base);
	srv->base = NULL;
	return rc;
}
