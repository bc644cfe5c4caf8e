/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signed scan verdicts. The statement is in-toto v1:
 *
 *   {"_type":"https://in-toto.io/Statement/v1",
 *    "subject":[{"name":REPO,"digest":{"sha256":HEX}}],
 *    "predicateType":"https://stowaway.dev/attestations/scan/v1",
 *    "predicate":{"scanner":{"name":"stowaway","version":V,"ruleset":R},
 *                 "scanned_at":"YYYY-MM-DDTHH:MM:SSZ","verdict":"clean",
 *                 "findings":{"critical":0,"high":0,"medium":0,"low":0,"info":0},
 *                 "incomplete":0}}
 *
 * wrapped in a DSSE envelope (payloadType application/vnd.in-toto+json;
 * the signature is over the pre-authentication encoding "DSSEv1 <len>
 * <type> <len> <payload>"), stored as cosign stores attestations: a layer
 * of media type application/vnd.dsse.envelope.v1+json in an OCI manifest
 * tagged sha256-<hex>.att, which also carries "subject" so registries with
 * the OCI 1.1 referrers API list it as a referrer of the image.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "stowaway/report.h"
#include "stowaway/sign.h"
#include "stowaway/stowaway.h"
#include "keys.h"
#include "sigstore.h"
#include "../util/banned.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DSSE "application/vnd.dsse.envelope.v1+json"
#define PAYLOAD_TYPE "application/vnd.in-toto+json"
#define MAX_ENVELOPE (1u << 20)

static int pae(sw_buf *out, const char *type, const char *body, size_t len)
{
	sw_buf_printf(out, "DSSEv1 %zu %s %zu ", strlen(type), type, len);
	return sw_buf_append(out, body, len);
}

/* The in-toto statement: the image, and the scan's verdict as predicate. */
static void statement(sw_buf *st, const char *name, const char *hex, const struct sw_report *rep, const char *when,
		      const size_t counts[5])
{
	sw_jw w = SW_JW_INIT(st);

	sw_sig__statement_head(&w, name, hex, SW_ATTEST_PREDICATE);
	sw_jw_kobj(&w, "predicate");
	sw_jw_kobj(&w, "scanner");
	sw_jw_kstr(&w, "name", "stowaway");
	sw_jw_kstr(&w, "version", sw_version());
	sw_jw_kstr(&w, "ruleset", sw_report_ruleset(rep) ? sw_report_ruleset(rep) : "");
	sw_jw_end(&w);
	sw_jw_kstr(&w, "scanned_at", when);
	sw_jw_kstr(&w, "verdict", sw_verdict_name(sw_report_verdict(rep)));
	sw_jw_kobj(&w, "findings");
	sw_jw_kuint(&w, "critical", counts[SW_SEV_CRITICAL]);
	sw_jw_kuint(&w, "high", counts[SW_SEV_HIGH]);
	sw_jw_kuint(&w, "medium", counts[SW_SEV_MEDIUM]);
	sw_jw_kuint(&w, "low", counts[SW_SEV_LOW]);
	sw_jw_kuint(&w, "info", counts[SW_SEV_INFO]);
	sw_jw_end(&w);
	sw_jw_kuint(&w, "incomplete", sw_report_incomplete_count(rep));
	sw_jw_end(&w);
	sw_jw_end(&w);
}

/* The DSSE envelope: the statement's bytes and their signature. */
static int envelope(sw_buf *env, const sw_buf *st, const char *sig)
{
	sw_buf b64 = SW_BUF_INIT(4u << 20);
	sw_jw w = SW_JW_INIT(env);
	int rc;

	if ((rc = sw_b64_encode(&b64, st->data, st->len)) < 0 || (rc = sw_buf_err(st)) < 0) {
		sw_buf_release(&b64);
		return rc;
	}
	sw_jw_obj(&w);
	sw_jw_kstr(&w, "payloadType", PAYLOAD_TYPE);
	sw_jw_kstr(&w, "payload", sw_buf_cstr(&b64));
	sw_jw_karr(&w, "signatures");
	sw_jw_obj(&w);
	sw_jw_kstr(&w, "keyid", "");
	sw_jw_kstr(&w, "sig", sig);
	sw_jw_end(&w);
	sw_jw_end(&w);
	sw_jw_end(&w);
	sw_buf_release(&b64);
	return sw_jw_done(&w);
}

int sw_attest_image(const char *ref, const sw_image_opts *o, const sw_privkey *key, const struct sw_report *rep,
		    char *digest_out, size_t digest_n, sw_error *err)
{
	sw_sigimage si;
	sw_buf st = SW_BUF_INIT(1u << 20), sig_in = SW_BUF_INIT(2u << 20), env = SW_BUF_INIT(4u << 20);
	size_t counts[5] = { 0 }, i;
	char name[600], when[32], *sig = NULL;
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	if ((rc = sw_sigimage_open(ref, o, "att", &si, err)) < 0)
		return rc;
	snprintf(digest_out, digest_n, "%s", si.digest);
	for (i = 0; i < sw_report_finding_count(rep); i++)
		counts[sw_report_finding(rep, i)->severity]++;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	sw_ref_format(&si.ref, SW_REF_NAME, name, sizeof(name));
	statement(&st, name, si.digest + 7, rep, when, counts);
	pae(&sig_in, PAYLOAD_TYPE, st.data, st.len);
	if (!(sig = sw_sig__sign_b64(key->pkey, &sig_in))) {
		rc = sw_error_set(err, SW_ERROR, "signing the attestation failed");
		goto out;
	}
	if ((rc = envelope(&env, &st, sig)) < 0) {
		rc = sw_error_set(err, rc, "writing the attestation: %s", sw_code_name(rc));
		goto out;
	}
	rc = sw_sig__append(&si, env.data, env.len, MT_DSSE, "predicateType", SW_ATTEST_PREDICATE, true, err);
out:
	free(sig);
	sw_buf_release(&st);
	sw_buf_release(&sig_in);
	sw_buf_release(&env);
	sw_sigimage_close(&si);
	return rc;
}

void sw_att__verify_envelope(const sw_pubkeys *keys, const char *env, size_t len, const char *digest, sw_att_result *r)
{
	sw_json_doc *doc = NULL, *sdoc = NULL;
	const sw_json *root, *sigs, *s, *pred, *subj;
	const char *pt, *pl;
	uint8_t *payload = NULL;
	size_t plen = 0;
	sw_buf in = SW_BUF_INIT(2u << 20);
	bool good = false;
	struct tm tm;

	memset(r, 0, sizeof(*r));
	r->status = SW_SIG_MALFORMED;
	if (sw_json_parse(env, len, &doc, NULL) < 0 || !(root = sw_json_root(doc)) ||
	    !(pt = sw_json_get_str(root, "payloadType")) || strcmp(pt, PAYLOAD_TYPE) != 0 ||
	    !(pl = sw_json_get_str(root, "payload")) || !(sigs = sw_json_get_arr(root, "signatures"))) {
		snprintf(r->reason, sizeof(r->reason), "not a DSSE envelope of an in-toto statement");
		goto out;
	}
	if (sw_b64_decode(pl, strlen(pl), &payload, &plen) < 0) {
		snprintf(r->reason, sizeof(r->reason), "the payload is not base64");
		goto out;
	}
	if (sigs->n > 8) { /* cosign writes one; each costs a verification per key */
		snprintf(r->reason, sizeof(r->reason), "%zu signatures in one envelope (at most 8)", sigs->n);
		goto out;
	}
	pae(&in, PAYLOAD_TYPE, (const char *)payload, plen);
	for (s = sigs->child; s && !good; s = s->next) {
		good = sw_sig__key_verifies(keys, in.data, in.len, sw_json_get_str(s, "sig")) >= 0;
	}
	if (!good) {
		r->status = SW_SIG_BAD_SIGNATURE;
		snprintf(r->reason, sizeof(r->reason), "no trusted key verifies the envelope");
		goto out;
	}
	if (sw_json_parse((const char *)payload, plen, &sdoc, NULL) < 0 ||
	    !sw_json_get_str(sw_json_root(sdoc), "predicateType") ||
	    strcmp(sw_json_get_str(sw_json_root(sdoc), "predicateType"), SW_ATTEST_PREDICATE) != 0 ||
	    !(subj = sw_json_get_arr(sw_json_root(sdoc), "subject")) || !subj->child ||
	    !(pred = sw_json_get_obj(sw_json_root(sdoc), "predicate"))) {
		snprintf(r->reason, sizeof(r->reason), "not a stowaway scan statement");
		goto out;
	}
	if (!sw_json_get_str(sw_json_get_obj(subj->child, "digest"), "sha256") ||
	    strcmp(sw_json_get_str(sw_json_get_obj(subj->child, "digest"), "sha256"), digest + 7) != 0) {
		r->status = SW_SIG_WRONG_DIGEST;
		snprintf(r->reason, sizeof(r->reason), "the statement is about another image");
		goto out;
	}
	snprintf(r->verdict, sizeof(r->verdict), "%s", sw_json_get_str(pred, "verdict") ? sw_json_get_str(pred, "verdict") : "");
	snprintf(r->ruleset, sizeof(r->ruleset), "%s",
		 sw_json_get_str(sw_json_get_obj(pred, "scanner"), "ruleset") ? sw_json_get_str(sw_json_get_obj(pred, "scanner"), "ruleset") : "");
	memset(&tm, 0, sizeof(tm));
	if (!sw_json_get_str(pred, "scanned_at") || !strptime(sw_json_get_str(pred, "scanned_at"), "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		snprintf(r->reason, sizeof(r->reason), "the statement has no scan time");
		goto out;
	}
	r->scanned_at = (long long)timegm(&tm);
	r->status = SW_SIG_VALID;
	snprintf(r->reason, sizeof(r->reason), "valid: verdict %s, scanned %s", r->verdict, sw_json_get_str(pred, "scanned_at"));
out:
	sw_json_free(doc);
	sw_json_free(sdoc);
	free(payload);
	sw_buf_release(&in);
}

typedef struct att_ctx {
	sw_sigimage *si;
	const sw_pubkeys *keys;
	const sw_trustroot *tr;
	sw_att_result **results;
	size_t *n;
	int valid;
} att_ctx;

/* A Sigstore bundle of a stowaway verdict (cosign v3's storage): the bundle
 * verified with the keys (log entries checked when present), then its
 * envelope read as a .att layer's. */
static int att_bundle(void *ctx, const char *dg, const char *pt, const char *bundle, size_t blen, const char *why)
{
	att_ctx *a = ctx;
	sw_bundle_want want = SW_BUNDLE_WANT_INIT;
	sw_bundle_info info;
	sw_error berr = SW_ERROR_INIT;
	sw_json_doc *doc = NULL;
	sw_buf env = SW_BUF_INIT(MAX_ENVELOPE);
	sw_att_result *r = sw_sig__one_more(a->results, a->n, sizeof(**a->results));

	(void)pt;
	if (!r)
		return SW_ENOMEM;
	r->status = SW_SIG_MALFORMED;
	want.keys = a->keys;
	want.no_tlog = true;
	if (why) {
		snprintf(r->reason, sizeof(r->reason), "bundle %.80s: %.200s", dg, why);
	} else if (sw_bundle_verify(a->tr, bundle, blen, a->si->digest, &want, &info, &berr) < 0) {
		r->status = SW_SIG_BAD_SIGNATURE;
		snprintf(r->reason, sizeof(r->reason), "bundle: %.280s", berr.msg);
	} else if (sw_json_parse(bundle, blen, &doc, NULL) < 0 ||
		   sw_sig__canonical(&env, sw_json_get_obj(sw_json_root(doc), "dsseEnvelope")) < 0) {
		snprintf(r->reason, sizeof(r->reason), "bundle: its envelope cannot be read again");
	} else {
		sw_att__verify_envelope(a->keys, env.data, env.len, a->si->digest, r);
	}
	a->valid += r->status == SW_SIG_VALID;
	sw_json_free(doc);
	sw_buf_release(&env);
	return 0;
}

int sw_verify_attestations(const char *ref, const sw_image_opts *o, const sw_pubkeys *keys, char *digest_out,
			   size_t digest_n, sw_att_result **results, size_t *n, sw_error *err)
{
	sw_trustroot *tr = NULL;
	att_ctx a;
	sw_sigimage si;
	const sw_json *l;
	int rc, valid = 0;

	*results = NULL;
	*n = 0;
	if ((rc = sw_sigimage_open(ref, o, "att", &si, err)) < 0)
		return rc;
	snprintf(digest_out, digest_n, "%s", si.digest);
	if (si.layers && si.layers->n && !(*results = calloc(si.layers->n, sizeof(**results)))) {
		sw_sigimage_close(&si);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	for (l = si.layers ? si.layers->child : NULL; l; l = l->next) {
		sw_att_result *r = &(*results)[(*n)++];
		const char *ld = sw_json_get_str(l, "digest"), *mt = sw_json_get_str(l, "mediaType");
		int64_t sz = -1;
		char *env = NULL;
		size_t elen;
		sw_error berr = SW_ERROR_INIT;
		sw_json_get_i64(l, "size", &sz);
		if (!ld || !mt || strcmp(mt, MT_DSSE) != 0) {
			r->status = SW_SIG_MALFORMED;
			snprintf(r->reason, sizeof(r->reason), "not a DSSE layer");
			continue;
		}
		if (sw_sigstore_blob(&si, ld, sz, MAX_ENVELOPE, &env, &elen, &berr) < 0) {
			r->status = SW_SIG_MALFORMED;
			snprintf(r->reason, sizeof(r->reason), "envelope blob: %.250s", berr.msg);
			continue;
		}
		sw_att__verify_envelope(keys, env, elen, si.digest, r);
		if (r->status == SW_SIG_VALID)
			valid++;
		free(env);
	}
	/* and the bundles (cosign v3) referring to the image */
	a = (att_ctx){ &si, keys, NULL, results, n, 0 };
	if ((rc = sw_trustroot_load(NULL, &tr, err)) == 0) {
		a.tr = tr;
		rc = sw_sig__each_bundle(&si, SW_SIG_KIND_ATTESTATIONS, att_bundle, &a, err);
		if (rc == SW_ENOMEM)
			sw_error_set(err, rc, "out of memory");
	}
	sw_trustroot_free(tr);
	sw_sigimage_close(&si);
	if (rc < 0) {
		free(*results);
		*results = NULL;
		*n = 0;
		return rc;
	}
	return valid + a.valid;
}
