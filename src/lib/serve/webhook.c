/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admission webhook (stowaway/serve.h): routes on the server core
 * (http.c), work on two worker pools (pool.c: decisions and tag lookups on
 * one, scans on the other), the AdmissionReview read and written by
 * review.c, and what is known kept in one bounded table (dcache.c).
 *
 * Each image of a review goes through up to three steps, each cached:
 *
 *  1. its name (key "n|POLICY|IMAGE"): the look-alike names check and the
 *     policy's access rules (sw_check_name), on the loop, no I/O. A denial
 *     in enforce mode, or an admission that needs nothing more, is the
 *     answer: the registry is never asked.
 *  2. its digest (key "t|REF"), when the policy needs the registry or the
 *     answer pins it (/mutate): the tag resolved at the registry on a
 *     worker, kept ttl_tag seconds. A reference with a digest skips this.
 *  3. its decision (key "d|POLICY|KEYS|REF@DIGEST"): sw_check on the
 *     reference pinned to that digest (signatures, signed verdicts), kept
 *     ttl_allow seconds when it admits and ttl_deny when it does not. A
 *     scan the policy requires is deferred to the scan pool; the decision
 *     is done when the scan is. POLICY is a hash of the policy file, KEYS
 *     one of the key files the image's scope names: a new policy or a
 *     rotated key is a new decision.
 *
 * However many containers, reviews or keys ask, one entry runs one piece
 * of work (single flight): the others wait on it. A review is answered
 * when its last image is decided or when its deadline passes. At the
 * deadline what is not decided is "not yet verified: IMAGE: what was being
 * done, retry" (or admitted with a warning where the policy says
 * on_timeout: allow), a scan still running is "scan pending" (admitted
 * with a warning at once where the policy says scan.pending: warn), and
 * the work goes on: the retry finds it done. Nothing fails open: a full
 * queue or table is the same denial ("busy").
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stowaway/check.h"
#include "stowaway/names.h"
#include "stowaway/serve.h"
#include "../registry/registry.h"
#include "common.h"
#include "dcache.h"
#include "http.h"
#include "metrics.h"
#include "polwatch.h"
#include "pool.h"
#include "review.h"
#include "../util/util.h"

#define MAX_QUEUED 256          /* decisions and lookups waiting for a worker */
#define MAX_SCANS_QUEUED 64     /* scans waiting */
#define NAME_TTL 60.0           /* a name verdict (it also names the scope's key files) */
#define RELOAD_MS 2000

enum { K_NAME, K_TAG, K_DECISION };
static const char *const kind_names[] = { "name", "tag", "decision" };
enum { J_RESOLVE, J_DECIDE, J_SCAN };
static const char *const job_names[] = { "resolve", "decide", "scan" };
enum { S_NAME, S_TAG, S_DECIDE, S_FINAL };
enum { P_VALIDATE, P_MUTATE };
static const char *const path_names[] = { "validate", "mutate" };
enum { D_ALLOW, D_WARN, D_DENY };
static const char *const decision_names[] = { "allow", "warn", "deny" };

typedef struct review review;
typedef struct webhook webhook;
typedef struct job job;

typedef struct vreason {
	sw_reason_kind kind;
	int line;
	char *text;
} vreason;

/* What an entry knows (its val). */
typedef struct verdict {
	bool allowed, enforce;
	bool io;                     /* name: the policy needs the registry */
	bool on_timeout_allow, scan_pending_warn;
	int on_timeout_line, scan_pending_line;
	bool scanning;               /* decision: decided but for the scan, which runs */
	char digest[80];
	char ref[800];               /* name: the reference normalised (tag kept) */
	char keyhash[17];            /* name: the scope's key files */
	char *error;                 /* tag: why it did not resolve */
	vreason *r;
	size_t nr;
	size_t bytes;
	job *j;                      /* while work runs for it */
	sw_waiter *waiters, *notify;
} verdict;

struct job {
	sw_pool_job base;
	webhook *wh;
	sw_dc_entry *e;
	sw_pol *pol;
	int kind;
	char *input;                 /* resolve: the reference; else docker://REF@DIGEST */
	sw_check_result *res;
	char digest[80];
	char error[600];
	atomic_int state;            /* 0 queued, 1 running (phase written) */
	char phase[300];
	double queued, started;
};

/* One image of a review, as the answer will tell it. */
typedef struct slot {
	int stage;
	bool known, allowed;
	bool pin_wait;               /* known, but /mutate waits for its digest */
	bool on_timeout_allow, scan_pending_warn;
	int on_timeout_line, scan_pending_line;
	bool io;
	char ref[800];
	char keyhash[17];
	char digest[80];
	sw_buf deny;                 /* "IMAGE: reason (policy FILE:LINE)" */
	sw_buf warns;                /* warnings, NUL-separated */
	size_t nwarns;
	sw_waiter w;                 /* while waiting (w.head set) */
	sw_dc_entry *waiting;
} slot;

struct review {
	webhook *wh;
	sw_http_req *req;
	sw_review r;
	slot *slots;
	size_t pending;
	double t0;
	sw_http_timer timer;
	bool timer_on;
	const char *proto;
	int path;
	sw_pol *pol;
};

typedef struct metrics {
	unsigned long long reviews[2][3];
	unsigned long long refused[6];        /* 400, 405, 413, 415, 503, other */
	unsigned long long lookups[3][3];     /* kind x hit, wait, miss */
	unsigned long long jobs[3];           /* registry work started, by job kind */
	unsigned long long job_errors[3];
	unsigned long long deadline_unverified, deadline_allowed, scan_pending_warned;
	unsigned long long busy;
	sw_hist latency;
} metrics;

struct webhook {
	sw_webhook_opts o;
	sw_image_opts image;
	sw_scan_opts scan;
	sw_polwatch pw;              /* the policy in force (pw.cur) and its reloads */
	sw_http *http;
	sw_pool *pool, *scans;
	sw_dc *dc;
	sw_http_timer reload;
	bool reload_on;
	unsigned deadline_ms;
	sw_check_result scratch;     /* the loop's name checks */
	metrics m;
};

static void advance(review *rv, size_t i, double now);
static void job_done(sw_http_msg *m);
static void job_free(job *j);

/* ---- small helpers ---- */

static void reply_json(sw_http_req *req, int status, const char *k, const char *v)
{
	sw_buf b = SW_BUF_INIT(4096);
	sw_jw w = SW_JW_INIT(&b);

	sw_jw_obj(&w);
	sw_jw_kstr(&w, k, v);
	sw_jw_end(&w);
	if (sw_jw_done(&w) == 0)
		sw_http_reply(req, status, "application/json", b.data, b.len);
	else
		sw_http_reply(req, 500, "text/plain", "out of memory\n", 14);
	sw_buf_release(&b);
}

static void refuse(webhook *wh, sw_http_req *req, int status, const char *msg)
{
	static const int codes[] = { 400, 405, 413, 415, 503 };
	size_t i;

	for (i = 0; i < 5 && codes[i] != status; i++)
		;
	wh->m.refused[i]++;
	reply_json(req, status, "error", msg);
}

static const char *policy_name(const webhook *wh)
{
	return wh->o.policy ? wh->o.policy : "(built-in policy)";
}

/* ---- verdicts ---- */

static void verdict_release(verdict *v)
{
	size_t i;

	for (i = 0; i < v->nr; i++)
		free(v->r[i].text);
	free(v->r);
	free(v->error);
	v->r = NULL;
	v->nr = 0;
	v->error = NULL;
}

static void free_val(sw_dc_entry *e)
{
	verdict *v = e->val;

	if (v) {
		/* only at the end, when the pools have stopped: a job that was
		 * still queued, or whose answer the loop never ran */
		if (v->j)
			job_free(v->j);
		verdict_release(v);
		free(v);
	}
}

/* The reasons of a decision that an answer tells (denials and warnings),
 * copied. SW_ENOMEM. */
static int verdict_from(verdict *v, const sw_check_result *r)
{
	size_t i;

	verdict_release(v);
	v->allowed = r->d.allowed;
	v->enforce = r->d.enforce;
	v->bytes = 0;
	if (r->digest[0])
		snprintf(v->digest, sizeof(v->digest), "%s", r->digest);
	for (i = 0; i < r->d.nreasons; i++) {
		const sw_reason *rs = &r->d.reasons[i];
		if (rs->kind == SW_REASON_INFO)
			continue;
		if (SW_GROW(v->r, v->nr) < 0 || !(v->r[v->nr].text = sw__strdup(rs->text)))
			return SW_ENOMEM;
		v->r[v->nr].kind = rs->kind;
		v->r[v->nr].line = rs->line;
		v->bytes += sizeof(vreason) + strlen(rs->text) + 1;
		v->nr++;
	}
	return 0;
}

/* A hash of the key files the decision names (their bytes): a rotated
 * key makes a new decision key. */
static void key_hash(const sw_decision *d, char out[17])
{
	sw_sha256 *h = sw_sha256_new();
	size_t i, k;

	if (!h) {
		snprintf(out, 17, "nomem");
		return;
	}
	for (i = 0; i <= d->nsigs; i++) {
		const char *const *keys = i < d->nsigs ? d->sigs[i].keys : d->att_keys;
		size_t n = i < d->nsigs ? d->sigs[i].nkeys : d->natt_keys;
		for (k = 0; k < n; k++) {
			sw_sha256_update(h, keys[k], strlen(keys[k]) + 1);
			if (strncmp(keys[k], "data:", 5) != 0)
				sw_hash_file_into(h, keys[k], 1u << 20, NULL); /* a missing key: the check says so */
		}
	}
	sw_hash_final16(h, out);
}

/* ---- slots ---- */

static void slot_reason(webhook *wh, sw_buf *b, const char *image, const char *text, int line)
{
	if (line)
		sw_buf_printf(b, "%s: %s (policy %s:%d)", image, text, policy_name(wh), line);
	else
		sw_buf_printf(b, "%s: %s", image, text);
}

static void slot_warn(review *rv, size_t i, const char *text, int line)
{
	slot *s = &rv->slots[i];

	slot_reason(rv->wh, &s->warns, rv->r.images[i].image, text, line);
	sw_buf_putc(&s->warns, 0);
	s->nwarns++;
}

static void slot_decided(review *rv, size_t i, const verdict *v)
{
	slot *s = &rv->slots[i];
	const char *image = rv->r.images[i].image;
	size_t k;

	s->known = true;
	s->allowed = v->allowed;
	if (v->digest[0] && !s->digest[0])
		snprintf(s->digest, sizeof(s->digest), "%s", v->digest);
	for (k = 0; k < v->nr; k++) {
		const vreason *rs = &v->r[k];
		if (rs->kind == SW_REASON_DENY && !v->allowed) {
			if (s->deny.len)
				sw_buf_printf(&s->deny, "; ");
			slot_reason(rv->wh, &s->deny, image, rs->text, rs->line);
		} else {
			slot_warn(rv, i, rs->text, rs->line);
		}
	}
	if (!s->allowed && !s->deny.len)
		sw_buf_printf(&s->deny, "%s: denied by the policy %s", image, policy_name(rv->wh));
}

static void slot_deny(review *rv, size_t i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void slot_deny(review *rv, size_t i, const char *fmt, ...)
{
	slot *s = &rv->slots[i];
	char msg[1000];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->known = true;
	s->allowed = false;
	s->pin_wait = false;
	sw_buf_reset(&s->deny);
	sw_buf_printf(&s->deny, "%s", msg);
}

/* ---- answering ---- */

static void wait_on(review *rv, size_t i, sw_dc_entry *e)
{
	sw_waiter_add(&rv->slots[i].w, &((verdict *)e->val)->waiters, rv, i);
	rv->slots[i].waiting = e;
}

static void review_free(review *rv)
{
	size_t i;

	if (!rv)
		return;
	for (i = 0; rv->slots && i < rv->r.nimages; i++) {
		sw_waiter_remove(&rv->slots[i].w);
		sw_buf_release(&rv->slots[i].deny);
		sw_buf_release(&rv->slots[i].warns);
	}
	if (rv->timer_on)
		sw_http_timer_stop(&rv->timer);
	free(rv->slots);
	sw_review_release(&rv->r);
	sw_pol_unref(rv->pol);
	free(rv);
}

static void log_review(const review *rv, bool allowed, const char *reason, double secs)
{
	sw_buf b = SW_BUF_INIT(1u << 16);
	sw_jw w = SW_JW_INIT(&b);
	size_t i;

	sw_jw_obj(&w);
	sw_jw_kint(&w, "time", (long long)time(NULL));
	sw_jw_kstr(&w, "event", "review");
	sw_jw_kstr(&w, "path", path_names[rv->path]);
	sw_jw_kstr(&w, "uid", rv->r.uid);
	sw_jw_kstr(&w, "namespace", rv->r.ns);
	sw_jw_kstr(&w, "kind", rv->r.kind);
	sw_jw_kstr(&w, "name", rv->r.name);
	sw_jw_kstr(&w, "operation", rv->r.operation);
	sw_jw_kbool(&w, "dry_run", rv->r.dry_run);
	sw_jw_kstr(&w, "protocol", rv->proto);
	sw_jw_karr(&w, "images");
	for (i = 0; i < rv->r.nimages; i++)
		sw_jw_str(&w, rv->r.images[i].image);
	sw_jw_end(&w);
	sw_jw_kuint(&w, "unchanged", rv->r.unchanged);
	sw_jw_kbool(&w, "allowed", allowed);
	sw_jw_kstr(&w, "reason", reason);
	sw_jw_key(&w, "ms");
	sw_jw_real(&w, secs * 1000.0, 2);
	sw_jw_end(&w);
	if (sw_jw_done(&w) == 0 && sw_buf_putc(&b, '\n') == 0)
		sw_http_logline(b.data, b.len);
	sw_buf_release(&b);
}

/* The patch of /mutate: each image written without a digest, at every
 * place, becomes IMAGE@DIGEST (the tag kept, for people). */
static int build_patch(review *rv, const char ***ptrs, const char ***vals, size_t *n, sw_buf *values)
{
	size_t i, k, off = 0;

	*ptrs = *vals = NULL;
	*n = 0;
	for (i = 0; i < rv->r.nimages; i++) {
		const sw_review_image *im = &rv->r.images[i];
		if (!rv->slots[i].digest[0] || strchr(im->image, '@'))
			continue;
		if (sw_buf_printf(values, "%s@%s", im->image, rv->slots[i].digest) < 0 || sw_buf_putc(values, 0) < 0)
			return SW_ENOMEM;
	}
	for (i = 0; i < rv->r.nimages; i++) {
		const sw_review_image *im = &rv->r.images[i];
		const char *val;
		if (!rv->slots[i].digest[0] || strchr(im->image, '@'))
			continue;
		val = values->data + off;
		off += strlen(val) + 1;
		for (k = 0; k < im->nptrs; k++) {
			if (SW_GROW(*ptrs, *n) < 0 || SW_GROW(*vals, *n) < 0)
				return SW_ENOMEM;
			(*ptrs)[*n] = im->ptrs[k];
			(*vals)[*n] = val;
			(*n)++;
		}
	}
	return 0;
}

/* Every slot is known: write the AdmissionReview response. */
static void answer(review *rv)
{
	webhook *wh = rv->wh;
	sw_buf msg = SW_BUF_INIT(1u << 16), full = SW_BUF_INIT(1u << 16), imgs = SW_BUF_INIT(1u << 16);
	sw_buf out = SW_BUF_INIT(4u << 20), values = SW_BUF_INIT(SW_REVIEW_PATCH_MAX);
	const char **warns = NULL, **ptrs = NULL, **vals = NULL;
	size_t nwarns = 0, npatch = 0, i, k;
	sw_review_answer a = { true, NULL, NULL, 0, NULL, NULL, NULL, NULL, 0 };
	double secs = sw_now() - rv->t0;
	int d;

	for (i = 0; i < rv->r.nimages; i++) {
		slot *s = &rv->slots[i];
		const char *p = sw_buf_cstr(&s->warns);
		if (!s->allowed) {
			sw_buf_printf(&msg, "%s%s", a.allowed ? "" : "; ", sw_buf_cstr(&s->deny));
			a.allowed = false;
		}
		for (k = 0; k < s->nwarns; k++, p += strlen(p) + 1)
			if (SW_GROW(warns, nwarns) == 0)
				warns[nwarns++] = p;
		sw_buf_printf(&imgs, "%s%s%s%s", i ? "," : "", rv->r.images[i].image, s->digest[0] ? "=" : "",
			      s->digest);
	}
	if (rv->r.too_many) {
		sw_buf_printf(&msg, "%smore than %d distinct images or %d containers in one object: split it",
			      a.allowed ? "" : "; ", SW_REVIEW_MAX_IMAGES, SW_REVIEW_MAX_PLACES);
		a.allowed = false;
	}
	if (a.allowed && rv->path == P_MUTATE && build_patch(rv, &ptrs, &vals, &npatch, &values) < 0) {
		sw_buf_printf(&msg, "out of memory while pinning the images");
		a.allowed = false;
		npatch = 0;
	}
	if (!a.allowed) {
		sw_buf_printf(&full, "stowaway denied %s %s%s%s: %s", rv->r.kind, rv->r.ns, rv->r.ns[0] ? "/" : "",
			      rv->r.name, sw_buf_cstr(&msg));
		a.message = sw_buf_cstr(&full);
		npatch = 0;
	}
	a.warnings = warns;
	a.nwarnings = nwarns;
	d = !a.allowed ? D_DENY : nwarns ? D_WARN : D_ALLOW;
	a.decision = decision_names[d];
	if (rv->r.nimages)
		a.images = sw_buf_cstr(&imgs);
	a.patch_ptrs = ptrs;
	a.patch_values = vals;
	a.npatch = npatch;
	if (sw_review_write(&out, rv->r.uid, &a) == 0)
		sw_http_reply(rv->req, 200, "application/json", out.data, out.len);
	else
		sw_http_reply(rv->req, 500, "text/plain", "cannot write the response\n", 26);
	wh->m.reviews[rv->path][d]++;
	sw_hist_observe(&wh->m.latency, secs);
	log_review(rv, a.allowed, a.allowed ? (nwarns ? warns[0] : "") : a.message, secs);
	free(warns);
	free(ptrs);
	free(vals);
	sw_buf_release(&msg);
	sw_buf_release(&full);
	sw_buf_release(&imgs);
	sw_buf_release(&out);
	sw_buf_release(&values);
	review_free(rv);
}

/* Slot i is final: the review is answered with its last one. */
static void slot_final(review *rv, size_t i)
{
	rv->slots[i].stage = S_FINAL;
	if (--rv->pending == 0)
		answer(rv);
}

static void on_gone(void *arg)
{
	review *rv = arg;

	rv->req = NULL;
	review_free(rv);
}

/* What the work an entry waits on is doing, for a deadline's message. */
static void describe(const webhook *wh, const slot *s, double now, char *out, size_t n)
{
	const verdict *v = s->waiting ? s->waiting->val : NULL;
	const job *j = v ? v->j : NULL;

	if (!j)
		snprintf(out, n, "%s", s->stage == S_TAG ? "resolving its tag" : "deciding");
	else if (atomic_load_explicit(&j->state, memory_order_acquire) == 1)
		snprintf(out, n, "%s (for %.1f s)", j->phase, now - j->started);
	else
		snprintf(out, n, "waiting for a free %s worker (%zu queued)", j->kind == J_SCAN ? "scan" : "decision",
			 sw_pool_queued(j->kind == J_SCAN ? wh->scans : wh->pool));
}

/* The deadline: what is not decided is not yet verified. */
static void on_deadline(sw_http_timer *t)
{
	review *rv = (review *)((char *)t - offsetof(review, timer));
	webhook *wh = rv->wh;
	double now = sw_now();
	size_t i;

	rv->timer_on = false;
	for (i = 0; i < rv->r.nimages; i++) {
		slot *s = &rv->slots[i];
		const char *image = rv->r.images[i].image;
		const verdict *v = s->waiting ? s->waiting->val : NULL;
		char what[400], msg[700];
		if (s->stage == S_FINAL)
			continue;
		sw_waiter_remove(&s->w);
		describe(wh, s, now, what, sizeof(what));
		if (s->pin_wait) {
			/* allowed by its name; /mutate could not pin it in time */
			snprintf(msg, sizeof(msg), "not pinned to a digest: %s", what);
			if (s->on_timeout_allow) {
				slot_warn(rv, i, msg, s->on_timeout_line);
				wh->m.deadline_allowed++;
			} else {
				slot_deny(rv, i, "not yet verified: %s: %s, retry", image, msg);
				wh->m.deadline_unverified++;
			}
			s->pin_wait = false;
		} else if (v && v->scanning) {
			slot_deny(rv, i, "scan pending: %s: %s, retry", image, what);
			wh->m.deadline_unverified++;
		} else if (s->on_timeout_allow) {
			s->known = s->allowed = true;
			snprintf(msg, sizeof(msg), "admitted unverified (on_timeout: allow): %s", what);
			slot_warn(rv, i, msg, s->on_timeout_line);
			wh->m.deadline_allowed++;
		} else {
			slot_deny(rv, i, "not yet verified: %s: %s, retry", image, what);
			wh->m.deadline_unverified++;
		}
		s->stage = S_FINAL;
		rv->pending--;
	}
	if (rv->pending == 0)
		answer(rv);
}

/* ---- the work, on the workers ---- */

static void job_free(job *j)
{
	sw_pol_unref(j->pol);
	free(j->res);
	free(j->input);
	free(j);
}

/* The digest a tag points to now (the index of a multi-platform image, as
 * the kubelet pulls it and cosign signs it). */
static void run_resolve(job *j)
{
	const sw_image_opts *io = &j->wh->image;
	sw_error err = SW_ERROR_INIT;
	sw_reg *reg = NULL;
	sw_ref ref;
	char *mt = NULL, *dg = NULL;

	snprintf(j->phase, sizeof(j->phase), "resolving its tag at the registry");
	atomic_store_explicit(&j->state, 1, memory_order_release);
	if (sw_ref_parse(j->input, &ref, &err) < 0 ||
	    sw_reg_open(&reg, ref.domain, ref.path, io->registry, &err) < 0 ||
	    sw_reg_resolve(reg, ref.tag[0] ? ref.tag : "latest", io->max_manifest, &dg, &mt, &err) < 0)
		snprintf(j->error, sizeof(j->error), "%s", err.msg[0] ? err.msg : "cannot resolve");
	else
		snprintf(j->digest, sizeof(j->digest), "%s", dg);
	free(mt);
	free(dg);
	sw_reg_free(reg);
}

static void run_decide(job *j)
{
	sw_check_opts co = SW_CHECK_OPTS_INIT;
	sw_check_result nr;

	/* what the decision will do that takes time, for a deadline's message */
	snprintf(j->phase, sizeof(j->phase), "checking it");
	if (sw_check_name(j->pol->p, j->input, &nr) == 0 && (nr.d.need_signature || nr.d.need_attestation))
		snprintf(j->phase, sizeof(j->phase), "reaching its registry to verify its %s",
			 nr.d.need_signature && nr.d.need_attestation ? "signature and its signed scan verdict"
			 : nr.d.need_signature ? "signature" : "signed scan verdict");
	j->started = sw_now();
	atomic_store_explicit(&j->state, 1, memory_order_release);
	co.image = &j->wh->image;
	co.scan = &j->wh->scan;
	co.defer_scan = true;
	if (!(j->res = malloc(sizeof(*j->res))) || sw_check(j->pol->p, j->input, &co, j->res) < 0) {
		free(j->res);
		j->res = NULL;
	}
}

static void run_scan(job *j)
{
	sw_check_opts co = SW_CHECK_OPTS_INIT;

	snprintf(j->phase, sizeof(j->phase), "scanning its layers");
	j->started = sw_now();
	atomic_store_explicit(&j->state, 1, memory_order_release);
	co.image = &j->wh->image;
	co.scan = &j->wh->scan;
	sw_check_run_scan(j->input, &co, j->res);
}

static void job_run(sw_pool_job *pj)
{
	job *j = (job *)pj;

	j->started = sw_now();
	if (j->kind == J_RESOLVE)
		run_resolve(j);
	else if (j->kind == J_DECIDE)
		run_decide(j);
	else
		run_scan(j);
}

static void wake(void *owner, size_t i, void *ctx)
{
	review *rv = owner;

	rv->slots[i].waiting = NULL;
	advance(rv, i, *(const double *)ctx);
}

/* Every review waiting on e looks again (on the loop). */
static void notify(sw_dc_entry *e)
{
	verdict *v = e->val;
	double now = sw_now();
	bool held = e->held;

	e->held = true; /* not evicted while its waiters look at it */
	sw_waiters_wake(&v->waiters, &v->notify, wake, &now);
	e->held = held;
}

static int submit(webhook *wh, sw_dc_entry *e, sw_pol *pl, int kind, char *input, sw_check_result *res)
{
	job *j = calloc(1, sizeof(*j));

	if (!j) {
		free(input);
		return SW_ENOMEM;
	}
	j->wh = wh;
	j->e = e;
	j->pol = pl;
	sw_pol_ref(pl);
	j->kind = kind;
	j->input = input;
	j->res = res;
	j->queued = sw_now();
	j->base.run = job_run;
	j->base.done.fn = job_done;
	if (sw_pool_submit(kind == J_SCAN ? wh->scans : wh->pool, &j->base) < 0) {
		j->res = NULL; /* the caller's still */
		job_free(j);
		return SW_ELIMIT;
	}
	((verdict *)e->val)->j = j;
	wh->m.jobs[kind]++;
	return 0;
}

/* A decision failed to be made (out of memory, a full scan queue): a
 * denial, kept as briefly as denials are. */
static void decision_failed(webhook *wh, sw_dc_entry *e, const char *why)
{
	verdict *v = e->val;

	verdict_release(v);
	v->allowed = false;
	v->enforce = true;
	v->scanning = false;
	if ((v->r = calloc(1, sizeof(*v->r))) && (v->r[0].text = sw__strdup(why))) {
		v->r[0].kind = SW_REASON_DENY;
		v->nr = 1;
	}
	sw_dc_done(wh->dc, e, sw_now(), wh->o.ttl_deny, 64);
}

static void job_done(sw_http_msg *m)
{
	job *j = (job *)((char *)m - offsetof(job, base.done));
	webhook *wh = j->wh;
	sw_dc_entry *e = j->e;
	verdict *v = e->val;
	double now = sw_now();

	v->j = NULL;
	if (j->kind == J_RESOLVE) {
		if (j->error[0]) {
			wh->m.job_errors[J_RESOLVE]++;
			v->error = sw__strdup(j->error);
			sw_dc_done(wh->dc, e, now, wh->o.ttl_deny, strlen(j->error) + 1);
		} else {
			snprintf(v->digest, sizeof(v->digest), "%s", j->digest);
			sw_dc_done(wh->dc, e, now, wh->o.ttl_tag, 0);
		}
	} else if (!j->res) {
		wh->m.job_errors[j->kind]++;
		decision_failed(wh, e, "out of memory while deciding");
	} else if (j->kind == J_DECIDE && j->res->scan_due) {
		/* decided but for the scan: it goes to the scan pool, with the
		 * decision so far */
		char *in = sw__strdup(j->input);
		v->scanning = true;
		if (!in || submit(wh, e, j->pol, J_SCAN, in, j->res) < 0) {
			wh->m.busy++;
			decision_failed(wh, e, "the scan queue is full: the image could not be scanned, retry");
		} else {
			j->res = NULL; /* the scan job's now */
		}
	} else {
		v->scanning = false;
		if (verdict_from(v, j->res) < 0)
			decision_failed(wh, e, "out of memory while deciding");
		else
			sw_dc_done(wh->dc, e, now, v->allowed ? wh->o.ttl_allow : wh->o.ttl_deny, v->bytes);
	}
	job_free(j);
	notify(e);
}

/* ---- the steps of one image ---- */

/* Step 1, on the loop: the name's verdict, cached. NULL when out of memory
 * (or the table has no room: then *tmp holds it, the caller's to free). */
static const verdict *name_verdict(review *rv, const char *image, double now, verdict **tmp)
{
	webhook *wh = rv->wh;
	sw_check_result *r = &wh->scratch;
	char key[1200];
	sw_dc_entry *e;
	verdict *v;

	*tmp = NULL;
	snprintf(key, sizeof(key), "n|%s|%s", rv->pol->hash, image);
	if ((e = sw_dc_get(wh->dc, key, now)) && e->done) {
		wh->m.lookups[K_NAME][0]++;
		return e->val;
	}
	wh->m.lookups[K_NAME][2]++;
	if (!(v = calloc(1, sizeof(*v))))
		return NULL;
	if (sw_check_name(rv->pol->p, image, r) < 0 || verdict_from(v, r) < 0) {
		verdict_release(v);
		free(v);
		return NULL;
	}
	v->io = r->d.need_scan || r->d.need_signature || r->d.need_attestation;
	v->on_timeout_allow = r->d.on_timeout_allow;
	v->on_timeout_line = r->d.on_timeout_line;
	v->scan_pending_warn = r->d.scan_pending_warn;
	v->scan_pending_line = r->d.scan_pending_line;
	snprintf(v->ref, sizeof(v->ref), "%s", r->bad_input ? "" : r->reference);
	if (v->io)
		key_hash(&r->d, v->keyhash);
	if (!(e = sw_dc_add(wh->dc, key, K_NAME, now))) {
		*tmp = v;
		return v;
	}
	e->val = v;
	sw_dc_done(wh->dc, e, now, NAME_TTL, sizeof(*v) + v->bytes);
	return v;
}

/* A new entry for key with work of its own, or a denial said in the slot
 * (false). */
static sw_dc_entry *start_work(review *rv, size_t i, const char *key, int kind, int jkind, char *input, double now)
{
	webhook *wh = rv->wh;
	sw_dc_entry *e;
	verdict *v;

	if (!input || !(v = calloc(1, sizeof(*v)))) {
		free(input);
		slot_deny(rv, i, "not yet verified: %s: out of memory, retry", rv->r.images[i].image);
		return NULL;
	}
	if (!(e = sw_dc_add(wh->dc, key, kind, now))) {
		free(input);
		free(v);
		wh->m.busy++;
		slot_deny(rv, i, "not yet verified: %s: the server is busy (every cache slot is in use), retry",
			  rv->r.images[i].image);
		return NULL;
	}
	e->val = v;
	if (submit(wh, e, rv->pol, jkind, input, NULL) < 0) {
		sw_dc_drop(wh->dc, e);
		wh->m.busy++;
		slot_deny(rv, i, "not yet verified: %s: the server is busy (the work queue is full), retry",
			  rv->r.images[i].image);
		return NULL;
	}
	return e;
}

/* Step 3: the decision on REF@DIGEST. */
static void decide_step(review *rv, size_t i, double now)
{
	webhook *wh = rv->wh;
	slot *s = &rv->slots[i];
	char key[1200], pinned[1000];
	const char *at = strchr(s->ref, '@');
	sw_dc_entry *e;
	verdict *v;

	s->stage = S_DECIDE;
	if (at)
		snprintf(pinned, sizeof(pinned), "%s", s->ref);
	else
		snprintf(pinned, sizeof(pinned), "%s@%s", s->ref, s->digest);
	snprintf(key, sizeof(key), "d|%s|%s|%s", rv->pol->hash, s->keyhash, pinned);
	if (!(e = sw_dc_get(wh->dc, key, now))) {
		wh->m.lookups[K_DECISION][2]++;
		if ((e = start_work(rv, i, key, K_DECISION, J_DECIDE, sw__asprintf("docker://%s", pinned), now)))
			wait_on(rv, i, e);
		else
			slot_final(rv, i);
		return;
	}
	v = e->val;
	if (e->done) {
		wh->m.lookups[K_DECISION][0]++;
		slot_decided(rv, i, v);
		slot_final(rv, i);
		return;
	}
	wh->m.lookups[K_DECISION][1]++;
	if (v->scanning && s->scan_pending_warn) {
		char msg[300];
		snprintf(msg, sizeof(msg), "admitted while its scan is pending (scan.pending: warn)");
		s->known = s->allowed = true;
		slot_warn(rv, i, msg, s->scan_pending_line);
		wh->m.scan_pending_warned++;
		slot_final(rv, i);
		return;
	}
	wait_on(rv, i, e);
}

/* Step 2: the digest of a reference written with a tag. */
static void tag_step(review *rv, size_t i, double now)
{
	webhook *wh = rv->wh;
	slot *s = &rv->slots[i];
	const char *at = strchr(s->ref, '@');
	char key[1000];
	sw_dc_entry *e;
	verdict *v;

	s->stage = S_TAG;
	if (at) {
		snprintf(s->digest, sizeof(s->digest), "%s", at + 1);
		s->pin_wait = false;
		if (s->known)
			slot_final(rv, i);
		else
			decide_step(rv, i, now);
		return;
	}
	snprintf(key, sizeof(key), "t|%s", s->ref);
	if (!(e = sw_dc_get(wh->dc, key, now))) {
		wh->m.lookups[K_TAG][2]++;
		if ((e = start_work(rv, i, key, K_TAG, J_RESOLVE, sw__strdup(s->ref), now)))
			wait_on(rv, i, e);
		else
			slot_final(rv, i);
		return;
	}
	if (!e->done) {
		wh->m.lookups[K_TAG][1]++;
		wait_on(rv, i, e);
		return;
	}
	wh->m.lookups[K_TAG][0]++;
	v = e->val;
	if (v->error) {
		slot_deny(rv, i, "%s: cannot resolve its tag at the registry: %s", rv->r.images[i].image, v->error);
		slot_final(rv, i);
		return;
	}
	snprintf(s->digest, sizeof(s->digest), "%s", v->digest);
	if (s->known) { /* decided by its name; /mutate pins it */
		s->pin_wait = false;
		slot_final(rv, i);
		return;
	}
	decide_step(rv, i, now);
}

/* Continue image i from where it is (its step's entry changed). */
static void advance(review *rv, size_t i, double now)
{
	if (rv->slots[i].stage == S_TAG)
		tag_step(rv, i, now);
	else if (rv->slots[i].stage == S_DECIDE)
		decide_step(rv, i, now);
}

/* Step 1 and what follows. */
static void start_image(review *rv, size_t i, double now)
{
	slot *s = &rv->slots[i];
	const char *image = rv->r.images[i].image;
	verdict *tmp;
	const verdict *v = name_verdict(rv, image, now, &tmp);

	if (!v) {
		slot_deny(rv, i, "not yet verified: %s: out of memory, retry", image);
		slot_final(rv, i);
		return;
	}
	s->io = v->io;
	s->on_timeout_allow = v->on_timeout_allow;
	s->on_timeout_line = v->on_timeout_line;
	s->scan_pending_warn = v->scan_pending_warn;
	s->scan_pending_line = v->scan_pending_line;
	snprintf(s->ref, sizeof(s->ref), "%s", v->ref);
	memcpy(s->keyhash, v->keyhash, sizeof(s->keyhash));
	if ((!v->allowed && v->enforce) || !v->io || !v->ref[0]) {
		slot_decided(rv, i, v);
		/* /mutate pins what it admits, even by name alone */
		s->pin_wait = rv->path == P_MUTATE && s->allowed && v->ref[0] && !strchr(image, '@');
	}
	if (tmp) {
		verdict_release(tmp);
		free(tmp);
	}
	if (s->known && !s->pin_wait) {
		slot_final(rv, i);
		return;
	}
	tag_step(rv, i, now);
}

/* ---- routes ---- */

static void on_review(webhook *wh, sw_http_req *req, int path)
{
	sw_error err = SW_ERROR_INIT;
	review *rv;
	const char *m, *body;
	char ct[64];
	size_t mlen, blen, i;
	double now = sw_now();

	m = sw_http_method(req, &mlen);
	if (mlen != 4 || memcmp(m, "POST", 4) != 0) {
		refuse(wh, req, 405, "POST an AdmissionReview");
		return;
	}
	if (strcmp(sw_http_ctype(req, ct, sizeof(ct)), "application/json") != 0) {
		refuse(wh, req, 415, "Content-Type must be application/json");
		return;
	}
	body = sw_http_body(req, &blen);
	if (!(rv = calloc(1, sizeof(*rv)))) {
		refuse(wh, req, 503, "out of memory");
		return;
	}
	rv->wh = wh;
	rv->req = req;
	rv->t0 = now;
	rv->path = path;
	rv->proto = sw_http_version(req);
	rv->pol = sw_pol_ref(wh->pw.cur);
	if (sw_review_read(body, blen, &rv->r, &err) < 0) {
		review_free(rv);
		refuse(wh, req, err.code == SW_ENOMEM ? 503 : 400, err.msg);
		return;
	}
	if (rv->r.nimages && !(rv->slots = calloc(rv->r.nimages, sizeof(*rv->slots)))) {
		review_free(rv);
		refuse(wh, req, 503, "out of memory");
		return;
	}
	for (i = 0; i < rv->r.nimages; i++) {
		rv->slots[i].deny = (sw_buf)SW_BUF_INIT(1u << 14);
		rv->slots[i].warns = (sw_buf)SW_BUF_INIT(1u << 14);
	}
	rv->pending = rv->r.nimages + 1; /* one more until every image started */
	for (i = 0; i < rv->r.nimages; i++)
		start_image(rv, i, now);
	if (--rv->pending == 0) {
		answer(rv);
		return;
	}
	rv->timer.fn = on_deadline;
	if (sw_http_timer_start(wh->http, &rv->timer, wh->deadline_ms) == 0)
		rv->timer_on = true;
	sw_http_hold(req, on_gone, rv);
}

static void on_validate(void *ctx, sw_http_req *req)
{
	on_review(ctx, req, P_VALIDATE);
}

static void on_mutate(void *ctx, sw_http_req *req)
{
	on_review(ctx, req, P_MUTATE);
}

static void on_healthz(void *ctx, sw_http_req *req)
{
	(void)ctx;
	reply_json(req, 200, "status", "ok");
}

static void on_readyz(void *ctx, sw_http_req *req)
{
	webhook *wh = ctx;

	sw_serve_readyz(req, wh->http, &wh->pw, policy_name(wh));
}

static void on_metrics(void *ctx, sw_http_req *req)
{
	static const char *const refused[] = { "400", "405", "413", "415", "503", "other" };
	static const char *const results[] = { "hit", "wait", "miss" };
	webhook *wh = ctx;
	const metrics *m = &wh->m;
	sw_buf b = SW_BUF_INIT(1u << 20);
	char l[128];
	size_t p, d, k;

	sw_prom_head(&b, "stowaway_webhook_reviews_total", "counter", "AdmissionReviews answered, by path and decision");
	for (p = 0; p < 2; p++)
		for (d = 0; d < 3; d++) {
			snprintf(l, sizeof(l), "path=\"%s\",decision=\"%s\"", path_names[p], decision_names[d]);
			sw_prom_val(&b, "stowaway_webhook_reviews_total", l, (double)m->reviews[p][d]);
		}
	sw_prom_head(&b, "stowaway_webhook_refused_total", "counter",
		     "requests refused before a review (not an AdmissionReview, wrong method or type, too large)");
	for (k = 0; k < 6; k++) {
		snprintf(l, sizeof(l), "code=\"%s\"", refused[k]);
		sw_prom_val(&b, "stowaway_webhook_refused_total", l, (double)m->refused[k]);
	}
	sw_prom_hist(&b, "stowaway_webhook_review_duration_seconds", "time from a review's arrival to its answer",
		     &m->latency);
	sw_prom_head(&b, "stowaway_webhook_cache_lookups_total", "counter",
		     "lookups by cache (name, tag, decision) and result (hit, wait: work under way, miss)");
	for (k = 0; k < 3; k++)
		for (d = 0; d < 3; d++) {
			snprintf(l, sizeof(l), "cache=\"%s\",result=\"%s\"", kind_names[k], results[d]);
			sw_prom_val(&b, "stowaway_webhook_cache_lookups_total", l, (double)m->lookups[k][d]);
		}
	sw_prom_head(&b, "stowaway_webhook_cache_entries", "gauge", "entries kept, by cache");
	for (k = 0; k < 3; k++) {
		snprintf(l, sizeof(l), "cache=\"%s\"", kind_names[k]);
		sw_prom_val(&b, "stowaway_webhook_cache_entries", l, (double)sw_dc_count(wh->dc, (int)k));
	}
	sw_prom_head(&b, "stowaway_webhook_cache_bytes", "gauge", "memory the caches hold");
	sw_prom_val(&b, "stowaway_webhook_cache_bytes", "", (double)sw_dc_bytes(wh->dc));
	sw_prom_head(&b, "stowaway_webhook_cache_evictions_total", "counter", "entries dropped to make room");
	sw_prom_val(&b, "stowaway_webhook_cache_evictions_total", "", (double)sw_dc_evicted(wh->dc));
	sw_prom_head(&b, "stowaway_webhook_registry_work_total", "counter",
		     "work that reaches a registry, by kind (resolve a tag, decide, scan)");
	for (k = 0; k < 3; k++) {
		snprintf(l, sizeof(l), "kind=\"%s\"", job_names[k]);
		sw_prom_val(&b, "stowaway_webhook_registry_work_total", l, (double)m->jobs[k]);
	}
	sw_prom_head(&b, "stowaway_webhook_registry_errors_total", "counter", "such work that failed");
	for (k = 0; k < 3; k++) {
		snprintf(l, sizeof(l), "kind=\"%s\"", job_names[k]);
		sw_prom_val(&b, "stowaway_webhook_registry_errors_total", l, (double)m->job_errors[k]);
	}
	sw_prom_head(&b, "stowaway_webhook_queue_depth", "gauge", "work waiting for a worker, by pool");
	sw_prom_val(&b, "stowaway_webhook_queue_depth", "pool=\"decide\"", (double)sw_pool_queued(wh->pool));
	sw_prom_val(&b, "stowaway_webhook_queue_depth", "pool=\"scan\"", (double)sw_pool_queued(wh->scans));
	sw_prom_head(&b, "stowaway_webhook_deadline_total", "counter",
		     "images not decided by the deadline: denied (not yet verified, scan pending) or allowed (on_timeout: allow)");
	sw_prom_val(&b, "stowaway_webhook_deadline_total", "result=\"denied\"", (double)m->deadline_unverified);
	sw_prom_val(&b, "stowaway_webhook_deadline_total", "result=\"allowed\"", (double)m->deadline_allowed);
	sw_prom_head(&b, "stowaway_webhook_scan_pending_admitted_total", "counter",
		     "images admitted with a warning while their scan runs (scan.pending: warn)");
	sw_prom_val(&b, "stowaway_webhook_scan_pending_admitted_total", "", (double)m->scan_pending_warned);
	sw_prom_head(&b, "stowaway_webhook_busy_total", "counter", "images denied because a queue or the cache was full");
	sw_prom_val(&b, "stowaway_webhook_busy_total", "", (double)m->busy);
	sw_prom_server(&b, "stowaway_webhook", &wh->pw);
	sw_prom_reply(req, &b);
}

/* ---- the policy's reloads ---- */

/* Every RELOAD_MS: a changed policy file is loaded; one that does not load
 * is refused, and the policy in force stays. */
static void on_reload(sw_http_timer *t)
{
	webhook *wh = (webhook *)((char *)t - offsetof(webhook, reload));

	wh->reload_on = false;
	sw_serve_reload(&wh->pw);
	if (!sw_http_stopping(wh->http) && sw_http_timer_start(wh->http, &wh->reload, RELOAD_MS) == 0)
		wh->reload_on = true;
}

/* ---- the whole ---- */

static int check_opts(const sw_webhook_opts *o, sw_error *err)
{
	if (!o->tls_cert || !o->tls_key)
		return sw_error_set(err, SW_EINVAL, "a webhook serves HTTPS only: give --tls-cert and --tls-key");
	if (!(o->deadline > 0.05 && o->deadline <= 30) || !(o->read_timeout >= 0.5 && o->read_timeout <= 300) ||
	    !o->workers || o->workers > 256 || !o->scan_workers || o->scan_workers > 64)
		return sw_error_set(err, SW_EINVAL, "deadline (0.05-30 s), read timeout (0.5-300 s), workers (1-256) "
				    "or scan workers (1-64) out of range");
	if (!(o->ttl_allow >= 0 && o->ttl_allow <= 86400) || !(o->ttl_deny >= 0 && o->ttl_deny <= 86400) ||
	    !(o->ttl_tag >= 0 && o->ttl_tag <= 86400) || o->cache_entries < 16 || o->cache_bytes < (1u << 20))
		return sw_error_set(err, SW_EINVAL, "cache lifetimes (0-86400 s), entries (16 or more) or memory "
				    "(1 MiB or more) out of range");
	return 0;
}

int sw_webhook_serve(const sw_webhook_opts *o, sw_error *err)
{
	sw_http_opts ho = SW_HTTP_OPTS_INIT;
	webhook *wh;
	int rc;

	if ((rc = check_opts(o, err)) < 0)
		return rc;
	if (!(wh = calloc(1, sizeof(*wh))))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	wh->o = *o;
	wh->image = (sw_image_opts)SW_IMAGE_OPTS_INIT;
	if (o->image)
		wh->image = *o->image;
	wh->scan = (sw_scan_opts)SW_SCAN_OPTS_INIT;
	if (o->scan)
		wh->scan = *o->scan;
	wh->scan.progress = NULL;
	wh->deadline_ms = (unsigned)(o->deadline * 1000.0 + 0.5);
	if ((rc = sw_polwatch_init(&wh->pw, o->policy, err)) < 0)
		goto out;
	if ((rc = sw_dc_new(&wh->dc, o->cache_entries, o->cache_bytes, free_val)) < 0) {
		sw_error_set(err, rc, "out of memory");
		goto out;
	}
	ho.listen = o->listen;
	ho.cert = o->tls_cert;
	ho.key = o->tls_key;
	ho.read_timeout_ms = (unsigned)(o->read_timeout * 1000.0 + 0.5);
	ho.handshake_timeout_ms = ho.read_timeout_ms;
	ho.max_conns = o->max_conns;
	ho.grace_ms = wh->deadline_ms + 2000;
	if ((rc = sw_http_new(&wh->http, &ho, err)) < 0)
		goto out;
	if ((rc = sw_pool_new(&wh->pool, wh->http, o->workers, MAX_QUEUED)) < 0 ||
	    (rc = sw_pool_new(&wh->scans, wh->http, o->scan_workers, MAX_SCANS_QUEUED)) < 0) {
		sw_error_set(err, rc, "cannot start the worker threads");
		goto out;
	}
	if ((rc = sw_http_route(wh->http, "/validate", on_validate, wh)) < 0 ||
	    (rc = sw_http_route(wh->http, "/mutate", on_mutate, wh)) < 0 ||
	    (rc = sw_http_route(wh->http, "/healthz", on_healthz, wh)) < 0 ||
	    (rc = sw_http_route(wh->http, "/readyz", on_readyz, wh)) < 0 ||
	    (rc = sw_http_route(wh->http, "/metrics", on_metrics, wh)) < 0) {
		sw_error_set(err, rc, "too many routes");
		goto out;
	}
	if (o->policy) {
		wh->reload.fn = on_reload;
		if (sw_http_timer_start(wh->http, &wh->reload, RELOAD_MS) == 0)
			wh->reload_on = true;
	}
	sw_http_log("policy-loaded", "policy", policy_name(wh));
	rc = sw_http_run(wh->http, err);
out:
	if (wh->reload_on)
		sw_http_timer_stop(&wh->reload);
	/* work still running (a registry that does not answer) keeps what it
	 * uses: the process is about to exit */
	if ((wh->pool && sw_pool_stop(wh->pool, 1.0) < 0) || (wh->scans && sw_pool_stop(wh->scans, 1.0) < 0)) {
		sw_http_log("stopped", "note", "work still running was abandoned");
		return rc;
	}
	sw_http_free(wh->http);
	sw_dc_free(wh->dc);
	sw_polwatch_release(&wh->pw);
	free(wh);
	return rc;
}
