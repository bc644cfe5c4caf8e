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
 * Reading: the index's bundle entries (at most 64; one whose annotation
 * names another predicate type than cosign's signature is an attestation
 * and is skipped unread) are fetched by digest (manifests 4 MiB, bundles 4
 * MiB), and count only when the subject is this image and the bundle
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

/* The bundle a referrer manifest holds (malloc'd), or why not. */
static const char *referrer_bundle(sw_sigimage *si, const char *mdigest, int64_t msize, char **bundle, size_t *blen,
				   sw_error *err)
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

static void judge(sw_sigimage *si, const sw_sig_check *c, const sw_trustroot *tr, const char *named,
		  const char *bundle, size_t blen, sw_sig_result *res)
{
	sw_bundle_want want = SW_BUNDLE_WANT_INIT;
	sw_bundle_info info;
	sw_error err = SW_ERROR_INIT;
	int rc;

	res->key = -1;
	snprintf(res->digest, sizeof(res->digest), "%s", si->digest);
	if (c->keyless)
		want = *c->keyless;
	want.keys = c->keys;
	want.no_tlog = c->keys && !c->rekor_keys;
	rc = sw_bundle_verify(tr, bundle, blen, si->digest, &want, &info, &err);
	if (rc < 0 && c->keyless && c->keys && c->keys->n) {
		/* keyed failed: a keyless bundle is judged without the keys */
		sw_bundle_want kl = *c->keyless;
		sw_error e2 = SW_ERROR_INIT;
		if (strstr(err.msg, "signed with a certificate") && (rc = sw_bundle_verify(tr, bundle, blen, si->digest, &kl,
											     &info, &e2)) < 0)
			err = e2;
	}
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

int sw_sig__each_bundle(sw_sigimage *si, const char *predicate, sw_sig_bundle_fn fn, void *ctx, sw_error *err)
{
	sw_json_doc *idx = NULL;
	const sw_json *m, *ms;
	size_t seen = 0;
	int rc;

	if ((rc = referrers(si, &idx, err)) < 0 || !idx)
		return rc;
	ms = sw_json_get_arr(sw_json_root(idx), "manifests");
	for (m = ms ? ms->child : NULL; m && seen < MAX_REFERRERS && rc == 0; m = m->next, seen++) {
		const char *dg = sw_json_get_str(m, "digest"), *at = sw_json_get_str(m, "artifactType"), *why;
		const char *pt = sw_json_get_str(sw_json_get_obj(m, "annotations"), "dev.sigstore.bundle.predicateType");
		sw_error berr = SW_ERROR_INIT;
		char *bundle = NULL;
		size_t blen = 0;
		int64_t sz = -1;
		if (!dg || (at && strncmp(at, MT_BUNDLE_PREFIX, strlen(MT_BUNDLE_PREFIX)) != 0) ||
		    (pt && strcmp(pt, predicate) != 0))
			continue;
		sw_json_get_i64(m, "size", &sz);
		why = referrer_bundle(si, dg, sz, &bundle, &blen, &berr);
		if (!why || why[0])
			rc = fn(ctx, dg, bundle, blen, why);
		free(bundle);
	}
	sw_json_free(idx);
	return rc;
}

static int count_one(void *ctx, const char *dg, const char *bundle, size_t blen, const char *why)
{
	(void)dg;
	(void)bundle;
	(void)blen;
	(void)why;
	(*(int *)ctx)++;
	return 0;
}

int sw_sig__count_bundles(sw_sigimage *si, bool attestations, int *n, sw_error *err)
{
	return sw_sig__each_bundle(si, attestations ? SW_ATTEST_PREDICATE : PRED_SIGN, count_one, n, err);
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

static int verify_one(void *ctx, const char *dg, const char *bundle, size_t blen, const char *why)
{
	verify_ctx *v = ctx;
	sw_sig_result *res = sw_sig__one_more(v->results, v->n, sizeof(**v->results));

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
	rc = sw_sig__each_bundle(si, PRED_SIGN, verify_one, &v, err);
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

/* The bundle: statement, envelope, the key's hint. */
static int make_bundle(sw_sigimage *si, EVP_PKEY *key, const char *name, sw_buf *out, sw_error *err)
{
	sw_buf st = SW_BUF_INIT(1u << 20), pae = SW_BUF_INIT(2u << 20);
	sw_jw sw = SW_JW_INIT(&st), bw = SW_JW_INIT(out);
	unsigned char *spki = NULL;
	uint8_t hint[32];
	char *sig = NULL;
	int spkilen, rc = 0;

	sw_jw_obj(&sw);
	sw_jw_kstr(&sw, "_type", "https://in-toto.io/Statement/v1");
	sw_jw_karr(&sw, "subject");
	sw_jw_obj(&sw);
	sw_jw_kstr(&sw, "name", name);
	sw_jw_kobj(&sw, "digest");
	sw_jw_kstr(&sw, "sha256", si->digest + 7);
	sw_jw_end(&sw);
	sw_jw_end(&sw);
	sw_jw_end(&sw);
	sw_jw_kstr(&sw, "predicateType", PRED_SIGN);
	sw_jw_kobj(&sw, "predicate");
	sw_jw_end(&sw);
	sw_jw_end(&sw);
	if ((rc = sw_jw_done(&sw)) < 0)
		goto out;
	sw_buf_printf(&pae, "DSSEv1 %zu %s %zu ", strlen("application/vnd.in-toto+json"), "application/vnd.in-toto+json",
		      st.len);
	sw_buf_append(&pae, st.data, st.len);
	if ((spkilen = i2d_PUBKEY(key, &spki)) <= 0 || sw_buf_err(&pae) || !(sig = sw_sig__sign_b64(key, &pae))) {
		rc = sw_error_set(err, SW_ERROR, "signing failed (is the key an ECDSA/RSA/Ed25519 private key?)");
		goto out;
	}
	sw_sha256_buf(spki, (size_t)spkilen, hint);
	sw_jw_obj(&bw);
	sw_jw_kstr(&bw, "mediaType", MT_BUNDLE);
	sw_jw_kobj(&bw, "verificationMaterial");
	sw_jw_kobj(&bw, "publicKey");
	sw_jw_key(&bw, "hint");
	{
		sw_buf h = SW_BUF_INIT(128);
		sw_b64_encode(&h, hint, sizeof(hint));
		sw_jw_strn(&bw, h.data ? h.data : "", h.len);
		sw_buf_release(&h);
	}
	sw_jw_end(&bw);
	sw_jw_karr(&bw, "tlogEntries");
	sw_jw_end(&bw);
	sw_jw_end(&bw);
	sw_jw_kobj(&bw, "dsseEnvelope");
	sw_jw_key(&bw, "payload");
	{
		sw_buf p = SW_BUF_INIT(2u << 20);
		sw_b64_encode(&p, st.data, st.len);
		sw_jw_strn(&bw, p.data ? p.data : "", p.len);
		sw_buf_release(&p);
	}
	sw_jw_kstr(&bw, "payloadType", "application/vnd.in-toto+json");
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
	sw_buf_release(&st);
	sw_buf_release(&pae);
	return rc;
}

/* The referrer manifest for a stored bundle blob. */
static int make_manifest(sw_sigimage *si, const char *bdig, size_t blen, const char *edig, sw_buf *out)
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
	sw_jw_kobj(&w, "annotations");
	sw_jw_kstr(&w, "dev.sigstore.bundle.content", "dsse-envelope");
	sw_jw_kstr(&w, "dev.sigstore.bundle.predicateType", PRED_SIGN);
	sw_jw_kstr(&w, "org.opencontainers.image.created", now);
	sw_jw_end(&w);
	sw_jw_end(&w);
	return sw_jw_done(&w);
}

/* The fallback index under sha256-<hex>: what it held, and the new one. */
static int update_index(sw_sigimage *si, const char *mdig, size_t mlen, sw_error *err)
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
	sw_jw_kobj(&w, "annotations");
	sw_jw_kstr(&w, "dev.sigstore.bundle.content", "dsse-envelope");
	sw_jw_kstr(&w, "dev.sigstore.bundle.predicateType", PRED_SIGN);
	sw_jw_end(&w);
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

int sw_sig__sign_bundle(sw_sigimage *si, EVP_PKEY *key, const sw_ref *identity, bool with_tag, sw_error *err)
{
	sw_buf bundle = SW_BUF_INIT(4u << 20), man = SW_BUF_INIT(1u << 20);
	char name[1024], bdig[SW_DIGEST_STRLEN], edig[SW_DIGEST_STRLEN], mdig[SW_DIGEST_STRLEN];
	int rc;

	sw_sig__signed_name(identity, with_tag, name, sizeof(name));
	if ((rc = make_bundle(si, key, name, &bundle, err)) < 0)
		goto out;
	if ((rc = sw_sigstore_put_blob(si, bundle.data, bundle.len, bdig, err)) < 0 ||
	    (rc = sw_sigstore_put_blob(si, "{}", 2, edig, err)) < 0)
		goto out;
	if ((rc = make_manifest(si, bdig, bundle.len, edig, &man)) < 0) {
		rc = sw_error_set(err, rc, "writing the referrer manifest: %s", sw_code_name(rc));
		goto out;
	}
	if ((rc = sw_sigstore_put_untagged(si, MT_OCI_MANIFEST, man.data, man.len, mdig, err)) < 0)
		goto out;
	rc = update_index(si, mdig, man.len, err);
out:
	sw_buf_release(&bundle);
	sw_buf_release(&man);
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
