/*
 * The configuration: parsed from a libconfig file (or the embedded
 * development default) into one immutable struct turnd_conf, validated in
 * one place, and swapped whole on reload.  Only config.c includes
 * libconfig.h; nothing reads libconfig after conf_load returns.
 */
#ifndef TURND_CONFIG_H
#define TURND_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"

#define CONF_DEFAULT_PATH "/etc/turnd/turnd.conf"

/* Client transports of a listen entry. */
#define CONF_T_UDP 0x01
#define CONF_T_TCP 0x02
#define CONF_T_TLS 0x04

struct conf_listen {
	union taddr addr; /* port set */
	uint8_t transports; /* CONF_T_* */
};

struct conf_user {
	char *name;
	char *password; /* NULL when a precomputed key was given */
	uint8_t key_md5[16]; /* key = "<hex MD5(name:realm:password)>" */
	int has_key;
};

struct conf_external {
	union taddr public_addr; /* advertised to clients */
	union taddr private_addr; /* local address it stands for; AF_UNSPEC:
				     any local address of that family */
};

struct turnd_conf {
	char *source; /* file name, or "<embedded>" */

	char *realm;
	char *software; /* "" omits SOFTWARE */
	int stun_only; /* no relaying: Binding only */
	int no_stun; /* refuse Binding requests (coturn's no-stun) */

	struct conf_listen *listen;
	size_t n_listen;

	struct {
		char *certificate; /* PEM chain path, NULL without TLS */
		char *private_key;
		char *ciphers; /* TLS 1.2 cipher list */
		char *ciphersuites; /* TLS 1.3 suites */
		int min_version; /* 0x0303 (1.2) or 0x0304 (1.3) */
	} tls;

	struct {
		union taddr *addrs; /* port 0 */
		size_t n_addrs;
		struct conf_external *external;
		size_t n_external;
		uint16_t port_min;
		uint16_t port_max;
		int legacy_channel_numbers;
		int sndbuf; /* bytes, 0 = kernel default */
		int rcvbuf;
	} relay;

	struct {
		struct conf_user *users;
		size_t n_users;
		char **secrets; /* shared secrets, newest first */
		size_t n_secrets;
		uint32_t nonce_lifetime_s;
	} auth;

	struct {
		uint32_t lifetime_default_s;
		uint32_t lifetime_max_s;
		uint32_t permissions_max; /* per allocation */
		uint32_t channels_max; /* per allocation */
	} allocation;

	struct {
		struct cidr *allow;
		size_t n_allow;
		struct cidr *deny;
		size_t n_deny;
		int relay_to_relay; /* own relayed addresses as peers */
	} peers;

	struct {
		uint32_t allocations_per_user; /* 0 = unlimited */
		uint32_t allocations_total;
		uint64_t bandwidth_per_allocation; /* bytes/s, 0 = unlimited */
		uint32_t unauth_per_source; /* 401s per second per source IP */
	} quotas;

	struct {
		uint32_t idle_timeout_ms; /* nothing valid received */
		uint32_t max_connections; /* all TCP/TLS clients */
		uint32_t max_per_source; /* per client IP */
		uint32_t buffer_max; /* per-connection output bytes */
	} tcp;

	struct {
		int sndbuf; /* listener socket buffers, 0 = default */
		int rcvbuf;
	} udp;

	struct {
		char *socket; /* "" disables */
		char *group;
		uint32_t mode;
		char *readonly; /* show requests only; "" disables */
	} control;

	struct {
		char *listen; /* "127.0.0.1:9641", "" disables */
	} metrics;

	struct {
		int level; /* LOG_LVL_* */
		int syslog;
	} log;

	struct {
		char *user; /* "" keeps the starting user */
		char *group;
		char *pidfile;
		uint32_t workers; /* 0 = usable CPUs */
		uint32_t drain_s; /* graceful stop bound */
	} process;
};

/*
 * Loads and validates the configuration in path (or, with text not NULL,
 * the configuration text named path).  On success returns a new
 * struct turnd_conf the caller frees with conf_free.  On failure returns
 * NULL after printing every problem to err (unless NULL) as
 * "file:line: message", one a line, in line order, unknown settings with
 * the closest known name suggested; line 0 means the file as a whole
 * (a missing realm, a file that cannot be read).
 */
struct turnd_conf *conf_load(const char *path, const char *text, FILE *err);
void conf_free(struct turnd_conf *c);

/*
 * Prints the effective configuration, defaults included, in table order
 * and libconfig syntax, each setting under a comment line of help.
 * Passwords, keys and secrets are printed as "<hidden>": the dump is for
 * reading.  It loads again (to the same dump) unless a user has a key,
 * since "<hidden>" is not 32 hex digits.  Used by `turnd -n -v` and the
 * golden tests.
 */
void conf_dump(const struct turnd_conf *c, FILE *f);

/* The embedded development configuration (conf/turnd.dev.conf). */
extern const char conf_dev_text[];

#endif
