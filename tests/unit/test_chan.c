/*
 * Permissions and channels of one allocation against a clock the test
 * moves (RFC 8656 sections 9 and 12): lifetimes of 300 and 600 seconds,
 * refresh, the caps, conflicts, and the five-minute hold after a channel
 * expires during which neither its number nor its peer may be rebound.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "check.h"

static union taddr
addr(const char *s)
{
	union taddr a;

	if (taddr_parse(&a, s, 0) != 0)
		abort();
	return a;
}

static void
test_perm(void)
{
	struct turn_alloc a;
	union taddr p1 = addr("198.51.100.1:1000"), p1b =
	    addr("198.51.100.1:2000"), p2 = addr("198.51.100.2:1000"),
	    p6 = addr("[2001:db8::1]:1000");

	memset(&a, 0, sizeof(a));
	CHECK(!perm_check(&a, &p1, 100));
	CHECK_EQ_INT(perm_install(&a, &p1, 100, 3), 0);
	/* the port does not matter */
	CHECK(perm_check(&a, &p1b, 100));
	CHECK(!perm_check(&a, &p2, 100));
	CHECK(perm_check(&a, &p1, 399));
	CHECK(!perm_check(&a, &p1, 400));
	/* a refresh restarts the 300 s */
	CHECK_EQ_INT(perm_install(&a, &p1, 350, 3), 0);
	CHECK(perm_check(&a, &p1, 649));
	CHECK(!perm_check(&a, &p1, 650));
	CHECK_EQ_INT(a.n_perm, 1);
	/* the cap counts addresses, not refreshes */
	CHECK_EQ_INT(perm_install(&a, &p2, 350, 3), 0);
	CHECK_EQ_INT(perm_install(&a, &p6, 350, 3), 0);
	CHECK(perm_check(&a, &p6, 351));
	CHECK_EQ_INT(perm_install(&a, &p1, 360, 3), 0);
	{
		union taddr p3 = addr("198.51.100.3:1");

		CHECK_EQ_INT(perm_install(&a, &p3, 360, 3), -1);
		/* pruning frees room */
		perm_prune(&a, 655);
		CHECK_EQ_INT(a.n_perm, 1);
		CHECK_EQ_INT(perm_install(&a, &p3, 655, 3), 0);
	}
	free(a.perms);
}

static void
test_chan(void)
{
	struct turn_alloc a;
	union taddr p1 = addr("198.51.100.1:1000"), p2 =
	    addr("198.51.100.2:1000"), p1b = addr("198.51.100.1:1001");

	memset(&a, 0, sizeof(a));
	CHECK(chan_by_num(&a, 0x4000, 0) == NULL);
	CHECK_EQ_INT(chan_bind(&a, 0x4000, &p1, 0, 2), CHAN_OK);
	CHECK(chan_by_num(&a, 0x4000, 599) != NULL);
	CHECK(chan_by_peer(&a, &p1, 599) != NULL);
	/* a channel is bound to a transport address: the port matters */
	CHECK(chan_by_peer(&a, &p1b, 599) == NULL);
	CHECK(chan_by_num(&a, 0x4000, 600) == NULL);
	/* same pair again: a refresh */
	CHECK_EQ_INT(chan_bind(&a, 0x4000, &p1, 500, 2), CHAN_OK);
	CHECK(chan_by_num(&a, 0x4000, 1099) != NULL);
	/* same number to another peer, same peer to another number */
	CHECK_EQ_INT(chan_bind(&a, 0x4000, &p2, 510, 2), CHAN_CONFLICT);
	CHECK_EQ_INT(chan_bind(&a, 0x4001, &p1, 510, 2), CHAN_CONFLICT);
	CHECK_EQ_INT(chan_bind(&a, 0x4001, &p2, 510, 2), CHAN_OK);
	CHECK_EQ_INT(chan_bind(&a, 0x4002, &p1b, 510, 2), CHAN_FULL);

	/* expired at 1100 but held until 1400: still in conflict */
	chan_prune(&a, 1200);
	CHECK(chan_by_num(&a, 0x4000, 1200) == NULL);
	CHECK_EQ_INT(chan_bind(&a, 0x4000, &p1b, 1200, 3), CHAN_CONFLICT);
	CHECK_EQ_INT(chan_bind(&a, 0x4005, &p1, 1200, 3), CHAN_CONFLICT);
	/* ...though the same pair may come back */
	CHECK_EQ_INT(chan_bind(&a, 0x4000, &p1, 1200, 3), CHAN_OK);
	CHECK(chan_by_num(&a, 0x4000, 1200) != NULL);
	/* after the hold, the number is free for anyone */
	chan_prune(&a, 2200);
	CHECK_EQ_INT(a.n_chan, 0);
	CHECK_EQ_INT(chan_bind(&a, 0x4000, &p2, 2200, 3), CHAN_OK);
	free(a.chans);
}

int
main(void)
{
	test_perm();
	test_chan();
	return CHECK_DONE();
}
