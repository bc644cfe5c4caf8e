/* SPDX-License-Identifier: Apache-2.0 */
/* Gates for YARA rules: which files no rule can match (see yaragate.c). */
#ifndef SW_DETECT_YARAGATE_H
#define SW_DETECT_YARAGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/util.h"

typedef struct sw_ygate sw_ygate;

/* What a gate may look at besides the patterns found: the file's bytes
 * (uint8/16/32 at fixed offsets, filesize) and the external variables. */
typedef struct sw_ygate_file {
	const uint8_t *data;
	size_t len;
	const char *path, *name, *ext;
} sw_ygate_file;

/* Read the rule sources in the order they are compiled; ns[i] is the
 * namespace text[i] is compiled into. *out is NULL (and 0 returned) when
 * the sources hold something the reader cannot follow (an include, a
 * syntax it does not know at top level): the caller then scans every file.
 * Errors are out-of-memory only. */
int sw_ygate_build(const char *const *text, const char *const *ns, size_t n, sw_ygate **out,
		   sw_error *err);
void sw_ygate_free(sw_ygate *g);

/* The patterns to look for: literals, and regexes in PCRE syntax
 * (NUL-terminated) that match at least what the rule's regex matches. Bit
 * i of the hits bitset is pattern i. */
enum {
	SW_YGATE_CASELESS = 1, SW_YGATE_REGEX = 2, SW_YGATE_DOTALL = 4,
	/* a regex to match against filepath, filename or extension, not
	 * against the file's bytes */
	SW_YGATE_PATH = 8, SW_YGATE_NAME = 16, SW_YGATE_EXT = 32,
};
size_t sw_ygate_npatterns(const sw_ygate *g);
const uint8_t *sw_ygate_pattern(const sw_ygate *g, size_t i, size_t *len, unsigned *flags);
/* 64-bit words in a hits bitset, and the bits of the patterns that are run
 * on a file's names rather than its bytes. */
size_t sw_ygate_hitwords(const sw_ygate *g);
const uint64_t *sw_ygate_namebits(const sw_ygate *g);
/* A regex the matcher cannot take: its strings fall back to the literals
 * they require. */
void sw_ygate_drop(sw_ygate *g, size_t i);
bool sw_ygate_dropped(const sw_ygate *g, size_t i);
void sw_ygate_undrop(sw_ygate *g); /* every drop taken back */
/* No rule needs pattern i in a file of this many bytes or more (every
 * rule that looks for it is false there by its `filesize <` terms): a
 * matcher for large files may leave it out. */
uint64_t sw_ygate_pattern_bound(const sw_ygate *g, size_t i);
size_t sw_ygate_nrules(const sw_ygate *g);
/* Public rules whose gate is always open (they make every file a
 * candidate: scanning then saves nothing). */
size_t sw_ygate_open_rules(const sw_ygate *g);

/* Whether rule ns:name has a gate that can close: 1 yes, 0 always open
 * (every file a candidate), -1 no such rule. */
int sw_ygate_rule_gated(const sw_ygate *g, const char *ns, const char *name);
/* The index of rule ns:name in a scratch (-1 when there is none). */
long sw_ygate_rule_index(const sw_ygate *g, const char *ns, const char *name);
/* Every rule's gate on this file (not only until one public gate is
 * open): scratch[i] 1 when rule i may match. */
void sw_ygate_eval_all(const sw_ygate *g, const uint64_t *hits, const sw_ygate_file *f, uint8_t *scratch);

/* False only when no public rule can match this file: for every rule, its
 * condition read with each string "present" when one of its patterns is
 * in hits (or it has none to look for), every term the gate cannot
 * evaluate taken as true and every `not` as true. scratch holds
 * sw_ygate_nrules() bytes. */
bool sw_ygate_may_match(const sw_ygate *g, const uint64_t *hits, const sw_ygate_file *f,
			uint8_t *scratch);

/* The literal a regular expression (YARA syntax, between the slashes)
 * requires: one per top-level alternative, each the longest run of plain
 * characters that every match contains. Returns the number of
 * alternatives written to lits/lens (at most max, each at most cap bytes
 * into lits[k]), 0 when some alternative requires fewer than min bytes or
 * the expression is not understood. Exposed for the unit tests. */
size_t sw_ygate_regex_lits(const char *re, size_t n, uint8_t (*lits)[256], size_t *lens,
			   size_t max, size_t min);

#endif
