/*
 * The relay port pool: which ports of the configured range turnd itself
 * holds, per address family, shared by all workers under one mutex (taken
 * only when an allocation is made or freed, never on the data path), and
 * the EVEN-PORT reservations of RFC 8656 section 7.2 with their tokens.
 * The kernel stays the final judge: a port another process holds fails
 * bind() and the caller asks again.
 */
#ifndef TURND_PORTPOOL_H
#define TURND_PORTPOOL_H

#include <stddef.h>
#include <stdint.h>

#define PORTPOOL_TOKEN_LEN 8
#define PORTPOOL_RESERVE_S 30 /* how long an R-bit reservation lasts */

struct portpool;

struct portpool *portpool_new(uint16_t min, uint16_t max);
/* Closes the sockets of outstanding reservations. */
void portpool_free(struct portpool *p);

/*
 * Takes a free port at random (rnd from the caller's generator); with
 * even, an even port whose successor is free too, and takes both.
 * Returns 0 and sets *port, or -1 when none is left.
 */
int portpool_take(struct portpool *p, uint32_t rnd, int even, uint16_t *port);
void portpool_put(struct portpool *p, uint16_t port);

/*
 * Keeps port (already taken, its socket fd bound) for the Allocate that
 * presents token before expires (monotonic seconds).  The pool owns fd
 * until claimed or expired.  Returns 0 or -1 (table full).
 */
int portpool_reserve(struct portpool *p, uint16_t port, int fd,
    const uint8_t token[PORTPOOL_TOKEN_LEN], uint32_t expires);
/*
 * Hands over the reservation for token: sets *port and *fd (now the
 * caller's) and returns 0, or -1 when no live reservation matches.
 */
int portpool_claim(struct portpool *p, const uint8_t token[PORTPOOL_TOKEN_LEN],
    uint32_t now, uint16_t *port, int *fd);
/* Releases reservations that expired by now: closes fds, puts ports. */
void portpool_expire(struct portpool *p, uint32_t now);

/* Whether turnd holds port (a relay socket or a reservation). */
int portpool_has(struct portpool *p, uint16_t port);
/* Ports in use and in the range, for metrics. */
size_t portpool_used(struct portpool *p);
size_t portpool_size(const struct portpool *p);

#endif
