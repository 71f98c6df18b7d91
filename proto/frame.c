/*
 * Framing STUN and ChannelData on TCP and TLS (RFC 8656 section 12.5,
 * RFC 6062 section 4.1, RFC 8489 section 6.2.2): the first two bits of a
 * frame say which it is, and its header says how long.  A STUN frame is
 * recognised by its length (a multiple of four) and magic cookie before
 * the stream is trusted with it, so garbage is refused early rather than
 * buffered up to the length it claims.
 */
#include "chandata.h"
#include "frame.h"
#include "rd.h"
#include "stun.h"
#include "stun_enc.h"

int
stun_frame_len(const uint8_t *buf, size_t avail, size_t max_frame)
{
	struct rd r;
	uint16_t len;
	size_t frame;
	uint8_t first;

	if (buf == NULL || avail == 0)
		return 0;
	rd_init(&r, buf, avail);
	first = rd_u8(&r);
	switch (first >> 6) {
	case 0: /* STUN: type, length, cookie */
		if (avail < 8)
			return 0;
		rd_skip(&r, 1);
		len = rd_u16(&r);
		if (len % 4 != 0 || rd_u32(&r) != STUN_MAGIC_COOKIE)
			return STUN_EFRAME;
		frame = STUN_HDR_LEN + (size_t)len;
		break;
	case 1: /* ChannelData: channel, length; padded on streams */
		if (avail < CHANDATA_HDR_LEN)
			return 0;
		rd_skip(&r, 1);
		len = rd_u16(&r);
		frame = CHANDATA_HDR_LEN + stun_pad(len);
		break;
	default:
		return STUN_EFRAME;
	}
	if (r.err != 0)
		return 0;
	if (frame > max_frame)
		return STUN_ETOOBIG;
	return (int)frame;
}
