/*
 * Prometheus metrics and health over HTTP (libevent's evhttp) on the main
 * thread: /metrics, /healthz (alive) and /readyz (listening, configured,
 * not draining).
 */
#ifndef TURND_METRICS_H
#define TURND_METRICS_H

#include <stdio.h>

struct server;
struct metrics;

/* Binds metrics.listen, if set. Returns 0 or -1. */
int metrics_start(struct server *srv);
void metrics_free(struct metrics *m);
/* Writes the metrics text of srv to f (also used by tests). */
void metrics_write(struct server *srv, FILE *f);

#endif
