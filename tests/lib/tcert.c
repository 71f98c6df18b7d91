/*
 * Test certificates.  See tcert.h.
 */
#include <fcntl.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tcert.h"

static EVP_PKEY *
key_new(void)
{
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	EVP_PKEY *k = NULL;

	if (kc == NULL || EVP_PKEY_keygen_init(kc) <= 0 ||
	    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kc, NID_X9_62_prime256v1) <=
	        0 ||
	    EVP_PKEY_keygen(kc, &k) <= 0)
		k = NULL;
	EVP_PKEY_CTX_free(kc);
	return k;
}

static EVP_PKEY *
rsa_key_new(void)
{
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, NULL);
	EVP_PKEY *k = NULL;

	if (kc == NULL || EVP_PKEY_keygen_init(kc) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(kc, 2048) <= 0 ||
	    EVP_PKEY_keygen(kc, &k) <= 0)
		k = NULL;
	EVP_PKEY_CTX_free(kc);
	return k;
}

static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok = e != NULL && X509_add_ext(x, e, -1) == 1;

	X509_EXTENSION_free(e);
	return ok;
}

/*
 * A certificate for key named cn, signed by issuer (NULL: self-signed
 * with key).  A CA when ca is set, else a server certificate for the
 * loopback names.
 */
static X509 *
cert_new(EVP_PKEY *key, const char *cn, long serial, X509 *issuer,
    EVP_PKEY *issuer_key, int ca)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_NAME *name;
	int ok;

	if (x == NULL)
		return NULL;
	name = X509_get_subject_name(x);
	ok = X509_set_version(x, 2) == 1 &&
	    ASN1_INTEGER_set(X509_get_serialNumber(x), serial) == 1 &&
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) != NULL &&
	    X509_set_pubkey(x, key) == 1 &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	        (const unsigned char *)cn, -1, -1, 0) == 1 &&
	    X509_set_issuer_name(
	        x, issuer != NULL ? X509_get_subject_name(issuer) : name) == 1;
	if (!ok)
		goto fail;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if (ca)
		ok = add_ext(
		         x, &ctx, NID_basic_constraints, "critical,CA:TRUE") &&
		    add_ext(x, &ctx, NID_key_usage,
		        "critical,keyCertSign,cRLSign") &&
		    add_ext(x, &ctx, NID_subject_key_identifier, "hash");
	else
		ok = add_ext(
		         x, &ctx, NID_basic_constraints, "critical,CA:FALSE") &&
		    add_ext(
		        x, &ctx, NID_key_usage, "critical,digitalSignature") &&
		    add_ext(x, &ctx, NID_ext_key_usage, "serverAuth") &&
		    add_ext(x, &ctx, NID_subject_alt_name,
		        "DNS:localhost,IP:127.0.0.1,IP:::1") &&
		    add_ext(
		        x, &ctx, NID_authority_key_identifier, "keyid:always");
	if (!ok ||
	    X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256()) ==
	        0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

static FILE *
open_in(const char *dir, const char *name, mode_t mode)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	return fd == -1 ? NULL : fdopen(fd, "w");
}

static int
write_key(const char *dir, const char *name, EVP_PKEY *k)
{
	FILE *f = open_in(dir, name, 0600);
	int ok;

	if (f == NULL)
		return -1;
	ok = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static int
write_certs(const char *dir, const char *name, X509 *a, X509 *b)
{
	FILE *f = open_in(dir, name, 0644);
	int ok;

	if (f == NULL)
		return -1;
	ok = PEM_write_X509(f, a) == 1 &&
	    (b == NULL || PEM_write_X509(f, b) == 1);
	return fclose(f) == 0 && ok ? 0 : -1;
}

int
tcert_make(const char *dir)
{
	EVP_PKEY *ca_key = key_new(), *key = key_new(), *other = key_new();
	EVP_PKEY *rsa = rsa_key_new();
	X509 *ca = NULL, *cert = NULL;
	int rc = -1;

	if (ca_key == NULL || key == NULL || other == NULL || rsa == NULL)
		goto out;
	ca = cert_new(ca_key, "turnd test CA", 1, NULL, NULL, 1);
	if (ca == NULL)
		goto out;
	cert = cert_new(key, "localhost", 2, ca, ca_key, 0);
	if (cert == NULL)
		goto out;
	if (write_certs(dir, "ca.pem", ca, NULL) == 0 &&
	    write_certs(dir, "cert.pem", cert, ca) == 0 &&
	    write_key(dir, "key.pem", key) == 0 &&
	    write_key(dir, "other-key.pem", other) == 0 &&
	    write_key(dir, "rsa-key.pem", rsa) == 0)
		rc = 0;
out:
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(other);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca_key);
	return rc;
}
