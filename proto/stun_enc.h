/*
 * Building STUN messages into a caller's buffer.  stun_enc_init writes the
 * header; each stun_enc_* call appends one attribute with its padding and
 * keeps the header's length field current; the integrity and fingerprint
 * calls come last, in that order, and fix the length up as RFC 8489
 * sections 14.5, 14.6 and 14.7 require.  Errors are sticky: check the
 * result of stun_enc_finish once.
 */
#ifndef TURND_PROTO_STUN_ENC_H
#define TURND_PROTO_STUN_ENC_H

#include <stddef.h>
#include <stdint.h>

#include "stun.h"

struct stun_enc {
	uint8_t *buf; /* borrowed */
	size_t cap;
	size_t len;
	int err; /* 0 or negative enum stun_err, sticky */
};

void stun_enc_init(struct stun_enc *e, uint8_t *buf, size_t cap,
    uint16_t type, const uint8_t txid[STUN_TXID_LEN]);
/* Any attribute: type, then len bytes of val, then zero padding. */
void stun_enc_attr(struct stun_enc *e, uint16_t type, const void *val,
    size_t len);
void stun_enc_str(struct stun_enc *e, uint16_t type, const char *s);
void stun_enc_u32(struct stun_enc *e, uint16_t type, uint32_t v);
/* A one-byte value followed by three zero bytes (REQUESTED-TRANSPORT,
 * REQUESTED-ADDRESS-FAMILY, ADDITIONAL-ADDRESS-FAMILY). */
void stun_enc_u8pad(struct stun_enc *e, uint16_t type, uint8_t v);
/* A 16-bit value followed by two zero bytes (CHANNEL-NUMBER). */
void stun_enc_u16pad(struct stun_enc *e, uint16_t type, uint16_t v);
void stun_enc_u64(struct stun_enc *e, uint16_t type, uint64_t v);
/* MAPPED-ADDRESS style (plain) and XOR-*-ADDRESS style. */
void stun_enc_addr(struct stun_enc *e, uint16_t type,
    const struct stun_addr *a);
void stun_enc_xaddr(struct stun_enc *e, uint16_t type,
    const struct stun_addr *a);
/* ERROR-CODE; reason NULL uses the RFC's phrase for code. */
void stun_enc_error(struct stun_enc *e, uint16_t code, const char *reason);
/* ADDRESS-ERROR-CODE (RFC 8656 section 18.12). */
void stun_enc_address_error(struct stun_enc *e, uint8_t family,
    uint16_t code, const char *reason);
void stun_enc_unknown(struct stun_enc *e, const uint16_t *types, size_t n);
/* PASSWORD-ALGORITHMS or PASSWORD-ALGORITHM without parameters. */
void stun_enc_pwalgs(struct stun_enc *e, const uint16_t *algs, size_t n);
void stun_enc_pwalg(struct stun_enc *e, uint16_t alg);

/* MESSAGE-INTEGRITY: HMAC-SHA1 with key over the message so far. */
void stun_enc_integrity(struct stun_enc *e, const uint8_t *key,
    size_t keylen);
/* MESSAGE-INTEGRITY-SHA256, full 32 bytes. */
void stun_enc_integrity_sha256(struct stun_enc *e, const uint8_t *key,
    size_t keylen);
/* FINGERPRINT: CRC-32 of the message so far XOR 0x5354554e. */
void stun_enc_fingerprint(struct stun_enc *e);

/* Returns the message length, or a negative enum stun_err. */
int stun_enc_finish(const struct stun_enc *e);

/* Returns the RFC's reason phrase for an error code ("Stale Nonce"). */
const char *stun_reason(uint16_t code);

/*
 * Writes, at out, the header of a Data indication (RFC 8656 section 11.4)
 * carrying data_len bytes from peer: STUN header, XOR-PEER-ADDRESS and the
 * DATA attribute header.  The caller places the data right after and adds
 * stun_pad(data_len) - data_len zero bytes.  Used on the relay path to wrap
 * a datagram in place.  Returns the header length (at most
 * STUN_DATA_IND_HDR_MAX), STUN_ENOSPC, STUN_EFAMILY (peer), or
 * STUN_EINVAL when data_len would not fit a STUN message.
 */
#define STUN_DATA_IND_HDR_MAX (STUN_HDR_LEN + 4 + 20 + 4)
int stun_data_ind_hdr(uint8_t *out, size_t cap,
    const uint8_t txid[STUN_TXID_LEN], const struct stun_addr *peer,
    size_t data_len);

/* Rounds up to a multiple of four. */
static inline size_t
stun_pad(size_t len)
{
	return (len + 3) & ~(size_t)3;
}

#endif
