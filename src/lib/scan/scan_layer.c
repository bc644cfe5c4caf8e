/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One layer through a worker (see scan.c): the layer stream's tar entries
 * (image/stream.c), or a dir: source's tree walked without following a
 * link, become records of the layer's job; each file is hashed, its bytes
 * (up to max-file-size) handed to the detectors where they lie when they
 * came whole, small scripts kept for the entrypoint chain, archives inside
 * expanded (nested.c) within --max-depth and one budget per top-level
 * file. The image's budgets (bytes, entries, time) are checked after every
 * chunk.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan_int.h"
#include "nested.h"
#include "../util/elf.h"
#include "../image/image_int.h"
#include "../report/report_int.h"
#include "../util/banned.h"

/* ---- files ---- */

/* Does any detector need this file's SHA-256? (Only the hash IOCs do, and
 * only for sizes their lists name: hashing every byte a second time, after
 * the diff_id, was a third of a scan's CPU.) */
static bool want_sha256(const worker *w, uint64_t size)
{
	size_t d;

	for (d = 0; d < NDET; d++)
		if (sw_scan__detectors[d]->wants_sha256 && w->s->dstate[d] &&
		    sw_scan__detectors[d]->wants_sha256(w->s->dstate[d], size))
			return true;
	return false;
}

static int run_detectors(worker *w, const uint8_t *data, size_t len)
{
	size_t d;
	int rc;

	for (d = 0; d < NDET; d++) {
		sw_emit e = { w, sw_scan__detectors[d]->name, NULL, NULL };
		bool content = sw_scan__detectors[d]->flags & SW_DET_CONTENT;
		if (!sw_scan__detectors[d]->file || (content && w->truncated))
			continue;
		rc = sw_scan__detectors[d]->file(w->s->dstate[d], w->wstate[d], &w->cur,
					content ? data : NULL, content ? len : 0, &e);
		if (rc < 0)
			return sw_error_set(w->err, rc, "%s: detector %s failed", w->cur.path,
					    sw_scan__detectors[d]->name);
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
 * Entrypoint/Cmd) for the entrypoint chain, and of the package databases
 * for the findings' provenance (pkgdb.c), within a fixed budget. A
 * database past it is only not read: what comes of it is a note on
 * findings, never a reason to think the scan incomplete. */
static int keep(worker *w, const uint8_t *data, size_t len)
{
	job *j = w->j;
	kept *k;

	if (SW_GROW_CAP(j->kept, j->nkept, j->capkept) < 0)
		return SW_ENOMEM;
	k = &j->kept[j->nkept];
	if (!(k->data = malloc(len ? len : 1)))
		return SW_ENOMEM;
	if (len)
		memcpy(k->data, data, len);
	k->len = len;
	k->rec = w->cur_rec;
	j->nkept++;
	return 0;
}

static int keep_file(worker *w, const uint8_t *data, size_t len)
{
	job *j = w->j;
	bool db = sw_scan__is_pkgdb(w->cur.path);

	if (!w->s->want_content || (len == 0 && !w->truncated))
		return 0;
	/* a database not kept is kept as nothing: its owners are unknown, so
	 * pkgdb.c must not take a file it does not list for one put there by
	 * hand (an image can grow its databases past the budget on purpose) */
	if (db && (w->truncated || len > MAX_RETAIN_PKGDB))
		return keep(w, NULL, 0);
	if (w->truncated || (!db && (len > MAX_RETAIN_FILE ||
				     !(((w->cur.mode & 0111) && len > 2 && data[0] == '#' && data[1] == '!') ||
				       is_start_path(w->s, w->cur.path)))))
		return 0;
	if (atomic_fetch_add(&w->s->kept_bytes, len) + len > MAX_RETAIN_TOTAL) {
		j->transient = true; /* the budget is the image's, not the layer's */
		return db ? keep(w, NULL, 0) :
			    sw_scan__add_inc(j, w->cur.path, "script not kept for the entrypoint chain: budget spent");
	}
	return keep(w, data, len);
}

void sw_scan__free_xattrs(worker *w)
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

	sw_scan__free_xattrs(w);
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

	return sw_scan__add_inc(w->j, path, "nested archive: %s", reason);
}

/* A heuristic finding about the file being expanded, with the evidence
 * the caller wrote into jw (released here). */
static int nested_finding(worker *w, sw_jw *jw, sw_buf *ev, const char *id, sw_severity sev,
			  const char *category, const char *title)
{
	sw_emit e = { w, "heuristic", NULL, NULL };
	int rc;

	sw_jw_end(jw);
	if ((rc = sw_jw_done(jw)) == 0)
		rc = sw_emit_finding(&e, id, sev, category, title, sw_buf_cstr(ev));
	sw_buf_release(ev);
	return rc;
}

static int nested_sfx(void *ctx, const char *path, size_t offset)
{
	sw_buf ev = SW_BUF_INIT(96);
	sw_jw jw = SW_JW_INIT(&ev);

	(void)path;
	sw_jw_obj(&jw);
	sw_jw_kuint(&jw, "payload_offset", offset);
	return nested_finding(ctx, &jw, &ev, "SW-HEUR-SELF-EXTRACTING", SW_SEV_LOW, "suspicious-config",
			      "Script with an archive appended (self-extracting); its payload is scanned");
}

/* An executable carrying a compressed executable: the shape of a packer's
 * loader. Medium on its own (the payload is scanned as a member and its
 * own findings say what it is); raised to high when the image starts the
 * carrier (chain.c). */
static int nested_embedded(void *ctx, const char *path, const char *kind, size_t offset, size_t clen,
			   const uint8_t *data, size_t len)
{
	sw_buf ev = SW_BUF_INIT(256);
	sw_jw jw = SW_JW_INIT(&ev);

	(void)path;
	if (!sw_elf_is(data, len))
		return 0;
	sw_jw_obj(&jw);
	sw_jw_kstr(&jw, "stream", kind);
	sw_jw_kuint(&jw, "offset", offset);
	sw_jw_kuint(&jw, "compressed_bytes", clen);
	sw_jw_kuint(&jw, "bytes", len);
	return nested_finding(ctx, &jw, &ev, "SW-HEUR-EMBEDDED-EXEC", SW_SEV_MEDIUM, "packed",
			      "Executable carries a compressed executable (unpacked and scanned)");
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
	sw_nested_cb cb = { w, nested_member, nested_incomplete, nested_sfx, nested_hostile, nested_embedded };
	sw_nested_limits lim;
	int rc;

	if (!w->s->want_content || w->truncated || !len)
		return 0;
	if (w->depth >= w->s->lim.max_depth)
		return sw_nested_expandable(data, len) ?
			sw_scan__add_inc(w->j, path, "nested archive: %s deeper than --max-depth %u: not expanded",
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
	w->cur.sha256 = NULL;
	if (want_sha256(w, len)) {
		sw_sha256_reset(w->fh);
		sw_sha256_update(w->fh, data, len);
		sw_sha256_final(w->fh, digest);
		w->cur.sha256 = digest;
	}
	w->cur.path = path;
	w->cur.mode = mode;
	w->cur.size = len;
	w->cur.xattrs = NULL;
	w->cur.nxattrs = 0;
	w->nested_path = path;
	atomic_fetch_add(&w->s->files, 1);
	w->j->files++;
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

	if ((rc = sw_scan__add_rec(j, path, link, type, flags, &w->cur_rec)) < 0)
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
	w->j->files++;
	if (type != '0')
		return run_detectors(w, NULL, 0);
	w->in_file = true;
	w->truncated = w->s->want_content && size > w->s->lim.max_file_size;
	w->cur.truncated = w->truncated;
	if (w->truncated &&
	    (rc = sw_scan__add_inc(j, path, "file is %llu bytes, over max-file-size %llu: content detectors skipped",
				   (unsigned long long)size, (unsigned long long)w->s->lim.max_file_size)) < 0)
		return rc;
	if ((w->hashing = want_sha256(w, size)))
		sw_sha256_reset(w->fh);
	sw_buf_reset(&w->content);
	w->direct = NULL;
	/* the whole file's room at once (the header gave its size, within
	 * max-file-size): growing while appending copied it at each doubling */
	if (w->s->want_content && !w->truncated && size > 0 && (rc = sw_buf_reserve(&w->content, (size_t)size)) < 0)
		return sw_error_set(w->err, rc, "%s: out of memory for its %llu bytes", path, (unsigned long long)size);
	return 0;
}

/* Does a detector's evidence (JSON we wrote) already carry key? Parsed,
 * never searched: it quotes the file's bytes. */
static bool evidence_has(const char *evidence, const char *key)
{
	sw_json_doc *doc = NULL;
	bool has;

	if (sw_json_parse(evidence, strlen(evidence), &doc, NULL) < 0)
		return true; /* not ours to add to */
	has = sw_json_get(sw_json_root(doc), key) != NULL;
	sw_json_free(doc);
	return has;
}

/* A digest into a finding's evidence, as a JSON string of hex. */
static int evidence_hex(sw_finding *f, const char *key, const uint8_t *b, size_t n)
{
	char q[2 * SW_SHA256_LEN + 3];

	q[0] = '"';
	sw_hex(b, n, q + 1);
	q[2 * n + 1] = '"';
	q[2 * n + 2] = '\0';
	return sw_report__evidence_add(f, key, q);
}

/* The digests a package database would have recorded for this file
 * (dpkg's MD5, apk's SHA-1, rpm's SHA-256 mostly), for pkgdb.c to compare after the merge: for
 * the findings on it (evidence "md5", "sha1", "sha256", and "elf" for an ELF: an
 * unmodified file a package shipped says so on its findings), and for
 * every ELF in a system binary directory (a replaced ps or sshd raises no
 * rule; its package's digest gives it away). Computed from the content in
 * hand, so only for files the content detectors saw whole. */
static int package_digest(worker *w, const uint8_t *data, size_t len, size_t nf)
{
	static const char *const bins[] = { "/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/" };
	job *j = w->j;
	bool elf = sw_elf_is(data, len), bin = false;
	psum d;
	size_t i;
	int rc;

	for (i = 0; elf && i < sizeof(bins) / sizeof(bins[0]); i++)
		bin |= strncmp(w->cur.path, bins[i], strlen(bins[i])) == 0;
	if (j->nf == nf && !bin)
		return 0;
	d.rec = w->cur_rec;
	sw_md5_buf(data, len, d.md5);
	sw_sha1_buf(data, len, d.sha1);
	if (w->cur.sha256)
		memcpy(d.sha256, w->cur.sha256, SW_SHA256_LEN);
	else
		sw_sha256_buf(data, len, d.sha256);
	for (i = nf; i < j->nf; i++) {
		sw_finding *f = &j->fs[i].f;
		if (j->fs[i].rec != w->cur_rec || j->fs[i].path)
			continue;
		if ((rc = evidence_hex(f, "md5", d.md5, SW_MD5_LEN)) < 0 ||
		    (rc = evidence_hex(f, "sha1", d.sha1, SW_SHA1_LEN)) < 0 ||
		    (!evidence_has(f->evidence, "sha256") && (rc = evidence_hex(f, "sha256", d.sha256, SW_SHA256_LEN)) < 0) ||
		    (elf && (rc = sw_report__evidence_add(f, "elf", "true")) < 0))
			return rc;
	}
	if (!bin)
		return 0;
	if (SW_GROW_CAP(j->sums, j->nsums, j->capsums) < 0)
		return SW_ENOMEM;
	j->sums[j->nsums++] = d;
	return 0;
}

/* An rpm database pkgdb.c cannot read (the Berkeley DB and ndb formats;
 * an rpmdb.sqlite larger than a kept database may be): the report says
 * the image's packages were not checked, at info: it changes no verdict,
 * and it is not silence. */
static int rpm_database(worker *w)
{
	static const char *const dbs[] = { "/var/lib/rpm/Packages", "/var/lib/rpm/Packages.db",
					   "/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/Packages",
					   "/usr/lib/sysimage/rpm/Packages.db", "/usr/lib/sysimage/rpm/rpmdb.sqlite" };
	sw_emit e = { w, "provenance", NULL, NULL };
	const char *base = strrchr(w->cur.path, '/') + 1;
	size_t i;

	if (!strcmp(base, "rpmdb.sqlite") && w->cur.size <= MAX_RETAIN_PKGDB && !w->truncated)
		return 0; /* kept, and read after the merge */
	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
		if (!strcmp(w->cur.path, dbs[i]))
			return sw_emit_finding(&e, "SW-PKGDB-NOT-READ", SW_SEV_INFO, "incomplete",
					       "rpm database not read: the image's rpm packages were not checked "
					       "for which files they own or whether those changed",
					       !strcmp(base, "rpmdb.sqlite") ? "{\"format\":\"sqlite\"}" :
					       !strcmp(base, "Packages.db") ? "{\"format\":\"ndb\"}" :
					       "{\"format\":\"bdb\"}");
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
	if (w->hashing)
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
	size_t len = w->direct ? w->direct_len : w->content.len, nf;
	int rc;

	if (!w->in_file)
		return 0;
	w->in_file = false;
	w->direct = NULL;
	w->cur.sha256 = NULL;
	if (w->hashing) {
		sw_sha256_final(w->fh, w->digest);
		w->cur.sha256 = w->digest;
	}
	/* cur.path points into a buffer that add_rec may have moved */
	w->cur.path = sw_scan__job_path(w->j, w->cur_rec);
	nf = w->j->nf;
	if ((rc = run_detectors(w, data, len)) < 0)
		return rc;
	if (data && len == w->cur.size && (rc = package_digest(w, data, len, nf)) < 0)
		return rc;
	if ((rc = rpm_database(w)) < 0)
		return rc;
	if ((rc = keep_file(w, data, len)) < 0)
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
	sw_jw jw = SW_JW_INIT(&ev);
	char title[160];
	int rc;

	sw_jw_obj(&jw);
	sw_jw_kstr(&jw, "marker", base);
	sw_jw_kstr(&jw, "deletes", base + 4);
	sw_jw_end(&jw);
	snprintf(title, sizeof(title), "Whiteout marker naming \"%s\": unpacking it deletes %s",
		 base + 4, !strcmp(base + 4, "..") ? "the directory above its own" :
		 !strcmp(base + 4, ".") || !base[4] ? "its whole directory" : "outside its directory");
	rc = sw_jw_done(&jw);
	if (rc == 0)
		rc = sw_emit_finding(&e, "SW-WHITEOUT-ESCAPE", SW_SEV_HIGH, "escape", title, sw_buf_cstr(&ev));
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
		if ((rc = sw_scan__add_inc(j, path, rc == SW_ELIMIT ?
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
			if ((rc = sw_scan__add_inc(j, path, "hardlink target escapes the root: not placed")) < 0)
				return rc;
		}
	} else if (e->type == '2') {
		link = (char *)e->link;
	}
	if (e->sparse && (rc = sw_scan__add_inc(j, path, "GNU sparse entry: data is a sparse map, not the file's bytes")) < 0)
		return rc;
	if (e->type != '0' && e->type != '1' && e->type != '2' && e->type != '5' &&
	    e->type != '3' && e->type != '4' && e->type != '6' &&
	    (rc = sw_scan__add_inc(j, path, "unknown tar entry type '%c': data not scanned as a file",
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
	const sw_scan_opts *o = w->s->o;

	atomic_fetch_add(&w->s->bytes_in, n);
	if (o->layer_raw && o->layer_raw(o->layer_raw_ctx, w->j->index, p, n) != 0)
		return sw_error_set(err, SW_EIO, "layer %zu: its bytes could not be kept", w->j->index);
	return 0;
}

int sw_scan__blob(worker *w)
{
	scan *s = w->s;
	job *j = w->j;
	/* one layer decoded at a time (a one-layer image, or --jobs 1): its
	 * pipe may take the memory two would share, so the decompressor keeps
	 * going while a big file's detectors run (one-layer bench, mean of 5:
	 * 1.81 s with 8 MiB, 1.70 s with 16, 1.66 s with 32) */
	sw_lstream_opts o = { s->lim.max_ratio, s->deadline, s->lim.timeout, true,
			      s->nworkers == 1 ? 32u << 20 : 0 };
	sw_lstream_cb cb = { w, raw_cb, out_cb, { w, on_entry, on_data, on_entry_end } };
	sw_lstream_stats st;
	int rc;

	w->in_file = false;
	rc = sw_lstream_run(w->ls, s->img, j->index, &o, &cb, &st, w->err);
	if (rc == 0 && st.trailing)
		rc = sw_scan__add_inc(j, NULL, "non-zero data after the tar end-of-archive marker is not part of any file");
	return rc;
}

/* dir: sources - walk a root filesystem without following any symlink. */
static int walk_dir(worker *w, int dfd, char *path, size_t plen, unsigned depth)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (depth > w->s->lim.max_path / 2)
		return sw_scan__add_inc(w->j, path, "directory nesting too deep");
	if (!(d = fdopendir(dfd))) {
		close(dfd);
		return sw_scan__add_inc(w->j, path, "cannot read directory");
	}
	while (rc == 0 && (de = readdir(d))) {
		struct stat st;
		size_t n = strlen(de->d_name);
		char type, link[4096] = "";
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (plen + 1 + n > w->s->lim.max_path) {
			rc = sw_scan__add_inc(w->j, path, "entry path longer than max-path: skipped");
			continue;
		}
		snprintf(path + plen, w->s->lim.max_path + 1 - plen, "%s%s", plen > 1 ? "/" : "", de->d_name);
		w->j->entries++;
		if (atomic_fetch_add(&w->s->entries, 1) + 1 > w->s->lim.max_entries) {
			rc = sw_error_set(w->err, SW_ELIMIT, "more than max-entries files: walk stopped");
			break;
		}
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = sw_scan__add_inc(w->j, path, "cannot stat");
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
				rc = sw_scan__add_inc(w->j, path, "cannot open as the regular file it was");
			} else {
				while (rc == 0 && (r = read(fd, w->rbuf, READ_CHUNK)) > 0)
					if ((rc = check_budget(w, (size_t)r, w->err)) == 0)
						rc = file_data(w, w->rbuf, (size_t)r, false);
				close(fd);
				if (rc == 0 && r < 0)
					rc = sw_scan__add_inc(w->j, path, "read error");
			}
			if (rc == 0)
				rc = file_end(w);
			w->in_file = false;
		} else if (rc == 0 && type == '5') {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				rc = sw_scan__add_inc(w->j, path, "cannot open directory");
			else
				rc = walk_dir(w, sub, path, strlen(path), depth + 1);
		}
		path[plen] = '\0';
	}
	closedir(d);
	return rc;
}

int sw_scan__rootfs(worker *w)
{
	const char *root = sw_image__rootfs(w->s->img);
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return sw_error_set(w->err, SW_EIO, "%s: %s", root, strerror(errno));
	w->clean[0] = '/';
	w->clean[1] = '\0';
	return walk_dir(w, fd, w->clean, 1, 0);
}
