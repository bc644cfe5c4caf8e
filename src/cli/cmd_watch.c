/* SPDX-License-Identifier: Apache-2.0 */
/* stowaway watch run|status|events|report: registry-wide sweeps. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stowaway/cache.h"
#include "stowaway/watch.h"
#include "cli.h"

typedef struct watch_args {
	sw_watch_opts o;
	cli_registry reg;
	const char **registries, **repos, **rules, **iocs, **namespaces;
	size_t nregistries, nrepos, nrules, niocs, nnamespaces;
	const char *db, *repos_file, *since, *kind;
	char *repo_lines;
	bool quiet;
} watch_args;

static void progress(void *ctx, const sw_watch_progress *p)
{
	(void)ctx;
	fprintf(stderr, "\rwatch: %lld queued, %lld running, %lld done, %lld failed | %lld images (%.1f/s), "
		"layers %lld scanned, %lld reused   ", p->queued, p->leased, p->done, p->failed, p->images,
		p->seconds > 0 ? (double)p->images / p->seconds : 0.0, p->layers_scanned, p->layers_reused);
	fflush(stderr);
}

/* --repos-file: one name per line, blank lines and # comments skipped */
static int read_repos(watch_args *w)
{
	FILE *f = fopen(w->repos_file, "r");
	size_t cap = 0, len = 0;
	char *p, *line;

	if (!f) {
		cli_error("--repos-file %s: cannot be read", w->repos_file);
		return -1;
	}
	for (;;) {
		size_t n;
		if (len + 4096 + 1 > cap) {
			char *nb = cap < (64u << 20) ? realloc(w->repo_lines, cap ? 2 * cap : 8192) : NULL;
			if (!nb) {
				fclose(f);
				cli_error("--repos-file %s: too large (64 MiB at most)", w->repos_file);
				return -1;
			}
			w->repo_lines = nb;
			cap = cap ? 2 * cap : 8192;
		}
		if (!(n = fread(w->repo_lines + len, 1, 4096, f)))
			break;
		len += n;
	}
	fclose(f);
	if (!w->repo_lines)
		return 0;
	w->repo_lines[len] = '\0';
	for (p = w->repo_lines; (line = strsep(&p, "\n"));) {
		char *e;
		line += strspn(line, " \t\r");
		for (e = line + strlen(line); e > line && strchr(" \t\r", e[-1]); e--)
			;
		*e = '\0';
		if (!*line || *line == '#')
			continue;
		if (cli_push(&w->repos, &w->nrepos, line) < 0)
			return -1;
	}
	return 0;
}

/* RFC 3339 in UTC ("2026-12-07T10:00:00Z", fraction allowed), or a
 * duration ago; milliseconds since the epoch */
static int parse_since(const char *s, long long *ms)
{
	struct tm tm;
	const char *rest;
	double d;

	memset(&tm, 0, sizeof(tm));
	if ((rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))) {
		long long frac = 0;
		if (*rest == '.') {
			/* milliseconds: the events' own times round-trip */
			size_t n = strspn(rest + 1, "0123456789"), i;
			for (i = 0; i < 3; i++)
				frac = frac * 10 + (i < n ? rest[1 + i] - '0' : 0);
			rest += 1 + n;
		}
		if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0)
			return -1;
		*ms = (long long)timegm(&tm) * 1000 + frac;
		return 0;
	}
	if (cli_parse_duration(s, 1, 3650.0 * 86400, &d) < 0)
		return -1;
	*ms = (long long)time(NULL) * 1000 - (long long)(d * 1000);
	return 0;
}

static char *default_db(void)
{
	char *p = sw_cache_default_path(), *slash, *url = NULL;

	if (p && (slash = strrchr(p, '/'))) {
		*slash = '\0';
		size_t n = strlen(p) + 32;
		if ((url = malloc(n)))
			snprintf(url, n, "sqlite:%s/watch.db", p);
	}
	free(p);
	return url;
}

int cmd_watch(int argc, char **argv)
{
	watch_args w;
	cli_args a;
	sw_error err = SW_ERROR_INIT;
	sw_scan_opts so = SW_SCAN_OPTS_INIT;
	sw_image_opts io = SW_IMAGE_OPTS_INIT;
	char *dflt = NULL;
	const char *verb;
	FILE *out = NULL;
	uint64_t v;
	double d;
	int ch, rc = EXIT_ERROR;

	memset(&w, 0, sizeof(w));
	w.o.scan = so;
	cli_registry_init(&w.reg, &io);
	if (cli_args_init(&a, "watch") < 0)
		goto out;
	a.reg = &w.reg;
	while ((ch = cli_next(&a, argc, argv)) > 0) {
		switch (ch) {
		case CLI_O_DB: w.db = optarg; break;
		case CLI_O_REGISTRY:
			if (cli_push(&w.registries, &w.nregistries, optarg) < 0)
				goto out;
			break;
		case CLI_O_REPO:
			if (cli_push(&w.repos, &w.nrepos, optarg) < 0)
				goto out;
			break;
		case CLI_O_REPOSFILE: w.repos_file = optarg; break;
		case CLI_O_NAMESPACE:
			if (cli_push(&w.namespaces, &w.nnamespaces, optarg) < 0)
				goto out;
			break;
		case CLI_O_HUBAPI: w.o.hub_api = optarg; break;
		case CLI_O_NAMESAS: w.o.names_as = optarg; break;
		case CLI_O_UNTILIDLE: w.o.until_idle = true; break;
		case CLI_O_QUIET: w.quiet = true; break;
		case CLI_O_METRICS: w.o.metrics = optarg; break;
		case CLI_O_SINCE: w.since = optarg; break;
		case CLI_O_KIND:
			if (!cli_word_in("new_image new_layer verdict tag_moved lookalike failed", optarg)) {
				cli_error("--kind %s: one of new_image, new_layer, verdict, tag_moved, lookalike, failed",
					  optarg);
				goto out;
			}
			w.kind = optarg;
			break;
		case CLI_O_RULES:
			if (cli_push(&w.rules, &w.nrules, optarg) < 0)
				goto out;
			break;
		case CLI_O_IOC:
			if (cli_push(&w.iocs, &w.niocs, optarg) < 0)
				goto out;
			break;
		case CLI_O_WORKERS:
			if (cli_parse_uint(optarg, 256, &v) < 0 || v == 0) {
				rc = cli_bad("--workers", optarg);
				goto out;
			}
			w.o.workers = (unsigned)v;
			break;
		case CLI_O_JOBS:
			if (cli_parse_uint(optarg, 256, &v) < 0 || v == 0) {
				rc = cli_bad("--jobs", optarg);
				goto out;
			}
			w.o.scan.jobs = (unsigned)v;
			break;
		case CLI_O_CONCURRENCY:
			if (cli_parse_uint(optarg, 1024, &v) < 0 || v == 0) {
				rc = cli_bad("--concurrency", optarg);
				goto out;
			}
			w.o.concurrency = (unsigned)v;
			break;
		case CLI_O_RATE:
			if (cli_parse_uint(optarg, 100000, &v) < 0 || v == 0) {
				rc = cli_bad("--rate", optarg);
				goto out;
			}
			w.o.rate = (double)v;
			break;
		case CLI_O_LEASE:
			if (cli_duration_opt("--lease", optarg, 86400, &d) < 0)
				goto out;
			w.o.lease = d;
			break;
		case CLI_O_TIMEOUT:
			if (cli_duration_opt("--timeout", optarg, 86400, &d) < 0)
				goto out;
			w.o.scan.limits.timeout = d;
			break;
		}
	}
	if (ch < 0) {
		rc = a.status;
		goto out;
	}
	verb = a.nops ? a.ops[0] : "";
	if (a.nops != 1 || !cli_word_in("run sweep status events report", verb)) {
		cli_error("watch: expected run, sweep, status, events or report (try 'stowaway watch --help')");
		goto out;
	}
	/* the URL may carry a password: the environment keeps it off the command line */
	if (!w.db && getenv("STOWAWAY_WATCH_DB") && *getenv("STOWAWAY_WATCH_DB"))
		w.db = getenv("STOWAWAY_WATCH_DB");
	if (!w.db && !(w.db = dflt = default_db())) {
		cli_error("watch: no $XDG_CACHE_HOME or $HOME: give --db URL");
		goto out;
	}
	w.o.db = w.db;
	if (strcmp(verb, "run") == 0 || strcmp(verb, "sweep") == 0) {
		if (!w.nregistries && strcmp(verb, "sweep") == 0) {
			cli_error("watch sweep: give at least one --registry HOST[:PORT]");
			goto out;
		}
		if ((w.nrepos || w.nnamespaces) && !w.nregistries) {
			cli_error("watch %s: --repo and --namespace name repositories of a --registry", verb);
			goto out;
		}
		w.o.enqueue_only = strcmp(verb, "sweep") == 0;
		if (w.repos_file && read_repos(&w) < 0)
			goto out;
		w.o.registries = w.registries;
		w.o.n_registries = w.nregistries;
		w.o.repos = w.repos;
		w.o.n_repos = w.nrepos;
		w.o.namespaces = w.namespaces;
		w.o.n_namespaces = w.nnamespaces;
		w.o.scan.rule_dirs = w.rules;
		w.o.scan.n_rule_dirs = w.nrules;
		w.o.scan.ioc_files = w.iocs;
		w.o.scan.n_ioc_files = w.niocs;
		w.o.registry = w.reg.o;
		w.o.image = io;
		w.o.image.registry = NULL;
		if (!w.quiet && !w.o.enqueue_only && isatty(2))
			w.o.progress = progress;
		w.o.summary = !w.quiet && !w.o.enqueue_only;
		rc = sw_watch_run(&w.o, &err);
		if (w.o.progress)
			fputc('\n', stderr);
		if (rc < 0) {
			cli_error("watch %s: %s", verb, err.msg);
			rc = EXIT_ERROR;
		} else {
			rc = EXIT_CLEAN;
		}
		goto out;
	}
	if (!(out = cli_open(&a)))
		goto out;
	if (strcmp(verb, "status") == 0) {
		rc = sw_watch_status(w.db, cli_format(&a) == SW_FMT_JSON ? SW_WATCH_JSON : SW_WATCH_TABLE, out, &err);
	} else if (strcmp(verb, "events") == 0) {
		long long since = 0;
		if (w.since && parse_since(w.since, &since) < 0) {
			cli_error("--since %s: expected an RFC 3339 time in UTC (2026-12-07T10:00:00Z) or a duration "
				  "(10m)", w.since);
			rc = cli_close(&a, out, EXIT_ERROR);
			goto out;
		}
		rc = sw_watch_events(w.db, since, w.kind, cli_format(&a) == SW_FMT_JSON ? SW_WATCH_JSON : SW_WATCH_TABLE,
				     out, &err);
	} else {
		rc = sw_watch_report(w.db, cli_format(&a) == SW_FMT_JSON ? SW_WATCH_JSON : SW_WATCH_TABLE, out, &err);
	}
	if (rc < 0) {
		cli_error("watch %s: %s", verb, err.msg);
		rc = EXIT_ERROR;
	} else if (rc == 1) {
		rc = EXIT_FINDINGS;
	} else {
		rc = EXIT_CLEAN;
	}
	rc = cli_close(&a, out, rc);
out:
	free(dflt);
	free(w.registries);
	free(w.repos);
	free(w.namespaces);
	free(w.rules);
	free(w.iocs);
	free(w.repo_lines);
	cli_registry_free(&w.reg);
	cli_args_release(&a);
	return rc;
}
