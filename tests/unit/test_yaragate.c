/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the YARA gates (src/lib/detect/yaragate*.c): the literals a
 * regex requires, the patterns taken from text, hex and regex strings (and
 * their modifiers), and conditions read as gates: which files they close
 * on, and that whatever the reader cannot follow leaves the gate open.
 * Hits here are computed by a naive search of the literal patterns, so
 * these tests do not depend on Hyperscan (tests/rules compares whole scans
 * with and without the prefilter).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "../../src/lib/detect/yaragate.h"
#include "../../src/lib/util/banned.h"

/* ---- the literals a regex requires ---- */

static int rlits(const char *re, char out[][256])
{
	static uint8_t lits[64][256];
	size_t lens[64], n, i;

	n = sw_ygate_regex_lits(re, strlen(re), lits, lens, 64, 3);
	for (i = 0; i < n; i++) {
		memcpy(out[i], lits[i], lens[i]);
		out[i][lens[i]] = '\0';
	}
	return (int)n;
}

static bool has(char l[][256], int n, const char *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(l[i], s) == 0)
			return true;
	return false;
}

static void test_regex_lits(void **state)
{
	char l[64][256];
	int n;

	(void)state;
	n = rlits("abc", l);
	assert_int_equal(n, 1);
	assert_string_equal(l[0], "abc");
	/* a group of alternatives multiplies into the run around it */
	n = rlits("ab(c|d)ef", l);
	assert_int_equal(n, 2);
	assert_true(has(l, n, "abcef") && has(l, n, "abdef"));
	n = rlits("\\b(curl|wget)\\s", l);
	assert_int_equal(n, 2);
	assert_true(has(l, n, "curl") && has(l, n, "wget"));
	/* the longest run wins; optional pieces are not required */
	n = rlits("foo.*barbaz", l);
	assert_int_equal(n, 1);
	assert_string_equal(l[0], "barbaz");
	n = rlits("x?abcd", l);
	assert_int_equal(n, 1);
	assert_string_equal(l[0], "abcd");
	n = rlits("a{0,3}bcd", l);
	assert_int_equal(n, 1);
	assert_string_equal(l[0], "bcd");
	n = rlits("q{,3}bcd", l);
	assert_int_equal(n, 1);
	assert_string_equal(l[0], "bcd");
	/* a piece repeated once or more: itself required, the run ends */
	n = rlits("(abc)+de", l);
	assert_int_equal(n, 1);
	assert_string_equal(l[0], "abc");
	n = rlits("xy+zw", l);
	assert_int_equal(n, 0); /* "xy" and "zw": both too short */
	/* small classes are alternatives */
	n = rlits("[Ss]ecret", l);
	assert_int_equal(n, 2);
	assert_true(has(l, n, "Secret") && has(l, n, "secret"));
	n = rlits("a\\x41b\\.c", l);
	assert_int_equal(n, 1);
	assert_string_equal(l[0], "aAb.c");
	n = rlits("stratum[0-9]?\\+(tcp|ssl):\\/\\/", l);
	assert_int_equal(n, 1);
	assert_string_equal(l[0], "stratum"); /* 7 bytes, one string: beats 2 of 7 */
	/* every top-level alternative needs its own */
	n = rlits("nohup|setsid", l);
	assert_int_equal(n, 2);
	n = rlits("nohup|s", l);
	assert_int_equal(n, 0);
	/* not understood: nothing required (always possible) */
	assert_int_equal(rlits("ab\\qcd", l), 0);
	assert_int_equal(rlits("abc)", l), 0);
	assert_int_equal(rlits("(abc", l), 0);
	assert_int_equal(rlits("\\x4", l), 0);
	/* a '{' that is no repeat: the piece before it is not required */
	n = rlits("abcd{x}", l);
	assert_int_equal(n, 1);
	assert_string_equal(l[0], "abc");
}

/* ---- gates ---- */

static sw_ygate *build(const char *text)
{
	const char *t[1] = { text }, *ns[1] = { "user" };
	sw_ygate *g = NULL;
	sw_error err = { 0 };

	assert_int_equal(sw_ygate_build(t, ns, 1, &g, &err), 0);
	return g;
}

/* Naive hits: every literal pattern searched for (ASCII case folded when
 * caseless); regex patterns are marked hit when `rx` says so. */
static bool find(const uint8_t *d, size_t n, const uint8_t *p, size_t m, bool caseless)
{
	size_t i, k;

	for (i = 0; m && i + m <= n; i++) {
		for (k = 0; k < m; k++) {
			uint8_t c = d[i + k];
			if (caseless && c >= 'A' && c <= 'Z')
				c = (uint8_t)(c + 32);
			if (c != p[k])
				break;
		}
		if (k == m)
			return true;
	}
	return false;
}

static bool may(const sw_ygate *g, const char *data, size_t len, const char *path, bool rx)
{
	uint64_t hits[64] = { 0 };
	uint8_t scratch[256];
	size_t i, pl;
	const char *name = strrchr(path, '/'), *ext;
	sw_ygate_file f;

	name = name ? name + 1 : path;
	ext = strrchr(name, '.');
	f.data = (const uint8_t *)data;
	f.len = len;
	f.path = path;
	f.name = name;
	f.ext = ext ? ext + 1 : "";
	assert_true(sw_ygate_npatterns(g) <= 64 * 64);
	assert_true(sw_ygate_nrules(g) <= sizeof(scratch));
	for (i = 0; i < sw_ygate_npatterns(g); i++) {
		unsigned fl;
		const uint8_t *p = sw_ygate_pattern(g, i, &pl, &fl);
		bool hit = (fl & SW_YGATE_REGEX) ? rx :
			   find((const uint8_t *)data, len, p, pl, fl & SW_YGATE_CASELESS);
		if (hit)
			hits[i / 64] |= 1ull << (i % 64);
	}
	return sw_ygate_may_match(g, hits, &f, scratch);
}

static bool pattern_n(const sw_ygate *g, const char *want, size_t wlen, unsigned want_flags)
{
	size_t i, len;

	for (i = 0; i < sw_ygate_npatterns(g); i++) {
		unsigned fl;
		const uint8_t *p = sw_ygate_pattern(g, i, &len, &fl);
		if (len == wlen && memcmp(p, want, len) == 0 && fl == want_flags)
			return true;
	}
	return false;
}

static bool pattern(const sw_ygate *g, const char *want, unsigned want_flags)
{
	return pattern_n(g, want, strlen(want), want_flags);
}

/* One rule set whose patterns include want (with exactly these flags). */
static void expect_pattern(const char *rules, const char *want, unsigned flags)
{
	sw_ygate *g = build(rules);

	assert_non_null(g);
	assert_true(pattern(g, want, flags));
	sw_ygate_free(g);
}

#define S(x) x, sizeof(x) - 1

static void test_text_strings(void **state)
{
	sw_ygate *g;

	(void)state;
	g = build("rule a {\n"
		  "  meta: id = \"X\" note = \"} rule fake { condition: false }\"\n"
		  "  strings:\n"
		  "    $a = \"Hello\\x21\" nocase\n"
		  "    $b = \"wi\\\"de\" wide\n"
		  "    $c = \"both\" ascii wide private\n"
		  "  condition: any of them\n"
		  "}\n");
	assert_non_null(g);
	assert_true(pattern(g, "hello!", SW_YGATE_CASELESS));
	assert_true(pattern_n(g, S("w\0i\0\"\0d\0e\0"), 0));
	assert_false(pattern(g, "wi\"de", 0)); /* wide only */
	assert_true(pattern(g, "both", 0));
	assert_true(sw_ygate_npatterns(g) == 4);
	assert_int_equal(sw_ygate_open_rules(g), 0);
	assert_false(may(g, S("nothing here"), "/x", false));
	assert_true(may(g, S("say HELLO! now"), "/x", false));
	assert_true(may(g, S("b\0o\0t\0h\0"), "/x", false));
	assert_false(may(g, S("b\0o\0t\0"), "/x", false));
	sw_ygate_free(g);
}

/* Issue 20: twelve 00 bytes are longer than "UPX!" but tell nothing; and
 * `in (0 .. 255)` bounds where the run may start. */
static void test_rarest_run_and_bounds(void **state)
{
	static const char elf_late[] = "\x7f" "ELF" "0123456789" "UPX!" "abcd" "\0\0\0\0\0\0\0\0\0\0\0\0";
	char buf[600];
	sw_ygate *g;

	(void)state;
	g = build("rule u {\n strings:\n"
		  "  $h = { 55 50 58 21 [4] 00 00 00 00 00 00 00 00 00 00 00 00 }\n"
		  " condition: $h in (0 .. 255)\n}\n"
		  "rule t { strings: $t = \"MARK\" condition: $t at 8 }\n");
	assert_non_null(g);
	assert_true(pattern_n(g, S("UPX!"), 0));
	assert_false(pattern_n(g, "\0\0\0\0\0\0\0\0\0\0\0\0", 12, 0));
	assert_true(may(g, elf_late, sizeof(elf_late) - 1, "/x", false));
	/* UPX! at 300: the string would start past 255 */
	memset(buf, 'A', sizeof(buf));
	memcpy(buf + 300, "UPX!", 4);
	assert_false(may(g, buf, sizeof(buf), "/x", false));
	/* at 255 exactly: may */
	memcpy(buf + 255, "UPX!", 4);
	assert_true(may(g, buf, sizeof(buf), "/x", false));
	/* `at 8`: only there */
	memset(buf, 'A', sizeof(buf));
	memcpy(buf + 9, "MARK", 4);
	assert_false(may(g, buf, sizeof(buf), "/x", false));
	memcpy(buf + 8, "MARK", 4);
	assert_true(may(g, buf, sizeof(buf), "/x", false));
	sw_ygate_free(g);
}

static void test_hex_and_regex(void **state)
{
	sw_ygate *g;

	(void)state;
	g = build("rule h {\n strings:\n"
		  "  $h = { 4D 5A ?? 00 [2-4] 50 45 00 00 ( 4C 01 | 64 86 ) }\n"
		  "  $r = /ab\\s+c{2,40}d/ nocase\n"
		  " condition: $h or $r\n}\n");
	assert_non_null(g);
	/* hex: the rarest fixed run in ordinary files ("MZ" over "PE\0\0",
	 * whose zero bytes say little) */
	assert_true(pattern_n(g, S("MZ"), 0));
	assert_false(pattern_n(g, S("PE\0\0"), 0));
	/* regex: as Hyperscan reads it, bounds above 16 dropped */
	assert_true(pattern(g, "ab[\\t\\n\\x0b\\f\\r ]+c{2,}d", SW_YGATE_REGEX | SW_YGATE_CASELESS));
	assert_false(may(g, S("PE\0\0 nothing"), "/x", false));
	assert_true(may(g, S("xxMZyy"), "/x", false));
	assert_true(may(g, S("whatever"), "/x", true)); /* the regex hit */
	sw_ygate_free(g);
	/* a wide regex: each character followed by a zero byte */
	expect_pattern("rule w { strings: $r = /a.b/ wide condition: $r }",
		       "(?:a\\x00)(?:.\\x00)(?:b\\x00)", SW_YGATE_REGEX);
	/* YARA reads i?s? after the slash: a modifier may follow at once */
	g = build("rule m { strings: $r = /abc/wide $s = /def/nocase $t = /ghi/is condition: any of them }");
	assert_non_null(g);
	assert_true(pattern(g, "(?:a\\x00)(?:b\\x00)(?:c\\x00)", SW_YGATE_REGEX));
	assert_true(pattern(g, "def", SW_YGATE_REGEX | SW_YGATE_CASELESS));
	assert_true(pattern(g, "ghi", SW_YGATE_REGEX | SW_YGATE_CASELESS | SW_YGATE_DOTALL));
	sw_ygate_free(g);
	/* \S: only what no YARA version counts as a space is left out */
	expect_pattern("rule s { strings: $r = /x\\Sy\\n/ condition: $r }",
		       "x[^\\t ]y\\x0a", SW_YGATE_REGEX);
}

static void test_classes(void **state)
{
	(void)state;
	/* members and ranges become byte ranges; \s a superset */
	expect_pattern("rule c { strings: $r = /x[a-c\\x41_]y[^\\n]z[\\s]/ condition: $r }",
		       "x[\\x41\\x5f\\x61-\\x63]y[\\x00-\\x09\\x0b-\\xff]z"
		       "[\\x09-\\x0d\\x20]", SW_YGATE_REGEX);
	/* where YARA versions read a class differently: every byte */
	expect_pattern("rule d { strings: $r = /x[\\d-z]y[]-a]z[a-\\w]/ condition: $r }",
		       "x[\\x00-\\xff]y[\\x00-\\xff]z[\\x00-\\xff]", SW_YGATE_REGEX);
	/* a leading ']' is a member, a '-' at either end too */
	expect_pattern("rule e { strings: $r = /q[]a]r[-b]s[c-]/ condition: $r }",
		       "q[\\x5d\\x61]r[\\x2d\\x62]s[\\x2d\\x63]", SW_YGATE_REGEX);
}

static void test_conditions(void **state)
{
	sw_ygate *g;

	(void)state;
	g = build("import \"pe\"\n"
		  "private rule Small { condition: filesize < 1KB }\n"
		  "rule sized { strings: $a = \"alpha\" condition: filesize < 16 and $a }\n"
		  "rule magic { strings: $a = \"beta\" condition: uint16(0) == 0x5a4d and #a > 0 }\n"
		  "rule two { strings: $x1 = \"gamma\" $x2 = \"delta\" $y = \"eps\"\n"
		  "           condition: 2 of ($x*) }\n"
		  "rule path { condition: filepath == \"/etc/ld.so.preload\" and filesize > 0 }\n"
		  "rule ref { strings: $z = \"zeta\" condition: Small and $z }\n"
		  "rule pathre { strings: $k = \"kappa\" condition: filepath matches /^\\/etc\\/cron\\.d\\// and $k }\n");
	assert_non_null(g);
	assert_int_equal(sw_ygate_open_rules(g), 0);
	/* filesize */
	assert_true(may(g, S("alpha"), "/x", false));
	assert_false(may(g, S("alpha and much more than sixteen"), "/x", false));
	/* uint16 and #a */
	assert_true(may(g, S("MZ beta"), "/x", false));
	assert_false(may(g, S("ZM beta"), "/x", false));
	/* 2 of ($x*): $y does not count */
	assert_false(may(g, S("gamma eps"), "/x", false));
	assert_true(may(g, S("gamma delta"), "/x", false));
	/* filepath == */
	assert_true(may(g, S("x"), "/etc/ld.so.preload", false));
	assert_false(may(g, S("x"), "/etc/ld.so.preloadx", false));
	/* a reference to an earlier rule */
	assert_true(may(g, S("zeta"), "/x", false));
	assert_false(may(g, S("zet"), "/x", false));
	/* filepath matches: its regex is a pattern on the path */
	assert_true(pattern(g, "^\\x2fetc\\x2fcron\\x2ed\\x2f", SW_YGATE_REGEX | SW_YGATE_PATH));
	assert_true(may(g, S("kappa"), "/etc/cron.d/x", true));
	assert_false(may(g, S("kappa"), "/etc/cron.d/x", false));
	sw_ygate_free(g);
}

static void test_open_gates(void **state)
{
	sw_ygate *g;
	const char *t[2], *ns[2];
	sw_error err = { 0 };

	(void)state;
	/* `not`, `for`, modules, xor/base64 strings: taken as true */
	g = build("rule n { strings: $a = \"alpha\" condition: not $a }");
	assert_int_equal(sw_ygate_open_rules(g), 1);
	assert_true(may(g, S("x"), "/x", false));
	sw_ygate_free(g);
	g = build("rule f { strings: $a = \"alpha\" condition: for any i in (1..#a) : (@a[i] > 10) }");
	assert_int_equal(sw_ygate_open_rules(g), 1);
	sw_ygate_free(g);
	g = build("rule x { strings: $a = \"alpha\" xor(1-255) condition: $a }");
	assert_int_equal(sw_ygate_open_rules(g), 1);
	sw_ygate_free(g);
	g = build("rule b { strings: $a = \"alpha\" base64 $b = \"beta\" condition: $a and $b }");
	assert_int_equal(sw_ygate_open_rules(g), 0);
	assert_true(may(g, S("beta"), "/x", false));
	assert_false(may(g, S("alpha"), "/x", false));
	sw_ygate_free(g);
	g = build("rule m { strings: $a = \"alpha\" condition: $a or math.entropy(0, filesize) > 7 }");
	assert_int_equal(sw_ygate_open_rules(g), 1);
	sw_ygate_free(g);
	/* (pe.is_dll() needs a PE: see below) */
	g = build("rule m { strings: $a = \"alpha\" condition: $a or pe.is_dll() }");
	assert_int_equal(sw_ygate_open_rules(g), 0);
	sw_ygate_free(g);
	/* a magic number and a module call (signature-base's imphash rules):
	 * not open on every file, closed on those without the magic */
	g = build("rule z { strings: $a = \"alpha\" condition: uint16(0) == 0x5a4d and "
		  "filesize < 500KB and (pe.imphash() == \"x\" or $a) }");
	assert_int_equal(sw_ygate_open_rules(g), 0);
	assert_false(may(g, S("ELF and nothing"), "/x", false));
	assert_true(may(g, S("MZ and nothing"), "/x", false));
	sw_ygate_free(g);
	/* a term reading @h needs $h (undefined, so false, without it) */
	g = build("rule o { strings: $h = { 90 90 } $s = \"alpha\" condition: uint32(@h + 0x20) == 0x07002600 }");
	assert_int_equal(sw_ygate_open_rules(g), 0);
	assert_false(may(g, S("alpha"), "/x", false));
	assert_true(may(g, S("\x90\x90"), "/x", false));
	sw_ygate_free(g);
	/* the pe module's terms need a PE (MZ), elf's an ELF */
	g = build("rule p { condition: pe.exports(\"VncStartServer\") and pe.exports(\"VncStopServer\") }\n"
		  "rule e { condition: elf.type == 2 and filesize < 1MB }");
	assert_int_equal(sw_ygate_open_rules(g), 0);
	assert_false(may(g, S("#!/bin/sh"), "/x", false));
	assert_true(may(g, S("MZ\x90"), "/x", false));
	assert_true(may(g, S("\x7f" "ELF\x02"), "/x", false));
	sw_ygate_free(g);
	g = build("rule o { strings: $h = \"alpha\" condition: not (@h > 10) }");
	assert_int_equal(sw_ygate_open_rules(g), 1);
	sw_ygate_free(g);
	/* a private rule open alone does not open the set */
	g = build("private rule p { condition: true } rule q { strings: $a = \"alpha\" condition: p and $a }");
	assert_int_equal(sw_ygate_open_rules(g), 0);
	assert_false(may(g, S("x"), "/x", false));
	sw_ygate_free(g);
	/* text the reader does not follow: no gate at all */
	t[0] = "include \"other.yar\"\nrule a { condition: true }";
	ns[0] = "user";
	assert_int_equal(sw_ygate_build(t, ns, 1, &g, &err), 0);
	assert_null(g);
	t[0] = "rule a { strings: $a = \"x\" condition: $a";
	assert_int_equal(sw_ygate_build(t, ns, 1, &g, &err), 0);
	assert_null(g);
	/* comments inside a hex string (a '}' in one does not end it), as
	 * signature-base writes them */
	t[0] = "rule h { strings: $h = { 4D 5A /* } condition: false */ 90 // } x\n 91 } condition: $h }";
	assert_int_equal(sw_ygate_build(t, ns, 1, &g, &err), 0);
	assert_non_null(g);
	assert_true(pattern_n(g, "MZ\x90\x91", 4, 0));
	sw_ygate_free(g);
	g = NULL;
	/* a '/' that starts no comment: not followed */
	t[0] = "rule h { strings: $h = { 4D 5A / 90 } condition: $h }";
	assert_int_equal(sw_ygate_build(t, ns, 1, &g, &err), 0);
	assert_null(g);
	/* rule references resolve in their own namespace only */
	t[0] = "rule r1 { strings: $a = \"alpha\" condition: $a }";
	t[1] = "rule r2 { strings: $b = \"beta\" condition: r1 and $b }";
	ns[0] = "one";
	ns[1] = "two";
	assert_int_equal(sw_ygate_build(t, ns, 2, &g, &err), 0);
	assert_non_null(g);
	assert_true(may(g, S("beta"), "/x", false)); /* r1 unknown in "two": true */
	sw_ygate_free(g);
}

static void test_dropped_regex(void **state)
{
	sw_ygate *g;
	size_t i, len;

	(void)state;
	/* a regex the matcher refuses falls back to its literals */
	g = build("rule d { strings: $r = /(curl|wget) [^\\n]{0,80}\\| *sh/ condition: $r }");
	for (i = 0; i < sw_ygate_npatterns(g); i++) {
		unsigned fl;
		sw_ygate_pattern(g, i, &len, &fl);
		if (fl & SW_YGATE_REGEX)
			sw_ygate_drop(g, i);
	}
	assert_int_equal(sw_ygate_open_rules(g), 0);
	assert_true(may(g, S("wget x | sh"), "/x", false));
	assert_false(may(g, S("nothing"), "/x", false));
	sw_ygate_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regex_lits),
		cmocka_unit_test(test_text_strings),
		cmocka_unit_test(test_hex_and_regex),
		cmocka_unit_test(test_rarest_run_and_bounds),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_open_gates),
		cmocka_unit_test(test_dropped_regex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
