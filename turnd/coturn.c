/*
 * coturn turnserver.conf in, turnd.conf out: what `turnctl import-coturn`
 * prints.  coturn's file has one option a line: a name, then blanks or
 * '=' and the rest of the line as the value (surrounding double quotes
 * dropped), '#' lines are comments, and flags take an optional boolean
 * value.  ct_table lists every option this translator knows: the ones it
 * carries over, the ones that are already turnd's behaviour (noted in the
 * output), and the ones turnd has no equivalent for (a warning with a
 * hint).  Anything else gets a warning too.  Settings are collected in
 * struct imp first, then written group by group in turnd's order, each
 * with the coturn line it came from.
 *
 * Differences in defaults that matter are spelled out in the output:
 * turnd refuses private, loopback and link-local peers unless peers.allow
 * names them (coturn relayed to them unless told otherwise), and keeps
 * its Prometheus listener on loopback.  coturn's peer ranges "a-b" become
 * the exact set of prefixes that covers them.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coturn.h"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/* One value taken from the coturn file; line 0: not given. */
struct ct_val {
	char *text; /* owned; NULL for flags */
	unsigned int line;
	int on; /* flags */
};

struct ct_list {
	struct ct_val *v;
	size_t n;
};

struct ct_msg {
	unsigned int line;
	size_t seq;
	const char *what; /* "warning", "error", "note" */
	char *text;
};

/* Everything read so far; written out by emit(). */
struct imp {
	const char *file;
	int failed; /* an error was said */
	int oom;
	struct ct_msg *msgs;
	size_t n_msgs;

	struct ct_val realm, port, tls_port, min_port, max_port, cert, pkey;
	struct ct_val ciphers, user_quota, total_quota, max_bps, stale_nonce;
	struct ct_val proc_user, proc_group, pidfile, log_level, prom_port;
	struct ct_val lifetime_max;
	struct ct_val no_udp, no_tcp, no_tls, no_stun, stun_only, no_software;
	struct ct_val use_secret, syslog, prometheus, tls13, loopback;
	struct ct_list listen_ips, relay_ips, externals, secrets;
	struct ct_list users, user_pw; /* parallel; user_pw.on: a key */
	struct ct_list allow, deny;    /* prefixes, already converted */
	struct ct_list same;           /* options turnd does anyway */
};

enum ct_kind {
	CT_STR,  /* a value; the last one counts */
	CT_NUM,  /* a decimal number in min..max; the last one counts */
	CT_FLAG, /* on unless its value says no */
	CT_FN,   /* handled by fn */
	CT_SAME, /* turnd behaves so already */
	CT_NONE, /* no equivalent */
};

struct ct_opt {
	const char *name;
	enum ct_kind kind;
	size_t off; /* struct ct_val in struct imp */
	long long min, max;
	void (*fn)(struct imp *, const char *, unsigned int);
	const char *hint; /* CT_SAME, CT_NONE: why */
};

static void say(struct imp *, unsigned int, const char *, const char *, ...)
    __attribute__((format(printf, 4, 5)));
static char *xstrdup(struct imp *, const char *);
static void list_add(
    struct imp *, struct ct_list *, const char *, unsigned int, int);
static int bool_value(struct imp *, const char *, unsigned int, int *);
static int num_value(const char *, long long, long long, long long *);
static int ip_family(const char *, uint8_t *);
static void peer_range(
    struct imp *, struct ct_list *, const char *, unsigned int);
static void opt_user(struct imp *, const char *, unsigned int);
static void opt_external(struct imp *, const char *, unsigned int);
static void opt_listen_ip(struct imp *, const char *, unsigned int);
static void opt_relay_ip(struct imp *, const char *, unsigned int);
static void opt_secret(struct imp *, const char *, unsigned int);
static void opt_allow(struct imp *, const char *, unsigned int);
static void opt_deny(struct imp *, const char *, unsigned int);
static void opt_log_file(struct imp *, const char *, unsigned int);
static void opt_verbose(struct imp *, const char *, unsigned int);
static void opt_log_min(struct imp *, const char *, unsigned int);
static void opt_separator(struct imp *, const char *, unsigned int);
static void opt_stale(struct imp *, const char *, unsigned int);
static void opt_old_tls(struct imp *, const char *, unsigned int);
static void opt_no_auth(struct imp *, const char *, unsigned int);
static void put_str(FILE *, const char *);
static void emit(struct imp *, FILE *);

#define V(m) .off = offsetof(struct imp, m)

static const char ct_db_hint[] = "turnd keeps users and secrets in its "
                                 "configuration (auth.users, auth.secrets); "
                                 "export them there";
static const char ct_cli_hint[] = "turnctl on the control socket takes "
                                  "the place of coturn's CLI and web admin";
static const char ct_5780_hint[] = "turnd does not do RFC 5780 NAT "
                                   "behaviour discovery";
static const char ct_log_hint[] = "turnd logs one event a line to stderr "
                                  "(journald, docker logs) or to syslog";

static const struct ct_opt ct_table[] = {
    {"listening-port", CT_NUM, V(port), 1, 65535},
    {"tls-listening-port", CT_NUM, V(tls_port), 1, 65535},
    {"listening-ip", CT_FN, .fn = opt_listen_ip},
    {"relay-ip", CT_FN, .fn = opt_relay_ip},
    {"external-ip", CT_FN, .fn = opt_external},
    {"realm", CT_STR, V(realm)},
    {"user", CT_FN, .fn = opt_user},
    {"lt-cred-mech", CT_SAME, .hint = "long-term credentials are always on"},
    {"use-auth-secret", CT_FLAG, V(use_secret)},
    {"static-auth-secret", CT_FN, .fn = opt_secret},
    {"rest-api-separator", CT_FN, .fn = opt_separator},
    {"min-port", CT_NUM, V(min_port), 1, 65535},
    {"max-port", CT_NUM, V(max_port), 1, 65535},
    {"cert", CT_STR, V(cert)},
    {"pkey", CT_STR, V(pkey)},
    {"cipher-list", CT_STR, V(ciphers)},
    {"no-tlsv1", CT_SAME,
        .hint = "TLS 1.2 is the oldest version turnd "
                "accepts"},
    {"no-tlsv1_1", CT_SAME,
        .hint = "TLS 1.2 is the oldest version turnd "
                "accepts"},
    {"no-tlsv1_2", CT_FLAG, V(tls13)},
    {"tlsv1", CT_FN, .fn = opt_old_tls},
    {"tlsv1_1", CT_FN, .fn = opt_old_tls},
    {"fingerprint", CT_SAME,
        .hint = "responses carry FINGERPRINT when the request does"},
    {"no-multicast-peers", CT_SAME,
        .hint = "multicast and broadcast peers are always refused"},
    {"no-loopback-peers", CT_SAME,
        .hint = "loopback peers are refused unless peers.allow names them"},
    {"allow-loopback-peers", CT_FLAG, V(loopback)},
    {"denied-peer-ip", CT_FN, .fn = opt_deny},
    {"allowed-peer-ip", CT_FN, .fn = opt_allow},
    {"user-quota", CT_NUM, V(user_quota), 0, 1000000},
    {"total-quota", CT_NUM, V(total_quota), 0, 10000000},
    {"max-bps", CT_NUM, V(max_bps), 0, 1000000000000LL},
    {"stale-nonce", CT_FN, .fn = opt_stale},
    {"max-allocate-lifetime", CT_NUM, V(lifetime_max), 60, 86400},
    {"no-stun", CT_FLAG, V(no_stun)},
    {"stun-only", CT_FLAG, V(stun_only)},
    {"no-software-attribute", CT_FLAG, V(no_software)},
    {"no-udp", CT_FLAG, V(no_udp)},
    {"no-tcp", CT_FLAG, V(no_tcp)},
    {"no-tls", CT_FLAG, V(no_tls)},
    {"no-dtls", CT_SAME, .hint = "turnd has no DTLS listener"},
    {"no-tcp-relay", CT_SAME, .hint = "relayed transport addresses are UDP"},
    {"proc-user", CT_STR, V(proc_user)},
    {"proc-group", CT_STR, V(proc_group)},
    {"pidfile", CT_STR, V(pidfile)},
    {"log-file", CT_FN, .fn = opt_log_file},
    {"syslog", CT_FLAG, V(syslog)},
    {"verbose", CT_FN, .fn = opt_verbose},
    {"Verbose", CT_FN, .fn = opt_verbose},
    {"log-min-level", CT_FN, .fn = opt_log_min},
    {"simple-log", CT_SAME, .hint = ct_log_hint},
    {"new-log-timestamp", CT_SAME, .hint = ct_log_hint},
    {"prometheus", CT_FLAG, V(prometheus)},
    {"prometheus-port", CT_NUM, V(prom_port), 1, 65535},
    {"no-cli", CT_SAME, .hint = ct_cli_hint},
    {"no-rfc5780", CT_SAME, .hint = ct_5780_hint},
    {"response-origin-only-with-rfc5780", CT_SAME, .hint = ct_5780_hint},
    {"no-auth", CT_FN, .fn = opt_no_auth},

    {"ne", CT_NONE, .hint = "coturn ignores it too"},
    {"alt-listening-port", CT_NONE, .hint = ct_5780_hint},
    {"alt-tls-listening-port", CT_NONE, .hint = ct_5780_hint},
    {"rfc5780", CT_NONE, .hint = ct_5780_hint},
    {"aux-server", CT_NONE, .hint = "add a listen entry instead"},
    {"udp-self-balance", CT_NONE,
        .hint = "workers share a port through SO_REUSEPORT"},
    {"listening-device", CT_NONE,
        .hint = "name addresses in listen and relay.addresses instead"},
    {"relay-device", CT_NONE,
        .hint = "name addresses in relay.addresses instead"},
    {"relay-threads", CT_NONE,
        .hint = "process.workers sets turnd's threads (0: one per CPU)"},
    {"sock-buf-size", CT_NONE,
        .hint = "set udp.rcvbuf, udp.sndbuf, relay.rcvbuf and relay.sndbuf"},
    {"bps-capacity", CT_NONE,
        .hint = "turnd has no server-wide bandwidth "
                "cap; quotas.bandwidth_per_allocation "
                "limits each allocation"},
    {"userdb", CT_NONE, .hint = ct_db_hint},
    {"psql-userdb", CT_NONE, .hint = ct_db_hint},
    {"mysql-userdb", CT_NONE, .hint = ct_db_hint},
    {"mongo-userdb", CT_NONE, .hint = ct_db_hint},
    {"redis-userdb", CT_NONE, .hint = ct_db_hint},
    {"redis-statsdb", CT_NONE,
        .hint = "turnctl stats and the Prometheus metrics show the counters"},
    {"secure-stun", CT_NONE,
        .hint = "Binding is never authenticated; no_stun refuses it"},
    {"server-name", CT_NONE, .hint = "turnd has no OAuth (RFC 7635)"},
    {"oauth", CT_NONE, .hint = "turnd has no OAuth (RFC 7635)"},
    {"mobility", CT_NONE, .hint = "turnd has no ICE mobility (MICE)"},
    {"dtls", CT_NONE,
        .hint = "turnd has no DTLS listener; clients use turns: over TLS"},
    {"CA-file", CT_NONE, .hint = "turnd does not verify client certificates"},
    {"dh-file", CT_NONE, .hint = "turnd offers ECDHE only"},
    {"dh566", CT_NONE, .hint = "turnd offers ECDHE only"},
    {"dh1066", CT_NONE, .hint = "turnd offers ECDHE only"},
    {"ec-curve-name", CT_NONE, .hint = "turnd uses OpenSSL's default groups"},
    {"pkey-pwd", CT_NONE,
        .hint = "store the key unencrypted, readable by "
                "turnd only (openssl pkey -in KEY -out "
                "KEY.plain)"},
    {"cli-ip", CT_NONE, .hint = ct_cli_hint},
    {"cli-port", CT_NONE, .hint = ct_cli_hint},
    {"cli-password", CT_NONE, .hint = ct_cli_hint},
    {"cli-max-output-sessions", CT_NONE, .hint = ct_cli_hint},
    {"web-admin", CT_NONE, .hint = ct_cli_hint},
    {"web-admin-ip", CT_NONE, .hint = ct_cli_hint},
    {"web-admin-port", CT_NONE, .hint = ct_cli_hint},
    {"web-admin-listen-on-workers", CT_NONE, .hint = ct_cli_hint},
    {"channel-lifetime", CT_NONE, .hint = "RFC 8656 fixes it at 600 s"},
    {"permission-lifetime", CT_NONE, .hint = "RFC 8656 fixes it at 300 s"},
    {"no-udp-relay", CT_NONE, .hint = "turnd's relays are UDP"},
    {"allocation-default-address-family", CT_NONE,
        .hint = "the client's REQUESTED-ADDRESS-FAMILY decides, IPv4 "
                "when it names none (RFC 8656)"},
    {"keep-address-family", CT_NONE,
        .hint = "the client's REQUESTED-ADDRESS-FAMILY decides, IPv4 "
                "when it names none (RFC 8656)"},
    {"prometheus-username-labels", CT_NONE,
        .hint = "turnd's metrics have no per-user labels"},
    {"syslog-facility", CT_NONE, .hint = ct_log_hint},
    {"no-stdout-log", CT_NONE, .hint = ct_log_hint},
    {"new-log-timestamp-format", CT_NONE, .hint = ct_log_hint},
};

/*
 * Queues one warning or error line; flush_msgs prints them in line order
 * (line 0, the whole file, first), as `turnd -n` does.
 */
static void
say(struct imp *im, unsigned int line, const char *what, const char *fmt, ...)
{
	struct ct_msg *nm;
	char *body;
	va_list ap;
	int rc;

	if (strcmp(what, "error") == 0)
		im->failed = 1;
	va_start(ap, fmt);
	rc = vasprintf(&body, fmt, ap);
	va_end(ap);
	nm = reallocarray(im->msgs, im->n_msgs + 1, sizeof(*nm));
	if (rc == -1 || nm == NULL) {
		if (rc != -1)
			free(body);
		im->oom = 1;
		return;
	}
	im->msgs = nm;
	nm[im->n_msgs].line = line;
	nm[im->n_msgs].seq = im->n_msgs;
	nm[im->n_msgs].what = what;
	nm[im->n_msgs].text = body;
	im->n_msgs++;
}

static int
msg_cmp(const void *a, const void *b)
{
	const struct ct_msg *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
flush_msgs(struct imp *im, FILE *f)
{
	qsort(im->msgs, im->n_msgs, sizeof(*im->msgs), msg_cmp);
	for (size_t i = 0; i < im->n_msgs; i++) {
		struct ct_msg *m = &im->msgs[i];

		if (f != NULL && m->line > 0)
			fprintf(f, "%s:%u: %s: %s\n", im->file, m->line,
			    m->what, m->text);
		else if (f != NULL)
			fprintf(f, "%s: %s: %s\n", im->file, m->what, m->text);
		free(m->text);
	}
	free(im->msgs);
	im->msgs = NULL;
	im->n_msgs = 0;
}

static char *
xstrdup(struct imp *im, const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		im->oom = 1;
	return d;
}

static void
list_add(struct imp *im, struct ct_list *l, const char *text, unsigned int line,
    int on)
{
	struct ct_val *nv = reallocarray(l->v, l->n + 1, sizeof(*nv));

	if (nv == NULL) {
		im->oom = 1;
		return;
	}
	l->v = nv;
	nv[l->n].text = xstrdup(im, text);
	nv[l->n].line = line;
	nv[l->n].on = on;
	if (nv[l->n].text != NULL)
		l->n++;
}

static void
list_free(struct ct_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].text);
	free(l->v);
}

/* coturn's boolean values: none, 1-9, y, t, on mean yes; 0, n, f, off no. */
static int
bool_value(struct imp *im, const char *v, unsigned int line, int *on)
{
	if (*v == '\0' || strchr("123456789yYtT", *v) != NULL ||
	    strcasecmp(v, "on") == 0)
		*on = 1;
	else if (strchr("0nNfF", *v) != NULL || strcasecmp(v, "off") == 0)
		*on = 0;
	else {
		say(im, line, "error",
		    "'%s' is not a boolean (on/off, yes/no, 1/0, true/false)",
		    v);
		return -1;
	}
	return 0;
}

/* A plain decimal number in min..max. */
static int
num_value(const char *v, long long min, long long max, long long *out)
{
	char *end;
	long long n;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/* AF_INET or AF_INET6 with the address in ip, or 0. */
static int
ip_family(const char *s, uint8_t *ip)
{
	if (inet_pton(AF_INET, s, ip) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, ip) == 1)
		return AF_INET6;
	return 0;
}

static int
ip_bit(const uint8_t *ip, size_t len, unsigned int k)
{
	return (ip[len - 1 - k / 8] >> (k % 8)) & 1;
}

/* ip with its lowest `host` bits set: the last address of its block. */
static void
ip_block_end(const uint8_t *ip, size_t len, unsigned int host, uint8_t *out)
{
	memcpy(out, ip, len);
	for (unsigned int k = 0; k < host; k++)
		out[len - 1 - k / 8] |= (uint8_t)(1u << (k % 8));
}

/*
 * Converts one peer address, prefix or coturn range "a-b" to prefixes on
 * l: the fewest whose union is exactly the range.  Each step takes the
 * largest block that starts at the current address (so its host bits
 * are zero there) and does not pass the end.
 */
static void
peer_range(struct imp *im, struct ct_list *l, const char *v, unsigned int line)
{
	char buf[2 * INET6_ADDRSTRLEN + 8], txt[INET6_ADDRSTRLEN + 8];
	uint8_t lo[16], hi[16], last[16];
	const char *dash = strchr(v, '-'), *slash = strchr(v, '/');
	long long prefix;
	size_t len;
	unsigned int bits, host;
	int af;

	if (strlen(v) >= sizeof(buf))
		goto bad;
	strcpy(buf, v);
	if (slash != NULL && dash == NULL) {
		buf[slash - v] = '\0';
		af = ip_family(buf, lo);
		if (af == 0 ||
		    num_value(
		        slash + 1, 0, af == AF_INET ? 32 : 128, &prefix) != 0)
			goto bad;
		list_add(im, l, v, line, 0);
		return;
	}
	if (dash != NULL)
		buf[dash - v] = '\0';
	af = ip_family(buf, lo);
	if (af == 0)
		goto bad;
	len = af == AF_INET ? 4 : 16;
	memcpy(hi, lo, len);
	if (dash != NULL && ip_family(dash + 1, hi) != af)
		goto bad;
	if (memcmp(lo, hi, len) > 0) {
		say(im, line, "warning", "range '%s' runs backwards; left out",
		    v);
		return;
	}
	bits = (unsigned int)len * 8;
	for (;;) {
		for (host = 0; host < bits && !ip_bit(lo, len, host); host++) {
			ip_block_end(lo, len, host + 1, last);
			if (memcmp(last, hi, len) > 0)
				break;
		}
		inet_ntop(af, lo, txt, INET6_ADDRSTRLEN);
		snprintf(buf, sizeof(buf), "%s/%u", txt, bits - host);
		list_add(im, l, buf, line, 0);
		ip_block_end(lo, len, host, last);
		if (memcmp(last, hi, len) == 0)
			return;
		/* the next block starts one past this one's end */
		memcpy(lo, last, len);
		for (size_t i = len; i-- > 0;)
			if (++lo[i] != 0)
				break;
	}
bad:
	say(im, line, "warning",
	    "'%s' is not an address, prefix or range a-b; left out", v);
}

/* user=name:password or user=name:0x<hex key>, the key per realm. */
static void
opt_user(struct imp *im, const char *v, unsigned int line)
{
	const char *colon = strchr(v, ':'), *pw;
	char *name;
	int key = 0;

	if (colon == NULL || colon == v || colon[1] == '\0') {
		say(im, line, "error",
		    "user: expected name:password or "
		    "name:0xKEY");
		return;
	}
	pw = colon + 1;
	if (pw[0] == '0' && (pw[1] == 'x' || pw[1] == 'X')) {
		size_t n = strspn(pw + 2, "0123456789abcdefABCDEF");

		if (n != 32 || pw[2 + n] != '\0') {
			say(im, line, "error",
			    "user: a 0x key must be 32 hex digits "
			    "(MD5 of name:realm:password)");
			return;
		}
		pw += 2;
		key = 1;
	}
	if ((name = strndup(v, (size_t)(colon - v))) == NULL) {
		im->oom = 1;
		return;
	}
	for (size_t i = 0; i < im->users.n; i++)
		if (strcmp(im->users.v[i].text, name) == 0)
			say(im, line, "error",
			    "user '%s' is already defined at line %u", name,
			    im->users.v[i].line);
	list_add(im, &im->users, name, line, 0);
	list_add(im, &im->user_pw, pw, line, key);
	free(name);
}

/*
 * external-ip=public or public/private.  A value with a shell-style
 * variable is a template filled at deploy time: it is kept as is.
 */
static void
opt_external(struct imp *im, const char *v, unsigned int line)
{
	char buf[2 * INET6_ADDRSTRLEN + 2];
	uint8_t a[16], b[16];
	const char *slash;
	int af;

	if (strchr(v, '$') != NULL) {
		say(im, line, "warning",
		    "external-ip '%s' is a placeholder; kept for the deploy "
		    "step to fill, as it was for coturn (turnd -n refuses it "
		    "until then)",
		    v);
		list_add(im, &im->externals, v, line, 0);
		return;
	}
	slash = strchr(v, '/');
	if (strlen(v) >= sizeof(buf))
		goto bad;
	strcpy(buf, v);
	if (slash != NULL)
		buf[slash - v] = '\0';
	af = ip_family(buf, a);
	if (af == 0 || (slash != NULL && ip_family(slash + 1, b) != af))
		goto bad;
	list_add(im, &im->externals, v, line, 0);
	return;
bad:
	say(im, line, "error",
	    "external-ip '%s' is not an address or public/private pair "
	    "of one family; left out",
	    v);
}

static void
opt_listen_ip(struct imp *im, const char *v, unsigned int line)
{
	uint8_t a[16];

	if (*v == '\0')
		v = "0.0.0.0"; /* coturn: every IPv4 address */
	if (ip_family(v, a) == 0) {
		say(im, line, "error", "listening-ip '%s' is not an address",
		    v);
		return;
	}
	list_add(im, &im->listen_ips, v, line, 0);
}

static void
opt_relay_ip(struct imp *im, const char *v, unsigned int line)
{
	uint8_t a[16];

	if (ip_family(v, a) == 0) {
		say(im, line, "error", "relay-ip '%s' is not an address", v);
		return;
	}
	if (strcmp(v, "0.0.0.0") == 0 || strcmp(v, "::") == 0) {
		say(im, line, "warning",
		    "relay-ip %s is the wildcard; turnd picks its relay "
		    "addresses itself when relay.addresses is empty",
		    v);
		return;
	}
	list_add(im, &im->relay_ips, v, line, 0);
}

static void
opt_secret(struct imp *im, const char *v, unsigned int line)
{
	if (*v == '\0') {
		say(im, line, "error", "static-auth-secret: empty");
		return;
	}
	list_add(im, &im->secrets, v, line, 0);
}

static void
opt_allow(struct imp *im, const char *v, unsigned int line)
{
	peer_range(im, &im->allow, v, line);
}

static void
opt_deny(struct imp *im, const char *v, unsigned int line)
{
	peer_range(im, &im->deny, v, line);
}

static void
opt_log_file(struct imp *im, const char *v, unsigned int line)
{
	if (strcmp(v, "stdout") == 0 || strcmp(v, "-") == 0)
		list_add(im, &im->same, "log-file", line, 0);
	else if (strcmp(v, "syslog") == 0) {
		im->syslog.on = 1;
		im->syslog.line = line;
	} else
		say(im, line, "warning",
		    "log-file %s: %s; to keep a file, redirect stderr", v,
		    ct_log_hint);
}

static void
opt_verbose(struct imp *im, const char *v, unsigned int line)
{
	int on;

	if (bool_value(im, v, line, &on) != 0 || !on)
		return;
	free(im->log_level.text);
	im->log_level.text = xstrdup(im, "debug");
	im->log_level.line = line;
}

static void
opt_log_min(struct imp *im, const char *v, unsigned int line)
{
	static const char *const map[][2] = {{"debug", "debug"},
	    {"info", "info"}, {"warning", "warn"}, {"error", "error"}};

	for (size_t i = 0; i < nitems(map); i++) {
		if (strcasecmp(v, map[i][0]) != 0)
			continue;
		free(im->log_level.text);
		im->log_level.text = xstrdup(im, map[i][1]);
		im->log_level.line = line;
		return;
	}
	say(im, line, "warning", "log-min-level '%s' is unknown; left out", v);
}

static void
opt_separator(struct imp *im, const char *v, unsigned int line)
{
	if (strcmp(v, ":") == 0)
		list_add(im, &im->same, "rest-api-separator", line, 0);
	else
		say(im, line, "warning",
		    "rest-api-separator '%s': turnd's REST usernames are "
		    "expiry:id with ':'; whoever mints them must use ':'",
		    v);
}

/* stale-nonce[=seconds]: 600 without a value, 0 for no limit. */
static void
opt_stale(struct imp *im, const char *v, unsigned int line)
{
	long long n = 600;
	char buf[24];

	if (*v != '\0' && num_value(v, 0, 1LL << 31, &n) != 0) {
		say(im, line, "warning",
		    "stale-nonce '%s' is not a number of seconds; left out", v);
		return;
	}
	if (n == 0 || n > 86400) {
		say(im, line, "warning",
		    "stale-nonce %lld: turnd's nonces live at most 86400 s", n);
		n = 86400;
	} else if (n < 30) {
		say(im, line, "warning",
		    "stale-nonce %lld: turnd's nonces live at least 30 s", n);
		n = 30;
	}
	snprintf(buf, sizeof(buf), "%lld", n);
	free(im->stale_nonce.text);
	im->stale_nonce.text = xstrdup(im, buf);
	im->stale_nonce.line = line;
}

static void
opt_old_tls(struct imp *im, const char *v, unsigned int line)
{
	int on;

	if (bool_value(im, v, line, &on) == 0 && on)
		say(im, line, "warning",
		    "turnd accepts TLS 1.2 and 1.3 only; older clients "
		    "cannot connect");
}

static void
opt_no_auth(struct imp *im, const char *v, unsigned int line)
{
	int on;

	if (bool_value(im, v, line, &on) == 0 && on)
		say(im, line, "warning",
		    "no-auth: turnd always authenticates TURN requests; "
		    "give users or a secret (stun_only = true serves STUN "
		    "alone)");
}

/* Reads one line's option into im. */
static void
take(struct imp *im, char *s, unsigned int line)
{
	const struct ct_opt *o = NULL;
	struct ct_val *val = NULL;
	char *name = s, *v;
	size_t n;
	long long num;
	int on;

	n = strcspn(s, " \t=");
	v = s + n;
	if (*v != '\0') {
		*v++ = '\0';
		v += strspn(v, " \t=");
	}
	n = strlen(v);
	if (n > 0 && v[0] == '"') {
		v++;
		n--;
		if (n > 0 && v[n - 1] == '"')
			v[--n] = '\0';
	}
	if (n > 0 && v[n - 1] == ';')
		say(im, line, "warning",
		    "the line ends with ';', which is part of the value");
	for (size_t i = 0; i < nitems(ct_table); i++)
		if (strcmp(ct_table[i].name, name) == 0)
			o = &ct_table[i];
	if (o == NULL) {
		say(im, line, "warning",
		    "'%s' is not an option this translator knows; "
		    "not translated",
		    name);
		return;
	}
	if (o->kind == CT_STR || o->kind == CT_NUM || o->kind == CT_FLAG)
		val = (struct ct_val *)((char *)im + o->off);
	switch (o->kind) {
	case CT_FN:
		o->fn(im, v, line);
		return;
	case CT_SAME:
		if (bool_value(im, v, line, &on) == 0 && on)
			list_add(im, &im->same, name, line, 0);
		return;
	case CT_NONE:
		say(im, line, "warning", "%s: not translated: %s", name,
		    o->hint);
		return;
	case CT_FLAG:
		if (bool_value(im, v, line, &on) != 0)
			return;
		val->on = on;
		val->line = line;
		return;
	case CT_NUM:
		if (num_value(v, o->min, o->max, &num) != 0) {
			say(im, line, "error",
			    "%s: '%s' is not a number in %lld..%lld", name, v,
			    o->min, o->max);
			return;
		}
		break;
	case CT_STR:
		if (*v == '\0') {
			say(im, line, "error", "%s: needs a value", name);
			return;
		}
		break;
	}
	if (val->line != 0)
		say(im, line, "warning",
		    "%s is given again (line %u); the last one counts, as in "
		    "coturn",
		    name, val->line);
	free(val->text);
	val->text = xstrdup(im, v);
	val->line = line;
}

/* Cross checks once the whole file is read. */
static void
check(struct imp *im)
{
	int tls_wanted = !im->no_tls.on;

	if (im->realm.line == 0 && !im->stun_only.on)
		say(im, 0, "error",
		    "no realm=; turnd needs one for long-term credentials");
	if (im->stun_only.on && im->no_stun.on)
		say(im, im->no_stun.line, "error",
		    "no-stun with stun-only leaves nothing to serve");
	if (!im->stun_only.on && im->users.n == 0 &&
	    !(im->use_secret.on && im->secrets.n > 0))
		say(im, 0, "error",
		    "no user= and no use-auth-secret with static-auth-secret: "
		    "coturn ran without authentication or with a database; "
		    "turnd needs auth.users or auth.secrets");
	if (im->use_secret.on && im->secrets.n == 0)
		say(im, im->use_secret.line, "error",
		    "use-auth-secret without static-auth-secret: the secret "
		    "was in coturn's database; put it in auth.secrets");
	if (!im->use_secret.on && im->secrets.n > 0)
		say(im, im->secrets.v[0].line, "warning",
		    "static-auth-secret without use-auth-secret: coturn did "
		    "not use it; written commented out");
	if (im->use_secret.on && im->users.n > 0)
		say(im, im->users.v[0].line, "warning",
		    "coturn documents user= as not usable with "
		    "use-auth-secret; turnd accepts both: remove the user "
		    "if it should not log in");
	if (tls_wanted && (im->cert.line != 0) != (im->pkey.line != 0))
		say(im, im->cert.line ? im->cert.line : im->pkey.line, "error",
		    "TLS needs both cert= and pkey=");
	else if (tls_wanted && im->cert.line == 0 && im->tls_port.line != 0)
		say(im, im->tls_port.line, "warning",
		    "tls-listening-port without cert= and pkey=: no tls "
		    "listener written; give tls.certificate and "
		    "tls.private_key and add the listen entry shown "
		    "commented out");
	if (im->cert.text != NULL && im->cert.text[0] != '/')
		say(im, im->cert.line, "warning",
		    "cert '%s' is relative; write the absolute path turnd "
		    "will find",
		    im->cert.text);
	if (im->pkey.text != NULL && im->pkey.text[0] != '/')
		say(im, im->pkey.line, "warning",
		    "pkey '%s' is relative; write the absolute path turnd "
		    "will find",
		    im->pkey.text);
	if (im->no_udp.on && im->no_tcp.on &&
	    (!tls_wanted || im->cert.line == 0))
		say(im, im->no_udp.line, "error",
		    "no-udp, no-tcp and no TLS leave no listener");
	if (im->tls_port.text != NULL && im->port.text != NULL &&
	    strcmp(im->tls_port.text, im->port.text) == 0 &&
	    im->cert.line != 0 && tls_wanted && !im->no_tcp.on)
		say(im, im->tls_port.line, "error",
		    "tls-listening-port equals listening-port; turnd needs "
		    "separate ports for tcp and tls");
	if (im->no_stun.on)
		say(im, im->no_stun.line, "warning",
		    "no-stun: WebRTC clients also use a UDP TURN server for "
		    "STUN; with no_stun they get no server-reflexive "
		    "candidate from it (LiveKit hands out no other STUN "
		    "server once rtc.turn_servers is set)");
	if (im->allow.n == 0 && !im->stun_only.on)
		say(im, 0, "note",
		    "turnd refuses private, loopback and link-local peers; "
		    "with LiveKit on this host, list its node address in "
		    "peers.allow (see the comment there)");
	if (im->users.n > 0 && im->user_quota.line == 0)
		say(im, im->users.v[0].line, "warning",
		    "no user-quota: written as allocations_per_user = 0 (no "
		    "limit, as in coturn); every client sharing a static "
		    "user counts against one quota");
	if (im->loopback.on) {
		say(im, im->loopback.line, "warning",
		    "allow-loopback-peers: loopback peers allowed through "
		    "peers.allow; for development only");
		list_add(im, &im->allow, "127.0.0.0/8", im->loopback.line, 0);
		list_add(im, &im->allow, "::1/128", im->loopback.line, 0);
	}
}

/*
 * Writes s as a libconfig string: quotes, backslashes and control
 * characters escaped.
 */
static void
put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* One element a line, each with its coturn line, when there are several. */
static void
put_list(FILE *f, const char *indent, const char *name, const struct ct_list *l)
{
	fprintf(f, "%s%s = [", indent, name);
	if (l->n == 1) {
		fputc(' ', f);
		put_str(f, l->v[0].text);
		fprintf(f, " ];  # line %u\n", l->v[0].line);
		return;
	}
	fputs(l->n == 0 ? " ];\n" : "\n", f);
	for (size_t i = 0; i < l->n; i++) {
		fprintf(f, "%s  ", indent);
		put_str(f, l->v[i].text);
		fprintf(f, "%s  # line %u\n", i + 1 < l->n ? "," : "",
		    l->v[i].line);
	}
	if (l->n > 0)
		fprintf(f, "%s];\n", indent);
}

static void
put_setting(FILE *f, const char *indent, const char *name,
    const struct ct_val *v, int quoted)
{
	fprintf(f, "%s%s = ", indent, name);
	if (quoted)
		put_str(f, v->text);
	else
		fputs(v->text, f);
	/* libconfig reads integers past 32 bits as 64-bit only with L */
	if (!quoted && strlen(v->text) > 9 && atoll(v->text) > 2147483647LL)
		fputc('L', f);
	fprintf(f, ";  # line %u\n", v->line);
}

static void
put_flag(FILE *f, const char *indent, const char *name, const struct ct_val *v)
{
	fprintf(f, "%s%s = %s;  # line %u\n", indent, name,
	    v->on ? "true" : "false", v->line);
}

static void
emit_listen(struct imp *im, FILE *f)
{
	static const char *const any[] = {"0.0.0.0", "::"};
	size_t n = im->listen_ips.n ? im->listen_ips.n : nitems(any);
	const char *port = im->port.text ? im->port.text : "3478";
	const char *tport = im->tls_port.text ? im->tls_port.text : "5349";
	int plain = !im->no_udp.on || !im->no_tcp.on;
	int tls = !im->no_tls.on && im->cert.line != 0 && im->pkey.line != 0;
	size_t k = 0;

	if (im->stun_only.on && !plain)
		return;
	fprintf(f, "\n# turn:HOST:%s", port);
	if (tls)
		fprintf(f, " and turns:HOST:%s", tport);
	fprintf(f, " on %s\nlisten = (\n",
	    im->listen_ips.n ? "coturn's listening-ip addresses"
	                     : "every address, as coturn did");
	for (size_t i = 0; i < n; i++) {
		const char *ip =
		    im->listen_ips.n ? im->listen_ips.v[i].text : any[i];

		if (plain) {
			fprintf(f,
			    "%s  { address = \"%s\"; port = %s; "
			    "transports = [ %s%s%s ]; }",
			    k++ ? ",\n" : "", ip, port,
			    im->no_udp.on ? "" : "\"udp\"",
			    !im->no_udp.on && !im->no_tcp.on ? ", " : "",
			    im->no_tcp.on ? "" : "\"tcp\"");
		}
		if (tls)
			fprintf(f,
			    "%s  { address = \"%s\"; port = %s; "
			    "transports = [ \"tls\" ]; }",
			    k++ ? ",\n" : "", ip, tport);
	}
	fputs("\n);\n", f);
	if (!tls && !im->no_tls.on && im->tls_port.line != 0)
		fprintf(f,
		    "# tls-listening-port=%s (line %u) needs a "
		    "certificate: set tls below and add\n"
		    "#  { address = \"0.0.0.0\"; port = %s; "
		    "transports = [ \"tls\" ]; },\n",
		    tport, im->tls_port.line, tport);
}

static void
emit_tls(struct imp *im, FILE *f)
{
	int tls = !im->no_tls.on && im->cert.line != 0;

	if (!tls && im->ciphers.line == 0 && im->tls13.line == 0) {
		if (!im->no_tls.on && im->tls_port.line != 0)
			fputs(
			    "\n# tls = {\n"
			    "#   certificate = \"/etc/turnd/fullchain.pem\";\n"
			    "#   private_key = \"/etc/turnd/privkey.pem\";\n"
			    "# };\n",
			    f);
		return;
	}
	fputs("\ntls = {\n", f);
	if (tls && im->cert.line)
		put_setting(f, "  ", "certificate", &im->cert, 1);
	if (tls && im->pkey.line)
		put_setting(f, "  ", "private_key", &im->pkey, 1);
	if (im->ciphers.line) {
		fputs("  # TLS 1.2 ciphers; turnd's default offers ECDHE with "
		      "AEAD only\n",
		    f);
		put_setting(f, "  ", "ciphers", &im->ciphers, 1);
	}
	if (im->tls13.line && im->tls13.on)
		fprintf(f, "  min_version = \"1.3\";  # line %u: no-tlsv1_2\n",
		    im->tls13.line);
	fputs("};\n", f);
}

static void
emit_relay(struct imp *im, FILE *f)
{
	if (im->relay_ips.n == 0 && im->externals.n == 0 &&
	    im->min_port.line == 0 && im->max_port.line == 0)
		return;
	fputs("\nrelay = {\n", f);
	if (im->relay_ips.n)
		put_list(f, "  ", "addresses", &im->relay_ips);
	if (im->externals.n)
		put_list(f, "  ", "external", &im->externals);
	if (im->min_port.line)
		put_setting(f, "  ", "port_min", &im->min_port, 0);
	if (im->max_port.line)
		put_setting(f, "  ", "port_max", &im->max_port, 0);
	fputs("};\n", f);
}

static void
emit_auth(struct imp *im, FILE *f)
{
	if (im->users.n == 0 && im->secrets.n == 0 &&
	    im->stale_nonce.line == 0) {
		if (!im->stun_only.on)
			fputs("\n# auth = { users = ( { name = \"NAME\"; "
			      "password = \"PASSWORD\"; } ); };\n",
			    f);
		return;
	}
	fputs("\nauth = {\n", f);
	if (im->users.n) {
		fputs("  users = (\n", f);
		for (size_t i = 0; i < im->users.n; i++) {
			fputs("    { name = ", f);
			put_str(f, im->users.v[i].text);
			fputs(
			    im->user_pw.v[i].on ? "; key = " : "; password = ",
			    f);
			put_str(f, im->user_pw.v[i].text);
			fprintf(f, "; }%s  # line %u\n",
			    i + 1 < im->users.n ? "," : "",
			    im->users.v[i].line);
		}
		fputs("  );\n", f);
	}
	if (im->secrets.n && im->use_secret.on)
		put_list(f, "  ", "secrets", &im->secrets);
	for (size_t i = 0; i < im->secrets.n && !im->use_secret.on; i++) {
		fputs("  # unused by coturn without use-auth-secret: ", f);
		put_str(f, im->secrets.v[i].text);
		fprintf(f, "  # line %u\n", im->secrets.v[i].line);
	}
	if (im->stale_nonce.line)
		put_setting(f, "  ", "nonce_lifetime", &im->stale_nonce, 0);
	fputs("};\n", f);
}

static void
emit_peers(struct imp *im, FILE *f)
{
	if (im->stun_only.on)
		return;
	fputs("\npeers = {\n"
	      "  # turnd refuses loopback, private (the whole VPC), "
	      "link-local\n"
	      "  # (169.254.169.254 too), CGNAT and multicast peers unless "
	      "allowed\n"
	      "  # here.  With LiveKit on this host, allow exactly its node\n"
	      "  # address, e.g. [ \"172.31.0.10/32\" ].\n",
	    f);
	put_list(f, "  ", "allow", &im->allow);
	if (im->deny.n)
		put_list(f, "  ", "deny", &im->deny);
	fputs("};\n", f);
}

static void
emit_rest(struct imp *im, FILE *f)
{
	if (im->lifetime_max.line) {
		fputs("\nallocation = {\n", f);
		put_setting(f, "  ", "lifetime_max", &im->lifetime_max, 0);
		fputs("};\n", f);
	}
	if (im->user_quota.line || im->total_quota.line || im->max_bps.line ||
	    im->users.n > 0) {
		fputs("\nquotas = {\n", f);
		if (im->user_quota.line)
			put_setting(f, "  ", "allocations_per_user",
			    &im->user_quota, 0);
		else
			fputs("  # coturn's default; turnd's (12) would count "
			      "every client of a\n  # shared static user "
			      "together\n  allocations_per_user = 0;\n",
			    f);
		if (im->total_quota.line)
			put_setting(
			    f, "  ", "allocations_total", &im->total_quota, 0);
		if (im->max_bps.line) {
			fputs("  # bytes/s; coturn counted each direction "
			      "separately\n",
			    f);
			put_setting(f, "  ", "bandwidth_per_allocation",
			    &im->max_bps, 0);
		}
		fputs("};\n", f);
	}
	if (im->prometheus.on) {
		fprintf(f,
		    "\n# coturn served /metrics on every address; turnd "
		    "keeps it on loopback\nmetrics = { listen = "
		    "\"127.0.0.1:%s\"; };  # line %u\n",
		    im->prom_port.text ? im->prom_port.text : "9641",
		    im->prometheus.line);
	}
	if (im->log_level.line || im->syslog.line) {
		fputs("\nlog = {\n", f);
		if (im->log_level.line)
			put_setting(f, "  ", "level", &im->log_level, 1);
		if (im->syslog.line)
			put_flag(f, "  ", "syslog", &im->syslog);
		fputs("};\n", f);
	}
	if (im->proc_user.line || im->proc_group.line || im->pidfile.line) {
		fputs("\nprocess = {\n", f);
		if (im->proc_user.line)
			put_setting(f, "  ", "user", &im->proc_user, 1);
		if (im->proc_group.line)
			put_setting(f, "  ", "group", &im->proc_group, 1);
		if (im->pidfile.line)
			put_setting(f, "  ", "pidfile", &im->pidfile, 1);
		fputs("};\n", f);
	}
}

static void
emit(struct imp *im, FILE *f)
{
	fprintf(f,
	    "# turnd configuration translated from coturn's %s.\n"
	    "# \"line N\" names the coturn line a setting comes from."
	    "  Check the\n# result with `turnd -n -c FILE`.\n",
	    im->file);
	if (im->same.n) {
		int col = fprintf(f, "#\n# turnd does so already:") - 2;

		for (size_t i = 0; i < im->same.n; i++) {
			char item[96];
			int n = snprintf(item, sizeof(item), " %s (line %u)%s",
			    im->same.v[i].text, im->same.v[i].line,
			    i + 1 < im->same.n ? "," : ".");

			if (col + n > 72)
				col = fprintf(f, "\n#");
			col += fprintf(f, "%s", item);
		}
		fputc('\n', f);
	}
	fputc('\n', f);
	if (im->realm.line)
		put_setting(f, "", "realm", &im->realm, 1);
	else
		fputs("# realm = \"example.org\";\n", f);
	if (im->no_software.line && im->no_software.on)
		fprintf(
		    f, "software = \"\";  # line %u\n", im->no_software.line);
	if (im->stun_only.line)
		put_flag(f, "", "stun_only", &im->stun_only);
	if (im->no_stun.line && im->no_stun.on)
		fputs("# Binding requests are refused; WebRTC clients then get "
		      "no server-\n# reflexive candidate from this server.\n",
		    f);
	if (im->no_stun.line)
		put_flag(f, "", "no_stun", &im->no_stun);
	emit_listen(im, f);
	emit_tls(im, f);
	emit_relay(im, f);
	emit_auth(im, f);
	emit_peers(im, f);
	emit_rest(im, f);
}

static void
imp_free(struct imp *im)
{
	struct ct_val *vals[] = {&im->realm, &im->port, &im->tls_port,
	    &im->min_port, &im->max_port, &im->cert, &im->pkey, &im->ciphers,
	    &im->user_quota, &im->total_quota, &im->max_bps, &im->stale_nonce,
	    &im->proc_user, &im->proc_group, &im->pidfile, &im->log_level,
	    &im->prom_port, &im->lifetime_max};
	struct ct_list *lists[] = {&im->listen_ips, &im->relay_ips,
	    &im->externals, &im->secrets, &im->users, &im->user_pw, &im->allow,
	    &im->deny, &im->same};

	for (size_t i = 0; i < nitems(vals); i++)
		free(vals[i]->text);
	for (size_t i = 0; i < nitems(lists); i++)
		list_free(lists[i]);
}

int
coturn_import(const char *path, FILE *out, FILE *warn)
{
	struct imp im;
	FILE *in;
	char *buf = NULL, *s;
	size_t cap = 0, n;
	unsigned int line = 0;
	int rc;

	memset(&im, 0, sizeof(im));
	im.file = strcmp(path, "-") == 0 ? "<stdin>" : path;
	in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (in == NULL) {
		if (warn != NULL)
			fprintf(warn, "%s: error: cannot open: %s\n", im.file,
			    strerror(errno));
		return 1;
	}
	while (getline(&buf, &cap, in) != -1) {
		line++;
		s = buf + strspn(buf, " \t");
		n = strlen(s);
		while (n > 0 && isspace((unsigned char)s[n - 1]))
			s[--n] = '\0';
		if (*s == '\0' || *s == '#')
			continue;
		take(&im, s, line);
	}
	if (ferror(in))
		say(&im, line, "error", "cannot read: %s", strerror(errno));
	free(buf);
	if (in != stdin)
		fclose(in);
	check(&im);
	emit(&im, out);
	if (im.oom)
		say(&im, 0, "error", "out of memory");
	if (fflush(out) != 0 || ferror(out))
		say(&im, 0, "error", "cannot write the output: %s",
		    strerror(errno));
	flush_msgs(&im, warn);
	rc = im.failed ? 1 : 0;
	imp_free(&im);
	return rc;
}
