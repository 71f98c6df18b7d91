/*
 * Framing on TCP and TLS streams (RFC 8656 section 12.5, RFC 6062): the
 * stream carries STUN messages and ChannelData messages back to back, and
 * the first bytes of each say how long it is.
 */
#ifndef TURND_PROTO_FRAME_H
#define TURND_PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

/*
 * Given the avail bytes at the head of a stream, returns the length of the
 * next frame (STUN: 20 + length; ChannelData: 4 + length rounded up to
 * four), 0 when more bytes are needed to tell, STUN_ETOOBIG when the frame
 * would exceed max_frame, or STUN_EFRAME when the bytes are neither STUN
 * (top bits 00, length a multiple of 4, magic cookie) nor ChannelData (top
 * bits 01).  Never reads beyond avail.
 */
int stun_frame_len(const uint8_t *buf, size_t avail, size_t max_frame);

#endif
