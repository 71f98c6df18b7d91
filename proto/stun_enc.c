/*
 * Building STUN messages (RFC 8489 sections 5 and 14, RFC 8656 section
 * 18) into a caller's buffer, and the reason phrases of every error code
 * the codec names.
 *
 * Each append reserves the attribute header, the value and its zero
 * padding in one step, then sets the header's length field to cover the
 * message so far.  So when MESSAGE-INTEGRITY(-SHA256) or FINGERPRINT is
 * appended, the length already ends at that attribute, which is exactly
 * what RFC 8489 sections 14.5-14.7 ask the MAC or CRC to see: no later
 * fix-up is needed.  Errors are sticky in e->err.
 */
#include <string.h>

#include "rd.h"
#include "stun.h"
#include "stun_attr.h"
#include "stun_enc.h"
#include "stun_hdr.h"
#include "stun_integrity.h"

static uint8_t *enc_reserve(struct stun_enc *, uint16_t, size_t);
static void enc_errcode(
    struct stun_enc *, uint16_t, int, uint8_t, uint16_t, const char *);

void
stun_enc_init(struct stun_enc *e, uint8_t *buf, size_t cap, uint16_t type,
    const uint8_t txid[STUN_TXID_LEN])
{
	struct wr w;

	e->buf = buf;
	e->cap = buf != NULL ? cap : 0;
	e->len = 0;
	e->err = 0;
	if (txid == NULL || (type & 0xc000) != 0) {
		e->err = STUN_EINVAL;
		return;
	}
	wr_init(&w, e->buf, e->cap);
	wr_u16(&w, type);
	wr_u16(&w, 0);
	wr_u32(&w, STUN_MAGIC_COOKIE);
	wr_bytes(&w, txid, STUN_TXID_LEN);
	if (w.err != 0) {
		e->err = w.err;
		return;
	}
	e->len = w.off;
}

/*
 * Appends the header of an attribute with a len-byte value and zero
 * padding, brings the message length up to date and returns where the
 * value goes, or NULL with e->err set.
 */
static uint8_t *
enc_reserve(struct stun_enc *e, uint16_t type, size_t len)
{
	struct wr w;
	size_t total, start;

	if (e->err != 0)
		return NULL;
	if (len > UINT16_MAX) {
		e->err = STUN_EINVAL;
		return NULL;
	}
	total = STUN_ATTR_HDR_LEN + stun_pad(len);
	/* The length field counts the body only, in 16 bits. */
	if (total > UINT16_MAX - (e->len - STUN_HDR_LEN)) {
		e->err = STUN_EINVAL;
		return NULL;
	}
	if (total > e->cap - e->len) {
		e->err = STUN_ENOSPC;
		return NULL;
	}
	start = e->len;
	wr_init(&w, e->buf, e->cap);
	w.off = start;
	wr_u16(&w, type);
	wr_u16(&w, (uint16_t)len);
	wr_zero(&w, stun_pad(len));
	wr_put_u16_at(&w, 2, (uint16_t)(w.off - STUN_HDR_LEN));
	if (w.err != 0) {
		e->err = w.err;
		return NULL;
	}
	e->len = w.off;
	return e->buf + start + STUN_ATTR_HDR_LEN;
}

void
stun_enc_attr(struct stun_enc *e, uint16_t type, const void *val, size_t len)
{
	uint8_t *p;

	if (val == NULL && len != 0 && e->err == 0)
		e->err = STUN_EINVAL;
	if ((p = enc_reserve(e, type, len)) != NULL && len != 0)
		memcpy(p, val, len);
}

void
stun_enc_str(struct stun_enc *e, uint16_t type, const char *s)
{
	if (s == NULL) {
		if (e->err == 0)
			e->err = STUN_EINVAL;
		return;
	}
	stun_enc_attr(e, type, s, strlen(s));
}

void
stun_enc_u32(struct stun_enc *e, uint16_t type, uint32_t v)
{
	uint8_t val[4];
	struct wr w;

	wr_init(&w, val, sizeof(val));
	wr_u32(&w, v);
	stun_enc_attr(e, type, val, sizeof(val));
}

void
stun_enc_u8pad(struct stun_enc *e, uint16_t type, uint8_t v)
{
	uint8_t val[4] = {v, 0, 0, 0};

	stun_enc_attr(e, type, val, sizeof(val));
}

void
stun_enc_u16pad(struct stun_enc *e, uint16_t type, uint16_t v)
{
	uint8_t val[4] = {(uint8_t)(v >> 8), (uint8_t)v, 0, 0};

	stun_enc_attr(e, type, val, sizeof(val));
}

void
stun_enc_u64(struct stun_enc *e, uint16_t type, uint64_t v)
{
	uint8_t val[8];
	struct wr w;

	wr_init(&w, val, sizeof(val));
	wr_u64(&w, v);
	stun_enc_attr(e, type, val, sizeof(val));
}

void
stun_enc_addr(struct stun_enc *e, uint16_t type, const struct stun_addr *a)
{
	uint8_t val[20];
	int len;

	if (e->err != 0)
		return;
	if ((len = stun_addr_encode(val, a, NULL)) < 0) {
		e->err = len;
		return;
	}
	stun_enc_attr(e, type, val, (size_t)len);
}

void
stun_enc_xaddr(struct stun_enc *e, uint16_t type, const struct stun_addr *a)
{
	uint8_t val[20];
	int len;

	if (e->err != 0)
		return;
	/* The transaction ID sits at bytes 8..19 of the header. */
	if ((len = stun_addr_encode(val, a, e->buf + 8)) < 0) {
		e->err = len;
		return;
	}
	stun_enc_attr(e, type, val, (size_t)len);
}

/*
 * RFC 8489 section 14.8 (and RFC 8656 section 18.12 with a family in the
 * first byte): class and number, then the reason phrase.
 */
static void
enc_errcode(struct stun_enc *e, uint16_t type, int with_family, uint8_t family,
    uint16_t code, const char *reason)
{
	struct wr w;
	uint8_t *p;
	size_t rlen;

	if (e->err != 0)
		return;
	if (reason == NULL)
		reason = stun_reason(code);
	rlen = strlen(reason);
	if (code < 300 || code > 699 || rlen > STUN_MAX_STR_BYTES) {
		e->err = STUN_EINVAL;
		return;
	}
	if ((p = enc_reserve(e, type, 4 + rlen)) == NULL)
		return;
	wr_init(&w, p, 4 + rlen);
	wr_u8(&w, with_family ? family : 0);
	wr_u8(&w, 0);
	wr_u8(&w, (uint8_t)(code / 100));
	wr_u8(&w, (uint8_t)(code % 100));
	wr_bytes(&w, reason, rlen);
}

void
stun_enc_error(struct stun_enc *e, uint16_t code, const char *reason)
{
	enc_errcode(e, STUN_ATTR_ERROR_CODE, 0, 0, code, reason);
}

void
stun_enc_address_error(
    struct stun_enc *e, uint8_t family, uint16_t code, const char *reason)
{
	enc_errcode(e, STUN_ATTR_ADDRESS_ERROR_CODE, 1, family, code, reason);
}

void
stun_enc_unknown(struct stun_enc *e, const uint16_t *types, size_t n)
{
	struct wr w;
	uint8_t *p;
	size_t i;

	if (e->err == 0 && (types == NULL && n != 0))
		e->err = STUN_EINVAL;
	if (n > UINT16_MAX / 2) {
		if (e->err == 0)
			e->err = STUN_EINVAL;
		return;
	}
	if ((p = enc_reserve(e, STUN_ATTR_UNKNOWN_ATTRIBUTES, 2 * n)) == NULL)
		return;
	wr_init(&w, p, 2 * n);
	for (i = 0; i < n; i++)
		wr_u16(&w, types[i]);
}

/* RFC 8489 section 14.11: each entry without parameters is four bytes. */
void
stun_enc_pwalgs(struct stun_enc *e, const uint16_t *algs, size_t n)
{
	struct wr w;
	uint8_t *p;
	size_t i;

	if (e->err == 0 && (algs == NULL && n != 0))
		e->err = STUN_EINVAL;
	if (n > UINT16_MAX / 4) {
		if (e->err == 0)
			e->err = STUN_EINVAL;
		return;
	}
	if ((p = enc_reserve(e, STUN_ATTR_PASSWORD_ALGORITHMS, 4 * n)) == NULL)
		return;
	wr_init(&w, p, 4 * n);
	for (i = 0; i < n; i++) {
		wr_u16(&w, algs[i]);
		wr_u16(&w, 0);
	}
}

void
stun_enc_pwalg(struct stun_enc *e, uint16_t alg)
{
	uint8_t val[4] = {(uint8_t)(alg >> 8), (uint8_t)alg, 0, 0};

	stun_enc_attr(e, STUN_ATTR_PASSWORD_ALGORITHM, val, sizeof(val));
}

/*
 * After enc_reserve the header length already ends at this attribute, so
 * the MAC covers buf[0..start) as it stands (RFC 8489 section 14.5).
 */
void
stun_enc_integrity(struct stun_enc *e, const uint8_t *key, size_t keylen)
{
	uint8_t *p;
	int err;

	if (e->err == 0 && key == NULL && keylen != 0)
		e->err = STUN_EINVAL;
	if ((p = enc_reserve(e, STUN_ATTR_MESSAGE_INTEGRITY, STUN_MI_LEN)) ==
	    NULL)
		return;
	err = stun_hmac_sha1(key, keylen, e->buf,
	    e->len - STUN_ATTR_HDR_LEN - STUN_MI_LEN, NULL, 0, p);
	if (err != 0)
		e->err = err;
}

void
stun_enc_integrity_sha256(struct stun_enc *e, const uint8_t *key, size_t keylen)
{
	uint8_t *p;
	int err;

	if (e->err == 0 && key == NULL && keylen != 0)
		e->err = STUN_EINVAL;
	if ((p = enc_reserve(e, STUN_ATTR_MESSAGE_INTEGRITY_SHA256,
	         STUN_MI_SHA256_LEN)) == NULL)
		return;
	err = stun_hmac_sha256(key, keylen, e->buf,
	    e->len - STUN_ATTR_HDR_LEN - STUN_MI_SHA256_LEN, NULL, 0, p);
	if (err != 0)
		e->err = err;
}

/* RFC 8489 section 14.7: CRC-32 up to FINGERPRINT, XOR 0x5354554e. */
void
stun_enc_fingerprint(struct stun_enc *e)
{
	struct wr w;
	uint8_t *p;

	if ((p = enc_reserve(e, STUN_ATTR_FINGERPRINT, 4)) == NULL)
		return;
	wr_init(&w, p, 4);
	wr_u32(&w, stun_crc32(e->buf, e->len - 8) ^ STUN_FINGERPRINT_XOR);
}

int
stun_enc_finish(const struct stun_enc *e)
{
	if (e->err != 0)
		return e->err;
	if (e->len < STUN_HDR_LEN)
		return STUN_EINVAL;
	return (int)e->len;
}

/*
 * Reason phrases: RFC 8489 section 14.8 (300-500), RFC 8656 section 19
 * (403, 437-443, 486, 508), RFC 6062 section 6.3 (446, 447), RFC 8445
 * section 16.1 (487).
 */
static const struct {
	uint16_t code;
	const char *reason;
} stun_reasons[] = {
    {STUN_ERR_TRY_ALTERNATE, "Try Alternate"},
    {STUN_ERR_BAD_REQUEST, "Bad Request"},
    {STUN_ERR_UNAUTHORIZED, "Unauthenticated"},
    {STUN_ERR_FORBIDDEN, "Forbidden"},
    {STUN_ERR_MOBILITY_FORBIDDEN, "Mobility Forbidden"},
    {STUN_ERR_UNKNOWN_ATTRIBUTE, "Unknown Attribute"},
    {STUN_ERR_ALLOCATION_MISMATCH, "Allocation Mismatch"},
    {STUN_ERR_STALE_NONCE, "Stale Nonce"},
    {STUN_ERR_ADDRESS_FAMILY, "Address Family not Supported"},
    {STUN_ERR_WRONG_CREDENTIALS, "Wrong Credentials"},
    {STUN_ERR_UNSUPPORTED_TRANSPORT, "Unsupported Transport Protocol"},
    {STUN_ERR_PEER_ADDRESS_FAMILY, "Peer Address Family Mismatch"},
    {STUN_ERR_CONNECTION_EXISTS, "Connection Already Exists"},
    {STUN_ERR_CONNECTION_FAILURE, "Connection Timeout or Failure"},
    {STUN_ERR_ALLOCATION_QUOTA, "Allocation Quota Reached"},
    {STUN_ERR_ROLE_CONFLICT, "Role Conflict"},
    {STUN_ERR_SERVER_ERROR, "Server Error"},
    {STUN_ERR_INSUFFICIENT_CAPACITY, "Insufficient Capacity"},
};

const char *
stun_reason(uint16_t code)
{
	size_t i;

	for (i = 0; i < sizeof(stun_reasons) / sizeof(stun_reasons[0]); i++)
		if (stun_reasons[i].code == code)
			return stun_reasons[i].reason;
	return "";
}

/*
 * RFC 8656 section 11.4: a Data indication is the header, XOR-PEER-ADDRESS
 * and DATA; it carries neither MESSAGE-INTEGRITY nor FINGERPRINT, so the
 * header can be written before the data is in place.
 */
int
stun_data_ind_hdr(uint8_t *out, size_t cap, const uint8_t txid[STUN_TXID_LEN],
    const struct stun_addr *peer, size_t data_len)
{
	struct stun_enc e;
	struct wr w;

	if (data_len > UINT16_MAX)
		return STUN_EINVAL;
	stun_enc_init(&e, out, cap,
	    stun_type(STUN_METHOD_DATA, STUN_CLASS_INDICATION), txid);
	stun_enc_xaddr(&e, STUN_ATTR_XOR_PEER_ADDRESS, peer);
	if (e.err != 0)
		return e.err;
	if (STUN_ATTR_HDR_LEN + stun_pad(data_len) >
	    UINT16_MAX - (e.len - STUN_HDR_LEN))
		return STUN_EINVAL;

	wr_init(&w, out, cap);
	w.off = e.len;
	wr_u16(&w, STUN_ATTR_DATA);
	wr_u16(&w, (uint16_t)data_len);
	wr_put_u16_at(
	    &w, 2, (uint16_t)(w.off - STUN_HDR_LEN + stun_pad(data_len)));
	if (w.err != 0)
		return w.err;
	return (int)w.off;
}
