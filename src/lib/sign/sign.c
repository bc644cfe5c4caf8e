/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signing a registry image the way cosign does (FORMATS.md §6.1-6.3):
 *
 *   payload  {"critical":{"identity":{"docker-reference":REPO},
 *             "image":{"docker-manifest-digest":DIGEST},
 *             "type":"cosign container image signature"},"optional":OPT}
 *            compact, in this key order (Go's json.Marshal of cosign's
 *            struct); REPO in go-containerregistry's spelling (Docker Hub
 *            is index.docker.io/library/NAME); OPT null, or the -a
 *            annotations as an object with sorted keys (a Go map).
 *   sig      ECDSA over SHA-256(payload), DER, base64 in the layer
 *            annotation dev.cosignproject.cosign/signature.
 *   storage  one layer per signature in the OCI manifest tagged
 *            sha256-<hex>.sig in the image's repository; existing
 *            signatures are kept and the new one appended.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "stowaway/reference.h"
#include "stowaway/sign.h"
#include "keys.h"
#include "sigstore.h"
#include "../registry/registry.h"
#include "../util/util.h"
#include "../util/banned.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_SIMPLESIGNING "application/vnd.dev.cosign.simplesigning.v1+json"
#define MAX_SIG_MANIFEST (4u << 20)

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void sw_sig__signed_name(const sw_ref *ref, bool with_tag, char *out, size_t n)
{
	/* go-containerregistry's spelling, as cosign writes it */
	snprintf(out, n, "%s/%s%s%s", strcmp(ref->domain, "docker.io") == 0 ? "index.docker.io" : ref->domain,
		 ref->path, with_tag && ref->tag[0] ? ":" : "", with_tag ? ref->tag : "");
}

static int payload(sw_buf *b, const sw_ref *ref, bool with_tag, const char *digest, const char *const *ann,
		   size_t nann)
{
	const char **sorted = NULL;
	sw_jw w = SW_JW_INIT(b);
	char id[1100];
	size_t i;
	int rc = 0;

	/* cosign's simple-signing payload, its members in cosign's order */
	sw_sig__signed_name(ref, with_tag, id, sizeof(id));
	sw_jw_obj(&w);
	sw_jw_kobj(&w, "critical");
	sw_jw_kobj(&w, "identity");
	sw_jw_kstr(&w, "docker-reference", id);
	sw_jw_end(&w);
	sw_jw_kobj(&w, "image");
	sw_jw_kstr(&w, "docker-manifest-digest", digest);
	sw_jw_end(&w);
	sw_jw_kstr(&w, "type", "cosign container image signature");
	sw_jw_end(&w);
	sw_jw_key(&w, "optional");
	if (!nann) {
		sw_jw_null(&w);
	} else if (!(sorted = malloc(nann * sizeof(*sorted)))) {
		return SW_ENOMEM;
	} else {
		memcpy(sorted, ann, nann * sizeof(*sorted));
		qsort(sorted, nann, sizeof(*sorted), cmp_str);
		sw_jw_obj(&w);
		for (i = 0; i < nann && rc == 0; i++) {
			const char *eq = strchr(sorted[i], '=');
			char *k = sw__strndup(sorted[i], (size_t)(eq - sorted[i]));
			if (!k)
				rc = SW_ENOMEM;
			else
				sw_jw_kstr(&w, k, eq + 1);
			free(k);
		}
		sw_jw_end(&w);
		free(sorted);
	}
	sw_jw_end(&w);
	return rc < 0 ? rc : sw_jw_done(&w);
}

char *sw_sig__sign_b64(EVP_PKEY *key, const sw_buf *payload_bytes)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *sig = NULL;
	size_t sl = 0;
	sw_buf b64 = SW_BUF_INIT(4096);
	char *out = NULL;

	if (md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(md, NULL, &sl, (const unsigned char *)payload_bytes->data, payload_bytes->len) == 1 &&
	    (sig = malloc(sl)) &&
	    EVP_DigestSign(md, sig, &sl, (const unsigned char *)payload_bytes->data, payload_bytes->len) == 1 &&
	    sw_b64_encode(&b64, sig, sl) == 0)
		out = sw_buf_detach(&b64, NULL);
	sw_buf_release(&b64);
	EVP_MD_CTX_free(md);
	free(sig);
	return out;
}

/* One layer descriptor, written back from the existing .sig manifest. */
void sw_sig__write_layer(sw_jw *w, const sw_json *l)
{
	const sw_json *ann = sw_json_get_obj(l, "annotations");
	int64_t size = 0;

	sw_json_get_i64(l, "size", &size);
	sw_jw_obj(w);
	sw_jw_kstr(w, "mediaType", sw_json_get_str(l, "mediaType") ? sw_json_get_str(l, "mediaType") : MT_SIMPLESIGNING);
	sw_jw_kint(w, "size", size);
	sw_jw_kstr(w, "digest", sw_json_get_str(l, "digest") ? sw_json_get_str(l, "digest") : "");
	sw_sig__write_annotations(w, ann);
	sw_jw_end(w);
}

void sw_sig__write_annotations(sw_jw *w, const sw_json *ann)
{
	const sw_json *a;

	if (!ann || !ann->n)
		return;
	sw_jw_kobj(w, "annotations");
	for (a = ann->child; a; a = a->next)
		if (a->type == SW_JSON_STR)
			sw_jw_kstr(w, a->key, a->s);
	sw_jw_end(w);
}

/* Upload a new layer blob and the manifest holding what was there plus it
 * (cosign's storage for .sig and .att tags). */
int sw_sig__append(sw_sigimage *si, const void *blob, size_t len, const char *media_type, const char *ann_key,
		   const char *ann_value, bool subject, sw_error *err)
{
	sw_buf man = SW_BUF_INIT(MAX_SIG_MANIFEST), cfg = SW_BUF_INIT(1u << 20);
	sw_jw mw = SW_JW_INIT(&man), cw = SW_JW_INIT(&cfg);
	char bdig[SW_DIGEST_STRLEN], cdig[SW_DIGEST_STRLEN];
	const sw_json *l;
	int rc;

	if ((rc = sw_sigstore_put_blob(si, blob, len, bdig, err)) < 0)
		goto out;
	/* go-containerregistry's config for such an image: diff_ids = the layers */
	sw_jw_obj(&cw);
	sw_jw_kstr(&cw, "architecture", "");
	sw_jw_kstr(&cw, "created", "0001-01-01T00:00:00Z");
	sw_jw_karr(&cw, "history");
	sw_jw_obj(&cw);
	sw_jw_kstr(&cw, "created", "0001-01-01T00:00:00Z");
	sw_jw_end(&cw);
	sw_jw_end(&cw);
	sw_jw_kstr(&cw, "os", "");
	sw_jw_kobj(&cw, "rootfs");
	sw_jw_kstr(&cw, "type", "layers");
	sw_jw_karr(&cw, "diff_ids");
	for (l = si->layers ? si->layers->child : NULL; l; l = l->next)
		sw_jw_str(&cw, sw_json_get_str(l, "digest") ? sw_json_get_str(l, "digest") : "");
	sw_jw_str(&cw, bdig);
	sw_jw_end(&cw);
	sw_jw_end(&cw);
	sw_jw_kobj(&cw, "config");
	sw_jw_end(&cw);
	sw_jw_end(&cw);
	if ((rc = sw_jw_done(&cw)) < 0) {
		rc = sw_error_set(err, rc, "writing the signature image's config: %s", sw_code_name(rc));
		goto out;
	}
	if ((rc = sw_sigstore_put_blob(si, cfg.data, cfg.len, cdig, err)) < 0)
		goto out;
	sw_jw_obj(&mw);
	sw_jw_kint(&mw, "schemaVersion", 2);
	sw_jw_kstr(&mw, "mediaType", MT_OCI_MANIFEST);
	sw_jw_kobj(&mw, "config");
	sw_jw_kstr(&mw, "mediaType", MT_OCI_CONFIG);
	sw_jw_kuint(&mw, "size", cfg.len);
	sw_jw_kstr(&mw, "digest", cdig);
	sw_jw_end(&mw);
	sw_jw_karr(&mw, "layers");
	for (l = si->layers ? si->layers->child : NULL; l; l = l->next)
		sw_sig__write_layer(&mw, l);
	sw_jw_obj(&mw);
	sw_jw_kstr(&mw, "mediaType", media_type);
	sw_jw_kuint(&mw, "size", len);
	sw_jw_kstr(&mw, "digest", bdig);
	sw_jw_kobj(&mw, "annotations");
	sw_jw_kstr(&mw, ann_key, ann_value);
	sw_jw_end(&mw);
	sw_jw_end(&mw);
	sw_jw_end(&mw);
	if (subject) {
		sw_jw_kobj(&mw, "subject");
		sw_jw_kstr(&mw, "mediaType", si->media_type ? si->media_type : MT_OCI_MANIFEST);
		sw_jw_kstr(&mw, "digest", si->digest);
		sw_jw_kuint(&mw, "size", si->manifest_len);
		sw_jw_end(&mw);
	}
	sw_jw_end(&mw);
	if ((rc = sw_jw_done(&mw)) < 0) {
		rc = sw_error_set(err, rc, "writing the signature manifest: %s", sw_code_name(rc));
		goto out;
	}
	rc = sw_sigstore_put_manifest(si, MT_OCI_MANIFEST, man.data, man.len, err);
out:
	sw_buf_release(&man);
	sw_buf_release(&cfg);
	return rc;
}

int sw_sign_image(const char *refstr, const sw_image_opts *o, const sw_privkey *key, const char *identity,
		  const char *const *ann, size_t nann, char *digest_out, size_t digest_n, sw_error *err)
{
	sw_sigimage si;
	sw_ref idref;
	char *sig = NULL;
	size_t i;
	sw_buf pay = SW_BUF_INIT(1u << 20);
	int rc;

	for (i = 0; i < nann; i++)
		if (!strchr(ann[i], '=') || ann[i][0] == '=')
			return sw_error_set(err, SW_EINVAL, "annotation \"%s\" is not KEY=VALUE", ann[i]);
	if (identity && sw_ref_parse(identity, &idref, err) < 0)
		return sw_error_prefix(err, "identity \"%s\"", identity);
	if (identity && idref.digest[0])
		return sw_error_set(err, SW_EINVAL, "identity \"%s\": a name (and tag), not a digest: the digest signed is the image's",
				    identity);
	/* what is already signed stays: the new layer is appended */
	if ((rc = sw_sigimage_open(refstr, o, "sig", &si, err)) < 0)
		return rc;
	snprintf(digest_out, digest_n, "%s", si.digest);
	if (!si.ref.path[0] && !identity) {
		rc = sw_error_set(err, SW_EINVAL,
				  "%s: the layout does not name its image (io.containerd.image.name): give the identity to "
				  "sign with --name REF", refstr);
		goto out;
	}
	if ((rc = payload(&pay, identity ? &idref : &si.ref, identity != NULL, si.digest, ann, nann)) < 0 || !(sig = sw_sig__sign_b64(key->pkey, &pay))) {
		rc = sw_error_set(err, SW_ERROR, "signing failed (is the key an ECDSA/RSA/Ed25519 private key?)");
		goto out;
	}
	rc = sw_sig__append(&si, pay.data, pay.len, MT_SIMPLESIGNING, "dev.cosignproject.cosign/signature", sig, false,
			    err);
out:
	free(sig);
	sw_buf_release(&pay);
	sw_sigimage_close(&si);
	return rc;
}
