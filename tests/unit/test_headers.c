/*
 * Every proto/ header compiles on its own: each is the only include of a
 * generated translation unit (see meson.build), so a header that leans on
 * an include it does not make breaks the build.  At run time this checks
 * that every generated unit was linked in.
 */
#include "check.h"
#include "hdr_list.h"

#define X(name) int hdr_##name##_alone(void);
HDR_LIST(X)
#undef X

int
main(void)
{
	int n = 0;

#define X(name) n += hdr_##name##_alone();
	HDR_LIST(X)
#undef X
	CHECK_EQ_INT(n, HDR_COUNT);
	return CHECK_DONE();
}
