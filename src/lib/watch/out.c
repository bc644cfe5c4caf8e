/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the watch's store holds, for people and programs: progress of the
 * queue (status), the event log (events), and what was found (report).
 * Read-only: any number of these may run beside the workers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "watch_int.h"
#include "../util/util.h"
#include "../util/banned.h"

static void rfc3339(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + strlen(out), 32 - strlen(out), ".%03dZ", (int)(ms % 1000));
}

static int64_t scalar(sw_db *db, const char *sql, sw_error *err)
{
	sw_dbres *r = NULL;
	int64_t v;

	if (sw_db_exec(db, sql, NULL, 0, &r, err) < 0)
		return -1;
	v = sw_dbres_int(r, 0, 0);
	sw_dbres_free(r);
	return v;
}

/* rows of (name, count) into counts[k] for names[k] */
static void tally(const sw_dbres *r, const char *const *names, size_t n, int64_t *counts)
{
	size_t i, k;

	for (i = 0; i < sw_dbres_rows(r); i++)
		for (k = 0; k < n; k++)
			if (sw_dbres_text(r, i, 0) && strcmp(sw_dbres_text(r, i, 0), names[k]) == 0)
				counts[k] = sw_dbres_int(r, i, 1);
}

static int finish(sw_buf *b, FILE *out, sw_error *err)
{
	int rc = 0;

	if (sw_buf_err(b))
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
	else if (b->len && fwrite(b->data, 1, b->len, out) != b->len)
		rc = sw_error_set(err, SW_EIO, "cannot write the output");
	sw_buf_release(b);
	return rc;
}

int sw_watch_status(const char *url, sw_watch_format fmt, FILE *out, sw_error *err)
{
	sw_db *db = NULL;
	sw_dbres *r = NULL;
	sw_buf b = SW_BUF_INIT(64u << 20);
	sw_jw w = SW_JW_INIT(&b);
	int64_t jobs[4] = { 0 }, verdicts[3] = { 0 }, distinct, scanned, reused, twice, failed_images, first, last;
	static const char *const js[] = { "queued", "leased", "done", "failed" };
	static const char *const vs[] = { "clean", "suspicious", "malicious" };
	double ips = 0;
	size_t i, k;
	int rc;

	if ((rc = sw_watch__open(&db, url, err)) < 0)
		return rc;
	if (sw_db_exec(db, "SELECT state, COUNT(*) FROM watch_jobs GROUP BY state", NULL, 0, &r, err) < 0)
		goto fail;
	tally(r, js, 4, jobs);
	sw_dbres_free(r);
	r = NULL;
	if (sw_db_exec(db, "SELECT verdict, COUNT(*) FROM watch_images GROUP BY verdict", NULL, 0, &r, err) < 0)
		goto fail;
	tally(r, vs, 3, verdicts);
	sw_dbres_free(r);
	r = NULL;
	if ((distinct = scalar(db, "SELECT COUNT(*) FROM watch_layers WHERE scans > 0 OR reuses > 0", err)) < 0 ||
	    (scanned = scalar(db, "SELECT COALESCE(SUM(scans), 0) FROM watch_layers", err)) < 0 ||
	    (reused = scalar(db, "SELECT COALESCE(SUM(reuses), 0) FROM watch_layers", err)) < 0 ||
	    (twice = scalar(db, "SELECT COUNT(*) FROM watch_layers WHERE scans > 1", err)) < 0 ||
	    (failed_images = scalar(db, "SELECT COUNT(*) FROM watch_jobs WHERE kind = 'image' AND state = 'failed'",
				    err)) < 0 ||
	    (first = scalar(db, "SELECT COALESCE(MIN(scanned), 0) FROM watch_images", err)) < 0 ||
	    (last = scalar(db, "SELECT COALESCE(MAX(scanned), 0) FROM watch_images", err)) < 0)
		goto fail;
	if (last > first)
		ips = (double)(verdicts[0] + verdicts[1] + verdicts[2]) / ((double)(last - first) / 1000.0);
	if (sw_db_exec(db, "SELECT id, registry, started, finished FROM watch_sweeps ORDER BY id", NULL, 0, &r, err) < 0)
		goto fail;
	if (fmt == SW_WATCH_JSON) {
		sw_jw_obj(&w);
		sw_jw_kstr(&w, "schema", "stowaway.watch-status/v1");
		sw_jw_kobj(&w, "jobs");
		for (k = 0; k < 4; k++)
			sw_jw_kint(&w, js[k], jobs[k]);
		sw_jw_end(&w);
		sw_jw_kobj(&w, "images");
		sw_jw_kint(&w, "total", verdicts[0] + verdicts[1] + verdicts[2]);
		for (k = 0; k < 3; k++)
			sw_jw_kint(&w, vs[k], verdicts[k]);
		sw_jw_kint(&w, "error", failed_images);
		sw_jw_end(&w);
		sw_jw_kobj(&w, "layers");
		sw_jw_kint(&w, "distinct", distinct);
		sw_jw_kint(&w, "scanned", scanned);
		sw_jw_kint(&w, "reused", reused);
		sw_jw_kint(&w, "scanned_twice", twice);
		sw_jw_end(&w);
		sw_jw_karr(&w, "sweeps");
		for (i = 0; i < sw_dbres_rows(r); i++) {
			char t[32];
			sw_jw_obj(&w);
			sw_jw_kint(&w, "id", sw_dbres_int(r, i, 0));
			sw_jw_kstr(&w, "registry", sw_dbres_text(r, i, 1));
			rfc3339(sw_dbres_int(r, i, 2), t);
			sw_jw_kstr(&w, "started", t);
			if (sw_dbres_text(r, i, 3)) {
				rfc3339(sw_dbres_int(r, i, 3), t);
				sw_jw_kstr(&w, "finished", t);
			} else {
				sw_jw_kstr(&w, "finished", NULL);
			}
			sw_jw_end(&w);
		}
		sw_jw_end(&w);
		sw_jw_key(&w, "images_per_second");
		sw_jw_real(&w, ips, 2);
		sw_jw_end(&w);
		sw_buf_putc(&b, '\n');
	} else {
		sw_buf_printf(&b, "jobs:    %lld queued, %lld leased, %lld done, %lld failed\n", (long long)jobs[0],
			      (long long)jobs[1], (long long)jobs[2], (long long)jobs[3]);
		sw_buf_printf(&b, "images:  %lld judged: %lld clean, %lld suspicious, %lld malicious; %lld failed\n",
			      (long long)(verdicts[0] + verdicts[1] + verdicts[2]), (long long)verdicts[0],
			      (long long)verdicts[1], (long long)verdicts[2], (long long)failed_images);
		sw_buf_printf(&b, "layers:  %lld distinct, %lld scans, %lld reuses, %lld scanned more than once\n",
			      (long long)distinct, (long long)scanned, (long long)reused, (long long)twice);
		sw_buf_printf(&b, "rate:    %.2f images/s\n", ips);
		for (i = 0; i < sw_dbres_rows(r); i++) {
			char t[32], f[32] = "running";
			rfc3339(sw_dbres_int(r, i, 2), t);
			if (sw_dbres_text(r, i, 3))
				rfc3339(sw_dbres_int(r, i, 3), f);
			sw_buf_printf(&b, "sweep %lld: %s, started %s, finished %s\n", (long long)sw_dbres_int(r, i, 0),
				      sw_dbres_text(r, i, 1), t, f);
		}
	}
	sw_dbres_free(r);
	sw_db_close(db);
	return finish(&b, out, err);
fail:
	sw_dbres_free(r);
	sw_buf_release(&b);
	sw_db_close(db);
	return SW_EIO;
}

int sw_watch_events(const char *url, long long since_ms, const char *kind, sw_watch_format fmt, FILE *out,
		    sw_error *err)
{
	sw_db *db = NULL;
	sw_dbres *r = NULL;
	sw_dbv v[] = { DB_I(since_ms), DB_S(kind ? kind : "") };
	size_t i;
	int rc;

	if ((rc = sw_watch__open(&db, url, err)) < 0)
		return rc;
	if (sw_db_exec(db, "SELECT id, time, kind, registry, repo, tag, digest, platform, verdict, detail "
		       "FROM watch_events WHERE time >= $1 AND ($2 = '' OR kind = $2) ORDER BY id", v, 2, &r, err) < 0) {
		sw_db_close(db);
		return SW_EIO;
	}
	for (i = 0; i < sw_dbres_rows(r); i++) {
		sw_buf b = SW_BUF_INIT(1u << 20);
		char t[32];
		rfc3339(sw_dbres_int(r, i, 1), t);
		if (fmt == SW_WATCH_JSON) {
			sw_jw w = SW_JW_INIT(&b);
			static const char *const cols[] = { "kind", "registry", "repo", "tag", "digest", "platform",
							    "verdict" };
			size_t c;
			sw_jw_obj(&w);
			sw_jw_kint(&w, "id", sw_dbres_int(r, i, 0));
			sw_jw_kstr(&w, "time", t);
			for (c = 0; c < 7; c++)
				sw_jw_kstr(&w, cols[c], sw_dbres_text(r, i, (int)c + 2));
			sw_jw_kraw(&w, "detail", sw_dbres_text(r, i, 9));
			sw_jw_end(&w);
			sw_buf_putc(&b, '\n');
		} else {
			const char *tag = sw_dbres_text(r, i, 5), *d = sw_dbres_text(r, i, 6), *vd = sw_dbres_text(r, i, 8),
				   *repo = sw_dbres_text(r, i, 4), *det = sw_dbres_text(r, i, 9);
			sw_buf_printf(&b, "%s  %-10s %s%s%s%s%s %s%s%s\n", t, sw_dbres_text(r, i, 2),
				      sw_dbres_text(r, i, 3), repo ? "/" : "", repo ? repo : "", tag ? ":" : "",
				      tag ? tag : "", d ? d : "", vd ? "  " : "", vd ? vd : "");
			if (det)
				sw_buf_printf(&b, "    %s\n", det);
		}
		if ((rc = finish(&b, out, err)) < 0)
			break;
	}
	sw_dbres_free(r);
	sw_db_close(db);
	return rc;
}

int sw_watch_report(const char *url, sw_watch_format fmt, FILE *out, sw_error *err)
{
	sw_db *db = NULL;
	sw_dbres *r = NULL, *la = NULL, *sum = NULL;
	sw_buf b = SW_BUF_INIT(256u << 20);
	sw_jw w = SW_JW_INIT(&b);
	int64_t counts[3] = { 0 };
	static const char *const vs[] = { "clean", "suspicious", "malicious" };
	size_t i, k;
	int rc;

	if ((rc = sw_watch__open(&db, url, err)) < 0)
		return rc;
	if (sw_db_exec(db, "SELECT registry, repo, digest, platform, top, verdict, findings FROM watch_images "
		       "WHERE verdict <> 'clean' ORDER BY verdict DESC, registry, repo, digest", NULL, 0, &r, err) < 0 ||
	    sw_db_exec(db, "SELECT registry, repo, kind, resembles, reason FROM watch_lookalikes ORDER BY registry, repo",
		       NULL, 0, &la, err) < 0 ||
	    sw_db_exec(db, "SELECT verdict, COUNT(*) FROM watch_images GROUP BY verdict", NULL, 0, &sum, err) < 0) {
		rc = SW_EIO;
		goto out;
	}
	tally(sum, vs, 3, counts);
	if (fmt == SW_WATCH_JSON) {
		sw_jw_obj(&w);
		sw_jw_kstr(&w, "schema", "stowaway.watch-report/v1");
		sw_jw_karr(&w, "images");
	}
	for (i = 0; i < sw_dbres_rows(r); i++) {
		sw_dbv tv[] = { DB_S(sw_dbres_text(r, i, 0)), DB_S(sw_dbres_text(r, i, 1)), DB_S(sw_dbres_text(r, i, 4)) };
		sw_dbres *tags = NULL;
		size_t t;
		sw_db_exec(db, "SELECT tag FROM watch_tags WHERE registry = $1 AND repo = $2 AND digest = $3 ORDER BY tag",
			   tv, 3, &tags, NULL);
		if (fmt == SW_WATCH_JSON) {
			sw_jw_obj(&w);
			sw_jw_kstr(&w, "registry", sw_dbres_text(r, i, 0));
			sw_jw_kstr(&w, "repo", sw_dbres_text(r, i, 1));
			sw_jw_karr(&w, "tags");
			for (t = 0; t < sw_dbres_rows(tags); t++)
				sw_jw_str(&w, sw_dbres_text(tags, t, 0));
			sw_jw_end(&w);
			sw_jw_kstr(&w, "digest", sw_dbres_text(r, i, 2));
			sw_jw_kstr(&w, "index", strcmp(sw_dbres_text(r, i, 2), sw_dbres_text(r, i, 4)) ?
				   sw_dbres_text(r, i, 4) : NULL);
			sw_jw_kstr(&w, "platform", sw_dbres_text(r, i, 3));
			sw_jw_kstr(&w, "verdict", sw_dbres_text(r, i, 5));
			sw_jw_kraw(&w, "findings", sw_dbres_text(r, i, 6));
			sw_jw_end(&w);
		} else {
			sw_json_doc *doc = NULL;
			const char *f = sw_dbres_text(r, i, 6);
			const sw_json *e;
			sw_buf_printf(&b, "%-10s %s/%s", sw_dbres_text(r, i, 5), sw_dbres_text(r, i, 0),
				      sw_dbres_text(r, i, 1));
			for (t = 0; t < sw_dbres_rows(tags); t++)
				sw_buf_printf(&b, "%s%s", t ? "," : ":", sw_dbres_text(tags, t, 0));
			sw_buf_printf(&b, " %s (%s)\n", sw_dbres_text(r, i, 2), sw_dbres_text(r, i, 3));
			if (sw_json_parse(f, strlen(f), &doc, NULL) == 0)
				for (e = sw_json_root(doc)->child; e; e = e->next) {
					const char *sev = sw_json_get_str(e, "severity");
					int64_t layer = -1;
					if (!sev || strcmp(sev, "info") == 0 || strcmp(sev, "low") == 0)
						continue;
					sw_json_get_i64(e, "layer", &layer);
					sw_buf_printf(&b, "    %-8s %s  %s  layer %lld\n", sev, sw_json_get_str(e, "rule"),
						      sw_json_get_str(e, "path") ? sw_json_get_str(e, "path") : "(image)",
						      (long long)layer);
				}
			sw_json_free(doc);
		}
		sw_dbres_free(tags);
	}
	if (fmt == SW_WATCH_JSON) {
		sw_jw_end(&w);
		sw_jw_karr(&w, "lookalikes");
	} else if (sw_dbres_rows(la)) {
		sw_buf_printf(&b, "\nlook-alike repositories:\n");
	}
	for (i = 0; i < sw_dbres_rows(la); i++) {
		if (fmt == SW_WATCH_JSON) {
			sw_jw_obj(&w);
			sw_jw_kstr(&w, "registry", sw_dbres_text(la, i, 0));
			sw_jw_kstr(&w, "repo", sw_dbres_text(la, i, 1));
			sw_jw_kstr(&w, "kind", sw_dbres_text(la, i, 2));
			sw_jw_kstr(&w, "resembles", sw_dbres_text(la, i, 3));
			sw_jw_kstr(&w, "reason", sw_dbres_text(la, i, 4));
			sw_jw_end(&w);
		} else {
			sw_buf_printf(&b, "%-14s %s/%s  resembles %s\n", sw_dbres_text(la, i, 2), sw_dbres_text(la, i, 0),
				      sw_dbres_text(la, i, 1), sw_dbres_text(la, i, 3));
		}
	}
	if (fmt == SW_WATCH_JSON) {
		sw_jw_end(&w);
		sw_jw_kobj(&w, "summary");
		sw_jw_kint(&w, "images", counts[0] + counts[1] + counts[2]);
		for (k = 0; k < 3; k++)
			sw_jw_kint(&w, vs[k], counts[k]);
		sw_jw_kint(&w, "lookalikes", (long long)sw_dbres_rows(la));
		sw_jw_end(&w);
		sw_jw_end(&w);
		sw_buf_putc(&b, '\n');
		if (sw_jw_done(&w) < 0 && !sw_buf_err(&b))
			b.err = SW_EINVAL;
	} else {
		sw_buf_printf(&b, "\n%lld images: %lld clean, %lld suspicious, %lld malicious; %zu look-alike "
			      "repositories\n", (long long)(counts[0] + counts[1] + counts[2]), (long long)counts[0],
			      (long long)counts[1], (long long)counts[2], sw_dbres_rows(la));
	}
	rc = finish(&b, out, err);
	if (rc == 0)
		rc = counts[1] + counts[2] + (int64_t)sw_dbres_rows(la) > 0 ? 1 : 0;
out:
	sw_buf_release(&b);
	sw_dbres_free(r);
	sw_dbres_free(la);
	sw_dbres_free(sum);
	sw_db_close(db);
	return rc;
}
