/*
 * The integration tests' TURN client.  See tclient.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chandata.h"
#include "stun_attr.h"
#include "stun_enc.h"
#include "stun_hdr.h"
#include "stun_integrity.h"
#include "tclient.h"
#include "tclient_stream.h"

int
tc_addr_parse(union tc_addr *a, const char *ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, ip, &a->in.sin_addr) == 1) {
		a->in.sin_family = AF_INET;
		a->in.sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons(port);
		return 0;
	}
	return -1;
}

socklen_t
tc_addr_len(const union tc_addr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in);
}

uint16_t
tc_addr_port(const union tc_addr *a)
{
	return ntohs(a->sa.sa_family == AF_INET6 ? a->in6.sin6_port :
	    a->in.sin_port);
}

int
tc_addr_ip_is(const union tc_addr *a, const char *ip)
{
	union tc_addr want;

	if (tc_addr_parse(&want, ip, tc_addr_port(a)) != 0)
		return 0;
	return tc_addr_eq(a, &want);
}

void
tc_addr_to_stun(struct stun_addr *s, const union tc_addr *a)
{
	memset(s, 0, sizeof(*s));
	if (a->sa.sa_family == AF_INET6) {
		s->family = STUN_AF_IPV6;
		memcpy(s->ip, &a->in6.sin6_addr, 16);
	} else {
		s->family = STUN_AF_IPV4;
		memcpy(s->ip, &a->in.sin_addr, 4);
	}
	s->port = tc_addr_port(a);
}

void
tc_addr_from_stun(union tc_addr *a, const struct stun_addr *s)
{
	memset(a, 0, sizeof(*a));
	if (s->family == STUN_AF_IPV6) {
		a->in6.sin6_family = AF_INET6;
		memcpy(&a->in6.sin6_addr, s->ip, 16);
		a->in6.sin6_port = htons(s->port);
	} else {
		a->in.sin_family = AF_INET;
		memcpy(&a->in.sin_addr, s->ip, 4);
		a->in.sin_port = htons(s->port);
	}
}

int
tc_addr_eq(const union tc_addr *a, const union tc_addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family ||
	    tc_addr_port(a) != tc_addr_port(b))
		return 0;
	if (a->sa.sa_family == AF_INET6)
		return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
	return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
}

const char *
tc_addr_str(const union tc_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(a->sa.sa_family, a->sa.sa_family == AF_INET6 ?
	    (const void *)&a->in6.sin6_addr : (const void *)&a->in.sin_addr,
	    ip, sizeof(ip));
	snprintf(buf, len, a->sa.sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
	    ip, tc_addr_port(a));
	return buf;
}

static int
udp_socket(const union tc_addr *bind_to, union tc_addr *local)
{
	socklen_t len = sizeof(*local);
	int fd = socket(bind_to->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return -1;
	if (bind(fd, &bind_to->sa, tc_addr_len(bind_to)) != 0 ||
	    getsockname(fd, &local->sa, &len) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
tc_open(struct tc *c, const char *server_ip, uint16_t port, const char *user,
    const char *pass)
{
	union tc_addr any;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->timeout_ms = 500;
	c->tries = 4;
	if (tc_addr_parse(&c->server, server_ip, port) != 0 ||
	    tc_addr_parse(&any, server_ip, 0) != 0)
		return -1;
	c->fd = udp_socket(&any, &c->local);
	if (c->fd == -1)
		return -1;
	snprintf(c->user, sizeof(c->user), "%s", user ? user : "");
	snprintf(c->pass, sizeof(c->pass), "%s", pass ? pass : "");
	return 0;
}

void
tc_close(struct tc *c)
{
	tc_stream_close(c);
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

void
tcm_init(struct tc_msg *m, uint16_t method)
{
	memset(m, 0, sizeof(*m));
	m->method = method;
	m->cls = STUN_CLASS_REQUEST;
}

static struct tc_attr *
tcm_add(struct tc_msg *m, uint16_t type, int kind)
{
	struct tc_attr *a;

	if (m->n >= TC_MAX_ATTRS)
		abort();
	a = &m->a[m->n++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->kind = kind;
	return a;
}

void
tcm_raw(struct tc_msg *m, uint16_t type, const void *val, size_t len)
{
	struct tc_attr *a = tcm_add(m, type, TC_RAW);

	a->val = val;
	a->len = len;
}

void
tcm_u32(struct tc_msg *m, uint16_t type, uint32_t v)
{
	tcm_add(m, type, TC_U32)->u32 = v;
}

void
tcm_u8pad(struct tc_msg *m, uint16_t type, uint8_t v)
{
	tcm_add(m, type, TC_U8PAD)->u32 = v;
}

void
tcm_u16pad(struct tc_msg *m, uint16_t type, uint16_t v)
{
	tcm_add(m, type, TC_U16PAD)->u32 = v;
}

void
tcm_xaddr(struct tc_msg *m, uint16_t type, const union tc_addr *addr)
{
	tc_addr_to_stun(&tcm_add(m, type, TC_XADDR)->addr, addr);
}

void
tcm_str(struct tc_msg *m, uint16_t type, const char *s)
{
	tcm_raw(m, type, s, strlen(s));
}

static void
derive_key(struct tc *c, int sha256)
{
	int n = stun_key_long_term(sha256 ? STUN_PWALG_SHA256 : STUN_PWALG_MD5,
	    c->user, strlen(c->user), c->realm, strlen(c->realm), c->pass,
	    strlen(c->pass), c->key);

	c->keylen = n > 0 ? (size_t)n : 0;
}

int
tc_encode(struct tc *c, const struct tc_msg *m, uint8_t *buf, size_t cap,
    uint8_t txid[STUN_TXID_LEN])
{
	struct stun_enc e;

	if (m->txid_set)
		memcpy(txid, m->txid, STUN_TXID_LEN);
	else if (RAND_bytes(txid, STUN_TXID_LEN) != 1)
		return -1;
	stun_enc_init(&e, buf, cap, stun_type(m->method, m->cls), txid);
	for (size_t i = 0; i < m->n; i++) {
		const struct tc_attr *a = &m->a[i];

		switch (a->kind) {
		case TC_RAW:
			stun_enc_attr(&e, a->type, a->val, a->len);
			break;
		case TC_XADDR:
			stun_enc_xaddr(&e, a->type, &a->addr);
			break;
		case TC_U32:
			stun_enc_u32(&e, a->type, a->u32);
			break;
		case TC_U8PAD:
			stun_enc_u8pad(&e, a->type, (uint8_t)a->u32);
			break;
		case TC_U16PAD:
			stun_enc_u16pad(&e, a->type, (uint16_t)a->u32);
			break;
		}
	}
	if (m->auth) {
		if (!m->no_username)
			stun_enc_str(&e, STUN_ATTR_USERNAME, c->user);
		if (!m->no_realm)
			stun_enc_str(&e, STUN_ATTR_REALM, c->realm);
		if (!m->no_nonce)
			stun_enc_str(&e, STUN_ATTR_NONCE, c->nonce);
		derive_key(c, m->sha256);
		if (m->pwalg_set) {
			if (m->n_pwalgs > 0)
				stun_enc_pwalgs(&e, m->pwalgs, m->n_pwalgs);
			if (m->pwalg != 0)
				stun_enc_pwalg(&e, m->pwalg);
		} else if (m->sha256) {
			static const uint16_t algs[] = { STUN_PWALG_SHA256,
				STUN_PWALG_MD5 };

			stun_enc_pwalgs(&e, algs, 2);
			stun_enc_pwalg(&e, STUN_PWALG_SHA256);
		}
		if (m->sha256)
			stun_enc_integrity_sha256(&e, c->key, c->keylen);
		else
			stun_enc_integrity(&e, c->key, c->keylen);
	}
	if (m->fingerprint)
		stun_enc_fingerprint(&e);
	return stun_enc_finish(&e);
}

long long
tc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
tc_wait_fd(int fd, short ev, long long deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = ev};
		long long left = deadline - tc_now_ms();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return 1;
		if (r == 0 || errno != EINTR)
			return 0;
	}
}

static int
recv_timeout(int fd, void *buf, size_t cap, union tc_addr *from,
    int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	socklen_t len = sizeof(*from);
	union tc_addr dummy;
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return -1;
	if (from == NULL)
		from = &dummy;
	n = recvfrom(fd, buf, cap, 0, &from->sa, &len);
	return n < 0 ? -1 : (int)n;
}

static void
remember_auth(struct tc *c, const struct stun_msg *m)
{
	if (STUN_HAS(m, REALM) && m->realm.len < sizeof(c->realm)) {
		memcpy(c->realm, m->realm.p, m->realm.len);
		c->realm[m->realm.len] = '\0';
	}
	if (STUN_HAS(m, NONCE) && m->nonce.len < sizeof(c->nonce)) {
		memcpy(c->nonce, m->nonce.p, m->nonce.len);
		c->nonce[m->nonce.len] = '\0';
	}
}

int
tc_transact_raw(struct tc *c, const uint8_t *req, size_t len, struct tc_resp *r)
{
	const uint8_t *txid = req + 8;

	/* RFC 8489 section 6.2.2: no retransmission on a reliable transport */
	int stream = c->transport != TC_UDP;
	int tries = stream ? 1 : c->tries;
	int wait_ms = stream ? c->timeout_ms * c->tries : c->timeout_ms;

	memset(r, 0, sizeof(*r));
	r->code = -1;
	if (len < STUN_HDR_LEN)
		return -1;
	for (int t = 0; t < tries; t++) {
		long long deadline = tc_now_ms() + wait_ms;

		if (tc_send_raw(c, req, len) != 0)
			return -1;
		while (tc_now_ms() < deadline) {
			int n = tc_recv_raw(c, r->buf, sizeof(r->buf),
			    (int)(deadline - tc_now_ms()));

			if (n < 0)
				break;
			if ((size_t)n > sizeof(r->buf))
				continue; /* relayed data, not an answer */
			if (stun_msg_decode(&r->m, r->buf, (size_t)n) != 0 ||
			    memcmp(r->m.txid, txid, STUN_TXID_LEN) != 0)
				continue; /* data, or another transaction */
			r->len = (size_t)n;
			if (r->m.cls == STUN_CLASS_SUCCESS)
				r->code = 0;
			else if (r->m.cls == STUN_CLASS_ERROR &&
			    STUN_HAS(&r->m, ERROR_CODE))
				r->code = r->m.error.code;
			else
				continue;
			return r->code;
		}
	}
	return -1;
}

int
tc_transact(struct tc *c, const struct tc_msg *m, struct tc_resp *r)
{
	uint8_t out[2048], txid[STUN_TXID_LEN];
	int len = tc_encode(c, m, out, sizeof(out), txid);

	if (len < 0) {
		memset(r, 0, sizeof(*r));
		r->code = -1;
		return -1;
	}
	if (tc_transact_raw(c, out, (size_t)len, r) == STUN_ERR_UNAUTHORIZED ||
	    r->code == STUN_ERR_STALE_NONCE)
		remember_auth(c, &r->m);
	return r->code;
}

int
tc_learn_nonce(struct tc *c)
{
	struct tc_msg m;
	struct tc_resp r;

	tcm_init(&m, STUN_METHOD_ALLOCATE);
	tcm_u8pad(&m, STUN_ATTR_REQUESTED_TRANSPORT, STUN_PROTO_UDP);
	if (tc_transact(c, &m, &r) != STUN_ERR_UNAUTHORIZED ||
	    !STUN_HAS(&r.m, NONCE))
		return -1;
	return 0;
}

int
tc_call(struct tc *c, struct tc_msg *m, struct tc_resp *r)
{
	int code;

	m->auth = 1;
	if (c->nonce[0] == '\0') {
		struct tc_msg bare = *m;

		bare.auth = 0;
		code = tc_transact(c, &bare, r);
		if (code != STUN_ERR_UNAUTHORIZED)
			return code;
	}
	code = tc_transact(c, m, r);
	if (code == STUN_ERR_STALE_NONCE || code == STUN_ERR_UNAUTHORIZED)
		code = tc_transact(c, m, r);
	return code;
}

int
tc_check_integrity(const struct tc *c, const struct tc_resp *r)
{
	return stun_msg_check_integrity(&r->m, c->key, c->keylen, NULL);
}

static int
allocate(struct tc *c, uint8_t family, union tc_addr *relayed)
{
	struct tc_msg m;
	struct tc_resp r;
	int code;

	tcm_init(&m, STUN_METHOD_ALLOCATE);
	tcm_u8pad(&m, STUN_ATTR_REQUESTED_TRANSPORT, STUN_PROTO_UDP);
	if (family != 0)
		tcm_u8pad(&m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, family);
	code = tc_call(c, &m, &r);
	if (code == 0 && relayed != NULL) {
		if (r.m.n_relayed < 1)
			return -1;
		tc_addr_from_stun(relayed, &r.m.relayed[0]);
	}
	return code;
}

int
tc_allocate(struct tc *c, union tc_addr *relayed)
{
	return allocate(c, 0, relayed);
}

int
tc_allocate_family(struct tc *c, uint8_t family, union tc_addr *relayed)
{
	return allocate(c, family, relayed);
}

int
tc_refresh(struct tc *c, uint32_t lifetime)
{
	struct tc_msg m;
	struct tc_resp r;

	tcm_init(&m, STUN_METHOD_REFRESH);
	tcm_u32(&m, STUN_ATTR_LIFETIME, lifetime);
	return tc_call(c, &m, &r);
}

int
tc_permission(struct tc *c, const union tc_addr *peer)
{
	struct tc_msg m;
	struct tc_resp r;

	tcm_init(&m, STUN_METHOD_CREATE_PERMISSION);
	tcm_xaddr(&m, STUN_ATTR_XOR_PEER_ADDRESS, peer);
	return tc_call(c, &m, &r);
}

int
tc_channel_bind(struct tc *c, uint16_t chan, const union tc_addr *peer)
{
	struct tc_msg m;
	struct tc_resp r;

	tcm_init(&m, STUN_METHOD_CHANNEL_BIND);
	tcm_u16pad(&m, STUN_ATTR_CHANNEL_NUMBER, chan);
	tcm_xaddr(&m, STUN_ATTR_XOR_PEER_ADDRESS, peer);
	return tc_call(c, &m, &r);
}

int
tc_send_raw(struct tc *c, const void *p, size_t len)
{
	if (c->transport != TC_UDP)
		return tc_stream_send(c, p, len);
	return sendto(c->fd, p, len, 0, &c->server.sa,
	           tc_addr_len(&c->server)) == (ssize_t)len
	    ? 0
	    : -1;
}

int
tc_recv_raw(struct tc *c, void *buf, size_t cap, int timeout_ms)
{
	if (c->transport != TC_UDP)
		return tc_stream_recv(c, buf, cap, timeout_ms);
	return recv_timeout(c->fd, buf, cap, NULL, timeout_ms);
}

int
tc_send_ind(struct tc *c, const union tc_addr *peer, const void *data,
    size_t len)
{
	struct tc_msg m;
	uint8_t out[2048], txid[STUN_TXID_LEN];
	int n;

	tcm_init(&m, STUN_METHOD_SEND);
	m.cls = STUN_CLASS_INDICATION;
	tcm_xaddr(&m, STUN_ATTR_XOR_PEER_ADDRESS, peer);
	tcm_raw(&m, STUN_ATTR_DATA, data, len);
	n = tc_encode(c, &m, out, sizeof(out), txid);
	if (n < 0)
		return -1;
	return tc_send_raw(c, out, (size_t)n);
}

int
tc_send_chan(struct tc *c, uint16_t chan, const void *data, size_t len)
{
	uint8_t out[2048];
	size_t total = CHANDATA_HDR_LEN + len;

	if (len + CHANDATA_HDR_LEN + 3 > sizeof(out))
		return -1;
	chandata_hdr(out, chan, (uint16_t)len);
	memcpy(out + CHANDATA_HDR_LEN, data, len);
	if (c->chan_pad) {
		/* RFC 8656 section 12.5: padded to four on streams */
		memset(out + total, 0, stun_pad(total) - total);
		total = stun_pad(total);
	}
	return tc_send_raw(c, out, total);
}

int
tc_recv_data(struct tc *c, void *buf, size_t cap, uint16_t *chan,
    union tc_addr *peer, int timeout_ms)
{
	uint8_t in[70000];
	long long deadline = tc_now_ms() + timeout_ms;
	int cflags = CHANDATA_F_LEGACY;

	/* on a stream the frame must hold exactly the padded length */
	if (c->transport != TC_UDP)
		cflags |= CHANDATA_F_STREAM;
	while (tc_now_ms() < deadline) {
		int n =
		    tc_recv_raw(c, in, sizeof(in), (int)(deadline - tc_now_ms()));
		struct stun_msg m;
		struct chandata cd;

		if (n < 0)
			return -1;
		if ((size_t)n > sizeof(in))
			continue;
		if (chandata_decode(&cd, in, (size_t)n, cflags) == 0) {
			if (cd.len > cap)
				return -1;
			memcpy(buf, cd.data, cd.len);
			if (chan != NULL)
				*chan = cd.chan;
			return cd.len;
		}
		if (stun_msg_decode(&m, in, (size_t)n) == 0 &&
		    m.method == STUN_METHOD_DATA &&
		    m.cls == STUN_CLASS_INDICATION && m.n_peer == 1 &&
		    STUN_HAS(&m, DATA)) {
			if (m.data.len > cap)
				return -1;
			memcpy(buf, m.data.p, m.data.len);
			if (chan != NULL)
				*chan = 0;
			if (peer != NULL)
				tc_addr_from_stun(peer, &m.peer[0]);
			return m.data.len;
		}
	}
	return -1;
}

int
tpeer_open(struct tpeer *p, const char *ip)
{
	union tc_addr any;

	memset(p, 0, sizeof(*p));
	if (tc_addr_parse(&any, ip, 0) != 0)
		return -1;
	p->fd = udp_socket(&any, &p->addr);
	return p->fd == -1 ? -1 : 0;
}

void
tpeer_close(struct tpeer *p)
{
	if (p->fd != -1)
		close(p->fd);
	p->fd = -1;
}

int
tpeer_send(struct tpeer *p, const union tc_addr *to, const void *data,
    size_t len)
{
	return sendto(p->fd, data, len, 0, &to->sa, tc_addr_len(to)) ==
	    (ssize_t)len ? 0 : -1;
}

int
tpeer_recv(struct tpeer *p, void *buf, size_t cap, union tc_addr *from,
    int timeout_ms)
{
	return recv_timeout(p->fd, buf, cap, from, timeout_ms);
}

void
tc_rest_password(const char *secret, const char *user, char out[64])
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	/* computed here with OpenSSL directly, independent of turnd's code */
	HMAC(EVP_sha1(), secret, (int)strlen(secret), (const uint8_t *)user,
	    strlen(user), mac, &len);
	EVP_EncodeBlock((unsigned char *)out, mac, (int)len);
}
