/*
 * The control socket: turnctl's way in (ctl.h has the protocol).  Runs on
 * the main thread.  Show requests about allocations are answered by
 * asking every worker through its mailbox and assembling the replies.
 */
#ifndef TURND_CONTROL_H
#define TURND_CONTROL_H

struct server;
struct control;

/* Opens the sockets of the configuration, if any. Returns 0 or -1. */
int control_start(struct server *srv);
void control_free(struct control *ctl);

#endif
