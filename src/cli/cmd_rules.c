/* SPDX-License-Identifier: Apache-2.0 */
/* stowaway rules list | test FILE...: the rule set, for rule authors. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stowaway/stowaway.h"
#include "cli.h"

static const char rules_help[] =
	"usage: stowaway rules list [--rules DIR]... [--no-bundled-rules]\n"
	"       stowaway rules test [--rules DIR]... [--no-bundled-rules] [--no-prefilter] FILE...\n"
	"\n"
	"list: every rule with its id, severity, category and title; a rule marked\n"
	"      \"(every file)\" requires no literal the prefilter can look for, so\n"
	"      every file goes to libyara while it is loaded (slower, never wrong).\n"
	"test: run the rules over local files; prints one line per match and\n"
	"      exits 1 when something matched, 0 when nothing did, 2 on error.\n";

static int print_rule(void *ctx, const sw_rule_info *r)
{
	(void)ctx;
	cli_line(stdout, "%-24s %-9s %-18s %s:%s  %s%s", r->id, r->severity, r->category, r->ns, r->name,
		 r->title, r->prefilter == 0 ? "  (every file)" : "");
	return 0;
}

static int print_match(void *ctx, const char *path, const sw_rule_info *r)
{
	(void)ctx;
	/* the path may be a file taken out of an image, its name untouched */
	cli_line(stdout, "%s: %s %s %s (%s:%s) %s", path, r->id, r->severity, r->category, r->ns, r->name,
		 r->title);
	return 0;
}

enum { O_RULES = 256, O_NORULES, O_NOPF, O_HELP };

static const struct option longopts[] = {
	{ "rules", required_argument, NULL, O_RULES },
	{ "no-bundled-rules", no_argument, NULL, O_NORULES },
	{ "no-prefilter", no_argument, NULL, O_NOPF },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

int cmd_rules(int argc, char **argv)
{
	sw_scan_opts so = SW_SCAN_OPTS_INIT;
	sw_error err = SW_ERROR_INIT;
	const char **dirs = NULL, *verb;
	size_t ndirs = 0;
	int c, rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs(rules_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_ERROR : EXIT_CLEAN;
	}
	verb = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_RULES:
			if (cli_push(&dirs, &ndirs, optarg) < 0)
				return EXIT_ERROR;
			break;
		case O_NORULES: so.no_bundled_rules = true; break;
		case O_NOPF: so.no_prefilter = true; break;
		case O_HELP: fputs(rules_help, stdout); free(dirs); return EXIT_CLEAN;
		default: fputs(rules_help, stderr); free(dirs); return EXIT_ERROR;
		}
	}
	so.rule_dirs = dirs;
	so.n_rule_dirs = ndirs;
	so.limits.max_file_size = 256ull << 20;
	if (strcmp(verb, "list") == 0 && optind == argc) {
		rc = sw_rules_list(&so, print_rule, NULL, &err);
	} else if (strcmp(verb, "test") == 0 && optind < argc) {
		rc = sw_rules_test(&so, (const char *const *)argv + optind, (size_t)(argc - optind),
				   print_match, NULL, &err);
	} else {
		fputs(rules_help, stderr);
		free(dirs);
		return EXIT_ERROR;
	}
	free(dirs);
	if (rc < 0) {
		cli_error("rules %s: %s", verb, err.msg);
		return EXIT_ERROR;
	}
	return strcmp(verb, "test") == 0 && rc > 0 ? EXIT_FINDINGS : EXIT_CLEAN;
}
