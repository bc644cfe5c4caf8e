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
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <limits.h>
#include <yara.h>
#ifdef SW_HAVE_HYPERSCAN
#include <hs.h>
#endif

#include "stowaway/rules.h"
#include "detector.h"
#include "yaragate.h"
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

/* The prefilter: a gate over the rules and the patterns' databases. */
typedef struct prefilter {
	sw_ygate *gate;            /* kept for `rules list` even when not used */
	bool active;               /* files are skipped on its word */
#ifdef SW_HAVE_HYPERSCAN
	/* the file's bytes (one database per size tier, leaving out what no
	 * rule needs in files that large), then filepath, filename, extension */
	hs_database_t *db[NTIERS + 3];
	hs_scratch_t *proto;       /* sized for all of them */
#endif
} prefilter;

typedef struct pf_worker {
	uint64_t *hits;
	uint8_t *rv;
#ifdef SW_HAVE_HYPERSCAN
	hs_scratch_t *hs;
#endif
} pf_worker;

typedef struct ystate {
	YR_RULES *rules[NTIERS];
	int timeout;
	prefilter pf;
} ystate;


static bool valid_category(const char *c)
{
	const sw_category *cat = sw_category_find(c);

	return cat && cat->rules;
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
		if (de->d_name[0] == '.' || !is_rule_file(de->d_name))
			continue;
		if (nn >= MAX_RULE_FILES || SW_GROW(names, nn) < 0) {
			rc = sw_error_set(err, SW_ELIMIT, "--rules %s: too many rule files", dir);
			break;
		}
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
		if (SW_GROW(*v, *n) < 0) {
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
			break;
		}
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

/* The cached compiled rules of a tier, or (tier -1) the prefilter's
 * compiled patterns. */
static char *cache_path(const char *dir, const char *hex, int tier)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char name[160];

	if (tier < 0)
		snprintf(name, sizeof(name), "prefilter-%s-4.hsdb", hex);
	else
		snprintf(name, sizeof(name), "rules-%s-%d.yarc", hex, tier);
	if (dir)
		return sw__asprintf("%s/%s", dir, name);
	if (xdg && *xdg)
		return sw__asprintf("%s/stowaway/%s", xdg, name);
	if (home && *home)
		return sw__asprintf("%s/.cache/stowaway/%s", home, name);
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
		src *nv;
		if (SW_GROW(*v, *n) < 0)
			return sw_error_set(err, SW_ENOMEM, "out of memory");
		nv = *v;
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

static int pf_build(prefilter *pf, const src *v, size_t n, const char *cpath, sw_error *err);

/* Compile (or load from the cache) the rules of every tier, and build the
 * prefilter when pf is given. out[] is all NULL when no source is
 * selected. */
static int load_tiers(const sw_scan_opts *o, YR_RULES **out, int ntiers, sw_buf *ruleset,
		      prefilter *pf, sw_error *err)
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
		/* the ruleset's digest keys the layer cache: never a partial one */
		if (ruleset && (sw_buf_printf(ruleset, "yara:%s\n", v[i].name) < 0 ||
				sw_buf_append(ruleset, v[i].text, strlen(v[i].text)) < 0)) {
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
			goto out;
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
	if (rc == 0 && pf && !o->no_prefilter) {
		char *cpath = o->no_rule_cache ? NULL : cache_path(o->cache_dir, hex, -1);
		rc = pf_build(pf, v, n, cpath, err);
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
}

static void pf_release(prefilter *pf)
{
	pf_disable(pf);
	sw_ygate_free(pf->gate);
	pf->gate = NULL;
}

static const char *ns_of(const src *v)
{
	return strncmp(v->name, "bundled:", 8) == 0 ? "bundled" : "user";
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
			     b <= tier_min[which] :
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
	sw_sha256_update(h, tier_min, sizeof(tier_min));
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
			mkdirs(dir);
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
static int pf_build(prefilter *pf, const src *v, size_t n, const char *cpath, sw_error *err)
{
	const char **texts, **nss;
	size_t i;
	int rc;

	memset(pf, 0, sizeof(*pf));
	if (!(texts = calloc(n, sizeof(*texts))) || !(nss = calloc(n, sizeof(*nss)))) {
		free(texts);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++) {
		texts[i] = v[i].text;
		nss[i] = ns_of(&v[i]);
	}
	rc = sw_ygate_build(texts, nss, n, &pf->gate, err);
	free(texts);
	free(nss);
	if (rc < 0 || !pf->gate || sw_ygate_open_rules(pf->gate) > 0)
		return rc;
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
#else
	(void)cpath;
	pf->active = sw_ygate_npatterns(pf->gate) == 0;
#endif
	return 0;
}

static void pf_worker_release(pf_worker *w)
{
#ifdef SW_HAVE_HYPERSCAN
	if (w->hs)
		hs_free_scratch(w->hs);
#endif
	free(w->hits);
	free(w->rv);
	memset(w, 0, sizeof(*w));
}

static int pf_worker_init(const prefilter *pf, pf_worker *w, sw_error *err)
{
	memset(w, 0, sizeof(*w));
	if (!pf->active)
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
	pf_worker_release(w);
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

/* True when no public rule can match this file: libyara need not see it. */
static bool pf_skip(const prefilter *pf, pf_worker *w, const char *path, const char *name,
		    const char *ext, const uint8_t *data, size_t len)
{
	sw_ygate_file gf = { data, len, path, name, ext };
	size_t words;

	if (!pf->active || !w->hits || len > UINT_MAX)
		return false;
	words = sw_ygate_hitwords(pf->gate);
	memset(w->hits, 0, words * sizeof(*w->hits));
#ifdef SW_HAVE_HYPERSCAN
	{
		const char *in[3] = { path, name, ext };
		const uint64_t *names = sw_ygate_namebits(pf->gate);
		hs_database_t *db = pf->db[tier_of(len)];
		size_t i;
		int k;
		if (db && hs_scan(db, (const char *)data, (unsigned)len, 0, w->hs, on_literal, w->hits) !=
		    HS_SUCCESS)
			return false;
		/* the names' patterns taken as found first (a gate only opens
		 * as more is found): on most files that already closes every
		 * gate, and the names need no scan */
		for (i = 0; i < words; i++)
			w->hits[i] |= names[i];
		if (!sw_ygate_may_match(pf->gate, w->hits, &gf, w->rv))
			return true;
		for (i = 0; i < words; i++)
			w->hits[i] &= ~names[i];
		for (k = 0; k < 3; k++)
			if (pf->db[NTIERS + k] && hs_scan(pf->db[NTIERS + k], in[k], (unsigned)strlen(in[k]), 0,
							  w->hs, on_literal, w->hits) != HS_SUCCESS)
				return false;
	}
#endif
	return !sw_ygate_may_match(pf->gate, w->hits, &gf, w->rv);
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
	pf_release(&s->pf);
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
	if ((rc = load_tiers(o, s->rules, NTIERS, ruleset, &s->pf, err)) < 0) {
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
	pf_worker_release(&w->pf);
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
	if (pf_worker_init(&s->pf, &w->pf, err) < 0) {
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
	m->rc = sw_buf_err(&ev) ? sw_buf_err(&ev) :
		sw_emit_finding(m->out, meta_str(rule, "id"), sev, meta_str(rule, "category"),
				meta_str(rule, "title"), sw_buf_cstr(&ev));
	sw_buf_release(&ev);
	return m->rc < 0 ? CALLBACK_ERROR : CALLBACK_CONTINUE;
}

static int yara_file(void *state, void *wstate, const sw_file *f, const uint8_t *data,
		     size_t len, sw_emit *out)
{
	ystate *s = state;
	yworker *w = wstate;
	YR_SCANNER *sc;
	match_ctx m = { out, f, 0 };
	const char *base, *ext;
	int r;

	if (!w || f->type != '0' || !data || !len)
		return 0;
	sc = w->sc[tier_of(len)];
	base = strrchr(f->path, '/');
	base = base ? base + 1 : f->path;
	ext = strrchr(base, '.');
	if (pf_skip(&s->pf, &w->pf, f->path, base, ext ? ext + 1 : "", data, len))
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
	ri->id = meta_str(rule, "id");
	ri->severity = meta_str(rule, "severity");
	ri->category = meta_str(rule, "category");
	ri->title = meta_str(rule, "title");
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
	if ((rc = load_tiers(o, &rules, 1, NULL, &pf, err)) == 0 && rules) {
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
	pf_release(&pf);
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
	if ((rc = load_tiers(o, rules, NTIERS, NULL, &pf, err)) < 0 ||
	    (rc = pf_worker_init(&pf, &pw, err)) < 0)
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
		/* the same prefilter as a scan (--no-prefilter to compare) */
		if (pf_skip(&pf, &pw, paths[i], base, ext ? ext + 1 : "",
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
	pf_worker_release(&pw);
	pf_release(&pf);
	yr_finalize();
	return rc < 0 ? rc : t.matches;
}
