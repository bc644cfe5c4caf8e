/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The images a change would run: read from Dockerfiles (FROM, with
 * --platform and build stages; COPY --from=IMAGE), Kubernetes manifests
 * (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
 * List: containers, initContainers, ephemeralContainers) and compose files
 * (services.*.image), each with its file and line. A directory is walked
 * without following symbolic links, with bounds on depth and file count.
 * Dockerfile lines are joined exactly as BuildKit joins them (the escape
 * directive, continuations, comments, blank lines, a byte-order mark): a
 * line read any other way is an image the policy never sees.
 */
#include <ctype.h>
#include <dirent.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stowaway/manifests.h"
#include "../util/util.h"
#include "../util/banned.h"

#define MAX_FILE (16u << 20)
#define MAX_FILES 100000
#define MAX_DIR_DEPTH 16
#define MAX_USES 1000000
#define MAX_STAGES 256

#define MAX_ENV_FILE (1u << 20)
#define TEMPLATE_HINT "a template: render it first (helm template CHART | stowaway check --manifests -)"
#define MAX_EXPAND_DEPTH 8
/* variable lookups per file: each may scan its .env (1 MiB) */
#define MAX_LOOKUPS 256

typedef struct coll {
	sw_image_use *v;
	size_t n;
	size_t files;
	const sw_manifests_opts *o;
	bool templated; /* the file being read has {{ }} in it */
	sw_error *err;  /* what stops the walk */
} coll;

void sw_image_uses_free(sw_image_use *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].image);
		free(v[i].file);
		free(v[i].where);
		free(v[i].error);
	}
	free(v);
}

static int add(coll *c, const char *image, size_t ilen, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static int add(coll *c, const char *image, size_t ilen, const char *file, int line, const char *fmt, ...)
{
	sw_image_use *nv;
	char where[512];
	va_list ap;

	if (c->n >= MAX_USES)
		return sw_error_set(c->err, SW_ELIMIT, "%s: more than %d image references", file, MAX_USES);
	if (SW_GROW(c->v, c->n) < 0)
		return sw_error_set(c->err, SW_ENOMEM, "out of memory");
	va_start(ap, fmt);
	vsnprintf(where, sizeof(where), fmt, ap);
	va_end(ap);
	nv = &c->v[c->n];
	nv->image = sw__strndup(image, ilen);
	nv->file = sw__strdup(file);
	nv->where = sw__strdup(where);
	nv->error = NULL;
	nv->line = line;
	if (!nv->image || !nv->file || !nv->where) {
		free(nv->image);
		free(nv->file);
		free(nv->where);
		return sw_error_set(c->err, SW_ENOMEM, "out of memory");
	}
	c->n++;
	return 0;
}

/* A file that could not be read: one use carrying the reason; the walk
 * goes on. */
static int add_error(coll *c, const char *file, int line, const char *why)
{
	char *e = sw__strdup(why);
	int rc;

	if (!e)
		return sw_error_set(c->err, SW_ENOMEM, "out of memory");
	if ((rc = add(c, "", 0, file, line, "%s", "unreadable")) < 0) {
		free(e);
		return rc;
	}
	c->v[c->n - 1].error = e;
	return 0;
}

/* ---- Dockerfile ---- */

typedef struct arg { char name[128]; char value[512]; } arg;

/* Expand $NAME and ${NAME} from the ARGs declared before the first FROM
 * (the only ones FROM can see). Returns false when one has no value. */
static bool expand(const char *in, size_t n, const arg *args, size_t nargs, char *out, size_t on,
		   char *missing, size_t mn)
{
	size_t i = 0, o = 0;

	while (i < n && o + 1 < on) {
		if (in[i] == '$' && i + 1 < n) {
			size_t j = i + 1, k0, k1, a;
			bool brace = in[j] == '{';
			if (brace)
				j++;
			k0 = j;
			while (j < n && (isalnum((unsigned char)in[j]) || in[j] == '_'))
				j++;
			k1 = j;
			if (brace) {
				/* ${NAME:-default} is not resolved: treat as unknown */
				if (j >= n || in[j] != '}') {
					snprintf(missing, mn, "%.*s", (int)(n - i > 60 ? 60 : n - i), in + i);
					return false;
				}
				j++;
			}
			/* the last declaration wins, as in BuildKit */
			for (a = nargs; a-- > 0;)
				if (strlen(args[a].name) == k1 - k0 && memcmp(args[a].name, in + k0, k1 - k0) == 0)
					break;
			if (a == (size_t)-1 || !args[a].value[0]) {
				snprintf(missing, mn, "%.*s", (int)(k1 - k0 > 60 ? 60 : k1 - k0), in + k0);
				return false;
			}
			o += (size_t)snprintf(out + o, on - o, "%s", args[a].value);
			if (o >= on)
				o = on - 1;
			i = j;
			continue;
		}
		out[o++] = in[i++];
	}
	out[o] = '\0';
	return true;
}

static size_t word(const char *s, size_t n, size_t *at)
{
	size_t b;

	while (*at < n && isspace((unsigned char)s[*at]))
		(*at)++;
	b = *at;
	while (*at < n && !isspace((unsigned char)s[*at]))
		(*at)++;
	return *at - b;
}

/* The length of the white-space character at p (n bytes left) as Go's
 * unicode.IsSpace sees it, which is how BuildKit trims a line's start
 * (ASCII, NEL, NO-BREAK SPACE and the Unicode spaces); 0 for other bytes. */
static size_t space_len(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;

	if (n && (u[0] == ' ' || (u[0] >= '\t' && u[0] <= '\r')))
		return 1;
	if (n >= 2 && u[0] == 0xc2 && (u[1] == 0x85 || u[1] == 0xa0))
		return 2;
	if (n >= 3 && ((u[0] == 0xe1 && u[1] == 0x9a && u[2] == 0x80) ||
		       (u[0] == 0xe2 && u[1] == 0x80 && ((u[2] >= 0x80 && u[2] <= 0x8a) || u[2] == 0xa8 || u[2] == 0xa9 || u[2] == 0xaf)) ||
		       (u[0] == 0xe2 && u[1] == 0x81 && u[2] == 0x9f) || (u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x80)))
		return 3;
	return 0;
}

static size_t skip_space(const char *p, size_t n)
{
	size_t k = 0, s;

	while ((s = space_len(p + k, n - k)))
		k += s;
	return k;
}

/* The escape character the parser directives at a Dockerfile's top choose
 * ("# escape=`", names in any case): '\' unless one says '`'. Directives
 * end at the first line that is not one (a comment, a blank line, an
 * unknown name, an instruction). */
static char escape_char(const char *s, size_t n)
{
	size_t i = 0, e, a, b, v, w;
	char esc = '\\';

	for (;;) {
		for (e = i; e < n && s[e] != '\n'; e++)
			;
		i += skip_space(s + i, e - i);
		if (i >= e || s[i] != '#')
			return esc;
		for (a = i + 1; a < e && isspace((unsigned char)s[a]); a++)
			;
		for (b = a; b < e && isalnum((unsigned char)s[b]); b++)
			;
		for (v = b; v < e && isspace((unsigned char)s[v]); v++)
			;
		if (b == a || !isalpha((unsigned char)s[a]) || v >= e || s[v] != '=')
			return esc;
		for (v++; v < e && isspace((unsigned char)s[v]); v++)
			;
		for (w = e; w > v && isspace((unsigned char)s[w - 1]); w--)
			;
		if (w == v)
			return esc;
		if (b - a == 6 && strncasecmp(s + a, "escape", 6) == 0) {
			if (w - v == 1 && (s[v] == '\\' || s[v] == '`'))
				esc = s[v];
		} else if (!(b - a == 6 && strncasecmp(s + a, "syntax", 6) == 0) &&
			   !(b - a == 5 && strncasecmp(s + a, "check", 5) == 0)) {
			return esc;
		}
		if (e >= n)
			return esc;
		i = e + 1;
	}
}

/* The next logical line into out, joined as BuildKit joins lines: a line
 * that ends with the escape character (blanks after it allowed; not an
 * escaped escape) goes on into the next with nothing between them; inside
 * a continued line, comment and blank lines are skipped and end nothing; a
 * comment is never continued. A line's leading white space goes, Unicode
 * spaces included. *start is the first line's number; out->len is 0 when
 * the line read was blank or a comment. */
static void logical_line(const char *text, size_t len, size_t *i, int *line, char esc, sw_buf *out, int *start)
{
	bool open = false;

	out->len = 0;
	while (*i < len) {
		const char *p = text + *i;
		size_t l = 0, t, k;
		bool cont;

		while (*i + l < len && p[l] != '\n')
			l++;
		*i += *i + l < len ? l + 1 : l;
		(*line)++;
		for (t = l; t > 0 && p[t - 1] == '\r'; t--)
			;
		k = skip_space(p, t);
		if (k >= t || p[k] == '#') {
			if (open)
				continue;
			return;
		}
		if (!open)
			*start = *line;
		else
			k = 0;
		for (l = t; l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t'); l--)
			;
		cont = l > 0 && p[l - 1] == esc && (l == 1 || p[l - 2] != esc);
		(void)sw_buf_append(out, p + k, (cont ? l - 1 : t) - k);
		if (!cont)
			return;
		open = true;
	}
}

static int dockerfile(coll *c, const char *file, const char *text, size_t len)
{
	char stages[MAX_STAGES][128];
	arg args[64];
	size_t nstages = 0, nargs = 0, i = 0;
	int line = 0, rc = 0;
	bool seen_from = false;
	sw_buf logical = SW_BUF_INIT(1u << 20);
	char esc;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		i = 3; /* a byte-order mark */
	esc = escape_char(text + i, len - i);
	while (i < len && rc == 0) {
		int start_line = line + 1;
		size_t at = 0, kw, w0;
		const char *s;
		logical_line(text, len, &i, &line, esc, &logical, &start_line);
		s = logical.data ? logical.data : "";
		kw = word(s, logical.len, &at);
		w0 = at - kw;
		if (!kw || s[w0] == '#')
			continue;
		if (kw == 3 && strncasecmp(s + w0, "ARG", 3) == 0 && !seen_from && nargs < 64) {
			size_t vl = word(s, logical.len, &at), v0 = at - vl;
			const char *eq = memchr(s + v0, '=', vl);
			size_t nl = eq ? (size_t)(eq - (s + v0)) : vl;
			snprintf(args[nargs].name, sizeof(args[nargs].name), "%.*s", (int)(nl < 127 ? nl : 127), s + v0);
			args[nargs].value[0] = '\0';
			if (eq) {
				const char *v = eq + 1;
				size_t l = vl - nl - 1;
				if (l >= 2 && (v[0] == '"' || v[0] == '\'') && v[l - 1] == v[0]) {
					v++;
					l -= 2;
				}
				snprintf(args[nargs].value, sizeof(args[nargs].value), "%.*s", (int)(l < 511 ? l : 511), v);
			}
			nargs++;
		} else if (kw == 4 && strncasecmp(s + w0, "FROM", 4) == 0) {
			char img[1024], missing[64], platform[128] = "";
			size_t wl, wb, k;
			seen_from = true;
			for (;;) {
				wl = word(s, logical.len, &at);
				wb = at - wl;
				if (wl > 2 && s[wb] == '-' && s[wb + 1] == '-') {
					if (wl > 11 && strncmp(s + wb, "--platform=", 11) == 0)
						snprintf(platform, sizeof(platform), "%.*s", (int)(wl - 11 < 100 ? wl - 11 : 100),
							 s + wb + 11);
					continue;
				}
				break;
			}
			if (!wl)
				continue;
			if (!expand(s + wb, wl, args, nargs, img, sizeof(img), missing, sizeof(missing))) {
				rc = add(c, s + wb, wl, file, start_line,
					 "FROM with build argument %s that has no default", missing);
			} else {
				for (k = 0; k < nstages; k++)
					if (strcasecmp(stages[k], img) == 0)
						break;
				if (k == nstages && strcmp(img, "scratch") != 0)
					rc = add(c, img, strlen(img), file, start_line, "FROM%s%s", platform[0] ? " --platform=" : "",
						 platform);
			}
			/* AS name */
			wl = word(s, logical.len, &at);
			if (wl == 2 && strncasecmp(s + at - 2, "AS", 2) == 0) {
				wl = word(s, logical.len, &at);
				if (wl && nstages < MAX_STAGES) {
					snprintf(stages[nstages], sizeof(stages[nstages]), "%.*s", (int)(wl < 127 ? wl : 127),
						 s + at - wl);
					nstages++;
				}
			}
		} else if ((kw == 4 && strncasecmp(s + w0, "COPY", 4) == 0) ||
			   (kw == 3 && strncasecmp(s + w0, "ADD", 3) == 0)) {
			size_t wl, wb, k;
			while ((wl = word(s, logical.len, &at)) > 2 && s[at - wl] == '-' && s[at - wl + 1] == '-') {
				wb = at - wl;
				if (wl > 7 && strncmp(s + wb, "--from=", 7) == 0) {
					const char *f = s + wb + 7;
					size_t fl = wl - 7;
					bool digits = true;
					for (k = 0; k < fl; k++)
						digits &= isdigit((unsigned char)f[k]) != 0;
					for (k = 0; k < nstages; k++)
						if (strlen(stages[k]) == fl && strncasecmp(stages[k], f, fl) == 0)
							break;
					if (!digits && k == nstages)
						rc = add(c, f, fl, file, start_line, "COPY --from");
				}
			}
		}
	}
	sw_buf_release(&logical);
	return rc;
}

/* ---- compose variables ---- */

/* The .env beside a compose file: KEY=VALUE lines (an "export " prefix,
 * quotes and "#" comments as docker compose reads them). */
typedef struct envfile {
	const char *text;
	size_t len;
	unsigned lookups;  /* made so far for this file (MAX_LOOKUPS) */
} envfile;

/* The value of `name` in the .env text (the last assignment wins) into
 * out; false when it is not there. */
static bool env_lookup(const envfile *ef, const char *name, size_t nl, sw_buf *out)
{
	const char *p = ef->text, *end = ef->text + ef->len;
	bool found = false;

	while (p && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *q, *v, *ve;
		if (!eol)
			eol = end;
		q = p;
		while (q < eol && (*q == ' ' || *q == '\t'))
			q++;
		if ((size_t)(eol - q) > 7 && memcmp(q, "export ", 7) == 0)
			for (q += 7; q < eol && *q == ' '; q++)
				;
		if ((size_t)(eol - q) > nl && memcmp(q, name, nl) == 0) {
			v = q + nl;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			if (v < eol && *v == '=') {
				v++;
				while (v < eol && (*v == ' ' || *v == '\t'))
					v++;
				ve = eol;
				if (ve > v && ve[-1] == '\r')
					ve--;
				if (v < ve && (*v == '"' || *v == '\'')) {
					const char *close = memchr(v + 1, *v, (size_t)(ve - v - 1));
					if (close)
						ve = close;
					v++;
				} else {
					const char *h;
					for (h = v; h < ve; h++)
						if (*h == '#' && (h == v || h[-1] == ' ' || h[-1] == '\t'))
							break;
					ve = h;
					while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
						ve--;
				}
				sw_buf_reset(out);
				sw_buf_append(out, v, (size_t)(ve - v));
				found = true;
			}
		}
		p = eol + 1;
	}
	return found;
}

/* A variable's value: the environment first, then .env (docker compose's
 * order). */
static bool var_value(envfile *ef, const char *name, size_t nl, sw_buf *out)
{
	char key[256];
	const char *v;

	if (nl == 0 || nl >= sizeof(key) || ++ef->lookups > MAX_LOOKUPS)
		return false; /* past the budget: interpolate says so */
	memcpy(key, name, nl);
	key[nl] = '\0';
	if ((v = getenv(key))) {
		sw_buf_reset(out);
		sw_buf_append(out, v, strlen(v));
		return true;
	}
	return env_lookup(ef, name, nl, out);
}

static bool var_char(char ch, bool first)
{
	return ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (!first && ch >= '0' && ch <= '9');
}

/* Expand compose interpolation in in[0..n) into out: $$, $VAR, ${VAR},
 * ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error},
 * ${VAR:+alt}, ${VAR+alt}, defaults themselves expanded. 0, or 1 with the
 * name of a variable that is unset (or empty, for ":") and has no default,
 * in missing; SW_EFORMAT for an unclosed "${". */
static int interpolate(envfile *ef, const char *in, size_t n, sw_buf *out, int depth, char *missing,
		       size_t mn)
{
	sw_buf val = SW_BUF_INIT(1u << 20);
	size_t i = 0;
	int rc = 0;

	if (depth > MAX_EXPAND_DEPTH)
		return SW_ELIMIT;
	while (i < n && rc == 0) {
		size_t nl, j, open, close;
		const char *name;
		bool set, empty;
		if (in[i] != '$' || i + 1 >= n) {
			sw_buf_putc(out, in[i++]);
			continue;
		}
		if (in[i + 1] == '$') {
			sw_buf_putc(out, '$');
			i += 2;
			continue;
		}
		if (in[i + 1] != '{') {
			for (j = i + 1; j < n && var_char(in[j], j == i + 1); j++)
				;
			if (j == i + 1) {
				sw_buf_putc(out, in[i++]);
				continue;
			}
			if (var_value(ef, in + i + 1, j - i - 1, &val))
				sw_buf_append(out, val.data, val.len);
			else {
				snprintf(missing, mn, "%.*s", (int)(j - i - 1 > 100 ? 100 : j - i - 1), in + i + 1);
				rc = 1;
			}
			i = j;
			continue;
		}
		/* ${...}: find its closing brace, counting nested ${ */
		for (close = i + 2, open = 1; close < n; close++) {
			if (in[close] == '{' && in[close - 1] == '$')
				open++;
			else if (in[close] == '}' && --open == 0)
				break;
		}
		if (close >= n) {
			rc = SW_EFORMAT;
			break;
		}
		name = in + i + 2;
		for (j = i + 2; j < close && var_char(in[j], j == i + 2); j++)
			;
		nl = (size_t)(in + j - name);
		set = var_value(ef, name, nl, &val);
		empty = !set || val.len == 0;
		if (j == close) {
			if (set) {
				sw_buf_append(out, val.data, val.len);
			} else {
				snprintf(missing, mn, "%.*s", (int)(nl > 100 ? 100 : nl), name);
				rc = 1;
			}
		} else {
			bool colon = in[j] == ':';
			char op = colon && j + 1 < close ? in[j + 1] : in[j];
			size_t from = j + (colon ? 2 : 1);
			bool unset = colon ? empty : !set;
			if (nl == 0 || (op != '-' && op != '?' && op != '+') || from > close) {
				rc = SW_EFORMAT;
				break;
			}
			if (op == '-' && unset)
				rc = interpolate(ef, in + from, close - from, out, depth + 1, missing, mn);
			else if (op == '+' && !unset)
				rc = interpolate(ef, in + from, close - from, out, depth + 1, missing, mn);
			else if (op == '?' && unset) {
				snprintf(missing, mn, "%.*s", (int)(nl > 100 ? 100 : nl), name);
				rc = 1;
			} else if (op != '+')
				sw_buf_append(out, val.data, val.len);
		}
		i = close + 1;
	}
	sw_buf_release(&val);
	if (ef->lookups > MAX_LOOKUPS)
		rc = SW_ELIMIT;
	if (rc == 0 && sw_buf_err(out))
		rc = sw_buf_err(out);
	return rc;
}

/* A compose service's image, expanded; an unset variable leaves the text
 * as written, named in where (the policy then denies what it cannot read). */
static int compose_image(coll *c, envfile *ef, const char *file, const sw_yaml *s, const sw_yaml *img)
{
	sw_buf out = SW_BUF_INIT(4096);
	char missing[128] = "";
	int rc = interpolate(ef, img->s, img->slen, &out, 0, missing, sizeof(missing));

	if (rc == 0)
		rc = add(c, out.data ? out.data : "", out.len, file, img->line, "compose service %s", s->key);
	else if (rc == 1)
		rc = add(c, img->s, img->slen, file, img->line,
			 "compose service %s: variable %s is not set (no default, not in the environment or .env)",
			 s->key, missing);
	else
		rc = add(c, img->s, img->slen, file, img->line, rc == SW_ELIMIT ?
			 "compose service %s: more than 256 variables to look up in this file: not expanded" :
			 "compose service %s: the image's ${...} cannot be read", s->key);
	sw_buf_release(&out);
	return rc;
}

/* ---- Kubernetes and compose ---- */

static int containers(coll *c, const char *file, const sw_yaml *spec, const char *what)
{
	static const char *const lists[] = { "initContainers", "containers", "ephemeralContainers" };
	size_t k;
	int rc = 0;

	for (k = 0; k < 3 && rc == 0; k++) {
		const sw_yaml *l = sw_yaml_get(spec, lists[k]), *e;
		if (!l || l->type != SW_YAML_SEQ)
			continue;
		for (e = l->child; e && rc == 0; e = e->next) {
			const sw_yaml *img = sw_yaml_get(e, "image");
			const char *name = sw_yaml_str(sw_yaml_get(e, "name"));
			if (img && sw_yaml_str(img))
				rc = add(c, img->s, img->slen, file, img->line, "%s, %s %s", what, lists[k],
					 name ? name : "(unnamed)");
			else if (img)
				rc = add(c, "", 0, file, img->line, "%s, %s %s: image is not a string%s", what, lists[k],
					 name ? name : "(unnamed)", c->templated ? " (" TEMPLATE_HINT ")" : "");
		}
	}
	return rc;
}

static int k8s_object(coll *c, const char *file, const sw_yaml *o, int depth)
{
	const char *kind = sw_yaml_str(sw_yaml_get(o, "kind"));
	const char *name = sw_yaml_str(sw_yaml_get(sw_yaml_get(o, "metadata"), "name"));
	const sw_yaml *spec = sw_yaml_get(o, "spec");
	char what[300];

	if (!kind)
		return 0;
	snprintf(what, sizeof(what), "%.60s %.200s", kind, name ? name : "(unnamed)");
	if (strcmp(kind, "List") == 0 && depth == 0) {
		const sw_yaml *items = sw_yaml_get(o, "items"), *e;
		int rc = 0;
		for (e = items && items->type == SW_YAML_SEQ ? items->child : NULL; e && rc == 0; e = e->next)
			rc = k8s_object(c, file, e, 1);
		return rc;
	}
	if (strcmp(kind, "Pod") == 0)
		return containers(c, file, spec, what);
	if (strcmp(kind, "Deployment") == 0 || strcmp(kind, "StatefulSet") == 0 ||
	    strcmp(kind, "DaemonSet") == 0 || strcmp(kind, "ReplicaSet") == 0 || strcmp(kind, "Job") == 0 ||
	    strcmp(kind, "ReplicationController") == 0 || strcmp(kind, "PodTemplate") == 0)
		return containers(c, file,
				  sw_yaml_get(strcmp(kind, "PodTemplate") == 0 ? sw_yaml_get(o, "template")
									     : sw_yaml_get(spec, "template"),
					      "spec"),
				  what);
	if (strcmp(kind, "CronJob") == 0)
		return containers(c, file,
				  sw_yaml_get(sw_yaml_get(sw_yaml_get(sw_yaml_get(spec, "jobTemplate"), "spec"), "template"),
					      "spec"),
				  what);
	return 0;
}

/* A Helm chart template: {{ ... }} actions where YAML expects structure. */
static bool templated(const char *text, size_t len)
{
	return memmem(text, len, "{{", 2) != NULL;
}

static int yaml_file(coll *c, const char *file, const char *text, size_t len, envfile *ef)
{
	sw_yaml_doc *doc = NULL;
	sw_error perr = SW_ERROR_INIT;
	size_t i;
	int rc;

	if ((rc = sw_yaml_parse(text, len, file, &doc, &perr)) < 0) {
		int line = perr.line;
		if (rc == SW_ENOMEM)
			return sw_error_set(c->err, rc, "out of memory");
		if (templated(text, len)) { /* the line of the first action */
			const char *t = memmem(text, len, "{{", 2), *q;
			for (line = 1, q = text; q < t; q++)
				line += *q == '\n';
			return add_error(c, file, line, TEMPLATE_HINT);
		}
		return add_error(c, file, line, perr.msg);
	}
	c->templated = templated(text, len);
	for (i = 0; i < sw_yaml_ndocs(doc) && rc == 0; i++) {
		const sw_yaml *r = sw_yaml_root(doc, i), *svc, *s;
		if (!r || r->type != SW_YAML_MAP)
			continue;
		if ((svc = sw_yaml_get(r, "services")) && svc->type == SW_YAML_MAP && !sw_yaml_get(r, "kind")) {
			for (s = svc->child; s && rc == 0; s = s->next) {
				const sw_yaml *img = sw_yaml_get(s, "image");
				if (img && sw_yaml_str(img))
					rc = compose_image(c, ef, file, s, img);
				else if (img)
					rc = add(c, "", 0, file, img->line, "compose service %s: image is not a string%s",
						 s->key, templated(text, len) ? " (" TEMPLATE_HINT ")" : "");
			}
			continue;
		}
		rc = k8s_object(c, file, r, 0);
	}
	sw_yaml_free(doc);
	return rc;
}

/* ---- files and directories ---- */

static bool is_dockerfile(const char *base)
{
	size_t n = strlen(base);

	return strncmp(base, "Dockerfile", 10) == 0 || strncmp(base, "Containerfile", 13) == 0 ||
	       (n > 11 && strcmp(base + n - 11, ".Dockerfile") == 0) ||
	       (n > 11 && strcmp(base + n - 11, ".dockerfile") == 0);
}

static bool is_yaml(const char *base)
{
	size_t n = strlen(base);

	return (n > 5 && strcmp(base + n - 5, ".yaml") == 0) || (n > 4 && strcmp(base + n - 4, ".yml") == 0);
}

static bool skipped(const char *const *globs, size_t n, const char *display)
{
	const char *base = strrchr(display, '/');
	size_t i;

	base = base ? base + 1 : display;
	for (i = 0; i < n; i++)
		if (fnmatch(globs[i], display, 0) == 0 || fnmatch(globs[i], base, 0) == 0)
			return true;
	return false;
}

/* Read all of fd (at most MAX_FILE bytes) into b: 0, SW_ELIMIT, or SW_EIO
 * with errno. */
static int read_fd(int fd, sw_buf *b)
{
	char tmp[65536];
	ssize_t r;

	for (;;) {
		r = read(fd, tmp, sizeof(tmp));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (sw_buf_append(b, tmp, (size_t)r) < 0)
			return sw_buf_err(b);
	}
	return r < 0 ? SW_EIO : 0;
}

/* The .env beside the file dirfd/name, if there is one (a regular file). */
static void read_envfile(int dirfd, const char *name, sw_buf *b)
{
	const char *slash = strrchr(name, '/');
	char *path = slash ? sw__asprintf("%.*s/.env", (int)(slash - name), name) : sw__strdup(".env");
	int fd = path ? sw_open_regular(dirfd, path, false) : -1;

	if (fd >= 0) {
		if (read_fd(fd, b) < 0)
			sw_buf_reset(b); /* an unreadable .env: the variables are unset, and say so */
		close(fd);
	}
	free(path);
}

/* One file, its text in b; df/ym: its kind by name. */
static int read_text(coll *c, int dirfd, const char *name, const char *display, bool df, bool ym, sw_buf *b)
{
	int rc;

	if (!df && !ym) /* an explicit file of unknown name: YAML unless it reads like a Dockerfile */
		df = b->len >= 4 && (strncasecmp(b->data, "FROM", 4) == 0 || strncasecmp(b->data, "ARG", 3) == 0 ||
				     b->data[0] == '#');
	if (df)
		return dockerfile(c, display, b->data ? b->data : "", b->len);
	{
		sw_buf env = SW_BUF_INIT(MAX_ENV_FILE);
		envfile ef = { "", 0, 0 };
		if (dirfd != -2)
			read_envfile(dirfd, name, &env);
		ef.text = env.data ? env.data : "";
		ef.len = env.len;
		rc = yaml_file(c, display, b->data ? b->data : "", b->len, &ef);
		sw_buf_release(&env);
	}
	return rc;
}

/* dirfd -2: standard input. */
static int one_file(coll *c, int dirfd, const char *name, const char *display, bool explicit_file)
{
	const char *base = strrchr(display, '/');
	sw_buf b = SW_BUF_INIT(MAX_FILE);
	int fd, rc;
	bool df, ym;

	base = base ? base + 1 : display;
	df = dirfd != -2 && is_dockerfile(base);
	ym = dirfd != -2 && is_yaml(base);
	if (!df && !ym && !explicit_file)
		return 0;
	if (c->o && skipped(c->o->skip_files, c->o->nskip_files, display))
		return 0;
	if (++c->files > MAX_FILES)
		return sw_error_set(c->err, SW_ELIMIT, "more than %d files", MAX_FILES);
	fd = dirfd == -2 ? 0 : openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return add_error(c, display, 0, strerror(errno));
	rc = read_fd(fd, &b);
	if (fd != 0)
		close(fd);
	if (rc == SW_ELIMIT)
		rc = add_error(c, display, 0, "larger than 16 MiB");
	else if (rc < 0)
		rc = add_error(c, display, 0, strerror(errno));
	else
		rc = read_text(c, dirfd, name, display, df, ym, &b);
	sw_buf_release(&b);
	return rc;
}

static int walk(coll *c, int dfd, const char *display, int depth)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t nn = 0, i;
	int rc = 0;

	if (depth > MAX_DIR_DEPTH) {
		close(dfd);
		return add_error(c, display, 0, "directories nested deeper than 16: not read");
	}
	if (!(d = fdopendir(dfd))) {
		close(dfd);
		return add_error(c, display, 0, strerror(errno));
	}
	while ((de = readdir(d)) && rc == 0) {
		if (de->d_name[0] == '.')
			continue; /* ., .., and hidden (.git) */
		if (nn >= MAX_FILES || SW_GROW(names, nn) < 0) {
			rc = sw_error_set(c->err, SW_ELIMIT, "%s: too many entries", display);
			break;
		}
		if (!(names[nn] = sw__strdup(de->d_name)))
			rc = sw_error_set(c->err, SW_ENOMEM, "out of memory");
		else
			nn++;
	}
	for (i = 0; rc == 0 && i < nn; i++) {
		struct stat st;
		char *sub = sw__asprintf("%s/%s", display, names[i]);
		if (!sub) {
			rc = sw_error_set(c->err, SW_ENOMEM, "out of memory");
			break;
		}
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISDIR(st.st_mode)) {
				if (!c->o || !skipped(c->o->skip_dirs, c->o->nskip_dirs, sub)) {
					int fd = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
					rc = fd < 0 ? add_error(c, sub, 0, strerror(errno)) : walk(c, fd, sub, depth + 1);
				}
			} else if (S_ISREG(st.st_mode)) {
				rc = one_file(c, dfd, names[i], sub, false);
			} /* symbolic links and the rest: never followed */
		}
		free(sub);
	}
	for (i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

int sw_manifests_collect(const char *path, const sw_manifests_opts *o, sw_image_use **out, size_t *n,
			 sw_error *err)
{
	coll c = { NULL, 0, 0, o, false, err };
	struct stat st;
	int rc;

	*out = NULL;
	*n = 0;
	if (strcmp(path, "-") == 0) {
		rc = one_file(&c, -2, "-", "(stdin)", true);
	} else if (lstat(path, &st) < 0) {
		return sw_error_set(err, SW_ENOTFOUND, "%s: %s", path, strerror(errno));
	} else if (S_ISDIR(st.st_mode)) {
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = fd < 0 ? sw_error_set(err, SW_EIO, "%s: %s", path, strerror(errno)) : walk(&c, fd, path, 0);
	} else if (S_ISREG(st.st_mode)) {
		rc = one_file(&c, AT_FDCWD, path, path, true);
	} else {
		rc = sw_error_set(err, SW_EFORMAT, "%s: not a file or directory (symbolic links are not followed)", path);
	}
	if (rc < 0) {
		sw_image_uses_free(c.v, c.n);
		return rc;
	}
	*out = c.v;
	*n = c.n;
	return 0;
}
