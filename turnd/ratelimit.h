/*
 * Token buckets keyed by a hash, in a fixed table per worker: how turnd
 * slows what an unauthenticated source can make it send (401, 438 and
 * other answers to strangers, which an attacker could aim at a spoofed
 * victim) and how many wrong passwords one username may be tried with.
 * Direct-mapped: a key that lands on a slot held by another takes it
 * over with a full bucket, so the table never grows and a flood of
 * spoofed sources cannot make it.
 */
#ifndef TURND_RATELIMIT_H
#define TURND_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_SLOTS 4096

struct rl_slot {
	uint32_t key;
	uint32_t tokens_milli; /* tokens x 1000 */
	uint64_t last_ms;
};

struct ratelimit {
	struct rl_slot s[RATELIMIT_SLOTS];
};

/*
 * Takes one token from key's bucket, refilled at rate per second up to
 * burst.  Returns 1 when allowed, 0 when the bucket is empty.  rate 0
 * allows everything.
 */
int ratelimit_take(struct ratelimit *rl, uint32_t key, uint32_t rate,
    uint32_t burst, uint64_t now_ms);
/* Whether key's bucket has a token left, without taking one. */
int ratelimit_peek(struct ratelimit *rl, uint32_t key, uint32_t rate,
    uint32_t burst, uint64_t now_ms);

#endif
