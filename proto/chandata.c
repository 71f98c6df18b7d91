/*
 * ChannelData messages (RFC 8656 section 12.4): channel number, data
 * length, data.  Over UDP the datagram may carry up to three bytes of
 * padding after the data or none (section 12.5); on a stream the frame
 * always includes the padding, which is how stun_frame_len cut it.
 * Channel numbers are 0x4000-0x4fff (section 12); RFC 5766 allowed up to
 * 0x7fff, accepted only on request.
 */
#include "chandata.h"
#include "rd.h"
#include "stun.h"
#include "stun_enc.h"

int
chandata_decode(struct chandata *cd, const uint8_t *buf, size_t len, int flags)
{
	struct rd r;
	uint16_t chan, dlen;

	if (buf == NULL || len < CHANDATA_HDR_LEN)
		return STUN_ETRUNC;
	rd_init(&r, buf, len);
	chan = rd_u16(&r);
	dlen = rd_u16(&r);
	/* The first two bits 01 tell ChannelData from STUN (00). */
	if ((chan & 0xc000) != 0x4000)
		return STUN_EFRAME;
	if (!chandata_valid_channel(chan, flags & CHANDATA_F_LEGACY))
		return STUN_ECHANNEL;
	if (dlen > rd_left(&r))
		return STUN_ETRUNC;
	if (flags & CHANDATA_F_STREAM) {
		if (stun_pad(dlen) > rd_left(&r))
			return STUN_ETRUNC;
		if (stun_pad(dlen) < rd_left(&r))
			return STUN_EBADLEN;
	} else if (rd_left(&r) - dlen > 3)
		return STUN_EBADLEN;

	cd->chan = chan;
	cd->len = dlen;
	cd->data = rd_ptr(&r, dlen);
	return 0;
}

void
chandata_hdr(uint8_t hdr[CHANDATA_HDR_LEN], uint16_t chan, uint16_t len)
{
	/* on the relay path for every datagram: four stores, no reader */
	hdr[0] = (uint8_t)(chan >> 8);
	hdr[1] = (uint8_t)chan;
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

int
chandata_valid_channel(uint16_t chan, int legacy)
{
	if (chan < STUN_CHANNEL_MIN)
		return 0;
	return chan <= (legacy ? STUN_CHANNEL_LEGACY_MAX : STUN_CHANNEL_MAX);
}
