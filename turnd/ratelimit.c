/*
 * Token buckets in a direct-mapped table.  See ratelimit.h.
 */
#include "ratelimit.h"

static struct rl_slot *
refill(struct ratelimit *rl, uint32_t key, uint32_t rate, uint32_t burst,
    uint64_t now_ms)
{
	struct rl_slot *s = &rl->s[key % RATELIMIT_SLOTS];
	uint64_t t;

	if (burst == 0)
		burst = rate;
	if (s->key != key || s->last_ms == 0) {
		s->key = key;
		s->tokens_milli = burst * 1000u;
		s->last_ms = now_ms;
		return s;
	}
	t = s->tokens_milli + (now_ms - s->last_ms) * rate;
	if (t > (uint64_t)burst * 1000u)
		t = (uint64_t)burst * 1000u;
	s->tokens_milli = (uint32_t)t;
	s->last_ms = now_ms;
	return s;
}

int
ratelimit_take(struct ratelimit *rl, uint32_t key, uint32_t rate,
    uint32_t burst, uint64_t now_ms)
{
	struct rl_slot *s;

	if (rate == 0)
		return 1;
	s = refill(rl, key, rate, burst, now_ms);
	if (s->tokens_milli < 1000)
		return 0;
	s->tokens_milli -= 1000;
	return 1;
}

int
ratelimit_peek(struct ratelimit *rl, uint32_t key, uint32_t rate,
    uint32_t burst, uint64_t now_ms)
{
	if (rate == 0)
		return 1;
	return refill(rl, key, rate, burst, now_ms)->tokens_milli >= 1000;
}
