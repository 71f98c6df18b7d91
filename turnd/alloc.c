/*
 * The allocation table of one worker: a chained hash on the client's
 * 5-tuple (the listener or connection it arrived on and the client's
 * address), doubled when it fills, plus a list of all allocations for
 * the once-a-second sweep that expires them (RFC 8656 section 7: an
 * allocation lives until its lifetime runs out or a Refresh with
 * LIFETIME 0 deletes it).
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "listen.h"
#include "log.h"
#include "portpool.h"
#include "relay.h"
#include "quota.h"
#include "server.h"
#include "tcprelay.h"
#include "worker.h"

static uint32_t ep_hash(const struct alloc_table *, const struct client_ep *);
static int ep_eq(const struct client_ep *, const struct client_ep *);
static void table_grow(struct alloc_table *);

struct alloc_table *
alloc_table_new(uint32_t seed)
{
	struct alloc_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->nb = 64;
	t->b = calloc(t->nb, sizeof(*t->b));
	if (t->b == NULL) {
		free(t);
		return NULL;
	}
	t->seed = seed;
	TAILQ_INIT(&t->all);
	return t;
}

void
alloc_table_free(struct worker *w, struct alloc_table *t)
{
	struct turn_alloc *a;

	if (t == NULL)
		return;
	while ((a = TAILQ_FIRST(&t->all)) != NULL)
		alloc_free(w, a);
	free(t->b);
	free(t);
}

static uint32_t
ep_hash(const struct alloc_table *t, const struct client_ep *ep)
{
	uintptr_t owner = ep->conn != NULL ? (uintptr_t)ep->conn :
	    (uintptr_t)ep->l;

	return taddr_hash(&ep->addr, t->seed ^ (uint32_t)(owner >> 4));
}

static int
ep_eq(const struct client_ep *a, const struct client_ep *b)
{
	return a->l == b->l && a->conn == b->conn && taddr_eq(&a->addr,
	    &b->addr);
}

static void
table_grow(struct alloc_table *t)
{
	size_t nb = t->nb * 2;
	struct turn_alloc **b = calloc(nb, sizeof(*b)), *a;

	if (b == NULL)
		return; /* stay at this size; chains just get longer */
	TAILQ_FOREACH(a, &t->all, entry) {
		size_t i = ep_hash(t, &a->ep) & (nb - 1);

		a->hnext = b[i];
		b[i] = a;
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

struct turn_alloc *
alloc_find(struct alloc_table *t, const struct client_ep *ep)
{
	struct turn_alloc *a = t->b[ep_hash(t, ep) & (t->nb - 1)];

	for (; a != NULL; a = a->hnext)
		if (ep_eq(&a->ep, ep))
			return a;
	return NULL;
}

struct turn_alloc *
alloc_new(struct worker *w, const struct client_ep *ep, int transport)
{
	struct alloc_table *t = w->allocs;
	struct turn_alloc *a;
	size_t i;

	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->w = w;
	a->ep = *ep;
	a->transport = transport;
	a->id = (uint32_t)w->id << 24 | (w->next_alloc_id++ & 0xffffff);
	a->relay[0].fd = a->relay[1].fd = -1;
	a->relay[0].a = a->relay[1].a = a;
	a->created = w->now;
	if (t->n >= t->nb)
		table_grow(t);
	i = ep_hash(t, ep) & (t->nb - 1);
	a->hnext = t->b[i];
	t->b[i] = a;
	t->n++;
	TAILQ_INSERT_TAIL(&t->all, a, entry);
	return a;
}

static void
relay_release(struct worker *w, struct relay *r)
{
	if (r->fd == -1)
		return;
	if (r->ev != NULL)
		event_free(r->ev);
	r->ev = NULL;
	close(r->fd);
	r->fd = -1;
	portpool_put(server_pool(w->srv, r->addr.sa.sa_family),
	    taddr_port(&r->addr));
}

int
alloc_bw_take(struct turn_alloc *a, uint64_t rate, size_t len,
    uint64_t now_ms)
{
	uint64_t t;

	if (rate == 0)
		return 1;
	if (a->bw_last_ms == 0) {
		a->bw_tokens = rate;
		a->bw_last_ms = now_ms;
	}
	t = a->bw_tokens + (now_ms - a->bw_last_ms) * rate / 1000;
	a->bw_tokens = t > rate ? rate : t;
	a->bw_last_ms = now_ms;
	if (a->bw_tokens < len)
		return 0;
	a->bw_tokens -= len;
	return 1;
}

void
alloc_gauges(struct worker *w, const struct turn_alloc *a, int delta)
{
	switch (a->transport) {
	case CONF_T_TCP:
		GAUGE_ADD(&w->stats, ALLOCS_TCP, delta);
		break;
	case CONF_T_TLS:
		GAUGE_ADD(&w->stats, ALLOCS_TLS, delta);
		break;
	default:
		GAUGE_ADD(&w->stats, ALLOCS_UDP, delta);
		break;
	}
	for (int i = 0; i < 2; i++) {
		if (a->relay[i].fd == -1)
			continue;
		if (a->relay[i].addr.sa.sa_family == AF_INET6)
			GAUGE_ADD(&w->stats, RELAYS_IPV6, delta);
		else
			GAUGE_ADD(&w->stats, RELAYS_IPV4, delta);
	}
}

void
alloc_free(struct worker *w, struct turn_alloc *a)
{
	struct alloc_table *t = w->allocs;
	struct turn_alloc **pp;

	if (a == NULL)
		return;
	pp = &t->b[ep_hash(t, &a->ep) & (t->nb - 1)];
	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == a) {
			*pp = a->hnext;
			break;
		}
	t->n--;
	TAILQ_REMOVE(&t->all, a, entry);
	if (a->ep.conn != NULL)
		tconn_detach(a->ep.conn);
	if (a->counted)
		alloc_gauges(w, a, -1);
	GAUGE_ADD(&w->stats, PERMISSIONS, -(int64_t)a->n_perm);
	GAUGE_ADD(&w->stats, CHANNELS, -(int64_t)a->n_chan);
	if (a->tcp)
		tcprelay_alloc_gone(w, a);
	relay_release(w, &a->relay[0]);
	relay_release(w, &a->relay[1]);
	if (a->user != NULL) {
		quota_put(w->srv->quota, a->user + a->quota_off,
		    a->user_len - a->quota_off);
		free(a->user);
	}
	free(a->perms);
	free(a->chans);
	free(a);
}

struct relay *
alloc_relay(struct turn_alloc *a, int family)
{
	for (int i = 0; i < 2; i++)
		if (a->relay[i].fd != -1 &&
		    a->relay[i].addr.sa.sa_family == family)
			return &a->relay[i];
	return NULL;
}

void
alloc_end(struct worker *w, struct turn_alloc *a, const char *event)
{
	char cbuf[TADDR_STRLEN], ubuf[LOG_QUOTE_MAX];

	log_info("event=%s id=%08x client=%s user=%s age_s=%u c2p_pkts=%llu "
	    "c2p_bytes=%llu p2c_pkts=%llu p2c_bytes=%llu", event, a->id,
	    taddr_str(&a->ep.addr, cbuf, sizeof(cbuf)),
	    a->user != NULL ? log_quote(a->user, a->user_len, ubuf,
	    sizeof(ubuf)) : "-", w->now - a->created,
	    (unsigned long long)a->c2p_pkts, (unsigned long long)a->c2p_bytes,
	    (unsigned long long)a->p2c_pkts, (unsigned long long)a->p2c_bytes);
	alloc_free(w, a);
}

void
alloc_sweep(struct worker *w, uint32_t now)
{
	struct turn_alloc *a, *next;

	for (a = TAILQ_FIRST(&w->allocs->all); a != NULL; a = next) {
		next = TAILQ_NEXT(a, entry);
		if ((int32_t)(a->expires - now) <= 0) {
			STAT_INC(&w->stats, ALLOC_EXPIRED);
			alloc_end(w, a, "alloc_expired");
			continue;
		}
		perm_prune(a, now);
		chan_prune(a, now);
		for (int i = 0; i < 2; i++) {
			struct relay *r = &a->relay[i];

			if (r->df_until != 0 &&
			    (int32_t)(r->df_until - now) <= 0) {
				r->df_until = 0;
				relay_set_df(r, r->df);
			}
		}
	}
}
