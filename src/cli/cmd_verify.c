/* SPDX-License-Identifier: Apache-2.0 */
/* stowaway verify --key K IMAGE: cosign keyed signatures of a registry image. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stowaway/stowaway.h"
#include "cli.h"

static const char verify_help[] =
	"usage: stowaway verify --key FILE [--key FILE]... [options] IMAGE...\n"
	"\n"
	"Verify cosign signatures (keyed, the sha256-<digest>.sig format cosign\n"
	"v1/v2 write, and v3 with --new-bundle-format=false): each signature in the\n"
	"image's repository is checked against the keys, its payload must name the\n"
	"image's digest. Offline: a Rekor bundle is reported, not required.\n"
	"  --key FILE              a PEM public key (cosign.pub); repeatable\n"
	"  --identity RULE         any (cosign's default), repository (the signed name\n"
	"                          is the image's repository) or exact (and its tag)\n"
	"  --format table|json\n"
	"Exit 0 when every image has a valid signature, 1 when one has none, 2 on error.\n"
	CLI_REGISTRY_HELP;

enum { O_KEY = 256, O_IDENTITY, O_FORMAT, O_HELP, O_VERDICT, O_MAXAGE };

static const struct option longopts[] = {
	{ "key", required_argument, NULL, O_KEY },
	{ "identity", required_argument, NULL, O_IDENTITY },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "help", no_argument, NULL, O_HELP },
	CLI_REGISTRY_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static const char *status_str(sw_sig_status s)
{
	static const char *const n[] = { "valid", "bad-signature", "wrong-digest", "wrong-identity", "malformed",
					 "bad-rekor-set" };
	return (unsigned)s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

/* The end of option parsing both verbs share: images and keys are there,
 * and the keys load. EXIT_CLEAN or EXIT_ERROR (reported). */
static int keys_and_images(int argc, const char **keys, size_t nkeys, const char *help, sw_pubkeys **pk)
{
	sw_error err = SW_ERROR_INIT;

	if (optind >= argc || !nkeys) {
		fputs(help, stderr);
		return EXIT_ERROR;
	}
	if (sw_pubkeys_load(pk, keys, nkeys, &err) < 0) {
		cli_error("%s", err.msg);
		return EXIT_ERROR;
	}
	return EXIT_CLEAN;
}

/* A registry option, or an unknown one (usage printed). */
static int other_opt(cli_registry *reg, int c, const char *help)
{
	int r = cli_registry_opt(reg, c, optarg);

	if (r > 0)
		return EXIT_CLEAN;
	if (r == 0)
		fputs(help, stderr);
	return EXIT_ERROR;
}

int cmd_verify(int argc, char **argv)
{
	sw_image_opts io = SW_IMAGE_OPTS_INIT;
	cli_registry reg;
	const char **keys = NULL, *format = NULL;
	size_t nkeys = 0;
	sw_identity_rule rule = SW_IDENTITY_ANY;
	sw_pubkeys *pk = NULL;
	sw_json_out *jo = NULL;
	sw_error err = SW_ERROR_INIT;
	int c, i, rc = EXIT_CLEAN;
	bool json;

	cli_registry_init(&reg, &io);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_KEY:
			if (cli_push(&keys, &nkeys, optarg) < 0)
				rc = EXIT_ERROR;
			break;
		case O_IDENTITY:
			if (strcmp(optarg, "any") == 0)
				rule = SW_IDENTITY_ANY;
			else if (strcmp(optarg, "repository") == 0)
				rule = SW_IDENTITY_REPOSITORY;
			else if (strcmp(optarg, "exact") == 0)
				rule = SW_IDENTITY_EXACT;
			else {
				cli_error("--identity: \"%s\" is not any, repository or exact", optarg);
				rc = EXIT_ERROR;
			}
			break;
		case O_FORMAT:
			if (strcmp(optarg, "table") && strcmp(optarg, "json")) {
				cli_error("--format: \"%s\" is not table or json", optarg);
				rc = EXIT_ERROR;
			}
			format = optarg;
			break;
		case O_HELP:
			fputs(verify_help, stdout);
			free(keys);
			cli_registry_free(&reg);
			return EXIT_CLEAN;
		default:
			rc = other_opt(&reg, c, verify_help);
		}
		if (rc == EXIT_ERROR)
			goto out;
	}
	if ((rc = keys_and_images(argc, keys, nkeys, verify_help, &pk)) != EXIT_CLEAN)
		goto out;
	json = format ? strcmp(format, "json") == 0 : !isatty(STDOUT_FILENO);
	if (json) {
		jo = sw_json_out_new();
		sw_json_out_obj(jo);
		sw_json_out_key(jo, "schema");
		sw_json_out_str(jo, "stowaway.verify/v1");
		sw_json_out_key(jo, "results");
		sw_json_out_arr(jo);
	}
	for (i = optind; i < argc; i++) {
		sw_sig_result *res = NULL;
		size_t n = 0, k;
		char digest[80] = "";
		sw_identity id = { rule, NULL, NULL };
		sw_sig_check chk = { pk, NULL, &id };
		int v = sw_verify_image(argv[i], &io, &chk, digest, sizeof(digest), &res, &n, &err);
		if (v < 0) {
			cli_error("%s: %s", argv[i], err.msg);
			rc = EXIT_ERROR;
			continue;
		}
		if (v == 0 && rc == EXIT_CLEAN)
			rc = EXIT_FINDINGS;
		if (json) {
			sw_json_out_obj(jo);
			sw_json_out_key(jo, "image");
			sw_json_out_str(jo, argv[i]);
			sw_json_out_key(jo, "digest");
			sw_json_out_str(jo, digest);
			sw_json_out_key(jo, "verified");
			sw_json_out_bool(jo, v > 0);
			sw_json_out_key(jo, "signatures");
			sw_json_out_arr(jo);
			for (k = 0; k < n; k++) {
				sw_json_out_obj(jo);
				sw_json_out_key(jo, "status");
				sw_json_out_str(jo, status_str(res[k].status));
				sw_json_out_key(jo, "reason");
				sw_json_out_str(jo, res[k].reason);
				sw_json_out_key(jo, "identity");
				sw_json_out_str(jo, res[k].identity);
				sw_json_out_key(jo, "rekor_bundle");
				sw_json_out_bool(jo, res[k].rekor_bundle);
				sw_json_out_end(jo);
			}
			sw_json_out_end(jo);
			sw_json_out_end(jo);
		} else {
			cli_line(stdout, "%-8s %s@%s  (%d of %zu signature%s valid)", v > 0 ? "VERIFIED" : "UNSIGNED", argv[i],
				 digest, v, n, n == 1 ? "" : "s");
			for (k = 0; k < n; k++)
				cli_line(stdout, "    %-14s %s%s", status_str(res[k].status), res[k].reason,
					 res[k].rekor_bundle ? " (Rekor bundle present, not checked: offline)" : "");
		}
		free(res);
	}
	if (json) {
		sw_json_out_end(jo);
		sw_json_out_end(jo);
		if (sw_json_out_finish(jo, stdout, &err) < 0) {
			cli_error("%s", err.msg);
			rc = EXIT_ERROR;
		}
	}
out:
	sw_pubkeys_free(pk);
	free(keys);
	cli_registry_free(&reg);
	return rc;
}

static const char vatt_help[] =
	"usage: stowaway verify-attestation --key FILE [--key FILE]... [--verdict V] [--max-age DAYS] IMAGE...\n"
	"\n"
	"Check the signed scan verdicts attached to registry images by 'stowaway scan\n"
	"--attest': signature (DSSE, in-toto statement) by one of the keys, subject\n"
	"= the image's digest, and optionally the verdict (at most V: clean,\n"
	"suspicious, malicious) and its age. Exit 0 when every image has one that\n"
	"passes, 1 when one has none, 2 on error.\n"
	CLI_REGISTRY_HELP;

/* The verdict's rank; anything unknown ranks above malicious. */
static int verdict_rank(const char *v)
{
	sw_verdict x;

	return sw_verdict_parse(v, &x) == 0 ? (int)x : SW_VERDICT_MALICIOUS + 1;
}

int cmd_verify_attestation(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "key", required_argument, NULL, O_KEY },
		{ "verdict", required_argument, NULL, O_VERDICT },
		{ "max-age", required_argument, NULL, O_MAXAGE },
		{ "help", no_argument, NULL, O_HELP },
		CLI_REGISTRY_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	sw_image_opts io = SW_IMAGE_OPTS_INIT;
	cli_registry reg;
	const char **keys = NULL, *verdict = "malicious";
	size_t nkeys = 0;
	uint64_t max_age = 0;
	sw_pubkeys *pk = NULL;
	sw_error err = SW_ERROR_INIT;
	int c, i, rc = EXIT_CLEAN;

	cli_registry_init(&reg, &io);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case O_KEY:
			if (cli_push(&keys, &nkeys, optarg) < 0)
				rc = EXIT_ERROR;
			break;
		case O_VERDICT:
			if (verdict_rank(optarg) > 2) {
				cli_error("--verdict: \"%s\" is not clean, suspicious or malicious", optarg);
				rc = EXIT_ERROR;
			}
			verdict = optarg;
			break;
		case O_MAXAGE:
			if (cli_parse_uint(optarg, 100000, &max_age) < 0) {
				cli_error("--max-age: \"%s\" is not a number of days", optarg);
				rc = EXIT_ERROR;
			}
			break;
		case O_HELP:
			fputs(vatt_help, stdout);
			goto out;
		default:
			rc = other_opt(&reg, c, vatt_help);
		}
		if (rc == EXIT_ERROR)
			goto out;
	}
	if ((rc = keys_and_images(argc, keys, nkeys, vatt_help, &pk)) != EXIT_CLEAN)
		goto out;
	for (i = optind; i < argc; i++) {
		sw_att_result *res = NULL;
		size_t n = 0, k, passing = 0;
		char digest[80] = "";
		long long now = (long long)time(NULL);
		if (sw_verify_attestations(argv[i], &io, pk, digest, sizeof(digest), &res, &n, &err) < 0) {
			cli_error("%s: %s", argv[i], err.msg);
			rc = EXIT_ERROR;
			continue;
		}
		for (k = 0; k < n; k++) {
			const char *why = res[k].reason;
			char buf[400];
			if (res[k].status == SW_SIG_VALID && verdict_rank(res[k].verdict) > verdict_rank(verdict)) {
				snprintf(buf, sizeof(buf), "verdict %s is worse than %s", res[k].verdict, verdict);
				why = buf;
			} else if (res[k].status == SW_SIG_VALID && max_age &&
				   now - res[k].scanned_at > (long long)max_age * 86400) {
				snprintf(buf, sizeof(buf), "scanned %lld days ago, more than %llu", (now - res[k].scanned_at) / 86400,
					 (unsigned long long)max_age);
				why = buf;
			} else if (res[k].status == SW_SIG_VALID) {
				passing++;
			}
			cli_line(stdout, "    %s %s", res[k].status == SW_SIG_VALID && why == res[k].reason ? "ok  " : "no  ", why);
		}
		cli_line(stdout, "%s %s@%s  (%zu of %zu attestations pass)", passing ? "ATTESTED" : "NOT-ATTESTED", argv[i],
			 digest, passing, n);
		if (!passing && rc == EXIT_CLEAN)
			rc = EXIT_FINDINGS;
		free(res);
	}
out:
	sw_pubkeys_free(pk);
	free(keys);
	cli_registry_free(&reg);
	return rc;
}
