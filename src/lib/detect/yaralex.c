/* SPDX-License-Identifier: Apache-2.0 */
/* A small YARA source reader (yaralex.h). YARA divides with `\`, so a `/`
 * outside a comment always opens a regex. */
#include <ctype.h>
#include <string.h>

#include "yaralex.h"
#include "../util/banned.h"

bool sw_ylex_is_id0(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

bool sw_ylex_is_id(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Skip whitespace and comments; false on an unterminated comment. */
bool sw_ylex_space(sw_ylex *l)
{
	while (l->i < l->n) {
		char c = l->s[l->i];
		if (isspace((unsigned char)c)) {
			l->i++;
		} else if (c == '/' && l->i + 1 < l->n && l->s[l->i + 1] == '/') {
			while (l->i < l->n && l->s[l->i] != '\n')
				l->i++;
		} else if (c == '/' && l->i + 1 < l->n && l->s[l->i + 1] == '*') {
			const char *e = NULL;
			size_t k;
			for (k = l->i + 2; k + 1 < l->n; k++)
				if (l->s[k] == '*' && l->s[k + 1] == '/') {
					e = l->s + k;
					break;
				}
			if (!e)
				return false;
			l->i = (size_t)(e - l->s) + 2;
		} else {
			break;
		}
	}
	return true;
}

/* Skip a quoted string or a regex starting at l->i (the opening quote or
 * slash), escapes included; false when unterminated. */
bool sw_ylex_quoted(sw_ylex *l, char q)
{
	for (l->i++; l->i < l->n; l->i++) {
		char c = l->s[l->i];
		if (c == '\\') {
			l->i++;
			continue;
		}
		if (c == '\n' && q == '"')
			return false;
		if (c == q) {
			l->i++;
			return true;
		}
	}
	return false;
}

size_t sw_ylex_ident(sw_ylex *l)
{
	size_t b = l->i;

	while (l->i < l->n && sw_ylex_is_id(l->s[l->i]))
		l->i++;
	return l->i - b;
}

bool sw_ylex_word_is(const char *p, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(p, w, n) == 0;
}

/* "N", "NKB", "NMB" -> bytes; 0 when malformed. */
uint64_t sw_ylex_size(const char *p, size_t n)
{
	uint64_t v = 0, mul = 1;
	size_t i = 0;

	if (n >= 2 && (sw_ylex_word_is(p + n - 2, 2, "KB") || sw_ylex_word_is(p + n - 2, 2, "MB"))) {
		mul = p[n - 2] == 'K' ? 1024 : 1024 * 1024;
		n -= 2;
	}
	if (n == 0 || n > 9)
		return 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return 0;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	return v * mul;
}

