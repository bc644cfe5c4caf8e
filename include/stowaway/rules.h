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
	/* Over a corpus (sw_rules_list's): files read, and those on which
	 * this rule's gate was open (it alone would send them to libyara);
	 * 0 files when not measured. */
	size_t corpus_files, corpus_open;
} sw_rule_info;

/* The prefilter that keeps files no rule can match away from libyara:
 * "hyperscan 5.4.0", or "none" when this build or this CPU has none (every
 * file then goes to libyara: slower, same findings). */
SW_API const char *sw_rules_prefilter(void);

/* Compile (or load from the cache) the rules `o` selects and call fn for
 * each public rule. With a corpus (files, or directories read
 * recursively), each rule's gate open rate over it is measured. Errors:
 * SW_EFORMAT for a rule that does not compile (unless
 * o->rules_skip_broken; the message names file and line). */
SW_API int sw_rules_list(const sw_scan_opts *o, const char *const *corpus, size_t ncorpus,
			 int (*fn)(void *ctx, const sw_rule_info *r), void *ctx, sw_error *err);

/* Read every --rules file and report every problem (o->rules_problems):
 * the broken files are left out, the others compiled. */
typedef struct sw_rules_lint_result {
	size_t rules, errors, warnings;   /* public rules loaded; problems */
} sw_rules_lint_result;
SW_API int sw_rules_lint(const sw_scan_opts *o, sw_rules_lint_result *res, sw_error *err);

/* Run the rules over local files (each read whole, up to
 * o->limits.max_file_size bytes) and call fn for every match; a file the
 * rules could not finish (o->file_timeout, too many matches) is passed to
 * incomplete and the others still tested. Returns the number of matches,
 * or a negative error. */
SW_API int sw_rules_test(const sw_scan_opts *o, const char *const *paths, size_t n,
			 int (*fn)(void *ctx, const char *path, const sw_rule_info *r),
			 int (*incomplete)(void *ctx, const char *path, const char *why),
			 void *ctx, sw_error *err);

#ifdef __cplusplus
}
#endif
#endif
