/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The scan engine: one pass over every layer, in parallel.
 *
 * Each worker thread takes the next layer and pushes its bytes through a
 * chain of stages, each bounded: read (pread, 1 MiB) -> blob SHA-256 ->
 * decompress (sniffed) -> diff_id SHA-256 -> tar parser -> per-file SHA-256
 * (+ content buffer when a content detector is loaded) -> detectors. Nothing
 * is written to disk. Limits (entries, bytes, ratio, time) stop a layer
 * early and are recorded as incomplete, never as clean; integrity failures
 * (a digest or diff_id that does not match, a corrupt stream) fail the scan.
 *
 * Layers are scanned out of order, so each keeps its own records (paths and
 * types of every entry) and findings. When all are done the records are
 * laid over each other bottom to top (layer/merge.c) and every finding
 * learns whether its file is still in the final filesystem.
 *
 * The parts: this file runs a scan (detectors, jobs, the worker threads,
 * the phases of sw_scan_image); scan_layer.c streams one layer through a
 * worker; scan_job.c keeps a layer's records, incompletes and findings;
 * scan_cache.c takes layers from the layer cache and stores them;
 * scan_report.c merges the layers and builds the report.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scan_int.h"
#include "chain.h"
#include "../image/image_int.h"
#include "../report/report_int.h"
#include "../util/banned.h"

const sw_detector *const sw_scan__detectors[] = { &sw_detector_ioc, &sw_detector_yara,
						   &sw_detector_heur, &sw_detector_config };

static void *work(void *arg)
{
	worker *w = arg;
	scan *s = w->s;
	size_t i;

	while (!atomic_load(&s->stop) && (i = atomic_fetch_add(&s->next, 1)) < s->njobs) {
		job *j = &s->jobs[i];
		int rc;
		if (j->cached) {
			/* the layer's findings come from the cache, but a local
			 * blob is still read and hashed: a corrupted copy of an
			 * image scanned before must not pass for it */
			const sw_blobloc *loc = sw_image__layer_loc(s->img, i);
			int vrc = loc->fd >= 0 ? sw_lstream_verify(w->ls, s->img, i, &j->err) : 0;
			if (vrc < 0) {
				j->rc = vrc;
				atomic_store(&s->stop, true);
			}
			atomic_fetch_add(&s->done, 1);
			continue;
		}
		w->j = j;
		w->err = &j->err;
		rc = sw_image__rootfs(s->img) ? sw_scan__rootfs(w) : sw_scan__blob(w);
		if (rc == SW_ELIMIT || rc == SW_ETIMEOUT) {
			j->limited = true;
			/* A bound was hit: what was read is kept, the rest is
			 * reported, and the digests cannot be verified. */
			rc = sw_scan__add_inc(j, NULL, "%s", j->err.msg);
			if (rc == 0 && !sw_image__rootfs(s->img))
				rc = sw_scan__add_inc(j, NULL, "layer digest and diff_id not verified: the stream was not read to the end");
		}
		if (rc < 0) {
			j->rc = rc;
			atomic_store(&s->stop, true);
		}
		atomic_fetch_add(&s->done, 1);
	}
	return NULL;
}

static int worker_init(worker *w, scan *s, sw_error *err)
{
	size_t d;
	int rc;

	memset(w, 0, sizeof(*w));
	w->s = s;
	w->content = (sw_buf)SW_BUF_INIT(s->lim.max_file_size);
	if (!(w->fh = sw_sha256_new()) || !(w->ls = sw_lstream_new()) || !(w->rbuf = malloc(READ_CHUNK)) || !(w->clean = malloc(s->lim.max_path + 2)) ||
	    !(w->clean2 = malloc(s->lim.max_path + 2)))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	for (d = 0; d < NDET; d++)
		if (sw_scan__detectors[d]->worker_init &&
		    (rc = sw_scan__detectors[d]->worker_init(s->dstate[d], &w->wstate[d], err)) < 0)
			return rc;
	return 0;
}

static void worker_release(worker *w)
{
	size_t d;

	sw_scan__free_xattrs(w);
	for (d = 0; d < NDET; d++)
		if (sw_scan__detectors[d]->worker_release && w->wstate[d])
			sw_scan__detectors[d]->worker_release(w->wstate[d]);
	sw_sha256_free(w->fh);
	sw_lstream_free(w->ls);
	sw_buf_release(&w->content);
	free(w->rbuf);
	free(w->clean);
	free(w->clean2);
}

static int load_detectors(void **dstate, const sw_scan_opts *o, bool *want_content, char **ruleset,
			  sw_error *err)
{
	sw_buf rs = SW_BUF_INIT((size_t)1 << 31);
	uint8_t d[SW_SHA256_LEN];
	size_t i;
	int rc;

	for (i = 0; i < NDET; i++) {
		if (sw_scan__detectors[i]->init && (rc = sw_scan__detectors[i]->init(&dstate[i], o, &rs, err)) < 0) {
			sw_buf_release(&rs);
			while (i-- > 0)
				if (sw_scan__detectors[i]->release && dstate[i])
					sw_scan__detectors[i]->release(dstate[i]);
			memset(dstate, 0, NDET * sizeof(*dstate));
			return rc;
		}
		if (sw_scan__detectors[i]->flags & SW_DET_CONTENT)
			*want_content = true;
	}
	sw_sha256_buf(rs.data ? rs.data : "", rs.len, d);
	sw_buf_release(&rs);
	if (!(*ruleset = malloc(SW_DIGEST_STRLEN)))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	sw_digest_str(d, *ruleset);
	return 0;
}

/* Detector states kept for the process (share_detectors), one per set of
 * the options their init reads. They are read-only after init (detector.h),
 * so any number of scans use one at once. Never freed: reachable from here
 * until exit. */
typedef struct detset {
	char *key;
	void *dstate[NDET];
	bool want_content;
	char *ruleset;
	struct detset *next;
} detset;

static pthread_mutex_t detsets_mu = PTHREAD_MUTEX_INITIALIZER;
static detset *detsets;

/* Every option a detector's init reads (ioc.c, yara_rules.c), as one string. */
static char *detset_key(const sw_scan_opts *o)
{
	sw_buf b = SW_BUF_INIT(1u << 20);
	size_t i;

	sw_buf_printf(&b, "%d %d %d %d %d %d %s %s\n", o->no_bundled_ioc, o->no_bundled_rules, o->no_rule_cache,
		      o->no_prefilter, o->file_timeout, o->rules_skip_broken,
		      o->rules_severity ? o->rules_severity : "-", o->cache_dir ? o->cache_dir : "");
	for (i = 0; i < o->n_ioc_files; i++)
		sw_buf_printf(&b, "ioc %s\n", o->ioc_files[i]);
	for (i = 0; i < o->n_rule_dirs; i++)
		sw_buf_printf(&b, "rules %s\n", o->rule_dirs[i]);
	if (sw_buf_err(&b)) {
		sw_buf_release(&b);
		return NULL;
	}
	return sw_buf_detach(&b, NULL);
}

static int init_detectors(scan *s, char **ruleset, sw_error *err)
{
	detset *d;
	char *key;
	int rc;

	if (!s->o->share_detectors)
		return load_detectors(s->dstate, s->o, &s->want_content, ruleset, err);
	if (!(key = detset_key(s->o)))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	pthread_mutex_lock(&detsets_mu);
	for (d = detsets; d && strcmp(d->key, key) != 0; d = d->next)
		;
	if (!d) {
		/* loaded under the lock: scans starting at once load it once */
		if (!(d = calloc(1, sizeof(*d)))) {
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		} else if ((rc = load_detectors(d->dstate, s->o, &d->want_content, &d->ruleset, err)) == 0) {
			d->key = key;
			key = NULL;
			d->next = detsets;
			detsets = d;
		} else {
			free(d->ruleset);
			free(d);
			d = NULL;
		}
	}
	pthread_mutex_unlock(&detsets_mu);
	free(key);
	if (!d)
		return rc;
	if (!(*ruleset = sw__strdup(d->ruleset)))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	memcpy(s->dstate, d->dstate, sizeof(s->dstate));
	s->want_content = d->want_content;
	s->shared_detectors = true;
	return 0;
}

static unsigned ncores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* The scan's state before anything is read. */
static void scan_init(scan *s, const sw_image *img, const sw_scan_opts *opts)
{
	memset(s, 0, sizeof(*s));
	s->img = img;
	s->o = opts;
	s->lim = opts->limits;
	s->start = sw_now();
	s->deadline = s->start + (s->lim.timeout > 0 ? s->lim.timeout : 1e12);
	pthread_mutex_init(&s->plock, NULL);
	s->njobs = sw_image_layer_count(img);
}

/* The paths Entrypoint/Cmd may run (their bytes are kept for the chain),
 * and an empty job per layer. */
static int make_jobs(scan *s, sw_error *err)
{
	size_t i;
	int rc;

	{
		size_t clen;
		const char *cfg = sw_image_config(s->img, &clen);
		if ((rc = sw_chain_start_paths(cfg, clen, &s->start_paths)) < 0)
			return sw_error_set(err, rc, "out of memory");
	}
	if (!(s->jobs = calloc(s->njobs + 1, sizeof(*s->jobs))))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	for (i = 0; i < s->njobs; i++) {
		s->jobs[i].index = i;
		s->jobs[i].strings = (sw_buf)SW_BUF_INIT(MAX_NAME_BYTES_PER_LAYER);
	}
	return 0;
}

/* Every layer through the workers: one thread per worker (at most one
 * worker per layer), or the calling thread alone when no thread starts.
 * *ws (nw of them) is the caller's to release, whatever happened. */
static int run_workers(scan *s, worker **ws, size_t *nw, sw_error *err)
{
	pthread_t *th = NULL;
	size_t i, started;
	int rc = 0;

	*nw = s->o->jobs ? s->o->jobs : ncores();
	if (*nw > s->njobs)
		*nw = s->njobs ? s->njobs : 1;
	s->nworkers = *nw;
	if (!(*ws = calloc(*nw, sizeof(**ws))) || !(th = calloc(*nw, sizeof(*th)))) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < *nw; i++)
		if ((rc = worker_init(&(*ws)[i], s, err)) < 0)
			goto out;
	for (started = 0; started < *nw; started++)
		if (pthread_create(&th[started], NULL, work, &(*ws)[started]) != 0)
			break;
	if (started == 0)
		work(&(*ws)[0]);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
out:
	free(th);
	return rc;
}

/* A layer that failed on its own (not told to stop by another) fails the
 * scan: true, its error in err (prefixed with the layer) and *rc. */
static bool layer_failed(const scan *s, int *rc, sw_error *err)
{
	size_t i;

	for (i = 0; i < s->njobs; i++)
		if (s->jobs[i].rc < 0 && !s->jobs[i].stopped) {
			const sw_layer_info *li = sw_image_layer(s->img, i);
			*err = s->jobs[i].err;
			if (!err->msg[0]) /* a bare code (out of memory) is an error too */
				sw_error_set(err, s->jobs[i].rc, "%s",
					     s->jobs[i].rc == SW_ENOMEM ? "out of memory" : "layer scan failed");
			*rc = sw_error_prefix(err, "layer %zu (%s)", i, li->digest ? li->digest : "rootfs");
			return true;
		}
	return false;
}

/* The report from the layers' results: merged (*m), findings placed, the
 * entrypoint chain followed, then the image-level detectors. */
static int build(scan *s, sw_report *r, sw_merge **m, sw_error *err)
{
	size_t i;
	int rc;

	if ((rc = sw_scan__merge(s, m)) < 0)
		return sw_error_set(err, rc, "out of memory merging layers");
	if ((rc = sw_scan__build_report(s, *m, r)) < 0)
		return sw_error_set(err, rc, "out of memory building the report");
	if ((rc = sw_scan__chain(s, *m, r)) < 0)
		return sw_error_set(err, rc, "out of memory following the entrypoint chain");
	if ((rc = sw_scan__provenance(s, *m, r)) < 0)
		return sw_error_set(err, rc, "out of memory reading the package databases");
	for (i = 0; i < NDET; i++) {
		sw_emit e = { NULL, sw_scan__detectors[i]->name, r, s->img };
		if (sw_scan__detectors[i]->image &&
		    (rc = sw_scan__detectors[i]->image(s->dstate[i], s->img, &e)) < 0)
			return sw_error_set(err, rc, "detector %s failed on the image", sw_scan__detectors[i]->name);
	}
	return 0;
}

static void scan_release(scan *s, worker *ws, size_t nw, sw_merge *m)
{
	size_t i;

	for (i = 0; i < nw && ws; i++)
		worker_release(&ws[i]);
	free(ws);
	sw_merge_free(m);
	for (i = 0; s->jobs && i < s->njobs; i++)
		sw_job_release(&s->jobs[i]);
	free(s->jobs);
	for (i = 0; i < NDET && !s->shared_detectors; i++)
		if (sw_scan__detectors[i]->release && s->dstate[i])
			sw_scan__detectors[i]->release(s->dstate[i]);
	sw_chain_free_paths(s->start_paths);
	if (!s->cache_borrowed)
		sw_cache_close(s->cache);
	pthread_mutex_destroy(&s->plock);
}

int sw_scan_image(const sw_image *img, const sw_scan_opts *opts, sw_report **out,
		  sw_error *err)
{
	sw_scan_opts defo = SW_SCAN_OPTS_INIT;
	scan s;
	worker *ws = NULL;
	sw_merge *m = NULL;
	sw_report *r = NULL;
	size_t nw = 0;
	int rc;

	*out = NULL;
	if (!opts)
		opts = &defo;
	scan_init(&s, img, opts);
	if ((rc = sw_report__new(&r, img, err)) < 0)
		goto out;
	if ((rc = init_detectors(&s, &r->ruleset, err)) < 0)
		goto out;
	if ((rc = make_jobs(&s, err)) < 0)
		goto out;
	sw_scan__cache_open(&s, r->ruleset);
	if ((rc = run_workers(&s, &ws, &nw, err)) < 0)
		goto out;
	if (layer_failed(&s, &rc, err))
		goto out;
	if (s.cache)
		sw_scan__cache_store(&s);
	r->cache_hits = s.cache_hits;
	if ((rc = build(&s, r, &m, err)) < 0)
		goto out;
	r->scanned = true;
	sw_report__sort(r);
	r->files = atomic_load(&s.files);
	r->bytes = atomic_load(&s.bytes_out);
	r->seconds = sw_now() - s.start;
	*out = r;
	r = NULL;
	rc = 0;
out:
	scan_release(&s, ws, nw, m);
	sw_report_free(r);
	return rc;
}
