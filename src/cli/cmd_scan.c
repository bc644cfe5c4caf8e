/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stowaway scan: open each image, scan it, write the report, pick the exit
 * code. Table and JSON reports are written image by image; SARIF is one
 * document with a run per image, so those reports are kept until the end;
 * HTML is a page per image (one to --output or stdout, several into
 * --output DIR), with the signatures found next to the image.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stowaway/stowaway.h"
#include "cli.h"

#define SARIF_MAX_IMAGES 20 /* GitHub: runs per SARIF file */

static void on_progress(void *ctx, const sw_progress *p)
{
	double mib = (double)p->bytes_out / (1 << 20);

	(void)ctx;
	fprintf(stderr, "\r\033[Klayers %zu/%zu  %.0f MiB read  %.0f MiB unpacked  %.0f MiB/s  %llu files",
		p->layers_done, p->layers, (double)p->bytes_in / (1 << 20), mib,
		p->seconds > 0 ? mib / p->seconds : 0.0, (unsigned long long)p->files);
}

/* What the command line asks for. */
typedef struct scan_args {
	cli_args args;      /* --format, --output, --fail-on; the operands */
	sw_scan_opts so;
	sw_image_opts io;
	const char **iocs, **rdirs;
	size_t niocs, nrdirs;
	bool quiet;
	cli_registry reg;
	const char *cache, *keyfile, *pwfile;
	bool no_cache, attest, dynamic, legacy_attest;
	sw_detonate_opts dopts;
} scan_args;

/* What a owns (cache_default: see scan_settings; may be NULL). */
static void scan_args_release(scan_args *a, char *cache_default)
{
	free(a->iocs);
	free(a->rdirs);
	free(cache_default);
	cli_registry_free(&a->reg);
	cli_args_release(&a->args);
}

/* --max-* and --timeout into lim: -1 taken, else the exit code of a bad
 * value (reported). */
static int limit_option(sw_limits *lim, int c)
{
	uint64_t v;
	double t;

	switch (c) {
	case CLI_O_MAXFILESIZE:
		if (cli_parse_size(optarg, &lim->max_file_size) < 0)
			return cli_bad("--max-file-size", optarg);
		break;
	case CLI_O_MAXIMAGESIZE:
		if (cli_parse_size(optarg, &lim->max_image_bytes) < 0)
			return cli_bad("--max-image-size", optarg);
		break;
	case CLI_O_MAXENTRIES:
		if (cli_parse_uint(optarg, UINT32_MAX, &lim->max_entries) < 0)
			return cli_bad("--max-entries", optarg);
		break;
	case CLI_O_MAXRATIO:
		if (cli_parse_uint(optarg, 1000000, &v) < 0 || v == 0)
			return cli_bad("--max-ratio", optarg);
		lim->max_ratio = (uint32_t)v;
		break;
	case CLI_O_MAXPATH:
		if (cli_parse_uint(optarg, 65536, &v) < 0 || v < 16)
			return cli_bad("--max-path", optarg);
		lim->max_path = (uint32_t)v;
		break;
	case CLI_O_MAXDEPTH:
		if (cli_parse_uint(optarg, 64, &v) < 0)
			return cli_bad("--max-depth", optarg);
		lim->max_depth = (uint32_t)v;
		break;
	case CLI_O_TIMEOUT:
		if (cli_duration_opt("--timeout", optarg, 86400 * 7, &t) < 0)
			return EXIT_ERROR;
		lim->timeout = t;
		break;
	}
	return -1;
}

/* One option (c, with optarg) into a: -1 taken, else the exit code to
 * return (a bad value). */
static int scan_option(scan_args *a, int c)
{
	uint64_t v;
	double t;

	switch (c) {
	case CLI_O_PLATFORM: a->io.platform = optarg; break;
	case CLI_O_JOBS:
		if (cli_parse_uint(optarg, 1024, &v) < 0 || v == 0)
			return cli_bad("--jobs", optarg);
		a->so.jobs = (unsigned)v;
		break;
	case CLI_O_IOC:
		if (cli_push(&a->iocs, &a->niocs, optarg) < 0)
			return EXIT_ERROR;
		break;
	case CLI_O_RULES:
		if (cli_push(&a->rdirs, &a->nrdirs, optarg) < 0)
			return EXIT_ERROR;
		break;
	case CLI_O_NORULES: a->so.no_bundled_rules = true; break;
	case CLI_O_NOPREFILTER: a->so.no_prefilter = true; break;
	case CLI_O_RULESSKIP: a->so.rules_skip_broken = true; break;
	case CLI_O_RULESSEV:
		if (cli_rules_severity(optarg, &a->so) < 0)
			return EXIT_ERROR;
		break;
	case CLI_O_CACHE: a->cache = optarg; break;
	case CLI_O_ATTEST: a->attest = true; break;
	case CLI_O_BUNDLEFMT:
		if (cli_bundle_format(optarg, &a->legacy_attest) < 0)
			return EXIT_ERROR;
		break;
	case CLI_O_DYNAMIC: a->dynamic = true; break;
	case CLI_O_DYNTIMEOUT:
		if (cli_duration_opt("--dynamic-timeout", optarg, 86400, &t) < 0)
			return EXIT_ERROR;
		a->dopts.timeout = cli_whole_seconds(t);
		break;
	case CLI_O_KEY: a->keyfile = optarg; break;
	case CLI_O_PWFILE: a->pwfile = optarg; break;
	case CLI_O_NOCACHE: a->no_cache = true; break;
	case CLI_O_CACHEMAX:
		if (cli_parse_size(optarg, &v) < 0 || v == 0)
			return cli_bad("--cache-max", optarg);
		a->so.layer_cache_max = v;
		break;
	case CLI_O_FILETIMEOUT:
		if (cli_duration_opt("--file-timeout", optarg, 3600, &t) < 0)
			return EXIT_ERROR;
		a->so.file_timeout = (int)cli_whole_seconds(t);
		break;
	case CLI_O_NOIOC: a->so.no_bundled_ioc = true; break;
	case CLI_O_QUIET: a->quiet = true; break;
	default:
		return limit_option(&a->so.limits, c);
	}
	return -1;
}

/* --attest's private key into *key (its password wiped): -1 to go on,
 * else the exit code. */
static int attest_key(scan_args *a, sw_privkey **key)
{
	char pw[1024];
	sw_error kerr = SW_ERROR_INIT;
	int kr;

	if (!a->keyfile) {
		cli_error("--attest needs --key FILE");
		scan_args_release(a, NULL);
		return EXIT_ERROR;
	}
	kr = cli_password(a->pwfile, false, pw, sizeof(pw)) < 0 ? -1 : sw_privkey_load(a->keyfile, pw, key, &kerr);
	cli_wipe(pw, sizeof(pw));
	if (kr < 0) {
		if (kerr.msg[0])
			cli_error("%s", kerr.msg);
		scan_args_release(a, NULL);
		return EXIT_ERROR;
	}
	return -1;
}

/* The scan options the flags imply (*cache_default: the default cache's
 * path, malloc'd, when that is the one used), and the report's format. */
static sw_format scan_settings(scan_args *a, char **cache_default)
{
	if (!a->no_cache)
		a->so.layer_cache = *cache_default = cli_cache_path(a->cache);
	a->so.ioc_files = a->iocs;
	a->so.n_ioc_files = a->niocs;
	a->so.rule_dirs = a->rdirs;
	a->so.n_rule_dirs = a->nrdirs;
	a->so.rules_problems = cli_rules_problems;
	if (!a->quiet && isatty(STDERR_FILENO))
		a->so.progress = on_progress;
	return cli_format(&a->args);
}

/* Where the reports go: *out (--output, else stdout) and, for SARIF, room
 * for every report (*reps). -1 to go on, else the exit code. */
static int open_output(scan_args *a, sw_format fmt, int nimages, char *cache_default,
		       sw_report ***reps, FILE **out)
{
	if (fmt == SW_FMT_HTML && nimages > 1) { /* a file per page, opened as it is written */
		*out = NULL;
		if (cli_pages_check(&a->args, (size_t)nimages) == 0)
			return -1;
		scan_args_release(a, cache_default);
		return EXIT_ERROR;
	}
	if (fmt == SW_FMT_SARIF && nimages > SARIF_MAX_IMAGES) {
		cli_error("--format sarif: at most %d images per file, not %d", SARIF_MAX_IMAGES,
			  nimages);
		scan_args_release(a, cache_default);
		return EXIT_ERROR;
	}
	if (fmt == SW_FMT_SARIF && !(*reps = calloc((size_t)nimages, sizeof(**reps)))) {
		cli_error("scan: out of memory");
		scan_args_release(a, cache_default);
		return EXIT_ERROR;
	}
	if (!(*out = cli_open(&a->args))) {
		free(*reps);
		scan_args_release(a, cache_default);
		return EXIT_ERROR;
	}
	return -1;
}

/* --dynamic: img run in the sandbox, what it did merged into rep. When the
 * sandbox fails the static results stand: what did not run is said, in
 * the report and as an error (*failed). */
static int run_dynamic(scan_args *a, const sw_image *img, sw_report *rep, const char *arg, bool *failed,
		       sw_error *err)
{
	sw_report *dyn = NULL;
	int rc;

	a->dopts.scan = &a->so;
	if ((rc = sw_detonate(img, &a->dopts, &dyn, err)) == 0) {
		rc = sw_report_merge(rep, dyn, err);
	} else {
		char why[sizeof(err->msg) + 32];
		snprintf(why, sizeof(why), "dynamic analysis did not run: %s", err->msg);
		*failed = true;
		cli_error("%s: %s", arg, why);
		rc = sw_report_add_incomplete(rep, "sandbox", NULL, -1, why);
		if (rc < 0)
			sw_error_set(err, rc, "out of memory");
	}
	sw_report_free(dyn);
	return rc;
}

/* --attest: rep's verdict signed and attached next to the image: in its
 * registry repository, or in its OCI layout (as cosign save keeps them);
 * a Sigstore bundle referring to it (cosign v3), or with --bundle-format
 * legacy a layer of its .att manifest (cosign v2).
 * false on failure (reported). */
static bool attest_one(const scan_args *a, const char *arg, const sw_image *img, sw_privkey *akey,
		       const sw_report *rep, sw_error *err)
{
	char dg[80], where[4200];

	if (!cli_sig_home(arg, sw_image_kind(img), where, sizeof(where))) {
		cli_error("%s: --attest attaches to a registry image or an OCI layout (oci:DIR): an archive or a "
			  "directory has no place for it", arg);
		return false;
	}
	if ((a->legacy_attest ? sw_attest_image : sw_attest_image_bundle)(where, &a->io, akey, rep, dg, sizeof(dg),
									 err) < 0) {
		cli_error("%s: attestation: %s", arg, err->msg);
		return false;
	} else if (!a->quiet) {
		cli_line(stderr, "stowaway: %s@%s: verdict %s signed and attached", arg, dg,
			 sw_verdict_name(sw_report_verdict(rep)));
	}
	return true;
}

/* One image: opened, scanned (and run with --dynamic), its report written
 * (SARIF: kept in reps), attested with --attest. Returns worst, raised to
 * what this image asks for. */
static int scan_one(scan_args *a, int idx, sw_format fmt, FILE *out, sw_privkey *akey,
		    sw_report **reps, size_t *nreps, int worst)
{
	const char *arg = a->args.ops[idx];
	sw_error err = SW_ERROR_INIT;
	sw_image *img = NULL;
	sw_report *rep = NULL;
	sw_severity max;
	bool dyn_failed = false;
	int rc = sw_image_open(&img, arg, &a->io, &err);

	if (rc == 0)
		rc = sw_scan_platforms(img, &a->so, &rep, &err);
	if (rc == 0 && a->dynamic)
		rc = run_dynamic(a, img, rep, arg, &dyn_failed, &err);
	if (a->so.progress)
		fputs("\r\033[K", stderr);
	if (rc == 0 && fmt == SW_FMT_HTML) {
		const char *name = sw_image_reference(img) ? sw_image_reference(img) : arg;
		if (cli_note_attachments(rep, arg, sw_image_kind(img), &a->io) < 0 ||
		    cli_write_page(&a->args, rep, out, (size_t)idx, (size_t)a->args.nops, name) != 0)
			worst = EXIT_ERROR; /* said */
	} else if (rc == 0 && fmt != SW_FMT_SARIF) {
		rc = sw_report_write(rep, fmt, cli_color(&a->args), out, &err);
	}
	if (rc < 0) {
		cli_error("%s: %s", arg, err.msg);
		worst = EXIT_ERROR;
	} else if (dyn_failed) {
		worst = EXIT_ERROR;
	} else if (sw_report_max_severity(rep, &max) && cli_fails(&a->args, max) && worst != EXIT_ERROR) {
		worst = EXIT_FINDINGS;
	}
	if (rc == 0 && akey && !attest_one(a, arg, img, akey, rep, &err))
		worst = EXIT_ERROR;
	if (rc == 0 && reps)
		reps[(*nreps)++] = rep; /* the report owns its strings: it outlives img */
	else
		sw_report_free(rep);
	sw_image_free(img);
	return worst;
}

/* The SARIF document (every run), the output closed. Returns worst. */
static int scan_finish(const scan_args *a, sw_report **reps, size_t nreps, FILE *out, int worst)
{
	size_t k;

	if (nreps) {
		sw_error err = SW_ERROR_INIT;
		if (sw_report_write_sarif((const sw_report *const *)reps, nreps, out, &err) < 0) {
			cli_error("--format sarif: %s", err.msg);
			worst = EXIT_ERROR;
		}
	}
	for (k = 0; k < nreps; k++)
		sw_report_free(reps[k]);
	free(reps);
	return cli_close(&a->args, out, worst);
}

int cmd_scan(int argc, char **argv)
{
	scan_args a = { .so = SW_SCAN_OPTS_INIT, .io = SW_IMAGE_OPTS_INIT, .dopts = SW_DETONATE_OPTS_INIT };
	sw_report **reps = NULL; /* SARIF: every report, written at the end */
	size_t nreps = 0;
	sw_format fmt;
	FILE *out = stdout;
	char *cache_default = NULL;
	sw_privkey *akey = NULL;
	int c, i, rc, worst = EXIT_CLEAN;

	/* an index is scanned whole (sw_scan_platforms): one without
	 * linux/amd64 is no error */
	a.io.any_platform = true;
	cli_registry_init(&a.reg, &a.io);
	if (cli_args_init(&a.args, "scan") < 0) {
		scan_args_release(&a, NULL);
		return EXIT_ERROR;
	}
	a.args.reg = &a.reg;
	while ((c = cli_next(&a.args, argc, argv)) > 0)
		if ((rc = scan_option(&a, c)) >= 0) {
			scan_args_release(&a, NULL);
			return rc;
		}
	if (c < 0 || a.args.nops == 0) {
		if (c == 0)
			cli_error("scan: no image given (try 'stowaway scan --help')");
		rc = c < 0 ? a.args.status : EXIT_ERROR;
		scan_args_release(&a, NULL);
		return rc;
	}
	if (a.attest && (rc = attest_key(&a, &akey)) >= 0)
		return rc;
	fmt = scan_settings(&a, &cache_default);
	if ((rc = open_output(&a, fmt, a.args.nops, cache_default, &reps, &out)) >= 0)
		return rc;
	for (i = 0; i < a.args.nops; i++)
		worst = scan_one(&a, i, fmt, out, akey, reps, &nreps, worst);
	worst = scan_finish(&a, reps, nreps, out, worst);
	sw_privkey_free(akey);
	scan_args_release(&a, cache_default);
	return worst;
}
