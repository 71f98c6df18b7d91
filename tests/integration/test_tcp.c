/*
 * TURN over TCP and TLS client connections (RFC 8656 sections 3.1 and
 * 12.5) against a real turnd on loopback, the data path: allocations with
 * a UDP relay and data both ways to a UDP peer (Send/Data indications,
 * ChannelData padded by the client or not, always padded by the server),
 * IPv4 and IPv6; framing (a whole exchange one byte at a time, several
 * frames in one write, ChannelData split anywhere); and what garbage does
 * to a connection and to the server.  test_tcp_limits.c has the limits.
 */
#include <stdio.h>
#include <string.h>

#include "chandata.h"
#include "check.h"
#include "stun_enc.h"
#include "streamtest.h"
#include "tclient.h"
#include "tproc.h"

/*
 * Allocate, permission, channel and data both ways over a stream of the
 * given transport and address family.
 */
static void
test_relay(const struct tproc *p, int transport, const char *ip)
{
	struct tc c;
	struct tpeer peer;
	union tc_addr relayed, from, mapped;
	struct tc_msg m;
	struct tc_resp r;
	uint8_t buf[2048], data[64], frame[256];
	uint16_t chan;
	char msg[64], where[32];
	int n;

	snprintf(where, sizeof(where), "%s %s", st_tname(transport), ip);
	CHECK_MSG(st_open(&c, p, transport, ip) == 0, "%s: connect %s", where,
	    c.tls_error);
	CHECK(tpeer_open(&peer, ip) == 0);

	/* the reflexive address of a stream is its TCP source */
	tcm_init(&m, STUN_METHOD_BINDING);
	CHECK_EQ_INT(tc_transact(&c, &m, &r), 0);
	tc_addr_from_stun(&mapped, &r.m.xor_mapped);
	CHECK_MSG(
	    STUN_HAS(&r.m, XOR_MAPPED_ADDRESS) && tc_addr_eq(&mapped, &c.local),
	    "%s: XOR-MAPPED-ADDRESS", where);

	CHECK_EQ_INT(
	    tc_allocate_family(&c,
	        c.server.sa.sa_family == AF_INET6 ? STUN_AF_IPV6 : STUN_AF_IPV4,
	        &relayed),
	    0);
	CHECK_MSG(tc_addr_ip_is(&relayed, ip), "%s: relayed family", where);
	CHECK_EQ_INT(tc_permission(&c, &peer.addr), 0);

	for (int i = 0; i < 10; i++) {
		snprintf(msg, sizeof(msg), "%s send-indication %d", where, i);
		CHECK(tc_send_ind(&c, &peer.addr, msg, strlen(msg)) == 0);
		st_peer_expect(&peer, &relayed, msg, strlen(msg), where);

		snprintf(msg, sizeof(msg), "data-indication %d%.*s", i, i,
		    "abcdefghij");
		CHECK(tpeer_send(&peer, &relayed, msg, strlen(msg)) == 0);
		n = tc_recv_data(&c, buf, sizeof(buf), &chan, &from, 1000);
		CHECK_MSG(
		    n == (int)strlen(msg) && memcmp(buf, msg, (size_t)n) == 0,
		    "%s: Data indication %d: got %d bytes", where, i, n);
		CHECK_EQ_INT(chan, 0);
		CHECK(tc_addr_eq(&from, &peer.addr));
	}

	CHECK_EQ_INT(tc_channel_bind(&c, ST_CHAN, &peer.addr), 0);
	/* the client pads (tc's default on streams), every length mod 4 */
	for (unsigned len = 0; len < 10; len++) {
		st_fill(data, len, len);
		CHECK(tc_send_chan(&c, ST_CHAN, data, len) == 0);
		n = tpeer_recv(&peer, buf, sizeof(buf), &from, 1000);
		CHECK_MSG(n == (int)len && memcmp(buf, data, len) == 0,
		    "%s: padded ChannelData of %u: peer got %d", where, len, n);
	}
	/* the server pads: 4 + data rounded up to four, zeros after it */
	for (unsigned len = 0; len < 10; len++) {
		size_t want = CHANDATA_HDR_LEN + stun_pad(len);

		st_fill(data, len, 100 + len);
		CHECK(tpeer_send(&peer, &relayed, data, len) == 0);
		n = tc_recv_raw(&c, frame, sizeof(frame), 1000);
		CHECK_MSG(n == (int)want,
		    "%s: ChannelData of %u from the "
		    "server is a frame of %d, want %zu",
		    where, len, n, want);
		if (n != (int)want)
			continue;
		CHECK_EQ_INT(frame[0] << 8 | frame[1], ST_CHAN);
		CHECK_EQ_INT(frame[2] << 8 | frame[3], len);
		CHECK_MEMEQ(frame + 4, len, data, len);
		for (size_t i = CHANDATA_HDR_LEN + len; i < want; i++)
			CHECK_MSG(frame[i] == 0, "%s: padding byte %zu is %#x",
			    where, i, frame[i]);
	}
	for (int i = 0; i < 5; i++) {
		snprintf(msg, sizeof(msg), "channel down %d", i);
		CHECK(tpeer_send(&peer, &relayed, msg, strlen(msg)) == 0);
		n = tc_recv_data(&c, buf, sizeof(buf), &chan, NULL, 1000);
		CHECK_MSG(
		    n == (int)strlen(msg) && memcmp(buf, msg, (size_t)n) == 0,
		    "%s: channel down %d: got %d", where, i, n);
		CHECK_EQ_INT(chan, ST_CHAN);
	}

	CHECK_EQ_INT(tc_refresh(&c, 0), 0);
	CHECK(tc_send_chan(&c, ST_CHAN, "after", 5) == 0);
	CHECK(tpeer_recv(&peer, buf, sizeof(buf), &from, 300) < 0);
	CHECK_MSG(!c.closed && !c.bad_frame, "%s: connection state", where);
	tc_close(&c);
	tpeer_close(&peer);
}

/*
 * A client that does not pad its ChannelData (RFC 8656 says it must on
 * streams; turnd learns that a connection does not): each frame alone,
 * then back to back with a request after them.
 */
static void
test_unpadded(const struct tproc *p, int transport, const char *ip)
{
	struct tc c;
	struct tpeer peer;
	union tc_addr relayed, from;
	uint8_t buf[2048], data[64], wr[256], txid[12];
	char where[32];
	size_t off = 0;
	int n;

	snprintf(where, sizeof(where), "%s %s", st_tname(transport), ip);
	CHECK(st_open(&c, p, transport, ip) == 0);
	CHECK(tpeer_open(&peer, ip) == 0);
	CHECK_MSG(st_setup_channel(&c, &peer, &relayed) == 0,
	    "%s: unpadded "
	    "client setup",
	    where);
	c.chan_pad = 0;
	for (unsigned len = 1; len < 8; len++) {
		st_fill(data, len, 200 + len);
		CHECK(tc_send_chan(&c, ST_CHAN, data, len) == 0);
		n = tpeer_recv(&peer, buf, sizeof(buf), &from, 1000);
		if (!CHECK_MSG(n == (int)len && memcmp(buf, data, len) == 0,
		        "%s: unpadded ChannelData of %u: peer got %d", where,
		        len, n))
			goto out; /* the rest would only repeat it */
	}
	for (unsigned len = 5; len < 8; len++) {
		chandata_hdr(wr + off, ST_CHAN, (uint16_t)len);
		st_fill(wr + off + 4, len, 300 + len);
		off += 4 + len;
	}
	off += st_binding_req(&c, wr + off, sizeof(wr) - off, txid);
	CHECK(tc_send_raw(&c, wr, off) == 0);
	for (unsigned len = 5; len < 8; len++) {
		st_fill(data, len, 300 + len);
		n = tpeer_recv(&peer, buf, sizeof(buf), &from, 1000);
		CHECK_MSG(n == (int)len && memcmp(buf, data, len) == 0,
		    "%s: unpadded back to back %u: peer got %d", where, len, n);
	}
	CHECK_MSG(st_await(&c, txid, 2000) == 0,
	    "%s: Binding after "
	    "unpadded ChannelData",
	    where);
	/* what comes back is padded all the same */
	CHECK(tpeer_send(&peer, &relayed, "down", 4) == 0 &&
	    tpeer_send(&peer, &relayed, "down5", 5) == 0);
	CHECK_MSG(tc_recv_data(&c, buf, sizeof(buf), NULL, NULL, 1000) == 4 &&
	        tc_recv_data(&c, buf, sizeof(buf), NULL, NULL, 1000) == 5,
	    "%s: ChannelData to an unpadded client", where);
	CHECK_MSG(!c.closed && !c.bad_frame,
	    "%s: unpadded client connection "
	    "state",
	    where);
out:
	tc_close(&c);
	tpeer_close(&peer);
}

/* Split writes and several frames in one write. */
static void
test_framing(const struct tproc *p, int transport)
{
	const char *w = st_tname(transport);
	struct tc c;
	struct tpeer peer;
	union tc_addr relayed;
	uint8_t wr[512], txids[3][12], frame[512];
	uint8_t data[5] = {'h', 'e', 'l', 'l', 'o'};
	size_t off = 0;

	/* a whole Allocate exchange (401, then the real one) byte by byte */
	CHECK(st_open(&c, p, transport, "127.0.0.1") == 0);
	CHECK(tpeer_open(&peer, "127.0.0.1") == 0);
	c.write_chunk = 1;
	c.write_gap_ms = 1;
	CHECK_MSG(tc_allocate(&c, &relayed) == 0,
	    "%s: Allocate one byte at "
	    "a time",
	    w);
	CHECK_MSG(tc_permission(&c, &peer.addr) == 0,
	    "%s: CreatePermission "
	    "one byte at a time",
	    w);
	CHECK_MSG(tc_channel_bind(&c, ST_CHAN, &peer.addr) == 0,
	    "%s: "
	    "ChannelBind one byte at a time",
	    w);
	c.write_chunk = 0;
	CHECK_MSG(!c.closed, "%s: open after byte-wise writes", w);

	/* three Binding requests in one write: three answers, in order */
	for (int i = 0; i < 3; i++)
		off += st_binding_req(&c, wr + off, sizeof(wr) - off, txids[i]);
	CHECK(tc_send_raw(&c, wr, off) == 0);
	for (int i = 0; i < 3; i++) {
		struct stun_msg m;
		int n = tc_recv_raw(&c, frame, sizeof(frame), 2000);

		CHECK_MSG(n > 0 && stun_msg_decode(&m, frame, (size_t)n) == 0 &&
		        m.cls == STUN_CLASS_SUCCESS &&
		        memcmp(m.txid, txids[i], 12) == 0,
		    "%s: response %d of three in one write", w, i);
	}

	/* a Send indication, a padded ChannelData and a Binding at once */
	{
		struct tc_msg m;
		uint8_t txid[12];
		int n;

		tcm_init(&m, STUN_METHOD_SEND);
		m.cls = STUN_CLASS_INDICATION;
		tcm_xaddr(&m, STUN_ATTR_XOR_PEER_ADDRESS, &peer.addr);
		tcm_raw(&m, STUN_ATTR_DATA, "ind", 3);
		n = tc_encode(&c, &m, wr, sizeof(wr), txid);
		off = n > 0 ? (size_t)n : 0;
		chandata_hdr(wr + off, ST_CHAN, 5);
		memcpy(wr + off + 4, data, 5);
		memset(wr + off + 9, 0, 3);
		off += 12;
		off += st_binding_req(&c, wr + off, sizeof(wr) - off, txid);
		CHECK(tc_send_raw(&c, wr, off) == 0);
		st_peer_expect(&peer, &relayed, "ind", 3, "mixed write");
		st_peer_expect(&peer, &relayed, data, 5, "mixed write");
		CHECK_MSG(st_await(&c, txid, 2000) == 0,
		    "%s: Binding after "
		    "an indication and ChannelData in one write",
		    w);
	}

	/* ChannelData split at every byte, the padding seen before */
	for (size_t at = 1; at < 12; at++) {
		chandata_hdr(wr, ST_CHAN, 5);
		memcpy(wr + 4, data, 5);
		memset(wr + 9, 0, 3);
		CHECK(tc_send_raw(&c, wr, at) == 0);
		st_sleep_ms(20);
		CHECK(tc_send_raw(&c, wr + at, 12 - at) == 0);
		st_peer_expect(&peer, &relayed, data, 5, "split ChannelData");
	}
	CHECK_MSG(
	    st_binding(&c) == 0, "%s: Binding after split ChannelData", w);
	tc_close(&c);

	/*
	 * The first ChannelData of a connection split at every byte: the
	 * client pads as the RFC says, whatever the segments look like.
	 */
	for (size_t at = 1; at < 12; at++) {
		char what[64];

		snprintf(what, sizeof(what),
		    "%s: first ChannelData split at %zu", w, at);
		CHECK(st_open(&c, p, transport, "127.0.0.1") == 0);
		CHECK_MSG(
		    st_setup_channel(&c, &peer, &relayed) == 0, "%s", what);
		chandata_hdr(wr, ST_CHAN, 5);
		memcpy(wr + 4, data, 5);
		memset(wr + 9, 0, 3);
		CHECK(tc_send_raw(&c, wr, at) == 0);
		st_sleep_ms(30);
		CHECK(tc_send_raw(&c, wr + at, 12 - at) == 0);
		st_peer_expect(&peer, &relayed, data, 5, what);
		CHECK_MSG(st_binding(&c) == 0, "%s: Binding after it", what);
		CHECK_MSG(tc_send_chan(&c, ST_CHAN, "next", 4) == 0 &&
		        tpeer_recv(&peer, frame, sizeof(frame), NULL, 1000) ==
		            4,
		    "%s: ChannelData after it", what);
		tc_close(&c);
	}

	/* the same, one byte at a time */
	CHECK(st_open(&c, p, transport, "127.0.0.1") == 0);
	CHECK(st_setup_channel(&c, &peer, &relayed) == 0);
	c.write_chunk = 1;
	c.write_gap_ms = 2;
	CHECK(tc_send_chan(&c, ST_CHAN, data, 5) == 0);
	c.write_chunk = 0;
	st_peer_expect(&peer, &relayed, data, 5, "first ChannelData byte-wise");
	CHECK_MSG(st_binding(&c) == 0,
	    "%s: Binding after byte-wise "
	    "ChannelData",
	    w);
	tc_close(&c);
	tpeer_close(&peer);
}

/* What closes a connection at once, and what does not. */
static void
test_garbage(const struct tproc *p, int transport)
{
	static const uint8_t ff[8] = {
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	const char *w = st_tname(transport);
	struct tc c;
	uint8_t wr[64], txid[12];
	size_t n;
	int ms;

	/* garbage after a valid, answered request */
	CHECK(st_open(&c, p, transport, "127.0.0.1") == 0);
	CHECK_EQ_INT(st_binding(&c), 0);
	CHECK(tc_send_raw(&c, ff, sizeof(ff)) == 0);
	ms = tc_wait_closed(&c, 1000);
	CHECK_MSG(ms >= 0, "%s: 0xff bytes: connection not closed", w);
	tc_close(&c);
	CHECK(st_open(&c, p, transport, "127.0.0.1") == 0);
	CHECK_MSG(st_binding(&c) == 0, "%s: new connection after garbage", w);

	/* a request and garbage in the same write */
	n = st_binding_req(&c, wr, sizeof(wr), txid);
	memcpy(wr + n, ff, 4);
	CHECK(tc_send_raw(&c, wr, n + 4) == 0);
	CHECK_MSG(tc_wait_closed(&c, 1000) >= 0,
	    "%s: request + garbage: "
	    "connection not closed",
	    w);
	tc_close(&c);

	/* a STUN header with a wrong magic cookie */
	CHECK(st_open(&c, p, transport, "127.0.0.1") == 0);
	n = st_binding_req(&c, wr, sizeof(wr), txid);
	wr[4] ^= 0x01;
	CHECK(tc_send_raw(&c, wr, n) == 0);
	CHECK_MSG(tc_wait_closed(&c, 1000) >= 0,
	    "%s: bad magic cookie: "
	    "connection not closed",
	    w);
	tc_close(&c);

	/*
	 * A well-framed message that does not decode (an attribute longer
	 * than the message) gets a 400 or nothing; the stream is intact and
	 * the connection stays.
	 */
	CHECK(st_open(&c, p, transport, "127.0.0.1") == 0);
	n = st_binding_req(&c, wr, sizeof(wr), txid);
	wr[2] = 0;
	wr[3] = 8;
	memcpy(wr + n,
	    "\x80\x22\x00\x64"
	    "abcd",
	    8);
	CHECK(tc_send_raw(&c, wr, n + 8) == 0);
	CHECK_MSG(st_await(&c, txid, 300) != 0,
	    "%s: a malformed request "
	    "succeeded",
	    w);
	CHECK_MSG(!c.closed && st_binding(&c) == 0,
	    "%s: connection lost after "
	    "a malformed but framed request",
	    w);
	tc_close(&c);

	/* the server is fine */
	CHECK(st_open(&c, p, transport, "127.0.0.1") == 0);
	CHECK_MSG(st_binding(&c) == 0, "%s: server after garbage", w);
	tc_close(&c);
}

int
main(void)
{
	static const int transports[] = {TC_TCP, TC_TLS};
	struct tproc p;

	/* a server for each group, so that one failure stays in its group */
	for (int i = 0; i < 2; i++) {
		int t = transports[i];

		if (tproc_start(&p, TPROC_TCP | TPROC_TLS, NULL) != 0) {
			CHECK(0);
			continue;
		}
		test_relay(&p, t, "127.0.0.1");
		test_relay(&p, t, "::1");
		test_unpadded(&p, t, "127.0.0.1");
		test_unpadded(&p, t, "::1");
		st_finish(&p, "relay");

		if (tproc_start(
		        &p, TPROC_TCP | TPROC_TLS | TPROC_NO_IPV6, NULL) != 0) {
			CHECK(0);
			continue;
		}
		test_framing(&p, t);
		st_finish(&p, "framing");

		if (tproc_start(
		        &p, TPROC_TCP | TPROC_TLS | TPROC_NO_IPV6, NULL) != 0) {
			CHECK(0);
			continue;
		}
		test_garbage(&p, t);
		st_finish(&p, "garbage");
	}
	return CHECK_DONE();
}
