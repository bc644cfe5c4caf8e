/* SPDX-License-Identifier: Apache-2.0 */
/*
 * YARA rules (libyara 4.2). Rules come from the bundled set (rules/NAME.yar,
 * compiled into the library) and from --rules directories. They are
 * compiled once per run, and the compiled form is cached on disk under a
 * name that is the SHA-256 of every source and the libyara version, so a
 * second run loads instead of compiling, and no stale cache can be used.
 *
 * Every public rule must carry meta id, severity, category and title: they
 * become the finding. A rule without them is refused at compile time with
 * its file and name, so a rule author learns at once, not at scan time.
 *
 * One YR_SCANNER per worker thread (scanners are not thread-safe; compiled
 * rules are read-only and shared). Files are scanned from memory, with a
 * per-file timeout: a rule that is too slow on a file makes that file
 * incomplete, never clean.
 *
 * Before libyara, a prefilter: the patterns the rules' strings require
 * (yaragate.c: literals, and regexes that match at least what YARA's do)
 * are looked for in one pass (Hyperscan, all patterns at once, in prefilter
 * mode), and a file goes to libyara only when some public rule's gate is
 * open on what was found. A file that no rule can match costs one
 * Hyperscan pass instead of libyara's automaton and every condition. The
 * matches are libyara's alone: the prefilter only skips files on which
 * libyara would have matched nothing (`--no-prefilter` gives every file to
 * libyara; tests check the two agree).
 *
 * The parts: yara_rules.c (sources, compile, validate, the compiled-rules
 * cache, size tiers), yara_prefilter.c (the Hyperscan prefilter over the
 * gates of yaragate.c), and this file: the detector, `rules list` and
 * `rules test`.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yara.h>
#ifdef SW_HAVE_HYPERSCAN
#include <hs.h>
#endif

#include "stowaway/rules.h"
#include "detector.h"
#include "yara_int.h"
#include "../util/banned.h"

#define MAX_EVIDENCE_STRINGS 8

typedef struct ystate {
	YR_RULES *rules[NTIERS];
	int timeout;
	sw_severity dflt;          /* of --rules rules that name none */
	prefilter pf;
} ystate;

/* ---- the detector ---- */

static void yara_release(void *state)
{
	ystate *s = state;
	int t;

	if (!s)
		return;
	for (t = 0; t < NTIERS; t++)
		if (s->rules[t])
			yr_rules_destroy(s->rules[t]);
	sw_yara__pf_release(&s->pf);
	yr_finalize();
	free(s);
}

static int yara_init(void **state, const sw_scan_opts *o, sw_buf *ruleset, sw_error *err)
{
	ystate *s;
	int rc;

	*state = NULL;
	if (yr_initialize() != ERROR_SUCCESS)
		return sw_error_set(err, SW_ENOMEM, "yara: initialisation failed");
	if (!(s = calloc(1, sizeof(*s)))) {
		yr_finalize();
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	s->timeout = o->file_timeout > 0 ? o->file_timeout : 10;
	s->dflt = sw_yara__default_sev(o);
	if ((rc = sw_yara__load_tiers(o, s->rules, NTIERS, ruleset, &s->pf, NULL, err)) < 0) {
		yara_release(s);
		return rc;
	}
	*state = s;
	return 0;
}

typedef struct yworker {
	YR_SCANNER *sc[NTIERS];
	pf_worker pf;
} yworker;

static void yara_worker_release(void *wstate)
{
	yworker *w = wstate;
	int t;

	if (!w)
		return;
	for (t = 0; t < NTIERS; t++)
		if (w->sc[t])
			yr_scanner_destroy(w->sc[t]);
	sw_yara__pf_worker_release(&w->pf);
	free(w);
}

static int yara_worker_init(void *state, void **wstate, sw_error *err)
{
	ystate *s = state;
	yworker *w;
	int t;

	*wstate = NULL;
	if (!s->rules[0])
		return 0;
	if (!(w = calloc(1, sizeof(*w))))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	if (sw_yara__pf_worker_init(&s->pf, &w->pf, err) < 0) {
		free(w);
		return err ? err->code : SW_ENOMEM;
	}
	for (t = 0; t < NTIERS; t++) {
		if (yr_scanner_create(s->rules[t], &w->sc[t]) != ERROR_SUCCESS) {
			yara_worker_release(w);
			return sw_error_set(err, SW_ENOMEM, "yara: cannot create a scanner");
		}
		yr_scanner_set_timeout(w->sc[t], s->timeout);
		yr_scanner_set_flags(w->sc[t], SCAN_FLAGS_FAST_MODE);
	}
	*wstate = w;
	return 0;
}

typedef struct match_ctx {
	sw_emit *out;
	const sw_file *f;
	const uint8_t *data;         /* the bytes scanned: the evidence's hash when */
	size_t len;                  /* the engine did not compute one (f->sha256) */
	char hex[2 * SW_SHA256_LEN + 1]; /* the hash, once a rule matched ("" before) */
	sw_severity dflt;
	int rc;
} match_ctx;

/* Matched bytes as JSON-safe text: printable ASCII kept, the rest \xNN. */
static void snippet(sw_jw *w, const uint8_t *p, size_t n)
{
	char tmp[64 * 4 + 1];
	size_t i, o = 0;

	for (i = 0; i < n && i < 64; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f) {
			tmp[o++] = (char)p[i];
		} else {
			snprintf(tmp + o, 5, "\\x%02x", p[i]);
			o += 4;
		}
	}
	tmp[o] = '\0';
	sw_jw_str(w, tmp);
}

static int on_match(YR_SCAN_CONTEXT *ctx, int msg, void *data, void *user)
{
	match_ctx *m = user;
	const YR_RULE *rule = data;
	const YR_STRING *str;
	sw_buf ev = SW_BUF_INIT(16384);
	sw_jw w = SW_JW_INIT(&ev);
	sw_yrmeta rm;
	size_t shown = 0;

	if (msg != CALLBACK_MSG_RULE_MATCHING)
		return CALLBACK_CONTINUE;
	sw_yara__rule_meta(rule, m->dflt, &rm);
	sw_jw_obj(&w);
	sw_jw_kstr(&w, "rule", rule->identifier);
	sw_jw_kstr(&w, "namespace", rule->ns->name);
	if (!m->hex[0]) { /* once per file, however many rules match */
		uint8_t d[SW_SHA256_LEN];
		if (!m->f->sha256)
			sw_sha256_buf(m->data, m->len, d);
		sw_hex(m->f->sha256 ? m->f->sha256 : d, SW_SHA256_LEN, m->hex);
	}
	sw_jw_kstr(&w, "sha256", m->hex);
	sw_jw_karr(&w, "strings");
	yr_rule_strings_foreach(rule, str) {
		const YR_MATCH *mt;
		YR_MATCH m1;
		/* libyara hands out matches from its notebook allocator, not
		 * always aligned: read each one through memcpy, not the macro */
		for (mt = ctx->matches[str->idx].head; mt && shown < MAX_EVIDENCE_STRINGS; mt = m1.next) {
			memcpy(&m1, mt, sizeof(m1));
			if (m1.is_private)
				continue;
			sw_jw_obj(&w);
			sw_jw_kstr(&w, "id", str->identifier);
			sw_jw_kint(&w, "offset", (long long)(m1.base + m1.offset));
			sw_jw_key(&w, "data");
			snippet(&w, m1.data, (size_t)m1.data_length);
			sw_jw_end(&w);
			shown++;
			break; /* one match per string is evidence enough */
		}
	}
	sw_jw_end(&w);
	sw_jw_end(&w);
	m->rc = sw_jw_done(&w) < 0 ? sw_jw_done(&w) :
		sw_emit_finding(m->out, rm.id, rm.sev, rm.category, rm.title, sw_buf_cstr(&ev));
	sw_buf_release(&ev);
	return m->rc < 0 ? CALLBACK_ERROR : CALLBACK_CONTINUE;
}

static int yara_file(void *state, void *wstate, const sw_file *f, const uint8_t *data,
		     size_t len, sw_emit *out)
{
	ystate *s = state;
	yworker *w = wstate;
	YR_SCANNER *sc;
	match_ctx m = { out, f, data, len, "", s->dflt, 0 };
	const char *base, *ext;
	char owner[24];
	int r;

	if (!w || f->type != '0' || !data || !len)
		return 0;
	sc = w->sc[sw_yara__tier_of(len)];
	base = strrchr(f->path, '/');
	base = base ? base + 1 : f->path;
	ext = strrchr(base, '.');
	if (sw_yara__pf_skip(&s->pf, &w->pf, f->path, base, ext ? ext + 1 : "", data, len))
		return 0;
	yr_scanner_define_string_variable(sc, "filepath", f->path);
	yr_scanner_define_string_variable(sc, "filename", base);
	yr_scanner_define_string_variable(sc, "extension", ext ? ext + 1 : "");
	yr_scanner_define_string_variable(sc, "filetype", sw_yara__filetype(data, len, ext ? ext + 1 : ""));
	sw_yara__owner(f->uid, owner);
	yr_scanner_define_string_variable(sc, "owner", owner);
	yr_scanner_set_callback(sc, on_match, &m);
	r = yr_scanner_scan_mem(sc, data, len);
	if (m.rc < 0)
		return m.rc;
	if (r == ERROR_SCAN_TIMEOUT)
		return sw_emit_transient(out, "YARA rules exceeded the per-file timeout");
	if (r == ERROR_TOO_MANY_MATCHES)
		return sw_emit_incomplete(out, "YARA: too many string matches; rules not fully evaluated");
	if (r != ERROR_SUCCESS)
		return sw_emit_incomplete(out, "YARA scan failed on this file");
	return 0;
}

const sw_detector sw_detector_yara = {
	.name = "yara",
	.flags = SW_DET_CONTENT,
	.init = yara_init,
	.release = yara_release,
	.worker_init = yara_worker_init,
	.worker_release = yara_worker_release,
	.file = yara_file,
};

/* ---- rule authors' helpers (rules.h) ---- */

const char *sw_rules_prefilter(void)
{
#ifdef SW_HAVE_HYPERSCAN
	static char name[64];
	if (hs_valid_platform() == HS_SUCCESS) {
		if (!name[0]) {
			snprintf(name, sizeof(name), "hyperscan %.40s", hs_version());
			name[strcspn(name + 10, " ") + 10] = '\0'; /* the version, not its date */
		}
		return name;
	}
#endif
	return "none";
}

static void rule_info(const YR_RULE *rule, sw_severity dflt, sw_yrmeta *rm, sw_rule_info *ri)
{
	sw_yara__rule_meta(rule, dflt, rm);
	memset(ri, 0, sizeof(*ri));
	ri->ns = rule->ns->name;
	ri->name = rule->identifier;
	ri->id = rm->id;
	ri->severity = sw_severity_name(rm->sev);
	ri->category = rm->category;
	ri->title = rm->title;
	ri->prefilter = -1;
}

/* The files of a corpus: each path a file, or a directory read
 * recursively (links not followed), at most MAX_CORPUS in all. */
#define MAX_CORPUS 1000000
#define MAX_CORPUS_DEPTH 64

typedef struct corpus {
	char **p;
	size_t n;
} corpus;

static int corpus_add(corpus *c, const char *path, int depth, sw_error *err)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (lstat(path, &st) < 0)
		return sw_error_set(err, SW_ENOTFOUND, "%s: %s", path, strerror(errno));
	if (S_ISREG(st.st_mode)) {
		if (c->n >= MAX_CORPUS)
			return sw_error_set(err, SW_ELIMIT, "--corpus: more than %d files", MAX_CORPUS);
		if (SW_GROW(c->p, c->n) < 0 || !(c->p[c->n] = sw__strdup(path)))
			return sw_error_set(err, SW_ENOMEM, "out of memory");
		c->n++;
		return 0;
	}
	if (!S_ISDIR(st.st_mode) || depth > MAX_CORPUS_DEPTH || !(d = opendir(path)))
		return 0; /* links, devices, unreadable directories: not files to test */
	while (rc == 0 && (de = readdir(d))) {
		char *sub;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!(sub = sw__asprintf("%s/%s", path, de->d_name)))
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		else
			rc = corpus_add(c, sub, depth + 1, err);
		free(sub);
	}
	closedir(d);
	return rc;
}

static void corpus_free(corpus *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->p[i]);
	free(c->p);
}

/* A local file's bytes, its names and the externals, as a scan sees them. */
typedef struct lfile {
	sw_buf b;
	const char *path, *base, *ext;
	char owner[24];
} lfile;

static int lfile_read(lfile *f, const char *path, uint64_t max, sw_error *err)
{
	struct stat st;
	int rc;

	f->b = (sw_buf)SW_BUF_INIT(max);
	f->path = path;
	f->base = strrchr(path, '/');
	f->base = f->base ? f->base + 1 : path;
	f->ext = strrchr(f->base, '.');
	f->ext = f->ext ? f->ext + 1 : "";
	sw_yara__owner(stat(path, &st) == 0 ? st.st_uid : 0, f->owner);
	if ((rc = sw_file_read(path, &f->b)) < 0) {
		sw_buf_release(&f->b);
		return sw_error_set(err, rc, "%s: %s", path,
				    rc == SW_ELIMIT ? "larger than max-file-size" : strerror(errno));
	}
	return 0;
}

static const uint8_t *lfile_data(const lfile *f)
{
	return (const uint8_t *)(f->b.data ? f->b.data : "");
}

static void define_vars(YR_SCANNER *sc, const lfile *f)
{
	yr_scanner_define_string_variable(sc, "filepath", f->path);
	yr_scanner_define_string_variable(sc, "filename", f->base);
	yr_scanner_define_string_variable(sc, "extension", f->ext);
	yr_scanner_define_string_variable(sc, "filetype", sw_yara__filetype(lfile_data(f), f->b.len, f->ext));
	yr_scanner_define_string_variable(sc, "owner", f->owner);
}

int sw_rules_list(const sw_scan_opts *o, const char *const *corpus_paths, size_t ncorpus,
		  int (*fn)(void *ctx, const sw_rule_info *r), void *ctx, sw_error *err)
{
	YR_RULES *rules = NULL;
	const YR_RULE *rule;
	prefilter pf = { 0 };
	pf_worker pw = { 0 };
	corpus c = { NULL, 0 };
	uint64_t *opens = NULL;
	size_t i;
	int rc;

	if (yr_initialize() != ERROR_SUCCESS)
		return sw_error_set(err, SW_ENOMEM, "yara: initialisation failed");
	pf.measure = ncorpus > 0;
	if ((rc = sw_yara__load_tiers(o, &rules, 1, NULL, &pf, NULL, err)) < 0 || !rules)
		goto out;
	/* the gates' open rate over a corpus: how often each rule alone
	 * would send a file to libyara */
	for (i = 0; i < ncorpus && rc == 0; i++)
		rc = corpus_add(&c, corpus_paths[i], 0, err);
	if (rc == 0 && ncorpus && pf.gate) {
		if (!(opens = calloc(sw_ygate_nrules(pf.gate) + 1, sizeof(*opens))))
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		else
			rc = sw_yara__pf_worker_init(&pf, &pw, err);
		for (i = 0; rc == 0 && i < c.n; i++) {
			lfile f;
			size_t r;
			if (lfile_read(&f, c.p[i], o->limits.max_file_size, NULL) < 0)
				continue; /* a file too large or unreadable: not counted */
			sw_yara__pf_each(&pf, &pw, f.path, f.base, f.ext, lfile_data(&f), f.b.len);
			for (r = 0; r < sw_ygate_nrules(pf.gate); r++)
				opens[r] += pw.rv[r];
			sw_buf_release(&f.b);
		}
	}
	if (rc < 0)
		goto out;
	yr_rules_foreach(rules, rule) {
		sw_rule_info ri;
		sw_yrmeta rm;
		long gi;
		if (RULE_IS_PRIVATE(rule))
			continue;
		rule_info(rule, sw_yara__default_sev(o), &rm, &ri);
		if (pf.gate) {
			ri.prefilter = sw_ygate_rule_gated(pf.gate, rule->ns->name, rule->identifier);
			gi = sw_ygate_rule_index(pf.gate, rule->ns->name, rule->identifier);
			if (opens && gi >= 0 && c.n) {
				ri.corpus_files = c.n;
				ri.corpus_open = opens[gi];
			}
		}
		if ((rc = fn(ctx, &ri)) < 0)
			break;
	}
out:
	free(opens);
	corpus_free(&c);
	sw_yara__pf_worker_release(&pw);
	sw_yara__pf_release(&pf);
	if (rules)
		yr_rules_destroy(rules);
	yr_finalize();
	return rc;
}

int sw_rules_lint(const sw_scan_opts *o, sw_rules_lint_result *res, sw_error *err)
{
	sw_scan_opts lo = *o;
	YR_RULES *rules = NULL;
	const YR_RULE *rule;
	sw_yprobs probs = { SW_BUF_INIT(4u << 20), 0, 0 };
	int rc;

	memset(res, 0, sizeof(*res));
	lo.rules_skip_broken = true;
	if (yr_initialize() != ERROR_SUCCESS)
		return sw_error_set(err, SW_ENOMEM, "yara: initialisation failed");
	if ((rc = sw_yara__load_tiers(&lo, &rules, 1, NULL, NULL, &probs, err)) == 0 && rules)
		yr_rules_foreach(rules, rule)
			res->rules += !RULE_IS_PRIVATE(rule);
	res->errors = probs.nerr;
	res->warnings = probs.nwarn;
	sw_buf_release(&probs.text);
	if (rules)
		yr_rules_destroy(rules);
	yr_finalize();
	return rc;
}

typedef struct test_ctx {
	const char *path;
	int (*fn)(void *ctx, const char *path, const sw_rule_info *r);
	void *ctx;
	sw_severity dflt;
	int matches, rc;
} test_ctx;

static int on_test_match(YR_SCAN_CONTEXT *yctx, int msg, void *data, void *user)
{
	test_ctx *t = user;
	sw_rule_info ri;
	sw_yrmeta rm;

	(void)yctx;
	if (msg != CALLBACK_MSG_RULE_MATCHING)
		return CALLBACK_CONTINUE;
	rule_info(data, t->dflt, &rm, &ri);
	t->matches++;
	if ((t->rc = t->fn(t->ctx, t->path, &ri)) < 0)
		return CALLBACK_ERROR;
	return CALLBACK_CONTINUE;
}

int sw_rules_test(const sw_scan_opts *o, const char *const *paths, size_t n,
		  int (*fn)(void *ctx, const char *path, const sw_rule_info *r),
		  int (*incomplete)(void *ctx, const char *path, const char *why),
		  void *ctx, sw_error *err)
{
	YR_RULES *rules[NTIERS] = { NULL };
	YR_SCANNER *scs[NTIERS] = { NULL };
	test_ctx t = { NULL, fn, ctx, sw_yara__default_sev(o), 0, 0 };
	int timeout = o->file_timeout > 0 ? o->file_timeout : 10;
	prefilter pf = { 0 };
	pf_worker pw = { 0 };
	size_t i;
	int rc, k;

	if (yr_initialize() != ERROR_SUCCESS)
		return sw_error_set(err, SW_ENOMEM, "yara: initialisation failed");
	if ((rc = sw_yara__load_tiers(o, rules, NTIERS, NULL, &pf, NULL, err)) < 0 ||
	    (rc = sw_yara__pf_worker_init(&pf, &pw, err)) < 0)
		goto out;
	if (!rules[0]) {
		rc = sw_error_set(err, SW_ENOTFOUND, "no rules selected");
		goto out;
	}
	for (k = 0; k < NTIERS; k++) {
		if (yr_scanner_create(rules[k], &scs[k]) != ERROR_SUCCESS) {
			rc = sw_error_set(err, SW_ENOMEM, "yara: cannot create a scanner");
			goto out;
		}
		yr_scanner_set_timeout(scs[k], timeout);
		yr_scanner_set_callback(scs[k], on_test_match, &t);
	}
	for (i = 0; i < n && rc == 0; i++) {
		YR_SCANNER *sc;
		lfile f;
		int r;
		char why[96];
		if ((rc = lfile_read(&f, paths[i], o->limits.max_file_size, err)) < 0)
			break;
		/* the tier a scan would use: same result as `stowaway scan` */
		sc = scs[sw_yara__tier_of(f.b.len)];
		define_vars(sc, &f);
		t.path = paths[i];
		/* the same prefilter as a scan (--no-prefilter to compare) */
		if (sw_yara__pf_skip(&pf, &pw, f.path, f.base, f.ext, lfile_data(&f), f.b.len)) {
			sw_buf_release(&f.b);
			continue;
		}
		r = yr_scanner_scan_mem(sc, lfile_data(&f), f.b.len);
		sw_buf_release(&f.b);
		if (t.rc < 0) {
			rc = t.rc;
			break;
		}
		if (r == ERROR_SUCCESS)
			continue;
		/* a file the rules could not finish is incomplete, never clean;
		 * the others are still tested */
		if (r == ERROR_SCAN_TIMEOUT)
			snprintf(why, sizeof(why), "YARA rules exceeded the per-file timeout (%ds)", timeout);
		else if (r == ERROR_TOO_MANY_MATCHES)
			snprintf(why, sizeof(why), "YARA: too many string matches; rules not fully evaluated");
		else
			snprintf(why, sizeof(why), "YARA scan failed on this file (error %d)", r);
		if (incomplete && (rc = incomplete(ctx, paths[i], why)) < 0)
			break;
		rc = 0;
	}
out:
	for (k = 0; k < NTIERS; k++) {
		if (scs[k])
			yr_scanner_destroy(scs[k]);
		if (rules[k])
			yr_rules_destroy(rules[k]);
	}
	sw_yara__pf_worker_release(&pw);
	sw_yara__pf_release(&pf);
	yr_finalize();
	return rc < 0 ? rc : t.matches;
}
