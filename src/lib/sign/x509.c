/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A Fulcio leaf certificate: its chain to a CA of the trusted root, its
 * SCTs, and who it names.
 *
 * Fulcio certificates live ten minutes, so "valid" means valid at the
 * time a log or a timestamp authority vouches the signature was made, not
 * now: the chain is built by OpenSSL with that time set, against each CA
 * of the trusted root whose own validFor holds it (the CA's chain: its
 * last certificate the anchor, the others untrusted intermediates). The
 * leaf must not be a CA and must carry the code-signing usage.
 *
 * The SCT (RFC 6962 §3.2) is a CT log's signature over the precertificate
 * the leaf was made from: the leaf's TBSCertificate without the SCT list
 * extension, behind the SHA-256 of the issuer's public key. OpenSSL's CT
 * store cannot be filled from memory, so the signed structure is built
 * here and checked with the log's key from the trusted root.
 *
 * Identity: the first URI or email of the SAN; the issuer from Fulcio's
 * extension 1.3.6.1.4.1.57264.1.8 (a DER UTF8String), else the older
 * 1.3.6.1.4.1.57264.1.1 (raw bytes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/ct.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "stowaway/sign.h"
#include "bundle_int.h"
#include "../util/util.h"
#include "../util/banned.h"

static int chain_at(const sw_tr_ca *ca, X509 *leaf, int64_t t)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *inter = sk_X509_new_null();
	size_t i;
	int ok = 0;

	if (!store || !ctx || !inter || X509_STORE_add_cert(store, ca->chain[ca->n - 1]) != 1)
		goto out;
	for (i = 0; i + 1 < ca->n; i++)
		if (!sk_X509_push(inter, ca->chain[i]))
			goto out;
	if (X509_STORE_CTX_init(ctx, store, leaf, inter) != 1)
		goto out;
	X509_STORE_CTX_set_time(ctx, 0, (time_t)t);
	ok = X509_verify_cert(ctx) == 1;
out:
	sk_X509_free(inter);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

int sw_x509__verify_leaf(const sw_trustroot *tr, X509 *leaf, int64_t t, sw_error *err)
{
	size_t i;
	bool any_ca = false;

	if (X509_check_ca(leaf) != 0)
		return sw_error_set(err, SW_EVERIFY, "certificate: the signing certificate is a CA");
	if (!(X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) || !(X509_get_extended_key_usage(leaf) & XKU_CODE_SIGN))
		return sw_error_set(err, SW_EVERIFY, "certificate: no code-signing usage");
	if ((X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) && !(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE))
		return sw_error_set(err, SW_EVERIFY, "certificate: its key usage does not allow signatures");
	for (i = 0; i < tr->ncas; i++) {
		if (t < tr->cas[i].start || t > tr->cas[i].end)
			continue;
		any_ca = true;
		if (chain_at(&tr->cas[i], leaf, t))
			return 0;
	}
	return sw_error_set(err, SW_EVERIFY, "certificate: %s at the signing time %lld",
			    any_ca ? "does not chain to a Fulcio CA of the trusted root, or is not valid"
				   : "no Fulcio CA of the trusted root is valid",
			    (long long)t);
}

/* The issuer: the certificate of a trusted CA chain that signed the leaf. */
static X509 *issuer_of(const sw_trustroot *tr, X509 *leaf)
{
	size_t i, j;

	for (i = 0; i < tr->ncas; i++)
		for (j = 0; j < tr->cas[i].n; j++)
			if (X509_check_issued(tr->cas[i].chain[j], leaf) == X509_V_OK)
				return tr->cas[i].chain[j];
	return NULL;
}

static void put_be(sw_buf *b, uint64_t v, int bytes)
{
	while (bytes--)
		sw_buf_putc(b, (char)(v >> (8 * bytes) & 0xff));
}

/* The precertificate's TBS: the leaf's, its SCT list removed. */
static int precert_tbs(X509 *leaf, unsigned char **tbs)
{
	X509 *dup = X509_dup(leaf);
	int idx, n = -1;

	*tbs = NULL;
	if (dup && (idx = X509_get_ext_by_NID(dup, NID_ct_precert_scts, -1)) >= 0) {
		X509_EXTENSION_free(X509_delete_ext(dup, idx));
		n = i2d_re_X509_tbs(dup, tbs);
	}
	X509_free(dup);
	return n;
}

static bool sct_ok(const sw_trustroot *tr, const SCT *sct, const uint8_t ikh[32], const unsigned char *tbs,
		   int tbslen)
{
	const unsigned char *id, *ext, *sig;
	size_t idlen = SCT_get0_log_id(sct, (unsigned char **)&id);
	size_t extlen = SCT_get0_extensions(sct, (unsigned char **)&ext);
	size_t siglen = SCT_get0_signature(sct, (unsigned char **)&sig);
	const sw_tr_log *log = sw_tr__log(tr->ctlogs, tr->nctlogs, id, idlen);
	sw_buf b = SW_BUF_INIT(1u << 20);
	uint64_t ts = SCT_get_timestamp(sct);
	bool ok;

	if (!log || SCT_get_version(sct) != SCT_VERSION_V1 || extlen > 65535 || tbslen > 0xffffff)
		return false;
	if ((int64_t)(ts / 1000) < log->start || (int64_t)(ts / 1000) > log->end)
		return false;
	put_be(&b, 0, 1);          /* v1 */
	put_be(&b, 0, 1);          /* certificate_timestamp */
	put_be(&b, ts, 8);
	put_be(&b, 1, 2);          /* precert_entry */
	sw_buf_append(&b, ikh, 32);
	put_be(&b, (uint64_t)tbslen, 3);
	sw_buf_append(&b, tbs, (size_t)tbslen);
	put_be(&b, extlen, 2);
	sw_buf_append(&b, ext, extlen);
	ok = sw_buf_err(&b) == 0 && sw_bdl__verify_data(log->key, b.data, b.len, sig, siglen);
	sw_buf_release(&b);
	return ok;
}

int sw_x509__verify_sct(const sw_trustroot *tr, X509 *leaf, sw_error *err)
{
	STACK_OF(SCT) *scts = X509_get_ext_d2i(leaf, NID_ct_precert_scts, NULL, NULL);
	X509 *issuer = issuer_of(tr, leaf);
	unsigned char *tbs = NULL, *spki = NULL;
	uint8_t ikh[32];
	int tbslen = -1, spkilen, i, rc;

	if (!scts || sk_SCT_num(scts) == 0) {
		rc = sw_error_set(err, SW_EVERIFY, "SCT: the certificate carries none");
		goto out;
	}
	if (!issuer || (spkilen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(issuer), &spki)) <= 0 ||
	    (tbslen = precert_tbs(leaf, &tbs)) <= 0) {
		rc = sw_error_set(err, SW_EVERIFY, "SCT: no issuer in the trusted root to check it against");
		goto out;
	}
	sw_sha256_buf(spki, (size_t)spkilen, ikh);
	for (i = 0; i < sk_SCT_num(scts) && i < 16; i++)
		if (sct_ok(tr, sk_SCT_value(scts, i), ikh, tbs, tbslen)) {
			rc = 0;
			goto out;
		}
	rc = sw_error_set(err, SW_EVERIFY, "SCT: none verifies with a CT log key of the trusted root");
out:
	SCT_LIST_free(scts);
	OPENSSL_free(tbs);
	OPENSSL_free(spki);
	return rc;
}

static void copy_bytes(char *dst, size_t n, const unsigned char *s, int len)
{
	size_t l = len < 0 ? 0 : (size_t)len;

	if (l >= n || memchr(s, 0, l))
		l = 0; /* too long or holding a NUL: never an identity */
	memcpy(dst, s, l);
	dst[l] = 0;
}

static void fulcio_ext(X509 *leaf, const char *oid, bool der, char *out, size_t n)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	int idx = obj ? X509_get_ext_by_OBJ(leaf, obj, -1) : -1;
	ASN1_OCTET_STRING *os;
	const unsigned char *p;
	ASN1_UTF8STRING *u;

	ASN1_OBJECT_free(obj);
	if (idx < 0 || !(os = X509_EXTENSION_get_data(X509_get_ext(leaf, idx))))
		return;
	p = ASN1_STRING_get0_data(os);
	if (!der) {
		copy_bytes(out, n, p, ASN1_STRING_length(os));
		return;
	}
	if ((u = d2i_ASN1_UTF8STRING(NULL, &p, ASN1_STRING_length(os))))
		copy_bytes(out, n, ASN1_STRING_get0_data(u), ASN1_STRING_length(u));
	ASN1_UTF8STRING_free(u);
}

void sw_x509__identity(X509 *leaf, char *san, size_t sann, char *issuer, size_t issn)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	int i;

	san[0] = issuer[0] = 0;
	for (i = 0; gens && i < sk_GENERAL_NAME_num(gens) && !san[0]; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_URI || g->type == GEN_EMAIL)
			copy_bytes(san, sann, ASN1_STRING_get0_data(g->d.ia5), ASN1_STRING_length(g->d.ia5));
	}
	GENERAL_NAMES_free(gens);
	fulcio_ext(leaf, "1.3.6.1.4.1.57264.1.8", true, issuer, issn);
	if (!issuer[0])
		fulcio_ext(leaf, "1.3.6.1.4.1.57264.1.1", false, issuer, issn);
}
