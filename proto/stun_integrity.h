/*
 * Message integrity and fingerprint (RFC 8489 sections 9, 14.5-14.7,
 * 18.5): the long-term and short-term keys, HMAC-SHA1 and HMAC-SHA256 over
 * exactly the RFC's byte range with the length field adjusted, constant
 * time comparison, USERHASH and the CRC-32 fingerprint.  libcrypto is the
 * only dependency.
 */
#ifndef TURND_PROTO_STUN_INTEGRITY_H
#define TURND_PROTO_STUN_INTEGRITY_H

#include <stddef.h>
#include <stdint.h>

#include "stun.h"

struct stun_msg;

/*
 * Long-term key (RFC 8489 section 9.2.2): MD5 (alg STUN_PWALG_MD5, 16
 * bytes) or SHA-256 (STUN_PWALG_SHA256, 32 bytes) of
 * username ":" realm ":" password.  Writes out and returns the key length,
 * or STUN_EINVAL for another alg (or when libcrypto fails).  The strings
 * are taken as given: SASLprep/OpaqueString processing is the caller's.
 */
int stun_key_long_term(uint16_t alg, const char *user, size_t user_len,
    const char *realm, size_t realm_len, const char *pass, size_t pass_len,
    uint8_t out[STUN_KEY_MAX]);

/*
 * USERHASH (RFC 8489 section 14.4): SHA-256(username ":" realm).  Should
 * libcrypto fail, out is all zeros.
 */
void stun_userhash(const char *user, size_t user_len, const char *realm,
    size_t realm_len, uint8_t out[STUN_USERHASH_LEN]);

#define STUN_INTEGRITY_SHA1 1
#define STUN_INTEGRITY_SHA256 2

/*
 * Verifies the integrity of a decoded message with key.  When the message
 * has MESSAGE-INTEGRITY-SHA256 that is checked, otherwise
 * MESSAGE-INTEGRITY (RFC 8489 section 9.2.4).  On success returns 0 and, if
 * which is not NULL, stores STUN_INTEGRITY_SHA1 or STUN_INTEGRITY_SHA256 so
 * the response can use the same attribute.  Returns STUN_EINTEGRITY when the
 * message has neither attribute or the one checked does not match.
 */
int stun_msg_check_integrity(const struct stun_msg *m, const uint8_t *key,
    size_t keylen, int *which);

/* CRC-32 (ISO 3309, as zlib) of p[0..len). */
uint32_t stun_crc32(const uint8_t *p, size_t len);

/*
 * HMACs over two pieces, p1 then p2 (either may be empty), for the encoder
 * and the checker.  Return 0, or STUN_EINTEGRITY when libcrypto fails (out
 * is then zeroed and must not be used).
 */
int stun_hmac_sha1(const uint8_t *key, size_t keylen, const uint8_t *p1,
    size_t l1, const uint8_t *p2, size_t l2, uint8_t out[20]);
int stun_hmac_sha256(const uint8_t *key, size_t keylen, const uint8_t *p1,
    size_t l1, const uint8_t *p2, size_t l2, uint8_t out[32]);

#endif
