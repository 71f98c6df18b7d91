/*
 * Bounded reader and writer (see rd.h).  Every read or write first asks
 * for its bytes with rd_take or wr_take, which compare the request with
 * what is left (subtracting, never adding, so nothing overflows) and on a
 * shortfall set the sticky error and pin the offset at the end.  Values
 * are big-endian, the network order of every RFC this codec implements.
 */
#include <string.h>

#include "rd.h"
#include "stun.h"

static const uint8_t *rd_take(struct rd *, size_t);
static uint8_t *wr_take(struct wr *, size_t);

void
rd_init(struct rd *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = p != NULL ? len : 0;
	r->off = 0;
	r->err = 0;
}

size_t
rd_left(const struct rd *r)
{
	if (r->err != 0)
		return 0;
	return r->len - r->off;
}

/* Returns the next n bytes and skips them, or NULL with err set. */
static const uint8_t *
rd_take(struct rd *r, size_t n)
{
	const uint8_t *q;

	if (r->err != 0 || n > rd_left(r)) {
		r->err = STUN_ETRUNC;
		r->off = r->len;
		return NULL;
	}
	if (r->p == NULL)
		return NULL;
	q = r->p + r->off;
	r->off += n;
	return q;
}

uint8_t
rd_u8(struct rd *r)
{
	const uint8_t *q = rd_take(r, 1);

	return q != NULL ? q[0] : 0;
}

uint16_t
rd_u16(struct rd *r)
{
	const uint8_t *q = rd_take(r, 2);

	if (q == NULL)
		return 0;
	return (uint16_t)((unsigned)q[0] << 8 | q[1]);
}

uint32_t
rd_u32(struct rd *r)
{
	const uint8_t *q = rd_take(r, 4);

	if (q == NULL)
		return 0;
	return (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 |
	    (uint32_t)q[2] << 8 | q[3];
}

uint64_t
rd_u64(struct rd *r)
{
	uint64_t hi = rd_u32(r);
	uint64_t lo = rd_u32(r);

	if (r->err != 0)
		return 0;
	return hi << 32 | lo;
}

void
rd_bytes(struct rd *r, void *out, size_t n)
{
	const uint8_t *q = rd_take(r, n);

	if (n == 0)
		return;
	if (q != NULL)
		memcpy(out, q, n);
	else
		memset(out, 0, n);
}

const uint8_t *
rd_ptr(struct rd *r, size_t n)
{
	return rd_take(r, n);
}

void
rd_skip(struct rd *r, size_t n)
{
	(void)rd_take(r, n);
}

void
rd_sub(struct rd *r, struct rd *sub, size_t n)
{
	const uint8_t *q = rd_take(r, n);

	if (r->err != 0) {
		rd_init(sub, NULL, 0);
		sub->err = STUN_ETRUNC;
		return;
	}
	rd_init(sub, q, n);
}

void
wr_init(struct wr *w, uint8_t *p, size_t cap)
{
	w->p = p;
	w->cap = p != NULL ? cap : 0;
	w->off = 0;
	w->err = 0;
}

size_t
wr_left(const struct wr *w)
{
	if (w->err != 0)
		return 0;
	return w->cap - w->off;
}

/* Returns room for the next n bytes and claims it, or NULL with err set. */
static uint8_t *
wr_take(struct wr *w, size_t n)
{
	uint8_t *q;

	if (w->err != 0 || n > wr_left(w)) {
		w->err = STUN_ENOSPC;
		return NULL;
	}
	if (w->p == NULL)
		return NULL;
	q = w->p + w->off;
	w->off += n;
	return q;
}

void
wr_u8(struct wr *w, uint8_t v)
{
	uint8_t *q = wr_take(w, 1);

	if (q != NULL)
		q[0] = v;
}

void
wr_u16(struct wr *w, uint16_t v)
{
	uint8_t *q = wr_take(w, 2);

	if (q == NULL)
		return;
	q[0] = (uint8_t)(v >> 8);
	q[1] = (uint8_t)v;
}

void
wr_u32(struct wr *w, uint32_t v)
{
	uint8_t *q = wr_take(w, 4);

	if (q == NULL)
		return;
	q[0] = (uint8_t)(v >> 24);
	q[1] = (uint8_t)(v >> 16);
	q[2] = (uint8_t)(v >> 8);
	q[3] = (uint8_t)v;
}

void
wr_u64(struct wr *w, uint64_t v)
{
	if (8 > wr_left(w)) {
		w->err = STUN_ENOSPC;
		return;
	}
	wr_u32(w, (uint32_t)(v >> 32));
	wr_u32(w, (uint32_t)v);
}

void
wr_bytes(struct wr *w, const void *p, size_t n)
{
	uint8_t *q = wr_take(w, n);

	if (q != NULL && n > 0)
		memcpy(q, p, n);
}

void
wr_zero(struct wr *w, size_t n)
{
	uint8_t *q = wr_take(w, n);

	if (q != NULL && n > 0)
		memset(q, 0, n);
}

/*
 * The fix-ups may only touch bytes already written: anything else is a
 * caller's mistake, reported as the sticky error like a short buffer.
 */
void
wr_put_u16_at(struct wr *w, size_t off, uint16_t v)
{
	if (w->err != 0)
		return;
	if (off > w->off || 2 > w->off - off) {
		w->err = STUN_ENOSPC;
		return;
	}
	w->p[off] = (uint8_t)(v >> 8);
	w->p[off + 1] = (uint8_t)v;
}

void
wr_put_u32_at(struct wr *w, size_t off, uint32_t v)
{
	if (w->err != 0)
		return;
	if (off > w->off || 4 > w->off - off) {
		w->err = STUN_ENOSPC;
		return;
	}
	w->p[off] = (uint8_t)(v >> 24);
	w->p[off + 1] = (uint8_t)(v >> 16);
	w->p[off + 2] = (uint8_t)(v >> 8);
	w->p[off + 3] = (uint8_t)v;
}
