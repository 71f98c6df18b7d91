/*
 * Protocol constants of STUN (RFC 8489) and TURN (RFC 8656, RFC 6062),
 * the RFC 5780 and ICE (RFC 8445) attributes a server must recognise, the
 * codec's error numbers and its limits.
 *
 * Everything in proto/ is a pure function over caller-owned buffers: no
 * allocation while parsing, no globals, no I/O, no clock.  Keys, time and
 * random bytes are arguments.
 */
#ifndef TURND_PROTO_STUN_H
#define TURND_PROTO_STUN_H

#include <stddef.h>
#include <stdint.h>

#define STUN_MAGIC_COOKIE 0x2112A442U
#define STUN_FINGERPRINT_XOR 0x5354554eU
#define STUN_HDR_LEN 20
#define STUN_ATTR_HDR_LEN 4
#define STUN_TXID_LEN 12

/* Message classes (RFC 8489 section 5), as 0..3. */
#define STUN_CLASS_REQUEST 0
#define STUN_CLASS_INDICATION 1
#define STUN_CLASS_SUCCESS 2
#define STUN_CLASS_ERROR 3

/* Methods (RFC 8489, RFC 8656 section 17, RFC 6062 section 6). */
#define STUN_METHOD_BINDING 0x001
#define STUN_METHOD_ALLOCATE 0x003
#define STUN_METHOD_REFRESH 0x004
#define STUN_METHOD_SEND 0x006
#define STUN_METHOD_DATA 0x007
#define STUN_METHOD_CREATE_PERMISSION 0x008
#define STUN_METHOD_CHANNEL_BIND 0x009
#define STUN_METHOD_CONNECT 0x00a
#define STUN_METHOD_CONNECTION_BIND 0x00b
#define STUN_METHOD_CONNECTION_ATTEMPT 0x00c

/*
 * Every attribute the codec knows, as X(NAME, type).  The order gives each
 * attribute its index (enum stun_attr_idx) and its presence bit in
 * struct stun_msg.  Attributes in 0x0000-0x7fff are comprehension-required.
 */
#define STUN_ATTR_LIST(X)                                                      \
	X(MAPPED_ADDRESS, 0x0001)                                              \
	X(CHANGE_REQUEST, 0x0003)                                              \
	X(USERNAME, 0x0006)                                                    \
	X(MESSAGE_INTEGRITY, 0x0008)                                           \
	X(ERROR_CODE, 0x0009)                                                  \
	X(UNKNOWN_ATTRIBUTES, 0x000a)                                          \
	X(CHANNEL_NUMBER, 0x000c)                                              \
	X(LIFETIME, 0x000d)                                                    \
	X(XOR_PEER_ADDRESS, 0x0012)                                            \
	X(DATA, 0x0013)                                                        \
	X(REALM, 0x0014)                                                       \
	X(NONCE, 0x0015)                                                       \
	X(XOR_RELAYED_ADDRESS, 0x0016)                                         \
	X(REQUESTED_ADDRESS_FAMILY, 0x0017)                                    \
	X(EVEN_PORT, 0x0018)                                                   \
	X(REQUESTED_TRANSPORT, 0x0019)                                         \
	X(DONT_FRAGMENT, 0x001a)                                               \
	X(MESSAGE_INTEGRITY_SHA256, 0x001c)                                    \
	X(PASSWORD_ALGORITHM, 0x001d)                                          \
	X(USERHASH, 0x001e)                                                    \
	X(XOR_MAPPED_ADDRESS, 0x0020)                                          \
	X(RESERVATION_TOKEN, 0x0022)                                           \
	X(PRIORITY, 0x0024)                                                    \
	X(USE_CANDIDATE, 0x0025)                                               \
	X(PADDING, 0x0026)                                                     \
	X(RESPONSE_PORT, 0x0027)                                               \
	X(CONNECTION_ID, 0x002a)                                               \
	X(ADDITIONAL_ADDRESS_FAMILY, 0x8000)                                   \
	X(ADDRESS_ERROR_CODE, 0x8001)                                          \
	X(PASSWORD_ALGORITHMS, 0x8002)                                         \
	X(ALTERNATE_DOMAIN, 0x8003)                                            \
	X(ICMP, 0x8004)                                                        \
	X(SOFTWARE, 0x8022)                                                    \
	X(ALTERNATE_SERVER, 0x8023)                                            \
	X(CACHE_TIMEOUT, 0x8027)                                               \
	X(FINGERPRINT, 0x8028)                                                 \
	X(ICE_CONTROLLED, 0x8029)                                              \
	X(ICE_CONTROLLING, 0x802a)                                             \
	X(RESPONSE_ORIGIN, 0x802b)                                             \
	X(OTHER_ADDRESS, 0x802c)

/* Attribute types: STUN_ATTR_LIFETIME == 0x000d. */
enum stun_attr_type {
#define STUN_X_TYPE(name, code) STUN_ATTR_##name = code,
	STUN_ATTR_LIST(STUN_X_TYPE)
#undef STUN_X_TYPE
};

/* Attribute indices: STUN_AI_LIFETIME is LIFETIME's row in the table. */
enum stun_attr_idx {
#define STUN_X_IDX(name, code) STUN_AI_##name,
	STUN_ATTR_LIST(STUN_X_IDX)
#undef STUN_X_IDX
	STUN_AI_COUNT
};

/* Error codes (RFC 8489 section 14.8, RFC 8656 section 19, RFC 6062). */
#define STUN_ERR_TRY_ALTERNATE 300
#define STUN_ERR_BAD_REQUEST 400
#define STUN_ERR_UNAUTHORIZED 401
#define STUN_ERR_FORBIDDEN 403
#define STUN_ERR_MOBILITY_FORBIDDEN 405
#define STUN_ERR_UNKNOWN_ATTRIBUTE 420
#define STUN_ERR_ALLOCATION_MISMATCH 437
#define STUN_ERR_STALE_NONCE 438
#define STUN_ERR_ADDRESS_FAMILY 440
#define STUN_ERR_WRONG_CREDENTIALS 441
#define STUN_ERR_UNSUPPORTED_TRANSPORT 442
#define STUN_ERR_PEER_ADDRESS_FAMILY 443
#define STUN_ERR_CONNECTION_EXISTS 446
#define STUN_ERR_CONNECTION_FAILURE 447
#define STUN_ERR_ALLOCATION_QUOTA 486
#define STUN_ERR_ROLE_CONFLICT 487
#define STUN_ERR_SERVER_ERROR 500
#define STUN_ERR_INSUFFICIENT_CAPACITY 508

/* Address families on the wire (RFC 8489 section 14.1). */
#define STUN_AF_IPV4 0x01
#define STUN_AF_IPV6 0x02

/* REQUESTED-TRANSPORT protocol numbers (RFC 8656, RFC 6062). */
#define STUN_PROTO_TCP 6
#define STUN_PROTO_UDP 17

/* PASSWORD-ALGORITHM values (RFC 8489 section 18.5). */
#define STUN_PWALG_MD5 0x0001
#define STUN_PWALG_SHA256 0x0002

/* CHANGE-REQUEST flags (RFC 5780 section 7.2). */
#define STUN_CHANGE_IP 0x04
#define STUN_CHANGE_PORT 0x02

/* Channel numbers (RFC 8656 section 12; RFC 5766 allowed up to 0x7fff). */
#define STUN_CHANNEL_MIN 0x4000
#define STUN_CHANNEL_MAX 0x4fff
#define STUN_CHANNEL_LEGACY_MAX 0x7fff

/* RFC 8489 nonce cookie: "obMatJos2" then four base64 feature characters. */
#define STUN_NONCE_COOKIE "obMatJos2"
#define STUN_NONCE_COOKIE_LEN 9
#define STUN_NONCE_FEATURES_LEN 4
#define STUN_FEATURE_PASSWORD_ALGORITHMS 0x000001
#define STUN_FEATURE_USERNAME_ANONYMITY 0x000002

/*
 * Limits.  Strings follow RFC 8489: USERNAME fewer than 509 bytes; REALM,
 * NONCE, SOFTWARE and reason phrases fewer than 128 characters and at most
 * 763 bytes; ALTERNATE-DOMAIN at most 255 characters.
 */
#define STUN_MAX_USERNAME 508
#define STUN_MAX_STR_CHARS 127
#define STUN_MAX_STR_BYTES 763
#define STUN_MAX_DOMAIN 255
#define STUN_MAX_ATTRS 64	/* attributes walked per message */
#define STUN_MAX_PEERS 16	/* XOR-PEER-ADDRESS kept per message */
#define STUN_MAX_RELAYED 2	/* XOR-RELAYED-ADDRESS kept per message */
#define STUN_MAX_UNKNOWN 16	/* unknown attribute types kept */
#define STUN_MAX_PWALGS 8	/* PASSWORD-ALGORITHMS entries kept */
#define STUN_MAX_MSG 65535	/* header + body */
#define STUN_MI_LEN 20
#define STUN_MI_SHA256_LEN 32
#define STUN_MI_SHA256_MIN 16
#define STUN_USERHASH_LEN 32
#define STUN_KEY_MAX 32		/* SHA-256 long-term key */

/* Errors returned by proto/ functions, always negative. */
enum stun_err {
	STUN_OK = 0,
	STUN_ETRUNC = -1,     /* buffer shorter than the message says */
	STUN_EHDR = -2,	      /* top bits, length not a multiple of 4 */
	STUN_ECOOKIE = -3,    /* magic cookie wrong */
	STUN_EBADLEN = -4,    /* attribute length wrong for its type */
	STUN_EPADDING = -5,   /* attribute padding missing or past the end */
	STUN_EBADVAL = -6,    /* attribute value malformed */
	STUN_EFAMILY = -7,    /* address family not 1 or 2 */
	STUN_ETOOMANY = -8,   /* more attributes or values than the caps */
	STUN_EORDER = -9,     /* FINGERPRINT not last */
	STUN_EINTEGRITY = -10, /* MESSAGE-INTEGRITY(-SHA256) wrong or absent */
	STUN_EFINGERPRINT = -11, /* FINGERPRINT wrong */
	STUN_ENOSPC = -12,    /* encoder: caller buffer too small */
	STUN_ECHANNEL = -13,  /* ChannelData: channel number out of range */
	STUN_EFRAME = -14,    /* stream: bytes are neither STUN nor ChannelData */
	STUN_ETOOBIG = -15,   /* stream: frame larger than the caller's limit */
	STUN_EINVAL = -16,    /* caller passed something impossible */
};

/* Returns a static string naming err. */
const char *stun_strerror(int err);

/*
 * A transport address as STUN carries it.  ip holds 4 bytes for IPv4 and
 * 16 for IPv6, in network order; port is in host order.
 */
struct stun_addr {
	uint8_t family; /* STUN_AF_IPV4 or STUN_AF_IPV6 */
	uint16_t port;
	uint8_t ip[16];
};

/* A borrowed byte string inside a message buffer. */
struct stun_str {
	const uint8_t *p;
	uint16_t len;
};

#endif
