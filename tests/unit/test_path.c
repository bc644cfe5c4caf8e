/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for sw_path_clean (src/lib/util/path.c): a table of tar names
 * and the absolute paths they must become, names that climb above the root
 * or hide a NUL (refused, never clamped), and the output bound, checked
 * with a guard area after `max` so an overrun shows up as a failure here
 * rather than as a corrupted stack somewhere else.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/lib/util/util.h"
#include "../../src/lib/util/banned.h"

#define GUARD 64

typedef struct {
	const char *in;
	size_t inlen;      /* 0: strlen(in) */
	size_t max;        /* 0: 4096 */
	int rc;
	const char *out;   /* when rc == 0 */
} path_case;

static void run_case(const path_case *c, size_t idx)
{
	size_t max = c->max ? c->max : 4096;
	size_t inlen = c->inlen ? c->inlen : strlen(c->in);
	char *buf = malloc(max + GUARD);
	size_t i;
	int rc;

	assert_non_null(buf);
	memset(buf, 0x5a, max + GUARD);
	rc = sw_path_clean(c->in, inlen, buf, max);
	if (rc != c->rc)
		fail_msg("case %zu (\"%s\", max %zu): rc %d, want %d", idx, c->in, max, rc, c->rc);
	if (rc == 0) {
		if (strcmp(buf, c->out) != 0)
			fail_msg("case %zu (\"%s\"): got \"%s\", want \"%s\"", idx, c->in, buf, c->out);
		assert_true(strlen(buf) < max);
	}
	for (i = max; i < max + GUARD; i++)
		if (buf[i] != 0x5a)
			fail_msg("case %zu (\"%s\"): wrote past max %zu", idx, c->in, max);
	free(buf);
}

static void run_table(const path_case *cs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		run_case(&cs[i], i);
}

static void test_normalise(void **state)
{
	static const path_case cs[] = {
		{ "./a//b/", 0, 0, 0, "/a/b" },
		{ "a/../b", 0, 0, 0, "/b" },
		{ "/", 0, 0, 0, "/" },
		{ "", 0, 0, 0, "/" },
		{ ".", 0, 0, 0, "/" },
		{ "./", 0, 0, 0, "/" },
		{ "//", 0, 0, 0, "/" },
		{ "/etc/passwd", 0, 0, 0, "/etc/passwd" },
		{ "etc/passwd", 0, 0, 0, "/etc/passwd" },
		{ "//a///b//", 0, 0, 0, "/a/b" },
		{ "a/./b/.", 0, 0, 0, "/a/b" },
		{ "./././a", 0, 0, 0, "/a" },
		{ "a/b/..", 0, 0, 0, "/a" },
		{ "a/b/../", 0, 0, 0, "/a" },
		{ "a/..", 0, 0, 0, "/" },
		{ "a/b/../../c", 0, 0, 0, "/c" },
		{ "a/b/../c", 0, 0, 0, "/a/c" },
		{ "abc/de/../f", 0, 0, 0, "/abc/f" },
		{ "aa/bb/cc/../../dd", 0, 0, 0, "/aa/dd" },
		{ "...", 0, 0, 0, "/..." },
		{ "..a/b..", 0, 0, 0, "/..a/b.." },
		{ ".hidden/.x", 0, 0, 0, "/.hidden/.x" },
		{ ".wh..wh..opq", 0, 0, 0, "/.wh..wh..opq" },
		{ "a b/c\\d", 0, 0, 0, "/a b/c\\d" },
		{ "\xff\xfe/x", 0, 0, 0, "/\xff\xfe/x" },   /* bytes, not text */
		{ "abc/def", 3, 0, 0, "/abc" },             /* inlen is the bound */
		{ "abc/def", 4, 0, 0, "/abc" },
	};

	(void)state;
	run_table(cs, sizeof(cs) / sizeof(cs[0]));
}

static void test_escape_refused(void **state)
{
	static const path_case cs[] = {
		{ "..", 0, 0, SW_EFORMAT, NULL },
		{ "../x", 0, 0, SW_EFORMAT, NULL },
		{ "/../x", 0, 0, SW_EFORMAT, NULL },
		{ "./../x", 0, 0, SW_EFORMAT, NULL },
		{ "a/../../x", 0, 0, SW_EFORMAT, NULL },
		{ "a/b/../../..", 0, 0, SW_EFORMAT, NULL },
		{ "a/./../..", 0, 0, SW_EFORMAT, NULL },
		{ "a//..//..//etc", 0, 0, SW_EFORMAT, NULL },
	};

	(void)state;
	run_table(cs, sizeof(cs) / sizeof(cs[0]));
}

static void test_nul_refused(void **state)
{
	static const path_case cs[] = {
		{ "a\0b", 3, 0, SW_EFORMAT, NULL },
		{ "a/\0", 3, 0, SW_EFORMAT, NULL },
		{ "\0", 1, 0, SW_EFORMAT, NULL },
		{ "x/.\0", 4, 0, SW_EFORMAT, NULL },
		{ "x/..\0/y", 7, 0, SW_EFORMAT, NULL },
		{ "ok/file\0.txt", 12, 0, SW_EFORMAT, NULL },
	};

	(void)state;
	run_table(cs, sizeof(cs) / sizeof(cs[0]));
}

static void test_length_limit(void **state)
{
	static const path_case cs[] = {
		{ "a", 0, 1, SW_ELIMIT, NULL },   /* no room even for "/" */
		{ "", 0, 1, SW_ELIMIT, NULL },
		{ "", 0, 2, 0, "/" },
		{ "./.", 0, 2, 0, "/" },
		{ "a", 0, 2, SW_ELIMIT, NULL },
		{ "a", 0, 3, 0, "/a" },
		{ "ab", 0, 3, SW_ELIMIT, NULL },
		{ "a/b", 0, 4, SW_ELIMIT, NULL },
		{ "a/b", 0, 5, 0, "/a/b" },
		{ "a/bc", 0, 5, SW_ELIMIT, NULL },
		{ "a/b/../c", 0, 5, 0, "/a/c" },
	};
	char *big, *out;
	path_case c = { NULL, 0, 4097, SW_ELIMIT, NULL };

	(void)state;
	run_table(cs, sizeof(cs) / sizeof(cs[0]));
	/* a 5000-byte name against a 4096-byte path limit */
	big = malloc(5001);
	assert_non_null(big);
	memset(big, 'x', 5000);
	big[5000] = '\0';
	c.in = big;
	run_case(&c, 0);
	/* exactly 4096 bytes of output ("/" + 4095) fit in max 4097, not 4096 */
	out = malloc(4097);
	assert_non_null(out);
	assert_int_equal(sw_path_clean(big, 4095, out, 4097), 0);
	assert_int_equal(strlen(out), 4096);
	assert_int_equal(sw_path_clean(big, 4095, out, 4096), SW_ELIMIT);
	free(out);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_escape_refused),
		cmocka_unit_test(test_nul_refused),
		cmocka_unit_test(test_length_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
