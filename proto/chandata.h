/*
 * ChannelData messages (RFC 8656 section 12.4): a 4-byte header (channel
 * number, length) and the application data, padded to a multiple of four
 * on TCP and TLS.  Over UDP the padding is optional.
 */
#ifndef TURND_PROTO_CHANDATA_H
#define TURND_PROTO_CHANDATA_H

#include <stddef.h>
#include <stdint.h>

#define CHANDATA_HDR_LEN 4

#define CHANDATA_F_LEGACY 0x01 /* accept RFC 5766's 0x4000-0x7fff */
#define CHANDATA_F_STREAM 0x02 /* frame from a stream: padding included */

struct chandata {
	uint16_t chan;
	uint16_t len;	     /* application data length */
	const uint8_t *data; /* borrowed */
};

/*
 * Decodes the ChannelData message in buf[0..len).  Without
 * CHANDATA_F_STREAM (a datagram) len must hold the header and the data, and
 * at most three bytes of padding after it; with it len must be exactly
 * 4 + the data padded to four.  Returns 0, STUN_ETRUNC, STUN_EBADLEN,
 * STUN_EFRAME (top bits not 01) or STUN_ECHANNEL.
 */
int chandata_decode(struct chandata *cd, const uint8_t *buf, size_t len,
    int flags);

/* Writes the 4-byte header. */
void chandata_hdr(uint8_t hdr[CHANDATA_HDR_LEN], uint16_t chan, uint16_t len);

/* True when chan is a valid channel number (legacy: up to 0x7fff). */
int chandata_valid_channel(uint16_t chan, int legacy);

#endif
