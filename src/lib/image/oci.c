/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI image layouts, as a directory or inside a tar (oci-archive), and the
 * shared manifest reader used by docker-archives written by Docker >= 25.
 *
 * Registry references use the same reader: the manifest (or index) comes
 * from the registry by tag or digest, verified, and layers are streamed.
 *
 * Selection: index.json entries are filtered by tag (the
 * org.opencontainers.image.ref.name annotation), nested indexes are
 * followed (at most 4 deep), and among platform entries the requested
 * platform wins (default linux/amd64). BuildKit attestation manifests
 * (platform unknown/unknown) are never picked as images.
 */
#include <stdlib.h>
#include <string.h>

#include "image_int.h"
#include "stowaway/reference.h"
#include "../registry/registry.h"
#include "../util/banned.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MAX_INDEX_DEPTH 4

typedef struct want {
	const char *tag;
	const char *digest;      /* a variant: the manifest to take, wherever it is listed */
	bool explicit_platform;
	bool any_platform;       /* no explicit platform and none matches: the first image */
	char os[32], arch[32], variant[32];
} want;

static int parse_platform(const char *p, want *w, sw_error *err)
{
	const char *s1, *s2;

	if (!p)
		p = "linux/amd64";
	s1 = strchr(p, '/');
	if (!s1 || s1 == p || (size_t)(s1 - p) >= sizeof(w->os))
		return sw_error_set(err, SW_EINVAL, "platform \"%s\": expected os/arch[/variant]", p);
	memcpy(w->os, p, (size_t)(s1 - p));
	w->os[s1 - p] = '\0';
	s2 = strchr(s1 + 1, '/');
	if ((s2 ? (size_t)(s2 - s1 - 1) : strlen(s1 + 1)) >= sizeof(w->arch) ||
	    (s2 && strlen(s2 + 1) >= sizeof(w->variant)))
		return sw_error_set(err, SW_EINVAL, "platform \"%s\": too long", p);
	snprintf(w->arch, sizeof(w->arch), "%.*s",
		 (int)(s2 ? (size_t)(s2 - s1 - 1) : strlen(s1 + 1)), s1 + 1);
	snprintf(w->variant, sizeof(w->variant), "%s", s2 ? s2 + 1 : "");
	return 0;
}

static bool is_index(const sw_json *desc)
{
	const char *mt = sw_json_get_str(desc, "mediaType");
	return mt && (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0);
}

/* Not an image to scan: BuildKit attestation manifests (platform
 * unknown/unknown) and cosign attachments kept in a layout (ref names
 * sha256-<hex>.sig / .att, and sha256-<hex>: the referrers index of the
 * tag schema, where Sigstore bundles are listed). */
static bool is_attestation(const sw_json *desc)
{
	const sw_json *pf = sw_json_get_obj(desc, "platform");
	const char *os = sw_json_get_str(pf, "os"), *arch = sw_json_get_str(pf, "architecture");
	const char *name = sw_json_get_str(sw_json_get_obj(desc, "annotations"), "org.opencontainers.image.ref.name");
	size_t n = name ? strlen(name) : 0;

	if (name && n == 75 && strncmp(name, "sha256-", 7) == 0 &&
	    (strcmp(name + 71, ".sig") == 0 || strcmp(name + 71, ".att") == 0))
		return true;
	if (name && n == 71 && strncmp(name, "sha256-", 7) == 0 && strspn(name + 7, "0123456789abcdef") == 64)
		return true;
	return os && arch && strcmp(os, "unknown") == 0 && strcmp(arch, "unknown") == 0;
}

static bool platform_ok(const sw_json *desc, const want *w)
{
	const sw_json *pf = sw_json_get_obj(desc, "platform");
	const char *os, *arch, *var;

	if (!pf)
		return false;
	os = sw_json_get_str(pf, "os");
	arch = sw_json_get_str(pf, "architecture");
	var = sw_json_get_str(pf, "variant");
	if (!os || !arch || strcmp(os, w->os) != 0 || strcmp(arch, w->arch) != 0)
		return false;
	return !w->variant[0] || (var && strcmp(var, w->variant) == 0);
}

static const char *ref_name(const sw_json *desc)
{
	return sw_json_get_str(sw_json_get_obj(desc, "annotations"),
			       "org.opencontainers.image.ref.name");
}

/* Does choose() look at this entry: an image or index of the tag asked for
 * (at the top of a layout), not an attestation or attachment? */
static bool considered(const sw_json *d, const want *w, bool top)
{
	const char *t;

	if (d->type != SW_JSON_OBJ || is_attestation(d))
		return false;
	if (!top || !w->tag)
		return true;
	t = ref_name(d);
	return t && strcmp(t, w->tag) == 0;
}

/* The entry whose digest a variant's opening asks for, NULL: none here. */
static const sw_json *by_digest(const sw_json *manifests, const want *w, bool top)
{
	const sw_json *d;
	const char *dg;

	for (d = manifests->child; w->digest && d; d = d->next)
		if (considered(d, w, top) && (dg = sw_json_get_str(d, "digest")) && strcmp(dg, w->digest) == 0)
			return d;
	return NULL;
}

/* Choose one descriptor from an index's manifests. */
static int choose(const sw_json *manifests, const want *w, bool top,
		  const sw_json **out, sw_error *err)
{
	const sw_json *d, *only = NULL, *first = NULL, *plat = NULL;
	size_t n = 0, named = 0;
	sw_buf tags = SW_BUF_INIT(512);
	int rc = 0;

	if ((*out = by_digest(manifests, w, top)))
		return 0;
	for (d = manifests->child; d; d = d->next) {
		if (d->type != SW_JSON_OBJ || is_attestation(d))
			continue;
		if (top && ref_name(d)) {
			sw_buf_printf(&tags, "%s%s", tags.len ? ", " : "", ref_name(d));
			named++;
		}
		if (!considered(d, w, top))
			continue;
		n++;
		only = d;
		if (!first)
			first = d;
		if (!plat && platform_ok(d, w))
			plat = d;
	}
	if (n == 0) {
		if (top && w->tag)
			rc = sw_error_set(err, SW_ENOTFOUND, "tag \"%s\" not in index.json (tags: %s)",
					  w->tag, tags.len ? sw_buf_cstr(&tags) : "none");
		else
			rc = sw_error_set(err, SW_ENOTFOUND, "index lists no image manifest");
		sw_buf_release(&tags);
		return rc;
	}
	/* A lone manifest is the image unless the user asked for another
	 * platform than the one it declares. */
	if (plat)
		*out = plat;
	else if (n == 1 && (!sw_json_get(only, "platform") || is_index(only) ||
			    !w->explicit_platform))
		*out = only;
	if (!*out && top && !w->tag && named > 1) /* several images, not several platforms */
		rc = sw_error_set(err, SW_ENOTFOUND,
				  "index.json holds %zu images (tags: %s): name one as DIR:TAG", n, sw_buf_cstr(&tags));
	else if (!*out && w->any_platform && !w->explicit_platform)
		*out = first;
	else if (!*out)
		rc = sw_error_set(err, SW_ENOTFOUND,
				  "no manifest for platform %s/%s%s%s among %zu; use --platform",
				  w->os, w->arch, w->variant[0] ? "/" : "", w->variant, n);
	sw_buf_release(&tags);
	return rc;
}

/* The image manifests of the index a manifest was chosen from (every
 * entry choose() considered that is not an index), when there are several:
 * what a scan of every platform reads. */
static int note_variants(sw_image *img, const sw_json *manifests, const want *w, bool top, const char *index_digest)
{
	const sw_json *d;
	size_t n = 0;
	bool oom = false;

	for (d = manifests->child; d; d = d->next)
		n += considered(d, w, top) && !is_index(d) && sw_json_get_str(d, "digest");
	img->nvariants = img->variants_over = 0;
	if (n < 2)
		return 0;
	free(img->variants);
	if (!(img->variants = calloc(n < SW_IMAGE_MAX_PLATFORMS ? n : SW_IMAGE_MAX_PLATFORMS, sizeof(*img->variants))))
		return SW_ENOMEM;
	if (index_digest && !(img->index_digest = sw_image__keep(img, sw__strdup(index_digest))))
		return SW_ENOMEM;
	for (d = manifests->child; d; d = d->next) {
		sw_image_variant *v = &img->variants[img->nvariants];
		const sw_json *pf = sw_json_get_obj(d, "platform");
		if (!considered(d, w, top) || is_index(d) || !sw_json_get_str(d, "digest"))
			continue;
		if (img->nvariants == SW_IMAGE_MAX_PLATFORMS) {
			img->variants_over++;
			continue;
		}
		v->platform = pf ? sw_image__platform_str(img, pf, &oom) : NULL;
		if (oom || !(v->digest = sw_image__keep(img, sw__strdup(sw_json_get_str(d, "digest")))))
			return SW_ENOMEM;
		img->nvariants++;
	}
	return 0;
}

static int desc_fields(const sw_json *d, const char **digest, int64_t *size,
		       const char *what, sw_error *err)
{
	*digest = sw_json_get_str(d, "digest");
	if (!*digest || !sw_digest_valid(*digest))
		return sw_error_set(err, SW_EFORMAT, "%s: descriptor digest missing or not sha256", what);
	if (sw_json_get_i64(d, "size", size) < 0 || *size < 0)
		return sw_error_set(err, SW_EFORMAT, "%s %s: descriptor size missing or negative",
				    what, *digest);
	return 0;
}

/* Read a verified manifest and fill layers + config. */
static int load_manifest(sw_image *img, const char *digest, char *body, size_t len,
			 const sw_image_opts *o, sw_error *err)
{
	sw_json_doc *doc = NULL;
	const sw_json *root, *cfg, *layers, *l;
	const char *cdig;
	int64_t csize;
	char *cbytes = NULL;
	size_t clen, i = 0;
	int64_t sv;
	int rc;

	if ((rc = sw_json_parse(body, len, &doc, err)) < 0) {
		sw_error_prefix(err, "manifest %s", digest);
		goto out;
	}
	root = sw_json_root(doc);
	if (sw_json_get_i64(root, "schemaVersion", &sv) < 0 || sv != 2) {
		rc = sw_error_set(err, SW_EFORMAT, "manifest %s: schemaVersion must be 2", digest);
		goto out;
	}
	cfg = sw_json_get_obj(root, "config");
	layers = sw_json_get_arr(root, "layers");
	if (!cfg || !layers) {
		rc = sw_error_set(err, SW_EFORMAT, "manifest %s: config or layers missing", digest);
		goto out;
	}
	if (layers->n > o->max_layers) {
		rc = sw_error_set(err, SW_ELIMIT, "manifest %s: %zu layers, over the limit of %u",
				  digest, layers->n, o->max_layers);
		goto out;
	}
	img->nlayers = layers->n;
	if (!(img->layers = calloc(layers->n + 1, sizeof(*img->layers))) ||
	    !(img->locs = calloc(layers->n + 1, sizeof(*img->locs)))) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	for (l = layers->child; l; l = l->next, i++) {
		sw_layer_info *li = &img->layers[i];
		const char *ld;
		char path[128];
		if ((rc = desc_fields(l, &ld, &li->size, "layer", err)) < 0)
			goto out;
		li->index = i;
		if (!(li->digest = sw_image__keep(img, sw__strdup(ld))) ||
		    !(li->media_type = sw_image__keep(img, sw__strdup(sw_json_get_str(l, "mediaType") ?
								    sw_json_get_str(l, "mediaType") : "")))) {
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
			goto out;
		}
		if (img->reg) {
			/* streamed from the registry when scanned; verified then */
			img->locs[i].fd = -1;
			img->locs[i].size = (uint64_t)li->size;
			img->locs[i].verify = true;
			continue;
		}
		snprintf(path, sizeof(path), "blobs/sha256/%s", ld + 7);
		if ((rc = sw_fsview_locate(img->fs, path, &img->locs[i], err)) < 0) {
			sw_error_prefix(err, "layer %zu blob %s", i, ld);
			goto out;
		}
		img->locs[i].verify = true;
		if (img->locs[i].size != (uint64_t)li->size) {
			rc = sw_error_set(err, SW_EVERIFY, "layer %zu blob %s: %llu bytes, descriptor says %lld",
					  i, ld, (unsigned long long)img->locs[i].size, (long long)li->size);
			goto out;
		}
	}
	if ((rc = desc_fields(cfg, &cdig, &csize, "config", err)) < 0)
		goto out;
	if ((rc = sw_image__read_blob(img, cdig, csize, o->max_config, &cbytes, &clen, err)) < 0)
		goto out;
	free(img->manifest);
	if (!(img->config_digest = sw__strdup(cdig)) ||
	    !(img->manifest_digest = sw__strdup(digest)) ||
	    !(img->manifest = sw__strndup(body, len))) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	img->manifest_len = len;
	rc = sw_image__load_config(img, cbytes, clen, err);
	cbytes = NULL; /* owned by img now */
out:
	free(cbytes);
	sw_json_free(doc);
	return rc;
}

int sw_image__load_oci(sw_image *img, const char *tag, const sw_image_opts *o, sw_error *err)
{
	char *idx = NULL, *body = NULL, *lay = NULL;
	sw_json_doc *docs[MAX_INDEX_DEPTH + 1] = { 0 };
	const sw_json *cur, *desc = NULL, *lv;
	const char *cur_dg = NULL, *dg = NULL;
	size_t len, laylen;
	int depth, rc;
	want w;

	memset(&w, 0, sizeof(w));
	w.tag = tag && *tag ? tag : NULL;
	w.digest = img->want;
	w.explicit_platform = o->platform != NULL;
	w.any_platform = o->any_platform;
	if ((rc = parse_platform(o->platform, &w, err)) < 0)
		return rc;
	if ((rc = sw_fsview_read(img->fs, "oci-layout", 4096, &lay, &laylen, err)) < 0)
		return sw_error_prefix(err, "not an OCI layout");
	if ((rc = sw_json_parse(lay, laylen, &docs[0], err)) < 0 ||
	    !(lv = sw_json_root(docs[0])) || !sw_json_get_str(lv, "imageLayoutVersion")) {
		rc = rc < 0 ? sw_error_prefix(err, "oci-layout") :
			sw_error_set(err, SW_EFORMAT, "oci-layout: imageLayoutVersion missing");
		goto out;
	}
	sw_json_free(docs[0]);
	docs[0] = NULL;
	if ((rc = sw_fsview_read(img->fs, "index.json", o->max_manifest, &idx, &len, err)) < 0)
		goto out;
	if ((rc = sw_json_parse(idx, len, &docs[0], err)) < 0) {
		sw_error_prefix(err, "index.json");
		goto out;
	}
	cur = sw_json_root(docs[0]);
	for (depth = 0;; depth++, cur_dg = dg) {
		const sw_json *mans = sw_json_get_arr(cur, "manifests");
		int64_t sz;
		if (!mans) {
			rc = sw_error_set(err, SW_EFORMAT, "%s: manifests array missing",
					  depth ? "image index" : "index.json");
			goto out;
		}
		if ((rc = choose(mans, &w, depth == 0, &desc, err)) < 0)
			goto out;
		if ((rc = sw_image__note_platforms(img, mans, depth == 0 ? w.tag : NULL)) < 0 ||
		    (!is_index(desc) && (rc = note_variants(img, mans, &w, depth == 0, cur_dg)) < 0)) {
			sw_error_set(err, rc, "out of memory");
			goto out;
		}
		if (depth == 0) {
			const sw_json *ann = sw_json_get_obj(desc, "annotations");
			const char *name = sw_json_get_str(ann, "io.containerd.image.name");
			char norm[512];
			if (name && sw_reference_normalize(name, norm, sizeof(norm), NULL) == 0)
				img->reference = sw__strdup(norm);
		}
		if ((rc = desc_fields(desc, &dg, &sz, "manifest", err)) < 0)
			goto out;
		free(body);
		if ((rc = sw_image__read_blob(img, dg, sz, o->max_manifest, &body, &len, err)) < 0)
			goto out;
		if (!is_index(desc)) {
			rc = load_manifest(img, dg, body, len, o, err);
			goto out;
		}
		if (depth + 1 > MAX_INDEX_DEPTH) {
			rc = sw_error_set(err, SW_ELIMIT, "image indexes nested deeper than %d",
					  MAX_INDEX_DEPTH);
			goto out;
		}
		if ((rc = sw_json_parse(body, len, &docs[depth + 1], err)) < 0) {
			sw_error_prefix(err, "image index %s", dg);
			goto out;
		}
		cur = sw_json_root(docs[depth + 1]);
	}
out:
	for (depth = 0; depth <= MAX_INDEX_DEPTH; depth++)
		sw_json_free(docs[depth]);
	free(idx);
	free(body);
	free(lay);
	return rc;
}

/* ---- registry references ---- */

static bool body_is_index(const char *media_type, const sw_json *root)
{
	const char *mt = sw_json_get_str(root, "mediaType");

	if (sw_json_get_arr(root, "manifests") && !sw_json_get_arr(root, "layers"))
		return true;
	return (mt && (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0)) ||
	       (media_type && (strncmp(media_type, MT_OCI_INDEX, strlen(MT_OCI_INDEX)) == 0 ||
			       strncmp(media_type, MT_DOCKER_LIST, strlen(MT_DOCKER_LIST)) == 0));
}

int sw_image__load_registry(sw_image *img, const char *input, const sw_image_opts *o, sw_error *err)
{
	sw_ref ref;
	char *body = NULL, *mt = NULL, *dg = NULL, full[1024];
	sw_json_doc *doc = NULL;
	size_t len;
	int depth, rc;
	want w;

	memset(&w, 0, sizeof(w));
	w.explicit_platform = o->platform != NULL;
	w.any_platform = o->any_platform;
	if ((rc = parse_platform(o->platform, &w, err)) < 0)
		return rc;
	if ((rc = sw_ref_parse(input, &ref, err)) < 0)
		return rc;
	sw_ref_format(&ref, SW_REF_DEFAULT, full, sizeof(full));
	if (!(img->reference = sw__strdup(full)))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	if ((rc = sw_reg_open(&img->reg, ref.domain, ref.path, o->registry, err)) < 0)
		return rc;
	/* a digest decides; a tag is only a name for it */
	rc = sw_reg_manifest(img->reg, ref.digest[0] ? ref.digest : ref.tag[0] ? ref.tag : "latest",
			     o->max_manifest, &body, &len, &mt, &dg, err);
	for (depth = 0; rc == 0; depth++) {
		const sw_json *root, *desc = NULL;
		const char *next;
		int64_t sz;
		if ((rc = sw_json_parse(body, len, &doc, err)) < 0) {
			sw_error_prefix(err, "%s: manifest %s", full, dg);
			break;
		}
		root = sw_json_root(doc);
		if (!body_is_index(mt, root)) {
			rc = load_manifest(img, dg, body, len, o, err);
			break;
		}
		if (depth + 1 > MAX_INDEX_DEPTH) {
			rc = sw_error_set(err, SW_ELIMIT, "%s: image indexes nested deeper than %d", full,
					  MAX_INDEX_DEPTH);
			break;
		}
		if (!sw_json_get_arr(root, "manifests")) {
			rc = sw_error_set(err, SW_EFORMAT, "%s: image index %s: manifests array missing", full, dg);
			break;
		}
		if ((rc = choose(sw_json_get_arr(root, "manifests"), &w, false, &desc, err)) < 0 ||
		    (rc = desc_fields(desc, &next, &sz, "manifest", err)) < 0) {
			sw_error_prefix(err, "%s", full);
			break;
		}
		if ((rc = sw_image__note_platforms(img, sw_json_get_arr(root, "manifests"), NULL)) < 0 ||
		    (!is_index(desc) && (rc = note_variants(img, sw_json_get_arr(root, "manifests"), &w, false, dg)) < 0)) {
			sw_error_set(err, rc, "out of memory");
			break;
		}
		if (sz > 0 && (uint64_t)sz > o->max_manifest) {
			rc = sw_error_set(err, SW_ELIMIT, "%s: manifest %s declares %lld bytes, over the limit", full, next,
					  (long long)sz);
			break;
		}
		{
			char *nd = sw__strdup(next);
			free(body);
			free(mt);
			free(dg);
			body = mt = dg = NULL;
			sw_json_free(doc);
			doc = NULL;
			if (!nd) {
				rc = sw_error_set(err, SW_ENOMEM, "out of memory");
				break;
			}
			rc = sw_reg_manifest(img->reg, nd, o->max_manifest, &body, &len, &mt, &dg, err);
			if (rc == 0 && len != (size_t)sz)
				rc = sw_error_set(err, SW_EVERIFY, "%s: manifest %s is %zu bytes, the index says %lld", full,
						  nd, len, (long long)sz);
			free(nd);
		}
	}
	sw_json_free(doc);
	free(body);
	free(mt);
	free(dg);
	return rc;
}

int sw_image__open_fetched(sw_image **out, const char *input, struct sw_reg *reg, const char *digest,
			   const char *body, size_t len, const sw_image_opts *o, sw_error *err)
{
	sw_image_opts defo = SW_IMAGE_OPTS_INIT;
	sw_image *img = calloc(1, sizeof(*img));
	sw_json_doc *doc = NULL;
	sw_ref ref;
	char *copy = NULL, full[1024];
	int rc;

	*out = NULL;
	if (!o)
		o = &defo;
	if (!img) {
		sw_reg_free(reg);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	img->kind = SW_SRC_REGISTRY;
	img->reg = reg;
	if (strncmp(input, "docker://", 9) == 0)
		input += 9;
	if ((rc = sw_ref_parse(input, &ref, err)) < 0)
		goto out;
	sw_ref_format(&ref, SW_REF_DEFAULT, full, sizeof(full));
	if (!(img->input = sw__strdup(input)) || !(img->reference = sw__strdup(full)) ||
	    !(copy = sw__strndup(body, len))) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = sw_json_parse(body, len, &doc, err)) < 0) {
		sw_error_prefix(err, "%s: manifest %s", full, digest);
		goto out;
	}
	if (body_is_index(NULL, sw_json_root(doc))) {
		rc = sw_error_set(err, SW_EINVAL, "%s: %s is an index, not an image manifest", full, digest);
		goto out;
	}
	if ((rc = load_manifest(img, digest, copy, len, o, err)) < 0)
		goto out;
	*out = img;
	img = NULL;
out:
	free(copy);
	sw_json_free(doc);
	sw_image_free(img);
	return rc;
}

int sw_image__stream_layer(const sw_image *img, size_t i, int (*sink)(void *ctx, const uint8_t *p, size_t n),
			   void *ctx, sw_error *err)
{
	if (!img->reg || i >= img->nlayers)
		return sw_error_set(err, SW_EINVAL, "layer %zu is not a registry blob", i);
	return sw_reg_stream(img->reg, img->layers[i].digest, sink, ctx, err);
}
