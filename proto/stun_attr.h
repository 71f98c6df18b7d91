/*
 * The attribute table: for every attribute in STUN_ATTR_LIST its name,
 * value kind, length bounds and whether it may repeat.  stun_msg.c decodes
 * from this table; nothing else knows attribute layouts.  Also the address
 * value codec shared by the MAPPED and XOR address attributes.
 */
#ifndef TURND_PROTO_STUN_ATTR_H
#define TURND_PROTO_STUN_ATTR_H

#include <stddef.h>
#include <stdint.h>

#include "stun.h"

/*
 * Value kinds.  Each has one decoder in stun_msg.c and says which of the
 * offsets in struct stun_attr_def it uses.
 */
enum stun_attr_kind {
	STUN_AK_ADDR,     /* struct stun_addr at off; MAPPED-ADDRESS style */
	STUN_AK_XADDR,    /* struct stun_addr at off; XOR-*-ADDRESS style */
	STUN_AK_STR,      /* struct stun_str at off; max_chars code points */
	STUN_AK_RAW,      /* struct stun_str at off; any bytes */
	STUN_AK_COPY,     /* min_len bytes copied to off */
	STUN_AK_U32,      /* uint32_t at off */
	STUN_AK_U64,      /* uint64_t at off */
	STUN_AK_U8PAD,    /* uint8_t at off; three RFFU bytes follow */
	STUN_AK_U16PAD,   /* uint16_t at off; two RFFU bytes follow */
	STUN_AK_EVENPORT, /* uint8_t R bit at off */
	STUN_AK_FLAG,     /* no value, presence only */
	STUN_AK_ERRCODE,  /* struct stun_errcode at off */
	STUN_AK_ADDRERR, /* struct stun_errcode at off, family uint8_t at aux */
	STUN_AK_TYPELIST, /* uint16_t[max_n] at off, uint8_t count at aux */
	STUN_AK_PWALG,    /* struct stun_pwalg at off */
	STUN_AK_PWALGS,   /* struct stun_pwalg[max_n] at off, count at aux,
			      struct stun_str of the whole value at aux2 */
	STUN_AK_ICMP,     /* type uint8_t at off, code at aux, data at aux2 */
	STUN_AK_MI,       /* MESSAGE-INTEGRITY: located, verified later */
	STUN_AK_MI256,    /* MESSAGE-INTEGRITY-SHA256: likewise */
	STUN_AK_FINGERPRINT, /* verified while decoding */
};

/*
 * One row of the attribute table.  Lengths are value lengths before
 * padding.  An attribute with max_n above 1 and kind ADDR or XADDR is
 * collected up to max_n times into an array at off, its count (uint8_t) at
 * aux; any other repeats are ignored after the first.
 */
struct stun_attr_def {
	const char *name; /* RFC name, static */
	uint16_t type;
	uint8_t kind;  /* enum stun_attr_kind */
	uint8_t max_n; /* kept: repeats (ADDR, XADDR) or list entries */
	uint16_t min_len;
	uint16_t max_len;
	uint16_t max_chars; /* at most this many code points; 0 = any */
	uint16_t off;       /* offsetof(struct stun_msg, ...) */
	uint16_t aux;       /* second field, by kind */
	uint16_t aux2;      /* third field, by kind */
};

/* Returns the table row of type, or NULL when the codec does not know it. */
const struct stun_attr_def *stun_attr_lookup(uint16_t type);

/* Returns the table index of type, or -1 when the codec does not know it. */
int stun_attr_idx(uint16_t type);
/* Returns the RFC name ("XOR-PEER-ADDRESS") or "unknown". Static string. */
const char *stun_attr_name(uint16_t type);
/* True for 0x0000-0x7fff (RFC 8489 section 14). */
int stun_attr_required(uint16_t type);

/*
 * Address attribute values (RFC 8489 sections 14.1 and 14.2).  With txid
 * NULL the value is plain (MAPPED-ADDRESS); otherwise it is XORed with the
 * magic cookie and, for IPv6, the transaction ID.  Decode returns 0,
 * STUN_EBADLEN (length not 8 or 20 for its family) or STUN_EFAMILY; encode
 * returns the value length (8 or 20) or STUN_EFAMILY.
 */
int stun_addr_decode(struct stun_addr *a, const uint8_t *val, size_t len,
    const uint8_t *txid);
int stun_addr_encode(uint8_t out[20], const struct stun_addr *a,
    const uint8_t *txid);

#endif
