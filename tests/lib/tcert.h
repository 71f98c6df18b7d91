/*
 * Throw-away TLS material for the tests, made with the OpenSSL API at test
 * time: a CA, a server certificate signed by it for localhost, 127.0.0.1
 * and ::1 (valid from an hour ago for a day), its key, and keys that
 * match nothing.  EC P-256, but for one RSA key.
 */
#ifndef TURND_TESTS_TCERT_H
#define TURND_TESTS_TCERT_H

/*
 * Writes into dir: ca.pem (the CA certificate, to verify with),
 * cert.pem (the server certificate followed by the CA's: the chain),
 * key.pem (its key, mode 0600), other-key.pem (another key of the same
 * type) and rsa-key.pem (an RSA key).  Returns 0 or -1.
 */
int tcert_make(const char *dir);

#endif
