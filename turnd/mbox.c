/*
 * Mailboxes between threads: a mutex-protected queue and an eventfd that
 * wakes the receiver's event loop.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "mbox.h"

static void
mbox_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mbox *mb = arg;
	struct mmsg *m;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("event=mbox_read_failed");
	for (;;) {
		pthread_mutex_lock(&mb->mu);
		m = TAILQ_FIRST(&mb->q);
		if (m != NULL)
			TAILQ_REMOVE(&mb->q, m, entry);
		pthread_mutex_unlock(&mb->mu);
		if (m == NULL)
			break;
		m->fn(m, mb->ctx);
	}
}

int
mbox_init(struct mbox *mb, struct event_base *base, void *ctx)
{
	pthread_mutex_init(&mb->mu, NULL);
	TAILQ_INIT(&mb->q);
	mb->ctx = ctx;
	mb->ev = NULL;
	mb->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (mb->fd == -1)
		return -1;
	mb->ev = event_new(base, mb->fd, EV_READ | EV_PERSIST, mbox_cb, mb);
	if (mb->ev == NULL || event_add(mb->ev, NULL) != 0)
		return -1;
	return 0;
}

void
mbox_destroy(struct mbox *mb)
{
	struct mmsg *m;

	if (mb->ev != NULL)
		event_free(mb->ev);
	mb->ev = NULL;
	if (mb->fd != -1)
		close(mb->fd);
	mb->fd = -1;
	while ((m = TAILQ_FIRST(&mb->q)) != NULL)
		TAILQ_REMOVE(&mb->q, m, entry);
	pthread_mutex_destroy(&mb->mu);
}

void
mbox_post(struct mbox *mb, struct mmsg *m)
{
	uint64_t one = 1;

	pthread_mutex_lock(&mb->mu);
	TAILQ_INSERT_TAIL(&mb->q, m, entry);
	pthread_mutex_unlock(&mb->mu);
	if (write(mb->fd, &one, sizeof(one)) != sizeof(one))
		log_warn("event=mbox_write_failed");
}
