/*
 * Decoding one STUN message into struct stun_msg, the only view of a
 * message the rest of turnd sees.  The decoder walks every attribute once
 * with a bounded reader, applies RFC 8489 section 14's rules (padding,
 * exact fixed sizes, string ceilings, nothing but MESSAGE-INTEGRITY-SHA256
 * and FINGERPRINT counted after MESSAGE-INTEGRITY, FINGERPRINT last and
 * correct) and fills typed fields.  Unknown comprehension-required
 * attributes are collected for a 420 response rather than failing.
 */
#ifndef TURND_PROTO_STUN_MSG_H
#define TURND_PROTO_STUN_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "stun.h"

struct stun_errcode {
	uint16_t code; /* 300..699 */
	struct stun_str reason;
};

struct stun_pwalg {
	uint16_t alg; /* STUN_PWALG_* or another value */
	struct stun_str params;
};

/*
 * Pointers in here are borrowed from the buffer given to stun_msg_decode
 * and valid only as long as it is.  Duplicate attributes: the first
 * occurrence counts, later ones are ignored, except XOR-PEER-ADDRESS (up to
 * STUN_MAX_PEERS) and XOR-RELAYED-ADDRESS (up to STUN_MAX_RELAYED), which
 * are collected in order.
 */
struct stun_msg {
	uint16_t type;
	uint16_t method;
	uint8_t cls;
	uint8_t txid[STUN_TXID_LEN];
	const uint8_t *buf; /* borrowed: the whole message */
	size_t len;	    /* header and body */

	uint64_t present; /* bit (1 << STUN_AI_x): attribute seen and counted */
	uint16_t n_attrs; /* attributes walked, ignored ones included */

	/* Offsets of integrity attributes' headers in buf; 0 when absent. */
	uint16_t mi_off;
	uint16_t mi256_off;
	uint16_t mi256_len; /* MESSAGE-INTEGRITY-SHA256 value length */
	uint16_t fp_off;

	/* Unknown comprehension-required types seen before integrity. */
	uint16_t unknown[STUN_MAX_UNKNOWN];
	uint8_t n_unknown;

	struct stun_addr mapped;	   /* MAPPED-ADDRESS */
	struct stun_addr xor_mapped;	   /* XOR-MAPPED-ADDRESS */
	struct stun_addr alternate_server; /* ALTERNATE-SERVER */
	struct stun_addr response_origin;  /* RESPONSE-ORIGIN */
	struct stun_addr other_address;	   /* OTHER-ADDRESS */
	struct stun_addr peer[STUN_MAX_PEERS]; /* XOR-PEER-ADDRESS */
	uint8_t n_peer;
	struct stun_addr relayed[STUN_MAX_RELAYED]; /* XOR-RELAYED-ADDRESS */
	uint8_t n_relayed;

	struct stun_str username;
	struct stun_str realm;
	struct stun_str nonce;
	struct stun_str software;
	struct stun_str alternate_domain;
	struct stun_str data;
	struct stun_str padding;
	uint8_t userhash[STUN_USERHASH_LEN];

	struct stun_errcode error; /* ERROR-CODE */
	uint8_t address_error_family; /* ADDRESS-ERROR-CODE */
	struct stun_errcode address_error;
	uint16_t unknown_attrs[STUN_MAX_UNKNOWN]; /* UNKNOWN-ATTRIBUTES */
	uint8_t n_unknown_attrs;

	struct stun_pwalg pwalg; /* PASSWORD-ALGORITHM */
	struct stun_pwalg pwalgs[STUN_MAX_PWALGS]; /* PASSWORD-ALGORITHMS */
	uint8_t n_pwalgs;
	struct stun_str pwalgs_raw; /* the whole value, for comparison */

	uint32_t lifetime;    /* LIFETIME, seconds */
	uint16_t channel;     /* CHANNEL-NUMBER */
	uint8_t transport;    /* REQUESTED-TRANSPORT protocol */
	uint8_t req_family;   /* REQUESTED-ADDRESS-FAMILY, raw value */
	uint8_t add_family;   /* ADDITIONAL-ADDRESS-FAMILY, raw value */
	uint8_t even_port_r;  /* EVEN-PORT R bit, 0 or 1 */
	uint8_t reservation_token[8];
	uint32_t connection_id;
	uint32_t change_request; /* STUN_CHANGE_* bits */
	uint16_t response_port;
	uint32_t priority;
	uint64_t ice_tiebreaker; /* ICE-CONTROLLED or ICE-CONTROLLING */
	uint32_t cache_timeout;
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint32_t icmp_data;
};

#define STUN_HAS(m, name) (((m)->present >> STUN_AI_##name) & 1)

/*
 * Decodes the message in buf[0..len) into m, which it overwrites.  len must
 * be the exact message length (a datagram, or a frame from
 * stun_frame_len).  FINGERPRINT, when present, is verified here.
 * MESSAGE-INTEGRITY is located but not verified: see stun_integrity.h.
 * Returns 0 or a negative enum stun_err; on error m is unusable.
 */
int stun_msg_decode(struct stun_msg *m, const uint8_t *buf, size_t len);

#endif
