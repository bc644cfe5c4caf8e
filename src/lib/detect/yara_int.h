/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The YARA detector's parts, internal (see yara.c): the rule sources, the
 * size tiers, the prefilter's state, and the calls between the rules
 * (yara_rules.c), the prefilter (yara_prefilter.c) and the detector with
 * `rules list` and `rules test` (yara.c).
 */
#ifndef SW_DETECT_YARA_INT_H
#define SW_DETECT_YARA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yara.h>
#ifdef SW_HAVE_HYPERSCAN
#include <hs.h>
#endif

#include "stowaway/scan.h"
#include "yaragate.h"

typedef struct src {
	char *name;      /* "bundled:miners.yar" or a path; always owned */
	char *text;
	bool owned;      /* text is ours to free (always, today) */
} src;

/* Size tiers (yaratier.c): the rules compiled for files of at least
 * sw_yara__tier_min[t] bytes leave out every rule whose meta max_size
 * promises it cannot match such files. */
#define NTIERS 3
extern const uint64_t sw_yara__tier_min[NTIERS];
/* The tier whose rules a file of this size is scanned with. */
int sw_yara__tier_of(uint64_t size);

/* The prefilter: a gate over the rules and the patterns' databases. */
typedef struct prefilter {
	sw_ygate *gate;            /* kept for `rules list` even when not used */
	bool active;               /* files are skipped on its word */
#ifdef SW_HAVE_HYPERSCAN
	/* the file's bytes (one database per size tier, leaving out what no
	 * rule needs in files that large), then filepath, filename, extension */
	hs_database_t *db[NTIERS + 3];
	hs_scratch_t *proto;       /* sized for all of them */
#endif
} prefilter;

typedef struct pf_worker {
	uint64_t *hits;
	uint8_t *rv;
#ifdef SW_HAVE_HYPERSCAN
	hs_scratch_t *hs;
#endif
} pf_worker;


/* Rules (yara_rules.c): a rule's string meta (NULL when it has none); the
 * directories of a path made (each mode 0700); the rules of every tier
 * compiled or loaded from the cache, and the prefilter built when pf is
 * given (out[] all NULL when no source is selected). */
const char *sw_yara__meta_str(const YR_RULE *rule, const char *key);
void sw_yara__mkdirs(char *path);
int sw_yara__load_tiers(const sw_scan_opts *o, YR_RULES **out, int ntiers, sw_buf *ruleset,
			prefilter *pf, sw_error *err);

/* The prefilter (yara_prefilter.c): built from the sources (its compiled
 * databases cached at cpath, when given); released; a worker's scratch;
 * and the question per file: true when no public rule can match it, so
 * that libyara need not see it. */
int sw_yara__pf_build(prefilter *pf, const src *v, size_t n, const char *cpath, sw_error *err);
void sw_yara__pf_release(prefilter *pf);
int sw_yara__pf_worker_init(const prefilter *pf, pf_worker *w, sw_error *err);
void sw_yara__pf_worker_release(pf_worker *w);
bool sw_yara__pf_skip(const prefilter *pf, pf_worker *w, const char *path, const char *name,
		      const char *ext, const uint8_t *data, size_t len);

#endif
