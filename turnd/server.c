/*
 * The process-wide state and the main thread: snapshots of the
 * configuration and their hand-over to the workers on reload, the
 * server's own addresses (for the peer policy), relay port pools, quotas,
 * the nonce key, signals, the graceful stop, privilege dropping, the
 * pidfile and the service manager's notifications.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <grp.h>
#include <ifaddrs.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "control.h"
#include "log.h"
#include "metrics.h"
#include "peer.h"
#include "portpool.h"
#include "quota.h"
#include "ratelimit.h"
#include "server.h"
#include "tcprelay.h"
#include "tls.h"
#include "worker.h"

static void server_tick_cb(evutil_socket_t, short, void *);

uint64_t
server_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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
	if (s->auth == NULL || s->peers == NULL) {
		s->conf = NULL; /* the caller still owns conf on failure */
		snap_free(s);
		return NULL;
	}
	return s;
}

void
snap_free(struct snap *s)
{
	if (s == NULL)
		return;
	auth_store_free(s->auth);
	peer_policy_free(s->peers);
	conf_free(s->conf);
	free(s);
}

/*
 * sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET
 * (a path, or an abstract name starting with '@').
 */
static void
notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	size_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		log_debug("event=notify_failed state=%s", state);
	close(fd);
}

/*
 * Refuses to start where another process (another turnd, most likely)
 * already listens: turnd's own sockets use SO_REUSEPORT, which would
 * silently share clients with it.  A plain bind of each listening address
 * tells, before any worker binds.
 */
static int
listen_free(const struct turnd_conf *c)
{
	char buf[TADDR_STRLEN];

	for (size_t i = 0; i < c->n_listen; i++) {
		const union taddr *a = &c->listen[i].addr;

		for (int tcp = 0; tcp < 2; tcp++) {
			int want = tcp ? (CONF_T_TCP | CONF_T_TLS) : CONF_T_UDP;
			int fd, on = 1, e;

			if (!(c->listen[i].transports & want))
				continue;
			fd = socket(a->sa.sa_family, (tcp ? SOCK_STREAM :
			    SOCK_DGRAM) | SOCK_CLOEXEC, 0);
			if (fd == -1)
				continue;
			if (tcp)
				(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR,
				    &on, sizeof(on));
			if (a->sa.sa_family == AF_INET6)
				(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
				    &on, sizeof(on));
			e = bind(fd, &a->sa, taddr_len(a)) == 0 ? 0 : errno;
			close(fd);
			if (e == EADDRINUSE) {
				log_warnx("event=start_failed reason=address_in_"
				    "use transport=%s address=%s (another turnd?)",
				    tcp ? "tcp" : "udp",
				    taddr_str(a, buf, sizeof(buf)));
				return -1;
			}
		}
	}
	return 0;
}

/* Writes the pidfile; returns 0 or -1 after logging. */
static int
write_pidfile(const char *path)
{
	char buf[32];
	int fd, n;

	if (path == NULL || path[0] == '\0')
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1) {
		log_warn("event=start_failed reason=pidfile path=%s", path);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		log_warn("event=start_failed reason=pidfile path=%s", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Becomes process.user / process.group once every socket is bound (bgpd
 * and ntpd drop root the same way).  Only root can; anyone else keeps
 * running as they are.
 */
static int
drop_privileges(const struct turnd_conf *c)
{
	const char *user = c->process.user, *group = c->process.group;
	struct passwd *pw = NULL;
	struct group *gr = NULL;
	gid_t gid;

	if ((user == NULL || user[0] == '\0') &&
	    (group == NULL || group[0] == '\0'))
		return 0;
	if (geteuid() != 0) {
		log_info("event=privileges_kept reason=not_root");
		return 0;
	}
	if (user != NULL && user[0] != '\0' && (pw = getpwnam(user)) == NULL) {
		log_warnx("event=start_failed reason=unknown_user user=%s",
		    user);
		return -1;
	}
	if (group != NULL && group[0] != '\0' &&
	    (gr = getgrnam(group)) == NULL) {
		log_warnx("event=start_failed reason=unknown_group group=%s",
		    group);
		return -1;
	}
	gid = gr != NULL ? gr->gr_gid : pw != NULL ? pw->pw_gid : getgid();
	if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
	    (pw != NULL && setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) !=
	    0)) {
		log_warn("event=start_failed reason=cannot_drop_privileges");
		return -1;
	}
	log_info("event=privileges_dropped user=%s group=%s",
	    pw != NULL ? pw->pw_name : "-", gr != NULL ? gr->gr_name : "-");
	return 0;
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
server_new(struct turnd_conf *conf, const char *path, const char *text,
    int verbose)
{
	struct server *srv;
	char err[512];
	unsigned int n;

	srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		conf_free(conf);
		return NULL;
	}
	srv->conf_path = path;
	srv->conf_text = text;
	srv->verbose = verbose;
	srv->mbox.fd = -1;
	srv->started = time(NULL);
	srv->started_ms = server_now_ms();
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
	if (tls_wanted(conf) &&
	    (srv->tls = tls_ctx_new(conf, err, sizeof(err))) == NULL) {
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
	srv->unauth = ratelimit_new();
	srv->badpass = ratelimit_new();
	srv->base = event_base_new();
	if (srv->quota == NULL || srv->conns == NULL || srv->tcp == NULL ||
	    srv->unauth == NULL || srv->badpass == NULL ||
	    srv->base == NULL || mbox_init(&srv->mbox, srv->base, srv) != 0)
		goto fail;
	if (control_start(srv) != 0 || listen_free(conf) != 0)
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
	if (metrics_start(srv) != 0 ||
	    write_pidfile(conf->process.pidfile) != 0)
		goto fail;
	srv->pidfile_written = conf->process.pidfile != NULL &&
	    conf->process.pidfile[0] != '\0';
	if (drop_privileges(conf) != 0)
		goto fail;
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
	control_free(srv->ctl);
	metrics_free(srv->metrics);
	for (size_t i = 0; i < srv->n_workers; i++)
		worker_free(srv->workers[i]);
	free(srv->workers);
	if (srv->tick != NULL)
		event_free(srv->tick);
	if (srv->base != NULL) {
		mbox_destroy(&srv->mbox);
		event_base_free(srv->base);
	}
	/* only our own: a refused second start leaves the first one's alone */
	if (srv->pidfile_written)
		(void)unlink(srv->snap->conf->process.pidfile);
	snap_free(srv->snap);
	tls_ctx_free(srv->tls);
	for (int i = 0; i < 2; i++)
		portpool_free(srv->pool[i]);
	quota_free(srv->quota);
	quota_free(srv->conns);
	tcprelay_free(srv->tcp);
	ratelimit_free(srv->unauth);
	ratelimit_free(srv->badpass);
	free(srv->own);
	OPENSSL_cleanse(&srv->nonce, sizeof(srv->nonce));
	free(srv);
}

void
server_stats(struct server *srv, struct stats *out)
{
	struct stats *each[256];
	size_t n = srv->n_workers < 256 ? srv->n_workers : 256;

	for (size_t i = 0; i < n; i++)
		each[i] = &srv->workers[i]->stats;
	stats_sum(out, each, n);
}

void
server_rates(const struct server *srv, double rates[4])
{
	size_t newest, oldest, span;

	memset(rates, 0, 4 * sizeof(*rates));
	if (srv->sample_n < 2)
		return;
	span = srv->sample_n - 1;
	newest = (srv->sample_pos + SERVER_RATE_WINDOW) %
	    (SERVER_RATE_WINDOW + 1);
	oldest = (newest + SERVER_RATE_WINDOW + 1 - span) %
	    (SERVER_RATE_WINDOW + 1);
	rates[0] = (double)(srv->samples[newest].c2p_pkts -
	    srv->samples[oldest].c2p_pkts) / (double)span;
	rates[1] = (double)(srv->samples[newest].c2p_bytes -
	    srv->samples[oldest].c2p_bytes) / (double)span;
	rates[2] = (double)(srv->samples[newest].p2c_pkts -
	    srv->samples[oldest].p2c_pkts) / (double)span;
	rates[3] = (double)(srv->samples[newest].p2c_bytes -
	    srv->samples[oldest].p2c_bytes) / (double)span;
}

static void
server_sample(struct server *srv)
{
	struct stats st;
	size_t i = srv->sample_pos;

	server_stats(srv, &st);
	srv->samples[i].c2p_pkts = st.c[STAT_RELAY_C2P_PKTS];
	srv->samples[i].c2p_bytes = st.c[STAT_RELAY_C2P_BYTES];
	srv->samples[i].p2c_pkts = st.c[STAT_RELAY_P2C_PKTS];
	srv->samples[i].p2c_bytes = st.c[STAT_RELAY_P2C_BYTES];
	srv->sample_pos = (i + 1) % (SERVER_RATE_WINDOW + 1);
	if (srv->sample_n < SERVER_RATE_WINDOW + 1)
		srv->sample_n++;
}

static void
server_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	server_sample(srv);
	if (atomic_load(&srv->draining) &&
	    (quota_total(srv->quota) == 0 ||
	    server_now_ms() >= srv->drain_until_ms)) {
		log_info("event=drained allocations=%zu",
		    quota_total(srv->quota));
		event_base_loopbreak(srv->base);
	}
}

void
server_stop(struct server *srv)
{
	const struct turnd_conf *c = srv->snap->conf;

	if (atomic_load(&srv->draining) || c->process.drain_s == 0 ||
	    quota_total(srv->quota) == 0) {
		event_base_loopbreak(srv->base);
		return;
	}
	/* refuse new allocations, let the others run down for a while */
	atomic_store(&srv->draining, 1);
	srv->drain_until_ms = server_now_ms() + (uint64_t)c->process.drain_s *
	    1000;
	notify("STOPPING=1");
	log_info("event=draining allocations=%zu drain_s=%u",
	    quota_total(srv->quota), c->process.drain_s);
}

/* The hand-over of a reload: to each worker, then back to the main thread. */
struct reload;

struct reload_msg {
	struct mmsg m;
	struct reload *rl;
	SSL_CTX *tls; /* the worker's new reference, or NULL */
};

struct reload {
	struct snap *snap; /* new, or NULL when only TLS changes */
	struct snap *old;  /* freed when every worker has moved */
	int has_tls;
	size_t pending;
	struct reload_msg msgs[];
};

static void
reload_ack_fn(struct mmsg *m, void *ctx)
{
	struct reload_msg *rm = (struct reload_msg *)m;
	struct reload *rl = rm->rl;

	if (--rl->pending == 0) {
		snap_free(rl->old);
		free(rl);
	}
}

static void
reload_worker_fn(struct mmsg *m, void *ctx)
{
	struct worker *w = ctx;
	struct reload_msg *rm = (struct reload_msg *)m;

	if (rm->rl->snap != NULL)
		w->snap = rm->rl->snap;
	if (rm->rl->has_tls) {
		SSL_CTX_free(w->tls);
		w->tls = rm->tls;
	}
	rm->m.fn = reload_ack_fn;
	mbox_post(&w->srv->mbox, &rm->m);
}

int
server_reload(struct server *srv, int tls_only, char *err, size_t errlen)
{
	struct turnd_conf *nc = NULL;
	struct snap *ns = NULL;
	SSL_CTX *tls = NULL;
	struct reload *rl;
	char *buf = NULL;
	size_t blen = 0;
	FILE *ef;

	err[0] = '\0';
	notify("RELOADING=1");
	if (!tls_only) {
		ef = open_memstream(&buf, &blen);
		if (ef == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		nc = conf_load(srv->conf_path != NULL ? srv->conf_path :
		    "<embedded>", srv->conf_path != NULL ? NULL :
		    srv->conf_text, ef);
		fclose(ef);
		if (nc == NULL) {
			snprintf(err, errlen, "%s", buf != NULL ? buf : "");
			goto fail;
		}
		ns = snap_new(nc, srv->own, srv->n_own, err, errlen);
		if (ns == NULL)
			goto fail;
		nc = NULL;
	}
	if (tls_wanted(ns != NULL ? ns->conf : srv->snap->conf) &&
	    (tls = tls_ctx_new(ns != NULL ? ns->conf : srv->snap->conf, err,
	    errlen)) == NULL)
		goto fail;
	rl = calloc(1, sizeof(*rl) + srv->n_workers * sizeof(rl->msgs[0]));
	if (rl == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rl->snap = ns;
	rl->old = ns != NULL ? srv->snap : NULL;
	rl->has_tls = 1;
	rl->pending = srv->n_workers;
	for (size_t i = 0; i < srv->n_workers; i++) {
		rl->msgs[i].rl = rl;
		rl->msgs[i].m.fn = reload_worker_fn;
		if (tls != NULL && SSL_CTX_up_ref(tls) == 1)
			rl->msgs[i].tls = tls;
	}
	if (ns != NULL) {
		srv->snap = ns;
		log_setlevel(ns->conf->log.level + srv->verbose > LOG_LVL_DEBUG ?
		    LOG_LVL_DEBUG : ns->conf->log.level + srv->verbose);
	}
	tls_ctx_free(srv->tls);
	srv->tls = tls;
	if (srv->n_workers == 0) {
		snap_free(rl->old);
		free(rl);
	}
	for (size_t i = 0; i < srv->n_workers; i++)
		worker_post(srv->workers[i], &rl->msgs[i].m);
	free(buf);
	srv->reloads++;
	log_info("event=reloaded what=%s", tls_only ? "certificates" :
	    "configuration");
	notify("READY=1");
	return 0;
fail:
	free(buf);
	conf_free(nc);
	snap_free(ns);
	tls_ctx_free(tls);
	srv->reload_failures++;
	{
		/* one log line per problem, the old configuration stays */
		char *line, *save = NULL, copy[2048];

		snprintf(copy, sizeof(copy), "%s", err);
		for (line = strtok_r(copy, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			log_warnx("event=reload_failed problem=\"%s\"", line);
	}
	notify("READY=1");
	return -1;
}

static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	char err[4096];

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("event=stopping signal=%s",
		    sig == SIGTERM ? "TERM" : "INT");
		server_stop(srv);
		break;
	case SIGHUP:
		(void)server_reload(srv, 0, err, sizeof(err));
		break;
	case SIGUSR2:
		(void)server_reload(srv, 1, err, sizeof(err));
		break;
	}
}

int
server_run(struct server *srv)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR2 };
	struct event *sev[sizeof(sigs) / sizeof(sigs[0])] = { 0 };
	struct timeval one = { 1, 0 };
	struct mmsg *stop;
	int rc = 0;

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sev[i] = evsignal_new(srv->base, sigs[i], server_signal_cb,
		    srv);
		if (sev[i] == NULL || event_add(sev[i], NULL) != 0) {
			rc = 1;
			goto out;
		}
	}
	srv->tick = event_new(srv->base, -1, EV_PERSIST, server_tick_cb, srv);
	if (srv->tick == NULL || event_add(srv->tick, &one) != 0) {
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < srv->n_workers; i++)
		if (worker_start(srv->workers[i]) != 0) {
			log_warn("event=worker_start_failed worker=%zu", i);
			rc = 1;
			goto stop;
		}
	srv->ready = 1;
	server_sample(srv);
	log_info("event=ready workers=%zu realm=%s", srv->n_workers,
	    srv->snap->conf->realm);
	notify("READY=1");
	event_base_dispatch(srv->base);
stop:
	srv->ready = 0;
	notify("STOPPING=1");
	stop = calloc(srv->n_workers, sizeof(*stop));
	for (size_t i = 0; i < srv->n_workers; i++) {
		if (!srv->workers[i]->started)
			continue;
		if (stop != NULL) {
			stop[i].fn = worker_stop_fn;
			worker_post(srv->workers[i], &stop[i]);
		}
	}
	for (size_t i = 0; i < srv->n_workers; i++)
		worker_join(srv->workers[i]);
	free(stop);
	/* replies the workers posted on their way out (reload hand-overs) */
	event_base_loop(srv->base, EVLOOP_NONBLOCK);
	log_info("event=stopped");
out:
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sev[i] != NULL)
			event_free(sev[i]);
	return rc;
}
