/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Gates for YARA rules. libyara walks every byte of every file through its
 * atom automaton and then evaluates every rule; on an ordinary image almost
 * no file can match any rule, and that walk is most of a scan's time. The
 * gate decides, per file and before libyara sees it, that no public rule
 * can match, so the file need not be given to libyara at all.
 *
 * From the rule sources (the same texts libyara compiles) it takes, for
 * each string, patterns one of which every match must contain:
 *   - a text string: itself (ascii and/or wide, caseless with nocase); xor
 *     and base64 strings have none (always possible);
 *   - a hex string: its longest run of fixed bytes outside alternatives,
 *     jumps and wildcards (2 bytes at least);
 *   - a regex: the regex itself, rewritten so that Hyperscan reads it and
 *     matches at least what YARA's does (rx_form: classes as byte sets,
 *     anchors and \b dropped, long bounded repeats unbounded, a zero byte
 *     after each character for wide); should Hyperscan refuse it, the
 *     literals every match contains stand in: for each top-level
 *     alternative its longest required run, groups and small classes
 *     multiplied out (3 bytes at least, else none).
 * and for each rule a gate: its condition, in which
 *   - `$a`, `$a at ...`, `$a in ...`, `#a > 0` and the like hold when one
 *     of $a's patterns was found;
 *   - `N of (...)`, `any/all of them` count such strings;
 *   - `filesize`, `uint8/16/32[be](N)` compared with numbers,
 *     `filepath/filename/extension == "..."`, `... matches /re/` (a
 *     pattern run on the name, anchors kept) and references to earlier
 *     rules are evaluated;
 *   - everything else (`not ...`, `for ...`, modules, arithmetic) is taken
 *     as true.
 * Each step only widens what may match, so a closed gate proves the rule
 * false; an open gate proves nothing and libyara decides. A gate also only
 * opens as more is found (yara_prefilter.c relies on that). Whatever the
 * reader does not follow makes a term, a string or (at top level: an
 * include, a comment in a hex string) the whole gate always open, never
 * closed.
 *
 * Each pattern also carries the size from which no rule needs it (its
 * rules' `filesize <` bounds), so large files are searched for less.
 * The patterns are searched for by the prefilter (yara_prefilter.c:
 * Hyperscan); these files know nothing of how.
 *
 * This file is the gate itself: its arena, the patterns, what each rule
 * needs and from which size, the build, and the evaluation on a file. The
 * sources are read by yaragate_rules.c (rules and strings),
 * yaragate_cond.c (conditions) and yaragate_regex.c (regexes).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "yaragate_int.h"
#include "../util/banned.h"

#define MAX_LITS (1u << 20)

/* ---- memory: one arena, freed whole ---- */

void *sw_ygate__alloc(sw_ygate *g, size_t n)
{
	arena_blk *b = g->arena;
	void *p;

	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (!b || b->cap - b->used < n) {
		size_t cap = n > 65536 ? n : 65536;
		if (!(b = malloc(sizeof(*b) + cap))) {
			g->oom = true;
			return NULL;
		}
		b->cap = cap;
		b->used = 0;
		b->next = g->arena;
		g->arena = b;
	}
	p = (char *)b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

char *sw_ygate__dup(sw_ygate *g, const char *s, size_t n)
{
	char *p = sw_ygate__alloc(g, n + 1);

	if (p)
		memcpy(p, s, n);
	return p;
}

void sw_ygate_free(sw_ygate *g)
{
	arena_blk *b, *nb;

	if (!g)
		return;
	for (b = g->arena; b; b = nb) {
		nb = b->next;
		free(b);
	}
	free(g->lits);
	free(g->lhash);
	free(g->rules);
	free(g);
}

/* ---- literals, deduplicated ---- */

static uint32_t lit_hash(const uint8_t *b, size_t n, unsigned flags)
{
	uint32_t h = 2166136261u ^ (flags * 0x9e37u);
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static bool lit_rehash(sw_ygate *g)
{
	size_t cap = g->lhcap ? g->lhcap * 2 : 1024, i;
	uint32_t *t = calloc(cap, sizeof(*t));

	if (!t)
		return false;
	for (i = 0; i < g->nlits; i++) {
		size_t k = lit_hash(g->lits[i].b, g->lits[i].len, g->lits[i].flags) & (cap - 1);
		while (t[k])
			k = (k + 1) & (cap - 1);
		t[k] = (uint32_t)i + 1;
	}
	free(g->lhash);
	g->lhash = t;
	g->lhcap = cap;
	return true;
}

/* The index of pattern b[0..n) (a literal is stored lower-cased when
 * caseless, and cut to LITMAX bytes: a prefix of what is required is
 * required), added when new; -1 on out-of-memory (g->oom set: the build
 * fails), -2 when there are too many (the caller does without it). */
long sw_ygate__lit_add(sw_ygate *g, const uint8_t *b, size_t n, unsigned flags)
{
	uint8_t low[LITMAX];
	const uint8_t *key = b;
	size_t i, k;

	if (!(flags & SW_YGATE_REGEX)) {
		if (n > LITMAX)
			n = LITMAX;
		memcpy(low, b, n);
		if (flags & SW_YGATE_CASELESS)
			for (i = 0; i < n; i++)
				low[i] = (uint8_t)tolower(low[i]);
		key = low;
	}
	if ((g->nlits + 1) * 2 > g->lhcap && !lit_rehash(g))
		goto oom;
	k = lit_hash(key, n, flags) & (g->lhcap - 1);
	while (g->lhash[k]) {
		glit *l = &g->lits[g->lhash[k] - 1];
		if (l->len == n && l->flags == flags && memcmp(l->b, key, n) == 0)
			return (long)g->lhash[k] - 1;
		k = (k + 1) & (g->lhcap - 1);
	}
	if (g->nlits >= MAX_LITS)
		return -2;
	if (SW_GROW(g->lits, g->nlits) < 0)
		goto oom;
	if (!(g->lits[g->nlits].b = sw_ygate__alloc(g, n + 1)))
		goto oom;
	memcpy(g->lits[g->nlits].b, key, n);
	g->lits[g->nlits].len = (uint32_t)n;
	g->lits[g->nlits].flags = (uint8_t)flags;
	g->lits[g->nlits].dropped = false;
	g->lhash[k] = (uint32_t)g->nlits + 1;
	return (long)g->nlits++;
oom:
	g->oom = true;
	return -1;
}

/* ---- what each rule needs ---- */

static bool has_rx(const sw_ygate *g, const gstr *s)
{
	return s->rx >= 0 && !g->lits[s->rx].dropped;
}

/* A string with nothing to look for. */
static bool str_open(const sw_ygate *g, const gstr *s)
{
	return !has_rx(g, s) && s->nlits == 0;
}

/* Whether a condition may hold with none of its patterns found. With
 * path_open false, a path test (filepath == or matches) and a magic number
 * (uint16(0) == 0x5a4d) count as closed: what is left is a rule open for
 * (almost) every file, whose gate saves nothing (sizes let most files
 * through). With path_open true,
 * path tests count as open: the question for a file in which no content
 * pattern was found, whatever its name. Rules referenced come earlier and
 * have their answers already. */
static bool unfound(const gnode *n, const grule *r, const sw_ygate *g, bool path_open)
{
	uint32_t i, open = 0;

	switch (n->kind) {
	case G_FALSE:
		return false;
	case G_AND:
		for (i = 0; i < n->n; i++)
			if (!unfound(n->kids[i], r, g, path_open))
				return false;
		return true;
	case G_OR:
		for (i = 0; i < n->n; i++)
			if (unfound(n->kids[i], r, g, path_open))
				return true;
		return false;
	case G_STR:
		return str_open(g, &r->strs[n->ref]);
	case G_NOF:
		for (i = 0; i < n->n; i++)
			open += str_open(g, &r->strs[n->set[i]]);
		return open >= n->val;
	case G_RULE:
		return path_open ? g->rules[n->ref].nohit : g->rules[n->ref].open;
	case G_VAREQ:
		return path_open;
	case G_VARRE:
		return path_open || g->lits[n->ref].dropped;
	case G_UINT:
		/* a magic number is judged on every file's own bytes: a rule
		 * that needs one is not open on every file (the question
		 * without path_open), though it may hold where no pattern was
		 * found (with it) */
		return path_open;
	default:
		return true; /* true, filesize */
	}
}

/* The size from which a condition is false whatever else holds. */
static uint64_t bound(const gnode *n, const sw_ygate *g)
{
	uint64_t b, k;
	uint32_t i;

	switch (n->kind) {
	case G_FALSE:
		return 0;
	case G_SIZE:
		if (n->op == OP_LT)
			return n->val;
		if ((n->op == OP_LE || n->op == OP_EQ) && n->val < UINT64_MAX)
			return n->val + 1;
		return UINT64_MAX;
	case G_AND:
		for (b = UINT64_MAX, i = 0; i < n->n; i++)
			if ((k = bound(n->kids[i], g)) < b)
				b = k;
		return b;
	case G_OR:
		for (b = 0, i = 0; i < n->n; i++)
			if ((k = bound(n->kids[i], g)) > b)
				b = k;
		return b;
	case G_RULE:
		return g->rules[n->ref].bound;
	default:
		return UINT64_MAX;
	}
}

static void lit_need(sw_ygate *g, long id, uint64_t b)
{
	if (id >= 0 && g->lits[id].bound < b)
		g->lits[id].bound = b;
}

/* Each pattern's bound: the largest of the rules that look for it (0: no
 * rule does, as for the literals of a regex the matcher takes whole). */
static void bounds(sw_ygate *g)
{
	size_t i;
	uint32_t k, j;

	for (i = 0; i < g->nlits; i++)
		g->lits[i].bound = 0;
	for (i = 0; i < g->nrules; i++) {
		grule *r = &g->rules[i];
		r->bound = bound(r->cond, g);
		r->nohit = unfound(r->cond, r, g, true);
		for (k = 0; k < r->nstrs; k++) {
			if (has_rx(g, &r->strs[k])) {
				lit_need(g, r->strs[k].rx, r->bound);
				continue;
			}
			for (j = 0; j < r->strs[k].nlits; j++)
				lit_need(g, (long)r->strs[k].lits[j], r->bound);
		}
	}
	/* path patterns are few and cheap: always asked */
	for (i = 0; i < g->nlits; i++)
		if (g->lits[i].flags & (SW_YGATE_PATH | SW_YGATE_NAME | SW_YGATE_EXT))
			g->lits[i].bound = UINT64_MAX;
}

static void count_open(sw_ygate *g)
{
	size_t i;

	g->open = 0;
	for (i = 0; i < g->nrules; i++) {
		g->rules[i].open = unfound(g->rules[i].cond, &g->rules[i], g, false);
		g->open += g->rules[i].open && !g->rules[i].is_private;
	}
}

int sw_ygate_build(const char *const *text, const char *const *ns, size_t n, sw_ygate **out,
		   sw_error *err)
{
	sw_ygate *g;
	tok *toks;
	size_t i;
	int rc = 1;

	*out = NULL;
	if (!(g = calloc(1, sizeof(*g))) || !(toks = malloc(MAX_TOKENS * sizeof(*toks)))) {
		free(g);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	for (i = 0; i < n && rc == 1; i++) {
		const char *nsc = sw_ygate__dup(g, ns[i], strlen(ns[i]));
		rc = nsc ? sw_ygate__parse_text(g, text[i], nsc, toks) : -1;
	}
	free(toks);
	if (rc < 0 || g->oom) {
		sw_ygate_free(g);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	if (rc == 0) { /* not understood: no gate, every file goes to libyara */
		sw_ygate_free(g);
		return 0;
	}
	count_open(g);
	bounds(g);
	g->hitwords = g->nlits / 64 + 1;
	if (!(g->namebits = sw_ygate__alloc(g, g->hitwords * sizeof(*g->namebits)))) {
		sw_ygate_free(g);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	for (i = 0; i < g->nlits; i++)
		if (g->lits[i].flags & (SW_YGATE_PATH | SW_YGATE_NAME | SW_YGATE_EXT))
			g->namebits[i / 64] |= 1ull << (i % 64);
	*out = g;
	return 0;
}

size_t sw_ygate_hitwords(const sw_ygate *g)
{
	return g->hitwords;
}

const uint64_t *sw_ygate_namebits(const sw_ygate *g)
{
	return g->namebits;
}

size_t sw_ygate_npatterns(const sw_ygate *g)
{
	return g->nlits;
}

const uint8_t *sw_ygate_pattern(const sw_ygate *g, size_t i, size_t *len, unsigned *flags)
{
	*len = g->lits[i].len;
	*flags = g->lits[i].flags;
	return g->lits[i].b;
}

uint64_t sw_ygate_pattern_bound(const sw_ygate *g, size_t i)
{
	return g->lits[i].bound;
}

void sw_ygate_undrop(sw_ygate *g)
{
	size_t i;

	for (i = 0; i < g->nlits; i++)
		g->lits[i].dropped = false;
	count_open(g);
	bounds(g);
}

bool sw_ygate_dropped(const sw_ygate *g, size_t i)
{
	return i < g->nlits && g->lits[i].dropped;
}

void sw_ygate_drop(sw_ygate *g, size_t i)
{
	if (i < g->nlits && (g->lits[i].flags & SW_YGATE_REGEX)) {
		g->lits[i].dropped = true;
		count_open(g);
		bounds(g);
	}
}

size_t sw_ygate_nrules(const sw_ygate *g)
{
	return g->nrules;
}

size_t sw_ygate_open_rules(const sw_ygate *g)
{
	return g->open;
}

long sw_ygate_rule_index(const sw_ygate *g, const char *ns, const char *name)
{
	size_t i;

	for (i = 0; i < g->nrules; i++)
		if (strcmp(g->rules[i].ns, ns) == 0 && g->rules[i].namelen == strlen(name) &&
		    memcmp(g->rules[i].name, name, g->rules[i].namelen) == 0)
			return (long)i;
	return -1;
}

int sw_ygate_rule_gated(const sw_ygate *g, const char *ns, const char *name)
{
	long i = sw_ygate_rule_index(g, ns, name);

	return i < 0 ? -1 : !g->rules[i].open;
}

/* ---- evaluation ---- */

static bool bit(const uint64_t *hits, size_t i)
{
	return hits[i / 64] >> (i % 64) & 1;
}

static bool str_may(const sw_ygate *g, const gstr *s, const uint64_t *hits)
{
	uint32_t i;

	if (has_rx(g, s))
		return bit(hits, (size_t)s->rx);
	if (s->nlits == 0)
		return true;
	for (i = 0; i < s->nlits; i++)
		if (bit(hits, s->lits[i]))
			return true;
	return false;
}

/* Whether one of s's literals starts where a match of s at an offset in
 * [lo, hi] would hold it (true when that is not known). */
static bool str_in_range(const sw_ygate *g, const gstr *s, uint64_t lo, uint64_t hi, const sw_ygate_file *f)
{
	uint32_t i;

	if (has_rx(g, s) || s->nlits == 0 || s->off_max == UINT32_MAX || !f->data)
		return true;
	for (i = 0; i < s->nlits; i++) {
		const glit *l = &g->lits[s->lits[i]];
		uint64_t from = lo + s->off_min, to = hi + s->off_max; /* the literal's first byte */
		uint64_t k;
		if (l->flags & SW_YGATE_REGEX)
			return true;
		if (from >= f->len || l->len > f->len)
			continue;
		if (to > f->len - l->len)
			to = f->len - l->len;
		for (k = from; k <= to; k++) {
			uint32_t j;
			if (l->flags & SW_YGATE_CASELESS) {
				for (j = 0; j < l->len && tolower(f->data[k + j]) == tolower(l->b[j]); j++)
					;
			} else {
				if (f->data[k] != l->b[0])
					continue;
				for (j = 0; j < l->len && f->data[k + j] == l->b[j]; j++)
					;
			}
			if (j == l->len)
				return true;
		}
	}
	return false;
}

static bool compare(uint64_t a, int op, uint64_t b)
{
	switch (op) {
	case OP_LT: return a < b;
	case OP_LE: return a <= b;
	case OP_GT: return a > b;
	case OP_GE: return a >= b;
	case OP_EQ: return a == b;
	default: return a != b;
	}
}

static bool eval(const sw_ygate *g, const gnode *n, const grule *r, const uint64_t *hits,
		 const sw_ygate_file *f, const uint8_t *done)
{
	uint32_t i;
	uint64_t cnt = 0, v = 0;
	const char *s;

	switch (n->kind) {
	case G_FALSE:
		return false;
	case G_AND:
		for (i = 0; i < n->n; i++)
			if (!eval(g, n->kids[i], r, hits, f, done))
				return false;
		return true;
	case G_OR:
		for (i = 0; i < n->n; i++)
			if (eval(g, n->kids[i], r, hits, f, done))
				return true;
		return false;
	case G_STR:
		if (!str_may(g, &r->strs[n->ref], hits))
			return false;
		return !n->ranged || str_in_range(g, &r->strs[n->ref], n->off, n->val, f);
	case G_NOF:
		for (i = 0; i < n->n && cnt < n->val; i++)
			cnt += str_may(g, &r->strs[n->set[i]], hits);
		return cnt >= n->val;
	case G_RULE:
		return done[n->ref];
	case G_SIZE:
		return compare(f->len, n->op, n->val);
	case G_UINT:
		if (n->off > f->len || f->len - n->off < n->width)
			return true; /* undefined in YARA; kept open */
		for (i = 0; i < n->width; i++) {
			unsigned sh = n->be ? 8 * (n->width - 1 - i) : 8 * i;
			v |= (uint64_t)f->data[n->off + i] << sh;
		}
		return compare(v, n->op, n->val);
	case G_VAREQ:
		s = n->var == V_PATH ? f->path : n->var == V_NAME ? f->name : f->ext;
		return !s || strcmp(s, n->text) == 0;
	case G_VARRE:
		return g->lits[n->ref].dropped || bit(hits, n->ref);
	default:
		return true;
	}
}

void sw_ygate_eval_all(const sw_ygate *g, const uint64_t *hits, const sw_ygate_file *f, uint8_t *scratch)
{
	size_t i;

	for (i = 0; i < g->nrules; i++)
		scratch[i] = eval(g, g->rules[i].cond, &g->rules[i], hits, f, scratch);
}

bool sw_ygate_may_match(const sw_ygate *g, const uint64_t *hits, const sw_ygate_file *f,
			uint8_t *scratch)
{
	size_t i;
	bool any = false;

	for (i = 0; i < g->hitwords && !any; i++)
		any = (hits[i] & ~g->namebits[i]) != 0;
	for (i = 0; i < g->nrules; i++) {
		const grule *r = &g->rules[i];
		/* most files hold no content pattern: only the few rules that
		 * need none are worth evaluating there */
		scratch[i] = (any || r->nohit) && eval(g, r->cond, r, hits, f, scratch);
		if (scratch[i] && !r->is_private)
			return true;
	}
	return false;
}
