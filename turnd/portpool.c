/*
 * The relay port pool: a bitmap of the range under a mutex.  Choosing a
 * port: draw one at random and, if it is taken, walk forward from it to
 * the next free one, so the choice stays spread over the range and ends
 * in at most one pass.  Reservations (EVEN-PORT with R set) are a small
 * table of token, port, socket and expiry.
 */
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portpool.h"

#define PORTPOOL_MAX_RESERVATIONS 1024

struct reservation {
	uint8_t token[PORTPOOL_TOKEN_LEN];
	uint16_t port;
	int fd; /* -1: slot free */
	uint32_t expires;
};

struct portpool {
	pthread_mutex_t mu;
	uint16_t min;
	uint16_t max;
	size_t used;
	size_t n_res; /* live reservations */
	uint8_t *bits; /* bit i: port min + i taken */
	struct reservation res[PORTPOOL_MAX_RESERVATIONS];
};

static int bit_get(const struct portpool *, uint32_t);
static void bit_set(struct portpool *, uint32_t, int);

struct portpool *
portpool_new(uint16_t min, uint16_t max)
{
	struct portpool *p;
	size_t n;

	if (min == 0 || min > max)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	n = (size_t)(max - min) + 1;
	p->bits = calloc((n + 7) / 8, 1);
	if (p->bits == NULL) {
		free(p);
		return NULL;
	}
	p->min = min;
	p->max = max;
	for (size_t i = 0; i < PORTPOOL_MAX_RESERVATIONS; i++)
		p->res[i].fd = -1;
	pthread_mutex_init(&p->mu, NULL);
	return p;
}

void
portpool_free(struct portpool *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < PORTPOOL_MAX_RESERVATIONS; i++)
		if (p->res[i].fd != -1)
			close(p->res[i].fd);
	pthread_mutex_destroy(&p->mu);
	free(p->bits);
	free(p);
}

static int
bit_get(const struct portpool *p, uint32_t i)
{
	return (p->bits[i / 8] >> (i % 8)) & 1;
}

static void
bit_set(struct portpool *p, uint32_t i, int on)
{
	if (on)
		p->bits[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		p->bits[i / 8] &= (uint8_t)~(1u << (i % 8));
}

int
portpool_take(struct portpool *p, uint32_t rnd, int even, uint16_t *port)
{
	uint32_t n = (uint32_t)(p->max - p->min) + 1, start = rnd % n;
	int found = -1;

	pthread_mutex_lock(&p->mu);
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = (start + k) % n;
		uint32_t pn = p->min + i;

		if (bit_get(p, i))
			continue;
		if (even) {
			if (pn % 2 != 0 || i + 1 >= n || bit_get(p, i + 1))
				continue;
			bit_set(p, i + 1, 1);
			p->used++;
		}
		bit_set(p, i, 1);
		p->used++;
		found = (int)pn;
		break;
	}
	pthread_mutex_unlock(&p->mu);
	if (found < 0)
		return -1;
	*port = (uint16_t)found;
	return 0;
}

void
portpool_put(struct portpool *p, uint16_t port)
{
	if (port < p->min || port > p->max)
		return;
	pthread_mutex_lock(&p->mu);
	if (bit_get(p, (uint32_t)(port - p->min))) {
		bit_set(p, (uint32_t)(port - p->min), 0);
		p->used--;
	}
	pthread_mutex_unlock(&p->mu);
}

int
portpool_reserve(struct portpool *p, uint16_t port, int fd,
    const uint8_t token[PORTPOOL_TOKEN_LEN], uint32_t expires)
{
	int r = -1;

	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < PORTPOOL_MAX_RESERVATIONS; i++) {
		struct reservation *res = &p->res[i];

		if (res->fd != -1)
			continue;
		memcpy(res->token, token, PORTPOOL_TOKEN_LEN);
		res->port = port;
		res->fd = fd;
		res->expires = expires;
		p->n_res++;
		r = 0;
		break;
	}
	pthread_mutex_unlock(&p->mu);
	return r;
}

int
portpool_claim(struct portpool *p, const uint8_t token[PORTPOOL_TOKEN_LEN],
    uint32_t now, uint16_t *port, int *fd)
{
	int r = -1;

	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < PORTPOOL_MAX_RESERVATIONS; i++) {
		struct reservation *res = &p->res[i];

		if (res->fd == -1 ||
		    CRYPTO_memcmp(res->token, token, PORTPOOL_TOKEN_LEN) != 0)
			continue;
		if ((int32_t)(res->expires - now) < 0)
			break; /* portpool_expire will release it */
		*port = res->port;
		*fd = res->fd;
		res->fd = -1;
		p->n_res--;
		r = 0;
		break;
	}
	pthread_mutex_unlock(&p->mu);
	return r;
}

void
portpool_expire(struct portpool *p, uint32_t now)
{
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < PORTPOOL_MAX_RESERVATIONS && p->n_res > 0; i++) {
		struct reservation *res = &p->res[i];
		uint32_t bit;

		if (res->fd == -1 || (int32_t)(res->expires - now) >= 0)
			continue;
		close(res->fd);
		res->fd = -1;
		p->n_res--;
		bit = (uint32_t)(res->port - p->min);
		if (bit_get(p, bit)) {
			bit_set(p, bit, 0);
			p->used--;
		}
	}
	pthread_mutex_unlock(&p->mu);
}

int
portpool_has(struct portpool *p, uint16_t port)
{
	int r;

	if (port < p->min || port > p->max)
		return 0;
	pthread_mutex_lock(&p->mu);
	r = bit_get(p, (uint32_t)(port - p->min));
	pthread_mutex_unlock(&p->mu);
	return r;
}

size_t
portpool_used(struct portpool *p)
{
	size_t n;

	pthread_mutex_lock(&p->mu);
	n = p->used;
	pthread_mutex_unlock(&p->mu);
	return n;
}

size_t
portpool_size(const struct portpool *p)
{
	return (size_t)(p->max - p->min) + 1;
}
