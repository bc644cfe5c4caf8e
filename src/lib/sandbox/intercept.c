/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS opened by the sinkhole: a certificate authority made in memory for
 * one detonation (its key never leaves the supervisor, and goes with it),
 * and a certificate it signs for each server name the sandbox asks for.
 * A client that does not verify (most miners: XMRig's "tls": true without
 * a fingerprint) completes the handshake and speaks its stratum or HTTP
 * to the sink in the clear; one that verifies finds our authority in no
 * trust store and refuses, which is recorded as such.
 *
 * Keys are P-256 (about a millisecond to make): one for the authority and
 * one shared by every leaf of the run. Leaves are kept for SW_TLS_CERTS
 * names; past that a leaf is made for its session and freed with it.
 * The TLS state machine runs over memory BIOs: the sink reads and writes
 * the socket itself, so TLS is one more stage of its session handling.
 */
#include <string.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "sandbox_int.h"

#define SW_TLS_CERTS 64

struct sw_tls_ca {
	EVP_PKEY *ca_key, *leaf_key;
	X509 *ca;
	SSL_CTX *ctx;
	struct {
		char name[256];
		X509 *x;
	} leaves[SW_TLS_CERTS];
	size_t nleaves;
};

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v;
	X509_EXTENSION *e;
	int rc;

	X509V3_set_ctx_nodb(&v);
	X509V3_set_ctx(&v, issuer, x, NULL, NULL, 0);
	if (!(e = X509V3_EXT_conf_nid(NULL, &v, nid, value)))
		return -1;
	rc = X509_add_ext(x, e, -1) ? 0 : -1;
	X509_EXTENSION_free(e);
	return rc;
}

/* The subjectAltName of a leaf: an IP address when name is one, else a
 * DNS name, built as a structure (a name is the sandbox's to choose: no
 * configuration string is made of it). */
static int add_san(X509 *x, const char *name)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
	unsigned char ip[16];
	int rc = -1, iplen = inet_pton(AF_INET, name, ip) == 1 ? 4 : inet_pton(AF_INET6, name, ip) == 1 ? 16 : 0;

	if (!gens || !g || !v)
		goto out;
	if (iplen ? !ASN1_OCTET_STRING_set(v, ip, iplen) : !ASN1_STRING_set(v, name, (int)strlen(name)))
		goto out;
	if (iplen) {
		GENERAL_NAME_set0_value(g, GEN_IPADD, v);
	} else {
		v->type = V_ASN1_IA5STRING;
		GENERAL_NAME_set0_value(g, GEN_DNS, v);
	}
	v = NULL;
	if (!sk_GENERAL_NAME_push(gens, g))
		goto out;
	g = NULL;
	rc = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1 ? 0 : -1;
out:
	ASN1_OCTET_STRING_free(v);
	GENERAL_NAME_free(g);
	GENERAL_NAMES_free(gens);
	return rc;
}

/* A certificate for key, valid from an hour ago for two days: the
 * authority's own (issuer NULL: self-signed, cn its name) or a leaf for
 * name signed by it. */
static X509 *make_cert(sw_tls_ca *t, EVP_PKEY *key, const char *cn, const char *name)
{
	X509 *x = X509_new(), *issuer;
	X509_NAME *sub = X509_NAME_new();
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	bool ca = name == NULL;

	if (!x || !sub || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;
	issuer = ca ? x : t->ca;
	if (!(bn = BN_bin2bn(serial, sizeof(serial), NULL)) || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_set_version(x, 2) || !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 2 * 86400) || !X509_set_pubkey(x, key))
		goto fail;
	if (strlen(cn) <= 64 && !X509_NAME_add_entry_by_txt(sub, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0))
		goto fail;
	if (!X509_set_subject_name(x, sub) || !X509_set_issuer_name(x, X509_get_subject_name(issuer)))
		goto fail;
	if (ca ? add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
		 add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
		 add_ext(x, issuer, NID_subject_key_identifier, "hash") < 0
	       : add_ext(x, issuer, NID_basic_constraints, "CA:FALSE") < 0 ||
		 add_ext(x, issuer, NID_ext_key_usage, "serverAuth") < 0 ||
		 add_ext(x, issuer, NID_authority_key_identifier, "keyid") < 0 || add_san(x, name) < 0)
		goto fail;
	if (!X509_sign(x, ca ? key : t->ca_key, EVP_sha256()))
		goto fail;
	BN_free(bn);
	X509_NAME_free(sub);
	return x;
fail:
	BN_free(bn);
	X509_NAME_free(sub);
	X509_free(x);
	return NULL;
}

int sw_tls_ca_new(sw_tls_ca **out, sw_error *err)
{
	sw_tls_ca *t = calloc(1, sizeof(*t));
	unsigned char id[4];
	char cn[64];

	*out = NULL;
	if (!t)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	if (RAND_bytes(id, sizeof(id)) != 1)
		goto fail;
	snprintf(cn, sizeof(cn), "stowaway sandbox CA %02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
	if (!(t->ca_key = EVP_EC_gen("P-256")) || !(t->leaf_key = EVP_EC_gen("P-256")) ||
	    !(t->ca = make_cert(t, t->ca_key, cn, NULL)) || !(t->ctx = SSL_CTX_new(TLS_server_method())))
		goto fail;
	/* whatever the client offers that the library still speaks: an old
	 * miner's TLS 1.0 and weak suites too (nothing here is secret) */
	SSL_CTX_set_security_level(t->ctx, 0);
	(void)SSL_CTX_set_cipher_list(t->ctx, "ALL:@SECLEVEL=0");
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_VERSION);
	SSL_CTX_set_options(t->ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(t->ctx, 0);
	SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF);
	*out = t;
	return 0;
fail:
	sw_tls_ca_free(t);
	ERR_clear_error();
	return sw_error_set(err, SW_ERROR, "sinkhole TLS: cannot make the run's certificate authority");
}

void sw_tls_ca_free(sw_tls_ca *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nleaves; i++)
		X509_free(t->leaves[i].x);
	SSL_CTX_free(t->ctx);
	X509_free(t->ca);
	EVP_PKEY_free(t->ca_key);
	EVP_PKEY_free(t->leaf_key);
	free(t);
}

SSL *sw_tls_ca_accept(sw_tls_ca *t, const char *name, BIO **rbio, BIO **wbio)
{
	X509 *leaf = NULL, *made = NULL;
	SSL *ssl = NULL;
	size_t i;

	*rbio = *wbio = NULL;
	for (i = 0; i < t->nleaves && !leaf; i++)
		if (strcmp(t->leaves[i].name, name) == 0)
			leaf = t->leaves[i].x;
	if (!leaf) {
		if (!(made = make_cert(t, t->leaf_key, name, name)))
			goto fail;
		leaf = made;
		if (t->nleaves < SW_TLS_CERTS) {
			snprintf(t->leaves[t->nleaves].name, sizeof(t->leaves[0].name), "%s", name);
			t->leaves[t->nleaves++].x = made;
			made = NULL;
		}
	}
	if (!(ssl = SSL_new(t->ctx)) || SSL_use_certificate(ssl, leaf) != 1 ||
	    SSL_use_PrivateKey(ssl, t->leaf_key) != 1 || SSL_add1_chain_cert(ssl, t->ca) != 1 ||
	    !(*rbio = BIO_new(BIO_s_mem())) || !(*wbio = BIO_new(BIO_s_mem())))
		goto fail;
	BIO_set_mem_eof_return(*rbio, -1); /* empty: "try again", not end of stream */
	SSL_set_bio(ssl, *rbio, *wbio);     /* ssl owns both now */
	SSL_set_accept_state(ssl);
	X509_free(made);
	return ssl;
fail:
	BIO_free(*rbio);
	BIO_free(*wbio);
	*rbio = *wbio = NULL;
	SSL_free(ssl);
	X509_free(made);
	ERR_clear_error();
	return NULL;
}
