/* SPDX-License-Identifier: Apache-2.0 */
/* stowaway name REF...: is this image name a look-alike of a known one? */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stowaway/names.h"
#include "cli.h"

#define MAX_REFS 100000

int cmd_name(int argc, char **argv)
{
	const char **refs = NULL;
	sw_name_result *rs = NULL;
	size_t nrefs = 0, n = 0, i;
	char **owned = NULL;
	size_t nowned = 0;
	int c, rc = EXIT_CLEAN, bad = 0;
	bool flagged = false;
	cli_args a;
	FILE *out = NULL;

	if (cli_args_init(&a, "name") < 0) {
		cli_args_release(&a);
		return EXIT_ERROR;
	}
	while ((c = cli_next(&a, argc, argv)) > 0)
		;
	if (c < 0 || a.nops == 0) {
		if (c == 0)
			cli_error("name: no reference given (try 'stowaway name --help')");
		rc = c < 0 ? a.status : EXIT_ERROR;
		cli_args_release(&a);
		return rc;
	}
	argv = a.ops;
	argc = a.nops;
	for (i = 0; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "-") == 0) {
			char *line = NULL;
			size_t cap = 0;
			ssize_t len;
			while ((len = getline(&line, &cap, stdin)) >= 0) {
				char *s = line, *e = line + len;
				while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
					*--e = '\0';
				while (*s == ' ' || *s == '\t')
					s++;
				if (!*s || *s == '#')
					continue;
				if (nowned >= MAX_REFS) {
					cli_error("more than %d references", MAX_REFS);
					free(line);
					rc = EXIT_ERROR;
					goto out;
				}
				if (!(owned = realloc(owned, (nowned + 1) * sizeof(*owned))) ||
				    !(owned[nowned] = strdup(s))) {
					cli_error("out of memory");
					free(line);
					rc = EXIT_ERROR;
					goto out;
				}
				if (cli_push(&refs, &nrefs, owned[nowned++]) < 0) {
					free(line);
					rc = EXIT_ERROR;
					goto out;
				}
			}
			free(line);
		} else if (cli_push(&refs, &nrefs, argv[i]) < 0) {
			rc = EXIT_ERROR;
			goto out;
		}
	}
	if (nrefs && !(rs = calloc(nrefs, sizeof(*rs)))) {
		cli_error("out of memory");
		rc = EXIT_ERROR;
		goto out;
	}
	for (i = 0; i < nrefs; i++) {
		sw_error err = SW_ERROR_INIT;
		if (sw_names_check(refs[i], &rs[n], &err) < 0) {
			cli_error("%s", err.msg);
			bad = 1;
			continue;
		}
		refs[n] = refs[i];
		if (rs[n].verdict != SW_NAME_OK)
			flagged = true;
		n++;
	}
	if (!(out = cli_open(&a))) {
		rc = EXIT_ERROR;
		goto out;
	}
	rc = cli_judged(&a, flagged);
	if (sw_names_write(out, refs, rs, n, cli_format(&a) == SW_FMT_JSON) < 0) {
		cli_error("writing the results failed");
		rc = EXIT_ERROR;
	}
	if (bad)
		rc = EXIT_ERROR;
	rc = cli_close(&a, out, rc);
out:
	for (i = 0; i < nowned; i++)
		free(owned[i]);
	free(owned);
	free(refs);
	free(rs);
	cli_args_release(&a);
	return rc;
}
