/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where signatures and attestations live: next to the image in its
 * registry repository (the sha256-<hex>.sig / .att tags), or, for an image
 * in an OCI layout ("oci:DIR[:TAG]"), in the same layout as cosign's
 * `cosign save` keeps them: blobs under blobs/sha256/ and an index.json
 * entry whose org.opencontainers.image.ref.name is the tag. Writes into a
 * layout go through O_EXCL temporary files renamed into place, by names
 * derived from validated digests only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sigstore.h"
#include "../image/image_int.h"
#include "../util/banned.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MAX_INDEX (4u << 20)

/* "oci:DIR[:TAG]" -> DIR (the longest prefix that is a directory) */
static char *layout_dir(const char *input)
{
	const char *p = input + 4;
	char *dir = sw__strdup(p), *colon;
	struct stat st;

	while (dir && stat(dir, &st) != 0 && (colon = strrchr(dir, ':')))
		*colon = '\0';
	return dir;
}

int sw_sigimage__open_layout(const char *input, const sw_image_opts *o, const char *suffix, sw_sigimage *si,
			     sw_error *err)
{
	sw_buf b = SW_BUF_INIT(MAX_INDEX);
	sw_json_doc *idx = NULL, *mdoc = NULL;
	const sw_json *m;
	int rc;

	if ((rc = sw_image_open(&si->img, input, o, err)) < 0)
		return rc;
	if (!si->img->manifest || !(si->dir = layout_dir(input))) {
		rc = sw_error_set(err, SW_EINVAL, "%s: not an OCI layout image", input);
		goto out;
	}
	if (si->img->reference && sw_ref_parse(si->img->reference, &si->ref, NULL) == 0)
		sw_ref_format(&si->ref, SW_REF_FULL, si->full, sizeof(si->full));
	else
		snprintf(si->full, sizeof(si->full), "%s", input);
	si->digest = sw__strdup(si->img->manifest_digest);
	si->manifest_len = si->img->manifest_len;
	if (sw_json_parse(si->img->manifest, si->img->manifest_len, &mdoc, NULL) == 0 &&
	    sw_json_get_str(sw_json_root(mdoc), "mediaType"))
		si->media_type = sw__strdup(sw_json_get_str(sw_json_root(mdoc), "mediaType"));
	else
		si->media_type = sw__strdup(MT_OCI_MANIFEST);
	snprintf(si->tag, sizeof(si->tag), "sha256-%s.%s", si->digest + 7, suffix);
	/* the attachment, if the layout holds one */
	{
		char *path = sw__asprintf("%s/index.json", si->dir);
		if (!path || sw_file_read_regular(path, &b) < 0 || sw_json_parse(b.data, b.len, &idx, err) < 0) {
			free(path);
			rc = sw_error_set(err, SW_EFORMAT, "%s: cannot read index.json", si->dir);
			goto out;
		}
		free(path);
	}
	for (m = sw_json_get_arr(sw_json_root(idx), "manifests") ? sw_json_get_arr(sw_json_root(idx), "manifests")->child
								  : NULL;
	     m; m = m->next) {
		const char *name = sw_json_get_str(sw_json_get_obj(m, "annotations"), "org.opencontainers.image.ref.name");
		const char *dg = sw_json_get_str(m, "digest");
		int64_t sz = -1;
		char *body = NULL;
		size_t len;
		if (!name || strcmp(name, si->tag) != 0 || !dg)
			continue;
		sw_json_get_i64(m, "size", &sz);
		if ((rc = sw_image__read_blob(si->img, dg, sz, MAX_INDEX, &body, &len, err)) < 0)
			goto out;
		rc = sw_json_parse(body, len, &si->doc, err);
		free(body);
		if (rc < 0)
			goto out;
		si->layers = sw_json_get_arr(sw_json_root(si->doc), "layers");
		break;
	}
	rc = 0;
out:
	sw_json_free(idx);
	sw_json_free(mdoc);
	sw_buf_release(&b);
	return rc;
}

int sw_sigstore_blob(sw_sigimage *si, const char *digest, int64_t size, uint64_t max, char **out, size_t *len,
		     sw_error *err)
{
	if (si->reg)
		return sw_reg_blob(si->reg, digest, size, max, out, len, err);
	return sw_image__read_blob(si->img, digest, size, max, out, len, err);
}

static int write_atomic(const char *dir, const char *name, const void *data, size_t len, bool replace, sw_error *err)
{
	char *tmp = sw__asprintf("%s/.%s.%d.part", dir, name, (int)getpid()), *dst = sw__asprintf("%s/%s", dir, name);
	int fd = -1, rc = 0;

	if (!tmp || !dst) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	if (!replace && access(dst, F_OK) == 0)
		goto out; /* content-addressed: already there */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0) {
		rc = sw_error_set(err, SW_EIO, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (sw_write_all(fd, data, len) < 0)
		rc = sw_error_set(err, SW_EIO, "%s: %s", tmp, strerror(errno));
	if (close(fd) < 0 && rc == 0)
		rc = sw_error_set(err, SW_EIO, "%s: %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, dst) < 0)
		rc = sw_error_set(err, SW_EIO, "%s: %s", dst, strerror(errno));
	if (rc < 0)
		unlink(tmp);
out:
	free(tmp);
	free(dst);
	return rc;
}

int sw_sigstore_put_blob(sw_sigimage *si, const void *data, size_t len, char digest[SW_DIGEST_STRLEN], sw_error *err)
{
	uint8_t d[SW_SHA256_LEN];
	char *dir;
	int rc;

	if (si->reg)
		return sw_reg_put_blob(si->reg, data, len, digest, err);
	sw_sha256_buf(data, len, d);
	sw_digest_str(d, digest);
	if (!(dir = sw__asprintf("%s/blobs/sha256", si->dir)))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	rc = write_atomic(dir, digest + 7, data, len, false, err);
	free(dir);
	return rc;
}

int sw_sigstore_put_manifest(sw_sigimage *si, const char *media_type, const void *body, size_t len, sw_error *err)
{
	return sw_sigstore_put_tagged(si, si->tag, media_type, body, len, err);
}

int sw_sigstore_put_untagged(sw_sigimage *si, const char *media_type, const void *body, size_t len,
			     char digest[SW_DIGEST_STRLEN], sw_error *err)
{
	uint8_t d[SW_SHA256_LEN];

	if (!si->reg)
		return sw_sigstore_put_blob(si, body, len, digest, err);
	sw_sha256_buf(body, len, d);
	sw_digest_str(d, digest);
	return sw_reg_put_manifest(si->reg, digest, media_type, body, len, err);
}

int sw_sigstore_tagged(sw_sigimage *si, const char *tag, uint64_t max, char **body, size_t *len, sw_error *err)
{
	sw_buf b = SW_BUF_INIT(MAX_INDEX);
	sw_json_doc *idx = NULL;
	const sw_json *m;
	char *path = NULL, *mt = NULL, *dg = NULL;
	int rc;

	*body = NULL;
	*len = 0;
	if (si->reg) {
		rc = sw_reg_manifest(si->reg, tag, max, body, len, &mt, &dg, err);
		free(mt);
		free(dg);
		return rc;
	}
	if (!(path = sw__asprintf("%s/index.json", si->dir)) || sw_file_read_regular(path, &b) < 0 ||
	    sw_json_parse(b.data, b.len, &idx, err) < 0) {
		rc = sw_error_set(err, SW_EFORMAT, "%s: cannot read index.json", si->dir);
		goto out;
	}
	rc = sw_error_set(err, SW_ENOTFOUND, "%s: no tag %s", si->dir, tag);
	for (m = sw_json_get_arr(sw_json_root(idx), "manifests") ? sw_json_get_arr(sw_json_root(idx), "manifests")->child
								  : NULL;
	     m; m = m->next) {
		const char *name = sw_json_get_str(sw_json_get_obj(m, "annotations"), "org.opencontainers.image.ref.name");
		int64_t sz = -1;
		if (!name || strcmp(name, tag) != 0 || !sw_json_get_str(m, "digest"))
			continue;
		sw_json_get_i64(m, "size", &sz);
		rc = sw_image__read_blob(si->img, sw_json_get_str(m, "digest"), sz, max, body, len, err);
		break;
	}
out:
	free(path);
	sw_json_free(idx);
	sw_buf_release(&b);
	return rc;
}

void sw_sigstore_write_desc(sw_jw *w, const sw_json *m)
{
	const sw_json *pf = sw_json_get_obj(m, "platform");
	int64_t sz = 0;

	sw_json_get_i64(m, "size", &sz);
	sw_jw_obj(w);
	sw_jw_kstr(w, "mediaType", sw_json_get_str(m, "mediaType") ? sw_json_get_str(m, "mediaType") : MT_OCI_MANIFEST);
	sw_jw_kstr(w, "digest", sw_json_get_str(m, "digest") ? sw_json_get_str(m, "digest") : "");
	sw_jw_kint(w, "size", sz);
	if (sw_json_get_str(m, "artifactType"))
		sw_jw_kstr(w, "artifactType", sw_json_get_str(m, "artifactType"));
	if (pf && sw_json_get_str(pf, "os") && sw_json_get_str(pf, "architecture")) {
		sw_jw_kobj(w, "platform");
		sw_jw_kstr(w, "architecture", sw_json_get_str(pf, "architecture"));
		sw_jw_kstr(w, "os", sw_json_get_str(pf, "os"));
		if (sw_json_get_str(pf, "variant"))
			sw_jw_kstr(w, "variant", sw_json_get_str(pf, "variant"));
		sw_jw_end(w);
	}
	sw_sig__write_annotations(w, sw_json_get_obj(m, "annotations"));
	sw_jw_end(w);
}

int sw_sigstore_put_tagged(sw_sigimage *si, const char *tag, const char *media_type, const void *body, size_t len,
			   sw_error *err)
{
	char dg[SW_DIGEST_STRLEN], *path = NULL;
	sw_buf b = SW_BUF_INIT(MAX_INDEX), out = SW_BUF_INIT(MAX_INDEX + 4096);
	sw_jw w = SW_JW_INIT(&out);
	sw_json_doc *idx = NULL;
	const sw_json *m;
	int rc;

	if (si->reg)
		return sw_reg_put_manifest(si->reg, tag, media_type, body, len, err);
	if ((rc = sw_sigstore_put_blob(si, body, len, dg, err)) < 0)
		return rc;
	/* index.json: every entry but an older one of this tag, then the new one */
	if (!(path = sw__asprintf("%s/index.json", si->dir)) || sw_file_read_regular(path, &b) < 0 ||
	    sw_json_parse(b.data, b.len, &idx, err) < 0) {
		rc = sw_error_set(err, SW_EFORMAT, "%s: cannot read index.json", si->dir);
		goto out;
	}
	sw_jw_obj(&w);
	sw_jw_kint(&w, "schemaVersion", 2);
	sw_jw_kstr(&w, "mediaType", "application/vnd.oci.image.index.v1+json");
	sw_jw_karr(&w, "manifests");
	for (m = sw_json_get_arr(sw_json_root(idx), "manifests") ? sw_json_get_arr(sw_json_root(idx), "manifests")->child
								  : NULL;
	     m; m = m->next) {
		const char *name = sw_json_get_str(sw_json_get_obj(m, "annotations"), "org.opencontainers.image.ref.name");
		if (name && strcmp(name, tag) == 0)
			continue;
		sw_sigstore_write_desc(&w, m);
	}
	sw_jw_obj(&w);
	sw_jw_kstr(&w, "mediaType", media_type);
	sw_jw_kstr(&w, "digest", dg);
	sw_jw_kuint(&w, "size", len);
	sw_jw_kobj(&w, "annotations");
	sw_jw_kstr(&w, "org.opencontainers.image.ref.name", tag);
	sw_jw_end(&w);
	sw_jw_end(&w);
	sw_jw_end(&w);
	sw_jw_end(&w);
	if ((rc = sw_jw_done(&w)) == 0)
		rc = sw_buf_putc(&out, '\n');
	if (rc < 0) {
		rc = sw_error_set(err, rc, "%s: writing index.json: %s", si->dir, sw_code_name(rc));
		goto out;
	}
	rc = write_atomic(si->dir, "index.json", out.data, out.len, true, err);
out:
	free(path);
	sw_json_free(idx);
	sw_buf_release(&b);
	sw_buf_release(&out);
	return rc;
}

int sw_attachments_count(const char *ref, const sw_image_opts *o, int *signatures, int *attestations, sw_error *err)
{
	static const char *const suffix[] = { "sig", "att" };
	int *count[] = { signatures, attestations };
	sw_sigimage si;
	size_t k;
	int rc = 0;

	*signatures = *attestations = 0;
	for (k = 0; k < 2 && rc == 0; k++) {
		if ((rc = sw_sigimage_open(ref, o, suffix[k], &si, err)) < 0)
			return rc;
		*count[k] += si.layers ? (int)si.layers->n : 0;
		/* and cosign v3's bundles, stored as referrers: both kinds in one
		 * walk over the index */
		if (k == 1)
			rc = sw_sig__count_bundles(&si, signatures, attestations, err);
		sw_sigimage_close(&si);
	}
	return rc;
}
