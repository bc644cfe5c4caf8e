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

static int payload(sw_buf *b, const sw_ref *ref, const char *digest, const char *const *ann, size_t nann)
{
	const char **sorted = NULL;
	size_t i;

	sw_buf_printf(b, "{\"critical\":{\"identity\":{\"docker-reference\":");
	if (strcmp(ref->domain, "docker.io") == 0) {
		char id[600];
		snprintf(id, sizeof(id), "index.docker.io/%s", ref->path);
		sw_jsonw_str(b, id);
	} else {
		char id[600];
		snprintf(id, sizeof(id), "%s/%s", ref->domain, ref->path);
		sw_jsonw_str(b, id);
	}
	sw_buf_printf(b, "},\"image\":{\"docker-manifest-digest\":\"%s\"},"
			 "\"type\":\"cosign container image signature\"},\"optional\":", digest);
	if (!nann) {
		sw_buf_printf(b, "null}");
		return 0;
	}
	if (!(sorted = malloc(nann * sizeof(*sorted))))
		return SW_ENOMEM;
	memcpy(sorted, ann, nann * sizeof(*sorted));
	qsort(sorted, nann, sizeof(*sorted), cmp_str);
	sw_buf_putc(b, '{');
	for (i = 0; i < nann; i++) {
		const char *eq = strchr(sorted[i], '=');
		char *k = sw__strndup(sorted[i], (size_t)(eq - sorted[i]));
		sw_buf_printf(b, "%s", i ? "," : "");
		sw_jsonw_str(b, k ? k : "");
		sw_buf_putc(b, ':');
		sw_jsonw_str(b, eq + 1);
		free(k);
	}
	sw_buf_printf(b, "}}");
	free(sorted);
	return 0;
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
void sw_sig__write_layer(sw_buf *b, const sw_json *l)
{
	const sw_json *ann = sw_json_get_obj(l, "annotations"), *a;
	int64_t size = 0;

	sw_json_get_i64(l, "size", &size);
	sw_buf_printf(b, "{\"mediaType\":");
	sw_jsonw_str(b, sw_json_get_str(l, "mediaType") ? sw_json_get_str(l, "mediaType") : MT_SIMPLESIGNING);
	sw_buf_printf(b, ",\"size\":%lld,\"digest\":", (long long)size);
	sw_jsonw_str(b, sw_json_get_str(l, "digest") ? sw_json_get_str(l, "digest") : "");
	if (ann && ann->n) {
		sw_buf_printf(b, ",\"annotations\":{");
		for (a = ann->child; a; a = a->next) {
			if (a->type != SW_JSON_STR)
				continue;
			sw_buf_printf(b, "%s", a == ann->child ? "" : ",");
			sw_jsonw_str(b, a->key);
			sw_buf_putc(b, ':');
			sw_jsonw_str(b, a->s);
		}
		sw_buf_putc(b, '}');
	}
	sw_buf_putc(b, '}');
}

/* Upload a new layer blob and the manifest holding what was there plus it
 * (cosign's storage for .sig and .att tags). layer_json: the new layer's
 * descriptor fields after "digest" (e.g. ,"annotations":{...}); tail: what
 * follows "layers" in the manifest ("" or ,"subject":{...}). */
int sw_sig__append(sw_sigimage *si, const void *blob, size_t len, const char *media_type, const char *layer_json,
		   const char *tail, sw_error *err)
{
	sw_buf man = SW_BUF_INIT(MAX_SIG_MANIFEST), cfg = SW_BUF_INIT(1u << 20);
	char bdig[SW_DIGEST_STRLEN], cdig[SW_DIGEST_STRLEN];
	const sw_json *l;
	int rc;

	if ((rc = sw_sigstore_put_blob(si, blob, len, bdig, err)) < 0)
		goto out;
	/* go-containerregistry's config for such an image: diff_ids = the layers */
	sw_buf_printf(&cfg, "{\"architecture\":\"\",\"created\":\"0001-01-01T00:00:00Z\",\"history\":[{\"created\":"
			    "\"0001-01-01T00:00:00Z\"}],\"os\":\"\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[");
	for (l = si->layers ? si->layers->child : NULL; l; l = l->next)
		sw_buf_printf(&cfg, "\"%s\",", sw_json_get_str(l, "digest") ? sw_json_get_str(l, "digest") : "");
	sw_buf_printf(&cfg, "\"%s\"]},\"config\":{}}", bdig);
	if ((rc = sw_sigstore_put_blob(si, cfg.data, cfg.len, cdig, err)) < 0)
		goto out;
	sw_buf_printf(&man, "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\",\"config\":{\"mediaType\":\""
			    MT_OCI_CONFIG "\",\"size\":%zu,\"digest\":\"%s\"},\"layers\":[", cfg.len, cdig);
	for (l = si->layers ? si->layers->child : NULL; l; l = l->next) {
		sw_sig__write_layer(&man, l);
		sw_buf_putc(&man, ',');
	}
	sw_buf_printf(&man, "{\"mediaType\":\"%s\",\"size\":%zu,\"digest\":\"%s\"%s}]%s}", media_type, len, bdig,
		      layer_json, tail);
	rc = sw_sigstore_put_manifest(si, MT_OCI_MANIFEST, man.data, man.len, err);
out:
	sw_buf_release(&man);
	sw_buf_release(&cfg);
	return rc;
}

int sw_sign_image(const char *refstr, const sw_image_opts *o, const sw_privkey *key, const char *const *ann,
		  size_t nann, char *digest_out, size_t digest_n, sw_error *err)
{
	sw_sigimage si;
	char *sig = NULL;
	size_t i;
	sw_buf pay = SW_BUF_INIT(1u << 20);
	int rc;

	for (i = 0; i < nann; i++)
		if (!strchr(ann[i], '=') || ann[i][0] == '=')
			return sw_error_set(err, SW_EINVAL, "annotation \"%s\" is not KEY=VALUE", ann[i]);
	/* what is already signed stays: the new layer is appended */
	if ((rc = sw_sigimage_open(refstr, o, "sig", &si, err)) < 0)
		return rc;
	snprintf(digest_out, digest_n, "%s", si.digest);
	if (!si.ref.path[0]) {
		rc = sw_error_set(err, SW_EINVAL,
				  "%s: the layout does not name its image (io.containerd.image.name), so there is no identity to sign",
				  refstr);
		goto out;
	}
	if ((rc = payload(&pay, &si.ref, si.digest, ann, nann)) < 0 || !(sig = sw_sig__sign_b64(key->pkey, &pay))) {
		rc = sw_error_set(err, SW_ERROR, "signing failed (is the key an ECDSA/RSA/Ed25519 private key?)");
		goto out;
	}
	{
		char *ann_json = sw__asprintf(",\"annotations\":{\"dev.cosignproject.cosign/signature\":\"%s\"}", sig);
		rc = ann_json ? sw_sig__append(&si, pay.data, pay.len, MT_SIMPLESIGNING, ann_json, "", err)
			      : sw_error_set(err, SW_ENOMEM, "out of memory");
		free(ann_json);
	}
out:
	free(sig);
	sw_buf_release(&pay);
	sw_sigimage_close(&si);
	return rc;
}
