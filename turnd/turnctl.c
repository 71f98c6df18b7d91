/*
 * turnctl: the operator's tool.  Like bgpctl it is thin: it sends one
 * request over turnd's control socket (ctl.h) and prints the reply, which
 * the daemon has already formatted as a table or as JSON.  A few commands
 * work without a daemon: minting credentials from a secret file, the
 * end-to-end self-test of a TURN server, translating a coturn
 * configuration.
 *
 * Exit status: 0 done; 1 the request failed (the daemon said why); 2 usage;
 * 3 the daemon could not be reached.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "check.h"
#include "config.h"
#include "coturn.h"
#include "ctl.h"
#include "version.h"

#define TURNCTL_DEFAULT_SOCKET "/run/turnd/turnd.sock"
#define TURNCTL_TIMEOUT_MS 15000

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: turnctl [-s SOCKET | -c CONFIG] [--json] COMMAND [ARGS]\n"
	    "\n"
	    "  stats                          counters, rates, allocations\n"
	    "  sessions [--user USER]         one line per allocation\n"
	    "  users                          users with allocations\n"
	    "  kick USER|ALLOCATION           delete allocations\n"
	    "  reload                         re-read the configuration\n"
	    "  credentials [--ttl SECONDS] [--secret-file FILE] [ID]\n"
	    "                                 mint TURN REST credentials\n"
	    "  check URL --user U (--password P | --secret S | --secret-file F)\n"
	    "        [--count N] [--timeout S] [--ca-file F] [--insecure]\n"
	    "                                 end-to-end self-test of a TURN\n"
	    "                                 server: allocate, permission,\n"
	    "                                 echo through the relay, RTT\n"
	    "  import-coturn FILE             print a turnd.conf for a coturn\n"
	    "                                 turnserver.conf (\"-\": stdin)\n"
	    "\n"
	    "  -s SOCKET   control socket (default " TURNCTL_DEFAULT_SOCKET
	    ")\n"
	    "  -c CONFIG   take the socket from turnd's configuration\n"
	    "  --json      machine-readable output\n"
	    "  -V          version\n");
}

static int
read_full(int fd, uint8_t *p, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, TURNCTL_TIMEOUT_MS) <= 0)
			return -1;
		n = read(fd, p + got, len - got);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

/* Sends one request and prints the answer. Returns the exit status. */
static int
request(const char *path, uint32_t type, int json, const char *payload)
{
	/* the daemon formats errors as JSON too when asked; see below */
	struct sockaddr_un sun;
	struct ctl_hdr h;
	uint8_t hdr[CTL_HDR_LEN];
	size_t plen = strlen(payload);
	char *body;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "turnctl: socket path too long: %s\n", path);
		return 2;
	}
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) !=
	    0) {
		int e = errno;

		fprintf(stderr, "turnctl: cannot reach turnd at %s: %s%s\n",
		    path, strerror(e), e == ENOENT || e == ECONNREFUSED ?
		    " (is turnd running? -s names another socket)" :
		    e == EACCES ? " (the socket's group may be needed)" : "");
		if (fd != -1)
			close(fd);
		return 3;
	}
	h.version = CTL_VERSION;
	h.type = type;
	h.flags = json ? CTL_F_JSON : 0;
	h.len = (uint32_t)plen;
	ctl_hdr_put(hdr, &h);
	if (write(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr) ||
	    (plen > 0 && write(fd, payload, plen) != (ssize_t)plen) ||
	    read_full(fd, hdr, sizeof(hdr)) != 0) {
		fprintf(stderr, "turnctl: no answer from turnd at %s\n", path);
		close(fd);
		return 3;
	}
	ctl_hdr_get(&h, hdr);
	if (h.version != CTL_VERSION) {
		fprintf(stderr, "turnctl: turnd speaks protocol version %u, "
		    "turnctl %u\n", h.version, CTL_VERSION);
		close(fd);
		return 3;
	}
	if (h.len > CTL_RESP_MAX || (body = malloc((size_t)h.len + 1)) ==
	    NULL) {
		fprintf(stderr, "turnctl: answer too large\n");
		close(fd);
		return 3;
	}
	if (read_full(fd, (uint8_t *)body, h.len) != 0) {
		fprintf(stderr, "turnctl: answer cut short\n");
		free(body);
		close(fd);
		return 3;
	}
	close(fd);
	body[h.len] = '\0';
	if (h.type == CTL_E_OK) {
		fwrite(body, 1, h.len, stdout);
		free(body);
		return 0;
	}
	if (json) {
		/* a refusal in JSON is still for the machine reading stdout */
		fwrite(body, 1, h.len, stdout);
		free(body);
		return 1;
	}
	fprintf(stderr, "turnctl: %s", body);
	if (h.len == 0 || body[h.len - 1] != '\n')
		fputc('\n', stderr);
	free(body);
	return 1;
}

/* Mints a credential offline from the first line of a secret file. */
static int
credentials_offline(const char *file, unsigned long ttl, const char *id,
    int json)
{
	char secret[1024], user[256], pass[AUTH_REST_PASSWORD_LEN + 1];
	FILE *f = fopen(file, "r");
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "turnctl: %s: %s\n", file, strerror(errno));
		return 1;
	}
	if (fgets(secret, sizeof(secret), f) == NULL) {
		fprintf(stderr, "turnctl: %s: empty\n", file);
		fclose(f);
		return 1;
	}
	fclose(f);
	n = strcspn(secret, "\r\n");
	secret[n] = '\0';
	if (n == 0) {
		fprintf(stderr, "turnctl: %s: the first line is empty\n", file);
		return 1;
	}
	snprintf(user, sizeof(user), "%lld%s%s",
	    (long long)time(NULL) + (long long)ttl, id[0] ? ":" : "", id);
	auth_rest_password(secret, n, user, strlen(user), pass);
	if (json)
		printf("{\"username\":\"%s\",\"password\":\"%s\",\"ttl\":%lu}\n",
		    user, pass, ttl);
	else
		printf("username  %s\npassword  %s\nttl       %lu s\n", user,
		    pass, ttl);
	return 0;
}

static const char *
socket_from_config(const char *file)
{
	static char path[256];
	struct turnd_conf *c = conf_load(file, NULL, stderr);

	if (c == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s", c->control.socket);
	conf_free(c);
	if (path[0] == '\0') {
		fprintf(stderr, "turnctl: %s has no control socket\n", file);
		return NULL;
	}
	return path;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "user", required_argument, NULL, 'u' },
		{ "ttl", required_argument, NULL, 't' },
		{ "secret-file", required_argument, NULL, 'f' },
		{ "password", required_argument, NULL, 'P' },
		{ "secret", required_argument, NULL, 'S' },
		{ "ca-file", required_argument, NULL, 'C' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *config = NULL, *user = NULL,
	    *secret_file = NULL, *cmd;
	unsigned long ttl = 86400, num;
	struct check_opts co;
	char payload[CTL_REQ_MAX], secret[1024];
	int json = 0, ch;

	/* options may come before or after the command word */
	while ((ch = getopt_long(argc, argv, "+s:c:jhVu:t:f:", opts, NULL)) !=
	    -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'V':
			printf("turnctl %s\n", TURND_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	/* the command's own options: parse its words as a new argv */
	argc -= optind;
	argv += optind;
	optind = 0; /* glibc: start afresh */
	memset(&co, 0, sizeof(co));
	while ((ch = getopt_long(argc, argv, "ju:t:f:P:S:C:kn:T:", opts,
	    NULL)) != -1) {
		char *end;

		switch (ch) {
		case 'P':
			co.password = optarg;
			break;
		case 'S':
			co.secret = optarg;
			break;
		case 'C':
			co.ca_file = optarg;
			break;
		case 'k':
			co.insecure = 1;
			break;
		case 'n':
		case 'T':
			num = strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || num == 0 ||
			    num > 1000) {
				fprintf(stderr, "turnctl: --%s: 1 to 1000\n",
				    ch == 'n' ? "count" : "timeout");
				return 2;
			}
			if (ch == 'n')
				co.count = (int)num;
			else
				co.timeout_ms = (int)num * 1000;
			break;
		case 'j':
			json = 1;
			break;
		case 'u':
			user = optarg;
			break;
		case 't':
			ttl = strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || ttl == 0 ||
			    ttl > 31536000) {
				fprintf(stderr, "turnctl: --ttl: 1 to 31536000 "
				    "seconds\n");
				return 2;
			}
			break;
		case 'f':
			secret_file = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;

	if (strcmp(cmd, "import-coturn") == 0) {
		if (argc != 1) {
			usage(stderr);
			return 2;
		}
		return coturn_import(argv[0], stdout, stderr);
	}
	if (strcmp(cmd, "check") == 0) {
		if (argc != 1) {
			usage(stderr);
			return 2;
		}
		if (secret_file != NULL) {
			/* keeps the secret out of ps(1) */
			FILE *f = fopen(secret_file, "r");

			if (f == NULL || fgets(secret, sizeof(secret), f) ==
			    NULL) {
				fprintf(stderr, "turnctl: %s: cannot read\n",
				    secret_file);
				if (f != NULL)
					fclose(f);
				return 2;
			}
			fclose(f);
			secret[strcspn(secret, "\r\n")] = '\0';
			co.secret = secret;
		}
		co.url = argv[0];
		co.user = user;
		co.json = json;
		return check_run(&co, stdout);
	}
	if (strcmp(cmd, "credentials") == 0 && secret_file != NULL)
		return credentials_offline(secret_file, ttl,
		    argc > 0 ? argv[0] : "", json);

	if (sock == NULL && config != NULL &&
	    (sock = socket_from_config(config)) == NULL)
		return 2;
	if (sock == NULL)
		sock = TURNCTL_DEFAULT_SOCKET;
	payload[0] = '\0';
	if (strcmp(cmd, "stats") == 0 && argc == 0)
		return request(sock, CTL_STATS, json, "");
	if (strcmp(cmd, "sessions") == 0 && argc == 0) {
		if (user != NULL)
			snprintf(payload, sizeof(payload), "user=%s\n", user);
		return request(sock, CTL_SESSIONS, json, payload);
	}
	if (strcmp(cmd, "users") == 0 && argc == 0)
		return request(sock, CTL_USERS, json, "");
	if (strcmp(cmd, "kick") == 0 && argc == 1 &&
	    strchr(argv[0], '\n') == NULL) {
		snprintf(payload, sizeof(payload), "target=%s\n", argv[0]);
		return request(sock, CTL_KICK, json, payload);
	}
	if (strcmp(cmd, "reload") == 0 && argc == 0)
		return request(sock, CTL_RELOAD, json, "");
	if (strcmp(cmd, "credentials") == 0 && argc <= 1 &&
	    (argc == 0 || strchr(argv[0], '\n') == NULL)) {
		snprintf(payload, sizeof(payload), "ttl=%lu\n%s%s%s", ttl,
		    argc ? "id=" : "", argc ? argv[0] : "", argc ? "\n" : "");
		return request(sock, CTL_CREDENTIALS, json, payload);
	}
	usage(stderr);
	return 2;
}
