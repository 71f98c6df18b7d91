/*
 * The control socket (ctl.h): a Unix stream socket for turnctl, and
 * optionally a second, read-only one for show requests.  Each connection
 * carries one request and gets one response.  stats, reload and
 * credentials are answered on the main thread; sessions, users and kick
 * need the allocation tables, which belong to the workers, so the request
 * goes to every worker through its mailbox, each writes its part into a
 * buffer of its own, and the main thread assembles the answer when the
 * last worker has replied.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "auth.h"
#include "config.h"
#include "control.h"
#include "ctl.h"
#include "listen.h"
#include "log.h"
#include "portpool.h"
#include "quota.h"
#include "server.h"
#include "version.h"
#include "worker.h"

#define CTL_TIMEOUT_S 10

struct ctl_conn;

struct control {
	struct server *srv;
	int fd[2]; /* [0] full, [1] read-only */
	struct event *ev[2];
	struct event *resume; /* accept paused: out of descriptors */
	char *path[2];
	TAILQ_HEAD(, ctl_conn) conns;
};

struct collect;

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn) entry;
	struct control *ctl;
	struct bufferevent *bev;
	int readonly;
	int json;     /* the request asked for JSON */
	int answered; /* close once the output is flushed */
	struct collect *col;
};

/* One worker's share of a collection. */
struct collect_part {
	struct mmsg m;
	struct collect *col;
	struct evbuffer *out;
	size_t kicked;
};

struct collect {
	struct server *srv;
	struct ctl_conn *cc; /* NULL once the requester went away */
	uint32_t type;
	int json;
	char arg[256];
	size_t pending;
	size_t n;
	struct collect_part part[];
};

static void ctl_accept_cb(evutil_socket_t, short, void *);
static void ctl_read_cb(struct bufferevent *, void *);
static void ctl_write_cb(struct bufferevent *, void *);
static void ctl_event_cb(struct bufferevent *, short, void *);
static void ctl_conn_free(struct ctl_conn *);

/* JSON string with the escapes RFC 8259 requires. */
static void
json_str(struct evbuffer *b, const char *s, size_t len)
{
	evbuffer_add(b, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			evbuffer_add_printf(b, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			evbuffer_add_printf(b, "\\u%04x", ch);
		else
			evbuffer_add(b, &s[i], 1);
	}
	evbuffer_add(b, "\"", 1);
}

/* Printable text for tables: control characters become '?'. */
static void
text_str(struct evbuffer *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if ((unsigned char)ch < 0x20 || ch == 0x7f)
			ch = '?';
		evbuffer_add(b, &ch, 1);
	}
}

static const char *
transport_name(int t)
{
	return t == CONF_T_TLS ? "tls" : t == CONF_T_TCP ? "tcp" : "udp";
}

/* Arguments of a request: "key=value" lines. */
static int
ctl_arg(const char *payload, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key);
	const char *p = payload;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, '\n');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);

		if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t vlen = n - klen - 1;

			if (vlen >= len)
				return -1;
			memcpy(out, p + klen + 1, vlen);
			out[vlen] = '\0';
			return 0;
		}
		p = end != NULL ? end + 1 : NULL;
	}
	return -1;
}

static void
ctl_respond(struct ctl_conn *cc, uint32_t status, struct evbuffer *body)
{
	struct ctl_hdr h = { CTL_VERSION, status, 0,
		(uint32_t)evbuffer_get_length(body) };
	uint8_t hdr[CTL_HDR_LEN];
	struct evbuffer *out = bufferevent_get_output(cc->bev);

	ctl_hdr_put(hdr, &h);
	evbuffer_add(out, hdr, sizeof(hdr));
	evbuffer_add_buffer(out, body);
	cc->answered = 1;
	bufferevent_disable(cc->bev, EV_READ);
}

static void
ctl_respond_text(struct ctl_conn *cc, uint32_t status, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		ctl_conn_free(cc);
		return;
	}
	if (cc->json) {
		evbuffer_add_printf(b, "{\"error\":");
		json_str(b, text, strlen(text));
		evbuffer_add_printf(b, "}\n");
	} else
		evbuffer_add_printf(b, "%s\n", text);
	ctl_respond(cc, status, b);
	evbuffer_free(b);
}

static void
fmt_duration(char *buf, size_t len, uint64_t s)
{
	if (s >= 86400)
		snprintf(buf, len, "%lud%02luh%02lum", (unsigned long)(s / 86400),
		    (unsigned long)(s % 86400 / 3600),
		    (unsigned long)(s % 3600 / 60));
	else if (s >= 3600)
		snprintf(buf, len, "%luh%02lum%02lus", (unsigned long)(s / 3600),
		    (unsigned long)(s % 3600 / 60), (unsigned long)(s % 60));
	else if (s >= 60)
		snprintf(buf, len, "%lum%02lus", (unsigned long)(s / 60),
		    (unsigned long)(s % 60));
	else
		snprintf(buf, len, "%lus", (unsigned long)s);
}

/* stats: everything from counters, gauges and the shared tables. */
static void
ctl_stats(struct ctl_conn *cc, int json)
{
	struct server *srv = cc->ctl->srv;
	struct evbuffer *b = evbuffer_new();
	struct stats st;
	double rates[4];
	uint64_t up = (server_now_ms() - srv->started_ms) / 1000;
	size_t ports_used = 0, ports_size = 0;
	char name[64], dur[32];
	int first;

	if (b == NULL) {
		ctl_conn_free(cc);
		return;
	}
	server_stats(srv, &st);
	server_rates(srv, rates);
	for (int i = 0; i < 2; i++)
		if (srv->pool[i] != NULL) {
			ports_used += portpool_used(srv->pool[i]);
			ports_size += portpool_size(srv->pool[i]);
		}
#define G(id) ((long long)st.g[STATG_##id])
#define C(id) ((unsigned long long)st.c[STAT_##id])
	if (json) {
		evbuffer_add_printf(b, "{\"version\":\"%s\",\"uptime_s\":%llu,"
		    "\"workers\":%zu,\"draining\":%s,\"realm\":", TURND_VERSION,
		    (unsigned long long)up, srv->n_workers,
		    atomic_load(&srv->draining) ? "true" : "false");
		json_str(b, srv->snap->conf->realm,
		    strlen(srv->snap->conf->realm));
		evbuffer_add_printf(b, ",\"allocations\":{\"total\":%lld,"
		    "\"udp\":%lld,\"tcp\":%lld,\"tls\":%lld,\"ipv4\":%lld,"
		    "\"ipv6\":%lld},\"users\":%zu,\"permissions\":%lld,"
		    "\"channels\":%lld,\"connections\":%lld,"
		    "\"ports\":{\"used\":%zu,\"size\":%zu},",
		    G(ALLOCS_UDP) + G(ALLOCS_TCP) + G(ALLOCS_TLS), G(ALLOCS_UDP),
		    G(ALLOCS_TCP), G(ALLOCS_TLS), G(RELAYS_IPV4),
		    G(RELAYS_IPV6), quota_users(srv->quota), G(PERMISSIONS),
		    G(CHANNELS), G(CONNECTIONS), ports_used, ports_size);
		evbuffer_add_printf(b, "\"relayed\":{\"client_to_peer\":"
		    "{\"packets\":%llu,\"bytes\":%llu,\"packets_per_s\":%.1f,"
		    "\"bytes_per_s\":%.1f},\"peer_to_client\":{\"packets\":%llu,"
		    "\"bytes\":%llu,\"packets_per_s\":%.1f,\"bytes_per_s\":%.1f},"
		    "\"window_s\":%d},", C(RELAY_C2P_PKTS), C(RELAY_C2P_BYTES),
		    rates[0], rates[1], C(RELAY_P2C_PKTS), C(RELAY_P2C_BYTES),
		    rates[2], rates[3], SERVER_RATE_WINDOW);
		evbuffer_add_printf(b, "\"counters\":{");
		for (size_t i = 0; i < STAT_COUNT; i++) {
			stats_lower(name, stats_name((enum stats_id)i), sizeof(name));
			evbuffer_add_printf(b, "%s\"%s\":%llu", i ? "," : "",
			    name, (unsigned long long)st.c[i]);
		}
		evbuffer_add_printf(b, "},\"errors\":{");
		first = 1;
		for (size_t i = 0; i < STAT_ERR_COUNT; i++) {
			uint16_t code = stats_err_code((enum stats_err_id)i);

			if (code == 0)
				evbuffer_add_printf(b, "%s\"other\":%llu",
				    first ? "" : ",",
				    (unsigned long long)st.err[i]);
			else
				evbuffer_add_printf(b, "%s\"%u\":%llu",
				    first ? "" : ",", code,
				    (unsigned long long)st.err[i]);
			first = 0;
		}
		evbuffer_add_printf(b, "},\"per_worker\":[");
		for (size_t k = 0; k < srv->n_workers; k++) {
			struct stats *ws = &srv->workers[k]->stats;

			evbuffer_add_printf(b, "%s{\"worker\":%zu,"
			    "\"allocations\":%lld,\"client_to_peer_packets\":%llu,"
			    "\"peer_to_client_packets\":%llu,\"requests\":%llu}",
			    k ? "," : "", k,
			    (long long)(ws->g[STATG_ALLOCS_UDP] +
			    ws->g[STATG_ALLOCS_TCP] + ws->g[STATG_ALLOCS_TLS]),
			    (unsigned long long)ws->c[STAT_RELAY_C2P_PKTS],
			    (unsigned long long)ws->c[STAT_RELAY_P2C_PKTS],
			    (unsigned long long)ws->c[STAT_REQUESTS]);
		}
		evbuffer_add_printf(b, "]}\n");
		ctl_respond(cc, CTL_E_OK, b);
		evbuffer_free(b);
		return;
	}
	fmt_duration(dur, sizeof(dur), up);
	evbuffer_add_printf(b, "turnd %s, up %s, %zu workers, realm %s%s\n\n",
	    TURND_VERSION, dur, srv->n_workers, srv->snap->conf->realm,
	    atomic_load(&srv->draining) ? ", DRAINING" : "");
	evbuffer_add_printf(b, "%-14s %lld (udp %lld, tcp %lld, tls %lld; "
	    "relays ipv4 %lld, ipv6 %lld)\n", "allocations",
	    G(ALLOCS_UDP) + G(ALLOCS_TCP) + G(ALLOCS_TLS), G(ALLOCS_UDP),
	    G(ALLOCS_TCP), G(ALLOCS_TLS), G(RELAYS_IPV4), G(RELAYS_IPV6));
	evbuffer_add_printf(b, "%-14s %zu\n%-14s %lld\n%-14s %lld\n"
	    "%-14s %lld\n%-14s %zu of %zu\n\n", "users",
	    quota_users(srv->quota), "permissions", G(PERMISSIONS),
	    "channels", G(CHANNELS), "connections", G(CONNECTIONS),
	    "relay ports", ports_used, ports_size);
	evbuffer_add_printf(b, "%-14s %14s %16s %12s %14s\n", "relayed",
	    "packets", "bytes", "pkt/s", "bytes/s");
	evbuffer_add_printf(b, "%-14s %14llu %16llu %12.1f %14.1f\n",
	    "client->peer", C(RELAY_C2P_PKTS), C(RELAY_C2P_BYTES), rates[0],
	    rates[1]);
	evbuffer_add_printf(b, "%-14s %14llu %16llu %12.1f %14.1f\n",
	    "peer->client", C(RELAY_P2C_PKTS), C(RELAY_P2C_BYTES), rates[2],
	    rates[3]);
	evbuffer_add_printf(b, "(rates over the last %d s)\n\n",
	    SERVER_RATE_WINDOW);
	evbuffer_add_printf(b, "error responses:");
	for (size_t i = 0; i < STAT_ERR_COUNT; i++) {
		uint16_t code = stats_err_code((enum stats_err_id)i);

		if (st.err[i] == 0)
			continue;
		if (code == 0)
			evbuffer_add_printf(b, " other=%llu",
			    (unsigned long long)st.err[i]);
		else
			evbuffer_add_printf(b, " %u=%llu", code,
			    (unsigned long long)st.err[i]);
	}
	evbuffer_add_printf(b, "\n\n%-32s %14s\n", "counter", "value");
	for (size_t i = 0; i < STAT_COUNT; i++) {
		stats_lower(name, stats_name((enum stats_id)i), sizeof(name));
		evbuffer_add_printf(b, "%-32s %14llu\n", name,
		    (unsigned long long)st.c[i]);
	}
	evbuffer_add_printf(b, "\n%-8s %12s %14s %14s %12s\n", "worker",
	    "allocations", "c->p packets", "p->c packets", "requests");
	for (size_t k = 0; k < srv->n_workers; k++) {
		struct stats *ws = &srv->workers[k]->stats;

		evbuffer_add_printf(b, "%-8zu %12lld %14llu %14llu %12llu\n", k,
		    (long long)(ws->g[STATG_ALLOCS_UDP] +
		    ws->g[STATG_ALLOCS_TCP] + ws->g[STATG_ALLOCS_TLS]),
		    (unsigned long long)ws->c[STAT_RELAY_C2P_PKTS],
		    (unsigned long long)ws->c[STAT_RELAY_P2C_PKTS],
		    (unsigned long long)ws->c[STAT_REQUESTS]);
	}
#undef G
#undef C
	ctl_respond(cc, CTL_E_OK, b);
	evbuffer_free(b);
}

/* On a worker: does the allocation match a kick or --user argument? */
static int
alloc_matches(const struct turn_alloc *a, const char *arg)
{
	char id[16];

	snprintf(id, sizeof(id), "%08x", a->id);
	if (strcmp(arg, id) == 0)
		return 1;
	if (a->user == NULL)
		return 0;
	/* the whole username, or its quota key (the id of a REST name) */
	return strcmp(a->user, arg) == 0 ||
	    (a->quota_off > 0 && strcmp(a->user + a->quota_off, arg) == 0);
}

/* On a worker: one line (or JSON object) per allocation. */
static void
collect_sessions(struct worker *w, struct collect_part *part)
{
	struct collect *col = part->col;
	struct turn_alloc *a;
	char cbuf[TADDR_STRLEN], lbuf[TADDR_STRLEN], rbuf[TADDR_STRLEN];
	char age[32], left[32];

	TAILQ_FOREACH(a, &w->allocs->all, entry) {
		uint32_t exp = (int32_t)(a->expires - w->now) > 0 ?
		    a->expires - w->now : 0;

		if (col->arg[0] != '\0' && !alloc_matches(a, col->arg))
			continue;
		taddr_str(&a->ep.addr, cbuf, sizeof(cbuf));
		taddr_str(&a->ep.local, lbuf, sizeof(lbuf));
		if (col->json) {
			evbuffer_add_printf(part->out, "{\"id\":\"%08x\","
			    "\"user\":", a->id);
			json_str(part->out, a->user, a->user_len);
			evbuffer_add_printf(part->out, ",\"transport\":\"%s\","
			    "\"client\":\"%s\",\"server\":\"%s\",\"relay_"
			    "transport\":\"%s\",\"relays\":[",
			    transport_name(a->transport), cbuf, lbuf,
			    a->tcp ? "tcp" : "udp");
			for (int i = 0; i < 2; i++)
				if (a->relay[i].fd != -1)
					evbuffer_add_printf(part->out,
					    "%s\"%s\"", i ? "," : "",
					    taddr_str(&a->relay[i].addr, rbuf,
					    sizeof(rbuf)));
			evbuffer_add_printf(part->out, "],\"peers\":[");
			for (uint16_t i = 0; i < a->n_perm; i++) {
				union taddr p;

				memset(&p, 0, sizeof(p));
				p.sa.sa_family = a->perms[i].family;
				if (p.sa.sa_family == AF_INET6)
					memcpy(&p.in6.sin6_addr, a->perms[i].ip,
					    16);
				else
					memcpy(&p.in.sin_addr, a->perms[i].ip,
					    4);
				evbuffer_add_printf(part->out, "%s\"%s\"",
				    i ? "," : "", taddr_ipstr(&p, rbuf,
				    sizeof(rbuf)));
			}
			evbuffer_add_printf(part->out, "],\"channels\":%u,"
			    "\"client_to_peer_packets\":%llu,"
			    "\"client_to_peer_bytes\":%llu,"
			    "\"peer_to_client_packets\":%llu,"
			    "\"peer_to_client_bytes\":%llu,\"age_s\":%u,"
			    "\"expires_in_s\":%u}\n", a->n_chan,
			    (unsigned long long)a->c2p_pkts,
			    (unsigned long long)a->c2p_bytes,
			    (unsigned long long)a->p2c_pkts,
			    (unsigned long long)a->p2c_bytes,
			    w->now - a->created, exp);
			continue;
		}
		fmt_duration(age, sizeof(age), w->now - a->created);
		fmt_duration(left, sizeof(left), exp);
		evbuffer_add_printf(part->out, "%08x  ", a->id);
		text_str(part->out, a->user, a->user_len);
		evbuffer_add_printf(part->out, "  %s %s->%s  relay %s%s%s%s  "
		    "peers %u  channels %u  c->p %llu B  p->c %llu B  age %s  "
		    "expires in %s\n", transport_name(a->transport), cbuf, lbuf,
		    a->tcp ? "tcp " : "",
		    taddr_str(&a->relay[0].addr, rbuf, sizeof(rbuf)),
		    a->relay[1].fd != -1 ? "," : "",
		    a->relay[1].fd != -1 ? taddr_str(&a->relay[1].addr, cbuf,
		    sizeof(cbuf)) : "", a->n_perm, a->n_chan,
		    (unsigned long long)a->c2p_bytes,
		    (unsigned long long)a->p2c_bytes, age, left);
	}
}

/*
 * On a worker: "user TAB bytes c2p TAB bytes p2c" per allocation, the
 * user being what quotas count: the static user's name or the id of a
 * REST credential, whatever its expiry.
 */
static void
collect_users(struct worker *w, struct collect_part *part)
{
	struct turn_alloc *a;

	TAILQ_FOREACH(a, &w->allocs->all, entry) {
		text_str(part->out, a->user + a->quota_off,
		    a->user_len - a->quota_off);
		evbuffer_add_printf(part->out, "\t%llu\t%llu\n",
		    (unsigned long long)a->c2p_bytes,
		    (unsigned long long)a->p2c_bytes);
	}
}

static void
collect_kick(struct worker *w, struct collect_part *part)
{
	struct turn_alloc *a, *next;

	for (a = TAILQ_FIRST(&w->allocs->all); a != NULL; a = next) {
		next = TAILQ_NEXT(a, entry);
		if (!alloc_matches(a, part->col->arg))
			continue;
		part->kicked++;
		STAT_INC(&w->stats, ALLOC_KICKED);
		if (a->ep.conn != NULL) {
			struct tconn *c = a->ep.conn;

			/*
			 * The connection goes too.  ep.conn stays set until
			 * alloc_free, which needs it to find a's bucket and
			 * detaches the connection itself.
			 */
			alloc_end(w, a, "alloc_kicked");
			tconn_close(c, "kicked");
		} else
			alloc_end(w, a, "alloc_kicked");
	}
}

static void collect_done_fn(struct mmsg *, void *);

static void
collect_worker_fn(struct mmsg *m, void *ctx)
{
	struct worker *w = ctx;
	struct collect_part *part = (struct collect_part *)m;

	worker_clock(w);
	switch (part->col->type) {
	case CTL_SESSIONS:
		collect_sessions(w, part);
		break;
	case CTL_USERS:
		collect_users(w, part);
		break;
	case CTL_KICK:
		collect_kick(w, part);
		break;
	}
	part->m.fn = collect_done_fn;
	mbox_post(&w->srv->mbox, &part->m);
}

static void
collect_free(struct collect *col)
{
	for (size_t i = 0; i < col->n; i++)
		if (col->part[i].out != NULL)
			evbuffer_free(col->part[i].out);
	free(col);
}

struct user_row {
	char *name;
	size_t allocs;
	unsigned long long c2p, p2c;
};

static int
user_row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct user_row *)a)->name,
	    ((const struct user_row *)b)->name);
}

/* users: merge the workers' lines into one row per user. */
static void
users_assemble(struct collect *col, struct evbuffer *b)
{
	struct user_row *rows = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < col->n; i++) {
		char *line;
		size_t len;

		while ((line = evbuffer_readln(col->part[i].out, &len,
		    EVBUFFER_EOL_LF)) != NULL) {
			char *t1 = strchr(line, '\t'), *t2;
			size_t k;

			if (t1 == NULL || (t2 = strchr(t1 + 1, '\t')) == NULL) {
				free(line);
				continue;
			}
			*t1 = '\0';
			for (k = 0; k < n; k++)
				if (strcmp(rows[k].name, line) == 0)
					break;
			if (k == n) {
				if (n == cap) {
					size_t nc = cap ? cap * 2 : 16;
					struct user_row *nr = reallocarray(rows,
					    nc, sizeof(*nr));

					if (nr == NULL) {
						free(line);
						continue;
					}
					rows = nr;
					cap = nc;
				}
				rows[n].name = strdup(line);
				rows[n].allocs = 0;
				rows[n].c2p = rows[n].p2c = 0;
				if (rows[n].name == NULL) {
					free(line);
					continue;
				}
				n++;
			}
			rows[k].allocs++;
			rows[k].c2p += strtoull(t1 + 1, NULL, 10);
			rows[k].p2c += strtoull(t2 + 1, NULL, 10);
			free(line);
		}
	}
	if (n > 0)
		qsort(rows, n, sizeof(*rows), user_row_cmp);
	if (col->json) {
		evbuffer_add_printf(b, "[");
		for (size_t k = 0; k < n; k++) {
			evbuffer_add_printf(b, "%s{\"user\":", k ? "," : "");
			json_str(b, rows[k].name, strlen(rows[k].name));
			evbuffer_add_printf(b, ",\"allocations\":%zu,"
			    "\"client_to_peer_bytes\":%llu,"
			    "\"peer_to_client_bytes\":%llu}", rows[k].allocs,
			    rows[k].c2p, rows[k].p2c);
		}
		evbuffer_add_printf(b, "]\n");
	} else {
		evbuffer_add_printf(b, "%-32s %11s %16s %16s\n", "user",
		    "allocations", "c->p bytes", "p->c bytes");
		for (size_t k = 0; k < n; k++)
			evbuffer_add_printf(b, "%-32s %11zu %16llu %16llu\n",
			    rows[k].name, rows[k].allocs, rows[k].c2p,
			    rows[k].p2c);
	}
	for (size_t k = 0; k < n; k++)
		free(rows[k].name);
	free(rows);
}

static void
collect_done_fn(struct mmsg *m, void *ctx)
{
	struct collect_part *part = (struct collect_part *)m;
	struct collect *col = part->col;
	struct evbuffer *b;
	size_t kicked = 0;

	if (--col->pending > 0)
		return;
	if (col->cc == NULL || (b = evbuffer_new()) == NULL) {
		if (col->cc != NULL)
			col->cc->col = NULL;
		collect_free(col);
		return;
	}
	col->cc->col = NULL;
	switch (col->type) {
	case CTL_SESSIONS:
		if (col->json) {
			/* one array of the workers' objects */
			size_t items = 0;

			evbuffer_add_printf(b, "[");
			for (size_t i = 0; i < col->n; i++) {
				char *line;
				size_t len;

				while ((line = evbuffer_readln(col->part[i].out,
				    &len, EVBUFFER_EOL_LF)) != NULL) {
					evbuffer_add_printf(b, "%s%s",
					    items++ ? "," : "", line);
					free(line);
				}
			}
			evbuffer_add_printf(b, "]\n");
		} else
			for (size_t i = 0; i < col->n; i++)
				evbuffer_add_buffer(b, col->part[i].out);
		ctl_respond(col->cc, CTL_E_OK, b);
		break;
	case CTL_USERS:
		users_assemble(col, b);
		ctl_respond(col->cc, CTL_E_OK, b);
		break;
	case CTL_KICK:
		for (size_t i = 0; i < col->n; i++)
			kicked += col->part[i].kicked;
		if (col->json)
			evbuffer_add_printf(b, "{\"kicked\":%zu}\n", kicked);
		else
			evbuffer_add_printf(b, "kicked %zu allocation%s\n",
			    kicked, kicked == 1 ? "" : "s");
		ctl_respond(col->cc, kicked > 0 ? CTL_E_OK : CTL_E_NOTFOUND,
		    b);
		break;
	}
	evbuffer_free(b);
	collect_free(col);
}

static void
ctl_collect(struct ctl_conn *cc, uint32_t type, int json, const char *arg)
{
	struct server *srv = cc->ctl->srv;
	struct collect *col;

	col = calloc(1, sizeof(*col) + srv->n_workers * sizeof(col->part[0]));
	if (col == NULL) {
		ctl_respond_text(cc, CTL_E_FAILED, "out of memory");
		return;
	}
	col->srv = srv;
	col->cc = cc;
	col->type = type;
	col->json = json;
	snprintf(col->arg, sizeof(col->arg), "%s", arg);
	col->n = srv->n_workers;
	for (size_t i = 0; i < col->n; i++) {
		col->part[i].col = col;
		col->part[i].m.fn = collect_worker_fn;
		col->part[i].out = evbuffer_new();
		if (col->part[i].out == NULL) {
			collect_free(col);
			ctl_respond_text(cc, CTL_E_FAILED, "out of memory");
			return;
		}
	}
	if (col->n == 0) {
		collect_free(col);
		ctl_respond_text(cc, CTL_E_FAILED, "no workers");
		return;
	}
	col->pending = col->n;
	cc->col = col;
	for (size_t i = 0; i < col->n; i++)
		worker_post(srv->workers[i], &col->part[i].m);
}

/* credentials: a TURN REST credential from the first secret. */
static void
ctl_credentials(struct ctl_conn *cc, int json, const char *payload)
{
	struct server *srv = cc->ctl->srv;
	const struct turnd_conf *c = srv->snap->conf;
	char ttl_s[32], id[128], user[192], pass[AUTH_REST_PASSWORD_LEN + 1];
	struct evbuffer *b;
	unsigned long ttl = 86400;
	char *end;

	if (c->auth.n_secrets == 0) {
		ctl_respond_text(cc, CTL_E_FAILED, "no shared secret is "
		    "configured (auth.secrets)");
		return;
	}
	if (ctl_arg(payload, "ttl", ttl_s, sizeof(ttl_s)) == 0) {
		ttl = strtoul(ttl_s, &end, 10);
		if (*ttl_s == '\0' || *end != '\0' || ttl == 0 ||
		    ttl > 31536000) {
			ctl_respond_text(cc, CTL_E_BAD, "ttl: 1 to 31536000 "
			    "seconds");
			return;
		}
	}
	if (ctl_arg(payload, "id", id, sizeof(id)) != 0)
		id[0] = '\0';
	for (const char *p = id; *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || *p == ':' || *p == 0x7f) {
			ctl_respond_text(cc, CTL_E_BAD, "id: printable, no "
			    "spaces or colons");
			return;
		}
	snprintf(user, sizeof(user), "%lld%s%s",
	    (long long)time(NULL) + (long long)ttl, id[0] ? ":" : "", id);
	auth_rest_password(c->auth.secrets[0], strlen(c->auth.secrets[0]),
	    user, strlen(user), pass);
	b = evbuffer_new();
	if (b == NULL) {
		ctl_conn_free(cc);
		return;
	}
	if (json) {
		evbuffer_add_printf(b, "{\"username\":");
		json_str(b, user, strlen(user));
		evbuffer_add_printf(b, ",\"password\":\"%s\",\"ttl\":%lu,"
		    "\"realm\":", pass, ttl);
		json_str(b, c->realm, strlen(c->realm));
		evbuffer_add_printf(b, "}\n");
	} else
		evbuffer_add_printf(b, "username  %s\npassword  %s\nttl       "
		    "%lu s\nrealm     %s\n", user, pass, ttl, c->realm);
	ctl_respond(cc, CTL_E_OK, b);
	evbuffer_free(b);
}

static void
ctl_reload(struct ctl_conn *cc, int json)
{
	struct evbuffer *b = evbuffer_new();
	char err[8192];
	int rc;

	if (b == NULL) {
		ctl_conn_free(cc);
		return;
	}
	rc = server_reload(cc->ctl->srv, 0, err, sizeof(err));
	if (json) {
		evbuffer_add_printf(b, "{\"reloaded\":%s,\"errors\":",
		    rc == 0 ? "true" : "false");
		json_str(b, err, strlen(err));
		evbuffer_add_printf(b, "}\n");
	} else if (rc == 0)
		evbuffer_add_printf(b, "reloaded\n");
	else
		evbuffer_add_printf(b, "reload refused, the running "
		    "configuration stays:\n%s", err);
	ctl_respond(cc, rc == 0 ? CTL_E_OK : CTL_E_FAILED, b);
	evbuffer_free(b);
}

static void
ctl_dispatch(struct ctl_conn *cc, const struct ctl_hdr *h, const char *pl)
{
	int json = (h->flags & CTL_F_JSON) != 0;
	char arg[256] = "";

	cc->json = json;
	if (cc->readonly && !ctl_is_show(h->type)) {
		ctl_respond_text(cc, CTL_E_DENIED, "this socket takes show "
		    "requests only");
		return;
	}
	switch (h->type) {
	case CTL_STATS:
		ctl_stats(cc, json);
		break;
	case CTL_SESSIONS:
		if (ctl_arg(pl, "user", arg, sizeof(arg)) != 0)
			arg[0] = '\0';
		ctl_collect(cc, CTL_SESSIONS, json, arg);
		break;
	case CTL_USERS:
		ctl_collect(cc, CTL_USERS, json, "");
		break;
	case CTL_KICK:
		if (ctl_arg(pl, "target", arg, sizeof(arg)) != 0 ||
		    arg[0] == '\0') {
			ctl_respond_text(cc, CTL_E_BAD, "kick needs a user or "
			    "an allocation id");
			return;
		}
		ctl_collect(cc, CTL_KICK, json, arg);
		break;
	case CTL_RELOAD:
		ctl_reload(cc, json);
		break;
	case CTL_CREDENTIALS:
		ctl_credentials(cc, json, pl);
		break;
	default:
		ctl_respond_text(cc, CTL_E_BAD, "unknown request");
		break;
	}
}

static void
ctl_read_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *cc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t raw[CTL_HDR_LEN];
	struct ctl_hdr h;
	char payload[CTL_REQ_MAX + 1];

	if (cc->answered || cc->col != NULL ||
	    evbuffer_get_length(in) < CTL_HDR_LEN)
		return;
	evbuffer_copyout(in, raw, sizeof(raw));
	ctl_hdr_get(&h, raw);
	/* the version first: nothing else is trusted from another one */
	if (h.version != CTL_VERSION) {
		ctl_respond_text(cc, CTL_E_VERSION, "protocol version "
		    "mismatch: turnctl and turnd differ");
		return;
	}
	if (h.len > CTL_REQ_MAX) {
		ctl_respond_text(cc, CTL_E_BAD, "request too long");
		return;
	}
	if (evbuffer_get_length(in) < CTL_HDR_LEN + h.len)
		return;
	evbuffer_drain(in, CTL_HDR_LEN);
	evbuffer_remove(in, payload, h.len);
	payload[h.len] = '\0';
	if (memchr(payload, '\0', h.len) != NULL) {
		ctl_respond_text(cc, CTL_E_BAD, "malformed request");
		return;
	}
	ctl_dispatch(cc, &h, payload);
}

static void
ctl_write_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *cc = arg;

	if (cc->answered &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		ctl_conn_free(cc);
}

static void
ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_conn *cc = arg;

	/*
	 * A client may half-close once its request is sent: the answer is
	 * still written (ctl_write_cb closes when it is flushed).
	 */
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    (cc->col != NULL || (cc->answered &&
	    evbuffer_get_length(bufferevent_get_output(bev)) != 0))) {
		bufferevent_disable(bev, EV_READ);
		return;
	}
	ctl_conn_free(cc);
}

static void
ctl_conn_free(struct ctl_conn *cc)
{
	TAILQ_REMOVE(&cc->ctl->conns, cc, entry);
	if (cc->col != NULL)
		cc->col->cc = NULL; /* the workers' replies are dropped */
	bufferevent_free(cc->bev);
	free(cc);
}

static void
ctl_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct control *ctl = arg;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			/* the socket stays readable: stop watching for 1 s */
			struct timeval one = { 1, 0 };

			for (int i = 0; i < 2; i++)
				if (ctl->ev[i] != NULL)
					event_del(ctl->ev[i]);
			if (ctl->resume != NULL)
				evtimer_add(ctl->resume, &one);
		}
		return;
	}
	(void)control_adopt(ctl, fd, lfd == ctl->fd[1]);
}

int
control_adopt(struct control *ctl, int fd, int readonly)
{
	struct timeval tmo = { CTL_TIMEOUT_S, 0 };
	struct ctl_conn *cc;

	cc = calloc(1, sizeof(*cc));
	if (cc == NULL) {
		close(fd);
		return -1;
	}
	cc->ctl = ctl;
	cc->readonly = readonly;
	cc->bev = bufferevent_socket_new(ctl->srv->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (cc->bev == NULL) {
		close(fd);
		free(cc);
		return -1;
	}
	TAILQ_INSERT_TAIL(&ctl->conns, cc, entry);
	bufferevent_setcb(cc->bev, ctl_read_cb, ctl_write_cb, ctl_event_cb,
	    cc);
	bufferevent_set_timeouts(cc->bev, &tmo, &tmo);
	bufferevent_setwatermark(cc->bev, EV_READ, 0,
	    CTL_HDR_LEN + CTL_REQ_MAX + 1);
	bufferevent_enable(cc->bev, EV_READ | EV_WRITE);
	return 0;
}

static int
ctl_listen(struct control *ctl, int i, const char *path, mode_t mode,
    const char *group)
{
	struct sockaddr_un sun;
	struct stat sb;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("event=start_failed reason=control_path_too_long "
		    "path=%s", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	/*
	 * A stale socket of an earlier run is replaced; a socket someone
	 * answers on belongs to a running turnd, which is left alone.
	 */
	if (lstat(path, &sb) == 0) {
		int probe;

		if (!S_ISSOCK(sb.st_mode)) {
			log_warnx("event=start_failed reason=control_path_"
			    "not_a_socket path=%s", path);
			return -1;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe != -1 && connect(probe, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0) {
			close(probe);
			log_warnx("event=start_failed reason=already_running "
			    "control=%s", path);
			return -1;
		}
		if (probe != -1)
			close(probe);
		(void)unlink(path);
	}
	ctl->fd[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (ctl->fd[i] == -1 ||
	    bind(ctl->fd[i], (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		log_warn("event=start_failed reason=control_socket path=%s",
		    path);
		return -1;
	}
	ctl->path[i] = strdup(path);
	if (chmod(path, mode) != 0) {
		log_warn("event=start_failed reason=control_mode path=%s",
		    path);
		return -1;
	}
	if (group != NULL && group[0] != '\0') {
		struct group *gr = getgrnam(group);

		if (gr == NULL || chown(path, (uid_t)-1, gr->gr_gid) != 0) {
			log_warn("event=start_failed reason=control_group "
			    "group=%s", group);
			return -1;
		}
	}
	if (listen(ctl->fd[i], 16) != 0)
		return -1;
	ctl->ev[i] = event_new(ctl->srv->base, ctl->fd[i],
	    EV_READ | EV_PERSIST, ctl_accept_cb, ctl);
	if (ctl->ev[i] == NULL || event_add(ctl->ev[i], NULL) != 0)
		return -1;
	log_info("event=control_listening path=%s%s", path,
	    i == 1 ? " readonly=yes" : "");
	return 0;
}

static void
ctl_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control *ctl = arg;

	for (int i = 0; i < 2; i++)
		if (ctl->ev[i] != NULL)
			event_add(ctl->ev[i], NULL);
}

int
control_start(struct server *srv)
{
	const struct turnd_conf *c = srv->snap->conf;
	struct control *ctl;

	if ((c->control.socket == NULL || c->control.socket[0] == '\0') &&
	    (c->control.readonly == NULL || c->control.readonly[0] == '\0'))
		return 0;
	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL)
		return -1;
	ctl->srv = srv;
	ctl->fd[0] = ctl->fd[1] = -1;
	TAILQ_INIT(&ctl->conns);
	srv->ctl = ctl;
	ctl->resume = evtimer_new(srv->base, ctl_resume_cb, ctl);
	if (ctl->resume == NULL)
		return -1;
	if (c->control.socket != NULL && c->control.socket[0] != '\0' &&
	    ctl_listen(ctl, 0, c->control.socket, (mode_t)c->control.mode,
	    c->control.group) != 0)
		return -1;
	if (c->control.readonly != NULL && c->control.readonly[0] != '\0' &&
	    ctl_listen(ctl, 1, c->control.readonly, 0666, NULL) != 0)
		return -1;
	return 0;
}

void
control_free(struct control *ctl)
{
	struct ctl_conn *cc;

	if (ctl == NULL)
		return;
	while ((cc = TAILQ_FIRST(&ctl->conns)) != NULL)
		ctl_conn_free(cc);
	if (ctl->resume != NULL)
		event_free(ctl->resume);
	for (int i = 0; i < 2; i++) {
		if (ctl->ev[i] != NULL)
			event_free(ctl->ev[i]);
		if (ctl->fd[i] != -1)
			close(ctl->fd[i]);
		if (ctl->path[i] != NULL) {
			(void)unlink(ctl->path[i]);
			free(ctl->path[i]);
		}
	}
	free(ctl);
}
