/*
 * Fuzz target for turnd/config.c: the input is configuration text for
 * conf_load.  A configuration that loads is dumped, and the dump must load
 * again and dump the same (unless a user has a key: the dump hides keys,
 * and "<hidden>" is not 32 hex digits).  Inputs with @include are skipped:
 * they would make libconfig read files of the host.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
dump(const struct turnd_conf *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		abort();
	conf_dump(c, f);
	fclose(f);
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct turnd_conf *c, *c2;
	char *text, *d1, *d2;
	FILE *null;
	int keys = 0;

	if (size > 64 * 1024)
		return 0;
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (strstr(text, "@include") != NULL) {
		free(text);
		return 0;
	}
	if ((null = fopen("/dev/null", "w")) == NULL)
		abort();
	c = conf_load("<fuzz>", text, null);
	free(text);
	if (c == NULL) {
		fclose(null);
		return 0;
	}
	for (size_t i = 0; i < c->auth.n_users; i++)
		keys |= c->auth.users[i].has_key;
	d1 = dump(c);
	c2 = conf_load("<fuzz>", d1, null);
	if (!keys) {
		if (c2 == NULL) {
			fprintf(stderr, "dump does not load:\n%s\n", d1);
			conf_load("<fuzz>", d1, stderr);
			abort();
		}
		d2 = dump(c2);
		if (strcmp(d1, d2) != 0) {
			fprintf(stderr, "dumps differ:\n%s\n---\n%s\n", d1, d2);
			abort();
		}
		free(d2);
	}
	free(d1);
	conf_free(c2);
	conf_free(c);
	fclose(null);
	return 0;
}
