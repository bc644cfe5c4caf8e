/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The YARA prefilter (see yara.c): the gates of yaragate.c and the
 * patterns they look for, compiled into Hyperscan databases (one per size
 * tier for a file's bytes, one per name: filepath, filename, extension)
 * and cached beside the compiled rules. A file goes to libyara only when
 * some public rule's gate is open on what one pass of them found. Without
 * Hyperscan (or on a CPU it does not run on) the prefilter stays inactive
 * and every file goes to libyara.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "yara_int.h"
#include "../util/banned.h"

/* ---- the prefilter ---- */

/* Drop the literals' database: files all go to libyara. */
static void pf_disable(prefilter *pf)
{
#ifdef SW_HAVE_HYPERSCAN
	int k;
	if (pf->proto)
		hs_free_scratch(pf->proto);
	pf->proto = NULL;
	for (k = 0; k < NTIERS + 3; k++) {
		if (pf->db[k])
			hs_free_database(pf->db[k]);
		pf->db[k] = NULL;
	}
#endif
	pf->active = false;
	pf->measurable = false;
}

void sw_yara__pf_release(prefilter *pf)
{
	pf_disable(pf);
	sw_ygate_free(pf->gate);
	pf->gate = NULL;
}

#ifdef SW_HAVE_HYPERSCAN
#define PF_NDB (NTIERS + 3)
static const unsigned pf_var[3] = { SW_YGATE_PATH, SW_YGATE_NAME, SW_YGATE_EXT };

/* Compile the patterns of one database (those matched against the bytes
 * of files of one size tier, or against one of a file's names) into
 * pf->db[which]: literals
 * written byte by byte (\xNN), regexes in prefilter mode (Hyperscan may
 * then match more, never less). A regex Hyperscan refuses is dropped (its
 * strings fall back to their literals, its path test to "true") and the
 * database compiled again. A drop may bring literals into a database
 * compiled before it: pf_build compiles them all again then. */
static int pf_compile(prefilter *pf, int which)
{
	size_t np = sw_ygate_npatterns(pf->gate), i, m, tries;
	char **exprs = calloc(np, sizeof(*exprs));
	unsigned *flags = calloc(np, sizeof(*flags)), *ids = calloc(np, sizeof(*ids));
	hs_compile_error_t *ce = NULL;
	bool checked = false;
	int rc = -1;

	if (!exprs || !flags || !ids)
		goto out;
	for (tries = 0; tries <= np; tries++) {
		size_t e;
		/* the patterns this database needs (a drop changes them: the
		 * literals of a dropped regex come in) */
		for (i = 0, m = 0; i < np; i++) {
			size_t len, k;
			unsigned f;
			const uint8_t *p = sw_ygate_pattern(pf->gate, i, &len, &f);
			uint64_t b = sw_ygate_pattern_bound(pf->gate, i);
			if (sw_ygate_dropped(pf->gate, i) ||
			    (which < NTIERS ? (f & (SW_YGATE_PATH | SW_YGATE_NAME | SW_YGATE_EXT)) ||
			     b <= sw_yara__tier_min[which] :
			     (f & (SW_YGATE_PATH | SW_YGATE_NAME | SW_YGATE_EXT)) != pf_var[which - NTIERS]))
				continue;
			if (f & SW_YGATE_REGEX) {
				exprs[m] = sw__strdup((const char *)p);
				flags[m] = HS_FLAG_PREFILTER | (f & SW_YGATE_DOTALL ? HS_FLAG_DOTALL : 0);
			} else if ((exprs[m] = malloc(4 * len + 1))) {
				for (k = 0; k < len; k++)
					snprintf(exprs[m] + 4 * k, 5, "\\x%02x", p[k]);
				flags[m] = 0;
			}
			if (!exprs[m])
				goto out;
			flags[m] |= HS_FLAG_SINGLEMATCH | (f & SW_YGATE_CASELESS ? HS_FLAG_CASELESS : 0);
			ids[m++] = (unsigned)i;
		}
		if (m == 0) {
			rc = 0;
			break;
		}
		if (hs_compile_multi((const char *const *)exprs, flags, ids, (unsigned)m, HS_MODE_BLOCK,
				     NULL, &pf->db[which], &ce) == HS_SUCCESS) {
			rc = hs_alloc_scratch(pf->db[which], &pf->proto) == HS_SUCCESS ? 0 : -1;
			break;
		}
		if (!ce || ce->expression < 0 || (size_t)ce->expression >= m ||
		    !(flags[ce->expression] & HS_FLAG_PREFILTER))
			break; /* not one regex's fault */
		e = (size_t)ce->expression;
		hs_free_compile_error(ce);
		ce = NULL;
		if (!checked) {
			/* once: every regex alone, so that many refusals cost
			 * one pass, not a compile of the whole set each */
			for (i = 0; i < m; i++) {
				hs_database_t *one = NULL;
				if (!(flags[i] & HS_FLAG_PREFILTER))
					continue;
				if (hs_compile(exprs[i], flags[i], HS_MODE_BLOCK, NULL, &one, &ce) != HS_SUCCESS)
					sw_ygate_drop(pf->gate, ids[i]);
				if (one)
					hs_free_database(one);
				if (ce)
					hs_free_compile_error(ce);
				ce = NULL;
			}
			checked = true;
		}
		sw_ygate_drop(pf->gate, ids[e]);
		for (i = 0; i < m; i++) {
			free(exprs[i]);
			exprs[i] = NULL;
		}
	}
out:
	if (ce)
		hs_free_compile_error(ce);
	for (i = 0; exprs && i < np; i++)
		free(exprs[i]);
	free(exprs);
	free(flags);
	free(ids);
	return rc;
}

static size_t pf_ndropped(const prefilter *pf)
{
	size_t i, n = 0;

	for (i = 0; i < sw_ygate_npatterns(pf->gate); i++)
		n += sw_ygate_dropped(pf->gate, i);
	return n;
}

/* The compiled databases are cached beside the compiled rules (the file
 * name carries the rules' digest): "SWPF 4", Hyperscan's version, the
 * pattern count, the dropped regexes (u32 count, u32 each), the digest of
 * the patterns they were compiled from (pf_digest, drops applied), each
 * database serialized (u64 size, bytes), and the SHA-256 of all that.
 * Anything that does not fit is compiled again. */
#define PF_MAGIC "SWPF 4\n"
#define PF_MAX_FILE (256u << 20)

/* What the databases were compiled from: every pattern (bytes, flags, the
 * size from which no rule needs it), the size tiers, the drops. A cache
 * file is used only for exactly this. */
static void pf_digest(const prefilter *pf, uint8_t d[SW_SHA256_LEN])
{
	sw_sha256 *h = sw_sha256_new();
	size_t i, np = sw_ygate_npatterns(pf->gate);

	if (!h) {
		memset(d, 0, SW_SHA256_LEN);
		return;
	}
	sw_sha256_update(h, PF_MAGIC, strlen(PF_MAGIC));
	sw_sha256_update(h, sw_yara__tier_min, sizeof(sw_yara__tier_min));
	for (i = 0; i < np; i++) {
		size_t len;
		unsigned f;
		const uint8_t *p = sw_ygate_pattern(pf->gate, i, &len, &f);
		uint64_t meta[4] = { len, f, sw_ygate_pattern_bound(pf->gate, i),
				     sw_ygate_dropped(pf->gate, i) };
		sw_sha256_update(h, meta, sizeof(meta));
		sw_sha256_update(h, p, len);
	}
	sw_sha256_final(h, d);
	sw_sha256_free(h);
}

static int pf_cache_load(prefilter *pf, const char *path)
{
	sw_buf b = SW_BUF_INIT(PF_MAX_FILE);
	size_t off, vlen, np = sw_ygate_npatterns(pf->gate);
	const char *ver = hs_version();
	uint8_t want[SW_SHA256_LEN];
	uint32_t n32, nd, i;
	int k;

	if (sw_file_read(path, &b) < 0 || b.len < SW_SHA256_LEN)
		goto bad;
	/* the whole file's own SHA-256 at its end: damage is caught here,
	 * not left to Hyperscan's reader */
	sw_sha256_buf(b.data, b.len - SW_SHA256_LEN, want);
	if (memcmp(b.data + b.len - SW_SHA256_LEN, want, SW_SHA256_LEN) != 0)
		goto bad;
	b.len -= SW_SHA256_LEN;
	vlen = strlen(ver);
	off = strlen(PF_MAGIC);
	if (b.len < off + vlen + 1 + 8 || memcmp(b.data, PF_MAGIC, off) != 0 ||
	    memcmp(b.data + off, ver, vlen) != 0 || b.data[off + vlen] != '\n')
		goto bad;
	off += vlen + 1;
	memcpy(&n32, b.data + off, 4);
	memcpy(&nd, b.data + off + 4, 4);
	off += 8;
	if (n32 != np || nd > np || b.len - off < 4ull * nd + SW_SHA256_LEN)
		goto bad;
	for (i = 0; i < nd; i++) {
		uint32_t id;
		memcpy(&id, b.data + off + 4ull * i, 4);
		if (id >= np)
			goto bad;
		sw_ygate_drop(pf->gate, id);
	}
	off += 4ull * nd;
	/* nothing else from the file is used unless it was compiled from
	 * exactly these patterns, tiers and drops */
	pf_digest(pf, want);
	if (memcmp(b.data + off, want, SW_SHA256_LEN) != 0)
		goto bad;
	off += SW_SHA256_LEN;
	for (k = 0; k < PF_NDB; k++) {
		uint64_t sz;
		if (b.len - off < 8)
			goto bad;
		memcpy(&sz, b.data + off, 8);
		off += 8;
		if (sz > b.len - off)
			goto bad;
		if (sz && (hs_deserialize_database(b.data + off, (size_t)sz, &pf->db[k]) != HS_SUCCESS ||
			   hs_alloc_scratch(pf->db[k], &pf->proto) != HS_SUCCESS))
			goto bad;
		off += (size_t)sz;
	}
	if (off != b.len)
		goto bad;
	sw_buf_release(&b);
	return 0;
bad:
	sw_buf_release(&b);
	pf_disable(pf);
	sw_ygate_undrop(pf->gate); /* the file's drops are not ours */
	return -1;
}

static void pf_cache_save(const prefilter *pf, const char *path)
{
	sw_buf b = SW_BUF_INIT(PF_MAX_FILE);
	uint32_t n32 = (uint32_t)sw_ygate_npatterns(pf->gate), nd = 0, i;
	uint8_t d[SW_SHA256_LEN];
	size_t ndpos;
	char *tmp, *dir;
	int k, fail = 0;

	fail |= sw_buf_printf(&b, "%s%s\n", PF_MAGIC, hs_version());
	fail |= sw_buf_append(&b, &n32, 4);
	ndpos = b.len;
	fail |= sw_buf_append(&b, &nd, 4);
	for (i = 0; i < n32; i++)
		if (sw_ygate_dropped(pf->gate, i)) {
			fail |= sw_buf_append(&b, &i, 4);
			nd++;
		}
	pf_digest(pf, d);
	fail |= sw_buf_append(&b, d, sizeof(d));
	for (k = 0; k < PF_NDB; k++) {
		char *bytes = NULL;
		size_t len = 0;
		uint64_t sz;
		if (pf->db[k] && hs_serialize_database(pf->db[k], &bytes, &len) != HS_SUCCESS)
			fail = -1;
		sz = len;
		fail |= sw_buf_append(&b, &sz, 8);
		if (len)
			fail |= sw_buf_append(&b, bytes, len);
		free(bytes);
	}
	if (fail || !b.data) {
		sw_buf_release(&b);
		return;
	}
	memcpy(b.data + ndpos, &nd, 4);
	sw_sha256_buf(b.data, b.len, d);
	if (sw_buf_append(&b, d, sizeof(d)) < 0) {
		sw_buf_release(&b);
		return;
	}
	if ((tmp = sw__asprintf("%s.%d.tmp", path, (int)getpid()))) {
		if ((dir = sw__strdup(tmp))) {
			sw_yara__mkdirs(dir);
			free(dir);
		}
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			bool ok = sw_write_all(fd, b.data, b.len) == 0;
			ok &= close(fd) == 0;
			if (!ok || rename(tmp, path) != 0)
				unlink(tmp);
		}
		free(tmp);
	}
	sw_buf_release(&b);
}
#endif

/* Build the gate and its literals' database from the sources. Leaves the
 * prefilter inactive (every file goes to libyara) when the rules cannot be
 * gated: a rule whose gate is always open, a source the gate reader does
 * not follow (no gate then), no Hyperscan in this build or on this CPU. */
int sw_yara__pf_build(prefilter *pf, const src *v, size_t n, const char *cpath, sw_error *err)
{
	const char **texts, **nss;
	bool measure = pf->measure;
	size_t i;
	int rc;

	memset(pf, 0, sizeof(*pf));
	pf->measure = measure;
	if (!(texts = calloc(n, sizeof(*texts))) || !(nss = calloc(n, sizeof(*nss)))) {
		free(texts);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++) {
		texts[i] = v[i].text;
		nss[i] = v[i].ns;
	}
	rc = sw_ygate_build(texts, nss, n, &pf->gate, err);
	free(texts);
	free(nss);
	if (rc < 0 || !pf->gate || (sw_ygate_open_rules(pf->gate) > 0 && !pf->measure))
		return rc;
	/* (with measure, compiled even when some rule's gate is always open
	 * and the prefilter is then not used: `rules list --corpus` still
	 * measures every gate, to find that rule) */
#ifdef SW_HAVE_HYPERSCAN
	{
		int k;
		if (hs_valid_platform() != HS_SUCCESS)
			return 0;
		if (!cpath || pf_cache_load(pf, cpath) < 0) {
			size_t before;
			do { /* again if a drop changed what the earlier ones need */
				before = pf_ndropped(pf);
				pf_disable(pf);
				for (k = 0; k < PF_NDB; k++)
					if (pf_compile(pf, k) < 0) {
						pf_disable(pf);
						return 0;
					}
			} while (pf_ndropped(pf) != before);
			if (cpath)
				pf_cache_save(pf, cpath);
		}
	}
	pf->active = sw_ygate_open_rules(pf->gate) == 0;
	pf->measurable = true;
#else
	(void)cpath;
	pf->active = sw_ygate_npatterns(pf->gate) == 0;
#endif
	return 0;
}

void sw_yara__pf_worker_release(pf_worker *w)
{
#ifdef SW_HAVE_HYPERSCAN
	if (w->hs)
		hs_free_scratch(w->hs);
#endif
	free(w->hits);
	free(w->rv);
	memset(w, 0, sizeof(*w));
}

int sw_yara__pf_worker_init(const prefilter *pf, pf_worker *w, sw_error *err)
{
	memset(w, 0, sizeof(*w));
	if (!pf->active && !pf->measurable)
		return 0;
	if (!(w->hits = calloc(sw_ygate_hitwords(pf->gate), sizeof(*w->hits))) ||
	    !(w->rv = calloc(sw_ygate_nrules(pf->gate) + 1, 1)))
		goto oom;
#ifdef SW_HAVE_HYPERSCAN
	if (pf->proto && hs_clone_scratch(pf->proto, &w->hs) != HS_SUCCESS)
		goto oom;
#endif
	return 0;
oom:
	sw_yara__pf_worker_release(w);
	return sw_error_set(err, SW_ENOMEM, "out of memory");
}

#ifdef SW_HAVE_HYPERSCAN
static int on_literal(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
		      void *ctx)
{
	uint64_t *hits = ctx;

	(void)from;
	(void)to;
	(void)flags;
	hits[id / 64] |= 1ull << (id % 64);
	return 0;
}
#endif

/* The patterns found in the file into w->hits; -1 when a scan failed.
 * With quick, 1 when the names' patterns, taken as found, already close
 * every public gate (a gate only opens as more is found): on most files
 * that is so, and the names need no scan. */
static int pf_scan(const prefilter *pf, pf_worker *w, const char *path, const char *name,
		   const char *ext, const uint8_t *data, size_t len, bool quick)
{
	size_t words = sw_ygate_hitwords(pf->gate);

	memset(w->hits, 0, words * sizeof(*w->hits));
#ifdef SW_HAVE_HYPERSCAN
	{
		sw_ygate_file gf = { data, len, path, name, ext };
		const char *in[3] = { path, name, ext };
		const uint64_t *names = sw_ygate_namebits(pf->gate);
		hs_database_t *db = pf->db[sw_yara__tier_of(len)];
		size_t i;
		int k;
		if (db && hs_scan(db, (const char *)data, (unsigned)len, 0, w->hs, on_literal, w->hits) !=
		    HS_SUCCESS)
			return -1;
		if (quick) {
			for (i = 0; i < words; i++)
				w->hits[i] |= names[i];
			if (!sw_ygate_may_match(pf->gate, w->hits, &gf, w->rv))
				return 1;
			for (i = 0; i < words; i++)
				w->hits[i] &= ~names[i];
		}
		for (k = 0; k < 3; k++)
			if (pf->db[NTIERS + k] && hs_scan(pf->db[NTIERS + k], in[k], (unsigned)strlen(in[k]), 0,
							  w->hs, on_literal, w->hits) != HS_SUCCESS)
				return -1;
	}
#else
	(void)path, (void)name, (void)ext, (void)data, (void)len, (void)quick;
#endif
	return 0;
}

/* True when no public rule can match this file: libyara need not see it. */
bool sw_yara__pf_skip(const prefilter *pf, pf_worker *w, const char *path, const char *name,
		      const char *ext, const uint8_t *data, size_t len)
{
	sw_ygate_file gf = { data, len, path, name, ext };
	int r;

	if (!pf->active || !w->hits || len > UINT_MAX)
		return false;
	if ((r = pf_scan(pf, w, path, name, ext, data, len, true)) != 0)
		return r > 0;
	return !sw_ygate_may_match(pf->gate, w->hits, &gf, w->rv);
}

/* Every rule's gate on this file into w->rv (all open when the patterns
 * could not be looked for). */
void sw_yara__pf_each(const prefilter *pf, pf_worker *w, const char *path, const char *name,
		      const char *ext, const uint8_t *data, size_t len)
{
	sw_ygate_file gf = { data, len, path, name, ext };

	if (!w->hits || !w->rv)
		return;
	if (len > UINT_MAX || pf_scan(pf, w, path, name, ext, data, len, false) < 0) {
		memset(w->rv, 1, sw_ygate_nrules(pf->gate));
		return;
	}
	sw_ygate_eval_all(pf->gate, w->hits, &gf, w->rv);
}
