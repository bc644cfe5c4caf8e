/* SPDX-License-Identifier: Apache-2.0 */
/* stowaway verify --key K IMAGE: cosign keyed signatures of a registry image. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

enum { O_KEY = 256, O_IDENTITY, O_FORMAT, O_HELP };

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
	static const char *const n[] = { "valid", "bad-signature", "wrong-digest", "wrong-identity", "malformed" };
	return (unsigned)s < 5 ? n[s] : "?";
}

int cmd_verify(int argc, char **argv)
{
	sw_image_opts io = SW_IMAGE_OPTS_INIT;
	cli_registry reg;
	const char **keys = NULL, *format = NULL;
	size_t nkeys = 0;
	sw_identity_rule rule = SW_IDENTITY_ANY;
	sw_pubkeys *pk = NULL;
	sw_error err = SW_ERROR_INIT;
	int c, i, rc = EXIT_CLEAN;
	bool json;

	cli_registry_init(&reg, &io);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		int r;
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
			if ((r = cli_registry_opt(&reg, c, optarg)) > 0)
				break;
			if (r == 0)
				fputs(verify_help, stderr);
			rc = EXIT_ERROR;
		}
		if (rc == EXIT_ERROR)
			goto out;
	}
	if (optind >= argc || !nkeys) {
		fputs(verify_help, stderr);
		rc = EXIT_ERROR;
		goto out;
	}
	if (sw_pubkeys_load(&pk, keys, nkeys, &err) < 0) {
		cli_error("%s", err.msg);
		rc = EXIT_ERROR;
		goto out;
	}
	json = format ? strcmp(format, "json") == 0 : !isatty(STDOUT_FILENO);
	if (json)
		fputs("{\"schema\":\"stowaway.verify/v1\",\"results\":[", stdout);
	for (i = optind; i < argc; i++) {
		sw_sig_result *res = NULL;
		size_t n = 0, k;
		char digest[80] = "";
		int v = sw_verify_image(argv[i], &io, pk, rule, digest, sizeof(digest), &res, &n, &err);
		if (v < 0) {
			cli_error("%s: %s", argv[i], err.msg);
			rc = EXIT_ERROR;
			continue;
		}
		if (v == 0 && rc == EXIT_CLEAN)
			rc = EXIT_FINDINGS;
		if (json) {
			printf("%s{\"image\":", i > optind ? "," : "");
			cli_json_str(stdout, argv[i]);
			printf(",\"digest\":");
			cli_json_str(stdout, digest);
			printf(",\"verified\":%s,\"signatures\":[", v > 0 ? "true" : "false");
			for (k = 0; k < n; k++) {
				printf("%s{\"status\":\"%s\",\"reason\":", k ? "," : "", status_str(res[k].status));
				cli_json_str(stdout, res[k].reason);
				printf(",\"identity\":");
				cli_json_str(stdout, res[k].identity);
				printf(",\"rekor_bundle\":%s}", res[k].rekor_bundle ? "true" : "false");
			}
			printf("]}");
		} else {
			printf("%-8s %s@%s  (%d of %zu signature%s valid)\n", v > 0 ? "VERIFIED" : "UNSIGNED", argv[i], digest, v,
			       n, n == 1 ? "" : "s");
			for (k = 0; k < n; k++)
				printf("    %-14s %s%s\n", status_str(res[k].status), res[k].reason,
				       res[k].rekor_bundle ? " (Rekor bundle present, not checked: offline)" : "");
		}
		free(res);
	}
	if (json)
		puts("]}");
out:
	sw_pubkeys_free(pk);
	free(keys);
	cli_registry_free(&reg);
	return rc;
}
