/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image references, parsed the way Docker and containerd parse them
 * (distribution/reference: ParseNormalizedNamed), so that a name means the
 * same thing to stowaway as to the runtime that pulls it.
 */
#ifndef STOWAWAY_REFERENCE_H
#define STOWAWAY_REFERENCE_H

#include <stddef.h>

#include "stowaway/export.h"
#include "stowaway/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SW_REF_MAX_INPUT 4096

typedef struct sw_ref {
	char domain[256];   /* "docker.io", "localhost:5000", "[::1]:5000" */
	char path[256];     /* "library/openjdk": lowercase, at most 255 */
	char tag[129];      /* "" when none */
	char digest[136];   /* "sha256:<64 hex>" or "" */
} sw_ref;

/* Parse and normalise: default domain docker.io, index.docker.io folded
 * into it, "library/" before single-component Docker Hub names. No tag is
 * added. Refuses what Docker refuses, with a message that says why. */
SW_API int sw_ref_parse(const char *s, sw_ref *r, sw_error *err);

typedef enum sw_ref_form {
	SW_REF_FULL,      /* docker.io/library/openjdk:17@sha256:...  (tag as given) */
	SW_REF_NAME,      /* docker.io/library/openjdk */
	SW_REF_FAMILIAR,  /* openjdk:17@sha256:... (what `docker` prints) */
	SW_REF_DEFAULT,   /* FULL, with ":latest" when neither tag nor digest */
} sw_ref_form;

/* Write a form into out (size n); SW_ELIMIT when it does not fit. */
SW_API int sw_ref_format(const sw_ref *r, sw_ref_form form, char *out, size_t n);

#ifdef __cplusplus
}
#endif

#endif
