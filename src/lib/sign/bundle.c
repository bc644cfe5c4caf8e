/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A Sigstore bundle (protobuf-specs Bundle in JSON: media types v0.1, v0.2,
 * v0.3), verified offline against a trusted root, as the conformance
 * suite holds every Sigstore client to it.
 *
 * The order is that of sigstore-go's verifier, so that a refusal names
 * the first part that failed:
 *   1. the bundle is read strictly (media type, one kind of verification
 *      material, one kind of content, every field bounded; a chain that
 *      carries a root certificate is refused, the root must come from the
 *      trusted root);
 *   2. the signature: a message signature over the artifact's SHA-256 (and
 *      the bundle's messageDigest, a hint, must agree), or a DSSE envelope
 *      (one signature over the PAE; an in-toto statement whose subjects
 *      name the artifact's digest);
 *   3. every transparency-log entry (tlog.c) and every RFC 3161 timestamp
 *      (tsa.c); the times they vouch for are the "observer" times, and
 *      there must be at least one;
 *   4. keyless: the leaf chains to a Fulcio CA and is valid at every such
 *      time (x509.c), has an SCT by a CT log of the root, and names the
 *      identity (SAN) and issuer asked for, exactly or by regular
 *      expression (POSIX extended, unanchored, as cosign's are Go's);
 *      keyed: the key is one of those given.
 */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "stowaway/sign.h"
#include "bundle_int.h"
#include "sigstore.h"
#include "../util/util.h"
#include "../util/banned.h"

#define MAX_BUNDLE_JSON (16u << 20)
#define MAX_ENTRIES 32
#define MAX_TIMESTAMPS 32
#define MAX_CHAIN 8
#define MAX_SIG 4096
#define MAX_SUBJECTS 1024

typedef struct bundle {
	sw_json_doc *doc;
	int minor;
	X509 *leaf;
	bool keyed;                       /* publicKey material */
	sw_tlog_entry e[MAX_ENTRIES];
	size_t ne;
	uint8_t *tsr[MAX_TIMESTAMPS];
	size_t tsrlen[MAX_TIMESTAMPS], nts;
	uint8_t *sig;
	size_t siglen;
	uint8_t *hint;                    /* messageDigest (may be NULL) */
	size_t hintlen;
	bool dsse;
	uint8_t *payload;
	size_t paylen;
	const char *payload_type;
} bundle;

/* ---- helpers shared by the bundle's files ---- */

int sw_bdl__b64(const char *s, uint8_t **out, size_t *n)
{
	/* protobuf's JSON bytes, as Go decodes them: the standard or the URL
	 * alphabet, padded or not, line breaks skipped; nothing else */
	size_t len, i, k = 0;
	char *t;
	int rc;

	*out = NULL;
	*n = 0;
	if (!s || (len = strlen(s)) > ((size_t)1 << 28))
		return SW_EFORMAT;
	if (!(t = malloc(len + 4)))
		return SW_ENOMEM;
	for (i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
		      c == '/' || c == '=') || (k && t[k - 1] == '=' && c != '=')) {
			free(t);
			return SW_EFORMAT;
		}
		t[k++] = c;
	}
	if (k % 4 == 1) {
		free(t);
		return SW_EFORMAT;
	}
	while (k % 4)
		t[k++] = '=';
	rc = sw_b64_decode(t, k, out, n);
	free(t);
	return rc;
}

int sw_bdl__int64(const sw_json *v, int64_t *out)
{
	char *end;
	long long x;

	if (v && v->type == SW_JSON_NUM && v->is_int) {
		*out = v->i;
		return 0;
	}
	if (!v || v->type != SW_JSON_STR || v->slen == 0 || v->slen > 20)
		return SW_EFORMAT;
	x = strtoll(v->s, &end, 10);
	if (*end || (v->s[0] != '-' && (v->s[0] < '0' || v->s[0] > '9')))
		return SW_EFORMAT;
	*out = x;
	return 0;
}

bool sw_bdl__verify_digest(EVP_PKEY *key, const uint8_t *digest, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY_CTX *ctx;
	bool ok;

	if (!key || EVP_PKEY_base_id(key) == EVP_PKEY_ED25519 || !(ctx = EVP_PKEY_CTX_new(key, NULL)))
		return false;
	ok = EVP_PKEY_verify_init(ctx) == 1 && EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
	     EVP_PKEY_verify(ctx, sig, siglen, digest, 32) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

bool sw_bdl__verify_data(EVP_PKEY *key, const void *data, size_t n, const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ed = key && EVP_PKEY_base_id(key) == EVP_PKEY_ED25519, ok;

	ok = md && key && EVP_DigestVerifyInit(md, NULL, ed ? NULL : EVP_sha256(), NULL, key) == 1 &&
	     EVP_DigestVerify(md, sig, siglen, data, n) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

/* ---- reading ---- */

static int media_minor(const char *mt)
{
	static const struct { const char *mt; int minor; } known[] = {
		{ "application/vnd.dev.sigstore.bundle+json;version=0.1", 1 },
		{ "application/vnd.dev.sigstore.bundle+json;version=0.2", 2 },
		{ "application/vnd.dev.sigstore.bundle+json;version=0.3", 3 },
		{ "application/vnd.dev.sigstore.bundle.v0.3+json", 3 },
	};
	size_t i;

	for (i = 0; mt && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(mt, known[i].mt) == 0)
			return known[i].minor;
	return 0;
}

static X509 *cert_of(const sw_json *c)
{
	uint8_t *der = NULL;
	size_t n = 0;
	const unsigned char *p;
	X509 *x = NULL;

	if (sw_bdl__b64(sw_json_get_str(c, "rawBytes"), &der, &n) == 0 && n < 65536) {
		p = der;
		if ((x = d2i_X509(NULL, &p, (long)n)) && p != der + n) {
			X509_free(x);
			x = NULL;
		}
	}
	free(der);
	return x;
}

static bool self_signed(X509 *x)
{
	return X509_check_issued(x, x) == X509_V_OK;
}

static int read_material(bundle *b, const sw_json *vm, sw_error *err)
{
	const sw_json *cert = sw_json_get_obj(vm, "certificate");
	const sw_json *chain = sw_json_get_arr(sw_json_get_obj(vm, "x509CertificateChain"), "certificates");
	const sw_json *pk = sw_json_get_obj(vm, "publicKey"), *c;

	if ((cert != NULL) + (sw_json_get(vm, "x509CertificateChain") != NULL) + (pk != NULL) != 1)
		return sw_error_set(err, SW_EVERIFY, "bundle: not exactly one of certificate, chain, public key");
	if (pk) {
		b->keyed = true;
		return 0;
	}
	if (cert) {
		if (!(b->leaf = cert_of(cert)))
			return sw_error_set(err, SW_EVERIFY, "certificate: not DER X.509");
		return 0;
	}
	if (!chain || chain->n == 0 || chain->n > MAX_CHAIN)
		return sw_error_set(err, SW_EVERIFY, "certificate: the chain is empty or longer than %d", MAX_CHAIN);
	for (c = chain->child; c; c = c->next) {
		X509 *x = cert_of(c);
		bool root = x && self_signed(x);
		if (!x)
			return sw_error_set(err, SW_EVERIFY, "certificate: a chain member is not DER X.509");
		if (root) {
			X509_free(x);
			return sw_error_set(err, SW_EVERIFY,
					    "certificate: the bundle's chain carries a root (roots come from the trusted root)");
		}
		if (c == chain->child)
			b->leaf = x;
		else
			X509_free(x);
	}
	return 0;
}

static int read_entry(sw_tlog_entry *e, const sw_json *j, sw_error *err)
{
	const sw_json *kv = sw_json_get_obj(j, "kindVersion"), *ip = sw_json_get_obj(j, "inclusionProof");
	const sw_json *h, *promise = sw_json_get_obj(j, "inclusionPromise");
	uint8_t *id = NULL, *root = NULL;
	size_t idn = 0, rn = 0, i = 0;
	bool ok;

	ok = sw_bdl__int64(sw_json_get(j, "logIndex"), &e->log_index) == 0 &&
	     sw_bdl__b64(sw_json_get_str(sw_json_get_obj(j, "logId"), "keyId"), &id, &idn) == 0 && idn == 32 &&
	     (e->kind = sw_json_get_str(kv, "kind")) && (e->version = sw_json_get_str(kv, "version")) &&
	     (e->body_b64 = sw_json_get_str(j, "canonicalizedBody")) &&
	     sw_bdl__b64(e->body_b64, &e->body, &e->bodylen) == 0;
	if (ok)
		memcpy(e->log_id, id, 32);
	free(id);
	if (!ok)
		return sw_error_set(err, SW_EVERIFY, "log entry: logIndex, logId, kindVersion or canonicalizedBody "
						     "missing or malformed");
	if (e->log_index < 0)
		return sw_error_set(err, SW_EVERIFY, "log entry: a negative log index");
	if (sw_json_get(j, "integratedTime") &&
	    (sw_bdl__int64(sw_json_get(j, "integratedTime"), &e->integrated_time) < 0 || e->integrated_time < 0))
		return sw_error_set(err, SW_EVERIFY, "log entry: integratedTime malformed");
	if (promise && sw_bdl__b64(sw_json_get_str(promise, "signedEntryTimestamp"), &e->set, &e->setlen) < 0)
		return sw_error_set(err, SW_EVERIFY, "SET: not base64");
	if (!ip)
		return 0;
	h = sw_json_get_arr(ip, "hashes");
	ok = sw_bdl__int64(sw_json_get(ip, "logIndex"), &e->p_index) == 0 &&
	     sw_bdl__int64(sw_json_get(ip, "treeSize"), &e->p_size) == 0 &&
	     sw_bdl__b64(sw_json_get_str(ip, "rootHash"), &root, &rn) == 0 && rn == 32 &&
	     (!h || h->n <= 64);
	e->checkpoint = sw_json_get_str(sw_json_get_obj(ip, "checkpoint"), "envelope");
	if (ok) {
		memcpy(e->root, root, 32);
		if (h && h->n && !(e->hashes = calloc(h->n, 32)))
			ok = false;
		for (h = h ? h->child : NULL; ok && h; h = h->next, i++) {
			uint8_t *d = NULL;
			size_t dn = 0;
			ok = h->type == SW_JSON_STR && sw_bdl__b64(h->s, &d, &dn) == 0 && dn == 32;
			if (ok)
				memcpy(e->hashes[i], d, 32);
			free(d);
		}
		e->nhashes = i;
	}
	free(root);
	if (!ok)
		return sw_error_set(err, SW_EVERIFY, "inclusion proof: malformed (index, size, root hash or "
						     "hashes)");
	e->proof = true;
	return 0;
}

static int read_content(bundle *b, const sw_json *root, sw_error *err)
{
	const sw_json *ms = sw_json_get_obj(root, "messageSignature"), *env = sw_json_get_obj(root, "dsseEnvelope");
	const sw_json *sigs;

	if ((ms != NULL) == (env != NULL))
		return sw_error_set(err, SW_EVERIFY, "bundle: not exactly one of messageSignature, dsseEnvelope");
	if (ms) {
		const sw_json *md = sw_json_get_obj(ms, "messageDigest");
		if (sw_bdl__b64(sw_json_get_str(ms, "signature"), &b->sig, &b->siglen) < 0 || !b->siglen ||
		    b->siglen > MAX_SIG)
			return sw_error_set(err, SW_EVERIFY, "signature: missing or not base64");
		if (md) {
			const char *alg = sw_json_get_str(md, "algorithm");
			if (!alg || strcmp(alg, "SHA2_256") != 0 ||
			    sw_bdl__b64(sw_json_get_str(md, "digest"), &b->hint, &b->hintlen) < 0 || b->hintlen != 32)
				return sw_error_set(err, SW_EVERIFY, "signature: messageDigest is not a SHA2_256 digest");
		}
		return 0;
	}
	b->dsse = true;
	sigs = sw_json_get_arr(env, "signatures");
	if (!(b->payload_type = sw_json_get_str(env, "payloadType")) ||
	    sw_bdl__b64(sw_json_get_str(env, "payload"), &b->payload, &b->paylen) < 0)
		return sw_error_set(err, SW_EVERIFY, "DSSE: payload or payloadType missing or malformed");
	if (!sigs || sigs->n != 1)
		return sw_error_set(err, SW_EVERIFY, "DSSE: not exactly one signature");
	if (sw_bdl__b64(sw_json_get_str(sigs->child, "sig"), &b->sig, &b->siglen) < 0 || !b->siglen ||
	    b->siglen > MAX_SIG)
		return sw_error_set(err, SW_EVERIFY, "DSSE: the signature is missing or not base64");
	return 0;
}

static int read_bundle(bundle *b, const char *text, size_t len, sw_error *err)
{
	const sw_json *root, *vm, *arr, *x;
	int rc;

	if (len > MAX_BUNDLE_JSON)
		return sw_error_set(err, SW_EVERIFY, "bundle: larger than 16 MiB");
	if (sw_json_parse(text, len, &b->doc, NULL) < 0)
		return sw_error_set(err, SW_EVERIFY, "bundle: not JSON");
	root = sw_json_root(b->doc);
	if (!(b->minor = media_minor(sw_json_get_str(root, "mediaType"))))
		return sw_error_set(err, SW_EVERIFY, "bundle: unknown media type");
	if (!(vm = sw_json_get_obj(root, "verificationMaterial")))
		return sw_error_set(err, SW_EVERIFY, "bundle: no verificationMaterial");
	if ((rc = read_material(b, vm, err)) < 0 || (rc = read_content(b, root, err)) < 0)
		return rc;
	arr = sw_json_get_arr(vm, "tlogEntries");
	if (arr && arr->n > MAX_ENTRIES)
		return sw_error_set(err, SW_EVERIFY, "bundle: more than %d log entries", MAX_ENTRIES);
	for (x = arr ? arr->child : NULL; x; x = x->next)
		if ((rc = read_entry(&b->e[b->ne++], x, err)) < 0)
			return rc;
	arr = sw_json_get_arr(sw_json_get_obj(vm, "timestampVerificationData"), "rfc3161Timestamps");
	if (arr && arr->n > MAX_TIMESTAMPS)
		return sw_error_set(err, SW_EVERIFY, "bundle: more than %d timestamps", MAX_TIMESTAMPS);
	for (x = arr ? arr->child : NULL; x; x = x->next, b->nts++)
		if (sw_bdl__b64(sw_json_get_str(x, "signedTimestamp"), &b->tsr[b->nts], &b->tsrlen[b->nts]) < 0)
			return sw_error_set(err, SW_EVERIFY, "timestamp: not base64");
	return 0;
}

static void release(bundle *b)
{
	size_t i;

	for (i = 0; i < b->ne; i++) {
		free(b->e[i].set);
		free(b->e[i].body);
		free(b->e[i].hashes);
	}
	for (i = 0; i < b->nts; i++)
		free(b->tsr[i]);
	free(b->sig);
	free(b->hint);
	free(b->payload);
	X509_free(b->leaf);
	sw_json_free(b->doc);
}

/* ---- checks ---- */

/* The in-toto statement names the artifact among its subjects. */
static int check_statement(const bundle *b, const uint8_t digest[32], sw_bundle_info *info, sw_error *err)
{
	sw_json_doc *doc = NULL;
	const sw_json *subj, *s;
	char hex[65];
	size_t n = 0;
	int rc = SW_EVERIFY;

	if (strcmp(b->payload_type, "application/vnd.in-toto+json") != 0)
		return sw_error_set(err, SW_EVERIFY, "DSSE: payload type is not an in-toto statement");
	sw_hex(digest, 32, hex);
	if (sw_json_parse((const char *)b->payload, b->paylen, &doc, NULL) < 0 ||
	    !(subj = sw_json_get_arr(sw_json_root(doc), "subject"))) {
		sw_json_free(doc);
		return sw_error_set(err, SW_EVERIFY, "DSSE: the in-toto statement has no subjects");
	}
	for (s = subj->child; s && n < MAX_SUBJECTS; s = s->next, n++) {
		const char *v = sw_json_get_str(sw_json_get_obj(s, "digest"), "sha256");
		const char *name = sw_json_get_str(s, "name");
		if (v && strcmp(v, hex) == 0) {
			snprintf(info->subject_name, sizeof(info->subject_name), "%s", name ? name : "");
			rc = 0;
			break;
		}
	}
	if (rc == 0 && sw_json_get_str(sw_json_root(doc), "predicateType"))
		snprintf(info->predicate_type, sizeof(info->predicate_type), "%s",
			 sw_json_get_str(sw_json_root(doc), "predicateType"));
	sw_json_free(doc);
	return rc == 0 ? 0 : sw_error_set(err, SW_EVERIFY, "DSSE: no subject digest of the statement is the artifact's");
}

/* The signature over the artifact (or the PAE); the signer's key out. */
static int check_signature(const bundle *b, const sw_bundle_want *w, const uint8_t art[32], uint8_t pae_digest[32],
			   EVP_PKEY **signer, sw_bundle_info *info, sw_error *err)
{
	EVP_PKEY *keys[SW_SIG_MAX_KEYS];
	sw_buf pae = SW_BUF_INIT(MAX_BUNDLE_JSON + 256);
	size_t nk = 0, i;
	int rc;

	*signer = NULL;
	if (b->leaf)
		keys[nk++] = X509_get0_pubkey(b->leaf);
	for (i = 0; !b->leaf && w->keys && i < w->keys->n; i++)
		keys[nk++] = w->keys->k[i];
	if (!b->dsse) {
		if (b->hint && memcmp(b->hint, art, 32) != 0)
			return sw_error_set(err, SW_EVERIFY, "signature: the bundle's message digest is not the artifact's");
		for (i = 0; i < nk; i++)
			if (keys[i] && sw_bdl__verify_digest(keys[i], art, b->sig, b->siglen)) {
				*signer = keys[i];
				memcpy(pae_digest, art, 32);
				return 0;
			}
		return sw_error_set(err, SW_EVERIFY, "signature: does not verify over the artifact with the %s",
				    b->leaf ? "certificate's key" : "key given");
	}
	sw_buf_printf(&pae, "DSSEv1 %zu %s %zu ", strlen(b->payload_type), b->payload_type, b->paylen);
	sw_buf_append(&pae, b->payload, b->paylen);
	if (sw_buf_err(&pae)) {
		sw_buf_release(&pae);
		return sw_error_set(err, SW_ELIMIT, "DSSE: payload too large");
	}
	sw_sha256_buf(pae.data, pae.len, pae_digest);
	rc = sw_error_set(err, SW_EVERIFY, "DSSE: the envelope's signature does not verify with the %s",
			  b->leaf ? "certificate's key" : "key given");
	for (i = 0; i < nk; i++)
		if (keys[i] && sw_bdl__verify_data(keys[i], pae.data, pae.len, b->sig, b->siglen)) {
			*signer = keys[i];
			rc = 0;
			break;
		}
	sw_buf_release(&pae);
	return rc < 0 ? rc : check_statement(b, art, info, err);
}

static bool matches(const char *got, const char *exact, const char *re, bool *bad_re)
{
	regex_t rx;
	bool ok;

	if (exact)
		return strcmp(got, exact) == 0;
	if (!re)
		return true;
	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0) {
		*bad_re = true;
		return false;
	}
	ok = regexec(&rx, got, 0, NULL, 0) == 0;
	regfree(&rx);
	return ok;
}

static int check_identity(const bundle *b, const sw_bundle_want *w, sw_bundle_info *info, sw_error *err)
{
	bool bad = false;

	sw_x509__identity(b->leaf, info->identity, sizeof(info->identity), info->issuer, sizeof(info->issuer));
	if (!matches(info->identity, w->identity, w->identity_regexp, &bad))
		return bad ? sw_error_set(err, SW_EINVAL, "--certificate-identity-regexp: not a regular expression")
			   : sw_error_set(err, SW_EVERIFY, "identity: the certificate is for \"%s\"", info->identity);
	if (!matches(info->issuer, w->issuer, w->issuer_regexp, &bad))
		return bad ? sw_error_set(err, SW_EINVAL, "--certificate-oidc-issuer-regexp: not a regular expression")
			   : sw_error_set(err, SW_EVERIFY, "issuer: the certificate's OIDC issuer is \"%s\"", info->issuer);
	return 0;
}

/* Log entries and timestamps; the times they vouch for out. */
static int check_witnesses(const sw_trustroot *tr, const bundle *b, const sw_tlog_want *tw, bool w_no_tlog,
			   int64_t *times, size_t *nt, sw_error *err)
{
	size_t i, j;
	int64_t t;
	int rc;

	*nt = 0;
	if (b->ne == 0 && !(b->keyed && w_no_tlog))
		return sw_error_set(err, SW_EVERIFY, "log entry: the bundle has none");
	for (i = 0; i < b->nts; i++) {
		if ((rc = sw_tsa__verify(tr, b->tsr[i], b->tsrlen[i], b->sig, b->siglen, &t, err)) < 0)
			return rc;
		times[(*nt)++] = t;
	}
	for (i = 0; i < b->ne; i++) {
		const sw_tr_log *log = sw_tr__log(tr->tlogs, tr->ntlogs, b->e[i].log_id, 32);
		bool valid = false;
		if ((rc = sw_tlog__verify(tr, &b->e[i], tw, b->minor, &t, err)) < 0)
			return rc;
		if (t) {
			times[(*nt)++] = t;
			continue;
		}
		/* a Rekor v2 entry: its log's key must be valid when a TSA says the signature was made */
		for (j = 0; j < b->nts && log; j++)
			valid |= times[j] >= log->start && times[j] <= log->end;
		if (!valid)
			return sw_error_set(err, SW_EVERIFY, "log entry: no timestamp inside its log key's validity");
	}
	if (*nt == 0 && !b->keyed)
		return sw_error_set(err, SW_EVERIFY, "timestamp: none verified (an integrated time with a SET, or an "
						     "RFC 3161 timestamp)");
	return 0;
}

int sw_bundle_verify(const sw_trustroot *tr, const char *text, size_t len, const char *artifact_digest,
		     const sw_bundle_want *w, sw_bundle_info *info, sw_error *err)
{
	static const sw_bundle_want none = SW_BUNDLE_WANT_INIT;
	bundle *b;
	uint8_t art[32], signed_digest[32];
	int64_t times[MAX_ENTRIES + MAX_TIMESTAMPS];
	size_t nt = 0, i;
	EVP_PKEY *signer = NULL;
	sw_tlog_want tw;
	int rc;

	memset(info, 0, sizeof(*info));
	if (!w)
		w = &none;
	if (!tr || !text || sw_digest_parse(artifact_digest, art) < 0)
		return sw_error_set(err, SW_EINVAL, "no trusted root, bundle or artifact digest (sha256:<64 hex>)");
	if (!(b = calloc(1, sizeof(*b))))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	if ((rc = read_bundle(b, text, len, err)) < 0)
		goto out;
	info->dsse = b->dsse;
	info->keyed = b->keyed;
	if (b->keyed && !(w->keys && w->keys->n)) {
		rc = sw_error_set(err, SW_EVERIFY, "bundle: signed with a key, and no key was given (--key)");
		goto out;
	}
	if (!b->keyed && w->keys && w->keys->n) {
		rc = sw_error_set(err, SW_EVERIFY, "bundle: signed with a certificate, and a key was given");
		goto out;
	}
	if ((rc = check_signature(b, w, art, signed_digest, &signer, info, err)) < 0)
		goto out;
	tw = (sw_tlog_want){ b->sig, b->siglen, b->leaf, b->leaf ? NULL : signer, signed_digest, b->dsse,
			     b->payload, b->paylen, b->payload_type };
	if ((rc = check_witnesses(tr, b, &tw, w->no_tlog, times, &nt, err)) < 0)
		goto out;
	info->signed_at = nt ? times[0] : 0;
	if (b->leaf) {
		for (i = 0; i < nt; i++)
			if ((rc = sw_x509__verify_leaf(tr, b->leaf, times[i], err)) < 0)
				goto out;
		if ((rc = sw_x509__verify_sct(tr, b->leaf, err)) < 0 || (rc = check_identity(b, w, info, err)) < 0)
			goto out;
	}
	rc = 0;
out:
	release(b);
	free(b);
	return rc;
}

/* SHA-256 of a regular file, read in 1 MiB pieces. */
static int file_digest(const char *path, char out[SW_DIGEST_STRLEN], sw_error *err)
{
	int fd = sw_open_regular(AT_FDCWD, path, true);
	sw_sha256 *h = NULL;
	uint8_t *buf = NULL, d[32];
	ssize_t r = 0;

	if (fd < 0)
		return sw_error_set(err, SW_EIO, "%s: cannot open the artifact (a regular file)", path);
	if (!(h = sw_sha256_new()) || !(buf = malloc(1u << 20))) {
		r = -2;
		goto out;
	}
	while ((r = read(fd, buf, 1u << 20)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		sw_sha256_update(h, buf, (size_t)r);
	}
	if (r == 0) {
		sw_sha256_final(h, d);
		sw_digest_str(d, out);
	}
out:
	close(fd);
	free(buf);
	sw_sha256_free(h);
	if (r == -2)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	return r < 0 ? sw_error_set(err, SW_EIO, "%s: cannot read the artifact", path) : 0;
}

int sw_bundle_verify_blob(const sw_trustroot *tr, const char *bundle_path, const char *artifact,
			  const sw_bundle_want *want, sw_bundle_info *info, sw_error *err)
{
	sw_buf b = SW_BUF_INIT(MAX_BUNDLE_JSON);
	char digest[SW_DIGEST_STRLEN];
	struct stat st;
	int rc;

	memset(info, 0, sizeof(*info));
	if (!bundle_path || !artifact)
		return sw_error_set(err, SW_EINVAL, "a bundle and an artifact are due");
	if (stat(artifact, &st) != 0 && errno == ENOENT && sw_digest_valid(artifact)) {
		snprintf(digest, sizeof(digest), "%s", artifact);
	} else if ((rc = file_digest(artifact, digest, err)) < 0) {
		return rc;
	}
	if ((rc = sw_file_read_regular(bundle_path, &b)) < 0) {
		sw_buf_release(&b);
		return sw_error_set(err, rc == SW_ELIMIT ? rc : SW_EIO, "%s: cannot read the bundle%s", bundle_path,
				    rc == SW_ELIMIT ? " (over 16 MiB)" : "");
	}
	rc = sw_bundle_verify(tr, b.data ? b.data : "", b.len, digest, want, info, err);
	sw_buf_release(&b);
	return rc;
}
