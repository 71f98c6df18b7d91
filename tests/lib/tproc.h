/*
 * Running a real turnd for a test: a temporary directory with a generated
 * configuration (loopback listeners on a free port, UDP and on request TCP
 * on it and TLS on another, a test realm and users, loopback peers allowed
 * unless the test says otherwise, no limit on 401 answers per source since
 * every test client is on loopback, plus any settings the test adds), a
 * certificate made at test time for TLS, the daemon started from $TURND,
 * readiness by STUN Binding, and a clean stop by SIGTERM whose exit status
 * is checked (so sanitizer reports at exit fail the test).
 */
#ifndef TURND_TESTS_TPROC_H
#define TURND_TESTS_TPROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tproc {
	pid_t pid;
	char dir[256];
	char conf[300];
	char log[300];
	uint16_t port;     /* UDP, and TCP with TPROC_TCP */
	uint16_t tls_port; /* with TPROC_TLS */
	uint16_t relay_min;
	uint16_t relay_max;
	/* with TPROC_TLS: made by tcert_make in dir */
	char ca[300];        /* the CA to verify the server with */
	char cert[300];      /* the server's chain */
	char key[300];       /* its key */
	char other_key[300]; /* a key that matches nothing */
	char rsa_key[300];   /* one of another type */
};

#define TPROC_NO_PEER_ALLOW 0x01 /* leave peers.allow empty */
#define TPROC_NO_IPV6 0x02	 /* IPv4 listener and relay only */
#define TPROC_TCP 0x04           /* TCP listeners on port too */
#define TPROC_TLS 0x08           /* TLS listeners on tls_port, certificates */

/*
 * Starts turnd.  extra is appended to the generated configuration (groups
 * it names replace the generated ones: the generator leaves out any group
 * whose name starts a line of extra, e.g. "auth = {"); "@DIR@" in it
 * stands for the temporary directory.  Returns 0 or -1.
 */
int tproc_start(struct tproc *p, int flags, const char *extra);
/*
 * For start-up errors: prepares as tproc_start, runs turnd and waits up to
 * timeout_ms for it to exit.  Returns its exit status (128 + the signal
 * when one killed it), or -1 when it could not run or was still running
 * (it is then stopped).  The log stays in p->log; tproc_finish cleans up.
 */
int tproc_run(struct tproc *p, int flags, const char *extra, int timeout_ms);
/* SIGTERM, wait; returns the exit status (0 clean) or -1. */
int tproc_stop(struct tproc *p);
/*
 * Stops turnd (if it runs); when failed or the stop was not clean, prints
 * its log, else removes the temporary directory.  Returns the exit status
 * of the stop, 0 when there was nothing to stop.
 */
int tproc_finish(struct tproc *p, int failed);
/* Prints the daemon's log to stderr (on failure). */
void tproc_dump_log(const struct tproc *p);
/*
 * Finds the first line of the log holding every string of the
 * NULL-terminated list; copies it (without the newline) to line unless
 * NULL.  Returns 1 when found, else 0.
 */
int tproc_log_find(const struct tproc *p, char *line, size_t len, ...)
    __attribute__((sentinel));
/* The daemon's resident memory (VmRSS) in KiB, or -1. */
long tproc_rss_kb(const struct tproc *p);
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
