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

#include "stowaway/report.h"
#include "stowaway/scan.h"
#include "yaragate.h"

/* Where a line of a unit's text came from (includes are inlined): line
 * `at` of the text is line `line` of `file`, and so on down. */
typedef struct src_line {
	uint32_t at, line;
	const char *file;
} src_line;

typedef struct src {
	char *name;      /* "bundled:miners.yar" or the path of a --rules file; owned */
	char *ns;        /* the YARA namespace: "bundled", or "user:" and its path */
	char *text;      /* includes inlined */
	bool owned;      /* text is ours to free (always, today) */
	src_line *map;   /* NULL: the text is the file's own, line for line */
	size_t nmap;
	char **files;
	size_t nfiles;
} src;

/* Problems met loading the rules: lines "file:line: error|warning: why". */
typedef struct sw_yprobs {
	sw_buf text;
	size_t nerr, nwarn;
} sw_yprobs;

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
	bool measurable;           /* patterns compiled: gates can be judged */
	bool measure;              /* set before building: compile the patterns
				    * even when the prefilter cannot be used */
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

/* A public rule's finding: its meta, or what is derived where the meta
 * says nothing (yara_rules.c; docs/rules.md). id points into idbuf or the
 * rule. */
typedef struct sw_yrmeta {
	const char *id, *title, *category;
	sw_severity sev;
	char idbuf[256];
} sw_yrmeta;
void sw_yara__rule_meta(const YR_RULE *rule, sw_severity dflt, sw_yrmeta *m);
/* The default severity of --rules rules that name none (medium). */
sw_severity sw_yara__default_sev(const sw_scan_opts *o);
/* The externals a scan defines: filetype from the first bytes and the
 * name, owner from the uid (root for 0, else the number). */
const char *sw_yara__filetype(const uint8_t *d, size_t n, const char *ext);
void sw_yara__owner(uint64_t uid, char out[24]);

/* Sources (yara_sources.c): the --rules units appended to *v, problems
 * recorded; a unit's file and line for a line of its text; a unit freed. */
void sw_yara__problem(sw_yprobs *p, bool error, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
int sw_yara__user_sources(const sw_scan_opts *o, src **v, size_t *n, sw_yprobs *probs, sw_error *err);
void sw_yara__where(const src *s, int line, const char **file, int *fline);
void sw_yara__src_free(src *s);
void sw_yara__mkdirs(char *path);
int sw_yara__load_tiers(const sw_scan_opts *o, YR_RULES **out, int ntiers, sw_buf *ruleset,
			prefilter *pf, sw_yprobs *probs, sw_error *err);

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
/* Every rule's gate on this file into w->rv (rules list --corpus). */
void sw_yara__pf_each(const prefilter *pf, pf_worker *w, const char *path, const char *name,
		      const char *ext, const uint8_t *data, size_t len);

#endif
