/*
 * Relay sockets: the relayed transport addresses of allocations.  Opening
 * one picks the bind address (relay.addresses, or the address the client
 * reached), a free port from the pool, and binds; its read event's
 * argument is the relay itself, so a datagram from a peer finds its
 * allocation without a lookup.
 */
#ifndef TURND_RELAY_H
#define TURND_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "portpool.h"

struct worker;
struct relay;
struct turn_alloc;

#define RELAY_F_EVEN 0x01     /* EVEN-PORT */
#define RELAY_F_RESERVE 0x02  /* EVEN-PORT R: keep the next port too */
#define RELAY_F_DF 0x04	      /* DONT-FRAGMENT */
#define RELAY_F_TCP 0x08      /* RFC 6062: a listening TCP socket */

/*
 * Opens r for a on family.  With RELAY_F_RESERVE, also binds the next
 * port and hands it to the pool under a fresh token written to token.
 * Returns 0, or the STUN error code to answer: 440 when there is no
 * address of that family, 508 when no port is free.
 */
int relay_open(struct worker *w, struct turn_alloc *a, struct relay *r,
    int family, int flags, uint8_t token[PORTPOOL_TOKEN_LEN]);
/*
 * Opens r for a with the socket reserved under token (RESERVATION-TOKEN).
 * Returns 0 or 508.
 */
int relay_claim(struct worker *w, struct turn_alloc *a, struct relay *r,
    const uint8_t token[PORTPOOL_TOKEN_LEN], int flags);
/*
 * A datagram from a peer, received on r's socket: checked against the
 * permissions and wrapped in place as ChannelData or a Data indication for
 * the client.  data must have IO_HEADROOM bytes before it and 3 after.
 */
void relay_input(struct worker *w, struct relay *r, const union taddr *from,
    uint8_t *data, size_t len);
/* Sets or clears DF on r's socket. */
void relay_set_df(struct relay *r, int on);
/*
 * Sends application data from r to peer.  With in_slot the data lies in an
 * io slot and is queued; otherwise it is sent at once.  Returns 0 or -1.
 */
int relay_send(struct worker *w, struct relay *r, const union taddr *peer,
    uint8_t *data, size_t len, int in_slot, int df);

#endif
