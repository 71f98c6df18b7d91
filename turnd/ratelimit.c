/*
 * Shared token buckets.  See ratelimit.h.
 */
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

struct ratelimit *
ratelimit_new(void)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	if (rl == NULL)
		return NULL;
	if (RAND_bytes((unsigned char *)rl->seed, sizeof(rl->seed)) != 1) {
		free(rl);
		return NULL;
	}
	for (size_t i = 0; i < RATELIMIT_STRIPES; i++)
		pthread_mutex_init(&rl->mu[i], NULL);
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	for (size_t i = 0; i < RATELIMIT_STRIPES; i++)
		pthread_mutex_destroy(&rl->mu[i]);
	free(rl);
}

/*
 * A keyed hash of the key: bytes folded into 64-bit words and mixed with
 * the secret seed (xorshift-multiply rounds, as splitmix64 does), so that
 * an outsider cannot predict which keys share a bucket.
 */
size_t
ratelimit_slot(const struct ratelimit *rl, const void *key, size_t len)
{
	const uint8_t *p = key;
	uint64_t h = rl->seed[0] ^ (uint64_t)len;

	while (len > 0) {
		uint64_t w = 0;
		size_t n = len < 8 ? len : 8;

		memcpy(&w, p, n);
		p += n;
		len -= n;
		h ^= w + rl->seed[1];
		h ^= h >> 30;
		h *= 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 27;
		h *= 0x94d049bb133111ebULL;
		h ^= h >> 31;
	}
	return (size_t)(h % RATELIMIT_SLOTS);
}

static int
rl_op(struct ratelimit *rl, const void *key, size_t len, uint32_t rate,
    uint32_t burst, uint64_t now_ms, int take)
{
	size_t i = ratelimit_slot(rl, key, len);
	struct rl_slot *s = &rl->s[i];
	pthread_mutex_t *mu = &rl->mu[i % RATELIMIT_STRIPES];
	uint64_t t, full;
	int ok;

	if (rate == 0)
		return 1;
	if (burst == 0)
		burst = rate;
	full = (uint64_t)burst * 1000u;
	if (now_ms == 0)
		now_ms = 1;
	pthread_mutex_lock(mu);
	/*
	 * Each worker reads its own cached clock, so a caller may be a few
	 * milliseconds behind the last one: no refill then, and the bucket's
	 * time never moves backwards.
	 */
	if (s->last_ms == 0)
		t = full;
	else if (now_ms > s->last_ms)
		t = s->tokens_milli + (now_ms - s->last_ms) * rate;
	else
		t = s->tokens_milli;
	if (t > full)
		t = full;
	ok = t >= 1000;
	if (take > 0 && ok)
		t -= 1000;
	else if (take < 0)
		t = t + 1000 < full ? t + 1000 : full;
	s->tokens_milli = (uint32_t)t;
	if (now_ms > s->last_ms)
		s->last_ms = now_ms;
	pthread_mutex_unlock(mu);
	return ok;
}

int
ratelimit_take(struct ratelimit *rl, const void *key, size_t len,
    uint32_t rate, uint32_t burst, uint64_t now_ms)
{
	return rl_op(rl, key, len, rate, burst, now_ms, 1);
}

void
ratelimit_give(struct ratelimit *rl, const void *key, size_t len,
    uint32_t rate, uint32_t burst, uint64_t now_ms)
{
	(void)rl_op(rl, key, len, rate, burst, now_ms, -1);
}
