/* SPDX-License-Identifier: Apache-2.0 */
/* The images named by Dockerfiles, Kubernetes manifests and compose files. */
#ifndef STOWAWAY_MANIFESTS_H
#define STOWAWAY_MANIFESTS_H

#include <stddef.h>

#include "stowaway/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_image_use {
	char *image;   /* as written ("" when the manifest has a non-string image) */
	char *file;
	int line;
	char *where;   /* "Deployment web, containers app", "FROM --platform=...", ... */
} sw_image_use;

/* Collect from a file or a directory tree (symbolic links not followed;
 * Dockerfile*, Containerfile*, *.Dockerfile, *.yaml, *.yml). A YAML or
 * size problem is an error naming the file and line. */
int sw_manifests_collect(const char *path, sw_image_use **out, size_t *n, sw_error *err);
void sw_image_uses_free(sw_image_use *v, size_t n);

#ifdef __cplusplus
}
#endif

#endif
