/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image sources. An sw_image is the verified description of one image:
 * manifest and config bytes (both checked against their digests and size
 * bounds at open time), the layer list with diff_ids, and a way to read each
 * layer blob. Layer blobs are verified while they stream (see scan.h).
 *
 * Inputs:  oci:DIR[:TAG]   oci-archive:FILE[:TAG]   docker-archive:FILE[:N]
 *          dir:ROOTFS      a bare path (sniffed)
 */
#ifndef STOWAWAY_IMAGE_H
#define STOWAWAY_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stowaway/export.h"
#include "stowaway/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_image sw_image;

/* How to reach registries (registry references only). */
typedef struct sw_registry_opts {
	const char *const *insecure;  /* hosts ("host:port") spoken to over plain HTTP */
	size_t n_insecure;
	const char *ca_file;          /* extra trusted CA certificates (PEM) */
	const char *creds;            /* "user:password" for the image's registry */
	const char *docker_config;    /* config.json; NULL = $DOCKER_CONFIG or ~/.docker */
	const char *const *mirrors;   /* Docker Hub mirrors ("host[:port]"), tried first */
	size_t n_mirrors;
	double connect_timeout;       /* seconds; 0 = 15 */
	double stall_timeout;         /* seconds without a byte; 0 = 30 */
	unsigned retries;             /* on 429, 5xx, resets; 0 = 4 */
	/* Around every HTTP request (rate limits, politeness, counters),
	 * called from whatever thread makes it: before returns when the
	 * request may go; after gets the HTTP status (0: no answer) and the
	 * seconds of a Retry-After header (0: none). NULL: none. */
	void (*before_request)(void *ctx, const char *host);
	void (*after_request)(void *ctx, const char *host, long status, double retry_after);
	void *request_ctx;
} sw_registry_opts;

typedef struct sw_image_opts {
	const char *platform;     /* "os/arch[/variant]"; NULL = linux/amd64 */
	uint64_t max_manifest;    /* bytes of a manifest or index */
	uint64_t max_config;      /* bytes of an image config */
	uint32_t max_layers;      /* layers per image */
	const sw_registry_opts *registry;  /* NULL = defaults */
	/* platform NULL and an index without linux/amd64: take its first
	 * image rather than fail (for a caller that reads every platform of
	 * the index anyway: sw_scan_platforms) */
	bool any_platform;
} sw_image_opts;

#define SW_IMAGE_OPTS_INIT { NULL, 4u << 20, 16u << 20, 1024, NULL, false }

/* Image manifests one index may list that are read (sw_image_variants);
 * those beyond are counted, never read. */
#define SW_IMAGE_MAX_PLATFORMS 64

typedef enum { SW_SRC_OCI, SW_SRC_OCI_ARCHIVE, SW_SRC_DOCKER_ARCHIVE,
	       SW_SRC_DIR, SW_SRC_REGISTRY } sw_source_kind;

typedef struct sw_layer_info {
	size_t index;
	const char *digest;      /* blob digest; for uncompressed docker-archive layers the diff_id */
	const char *diff_id;     /* from the config; NULL for dir: */
	int64_t size;            /* blob size; -1 when the source does not say */
	const char *media_type;  /* as declared: informational only, never trusted */
	const char *created_by;  /* history step that made this layer, or NULL */
} sw_layer_info;

/* How input names an image, without opening it: the one reader of inputs
 * every command shares. Sets *kind; for a local source *path and *sel (the
 * part after the last ':' that leaves an existing path, "DIR:TAG"; may be
 * NULL), for a registry reference *path is the reference without any
 * "docker://" or "registry:" prefix. Both malloc'd, the caller frees. A
 * bare path is sniffed (it must exist: a directory with oci-layout, another
 * directory, or a tar holding manifest.json or oci-layout); what is not a
 * file and parses as a reference is one, as Docker reads it. Errors:
 * SW_ENOTFOUND (neither), SW_EFORMAT (a file that is not an image), SW_ENOMEM. */
SW_API int sw_image_classify(const char *input, sw_source_kind *kind, char **path, char **sel, sw_error *err);

/* Open and verify an image. On success *out belongs to the caller
 * (sw_image_free). Errors: SW_EFORMAT (malformed), SW_EVERIFY (digest or size
 * mismatch), SW_ENOTFOUND (no such tag/platform/file), SW_ELIMIT, SW_EIO. */
SW_API int sw_image_open(sw_image **out, const char *input, const sw_image_opts *opts,
			 sw_error *err);
SW_API void sw_image_free(sw_image *img);

/* Borrowed strings, valid until sw_image_free. May be NULL when the source
 * has no such thing (a dir: rootfs has no manifest). */
SW_API sw_source_kind sw_image_kind(const sw_image *img);
SW_API const char *sw_image_input(const sw_image *img);
SW_API const char *sw_image_reference(const sw_image *img);
SW_API const char *sw_image_manifest_digest(const sw_image *img);
SW_API const char *sw_image_config_digest(const sw_image *img);
SW_API const char *sw_image_config(const sw_image *img, size_t *len);
SW_API size_t sw_image_layer_count(const sw_image *img);
SW_API const sw_layer_info *sw_image_layer(const sw_image *img, size_t i);
/* The platform its config declares, "os/arch[/variant]" (NULL: none). */
SW_API const char *sw_image_platform(const sw_image *img);
/* The platforms offered by the index the image was picked from (*n of
 * them, borrowed; n 0 when it came from no index or one of one platform). */
SW_API const char *const *sw_image_platforms(const sw_image *img, size_t *n);

/* One image manifest of the index an image was picked from. */
typedef struct sw_image_variant {
	const char *platform;    /* "os/arch[/variant]" its descriptor declares; NULL: none */
	const char *digest;      /* the manifest's digest */
} sw_image_variant;

/* Every image manifest of the index img was picked from (the deepest one,
 * when indexes nest), in the index's order, img's own among them:
 * attestation manifests (platform unknown/unknown), cosign attachments,
 * nested indexes and, at the top of a layout, other tags' images are
 * none. At most SW_IMAGE_MAX_PLATFORMS; *over (may be NULL) counts those
 * beyond. Borrowed, valid until sw_image_free; *n is 0 when img came from
 * no index or from one listing a single image. */
SW_API const sw_image_variant *sw_image_variants(const sw_image *img, size_t *n, size_t *over);
/* Was img opened for a platform its caller named (sw_image_opts.platform)? */
SW_API bool sw_image_platform_named(const sw_image *img);
/* The digest of the index the variants were listed in; NULL when it was a
 * layout's index.json, or img came from no index. Borrowed. */
SW_API const char *sw_image_index_digest(const sw_image *img);

/* Open variant i of img (sw_image_variants): the same input read again
 * with the options img was opened with (their registry options must still
 * be alive), that manifest taken by its digest (a registry image: the
 * repository @digest, so a tag moved meanwhile changes nothing). *out
 * belongs to the caller. Errors as sw_image_open; SW_ENOTFOUND also when
 * the manifest or a blob of it is not there (a layout that holds only some
 * platforms' blobs), SW_EINVAL for i out of range. */
SW_API int sw_image_open_variant(const sw_image *img, size_t i, sw_image **out, sw_error *err);

/* Normalise a registry reference the way Docker does ("alpine" ->
 * "docker.io/library/alpine:latest"). Writes into out (size n). */
SW_API int sw_reference_normalize(const char *ref, char *out, size_t n, sw_error *err);

typedef struct sw_pull_opts {
	unsigned max_ratio;       /* decompressed bytes per blob byte (after 16 MiB of a layer) */
	double timeout;           /* seconds for the whole copy */
	const char *tag;          /* the layout's name for it (ref.name); NULL: the source's tag */
} sw_pull_opts;

#define SW_PULL_OPTS_INIT { 250, 600, NULL }

/* Copy an image (a registry reference, or any source with a manifest) into
 * an OCI layout directory: the manifest, config and layer blobs byte for
 * byte, each verified, and index.json naming it (ref.name = the tag). Layers
 * go through the same verified stream as a scan (decompressed and read as
 * tar on the way: diff_id, ratio, deadline), so a layout pull writes holds
 * nothing a scan would refuse to read. The directory is created, or must be
 * empty. po NULL: defaults. */
SW_API int sw_image_pull(const char *input, const char *oci_dir, const sw_image_opts *opts,
			 const sw_pull_opts *po, sw_error *err);

#ifdef __cplusplus
}
#endif
#endif
