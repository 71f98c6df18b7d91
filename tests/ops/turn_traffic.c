/*
 * turn_traffic: one TURN client with its own UDP echo peer, for the
 * operator tests.  It allocates as a static user or with TURN REST
 * credentials, binds a channel (or only installs a permission) toward the
 * echo peer it runs on loopback, and sends exactly COUNT datagrams of SIZE
 * bytes through the relay; the peer echoes each one back, so as many
 * datagrams and bytes cross the relay peer to client as client to peer.
 * Every datagram carries a sequence number and a pattern, and comes back
 * checked.  It then prints a one-line JSON summary and keeps the
 * allocation alive, refreshing it, until its standard input closes or
 * --hold seconds pass; then it deletes the allocation (Refresh with
 * lifetime 0) and prints a last line.
 *
 * While it holds the allocation it takes commands on standard input, one
 * a line, and answers each with one JSON line:
 *
 *	burst N SIZE	N more datagrams of SIZE bytes each way
 *	flow PPS	a steady flow of PPS datagrams a second (0 stops)
 *	report		waits for the datagrams under way, prints the totals
 *	refresh		a Refresh now
 *	quit		as end of input
 *
 * Every line is an object with an "event": "summary", "burst", "flow",
 * "report", "refresh", "error" or "end".  Counts are in
 * "client_to_peer" and "peer_to_client": "sent" datagrams, and the
 * "packets" and "bytes" that arrived (at the peer, at the client).  "lost"
 * counts datagrams sent by the client whose echo has not come back.
 *
 * Exit status: 0 everything came back and every request succeeded; 1 a
 * datagram was lost or corrupted, or the final Refresh failed; 2 usage or
 * set-up; 3 the allocation went away (a Refresh was refused: kicked,
 * expired, server gone); 4 the Allocate, CreatePermission or ChannelBind
 * was refused (the "error" line gives the code).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tclient.h"

#define TT_CHANNEL 0x4000
#define TT_HDR 8              /* tag u32, sequence u32 */
#define TT_SIZE_MAX 1400      /* tclient encodes into 2048 bytes */
#define TT_WINDOW 32          /* datagrams under way at once */
#define TT_QUIET_MS 2000      /* how long an echo may take */
#define TT_SEQ_MAX (1u << 22) /* bounds the bookkeeping */

#define VIA_CHAN 1
#define VIA_SEND 2
#define VIA_BOTH 3

/* The echo peer: a thread answering every datagram from the relay. */
struct echo {
	struct tpeer peer;
	union tc_addr relay;
	pthread_t thread;
	atomic_int stop;
	atomic_ullong rx_pkts, rx_bytes; /* arrived from the relay */
	atomic_ullong tx_pkts, tx_bytes; /* echoed back */
	atomic_ullong strays;            /* from anyone else */
};

struct traffic {
	struct tc c;
	struct echo echo;
	union tc_addr relayed;
	int via;
	uint32_t tag;
	uint32_t lifetime_s;
	/* what the client sent and got back */
	uint32_t next_seq;
	uint16_t *sizes; /* sizes[seq]: what was sent, 0 = not yet */
	uint8_t *got;    /* got[seq]: the echo came back */
	uint32_t cap;
	unsigned long long sent_pkts, sent_bytes;
	unsigned long long recv_pkts, recv_bytes;
	unsigned long long corrupt, duplicates, unknown;
	/* flow */
	double flow_pps;
	size_t flow_size;
	long long flow_next_ms;
	/* refreshes */
	unsigned long long refreshes, refresh_failures;
	int last_refresh_code;
};

static long long now_ms(void);
static void *echo_main(void *);
static int echo_start(struct echo *);
static void echo_stop(struct echo *);
static void fill(uint8_t *, size_t, uint32_t, uint32_t);
static int send_one(struct traffic *, size_t);
static int recv_some(struct traffic *, int);
static int quiesce(struct traffic *);
static int burst(struct traffic *, uint32_t, size_t, unsigned long long *);
static void json_str(const char *);
static void print_counts(const struct traffic *);
static int do_refresh(struct traffic *, uint32_t);
static int command(struct traffic *, const char *);
static int hold(struct traffic *, long long, long long, const char **);
static void usage(void);

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *
echo_main(void *arg)
{
	struct echo *e = arg;
	uint8_t buf[65536];

	while (!atomic_load(&e->stop)) {
		union tc_addr from;
		int n = tpeer_recv(&e->peer, buf, sizeof(buf), &from, 100);

		if (n < 0)
			continue;
		if (!tc_addr_eq(&from, &e->relay) ||
		    tc_addr_port(&from) != tc_addr_port(&e->relay)) {
			atomic_fetch_add(&e->strays, 1);
			continue;
		}
		atomic_fetch_add(&e->rx_pkts, 1);
		atomic_fetch_add(&e->rx_bytes, (unsigned long long)n);
		if (tpeer_send(&e->peer, &from, buf, (size_t)n) == 0) {
			atomic_fetch_add(&e->tx_pkts, 1);
			atomic_fetch_add(&e->tx_bytes, (unsigned long long)n);
		}
	}
	return NULL;
}

static int
echo_start(struct echo *e)
{
	atomic_store(&e->stop, 0);
	return pthread_create(&e->thread, NULL, echo_main, e) == 0 ? 0 : -1;
}

static void
echo_stop(struct echo *e)
{
	atomic_store(&e->stop, 1);
	pthread_join(e->thread, NULL);
	tpeer_close(&e->peer);
}

/* The payload: tag, sequence number, then a pattern of both. */
static void
fill(uint8_t *p, size_t len, uint32_t tag, uint32_t seq)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(tag >> (24 - 8 * i));
		p[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
	}
	for (size_t i = TT_HDR; i < len; i++)
		p[i] = (uint8_t)(seq * 31u + tag + i);
}

static int
grow(struct traffic *t, uint32_t seq)
{
	uint32_t nc;
	uint16_t *ns;
	uint8_t *ng;

	if (seq < t->cap)
		return 0;
	if (seq >= TT_SEQ_MAX)
		return -1;
	nc = t->cap ? t->cap * 2 : 4096;
	while (nc <= seq)
		nc *= 2;
	ns = realloc(t->sizes, nc * sizeof(*ns));
	if (ns == NULL)
		return -1;
	t->sizes = ns;
	ng = realloc(t->got, nc);
	if (ng == NULL)
		return -1;
	t->got = ng;
	memset(t->sizes + t->cap, 0, (nc - t->cap) * sizeof(*ns));
	memset(t->got + t->cap, 0, nc - t->cap);
	t->cap = nc;
	return 0;
}

static unsigned long long
outstanding(const struct traffic *t)
{
	return t->sent_pkts - t->recv_pkts;
}

/* Sends the next datagram of len bytes. Returns 0 or -1. */
static int
send_one(struct traffic *t, size_t len)
{
	uint8_t buf[TT_SIZE_MAX];
	uint32_t seq = t->next_seq;
	int rc;

	if (grow(t, seq) != 0)
		return -1;
	fill(buf, len, t->tag, seq);
	if (t->via == VIA_CHAN || (t->via == VIA_BOTH && seq % 2 == 0))
		rc = tc_send_chan(&t->c, TT_CHANNEL, buf, len);
	else
		rc = tc_send_ind(&t->c, &t->echo.peer.addr, buf, len);
	if (rc != 0)
		return -1;
	t->sizes[seq] = (uint16_t)len;
	t->next_seq++;
	t->sent_pkts++;
	t->sent_bytes += len;
	return 0;
}

/* Checks one datagram that came back. */
static void
take(struct traffic *t, const uint8_t *p, int n, uint16_t chan,
    const union tc_addr *from)
{
	uint8_t want[TT_SIZE_MAX];
	uint32_t tag = 0, seq = 0;

	if (n < TT_HDR) {
		t->unknown++;
		return;
	}
	for (int i = 0; i < 4; i++) {
		tag = tag << 8 | p[i];
		seq = seq << 8 | p[4 + i];
	}
	if (tag != t->tag || seq >= t->next_seq || t->sizes[seq] == 0) {
		t->unknown++;
		return;
	}
	/* a channel came back on the channel, the rest in Data indications */
	if ((t->via == VIA_SEND && (chan != 0 ||
	    !tc_addr_eq(from, &t->echo.peer.addr) ||
	    tc_addr_port(from) != tc_addr_port(&t->echo.peer.addr))) ||
	    (t->via != VIA_SEND && chan != TT_CHANNEL)) {
		t->corrupt++;
		return;
	}
	fill(want, t->sizes[seq], t->tag, seq);
	if ((size_t)n != t->sizes[seq] || memcmp(p, want, (size_t)n) != 0) {
		t->corrupt++;
		return;
	}
	if (t->got[seq]) {
		t->duplicates++;
		return;
	}
	t->got[seq] = 1;
	t->recv_pkts++;
	t->recv_bytes += (unsigned long long)n;
}

/*
 * Receives what comes within timeout_ms, then whatever else is already
 * there.  Returns how many datagrams were taken.
 */
static int
recv_some(struct traffic *t, int timeout_ms)
{
	uint8_t buf[2048];
	int taken = 0;

	for (;;) {
		union tc_addr from;
		uint16_t chan = 0;
		int n;

		memset(&from, 0, sizeof(from));
		n = tc_recv_data(&t->c, buf, sizeof(buf), &chan, &from,
		    taken == 0 ? timeout_ms : 1);
		if (n < 0)
			return taken;
		take(t, buf, n, chan, &from);
		taken++;
	}
}

/* Waits until every echo is back or TT_QUIET_MS pass without one. */
static int
quiesce(struct traffic *t)
{
	while (outstanding(t) > 0)
		if (recv_some(t, TT_QUIET_MS) == 0)
			return -1;
	return 0;
}

/*
 * n datagrams of len bytes, at most TT_WINDOW under way.  *back counts
 * those whose echo came back.  Returns 0 when all did.
 */
static int
burst(struct traffic *t, uint32_t n, size_t len, unsigned long long *back)
{
	uint32_t first = t->next_seq, sent = 0;

	*back = 0;
	while (sent < n) {
		while (sent < n && outstanding(t) < TT_WINDOW) {
			if (send_one(t, len) != 0)
				goto count;
			sent++;
		}
		if (recv_some(t, TT_QUIET_MS) == 0)
			goto count;
	}
	(void)quiesce(t);
count:
	for (uint32_t s = first; s < first + sent; s++)
		*back += t->got[s];
	return *back == n ? 0 : -1;
}

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void
print_counts(const struct traffic *t)
{
	printf("\"client_to_peer\":{\"sent\":%llu,\"sent_bytes\":%llu,"
	    "\"packets\":%llu,\"bytes\":%llu},"
	    "\"peer_to_client\":{\"sent\":%llu,\"sent_bytes\":%llu,"
	    "\"packets\":%llu,\"bytes\":%llu},"
	    "\"lost\":%llu,\"corrupt\":%llu,\"duplicates\":%llu,"
	    "\"unknown\":%llu,\"strays\":%llu,\"refreshes\":%llu,"
	    "\"refresh_failures\":%llu",
	    t->sent_pkts, t->sent_bytes,
	    (unsigned long long)atomic_load(&t->echo.rx_pkts),
	    (unsigned long long)atomic_load(&t->echo.rx_bytes),
	    (unsigned long long)atomic_load(&t->echo.tx_pkts),
	    (unsigned long long)atomic_load(&t->echo.tx_bytes), t->recv_pkts,
	    t->recv_bytes, outstanding(t), t->corrupt, t->duplicates,
	    t->unknown, (unsigned long long)atomic_load(&t->echo.strays),
	    t->refreshes, t->refresh_failures);
}

static int
clean(const struct traffic *t)
{
	return outstanding(t) == 0 && t->corrupt == 0 && t->duplicates == 0 &&
	    t->unknown == 0 && atomic_load(&t->echo.strays) == 0;
}

/* A Refresh after the echoes are in (a transaction eats what it reads). */
static int
do_refresh(struct traffic *t, uint32_t lifetime)
{
	int code;

	(void)quiesce(t);
	code = tc_refresh(&t->c, lifetime);
	t->last_refresh_code = code;
	if (code == 0)
		t->refreshes++;
	else
		t->refresh_failures++;
	return code;
}

/* Ends of the hold. */
#define HOLD_GOING 0
#define HOLD_STDIN 1 /* end of input or "quit" */
#define HOLD_GONE 3  /* a Refresh was refused */

/* One command line; answers with one JSON line. Returns HOLD_*. */
static int
command(struct traffic *t, const char *line)
{
	unsigned long long back;
	unsigned long n, size;
	double pps;
	int code;

	if (strcmp(line, "quit") == 0)
		return HOLD_STDIN;
	if (sscanf(line, "burst %lu %lu", &n, &size) == 2 && size >= TT_HDR &&
	    size <= TT_SIZE_MAX) {
		int rc = burst(t, (uint32_t)n, size, &back);

		printf("{\"event\":\"burst\",\"count\":%lu,\"size\":%lu,"
		    "\"back\":%llu,\"ok\":%s,", n, size, back,
		    rc == 0 && clean(t) ? "true" : "false");
		print_counts(t);
		printf("}\n");
	} else if (sscanf(line, "flow %lf", &pps) == 1 && pps >= 0 &&
	    pps <= 2000) {
		t->flow_pps = pps;
		t->flow_next_ms = now_ms();
		printf("{\"event\":\"flow\",\"pps\":%.1f}\n", pps);
	} else if (strcmp(line, "report") == 0) {
		(void)quiesce(t);
		printf("{\"event\":\"report\",\"ok\":%s,",
		    clean(t) ? "true" : "false");
		print_counts(t);
		printf("}\n");
	} else if (strcmp(line, "refresh") == 0) {
		code = do_refresh(t, t->lifetime_s);
		printf("{\"event\":\"refresh\",\"code\":%d}\n", code);
		if (code != 0)
			return HOLD_GONE;
	} else
		printf("{\"event\":\"error\",\"stage\":\"command\","
		    "\"code\":-1}\n");
	return HOLD_GOING;
}

/*
 * Holds the allocation until end_ms: refreshes it every refresh_ms, sends
 * the flow, takes what comes back and runs the commands.  Returns 0 or
 * HOLD_GONE, with *reason saying why it ended.
 */
static int
hold(struct traffic *t, long long end_ms, long long refresh_ms,
    const char **reason)
{
	long long next_refresh = now_ms() + refresh_ms;
	char line[256];
	size_t llen = 0;
	int rc = HOLD_GOING;

	*reason = "hold";
	while (rc == HOLD_GOING) {
		long long now = now_ms(), wait = 100;
		struct pollfd pfd[2] = {
			{ .fd = t->c.fd, .events = POLLIN },
			{ .fd = 0, .events = POLLIN },
		};
		ssize_t n;
		char *nl;

		if (now >= end_ms)
			return 0;
		if (now >= next_refresh) {
			int code = do_refresh(t, t->lifetime_s);

			next_refresh = now_ms() + refresh_ms;
			if (code != 0) {
				printf("{\"event\":\"refresh\",\"code\":%d}\n",
				    code);
				rc = HOLD_GONE;
			}
			continue;
		}
		/* the flow is paced; a full window waits for echoes */
		if (t->flow_pps > 0 && now >= t->flow_next_ms &&
		    outstanding(t) < TT_WINDOW) {
			if (send_one(t, t->flow_size) != 0)
				t->corrupt++;
			t->flow_next_ms += (long long)(1000.0 / t->flow_pps);
			if (t->flow_next_ms < now - 1000)
				t->flow_next_ms = now;
			continue;
		}
		if (t->flow_pps > 0 && t->flow_next_ms - now < wait)
			wait = t->flow_next_ms - now < 1 ? 1 :
			    t->flow_next_ms - now;
		if (next_refresh - now < wait)
			wait = next_refresh - now;
		if (end_ms - now < wait)
			wait = end_ms - now;
		/* a stream may hold a frame already read */
		if (t->c.transport != TC_UDP && t->c.slen > 0)
			wait = 0;
		if (poll(pfd, 2, (int)wait) < 0 && errno != EINTR)
			return 0;
		if (pfd[0].revents != 0 || (t->c.transport != TC_UDP &&
		    t->c.slen > 0))
			(void)recv_some(t, 1);
		if (t->c.transport != TC_UDP && t->c.closed) {
			/* closing the connection ended the allocation */
			printf("{\"event\":\"refresh\",\"code\":-1}\n");
			t->last_refresh_code = -1;
			rc = HOLD_GONE;
			break;
		}
		if (pfd[1].revents == 0)
			continue;
		n = read(0, line + llen, sizeof(line) - 1 - llen);
		if (n <= 0) {
			rc = HOLD_STDIN;
			break;
		}
		llen += (size_t)n;
		line[llen] = '\0';
		while (rc == HOLD_GOING && (nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			rc = command(t, line);
			memmove(line, nl + 1, strlen(nl + 1) + 1);
			llen = strlen(line);
		}
		if (llen == sizeof(line) - 1)
			llen = 0; /* an endless line: dropped */
	}
	if (rc == HOLD_GONE) {
		*reason = "gone";
		return HOLD_GONE;
	}
	*reason = "stdin";
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: turn_traffic --port PORT [--server IP] [--transport "
	    "udp|tcp|tls]\n"
	    "         (--user U --password P | --secret S [--id ID] "
	    "[--ttl S])\n"
	    "         [--count N] [--size BYTES] [--via chan|send|both]\n"
	    "         [--family 4|6] [--lifetime S] [--refresh-ms MS]\n"
	    "         [--hold S] [--rate PPS]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "transport", required_argument, NULL, 'T' },
		{ "user", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'w' },
		{ "secret", required_argument, NULL, 'S' },
		{ "id", required_argument, NULL, 'i' },
		{ "ttl", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 'b' },
		{ "via", required_argument, NULL, 'm' },
		{ "family", required_argument, NULL, 'f' },
		{ "lifetime", required_argument, NULL, 'l' },
		{ "refresh-ms", required_argument, NULL, 'r' },
		{ "hold", required_argument, NULL, 'H' },
		{ "rate", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	static struct traffic t;
	const char *server = "127.0.0.1", *user = NULL, *pass = NULL,
	    *secret = NULL, *id = NULL, *transport = "udp";
	char rest_user[256], rest_pass[64], cbuf[64], rbuf[64], pbuf[64];
	unsigned long port = 0, count = 100, size = 200, ttl = 3600;
	unsigned long family = 4, refresh_ms = 2000, hold_s = 50;
	double rate = 0;
	unsigned long long back = 0;
	const char *reason;
	int ch, code, status, bad = 0;
	uint8_t fam;

	t.via = VIA_CHAN;
	t.lifetime_s = 600;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			server = optarg;
			break;
		case 'p':
			port = strtoul(optarg, NULL, 10);
			break;
		case 'T':
			transport = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'w':
			pass = optarg;
			break;
		case 'S':
			secret = optarg;
			break;
		case 'i':
			id = optarg;
			break;
		case 't':
			ttl = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			count = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			size = strtoul(optarg, NULL, 10);
			break;
		case 'm':
			t.via = strcmp(optarg, "chan") == 0 ? VIA_CHAN :
			    strcmp(optarg, "send") == 0 ? VIA_SEND :
			    strcmp(optarg, "both") == 0 ? VIA_BOTH : 0;
			bad |= t.via == 0;
			break;
		case 'f':
			family = strtoul(optarg, NULL, 10);
			break;
		case 'l':
			t.lifetime_s = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			refresh_ms = strtoul(optarg, NULL, 10);
			break;
		case 'H':
			hold_s = strtoul(optarg, NULL, 10);
			break;
		case 'R':
			rate = strtod(optarg, NULL);
			break;
		default:
			bad = 1;
		}
	}
	if (bad || optind != argc || port == 0 || port > 65535 ||
	    (secret == NULL) == (user == NULL || pass == NULL) ||
	    size < TT_HDR || size > TT_SIZE_MAX || (family != 4 &&
	    family != 6) || refresh_ms == 0 || rate < 0 || rate > 2000) {
		usage();
		return 2;
	}
	if (secret != NULL) {
		snprintf(rest_user, sizeof(rest_user), "%lld%s%s",
		    (long long)time(NULL) + (long long)ttl, id ? ":" : "",
		    id ? id : "");
		tc_rest_password(secret, rest_user, rest_pass);
		user = rest_user;
		pass = rest_pass;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	srand((unsigned int)(getpid() ^ time(NULL)));
	t.tag = (uint32_t)rand() << 8 ^ (uint32_t)getpid();

	if (strcmp(transport, "udp") == 0)
		code = tc_open(&t.c, server, (uint16_t)port, user, pass);
	else {
		struct tc_stream s;

		memset(&s, 0, sizeof(s));
		s.transport = strcmp(transport, "tls") == 0 ? TC_TLS : TC_TCP;
		code = tc_open_stream(&t.c, &s, server, (uint16_t)port, user,
		    pass);
	}
	if (code != 0) {
		printf("{\"event\":\"error\",\"stage\":\"connect\","
		    "\"code\":-1}\n");
		tc_close(&t.c);
		return 2;
	}
	fam = family == 6 ? STUN_AF_IPV6 : STUN_AF_IPV4;
	if (tpeer_open(&t.echo.peer, family == 6 ? "::1" : "127.0.0.1") != 0) {
		printf("{\"event\":\"error\",\"stage\":\"peer\","
		    "\"code\":-1}\n");
		tc_close(&t.c);
		return 2;
	}
	code = tc_allocate_family(&t.c, fam, &t.relayed);
	if (code == 0) {
		t.echo.relay = t.relayed;
		if (echo_start(&t.echo) != 0)
			code = -1;
	} else
		tpeer_close(&t.echo.peer);
	if (code != 0) {
		printf("{\"event\":\"error\",\"stage\":\"allocate\",\"user\":");
		json_str(user);
		printf(",\"code\":%d}\n", code);
		tc_close(&t.c);
		return 4;
	}
	code = t.via == VIA_SEND ? tc_permission(&t.c, &t.echo.peer.addr) :
	    tc_channel_bind(&t.c, TT_CHANNEL, &t.echo.peer.addr);
	if (code != 0) {
		printf("{\"event\":\"error\",\"stage\":\"%s\",\"code\":%d}\n",
		    t.via == VIA_SEND ? "permission" : "channel", code);
		(void)tc_refresh(&t.c, 0);
		echo_stop(&t.echo);
		tc_close(&t.c);
		return 4;
	}
	if (count > 0)
		(void)burst(&t, (uint32_t)count, size, &back);
	printf("{\"event\":\"summary\",\"user\":");
	json_str(user);
	printf(",\"password\":");
	json_str(pass);
	printf(",\"transport\":\"%s\",\"client\":\"%s\",\"relay\":\"%s\","
	    "\"peer\":\"%s\",\"via\":\"%s\",\"channel\":%d,\"count\":%lu,"
	    "\"size\":%lu,\"ok\":%s,", transport,
	    tc_addr_str(&t.c.local, cbuf, sizeof(cbuf)),
	    tc_addr_str(&t.relayed, rbuf, sizeof(rbuf)),
	    tc_addr_str(&t.echo.peer.addr, pbuf, sizeof(pbuf)),
	    t.via == VIA_CHAN ? "chan" : t.via == VIA_SEND ? "send" : "both",
	    t.via == VIA_SEND ? 0 : TT_CHANNEL, count, size,
	    clean(&t) ? "true" : "false");
	print_counts(&t);
	printf("}\n");

	t.flow_pps = rate;
	t.flow_size = size;
	t.flow_next_ms = now_ms();
	status = hold(&t, now_ms() + (long long)hold_s * 1000,
	    (long long)refresh_ms, &reason);
	(void)quiesce(&t);
	code = status == HOLD_GONE ? t.last_refresh_code :
	    tc_refresh(&t.c, 0);
	if (status == 0 && (code != 0 || !clean(&t)))
		status = 1;
	printf("{\"event\":\"end\",\"reason\":\"%s\",\"deallocate\":%d,"
	    "\"ok\":%s,", reason, status == HOLD_GONE ? -1 : code,
	    status == 0 ? "true" : "false");
	print_counts(&t);
	printf("}\n");
	echo_stop(&t.echo);
	tc_close(&t.c);
	free(t.sizes);
	free(t.got);
	return status;
}
