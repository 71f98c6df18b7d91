/*
 * TCP relays (RFC 6062 sections 5.1-5.5).  See tcprelay.h for the shape.
 * Entries of the shared table move CONNECTING (the allocation's worker
 * owns the socket while connect(2) runs) → PENDING (the table owns the
 * peer socket, nobody reads it: what the peer sends waits in the kernel,
 * as section 5.3 asks) → ACTIVE (a worker runs the splice).
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "listen.h"
#include "log.h"
#include "peer.h"
#include "req.h"
#include "server.h"
#include "stun_enc.h"
#include "stun_hdr.h"
#include "stun_integrity.h"
#include "stun_msg.h"
#include "tcprelay.h"
#include "turn.h"
#include "worker.h"

#define TCP_BUCKETS 256

#define ENT_CONNECTING 1
#define ENT_PENDING 2
#define ENT_ACTIVE 3

struct tcp_connect;

struct tcp_ent {
	struct tcp_ent *next;
	uint32_t id;
	int state;
	int owner; /* worker of the allocation */
	uint32_t alloc_id;
	union taddr peer;
	int fd;		  /* PENDING: the peer socket */
	uint32_t expires; /* PENDING: ConnectionBind deadline */
	int runner;	  /* ACTIVE: worker running the splice */
	struct tcp_connect *conn; /* CONNECTING: the owner's context */
	size_t user_len;
	char user[STUN_MAX_USERNAME + 1];
};

struct tcprelay {
	pthread_mutex_t mu;
	struct tcp_ent *b[TCP_BUCKETS];
	size_t n;
};

/* A Connect in progress, on the allocation's worker. */
struct tcp_connect {
	struct worker *w;
	struct turn_alloc *a;
	uint32_t id;
	int fd;
	struct event *ev;
	uint16_t method;
	uint8_t txid[STUN_TXID_LEN];
	int fingerprint;
	int which;
	uint8_t key[STUN_KEY_MAX];
	size_t keylen;
};

/*
 * A bound pair: client data connection and peer data connection.  When
 * one side ends, what it sent before still goes to the other, which is
 * closed once that is written (RFC 6062 section 5.5) or when writing
 * stalls for tcp.idle_timeout_ms.
 */
struct splice {
	TAILQ_ENTRY(splice) entry;
	struct worker *w;
	uint32_t id;
	struct tconn *client; /* NULL: the client went, flushing to the peer */
	struct bufferevent *peer;
	int closing;
	int peer_eof; /* the peer ended: flushing to the client */
	int killed;   /* the allocation went: close at once */
};

static void connect_done_cb(evutil_socket_t, short, void *);
static void splice_peer_read_cb(struct bufferevent *, void *);
static void splice_peer_write_cb(struct bufferevent *, void *);
static void splice_peer_event_cb(struct bufferevent *, short, void *);
static void splice_free(struct splice *);

struct tcprelay *
tcprelay_new(void)
{
	struct tcprelay *t = calloc(1, sizeof(*t));

	if (t != NULL)
		pthread_mutex_init(&t->mu, NULL);
	return t;
}

void
tcprelay_free(struct tcprelay *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < TCP_BUCKETS; i++) {
		struct tcp_ent *e, *next;

		for (e = t->b[i]; e != NULL; e = next) {
			next = e->next;
			if (e->state == ENT_PENDING && e->fd != -1)
				close(e->fd);
			free(e);
		}
	}
	pthread_mutex_destroy(&t->mu);
	free(t);
}

/* Under the lock. */
static struct tcp_ent **
ent_find(struct tcprelay *t, uint32_t id)
{
	struct tcp_ent **pp = &t->b[id % TCP_BUCKETS];

	for (; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->id == id)
			break;
	return pp;
}

/* Under the lock: unlinks and frees e (its fd is the caller's affair). */
static void
ent_remove(struct tcprelay *t, struct tcp_ent *e)
{
	struct tcp_ent **pp = ent_find(t, e->id);

	if (*pp == e) {
		*pp = e->next;
		t->n--;
	}
	free(e);
}

/*
 * Adds an entry for allocation a and peer in state, with a fresh id.
 * Refuses (NULL, *why set) a second connection to the same peer (446) or
 * one past the per-allocation cap (508).
 */
static struct tcp_ent *
ent_add(struct worker *w, struct turn_alloc *a, const union taddr *peer,
    int state, uint16_t *why)
{
	struct tcprelay *t = w->srv->tcp;
	struct tcp_ent *e;
	size_t mine = 0;
	uint32_t id;

	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		*why = STUN_ERR_SERVER_ERROR;
		return NULL;
	}
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < TCP_BUCKETS; i++) {
		struct tcp_ent *o;

		for (o = t->b[i]; o != NULL; o = o->next) {
			if (o->owner != w->id || o->alloc_id != a->id)
				continue;
			mine++;
			if (taddr_eq(&o->peer, peer)) {
				*why = STUN_ERR_CONNECTION_EXISTS;
				goto refuse;
			}
		}
	}
	if (mine >= TCPRELAY_MAX_PER_ALLOC) {
		*why = STUN_ERR_INSUFFICIENT_CAPACITY;
		goto refuse;
	}
	do {
		id = (uint32_t)worker_rand(w);
	} while (id == 0 || *ent_find(t, id) != NULL);
	e->id = id;
	e->state = state;
	e->owner = w->id;
	e->alloc_id = a->id;
	e->peer = *peer;
	e->fd = -1;
	e->runner = -1;
	memcpy(e->user, a->user, a->user_len);
	e->user_len = a->user_len;
	e->next = t->b[id % TCP_BUCKETS];
	t->b[id % TCP_BUCKETS] = e;
	t->n++;
	pthread_mutex_unlock(&t->mu);
	return e;
refuse:
	pthread_mutex_unlock(&t->mu);
	free(e);
	return NULL;
}

static void
ent_drop(struct worker *w, uint32_t id)
{
	struct tcprelay *t = w->srv->tcp;
	struct tcp_ent **pp;

	pthread_mutex_lock(&t->mu);
	pp = ent_find(t, id);
	if (*pp != NULL)
		ent_remove(t, *pp);
	pthread_mutex_unlock(&t->mu);
}

static int
stream_socket(const union taddr *bind_to)
{
	int on = 1, fd;

	fd = socket(bind_to->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	/* the listening relay socket and outgoing connections share a port */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0 ||
	    (bind_to->sa.sa_family == AF_INET6 && setsockopt(fd,
	    IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0) ||
	    bind(fd, &bind_to->sa, taddr_len(bind_to)) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* A response to a request whose struct req is long gone. */
static void
connect_respond(struct tcp_connect *cc, uint16_t code)
{
	struct stun_msg m;
	struct req r;

	memset(&m, 0, sizeof(m));
	m.method = cc->method;
	m.cls = STUN_CLASS_REQUEST;
	memcpy(m.txid, cc->txid, STUN_TXID_LEN);
	if (cc->fingerprint)
		m.present |= (uint64_t)1 << STUN_AI_FINGERPRINT;
	memset(&r, 0, sizeof(r));
	r.w = cc->w;
	r.ep = &cc->a->ep;
	r.transport = cc->a->transport;
	r.m = &m;
	r.a = cc->a;
	r.authed = 1;
	r.auth.which = cc->which;
	memcpy(r.auth.key, cc->key, cc->keylen);
	r.auth.keylen = cc->keylen;
	if (code != 0) {
		req_error(&r, code);
		return;
	}
	req_success(&r);
	stun_enc_u32(&r.enc, STUN_ATTR_CONNECTION_ID, cc->id);
	req_finish(&r);
}

static void
connect_free(struct tcp_connect *cc)
{
	if (cc->ev != NULL)
		event_free(cc->ev);
	if (cc->fd != -1)
		close(cc->fd);
	OPENSSL_cleanse(cc->key, sizeof(cc->key));
	free(cc);
}

void
tcprelay_connect(struct req *r)
{
	struct worker *w = r->w;
	struct turn_alloc *a = r->a;
	struct relay *rl;
	struct tcp_connect *cc;
	struct tcp_ent *e;
	struct timeval tmo = { TCPRELAY_CONNECT_S, 0 };
	union taddr peer;
	uint16_t why = 0;
	int why_peer;

	if (!a->tcp) {
		req_error(r, STUN_ERR_BAD_REQUEST);
		return;
	}
	if (r->m->n_peer == 0) {
		req_error(r, STUN_ERR_BAD_REQUEST);
		return;
	}
	taddr_from_stun(&peer, &r->m->peer[0]);
	rl = alloc_relay(a, peer.sa.sa_family);
	if (rl == NULL) {
		req_error(r, STUN_ERR_PEER_ADDRESS_FAMILY);
		return;
	}
	why_peer = turn_peer_check(w, &peer);
	if (why_peer != PEER_OK) {
		STAT_INC(&w->stats, DROP_POLICY);
		req_error(r, STUN_ERR_FORBIDDEN);
		return;
	}
	cc = calloc(1, sizeof(*cc));
	if (cc == NULL) {
		req_error(r, STUN_ERR_SERVER_ERROR);
		return;
	}
	cc->fd = -1;
	e = ent_add(w, a, &peer, ENT_CONNECTING, &why);
	if (e == NULL) {
		free(cc);
		req_error(r, why);
		return;
	}
	cc->w = w;
	cc->a = a;
	cc->id = e->id;
	e->conn = cc;
	cc->method = r->m->method;
	memcpy(cc->txid, r->m->txid, STUN_TXID_LEN);
	cc->fingerprint = STUN_HAS(r->m, FINGERPRINT);
	cc->which = r->auth.which;
	memcpy(cc->key, r->auth.key, r->auth.keylen);
	cc->keylen = r->auth.keylen;
	cc->fd = stream_socket(&rl->addr);
	if (cc->fd == -1 ||
	    (connect(cc->fd, &peer.sa, taddr_len(&peer)) != 0 &&
	    errno != EINPROGRESS))
		goto fail;
	cc->ev = event_new(w->base, cc->fd, EV_WRITE, connect_done_cb, cc);
	if (cc->ev == NULL || event_add(cc->ev, &tmo) != 0)
		goto fail;
	/* the permission that lets the peer's bytes through, as ChannelBind */
	(void)perm_install(a, &peer, w->now,
	    w->snap->conf->allocation.permissions_max);
	return;
fail:
	ent_drop(w, cc->id);
	connect_free(cc);
	req_error(r, STUN_ERR_CONNECTION_FAILURE);
}

static void
connect_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_connect *cc = arg;
	struct worker *w = cc->w;
	struct tcprelay *t = w->srv->tcp;
	struct tcp_ent **pp;
	int err = 0;
	socklen_t len = sizeof(err);

	worker_clock(w);
	if ((what & EV_TIMEOUT) || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
	    &len) != 0 || err != 0) {
		ent_drop(w, cc->id);
		connect_respond(cc, STUN_ERR_CONNECTION_FAILURE);
		connect_free(cc);
		return;
	}
	pthread_mutex_lock(&t->mu);
	pp = ent_find(t, cc->id);
	if (*pp != NULL) {
		(*pp)->state = ENT_PENDING;
		(*pp)->fd = cc->fd;
		(*pp)->conn = NULL;
		(*pp)->expires = w->now + TCPRELAY_BIND_S;
		cc->fd = -1; /* the table has it now */
	}
	pthread_mutex_unlock(&t->mu);
	connect_respond(cc, cc->fd == -1 ? 0 : STUN_ERR_CONNECTION_FAILURE);
	connect_free(cc);
}

/* A peer connects to the relayed transport address (section 5.3). */
void
tcprelay_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct relay *rl = arg;
	struct turn_alloc *a = rl->a;
	struct worker *w = a->w;
	union taddr peer;
	socklen_t plen = sizeof(peer);
	struct tcp_ent *e;
	uint16_t why;
	int fd;

	worker_clock(w);
	memset(&peer, 0, sizeof(peer));
	fd = accept4(lfd, &peer.sa, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1)
		return;
	if (!perm_check(a, &peer, w->now) ||
	    turn_peer_check(w, &peer) != PEER_OK) {
		STAT_INC(&w->stats, DROP_NO_PERM);
		close(fd);
		return;
	}
	e = ent_add(w, a, &peer, ENT_PENDING, &why);
	if (e == NULL) {
		close(fd);
		return;
	}
	{
		struct tcprelay *t = w->srv->tcp;
		struct stun_addr sa;
		struct stun_enc enc;
		uint8_t out[128], txid[STUN_TXID_LEN];
		uint32_t id;
		int n;

		pthread_mutex_lock(&t->mu);
		e->fd = fd;
		e->expires = w->now + TCPRELAY_BIND_S;
		id = e->id;
		pthread_mutex_unlock(&t->mu);
		if (RAND_bytes(txid, sizeof(txid)) != 1)
			memset(txid, 0, sizeof(txid));
		taddr_to_stun(&sa, &peer);
		stun_enc_init(&enc, out, sizeof(out),
		    stun_type(STUN_METHOD_CONNECTION_ATTEMPT,
		    STUN_CLASS_INDICATION), txid);
		stun_enc_xaddr(&enc, STUN_ATTR_XOR_PEER_ADDRESS, &sa);
		stun_enc_u32(&enc, STUN_ATTR_CONNECTION_ID, id);
		n = stun_enc_finish(&enc);
		if (n > 0)
			client_send(w, &a->ep, out, (size_t)n);
	}
}

/* Section 5.4: the data connection names its peer connection. */
void
tcprelay_bind(struct req *r)
{
	struct worker *w = r->w;
	struct tcprelay *t = w->srv->tcp;
	struct tconn *c = r->ep->conn;
	struct tcp_ent **pp, *e;
	struct splice *sp;
	uint16_t code = 0;
	int fd = -1;
	uint32_t id;

	if (c == NULL || c->a != NULL || c->splice != NULL ||
	    !STUN_HAS(r->m, CONNECTION_ID)) {
		req_error(r, STUN_ERR_BAD_REQUEST);
		return;
	}
	id = r->m->connection_id;
	pthread_mutex_lock(&t->mu);
	pp = ent_find(t, id);
	e = *pp;
	if (e == NULL || e->state != ENT_PENDING)
		code = STUN_ERR_BAD_REQUEST;
	else if (e->user_len != r->auth.user_len ||
	    memcmp(e->user, r->auth.user, e->user_len) != 0)
		code = STUN_ERR_WRONG_CREDENTIALS;
	else {
		e->state = ENT_ACTIVE;
		e->runner = w->id;
		fd = e->fd;
		e->fd = -1;
	}
	pthread_mutex_unlock(&t->mu);
	if (code != 0) {
		req_error(r, code);
		return;
	}
	sp = calloc(1, sizeof(*sp));
	if (sp == NULL)
		goto fail;
	sp->w = w;
	sp->id = id;
	sp->client = c;
	sp->peer = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
	if (sp->peer == NULL)
		goto fail;
	fd = -1;
	bufferevent_setcb(sp->peer, splice_peer_read_cb, splice_peer_write_cb,
	    splice_peer_event_cb, sp);
	bufferevent_setwatermark(sp->peer, EV_WRITE,
	    w->snap->conf->tcp.buffer_max / 2, 0);
	if (bufferevent_enable(sp->peer, EV_READ | EV_WRITE) != 0)
		goto fail;
	TAILQ_INSERT_TAIL(&w->splices, sp, entry);
	c->splice = sp;
	/* the success response is the last framed message on it */
	req_success(r);
	req_finish(r);
	return;
fail:
	if (sp != NULL) {
		if (sp->peer != NULL)
			bufferevent_free(sp->peer);
		free(sp);
	}
	if (fd != -1)
		close(fd);
	ent_drop(w, id);
	req_error(r, STUN_ERR_SERVER_ERROR);
}

/* Bytes from the client data connection go to the peer as they are. */
void
tcprelay_client_input(struct tconn *c)
{
	struct splice *sp = c->splice;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(sp->peer);
	size_t n = evbuffer_get_length(in);

	if (n == 0)
		return;
	STAT_ADD(&sp->w->stats, RELAY_C2P_BYTES, n);
	evbuffer_add_buffer(out, in);
	/* back-pressure: stop reading the client until the peer drains */
	if (evbuffer_get_length(out) >= sp->w->snap->conf->tcp.buffer_max)
		bufferevent_disable(c->bev, EV_READ);
}

static void
splice_peer_read_cb(struct bufferevent *bev, void *arg)
{
	struct splice *sp = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out;
	size_t n = evbuffer_get_length(in);

	if (sp->client == NULL) {
		evbuffer_drain(in, n);
		return;
	}
	out = bufferevent_get_output(sp->client->bev);
	STAT_ADD(&sp->w->stats, RELAY_P2C_BYTES, n);
	evbuffer_add_buffer(out, in);
	if (evbuffer_get_length(out) >= sp->w->snap->conf->tcp.buffer_max)
		bufferevent_disable(bev, EV_READ);
}

/*
 * The peer drained below the low mark: read the client again; or, the
 * client gone, all is written: close.
 */
static void
splice_peer_write_cb(struct bufferevent *bev, void *arg)
{
	struct splice *sp = arg;

	if (sp->client == NULL)
		splice_free(sp);
	else if (!sp->peer_eof)
		bufferevent_enable(sp->client->bev, EV_READ);
}

/* Called by the client side when its output drained (listen_tcp.c). */
void
tcprelay_client_drained(struct tconn *c)
{
	struct splice *sp = c->splice;

	if (sp == NULL)
		return;
	if (!sp->peer_eof)
		bufferevent_enable(sp->peer, EV_READ);
	else if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		tconn_close(c, "peer_closed");
}

/*
 * One side ended with bytes still owed to the other side, out: stop
 * reading from out, and have its write callback fire once all is written
 * (which closes it) or its timeout after tcp.idle_timeout_ms without
 * progress.
 */
static void
splice_flush_then_close(struct splice *sp, struct bufferevent *out)
{
	uint32_t ms = sp->w->snap->conf->tcp.idle_timeout_ms;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	bufferevent_disable(out, EV_READ);
	bufferevent_setwatermark(out, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(out, NULL, &tv);
}

static void
splice_peer_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct splice *sp = arg;
	struct tconn *c = sp->client;

	if (c == NULL) {
		/* flushing to the peer: it went, or stalled */
		splice_free(sp);
		return;
	}
	if (!(what & BEV_EVENT_EOF) || sp->killed) {
		tconn_close(c, "peer_closed");
		return;
	}
	/* RFC 6062 section 5.5: the peer's bytes first, then the close */
	splice_peer_read_cb(bev, sp);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		tconn_close(c, "peer_closed");
		return;
	}
	sp->peer_eof = 1;
	bufferevent_disable(bev, EV_READ);
	splice_flush_then_close(sp, c->bev);
}

static void
splice_free(struct splice *sp)
{
	struct worker *w = sp->w;

	TAILQ_REMOVE(&w->splices, sp, entry);
	ent_drop(w, sp->id);
	if (sp->peer != NULL)
		bufferevent_free(sp->peer);
	if (sp->client != NULL)
		sp->client->splice = NULL;
	free(sp);
}

void
tcprelay_client_gone(struct tconn *c)
{
	struct splice *sp = c->splice;
	struct evbuffer *out;

	if (sp == NULL)
		return;
	c->splice = NULL;
	sp->client = NULL;
	out = bufferevent_get_output(sp->peer);
	/* RFC 6062 section 5.5: the client's bytes first, then the close */
	if (!sp->killed && c->bev != NULL)
		evbuffer_add_buffer(out, bufferevent_get_input(c->bev));
	if (sp->killed || evbuffer_get_length(out) == 0) {
		splice_free(sp);
		return;
	}
	splice_flush_then_close(sp, sp->peer);
	bufferevent_enable(sp->peer, EV_WRITE);
}

void
tcprelay_kill(struct worker *w, uint32_t id)
{
	struct splice *sp;

	TAILQ_FOREACH(sp, &w->splices, entry)
		if (sp->id == id) {
			sp->killed = 1;
			if (sp->client != NULL)
				tconn_close(sp->client, "allocation_gone");
			else
				splice_free(sp);
			return;
		}
}

void
tcprelay_stop(struct worker *w)
{
	struct splice *sp;

	while ((sp = TAILQ_FIRST(&w->splices)) != NULL) {
		sp->killed = 1;
		if (sp->client != NULL)
			sp->client->splice = NULL;
		splice_free(sp);
	}
}

static void
kill_fn(struct mmsg *m, void *ctx)
{
	tcprelay_kill(ctx, (uint32_t)(uintptr_t)m->arg);
	free(m);
}

void
tcprelay_alloc_gone(struct worker *w, struct turn_alloc *a)
{
	struct tcprelay *t = w->srv->tcp;
	struct tcp_connect *cancel[TCPRELAY_MAX_PER_ALLOC];
	size_t n_cancel = 0;

	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < TCP_BUCKETS; i++) {
		struct tcp_ent *e, *next;

		for (e = t->b[i]; e != NULL; e = next) {
			next = e->next;
			if (e->owner != w->id || e->alloc_id != a->id)
				continue;
			switch (e->state) {
			case ENT_CONNECTING:
				if (n_cancel < TCPRELAY_MAX_PER_ALLOC)
					cancel[n_cancel++] = e->conn;
				ent_remove(t, e);
				break;
			case ENT_PENDING:
				if (e->fd != -1)
					close(e->fd);
				ent_remove(t, e);
				break;
			case ENT_ACTIVE:
				if (e->runner >= 0 &&
				    (size_t)e->runner < w->srv->n_workers) {
					struct mmsg *m = calloc(1, sizeof(*m));

					if (m != NULL) {
						m->arg = (void *)(uintptr_t)e->id;
						m->fn = kill_fn;
						worker_post(
						    w->srv->workers[e->runner],
						    m);
					}
				}
				break;
			}
		}
	}
	pthread_mutex_unlock(&t->mu);
	/* connects in progress belong to this worker: end them here */
	for (size_t i = 0; i < n_cancel; i++)
		connect_free(cancel[i]);
}

void
tcprelay_expire(struct worker *w, uint32_t now)
{
	struct tcprelay *t = w->srv->tcp;

	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < TCP_BUCKETS; i++) {
		struct tcp_ent *e, *next;

		for (e = t->b[i]; e != NULL; e = next) {
			next = e->next;
			if (e->state != ENT_PENDING ||
			    (int32_t)(e->expires - now) > 0)
				continue;
			if (e->fd != -1)
				close(e->fd);
			ent_remove(t, e);
		}
	}
	pthread_mutex_unlock(&t->mu);
}
