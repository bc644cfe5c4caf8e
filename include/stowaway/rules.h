/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The YARA rule set a scan would use (bundled rules plus --rules
 * directories), for rule authors: list the rules, and test them on files.
 */
#ifndef STOWAWAY_RULES_H
#define STOWAWAY_RULES_H

#include <stddef.h>

#include "stowaway/export.h"
#include "stowaway/error.h"
#include "stowaway/scan.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_rule_info {
	const char *ns, *name;                       /* YARA namespace and identifier */
	const char *id, *severity, *category, *title; /* from the rule's meta */
	int prefilter;  /* 1: the prefilter can rule files out for it; 0: every
			 * file may match it (no literal it requires); -1 unknown */
} sw_rule_info;

/* The prefilter that keeps files no rule can match away from libyara:
 * "hyperscan 5.4.0", or "none" when this build or this CPU has none (every
 * file then goes to libyara: slower, same findings). */
SW_API const char *sw_rules_prefilter(void);

/* Compile (or load from the cache) the rules `o` selects and call fn for
 * each public rule. Errors: SW_EFORMAT for a rule that does not compile or
 * lacks its meta (the message names file and line or rule). */
SW_API int sw_rules_list(const sw_scan_opts *o, int (*fn)(void *ctx, const sw_rule_info *r),
			 void *ctx, sw_error *err);

/* Run the rules over local files (each read whole, up to
 * o->limits.max_file_size bytes) and call fn for every match. Returns the
 * number of matches, or a negative error. */
SW_API int sw_rules_test(const sw_scan_opts *o, const char *const *paths, size_t n,
			 int (*fn)(void *ctx, const char *path, const sw_rule_info *r),
			 void *ctx, sw_error *err);

#ifdef __cplusplus
}
#endif
#endif
