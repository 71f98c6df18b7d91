/*
 * Allocations (RFC 8656 section 2.2): the per-worker table, keyed by the
 * client's 5-tuple, and what each allocation owns: its relayed transport
 * addresses (one or two relay sockets), permissions, channels, user and
 * lifetime.  The table owns its allocations; an allocation owns its relay
 * sockets, events, permissions and channels, and releases its relay ports
 * and its quota when freed.
 */
#ifndef TURND_ALLOC_H
#define TURND_ALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "addr.h"
#include "stun.h"

struct worker;
struct listener;
struct tconn;
struct event;

/* Who sent a message and over what: the client end of the 5-tuple. */
struct client_ep {
	struct listener *l; /* UDP listener, or NULL */
	struct tconn *conn; /* TCP/TLS connection, or NULL */
	union taddr addr;   /* the client's transport address */
	union taddr local;  /* the server address the client reached */
};

#define PERM_LIFETIME_S 300 /* RFC 8656 section 9 */
#define CHAN_LIFETIME_S 600 /* RFC 8656 section 12 */
#define CHAN_HOLD_S 300	    /* no rebinding for 5 minutes after expiry */

struct turn_perm {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t ip[16];
	uint32_t expires;
};

struct turn_chan {
	uint16_t num;
	union taddr peer;
	uint32_t expires; /* bound until then; held CHAN_HOLD_S after */
};

struct relay {
	struct turn_alloc *a;
	int fd; /* -1: unused */
	union taddr addr; /* the local address bound, port included */
	struct event *ev;
	int df; /* DF set on the socket */
	/*
	 * DF asked by a Send indication on a socket without it: DF stays on
	 * until then (monotonic s), for the ICMP error to be received.
	 */
	uint32_t df_until;
};

struct turn_alloc {
	struct turn_alloc *hnext; /* table chain */
	TAILQ_ENTRY(turn_alloc) entry;
	struct worker *w;
	struct client_ep ep;
	int transport; /* client transport, CONF_T_* */
	uint32_t id;   /* worker id << 24 | serial, for operators */
	struct relay relay[2]; /* relay[0] always used; [1] for dual */
	int tcp;	       /* RFC 6062 TCP allocation */
	int counted;	       /* in the gauges (fully created) */
	uint32_t created;
	uint32_t expires;
	uint8_t txid[STUN_TXID_LEN]; /* of the Allocate that made it */
	char *user;		     /* NUL-terminated */
	size_t user_len;
	size_t quota_off; /* quota key: user + quota_off */
	struct turn_perm *perms;
	uint16_t n_perm;
	uint16_t cap_perm;
	struct turn_chan *chans;
	uint16_t n_chan;
	uint16_t cap_chan;
	uint64_t c2p_pkts, c2p_bytes, p2c_pkts, p2c_bytes;
	uint64_t bw_tokens; /* bytes, quotas.bandwidth_per_allocation */
	uint64_t bw_last_ms;
};

TAILQ_HEAD(alloc_list, turn_alloc);

struct alloc_table {
	struct turn_alloc **b;
	size_t nb; /* power of two */
	size_t n;
	uint32_t seed;
	struct alloc_list all;
};

struct alloc_table *alloc_table_new(uint32_t seed);
/* Frees every allocation, then the table. */
void alloc_table_free(struct worker *w, struct alloc_table *t);

/* The allocation for a 5-tuple, or NULL. O(1). */
struct turn_alloc *alloc_find(struct alloc_table *t,
    const struct client_ep *ep);
/*
 * A new, empty allocation for ep, inserted in the table, owned by it; the
 * caller fills the relays and user.  NULL on allocation failure.
 */
struct turn_alloc *alloc_new(struct worker *w, const struct client_ep *ep,
    int transport);
/* Removes a from the table and frees it with everything it owns. */
void alloc_free(struct worker *w, struct turn_alloc *a);
/*
 * The end of an allocation's life: logs event (alloc_deleted,
 * alloc_expired, alloc_kicked, alloc_closed) with its traffic, then frees.
 */
void alloc_end(struct worker *w, struct turn_alloc *a, const char *event);
/*
 * Whether len more bytes fit the allocation's bandwidth (both directions
 * together, a token bucket of one second); takes them if so.
 */
int alloc_bw_take(struct turn_alloc *a, uint64_t rate, size_t len,
    uint64_t now_ms);
/* Counts a (delta 1) or uncounts it (-1) in the worker's gauges. */
void alloc_gauges(struct worker *w, const struct turn_alloc *a, int delta);
/* Frees expired allocations, prunes expired permissions and channels. */
void alloc_sweep(struct worker *w, uint32_t now);
/* The relay of a of the given family, or NULL. */
struct relay *alloc_relay(struct turn_alloc *a, int family);

/* Permissions (perm.c). */
int perm_install(struct turn_alloc *a, const union taddr *peer,
    uint32_t now, uint32_t max);
/* True when a live permission covers the peer's IP address. */
int perm_check(const struct turn_alloc *a, const union taddr *peer,
    uint32_t now);
void perm_prune(struct turn_alloc *a, uint32_t now);

/* Channels (chan.c). */
#define CHAN_OK 0
#define CHAN_CONFLICT (-1) /* number or peer bound (or held) otherwise */
#define CHAN_FULL (-2)
int chan_bind(struct turn_alloc *a, uint16_t num, const union taddr *peer,
    uint32_t now, uint32_t max);
/* The live channel with this number, or NULL. */
struct turn_chan *chan_by_num(struct turn_alloc *a, uint16_t num,
    uint32_t now);
/* The live channel bound to peer, or NULL. */
struct turn_chan *chan_by_peer(struct turn_alloc *a, const union taddr *peer,
    uint32_t now);
void chan_prune(struct turn_alloc *a, uint32_t now);

#endif
