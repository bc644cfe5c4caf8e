/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the bounded YAML reader (src/lib/util/yaml.c): trees with
 * lines, several documents, and the refusals that keep hostile policies and
 * manifests harmless: aliases and anchors (the "billion laughs" bomb),
 * duplicate keys, invalid UTF-8, nesting depth, size.
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
#include "../../src/lib/util/banned.h"

static void test_tree_and_lines(void **state)
{
	static const char y[] =
		"version: 1\n"
		"mode: enforce\n"
		"registries:\n"
		"  allow:\n"
		"    - docker.io\n"
		"    - \"ghcr.io\"\n"
		"---\n"
		"kind: Pod\n";
	sw_yaml_doc *d;
	sw_error err = SW_ERROR_INIT;
	const sw_yaml *r, *a;

	(void)state;
	assert_int_equal(sw_yaml_parse(y, strlen(y), "p.yaml", &d, &err), 0);
	assert_int_equal(sw_yaml_ndocs(d), 2);
	r = sw_yaml_root(d, 0);
	assert_int_equal(r->type, SW_YAML_MAP);
	assert_string_equal(sw_yaml_str(sw_yaml_get(r, "mode")), "enforce");
	assert_int_equal(sw_yaml_get(r, "mode")->line, 2);
	a = sw_yaml_get(sw_yaml_get(r, "registries"), "allow");
	assert_int_equal(a->type, SW_YAML_SEQ);
	assert_int_equal(a->n, 2);
	assert_string_equal(a->child->s, "docker.io");
	assert_true(a->child->plain);
	assert_false(a->child->next->plain);
	assert_int_equal(a->child->next->line, 6);
	assert_string_equal(sw_yaml_str(sw_yaml_get(sw_yaml_root(d, 1), "kind")), "Pod");
	assert_null(sw_yaml_get(r, "absent"));
	sw_yaml_free(d);
}

static void refused(const char *y, size_t len, const char *want)
{
	sw_yaml_doc *d = NULL;
	sw_error err = SW_ERROR_INIT;

	if (sw_yaml_parse(y, len, "h.yaml", &d, &err) == 0) {
		sw_yaml_free(d);
		fail_msg("accepted: %.60s", y);
	}
	assert_null(d);
	if (!strstr(err.msg, want))
		fail_msg("error \"%s\", want \"%s\"", err.msg, want);
	/* the line is in the error as a number too, the one the text names */
	if (strncmp(want, "h.yaml:", 7) == 0 && want[7] && err.line != (int)strtol(want + 7, NULL, 10))
		fail_msg("error line %d, want the line of \"%s\"", err.line, want);
}

static void test_hostile(void **state)
{
	static const char bomb[] =
		"a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
		"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
		"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
		"d: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n";
	static const char alias_only[] = "x: 1\ny: *x\n";
	static const char dup[] = "mode: warn\nother: 1\nmode: enforce\n";
	static const char bad_utf8[] = "mode: \xff\xfe\n";
	static const char unclosed[] = "a: [1, 2\n";
	static const char complex_key[] = "? [a, b]\n: 1\n";
	char *deep;
	size_t i;

	(void)state;
	refused(bomb, strlen(bomb), "h.yaml:1: anchors");
	refused(alias_only, strlen(alias_only), "h.yaml:2: aliases");
	refused(dup, strlen(dup), "h.yaml:3: key \"mode\" given twice (first on line 1)");
	refused(bad_utf8, strlen(bad_utf8), "h.yaml:1:");
	refused(unclosed, strlen(unclosed), "h.yaml:");
	refused(complex_key, strlen(complex_key), "a mapping key must be a plain value");
	deep = malloc(100 * 2 + 10);
	assert_non_null(deep);
	for (i = 0; i < 100; i++)
		deep[i] = '[';
	for (i = 0; i < 100; i++)
		deep[100 + i] = ']';
	deep[200] = '\0';
	refused(deep, 200, "nested deeper than 64");
	free(deep);
	refused("x", SW_YAML_MAX_INPUT + 1, "larger than");
}

static void test_empty_documents(void **state)
{
	sw_yaml_doc *d;
	sw_error err = SW_ERROR_INIT;

	(void)state;
	assert_int_equal(sw_yaml_parse("", 0, "e", &d, &err), 0);
	assert_int_equal(sw_yaml_ndocs(d), 0);
	sw_yaml_free(d);
	assert_int_equal(sw_yaml_parse("---\n---\na: 1\n", 12, "e", &d, &err), 0);
	assert_int_equal(sw_yaml_ndocs(d), 2);
	assert_null(sw_yaml_root(d, 0));
	assert_non_null(sw_yaml_root(d, 1));
	sw_yaml_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_and_lines),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_empty_documents),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
