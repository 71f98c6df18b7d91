/*
 * TCP relays (RFC 6062).  An allocation with REQUESTED-TRANSPORT TCP has
 * a listening TCP socket as its relayed transport address.  Peer data
 * connections, made by Connect or accepted from peers with a permission,
 * wait under a CONNECTION-ID until the client opens a data connection and
 * sends ConnectionBind; from then on bytes flow unchanged between the two.
 *
 * The pending connections live in a table shared by the workers, because
 * a data connection may land on another worker than its allocation: the
 * worker that receives the ConnectionBind takes the peer socket and runs
 * the pair (a "splice") on its own event loop.  The table is touched only
 * when connections come and go, never per byte.
 */
#ifndef TURND_TCPRELAY_H
#define TURND_TCPRELAY_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct worker;
struct turn_alloc;
struct relay;
struct req;
struct tconn;
struct tcprelay;

#define TCPRELAY_CONNECT_S 30 /* RFC 6062: at least 30 s to connect */
#define TCPRELAY_BIND_S 30    /* RFC 6062: 30 s to ConnectionBind */
#define TCPRELAY_MAX_PER_ALLOC 64

struct tcprelay *tcprelay_new(void);
/* Closes every pending peer socket. */
void tcprelay_free(struct tcprelay *t);

/* Opens the listening relay socket of a TCP allocation: 0, 440 or 508. */
int tcprelay_open(struct worker *w, struct turn_alloc *a, struct relay *r,
    int family);
/* Connect request (RFC 6062 section 5.2). */
void tcprelay_connect(struct req *r);
/* ConnectionBind request (section 5.4) on a data connection. */
void tcprelay_bind(struct req *r);
/* An allocation with a TCP relay goes: its connections go with it. */
void tcprelay_alloc_gone(struct worker *w, struct turn_alloc *a);
/* Closes pending connections whose time ran out (any worker's tick). */
void tcprelay_expire(struct worker *w, uint32_t now);
/* libevent callback of a TCP relay's listening socket (arg: the relay). */
void tcprelay_accept_cb(int fd, short what, void *arg);
/* The client data connection's output drained: read the peer again. */
void tcprelay_client_drained(struct tconn *c);
/* Raw bytes from a bound data connection. */
void tcprelay_client_input(struct tconn *c);
/* The data connection c is closing: its peer side goes too. */
void tcprelay_client_gone(struct tconn *c);
/* Worker message: close the splice with this id (its allocation died). */
void tcprelay_kill(struct worker *w, uint32_t id);
/* Worker teardown, after its connections: frees the splices still flushing. */
void tcprelay_stop(struct worker *w);

#endif
