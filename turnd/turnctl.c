/*
 * turnctl: the operator's client for turnd's control socket.
 */
#include <stdio.h>
#include <string.h>

#include "version.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: turnctl [-s SOCKET] [--json] COMMAND [ARGS]\n"
		   "       turnctl -V | --version\n");
}

int
main(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "-V") == 0 ||
	    strcmp(argv[1], "--version") == 0)) {
		printf("turnctl %s\n", TURND_VERSION);
		return 0;
	}
	if (argc > 1 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 1;
}
