/* stun_strerror: a distinct message for every error, a fallback for others. */
#include <string.h>

#include "check.h"
#include "stun.h"

int
main(void)
{
	const char *seen[32];
	int err, i;

	for (err = STUN_OK; err >= STUN_EINVAL; err--) {
		const char *s = stun_strerror(err);

		CHECK_MSG(s != NULL && *s != '\0', "error %d", err);
		CHECK_MSG(
		    strcmp(s, "unknown error") != 0, "error %d unnamed", err);
		for (i = 0; i < -err; i++)
			CHECK_MSG(strcmp(seen[i], s) != 0, "%d and %d: %s", -i,
			    err, s);
		seen[-err] = s;
	}
	CHECK_EQ_STR(stun_strerror(STUN_ETRUNC), "message truncated");
	CHECK_EQ_STR(
	    stun_strerror(STUN_EINTEGRITY), "message integrity check failed");
	CHECK_EQ_STR(stun_strerror(STUN_EINVAL - 1), "unknown error");
	CHECK_EQ_STR(stun_strerror(1), "unknown error");
	return CHECK_DONE();
}
