/*
 * A header-only test kit for turnd's C tests.  Each CHECK* macro counts one
 * check; a failure prints where and what (for byte strings, both hex dumps
 * with the differing bytes marked, like libre's TEST_MEMCMP) and the test
 * goes on.  main() ends with `return CHECK_DONE();`, which prints
 * "name: N passed, M failed" and returns non-zero when anything failed.
 *
 *	CHECK(cond);
 *	CHECK_EQ_INT(got, want);
 *	CHECK_EQ_STR(got, want);
 *	CHECK_MEMEQ(got, got_len, want, want_len);
 *
 * CHECK_MSG(cond, fmt, ...) adds context to a failure, for table-driven
 * tests: CHECK_MSG(err == t->want, "case %s", t->name).  check_unhex()
 * turns the hex of an RFC's figure into bytes.
 */
#ifndef TURND_TESTS_CHECK_H
#define TURND_TESTS_CHECK_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct check_state {
	unsigned passed;
	unsigned failed;
};

static inline struct check_state *
check_state(void)
{
	static struct check_state s;

	return &s;
}

static inline int check_result(int ok, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static inline int
check_result(int ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		check_state()->passed++;
		return 1;
	}
	check_state()->failed++;
	fprintf(stderr, "%s:%d: FAIL: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 0;
}

static inline void
check_hexdump(const char *label, const uint8_t *p, size_t len,
    const uint8_t *other, size_t other_len)
{
	size_t i;

	fprintf(stderr, "  %s (%zu bytes):", label, len);
	for (i = 0; i < len; i++) {
		int differs = i >= other_len || p[i] != other[i];

		if (i % 16 == 0)
			fprintf(stderr, "\n    %04zx ", i);
		fprintf(stderr, "%c%02x", differs ? '*' : ' ', p[i]);
	}
	fputc('\n', stderr);
}

static inline int
check_memeq(const void *got, size_t got_len, const void *want, size_t want_len,
    const char *expr, const char *file, int line)
{
	int ok = got_len == want_len &&
	    (got_len == 0 || memcmp(got, want, got_len) == 0);

	if (!check_result(ok, file, line, "%s differ", expr)) {
		check_hexdump("got", got, got_len, want, want_len);
		check_hexdump("want", want, want_len, got, got_len);
	}
	return ok;
}

#define CHECK(cond) check_result(!!(cond), __FILE__, __LINE__, "%s", #cond)

#define CHECK_MSG(cond, ...)                                                   \
	check_result(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define CHECK_EQ_INT(got, want)                                                \
	do {                                                                   \
		long long check_g_ = (long long)(got);                         \
		long long check_w_ = (long long)(want);                        \
		check_result(check_g_ == check_w_, __FILE__, __LINE__,         \
		    "%s == %lld, want %s == %lld", #got, check_g_, #want,      \
		    check_w_);                                                 \
	} while (0)

#define CHECK_EQ_STR(got, want)                                                \
	do {                                                                   \
		const char *check_g_ = (got);                                  \
		const char *check_w_ = (want);                                 \
		check_result(check_g_ != NULL && check_w_ != NULL &&           \
		        strcmp(check_g_, check_w_) == 0,                       \
		    __FILE__, __LINE__, "%s == \"%s\", want \"%s\"", #got,     \
		    check_g_ ? check_g_ : "(null)",                            \
		    check_w_ ? check_w_ : "(null)");                           \
	} while (0)

#define CHECK_MEMEQ(got, got_len, want, want_len)                              \
	check_memeq((got), (got_len), (want), (want_len), #got " and " #want,  \
	    __FILE__, __LINE__)

/*
 * Bytes from hex as RFCs print them ("00 01 a1 47"): whitespace ignored.
 * Returns the byte count, or 0 on a bad digit or overflow of cap.
 */
static inline size_t
check_unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1, v;

	for (; *hex != '\0'; hex++) {
		if (*hex == ' ' || *hex == '\n' || *hex == '\t')
			continue;
		if (*hex >= '0' && *hex <= '9')
			v = *hex - '0';
		else if (*hex >= 'a' && *hex <= 'f')
			v = *hex - 'a' + 10;
		else if (*hex >= 'A' && *hex <= 'F')
			v = *hex - 'A' + 10;
		else
			return 0;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == cap)
			return 0;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return hi < 0 ? n : 0;
}

static inline int
check_done_named(const char *name)
{
	struct check_state *s = check_state();

	printf("%s: %u passed, %u failed\n", name, s->passed, s->failed);
	if (s->passed + s->failed == 0) {
		fprintf(stderr, "%s: no checks ran\n", name);
		return 1;
	}
	return s->failed != 0;
}

/* The name is the file that calls it, without directories. */
#define CHECK_DONE()                                                           \
	check_done_named(                                                      \
	    strrchr(__FILE__, '/') ? strrchr(__FILE__, '/') + 1 : __FILE__)

#endif
