/*
 * The end-to-end self-test behind `turnctl check URL`: acting as an
 * ordinary TURN client, built on proto/ and nothing of the daemon, it
 * resolves the URL (RFC 7065), connects (UDP, TCP, or TLS with SNI, ALPN
 * "stun.turn" per RFC 7443 and a verified certificate), asks Binding for
 * the client's reflexive address, allocates a UDP relay with the long-term
 * credential dance (RFC 8489 section 9.2, MD5 or SHA-256 as the server
 * offers; 438 answered with the new nonce), installs a permission, echoes
 * datagrams through the relay first with Send/Data indications and then on
 * a channel with ChannelData (RFC 8656 sections 11 and 12), measures their
 * round trips, and deallocates.  Each step is timed and reported.
 *
 * How the echo reaches back.  The "peer" is a second, plain UDP socket of
 * this process, bound to the local IP of the TURN connection.  A datagram
 * goes client -> server -> relayed address -> peer socket; the peer sends
 * it straight back to where it came from (the relayed address) and the
 * server hands it to the client as a Data indication or ChannelData.  This
 * works alike for UDP, TCP and TLS client transports, since relayed data
 * always travels as UDP between the relay and the peer.
 *
 * Which peer address the permission names.  A permission covers an IP
 * address, so it is made for the reflexive IP that Binding reported: the
 * address the server sees this host as.  Without a NAT that is the local
 * IP the peer socket is bound to; behind a NAT the peer socket's traffic
 * leaves by the same public IP as the TURN connection in all common
 * set-ups.  The peer's port as the server sees it cannot be predicted
 * behind a NAT, so it is learnt rather than assumed: once the permission
 * exists the peer socket sends a probe to the relayed address, the server
 * relays it as a Data indication whose XOR-PEER-ADDRESS is the peer as the
 * server sees it, and that address is the destination of the echoes and of
 * the ChannelBind.  Sending first also opens a stateful firewall or an
 * address-dependent NAT toward exactly the relayed address.
 *
 * Limits.  The server must agree to relay to the client's own address:
 * run on the TURN host itself (reflexive address loopback or the host's
 * private IP) or on a private network, the check fails with 403 on the
 * permission unless that address is allowed (turnd: peers.allow), which
 * is the server's policy working as intended, not a fault.  A NAT that
 * maps the peer socket to a different public IP than the TURN connection,
 * or a firewall that blocks inbound UDP from the relay, makes the probe
 * step fail.  The relay is UDP only (no RFC 6062 TCP relay) and of the
 * client connection's address family.  turns: over UDP (DTLS) is not
 * supported.
 *
 * UDP goes to the first address the host resolves to; TCP and TLS try
 * each address in turn.
 *
 * Timeouts: each step is bounded by timeout_ms, the name lookup included
 * (getaddrinfo_a); on UDP requests are retransmitted per RFC 8489 section
 * 6.2.1 (RTO 500 ms, doubling) within that bound, on TCP and TLS sent
 * once.  Each echo waits at most min(timeout_ms, 1000) ms for its answer;
 * a datagram not back by then is counted lost, and three failures in a
 * row end the echo step early, so that a broken relay costs seconds
 * whatever the count.
 */
#ifndef TURND_CHECK_H
#define TURND_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What check_run does; pointers are borrowed for the duration of the call. */
struct check_opts {
	const char *url;  /* turn:HOST[:PORT][?transport=udp|tcp], turns: */
	const char *user; /* with password: a static user */
	const char *password;
	const char *secret;  /* instead: mint a TURN REST credential */
	uint32_t rest_ttl_s; /* its lifetime; 0 = CHECK_REST_TTL_S */
	int timeout_ms;      /* per step; 0 = CHECK_TIMEOUT_MS */
	int count;           /* echoes per method; 0 = CHECK_COUNT */
	int json;            /* one JSON object instead of the table */
	const char *ca_file; /* turns: trust this CA; NULL: the system's */
	int insecure;        /* turns: do not verify the certificate */
};

#define CHECK_REST_TTL_S 3600
#define CHECK_TIMEOUT_MS 5000
#define CHECK_COUNT 5
#define CHECK_COUNT_MAX 1000
#define CHECK_REST_ID "turnctl-check"

/* Exit codes of check_run, also turnctl's. */
#define CHECK_PASS 0
#define CHECK_FAIL 1
#define CHECK_USAGE 2

/*
 * Runs the self-test described by opts and writes a report to out: a table
 * (step, result, time, detail) and a verdict line, or with json one JSON
 * object.  Usage errors (bad URL, missing or conflicting credentials, a
 * count or timeout out of range) are written to stderr, or with json as
 * the "error" member of the object on out.  Returns CHECK_PASS when every
 * step passed and every echoed datagram came back intact, CHECK_FAIL when
 * a step failed, CHECK_USAGE for usage errors.
 */
int check_run(const struct check_opts *opts, FILE *out);

/*
 * Mints a TURN REST API credential (draft-uberti-behave-turn-rest): the
 * username "<expiry>:<id>" with expiry = now + ttl_s in Unix seconds (just
 * "<expiry>" when id is NULL or empty), the password base64(HMAC-SHA1(secret,
 * username)).  Writes both NUL-terminated into the caller's buffers.
 * Returns 0, or -1 when a buffer is too small or libcrypto fails.
 */
int check_rest_credential(const char *secret, uint32_t ttl_s, const char *id,
    char *user, size_t user_len, char *pass, size_t pass_len);

/* A parsed TURN URL (RFC 7065 section 3). */
struct check_url {
	int secure;     /* turns: */
	int transport;  /* CHECK_T_UDP or CHECK_T_TCP */
	char host[256]; /* a name or an IP literal, without brackets */
	int host_is_ip;
	uint16_t port;
};

#define CHECK_T_UDP 0
#define CHECK_T_TCP 1

/*
 * Parses url.  The scheme is turn or turns (any case); the port defaults
 * to 3478 or 5349; transport defaults to udp for turn and tcp for turns;
 * turns with transport=udp (DTLS) is refused.  On error writes a reason to
 * err and returns -1; returns 0 on success.
 */
int check_url_parse(
    const char *url, struct check_url *u, char *err, size_t errlen);

#endif
