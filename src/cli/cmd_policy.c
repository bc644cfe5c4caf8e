/* SPDX-License-Identifier: Apache-2.0 */
/* stowaway policy lint FILE...: every problem of a policy, with its line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stowaway/stowaway.h"
#include "cli.h"

/* One policy's problems, as a table line each or a JSON result. */
static void put_result(FILE *f, bool json, sw_json_out *jo, const char *path, int loaded, const sw_policy_problem *probs,
		       size_t n, const char *error)
{
	size_t k;

	if (json) {
		sw_json_out_obj(jo);
		sw_json_out_key(jo, "file");
		sw_json_out_str(jo, path);
		sw_json_out_key(jo, "valid");
		sw_json_out_bool(jo, loaded == 0);
		if (error) {
			sw_json_out_key(jo, "error");
			sw_json_out_str(jo, error);
		}
		sw_json_out_key(jo, "problems");
		sw_json_out_arr(jo);
		for (k = 0; k < n; k++) {
			sw_json_out_obj(jo);
			sw_json_out_key(jo, "line");
			sw_json_out_int(jo, probs[k].line);
			sw_json_out_key(jo, "message");
			sw_json_out_str(jo, probs[k].msg);
			sw_json_out_key(jo, "warning");
			sw_json_out_bool(jo, probs[k].warning);
			sw_json_out_end(jo);
		}
		sw_json_out_end(jo);
		sw_json_out_end(jo);
		return;
	}
	for (k = 0; k < n; k++) {
		const char *w = probs[k].warning ? "warning: " : "";
		if (probs[k].line)
			cli_line(f, "%s:%d: %s%s", path, probs[k].line, w, probs[k].msg);
		else
			cli_line(f, "%s: %s%s", path, w, probs[k].msg);
	}
	if (loaded == 0)
		cli_line(f, "%s: ok%s", path, n ? " (with warnings)" : "");
}

int cmd_policy(int argc, char **argv)
{
	cli_args a;
	sw_json_out *jo = NULL;
	FILE *out = NULL;
	int i, c, rc = EXIT_CLEAN;
	bool json;

	if (cli_args_init(&a, "policy") < 0) {
		cli_args_release(&a);
		return EXIT_ERROR;
	}
	while ((c = cli_next(&a, argc, argv)) > 0)
		;
	if (c < 0 || a.nops < 2 || strcmp(a.ops[0], "lint") != 0) {
		if (c == 0)
			cli_error("policy: expected lint FILE... (try 'stowaway policy --help')");
		rc = c < 0 ? a.status : EXIT_ERROR;
		cli_args_release(&a);
		return rc;
	}
	if (!(out = cli_open(&a))) {
		cli_args_release(&a);
		return EXIT_ERROR;
	}
	if ((json = cli_format(&a) == SW_FMT_JSON))
		jo = cli_json_begin("stowaway.lint/v1", "results");
	for (i = 1; i < a.nops; i++) {
		sw_policy *p = NULL;
		sw_policy_problem *probs = NULL;
		sw_error err = SW_ERROR_INIT;
		size_t n = 0;
		int r = sw_policy_load(a.ops[i], &p, &probs, &n, &err);
		if (r < 0 && n == 0 && !json)
			cli_error("%s", err.msg);
		put_result(out, json, jo, a.ops[i], r, probs, n, r < 0 && n == 0 ? err.msg : NULL);
		if (r < 0)
			rc = EXIT_ERROR;
		free(probs);
		sw_policy_free(p);
	}
	if (json)
		rc = cli_json_end(jo, out, rc);
	rc = cli_close(&a, out, rc);
	cli_args_release(&a);
	return rc;
}
