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
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	if ((rc = sw_yara__load_tiers(o, s->rules, NTIERS, ruleset, &s->pf, err)) < 0) {
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
	char hex[2 * SW_SHA256_LEN + 1];
	sw_severity sev = SW_SEV_MEDIUM;
	size_t shown = 0;

	if (msg != CALLBACK_MSG_RULE_MATCHING)
		return CALLBACK_CONTINUE;
	sw_severity_parse(sw_yara__meta_str(rule, "severity"), &sev);
	sw_jw_obj(&w);
	sw_jw_kstr(&w, "rule", rule->identifier);
	sw_jw_kstr(&w, "namespace", rule->ns->name);
	{
		uint8_t d[SW_SHA256_LEN];
		if (!m->f->sha256)
			sw_sha256_buf(m->data, m->len, d);
		sw_hex(m->f->sha256 ? m->f->sha256 : d, SW_SHA256_LEN, hex);
		sw_jw_kstr(&w, "sha256", hex);
	}
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
		sw_emit_finding(m->out, sw_yara__meta_str(rule, "id"), sev, sw_yara__meta_str(rule, "category"),
				sw_yara__meta_str(rule, "title"), sw_buf_cstr(&ev));
	sw_buf_release(&ev);
	return m->rc < 0 ? CALLBACK_ERROR : CALLBACK_CONTINUE;
}

static int yara_file(void *state, void *wstate, const sw_file *f, const uint8_t *data,
		     size_t len, sw_emit *out)
{
	ystate *s = state;
	yworker *w = wstate;
	YR_SCANNER *sc;
	match_ctx m = { out, f, data, len, 0 };
	const char *base, *ext;
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

static void rule_info(const YR_RULE *rule, sw_rule_info *ri)
{
	ri->ns = rule->ns->name;
	ri->name = rule->identifier;
	ri->id = sw_yara__meta_str(rule, "id");
	ri->severity = sw_yara__meta_str(rule, "severity");
	ri->category = sw_yara__meta_str(rule, "category");
	ri->title = sw_yara__meta_str(rule, "title");
	ri->prefilter = -1;
}

int sw_rules_list(const sw_scan_opts *o, int (*fn)(void *ctx, const sw_rule_info *r),
		  void *ctx, sw_error *err)
{
	YR_RULES *rules = NULL;
	const YR_RULE *rule;
	prefilter pf = { 0 };
	int rc;

	if (yr_initialize() != ERROR_SUCCESS)
		return sw_error_set(err, SW_ENOMEM, "yara: initialisation failed");
	if ((rc = sw_yara__load_tiers(o, &rules, 1, NULL, &pf, err)) == 0 && rules) {
		yr_rules_foreach(rules, rule) {
			sw_rule_info ri;
			if (RULE_IS_PRIVATE(rule))
				continue;
			rule_info(rule, &ri);
			if (pf.gate)
				ri.prefilter = sw_ygate_rule_gated(pf.gate, rule->ns->name, rule->identifier);
			if ((rc = fn(ctx, &ri)) < 0)
				break;
		}
	}
	sw_yara__pf_release(&pf);
	if (rules)
		yr_rules_destroy(rules);
	yr_finalize();
	return rc;
}

typedef struct test_ctx {
	const char *path;
	int (*fn)(void *ctx, const char *path, const sw_rule_info *r);
	void *ctx;
	int matches, rc;
} test_ctx;

static int on_test_match(YR_SCAN_CONTEXT *yctx, int msg, void *data, void *user)
{
	test_ctx *t = user;
	sw_rule_info ri;

	(void)yctx;
	if (msg != CALLBACK_MSG_RULE_MATCHING)
		return CALLBACK_CONTINUE;
	rule_info(data, &ri);
	t->matches++;
	if ((t->rc = t->fn(t->ctx, t->path, &ri)) < 0)
		return CALLBACK_ERROR;
	return CALLBACK_CONTINUE;
}

int sw_rules_test(const sw_scan_opts *o, const char *const *paths, size_t n,
		  int (*fn)(void *ctx, const char *path, const sw_rule_info *r),
		  void *ctx, sw_error *err)
{
	YR_RULES *rules[NTIERS] = { NULL };
	YR_SCANNER *scs[NTIERS] = { NULL };
	test_ctx t = { NULL, fn, ctx, 0, 0 };
	prefilter pf = { 0 };
	pf_worker pw = { 0 };
	size_t i;
	int rc, k;

	if (yr_initialize() != ERROR_SUCCESS)
		return sw_error_set(err, SW_ENOMEM, "yara: initialisation failed");
	if ((rc = sw_yara__load_tiers(o, rules, NTIERS, NULL, &pf, err)) < 0 ||
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
		yr_scanner_set_timeout(scs[k], o->file_timeout > 0 ? o->file_timeout : 10);
		yr_scanner_set_callback(scs[k], on_test_match, &t);
	}
	for (i = 0; i < n && rc == 0; i++) {
		YR_SCANNER *sc;
		sw_buf b = SW_BUF_INIT(o->limits.max_file_size);
		const char *base = strrchr(paths[i], '/'), *ext;
		if ((rc = sw_file_read(paths[i], &b)) < 0) {
			sw_buf_release(&b);
			rc = sw_error_set(err, rc, "%s: %s", paths[i],
					  rc == SW_ELIMIT ? "larger than max-file-size" : strerror(errno));
			break;
		}
		/* the tier a scan would use: same result as `stowaway scan` */
		sc = scs[sw_yara__tier_of(b.len)];
		base = base ? base + 1 : paths[i];
		ext = strrchr(base, '.');
		yr_scanner_define_string_variable(sc, "filepath", paths[i]);
		yr_scanner_define_string_variable(sc, "filename", base);
		yr_scanner_define_string_variable(sc, "extension", ext ? ext + 1 : "");
		t.path = paths[i];
		/* the same prefilter as a scan (--no-prefilter to compare) */
		if (sw_yara__pf_skip(&pf, &pw, paths[i], base, ext ? ext + 1 : "",
				     (const uint8_t *)(b.data ? b.data : ""), b.len)) {
			sw_buf_release(&b);
			continue;
		}
		if (yr_scanner_scan_mem(sc, (const uint8_t *)(b.data ? b.data : ""), b.len) != ERROR_SUCCESS)
			rc = t.rc < 0 ? t.rc : sw_error_set(err, SW_ERROR, "%s: YARA scan failed or timed out",
							    paths[i]);
		sw_buf_release(&b);
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
