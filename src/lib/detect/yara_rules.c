/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The YARA rules (see yara.c): their sources (bundled, unmasked into
 * memory, and --rules directories), compiled once per size tier with
 * every public rule's meta checked, and the compiled rules cached on disk
 * under the SHA-256 of the sources and the libyara version. The
 * prefilter is built from the same sources here (yara_prefilter.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detector.h"
#include "yara_int.h"
#include "yaratier.h"
#include "yaralex.h"
#include "../util/banned.h"

typedef struct { const char *name, *text; size_t len; } sw_embedded;
extern const sw_embedded sw_bundled_rules[];

#define MAX_RULE_FILE (16u << 20)
#define MAX_PROBLEMS (4u << 20)

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

/* ---- a rule's finding: meta, or derived ---- */

static const YR_META *meta_get(const YR_RULE *rule, const char *key)
{
	const YR_META *m;

	yr_rule_metas_foreach(rule, m)
		if (strcmp(m->identifier, key) == 0)
			return m;
	return NULL;
}

/* A score of 0..100 (Elastic's integer severity, signature-base's score). */
static sw_severity sev_of_score(int64_t v)
{
	return v >= 80 ? SW_SEV_HIGH : v >= 60 ? SW_SEV_MEDIUM : v >= 40 ? SW_SEV_LOW : SW_SEV_INFO;
}

/* The category a word (a tag, a part of the rule's name) names. */
static const char *category_word(const char *w, size_t n)
{
	static const struct { const char *word, *cat; } words[] = {
		{ "webshell", "webshell" }, { "webshells", "webshell" }, { "hacktool", "hacktool" },
		{ "hktl", "hacktool" }, { "hacktools", "hacktool" }, { "exploit", "exploit" },
		{ "expl", "exploit" }, { "exploits", "exploit" }, { "cryptominer", "miner" },
		{ "coinminer", "miner" }, { "miner", "miner" },
		{ "backdoor", "backdoor" }, { "reverseshell", "reverse-shell" },
		{ "dropper", "dropper" }, { "downloader", "dropper" }, { "packer", "packed" },
		{ "packed", "packed" }, { "persistence", "persistence" },
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i].word) == n && strncasecmp(w, words[i].word, n) == 0)
			return words[i].cat;
	return NULL;
}

static const char *category_of(const YR_RULE *rule)
{
	const char *tag, *c, *p, *e;

	yr_rule_tags_foreach(rule, tag)
		if ((c = category_word(tag, strlen(tag))))
			return c;
	for (p = rule->identifier; *p; p = *e ? e + 1 : e) {
		e = strchr(p, '_');
		if (!e)
			e = p + strlen(p);
		if ((c = category_word(p, (size_t)(e - p))))
			return c;
	}
	return "custom";
}

/* "0".."100" and such: a score written as text */
static bool number(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (s[i] < '0' || s[i] > '9' || i > 8)
			return false;
	return i > 0;
}

/* A meta that is a score: an integer, or digits as text. */
static bool meta_score(const YR_META *m, int64_t *v)
{
	if (m && m->type == META_TYPE_INTEGER)
		*v = m->integer;
	else if (m && m->type == META_TYPE_STRING && number(m->string))
		*v = strtol(m->string, NULL, 10);
	else
		return false;
	return true;
}

void sw_yara__rule_meta(const YR_RULE *rule, sw_severity dflt, sw_yrmeta *m)
{
	const YR_META *sev = meta_get(rule, "severity"), *score = meta_get(rule, "score");
	const char *t;
	int64_t v;

	m->id = sw_yara__meta_str(rule, "id");
	if (!m->id) {
		const char *ns = rule->ns->name;
		if (strncmp(ns, "user:", 5) == 0)
			ns += 5;
		snprintf(m->idbuf, sizeof(m->idbuf), "%s:%s", ns, rule->identifier);
		m->id = m->idbuf;
	}
	if (!(m->title = sw_yara__meta_str(rule, "title")) &&
	    !(m->title = sw_yara__meta_str(rule, "description")) &&
	    !(m->title = sw_yara__meta_str(rule, "threat_name")))
		m->title = rule->identifier;
	t = sw_yara__meta_str(rule, "category");
	m->category = t && valid_category(t) ? sw_category_find(t)->name : category_of(rule);
	m->sev = dflt;
	if (sev && sev->type == META_TYPE_STRING && sw_severity_parse(sev->string, &m->sev) == 0)
		return;
	m->sev = dflt;
	if (meta_score(sev, &v) || meta_score(score, &v))
		m->sev = sev_of_score(v);
}

sw_severity sw_yara__default_sev(const sw_scan_opts *o)
{
	sw_severity s = SW_SEV_MEDIUM;

	if (o->rules_severity)
		sw_severity_parse(o->rules_severity, &s);
	return s;
}

const char *sw_yara__filetype(const uint8_t *d, size_t n, const char *ext)
{
	static const struct { const char *ext, *type; } exts[] = {
		{ "php", "PHP" }, { "jsp", "JSP" }, { "jspx", "JSP" }, { "asp", "ASP" }, { "aspx", "ASP" },
		{ "py", "Python" }, { "bat", "BATCH" }, { "cmd", "BATCH" }, { "vbs", "VBS" },
		{ "sh", "SHELL" }, { "pl", "PERL" }, { "js", "JS" }, { "ps1", "POWERSHELL" },
	};
	static const struct { const char *magic; size_t n; const char *type; } magics[] = {
		{ "\x7f" "ELF", 4, "ELF" }, { "MZ", 2, "EXE" }, { "\xcf\xfa\xed\xfe", 4, "MACH-O" },
		{ "\xce\xfa\xed\xfe", 4, "MACH-O" }, { "\xca\xfe\xba\xbe", 4, "MACH-O" },
		{ "PK\x03\x04", 4, "ZIP" }, { "\x1f\x8b", 2, "GZIP" }, { "%PDF-", 5, "PDF" },
		{ "{\\rtf", 5, "RTF" }, { "MDMP", 4, "MDMP" }, { "<?php", 5, "PHP" },
	};
	size_t i;

	for (i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (n >= magics[i].n && memcmp(d, magics[i].magic, magics[i].n) == 0)
			return magics[i].type;
	for (i = 0; ext && i < sizeof(exts) / sizeof(exts[0]); i++)
		if (strcasecmp(ext, exts[i].ext) == 0)
			return exts[i].type;
	if (n >= 2 && d[0] == '#' && d[1] == '!') {
		const uint8_t *e = memchr(d, '\n', n < 128 ? n : 128);
		size_t l = e ? (size_t)(e - d) : (n < 128 ? n : 128);
		if (memmem(d, l, "python", 6))
			return "Python";
		if (memmem(d, l, "perl", 4))
			return "PERL";
		if (memmem(d, l, "sh", 2))
			return "SHELL";
	}
	return "";
}

void sw_yara__owner(uint64_t uid, char out[24])
{
	if (uid == 0)
		snprintf(out, 24, "root");
	else
		snprintf(out, 24, "%llu", (unsigned long long)uid);
}

/* ---- sources ---- */

static void free_srcs(src *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sw_yara__src_free(&v[i]);
	free(v);
}

/* ---- compile, validate, cache ---- */

typedef struct cerr {
	sw_error *err;
	const src *s;
	sw_yprobs *probs;          /* NULL: nothing recorded (a tier past the first) */
	int failed;
	char first[512];           /* the first error, as recorded */
} cerr;

static void on_compile_msg(int level, const char *file, int line, const YR_RULE *rule,
			   const char *msg, void *user)
{
	cerr *c = user;
	const char *f;
	int fl;

	(void)file, (void)rule;
	sw_yara__where(c->s, line, &f, &fl);
	if (level == YARA_ERROR_LEVEL_ERROR && !c->failed++) {
		sw_error_set(c->err, SW_EFORMAT, "rules %s:%d: %s", f, fl, msg);
		snprintf(c->first, sizeof(c->first), "%s:%d: %s", f, fl, msg);
	}
	/* the bundled rules' warnings are ours, not the user's */
	if (c->probs && (level == YARA_ERROR_LEVEL_ERROR || strcmp(c->s->ns, "bundled") != 0))
		sw_yara__problem(c->probs, level == YARA_ERROR_LEVEL_ERROR, f, fl, "%s", msg);
}

/* No include reaches libyara (yara_sources.c inlines them): one left is
 * refused, never read from the working directory. */
static const char *no_include(const char *name, const char *from, const char *ns, void *user)
{
	(void)name, (void)from, (void)ns, (void)user;
	return NULL;
}

static int new_compiler(YR_COMPILER **c, cerr *ce)
{
	static const char *const vars[] = { "filepath", "filename", "extension", "filetype", "owner" };
	size_t i;

	if (yr_compiler_create(c) != ERROR_SUCCESS)
		return -1;
	yr_compiler_set_callback(*c, on_compile_msg, ce);
	yr_compiler_set_include_callback(*c, no_include, NULL, NULL);
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		yr_compiler_define_string_variable(*c, vars[i], "");
	return 0;
}

/* The line of `rule NAME` in a unit's text (0 when not found). */
static int rule_line(const src *s, const char *name)
{
	const char *p = s->text;
	size_t n = strlen(name);
	int line = 1;

	for (; p && *p; p++) {
		if (*p == '\n') {
			line++;
			continue;
		}
		if ((p == s->text || p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n') && strncmp(p, "rule", 4) == 0 &&
		    (p[4] == ' ' || p[4] == '\t')) {
			const char *q = p + 4;
			while (*q == ' ' || *q == '\t')
				q++;
			if (strncmp(q, name, n) == 0 && !sw_ylex_is_id(q[n]))
				return line;
		}
	}
	return 0;
}

/* Bundled rules must carry their meta; --rules rules get theirs derived,
 * and a meta that is there but not understood is a warning (probs). */
static int check_meta(YR_RULES *rules, const src *v, size_t n, sw_yprobs *probs, sw_error *err)
{
	const YR_RULE *rule;

	yr_rules_foreach(rules, rule) {
		const char *sev = sw_yara__meta_str(rule, "severity"), *cat = sw_yara__meta_str(rule, "category");
		sw_severity s;
		if (RULE_IS_PRIVATE(rule))
			continue;
		if (strcmp(rule->ns->name, "bundled") != 0) {
			size_t i;
			const char *f = NULL;
			int fl = 0;
			if (sev && number(sev))
				sev = NULL; /* a score */
			if (!probs || ((!sev || sw_severity_parse(sev, &s) == 0) && (!cat || valid_category(cat))))
				continue;
			for (i = 0; i < n; i++)
				if (strcmp(v[i].ns, rule->ns->name) == 0) {
					sw_yara__where(&v[i], rule_line(&v[i], rule->identifier), &f, &fl);
					break;
				}
			if (sev && sw_severity_parse(sev, &s) < 0)
				sw_yara__problem(probs, false, f ? f : rule->ns->name, fl,
						 "rule %s: severity \"%s\" is not info, low, medium, high or critical: "
						 "the default used", rule->identifier, sev);
			if (cat && !valid_category(cat))
				sw_yara__problem(probs, false, f ? f : rule->ns->name, fl,
						 "rule %s: category \"%s\" is not one rules may name: derived instead",
						 rule->identifier, cat);
			continue;
		}
		if (!sw_yara__meta_str(rule, "id") || !sw_yara__meta_str(rule, "title"))
			return sw_error_set(err, SW_EFORMAT, "rule %s:%s: meta id and title are required",
					    rule->ns->name, rule->identifier);
		if (sw_severity_parse(sev, &s) < 0)
			return sw_error_set(err, SW_EFORMAT,
					    "rule %s:%s: meta severity must be info, low, medium, high or critical",
					    rule->ns->name, rule->identifier);
		if (!valid_category(cat))
			return sw_error_set(err, SW_EFORMAT, "rule %s:%s: meta category \"%s\" is not known",
					    rule->ns->name, rule->identifier, cat ? cat : "");
	}
	return 0;
}

/* Add units to c, skipping the broken; the index of the unit that failed
 * (-1: none). */
static long add_units(YR_COMPILER *c, cerr *ce, const src *v, size_t n, const bool *broken)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (broken[i])
			continue;
		ce->s = &v[i];
		if (yr_compiler_add_string(c, v[i].text, v[i].ns) != 0 || ce->failed)
			return (long)i;
	}
	return -1;
}

/* Compile the units not marked broken. At tier 0 (probs given) a unit
 * that does not compile is marked broken, its problem recorded, and every
 * later unit tried alone, so one run finds them all; the others are then
 * compiled together. */
static int compile(const src *v, size_t n, bool *broken, sw_yprobs *probs, YR_RULES **out, sw_error *err)
{
	YR_COMPILER *c = NULL;
	cerr ce = { err, NULL, probs, 0, "" };
	size_t tries;
	long bad;
	int rc = 0;

	*out = NULL;
	for (tries = 0; tries <= n; tries++) {
		ce.failed = 0;
		if (new_compiler(&c, &ce) < 0)
			return sw_error_set(err, SW_ENOMEM, "yara: cannot create a compiler");
		if ((bad = add_units(c, &ce, v, n, broken)) < 0)
			break;
		yr_compiler_destroy(c);
		c = NULL;
		if (!probs || strncmp(v[bad].ns, "bundled", 7) == 0)
			return err ? err->code : SW_EFORMAT;
		broken[bad] = true;
		if (!ce.probs) /* failed only together with the others */
			sw_yara__problem(probs, true, v[bad].name, 0, "does not compile with the other files: %s",
					 ce.first);
		/* the rest, each alone: every broken file in one run */
		for (size_t j = (size_t)bad + 1; j < n; j++) {
			YR_COMPILER *one = NULL;
			if (broken[j])
				continue;
			ce.failed = 0;
			if (new_compiler(&one, &ce) < 0)
				return sw_error_set(err, SW_ENOMEM, "yara: cannot create a compiler");
			ce.s = &v[j];
			if (yr_compiler_add_string(one, v[j].text, v[j].ns) != 0 || ce.failed)
				broken[j] = true;
			yr_compiler_destroy(one);
		}
		/* warnings of the good units would come again: keep only the
		 * errors from here on */
		ce.probs = NULL;
	}
	if (!c)
		return sw_error_set(err, SW_EFORMAT, "rules: cannot be compiled");
	if (yr_compiler_get_rules(c, out) != ERROR_SUCCESS)
		rc = sw_error_set(err, SW_ENOMEM, "yara: cannot build the rules");
	yr_compiler_destroy(c);
	if (rc == 0 && (rc = check_meta(*out, v, n, probs, err)) < 0) {
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

	if (tier == -2)
		snprintf(name, sizeof(name), "rules-%s.problems", hex);
	else if (tier < 0)
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

static int load_sources(const sw_scan_opts *o, src **v, size_t *n, sw_yprobs *probs, sw_error *err)
{
	const sw_embedded *e;
	size_t k;

	*v = NULL;
	*n = 0;
	for (e = sw_bundled_rules; !o->no_bundled_rules && e->name; e++) {
		src *nv;
		if (SW_GROW(*v, *n) < 0)
			return sw_error_set(err, SW_ENOMEM, "out of memory");
		nv = *v;
		memset(&nv[*n], 0, sizeof(nv[*n]));
		/* stored masked (tools/embed.c) so the binary never matches
		 * its own rules; unmasked into memory of our own */
		nv[*n].owned = true;
		nv[*n].name = sw__asprintf("bundled:%s", e->name);
		nv[*n].ns = sw__strdup("bundled");
		nv[*n].text = malloc(e->len + 1);
		if (!nv[*n].name || !nv[*n].text || !nv[*n].ns) {
			sw_yara__src_free(&nv[*n]);
			return sw_error_set(err, SW_ENOMEM, "out of memory");
		}
		for (k = 0; k < e->len; k++)
			nv[*n].text[k] = (char)((unsigned char)e->text[k] ^ ((0xA5 + 31 * k) & 0xFF));
		nv[*n].text[e->len] = '\0';
		(*n)++;
	}
	return sw_yara__user_sources(o, v, n, probs, err);
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
		if (!((*out)[i].name = sw__strdup(v[i].name)) || !((*out)[i].ns = sw__strdup(v[i].ns)))
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		else if ((rc = sw_yara_tier_text(v[i].text, sw_yara__tier_min[tier], &b, v[i].name, err)) == 0 &&
			 !((*out)[i].text = sw_buf_detach(&b, NULL)))
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		sw_buf_release(&b);
	}
	return rc;
}

/* Which units did not compile, and the problems compiling them raised,
 * kept beside the compiled rules: "SWRP 1", the count of broken units and
 * their indices, the counts of errors and warnings, then their lines. */
#define PROBS_MAGIC "SWRP 1\n"

static int probs_load(const char *path, bool *broken, size_t n, sw_yprobs *p)
{
	sw_buf b = SW_BUF_INIT(MAX_RULE_FILE);
	const char *q;
	char *end;
	unsigned long nb, i, ne, nw;

	if (sw_file_read(path, &b) < 0 || sw_buf_append(&b, "", 1) < 0 || b.len < strlen(PROBS_MAGIC) ||
	    memcmp(b.data, PROBS_MAGIC, strlen(PROBS_MAGIC)) != 0)
		goto bad;
	q = b.data + strlen(PROBS_MAGIC);
	nb = strtoul(q, &end, 10);
	if (end == q || nb > n)
		goto bad;
	for (i = 0; i < nb; i++) {
		unsigned long k = strtoul(q = end, &end, 10);
		if (end == q || k >= n)
			goto bad;
		broken[k] = true;
	}
	ne = strtoul(q = end, &end, 10);
	if (end == q)
		goto bad;
	nw = strtoul(q = end, &end, 10);
	if (end == q || *end != '\n')
		goto bad;
	p->nerr += ne;
	p->nwarn += nw;
	sw_buf_append(&p->text, end + 1, strlen(end + 1));
	sw_buf_release(&b);
	return 0;
bad:
	sw_buf_release(&b);
	memset(broken, 0, n * sizeof(*broken));
	return -1;
}

static void probs_save(const char *path, const bool *broken, size_t n, const sw_yprobs *p)
{
	sw_buf b = SW_BUF_INIT(MAX_RULE_FILE + 4096);
	size_t i, nb = 0;
	char *tmp, *dir;
	FILE *f;

	for (i = 0; i < n; i++)
		nb += broken[i];
	sw_buf_printf(&b, "%s%zu", PROBS_MAGIC, nb);
	for (i = 0; i < n; i++)
		if (broken[i])
			sw_buf_printf(&b, " %zu", i);
	sw_buf_printf(&b, " %zu %zu\n", p->nerr, p->nwarn);
	sw_buf_append(&b, p->text.data ? p->text.data : "", p->text.len);
	if (sw_buf_err(&b) || !(tmp = sw__asprintf("%s.%d.tmp", path, (int)getpid()))) {
		sw_buf_release(&b);
		return;
	}
	if ((dir = sw__strdup(tmp))) {
		sw_yara__mkdirs(dir);
		free(dir);
	}
	if ((f = fopen(tmp, "wxe"))) {
		bool ok = fwrite(b.data, 1, b.len, f) == b.len;
		ok &= fclose(f) == 0;
		if (!ok || rename(tmp, path) != 0)
			unlink(tmp);
	}
	free(tmp);
	sw_buf_release(&b);
}

/* Compile (or load from the cache) the rules of every tier, and build the
 * prefilter when pf is given. out[] is all NULL when no source is
 * selected. Problems with --rules files go to probs (when given) and to
 * o->rules_problems; one that is an error fails the load unless
 * o->rules_skip_broken. */
int sw_yara__load_tiers(const sw_scan_opts *o, YR_RULES **out, int ntiers, sw_buf *ruleset,
			prefilter *pf, sw_yprobs *probs, sw_error *err)
{
	src *v = NULL, *good = NULL;
	size_t n = 0, i, ngood = 0;
	sw_sha256 *h = NULL;
	uint8_t d[SW_SHA256_LEN];
	char hex[2 * SW_SHA256_LEN + 1];
	sw_yprobs local = { SW_BUF_INIT(MAX_PROBLEMS), 0, 0 }, cprobs = { SW_BUF_INIT(MAX_PROBLEMS), 0, 0 };
	bool *broken = NULL;
	int rc, t;

	if (!probs)
		probs = &local;
	for (t = 0; t < ntiers; t++)
		out[t] = NULL;
	if ((rc = load_sources(o, &v, &n, probs, err)) < 0)
		goto out;
	if (n == 0 && probs->nerr == 0)
		goto out;
	if (!(h = sw_sha256_new()) || !(broken = calloc(n + 1, sizeof(*broken)))) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	sw_sha256_update(h, "yara " YR_VERSION " tiers 3\n", strlen("yara " YR_VERSION " tiers 3\n"));
	if (ruleset && o->n_rule_dirs &&
	    sw_buf_printf(ruleset, "yara-default-severity:%s\n", sw_severity_name(sw_yara__default_sev(o))) < 0) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		sw_sha256_update(h, v[i].name, strlen(v[i].name) + 1);
		sw_sha256_update(h, v[i].ns, strlen(v[i].ns) + 1);
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
	/* which units compile: from the cache's record, else found compiling
	 * tier 0 (the sources as written, so a problem is reported against
	 * the author's own lines) */
	{
		char *ppath = o->no_rule_cache ? NULL : cache_path(o->cache_dir, hex, -2);
		char *cpath = o->no_rule_cache ? NULL : cache_path(o->cache_dir, hex, 0);
		bool have = ppath && cpath && probs_load(ppath, broken, n, &cprobs) == 0 &&
			    yr_rules_load(cpath, &out[0]) == ERROR_SUCCESS;
		if (have && check_meta(out[0], v, n, NULL, NULL) < 0) {
			yr_rules_destroy(out[0]);
			out[0] = NULL;
			have = false;
		}
		if (!have) {
			sw_buf_release(&cprobs.text);
			cprobs.nerr = cprobs.nwarn = 0;
			memset(broken, 0, n * sizeof(*broken));
			if ((rc = compile(v, n, broken, &cprobs, &out[0], err)) == 0 && cpath) {
				cache_save(out[0], cpath);
				probs_save(ppath, broken, n, &cprobs);
			}
		}
		free(ppath);
		free(cpath);
		if (rc < 0)
			goto out;
	}
	probs->nerr += cprobs.nerr;
	probs->nwarn += cprobs.nwarn;
	sw_buf_append(&probs->text, cprobs.text.data ? cprobs.text.data : "", cprobs.text.len);
	if (probs->text.len && o->rules_problems)
		o->rules_problems(o->rules_problems_ctx, sw_buf_cstr(&probs->text));
	if (probs->nerr && !o->rules_skip_broken) {
		rc = sw_error_set(err, SW_EFORMAT,
				  "rules: %zu error%s in --rules files (%s; --rules-skip-broken loads the others)",
				  probs->nerr, probs->nerr == 1 ? "" : "s",
				  o->rules_problems ? "every problem listed above" : "stowaway rules lint lists them");
		goto out;
	}
	for (t = 1; t < ntiers && rc == 0; t++) {
		char *cpath = o->no_rule_cache ? NULL : cache_path(o->cache_dir, hex, t);
		src *tv = NULL;
		if (cpath && yr_rules_load(cpath, &out[t]) == ERROR_SUCCESS) {
			if (check_meta(out[t], v, n, NULL, NULL) == 0) {
				free(cpath);
				continue;
			}
			yr_rules_destroy(out[t]);
			out[t] = NULL;
		}
		if ((rc = tier_srcs(v, n, t, &tv, err)) == 0)
			rc = compile(tv, n, broken, NULL, &out[t], err);
		if (tv)
			free_srcs(tv, n);
		if (rc == 0 && cpath)
			cache_save(out[t], cpath);
		free(cpath);
	}
	if (rc == 0 && pf && !o->no_prefilter) {
		char *cpath = o->no_rule_cache ? NULL : cache_path(o->cache_dir, hex, -1);
		/* the gate reads the units that compiled, no others */
		if (!(good = calloc(n + 1, sizeof(*good)))) {
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		} else {
			for (i = 0; i < n; i++)
				if (!broken[i])
					good[ngood++] = v[i];
			rc = sw_yara__pf_build(pf, good, ngood, cpath, err);
		}
		free(cpath);
	}
out:
	if (rc < 0)
		for (t = 0; t < ntiers; t++)
			if (out[t]) {
				yr_rules_destroy(out[t]);
				out[t] = NULL;
			}
	free(good);
	free(broken);
	sw_buf_release(&local.text);
	sw_buf_release(&cprobs.text);
	sw_sha256_free(h);
	free_srcs(v, n);
	return rc;
}
