/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The user's YARA rule sources (see yara_rules.c): --rules names a
 * directory (read recursively, files ending .yar or .yara, in sorted order)
 * or one file. Each file is a unit compiled into a namespace of its own
 * ("user:" and its path under the --rules directory), so rule names may be
 * reused across files. `include "x"` is resolved against the directory of
 * the file that holds it, inlined here (nested up to MAX_DEPTH, a cycle
 * refused) and must stay under the --rules directory; libyara itself is
 * given no include to resolve. A file that holds nothing but includes (an
 * index, as Yara-Rules ships) is not a unit: the files it names are, each
 * in its own namespace. A file that another unit includes is compiled as
 * part of it, not again alone.
 *
 * Every problem is a line "file:line: error|warning: why" in the problems
 * list; a unit whose includes cannot be read is left out (an error), the
 * others still load.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "yara_int.h"
#include "../util/banned.h"

#define MAX_RULE_FILE (16u << 20)
#define MAX_UNIT_TEXT (64u << 20)
#define MAX_RULE_FILES 8192
#define MAX_WALK_DEPTH 32
#define MAX_DEPTH 16
#define MAX_INCLUDES 1024          /* include lines expanded for one unit */
#define MAX_RULES_TEXT (256u << 20) /* all --rules files read, together */
#define MAX_PROBLEMS (4u << 20)

/* ---- problems ---- */

void sw_yara__problem(sw_yprobs *p, bool error, const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (error)
		p->nerr++;
	else
		p->nwarn++;
	if (line > 0)
		sw_buf_printf(&p->text, "%s:%d: %s: %s\n", file, line, error ? "error" : "warning", msg);
	else
		sw_buf_printf(&p->text, "%s: %s: %s\n", file, error ? "error" : "warning", msg);
}

/* ---- line map ---- */

static int map_add(src *s, uint32_t at, const char *file, uint32_t line)
{
	if (s->nmap && s->map[s->nmap - 1].at == at) {
		s->map[s->nmap - 1].file = file;
		s->map[s->nmap - 1].line = line;
		return 0;
	}
	if (SW_GROW(s->map, s->nmap) < 0)
		return -1;
	s->map[s->nmap].at = at;
	s->map[s->nmap].file = file;
	s->map[s->nmap].line = line;
	s->nmap++;
	return 0;
}

void sw_yara__where(const src *s, int line, const char **file, int *fline)
{
	size_t i;

	*file = s->name;
	*fline = line;
	for (i = 0; i < s->nmap && line > 0; i++) {
		if (s->map[i].at > (uint32_t)line)
			break;
		*file = s->map[i].file;
		*fline = (int)(s->map[i].line + ((uint32_t)line - s->map[i].at));
	}
}

/* Why a rule file could not be read (sw_file_read_regular's code). */
static const char *read_why(int rc)
{
	if (rc == SW_ELIMIT)
		return "larger than 16 MiB";
	if (rc == SW_EFORMAT)
		return "not a regular file";
	return strerror(errno);
}

/* ---- includes ---- */

/* Whether line p[0..n) is `include "x"` (then x in *inc, *incn) at top
 * level; *cmt carries an open block comment from line to line, *other is
 * set when the line holds anything but an include, a comment or blanks. */
static bool scan_line(const char *p, size_t n, bool *cmt, bool *other, const char **inc, size_t *incn)
{
	size_t i = 0;
	bool found = false, first = true;

	while (i < n) {
		if (*cmt) {
			if (p[i] == '*' && i + 1 < n && p[i + 1] == '/') {
				*cmt = false;
				i += 2;
			} else {
				i++;
			}
			continue;
		}
		if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r') {
			i++;
			continue;
		}
		if (p[i] == '/' && i + 1 < n && p[i + 1] == '/')
			break;
		if (p[i] == '/' && i + 1 < n && p[i + 1] == '*') {
			*cmt = true;
			i += 2;
			continue;
		}
		if (first && n - i > 8 && memcmp(p + i, "include", 7) == 0 &&
		    (p[i + 7] == ' ' || p[i + 7] == '\t' || p[i + 7] == '"')) {
			size_t j = i + 7;
			while (j < n && (p[j] == ' ' || p[j] == '\t'))
				j++;
			if (j < n && p[j] == '"') {
				size_t k = j + 1;
				while (k < n && p[k] != '"' && p[k] != '\\')
					k++;
				if (k < n && p[k] == '"') {
					*inc = p + j + 1;
					*incn = k - j - 1;
					found = true;
					first = false;
					i = k + 1;
					continue;
				}
			}
		}
		first = false;
		*other = true;
		if (p[i] == '"') { /* a string: skip it, escapes and all */
			for (i++; i < n && p[i] != '"'; i++)
				if (p[i] == '\\')
					i++;
		}
		i++;
	}
	return found;
}

typedef struct xctx {
	const char *root;          /* realpath of the --rules directory */
	const char *shownroot;     /* how the user named it ("" for none) */
	src *s;                    /* the unit being expanded */
	sw_buf out;
	uint32_t line;             /* lines in out so far */
	char *stack[MAX_DEPTH];
	int depth;
	unsigned nincl;            /* include lines expanded so far */
	sw_yprobs *probs;
	bool failed;
} xctx;

static bool under(const char *root, const char *path)
{
	size_t n = strlen(root);

	return strncmp(path, root, n) == 0 && (path[n] == '/' || (n == 1 && root[0] == '/'));
}

/* The real path of include x of file `from` (its directory the base); NULL
 * (a problem recorded) when it cannot be used. */
static char *resolve(const char *root, const char *from, const char *x, size_t xn, const char *shown,
		     int line, sw_yprobs *probs)
{
	char *dir = sw__strdup(from), *slash, *cand, *real;

	if (!dir)
		return NULL;
	if ((slash = strrchr(dir, '/')))
		*slash = '\0';
	if (xn && x[0] == '/')
		cand = sw__asprintf("%.*s", (int)xn, x);
	else
		cand = sw__asprintf("%s/%.*s", slash ? dir : ".", (int)xn, x);
	free(dir);
	if (!cand)
		return NULL;
	real = realpath(cand, NULL);
	free(cand);
	if (!real) {
		sw_yara__problem(probs, true, shown, line, "include \"%.*s\": %s", (int)xn, x, strerror(errno));
		return NULL;
	}
	if (!under(root, real)) {
		sw_yara__problem(probs, true, shown, line, "include \"%.*s\" is outside the rules directory",
				 (int)xn, x);
		free(real);
		return NULL;
	}
	return real;
}

/* Keep file names for the line map alive as long as the unit. */
static const char *keep_name(src *s, const char *name)
{
	char *d = sw__strdup(name);

	if (!d || SW_GROW(s->files, s->nfiles) < 0) {
		free(d);
		return NULL;
	}
	s->files[s->nfiles++] = d;
	return d;
}

/* A path under a root as the user would write it: the root as named on
 * the command line, then the path under it. */
static char *shown_of(const char *root, const char *shownroot, const char *real)
{
	const char *rel = real + strlen(root);

	if (!under(root, real))
		return sw__strdup(real);
	rel += *rel == '/';
	if (!*shownroot)
		return sw__strdup(rel);
	return sw__asprintf("%s%s%s", shownroot,
			    shownroot[strlen(shownroot) - 1] == '/' ? "" : "/", rel);
}

static int expand(xctx *x, const char *real, const char *text)
{
	const char *p = text, *shown;
	char *sh;
	uint32_t fline = 1;
	bool cmt = false;
	int i;

	if (!(sh = shown_of(x->root, x->shownroot, real)) || !(shown = keep_name(x->s, sh))) {
		free(sh);
		return -1;
	}
	free(sh);
	for (i = 0; i < x->depth; i++)
		if (strcmp(x->stack[i], real) == 0) {
			sw_yara__problem(x->probs, true, shown, 0, "includes itself (through its includes)");
			x->failed = true;
			return 0;
		}
	if (x->depth >= MAX_DEPTH) {
		sw_yara__problem(x->probs, true, shown, 0, "includes nested deeper than %d", MAX_DEPTH);
		x->failed = true;
		return 0;
	}
	x->stack[x->depth++] = (char *)real;
	if (map_add(x->s, x->line + 1, shown, 1) < 0)
		return -1;
	while (*p) {
		const char *e = strchr(p, '\n'), *inc = NULL;
		size_t n = e ? (size_t)(e - p) : strlen(p), incn = 0;
		bool other = false;
		if (scan_line(p, n, &cmt, &other, &inc, &incn)) {
			char *t;
			sw_buf b = SW_BUF_INIT(MAX_RULE_FILE);
			int rc;
			/* a file included many times over, nested, would
			 * multiply: the unit's includes are counted */
			if (++x->nincl > MAX_INCLUDES) {
				sw_yara__problem(x->probs, true, shown, (int)fline,
						 "more than %d includes expanded for one file", MAX_INCLUDES);
				x->failed = true;
				break;
			}
			if (!(t = resolve(x->root, real, inc, incn, shown, (int)fline, x->probs))) {
				x->failed = true;
				break;
			}
			if ((rc = sw_file_read_regular(t, &b)) < 0) {
				sw_yara__problem(x->probs, true, shown, (int)fline, "include \"%.*s\": %s",
						 (int)incn, inc, read_why(rc));
				x->failed = true;
			} else if (sw_buf_append(&b, "", 1) < 0 || expand(x, t, b.data) < 0) {
				sw_buf_release(&b);
				free(t);
				return -1;
			}
			sw_buf_release(&b);
			free(t);
			if (x->failed)
				break;
			/* the line itself becomes blank: lines keep their numbers */
			if (sw_buf_append(&x->out, "\n", 1) < 0 || map_add(x->s, x->line + 1, shown, fline) < 0)
				return -1;
		} else if (sw_buf_append(&x->out, p, n) < 0 || sw_buf_append(&x->out, "\n", 1) < 0) {
			return -1;
		}
		x->line++;
		fline++;
		if (!e)
			break;
		p = e + 1;
	}
	x->depth--;
	return 0;
}

/* ---- files ---- */

typedef struct cand {
	char *real, *shown;        /* real path; as shown (under the --rules name) */
	size_t root;               /* which --rules argument */
	char *text;
	bool index, included;
	char **tgt;                /* real paths of its includes (that resolve) */
	size_t ntgt;
	size_t *inc, ninc;         /* the candidates it includes */
} cand;

typedef struct walk {
	cand *c;
	size_t n;
	char **roots;              /* real paths of the --rules arguments (directories) */
	char **shownroots;         /* as named on the command line */
	size_t total;              /* bytes of the files read so far */
	sw_yprobs *probs;
	sw_error *err;
} walk;

static bool is_rule_file(const char *n)
{
	size_t l = strlen(n);
	return (l > 4 && strcmp(n + l - 4, ".yar") == 0) || (l > 5 && strcmp(n + l - 5, ".yara") == 0);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_cand(walk *w, const char *real, size_t root)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (strcmp(w->c[i].real, real) == 0)
			return 0;
	if (w->n >= MAX_RULE_FILES)
		return sw_error_set(w->err, SW_ELIMIT, "--rules: more than %d rule files", MAX_RULE_FILES);
	if (SW_GROW(w->c, w->n) < 0)
		return sw_error_set(w->err, SW_ENOMEM, "out of memory");
	memset(&w->c[w->n], 0, sizeof(w->c[w->n]));
	w->c[w->n].root = root;
	if (!(w->c[w->n].real = sw__strdup(real)) ||
	    !(w->c[w->n].shown = shown_of(w->roots[root], w->shownroots[root], real))) {
		free(w->c[w->n].real);
		return sw_error_set(w->err, SW_ENOMEM, "out of memory");
	}
	w->n++;
	return 0;
}

static int walk_dir(walk *w, const char *dir, const char *shown, size_t root, int depth)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t nn = 0, i;
	int rc = 0;

	if (depth > MAX_WALK_DEPTH) {
		sw_yara__problem(w->probs, false, shown, 0, "deeper than %d directories: not read", MAX_WALK_DEPTH);
		return 0;
	}
	if (!(d = opendir(dir)))
		return sw_error_set(w->err, SW_ENOTFOUND, "--rules %s: %s", shown, strerror(errno));
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (nn >= MAX_RULE_FILES || SW_GROW(names, nn) < 0) {
			rc = sw_error_set(w->err, SW_ELIMIT, "--rules %s: too many entries", shown);
			break;
		}
		if (!(names[nn] = sw__strdup(de->d_name))) {
			rc = sw_error_set(w->err, SW_ENOMEM, "out of memory");
			break;
		}
		nn++;
	}
	closedir(d);
	if (nn > 1)
		qsort(names, nn, sizeof(*names), cmp_name);
	for (i = 0; rc == 0 && i < nn; i++) {
		char *p = sw__asprintf("%s/%s", dir, names[i]), *s = sw__asprintf("%s/%s", shown, names[i]);
		struct stat st;
		if (!p || !s)
			rc = sw_error_set(w->err, SW_ENOMEM, "out of memory");
		else if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rc = walk_dir(w, p, s, root, depth + 1);
		else if (is_rule_file(names[i]) && stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
			char *real = realpath(p, NULL);
			if (real && under(w->roots[root], real))
				rc = add_cand(w, real, root);
			else
				sw_yara__problem(w->probs, false, s, 0, "a link out of the rules directory: not read");
			free(real);
		}
		free(p);
		free(s);
	}
	for (i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	return rc;
}

static void free_cands(walk *w)
{
	size_t i, k;

	for (i = 0; i < w->n; i++) {
		free(w->c[i].real);
		free(w->c[i].shown);
		free(w->c[i].text);
		free(w->c[i].inc);
		for (k = 0; k < w->c[i].ntgt; k++)
			free(w->c[i].tgt[k]);
		free(w->c[i].tgt);
	}
	free(w->c);
}

/* Read candidate i; resolve its includes once (kept in tgt; an index's
 * targets added as candidates). */
static int classify(walk *w, size_t i)
{
	sw_buf b = SW_BUF_INIT(MAX_RULE_FILE);
	const char *p;
	bool cmt = false, other = false;
	size_t k;
	int rc, line = 1;

	if ((rc = sw_file_read_regular(w->c[i].real, &b)) < 0 || (rc = sw_buf_append(&b, "", 1)) < 0) {
		sw_buf_release(&b);
		if (rc == SW_ENOMEM)
			return sw_error_set(w->err, SW_ENOMEM, "out of memory");
		sw_yara__problem(w->probs, true, w->c[i].shown, 0, "%s", read_why(rc));
		return 0;
	}
	/* every file's text is held until the units are built */
	if ((w->total += b.len) > MAX_RULES_TEXT) {
		sw_buf_release(&b);
		return sw_error_set(w->err, SW_ELIMIT, "--rules: the rule files hold more than %u MiB together",
				    MAX_RULES_TEXT >> 20);
	}
	w->c[i].text = sw_buf_detach(&b, NULL);
	for (p = w->c[i].text; p && *p; line++) {
		const char *e = strchr(p, '\n'), *inc = NULL;
		size_t n = e ? (size_t)(e - p) : strlen(p), incn = 0;
		if (scan_line(p, n, &cmt, &other, &inc, &incn)) {
			/* (problems are reported when the unit is expanded) */
			sw_yprobs quiet = { SW_BUF_INIT(1024), 0, 0 };
			char *t = resolve(w->roots[w->c[i].root], w->c[i].real, inc, incn, "", line, &quiet);
			sw_buf_release(&quiet.text);
			/* past MAX_INCLUDES the expansion refuses the file */
			if (t && w->c[i].ntgt < MAX_INCLUDES && SW_GROW(w->c[i].tgt, w->c[i].ntgt) == 0)
				w->c[i].tgt[w->c[i].ntgt++] = t;
			else
				free(t);
		}
		if (!e)
			break;
		p = e + 1;
	}
	w->c[i].index = w->c[i].ntgt > 0 && !other;
	for (k = 0, rc = 0; w->c[i].index && rc == 0 && k < w->c[i].ntgt; k++)
		rc = add_cand(w, w->c[i].tgt[k], w->c[i].root);
	return rc;
}

/* Candidates by real path, to find an include's target. */
typedef struct byreal {
	const char *real;
	size_t i;
} byreal;

static int cmp_real(const void *a, const void *b)
{
	return strcmp(((const byreal *)a)->real, ((const byreal *)b)->real);
}

/* Mark what each non-index candidate includes (compiled through it only). */
static int link_includes(walk *w)
{
	byreal *o = calloc(w->n + 1, sizeof(*o));
	size_t i, k;

	if (!o)
		return sw_error_set(w->err, SW_ENOMEM, "out of memory");
	for (i = 0; i < w->n; i++)
		o[i] = (byreal){ w->c[i].real, i };
	qsort(o, w->n, sizeof(*o), cmp_real);
	for (i = 0; i < w->n; i++) {
		if (w->c[i].index)
			continue;
		for (k = 0; k < w->c[i].ntgt; k++) {
			byreal key = { w->c[i].tgt[k], 0 }, *f = bsearch(&key, o, w->n, sizeof(*o), cmp_real);
			if (!f || f->i == i)
				continue;
			if (SW_GROW(w->c[i].inc, w->c[i].ninc) < 0) {
				free(o);
				return sw_error_set(w->err, SW_ENOMEM, "out of memory");
			}
			w->c[f->i].included = true;
			w->c[i].inc[w->c[i].ninc++] = f->i;
		}
	}
	free(o);
	return 0;
}

static void reach(walk *w, size_t i, bool *seen)
{
	size_t k;

	if (seen[i])
		return;
	seen[i] = true;
	for (k = 0; k < w->c[i].ninc; k++)
		reach(w, w->c[i].inc[k], seen);
}

static void unreached(walk *w)
{
	bool *seen = calloc(w->n + 1, sizeof(*seen));
	size_t i;

	if (!seen)
		return;
	for (i = 0; i < w->n; i++)
		if (!w->c[i].index && !w->c[i].included)
			reach(w, i, seen);
	for (i = 0; i < w->n; i++)
		if (!w->c[i].index && !seen[i]) {
			w->c[i].included = false;
			reach(w, i, seen);
		}
	free(seen);
}

/* The user's units: one per --rules file that no other unit includes and
 * that is not an index, includes inlined. Appended to *v. */
int sw_yara__user_sources(const sw_scan_opts *o, src **v, size_t *n, sw_yprobs *probs, sw_error *err)
{
	walk w = { NULL, 0, NULL, NULL, 0, probs, err };
	size_t i, j, r, first = *n;
	int rc = 0;

	if (!o->n_rule_dirs)
		return 0;
	if (!(w.roots = calloc(o->n_rule_dirs, sizeof(*w.roots))) ||
	    !(w.shownroots = calloc(o->n_rule_dirs, sizeof(*w.shownroots)))) {
		free(w.roots);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	for (r = 0; r < o->n_rule_dirs && rc == 0; r++) {
		const char *arg = o->rule_dirs[r];
		struct stat st;
		size_t before = w.n;
		if (stat(arg, &st) < 0 || !(w.roots[r] = realpath(arg, NULL))) {
			rc = sw_error_set(err, SW_ENOTFOUND, "--rules %s: %s", arg, strerror(errno));
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (!(w.shownroots[r] = sw__strdup(arg))) {
				rc = sw_error_set(err, SW_ENOMEM, "out of memory");
				break;
			}
			rc = walk_dir(&w, w.roots[r], arg, r, 0);
			if (rc == 0 && w.n == before)
				rc = sw_error_set(err, SW_ENOTFOUND, "--rules %s: no .yar or .yara files", arg);
		} else {
			/* one file: its directory is the root includes stay under */
			char *file = w.roots[r], *slash = strrchr(file, '/');
			const char *as = strrchr(arg, '/');
			w.shownroots[r] = as ? sw__asprintf("%.*s", (int)(as - arg), arg) : sw__strdup("");
			if (!(w.roots[r] = slash && slash != file ? sw__asprintf("%.*s", (int)(slash - file), file) :
					   sw__strdup("/")) || !w.shownroots[r]) {
				free(w.roots[r]);
				w.roots[r] = file;
				rc = sw_error_set(err, SW_ENOMEM, "out of memory");
				break;
			}
			rc = add_cand(&w, file, r);
			free(file);
		}
	}
	/* every candidate read (an index adds more as it goes) */
	for (i = 0; rc == 0 && i < w.n; i++)
		rc = classify(&w, i);
	/* included by a non-index file: compiled through it only */
	if (rc == 0)
		rc = link_includes(&w);
	/* files that only include each other (a cycle no unit reaches) are
	 * units after all: their expansion then says what is wrong */
	unreached(&w);
	for (i = 0; rc == 0 && i < w.n; i++) {
		xctx x;
		src *s;
		const char *rel;
		if (w.c[i].index || w.c[i].included || !w.c[i].text)
			continue;
		if (SW_GROW(*v, *n) < 0) {
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
			break;
		}
		s = &(*v)[*n];
		memset(s, 0, sizeof(*s));
		s->owned = true;
		rel = w.c[i].real + strlen(w.roots[w.c[i].root]);
		rel += *rel == '/';
		s->name = sw__strdup(w.c[i].shown);
		s->ns = sw__asprintf("user:%s", rel);
		for (j = first; s->ns && j < *n; j++)
			if (strcmp((*v)[j].ns, s->ns) == 0) { /* two --rules with the same file names */
				free(s->ns);
				s->ns = sw__asprintf("user:%zu:%s", w.c[i].root + 1, rel);
				break;
			}
		if (!s->name || !s->ns) {
			free(s->name);
			free(s->ns);
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
			break;
		}
		memset(&x, 0, sizeof(x));
		x.root = w.roots[w.c[i].root];
		x.shownroot = w.shownroots[w.c[i].root];
		x.s = s;
		x.probs = probs;
		x.out = (sw_buf)SW_BUF_INIT(MAX_UNIT_TEXT);
		if (expand(&x, w.c[i].real, w.c[i].text) < 0 || sw_buf_append(&x.out, "", 1) < 0) {
			bool big = sw_buf_err(&x.out) == SW_ELIMIT;
			sw_buf_release(&x.out);
			sw_yara__src_free(s);
			if (!big) {
				rc = sw_error_set(err, SW_ENOMEM, "out of memory");
				break;
			}
			/* too large with its includes: this unit out, as a
			 * missing include would leave it */
			sw_yara__problem(probs, true, w.c[i].shown, 0, "larger than 64 MiB with its includes");
			continue;
		}
		if (x.failed) {
			sw_buf_release(&x.out);
			sw_yara__src_free(s);
			continue;
		}
		s->text = sw_buf_detach(&x.out, NULL);
		(*n)++;
	}
	free_cands(&w);
	for (r = 0; r < o->n_rule_dirs; r++) {
		free(w.roots[r]);
		free(w.shownroots[r]);
	}
	free(w.roots);
	free(w.shownroots);
	return rc;
}

void sw_yara__src_free(src *s)
{
	size_t i;

	free(s->name);
	free(s->ns);
	if (s->owned)
		free(s->text);
	for (i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	free(s->map);
	memset(s, 0, sizeof(*s));
}
