/*
 * Allocation quotas: a chained hash of user keys with counts, and a total.
 * Entries are freed when their count drops to zero, so the table holds
 * only users with live allocations.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "quota.h"

#define QUOTA_BUCKETS 1024

struct quota_ent {
	struct quota_ent *next;
	uint32_t count;
	size_t len;
	char key[];
};

struct quota {
	pthread_mutex_t mu;
	size_t total;
	size_t users;
	struct quota_ent *b[QUOTA_BUCKETS];
};

static uint32_t
quota_hash(const char *key, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)key[i];
		h *= 16777619u;
	}
	return h % QUOTA_BUCKETS;
}

struct quota *
quota_new(void)
{
	struct quota *q = calloc(1, sizeof(*q));

	if (q != NULL)
		pthread_mutex_init(&q->mu, NULL);
	return q;
}

void
quota_free(struct quota *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < QUOTA_BUCKETS; i++) {
		struct quota_ent *e = q->b[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&q->mu);
	free(q);
}

static struct quota_ent **
quota_find(struct quota *q, const char *key, size_t len)
{
	struct quota_ent **pp = &q->b[quota_hash(key, len)];

	for (; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->len == len && memcmp((*pp)->key, key, len) == 0)
			break;
	return pp;
}

int
quota_take(struct quota *q, const char *key, size_t len, uint32_t per_user,
    uint32_t total)
{
	struct quota_ent **pp, *e;
	int r = QUOTA_OK;

	pthread_mutex_lock(&q->mu);
	if (total != 0 && q->total >= total) {
		r = QUOTA_TOTAL;
		goto out;
	}
	pp = quota_find(q, key, len);
	if (*pp == NULL) {
		e = malloc(sizeof(*e) + len);
		if (e == NULL) {
			r = QUOTA_NOMEM;
			goto out;
		}
		e->next = NULL;
		e->count = 0;
		e->len = len;
		memcpy(e->key, key, len);
		*pp = e;
		q->users++;
	}
	e = *pp;
	if (per_user != 0 && e->count >= per_user) {
		r = QUOTA_USER;
		goto out;
	}
	e->count++;
	q->total++;
out:
	pthread_mutex_unlock(&q->mu);
	return r;
}

void
quota_put(struct quota *q, const char *key, size_t len)
{
	struct quota_ent **pp, *e;

	pthread_mutex_lock(&q->mu);
	pp = quota_find(q, key, len);
	e = *pp;
	if (e != NULL && e->count > 0) {
		e->count--;
		q->total--;
		if (e->count == 0) {
			*pp = e->next;
			free(e);
			q->users--;
		}
	}
	pthread_mutex_unlock(&q->mu);
}

size_t
quota_total(struct quota *q)
{
	size_t n;

	pthread_mutex_lock(&q->mu);
	n = q->total;
	pthread_mutex_unlock(&q->mu);
	return n;
}

size_t
quota_users(struct quota *q)
{
	size_t n;

	pthread_mutex_lock(&q->mu);
	n = q->users;
	pthread_mutex_unlock(&q->mu);
	return n;
}
