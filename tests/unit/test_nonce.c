/*
 * Stateless nonces: good for the client and transport they were made for
 * until they expire; stale after; refused for another address, port,
 * transport or key, and when any byte is changed.
 */
#include <string.h>

#include "check.h"
#include "config.h"
#include "nonce.h"

int
main(void)
{
	struct nonce_key k, k2;
	union taddr a, b, c6;
	char n[NONCE_LEN + 1], tampered[NONCE_LEN + 1];

	CHECK(nonce_key_init(&k) == 0);
	CHECK(nonce_key_init(&k2) == 0);
	CHECK(memcmp(&k, &k2, sizeof(k)) != 0);
	CHECK(taddr_parse(&a, "192.0.2.1:5000", 0) == 0);
	CHECK(taddr_parse(&b, "192.0.2.1:5001", 0) == 0);
	CHECK(taddr_parse(&c6, "[2001:db8::1]:5000", 0) == 0);

	CHECK_EQ_INT((int)nonce_make(&k, 1000, &a, CONF_T_UDP, n), NONCE_LEN);
	CHECK_EQ_INT((int)strlen(n), NONCE_LEN);
	/* RFC 8489 cookie, then the feature set: password algorithms (bit 0) */
	CHECK(strncmp(n, "obMatJos2AAAB", 13) == 0);

	CHECK_EQ_INT(nonce_check(&k, (uint8_t *)n, NONCE_LEN, &a, CONF_T_UDP,
	    999), NONCE_OK);
	CHECK_EQ_INT(nonce_check(&k, (uint8_t *)n, NONCE_LEN, &a, CONF_T_UDP,
	    1000), NONCE_STALE);
	CHECK_EQ_INT(nonce_check(&k, (uint8_t *)n, NONCE_LEN, &a, CONF_T_UDP,
	    5000), NONCE_STALE);
	CHECK_EQ_INT(nonce_check(&k, (uint8_t *)n, NONCE_LEN, &b, CONF_T_UDP,
	    999), NONCE_BAD);
	CHECK_EQ_INT(nonce_check(&k, (uint8_t *)n, NONCE_LEN, &c6, CONF_T_UDP,
	    999), NONCE_BAD);
	CHECK_EQ_INT(nonce_check(&k, (uint8_t *)n, NONCE_LEN, &a, CONF_T_TCP,
	    999), NONCE_BAD);
	CHECK_EQ_INT(nonce_check(&k2, (uint8_t *)n, NONCE_LEN, &a, CONF_T_UDP,
	    999), NONCE_BAD);
	CHECK_EQ_INT(nonce_check(&k, (uint8_t *)n, NONCE_LEN - 1, &a,
	    CONF_T_UDP, 999), NONCE_BAD);
	CHECK_EQ_INT(nonce_check(&k, (uint8_t *)"", 0, &a, CONF_T_UDP, 999),
	    NONCE_BAD);
	/* every byte matters: the expiry cannot be moved, the MAC not forged */
	for (size_t i = 0; i < NONCE_LEN; i++) {
		memcpy(tampered, n, sizeof(n));
		tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
		CHECK_MSG(nonce_check(&k, (uint8_t *)tampered, NONCE_LEN, &a,
		    CONF_T_UDP, 999) != NONCE_OK, "byte %zu", i);
	}
	/* serial arithmetic: an expiry past the 32-bit wrap still works */
	nonce_make(&k, 5, &a, CONF_T_UDP, n);
	CHECK_EQ_INT(nonce_check(&k, (uint8_t *)n, NONCE_LEN, &a, CONF_T_UDP,
	    0xfffffff0u), NONCE_OK);
	return CHECK_DONE();
}
