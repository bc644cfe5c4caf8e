/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Size tiers for YARA rules. libyara looks for every string of every rule in
 * every byte it is given, whatever the conditions say, so a rule written
 * for small scripts (`filesize < 1MB and ...`) still costs its strings on a
 * 100 MB shared library where it can never match. A rule may promise its
 * bound in meta:
 *
 *     meta: max_size = "1MB"      (N, NKB or NMB, as YARA writes filesize)
 *
 * meaning "this rule is false for any file of max_size bytes or more" (its
 * condition must say `filesize < 1MB and ...` at the top level; the bundled
 * rules are checked for it by tests/rules). For the files of each size
 * tier, the engine compiles the same sources with every rule whose promise
 * covers the tier replaced by a stub of the same name and modifiers whose
 * condition is false (and private: it has no meta and never reports), so
 * references from other rules still compile and
 * evaluate exactly as before, and the stub's strings are never searched.
 *
 * The splitter is a small YARA tokenizer: it finds `[private|global]* rule
 * NAME [: tags] { ... }` at top level, skipping comments, "text strings"
 * and /regular expressions/ (YARA divides with `\`, so a `/` outside a
 * comment always opens a regex). On anything it does not understand it
 * gives the text back unchanged: the tier then simply keeps every rule.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "yaralex.h"
#include "yaratier.h"
#include "../util/banned.h"

/* The body of one rule, from its '{' to the matching '}'. Records meta
 * max_size (0 when absent). Returns false when the text is not understood. */
static bool rule_body(sw_ylex *l, uint64_t *max_size, const char *rule, sw_error *err, int *bad)
{
	int depth = 0;

	*max_size = 0;
	while (l->i < l->n) {
		char c;
		if (!sw_ylex_space(l))
			return false;
		if (l->i >= l->n)
			break;
		c = l->s[l->i];
		if (c == '{') {
			depth++;
			l->i++;
		} else if (c == '}') {
			l->i++;
			if (--depth == 0)
				return true;
		} else if (c == '"' || c == '/') {
			if (!sw_ylex_quoted(l, c))
				return false;
		} else if (sw_ylex_is_id0(c)) {
			const char *w = l->s + l->i;
			size_t wn = sw_ylex_ident(l);
			/* a meta key, not $max_size, #max_size... */
			bool sigil = w > l->s && strchr("$#@!", w[-1]);
			if (depth == 1 && !sigil && sw_ylex_word_is(w, wn, "max_size")) {
				size_t v0;
				if (!sw_ylex_space(l) || l->i >= l->n || l->s[l->i] != '=')
					continue;
				l->i++;
				if (!sw_ylex_space(l) || l->i >= l->n || l->s[l->i] != '"')
					continue;
				v0 = l->i + 1;
				if (!sw_ylex_quoted(l, '"'))
					return false;
				*max_size = sw_ylex_size(l->s + v0, l->i - 1 - v0);
				if (*max_size == 0 && !*bad) {
					*bad = 1;
					sw_error_set(err, SW_EFORMAT,
						     "rule %s: meta max_size must be N, NKB or NMB (as in filesize < 1MB)",
						     rule);
				}
			}
		} else {
			l->i++;
		}
	}
	return false;
}

int sw_yara_tier_text(const char *text, uint64_t min_size, sw_buf *out, const char *name,
		      sw_error *err)
{
	sw_ylex l = { text, strlen(text), 0 };
	size_t copied = 0, mods = (size_t)-1, start = out->len;
	int bad = 0, fail = 0;
	bool is_private = false;

	while (l.i < l.n) {
		size_t t0, wn, rule_kw, name0, namen;
		const char *w;
		uint64_t max_size;
		char rname[256];

		if (!sw_ylex_space(&l))
			goto verbatim;
		if (l.i >= l.n)
			break;
		t0 = l.i;
		if (l.s[l.i] == '"') {
			if (!sw_ylex_quoted(&l, '"'))
				goto verbatim;
			mods = (size_t)-1;
			continue;
		}
		if (!sw_ylex_is_id0(l.s[l.i])) {
			l.i++;
			mods = (size_t)-1;
			continue;
		}
		w = l.s + l.i;
		wn = sw_ylex_ident(&l);
		if (sw_ylex_word_is(w, wn, "private") || sw_ylex_word_is(w, wn, "global")) {
			if (mods == (size_t)-1) {
				mods = t0;
				is_private = false;
			}
			is_private |= sw_ylex_word_is(w, wn, "private");
			continue;
		}
		if (!sw_ylex_word_is(w, wn, "rule")) {
			mods = (size_t)-1;
			continue;
		}
		rule_kw = t0;
		if (mods == (size_t)-1) {
			mods = t0;
			is_private = false;
		}
		if (!sw_ylex_space(&l) || l.i >= l.n || !sw_ylex_is_id0(l.s[l.i]))
			goto verbatim;
		name0 = l.i;
		namen = sw_ylex_ident(&l);
		snprintf(rname, sizeof(rname), "%s:%.*s", name, (int)(namen < 200 ? namen : 200),
			 l.s + name0);
		/* tags, up to the opening brace */
		while (l.i < l.n && l.s[l.i] != '{') {
			if (!sw_ylex_space(&l))
				goto verbatim;
			if (l.i < l.n && l.s[l.i] != '{')
				l.i++;
		}
		if (!rule_body(&l, &max_size, rname, err, &bad))
			goto verbatim;
		if (bad)
			return err ? err->code : SW_EFORMAT;
		if (min_size && max_size && max_size <= min_size) {
			fail |= sw_buf_append(out, l.s + copied, mods - copied);
			fail |= sw_buf_append(out, l.s + mods, rule_kw - mods);
			/* private: a stub has no meta and never reports */
			fail |= sw_buf_printf(out, "%srule %.*s { condition: false }",
					      is_private ? "" : "private ", (int)namen, l.s + name0);
			copied = l.i;
		}
		mods = (size_t)-1;
	}
	fail |= sw_buf_append(out, l.s + copied, l.n - copied);
	return fail ? sw_error_set(err, SW_ENOMEM, "rules %s: out of memory", name) : 0;
verbatim:
	/* not understood: every rule stays (slower, never wrong); the real
	 * compile reports the syntax error, if there is one */
	out->len = start;
	if (sw_buf_append(out, text, strlen(text)) < 0)
		return sw_error_set(err, SW_ENOMEM, "rules %s: out of memory", name);
	return 0;
}
