/*
 * UDP listeners: one socket per configured address and port per worker,
 * SO_REUSEPORT so that the kernel spreads clients over workers by
 * 5-tuple and keeps each client on one worker.  Each wake-up drains up to
 * a few batches with recvmmsg and hands every datagram to the request
 * layer.  Also the client-facing send functions.
 */
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "listen.h"
#include "log.h"
#include "req.h"
#include "stun_enc.h"
#include "worker.h"

#define LISTEN_ROUNDS 4 /* batches per wake-up before yielding */

static void listener_udp_cb(evutil_socket_t, short, void *);

struct listener *
listener_udp_new(struct worker *w, const union taddr *addr,
    const struct turnd_conf *c)
{
	struct listener *l;
	char buf[TADDR_STRLEN];
	int on = 1, fam = addr->sa.sa_family;

	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->w = w;
	l->transport = CONF_T_UDP;
	l->addr = *addr;
	l->wildcard = taddr_is_any(addr);
	l->fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd == -1)
		goto fail;
	if (setsockopt(l->fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) ||
	    (fam == AF_INET6 && setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY,
	    &on, sizeof(on))))
		goto fail;
	if (l->wildcard && (fam == AF_INET ?
	    setsockopt(l->fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) :
	    setsockopt(l->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
	    sizeof(on))))
		goto fail;
	if (c->udp.rcvbuf > 0)
		(void)setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &c->udp.rcvbuf,
		    sizeof(c->udp.rcvbuf));
	if (c->udp.sndbuf > 0)
		(void)setsockopt(l->fd, SOL_SOCKET, SO_SNDBUF, &c->udp.sndbuf,
		    sizeof(c->udp.sndbuf));
	if (bind(l->fd, &addr->sa, taddr_len(addr)) == -1)
		goto fail;
	l->ev = event_new(w->base, l->fd, EV_READ | EV_PERSIST,
	    listener_udp_cb, l);
	if (l->ev == NULL || event_add(l->ev, NULL) != 0)
		goto fail;
	if (w->id == 0)
		log_info("event=listening transport=udp address=%s",
		    taddr_str(addr, buf, sizeof(buf)));
	return l;
fail:
	log_warn("event=listen_failed transport=udp address=%s",
	    taddr_str(addr, buf, sizeof(buf)));
	listener_free(l);
	return NULL;
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->ev != NULL)
		event_free(l->ev);
	if (l->pause != NULL)
		event_free(l->pause);
	if (l->fd != -1)
		close(l->fd);
	free(l);
}

static void
listener_udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;
	struct worker *w = l->w;
	struct client_ep ep;
	size_t n;

	worker_clock(w);
	memset(&ep, 0, sizeof(ep));
	ep.l = l;
	/* a few first; the full batch only when the socket has more */
	for (size_t round = 0, batch = 8; round < LISTEN_ROUNDS;
	    round++, batch = IO_BATCH) {
		n = io_recv(w, l->fd, l->wildcard, batch);
		for (size_t i = 0; i < n; i++) {
			struct io_pkt *p = &w->io.rx[i];

			STAT_INC(&w->stats, RX_CLIENT_PKTS);
			STAT_ADD(&w->stats, RX_CLIENT_BYTES, p->len);
			if (p->truncated) {
				STAT_INC(&w->stats, DROP_TRUNCATED);
				continue;
			}
			ep.addr = p->from;
			if (l->wildcard) {
				ep.local = p->local;
				taddr_set_port(&ep.local,
				    taddr_port(&l->addr));
			} else
				ep.local = l->addr;
			req_input(w, &ep, CONF_T_UDP, p->data, p->len,
			    REQ_F_INSLOT);
		}
		if (n < batch)
			break;
	}
}

void
client_send(struct worker *w, const struct client_ep *ep, const uint8_t *p,
    size_t len)
{
	if (ep->l != NULL) {
		if (io_send_now(w, ep->l->fd, &ep->addr,
		    ep->l->wildcard ? &ep->local : NULL, p, len) == 0) {
			STAT_INC(&w->stats, TX_CLIENT_PKTS);
			STAT_ADD(&w->stats, TX_CLIENT_BYTES, len);
		}
		return;
	}
	if (ep->conn != NULL)
		(void)tconn_write(ep->conn, p, len, 0);
}

void
client_send_data(struct worker *w, const struct client_ep *ep, uint8_t *p,
    size_t len)
{
	if (ep->l != NULL) {
		io_queue(w, ep->l->fd, &ep->addr,
		    ep->l->wildcard ? &ep->local : NULL, p, len);
		STAT_INC(&w->stats, TX_CLIENT_PKTS);
		STAT_ADD(&w->stats, TX_CLIENT_BYTES, len);
		return;
	}
	if (ep->conn != NULL) {
		/* RFC 8656 section 12.5: ChannelData is padded on streams */
		if ((p[0] & 0xc0) == 0x40) {
			size_t padded = stun_pad(len);

			memset(p + len, 0, padded - len);
			len = padded;
		}
		(void)tconn_write(ep->conn, p, len, 1);
	}
}
