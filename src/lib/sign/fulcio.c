/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Keyless signatures in cosign's legacy format, as containers/image checks
 * a containers-policy.json sigstoreSigned requirement with "fulcio"
 * (its signature/fulcio_cert.go and rekor_set.go): the .sig layer carries
 * the Fulcio certificate (dev.sigstore.cosign/certificate, PEM) and its
 * intermediates (dev.sigstore.cosign/chain), and a Rekor SET
 * (dev.sigstore.cosign/bundle), which is required: the certificate lives
 * ten minutes, and the log's integrated time is the moment it must have
 * been valid. In that order:
 *   1. the SET is signed by one of the Rekor keys and names this
 *      certificate, signature and payload (rekor.c), and gives the time;
 *   2. the certificate chains, at that time, to the requirement's CA
 *      certificates (any of them an anchor, as Go's CertPool roots are),
 *      through the annotated intermediates, and may sign code;
 *   3. its OIDC issuer (Fulcio's 1.3.6.1.4.1.57264.1.8, else .1.1) is the
 *      requirement's oidcIssuer and an email of its SAN is subjectEmail;
 *   4. its key verifies the signature over the payload.
 * SCTs are not read: containers/image does not require them. Each bound
 * (PEM sizes, 8 certificates) fails closed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "stowaway/sign.h"
#include "bundle_int.h"
#include "sigstore.h"
#include "../util/util.h"
#include "../util/banned.h"

#define MAX_PEM (256u << 10)
#define MAX_CERTS 8

/* Certificates from PEM text into st (at most MAX_CERTS); their count, or -1. */
static int pem_certs(const char *pem, size_t n, STACK_OF(X509) *st)
{
	BIO *bio;
	X509 *x;
	int count = 0;

	if (!pem || n > MAX_PEM || !(bio = BIO_new_mem_buf(pem, (int)n)))
		return -1;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (count >= MAX_CERTS || !sk_X509_push(st, x)) {
			X509_free(x);
			count = -1;
			break;
		}
		count++;
	}
	ERR_clear_error();
	BIO_free(bio);
	return count;
}

/* The CA certificates of the requirement: a path or "data:" + base64. */
static int load_ca(const char *src, STACK_OF(X509) *st, sw_error *err)
{
	sw_buf b = SW_BUF_INIT(MAX_PEM);
	uint8_t *data = NULL;
	size_t n = 0;
	int rc = 0;

	if (strncmp(src, "data:", 5) == 0) {
		if (sw_b64_decode(src + 5, strlen(src + 5), &data, &n) < 0)
			return sw_error_set(err, SW_EFORMAT, "fulcio caData is not base64");
		rc = pem_certs((const char *)data, n, st) > 0 ? 0 : sw_error_set(err, SW_EFORMAT, "fulcio caData holds no "
											   "PEM certificate");
		free(data);
		return rc;
	}
	if (sw_file_read_regular(src, &b) < 0) {
		sw_buf_release(&b);
		return sw_error_set(err, SW_EIO, "fulcio caPath %s cannot be read", src);
	}
	if (pem_certs(b.data, b.len, st) <= 0)
		rc = sw_error_set(err, SW_EFORMAT, "fulcio caPath %s holds no PEM certificate", src);
	sw_buf_release(&b);
	return rc;
}

static bool chains_at(X509 *leaf, STACK_OF(X509) *roots, STACK_OF(X509) *inter, int64_t t)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int i;
	bool ok = false;

	if (!store || !ctx)
		goto out;
	for (i = 0; i < sk_X509_num(roots); i++)
		if (X509_STORE_add_cert(store, sk_X509_value(roots, i)) != 1)
			goto out;
	if (X509_STORE_CTX_init(ctx, store, leaf, inter) != 1)
		goto out;
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
	X509_STORE_CTX_set_time(ctx, 0, (time_t)t);
	ok = X509_verify_cert(ctx) == 1;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

static bool has_email(X509 *leaf, const char *email)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	bool found = false;
	int i;

	for (i = 0; gens && i < sk_GENERAL_NAME_num(gens) && !found; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		found = g->type == GEN_EMAIL && (size_t)ASN1_STRING_length(g->d.ia5) == strlen(email) &&
			memcmp(ASN1_STRING_get0_data(g->d.ia5), email, strlen(email)) == 0;
	}
	GENERAL_NAMES_free(gens);
	return found;
}

int sw_sig__fulcio_verify(const sw_sig_check *c, const sw_json *ann, const char *payload, size_t plen,
			  EVP_PKEY **key_out, sw_error *err)
{
	const char *cert_pem = sw_json_get_str(ann, "dev.sigstore.cosign/certificate");
	const char *chain_pem = sw_json_get_str(ann, "dev.sigstore.cosign/chain");
	const char *sig_b64 = sw_json_get_str(ann, "dev.cosignproject.cosign/signature");
	STACK_OF(X509) *roots = sk_X509_new_null(), *inter = sk_X509_new_null(), *leafs = sk_X509_new_null();
	unsigned char *der = NULL;
	uint8_t *sig = NULL;
	size_t siglen = 0;
	char san[512], issuer[256];
	int64_t t = 0;
	int dlen, rc;
	X509 *leaf;

	*key_out = NULL;
	if (!roots || !inter || !leafs) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	if (!c->fulcio_ca || !c->fulcio_issuer || !c->fulcio_email || !c->rekor_keys || !c->rekor_keys->n) {
		rc = sw_error_set(err, SW_EINVAL, "fulcio needs its CA, issuer, email and Rekor keys");
		goto out;
	}
	if ((rc = load_ca(c->fulcio_ca, roots, err)) < 0)
		goto out;
	rc = SW_EVERIFY;
	if (!cert_pem || pem_certs(cert_pem, strlen(cert_pem), leafs) != 1 ||
	    (chain_pem && pem_certs(chain_pem, strlen(chain_pem), inter) < 0)) {
		sw_error_set(err, rc, "certificate: the certificate annotation is not one PEM certificate (or the chain "
				      "is not PEM)");
		goto out;
	}
	leaf = sk_X509_value(leafs, 0);
	if ((dlen = i2d_X509(leaf, &der)) <= 0 ||
	    sw_rekor__set_check(c->rekor_keys, sw_json_get_str(ann, "dev.sigstore.cosign/bundle"), der, (size_t)dlen,
				sig_b64, payload, plen, &t, err) < 0) {
		sw_error_prefix(err, "Rekor SET");
		goto out;
	}
	if (X509_check_ca(leaf) != 0 || !(X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) ||
	    !(X509_get_extended_key_usage(leaf) & XKU_CODE_SIGN)) {
		sw_error_set(err, rc, "certificate: a CA, or without the code-signing usage");
		goto out;
	}
	if (!chains_at(leaf, roots, inter, t)) {
		sw_error_set(err, rc, "certificate: does not chain to the fulcio CA, or was not valid at the Rekor "
				      "time %lld", (long long)t);
		goto out;
	}
	sw_x509__identity(leaf, san, sizeof(san), issuer, sizeof(issuer));
	if (strcmp(issuer, c->fulcio_issuer) != 0) {
		sw_error_set(err, rc, "issuer: the certificate's OIDC issuer is \"%.200s\"", issuer);
		goto out;
	}
	if (!has_email(leaf, c->fulcio_email)) {
		sw_error_set(err, rc, "identity: the certificate is not for %.200s", c->fulcio_email);
		goto out;
	}
	if (!sig_b64 || sw_b64_decode(sig_b64, strlen(sig_b64), &sig, &siglen) < 0 ||
	    !sw_bdl__verify_data(X509_get0_pubkey(leaf), payload, plen, sig, siglen)) {
		sw_error_set(err, rc, "signature: the certificate's key does not verify it over the payload");
		goto out;
	}
	if (EVP_PKEY_up_ref(X509_get0_pubkey(leaf)) == 1)
		*key_out = X509_get0_pubkey(leaf);
	rc = *key_out ? 0 : sw_error_set(err, SW_ENOMEM, "out of memory");
out:
	free(sig);
	OPENSSL_free(der);
	sk_X509_pop_free(roots, X509_free);
	sk_X509_pop_free(inter, X509_free);
	sk_X509_pop_free(leafs, X509_free);
	return rc;
}
