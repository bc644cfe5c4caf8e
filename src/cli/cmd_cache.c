/* SPDX-License-Identifier: Apache-2.0 */
/* stowaway cache stats|prune: the per-layer verdict cache. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stowaway/cache.h"
#include "stowaway/json.h"
#include "cli.h"

/* The figures as lines or one JSON object (names and values in pairs). */
static int put(const cli_args *a, FILE *f, const char *path, const char *const *names,
	       const unsigned long long *v, size_t n)
{
	sw_json_out *jo;
	size_t i;

	if (cli_format(a) != SW_FMT_JSON) {
		cli_line(f, "cache:   %s", path);
		for (i = 0; i < n; i++)
			fprintf(f, "%s:%*s%llu\n", names[i], (int)(8 - strlen(names[i])), "", v[i]);
		return 0;
	}
	jo = sw_json_out_new();
	sw_json_out_obj(jo);
	sw_json_out_key(jo, "cache");
	sw_json_out_str(jo, path);
	for (i = 0; i < n; i++) {
		sw_json_out_key(jo, names[i]);
		sw_json_out_int(jo, (long long)v[i]);
	}
	sw_json_out_end(jo);
	return cli_json_finish(jo, f, 0) == 0 ? 0 : -1;
}

int cmd_cache(int argc, char **argv)
{
	static const char *const stat_names[] = { "entries", "bytes", "hits", "misses" };
	static const char *const prune_names[] = { "dropped" };
	const char *flag = NULL, *verb;
	char *path = NULL;
	uint64_t max = 0;
	bool all = false, have_max = false;
	sw_cache *c = NULL;
	sw_error err = SW_ERROR_INIT;
	cli_args a;
	FILE *out = NULL;
	int ch, rc = EXIT_CLEAN;

	if (cli_args_init(&a, "cache") < 0)
		goto fail;
	while ((ch = cli_next(&a, argc, argv)) > 0) {
		switch (ch) {
		case CLI_O_CACHE: flag = optarg; break;
		case CLI_O_MAX:
			if (cli_parse_size(optarg, &max) < 0 || max == 0) {
				cli_error("--max: \"%s\" is not a size", optarg);
				goto fail;
			}
			have_max = true;
			break;
		case CLI_O_ALL: all = true; break;
		}
	}
	if (ch < 0) {
		rc = a.status;
		goto out;
	}
	verb = a.nops ? a.ops[0] : "";
	if (a.nops != 1 || (strcmp(verb, "stats") && strcmp(verb, "prune")) ||
	    (strcmp(verb, "prune") == 0 && have_max == all)) {
		cli_error("cache: expected stats, or prune with --max SIZE or --all (try 'stowaway cache --help')");
		goto fail;
	}
	if (!(path = cli_cache_path(flag))) {
		cli_error("cache: no $XDG_CACHE_HOME or $HOME: give --cache PATH");
		goto fail;
	}
	if (sw_cache_open(&c, path, 0, &err) < 0) {
		cli_error("%s", err.msg);
		goto fail;
	}
	if (!(out = cli_open(&a)))
		goto fail;
	if (strcmp(verb, "stats") == 0) {
		sw_cache_stats st;
		if (sw_cache_stats_get(c, &st, &err) < 0) {
			cli_error("%s", err.msg);
			rc = EXIT_ERROR;
		} else {
			unsigned long long v[] = { st.entries, st.bytes, st.hits, st.misses };
			if (put(&a, out, path, stat_names, v, 4) < 0)
				rc = EXIT_ERROR;
		}
	} else {
		int64_t n = sw_cache_prune(c, all ? 0 : max, &err);
		if (n < 0) {
			cli_error("%s", err.msg);
			rc = EXIT_ERROR;
		} else if (cli_format(&a) == SW_FMT_JSON) {
			unsigned long long v[] = { (unsigned long long)n };
			if (put(&a, out, path, prune_names, v, 1) < 0)
				rc = EXIT_ERROR;
		} else {
			fprintf(out, "dropped %lld entries\n", (long long)n);
		}
	}
	rc = cli_close(&a, out, rc);
	goto out;
fail:
	rc = EXIT_ERROR;
out:
	sw_cache_close(c);
	free(path);
	cli_args_release(&a);
	return rc;
}
