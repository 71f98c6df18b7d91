/*
 * Replays fuzz inputs without libFuzzer: runs LLVMFuzzerTestOneInput over
 * every regular file in the directories (or files) named on the command
 * line, so each target's seed corpus and every crash that joined it run
 * as an ordinary test.  A crash aborts under the sanitizers; an empty
 * corpus fails, since a replay that ran nothing proves nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int replay_file(const char *);
static int replay_path(const char *, int *);

/* Runs the target over one file; returns 0 or -1 if it cannot be read. */
static int
replay_file(const char *path)
{
	FILE *f;
	uint8_t *data = NULL, *grown;
	size_t len = 0, cap = 0, n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			cap = cap != 0 ? cap * 2 : 4096;
			if ((grown = realloc(data, cap)) == NULL) {
				fprintf(stderr, "replay: %s: out of memory\n",
				    path);
				free(data);
				fclose(f);
				return -1;
			}
			data = grown;
		}
		if ((n = fread(data + len, 1, cap - len, f)) == 0)
			break;
		len += n;
	}
	fclose(f);
	/* An exact-size copy, so ASan sees any read past the input. */
	grown = malloc(len != 0 ? len : 1);
	if (grown == NULL) {
		free(data);
		return -1;
	}
	if (len != 0)
		memcpy(grown, data, len);
	free(data);
	LLVMFuzzerTestOneInput(grown, len);
	free(grown);
	return 0;
}

static int
replay_path(const char *path, int *count)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	char *sub;
	int rc = 0;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		if (replay_file(path) == -1)
			return -1;
		(*count)++;
		return 0;
	}
	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((sub = malloc(strlen(path) + strlen(de->d_name) + 2)) ==
		    NULL) {
			rc = -1;
			break;
		}
		sprintf(sub, "%s/%s", path, de->d_name);
		if (stat(sub, &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(sub) == -1)
				rc = -1;
			else
				(*count)++;
		}
		free(sub);
	}
	closedir(d);
	return rc;
}

int
main(int argc, char **argv)
{
	int i, count = 0, rc = 0;

	for (i = 1; i < argc; i++)
		if (replay_path(argv[i], &count) == -1)
			rc = 1;
	printf("replay: %d inputs\n", count);
	if (count == 0) {
		fprintf(stderr, "replay: no inputs\n");
		return 1;
	}
	return rc;
}
