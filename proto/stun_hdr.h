/*
 * The 20-byte STUN message header (RFC 8489 section 5): the two zero bits,
 * the message type (class and method interleaved), the body length, the
 * magic cookie and the transaction ID.
 */
#ifndef TURND_PROTO_STUN_HDR_H
#define TURND_PROTO_STUN_HDR_H

#include <stddef.h>
#include <stdint.h>

struct stun_hdr {
	uint16_t type;
	uint16_t method; /* 12 bits */
	uint8_t cls;	 /* STUN_CLASS_* */
	uint16_t len;	 /* body length, excluding the header */
	const uint8_t *txid; /* borrowed: 12 bytes inside the buffer */
};

/*
 * Decodes and checks the header at buf: top two bits zero, length a
 * multiple of 4, magic cookie, and 20 + length equal to len (a message
 * fills its datagram or frame exactly).  Returns 0, STUN_ETRUNC, STUN_EHDR
 * or STUN_ECOOKIE.
 */
int stun_hdr_decode(struct stun_hdr *h, const uint8_t *buf, size_t len);

/* Composes a message type from a method and a class. */
uint16_t stun_type(uint16_t method, uint8_t cls);
uint16_t stun_type_method(uint16_t type);
uint8_t stun_type_class(uint16_t type);

#endif
