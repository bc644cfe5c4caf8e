/* SPDX-License-Identifier: Apache-2.0 */
/* What signing and verifying share: an image's digest and its .sig manifest. */
#ifndef SW_SIGN_SIGSTORE_H
#define SW_SIGN_SIGSTORE_H

#include "stowaway/reference.h"
#include "stowaway/sign.h"
#include "../registry/registry.h"
#include "../util/util.h"

typedef struct sw_sigimage {
	sw_ref ref;
	char full[1024];          /* the reference as given, normalised */
	sw_reg *reg;
	char *digest;             /* what the reference resolves to (manifest or index) */
	char tag[80];             /* sha256-<hex>.sig */
	sw_json_doc *doc;         /* the .sig manifest, or NULL when there is none */
	const sw_json *layers;    /* its layers (NULL when none) */
} sw_sigimage;

/* Resolve the reference's digest and read its .sig manifest if there is one. */
int sw_sigimage_open(const char *ref, const sw_image_opts *o, sw_sigimage *si, sw_error *err);
void sw_sigimage_close(sw_sigimage *si);

#endif
