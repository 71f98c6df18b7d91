/*
 * The attribute table and the address value codec.
 *
 * Every attribute in STUN_ATTR_LIST has one row below, indexed by its
 * enum stun_attr_idx: its RFC name, the kind of its value, the bounds of
 * its length and where the decoded value lands in struct stun_msg.  The
 * decoder in stun_msg.c reads only this table (tmux's options-table.c
 * shape); adding an attribute of an existing kind is one row here and a
 * field in struct stun_msg.
 *
 * Sources of the rows: RFC 8489 section 14 (STUN), RFC 8656 section 18
 * (TURN), RFC 6062 section 6.2 (CONNECTION-ID), RFC 5780 section 7 (NAT
 * behaviour discovery), RFC 8445 section 16.1 (ICE), RFC 8489 section 14.1
 * and 14.2 for the address values implemented at the end of this file.
 */
#include <stddef.h>
#include <string.h>

#include "rd.h"
#include "stun.h"
#include "stun_attr.h"
#include "stun_msg.h"

/* The table stores offsets in 16 bits. */
_Static_assert(sizeof(struct stun_msg) <= UINT16_MAX,
    "struct stun_msg too large for the attribute table's offsets");
/* Presence bits live in one uint64_t. */
_Static_assert(STUN_AI_COUNT <= 64, "too many attributes for present");

#define F(field) ((uint16_t)offsetof(struct stun_msg, field))

/* Longest reason phrase: four bytes of code, then 763 bytes of text. */
#define ERR_MAX (4 + STUN_MAX_STR_BYTES)

#define ROW(id, name, kind, n, lo, hi, chars, off, aux, aux2)                  \
	[STUN_AI_##id] = {name, STUN_ATTR_##id, STUN_AK_##kind, n, lo, hi,     \
	    chars, off, aux, aux2}

/* clang-format off */
static const struct stun_attr_def stun_attr_table[STUN_AI_COUNT] = {
	/* RFC 8489 section 14.1; RFC 5780 sections 7.3-7.4 and 8489 14.15. */
	ROW(MAPPED_ADDRESS, "MAPPED-ADDRESS", ADDR, 1, 8, 20, 0, F(mapped), 0,
	    0),
	ROW(ALTERNATE_SERVER, "ALTERNATE-SERVER", ADDR, 1, 8, 20, 0,
	    F(alternate_server), 0, 0),
	ROW(RESPONSE_ORIGIN, "RESPONSE-ORIGIN", ADDR, 1, 8, 20, 0,
	    F(response_origin), 0, 0),
	ROW(OTHER_ADDRESS, "OTHER-ADDRESS", ADDR, 1, 8, 20, 0,
	    F(other_address), 0, 0),

	/* RFC 8489 section 14.2; RFC 8656 sections 18.3 and 18.5. */
	ROW(XOR_MAPPED_ADDRESS, "XOR-MAPPED-ADDRESS", XADDR, 1, 8, 20, 0,
	    F(xor_mapped), 0, 0),
	ROW(XOR_PEER_ADDRESS, "XOR-PEER-ADDRESS", XADDR, STUN_MAX_PEERS, 8, 20,
	    0, F(peer), F(n_peer), 0),
	ROW(XOR_RELAYED_ADDRESS, "XOR-RELAYED-ADDRESS", XADDR,
	    STUN_MAX_RELAYED, 8, 20, 0, F(relayed), F(n_relayed), 0),

	/* RFC 8489 section 14.3: fewer than 509 bytes. */
	ROW(USERNAME, "USERNAME", STR, 1, 0, STUN_MAX_USERNAME, 0,
	    F(username), 0, 0),
	/* RFC 8489 sections 14.9, 14.10, 14.14: fewer than 128 characters. */
	ROW(REALM, "REALM", STR, 1, 0, STUN_MAX_STR_BYTES, STUN_MAX_STR_CHARS,
	    F(realm), 0, 0),
	ROW(NONCE, "NONCE", STR, 1, 0, STUN_MAX_STR_BYTES, STUN_MAX_STR_CHARS,
	    F(nonce), 0, 0),
	ROW(SOFTWARE, "SOFTWARE", STR, 1, 0, STUN_MAX_STR_BYTES,
	    STUN_MAX_STR_CHARS, F(software), 0, 0),
	/* RFC 8489 section 14.16: a domain name, at most 255 bytes. */
	ROW(ALTERNATE_DOMAIN, "ALTERNATE-DOMAIN", STR, 1, 0, STUN_MAX_DOMAIN,
	    0, F(alternate_domain), 0, 0),
	/* RFC 8656 section 18.4; RFC 5780 section 7.6. */
	ROW(DATA, "DATA", RAW, 1, 0, UINT16_MAX, 0, F(data), 0, 0),
	ROW(PADDING, "PADDING", RAW, 1, 0, UINT16_MAX, 0, F(padding), 0, 0),
	/* RFC 8489 section 14.4; RFC 8656 section 18.9. */
	ROW(USERHASH, "USERHASH", COPY, 1, STUN_USERHASH_LEN,
	    STUN_USERHASH_LEN, 0, F(userhash), 0, 0),
	ROW(RESERVATION_TOKEN, "RESERVATION-TOKEN", COPY, 1, 8, 8, 0,
	    F(reservation_token), 0, 0),

	/* RFC 8656 sections 18.2 (LIFETIME); 6062 6.2.1; 5780 7.2; 8445
	 * 16.1 (PRIORITY); 5780 7.8 (CACHE-TIMEOUT). */
	ROW(LIFETIME, "LIFETIME", U32, 1, 4, 4, 0, F(lifetime), 0, 0),
	ROW(CONNECTION_ID, "CONNECTION-ID", U32, 1, 4, 4, 0, F(connection_id),
	    0, 0),
	ROW(CHANGE_REQUEST, "CHANGE-REQUEST", U32, 1, 4, 4, 0,
	    F(change_request), 0, 0),
	ROW(PRIORITY, "PRIORITY", U32, 1, 4, 4, 0, F(priority), 0, 0),
	ROW(CACHE_TIMEOUT, "CACHE-TIMEOUT", U32, 1, 4, 4, 0, F(cache_timeout),
	    0, 0),
	/* RFC 8445 section 16.1: the 64-bit tie-breaker. */
	ROW(ICE_CONTROLLED, "ICE-CONTROLLED", U64, 1, 8, 8, 0,
	    F(ice_tiebreaker), 0, 0),
	ROW(ICE_CONTROLLING, "ICE-CONTROLLING", U64, 1, 8, 8, 0,
	    F(ice_tiebreaker), 0, 0),

	/* RFC 8656 sections 18.6, 18.8, 18.11; RFC 5780 section 7.5. */
	ROW(REQUESTED_TRANSPORT, "REQUESTED-TRANSPORT", U8PAD, 1, 4, 4, 0,
	    F(transport), 0, 0),
	ROW(REQUESTED_ADDRESS_FAMILY, "REQUESTED-ADDRESS-FAMILY", U8PAD, 1, 4,
	    4, 0, F(req_family), 0, 0),
	ROW(ADDITIONAL_ADDRESS_FAMILY, "ADDITIONAL-ADDRESS-FAMILY", U8PAD, 1,
	    4, 4, 0, F(add_family), 0, 0),
	ROW(CHANNEL_NUMBER, "CHANNEL-NUMBER", U16PAD, 1, 4, 4, 0, F(channel),
	    0, 0),
	ROW(RESPONSE_PORT, "RESPONSE-PORT", U16PAD, 1, 4, 4, 0,
	    F(response_port), 0, 0),
	/* RFC 8656 section 18.7: one byte, the R bit first. */
	ROW(EVEN_PORT, "EVEN-PORT", EVENPORT, 1, 1, 1, 0, F(even_port_r), 0,
	    0),
	/* RFC 8656 section 18.10; RFC 8445 section 16.1. */
	ROW(DONT_FRAGMENT, "DONT-FRAGMENT", FLAG, 1, 0, 0, 0, 0, 0, 0),
	ROW(USE_CANDIDATE, "USE-CANDIDATE", FLAG, 1, 0, 0, 0, 0, 0, 0),

	/* RFC 8489 section 14.8; RFC 8656 section 18.12. */
	ROW(ERROR_CODE, "ERROR-CODE", ERRCODE, 1, 4, ERR_MAX,
	    STUN_MAX_STR_CHARS, F(error), 0, 0),
	ROW(ADDRESS_ERROR_CODE, "ADDRESS-ERROR-CODE", ADDRERR, 1, 4, ERR_MAX,
	    STUN_MAX_STR_CHARS, F(address_error), F(address_error_family), 0),
	/* RFC 8489 section 14.13: a list of 16-bit types. */
	ROW(UNKNOWN_ATTRIBUTES, "UNKNOWN-ATTRIBUTES", TYPELIST,
	    STUN_MAX_UNKNOWN, 0, UINT16_MAX, 0, F(unknown_attrs),
	    F(n_unknown_attrs), 0),
	/* RFC 8489 sections 14.11 and 14.12. */
	ROW(PASSWORD_ALGORITHM, "PASSWORD-ALGORITHM", PWALG, 1, 4, UINT16_MAX,
	    0, F(pwalg), 0, 0),
	ROW(PASSWORD_ALGORITHMS, "PASSWORD-ALGORITHMS", PWALGS,
	    STUN_MAX_PWALGS, 4, UINT16_MAX, 0, F(pwalgs), F(n_pwalgs),
	    F(pwalgs_raw)),
	/* RFC 8656 section 18.13. */
	ROW(ICMP, "ICMP", ICMP, 1, 8, 8, 0, F(icmp_type), F(icmp_code),
	    F(icmp_data)),

	/* RFC 8489 sections 14.5, 14.6, 14.7. */
	ROW(MESSAGE_INTEGRITY, "MESSAGE-INTEGRITY", MI, 1, STUN_MI_LEN,
	    STUN_MI_LEN, 0, 0, 0, 0),
	ROW(MESSAGE_INTEGRITY_SHA256, "MESSAGE-INTEGRITY-SHA256", MI256, 1,
	    STUN_MI_SHA256_MIN, STUN_MI_SHA256_LEN, 0, 0, 0, 0),
	ROW(FINGERPRINT, "FINGERPRINT", FINGERPRINT, 1, 4, 4, 0, 0, 0, 0),
};

int
stun_attr_idx(uint16_t type)
{
	switch (type) {
#define STUN_X_CASE(name, code)                                                \
	case code:                                                             \
		return STUN_AI_##name;
		STUN_ATTR_LIST(STUN_X_CASE)
#undef STUN_X_CASE
	default:
		return -1;
	}
}

const struct stun_attr_def *
stun_attr_lookup(uint16_t type)
{
	int idx = stun_attr_idx(type);

	if (idx < 0)
		return NULL;
	return &stun_attr_table[idx];
}

const char *
stun_attr_name(uint16_t type)
{
	const struct stun_attr_def *d = stun_attr_lookup(type);

	return d != NULL ? d->name : "unknown";
}

int
stun_attr_required(uint16_t type)
{
	return type < 0x8000;
}

/*
 * RFC 8489 section 14.1: a reserved byte, the family, the port, then 4 or
 * 16 bytes of address.  Section 14.2: X-Port is the port XOR the cookie's
 * top half, X-Address the address XOR the cookie (IPv4) or the cookie and
 * transaction ID (IPv6).
 */
int
stun_addr_decode(struct stun_addr *a, const uint8_t *val, size_t len,
    const uint8_t *txid)
{
	static const uint8_t cookie[4] = {0x21, 0x12, 0xa4, 0x42};
	struct rd r;
	uint8_t family;
	size_t iplen, i;

	if (len < 4)
		return STUN_EBADLEN;
	rd_init(&r, val, len);
	(void)rd_u8(&r);
	family = rd_u8(&r);
	if (family == STUN_AF_IPV4)
		iplen = 4;
	else if (family == STUN_AF_IPV6)
		iplen = 16;
	else
		return STUN_EFAMILY;
	if (rd_left(&r) != 2 + iplen)
		return STUN_EBADLEN;

	memset(a, 0, sizeof(*a));
	a->family = family;
	a->port = rd_u16(&r);
	rd_bytes(&r, a->ip, iplen);
	if (r.err != 0)
		return STUN_EBADLEN;
	if (txid == NULL)
		return 0;

	a->port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
	for (i = 0; i < 4; i++)
		a->ip[i] ^= cookie[i];
	if (iplen == 16)
		for (i = 0; i < STUN_TXID_LEN; i++)
			a->ip[4 + i] ^= txid[i];
	return 0;
}

int
stun_addr_encode(uint8_t out[20], const struct stun_addr *a,
    const uint8_t *txid)
{
	static const uint8_t cookie[4] = {0x21, 0x12, 0xa4, 0x42};
	struct wr w;
	uint16_t port = a->port;
	uint8_t ip[16];
	size_t iplen, i;

	if (a->family == STUN_AF_IPV4)
		iplen = 4;
	else if (a->family == STUN_AF_IPV6)
		iplen = 16;
	else
		return STUN_EFAMILY;

	memcpy(ip, a->ip, iplen);
	if (txid != NULL) {
		port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
		for (i = 0; i < 4; i++)
			ip[i] ^= cookie[i];
		if (iplen == 16)
			for (i = 0; i < STUN_TXID_LEN; i++)
				ip[4 + i] ^= txid[i];
	}
	wr_init(&w, out, 20);
	wr_u8(&w, 0);
	wr_u8(&w, a->family);
	wr_u16(&w, port);
	wr_bytes(&w, ip, iplen);
	return (int)w.off;
}
