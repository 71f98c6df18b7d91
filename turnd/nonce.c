/*
 * Stateless nonces: "obMatJos2" + base64 of the 24-bit feature set (RFC
 * 8489 section 9.2: we offer PASSWORD-ALGORITHMS) + 8 hex digits of expiry
 * + the first 12 bytes of HMAC-SHA256(key, expiry | transport | family |
 * address | port) in base64url.  Nothing about the nonce is stored.
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#include "nonce.h"
#include "stun.h"
#include "stun_integrity.h"

#define NONCE_MAC_LEN 12
/*
 * The 24-bit security feature set in base64, bits numbered from the least
 * significant (RFC 8489 section 18.1): bit 0, password algorithms.
 */
#define STUN_NONCE_FEATURES "AAAB"

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char hexdig[] = "0123456789abcdef";

static void nonce_mac(const struct nonce_key *, uint32_t, const union taddr *,
    int, uint8_t[NONCE_MAC_LEN]);
static void b64_3(const uint8_t in[3], char out[4], const char *alphabet);

int
nonce_key_init(struct nonce_key *k)
{
	return RAND_bytes(k->k, sizeof(k->k)) == 1 ? 0 : -1;
}

static void
b64_3(const uint8_t in[3], char out[4], const char *alphabet)
{
	uint32_t v = (uint32_t)in[0] << 16 | (uint32_t)in[1] << 8 | in[2];

	out[0] = alphabet[(v >> 18) & 63];
	out[1] = alphabet[(v >> 12) & 63];
	out[2] = alphabet[(v >> 6) & 63];
	out[3] = alphabet[v & 63];
}

static void
nonce_mac(const struct nonce_key *k, uint32_t expires,
    const union taddr *client, int transport, uint8_t out[NONCE_MAC_LEN])
{
	uint8_t in[4 + 1 + 1 + 16 + 2], mac[32];
	struct stun_addr sa;
	size_t n = 0;

	taddr_to_stun(&sa, client);
	in[n++] = (uint8_t)(expires >> 24);
	in[n++] = (uint8_t)(expires >> 16);
	in[n++] = (uint8_t)(expires >> 8);
	in[n++] = (uint8_t)expires;
	in[n++] = (uint8_t)transport;
	in[n++] = sa.family;
	memcpy(in + n, sa.ip, 16);
	n += 16;
	in[n++] = (uint8_t)(sa.port >> 8);
	in[n++] = (uint8_t)sa.port;
	stun_hmac_sha256(k->k, sizeof(k->k), in, n, NULL, 0, mac);
	memcpy(out, mac, NONCE_MAC_LEN);
}

size_t
nonce_make(const struct nonce_key *k, uint32_t expires,
    const union taddr *client, int transport, char out[NONCE_LEN + 1])
{
	uint8_t mac[NONCE_MAC_LEN];
	char *p = out;

	memcpy(p, STUN_NONCE_COOKIE STUN_NONCE_FEATURES,
	    STUN_NONCE_COOKIE_LEN + 4);
	p += STUN_NONCE_COOKIE_LEN + 4;
	for (int shift = 28; shift >= 0; shift -= 4)
		*p++ = hexdig[(expires >> shift) & 15];
	nonce_mac(k, expires, client, transport, mac);
	for (int i = 0; i < NONCE_MAC_LEN; i += 3, p += 4)
		b64_3(mac + i, p, b64url);
	*p = '\0';
	return (size_t)(p - out);
}

int
nonce_check(const struct nonce_key *k, const uint8_t *nonce, size_t len,
    const union taddr *client, int transport, uint32_t now)
{
	uint8_t mac[NONCE_MAC_LEN];
	char want[4 * NONCE_MAC_LEN / 3];
	uint32_t expires = 0;
	const uint8_t *p;

	/*
	 * The cookie and feature set must be exactly what we hand out: a
	 * nonce with the password-algorithms bit removed on the way would
	 * otherwise let a man in the middle downgrade the client to MD5.
	 */
	if (len != NONCE_LEN ||
	    memcmp(nonce, STUN_NONCE_COOKIE STUN_NONCE_FEATURES,
	    STUN_NONCE_COOKIE_LEN + 4) != 0)
		return NONCE_BAD;
	p = nonce + STUN_NONCE_COOKIE_LEN + 4;
	for (int i = 0; i < 8; i++) {
		const char *d = memchr(hexdig, p[i], 16);

		if (p[i] == '\0' || d == NULL)
			return NONCE_BAD;
		expires = expires << 4 | (uint32_t)(d - hexdig);
	}
	nonce_mac(k, expires, client, transport, mac);
	for (int i = 0; i < NONCE_MAC_LEN; i += 3)
		b64_3(mac + i, want + i / 3 * 4, b64url);
	if (CRYPTO_memcmp(want, p + 8, sizeof(want)) != 0)
		return NONCE_BAD;
	/* the expiry is covered by the MAC, so it can be trusted now */
	if ((int32_t)(expires - now) <= 0)
		return NONCE_STALE;
	return NONCE_OK;
}
