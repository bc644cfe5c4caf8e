/* SPDX-License-Identifier: Apache-2.0 */
/* stowaway verify --key K IMAGE: cosign keyed signatures of a registry image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stowaway/stowaway.h"
#include "cli.h"

static const char *status_str(sw_sig_status s)
{
	static const char *const n[] = { "valid", "bad-signature", "wrong-digest", "wrong-identity", "malformed",
					 "bad-rekor-set", "other-type" };
	return (unsigned)s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

/* The options both verbs share (--key, the registry's, the shared ones),
 * then the check that images and keys are there and the keys load. Calls
 * other(ctx, c) for the rest (0 taken, -1 bad value: said). -1 to go on
 * (*pk loaded), else the exit code. */
static int parse(cli_args *a, const char *name, int argc, char **argv, cli_registry *reg, const char ***keys,
		 size_t *nkeys, int (*other)(void *ctx, int c), void *ctx, const sw_bundle_want *keyless, sw_pubkeys **pk)
{
	sw_error err = SW_ERROR_INIT;
	int c;

	if (cli_args_init(a, name) < 0)
		return EXIT_ERROR;
	a->reg = reg;
	while ((c = cli_next(a, argc, argv)) > 0) {
		if (c == CLI_O_KEY) {
			if (cli_push(keys, nkeys, optarg) < 0)
				return EXIT_ERROR;
		} else if (other(ctx, c) < 0) {
			return EXIT_ERROR;
		}
	}
	if (c < 0)
		return a->status;
	if (keyless && (keyless->identity || keyless->identity_regexp || keyless->issuer || keyless->issuer_regexp) &&
	    (!(keyless->identity || keyless->identity_regexp) || !(keyless->issuer || keyless->issuer_regexp))) {
		cli_error("%s: keyless: both --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]",
			  name);
		return EXIT_ERROR;
	}
	if (a->nops == 0 || (!*nkeys && !(keyless && keyless->identity_regexp) && !(keyless && keyless->identity))) {
		cli_error("%s: expected --key FILE%s and at least one IMAGE (try 'stowaway %s --help')", name,
			  keyless ? " (or --certificate-identity ID --certificate-oidc-issuer URL)" : "", name);
		return EXIT_ERROR;
	}
	if (*nkeys && sw_pubkeys_load(pk, *keys, *nkeys, &err) < 0) {
		cli_error("%s", err.msg);
		return EXIT_ERROR;
	}
	return -1;
}

typedef struct verify_args {
	sw_identity_rule rule;
	sw_bundle_want keyless;
	const char *root;
} verify_args;

static int identity_opt(void *ctx, int c)
{
	verify_args *v = ctx;
	sw_identity_rule *rule = &v->rule;

	switch (c) {
	case CLI_O_CERTID: v->keyless.identity = optarg; return 0;
	case CLI_O_CERTIDRE: v->keyless.identity_regexp = optarg; return 0;
	case CLI_O_CERTISS: v->keyless.issuer = optarg; return 0;
	case CLI_O_CERTISSRE: v->keyless.issuer_regexp = optarg; return 0;
	case CLI_O_TRUSTROOT: v->root = optarg; return 0;
	default: break;
	}
	if (c != CLI_O_IDENTITY)
		return 0;
	if (strcmp(optarg, "any") == 0)
		*rule = SW_IDENTITY_ANY;
	else if (strcmp(optarg, "repository") == 0)
		*rule = SW_IDENTITY_REPOSITORY;
	else if (strcmp(optarg, "exact") == 0)
		*rule = SW_IDENTITY_EXACT;
	else {
		cli_error("--identity: \"%s\" is not any, repository or exact", optarg);
		return -1;
	}
	return 0;
}

int cmd_verify(int argc, char **argv)
{
	sw_image_opts io = SW_IMAGE_OPTS_INIT;
	cli_registry reg;
	cli_args a;
	const char **keys = NULL;
	size_t nkeys = 0;
	verify_args va = { SW_IDENTITY_ANY, SW_BUNDLE_WANT_INIT, NULL };
	sw_trustroot *tr = NULL;
	sw_pubkeys *pk = NULL;
	sw_json_out *jo = NULL;
	sw_error err = SW_ERROR_INIT;
	FILE *out = NULL;
	int i, rc = EXIT_CLEAN;
	bool json, unsigned_one = false;

	cli_registry_init(&reg, &io);
	if ((rc = parse(&a, "verify", argc, argv, &reg, &keys, &nkeys, identity_opt, &va, &va.keyless, &pk)) >= 0)
		goto out;
	if ((va.root || va.keyless.identity || va.keyless.identity_regexp) &&
	    sw_trustroot_load(va.root, &tr, &err) < 0) {
		cli_error("%s", err.msg);
		rc = EXIT_ERROR;
		goto out;
	}
	rc = EXIT_CLEAN;
	if (!(out = cli_open(&a))) {
		rc = EXIT_ERROR;
		goto out;
	}
	argv = a.ops;
	argc = a.nops;
	json = cli_format(&a) == SW_FMT_JSON;
	if (json)
		jo = cli_json_begin("stowaway.verify/v1", "results");
	for (i = 0; i < argc; i++) {
		sw_sig_result *res = NULL;
		size_t n = 0, k;
		char digest[80] = "";
		sw_identity id = { va.rule, NULL, NULL };
		sw_sig_check chk = { pk, NULL, &id, va.keyless.identity || va.keyless.identity_regexp ? &va.keyless : NULL,
				     tr };
		int v = sw_verify_image(argv[i], &io, &chk, digest, sizeof(digest), &res, &n, &err);
		if (v < 0) {
			cli_error("%s: %s", argv[i], err.msg);
			rc = EXIT_ERROR;
			continue;
		}
		if (v == 0)
			unsigned_one = true;
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
			cli_line(out, "%-8s %s@%s  (%d of %zu signature%s valid)", v > 0 ? "VERIFIED" : "UNSIGNED", argv[i],
				 digest, v, n, n == 1 ? "" : "s");
			for (k = 0; k < n; k++)
				cli_line(out, "    %-14s %s%s", status_str(res[k].status), res[k].reason,
					 res[k].rekor_bundle ? " (Rekor bundle present, not checked: offline)" : "");
		}
		free(res);
	}
	if (rc == EXIT_CLEAN)
		rc = cli_judged(&a, unsigned_one);
	if (json)
		rc = cli_json_end(jo, out, rc);
	rc = cli_close(&a, out, rc);
out:
	sw_trustroot_free(tr);
	sw_pubkeys_free(pk);
	free(keys);
	cli_registry_free(&reg);
	cli_args_release(&a);
	return rc;
}

/* The verdict's rank; anything unknown ranks above malicious. */
static int verdict_rank(const char *v)
{
	sw_verdict x;

	return sw_verdict_parse(v, &x) == 0 ? (int)x : SW_VERDICT_MALICIOUS + 1;
}

typedef struct vatt_args {
	const char *verdict;       /* NULL: not asked (any) */
	double max_age;            /* seconds; 0: any age */
	const char *type;          /* --type as given; NULL: stowaway's */
	verify_args keyless;       /* --certificate-*, --trusted-root */
} vatt_args;

static int vatt_opt(void *ctx, int c)
{
	vatt_args *v = ctx;

	if (c == CLI_O_VERDICT) {
		if (verdict_rank(optarg) > 2) {
			cli_error("--verdict: \"%s\" is not clean, suspicious or malicious", optarg);
			return -1;
		}
		v->verdict = optarg;
	} else if (c == CLI_O_MAXAGE) {
		/* a bare number is days; 0 is any age */
		if (strcmp(optarg, "0") == 0)
			v->max_age = 0;
		else if (cli_parse_duration(optarg, 86400, 100000.0 * 86400, &v->max_age) < 0) {
			cli_error("--max-age: \"%s\" is not a duration (7 days: 7 or 7d; 12h, 90m)", optarg);
			return -1;
		}
	} else if (c == CLI_O_TYPE) {
		v->type = optarg;
	} else {
		return identity_opt(&v->keyless, c);
	}
	return 0;
}

/* --type: cosign's names for predicate types, stowaway's own, or a URI
 * (an absolute one, as cosign takes it); NULL when it is none of them. */
static const char *predicate_uri(const char *type)
{
	static const char *const names[][2] = {
		{ "stowaway", SW_ATTEST_PREDICATE },
		{ "custom", "https://cosign.sigstore.dev/attestation/v1" },
		{ "slsaprovenance", "https://slsa.dev/provenance/v0.2" },
		{ "slsaprovenance02", "https://slsa.dev/provenance/v0.2" },
		{ "slsaprovenance1", "https://slsa.dev/provenance/v1" },
		{ "link", "https://in-toto.io/Link/v1" },
		{ "spdx", "https://spdx.dev/Document" },
		{ "spdxjson", "https://spdx.dev/Document" },
		{ "cyclonedx", "https://cyclonedx.org/bom" },
		{ "vuln", "https://cosign.sigstore.dev/attestation/vuln/v1" },
		{ "openvex", "https://openvex.dev/ns" },
	};
	size_t i, scheme;

	if (!type)
		return SW_ATTEST_PREDICATE;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(type, names[i][0]) == 0)
			return names[i][1];
	scheme = strspn(type, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
	if (scheme && ((type[0] >= 'a' && type[0] <= 'z') || (type[0] >= 'A' && type[0] <= 'Z')) &&
	    type[scheme] == ':' && type[scheme + 1] && strlen(type) < 256 && !strpbrk(type, " \t\r\n"))
		return type;
	return NULL;
}

/* Why attestation r does not pass (NULL: it passes), in buf if made up:
 * the verdict and the age are stowaway's scan predicate's. */
static const char *vatt_why(const vatt_args *v, const sw_att_result *r, long long now, char *buf, size_t n)
{
	if (r->status != SW_SIG_VALID)
		return r->reason;
	if (strcmp(r->predicate_type, SW_ATTEST_PREDICATE) != 0)
		return NULL;
	if (v->verdict && verdict_rank(r->verdict) > verdict_rank(v->verdict)) {
		snprintf(buf, n, "verdict %s is worse than %s", r->verdict, v->verdict);
		return buf;
	}
	if (v->max_age > 0 && (double)(now - r->scanned_at) > v->max_age) {
		snprintf(buf, n, "scanned %lld days ago, more than %g", (now - r->scanned_at) / 86400, v->max_age / 86400);
		return buf;
	}
	return NULL;
}

static void vatt_json(sw_json_out *jo, const char *image, const char *digest, const sw_att_result *res, size_t n,
		      const char *const *why, size_t passing)
{
	size_t k;

	sw_json_out_obj(jo);
	sw_json_out_key(jo, "image");
	sw_json_out_str(jo, image);
	sw_json_out_key(jo, "digest");
	sw_json_out_str(jo, digest);
	sw_json_out_key(jo, "attested");
	sw_json_out_bool(jo, passing > 0);
	sw_json_out_key(jo, "attestations");
	sw_json_out_arr(jo);
	for (k = 0; k < n; k++) {
		sw_json_out_obj(jo);
		sw_json_out_key(jo, "status");
		sw_json_out_str(jo, status_str(res[k].status));
		sw_json_out_key(jo, "passes");
		sw_json_out_bool(jo, why[k] == NULL);
		sw_json_out_key(jo, "reason");
		sw_json_out_str(jo, why[k] ? why[k] : res[k].reason);
		sw_json_out_key(jo, "format");
		sw_json_out_str(jo, res[k].format == SW_ATT_BUNDLE ? "bundle" : "legacy");
		sw_json_out_key(jo, "predicate_type");
		sw_json_out_str(jo, res[k].predicate_type);
		sw_json_out_key(jo, "signer");
		sw_json_out_str(jo, res[k].signer);
		sw_json_out_key(jo, "verdict");
		sw_json_out_str(jo, res[k].verdict);
		sw_json_out_key(jo, "scanned_at");
		sw_json_out_int(jo, res[k].scanned_at);
		sw_json_out_end(jo);
	}
	sw_json_out_end(jo);
	sw_json_out_end(jo);
}

/* One image's attestations, printed; -1 on error (said), else how many pass. */
static long vatt_one(const vatt_args *v, const char *image, const sw_image_opts *io, const sw_att_check *ac, FILE *out,
		     sw_json_out *jo, bool json)
{
	sw_att_result *res = NULL;
	sw_error err = SW_ERROR_INIT;
	size_t n = 0, k, passing = 0;
	char digest[80] = "", (*bufs)[400] = NULL;
	const char **why = NULL;
	long long now = (long long)time(NULL);

	if (sw_verify_attestations(image, io, ac, digest, sizeof(digest), &res, &n, &err) < 0) {
		cli_error("%s: %s", image, err.msg);
		return -1;
	}
	if (n && (!(bufs = calloc(n, sizeof(*bufs))) || !(why = calloc(n, sizeof(*why))))) {
		cli_error("out of memory");
		free(bufs);
		free(res);
		return -1;
	}
	for (k = 0; k < n; k++)
		if (!(why[k] = vatt_why(v, &res[k], now, bufs[k], sizeof(bufs[k]))))
			passing++;
	if (json) {
		vatt_json(jo, image, digest, res, n, why, passing);
	} else {
		for (k = 0; k < n; k++)
			cli_line(out, "    %s %-6s %s%s%s", why[k] ? "no  " : "ok  ",
				 res[k].format == SW_ATT_BUNDLE ? "bundle" : "legacy", why[k] ? why[k] : res[k].reason,
				 res[k].signer[0] ? ", keyless: " : "", res[k].signer);
		cli_line(out, "%s %s@%s  (%zu of %zu attestations pass)", passing ? "ATTESTED" : "NOT-ATTESTED", image,
			 digest, passing, n);
	}
	free(why);
	free(bufs);
	free(res);
	return (long)passing;
}

/* After the options: --type known, the verdict's options only for
 * stowaway's predicate, the trusted root loaded when keyless asks. -1 to
 * go on, else the exit code. */
static int vatt_setup(vatt_args *v, sw_att_check *ac, sw_trustroot **tr)
{
	sw_error err = SW_ERROR_INIT;
	const sw_bundle_want *kl = &v->keyless.keyless;

	if (!(ac->predicate_type = predicate_uri(v->type))) {
		cli_error("--type: \"%s\" is neither a predicate type cosign names (custom, slsaprovenance, "
			  "slsaprovenance02, slsaprovenance1, link, spdx, spdxjson, cyclonedx, vuln, openvex), stowaway, "
			  "nor a URI", v->type);
		return EXIT_ERROR;
	}
	if ((v->verdict || v->max_age > 0) && strcmp(ac->predicate_type, SW_ATTEST_PREDICATE) != 0) {
		cli_error("--verdict and --max-age judge stowaway's scan verdicts, not %s", ac->predicate_type);
		return EXIT_ERROR;
	}
	if (kl->identity || kl->identity_regexp)
		ac->keyless = kl;
	if ((v->keyless.root || ac->keyless) && sw_trustroot_load(v->keyless.root, tr, &err) < 0) {
		cli_error("%s", err.msg);
		return EXIT_ERROR;
	}
	ac->trust_root = *tr;
	return -1;
}

int cmd_verify_attestation(int argc, char **argv)
{
	sw_image_opts io = SW_IMAGE_OPTS_INIT;
	cli_registry reg;
	cli_args a;
	vatt_args v = { NULL, 0, NULL, { SW_IDENTITY_ANY, SW_BUNDLE_WANT_INIT, NULL } };
	sw_att_check ac = SW_ATT_CHECK_INIT;
	const char **keys = NULL;
	size_t nkeys = 0;
	sw_trustroot *tr = NULL;
	sw_pubkeys *pk = NULL;
	sw_json_out *jo = NULL;
	FILE *out = NULL;
	int i, rc;
	bool json, failed = false;

	cli_registry_init(&reg, &io);
	if ((rc = parse(&a, "verify-attestation", argc, argv, &reg, &keys, &nkeys, vatt_opt, &v, &v.keyless.keyless,
			&pk)) >= 0 || (rc = vatt_setup(&v, &ac, &tr)) >= 0)
		goto out;
	ac.keys = pk;
	rc = EXIT_CLEAN;
	if (!(out = cli_open(&a))) {
		rc = EXIT_ERROR;
		goto out;
	}
	if ((json = cli_format(&a) == SW_FMT_JSON))
		jo = cli_json_begin("stowaway.verify-attestation/v1", "results");
	for (i = 0; i < a.nops; i++) {
		long passing = vatt_one(&v, a.ops[i], &io, &ac, out, jo, json);
		if (passing < 0)
			rc = EXIT_ERROR;
		else if (passing == 0)
			failed = true;
	}
	if (rc == EXIT_CLEAN)
		rc = cli_judged(&a, failed);
	if (json)
		rc = cli_json_end(jo, out, rc);
	rc = cli_close(&a, out, rc);
out:
	sw_trustroot_free(tr);
	sw_pubkeys_free(pk);
	free(keys);
	cli_registry_free(&reg);
	cli_args_release(&a);
	return rc;
}
