/* SPDX-License-Identifier: Apache-2.0 */
/* stowaway rules list | lint | test FILE...: the rule set, for rule authors. */
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
		if (r->corpus_files) {
			sw_json_out_key(s->jo, "corpus_files");
			sw_json_out_int(s->jo, (long long)r->corpus_files);
			sw_json_out_key(s->jo, "gate_open");
			sw_json_out_int(s->jo, (long long)r->corpus_open);
		}
		sw_json_out_end(s->jo);
		return 0;
	}
	if (r->corpus_files)
		cli_line(s->f, "%-24s %-9s %-18s %s:%s  %s  (gate open on %zu of %zu files, %.1f%%)%s", r->id,
			 r->severity, r->category, r->ns, r->name, r->title, r->corpus_open, r->corpus_files,
			 100.0 * (double)r->corpus_open / (double)r->corpus_files,
			 r->prefilter == 0 ? "  (every file)" : "");
	else
		cli_line(s->f, "%-24s %-9s %-18s %s:%s  %s%s", r->id, r->severity, r->category, r->ns, r->name,
			 r->title, r->prefilter == 0 ? "  (every file)" : "");
	return 0;
}

static int print_incomplete(void *ctx, const char *path, const char *why)
{
	sink *s = ctx;

	if (s->worst < SW_SEV_MEDIUM)
		s->worst = SW_SEV_MEDIUM; /* as a scan raises it: never clean */
	if (s->jo) {
		sw_json_out_obj(s->jo);
		sw_json_out_key(s->jo, "path");
		sw_json_out_str(s->jo, path);
		sw_json_out_key(s->jo, "incomplete");
		sw_json_out_str(s->jo, why);
		sw_json_out_end(s->jo);
		return 0;
	}
	cli_line(s->f, "%s: incomplete: %s", path, why);
	return 0;
}

int cli_rules_severity(const char *arg, struct sw_scan_opts *o)
{
	int sev;

	if (cli_parse_severity(arg, false, &sev) < 0)
		return cli_bad("--rules-severity", arg);
	o->rules_severity = sw_severity_name((sw_severity)sev);
	return 0;
}

/* lint: the problems are its output. A line quotes the rules files (a
 * name, a meta string, libyara's message about the text): each is
 * escaped for the terminal as it is printed. */
static void lint_problems(void *ctx, const char *lines)
{
	sink *s = ctx;

	while (*lines) {
		const char *e = strchr(lines, '\n');
		size_t n = e ? (size_t)(e - lines) : strlen(lines);
		if (!s->jo) {
			cli_line(s->f, "%.*s", (int)n, lines);
		} else {
			char line[1200];
			snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) - 1 ? n : sizeof(line) - 1),
				 lines);
			sw_json_out_obj(s->jo);
			sw_json_out_key(s->jo, "problem");
			sw_json_out_str(s->jo, line);
			sw_json_out_key(s->jo, "error");
			sw_json_out_bool(s->jo, strstr(line, ": error: ") != NULL);
			sw_json_out_end(s->jo);
		}
		lines += n + (e != NULL);
	}
}

void cli_rules_problems(void *ctx, const char *lines)
{
	sink err = { stderr, NULL, -1 };

	(void)ctx;
	lint_problems(&err, lines);
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
	const char **dirs = NULL, **corpus = NULL, *verb;
	size_t ndirs = 0, ncorpus = 0;
	sink s = { NULL, NULL, -1 };
	sw_rules_lint_result lr;
	double t;
	cli_args a;
	bool test, lint;
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
		case CLI_O_RULESSKIP: so.rules_skip_broken = true; break;
		case CLI_O_RULESSEV:
			if (cli_rules_severity(optarg, &so) < 0)
				goto out;
			break;
		case CLI_O_FILETIMEOUT:
			if (cli_duration_opt("--file-timeout", optarg, 3600, &t) < 0)
				goto out;
			so.file_timeout = (int)cli_whole_seconds(t);
			break;
		case CLI_O_CORPUS:
			if (cli_push(&corpus, &ncorpus, optarg) < 0)
				goto out;
			break;
		}
	}
	if (c < 0) {
		rc = a.status;
		goto out;
	}
	verb = a.nops ? a.ops[0] : "";
	test = strcmp(verb, "test") == 0;
	lint = strcmp(verb, "lint") == 0;
	if (!(strcmp(verb, "list") == 0 && a.nops == 1) && !(lint && a.nops == 1) && !(test && a.nops > 1)) {
		cli_error("rules: expected list, lint, or test FILE... (try 'stowaway rules --help')");
		goto out;
	}
	so.rule_dirs = dirs;
	so.n_rule_dirs = ndirs;
	so.limits.max_file_size = 256ull << 20;
	if (!(s.f = cli_open(&a)))
		goto out;
	if (cli_format(&a) == SW_FMT_JSON)
		s.jo = cli_json_begin(test ? "stowaway.rules-test/v1" : lint ? "stowaway.rules-lint/v1" : "stowaway.rules/v1",
				      test ? "matches" : lint ? "problems" : "rules");
	so.rules_problems = lint ? lint_problems : cli_rules_problems;
	so.rules_problems_ctx = &s;
	if (lint)
		rc = sw_rules_lint(&so, &lr, &err);
	else if (!test)
		rc = sw_rules_list(&so, corpus, ncorpus, print_rule, &s, &err);
	else
		rc = sw_rules_test(&so, (const char *const *)a.ops + 1, (size_t)(a.nops - 1), print_match,
				   print_incomplete, &s, &err);
	if (rc >= 0 && lint) {
		fprintf(stderr, "rules lint: %zu rules load; %zu error%s, %zu warning%s\n", lr.rules, lr.errors,
			lr.errors == 1 ? "" : "s", lr.warnings, lr.warnings == 1 ? "" : "s");
		rc = lr.errors ? EXIT_ERROR : EXIT_CLEAN;
	} else if (rc < 0) {
		cli_error("rules %s: %s", verb, err.msg);
		sw_json_out_finish(s.jo, NULL, NULL); /* nothing written: frees it */
		s.jo = NULL;
		rc = EXIT_ERROR;
	} else if (!lint) {
		rc = test && s.worst >= 0 && cli_fails(&a, (sw_severity)s.worst) ? EXIT_FINDINGS : EXIT_CLEAN;
	}
	if (s.jo)
		rc = cli_json_end(s.jo, s.f, rc);
	rc = cli_close(&a, s.f, rc);
out:
	free(dirs);
	free(corpus);
	cli_args_release(&a);
	return rc;
}
