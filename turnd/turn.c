/*
 * TURN method handlers (RFC 8656): Allocate (section 7.2), Refresh (8.2),
 * CreatePermission (10.2), ChannelBind (12.2), the Send indication (11.2)
 * and ChannelData from clients (12.6).  Each handler runs after the
 * request layer has authenticated the request and, where the method needs
 * one, found the allocation for the 5-tuple.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "auth.h"
#include "chandata.h"
#include "config.h"
#include "listen.h"
#include "log.h"
#include "peer.h"
#include "portpool.h"
#include "quota.h"
#include "relay.h"
#include "req.h"
#include "server.h"
#include "stun_msg.h"
#include "turn.h"
#include "worker.h"

static uint32_t lifetime_desired(const struct turnd_conf *, const struct
    stun_msg *);
static int family_of(uint8_t);
static void allocate_respond(struct req *, struct turn_alloc *,
    const uint8_t *, int, uint16_t);

/* RFC 8656 sections 7.2 and 8.2: clamp to [default, max]; 0 stays 0. */
static uint32_t
lifetime_desired(const struct turnd_conf *c, const struct stun_msg *m)
{
	uint32_t v;

	if (!STUN_HAS(m, LIFETIME))
		return c->allocation.lifetime_default_s;
	v = m->lifetime;
	if (v == 0)
		return 0;
	if (v > c->allocation.lifetime_max_s)
		v = c->allocation.lifetime_max_s;
	if (v < c->allocation.lifetime_default_s)
		v = c->allocation.lifetime_default_s;
	return v;
}

static int
family_of(uint8_t stun_family)
{
	switch (stun_family) {
	case STUN_AF_IPV4:
		return AF_INET;
	case STUN_AF_IPV6:
		return AF_INET6;
	default:
		return AF_UNSPEC;
	}
}

static void
log_alloc(const char *event, const struct turn_alloc *a, uint32_t lifetime)
{
	char cbuf[TADDR_STRLEN], rbuf[TADDR_STRLEN], r2buf[TADDR_STRLEN];
	char ubuf[LOG_QUOTE_MAX];

	log_info("event=%s id=%08x client=%s relay=%s%s%s user=%s "
	    "lifetime_s=%u", event, a->id,
	    taddr_str(&a->ep.addr, cbuf, sizeof(cbuf)),
	    taddr_str(&a->relay[0].addr, rbuf, sizeof(rbuf)),
	    a->relay[1].fd != -1 ? "," : "",
	    a->relay[1].fd != -1 ?
	    taddr_str(&a->relay[1].addr, r2buf, sizeof(r2buf)) : "",
	    log_quote(a->user, a->user_len, ubuf, sizeof(ubuf)), lifetime);
}

static void
allocate_respond(struct req *r, struct turn_alloc *a, const uint8_t *token,
    int addr_err_family, uint16_t addr_err_code)
{
	struct stun_addr sa;
	union taddr pub;
	uint32_t left = a->expires - r->w->now;

	req_success(r);
	for (int i = 0; i < 2; i++) {
		if (a->relay[i].fd == -1)
			continue;
		req_external(r->w, &a->relay[i].addr, &pub);
		taddr_to_stun(&sa, &pub);
		stun_enc_xaddr(&r->enc, STUN_ATTR_XOR_RELAYED_ADDRESS, &sa);
	}
	stun_enc_u32(&r->enc, STUN_ATTR_LIFETIME, left);
	if (token != NULL)
		stun_enc_attr(&r->enc, STUN_ATTR_RESERVATION_TOKEN, token,
		    PORTPOOL_TOKEN_LEN);
	if (addr_err_code != 0)
		stun_enc_address_error(&r->enc,
		    addr_err_family == AF_INET6 ? STUN_AF_IPV6 : STUN_AF_IPV4,
		    addr_err_code, NULL);
	req_external(r->w, &r->ep->addr, &pub);
	taddr_to_stun(&sa, &pub);
	stun_enc_xaddr(&r->enc, STUN_ATTR_XOR_MAPPED_ADDRESS, &sa);
	req_finish(r);
}

void
turn_allocate_replay(struct req *r, struct turn_alloc *a)
{
	STAT_INC(&r->w->stats, RESP_RETRANSMIT);
	allocate_respond(r, a, NULL, 0, 0);
}

void
turn_allocate(struct req *r)
{
	struct worker *w = r->w;
	const struct turnd_conf *c = w->snap->conf;
	const struct stun_msg *m = r->m;
	struct turn_alloc *a;
	uint8_t token[PORTPOOL_TOKEN_LEN];
	int has_token = STUN_HAS(m, RESERVATION_TOKEN);
	int has_even = STUN_HAS(m, EVEN_PORT);
	int has_rfam = STUN_HAS(m, REQUESTED_ADDRESS_FAMILY);
	int has_afam = STUN_HAS(m, ADDITIONAL_ADDRESS_FAMILY);
	int family = AF_INET, flags = 0, rc, qrc, err_family = 0;
	uint16_t err_code = 0;
	uint32_t lifetime;

	/* 2: one allocation per 5-tuple; a retransmission gets its answer */
	if (r->a != NULL) {
		if (memcmp(r->a->txid, m->txid, STUN_TXID_LEN) == 0)
			turn_allocate_replay(r, r->a);
		else
			req_error(r, STUN_ERR_ALLOCATION_MISMATCH);
		return;
	}
	if (auth_expired(&r->auth, (int64_t)time(NULL))) {
		char cbuf[TADDR_STRLEN], ubuf[LOG_QUOTE_MAX];

		STAT_INC(&w->stats, AUTH_FAIL_EXPIRED);
		log_info("event=auth_failed client=%s method=allocate "
		    "reason=expired user=%s code=401",
		    taddr_str(&r->ep->addr, cbuf, sizeof(cbuf)),
		    log_quote(r->auth.user, r->auth.user_len, ubuf,
		    sizeof(ubuf)));
		r->authed = 0;
		req_error(r, STUN_ERR_UNAUTHORIZED);
		return;
	}
	if (atomic_load(&w->srv->draining)) {
		req_error(r, STUN_ERR_INSUFFICIENT_CAPACITY);
		return;
	}
	/* 3 */
	if (!STUN_HAS(m, REQUESTED_TRANSPORT)) {
		req_error(r, STUN_ERR_BAD_REQUEST);
		return;
	}
	if (m->transport == STUN_PROTO_TCP) {
		/*
		 * RFC 6062 section 5.1: only on a TCP or TLS connection, and
		 * without the UDP-only attributes.
		 */
		if (r->ep->conn == NULL || STUN_HAS(m, DONT_FRAGMENT) ||
		    STUN_HAS(m, EVEN_PORT) || STUN_HAS(m, RESERVATION_TOKEN) ||
		    STUN_HAS(m, ADDITIONAL_ADDRESS_FAMILY)) {
			req_error(r, STUN_ERR_BAD_REQUEST);
			return;
		}
		flags |= RELAY_F_TCP;
	} else if (m->transport != STUN_PROTO_UDP) {
		req_error(r, STUN_ERR_UNSUPPORTED_TRANSPORT);
		return;
	}
	/* 4: DONT-FRAGMENT is supported, so it is simply honoured */
	if (STUN_HAS(m, DONT_FRAGMENT))
		flags |= RELAY_F_DF;
	/* 5, 6, 8, 9: combinations the RFC forbids */
	if ((has_token && (has_even || has_rfam || has_afam)) ||
	    (has_rfam && has_afam) ||
	    (has_even && m->even_port_r && has_afam) ||
	    (has_afam && m->add_family != STUN_AF_IPV6)) {
		req_error(r, STUN_ERR_BAD_REQUEST);
		return;
	}
	/* 7 */
	if (has_rfam) {
		family = family_of(m->req_family);
		if (family == AF_UNSPEC ||
		    server_pool(w->srv, family) == NULL) {
			req_error(r, STUN_ERR_ADDRESS_FAMILY);
			return;
		}
	}
	if (has_even)
		flags |= m->even_port_r ? RELAY_F_RESERVE : RELAY_F_EVEN;
	/* 10: quota by user, not by transport address */
	qrc = quota_take(w->srv->quota, r->auth.user + r->auth.quota_off,
	    r->auth.user_len - r->auth.quota_off,
	    c->quotas.allocations_per_user, c->quotas.allocations_total);
	if (qrc != QUOTA_OK) {
		req_error(r, qrc == QUOTA_NOMEM ? STUN_ERR_SERVER_ERROR :
		    STUN_ERR_ALLOCATION_QUOTA);
		return;
	}
	a = alloc_new(w, r->ep, r->transport);
	if (a == NULL || (a->user = strdup(r->auth.user)) == NULL) {
		if (a != NULL)
			alloc_free(w, a); /* no user yet: puts no quota */
		quota_put(w->srv->quota, r->auth.user + r->auth.quota_off,
		    r->auth.user_len - r->auth.quota_off);
		req_error(r, STUN_ERR_SERVER_ERROR);
		return;
	}
	a->user_len = r->auth.user_len;
	a->quota_off = r->auth.quota_off;
	if (r->ep->conn != NULL)
		r->ep->conn->a = a; /* the allocation dies with it */
	memcpy(a->txid, m->txid, STUN_TXID_LEN);
	a->tcp = (flags & RELAY_F_TCP) != 0;

	if (has_token)
		rc = relay_claim(w, a, &a->relay[0], m->reservation_token,
		    flags);
	else
		rc = relay_open(w, a, &a->relay[0], family, flags, token);
	if (rc != 0) {
		alloc_free(w, a);
		req_error(r, (uint16_t)rc);
		return;
	}
	if (has_afam) {
		/* dual allocation: a missing IPv6 relay is reported, not fatal */
		rc = relay_open(w, a, &a->relay[1], AF_INET6,
		    flags & RELAY_F_DF, NULL);
		if (rc != 0) {
			err_family = AF_INET6;
			err_code = (uint16_t)rc;
		}
	}
	lifetime = lifetime_desired(c, m);
	if (lifetime == 0)
		lifetime = c->allocation.lifetime_default_s;
	a->expires = w->now + lifetime;
	a->counted = 1;
	alloc_gauges(w, a, 1);
	STAT_INC(&w->stats, ALLOC_CREATED);
	log_alloc("alloc_created", a, lifetime);
	allocate_respond(r, a, (flags & RELAY_F_RESERVE) ? token : NULL,
	    err_family, err_code);
}

void
turn_refresh(struct req *r)
{
	struct worker *w = r->w;
	const struct stun_msg *m = r->m;
	struct turn_alloc *a = r->a;
	uint32_t lifetime;

	if (STUN_HAS(m, REQUESTED_ADDRESS_FAMILY) &&
	    (family_of(m->req_family) == AF_UNSPEC ||
	    alloc_relay(a, family_of(m->req_family)) == NULL)) {
		req_error(r, STUN_ERR_PEER_ADDRESS_FAMILY);
		return;
	}
	lifetime = lifetime_desired(w->snap->conf, m);
	if (lifetime == 0) {
		STAT_INC(&w->stats, ALLOC_DELETED);
		/* the response still needs the key: it lives in r->auth */
		alloc_end(w, a, "alloc_deleted");
		r->a = NULL;
	} else
		a->expires = w->now + lifetime;
	req_success(r);
	stun_enc_u32(&r->enc, STUN_ATTR_LIFETIME, lifetime);
	req_finish(r);
}

int
turn_peer_check(struct worker *w, const union taddr *peer)
{
	int why = peer_check(w->snap->peers, peer, 1);
	struct portpool *pool;

	if (why != PEER_OK || w->snap->conf->peers.relay_to_relay)
		return why;
	pool = server_pool(w->srv, peer->sa.sa_family);
	if (pool != NULL && peer_is_own(w->snap->peers, peer) &&
	    portpool_has(pool, taddr_port(peer)))
		return PEER_DENY_RELAY;
	return PEER_OK;
}

/* A peer in a request: same family as a relay of the allocation, allowed. */
static uint16_t
peer_verdict(struct req *r, const struct stun_addr *sa, union taddr *peer,
    int check_port)
{
	int why;
	char pbuf[TADDR_STRLEN], ubuf[LOG_QUOTE_MAX];

	taddr_from_stun(peer, sa);
	if (alloc_relay(r->a, peer->sa.sa_family) == NULL)
		return STUN_ERR_PEER_ADDRESS_FAMILY;
	why = check_port ? turn_peer_check(r->w, peer) :
	    peer_check(r->w->snap->peers, peer, 0);
	if (why != PEER_OK) {
		STAT_INC(&r->w->stats, DROP_POLICY);
		log_info("event=peer_denied id=%08x user=%s peer=%s reason=%s",
		    r->a->id, log_quote(r->a->user, r->a->user_len, ubuf,
		    sizeof(ubuf)), taddr_str(peer, pbuf, sizeof(pbuf)),
		    peer_reason(why));
		return STUN_ERR_FORBIDDEN;
	}
	return 0;
}

void
turn_create_permission(struct req *r)
{
	struct worker *w = r->w;
	const struct stun_msg *m = r->m;
	union taddr peers[STUN_MAX_PEERS];
	uint16_t code;

	if (m->n_peer == 0) {
		req_error(r, STUN_ERR_BAD_REQUEST);
		return;
	}
	/* all or nothing: check every peer before installing any */
	for (uint8_t i = 0; i < m->n_peer; i++) {
		code = peer_verdict(r, &m->peer[i], &peers[i], 0);
		if (code != 0) {
			req_error(r, code);
			return;
		}
	}
	for (uint8_t i = 0; i < m->n_peer; i++) {
		if (perm_install(r->a, &peers[i], w->now,
		    w->snap->conf->allocation.permissions_max) != 0) {
			req_error(r, STUN_ERR_INSUFFICIENT_CAPACITY);
			return;
		}
		STAT_INC(&w->stats, PERM_CREATED);
	}
	req_success(r);
	req_finish(r);
}

void
turn_channel_bind(struct req *r)
{
	struct worker *w = r->w;
	const struct turnd_conf *c = w->snap->conf;
	const struct stun_msg *m = r->m;
	union taddr peer;
	char pbuf[TADDR_STRLEN];
	uint16_t code;
	int rc;

	if (r->a->tcp || !STUN_HAS(m, CHANNEL_NUMBER) || m->n_peer == 0 ||
	    !chandata_valid_channel(m->channel,
	    c->relay.legacy_channel_numbers)) {
		req_error(r, STUN_ERR_BAD_REQUEST);
		return;
	}
	code = peer_verdict(r, &m->peer[0], &peer, 1);
	if (code != 0) {
		req_error(r, code);
		return;
	}
	rc = chan_bind(r->a, m->channel, &peer, w->now,
	    c->allocation.channels_max);
	if (rc != CHAN_OK) {
		req_error(r, rc == CHAN_CONFLICT ? STUN_ERR_BAD_REQUEST :
		    STUN_ERR_INSUFFICIENT_CAPACITY);
		return;
	}
	if (perm_install(r->a, &peer, w->now,
	    c->allocation.permissions_max) != 0) {
		req_error(r, STUN_ERR_INSUFFICIENT_CAPACITY);
		return;
	}
	STAT_INC(&w->stats, CHAN_BOUND);
	log_debug("event=channel_bound id=%08x channel=0x%04x peer=%s",
	    r->a->id, m->channel, taddr_str(&peer, pbuf, sizeof(pbuf)));
	req_success(r);
	req_finish(r);
}

void
turn_send_indication(struct worker *w, const struct client_ep *ep,
    const struct stun_msg *m, int flags)
{
	struct turn_alloc *a = alloc_find(w->allocs, ep);
	struct relay *rl;
	union taddr peer;

	if (a == NULL) {
		STAT_INC(&w->stats, DROP_NO_ALLOC);
		return;
	}
	if (m->n_unknown > 0) {
		STAT_INC(&w->stats, DROP_UNKNOWN_ATTR);
		return;
	}
	if (a->tcp) {
		/* RFC 6062: data of a TCP allocation goes over data connections */
		STAT_INC(&w->stats, DROP_BAD_INDICATION);
		return;
	}
	if (m->n_peer == 0 || !STUN_HAS(m, DATA)) {
		STAT_INC(&w->stats, DROP_BAD_INDICATION);
		return;
	}
	taddr_from_stun(&peer, &m->peer[0]);
	rl = alloc_relay(a, peer.sa.sa_family);
	if (rl == NULL || !perm_check(a, &peer, w->now)) {
		STAT_INC(&w->stats, DROP_NO_PERM);
		return;
	}
	/* the permission passed the policy on the address; ports too here */
	if (turn_peer_check(w, &peer) != PEER_OK) {
		STAT_INC(&w->stats, DROP_POLICY);
		return;
	}
	/* DATA borrows the datagram; in a slot it may be queued in place */
	relay_send(w, rl, &peer, (uint8_t *)(uintptr_t)m->data.p, m->data.len,
	    (flags & REQ_F_INSLOT) != 0, STUN_HAS(m, DONT_FRAGMENT));
}

void
turn_chandata(struct worker *w, const struct client_ep *ep, uint8_t *buf,
    size_t len, int flags)
{
	const struct turnd_conf *c = w->snap->conf;
	struct turn_alloc *a;
	struct turn_chan *ch;
	struct chandata cd;
	struct relay *rl;
	int cflags = 0;

	if (c->relay.legacy_channel_numbers)
		cflags |= CHANDATA_F_LEGACY;
	if (chandata_decode(&cd, buf, len, cflags) != 0) {
		STAT_INC(&w->stats, DROP_MALFORMED);
		return;
	}
	a = alloc_find(w->allocs, ep);
	if (a == NULL) {
		STAT_INC(&w->stats, DROP_NO_ALLOC);
		return;
	}
	ch = chan_by_num(a, cd.chan, w->now);
	if (ch == NULL) {
		STAT_INC(&w->stats, DROP_NO_CHANNEL);
		return;
	}
	if (!perm_check(a, &ch->peer, w->now)) {
		STAT_INC(&w->stats, DROP_NO_PERM);
		return;
	}
	rl = alloc_relay(a, ch->peer.sa.sa_family);
	if (rl == NULL) {
		STAT_INC(&w->stats, DROP_NO_PERM);
		return;
	}
	relay_send(w, rl, &ch->peer, (uint8_t *)(uintptr_t)cd.data, cd.len,
	    (flags & REQ_F_INSLOT) != 0, 0);
}
