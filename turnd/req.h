/*
 * The request layer: every datagram or stream frame from a client enters
 * here.  STUN requests go through the method table (which says whether a
 * method needs credentials and an existing allocation) to their handlers;
 * indications and ChannelData go to the relay path.  Handlers build their
 * response with the req_* helpers, which add SOFTWARE, the integrity the
 * request used, and FINGERPRINT when the request had one.
 */
#ifndef TURND_REQ_H
#define TURND_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "stun_enc.h"

struct worker;
struct client_ep;
struct stun_msg;
struct turn_alloc;

#define REQ_F_STREAM 0x01 /* frame from a TCP/TLS stream */
#define REQ_F_INSLOT 0x02 /* buffer is an io slot: may be queued in place */

/* the largest answer: REALM and SOFTWARE of 763 bytes each, and more */
#define REQ_OUT_MAX 2048

struct req {
	struct worker *w;
	const struct client_ep *ep;
	int transport; /* CONF_T_* */
	const struct stun_msg *m;
	struct turn_alloc *a; /* for the 5-tuple, or NULL */
	int authed;
	int is_error;
	struct auth_result auth;
	struct stun_enc enc;
	uint8_t out[REQ_OUT_MAX];
};

/* Handles one datagram or frame from a client. */
void req_input(struct worker *w, const struct client_ep *ep, int transport,
    uint8_t *buf, size_t len, int flags);

/* Starts a success response to r's request. */
void req_success(struct req *r);
/*
 * Sends r's response: SOFTWARE, integrity when the request was
 * authenticated, FINGERPRINT when it had one; caches it for
 * retransmissions when authenticated.
 */
void req_finish(struct req *r);
/* Builds and sends an error response with code (and its attributes). */
void req_error(struct req *r, uint16_t code);
/* Starts an error response, for callers adding attributes before finish. */
void req_error_begin(struct req *r, uint16_t code);

/* The address clients should see for a local one (relay.external). */
void req_external(const struct worker *w, const union taddr *local,
    union taddr *out);

#endif
