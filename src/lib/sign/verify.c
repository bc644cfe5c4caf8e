/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verifying cosign's keyed signatures (FORMATS.md §6.1-6.4).
 *
 * A signature is a layer of the sha256-<hex>.sig manifest in the image's
 * repository: the layer blob is the payload (simple-signing JSON), the
 * annotation dev.cosignproject.cosign/signature is base64 of a DER ECDSA
 * signature over SHA-256(payload). It counts for an image when a trusted
 * key verifies it and the payload's critical.image.docker-manifest-digest
 * is that image's digest. The payload is read strictly, as containers/image
 * reads it: the top level is exactly {critical, optional}, critical exactly
 * {type, image, identity}, type "cosign container image signature". The
 * signed identity is held against the reference by the rule asked for
 * (sw_identity_match: containers-policy.json's signedIdentity, with
 * containers/image's meaning). A Rekor bundle annotation is reported, and
 * required only when the caller gives Rekor's keys (rekor.c checks it,
 * offline).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "stowaway/reference.h"
#include "stowaway/sign.h"
#include "sigstore.h"
#include "../image/image_int.h"
#include "../registry/registry.h"
#include "../util/util.h"
#include "../util/banned.h"

#define MAX_SIG_MANIFEST (4u << 20)
#define MAX_PAYLOAD (1u << 20)
#define MAX_SIGS 256
#define MT_SIMPLESIGNING "application/vnd.dev.cosign.simplesigning.v1+json"
#define ANN_SIG "dev.cosignproject.cosign/signature"
#define ANN_BUNDLE "dev.sigstore.cosign/bundle"
#define ANN_CERT "dev.sigstore.cosign/certificate"

int sw_pubkeys_load(sw_pubkeys **out, const char *const *paths, size_t n, sw_error *err)
{
	sw_pubkeys *k;
	size_t i;

	*out = NULL;
	if (n > SW_SIG_MAX_KEYS)
		return sw_error_set(err, SW_ELIMIT, "at most %d keys", SW_SIG_MAX_KEYS);
	if (!(k = calloc(1, sizeof(*k))))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		sw_buf b = SW_BUF_INIT(1u << 20);
		BIO *bio = NULL;
		const char *what = paths[i];
		if (strncmp(paths[i], "data:", 5) == 0) {
			uint8_t *pem = NULL;
			size_t len = 0;
			what = "keyData";
			if (sw_b64_decode(paths[i] + 5, strlen(paths[i] + 5), &pem, &len) == 0)
				sw_buf_append(&b, pem, len);
			free(pem);
			bio = b.len ? BIO_new_mem_buf(b.data, (int)b.len) : NULL;
		} else if (sw_file_read(paths[i], &b) == 0) {
			bio = BIO_new_mem_buf(b.data, (int)b.len);
		} else {
			sw_buf_release(&b);
			sw_pubkeys_free(k);
			return sw_error_set(err, SW_ENOTFOUND, "key %s: cannot read it", paths[i]);
		}
		if (!bio || !(k->k[k->n] = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL))) {
			BIO_free(bio);
			sw_buf_release(&b);
			sw_pubkeys_free(k);
			return sw_error_set(err, SW_EFORMAT, "key %s: not a PEM PUBLIC KEY", what);
		}
		k->n++;
		BIO_free(bio);
		sw_buf_release(&b);
	}
	*out = k;
	return 0;
}

void sw_pubkeys_free(sw_pubkeys *k)
{
	size_t i;

	if (!k)
		return;
	for (i = 0; i < k->n; i++)
		EVP_PKEY_free(k->k[i]);
	free(k);
}

bool sw_sig__only_keys(const sw_json *obj, const char *const *keys, const char *may_lack)
{
	const sw_json *c;
	size_t i;

	if (!obj || obj->type != SW_JSON_OBJ)
		return false;
	for (i = 0; keys[i]; i++)
		if (!sw_json_get(obj, keys[i]) && (!may_lack || strcmp(keys[i], may_lack) != 0))
			return false;
	for (c = obj->child; c; c = c->next) {
		for (i = 0; keys[i]; i++)
			if (strcmp(c->key, keys[i]) == 0)
				break;
		if (!keys[i])
			return false;
	}
	return true;
}

/* ---- signed identities (containers/image's signature/policy_reference_match.go) ---- */

static bool ref_parse(const char *s, sw_ref *r)
{
	return s && sw_ref_parse(s, r, NULL) == 0;
}

static bool name_only(const sw_ref *r)
{
	return !r->tag[0] && !r->digest[0];
}

static bool same_form(const sw_ref *a, const sw_ref *b, sw_ref_form f)
{
	char x[800], y[800];

	return sw_ref_format(a, f, x, sizeof(x)) == 0 && sw_ref_format(b, f, y, sizeof(y)) == 0 && strcmp(x, y) == 0;
}

/* matchRepoDigestOrExact on parsed values: a repository-only signature
 * never matches; a tagged reference needs the same reference, a digest
 * reference the same repository (the digest itself is checked against
 * the manifest). */
static bool repo_digest_or_exact(const sw_ref *intended, const sw_ref *sig)
{
	if (name_only(sig))
		return false;
	if (intended->tag[0])
		return same_form(intended, sig, SW_REF_FULL);
	if (intended->digest[0])
		return same_form(intended, sig, SW_REF_NAME);
	return false;
}

/* remapIdentity: a reference whose name is prefix, or under prefix at a
 * '/', is written again with signed_prefix in its place; the result must
 * be a name in canonical form. */
static bool remap(const sw_identity *id, const sw_ref *in, sw_ref *out)
{
	char name[600], full[800], re[1200];
	size_t pl = strlen(id->value);

	if (sw_ref_format(in, SW_REF_NAME, name, sizeof(name)) < 0 || sw_ref_format(in, SW_REF_FULL, full, sizeof(full)) < 0)
		return false;
	if (strncmp(name, id->value, pl) != 0 || (name[pl] != '\0' && name[pl] != '/')) {
		*out = *in;
		return true;
	}
	snprintf(re, sizeof(re), "%s%s", id->signed_prefix, full + pl);
	return ref_parse(re, out) && sw_ref_format(out, SW_REF_FULL, full, sizeof(full)) == 0 && strcmp(full, re) == 0;
}

bool sw_identity_match(const sw_identity *id, const char *reference, const char *signed_ref)
{
	sw_ref in, sig, v;

	if (!id || id->rule == SW_IDENTITY_ANY)
		return true;
	if (!ref_parse(signed_ref, &sig))
		return false;
	switch (id->rule) {
	case SW_IDENTITY_EXACT_REFERENCE:
		return ref_parse(id->value, &v) && !name_only(&v) && !name_only(&sig) && same_form(&v, &sig, SW_REF_FULL);
	case SW_IDENTITY_EXACT_REPOSITORY:
		return ref_parse(id->value, &v) && same_form(&v, &sig, SW_REF_NAME);
	default:
		break;
	}
	if (!ref_parse(reference, &in))
		return false;
	switch (id->rule) {
	case SW_IDENTITY_REPOSITORY:
		return same_form(&in, &sig, SW_REF_NAME);
	case SW_IDENTITY_EXACT:
		return !name_only(&in) && !name_only(&sig) && same_form(&in, &sig, SW_REF_FULL);
	case SW_IDENTITY_REPO_DIGEST_OR_EXACT:
		return repo_digest_or_exact(&in, &sig);
	case SW_IDENTITY_REMAP:
		return id->value && id->signed_prefix && remap(id, &in, &v) && repo_digest_or_exact(&v, &sig);
	default:
		return false;
	}
}

static int keys_verify(const sw_pubkeys *keys, const uint8_t *sig, size_t siglen, const void *data, size_t len)
{
	size_t i;
	int found = -1;

	for (i = 0; keys && i < keys->n && found < 0; i++) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		if (md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, keys->k[i]) == 1 &&
		    EVP_DigestVerify(md, sig, siglen, data, len) == 1)
			found = (int)i;
		EVP_MD_CTX_free(md);
	}
	return found;
}

int sw_sig__key_verifies(const sw_pubkeys *keys, const void *data, size_t len, const char *sig_b64)
{
	uint8_t *sig = NULL;
	size_t siglen = 0;
	int k;

	if (!sig_b64 || sw_b64_decode(sig_b64, strlen(sig_b64), &sig, &siglen) < 0 || !siglen) {
		free(sig);
		return -1;
	}
	k = keys_verify(keys, sig, siglen, data, len);
	free(sig);
	return k;
}

void sw_sig_verify(const sw_pubkeys *keys, const char *payload, size_t plen, const char *sig_b64,
		   const char *image_digest, const char *reference, const sw_identity *rule, sw_sig_result *out)
{
	static const char *const top[] = { "critical", "optional", NULL };
	static const char *const crit[] = { "type", "image", "identity", NULL };
	static const char *const img[] = { "docker-manifest-digest", NULL };
	static const char *const ident[] = { "docker-reference", NULL };
	uint8_t *sig = NULL;
	size_t siglen = 0;
	sw_json_doc *doc = NULL;
	const sw_json *root, *c;
	const char *type, *dg, *id;

	memset(out, 0, sizeof(*out));
	out->key = -1;
	out->status = SW_SIG_BAD_SIGNATURE;
	if (!sig_b64 || sw_b64_decode(sig_b64, strlen(sig_b64), &sig, &siglen) < 0 || siglen == 0) {
		out->status = SW_SIG_MALFORMED;
		snprintf(out->reason, sizeof(out->reason), "the signature annotation is not base64");
		goto done;
	}
	out->key = keys_verify(keys, sig, siglen, payload, plen);
	if (out->key < 0) {
		snprintf(out->reason, sizeof(out->reason), "no trusted key verifies the signature over the payload");
		goto done;
	}
	/* signed by us: now the claims */
	out->status = SW_SIG_MALFORMED;
	if (sw_json_parse(payload, plen, &doc, NULL) < 0 || !sw_sig__only_keys(root = sw_json_root(doc), top, "optional") ||
	    !sw_sig__only_keys(c = sw_json_get_obj(root, "critical"), crit, NULL) ||
	    !sw_sig__only_keys(sw_json_get_obj(c, "image"), img, NULL) ||
	    !sw_sig__only_keys(sw_json_get_obj(c, "identity"), ident, NULL) || !(type = sw_json_get_str(c, "type")) ||
	    strcmp(type, "cosign container image signature") != 0 ||
	    !(dg = sw_json_get_str(sw_json_get_obj(c, "image"), "docker-manifest-digest")) ||
	    !(id = sw_json_get_str(sw_json_get_obj(c, "identity"), "docker-reference"))) {
		snprintf(out->reason, sizeof(out->reason),
			 "the payload is not a cosign simple-signing document (critical.type/image/identity)");
		goto done;
	}
	snprintf(out->identity, sizeof(out->identity), "%s", id);
	snprintf(out->digest, sizeof(out->digest), "%s", dg);
	if (!image_digest || strcmp(dg, image_digest) != 0) {
		out->status = SW_SIG_WRONG_DIGEST;
		snprintf(out->reason, sizeof(out->reason), "signed for manifest %.80s, not for this image's %.80s", dg,
			 image_digest ? image_digest : "(unknown)");
		goto done;
	}
	if (!sw_identity_match(rule, reference, id)) {
		out->status = SW_SIG_WRONG_IDENTITY;
		snprintf(out->reason, sizeof(out->reason), "signed as %.150s, which the identity rule does not accept for %.80s",
			 id, reference ? reference : "an image without a name");
		goto done;
	}
	out->status = SW_SIG_VALID;
	snprintf(out->reason, sizeof(out->reason), "valid: key %d, identity %.200s", out->key + 1, id);
done:
	sw_json_free(doc);
	free(sig);
}

int sw_sigimage_open(const char *refstr, const sw_image_opts *o, const char *suffix, sw_sigimage *si,
		     sw_error *err)
{
	static const sw_image_opts defo = SW_IMAGE_OPTS_INIT;
	char *body = NULL, *sbody = NULL, *smt = NULL, *sdg = NULL;
	size_t len, slen;
	int rc;

	memset(si, 0, sizeof(*si));
	if (!o)
		o = &defo;
	if (strncmp(refstr, "oci:", 4) == 0) {
		if ((rc = sw_sigimage__open_layout(refstr, o, suffix, si, err)) < 0)
			sw_sigimage_close(si);
		return rc;
	}
	if ((rc = sw_ref_parse(refstr, &si->ref, err)) < 0)
		return rc;
	sw_ref_format(&si->ref, SW_REF_FULL, si->full, sizeof(si->full));
	if ((rc = sw_reg_open(&si->reg, si->ref.domain, si->ref.path, o->registry, err)) < 0)
		return rc;
	/* the digest signed is the one the reference resolves to (an index for
	 * a multi-platform tag, as cosign signs it) */
	if ((rc = sw_reg_manifest(si->reg, si->ref.digest[0] ? si->ref.digest : si->ref.tag[0] ? si->ref.tag : "latest",
				  o->max_manifest, &body, &len, &si->media_type, &si->digest, err)) < 0)
		goto out;
	si->manifest_len = len;
	snprintf(si->tag, sizeof(si->tag), "sha256-%s.%s", si->digest + 7, suffix);
	rc = sw_reg_manifest(si->reg, si->tag, MAX_SIG_MANIFEST, &sbody, &slen, &smt, &sdg, err);
	if (rc == SW_ENOTFOUND) {
		rc = 0; /* unsigned */
		goto out;
	}
	if (rc < 0)
		goto out;
	if ((rc = sw_json_parse(sbody, slen, &si->doc, err)) < 0 ||
	    !(si->layers = sw_json_get_arr(sw_json_root(si->doc), "layers")))
		rc = rc < 0 ? sw_error_prefix(err, "%s: signature manifest %s", si->full, si->tag)
			    : sw_error_set(err, SW_EFORMAT, "%s: signature manifest %s has no layers", si->full, si->tag);
	else if (si->layers->n > MAX_SIGS)
		rc = sw_error_set(err, SW_ELIMIT, "%s: more than %d signatures", si->full, MAX_SIGS);
out:
	free(body);
	free(sbody);
	free(smt);
	free(sdg);
	if (rc < 0)
		sw_sigimage_close(si);
	return rc;
}

void sw_sigimage_close(sw_sigimage *si)
{
	sw_json_free(si->doc);
	free(si->digest);
	free(si->media_type);
	sw_image_free(si->img);
	free(si->dir);
	sw_reg_free(si->reg);
	memset(si, 0, sizeof(*si));
}

int sw_verify_image(const char *refstr, const sw_image_opts *o, const sw_sig_check *c, char *digest_out,
		    size_t digest_n, sw_sig_result **results, size_t *nresults, sw_error *err)
{
	sw_sigimage si;
	const sw_json *l;
	char named[800];
	size_t i = 0;
	int rc, valid = 0;

	*results = NULL;
	*nresults = 0;
	if ((rc = sw_sigimage_open(refstr, o, "sig", &si, err)) < 0)
		return rc;
	snprintf(digest_out, digest_n, "%s", si.digest);
	/* the identity is judged against the reference as named, ":latest"
	 * when it has neither tag nor digest (containers/image's reading) */
	if (!si.ref.domain[0] || sw_ref_format(&si.ref, SW_REF_DEFAULT, named, sizeof(named)) < 0)
		named[0] = '\0';
	if (!si.layers)
		goto bundles; /* no legacy signature */
	if (si.layers->n && !(*results = calloc(si.layers->n, sizeof(**results)))) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	for (l = si.layers->child; l; l = l->next) {
		sw_sig_result *res = &(*results)[i++];
		const sw_json *ann = sw_json_get_obj(l, "annotations");
		const char *ld = sw_json_get_str(l, "digest"), *lmt = sw_json_get_str(l, "mediaType");
		int64_t lsz = -1;
		char *payload = NULL;
		size_t plen;
		sw_error berr = SW_ERROR_INIT;
		(*nresults)++;
		sw_json_get_i64(l, "size", &lsz);
		if (!lmt || strcmp(lmt, MT_SIMPLESIGNING) != 0 || !ld) {
			res->status = SW_SIG_MALFORMED;
			res->key = -1;
			snprintf(res->reason, sizeof(res->reason), "layer is not a simple-signing payload (%.80s)",
				 lmt ? lmt : "no media type");
			continue;
		}
		/* the payload blob is checked against the layer digest and size */
		if (sw_sigstore_blob(&si, ld, lsz, MAX_PAYLOAD, &payload, &plen, &berr) < 0) {
			res->status = SW_SIG_MALFORMED;
			res->key = -1;
			snprintf(res->reason, sizeof(res->reason), "payload blob: %.250s", berr.msg);
			continue;
		}
		if (c->fulcio_ca && sw_json_get_str(ann, ANN_CERT)) {
			/* keyless, legacy format: the certificate's key, once fulcio.c
			 * accepted it, then the payload's claims as for a key */
			EVP_PKEY *ck = NULL;
			if (sw_sig__fulcio_verify(c, ann, payload, plen, &ck, &berr) < 0) {
				res->status = SW_SIG_BAD_SIGNATURE;
				res->key = -1;
				snprintf(res->reason, sizeof(res->reason), "keyless: %.280s", berr.msg);
			} else {
				sw_pubkeys one = { { ck }, 1 };
				sw_sig_verify(&one, payload, plen, sw_json_get_str(ann, ANN_SIG), si.digest,
					      named[0] ? named : NULL, c->identity, res);
				res->key = -1;
				if (res->status == SW_SIG_VALID)
					snprintf(res->reason, sizeof(res->reason), "valid: keyless, %.150s (%.120s)",
						 c->fulcio_email, c->fulcio_issuer);
			}
			res->rekor_bundle = sw_json_get_str(ann, ANN_BUNDLE) != NULL;
			EVP_PKEY_free(ck);
			if (res->status == SW_SIG_VALID)
				valid++;
			free(payload);
			continue;
		}
		sw_sig_verify(c->keys, payload, plen, sw_json_get_str(ann, ANN_SIG), si.digest, named[0] ? named : NULL,
			      c->identity, res);
		res->rekor_bundle = sw_json_get_str(ann, ANN_BUNDLE) != NULL;
		if (res->status == SW_SIG_VALID && c->rekor_keys &&
		    sw_rekor_set_verify(c->rekor_keys, sw_json_get_str(ann, ANN_BUNDLE), c->keys, res->key,
					sw_json_get_str(ann, ANN_SIG), payload, plen, &berr) < 0) {
			res->status = SW_SIG_BAD_REKOR;
			snprintf(res->reason, sizeof(res->reason), "Rekor SET: %.280s", berr.msg);
		}
		if (res->status == SW_SIG_VALID)
			valid++;
		free(payload);
	}
bundles:
	/* cosign v3: Sigstore bundles referring to the image */
	if ((rc = sw_sig__verify_bundles(&si, c, named, results, nresults, err)) >= 0)
		rc += valid;
out:
	sw_sigimage_close(&si);
	if (rc < 0) {
		free(*results);
		*results = NULL;
		*nresults = 0;
	}
	return rc;
}
