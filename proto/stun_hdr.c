/*
 * The STUN message header (RFC 8489 section 5).  Decoding checks the
 * fixed parts of the 20 bytes (two zero bits, a body length that is a
 * multiple of four, the magic cookie) and that the body fills the buffer
 * exactly; the message type is split into its method and class.
 *
 * The 14-bit type interleaves a 12-bit method M11..M0 and a 2-bit class
 * C1 C0 (RFC 8489 figure 3):
 *
 *	 13 12 11 10  9  8  7  6  5  4  3  2  1  0
 *	M11 M10 M9 M8 M7 C1 M6 M5 M4 C0 M3 M2 M1 M0
 */
#include "rd.h"
#include "stun.h"
#include "stun_hdr.h"

int
stun_hdr_decode(struct stun_hdr *h, const uint8_t *buf, size_t len)
{
	struct rd r;
	uint32_t cookie;

	if (len < STUN_HDR_LEN)
		return STUN_ETRUNC;
	rd_init(&r, buf, len);
	h->type = rd_u16(&r);
	h->len = rd_u16(&r);
	cookie = rd_u32(&r);
	h->txid = rd_ptr(&r, STUN_TXID_LEN);
	if (r.err != 0)
		return STUN_ETRUNC;

	/* RFC 8489 section 5: the most significant two bits are zero. */
	if ((h->type & 0xc000) != 0)
		return STUN_EHDR;
	if (cookie != STUN_MAGIC_COOKIE)
		return STUN_ECOOKIE;
	/* Attributes are padded to four, so the body length is too. */
	if (h->len % 4 != 0)
		return STUN_EHDR;
	if (h->len > rd_left(&r))
		return STUN_ETRUNC;
	if (h->len < rd_left(&r))
		return STUN_EHDR;

	h->method = stun_type_method(h->type);
	h->cls = stun_type_class(h->type);
	return 0;
}

uint16_t
stun_type(uint16_t method, uint8_t cls)
{
	unsigned m = method & 0x0fffU, c = cls & 0x3U;

	return (uint16_t)((m & 0x000fU) | (m & 0x0070U) << 1 |
	    (m & 0x0f80U) << 2 | (c & 0x1U) << 4 | (c & 0x2U) << 7);
}

uint16_t
stun_type_method(uint16_t type)
{
	unsigned t = type;

	return (
	    uint16_t)((t & 0x000fU) | (t & 0x00e0U) >> 1 | (t & 0x3e00U) >> 2);
}

uint8_t
stun_type_class(uint16_t type)
{
	unsigned t = type;

	return (uint8_t)((t >> 4 & 0x1U) | (t >> 7 & 0x2U));
}
