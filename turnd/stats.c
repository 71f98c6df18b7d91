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
