/*
 * Decoding a STUN message into struct stun_msg (RFC 8489 sections 5, 6
 * and 14; the TURN attributes of RFC 8656 section 18).
 *
 * The walk takes one attribute at a time from a reader over the body:
 * the 4-byte attribute header, then a sub-reader bounded by the declared
 * length, then the padding skipped in the outer reader, so the walk never
 * loses its place whatever a value decoder consumes (bgpd's ibuf_get_ibuf
 * discipline).  What an attribute means comes from the table in
 * stun_attr.c; here there is one decoder per value kind, and the rules
 * that are about the message rather than one attribute:
 *
 * - only the first occurrence of an attribute counts, except the address
 *   attributes the table marks as collected (XOR-PEER-ADDRESS,
 *   XOR-RELAYED-ADDRESS);
 * - after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT
 *   count, after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT (RFC 8489
 *   sections 14.5 and 14.6); the rest is walked for bounds and ignored;
 * - FINGERPRINT is the last attribute and is verified here (section 14.7);
 * - unknown comprehension-required attributes are collected for a 420
 *   response (section 6.3.1), unknown optional ones ignored.
 */
#include <string.h>

#include "rd.h"
#include "stun.h"
#include "stun_attr.h"
#include "stun_enc.h"
#include "stun_hdr.h"
#include "stun_integrity.h"
#include "stun_msg.h"

/* Where the walk stands with respect to the integrity attributes. */
#define WALK_OPEN 0        /* every attribute counts */
#define WALK_AFTER_MI 1    /* only MI-SHA256 and FINGERPRINT count */
#define WALK_AFTER_MI256 2 /* only FINGERPRINT counts */
#define WALK_AFTER_FP 3    /* nothing may follow */

/* A decoder of one value kind: the value in v lands in m as d says. */
typedef int stun_kind_dec(
    struct stun_msg *m, const struct stun_attr_def *d, struct rd *v);

static int msg_walk(struct stun_msg *, struct rd *, uint32_t *);
static int msg_unpadded(struct stun_msg *, const uint8_t *, size_t);
static void *msg_at(struct stun_msg *, uint16_t);
static int attr_len_ok(const struct stun_attr_def *, size_t);
static int add_unknown(struct stun_msg *, uint16_t);
static size_t utf8_chars(const uint8_t *, size_t);
static int dec_str_val(struct stun_str *, struct rd *, uint16_t);
static int dec_errcode(struct stun_errcode *, struct rd *, uint16_t);
static int dec_pwalg(struct stun_pwalg *, struct rd *);
static stun_kind_dec dec_addr, dec_str, dec_raw, dec_copy, dec_u32, dec_u64,
    dec_u8pad, dec_u16pad, dec_evenport, dec_none, dec_error, dec_addrerr,
    dec_typelist, dec_pwalg1, dec_pwalgs, dec_icmp;

/* One decoder per enum stun_attr_kind. */
static stun_kind_dec *const stun_kind_decs[] = {
    [STUN_AK_ADDR] = dec_addr,
    [STUN_AK_XADDR] = dec_addr,
    [STUN_AK_STR] = dec_str,
    [STUN_AK_RAW] = dec_raw,
    [STUN_AK_COPY] = dec_copy,
    [STUN_AK_U32] = dec_u32,
    [STUN_AK_U64] = dec_u64,
    [STUN_AK_U8PAD] = dec_u8pad,
    [STUN_AK_U16PAD] = dec_u16pad,
    [STUN_AK_EVENPORT] = dec_evenport,
    [STUN_AK_FLAG] = dec_none,
    [STUN_AK_ERRCODE] = dec_error,
    [STUN_AK_ADDRERR] = dec_addrerr,
    [STUN_AK_TYPELIST] = dec_typelist,
    [STUN_AK_PWALG] = dec_pwalg1,
    [STUN_AK_PWALGS] = dec_pwalgs,
    [STUN_AK_ICMP] = dec_icmp,
    [STUN_AK_MI] = dec_none,
    [STUN_AK_MI256] = dec_none,
    [STUN_AK_FINGERPRINT] = dec_none,
};

int
stun_msg_decode(struct stun_msg *m, const uint8_t *buf, size_t len)
{
	struct stun_hdr h;
	struct rd r;
	uint32_t fp_val = 0;
	int err;

	memset(m, 0, sizeof(*m));
	if (buf == NULL)
		return STUN_ETRUNC;
	if ((err = stun_hdr_decode(&h, buf, len)) != 0)
		return err == STUN_EHDR ? msg_unpadded(m, buf, len) : err;
	m->type = h.type;
	m->method = h.method;
	m->cls = h.cls;
	memcpy(m->txid, h.txid, STUN_TXID_LEN);
	m->buf = buf;
	m->len = len;

	rd_init(&r, buf + STUN_HDR_LEN, h.len);
	if ((err = msg_walk(m, &r, &fp_val)) != 0)
		return err;
	/*
	 * Checked once the walk has shown FINGERPRINT is last, so that a
	 * message with attributes after it reports that and not a mismatch.
	 */
	if (m->fp_off != 0 &&
	    (stun_crc32(buf, m->fp_off) ^ STUN_FINGERPRINT_XOR) != fp_val)
		return STUN_EFINGERPRINT;
	return 0;
}

/*
 * Walks the attributes in r, the message body, filling m.  FINGERPRINT's
 * value is left in *fp_val for the caller to check.
 */
static int
msg_walk(struct stun_msg *m, struct rd *r, uint32_t *fp_val)
{
	const struct stun_attr_def *d;
	struct rd v;
	uint16_t type, alen;
	size_t off, pad;
	int err, walk = WALK_OPEN;

	while (rd_left(r) > 0) {
		if (m->n_attrs == STUN_MAX_ATTRS)
			return STUN_ETOOMANY;
		m->n_attrs++;

		off = STUN_HDR_LEN + r->off;
		type = rd_u16(r);
		alen = rd_u16(r);
		if (r->err != 0)
			return STUN_ETRUNC;
		if (walk == WALK_AFTER_FP)
			return STUN_EORDER;
		if (alen > rd_left(r))
			return STUN_ETRUNC;
		pad = stun_pad(alen) - alen;
		if (pad > rd_left(r) - alen)
			return STUN_EPADDING;
		rd_sub(r, &v, alen);
		rd_skip(r, pad);

		if ((d = stun_attr_lookup(type)) == NULL) {
			if (walk == WALK_OPEN && stun_attr_required(type) &&
			    (err = add_unknown(m, type)) != 0)
				return err;
			continue;
		}
		/* RFC 8489 sections 14.5, 14.6: ignore what follows. */
		if (walk == WALK_AFTER_MI && d->kind != STUN_AK_MI256 &&
		    d->kind != STUN_AK_FINGERPRINT)
			continue;
		if (walk == WALK_AFTER_MI256 && d->kind != STUN_AK_FINGERPRINT)
			continue;

		if ((err = attr_len_ok(d, alen)) != 0)
			return err;
		if ((m->present >> stun_attr_idx(type) & 1) != 0 &&
		    !((d->kind == STUN_AK_ADDR || d->kind == STUN_AK_XADDR) &&
		        d->max_n > 1))
			continue;

		switch (d->kind) {
		case STUN_AK_MI:
			m->mi_off = (uint16_t)off;
			walk = WALK_AFTER_MI;
			break;
		case STUN_AK_MI256:
			m->mi256_off = (uint16_t)off;
			m->mi256_len = alen;
			walk = WALK_AFTER_MI256;
			break;
		case STUN_AK_FINGERPRINT:
			m->fp_off = (uint16_t)off;
			*fp_val = rd_u32(&v);
			walk = WALK_AFTER_FP;
			break;
		default:
			if ((err = stun_kind_decs[d->kind](m, d, &v)) != 0)
				return err;
			break;
		}
		m->present |= (uint64_t)1 << stun_attr_idx(type);
	}
	return 0;
}

/*
 * The header was refused.  When the only fault is a body length that is
 * not a multiple of four but fills the buffer, the sender most likely left
 * out the last attribute's padding (RFC 8489 section 14): say so, for the
 * caller's counters, by walking the body.  Otherwise it stays STUN_EHDR.
 */
static int
msg_unpadded(struct stun_msg *m, const uint8_t *buf, size_t len)
{
	struct rd r;
	uint32_t fp_val;
	uint16_t type, blen;
	int err;

	rd_init(&r, buf, len);
	type = rd_u16(&r);
	blen = rd_u16(&r);
	if ((type & 0xc000) != 0 || rd_u32(&r) != STUN_MAGIC_COOKIE ||
	    blen % 4 == 0 || blen != len - STUN_HDR_LEN)
		return STUN_EHDR;
	rd_init(&r, buf + STUN_HDR_LEN, blen);
	err = msg_walk(m, &r, &fp_val);
	memset(m, 0, sizeof(*m));
	return err == STUN_EPADDING ? err : STUN_EHDR;
}

static void *
msg_at(struct stun_msg *m, uint16_t off)
{
	return (uint8_t *)m + off;
}

/* The table's bounds, and the two kinds with a rule of their own. */
static int
attr_len_ok(const struct stun_attr_def *d, size_t len)
{
	if (len < d->min_len || len > d->max_len)
		return STUN_EBADLEN;
	/* RFC 8489 section 14.6: truncated to a multiple of four. */
	if (d->kind == STUN_AK_MI256 && len % 4 != 0)
		return STUN_EBADLEN;
	/* RFC 8489 section 14.13: 16-bit values. */
	if (d->kind == STUN_AK_TYPELIST && len % 2 != 0)
		return STUN_EBADLEN;
	return 0;
}

/* Each unknown type once, in order of appearance. */
static int
add_unknown(struct stun_msg *m, uint16_t type)
{
	uint8_t i;

	for (i = 0; i < m->n_unknown; i++)
		if (m->unknown[i] == type)
			return 0;
	if (m->n_unknown == STUN_MAX_UNKNOWN)
		return STUN_ETOOMANY;
	m->unknown[m->n_unknown++] = type;
	return 0;
}

/*
 * Code points of a UTF-8 string: the bytes that do not continue a
 * sequence.  Validating the encoding is the OpaqueString profile's job
 * (RFC 8265), done by whoever compares the string.
 */
static size_t
utf8_chars(const uint8_t *p, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* The rest of v as a string of at most max_chars code points (0: any). */
static int
dec_str_val(struct stun_str *s, struct rd *v, uint16_t max_chars)
{
	uint16_t len = (uint16_t)rd_left(v);

	s->p = rd_ptr(v, len);
	s->len = len;
	if (max_chars != 0 && utf8_chars(s->p, len) > max_chars)
		return STUN_EBADVAL;
	return 0;
}

/* RFC 8489 section 14.8: class 3 to 6, number 0 to 99, reason phrase. */
static int
dec_errcode(struct stun_errcode *e, struct rd *v, uint16_t max_chars)
{
	uint8_t cls, num;

	cls = rd_u8(v) & 0x07;
	num = rd_u8(v);
	if (v->err != 0)
		return STUN_EBADLEN;
	if (cls < 3 || cls > 6 || num > 99)
		return STUN_EBADVAL;
	e->code = (uint16_t)(cls * 100 + num);
	return dec_str_val(&e->reason, v, max_chars);
}

/*
 * RFC 8489 section 14.11: algorithm, parameters length, parameters padded
 * to four.  The padding of the last entry may be left to the attribute's
 * own padding, so it is skipped only as far as the value goes.
 */
static int
dec_pwalg(struct stun_pwalg *pa, struct rd *v)
{
	uint16_t plen;
	size_t pad;

	pa->alg = rd_u16(v);
	plen = rd_u16(v);
	pa->params.p = rd_ptr(v, plen);
	pa->params.len = plen;
	if (v->err != 0)
		return STUN_EBADVAL;
	pad = stun_pad(plen) - plen;
	rd_skip(v, pad < rd_left(v) ? pad : rd_left(v));
	return 0;
}

static int
dec_addr(struct stun_msg *m, const struct stun_attr_def *d, struct rd *v)
{
	struct stun_addr *a = msg_at(m, d->off);
	const uint8_t *txid = d->kind == STUN_AK_XADDR ? m->txid : NULL;
	size_t len = rd_left(v);
	uint8_t *n;

	if (d->max_n > 1) {
		n = msg_at(m, d->aux);
		if (*n == d->max_n)
			return STUN_ETOOMANY;
		a += *n;
		(*n)++;
	}
	return stun_addr_decode(a, rd_ptr(v, len), len, txid);
}

static int
dec_str(struct stun_msg *m, const struct stun_attr_def *d, struct rd *v)
{
	return dec_str_val(msg_at(m, d->off), v, d->max_chars);
}

static int
dec_raw(struct stun_msg *m, const struct stun_attr_def *d, struct rd *v)
{
	return dec_str_val(msg_at(m, d->off), v, 0);
}

static int
dec_copy(struct stun_msg *m, const struct stun_attr_def *d, struct rd *v)
{
	rd_bytes(v, msg_at(m, d->off), d->min_len);
	return v->err != 0 ? STUN_EBADLEN : 0;
}

static int
dec_u32(struct stun_msg *m, const struct stun_attr_def *d, struct rd *v)
{
	uint32_t x = rd_u32(v);

	memcpy(msg_at(m, d->off), &x, sizeof(x));
	return v->err != 0 ? STUN_EBADLEN : 0;
}

static int
dec_u64(struct stun_msg *m, const struct stun_attr_def *d, struct rd *v)
{
	uint64_t x = rd_u64(v);

	memcpy(msg_at(m, d->off), &x, sizeof(x));
	return v->err != 0 ? STUN_EBADLEN : 0;
}

/* RFC 8656 section 18.6: the RFFU bytes are ignored on reception. */
static int
dec_u8pad(struct stun_msg *m, const struct stun_attr_def *d, struct rd *v)
{
	uint8_t x = rd_u8(v);

	memcpy(msg_at(m, d->off), &x, sizeof(x));
	return v->err != 0 ? STUN_EBADLEN : 0;
}

static int
dec_u16pad(struct stun_msg *m, const struct stun_attr_def *d, struct rd *v)
{
	uint16_t x = rd_u16(v);

	memcpy(msg_at(m, d->off), &x, sizeof(x));
	return v->err != 0 ? STUN_EBADLEN : 0;
}

/* RFC 8656 section 18.7: R is the top bit, the other seven RFFU. */
static int
dec_evenport(struct stun_msg *m, const struct stun_attr_def *d, struct rd *v)
{
	uint8_t r = (uint8_t)(rd_u8(v) >> 7);

	memcpy(msg_at(m, d->off), &r, sizeof(r));
	return v->err != 0 ? STUN_EBADLEN : 0;
}

static int
dec_none(struct stun_msg *m, const struct stun_attr_def *d, struct rd *v)
{
	return 0;
}

static int
dec_error(struct stun_msg *m, const struct stun_attr_def *d, struct rd *v)
{
	(void)rd_u16(v);
	return dec_errcode(msg_at(m, d->off), v, d->max_chars);
}

/* RFC 8656 section 18.12: the family, a reserved byte, then as ERROR-CODE. */
static int
dec_addrerr(struct stun_msg *m, const struct stun_attr_def *d, struct rd *v)
{
	uint8_t family = rd_u8(v);

	memcpy(msg_at(m, d->aux), &family, sizeof(family));
	(void)rd_u8(v);
	return dec_errcode(msg_at(m, d->off), v, d->max_chars);
}

static int
dec_typelist(struct stun_msg *m, const struct stun_attr_def *d, struct rd *v)
{
	uint16_t *list = msg_at(m, d->off);
	uint8_t *n = msg_at(m, d->aux);
	size_t i, count = rd_left(v) / 2;

	if (count > d->max_n)
		return STUN_ETOOMANY;
	for (i = 0; i < count; i++)
		list[i] = rd_u16(v);
	*n = (uint8_t)count;
	return v->err != 0 ? STUN_EBADLEN : 0;
}

/* RFC 8489 section 14.12: one entry, nothing after its padding. */
static int
dec_pwalg1(struct stun_msg *m, const struct stun_attr_def *d, struct rd *v)
{
	int err;

	if ((err = dec_pwalg(msg_at(m, d->off), v)) != 0)
		return err;
	return rd_left(v) != 0 ? STUN_EBADVAL : 0;
}

static int
dec_pwalgs(struct stun_msg *m, const struct stun_attr_def *d, struct rd *v)
{
	struct stun_pwalg *list = msg_at(m, d->off);
	struct stun_str *raw = msg_at(m, d->aux2);
	uint8_t *n = msg_at(m, d->aux);
	struct rd whole = *v;
	int err;

	/* The whole value too: RFC 8489 section 9.2.4 compares it. */
	raw->len = (uint16_t)rd_left(&whole);
	raw->p = rd_ptr(&whole, raw->len);
	while (rd_left(v) > 0) {
		if (*n == d->max_n)
			return STUN_ETOOMANY;
		if ((err = dec_pwalg(&list[*n], v)) != 0)
			return err;
		(*n)++;
	}
	return 0;
}

/* RFC 8656 section 18.13: reserved, type, code, error data. */
static int
dec_icmp(struct stun_msg *m, const struct stun_attr_def *d, struct rd *v)
{
	uint8_t type, code;
	uint32_t data;

	(void)rd_u16(v);
	type = rd_u8(v);
	code = rd_u8(v);
	data = rd_u32(v);
	memcpy(msg_at(m, d->off), &type, sizeof(type));
	memcpy(msg_at(m, d->aux), &code, sizeof(code));
	memcpy(msg_at(m, d->aux2), &data, sizeof(data));
	return v->err != 0 ? STUN_EBADLEN : 0;
}
