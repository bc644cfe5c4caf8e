/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gate builder's parts, internal (see yaragate.c): the model (rules,
 * their strings, conditions as trees, the patterns) and the calls between
 * the gate (yaragate.c), the regex reader (yaragate_regex.c), the
 * condition reader (yaragate_cond.c) and the rule reader
 * (yaragate_rules.c).
 */
#ifndef SW_DETECT_YARAGATE_INT_H
#define SW_DETECT_YARAGATE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "yaragate.h"
#include "yaralex.h"

#define LITMAX 256          /* longest literal kept (a prefix of a required run is required) */
#define MAX_TOKENS 65536   /* one condition's; more and the gate is not built */
#define RX_MAX 16384        /* bytes of a regex as the matcher takes it (yaragate_regex.c) */

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
	uint64_t off, val;         /* SIZE: val; UINT: off, val; NOF: val = needed;
				    * STR with ranged: the string's offset in [off, val] */
	bool ranged;
	char *text;                /* VAREQ */
} gnode;

typedef struct gstr {
	const char *name;          /* after '$', NUL-terminated; "" anonymous */
	size_t namelen;
	long rx;                   /* its regex as the matcher takes it, or -1 */
	uint32_t *lits, nlits;     /* else: nlits 0, nothing to look for, always possible */
	/* where its literals start, from the string's start (a regex's:
	 * off_max UINT32_MAX, unknown) */
	uint32_t off_min, off_max;
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

enum { T_ID, T_SVAR, T_SCOUNT, T_SOTHER, T_NUM, T_TEXT, T_REGEX, T_OP };

typedef struct tok {
	uint8_t kind;
	bool wild, num_ok;         /* T_SVAR: ends in '*'; T_NUM: an integer we read */
	const char *p;
	size_t n;
	uint64_t num;
} tok;

/* The arena (yaragate.c): n zeroed bytes that live as long as the gate;
 * NULL (and g->oom set) when out of memory. */
void *sw_ygate__alloc(sw_ygate *g, size_t n);
/* s[0..n) NUL-terminated, in the arena. */
char *sw_ygate__dup(sw_ygate *g, const char *s, size_t n);
/* The index of a pattern, added when new (yaragate.c); -1 out of memory,
 * -2 too many. */
long sw_ygate__lit_add(sw_ygate *g, const uint8_t *b, size_t n, unsigned flags);

/* Regexes (yaragate_regex.c): a hex digit's value (-1 when not one); a
 * regex in Hyperscan's syntax, matching at least what YARA's does (wide:
 * a zero byte after each character; anchors: ^ and $ kept), and both
 * forms of an ascii and wide string. false when not understood. */
int sw_ygate__hexval(char c);
bool sw_ygate__rx_form(const char *re, size_t n, bool wide, bool anchors, sw_buf *o);
bool sw_ygate__rx_translate(const char *re, size_t n, bool ascii, bool wide, sw_buf *o);

/* Rules (yaragate_rules.c): a "text string" body decoded ((size_t)-1 for
 * an escape YARA would refuse); one source's rules added to g (1 read, 0
 * not understood, -1 out of memory). */
size_t sw_ygate__text_decode(const char *p, size_t n, uint8_t *out, size_t cap);
int sw_ygate__parse_text(sw_ygate *g, const char *text, const char *ns, tok *toks);

/* Conditions (yaragate_cond.c): the condition at l (after "condition:")
 * up to the '}' that closes the rule, into r->cond. false when not
 * understood or out of memory (g->oom tells). */
bool sw_ygate__read_condition(sw_ygate *g, grule *r, sw_ylex *l, tok *toks);

#endif
