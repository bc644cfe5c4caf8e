/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The YARA rules (see yara.c): their sources (bundled, unmasked into
 * memory, and --rules directories), compiled once per size tier with
 * every public rule's meta checked, and the compiled rules cached on disk
 * under the SHA-256 of the sources and the libyara version. The
 * prefilter is built from the same sources here (yara_prefilter.c).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detector.h"
#include "yara_int.h"
#include "yaratier.h"
#include "../util/banned.h"

typedef struct { const char *name, *text; size_t len; } sw_embedded;
extern const sw_embedded sw_bundled_rules[];

#define MAX_RULE_FILE (16u << 20)
#define MAX_RULE_FILES 4096

const uint64_t sw_yara__tier_min[NTIERS] = { 0, 1u << 20, 8u << 20 };

int sw_yara__tier_of(uint64_t size)
{
	int t = NTIERS - 1;

	while (t > 0 && size < sw_yara__tier_min[t])
		t--;
	return t;
}

static bool valid_category(const char *c)
{
	const sw_category *cat = sw_category_find(c);

	return cat && cat->rules;
}

const char *sw_yara__meta_str(const YR_RULE *rule, const char *key)
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
		const char *sev = sw_yara__meta_str(rule, "severity");
		sw_severity s;
		if (RULE_IS_PRIVATE(rule))
			continue;
		if (!sw_yara__meta_str(rule, "id") || !sw_yara__meta_str(rule, "title"))
			return sw_error_set(err, SW_EFORMAT, "rule %s:%s: meta id and title are required",
					    rule->ns->name, rule->identifier);
		if (sw_severity_parse(sev, &s) < 0)
			return sw_error_set(err, SW_EFORMAT,
					    "rule %s:%s: meta severity must be info, low, medium, high or critical",
					    rule->ns->name, rule->identifier);
		if (!valid_category(sw_yara__meta_str(rule, "category")))
			return sw_error_set(err, SW_EFORMAT, "rule %s:%s: meta category \"%s\" is not known",
					    rule->ns->name, rule->identifier,
					    sw_yara__meta_str(rule, "category") ? sw_yara__meta_str(rule, "category") : "");
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

void sw_yara__mkdirs(char *path)
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
		sw_yara__mkdirs(dir);
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
		else if ((rc = sw_yara_tier_text(v[i].text, sw_yara__tier_min[tier], &b, v[i].name, err)) == 0 &&
			 !((*out)[i].text = sw_buf_detach(&b, NULL)))
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		sw_buf_release(&b);
	}
	return rc;
}


/* Compile (or load from the cache) the rules of every tier, and build the
 * prefilter when pf is given. out[] is all NULL when no source is
 * selected. */
int sw_yara__load_tiers(const sw_scan_opts *o, YR_RULES **out, int ntiers, sw_buf *ruleset,
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
		rc = sw_yara__pf_build(pf, v, n, cpath, err);
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
