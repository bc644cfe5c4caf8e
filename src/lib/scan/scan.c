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
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stowaway/scan.h"
#include "../detect/detector.h"
#include "../image/image_int.h"
#include "../image/stream.h"
#include "../layer/inflate.h"
#include "../layer/merge.h"
#include "chain.h"
#include "nested.h"
#include "../layer/tar.h"
#include "../report/report_int.h"
#include "../util/util.h"
#include "stowaway/cache.h"
#include "../util/banned.h"

#define READ_CHUNK (1u << 20)
#define MAX_INCOMPLETE_PER_LAYER 1000
#define MAX_FINDINGS_PER_LAYER 10000
#define MAX_NAME_BYTES_PER_LAYER (256u << 20) /* paths + link targets kept for the merge */
#define MAX_RETAIN_FILE (64u << 10)   /* scripts kept for the entrypoint chain */
#define MAX_RETAIN_TOTAL (16u << 20)
#define LINK_FLOOD 1000                 /* hard links to one file in a layer */

static const sw_detector *const detectors[] = { &sw_detector_ioc, &sw_detector_yara,
						 &sw_detector_heur, &sw_detector_config };
#define NDET (sizeof(detectors) / sizeof(detectors[0]))

#include "job.h"

typedef struct scan {
	const sw_image *img;
	const sw_scan_opts *o;
	sw_limits lim;
	void *dstate[NDET];
	bool want_content;
	job *jobs;
	size_t njobs;
	atomic_size_t next, done;
	atomic_uint_fast64_t entries, bytes_in, bytes_out, files;
	atomic_bool stop;
	double start, deadline;
	char **start_paths;     /* what Entrypoint/Cmd may run: keep those bytes */
	atomic_uint_fast64_t kept_bytes;
	pthread_mutex_t plock;
	double last_progress;
	sw_cache *cache;
	uint64_t cache_hits;
} scan;

typedef struct worker {
	scan *s;
	job *j;
	void *wstate[NDET];
	sw_sha256 *fh;
	sw_buf content;
	const uint8_t *direct;  /* the whole file in the tar parser's chunk: not copied */
	size_t direct_len;
	uint8_t *rbuf;
	char *clean, *clean2;
	sw_lstream *ls;         /* the layer stream (image/stream.c) */
	sw_error *err;          /* the job's error */
	/* the file being streamed */
	sw_tar_xattr xa[64];     /* copies: the tar parser frees its own after the header */
	size_t nxa;
	bool in_file, truncated;
	size_t cur_rec;
	sw_file cur;
	uint8_t digest[SW_SHA256_LEN];
	/* a member of a nested archive being scanned */
	const char *nested_path;
	unsigned depth;
	uint64_t nest_budget;
} worker;

struct sw_emit {
	worker *w;              /* file detectors: the worker and its current file */
	const char *detector;
	sw_report *r;           /* image detectors: straight into the report */
	const sw_image *img;
};

/* ---- per-layer bookkeeping ---- */

static int job_str(job *j, const char *s, size_t n, uint32_t *off)
{
	int rc;

	if (j->strings.len == 0 && (rc = sw_buf_putc(&j->strings, '\0')) < 0)
		return rc; /* offset 0 means "none" */
	if (j->strings.len + n + 1 > UINT32_MAX)
		return SW_ELIMIT;
	*off = (uint32_t)j->strings.len;
	if ((rc = sw_buf_append(&j->strings, s, n)) < 0)
		return rc;
	return sw_buf_putc(&j->strings, '\0');
}

static const char *job_path(const job *j, size_t r)
{
	return j->strings.data + j->recs[r].path;
}

static int add_rec(job *j, const char *path, const char *link, char type, uint8_t flags,
		   size_t *idx)
{
	rec *r;
	int rc;

	if (SW_GROW_CAP(j->recs, j->nrecs, j->caprecs) < 0)
		return SW_ENOMEM;
	r = &j->recs[j->nrecs];
	memset(r, 0, sizeof(*r));
	r->type = type;
	r->flags = flags;
	if ((rc = job_str(j, path, strlen(path), &r->path)) < 0)
		return rc;
	if (link && (rc = job_str(j, link, strlen(link), &r->link)) < 0)
		return rc;
	*idx = j->nrecs++;
	return 0;
}

static int add_inc(job *j, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int add_inc(job *j, const char *path, const char *fmt, ...)
{
	va_list ap;
	char reason[600];
	pinc *p;

	if (j->ninc >= MAX_INCOMPLETE_PER_LAYER) {
		j->inc_dropped++;
		return 0;
	}
	if (SW_GROW_CAP(j->incs, j->ninc, j->capinc) < 0)
		return SW_ENOMEM;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	p = &j->incs[j->ninc];
	p->path = sw__strdup(path);
	p->reason = sw__strdup(reason);
	if (!p->reason || (path && !p->path)) {
		free(p->path);
		free(p->reason);
		return SW_ENOMEM;
	}
	j->ninc++;
	return 0;
}

int sw_emit_step_finding(sw_emit *e, int layer, const char *created_by, const char *id,
			 sw_severity sev, const char *category, const char *title,
			 const char *evidence_json)
{
	const sw_layer_info *li = layer >= 0 ? sw_image_layer(e->img, (size_t)layer) : NULL;
	sw_finding f = { 0 };

	if (!e->r)
		return SW_EINVAL;
	f.id = id;
	f.severity = sev;
	f.category = category;
	f.title = title;
	f.detector = e->detector;
	f.layer = li ? layer : -1;
	f.layer_digest = li ? li->digest : NULL;
	f.created_by = created_by;
	f.evidence = evidence_json;
	return sw_report__add(e->r, &f);
}

int sw_emit_finding(sw_emit *e, const char *id, sw_severity sev, const char *category,
	    const char *title, const char *evidence_json)
{
	job *j;
	pfinding *p;

	if (!e->w)
		return sw_emit_step_finding(e, -1, NULL, id, sev, category, title, evidence_json);
	j = e->w->j;

	if (j->nf >= MAX_FINDINGS_PER_LAYER) {
		j->f_dropped++;
		return 0;
	}
	if (SW_GROW_CAP(j->fs, j->nf, j->capf) < 0)
		return SW_ENOMEM;
	p = &j->fs[j->nf];
	memset(p, 0, sizeof(*p));
	p->rec = e->w->cur_rec;
	p->f.id = sw__strdup(id);
	p->f.severity = sev;
	p->f.category = sw__strdup(category);
	p->f.title = sw__strdup(title);
	p->f.detector = sw__strdup(e->detector);
	p->f.evidence = sw__strdup(evidence_json ? evidence_json : "{}");
	p->f.layer = (int)j->index;
	p->path = e->w->nested_path ? sw__strdup(e->w->nested_path) : NULL;
	if ((e->w->nested_path && !p->path) || !p->f.id || !p->f.category || !p->f.title || !p->f.detector || !p->f.evidence) {
		free((char *)p->f.id);
		free((char *)p->f.category);
		free((char *)p->f.title);
		free((char *)p->f.detector);
		free((char *)p->f.evidence);
		free(p->path);
		return SW_ENOMEM;
	}
	j->nf++;
	return 0;
}

int sw_emit_incomplete(sw_emit *e, const char *reason)
{
	return add_inc(e->w->j, e->w->cur.path, "%s: %s", e->detector, reason);
}

int sw_emit_transient(sw_emit *e, const char *reason)
{
	e->w->j->transient = true;
	return sw_emit_incomplete(e, reason);
}

/* ---- files ---- */

static int run_detectors(worker *w, const uint8_t *data, size_t len)
{
	size_t d;
	int rc;

	for (d = 0; d < NDET; d++) {
		sw_emit e = { w, detectors[d]->name, NULL, NULL };
		bool content = detectors[d]->flags & SW_DET_CONTENT;
		if (!detectors[d]->file || (content && w->truncated))
			continue;
		rc = detectors[d]->file(w->s->dstate[d], w->wstate[d], &w->cur,
					content ? data : NULL, content ? len : 0, &e);
		if (rc < 0)
			return sw_error_set(w->err, rc, "%s: detector %s failed", w->cur.path,
					    detectors[d]->name);
	}
	return 0;
}

static bool is_start_path(const scan *s, const char *path)
{
	char **p;

	for (p = s->start_paths; p && *p; p++)
		if (strcmp(*p, path) == 0)
			return true;
	return false;
}

/* Keep the bytes of small scripts (executable with "#!", or named by
 * Entrypoint/Cmd) for the entrypoint chain, within a fixed budget. */
static int keep_script(worker *w, const uint8_t *data, size_t len)
{
	job *j = w->j;
	kept *k;

	if (!w->s->want_content || w->truncated || len == 0 || len > MAX_RETAIN_FILE)
		return 0;
	if (!(((w->cur.mode & 0111) && len > 2 && data[0] == '#' && data[1] == '!') ||
	      is_start_path(w->s, w->cur.path)))
		return 0;
	if (atomic_fetch_add(&w->s->kept_bytes, len) + len > MAX_RETAIN_TOTAL) {
		j->transient = true; /* the budget is the image's, not the layer's */
		return add_inc(j, w->cur.path, "script not kept for the entrypoint chain: budget spent");
	}
	if (SW_GROW_CAP(j->kept, j->nkept, j->capkept) < 0)
		return SW_ENOMEM;
	k = &j->kept[j->nkept];
	if (!(k->data = malloc(len)))
		return SW_ENOMEM;
	memcpy(k->data, data, len);
	k->len = len;
	k->rec = w->cur_rec;
	j->nkept++;
	return 0;
}

static void free_xattrs(worker *w)
{
	size_t i;

	for (i = 0; i < w->nxa; i++) {
		free(w->xa[i].name);
		free(w->xa[i].value);
	}
	w->nxa = 0;
}

static int copy_xattrs(worker *w, const sw_tar_xattr *xa, size_t n)
{
	size_t i;

	free_xattrs(w);
	for (i = 0; i < n && i < sizeof(w->xa) / sizeof(w->xa[0]); i++) {
		w->xa[i].name = sw__strdup(xa[i].name);
		w->xa[i].value = malloc(xa[i].value_len + 1);
		w->xa[i].value_len = xa[i].value_len;
		w->nxa = i + 1;
		if (!w->xa[i].name || !w->xa[i].value)
			return SW_ENOMEM;
		memcpy(w->xa[i].value, xa[i].value, xa[i].value_len + 1);
	}
	return 0;
}

/* ---- archives inside files ---- */

static int nested_member(void *ctx, const char *path, uint32_t mode, const uint8_t *data,
			 size_t len);

static int nested_incomplete(void *ctx, const char *path, const char *reason)
{
	worker *w = ctx;

	return add_inc(w->j, path, "nested archive: %s", reason);
}

static int nested_sfx(void *ctx, const char *path, size_t offset)
{
	worker *w = ctx;
	char ev[96];
	sw_emit e = { w, "heuristic", NULL, NULL };

	snprintf(ev, sizeof(ev), "{\"payload_offset\":%zu}", offset);
	(void)path;
	return sw_emit_finding(&e, "SW-HEUR-SELF-EXTRACTING", SW_SEV_LOW, "suspicious-config",
			       "Script with an archive appended (self-extracting); its payload is scanned",
			       ev);
}

static int hostile_marker(worker *w, const char *base);

static int nested_hostile(void *ctx, const char *path, const char *base)
{
	worker *w = ctx;
	const char *saved = w->nested_path;
	int rc;

	w->nested_path = path; /* the finding names the member */
	rc = hostile_marker(w, base);
	w->nested_path = saved;
	return rc;
}

/* Expand `data` if it is an archive, within --max-depth and a byte budget
 * shared by everything under the top-level file. An archive at the depth
 * limit is not passed as read: it is listed as incomplete. */
static int expand_nested(worker *w, const char *path, const uint8_t *data, size_t len)
{
	sw_nested_cb cb = { w, nested_member, nested_incomplete, nested_sfx, nested_hostile };
	sw_nested_limits lim;
	int rc;

	if (!w->s->want_content || w->truncated || !len)
		return 0;
	if (w->depth >= w->s->lim.max_depth)
		return sw_nested_expandable(data, len) ?
			add_inc(w->j, path, "nested archive: %s deeper than --max-depth %u: not expanded",
				sw_nested_kind(data, len) ? sw_nested_kind(data, len) : "appended archive",
				w->s->lim.max_depth) : 0;
	if (w->depth == 0)
		w->nest_budget = w->s->lim.max_file_size;
	lim.max_member = w->s->lim.max_file_size;
	lim.budget = &w->nest_budget;
	lim.max_ratio = w->s->lim.max_ratio;
	lim.max_members = 100000;
	w->depth++;
	rc = sw_nested_expand(path, data, len, &lim, &cb);
	w->depth--;
	return rc < 0 ? rc : 0;
}

/* One member of a nested archive: scanned like a file of the layer, its
 * findings named "outer!inner" and attached to the outer file's entry. */
static int nested_member(void *ctx, const char *path, uint32_t mode, const uint8_t *data,
			 size_t len)
{
	worker *w = ctx;
	sw_file saved = w->cur;
	const char *saved_path = w->nested_path;
	uint8_t digest[SW_SHA256_LEN];
	int rc;

	/* the outer file's hash is final by now: its hasher is free */
	sw_sha256_reset(w->fh);
	sw_sha256_update(w->fh, data, len);
	sw_sha256_final(w->fh, digest);
	w->cur.path = path;
	w->cur.mode = mode;
	w->cur.size = len;
	w->cur.sha256 = digest;
	w->cur.xattrs = NULL;
	w->cur.nxattrs = 0;
	w->nested_path = path;
	atomic_fetch_add(&w->s->files, 1);
	rc = run_detectors(w, data, len);
	if (rc == 0)
		rc = expand_nested(w, path, data, len);
	w->cur = saved;
	w->nested_path = saved_path;
	return rc;
}

/* Start an entry: record it, and for regular files prepare hashing. */
static int file_begin(worker *w, const char *path, const char *link, char type,
		      uint8_t flags, uint32_t mode, uint64_t size, uint64_t uid, uint64_t gid,
		      const sw_tar_xattr *xa, size_t nxa)
{
	job *j = w->j;
	int rc;

	if ((rc = add_rec(j, path, link, type, flags, &w->cur_rec)) < 0)
		return sw_error_set(w->err, rc, rc == SW_ELIMIT ?
				    "entry names in this layer exceed %u MiB: layer scan stopped" :
				    "out of memory recording entries", MAX_NAME_BYTES_PER_LAYER >> 20);
	if (flags & (SW_MREC_WHITEOUT | SW_MREC_OPAQUE))
		return 0;
	memset(&w->cur, 0, sizeof(w->cur));
	w->cur.path = path;
	w->cur.type = type;
	w->cur.mode = mode;
	w->cur.size = size;
	w->cur.uid = uid;
	w->cur.gid = gid;
	w->cur.link = link ? link : "";
	w->cur.layer = j->index;
	if ((rc = copy_xattrs(w, xa, nxa)) < 0)
		return sw_error_set(w->err, rc, "out of memory");
	w->cur.xattrs = w->xa;
	w->cur.nxattrs = w->nxa;
	atomic_fetch_add(&w->s->files, 1);
	if (type != '0')
		return run_detectors(w, NULL, 0);
	w->in_file = true;
	w->truncated = w->s->want_content && size > w->s->lim.max_file_size;
	w->cur.truncated = w->truncated;
	if (w->truncated &&
	    (rc = add_inc(j, path, "file is %llu bytes, over max-file-size %llu: content detectors skipped",
			  (unsigned long long)size, (unsigned long long)w->s->lim.max_file_size)) < 0)
		return rc;
	sw_sha256_reset(w->fh);
	sw_buf_reset(&w->content);
	w->direct = NULL;
	return 0;
}

/* stable: p stays valid until file_end when it is the whole file (the tar
 * parser's chunk: file_end comes from the same call); then it is used
 * where it is instead of copied. */
static int file_data(worker *w, const uint8_t *p, size_t n, bool stable)
{
	int rc;

	if (!w->in_file)
		return 0;
	sw_sha256_update(w->fh, p, n);
	if (!w->s->want_content || w->truncated)
		return 0;
	if (stable && !w->direct && w->content.len == 0 && n == w->cur.size) {
		w->direct = p;
		w->direct_len = n;
		return 0;
	}
	if (w->direct) { /* more than the header said: never from tar, but safe */
		rc = sw_buf_append(&w->content, w->direct, w->direct_len);
		w->direct = NULL;
		if (rc < 0)
			return rc;
	}
	return sw_buf_append(&w->content, p, n);
}

static int file_end(worker *w)
{
	const uint8_t *data = w->direct ? w->direct : (const uint8_t *)w->content.data;
	size_t len = w->direct ? w->direct_len : w->content.len;
	int rc;

	if (!w->in_file)
		return 0;
	w->in_file = false;
	w->direct = NULL;
	sw_sha256_final(w->fh, w->digest);
	w->cur.sha256 = w->digest;
	/* cur.path points into a buffer that add_rec may have moved */
	w->cur.path = job_path(w->j, w->cur_rec);
	if ((rc = run_detectors(w, data, len)) < 0)
		return rc;
	if ((rc = keep_script(w, data, len)) < 0)
		return rc;
	return expand_nested(w, w->cur.path, data, len);
}

/* ---- tar callbacks ---- */

/* A whiteout that names "", "." or "..": nothing a build tool writes.
 * A runtime or unpacker that joins it to its directory deletes that
 * directory, or the one above the extraction target. Never applied (the
 * entry is unplaced); reported as what it is, an attack on whatever
 * unpacks the image. */
static int hostile_marker(worker *w, const char *base)
{
	sw_emit e = { w, "merge", NULL, NULL };
	sw_buf ev = SW_BUF_INIT(4096);
	char title[160];
	int rc;

	sw_buf_printf(&ev, "{\"marker\":");
	sw_jsonw_str(&ev, base);
	sw_buf_printf(&ev, ",\"deletes\":");
	sw_jsonw_str(&ev, base + 4);
	sw_buf_putc(&ev, '}');
	snprintf(title, sizeof(title), "Whiteout marker naming \"%s\": unpacking it deletes %s",
		 base + 4, !strcmp(base + 4, "..") ? "the directory above its own" :
		 !strcmp(base + 4, ".") || !base[4] ? "its whole directory" : "outside its directory");
	rc = ev.len ? sw_emit_finding(&e, "SW-WHITEOUT-ESCAPE", SW_SEV_HIGH, "escape", title,
				      sw_buf_cstr(&ev)) : SW_ENOMEM;
	sw_buf_release(&ev);
	return rc;
}

static int on_entry(void *ctx, const sw_tar_entry *e)
{
	worker *w = ctx;
	job *j = w->j;
	const sw_limits *lim = &w->s->lim;
	char *path = w->clean, *link = NULL;
	const char *base;
	uint8_t flags = 0;
	sw_marker mark;
	int rc;

	w->j->entries++;
	if (atomic_fetch_add(&w->s->entries, 1) + 1 > lim->max_entries)
		return sw_error_set(w->err, SW_ELIMIT,
				    "image has more than max-entries %llu tar entries: layer scan stopped",
				    (unsigned long long)lim->max_entries);
	rc = sw_path_clean(e->name, e->name_len, path, lim->max_path + 1);
	if (rc < 0) {
		/* The record keeps the name as the entry has it (its first 254
		 * bytes): each output escapes it for its reader, the JSON writer
		 * for programs, sw_term_escape for people. Only NUL, which a C
		 * string cannot hold, is shown as '?'. */
		char shown[256];
		size_t k, len = e->name_len < sizeof(shown) - 2 ? e->name_len : sizeof(shown) - 2;
		shown[0] = '/';
		memcpy(shown + 1, e->name, len);
		shown[len + 1] = '\0';
		for (k = 1; k <= len; k++)
			if (shown[k] == '\0')
				shown[k] = '?';
		memmove(shown + 1, shown + 1 + (shown[1] == '/'), strlen(shown + 1));
		snprintf(path, lim->max_path + 1, "%s", shown);
		flags |= SW_MREC_UNPLACED;
		if ((rc = add_inc(j, path, rc == SW_ELIMIT ?
				  "entry path longer than max-path %u: not placed in the merged view" :
				  "entry path escapes the root (\"..\" or NUL): a runtime refuses it; content scanned, not placed",
				  lim->max_path)) < 0)
			return rc;
	}
	base = strrchr(path, '/') + 1;
	mark = flags & SW_MREC_UNPLACED ? SW_MARK_NONE : sw_marker_kind(base, strlen(base), NULL);
	if (mark == SW_MARK_OPAQUE) {
		path[base - path > 1 ? base - path - 1 : 1] = '\0';
		flags |= SW_MREC_OPAQUE;
	} else if (mark == SW_MARK_META || mark == SW_MARK_HOSTILE) {
		flags |= SW_MREC_UNPLACED; /* scanned, never visible, never applied */
	} else if (mark == SW_MARK_WHITEOUT) {
		memmove((char *)base, base + 4, strlen(base + 4) + 1);
		flags |= SW_MREC_WHITEOUT;
	}
	if (e->type == '1') {
		link = w->clean2;
		if (sw_path_clean(e->link, strlen(e->link), link, lim->max_path + 1) < 0) {
			link = NULL;
			flags |= SW_MREC_UNPLACED;
			if ((rc = add_inc(j, path, "hardlink target escapes the root: not placed")) < 0)
				return rc;
		}
	} else if (e->type == '2') {
		link = (char *)e->link;
	}
	if (e->sparse && (rc = add_inc(j, path, "GNU sparse entry: data is a sparse map, not the file's bytes")) < 0)
		return rc;
	if (e->type != '0' && e->type != '1' && e->type != '2' && e->type != '5' &&
	    e->type != '3' && e->type != '4' && e->type != '6' &&
	    (rc = add_inc(j, path, "unknown tar entry type '%c': data not scanned as a file",
			  (e->type >= 0x20 && e->type < 0x7f) ? e->type : '?')) < 0)
		return rc;
	if ((rc = file_begin(w, path, link, e->type, flags, e->mode, e->size, e->uid, e->gid,
			     e->xattrs, e->nxattrs)) < 0)
		return rc;
	if (mark == SW_MARK_HOSTILE && (rc = hostile_marker(w, base)) < 0)
		return rc;
	if ((flags & (SW_MREC_WHITEOUT | SW_MREC_OPAQUE)) && e->size)
		/* markers must be empty: bytes in one are a place to hide */
		return file_begin(w, path, NULL, '0', SW_MREC_UNPLACED, e->mode, e->size,
				  e->uid, e->gid, NULL, 0);
	return 0;
}

static int on_data(void *ctx, const uint8_t *p, size_t n)
{
	return file_data(ctx, p, n, true);
}

static int on_entry_end(void *ctx)
{
	return file_end(ctx);
}

/* ---- the stream ---- */

static void progress(worker *w)
{
	scan *s = w->s;
	sw_progress p;
	double now;

	if (!s->o->progress)
		return;
	if (pthread_mutex_trylock(&s->plock) != 0)
		return;
	now = sw_now();
	if (now - s->last_progress < 0.2) {
		pthread_mutex_unlock(&s->plock);
		return;
	}
	s->last_progress = now;
	p.layers_done = atomic_load(&s->done);
	p.layers = s->njobs;
	p.bytes_in = atomic_load(&s->bytes_in);
	p.bytes_out = atomic_load(&s->bytes_out);
	p.files = atomic_load(&s->files);
	p.seconds = now - s->start;
	s->o->progress(s->o->progress_ctx, &p);
	pthread_mutex_unlock(&s->plock);
}

/* The image's own budgets, after every chunk of tar bytes (a layer's, from
 * the stream; a dir: source's, from the walk). The ratio is the stream's. */
static int check_budget(worker *w, size_t n, sw_error *err)
{
	scan *s = w->s;
	uint64_t total = atomic_fetch_add(&s->bytes_out, n) + n;

	w->j->bytes_out += n;
	if (total > s->lim.max_image_bytes)
		return sw_error_set(err, SW_ELIMIT,
				    "image exceeds max-image-bytes %llu uncompressed: layer scan stopped",
				    (unsigned long long)s->lim.max_image_bytes);
	if (sw_now() > s->deadline)
		return sw_error_set(err, SW_ETIMEOUT, "scan exceeded its %.0f s timeout: layer scan stopped",
				    s->lim.timeout);
	if (atomic_load(&s->stop)) {
		w->j->stopped = true; /* another layer failed: this one's error is not news */
		return sw_error_set(err, SW_ERROR, "stopped");
	}
	progress(w);
	return 0;
}

static int out_cb(void *ctx, size_t n, sw_error *err)
{
	return check_budget(ctx, n, err);
}

static int raw_cb(void *ctx, const uint8_t *p, size_t n, sw_error *err)
{
	worker *w = ctx;

	(void)p;
	(void)err;
	atomic_fetch_add(&w->s->bytes_in, n);
	return 0;
}

static int scan_blob(worker *w)
{
	scan *s = w->s;
	job *j = w->j;
	sw_lstream_opts o = { s->lim.max_ratio, s->deadline, s->lim.timeout, true };
	sw_lstream_cb cb = { w, raw_cb, out_cb, { w, on_entry, on_data, on_entry_end } };
	sw_lstream_stats st;
	int rc;

	w->in_file = false;
	rc = sw_lstream_run(w->ls, s->img, j->index, &o, &cb, &st, w->err);
	if (rc == 0 && st.trailing)
		rc = add_inc(j, NULL, "non-zero data after the tar end-of-archive marker is not part of any file");
	return rc;
}

/* dir: sources - walk a root filesystem without following any symlink. */
static int walk_dir(worker *w, int dfd, char *path, size_t plen, unsigned depth)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (depth > w->s->lim.max_path / 2)
		return add_inc(w->j, path, "directory nesting too deep");
	if (!(d = fdopendir(dfd))) {
		close(dfd);
		return add_inc(w->j, path, "cannot read directory");
	}
	while (rc == 0 && (de = readdir(d))) {
		struct stat st;
		size_t n = strlen(de->d_name);
		char type, link[4096] = "";
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (plen + 1 + n > w->s->lim.max_path) {
			rc = add_inc(w->j, path, "entry path longer than max-path: skipped");
			continue;
		}
		snprintf(path + plen, w->s->lim.max_path + 1 - plen, "%s%s", plen > 1 ? "/" : "", de->d_name);
		w->j->entries++;
		if (atomic_fetch_add(&w->s->entries, 1) + 1 > w->s->lim.max_entries) {
			rc = sw_error_set(w->err, SW_ELIMIT, "more than max-entries files: walk stopped");
			break;
		}
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = add_inc(w->j, path, "cannot stat");
			path[plen] = '\0';
			continue;
		}
		type = S_ISREG(st.st_mode) ? '0' : S_ISDIR(st.st_mode) ? '5' : S_ISLNK(st.st_mode) ? '2' :
		       S_ISCHR(st.st_mode) ? '3' : S_ISBLK(st.st_mode) ? '4' : '6';
		if (type == '2') {
			ssize_t l = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
			link[l > 0 ? l : 0] = '\0';
		}
		rc = file_begin(w, path, type == '2' ? link : NULL, type, 0, st.st_mode & 07777,
				type == '0' ? (uint64_t)st.st_size : 0, st.st_uid, st.st_gid, NULL, 0);
		if (rc == 0 && type == '0') {
			/* non-blocking, and the same inode as stat saw: a FIFO
			 * swapped in meanwhile is never waited on */
			int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
			struct stat fst;
			ssize_t r = 0;
			if (fd >= 0 && (fstat(fd, &fst) < 0 || !S_ISREG(fst.st_mode) || fst.st_ino != st.st_ino ||
					fst.st_dev != st.st_dev)) {
				close(fd);
				fd = -1;
			}
			if (fd < 0) {
				rc = add_inc(w->j, path, "cannot open as the regular file it was");
			} else {
				while (rc == 0 && (r = read(fd, w->rbuf, READ_CHUNK)) > 0)
					if ((rc = check_budget(w, (size_t)r, w->err)) == 0)
						rc = file_data(w, w->rbuf, (size_t)r, false);
				close(fd);
				if (rc == 0 && r < 0)
					rc = add_inc(w->j, path, "read error");
			}
			if (rc == 0)
				rc = file_end(w);
			w->in_file = false;
		} else if (rc == 0 && type == '5') {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				rc = add_inc(w->j, path, "cannot open directory");
			else
				rc = walk_dir(w, sub, path, strlen(path), depth + 1);
		}
		path[plen] = '\0';
	}
	closedir(d);
	return rc;
}

static int scan_rootfs(worker *w)
{
	const char *root = sw_image__rootfs(w->s->img);
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return sw_error_set(w->err, SW_EIO, "%s: %s", root, strerror(errno));
	w->clean[0] = '/';
	w->clean[1] = '\0';
	return walk_dir(w, fd, w->clean, 1, 0);
}

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
		rc = sw_image__rootfs(s->img) ? scan_rootfs(w) : scan_blob(w);
		if (rc == SW_ELIMIT || rc == SW_ETIMEOUT) {
			j->limited = true;
			/* A bound was hit: what was read is kept, the rest is
			 * reported, and the digests cannot be verified. */
			rc = add_inc(j, NULL, "%s", j->err.msg);
			if (rc == 0 && !sw_image__rootfs(s->img))
				rc = add_inc(j, NULL, "layer digest and diff_id not verified: the stream was not read to the end");
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
		if (detectors[d]->worker_init &&
		    (rc = detectors[d]->worker_init(s->dstate[d], &w->wstate[d], err)) < 0)
			return rc;
	return 0;
}

static void worker_release(worker *w)
{
	size_t d;

	free_xattrs(w);
	for (d = 0; d < NDET; d++)
		if (detectors[d]->worker_release && w->wstate[d])
			detectors[d]->worker_release(w->wstate[d]);
	sw_sha256_free(w->fh);
	sw_lstream_free(w->ls);
	sw_buf_release(&w->content);
	free(w->rbuf);
	free(w->clean);
	free(w->clean2);
}

/* ---- merge and report ---- */

static void on_issue(void *ctx, size_t layer, size_t r, const char *why)
{
	scan *s = ctx;
	job *j = &s->jobs[layer];

	add_inc(j, job_path(j, r), "%s", why);
}

static int merge(scan *s, sw_merge **out)
{
	sw_merge *m = sw_merge_new(s->njobs);
	sw_mrec **all = calloc(s->njobs + 1, sizeof(*all));
	size_t l, i;
	int rc = 0;

	*out = NULL;
	if (!m || !all) {
		rc = SW_ENOMEM;
		goto out;
	}
	for (l = 0; l < s->njobs && rc == 0; l++) {
		job *j = &s->jobs[l];
		if (!(all[l] = calloc(j->nrecs + 1, sizeof(sw_mrec)))) {
			rc = SW_ENOMEM;
			break;
		}
		for (i = 0; i < j->nrecs; i++) {
			all[l][i].path = j->strings.data + j->recs[i].path;
			all[l][i].link = j->recs[i].link ? j->strings.data + j->recs[i].link : NULL;
			all[l][i].type = j->recs[i].type;
			all[l][i].flags = j->recs[i].flags;
		}
		rc = sw_merge_apply(m, l, all[l], j->nrecs, on_issue, s);
	}
out:
	/* the merge keeps pointers into job strings, not into the arrays */
	for (l = 0; all && l < s->njobs; l++)
		free(all[l]);
	free(all);
	if (rc < 0) {
		sw_merge_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

/* The findings j->fs[..last] that share last's file: if a later layer
 * deleted or replaced that file, say so in a finding of its own, naming
 * both layers and their build steps. The bytes are still in every pull. */
static int hidden_payload(scan *s, const sw_merge *m, sw_report *r, size_t l, size_t last)
{
	job *j = &s->jobs[l];
	size_t rr = j->fs[last].rec, first = last, k;
	const sw_layer_info *add = sw_image_layer(s->img, l), *del;
	sw_severity sev = SW_SEV_INFO;
	sw_buf ev = SW_BUF_INIT(65536);
	sw_finding f = { 0 };
	char title[160];
	long by;
	int rc;

	if ((j->recs[rr].flags & SW_MREC_UNPLACED) || (by = sw_merge_removed_by(m, l, rr)) < 0)
		return 0;
	while (first > 0 && j->fs[first - 1].rec == rr)
		first--;
	del = sw_image_layer(s->img, (size_t)by);
	sw_buf_printf(&ev, "{\"added_in_layer\":%zu,\"added_by\":", l);
	sw_jsonw_str(&ev, add->created_by);
	sw_buf_printf(&ev, ",\"removed_in_layer\":%ld,\"removed_by\":", by);
	sw_jsonw_str(&ev, del ? del->created_by : NULL);
	sw_buf_printf(&ev, ",\"findings\":[");
	for (k = first; k <= last; k++) {
		if (j->fs[k].f.severity > sev)
			sev = j->fs[k].f.severity;
		sw_buf_printf(&ev, "%s", k > first ? "," : "");
		sw_jsonw_str(&ev, j->fs[k].f.id);
	}
	sw_buf_printf(&ev, "]}");
	snprintf(title, sizeof(title), "Flagged file removed by layer %ld still ships in layer %zu", by, l);
	f.id = "SW-HIDDEN-PAYLOAD";
	f.severity = sev;
	f.category = "hidden-payload";
	f.title = title;
	f.detector = "merge";
	f.path = job_path(j, rr);
	f.layer = (int)l;
	f.layer_digest = add->digest;
	f.created_by = add->created_by;
	f.in_final_fs = false;
	f.evidence = sw_buf_cstr(&ev);
	rc = ev.len ? sw_report__add(r, &f) : SW_ENOMEM;
	sw_buf_release(&ev);
	return rc;
}

static int cmp_link(const void *a, const void *b, void *ctx)
{
	const job *j = ctx;

	return strcmp(j->strings.data + *(const uint32_t *)a, j->strings.data + *(const uint32_t *)b);
}

/* Thousands of hard links to one file in a layer: nothing a package does
 * (git's many names for one program are about a hundred), and an unpacker
 * that copies each link writes the file that many times (3,000 links to
 * 1 MiB: 3 GiB from a 1 MiB layer). One finding per such target. */
static int link_floods(scan *s, const sw_merge *m, sw_report *r, size_t l)
{
	job *j = &s->jobs[l];
	const sw_layer_info *li = sw_image_layer(s->img, l);
	uint32_t *links;
	size_t n = 0, i, k;
	int rc = 0;

	for (i = 0; i < j->nrecs; i++)
		n += j->recs[i].type == '1' && j->recs[i].link;
	if (n < LINK_FLOOD)
		return 0;
	if (!(links = malloc(n * sizeof(*links))))
		return SW_ENOMEM;
	for (i = 0, n = 0; i < j->nrecs; i++)
		if (j->recs[i].type == '1' && j->recs[i].link)
			links[n++] = j->recs[i].link;
	qsort_r(links, n, sizeof(*links), cmp_link, j);
	for (i = 0; i < n && rc == 0; i = k) {
		sw_finding f = { 0 };
		char title[160], ev[64];
		size_t ol, orr;
		for (k = i + 1; k < n && !cmp_link(&links[i], &links[k], j); k++)
			;
		if (k - i < LINK_FLOOD)
			continue;
		snprintf(title, sizeof(title), "%zu hard links to one file: an unpacker that copies links writes it "
			 "%zu times", k - i, k - i);
		snprintf(ev, sizeof(ev), "{\"hard_links\":%zu}", k - i);
		f.id = "SW-HARDLINK-FLOOD";
		f.severity = SW_SEV_MEDIUM;
		f.category = "suspicious-config";
		f.title = title;
		f.detector = "merge";
		f.path = j->strings.data + links[i];
		f.layer = (int)l;
		f.layer_digest = li->digest;
		f.created_by = li->created_by;
		f.in_final_fs = sw_merge_lookup(m, f.path, &ol, &orr);
		f.evidence = ev;
		rc = sw_report__add(r, &f);
	}
	free(links);
	return rc;
}

/* What layer l could not scan: an incomplete entry, and the medium
 * SW-INCOMPLETE finding that keeps the verdict from being clean. */
static int layer_incomplete(scan *s, const sw_merge *m, sw_report *r, size_t l, const char *path, const char *reason)
{
	const sw_layer_info *li = sw_image_layer(s->img, l);
	sw_finding where = { 0 };

	where.detector = "limits";
	where.path = path;
	where.layer = (int)l;
	where.layer_digest = li->digest;
	where.created_by = li->created_by;
	if (path) {
		size_t ol, orr;
		where.in_final_fs = sw_merge_lookup(m, path, &ol, &orr) && ol == l;
	}
	return sw_report__incomplete(r, &where, reason);
}

static int build_report(scan *s, const sw_merge *m, sw_report *r)
{
	size_t l, i;
	int rc;

	for (l = 0; l < s->njobs; l++) {
		job *j = &s->jobs[l];
		const sw_layer_info *li = sw_image_layer(s->img, l);
		for (i = 0; i < j->nf; i++) {
			sw_finding f = j->fs[i].f;
			size_t rr = j->fs[i].rec;
			f.path = j->fs[i].path ? j->fs[i].path : job_path(j, rr);
			f.layer_digest = li->digest;
			f.created_by = li->created_by;
			f.in_final_fs = !(j->recs[rr].flags & SW_MREC_UNPLACED) && sw_merge_live(m, l, rr);
			if ((rc = sw_report__add(r, &f)) < 0)
				return rc;
			/* a detector's findings on one file are consecutive */
			if ((i + 1 == j->nf || j->fs[i + 1].rec != rr) &&
			    (rc = hidden_payload(s, m, r, l, i)) < 0)
				return rc;
		}
		if ((rc = link_floods(s, m, r, l)) < 0)
			return rc;
		if (j->f_dropped) {
			char msg[128];
			snprintf(msg, sizeof(msg), "%zu more findings in this layer not listed (limit %d)",
				 j->f_dropped, MAX_FINDINGS_PER_LAYER);
			if ((rc = layer_incomplete(s, m, r, l, NULL, msg)) < 0)
				return rc;
		}
		if (j->inc_dropped) {
			char msg[128];
			snprintf(msg, sizeof(msg), "%zu more incomplete entries in this layer not listed",
				 j->inc_dropped);
			if ((rc = layer_incomplete(s, m, r, l, NULL, msg)) < 0)
				return rc;
		}
		for (i = 0; i < j->ninc; i++)
			if ((rc = layer_incomplete(s, m, r, l, j->incs[i].path, j->incs[i].reason)) < 0)
				return rc;
	}
	return 0;
}

static char chain_type(void *ctx, size_t l, size_t r)
{
	const scan *s = ctx;
	return r < s->jobs[l].nrecs ? s->jobs[l].recs[r].type : 0;
}

static const char *chain_link(void *ctx, size_t l, size_t r)
{
	const scan *s = ctx;
	const job *j = &s->jobs[l];
	return r < j->nrecs && j->recs[r].link ? j->strings.data + j->recs[r].link : NULL;
}

static const uint8_t *chain_content(void *ctx, size_t l, size_t r, size_t *len)
{
	const scan *s = ctx;
	const job *j = &s->jobs[l];
	size_t i;

	for (i = 0; i < j->nkept; i++)
		if (j->kept[i].rec == r) {
			*len = j->kept[i].len;
			return j->kept[i].data;
		}
	return NULL;
}

/* ---- the layer cache ---- */

#define LAYER_CACHE_DEFAULT_MAX (2ull << 30)

/* Everything a layer's result depends on besides its bytes: the engine,
 * the rules and IOC lists (the ruleset digest), the per-layer limits. */
static char *cache_key(const scan *s, const char *ruleset, const char *digest)
{
	sw_sha256 *h = sw_sha256_new();
	uint8_t d[SW_SHA256_LEN];
	char *hex, *text;

	if (!h)
		return NULL;
	text = sw__asprintf("stowaway layer cache 1\n%s\n%s\n%s\n%llu %u %u %u %d\n", SW_VERSION, ruleset, digest,
			    (unsigned long long)s->lim.max_file_size, s->lim.max_ratio, s->lim.max_path,
			    s->lim.max_depth, s->want_content);
	if (text)
		sw_sha256_update(h, text, strlen(text));
	sw_sha256_final(h, d);
	sw_sha256_free(h);
	free(text);
	if (!(hex = malloc(2 * SW_SHA256_LEN + 1)))
		return NULL;
	sw_hex(d, SW_SHA256_LEN, hex);
	return hex;
}

/* The cached job must hold what this image needs from it: the same diff_id
 * as this image's config names, and the bytes of every file Entrypoint/Cmd
 * may run (kept only for the image that stored the entry). */
static bool cached_job_fits(const scan *s, const job *j, const char *diff_id, const sw_layer_info *li)
{
	char **p;
	size_t r, k;

	if (li->diff_id && strcmp(li->diff_id, diff_id) != 0)
		return false;
	for (p = s->start_paths; p && *p; p++)
		for (r = 0; r < j->nrecs; r++) {
			if (j->recs[r].type != '0' || strcmp(j->strings.data + j->recs[r].path, *p) != 0)
				continue;
			for (k = 0; k < j->nkept && j->kept[k].rec != r; k++)
				;
			if (k == j->nkept)
				return false;
		}
	return true;
}

static void cache_lookup(scan *s, const char *ruleset)
{
	size_t i, k;

	for (i = 0; i < s->njobs; i++) {
		job *j = &s->jobs[i];
		const sw_layer_info *li = sw_image_layer(s->img, i);
		uint8_t *data = NULL;
		size_t len;
		char *diff_id = NULL;
		if (!li->digest || !(j->key = cache_key(s, ruleset, li->digest)))
			continue;
		if (sw_cache_get(s->cache, j->key, &data, &len) < 0)
			continue;
		/* the image-wide bounds count cached layers too: a layer that would
		 * cross one is scanned, so the bound is met where it would be */
		if (sw_job_decode(j, data, len, &diff_id, MAX_NAME_BYTES_PER_LAYER) == 0 &&
		    cached_job_fits(s, j, diff_id, li) &&
		    atomic_load(&s->entries) + j->entries <= s->lim.max_entries &&
		    atomic_load(&s->bytes_out) + j->bytes_out <= s->lim.max_image_bytes) {
			j->cached = true;
			s->cache_hits++;
			atomic_fetch_add(&s->entries, j->entries);
			atomic_fetch_add(&s->bytes_out, j->bytes_out);
			for (k = 0; k < j->nkept; k++)
				atomic_fetch_add(&s->kept_bytes, j->kept[k].len);
		} else {
			/* unusable: scan the layer as if the entry were not there */
			char *key = j->key;
			j->key = NULL;
			sw_job_release(j);
			memset(j, 0, sizeof(*j));
			j->index = i;
			j->key = key;
			j->strings = (sw_buf)SW_BUF_INIT(MAX_NAME_BYTES_PER_LAYER);
		}
		free(diff_id);
		free(data);
	}
}

/* A job is stored only when its result depends on nothing but the layer,
 * the rules and the limits in the key: not when a bound of the whole image
 * (entries, time) stopped it, nor when something transient shaped it (a
 * per-file timeout, the image's script budget). */
static bool cacheable(const job *j)
{
	return !j->cached && !j->limited && !j->transient && j->rc >= 0 && j->key;
}

static void cache_store(scan *s)
{
	size_t i;

	for (i = 0; i < s->njobs; i++) {
		job *j = &s->jobs[i];
		const sw_layer_info *li = sw_image_layer(s->img, i);
		sw_buf b = SW_BUF_INIT((size_t)1 << 30);
		if (!cacheable(j))
			continue;
		if (sw_job_encode(j, li->diff_id ? li->diff_id : "", &b) == 0)
			sw_cache_put(s->cache, j->key, li->digest, (const uint8_t *)b.data, b.len);
		sw_buf_release(&b);
	}
}

static int init_detectors(scan *s, char **ruleset, sw_error *err)
{
	sw_buf rs = SW_BUF_INIT((size_t)1 << 31);
	uint8_t d[SW_SHA256_LEN];
	size_t i;
	int rc;

	for (i = 0; i < NDET; i++) {
		if (detectors[i]->init && (rc = detectors[i]->init(&s->dstate[i], s->o, &rs, err)) < 0) {
			sw_buf_release(&rs);
			return rc;
		}
		if (detectors[i]->flags & SW_DET_CONTENT)
			s->want_content = true;
	}
	sw_sha256_buf(rs.data ? rs.data : "", rs.len, d);
	sw_buf_release(&rs);
	if (!(*ruleset = malloc(SW_DIGEST_STRLEN)))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	sw_digest_str(d, *ruleset);
	return 0;
}

static unsigned ncores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

int sw_scan_image(const sw_image *img, const sw_scan_opts *opts, sw_report **out,
		  sw_error *err)
{
	sw_scan_opts defo = SW_SCAN_OPTS_INIT;
	scan s;
	worker *ws = NULL;
	pthread_t *th = NULL;
	sw_merge *m = NULL;
	sw_report *r = NULL;
	size_t i, nw = 0, started = 0;
	int rc;

	*out = NULL;
	if (!opts)
		opts = &defo;
	memset(&s, 0, sizeof(s));
	s.img = img;
	s.o = opts;
	s.lim = opts->limits;
	s.start = sw_now();
	s.deadline = s.start + (s.lim.timeout > 0 ? s.lim.timeout : 1e12);
	pthread_mutex_init(&s.plock, NULL);
	s.njobs = sw_image_layer_count(img);
	if ((rc = sw_report__new(&r, img, err)) < 0)
		goto out;
	if ((rc = init_detectors(&s, &r->ruleset, err)) < 0)
		goto out;
	{
		size_t clen;
		const char *cfg = sw_image_config(img, &clen);
		if ((rc = sw_chain_start_paths(cfg, clen, &s.start_paths)) < 0) {
			sw_error_set(err, rc, "out of memory");
			goto out;
		}
	}
	if (!(s.jobs = calloc(s.njobs + 1, sizeof(*s.jobs)))) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < s.njobs; i++) {
		s.jobs[i].index = i;
		s.jobs[i].strings = (sw_buf)SW_BUF_INIT(MAX_NAME_BYTES_PER_LAYER);
	}
	if (opts->layer_cache && !sw_image__rootfs(img)) {
		/* a cache that cannot be opened is not used: the scan does the work */
		if (sw_cache_open(&s.cache, opts->layer_cache,
				  opts->layer_cache_max ? opts->layer_cache_max : LAYER_CACHE_DEFAULT_MAX, NULL) == 0)
			cache_lookup(&s, r->ruleset);
	}
	nw = opts->jobs ? opts->jobs : ncores();
	if (nw > s.njobs)
		nw = s.njobs ? s.njobs : 1;
	if (!(ws = calloc(nw, sizeof(*ws))) || !(th = calloc(nw, sizeof(*th)))) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nw; i++)
		if ((rc = worker_init(&ws[i], &s, err)) < 0)
			goto out;
	for (started = 0; started < nw; started++)
		if (pthread_create(&th[started], NULL, work, &ws[started]) != 0)
			break;
	if (started == 0)
		work(&ws[0]);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < s.njobs; i++)
		if (s.jobs[i].rc < 0 && !s.jobs[i].stopped) {
			const sw_layer_info *li = sw_image_layer(img, i);
			*err = s.jobs[i].err;
			if (!err->msg[0]) /* a bare code (out of memory) is an error too */
				sw_error_set(err, s.jobs[i].rc, "%s",
					     s.jobs[i].rc == SW_ENOMEM ? "out of memory" : "layer scan failed");
			rc = sw_error_prefix(err, "layer %zu (%s)", i, li->digest ? li->digest : "rootfs");
			goto out;
		}
	if (s.cache)
		cache_store(&s);
	r->cache_hits = s.cache_hits;
	if ((rc = merge(&s, &m)) < 0) {
		sw_error_set(err, rc, "out of memory merging layers");
		goto out;
	}
	if ((rc = build_report(&s, m, r)) < 0) {
		sw_error_set(err, rc, "out of memory building the report");
		goto out;
	}
	{
		sw_chain_env env = { m, NULL, 0, &s, chain_type, chain_link, chain_content };
		env.config = sw_image_config(img, &env.config_len);
		if ((rc = sw_chain_link(&env, r)) < 0) {
			sw_error_set(err, rc, "out of memory following the entrypoint chain");
			goto out;
		}
	}
	for (i = 0; i < NDET; i++) {
		sw_emit e = { NULL, detectors[i]->name, r, img };
		if (detectors[i]->image && (rc = detectors[i]->image(s.dstate[i], img, &e)) < 0) {
			sw_error_set(err, rc, "detector %s failed on the image", detectors[i]->name);
			goto out;
		}
	}
	sw_report__sort(r);
	r->files = atomic_load(&s.files);
	r->bytes = atomic_load(&s.bytes_out);
	r->seconds = sw_now() - s.start;
	*out = r;
	r = NULL;
	rc = 0;
out:
	for (i = 0; i < nw && ws; i++)
		worker_release(&ws[i]);
	free(ws);
	free(th);
	sw_merge_free(m);
	for (i = 0; s.jobs && i < s.njobs; i++)
		sw_job_release(&s.jobs[i]);
	free(s.jobs);
	for (i = 0; i < NDET; i++)
		if (detectors[i]->release && s.dstate[i])
			detectors[i]->release(s.dstate[i]);
	sw_chain_free_paths(s.start_paths);
	sw_cache_close(s.cache);
	pthread_mutex_destroy(&s.plock);
	sw_report_free(r);
	return rc;
}
