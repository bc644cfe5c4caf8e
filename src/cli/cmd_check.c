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
#include <time.h>
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
	"Without --policy: look-alike names are denied, everything else allowed.\n"
	"  --resolve               ask the registry what each tag points to (digest)\n"
	"Exit 0 when every image is allowed, 1 when one is denied, 2 on error.\n"
	CLI_REGISTRY_HELP;

typedef struct item {
	const char *image;
	const char *file;   /* NULL for command-line images */
	int line;
	const char *where;
} item;

typedef struct result {
	char reference[800];
	char digest[80];        /* resolved from the registry, when asked */
	sw_decision d;
} result;

static const sw_image_opts *g_io;   /* registry options for this run */
static bool g_resolve;

static bool local_source(const char *s, const char **transport, const char **path)
{
	static const struct { const char *prefix, *transport; } src[] = {
		{ "oci:", "oci" }, { "oci-archive:", "oci-archive" },
		{ "docker-archive:", "docker-archive" }, { "dir:", "dir" },
	};
	size_t i;

	for (i = 0; i < sizeof(src) / sizeof(src[0]); i++)
		if (strncmp(s, src[i].prefix, strlen(src[i].prefix)) == 0) {
			*transport = src[i].transport;
			*path = s + strlen(src[i].prefix);
			return true;
		}
	return false;
}

/* Scan an image (local, or pulled from its registry as it streams) and
 * hold its worst finding against the policy. */
static void scan_image(const char *input, sw_decision *d, char *digest, size_t dn)
{
	sw_scan_opts so = SW_SCAN_OPTS_INIT;
	sw_image *img = NULL;
	sw_report *rep = NULL;
	sw_error err = SW_ERROR_INIT;
	sw_severity max;
	char *cache = sw_cache_default_path();   /* layers scanned before are not scanned again */

	so.layer_cache = cache;
	if (sw_image_open(&img, input, g_io, &err) < 0 || sw_scan_image(img, &so, &rep, &err) < 0) {
		sw_decision_add(d, SW_REASON_DENY, 0, "the policy requires a scan, which failed: %s", err.msg);
		sw_image_free(img);
		free(cache);
		return;
	}
	if (digest && sw_image_manifest_digest(img))
		snprintf(digest, dn, "%s", sw_image_manifest_digest(img));
	if (sw_report_max_severity(rep, &max) && (d->max_severity < 0 || (int)max > d->max_severity))
		sw_decision_add(d, SW_REASON_DENY, 0, "the scan found a %s finding; the policy allows at most %s",
				sw_severity_name(max),
				d->max_severity < 0 ? "none" : sw_severity_name((sw_severity)d->max_severity));
	else
		sw_decision_add(d, SW_REASON_INFO, 0, "scanned: no finding above what the policy allows");
	sw_report_free(rep);
	sw_image_free(img);
	free(cache);
}

/* The policy's keys: a cosign signature by one of them, for this digest,
 * under this repository's name. */
static void check_signature(const char *image, const char *transport, result *r)
{
	sw_pubkeys *pk = NULL;
	sw_sig_result *res = NULL;
	size_t n = 0, k;
	sw_error err = SW_ERROR_INIT;
	char digest[80] = "";
	int v;

	if (strcmp(transport, "docker") != 0) {
		sw_decision_add(&r->d, SW_REASON_DENY, 0,
				"the policy requires a signature; signatures live in a registry, next to the image: "
				"check the registry reference instead of a local copy");
		return;
	}
	if (sw_pubkeys_load(&pk, r->d.keys, r->d.nkeys, &err) < 0) {
		sw_decision_add(&r->d, SW_REASON_DENY, 0, "the policy's signature keys: %s", err.msg);
		return;
	}
	v = sw_verify_image(image, g_io, pk, SW_IDENTITY_REPOSITORY, digest, sizeof(digest), &res, &n, &err);
	if (v < 0)
		sw_decision_add(&r->d, SW_REASON_DENY, 0, "signature check failed: %s", err.msg);
	else if (v == 0 && n == 0)
		sw_decision_add(&r->d, SW_REASON_DENY, 0, "the policy requires a signature, and %s@%s has none", image,
				digest);
	else if (v == 0)
		for (k = 0; k < n && k < 4; k++)
			sw_decision_add(&r->d, SW_REASON_DENY, 0, "signature %zu of %zu does not count: %s", k + 1, n,
					res[k].reason);
	else
		sw_decision_add(&r->d, SW_REASON_INFO, 0, "signed: %d valid signature%s for %s", v, v == 1 ? "" : "s",
				digest);
	if (digest[0] && !r->digest[0])
		snprintf(r->digest, sizeof(r->digest), "%s", digest);
	free(res);
	sw_pubkeys_free(pk);
}

/* A stowaway scan verdict signed by one of the policy's keys, for this
 * digest, no worse and no older than the policy allows. */
static void check_attestation(const char *image, const char *transport, result *r)
{
	static const char *const names[] = { "clean", "suspicious", "malicious" };
	sw_pubkeys *pk = NULL;
	sw_att_result *res = NULL;
	size_t n = 0, k;
	sw_error err = SW_ERROR_INIT;
	char digest[80] = "";
	long long now = (long long)time(NULL);
	int v, ok = 0;

	if (strcmp(transport, "docker") != 0) {
		sw_decision_add(&r->d, SW_REASON_DENY, 0,
				"the policy requires a signed scan verdict, which lives in the registry next to the image");
		return;
	}
	if (sw_pubkeys_load(&pk, r->d.att_keys, r->d.natt_keys, &err) < 0) {
		sw_decision_add(&r->d, SW_REASON_DENY, 0, "the policy's attestation keys: %s", err.msg);
		return;
	}
	v = sw_verify_attestations(image, g_io, pk, digest, sizeof(digest), &res, &n, &err);
	for (k = 0; v > 0 && k < n; k++) {
		int rank = strcmp(res[k].verdict, "clean") == 0 ? 0 : strcmp(res[k].verdict, "suspicious") == 0 ? 1 : 2;
		if (res[k].status != SW_SIG_VALID || rank > r->d.att_verdict ||
		    (r->d.att_max_age_days && now - res[k].scanned_at > (long long)r->d.att_max_age_days * 86400))
			continue;
		ok = 1;
	}
	if (v < 0)
		sw_decision_add(&r->d, SW_REASON_DENY, 0, "attestation check failed: %s", err.msg);
	else if (!ok)
		sw_decision_add(&r->d, SW_REASON_DENY, 0,
				"no signed stowaway scan verdict of at most \"%s\"%s for %s (%zu attestation%s, %d valid)",
				names[r->d.att_verdict < 0 || r->d.att_verdict > 2 ? 2 : r->d.att_verdict],
				r->d.att_max_age_days ? " and recent enough" : "", digest, n, n == 1 ? "" : "s", v);
	else
		sw_decision_add(&r->d, SW_REASON_INFO, 0, "scanned and attested for %s", digest);
	free(res);
	sw_pubkeys_free(pk);
}

static void decide(const sw_policy *pol, const item *it, result *r, bool *bad_input)
{
	const char *transport = "docker", *path = NULL;
	sw_name_result nr;
	sw_error err = SW_ERROR_INIT;

	memset(r, 0, sizeof(*r));
	if (local_source(it->image, &transport, &path)) {
		sw_ref dummy;
		memset(&dummy, 0, sizeof(dummy));
		snprintf(r->reference, sizeof(r->reference), "%s", it->image);
		sw_policy_decide(pol, transport, &dummy, path, NULL, &r->d);
		if (r->d.need_scan)
			scan_image(it->image, &r->d, NULL, 0);
	} else if (sw_names_check(it->image, &nr, &err) < 0) {
		r->d.allowed = false;
		r->d.enforce = true;
		snprintf(r->reference, sizeof(r->reference), "%s", it->image);
		sw_decision_add(&r->d, SW_REASON_DENY, 0, "%s", err.msg);
		*bad_input = true;
		return;
	} else {
		sw_ref_format(&nr.ref, SW_REF_DEFAULT, r->reference, sizeof(r->reference));
		sw_policy_decide(pol, "docker", &nr.ref, NULL, &nr, &r->d);
		if (r->d.need_scan) {
			scan_image(it->image, &r->d, r->digest, sizeof(r->digest));
		} else if (g_resolve) {
			sw_image *img = NULL;
			if (sw_image_open(&img, it->image, g_io, &err) < 0)
				sw_decision_add(&r->d, SW_REASON_DENY, 0, "cannot resolve: %s", err.msg);
			else if (sw_image_manifest_digest(img))
				snprintf(r->digest, sizeof(r->digest), "%s", sw_image_manifest_digest(img));
			sw_image_free(img);
		}
	}
	if (r->d.need_signature)
		check_signature(it->image, transport, r);
	if (r->d.need_attestation)
		check_attestation(it->image, transport, r);
}

static const char *kind_str(sw_reason_kind k)
{
	return k == SW_REASON_DENY ? "deny" : k == SW_REASON_WARN ? "warn" : "info";
}

/* Every line goes through cli_line: the image names come from manifests
 * and the reasons quote registries and scans. */
static void print_table(FILE *f, const sw_policy *pol, const item *it, const result *r)
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
}

static void print_json(FILE *f, const sw_policy *pol, const item *it, const result *r, bool first)
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
	fputs("]}", f);
}

enum { O_POLICY = 256, O_FORMAT, O_MANIFESTS, O_RESOLVE, O_HELP };

static const struct option longopts[] = {
	{ "policy", required_argument, NULL, O_POLICY },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "manifests", no_argument, NULL, O_MANIFESTS },
	{ "resolve", no_argument, NULL, O_RESOLVE },
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
	cli_registry reg;

	cli_registry_init(&reg, &io);
	g_io = &io;
	g_resolve = false;
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
		case O_RESOLVE: g_resolve = true; break;
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
	if (!format)
		format = isatty(STDOUT_FILENO) ? "table" : "json";
	json = strcmp(format, "json") == 0;
	if (json) {
		fputs("{\"schema\":\"stowaway.check/v1\",\"policy\":", stdout);
		cli_json_str(stdout, sw_policy_path(pol));
		fputs(",\"results\":[", stdout);
	}
	for (i = 0; i < nitems; i++) {
		result r;
		bool bad_input = false;
		decide(pol, &items[i], &r, &bad_input);
		if (bad_input && !items[i].file)
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
	sw_policy_free(pol);
	cli_registry_free(&reg);
	return rc;
}
