/*
 * TLS for client connections (RFC 8656 section 3.1, RFC 7443 ALPN): one
 * SSL_CTX per configuration snapshot, built from the certificate chain
 * and key files, TLS 1.2 at least, the configured cipher lists, and ALPN
 * "stun.turn" accepted.  Rebuilt on reload; connections keep the context
 * they started with (SSL_CTX is reference counted).
 */
#ifndef TURND_TLS_H
#define TURND_TLS_H

#include <stddef.h>

struct turnd_conf;
typedef struct ssl_ctx_st SSL_CTX;

/*
 * Builds the server context for c, or returns NULL with a message naming
 * the file and what is wrong in err (an unreadable file, a key that does
 * not match the certificate, a cipher list with nothing usable).
 */
SSL_CTX *tls_ctx_new(const struct turnd_conf *c, char *err, size_t errlen);
void tls_ctx_free(SSL_CTX *ctx);
/* True when c has a listener using TLS. */
int tls_wanted(const struct turnd_conf *c);

#endif
