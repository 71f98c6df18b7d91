/*
 * Micro-benchmark of the control path's front half: decode an
 * authenticated TURN Allocate request and verify its MESSAGE-INTEGRITY.
 *
 * The request is shaped like libwebrtc's (TurnAllocateRequest::Prepare
 * plus TurnPort::AddRequestAuthInfo): REQUESTED-TRANSPORT, USERNAME (a
 * time-limited "expiry:user" credential), REALM, NONCE, then
 * MESSAGE-INTEGRITY and FINGERPRINT.  libwebrtc sends neither LIFETIME nor
 * SOFTWARE there.
 *
 *	bench_decode [N]	best of 7 rounds of N messages (default
 *				100000) for each step, in ns per message, and
 *				three ways to compute the HMAC for comparison
 *	bench_decode -c N	N x (decode + verify) and nothing else, for
 *				valgrind --tool=callgrind
 *
 * Instructions per message under callgrind: run "-c 1000" and "-c 11000",
 * take the two totals (callgrind's "Collected" or "I refs"), and divide
 * their difference by 10000; start-up and libcrypto's one-time setup
 * cancel out.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "stun.h"
#include "stun_enc.h"
#include "stun_hdr.h"
#include "stun_integrity.h"
#include "stun_msg.h"

#define ROUNDS 7

static uint8_t msg[512];
static size_t msg_len;
static uint8_t key[STUN_KEY_MAX];
static size_t keylen;
static volatile unsigned sink;

static void
build(void)
{
	static const uint8_t txid[STUN_TXID_LEN] = {0x5a, 0x1c, 0x07, 0x93,
	    0xe2, 0x44, 0x0b, 0x6f, 0x31, 0xd8, 0xa0, 0x12};
	struct stun_enc e;
	int len;

	len = stun_key_long_term(STUN_PWALG_MD5, "1700003600:livekit-user", 23,
	    "turn.example.com", 16, "bXkgc2hhcmVkIHNlY3JldA==", 24, key);
	if (len != 16) {
		fprintf(stderr, "bench_decode: key: %d\n", len);
		exit(1);
	}
	keylen = (size_t)len;
	stun_enc_init(&e, msg, sizeof(msg),
	    stun_type(STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST), txid);
	stun_enc_u8pad(&e, STUN_ATTR_REQUESTED_TRANSPORT, STUN_PROTO_UDP);
	stun_enc_str(&e, STUN_ATTR_USERNAME, "1700003600:livekit-user");
	stun_enc_str(&e, STUN_ATTR_REALM, "turn.example.com");
	stun_enc_str(
	    &e, STUN_ATTR_NONCE, "obMatJos2AAAB0001a2f6c3e9d47b58c1f0e6a92");
	stun_enc_integrity(&e, key, keylen);
	stun_enc_fingerprint(&e);
	if ((len = stun_enc_finish(&e)) < 0) {
		fprintf(
		    stderr, "bench_decode: encode: %s\n", stun_strerror(len));
		exit(1);
	}
	msg_len = (size_t)len;
}

static int
decode_verify(void)
{
	struct stun_msg m;
	int err;

	if ((err = stun_msg_decode(&m, msg, msg_len)) != 0)
		return err;
	return stun_msg_check_integrity(&m, key, keylen, NULL);
}

static int
decode_only(void)
{
	struct stun_msg m;

	return stun_msg_decode(&m, msg, msg_len);
}

/* The two pieces the checker hands the HMAC: header copy, then body. */
static uint8_t hdr[STUN_HDR_LEN];
static size_t body_len;

static int
hmac_ours(void)
{
	uint8_t mac[20];

	stun_hmac_sha1(
	    key, keylen, hdr, sizeof(hdr), msg + STUN_HDR_LEN, body_len, mac);
	return mac[0];
}

/* EVP_MAC as OpenSSL 3.0 documents it: fetch, context, init, update. */
static int
hmac_evp_mac(EVP_MAC *reuse)
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;
	EVP_MAC *mac = reuse;
	uint8_t out[20];
	size_t outl = 0;
	char digest[] = "SHA1";

	if (mac == NULL && (mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return -1;
	params[0] =
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_MAC_CTX_new(mac)) == NULL ||
	    !EVP_MAC_init(ctx, key, keylen, params) ||
	    !EVP_MAC_update(ctx, hdr, sizeof(hdr)) ||
	    !EVP_MAC_update(ctx, msg + STUN_HDR_LEN, body_len) ||
	    !EVP_MAC_final(ctx, out, &outl, sizeof(out)))
		outl = 0;
	EVP_MAC_CTX_free(ctx);
	if (reuse == NULL)
		EVP_MAC_free(mac);
	return outl == 20 ? out[0] : -1;
}

static EVP_MAC *shared_mac;

static int
hmac_evp_mac_fetch(void)
{
	return hmac_evp_mac(NULL);
}

static int
hmac_evp_mac_reuse(void)
{
	return hmac_evp_mac(shared_mac);
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Best of ROUNDS rounds of n calls, in ns per call. */
static double
best(int (*fn)(void), long n)
{
	double t0, ns, min = 0;
	long i;
	int r;
	unsigned acc = 0;

	for (r = 0; r < ROUNDS; r++) {
		t0 = now_ns();
		for (i = 0; i < n; i++)
			acc += (unsigned)fn();
		ns = (now_ns() - t0) / (double)n;
		if (r == 0 || ns < min)
			min = ns;
	}
	sink = acc;
	return min;
}

int
main(int argc, char **argv)
{
	long n = 100000, i;
	int err;

	build();
	if (argc == 3 && strcmp(argv[1], "-c") == 0) {
		n = strtol(argv[2], NULL, 10);
		for (i = 0; i < n; i++)
			if (decode_verify() != 0)
				return 1;
		return 0;
	}
	if (argc == 2)
		n = strtol(argv[1], NULL, 10);
	if (n <= 0 || argc > 3) {
		fprintf(stderr, "usage: bench_decode [N] | -c N\n");
		return 2;
	}
	if ((err = decode_verify()) != 0) {
		fprintf(stderr, "bench_decode: %s\n", stun_strerror(err));
		return 1;
	}

	/* The checker's pieces for the MAC comparisons. */
	{
		struct stun_msg m;
		size_t adj;

		stun_msg_decode(&m, msg, msg_len);
		body_len = m.mi_off - STUN_HDR_LEN;
		adj = body_len + STUN_ATTR_HDR_LEN + STUN_MI_LEN;
		memcpy(hdr, msg, STUN_HDR_LEN);
		hdr[2] = (uint8_t)(adj >> 8);
		hdr[3] = (uint8_t)adj;
	}
	if ((shared_mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return 1;

	printf("Allocate request: %zu bytes, %ld messages x %d rounds, best "
	       "round\n",
	    msg_len, n, ROUNDS);
	printf("  decode + verify MI        %8.1f ns/msg\n",
	    best(decode_verify, n));
	printf("  decode (incl. FINGERPRINT) %7.1f ns/msg\n",
	    best(decode_only, n));
	printf("  HMAC-SHA1, EVP_MD_CTX     %8.1f ns   (stun_hmac_sha1)\n",
	    best(hmac_ours, n));
	printf("  HMAC-SHA1, EVP_MAC        %8.1f ns   (fetched per call)\n",
	    best(hmac_evp_mac_fetch, n));
	printf("  HMAC-SHA1, EVP_MAC        %8.1f ns   (fetched once)\n",
	    best(hmac_evp_mac_reuse, n));
	EVP_MAC_free(shared_mac);
	return 0;
}
