/*
 * Running turnd for a test.  See tproc.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stun_enc.h"
#include "stun_hdr.h"
#include "tcert.h"
#include "tclient.h"
#include "tproc.h"

static int
port_free(uint16_t port)
{
	int types[2] = { SOCK_DGRAM, SOCK_STREAM }, ok = 1;

	for (int i = 0; i < 2 && ok; i++) {
		union tc_addr a;
		int fd = socket(AF_INET, types[i], 0);

		tc_addr_parse(&a, "127.0.0.1", port);
		if (fd == -1 || bind(fd, &a.sa, sizeof(a.in)) != 0)
			ok = 0;
		if (fd != -1)
			close(fd);
	}
	return ok;
}

uint16_t
tproc_free_port(void)
{
	static unsigned int seed;

	if (seed == 0)
		seed = (unsigned int)getpid() ^ (unsigned int)time(NULL);
	for (int i = 0; i < 200; i++) {
		uint16_t port = (uint16_t)(20000 + rand_r(&seed) % 12000);

		if (port_free(port))
			return port;
	}
	return 0;
}

static int
udp_free(uint16_t port)
{
	union tc_addr a;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), ok;

	tc_addr_parse(&a, "127.0.0.1", port);
	ok = fd != -1 && bind(fd, &a.sa, sizeof(a.in)) == 0;
	if (fd != -1)
		close(fd);
	return ok;
}

uint16_t
tproc_relay_window(uint16_t n)
{
	static unsigned int seed;

	if (seed == 0)
		seed = (unsigned int)getpid() * 2654435761u ^
		    (unsigned int)time(NULL);
	if (n == 0 || n > 1000)
		return 0;
	for (int i = 0; i < 200; i++) {
		uint32_t first = 49152 + (rand_r(&seed) % (16384u - n)) / 2 * 2;
		uint16_t k;

		for (k = 0; k < n; k++)
			if (!udp_free((uint16_t)(first + k)))
				break;
		if (k == n)
			return (uint16_t)first;
	}
	return 0;
}

/* True when extra defines the top-level group or setting `name`. */
static int
overridden(const char *extra, const char *name)
{
	size_t n = strlen(name);
	const char *p = extra;

	if (extra == NULL)
		return 0;
	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, name, n) == 0 && (p[n] == ' ' || p[n] == '='))
			return 1;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return 0;
}

/* Writes s with every "@DIR@" replaced by the temporary directory. */
static void
put_expanded(FILE *f, const struct tproc *p, const char *s)
{
	const char *at;

	while ((at = strstr(s, "@DIR@")) != NULL) {
		fwrite(s, 1, (size_t)(at - s), f);
		fputs(p->dir, f);
		s = at + 5;
	}
	fputs(s, f);
}

static int
write_conf(struct tproc *p, int flags, const char *extra)
{
	FILE *f = fopen(p->conf, "w");
	int v6 = !(flags & TPROC_NO_IPV6);
	const char *tr = flags & TPROC_TCP ? "\"udp\", \"tcp\"" : "\"udp\"";

	if (f == NULL)
		return -1;
	fprintf(f, "realm = \"%s\";\n", TPROC_REALM);
	if (!overridden(extra, "listen")) {
		fprintf(f, "listen = ( { address = \"127.0.0.1\"; port = %u; "
		    "transports = [ %s ]; }", p->port, tr);
		if (v6)
			fprintf(f, ", { address = \"::1\"; port = %u; "
			    "transports = [ %s ]; }", p->port, tr);
		if (flags & TPROC_TLS) {
			fprintf(f, ", { address = \"127.0.0.1\"; port = %u; "
			    "transports = [ \"tls\" ]; }", p->tls_port);
			if (v6)
				fprintf(f, ", { address = \"::1\"; port = %u; "
				    "transports = [ \"tls\" ]; }", p->tls_port);
		}
		fprintf(f, " );\n");
	}
	if ((flags & TPROC_TLS) && !overridden(extra, "tls"))
		fprintf(f, "tls = { certificate = \"%s\"; "
		    "private_key = \"%s\"; };\n", p->cert, p->key);
	if (!overridden(extra, "relay"))
		fprintf(f, "relay = { addresses = [ \"127.0.0.1\"%s ]; "
		    "port_min = %u; port_max = %u; };\n",
		    v6 ? ", \"::1\"" : "", p->relay_min, p->relay_max);
	if (!overridden(extra, "auth"))
		fprintf(f, "auth = { users = ( { name = \"%s\"; password = "
		    "\"%s\"; }, { name = \"%s\"; password = \"%s\"; } ); "
		    "secrets = [ \"%s\", \"%s\" ]; };\n", TPROC_USER,
		    TPROC_PASS, TPROC_USER2, TPROC_PASS2, TPROC_SECRET,
		    TPROC_SECRET2);
	if (!overridden(extra, "peers") && !(flags & TPROC_NO_PEER_ALLOW))
		fprintf(f, "peers = { allow = [ \"127.0.0.1/32\"%s ]; };\n",
		    v6 ? ", \"::1/128\"" : "");
	if (!overridden(extra, "quotas"))
		fprintf(f, "quotas = { unauth_per_source = 0; };\n");
	if (!overridden(extra, "control"))
		fprintf(f, "control = { socket = \"%s/turnd.sock\"; };\n",
		    p->dir);
	if (!overridden(extra, "metrics"))
		fprintf(f, "metrics = { listen = \"\"; };\n");
	if (!overridden(extra, "log"))
		fprintf(f, "log = { level = \"debug\"; };\n");
	if (!overridden(extra, "process"))
		fprintf(f, "process = { workers = 2; drain = 0; };\n");
	if (extra != NULL) {
		put_expanded(f, p, extra);
		fputc('\n', f);
	}
	return fclose(f) == 0 ? 0 : -1;
}

static int
ready(uint16_t port)
{
	struct tc c;
	struct tc_msg m;
	struct tc_resp r;
	int code;

	if (tc_open(&c, "127.0.0.1", port, NULL, NULL) != 0)
		return 0;
	c.timeout_ms = 100;
	c.tries = 1;
	tcm_init(&m, STUN_METHOD_BINDING);
	code = tc_transact(&c, &m, &r);
	tc_close(&c);
	return code == 0;
}

/* The temporary directory, ports, certificates and configuration. */
static int
prepare(struct tproc *p, int flags, const char *extra)
{
	char tmpl[] = "/tmp/turnd-test-XXXXXX";
	unsigned int seed = (unsigned int)getpid() ^ (unsigned int)time(NULL);

	memset(p, 0, sizeof(*p));
	p->pid = -1;
	if (getenv("TURND") == NULL) {
		fprintf(stderr, "tproc: TURND is not set\n");
		return -1;
	}
	if (mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(p->dir, sizeof(p->dir), "%s", tmpl);
	snprintf(p->conf, sizeof(p->conf), "%s/turnd.conf", p->dir);
	snprintf(p->log, sizeof(p->log), "%s/turnd.log", p->dir);
	p->port = tproc_free_port();
	if (p->port == 0)
		return -1;
	if (flags & TPROC_TLS) {
		do
			p->tls_port = tproc_free_port();
		while (p->tls_port == p->port);
		snprintf(p->ca, sizeof(p->ca), "%s/ca.pem", p->dir);
		snprintf(p->cert, sizeof(p->cert), "%s/cert.pem", p->dir);
		snprintf(p->key, sizeof(p->key), "%s/key.pem", p->dir);
		snprintf(p->other_key, sizeof(p->other_key),
		    "%s/other-key.pem", p->dir);
		snprintf(
		    p->rsa_key, sizeof(p->rsa_key), "%s/rsa-key.pem", p->dir);
		if (p->tls_port == 0 || tcert_make(p->dir) != 0) {
			fprintf(stderr, "tproc: no test certificate\n");
			return -1;
		}
	}
	/* a random stretch of the relay range, so parallel tests rarely meet */
	p->relay_min = (uint16_t)(49152 + (rand_r(&seed) % 150) * 100);
	p->relay_max = (uint16_t)(p->relay_min + 99);
	return write_conf(p, flags, extra);
}

static int
spawn(struct tproc *p)
{
	const char *bin = getenv("TURND");

	p->pid = fork();
	if (p->pid == -1)
		return -1;
	if (p->pid == 0) {
		int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd != -1) {
			dup2(fd, 2);
			dup2(fd, 1);
		}
		execl(bin, bin, "-c", p->conf, (char *)NULL);
		_exit(127);
	}
	return 0;
}

int
tproc_run(struct tproc *p, int flags, const char *extra, int timeout_ms)
{
	if (prepare(p, flags, extra) != 0 || spawn(p) != 0)
		return -1;
	for (int waited = 0; waited < timeout_ms; waited += 10) {
		int st;

		if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
			p->pid = -1;
			if (WIFEXITED(st))
				return WEXITSTATUS(st);
			return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
		}
		usleep(10000);
	}
	fprintf(stderr, "tproc: turnd still runs after %d ms\n", timeout_ms);
	tproc_stop(p);
	return -1;
}

int
tproc_start(struct tproc *p, int flags, const char *extra)
{
	if (prepare(p, flags, extra) != 0 || spawn(p) != 0)
		return -1;
	for (int i = 0; i < 100; i++) {
		int st;

		if (ready(p->port))
			return 0;
		if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
			p->pid = -1;
			fprintf(stderr, "tproc: turnd exited at start\n");
			tproc_dump_log(p);
			return -1;
		}
		usleep(50000);
	}
	fprintf(stderr, "tproc: turnd did not answer within 5 s\n");
	tproc_dump_log(p);
	tproc_stop(p);
	return -1;
}

int
tproc_stop(struct tproc *p)
{
	int st = 0;

	if (p->pid <= 0)
		return -1;
	kill(p->pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		pid_t r = waitpid(p->pid, &st, WNOHANG);

		if (r == p->pid) {
			p->pid = -1;
			if (WIFEXITED(st))
				return WEXITSTATUS(st);
			return -1;
		}
		usleep(50000);
	}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &st, 0);
	p->pid = -1;
	fprintf(stderr, "tproc: turnd did not stop within 10 s\n");
	return -1;
}

void
tproc_dump_log(const struct tproc *p)
{
	char line[1024];
	FILE *f = fopen(p->log, "r");

	if (f == NULL)
		return;
	fprintf(stderr, "---- turnd log (%s) ----\n", p->log);
	while (fgets(line, sizeof(line), f) != NULL)
		fputs(line, stderr);
	fprintf(stderr, "---- end of log ----\n");
	fclose(f);
}

int
tproc_log_find(const struct tproc *p, char *out, size_t len, ...)
{
	char line[2048];
	FILE *f = fopen(p->log, "r");
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		const char *s;
		va_list ap;

		found = 1;
		va_start(ap, len);
		while ((s = va_arg(ap, const char *)) != NULL)
			if (strstr(line, s) == NULL)
				found = 0;
		va_end(ap);
	}
	fclose(f);
	if (found && out != NULL) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(out, len, "%s", line);
	}
	return found;
}

long
tproc_rss_kb(const struct tproc *p)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	if (p->pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)p->pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int
tproc_finish(struct tproc *p, int failed)
{
	char path[400];
	/* nothing to stop after tproc_run, or a start that failed */
	int st = p->pid > 0 ? tproc_stop(p) : 0;

	if (failed || st != 0) {
		tproc_dump_log(p);
		return st;
	}
	if (p->dir[0] != '\0') {
		static const char *const files[] = {"turnd.conf", "turnd.log",
		    "turnd.sock", "ca.pem", "cert.pem", "key.pem",
		    "other-key.pem", "rsa-key.pem"};

		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", p->dir, files[i]);
			unlink(path);
		}
		rmdir(p->dir);
	}
	return st;
}
