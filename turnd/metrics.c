/*
 * Prometheus text exposition (format 0.0.4) and health checks over HTTP
 * with libevent's evhttp, on the main thread.  Every value is read live
 * from the workers' counters and gauges (relaxed atomic loads), so the
 * numbers move while sessions run, not when they end.  Besides turnd_*
 * names, the totals an operator of coturn looks for are also given under
 * coturn's names (turn_total_allocations, turn_total_traffic_*).
 *
 *	/metrics   the metrics
 *	/healthz   200 while the process runs
 *	/readyz    200 when listening with a configuration and not draining,
 *	           503 otherwise
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "portpool.h"
#include "quota.h"
#include "server.h"
#include "version.h"

struct metrics {
	struct server *srv;
	struct evhttp *http;
	struct evconnlistener *lev; /* owned by http once bound */
};

/* The traffic totals an operator of coturn looks for, under its names. */
static const struct {
	const char *name;
	enum stats_id id;
	const char *help;
} coturn_names[] = {
	{ "turn_total_traffic_rcvp", STAT_RX_CLIENT_PKTS,
	    "packets received from clients (coturn's name)" },
	{ "turn_total_traffic_rcvb", STAT_RX_CLIENT_BYTES,
	    "bytes received from clients (coturn's name)" },
	{ "turn_total_traffic_sentp", STAT_TX_CLIENT_PKTS,
	    "packets sent to clients (coturn's name)" },
	{ "turn_total_traffic_sentb", STAT_TX_CLIENT_BYTES,
	    "bytes sent to clients (coturn's name)" },
	{ "turn_total_traffic_peer_rcvp", STAT_RELAY_P2C_PKTS,
	    "packets received from peers (coturn's name)" },
	{ "turn_total_traffic_peer_rcvb", STAT_RELAY_P2C_BYTES,
	    "bytes received from peers (coturn's name)" },
	{ "turn_total_traffic_peer_sentp", STAT_RELAY_C2P_PKTS,
	    "packets sent to peers (coturn's name)" },
	{ "turn_total_traffic_peer_sentb", STAT_RELAY_C2P_BYTES,
	    "bytes sent to peers (coturn's name)" },
};

static void
head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
metrics_write(struct server *srv, FILE *f)
{
	struct stats st;
	char name[64];
	long long allocs;

	server_stats(srv, &st);
	allocs = (long long)(st.g[STATG_ALLOCS_UDP] + st.g[STATG_ALLOCS_TCP] +
	    st.g[STATG_ALLOCS_TLS]);

	head(f, "turnd_build_info", "gauge", "version of the running turnd");
	fprintf(f, "turnd_build_info{version=\"%s\"} 1\n", TURND_VERSION);
	head(f, "turnd_uptime_seconds", "gauge", "seconds since start");
	fprintf(f, "turnd_uptime_seconds %llu\n",
	    (unsigned long long)((server_now_ms() - srv->started_ms) / 1000));
	head(f, "turnd_workers", "gauge", "worker threads");
	fprintf(f, "turnd_workers %zu\n", srv->n_workers);
	head(f, "turnd_draining", "gauge", "1 while stopping gracefully");
	fprintf(f, "turnd_draining %d\n", atomic_load(&srv->draining));
	head(f, "turnd_reloads_total", "counter", "configuration reloads");
	fprintf(f, "turnd_reloads_total %llu\n",
	    (unsigned long long)srv->reloads);
	head(f, "turnd_reload_failures_total", "counter",
	    "reloads refused for a broken configuration");
	fprintf(f, "turnd_reload_failures_total %llu\n",
	    (unsigned long long)srv->reload_failures);

	head(f, "turnd_allocations", "gauge",
	    "allocations now, by client transport");
	fprintf(f, "turnd_allocations{transport=\"udp\"} %lld\n",
	    (long long)st.g[STATG_ALLOCS_UDP]);
	fprintf(f, "turnd_allocations{transport=\"tcp\"} %lld\n",
	    (long long)st.g[STATG_ALLOCS_TCP]);
	fprintf(f, "turnd_allocations{transport=\"tls\"} %lld\n",
	    (long long)st.g[STATG_ALLOCS_TLS]);
	head(f, "turnd_relays", "gauge",
	    "relayed transport addresses, by family");
	fprintf(f, "turnd_relays{family=\"ipv4\"} %lld\n",
	    (long long)st.g[STATG_RELAYS_IPV4]);
	fprintf(f, "turnd_relays{family=\"ipv6\"} %lld\n",
	    (long long)st.g[STATG_RELAYS_IPV6]);
	head(f, "turnd_users", "gauge", "users holding allocations");
	fprintf(f, "turnd_users %zu\n", quota_users(srv->quota));
	for (size_t i = STATG_PERMISSIONS; i < STATG_COUNT; i++) {
		char full[96];

		stats_lower(name, stats_gauge_name((enum stats_gauge_id)i),
		    sizeof(name));
		snprintf(full, sizeof(full), "turnd_%s", name);
		head(f, full, "gauge", stats_gauge_help((enum stats_gauge_id)i));
		fprintf(f, "%s %lld\n", full, (long long)st.g[i]);
	}
	head(f, "turnd_relay_ports", "gauge",
	    "relay ports of the range, by family and state");
	for (int i = 0; i < 2; i++) {
		if (srv->pool[i] == NULL)
			continue;
		fprintf(f, "turnd_relay_ports{family=\"%s\",state=\"used\"} "
		    "%zu\n", i ? "ipv6" : "ipv4", portpool_used(srv->pool[i]));
		fprintf(f, "turnd_relay_ports{family=\"%s\",state=\"total\"} "
		    "%zu\n", i ? "ipv6" : "ipv4", portpool_size(srv->pool[i]));
	}

	head(f, "turnd_relayed_packets_total", "counter",
	    "application packets relayed, by direction");
	fprintf(f, "turnd_relayed_packets_total{direction=\"client_to_peer\"} "
	    "%llu\n", (unsigned long long)st.c[STAT_RELAY_C2P_PKTS]);
	fprintf(f, "turnd_relayed_packets_total{direction=\"peer_to_client\"} "
	    "%llu\n", (unsigned long long)st.c[STAT_RELAY_P2C_PKTS]);
	head(f, "turnd_relayed_bytes_total", "counter",
	    "application bytes relayed, by direction");
	fprintf(f, "turnd_relayed_bytes_total{direction=\"client_to_peer\"} "
	    "%llu\n", (unsigned long long)st.c[STAT_RELAY_C2P_BYTES]);
	fprintf(f, "turnd_relayed_bytes_total{direction=\"peer_to_client\"} "
	    "%llu\n", (unsigned long long)st.c[STAT_RELAY_P2C_BYTES]);

	head(f, "turnd_error_responses_total", "counter",
	    "error responses sent, by code");
	for (size_t i = 0; i < STAT_ERR_COUNT; i++) {
		uint16_t code = stats_err_code((enum stats_err_id)i);

		if (code == 0)
			fprintf(f, "turnd_error_responses_total{code=\"other\"} "
			    "%llu\n", (unsigned long long)st.err[i]);
		else
			fprintf(f, "turnd_error_responses_total{code=\"%u\"} "
			    "%llu\n", code, (unsigned long long)st.err[i]);
	}
	head(f, "turnd_auth_failures_total", "counter",
	    "requests refused by the credential checks, by reason");
	for (size_t i = 0; i < STAT_COUNT; i++) {
		const char *n = stats_name((enum stats_id)i);

		if (strncmp(n, "AUTH_FAIL_", 10) != 0)
			continue;
		stats_lower(name, n + 10, sizeof(name));
		fprintf(f, "turnd_auth_failures_total{reason=\"%s\"} %llu\n",
		    name, (unsigned long long)st.c[i]);
	}
	head(f, "turnd_dropped_total", "counter",
	    "packets dropped (and counted), by reason");
	for (size_t i = 0; i < STAT_COUNT; i++) {
		const char *n = stats_name((enum stats_id)i);

		if (strncmp(n, "DROP_", 5) != 0)
			continue;
		stats_lower(name, n + 5, sizeof(name));
		fprintf(f, "turnd_dropped_total{reason=\"%s\"} %llu\n", name,
		    (unsigned long long)st.c[i]);
	}
	/* the rest of the counters under their own names */
	for (size_t i = 0; i < STAT_COUNT; i++) {
		const char *n = stats_name((enum stats_id)i);
		char full[96];

		if (strncmp(n, "DROP_", 5) == 0 ||
		    strncmp(n, "AUTH_FAIL_", 10) == 0 ||
		    strncmp(n, "RELAY_", 6) == 0)
			continue;
		stats_lower(name, n, sizeof(name));
		snprintf(full, sizeof(full), "turnd_%s_total", name);
		head(f, full, "counter", stats_help((enum stats_id)i));
		fprintf(f, "%s %llu\n", full, (unsigned long long)st.c[i]);
	}

	/* coturn's names for the same totals */
	head(f, "turn_total_allocations", "gauge",
	    "allocations now (coturn's name)");
	fprintf(f, "turn_total_allocations %lld\n", allocs);
	for (size_t i = 0; i < sizeof(coturn_names) / sizeof(coturn_names[0]);
	    i++) {
		head(f, coturn_names[i].name, "counter", coturn_names[i].help);
		fprintf(f, "%s %llu\n", coturn_names[i].name,
		    (unsigned long long)st.c[coturn_names[i].id]);
	}
}

static void
reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, const char *body, size_t len)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	evbuffer_add(b, body, len);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", type);
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

static void
metrics_cb(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_send_error(req, 405, "Method Not Allowed");
		return;
	}
	f = open_memstream(&buf, &len);
	if (f == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	metrics_write(m->srv, f);
	fclose(f);
	reply(req, 200, "OK", "text/plain; version=0.0.4", buf, len);
	free(buf);
}

static void
healthz_cb(struct evhttp_request *req, void *arg)
{
	reply(req, 200, "OK", "text/plain", "ok\n", 3);
}

static void
readyz_cb(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;

	if (m->srv->ready && !atomic_load(&m->srv->draining))
		reply(req, 200, "OK", "text/plain", "ready\n", 6);
	else
		reply(req, 503, "Service Unavailable", "text/plain",
		    "not ready\n", 10);
}

static void
metrics_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	evconnlistener_enable(arg);
}

/*
 * accept failed (EMFILE...): the socket stays readable, so pause for a
 * second rather than spin.  arg is evhttp's, so the listener itself
 * carries the timer.
 */
static void
metrics_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct timeval one = { 1, 0 };

	evconnlistener_disable(lev);
	(void)event_base_once(evconnlistener_get_base(lev), -1, EV_TIMEOUT,
	    metrics_resume_cb, lev, &one);
}

int
metrics_start(struct server *srv)
{
	const struct turnd_conf *c = srv->snap->conf;
	struct metrics *m;
	union taddr a;

	if (c->metrics.listen == NULL || c->metrics.listen[0] == '\0')
		return 0;
	if (taddr_parse(&a, c->metrics.listen, 9641) != 0) {
		log_warnx("event=start_failed reason=metrics_address "
		    "address=%s", c->metrics.listen);
		return -1;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -1;
	m->srv = srv;
	srv->metrics = m;
	m->http = evhttp_new(srv->base);
	if (m->http == NULL)
		return -1;
	evhttp_set_max_headers_size(m->http, 8192);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_timeout(m->http, 10);
	evhttp_set_cb(m->http, "/metrics", metrics_cb, m);
	evhttp_set_cb(m->http, "/healthz", healthz_cb, m);
	evhttp_set_cb(m->http, "/readyz", readyz_cb, m);
	m->lev = evconnlistener_new_bind(srv->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    128, &a.sa, (int)taddr_len(&a));
	if (m->lev == NULL ||
	    evhttp_bind_listener(m->http, m->lev) == NULL) {
		log_warn("event=start_failed reason=metrics_bind address=%s",
		    c->metrics.listen);
		if (m->lev != NULL)
			evconnlistener_free(m->lev);
		m->lev = NULL;
		return -1;
	}
	evconnlistener_set_error_cb(m->lev, metrics_accept_error_cb);
	log_info("event=metrics_listening address=%s", c->metrics.listen);
	return 0;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	if (m->http != NULL)
		evhttp_free(m->http);
	free(m);
}
