/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stowaway check: may these images run? For each image (named on the
 * command line, or found in Dockerfiles, Kubernetes manifests and compose
 * files), apply the look-alike name check and the policy, and the scan and
 * signature the policy asks for; print the decision with every reason (a
 * table, JSON, or a page per image with the scan behind it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stowaway/stowaway.h"
#include "cli.h"

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

/* --format html: the decision's page, with the scan's report when there
 * was one and the signatures found next to the image. 0 or EXIT_ERROR. */
static int print_page(const cli_args *a, const item *it, sw_check_result *r, FILE *out, size_t i, size_t n,
		      const sw_image_opts *io)
{
	sw_source_kind kind;
	char *path = NULL, *sel = NULL;
	int rc;

	if (it->error) {
		if (it->line)
			cli_error("%s:%d: %s", it->file, it->line, it->error);
		else
			cli_error("%s: %s", it->file, it->error);
		return EXIT_ERROR;
	}
	if (!r->report) {
		cli_error("%s: out of memory", it->image);
		return EXIT_ERROR;
	}
	/* a registry is asked only when the decision asked it already (a
	 * digest known): a decision on the name alone stays offline */
	if (!r->bad_input && sw_image_classify(it->image, &kind, &path, &sel, NULL) == 0 &&
	    (kind != SW_SRC_REGISTRY || r->digest[0]) && cli_note_attachments(r->report, it->image, kind, io) < 0)
		rc = EXIT_ERROR;
	else
		rc = cli_write_page(a, r->report, out, i, n, it->image);
	free(path);
	free(sel);
	return rc;
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

int cmd_check(int argc, char **argv)
{
	const char *policy = NULL, *cache_flag = NULL;
	bool manifests = false, bad = false, denied = false, json, html, no_cache = false;
	cli_args a;
	FILE *out = NULL;
	char **ops;
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
	if (cli_args_init(&a, "check") < 0) {
		rc = EXIT_ERROR;
		goto out;
	}
	a.reg = &reg;
	while ((c = cli_next(&a, argc, argv)) > 0) {
		switch (c) {
		case CLI_O_POLICY: policy = optarg; break;
		case CLI_O_MANIFESTS: manifests = true; break;
		case CLI_O_RESOLVE: co.resolve = true; break;
		case CLI_O_PLATFORM: io.platform = optarg; break;
		case CLI_O_SCAN: co.scan_mode = SW_CHECK_SCAN_ALWAYS; break;
		case CLI_O_NOSCAN: co.scan_mode = SW_CHECK_SCAN_NEVER; break;
		case CLI_O_CACHE: cache_flag = optarg; break;
		case CLI_O_NOCACHE: no_cache = true; break;
		case CLI_O_SKIPDIRS:
		case CLI_O_SKIPFILES: {
			const char ***v = c == CLI_O_SKIPDIRS ? &skip_dirs : &skip_files;
			size_t *nv = c == CLI_O_SKIPDIRS ? &mo.nskip_dirs : &mo.nskip_files;
			if (cli_push(v, nv, optarg) < 0) {
				cli_error("out of memory");
				rc = EXIT_ERROR;
				goto out;
			}
			break;
		}
		}
	}
	if (c < 0) {
		rc = a.status;
		goto out;
	}
	if (a.nops == 0) {
		cli_error("check: no image given (try 'stowaway check --help')");
		rc = EXIT_ERROR;
		goto out;
	}
	ops = a.ops;
	if (!policy)
		policy = cli_setting(CLI_S_POLICY);
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
	npaths = (size_t)a.nops;
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
			if (sw_manifests_collect(ops[i], &mo, &uses[i], &nuses[i], &err) < 0) {
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
			items[nitems++].image = ops[i];
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
	if (!no_cache)
		so.layer_cache = cache = cli_cache_path(cache_flag);
	json = cli_format(&a) == SW_FMT_JSON;
	html = cli_format(&a) == SW_FMT_HTML;
	co.keep_report = html;
	if (html && cli_pages_check(&a, nitems) < 0) {
		rc = EXIT_ERROR;
		goto out;
	}
	if ((!html || nitems <= 1) && !(out = cli_open(&a))) {
		rc = EXIT_ERROR;
		goto out;
	}
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
			else if (html)
				print_page(&a, &items[i], NULL, out, i, nitems, &io);
			else
				print_table(out, pol, &items[i], NULL);
			continue;
		}
		if (sw_check(pol, items[i].image, &co, &r) < 0) {
			cli_error("out of memory");
			rc = EXIT_ERROR;
			break;
		}
		if (r.bad_input && !items[i].file)
			bad = true; /* a command-line typo is an error; a bad manifest line a denial */
		if (!r.d.allowed)
			denied = true;
		if (json)
			print_json(jo, pol, &items[i], &r);
		else if (html && print_page(&a, &items[i], &r, out, i, nitems, &io) != 0)
			bad = true;
		else if (!html)
			print_table(out, pol, &items[i], &r);
		sw_report_free(r.report);
	}
	if (rc == EXIT_CLEAN)
		rc = cli_judged(&a, denied);
	if (json)
		rc = cli_json_end(jo, out, rc);
	if (manifests && nitems == 0)
		fprintf(stderr, "stowaway: no image references found\n");
	if (bad)
		rc = EXIT_ERROR;
	rc = cli_close(&a, out, rc);
	out = NULL;
out:
	if (out && out != stdout)
		fclose(out);
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
	cli_args_release(&a);
	return rc;
}
