/*
 * Fuzz target for stream framing: the input is a TCP byte stream.  It is
 * cut into frames with stun_frame_len as a connection would, and each
 * frame decoded as STUN or ChannelData.  Beyond crashes, it asserts what
 * framing promises: a frame's every prefix asks for more bytes or names
 * the same length, a STUN frame's header decodes, and a ChannelData frame
 * decodes as a stream frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chandata.h"
#include "frame.h"
#include "stun.h"
#include "stun_hdr.h"
#include "stun_integrity.h"
#include "stun_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_MAX_FRAME 4096

#define FUZZ_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

static void
frame_one(const uint8_t *p, size_t n)
{
	static const uint8_t key[] = "fuzz-key";
	struct stun_msg m;
	struct stun_hdr h;
	struct chandata cd;
	int err;

	if (p[0] >> 6 == 1) {
		FUZZ_ASSERT(chandata_decode(&cd, p, n,
		                CHANDATA_F_STREAM | CHANDATA_F_LEGACY) == 0);
		FUZZ_ASSERT(cd.data == p + 4 && cd.len <= n - 4);
		err = chandata_decode(&cd, p, n, CHANDATA_F_STREAM);
		FUZZ_ASSERT(err == 0 || err == STUN_ECHANNEL);
		/* As a datagram, the same bytes are fine too. */
		err = chandata_decode(&cd, p, n, CHANDATA_F_LEGACY);
		FUZZ_ASSERT(err == 0);
		return;
	}
	FUZZ_ASSERT(stun_hdr_decode(&h, p, n) == 0);
	if (stun_msg_decode(&m, p, n) == 0)
		(void)stun_msg_check_integrity(&m, key, sizeof(key) - 1, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0, k;
	int n, again;

	while (off < size) {
		n = stun_frame_len(data + off, size - off, FUZZ_MAX_FRAME);
		if (n <= 0) {
			FUZZ_ASSERT(
			    n == 0 || n == STUN_EFRAME || n == STUN_ETOOBIG);
			break;
		}
		FUZZ_ASSERT(n >= 4 && n <= FUZZ_MAX_FRAME);
		/* A shorter read of the same stream agrees, or wants more. */
		for (k = 0; k < (size_t)n && k < 9 && k < size - off; k++) {
			again = stun_frame_len(data + off, k, FUZZ_MAX_FRAME);
			FUZZ_ASSERT(again == 0 || again == n);
		}
		if ((size_t)n > size - off)
			break; /* the rest of the frame has not arrived */
		frame_one(data + off, (size_t)n);
		off += (size_t)n;
	}
	return 0;
}
