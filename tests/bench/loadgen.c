/*
 * loadgen: a TURN load generator for loopback benchmarks.  One thread,
 * one epoll set, recvmmsg/sendmmsg on every socket.
 *
 *	loadgen relay [options]	N allocations (credential dance, ChannelBind
 *				or CreatePermission), then traffic paced at
 *				a fixed rate each way between the clients
 *				and a UDP peer socket of its own
 *	loadgen alloc [options]	allocation rate: Allocate (401), Allocate,
 *				Refresh 0, over and over, C sequences at once
 *	loadgen hold -H 1000,5000 [options]
 *				K idle allocations per step; after each step
 *				prints "event=ready" and waits for a line on
 *				stdin (EOF: finish)
 *	loadgen probe [options]	wait until the server answers a Binding
 *				request (the forwarder: its ping)
 *
 * Every datagram's payload carries the allocation's index, the direction,
 * a sequence number and the CLOCK_MONOTONIC time it was queued, so that
 * loss and one-way latency are measured per direction.  Traffic runs for
 * a warm-up, then W measured windows; "event=window_start" and
 * "event=window_end" are printed (and flushed) as they happen so that a
 * driver can sample the server's CPU time, and one "event=report" line per
 * window follows.  A packet belongs to the window it was sent in, whenever
 * it arrives; the generator drains for a moment after the last window.
 *
 * "Relayed" means both directions together: at -r 20000 the server relays
 * 40,000 packets a second.
 *
 * With --shared the clients share one socket and are told apart by their
 * source address (127.1.0.1 upward, chosen per datagram with IP_PKTINFO),
 * which lets the generator send and receive the client side in batches
 * too; without it every allocation has its own socket on 127.0.0.1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "lg.h"

#define DRAIN_NS 300000000LL

static volatile sig_atomic_t stop_sig;

static void usage(void) __attribute__((noreturn));
static void report(struct lg *);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen relay|alloc|hold|probe [options]\n"
	    "  -s IP:PORT   server (127.0.0.1:3478)\n"
	    "  -u USER -p PASSWORD   long-term credentials (bench/bench)\n"
	    "  -n N         allocations (relay: 100; alloc: sequences at once, "
	    "32)\n"
	    "  -r RATE      packets/s per direction over all allocations "
	    "(20000)\n"
	    "  -l BYTES     payload (100)\n"
	    "  -w SECONDS   warm-up before the first window (1)\n"
	    "  -d SECONDS   length of a measured window (5)\n"
	    "  -W N         measured windows (1)\n"
	    "  -H K1,K2,... hold mode: allocations after each step\n"
	    "  -c N         control sequences in flight (64)\n"
	    "  -t SECONDS   hard time limit (120)\n"
	    "  --tick-us US pacing tick (1000)\n"
	    "  --indications   Send/Data indications instead of channels\n"
	    "  --forwarder     the server is the bare forwarder\n"
	    "  --shared        one client socket, a source address each\n"
	    "  --no-cleanup    leave the allocations at the end\n"
	    "  --lifetime S    LIFETIME to request (server default)\n");
	exit(64);
}

void
lg_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void
on_signal(int sig)
{
	stop_sig = sig;
}

static double
cpu_s(const struct rusage *ru)
{
	return ru->ru_utime.tv_sec + ru->ru_stime.tv_sec +
	    (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e6;
}

static void
check_time(struct lg *lg, int64_t start)
{
	if (stop_sig != 0)
		lg_die("stopped by signal %d", (int)stop_sig);
	if (lg_now() - start > (int64_t)(lg->timeout_s * 1e9)) {
		printf("event=timeout\n");
		fflush(stdout);
		lg_die("hard time limit of %.0f s reached", lg->timeout_s);
	}
}

/*
 * Brings allocations [0, upto) to goal, at most lg->concurrency control
 * sequences at once.  Returns the number that failed.
 */
static uint64_t
setup(struct lg *lg, size_t from, size_t upto, int goal, int64_t start)
{
	size_t next = from;
	uint64_t failed0 = lg->n_failed;

	while (next < upto || lg->pending > 0) {
		while (next < upto && lg->pending < lg->concurrency) {
			lg_slot_open(lg, next);
			lg->a[next].chan = STUN_CHANNEL_MIN;
			lg_turn_start(lg, &lg->a[next], goal);
			next++;
		}
		check_time(lg, start);
		lg_poll(lg, lg_now() + 100000000LL);
	}
	return lg->n_failed - failed0;
}

/* Deletes allocations [0, n_a) that are ready; bounded in time. */
static void
teardown(struct lg *lg)
{
	size_t next = 0;
	int64_t until = lg_now() + 3000000000LL;

	while ((next < lg->n_a || lg->pending > 0) && lg_now() < until) {
		while (next < lg->n_a && lg->pending < lg->concurrency) {
			if (lg->a[next].state == ST_READY)
				lg_turn_delete(lg, &lg->a[next]);
			next++;
		}
		lg_poll(lg, lg_now() + 50000000LL);
	}
}

static void
alloc_array(struct lg *lg, size_t n)
{
	lg->a = calloc(n, sizeof(*lg->a));
	lg->reqmem = malloc(n * LG_REQ_MAX);
	if (lg->a == NULL || lg->reqmem == NULL)
		lg_die("out of memory");
	lg->cap_a = n;
	for (size_t i = 0; i < n; i++) {
		lg->a[i].fd = -1;
		lg->a[i].req = lg->reqmem + i * LG_REQ_MAX;
	}
}

static void
windows_init(struct lg *lg, int64_t now)
{
	memset(&lg->t, 0, sizeof(lg->t));
	lg->t.w = calloc((size_t)lg->windows, sizeof(*lg->t.w));
	if (lg->t.w == NULL)
		lg_die("out of memory");
	lg->t.t0 = now;
	lg->t.tw = now + (int64_t)(lg->warmup_s * 1e9);
	lg->t.win_ns = (int64_t)(lg->duration_s * 1e9);
	lg->t.cur = -1;
	for (int i = 0; i < lg->windows; i++) {
		lg->t.w[i].t0 = lg->t.tw + i * lg->t.win_ns;
		lg->t.w[i].t1 = lg->t.w[i].t0 + lg->t.win_ns;
	}
}

/* Prints window events as their edges pass. Returns 1 after the last. */
static int
windows_edges(struct lg *lg, int64_t now)
{
	struct rusage ru;

	while (lg->t.cur < lg->windows) {
		int64_t edge = lg->t.cur < 0 ? lg->t.tw : lg->t.w[lg->t.cur].t1;

		if (now < edge)
			return 0;
		getrusage(RUSAGE_SELF, &ru);
		if (lg->t.cur >= 0) {
			lg->t.w[lg->t.cur].cpu_s = cpu_s(&ru) - cpu_s(&lg->t.ru);
			printf("event=window_end window=%d\n", lg->t.cur);
		}
		lg->t.cur++;
		lg->t.ru = ru;
		if (lg->t.cur < lg->windows)
			printf("event=window_start window=%d\n", lg->t.cur);
		fflush(stdout);
	}
	return 1;
}

static int64_t
next_edge(struct lg *lg)
{
	if (lg->t.cur < 0)
		return lg->t.tw;
	if (lg->t.cur < lg->windows)
		return lg->t.w[lg->t.cur].t1;
	return INT64_MAX;
}

static void
run_relay(struct lg *lg, int64_t start)
{
	int64_t now, t_setup, end;
	uint64_t failed;

	alloc_array(lg, lg->n);
	lg->n_a = lg->n;
	failed = setup(lg, 0, lg->n, GOAL_READY, start);
	t_setup = lg_now();
	printf("event=setup allocations=%zu failed=%llu retransmits=%llu "
	    "setup_s=%.3f last_error=%d\n", lg->n,
	    (unsigned long long)failed, (unsigned long long)lg->n_retx,
	    (t_setup - start) / 1e9, lg->last_err);
	fflush(stdout);
	if (failed > 0)
		lg_die("%llu allocations failed", (unsigned long long)failed);
	windows_init(lg, lg_now());
	end = lg->t.w[lg->windows - 1].t1;
	for (;;) {
		int64_t tick;

		now = lg_now();
		check_time(lg, start);
		if (windows_edges(lg, now))
			break;
		lg_traffic_tick(lg, now);
		tick = now + lg->tick_ns;
		if (tick > next_edge(lg))
			tick = next_edge(lg);
		lg_poll(lg, tick);
	}
	/* drain: late packets of the last window still count */
	while ((now = lg_now()) < end + DRAIN_NS)
		lg_poll(lg, end + DRAIN_NS);
	report(lg);
	if (lg->cleanup)
		teardown(lg);
}

void
lg_settled(struct lg *lg, struct lg_alloc *a, int64_t now)
{
	int win;

	if (lg->mode != MODE_ALLOC || lg->t.w == NULL)
		return;
	if (a->state == ST_DONE) {
		win = lg_win_of(lg, now);
		if (win >= 0) {
			lg->t.w[win].done++;
			lg_hist_add(&lg->t.w[win].seq_lat,
			    (uint64_t)(now - a->started_ns));
		}
	}
}

static void
run_alloc(struct lg *lg, int64_t start)
{
	int64_t now;
	int running = 1;

	alloc_array(lg, lg->n);
	lg->n_a = lg->n;
	windows_init(lg, lg_now());
	for (;;) {
		now = lg_now();
		check_time(lg, start);
		if (running && windows_edges(lg, now))
			running = 0;
		for (size_t i = 0; i < lg->n_a; i++) {
			struct lg_alloc *a = &lg->a[i];

			if (a->state == ST_DONE || a->state == ST_FAILED) {
				lg_slot_close(lg, i);
				a->state = ST_IDLE;
			}
			if (a->state == ST_IDLE && running) {
				lg_slot_open(lg, i);
				lg_turn_start(lg, a, GOAL_CYCLE);
			}
		}
		if (!running && lg->pending == 0)
			break;
		if (!running && now > lg->t.w[lg->windows - 1].t1 + 3000000000LL)
			break;
		lg_poll(lg, running ? next_edge(lg) : now + 50000000LL);
	}
	report(lg);
}

static void
run_hold(struct lg *lg, int64_t start)
{
	size_t have = 0;
	char line[256];

	alloc_array(lg, lg->steps[lg->n_steps - 1]);
	for (size_t s = 0; s < lg->n_steps; s++) {
		size_t want = lg->steps[s];
		uint64_t failed;
		int64_t t0 = lg_now();

		lg->n_a = want;
		failed = setup(lg, have, want, GOAL_HOLD, start);
		have = want;
		printf("event=ready allocations=%zu failed=%llu "
		    "retransmits=%llu step_s=%.3f last_error=%d\n", want,
		    (unsigned long long)failed,
		    (unsigned long long)lg->n_retx, (lg_now() - t0) / 1e9,
		    lg->last_err);
		fflush(stdout);
		if (fgets(line, sizeof(line), stdin) == NULL)
			break;
	}
	if (lg->cleanup)
		teardown(lg);
}

static void
run_probe(struct lg *lg, int64_t start)
{
	alloc_array(lg, 1);
	lg->n_a = 1;
	lg_slot_open(lg, 0);
	lg_turn_probe(lg, &lg->a[0]);
	while (!lg->probe_ok) {
		check_time(lg, start);
		lg_poll(lg, lg_now() + 50000000LL);
	}
	printf("event=probe ok=1 t_s=%.3f\n", (lg_now() - start) / 1e9);
}

static double
pct_loss(uint64_t sent, uint64_t recv)
{
	if (sent == 0)
		return 0;
	return recv >= sent ? 0 : 100.0 * (double)(sent - recv) / sent;
}

static void
report(struct lg *lg)
{
	static const char *const dn[2] = { "c2p", "p2c" };

	for (int k = 0; k < lg->windows; k++) {
		struct lg_win *w = &lg->t.w[k];
		double d = (w->t1 - w->t0) / 1e9;

		printf("event=report mode=%s window=%d duration_s=%.3f "
		    "lg_cpu_s=%.3f lg_cpu_pct=%.1f",
		    lg->mode == MODE_RELAY ? "relay" : "alloc", k, d,
		    w->cpu_s, 100.0 * w->cpu_s / d);
		if (lg->mode == MODE_ALLOC) {
			printf(" done=%llu rate=%.1f seq_p50_ms=%.3f "
			    "seq_p99_ms=%.3f failed=%llu retransmits=%llu "
			    "slots=%zu last_error=%d\n",
			    (unsigned long long)w->done, w->done / d,
			    lg_hist_pct(&w->seq_lat, 50) / 1e6,
			    lg_hist_pct(&w->seq_lat, 99) / 1e6,
			    (unsigned long long)lg->n_failed,
			    (unsigned long long)lg->n_retx, lg->n,
			    lg->last_err);
			continue;
		}
		printf(" allocations=%zu offered=%.0f payload=%zu", lg->n_a,
		    lg->rate, lg->payload);
		for (int dir = 0; dir < 2; dir++)
			printf(" %s_sent=%llu %s_recv=%llu %s_loss_pct=%.3f "
			    "%s_rate=%.1f %s_lag=%llu %s_txfail=%llu "
			    "%s_p50_us=%.1f %s_p99_us=%.1f",
			    dn[dir], (unsigned long long)w->sent[dir],
			    dn[dir], (unsigned long long)w->recv[dir],
			    dn[dir], pct_loss(w->sent[dir], w->recv[dir]),
			    dn[dir], w->sent[dir] / d, dn[dir],
			    (unsigned long long)w->lag[dir], dn[dir],
			    (unsigned long long)w->txfail[dir], dn[dir],
			    lg_hist_pct(&w->lat[dir], 50) / 1e3, dn[dir],
			    lg_hist_pct(&w->lat[dir], 99) / 1e3);
		printf(" relayed=%llu relayed_rate=%.1f loss_pct=%.3f "
		    "bad=%llu unknown=%llu\n",
		    (unsigned long long)(w->recv[0] + w->recv[1]),
		    (w->recv[0] + w->recv[1]) / d,
		    pct_loss(w->sent[0] + w->sent[1], w->recv[0] + w->recv[1]),
		    (unsigned long long)lg->t.bad, (unsigned long long)lg->t.unknown);
	}
	fflush(stdout);
}

static int
parse_addr(const char *s, struct sockaddr_in *sin)
{
	char buf[64], *colon;
	long port;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	colon = strrchr(buf, ':');
	if (colon == NULL)
		return -1;
	*colon = '\0';
	port = strtol(colon + 1, NULL, 10);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	if (port <= 0 || port > 65535 ||
	    inet_pton(AF_INET, buf, &sin->sin_addr) != 1)
		return -1;
	return 0;
}

static void
parse_steps(struct lg *lg, const char *s)
{
	char *copy = strdup(s), *tok, *save = NULL;

	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		size_t v = strtoul(tok, NULL, 10);

		if (v == 0 || (lg->n_steps > 0 &&
		    v <= lg->steps[lg->n_steps - 1]))
			lg_die("-H: increasing counts, please");
		lg->steps = realloc(lg->steps,
		    (lg->n_steps + 1) * sizeof(*lg->steps));
		lg->steps[lg->n_steps++] = v;
	}
	free(copy);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tick-us", required_argument, NULL, 'T' },
		{ "indications", no_argument, NULL, 'I' },
		{ "forwarder", no_argument, NULL, 'F' },
		{ "shared", no_argument, NULL, 'S' },
		{ "no-cleanup", no_argument, NULL, 'N' },
		{ "lifetime", required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	struct lg *lg;
	struct rlimit rl;
	const char *mode;
	int64_t start = lg_now();
	int ch;

	if (argc < 2)
		usage();
	if ((lg = calloc(1, sizeof(*lg))) == NULL)
		lg_die("out of memory");
	mode = argv[1];
	if (strcmp(mode, "relay") == 0)
		lg->mode = MODE_RELAY;
	else if (strcmp(mode, "alloc") == 0)
		lg->mode = MODE_ALLOC;
	else if (strcmp(mode, "hold") == 0)
		lg->mode = MODE_HOLD;
	else if (strcmp(mode, "probe") == 0)
		lg->mode = MODE_PROBE;
	else
		usage();
	parse_addr("127.0.0.1:3478", &lg->server);
	lg->user = "bench";
	lg->pass = "bench";
	lg->n = lg->mode == MODE_ALLOC ? 32 : 100;
	lg->rate = 20000;
	lg->payload = 100;
	lg->warmup_s = 1;
	lg->duration_s = 5;
	lg->windows = 1;
	lg->concurrency = 64;
	lg->tick_ns = 1000000;
	lg->timeout_s = 120;
	lg->cleanup = 1;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "s:u:p:n:r:l:w:d:W:H:c:t:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (parse_addr(optarg, &lg->server) != 0)
				lg_die("-s: want IPv4:port");
			break;
		case 'u':
			lg->user = optarg;
			break;
		case 'p':
			lg->pass = optarg;
			break;
		case 'n':
			lg->n = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			lg->rate = strtod(optarg, NULL);
			break;
		case 'l':
			lg->payload = strtoul(optarg, NULL, 10);
			break;
		case 'w':
			lg->warmup_s = strtod(optarg, NULL);
			break;
		case 'd':
			lg->duration_s = strtod(optarg, NULL);
			break;
		case 'W':
			lg->windows = atoi(optarg);
			break;
		case 'H':
			parse_steps(lg, optarg);
			break;
		case 'c':
			lg->concurrency = strtoul(optarg, NULL, 10);
			break;
		case 't':
			lg->timeout_s = strtod(optarg, NULL);
			break;
		case 'T':
			lg->tick_ns = strtoll(optarg, NULL, 10) * 1000;
			break;
		case 'I':
			lg->indications = 1;
			break;
		case 'F':
			lg->forwarder = 1;
			break;
		case 'S':
			lg->shared = 1;
			break;
		case 'N':
			lg->cleanup = 0;
			break;
		case 'L':
			lg->lifetime_s = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || lg->n == 0 || lg->n > 1000000 ||
	    lg->rate < 0 || lg->windows < 1 || lg->windows > 100 ||
	    lg->concurrency == 0 || lg->duration_s <= 0 ||
	    lg->payload < LG_PAYLOAD_MIN || lg->payload > LG_PAYLOAD_MAX ||
	    lg->tick_ns <= 0)
		usage();
	if (lg->mode == MODE_HOLD && lg->n_steps == 0)
		lg_die("hold mode needs -H");
	if (lg->forwarder && lg->indications)
		lg_die("the forwarder relays ChannelData only");

	/* one socket per allocation: lift the descriptor limit */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	lg->rng[0] = (uint64_t)start ^ 0x9e3779b97f4a7c15ULL;
	lg->rng[1] = (uint64_t)getpid() * 0xbf58476d1ce4e5b9ULL + 1;
	lg->io = lg_io_new();
	if (lg->io == NULL)
		lg_die("out of memory");
	lg->ep = epoll_create1(EPOLL_CLOEXEC);
	if (lg->ep == -1)
		lg_die("epoll_create1: %s", strerror(errno));
	lg->peer_fd = lg_udp_socket(INADDR_LOOPBACK, 8 << 20, 0);
	{
		socklen_t len = sizeof(lg->peer);

		getsockname(lg->peer_fd, (struct sockaddr *)&lg->peer, &len);
	}
	lg_ep_add(lg, lg->peer_fd, LG_EV_PEER << 32);
	lg->shared_fd = -1;
	if (lg->shared) {
		lg->shared_fd = lg_udp_socket(INADDR_ANY, 8 << 20, 1);
		lg_ep_add(lg, lg->shared_fd, LG_EV_SHARED << 32);
	}
	switch (lg->mode) {
	case MODE_RELAY:
		run_relay(lg, start);
		break;
	case MODE_ALLOC:
		run_alloc(lg, start);
		break;
	case MODE_HOLD:
		run_hold(lg, start);
		break;
	case MODE_PROBE:
		run_probe(lg, start);
		break;
	}
	return 0;
}
