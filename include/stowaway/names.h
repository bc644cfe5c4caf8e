/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Look-alike image names: typosquats and impersonations of Docker Hub
 * official images, well-known publishers and registry hosts, judged against
 * bundled lists (data/names/). Offline and deterministic.
 */
#ifndef STOWAWAY_NAMES_H
#define STOWAWAY_NAMES_H

#include <stdbool.h>
#include <stdio.h>

#include "stowaway/export.h"
#include "stowaway/error.h"
#include "stowaway/reference.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sw_name_verdict {
	SW_NAME_OK = 0,
	SW_NAME_TYPOSQUAT,       /* within a small edit distance of a known name */
	SW_NAME_IMPERSONATION,   /* a known name where its owner does not publish */
} sw_name_verdict;

typedef struct sw_name_result {
	sw_ref ref;
	sw_name_verdict verdict;
	char resembles[320];   /* the known name it looks like ("" when none) */
	char reason[512];      /* why, in words a newcomer understands */
	char note[256];        /* for ok: what is known about it ("" when nothing) */
} sw_name_result;

/* Judge one reference. SW_EFORMAT when it does not parse (err says why). */
SW_API int sw_names_check(const char *ref, sw_name_result *out, sw_error *err);

SW_API const char *sw_name_verdict_str(sw_name_verdict v);

/* Write results (inputs[i] is what the user typed for rs[i]) as a table
 * or as JSON (schema stowaway.names/v1). */
SW_API int sw_names_write(FILE *f, const char *const *inputs, const sw_name_result *rs, size_t n, bool json);

/* Edit distance with adjacent transpositions (optimal string alignment),
 * or max + 1 as soon as it must exceed max. Exposed for the tests. */
SW_API size_t sw_names_distance(const char *a, const char *b, size_t max);

#ifdef __cplusplus
}
#endif

#endif
