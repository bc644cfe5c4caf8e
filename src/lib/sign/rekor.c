/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A Rekor SET (signed entry timestamp) checked offline, as containers/image
 * checks it when a containers-policy.json gives rekorPublicKeyPath(s) or
 * rekorPublicKeyData(s) (its signature/internal/rekor_set.go).
 *
 * cosign stores the SET in the signature layer's annotation
 * dev.sigstore.cosign/bundle: {"SignedEntryTimestamp": base64 of an ECDSA
 * signature, "Payload": {body, integratedTime, logIndex, logID}}. The
 * transparency log signed SHA-256 of the payload's canonical JSON (RFC
 * 8785: members sorted, no white space, minimal escapes), so the payload
 * is written again canonically before the log's key is asked; only that
 * canonical text is read further. Its body (base64) is the log entry, a
 * hashedrekord 0.0.1 whose public key must be the key that verified the
 * signature, whose signature must be the layer's, and whose data hash the
 * SHA-256 of the payload. Anything else, or anything this reader cannot
 * write canonically (a fractional number, a key outside the Basic
 * Multilingual Plane), fails closed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "stowaway/sign.h"
#include "sigstore.h"
#include "../util/util.h"
#include "../util/banned.h"

#define MAX_BUNDLE (1u << 20)

/* ---- RFC 8785 canonical JSON ---- */

static int cmp_members(const void *a, const void *b)
{
	/* UTF-8 byte order is UTF-16 order for the Basic Multilingual Plane,
	 * which is all the keys canon() lets through */
	return strcmp((*(const sw_json *const *)a)->key, (*(const sw_json *const *)b)->key);
}

static int canon_str(sw_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	sw_buf_putc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			sw_buf_putc(b, '\\');
			sw_buf_putc(b, (char)c);
		} else if (c == '\b') {
			sw_buf_append(b, "\\b", 2);
		} else if (c == '\f') {
			sw_buf_append(b, "\\f", 2);
		} else if (c == '\n') {
			sw_buf_append(b, "\\n", 2);
		} else if (c == '\r') {
			sw_buf_append(b, "\\r", 2);
		} else if (c == '\t') {
			sw_buf_append(b, "\\t", 2);
		} else if (c < 0x20) {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			sw_buf_append(b, e, 6);
		} else {
			sw_buf_putc(b, (char)c);
		}
	}
	return sw_buf_putc(b, '"');
}

static int canon_at(sw_buf *b, const sw_json *v, int depth)
{
	const sw_json *c, **m = NULL;
	size_t i, n = 0;
	char num[32];
	int rc = 0;

	if (depth > SW_JSON_MAX_DEPTH)
		return SW_ELIMIT;
	switch (v->type) {
	case SW_JSON_NULL:
		return sw_buf_append(b, "null", 4);
	case SW_JSON_BOOL:
		return v->b ? sw_buf_append(b, "true", 4) : sw_buf_append(b, "false", 5);
	case SW_JSON_NUM:
		/* integers only (all a Rekor payload has), within 2^53 so that
		 * ES6's number form is the plain decimal */
		if (!(v->d <= 9007199254740992.0 && v->d >= -9007199254740992.0) || v->d != (double)(long long)v->d)
			return SW_EFORMAT;
		snprintf(num, sizeof(num), "%lld", (long long)v->d);
		return sw_buf_append(b, num, strlen(num));
	case SW_JSON_STR:
		return canon_str(b, v->s, v->slen);
	case SW_JSON_ARR:
		sw_buf_putc(b, '[');
		for (c = v->child; c && rc == 0; c = c->next) {
			if (c != v->child)
				sw_buf_putc(b, ',');
			rc = canon_at(b, c, depth + 1);
		}
		return rc < 0 ? rc : sw_buf_putc(b, ']');
	case SW_JSON_OBJ:
		if (v->n && !(m = malloc(v->n * sizeof(*m))))
			return SW_ENOMEM;
		for (c = v->child; c; c = c->next) {
			const unsigned char *k;
			for (k = (const unsigned char *)c->key; *k; k++)
				if (*k >= 0xF0)
					rc = SW_EFORMAT;
			m[n++] = c;
		}
		if (n)
			qsort(m, n, sizeof(*m), cmp_members);
		sw_buf_putc(b, '{');
		for (i = 0; i < n && rc == 0; i++) {
			if (i)
				sw_buf_putc(b, ',');
			canon_str(b, m[i]->key, strlen(m[i]->key));
			sw_buf_putc(b, ':');
			rc = canon_at(b, m[i], depth + 1);
		}
		free(m);
		return rc < 0 ? rc : sw_buf_putc(b, '}');
	}
	return SW_EFORMAT;
}

int sw_sig__canonical(sw_buf *out, const sw_json *v)
{
	int rc = canon_at(out, v, 0);

	return rc < 0 ? rc : sw_buf_err(out);
}

/* ---- the SET ---- */

static int b64(const char *s, uint8_t **out, size_t *n)
{
	return s ? sw_b64_decode(s, strlen(s), out, n) : SW_EFORMAT;
}

/* The single PEM block of text (nothing after it), DER bytes out. */
static int pem_der(const uint8_t *text, size_t n, uint8_t **der, long *dlen)
{
	BIO *bio = BIO_new_mem_buf(text, (int)n);
	char *name = NULL, *header = NULL;
	int ok;

	*der = NULL;
	ok = bio && PEM_read_bio(bio, &name, &header, der, dlen) == 1 && BIO_ctrl_pending(bio) == 0;
	OPENSSL_free(name);
	OPENSSL_free(header);
	BIO_free(bio);
	if (!ok) {
		OPENSSL_free(*der);
		*der = NULL;
		return SW_EFORMAT;
	}
	return 0;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The log entry (a hashedrekord 0.0.1) names this signer (the DER of a
 * public key, or of a certificate for a keyless signature), signature and
 * payload. */
static int check_entry(const uint8_t *body, size_t blen, const uint8_t *signer, size_t signer_len, const char *sig_b64,
		       const void *payload, size_t plen, sw_error *err)
{
	sw_json_doc *doc = NULL;
	const sw_json *root, *spec, *sig, *hash;
	const char *kind, *ver, *alg, *val;
	uint8_t *content = NULL, *want_sig = NULL, *pem = NULL, *der = NULL, digest[32];
	size_t clen = 0, wlen = 0, pemlen = 0, i;
	long dlen = 0;
	int rc = SW_EVERIFY;

	if (sw_json_parse((const char *)body, blen, &doc, NULL) < 0) {
		sw_error_set(err, SW_EVERIFY, "the log entry is not JSON");
		goto out;
	}
	root = sw_json_root(doc);
	kind = sw_json_get_str(root, "kind");
	ver = sw_json_get_str(root, "apiVersion");
	spec = sw_json_get_obj(root, "spec");
	sig = sw_json_get_obj(spec, "signature");
	hash = sw_json_get_obj(sw_json_get_obj(spec, "data"), "hash");
	alg = sw_json_get_str(hash, "algorithm");
	val = sw_json_get_str(hash, "value");
	if (!kind || strcmp(kind, "hashedrekord") != 0 || !ver || strcmp(ver, "0.0.1") != 0) {
		sw_error_set(err, SW_EVERIFY, "the log entry is not a hashedrekord 0.0.1");
		goto out;
	}
	if (b64(sw_json_get_str(sw_json_get_obj(sig, "publicKey"), "content"), &pem, &pemlen) < 0 ||
	    pem_der(pem, pemlen, &der, &dlen) < 0) {
		sw_error_set(err, SW_EVERIFY, "the log entry's public key is not one PEM block");
		goto out;
	}
	if ((long)signer_len != dlen || memcmp(signer, der, (size_t)dlen) != 0) {
		sw_error_set(err, SW_EVERIFY, "the log entry is for another public key or certificate");
		goto out;
	}
	if (b64(sw_json_get_str(sig, "content"), &content, &clen) < 0 || b64(sig_b64, &want_sig, &wlen) < 0 ||
	    clen != wlen || memcmp(content, want_sig, clen) != 0) {
		sw_error_set(err, SW_EVERIFY, "the log entry is for another signature");
		goto out;
	}
	if (!alg || strcmp(alg, "sha256") != 0 || !val || strlen(val) != 64) {
		sw_error_set(err, SW_EVERIFY, "the log entry's data hash is not SHA-256");
		goto out;
	}
	sw_sha256_buf(payload, plen, digest);
	for (i = 0; i < 32; i++)
		if (hexval(val[2 * i]) < 0 || hexval(val[2 * i + 1]) < 0 ||
		    (uint8_t)(hexval(val[2 * i]) << 4 | hexval(val[2 * i + 1])) != digest[i]) {
			sw_error_set(err, SW_EVERIFY, "the log entry is for another payload");
			goto out;
		}
	rc = 0;
out:
	OPENSSL_free(der);
	free(pem);
	free(content);
	free(want_sig);
	sw_json_free(doc);
	return rc;
}

int sw_rekor_set_verify(const sw_pubkeys *rekor_keys, const char *bundle, const sw_pubkeys *keys, int key,
			const char *sig_b64, const void *payload, size_t plen, sw_error *err)
{
	unsigned char *mine = NULL;
	int64_t t;
	int mlen, rc;

	if (!keys || key < 0 || (size_t)key >= keys->n)
		return sw_error_set(err, SW_EINVAL, "no Rekor key, or no signing key");
	if ((mlen = i2d_PUBKEY(keys->k[key], &mine)) <= 0)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	rc = sw_rekor__set_check(rekor_keys, bundle, mine, (size_t)mlen, sig_b64, payload, plen, &t, err);
	OPENSSL_free(mine);
	return rc;
}

int sw_rekor__set_check(const sw_pubkeys *rekor_keys, const char *bundle, const uint8_t *signer, size_t signer_len,
			const char *sig_b64, const void *payload, size_t plen, int64_t *integrated_time, sw_error *err)
{
	static const char *const top[] = { "SignedEntryTimestamp", "Payload", NULL };
	static const char *const pay[] = { "body", "integratedTime", "logIndex", "logID", NULL };
	const sw_pubkeys *rk = rekor_keys;
	sw_json_doc *doc = NULL, *cdoc = NULL;
	sw_buf cb = SW_BUF_INIT(MAX_BUNDLE);
	const sw_json *root, *p, *t;
	uint8_t *set = NULL, *body = NULL;
	size_t setlen = 0, blen = 0, i;
	int rc = SW_EVERIFY;
	bool signed_by_log = false;

	*integrated_time = 0;
	if (!rk || !rk->n || !signer)
		return sw_error_set(err, SW_EINVAL, "no Rekor key, or no signer");
	for (i = 0; i < rk->n; i++)
		if (EVP_PKEY_base_id(rk->k[i]) != EVP_PKEY_EC)
			return sw_error_set(err, SW_EVERIFY, "Rekor public key %zu is not an ECDSA key", i + 1);
	if (!bundle)
		return sw_error_set(err, SW_EVERIFY, "the signature has no dev.sigstore.cosign/bundle annotation");
	if (strlen(bundle) > MAX_BUNDLE || sw_json_parse(bundle, strlen(bundle), &doc, NULL) < 0 ||
	    !sw_sig__only_keys(root = sw_json_root(doc), top, NULL) || !(t = sw_json_get(root, "SignedEntryTimestamp")) ||
	    t->type != SW_JSON_STR || b64(t->s, &set, &setlen) < 0) {
		sw_error_set(err, SW_EVERIFY, "the bundle is not {SignedEntryTimestamp, Payload}");
		goto out;
	}
	p = sw_json_get(root, "Payload");
	if (sw_sig__canonical(&cb, p) < 0) {
		sw_error_set(err, SW_EVERIFY, "the bundle's payload cannot be written as canonical JSON");
		goto out;
	}
	for (i = 0; i < rk->n && !signed_by_log; i++) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		signed_by_log = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, rk->k[i]) == 1 &&
				EVP_DigestVerify(md, set, setlen, (const unsigned char *)cb.data, cb.len) == 1;
		EVP_MD_CTX_free(md);
	}
	if (!signed_by_log) {
		sw_error_set(err, SW_EVERIFY, "no trusted Rekor key verifies the SET");
		goto out;
	}
	/* from here on, only the canonical (verified) text is read */
	if (sw_json_parse(cb.data, cb.len, &cdoc, NULL) < 0 || !sw_sig__only_keys(p = sw_json_root(cdoc), pay, NULL) ||
	    (t = sw_json_get(p, "integratedTime"))->type != SW_JSON_NUM || !t->is_int ||
	    (t = sw_json_get(p, "logIndex"))->type != SW_JSON_NUM || !t->is_int ||
	    sw_json_get(p, "logID")->type != SW_JSON_STR || b64(sw_json_get_str(p, "body"), &body, &blen) < 0) {
		sw_error_set(err, SW_EVERIFY, "the SET's payload is not {body, integratedTime, logIndex, logID}");
		goto out;
	}
	*integrated_time = sw_json_get(p, "integratedTime")->i;
	rc = check_entry(body, blen, signer, signer_len, sig_b64, payload, plen, err);
out:
	free(set);
	free(body);
	sw_buf_release(&cb);
	sw_json_free(doc);
	sw_json_free(cdoc);
	return rc;
}
