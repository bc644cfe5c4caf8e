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
	"compose files, a file or a directory tree, and checks every image they\n"
	"name, reporting file and line.\n"
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
} item;

static const char *kind_str(sw_reason_kind k)
{
	return k == SW_REASON_DENY ? "deny" : k == SW_REASON_WARN ? "warn" : "info";
}

/* Every line goes through cli_line: the image names come from manifests
 * and the reasons quote registries and scans. */
static void print_table(FILE *f, const sw_policy *pol, const item *it, const sw_check_result *r)
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

static void print_json(FILE *f, const sw_policy *pol, const item *it, const sw_check_result *r, bool first)
{
	size_t k;

	fputs(first ? "" : ",", f);
	fputs("{\"image\":", f);
	cli_json_str(f, it->image);
	fputs(",\"reference\":", f);
	cli_json_str(f, r->reference);
	if (r->digest[0]) {
		fputs(",\"digest\":", f);
		cli_json_str(f, r->digest);
	}
	if (it->file) {
		fputs(",\"source\":{\"file\":", f);
		cli_json_str(f, it->file);
		fprintf(f, ",\"line\":%d,\"where\":", it->line);
		cli_json_str(f, it->where);
		fputc('}', f);
	}
	fprintf(f, ",\"allowed\":%s,\"mode\":\"%s\",\"reasons\":[", r->d.allowed ? "true" : "false",
		r->d.enforce ? "enforce" : "warn");
	for (k = 0; k < r->d.nreasons; k++) {
		const sw_reason *rs = &r->d.reasons[k];
		fprintf(f, "%s{\"kind\":\"%s\",\"text\":", k ? "," : "", kind_str(rs->kind));
		cli_json_str(f, rs->text);
		if (rs->line) {
			fputs(",\"policy\":", f);
			cli_json_str(f, sw_policy_path(pol));
			fprintf(f, ",\"policy_line\":%d", rs->line);
		}
		fputc('}', f);
	}
	fputs("],\"not_checked\":[", f);
	for (k = 0; k < r->nunchecked; k++) {
		fputs(k ? "," : "", f);
		cli_json_str(f, r->unchecked[k]);
	}
	fputs("]}", f);
}

enum { O_POLICY = 256, O_FORMAT, O_MANIFESTS, O_RESOLVE, O_HELP, O_SCAN, O_NOSCAN };

static const struct option longopts[] = {
	{ "policy", required_argument, NULL, O_POLICY },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "manifests", no_argument, NULL, O_MANIFESTS },
	{ "resolve", no_argument, NULL, O_RESOLVE },
	{ "scan", no_argument, NULL, O_SCAN },
	{ "no-scan", no_argument, NULL, O_NOSCAN },
	{ "help", no_argument, NULL, O_HELP },
	CLI_REGISTRY_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

int cmd_check(int argc, char **argv)
{
	const char *policy = NULL, *format = NULL;
	bool manifests = false, bad = false, json;
	sw_policy *pol = NULL;
	sw_image_use **uses = NULL;
	size_t *nuses = NULL, nitems = 0, i, k, npaths = 0;
	item *items = NULL;
	int c, rc = EXIT_CLEAN;
	sw_image_opts io = SW_IMAGE_OPTS_INIT;
	sw_scan_opts so = SW_SCAN_OPTS_INIT;
	sw_check_opts co = SW_CHECK_OPTS_INIT;
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
				cli_registry_free(&reg);
				return EXIT_ERROR;
			}
			format = optarg;
			break;
		case O_MANIFESTS: manifests = true; break;
		case O_RESOLVE: co.resolve = true; break;
		case O_SCAN: co.scan_mode = SW_CHECK_SCAN_ALWAYS; break;
		case O_NOSCAN: co.scan_mode = SW_CHECK_SCAN_NEVER; break;
		case O_HELP: fputs(check_help, stdout); cli_registry_free(&reg); return EXIT_CLEAN;
		default: {
			int r = cli_registry_opt(&reg, c, optarg);
			if (r > 0)
				break;
			if (r == 0)
				fputs(check_help, stderr);
			cli_registry_free(&reg);
			return EXIT_ERROR;
		}
		}
	}
	if (optind >= argc) {
		fputs(check_help, stderr);
		cli_registry_free(&reg);
		return EXIT_ERROR;
	}
	if (policy) {
		sw_policy_problem *probs = NULL;
		size_t np = 0;
		sw_error err = SW_ERROR_INIT;
		int r = sw_policy_load(policy, &pol, &probs, &np, &err);
		free(probs);
		if (r < 0) {
			cli_error("%s%s", err.msg, np > 1 ? " (and more: run 'stowaway policy lint')" : "");
			cli_registry_free(&reg);
			return EXIT_ERROR;
		}
	} else if (sw_policy_default(&pol) < 0) {
		cli_error("out of memory");
		cli_registry_free(&reg);
		return EXIT_ERROR;
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
			if (sw_manifests_collect(argv[optind + (int)i], &uses[i], &nuses[i], &err) < 0) {
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
		}
	}
	/* the same limits and layer cache as `stowaway scan`: shared entries */
	so.layer_cache = cache = sw_cache_default_path();
	if (!format)
		format = isatty(STDOUT_FILENO) ? "table" : "json";
	json = strcmp(format, "json") == 0;
	if (json) {
		fputs("{\"schema\":\"stowaway.check/v1\",\"policy\":", stdout);
		cli_json_str(stdout, sw_policy_path(pol));
		fputs(",\"results\":[", stdout);
	}
	for (i = 0; i < nitems; i++) {
		sw_check_result r;
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
			print_json(stdout, pol, &items[i], &r, i == 0);
		else
			print_table(stdout, pol, &items[i], &r);
	}
	if (json)
		fputs("]}\n", stdout);
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
	free(cache);
	sw_policy_free(pol);
	cli_registry_free(&reg);
	return rc;
}
