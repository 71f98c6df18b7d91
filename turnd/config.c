/*
 * The configuration: libconfig text in, one validated struct turnd_conf
 * out.  conf_table lists every setting with its kind, bounds, default,
 * place in the struct and one line of help (tmux's options-table.c).
 * Loading walks the file against the table (unknown names, wrong types),
 * converts each setting or applies its default, then validate() checks
 * what spans settings.  Every problem is collected and printed sorted by
 * line as "file:line: message" so that an operator fixes a file in one
 * pass; line 0 means the file as a whole (a missing realm).  conf_dump and
 * conf_free walk the same table.  The struct owns every string and array.
 *
 * Limits enforced here: REALM and SOFTWARE under 128 characters and
 * USERNAME under 509 bytes (RFC 8489 sections 14.3, 14.9, 14.14);
 * allocation lifetimes (RFC 8656 section 3.2); channel numbers (RFC 8656
 * section 12).
 */
#include <sys/un.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config.h"
#include "log.h"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

#define CONF_FILE_MAX (1024 * 1024)
#define CONF_STR_MAX 4095
#define CONF_HIDDEN "<hidden>"
#define CONF_PORT 3478
#define CONF_TLS_PORT 5349
#define CONF_SUN_MAX (sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1)

enum conf_kind {
	CONF_K_GROUP,  /* { ... } holding the settings named under it */
	CONF_K_STR,    /* char *; min..max bytes (characters: CONF_F_CHARS) */
	CONF_K_INT,    /* unsigned integer of the field's size, min..max */
	CONF_K_BOOL,   /* int, 0 or 1 */
	CONF_K_ENUM,   /* a name from enums, stored as its int value */
	CONF_K_MODE,   /* octal string "0660", stored as uint32_t */
	CONF_K_ADDR,   /* "address[:port]" as normalised text; "" is off */
	CONF_K_STRS,   /* [ strings ]: char ** and a size_t count */
	CONF_K_IPS,    /* [ addresses ]: union taddr * and count */
	CONF_K_CIDRS,  /* [ prefixes ]: struct cidr * and count */
	CONF_K_EXTS,   /* [ "public[/private]" ]: conf_external * */
	CONF_K_LISTEN, /* ( { address; port; transports; } ): conf_listen * */
	CONF_K_USERS,  /* ( { name; password | key; } ): conf_user * */
};

#define CONF_F_ELEM 0x01   /* member of a list element, parsed there */
#define CONF_F_TEXT 0x02   /* UTF-8 without control characters */
#define CONF_F_CHARS 0x04  /* bounds count characters, not bytes */
#define CONF_F_NULL 0x08   /* "" is stored as NULL */
#define CONF_F_SECRET 0x10 /* never printed */

struct conf_enum {
	const char *name;
	int value;
};

struct conf_opt {
	const char *path;
	enum conf_kind kind;
	int flags;
	long long min;
	long long max;
	long long def;       /* _INT, _BOOL; _ADDR: the default port */
	const char *def_str; /* _STR, _ENUM, _MODE, _ADDR */
	size_t off;          /* the field; for lists the array */
	size_t size;
	size_t off_n; /* lists: the count */
	const struct conf_enum *enums;
	const char *help;
};

static const struct conf_enum conf_tls_versions[] = {
    {"1.2", 0x0303},
    {"1.3", 0x0304},
    {NULL, 0},
};

static const struct conf_enum conf_log_levels[] = {
    {"error", LOG_LVL_ERROR},
    {"warn", LOG_LVL_WARN},
    {"info", LOG_LVL_INFO},
    {"debug", LOG_LVL_DEBUG},
    {NULL, 0},
};

/* Forward secret AEAD suites only; RSA and ECDSA certificates both work. */
#define CONF_CIPHERS                                                           \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"           \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"           \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define CONF_CIPHERSUITES                                                      \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"                       \
	"TLS_CHACHA20_POLY1305_SHA256"

#define FIELD(m)                                                               \
	.off = offsetof(struct turnd_conf, m),                                 \
	.size = sizeof(((struct turnd_conf *)NULL)->m)
#define COUNT(m) .off_n = offsetof(struct turnd_conf, m)

/*
 * Every setting, groups before their members; conf_dump prints in this
 * order.  Members of list elements (CONF_F_ELEM) are here for the name
 * check, their bounds and help; their list's parser stores them.
 */
static const struct conf_opt conf_table[] = {
    {"realm", CONF_K_STR, CONF_F_TEXT | CONF_F_CHARS | CONF_F_NULL, 0, 127,
        FIELD(realm),
        .help = "realm of the long-term credentials; "
                "required unless stun_only"},
    {"software", CONF_K_STR, CONF_F_TEXT | CONF_F_CHARS, 0, 127,
        .def_str = "turnd", FIELD(software),
        .help = "SOFTWARE attribute in responses; \"\" omits it"},
    {"stun_only", CONF_K_BOOL, 0, 0, 1, FIELD(stun_only),
        .help = "answer Binding only: no relaying, no credentials"},
    {"no_stun", CONF_K_BOOL, 0, 0, 1, FIELD(no_stun),
        .help = "refuse Binding requests (TURN only, coturn's no-stun)"},
    {"listen", CONF_K_LISTEN, 0, 0, 0, FIELD(listen), COUNT(n_listen),
        .help = "client sockets; default 0.0.0.0 and :: port 3478 udp and "
                "tcp, and 5349 tls when tls.certificate is set"},
    {"listen.address", CONF_K_STR, CONF_F_ELEM, 1, CONF_STR_MAX,
        .help = "IPv4 or IPv6 address to bind, optionally with :port"},
    {"listen.port", CONF_K_INT, CONF_F_ELEM, 1, 65535,
        .help = "default 3478, or 5349 when transports is [ \"tls\" ]"},
    {"listen.transports", CONF_K_STRS, CONF_F_ELEM, 1, CONF_STR_MAX,
        .help = "\"udp\", \"tcp\", \"tls\"; default udp and tcp; tcp and "
                "tls need separate ports"},

    {"tls", CONF_K_GROUP, .help = "TLS for \"tls\" listeners (turns:)"},
    {"tls.certificate", CONF_K_STR, CONF_F_NULL, 0, CONF_STR_MAX,
        FIELD(tls.certificate),
        .help = "PEM certificate chain; "
                "checked at start-up, reread on SIGHUP and SIGUSR2"},
    {"tls.private_key", CONF_K_STR, CONF_F_NULL, 0, CONF_STR_MAX,
        FIELD(tls.private_key), .help = "PEM private key"},
    {"tls.ciphers", CONF_K_STR, 0, 1, CONF_STR_MAX, .def_str = CONF_CIPHERS,
        FIELD(tls.ciphers),
        .help = "TLS 1.2 ciphers (OpenSSL list): ECDHE with AEAD only"},
    {"tls.ciphersuites", CONF_K_STR, 0, 1, CONF_STR_MAX,
        .def_str = CONF_CIPHERSUITES, FIELD(tls.ciphersuites),
        .help = "TLS 1.3 cipher suites (OpenSSL list)"},
    {"tls.min_version", CONF_K_ENUM, .def_str = "1.2", FIELD(tls.min_version),
        .enums = conf_tls_versions,
        .help = "oldest TLS version accepted: \"1.2\" or \"1.3\""},

    {"relay", CONF_K_GROUP, .help = "relayed transport addresses"},
    {"relay.addresses", CONF_K_IPS, 0, 0, 0, FIELD(relay.addrs),
        COUNT(relay.n_addrs),
        .help = "local addresses relay sockets "
                "bind to, IPv4 and/or IPv6; [ ]: chosen at start-up"},
    {"relay.external", CONF_K_EXTS, 0, 0, 0, FIELD(relay.external),
        COUNT(relay.n_external),
        .help = "\"public\" or \"public/private\":"
                " address advertised for a relay address behind 1:1 NAT"},
    {"relay.port_min", CONF_K_INT, 0, 1, 65535, .def = 49152,
        FIELD(relay.port_min), .help = "lowest relay port"},
    {"relay.port_max", CONF_K_INT, 0, 1, 65535, .def = 65535,
        FIELD(relay.port_max),
        .help = "highest relay port; "
                "49152-65535 is the IANA dynamic range"},
    {"relay.legacy_channel_numbers", CONF_K_BOOL, 0, 0, 1,
        FIELD(relay.legacy_channel_numbers),
        .help = "also accept "
                "channels 0x5000-0x7FFF (RFC 5766), not just 0x4000-0x4FFF"},
    {"relay.sndbuf", CONF_K_INT, 0, 0, 1 << 30, FIELD(relay.sndbuf),
        .help = "relay socket send buffer, bytes; 0: kernel default"},
    {"relay.rcvbuf", CONF_K_INT, 0, 0, 1 << 30, FIELD(relay.rcvbuf),
        .help = "relay socket receive buffer, bytes; 0: kernel default"},

    {"auth", CONF_K_GROUP,
        .help = "long-term credentials "
                "(RFC 8489 section 9.2)"},
    {"auth.users", CONF_K_USERS, 0, 0, 0, FIELD(auth.users),
        COUNT(auth.n_users),
        .help = "static users, "
                "{ name; password; } or { name; key; }"},
    {"auth.users.name", CONF_K_STR, CONF_F_ELEM | CONF_F_TEXT, 1, 508,
        .help = "user name, under 509 bytes"},
    {"auth.users.password", CONF_K_STR, CONF_F_ELEM | CONF_F_SECRET, 1, 1024,
        .help = "password"},
    {"auth.users.key", CONF_K_STR, CONF_F_ELEM | CONF_F_SECRET, 32, 32,
        .help = "instead of the password: hex MD5(name:realm:password); "
                "MD5 logins only"},
    {"auth.secrets", CONF_K_STRS, CONF_F_SECRET, 1, 1024, FIELD(auth.secrets),
        COUNT(auth.n_secrets),
        .help =
            "shared "
            "secrets of the TURN REST API, newest first; any one is accepted"},
    {"auth.nonce_lifetime", CONF_K_INT, 0, 30, 86400, .def = 600,
        FIELD(auth.nonce_lifetime_s),
        .help = "seconds a nonce is valid "
                "before 438 Stale Nonce"},

    {"allocation", CONF_K_GROUP, .help = "allocations"},
    {"allocation.lifetime_default", CONF_K_INT, 0, 60, 86400, .def = 600,
        FIELD(allocation.lifetime_default_s),
        .help = "seconds granted to a shorter request (RFC 8656: 600); "
                "60 at least so that Refresh stays rare"},
    {"allocation.lifetime_max", CONF_K_INT, 0, 60, 86400, .def = 3600,
        FIELD(allocation.lifetime_max_s),
        .help = "longest lifetime "
                "granted, seconds"},
    {"allocation.permissions_max", CONF_K_INT, 0, 1, 4096, .def = 64,
        FIELD(allocation.permissions_max),
        .help = "permissions per "
                "allocation (one per peer IP); ICE needs a handful"},
    {"allocation.channels_max", CONF_K_INT, 0, 1, 4096, .def = 64,
        FIELD(allocation.channels_max),
        .help = "channels per allocation "
                "(one per peer address); RFC 8656 has 4096 numbers"},

    {"peers", CONF_K_GROUP,
        .help = "peer filter: loopback, private, "
                "link-local, CGNAT, multicast and like ranges are denied"},
    {"peers.allow", CONF_K_CIDRS, 0, 0, 0, FIELD(peers.allow),
        COUNT(peers.n_allow),
        .help = "CIDRs exempt from the default "
                "deny, such as the LiveKit node"},
    {"peers.deny", CONF_K_CIDRS, 0, 0, 0, FIELD(peers.deny),
        COUNT(peers.n_deny),
        .help = "CIDRs denied on top of the "
                "defaults"},
    {"peers.relay_to_relay", CONF_K_BOOL, 0, 0, 1,
        FIELD(peers.relay_to_relay),
        .help = "allow the relayed addresses of this server's own "
                "allocations as peers (two clients both relayed here)"},

    {"quotas", CONF_K_GROUP, .help = "resource limits; 0 = unlimited"},
    {"quotas.allocations_per_user", CONF_K_INT, 0, 0, 1000000, .def = 12,
        FIELD(quotas.allocations_per_user),
        .help = "allocations one user may hold at once"},
    {"quotas.allocations_total", CONF_K_INT, 0, 0, 10000000, .def = 10000,
        FIELD(quotas.allocations_total), .help = "allocations in all"},
    {"quotas.bandwidth_per_allocation", CONF_K_INT, 0, 0, 1000000000000LL,
        FIELD(quotas.bandwidth_per_allocation),
        .help = "bytes per second relayed for one allocation"},
    {"quotas.unauth_per_source", CONF_K_INT, 0, 0, 1000000, .def = 50,
        FIELD(quotas.unauth_per_source),
        .help = "401 answers per second "
                "to one source IP; more requests are dropped"},

    {"tcp", CONF_K_GROUP, .help = "TCP and TLS client connections"},
    {"tcp.idle_timeout_ms", CONF_K_INT, 0, 1000, 3600000, .def = 10000,
        FIELD(tcp.idle_timeout_ms),
        .help = "close a connection that "
                "sent nothing valid for this long"},
    {"tcp.max_connections", CONF_K_INT, 0, 1, 1000000, .def = 10000,
        FIELD(tcp.max_connections), .help = "connections in all"},
    {"tcp.max_per_source", CONF_K_INT, 0, 1, 65535, .def = 64,
        FIELD(tcp.max_per_source), .help = "connections per client IP"},
    {"tcp.buffer_max", CONF_K_INT, 0, 4096, 64 << 20, .def = 256 << 10,
        FIELD(tcp.buffer_max),
        .help = "bytes queued towards one "
                "client; beyond it data is dropped"},

    {"udp", CONF_K_GROUP, .help = "UDP listener sockets"},
    {"udp.sndbuf", CONF_K_INT, 0, 0, 1 << 30, FIELD(udp.sndbuf),
        .help = "send buffer, bytes; 0: kernel default"},
    {"udp.rcvbuf", CONF_K_INT, 0, 0, 1 << 30, FIELD(udp.rcvbuf),
        .help = "receive buffer, bytes; 0: kernel default"},

    {"control", CONF_K_GROUP, .help = "turnctl's Unix socket"},
    {"control.socket", CONF_K_STR, 0, 0, CONF_SUN_MAX,
        .def_str = "/run/turnd/turnd.sock", FIELD(control.socket),
        .help = "path; \"\" disables"},
    {"control.group", CONF_K_STR, 0, 0, 255, .def_str = "",
        FIELD(control.group),
        .help = "group of the socket; \"\" keeps "
                "the daemon's"},
    {"control.mode", CONF_K_MODE, .def_str = "0660", FIELD(control.mode),
        .help = "socket permissions, an octal "
                "string"},
    {"control.readonly", CONF_K_STR, 0, 0, CONF_SUN_MAX, .def_str = "",
        FIELD(control.readonly),
        .help = "a second socket (mode 0666) that takes only "
                "show requests; \"\" disables"},

    {"metrics", CONF_K_GROUP, .help = "Prometheus text over HTTP"},
    {"metrics.listen", CONF_K_ADDR, .def = 9641, .def_str = "127.0.0.1:9641",
        FIELD(metrics.listen),
        .help = "address:port; \"\" disables; keep it off public "
                "addresses"},

    {"log", CONF_K_GROUP, .help = "logging"},
    {"log.level", CONF_K_ENUM, .def_str = "info", FIELD(log.level),
        .enums = conf_log_levels,
        .help = "\"error\", \"warn\", \"info\" "
                "or \"debug\""},
    {"log.syslog", CONF_K_BOOL, 0, 0, 1, FIELD(log.syslog),
        .help = "to syslog instead of stderr"},

    {"process", CONF_K_GROUP, .help = "the process"},
    {"process.user", CONF_K_STR, 0, 0, 255, .def_str = "", FIELD(process.user),
        .help = "user to become after binding; "
                "\"\" stays"},
    {"process.group", CONF_K_STR, 0, 0, 255, .def_str = "",
        FIELD(process.group),
        .help = "group to become; \"\": the "
                "user's"},
    {"process.pidfile", CONF_K_STR, 0, 0, CONF_STR_MAX, .def_str = "",
        FIELD(process.pidfile), .help = "\"\" writes none"},
    {"process.workers", CONF_K_INT, 0, 0, 256, FIELD(process.workers),
        .help = "worker threads; 0: usable CPUs"},
    {"process.drain", CONF_K_INT, 0, 0, 3600, .def = 30, FIELD(process.drain_s),
        .help = "seconds allocations may drain "
                "on SIGTERM"},
};

#define CONF_NOPTS nitems(conf_table)

struct conf_err {
	unsigned int line;
	size_t seq;
	char *text;
};

/* What conf_load knows while it works; gone when it returns. */
struct parse {
	struct turnd_conf *c;
	const char *file;
	const config_setting_t *set[CONF_NOPTS];   /* NULL: default */
	const config_setting_t **eset[CONF_NOPTS]; /* list elements */
	int bad[CONF_NOPTS];   /* conversion failed: skip cross checks */
	unsigned int *wrapped; /* lines with oversized integers */
	size_t n_wrapped;
	struct conf_err *errs;
	size_t n_errs;
	int oom;
};

static void perr_at(struct parse *, const char *, unsigned int, const char *,
    ...) __attribute__((format(printf, 4, 5)));
static void perr(struct parse *, const config_setting_t *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static int opt_find(const char *);
static const char *opt_name(const struct conf_opt *);
static int opt_in_group(const struct conf_opt *, const char *);
static void *xcalloc(struct parse *, size_t, size_t);
static char *xstrdup(struct parse *, const char *);
static int utf8_chars(const char *, size_t *, int);
static size_t edit_distance(const char *, const char *);
static char *read_file(struct parse *, const char *);
static void scan_ints(struct parse *, const char *);
static const char *scan_number(struct parse *, const char *, unsigned int);
static int wrapped(const struct parse *, const config_setting_t *);
static const char *type_name(const config_setting_t *);
static void walk(
    struct parse *, const config_setting_t *, const char *, const char *);
static int shape_ok(struct parse *, const struct conf_opt *,
    const config_setting_t *, const char *);
static void unknown(struct parse *, const config_setting_t *, const char *,
    const char *, const char *);
static const config_setting_t *member(
    const config_setting_t *, const char *, int, int *);
static int str_ok(struct parse *, const struct conf_opt *,
    const config_setting_t *, const char *, const char *);
static int int_ok(struct parse *, const struct conf_opt *,
    const config_setting_t *, const char *, long long);
static void int_store(void *, size_t, long long);
static unsigned long long int_load(const void *, size_t);
static int ip_parse(union taddr *, const char *);
static int addr_has_port(const char *);
static void conv(struct parse *, size_t);
static void conv_list(struct parse *, size_t);
static int conv_elem(
    struct parse *, const struct conf_opt *, const config_setting_t *, void *);
static void conv_listen(struct parse *, size_t);
static void listen_elem(struct parse *, const config_setting_t *, const char *,
    struct conf_listen *);
static void listen_defaults(struct parse *);
static void conv_users(struct parse *, size_t);
static void user_elem(
    struct parse *, const config_setting_t *, const char *, struct conf_user *);
static const config_setting_t *elem_set(
    const struct parse *, const char *, size_t);
static void validate(struct parse *);
static void validate_listen(struct parse *);
static void validate_relay(struct parse *);
static void validate_tls(struct parse *);
static void report(struct parse *, FILE *);
static void dump_str(FILE *, const char *);
static void dump_value(
    FILE *, const struct turnd_conf *, const struct conf_opt *, const char *);

/*
 * Records one problem.  Values quoted in messages come from the file;
 * control characters are replaced so that each problem stays one line.
 */
static void
perr_at(
    struct parse *p, const char *file, unsigned int line, const char *fmt, ...)
{
	struct conf_err *e;
	char msg[1024], *text;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *s = msg; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
	}
	if (asprintf(&text, "%s:%u: %s", file, line, msg) == -1) {
		p->oom = 1;
		return;
	}
	e = reallocarray(p->errs, p->n_errs + 1, sizeof(*e));
	if (e == NULL) {
		free(text);
		p->oom = 1;
		return;
	}
	p->errs = e;
	e[p->n_errs].line = line;
	e[p->n_errs].seq = p->n_errs;
	e[p->n_errs].text = text;
	p->n_errs++;
}

/* Records a problem at setting s, or at line 0 when s is NULL. */
static void
perr(struct parse *p, const config_setting_t *s, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s == NULL)
		perr_at(p, p->file, 0, "%s", msg);
	else
		perr_at(
		    p, s->file != NULL ? s->file : p->file, s->line, "%s", msg);
}

static int
opt_find(const char *path)
{
	for (size_t i = 0; i < CONF_NOPTS; i++) {
		if (strcmp(conf_table[i].path, path) == 0)
			return (int)i;
	}
	return -1;
}

/* The last component of the option's path. */
static const char *
opt_name(const struct conf_opt *o)
{
	const char *dot = strrchr(o->path, '.');

	return dot != NULL ? dot + 1 : o->path;
}

/* True when o sits directly in group ("" for the top level). */
static int
opt_in_group(const struct conf_opt *o, const char *group)
{
	size_t n = strlen(group);
	const char *rest;

	if (n == 0)
		return strchr(o->path, '.') == NULL;
	if (strncmp(o->path, group, n) != 0 || o->path[n] != '.')
		return 0;
	rest = o->path + n + 1;
	return strchr(rest, '.') == NULL;
}

static void *
xcalloc(struct parse *p, size_t n, size_t size)
{
	void *v = calloc(n, size);

	if (v == NULL)
		p->oom = 1;
	return v;
}

static char *
xstrdup(struct parse *p, const char *s)
{
	char *v = strdup(s);

	if (v == NULL)
		p->oom = 1;
	return v;
}

/*
 * Counts the characters of UTF-8 text into *n.  Returns 0, or -1 for
 * invalid UTF-8 (overlong forms, surrogates and code points past U+10FFFF
 * included) or, when no_ctrl, a control character.
 */
static int
utf8_chars(const char *s, size_t *n, int no_ctrl)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t count = 0;

	while (*u != '\0') {
		unsigned int c = *u, need, min;

		if (c < 0x80) {
			if (no_ctrl && (c < 0x20 || c == 0x7f))
				return -1;
			u++;
			count++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			min = 0x80;
			c &= 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			min = 0x800;
			c &= 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			min = 0x10000;
			c &= 0x07;
		} else
			return -1;
		u++;
		for (; need > 0; need--, u++) {
			if ((*u & 0xc0) != 0x80)
				return -1;
			c = (c << 6) | (*u & 0x3fu);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return -1;
		if (no_ctrl && c >= 0x80 && c <= 0x9f)
			return -1;
		count++;
	}
	*n = count;
	return 0;
}

/* Optimal string alignment distance: typos and swapped letters cost 1. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[3][64], r;

	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t *cur = d[i % 3], *prev = d[(i - 1) % 3];
		size_t *prev2 = d[(i + 1) % 3];

		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];

			r = prev[j] + 1;
			if (cur[j - 1] + 1 < r)
				r = cur[j - 1] + 1;
			if (prev[j - 1] + cost < r)
				r = prev[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < r)
				r = prev2[j - 2] + 1;
			cur[j] = r;
		}
	}
	return d[la % 3][lb];
}

/*
 * Reads the file into a new string.  Returns NULL after recording why;
 * a byte order mark is skipped, a NUL byte is refused (libconfig would
 * stop reading there).
 */
static char *
read_file(struct parse *p, const char *path)
{
	FILE *f;
	char *buf, *nbuf, *nul;
	size_t len = 0, cap = 4096, n;
	unsigned int line = 1;

	if ((f = fopen(path, "re")) == NULL) {
		perr_at(p, path, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if ((buf = malloc(cap)) == NULL) {
		p->oom = 1;
		fclose(f);
		return NULL;
	}
	for (;;) {
		if (cap - len < 2) {
			if (cap >= CONF_FILE_MAX) {
				perr_at(p, path, 0, "larger than %d bytes",
				    CONF_FILE_MAX);
				goto fail;
			}
			if ((nbuf = realloc(buf, cap * 2)) == NULL) {
				p->oom = 1;
				goto fail;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		perr_at(p, path, 0, "cannot read: %s", strerror(errno));
		goto fail;
	}
	buf[len] = '\0';
	if ((nul = memchr(buf, '\0', len)) != NULL) {
		for (char *s = buf; s < nul; s++)
			line += *s == '\n';
		perr_at(p, path, line, "contains a NUL byte");
		goto fail;
	}
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		memmove(buf, buf + 3, len - 2);
	fclose(f);
	return buf;
fail:
	fclose(f);
	explicit_bzero(buf, cap);
	free(buf);
	return NULL;
}

/*
 * libconfig 1.5 converts integer literals with atoi/strtoul and wraps
 * silently: port_min = 4294967297 would read as 1.  Before the tree is
 * used, this scan finds integer literals (outside strings, comments and
 * names) too large for their type, and reports them; range errors on
 * those lines are then left out.
 */
static void
scan_ints(struct parse *p, const char *s)
{
	unsigned int line = 1;

	while (*s != '\0') {
		unsigned char ch = (unsigned char)*s;

		if (ch == '\n') {
			line++;
			s++;
		} else if (ch == '#' || (ch == '/' && s[1] == '/')) {
			while (*s != '\0' && *s != '\n')
				s++;
		} else if (ch == '/' && s[1] == '*') {
			for (s += 2;
			     *s != '\0' && !(s[0] == '*' && s[1] == '/'); s++)
				line += *s == '\n';
			if (*s != '\0')
				s += 2;
		} else if (ch == '"') {
			for (s++; *s != '\0' && *s != '"'; s++) {
				if (*s == '\\' && s[1] != '\0')
					s++;
				line += *s == '\n';
			}
			if (*s != '\0')
				s++;
		} else if (isalpha(ch) || ch == '*' || ch == '_') {
			while (isalnum((unsigned char)*s) || *s == '-' ||
			    *s == '_' || *s == '*')
				s++;
		} else if (isdigit(ch) ||
		    ((ch == '-' || ch == '+') && isdigit((unsigned char)s[1])))
			s = scan_number(p, s, line);
		else if (ch == '.') {
			while (isdigit((unsigned char)*s) || *s == '.' ||
			    *s == 'e' || *s == 'E')
				s++;
		} else
			s++;
	}
}

/* Scans one number at s; returns the first byte after it. */
static const char *
scan_number(struct parse *p, const char *s, unsigned int line)
{
	const char *start = s;
	unsigned long long v = 0, limit;
	int neg = 0, hex = 0, big = 0, wide = 0;
	unsigned int *w;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
	    isxdigit((unsigned char)s[2])) {
		hex = 1;
		s += 2;
	}
	for (; hex ? isxdigit((unsigned char)*s) : isdigit((unsigned char)*s);
	     s++) {
		unsigned int dig = isdigit((unsigned char)*s)
		    ? (unsigned int)(*s - '0')
		    : (unsigned int)(tolower((unsigned char)*s) - 'a' + 10);

		if (v > (ULLONG_MAX - dig) / (hex ? 16 : 10))
			big = 1;
		else
			v = v * (hex ? 16 : 10) + dig;
	}
	if (!hex && (*s == '.' || *s == 'e' || *s == 'E')) {
		/* a float; a wrong type, not an overflow */
		while (isdigit((unsigned char)*s) || *s == '.' || *s == 'e' ||
		    *s == 'E' || *s == '-' || *s == '+')
			s++;
		return s;
	}
	if (*s == 'L') {
		wide = 1;
		s += s[1] == 'L' ? 2 : 1;
	}
	limit = wide ? (unsigned long long)INT64_MAX
	             : (unsigned long long)INT32_MAX;
	if (neg && !hex)
		limit++;
	if (big || v > limit) {
		perr_at(p, p->file, line,
		    "integer %.*s does not fit in %d bits"
		    "%s",
		    (int)(s - start), start, wide ? 64 : 32,
		    wide ? ""
		         : " (libconfig would wrap it; 64-bit values need an L "
		           "suffix)");
		w = reallocarray(p->wrapped, p->n_wrapped + 1, sizeof(*w));
		if (w == NULL)
			p->oom = 1;
		else {
			p->wrapped = w;
			w[p->n_wrapped++] = line;
		}
	}
	return s;
}

/* True when s sits on a line whose integer scan_ints reported. */
static int
wrapped(const struct parse *p, const config_setting_t *s)
{
	if (s->file != NULL)
		return 0;
	for (size_t i = 0; i < p->n_wrapped; i++) {
		if (p->wrapped[i] == s->line)
			return 1;
	}
	return 0;
}

static const char *
type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	}
	return "nothing";
}

/*
 * Checks every setting of group g against the table: known name, right
 * type, and (for groups and lists of groups) the same for what is
 * inside.  prefix is the table path of g, shown its name in messages
 * ("listen[1]").  Remembers each top-level setting in p->set.
 */
static void
walk(struct parse *p, const config_setting_t *g, const char *prefix,
    const char *shown)
{
	int n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s =
		    config_setting_get_elem(g, (unsigned int)i);
		const char *name = config_setting_name(s);
		char path[128], disp[160], edisp[176];
		const struct conf_opt *o;
		int idx;

		if (name == NULL)
			continue;
		snprintf(path, sizeof(path), "%s%s%s", prefix,
		    *prefix != '\0' ? "." : "", name);
		snprintf(disp, sizeof(disp), "%s%s%s", shown,
		    *shown != '\0' ? "." : "", name);
		if ((idx = opt_find(path)) == -1) {
			unknown(p, s, prefix, disp, name);
			continue;
		}
		o = &conf_table[idx];
		if (!shape_ok(p, o, s, disp))
			continue;
		if (!(o->flags & CONF_F_ELEM))
			p->set[idx] = s;
		if (o->kind == CONF_K_GROUP)
			walk(p, s, path, disp);
		else if (o->kind == CONF_K_LISTEN || o->kind == CONF_K_USERS) {
			for (int j = 0; j < config_setting_length(s); j++) {
				snprintf(
				    edisp, sizeof(edisp), "%s[%d]", disp, j);
				walk(p,
				    config_setting_get_elem(s, (unsigned int)j),
				    path, edisp);
			}
		}
	}
}

/* Checks the type of s (and of its elements) against o's kind. */
static int
shape_ok(struct parse *p, const struct conf_opt *o, const config_setting_t *s,
    const char *disp)
{
	int t = config_setting_type(s), et = CONFIG_TYPE_NONE, ok;
	const char *want, *ewant = NULL;

	switch (o->kind) {
	case CONF_K_GROUP:
		ok = t == CONFIG_TYPE_GROUP;
		want = "a group { ... }";
		break;
	case CONF_K_STR:
	case CONF_K_ENUM:
	case CONF_K_ADDR:
		ok = t == CONFIG_TYPE_STRING;
		want = "a string";
		break;
	case CONF_K_MODE:
		ok = t == CONFIG_TYPE_STRING;
		want = "an octal string such as \"0660\"";
		break;
	case CONF_K_INT:
		ok = t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
		want = "an integer";
		break;
	case CONF_K_BOOL:
		ok = t == CONFIG_TYPE_BOOL;
		want = "true or false";
		break;
	case CONF_K_LISTEN:
	case CONF_K_USERS:
		ok = t == CONFIG_TYPE_LIST;
		want = "a list of groups ( { ... }, ... )";
		et = CONFIG_TYPE_GROUP;
		ewant = "a group { ... }";
		break;
	default:
		ok = t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST;
		want = "a list of strings [ \"...\", ... ]";
		et = CONFIG_TYPE_STRING;
		ewant = "a string";
		break;
	}
	if (!ok) {
		perr(p, s, "%s: expected %s, not %s", disp, want, type_name(s));
		return 0;
	}
	if (ewant == NULL)
		return 1;
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e =
		    config_setting_get_elem(s, (unsigned int)i);

		if (config_setting_type(e) != et) {
			perr(p, e, "%s[%d]: expected %s, not %s", disp, i,
			    ewant, type_name(e));
			ok = 0;
		}
	}
	return 1;
}

/*
 * Reports an unknown setting.  The suggestion is the same name in another
 * group ("port_min" -> "relay.port_min"), else the closest name in this
 * group when it is close enough to be a typo, else the names there are.
 */
static void
unknown(struct parse *p, const config_setting_t *s, const char *prefix,
    const char *disp, const char *name)
{
	const struct conf_opt *best = NULL;
	size_t best_d = SIZE_MAX, len, off = 0;
	char known[768];

	for (size_t i = 0; i < CONF_NOPTS; i++) {
		const struct conf_opt *o = &conf_table[i];

		if (!(o->flags & CONF_F_ELEM) && !opt_in_group(o, prefix) &&
		    strcmp(opt_name(o), name) == 0) {
			perr(p, s, "unknown setting '%s' (did you mean '%s'?)",
			    disp, o->path);
			return;
		}
	}
	for (size_t i = 0; i < CONF_NOPTS; i++) {
		const struct conf_opt *o = &conf_table[i];
		size_t d;

		if (!opt_in_group(o, prefix))
			continue;
		d = edit_distance(name, opt_name(o));
		if (d < best_d) {
			best_d = d;
			best = o;
		}
		len = strlen(opt_name(o));
		if (off + len + 3 < sizeof(known))
			off +=
			    (size_t)snprintf(known + off, sizeof(known) - off,
			        "%s%s", off > 0 ? ", " : "", opt_name(o));
	}
	if (best != NULL) {
		len = strlen(name);
		if (strlen(opt_name(best)) > len)
			len = strlen(opt_name(best));
		if (best_d <= (len / 3 > 1 ? len / 3 : 1)) {
			perr(p, s, "unknown setting '%s' (did you mean '%s'?)",
			    disp, opt_name(best));
			return;
		}
	}
	perr(p, s, "unknown setting '%s' (known%s%s: %s)", disp,
	    *prefix != '\0' ? " in " : "", prefix, known);
}

/*
 * The member name of group e when it has type (integers of both widths,
 * arrays and lists alike); NULL when absent, or with *bad set when of
 * another type (walk has said so already).
 */
static const config_setting_t *
member(const config_setting_t *e, const char *name, int type, int *bad)
{
	const config_setting_t *m = config_setting_get_member(e, name);
	int t;

	if (m == NULL)
		return NULL;
	t = config_setting_type(m);
	if (t == type || (type == CONFIG_TYPE_INT && t == CONFIG_TYPE_INT64) ||
	    (type == CONFIG_TYPE_ARRAY && t == CONFIG_TYPE_LIST))
		return m;
	*bad = 1;
	return NULL;
}

/* Checks string v of setting s (NULL for a default) against o's bounds. */
static int
str_ok(struct parse *p, const struct conf_opt *o, const config_setting_t *s,
    const char *disp, const char *v)
{
	size_t n = strlen(v);
	const char *unit = "bytes";

	if (o->flags & (CONF_F_TEXT | CONF_F_CHARS)) {
		if (utf8_chars(v, &n, 0) == -1) {
			perr(p, s, "%s: not valid UTF-8", disp);
			return -1;
		}
		if ((o->flags & CONF_F_TEXT) && utf8_chars(v, &n, 1) == -1) {
			perr(p, s, "%s: contains a control character", disp);
			return -1;
		}
		if (o->flags & CONF_F_CHARS)
			unit = "characters";
		else
			n = strlen(v);
	}
	if ((long long)n < o->min) {
		if (o->min == 1)
			perr(p, s, "%s: must not be empty", disp);
		else
			perr(p, s, "%s: %zu %s is too short (at least %lld)",
			    disp, n, unit, o->min);
		return -1;
	}
	if ((long long)n > o->max) {
		perr(p, s, "%s: %zu %s is too long (at most %lld)", disp, n,
		    unit, o->max);
		return -1;
	}
	return 0;
}

static int
int_ok(struct parse *p, const struct conf_opt *o, const config_setting_t *s,
    const char *disp, long long v)
{
	if (v >= o->min && v <= o->max)
		return 0;
	if (s == NULL || !wrapped(p, s))
		perr(p, s, "%s: %lld is out of range %lld..%lld", disp, v,
		    o->min, o->max);
	return -1;
}

static void
int_store(void *dst, size_t size, long long v)
{
	uint64_t u64 = (uint64_t)v;
	uint32_t u32 = (uint32_t)v;
	uint16_t u16 = (uint16_t)v;

	/* signed int fields hold only values in 0..INT_MAX */
	if (size == 8)
		memcpy(dst, &u64, 8);
	else if (size == 4)
		memcpy(dst, &u32, 4);
	else if (size == 2)
		memcpy(dst, &u16, 2);
}

static unsigned long long
int_load(const void *src, size_t size)
{
	uint64_t u64;
	uint32_t u32;
	uint16_t u16;

	if (size == 8) {
		memcpy(&u64, src, 8);
		return u64;
	}
	if (size == 4) {
		memcpy(&u32, src, 4);
		return u32;
	}
	memcpy(&u16, src, 2);
	return u16;
}

/* Parses a bare IPv4 or IPv6 address, port 0. */
static int
ip_parse(union taddr *a, const char *s)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &a->in.sin_addr) == 1) {
		a->in.sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

/* True when address text carries a port: "[::1]:3478", "1.2.3.4:3478". */
static int
addr_has_port(const char *s)
{
	const char *colon;

	if (s[0] == '[')
		return strstr(s, "]:") != NULL;
	colon = strchr(s, ':');
	return colon != NULL && strchr(colon + 1, ':') == NULL;
}

/* Converts option i from its setting, or from its default. */
static void
conv(struct parse *p, size_t i)
{
	const struct conf_opt *o = &conf_table[i];
	const config_setting_t *s = p->set[i];
	char *field = (char *)p->c + o->off, buf[TADDR_STRLEN], *end;
	const struct conf_enum *e;
	const char *v = NULL;
	union taddr a;
	long long n;

	if (o->flags & CONF_F_ELEM)
		return;
	if (s != NULL && config_setting_type(s) == CONFIG_TYPE_STRING)
		v = config_setting_get_string(s);
	else if (s == NULL)
		v = o->def_str;
	switch (o->kind) {
	case CONF_K_GROUP:
		break;
	case CONF_K_STR:
		if (v == NULL || str_ok(p, o, s, o->path, v) == -1)
			break;
		if (*v != '\0' || !(o->flags & CONF_F_NULL))
			*(char **)field = xstrdup(p, v);
		break;
	case CONF_K_INT:
		n = s != NULL ? config_setting_get_int64(s) : o->def;
		if (int_ok(p, o, s, o->path, n) == 0)
			int_store(field, o->size, n);
		break;
	case CONF_K_BOOL:
		*(int *)field =
		    s != NULL ? config_setting_get_bool(s) : (int)o->def;
		break;
	case CONF_K_ENUM:
		for (e = o->enums; e->name != NULL; e++) {
			if (strcmp(e->name, v) == 0)
				break;
		}
		if (e->name != NULL) {
			*(int *)field = e->value;
			break;
		}
		buf[0] = '\0';
		for (e = o->enums; e->name != NULL; e++)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			    "%s%s", e != o->enums ? ", " : "", e->name);
		perr(p, s, "%s: unknown value '%s' (one of %s)", o->path, v,
		    buf);
		break;
	case CONF_K_MODE:
		n = strtol(v, &end, 8);
		if (*v < '0' || *v > '7' || *end != '\0' || strlen(v) > 4 ||
		    n > 0777) {
			perr(p, s,
			    "%s: '%s' is not an octal mode 0..0777 such "
			    "as \"0660\"",
			    o->path, v);
			break;
		}
		int_store(field, o->size, n);
		break;
	case CONF_K_ADDR:
		if (*v == '\0') {
			*(char **)field = xstrdup(p, v);
			break;
		}
		if (taddr_parse(&a, v, (uint16_t)o->def) == -1 ||
		    taddr_port(&a) == 0) {
			perr(p, s,
			    "%s: '%s' is not an address such as "
			    "127.0.0.1:%lld or [::1]:%lld",
			    o->path, v, o->def, o->def);
			break;
		}
		*(char **)field = xstrdup(p, taddr_str(&a, buf, sizeof(buf)));
		break;
	case CONF_K_STRS:
	case CONF_K_IPS:
	case CONF_K_CIDRS:
	case CONF_K_EXTS:
		conv_list(p, i);
		break;
	case CONF_K_LISTEN:
		conv_listen(p, i);
		break;
	case CONF_K_USERS:
		conv_users(p, i);
		break;
	}
}

/* Converts a list of strings; elements in error are left out. */
static void
conv_list(struct parse *p, size_t i)
{
	const struct conf_opt *o = &conf_table[i];
	const config_setting_t *s = p->set[i], **eset;
	size_t n, k = 0, esize;
	char *arr;

	if (s == NULL || (n = (size_t)config_setting_length(s)) == 0)
		return;
	switch (o->kind) {
	case CONF_K_STRS:
		esize = sizeof(char *);
		break;
	case CONF_K_IPS:
		esize = sizeof(union taddr);
		break;
	case CONF_K_CIDRS:
		esize = sizeof(struct cidr);
		break;
	default:
		esize = sizeof(struct conf_external);
		break;
	}
	arr = xcalloc(p, n, esize);
	eset = xcalloc(p, n, sizeof(*eset));
	if (arr == NULL || eset == NULL) {
		free(arr);
		free(eset);
		return;
	}
	for (size_t j = 0; j < n; j++) {
		const config_setting_t *e =
		    config_setting_get_elem(s, (unsigned int)j);

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			continue;
		if (conv_elem(p, o, e, arr + k * esize) == 0)
			eset[k++] = e;
	}
	*(void **)((char *)p->c + o->off) = arr;
	*(size_t *)((char *)p->c + o->off_n) = k;
	p->eset[i] = eset;
}

/* Converts one string of a list into dst. */
static int
conv_elem(struct parse *p, const struct conf_opt *o, const config_setting_t *e,
    void *dst)
{
	const char *v = config_setting_get_string(e), *slash;
	struct conf_external *x = dst;
	struct cidr *c = dst, host;
	char buf[INET6_ADDRSTRLEN + 1];
	size_t n;

	switch (o->kind) {
	case CONF_K_STRS:
		if (str_ok(p, o, e, o->path, v) == -1)
			return -1;
		*(char **)dst = xstrdup(p, v);
		return *(char **)dst != NULL ? 0 : -1;
	case CONF_K_IPS:
		if (ip_parse(dst, v) == -1) {
			perr(p, e, "%s: '%s' is not an IPv4 or IPv6 address",
			    o->path, v);
			return -1;
		}
		if (taddr_is_any(dst)) {
			perr(p, e,
			    "%s: '%s' is the wildcard; clients are told "
			    "the relay address, so name a local one",
			    o->path, v);
			return -1;
		}
		return 0;
	case CONF_K_CIDRS:
		if (cidr_parse(c, v) == -1) {
			perr(p, e,
			    "%s: '%s' is not a prefix such as "
			    "192.0.2.0/24 or 2001:db8::/32",
			    o->path, v);
			return -1;
		}
		n = strcspn(v, "/");
		if (n >= sizeof(buf))
			return -1;
		memcpy(buf, v, n);
		buf[n] = '\0';
		if (cidr_parse(&host, buf) == 0 &&
		    memcmp(host.ip, c->ip, sizeof(c->ip)) != 0) {
			inet_ntop(c->family, c->ip, buf, sizeof(buf));
			perr(p, e,
			    "%s: '%s' has host bits set; write %s/%u for "
			    "the network or %.*s/%u for one host",
			    o->path, v, buf, c->prefix, (int)n, v,
			    c->family == AF_INET ? 32u : 128u);
			return -1;
		}
		return 0;
	default:
		slash = strchr(v, '/');
		n = slash != NULL ? (size_t)(slash - v) : strlen(v);
		if (n >= sizeof(buf))
			goto bad;
		memcpy(buf, v, n);
		buf[n] = '\0';
		if (ip_parse(&x->public_addr, buf) == -1 ||
		    (slash != NULL &&
		        ip_parse(&x->private_addr, slash + 1) == -1))
			goto bad;
		if (taddr_is_any(&x->public_addr) ||
		    (slash != NULL && taddr_is_any(&x->private_addr))) {
			perr(p, e,
			    "%s: '%s': the wildcard is not an address "
			    "here",
			    o->path, v);
			return -1;
		}
		if (slash != NULL &&
		    taddr_family(&x->public_addr) !=
		        taddr_family(&x->private_addr)) {
			perr(p, e, "%s: '%s' mixes IPv4 and IPv6", o->path, v);
			return -1;
		}
		return 0;
	}
bad:
	perr(p, e,
	    "%s: '%s' is not \"public\" or \"public/private\" such as "
	    "\"203.0.113.7/172.31.0.10\"",
	    o->path, v);
	return -1;
}

/* Converts the listen list; without one, listen_defaults runs later. */
static void
conv_listen(struct parse *p, size_t i)
{
	const struct conf_opt *o = &conf_table[i];
	const config_setting_t *s = p->set[i], **eset;
	struct conf_listen *arr;
	size_t n, before;
	char disp[48];

	if (s == NULL)
		return;
	if ((n = (size_t)config_setting_length(s)) == 0) {
		perr(p, s, "%s: empty; leave it out for the defaults", o->path);
		return;
	}
	arr = xcalloc(p, n, sizeof(*arr));
	eset = xcalloc(p, n, sizeof(*eset));
	if (arr == NULL || eset == NULL) {
		free(arr);
		free(eset);
		return;
	}
	for (size_t j = 0; j < n; j++) {
		const config_setting_t *e =
		    config_setting_get_elem(s, (unsigned int)j);

		/* not a group (walk said so): stays zero, skipped later */
		eset[j] = e;
		if (config_setting_type(e) != CONFIG_TYPE_GROUP)
			continue;
		snprintf(disp, sizeof(disp), "listen[%zu]", j);
		before = p->n_errs;
		listen_elem(p, e, disp, &arr[j]);
		if (p->n_errs != before)
			memset(&arr[j].addr, 0, sizeof(arr[j].addr));
	}
	p->c->listen = arr;
	p->c->n_listen = n;
	p->eset[i] = eset;
}

static void
listen_elem(struct parse *p, const config_setting_t *e, const char *disp,
    struct conf_listen *l)
{
	static const char *const names[] = {"udp", "tcp", "tls"};
	static const uint8_t bits[] = {CONF_T_UDP, CONF_T_TCP, CONF_T_TLS};
	const config_setting_t *a, *pt, *t;
	const struct conf_opt *po = &conf_table[opt_find("listen.port")];
	const char *txt;
	long long port = 0;
	int bad = 0;

	a = member(e, "address", CONFIG_TYPE_STRING, &bad);
	pt = member(e, "port", CONFIG_TYPE_INT, &bad);
	t = member(e, "transports", CONFIG_TYPE_ARRAY, &bad);
	if (bad)
		return;
	l->transports = CONF_T_UDP | CONF_T_TCP;
	if (t != NULL) {
		l->transports = 0;
		if (config_setting_length(t) == 0)
			perr(p, t, "%s.transports: empty", disp);
		for (int j = 0; j < config_setting_length(t); j++) {
			const config_setting_t *x =
			    config_setting_get_elem(t, (unsigned int)j);
			const char *v = config_setting_get_string(x);
			size_t b;

			if (v == NULL)
				continue;
			for (b = 0; b < nitems(names); b++) {
				if (strcmp(v, names[b]) == 0)
					break;
			}
			if (b == nitems(names))
				perr(p, x,
				    "%s.transports: unknown transport "
				    "'%s' (udp, tcp or tls)",
				    disp, v);
			else
				l->transports |= bits[b];
		}
		if ((l->transports & CONF_T_TCP) &&
		    (l->transports & CONF_T_TLS))
			perr(p, t,
			    "%s.transports: tcp and tls cannot share a "
			    "port; give tls its own entry",
			    disp);
	}
	if (a == NULL) {
		perr(p, e, "%s: address missing", disp);
		return;
	}
	txt = config_setting_get_string(a);
	if (taddr_parse(&l->addr, txt, 0) == -1) {
		perr(p, a, "%s.address: '%s' is not an IPv4 or IPv6 address",
		    disp, txt);
		return;
	}
	if (pt != NULL) {
		port = config_setting_get_int64(pt);
		if (int_ok(p, po, pt, "listen.port", port) == -1)
			return;
	}
	if (addr_has_port(txt)) {
		if (taddr_port(&l->addr) == 0)
			perr(p, a, "%s.address: port 0 in '%s'", disp, txt);
		else if (pt != NULL && port != taddr_port(&l->addr))
			perr(p, pt,
			    "%s.port: %lld differs from the port in "
			    "address '%s'",
			    disp, port, txt);
		return;
	}
	if (pt == NULL)
		port = l->transports == CONF_T_TLS ? CONF_TLS_PORT : CONF_PORT;
	taddr_set_port(&l->addr, (uint16_t)port);
}

/* 0.0.0.0 and :: on 3478 (udp, tcp), and on 5349 (tls) with a certificate. */
static void
listen_defaults(struct parse *p)
{
	static const char *const any[] = {"0.0.0.0", "::"};
	struct turnd_conf *c = p->c;
	size_t n = c->tls.certificate != NULL ? 4 : 2;

	if ((c->listen = xcalloc(p, n, sizeof(*c->listen))) == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		int tls = i >= 2;

		taddr_parse(&c->listen[i].addr, any[i % 2],
		    tls ? CONF_TLS_PORT : CONF_PORT);
		c->listen[i].transports =
		    tls ? CONF_T_TLS : CONF_T_UDP | CONF_T_TCP;
	}
	c->n_listen = n;
}

static void
conv_users(struct parse *p, size_t i)
{
	const config_setting_t *s = p->set[i], **eset;
	struct conf_user *arr;
	size_t n;
	char disp[48];

	if (s == NULL || (n = (size_t)config_setting_length(s)) == 0)
		return;
	arr = xcalloc(p, n, sizeof(*arr));
	eset = xcalloc(p, n, sizeof(*eset));
	if (arr == NULL || eset == NULL) {
		free(arr);
		free(eset);
		return;
	}
	for (size_t j = 0; j < n; j++) {
		const config_setting_t *e =
		    config_setting_get_elem(s, (unsigned int)j);

		eset[j] = e;
		if (config_setting_type(e) != CONFIG_TYPE_GROUP)
			continue;
		snprintf(disp, sizeof(disp), "auth.users[%zu]", j);
		user_elem(p, e, disp, &arr[j]);
	}
	p->c->auth.users = arr;
	p->c->auth.n_users = n;
	p->eset[i] = eset;
}

/* Fills u; what it allocates stays in u for conf_free, even on error. */
static void
user_elem(struct parse *p, const config_setting_t *e, const char *disp,
    struct conf_user *u)
{
	const config_setting_t *nm, *pw, *key;
	char what[64];
	const char *v;
	int bad = 0;

	nm = member(e, "name", CONFIG_TYPE_STRING, &bad);
	pw = member(e, "password", CONFIG_TYPE_STRING, &bad);
	key = member(e, "key", CONFIG_TYPE_STRING, &bad);
	if (bad)
		return;
	if (nm == NULL)
		perr(p, e, "%s: name missing", disp);
	else {
		v = config_setting_get_string(nm);
		snprintf(what, sizeof(what), "%s.name", disp);
		if (str_ok(p, &conf_table[opt_find("auth.users.name")], nm,
		        what, v) == 0)
			u->name = xstrdup(p, v);
	}
	if (pw != NULL && key != NULL) {
		perr(p, key, "%s: give a password or a key, not both", disp);
		return;
	}
	if (pw == NULL && key == NULL) {
		perr(p, e, "%s: password or key missing", disp);
		return;
	}
	if (pw != NULL) {
		v = config_setting_get_string(pw);
		snprintf(what, sizeof(what), "%s.password", disp);
		if (str_ok(p, &conf_table[opt_find("auth.users.password")], pw,
		        what, v) == 0)
			u->password = xstrdup(p, v);
		return;
	}
	v = config_setting_get_string(key);
	for (size_t j = 0; j < 32; j++) {
		if (!isxdigit((unsigned char)v[j])) {
			perr(p, key,
			    "%s.key: expected 32 hex digits of "
			    "MD5(name:realm:password)",
			    disp);
			return;
		}
	}
	if (v[32] != '\0') {
		perr(p, key,
		    "%s.key: expected 32 hex digits of "
		    "MD5(name:realm:password)",
		    disp);
		return;
	}
	for (size_t j = 0; j < 16; j++) {
		char hex[3] = {v[2 * j], v[2 * j + 1], '\0'};

		u->key_md5[j] = (uint8_t)strtoul(hex, NULL, 16);
	}
	u->has_key = 1;
}

/* The setting of element j of list path, NULL for defaults. */
static const config_setting_t *
elem_set(const struct parse *p, const char *path, size_t j)
{
	int i = opt_find(path);

	return p->eset[i] != NULL ? p->eset[i][j] : NULL;
}

#define SET(p, path) ((p)->set[opt_find(path)])
#define BAD(p, path) ((p)->bad[opt_find(path)])

/* Checks what spans settings, once every setting is converted. */
static void
validate(struct parse *p)
{
	struct turnd_conf *c = p->c;
	const config_setting_t *s, *users, *secrets;

	s = SET(p, "realm");
	if (!c->stun_only && s == NULL)
		perr(p, NULL,
		    "realm: missing; it names the credentials, "
		    "e.g. realm = \"example.org\";");
	else if (!c->stun_only && *config_setting_get_string(s) == '\0')
		perr(p, s, "realm: must not be empty");
	if (c->stun_only && c->no_stun)
		perr(p, SET(p, "no_stun"),
		    "no_stun: with stun_only there "
		    "would be nothing to serve");
	users = SET(p, "auth.users");
	secrets = SET(p, "auth.secrets");
	if (!c->stun_only &&
	    (users == NULL || config_setting_length(users) == 0) &&
	    (secrets == NULL || config_setting_length(secrets) == 0))
		perr(p, SET(p, "auth"),
		    "auth: no credentials; give auth.users "
		    "or auth.secrets (or stun_only = true)");
	for (size_t j = 0; j < c->auth.n_users; j++) {
		for (size_t k = 0; k < j && c->auth.users[j].name != NULL;
		     k++) {
			if (c->auth.users[k].name == NULL ||
			    strcmp(c->auth.users[k].name,
			        c->auth.users[j].name) != 0)
				continue;
			s = elem_set(p, "auth.users", k);
			perr(p, elem_set(p, "auth.users", j),
			    "auth.users: "
			    "user '%s' is already defined at line %u",
			    c->auth.users[j].name, s->line);
			break;
		}
	}
	if (!BAD(p, "allocation.lifetime_default") &&
	    !BAD(p, "allocation.lifetime_max") &&
	    c->allocation.lifetime_default_s > c->allocation.lifetime_max_s) {
		s = SET(p, "allocation.lifetime_default");
		perr(p, s != NULL ? s : SET(p, "allocation.lifetime_max"),
		    "allocation.lifetime_default: %u is above "
		    "allocation.lifetime_max (%u)",
		    c->allocation.lifetime_default_s,
		    c->allocation.lifetime_max_s);
	}
	validate_listen(p);
	validate_relay(p);
	validate_tls(p);
}

static void
validate_listen(struct parse *p)
{
	static const char *const tnames[] = {"udp", "tcp", "tls"};
	struct turnd_conf *c = p->c;
	const config_setting_t *s, *t;
	char buf[TADDR_STRLEN];
	int tls_said = 0;

	for (size_t j = 0; j < c->n_listen; j++) {
		struct conf_listen *l = &c->listen[j];

		s = elem_set(p, "listen", j);
		if ((l->transports & CONF_T_TLS) && !tls_said &&
		    c->tls.certificate == NULL && !BAD(p, "tls.certificate")) {
			perr(p, s,
			    "listen[%zu]: tls needs tls.certificate and "
			    "tls.private_key",
			    j);
			tls_said = 1;
		}
		if (taddr_family(&l->addr) == AF_UNSPEC)
			continue;
		for (size_t k = 0; k < j; k++) {
			struct conf_listen *m = &c->listen[k];
			int both = l->transports & m->transports;

			if (!taddr_eq(&l->addr, &m->addr))
				continue;
			t = elem_set(p, "listen", k);
			taddr_str(&l->addr, buf, sizeof(buf));
			if (both != 0) {
				int b = both & CONF_T_UDP ? 0
				    : both & CONF_T_TCP   ? 1
				                          : 2;

				perr(p, s,
				    "listen[%zu]: %s on %s is already "
				    "at line %u",
				    j, tnames[b], buf, t != NULL ? t->line : 0);
				break;
			}
			if (((l->transports & CONF_T_TCP) &&
			        (m->transports & CONF_T_TLS)) ||
			    ((l->transports & CONF_T_TLS) &&
			        (m->transports & CONF_T_TCP))) {
				perr(p, s,
				    "listen[%zu]: tcp and tls cannot "
				    "share %s (line %u)",
				    j, buf, t != NULL ? t->line : 0);
				break;
			}
		}
	}
}

static void
validate_relay(struct parse *p)
{
	struct turnd_conf *c = p->c;
	char buf[INET6_ADDRSTRLEN];
	const config_setting_t *s;

	if (!BAD(p, "relay.port_min") && !BAD(p, "relay.port_max") &&
	    c->relay.port_min > c->relay.port_max) {
		s = SET(p, "relay.port_min");
		perr(p, s != NULL ? s : SET(p, "relay.port_max"),
		    "relay.port_min: %u is above relay.port_max (%u)",
		    c->relay.port_min, c->relay.port_max);
	}
	for (size_t j = 0; j < c->relay.n_addrs; j++) {
		for (size_t k = 0; k < j; k++) {
			if (!taddr_eq_ip(
			        &c->relay.addrs[j], &c->relay.addrs[k]))
				continue;
			perr(p, elem_set(p, "relay.addresses", j),
			    "relay.addresses: %s is listed twice",
			    taddr_ipstr(&c->relay.addrs[j], buf, sizeof(buf)));
			break;
		}
	}
	for (size_t j = 0; j < c->relay.n_external; j++) {
		struct conf_external *x = &c->relay.external[j];
		size_t k;

		s = elem_set(p, "relay.external", j);
		for (k = 0; k < j; k++) {
			struct conf_external *y = &c->relay.external[k];

			if (taddr_family(&x->public_addr) ==
			        taddr_family(&y->public_addr) &&
			    taddr_family(&x->private_addr) ==
			        taddr_family(&y->private_addr) &&
			    (taddr_family(&x->private_addr) == AF_UNSPEC ||
			        taddr_eq_ip(
			            &x->private_addr, &y->private_addr)))
				break;
		}
		if (k < j) {
			perr(p, s,
			    "relay.external: a second public address "
			    "for the same private one");
			continue;
		}
		if (taddr_family(&x->private_addr) == AF_UNSPEC ||
		    c->relay.n_addrs == 0 || BAD(p, "relay.addresses"))
			continue;
		for (k = 0; k < c->relay.n_addrs; k++) {
			if (taddr_eq_ip(&x->private_addr, &c->relay.addrs[k]))
				break;
		}
		if (k == c->relay.n_addrs)
			perr(p, s,
			    "relay.external: private address %s is not "
			    "in relay.addresses",
			    taddr_ipstr(&x->private_addr, buf, sizeof(buf)));
	}
}

/*
 * Certificate and key go together.  Cipher lists are tried on a scratch
 * context when set, so that `turnd -n` catches a list OpenSSL cannot use;
 * the files themselves are read at start-up, not here.
 */
static void
validate_tls(struct parse *p)
{
	struct turnd_conf *c = p->c;
	const config_setting_t *sc = SET(p, "tls.ciphers");
	const config_setting_t *ss = SET(p, "tls.ciphersuites");
	SSL_CTX *ctx;

	if (BAD(p, "tls.certificate") || BAD(p, "tls.private_key"))
		;
	else if (c->tls.certificate != NULL && c->tls.private_key == NULL)
		perr(p, SET(p, "tls.certificate"),
		    "tls.certificate: needs "
		    "tls.private_key");
	else if (c->tls.certificate == NULL && c->tls.private_key != NULL)
		perr(p, SET(p, "tls.private_key"),
		    "tls.private_key: needs "
		    "tls.certificate");
	if ((sc == NULL || c->tls.ciphers == NULL) &&
	    (ss == NULL || c->tls.ciphersuites == NULL))
		return;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		ERR_clear_error();
		return;
	}
	if (sc != NULL && c->tls.ciphers != NULL &&
	    SSL_CTX_set_cipher_list(ctx, c->tls.ciphers) != 1)
		perr(p, sc, "tls.ciphers: OpenSSL finds no cipher in '%s'",
		    c->tls.ciphers);
	if (ss != NULL && c->tls.ciphersuites != NULL &&
	    SSL_CTX_set_ciphersuites(ctx, c->tls.ciphersuites) != 1)
		perr(p, ss, "tls.ciphersuites: OpenSSL finds no suite in '%s'",
		    c->tls.ciphersuites);
	ERR_clear_error();
	SSL_CTX_free(ctx);
}

static int
err_cmp(const void *a, const void *b)
{
	const struct conf_err *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Prints the problems in line order and forgets them. */
static void
report(struct parse *p, FILE *err)
{
	if (p->n_errs > 1)
		qsort(p->errs, p->n_errs, sizeof(*p->errs), err_cmp);
	for (size_t i = 0; i < p->n_errs; i++) {
		if (err != NULL)
			fprintf(err, "%s\n", p->errs[i].text);
		free(p->errs[i].text);
	}
	if (p->oom && err != NULL)
		fprintf(err, "%s:0: out of memory\n", p->file);
	free(p->errs);
	p->errs = NULL;
}

struct turnd_conf *
conf_load(const char *path, const char *text, FILE *err)
{
	struct parse p;
	config_t cfg;
	char *buf = NULL, *dir = NULL, *slash;
	struct turnd_conf *c;
	int ok;

	memset(&p, 0, sizeof(p));
	p.file = path;
	config_init(&cfg);
	if ((p.c = c = calloc(1, sizeof(*c))) == NULL ||
	    (c->source = strdup(path)) == NULL) {
		p.oom = 1;
		goto done;
	}
	if (text == NULL) {
		if ((buf = read_file(&p, path)) == NULL)
			goto done;
		text = buf;
		/* @include names a file next to this one */
		if ((slash = strrchr(path, '/')) != NULL) {
			if ((dir = strndup(path,
			         (size_t)(slash - path) + (slash == path))) ==
			    NULL) {
				p.oom = 1;
				goto done;
			}
			config_set_include_dir(&cfg, dir);
		}
	}
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		perr_at(&p,
		    config_error_file(&cfg) != NULL ? config_error_file(&cfg)
		                                    : path,
		    (unsigned int)config_error_line(&cfg), "%s",
		    config_error_text(&cfg));
		goto done;
	}
	scan_ints(&p, text);
	walk(&p, config_root_setting(&cfg), "", "");
	for (size_t i = 0; i < CONF_NOPTS; i++) {
		size_t before = p.n_errs;

		conv(&p, i);
		p.bad[i] = p.n_errs != before ||
		    (p.set[i] != NULL && wrapped(&p, p.set[i]));
	}
	if (p.set[opt_find("listen")] == NULL)
		listen_defaults(&p);
	if (!p.oom)
		validate(&p);
done:
	ok = p.n_errs == 0 && !p.oom;
	report(&p, err);
	for (size_t i = 0; i < CONF_NOPTS; i++)
		free(p.eset[i]);
	free(p.wrapped);
	config_destroy(&cfg);
	if (buf != NULL)
		explicit_bzero(buf, strlen(buf));
	free(buf);
	free(dir);
	if (!ok) {
		conf_free(c);
		return NULL;
	}
	return c;
}

void
conf_free(struct turnd_conf *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < CONF_NOPTS; i++) {
		const struct conf_opt *o = &conf_table[i];
		char *field = (char *)c + o->off;
		size_t n =
		    o->off_n != 0 ? *(size_t *)((char *)c + o->off_n) : 0;

		if (o->flags & CONF_F_ELEM)
			continue;
		switch (o->kind) {
		case CONF_K_STR:
		case CONF_K_ADDR:
			free(*(char **)field);
			break;
		case CONF_K_STRS:
			for (size_t j = 0; j < n; j++) {
				char *v = (*(char ***)field)[j];

				if (v != NULL && (o->flags & CONF_F_SECRET))
					explicit_bzero(v, strlen(v));
				free(v);
			}
			free(*(char ***)field);
			break;
		case CONF_K_USERS:
			for (size_t j = 0; j < n; j++) {
				struct conf_user *u = &c->auth.users[j];

				free(u->name);
				if (u->password != NULL)
					explicit_bzero(
					    u->password, strlen(u->password));
				free(u->password);
				explicit_bzero(u->key_md5, sizeof(u->key_md5));
			}
			free(*(void **)field);
			break;
		case CONF_K_IPS:
		case CONF_K_CIDRS:
		case CONF_K_EXTS:
		case CONF_K_LISTEN:
			free(*(void **)field);
			break;
		default:
			break;
		}
	}
	free(c->source);
	free(c);
}

/* Prints s as a libconfig string literal. */
static void
dump_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *u = (const unsigned char *)s;
	     u != NULL && *u != '\0'; u++) {
		if (*u == '"' || *u == '\\')
			fprintf(f, "\\%c", *u);
		else if (*u == '\n')
			fputs("\\n", f);
		else if (*u == '\t')
			fputs("\\t", f);
		else if (*u < 0x20 || *u == 0x7f)
			fprintf(f, "\\x%02x", *u);
		else
			fputc(*u, f);
	}
	fputc('"', f);
}

static void
dump_value(FILE *f, const struct turnd_conf *c, const struct conf_opt *o,
    const char *indent)
{
	const char *field = (const char *)c + o->off;
	size_t n =
	    o->off_n != 0 ? *(const size_t *)((const char *)c + o->off_n) : 0;
	char buf[TADDR_STRLEN], buf2[TADDR_STRLEN];
	const struct conf_enum *e;
	unsigned long long v;

	switch (o->kind) {
	case CONF_K_GROUP:
		break;
	case CONF_K_STR:
	case CONF_K_ADDR:
		dump_str(f, *(char *const *)field);
		break;
	case CONF_K_INT:
		v = int_load(field, o->size);
		fprintf(f, "%llu%s", v, v > INT32_MAX ? "L" : "");
		break;
	case CONF_K_BOOL:
		fputs(*(const int *)field ? "true" : "false", f);
		break;
	case CONF_K_ENUM:
		for (e = o->enums; e->name != NULL; e++) {
			if (e->value == *(const int *)field)
				break;
		}
		dump_str(f, e->name != NULL ? e->name : "?");
		break;
	case CONF_K_MODE:
		fprintf(f, "\"%04llo\"", int_load(field, o->size));
		break;
	case CONF_K_STRS:
	case CONF_K_IPS:
	case CONF_K_CIDRS:
	case CONF_K_EXTS:
		fputs("[", f);
		for (size_t j = 0; j < n; j++) {
			const void *arr = *(const void *const *)field;
			const struct cidr *cd = (const struct cidr *)arr + j;
			const struct conf_external *x =
			    (const struct conf_external *)arr + j;

			fputs(j > 0 ? ", " : " ", f);
			if (o->kind == CONF_K_STRS)
				dump_str(f,
				    o->flags & CONF_F_SECRET
				        ? CONF_HIDDEN
				        : ((char *const *)arr)[j]);
			else if (o->kind == CONF_K_IPS)
				fprintf(f, "\"%s\"",
				    taddr_ipstr((const union taddr *)arr + j,
				        buf, sizeof(buf)));
			else if (o->kind == CONF_K_CIDRS)
				fprintf(f, "\"%s/%u\"",
				    inet_ntop(
				        cd->family, cd->ip, buf, sizeof(buf)),
				    cd->prefix);
			else if (taddr_family(&x->private_addr) == AF_UNSPEC)
				fprintf(f, "\"%s\"",
				    taddr_ipstr(
				        &x->public_addr, buf, sizeof(buf)));
			else
				fprintf(f, "\"%s/%s\"",
				    taddr_ipstr(
				        &x->public_addr, buf, sizeof(buf)),
				    taddr_ipstr(
				        &x->private_addr, buf2, sizeof(buf2)));
		}
		fputs(" ]", f);
		break;
	case CONF_K_LISTEN:
		fputs("(", f);
		for (size_t j = 0; j < c->n_listen; j++) {
			const struct conf_listen *l = &c->listen[j];
			const char *sep = " ";

			fprintf(f,
			    "%s\n%s  { address = \"%s\"; port = %u; "
			    "transports = [",
			    j > 0 ? "," : "", indent,
			    taddr_ipstr(&l->addr, buf, sizeof(buf)),
			    taddr_port(&l->addr));
			for (int b = 0; b < 3; b++) {
				if (!(l->transports & (1 << b)))
					continue;
				fprintf(f, "%s\"%s\"", sep,
				    b == 0       ? "udp"
				        : b == 1 ? "tcp"
				                 : "tls");
				sep = ", ";
			}
			fputs(" ]; }", f);
		}
		fprintf(f, "\n%s)", indent);
		break;
	case CONF_K_USERS:
		fputs("(", f);
		for (size_t j = 0; j < c->auth.n_users; j++) {
			fprintf(
			    f, "%s\n%s  { name = ", j > 0 ? "," : "", indent);
			dump_str(f, c->auth.users[j].name);
			fprintf(f, "; %s = \"" CONF_HIDDEN "\"; }",
			    c->auth.users[j].has_key ? "key" : "password");
		}
		if (n > 0)
			fprintf(f, "\n%s)", indent);
		else
			fputs(" )", f);
		break;
	}
}

void
conf_dump(const struct turnd_conf *c, FILE *f)
{
	int in_group = 0;

	fprintf(f, "# effective configuration of ");
	for (const char *s = c->source; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 ? '?' : *s, f);
	fprintf(f,
	    ", defaults included;\n# passwords, keys and secrets are "
	    "shown as \"" CONF_HIDDEN "\"\n");
	for (size_t i = 0; i < CONF_NOPTS; i++) {
		const struct conf_opt *o = &conf_table[i];
		const char *indent = strchr(o->path, '.') != NULL ? "  " : "";

		if (o->flags & CONF_F_ELEM)
			continue;
		if (*indent == '\0') {
			if (in_group)
				fputs("};\n", f);
			in_group = 0;
			fputc('\n', f);
		}
		fprintf(
		    f, "%s# %s\n%s%s = ", indent, o->help, indent, opt_name(o));
		if (o->kind == CONF_K_GROUP) {
			fputs("{\n", f);
			in_group = 1;
			continue;
		}
		dump_value(f, c, o, indent);
		fputs(";\n", f);
	}
	if (in_group)
		fputs("};\n", f);
}
