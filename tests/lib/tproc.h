/*
 * Running a real turnd for a test: a temporary directory with a generated
 * configuration (loopback listeners on a free port, a test realm and
 * users, loopback peers allowed unless the test says otherwise, no limit
 * on 401 answers per source since every test client is on loopback, plus
 * any settings the test adds), the daemon started from $TURND, readiness by
 * STUN Binding, and a clean stop by SIGTERM whose exit status is checked
 * (so sanitizer reports at exit fail the test).
 */
#ifndef TURND_TESTS_TPROC_H
#define TURND_TESTS_TPROC_H

#include <stdint.h>
#include <sys/types.h>

struct tproc {
	pid_t pid;
	char dir[256];
	char conf[300];
	char log[300];
	uint16_t port;
	uint16_t relay_min;
	uint16_t relay_max;
};

#define TPROC_NO_PEER_ALLOW 0x01 /* leave peers.allow empty */
#define TPROC_NO_IPV6 0x02	 /* IPv4 listener and relay only */

/*
 * Starts turnd.  extra is appended to the generated configuration (groups
 * it names replace the generated ones: the generator leaves out any group
 * whose name starts a line of extra, e.g. "auth = {").  Returns 0 or -1.
 */
int tproc_start(struct tproc *p, int flags, const char *extra);
/* SIGTERM, wait; returns the exit status (0 clean) or -1. */
int tproc_stop(struct tproc *p);
/*
 * Stops turnd; when failed or the stop was not clean, prints its log,
 * else removes the temporary directory.  Returns the exit status.
 */
int tproc_finish(struct tproc *p, int failed);
/* Prints the daemon's log to stderr (on failure). */
void tproc_dump_log(const struct tproc *p);
/* A free port on loopback (UDP and TCP) outside 49152-65535. */
uint16_t tproc_free_port(void);
/*
 * For a test that writes its own relay group: n consecutive ports in
 * 49152-65535, the first even, each free for UDP on 127.0.0.1 right now.
 * Returns the first, or 0.
 */
uint16_t tproc_relay_window(uint16_t n);

#define TPROC_REALM "turnd.test"
#define TPROC_USER "alice"
#define TPROC_PASS "alice-secret"
#define TPROC_USER2 "bob"
#define TPROC_PASS2 "bob-secret"
#define TPROC_SECRET "rest-secret-1"
#define TPROC_SECRET2 "rest-secret-2"

#endif
