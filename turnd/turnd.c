/*
 * turnd: a TURN relay and STUN server.  main parses the command line,
 * loads the configuration, and (in later stages) starts the workers.
 */
#include <event2/event.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "server.h"
#include "version.h"

/* libevent's own complaints, at debug level: one line each, ours. */
static void
turnd_libevent_log(int severity, const char *msg)
{
	log_debug("event=libevent severity=%d message=\"%s\"", severity, msg);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: turnd [-c FILE] [-n] [-v] [-V] [--dev]\n"
	    "  -c FILE   configuration (default " CONF_DEFAULT_PATH ")\n"
	    "  -n        check the configuration and exit 0 or 1\n"
	    "  -v        more logging (repeatable); with -n, print the\n"
	    "            effective configuration\n"
	    "  -V        print the version and exit\n"
	    "  --dev     use the embedded development configuration\n"
	    "            (loopback only, user dev, password dev)\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dev", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	int check = 0, verbose = 0, dev = 0, ch;
	struct turnd_conf *conf;
	struct server *srv;
	int rc;

	while ((ch = getopt_long(argc, argv, "c:nvVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("turnd %s\n", TURND_VERSION);
			return 0;
		case 'D':
			dev = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc || (dev && path != NULL)) {
		usage(stderr);
		return 1;
	}
	if (dev)
		conf = conf_load("<embedded>", conf_dev_text, stderr);
	else
		conf = conf_load(path != NULL ? path : CONF_DEFAULT_PATH, NULL,
		    stderr);
	if (conf == NULL)
		return 1;
	if (check) {
		if (verbose)
			conf_dump(conf, stdout);
		fprintf(stderr, "configuration OK\n");
		conf_free(conf);
		return 0;
	}
	log_init(conf->log.level + verbose > LOG_LVL_DEBUG ? LOG_LVL_DEBUG :
	    conf->log.level + verbose, conf->log.syslog, "turnd");
	event_set_log_callback(turnd_libevent_log);
	log_info("event=start version=%s config=%s", TURND_VERSION,
	    conf->source);
	srv = server_new(conf, dev ? NULL : (path != NULL ? path :
	    CONF_DEFAULT_PATH), dev ? conf_dev_text : NULL, verbose);
	if (srv == NULL)
		return 1;
	rc = server_run(srv);
	server_free(srv);
	return rc;
}
