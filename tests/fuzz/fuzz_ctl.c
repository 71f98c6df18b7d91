/*
 * Fuzz target for the control protocol (turnd/control.c, ctl.h): a real
 * server (one worker thread, a UDP listener on a free loopback port, a
 * static user and a secret) is made once; each input is the byte stream
 * of one control connection, served through control_adopt() on one end
 * of a socketpair while the other end writes the input, half-closes and
 * reads the answer.  The first input byte picks the socket: odd is the
 * read-only one.
 *
 * Checked for every input: the connection ends within a bound; at most
 * one answer, a whole header of version 1 whose length is the payload
 * that follows and whose status is known; no answer only when the
 * request was incomplete; a version mismatch, an over-long request, a
 * NUL in the payload, a change on the read-only socket and an unknown
 * type each get their own status; a JSON answer is an object or array.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "control.h"
#include "ctl.h"
#include "log.h"
#include "server.h"
#include "worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_IN_MAX (CTL_HDR_LEN + CTL_REQ_MAX + 256)
#define FZ_OUT_MAX (1u << 20)
#define FZ_DEADLINE_MS 5000

static struct server *srv;
static char conf_text[1024];
static char dir[] = "/tmp/turnd-fuzz-ctl-XXXXXX";

static void
fz_cleanup(void)
{
	char path[sizeof(dir) + 16];

	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	(void)unlink(path);
	(void)rmdir(dir);
}
static uint8_t resp[FZ_OUT_MAX];

/* A port free for UDP and TCP on 127.0.0.1 right now. */
static uint16_t
free_port(void)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in a = {.sin_family = AF_INET};
		socklen_t alen = sizeof(a);
		int u = socket(AF_INET, SOCK_DGRAM, 0), t;
		uint16_t port;

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (u < 0 || bind(u, (struct sockaddr *)&a, sizeof(a)) != 0 ||
		    getsockname(u, (struct sockaddr *)&a, &alen) != 0)
			abort();
		port = ntohs(a.sin_port);
		t = socket(AF_INET, SOCK_STREAM, 0);
		if (t >= 0 && bind(t, (struct sockaddr *)&a, sizeof(a)) == 0) {
			close(t);
			close(u);
			return port;
		}
		if (t >= 0)
			close(t);
		close(u);
	}
	abort();
}

static void
fz_start(void)
{
	struct turnd_conf *conf;
	uint16_t port = free_port();

	/* the listening control socket: made, never used */
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(fz_cleanup);

	snprintf(conf_text, sizeof(conf_text),
	    "realm = \"fuzz.test\";\n"
	    "listen = ( { address = \"127.0.0.1\"; port = %u; "
	    "transports = [ \"udp\" ]; } );\n"
	    "relay = { addresses = [ \"127.0.0.1\" ]; port_min = %u; "
	    "port_max = %u; };\n"
	    "auth = { users = ( { name = \"dev\"; password = \"dev\"; } ); "
	    "secrets = [ \"fuzz-secret\" ]; };\n"
	    "process = { workers = 1; };\n"
	    "control = { socket = \"%s/ctl.sock\"; };\n"
	    "metrics = { listen = \"\"; };\n"
	    "log = { level = \"error\"; };\n",
	    port, 40000u + port % 20000u, 40000u + port % 20000u + 15u, dir);
	conf = conf_load("<fuzz>", conf_text, stderr);
	if (conf == NULL)
		abort();
	log_init(LOG_LVL_ERROR, 0, "fuzz_ctl");
	srv = server_new(conf, NULL, conf_text, 0);
	if (srv == NULL || srv->ctl == NULL) {
		fprintf(stderr, "fuzz_ctl: no server\n");
		abort();
	}
	for (size_t i = 0; i < srv->n_workers; i++)
		if (worker_start(srv->workers[i]) != 0) {
			fprintf(stderr, "fuzz_ctl: no worker\n");
			abort();
		}
	srv->ready = 1;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/*
 * Writes the request, half-closes, and runs the server's loop until the
 * connection is closed.  Returns the answer's length.
 */
static size_t
exchange(int fd, const uint8_t *in, size_t inlen)
{
	uint64_t deadline = now_ms() + FZ_DEADLINE_MS;
	size_t off = 0, got = 0;
	int eof = 0, shut = 0;

	while (!eof) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (now_ms() > deadline) {
			fprintf(stderr,
			    "fuzz_ctl: the connection did not end "
			    "within %d ms\n",
			    FZ_DEADLINE_MS);
			abort();
		}
		if (off < inlen) {
			n = send(fd, in + off, inlen - off, MSG_NOSIGNAL);
			if (n > 0)
				off += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				off = inlen; /* the server closed early */
		}
		if (off == inlen && !shut) {
			(void)shutdown(fd, SHUT_WR);
			shut = 1;
		}
		event_base_loop(srv->base, EVLOOP_NONBLOCK);
		n = read(fd, resp + got, sizeof(resp) - got);
		if (n > 0) {
			got += (size_t)n;
			if (got == sizeof(resp)) {
				fprintf(stderr,
				    "fuzz_ctl: answer over %u "
				    "bytes\n",
				    FZ_OUT_MAX);
				abort();
			}
		} else if (n == 0)
			eof = 1;
		else if (errno == EAGAIN)
			(void)poll(&p, 1, 1);
		else
			eof = 1; /* reset by the server */
	}
	return got;
}

static void
fail(const char *what, uint32_t status)
{
	fprintf(stderr, "fuzz_ctl: %s (status %u)\n", what, status);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2], ro;
	size_t n;
	uint32_t version = 0, type = 0, flags = 0, len = 0, status;
	int complete = 0, has_nul = 0;

	if (size < 1 || size > FZ_IN_MAX)
		return 0;
	if (srv == NULL)
		fz_start();
	ro = data[0] & 1;
	data++;
	size--;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	        sv) != 0 ||
	    control_adopt(srv->ctl, sv[0], ro) != 0) {
		perror("fuzz_ctl: socketpair");
		abort();
	}
	n = exchange(sv[1], data, size);
	close(sv[1]);

	/* what the request was, read from the input alone */
	if (size >= CTL_HDR_LEN) {
		version = be32(data);
		type = be32(data + 4);
		flags = be32(data + 8);
		len = be32(data + 12);
		complete = version != CTL_VERSION || len > CTL_REQ_MAX ||
		    size - CTL_HDR_LEN >= len;
		if (version == CTL_VERSION && len <= CTL_REQ_MAX && complete)
			has_nul = memchr(data + CTL_HDR_LEN, '\0', len) != NULL;
	}
	if (n == 0) {
		if (complete)
			fail("a whole request went unanswered", 0);
		return 0;
	}
	if (!complete)
		fail("an incomplete request was answered", 0);
	if (n < CTL_HDR_LEN)
		fail("an answer shorter than its header", 0);
	status = be32(resp + 4);
	if (be32(resp) != CTL_VERSION)
		fail("an answer of another version", status);
	if (be32(resp + 12) != n - CTL_HDR_LEN)
		fail("the answer's length is not its payload (or two answers)",
		    status);
	if (status > CTL_E_NOTFOUND)
		fail("an unknown status", status);
	if (version != CTL_VERSION) {
		if (status != CTL_E_VERSION)
			fail("a version mismatch not refused as such", status);
		return 0;
	}
	if (len > CTL_REQ_MAX || has_nul) {
		if (status != CTL_E_BAD)
			fail("an over-long or NUL request not refused", status);
		return 0;
	}
	if (ro && !ctl_is_show(type)) {
		if (status != CTL_E_DENIED)
			fail("a change accepted on the read-only socket",
			    status);
		return 0;
	}
	if ((type == CTL_NONE || type >= CTL_COUNT) && status != CTL_E_BAD)
		fail("an unknown request not refused", status);
	if ((flags & CTL_F_JSON) && n > CTL_HDR_LEN &&
	    resp[CTL_HDR_LEN] != '{' && resp[CTL_HDR_LEN] != '[')
		fail("a JSON answer that is no object or array", status);
	return 0;
}
