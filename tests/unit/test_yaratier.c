/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the YARA size-tier splitter (src/lib/detect/yaratier.c):
 * which rules become stubs for a tier, that comments, text strings, regexes
 * and hex strings holding braces, "rule" or "max_size" never confuse it,
 * that modifiers survive, and that text it cannot read comes back whole.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/lib/detect/yaratier.h"
#include "../../src/lib/util/banned.h"

static char *tier(const char *src, uint64_t min, int *rc)
{
	sw_buf b = SW_BUF_INIT(1u << 20);
	sw_error err = { 0 };
	char *out;

	*rc = sw_yara_tier_text(src, min, &b, "t.yar", &err);
	out = sw_buf_detach(&b, NULL);
	return out ? out : strdup("");
}

static const char SRC[] =
	"/* rule Fake { max_size = \"1\" } */\n"
	"// rule AlsoFake {\n"
	"rule Small : tag1 tag2\n"
	"{\n"
	"    meta:\n"
	"        max_size = \"1MB\"\n"
	"        note = \"} rule X { max_size = \\\"1\\\" }\"\n"
	"    strings:\n"
	"        $r = /a{2,3}\\/}{rule/ ascii\n"
	"        $h = { 4D 5A [2-4] ?? }\n"
	"    condition:\n"
	"        filesize < 1MB and any of them\n"
	"}\n"
	"private rule Mid { meta: max_size = \"8MB\" strings: $a = \"x{\" condition: filesize < 8MB and $a }\n"
	"global private rule G { meta: max_size = \"256KB\" condition: filesize < 256KB }\n"
	"rule Free { strings: $a = \"max_size\" condition: $a and Small and Mid }\n";

static void test_tier0_is_verbatim(void **state)
{
	int rc;
	char *o = tier(SRC, 0, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_string_equal(o, SRC);
	free(o);
}

static void test_tier_1mb(void **state)
{
	int rc;
	char *o = tier(SRC, 1u << 20, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	/* Small (1MB) and G (256KB) are stubs; Mid (8MB) and Free stay */
	assert_non_null(strstr(o, "private rule Small { condition: false }"));
	assert_null(strstr(o, "$r = /a{2,3}"));
	assert_non_null(strstr(o, "global private rule G { condition: false }"));
	assert_non_null(strstr(o, "private rule Mid { meta: max_size = \"8MB\""));
	assert_non_null(strstr(o, "rule Free { strings: $a = \"max_size\""));
	/* comments before the first rule are kept */
	assert_non_null(strstr(o, "/* rule Fake { max_size = \"1\" } */"));
	free(o);
}

static void test_tier_8mb(void **state)
{
	int rc;
	char *o = tier(SRC, 8u << 20, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_non_null(strstr(o, "private rule Mid { condition: false }"));
	assert_non_null(strstr(o, "private rule Small { condition: false }"));
	assert_non_null(strstr(o, "rule Free { strings:"));
	free(o);
}

static void test_bad_size(void **state)
{
	static const char *bad[] = { "1GB", "", "MB", "12.5MB", "9999999999", "-1" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char src[256];
		int rc;
		char *o;
		snprintf(src, sizeof(src), "rule R { meta: max_size = \"%s\" condition: true }", bad[i]);
		o = tier(src, 1u << 20, &rc);
		assert_int_not_equal(rc, 0);
		free(o);
	}
}

static void test_unreadable_kept_whole(void **state)
{
	static const char *srcs[] = {
		"rule A { meta: max_size = \"1KB\" strings: $a = \"unterminated\n condition: $a }",
		"rule A { meta: max_size = \"1KB\" condition: true",
		"rule A { meta: max_size = \"1KB\" strings: $a = /open regex condition: $a }",
		"/* open comment rule A { meta: max_size = \"1KB\" condition: true }",
		"rule { }",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
		int rc;
		char *o = tier(srcs[i], 1u << 20, &rc);
		assert_int_equal(rc, 0);
		assert_string_equal(o, srcs[i]);
		free(o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tier0_is_verbatim),
		cmocka_unit_test(test_tier_1mb),
		cmocka_unit_test(test_tier_8mb),
		cmocka_unit_test(test_bad_size),
		cmocka_unit_test(test_unreadable_kept_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
