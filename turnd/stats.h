/*
 * Counters.  Each worker owns one struct stats and is its only writer, so
 * an increment is a relaxed load and store (no locked instruction on the
 * data path); readers on other threads sum relaxed loads over workers.
 * The list is data: name, help.
 */
#ifndef TURND_STATS_H
#define TURND_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#define STATS_LIST(X)                                                          \
	X(RX_CLIENT_PKTS, "datagrams and frames received from clients")       \
	X(RX_CLIENT_BYTES, "bytes received from clients")                     \
	X(TX_CLIENT_PKTS, "datagrams and frames sent to clients")             \
	X(TX_CLIENT_BYTES, "bytes sent to clients")                           \
	X(RELAY_C2P_PKTS, "application packets relayed client to peer")      \
	X(RELAY_C2P_BYTES, "application bytes relayed client to peer")      \
	X(RELAY_P2C_PKTS, "application packets relayed peer to client")      \
	X(RELAY_P2C_BYTES, "application bytes relayed peer to client")      \
	X(REQUESTS, "STUN requests received")                                 \
	X(INDICATIONS, "STUN indications received")                           \
	X(RESP_SUCCESS, "success responses sent")                             \
	X(RESP_RETRANSMIT, "responses replayed for retransmitted requests")   \
	X(ALLOC_CREATED, "allocations created")                               \
	X(ALLOC_DELETED, "allocations deleted by the client")                 \
	X(ALLOC_EXPIRED, "allocations expired")                               \
	X(ALLOC_CLOSED, "allocations ended with their TCP/TLS connection")   \
	X(ALLOC_KICKED, "allocations deleted by an operator")                 \
	X(PERM_CREATED, "permissions installed")                              \
	X(CHAN_BOUND, "channels bound")                                       \
	X(DROP_NOT_STUN, "dropped: neither STUN nor ChannelData")             \
	X(DROP_MALFORMED, "dropped: malformed STUN or ChannelData")           \
	X(DROP_NO_ALLOC, "dropped: no allocation for the 5-tuple")            \
	X(DROP_NO_CHANNEL, "dropped: ChannelData on an unbound channel")      \
	X(DROP_NO_PERM, "dropped: no permission for the peer")                \
	X(DROP_POLICY, "dropped: peer refused by policy")                     \
	X(DROP_BAD_INDICATION, "dropped: indication missing attributes")      \
	X(DROP_UNKNOWN_ATTR, "dropped: indication with unknown attributes")   \
	X(DROP_TOO_BIG, "dropped: datagram too large to wrap")                \
	X(DROP_SEND_FAIL, "dropped: send failed")                             \
	X(DROP_TRUNCATED, "dropped: datagram larger than the buffer")         \
	X(DROP_RESPONSE, "dropped: STUN responses sent to the server")        \
	X(DROP_CLIENT_SLOW, "dropped: stream client not reading")             \
	X(DROP_RATE_LIMITED, "not answered: too many requests from the source") \
	X(DROP_BANDWIDTH, "dropped: allocation over its bandwidth")           \
	X(ICMP_RECEIVED, "ICMP errors about datagrams sent to peers")          \
	X(RELAY_SOCKET_FAILED, "relay sockets not opened: out of fds or memory") \
	X(ICMP_RELAYED, "ICMP errors passed to clients (Data indication)")    \
	X(AUTH_THROTTLED, "not answered: too many wrong passwords for the user") \
	X(TCP_ACCEPTED, "TCP and TLS connections accepted")                   \
	X(TCP_REFUSED_LIMIT, "connections refused: total or per-source cap") \
	X(TCP_ACCEPT_PAUSED, "accept paused: out of descriptors or memory")   \
	X(TCP_BAD_FRAME, "connections closed: not STUN or frame too big")    \
	X(TCP_IDLE_CLOSED, "connections closed: idle or stalled frame")      \
	X(AUTH_FAIL_NO_CREDS, "401: request without credentials")             \
	X(AUTH_FAIL_UNKNOWN_USER, "401: unknown user")                        \
	X(AUTH_FAIL_BAD_MI, "401: wrong MESSAGE-INTEGRITY")                   \
	X(AUTH_FAIL_EXPIRED, "401: expired REST credential")                  \
	X(AUTH_FAIL_REALM, "401: wrong realm")                                \
	X(AUTH_FAIL_STALE_NONCE, "438: stale or foreign nonce")               \
	X(AUTH_FAIL_BAD_REQUEST, "400: malformed credentials")                \
	X(AUTH_FAIL_WRONG_USER, "441: username differs from the allocation's")

enum stats_id {
#define STATS_X_ENUM(name, help) STAT_##name,
	STATS_LIST(STATS_X_ENUM)
#undef STATS_X_ENUM
	STAT_COUNT
};

/* Error responses by code, as a small table of the codes turnd sends. */
#define STATS_ERR_CODES(X)                                                     \
	X(400) X(401) X(403) X(420) X(437) X(438) X(440) X(441) X(442)         \
	X(443) X(446) X(447) X(486) X(500) X(508)

enum stats_err_id {
#define STATS_X_ERR(code) STAT_ERR_##code,
	STATS_ERR_CODES(STATS_X_ERR)
#undef STATS_X_ERR
	STAT_ERR_OTHER,
	STAT_ERR_COUNT
};

/* Gauges: values that go up and down, kept by the worker as they change. */
#define STATS_GAUGES(X)                                                        \
	X(ALLOCS_UDP, "allocations whose client uses UDP")                    \
	X(ALLOCS_TCP, "allocations whose client uses TCP")                    \
	X(ALLOCS_TLS, "allocations whose client uses TLS")                    \
	X(RELAYS_IPV4, "IPv4 relayed transport addresses")                    \
	X(RELAYS_IPV6, "IPv6 relayed transport addresses")                    \
	X(PERMISSIONS, "permissions installed")                               \
	X(CHANNELS, "channel bindings (bound, or held after expiry)")         \
	X(CONNECTIONS, "TCP and TLS client connections")

enum stats_gauge_id {
#define STATS_X_GAUGE(name, help) STATG_##name,
	STATS_GAUGES(STATS_X_GAUGE)
#undef STATS_X_GAUGE
	STATG_COUNT
};

struct stats {
	_Atomic uint64_t c[STAT_COUNT];
	_Atomic uint64_t err[STAT_ERR_COUNT];
	_Atomic int64_t g[STATG_COUNT];
};

static inline void
stats_gadd(_Atomic int64_t *g, int64_t n)
{
	atomic_store_explicit(g,
	    atomic_load_explicit(g, memory_order_relaxed) + n,
	    memory_order_relaxed);
}

#define GAUGE_ADD(st, id, n) stats_gadd(&(st)->g[STATG_##id], (n))

/* Single writer: no read-modify-write instruction needed. */
static inline void
stats_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c,
	    atomic_load_explicit(c, memory_order_relaxed) + n,
	    memory_order_relaxed);
}

#define STAT_INC(st, id) stats_add(&(st)->c[STAT_##id], 1)
#define STAT_ADD(st, id, n) stats_add(&(st)->c[STAT_##id], (n))

/* Counts an error response with its code. */
void stats_err(struct stats *st, uint16_t code);
const char *stats_name(enum stats_id id);
const char *stats_help(enum stats_id id);
const char *stats_gauge_name(enum stats_gauge_id id);
const char *stats_gauge_help(enum stats_gauge_id id);
/* A counter's name as metrics and JSON spell it: lower case. */
void stats_lower(char *dst, const char *src, size_t len);
/* Sums of every worker's counters, read with relaxed loads. */
void stats_sum(struct stats *out, struct stats *const *each, size_t n);
uint16_t stats_err_code(enum stats_err_id id);

#endif
