/*
 * The request layer (RFC 8489 sections 6.3 and 9.2.4, RFC 8656 section
 * 5): demultiplexing STUN from ChannelData, decoding, the retransmission
 * cache, the method table, long-term authentication, the 5-tuple and
 * username checks, unknown attributes, and building responses.  Binding
 * is answered here; TURN methods go to turn.c.
 */
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "auth.h"
#include "config.h"
#include "listen.h"
#include "log.h"
#include "nonce.h"
#include "ratelimit.h"
#include "req.h"
#include "server.h"
#include "stun_hdr.h"
#include "stun_integrity.h"
#include "stun_msg.h"
#include "tcprelay.h"
#include "turn.h"
#include "txcache.h"
#include "worker.h"

/*
 * Wrong credentials one username may draw per second (burst: per 20); past
 * that, requests for it go unanswered and unchecked for a while, which
 * slows a password search without a table that grows.
 */
#define BADPASS_RATE 5
#define BADPASS_BURST 20

#define M_AUTH 0x01	 /* long-term credentials required */
#define M_NEEDALLOC 0x02 /* an allocation must exist for the 5-tuple */

static void req_binding(struct req *);

static const struct method {
	uint16_t method;
	const char *name;
	int flags;
	void (*handler)(struct req *);
} methods[] = {
	{ STUN_METHOD_BINDING, "binding", 0, req_binding },
	{ STUN_METHOD_ALLOCATE, "allocate", M_AUTH, turn_allocate },
	{ STUN_METHOD_REFRESH, "refresh", M_AUTH | M_NEEDALLOC, turn_refresh },
	{ STUN_METHOD_CREATE_PERMISSION, "create_permission",
	    M_AUTH | M_NEEDALLOC, turn_create_permission },
	{ STUN_METHOD_CHANNEL_BIND, "channel_bind", M_AUTH | M_NEEDALLOC,
	    turn_channel_bind },
	{ STUN_METHOD_CONNECT, "connect", M_AUTH | M_NEEDALLOC,
	    tcprelay_connect },
	{ STUN_METHOD_CONNECTION_BIND, "connection_bind", M_AUTH,
	    tcprelay_bind },
};

static void stun_input(struct worker *, const struct client_ep *, int,
    const uint8_t *, size_t, int);
static void request_input(struct worker *, const struct client_ep *, int,
    const struct stun_msg *);

void
req_input(struct worker *w, const struct client_ep *ep, int transport,
    uint8_t *buf, size_t len, int flags)
{
	if (len >= 4 && (buf[0] & 0xc0) == 0x40) {
		turn_chandata(w, ep, buf, len, flags);
		return;
	}
	if (len >= STUN_HDR_LEN && (buf[0] & 0xc0) == 0) {
		stun_input(w, ep, transport, buf, len, flags);
		return;
	}
	STAT_INC(&w->stats, DROP_NOT_STUN);
}

static void
stun_input(struct worker *w, const struct client_ep *ep, int transport,
    const uint8_t *buf, size_t len, int flags)
{
	struct stun_msg m;
	struct stun_hdr h;
	int err;

	err = stun_msg_decode(&m, buf, len);
	if (err != 0) {
		/*
		 * A request whose header holds but whose attributes do not
		 * gets 400; anything else that fails to decode (a wrong
		 * FINGERPRINT says it was never STUN) is dropped.
		 */
		if (err != STUN_EFINGERPRINT &&
		    stun_hdr_decode(&h, buf, len) == 0 &&
		    h.cls == STUN_CLASS_REQUEST) {
			struct req r;

			memset(&r, 0, sizeof(r));
			r.w = w;
			r.ep = ep;
			r.transport = transport;
			memset(&m, 0, sizeof(m));
			m.type = h.type;
			m.method = h.method;
			m.cls = h.cls;
			memcpy(m.txid, h.txid, STUN_TXID_LEN);
			r.m = &m;
			STAT_INC(&w->stats, REQUESTS);
			log_debug("event=bad_request error=%s",
			    stun_strerror(err));
			req_error(&r, STUN_ERR_BAD_REQUEST);
		} else
			STAT_INC(&w->stats, DROP_MALFORMED);
		return;
	}
	switch (m.cls) {
	case STUN_CLASS_REQUEST:
		STAT_INC(&w->stats, REQUESTS);
		request_input(w, ep, transport, &m);
		break;
	case STUN_CLASS_INDICATION:
		STAT_INC(&w->stats, INDICATIONS);
		if (m.method == STUN_METHOD_SEND)
			turn_send_indication(w, ep, &m, flags);
		else
			STAT_INC(&w->stats, DROP_BAD_INDICATION);
		break;
	default:
		STAT_INC(&w->stats, DROP_RESPONSE);
		break;
	}
}

static void
auth_count(struct worker *w, int reason)
{
	switch (reason) {
	case AUTH_R_NO_CREDS:
		STAT_INC(&w->stats, AUTH_FAIL_NO_CREDS);
		break;
	case AUTH_R_BAD_REQUEST:
		STAT_INC(&w->stats, AUTH_FAIL_BAD_REQUEST);
		break;
	case AUTH_R_STALE_NONCE:
		STAT_INC(&w->stats, AUTH_FAIL_STALE_NONCE);
		break;
	case AUTH_R_REALM:
		STAT_INC(&w->stats, AUTH_FAIL_REALM);
		break;
	case AUTH_R_UNKNOWN_USER:
		STAT_INC(&w->stats, AUTH_FAIL_UNKNOWN_USER);
		break;
	case AUTH_R_BAD_MI:
		STAT_INC(&w->stats, AUTH_FAIL_BAD_MI);
		break;
	}
}

static void
request_input(struct worker *w, const struct client_ep *ep, int transport,
    const struct stun_msg *m)
{
	const struct turnd_conf *c = w->snap->conf;
	const struct method *me = NULL;
	const uint8_t *cached;
	struct req r;
	size_t clen;

	cached = txcache_get(w->txc, ep, m->txid, &clen, w->now);
	if (cached != NULL) {
		STAT_INC(&w->stats, RESP_RETRANSMIT);
		client_send(w, ep, cached, clen);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.w = w;
	r.ep = ep;
	r.transport = transport;
	r.m = m;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].method == m->method)
			me = &methods[i];
	if (me == NULL || (c->stun_only && me->flags & M_AUTH)) {
		req_error(&r, STUN_ERR_BAD_REQUEST);
		return;
	}
	if (c->no_stun && me->method == STUN_METHOD_BINDING) {
		STAT_INC(&w->stats, DROP_BAD_INDICATION);
		return;
	}
	r.a = alloc_find(w->allocs, ep);
	if (me->flags & M_AUTH) {
		int named = STUN_HAS(m, USERNAME);

		/*
		 * A named request holds a token of its username's budget
		 * while it is checked (so that workers checking guesses at
		 * the same moment cannot overdraw it) and gives it back
		 * unless it was a wrong password or an unknown user.
		 */
		if (named && !ratelimit_take(w->srv->badpass, m->username.p,
		    m->username.len, BADPASS_RATE, BADPASS_BURST, w->now_ms)) {
			STAT_INC(&w->stats, AUTH_THROTTLED);
			return;
		}
		auth_check(w->snap->auth, &w->srv->nonce, m, &ep->addr,
		    transport, w->now, &r.auth);
		if (named && r.auth.reason != AUTH_R_BAD_MI &&
		    r.auth.reason != AUTH_R_UNKNOWN_USER)
			ratelimit_give(w->srv->badpass, m->username.p,
			    m->username.len, BADPASS_RATE, BADPASS_BURST,
			    w->now_ms);
		if (r.auth.code != 0) {
			char cbuf[TADDR_STRLEN], ubuf[LOG_QUOTE_MAX];

			auth_count(w, r.auth.reason);
			/* the first 401 of a dance is normal, not news */
			if (r.auth.reason != AUTH_R_NO_CREDS)
				log_info("event=auth_failed client=%s "
				    "method=%s reason=%s user=%s code=%u",
				    taddr_str(&ep->addr, cbuf, sizeof(cbuf)),
				    me->name, auth_reason(r.auth.reason),
				    r.auth.user_len ? log_quote(r.auth.user,
				    r.auth.user_len, ubuf, sizeof(ubuf)) : "-",
				    r.auth.code);
			req_error(&r, r.auth.code);
			return;
		}
		r.authed = 1;
		if ((me->flags & M_NEEDALLOC) && r.a == NULL) {
			req_error(&r, STUN_ERR_ALLOCATION_MISMATCH);
			return;
		}
		if ((me->flags & M_NEEDALLOC) &&
		    (r.a->user_len != r.auth.user_len ||
		    memcmp(r.a->user, r.auth.user, r.auth.user_len) != 0)) {
			STAT_INC(&w->stats, AUTH_FAIL_WRONG_USER);
			req_error(&r, STUN_ERR_WRONG_CREDENTIALS);
			return;
		}
	}
	if (m->n_unknown > 0) {
		req_error_begin(&r, STUN_ERR_UNKNOWN_ATTRIBUTE);
		stun_enc_unknown(&r.enc, m->unknown, m->n_unknown);
		req_finish(&r);
		return;
	}
	me->handler(&r);
}

void
req_external(const struct worker *w, const union taddr *local,
    union taddr *out)
{
	const struct turnd_conf *c = w->snap->conf;

	*out = *local;
	for (size_t i = 0; i < c->relay.n_external; i++) {
		const struct conf_external *x = &c->relay.external[i];

		if (x->public_addr.sa.sa_family != local->sa.sa_family)
			continue;
		if (x->private_addr.sa.sa_family == AF_UNSPEC ||
		    taddr_eq_ip(&x->private_addr, local)) {
			*out = x->public_addr;
			taddr_set_port(out, taddr_port(local));
			return;
		}
	}
}

/* RFC 8489 section 7.3: XOR-MAPPED-ADDRESS, nothing checked. */
static void
req_binding(struct req *r)
{
	struct stun_addr sa;
	union taddr mapped;

	req_external(r->w, &r->ep->addr, &mapped);
	taddr_to_stun(&sa, &mapped);
	req_success(r);
	stun_enc_xaddr(&r->enc, STUN_ATTR_XOR_MAPPED_ADDRESS, &sa);
	req_finish(r);
}

void
req_success(struct req *r)
{
	stun_enc_init(&r->enc, r->out, sizeof(r->out),
	    stun_type(r->m->method, STUN_CLASS_SUCCESS), r->m->txid);
}

void
req_error_begin(struct req *r, uint16_t code)
{
	stun_enc_init(&r->enc, r->out, sizeof(r->out),
	    stun_type(r->m->method, STUN_CLASS_ERROR), r->m->txid);
	stun_enc_error(&r->enc, code, NULL);
	r->is_error = 1;
	stats_err(&r->w->stats, code);
}

void
req_error(struct req *r, uint16_t code)
{
	struct worker *w = r->w;

	req_error_begin(r, code);
	if (code == STUN_ERR_UNAUTHORIZED || code == STUN_ERR_STALE_NONCE) {
		const struct turnd_conf *c = w->snap->conf;
		char nonce[NONCE_LEN + 1];
		uint16_t algs[4];
		size_t n;

		stun_enc_str(&r->enc, STUN_ATTR_REALM, auth_realm(w->snap->auth));
		nonce_make(&w->srv->nonce, w->now + c->auth.nonce_lifetime_s,
		    &r->ep->addr, r->transport, nonce);
		stun_enc_str(&r->enc, STUN_ATTR_NONCE, nonce);
		n = auth_pwalgs(algs, 4);
		stun_enc_pwalgs(&r->enc, algs, n);
	}
	req_finish(r);
}

/* One budget per source address, shared by the workers. */
static int
unauth_allowed(struct worker *w, const union taddr *from)
{
	uint32_t rate = w->snap->conf->quotas.unauth_per_source;
	struct stun_addr sa;

	if (rate == 0)
		return 1;
	taddr_to_stun(&sa, from);
	return ratelimit_take(w->srv->unauth, sa.ip,
	    sa.family == STUN_AF_IPV6 ? 16 : 4, rate, rate, w->now_ms);
}

void
req_finish(struct req *r)
{
	struct worker *w = r->w;
	const struct turnd_conf *c = w->snap->conf;
	int len;

	/*
	 * Answers to unauthenticated requests are what a spoofed source could
	 * aim at a victim: a token bucket per source IP bounds them.
	 */
	if (!r->authed && !unauth_allowed(w, &r->ep->addr)) {
		STAT_INC(&w->stats, DROP_RATE_LIMITED);
		return;
	}
	/*
	 * SOFTWARE goes in successes and authenticated errors only: an
	 * unauthenticated error stays small, so that it amplifies little.
	 */
	if (c->software != NULL && c->software[0] != '\0' &&
	    (!r->is_error || r->authed))
		stun_enc_str(&r->enc, STUN_ATTR_SOFTWARE, c->software);
	if (r->authed) {
		if (r->auth.which == STUN_INTEGRITY_SHA256)
			stun_enc_integrity_sha256(&r->enc, r->auth.key,
			    r->auth.keylen);
		else
			stun_enc_integrity(&r->enc, r->auth.key,
			    r->auth.keylen);
	}
	if (STUN_HAS(r->m, FINGERPRINT))
		stun_enc_fingerprint(&r->enc);
	len = stun_enc_finish(&r->enc);
	if (len < 0) {
		log_warnx("event=encode_failed method=%u error=%s",
		    r->m->method, stun_strerror(len));
		return;
	}
	if (!r->is_error)
		STAT_INC(&w->stats, RESP_SUCCESS);
	if (r->authed)
		txcache_put(w->txc, r->ep, r->m->txid, r->out, (size_t)len,
		    w->now);
	client_send(w, r->ep, r->out, (size_t)len);
}
