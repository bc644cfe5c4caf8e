/* SPDX-License-Identifier: Apache-2.0 */
/* stowaway rules list | test FILE...: the rule set, for rule authors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stowaway/stowaway.h"
#include "cli.h"

/* Where lines or JSON objects go, and the worst severity matched. */
typedef struct sink {
	FILE *f;
	sw_json_out *jo;   /* JSON: every rule or match an object in one array */
	int worst;         /* -1: nothing matched */
} sink;

static void json_rule(sw_json_out *jo, const sw_rule_info *r)
{
	sw_json_out_key(jo, "id");
	sw_json_out_str(jo, r->id);
	sw_json_out_key(jo, "severity");
	sw_json_out_str(jo, r->severity);
	sw_json_out_key(jo, "category");
	sw_json_out_str(jo, r->category);
	sw_json_out_key(jo, "namespace");
	sw_json_out_str(jo, r->ns);
	sw_json_out_key(jo, "rule");
	sw_json_out_str(jo, r->name);
	sw_json_out_key(jo, "title");
	sw_json_out_str(jo, r->title);
}

static int print_rule(void *ctx, const sw_rule_info *r)
{
	sink *s = ctx;

	if (s->jo) {
		sw_json_out_obj(s->jo);
		json_rule(s->jo, r);
		sw_json_out_key(s->jo, "every_file");
		sw_json_out_bool(s->jo, r->prefilter == 0);
		sw_json_out_end(s->jo);
		return 0;
	}
	cli_line(s->f, "%-24s %-9s %-18s %s:%s  %s%s", r->id, r->severity, r->category, r->ns, r->name,
		 r->title, r->prefilter == 0 ? "  (every file)" : "");
	return 0;
}

static int print_match(void *ctx, const char *path, const sw_rule_info *r)
{
	sink *s = ctx;
	int sev;

	if (cli_parse_severity(r->severity, false, &sev) == 0 && sev > s->worst)
		s->worst = sev;
	else if (s->worst < 0)
		s->worst = 0;
	if (s->jo) {
		sw_json_out_obj(s->jo);
		sw_json_out_key(s->jo, "path");
		sw_json_out_str(s->jo, path);
		json_rule(s->jo, r);
		sw_json_out_end(s->jo);
		return 0;
	}
	/* the path may be a file taken out of an image, its name untouched */
	cli_line(s->f, "%s: %s %s %s (%s:%s) %s", path, r->id, r->severity, r->category, r->ns, r->name,
		 r->title);
	return 0;
}

int cmd_rules(int argc, char **argv)
{
	sw_scan_opts so = SW_SCAN_OPTS_INIT;
	sw_error err = SW_ERROR_INIT;
	const char **dirs = NULL, *verb;
	size_t ndirs = 0;
	sink s = { NULL, NULL, -1 };
	cli_args a;
	bool test;
	int c, rc = EXIT_ERROR;

	if (cli_args_init(&a, "rules") < 0)
		goto out;
	while ((c = cli_next(&a, argc, argv)) > 0) {
		switch (c) {
		case CLI_O_RULES:
			if (cli_push(&dirs, &ndirs, optarg) < 0)
				goto out;
			break;
		case CLI_O_NORULES: so.no_bundled_rules = true; break;
		case CLI_O_NOPREFILTER: so.no_prefilter = true; break;
		}
	}
	if (c < 0) {
		rc = a.status;
		goto out;
	}
	verb = a.nops ? a.ops[0] : "";
	test = strcmp(verb, "test") == 0;
	if (!(strcmp(verb, "list") == 0 && a.nops == 1) && !(test && a.nops > 1)) {
		cli_error("rules: expected list, or test FILE... (try 'stowaway rules --help')");
		goto out;
	}
	so.rule_dirs = dirs;
	so.n_rule_dirs = ndirs;
	so.limits.max_file_size = 256ull << 20;
	if (!(s.f = cli_open(&a)))
		goto out;
	if (cli_format(&a) == SW_FMT_JSON)
		s.jo = cli_json_begin(test ? "stowaway.rules-test/v1" : "stowaway.rules/v1", test ? "matches" : "rules");
	if (!test)
		rc = sw_rules_list(&so, print_rule, &s, &err);
	else
		rc = sw_rules_test(&so, (const char *const *)a.ops + 1, (size_t)(a.nops - 1), print_match, &s, &err);
	if (rc < 0) {
		cli_error("rules %s: %s", verb, err.msg);
		sw_json_out_finish(s.jo, NULL, NULL); /* nothing written: frees it */
		s.jo = NULL;
		rc = EXIT_ERROR;
	} else {
		rc = test && s.worst >= 0 && cli_fails(&a, (sw_severity)s.worst) ? EXIT_FINDINGS : EXIT_CLEAN;
	}
	if (s.jo)
		rc = cli_json_end(s.jo, s.f, rc);
	rc = cli_close(&a, s.f, rc);
out:
	free(dirs);
	cli_args_release(&a);
	return rc;
}
