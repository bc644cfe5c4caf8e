/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the terminal escaper (src/lib/util/term.c). What must hold
 * for any input: nothing a terminal obeys gets through (C0, DEL, C1 as raw
 * bytes or as UTF-8, invalid UTF-8, bidirectional controls, line breaks),
 * valid printable UTF-8 is kept as it is, the escapes can be read back to
 * exactly the input (so they are unambiguous), and no bound is overrun.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/lib/util/util.h"
#include "stowaway/term.h"
#include "../../src/lib/util/banned.h"

/* The escape of n bytes of s, whole (the buffer is SW_TERM_ESCAPED_MAX). */
static char *esc(const char *s, size_t n)
{
	size_t size = SW_TERM_ESCAPED_MAX(n);
	char *out = malloc(size);

	assert_non_null(out);
	assert_int_equal(sw_term_escape(out, size, s, n), n);
	assert_true(strlen(out) < size);
	return out;
}

static void want(const char *s, size_t n, const char *expect)
{
	char *got = esc(s, n);

	assert_string_equal(got, expect);
	free(got);
}

#define WANT(lit, expect) want(lit, sizeof(lit) - 1, expect)

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Read an escape back into bytes; fails the test on anything the
 * convention does not produce. Returns the length. */
static size_t unescape(const char *e, char *out)
{
	size_t o = 0;

	while (*e) {
		if (*e != '\\') {
			out[o++] = *e++;
			continue;
		}
		e++;
		if (*e == '\\' || *e == 't' || *e == 'n' || *e == 'r') {
			out[o++] = *e == '\\' ? '\\' : *e == 't' ? '\t' : *e == 'n' ? '\n' : '\r';
			e++;
		} else if (*e == 'x') {
			assert_true(hexval(e[1]) >= 0 && hexval(e[2]) >= 0);
			out[o++] = (char)(hexval(e[1]) << 4 | hexval(e[2]));
			e += 3;
		} else {
			unsigned cp = 0;
			int k;
			assert_int_equal(*e, 'u');
			for (k = 1; k <= 4; k++) {
				assert_true(hexval(e[k]) >= 0);
				cp = cp << 4 | (unsigned)hexval(e[k]);
			}
			e += 5;
			if (cp < 0x800) {
				out[o++] = (char)(0xC0 | cp >> 6);
			} else {
				out[o++] = (char)(0xE0 | cp >> 12);
				out[o++] = (char)(0x80 | (cp >> 6 & 0x3F));
			}
			out[o++] = (char)(0x80 | (cp & 0x3F));
		}
	}
	return o;
}

/* What a terminal could obey: checked on every output of every test. */
static void assert_inert(const char *e)
{
	size_t n = strlen(e), i = 0, k;
	uint32_t cp;

	while (i < n) {
		unsigned char c = (unsigned char)e[i];
		assert_true(c >= 0x20 && c != 0x7F);
		k = sw_utf8_decode(e + i, n - i, &cp);
		assert_true(k > 0); /* valid UTF-8 throughout */
		assert_false(cp >= 0x80 && cp <= 0x9F);
		assert_false(cp == 0x061C || cp == 0x200E || cp == 0x200F);
		assert_false(cp >= 0x2028 && cp <= 0x202E);
		assert_false(cp >= 0x2066 && cp <= 0x2069);
		i += k;
	}
}

static void roundtrip(const char *s, size_t n)
{
	char *e = esc(s, n), *back = malloc(n + 1);

	assert_non_null(back);
	assert_inert(e);
	assert_int_equal(unescape(e, back), n);
	assert_memory_equal(back, s, n);
	free(back);
	free(e);
}

static void test_ascii_kept(void **state)
{
	(void)state;
	WANT("", "");
	WANT("/usr/bin/xmrig --donate-level=1", "/usr/bin/xmrig --donate-level=1");
	WANT(" !\"#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~", " !\"#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~");
	/* the backslash is escaped, so "\x1b" typed out differs from ESC */
	WANT("C:\\x1b", "C:\\\\x1b");
	WANT("\\", "\\\\");
}

static void test_c0_and_del(void **state)
{
	(void)state;
	WANT("\t\n\r", "\\t\\n\\r");
	WANT("a\0b", "a\\x00b");
	WANT("\x01\x07\x08\x0b\x0c\x1b\x1f", "\\x01\\x07\\x08\\x0b\\x0c\\x1b\\x1f");
	WANT("\x7f", "\\x7f");
	WANT("ok\rverdict: clean", "ok\\rverdict: clean");
	WANT("evil\b\b\b\bnice", "evil\\x08\\x08\\x08\\x08nice");
}

static void test_escape_sequences(void **state)
{
	(void)state;
	WANT("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07");
	WANT("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H");
	WANT("\x1b[32mverdict: clean\x1b[0m", "\\x1b[32mverdict: clean\\x1b[0m");
	WANT("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "\\x1b]8;;http://x\\x1b\\\\link\\x1b]8;;\\x1b\\\\");
}

static void test_c1(void **state)
{
	(void)state;
	/* raw bytes: not UTF-8, so each is one escaped byte */
	WANT("\x9b" "2J", "\\x9b2J");
	WANT("\x80\x9f\x90\x9d", "\\x80\\x9f\\x90\\x9d");
	/* the same controls encoded in UTF-8 */
	WANT("\xc2\x9b" "2J", "\\u009b2J");
	WANT("\xc2\x80\xc2\x85\xc2\x9d\xc2\x9f", "\\u0080\\u0085\\u009d\\u009f");
	/* the first character past C1 prints (NO-BREAK SPACE) */
	WANT("\xc2\xa0", "\xc2\xa0");
}

static void test_bidi(void **state)
{
	(void)state;
	WANT("evil\xe2\x80\xae" "fdp.exe", "evil\\u202efdp.exe");
	WANT("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", "\\u202a\\u202b\\u202c\\u202d");
	WANT("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9", "\\u2066\\u2067\\u2068\\u2069");
	WANT("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", "\\u200e\\u200f\\u061c");
	WANT("a\xe2\x80\xa8" "b\xe2\x80\xa9", "a\\u2028b\\u2029");
	/* neighbours that only print: ZWJ, the narrow no-break space, U+2065 */
	WANT("\xe2\x80\x8d\xe2\x80\xaf\xe2\x81\xa5", "\xe2\x80\x8d\xe2\x80\xaf\xe2\x81\xa5");
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	WANT("\xff\xfe\xf5\xf8", "\\xff\\xfe\\xf5\\xf8");
	WANT("\x80" "a", "\\x80a");                              /* stray continuation */
	WANT("\xc3", "\\xc3");                                  /* truncated at the end */
	WANT("\xe2\x80", "\\xe2\\x80");
	WANT("\xe2\x80" "A", "\\xe2\\x80A");                     /* truncated mid-string */
	WANT("\xf0\x9f\x98", "\\xf0\\x9f\\x98");
	WANT("\xc0\x80", "\\xc0\\x80");                          /* overlong NUL */
	WANT("\xc1\x9b", "\\xc1\\x9b");                          /* overlong CSI */
	WANT("\xe0\x80\x9b", "\\xe0\\x80\\x9b");                 /* overlong, three bytes */
	WANT("\xf0\x80\x80\x9b", "\\xf0\\x80\\x80\\x9b");        /* overlong, four bytes */
	WANT("\xed\xa0\x80", "\\xed\\xa0\\x80");                 /* a UTF-16 surrogate */
	WANT("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");        /* past U+10FFFF */
	WANT("\xc3" "\xc3\xa9", "\\xc3\xc3\xa9");                /* resynchronises */
}

static void test_valid_utf8_kept(void **state)
{
	(void)state;
	WANT("caf\xc3\xa9 na\xc3\xafve", "caf\xc3\xa9 na\xc3\xafve");
	WANT("\xe6\xbc\xa2\xe5\xad\x97/\xe3\x83\x95\xe3\x82\xa1\xe3\x82\xa4\xe3\x83\xab",
	     "\xe6\xbc\xa2\xe5\xad\x97/\xe3\x83\x95\xe3\x82\xa1\xe3\x82\xa4\xe3\x83\xab");
	WANT("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");
	WANT("\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf", "\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf");
}

static void test_utf8_decode(void **state)
{
	uint32_t cp = 0;

	(void)state;
	assert_int_equal(sw_utf8_decode("A", 1, &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(sw_utf8_decode("A", 0, &cp), 0);
	assert_int_equal(sw_utf8_decode("\xc2\x80", 2, &cp), 2);
	assert_int_equal(cp, 0x80);
	assert_int_equal(sw_utf8_decode("\xc2\x80", 1, &cp), 0);
	assert_int_equal(sw_utf8_decode("\xe2\x80\xae", 3, &cp), 3);
	assert_int_equal(cp, 0x202E);
	assert_int_equal(sw_utf8_decode("\xed\x9f\xbf", 3, &cp), 3);
	assert_int_equal(cp, 0xD7FF);
	assert_int_equal(sw_utf8_decode("\xed\xbf\xbf", 3, NULL), 0);
	assert_int_equal(sw_utf8_decode("\xf4\x8f\xbf\xbf", 4, &cp), 4);
	assert_int_equal(cp, 0x10FFFF);
	assert_int_equal(sw_utf8_decode("\xf0\x8f\xbf\xbf", 4, NULL), 0);
	assert_int_equal(sw_utf8_decode("\xe2\x28\xa1", 3, NULL), 0);
}

static void test_unit(void **state)
{
	char u[SW_TERM_UNIT_MAX];

	(void)state;
	assert_int_equal(sw_term_unit("ab", 2, u), 1);
	assert_string_equal(u, "a");
	assert_int_equal(sw_term_unit("\xe6\xbc\xa2x", 4, u), 3);
	assert_string_equal(u, "\xe6\xbc\xa2");
	assert_int_equal(sw_term_unit("\xe2\x81\xa9", 3, u), 3);
	assert_string_equal(u, "\\u2069");
	assert_int_equal(sw_term_unit("\xe2\x81\xa9", 2, u), 1); /* cut short: one byte */
	assert_string_equal(u, "\\xe2");
	assert_int_equal(sw_term_unit("\x1b", 1, u), 1);
	assert_string_equal(u, "\\x1b");
}

static const char hostile[] = "a\x1b]0;pwned\x07\xc3\xa9\xc2\x9b\x9b\xe2\x80\xae\\\n\xe6\xbc\xa2z";

/* Every size from 0 up: never a byte past `size`, always NUL-terminated,
 * whole units only (the output is the escape of the bytes consumed). */
static void test_bounds(void **state)
{
	size_t n = sizeof(hostile) - 1, size, used;
	char *full = esc(hostile, n), out[128], *part;

	(void)state;
	for (size = 0; size <= strlen(full) + 2; size++) {
		memset(out, '#', sizeof(out));
		used = sw_term_escape(out, size, hostile, n);
		assert_true(used <= n);
		if (size == 0) {
			assert_int_equal(used, 0);
			assert_int_equal(out[0], '#');
			continue;
		}
		assert_true(strlen(out) < size);
		assert_int_equal(out[size], '#');
		part = esc(hostile, used);
		assert_string_equal(out, part);
		free(part);
		assert_memory_equal(out, full, strlen(out));
		if (used < n) { /* the next unit really did not fit */
			char u[SW_TERM_UNIT_MAX];
			(void)sw_term_unit(hostile + used, n - used, u);
			assert_true(strlen(out) + strlen(u) >= size);
		}
	}
	assert_int_equal(sw_term_escape(out, 1, hostile, n), 0);
	assert_string_equal(out, "");
	assert_int_equal(sw_term_escape(out, 4, "\x1b" "a", 2), 0); /* "\x1b" needs 5 with its NUL */
	assert_string_equal(out, "");
	assert_int_equal(sw_term_escape(out, 5, "\x1b" "a", 2), 1);
	assert_string_equal(out, "\\x1b");
	assert_int_equal(sw_term_escape(out, 6, "\x1b" "a", 2), 2);
	assert_string_equal(out, "\\x1ba");
	assert_int_equal(sw_term_escape(out, 2, "\xc3\xa9", 2), 0); /* never half a character */
	assert_string_equal(out, "");
	assert_int_equal(sw_term_escape(out, 3, "\xc3\xa9", 2), 2);
	assert_int_equal(sw_term_escape(out, sizeof(out), NULL, 0), 0);
	assert_string_equal(out, "");
	free(full);
}

/* Every byte value alone, and the worst case of SW_TERM_ESCAPED_MAX. */
static void test_every_byte_and_worst_case(void **state)
{
	char s[1], worst[64], *e;
	unsigned c;

	(void)state;
	for (c = 0; c < 256; c++) {
		s[0] = (char)c;
		roundtrip(s, 1);
	}
	memset(worst, 0x9b, sizeof(worst));
	e = esc(worst, sizeof(worst));
	assert_int_equal(strlen(e), 4 * sizeof(worst));
	free(e);
}

/* Random bytes biased towards the interesting ones: inert, and read back
 * to exactly the input. */
static void test_random_roundtrip(void **state)
{
	static const unsigned char pick[] = { 0x00, 0x07, 0x08, 0x09, 0x0a, 0x0d, 0x1b, 0x5c, 0x7f, 0x80, 0x85,
					      0x9b, 0x9f, 0xa0, 0xae, 0xc2, 0xc3, 0xd8, 0x9c, 0xe2, 0x81, 0xa9,
					      0xed, 0xf0, 0xf4, 0xff, 'a', '[' };
	char s[48];
	unsigned seed = 12345;
	int round, i;

	(void)state;
	for (round = 0; round < 20000; round++) {
		int n = round % (int)sizeof(s);
		for (i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			s[i] = (char)(seed >> 24 & 1 ? pick[(seed >> 8) % sizeof(pick)] : seed >> 16);
		}
		roundtrip(s, (size_t)n);
	}
}

static void test_buf_term(void **state)
{
	sw_buf b = SW_BUF_INIT(1 << 20), tight = SW_BUF_INIT(6);
	size_t taken = 99;

	(void)state;
	assert_int_equal(sw_buf_term(&b, "abc\x1b" "def", 7, 5, &taken), 0);
	assert_int_equal(taken, 3); /* "\x1b" would take it to 7 bytes */
	assert_string_equal(sw_buf_cstr(&b), "abc");
	sw_buf_reset(&b);
	assert_int_equal(sw_buf_term(&b, "abc\x1b" "def", 7, 7, &taken), 0);
	assert_int_equal(taken, 4);
	assert_string_equal(sw_buf_cstr(&b), "abc\\x1b");
	sw_buf_reset(&b);
	assert_int_equal(sw_buf_term(&b, hostile, sizeof(hostile) - 1, SIZE_MAX, &taken), 0);
	assert_int_equal(taken, sizeof(hostile) - 1);
	assert_inert(sw_buf_cstr(&b));
	sw_buf_reset(&b);
	assert_int_equal(sw_buf_term(&b, "x", 1, 0, &taken), 0);
	assert_int_equal(taken, 0);
	assert_int_equal(b.len, 0);
	/* longer than one internal chunk */
	{
		char big[3000];
		memset(big, 0x1b, sizeof(big));
		assert_int_equal(sw_buf_term(&b, big, sizeof(big), SIZE_MAX, &taken), 0);
		assert_int_equal(taken, sizeof(big));
		assert_int_equal(b.len, 4 * sizeof(big));
	}
	/* the buffer's own ceiling is an error, not an overrun */
	assert_int_equal(sw_buf_term(&tight, "\x1b\x1b", 2, SIZE_MAX, &taken), SW_ELIMIT);
	assert_true(tight.len <= 6);
	sw_buf_release(&b);
	sw_buf_release(&tight);
}

static void test_fputs(void **state)
{
	char mem[256] = { 0 };
	FILE *f = fmemopen(mem, sizeof(mem), "w");

	(void)state;
	assert_non_null(f);
	assert_int_equal(sw_term_fputs("User \"\x1b[2J\xc2\x9b\"", f), 0);
	assert_int_equal(sw_term_fputs(NULL, f), 0);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(mem, "User \"\\x1b[2J\\u009b\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii_kept),
		cmocka_unit_test(test_c0_and_del),
		cmocka_unit_test(test_escape_sequences),
		cmocka_unit_test(test_c1),
		cmocka_unit_test(test_bidi),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_valid_utf8_kept),
		cmocka_unit_test(test_utf8_decode),
		cmocka_unit_test(test_unit),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_every_byte_and_worst_case),
		cmocka_unit_test(test_random_roundtrip),
		cmocka_unit_test(test_buf_term),
		cmocka_unit_test(test_fputs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
