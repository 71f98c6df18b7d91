/*
 * Bounded reader and writer over byte buffers.  Every parse in proto/ goes
 * through struct rd: a read past the end returns zero bytes and sets a
 * sticky error, so a caller checks rd->err once after a group of reads
 * instead of before each one.  struct wr is its twin for encoding.
 */
#ifndef TURND_PROTO_RD_H
#define TURND_PROTO_RD_H

#include <stddef.h>
#include <stdint.h>

struct rd {
	const uint8_t *p; /* borrowed */
	size_t len;
	size_t off;
	int err; /* 0 or STUN_ETRUNC, sticky */
};

struct wr {
	uint8_t *p; /* borrowed */
	size_t cap;
	size_t off;
	int err; /* 0 or STUN_ENOSPC, sticky */
};

void rd_init(struct rd *r, const uint8_t *p, size_t len);
/* Bytes left to read; 0 once err is set. */
size_t rd_left(const struct rd *r);
uint8_t rd_u8(struct rd *r);
uint16_t rd_u16(struct rd *r);
uint32_t rd_u32(struct rd *r);
uint64_t rd_u64(struct rd *r);
/* Copies n bytes into out (zeros on error). */
void rd_bytes(struct rd *r, void *out, size_t n);
/* Returns a pointer to the next n bytes and skips them, or NULL. */
const uint8_t *rd_ptr(struct rd *r, size_t n);
void rd_skip(struct rd *r, size_t n);
/*
 * Makes sub a reader over the next n bytes of r and skips them in r
 * (bgpd's ibuf_get_ibuf).  On error sub is empty with err set.
 */
void rd_sub(struct rd *r, struct rd *sub, size_t n);

void wr_init(struct wr *w, uint8_t *p, size_t cap);
size_t wr_left(const struct wr *w);
void wr_u8(struct wr *w, uint8_t v);
void wr_u16(struct wr *w, uint16_t v);
void wr_u32(struct wr *w, uint32_t v);
void wr_u64(struct wr *w, uint64_t v);
void wr_bytes(struct wr *w, const void *p, size_t n);
void wr_zero(struct wr *w, size_t n);
/* Overwrites a 16-bit value at an offset already written. */
void wr_put_u16_at(struct wr *w, size_t off, uint16_t v);
void wr_put_u32_at(struct wr *w, size_t off, uint32_t v);

#endif
