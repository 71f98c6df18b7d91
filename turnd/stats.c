/*
 * Names and help texts of the counters, from the tables in stats.h.
 */
#include <stddef.h>

#include "stats.h"

static const char *const stats_names[] = {
#define STATS_X_NAME(name, help) #name,
	STATS_LIST(STATS_X_NAME)
#undef STATS_X_NAME
};

static const char *const stats_helps[] = {
#define STATS_X_HELP(name, help) help,
	STATS_LIST(STATS_X_HELP)
#undef STATS_X_HELP
};

static const char *const gauge_names[] = {
#define STATS_X_GNAME(name, help) #name,
	STATS_GAUGES(STATS_X_GNAME)
#undef STATS_X_GNAME
};

static const char *const gauge_helps[] = {
#define STATS_X_GHELP(name, help) help,
	STATS_GAUGES(STATS_X_GHELP)
#undef STATS_X_GHELP
};

static const uint16_t stats_codes[] = {
#define STATS_X_CODE(code) code,
	STATS_ERR_CODES(STATS_X_CODE)
#undef STATS_X_CODE
};

void
stats_err(struct stats *st, uint16_t code)
{
	for (size_t i = 0; i < sizeof(stats_codes) / sizeof(stats_codes[0]);
	    i++)
		if (stats_codes[i] == code) {
			stats_add(&st->err[i], 1);
			return;
		}
	stats_add(&st->err[STAT_ERR_OTHER], 1);
}

const char *
stats_name(enum stats_id id)
{
	return stats_names[id];
}

const char *
stats_help(enum stats_id id)
{
	return stats_helps[id];
}

uint16_t
stats_err_code(enum stats_err_id id)
{
	if (id >= STAT_ERR_OTHER)
		return 0;
	return stats_codes[id];
}

const char *
stats_gauge_name(enum stats_gauge_id id)
{
	return gauge_names[id];
}

const char *
stats_gauge_help(enum stats_gauge_id id)
{
	return gauge_helps[id];
}

void
stats_sum(struct stats *out, struct stats *const *each, size_t n)
{
	uint64_t c[STAT_COUNT] = { 0 }, e[STAT_ERR_COUNT] = { 0 };
	int64_t g[STATG_COUNT] = { 0 };

	for (size_t k = 0; k < n; k++) {
		for (size_t i = 0; i < STAT_COUNT; i++)
			c[i] += atomic_load_explicit(&each[k]->c[i],
			    memory_order_relaxed);
		for (size_t i = 0; i < STAT_ERR_COUNT; i++)
			e[i] += atomic_load_explicit(&each[k]->err[i],
			    memory_order_relaxed);
		for (size_t i = 0; i < STATG_COUNT; i++)
			g[i] += atomic_load_explicit(&each[k]->g[i],
			    memory_order_relaxed);
	}
	for (size_t i = 0; i < STAT_COUNT; i++)
		atomic_store_explicit(&out->c[i], c[i], memory_order_relaxed);
	for (size_t i = 0; i < STAT_ERR_COUNT; i++)
		atomic_store_explicit(&out->err[i], e[i], memory_order_relaxed);
	for (size_t i = 0; i < STATG_COUNT; i++)
		atomic_store_explicit(&out->g[i], g[i], memory_order_relaxed);
}

void
stats_lower(char *dst, const char *src, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len && src[i] != '\0'; i++)
		dst[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] + 32 :
		    src[i]);
	dst[i] = '\0';
}
