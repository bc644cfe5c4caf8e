/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sigstore bundles beside an image, as cosign v3 stores them by default
 * (FORMATS.md §6.5): an OCI 1.1 referrer, a manifest whose artifactType
 * and only layer are application/vnd.dev.sigstore.bundle.v0.3+json, whose
 * config is the empty descriptor and whose subject is the image. Found
 * through the referrers API (GET /v2/<name>/referrers/<digest>), else
 * through the tag schema's fallback for registries without that API
 * (Debian's docker-registry 2.8 among them): an index tagged
 * sha256-<hex> that writers keep. An OCI layout keeps the same index
 * under that tag in its index.json.
 *
 * Reading: one walk over the index (each_entry) serves every reader. Its
 * bundle entries (at most 64) are of two kinds by the predicate type
 * their annotation names: cosign's sign predicate is a signature, any
 * other an attestation (an entry without the annotation may be either).
 * Counting (the page's) reads the index only. Verifying fetches the
 * entries of its kind by digest (manifests 4 MiB, bundles 4 MiB), and a
 * bundle counts only when the subject is this image and the bundle
 * verifies for the image's digest (sw_bundle_verify: the DSSE statement's
 * subject is that digest). A statement of another predicate type is an
 * attestation, not a signature, and is reported as such. The identity the
 * signedIdentity rules judge is the statement subject's name (cosign
 * writes the image's repository there, as it writes docker-reference in
 * the legacy payload).
 *
 * Writing: the statement, its DSSE envelope signed with the key, the
 * bundle (v0.3, the key's hint, no log entry: stowaway signs offline),
 * the blobs, the referrer manifest by digest, then the fallback index
 * with the other entries kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "stowaway/reference.h"
#include "stowaway/sign.h"
#include "keys.h"
#include "sigstore.h"
#include "../util/util.h"
#include "../util/banned.h"

#define MT_BUNDLE "application/vnd.dev.sigstore.bundle.v0.3+json"
#define MT_BUNDLE_PREFIX "application/vnd.dev.sigstore.bundle"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_EMPTY "application/vnd.oci.empty.v1+json"
#define PRED_SIGN "https://sigstore.dev/cosign/sign/v1"
#define ANN_PREDICATE "dev.sigstore.bundle.predicateType"
#define PAYLOAD_TYPE "application/vnd.in-toto+json"
#define MAX_INDEX (4u << 20)
#define MAX_MANIFEST (4u << 20)
#define MAX_BUNDLE (4u << 20)     /* an image signature's bundle is a few KiB */
#define MAX_REFERRERS 64          /* judged per image: bounds what a hostile registry can make us fetch */

/* The referrers index of the image: the API, else the fallback tag. NULL
 * (and 0) when there is none. */
static int referrers(sw_sigimage *si, sw_json_doc **doc, sw_error *err)
{
	char tag[80], *body = NULL;
	size_t len = 0;
	int rc = SW_ENOTFOUND;

	*doc = NULL;
	if (si->reg)
		rc = sw_reg_referrers(si->reg, si->digest, MAX_INDEX, &body, &len, err);
	if (rc == SW_ENOTFOUND) {
		snprintf(tag, sizeof(tag), "sha256-%s", si->digest + 7);
		rc = sw_sigstore_tagged(si, tag, MAX_INDEX, &body, &len, err);
	}
	if (rc == SW_ENOTFOUND)
		return 0;
	if (rc == 0 && (rc = sw_json_parse(body, len, doc, err)) < 0)
		rc = sw_error_prefix(err, "%s: the referrers index", si->full);
	free(body);
	return rc;
}

/* The bundle a referrer manifest holds (malloc'd), or why not; the
 * predicate type its annotation names into pt (empty: none). */
static const char *referrer_bundle(sw_sigimage *si, const char *mdigest, int64_t msize, char **bundle, size_t *blen,
				   char pt[256], sw_error *err)
{
	sw_json_doc *doc = NULL;
	const sw_json *root, *layers;
	const char *at, *why = NULL, *ld;
	char *body = NULL;
	size_t len = 0;
	int64_t lsz = -1;

	*bundle = NULL;
	if (si->reg) {
		char *mt = NULL, *dg = NULL;
		int rc = sw_reg_manifest(si->reg, mdigest, MAX_MANIFEST, &body, &len, &mt, &dg, err);
		free(mt);
		free(dg);
		if (rc < 0)
			return "the referrer manifest cannot be read";
	} else if (sw_sigstore_blob(si, mdigest, msize, MAX_MANIFEST, &body, &len, err) < 0) {
		return "the referrer manifest cannot be read";
	}
	if (sw_json_parse(body, len, &doc, NULL) < 0) {
		why = "the referrer manifest is not JSON";
		goto out;
	}
	root = sw_json_root(doc);
	at = sw_json_get_str(sw_json_get_obj(root, "annotations"), ANN_PREDICATE);
	snprintf(pt, 256, "%s", at ? at : "");
	at = sw_json_get_str(root, "artifactType");
	layers = sw_json_get_arr(root, "layers");
	if (!at || strncmp(at, MT_BUNDLE_PREFIX, strlen(MT_BUNDLE_PREFIX)) != 0) {
		why = ""; /* another kind of referrer: not ours to judge */
		goto out;
	}
	if (!sw_json_get_str(sw_json_get_obj(root, "subject"), "digest") ||
	    strcmp(sw_json_get_str(sw_json_get_obj(root, "subject"), "digest"), si->digest) != 0) {
		why = "the referrer's subject is another manifest";
		goto out;
	}
	if (!layers || layers->n != 1 || !(ld = sw_json_get_str(layers->child, "digest"))) {
		why = "the referrer does not hold exactly one bundle layer";
		goto out;
	}
	sw_json_get_i64(layers->child, "size", &lsz);
	if (sw_sigstore_blob(si, ld, lsz, MAX_BUNDLE, bundle, blen, err) < 0)
		why = "the bundle blob cannot be read (or is over 16 MiB)";
out:
	if (why) {
		free(*bundle);
		*bundle = NULL;
	}
	free(body);
	sw_json_free(doc);
	return why;
}

int sw_sig__bundle_check(const sw_trustroot *tr, const sw_pubkeys *keys, const sw_bundle_want *keyless, bool no_tlog,
			 const char *bundle, size_t blen, const char *digest, sw_bundle_info *info, sw_error *err)
{
	sw_bundle_want want = SW_BUNDLE_WANT_INIT;
	sw_error e2 = SW_ERROR_INIT;
	int rc;

	if (keyless)
		want = *keyless;
	want.keys = keys;
	want.no_tlog = no_tlog;
	rc = sw_bundle_verify(tr, bundle, blen, digest, &want, info, err);
	if (rc < 0 && keyless && keys && keys->n && strstr(err->msg, "signed with a certificate")) {
		/* the keys do not apply: a keyless bundle is judged without them */
		want = *keyless;
		if ((rc = sw_bundle_verify(tr, bundle, blen, digest, &want, info, &e2)) < 0)
			*err = e2;
	}
	return rc;
}

static void judge(sw_sigimage *si, const sw_sig_check *c, const sw_trustroot *tr, const char *named,
		  const char *bundle, size_t blen, sw_sig_result *res)
{
	sw_bundle_info info;
	sw_error err = SW_ERROR_INIT;
	int rc;

	res->key = -1;
	snprintf(res->digest, sizeof(res->digest), "%s", si->digest);
	rc = sw_sig__bundle_check(tr, c->keys, c->keyless, c->keys && !c->rekor_keys, bundle, blen, si->digest, &info,
				  &err);
	snprintf(res->identity, sizeof(res->identity), "%s", rc == 0 ? info.subject_name : "");
	if (rc < 0) {
		res->status = SW_SIG_BAD_SIGNATURE;
		snprintf(res->reason, sizeof(res->reason), "bundle: %.280s", err.msg);
		return;
	}
	if (!info.dsse || strcmp(info.predicate_type, PRED_SIGN) != 0) {
		res->status = SW_SIG_MALFORMED;
		snprintf(res->reason, sizeof(res->reason), "bundle: an attestation (%.200s), not a signature",
			 info.predicate_type[0] ? info.predicate_type : "a message signature");
		return;
	}
	if (c->identity && !sw_identity_match(c->identity, named && named[0] ? named : NULL, info.subject_name)) {
		res->status = SW_SIG_WRONG_IDENTITY;
		snprintf(res->reason, sizeof(res->reason), "bundle: signed for \"%.200s\"", info.subject_name);
		return;
	}
	res->status = SW_SIG_VALID;
	res->key = info.keyed ? 0 : -1;
	if (info.keyed)
		snprintf(res->reason, sizeof(res->reason), "sigstore bundle, keyed");
	else
		snprintf(res->reason, sizeof(res->reason), "sigstore bundle, keyless: %.140s (%.120s)", info.identity,
			 info.issuer);
}

/* Each entry of si's referrers index that may hold a bundle (a digest,
 * and no artifact type but a bundle's), at most MAX_REFERRERS: fn gets
 * its descriptor and the predicate type its annotation names (NULL: none).
 * The one walk over the index: fetching bundles and counting them go
 * through it. A negative return of fn stops, and is returned. */
typedef int (*entry_fn)(void *ctx, const sw_json *m, const char *digest, const char *predicate);

static int each_entry(sw_sigimage *si, entry_fn fn, void *ctx, sw_error *err)
{
	sw_json_doc *idx = NULL;
	const sw_json *m, *ms;
	size_t seen = 0;
	int rc;

	if ((rc = referrers(si, &idx, err)) < 0 || !idx)
		return rc;
	ms = sw_json_get_arr(sw_json_root(idx), "manifests");
	for (m = ms ? ms->child : NULL; m && seen < MAX_REFERRERS && rc == 0; m = m->next, seen++) {
		const char *dg = sw_json_get_str(m, "digest"), *at = sw_json_get_str(m, "artifactType");
		const char *pt = sw_json_get_str(sw_json_get_obj(m, "annotations"), ANN_PREDICATE);
		if (dg && (!at || strncmp(at, MT_BUNDLE_PREFIX, strlen(MT_BUNDLE_PREFIX)) == 0))
			rc = fn(ctx, m, dg, pt);
	}
	sw_json_free(idx);
	return rc;
}

/* Whether an entry whose annotation names predicate type pt (NULL: none)
 * is of the kind asked for: signatures are cosign's sign predicate,
 * attestations every other; an entry without the annotation may be
 * either, and is read. */
static bool of_kind(const char *pt, sw_sig_kind kind)
{
	if (!pt)
		return true;
	return (strcmp(pt, PRED_SIGN) == 0) == (kind == SW_SIG_KIND_SIGNATURES);
}

typedef struct fetch_ctx {
	sw_sigimage *si;
	sw_sig_kind kind;
	const char *only;
	sw_sig_bundle_fn fn;
	void *ctx;
} fetch_ctx;

static int fetch_one(void *ctx, const sw_json *m, const char *dg, const char *pt)
{
	fetch_ctx *f = ctx;
	sw_error berr = SW_ERROR_INIT;
	char *bundle = NULL, mpt[256] = "";
	size_t blen = 0;
	int64_t sz = -1;
	const char *why;
	int rc = 0;

	if (!of_kind(pt, f->kind))
		return 0;
	if (pt && f->only && strcmp(pt, f->only) != 0)
		return f->fn(f->ctx, dg, pt, NULL, 0, NULL); /* told apart unread */
	sw_json_get_i64(m, "size", &sz);
	why = referrer_bundle(f->si, dg, sz, &bundle, &blen, mpt, &berr);
	/* the manifest's own annotation is what the referrer says (an index
	 * entry may lack it: the fallback index is anyone's to write) */
	if (!why || why[0])
		rc = f->fn(f->ctx, dg, mpt[0] ? mpt : pt, bundle, blen, why);
	free(bundle);
	return rc;
}

int sw_sig__each_bundle(sw_sigimage *si, sw_sig_kind kind, const char *only, sw_sig_bundle_fn fn, void *ctx,
			sw_error *err)
{
	fetch_ctx f = { si, kind, only, fn, ctx };

	return each_entry(si, fetch_one, &f, err);
}

static int count_one(void *ctx, const sw_json *m, const char *dg, const char *pt)
{
	int **counts = ctx;

	(void)m;
	(void)dg;
	(*counts[of_kind(pt, SW_SIG_KIND_SIGNATURES) ? 0 : 1])++;
	return 0;
}

int sw_sig__count_bundles(sw_sigimage *si, int *signatures, int *attestations, sw_error *err)
{
	int *counts[] = { signatures, attestations };

	return each_entry(si, count_one, counts, err);
}

typedef struct verify_ctx {
	sw_sigimage *si;
	const sw_sig_check *c;
	const sw_trustroot *tr;
	const char *named;
	sw_sig_result **results;
	size_t *n;
	int valid;
} verify_ctx;

void *sw_sig__one_more(void *pp, size_t *n, size_t elem)
{
	char *p;

	memcpy(&p, pp, sizeof(p));
	/* one more each time: at most 64 bundles, beside the legacy results */
	if (*n >= SIZE_MAX / elem - 1 || !(p = realloc(p, (*n + 1) * elem)))
		return NULL;
	memcpy(pp, &p, sizeof(p));
	memset(p + *n * elem, 0, elem);
	return p + (*n)++ * elem;
}

static int verify_one(void *ctx, const char *dg, const char *pt, const char *bundle, size_t blen, const char *why)
{
	verify_ctx *v = ctx;
	sw_sig_result *res = sw_sig__one_more(v->results, v->n, sizeof(**v->results));

	(void)pt;
	if (!res)
		return SW_ENOMEM;
	if (why) {
		res->status = SW_SIG_MALFORMED;
		res->key = -1;
		snprintf(res->reason, sizeof(res->reason), "bundle %.80s: %.200s", dg, why);
		return 0;
	}
	judge(v->si, v->c, v->tr, v->named, bundle, blen, res);
	v->valid += res->status == SW_SIG_VALID;
	return 0;
}

int sw_sig__verify_bundles(sw_sigimage *si, const sw_sig_check *c, const char *named, sw_sig_result **results,
			   size_t *n, sw_error *err)
{
	sw_trustroot *own = NULL;
	verify_ctx v = { si, c, c->trust_root, named, results, n, 0 };
	int rc;

	if ((!c->keys || !c->keys->n) && !c->keyless)
		return 0;
	if (!v.tr && (rc = sw_trustroot_load(NULL, &own, err)) < 0)
		return rc;
	if (!v.tr)
		v.tr = own;
	rc = sw_sig__each_bundle(si, SW_SIG_KIND_SIGNATURES, PRED_SIGN, verify_one, &v, err);
	if (rc == SW_ENOMEM)
		sw_error_set(err, rc, "out of memory");
	sw_trustroot_free(own);
	return rc < 0 ? rc : v.valid;
}

/* ---- writing ---- */

static void descriptor(sw_jw *w, const char *mt, const char *digest, size_t size)
{
	sw_jw_obj(w);
	sw_jw_kstr(w, "mediaType", mt);
	sw_jw_kstr(w, "digest", digest);
	sw_jw_kuint(w, "size", size);
	sw_jw_end(w);
}

void sw_sig__statement_head(sw_jw *w, const char *name, const char *hex, const char *predicate_type)
{
	sw_jw_obj(w);
	sw_jw_kstr(w, "_type", "https://in-toto.io/Statement/v1");
	sw_jw_karr(w, "subject");
	sw_jw_obj(w);
	sw_jw_kstr(w, "name", name);
	sw_jw_kobj(w, "digest");
	sw_jw_kstr(w, "sha256", hex);
	sw_jw_end(w);
	sw_jw_end(w);
	sw_jw_end(w);
	sw_jw_kstr(w, "predicateType", predicate_type);
}

/* A member whose value is base64 of the bytes. */
static void kb64(sw_jw *w, const char *key, const void *data, size_t len)
{
	sw_buf b = SW_BUF_INIT(4u << 20);

	sw_b64_encode(&b, data, len);
	sw_jw_key(w, key);
	sw_jw_strn(w, b.data ? b.data : "", b.len);
	sw_buf_release(&b);
}

/* The bundle: the statement's envelope signed with the key, its hint. */
static int make_bundle(EVP_PKEY *key, const sw_buf *st, sw_buf *out, sw_error *err)
{
	sw_buf pae = SW_BUF_INIT(2u << 20);
	sw_jw bw = SW_JW_INIT(out);
	unsigned char *spki = NULL;
	uint8_t hint[32];
	char *sig = NULL;
	int spkilen, rc = 0;

	sw_buf_printf(&pae, "DSSEv1 %zu %s %zu ", strlen(PAYLOAD_TYPE), PAYLOAD_TYPE, st->len);
	sw_buf_append(&pae, st->data, st->len);
	if ((spkilen = i2d_PUBKEY(key, &spki)) <= 0 || sw_buf_err(&pae) || !(sig = sw_sig__sign_b64(key, &pae))) {
		rc = sw_error_set(err, SW_ERROR, "signing failed (is the key an ECDSA/RSA/Ed25519 private key?)");
		goto out;
	}
	sw_sha256_buf(spki, (size_t)spkilen, hint);
	sw_jw_obj(&bw);
	sw_jw_kstr(&bw, "mediaType", MT_BUNDLE);
	sw_jw_kobj(&bw, "verificationMaterial");
	sw_jw_kobj(&bw, "publicKey");
	kb64(&bw, "hint", hint, sizeof(hint));
	sw_jw_end(&bw);
	sw_jw_karr(&bw, "tlogEntries");
	sw_jw_end(&bw);
	sw_jw_end(&bw);
	sw_jw_kobj(&bw, "dsseEnvelope");
	kb64(&bw, "payload", st->data, st->len);
	sw_jw_kstr(&bw, "payloadType", PAYLOAD_TYPE);
	sw_jw_karr(&bw, "signatures");
	sw_jw_obj(&bw);
	sw_jw_kstr(&bw, "sig", sig);
	sw_jw_end(&bw);
	sw_jw_end(&bw);
	sw_jw_end(&bw);
	sw_jw_end(&bw);
	rc = sw_jw_done(&bw);
out:
	if (rc < 0 && err && !err->code)
		sw_error_set(err, rc, "writing the bundle: %s", sw_code_name(rc));
	OPENSSL_free(spki);
	free(sig);
	sw_buf_release(&pae);
	return rc;
}

/* The annotations cosign v3 gives a bundle's referrer (and its entry in
 * the fallback index). */
static void bundle_annotations(sw_jw *w, const char *predicate, const char *created)
{
	sw_jw_kobj(w, "annotations");
	sw_jw_kstr(w, "dev.sigstore.bundle.content", "dsse-envelope");
	sw_jw_kstr(w, ANN_PREDICATE, predicate);
	if (created)
		sw_jw_kstr(w, "org.opencontainers.image.created", created);
	sw_jw_end(w);
}

/* The referrer manifest for a stored bundle blob. */
static int make_manifest(sw_sigimage *si, const char *bdig, size_t blen, const char *edig, const char *predicate,
			 sw_buf *out)
{
	sw_jw w = SW_JW_INIT(out);
	char now[32];
	const char *sde = getenv("SOURCE_DATE_EPOCH"); /* reproducible builds (make image) */
	time_t t = sde && *sde && strspn(sde, "0123456789") == strlen(sde) ? (time_t)strtoll(sde, NULL, 10) : time(NULL);
	struct tm tm;

	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	sw_jw_obj(&w);
	sw_jw_kint(&w, "schemaVersion", 2);
	sw_jw_kstr(&w, "mediaType", MT_OCI_MANIFEST);
	sw_jw_kstr(&w, "artifactType", MT_BUNDLE);
	sw_jw_key(&w, "config");
	descriptor(&w, MT_EMPTY, edig, 2);
	sw_jw_karr(&w, "layers");
	descriptor(&w, MT_BUNDLE, bdig, blen);
	sw_jw_end(&w);
	sw_jw_key(&w, "subject");
	descriptor(&w, si->media_type ? si->media_type : MT_OCI_MANIFEST, si->digest, si->manifest_len);
	bundle_annotations(&w, predicate, now);
	sw_jw_end(&w);
	return sw_jw_done(&w);
}

/* The fallback index under sha256-<hex>: what it held, and the new one. */
static int update_index(sw_sigimage *si, const char *mdig, size_t mlen, const char *predicate, sw_error *err)
{
	sw_buf out = SW_BUF_INIT(MAX_INDEX);
	sw_jw w = SW_JW_INIT(&out);
	sw_json_doc *old = NULL;
	const sw_json *m;
	char tag[80], *body = NULL;
	size_t len = 0, kept = 0;
	int rc;

	snprintf(tag, sizeof(tag), "sha256-%s", si->digest + 7);
	rc = sw_sigstore_tagged(si, tag, MAX_INDEX, &body, &len, err);
	if (rc < 0 && rc != SW_ENOTFOUND)
		goto out;
	if (rc == 0 && sw_json_parse(body, len, &old, NULL) < 0)
		old = NULL; /* not an index we can keep: replaced */
	sw_jw_obj(&w);
	sw_jw_kint(&w, "schemaVersion", 2);
	sw_jw_kstr(&w, "mediaType", MT_OCI_INDEX);
	sw_jw_karr(&w, "manifests");
	m = old && sw_json_get_arr(sw_json_root(old), "manifests") ? sw_json_get_arr(sw_json_root(old), "manifests")->child
								   : NULL;
	for (; m && kept < MAX_REFERRERS - 1; m = m->next) {
		if (!sw_json_get_str(m, "digest") || strcmp(sw_json_get_str(m, "digest"), mdig) == 0 ||
		    !sw_json_get_str(m, "mediaType"))
			continue;
		sw_sigstore_write_desc(&w, m);
		kept++;
	}
	sw_jw_obj(&w);
	sw_jw_kstr(&w, "mediaType", MT_OCI_MANIFEST);
	sw_jw_kstr(&w, "digest", mdig);
	sw_jw_kuint(&w, "size", mlen);
	sw_jw_kstr(&w, "artifactType", MT_BUNDLE);
	bundle_annotations(&w, predicate, NULL);
	sw_jw_end(&w);
	sw_jw_end(&w);
	sw_jw_end(&w);
	if ((rc = sw_jw_done(&w)) < 0) {
		rc = sw_error_set(err, rc, "writing the referrers index: %s", sw_code_name(rc));
		goto out;
	}
	rc = sw_sigstore_put_tagged(si, tag, MT_OCI_INDEX, out.data, out.len, err);
out:
	free(body);
	sw_json_free(old);
	sw_buf_release(&out);
	return rc;
}

int sw_sig__put_bundle(sw_sigimage *si, EVP_PKEY *key, const sw_buf *statement, const char *predicate,
		       sw_error *err)
{
	sw_buf bundle = SW_BUF_INIT(4u << 20), man = SW_BUF_INIT(1u << 20);
	char bdig[SW_DIGEST_STRLEN], edig[SW_DIGEST_STRLEN], mdig[SW_DIGEST_STRLEN];
	int rc;

	if ((rc = make_bundle(key, statement, &bundle, err)) < 0)
		goto out;
	if ((rc = sw_sigstore_put_blob(si, bundle.data, bundle.len, bdig, err)) < 0 ||
	    (rc = sw_sigstore_put_blob(si, "{}", 2, edig, err)) < 0)
		goto out;
	if ((rc = make_manifest(si, bdig, bundle.len, edig, predicate, &man)) < 0) {
		rc = sw_error_set(err, rc, "writing the referrer manifest: %s", sw_code_name(rc));
		goto out;
	}
	if ((rc = sw_sigstore_put_untagged(si, MT_OCI_MANIFEST, man.data, man.len, mdig, err)) < 0)
		goto out;
	rc = update_index(si, mdig, man.len, predicate, err);
out:
	sw_buf_release(&bundle);
	sw_buf_release(&man);
	return rc;
}

int sw_sig__sign_bundle(sw_sigimage *si, EVP_PKEY *key, const sw_ref *identity, bool with_tag, sw_error *err)
{
	sw_buf st = SW_BUF_INIT(1u << 20);
	sw_jw w = SW_JW_INIT(&st);
	char name[1024];
	int rc;

	sw_sig__signed_name(identity, with_tag, name, sizeof(name));
	sw_sig__statement_head(&w, name, si->digest + 7, PRED_SIGN);
	sw_jw_kobj(&w, "predicate");
	sw_jw_end(&w);
	sw_jw_end(&w);
	if ((rc = sw_jw_done(&w)) < 0)
		rc = sw_error_set(err, rc, "writing the statement: %s", sw_code_name(rc));
	else
		rc = sw_sig__put_bundle(si, key, &st, PRED_SIGN, err);
	sw_buf_release(&st);
	return rc;
}

int sw_sign_image_bundle(const char *refstr, const sw_image_opts *o, const sw_privkey *key, const char *identity,
			 char *digest_out, size_t digest_n, sw_error *err)
{
	sw_sigimage si;
	sw_ref idref;
	int rc;

	if (!key)
		return sw_error_set(err, SW_EINVAL, "no key");
	if (identity && sw_ref_parse(identity, &idref, err) < 0)
		return sw_error_prefix(err, "identity \"%s\"", identity);
	if (identity && idref.digest[0])
		return sw_error_set(err, SW_EINVAL, "identity \"%s\": a name (and tag), not a digest", identity);
	if ((rc = sw_sigimage_open(refstr, o, "sig", &si, err)) < 0)
		return rc;
	snprintf(digest_out, digest_n, "%s", si.digest);
	if (!si.ref.path[0] && !identity)
		rc = sw_error_set(err, SW_EINVAL,
				  "%s: the layout does not name its image (io.containerd.image.name): give the identity to "
				  "sign with --name REF", refstr);
	else
		rc = sw_sig__sign_bundle(&si, key->pkey, identity ? &idref : &si.ref, identity != NULL, err);
	sw_sigimage_close(&si);
	return rc;
}
