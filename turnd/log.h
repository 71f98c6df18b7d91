/*
 * Logging, shaped like OpenBSD's log.c: one event a line, key=value, to
 * stderr or syslog.  log_warn appends the errno text; fatal and fatalx are
 * for start-up, config and broken internal invariants only.  Thread-safe:
 * each line is one write.  Never pass a password, key, MAC or nonce.
 */
#ifndef TURND_LOG_H
#define TURND_LOG_H

#include <stdarg.h>
#include <stddef.h>

#define LOG_LVL_ERROR 0
#define LOG_LVL_WARN 1
#define LOG_LVL_INFO 2
#define LOG_LVL_DEBUG 3

void log_init(int level, int use_syslog, const char *ident);
void log_setlevel(int level);
int log_getlevel(void);
/* Returns LOG_LVL_* for "error", "warn", "info", "debug", or -1. */
int log_level_parse(const char *s);
const char *log_level_name(int level);

/*
 * A value a client chose (a USERNAME), made safe for a key=value line:
 * returned as it is when it holds only [A-Za-z0-9._:@/+-], else in double
 * quotes with \", \\ and \xNN escapes, cut at LOG_QUOTE_MAX bytes of
 * output.  Writes into buf and returns it.
 */
#define LOG_QUOTE_MAX 200
const char *log_quote(const void *p, size_t len, char *buf, size_t buflen);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
