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
 * opens as more is found (yara.c relies on that). Whatever the reader does
 * not follow makes a term, a string or (at top level: an include, a
 * comment in a hex string) the whole gate always open, never closed.
 *
 * Each pattern also carries the size from which no rule needs it (its
 * rules' `filesize <` bounds), so large files are searched for less.
 * The patterns are searched for by the prefilter (yara.c: Hyperscan); this
 * file knows nothing of how.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaragate.h"
#include "yaralex.h"
#include "../util/banned.h"

#define LITMAX 256          /* longest literal kept (a prefix of a required run is required) */
#define MAX_LITS (1u << 20)
#define MAX_DEPTH 64        /* condition nesting followed; deeper is "true" */
#define MAX_TOKENS 65536   /* one condition's; more and the gate is not built */
#define MIN_REGEX_LIT 3
#define MIN_HEX_LIT 2

enum { G_TRUE, G_FALSE, G_AND, G_OR, G_STR, G_NOF, G_RULE, G_SIZE, G_UINT, G_VAREQ, G_VARRE };
enum { OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE };
enum { V_PATH, V_NAME, V_EXT };

typedef struct gnode {
	uint8_t kind, op, width, var;
	bool be;
	uint32_t n;                /* AND/OR: kids; NOF: set size */
	struct gnode **kids;
	uint32_t *set;             /* NOF: string indices */
	uint32_t ref;              /* STR: string; RULE: rule; VARRE: pattern */
	uint64_t off, val;         /* SIZE: val; UINT: off, val; NOF: val = needed */
	char *text;                /* VAREQ */
} gnode;

typedef struct gstr {
	const char *name;          /* after '$', NUL-terminated; "" anonymous */
	size_t namelen;
	long rx;                   /* its regex as the matcher takes it, or -1 */
	uint32_t *lits, nlits;     /* else: nlits 0, nothing to look for, always possible */
} gstr;

typedef struct grule {
	const char *name, *ns;
	size_t namelen;
	bool is_private, open;
	bool nohit;                /* may be true where no content pattern was found */
	uint64_t bound;            /* false for files of this size or more */
	gstr *strs;
	uint32_t nstrs, strcap;
	gnode *cond;
} grule;

typedef struct glit {
	uint8_t *b;                /* a regex is NUL-terminated */
	uint64_t bound;            /* no rule needs it in files this large */
	uint32_t len;
	uint8_t flags;             /* SW_YGATE_* */
	bool dropped;              /* a regex the matcher could not take */
} glit;

typedef struct arena_blk {
	struct arena_blk *next;
	size_t used, cap;
	max_align_t data[];
} arena_blk;

struct sw_ygate {
	arena_blk *arena;
	glit *lits;
	size_t nlits;
	uint32_t *lhash;           /* open addressing: literal index + 1, 0 empty */
	size_t lhcap;
	grule *rules;
	size_t nrules, open;
	size_t hitwords;           /* 64-bit words of a hits bitset */
	uint64_t *namebits;        /* the patterns run on names, not on content */
	bool oom;
};

/* ---- memory: one arena, freed whole ---- */

static void *ga(sw_ygate *g, size_t n)
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

static char *gdup(sw_ygate *g, const char *s, size_t n)
{
	char *p = ga(g, n + 1);

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
static long lit_add(sw_ygate *g, const uint8_t *b, size_t n, unsigned flags)
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
	if (!(g->lits[g->nlits].b = ga(g, n + 1)))
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

/* ---- regular expressions: the literals every match contains ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A regex is read into sets of strings:
 *   exact: every string the piece can match, when few and short;
 *   req:   strings one of which every match of the piece contains.
 * A sequence multiplies the exact sets of its pieces as long as they stay
 * small; any other piece ends the run, which becomes a candidate for req,
 * as does each piece's own req. The best candidate is the one whose
 * shortest string is longest. An alternation unites its branches' sets
 * (each branch must have one). */
#define RLIT 64      /* bytes of one string in a set */
#define RALT 32      /* strings in one set */
#define RDEPTH 16    /* groups nested */

typedef struct rset {
	bool ok;
	size_t n;
	uint8_t len[RALT];
	uint8_t s[RALT][RLIT];
} rset;

typedef struct rres {
	rset exact, req;
} rres;

static size_t rset_min(const rset *r)
{
	size_t i, m = (size_t)-1;

	if (!r->ok || r->n == 0)
		return 0;
	for (i = 0; i < r->n; i++)
		if (r->len[i] < m)
			m = r->len[i];
	return m;
}

/* Keep cand as req if it is better than what req holds. */
static void rset_offer(rset *req, const rset *cand)
{
	size_t c = rset_min(cand), r = rset_min(req);

	if (c > r || (c == r && c > 0 && cand->n < req->n))
		*req = *cand;
}

static bool rset_add(rset *r, const uint8_t *p, size_t n)
{
	size_t i;

	if (n > RLIT)
		return false;
	for (i = 0; i < r->n; i++)
		if (r->len[i] == n && memcmp(r->s[i], p, n) == 0)
			return true;
	if (r->n >= RALT)
		return false;
	memcpy(r->s[r->n], p, n);
	r->len[r->n++] = (uint8_t)n;
	return true;
}

/* a := a x b; false (a unchanged) when the product is too large. */
static bool rset_cross(rset *a, const rset *b, rset *tmp)
{
	size_t i, j;

	if (a->n * b->n > RALT)
		return false;
	tmp->ok = true;
	tmp->n = 0;
	for (i = 0; i < a->n; i++)
		for (j = 0; j < b->n; j++) {
			uint8_t buf[2 * RLIT];
			memcpy(buf, a->s[i], a->len[i]);
			memcpy(buf + a->len[i], b->s[j], b->len[j]);
			if (!rset_add(tmp, buf, (size_t)a->len[i] + b->len[j]))
				return false;
		}
	*a = *tmp;
	return true;
}

static void rset_one(rset *r, const uint8_t *p, size_t n)
{
	r->ok = true;
	r->n = 0;
	rset_add(r, p, n);
}

/* Skip a [class] starting at re[i] == '['; index after it, or n+1. */
static size_t skip_class(const char *re, size_t n, size_t i)
{
	i++;
	if (i < n && re[i] == '^')
		i++;
	if (i < n && re[i] == ']')
		i++;
	for (; i < n; i++) {
		if (re[i] == '\\')
			i++;
		else if (re[i] == ']')
			return i + 1;
	}
	return n + 1;
}

/* Skip a (group) starting at re[i] == '('; index after it, or n+1. */
static size_t skip_group(const char *re, size_t n, size_t i)
{
	int depth = 0;

	while (i < n) {
		char c = re[i];
		if (c == '\\') {
			i += 2;
		} else if (c == '[') {
			i = skip_class(re, n, i);
		} else {
			if (c == '(')
				depth++;
			else if (c == ')' && --depth == 0)
				return i + 1;
			i++;
		}
	}
	return n + 1;
}

/* A quantifier at re[*i]: 0 none, 1 minimum 0, 2 minimum 1 or more,
 * 3 a '{' that is not one (taken as "minimum 0", the safe reading). */
static int quantifier(const char *re, size_t n, size_t *i)
{
	size_t k = *i, d0;
	int q;

	if (k >= n)
		return 0;
	if (re[k] == '*' || re[k] == '?') {
		q = 1;
		k++;
	} else if (re[k] == '+') {
		q = 2;
		k++;
	} else if (re[k] == '{') {
		unsigned long lo = 0;
		k++;
		d0 = k;
		while (k < n && isdigit((unsigned char)re[k]) && k - d0 < 9)
			lo = lo * 10 + (unsigned long)(re[k++] - '0');
		if (k < n && re[k] == ',') {
			k++;
			while (k < n && isdigit((unsigned char)re[k]))
				k++;
		}
		if (k >= n || re[k] != '}') {
			*i = *i + 1; /* past the '{' only */
			return 3;
		}
		k++;
		q = lo > 0 ? 2 : 1;
	} else {
		return 0;
	}
	if (k < n && re[k] == '?') /* lazy */
		k++;
	*i = k;
	return q;
}

/* One escaped character at re[*i] (after the backslash): its byte, -1 for
 * a class or an anchor (\w \s \d \b ...), -2 when not understood. */
static int escape(const char *re, size_t b, size_t *i)
{
	char e;

	if (*i >= b)
		return -2;
	e = re[(*i)++];
	switch (e) {
	case 'x': {
		int h1 = *i < b ? hexval(re[*i]) : -1, h2 = *i + 1 < b ? hexval(re[*i + 1]) : -1;
		if (h1 < 0 || h2 < 0)
			return -2;
		*i += 2;
		return h1 * 16 + h2;
	}
	case 'n': return '\n';
	case 't': return '\t';
	case 'r': return '\r';
	case 'f': return '\f';
	case 'a': return '\a';
	default:
		if (strchr("wWsSdDbB", e))
			return -1;
		if (isalnum((unsigned char)e))
			return -2; /* an escape we do not know */
		return (unsigned char)e;
	}
}

/* One member of a [class] at re[*i]: a byte (0..255), or -1 for a set
 * (\w \s \d: added to set), -2 for one that YARA versions read
 * differently (\W \S \D, an unknown letter escape). */
static int class_item(const char *re, size_t n, size_t *i, uint8_t set[32])
{
	static const char space[] = "\t\n\v\f\r ";
	int c = (unsigned char)re[(*i)++], k;

	if (c != '\\')
		return c;
	if (*i < n && re[*i] && strchr("sdw", re[*i])) {
		c = (unsigned char)re[(*i)++];
		if (c == 's') /* a superset of what any YARA version means by it */
			for (k = 0; space[k]; k++)
				set[(uint8_t)space[k] / 8] |= (uint8_t)(1u << ((uint8_t)space[k] % 8));
		else
			for (k = 0; k < 256; k++)
				if (isdigit(k) || (c == 'w' && (isalpha(k) || k == '_')))
					set[k / 8] |= (uint8_t)(1u << (k % 8));
		return -1;
	}
	k = escape(re, n, i);
	return k == -1 ? -2 : k; /* \W \S \D \b \B in a class: versions differ */
}

/* Read a [class] whose '[' is at re[*i] into set (256 bits), as YARA does;
 * where YARA versions differ (an escape as a range's end, a range after a
 * leading ']', \S \W \D inside a class) every byte is taken, which holds
 * every reading. Returns false when not understood (*i unchanged). */
static bool class_parse(const char *re, size_t n, size_t *i, uint8_t set[32])
{
	size_t k = *i + 1, j;
	bool neg = false, all = false;

	memset(set, 0, 32);
	if (k < n && re[k] == '^') {
		neg = true;
		k++;
	}
	if (k < n && re[k] == ']') {
		set[']' / 8] |= 1u << (']' % 8);
		k++;
		if (k < n && re[k] == '-')
			all = true;
	}
	for (;;) {
		int lo, hi;
		if (k >= n)
			return false;
		if (re[k] == ']')
			break;
		lo = class_item(re, n, &k, set);
		if (k + 1 < n && re[k] == '-' && re[k + 1] != ']') {
			k++;
			if (re[k] == '\\' && k + 1 < n && isalpha((unsigned char)re[k + 1]) && re[k + 1] != 'x' &&
			    !strchr("ntrfa", re[k + 1]))
				all = true; /* \d, \w... as a range's end: versions differ */
			hi = class_item(re, n, &k, set);
			if (lo < 0 || hi < 0 || hi < lo)
				all = true;
			else
				for (j = (size_t)lo; j <= (size_t)hi; j++)
					set[j / 8] |= (uint8_t)(1u << (j % 8));
			continue;
		}
		if (lo == -2)
			all = true;
		else if (lo >= 0)
			set[lo / 8] |= (uint8_t)(1u << (lo % 8));
	}
	*i = k + 1;
	if (all) {
		memset(set, 0xff, 32);
		return true;
	}
	if (neg)
		for (j = 0; j < 32; j++)
			set[j] = (uint8_t)~set[j];
	return true;
}

static bool in_set(const uint8_t set[32], int c)
{
	return set[c / 8] >> (c % 8) & 1;
}

/* A [class] of a few members as an exact set; ok false otherwise. */
static void class_set(const char *re, size_t a, size_t b, rset *out)
{
	uint8_t set[32];
	size_t i = a;
	int c;

	out->ok = false;
	out->n = 0;
	if (!class_parse(re, b, &i, set) || i != b)
		return;
	for (c = 0; c < 256; c++)
		if (in_set(set, c)) {
			uint8_t ch = (uint8_t)c;
			if (out->n >= 8 || !rset_add(out, &ch, 1))
				return;
		}
	out->ok = out->n > 0;
}

static bool regex_alt(const char *re, size_t a, size_t b, rres *out, int depth);

/* One branch: a sequence of pieces. false when not understood. */
static bool regex_seq(const char *re, size_t a, size_t b, rres *out, int depth)
{
	rres *piece = malloc(sizeof(*piece));
	rset *tmp = malloc(sizeof(*tmp));
	rset *cur = &out->exact;
	bool exact_ok = true, whole = true, ok = false;
	size_t i = a;
	static const uint8_t none[1];

	if (!piece || !tmp)
		goto out;
	rset_one(cur, none, 0);
	out->req.ok = false;
	out->req.n = 0;
	while (i < b) {
		char c = re[i];
		int q, ch = -3;
		piece->exact.ok = false;
		piece->exact.n = 0;
		piece->req.ok = false;
		piece->req.n = 0;
		if (c == '\\') {
			i++;
			if ((ch = escape(re, b, &i)) == -2)
				goto out;
			if (ch == -1 && i >= 1 && (re[i - 1] == 'b' || re[i - 1] == 'B'))
				rset_one(&piece->exact, none, 0); /* zero-width */
		} else if (c == '[') {
			size_t e = skip_class(re, b, i);
			if (e > b)
				goto out;
			class_set(re, i, e, &piece->exact);
			i = e;
		} else if (c == '(') {
			size_t e = skip_group(re, b, i);
			if (e > b || depth >= RDEPTH || !regex_alt(re, i + 1, e - 1, piece, depth + 1))
				goto out;
			i = e;
		} else if (c == ')' || c == '*' || c == '+' || c == '?' || c == '{' || c == '|') {
			goto out; /* stray: not a regex we read */
		} else {
			i++;
			if (c == '^' || c == '$')
				rset_one(&piece->exact, none, 0); /* zero-width */
			else if (c != '.')
				ch = (unsigned char)c;
		}
		if (ch >= 0) {
			uint8_t b1 = (uint8_t)ch;
			rset_one(&piece->exact, &b1, 1);
		}
		q = quantifier(re, b, &i);
		if (q == 2 && piece->exact.ok) /* once at least: its strings are required */
			rset_offer(&piece->req, &piece->exact);
		if (q != 0)
			piece->exact.ok = false;
		if (q == 1 || q == 3)
			piece->req.ok = false;
		if (piece->exact.ok && exact_ok && rset_cross(cur, &piece->exact, tmp))
			continue;
		if (piece->exact.ok && !exact_ok) {
			*cur = piece->exact;
			exact_ok = true;
			continue;
		}
		/* the run ends here */
		whole = false;
		if (exact_ok)
			rset_offer(&out->req, cur);
		rset_offer(&out->req, &piece->req);
		if (piece->exact.ok) { /* the product was too large: a new run */
			*cur = piece->exact;
		} else {
			exact_ok = false;
			cur->n = 0;
		}
	}
	if (exact_ok)
		rset_offer(&out->req, cur);
	/* exact only when no run was ever ended */
	out->exact.ok = whole && exact_ok;
	ok = true;
out:
	free(piece);
	free(tmp);
	return ok;
}
/* An alternation: every branch's sets united. */
static bool regex_alt(const char *re, size_t a, size_t b, rres *out, int depth)
{
	rres *br = malloc(sizeof(*br));
	size_t i = a, s0 = a, k;
	bool first = true, ok = false;

	if (!br)
		return false;
	for (;;) {
		if (i >= b || re[i] == '|') {
			if (!regex_seq(re, s0, i, br, depth))
				goto out;
			if (first) {
				*out = *br;
				first = false;
			} else {
				if (out->exact.ok && br->exact.ok) {
					for (k = 0; k < br->exact.n; k++)
						if (!rset_add(&out->exact, br->exact.s[k], br->exact.len[k]))
							out->exact.ok = false;
				} else {
					out->exact.ok = false;
				}
				if (out->req.ok && br->req.ok && rset_min(&br->req) > 0) {
					for (k = 0; k < br->req.n; k++)
						if (!rset_add(&out->req, br->req.s[k], br->req.len[k]))
							out->req.ok = false;
				} else {
					out->req.ok = false;
				}
			}
			if (i >= b)
				break;
			s0 = ++i;
		} else if (re[i] == '\\') {
			i += 2;
		} else if (re[i] == '[') {
			i = skip_class(re, b, i);
		} else if (re[i] == '(') {
			i = skip_group(re, b, i);
		} else {
			i++;
		}
		if (i > b)
			goto out;
	}
	/* an exact set is itself required when nothing better is */
	if (out->exact.ok)
		rset_offer(&out->req, &out->exact);
	ok = true;
out:
	free(br);
	return ok;
}

size_t sw_ygate_regex_lits(const char *re, size_t n, uint8_t (*lits)[256], size_t *lens,
			   size_t max, size_t min)
{
	rres *r = malloc(sizeof(*r));
	size_t k = 0;

	if (!r)
		return 0;
	if (regex_alt(re, 0, n, r, 0) && r->req.ok && rset_min(&r->req) >= min && r->req.n <= max)
		for (k = 0; k < r->req.n; k++) {
			memcpy(lits[k], r->req.s[k], r->req.len[k]);
			lens[k] = r->req.len[k];
		}
	free(r);
	return k;
}

/* The regex as Hyperscan reads it (PCRE syntax), widened where that is
 * simpler: it may match more than YARA's, never less (the prefilter only
 * needs "may match"). \s \w \d become the classes YARA means by them;
 * the zero-width \b \B ^ $ are dropped; a repeat bounded above RX_BOUND
 * loses its upper bound and keeps at most RX_BOUND as its lower (the
 * bounded repeats are what makes Hyperscan compile slowly); bytes outside
 * printable ASCII are written \xNN. false when not understood. */
#define RX_BOUND 16
#define RX_MAX 16384

/* An escape outside a class, re[*i] the character after the backslash, as
 * Hyperscan reads it: \s \w \d as the classes YARA means (\s a superset of
 * every YARA version's, so \S is only "not a space or a tab", what no
 * version counts as a space), anything else a byte written \xNN. false
 * when not understood. */
static bool rx_escape(const char *re, size_t n, size_t *i, sw_buf *o)
{
	static const struct { char e; const char *cls; } sets[] = {
		{ 's', "[\\t\\n\\x0b\\f\\r ]" }, { 'S', "[^\\t ]" },
		{ 'w', "[A-Za-z0-9_]" }, { 'W', "[^A-Za-z0-9_]" },
		{ 'd', "[0-9]" }, { 'D', "[^0-9]" },
	};
	size_t k;
	int c;

	for (k = 0; *i < n && k < sizeof(sets) / sizeof(sets[0]); k++)
		if (re[*i] == sets[k].e) {
			(*i)++;
			return sw_buf_printf(o, "%s", sets[k].cls) == 0;
		}
	c = escape(re, n, i);
	return c >= 0 && sw_buf_printf(o, "\\x%02x", c) == 0;
}

static bool rx_form(const char *re, size_t n, bool wide, bool anchors, sw_buf *o)
{
	size_t i = 0;

	while (i < n) {
		char c = re[i];
		/* one character's worth (an atom) is wrapped, in the wide
		 * form, with the zero byte that follows it */
		bool atom = true;
		if (o->len > RX_MAX)
			return false;
		if (wide && strchr("(|)*+?{^$", c) == NULL && !(c == '\\' && i + 1 < n && strchr("bB", re[i + 1])) &&
		    sw_buf_printf(o, "(?:") < 0)
			return false;
		if (c == '\\') {
			if (++i >= n)
				return false;
			if (re[i] == 'b' || re[i] == 'B') { /* zero-width: dropped */
				i++;
				atom = false;
			} else if (!rx_escape(re, n, &i, o)) {
				return false;
			}
		} else if (c == '[') {
			uint8_t set[32];
			int lo, hi;
			if (!class_parse(re, n, &i, set) || sw_buf_putc(o, '[') < 0)
				return false;
			for (lo = 0; lo < 256; lo = hi + 1) { /* runs of members as ranges */
				for (; lo < 256 && !in_set(set, lo); lo++)
					;
				if (lo == 256)
					break;
				for (hi = lo; hi + 1 < 256 && in_set(set, hi + 1); hi++)
					;
				if (sw_buf_printf(o, hi > lo ? "\\x%02x-\\x%02x" : "\\x%02x", lo, hi) < 0)
					return false;
			}
			if (o->data[o->len - 1] == '[') /* an empty class: matches nothing */
				return false;
			if (sw_buf_putc(o, ']') < 0)
				return false;
		} else if (c == '{') {
			atom = false;
			unsigned long lo = 0, hi = 0;
			bool comma = false, has_hi = false, has_lo = false;
			for (i++; i < n && isdigit((unsigned char)re[i]); i++, has_lo = true)
				if ((lo = lo * 10 + (unsigned long)(re[i] - '0')) > 100000)
					return false;
			if (i < n && re[i] == ',') {
				comma = true;
				for (i++; i < n && isdigit((unsigned char)re[i]); i++, has_hi = true)
					if ((hi = hi * 10 + (unsigned long)(re[i] - '0')) > 100000)
						return false;
			}
			if (i >= n || re[i] != '}' || (!has_lo && !has_hi))
				return false;
			i++;
			if (!comma)
				hi = lo, has_hi = true;
			if (has_hi && hi <= RX_BOUND) {
				if (sw_buf_printf(o, "{%lu,%lu}", lo, hi) < 0)
					return false;
			} else if (lo == 0) {
				if (sw_buf_putc(o, '*') < 0)
					return false;
			} else if (sw_buf_printf(o, "{%lu,}", lo < RX_BOUND ? lo : RX_BOUND) < 0) {
				return false;
			}
		} else if (c == '^' || c == '$') {
			i++;
			atom = false;
			if (anchors && sw_buf_putc(o, c) < 0)
				return false;
		} else if (strchr("()|*+?", c)) {
			i++;
			atom = false;
			if (sw_buf_putc(o, c) < 0)
				return false;
		} else if (c == '.') {
			i++;
			if (sw_buf_putc(o, c) < 0)
				return false;
		} else {
			i++;
			if ((isalnum((unsigned char)c) || c == ' ' || c == '_') ?
			    sw_buf_putc(o, c) < 0 : sw_buf_printf(o, "\\x%02x", (unsigned char)c) < 0)
				return false;
		}
		if (wide && atom && sw_buf_printf(o, "\\x00)") < 0)
			return false;
	}
	return o->len > 0;
}

/* Both forms when the string is ascii and wide. */
static bool rx_translate(const char *re, size_t n, bool ascii, bool wide, sw_buf *o)
{
	if (ascii && wide)
		return sw_buf_printf(o, "(?:") == 0 && rx_form(re, n, false, false, o) &&
		       sw_buf_printf(o, ")|(?:") == 0 && rx_form(re, n, true, false, o) &&
		       sw_buf_putc(o, ')') == 0;
	return rx_form(re, n, wide, false, o);
}

/* ---- strings ---- */

/* Add the forms of a literal to s: ascii and/or wide, caseless or not. */
static bool str_add(sw_ygate *g, uint32_t *ids, uint32_t *nids, uint32_t max,
		    const uint8_t *b, size_t n, bool ascii, bool wide, bool caseless)
{
	uint8_t w[LITMAX];
	long id;
	size_t i;

	if (ascii) {
		if (*nids >= max || (id = lit_add(g, b, n, caseless ? SW_YGATE_CASELESS : 0)) < 0)
			return false;
		ids[(*nids)++] = (uint32_t)id;
	}
	if (wide) {
		for (i = 0; i < n && 2 * i + 1 < LITMAX; i++) {
			w[2 * i] = b[i];
			w[2 * i + 1] = 0;
		}
		if (*nids >= max ||
		    (id = lit_add(g, w, 2 * i, caseless ? SW_YGATE_CASELESS : 0)) < 0)
			return false;
		ids[(*nids)++] = (uint32_t)id;
	}
	return true;
}

/* Decode a "text string" body; its length, or (size_t)-1 for an escape
 * YARA would not accept either. */
static size_t text_decode(const char *p, size_t n, uint8_t *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < n && o < cap; i++) {
		int c = (unsigned char)p[i];
		if (c == '\\') {
			if (++i >= n)
				return (size_t)-1;
			switch (p[i]) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case '"': c = '"'; break;
			case '\\': c = '\\'; break;
			case 'x':
				if (i + 2 >= n || hexval(p[i + 1]) < 0 || hexval(p[i + 2]) < 0)
					return (size_t)-1;
				c = hexval(p[i + 1]) * 16 + hexval(p[i + 2]);
				i += 2;
				break;
			default:
				return (size_t)-1;
			}
		}
		out[o++] = (uint8_t)c;
	}
	return o;
}

/* The longest run of fixed bytes in a hex string body; its length (0 when
 * not understood). */
static size_t hex_lit(const char *p, size_t n, uint8_t *best)
{
	uint8_t cur[LITMAX];
	size_t i = 0, ncur = 0, nbest = 0;

	while (i <= n) {
		bool brk = false;
		if (i == n) {
			brk = true;
			i++;
		} else if (isspace((unsigned char)p[i])) {
			i++;
			continue;
		} else if (hexval(p[i]) >= 0 && i + 1 < n && hexval(p[i + 1]) >= 0) {
			if (ncur < LITMAX)
				cur[ncur++] = (uint8_t)(hexval(p[i]) * 16 + hexval(p[i + 1]));
			i += 2;
			continue;
		} else if ((p[i] == '?' || hexval(p[i]) >= 0) && i + 1 < n &&
			   (p[i + 1] == '?' || hexval(p[i + 1]) >= 0)) {
			brk = true; /* a wildcard, whole or half */
			i += 2;
		} else if (p[i] == '[') {
			while (i < n && p[i] != ']')
				i++;
			if (i >= n)
				return 0;
			i++;
			brk = true;
		} else if (p[i] == '(') {
			int depth = 0;
			for (; i < n; i++) {
				if (p[i] == '(')
					depth++;
				else if (p[i] == ')' && --depth == 0)
					break;
			}
			if (i >= n)
				return 0;
			i++;
			brk = true;
		} else if (p[i] == '~') {
			i++;
			brk = true;
			while (i < n && isspace((unsigned char)p[i]))
				i++;
			if (i + 1 < n)
				i += 2; /* the byte it negates */
		} else {
			return 0;
		}
		if (brk) {
			if (ncur > nbest) {
				memcpy(best, cur, ncur);
				nbest = ncur;
			}
			ncur = 0;
		}
	}
	return nbest;
}

/* ---- conditions ---- */

enum { T_ID, T_SVAR, T_SCOUNT, T_SOTHER, T_NUM, T_TEXT, T_REGEX, T_OP };

typedef struct tok {
	uint8_t kind;
	bool wild, num_ok;         /* T_SVAR: ends in '*'; T_NUM: an integer we read */
	const char *p;
	size_t n;
	uint64_t num;
} tok;

typedef struct cparse {
	sw_ygate *g;
	grule *rule;
	tok *t;
	size_t nt;
	const char *ns;
	int depth;
} cparse;

static bool tok_is(const tok *t, const char *w)
{
	return (t->kind == T_ID || t->kind == T_OP) && sw_ylex_word_is(t->p, t->n, w);
}

/* An integer as YARA writes it: decimal or 0x hex, with KB or MB. */
static bool parse_num(const char *p, size_t n, uint64_t *v)
{
	uint64_t x = 0, mul = 1;
	size_t i = 0;

	if (n >= 2 && (sw_ylex_word_is(p + n - 2, 2, "KB") || sw_ylex_word_is(p + n - 2, 2, "MB"))) {
		mul = p[n - 2] == 'K' ? 1024 : 1024 * 1024;
		n -= 2;
	}
	if (n > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		if (n - 2 > 15)
			return false;
		for (i = 2; i < n; i++) {
			if (hexval(p[i]) < 0)
				return false;
			x = x * 16 + (uint64_t)hexval(p[i]);
		}
	} else {
		if (n == 0 || n > 18)
			return false;
		for (i = 0; i < n; i++) {
			if (!isdigit((unsigned char)p[i]))
				return false;
			x = x * 10 + (uint64_t)(p[i] - '0');
		}
	}
	*v = x * mul;
	return true;
}

/* Tokens of a condition, up to the '}' that closes the rule. Returns the
 * count, or (size_t)-1 when not understood. */
static size_t tokenize(sw_ylex *l, tok *t, size_t max)
{
	static const char *const ops2[] = { "==", "!=", "<=", ">=", "<<", ">>", "..", NULL };
	size_t nt = 0;

	for (;;) {
		tok *k;
		char c;
		size_t b;
		if (!sw_ylex_space(l) || l->i >= l->n)
			return (size_t)-1;
		c = l->s[l->i];
		if (c == '}') {
			l->i++;
			return nt;
		}
		if (nt >= max)
			return (size_t)-1;
		k = &t[nt++];
		memset(k, 0, sizeof(*k));
		b = l->i;
		if (sw_ylex_is_id0(c)) {
			sw_ylex_ident(l);
			k->kind = T_ID;
			/* module.member and rule-set forms stay one term */
			while (l->i + 1 < l->n && l->s[l->i] == '.' && sw_ylex_is_id0(l->s[l->i + 1])) {
				l->i++;
				sw_ylex_ident(l);
			}
		} else if (strchr("$#@!", c) && l->i + 1 < l->n &&
			   (sw_ylex_is_id(l->s[l->i + 1]) || c == '$' || l->s[l->i + 1] == '*' ||
			    (c != '!' && l->s[l->i + 1] != '='))) {
			l->i++;
			k->kind = c == '$' ? T_SVAR : c == '#' ? T_SCOUNT : T_SOTHER;
			k->p = l->s + b + 1; /* the name, without its sigil or '*' */
			k->n = sw_ylex_ident(l);
			if (l->i < l->n && l->s[l->i] == '*') {
				k->wild = true;
				l->i++;
			}
			continue;
		} else if (isdigit((unsigned char)c)) {
			while (l->i < l->n && (isalnum((unsigned char)l->s[l->i])))
				l->i++;
			k->kind = T_NUM;
			k->num_ok = parse_num(l->s + b, l->i - b, &k->num);
			if (l->i + 1 < l->n && l->s[l->i] == '.' && isdigit((unsigned char)l->s[l->i + 1])) {
				k->num_ok = false; /* a float */
				for (l->i++; l->i < l->n && isdigit((unsigned char)l->s[l->i]); l->i++)
					;
			}
		} else if (c == '"' || c == '/') {
			if (!sw_ylex_quoted(l, c))
				return (size_t)-1;
			k->kind = c == '"' ? T_TEXT : T_REGEX;
			if (c == '/' && l->i < l->n && l->s[l->i] == 'i')
				l->i++;
			if (c == '/' && l->i < l->n && l->s[l->i] == 's')
				l->i++;
		} else if (c == '{') {
			return (size_t)-1;
		} else {
			const char *const *o;
			k->kind = T_OP;
			l->i++;
			for (o = ops2; *o; o++)
				if (l->i < l->n && c == (*o)[0] && l->s[l->i] == (*o)[1]) {
					l->i++;
					break;
				}
		}
		k->p = l->s + b;
		k->n = l->i - b;
	}
}

static gnode *node(cparse *c, int kind)
{
	gnode *n = ga(c->g, sizeof(*n));

	if (n)
		n->kind = (uint8_t)kind;
	return n;
}

static int cmp_op(const tok *t)
{
	static const char *const names[] = { "<", "<=", ">", ">=", "==", "!=" };
	int i;

	if (t->kind != T_OP)
		return -1;
	for (i = 0; i < 6; i++)
		if (sw_ylex_word_is(t->p, t->n, names[i]))
			return i;
	return -1;
}

static int flip_op(int op)
{
	static const int f[] = { OP_GT, OP_GE, OP_LT, OP_LE, OP_EQ, OP_NE };
	return f[op];
}

/* The index of string $name in the rule, or -1. */
static long find_str(const grule *r, const char *p, size_t n)
{
	uint32_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < r->nstrs; i++)
		if (r->strs[i].namelen == n && memcmp(r->strs[i].name, p, n) == 0)
			return (long)i;
	return -1;
}

static bool str_in_set(const grule *r, uint32_t i, const tok *v)
{
	const gstr *s = &r->strs[i];

	if (v->wild)
		return s->namelen >= v->n && memcmp(s->name, v->p, v->n) == 0;
	return s->namelen == v->n && v->n && memcmp(s->name, v->p, v->n) == 0;
}

/* `N of them`, `N of ($a, $b*)`: t[a..b) with t[a+1] == "of". */
static gnode *parse_of(cparse *c, size_t a, size_t b)
{
	grule *r = c->rule;
	gnode *n;
	uint64_t need;
	uint32_t i;
	size_t k;

	if (tok_is(&c->t[a], "any"))
		need = 1;
	else if (tok_is(&c->t[a], "all"))
		need = UINT64_MAX;
	else if (c->t[a].kind == T_NUM && c->t[a].num_ok)
		need = c->t[a].num;
	else
		return node(c, G_TRUE);
	if (!(n = node(c, G_NOF)) || !(n->set = ga(c->g, (r->nstrs + 1) * sizeof(uint32_t))))
		return NULL;
	if (b - a == 3 && tok_is(&c->t[a + 2], "them")) {
		for (i = 0; i < r->nstrs; i++)
			n->set[n->n++] = i;
	} else {
		if (b - a < 5 || !tok_is(&c->t[a + 2], "(") || !tok_is(&c->t[b - 1], ")"))
			return node(c, G_TRUE);
		for (k = a + 3; k < b - 1; k++) {
			const tok *v = &c->t[k];
			bool any = false;
			if ((k - a - 3) % 2 == 1) {
				if (!tok_is(v, ","))
					return node(c, G_TRUE);
				continue;
			}
			if (v->kind != T_SVAR)
				return node(c, G_TRUE);
			for (i = 0; i < r->nstrs; i++)
				if (str_in_set(r, i, v)) {
					uint32_t j;
					bool dup = false;
					for (j = 0; j < n->n; j++)
						dup |= n->set[j] == i;
					if (!dup)
						n->set[n->n++] = i;
					any = true;
				}
			if (!any)
				return node(c, G_TRUE);
		}
	}
	n->val = need == UINT64_MAX ? n->n : need;
	return n;
}

static gnode *parse_or(cparse *c, size_t a, size_t b);

/* One term between top-level and/or. */
static gnode *parse_unit(cparse *c, size_t a, size_t b)
{
	const tok *t = c->t;
	size_t n = b - a;
	gnode *g;
	long si;
	int op;

	if (n == 0 || tok_is(&t[a], "not"))
		return node(c, G_TRUE);
	if (tok_is(&t[a], "(")) {
		size_t k;
		int depth = 0;
		for (k = a; k < b; k++) {
			if (tok_is(&t[k], "("))
				depth++;
			else if (tok_is(&t[k], ")") && --depth == 0)
				break;
		}
		if (k == b - 1)
			return parse_or(c, a + 1, b - 1);
		return node(c, G_TRUE);
	}
	if (n == 1 && tok_is(&t[a], "false"))
		return node(c, G_FALSE);
	if (n == 1 && t[a].kind == T_ID) {
		size_t r;
		for (r = c->g->nrules; r-- > 0;)
			if (c->g->rules[r].namelen == t[a].n &&
			    memcmp(c->g->rules[r].name, t[a].p, t[a].n) == 0 &&
			    strcmp(c->g->rules[r].ns, c->ns) == 0) {
				if (!(g = node(c, G_RULE)))
					return NULL;
				g->ref = (uint32_t)r;
				return g;
			}
		return node(c, G_TRUE);
	}
	if (t[a].kind == T_SVAR && !t[a].wild &&
	    (n == 1 || tok_is(&t[a + 1], "at") || tok_is(&t[a + 1], "in")) &&
	    (si = find_str(c->rule, t[a].p, t[a].n)) >= 0) {
		if (!(g = node(c, G_STR)))
			return NULL;
		g->ref = (uint32_t)si;
		return g;
	}
	if (n == 3 && t[a].kind == T_SCOUNT && !t[a].wild && (op = cmp_op(&t[a + 1])) >= 0 &&
	    t[a + 2].kind == T_NUM && t[a + 2].num_ok && (si = find_str(c->rule, t[a].p, t[a].n)) >= 0 &&
	    ((op == OP_GT) || (op == OP_GE && t[a + 2].num >= 1) || (op == OP_EQ && t[a + 2].num >= 1))) {
		if (!(g = node(c, G_STR)))
			return NULL;
		g->ref = (uint32_t)si;
		return g;
	}
	if (n >= 3 && tok_is(&t[a + 1], "of"))
		return parse_of(c, a, b);
	if (n == 3 && (op = cmp_op(&t[a + 1])) >= 0 &&
	    ((tok_is(&t[a], "filesize") && t[a + 2].kind == T_NUM && t[a + 2].num_ok) ||
	     (tok_is(&t[a + 2], "filesize") && t[a].kind == T_NUM && t[a].num_ok))) {
		if (!(g = node(c, G_SIZE)))
			return NULL;
		g->op = (uint8_t)(tok_is(&t[a], "filesize") ? op : flip_op(op));
		g->val = tok_is(&t[a], "filesize") ? t[a + 2].num : t[a].num;
		return g;
	}
	if (n == 6 && t[a].kind == T_ID && tok_is(&t[a + 1], "(") && t[a + 2].kind == T_NUM &&
	    t[a + 2].num_ok && tok_is(&t[a + 3], ")") && (op = cmp_op(&t[a + 4])) >= 0 &&
	    t[a + 5].kind == T_NUM && t[a + 5].num_ok) {
		static const char *const fns[] = { "uint8", "uint16", "uint32", "uint8be", "uint16be",
						   "uint32be" };
		int f;
		for (f = 0; f < 6; f++)
			if (tok_is(&t[a], fns[f])) {
				if (!(g = node(c, G_UINT)))
					return NULL;
				g->width = (uint8_t)(1u << (f % 3));
				g->be = f >= 3;
				g->op = (uint8_t)op;
				g->off = t[a + 2].num;
				g->val = t[a + 5].num;
				return g;
			}
		return node(c, G_TRUE);
	}
	if (n == 3 && tok_is(&t[a + 1], "matches") && t[a + 2].kind == T_REGEX &&
	    (tok_is(&t[a], "filepath") || tok_is(&t[a], "filename") || tok_is(&t[a], "extension"))) {
		/* /body/flags: the path's regex, anchors kept (paths are short) */
		const char *re = t[a + 2].p + 1, *end = t[a + 2].p + t[a + 2].n;
		unsigned flags = SW_YGATE_REGEX | (tok_is(&t[a], "filepath") ? SW_YGATE_PATH :
						   tok_is(&t[a], "filename") ? SW_YGATE_NAME : SW_YGATE_EXT);
		sw_buf rb = SW_BUF_INIT(RX_MAX + 64);
		long id = -1;
		while (end > re && end[-1] != '/') {
			flags |= end[-1] == 'i' ? SW_YGATE_CASELESS : end[-1] == 's' ? SW_YGATE_DOTALL : 0;
			end--;
		}
		if (end > re && rx_form(re, (size_t)(end - 1 - re), false, true, &rb))
			id = lit_add(c->g, (const uint8_t *)rb.data, rb.len, flags);
		sw_buf_release(&rb);
		if (id < 0)
			return node(c, G_TRUE);
		if (!(g = node(c, G_VARRE)))
			return NULL;
		g->ref = (uint32_t)id;
		return g;
	}
	if (n == 3 && tok_is(&t[a + 1], "==") && t[a + 2].kind == T_TEXT &&
	    (tok_is(&t[a], "filepath") || tok_is(&t[a], "filename") || tok_is(&t[a], "extension"))) {
		uint8_t buf[4096];
		size_t len = text_decode(t[a + 2].p + 1, t[a + 2].n - 2, buf, sizeof(buf));
		if (len == (size_t)-1 || len >= sizeof(buf) || memchr(buf, 0, len))
			return node(c, G_TRUE);
		if (!(g = node(c, G_VAREQ)) || !(g->text = gdup(c->g, (const char *)buf, len)))
			return NULL;
		g->var = tok_is(&t[a], "filepath") ? V_PATH : tok_is(&t[a], "filename") ? V_NAME : V_EXT;
		return g;
	}
	return node(c, G_TRUE);
}

/* Split t[a..b) at top-level `word`; parse each part with sub. */
static gnode *parse_split(cparse *c, size_t a, size_t b, const char *word, int kind,
			  gnode *(*sub)(cparse *, size_t, size_t))
{
	size_t k, s = a, parts = 1;
	int depth = 0;
	gnode *g;

	for (k = a; k < b; k++) {
		if (tok_is(&c->t[k], "(") || tok_is(&c->t[k], "["))
			depth++;
		else if (tok_is(&c->t[k], ")") || tok_is(&c->t[k], "]"))
			depth--;
		else if (depth == 0 && c->t[k].kind == T_ID && tok_is(&c->t[k], word))
			parts++;
	}
	if (parts == 1)
		return sub(c, a, b);
	if (!(g = node(c, kind)) || !(g->kids = ga(c->g, parts * sizeof(*g->kids))))
		return NULL;
	depth = 0;
	for (k = a; k <= b; k++) {
		if (k < b && (tok_is(&c->t[k], "(") || tok_is(&c->t[k], "[")))
			depth++;
		else if (k < b && (tok_is(&c->t[k], ")") || tok_is(&c->t[k], "]")))
			depth--;
		else if (k == b || (depth == 0 && c->t[k].kind == T_ID && tok_is(&c->t[k], word))) {
			if (!(g->kids[g->n++] = sub(c, s, k)))
				return NULL;
			s = k + 1;
		}
	}
	return g;
}

static gnode *parse_and(cparse *c, size_t a, size_t b)
{
	return parse_split(c, a, b, "and", G_AND, parse_unit);
}

static gnode *parse_or(cparse *c, size_t a, size_t b)
{
	gnode *g;

	if (++c->depth > MAX_DEPTH) {
		c->depth--;
		return node(c, G_TRUE);
	}
	g = parse_split(c, a, b, "or", G_OR, parse_and);
	c->depth--;
	return g;
}

/* ---- rules ---- */

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
 * path_open false, a path test (filepath == or matches) counts as closed:
 * that is a rule open for (almost) every file, whose gate saves nothing
 * (sizes and magic numbers let most files through). With path_open true,
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
	default:
		return true; /* true, filesize, a magic number */
	}
}

/* The strings: section. l at its first '$'; stops before `condition`.
 * false when not understood. */
static bool parse_strings(sw_ygate *g, grule *r, sw_ylex *l)
{
	for (;;) {
		gstr *s;
		size_t n0, n1, v0, v1;
		char kind;
		bool nocase = false, ascii = false, wide = false, unknown = false, re_i = false;
		bool re_s = false;
		uint8_t buf[LITMAX];
		uint32_t ids[2 * 64];
		uint32_t nids = 0;

		if (!sw_ylex_space(l) || l->i >= l->n)
			return false;
		if (l->s[l->i] != '$')
			return true;
		l->i++;
		n0 = l->i;
		n1 = n0 + sw_ylex_ident(l);
		if (!sw_ylex_space(l) || l->i >= l->n || l->s[l->i] != '=')
			return false;
		l->i++;
		if (!sw_ylex_space(l) || l->i >= l->n)
			return false;
		kind = l->s[l->i];
		v0 = l->i + 1;
		if (kind == '"' || kind == '/') {
			if (!sw_ylex_quoted(l, kind))
				return false;
			v1 = l->i - 1;
			if (kind == '/') { /* YARA reads i?s? here; a modifier may follow */
				if (l->i < l->n && l->s[l->i] == 'i' && (re_i = true))
					l->i++;
				if (l->i < l->n && l->s[l->i] == 's' && (re_s = true))
					l->i++;
			}
		} else if (kind == '{') {
			/* a comment in a hex string could hide a '}': no gate */
			while (l->i < l->n && l->s[l->i] != '}')
				if (l->s[l->i++] == '/')
					return false;
			if (l->i >= l->n)
				return false;
			v1 = l->i++;
		} else {
			return false;
		}
		/* modifiers */
		for (;;) {
			const char *w;
			size_t wn;
			if (!sw_ylex_space(l) || l->i >= l->n)
				return false;
			if (!sw_ylex_is_id0(l->s[l->i]))
				break;
			w = l->s + l->i;
			wn = sw_ylex_ident(l);
			if (sw_ylex_word_is(w, wn, "condition")) {
				l->i = (size_t)(w - l->s);
				break;
			}
			if (sw_ylex_word_is(w, wn, "nocase"))
				nocase = true;
			else if (sw_ylex_word_is(w, wn, "ascii"))
				ascii = true;
			else if (sw_ylex_word_is(w, wn, "wide"))
				wide = true;
			else if (!sw_ylex_word_is(w, wn, "fullword") && !sw_ylex_word_is(w, wn, "private"))
				unknown = true; /* xor, base64, base64wide, anything newer */
			if (!sw_ylex_space(l))
				return false;
			if (l->i < l->n && l->s[l->i] == '(') {
				while (l->i < l->n && l->s[l->i] != ')') {
					if (l->s[l->i] == '"') {
						if (!sw_ylex_quoted(l, '"'))
							return false;
					} else {
						l->i++;
					}
				}
				if (l->i >= l->n)
					return false;
				l->i++;
			}
		}
		if (r->nstrs == r->strcap) { /* (a second strings: section adds on) */
			gstr *ns;
			if (r->strcap > UINT32_MAX / 4)
				return false;
			r->strcap = r->strcap ? r->strcap * 2 : 16;
			if (!(ns = ga(g, r->strcap * sizeof(*ns))))
				return false;
			if (r->nstrs)
				memcpy(ns, r->strs, r->nstrs * sizeof(*ns));
			r->strs = ns;
		}
		s = &r->strs[r->nstrs++];
		s->rx = -1;
		s->namelen = n1 - n0;
		if (!(s->name = gdup(g, l->s + n0, n1 - n0)))
			return false;
		if (!ascii && !wide)
			ascii = true;
		if (unknown)
			continue;
		if (kind == '"') {
			size_t len = text_decode(l->s + v0, v1 - v0, buf, sizeof(buf));
			if (len == (size_t)-1 || len == 0 ||
			    !str_add(g, ids, &nids, 128, buf, len, ascii, wide, nocase))
				nids = 0;
		} else if (kind == '{') {
			size_t len = hex_lit(l->s + v0, v1 - v0, buf);
			if (len < MIN_HEX_LIT || !str_add(g, ids, &nids, 128, buf, len, true, false, false))
				nids = 0;
		} else {
			uint8_t alts[64][256];
			size_t lens[64], na, k;
			na = sw_ygate_regex_lits(l->s + v0, v1 - v0, alts, lens, 64, MIN_REGEX_LIT);
			for (k = 0; k < na; k++)
				if (!str_add(g, ids, &nids, 128, alts[k], lens[k], ascii, wide,
					     nocase || re_i)) {
					nids = 0;
					break;
				}
			if (na == 0)
				nids = 0;
			{
				sw_buf rb = SW_BUF_INIT(4 * RX_MAX);
				if (rx_translate(l->s + v0, v1 - v0, ascii, wide, &rb) &&
				    (s->rx = lit_add(g, (const uint8_t *)rb.data, rb.len,
						     SW_YGATE_REGEX | (nocase || re_i ? SW_YGATE_CASELESS : 0) |
						     (re_s ? SW_YGATE_DOTALL : 0))) < 0)
					s->rx = -1; /* its literals stand in */
				sw_buf_release(&rb);
			}
		}
		if (g->oom)
			return false;
		if (nids) {
			if (!(s->lits = ga(g, nids * sizeof(uint32_t))))
				return false;
			memcpy(s->lits, ids, nids * sizeof(uint32_t));
			s->nlits = nids;
		}
	}
}

/* One rule body, from after its '{'. false when not understood. */
static bool parse_body(sw_ygate *g, grule *r, sw_ylex *l, tok *toks)
{
	for (;;) {
		const char *w;
		size_t wn;
		if (!sw_ylex_space(l) || l->i >= l->n)
			return false;
		if (l->s[l->i] == '"') {
			if (!sw_ylex_quoted(l, '"'))
				return false;
			continue;
		}
		if (!sw_ylex_is_id0(l->s[l->i])) {
			if (l->s[l->i] == '}' || l->s[l->i] == '{' || l->s[l->i] == '/')
				return false; /* a rule without a condition, or not ours */
			l->i++;
			continue;
		}
		w = l->s + l->i;
		wn = sw_ylex_ident(l);
		if (!sw_ylex_space(l) || l->i >= l->n || l->s[l->i] != ':')
			continue;
		if (sw_ylex_word_is(w, wn, "strings")) {
			l->i++;
			if (!parse_strings(g, r, l))
				return false;
		} else if (sw_ylex_word_is(w, wn, "condition")) {
			cparse c = { g, r, toks, 0, r->ns, 0 };
			l->i++;
			if ((c.nt = tokenize(l, toks, MAX_TOKENS)) == (size_t)-1)
				return false;
			r->cond = c.nt ? parse_or(&c, 0, c.nt) : node(&c, G_TRUE);
			return r->cond != NULL;
		} else {
			l->i++; /* meta: */
		}
	}
}

static int parse_text(sw_ygate *g, const char *text, const char *ns, tok *toks)
{
	sw_ylex l = { text, strlen(text), 0 };
	bool is_private = false;

	for (;;) {
		const char *w;
		size_t wn;
		grule *r;
		if (!sw_ylex_space(&l))
			return 0;
		if (l.i >= l.n)
			return 1;
		if (!sw_ylex_is_id0(l.s[l.i]))
			return 0;
		w = l.s + l.i;
		wn = sw_ylex_ident(&l);
		if (sw_ylex_word_is(w, wn, "import")) {
			if (!sw_ylex_space(&l) || l.i >= l.n || l.s[l.i] != '"' || !sw_ylex_quoted(&l, '"'))
				return 0;
			continue;
		}
		if (sw_ylex_word_is(w, wn, "private")) {
			is_private = true;
			continue;
		}
		if (sw_ylex_word_is(w, wn, "global"))
			continue;
		if (!sw_ylex_word_is(w, wn, "rule"))
			return 0; /* include, or something newer */
		if (!sw_ylex_space(&l) || l.i >= l.n || !sw_ylex_is_id0(l.s[l.i]))
			return 0;
		if (SW_GROW(g->rules, g->nrules) < 0)
			return -1;
		r = &g->rules[g->nrules];
		memset(r, 0, sizeof(*r));
		r->ns = ns;
		r->is_private = is_private;
		w = l.s + l.i;
		r->namelen = sw_ylex_ident(&l);
		if (!(r->name = gdup(g, w, r->namelen)))
			return -1;
		while (l.i < l.n && l.s[l.i] != '{') { /* tags */
			if (!sw_ylex_space(&l))
				return 0;
			if (l.i < l.n && l.s[l.i] != '{')
				l.i++;
		}
		if (l.i >= l.n)
			return 0;
		l.i++;
		if (!parse_body(g, r, &l, toks))
			return g->oom ? -1 : 0;
		g->nrules++;
		is_private = false;
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
		const char *nsc = gdup(g, ns[i], strlen(ns[i]));
		rc = nsc ? parse_text(g, text[i], nsc, toks) : -1;
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
	if (!(g->namebits = ga(g, g->hitwords * sizeof(*g->namebits)))) {
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

int sw_ygate_rule_gated(const sw_ygate *g, const char *ns, const char *name)
{
	size_t i;

	for (i = 0; i < g->nrules; i++)
		if (strcmp(g->rules[i].ns, ns) == 0 && g->rules[i].namelen == strlen(name) &&
		    memcmp(g->rules[i].name, name, g->rules[i].namelen) == 0)
			return !g->rules[i].open;
	return -1;
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
		return str_may(g, &r->strs[n->ref], hits);
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
