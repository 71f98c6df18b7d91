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
