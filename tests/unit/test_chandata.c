/*
 * ChannelData: the header, channel ranges (RFC 8656 and RFC 5766's legacy
 * range behind a flag), datagrams with and without padding, stream frames
 * that must include it, and short or garbage buffers.
 */
#include <string.h>

#include "chandata.h"
#include "check.h"
#include "stun.h"

static const struct {
	const char *name;
	const char *hex;
	int flags;
	int want;
	uint16_t chan, len;
} cases[] = {
    {"datagram, no padding", "40 00 00 05 68 65 6c 6c 6f", 0, 0, 0x4000, 5},
    {"datagram, padded", "4f ff 00 05 68 65 6c 6c 6f 00 00 00", 0, 0, 0x4fff,
        5},
    {"datagram, partly padded", "40 01 00 05 68 65 6c 6c 6f 00", 0, 0, 0x4001,
        5},
    {"datagram, 4 bytes too many", "40 01 00 01 68 00 00 00 00", 0,
        STUN_EBADLEN, 0, 0},
    {"datagram, empty data", "40 01 00 00", 0, 0, 0x4001, 0},
    {"datagram, short data", "40 01 00 05 68 65 6c 6c", 0, STUN_ETRUNC, 0, 0},
    {"header only, length 1", "40 01 00 01", 0, STUN_ETRUNC, 0, 0},
    {"three bytes", "40 01 00", 0, STUN_ETRUNC, 0, 0},
    {"empty", "", 0, STUN_ETRUNC, 0, 0},
    {"stream, padded", "40 02 00 05 68 65 6c 6c 6f 00 00 00", CHANDATA_F_STREAM,
        0, 0x4002, 5},
    {"stream, aligned", "40 02 00 04 68 65 6c 6c", CHANDATA_F_STREAM, 0, 0x4002,
        4},
    {"stream, padding missing", "40 02 00 05 68 65 6c 6c 6f", CHANDATA_F_STREAM,
        STUN_ETRUNC, 0, 0},
    {"stream, too long", "40 02 00 04 68 65 6c 6c 00 00 00 00",
        CHANDATA_F_STREAM, STUN_EBADLEN, 0, 0},
    {"STUN bits 00", "00 01 00 00", 0, STUN_EFRAME, 0, 0},
    {"bits 10", "80 00 00 00", 0, STUN_EFRAME, 0, 0},
    {"bits 11", "ff ff 00 00", 0, STUN_EFRAME, 0, 0},
    {"legacy 0x5000 refused", "50 00 00 01 61", 0, STUN_ECHANNEL, 0, 0},
    {"legacy 0x7fff refused", "7f ff 00 01 61", 0, STUN_ECHANNEL, 0, 0},
    {"legacy 0x5000 accepted", "50 00 00 01 61", CHANDATA_F_LEGACY, 0, 0x5000,
        1},
    {"legacy 0x7fff accepted", "7f ff 00 01 61 00 00 00",
        CHANDATA_F_LEGACY | CHANDATA_F_STREAM, 0, 0x7fff, 1},
    {"0x4fff with legacy", "4f ff 00 00", CHANDATA_F_LEGACY, 0, 0x4fff, 0},
    {"0x3fff", "3f ff 00 00", CHANDATA_F_LEGACY, STUN_EFRAME, 0, 0},
};

static void
test_decode(void)
{
	uint8_t buf[64];
	struct chandata cd;
	size_t i, n;
	int err;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = check_unhex(cases[i].hex, buf, sizeof(buf));
		memset(&cd, 0, sizeof(cd));
		err = chandata_decode(&cd, buf, n, cases[i].flags);
		if (!CHECK_MSG(err == cases[i].want, "%s: %d, want %d",
		        cases[i].name, err, cases[i].want) ||
		    err != 0)
			continue;
		CHECK_MSG(cd.chan == cases[i].chan, "%s: chan", cases[i].name);
		CHECK_MSG(cd.len == cases[i].len, "%s: len", cases[i].name);
		CHECK_MSG(cd.data == buf + 4, "%s: data", cases[i].name);
	}
	CHECK_EQ_INT(chandata_decode(&cd, NULL, 0, 0), STUN_ETRUNC);

	n = check_unhex(cases[0].hex, buf, sizeof(buf));
	CHECK_EQ_INT(chandata_decode(&cd, buf, n, 0), 0);
	CHECK_MEMEQ(cd.data, cd.len, "hello", 5);
}

static void
test_hdr(void)
{
	static const uint8_t want[] = {0x4a, 0xbc, 0x01, 0x02};
	uint8_t hdr[CHANDATA_HDR_LEN];

	chandata_hdr(hdr, 0x4abc, 0x0102);
	CHECK_MEMEQ(hdr, sizeof(hdr), want, sizeof(want));

	CHECK(!chandata_valid_channel(0x0000, 0));
	CHECK(!chandata_valid_channel(0x3fff, 0));
	CHECK(chandata_valid_channel(0x4000, 0));
	CHECK(chandata_valid_channel(0x4fff, 0));
	CHECK(!chandata_valid_channel(0x5000, 0));
	CHECK(chandata_valid_channel(0x5000, 1));
	CHECK(chandata_valid_channel(0x7fff, 1));
	CHECK(!chandata_valid_channel(0x8000, 1));
	CHECK(!chandata_valid_channel(0xffff, 1));
	CHECK(!chandata_valid_channel(0x3fff, 1));
}

int
main(void)
{
	test_decode();
	test_hdr();
	return CHECK_DONE();
}
