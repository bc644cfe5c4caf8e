/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Text for people. Every string an image carries (a path, a build step, the
 * Entrypoint, the User, a label, a reference, a tar name, an error message
 * quoting one of them) can hold bytes a terminal obeys instead of showing:
 * ESC and CSI sequences that retitle the window, clear the screen or paint a
 * fake "verdict: clean"; the C1 controls, which some terminals take on their
 * own (U+009B is CSI), whether sent as raw bytes or encoded in UTF-8;
 * carriage returns and backspaces that overwrite what was printed before;
 * line breaks that forge a line of the report; and Unicode bidirectional
 * controls that make a viewer reorder what it shows. So one function decides
 * what reaches a person, and every table, error and progress line goes
 * through it: a character either prints as itself or becomes a visible
 * escape, and the escapes cannot be confused with the text around them
 * because a backslash is escaped too (see stowaway/term.h for the table).
 *
 * The work is done a unit at a time (one byte, or one UTF-8 character), so
 * callers that bound their output (a table cell, a SARIF message, the
 * caller's buffer) stop between two units and never print half an escape or
 * half a character. The UTF-8 decoder is the one the JSON reader and writer
 * use as well, so "valid UTF-8" means the same thing in every output.
 */
#include <string.h>

#include "util.h"
#include "stowaway/term.h"
#include "banned.h"

size_t sw_utf8_decode(const void *s, size_t n, uint32_t *cp)
{
	const unsigned char *p = s;
	uint32_t c, v;
	size_t len, i;

	if (n == 0)
		return 0;
	c = p[0];
	if (c < 0x80)
		len = 1, v = c;
	else if (c >= 0xC2 && c <= 0xDF)
		len = 2, v = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, v = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, v = c & 0x07;
	else
		return 0; /* a continuation byte, an overlong lead (C0, C1) or past U+10FFFF */
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3F);
	}
	if ((len == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) ||
	    (len == 4 && (v < 0x10000 || v > 0x10FFFF)))
		return 0; /* overlong, a UTF-16 surrogate, or past U+10FFFF */
	if (cp)
		*cp = v;
	return len;
}

/* Valid characters that act instead of printing: the C1 controls, the
 * bidirectional marks, embeddings, overrides and isolates, and the two
 * Unicode line breaks (a table row or an error is one line). */
static bool acts(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9F) || c == 0x061C || c == 0x200E || c == 0x200F ||
	       (c >= 0x2028 && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

size_t sw_term_unit(const char *s, size_t n, char out[SW_TERM_UNIT_MAX])
{
	static const char hx[] = "0123456789abcdef";
	unsigned char c = (unsigned char)s[0];
	uint32_t cp;
	size_t len;

	if (c >= 0x20 && c < 0x7F && c != '\\') {
		out[0] = (char)c;
		out[1] = '\0';
		return 1;
	}
	if (c == '\\' || c == '\t' || c == '\n' || c == '\r') {
		out[0] = '\\';
		out[1] = c == '\\' ? '\\' : c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
		out[2] = '\0';
		return 1;
	}
	if (c >= 0x80 && (len = sw_utf8_decode(s, n, &cp)) > 0) {
		if (!acts(cp)) {
			memcpy(out, s, len);
			out[len] = '\0';
			return len;
		}
		/* every character acts() accepts is below U+10000: four digits */
		out[0] = '\\';
		out[1] = 'u';
		out[2] = hx[cp >> 12 & 0xF];
		out[3] = hx[cp >> 8 & 0xF];
		out[4] = hx[cp >> 4 & 0xF];
		out[5] = hx[cp & 0xF];
		out[6] = '\0';
		return len;
	}
	/* C0, DEL, and a byte that does not start valid UTF-8 (raw 0x80-0x9F
	 * among them): one byte, shown as its value */
	out[0] = '\\';
	out[1] = 'x';
	out[2] = hx[c >> 4];
	out[3] = hx[c & 0xF];
	out[4] = '\0';
	return 1;
}

size_t sw_term_escape(char *out, size_t size, const char *s, size_t n)
{
	char u[SW_TERM_UNIT_MAX];
	size_t i = 0, o = 0, k, len;

	if (size == 0)
		return 0;
	while (i < n) {
		k = sw_term_unit(s + i, n - i, u);
		len = strlen(u);
		if (len >= size - o)
			break; /* whole units only, and room for the NUL */
		memcpy(out + o, u, len);
		o += len;
		i += k;
	}
	out[o] = '\0';
	return i;
}

int sw_term_fputs(const char *s, FILE *f)
{
	char chunk[1024];
	size_t n = s ? strlen(s) : 0, i = 0;

	/* a unit is at most 6 bytes, so every round takes at least one */
	while (i < n) {
		i += sw_term_escape(chunk, sizeof(chunk), s + i, n - i);
		if (fputs(chunk, f) == EOF)
			return SW_EIO;
	}
	return 0;
}

int sw_buf_term(sw_buf *b, const char *s, size_t n, size_t max, size_t *taken)
{
	char chunk[512];
	size_t i = 0, k, len;
	int rc = 0;

	while (i < n && max > 0) {
		k = sw_term_escape(chunk, max < sizeof(chunk) ? max + 1 : sizeof(chunk), s + i, n - i);
		if (k == 0)
			break; /* the next unit does not fit in what is left of max */
		len = strlen(chunk);
		if ((rc = sw_buf_append(b, chunk, len)) < 0)
			break;
		i += k;
		max -= len;
	}
	if (taken)
		*taken = i;
	return rc;
}
