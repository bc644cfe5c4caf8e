/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Opening an image: pick the source kind from the input's prefix (or sniff
 * a bare path), let the kind's loader find manifest and config, and verify
 * everything small before anything large is read. Layer blobs are only
 * located here (their sizes checked); their digests are checked as they
 * stream, because reading a layer twice would double the cost of a scan.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_int.h"
#include "stowaway/reference.h"
#include "../registry/registry.h"
#include "../util/banned.h"

char *sw_image__keep(sw_image *img, char *s)
{
	if (!s)
		return NULL;
	if (SW_GROW(img->strings, img->nstrings) < 0) {
		free(s);
		return NULL;
	}
	img->strings[img->nstrings++] = s;
	return s;
}

int sw_image__read_blob(sw_image *img, const char *digest, int64_t size,
			uint64_t max, char **out, size_t *len, sw_error *err)
{
	uint8_t want[SW_SHA256_LEN], got[SW_SHA256_LEN];
	char path[128], gotstr[SW_DIGEST_STRLEN];
	int rc;

	*out = NULL;
	if (sw_digest_parse(digest, want) < 0)
		return sw_error_set(err, SW_EFORMAT, "invalid digest \"%.100s\"", digest);
	if (size >= 0 && (uint64_t)size > max)
		return sw_error_set(err, SW_ELIMIT,
				    "blob %s declares %lld bytes, over the %llu-byte limit",
				    digest, (long long)size, (unsigned long long)max);
	if (img->reg)
		return sw_reg_blob(img->reg, digest, size, max, out, len, err);
	snprintf(path, sizeof(path), "blobs/sha256/%s", digest + 7);
	if ((rc = sw_fsview_read(img->fs, path, max, out, len, err)) < 0)
		return sw_error_prefix(err, "blob %s", digest);
	if (size >= 0 && *len != (size_t)size) {
		rc = sw_error_set(err, SW_EVERIFY, "blob %s: size is %zu bytes, descriptor says %lld",
				  digest, *len, (long long)size);
		goto bad;
	}
	sw_sha256_buf(*out, *len, got);
	if (memcmp(got, want, sizeof(want)) != 0) {
		sw_digest_str(got, gotstr);
		rc = sw_error_set(err, SW_EVERIFY, "blob %s: content hashes to %s", digest, gotstr);
		goto bad;
	}
	return 0;
bad:
	free(*out);
	*out = NULL;
	return rc;
}

const char *sw_image__platform_str(sw_image *img, const sw_json *pf, bool *oom)
{
	const char *os = sw_json_get_str(pf, "os"), *arch = sw_json_get_str(pf, "architecture");
	const char *var = sw_json_get_str(pf, "variant");
	char *s;

	if (!os || !arch)
		return NULL;
	s = sw_image__keep(img, sw__asprintf("%s/%s%s%s", os, arch, var ? "/" : "", var ? var : ""));
	*oom = !s;
	return s;
}

static void map_history(sw_image *img, const sw_json *cfg)
{
	const sw_json *hist = sw_json_get_arr(cfg, "history"), *h;
	size_t li = 0;

	if (!hist)
		return;
	for (h = hist->child; h && li < img->nlayers; h = h->next) {
		const sw_json *empty = sw_json_get(h, "empty_layer");
		if (empty && empty->type == SW_JSON_BOOL && empty->b)
			continue;
		img->layers[li++].created_by = sw_json_get_str(h, "created_by");
	}
}

int sw_image__load_config(sw_image *img, char *cfg, size_t len, sw_error *err)
{
	const sw_json *root, *rootfs, *ids, *d;
	const char *type;
	size_t i = 0;
	int rc;

	img->config = cfg;
	img->config_len = len;
	if ((rc = sw_json_parse(cfg, len, &img->config_doc, err)) < 0)
		return sw_error_prefix(err, "image config");
	root = sw_json_root(img->config_doc);
	if (root->type != SW_JSON_OBJ)
		return sw_error_set(err, SW_EFORMAT, "image config: not a JSON object");
	rootfs = sw_json_get_obj(root, "rootfs");
	type = sw_json_get_str(rootfs, "type");
	if (!type || strcmp(type, "layers") != 0)
		return sw_error_set(err, SW_EFORMAT, "image config: rootfs.type must be \"layers\"");
	if (!(ids = sw_json_get_arr(rootfs, "diff_ids")))
		return sw_error_set(err, SW_EFORMAT, "image config: rootfs.diff_ids missing");
	if (ids->n != img->nlayers)
		return sw_error_set(err, SW_EVERIFY,
				    "image config lists %zu diff_ids but the manifest has %zu layers",
				    ids->n, img->nlayers);
	for (d = ids->child; d; d = d->next, i++) {
		if (d->type != SW_JSON_STR || !sw_digest_valid(d->s))
			return sw_error_set(err, SW_EFORMAT, "image config: diff_ids[%zu] is not a sha256 digest", i);
		img->layers[i].diff_id = d->s;
	}
	map_history(img, root);
	{
		bool oom = false;
		img->platform = sw_image__platform_str(img, root, &oom);
		if (oom)
			return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	return 0;
}

static int split_input(const char *in, const char **prefix_end, sw_source_kind *kind)
{
	static const struct { const char *p; sw_source_kind k; } pre[] = {
		{ "oci:", SW_SRC_OCI }, { "oci-archive:", SW_SRC_OCI_ARCHIVE },
		{ "docker-archive:", SW_SRC_DOCKER_ARCHIVE }, { "dir:", SW_SRC_DIR },
		{ "docker://", SW_SRC_REGISTRY }, { "registry:", SW_SRC_REGISTRY },
	};
	size_t i;

	for (i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
		if (strncmp(in, pre[i].p, strlen(pre[i].p)) == 0) {
			*prefix_end = in + strlen(pre[i].p);
			*kind = pre[i].k;
			return 1;
		}
	*prefix_end = in;
	return 0;
}

/* "PATH[:SEL]": the whole string when it names a file; else the shortest
 * prefix before a ':' that names one (paths may contain colons, and so may
 * selectors such as "name:tag"); else split at the last ':' so the error
 * names the likely path. */
static int split_path(const char *s, char **path, char **sel)
{
	struct stat st;
	const char *c, *cut = NULL;

	*sel = NULL;
	if (stat(s, &st) == 0) {
		*path = sw__strdup(s);
		return *path ? 0 : SW_ENOMEM;
	}
	for (c = strchr(s, ':'); c && !cut; c = strchr(c + 1, ':')) {
		char *pre = sw__strndup(s, (size_t)(c - s));
		if (!pre)
			return SW_ENOMEM;
		if (stat(pre, &st) == 0)
			cut = c;
		free(pre);
	}
	if (!cut && !(cut = strrchr(s, ':'))) {
		*path = sw__strdup(s);
		return *path ? 0 : SW_ENOMEM;
	}
	*path = sw__strndup(s, (size_t)(cut - s));
	*sel = sw__strdup(cut + 1);
	return *path && *sel ? 0 : SW_ENOMEM;
}

static int sniff(const char *path, sw_source_kind *kind, sw_error *err)
{
	struct stat st;
	sw_fsview *v = NULL;
	int rc;

	if (stat(path, &st) < 0)
		return sw_error_set(err, errno == ENOENT ? SW_ENOTFOUND : SW_EIO,
				    "%s: %s (and it is not a supported image reference)",
				    path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		char lay[4096];
		snprintf(lay, sizeof(lay), "%s/oci-layout", path);
		*kind = stat(lay, &st) == 0 ? SW_SRC_OCI : SW_SRC_DIR;
		return 0;
	}
	if ((rc = sw_fsview_open_tar(&v, path, err)) < 0)
		return rc;
	if (sw_fsview_exists(v, "manifest.json"))
		*kind = SW_SRC_DOCKER_ARCHIVE;
	else if (sw_fsview_exists(v, "oci-layout"))
		*kind = SW_SRC_OCI_ARCHIVE;
	else
		rc = sw_error_set(err, SW_EFORMAT,
				  "%s: a tar with neither manifest.json nor oci-layout is not an image", path);
	sw_fsview_free(v);
	return rc;
}

static int load_dir(sw_image *img, const char *path, sw_error *err)
{
	struct stat st;

	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return sw_error_set(err, SW_ENOTFOUND, "%s: not a directory", path);
	{
		/* an empty directory is a mistyped path, not a clean image */
		DIR *d = opendir(path);
		struct dirent *de;
		bool empty = true;
		while (d && empty && (de = readdir(d)))
			empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
		if (d)
			closedir(d);
		if (!d || empty)
			return sw_error_set(err, SW_EFORMAT, "%s: %s", path,
					    d ? "an empty directory is not an image" : strerror(errno));
	}
	if (!(img->rootfs = sw__strdup(path)) ||
	    !(img->layers = calloc(1, sizeof(*img->layers))) ||
	    !(img->locs = calloc(1, sizeof(*img->locs))))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	img->nlayers = 1;
	img->layers[0].size = -1;
	img->layers[0].created_by = NULL;
	return 0;
}

int sw_image_classify(const char *input, sw_source_kind *kind, char **path, char **sel, sw_error *err)
{
	const char *rest;
	bool explicit = split_input(input, &rest, kind);
	char norm[512];
	int rc;

	*path = *sel = NULL;
	if (explicit && (*kind == SW_SRC_DIR || *kind == SW_SRC_REGISTRY)) {
		/* dir: paths are not split at ':'; references keep their tag */
		return (*path = sw__strdup(rest)) ? 0 : sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	if ((rc = split_path(rest, path, sel)) < 0 || !*path) {
		free(*path);
		free(*sel);
		*path = *sel = NULL;
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	if (explicit || (rc = sniff(*path, kind, err)) == 0)
		return 0;
	free(*path);
	free(*sel);
	*path = *sel = NULL;
	/* not a file: a registry reference, as Docker reads it */
	if (rc == SW_ENOTFOUND && input[0] != '/' && input[0] != '.') {
		sw_error rerr = SW_ERROR_INIT;
		if (sw_reference_normalize(input, norm, sizeof(norm), &rerr) == 0) {
			*kind = SW_SRC_REGISTRY;
			return (*path = sw__strdup(input)) ? 0 : sw_error_set(err, SW_ENOMEM, "out of memory");
		}
		return sw_error_set(err, SW_ENOTFOUND, "%s: no such file, and not an image reference: %s", input,
				    rerr.msg);
	}
	return rc;
}

/* sw_image_open, or with want a variant: that manifest digest taken from
 * whichever index lists it. */
static int open_image(sw_image **out, const char *input, const sw_image_opts *opts, const char *want,
		      sw_error *err)
{
	sw_image_opts defo = SW_IMAGE_OPTS_INIT;
	sw_image *img = NULL;
	char *path = NULL, *sel = NULL;
	int rc = 0;

	*out = NULL;
	if (!opts)
		opts = &defo;
	if (!(img = calloc(1, sizeof(*img))) || !(img->input = sw__strdup(input)) ||
	    (want && !(img->want = sw_image__keep(img, sw__strdup(want))))) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	img->opts = *opts;
	img->platform_named = opts->platform != NULL;
	if ((rc = sw_image_classify(input, &img->kind, &path, &sel, err)) < 0)
		goto out;
	if (img->kind == SW_SRC_REGISTRY) {
		rc = sw_image__load_registry(img, path, opts, err);
		goto done;
	}
	switch (img->kind) {
	case SW_SRC_OCI:
		if ((rc = sw_fsview_open_dir(&img->fs, path, err)) == 0)
			rc = sw_image__load_oci(img, sel, opts, err);
		break;
	case SW_SRC_OCI_ARCHIVE:
		if ((rc = sw_fsview_open_tar(&img->fs, path, err)) == 0)
			rc = sw_image__load_oci(img, sel, opts, err);
		break;
	case SW_SRC_DOCKER_ARCHIVE:
		if ((rc = sw_fsview_open_tar(&img->fs, path, err)) == 0)
			rc = sw_image__load_docker(img, sel, opts, err);
		break;
	case SW_SRC_DIR:
		rc = load_dir(img, path, err);
		break;
	case SW_SRC_REGISTRY:
		break;
	}
done:
	if (rc < 0)
		goto out;
	if (want && (!img->manifest_digest || strcmp(img->manifest_digest, want) != 0)) {
		rc = sw_error_set(err, SW_ENOTFOUND, "%s: the index no longer lists manifest %s", input, want);
		goto out;
	}
	*out = img;
	img = NULL;
out:
	free(path);
	free(sel);
	sw_image_free(img);
	return rc;
}

int sw_image_open(sw_image **out, const char *input, const sw_image_opts *opts, sw_error *err)
{
	return open_image(out, input, opts, NULL, err);
}

int sw_image_open_variant(const sw_image *img, size_t i, sw_image **out, sw_error *err)
{
	sw_image_opts o = img->opts;
	char in[1200];
	sw_ref ref;
	int rc;

	*out = NULL;
	if (i >= img->nvariants)
		return sw_error_set(err, SW_EINVAL, "variant %zu of %zu", i, img->nvariants);
	/* the variant is the manifest by its digest, whatever its platform */
	o.platform = NULL;
	o.any_platform = true;
	if (img->kind != SW_SRC_REGISTRY)
		return open_image(out, img->input, &o, img->variants[i].digest, err);
	/* a registry: the repository @digest, so a tag that moved meanwhile
	 * cannot change what is read */
	if ((rc = sw_ref_parse(img->reference, &ref, err)) < 0)
		return rc;
	ref.tag[0] = '\0';
	snprintf(ref.digest, sizeof(ref.digest), "%s", img->variants[i].digest);
	sw_ref_format(&ref, SW_REF_FULL, in, sizeof(in));
	if ((rc = open_image(out, in, &o, NULL, err)) == 0 &&
	    strcmp(sw_image_manifest_digest(*out) ? sw_image_manifest_digest(*out) : "", ref.digest) != 0) {
		sw_image_free(*out);
		*out = NULL;
		rc = sw_error_set(err, SW_EVERIFY, "%s: not the image manifest the index lists", in);
	}
	return rc;
}

const sw_image_variant *sw_image_variants(const sw_image *img, size_t *n, size_t *over)
{
	*n = img->nvariants;
	if (over)
		*over = img->variants_over;
	return img->variants;
}

bool sw_image_platform_named(const sw_image *img) { return img->platform_named; }
const char *sw_image_index_digest(const sw_image *img) { return img->index_digest; }

void sw_image_free(sw_image *img)
{
	size_t i;

	if (!img)
		return;
	for (i = 0; i < img->nstrings; i++)
		free(img->strings[i]);
	free(img->strings);
	free(img->platforms);
	free(img->variants);
	sw_json_free(img->config_doc);
	free(img->config);
	free(img->layers);
	free(img->locs);
	sw_fsview_free(img->fs);
	sw_reg_free(img->reg);
	free(img->rootfs);
	free(img->input);
	free(img->reference);
	free(img->manifest_digest);
	free(img->config_digest);
	free(img->manifest);
	free(img);
}

sw_source_kind sw_image_kind(const sw_image *img) { return img->kind; }
const char *sw_image_input(const sw_image *img) { return img->input; }
const char *sw_image_reference(const sw_image *img) { return img->reference; }
const char *sw_image_manifest_digest(const sw_image *img) { return img->manifest_digest; }
const char *sw_image_config_digest(const sw_image *img) { return img->config_digest; }
const char *sw_image_platform(const sw_image *img) { return img->platform; }

const char *const *sw_image_platforms(const sw_image *img, size_t *n)
{
	*n = img->nplatforms;
	return img->platforms;
}


/* Is this index entry an image of another platform to note (a BuildKit
 * attestation or a cosign attachment is none; at the top of a layout, an
 * entry of another tag is another image)? */
static bool platform_entry(const sw_json *d, const char *tag)
{
	const sw_json *pf = sw_json_get_obj(d, "platform");
	const char *os = sw_json_get_str(pf, "os");
	const char *name = sw_json_get_str(sw_json_get_obj(d, "annotations"), "org.opencontainers.image.ref.name");

	return os && strcmp(os, "unknown") != 0 && (!tag || !name || strcmp(name, tag) == 0);
}

int sw_image__note_platforms(sw_image *img, const sw_json *manifests, const char *tag)
{
	const sw_json *d;
	const char *s;
	size_t n = 0, i;
	bool oom = false;

	for (d = manifests->child; d; d = d->next)
		n += platform_entry(d, tag);
	if (n < 2)
		return 0;
	free(img->platforms);
	img->nplatforms = 0;
	if (!(img->platforms = calloc(n < SW_IMAGE_MAX_PLATFORMS ? n : SW_IMAGE_MAX_PLATFORMS, sizeof(*img->platforms))))
		return SW_ENOMEM;
	for (d = manifests->child; d && img->nplatforms < SW_IMAGE_MAX_PLATFORMS; d = d->next) {
		if (!platform_entry(d, tag))
			continue;
		if (!(s = sw_image__platform_str(img, sw_json_get_obj(d, "platform"), &oom))) {
			if (oom)
				return SW_ENOMEM;
			continue;
		}
		for (i = 0; i < img->nplatforms && strcmp(img->platforms[i], s) != 0; i++)
			;
		if (i == img->nplatforms)
			img->platforms[img->nplatforms++] = s;
	}
	if (img->nplatforms < 2) /* several images of one platform: not a choice of platforms */
		img->nplatforms = 0;
	return 0;
}
size_t sw_image_layer_count(const sw_image *img) { return img->nlayers; }
const char *sw_image__rootfs(const sw_image *img) { return img->rootfs; }

const char *sw_image_config(const sw_image *img, size_t *len)
{
	if (len)
		*len = img->config_len;
	return img->config;
}

const sw_layer_info *sw_image_layer(const sw_image *img, size_t i)
{
	return i < img->nlayers ? &img->layers[i] : NULL;
}

const sw_blobloc *sw_image__layer_loc(const sw_image *img, size_t i)
{
	return i < img->nlayers ? &img->locs[i] : NULL;
}
