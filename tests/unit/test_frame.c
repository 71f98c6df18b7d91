/*
 * Stream framing: how many bytes each head of a stream needs, STUN and
 * ChannelData frames split at every byte, padded ChannelData, garbage and
 * oversize frames, and a whole stream cut into frames.
 */
#include <string.h>

#include "chandata.h"
#include "check.h"
#include "frame.h"
#include "stun.h"
#include "stun_enc.h"
#include "stun_msg.h"

#define MAX 1500

static const struct {
	const char *name;
	const char *hex;
	size_t max;
	int want;
} heads[] = {
    {"nothing", "", MAX, 0},
    {"STUN, 1 byte", "00", MAX, 0},
    {"STUN, 7 bytes", "00 01 00 08 21 12 a4", MAX, 0},
    {"STUN, 8 bytes", "00 01 00 08 21 12 a4 42", MAX, 28},
    {"STUN, empty body", "00 01 00 00 21 12 a4 42", MAX, 20},
    {"STUN, bad cookie", "00 01 00 08 21 12 a4 43", MAX, STUN_EFRAME},
    {"STUN, length 6", "00 01 00 06 21 12 a4 42", MAX, STUN_EFRAME},
    {"STUN, 65535 + 20 refused", "00 01 ff fc 21 12 a4 42", MAX, STUN_ETOOBIG},
    {"STUN, at the limit", "00 01 05 c8 21 12 a4 42", MAX, 1500},
    {"STUN, one word over", "00 01 05 cc 21 12 a4 42", MAX, STUN_ETOOBIG},
    {"ChannelData, 3 bytes", "40 00 00", MAX, 0},
    {"ChannelData, 4 bytes", "40 00 00 05", MAX, 12},
    {"ChannelData, aligned", "40 00 00 08", MAX, 12},
    {"ChannelData, empty", "4f ff 00 00", MAX, 4},
    {"ChannelData, legacy range", "7f ff 00 01", MAX, 8},
    {"ChannelData, too big", "40 00 ff ff", MAX, STUN_ETOOBIG},
    {"ChannelData, max 65535 padded", "40 00 ff ff", 70000, 65540},
    {"bits 10", "80", MAX, STUN_EFRAME},
    {"bits 11", "c0 00 00 00 00 00 00 00", MAX, STUN_EFRAME},
    {"TLS record", "16 03 01 02 00 01 00 01", MAX, STUN_EFRAME},
    /* "GET " starts with bits 01: a huge ChannelData, refused by size. */
    {"HTTP", "47 45 54 20", MAX, STUN_ETOOBIG},
};

static void
test_heads(void)
{
	uint8_t buf[64];
	size_t i, n;
	int got;

	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		n = check_unhex(heads[i].hex, buf, sizeof(buf));
		got = stun_frame_len(buf, n, heads[i].max);
		CHECK_MSG(got == heads[i].want, "%s: %d, want %d",
		    heads[i].name, got, heads[i].want);
	}
	CHECK_EQ_INT(stun_frame_len(NULL, 0, MAX), 0);
}

/* A stream of frames; returns its length and the frame lengths. */
static size_t
make_stream(uint8_t *s, size_t cap, size_t *lens, size_t *nframes)
{
	static const uint8_t txid[12] = {1};
	static const uint8_t key[4] = "key";
	struct stun_enc e;
	size_t off = 0, k = 0;
	int len;

	/* ChannelData of 5 bytes, padded on a stream. */
	chandata_hdr(s, 0x4001, 5);
	memcpy(s + 4, "hello\0\0\0", 8);
	lens[k++] = 12;
	off = 12;
	/* A Refresh request with integrity and fingerprint. */
	stun_enc_init(&e, s + off, cap - off, 0x0004, txid);
	stun_enc_u32(&e, STUN_ATTR_LIFETIME, 0);
	stun_enc_str(&e, STUN_ATTR_USERNAME, "u");
	stun_enc_integrity(&e, key, sizeof(key));
	stun_enc_fingerprint(&e);
	len = stun_enc_finish(&e);
	lens[k++] = (size_t)len;
	off += (size_t)len;
	/* Empty ChannelData, then aligned ChannelData. */
	chandata_hdr(s + off, 0x4fff, 0);
	lens[k++] = 4;
	off += 4;
	chandata_hdr(s + off, 0x4002, 8);
	memcpy(s + off + 4, "12345678", 8);
	lens[k++] = 12;
	off += 12;
	*nframes = k;
	return off;
}

/* Feed the stream in pieces of chunk bytes, as a TCP reader would. */
static void
test_split(void)
{
	uint8_t s[512], rx[512];
	size_t lens[8], nframes, total, chunk, have, fed, k, i;
	struct chandata cd;
	struct stun_msg m;
	int got, ok;

	total = make_stream(s, sizeof(s), lens, &nframes);
	for (chunk = 1; chunk <= total; chunk++) {
		have = fed = k = 0;
		ok = 1;
		while (ok && k < nframes) {
			got = stun_frame_len(rx, have, MAX);
			if (got < 0) {
				ok = 0;
			} else if (got == 0 || (size_t)got > have) {
				/* Need more: read the next chunk. */
				size_t n = total - fed;

				if (n > chunk)
					n = chunk;
				ok = n > 0;
				memcpy(rx + have, s + fed, n);
				have += n;
				fed += n;
			} else {
				/* A whole frame: decode it as a server would. */
				ok = (size_t)got == lens[k];
				if (ok && rx[0] >> 6 == 1)
					ok = chandata_decode(&cd, rx,
					         (size_t)got,
					         CHANDATA_F_STREAM) == 0;
				else if (ok)
					ok = stun_msg_decode(
					         &m, rx, (size_t)got) == 0;
				memmove(rx, rx + got, have - (size_t)got);
				have -= (size_t)got;
				k++;
			}
		}
		if (!CHECK_MSG(ok && k == nframes && have == 0 && fed == total,
		        "chunk %zu: frame %zu", chunk, k))
			break;
	}

	/* Every prefix of every frame is "need more", never a length
	 * that is wrong or an error. */
	for (i = 0, k = 0; k < nframes; i += lens[k], k++)
		for (have = 0; have < lens[k]; have++) {
			got = stun_frame_len(s + i, have, MAX);
			if (!CHECK_MSG(got == 0 || got == (int)lens[k],
			        "frame %zu prefix %zu: %d", k, have, got))
				return;
		}
}

int
main(void)
{
	test_heads();
	test_split();
	return CHECK_DONE();
}
