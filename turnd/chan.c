/*
 * Channels (RFC 8656 section 12): per allocation, channel numbers bound to
 * peer transport addresses for 600 seconds from the last ChannelBind.
 * After a binding expires, its number and its peer stay held for five
 * minutes: neither may be bound to anything else in that time, though the
 * same pair may be bound again.  A small array scanned linearly.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "worker.h"

static int
chan_live(const struct turn_chan *c, uint32_t now)
{
	return (int32_t)(c->expires - now) > 0;
}

int
chan_bind(struct turn_alloc *a, uint16_t num, const union taddr *peer,
    uint32_t now, uint32_t max)
{
	struct turn_chan *c = NULL;

	/* bound or held entries block a different pairing either way */
	for (uint16_t i = 0; i < a->n_chan; i++) {
		struct turn_chan *e = &a->chans[i];
		int same_num = e->num == num, same_peer = taddr_eq(&e->peer,
		    peer);

		if (same_num && same_peer)
			c = e;
		else if (same_num || same_peer)
			return CHAN_CONFLICT;
	}
	if (c == NULL) {
		if (a->n_chan >= max)
			return CHAN_FULL;
		if (a->n_chan == a->cap_chan) {
			uint16_t cap = a->cap_chan ? a->cap_chan * 2 : 2;
			struct turn_chan *nc;

			if (cap > max)
				cap = (uint16_t)max;
			nc = reallocarray(a->chans, cap, sizeof(*nc));
			if (nc == NULL)
				return CHAN_FULL;
			a->chans = nc;
			a->cap_chan = cap;
		}
		c = &a->chans[a->n_chan++];
		if (a->w != NULL)
			GAUGE_ADD(&a->w->stats, CHANNELS, 1);
		memset(c, 0, sizeof(*c));
		c->num = num;
		c->peer = *peer;
	}
	c->expires = now + CHAN_LIFETIME_S;
	return CHAN_OK;
}

struct turn_chan *
chan_by_num(struct turn_alloc *a, uint16_t num, uint32_t now)
{
	for (uint16_t i = 0; i < a->n_chan; i++)
		if (a->chans[i].num == num)
			return chan_live(&a->chans[i], now) ? &a->chans[i] :
			    NULL;
	return NULL;
}

struct turn_chan *
chan_by_peer(struct turn_alloc *a, const union taddr *peer, uint32_t now)
{
	for (uint16_t i = 0; i < a->n_chan; i++)
		if (taddr_eq(&a->chans[i].peer, peer))
			return chan_live(&a->chans[i], now) ? &a->chans[i] :
			    NULL;
	return NULL;
}

void
chan_prune(struct turn_alloc *a, uint32_t now)
{
	uint16_t i = 0;

	while (i < a->n_chan) {
		/* keep expired bindings for the hold period */
		if ((int32_t)(a->chans[i].expires + CHAN_HOLD_S - now) <= 0) {
			a->chans[i] = a->chans[--a->n_chan];
			if (a->w != NULL)
				GAUGE_ADD(&a->w->stats, CHANNELS, -1);
		} else
			i++;
	}
}
