/*
 * struct rd and struct wr: big-endian values, the sticky error, reads and
 * writes at and past the end, sub-readers and the writer's fix-ups.
 */
#include <string.h>

#include "check.h"
#include "rd.h"
#include "stun.h"

static const uint8_t bytes[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};

/* A read of width w at offset off of a buffer of len bytes. */
static const struct {
	size_t len, off;
	int width;
	uint64_t want;
	int err;
} reads[] = {
    {15, 0, 1, 0x01, 0},
    {15, 14, 1, 0x0f, 0},
    {15, 15, 1, 0, STUN_ETRUNC},
    {15, 0, 2, 0x0102, 0},
    {15, 13, 2, 0x0e0f, 0},
    {15, 14, 2, 0, STUN_ETRUNC},
    {15, 0, 4, 0x01020304, 0},
    {15, 11, 4, 0x0c0d0e0f, 0},
    {15, 12, 4, 0, STUN_ETRUNC},
    {15, 0, 8, 0x0102030405060708ULL, 0},
    {15, 7, 8, 0x08090a0b0c0d0e0fULL, 0},
    {15, 8, 8, 0, STUN_ETRUNC},
    {0, 0, 1, 0, STUN_ETRUNC},
    {3, 0, 4, 0, STUN_ETRUNC},
};

static void
test_reads(void)
{
	size_t i;

	for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		struct rd r;
		uint64_t got = 0;

		rd_init(&r, bytes, reads[i].len);
		rd_skip(&r, reads[i].off);
		switch (reads[i].width) {
		case 1:
			got = rd_u8(&r);
			break;
		case 2:
			got = rd_u16(&r);
			break;
		case 4:
			got = rd_u32(&r);
			break;
		case 8:
			got = rd_u64(&r);
			break;
		}
		CHECK_MSG(got == reads[i].want, "read %zu: got %llx", i,
		    (unsigned long long)got);
		CHECK_MSG(r.err == reads[i].err, "read %zu: err %d", i, r.err);
		if (reads[i].err != 0)
			CHECK_MSG(rd_left(&r) == 0, "read %zu: left", i);
	}
}

static void
test_sticky(void)
{
	struct rd r;
	uint8_t out[4] = {0xff, 0xff, 0xff, 0xff};

	rd_init(&r, bytes, 3);
	CHECK_EQ_INT(rd_u16(&r), 0x0102);
	CHECK_EQ_INT(rd_left(&r), 1);
	CHECK_EQ_INT(rd_u16(&r), 0);
	CHECK_EQ_INT(r.err, STUN_ETRUNC);
	/* Once failed, even a read that would fit returns nothing. */
	CHECK_EQ_INT(rd_u8(&r), 0);
	CHECK(rd_ptr(&r, 0) == NULL);
	CHECK_EQ_INT(rd_left(&r), 0);
	CHECK_EQ_INT(r.err, STUN_ETRUNC);

	rd_init(&r, bytes, 3);
	rd_bytes(&r, out, 4);
	CHECK_EQ_INT(r.err, STUN_ETRUNC);
	CHECK(out[0] == 0 && out[1] == 0 && out[2] == 0 && out[3] == 0);

	rd_init(&r, bytes, 5);
	rd_bytes(&r, out, 4);
	CHECK_MEMEQ(out, 4, bytes, 4);
	CHECK(rd_ptr(&r, 1) == bytes + 4);
	CHECK(rd_ptr(&r, 1) == NULL);

	/* A length larger than anything still fails cleanly. */
	rd_init(&r, bytes, 15);
	rd_skip(&r, SIZE_MAX);
	CHECK_EQ_INT(r.err, STUN_ETRUNC);

	rd_init(&r, NULL, 10);
	CHECK_EQ_INT(rd_left(&r), 0);
	CHECK_EQ_INT(rd_u8(&r), 0);
	CHECK_EQ_INT(r.err, STUN_ETRUNC);
}

static void
test_sub(void)
{
	struct rd r, sub;

	rd_init(&r, bytes, 15);
	rd_skip(&r, 2);
	rd_sub(&r, &sub, 4);
	CHECK_EQ_INT(r.err, 0);
	CHECK_EQ_INT(r.off, 6);
	CHECK_EQ_INT(rd_left(&sub), 4);
	CHECK_EQ_INT(rd_u32(&sub), 0x03040506);
	/* The sub-reader stops at its bound, not the buffer's end. */
	CHECK_EQ_INT(rd_u8(&sub), 0);
	CHECK_EQ_INT(sub.err, STUN_ETRUNC);
	CHECK_EQ_INT(r.err, 0);
	CHECK_EQ_INT(rd_u8(&r), 0x07);

	rd_init(&r, bytes, 15);
	rd_skip(&r, 10);
	rd_sub(&r, &sub, 6);
	CHECK_EQ_INT(r.err, STUN_ETRUNC);
	CHECK_EQ_INT(sub.err, STUN_ETRUNC);
	CHECK_EQ_INT(rd_left(&sub), 0);

	rd_init(&r, bytes, 15);
	rd_sub(&r, &sub, 0);
	CHECK_EQ_INT(sub.err, 0);
	CHECK_EQ_INT(rd_left(&sub), 0);
	CHECK_EQ_INT(rd_left(&r), 15);
}

static void
test_writer(void)
{
	static const uint8_t want[] = {0xab, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef,
	    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 'h', 'i', 0, 0, 0};
	uint8_t buf[20], small[6];
	struct wr w;

	memset(buf, 0xee, sizeof(buf));
	wr_init(&w, buf, sizeof(buf));
	wr_u8(&w, 0xab);
	wr_u16(&w, 0x1234);
	wr_u32(&w, 0xdeadbeef);
	wr_u64(&w, 0x0102030405060708ULL);
	wr_bytes(&w, "hi", 2);
	wr_zero(&w, 3);
	CHECK_EQ_INT(w.err, 0);
	CHECK_EQ_INT(w.off, 20);
	CHECK_EQ_INT(wr_left(&w), 0);
	CHECK_MEMEQ(buf, sizeof(buf), want, sizeof(want));

	wr_put_u16_at(&w, 1, 0x5678);
	wr_put_u32_at(&w, 16, 0x11223344);
	CHECK_EQ_INT(w.err, 0);
	CHECK_EQ_INT(buf[1], 0x56);
	CHECK_EQ_INT(buf[2], 0x78);
	CHECK_EQ_INT(buf[16], 0x11);
	CHECK_EQ_INT(buf[19], 0x44);

	/* Out of room: nothing written, error sticky. */
	memset(small, 0xee, sizeof(small));
	wr_init(&w, small, sizeof(small));
	wr_u32(&w, 0x01020304);
	wr_u32(&w, 0x05060708);
	CHECK_EQ_INT(w.err, STUN_ENOSPC);
	CHECK_EQ_INT(small[4], 0xee);
	wr_u8(&w, 1);
	CHECK_EQ_INT(small[4], 0xee);
	CHECK_EQ_INT(wr_left(&w), 0);

	wr_init(&w, small, sizeof(small));
	wr_u64(&w, 1);
	CHECK_EQ_INT(w.err, STUN_ENOSPC);
	CHECK_EQ_INT(small[0], 0x01);

	/* Fix-ups only inside what was written. */
	wr_init(&w, buf, sizeof(buf));
	wr_u16(&w, 0);
	wr_u8(&w, 0);
	wr_put_u16_at(&w, 1, 0xffff);
	CHECK_EQ_INT(w.err, 0);
	wr_put_u16_at(&w, 2, 0xffff);
	CHECK_EQ_INT(w.err, STUN_ENOSPC);
	wr_init(&w, buf, sizeof(buf));
	wr_u16(&w, 0);
	wr_put_u32_at(&w, 0, 1);
	CHECK_EQ_INT(w.err, STUN_ENOSPC);
	wr_init(&w, buf, sizeof(buf));
	wr_put_u16_at(&w, SIZE_MAX, 1);
	CHECK_EQ_INT(w.err, STUN_ENOSPC);
}

int
main(void)
{
	test_reads();
	test_sticky();
	test_sub();
	test_writer();
	return CHECK_DONE();
}
