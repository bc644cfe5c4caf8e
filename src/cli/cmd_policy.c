/* SPDX-License-Identifier: Apache-2.0 */
/* stowaway policy lint FILE...: every problem of a policy, with its line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stowaway/policy.h"
#include "cli.h"

static const char policy_help[] =
	"usage: stowaway policy lint FILE...\n"
	"\n"
	"Read each policy (stowaway YAML, or containers-policy.json) and print\n"
	"every problem as FILE:LINE: why, and every rule whose reach is not what it\n"
	"seems as FILE:LINE: warning: why (an allow that can never match, a deny a\n"
	"more specific allow cuts into, a scope no image can have, a requirement\n"
	"stowaway cannot verify). Exit 0 when all are valid (warnings or not), 2\n"
	"when not. The format is described in docs/policy.md.\n";

int cmd_policy(int argc, char **argv)
{
	int i, rc = EXIT_CLEAN;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(policy_help, stdout); /* policy --help, policy lint --help */
			return EXIT_CLEAN;
		}
	if (argc < 2 || strcmp(argv[1], "lint") != 0) {
		fputs(policy_help, argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
		return argc >= 2 && strcmp(argv[1], "--help") == 0 ? EXIT_CLEAN : EXIT_ERROR;
	}
	if (argc < 3) {
		fputs(policy_help, stderr);
		return EXIT_ERROR;
	}
	for (i = 2; i < argc; i++) {
		sw_policy *p = NULL;
		sw_policy_problem *probs = NULL;
		sw_error err = SW_ERROR_INIT;
		size_t n = 0, k;
		int r = sw_policy_load(argv[i], &p, &probs, &n, &err);
		if (r < 0 && n == 0) {
			cli_error("%s", err.msg);
			rc = EXIT_ERROR;
		}
		for (k = 0; k < n; k++) {
			const char *w = probs[k].warning ? "warning: " : "";
			if (probs[k].line)
				cli_line(stdout, "%s:%d: %s%s", argv[i], probs[k].line, w, probs[k].msg);
			else
				cli_line(stdout, "%s: %s%s", argv[i], w, probs[k].msg);
		}
		if (r == 0)
			cli_line(stdout, "%s: ok%s", argv[i], n ? " (with warnings)" : "");
		else
			rc = EXIT_ERROR;
		free(probs);
		sw_policy_free(p);
	}
	return rc;
}
