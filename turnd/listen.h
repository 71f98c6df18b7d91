/*
 * Client-facing sockets.  A UDP listener is one socket per worker on a
 * configured address and port (SO_REUSEPORT); a wildcard listener learns
 * each datagram's local address with IP_PKTINFO so that replies leave from
 * the address the client reached.  client_send and client_send_data are
 * how everything else talks back to a client, whatever its transport.
 */
#ifndef TURND_LISTEN_H
#define TURND_LISTEN_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct worker;
struct client_ep;
struct event;
struct turnd_conf;

struct listener {
	struct worker *w;
	int fd;
	int transport; /* CONF_T_* */
	union taddr addr;
	int wildcard;
	struct event *ev;
};

/* Binds a UDP listener for worker w; NULL after logging on failure. */
struct listener *listener_udp_new(struct worker *w, const union taddr *addr,
    const struct turnd_conf *c);
void listener_free(struct listener *l);

/* Sends a STUN message to the client now (control path). */
void client_send(struct worker *w, const struct client_ep *ep,
    const uint8_t *p, size_t len);
/*
 * Sends relayed data to the client: p is a ChannelData or Data indication
 * built in place inside an io slot, with at least 3 bytes of room after
 * len for stream padding.  Queued on UDP, written on streams.
 */
void client_send_data(struct worker *w, const struct client_ep *ep,
    uint8_t *p, size_t len);

#endif
