/*
 * Mailboxes: how threads talk.  A message is a function to run on the
 * receiving thread, with its argument; posting takes a mutex and wakes the
 * receiver's event loop through an eventfd.  Used only on the control path
 * (stop, reload, collecting sessions for turnctl), never per packet.
 */
#ifndef TURND_MBOX_H
#define TURND_MBOX_H

#include <pthread.h>
#include <sys/queue.h>

struct event;
struct event_base;

struct mmsg {
	TAILQ_ENTRY(mmsg) entry;
	/* Runs on the receiving thread; owns m from then on. */
	void (*fn)(struct mmsg *m, void *ctx);
	void *arg;
};

struct mbox {
	pthread_mutex_t mu;
	TAILQ_HEAD(, mmsg) q;
	int fd; /* eventfd */
	struct event *ev;
	void *ctx; /* handed to each message's fn */
};

/* Sets up mb on base; messages will get ctx. Returns 0 or -1. */
int mbox_init(struct mbox *mb, struct event_base *base, void *ctx);
/* Frees the event and eventfd; messages still queued are dropped. */
void mbox_destroy(struct mbox *mb);
/* Queues m for the thread of mb. Thread-safe. */
void mbox_post(struct mbox *mb, struct mmsg *m);

#endif
