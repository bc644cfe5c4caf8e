/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stowaway check: may these images run? For each image (named on the
 * command line, or found in Dockerfiles, Kubernetes manifests and compose
 * files), apply the look-alike name check and the policy, and the scan and
 * signature the policy asks for; print the decision with every reason.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stowaway/stowaway.h"
#include "cli.h"

static const char check_help[] =
	"usage: stowaway check [--policy FILE] [--format table|json] IMAGE...\n"
	"       stowaway check [--policy FILE] [--format table|json] --manifests PATH...\n"
	"\n"
	"IMAGE: a registry reference (nginx:1.27, ghcr.io/org/app@sha256:...) or a\n"
	"local image (oci:DIR, oci-archive:FILE, docker-archive:FILE, dir:ROOTFS).\n"
	"--manifests reads Dockerfiles (FROM, COPY --from), Kubernetes YAML and\n"
	"compose files (a file, a directory tree, or - for standard input) and\n"
	"checks every image they name, reporting file and line. A file that cannot\n"
	"be read (a YAML error, a Helm template) is an error on its own line; the\n"
	"others are still checked. Compose ${VAR:-default} is expanded from the\n"
	"environment and the .env beside the file.\n"
	"  --skip-dirs GLOB        do not enter matching directories (repeatable)\n"
	"  --skip-files GLOB       do not read matching files (repeatable)\n"
	"Without --policy: look-alike names are denied, and a scan (of local images,\n"
	"or with --scan) denies a high or critical finding or an incomplete scan.\n"
	"Every decision lists what it did not check.\n"
	"  --scan                  scan registry images too (local images always are)\n"
	"  --no-scan               scan only where the policy requires it\n"
	"  --resolve               ask the registry what each tag points to (digest)\n"
	"Exit 0 when every image is allowed, 1 when one is denied, 2 on error.\n"
	CLI_REGISTRY_HELP;

typedef struct item {
	const char *image;
	const char *file;   /* NULL for command-line images */
	int line;
	const char *where;
	const char *error;  /* the file could not be read: no decision */
} item;

static const char *kind_str(sw_reason_kind k)
{
	return k == SW_REASON_DENY ? "deny" : k == SW_REASON_WARN ? "warn" : "info";
}

/* Every line goes through cli_line: the image names come from manifests
 * and the reasons quote registries and scans. */
static void print_decision(FILE *f, const sw_policy *pol, const item *it, const sw_check_result *r);

static void print_table(FILE *f, const sw_policy *pol, const item *it, const sw_check_result *r)
{
	if (it->error) {
		if (it->line)
			cli_line(f, "ERROR %s:%d: %s", it->file, it->line, it->error);
		else
			cli_line(f, "ERROR %s: %s", it->file, it->error);
		return;
	}
	print_decision(f, pol, it, r);
}

static void print_decision(FILE *f, const sw_policy *pol, const item *it, const sw_check_result *r)
{
	const char *verdict = r->d.allowed ? "ALLOW" : "DENY", *eq = r->digest[0] ? " = " : "";
	size_t k;

	if (it->file)
		cli_line(f, "%-5s %s%s%s  (%s:%d, %s)", verdict, it->image, eq, r->digest, it->file, it->line,
			 it->where);
	else
		cli_line(f, "%-5s %s%s%s", verdict, it->image, eq, r->digest);
	for (k = 0; k < r->d.nreasons; k++) {
		const sw_reason *rs = &r->d.reasons[k];
		if (rs->line)
			cli_line(f, "      %s: %s [%s:%d]", kind_str(rs->kind), rs->text, sw_policy_path(pol), rs->line);
		else
			cli_line(f, "      %s: %s", kind_str(rs->kind), rs->text);
	}
	for (k = 0; k < r->nunchecked; k++)
		cli_line(f, "      not checked: %s", r->unchecked[k]);
}

/* Where a manifest named the image (its "where" only for an image). */
static void json_source(sw_json_out *o, const item *it)
{
	sw_json_out_key(o, "source");
	sw_json_out_obj(o);
	sw_json_out_key(o, "file");
	sw_json_out_str(o, it->file);
	sw_json_out_key(o, "line");
	sw_json_out_int(o, it->line);
	if (!it->error) {
		sw_json_out_key(o, "where");
		sw_json_out_str(o, it->where);
	}
	sw_json_out_end(o);
}

static void print_json(sw_json_out *o, const sw_policy *pol, const item *it, const sw_check_result *r)
{
	size_t k;

	sw_json_out_obj(o);
	if (it->error) {
		json_source(o, it);
		sw_json_out_key(o, "error");
		sw_json_out_str(o, it->error);
		sw_json_out_end(o);
		return;
	}
	sw_json_out_key(o, "image");
	sw_json_out_str(o, it->image);
	sw_json_out_key(o, "reference");
	sw_json_out_str(o, r->reference);
	if (r->digest[0]) {
		sw_json_out_key(o, "digest");
		sw_json_out_str(o, r->digest);
	}
	if (it->file)
		json_source(o, it);
	sw_json_out_key(o, "allowed");
	sw_json_out_bool(o, r->d.allowed);
	sw_json_out_key(o, "mode");
	sw_json_out_str(o, r->d.enforce ? "enforce" : "warn");
	sw_json_out_key(o, "reasons");
	sw_json_out_arr(o);
	for (k = 0; k < r->d.nreasons; k++) {
		const sw_reason *rs = &r->d.reasons[k];
		sw_json_out_obj(o);
		sw_json_out_key(o, "kind");
		sw_json_out_str(o, kind_str(rs->kind));
		sw_json_out_key(o, "text");
		sw_json_out_str(o, rs->text);
		if (rs->line) {
			sw_json_out_key(o, "policy");
			sw_json_out_str(o, sw_policy_path(pol));
			sw_json_out_key(o, "policy_line");
			sw_json_out_int(o, rs->line);
		}
		sw_json_out_end(o);
	}
	sw_json_out_end(o);
	sw_json_out_key(o, "not_checked");
	sw_json_out_arr(o);
	for (k = 0; k < r->nunchecked; k++)
		sw_json_out_str(o, r->unchecked[k]);
	sw_json_out_end(o);
	sw_json_out_end(o);
}

enum { O_POLICY = 256, O_FORMAT, O_MANIFESTS, O_RESOLVE, O_HELP, O_SCAN, O_NOSCAN, O_SKIPDIRS, O_SKIPFILES };

static const struct option longopts[] = {
	{ "policy", required_argument, NULL, O_POLICY },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "manifests", no_argument, NULL, O_MANIFESTS },
	{ "resolve", no_argument, NULL, O_RESOLVE },
	{ "scan", no_argument, NULL, O_SCAN },
	{ "no-scan", no_argument, NULL, O_NOSCAN },
	{ "skip-dirs", required_argument, NULL, O_SKIPDIRS },
	{ "skip-files", required_argument, NULL, O_SKIPFILES },
	{ "help", no_argument, NULL, O_HELP },
	CLI_REGISTRY_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

int cmd_check(int argc, char **argv)
{
	const char *policy = NULL, *format = NULL;
	bool manifests = false, bad = false, json;
	sw_policy *pol = NULL;
	sw_json_out *jo = NULL;
	sw_image_use **uses = NULL;
	size_t *nuses = NULL, nitems = 0, i, k, npaths = 0;
	item *items = NULL;
	int c, rc = EXIT_CLEAN;
	sw_image_opts io = SW_IMAGE_OPTS_INIT;
	sw_scan_opts so = SW_SCAN_OPTS_INIT;
	sw_check_opts co = SW_CHECK_OPTS_INIT;
	sw_manifests_opts mo = { 0 };
	const char **skip_dirs = NULL, **skip_files = NULL;
	char *cache = NULL;
	cli_registry reg;

	cli_registry_init(&reg, &io);
	co.image = &io;
	co.scan = &so;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_POLICY: policy = optarg; break;
		case O_FORMAT:
			if (strcmp(optarg, "table") && strcmp(optarg, "json")) {
				cli_error("--format: \"%s\" is not table or json", optarg);
				rc = EXIT_ERROR;
				goto out;
			}
			format = optarg;
			break;
		case O_MANIFESTS: manifests = true; break;
		case O_RESOLVE: co.resolve = true; break;
		case O_SCAN: co.scan_mode = SW_CHECK_SCAN_ALWAYS; break;
		case O_NOSCAN: co.scan_mode = SW_CHECK_SCAN_NEVER; break;
		case O_SKIPDIRS:
		case O_SKIPFILES: {
			const char ***v = c == O_SKIPDIRS ? &skip_dirs : &skip_files;
			size_t *nv = c == O_SKIPDIRS ? &mo.nskip_dirs : &mo.nskip_files;
			const char **g = realloc(*v, (*nv + 1) * sizeof(**v));
			if (!g) {
				cli_error("out of memory");
				rc = EXIT_ERROR;
				goto out;
			}
			g[(*nv)++] = optarg;
			*v = g;
			break;
		}
		case O_HELP: fputs(check_help, stdout); rc = EXIT_CLEAN; goto out;
		default: {
			int r = cli_registry_opt(&reg, c, optarg);
			if (r > 0)
				break;
			if (r == 0)
				fputs(check_help, stderr);
			rc = EXIT_ERROR;
			goto out;
		}
		}
	}
	if (optind >= argc) {
		fputs(check_help, stderr);
		rc = EXIT_ERROR;
		goto out;
	}
	if (policy) {
		sw_policy_problem *probs = NULL;
		size_t np = 0;
		sw_error err = SW_ERROR_INIT;
		int r = sw_policy_load(policy, &pol, &probs, &np, &err);
		free(probs);
		if (r < 0) {
			cli_error("%s%s", err.msg, np > 1 ? " (and more: run 'stowaway policy lint')" : "");
			rc = EXIT_ERROR;
			goto out;
		}
	} else if (sw_policy_default(&pol) < 0) {
		cli_error("out of memory");
		rc = EXIT_ERROR;
		goto out;
	}
	npaths = (size_t)(argc - optind);
	if (manifests) {
		if (!(uses = calloc(npaths, sizeof(*uses))) || !(nuses = calloc(npaths, sizeof(*nuses)))) {
			cli_error("out of memory");
			rc = EXIT_ERROR;
			goto out;
		}
		for (i = 0; i < npaths; i++) {
			sw_error err = SW_ERROR_INIT;
			mo.skip_dirs = skip_dirs;
			mo.skip_files = skip_files;
			if (sw_manifests_collect(argv[optind + (int)i], &mo, &uses[i], &nuses[i], &err) < 0) {
				cli_error("%s", err.msg);
				rc = EXIT_ERROR;
				goto out;
			}
			nitems += nuses[i];
		}
	} else {
		nitems = npaths;
	}
	if (nitems && !(items = calloc(nitems, sizeof(*items)))) {
		cli_error("out of memory");
		rc = EXIT_ERROR;
		goto out;
	}
	nitems = 0;
	for (i = 0; i < npaths; i++) {
		if (!manifests) {
			items[nitems++].image = argv[optind + (int)i];
			continue;
		}
		for (k = 0; k < nuses[i]; k++) {
			item *it = &items[nitems++];
			it->image = uses[i][k].image;
			it->file = uses[i][k].file;
			it->line = uses[i][k].line;
			it->where = uses[i][k].where;
			it->error = uses[i][k].error;
		}
	}
	/* the same limits and layer cache as `stowaway scan`: shared entries */
	so.layer_cache = cache = sw_cache_default_path();
	if (!format)
		format = isatty(STDOUT_FILENO) ? "table" : "json";
	json = strcmp(format, "json") == 0;
	if (json) {
		/* written whole at the end: never half a document */
		jo = sw_json_out_new();
		sw_json_out_obj(jo);
		sw_json_out_key(jo, "schema");
		sw_json_out_str(jo, "stowaway.check/v1");
		sw_json_out_key(jo, "policy");
		sw_json_out_str(jo, sw_policy_path(pol));
		sw_json_out_key(jo, "results");
		sw_json_out_arr(jo);
	}
	for (i = 0; i < nitems; i++) {
		sw_check_result r;
		if (items[i].error) { /* the file's own line; the worst exit code */
			bad = true;
			if (json)
				print_json(jo, pol, &items[i], NULL);
			else
				print_table(stdout, pol, &items[i], NULL);
			continue;
		}
		if (sw_check(pol, items[i].image, &co, &r) < 0) {
			cli_error("out of memory");
			rc = EXIT_ERROR;
			break;
		}
		if (r.bad_input && !items[i].file)
			bad = true; /* a command-line typo is an error; a bad manifest line a denial */
		if (!r.d.allowed && rc == EXIT_CLEAN)
			rc = EXIT_FINDINGS;
		if (json)
			print_json(jo, pol, &items[i], &r);
		else
			print_table(stdout, pol, &items[i], &r);
	}
	if (json) {
		sw_error jerr = SW_ERROR_INIT;
		sw_json_out_end(jo);
		sw_json_out_end(jo);
		if (sw_json_out_finish(jo, stdout, &jerr) < 0) {
			cli_error("%s", jerr.msg);
			rc = EXIT_ERROR;
		}
	}
	if (manifests && nitems == 0)
		fprintf(stderr, "stowaway: no image references found\n");
	if (bad)
		rc = EXIT_ERROR;
out:
	for (i = 0; uses && i < npaths; i++)
		sw_image_uses_free(uses[i], nuses[i]);
	free(uses);
	free(nuses);
	free(items);
	free(skip_dirs);
	free(skip_files);
	free(cache);
	sw_policy_free(pol);
	cli_registry_free(&reg);
	return rc;
}
