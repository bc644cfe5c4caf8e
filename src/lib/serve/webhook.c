/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The validating admission webhook (stowaway/serve.h): routes on the
 * server core (http.c), decisions on the worker pool (pool.c), the
 * AdmissionReview read and written by review.c.
 *
 * A review's distinct images are looked up in a small table of decisions
 * keyed by the image as written (the policy is fixed for the process):
 * a decision finished less than DONE_TTL seconds ago answers at once; one
 * running gains a waiter; otherwise a job goes to the pool. The review is
 * answered, on the loop, when its last image is decided or when its
 * deadline passes, whichever comes first. At the deadline every image not
 * decided yet is a denial, "not yet verified: IMAGE: what was being done,
 * retry", and the job runs on: the retry finds it in the table. Nothing
 * fails open: a full queue or table is the same denial ("busy").
 *
 * The table is bounded (MAX_ENTRIES; a finished decision past its TTL or
 * the oldest finished one makes room, a running one never does) and is a
 * stand-in for the decision cache the issue asks for (digest-keyed,
 * negative TTLs, single-flight registry fetches), which replaces it.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stowaway/check.h"
#include "stowaway/names.h"
#include "stowaway/serve.h"
#include "http.h"
#include "pool.h"
#include "review.h"
#include "../util/util.h"

#define MAX_ENTRIES 1024
#define MAX_QUEUED 256
#define DONE_TTL 60.0

typedef struct review review;
typedef struct entry entry;

typedef struct waiter {
	review *rv;
	size_t slot;
	entry *e;
	struct waiter *prev, *next;
} waiter;

typedef struct job {
	sw_pool_job base;
	struct webhook *wh;
	entry *e;
	char *input;                /* docker://IMAGE: a registry reference, never a local path */
	sw_check_result res;
	atomic_int state;           /* 0 queued, 1 running (phase written) */
	char phase[300];
	double started;
} job;

struct entry {
	char *key;
	bool done;
	double finished;
	sw_check_result res;        /* when done */
	job *j;                     /* while running */
	waiter *waiters;
};

/* One image of a review, as the answer will tell it. */
typedef struct slot {
	bool known, allowed;
	sw_buf deny;                /* "IMAGE: reason (policy FILE:LINE)" */
	sw_buf warns;               /* warnings, NUL-separated */
	size_t nwarns;
	char digest[80];
	waiter w;                   /* while waiting (w.e set) */
} slot;

struct review {
	struct webhook *wh;
	sw_http_req *req;
	sw_review r;
	slot *slots;
	size_t pending;
	double t0;
	sw_http_timer timer;
	bool timer_on;
	const char *proto;
};

typedef struct webhook {
	sw_webhook_opts o;
	sw_policy *policy;
	sw_image_opts image;
	sw_http *http;
	sw_pool *pool;
	entry *entries[MAX_ENTRIES];
	size_t nentries;
	unsigned deadline_ms;
} webhook;

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

static const char *policy_name(const webhook *wh)
{
	return wh->o.policy ? wh->o.policy : "(built-in policy)";
}

/* ---- the table ---- */

static entry *find(webhook *wh, const char *key)
{
	size_t i;

	for (i = 0; i < wh->nentries; i++)
		if (strcmp(wh->entries[i]->key, key) == 0)
			return wh->entries[i];
	return NULL;
}

static void drop(webhook *wh, size_t i)
{
	entry *e = wh->entries[i];

	free(e->key);
	free(e);
	wh->entries[i] = wh->entries[--wh->nentries];
}

/* Room for one more entry: a stale decision, else the oldest finished
 * one, goes. false when every entry is running. */
static bool make_room(webhook *wh, double now)
{
	size_t i, oldest = SIZE_MAX;

	for (i = 0; i < wh->nentries; i++) {
		entry *e = wh->entries[i];
		if (!e->done)
			continue;
		if (now - e->finished > DONE_TTL) {
			drop(wh, i);
			return true;
		}
		if (oldest == SIZE_MAX || e->finished < wh->entries[oldest]->finished)
			oldest = i;
	}
	if (wh->nentries < MAX_ENTRIES)
		return true;
	if (oldest == SIZE_MAX)
		return false;
	drop(wh, oldest);
	return true;
}

/* ---- a decision into a slot ---- */

static void slot_reason(webhook *wh, sw_buf *b, const char *image, const sw_reason *rs)
{
	if (rs->line)
		sw_buf_printf(b, "%s: %s (policy %s:%d)", image, rs->text, policy_name(wh), rs->line);
	else
		sw_buf_printf(b, "%s: %s", image, rs->text);
}

static void slot_decided(review *rv, size_t i, const sw_check_result *r)
{
	slot *s = &rv->slots[i];
	const char *image = rv->r.images[i].image;
	size_t k;

	s->known = true;
	s->allowed = r->d.allowed;
	snprintf(s->digest, sizeof(s->digest), "%s", r->digest);
	for (k = 0; k < r->d.nreasons; k++) {
		const sw_reason *rs = &r->d.reasons[k];
		if (rs->kind == SW_REASON_DENY && !r->d.allowed) {
			if (s->deny.len)
				sw_buf_printf(&s->deny, "; ");
			slot_reason(rv->wh, &s->deny, image, rs);
		} else if (rs->kind == SW_REASON_WARN || rs->kind == SW_REASON_DENY) {
			slot_reason(rv->wh, &s->warns, image, rs);
			sw_buf_putc(&s->warns, 0);
			s->nwarns++;
		}
	}
	if (!s->allowed && !s->deny.len)
		sw_buf_printf(&s->deny, "%s: denied by the policy %s", image, policy_name(rv->wh));
}

static void slot_unverified(review *rv, size_t i, const char *what)
{
	slot *s = &rv->slots[i];

	s->known = true;
	s->allowed = false;
	sw_buf_printf(&s->deny, "not yet verified: %s: %s, retry", rv->r.images[i].image, what);
}

/* ---- answering ---- */

static void review_free(review *rv)
{
	size_t i;

	if (!rv)
		return;
	for (i = 0; rv->slots && i < rv->r.nimages; i++) {
		slot *s = &rv->slots[i];
		if (s->w.e) { /* still waiting: leave the entry's list */
			if (s->w.prev)
				s->w.prev->next = s->w.next;
			else
				s->w.e->waiters = s->w.next;
			if (s->w.next)
				s->w.next->prev = s->w.prev;
			s->w.e = NULL;
		}
		sw_buf_release(&s->deny);
		sw_buf_release(&s->warns);
	}
	if (rv->timer_on)
		sw_http_timer_stop(&rv->timer);
	free(rv->slots);
	sw_review_release(&rv->r);
	free(rv);
}

static void log_review(const review *rv, bool allowed, const char *reason)
{
	sw_buf b = SW_BUF_INIT(1u << 16);
	sw_jw w = SW_JW_INIT(&b);
	size_t i;

	sw_jw_obj(&w);
	sw_jw_kint(&w, "time", (long long)time(NULL));
	sw_jw_kstr(&w, "event", "review");
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
	sw_jw_real(&w, (sw_now() - rv->t0) * 1000.0, 2);
	sw_jw_end(&w);
	if (sw_jw_done(&w) == 0 && sw_buf_putc(&b, '\n') == 0)
		fwrite(b.data, 1, b.len, stderr);
	sw_buf_release(&b);
}

/* Every slot is known: write the AdmissionReview response. */
static void answer(review *rv)
{
	sw_buf msg = SW_BUF_INIT(1u << 16), full = SW_BUF_INIT(1u << 16), imgs = SW_BUF_INIT(1u << 16);
	sw_buf out = SW_BUF_INIT(1u << 20);
	const char **warns = NULL;
	size_t nwarns = 0, i, k;
	sw_review_answer a = { true, NULL, NULL, 0, NULL, NULL };

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
		sw_buf_printf(&msg, "%smore than %d distinct images in one object: split it", a.allowed ? "" : "; ",
			      SW_REVIEW_MAX_IMAGES);
		a.allowed = false;
	}
	if (!a.allowed) {
		sw_buf_printf(&full, "stowaway denied %s %s%s%s: %s", rv->r.kind, rv->r.ns, rv->r.ns[0] ? "/" : "",
			      rv->r.name, sw_buf_cstr(&msg));
		a.message = sw_buf_cstr(&full);
	}
	a.warnings = warns;
	a.nwarnings = nwarns;
	a.decision = !a.allowed ? "deny" : nwarns ? "warn" : "allow";
	if (rv->r.nimages)
		a.images = sw_buf_cstr(&imgs);
	if (sw_review_write(&out, rv->r.uid, &a) == 0)
		sw_http_reply(rv->req, 200, "application/json", out.data, out.len);
	else
		sw_http_reply(rv->req, 500, "text/plain", "cannot write the response\n", 26);
	log_review(rv, a.allowed, a.allowed ? (nwarns ? warns[0] : "") : a.message);
	free(warns);
	sw_buf_release(&msg);
	sw_buf_release(&full);
	sw_buf_release(&imgs);
	sw_buf_release(&out);
	review_free(rv);
}

static void on_gone(void *arg)
{
	review *rv = arg;

	rv->req = NULL;
	review_free(rv);
}

/* The deadline: what is not decided is not yet verified. */
static void on_deadline(sw_http_timer *t)
{
	review *rv = (review *)((char *)t - offsetof(review, timer));
	double now = sw_now();
	size_t i;

	rv->timer_on = false;
	for (i = 0; i < rv->r.nimages; i++) {
		slot *s = &rv->slots[i];
		char what[400];
		job *j;
		if (s->known || !s->w.e)
			continue;
		j = s->w.e->j;
		if (j && atomic_load_explicit(&j->state, memory_order_acquire) == 1)
			snprintf(what, sizeof(what), "%s (for %.1f s)", j->phase, now - j->started);
		else
			snprintf(what, sizeof(what), "waiting for a free worker (%zu decisions queued)",
				 sw_pool_queued(rv->wh->pool));
		slot_unverified(rv, i, what);
	}
	answer(rv);
}

/* ---- decisions on the workers ---- */

/* What the decision will do that takes time, for a deadline's message:
 * the policy's requirements for this reference (cheap: no I/O). */
static void name_phase(job *j)
{
	const webhook *wh = j->wh;
	sw_name_result nr;
	sw_decision d;
	sw_error err = SW_ERROR_INIT;
	const char *ref = j->input + strlen("docker://");

	snprintf(j->phase, sizeof(j->phase), "checking its name against the policy");
	if (sw_names_check(ref, &nr, &err) < 0)
		return;
	memset(&d, 0, sizeof(d));
	sw_policy_decide(wh->policy, "docker", &nr.ref, NULL, &nr, &d);
	if (d.need_scan || d.need_signature || d.need_attestation)
		snprintf(j->phase, sizeof(j->phase), "reaching its registry to %s%s%s%s%s",
			 d.need_scan ? "scan its layers" : "",
			 d.need_scan && (d.need_signature || d.need_attestation) ? " and " : "",
			 d.need_signature ? "verify its signature" : "",
			 d.need_signature && d.need_attestation ? " and " : "",
			 d.need_attestation ? "verify its signed scan verdict" : "");
}

static void job_run(sw_pool_job *pj)
{
	job *j = (job *)pj;
	sw_check_opts co = SW_CHECK_OPTS_INIT;

	j->started = sw_now();
	name_phase(j);
	atomic_store_explicit(&j->state, 1, memory_order_release);
	co.image = &j->wh->image;
	co.scan_mode = SW_CHECK_SCAN_AUTO;
	if (sw_check(j->wh->policy, j->input, &co, &j->res) < 0) {
		memset(&j->res, 0, sizeof(j->res));
		j->res.d.enforce = true;
		sw_decision_add(&j->res.d, SW_REASON_DENY, 0, "out of memory while deciding");
	}
}

/* On the loop: the decision is in; every review waiting for it learns it. */
static void job_done(sw_http_msg *m)
{
	job *j = (job *)((char *)m - offsetof(job, base.done));
	entry *e = j->e;
	waiter *w;

	e->res = j->res;
	e->done = true;
	e->finished = sw_now();
	e->j = NULL;
	free(j->input);
	free(j);
	while ((w = e->waiters)) {
		review *rv = w->rv;
		e->waiters = w->next;
		if (w->next)
			w->next->prev = NULL;
		w->e = NULL;
		slot_decided(rv, w->slot, &e->res);
		if (--rv->pending == 0)
			answer(rv);
	}
}

static void wait_on(review *rv, size_t i, entry *e)
{
	waiter *w = &rv->slots[i].w;

	w->rv = rv;
	w->slot = i;
	w->e = e;
	w->prev = NULL;
	w->next = e->waiters;
	if (e->waiters)
		e->waiters->prev = w;
	e->waiters = w;
	rv->pending++;
}

/* Start the decision on one image (or find it done or running). */
static void start_image(review *rv, size_t i, double now)
{
	webhook *wh = rv->wh;
	const char *image = rv->r.images[i].image;
	entry *e = find(wh, image);
	job *j;

	if (e && e->done && now - e->finished <= DONE_TTL) {
		slot_decided(rv, i, &e->res);
		return;
	}
	if (e && !e->done) {
		wait_on(rv, i, e);
		return;
	}
	if (!e && !make_room(wh, now)) {
		slot_unverified(rv, i, "the server is busy (every decision slot is taken)");
		return;
	}
	if (!e) {
		if (!(e = calloc(1, sizeof(*e))) || !(e->key = sw__strdup(image))) {
			free(e);
			slot_unverified(rv, i, "out of memory");
			return;
		}
		wh->entries[wh->nentries++] = e;
	}
	if (!(j = calloc(1, sizeof(*j))) || !(j->input = sw__asprintf("docker://%s", image))) {
		free(j);
		slot_unverified(rv, i, "out of memory");
		return;
	}
	j->wh = wh;
	j->e = e;
	j->base.run = job_run;
	j->base.done.fn = job_done;
	e->done = false;
	if (sw_pool_submit(wh->pool, &j->base) < 0) {
		free(j->input);
		free(j);
		e->done = true; /* an empty decision, stale at once */
		e->finished = now - DONE_TTL - 1;
		slot_unverified(rv, i, "the server is busy (the decision queue is full)");
		return;
	}
	e->j = j;
	wait_on(rv, i, e);
}

/* ---- routes ---- */

static void on_validate(void *ctx, sw_http_req *req)
{
	webhook *wh = ctx;
	sw_error err = SW_ERROR_INIT;
	review *rv;
	const char *m, *body;
	char ct[64];
	size_t mlen, blen, i;
	double now = sw_now();

	m = sw_http_method(req, &mlen);
	if (mlen != 4 || memcmp(m, "POST", 4) != 0)
		{ reply_json(req, 405, "error", "POST an AdmissionReview to /validate"); return; }
	if (strcmp(sw_http_ctype(req, ct, sizeof(ct)), "application/json") != 0)
		{ reply_json(req, 415, "error", "Content-Type must be application/json"); return; }
	body = sw_http_body(req, &blen);
	if (!(rv = calloc(1, sizeof(*rv))))
		{ reply_json(req, 503, "error", "out of memory"); return; }
	rv->wh = wh;
	rv->req = req;
	rv->t0 = now;
	rv->proto = sw_http_version(req);
	if (sw_review_read(body, blen, &rv->r, &err) < 0) {
		free(rv);
		{ reply_json(req, err.code == SW_ENOMEM ? 503 : 400, "error", err.msg); return; }
	}
	if (rv->r.nimages && !(rv->slots = calloc(rv->r.nimages, sizeof(*rv->slots)))) {
		review_free(rv);
		{ reply_json(req, 503, "error", "out of memory"); return; }
	}
	for (i = 0; i < rv->r.nimages; i++) {
		rv->slots[i].deny = (sw_buf)SW_BUF_INIT(1u << 14);
		rv->slots[i].warns = (sw_buf)SW_BUF_INIT(1u << 14);
	}
	for (i = 0; i < rv->r.nimages; i++)
		start_image(rv, i, now);
	if (rv->pending == 0)
		{ answer(rv); return; }
	rv->timer.fn = on_deadline;
	if (sw_http_timer_start(wh->http, &rv->timer, wh->deadline_ms) == 0)
		rv->timer_on = true;
	sw_http_hold(req, on_gone, rv);
}

static void on_healthz(void *ctx, sw_http_req *req)
{
	(void)ctx;
	reply_json(req, 200, "status", "ok");
}

static void on_readyz(void *ctx, sw_http_req *req)
{
	webhook *wh = ctx;

	if (sw_http_stopping(wh->http))
		reply_json(req, 503, "status", "stopping");
	else
		reply_json(req, 200, "status", "ready");
}

/* ---- the whole ---- */

static int load_policy(webhook *wh, sw_error *err)
{
	sw_policy_problem *probs = NULL;
	size_t nprobs = 0;
	int rc;

	if (!wh->o.policy)
		return sw_policy_default(&wh->policy) < 0 ? sw_error_set(err, SW_ENOMEM, "out of memory") : 0;
	rc = sw_policy_load(wh->o.policy, &wh->policy, &probs, &nprobs, err);
	if (rc < 0 && nprobs)
		sw_error_set(err, rc, "%s:%d: %s", wh->o.policy, probs[0].line, probs[0].msg);
	free(probs);
	return rc;
}

int sw_webhook_serve(const sw_webhook_opts *o, sw_error *err)
{
	sw_http_opts ho = SW_HTTP_OPTS_INIT;
	webhook *wh;
	int rc;

	if (!o->tls_cert || !o->tls_key)
		return sw_error_set(err, SW_EINVAL, "a webhook serves HTTPS only: give --tls-cert and --tls-key");
	if (!(o->deadline > 0.05 && o->deadline <= 30) || !(o->read_timeout >= 0.5 && o->read_timeout <= 300) ||
	    !o->workers || o->workers > 256)
		return sw_error_set(err, SW_EINVAL, "deadline (0.05-30 s), read timeout (0.5-300 s) or workers (1-256) "
				    "out of range");
	if (!(wh = calloc(1, sizeof(*wh))))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	wh->o = *o;
	wh->image = (sw_image_opts)SW_IMAGE_OPTS_INIT;
	if (o->image)
		wh->image = *o->image;
	wh->deadline_ms = (unsigned)(o->deadline * 1000.0 + 0.5);
	if ((rc = load_policy(wh, err)) < 0)
		goto out;
	ho.listen = o->listen;
	ho.cert = o->tls_cert;
	ho.key = o->tls_key;
	ho.read_timeout_ms = (unsigned)(o->read_timeout * 1000.0 + 0.5);
	ho.handshake_timeout_ms = ho.read_timeout_ms;
	ho.max_conns = o->max_conns;
	ho.grace_ms = wh->deadline_ms + 2000;
	if ((rc = sw_http_new(&wh->http, &ho, err)) < 0)
		goto out;
	if ((rc = sw_pool_new(&wh->pool, wh->http, o->workers, MAX_QUEUED)) < 0) {
		sw_error_set(err, rc, "cannot start the worker threads");
		goto out;
	}
	if ((rc = sw_http_route(wh->http, "/validate", on_validate, wh)) < 0 ||
	    (rc = sw_http_route(wh->http, "/healthz", on_healthz, wh)) < 0 ||
	    (rc = sw_http_route(wh->http, "/readyz", on_readyz, wh)) < 0) {
		sw_error_set(err, rc, "too many routes");
		goto out;
	}
	sw_http_log("policy-loaded", "policy", policy_name(wh));
	rc = sw_http_run(wh->http, err);
out:
	/* decisions still running (a registry that does not answer) keep
	 * what they use: the process is about to exit */
	if (sw_pool_stop(wh->pool, 1.0) < 0) {
		sw_http_log("stopped", "note", "decisions still running were abandoned");
		return rc;
	}
	sw_http_free(wh->http);
	while (wh->nentries)
		drop(wh, 0);
	sw_policy_free(wh->policy);
	free(wh);
	return rc;
}
