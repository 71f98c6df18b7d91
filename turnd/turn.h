/*
 * TURN method handlers (RFC 8656 sections 7-12): Allocate, Refresh,
 * CreatePermission, ChannelBind, the Send indication and ChannelData from
 * clients.  Called by the request layer once a request is decoded and,
 * where the method needs it, authenticated.
 */
#ifndef TURND_TURN_H
#define TURND_TURN_H

#include <stddef.h>
#include <stdint.h>

struct req;
struct worker;
struct client_ep;
struct stun_msg;
struct turn_alloc;

/*
 * The peer policy with a port (peer_check), plus: a relayed address of
 * this server is a peer only with peers.relay_to_relay.  Returns PEER_OK
 * or a PEER_DENY_* reason.
 */
int turn_peer_check(struct worker *w, const union taddr *peer);

void turn_allocate(struct req *r);
void turn_refresh(struct req *r);
void turn_create_permission(struct req *r);
void turn_channel_bind(struct req *r);
/* Re-sends the success response of the Allocate that made a. */
void turn_allocate_replay(struct req *r, struct turn_alloc *a);

void turn_send_indication(struct worker *w, const struct client_ep *ep,
    const struct stun_msg *m, int flags);
void turn_chandata(struct worker *w, const struct client_ep *ep,
    uint8_t *buf, size_t len, int flags);

#endif
