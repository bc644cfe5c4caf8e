/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admission decision (stowaway/check.h). One input is read the way
 * every command reads it (sw_image_classify), judged by the look-alike
 * names check and the policy, and then by what the policy requires: a scan
 * of the image (the same engine, limits and layer cache as `stowaway
 * scan`), a cosign signature by one of its keys, a signed stowaway scan
 * verdict. Each step that cannot finish adds a deny reason: nothing is
 * admitted because a check could not run.
 *
 * The CLI prints what this returns; the webhook and the registry gate
 * call the same function.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stowaway/check.h"
#include "stowaway/cache.h"
#include "stowaway/names.h"
#include "stowaway/sign.h"
#include "../report/report_int.h"
#include "../util/util.h"
#include "../util/banned.h"

static const char *transport_of(sw_source_kind k)
{
	switch (k) {
	case SW_SRC_OCI: return "oci";
	case SW_SRC_OCI_ARCHIVE: return "oci-archive";
	case SW_SRC_DOCKER_ARCHIVE: return "docker-archive";
	case SW_SRC_DIR: return "dir";
	default: return "docker";
	}
}

/* A local image's path as containers/image names it for its policy
 * scopes: absolute, cleaned, every symbolic link resolved; a last component
 * that does not exist is kept as written. malloc'd; NULL and errno. */
static char *resolve_local(const char *path)
{
	char *slash, *dir, *res, *out;

	if ((res = realpath(path, NULL)) || errno != ENOENT)
		return res;
	if (!(dir = sw__strdup(path)))
		return NULL;
	slash = strrchr(dir, '/');
	if (slash && slash[1] == '\0') {
		free(dir);
		errno = ENOENT;
		return NULL;
	}
	if (slash)
		*slash = '\0';
	res = realpath(slash ? (dir[0] ? dir : "/") : ".", NULL);
	out = res ? sw__asprintf("%s/%s", strcmp(res, "/") ? res : "", slash ? slash + 1 : path) : NULL;
	free(res);
	free(dir);
	return out;
}

/* The platform of the first finding of severity max, when the scan read
 * an index's platforms (NULL otherwise). */
static const char *worst_platform(const sw_report *rep, sw_severity max)
{
	size_t i;

	for (i = 0; i < sw_report_finding_count(rep); i++)
		if (sw_report_finding(rep, i)->severity == max)
			return sw_report_finding(rep, i)->platform;
	return NULL;
}

/* Hold a scan's worst finding against the policy's bound. A report of
 * every platform of an index (sw_scan_platforms) is judged by its worst
 * platform: a node runs one of them, but which one is not known when the
 * index is admitted, and a poisoned sibling means whoever built the index
 * was compromised. */
void sw_check_add_scan(sw_check_result *r, const sw_report *rep, const char *why)
{
	sw_decision *d = &r->d;
	sw_severity max;
	size_t i, n;

	r->scan_due = false;
	if (!rep) {
		sw_decision_add(d, SW_REASON_DENY, 0, "the policy requires a scan, which failed: %s", why ? why : "");
		return;
	}
	if (sw_report_incomplete_count(rep) > 0) /* fail closed: what was not read may be the payload */
		sw_decision_add(d, SW_REASON_DENY, 0, "the scan could not read all of the image (%zu incomplete, the first: %s)",
				sw_report_incomplete_count(rep), sw_report_incomplete(rep, 0)->reason);
	if (sw_report_max_severity(rep, &max) && (d->max_severity < 0 || (int)max > d->max_severity))
		sw_decision_add(d, SW_REASON_DENY, 0, "the scan found a %s finding%s%s%s; the policy allows at most %s",
				sw_severity_name(max), worst_platform(rep, max) ? " in its platform " : "",
				worst_platform(rep, max) ? worst_platform(rep, max) : "",
				worst_platform(rep, max) ? " (an index is judged by its worst platform)" : "",
				d->max_severity < 0 ? "none" : sw_severity_name((sw_severity)d->max_severity));
	else
		sw_decision_add(d, SW_REASON_INFO, 0, "scanned: no finding above what the policy allows");
	for (i = 0, n = 0; i < rep->nplats; i++)
		if (rep->plats[i].reason && n++ < 4) /* what a narrowed scan left out */
			sw_decision_add(d, SW_REASON_INFO, 0, "platform %s not scanned: %s", rep->plats[i].platform,
					rep->plats[i].reason);
}

/* Scan the image (local, or streamed from its registry; every platform
 * of an index) and hold its worst finding against the policy's bound. */
void sw_check_run_scan(const char *input, const sw_check_opts *o, sw_check_result *r)
{
	static const sw_check_opts defo = SW_CHECK_OPTS_INIT;
	sw_scan_opts so = SW_SCAN_OPTS_INIT;
	sw_image_opts io = SW_IMAGE_OPTS_INIT;
	sw_image *img = NULL;
	sw_report *rep = NULL;
	sw_error err = SW_ERROR_INIT;

	if (!o)
		o = &defo;
	if (o->scan)
		so = *o->scan;
	if (o->image)
		io = *o->image;
	io.any_platform = true; /* every platform of an index is scanned */
	so.progress = NULL;
	if (sw_image_open(&img, input, &io, &err) < 0 || sw_scan_platforms(img, &so, &rep, &err) < 0) {
		sw_check_add_scan(r, NULL, err.msg);
		sw_image_free(img);
		return;
	}
	if (sw_image_manifest_digest(img) && !r->digest[0])
		snprintf(r->digest, sizeof(r->digest), "%s", sw_image_manifest_digest(img));
	sw_check_add_scan(r, rep, NULL);
	if (o->keep_report && !o->defer_scan) {
		sw_report_free(r->report);
		r->report = rep;
		rep = NULL;
	}
	sw_report_free(rep);
	sw_image_free(img);
}

static const char *kind_name(sw_reason_kind k)
{
	return k == SW_REASON_DENY ? "deny" : k == SW_REASON_WARN ? "warn" : "info";
}

/* keep_report: the decision in the report (the scan's, or one naming the
 * image), as the JSON object a page shows. */
static void keep_decision(const sw_policy *policy, const char *input, sw_check_result *r)
{
	sw_buf b = SW_BUF_INIT(1 << 20);
	sw_jw w = SW_JW_INIT(&b);
	size_t k;

	if (!r->report && sw_report__new_bare(&r->report, input, r->reference[0] ? r->reference : NULL,
					      r->digest[0] ? r->digest : NULL) < 0)
		return; /* out of memory: no report, which the caller reports */
	sw_jw_obj(&w);
	sw_jw_kbool(&w, "allowed", r->d.allowed);
	sw_jw_kstr(&w, "mode", r->d.enforce ? "enforce" : "warn");
	sw_jw_kstr(&w, "policy", policy ? sw_policy_path(policy) : NULL);
	sw_jw_kstr(&w, "digest", r->digest[0] ? r->digest : NULL);
	sw_jw_karr(&w, "reasons");
	for (k = 0; k < r->d.nreasons; k++) {
		sw_jw_obj(&w);
		sw_jw_kstr(&w, "kind", kind_name(r->d.reasons[k].kind));
		sw_jw_kstr(&w, "text", r->d.reasons[k].text);
		if (r->d.reasons[k].line)
			sw_jw_kint(&w, "policy_line", r->d.reasons[k].line);
		sw_jw_end(&w);
	}
	sw_jw_end(&w);
	sw_jw_karr(&w, "not_checked");
	for (k = 0; k < r->nunchecked; k++)
		sw_jw_str(&w, r->unchecked[k]);
	sw_jw_end(&w);
	sw_jw_end(&w);
	if (sw_jw_done(&w) < 0 || sw_report__set_decision(r->report, sw_buf_cstr(&b)) < 0) {
		sw_report_free(r->report);
		r->report = NULL;
	}
	sw_buf_release(&b);
}

/* One signature the policy requires: by one of its keys, for this digest,
 * under an identity its rule accepts, with a Rekor SET when it asks for
 * one. */
static void check_one_signature(const char *ref, const sw_check_opts *o, const sw_sig_require *req,
				sw_check_result *r)
{
	sw_pubkeys *pk = NULL, *rk = NULL;
	sw_trustroot *tr = NULL;
	sw_sig_result *res = NULL;
	size_t n = 0, k;
	sw_error err = SW_ERROR_INIT;
	char digest[80] = "";
	sw_bundle_want keyless = { NULL, req->cert_identity, req->cert_identity_regexp, req->cert_issuer,
				   req->cert_issuer_regexp, false };
	bool kl = req->cert_identity || req->cert_identity_regexp;
	sw_sig_check c;
	int v;

	if (sw_pubkeys_load(&pk, req->keys, req->nkeys, &err) < 0 ||
	    (req->nrekor_keys && sw_pubkeys_load(&rk, req->rekor_keys, req->nrekor_keys, &err) < 0)) {
		sw_decision_add(&r->d, SW_REASON_DENY, req->line, "the policy's signature keys: %s", err.msg);
		goto out;
	}
	if (kl && sw_trustroot_load(req->trusted_root, &tr, &err) < 0) {
		sw_decision_add(&r->d, SW_REASON_DENY, req->line, "the policy's trusted root: %s", err.msg);
		goto out;
	}
	c.keys = pk;
	c.rekor_keys = rk;
	c.identity = &req->identity;
	c.keyless = kl ? &keyless : NULL;
	c.trust_root = tr;
	c.fulcio_ca = req->fulcio_ca;
	c.fulcio_issuer = req->fulcio_issuer;
	c.fulcio_email = req->fulcio_email;
	v = sw_verify_image(ref, o->image, &c, digest, sizeof(digest), &res, &n, &err);
	if (v < 0)
		sw_decision_add(&r->d, SW_REASON_DENY, req->line, "signature check failed: %s", err.msg);
	else if (v == 0 && n == 0)
		sw_decision_add(&r->d, SW_REASON_DENY, req->line, "the policy requires a signature, and %s@%s has none",
				ref, digest);
	else if (v == 0)
		for (k = 0; k < n && k < 4; k++)
			sw_decision_add(&r->d, SW_REASON_DENY, req->line, "signature %zu of %zu does not count: %s", k + 1,
					n, res[k].reason);
	else
		sw_decision_add(&r->d, SW_REASON_INFO, req->line, "signed: %d valid signature%s for %s", v,
				v == 1 ? "" : "s", digest);
	if (digest[0] && !r->digest[0])
		snprintf(r->digest, sizeof(r->digest), "%s", digest);
out:
	free(res);
	sw_trustroot_free(tr);
	sw_pubkeys_free(pk);
	sw_pubkeys_free(rk);
}

/* Every signature the policy requires (containers-policy.json: each
 * sigstoreSigned requirement of the scope; all must pass). */
static void check_signatures(const char *ref, bool remote, const sw_check_opts *o, sw_check_result *r)
{
	size_t i;

	if (!remote) {
		sw_decision_add(&r->d, SW_REASON_DENY, r->d.nsigs ? r->d.sigs[0].line : 0,
				"the policy requires a signature; signatures live in a registry, next to the image: "
				"check the registry reference instead of a local copy");
		return;
	}
	for (i = 0; i < r->d.nsigs; i++)
		check_one_signature(ref, o, &r->d.sigs[i], r);
}

/* A stowaway scan verdict signed by one of the policy's keys, for this
 * digest, no worse and no older than the policy allows. Returns the best
 * verdict that passed (-1: none). */
static int check_attestation(const char *ref, bool remote, const sw_check_opts *o, sw_check_result *r)
{
	sw_pubkeys *pk = NULL;
	sw_att_check ac = SW_ATT_CHECK_INIT;
	sw_att_result *res = NULL;
	size_t n = 0, k;
	sw_error err = SW_ERROR_INIT;
	char digest[80] = "";
	long long now = (long long)time(NULL);
	sw_verdict bound = r->d.att_verdict >= SW_VERDICT_CLEAN && r->d.att_verdict <= SW_VERDICT_MALICIOUS
				   ? (sw_verdict)r->d.att_verdict : SW_VERDICT_CLEAN;
	int v, ok = 0, best = -1;

	if (!remote) {
		sw_decision_add(&r->d, SW_REASON_DENY, 0,
				"the policy requires a signed scan verdict, which lives in the registry next to the image");
		return -1;
	}
	if (sw_pubkeys_load(&pk, r->d.att_keys, r->d.natt_keys, &err) < 0) {
		sw_decision_add(&r->d, SW_REASON_DENY, 0, "the policy's attestation keys: %s", err.msg);
		return -1;
	}
	ac.keys = pk;
	v = sw_verify_attestations(ref, o->image, &ac, digest, sizeof(digest), &res, &n, &err);
	for (k = 0; v > 0 && k < n; k++) {
		sw_verdict got;
		if (res[k].status != SW_SIG_VALID || sw_verdict_parse(res[k].verdict, &got) < 0 || got > bound ||
		    (r->d.att_max_age_days && now - res[k].scanned_at > (long long)r->d.att_max_age_days * 86400))
			continue;
		ok = 1;
		if (best < 0 || (int)got < best)
			best = (int)got;
	}
	if (v < 0)
		sw_decision_add(&r->d, SW_REASON_DENY, 0, "attestation check failed: %s", err.msg);
	else if (!ok)
		sw_decision_add(&r->d, SW_REASON_DENY, 0,
				"no signed stowaway scan verdict of at most \"%s\"%s for %s (%zu attestation%s, %d valid)",
				sw_verdict_name(bound), r->d.att_max_age_days ? " and recent enough" : "", digest, n,
				n == 1 ? "" : "s", v);
	else
		sw_decision_add(&r->d, SW_REASON_INFO, 0, "scanned and attested for %s", digest);
	if (digest[0] && !r->digest[0])
		snprintf(r->digest, sizeof(r->digest), "%s", digest);
	free(res);
	sw_pubkeys_free(pk);
	return v < 0 ? -1 : best;
}

/* The digest the reference points to now, when asked and nothing else
 * looked it up. */
static void resolve(const char *ref, const sw_check_opts *o, sw_check_result *r)
{
	sw_image *img = NULL;
	sw_error err = SW_ERROR_INIT;

	if (sw_image_open(&img, ref, o->image, &err) < 0)
		sw_decision_add(&r->d, SW_REASON_DENY, 0, "cannot resolve: %s", err.msg);
	else if (sw_image_manifest_digest(img))
		snprintf(r->digest, sizeof(r->digest), "%s", sw_image_manifest_digest(img));
	sw_image_free(img);
}

/* The name an archive or a layout records (RepoTags,
 * io.containerd.image.name) is what it will be called once loaded: the
 * look-alike names rule judges it as it judges a registry reference. */
static void judge_recorded_name(const sw_policy *policy, const char *input, sw_source_kind kind,
				const sw_check_opts *o, sw_check_result *r)
{
	sw_image *img = NULL;
	sw_error err = SW_ERROR_INIT;
	sw_name_result nr;
	const char *name;
	char what[700];

	if (kind == SW_SRC_DIR || sw_image_open(&img, input, o->image, &err) < 0) {
		sw_image_free(img); /* an image that does not open: the scan says so */
		return;
	}
	if ((name = sw_image_reference(img)) && sw_names_check(name, &nr, NULL) == 0) {
		snprintf(what, sizeof(what), "the image records the name %s", name);
		sw_policy_judge_name(policy, &nr, what, &r->d);
	}
	sw_image_free(img);
}

static void unchecked(sw_check_result *r, const char *what)
{
	if (r->nunchecked < SW_CHECK_MAX_UNCHECKED)
		r->unchecked[r->nunchecked++] = what;
}

/* The name of a registry reference judged: sw_check_name's work, and the
 * first step of sw_check's for a registry image. path: the reference
 * without "docker://". */
static void judge_name(const sw_policy *policy, const char *input, const char *path, sw_check_result *r)
{
	sw_name_result nr;
	sw_error err = SW_ERROR_INIT;

	if (sw_names_check(path, &nr, &err) < 0) {
		r->d.allowed = false;
		r->d.enforce = true;
		r->bad_input = true;
		snprintf(r->reference, sizeof(r->reference), "%s", input);
		sw_decision_add(&r->d, SW_REASON_DENY, 0, "%s", err.msg);
		return;
	}
	sw_ref_format(&nr.ref, SW_REF_DEFAULT, r->reference, sizeof(r->reference));
	sw_policy_decide(policy, "docker", &nr.ref, NULL, &nr, &r->d);
}

/* A policy's scan bound that a signed verdict answers: "clean" (nothing of
 * medium severity or above) meets any bound of low or above. */
static bool verdict_meets_scan(int verdict, const sw_decision *d)
{
	return verdict == (int)SW_VERDICT_CLEAN && d->max_severity >= (int)SW_SEV_LOW;
}

int sw_check_name(const sw_policy *policy, const char *ref, sw_check_result *r)
{
	sw_policy *own = NULL;

	memset(r, 0, sizeof(*r));
	if (!policy) {
		if (sw_policy_default(&own) < 0)
			return SW_ENOMEM;
		policy = own;
	}
	if (strncmp(ref, "docker://", 9) == 0)
		ref += 9;
	judge_name(policy, ref, ref, r);
	sw_policy_free(own);
	return 0;
}

int sw_check(const sw_policy *policy, const char *input, const sw_check_opts *o, sw_check_result *r)
{
	static const sw_check_opts defo = SW_CHECK_OPTS_INIT;
	sw_policy *own = NULL;
	sw_source_kind kind;
	sw_error err = SW_ERROR_INIT;
	char *path = NULL, *sel = NULL;
	bool remote, scan_first;
	int attested = -1;

	memset(r, 0, sizeof(*r));
	if (!o)
		o = &defo;
	if (!policy) {
		if (sw_policy_default(&own) < 0)
			return SW_ENOMEM;
		policy = own;
	}
	if (sw_image_classify(input, &kind, &path, &sel, &err) < 0) {
		r->d.allowed = false;
		r->d.enforce = true;
		r->bad_input = err.code != SW_ENOMEM;
		snprintf(r->reference, sizeof(r->reference), "%s", input);
		sw_decision_add(&r->d, SW_REASON_DENY, 0, "%s", err.msg);
		goto out;
	}
	remote = kind == SW_SRC_REGISTRY;
	if (!remote) {
		char *local = resolve_local(path);
		sw_ref none;
		memset(&none, 0, sizeof(none));
		snprintf(r->reference, sizeof(r->reference), "%s", input);
		if (!local) {
			r->d.allowed = false;
			r->d.enforce = true;
			sw_decision_add(&r->d, SW_REASON_DENY, 0, "%s: cannot resolve the path: %s", path, strerror(errno));
			goto out;
		}
		/* policy scopes for local transports name the image's path, not
		 * the text it was given as (a ":TAG", a symbolic link, "..") */
		sw_policy_decide(policy, transport_of(kind), &none, local, NULL, &r->d);
		free(local);
		judge_recorded_name(policy, input, kind, o, r);
	} else {
		judge_name(policy, input, path, r);
		if (r->bad_input)
			goto out;
	}
	if (!r->d.need_scan && (o->scan_mode == SW_CHECK_SCAN_ALWAYS || (o->scan_mode == SW_CHECK_SCAN_AUTO && !remote))) {
		/* nothing admitted unjudged: a scan the policy did not bound
		 * denies what `scan` fails on by default */
		r->d.need_scan = true;
		r->d.max_severity = SW_CHECK_DEFAULT_MAX_SEVERITY;
	}
	/* a signed verdict may stand in for the scan: look at it first */
	scan_first = !(r->d.need_scan && r->d.need_attestation && verdict_meets_scan(SW_VERDICT_CLEAN, &r->d));
	if (!scan_first) {
		attested = check_attestation(remote ? path : input, remote, o, r);
		if (verdict_meets_scan(attested, &r->d)) {
			r->d.need_scan = false;
			sw_decision_add(&r->d, SW_REASON_INFO, 0,
					"not scanned: the signed scan verdict \"clean\" meets the policy's scan bound");
		}
	}
	if (r->d.need_scan) {
		if (o->defer_scan)
			r->scan_due = true;
		else
			sw_check_run_scan(input, o, r);
	} else if (attested < 0) {
		unchecked(r, remote ? "not scanned (registry images are scanned when the policy or --scan asks)"
				    : "not scanned (--no-scan)");
		if (remote && o->resolve)
			resolve(path, o, r);
	}
	if (r->d.need_signature)
		check_signatures(remote ? path : input, remote, o, r);
	else
		unchecked(r, "signature not required");
	if (r->d.need_attestation && scan_first)
		check_attestation(remote ? path : input, remote, o, r);
	else if (!r->d.need_attestation)
		unchecked(r, "signed scan verdict not required");
out:
	if (o->keep_report && !o->defer_scan)
		keep_decision(policy, input, r);
	free(path);
	free(sel);
	sw_policy_free(own);
	return 0;
}
