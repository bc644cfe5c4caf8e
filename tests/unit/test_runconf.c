/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the run configuration (src/lib/image/runconf.c): what an
 * image runs, read once from its config the way a runtime reads it, for
 * the config analyser, the entrypoint chain and the sandbox. The edges an
 * attacker picks: two PATH= entries (the last one wins), Env entries a
 * runtime cannot pass (no '=', an empty name, a NUL inside: dropped and
 * counted, never cut short), members that are not strings, a relative
 * WorkingDir, an empty User, and the bound of 4096 arguments and variables.
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

#include "../../src/lib/image/runconf.h"
#include "../../src/lib/util/banned.h"

static void parse(const char *json, sw_runconf *rc)
{
	int r = sw_runconf_parse(json, strlen(json), rc);

	if (r != 0)
		fail_msg("%d on %.80s", r, json);
}

static void expect_strv(char **v, size_t n, const char *const *want, size_t nwant)
{
	size_t i;

	assert_int_equal(n, nwant);
	for (i = 0; i < nwant; i++)
		assert_string_equal(v[i], want[i]);
	if (v)
		assert_null(v[n]);   /* NULL-terminated */
	else
		assert_int_equal(nwant, 0);
}

static void test_whole_config(void **state)
{
	static const char cfg[] =
		"{\"architecture\": \"amd64\", \"config\": {"
		"\"Entrypoint\": [\"/bin/sh\", \"-c\"],"
		"\"Cmd\": [\"exec \\\"$0\\\" \\\"$@\\\"\", \"x y\"],"
		"\"Env\": [\"A=1\", \"PATH=/a:/b\", \"B\", \"=x\", \"C=\", \"PATH=/c\", \"HOME=/root\","
		"          \"D=\\u0000x\", \"E=a=b\", \"path=/lower\", \"PATHX=/x\"],"
		"\"WorkingDir\": \"/app\","
		"\"User\": \"1000:1000\"}}";
	static const char *const argv[] = { "/bin/sh", "-c", "exec \"$0\" \"$@\"", "x y" };
	static const char *const env[] = { "A=1", "PATH=/a:/b", "C=", "PATH=/c", "HOME=/root", "E=a=b",
					   "path=/lower", "PATHX=/x" };
	sw_runconf rc;

	(void)state;
	parse(cfg, &rc);
	expect_strv(rc.argv, rc.argc, argv, 4);
	assert_int_equal(rc.nentry, 2);
	expect_strv(rc.env, rc.nenv, env, 8);
	/* the last PATH= is the one a process sees */
	assert_string_equal(rc.path, "/c");
	assert_true(rc.has_path);
	assert_true(rc.has_home);
	assert_string_equal(rc.workdir, "/app");
	assert_string_equal(rc.user, "1000:1000");
	/* "B" (no '='), "=x" (no name), "D=<NUL>x" (cannot be passed) */
	assert_int_equal(rc.dropped, 3);
	sw_runconf_release(&rc);
	/* release leaves an empty configuration, and may be repeated */
	assert_null(rc.argv);
	assert_int_equal(rc.argc, 0);
	assert_string_equal(rc.path, SW_RUNCONF_DEFAULT_PATH);
	sw_runconf_release(&rc);
	sw_runconf_release(NULL);
}

static void test_defaults(void **state)
{
	static const char *const none[] = { NULL };
	sw_runconf rc;

	(void)state;
	/* no config at all, no "config" object, an empty one */
	assert_int_equal(sw_runconf_parse(NULL, 0, &rc), 0);
	assert_string_equal(rc.path, SW_RUNCONF_DEFAULT_PATH);
	assert_false(rc.has_path);
	sw_runconf_release(&rc);
	parse("{\"architecture\": \"amd64\"}", &rc);
	expect_strv(rc.argv, rc.argc, none, 0);
	expect_strv(rc.env, rc.nenv, none, 0);
	assert_null(rc.workdir);
	assert_null(rc.user);
	assert_int_equal(rc.dropped, 0);
	assert_string_equal(rc.path, SW_RUNCONF_DEFAULT_PATH);
	sw_runconf_release(&rc);
	parse("{\"config\": null}", &rc);
	assert_int_equal(rc.argc, 0);
	sw_runconf_release(&rc);
	/* a relative WorkingDir is not a directory a runtime would use; an empty User is none */
	parse("{\"config\": {\"WorkingDir\": \"app\", \"User\": \"\"}}", &rc);
	assert_null(rc.workdir);
	assert_null(rc.user);
	sw_runconf_release(&rc);
	parse("{\"config\": {\"WorkingDir\": \"\", \"User\": \"root\"}}", &rc);
	assert_null(rc.workdir);
	assert_string_equal(rc.user, "root");
	sw_runconf_release(&rc);
	/* of another type: absent */
	parse("{\"config\": {\"WorkingDir\": 1, \"User\": [\"root\"], \"Env\": \"PATH=/x\", \"Cmd\": \"sh\"}}", &rc);
	assert_null(rc.workdir);
	assert_null(rc.user);
	assert_int_equal(rc.argc, 0);
	assert_int_equal(rc.nenv, 0);
	assert_string_equal(rc.path, SW_RUNCONF_DEFAULT_PATH);
	sw_runconf_release(&rc);
	/* an empty PATH= is a PATH */
	parse("{\"config\": {\"Env\": [\"PATH=/x\", \"PATH=\"]}}", &rc);
	assert_true(rc.has_path);
	assert_string_equal(rc.path, "");
	assert_false(rc.has_home);
	sw_runconf_release(&rc);
	/* JSON that does not parse */
	assert_int_equal(sw_runconf_parse("{\"config\": {", 12, &rc), SW_EFORMAT);
	assert_string_equal(rc.path, SW_RUNCONF_DEFAULT_PATH);
	sw_runconf_release(&rc);
}

static void test_not_strings(void **state)
{
	static const char cfg[] =
		"{\"config\": {"
		"\"Entrypoint\": [\"/bin/x\", 1, null, true, {\"a\": \"b\"}, [\"c\"], \"\", \"a\\u0000b\", \"ok\"],"
		"\"Cmd\": [false, \"--flag\"],"
		"\"Env\": [1, null, [\"PATH=/evil\"], {\"PATH\": \"/evil\"}, \"PATH=/good\"]}}";
	static const char *const argv[] = { "/bin/x", "", "ok", "--flag" };
	static const char *const env[] = { "PATH=/good" };
	sw_runconf rc;

	(void)state;
	parse(cfg, &rc);
	/* an empty string is an argument; a NUL inside is not cut short, it is dropped */
	expect_strv(rc.argv, rc.argc, argv, 4);
	assert_int_equal(rc.nentry, 3);
	expect_strv(rc.env, rc.nenv, env, 1);
	assert_string_equal(rc.path, "/good");
	assert_int_equal(rc.dropped, 6 + 1 + 4);
	sw_runconf_release(&rc);
}

/* WorkingDir and User with a NUL inside cannot be passed either (chdir and
 * the user lookup take C strings): dropped and counted like the rest, not
 * cut short to the part before the NUL. */
static void test_nul_in_workdir_and_user(void **state)
{
	sw_runconf rc;

	(void)state;
	parse("{\"config\": {\"WorkingDir\": \"/app\\u0000/../evil\", \"User\": \"root\\u0000:0\"}}", &rc);
	assert_null(rc.workdir);
	assert_null(rc.user);
	assert_int_equal(rc.dropped, 2);
	sw_runconf_release(&rc);
	parse("{\"config\": {\"WorkingDir\": \"/app\", \"User\": \"nobody\"}}", &rc);
	assert_string_equal(rc.workdir, "/app");
	assert_string_equal(rc.user, "nobody");
	assert_int_equal(rc.dropped, 0);
	sw_runconf_release(&rc);
}

/* At most 4096 arguments (Entrypoint and Cmd together) and 4096 variables. */
static void test_bounds(void **state)
{
	sw_buf b = SW_BUF_INIT(1u << 24);
	sw_runconf rc;
	size_t i;

	(void)state;
	sw_buf_printf(&b, "{\"config\": {\"Entrypoint\": [");
	for (i = 0; i < 3000; i++)
		sw_buf_printf(&b, "%s\"e%zu\"", i ? "," : "", i);
	sw_buf_printf(&b, "], \"Cmd\": [");
	for (i = 0; i < 2000; i++)
		sw_buf_printf(&b, "%s\"c%zu\"", i ? "," : "", i);
	sw_buf_printf(&b, "], \"Env\": [\"PATH=/first\"");
	for (i = 1; i < 5000; i++)
		sw_buf_printf(&b, ",\"V%zu=%zu\"", i, i);
	/* a PATH= past the bound is not among what the runtime gets */
	sw_buf_printf(&b, ",\"PATH=/past-the-bound\"]}}");
	parse(sw_buf_cstr(&b), &rc);
	assert_int_equal(rc.argc, SW_RUNCONF_MAX_ARGS);
	assert_int_equal(rc.nentry, 3000);
	assert_string_equal(rc.argv[0], "e0");
	assert_string_equal(rc.argv[2999], "e2999");
	assert_string_equal(rc.argv[3000], "c0");
	assert_string_equal(rc.argv[4095], "c1095");
	assert_null(rc.argv[4096]);
	assert_int_equal(rc.nenv, SW_RUNCONF_MAX_ARGS);
	assert_string_equal(rc.env[4095], "V4095=4095");
	assert_null(rc.env[4096]);
	assert_string_equal(rc.path, "/first");
	assert_int_equal(rc.dropped, (3000 + 2000 - 4096) + (5001 - 4096));
	sw_runconf_release(&rc);
	/* exactly at the bound, nothing is dropped */
	sw_buf_reset(&b);
	sw_buf_printf(&b, "{\"config\": {\"Cmd\": [");
	for (i = 0; i < SW_RUNCONF_MAX_ARGS; i++)
		sw_buf_printf(&b, "%s\"c\"", i ? "," : "");
	sw_buf_printf(&b, "]}}");
	parse(sw_buf_cstr(&b), &rc);
	assert_int_equal(rc.argc, SW_RUNCONF_MAX_ARGS);
	assert_int_equal(rc.nentry, 0);
	assert_int_equal(rc.dropped, 0);
	sw_runconf_release(&rc);
	sw_buf_release(&b);
}

/* sw_runconf_from reads an object the caller parsed (or none). */
static void test_from_parsed(void **state)
{
	static const char doc[] = "{\"Cmd\": [\"nginx\", \"-g\", \"daemon off;\"], \"User\": \"nginx\"}";
	static const char *const argv[] = { "nginx", "-g", "daemon off;" };
	sw_json_doc *d = NULL;
	sw_error err = SW_ERROR_INIT;
	sw_runconf rc;

	(void)state;
	assert_int_equal(sw_json_parse(doc, strlen(doc), &d, &err), 0);
	assert_int_equal(sw_runconf_from(sw_json_root(d), &rc), 0);
	expect_strv(rc.argv, rc.argc, argv, 3);
	assert_int_equal(rc.nentry, 0);
	assert_string_equal(rc.user, "nginx");
	sw_runconf_release(&rc);
	sw_json_free(d);
	assert_int_equal(sw_runconf_from(NULL, &rc), 0);
	assert_int_equal(rc.argc, 0);
	assert_string_equal(rc.path, SW_RUNCONF_DEFAULT_PATH);
	sw_runconf_release(&rc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_config),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_not_strings),
		cmocka_unit_test(test_nul_in_workdir_and_user),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_from_parsed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
