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
/*
 * Serves a connected stream socket (non-blocking) as if accepted on the
 * full (readonly 0) or the read-only socket; takes fd.  Returns 0 or -1.
 * The accept path uses it, and so does the control-protocol fuzz target.
 */
int control_adopt(struct control *ctl, int fd, int readonly);

#endif
