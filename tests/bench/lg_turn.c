/*
 * The load generator's control path: one small state machine per
 * allocation that runs the long-term credential dance (RFC 8489 section
 * 9.2: an Allocate without credentials, the 401 with REALM and NONCE, the
 * Allocate again with MESSAGE-INTEGRITY), then ChannelBind or
 * CreatePermission (RFC 8656 sections 12.2 and 10.2), or a Refresh with
 * LIFETIME 0 (section 8.2) to delete.  438 Stale Nonce is answered with the
 * new nonce.  Requests are retransmitted on a doubling timer.  Against the
 * bare forwarder the same machine runs its static handshake instead.
 *
 * Responses are decoded by proto/ but their integrity is not checked: the
 * generator measures the server, it does not test it.
 */
#include <arpa/inet.h>
#include <string.h>

#include "lg.h"
#include "stun_enc.h"
#include "stun_hdr.h"
#include "stun_integrity.h"
#include "stun_msg.h"

#define RTO_NS 200000000LL /* first retransmission after 200 ms */
#define TRIES 6
#define STALE_MAX 3

static uint64_t rnd(struct lg *);
static void build(struct lg *, struct lg_alloc *, uint16_t, int);
static void fwd_build(struct lg *, struct lg_alloc *, uint32_t);
static void step(struct lg *, struct lg_alloc *, int, int64_t);
static void settle(struct lg *, struct lg_alloc *, int, int64_t);

#define B_AUTH 0x01
#define B_LIFETIME0 0x02

static uint64_t
rnd(struct lg *lg)
{
	uint64_t s1 = lg->rng[0];
	const uint64_t s0 = lg->rng[1];

	lg->rng[0] = s0;
	s1 ^= s1 << 23;
	lg->rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
	return lg->rng[1] + s0;
}

void
lg_turn_init(struct lg *lg)
{
	int n = stun_key_long_term(STUN_PWALG_MD5, lg->user, strlen(lg->user),
	    lg->realm, lg->realm_len, lg->pass, strlen(lg->pass), lg->key);

	lg->keylen = n > 0 ? (size_t)n : 0;
}

const char *
lg_state_name(int state)
{
	static const char *const names[] = { "idle", "allocate-401",
		"allocate", "bind", "ready", "delete", "done", "failed",
		"fwd-bind", "fwd-delete", "probe" };

	if (state < 0 || (size_t)state >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[state];
}

static void
stun_peer(const struct sockaddr_in *sin, struct stun_addr *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->family = STUN_AF_IPV4;
	sa->port = ntohs(sin->sin_port);
	memcpy(sa->ip, &sin->sin_addr, 4);
}

/* Encodes the request of a's state into a->req with a fresh txid. */
static void
build(struct lg *lg, struct lg_alloc *a, uint16_t method, int flags)
{
	struct stun_enc e;
	struct stun_addr peer;
	uint64_t r1 = rnd(lg), r2 = rnd(lg);
	int n;

	memcpy(a->txid, &r1, 8);
	memcpy(a->txid + 8, &r2, 4);
	stun_enc_init(&e, a->req, LG_REQ_MAX,
	    stun_type(method, STUN_CLASS_REQUEST), a->txid);
	switch (method) {
	case STUN_METHOD_ALLOCATE:
		stun_enc_u8pad(&e, STUN_ATTR_REQUESTED_TRANSPORT,
		    STUN_PROTO_UDP);
		if (lg->lifetime_s != 0)
			stun_enc_u32(&e, STUN_ATTR_LIFETIME, lg->lifetime_s);
		break;
	case STUN_METHOD_REFRESH:
		stun_enc_u32(&e, STUN_ATTR_LIFETIME,
		    (flags & B_LIFETIME0) ? 0 : lg->lifetime_s);
		break;
	case STUN_METHOD_CHANNEL_BIND:
		stun_enc_u16pad(&e, STUN_ATTR_CHANNEL_NUMBER, a->chan);
		stun_peer(&lg->peer, &peer);
		stun_enc_xaddr(&e, STUN_ATTR_XOR_PEER_ADDRESS, &peer);
		break;
	case STUN_METHOD_CREATE_PERMISSION:
		stun_peer(&lg->peer, &peer);
		stun_enc_xaddr(&e, STUN_ATTR_XOR_PEER_ADDRESS, &peer);
		break;
	}
	if (flags & B_AUTH) {
		stun_enc_attr(&e, STUN_ATTR_USERNAME, lg->user,
		    strlen(lg->user));
		stun_enc_attr(&e, STUN_ATTR_REALM, lg->realm, lg->realm_len);
		stun_enc_attr(&e, STUN_ATTR_NONCE, a->nonce, a->nonce_len);
		stun_enc_integrity(&e, lg->key, lg->keylen);
	}
	n = stun_enc_finish(&e);
	a->req_len = n > 0 ? (uint16_t)n : 0;
}

static void
fwd_build(struct lg *lg, struct lg_alloc *a, uint32_t type)
{
	uint32_t t = htonl(type);
	uint16_t chan = htons(a->chan);

	memset(a->req, 0, FWD_MSG_LEN);
	memcpy(a->req, &t, 4);
	memcpy(a->req + 4, &chan, 2);
	memcpy(a->req + 6, &lg->peer.sin_port, 2);
	memcpy(a->req + 8, &lg->peer.sin_addr, 4);
	a->req_len = FWD_MSG_LEN;
}

void
lg_turn_send(struct lg *lg, struct lg_alloc *a)
{
	if (a->req_len > 0)
		lg_sendto(lg, a, a->req, a->req_len);
}

/* Moves a to state, builds that state's request and sends it. */
static void
step(struct lg *lg, struct lg_alloc *a, int state, int64_t now)
{
	a->state = (uint8_t)state;
	a->tries = 1;
	a->rto_ns = RTO_NS;
	a->deadline_ns = now + RTO_NS;
	switch (state) {
	case ST_ALLOC_NOAUTH:
		build(lg, a, STUN_METHOD_ALLOCATE, 0);
		break;
	case ST_ALLOC_AUTH:
		build(lg, a, STUN_METHOD_ALLOCATE, B_AUTH);
		break;
	case ST_BIND:
		if (lg->indications)
			build(lg, a, STUN_METHOD_CREATE_PERMISSION, B_AUTH);
		else
			build(lg, a, STUN_METHOD_CHANNEL_BIND, B_AUTH);
		break;
	case ST_DEALLOC:
		build(lg, a, STUN_METHOD_REFRESH, B_AUTH | B_LIFETIME0);
		break;
	case ST_FWD_BIND:
		fwd_build(lg, a, FWD_HELLO);
		break;
	case ST_FWD_DEL:
		fwd_build(lg, a, FWD_DEL);
		break;
	case ST_PROBE:
		if (lg->forwarder)
			fwd_build(lg, a, FWD_PING);
		else
			build(lg, a, STUN_METHOD_BINDING, 0);
		break;
	}
	lg_turn_send(lg, a);
}

static void
settle(struct lg *lg, struct lg_alloc *a, int state, int64_t now)
{
	a->state = (uint8_t)state;
	a->deadline_ns = 0;
	lg->pending--;
	switch (state) {
	case ST_READY:
		lg->n_ready++;
		break;
	case ST_DONE:
		lg->n_done++;
		break;
	case ST_FAILED:
		lg->n_failed++;
		break;
	}
	lg_settled(lg, a, now);
}

void
lg_turn_start(struct lg *lg, struct lg_alloc *a, int goal)
{
	int64_t now = lg_now();

	a->goal = (uint8_t)goal;
	a->stale = 0;
	a->nonce_len = 0;
	a->started_ns = now;
	lg->pending++;
	step(lg, a, lg->forwarder ? ST_FWD_BIND : ST_ALLOC_NOAUTH, now);
}

void
lg_turn_delete(struct lg *lg, struct lg_alloc *a)
{
	int64_t now = lg_now();

	a->stale = 0;
	lg->pending++;
	step(lg, a, lg->forwarder ? ST_FWD_DEL : ST_DEALLOC, now);
}

void
lg_turn_probe(struct lg *lg, struct lg_alloc *a)
{
	lg->pending++;
	step(lg, a, ST_PROBE, lg_now());
	a->rto_ns = 50000000LL; /* 50 ms: the server may still be starting */
	a->deadline_ns = lg_now() + a->rto_ns;
}

static void
copy_nonce(struct lg *lg, struct lg_alloc *a, const struct stun_msg *m)
{
	if (STUN_HAS(m, REALM) && m->realm.len < sizeof(lg->realm) &&
	    (m->realm.len != lg->realm_len ||
	    memcmp(lg->realm, m->realm.p, m->realm.len) != 0)) {
		memcpy(lg->realm, m->realm.p, m->realm.len);
		lg->realm_len = m->realm.len;
		lg_turn_init(lg);
	}
	if (STUN_HAS(m, NONCE) && m->nonce.len <= sizeof(a->nonce)) {
		memcpy(a->nonce, m->nonce.p, m->nonce.len);
		a->nonce_len = m->nonce.len;
	}
}

/* After a successful Allocate or bind: where the sequence goes next. */
static void
advance(struct lg *lg, struct lg_alloc *a, int64_t now)
{
	if (a->state == ST_ALLOC_AUTH && a->goal == GOAL_READY) {
		step(lg, a, ST_BIND, now);
		return;
	}
	if (a->goal == GOAL_CYCLE) {
		step(lg, a, ST_DEALLOC, now);
		return;
	}
	settle(lg, a, ST_READY, now);
}

static int
fwd_input(struct lg *lg, struct lg_alloc *a, const uint8_t *p, size_t len,
    int64_t now)
{
	uint32_t t;
	uint16_t port;

	if (len < FWD_MSG_LEN)
		return 0;
	memcpy(&t, p, 4);
	t = ntohl(t);
	if (a->state == ST_PROBE && t == FWD_PING) {
		lg->probe_ok = 1;
		settle(lg, a, ST_DONE, now);
	} else if (a->state == ST_FWD_BIND && t == FWD_ACK) {
		memcpy(&port, p + 4, 2);
		a->relay.sin_family = AF_INET;
		a->relay.sin_addr = lg->server.sin_addr;
		a->relay.sin_port = port;
		if (a->goal == GOAL_CYCLE)
			step(lg, a, ST_FWD_DEL, now);
		else
			settle(lg, a, ST_READY, now);
	} else if (a->state == ST_FWD_DEL && t == FWD_DEL)
		settle(lg, a, ST_DONE, now);
	return 1;
}

int
lg_turn_input(struct lg *lg, struct lg_alloc *a, const uint8_t *p,
    size_t len, int64_t now)
{
	struct stun_msg m;
	uint16_t code;

	if (len > 0 && p[0] == 0xff)
		return fwd_input(lg, a, p, len, now);
	if (a->deadline_ns == 0 || stun_msg_decode(&m, p, len) != 0)
		return 0;
	if ((m.cls != STUN_CLASS_SUCCESS && m.cls != STUN_CLASS_ERROR) ||
	    memcmp(m.txid, a->txid, STUN_TXID_LEN) != 0)
		return 0;
	code = m.cls == STUN_CLASS_SUCCESS ? 0 : m.error.code;
	if (code == 0) {
		switch (a->state) {
		case ST_PROBE:
			lg->probe_ok = 1;
			settle(lg, a, ST_DONE, now);
			break;
		case ST_ALLOC_NOAUTH: /* no credentials asked: fine too */
		case ST_ALLOC_AUTH:
			if (m.n_relayed == 0) {
				settle(lg, a, ST_FAILED, now);
				break;
			}
			memset(&a->relay, 0, sizeof(a->relay));
			a->relay.sin_family = AF_INET;
			memcpy(&a->relay.sin_addr, m.relayed[0].ip, 4);
			a->relay.sin_port = htons(m.relayed[0].port);
			a->state = ST_ALLOC_AUTH;
			advance(lg, a, now);
			break;
		case ST_BIND:
			advance(lg, a, now);
			break;
		case ST_DEALLOC:
			settle(lg, a, ST_DONE, now);
			break;
		}
		return 1;
	}
	if (code >= 300 && code < 700)
		lg->n_err[code / 100]++;
	lg->last_err = code;
	if (code == STUN_ERR_UNAUTHORIZED && a->state == ST_ALLOC_NOAUTH) {
		lg->n_401++;
		copy_nonce(lg, a, &m);
		step(lg, a, ST_ALLOC_AUTH, now);
	} else if (code == STUN_ERR_STALE_NONCE && a->stale < STALE_MAX) {
		lg->n_438++;
		a->stale++;
		copy_nonce(lg, a, &m);
		step(lg, a, a->state, now);
	} else if (a->state == ST_DEALLOC &&
	    code == STUN_ERR_ALLOCATION_MISMATCH)
		settle(lg, a, ST_DONE, now); /* already gone */
	else if (a->state == ST_PROBE) {
		lg->probe_ok = 1; /* it answers: good enough */
		settle(lg, a, ST_DONE, now);
	} else
		settle(lg, a, ST_FAILED, now);
	return 1;
}

int64_t
lg_turn_timers(struct lg *lg, int64_t now)
{
	int64_t next = 0;

	if (lg->pending == 0)
		return 0;
	for (size_t i = 0; i < lg->n_a; i++) {
		struct lg_alloc *a = &lg->a[i];

		if (a->deadline_ns == 0)
			continue;
		if (a->deadline_ns <= now) {
			if (a->tries >= TRIES && a->state != ST_PROBE) {
				settle(lg, a, ST_FAILED, now);
				continue;
			}
			a->tries++;
			if (a->state != ST_PROBE)
				a->rto_ns *= 2;
			a->deadline_ns = now + a->rto_ns;
			lg->n_retx++;
			lg_turn_send(lg, a);
		}
		if (next == 0 || a->deadline_ns < next)
			next = a->deadline_ns;
	}
	return next;
}
