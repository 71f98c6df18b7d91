/*
 * Peer policy: which addresses a relay may talk to.  A TURN server is an
 * open door into the network it stands in, so every peer address meets
 * this check before a permission or channel exists and before a Send
 * indication leaves.  Built from the configuration, immutable, shared by
 * all workers, swapped whole on reload.
 */
#ifndef TURND_PEER_H
#define TURND_PEER_H

#include <stddef.h>

#include "addr.h"

struct turnd_conf;
struct peer_policy;

#define PEER_OK 0
#define PEER_DENY_CONFIG 1  /* matched peers.deny */
#define PEER_DENY_DEFAULT 2 /* special-purpose range, not allowed */
#define PEER_DENY_SELF 3    /* one of the server's own addresses */
#define PEER_DENY_LISTENER 4 /* the server's own listening port */
#define PEER_DENY_FAMILY 5  /* not IPv4 or IPv6 */
#define PEER_DENY_RELAY 6   /* a relayed address of this server */

/*
 * Builds the policy from c.  own lists the server's own addresses (listen,
 * relay, external, and the interfaces behind wildcard listeners); ports in
 * own are the listening ports.  Returns NULL on allocation failure.
 */
struct peer_policy *peer_policy_new(const struct turnd_conf *c,
    const union taddr *own, size_t n_own);
void peer_policy_free(struct peer_policy *p);

/*
 * Checks a peer address.  The address part is judged by the rules: the
 * configured deny list first, then the configured allow list, then the
 * built-in deny ranges and the server's own addresses.  With check_port,
 * an own address with a listening port is refused even when allowed
 * (TURN over TURN through ourselves is never wanted).  0.0.0.0/8, ::,
 * and the IPv4-mapped and IPv4-compatible IPv6 forms are refused always;
 * NAT64 and 6to4 forms are judged also as the IPv4 address they carry.
 * Returns PEER_OK or a PEER_DENY_* reason.
 */
int peer_check(const struct peer_policy *p, const union taddr *peer,
    int check_port);
const char *peer_reason(int reason);
/* True when the address (not the port) of a is one of the server's own. */
int peer_is_own(const struct peer_policy *p, const union taddr *a);

#endif
