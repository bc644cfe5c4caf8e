/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stowaway scan: open each image, scan it, write the report, pick the exit
 * code. Table and JSON reports are written image by image; SARIF is one
 * document with a run per image, so those reports are kept until the end.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stowaway/stowaway.h"
#include "cli.h"

#define SARIF_MAX_IMAGES 20 /* GitHub: runs per SARIF file */

static const char scan_help[] =
	"usage: stowaway scan [options] IMAGE...\n"
	"\n"
	"  --format FORMAT         table, json or sarif (default: table on a terminal, json\n"
	"                          otherwise); sarif is SARIF 2.1.0 for GitHub code scanning,\n"
	"                          one document with a run per image (at most 20 images)\n"
	"  --output FILE           write the report to FILE\n"
	"  --fail-on SEVERITY      exit 1 at or above: info|low|medium|high|critical (default high)\n"
	"  --platform OS/ARCH[/V]  image to pick from a multi-platform index (default linux/amd64)\n"
	"  --jobs N                layers decoded in parallel (default: number of cores)\n"
	"  --ioc FILE              extra SHA-256 IOC list: \"sha256 severity category name\" per line\n"
	"  --no-bundled-ioc        do not load the bundled IOC list\n"
	"  --rules DIR             extra YARA rules (*.yar, *.yara in DIR; repeatable)\n"
	"  --no-bundled-rules      do not load the bundled YARA rules\n"
	"  --file-timeout SECONDS  YARA time per file (default 10)\n"
	"  --no-prefilter          give every file to libyara (the prefilter skips files\n"
	"                          no rule can match; the findings are the same)\n"
	"  --quiet                 no progress on stderr\n"
	"limits (exceeding one is reported as incomplete, never passed as clean):\n"
	"  --max-file-size SIZE    bytes of one file given to content detectors (default 256M)\n"
	"  --max-image-size SIZE   uncompressed bytes per image (default 32G)\n"
	"  --max-entries N         tar entries per image (default 1000000)\n"
	"  --max-ratio N           uncompressed:compressed ratio per layer (default 250)\n"
	"  --max-path N            bytes of an entry path (default 4096)\n"
	"  --max-depth N           nested archive depth (default 4)\n"
	"  --timeout SECONDS       per image (default 600)\n"
	"  --dynamic               also run the image in the sandbox (see 'stowaway detonate')\n"
	"                          and merge what it does into the report\n"
	"  --dynamic-timeout S     the sandbox's wall clock (default 30)\n"
	"  --attest                sign the verdict of each image (in-toto, DSSE) and attach it\n"
	"                          next to it: in its registry repository or its OCI layout\n"
	"                          (needs --key)\n"
	"  --key FILE              private key for --attest (cosign format or PEM)\n"
	"  --password-file FILE    its password (else $STOWAWAY_PASSWORD, $COSIGN_PASSWORD, a prompt)\n"
	"layer cache (a layer already scanned with the same rules is not read again):\n"
	"  --cache PATH            the SQLite file (default $XDG_CACHE_HOME/stowaway/layers.db)\n"
	"  --cache-max SIZE        keep at most SIZE, least recently used go first (default 2G)\n"
	"  --no-cache              neither read nor write the cache\n"
	CLI_REGISTRY_HELP;

enum { O_FORMAT = 256, O_OUTPUT, O_FAILON, O_PLATFORM, O_JOBS, O_IOC, O_NOIOC, O_QUIET,
       O_MFS, O_MIS, O_ME, O_MR, O_MP, O_MD, O_TO, O_HELP, O_RULES, O_NORULES, O_FTO, O_NOPF,
       O_CACHE, O_NOCACHE, O_CACHEMAX, O_ATTEST, O_KEY, O_PWFILE, O_DYNAMIC, O_DYNTO };

static const struct option longopts[] = {
	{ "format", required_argument, NULL, O_FORMAT },
	{ "output", required_argument, NULL, O_OUTPUT },
	{ "fail-on", required_argument, NULL, O_FAILON },
	{ "platform", required_argument, NULL, O_PLATFORM },
	{ "jobs", required_argument, NULL, O_JOBS },
	{ "ioc", required_argument, NULL, O_IOC },
	{ "no-bundled-ioc", no_argument, NULL, O_NOIOC },
	{ "quiet", no_argument, NULL, O_QUIET },
	{ "max-file-size", required_argument, NULL, O_MFS },
	{ "max-image-size", required_argument, NULL, O_MIS },
	{ "max-entries", required_argument, NULL, O_ME },
	{ "max-ratio", required_argument, NULL, O_MR },
	{ "max-path", required_argument, NULL, O_MP },
	{ "max-depth", required_argument, NULL, O_MD },
	{ "timeout", required_argument, NULL, O_TO },
	{ "help", no_argument, NULL, O_HELP },
	{ "rules", required_argument, NULL, O_RULES },
	{ "no-bundled-rules", no_argument, NULL, O_NORULES },
	{ "no-prefilter", no_argument, NULL, O_NOPF },
	{ "file-timeout", required_argument, NULL, O_FTO },
	{ "cache", required_argument, NULL, O_CACHE },
	{ "no-cache", no_argument, NULL, O_NOCACHE },
	{ "cache-max", required_argument, NULL, O_CACHEMAX },
	{ "attest", no_argument, NULL, O_ATTEST },
	{ "dynamic", no_argument, NULL, O_DYNAMIC },
	{ "dynamic-timeout", required_argument, NULL, O_DYNTO },
	{ "key", required_argument, NULL, O_KEY },
	{ "password-file", required_argument, NULL, O_PWFILE },
	CLI_REGISTRY_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

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
	sw_scan_opts so;
	sw_image_opts io;
	sw_severity fail_on;
	const char *format, *output;
	const char **iocs, **rdirs;
	size_t niocs, nrdirs;
	bool quiet;
	cli_registry reg;
	const char *cache, *keyfile, *pwfile;
	bool no_cache, attest, dynamic;
	sw_detonate_opts dopts;
} scan_args;

/* What a owns (cache_default: see scan_settings; may be NULL). */
static void scan_args_release(scan_args *a, char *cache_default)
{
	free(a->iocs);
	free(a->rdirs);
	free(cache_default);
	cli_registry_free(&a->reg);
}

/* --max-* and --timeout into lim: -1 taken, else the exit code of a bad
 * value (reported). */
static int limit_option(sw_limits *lim, int c)
{
	uint64_t v;

	switch (c) {
	case O_MFS:
		if (cli_parse_size(optarg, &lim->max_file_size) < 0)
			return cli_bad("--max-file-size", optarg);
		break;
	case O_MIS:
		if (cli_parse_size(optarg, &lim->max_image_bytes) < 0)
			return cli_bad("--max-image-size", optarg);
		break;
	case O_ME:
		if (cli_parse_uint(optarg, UINT32_MAX, &lim->max_entries) < 0)
			return cli_bad("--max-entries", optarg);
		break;
	case O_MR:
		if (cli_parse_uint(optarg, 1000000, &v) < 0 || v == 0)
			return cli_bad("--max-ratio", optarg);
		lim->max_ratio = (uint32_t)v;
		break;
	case O_MP:
		if (cli_parse_uint(optarg, 65536, &v) < 0 || v < 16)
			return cli_bad("--max-path", optarg);
		lim->max_path = (uint32_t)v;
		break;
	case O_MD:
		if (cli_parse_uint(optarg, 64, &v) < 0)
			return cli_bad("--max-depth", optarg);
		lim->max_depth = (uint32_t)v;
		break;
	case O_TO:
		if (cli_parse_uint(optarg, 86400 * 7, &v) < 0 || v == 0)
			return cli_bad("--timeout", optarg);
		lim->timeout = (double)v;
		break;
	}
	return -1;
}

/* One option (c, with optarg) into a: -1 taken, else the exit code to
 * return (--help, a bad value). */
static int scan_option(scan_args *a, int c)
{
	uint64_t v;

	switch (c) {
	case O_FORMAT: case 'f':
		if (strcmp(optarg, "table") != 0 && strcmp(optarg, "json") != 0 &&
		    strcmp(optarg, "sarif") != 0)
			return cli_bad("--format", optarg);
		a->format = optarg;
		break;
	case O_OUTPUT: case 'o': a->output = optarg; break;
	case O_FAILON:
		if (sw_severity_parse(optarg, &a->fail_on) < 0)
			return cli_bad("--fail-on", optarg);
		break;
	case O_PLATFORM: a->io.platform = optarg; break;
	case O_JOBS: case 'j':
		if (cli_parse_uint(optarg, 1024, &v) < 0 || v == 0)
			return cli_bad("--jobs", optarg);
		a->so.jobs = (unsigned)v;
		break;
	case O_IOC:
		if (cli_push(&a->iocs, &a->niocs, optarg) < 0)
			return EXIT_ERROR;
		break;
	case O_RULES:
		if (cli_push(&a->rdirs, &a->nrdirs, optarg) < 0)
			return EXIT_ERROR;
		break;
	case O_NORULES: a->so.no_bundled_rules = true; break;
	case O_NOPF: a->so.no_prefilter = true; break;
	case O_CACHE: a->cache = optarg; break;
	case O_ATTEST: a->attest = true; break;
	case O_DYNAMIC: a->dynamic = true; break;
	case O_DYNTO:
		if (cli_parse_uint(optarg, 86400, &v) < 0 || v == 0)
			return cli_bad("--dynamic-timeout", optarg);
		a->dopts.timeout = (unsigned)v;
		break;
	case O_KEY: a->keyfile = optarg; break;
	case O_PWFILE: a->pwfile = optarg; break;
	case O_NOCACHE: a->no_cache = true; break;
	case O_CACHEMAX:
		if (cli_parse_size(optarg, &v) < 0 || v == 0)
			return cli_bad("--cache-max", optarg);
		a->so.layer_cache_max = v;
		break;
	case O_FTO:
		if (cli_parse_uint(optarg, 3600, &v) < 0 || v == 0)
			return cli_bad("--file-timeout", optarg);
		a->so.file_timeout = (int)v;
		break;
	case O_NOIOC: a->so.no_bundled_ioc = true; break;
	case O_QUIET: case 'q': a->quiet = true; break;
	case O_MFS: case O_MIS: case O_ME: case O_MR: case O_MP: case O_MD: case O_TO:
		return limit_option(&a->so.limits, c);
	case O_HELP:
		fputs(scan_help, stdout);
		return EXIT_CLEAN;
	default: {
		int r = cli_registry_opt(&a->reg, c, optarg);
		if (r > 0)
			break;
		if (r == 0)
			fputs(scan_help, stderr);
		scan_args_release(a, NULL);
		return EXIT_ERROR;
	}
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
		a->so.layer_cache = a->cache ? a->cache : (*cache_default = sw_cache_default_path());
	a->so.ioc_files = a->iocs;
	a->so.n_ioc_files = a->niocs;
	a->so.rule_dirs = a->rdirs;
	a->so.n_rule_dirs = a->nrdirs;
	if (!a->quiet && isatty(STDERR_FILENO))
		a->so.progress = on_progress;
	if (!a->format)
		a->format = !a->output && isatty(STDOUT_FILENO) ? "table" : "json";
	return strcmp(a->format, "sarif") == 0 ? SW_FMT_SARIF :
	       strcmp(a->format, "json") == 0 ? SW_FMT_JSON : SW_FMT_TABLE;
}

/* Where the reports go: *out (--output, else stdout) and, for SARIF, room
 * for every report (*reps). -1 to go on, else the exit code. */
static int open_output(scan_args *a, sw_format fmt, int nimages, char *cache_default,
		       sw_report ***reps, FILE **out)
{
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
	if (a->output && !(*out = fopen(a->output, "w"))) {
		cli_error("--output %s: cannot open for writing", a->output);
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
 * registry repository, or in its OCI layout (as cosign save keeps them).
 * false on failure (reported). */
static bool attest_one(const scan_args *a, const char *arg, const sw_image *img, sw_privkey *akey,
		       const sw_report *rep, sw_error *err)
{
	char dg[80], where[4200];

	if (sw_image_kind(img) != SW_SRC_REGISTRY && sw_image_kind(img) != SW_SRC_OCI) {
		cli_error("%s: --attest attaches to a registry image or an OCI layout (oci:DIR): an archive or a "
			  "directory has no place for it", arg);
		return false;
	}
	/* a layout named by its bare path is still oci: to the signature store */
	snprintf(where, sizeof(where), "%s%s", sw_image_kind(img) == SW_SRC_OCI && strncmp(arg, "oci:", 4) != 0 ?
		 "oci:" : "", arg);
	if (sw_attest_image(where, &a->io, akey, rep, dg, sizeof(dg), err) < 0) {
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
static int scan_one(scan_args *a, const char *arg, sw_format fmt, FILE *out, sw_privkey *akey,
		    sw_report **reps, size_t *nreps, int worst)
{
	sw_error err = SW_ERROR_INIT;
	sw_image *img = NULL;
	sw_report *rep = NULL;
	sw_severity max;
	bool dyn_failed = false;
	int rc = sw_image_open(&img, arg, &a->io, &err);

	if (rc == 0)
		rc = sw_scan_image(img, &a->so, &rep, &err);
	if (rc == 0 && a->dynamic)
		rc = run_dynamic(a, img, rep, arg, &dyn_failed, &err);
	if (a->so.progress)
		fputs("\r\033[K", stderr);
	if (rc == 0 && fmt != SW_FMT_SARIF)
		rc = sw_report_write(rep, fmt, !a->output && isatty(STDOUT_FILENO), out, &err);
	if (rc < 0) {
		cli_error("%s: %s", arg, err.msg);
		worst = EXIT_ERROR;
	} else if (dyn_failed) {
		worst = EXIT_ERROR;
	} else if (sw_report_max_severity(rep, &max) && max >= a->fail_on && worst != EXIT_ERROR) {
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
	if (a->output && fclose(out) != 0) {
		cli_error("--output %s: write failed", a->output);
		worst = EXIT_ERROR;
	}
	return worst;
}

int cmd_scan(int argc, char **argv)
{
	scan_args a = { .so = SW_SCAN_OPTS_INIT, .io = SW_IMAGE_OPTS_INIT, .fail_on = SW_SEV_HIGH,
			.dopts = SW_DETONATE_OPTS_INIT };
	sw_report **reps = NULL; /* SARIF: every report, written at the end */
	size_t nreps = 0;
	sw_format fmt;
	FILE *out = stdout;
	char *cache_default = NULL;
	sw_privkey *akey = NULL;
	int c, i, rc, worst = EXIT_CLEAN;

	cli_registry_init(&a.reg, &a.io);
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:f:j:q", longopts, NULL)) != -1)
		if ((rc = scan_option(&a, c)) >= 0)
			return rc;
	if (optind >= argc) {
		cli_error("scan: no image given (try 'stowaway scan --help')");
		cli_registry_free(&a.reg);
		return EXIT_ERROR;
	}
	if (a.attest && (rc = attest_key(&a, &akey)) >= 0)
		return rc;
	fmt = scan_settings(&a, &cache_default);
	if ((rc = open_output(&a, fmt, argc - optind, cache_default, &reps, &out)) >= 0)
		return rc;
	for (i = optind; i < argc; i++)
		worst = scan_one(&a, argv[i], fmt, out, akey, reps, &nreps, worst);
	worst = scan_finish(&a, reps, nreps, out, worst);
	sw_privkey_free(akey);
	scan_args_release(&a, cache_default);
	return worst;
}
