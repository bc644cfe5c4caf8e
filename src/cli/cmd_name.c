/* SPDX-License-Identifier: Apache-2.0 */
/* stowaway name REF...: is this image name a look-alike of a known one? */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stowaway/names.h"
#include "cli.h"

static const char name_help[] =
	"usage: stowaway name [--format table|json] REF... | -\n"
	"\n"
	"Judge image names against the bundled lists of Docker Hub official\n"
	"images, known publishers and registry hosts:\n"
	"  impersonation  a known name where its owner does not publish\n"
	"                 (someuser/openjdk, library-nginx/nginx)\n"
	"  typosquat      close to a known name (ngnix, bitnarni/redis, ghrc.io/...)\n"
	"  ok             neither, with a note on what is known\n"
	"'-' reads one reference per line from standard input.\n"
	"Exit 0 when all are ok, 1 when any is flagged, 2 when one is not a\n"
	"valid reference.\n";

#define MAX_REFS 100000

enum { O_FORMAT = 256, O_HELP };

static const struct option longopts[] = {
	{ "format", required_argument, NULL, O_FORMAT },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

int cmd_name(int argc, char **argv)
{
	const char *format = NULL, **refs = NULL;
	sw_name_result *rs = NULL;
	size_t nrefs = 0, n = 0, i;
	char **owned = NULL;
	size_t nowned = 0;
	int c, rc = EXIT_CLEAN, bad = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_FORMAT:
			if (strcmp(optarg, "table") && strcmp(optarg, "json")) {
				cli_error("--format: \"%s\" is not table or json", optarg);
				return EXIT_ERROR;
			}
			format = optarg;
			break;
		case O_HELP:
			fputs(name_help, stdout);
			return EXIT_CLEAN;
		default:
			fputs(name_help, stderr);
			return EXIT_ERROR;
		}
	}
	if (optind >= argc) {
		fputs(name_help, stderr);
		return EXIT_ERROR;
	}
	for (i = (size_t)optind; i < (size_t)argc; i++) {
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
		if (rs[n].verdict != SW_NAME_OK && rc == EXIT_CLEAN)
			rc = EXIT_FINDINGS;
		n++;
	}
	if (!format)
		format = isatty(STDOUT_FILENO) ? "table" : "json";
	if (sw_names_write(stdout, refs, rs, n, strcmp(format, "json") == 0) < 0) {
		cli_error("writing the results failed");
		rc = EXIT_ERROR;
	}
	if (bad)
		rc = EXIT_ERROR;
out:
	for (i = 0; i < nowned; i++)
		free(owned[i]);
	free(owned);
	free(refs);
	free(rs);
	return rc;
}
