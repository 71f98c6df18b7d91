/*
 * Stateful fuzz target of the whole server: the real request layer, TURN
 * handlers, permissions, channels, relay path and timers of one worker,
 * driven in-process by a sequence of operations decoded from the input,
 * against a fake network (struct io_ops: relay "sockets" are eventfds,
 * every send is captured here) and a clock the input moves.
 *
 * Operations (one byte each, then their arguments):
 *   0  a datagram from client C (raw bytes)
 *   1  an authenticated request from client C: method, raw attributes;
 *      USERNAME, REALM, a valid NONCE and MESSAGE-INTEGRITY are added
 *      here, so the fuzzer reaches what lies behind authentication
 *   2  a datagram from peer P to the relay of allocation A
 *   3  time passes (seconds), then the timers run
 *   4  ChannelData from client C on channel N
 *
 * Invariants checked after every operation (abort on violation):
 *   - no allocation belongs to a client that never authenticated;
 *   - no datagram leaves a relay for an address without a permission;
 *   - the gauges equal what the allocation table holds.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "alloc.h"
#include "chandata.h"
#include "config.h"
#include "listen.h"
#include "log.h"
#include "nonce.h"
#include "portpool.h"
#include "quota.h"
#include "ratelimit.h"
#include "relay.h"
#include "req.h"
#include "server.h"
#include "stun_enc.h"
#include "stun_hdr.h"
#include "stun_integrity.h"
#include "tcprelay.h"
#include "worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_CLIENTS 4
#define N_PEERS 4
#define REALM "fuzz.test"

static const char conf_text[] =
    "realm = \"" REALM "\";\n"
    "relay = { addresses = [ \"127.0.0.1\", \"::1\" ]; port_min = 50000; "
    "port_max = 50007; };\n"
    "auth = { users = ( { name = \"alice\"; password = \"pw\"; } ); "
    "secrets = [ \"s\" ]; };\n"
    "allocation = { permissions_max = 4; channels_max = 4; };\n"
    "peers = { allow = [ \"127.0.0.1/32\", \"::1/128\" ]; };\n"
    "quotas = { allocations_per_user = 3; allocations_total = 6; "
    "unauth_per_source = 0; };\n"
    "control = { socket = \"\"; };\n"
    "metrics = { listen = \"\"; };\n"
    "log = { level = \"error\"; };\n";

static const char *const client_addrs[N_CLIENTS] = { "127.0.0.1:5000",
	"127.0.0.1:5001", "[::1]:5002", "127.0.0.2:5003" };
static const char *const peer_addrs[N_PEERS] = { "127.0.0.1:40000",
	"127.0.0.1:40001", "[::1]:40002", "10.0.0.1:40003" };

struct fz {
	struct server *srv;
	struct worker *w;
	struct listener l4, l6;
	struct client_ep ep[N_CLIENTS];
	int authed[N_CLIENTS];
	uint8_t key[16];
	const uint8_t *p;
	size_t left;
};

static uint8_t
take8(struct fz *f)
{
	uint8_t v = 0;

	if (f->left > 0) {
		v = *f->p++;
		f->left--;
	}
	return v;
}

static uint16_t
take16(struct fz *f)
{
	return (uint16_t)(take8(f) << 8 | take8(f));
}

static int
fake_relay_socket(struct worker *w, const union taddr *addr, int tcp)
{
	return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

/* Every datagram the server sends passes here. */
static int
fake_send(struct worker *w, int fd, const union taddr *to, const uint8_t *p,
    size_t len)
{
	struct turn_alloc *a;

	/* from a relay: the destination must hold a permission now */
	TAILQ_FOREACH(a, &w->allocs->all, entry)
		for (int i = 0; i < 2; i++)
			if (a->relay[i].fd == fd && !perm_check(a, to, w->now)) {
				fprintf(stderr, "relay sent to a peer without "
				    "a permission\n");
				abort();
			}
	return 0;
}

static const struct io_ops fake_ops = { fake_relay_socket, fake_send, NULL };

static void
check_invariants(struct fz *f)
{
	struct worker *w = f->w;
	struct turn_alloc *a;
	int64_t allocs = 0, perms = 0, chans = 0, relays = 0;

	TAILQ_FOREACH(a, &w->allocs->all, entry) {
		int owner = -1;

		for (int i = 0; i < N_CLIENTS; i++)
			if (taddr_eq(&a->ep.addr, &f->ep[i].addr))
				owner = i;
		if (owner < 0 || !f->authed[owner]) {
			fprintf(stderr, "allocation without authentication\n");
			abort();
		}
		if (a->counted)
			allocs++;
		perms += a->n_perm;
		chans += a->n_chan;
		for (int i = 0; i < 2; i++)
			if (a->counted && a->relay[i].fd != -1)
				relays++;
	}
	if (w->stats.g[STATG_ALLOCS_UDP] != allocs ||
	    w->stats.g[STATG_PERMISSIONS] != perms ||
	    w->stats.g[STATG_CHANNELS] != chans ||
	    w->stats.g[STATG_RELAYS_IPV4] + w->stats.g[STATG_RELAYS_IPV6] !=
	    relays) {
		fprintf(stderr, "gauges differ from the table\n");
		abort();
	}
}

static void
op_datagram(struct fz *f, uint8_t *buf)
{
	int c = take8(f) % N_CLIENTS;
	size_t len = take16(f) % 1500;

	if (len > f->left)
		len = f->left;
	memcpy(buf, f->p, len);
	f->p += len;
	f->left -= len;
	req_input(f->w, &f->ep[c], CONF_T_UDP, buf, len, 0);
}

static void
op_authenticated(struct fz *f, uint8_t *buf)
{
	static const uint16_t methods[] = { STUN_METHOD_ALLOCATE,
		STUN_METHOD_REFRESH, STUN_METHOD_CREATE_PERMISSION,
		STUN_METHOD_CHANNEL_BIND, STUN_METHOD_BINDING,
		STUN_METHOD_CONNECT };
	int c = take8(f) % N_CLIENTS;
	uint16_t method = methods[take8(f) % 6];
	size_t len = take16(f) % 512, n;
	uint8_t txid[STUN_TXID_LEN];
	char nonce[NONCE_LEN + 1];
	struct stun_enc e;
	int total;

	for (n = 0; n < STUN_TXID_LEN; n++)
		txid[n] = take8(f);
	len &= ~(size_t)3; /* the raw attributes must keep the walk aligned */
	if (len > f->left)
		len = f->left & ~(size_t)3;
	stun_enc_init(&e, buf, 2048, stun_type(method, STUN_CLASS_REQUEST),
	    txid);
	if (e.len + len <= e.cap) {
		/* the fuzzer's attributes, as they are */
		memcpy(buf + e.len, f->p, len);
		e.len += len;
		buf[2] = (uint8_t)((e.len - STUN_HDR_LEN) >> 8);
		buf[3] = (uint8_t)(e.len - STUN_HDR_LEN);
	}
	f->p += len;
	f->left -= len;
	nonce_make(&f->srv->nonce, f->w->now + 600, &f->ep[c].addr,
	    CONF_T_UDP, nonce);
	stun_enc_str(&e, STUN_ATTR_USERNAME, "alice");
	stun_enc_str(&e, STUN_ATTR_REALM, REALM);
	stun_enc_str(&e, STUN_ATTR_NONCE, nonce);
	stun_enc_integrity(&e, f->key, sizeof(f->key));
	total = stun_enc_finish(&e);
	if (total < 0)
		return;
	f->authed[c] = 1;
	req_input(f->w, &f->ep[c], CONF_T_UDP, buf, (size_t)total, 0);
}

static void
op_peer(struct fz *f, uint8_t *slot)
{
	struct worker *w = f->w;
	int k = take8(f), pi = take8(f) % N_PEERS;
	size_t len = take16(f) % 1400;
	struct turn_alloc *a;
	union taddr from;

	if (len > f->left)
		len = f->left;
	TAILQ_FOREACH(a, &w->allocs->all, entry)
		if (k-- == 0)
			break;
	if (a != NULL && a->relay[0].fd != -1 && !a->tcp &&
	    taddr_parse(&from, peer_addrs[pi], 0) == 0) {
		memcpy(slot + IO_HEADROOM, f->p, len);
		relay_input(w, &a->relay[0], &from, slot + IO_HEADROOM, len);
	}
	f->p += len;
	f->left -= len;
	io_flush(w);
}

static void
op_time(struct fz *f)
{
	struct worker *w = f->w;
	uint32_t s = take8(f);

	w->now += s;
	w->now_ms += (uint64_t)s * 1000;
	alloc_sweep(w, w->now);
	for (int i = 0; i < 2; i++)
		if (f->srv->pool[i] != NULL)
			portpool_expire(f->srv->pool[i], w->now);
	tcprelay_expire(w, w->now);
}

static void
op_chandata(struct fz *f, uint8_t *buf)
{
	int c = take8(f) % N_CLIENTS;
	uint16_t chan = (uint16_t)(0x4000 | (take16(f) & 0x0fff));
	size_t len = take16(f) % 1400;

	if (len > f->left)
		len = f->left;
	chandata_hdr(buf, chan, (uint16_t)len);
	memcpy(buf + CHANDATA_HDR_LEN, f->p, len);
	f->p += len;
	f->left -= len;
	req_input(f->w, &f->ep[c], CONF_T_UDP, buf, CHANDATA_HDR_LEN + len, 0);
}

static struct server *
fz_server(void)
{
	struct turnd_conf *c = conf_load("<fuzz>", conf_text, stderr);
	struct server *srv;
	char err[256];

	if (c == NULL)
		abort();
	/* no listening sockets: the input is the network */
	c->n_listen = 0;
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL || nonce_key_init(&srv->nonce) != 0)
		abort();
	srv->snap = snap_new(c, NULL, 0, err, sizeof(err));
	srv->pool[0] = portpool_new(50000, 50007);
	srv->pool[1] = portpool_new(50000, 50007);
	srv->quota = quota_new();
	srv->conns = quota_new();
	srv->tcp = tcprelay_new();
	srv->unauth = ratelimit_new();
	srv->badpass = ratelimit_new();
	if (srv->snap == NULL || srv->pool[0] == NULL || srv->quota == NULL ||
	    srv->conns == NULL || srv->tcp == NULL || srv->unauth == NULL ||
	    srv->badpass == NULL)
		abort();
	return srv;
}

static void
fz_server_free(struct server *srv)
{
	for (size_t i = 0; i < srv->n_workers; i++)
		worker_free(srv->workers[i]);
	free(srv->workers);
	snap_free(srv->snap);
	for (int i = 0; i < 2; i++)
		portpool_free(srv->pool[i]);
	quota_free(srv->quota);
	quota_free(srv->conns);
	tcprelay_free(srv->tcp);
	ratelimit_free(srv->unauth);
	ratelimit_free(srv->badpass);
	free(srv);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[4096];
	static uint8_t slot[IO_HEADROOM + 2048];
	struct fz f;
	uint8_t k[STUN_KEY_MAX];
	int ops = 0;

	log_init(LOG_LVL_ERROR, 0, "fuzz");
	memset(&f, 0, sizeof(f));
	f.srv = fz_server();
	f.srv->workers = calloc(1, sizeof(*f.srv->workers));
	f.w = f.srv->workers[0] = worker_new(f.srv, 0);
	if (f.w == NULL)
		abort();
	f.srv->n_workers = 1;
	f.w->ops = &fake_ops;
	stun_key_long_term(STUN_PWALG_MD5, "alice", 5, REALM, strlen(REALM),
	    "pw", 2, k);
	memcpy(f.key, k, sizeof(f.key));
	f.l4.w = f.l6.w = f.w;
	f.l4.fd = f.l6.fd = -2;
	f.l4.transport = f.l6.transport = CONF_T_UDP;
	taddr_parse(&f.l4.addr, "127.0.0.1:3478", 0);
	taddr_parse(&f.l6.addr, "[::1]:3478", 0);
	for (int i = 0; i < N_CLIENTS; i++) {
		taddr_parse(&f.ep[i].addr, client_addrs[i], 0);
		f.ep[i].l = f.ep[i].addr.sa.sa_family == AF_INET6 ? &f.l6 :
		    &f.l4;
		f.ep[i].local = f.ep[i].l->addr;
	}
	f.p = data;
	f.left = size;
	while (f.left > 0 && ops++ < 256) {
		switch (take8(&f) % 5) {
		case 0:
			op_datagram(&f, buf);
			break;
		case 1:
			op_authenticated(&f, buf);
			break;
		case 2:
			op_peer(&f, slot);
			break;
		case 3:
			op_time(&f);
			break;
		case 4:
			op_chandata(&f, buf);
			break;
		}
		io_flush(f.w);
		check_invariants(&f);
	}
	fz_server_free(f.srv);
	return 0;
}
