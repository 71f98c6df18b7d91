/*
 * `turnctl check`: an end-to-end self-test through a TURN server, as an
 * ordinary client would see it.  Everything on the wire is built and
 * decoded by proto/; nothing here depends on the daemon's own code, so the
 * check judges any TURN server (RFC 8656) alike.  See check.h for the
 * steps, why the echo goes to a second UDP socket of this process, and
 * the limits that follow.
 *
 * The client is sequential and blocking in spirit: one request at a time,
 * every wait a poll() bounded by the step's deadline.  It owns a struct
 * check_ctx for the run: the sockets, the TLS session, the credentials
 * learnt from the server and each step's result; check_run frees it all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "chandata.h"
#include "check.h"
#include "frame.h"
#include "stun.h"
#include "stun_enc.h"
#include "stun_hdr.h"
#include "stun_integrity.h"
#include "stun_msg.h"

#define CHECK_MAX_ADDRS 8
/* The longest frame on a stream: ChannelData with 65535 bytes, padded. */
#define CHECK_FRAME_MAX (CHANDATA_HDR_LEN + 65536)
#define CHECK_RTO_MS 500 /* RFC 8489 section 6.2.1: initial RTO */
#define CHECK_RC 7       /* and at most seven sends */
#define CHECK_ECHO_WAIT_MS 1000
#define CHECK_PAYLOAD_LEN 100 /* plus 0-3, so padding is exercised */
#define CHECK_TOKEN_LEN 8

/* RFC 7443: ALPN protocol id for TURN over TLS. */
static const unsigned char check_alpn[] = "\x09stun.turn";

union check_sa {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_storage ss;
};

enum check_step_id {
	ST_RESOLVE,
	ST_CONNECT,
	ST_BINDING,
	ST_ALLOCATE,
	ST_PERMISSION,
	ST_PROBE,
	ST_SEND_ECHO,
	ST_CHANNEL_BIND,
	ST_CHANNEL_ECHO,
	ST_DEALLOCATE,
	ST_COUNT
};

static const char *const check_step_names[ST_COUNT] = {"resolve", "connect",
    "binding", "allocate", "permission", "probe", "send-echo", "channel-bind",
    "channel-echo", "deallocate"};

struct check_step {
	int state; /* below */
#define CHECK_S_SKIPPED 0
#define CHECK_S_OK 1
#define CHECK_S_FAIL 2
	long long us;
	int code; /* STUN error code, or 0 */
	char detail[400];
};

struct check_echo {
	int sent;
	int back;    /* came back intact */
	int corrupt; /* came back with the wrong bytes */
	long long rtt_us[CHECK_COUNT_MAX];
};

/* One decoded answer; m borrows buf. */
struct check_resp {
	uint8_t buf[4096];
	struct stun_msg m;
};

/* What a request carries besides the credentials. */
struct check_req {
	uint16_t method;
	uint8_t transport; /* REQUESTED-TRANSPORT, 0: none */
	uint8_t family;    /* REQUESTED-ADDRESS-FAMILY, 0: none */
	int has_lifetime;
	uint32_t lifetime_s;
	uint16_t channel;             /* CHANNEL-NUMBER, 0: none */
	const struct stun_addr *peer; /* XOR-PEER-ADDRESS, NULL: none */
};

struct check_ctx {
	const struct check_opts *o;
	struct check_url url;
	int timeout_ms;
	int count;
	int echo_wait_ms;
	int rest; /* credentials minted from a secret */
	char user[STUN_MAX_USERNAME + 1];
	char pass[256];

	union check_sa addrs[CHECK_MAX_ADDRS];
	size_t n_addrs;
	union check_sa server; /* the address connected to */
	union check_sa local;  /* our end of the connection */

	int fd;
	int stream; /* TCP or TLS */
	SSL_CTX *ssl_ctx;
	SSL *ssl;
	int closed; /* streams: the server closed */
	char ioerr[256];

	char realm[STUN_MAX_STR_BYTES + 1];
	char nonce[STUN_MAX_STR_BYTES + 1];
	uint8_t pwalgs[256]; /* PASSWORD-ALGORITHMS value to echo */
	size_t pwalgs_len;
	uint16_t pwalg; /* STUN_PWALG_MD5 or _SHA256 */
	uint8_t key[STUN_KEY_MAX];
	size_t keylen;

	struct stun_addr reflexive;
	struct stun_addr relayed;
	struct stun_addr peer; /* the peer socket as the server sees it */
	uint32_t lifetime_s;
	int allocated;
	uint16_t channel;
	int peer_fd;
	union check_sa peer_local;
	union check_sa relay_src; /* where relayed data reached the peer from */
	int have_relay_src;
	uint8_t token[CHECK_TOKEN_LEN];
	struct check_echo echo[2]; /* Send indications, ChannelData */

	long long t0; /* start of the current step, microseconds */
	struct check_step steps[ST_COUNT];
	int failed; /* the first failed step, or -1 */

	size_t slen; /* stream bytes in sbuf not yet framed */
	uint8_t sbuf[CHECK_FRAME_MAX + 4096];
	uint8_t rbuf[CHECK_FRAME_MAX]; /* one datagram or frame */
};

static long long now_us(void);
static void sanitize(char *, size_t, const uint8_t *, size_t);
static socklen_t sa_len(const union check_sa *);
static void sa_to_stun(struct stun_addr *, const union check_sa *);
static void sa_from_stun(union check_sa *, const struct stun_addr *);
static const char *sa_str(const union check_sa *, char *, size_t);
static const char *saddr_str(const struct stun_addr *, char *, size_t);
static int saddr_eq(const struct stun_addr *, const struct stun_addr *);
static void step_begin(struct check_ctx *);
static int step_end(struct check_ctx *, int, int, int, const char *, ...)
    __attribute__((format(printf, 5, 6)));
static int wait_fd(int, short, long long);
static int conn_send(struct check_ctx *, const uint8_t *, size_t, long long);
static int conn_recv(struct check_ctx *, long long);
static int transact(struct check_ctx *, const uint8_t *, size_t,
    struct check_resp *, long long);
static int request(struct check_ctx *, const struct check_req *,
    struct check_resp *, long long);
static int recv_relayed(struct check_ctx *, long long, const uint8_t **,
    size_t *, uint16_t *, struct stun_addr *);
static int step_resolve(struct check_ctx *);
static int step_connect(struct check_ctx *);
static int step_binding(struct check_ctx *);
static int step_allocate(struct check_ctx *);
static int step_permission(struct check_ctx *);
static int step_probe(struct check_ctx *);
static int step_echo(struct check_ctx *, int);
static int step_channel_bind(struct check_ctx *);
static int step_deallocate(struct check_ctx *);
static void report_text(const struct check_ctx *, FILE *);
static void report_json(const struct check_ctx *, FILE *);
static void json_str(FILE *, const char *);

int
check_rest_credential(const char *secret, uint32_t ttl_s, const char *id,
    char *user, size_t user_len, char *pass, size_t pass_len)
{
	uint8_t mac[20];
	long long expiry = (long long)time(NULL) + ttl_s;
	int n;

	if (id != NULL && *id != '\0')
		n = snprintf(user, user_len, "%lld:%s", expiry, id);
	else
		n = snprintf(user, user_len, "%lld", expiry);
	/* base64 of 20 bytes is 28 characters */
	if (n < 0 || (size_t)n >= user_len || pass_len < 29)
		return -1;
	if (stun_hmac_sha1((const uint8_t *)secret, strlen(secret),
	        (const uint8_t *)user, (size_t)n, NULL, 0, mac) != 0)
		return -1;
	EVP_EncodeBlock((unsigned char *)pass, mac, sizeof(mac));
	return 0;
}

int
check_url_parse(const char *url, struct check_url *u, char *err, size_t errlen)
{
	const char *p, *end;
	size_t n;

	memset(u, 0, sizeof(*u));
	u->transport = CHECK_T_UDP;
	if (strncasecmp(url, "turns:", 6) == 0) {
		u->secure = 1;
		u->transport = CHECK_T_TCP;
		p = url + 6;
	} else if (strncasecmp(url, "turn:", 5) == 0)
		p = url + 5;
	else {
		snprintf(err, errlen, "URL must start with turn: or turns:");
		return -1;
	}
	if (p[0] == '/' && p[1] == '/') {
		snprintf(err, errlen,
		    "no \"//\" in a TURN URL (RFC 7065): "
		    "turn:HOST[:PORT][?transport=udp|tcp]");
		return -1;
	}
	if (*p == '[') {
		struct in6_addr a6;

		end = strchr(p, ']');
		n = end != NULL ? (size_t)(end - p - 1) : 0;
		if (end == NULL || n == 0 || n >= sizeof(u->host)) {
			snprintf(err, errlen, "bad IPv6 literal");
			return -1;
		}
		memcpy(u->host, p + 1, n);
		u->host[n] = '\0';
		if (inet_pton(AF_INET6, u->host, &a6) != 1) {
			snprintf(
			    err, errlen, "bad IPv6 address \"%s\"", u->host);
			return -1;
		}
		u->host_is_ip = 1;
		p = end + 1;
	} else {
		struct in_addr a4;

		n = strcspn(p, ":?");
		if (n == 0 || n >= sizeof(u->host)) {
			snprintf(err, errlen, "missing or overlong host");
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			char ch = p[i];

			if (!((ch >= 'a' && ch <= 'z') ||
			        (ch >= 'A' && ch <= 'Z') ||
			        (ch >= '0' && ch <= '9') || ch == '.' ||
			        ch == '-' || ch == '_')) {
				snprintf(err, errlen,
				    "bad character in host: '%c'",
				    ch >= ' ' && ch < 127 ? ch : '?');
				return -1;
			}
		}
		memcpy(u->host, p, n);
		u->host[n] = '\0';
		u->host_is_ip = inet_pton(AF_INET, u->host, &a4) == 1;
		p += n;
	}
	u->port = u->secure ? 5349 : 3478;
	if (*p == ':') {
		unsigned long v = 0;

		p++;
		n = strspn(p, "0123456789");
		if (n == 0 || n > 5 || (v = strtoul(p, NULL, 10)) == 0 ||
		    v > 65535) {
			snprintf(err, errlen, "bad port");
			return -1;
		}
		u->port = (uint16_t)v;
		p += n;
	}
	if (*p == '?') {
		if (strcasecmp(p, "?transport=udp") == 0)
			u->transport = CHECK_T_UDP;
		else if (strcasecmp(p, "?transport=tcp") == 0)
			u->transport = CHECK_T_TCP;
		else {
			snprintf(err, errlen,
			    "the only query is ?transport=udp or "
			    "?transport=tcp");
			return -1;
		}
		p += strlen(p);
	}
	if (*p != '\0') {
		snprintf(err, errlen, "unexpected text after the host");
		return -1;
	}
	if (u->secure && u->transport == CHECK_T_UDP) {
		snprintf(err, errlen,
		    "turns: over UDP (DTLS) is not supported; use "
		    "transport=tcp");
		return -1;
	}
	return 0;
}

/* Validates opts into x. Returns 0, or -1 with the reason in err. */
static int
check_setup(
    struct check_ctx *x, const struct check_opts *o, char *err, size_t errlen)
{
	x->o = o;
	x->fd = -1;
	x->peer_fd = -1;
	x->failed = -1;
	if (o->url == NULL) {
		snprintf(err, errlen, "no URL");
		return -1;
	}
	if (check_url_parse(o->url, &x->url, err, errlen) != 0)
		return -1;
	if (o->timeout_ms < 0 || o->timeout_ms > 600000) {
		snprintf(err, errlen, "timeout out of range");
		return -1;
	}
	x->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : CHECK_TIMEOUT_MS;
	x->echo_wait_ms = x->timeout_ms < CHECK_ECHO_WAIT_MS
	    ? x->timeout_ms
	    : CHECK_ECHO_WAIT_MS;
	if (o->count < 0 || o->count > CHECK_COUNT_MAX) {
		snprintf(err, errlen, "count must be 1 to %d", CHECK_COUNT_MAX);
		return -1;
	}
	x->count = o->count > 0 ? o->count : CHECK_COUNT;
	if (o->secret != NULL && (o->user != NULL || o->password != NULL)) {
		snprintf(err, errlen,
		    "give --secret or --user and --password, not both");
		return -1;
	}
	if (o->secret != NULL) {
		if (*o->secret == '\0' ||
		    check_rest_credential(o->secret,
		        o->rest_ttl_s > 0 ? o->rest_ttl_s : CHECK_REST_TTL_S,
		        CHECK_REST_ID, x->user, sizeof(x->user), x->pass,
		        sizeof(x->pass)) != 0) {
			snprintf(err, errlen,
			    "cannot mint a REST credential from the secret");
			return -1;
		}
		x->rest = 1;
		return 0;
	}
	if (o->user == NULL || o->password == NULL || *o->user == '\0') {
		snprintf(err, errlen,
		    "credentials needed: --user and --password, or --secret");
		return -1;
	}
	if (strlen(o->user) >= sizeof(x->user) ||
	    strlen(o->password) >= sizeof(x->pass)) {
		snprintf(err, errlen, "user name or password too long");
		return -1;
	}
	strcpy(x->user, o->user);
	strcpy(x->pass, o->password);
	return 0;
}

static void
check_close(struct check_ctx *x)
{
	if (x->ssl != NULL) {
		if (!x->closed)
			(void)SSL_shutdown(x->ssl); /* close_notify, no wait */
		SSL_free(x->ssl);
	}
	SSL_CTX_free(x->ssl_ctx);
	x->ssl = NULL;
	x->ssl_ctx = NULL;
	if (x->fd != -1)
		close(x->fd);
	if (x->peer_fd != -1)
		close(x->peer_fd);
	x->fd = x->peer_fd = -1;
	ERR_clear_error();
}

int
check_run(const struct check_opts *o, FILE *out)
{
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
	struct check_ctx *x;
	char err[300];
	int ok;

	x = calloc(1, sizeof(*x));
	if (x == NULL) {
		fprintf(stderr, "check: out of memory\n");
		return CHECK_FAIL;
	}
	if (check_setup(x, o, err, sizeof(err)) != 0) {
		if (o->json) {
			fprintf(out, "{\"ok\":false,\"usage\":true,\"error\":");
			json_str(out, err);
			fprintf(out, "}\n");
		} else
			fprintf(stderr, "check: %s\n", err);
		free(x);
		return CHECK_USAGE;
	}
	/* a write to a connection the server closed must fail, not kill */
	sigaction(SIGPIPE, &ign, &old_pipe);

	ok = step_resolve(x) == 0 && step_connect(x) == 0 &&
	    step_binding(x) == 0 && step_allocate(x) == 0 &&
	    step_permission(x) == 0 && step_probe(x) == 0 &&
	    step_echo(x, 0) == 0 && step_channel_bind(x) == 0 &&
	    step_echo(x, 1) == 0;
	/* an allocation is released even when a later step failed */
	if (x->allocated && step_deallocate(x) != 0)
		ok = 0;

	check_close(x);
	sigaction(SIGPIPE, &old_pipe, NULL);
	if (o->json)
		report_json(x, out);
	else
		report_text(x, out);
	fflush(out);
	free(x);
	return ok ? CHECK_PASS : CHECK_FAIL;
}

static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Copies untrusted bytes as printable ASCII: anything else becomes '?'. */
static void
sanitize(char *out, size_t cap, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len && i + 1 < cap; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	if (cap > 0)
		out[i] = '\0';
}

static socklen_t
sa_len(const union check_sa *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in);
}

static void
sa_to_stun(struct stun_addr *s, const union check_sa *a)
{
	memset(s, 0, sizeof(*s));
	if (a->sa.sa_family == AF_INET6) {
		s->family = STUN_AF_IPV6;
		memcpy(s->ip, &a->in6.sin6_addr, 16);
		s->port = ntohs(a->in6.sin6_port);
	} else {
		s->family = STUN_AF_IPV4;
		memcpy(s->ip, &a->in.sin_addr, 4);
		s->port = ntohs(a->in.sin_port);
	}
}

static void
sa_from_stun(union check_sa *a, const struct stun_addr *s)
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

static const char *
sa_str(const union check_sa *a, char *buf, size_t len)
{
	struct stun_addr s;

	sa_to_stun(&s, a);
	return saddr_str(&s, buf, len);
}

static const char *
saddr_str(const struct stun_addr *s, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (s->family == STUN_AF_IPV6) {
		inet_ntop(AF_INET6, s->ip, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, s->port);
	} else {
		inet_ntop(AF_INET, s->ip, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, s->port);
	}
	return buf;
}

static int
saddr_eq(const struct stun_addr *a, const struct stun_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	    memcmp(a->ip, b->ip, a->family == STUN_AF_IPV6 ? 16 : 4) == 0;
}

static void
step_begin(struct check_ctx *x)
{
	x->t0 = now_us();
}

/*
 * Records step st as passed (ok) or failed with a STUN error code (0 if
 * none) and a detail line.  Returns 0 when it passed, else -1.
 */
static int
step_end(struct check_ctx *x, int st, int ok, int code, const char *fmt, ...)
{
	struct check_step *s = &x->steps[st];
	va_list ap;

	s->us = now_us() - x->t0;
	s->state = ok ? CHECK_S_OK : CHECK_S_FAIL;
	s->code = code;
	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
	if (!ok && x->failed < 0)
		x->failed = st;
	return ok ? 0 : -1;
}

/* Waits for ev on fd until deadline (microseconds): 1 ready, 0 not. */
static int
wait_fd(int fd, short ev, long long deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = ev};
		long long left = deadline - now_us();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, (int)((left + 999) / 1000));
		if (r > 0)
			return 1;
		if (r == 0 || errno != EINTR)
			return 0;
	}
}

/* Sends one datagram or writes a whole frame. Returns 0, or -1 (ioerr). */
static int
conn_send(struct check_ctx *x, const uint8_t *p, size_t len, long long deadline)
{
	if (!x->stream) {
		if (send(x->fd, p, len, 0) == (ssize_t)len)
			return 0;
		snprintf(
		    x->ioerr, sizeof(x->ioerr), "send: %s", strerror(errno));
		return -1;
	}
	while (len > 0) {
		short ev = POLLOUT;
		ssize_t n = -1;

		if (x->ssl != NULL) {
			int r;

			ERR_clear_error();
			r = SSL_write(
			    x->ssl, p, len > 16384 ? 16384 : (int)len);
			if (r > 0)
				n = r;
			else if (SSL_get_error(x->ssl, r) ==
			    SSL_ERROR_WANT_READ)
				ev = POLLIN;
			else if (SSL_get_error(x->ssl, r) !=
			    SSL_ERROR_WANT_WRITE)
				goto closed;
		} else {
			n = send(x->fd, p, len, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				goto closed;
		}
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (!wait_fd(x->fd, ev, deadline)) {
			snprintf(x->ioerr, sizeof(x->ioerr),
			    "the server does not take data (write timed out)");
			return -1;
		}
	}
	return 0;
closed:
	x->closed = 1;
	snprintf(
	    x->ioerr, sizeof(x->ioerr), "the server closed the connection");
	ERR_clear_error();
	return -1;
}

/*
 * Receives one datagram, or one whole frame of the stream, into rbuf
 * (stream frames longer than rbuf are skipped).  Returns its length, 0
 * when nothing came by deadline, or -1 when the connection failed (ioerr
 * says how: refused, closed, bytes that are neither STUN nor ChannelData).
 */
static int
conn_recv(struct check_ctx *x, long long deadline)
{
	if (!x->stream) {
		ssize_t n;

		if (!wait_fd(x->fd, POLLIN, deadline))
			return 0;
		n = recv(x->fd, x->rbuf, sizeof(x->rbuf), MSG_DONTWAIT);
		if (n > 0)
			return (int)n;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		snprintf(x->ioerr, sizeof(x->ioerr), "%s",
		    n == 0 ? "empty datagram"
		        : errno == ECONNREFUSED
		        ? "connection refused (ICMP port unreachable: nothing "
		          "listens there)"
		        : strerror(errno));
		return -1;
	}
	for (;;) {
		int fl = stun_frame_len(x->sbuf, x->slen, CHECK_FRAME_MAX);
		short ev = POLLIN;
		ssize_t n = -1;

		if (fl < 0) {
			snprintf(x->ioerr, sizeof(x->ioerr),
			    "the server sent bytes that are neither STUN "
			    "nor ChannelData");
			return -1;
		}
		if (fl > 0 && (size_t)fl <= x->slen) {
			memcpy(x->rbuf, x->sbuf, (size_t)fl);
			memmove(x->sbuf, x->sbuf + fl, x->slen - (size_t)fl);
			x->slen -= (size_t)fl;
			return fl;
		}
		if (x->ssl != NULL) {
			int r;

			ERR_clear_error();
			r = SSL_read(x->ssl, x->sbuf + x->slen,
			    (int)(sizeof(x->sbuf) - x->slen));
			if (r > 0)
				n = r;
			else if (SSL_get_error(x->ssl, r) ==
			    SSL_ERROR_WANT_WRITE)
				ev = POLLOUT;
			else if (SSL_get_error(x->ssl, r) !=
			    SSL_ERROR_WANT_READ)
				goto closed;
		} else {
			n = recv(x->fd, x->sbuf + x->slen,
			    sizeof(x->sbuf) - x->slen, 0);
			if (n == 0 ||
			    (n < 0 && errno != EAGAIN && errno != EINTR))
				goto closed;
		}
		if (n > 0)
			x->slen += (size_t)n;
		else if (!wait_fd(x->fd, ev, deadline))
			return 0;
	}
closed:
	x->closed = 1;
	snprintf(
	    x->ioerr, sizeof(x->ioerr), "the server closed the connection");
	ERR_clear_error();
	return -1;
}

/*
 * One transaction (RFC 8489 section 6.2): sends req and waits for the
 * response with its transaction ID, skipping everything else.  On UDP the
 * request is resent after RTO, doubling, at most CHECK_RC times; on a
 * stream it is sent once.  Returns 0 for a success response, its error
 * code for an error response, or -1 (ioerr says why) on timeout, a
 * connection failure or an error response without ERROR-CODE.
 */
static int
transact(struct check_ctx *x, const uint8_t *req, size_t len,
    struct check_resp *r, long long deadline)
{
	long long rto = CHECK_RTO_MS * 1000LL, next = 0;
	int sends = 0;

	for (;;) {
		long long now = now_us(), until = deadline;
		struct stun_hdr h;
		int n;

		if (now >= deadline) {
			snprintf(x->ioerr, sizeof(x->ioerr),
			    "no answer within %d ms", x->timeout_ms);
			return -1;
		}
		if (sends == 0 ||
		    (!x->stream && now >= next && sends < CHECK_RC)) {
			if (conn_send(x, req, len, deadline) != 0)
				return -1;
			sends++;
			next = now + rto;
			rto *= 2;
		}
		if (!x->stream && sends < CHECK_RC && next < until)
			until = next;
		n = conn_recv(x, until);
		if (n < 0)
			return -1;
		if (n == 0 || (size_t)n > sizeof(r->buf) ||
		    stun_hdr_decode(&h, x->rbuf, (size_t)n) != 0 ||
		    memcmp(h.txid, req + 8, STUN_TXID_LEN) != 0 ||
		    (h.cls != STUN_CLASS_SUCCESS && h.cls != STUN_CLASS_ERROR))
			continue; /* relayed data, strays, late answers */
		memcpy(r->buf, x->rbuf, (size_t)n);
		if (stun_msg_decode(&r->m, r->buf, (size_t)n) != 0)
			continue;
		if (r->m.cls == STUN_CLASS_SUCCESS)
			return 0;
		if (STUN_HAS(&r->m, ERROR_CODE))
			return r->m.error.code;
		snprintf(x->ioerr, sizeof(x->ioerr),
		    "error response without ERROR-CODE");
		return -1;
	}
}

/* Takes REALM, NONCE and the password algorithm from a 401 or 438. */
static void
learn_auth(struct check_ctx *x, const struct stun_msg *m)
{
	if (STUN_HAS(m, REALM)) {
		memcpy(x->realm, m->realm.p, m->realm.len);
		x->realm[m->realm.len] = '\0';
	}
	memcpy(x->nonce, m->nonce.p, m->nonce.len);
	x->nonce[m->nonce.len] = '\0';
	/*
	 * RFC 8489 section 9.2.3.1: a nonce starting with the cookie and
	 * PASSWORD-ALGORITHMS lets the client pick; SHA-256 is preferred.
	 */
	x->pwalg = STUN_PWALG_MD5;
	x->pwalgs_len = 0;
	if (m->nonce.len >= STUN_NONCE_COOKIE_LEN &&
	    memcmp(m->nonce.p, STUN_NONCE_COOKIE, STUN_NONCE_COOKIE_LEN) == 0 &&
	    STUN_HAS(m, PASSWORD_ALGORITHMS) &&
	    m->pwalgs_raw.len <= sizeof(x->pwalgs)) {
		memcpy(x->pwalgs, m->pwalgs_raw.p, m->pwalgs_raw.len);
		x->pwalgs_len = m->pwalgs_raw.len;
		for (size_t i = 0; i < m->n_pwalgs; i++)
			if (m->pwalgs[i].alg == STUN_PWALG_SHA256)
				x->pwalg = STUN_PWALG_SHA256;
	}
	{
		int n = stun_key_long_term(x->pwalg, x->user, strlen(x->user),
		    x->realm, strlen(x->realm), x->pass, strlen(x->pass),
		    x->key);

		x->keylen = n > 0 ? (size_t)n : 0;
	}
}

/* Encodes a request, with credentials once a nonce is known. */
static int
encode_req(
    struct check_ctx *x, const struct check_req *q, uint8_t *buf, size_t cap)
{
	uint8_t txid[STUN_TXID_LEN];
	struct stun_enc e;

	if (RAND_bytes(txid, sizeof(txid)) != 1)
		return -1;
	stun_enc_init(
	    &e, buf, cap, stun_type(q->method, STUN_CLASS_REQUEST), txid);
	if (q->channel != 0)
		stun_enc_u16pad(&e, STUN_ATTR_CHANNEL_NUMBER, q->channel);
	if (q->has_lifetime)
		stun_enc_u32(&e, STUN_ATTR_LIFETIME, q->lifetime_s);
	if (q->peer != NULL)
		stun_enc_xaddr(&e, STUN_ATTR_XOR_PEER_ADDRESS, q->peer);
	if (q->family != 0)
		stun_enc_u8pad(
		    &e, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, q->family);
	if (q->transport != 0)
		stun_enc_u8pad(&e, STUN_ATTR_REQUESTED_TRANSPORT, q->transport);
	if (x->nonce[0] != '\0') {
		stun_enc_str(&e, STUN_ATTR_USERNAME, x->user);
		stun_enc_str(&e, STUN_ATTR_REALM, x->realm);
		stun_enc_str(&e, STUN_ATTR_NONCE, x->nonce);
		if (x->pwalgs_len > 0) {
			/* echoed exactly as the server sent it */
			stun_enc_attr(&e, STUN_ATTR_PASSWORD_ALGORITHMS,
			    x->pwalgs, x->pwalgs_len);
			stun_enc_pwalg(&e, x->pwalg);
		}
		if (x->pwalg == STUN_PWALG_SHA256)
			stun_enc_integrity_sha256(&e, x->key, x->keylen);
		else
			stun_enc_integrity(&e, x->key, x->keylen);
	}
	stun_enc_fingerprint(&e);
	return stun_enc_finish(&e);
}

/*
 * A request with the long-term credential dance (RFC 8489 section
 * 9.2.3): sent bare until the server's 401 gives REALM and NONCE, then
 * authenticated; a 438 brings a new nonce and one more try.  A success
 * must carry a valid MESSAGE-INTEGRITY(-SHA256) (section 9.2.5).  Returns
 * as transact.
 */
static int
request(struct check_ctx *x, const struct check_req *q, struct check_resp *r,
    long long deadline)
{
	uint8_t buf[1500];
	int code, retries = 0;

	for (;;) {
		int authed = x->nonce[0] != '\0';
		int len = encode_req(x, q, buf, sizeof(buf));

		if (len < 0) {
			snprintf(x->ioerr, sizeof(x->ioerr),
			    "cannot encode the request: %s",
			    stun_strerror(len));
			return -1;
		}
		code = transact(x, buf, (size_t)len, r, deadline);
		if (((code == STUN_ERR_UNAUTHORIZED && !authed) ||
		        code == STUN_ERR_STALE_NONCE) &&
		    retries++ < 2 && STUN_HAS(&r->m, NONCE) &&
		    (authed || STUN_HAS(&r->m, REALM))) {
			learn_auth(x, &r->m);
			continue;
		}
		if (code == 0 && authed &&
		    stun_msg_check_integrity(&r->m, x->key, x->keylen, NULL) !=
		        0) {
			snprintf(x->ioerr, sizeof(x->ioerr),
			    "the answer's MESSAGE-INTEGRITY does not "
			    "verify with these credentials");
			return -1;
		}
		return code;
	}
}

/* What an error code most likely means for this method. */
static const char *
diagnose(struct check_ctx *x, uint16_t method, int code)
{
	int to_peer = method == STUN_METHOD_CREATE_PERMISSION ||
	    method == STUN_METHOD_CHANNEL_BIND;

	switch (code) {
	case STUN_ERR_TRY_ALTERNATE:
		return "the server redirects to another server";
	case STUN_ERR_BAD_REQUEST:
		return "the server rejected the request as malformed";
	case STUN_ERR_UNAUTHORIZED:
		return x->rest ? "wrong credentials or expired REST username "
		                 "(check the secret and both clocks)"
		               : "wrong credentials or expired REST username";
	case STUN_ERR_FORBIDDEN:
		return to_peer
		    ? "the server refuses to relay to this address (its "
		      "peer policy); run the check from another host or "
		      "allow the address"
		    : "forbidden: the server refuses this user or client "
		      "address";
	case STUN_ERR_UNKNOWN_ATTRIBUTE:
		return "the server does not understand an attribute";
	case STUN_ERR_ALLOCATION_MISMATCH:
		return method == STUN_METHOD_ALLOCATE
		    ? "allocation mismatch: this client address already "
		      "has an allocation"
		    : "allocation mismatch: no allocation (expired or "
		      "deleted by the server)";
	case STUN_ERR_STALE_NONCE:
		return "the nonce is still stale after a retry";
	case STUN_ERR_ADDRESS_FAMILY:
		return "the server does not relay this address family";
	case STUN_ERR_WRONG_CREDENTIALS:
		return "wrong credentials: not the username of the allocation";
	case STUN_ERR_UNSUPPORTED_TRANSPORT:
		return "unsupported transport protocol: the server does not "
		       "relay UDP";
	case STUN_ERR_PEER_ADDRESS_FAMILY:
		return "the peer's address family differs from the relay's";
	case STUN_ERR_ALLOCATION_QUOTA:
		return "allocation quota reached for this user";
	case STUN_ERR_SERVER_ERROR:
		return "server error";
	case STUN_ERR_INSUFFICIENT_CAPACITY:
		return "insufficient capacity: the server has no relay ports "
		       "left";
	default:
		return "request refused";
	}
}

/*
 * Records the outcome of a request step: fails with the error code, the
 * server's reason phrase and a diagnosis, or with ioerr.  Returns -1.
 */
static int
step_req_fail(struct check_ctx *x, int st, uint16_t method, int code,
    const struct check_resp *r)
{
	char reason[STUN_MAX_STR_CHARS + 1];

	if (code < 0)
		return step_end(x, st, 0, 0, "%s", x->ioerr);
	if (r->m.error.reason.len > 0)
		sanitize(reason, sizeof(reason), r->m.error.reason.p,
		    r->m.error.reason.len);
	else
		snprintf(
		    reason, sizeof(reason), "%s", stun_reason((uint16_t)code));
	return step_end(x, st, 0, code, "%d %s: %s", code, reason,
	    diagnose(x, method, code));
}

/*
 * A name lookup that can be abandoned: getaddrinfo_a's request lives on
 * the heap because a lookup that cannot be cancelled still writes into it
 * after we stop waiting.
 */
struct check_gai {
	struct gaicb cb;
	struct addrinfo hints;
	char host[256];
	char port[8];
};

/*
 * Resolves host:port by deadline.  Returns 0, 1 when the deadline passed,
 * or a getaddrinfo error (negative).
 */
static int
resolve(struct check_ctx *x, long long deadline, struct addrinfo **res)
{
	struct check_gai *g = calloc(1, sizeof(*g));
	struct gaicb *list[1];
	int rc;

	if (g == NULL)
		return EAI_MEMORY;
	g->hints.ai_family = AF_UNSPEC;
	g->hints.ai_socktype =
	    x->url.transport == CHECK_T_UDP ? SOCK_DGRAM : SOCK_STREAM;
	g->hints.ai_flags = x->url.host_is_ip ? AI_NUMERICHOST : 0;
	snprintf(g->host, sizeof(g->host), "%s", x->url.host);
	snprintf(g->port, sizeof(g->port), "%u", x->url.port);
	g->cb.ar_name = g->host;
	g->cb.ar_service = g->port;
	g->cb.ar_request = &g->hints;
	list[0] = &g->cb;
	rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
	if (rc != 0) {
		free(g);
		return rc;
	}
	while ((rc = gai_error(&g->cb)) == EAI_INPROGRESS) {
		long long left = deadline - now_us();
		struct timespec ts = {left / 1000000, left % 1000000 * 1000};

		if (left <= 0) {
			if (gai_cancel(&g->cb) != EAI_CANCELED &&
			    gai_error(&g->cb) == EAI_INPROGRESS)
				return 1; /* g is the resolver's now */
			rc = gai_error(&g->cb);
			break;
		}
		(void)gai_suspend((const struct gaicb *const *)list, 1, &ts);
	}
	if (rc == 0)
		*res = g->cb.ar_result;
	else if (g->cb.ar_result != NULL)
		freeaddrinfo(g->cb.ar_result);
	free(g);
	return rc == EAI_CANCELED ? 1 : rc;
}

static int
step_resolve(struct check_ctx *x)
{
	struct addrinfo *res = NULL, *ai;
	char a[INET6_ADDRSTRLEN + 8], list[300] = "";
	int rc;

	step_begin(x);
	rc = resolve(x, x->t0 + x->timeout_ms * 1000LL, &res);
	if (rc != 0)
		return step_end(x, ST_RESOLVE, 0, 0, "%s: %s", x->url.host,
		    rc == 1 ? "no answer from the resolver in time"
		            : gai_strerror(rc));
	for (ai = res; ai != NULL && x->n_addrs < CHECK_MAX_ADDRS;
	     ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(x->addrs[0]))
			continue;
		memcpy(&x->addrs[x->n_addrs], ai->ai_addr, ai->ai_addrlen);
		sa_str(&x->addrs[x->n_addrs++], a, sizeof(a));
		if (strlen(list) + strlen(a) + 3 < sizeof(list))
			snprintf(list + strlen(list),
			    sizeof(list) - strlen(list), "%s%s",
			    list[0] ? ", " : "", a);
	}
	freeaddrinfo(res);
	if (x->n_addrs == 0)
		return step_end(x, ST_RESOLVE, 0, 0,
		    "%s: no IPv4 or IPv6 address", x->url.host);
	return step_end(x, ST_RESOLVE, 1, 0, "%s", list);
}

/* TLS handshake on the connected x->fd. Returns 0, or -1 with err set. */
static int
tls_start(struct check_ctx *x, long long deadline, char *err, size_t errlen)
{
	const struct check_opts *o = x->o;
	char why[200] = "the server closed the connection";
	unsigned long e;
	int r;

	ERR_clear_error();
	x->ssl_ctx = SSL_CTX_new(TLS_client_method());
	if (x->ssl_ctx == NULL ||
	    !SSL_CTX_set_min_proto_version(x->ssl_ctx, TLS1_2_VERSION))
		goto openssl;
	if (!o->insecure) {
		if ((o->ca_file != NULL ? SSL_CTX_load_verify_locations(
		                              x->ssl_ctx, o->ca_file, NULL)
		                        : SSL_CTX_set_default_verify_paths(
		                              x->ssl_ctx)) != 1) {
			snprintf(err, errlen, "cannot load the CA %s",
			    o->ca_file != NULL ? o->ca_file : "store");
			goto fail;
		}
		SSL_CTX_set_verify(x->ssl_ctx, SSL_VERIFY_PEER, NULL);
	}
	x->ssl = SSL_new(x->ssl_ctx);
	if (x->ssl == NULL || SSL_set_fd(x->ssl, x->fd) != 1 ||
	    SSL_set_alpn_protos(x->ssl, check_alpn, sizeof(check_alpn) - 1) !=
	        0)
		goto openssl;
	if (x->url.host_is_ip) {
		/* RFC 6066: no SNI for an address; the certificate's IP */
		if (!o->insecure &&
		    X509_VERIFY_PARAM_set1_ip_asc(
		        SSL_get0_param(x->ssl), x->url.host) != 1)
			goto openssl;
	} else if (SSL_set_tlsext_host_name(x->ssl, x->url.host) != 1 ||
	    (!o->insecure && SSL_set1_host(x->ssl, x->url.host) != 1))
		goto openssl;
	for (;;) {
		short ev = POLLIN;

		ERR_clear_error();
		r = SSL_connect(x->ssl);
		if (r == 1)
			return 0;
		switch (SSL_get_error(x->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			break;
		case SSL_ERROR_WANT_WRITE:
			ev = POLLOUT;
			break;
		default:
			if (SSL_get_verify_result(x->ssl) != X509_V_OK) {
				snprintf(err, errlen,
				    "certificate not trusted: %s; give the "
				    "CA file, or --insecure to skip the check",
				    X509_verify_cert_error_string(
				        SSL_get_verify_result(x->ssl)));
				goto fail;
			}
			goto openssl;
		}
		if (!wait_fd(x->fd, ev, deadline)) {
			snprintf(err, errlen, "TLS handshake timed out");
			goto fail;
		}
	}
openssl:
	e = ERR_peek_last_error();
	if (e != 0)
		ERR_error_string_n(e, why, sizeof(why));
	snprintf(err, errlen, "TLS handshake failed: %s", why);
fail:
	ERR_clear_error();
	return -1;
}

/* Connects a TCP socket to a, by deadline. Returns the fd or -1. */
static int
tcp_connect(
    const union check_sa *a, long long deadline, char *err, size_t errlen)
{
	int fd, e = 0, on = 1;
	socklen_t elen = sizeof(e);

	fd = socket(
	    a->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (connect(fd, &a->sa, sa_len(a)) != 0) {
		if (errno != EINPROGRESS)
			e = errno;
		else if (!wait_fd(fd, POLLOUT, deadline))
			e = ETIMEDOUT;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0)
			e = errno;
	}
	if (e != 0) {
		snprintf(err, errlen, "%s",
		    e == ETIMEDOUT ? "no answer (connect timed out)"
		                   : strerror(e));
		close(fd);
		return -1;
	}
	return fd;
}

static int
step_connect(struct check_ctx *x)
{
	long long deadline;
	char err[300] = "", a[64], l[64];
	socklen_t len = sizeof(x->local);
	const char *alpn = "none";

	step_begin(x);
	deadline = x->t0 + x->timeout_ms * 1000LL;
	if (x->url.transport == CHECK_T_UDP) {
		/* UDP goes to the first address; a connected socket hears
		 * ICMP port unreachable as ECONNREFUSED */
		x->server = x->addrs[0];
		x->fd = socket(
		    x->server.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (x->fd == -1 ||
		    connect(x->fd, &x->server.sa, sa_len(&x->server)) != 0 ||
		    getsockname(x->fd, &x->local.sa, &len) != 0)
			return step_end(x, ST_CONNECT, 0, 0, "UDP to %s: %s",
			    sa_str(&x->server, a, sizeof(a)), strerror(errno));
		return step_end(x, ST_CONNECT, 1, 0, "UDP %s -> %s",
		    sa_str(&x->local, l, sizeof(l)),
		    sa_str(&x->server, a, sizeof(a)));
	}
	x->stream = 1;
	for (size_t i = 0; i < x->n_addrs && x->fd == -1; i++) {
		x->server = x->addrs[i];
		x->fd = tcp_connect(&x->server, deadline, err, sizeof(err));
	}
	if (x->fd == -1)
		return step_end(x, ST_CONNECT, 0, 0, "TCP to %s: %s",
		    sa_str(&x->server, a, sizeof(a)), err);
	if (getsockname(x->fd, &x->local.sa, &len) != 0)
		return step_end(
		    x, ST_CONNECT, 0, 0, "getsockname: %s", strerror(errno));
	sa_str(&x->local, l, sizeof(l));
	sa_str(&x->server, a, sizeof(a));
	if (!x->url.secure)
		return step_end(x, ST_CONNECT, 1, 0, "TCP %s -> %s", l, a);
	if (tls_start(x, deadline, err, sizeof(err)) != 0)
		return step_end(x, ST_CONNECT, 0, 0, "TLS to %s: %s", a, err);
	{
		const unsigned char *sel = NULL;
		unsigned int sel_len = 0;
		char alpn_buf[32];

		SSL_get0_alpn_selected(x->ssl, &sel, &sel_len);
		if (sel_len > 0) {
			sanitize(alpn_buf, sizeof(alpn_buf), sel, sel_len);
			alpn = alpn_buf;
		}
		return step_end(x, ST_CONNECT, 1, 0,
		    "TLS %s -> %s, %s %s, ALPN %s, certificate %s", l, a,
		    SSL_get_version(x->ssl), SSL_get_cipher_name(x->ssl), alpn,
		    x->o->insecure ? "NOT verified (--insecure)" : "verified");
	}
}

static int
step_binding(struct check_ctx *x)
{
	struct check_resp resp;
	uint8_t buf[64], txid[STUN_TXID_LEN];
	struct stun_enc e;
	char a[64], sw[64] = "";
	int code, len;

	step_begin(x);
	if (RAND_bytes(txid, sizeof(txid)) != 1)
		return step_end(x, ST_BINDING, 0, 0, "no random bytes");
	stun_enc_init(&e, buf, sizeof(buf),
	    stun_type(STUN_METHOD_BINDING, STUN_CLASS_REQUEST), txid);
	stun_enc_fingerprint(&e);
	len = stun_enc_finish(&e);
	code = transact(
	    x, buf, (size_t)len, &resp, x->t0 + x->timeout_ms * 1000LL);
	if (code != 0)
		return step_req_fail(
		    x, ST_BINDING, STUN_METHOD_BINDING, code, &resp);
	if (STUN_HAS(&resp.m, XOR_MAPPED_ADDRESS))
		x->reflexive = resp.m.xor_mapped;
	else if (STUN_HAS(&resp.m, MAPPED_ADDRESS))
		x->reflexive = resp.m.mapped; /* an RFC 3489 server */
	else
		return step_end(
		    x, ST_BINDING, 0, 0, "no XOR-MAPPED-ADDRESS in the answer");
	if (STUN_HAS(&resp.m, SOFTWARE)) {
		char s[48];

		sanitize(s, sizeof(s), resp.m.software.p, resp.m.software.len);
		snprintf(sw, sizeof(sw), ", server \"%s\"", s);
	}
	return step_end(x, ST_BINDING, 1, 0, "reflexive %s%s",
	    saddr_str(&x->reflexive, a, sizeof(a)), sw);
}

static int
step_allocate(struct check_ctx *x)
{
	struct check_req q = {
	    .method = STUN_METHOD_ALLOCATE, .transport = STUN_PROTO_UDP};
	struct check_resp r;
	char a[64], realm[64];
	int code, i;

	step_begin(x);
	/* RFC 8656 section 7.1: the relay's family is asked for; it must
	 * match the peer socket, which shares the connection's family */
	if (x->local.sa.sa_family == AF_INET6)
		q.family = STUN_AF_IPV6;
	code = request(x, &q, &r, x->t0 + x->timeout_ms * 1000LL);
	if (code != 0)
		return step_req_fail(x, ST_ALLOCATE, q.method, code, &r);
	x->allocated = 1;
	x->lifetime_s = r.m.lifetime;
	for (i = 0; i < r.m.n_relayed; i++)
		if (r.m.relayed[i].family == x->reflexive.family)
			break;
	if (i == r.m.n_relayed)
		return step_end(x, ST_ALLOCATE, 0, 0,
		    "no XOR-RELAYED-ADDRESS of the client's address "
		    "family in the answer");
	x->relayed = r.m.relayed[i];
	sanitize(
	    realm, sizeof(realm), (const uint8_t *)x->realm, strlen(x->realm));
	return step_end(x, ST_ALLOCATE, 1, 0,
	    "relayed %s, lifetime %u s, realm \"%s\", %s, user %s",
	    saddr_str(&x->relayed, a, sizeof(a)), (unsigned)x->lifetime_s,
	    realm, x->pwalg == STUN_PWALG_SHA256 ? "SHA-256" : "MD5",
	    x->rest ? "REST" : "static");
}

static int
step_permission(struct check_ctx *x)
{
	struct check_req q = {.method = STUN_METHOD_CREATE_PERMISSION};
	struct check_resp r;
	struct stun_addr peer = x->reflexive;
	socklen_t len = sizeof(x->peer_local);
	char a[64], ip[64];
	int code;

	step_begin(x);
	/* the peer socket: a plain UDP socket on the connection's local IP */
	x->peer_local = x->local;
	if (x->peer_local.sa.sa_family == AF_INET6)
		x->peer_local.in6.sin6_port = 0;
	else
		x->peer_local.in.sin_port = 0;
	x->peer_fd =
	    socket(x->peer_local.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (x->peer_fd == -1 ||
	    bind(x->peer_fd, &x->peer_local.sa, sa_len(&x->peer_local)) != 0 ||
	    getsockname(x->peer_fd, &x->peer_local.sa, &len) != 0)
		return step_end(
		    x, ST_PERMISSION, 0, 0, "peer socket: %s", strerror(errno));
	/* RFC 8656 section 9: a permission is for an IP; the port is moot */
	peer.port = 0;
	q.peer = &peer;
	code = request(x, &q, &r, x->t0 + x->timeout_ms * 1000LL);
	saddr_str(&peer, ip, sizeof(ip));
	*strrchr(ip, ':') = '\0';
	if (code != 0) {
		step_req_fail(x, ST_PERMISSION, q.method, code, &r);
		snprintf(x->steps[ST_PERMISSION].detail +
		        strlen(x->steps[ST_PERMISSION].detail),
		    sizeof(x->steps[ST_PERMISSION].detail) -
		        strlen(x->steps[ST_PERMISSION].detail),
		    " (peer %s)", ip);
		return -1;
	}
	return step_end(x, ST_PERMISSION, 1, 0,
	    "for %s, the reflexive IP; peer socket %s", ip,
	    sa_str(&x->peer_local, a, sizeof(a)));
}

/*
 * Waits for the next relayed datagram on the TURN connection: a Data
 * indication (chan 0, peer set) or ChannelData (chan set).  Returns 1 with
 * data borrowed from rbuf, 0 on timeout, -1 when the connection failed.
 */
static int
recv_relayed(struct check_ctx *x, long long deadline, const uint8_t **data,
    size_t *len, uint16_t *chan, struct stun_addr *peer)
{
	int flags = CHANDATA_F_LEGACY | (x->stream ? CHANDATA_F_STREAM : 0);

	for (;;) {
		struct stun_msg m;
		struct chandata cd;
		int n = conn_recv(x, deadline);

		if (n <= 0)
			return n;
		if ((x->rbuf[0] & 0xc0) == 0x40) {
			if (chandata_decode(&cd, x->rbuf, (size_t)n, flags) !=
			    0)
				continue;
			*data = cd.data;
			*len = cd.len;
			*chan = cd.chan;
			return 1;
		}
		if (stun_msg_decode(&m, x->rbuf, (size_t)n) != 0 ||
		    m.method != STUN_METHOD_DATA ||
		    m.cls != STUN_CLASS_INDICATION || m.n_peer != 1 ||
		    !STUN_HAS(&m, DATA))
			continue;
		*data = m.data.p;
		*len = m.data.len;
		*chan = 0;
		*peer = m.peer[0];
		return 1;
	}
}

/* The bytes of datagram seq of kind: the run's token, kind, seq, filler. */
static size_t
payload(const struct check_ctx *x, uint8_t kind, uint32_t seq, uint8_t *out)
{
	size_t len = CHECK_PAYLOAD_LEN + seq % 4;
	uint32_t v = seq * 2654435761u + kind;

	memcpy(out, x->token, CHECK_TOKEN_LEN);
	out[8] = kind;
	out[9] = (uint8_t)(seq >> 24);
	out[10] = (uint8_t)(seq >> 16);
	out[11] = (uint8_t)(seq >> 8);
	out[12] = (uint8_t)seq;
	for (size_t i = 13; i < len; i++) {
		v ^= v << 13;
		v ^= v >> 17;
		v ^= v << 5;
		out[i] = (uint8_t)v;
	}
	return len;
}

/* True when p holds this run's datagram kind/seq header. */
static int
payload_is(const struct check_ctx *x, const uint8_t *p, size_t len,
    uint8_t kind, uint32_t seq)
{
	return len >= 13 && memcmp(p, x->token, CHECK_TOKEN_LEN) == 0 &&
	    p[8] == kind &&
	    ((uint32_t)p[9] << 24 | (uint32_t)p[10] << 16 |
	        (uint32_t)p[11] << 8 | p[12]) == seq;
}

static int
step_probe(struct check_ctx *x)
{
	uint8_t want[CHECK_PAYLOAD_LEN + 4];
	size_t want_len;
	union check_sa relay;
	long long deadline, next = 0, rto = CHECK_RTO_MS * 1000LL;
	char a[64];

	step_begin(x);
	deadline = x->t0 + x->timeout_ms * 1000LL;
	if (RAND_bytes(x->token, sizeof(x->token)) != 1)
		return step_end(x, ST_PROBE, 0, 0, "no random bytes");
	want_len = payload(x, 'P', 0, want);
	sa_from_stun(&relay, &x->relayed);
	for (;;) {
		const uint8_t *data;
		size_t len;
		uint16_t chan;
		struct stun_addr from;
		long long now = now_us();
		int r;

		if (now >= next) {
			/* lost probes are resent; they are datagrams */
			if (sendto(x->peer_fd, want, want_len, 0, &relay.sa,
			        sa_len(&relay)) != (ssize_t)want_len)
				return step_end(x, ST_PROBE, 0, 0,
				    "peer socket to %s: %s",
				    sa_str(&relay, a, sizeof(a)),
				    strerror(errno));
			next = now + rto;
			rto *= 2;
		}
		r = recv_relayed(x, next < deadline ? next : deadline, &data,
		    &len, &chan, &from);
		if (r < 0)
			return step_end(x, ST_PROBE, 0, 0, "%s", x->ioerr);
		if (r > 0 && chan == 0 && len == want_len &&
		    memcmp(data, want, len) == 0) {
			x->peer = from;
			return step_end(x, ST_PROBE, 1, 0,
			    "peer %s as the server sees it",
			    saddr_str(&x->peer, a, sizeof(a)));
		}
		if (now_us() >= deadline)
			return step_end(x, ST_PROBE, 0, 0,
			    "a datagram from the peer socket to the relayed "
			    "address was not relayed back within %d ms "
			    "(firewall, NAT, or the server drops it)",
			    x->timeout_ms);
	}
}

/*
 * The peer socket's side of one echo: waits for datagram seq of kind and
 * sends it back where it came from.  Returns 1 when echoed, 0 when it did
 * not come by deadline, -1 when it came with the wrong bytes.
 */
static int
peer_echo(struct check_ctx *x, const uint8_t *want, size_t want_len,
    uint8_t kind, uint32_t seq, long long deadline)
{
	uint8_t in[2048];
	union check_sa from;

	while (wait_fd(x->peer_fd, POLLIN, deadline)) {
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(
		    x->peer_fd, in, sizeof(in), MSG_DONTWAIT, &from.sa, &flen);

		if (n < 0 || !payload_is(x, in, (size_t)n, kind, seq))
			continue; /* stray, or an earlier echo come late */
		if ((size_t)n != want_len || memcmp(in, want, want_len) != 0)
			return -1;
		x->relay_src = from;
		x->have_relay_src = 1;
		if (sendto(x->peer_fd, in, (size_t)n, 0, &from.sa,
		        sa_len(&from)) != n)
			return 0;
		return 1;
	}
	return 0;
}

static int
rtt_cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/*
 * count datagrams client -> relay -> peer socket -> relay -> client, one
 * at a time, with Send indications (channel 0) or ChannelData (1).
 */
static int
step_echo(struct check_ctx *x, int channel)
{
	int st = channel ? ST_CHANNEL_ECHO : ST_SEND_ECHO;
	uint8_t kind = channel ? 'C' : 'S';
	struct check_echo *ec = &x->echo[channel];
	uint8_t want[CHECK_PAYLOAD_LEN + 4], out[CHECK_PAYLOAD_LEN + 64];
	long long sorted[CHECK_COUNT_MAX];
	char bad[96], note[128] = "", a[64];
	struct stun_addr src;
	int lost, before, streak = 0, gave_up = 0;

	step_begin(x);
	for (int i = 0; i < x->count; i++) {
		size_t len = payload(x, kind, (uint32_t)i, want), olen;
		long long t = now_us(), deadline = t + x->echo_wait_ms * 1000LL;
		int r;

		if (channel) {
			/* RFC 8656 section 12.5: padded to four on streams */
			olen = CHANDATA_HDR_LEN + len;
			chandata_hdr(out, x->channel, (uint16_t)len);
			memcpy(out + CHANDATA_HDR_LEN, want, len);
			if (x->stream) {
				memset(out + olen, 0, stun_pad(olen) - olen);
				olen = stun_pad(olen);
			}
		} else {
			uint8_t txid[STUN_TXID_LEN];
			struct stun_enc e;
			int n;

			/* RFC 8656 section 11.1: a Send indication */
			if (RAND_bytes(txid, sizeof(txid)) != 1)
				return step_end(x, st, 0, 0, "no random bytes");
			stun_enc_init(&e, out, sizeof(out),
			    stun_type(STUN_METHOD_SEND, STUN_CLASS_INDICATION),
			    txid);
			stun_enc_xaddr(
			    &e, STUN_ATTR_XOR_PEER_ADDRESS, &x->peer);
			stun_enc_attr(&e, STUN_ATTR_DATA, want, len);
			n = stun_enc_finish(&e);
			if (n < 0)
				return step_end(x, st, 0, 0, "encode: %s",
				    stun_strerror(n));
			olen = (size_t)n;
		}
		if (conn_send(x, out, olen, deadline) != 0)
			return step_end(x, st, 0, 0, "%s", x->ioerr);
		before = ec->back;
		ec->sent++;
		r = peer_echo(x, want, len, kind, (uint32_t)i, deadline);
		if (r < 0)
			ec->corrupt++;
		while (r > 0) {
			const uint8_t *data;
			size_t dlen;
			uint16_t chan;
			struct stun_addr from;
			int g = recv_relayed(
			    x, deadline, &data, &dlen, &chan, &from);

			if (g < 0)
				return step_end(x, st, 0, 0, "%s", x->ioerr);
			if (g == 0)
				break;
			if (!payload_is(x, data, dlen, kind, (uint32_t)i))
				continue;
			if (dlen != len || memcmp(data, want, len) != 0 ||
			    chan != (channel ? x->channel : 0) ||
			    (chan == 0 && !saddr_eq(&from, &x->peer)))
				ec->corrupt++;
			else
				ec->rtt_us[ec->back++] = now_us() - t;
			break;
		}
		/* a relay that failed three in a row is not working: stop, so
		 * that the step stays bounded whatever the count */
		streak = ec->back == before ? streak + 1 : 0;
		if (streak == 3 && i + 1 < x->count) {
			gave_up = 1;
			break;
		}
	}
	lost = ec->sent - ec->back - ec->corrupt;
	snprintf(bad, sizeof(bad), ", %d lost, %d corrupted%s", lost,
	    ec->corrupt,
	    gave_up ? ", stopped after three failures in a row" : "");
	if (ec->back == ec->sent)
		bad[0] = '\0';
	sa_to_stun(&src, &x->relay_src);
	if (x->have_relay_src && !saddr_eq(&src, &x->relayed)) {
		/* a server behind NAT advertising the wrong external address */
		snprintf(note, sizeof(note),
		    "; the peer saw the relay as %s, not as the "
		    "relayed address",
		    saddr_str(&src, a, sizeof(a)));
	}
	if (ec->back == 0)
		return step_end(
		    x, st, 0, 0, "0/%d back%s%s", ec->sent, bad, note);
	memcpy(sorted, ec->rtt_us, sizeof(long long) * (size_t)ec->back);
	qsort(sorted, (size_t)ec->back, sizeof(long long), rtt_cmp);
	return step_end(x, st, ec->back == ec->sent, 0,
	    "%d/%d intact%s, rtt min/median/max %.2f/%.2f/%.2f ms%s", ec->back,
	    ec->sent, bad, sorted[0] / 1000.0, sorted[ec->back / 2] / 1000.0,
	    sorted[ec->back - 1] / 1000.0, note);
}

static int
step_channel_bind(struct check_ctx *x)
{
	struct check_req q = {.method = STUN_METHOD_CHANNEL_BIND};
	struct check_resp r;
	uint8_t rnd[2];
	char a[64];
	int code;

	step_begin(x);
	/* RFC 8656 section 12: a number in 0x4000-0x4FFF */
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return step_end(x, ST_CHANNEL_BIND, 0, 0, "no random bytes");
	x->channel = (uint16_t)(STUN_CHANNEL_MIN +
	    ((rnd[0] << 8 | rnd[1]) %
	        (STUN_CHANNEL_MAX - STUN_CHANNEL_MIN + 1)));
	q.channel = x->channel;
	q.peer = &x->peer;
	code = request(x, &q, &r, x->t0 + x->timeout_ms * 1000LL);
	if (code != 0)
		return step_req_fail(x, ST_CHANNEL_BIND, q.method, code, &r);
	return step_end(x, ST_CHANNEL_BIND, 1, 0, "channel 0x%04x to %s",
	    x->channel, saddr_str(&x->peer, a, sizeof(a)));
}

static int
step_deallocate(struct check_ctx *x)
{
	struct check_req q = {
	    .method = STUN_METHOD_REFRESH, .has_lifetime = 1, .lifetime_s = 0};
	struct check_resp r;
	int code;

	step_begin(x);
	/* RFC 8656 section 8: Refresh with LIFETIME 0 deletes it */
	code = request(x, &q, &r, x->t0 + x->timeout_ms * 1000LL);
	if (code != 0)
		return step_req_fail(x, ST_DEALLOCATE, q.method, code, &r);
	x->allocated = 0;
	return step_end(x, ST_DEALLOCATE, 1, 0, "Refresh LIFETIME 0 accepted");
}

static const char *
state_name(int state)
{
	return state == CHECK_S_OK  ? "ok"
	    : state == CHECK_S_FAIL ? "FAIL"
	                            : "skipped";
}

static void
report_text(const struct check_ctx *x, FILE *out)
{
	fprintf(out, "check %s (%s%s) as %s\n", x->o->url,
	    x->url.transport == CHECK_T_UDP ? "udp" : "tcp",
	    x->url.secure ? "+tls" : "", x->user);
	fprintf(
	    out, "%-13s %-7s %10s  %s\n", "STEP", "RESULT", "TIME", "DETAIL");
	for (int i = 0; i < ST_COUNT; i++) {
		const struct check_step *s = &x->steps[i];

		if (s->state == CHECK_S_OK || s->state == CHECK_S_FAIL)
			fprintf(out, "%-13s %-7s %7.1f ms  %s\n",
			    check_step_names[i], state_name(s->state),
			    s->us / 1000.0, s->detail);
		else if (i != ST_DEALLOCATE) /* nothing allocated to delete */
			fprintf(out, "%-13s %-7s %10s\n", check_step_names[i],
			    "skipped", "-");
	}
	if (x->failed < 0)
		fprintf(out,
		    "PASS: %d+%d datagrams echoed intact through the relay\n",
		    x->echo[0].back, x->echo[1].back);
	else
		fprintf(out, "FAIL at %s: %s\n", check_step_names[x->failed],
		    x->steps[x->failed].detail);
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void
json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void
json_echo(FILE *out, const struct check_echo *ec)
{
	long long sorted[CHECK_COUNT_MAX];

	fprintf(out, "{\"sent\":%d,\"received\":%d,\"lost\":%d,\"corrupt\":%d",
	    ec->sent, ec->back, ec->sent - ec->back - ec->corrupt, ec->corrupt);
	if (ec->back > 0) {
		memcpy(
		    sorted, ec->rtt_us, sizeof(long long) * (size_t)ec->back);
		qsort(sorted, (size_t)ec->back, sizeof(long long), rtt_cmp);
		fprintf(out,
		    ",\"rtt_ms\":{\"min\":%.3f,\"median\":%.3f,\"max\":%.3f}",
		    sorted[0] / 1000.0, sorted[ec->back / 2] / 1000.0,
		    sorted[ec->back - 1] / 1000.0);
	}
	fputc('}', out);
}

static void
report_json(const struct check_ctx *x, FILE *out)
{
	char a[64];
	int first = 1;

	fprintf(out, "{\"url\":");
	json_str(out, x->o->url);
	fprintf(out, ",\"transport\":\"%s\",\"tls\":%s,\"user\":",
	    x->url.transport == CHECK_T_UDP ? "udp" : "tcp",
	    x->url.secure ? "true" : "false");
	json_str(out, x->user);
	fprintf(out, ",\"ok\":%s", x->failed < 0 ? "true" : "false");
	if (x->steps[ST_CONNECT].state != CHECK_S_SKIPPED)
		fprintf(out, ",\"server\":\"%s\"",
		    sa_str(&x->server, a, sizeof(a)));
	if (x->steps[ST_BINDING].state == CHECK_S_OK)
		fprintf(out, ",\"reflexive\":\"%s\"",
		    saddr_str(&x->reflexive, a, sizeof(a)));
	if (x->steps[ST_ALLOCATE].state == CHECK_S_OK)
		fprintf(out, ",\"relayed\":\"%s\",\"lifetime_s\":%u",
		    saddr_str(&x->relayed, a, sizeof(a)),
		    (unsigned)x->lifetime_s);
	if (x->steps[ST_PROBE].state == CHECK_S_OK)
		fprintf(
		    out, ",\"peer\":\"%s\"", saddr_str(&x->peer, a, sizeof(a)));
	if (x->steps[ST_CHANNEL_BIND].state == CHECK_S_OK)
		fprintf(out, ",\"channel\":%u", x->channel);
	fprintf(out, ",\"steps\":[");
	for (int i = 0; i < ST_COUNT; i++) {
		const struct check_step *s = &x->steps[i];

		if (s->state == CHECK_S_SKIPPED)
			continue;
		fprintf(out,
		    "%s{\"step\":\"%s\",\"result\":\"%s\","
		    "\"ms\":%.3f,\"detail\":",
		    first ? "" : ",", check_step_names[i],
		    s->state == CHECK_S_OK ? "ok" : "fail", s->us / 1000.0);
		json_str(out, s->detail);
		if (s->code != 0)
			fprintf(out, ",\"code\":%d", s->code);
		fputc('}', out);
		first = 0;
	}
	fprintf(out, "],\"echo\":{\"send\":");
	json_echo(out, &x->echo[0]);
	fprintf(out, ",\"channel\":");
	json_echo(out, &x->echo[1]);
	fputc('}', out);
	if (x->failed >= 0) {
		fprintf(out, ",\"failed_step\":\"%s\",\"error\":",
		    check_step_names[x->failed]);
		json_str(out, x->steps[x->failed].detail);
	}
	fprintf(out, "}\n");
}
