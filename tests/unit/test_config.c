/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for settings files (src/lib/util/conffile.c, stowaway/config.h):
 * values handed over in order with their lines, lists one item at a time,
 * the callback's stop, and the refusals: nested maps, lists of maps, a
 * document that is not a mapping, several documents, duplicate keys (the
 * YAML reader's), a missing file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stowaway/config.h"
#include "../../src/lib/util/banned.h"
#include "tmpdir.h"

typedef struct seen {
	char text[1024];
	int stop_at;      /* stop (return 7) at this call; 0: never */
	int calls;
} seen;

static int collect(void *ctx, const char *key, const char *value, int line, int is_list)
{
	seen *s = ctx;
	size_t n = strlen(s->text);

	snprintf(s->text + n, sizeof(s->text) - n, "%s%s=%s@%d ", key, is_list ? "[]" : "", value, line);
	return ++s->calls == s->stop_at ? 7 : 0;
}

static const char *file(const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int setup(void **state)
{
	(void)state;
	return tmpdir_setup("config");
}

static void test_values_in_order(void **state)
{
	seen s = { "", 0, 0 };
	sw_error err = SW_ERROR_INIT;
	const char *p = file("a.yaml", "# settings\ncache: /c/layers.db\ninsecure-registry:\n  - a:5000\n  - \"b:5001\"\n"
				       "mirror: []\nregistry-timeout: 90s\n");

	(void)state;
	assert_int_equal(sw_config_read(p, collect, &s, &err), 0);
	assert_string_equal(s.text, "cache=/c/layers.db@2 insecure-registry[]=a:5000@4 insecure-registry[]=b:5001@5 "
				    "registry-timeout=90s@7 ");
	/* the callback stops the reading, its value returned */
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(sw_config_read(p, collect, &s, &err), 7);
	assert_int_equal(s.calls, 2);
	/* empty files and documents are no settings */
	memset(&s, 0, sizeof(s));
	assert_int_equal(sw_config_read(file("e.yaml", ""), collect, &s, &err), 0);
	assert_int_equal(sw_config_read(file("e2.yaml", "# nothing\n---\n"), collect, &s, &err), 0);
	assert_int_equal(s.calls, 0);
}

static void test_refusals(void **state)
{
	static const struct { const char *text; int line; const char *why; } bad[] = {
		{ "cache:\n  path: x\n", 1, "not a mapping" },
		{ "mirror:\n  - a\n  - [b]\n", 3, "scalars only" },
		{ "- a\n- b\n", 1, "mapping of names" },
		{ "just text\n", 1, "mapping of names" },
		{ "a: 1\n---\nb: 2\n", 0, "one YAML document" },
		{ "a: 1\na: 2\n", 2, "twice" },
		{ "a: &x 1\nb: *x\n", 1, "" },
	};
	sw_error err;
	seen s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&s, 0, sizeof(s));
		err = (sw_error)SW_ERROR_INIT;
		assert_int_equal(sw_config_read(file("bad.yaml", bad[i].text), collect, &s, &err), SW_EFORMAT);
		if (!strstr(err.msg, bad[i].why) || !strstr(err.msg, "bad.yaml"))
			fail_msg("case %zu: %s", i, err.msg);
		if (bad[i].line)
			assert_int_equal(err.line, bad[i].line);
	}
	err = (sw_error)SW_ERROR_INIT;
	assert_int_equal(sw_config_read("/nonexistent/stowaway/config.yaml", collect, &s, &err), SW_ENOTFOUND);
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_in_order),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
