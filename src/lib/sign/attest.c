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
 * <type> <len> <payload>"), stored as cosign v3 stores attestations by
 * default (a Sigstore bundle referring to the image: referrers.c), or as
 * cosign v1/v2 do: a layer of media type
 * application/vnd.dsse.envelope.v1+json in an OCI manifest tagged
 * sha256-<hex>.att, which also carries "subject" so registries with the
 * OCI 1.1 referrers API list it as a referrer of the image.
 *
 * Reading (verify-attestation, the policy's require.attestation) takes
 * both formats and any predicate type asked for (cosign's --type): a
 * statement counts when its signature checks (a key for the legacy
 * layers; a key or a Fulcio certificate for bundles, as sw_bundle_verify
 * checks them offline), one of its subjects is the image's digest, it
 * agrees with the predicate type its annotation names, and it is of the
 * type asked for. Entries whose annotation names another type are listed
 * as such without being fetched: what a registry can make us fetch stays
 * bounded by what is asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "stowaway/report.h"
#include "stowaway/sign.h"
#include "stowaway/stowaway.h"
#include "bundle_int.h"
#include "keys.h"
#include "sigstore.h"
#include "../util/banned.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DSSE "application/vnd.dsse.envelope.v1+json"
#define PAYLOAD_TYPE "application/vnd.in-toto+json"
#define MAX_ENVELOPE (1u << 20)
#define MAX_SUBJECTS 1024
#define ANN_CERT "dev.sigstore.cosign/certificate"

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

/* The .att layer (cosign v1/v2): the envelope, appended. */
static int store_legacy(sw_sigimage *si, const sw_privkey *key, const sw_buf *st, sw_error *err)
{
	sw_buf sig_in = SW_BUF_INIT(2u << 20), env = SW_BUF_INIT(4u << 20);
	char *sig = NULL;
	int rc;

	pae(&sig_in, PAYLOAD_TYPE, st->data, st->len);
	if (!(sig = sw_sig__sign_b64(key->pkey, &sig_in))) {
		rc = sw_error_set(err, SW_ERROR, "signing the attestation failed");
		goto out;
	}
	if ((rc = envelope(&env, st, sig)) < 0) {
		rc = sw_error_set(err, rc, "writing the attestation: %s", sw_code_name(rc));
		goto out;
	}
	rc = sw_sig__append(si, env.data, env.len, MT_DSSE, "predicateType", SW_ATTEST_PREDICATE, true, err);
out:
	free(sig);
	sw_buf_release(&sig_in);
	sw_buf_release(&env);
	return rc;
}

/* The scan's statement about the image ref resolves to, signed and stored
 * in the format asked for. */
static int attest(const char *ref, const sw_image_opts *o, const sw_privkey *key, const struct sw_report *rep,
		  bool bundle, char *digest_out, size_t digest_n, sw_error *err)
{
	sw_sigimage si;
	sw_buf st = SW_BUF_INIT(1u << 20);
	size_t counts[5] = { 0 }, i;
	char name[600], when[32];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	if (!key)
		return sw_error_set(err, SW_EINVAL, "no key");
	if ((rc = sw_sigimage_open(ref, o, "att", &si, err)) < 0)
		return rc;
	snprintf(digest_out, digest_n, "%s", si.digest);
	for (i = 0; i < sw_report_finding_count(rep); i++)
		counts[sw_report_finding(rep, i)->severity]++;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	sw_ref_format(&si.ref, SW_REF_NAME, name, sizeof(name));
	statement(&st, name, si.digest + 7, rep, when, counts);
	if ((rc = sw_buf_err(&st)) < 0)
		rc = sw_error_set(err, rc, "writing the statement: %s", sw_code_name(rc));
	else if (bundle)
		rc = sw_sig__put_bundle(&si, key->pkey, &st, SW_ATTEST_PREDICATE, err);
	else
		rc = store_legacy(&si, key, &st, err);
	sw_buf_release(&st);
	sw_sigimage_close(&si);
	return rc;
}

int sw_attest_image(const char *ref, const sw_image_opts *o, const sw_privkey *key, const struct sw_report *rep,
		    char *digest_out, size_t digest_n, sw_error *err)
{
	return attest(ref, o, key, rep, false, digest_out, digest_n, err);
}

int sw_attest_image_bundle(const char *ref, const sw_image_opts *o, const sw_privkey *key,
			   const struct sw_report *rep, char *digest_out, size_t digest_n, sw_error *err)
{
	return attest(ref, o, key, rep, true, digest_out, digest_n, err);
}

/* The verdict, ruleset and time of stowaway's scan predicate. */
static void read_verdict(const sw_json *pred, sw_att_result *r)
{
	const char *v = sw_json_get_str(pred, "verdict"), *at = sw_json_get_str(pred, "scanned_at");
	const char *rs = sw_json_get_str(sw_json_get_obj(pred, "scanner"), "ruleset");
	struct tm tm;

	snprintf(r->verdict, sizeof(r->verdict), "%s", v ? v : "");
	snprintf(r->ruleset, sizeof(r->ruleset), "%s", rs ? rs : "");
	memset(&tm, 0, sizeof(tm));
	if (!pred || !at || !strptime(at, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		r->status = SW_SIG_MALFORMED;
		snprintf(r->reason, sizeof(r->reason), "not a stowaway scan statement (no verdict or scan time)");
		return;
	}
	r->scanned_at = (long long)timegm(&tm);
	r->status = SW_SIG_VALID;
	snprintf(r->reason, sizeof(r->reason), "valid: verdict %s, scanned %s", r->verdict, at);
}

/* A signed statement (the payload's bytes) judged: it names the image's
 * digest among its subjects, agrees with the predicate type its index
 * entry or layer annotation named (ann, NULL: none) and is of the
 * predicate type asked for. */
static void read_statement(const void *payload, size_t plen, const char *digest, const char *want, const char *ann,
			   sw_att_result *r)
{
	sw_json_doc *doc = NULL;
	const sw_json *root, *subj, *s;
	const char *pt, *first = NULL;
	size_t n = 0;

	r->status = SW_SIG_MALFORMED;
	if (sw_json_parse(payload, plen, &doc, NULL) < 0 || !(pt = sw_json_get_str(root = sw_json_root(doc),
										      "predicateType")) ||
	    !(subj = sw_json_get_arr(root, "subject")) || !subj->child) {
		snprintf(r->reason, sizeof(r->reason), "not an in-toto statement (subject, predicateType)");
		goto out;
	}
	snprintf(r->predicate_type, sizeof(r->predicate_type), "%s", pt);
	if (ann && strcmp(ann, pt) != 0) {
		snprintf(r->reason, sizeof(r->reason), "predicate type: the statement's is %.120s, its annotation says "
			 "%.120s", pt, ann);
		goto out;
	}
	for (s = subj->child; s && n < MAX_SUBJECTS; s = s->next, n++) {
		const char *hex = sw_json_get_str(sw_json_get_obj(s, "digest"), "sha256");
		if (!first)
			first = hex;
		if (hex && strcmp(hex, digest + 7) == 0)
			break;
	}
	if (!s || n == MAX_SUBJECTS) {
		r->status = SW_SIG_WRONG_DIGEST;
		snprintf(r->reason, sizeof(r->reason), "subject digest: the statement is about sha256:%.64s, not this "
			 "image's %.80s", first ? first : "(none)", digest);
		goto out;
	}
	if (strcmp(pt, want) != 0) {
		r->status = SW_SIG_OTHER_TYPE;
		snprintf(r->reason, sizeof(r->reason), "predicate type %.120s, not the one asked for (%.120s)", pt, want);
		goto out;
	}
	if (strcmp(pt, SW_ATTEST_PREDICATE) == 0) {
		read_verdict(sw_json_get_obj(root, "predicate"), r);
		goto out;
	}
	r->status = SW_SIG_VALID;
	snprintf(r->reason, sizeof(r->reason), "valid: %.200s", pt);
out:
	sw_json_free(doc);
}

void sw_att__verify_envelope(const sw_pubkeys *keys, const char *env, size_t len, const char *digest,
			     const char *want, const char *ann, sw_att_result *r)
{
	sw_json_doc *doc = NULL;
	const sw_json *root, *sigs, *s;
	const char *pt, *pl;
	uint8_t *payload = NULL;
	size_t plen = 0;
	sw_buf in = SW_BUF_INIT(2u << 20);
	bool good = false;

	memset(r, 0, sizeof(*r));
	r->format = SW_ATT_LEGACY;
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
		snprintf(r->reason, sizeof(r->reason), "signature: no trusted key verifies the envelope");
		goto out;
	}
	read_statement(payload, plen, digest, want ? want : SW_ATTEST_PREDICATE, ann, r);
out:
	sw_json_free(doc);
	free(payload);
	sw_buf_release(&in);
}

/* An attestation whose annotation names another predicate type than
 * want: reported, not fetched. */
static void not_read(sw_att_result *r, const char *pt, const char *want)
{
	r->status = SW_SIG_OTHER_TYPE;
	snprintf(r->predicate_type, sizeof(r->predicate_type), "%s", pt);
	snprintf(r->reason, sizeof(r->reason), "predicate type %.100s (its annotation; not read), not the one asked "
		 "for (%.100s)", pt, want);
}

typedef struct att_ctx {
	sw_sigimage *si;
	const sw_att_check *c;
	const char *want;
	const sw_trustroot *tr;
	sw_att_result **results;
	size_t *n;
	int valid;
} att_ctx;

/* The envelope's payload of a bundle already verified, decoded as the
 * verifier decoded it. */
static int bundle_payload(const char *bundle, size_t blen, uint8_t **payload, size_t *plen)
{
	sw_json_doc *doc = NULL;
	int rc = SW_EFORMAT;

	if (sw_json_parse(bundle, blen, &doc, NULL) == 0)
		rc = sw_bdl__b64(sw_json_get_str(sw_json_get_obj(sw_json_root(doc), "dsseEnvelope"), "payload"), payload,
				 plen);
	sw_json_free(doc);
	return rc;
}

/* One Sigstore bundle referring to the image (cosign v3's storage): its
 * annotation's predicate type first (another is not fetched), then the
 * bundle verified as the check asks (keyed bundles need no log entry:
 * offline), then its statement. */
static int att_bundle(void *ctx, const char *dg, const char *pt, const char *bundle, size_t blen, const char *why)
{
	att_ctx *a = ctx;
	sw_bundle_info info;
	sw_error berr = SW_ERROR_INIT;
	uint8_t *payload = NULL;
	size_t plen = 0;
	sw_att_result *r = sw_sig__one_more(a->results, a->n, sizeof(**a->results));

	if (!r)
		return SW_ENOMEM;
	r->format = SW_ATT_BUNDLE;
	r->status = SW_SIG_MALFORMED;
	if (why) {
		snprintf(r->reason, sizeof(r->reason), "bundle %.80s: %.200s", dg, why);
	} else if (sw_sig__bundle_check(a->tr, a->c->keys, a->c->keyless, true, bundle, blen, a->si->digest, &info,
					&berr) < 0) {
		r->status = strstr(berr.msg, "no subject digest") ? SW_SIG_WRONG_DIGEST : SW_SIG_BAD_SIGNATURE;
		snprintf(r->reason, sizeof(r->reason), "bundle: %.280s", berr.msg);
	} else if (!info.dsse) {
		snprintf(r->reason, sizeof(r->reason), "bundle: a message signature, not an attestation");
	} else if (bundle_payload(bundle, blen, &payload, &plen) < 0) {
		snprintf(r->reason, sizeof(r->reason), "bundle: its envelope's payload cannot be read again");
	} else {
		if (!info.keyed)
			snprintf(r->signer, sizeof(r->signer), "%.250s (%.140s)", info.identity, info.issuer);
		read_statement(payload, plen, a->si->digest, a->want, pt, r);
	}
	a->valid += r->status == SW_SIG_VALID;
	free(payload);
	return 0;
}

static int att_entry(void *ctx, const char *dg, const char *pt, const char *bundle, size_t blen, const char *why)
{
	att_ctx *a = ctx;
	sw_att_result *r;

	if (bundle || why)
		return att_bundle(ctx, dg, pt, bundle, blen, why);
	/* its index entry names another predicate type: not fetched */
	if (!(r = sw_sig__one_more(a->results, a->n, sizeof(**a->results))))
		return SW_ENOMEM;
	r->format = SW_ATT_BUNDLE;
	not_read(r, pt, a->want);
	return 0;
}

/* The layers of the sha256-<hex>.att manifest (cosign v1/v2): keyed. */
static int att_layers(sw_sigimage *si, const sw_att_check *c, const char *want, sw_att_result **results, size_t *n)
{
	const sw_json *l;
	int valid = 0;

	for (l = si->layers ? si->layers->child : NULL; l; l = l->next) {
		sw_att_result *r = sw_sig__one_more(results, n, sizeof(**results));
		const sw_json *ann = sw_json_get_obj(l, "annotations");
		const char *ld = sw_json_get_str(l, "digest"), *mt = sw_json_get_str(l, "mediaType");
		const char *pt = sw_json_get_str(ann, "predicateType");
		int64_t sz = -1;
		char *env = NULL;
		size_t elen;
		sw_error berr = SW_ERROR_INIT;
		if (!r)
			return SW_ENOMEM;
		r->format = SW_ATT_LEGACY;
		r->status = SW_SIG_MALFORMED;
		sw_json_get_i64(l, "size", &sz);
		if (!ld || !mt || strcmp(mt, MT_DSSE) != 0) {
			snprintf(r->reason, sizeof(r->reason), "not a DSSE layer");
		} else if (pt && strcmp(pt, want) != 0) {
			not_read(r, pt, want);
		} else if (sw_sigstore_blob(si, ld, sz, MAX_ENVELOPE, &env, &elen, &berr) < 0) {
			snprintf(r->reason, sizeof(r->reason), "envelope blob: %.250s", berr.msg);
		} else {
			sw_att__verify_envelope(c->keys, env, elen, si->digest, want, pt, r);
			if (r->status == SW_SIG_BAD_SIGNATURE && sw_json_get_str(ann, ANN_CERT))
				snprintf(r->reason, sizeof(r->reason), "signature: a keyless attestation in the legacy "
					 "format (a certificate annotation), which stowaway does not verify; cosign "
					 "v3's bundles it does");
		}
		valid += r->status == SW_SIG_VALID;
		free(env);
	}
	return valid;
}

int sw_verify_attestations(const char *ref, const sw_image_opts *o, const sw_att_check *c, char *digest_out,
			   size_t digest_n, sw_att_result **results, size_t *n, sw_error *err)
{
	static const sw_att_check none = SW_ATT_CHECK_INIT;
	sw_trustroot *own = NULL;
	att_ctx a;
	sw_sigimage si;
	int rc, valid;

	*results = NULL;
	*n = 0;
	if (!c)
		c = &none;
	if ((rc = sw_sigimage_open(ref, o, "att", &si, err)) < 0)
		return rc;
	snprintf(digest_out, digest_n, "%s", si.digest);
	a = (att_ctx){ &si, c, c->predicate_type ? c->predicate_type : SW_ATTEST_PREDICATE, c->trust_root, results, n, 0 };
	if ((rc = valid = att_layers(&si, c, a.want, results, n)) < 0)
		goto out;
	/* and the bundles (cosign v3) referring to the image */
	if (!a.tr && (rc = sw_trustroot_load(NULL, &own, err)) < 0)
		goto out;
	if (!a.tr)
		a.tr = own;
	rc = sw_sig__each_bundle(&si, SW_SIG_KIND_ATTESTATIONS, a.want, att_entry, &a, err);
out:
	if (rc == SW_ENOMEM)
		sw_error_set(err, rc, "out of memory");
	sw_trustroot_free(own);
	sw_sigimage_close(&si);
	if (rc < 0) {
		free(*results);
		*results = NULL;
		*n = 0;
		return rc;
	}
	return valid + a.valid;
}
