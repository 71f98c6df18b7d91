/*
 * UDP relay end to end: a real turnd on loopback, the test client
 * allocates, installs a permission and a channel, and data goes both ways
 * to a UDP peer over Send/Data indications and ChannelData, over IPv4 and
 * IPv6.  Also what must not pass: data to a peer without permission, data
 * from a peer without permission, ChannelData on an unbound channel.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "stun_msg.h"
#include "tclient.h"
#include "tproc.h"

static void
relay_family(struct tproc *p, const char *ip, const char *stranger_ip)
{
	struct tc c;
	struct tpeer peer, stranger;
	union tc_addr relayed, from;
	uint8_t buf[2048];
	uint16_t chan;
	char msg[64];
	int n;

	CHECK(tc_open(&c, ip, p->port, TPROC_USER, TPROC_PASS) == 0);
	CHECK(tpeer_open(&peer, ip) == 0);
	stranger.fd = -1;
	if (stranger_ip != NULL)
		CHECK(tpeer_open(&stranger, stranger_ip) == 0);
	CHECK_EQ_INT(tc_allocate_family(&c, c.server.sa.sa_family == AF_INET6 ?
	    STUN_AF_IPV6 : STUN_AF_IPV4, &relayed), 0);
	CHECK_EQ_INT(relayed.sa.sa_family, c.server.sa.sa_family);

	/* no permission yet: nothing reaches the peer */
	CHECK(tc_send_ind(&c, &peer.addr, "early", 5) == 0);
	CHECK(tpeer_recv(&peer, buf, sizeof(buf), &from, 300) < 0);

	CHECK_EQ_INT(tc_permission(&c, &peer.addr), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(msg, sizeof(msg), "send-indication %d", i);
		CHECK(tc_send_ind(&c, &peer.addr, msg, strlen(msg)) == 0);
		n = tpeer_recv(&peer, buf, sizeof(buf), &from, 1000);
		CHECK_EQ_INT(n, (int)strlen(msg));
		CHECK(n > 0 && memcmp(buf, msg, (size_t)n) == 0);
		CHECK(tc_addr_eq(&from, &relayed));

		snprintf(msg, sizeof(msg), "data-indication %d", i);
		CHECK(tpeer_send(&peer, &relayed, msg, strlen(msg)) == 0);
		n = tc_recv_data(&c, buf, sizeof(buf), &chan, &from, 1000);
		CHECK_EQ_INT(n, (int)strlen(msg));
		CHECK(n > 0 && memcmp(buf, msg, (size_t)n) == 0);
		CHECK_EQ_INT(chan, 0);
		CHECK(tc_addr_eq(&from, &peer.addr));
	}

	/* a peer without permission (another address) is not heard */
	if (stranger_ip != NULL) {
		CHECK(tpeer_send(&stranger, &relayed, "intruder", 8) == 0);
		CHECK(tc_recv_data(&c, buf, sizeof(buf), &chan, &from, 300) <
		    0);
	}

	/* unbound channel: dropped */
	CHECK(tc_send_chan(&c, 0x4001, "nochan", 6) == 0);
	CHECK(tpeer_recv(&peer, buf, sizeof(buf), &from, 300) < 0);

	CHECK_EQ_INT(tc_channel_bind(&c, 0x4001, &peer.addr), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(msg, sizeof(msg), "channel up %d", i);
		CHECK(tc_send_chan(&c, 0x4001, msg, strlen(msg)) == 0);
		n = tpeer_recv(&peer, buf, sizeof(buf), &from, 1000);
		CHECK_EQ_INT(n, (int)strlen(msg));
		CHECK(n > 0 && memcmp(buf, msg, (size_t)n) == 0);
		CHECK(tc_addr_eq(&from, &relayed));

		snprintf(msg, sizeof(msg), "channel down %d", i);
		CHECK(tpeer_send(&peer, &relayed, msg, strlen(msg)) == 0);
		n = tc_recv_data(&c, buf, sizeof(buf), &chan, NULL, 1000);
		CHECK_EQ_INT(n, (int)strlen(msg));
		CHECK(n > 0 && memcmp(buf, msg, (size_t)n) == 0);
		CHECK_EQ_INT(chan, 0x4001);
	}
	/* zero-length ChannelData is a datagram too (RFC 8656 12.6) */
	CHECK(tc_send_chan(&c, 0x4001, "", 0) == 0);
	CHECK_EQ_INT(tpeer_recv(&peer, buf, sizeof(buf), &from, 1000), 0);

	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	/* the relay is gone */
	CHECK(tc_send_chan(&c, 0x4001, "after", 5) == 0);
	CHECK(tpeer_recv(&peer, buf, sizeof(buf), &from, 300) < 0);
	tpeer_close(&stranger);
	tpeer_close(&peer);
	tc_close(&c);
}

/*
 * RFC 8656 section 11.5: a datagram to a peer port where nothing listens
 * draws an ICMP port unreachable; the client hears of it in a Data
 * indication with an ICMP attribute, and the allocation lives on.
 */
static void
icmp_unreachable(struct tproc *p)
{
	struct tc c;
	struct tpeer gone, peer;
	union tc_addr relayed, from;
	uint8_t buf[2048];
	struct stun_msg m;
	int n, seen = 0;

	CHECK(tc_open(&c, "127.0.0.1", p->port, TPROC_USER, TPROC_PASS) == 0);
	CHECK(tpeer_open(&gone, "127.0.0.1") == 0);
	CHECK(tpeer_open(&peer, "127.0.0.1") == 0);
	CHECK_EQ_INT(tc_allocate(&c, &relayed), 0);
	CHECK_EQ_INT(tc_permission(&c, &gone.addr), 0);
	/* the peer goes away: its port is closed */
	tpeer_close(&gone);
	CHECK(tc_send_ind(&c, &gone.addr, "anyone?", 7) == 0);
	for (int i = 0; i < 5 && !seen; i++) {
		n = tc_recv_raw(&c, buf, sizeof(buf), 1000);
		if (n <= 0)
			break;
		if (stun_msg_decode(&m, buf, (size_t)n) != 0 ||
		    m.method != STUN_METHOD_DATA || !STUN_HAS(&m, ICMP))
			continue;
		seen = 1;
		CHECK_EQ_INT(m.icmp_type, 3); /* destination unreachable */
		CHECK_EQ_INT(m.icmp_code, 3); /* port unreachable */
		CHECK_EQ_INT(m.n_peer, 1);
		CHECK(!STUN_HAS(&m, DATA));
		tc_addr_from_stun(&from, &m.peer[0]);
		CHECK(tc_addr_eq(&from, &gone.addr));
	}
	CHECK_MSG(seen, "no Data indication with ICMP after a closed port");
	/* the allocation still relays */
	CHECK_EQ_INT(tc_permission(&c, &peer.addr), 0);
	CHECK(tc_send_ind(&c, &peer.addr, "still here", 10) == 0);
	n = tpeer_recv(&peer, buf, sizeof(buf), &from, 1000);
	CHECK_EQ_INT(n, 10);
	CHECK(tc_addr_eq(&from, &relayed));
	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	tpeer_close(&peer);
	tc_close(&c);
}

int
main(void)
{
	struct tproc p;

	if (tproc_start(&p, 0, NULL) != 0) {
		CHECK(0);
		return CHECK_DONE();
	}
	/*
	 * 127.0.0.2 is loopback too, but has no permission; IPv6 loopback
	 * has one address only, so there is no stranger there.
	 */
	relay_family(&p, "127.0.0.1", "127.0.0.2");
	relay_family(&p, "::1", NULL);
	icmp_unreachable(&p);
	CHECK_EQ_INT(tproc_finish(&p, check_state()->failed != 0), 0);
	return CHECK_DONE();
}
