/* SPDX-License-Identifier: Apache-2.0 */
/* stowaway verify-blob --bundle B (--key K | --certificate-identity ID
 * --certificate-oidc-issuer URL) [--trusted-root T] FILE|sha256:DIGEST:
 * a Sigstore bundle verified offline (the conformance suite's protocol). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stowaway/stowaway.h"
#include "cli.h"

typedef struct vblob {
	const char *bundle, *root;
	const char **keys;
	size_t nkeys;
	sw_bundle_want want;
} vblob;

static int vblob_parse(cli_args *a, vblob *v, int argc, char **argv)
{
	int c;

	if (cli_args_init(a, "verify-blob") < 0)
		return EXIT_ERROR;
	while ((c = cli_next(a, argc, argv)) > 0) {
		switch (c) {
		case CLI_O_BUNDLE: v->bundle = optarg; break;
		case CLI_O_TRUSTROOT: v->root = optarg; break;
		case CLI_O_CERTID: v->want.identity = optarg; break;
		case CLI_O_CERTIDRE: v->want.identity_regexp = optarg; break;
		case CLI_O_CERTISS: v->want.issuer = optarg; break;
		case CLI_O_CERTISSRE: v->want.issuer_regexp = optarg; break;
		case CLI_O_KEY:
			if (cli_push(&v->keys, &v->nkeys, optarg) < 0)
				return EXIT_ERROR;
			break;
		default: break;
		}
	}
	if (c < 0)
		return a->status;
	if (a->nops != 1 || !v->bundle) {
		cli_error("verify-blob: expected --bundle FILE and one FILE or sha256:DIGEST (try 'stowaway "
			  "verify-blob --help')");
		return EXIT_ERROR;
	}
	if (!v->nkeys && ((!v->want.identity && !v->want.identity_regexp) ||
			  (!v->want.issuer && !v->want.issuer_regexp))) {
		cli_error("verify-blob: expected --key FILE, or --certificate-identity[-regexp] and "
			  "--certificate-oidc-issuer[-regexp]");
		return EXIT_ERROR;
	}
	return -1;
}

int cmd_verify_blob(int argc, char **argv)
{
	vblob v = { .want = SW_BUNDLE_WANT_INIT };
	sw_error err = SW_ERROR_INIT;
	sw_trustroot *tr = NULL;
	sw_pubkeys *pk = NULL;
	sw_bundle_info info;
	cli_args a;
	FILE *out = NULL;
	int rc, vr;

	if ((rc = vblob_parse(&a, &v, argc, argv)) >= 0)
		goto done;
	if (v.nkeys && sw_pubkeys_load(&pk, v.keys, v.nkeys, &err) < 0) {
		cli_error("%s", err.msg);
		rc = EXIT_ERROR;
		goto done;
	}
	v.want.keys = pk;
	if (sw_trustroot_load(v.root, &tr, &err) < 0) {
		cli_error("%s", err.msg);
		rc = EXIT_ERROR;
		goto done;
	}
	vr = sw_bundle_verify_blob(tr, v.bundle, a.ops[0], &v.want, &info, &err);
	if (vr < 0 && vr != SW_EVERIFY) {
		cli_error("%s: %s", a.ops[0], err.msg);
		rc = EXIT_ERROR;
		goto done;
	}
	if (!(out = cli_open(&a))) {
		rc = EXIT_ERROR;
		goto done;
	}
	if (cli_format(&a) == SW_FMT_JSON) {
		sw_json_out *jo = sw_json_out_new();
		sw_json_out_obj(jo);
		sw_json_out_key(jo, "schema");
		sw_json_out_str(jo, "stowaway.verify-blob/v1");
		sw_json_out_key(jo, "artifact");
		sw_json_out_str(jo, a.ops[0]);
		sw_json_out_key(jo, "verified");
		sw_json_out_bool(jo, vr == 0);
		sw_json_out_key(jo, vr == 0 ? "identity" : "reason");
		sw_json_out_str(jo, vr == 0 ? info.identity : err.msg);
		if (vr == 0) {
			sw_json_out_key(jo, "issuer");
			sw_json_out_str(jo, info.issuer);
			sw_json_out_key(jo, "signed_at");
			sw_json_out_int(jo, info.signed_at);
			sw_json_out_key(jo, "dsse");
			sw_json_out_bool(jo, info.dsse);
		}
		sw_json_out_end(jo);
		rc = cli_json_finish(jo, out, cli_judged(&a, vr != 0));
	} else if (vr == 0) {
		cli_line(out, "VERIFIED %s  (%s%s%s%s)", a.ops[0], info.dsse ? "DSSE, " : "",
			 info.identity[0] ? info.identity : "key", info.issuer[0] ? " from " : "", info.issuer);
		rc = cli_judged(&a, false);
	} else {
		cli_line(out, "REFUSED  %s  %s", a.ops[0], err.msg);
		rc = cli_judged(&a, true);
	}
	rc = cli_close(&a, out, rc);
done:
	sw_trustroot_free(tr);
	sw_pubkeys_free(pk);
	free(v.keys);
	cli_args_release(&a);
	return rc;
}
