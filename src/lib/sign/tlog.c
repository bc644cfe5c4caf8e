/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bundle's transparency-log entry, checked offline against the logs of
 * the trusted root.
 *
 *  - The body (canonicalizedBody) must name what the bundle holds: a
 *    hashedrekord 0.0.1 (Rekor v1: PEM signer, hex SHA-256) or 0.0.2
 *    (Rekor v2: DER signer, base64 digest; for a DSSE envelope the digest
 *    of its PAE), a dsse 0.0.1 (payload hash, signatures and verifiers) or
 *    an intoto 0.0.2 (payload hash, signatures base64 twice over). Only
 *    the parts a client can recompute are compared; all must match.
 *  - The SET (inclusionPromise): the log's signature over the canonical
 *    JSON {body, integratedTime, logID (hex), logIndex}; what makes the
 *    integrated time a time the log vouches for.
 *  - The inclusion proof (RFC 6962 §2.1.1, RFC 9162 §2.1.3.2): the leaf
 *    hash SHA-256(0x00 || body) climbs to the root hash, and a checkpoint
 *    (a C2SP signed note: origin, size, base64 root hash, optional lines,
 *    a blank line, signature lines "— name base64(keyhint || sig)")
 *    signed by the same log names that size and root. The key hint is the
 *    first four bytes of the log's id; lines by other signers (witnesses)
 *    are skipped, one by the log must verify.
 *
 * Bundles v0.1 need the SET, later ones the inclusion proof (and a SET
 * when there is an integrated time: Rekor v1). The log's key must be
 * valid at the integrated time, and that time not in the future.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "stowaway/sign.h"
#include "bundle_int.h"
#include "sigstore.h"
#include "../util/util.h"
#include "../util/banned.h"

#define MAX_PROOF 64          /* hashes: a tree of 2^64 leaves needs at most 64 */
#define MAX_NOTE 8192
#define MAX_NOTE_SIGS 32

static bool bytes_eq(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static bool b64_eq(const char *s, const uint8_t *want, size_t wn)
{
	uint8_t *d = NULL;
	size_t n = 0;
	bool eq = sw_bdl__b64(s, &d, &n) == 0 && bytes_eq(d, n, want, wn);

	free(d);
	return eq;
}

static bool hex_eq(const char *s, const uint8_t d[32])
{
	char hex[65];

	if (!s || strlen(s) != 64)
		return false;
	sw_hex(d, 32, hex);
	return strcmp(s, hex) == 0; /* Rekor writes lower case */
}

/* The signer in DER: the certificate, or the key's SubjectPublicKeyInfo. */
static int signer_der(const sw_tlog_want *w, unsigned char **der)
{
	*der = NULL;
	return w->cert ? i2d_X509(w->cert, der) : i2d_PUBKEY(w->key, der);
}

/* A PEM block (base64 of it, as Rekor v1 stores it) holding the signer. */
static bool pem_is_signer(const char *b64pem, const sw_tlog_want *w)
{
	uint8_t *pem = NULL;
	unsigned char *mine = NULL, *der = NULL;
	char *name = NULL, *header = NULL;
	size_t pn = 0;
	long dlen = 0;
	int mlen = -1;
	bool eq = false;
	BIO *bio;

	if (sw_bdl__b64(b64pem, &pem, &pn) < 0)
		return false;
	if ((bio = BIO_new_mem_buf(pem, (int)pn)) && PEM_read_bio(bio, &name, &header, &der, &dlen) == 1 &&
	    (mlen = signer_der(w, &mine)) > 0)
		eq = bytes_eq(mine, (size_t)mlen, der, (size_t)dlen);
	BIO_free(bio);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	OPENSSL_free(mine);
	free(pem);
	return eq;
}

static const char *hashedrekord_v1(const sw_json *spec, const sw_tlog_want *w)
{
	const sw_json *sig = sw_json_get_obj(spec, "signature");
	const sw_json *hash = sw_json_get_obj(sw_json_get_obj(spec, "data"), "hash");
	const char *alg = sw_json_get_str(hash, "algorithm");

	if (w->dsse)
		return "a hashedrekord 0.0.1 entry for a DSSE envelope";
	if (!b64_eq(sw_json_get_str(sig, "content"), w->sig, w->siglen))
		return "it is for another signature";
	if (!pem_is_signer(sw_json_get_str(sw_json_get_obj(sig, "publicKey"), "content"), w))
		return "it is for another certificate or key";
	if (!alg || strcmp(alg, "sha256") != 0 || !hex_eq(sw_json_get_str(hash, "value"), w->digest))
		return "it is for another artifact";
	return NULL;
}

static const char *hashedrekord_v2(const sw_json *spec, const sw_tlog_want *w)
{
	const sw_json *h = sw_json_get_obj(spec, "hashedRekordV002");
	const sw_json *sig = sw_json_get_obj(h, "signature"), *data = sw_json_get_obj(h, "data");
	const sw_json *ver = sw_json_get_obj(sig, "verifier");
	const char *alg = sw_json_get_str(data, "algorithm");
	const char *raw = sw_json_get_str(sw_json_get_obj(ver, w->cert ? "x509Certificate" : "publicKey"), "rawBytes");
	unsigned char *mine = NULL;
	int mlen;
	bool signer;

	if (!b64_eq(sw_json_get_str(sig, "content"), w->sig, w->siglen))
		return "it is for another signature";
	mlen = signer_der(w, &mine);
	signer = mlen > 0 && b64_eq(raw, mine, (size_t)mlen);
	OPENSSL_free(mine);
	if (!signer)
		return "it is for another certificate or key";
	if (!alg || strcmp(alg, "SHA2_256") != 0 || !b64_eq(sw_json_get_str(data, "digest"), w->digest, 32))
		return w->dsse ? "it is for another envelope" : "it is for another artifact";
	return NULL;
}

static bool payload_hash_ok(const sw_json *hash, const sw_tlog_want *w)
{
	uint8_t d[32];
	const char *alg = sw_json_get_str(hash, "algorithm");

	sw_sha256_buf(w->payload, w->paylen, d);
	return alg && strcmp(alg, "sha256") == 0 && hex_eq(sw_json_get_str(hash, "value"), d);
}

static const char *dsse_v1(const sw_json *spec, const sw_tlog_want *w)
{
	const sw_json *sigs = sw_json_get_arr(spec, "signatures");

	if (!w->dsse)
		return "a dsse entry for a message signature";
	if (!payload_hash_ok(sw_json_get_obj(spec, "payloadHash"), w))
		return "it is for another payload";
	if (!sigs || sigs->n != 1 || !b64_eq(sw_json_get_str(sigs->child, "signature"), w->sig, w->siglen))
		return "it is for another signature";
	if (!pem_is_signer(sw_json_get_str(sigs->child, "verifier"), w))
		return "it is for another certificate or key";
	return NULL;
}

static const char *intoto_v2(const sw_json *spec, const sw_tlog_want *w)
{
	const sw_json *content = sw_json_get_obj(spec, "content");
	const sw_json *env = sw_json_get_obj(content, "envelope");
	const sw_json *sigs = sw_json_get_arr(env, "signatures");
	const char *pt = sw_json_get_str(env, "payloadType");
	uint8_t *inner = NULL;
	size_t n = 0;
	bool sig_ok;

	if (!w->dsse)
		return "an intoto entry for a message signature";
	if (!payload_hash_ok(sw_json_get_obj(content, "payloadHash"), w) || !pt || strcmp(pt, w->payload_type) != 0)
		return "it is for another payload";
	if (!sigs || sigs->n != 1)
		return "it does not hold exactly one signature";
	/* the signature and the key are base64 of base64 there */
	sig_ok = sw_bdl__b64(sw_json_get_str(sigs->child, "sig"), &inner, &n) == 0 && n < 4096;
	if (sig_ok) {
		char *s = sw__strndup((const char *)inner, n);
		sig_ok = s && b64_eq(s, w->sig, w->siglen);
		free(s);
	}
	free(inner);
	if (!sig_ok)
		return "it is for another signature";
	if (!pem_is_signer(sw_json_get_str(sigs->child, "publicKey"), w))
		return "it is for another certificate or key";
	return NULL;
}

static int check_body(const sw_tlog_entry *e, const sw_tlog_want *w, sw_error *err)
{
	sw_json_doc *doc = NULL;
	const sw_json *root, *spec;
	const char *kind, *ver, *why = NULL;

	if (sw_json_parse((const char *)e->body, e->bodylen, &doc, NULL) < 0) {
		sw_json_free(doc);
		return sw_error_set(err, SW_EVERIFY, "log entry: its body is not JSON");
	}
	root = sw_json_root(doc);
	kind = sw_json_get_str(root, "kind");
	ver = sw_json_get_str(root, "apiVersion");
	spec = sw_json_get_obj(root, "spec");
	if (!kind || !ver || !spec || strcmp(kind, e->kind) != 0 || strcmp(ver, e->version) != 0)
		why = "its body is not the kind and version the bundle says";
	else if (strcmp(kind, "hashedrekord") == 0 && strcmp(ver, "0.0.1") == 0)
		why = hashedrekord_v1(spec, w);
	else if (strcmp(kind, "hashedrekord") == 0 && strcmp(ver, "0.0.2") == 0)
		why = hashedrekord_v2(spec, w);
	else if (strcmp(kind, "dsse") == 0 && strcmp(ver, "0.0.1") == 0)
		why = dsse_v1(spec, w);
	else if (strcmp(kind, "intoto") == 0 && strcmp(ver, "0.0.2") == 0)
		why = intoto_v2(spec, w);
	else
		why = "a kind or version stowaway does not read";
	sw_json_free(doc);
	return why ? sw_error_set(err, SW_EVERIFY, "log entry: %s", why) : 0;
}

static int check_set(const sw_tlog_entry *e, const sw_tr_log *log, sw_error *err)
{
	sw_buf b = SW_BUF_INIT(4u << 20);
	char hex[65];
	bool ok;

	sw_hex(e->log_id, 32, hex);
	sw_buf_printf(&b, "{\"body\":\"%s\",\"integratedTime\":%lld,\"logID\":\"%s\",\"logIndex\":%lld}", e->body_b64,
		      (long long)e->integrated_time, hex, (long long)e->log_index);
	ok = sw_buf_err(&b) == 0 && sw_bdl__verify_data(log->key, b.data, b.len, e->set, e->setlen);
	sw_buf_release(&b);
	return ok ? 0 : sw_error_set(err, SW_EVERIFY, "SET: the log's signed entry timestamp does not verify");
}

static void node(const uint8_t *l, const uint8_t *r, uint8_t out[32])
{
	uint8_t in[65];

	in[0] = 1;
	memcpy(in + 1, l, 32);
	memcpy(in + 33, r, 32);
	sw_sha256_buf(in, sizeof(in), out);
}

static int check_proof(const sw_tlog_entry *e, sw_error *err)
{
	uint64_t fn = (uint64_t)e->p_index, sn = (uint64_t)e->p_size - 1;
	uint8_t r[32], *leaf;
	size_t i;

	if (e->p_index < 0 || e->p_size <= 0 || e->p_index >= e->p_size)
		return sw_error_set(err, SW_EVERIFY, "inclusion proof: index %lld outside a tree of %lld",
				    (long long)e->p_index, (long long)e->p_size);
	if (!(leaf = malloc(e->bodylen + 1)))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	leaf[0] = 0;
	memcpy(leaf + 1, e->body, e->bodylen);
	sw_sha256_buf(leaf, e->bodylen + 1, r);
	free(leaf);
	for (i = 0; i < e->nhashes; i++) {
		if (sn == 0)
			return sw_error_set(err, SW_EVERIFY, "inclusion proof: more hashes than the tree has levels");
		if ((fn & 1) || fn == sn) {
			node(e->hashes[i], r, r);
			while (!(fn & 1) && fn) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			node(r, e->hashes[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || memcmp(r, e->root, 32) != 0)
		return sw_error_set(err, SW_EVERIFY, "inclusion proof: the hashes do not lead to its root hash");
	return 0;
}

/* The checkpoint: origin, size and root of the proof, signed by the log. */
int sw_tlog__checkpoint(const char *cp, int64_t tree_size, const uint8_t tree_root[32], const sw_tr_log *log,
			sw_error *err)
{
	static const char dash[] = "\xe2\x80\x94 "; /* U+2014 and a space */
	const char *end, *p, *nl;
	char size[32], rootb64[64];
	size_t textlen, nsig = 0;
	uint8_t *root = NULL;
	size_t rn = 0;
	bool rootok;

	if (!cp)
		return sw_error_set(err, SW_EVERIFY, "checkpoint: missing from the inclusion proof");
	if (strlen(cp) > MAX_NOTE || !(end = strstr(cp, "\n\n")))
		return sw_error_set(err, SW_EVERIFY, "checkpoint: too long, or no signatures");
	textlen = (size_t)(end - cp) + 1;
	/* origin, then size, then root hash: each on its own line */
	if (!(nl = memchr(cp, '\n', textlen)) || nl == cp)
		return sw_error_set(err, SW_EVERIFY, "checkpoint: no origin line");
	p = nl + 1;
	if (!(nl = memchr(p, '\n', textlen - (size_t)(p - cp))) || nl == p || (size_t)(nl - p) >= sizeof(size) ||
	    strspn(p, "0123456789") != (size_t)(nl - p))
		return sw_error_set(err, SW_EVERIFY, "checkpoint: no tree size line");
	memcpy(size, p, (size_t)(nl - p));
	size[nl - p] = 0;
	p = nl + 1;
	if (!(nl = memchr(p, '\n', textlen - (size_t)(p - cp))) || nl == p || (size_t)(nl - p) >= sizeof(rootb64))
		return sw_error_set(err, SW_EVERIFY, "checkpoint: no root hash line");
	memcpy(rootb64, p, (size_t)(nl - p));
	rootb64[nl - p] = 0;
	if (strtoll(size, NULL, 10) != tree_size || (size[0] == '0' && size[1]))
		return sw_error_set(err, SW_EVERIFY, "checkpoint: its tree size is not the proof's");
	rootok = sw_bdl__b64(rootb64, &root, &rn) == 0 && bytes_eq(root, rn, tree_root, 32);
	free(root);
	if (!rootok)
		return sw_error_set(err, SW_EVERIFY, "checkpoint: its root hash is not the proof's");
	for (p = end + 2; *p && nsig < MAX_NOTE_SIGS; p = nl + 1, nsig++) {
		const char *sp;
		char b64[512];
		uint8_t *sig = NULL;
		size_t sn = 0;
		bool ok;
		if (!(nl = strchr(p, '\n')) || strncmp(p, dash, 4) != 0 || !(sp = memchr(p + 4, ' ', (size_t)(nl - p - 4))))
			return sw_error_set(err, SW_EVERIFY, "checkpoint: a signature line is not \"— name signature\"");
		if ((size_t)(nl - sp - 1) >= sizeof(b64))
			continue;
		memcpy(b64, sp + 1, (size_t)(nl - sp - 1));
		b64[nl - sp - 1] = 0;
		if (sw_bdl__b64(b64, &sig, &sn) < 0 || sn < 5 || memcmp(sig, log->id, 4) != 0) {
			free(sig);
			continue; /* another signer's (a witness) */
		}
		ok = sw_bdl__verify_data(log->key, cp, textlen, sig + 4, sn - 4);
		free(sig);
		if (ok)
			return 0;
		return sw_error_set(err, SW_EVERIFY, "checkpoint: the log's signature does not verify");
	}
	return sw_error_set(err, SW_EVERIFY, "checkpoint: no signature by the log (key hint)");
}

int sw_tlog__verify(const sw_trustroot *tr, const sw_tlog_entry *e, const sw_tlog_want *w, int bundle_minor,
		    int64_t *time_out, sw_error *err)
{
	const sw_tr_log *log = sw_tr__log(tr->tlogs, tr->ntlogs, e->log_id, 32);
	int rc;

	*time_out = 0;
	if (!log)
		return sw_error_set(err, SW_EVERIFY, "log entry: from a log the trusted root does not name");
	if (e->log_index < 0)
		return sw_error_set(err, SW_EVERIFY, "log entry: a negative log index");
	if ((rc = check_body(e, w, err)) < 0)
		return rc;
	if (bundle_minor >= 2 && !e->proof)
		return sw_error_set(err, SW_EVERIFY, "inclusion proof: missing (required from bundle v0.2)");
	if (e->integrated_time) {
		if (e->integrated_time > (int64_t)time(NULL) + 60)
			return sw_error_set(err, SW_EVERIFY, "log entry: its integrated time is in the future");
		if (e->integrated_time < log->start || e->integrated_time > log->end)
			return sw_error_set(err, SW_EVERIFY, "log entry: the log's key was not valid at its integrated time");
		if (!e->set)
			return sw_error_set(err, SW_EVERIFY, "SET: missing for an entry with an integrated time");
		if ((rc = check_set(e, log, err)) < 0)
			return rc;
		*time_out = e->integrated_time;
	} else if (bundle_minor < 2 || e->set) {
		return sw_error_set(err, SW_EVERIFY, "SET: an entry without an integrated time");
	}
	if (e->proof) {
		if (e->nhashes > MAX_PROOF)
			return sw_error_set(err, SW_EVERIFY, "inclusion proof: more than %d hashes", MAX_PROOF);
		if ((rc = check_proof(e, err)) < 0 || (rc = sw_tlog__checkpoint(e->checkpoint, e->p_size, e->root, log, err)) < 0)
			return rc;
	}
	return 0;
}
