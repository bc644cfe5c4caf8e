/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A strict, bounded JSON reader for manifests, indexes and configs.
 *
 * Why our own: every byte of these documents is attacker-controlled, and we
 * want three guarantees a general library does not give together: nesting
 * depth is capped (SW_JSON_MAX_DEPTH) so no input can exhaust the stack;
 * memory is proportional to the input, which the caller has already bounded
 * (all nodes and strings live in one arena freed at once); and the grammar
 * is RFC 8259 exactly (no comments, no trailing commas, no NaN, valid UTF-8
 * escapes), so two parsers cannot disagree about what a manifest says.
 * Duplicate object keys are rejected for the same reason.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "stowaway/json.h"
#include "banned.h"

typedef struct arena_blk {
	struct arena_blk *next;
	size_t used, cap;
	max_align_t data[];
} arena_blk;

struct sw_json_doc {
	arena_blk *blocks;
	sw_json *root;
};

typedef struct {
	const char *p, *end, *start;
	int line;          /* of p: only white space holds raw newlines */
	sw_json_doc *doc;
	sw_error *err;
} parser;

static void *arena_alloc(sw_json_doc *d, size_t n)
{
	arena_blk *b = d->blocks;

	n = (n + 15) & ~(size_t)15;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > 65536 ? n : 65536;
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->cap = cap;
		b->used = 0;
		b->next = d->blocks;
		d->blocks = b;
	}
	b->used += n;
	return (char *)b->data + b->used - n;
}

static int fail(parser *ps, const char *what)
{
	sw_error_set(ps->err, SW_EFORMAT, "json: %s at byte %zu", what, (size_t)(ps->p - ps->start));
	if (ps->err)
		ps->err->line = ps->line;
	return SW_EFORMAT;
}

static void skip_ws(parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
				   *ps->p == '\n' || *ps->p == '\r'))
		ps->line += *ps->p++ == '\n';
}

static int hex4(parser *ps, unsigned *out)
{
	unsigned v = 0;
	int i;

	if (ps->end - ps->p < 4)
		return fail(ps, "short \\u escape");
	for (i = 0; i < 4; i++) {
		char c = *ps->p++;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return fail(ps, "bad \\u escape");
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static int parse_string(parser *ps, char **out, size_t *outlen)
{
	const char *s;
	char *buf, *o;
	int rc;

	ps->p++; /* opening quote */
	s = ps->p;
	/* Decoded text is never longer than the source: size the copy once. */
	while (ps->p < ps->end && *ps->p != '"') {
		if ((unsigned char)*ps->p < 0x20)
			return fail(ps, "control character in string");
		ps->p += (*ps->p == '\\' && ps->p + 1 < ps->end) ? 2 : 1;
	}
	if (ps->p >= ps->end)
		return fail(ps, "unterminated string");
	buf = arena_alloc(ps->doc, (size_t)(ps->p - s) + 1);
	if (!buf)
		return sw_error_set(ps->err, SW_ENOMEM, "json: out of memory");
	ps->p = s;
	o = buf;
	while (*ps->p != '"') {
		unsigned char c = (unsigned char)*ps->p;
		if (c != '\\') {
			size_t n = sw_utf8_decode(ps->p, (size_t)(ps->end - ps->p), NULL);
			if (!n)
				return fail(ps, "invalid UTF-8 in string");
			memcpy(o, ps->p, n);
			o += n;
			ps->p += n;
			continue;
		}
		ps->p++;
		switch (*ps->p++) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			unsigned cp, lo;
			if ((rc = hex4(ps, &cp)) < 0)
				return rc;
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return fail(ps, "lone low surrogate");
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u')
					return fail(ps, "lone high surrogate");
				ps->p += 2;
				if ((rc = hex4(ps, &lo)) < 0)
					return rc;
				if (lo < 0xDC00 || lo > 0xDFFF)
					return fail(ps, "bad surrogate pair");
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			o += put_utf8(o, cp);
			break;
		}
		default:
			return fail(ps, "bad escape");
		}
	}
	ps->p++; /* closing quote */
	*o = '\0';
	*out = buf;
	*outlen = (size_t)(o - buf);
	return 0;
}

static int parse_number(parser *ps, sw_json *v)
{
	const char *s = ps->p;
	bool frac = false;
	char tmp[64], *num;
	size_t n;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p >= ps->end)
		return fail(ps, "bad number");
	if (*ps->p == '0')
		ps->p++;
	else if (*ps->p >= '1' && *ps->p <= '9')
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	else
		return fail(ps, "bad number");
	if (ps->p < ps->end && *ps->p == '.') {
		frac = true;
		ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return fail(ps, "bad fraction");
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		frac = true;
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return fail(ps, "bad exponent");
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	n = (size_t)(ps->p - s);
	/* strtod needs a terminated copy; long numbers get one from the arena
	 * (bounded by the document, which the caller bounded) */
	num = n < sizeof(tmp) ? tmp : arena_alloc(ps->doc, n + 1);
	if (!num)
		return sw_error_set(ps->err, SW_ENOMEM, "json: out of memory");
	memcpy(num, s, n);
	num[n] = '\0';
	v->type = SW_JSON_NUM;
	v->d = strtod(num, NULL);
	if (!frac) {
		errno = 0;
		v->i = strtoll(num, NULL, 10);
		v->is_int = errno == 0;
	}
	return 0;
}

static int parse_value(parser *ps, sw_json *v, int depth);

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Two parsers that pick different copies of a duplicated key disagree about
 * what a manifest says; refuse duplicates outright. Sorting keeps this
 * O(n log n) for objects with many members. */
static int check_dup_keys(parser *ps, const sw_json *v)
{
	const sw_json *c;
	char **keys;
	size_t i = 0;
	int rc = 0;

	if (v->n < 2)
		return 0;
	if (!(keys = malloc(v->n * sizeof(*keys))))
		return sw_error_set(ps->err, SW_ENOMEM, "json: out of memory");
	for (c = v->child; c; c = c->next)
		keys[i++] = c->key;
	qsort(keys, v->n, sizeof(*keys), cmp_key);
	for (i = 1; i < v->n; i++)
		if (strcmp(keys[i - 1], keys[i]) == 0) {
			const sw_json *second = NULL;
			char what[128];
			for (c = v->child; c; c = c->next)
				if (strcmp(c->key, keys[i]) == 0)
					second = c; /* the last copy: the one a reader would keep */
			snprintf(what, sizeof(what), "duplicate member name \"%.80s\"", keys[i]);
			rc = fail(ps, what);
			if (ps->err && second)
				ps->err->line = second->line;
			break;
		}
	free(keys);
	return rc;
}

static int parse_container(parser *ps, sw_json *v, int depth, bool obj)
{
	char close = obj ? '}' : ']';
	sw_json **tail = &v->child;
	int rc;

	if (depth >= SW_JSON_MAX_DEPTH)
		return sw_error_set(ps->err, SW_ELIMIT,
				    "json: nesting deeper than %d at byte %zu",
				    SW_JSON_MAX_DEPTH, (size_t)(ps->p - ps->start));
	v->type = obj ? SW_JSON_OBJ : SW_JSON_ARR;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		sw_json *c = arena_alloc(ps->doc, sizeof(*c));
		if (!c)
			return sw_error_set(ps->err, SW_ENOMEM, "json: out of memory");
		memset(c, 0, sizeof(*c));
		skip_ws(ps);
		c->line = ps->line;   /* a member's line is its name's */
		if (obj) {
			size_t klen;
			if (ps->p >= ps->end || *ps->p != '"')
				return fail(ps, "expected member name");
			if ((rc = parse_string(ps, &c->key, &klen)) < 0)
				return rc;
			if (strlen(c->key) != klen)
				return fail(ps, "NUL in member name");
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				return fail(ps, "expected ':'");
			ps->p++;
			skip_ws(ps);
		}
		if ((rc = parse_value(ps, c, depth + 1)) < 0)
			return rc;
		*tail = c;
		tail = &c->next;
		v->n++;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return obj ? check_dup_keys(ps, v) : 0;
		}
		return fail(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int parse_lit(parser *ps, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, lit, n) != 0)
		return fail(ps, "unexpected token");
	ps->p += n;
	return 0;
}

static int parse_value(parser *ps, sw_json *v, int depth)
{
	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "unexpected end");
	switch (*ps->p) {
	case '{': return parse_container(ps, v, depth, true);
	case '[': return parse_container(ps, v, depth, false);
	case '"':
		v->type = SW_JSON_STR;
		return parse_string(ps, &v->s, &v->slen);
	case 't': v->type = SW_JSON_BOOL; v->b = true; return parse_lit(ps, "true");
	case 'f': v->type = SW_JSON_BOOL; return parse_lit(ps, "false");
	case 'n': v->type = SW_JSON_NULL; return parse_lit(ps, "null");
	default: return parse_number(ps, v);
	}
}

int sw_json_parse(const char *p, size_t len, sw_json_doc **out, sw_error *err)
{
	parser ps = { p, p + len, p, 1, NULL, err };
	sw_json_doc *d;
	int rc;

	*out = NULL;
	if (!(d = calloc(1, sizeof(*d))))
		return sw_error_set(err, SW_ENOMEM, "json: out of memory");
	ps.doc = d;
	if (!(d->root = arena_alloc(d, sizeof(sw_json)))) {
		rc = sw_error_set(err, SW_ENOMEM, "json: out of memory");
		goto out;
	}
	memset(d->root, 0, sizeof(sw_json));
	skip_ws(&ps);
	d->root->line = ps.line;
	if ((rc = parse_value(&ps, d->root, 0)) < 0)
		goto out;
	skip_ws(&ps);
	if (ps.p != ps.end) {
		rc = fail(&ps, "trailing data");
		goto out;
	}
	*out = d;
	return 0;
out:
	sw_json_free(d);
	return rc;
}

const sw_json *sw_json_root(const sw_json_doc *d)
{
	return d ? d->root : NULL;
}

void sw_json_free(sw_json_doc *d)
{
	arena_blk *b, *n;

	if (!d)
		return;
	for (b = d->blocks; b; b = n) {
		n = b->next;
		free(b);
	}
	free(d);
}

const sw_json *sw_json_get(const sw_json *obj, const char *key)
{
	const sw_json *c;

	if (!obj || obj->type != SW_JSON_OBJ)
		return NULL;
	for (c = obj->child; c; c = c->next)
		if (strcmp(c->key, key) == 0)
			return c->type == SW_JSON_NULL ? NULL : c;
	return NULL;
}

const char *sw_json_get_str(const sw_json *obj, const char *key)
{
	const sw_json *v = sw_json_get(obj, key);
	return v && v->type == SW_JSON_STR ? v->s : NULL;
}

const sw_json *sw_json_get_arr(const sw_json *obj, const char *key)
{
	const sw_json *v = sw_json_get(obj, key);
	return v && v->type == SW_JSON_ARR ? v : NULL;
}

const sw_json *sw_json_get_obj(const sw_json *obj, const char *key)
{
	const sw_json *v = sw_json_get(obj, key);
	return v && v->type == SW_JSON_OBJ ? v : NULL;
}

int sw_json_get_i64(const sw_json *obj, const char *key, int64_t *out)
{
	const sw_json *v = sw_json_get(obj, key);

	if (!v || v->type != SW_JSON_NUM || !v->is_int)
		return SW_EFORMAT;
	*out = v->i;
	return 0;
}

/* ---- writer ---- */

int sw_jsonw_strn(sw_buf *b, const char *s, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	size_t i = 0, run;
	int rc;

	if ((rc = sw_buf_putc(b, '"')) < 0)
		return rc;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t u;
		for (run = i; run < n; run++) {
			unsigned char r = (unsigned char)s[run];
			if (r < 0x20 || r == '"' || r == '\\' || r >= 0x80)
				break;
		}
		if (run > i) {
			if ((rc = sw_buf_append(b, s + i, run - i)) < 0)
				return rc;
			i = run;
			continue;
		}
		if (c >= 0x80) {
			/* Pass valid UTF-8 through; escape each invalid byte as
			 * U+FFFD so the report is always valid JSON. */
			u = sw_utf8_decode(s + i, n - i, NULL);
			if (u) {
				rc = sw_buf_append(b, s + i, u);
				i += u;
			} else {
				rc = sw_buf_append(b, "\\ufffd", 6);
				i++;
			}
		} else if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			rc = sw_buf_append(b, e, 2);
			i++;
		} else if (c == '\n') {
			rc = sw_buf_append(b, "\\n", 2), i++;
		} else if (c == '\t') {
			rc = sw_buf_append(b, "\\t", 2), i++;
		} else if (c == '\r') {
			rc = sw_buf_append(b, "\\r", 2), i++;
		} else {
			char e[6] = { '\\', 'u', '0', '0', hx[c >> 4], hx[c & 15] };
			rc = sw_buf_append(b, e, 6);
			i++;
		}
		if (rc < 0)
			return rc;
	}
	return sw_buf_putc(b, '"');
}

int sw_jsonw_str(sw_buf *b, const char *s)
{
	if (!s)
		return sw_buf_append(b, "null", 4);
	return sw_jsonw_strn(b, s, strlen(s));
}

/* ---- the writer that keeps commas and nesting ---- */

static bool jw_bad(const sw_jw *w)
{
	return w->b->err != 0;
}

static void jw_misuse(sw_jw *w)
{
	if (!w->b->err)
		w->b->err = SW_EINVAL;
}

/* Before a value: the comma, or nothing after a key; a value inside an
 * object without its key is a misuse, as is a second top-level value. */
static bool jw_value(sw_jw *w)
{
	uint64_t bit;

	if (jw_bad(w))
		return false;
	if (w->keyed) {
		w->keyed = false;
		return true;
	}
	if (w->depth == 0) {
		if (w->top) {
			jw_misuse(w);
			return false;
		}
		w->top = true;
		return true;
	}
	bit = 1ull << (w->depth - 1);
	if (w->obj & bit) {
		jw_misuse(w);
		return false;
	}
	if (w->more & bit)
		sw_buf_putc(w->b, ',');
	w->more |= bit;
	return !jw_bad(w);
}

static void jw_open(sw_jw *w, bool obj)
{
	uint64_t bit;

	if (!jw_value(w))
		return;
	if (w->depth >= SW_JW_MAX_DEPTH) {
		jw_misuse(w);
		return;
	}
	bit = 1ull << w->depth;
	w->depth++;
	w->more &= ~bit;
	if (obj)
		w->obj |= bit;
	else
		w->obj &= ~bit;
	sw_buf_putc(w->b, obj ? '{' : '[');
}

void sw_jw_obj(sw_jw *w) { jw_open(w, true); }
void sw_jw_arr(sw_jw *w) { jw_open(w, false); }

void sw_jw_end(sw_jw *w)
{
	bool obj;

	if (jw_bad(w))
		return;
	if (w->depth == 0 || w->keyed) {
		jw_misuse(w);
		return;
	}
	w->depth--;
	obj = w->obj & (1ull << w->depth);
	sw_buf_putc(w->b, obj ? '}' : ']');
}

void sw_jw_key(sw_jw *w, const char *k)
{
	uint64_t bit;

	if (jw_bad(w))
		return;
	bit = w->depth ? 1ull << (w->depth - 1) : 0;
	if (!bit || !(w->obj & bit) || w->keyed || !k) {
		jw_misuse(w);
		return;
	}
	if (w->more & bit)
		sw_buf_putc(w->b, ',');
	w->more |= bit;
	sw_jsonw_str(w->b, k);
	sw_buf_putc(w->b, ':');
	w->keyed = true;
}

void sw_jw_strn(sw_jw *w, const char *s, size_t n)
{
	if (jw_value(w))
		sw_jsonw_strn(w->b, s, n);
}

void sw_jw_str(sw_jw *w, const char *s)
{
	if (jw_value(w))
		sw_jsonw_str(w->b, s);
}

void sw_jw_bytes(sw_jw *w, const void *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	const unsigned char *s = p;
	size_t i, run;

	if (!jw_value(w))
		return;
	sw_buf_putc(w->b, '"');
	for (i = 0; i < n; i = run) {
		for (run = i; run < n && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' && s[run] != '\\'; run++)
			;
		if (run > i) {
			sw_buf_append(w->b, s + i, run - i);
			continue;
		}
		if (s[i] == '"' || s[i] == '\\') {
			char e[2] = { '\\', (char)s[i] };
			sw_buf_append(w->b, e, 2);
		} else {
			char e[6] = { '\\', 'u', '0', '0', hx[s[i] >> 4], hx[s[i] & 15] };
			sw_buf_append(w->b, e, 6);
		}
		run = i + 1;
	}
	sw_buf_putc(w->b, '"');
}

void sw_jw_int(sw_jw *w, long long v)
{
	if (jw_value(w))
		sw_buf_printf(w->b, "%lld", v);
}

void sw_jw_uint(sw_jw *w, unsigned long long v)
{
	if (jw_value(w))
		sw_buf_printf(w->b, "%llu", v);
}

void sw_jw_real(sw_jw *w, double v, int decimals)
{
	if (!jw_value(w))
		return;
	if (v != v || v > 1e308 || v < -1e308)
		sw_buf_append(w->b, "null", 4);
	else
		sw_buf_printf(w->b, "%.*f", decimals, v);
}

void sw_jw_bool(sw_jw *w, bool v)
{
	if (jw_value(w))
		sw_buf_append(w->b, v ? "true" : "false", v ? 4 : 5);
}

void sw_jw_null(sw_jw *w)
{
	if (jw_value(w))
		sw_buf_append(w->b, "null", 4);
}

void sw_jw_raw(sw_jw *w, const char *json)
{
	if (!jw_value(w))
		return;
	if (json && *json)
		sw_buf_append(w->b, json, strlen(json));
	else
		sw_buf_append(w->b, "null", 4);
}

void sw_jw_kstr(sw_jw *w, const char *k, const char *s) { sw_jw_key(w, k); sw_jw_str(w, s); }
void sw_jw_kint(sw_jw *w, const char *k, long long v) { sw_jw_key(w, k); sw_jw_int(w, v); }
void sw_jw_kuint(sw_jw *w, const char *k, unsigned long long v) { sw_jw_key(w, k); sw_jw_uint(w, v); }
void sw_jw_kbool(sw_jw *w, const char *k, bool v) { sw_jw_key(w, k); sw_jw_bool(w, v); }
void sw_jw_kraw(sw_jw *w, const char *k, const char *json) { sw_jw_key(w, k); sw_jw_raw(w, json); }
void sw_jw_kobj(sw_jw *w, const char *k) { sw_jw_key(w, k); sw_jw_obj(w); }
void sw_jw_karr(sw_jw *w, const char *k) { sw_jw_key(w, k); sw_jw_arr(w); }

void sw_jw_resume(sw_jw *w, bool members)
{
	w->depth = 1;
	w->obj = 1;
	w->more = members ? 1 : 0;
	w->keyed = false;
	w->top = true;
}

int sw_jw_done(const sw_jw *w)
{
	if (w->b->err)
		return w->b->err;
	return w->depth || w->keyed || !w->top ? SW_EINVAL : 0;
}

/* ---- the same writer for front-ends (stowaway/json.h) ---- */

struct sw_json_out {
	sw_buf b;
	sw_jw w;
};

sw_json_out *sw_json_out_new(void)
{
	sw_json_out *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->b = (sw_buf)SW_BUF_INIT((size_t)1 << 30);
	o->w = (sw_jw)SW_JW_INIT(&o->b);
	return o;
}

void sw_json_out_obj(sw_json_out *o) { if (o) sw_jw_obj(&o->w); }
void sw_json_out_arr(sw_json_out *o) { if (o) sw_jw_arr(&o->w); }
void sw_json_out_end(sw_json_out *o) { if (o) sw_jw_end(&o->w); }
void sw_json_out_key(sw_json_out *o, const char *key) { if (o) sw_jw_key(&o->w, key); }
void sw_json_out_str(sw_json_out *o, const char *s) { if (o) sw_jw_str(&o->w, s); }
void sw_json_out_int(sw_json_out *o, long long v) { if (o) sw_jw_int(&o->w, v); }
void sw_json_out_bool(sw_json_out *o, bool v) { if (o) sw_jw_bool(&o->w, v); }

int sw_json_out_finish(sw_json_out *o, FILE *f, sw_error *err)
{
	int rc;

	if (!o)
		return sw_error_set(err, SW_ENOMEM, "out of memory writing JSON");
	if ((rc = sw_jw_done(&o->w)) == 0)
		rc = sw_buf_putc(&o->b, '\n');
	if (rc < 0)
		rc = sw_error_set(err, rc, rc == SW_EINVAL ? "the JSON output was not well formed (a bug: please report it)" :
				  rc == SW_ELIMIT ? "the JSON output is larger than 1 GiB" : "out of memory writing JSON");
	else if (fwrite(o->b.data, 1, o->b.len, f) != o->b.len || fflush(f) != 0)
		rc = sw_error_set(err, SW_EIO, "writing the JSON output failed");
	sw_buf_release(&o->b);
	free(o);
	return rc;
}
