/*
 * Token buckets: a full bucket allows its burst and then the rate; a
 * caller whose clock is behind the bucket's (another worker's cached
 * time) gets no refill; a token given back never lifts the bucket above
 * its burst; keys that land in one bucket share its tokens (taking turns
 * does not refill it); rate 0 allows everything.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ratelimit.h"

static int
drain(struct ratelimit *rl, const char *key, uint32_t rate, uint32_t burst,
    uint64_t now)
{
	int n = 0;

	while (
	    n < 1000 && ratelimit_take(rl, key, strlen(key), rate, burst, now))
		n++;
	return n;
}

int
main(void)
{
	struct ratelimit *rl = ratelimit_new();
	struct ratelimit *rl2 = ratelimit_new();

	CHECK(rl != NULL && rl2 != NULL);
	CHECK(memcmp(rl->seed, rl2->seed, sizeof(rl->seed)) != 0);

	/* burst, then nothing until time passes */
	CHECK_EQ_INT(drain(rl, "alice", 5, 20, 10000), 20);
	CHECK_EQ_INT(drain(rl, "alice", 5, 20, 10000), 0);
	/* 5 per second: one token every 200 ms */
	CHECK_EQ_INT(drain(rl, "alice", 5, 20, 10199), 0);
	CHECK_EQ_INT(drain(rl, "alice", 5, 20, 10200), 1);
	CHECK_EQ_INT(drain(rl, "alice", 5, 20, 11200), 5);

	/* a caller one millisecond behind refills nothing ... */
	CHECK_EQ_INT(drain(rl, "alice", 5, 20, 11199), 0);
	/* ... and does not move the bucket's time back */
	CHECK_EQ_INT(drain(rl, "alice", 5, 20, 11200), 0);
	CHECK_EQ_INT(drain(rl, "alice", 5, 20, 11400), 1);

	/* a token taken and given back is there again, once */
	CHECK(ratelimit_take(rl, "alice", 5, 5, 20, 11600) == 1);
	ratelimit_give(rl, "alice", 5, 5, 20, 11600);
	CHECK_EQ_INT(drain(rl, "alice", 5, 20, 11600), 1);

	/* giving to a full bucket does not raise it above the burst */
	ratelimit_give(rl, "bob", 3, 5, 20, 11600);
	ratelimit_give(rl, "bob", 3, 5, 20, 11600);
	CHECK_EQ_INT(drain(rl, "bob", 5, 20, 11600), 20);

	/* a long idle time refills to the burst, not beyond */
	CHECK_EQ_INT(drain(rl, "bob", 5, 20, 11600 + 3600000), 20);

	/* a key sharing dave's bucket: turns between them refill nothing */
	{
		char other[16];
		size_t want = ratelimit_slot(rl, "dave", 4);
		int found = 0, got = 0;

		for (int i = 0; i < 1000000 && !found; i++) {
			snprintf(other, sizeof(other), "k%d", i);
			found =
			    ratelimit_slot(rl, other, strlen(other)) == want;
		}
		CHECK(found);
		for (int i = 0; i < 100; i++) {
			got += ratelimit_take(rl, "dave", 4, 5, 20, 20000);
			got += ratelimit_take(
			    rl, other, strlen(other), 5, 20, 20000);
		}
		CHECK_EQ_INT(got, 20);
	}

	/* rate 0: no limit */
	CHECK_EQ_INT(drain(rl, "carol", 0, 0, 1), 1000);

	ratelimit_free(rl);
	ratelimit_free(rl2);
	return CHECK_DONE();
}
