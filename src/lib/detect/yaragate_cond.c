/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The condition reader of the YARA gate (see yaragate.c): a rule's
 * condition as tokens, then as a tree of the terms the gate can judge
 * (strings found, counts, filesize, magic numbers, names, earlier rules)
 * joined by and/or; any other term, and anything nested deeper than
 * MAX_DEPTH, is "true", which only widens what the gate lets through.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "yaragate_int.h"
#include "../util/banned.h"

#define MAX_DEPTH 64        /* condition nesting followed; deeper is "true" */

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
			if (sw_ygate__hexval(p[i]) < 0)
				return false;
			x = x * 16 + (uint64_t)sw_ygate__hexval(p[i]);
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
	gnode *n = sw_ygate__alloc(c->g, sizeof(*n));

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
	if (!(n = node(c, G_NOF)) || !(n->set = sw_ygate__alloc(c->g, (r->nstrs + 1) * sizeof(uint32_t))))
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

/* A term that reads @a or !a (an offset or length of $a's matches, as in
 * `uint32(@h + 0x203) == 0x07002600`) is undefined, so false, where $a
 * has no match: the term needs $a. Likewise a term of the pe or elf
 * module needs the file to start as one. Only for a term with no or, not,
 * for, of or defined in it; anything else is taken as true. */
static gnode *needs_str(cparse *c, size_t a, size_t b)
{
	static const char *const words[] = { "or", "not", "for", "of", "defined", "them", "all", "any", "none" };
	const tok *t = c->t;
	long si = -1;
	size_t k, w;
	gnode *g;

	for (k = a; k < b; k++) {
		for (w = 0; w < sizeof(words) / sizeof(words[0]); w++)
			if (tok_is(&t[k], words[w]))
				return node(c, G_TRUE);
		if (si < 0 && t[k].kind == T_SOTHER && !t[k].wild)
			si = find_str(c->rule, t[k].p, t[k].n);
	}
	if (si >= 0) {
		if (!(g = node(c, G_STR)))
			return NULL;
		g->ref = (uint32_t)si;
		return g;
	}
	/* pe.* and elf.* are undefined (false) in a file that is not one:
	 * the term needs its magic number */
	for (k = a; k < b; k++) {
		bool pe = t[k].kind == T_ID && t[k].n > 3 && memcmp(t[k].p, "pe.", 3) == 0;
		bool elf = t[k].kind == T_ID && t[k].n > 4 && memcmp(t[k].p, "elf.", 4) == 0;
		if (!pe && !elf)
			continue;
		if (!(g = node(c, G_UINT)))
			return NULL;
		g->width = pe ? 2 : 4;
		g->op = OP_EQ;
		g->off = 0;
		g->val = pe ? 0x5a4d : 0x464c457f;
		return g;
	}
	return node(c, G_TRUE);
}

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
		/* `$a at N`, `$a in (A .. B)`: where it must be */
		if (n == 3 && tok_is(&t[a + 1], "at") && t[a + 2].kind == T_NUM && t[a + 2].num_ok) {
			g->ranged = true;
			g->off = g->val = t[a + 2].num;
		} else if (n == 7 && tok_is(&t[a + 1], "in") && tok_is(&t[a + 2], "(") && t[a + 3].kind == T_NUM &&
			   t[a + 3].num_ok && tok_is(&t[a + 4], "..") && t[a + 5].kind == T_NUM && t[a + 5].num_ok &&
			   tok_is(&t[a + 6], ")") && t[a + 3].num <= t[a + 5].num) {
			g->ranged = true;
			g->off = t[a + 3].num;
			g->val = t[a + 5].num;
		}
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
		if (end > re && sw_ygate__rx_form(re, (size_t)(end - 1 - re), false, true, &rb))
			id = sw_ygate__lit_add(c->g, (const uint8_t *)rb.data, rb.len, flags);
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
		size_t len = sw_ygate__text_decode(t[a + 2].p + 1, t[a + 2].n - 2, buf, sizeof(buf));
		if (len == (size_t)-1 || len >= sizeof(buf) || memchr(buf, 0, len))
			return node(c, G_TRUE);
		if (!(g = node(c, G_VAREQ)) || !(g->text = sw_ygate__dup(c->g, (const char *)buf, len)))
			return NULL;
		g->var = tok_is(&t[a], "filepath") ? V_PATH : tok_is(&t[a], "filename") ? V_NAME : V_EXT;
		return g;
	}
	return needs_str(c, a, b);
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
	if (!(g = node(c, kind)) || !(g->kids = sw_ygate__alloc(c->g, parts * sizeof(*g->kids))))
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

bool sw_ygate__read_condition(sw_ygate *g, grule *r, sw_ylex *l, tok *toks)
{
	cparse c = { g, r, toks, 0, r->ns, 0 };

	if ((c.nt = tokenize(l, toks, MAX_TOKENS)) == (size_t)-1)
		return false;
	r->cond = c.nt ? parse_or(&c, 0, c.nt) : node(&c, G_TRUE);
	return r->cond != NULL;
}
