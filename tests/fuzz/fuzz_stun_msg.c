/*
 * Fuzz target for stun_msg_decode.  Every input is decoded; a message that
 * decodes is checked for integrity with a fixed key, then rebuilt from its
 * typed fields with the encoder (integrity and fingerprint included when
 * the input had them), and the rebuilt message must decode to the same
 * fields and verify.  So beyond crashes this finds any value the decoder
 * accepts that the encoder cannot write back, or writes back differently.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stun.h"
#include "stun_attr.h"
#include "stun_enc.h"
#include "stun_hdr.h"
#include "stun_integrity.h"
#include "stun_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const uint8_t fuzz_key[] = "fuzz-key";
#define FUZZ_KEYLEN (sizeof(fuzz_key) - 1)

#define FUZZ_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

static const void *
field(const struct stun_msg *m, uint16_t off)
{
	return (const uint8_t *)m + off;
}

static void
enc_errcode(struct stun_enc *e, const struct stun_attr_def *d,
    const struct stun_errcode *ec, uint8_t family)
{
	char reason[STUN_MAX_STR_BYTES + 1];
	uint8_t raw[4 + STUN_MAX_STR_BYTES];

	/* The encoder takes a C string; a reason with a NUL in it goes raw. */
	if (ec->reason.len == 0 ||
	    memchr(ec->reason.p, 0, ec->reason.len) == NULL) {
		memcpy(reason, ec->reason.p, ec->reason.len);
		reason[ec->reason.len] = '\0';
		if (d->kind == STUN_AK_ADDRERR)
			stun_enc_address_error(e, family, ec->code, reason);
		else
			stun_enc_error(e, ec->code, reason);
		return;
	}
	raw[0] = d->kind == STUN_AK_ADDRERR ? family : 0;
	raw[1] = 0;
	raw[2] = (uint8_t)(ec->code / 100);
	raw[3] = (uint8_t)(ec->code % 100);
	memcpy(raw + 4, ec->reason.p, ec->reason.len);
	stun_enc_attr(e, d->type, raw, 4 + (size_t)ec->reason.len);
}

static void
enc_pwalg(uint8_t *out, size_t *len, const struct stun_pwalg *pa)
{
	out[*len] = (uint8_t)(pa->alg >> 8);
	out[*len + 1] = (uint8_t)pa->alg;
	out[*len + 2] = (uint8_t)(pa->params.len >> 8);
	out[*len + 3] = (uint8_t)pa->params.len;
	if (pa->params.len != 0)
		memcpy(out + *len + 4, pa->params.p, pa->params.len);
	*len += 4 + stun_pad(pa->params.len);
}

/* Appends the typed value of attribute d from m. */
static void
enc_one(
    struct stun_enc *e, const struct stun_msg *m, const struct stun_attr_def *d)
{
	static uint8_t tmp[65536 + 64];
	const struct stun_str *s;
	const struct stun_addr *a;
	uint32_t u32;
	uint64_t u64;
	uint16_t u16;
	uint8_t u8, n, i;
	size_t len;

	switch (d->kind) {
	case STUN_AK_ADDR:
	case STUN_AK_XADDR:
		a = field(m, d->off);
		n = d->max_n > 1 ? *(const uint8_t *)field(m, d->aux) : 1;
		for (i = 0; i < n; i++) {
			if (d->kind == STUN_AK_XADDR)
				stun_enc_xaddr(e, d->type, &a[i]);
			else
				stun_enc_addr(e, d->type, &a[i]);
		}
		break;
	case STUN_AK_STR:
	case STUN_AK_RAW:
		s = field(m, d->off);
		stun_enc_attr(e, d->type, s->p, s->len);
		break;
	case STUN_AK_COPY:
		stun_enc_attr(e, d->type, field(m, d->off), d->min_len);
		break;
	case STUN_AK_U32:
		memcpy(&u32, field(m, d->off), sizeof(u32));
		stun_enc_u32(e, d->type, u32);
		break;
	case STUN_AK_U64:
		memcpy(&u64, field(m, d->off), sizeof(u64));
		stun_enc_u64(e, d->type, u64);
		break;
	case STUN_AK_U8PAD:
		memcpy(&u8, field(m, d->off), sizeof(u8));
		stun_enc_u8pad(e, d->type, u8);
		break;
	case STUN_AK_U16PAD:
		memcpy(&u16, field(m, d->off), sizeof(u16));
		stun_enc_u16pad(e, d->type, u16);
		break;
	case STUN_AK_EVENPORT:
		memcpy(&u8, field(m, d->off), sizeof(u8));
		u8 = (uint8_t)(u8 << 7);
		stun_enc_attr(e, d->type, &u8, 1);
		break;
	case STUN_AK_FLAG:
		stun_enc_attr(e, d->type, NULL, 0);
		break;
	case STUN_AK_ERRCODE:
		enc_errcode(e, d, field(m, d->off), 0);
		break;
	case STUN_AK_ADDRERR:
		enc_errcode(
		    e, d, field(m, d->off), *(const uint8_t *)field(m, d->aux));
		break;
	case STUN_AK_TYPELIST:
		stun_enc_unknown(
		    e, field(m, d->off), *(const uint8_t *)field(m, d->aux));
		break;
	case STUN_AK_PWALG:
		len = 0;
		enc_pwalg(tmp, &len, field(m, d->off));
		stun_enc_attr(e, d->type, tmp, len);
		break;
	case STUN_AK_PWALGS:
		len = 0;
		n = *(const uint8_t *)field(m, d->aux);
		for (i = 0; i < n; i++)
			enc_pwalg(tmp, &len,
			    (const struct stun_pwalg *)field(m, d->off) + i);
		stun_enc_attr(e, d->type, tmp, len);
		break;
	case STUN_AK_ICMP:
		memset(tmp, 0, 8);
		memcpy(&tmp[2], field(m, d->off), 1);
		memcpy(&tmp[3], field(m, d->aux), 1);
		memcpy(&u32, field(m, d->aux2), sizeof(u32));
		tmp[4] = (uint8_t)(u32 >> 24);
		tmp[5] = (uint8_t)(u32 >> 16);
		tmp[6] = (uint8_t)(u32 >> 8);
		tmp[7] = (uint8_t)u32;
		stun_enc_attr(e, d->type, tmp, 8);
		break;
	default: /* integrity and fingerprint: appended last */
		break;
	}
}

static int
str_eq(const struct stun_str *a, const struct stun_str *b)
{
	return a->len == b->len &&
	    (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

static int
pwalg_eq(const struct stun_pwalg *a, const struct stun_pwalg *b)
{
	return a->alg == b->alg && str_eq(&a->params, &b->params);
}

/* True when a and b carry the same value of attribute d. */
static int
same(const struct stun_msg *a, const struct stun_msg *b,
    const struct stun_attr_def *d)
{
	const struct stun_errcode *ea, *eb;
	uint8_t n, i;

	switch (d->kind) {
	case STUN_AK_ADDR:
	case STUN_AK_XADDR:
		n = 1;
		if (d->max_n > 1) {
			n = *(const uint8_t *)field(a, d->aux);
			if (n != *(const uint8_t *)field(b, d->aux))
				return 0;
		}
		return memcmp(field(a, d->off), field(b, d->off),
		           n * sizeof(struct stun_addr)) == 0;
	case STUN_AK_STR:
	case STUN_AK_RAW:
		return str_eq(field(a, d->off), field(b, d->off));
	case STUN_AK_COPY:
		return memcmp(field(a, d->off), field(b, d->off), d->min_len) ==
		    0;
	case STUN_AK_U32:
		return memcmp(field(a, d->off), field(b, d->off), 4) == 0;
	case STUN_AK_U64:
		return memcmp(field(a, d->off), field(b, d->off), 8) == 0;
	case STUN_AK_U16PAD:
		return memcmp(field(a, d->off), field(b, d->off), 2) == 0;
	case STUN_AK_U8PAD:
	case STUN_AK_EVENPORT:
		return memcmp(field(a, d->off), field(b, d->off), 1) == 0;
	case STUN_AK_ERRCODE:
	case STUN_AK_ADDRERR:
		ea = field(a, d->off);
		eb = field(b, d->off);
		if (d->kind == STUN_AK_ADDRERR &&
		    memcmp(field(a, d->aux), field(b, d->aux), 1) != 0)
			return 0;
		return ea->code == eb->code && str_eq(&ea->reason, &eb->reason);
	case STUN_AK_TYPELIST:
		n = *(const uint8_t *)field(a, d->aux);
		return n == *(const uint8_t *)field(b, d->aux) &&
		    memcmp(field(a, d->off), field(b, d->off),
		        n * sizeof(uint16_t)) == 0;
	case STUN_AK_PWALG:
		return pwalg_eq(field(a, d->off), field(b, d->off));
	case STUN_AK_PWALGS:
		n = *(const uint8_t *)field(a, d->aux);
		if (n != *(const uint8_t *)field(b, d->aux))
			return 0;
		for (i = 0; i < n; i++)
			if (!pwalg_eq(
			        (const struct stun_pwalg *)field(a, d->off) + i,
			        (const struct stun_pwalg *)field(b, d->off) +
			            i))
				return 0;
		return 1;
	case STUN_AK_ICMP:
		return memcmp(field(a, d->off), field(b, d->off), 1) == 0 &&
		    memcmp(field(a, d->aux), field(b, d->aux), 1) == 0 &&
		    memcmp(field(a, d->aux2), field(b, d->aux2), 4) == 0;
	default:
		return 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[STUN_HDR_LEN + 65536];
	static const uint16_t types[] = {
#define X(name, code) code,
	    STUN_ATTR_LIST(X)
#undef X
	};
	static struct stun_msg m, r;
	const struct stun_attr_def *d;
	struct stun_enc e;
	size_t i;
	int len, which = 0, rwhich = 0, ierr;
	uint8_t k;

	if (stun_msg_decode(&m, data, size) != 0)
		return 0;
	FUZZ_ASSERT(m.len == size && m.buf == data);
	FUZZ_ASSERT(m.n_attrs <= STUN_MAX_ATTRS && m.n_peer <= STUN_MAX_PEERS);
	ierr = stun_msg_check_integrity(&m, fuzz_key, FUZZ_KEYLEN, &which);
	FUZZ_ASSERT(ierr == 0 || ierr == STUN_EINTEGRITY);
	FUZZ_ASSERT((ierr == STUN_EINTEGRITY) ||
	    (m.mi256_off != 0 ? which == STUN_INTEGRITY_SHA256
	                      : which == STUN_INTEGRITY_SHA1));
	if (m.fp_off != 0)
		FUZZ_ASSERT(m.fp_off == size - 8);

	/* Rebuild from the typed fields, integrity last. */
	stun_enc_init(&e, out, sizeof(out), m.type, m.txid);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		d = stun_attr_lookup(types[i]);
		if ((m.present >> i & 1) != 0)
			enc_one(&e, &m, d);
	}
	for (k = 0; k < m.n_unknown; k++)
		stun_enc_attr(&e, m.unknown[k], NULL, 0);
	if (m.mi_off != 0)
		stun_enc_integrity(&e, fuzz_key, FUZZ_KEYLEN);
	if (m.mi256_off != 0)
		stun_enc_integrity_sha256(&e, fuzz_key, FUZZ_KEYLEN);
	if (m.fp_off != 0)
		stun_enc_fingerprint(&e);
	len = stun_enc_finish(&e);
	FUZZ_ASSERT(len > 0);
	FUZZ_ASSERT((size_t)len <= size + (m.mi256_off != 0 ? 16 : 0));

	FUZZ_ASSERT(stun_msg_decode(&r, out, (size_t)len) == 0);
	FUZZ_ASSERT(r.type == m.type && r.present == m.present);
	FUZZ_ASSERT(memcmp(r.txid, m.txid, STUN_TXID_LEN) == 0);
	FUZZ_ASSERT(r.n_unknown == m.n_unknown &&
	    memcmp(r.unknown, m.unknown, m.n_unknown * sizeof(uint16_t)) == 0);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if ((m.present >> i & 1) != 0)
			FUZZ_ASSERT(same(&m, &r, stun_attr_lookup(types[i])));
	if (r.mi_off != 0 || r.mi256_off != 0) {
		FUZZ_ASSERT(stun_msg_check_integrity(
		                &r, fuzz_key, FUZZ_KEYLEN, &rwhich) == 0);
		FUZZ_ASSERT(ierr != 0 || rwhich == which);
	}
	return 0;
}
