/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rule reader of the YARA gate (see yaragate.c): the sources' rules,
 * each string's patterns (text strings, hex strings' longest fixed runs,
 * regexes through yaragate_regex.c), the condition handed to
 * yaragate_cond.c. Whatever it does not follow at top level (an include,
 * a '/' in a hex string that starts no comment) leaves no gate at all.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "yaragate_int.h"
#include "../util/banned.h"

#define MIN_REGEX_LIT 3
#define MIN_HEX_LIT 2

/* ---- strings ---- */

/* Add the forms of a literal to s: ascii and/or wide, caseless or not. */
static bool str_add(sw_ygate *g, uint32_t *ids, uint32_t *nids, uint32_t max,
		    const uint8_t *b, size_t n, bool ascii, bool wide, bool caseless)
{
	uint8_t w[LITMAX];
	long id;
	size_t i;

	if (ascii) {
		if (*nids >= max || (id = sw_ygate__lit_add(g, b, n, caseless ? SW_YGATE_CASELESS : 0)) < 0)
			return false;
		ids[(*nids)++] = (uint32_t)id;
	}
	if (wide) {
		for (i = 0; i < n && 2 * i + 1 < LITMAX; i++) {
			w[2 * i] = b[i];
			w[2 * i + 1] = 0;
		}
		if (*nids >= max ||
		    (id = sw_ygate__lit_add(g, w, 2 * i, caseless ? SW_YGATE_CASELESS : 0)) < 0)
			return false;
		ids[(*nids)++] = (uint32_t)id;
	}
	return true;
}

/* Decode a "text string" body; its length, or (size_t)-1 for an escape
 * YARA would not accept either. */
size_t sw_ygate__text_decode(const char *p, size_t n, uint8_t *out, size_t cap)
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
				if (i + 2 >= n || sw_ygate__hexval(p[i + 1]) < 0 || sw_ygate__hexval(p[i + 2]) < 0)
					return (size_t)-1;
				c = sw_ygate__hexval(p[i + 1]) * 16 + sw_ygate__hexval(p[i + 2]);
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

/* How surprising a byte is in ordinary files, in eighths of a bit: -log2
 * of its frequency (cost1), and of its following itself (cost_rep), as
 * measured over 40 MB of a Debian system's /usr/bin, /usr/lib,
 * /usr/share/doc and Python library. A run of twelve 00 bytes is worth
 * about 6 bits there, "UPX!" about 36: the gate looks for the latter. */
static const uint8_t cost1[256] = {
	 14,  48,  56,  56,  59,  61,  70,  69,  55,  70,  62,  74,  72,  74,  65,  57,
	 63,  73,  72,  79,  74,  73,  79,  77,  67,  79,  78,  79,  74,  80,  77,  68,
	 43,  80,  70,  76,  50,  73,  81,  75,  65,  68,  69,  79,  73,  70,  62,  61,
	 65,  61,  70,  71,  71,  69,  73,  73,  68,  70,  69,  76,  70,  71,  72,  83,
	 70,  56,  69,  67,  59,  57,  72,  69,  44,  59,  80,  78,  58,  68,  65,  65,
	 64,  80,  64,  61,  58,  69,  75,  77,  74,  77,  79,  69,  73,  69,  80,  53,
	 72,  54,  65,  57,  56,  48,  60,  64,  61,  54,  74,  74,  58,  62,  54,  53,
	 60,  81,  54,  53,  48,  59,  72,  73,  69,  70,  80,  80,  73,  78,  82,  82,
	 71,  79,  82,  63,  66,  63,  81,  82,  75,  51,  84,  55,  81,  60,  83,  83,
	 73,  85,  84,  83,  81,  84,  84,  84,  79,  85,  85,  85,  83,  84,  85,  85,
	 78,  86,  85,  85,  83,  84,  84,  86,  80,  85,  85,  83,  84,  85,  85,  85,
	 79,  85,  85,  85,  83,  84,  79,  82,  77,  82,  79,  81,  81,  83,  77,  80,
	 63,  77,  79,  70,  75,  77,  77,  69,  79,  80,  84,  84,  84,  84,  84,  84,
	 74,  82,  78,  84,  82,  83,  83,  83,  76,  83,  80,  80,  85,  84,  81,  75,
	 74,  83,  81,  82,  82,  83,  81,  79,  58,  68,  80,  76,  78,  81,  80,  77,
	 71,  83,  81,  79,  81,  81,  74,  78,  69,  78,  76,  74,  70,  73,  70,  42,
};
static const uint8_t cost_rep[256] = {
	  3,  53,  55,  57,  63,  53,  72,  66,  59,  44,  33,  69,  70,  65,  78,  71,
	 69,  61,  74,  69,  63,  63,  64,  65,  76,  68,  69,  69,  72,  66,  69,  82,
	 12,  43,  44,  38,  29,  68,  57,  51,  70,  48,  15,  57,  75,  25,  36,  26,
	 29,  33,  39,  36,  37,  41,  39,  38,  45,  42,  32,  64,  72,  40,  56,  61,
	 59,  77,  70,  58,  59,  44,  50,  66,  66,  75,  66,  74,  51,  61,  50,  29,
	 49,  71,  39,  36,  34,  66,  72,  68,  59,  66,  69,  27,  59,  60,  67,  32,
	 50,  68,  57,  52,  44,  51,  33,  59,  78,  75,  70,  72,  28,  29,  52,  43,
	 45,  65,  42,  32,  36,  79,  72,  53,  44,  71,  64,  67,  62,  66,  41,  45,
	 67,  67,  68,  73,  71,  76,  70,  64,  48,  98,  67,  78,  66,  76,  66,  66,
	 57,  67,  62,  66,  66,  64,  64,  64,  70,  57,  64,  63,  62,  63,  62,  62,
	 69,  64,  67,  65,  66,  64,  64,  66,  67,  62,  42,  67,  65,  63,  58,  63,
	 65,  63,  62,  63,  68,  65,  68,  65,  65,  66,  66,  65,  67,  64,  69,  66,
	 86,  59,  69,  72,  75,  70,  70,  75,  68,  69,  64,  63,  43,  63,  65,  65,
	 72,  65,  70,  66,  66,  64,  63,  62,  70,  65,  69,  66,  64,  61,  68,  72,
	 65,  66,  68,  66,  66,  67,  67,  71,  64,  63,  63,  65,  69,  68,  65,  72,
	 71,  66,  65,  70,  68,  64,  71,  64,  61,  66,  67,  69,  70,  63,  62,   7,
};

/* A fixed run's worth: the bits it carries in ordinary files. */
static unsigned run_cost(const uint8_t *b, size_t n)
{
	unsigned c = 0;
	size_t i;

	for (i = 0; i < n; i++)
		c += i && b[i] == b[i - 1] ? cost_rep[b[i]] : cost1[b[i]];
	return c;
}

/* The rarest run of fixed bytes in a hex string body (run_cost; the
 * longer of equals), and the bounds of its offset from the string's start
 * (*omax UINT32_MAX when a jump or alternative before it has no bound);
 * its length (0 when not understood). */
static size_t hex_lit(const char *p, size_t n, uint8_t *best, uint32_t *omin, uint32_t *omax)
{
	uint8_t cur[LITMAX];
	size_t i = 0, ncur = 0, nbest = 0;
	uint64_t lo = 0, hi = 0, cur_lo = 0, cur_hi = 0;   /* offsets of the next byte, of cur[0] */
	bool unb = false, cur_unb = false;
	unsigned cbest = 0;

	*omin = 0;
	*omax = UINT32_MAX;
	while (i <= n) {
		bool brk = false;
		if (i == n) {
			brk = true;
			i++;
		} else if (isspace((unsigned char)p[i])) {
			i++;
			continue;
		} else if (sw_ygate__hexval(p[i]) >= 0 && i + 1 < n && sw_ygate__hexval(p[i + 1]) >= 0) {
			if (ncur == 0) {
				cur_lo = lo;
				cur_hi = hi;
				cur_unb = unb;
			}
			if (ncur < LITMAX)
				cur[ncur++] = (uint8_t)(sw_ygate__hexval(p[i]) * 16 + sw_ygate__hexval(p[i + 1]));
			lo++;
			hi++;
			i += 2;
			continue;
		} else if ((p[i] == '?' || sw_ygate__hexval(p[i]) >= 0) && i + 1 < n &&
			   (p[i + 1] == '?' || sw_ygate__hexval(p[i + 1]) >= 0)) {
			brk = true; /* a wildcard, whole or half */
			i += 2;
			lo++;
			hi++;
		} else if (p[i] == '[') {
			/* [n], [n-m], [n-], [-]: the offset grows by n to m */
			uint64_t a = 0, b2 = 0;
			bool dash = false, hasb = false;
			for (i++; i < n && p[i] != ']'; i++) {
				if (p[i] == '-')
					dash = true;
				else if (isdigit((unsigned char)p[i]) && a < (1u << 30) && b2 < (1u << 30)) {
					if (dash) {
						b2 = b2 * 10 + (uint64_t)(p[i] - '0');
						hasb = true;
					} else {
						a = a * 10 + (uint64_t)(p[i] - '0');
					}
				}
			}
			if (i >= n)
				return 0;
			i++;
			brk = true;
			lo += a;
			if (!dash)
				hi += a;
			else if (hasb)
				hi += b2;
			else
				unb = true;
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
			unb = true; /* alternatives of any length: no bound past them */
		} else if (p[i] == '~') {
			i++;
			brk = true;
			while (i < n && isspace((unsigned char)p[i]))
				i++;
			if (i + 1 < n)
				i += 2; /* the byte it negates */
			lo++;
			hi++;
		} else {
			return 0;
		}
		if (brk) {
			unsigned c = ncur ? run_cost(cur, ncur) : 0;
			if (ncur && (c > cbest || (c == cbest && ncur > nbest))) {
				memcpy(best, cur, ncur);
				nbest = ncur;
				cbest = c;
				*omin = cur_lo > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)cur_lo;
				*omax = cur_unb || cur_hi >= UINT32_MAX ? UINT32_MAX : (uint32_t)cur_hi;
			}
			ncur = 0;
		}
	}
	return nbest;
}

/* hex_lit on a body whose comments are blanked first. */
static size_t hex_lit_text(const char *p, size_t n, uint8_t *best, uint32_t *omin, uint32_t *omax)
{
	char *c;
	size_t i, len;

	if (!memchr(p, '/', n))
		return hex_lit(p, n, best, omin, omax);
	if (!(c = malloc(n + 1)))
		return 0;
	memcpy(c, p, n);
	c[n] = '\0';
	for (i = 0; i < n; i++) {
		if (c[i] == '/' && i + 1 < n && c[i + 1] == '/') {
			while (i < n && c[i] != '\n')
				c[i++] = ' ';
		} else if (c[i] == '/' && i + 1 < n && c[i + 1] == '*') {
			while (i < n && !(c[i] == '*' && i + 1 < n && c[i + 1] == '/'))
				c[i++] = ' ';
			if (i < n)
				c[i++] = ' ';
			if (i < n)
				c[i] = ' ';
		}
	}
	len = hex_lit(c, n, best, omin, omax);
	free(c);
	return len;
}

/* ---- rules ---- */

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
			/* comments may stand in a hex string (signature-base
			 * annotates its opcodes): skipped, as YARA does */
			l->i++;
			while (l->i < l->n && l->s[l->i] != '}') {
				if (l->s[l->i] == '/' && l->i + 1 < l->n && l->s[l->i + 1] == '/') {
					while (l->i < l->n && l->s[l->i] != '\n')
						l->i++;
				} else if (l->s[l->i] == '/' && l->i + 1 < l->n && l->s[l->i + 1] == '*') {
					const char *e = l->i + 2 < l->n ? strstr(l->s + l->i + 2, "*/") : NULL;
					if (!e || (size_t)(e - l->s) >= l->n)
						return false;
					l->i = (size_t)(e - l->s) + 2;
				} else if (l->s[l->i] == '/') {
					return false;
				} else {
					l->i++;
				}
			}
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
			if (!(ns = sw_ygate__alloc(g, r->strcap * sizeof(*ns))))
				return false;
			if (r->nstrs)
				memcpy(ns, r->strs, r->nstrs * sizeof(*ns));
			r->strs = ns;
		}
		s = &r->strs[r->nstrs++];
		s->rx = -1;
		s->off_min = 0;
		s->off_max = UINT32_MAX;
		s->namelen = n1 - n0;
		if (!(s->name = sw_ygate__dup(g, l->s + n0, n1 - n0)))
			return false;
		if (!ascii && !wide)
			ascii = true;
		if (unknown)
			continue;
		if (kind == '"') {
			size_t len = sw_ygate__text_decode(l->s + v0, v1 - v0, buf, sizeof(buf));
			if (len == (size_t)-1 || len == 0 ||
			    !str_add(g, ids, &nids, 128, buf, len, ascii, wide, nocase))
				nids = 0;
			else
				s->off_max = 0; /* the literal is the string: at its start */
		} else if (kind == '{') {
			uint32_t omin, omax;
			size_t len = hex_lit_text(l->s + v0, v1 - v0, buf, &omin, &omax);
			if (len < MIN_HEX_LIT || !str_add(g, ids, &nids, 128, buf, len, true, false, false)) {
				nids = 0;
			} else {
				s->off_min = omin;
				s->off_max = omax;
			}
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
				if (sw_ygate__rx_translate(l->s + v0, v1 - v0, ascii, wide, &rb) &&
				    (s->rx = sw_ygate__lit_add(g, (const uint8_t *)rb.data, rb.len,
							       SW_YGATE_REGEX | (nocase || re_i ? SW_YGATE_CASELESS : 0) |
							       (re_s ? SW_YGATE_DOTALL : 0))) < 0)
					s->rx = -1; /* its literals stand in */
				sw_buf_release(&rb);
			}
		}
		if (g->oom)
			return false;
		if (nids) {
			if (!(s->lits = sw_ygate__alloc(g, nids * sizeof(uint32_t))))
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
			l->i++;
			return sw_ygate__read_condition(g, r, l, toks);
		} else {
			l->i++; /* meta: */
		}
	}
}

int sw_ygate__parse_text(sw_ygate *g, const char *text, const char *ns, tok *toks)
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
		if (!(r->name = sw_ygate__dup(g, w, r->namelen)))
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
