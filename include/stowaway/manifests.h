/* SPDX-License-Identifier: Apache-2.0 */
/* The images named by Dockerfiles, Kubernetes manifests and compose files. */
#ifndef STOWAWAY_MANIFESTS_H
#define STOWAWAY_MANIFESTS_H

#include <stddef.h>

#include "stowaway/export.h"
#include "stowaway/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_image_use {
	char *image;   /* as written, compose variables expanded ("" when the
		        * manifest has a non-string image, or for an error) */
	char *file;
	int line;
	char *where;   /* "Deployment web, containers app", "FROM --platform=...", ... */
	char *error;   /* NULL, or why this file could not be read: a YAML error,
		        * an unrendered template, a file too large (file and line
		        * say where; image is "") */
} sw_image_use;

typedef struct sw_manifests_opts {
	/* Globs (fnmatch, '*' crosses '/') matched against each path as
	 * displayed and against its last component: directories not entered,
	 * files not read. */
	const char *const *skip_dirs;
	size_t nskip_dirs;
	const char *const *skip_files;
	size_t nskip_files;
} sw_manifests_opts;

/* Collect from a file, a directory tree (symbolic links not followed;
 * Dockerfile*, Containerfile*, *.Dockerfile, *.yaml, *.yml), or standard
 * input ("-", shown as "(stdin)"). A file that cannot be read or parsed
 * is one use with its error, and the walk goes on; what stops it is
 * returned (the path missing, out of memory, more files or uses than the
 * bounds). Compose image values have ${VAR}, ${VAR:-default},
 * ${VAR-default} expanded from the environment, then from the .env file
 * beside the compose file, as docker compose does. o may be NULL. */
SW_API int sw_manifests_collect(const char *path, const sw_manifests_opts *o, sw_image_use **out, size_t *n,
				sw_error *err);
SW_API void sw_image_uses_free(sw_image_use *v, size_t n);

#ifdef __cplusplus
}
#endif

#endif
