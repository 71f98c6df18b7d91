/*
 * Unit tests of turnd/config.c for what the golden files show badly: the
 * defaults of a minimal configuration field by field, the converted
 * values (keys, prefixes, external pairs, listeners), that a dump loads
 * again to the same dump, and that every failing configuration comes back
 * as NULL with one "file:line: " line per problem and nothing leaked
 * (ASan's leak check runs at exit).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "log.h"

/* Loads text; *errs (may be NULL) gets what conf_load printed. */
static struct turnd_conf *
load(const char *text, char **errs)
{
	struct turnd_conf *c;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		abort();
	c = conf_load("t.conf", text, f);
	fclose(f);
	if (errs != NULL)
		*errs = buf;
	else
		free(buf);
	return c;
}

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

static int
count_lines(const char *s)
{
	int n = 0;

	for (; s != NULL && *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void
test_defaults(void)
{
	struct turnd_conf *c = load(
	    "realm = \"example.org\";\n"
	    "auth = { users = ( { name = \"u\"; password = \"p\"; } ); };\n",
	    NULL);
	char buf[TADDR_STRLEN];

	if (!CHECK(c != NULL))
		return;
	CHECK_EQ_STR(c->source, "t.conf");
	CHECK_EQ_STR(c->realm, "example.org");
	CHECK_EQ_STR(c->software, "turnd");
	CHECK_EQ_INT(c->stun_only, 0);
	CHECK_EQ_INT(c->no_stun, 0);
	CHECK_EQ_INT(c->n_listen, 2);
	if (c->n_listen == 2) {
		CHECK_EQ_STR(taddr_str(&c->listen[0].addr, buf, sizeof(buf)),
		    "0.0.0.0:3478");
		CHECK_EQ_STR(taddr_str(&c->listen[1].addr, buf, sizeof(buf)),
		    "[::]:3478");
		CHECK_EQ_INT(c->listen[0].transports, CONF_T_UDP | CONF_T_TCP);
		CHECK_EQ_INT(c->listen[1].transports, CONF_T_UDP | CONF_T_TCP);
	}
	CHECK(c->tls.certificate == NULL);
	CHECK(c->tls.private_key == NULL);
	CHECK(c->tls.ciphers != NULL &&
	    strstr(c->tls.ciphers, "ECDHE") == c->tls.ciphers);
	CHECK(c->tls.ciphersuites != NULL);
	CHECK_EQ_INT(c->tls.min_version, 0x0303);
	CHECK_EQ_INT(c->relay.n_addrs, 0);
	CHECK_EQ_INT(c->relay.n_external, 0);
	CHECK_EQ_INT(c->relay.port_min, 49152);
	CHECK_EQ_INT(c->relay.port_max, 65535);
	CHECK_EQ_INT(c->relay.legacy_channel_numbers, 0);
	CHECK_EQ_INT(c->relay.sndbuf, 0);
	CHECK_EQ_INT(c->relay.rcvbuf, 0);
	CHECK_EQ_INT(c->auth.n_users, 1);
	if (c->auth.n_users == 1) {
		CHECK_EQ_STR(c->auth.users[0].name, "u");
		CHECK_EQ_STR(c->auth.users[0].password, "p");
		CHECK_EQ_INT(c->auth.users[0].has_key, 0);
	}
	CHECK_EQ_INT(c->auth.n_secrets, 0);
	CHECK_EQ_INT(c->auth.nonce_lifetime_s, 600);
	CHECK_EQ_INT(c->allocation.lifetime_default_s, 600);
	CHECK_EQ_INT(c->allocation.lifetime_max_s, 3600);
	CHECK_EQ_INT(c->allocation.permissions_max, 64);
	CHECK_EQ_INT(c->allocation.channels_max, 64);
	CHECK_EQ_INT(c->peers.n_allow, 0);
	CHECK_EQ_INT(c->peers.n_deny, 0);
	CHECK_EQ_INT(c->quotas.allocations_per_user, 12);
	CHECK_EQ_INT(c->quotas.allocations_total, 10000);
	CHECK_EQ_INT(c->quotas.bandwidth_per_allocation, 0);
	CHECK_EQ_INT(c->quotas.unauth_per_source, 50);
	CHECK_EQ_INT(c->tcp.idle_timeout_ms, 10000);
	CHECK_EQ_INT(c->tcp.max_connections, 10000);
	CHECK_EQ_INT(c->tcp.max_per_source, 64);
	CHECK_EQ_INT(c->tcp.buffer_max, 256 * 1024);
	CHECK_EQ_INT(c->udp.sndbuf, 0);
	CHECK_EQ_INT(c->udp.rcvbuf, 0);
	CHECK_EQ_STR(c->control.socket, "/run/turnd/turnd.sock");
	CHECK_EQ_STR(c->control.group, "");
	CHECK_EQ_INT(c->control.mode, 0660);
	CHECK_EQ_STR(c->metrics.listen, "127.0.0.1:9641");
	CHECK_EQ_INT(c->log.level, LOG_LVL_INFO);
	CHECK_EQ_INT(c->log.syslog, 0);
	CHECK_EQ_STR(c->process.user, "");
	CHECK_EQ_STR(c->process.group, "");
	CHECK_EQ_STR(c->process.pidfile, "");
	CHECK_EQ_INT(c->process.workers, 0);
	CHECK_EQ_INT(c->process.drain_s, 30);
	conf_free(c);
}

static void
test_values(void)
{
	static const uint8_t key[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
	    0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
	struct turnd_conf *c = load(
	    "realm = \"r\";\n"
	    "listen = ( { address = \"[::1]:5000\"; transports = [ \"tls\" ]; "
	    "},"
	    " { address = \"127.0.0.1\"; transports = [ \"tls\" ]; } );\n"
	    "tls = { certificate = \"c\"; private_key = \"k\";"
	    " min_version = \"1.3\"; };\n"
	    "relay = { addresses = [ \"10.1.2.3\" ];"
	    " external = [ \"198.51.100.1/10.1.2.3\", \"2001:db8::1\" ]; };\n"
	    "auth = { users = ( { name = \"k\";"
	    " key = \"0123456789ABCDEFfedcba9876543210\"; } );"
	    " secrets = [ \"one\", \"two\" ]; };\n"
	    "peers = { allow = [ \"10.0.0.0/8\", \"2001:db8::/32\" ]; };\n"
	    "quotas = { bandwidth_per_allocation = 3000000000L; };\n"
	    "metrics = { listen = \"::1\"; };\n"
	    "log = { level = \"debug\"; };\n",
	    NULL);
	char buf[TADDR_STRLEN];

	if (!CHECK(c != NULL))
		return;
	CHECK_EQ_INT(c->n_listen, 2);
	CHECK_EQ_STR(
	    taddr_str(&c->listen[0].addr, buf, sizeof(buf)), "[::1]:5000");
	CHECK_EQ_STR(
	    taddr_str(&c->listen[1].addr, buf, sizeof(buf)), "127.0.0.1:5349");
	CHECK_EQ_INT(c->listen[1].transports, CONF_T_TLS);
	CHECK_EQ_INT(c->tls.min_version, 0x0304);
	CHECK_EQ_STR(c->tls.certificate, "c");
	CHECK_EQ_INT(c->relay.n_external, 2);
	CHECK_EQ_STR(
	    taddr_ipstr(&c->relay.external[0].public_addr, buf, sizeof(buf)),
	    "198.51.100.1");
	CHECK_EQ_STR(
	    taddr_ipstr(&c->relay.external[0].private_addr, buf, sizeof(buf)),
	    "10.1.2.3");
	CHECK_EQ_INT(
	    taddr_family(&c->relay.external[1].private_addr), AF_UNSPEC);
	CHECK_EQ_INT(c->auth.users[0].has_key, 1);
	CHECK(c->auth.users[0].password == NULL);
	CHECK_MEMEQ(c->auth.users[0].key_md5, 16, key, 16);
	CHECK_EQ_INT(c->auth.n_secrets, 2);
	CHECK_EQ_STR(c->auth.secrets[0], "one");
	CHECK_EQ_STR(c->auth.secrets[1], "two");
	CHECK_EQ_INT(c->peers.n_allow, 2);
	CHECK_EQ_INT(c->peers.allow[0].family, AF_INET);
	CHECK_EQ_INT(c->peers.allow[0].prefix, 8);
	CHECK_EQ_INT(c->peers.allow[1].family, AF_INET6);
	CHECK_EQ_INT(c->quotas.bandwidth_per_allocation, 3000000000LL);
	CHECK_EQ_STR(c->metrics.listen, "[::1]:9641");
	CHECK_EQ_INT(c->log.level, LOG_LVL_DEBUG);
	conf_free(c);
}

/* A dump loads again and dumps the same (no key users: keys are hidden). */
static void
test_roundtrip(void)
{
	static const char *const texts[] = {
	    "realm = \"a\"; auth = { secrets = [ \"s\" ]; };",
	    "stun_only = true;",
	    "realm = \"\\\"q\\\\\"; tls = { certificate = \"c\";"
	    " private_key = \"k\"; };"
	    " process = { pidfile = \"a\\n\\t\\x01\\x7f\\\"\"; };"
	    " auth = { users = ( { name = \"x y\"; password = \"p\"; },"
	    " { name = \"\xc3\xa9\"; password = \"p\"; } ); };"
	    " relay = { addresses = [ \"::1\" ];"
	    " external = [ \"2001:db8::1/::1\" ]; };"
	    " quotas = { bandwidth_per_allocation = 10000000000L; };"
	    " control = { mode = \"0\"; };",
	};
	for (size_t i = 0; i <= sizeof(texts) / sizeof(texts[0]); i++) {
		const char *text = i < 3 ? texts[i] : conf_dev_text;
		struct turnd_conf *c = load(text, NULL), *c2;
		char *d1, *d2 = NULL;

		if (!CHECK_MSG(c != NULL, "case %zu loads", i))
			continue;
		d1 = dump(c);
		c2 = load(d1, NULL);
		if (CHECK_MSG(c2 != NULL, "case %zu: dump loads", i)) {
			d2 = dump(c2);
			CHECK_MSG(strcmp(d1, d2) == 0,
			    "case %zu: dumps equal:\n"
			    "%s\n---\n%s",
			    i, d1, d2);
		}
		free(d1);
		free(d2);
		conf_free(c);
		conf_free(c2);
	}
}

/* Each text fails with exactly `lines` problems, each "t.conf:N: ". */
static void
test_failures(void)
{
	static const struct {
		const char *text;
		int lines;
	} t[] = {
	    {"", 2},
	    {"realm = ", 1},
	    {"realm = \"r\";\nrealm = \"s\";", 1},
	    {"realm = \"r\"; auth = { users = ( { name = \"a\";"
	     " password = \"b\"; }, { name = \"a\"; password = \"c\"; },"
	     " { name = \"b\"; key = \"00\"; } ); };",
	        2},
	    {"realm = \"r\"; auth = { secrets = [ \"s\" ]; };\n"
	     "listen = ( { address = \"0.0.0.0\"; },\n"
	     " { address = \"0.0.0.0\"; }, { port = 1; },\n"
	     " { address = \"::\"; transports = [ \"tls\" ]; } );",
	        3},
	    {"realm = \"r\"; auth = { secrets = [ \"s\", 1 ]; };", 1},
	    {"realm = \"r\"; auth = { secrets = [ \"s\" ]; };\n"
	     "relay = { addresses = [ \"::1\", \"::1\", \"x\" ];\n"
	     " external = [ \"1.2.3.4/5.6.7.8\", \"1.2.3.5/5.6.7.8\" ]; };",
	        3},
	    {"realm = \"r\"; auth = { secrets = [ \"s\" ]; };\n"
	     "peers = { deny = [ \"1.2.3.4/24\", \"::/129\" ]; };",
	        2},
	    {"realm = \"r\"; auth = { secrets = [ \"s\" ]; };\n"
	     "tls = { certificate = \"c\"; };",
	        1},
	    {"realm = \"r\"; auth = { secrets = [ \"s\" ]; };\n"
	     "relay = { port_min = 9999999999; };",
	        1},
	    {"x = 1; y = { z = 2; }; listen = ( 1, 2 );", 6},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *errs = NULL;
		struct turnd_conf *c = load(t[i].text, &errs);
		int n = count_lines(errs);

		CHECK_MSG(c == NULL, "case %zu fails", i);
		CHECK_MSG(n == t[i].lines,
		    "case %zu: %d problems, want %d:\n%s", i, n, t[i].lines,
		    errs);
		for (char *s = errs; s != NULL && *s != '\0';
		     s = strchr(s, '\n') + 1)
			CHECK_MSG(strncmp(s, "t.conf:", 7) == 0, "case %zu: %s",
			    i, s);
		conf_free(c);
		free(errs);
	}
}

static void
test_files(void)
{
	char *errs = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&errs, &len);
	struct turnd_conf *c;

	if (f == NULL)
		abort();
	c = conf_load("/nonexistent/turnd.conf", NULL, f);
	fclose(f);
	CHECK(c == NULL);
	CHECK(errs != NULL &&
	    strncmp(errs,
	        "/nonexistent/turnd.conf:0: "
	        "cannot open: ",
	        27) == 0);
	free(errs);
	conf_free(NULL);
	c = conf_load("<embedded>", conf_dev_text, stderr);
	if (CHECK(c != NULL)) {
		CHECK_EQ_STR(c->source, "<embedded>");
		CHECK_EQ_STR(c->realm, "turnd.dev");
	}
	conf_free(c);
}

int
main(void)
{
	test_defaults();
	test_values();
	test_roundtrip();
	test_failures();
	test_files();
	return CHECK_DONE();
}
