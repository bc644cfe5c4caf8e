/* SPDX-License-Identifier: Apache-2.0 */
/* Internal view of an image, shared by the sources and the layer reader. */
#ifndef SW_IMAGE_INT_H
#define SW_IMAGE_INT_H

#include <stdbool.h>

#include "stowaway/image.h"
#include "../util/util.h"

/* Where a blob's bytes are: a byte range of an open file. */
typedef struct sw_blobloc {
	int fd;
	uint64_t off, size;
	bool verify;   /* the layer's digest names these bytes: check it */
} sw_blobloc;

/* A read-only file tree: an OCI layout directory or a tar file's members. */
typedef struct sw_fsview sw_fsview;
int sw_fsview_open_dir(sw_fsview **out, const char *path, sw_error *err);
int sw_fsview_open_tar(sw_fsview **out, const char *path, sw_error *err);
void sw_fsview_free(sw_fsview *v);
bool sw_fsview_exists(sw_fsview *v, const char *path);
/* Locate a regular file; symlinks and anything outside the tree are refused. */
int sw_fsview_locate(sw_fsview *v, const char *path, sw_blobloc *out, sw_error *err);
/* Read a whole small file, at most `max` bytes (else SW_ELIMIT). */
int sw_fsview_read(sw_fsview *v, const char *path, uint64_t max, char **out,
		   size_t *len, sw_error *err);

struct sw_image {
	sw_source_kind kind;
	char *input, *reference, *manifest_digest, *config_digest;
	char *config;
	size_t config_len;
	sw_json_doc *config_doc;
	sw_layer_info *layers;
	size_t nlayers;
	sw_blobloc *locs;        /* per layer */
	char **strings;          /* owned strings the layer infos point into */
	size_t nstrings;
	sw_fsview *fs;
	char *rootfs;            /* dir: source */
	struct sw_reg *reg;      /* registry source: the repository's client */
	char *manifest;          /* the image manifest's bytes, as verified */
	size_t manifest_len;
	const char *platform;    /* "os/arch[/variant]" its config declares (kept), or NULL */
	const char **platforms;  /* what the index it was picked from offers (strings kept) */
	size_t nplatforms;
	sw_image_opts opts;      /* as opened (a variant is opened with them) */
	bool platform_named;     /* opts.platform was given */
	const char *want;        /* a variant being opened: the manifest digest to take (kept) */
	sw_image_variant *variants; /* the image manifests of that index (strings kept) */
	size_t nvariants, variants_over;
	const char *index_digest;   /* the index that listed them (kept), NULL: index.json */
};

/* Keep `s` alive as long as the image; returns it (NULL on OOM). */
char *sw_image__keep(sw_image *img, char *s);
/* Note the platforms an index offers (its image entries that declare one,
 * of tag when not NULL; at most SW_IMAGE_MAX_PLATFORMS), when it offers
 * more than one: a report says which were there besides the one picked.
 * SW_ENOMEM. */
int sw_image__note_platforms(sw_image *img, const sw_json *manifests, const char *tag);
/* "os/arch[/variant]" of a platform object, kept by img; NULL when it names
 * neither, or on OOM (*oom set). */
const char *sw_image__platform_str(sw_image *img, const sw_json *pf, bool *oom);
/* Fill config fields, diff_ids and created_by from verified config bytes,
 * checking the diff_id count against the layer count. */
int sw_image__load_config(sw_image *img, char *cfg, size_t len, sw_error *err);
int sw_image__load_oci(sw_image *img, const char *tag, const sw_image_opts *o, sw_error *err);
int sw_image__load_docker(sw_image *img, const char *sel, const sw_image_opts *o, sw_error *err);
/* A registry reference: manifest (or index, by platform), config, layer
 * descriptors; layer bytes are streamed later (sw_image__stream_layer). */
int sw_image__load_registry(sw_image *img, const char *ref, const sw_image_opts *o, sw_error *err);
/* A registry image from a manifest already fetched and verified by its
 * digest (body, len bytes) through reg, the repository's client, which the
 * image takes (freed with it, or here on failure): nothing is asked of the
 * registry again but the config (and, when scanned, the layers). An index
 * is SW_EINVAL. */
int sw_image__open_fetched(sw_image **out, const char *input, struct sw_reg *reg, const char *digest,
			   const char *body, size_t len, const sw_image_opts *o, sw_error *err);
/* Registry layers (locs[i].fd < 0): stream the blob into sink. */
int sw_image__stream_layer(const sw_image *img, size_t i, int (*sink)(void *ctx, const uint8_t *p, size_t n),
			   void *ctx, sw_error *err);
/* Read a blob through the view and check size and digest. */
int sw_image__read_blob(sw_image *img, const char *digest, int64_t size,
			uint64_t max, char **out, size_t *len, sw_error *err);

const char *sw_image__rootfs(const sw_image *img);
const sw_blobloc *sw_image__layer_loc(const sw_image *img, size_t i);

#endif
