/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The text of report pages (sw_html_text, src/lib/report/html_esc.c),
 * exhaustively: every one- and two-byte string, every three-byte string
 * over the bytes where markup, controls and UTF-8 have their edges, and
 * hand-picked names (a right-to-left override, C1 in UTF-8, a surrogate).
 * Whatever the bytes, the text holds no markup but the escape spans, no
 * quote, no '&' but the five references, nothing a reader would be misled
 * by (controls, bidirectional marks, line separators, invalid UTF-8), and
 * says everything: with the references read back and the spans taken
 * out, it is the terminal escaper's text (a backslash left single), so a
 * page and a table show a name alike. Cuts are whole characters.
 * And sw_report__html refuses what is not a report, in one line.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/lib/report/html_int.h"
#include "../../src/lib/report/report_int.h"
#include "../../src/lib/util/banned.h"

#define SPAN "<span class=\"esc\">"
#define TSPAN "<tspan class=\"esc\">"

static const char *const refs[][2] = {
	{ "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" }, { "&quot;", "\"" }, { "&#39;", "'" },
};

/* What a reader gets back: references read, escape spans dropped. */
static void read_back(const char *o, size_t n, sw_buf *out, unsigned flags)
{
	const char *open = flags & SW_HTML_SVG ? TSPAN : SPAN, *close = flags & SW_HTML_SVG ? "</tspan>" : "</span>";
	size_t i = 0, k;

	while (i < n) {
		if (o[i] == '<') {
			if (!strncmp(o + i, open, strlen(open))) {
				i += strlen(open);
				continue;
			}
			assert_true(strncmp(o + i, close, strlen(close)) == 0); /* no other markup */
			i += strlen(close);
			continue;
		}
		assert_true(o[i] != '>' && o[i] != '"' && o[i] != '\'');
		if (o[i] == '&') {
			for (k = 0; k < 5; k++)
				if (!strncmp(o + i, refs[k][0], strlen(refs[k][0])))
					break;
			assert_true(k < 5); /* only the five references */
			sw_buf_append(out, refs[k][1], 1);
			i += strlen(refs[k][0]);
			continue;
		}
		sw_buf_putc(out, o[i++]);
	}
}

/* Nothing misleading: valid UTF-8, no control (but \n \t when lines are
 * kept), no C1, no bidirectional mark or override, no line separator. */
static void inert(const char *o, size_t n, unsigned flags)
{
	size_t i = 0, k;
	uint32_t cp;

	while (i < n) {
		unsigned char c = (unsigned char)o[i];
		if ((c < 0x20 && !((flags & SW_HTML_LINES) && (c == '\n' || c == '\t'))) || c == 0x7f)
			fail_msg("control 0x%02x", c);
		k = sw_utf8_decode(o + i, n - i, &cp);
		assert_true(k > 0);
		if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
		    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
			fail_msg("U+%04X reaches the page", (unsigned)cp);
		i += k;
	}
}

/* The terminal escaper's text of s, a backslash left single (and, with
 * lines kept, \n and \t as they are). */
static void expected(const char *s, size_t n, sw_buf *out, unsigned flags)
{
	char u[SW_TERM_UNIT_MAX];
	size_t i = 0;

	while (i < n) {
		if (s[i] == '\\' || ((flags & SW_HTML_LINES) && (s[i] == '\n' || s[i] == '\t'))) {
			sw_buf_putc(out, s[i++]);
			continue;
		}
		i += sw_term_unit(s + i, n - i, u);
		sw_buf_append(out, u, strlen(u));
	}
}

static void one(const char *s, size_t n, unsigned flags)
{
	sw_buf o = SW_BUF_INIT(SIZE_MAX), back = SW_BUF_INIT(SIZE_MAX), want = SW_BUF_INIT(SIZE_MAX);

	assert_int_equal(sw_html_text(&o, s, n, SIZE_MAX, flags), n);
	if (flags & SW_HTML_ATTR)
		assert_null(memchr(o.data ? o.data : "", '<', o.len));
	inert(o.data ? o.data : "", o.len, flags);
	read_back(o.data ? o.data : "", o.len, &back, flags);
	expected(s, n, &want, flags);
	assert_int_equal(back.len, want.len);
	assert_memory_equal(back.data ? back.data : "", want.data ? want.data : "", want.len);
	sw_buf_release(&o);
	sw_buf_release(&back);
	sw_buf_release(&want);
}

static void every_way(const char *s, size_t n)
{
	one(s, n, 0);
	one(s, n, SW_HTML_LINES);
	one(s, n, SW_HTML_ATTR);
	one(s, n, SW_HTML_SVG);
}

static void short_strings(void **state)
{
	unsigned a, b;
	char s[2];

	(void)state;
	for (a = 0; a < 256; a++) {
		s[0] = (char)a;
		every_way(s, 1);
		for (b = 0; b < 256; b++) {
			s[1] = (char)b;
			every_way(s, 2);
		}
	}
}

static void three_bytes_at_the_edges(void **state)
{
	static const unsigned char edge[] = { 0x00, 0x09, 0x0a, 0x0d, 0x1b, 0x20, '"', '&', '\'', '<', '>', '\\', 'a',
					     0x7f, 0x80, 0x8f, 0x90, 0x9b, 0x9f, 0xa0, 0xa8, 0xae, 0xbf, 0xc0, 0xc2,
					     0xdf, 0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff };
	size_t a, b, c, n = sizeof(edge);
	char s[3];

	(void)state;
	for (a = 0; a < n; a++)
		for (b = 0; b < n; b++)
			for (c = 0; c < n; c++) {
				s[0] = (char)edge[a];
				s[1] = (char)edge[b];
				s[2] = (char)edge[c];
				every_way(s, 3);
			}
}

static void names_people_are_fooled_by(void **state)
{
	static const char *const names[] = {
		"evil\xe2\x80\xae" "fdp.exe",                     /* U+202E: reads "exe.pdf" */
		"\xc2\x9b" "2J",                                   /* C1 CSI in UTF-8 */
		"a\xe2\x80\xa8" "b\xe2\x81\xa6" "c\xd8\x9c",       /* U+2028, U+2066, U+061C */
		"\xed\xa0\x80\xf4\x90\x80\x80",                    /* a surrogate, past U+10FFFF */
		"</title><script>alert(1)</script>",
		"\"><img src=x onerror=alert(1)>",
		"&amp;&lt;&#39;]]><!--",
		"caf\xc3\xa9 \xe6\xbc\xa2\xe5\xad\x97 \xf0\x9f\x98\x80",
	};
	sw_buf o = SW_BUF_INIT(SIZE_MAX);
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		every_way(names[k], strlen(names[k]));
	sw_html_text(&o, names[0], strlen(names[0]), SIZE_MAX, 0);
	assert_string_equal(sw_buf_cstr(&o), "evil" SPAN "\\u202e</span>fdp.exe");
	sw_buf_release(&o);
	sw_html_text(&o, names[7], strlen(names[7]), SIZE_MAX, 0);
	assert_string_equal(sw_buf_cstr(&o), names[7]); /* other text passes as it is */
	sw_buf_release(&o);
}

static void cuts_are_whole_characters(void **state)
{
	const char *s = "a\xc3\xa9\xe2\x80\xae<\xf0\x9f\x98\x80z";
	size_t n = strlen(s), max, took;

	(void)state;
	for (max = 0; max <= n + 1; max++) {
		sw_buf o = SW_BUF_INIT(SIZE_MAX);
		took = sw_html_text(&o, s, n, max, 0);
		assert_true(took <= n);
		assert_true(took == n || took >= max);
		assert_true(took == 0 || took == n || (((unsigned char)s[took] & 0xc0) != 0x80));
		inert(o.data ? o.data : "", o.len, 0);
		sw_buf_release(&o);
	}
}

static void not_a_report_is_refused(void **state)
{
	static const char *const bad[] = { "", "[1]", "{\"schema\":\"stowaway.check/v1\"}", "{\"schema\":1}",
					   "{\"schema\":\"stowaway.report/v1\"", "<html>" };
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		sw_buf b = SW_BUF_INIT(1 << 20);
		sw_error err = SW_ERROR_INIT;
		assert_int_equal(sw_report__html(bad[k], strlen(bad[k]), &b, &err), SW_EFORMAT);
		assert_non_null(strstr(err.msg, "report"));
		assert_null(strchr(err.msg, '\n'));
		sw_buf_release(&b);
	}
}

static void a_bound_on_the_page_is_an_error(void **state)
{
	const char *rep = "{\"schema\":\"stowaway.report/v1\",\"verdict\":\"clean\",\"findings\":[],\"incomplete\":[]}";
	sw_buf small = SW_BUF_INIT(4096), big = SW_BUF_INIT(1 << 20);
	sw_error err = SW_ERROR_INIT;

	(void)state;
	assert_int_equal(sw_report__html(rep, strlen(rep), &small, &err), SW_ELIMIT);
	assert_int_equal(sw_report__html(rep, strlen(rep), &big, &err), 0);
	assert_true(big.len > 4096 && !strncmp(big.data, "<!DOCTYPE html>", 15));
	sw_buf_release(&small);
	sw_buf_release(&big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(short_strings),
		cmocka_unit_test(three_bytes_at_the_edges),
		cmocka_unit_test(names_people_are_fooled_by),
		cmocka_unit_test(cuts_are_whole_characters),
		cmocka_unit_test(not_a_report_is_refused),
		cmocka_unit_test(a_bound_on_the_page_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
