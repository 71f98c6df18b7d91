/*
 * The test client's TCP and TLS transport (RFC 8656 section 3.1): a
 * non-blocking socket, OpenSSL's client directly on it, every wait bounded
 * by poll, and the received bytes cut into frames by proto/'s
 * stun_frame_len.  See tclient.h for the calls and tclient_stream.h for
 * what tclient.c uses.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "tclient.h"
#include "tclient_stream.h"

/* Room for a whole frame and the start of the next. */
#define TC_STREAM_BUF (TC_FRAME_MAX + 4096)

static int stream_read(struct tc *, long long);
static int stream_write(struct tc *, const uint8_t *, size_t, long long);
static int tls_connect(
    struct tc *, const struct tc_stream *, const char *, long long);

int
tc_open_stream(struct tc *c, const struct tc_stream *s, const char *server_ip,
    uint16_t port, const char *user, const char *pass)
{
	long long deadline =
	    tc_now_ms() + (s->timeout_ms > 0 ? s->timeout_ms : 2000);
	socklen_t len = sizeof(c->local);
	int on = 1, err = 0;
	union tc_addr from;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->transport = s->transport == TC_TLS ? TC_TLS : TC_TCP;
	c->timeout_ms = 500;
	c->tries = 4;
	c->chan_pad = 1;
	snprintf(c->user, sizeof(c->user), "%s", user ? user : "");
	snprintf(c->pass, sizeof(c->pass), "%s", pass ? pass : "");
	/* a write to a connection the server closed must fail, not kill us */
	signal(SIGPIPE, SIG_IGN);
	if (tc_addr_parse(&c->server, server_ip, port) != 0)
		return -1;
	c->sbuf = malloc(TC_STREAM_BUF);
	if (c->sbuf == NULL)
		return -1;
	c->fd = socket(c->server.sa.sa_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		return -1;
	/* small writes go out as they are: framing tests depend on it */
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if ((s->rcvbuf > 0 &&
	        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &s->rcvbuf,
	            sizeof(s->rcvbuf)) != 0) ||
	    (s->maxseg > 0 &&
	        setsockopt(c->fd, IPPROTO_TCP, TCP_MAXSEG, &s->maxseg,
	            sizeof(s->maxseg)) != 0))
		return -1;
	if (s->local_ip != NULL &&
	    (tc_addr_parse(&from, s->local_ip, 0) != 0 ||
	        bind(c->fd, &from.sa, tc_addr_len(&from)) != 0))
		return -1;
	if (connect(c->fd, &c->server.sa, tc_addr_len(&c->server)) != 0) {
		socklen_t elen = sizeof(err);

		if (errno != EINPROGRESS ||
		    tc_wait_fd(c->fd, POLLOUT, deadline) <= 0 ||
		    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 ||
		    err != 0)
			return -1;
	}
	if (getsockname(c->fd, &c->local.sa, &len) != 0)
		return -1;
	if (c->transport == TC_TLS)
		return tls_connect(c, s, server_ip, deadline);
	return 0;
}

static void
tls_failed(struct tc *c, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char reason[200] = "";

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	snprintf(c->tls_error, sizeof(c->tls_error), "%s%s%s", what,
	    e != 0 ? ": " : "", reason);
	ERR_clear_error();
}

static int
tls_connect(struct tc *c, const struct tc_stream *s, const char *server_ip,
    long long deadline)
{
	const unsigned char *sel;
	unsigned int sel_len;

	ERR_clear_error();
	c->ssl_ctx = SSL_CTX_new(TLS_client_method());
	if (c->ssl_ctx == NULL) {
		tls_failed(c, "SSL_CTX_new");
		return -1;
	}
	if (s->tls_version != 0) {
		SSL_CTX_set_min_proto_version(c->ssl_ctx, s->tls_version);
		SSL_CTX_set_max_proto_version(c->ssl_ctx, s->tls_version);
		/* let old versions through our own side's security level */
		if (s->tls_version < TLS1_2_VERSION) {
			SSL_CTX_set_security_level(c->ssl_ctx, 0);
			SSL_CTX_set_cipher_list(
			    c->ssl_ctx, "DEFAULT:@SECLEVEL=0");
		}
	}
	if (s->alpn != NULL) {
		unsigned char wire[256];
		size_t n = strlen(s->alpn);

		if (n == 0 || n > 255)
			return -1;
		wire[0] = (unsigned char)n;
		memcpy(wire + 1, s->alpn, n);
		/* returns 0 on success, unlike the rest of OpenSSL */
		if (SSL_CTX_set_alpn_protos(
		        c->ssl_ctx, wire, (unsigned int)n + 1) != 0) {
			tls_failed(c, "SSL_CTX_set_alpn_protos");
			return -1;
		}
	}
	if (s->ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(
		        c->ssl_ctx, s->ca_file, NULL) != 1) {
			tls_failed(c, "cannot load the CA file");
			return -1;
		}
		SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER, NULL);
	}
	c->ssl = SSL_new(c->ssl_ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		tls_failed(c, "SSL_new");
		return -1;
	}
	if (s->ca_file != NULL) {
		const char *name =
		    s->verify_name != NULL ? s->verify_name : server_ip;
		union tc_addr ip;

		if (tc_addr_parse(&ip, name, 0) == 0) {
			if (X509_VERIFY_PARAM_set1_ip_asc(
			        SSL_get0_param(c->ssl), name) != 1)
				return -1;
		} else if (SSL_set1_host(c->ssl, name) != 1 ||
		    SSL_set_tlsext_host_name(c->ssl, name) != 1)
			return -1;
	}
	for (;;) {
		int r = SSL_connect(c->ssl), ev;

		if (r == 1)
			break;
		switch (SSL_get_error(c->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			ev = POLLIN;
			break;
		case SSL_ERROR_WANT_WRITE:
			ev = POLLOUT;
			break;
		case SSL_ERROR_SYSCALL:
			tls_failed(c, "connection closed in the handshake");
			c->closed = 1;
			return -1;
		default:
			tls_failed(c, "handshake failed");
			c->closed = 1;
			return -1;
		}
		if (tc_wait_fd(c->fd, (short)ev, deadline) <= 0) {
			snprintf(c->tls_error, sizeof(c->tls_error),
			    "handshake timed out");
			return -1;
		}
	}
	SSL_get0_alpn_selected(c->ssl, &sel, &sel_len);
	if (sel != NULL && sel_len < sizeof(c->alpn)) {
		memcpy(c->alpn, sel, sel_len);
		c->alpn[sel_len] = '\0';
	}
	c->tls_version = SSL_version(c->ssl);
	return 0;
}

void
tc_stream_close(struct tc *c)
{
	if (c->ssl != NULL) {
		if (!c->closed)
			(void)SSL_shutdown(c->ssl); /* close_notify, no wait */
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ssl_ctx);
	c->ssl = NULL;
	c->ssl_ctx = NULL;
	free(c->sbuf);
	c->sbuf = NULL;
	c->slen = 0;
	ERR_clear_error();
}

int
tc_stream_send(struct tc *c, const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t off = 0;

	do {
		size_t n = len - off;

		if (c->write_chunk > 0 && n > c->write_chunk)
			n = c->write_chunk;
		if (off > 0 && c->write_gap_ms > 0)
			usleep((useconds_t)c->write_gap_ms * 1000);
		if (stream_write(c, b + off, n, tc_now_ms() + 5000) != 0)
			return -1;
		off += n;
	} while (off < len);
	return 0;
}

/*
 * Reads what has come into sbuf, waiting for it until deadline.  Returns 1
 * after reading, 0 on timeout, -1 when the stream is closed.
 */
static int
stream_read(struct tc *c, long long deadline)
{
	for (;;) {
		size_t room = TC_STREAM_BUF - c->slen;
		short ev = POLLIN;

		if (c->closed || c->fd == -1 || room == 0)
			return -1;
		if (c->ssl != NULL) {
			int r;

			ERR_clear_error();
			r = SSL_read(c->ssl, c->sbuf + c->slen, (int)room);
			if (r > 0) {
				c->slen += (size_t)r;
				return 1;
			}
			switch (SSL_get_error(c->ssl, r)) {
			case SSL_ERROR_WANT_READ:
				break;
			case SSL_ERROR_WANT_WRITE:
				ev = POLLOUT;
				break;
			default: /* close_notify, EOF, reset or an alert */
				ERR_clear_error();
				c->closed = 1;
				return -1;
			}
		} else {
			ssize_t n = recv(c->fd, c->sbuf + c->slen, room, 0);

			if (n > 0) {
				c->slen += (size_t)n;
				return 1;
			}
			if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				c->closed = 1;
				return -1;
			}
		}
		if (tc_wait_fd(c->fd, ev, deadline) <= 0)
			return 0;
	}
}

/* Writes all of p[0..len) by deadline. Returns 0 or -1. */
static int
stream_write(struct tc *c, const uint8_t *p, size_t len, long long deadline)
{
	while (len > 0) {
		short ev = POLLOUT;
		size_t done = 0;

		if (c->fd == -1)
			return -1;
		if (c->ssl != NULL) {
			int r;

			ERR_clear_error();
			r = SSL_write(
			    c->ssl, p, len > 16384 ? 16384 : (int)len);
			if (r > 0)
				done = (size_t)r;
			else {
				switch (SSL_get_error(c->ssl, r)) {
				case SSL_ERROR_WANT_WRITE:
					break;
				case SSL_ERROR_WANT_READ:
					ev = POLLIN;
					break;
				default:
					ERR_clear_error();
					c->closed = 1;
					return -1;
				}
			}
		} else {
			ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

			if (n > 0)
				done = (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				c->closed = 1;
				return -1;
			}
		}
		if (done > 0) {
			p += done;
			len -= done;
			continue;
		}
		if (tc_wait_fd(c->fd, ev, deadline) <= 0)
			return -1;
	}
	return 0;
}

int
tc_wait_closed(struct tc *c, int timeout_ms)
{
	long long start = tc_now_ms(), deadline = start + timeout_ms;

	if (c->transport == TC_UDP)
		return -1;
	while (!c->closed) {
		c->slen = 0; /* whatever came is of no interest */
		/* a timeout, or no stream at all */
		if (stream_read(c, deadline) <= 0 && !c->closed)
			return -1;
	}
	return (int)(tc_now_ms() - start);
}

int
tc_stream_recv(struct tc *c, void *buf, size_t cap, int timeout_ms)
{
	long long deadline = tc_now_ms() + timeout_ms;

	if (c->sbuf == NULL)
		return -1;
	for (;;) {
		int r = stun_frame_len(c->sbuf, c->slen, TC_FRAME_MAX);

		if (r < 0) {
			c->bad_frame = 1;
			return -1;
		}
		if (r > 0 && (size_t)r <= c->slen) {
			size_t flen = (size_t)r;

			memcpy(buf, c->sbuf, flen < cap ? flen : cap);
			memmove(c->sbuf, c->sbuf + flen, c->slen - flen);
			c->slen -= flen;
			return r;
		}
		if (stream_read(c, deadline) <= 0)
			return -1;
	}
}

int
tc_stream_read(struct tc *c, void *buf, size_t cap, int timeout_ms)
{
	long long deadline = tc_now_ms() + timeout_ms;
	size_t n;

	if (c->transport == TC_UDP || c->sbuf == NULL)
		return -1;
	if (c->slen == 0) {
		int r = stream_read(c, deadline);

		if (r < 0)
			return 0;
		if (r == 0)
			return -1;
	}
	n = c->slen < cap ? c->slen : cap;
	memcpy(buf, c->sbuf, n);
	memmove(c->sbuf, c->sbuf + n, c->slen - n);
	c->slen -= n;
	return (int)n;
}
