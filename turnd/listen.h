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
#include <sys/queue.h>

#include "addr.h"

struct worker;
struct client_ep;
struct event;
struct turnd_conf;

struct bufferevent;
struct turn_alloc;
struct splice;

struct listener {
	struct worker *w;
	int fd;
	int transport; /* CONF_T_* */
	union taddr addr;
	int wildcard;
	struct event *ev;
	struct event *pause; /* TCP: accept paused after EMFILE */
};

/*
 * A TCP or TLS client connection (RFC 8656 section 3.1, RFC 6062).  The
 * worker's list owns it; it owns its bufferevent, its timer and, when it
 * is a control connection, the allocation made on it: the allocation dies
 * with the connection.
 */
struct tconn {
	TAILQ_ENTRY(tconn) entry;
	struct worker *w;
	struct listener *l;
	struct bufferevent *bev;
	int transport;	   /* CONF_T_TCP or CONF_T_TLS */
	union taddr peer;  /* the client */
	union taddr local; /* our end */
	struct turn_alloc *a; /* allocation controlled by this connection */
	struct splice *splice; /* RFC 6062 data connection, once bound */
	struct event *timer;
	uint64_t last_valid_ms; /* last complete, well-formed frame */
	uint64_t partial_ms;	/* when the pending partial frame began */
	int pad_mode;		/* ChannelData padding seen from the client */
#define TCONN_PAD_UNKNOWN 0
#define TCONN_PAD_YES 1
#define TCONN_PAD_NO 2
	size_t pad_skip; /* undecided: these next bytes may be padding */
	int busy;    /* inside a callback: free later */
	int closing; /* free once the callback returns */
	int counted; /* holds a slot in the connection limits */
};

/* Binds a UDP listener for worker w; NULL after logging on failure. */
struct listener *listener_udp_new(struct worker *w, const union taddr *addr,
    const struct turnd_conf *c);
/* Binds a TCP or TLS listener (transport CONF_T_TCP or CONF_T_TLS). */
struct listener *listener_tcp_new(struct worker *w, const union taddr *addr,
    int transport);
void listener_free(struct listener *l);

/* Closes a connection (now, or when its callback returns). */
void tconn_close(struct tconn *c, const char *why);
/* Frees every connection of the worker (shutdown). */
void tconn_free_all(struct worker *w);
/* The allocation of c is gone: c is a plain connection again. */
void tconn_detach(struct tconn *c);
/*
 * Queues p for the client on c, bounded by tcp.buffer_max: past it relayed
 * data (data set) is dropped and counted, a response closes the
 * connection.  Returns 0 or -1.
 */
int tconn_write(struct tconn *c, const uint8_t *p, size_t len, int data);

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
