/*
 * Token buckets in a fixed table shared by the workers: how turnd slows
 * what an unauthenticated source can make it send (401, 438 and other
 * answers to strangers, which an attacker could aim at a spoofed victim)
 * and how many wrong passwords one username may be tried with.
 *
 * A key (a source address, a username) hashes with a secret seed drawn at
 * start-up to one bucket; keys that share a bucket share its tokens, so an
 * attacker can neither refill a bucket by interleaving another key nor
 * choose keys that collide.  The table never grows, whatever a flood
 * sends.  Shared, so that a source whose ports land on several workers
 * (SO_REUSEPORT) gets one budget, not one per worker; the lock is striped
 * and taken only for requests that are not authenticated or failed.
 */
#ifndef TURND_RATELIMIT_H
#define TURND_RATELIMIT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_SLOTS 4096
#define RATELIMIT_STRIPES 64

struct rl_slot {
	uint32_t tokens_milli; /* tokens x 1000 */
	uint64_t last_ms;      /* 0: never used, full */
};

struct ratelimit {
	uint64_t seed[2];
	pthread_mutex_t mu[RATELIMIT_STRIPES];
	struct rl_slot s[RATELIMIT_SLOTS];
};

/* Allocates a table with a fresh secret seed; NULL on failure. */
struct ratelimit *ratelimit_new(void);
void ratelimit_free(struct ratelimit *rl);
/*
 * Takes one token from the bucket of key[0..len), refilled at rate per
 * second up to burst.  Returns 1 when allowed, 0 when the bucket is empty.
 * rate 0 allows everything.
 */
int ratelimit_take(struct ratelimit *rl, const void *key, size_t len,
    uint32_t rate, uint32_t burst, uint64_t now_ms);
/* The bucket key[0..len) lands in (for tests). */
size_t ratelimit_slot(const struct ratelimit *rl, const void *key, size_t len);
/* Returns a token taken by ratelimit_take (never above burst). */
void ratelimit_give(struct ratelimit *rl, const void *key, size_t len,
    uint32_t rate, uint32_t burst, uint64_t now_ms);

#endif
