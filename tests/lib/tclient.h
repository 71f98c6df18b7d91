/*
 * A small TURN client for the integration tests, built on proto/: UDP
 * sockets on loopback, or a TCP or TLS stream (RFC 8656 section 3.1) cut
 * into frames by the codec's framer, requests assembled from a list of
 * attributes, transactions (with retransmission on UDP), the long-term
 * credential dance, and a UDP "peer" socket to exchange data with through
 * the relay.  It trusts nothing the server sends: every response is
 * decoded and checked by proto/ before the tests look at it.
 *
 * Every call works on every transport.  On a stream a request is sent once
 * and its answer awaited timeout_ms * tries; ChannelData is padded to four
 * (chan_pad, on by default there) and read back with its padding, which
 * the framer requires.  Stream sockets are non-blocking and every wait is
 * bounded by poll.
 */
#ifndef TURND_TESTS_TCLIENT_H
#define TURND_TESTS_TCLIENT_H

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "stun.h"
#include "stun_msg.h"

union tc_addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/* One attribute to put in a request. */
#define TC_RAW 0   /* val/len as given */
#define TC_XADDR 1 /* addr, XORed with the transaction ID */
#define TC_U32 2   /* u32 */
#define TC_U8PAD 3 /* u32 low byte in the first octet, three zero octets */
#define TC_U16PAD 4

struct tc_attr {
	uint16_t type;
	int kind;
	const void *val;
	size_t len;
	uint32_t u32;
	struct stun_addr addr;
};

#define TC_MAX_ATTRS 24

struct tc_msg {
	uint16_t method;
	uint8_t cls;	 /* STUN_CLASS_REQUEST by default */
	int auth;	 /* add USERNAME, REALM, NONCE, MESSAGE-INTEGRITY */
	int sha256;	 /* with auth: SHA-256 key, PASSWORD-ALGORITHM(S), MI-SHA256 */
	int fingerprint; /* add FINGERPRINT */
	int no_username; /* with auth: leave USERNAME out */
	int no_realm;	 /* with auth: leave REALM out */
	int no_nonce;	 /* with auth: leave NONCE out */
	/*
	 * With auth and pwalg_set: PASSWORD-ALGORITHMS holds
	 * pwalgs[0..n_pwalgs) (left out when n_pwalgs is 0) and
	 * PASSWORD-ALGORITHM holds pwalg (left out when 0), instead of what
	 * sha256 implies.  The key and the integrity attribute still follow
	 * sha256.
	 */
	int pwalg_set;
	uint16_t pwalgs[4];
	size_t n_pwalgs;
	uint16_t pwalg;
	size_t n;
	struct tc_attr a[TC_MAX_ATTRS];
	uint8_t txid[STUN_TXID_LEN]; /* set by the caller when txid_set */
	int txid_set;
};

struct tc_resp {
	uint8_t buf[2048];
	size_t len;
	struct stun_msg m; /* borrows buf */
	int code;	   /* 0 success, an error code, or -1 */
};

/* Client transports. */
#define TC_UDP 0
#define TC_TCP 1
#define TC_TLS 2

/* The longest frame a stream can carry: a STUN header and 65532 bytes. */
#define TC_FRAME_MAX (20 + 65532)

/* How tc_open_stream connects; all zero is plain TCP from any address. */
struct tc_stream {
	int transport;        /* TC_TCP or TC_TLS */
	const char *local_ip; /* bind the client here first; NULL: any */
	const char *alpn;     /* TLS: ALPN protocol to offer; NULL: none */
	const char *ca_file;  /* TLS: verify the server's chain; NULL: don't */
	/* TLS with ca_file: IP or DNS name to check; NULL: the server's IP */
	const char *verify_name;
	int tls_version; /* TLS: this version only (TLS1_1_VERSION...); 0 any */
	int timeout_ms;  /* connect and handshake; 0: 2000 */
	/*
	 * A slow reader: SO_RCVBUF (a small window) and TCP_MAXSEG (small
	 * segments, so that the sender's kernel holds little either) set
	 * before connecting; 0 leaves each alone.
	 */
	int rcvbuf;
	int maxseg;
};

struct tc {
	int fd;
	int transport; /* TC_UDP, TC_TCP or TC_TLS */
	union tc_addr server;
	union tc_addr local; /* our own transport address */
	char user[600];
	char pass[128];
	char realm[256];
	char nonce[256];
	uint8_t key[32];
	size_t keylen;
	int timeout_ms; /* per try */
	int tries;
	int chan_pad; /* pad ChannelData to four (streams: on) */
	/* streams: write at most write_chunk bytes at a time (0: all) */
	size_t write_chunk;
	int write_gap_ms; /* and sleep this long between pieces */
	int closed;       /* streams: the server closed (EOF, reset, alert) */
	int bad_frame;   /* streams: the server sent bytes that frame nothing */
	char alpn[32];   /* TLS: protocol the server selected, "" none */
	int tls_version; /* TLS: negotiated version (TLS1_2_VERSION...) */
	char tls_error[256]; /* TLS: why the handshake failed */
	SSL_CTX *ssl_ctx;
	SSL *ssl;
	uint8_t *sbuf; /* streams: bytes received, not yet framed (owned) */
	size_t slen;
};

/* Parses "127.0.0.1" or "::1" with a port. Returns 0 or -1. */
int tc_addr_parse(union tc_addr *a, const char *ip, uint16_t port);
socklen_t tc_addr_len(const union tc_addr *a);
void tc_addr_to_stun(struct stun_addr *s, const union tc_addr *a);
void tc_addr_from_stun(union tc_addr *a, const struct stun_addr *s);
int tc_addr_eq(const union tc_addr *a, const union tc_addr *b);
const char *tc_addr_str(const union tc_addr *a, char *buf, size_t len);
uint16_t tc_addr_port(const union tc_addr *a);
/* True when a holds the address ip ("127.0.0.1", "::1"), any port. */
int tc_addr_ip_is(const union tc_addr *a, const char *ip);

/* Opens a client socket toward server_ip:port. Returns 0 or -1. */
int tc_open(struct tc *c, const char *server_ip, uint16_t port,
    const char *user, const char *pass);
/*
 * Connects a TCP or TLS client to server_ip:port (TLS: handshake done,
 * alpn and tls_version set).  Returns 0, or -1 (a failed handshake says
 * why in tls_error).  Either way tc_close releases c.  SIGPIPE is ignored
 * from then on: a write to a connection the server closed fails instead.
 */
int tc_open_stream(struct tc *c, const struct tc_stream *s,
    const char *server_ip, uint16_t port, const char *user, const char *pass);
void tc_close(struct tc *c);
/*
 * Streams: waits up to timeout_ms for the server to close the connection,
 * discarding what arrives.  Returns the milliseconds it took (0 when it
 * was closed already), or -1 when it is still open.
 */
int tc_wait_closed(struct tc *c, int timeout_ms);

void tcm_init(struct tc_msg *m, uint16_t method);
void tcm_raw(struct tc_msg *m, uint16_t type, const void *val, size_t len);
void tcm_u32(struct tc_msg *m, uint16_t type, uint32_t v);
void tcm_u8pad(struct tc_msg *m, uint16_t type, uint8_t v);
void tcm_u16pad(struct tc_msg *m, uint16_t type, uint16_t v);
void tcm_xaddr(struct tc_msg *m, uint16_t type, const union tc_addr *a);
void tcm_str(struct tc_msg *m, uint16_t type, const char *s);

/* Encodes m with a fresh (or the given) transaction ID into buf. */
int tc_encode(struct tc *c, const struct tc_msg *m, uint8_t *buf,
    size_t cap, uint8_t txid_out[STUN_TXID_LEN]);
/*
 * One transaction: sends m, retransmits, waits for the response with the
 * same transaction ID.  Returns the response code (0 for success, the
 * error code, -1 on timeout or an undecodable response).  Remembers REALM
 * and NONCE from 401/438 answers.
 */
int tc_transact(struct tc *c, const struct tc_msg *m, struct tc_resp *r);
/*
 * tc_transact for a request the caller encoded (or forged): sends
 * req[0..len), retransmits, and waits for a response carrying the
 * transaction ID of bytes 8..19.  Same returns; remembers nothing.
 */
int tc_transact_raw(struct tc *c, const uint8_t *req, size_t len,
    struct tc_resp *r);
/*
 * Learns REALM and NONCE from the 401 to an unauthenticated Allocate.
 * Returns 0, or -1 when the answer was anything else.
 */
int tc_learn_nonce(struct tc *c);
/* tc_transact with the credential dance: on 401/438 retries once. */
int tc_call(struct tc *c, struct tc_msg *m, struct tc_resp *r);
/* Verifies a response's MESSAGE-INTEGRITY with the client's key. */
int tc_check_integrity(const struct tc *c, const struct tc_resp *r);

/* Allocate (UDP) with the dance; fills relayed (first XOR-RELAYED). */
int tc_allocate(struct tc *c, union tc_addr *relayed);
/* The same with REQUESTED-ADDRESS-FAMILY (STUN_AF_IPV4 or _IPV6). */
int tc_allocate_family(struct tc *c, uint8_t family, union tc_addr *relayed);
int tc_refresh(struct tc *c, uint32_t lifetime);
int tc_permission(struct tc *c, const union tc_addr *peer);
int tc_channel_bind(struct tc *c, uint16_t chan, const union tc_addr *peer);
/* Send indication and ChannelData. */
int tc_send_ind(struct tc *c, const union tc_addr *peer, const void *data,
    size_t len);
/* ChannelData, padded to four when c->chan_pad is set. */
int tc_send_chan(struct tc *c, uint16_t chan, const void *data, size_t len);
/*
 * Waits for a Data indication or ChannelData.  Returns the data length and
 * sets *chan (0 for a Data indication, whose peer goes in *peer; either
 * may be NULL), or -1 on timeout.  Other messages are skipped.  On a
 * stream a ChannelData frame must carry its padding.
 */
int tc_recv_data(struct tc *c, void *buf, size_t cap, uint16_t *chan,
    union tc_addr *peer, int timeout_ms);

/*
 * Sends p[0..len) as one datagram, or on a stream writes it all (in
 * write_chunk pieces write_gap_ms apart when set).  Returns 0 or -1.
 */
int tc_send_raw(struct tc *c, const void *p, size_t len);
/*
 * Receives one datagram, or on a stream the next whole frame (cut by
 * proto/'s stun_frame_len: ChannelData with its padding).  Copies at most
 * cap bytes and returns the datagram's or frame's length; -1 on timeout,
 * on a closed stream, or bytes that frame nothing (bad_frame).
 */
int tc_recv_raw(struct tc *c, void *buf, size_t cap, int timeout_ms);

/* CLOCK_MONOTONIC in milliseconds. */
long long tc_now_ms(void);
/* Waits for ev (POLLIN...) on fd until deadline (tc_now_ms): 1 ready, 0
 * timeout or error. */
int tc_wait_fd(int fd, short ev, long long deadline);

/*
 * Streams: the bytes that follow the frames read so far, as they come (an
 * RFC 6062 data connection after ConnectionBind is no longer framed):
 * what is buffered first, else what arrives within timeout_ms; at most
 * cap bytes.  Returns the count, 0 when the stream ended (EOF, reset,
 * close_notify), -1 on timeout.
 */
int tc_stream_read(struct tc *c, void *buf, size_t cap, int timeout_ms);

/* A UDP peer on loopback. */
struct tpeer {
	int fd;
	union tc_addr addr;
};

int tpeer_open(struct tpeer *p, const char *ip);
void tpeer_close(struct tpeer *p);
int tpeer_send(struct tpeer *p, const union tc_addr *to, const void *data,
    size_t len);
int tpeer_recv(struct tpeer *p, void *buf, size_t cap, union tc_addr *from,
    int timeout_ms);

/* TURN REST credential: password for username with secret. */
void tc_rest_password(const char *secret, const char *user, char out[64]);

#endif
