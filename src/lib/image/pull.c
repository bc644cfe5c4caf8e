/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stowaway pull: an image into an OCI layout, for offline scanning and for
 * the sandbox. Blobs are written under names derived from their (validated)
 * digests only, through a directory descriptor, with O_EXCL temporary files
 * renamed into place after the bytes hash to the digest: nothing is written
 * outside the target, and a partial download never looks complete.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_int.h"
#include "stream.h"
#include "stowaway/reference.h"
#include "../util/banned.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"

typedef struct blobw {
	int fd;
	sw_sha256 *h;
	uint64_t n, max;        /* bytes so far; the descriptor's size */
} blobw;

static int blob_sink(void *ctx, const uint8_t *p, size_t n)
{
	blobw *b = ctx;

	if (n > b->max - b->n)
		return SW_ELIMIT;
	sw_sha256_update(b->h, p, n);
	b->n += n;
	return sw_write_all(b->fd, p, n);
}

/* A layer's raw bytes, from the verified stream, to the file. */
static int layer_raw(void *ctx, const uint8_t *p, size_t n, sw_error *err)
{
	blobw *b = ctx;

	if (sw_write_all(b->fd, p, n) < 0)
		return sw_error_set(err, SW_EIO, "writing the blob: %s", strerror(errno));
	b->n += n;
	return 0;
}

/* Write bytes (or, with reg, stream layer i) to blobs/sha256/<hex>. */
static int put_blob(int bdir, const sw_image *img, const char *digest, const void *bytes, size_t len, int layer,
		    const sw_lstream_opts *lo, sw_error *err)
{
	char tmp[96], name[80], got[SW_DIGEST_STRLEN];
	uint8_t d[SW_SHA256_LEN], want[SW_SHA256_LEN];
	blobw b = { -1, NULL, 0, layer >= 0 ? (uint64_t)img->layers[layer].size : (uint64_t)len };
	sw_lstream *ls = NULL;
	int rc = 0;

	if (sw_digest_parse(digest, want) < 0)
		return sw_error_set(err, SW_EFORMAT, "invalid digest \"%.80s\"", digest);
	snprintf(name, sizeof(name), "%s", digest + 7);
	if (faccessat(bdir, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0; /* already there (shared layer): it was verified when written */
	snprintf(tmp, sizeof(tmp), ".%s.%d.part", name, (int)getpid());
	if ((b.fd = openat(bdir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0)
		return sw_error_set(err, SW_EIO, "blobs/sha256/%s: %s", tmp, strerror(errno));
	if (!(b.h = sw_sha256_new())) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	if (layer >= 0) {
		/* the one verified stream: size, digest, ratio, deadline,
		 * diff_id; it checks the digest itself */
		sw_lstream_cb cb = { &b, layer_raw, NULL, { NULL, NULL, NULL, NULL } };
		sw_lstream_stats st;
		if (!(ls = sw_lstream_new()))
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		else
			rc = sw_lstream_run(ls, img, (size_t)layer, lo, &cb, &st, err);
	} else if (blob_sink(&b, bytes, len) < 0) {
		rc = sw_error_set(err, SW_EIO, "writing blob %s: %s", digest, strerror(errno));
	}
	if (rc == 0 && layer < 0) {
		sw_sha256_final(b.h, d);
		if (memcmp(d, want, sizeof(d)) != 0) {
			sw_digest_str(d, got);
			rc = sw_error_set(err, SW_EVERIFY, "blob %s: content hashes to %s", digest, got);
		}
	}
	if (rc == 0 && (fsync(b.fd) < 0 || renameat(bdir, tmp, bdir, name) < 0))
		rc = sw_error_set(err, SW_EIO, "blobs/sha256/%s: %s", name, strerror(errno));
out:
	if (b.fd >= 0)
		close(b.fd);
	if (rc < 0)
		unlinkat(bdir, tmp, 0);
	sw_sha256_free(b.h);
	sw_lstream_free(ls);
	return rc;
}

static int put_file(int dir, const char *name, const char *text, sw_error *err)
{
	int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	int rc = 0;

	if (fd < 0)
		return sw_error_set(err, SW_EIO, "%s: %s", name, strerror(errno));
	if (sw_write_all(fd, text, strlen(text)) < 0)
		rc = sw_error_set(err, SW_EIO, "%s: %s", name, strerror(errno));
	close(fd);
	return rc;
}

static int open_target(const char *path, int *dir, int *bdir, sw_error *err)
{
	int fd, d2;

	*dir = *bdir = -1;
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return sw_error_set(err, SW_EIO, "%s: %s", path, strerror(errno));
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return sw_error_set(err, SW_EIO, "%s: %s (a directory, not a symbolic link)", path, strerror(errno));
	if (faccessat(fd, "index.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
	    faccessat(fd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		close(fd);
		return sw_error_set(err, SW_EINVAL, "%s: already holds an OCI layout; pull into a new directory", path);
	}
	if ((mkdirat(fd, "blobs", 0755) < 0 && errno != EEXIST) ||
	    ((d2 = openat(fd, "blobs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)) {
		close(fd);
		return sw_error_set(err, SW_EIO, "%s/blobs: %s", path, strerror(errno));
	}
	if ((mkdirat(d2, "sha256", 0755) < 0 && errno != EEXIST) ||
	    ((*bdir = openat(d2, "sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)) {
		close(d2);
		close(fd);
		return sw_error_set(err, SW_EIO, "%s/blobs/sha256: %s", path, strerror(errno));
	}
	close(d2);
	*dir = fd;
	return 0;
}

int sw_image_pull(const char *input, const char *oci_dir, const sw_image_opts *opts, const sw_pull_opts *po,
		  sw_error *err)
{
	static const sw_pull_opts defpo = SW_PULL_OPTS_INIT;
	sw_lstream_opts lo;
	sw_image *img = NULL;
	sw_buf idx = SW_BUF_INIT(1u << 20);
	int dir = -1, bdir = -1, rc;
	size_t i;
	sw_json_doc *mdoc = NULL;
	const char *mt = MT_OCI_MANIFEST;

	if (!po)
		po = &defpo;
	lo = (sw_lstream_opts){ po->max_ratio, po->timeout > 0 ? sw_now() + po->timeout : 0, po->timeout, false };
	if ((rc = sw_image_open(&img, input, opts, err)) < 0)
		return rc;
	if (!img->manifest) {
		rc = sw_error_set(err, SW_EINVAL, "%s: this source has no image manifest to copy", input);
		goto out;
	}
	if ((rc = open_target(oci_dir, &dir, &bdir, err)) < 0)
		goto out;
	for (i = 0; i < img->nlayers && rc == 0; i++) {
		if (img->locs[i].fd < 0) {
			rc = put_blob(bdir, img, img->layers[i].digest, NULL, 0, (int)i, &lo, err);
		} else {
			/* a local source: copy through memory in one piece is not bounded;
			 * pulling is meant for registries */
			rc = sw_error_set(err, SW_EINVAL, "%s: pull copies from registries (use skopeo for local copies)", input);
		}
		if (rc < 0)
			sw_error_prefix(err, "layer %zu", i);
	}
	if (rc == 0)
		rc = put_blob(bdir, img, img->config_digest, img->config, img->config_len, -1, &lo, err);
	if (rc == 0)
		rc = put_blob(bdir, img, img->manifest_digest, img->manifest, img->manifest_len, -1, &lo, err);
	if (rc == 0) {
		sw_ref ref;
		const char *m;
		if (sw_json_parse(img->manifest, img->manifest_len, &mdoc, NULL) == 0 &&
		    (m = sw_json_get_str(sw_json_root(mdoc), "mediaType")))
			mt = m;
		sw_jw w = SW_JW_INIT(&idx);
		sw_jw_obj(&w);
		sw_jw_kint(&w, "schemaVersion", 2);
		sw_jw_karr(&w, "manifests");
		sw_jw_obj(&w);
		sw_jw_kstr(&w, "mediaType", mt);
		sw_jw_kstr(&w, "digest", img->manifest_digest);
		sw_jw_kuint(&w, "size", img->manifest_len);
		sw_jw_kobj(&w, "annotations");
		sw_jw_kstr(&w, "io.containerd.image.name", img->reference ? img->reference : input);
		if (po->tag)
			sw_jw_kstr(&w, "org.opencontainers.image.ref.name", po->tag);
		else if (img->reference && sw_ref_parse(img->reference, &ref, NULL) == 0 && ref.tag[0])
			sw_jw_kstr(&w, "org.opencontainers.image.ref.name", ref.tag);
		sw_jw_end(&w);
		sw_jw_end(&w);
		sw_jw_end(&w);
		sw_jw_end(&w);
		if ((rc = sw_jw_done(&w)) == 0)
			rc = sw_buf_putc(&idx, '\n');
		if (rc < 0)
			rc = sw_error_set(err, rc, "writing index.json: %s", sw_code_name(rc));
		if (rc == 0 && (rc = put_file(dir, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}\n", err)) == 0)
			rc = put_file(dir, "index.json", sw_buf_cstr(&idx), err);
	}
out:
	sw_json_free(mdoc);
	sw_buf_release(&idx);
	if (bdir >= 0)
		close(bdir);
	if (dir >= 0)
		close(dir);
	sw_image_free(img);
	return rc;
}
