/*
 * What tclient.c calls of the stream transport in tclient_stream.c; tests
 * use tclient.h.
 */
#ifndef TURND_TESTS_TCLIENT_STREAM_H
#define TURND_TESTS_TCLIENT_STREAM_H

#include <stddef.h>

#include "tclient.h"

/* tc_send_raw on a stream: all of p[0..len), in write_chunk pieces. */
int tc_stream_send(struct tc *c, const void *p, size_t len);
/* tc_recv_raw on a stream: the next whole frame. */
int tc_stream_recv(struct tc *c, void *buf, size_t cap, int timeout_ms);
/* Frees what a stream holds (TLS state, buffer), not the socket. */
void tc_stream_close(struct tc *c);

#endif
