/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes AdmissionReview v1 (review.c): the request read into what the
 * webhook judges (the images of a pod spec, wherever the kind keeps it),
 * and the response written with the one JSON writer.
 */
#ifndef SW_SERVE_REVIEW_H
#define SW_SERVE_REVIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/util.h"

#define SW_REVIEW_MAX_IMAGES 64     /* distinct images in one review */
#define SW_REVIEW_MAX_FIELD 512     /* uid, kind, namespace, name... longer: cut */

#define SW_REVIEW_MAX_PLACES 256     /* places (containers) one review's images fill, in all */
#define SW_REVIEW_PATCH_MAX (1u << 20) /* the JSONPatch of one answer */

typedef struct sw_review_image {
	char *image;   /* as the object names it */
	char *where;   /* its first place: "spec.template.spec.containers[1]" */
	char **ptrs;   /* every place, as a JSON pointer to its "image" member
			* ("/spec/template/spec/containers/1/image"), for /mutate */
	size_t nptrs;
} sw_review_image;

typedef struct sw_review {
	char *uid, *kind, *group, *ns, *name, *operation, *sub_resource;
	bool dry_run;
	bool judged;           /* a kind, subresource and operation we judge */
	sw_review_image *images; /* distinct; for an UPDATE, only those not in oldObject */
	size_t nimages;
	size_t unchanged;      /* an UPDATE's images already in oldObject (not judged) */
	bool too_many;         /* more than SW_REVIEW_MAX_IMAGES distinct images */
} sw_review;

/* Read an AdmissionReview (apiVersion admission.k8s.io/v1) from body.
 * SW_EFORMAT with err's reason when it is not one (bad JSON, too deep, no
 * request.uid); SW_ENOMEM. rv is released on failure too. */
int sw_review_read(const char *body, size_t len, sw_review *rv, sw_error *err);
void sw_review_release(sw_review *rv);

typedef struct sw_review_answer {
	bool allowed;
	const char *message;          /* status.message of a denial */
	const char *const *warnings;
	size_t nwarnings;
	const char *images;           /* audit annotation: "image=digest,..." (NULL: none) */
	const char *decision;         /* audit annotation: allow | warn | deny */
	const char *const *patch_ptrs;  /* a JSONPatch (mutating webhook): replace */
	const char *const *patch_values;/* the member at each pointer with its value */
	size_t npatch;
} sw_review_answer;

/* The AdmissionReview response for uid into b (appended); with a patch,
 * patchType JSONPatch and the patch in base64. Errors of the buffer
 * (SW_ENOMEM, SW_ELIMIT). */
int sw_review_write(sw_buf *b, const char *uid, const sw_review_answer *a);

#endif
