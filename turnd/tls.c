/*
 * The TLS server context.  Errors name the file and OpenSSL's reason, so
 * that an operator sees "privkey.pem: key values mismatch" rather than a
 * handshake failure at the first client.
 */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "tls.h"

/* RFC 7443: the ALPN protocol id for TURN over TLS. */
static const unsigned char alpn_turn[] = { 9, 's', 't', 'u', 'n', '.', 't',
	'u', 'r', 'n' };

static int
alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *sel;

	if (SSL_select_next_proto(&sel, outlen, alpn_turn, sizeof(alpn_turn),
	    in, inlen) == OPENSSL_NPN_NEGOTIATED) {
		*out = sel;
		return SSL_TLSEXT_ERR_OK;
	}
	/* a client offering only other protocols still gets TURN */
	return SSL_TLSEXT_ERR_NOACK;
}

static void
tls_err(char *err, size_t errlen, const char *what, const char *file)
{
	/* the first error says why (the file is missing); later ones how */
	unsigned long e = ERR_peek_error();
	char reason[256] = "unknown error";

	if (e != 0) {
		const char *r = ERR_reason_error_string(e);

		if (ERR_GET_LIB(e) == ERR_LIB_SYS)
			snprintf(reason, sizeof(reason), "%s",
			    strerror(ERR_GET_REASON(e)));
		else if (r != NULL)
			snprintf(reason, sizeof(reason), "%s", r);
		else
			ERR_error_string_n(e, reason, sizeof(reason));
		if (strstr(reason, "key values mismatch") != NULL)
			what = "the key does not match the certificate";
	}
	snprintf(err, errlen, "%s%s%s: %s", file != NULL ? file : "",
	    file != NULL ? ": " : "", what, reason);
	ERR_clear_error();
}

int
tls_wanted(const struct turnd_conf *c)
{
	for (size_t i = 0; i < c->n_listen; i++)
		if (c->listen[i].transports & CONF_T_TLS)
			return 1;
	return 0;
}

SSL_CTX *
tls_ctx_new(const struct turnd_conf *c, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		tls_err(err, errlen, "cannot create a TLS context", NULL);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (!SSL_CTX_set_min_proto_version(ctx, c->tls.min_version != 0 ?
	    c->tls.min_version : TLS1_2_VERSION)) {
		tls_err(err, errlen, "tls.min_version", NULL);
		goto fail;
	}
	if (c->tls.ciphers != NULL && c->tls.ciphers[0] != '\0' &&
	    !SSL_CTX_set_cipher_list(ctx, c->tls.ciphers)) {
		tls_err(err, errlen, "tls.ciphers has no usable cipher", NULL);
		goto fail;
	}
	if (c->tls.ciphersuites != NULL && c->tls.ciphersuites[0] != '\0' &&
	    !SSL_CTX_set_ciphersuites(ctx, c->tls.ciphersuites)) {
		tls_err(err, errlen, "tls.ciphersuites has no usable suite",
		    NULL);
		goto fail;
	}
	if (c->tls.certificate == NULL || c->tls.private_key == NULL) {
		snprintf(err, errlen, "tls.certificate and tls.private_key "
		    "are needed for TLS listeners");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, c->tls.certificate) !=
	    1) {
		tls_err(err, errlen, "cannot load the certificate chain",
		    c->tls.certificate);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, c->tls.private_key,
	    SSL_FILETYPE_PEM) != 1) {
		tls_err(err, errlen, "cannot load the private key",
		    c->tls.private_key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_err(err, errlen, "the key does not match the certificate",
		    c->tls.private_key);
		goto fail;
	}
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select_cb, NULL);
	/* stateless tickets keep no per-session memory on the server */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void
tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}
