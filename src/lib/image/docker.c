/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `docker save` archives, in the three layouts FORMATS.md §2 describes:
 * Docker <= 24 (<id>/layer.tar and <hex>.json), Docker 25-28 (OCI blobs plus
 * manifest.json, uncompressed layers) and the containerd store (manifest.json
 * pointing at compressed distribution blobs). One reader serves all three:
 * manifest.json names the config and layer paths; a path of the form
 * blobs/sha256/<hex> or <hex>.json also names the digest its content must
 * have, and every layer is checked against the config's diff_ids.
 */
#include <stdlib.h>
#include <string.h>

#include "image_int.h"
#include "../util/banned.h"

/* The digest a member's name promises, or NULL when the name is opaque. */
static char *digest_from_path(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n == 69 && strcmp(base + 64, ".json") == 0)
		n = 64;
	if (n != 64 || (base != path && strncmp(path, "blobs/sha256/", 13) != 0 &&
			strcmp(base + 64, ".json") != 0))
		return NULL;
	{
		char *d = sw__asprintf("sha256:%.64s", base);
		if (d && !sw_digest_valid(d)) {
			free(d);
			return NULL;
		}
		return d;
	}
}

static const sw_json *select_entry(const sw_json *arr, const char *sel, sw_error *err)
{
	const sw_json *e, *tags, *t;
	char want[512], have[512];
	size_t i = 0;

	if (!sel || !*sel) {
		if (arr->n == 1)
			return arr->child;
		sw_error_set(err, SW_ENOTFOUND,
			     "archive holds %zu images; pick one with :@N or :name:tag", arr->n);
		return NULL;
	}
	if (sel[0] == '@') {
		char *end;
		long n = strtol(sel + 1, &end, 10);
		for (e = arr->child; e; e = e->next, i++)
			if (*end == '\0' && n >= 0 && (size_t)n == i)
				return e;
		sw_error_set(err, SW_ENOTFOUND, "archive has no image %s", sel);
		return NULL;
	}
	if (sw_reference_normalize(sel, want, sizeof(want), err) < 0)
		return NULL;
	for (e = arr->child; e; e = e->next)
		if ((tags = sw_json_get_arr(e, "RepoTags")))
			for (t = tags->child; t; t = t->next)
				if (t->type == SW_JSON_STR &&
				    sw_reference_normalize(t->s, have, sizeof(have), NULL) == 0 &&
				    strcmp(have, want) == 0)
					return e;
	sw_error_set(err, SW_ENOTFOUND, "archive has no image tagged %s", sel);
	return NULL;
}

int sw_image__load_docker(sw_image *img, const char *sel, const sw_image_opts *o,
			  sw_error *err)
{
	sw_json_doc *doc = NULL;
	const sw_json *root, *ent, *layers, *l, *tags;
	const char *cfgpath;
	char *body = NULL, *cfg = NULL, *cdig = NULL;
	size_t len, clen, i = 0;
	int rc;

	if ((rc = sw_fsview_read(img->fs, "manifest.json", o->max_manifest, &body, &len, err)) < 0)
		goto out;
	if ((rc = sw_json_parse(body, len, &doc, err)) < 0) {
		sw_error_prefix(err, "manifest.json");
		goto out;
	}
	root = sw_json_root(doc);
	if (root->type != SW_JSON_ARR || root->n == 0) {
		rc = sw_error_set(err, SW_EFORMAT, "manifest.json: expected a non-empty array");
		goto out;
	}
	if (!(ent = select_entry(root, sel, err))) {
		rc = err ? err->code : SW_ENOTFOUND;
		goto out;
	}
	cfgpath = sw_json_get_str(ent, "Config");
	layers = sw_json_get_arr(ent, "Layers");
	if (!cfgpath || !layers) {
		rc = sw_error_set(err, SW_EFORMAT, "manifest.json: Config or Layers missing");
		goto out;
	}
	if (layers->n > o->max_layers) {
		rc = sw_error_set(err, SW_ELIMIT, "manifest.json: %zu layers, over the limit of %u",
				  layers->n, o->max_layers);
		goto out;
	}
	if ((tags = sw_json_get_arr(ent, "RepoTags")) && tags->child &&
	    tags->child->type == SW_JSON_STR) {
		char norm[512];
		if (sw_reference_normalize(tags->child->s, norm, sizeof(norm), NULL) == 0)
			img->reference = sw__strdup(norm);
	}
	/* Config: verified against the digest its name promises. */
	if ((cdig = digest_from_path(cfgpath))) {
		if ((rc = sw_fsview_read(img->fs, cfgpath, o->max_config, &cfg, &clen, err)) < 0)
			goto out;
		uint8_t want[SW_SHA256_LEN], got[SW_SHA256_LEN];
		sw_digest_parse(cdig, want);
		sw_sha256_buf(cfg, clen, got);
		if (memcmp(want, got, sizeof(want)) != 0) {
			char gs[SW_DIGEST_STRLEN];
			sw_digest_str(got, gs);
			rc = sw_error_set(err, SW_EVERIFY, "config %s: content hashes to %s", cfgpath, gs);
			goto out;
		}
	} else {
		if ((rc = sw_fsview_read(img->fs, cfgpath, o->max_config, &cfg, &clen, err)) < 0)
			goto out;
		uint8_t got[SW_SHA256_LEN];
		sw_sha256_buf(cfg, clen, got);
		if (!(cdig = malloc(SW_DIGEST_STRLEN))) {
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
			goto out;
		}
		sw_digest_str(got, cdig);
	}
	img->config_digest = cdig;
	cdig = NULL;
	img->nlayers = layers->n;
	if (!(img->layers = calloc(layers->n + 1, sizeof(*img->layers))) ||
	    !(img->locs = calloc(layers->n + 1, sizeof(*img->locs)))) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	for (l = layers->child; l; l = l->next, i++) {
		sw_layer_info *li = &img->layers[i];
		if (l->type != SW_JSON_STR) {
			rc = sw_error_set(err, SW_EFORMAT, "manifest.json: Layers[%zu] is not a string", i);
			goto out;
		}
		li->index = i;
		li->digest = sw_image__keep(img, digest_from_path(l->s));
		li->media_type = "";
		if ((rc = sw_fsview_locate(img->fs, l->s, &img->locs[i], err)) < 0) {
			sw_error_prefix(err, "layer %zu", i);
			goto out;
		}
		li->size = (int64_t)img->locs[i].size;
		img->locs[i].verify = li->digest != NULL;
	}
	rc = sw_image__load_config(img, cfg, clen, err);
	cfg = NULL;
	if (rc < 0)
		goto out;
	/* Layers named opaquely (<id>/layer.tar) are known by their diff_id,
	 * which the stream verifies. */
	for (i = 0; i < img->nlayers; i++)
		if (!img->layers[i].digest)
			img->layers[i].digest = img->layers[i].diff_id;
out:
	free(cdig);
	free(cfg);
	free(body);
	sw_json_free(doc);
	return rc;
}
