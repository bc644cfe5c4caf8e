/* SPDX-License-Identifier: Apache-2.0 */
/* stowaway cache stats|prune: the per-layer verdict cache. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stowaway/cache.h"
#include "cli.h"

static const char cache_help[] =
	"usage: stowaway cache stats [--cache PATH]\n"
	"       stowaway cache prune [--cache PATH] (--max SIZE | --all)\n"
	"\n"
	"The layer cache (default $XDG_CACHE_HOME/stowaway/layers.db) keeps what\n"
	"scanning each layer found, keyed by layer digest, rules and limits.\n"
	"stats: entries, bytes, hits and misses. prune: drop least recently used\n"
	"entries until at most SIZE remain, or all of them.\n";

enum { O_CACHE = 256, O_MAX, O_ALL, O_HELP };

static const struct option longopts[] = {
	{ "cache", required_argument, NULL, O_CACHE },
	{ "max", required_argument, NULL, O_MAX },
	{ "all", no_argument, NULL, O_ALL },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

int cmd_cache(int argc, char **argv)
{
	const char *path = NULL, *verb;
	char *def = NULL;
	uint64_t max = 0;
	bool all = false, have_max = false;
	sw_cache *c = NULL;
	sw_error err = SW_ERROR_INIT;
	int ch, rc = EXIT_CLEAN;

	if (argc < 2 || (strcmp(argv[1], "stats") && strcmp(argv[1], "prune"))) {
		bool help = argc >= 2 && strcmp(argv[1], "--help") == 0;
		fputs(cache_help, help ? stdout : stderr);
		return help ? EXIT_CLEAN : EXIT_ERROR;
	}
	verb = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case O_CACHE: path = optarg; break;
		case O_MAX:
			if (cli_parse_size(optarg, &max) < 0 || max == 0) {
				cli_error("--max: \"%s\" is not a size", optarg);
				return EXIT_ERROR;
			}
			have_max = true;
			break;
		case O_ALL: all = true; break;
		case O_HELP: fputs(cache_help, stdout); return EXIT_CLEAN;
		default: fputs(cache_help, stderr); return EXIT_ERROR;
		}
	}
	if (optind != argc || (strcmp(verb, "prune") == 0 && have_max == all)) {
		fputs(cache_help, stderr);
		return EXIT_ERROR;
	}
	if (!path && !(path = def = sw_cache_default_path())) {
		cli_error("cache: no $XDG_CACHE_HOME or $HOME: give --cache PATH");
		return EXIT_ERROR;
	}
	if (sw_cache_open(&c, path, 0, &err) < 0) {
		cli_error("%s", err.msg);
		free(def);
		return EXIT_ERROR;
	}
	if (strcmp(verb, "stats") == 0) {
		sw_cache_stats st;
		if (sw_cache_stats_get(c, &st, &err) < 0) {
			cli_error("%s", err.msg);
			rc = EXIT_ERROR;
		} else {
			printf("cache:   %s\nentries: %llu\nbytes:   %llu\nhits:    %llu\nmisses:  %llu\n", path,
			       (unsigned long long)st.entries, (unsigned long long)st.bytes, (unsigned long long)st.hits,
			       (unsigned long long)st.misses);
		}
	} else {
		int64_t n = sw_cache_prune(c, all ? 0 : max, &err);
		if (n < 0) {
			cli_error("%s", err.msg);
			rc = EXIT_ERROR;
		} else {
			printf("dropped %lld entries\n", (long long)n);
		}
	}
	sw_cache_close(c);
	free(def);
	return rc;
}
