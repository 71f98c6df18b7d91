/*
 * TCP and TLS client transports (RFC 8656 section 3.1; TURN over TLS with
 * ALPN, RFC 7443).  One listening socket per worker (SO_REUSEPORT); each
 * accepted connection is a struct tconn with a bufferevent (OpenSSL's for
 * TLS).  Frames on the stream are STUN messages and ChannelData, cut by
 * the codec's framer and handed to the request layer one at a time.
 *
 * What a client can make the server hold is bounded: connections in total
 * and per source address, a frame size, the input kept while a frame is
 * incomplete, output queued for a slow reader (relayed data beyond the
 * bound is dropped and counted), a deadline for a connection to send
 * something valid (TLS handshake included) and for a partial frame to
 * complete.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "chandata.h"
#include "config.h"
#include "frame.h"
#include "listen.h"
#include "log.h"
#include "quota.h"
#include "req.h"
#include "stun_enc.h"
#include "tcprelay.h"
#include "server.h"
#include "txcache.h"
#include "worker.h"

/*
 * The largest frame a client may send: a STUN request or a ChannelData
 * message carrying one media datagram fits many times over.
 */
#define TCONN_FRAME_MAX 16384
#define TCONN_ACCEPTS 16 /* accepts per wake-up */

static void tcp_accept_cb(evutil_socket_t, short, void *);
static void tcp_resume_cb(evutil_socket_t, short, void *);
static void tconn_read_cb(struct bufferevent *, void *);
static void tconn_write_cb(struct bufferevent *, void *);
static void tconn_event_cb(struct bufferevent *, short, void *);
static void tconn_timer_cb(evutil_socket_t, short, void *);
static void tconn_free(struct tconn *);

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct listener *
listener_tcp_new(struct worker *w, const union taddr *addr, int transport)
{
	struct listener *l;
	char buf[TADDR_STRLEN];
	int on = 1, fam = addr->sa.sa_family;

	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->w = w;
	l->transport = transport;
	l->addr = *addr;
	l->fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd == -1)
		goto fail;
	if (setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    setsockopt(l->fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) ||
	    (fam == AF_INET6 && setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY,
	    &on, sizeof(on))))
		goto fail;
	if (bind(l->fd, &addr->sa, taddr_len(addr)) == -1 ||
	    listen(l->fd, 1024) == -1)
		goto fail;
	l->ev = event_new(w->base, l->fd, EV_READ | EV_PERSIST, tcp_accept_cb,
	    l);
	l->pause = evtimer_new(w->base, tcp_resume_cb, l);
	if (l->ev == NULL || l->pause == NULL || event_add(l->ev, NULL) != 0)
		goto fail;
	if (w->id == 0)
		log_info("event=listening transport=%s address=%s",
		    transport == CONF_T_TLS ? "tls" : "tcp",
		    taddr_str(addr, buf, sizeof(buf)));
	return l;
fail:
	log_warn("event=listen_failed transport=%s address=%s",
	    transport == CONF_T_TLS ? "tls" : "tcp",
	    taddr_str(addr, buf, sizeof(buf)));
	listener_free(l);
	return NULL;
}

static void
tcp_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	event_add(l->ev, NULL);
}

/* Takes a slot for a connection from peer: total and per source. */
static int
tconn_admit(struct worker *w, const union taddr *peer)
{
	const struct turnd_conf *c = w->snap->conf;
	struct stun_addr sa;

	taddr_to_stun(&sa, peer);
	return quota_take(w->srv->conns, (const char *)sa.ip,
	    sa.family == STUN_AF_IPV6 ? 16 : 4, c->tcp.max_per_source,
	    c->tcp.max_connections);
}

static void
tconn_release(struct worker *w, const union taddr *peer)
{
	struct stun_addr sa;

	taddr_to_stun(&sa, peer);
	quota_put(w->srv->conns, (const char *)sa.ip,
	    sa.family == STUN_AF_IPV6 ? 16 : 4);
}

static void
tcp_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct listener *l = arg;
	struct worker *w = l->w;
	const struct turnd_conf *c = w->snap->conf;

	worker_clock(w);
	for (int i = 0; i < TCONN_ACCEPTS; i++) {
		union taddr peer, local;
		socklen_t plen = sizeof(peer), llen = sizeof(local);
		struct timeval idle;
		struct tconn *tc;
		SSL *ssl = NULL;
		char pbuf[TADDR_STRLEN];
		int fd, on = 1;

		memset(&peer, 0, sizeof(peer));
		fd = accept4(l->fd, &peer.sa, &plen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* tmux's server_accept: pause for a second */
				struct timeval one = { 1, 0 };

				STAT_INC(&w->stats, TCP_ACCEPT_PAUSED);
				if (w->now - w->accept_warned_s >= 60 ||
				    w->accept_warned_s == 0) {
					w->accept_warned_s = w->now;
					log_warn("event=accept_paused "
					    "transport=tcp pause_s=1");
				}
				event_del(l->ev);
				evtimer_add(l->pause, &one);
			}
			return;
		}
		if (tconn_admit(w, &peer) != QUOTA_OK) {
			STAT_INC(&w->stats, TCP_REFUSED_LIMIT);
			log_debug("event=connection_refused client=%s "
			    "reason=limit", taddr_str(&peer, pbuf,
			    sizeof(pbuf)));
			close(fd);
			continue;
		}
		memset(&local, 0, sizeof(local));
		getsockname(fd, &local.sa, &llen);
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		tc = calloc(1, sizeof(*tc));
		if (tc == NULL)
			goto refuse;
		tc->w = w;
		tc->l = l;
		tc->transport = l->transport;
		tc->peer = peer;
		tc->local = local;
		tc->counted = 1;
		tc->last_valid_ms = now_ms();
		if (l->transport == CONF_T_TLS) {
			if (w->tls == NULL ||
			    (ssl = SSL_new(w->tls)) == NULL)
				goto refuse_conn;
			tc->bev = bufferevent_openssl_socket_new(w->base, fd,
			    ssl, BUFFEREVENT_SSL_ACCEPTING,
			    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
			if (tc->bev != NULL)
				bufferevent_openssl_set_allow_dirty_shutdown(
				    tc->bev, 1);
		} else
			tc->bev = bufferevent_socket_new(w->base, fd,
			    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		if (tc->bev == NULL) {
			if (ssl != NULL)
				SSL_free(ssl);
			goto refuse_conn;
		}
		fd = -1; /* the bufferevent owns it now */
		tc->timer = evtimer_new(w->base, tconn_timer_cb, tc);
		if (tc->timer == NULL)
			goto refuse_conn;
		idle.tv_sec = c->tcp.idle_timeout_ms / 1000;
		idle.tv_usec = (c->tcp.idle_timeout_ms % 1000) * 1000;
		evtimer_add(tc->timer, &idle);
		/* stop reading while a frame and a half is waiting */
		bufferevent_setwatermark(tc->bev, EV_READ, 0,
		    2 * TCONN_FRAME_MAX);
		bufferevent_setcb(tc->bev, tconn_read_cb, tconn_write_cb,
		    tconn_event_cb, tc);
		if (bufferevent_enable(tc->bev, EV_READ | EV_WRITE) != 0)
			goto refuse_conn;
		TAILQ_INSERT_TAIL(&w->conns, tc, entry);
		STAT_INC(&w->stats, TCP_ACCEPTED);
		GAUGE_ADD(&w->stats, CONNECTIONS, 1);
		log_debug("event=connection_accepted client=%s transport=%s",
		    taddr_str(&peer, pbuf, sizeof(pbuf)),
		    l->transport == CONF_T_TLS ? "tls" : "tcp");
		continue;
refuse_conn:
		if (tc->timer != NULL)
			event_free(tc->timer);
		if (tc->bev != NULL)
			bufferevent_free(tc->bev);
		free(tc);
refuse:
		if (fd != -1)
			close(fd);
		tconn_release(w, &peer);
	}
}

/*
 * How many bytes the ChannelData frame at the head of the stream takes.
 * RFC 8656 section 12.5 says a client pads to four on streams; some
 * clients do not.  The padding decision is learnt per connection from
 * evidence: non-zero bytes where padding would be mean no padding; zero
 * padding followed by a frame boundary means padding.  Returns 0 when more
 * bytes are needed.
 */
static size_t
chandata_stream_len(struct tconn *c, struct evbuffer *in, size_t avail,
    uint16_t dlen)
{
	size_t unp = CHANDATA_HDR_LEN + (size_t)dlen, pad = stun_pad(unp);
	struct evbuffer_ptr pos;
	uint8_t look[16];
	size_t n;

	if (pad == unp || c->pad_mode == TCONN_PAD_YES)
		return avail >= pad ? pad : 0;
	if (c->pad_mode == TCONN_PAD_NO)
		return avail >= unp ? unp : 0;
	if (avail < unp)
		return 0;
	if (avail == unp) {
		/* deliver now; decide on the padding when more comes */
		c->pad_skip = pad - unp;
		return unp;
	}
	n = avail - unp < sizeof(look) ? avail - unp : sizeof(look);
	evbuffer_ptr_set(in, &pos, unp, EVBUFFER_PTR_SET);
	evbuffer_copyout_from(in, &pos, look, n);
	for (size_t i = 0; i < n && i < pad - unp; i++)
		if (look[i] != 0) {
			c->pad_mode = TCONN_PAD_NO;
			return unp;
		}
	if (n < pad - unp)
		return 0; /* zeros so far: wait for the rest */
	if (n == pad - unp || stun_frame_len(look + (pad - unp),
	    n - (pad - unp), TCONN_FRAME_MAX) >= 0) {
		c->pad_mode = TCONN_PAD_YES;
		return pad;
	}
	c->pad_mode = TCONN_PAD_NO;
	return unp;
}

static void
tconn_read_cb(struct bufferevent *bev, void *arg)
{
	struct tconn *c = arg;
	struct worker *w = c->w;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct client_ep ep;

	worker_clock(w);
	if (c->splice != NULL) {
		tcprelay_client_input(c);
		return;
	}
	memset(&ep, 0, sizeof(ep));
	ep.conn = c;
	ep.addr = c->peer;
	ep.local = c->local;
	c->busy = 1;
	while (!c->closing) {
		size_t avail = evbuffer_get_length(in), flen;
		uint8_t head[8];
		int r;

		if (avail == 0) {
			c->partial_ms = 0;
			break;
		}
		if (c->pad_skip > 0) {
			size_t k = c->pad_skip, n = avail < 16 ? avail : 16, i;
			uint8_t look[16];

			evbuffer_copyout(in, look, n);
			for (i = 0; i < n && i < k; i++)
				if (look[i] != 0)
					break;
			if (i < n && i < k) {
				c->pad_mode = TCONN_PAD_NO;
				c->pad_skip = 0;
			} else if (n < k) {
				break;
			} else if (n == k || stun_frame_len(look + k, n - k,
			    TCONN_FRAME_MAX) >= 0) {
				c->pad_mode = TCONN_PAD_YES;
				c->pad_skip = 0;
				evbuffer_drain(in, k);
				continue;
			} else {
				c->pad_mode = TCONN_PAD_NO;
				c->pad_skip = 0;
			}
		}
		evbuffer_copyout(in, head, avail < 8 ? avail : 8);
		r = stun_frame_len(head, avail < 8 ? avail : 8,
		    TCONN_FRAME_MAX);
		if (r < 0) {
			STAT_INC(&w->stats, TCP_BAD_FRAME);
			tconn_close(c, r == STUN_ETOOBIG ? "frame_too_big" :
			    "not_stun");
			break;
		}
		flen = (size_t)r;
		if (r > 0 && (head[0] & 0xc0) == 0x40)
			flen = chandata_stream_len(c, in, avail,
			    (uint16_t)(head[2] << 8 | head[3]));
		if (r == 0 || flen == 0 || avail < flen) {
			if (c->partial_ms == 0)
				c->partial_ms = now_ms();
			break;
		}
		STAT_INC(&w->stats, RX_CLIENT_PKTS);
		STAT_ADD(&w->stats, RX_CLIENT_BYTES, flen);
		c->last_valid_ms = now_ms();
		c->partial_ms = 0;
		req_input(w, &ep, c->transport, evbuffer_pullup(in,
		    (ssize_t)flen), flen, REQ_F_STREAM);
		evbuffer_drain(in, flen);
		if (c->splice != NULL) {
			/* bound (RFC 6062): what follows is the peer's */
			bufferevent_setwatermark(c->bev, EV_WRITE,
			    w->snap->conf->tcp.buffer_max / 2, 0);
			tcprelay_client_input(c);
			break;
		}
	}
	c->busy = 0;
	if (c->closing)
		tconn_free(c);
}

/* Output drained below the low mark (only set on bound data connections). */
static void
tconn_write_cb(struct bufferevent *bev, void *arg)
{
	struct tconn *c = arg;

	if (c->splice != NULL)
		tcprelay_client_drained(c);
}

static void
tconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tconn *c = arg;

	if (what & BEV_EVENT_EOF)
		tconn_close(c, "closed_by_client");
	else if (what & BEV_EVENT_ERROR)
		tconn_close(c, c->transport == CONF_T_TLS ? "tls_error" :
		    "error");
	else if (what & BEV_EVENT_TIMEOUT)
		/* a data connection flushing to a client that stopped reading */
		tconn_close(c, "flush_timeout");
}

/*
 * Deadlines: a connection without an allocation must send a valid frame
 * every idle_timeout_ms (the first one, TLS handshake included, within
 * that time of accepting); any connection must complete a partial frame
 * within it.
 */
static void
tconn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tconn *c = arg;
	uint32_t idle = c->w->snap->conf->tcp.idle_timeout_ms;
	uint64_t now = now_ms();
	struct timeval tv;

	if (c->a == NULL && c->splice == NULL &&
	    now - c->last_valid_ms >= idle) {
		STAT_INC(&c->w->stats, TCP_IDLE_CLOSED);
		tconn_close(c, "idle");
		return;
	}
	if (c->partial_ms != 0 && now - c->partial_ms >= idle) {
		STAT_INC(&c->w->stats, TCP_IDLE_CLOSED);
		tconn_close(c, "partial_frame_timeout");
		return;
	}
	tv.tv_sec = idle / 1000;
	tv.tv_usec = (idle % 1000) * 1000;
	evtimer_add(c->timer, &tv);
}

void
tconn_detach(struct tconn *c)
{
	c->a = NULL;
	/* back under the idle rule, from now */
	c->last_valid_ms = now_ms();
}

void
tconn_close(struct tconn *c, const char *why)
{
	char pbuf[TADDR_STRLEN];

	if (c->closing)
		return;
	c->closing = 1;
	log_debug("event=connection_closed client=%s reason=%s",
	    taddr_str(&c->peer, pbuf, sizeof(pbuf)), why);
	if (!c->busy)
		tconn_free(c);
}

static void
tconn_free(struct tconn *c)
{
	struct worker *w = c->w;

	TAILQ_REMOVE(&w->conns, c, entry);
	GAUGE_ADD(&w->stats, CONNECTIONS, -1);
	if (c->a != NULL) {
		struct turn_alloc *a = c->a;

		/* RFC 8656: the allocation dies with its connection */
		c->a = NULL;
		STAT_INC(&w->stats, ALLOC_CLOSED);
		alloc_end(w, a, "alloc_closed");
	}
	tcprelay_client_gone(c);
	txcache_forget_conn(w->txc, c);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->counted)
		tconn_release(w, &c->peer);
	free(c);
}

void
tconn_free_all(struct worker *w)
{
	struct tconn *c;

	while ((c = TAILQ_FIRST(&w->conns)) != NULL)
		tconn_free(c);
}

/* Output to a stream client, bounded by tcp.buffer_max. */
int
tconn_write(struct tconn *c, const uint8_t *p, size_t len, int data)
{
	struct worker *w = c->w;
	struct evbuffer *out;

	if (c->closing || c->bev == NULL)
		return -1;
	out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) + len > w->snap->conf->tcp.buffer_max) {
		/* a slow reader: relayed data is dropped, not queued */
		STAT_INC(&w->stats, DROP_CLIENT_SLOW);
		if (!data)
			tconn_close(c, "output_full");
		return -1;
	}
	if (evbuffer_add(out, p, len) != 0)
		return -1;
	STAT_INC(&w->stats, TX_CLIENT_PKTS);
	STAT_ADD(&w->stats, TX_CLIENT_BYTES, len);
	return 0;
}
