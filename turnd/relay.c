/*
 * Relay sockets and the peer-to-client half of the data path (RFC 8656
 * sections 11.3 and 12.6 on the server side).  A datagram from a peer is
 * received into an io slot with headroom; if a channel is bound to the
 * peer, a 4-byte ChannelData header is written in front of it, otherwise
 * a Data indication header; the result is queued for the client without
 * a copy.  Only datagrams from peers with a live permission pass.
 */
#include <errno.h>
#include <time.h>
#include <linux/errqueue.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "chandata.h"
#include "config.h"
#include "listen.h"
#include "log.h"
#include "relay.h"
#include "server.h"
#include "stun_enc.h"
#include "stun_hdr.h"
#include "tcprelay.h"
#include "worker.h"

#define RELAY_BIND_TRIES 32
#define RELAY_ROUNDS 4
/*
 * Datagrams asked for per recvmmsg on a relay socket.  One allocation's
 * peers rarely queue more than a few between two wake-ups; preparing 32
 * headers for each one that arrives cost more than the packet itself.
 */
#define RELAY_BATCH 8
#define RELAY_DF_HOLD_S 2

static void relay_cb(evutil_socket_t, short, void *);

/* Where relay sockets of this family bind for a. */
static int
relay_bind_addr(struct worker *w, const struct turn_alloc *a, int family,
    union taddr *out)
{
	const struct turnd_conf *c = w->snap->conf;

	for (size_t i = 0; i < c->relay.n_addrs; i++)
		if (c->relay.addrs[i].sa.sa_family == family) {
			*out = c->relay.addrs[i];
			taddr_set_port(out, 0);
			return 0;
		}
	if (a->ep.local.sa.sa_family == family && !taddr_is_any(&a->ep.local)) {
		*out = a->ep.local;
		taddr_set_port(out, 0);
		return 0;
	}
	return -1;
}

/*
 * True when another socket holds addr for TCP.  The relay socket itself
 * needs SO_REUSEPORT (RFC 6062: connections to peers leave from its
 * port), and with it a bind succeeds beside any socket of the same user
 * that set it too, another turnd for one, which then gets part of the
 * peers' connections.  A socket without it cannot share: it finds out.
 */
static int
relay_port_held(const union taddr *addr)
{
	int on = 1, held, fd;

	fd = socket(addr->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return 0;
	if (addr->sa.sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
		    sizeof(on));
	/* TIME_WAIT from earlier connections on the port does not count */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	held = bind(fd, &addr->sa, taddr_len(addr)) == -1 &&
	    errno == EADDRINUSE;
	close(fd);
	return held;
}

/* DF on (IP_PMTUDISC_DO, IPV6_DONTFRAG) or off (IP_PMTUDISC_DONT). */
static void
sock_set_df(int fd, int family, int on)
{
	if (family == AF_INET) {
		int v = on ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT;

		(void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v,
		    sizeof(v));
	} else {
		int v = on;

		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &v,
		    sizeof(v));
	}
}

static int
relay_socket(struct worker *w, const union taddr *addr, int df, int tcp)
{
	const struct turnd_conf *c = w->snap->conf;
	int fam = addr->sa.sa_family, on = 1, fd;

	if (w->ops != NULL && w->ops->relay_socket != NULL)
		return w->ops->relay_socket(w, addr, tcp);
	if (tcp && relay_port_held(addr)) {
		errno = EADDRINUSE;
		return -1;
	}
	fd = socket(fam, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (fam == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
		    sizeof(on));
	/* ICMP errors from peers come back on the error queue (11.5) */
	if (!tcp) {
		if (fam == AF_INET)
			(void)setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on,
			    sizeof(on));
		else
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on,
			    sizeof(on));
	}
	/* RFC 6062: outgoing connections leave from the listening port */
	if (tcp && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
	    sizeof(on)) != 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
	    sizeof(on)) != 0)) {
		close(fd);
		return -1;
	}
	/*
	 * DF only when the client asked (RFC 8656 sections 14 and 15): by
	 * default Linux sets DF on UDP (path MTU discovery) and drops what
	 * does not fit, where a relay should fragment.
	 */
	sock_set_df(fd, fam, df);
	if (c->relay.rcvbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &c->relay.rcvbuf,
		    sizeof(c->relay.rcvbuf));
	if (c->relay.sndbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &c->relay.sndbuf,
		    sizeof(c->relay.sndbuf));
	if (bind(fd, &addr->sa, taddr_len(addr)) == -1 ||
	    (tcp && listen(fd, 64) == -1)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int
relay_arm(struct worker *w, struct turn_alloc *a, struct relay *r, int fd,
    const union taddr *addr, int df, int tcp)
{
	r->a = a;
	r->fd = fd;
	r->addr = *addr;
	r->df = df;
	r->ev = event_new(w->base, fd, EV_READ | EV_PERSIST,
	    tcp ? tcprelay_accept_cb : relay_cb, r);
	if (r->ev == NULL || event_add(r->ev, NULL) != 0) {
		if (r->ev != NULL)
			event_free(r->ev);
		r->ev = NULL;
		r->fd = -1;
		return -1;
	}
	return 0;
}

int
relay_open(struct worker *w, struct turn_alloc *a, struct relay *r,
    int family, int flags, uint8_t token[PORTPOOL_TOKEN_LEN])
{
	struct portpool *pool = server_pool(w->srv, family);
	union taddr addr, next;
	int df = (flags & RELAY_F_DF) != 0, tcp = (flags & RELAY_F_TCP) != 0;

	if (pool == NULL || relay_bind_addr(w, a, family, &addr) != 0)
		return 440;
	for (int tries = 0; tries < RELAY_BIND_TRIES; tries++) {
		uint16_t port;
		int fd, fd2 = -1;

		if (portpool_take(pool, (uint32_t)worker_rand(w),
		    (flags & (RELAY_F_EVEN | RELAY_F_RESERVE)) != 0,
		    &port) != 0)
			return 508;
		taddr_set_port(&addr, port);
		fd = relay_socket(w, &addr, df, tcp);
		if (fd == -1) {
			int e = errno;

			/* held by another process: try another port */
			portpool_put(pool, port);
			if (flags & (RELAY_F_EVEN | RELAY_F_RESERVE))
				portpool_put(pool, (uint16_t)(port + 1));
			if (e == EADDRINUSE || e == EACCES)
				continue;
			/* out of descriptors or memory: say so once a minute */
			STAT_INC(&w->stats, RELAY_SOCKET_FAILED);
			if (w->now - w->relay_warned_s >= 60 ||
			    w->relay_warned_s == 0) {
				w->relay_warned_s = w->now;
				errno = e;
				log_warn("event=relay_socket_failed worker=%d",
				    w->id);
			}
			return 508;
		}
		if (flags & RELAY_F_RESERVE) {
			next = addr;
			taddr_set_port(&next, (uint16_t)(port + 1));
			fd2 = relay_socket(w, &next, 0, 0);
			if (fd2 == -1 || RAND_bytes(token,
			    PORTPOOL_TOKEN_LEN) != 1 ||
			    portpool_reserve(pool, (uint16_t)(port + 1), fd2,
			    token, w->now + PORTPOOL_RESERVE_S) != 0) {
				if (fd2 != -1)
					close(fd2);
				close(fd);
				portpool_put(pool, port);
				portpool_put(pool, (uint16_t)(port + 1));
				continue;
			}
		} else if (flags & RELAY_F_EVEN)
			portpool_put(pool, (uint16_t)(port + 1));
		if (relay_arm(w, a, r, fd, &addr, df, tcp) != 0) {
			close(fd);
			portpool_put(pool, port);
			return 508;
		}
		return 0;
	}
	return 508;
}

int
relay_claim(struct worker *w, struct turn_alloc *a, struct relay *r,
    const uint8_t token[PORTPOOL_TOKEN_LEN], int flags)
{
	for (int i = 0; i < 2; i++) {
		struct portpool *pool = w->srv->pool[i];
		union taddr addr;
		socklen_t len = sizeof(addr);
		uint16_t port;
		int fd;

		if (pool == NULL ||
		    portpool_claim(pool, token, w->now, &port, &fd) != 0)
			continue;
		memset(&addr, 0, sizeof(addr));
		if (getsockname(fd, &addr.sa, &len) != 0 ||
		    relay_arm(w, a, r, fd, &addr, 0, 0) != 0) {
			close(fd);
			portpool_put(pool, port);
			return 508;
		}
		if (flags & RELAY_F_DF) {
			int v = addr.sa.sa_family == AF_INET ?
			    IP_PMTUDISC_DO : 1;

			r->df = 1;
			if (addr.sa.sa_family == AF_INET)
				(void)setsockopt(fd, IPPROTO_IP,
				    IP_MTU_DISCOVER, &v, sizeof(v));
			else
				(void)setsockopt(fd, IPPROTO_IPV6,
				    IPV6_DONTFRAG, &v, sizeof(v));
		}
		return 0;
	}
	return 508;
}

void
relay_set_df(struct relay *r, int on)
{
	sock_set_df(r->fd, r->addr.sa.sa_family, on);
}

int
relay_send(struct worker *w, struct relay *r, const union taddr *peer,
    uint8_t *data, size_t len, int in_slot, int df)
{
	struct turn_alloc *a = r->a;

	if (!alloc_bw_take(a, w->snap->conf->quotas.bandwidth_per_allocation,
	    len, w->now_ms)) {
		STAT_INC(&w->stats, DROP_BANDWIDTH);
		return -1;
	}
	if (df && !r->df) {
		/*
		 * A Send indication asked for DF on a socket without it.  DF
		 * stays on for a couple of seconds: with it off, the kernel
		 * would ignore the fragmentation-needed error on its way back
		 * (RFC 8656 section 11.5).  alloc_sweep turns it off again.
		 */
		if (r->df_until == 0)
			relay_set_df(r, 1);
		r->df_until = w->now + RELAY_DF_HOLD_S;
		if (io_send_now(w, r->fd, peer, NULL, data, len) != 0)
			return -1;
	} else if (in_slot)
		io_queue(w, r->fd, peer, NULL, data, len);
	else if (io_send_now(w, r->fd, peer, NULL, data, len) != 0)
		return -1;
	a->c2p_pkts++;
	a->c2p_bytes += len;
	STAT_INC(&w->stats, RELAY_C2P_PKTS);
	STAT_ADD(&w->stats, RELAY_C2P_BYTES, len);
	return 0;
}

/*
 * RFC 8656 section 11.5: an ICMP error about a datagram the relay sent to
 * a peer.  Destination unreachable and time exceeded (ICMPv4 types 3 and
 * 11; ICMPv6 1, 2 and 3) go to the client as a Data indication with an
 * ICMP attribute, when it has a permission for that peer; the allocation
 * lives on.  Drains the socket's error queue.
 */
static void
relay_errqueue(struct worker *w, struct relay *r)
{
	struct turn_alloc *a = r->a;

	for (int i = 0; i < 8; i++) {
		uint8_t cbuf[512], dummy[64];
		union taddr peer;
		struct iovec iov = { dummy, sizeof(dummy) };
		struct msghdr mh = { 0 };
		struct cmsghdr *cm;
		struct sock_extended_err ee;
		int found = 0, ok;

		mh.msg_name = &peer;
		mh.msg_namelen = sizeof(peer);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		memset(&peer, 0, sizeof(peer));
		if (recvmsg(r->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return;
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL;
		    cm = CMSG_NXTHDR(&mh, cm))
			if ((cm->cmsg_level == IPPROTO_IP &&
			    cm->cmsg_type == IP_RECVERR) ||
			    (cm->cmsg_level == IPPROTO_IPV6 &&
			    cm->cmsg_type == IPV6_RECVERR)) {
				memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
				found = 1;
			}
		if (!found)
			continue;
		STAT_INC(&w->stats, ICMP_RECEIVED);
		if (ee.ee_origin == SO_EE_ORIGIN_ICMP)
			ok = ee.ee_type == 3 || ee.ee_type == 11;
		else if (ee.ee_origin == SO_EE_ORIGIN_ICMP6)
			ok = ee.ee_type >= 1 && ee.ee_type <= 3;
		else if (ee.ee_origin == SO_EE_ORIGIN_LOCAL &&
		    ee.ee_errno == EMSGSIZE) {
			/*
			 * The path MTU is known already and DF is asked: the
			 * stack refuses the datagram itself.  The client is
			 * told as the router would have told it.
			 */
			ok = 1;
			ee.ee_type = peer.sa.sa_family == AF_INET6 ? 2 : 3;
			ee.ee_code = peer.sa.sa_family == AF_INET6 ? 0 : 4;
		} else
			ok = 0;
		if (!ok || !perm_check(a, &peer, w->now))
			continue;
		{
			struct stun_addr sa;
			struct stun_enc e;
			uint8_t out[96], txid[STUN_TXID_LEN], icmp[8];
			uint64_t r1 = worker_rand(w), r2 = worker_rand(w);
			/* the next-hop MTU of "too big" errors, else 0 */
			uint32_t data = (ee.ee_errno == EMSGSIZE) ? ee.ee_info : 0;
			int n;

			memcpy(txid, &r1, 8);
			memcpy(txid + 8, &r2, 4);
			icmp[0] = icmp[1] = 0;
			icmp[2] = ee.ee_type;
			icmp[3] = ee.ee_code;
			icmp[4] = (uint8_t)(data >> 24);
			icmp[5] = (uint8_t)(data >> 16);
			icmp[6] = (uint8_t)(data >> 8);
			icmp[7] = (uint8_t)data;
			taddr_to_stun(&sa, &peer);
			stun_enc_init(&e, out, sizeof(out),
			    stun_type(STUN_METHOD_DATA, STUN_CLASS_INDICATION),
			    txid);
			stun_enc_xaddr(&e, STUN_ATTR_XOR_PEER_ADDRESS, &sa);
			stun_enc_attr(&e, STUN_ATTR_ICMP, icmp, sizeof(icmp));
			n = stun_enc_finish(&e);
			if (n > 0) {
				STAT_INC(&w->stats, ICMP_RELAYED);
				client_send(w, &a->ep, out, (size_t)n);
			}
		}
	}
}

void
relay_input(struct worker *w, struct relay *r, const union taddr *from,
    uint8_t *data, size_t len)
{
	struct turn_alloc *a = r->a;
	struct turn_chan *ch;
	uint8_t *start;
	size_t total;

	if (!perm_check(a, from, w->now)) {
		STAT_INC(&w->stats, DROP_NO_PERM);
		return;
	}
	if (!alloc_bw_take(a, w->snap->conf->quotas.bandwidth_per_allocation,
	    len, w->now_ms)) {
		STAT_INC(&w->stats, DROP_BANDWIDTH);
		return;
	}
	ch = chan_by_peer(a, from, w->now);
	if (ch != NULL) {
		if (len > UINT16_MAX) {
			STAT_INC(&w->stats, DROP_TOO_BIG);
			return;
		}
		start = data - CHANDATA_HDR_LEN;
		chandata_hdr(start, ch->num, (uint16_t)len);
		total = CHANDATA_HDR_LEN + len;
	} else {
		struct stun_addr peer;
		uint8_t txid[STUN_TXID_LEN];
		uint64_t r1 = worker_rand(w), r2 = worker_rand(w);
		size_t hl, pad = stun_pad(len) - len;
		int rc;

		taddr_to_stun(&peer, from);
		hl = STUN_HDR_LEN + 4 + (peer.family == STUN_AF_IPV6 ? 20 : 8) +
		    4;
		if (len + pad + hl - STUN_HDR_LEN > UINT16_MAX) {
			STAT_INC(&w->stats, DROP_TOO_BIG);
			return;
		}
		memcpy(txid, &r1, 8);
		memcpy(txid + 8, &r2, 4);
		start = data - hl;
		rc = stun_data_ind_hdr(start, hl, txid, &peer, len);
		if (rc < 0 || (size_t)rc != hl) {
			STAT_INC(&w->stats, DROP_TOO_BIG);
			return;
		}
		memset(data + len, 0, pad);
		total = hl + len + pad;
	}
	a->p2c_pkts++;
	a->p2c_bytes += len;
	STAT_INC(&w->stats, RELAY_P2C_PKTS);
	STAT_ADD(&w->stats, RELAY_P2C_BYTES, len);
	client_send_data(w, &a->ep, start, total);
}

static void
relay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	struct worker *w = r->a->w;
	size_t n;

	worker_clock(w);
	for (int round = 0; round < RELAY_ROUNDS; round++) {
		n = io_recv(w, r->fd, 0, RELAY_BATCH);
		for (size_t i = 0; i < n; i++) {
			struct io_pkt *p = &w->io.rx[i];

			if (p->truncated) {
				STAT_INC(&w->stats, DROP_TRUNCATED);
				continue;
			}
			relay_input(w, r, &p->from, p->data, p->len);
		}
		if (n == 0) {
			/* woken with nothing to read: an ICMP error waits */
			relay_errqueue(w, r);
			break;
		}
		if (n < RELAY_BATCH)
			break;
	}
}
