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
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yara.h>

#include "stowaway/rules.h"
#include "detector.h"
#include "yaratier.h"
#include "../util/banned.h"

typedef struct { const char *name, *text; size_t len; } sw_embedded;
extern const sw_embedded sw_bundled_rules[];

#define MAX_RULE_FILE (16u << 20)
#define MAX_RULE_FILES 4096
#define MAX_EVIDENCE_STRINGS 8

typedef struct src {
	char *name;      /* "bundled:miners.yar" or a path; always owned */
	char *text;
	bool owned;      /* text is ours to free (always, today) */
} src;

/* Size tiers (yaratier.c): the rules compiled for files of at least
 * tier_min[t] bytes leave out every rule whose meta max_size promises it
 * cannot match such files. */
#define NTIERS 3
static const uint64_t tier_min[NTIERS] = { 0, 1u << 20, 8u << 20 };

static int tier_of(uint64_t size)
{
	int t = NTIERS - 1;

	while (t > 0 && size < tier_min[t])
		t--;
	return t;
}

typedef struct ystate {
	YR_RULES *rules[NTIERS];
	int timeout;
} ystate;

static const char *const categories[] = {
	"miner", "backdoor", "reverse-shell", "dropper", "persistence", "packed",
	"hidden-payload", "suspicious-config", "test",
};

static bool valid_category(const char *c)
{
	size_t i;

	for (i = 0; c && i < sizeof(categories) / sizeof(categories[0]); i++)
		if (strcmp(c, categories[i]) == 0)
			return true;
	return false;
}

static const char *meta_str(const YR_RULE *rule, const char *key)
{
	const YR_META *m;

	yr_rule_metas_foreach(rule, m)
		if (m->type == META_TYPE_STRING && strcmp(m->identifier, key) == 0)
			return m->string;
	return NULL;
}

/* ---- sources ---- */

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_text(const char *path, char **out, sw_error *err)
{
	sw_buf b = SW_BUF_INIT(MAX_RULE_FILE);
	int rc;

	*out = NULL;
	if ((rc = sw_file_read(path, &b)) < 0) {
		sw_buf_release(&b);
		return sw_error_set(err, rc, "rules %s: %s", path,
				    rc == SW_ELIMIT ? "larger than 16 MiB" : strerror(errno));
	}
	*out = sw_buf_detach(&b, NULL);
	return *out ? 0 : sw_error_set(err, SW_ENOMEM, "out of memory");
}

static bool is_rule_file(const char *n)
{
	size_t l = strlen(n);
	return (l > 4 && strcmp(n + l - 4, ".yar") == 0) || (l > 5 && strcmp(n + l - 5, ".yara") == 0);
}

/* Append the rule files of one directory (sorted, not recursive). */
static int add_dir(src **v, size_t *n, const char *dir, sw_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t nn = 0, i;
	int rc = 0;

	if (!d)
		return sw_error_set(err, SW_ENOTFOUND, "--rules %s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		char **nv;
		if (de->d_name[0] == '.' || !is_rule_file(de->d_name))
			continue;
		if (nn >= MAX_RULE_FILES || !(nv = realloc(names, (nn + 1) * sizeof(*nv)))) {
			rc = sw_error_set(err, SW_ELIMIT, "--rules %s: too many rule files", dir);
			break;
		}
		names = nv;
		if (!(names[nn] = sw__strdup(de->d_name))) {
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
			break;
		}
		nn++;
	}
	closedir(d);
	if (rc == 0 && nn == 0)
		rc = sw_error_set(err, SW_ENOTFOUND, "--rules %s: no .yar or .yara files", dir);
	if (nn > 1)
		qsort(names, nn, sizeof(*names), cmp_name);
	for (i = 0; rc == 0 && i < nn; i++) {
		src *nv = realloc(*v, (*n + 1) * sizeof(*nv));
		if (!nv) {
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
			break;
		}
		*v = nv;
		(*v)[*n].owned = true;
		(*v)[*n].text = NULL;
		if (!((*v)[*n].name = sw__asprintf("%s/%s", dir, names[i]))) {
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
			break;
		}
		if ((rc = read_text((*v)[*n].name, &(*v)[*n].text, err)) < 0) {
			free((*v)[*n].name);
			break;
		}
		(*n)++;
	}
	for (i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	return rc;
}

static void free_srcs(src *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		if (v[i].owned)
			free(v[i].text);
	}
	free(v);
}

/* ---- compile, validate, cache ---- */

typedef struct cerr {
	sw_error *err;
	const char *file;
	int failed;
} cerr;

static void on_compile_msg(int level, const char *file, int line, const YR_RULE *rule,
			   const char *msg, void *user)
{
	cerr *c = user;

	(void)file, (void)rule;
	if (level != YARA_ERROR_LEVEL_ERROR || c->failed++)
		return;
	sw_error_set(c->err, SW_EFORMAT, "rules %s:%d: %s", c->file, line, msg);
}

static int check_meta(YR_RULES *rules, sw_error *err)
{
	const YR_RULE *rule;

	yr_rules_foreach(rules, rule) {
		const char *sev = meta_str(rule, "severity");
		sw_severity s;
		if (RULE_IS_PRIVATE(rule))
			continue;
		if (!meta_str(rule, "id") || !meta_str(rule, "title"))
			return sw_error_set(err, SW_EFORMAT, "rule %s:%s: meta id and title are required",
					    rule->ns->name, rule->identifier);
		if (sw_severity_parse(sev, &s) < 0)
			return sw_error_set(err, SW_EFORMAT,
					    "rule %s:%s: meta severity must be info, low, medium, high or critical",
					    rule->ns->name, rule->identifier);
		if (!valid_category(meta_str(rule, "category")))
			return sw_error_set(err, SW_EFORMAT, "rule %s:%s: meta category \"%s\" is not known",
					    rule->ns->name, rule->identifier,
					    meta_str(rule, "category") ? meta_str(rule, "category") : "");
	}
	return 0;
}

static int compile(src *v, size_t n, YR_RULES **out, sw_error *err)
{
	YR_COMPILER *c = NULL;
	cerr ce = { err, NULL, 0 };
	size_t i;
	int rc = 0;

	if (yr_compiler_create(&c) != ERROR_SUCCESS)
		return sw_error_set(err, SW_ENOMEM, "yara: cannot create a compiler");
	yr_compiler_set_callback(c, on_compile_msg, &ce);
	yr_compiler_define_string_variable(c, "filepath", "");
	yr_compiler_define_string_variable(c, "filename", "");
	yr_compiler_define_string_variable(c, "extension", "");
	for (i = 0; i < n && !ce.failed; i++) {
		ce.file = v[i].name;
		yr_compiler_add_string(c, v[i].text, strncmp(v[i].name, "bundled:", 8) == 0 ?
				       "bundled" : "user");
	}
	if (ce.failed)
		rc = err ? err->code : SW_EFORMAT;
	else if (yr_compiler_get_rules(c, out) != ERROR_SUCCESS)
		rc = sw_error_set(err, SW_ENOMEM, "yara: cannot build the rules");
	yr_compiler_destroy(c);
	if (rc == 0 && (rc = check_meta(*out, err)) < 0) {
		yr_rules_destroy(*out);
		*out = NULL;
	}
	return rc;
}

static char *cache_path(const char *dir, const char *hex, int tier)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (dir)
		return sw__asprintf("%s/rules-%s-%d.yarc", dir, hex, tier);
	if (xdg && *xdg)
		return sw__asprintf("%s/stowaway/rules-%s-%d.yarc", xdg, hex, tier);
	if (home && *home)
		return sw__asprintf("%s/.cache/stowaway/rules-%s-%d.yarc", home, hex, tier);
	return NULL;
}

static void mkdirs(char *path)
{
	char *p;

	for (p = path + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0700);
			*p = '/';
		}
}

/* Save compiled rules atomically (write a private temp file, rename). */
static void cache_save(YR_RULES *rules, const char *path)
{
	char *tmp = sw__asprintf("%s.%d.tmp", path, (int)getpid()), *dir;

	if (!tmp)
		return;
	if ((dir = sw__strdup(tmp))) {
		mkdirs(dir);
		free(dir);
	}
	if (yr_rules_save(rules, tmp) == ERROR_SUCCESS && rename(tmp, path) == 0) {
		free(tmp);
		return;
	}
	unlink(tmp);
	free(tmp);
}

static int load_sources(const sw_scan_opts *o, src **v, size_t *n, sw_error *err)
{
	const sw_embedded *e;
	size_t i, k;
	int rc;

	*v = NULL;
	*n = 0;
	for (e = sw_bundled_rules; !o->no_bundled_rules && e->name; e++) {
		src *nv = realloc(*v, (*n + 1) * sizeof(*nv));
		if (!nv)
			return sw_error_set(err, SW_ENOMEM, "out of memory");
		*v = nv;
		/* stored masked (tools/embed.c) so the binary never matches
		 * its own rules; unmasked into memory of our own */
		nv[*n].owned = true;
		nv[*n].name = sw__asprintf("bundled:%s", e->name);
		nv[*n].text = malloc(e->len + 1);
		if (!nv[*n].name || !nv[*n].text) {
			free(nv[*n].name);
			free(nv[*n].text);
			return sw_error_set(err, SW_ENOMEM, "out of memory");
		}
		for (k = 0; k < e->len; k++)
			nv[*n].text[k] = (char)((unsigned char)e->text[k] ^ ((0xA5 + 31 * k) & 0xFF));
		nv[*n].text[e->len] = '\0';
		(*n)++;
	}
	for (i = 0; i < o->n_rule_dirs; i++)
		if ((rc = add_dir(v, n, o->rule_dirs[i], err)) < 0)
			return rc;
	return 0;
}

/* The sources as compiled for one tier: stubs in place of the rules
 * that cannot match files that large. */
static int tier_srcs(const src *v, size_t n, int tier, src **out, sw_error *err)
{
	size_t i;
	int rc = 0;

	if (!(*out = calloc(n, sizeof(**out))))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	for (i = 0; i < n && rc == 0; i++) {
		sw_buf b = SW_BUF_INIT(2 * MAX_RULE_FILE);
		(*out)[i].owned = true;
		if (!((*out)[i].name = sw__strdup(v[i].name)))
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		else if ((rc = sw_yara_tier_text(v[i].text, tier_min[tier], &b, v[i].name, err)) == 0 &&
			 !((*out)[i].text = sw_buf_detach(&b, NULL)))
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		sw_buf_release(&b);
	}
	return rc;
}

/* Compile (or load from the cache) the rules of every tier. out[] is all
 * NULL when no source is selected. */
static int load_tiers(const sw_scan_opts *o, YR_RULES **out, int ntiers, sw_buf *ruleset,
		      sw_error *err)
{
	src *v = NULL;
	size_t n = 0, i;
	sw_sha256 *h = NULL;
	uint8_t d[SW_SHA256_LEN];
	char hex[2 * SW_SHA256_LEN + 1];
	int rc, t;

	for (t = 0; t < ntiers; t++)
		out[t] = NULL;
	if ((rc = load_sources(o, &v, &n, err)) < 0)
		goto out;
	if (n == 0)
		goto out;
	if (!(h = sw_sha256_new())) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	sw_sha256_update(h, "yara " YR_VERSION " tiers 2\n", strlen("yara " YR_VERSION " tiers 2\n"));
	for (i = 0; i < n; i++) {
		sw_sha256_update(h, v[i].name, strlen(v[i].name) + 1);
		sw_sha256_update(h, v[i].text, strlen(v[i].text) + 1);
		if (ruleset) {
			sw_buf_printf(ruleset, "yara:%s\n", v[i].name);
			sw_buf_append(ruleset, v[i].text, strlen(v[i].text));
		}
	}
	sw_sha256_final(h, d);
	sw_hex(d, SW_SHA256_LEN, hex);
	/* tier 0 first: it is the sources as written, so a syntax error is
	 * reported against the author's own lines */
	for (t = 0; t < ntiers && rc == 0; t++) {
		char *cpath = o->no_rule_cache ? NULL : cache_path(o->cache_dir, hex, t);
		src *tv = NULL;
		if (cpath && yr_rules_load(cpath, &out[t]) == ERROR_SUCCESS) {
			if (check_meta(out[t], NULL) == 0) {
				free(cpath);
				continue;
			}
			yr_rules_destroy(out[t]);
			out[t] = NULL;
		}
		if (t == 0)
			rc = compile(v, n, &out[t], err);
		else if ((rc = tier_srcs(v, n, t, &tv, err)) == 0)
			rc = compile(tv, n, &out[t], err);
		if (tv)
			free_srcs(tv, n);
		if (rc == 0 && cpath)
			cache_save(out[t], cpath);
		free(cpath);
	}
out:
	if (rc < 0)
		for (t = 0; t < ntiers; t++)
			if (out[t]) {
				yr_rules_destroy(out[t]);
				out[t] = NULL;
			}
	sw_sha256_free(h);
	free_srcs(v, n);
	return rc;
}

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
	if ((rc = load_tiers(o, s->rules, NTIERS, ruleset, err)) < 0) {
		yara_release(s);
		return rc;
	}
	*state = s;
	return 0;
}

typedef struct yworker {
	YR_SCANNER *sc[NTIERS];
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
	int rc;
} match_ctx;

/* Matched bytes as JSON-safe text: printable ASCII kept, the rest \xNN. */
static void snippet(sw_buf *b, const uint8_t *p, size_t n)
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
	sw_jsonw_str(b, tmp);
}

static int on_match(YR_SCAN_CONTEXT *ctx, int msg, void *data, void *user)
{
	match_ctx *m = user;
	const YR_RULE *rule = data;
	const YR_STRING *str;
	sw_buf ev = SW_BUF_INIT(16384);
	char hex[2 * SW_SHA256_LEN + 1];
	sw_severity sev = SW_SEV_MEDIUM;
	size_t shown = 0;

	if (msg != CALLBACK_MSG_RULE_MATCHING)
		return CALLBACK_CONTINUE;
	sw_severity_parse(meta_str(rule, "severity"), &sev);
	sw_buf_printf(&ev, "{\"rule\":");
	sw_jsonw_str(&ev, rule->identifier);
	sw_buf_printf(&ev, ",\"namespace\":");
	sw_jsonw_str(&ev, rule->ns->name);
	if (m->f->sha256) {
		sw_hex(m->f->sha256, SW_SHA256_LEN, hex);
		sw_buf_printf(&ev, ",\"sha256\":\"%s\"", hex);
	}
	sw_buf_printf(&ev, ",\"strings\":[");
	yr_rule_strings_foreach(rule, str) {
		const YR_MATCH *mt;
		YR_MATCH m1;
		/* libyara hands out matches from its notebook allocator, not
		 * always aligned: read each one through memcpy, not the macro */
		for (mt = ctx->matches[str->idx].head; mt && shown < MAX_EVIDENCE_STRINGS; mt = m1.next) {
			memcpy(&m1, mt, sizeof(m1));
			if (m1.is_private)
				continue;
			sw_buf_printf(&ev, "%s{\"id\":", shown ? "," : "");
			sw_jsonw_str(&ev, str->identifier);
			sw_buf_printf(&ev, ",\"offset\":%lld,\"data\":", (long long)(m1.base + m1.offset));
			snippet(&ev, m1.data, (size_t)m1.data_length);
			sw_buf_putc(&ev, '}');
			shown++;
			break; /* one match per string is evidence enough */
		}
	}
	sw_buf_printf(&ev, "]}");
	m->rc = sw_emit_finding(m->out, meta_str(rule, "id"), sev, meta_str(rule, "category"),
				meta_str(rule, "title"), sw_buf_cstr(&ev));
	sw_buf_release(&ev);
	return m->rc < 0 ? CALLBACK_ERROR : CALLBACK_CONTINUE;
}

static int yara_file(void *state, void *wstate, const sw_file *f, const uint8_t *data,
		     size_t len, sw_emit *out)
{
	yworker *w = wstate;
	YR_SCANNER *sc;
	match_ctx m = { out, f, 0 };
	const char *base, *ext;
	int r;

	(void)state;
	if (!w || f->type != '0' || !data || !len)
		return 0;
	sc = w->sc[tier_of(len)];
	base = strrchr(f->path, '/');
	base = base ? base + 1 : f->path;
	ext = strrchr(base, '.');
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

static void rule_info(const YR_RULE *rule, sw_rule_info *ri)
{
	ri->ns = rule->ns->name;
	ri->name = rule->identifier;
	ri->id = meta_str(rule, "id");
	ri->severity = meta_str(rule, "severity");
	ri->category = meta_str(rule, "category");
	ri->title = meta_str(rule, "title");
}

int sw_rules_list(const sw_scan_opts *o, int (*fn)(void *ctx, const sw_rule_info *r),
		  void *ctx, sw_error *err)
{
	YR_RULES *rules = NULL;
	const YR_RULE *rule;
	int rc;

	if (yr_initialize() != ERROR_SUCCESS)
		return sw_error_set(err, SW_ENOMEM, "yara: initialisation failed");
	if ((rc = load_tiers(o, &rules, 1, NULL, err)) == 0 && rules) {
		yr_rules_foreach(rules, rule) {
			sw_rule_info ri;
			if (RULE_IS_PRIVATE(rule))
				continue;
			rule_info(rule, &ri);
			if ((rc = fn(ctx, &ri)) < 0)
				break;
		}
	}
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
	size_t i;
	int rc, k;

	if (yr_initialize() != ERROR_SUCCESS)
		return sw_error_set(err, SW_ENOMEM, "yara: initialisation failed");
	if ((rc = load_tiers(o, rules, NTIERS, NULL, err)) < 0)
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
		sc = scs[tier_of(b.len)];
		base = base ? base + 1 : paths[i];
		ext = strrchr(base, '.');
		yr_scanner_define_string_variable(sc, "filepath", paths[i]);
		yr_scanner_define_string_variable(sc, "filename", base);
		yr_scanner_define_string_variable(sc, "extension", ext ? ext + 1 : "");
		t.path = paths[i];
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
	yr_finalize();
	return rc < 0 ? rc : t.matches;
}
