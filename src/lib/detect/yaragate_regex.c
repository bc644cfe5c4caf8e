/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Regular expressions in YARA rules, for the gate (yaragate.c): the
 * literals every match must contain (sw_ygate_regex_lits: the fallback
 * when Hyperscan refuses a regex), and the regex rewritten in Hyperscan's
 * syntax so that it matches at least what YARA's does (rx_form). Both
 * read YARA's syntax the widest way where its versions differ.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaragate_int.h"
#include "../util/banned.h"

int sw_ygate__hexval(char c)
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
		int h1 = *i < b ? sw_ygate__hexval(re[*i]) : -1, h2 = *i + 1 < b ? sw_ygate__hexval(re[*i + 1]) : -1;
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

bool sw_ygate__rx_form(const char *re, size_t n, bool wide, bool anchors, sw_buf *o)
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
bool sw_ygate__rx_translate(const char *re, size_t n, bool ascii, bool wide, sw_buf *o)
{
	if (ascii && wide)
		return sw_buf_printf(o, "(?:") == 0 && sw_ygate__rx_form(re, n, false, false, o) &&
		       sw_buf_printf(o, ")|(?:") == 0 && sw_ygate__rx_form(re, n, true, false, o) &&
		       sw_buf_putc(o, ')') == 0;
	return sw_ygate__rx_form(re, n, wide, false, o);
}
