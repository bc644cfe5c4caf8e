/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the bounded JSON reader and the JSON string writer
 * (src/lib/util/json.c). The reader sees attacker-controlled manifests, so
 * most cases here are hostile: every malformed escape, invalid UTF-8, the
 * exact nesting boundary, duplicate names (also in large objects, where the
 * check sorts), and integers at the edges of int64. The writer is checked
 * byte for byte and by parsing its output back.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/lib/util/util.h"
#include "../../src/lib/util/banned.h"

#define assert_has(hay, needle) do { \
	if (!strstr((hay), (needle))) \
		fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle)); \
} while (0)

typedef struct {
	const char *doc;
	size_t len;        /* 0: strlen(doc) */
	int code;
	const char *msg;   /* substring of sw_error.msg */
} bad_case;

static sw_json_doc *parse_ok(const char *s, size_t len)
{
	sw_error err = SW_ERROR_INIT;
	sw_json_doc *d = NULL;
	int rc = sw_json_parse(s, len, &d, &err);

	if (rc != 0)
		fail_msg("parse of \"%s\" failed: %d %s", s, rc, err.msg);
	assert_non_null(d);
	return d;
}

static void expect_bad(const bad_case *c, size_t i)
{
	sw_error err = SW_ERROR_INIT;
	char dummy;
	sw_json_doc *d = (sw_json_doc *)&dummy;
	size_t len = c->len ? c->len : strlen(c->doc);
	int rc = sw_json_parse(c->doc, len, &d, &err);

	if (rc != c->code)
		fail_msg("case %zu: rc %d, want %d (msg \"%s\")", i, rc, c->code, err.msg);
	assert_null(d);
	assert_int_equal(err.code, c->code);
	if (!strstr(err.msg, c->msg))
		fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err.msg, c->msg);
}

static void expect_bad_all(const bad_case *cs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		expect_bad(&cs[i], i);
}

static void test_scalars(void **state)
{
	sw_json_doc *d;
	const sw_json *r;

	(void)state;
	d = parse_ok(" \t\r\nnull \n", 10);
	assert_int_equal(sw_json_root(d)->type, SW_JSON_NULL);
	sw_json_free(d);
	d = parse_ok("true", 4);
	r = sw_json_root(d);
	assert_int_equal(r->type, SW_JSON_BOOL);
	assert_true(r->b);
	sw_json_free(d);
	d = parse_ok("false", 5);
	r = sw_json_root(d);
	assert_int_equal(r->type, SW_JSON_BOOL);
	assert_false(r->b);
	sw_json_free(d);
	d = parse_ok("\"hi\"", 4);
	r = sw_json_root(d);
	assert_int_equal(r->type, SW_JSON_STR);
	assert_string_equal(r->s, "hi");
	assert_int_equal(r->slen, 2);
	sw_json_free(d);
	assert_null(sw_json_root(NULL));
	sw_json_free(NULL);
}

static void check_num(const char *s, bool is_int, int64_t i, double dv)
{
	sw_json_doc *d = parse_ok(s, strlen(s));
	const sw_json *r = sw_json_root(d);

	assert_int_equal(r->type, SW_JSON_NUM);
	if (r->is_int != is_int)
		fail_msg("\"%s\": is_int %d, want %d", s, r->is_int, is_int);
	if (is_int && r->i != i)
		fail_msg("\"%s\": i %lld, want %lld", s, (long long)r->i, (long long)i);
	if (fabs(r->d - dv) > fabs(dv) * 1e-12)
		fail_msg("\"%s\": d %g, want %g", s, r->d, dv);
	sw_json_free(d);
}

static void test_numbers(void **state)
{
	(void)state;
	check_num("0", true, 0, 0);
	check_num("-0", true, 0, 0);
	check_num("123", true, 123, 123);
	check_num("-45", true, -45, -45);
	check_num("1.5", false, 0, 1.5);
	check_num("-1.5e+3", false, 0, -1500);
	check_num("1E2", false, 0, 100);
	check_num("1e-2", false, 0, 0.01);
	check_num("1.0", false, 0, 1.0);
	check_num("9223372036854775807", true, INT64_MAX, 9223372036854775807.0);
	check_num("-9223372036854775808", true, INT64_MIN, -9223372036854775808.0);
	/* one past either end: still a number, but not an int64 */
	check_num("9223372036854775808", false, 0, 9223372036854775808.0);
	check_num("-9223372036854775809", false, 0, -9223372036854775809.0);
	check_num("100000000000000000000", false, 0, 1e20);
}

/* A number longer than the parser's scratch buffer must keep its magnitude:
 * the code comment promises that only precision is lost. */
static double long_number(const char *head, size_t zeros, const char *tail)
{
	sw_buf b = SW_BUF_INIT(4096);
	sw_json_doc *d;
	double v;
	size_t i;

	assert_int_equal(sw_buf_printf(&b, "%s", head), 0);
	for (i = 0; i < zeros; i++)
		assert_int_equal(sw_buf_putc(&b, '0'), 0);
	assert_int_equal(sw_buf_printf(&b, "%s", tail), 0);
	d = parse_ok(b.data, b.len);
	assert_false(sw_json_root(d)->is_int);
	v = sw_json_root(d)->d;
	sw_json_free(d);
	sw_buf_release(&b);
	return v;
}

static void test_long_number_magnitude(void **state)
{
	double big, expo;

	(void)state;
	big = long_number("1", 70, "");       /* 1e70 in 71 digits */
	expo = long_number("1.", 70, "e300");  /* 1e300 with a long fraction */
	if (big < 0.99e70 || big > 1.01e70 || expo < 0.99e300 || expo > 1.01e300)
		fail_msg("1e70 in 71 digits parsed as %g; 1.(70 zeros)e300 parsed as %g",
			 big, expo);
}

static void test_containers(void **state)
{
	static const char doc[] =
		"{\"a\": 1, \"b\": \"x\", \"c\": [1, \"two\", null, [], {}],"
		" \"d\": {\"e\": null, \"f\": -7}, \"g\": null, \"h\": 1.5,"
		" \"i\": true, \"big\": 9223372036854775808}";
	sw_json_doc *d = parse_ok(doc, strlen(doc));
	const sw_json *r = sw_json_root(d), *c, *x;
	int64_t v = 42;

	(void)state;
	assert_int_equal(r->type, SW_JSON_OBJ);
	assert_int_equal(r->n, 8);
	assert_string_equal(r->child->key, "a");
	assert_string_equal(r->child->next->key, "b");
	assert_non_null(sw_json_get(r, "a"));
	assert_string_equal(sw_json_get_str(r, "b"), "x");
	assert_null(sw_json_get_str(r, "a"));          /* wrong type */
	assert_null(sw_json_get(r, "g"));              /* null counts as absent */
	assert_null(sw_json_get(r, "nope"));
	c = sw_json_get_arr(r, "c");
	assert_non_null(c);
	assert_int_equal(c->n, 5);
	assert_int_equal(c->child->type, SW_JSON_NUM);
	assert_null(c->child->key);
	x = c->child->next;
	assert_string_equal(x->s, "two");
	assert_int_equal(x->next->type, SW_JSON_NULL);
	assert_int_equal(x->next->next->type, SW_JSON_ARR);
	assert_int_equal(x->next->next->n, 0);
	assert_int_equal(x->next->next->next->type, SW_JSON_OBJ);
	assert_null(x->next->next->next->next);
	assert_null(sw_json_get_obj(r, "c"));
	assert_null(sw_json_get(c, "a"));              /* not an object */
	assert_null(sw_json_get(NULL, "a"));
	x = sw_json_get_obj(r, "d");
	assert_non_null(x);
	assert_int_equal(sw_json_get_i64(x, "f", &v), 0);
	assert_int_equal(v, -7);
	assert_int_equal(sw_json_get_i64(r, "a", &v), 0);
	assert_int_equal(v, 1);
	v = 42;
	assert_int_equal(sw_json_get_i64(r, "h", &v), SW_EFORMAT);   /* fraction */
	assert_int_equal(sw_json_get_i64(r, "b", &v), SW_EFORMAT);   /* string */
	assert_int_equal(sw_json_get_i64(r, "g", &v), SW_EFORMAT);   /* null */
	assert_int_equal(sw_json_get_i64(r, "nope", &v), SW_EFORMAT);
	assert_int_equal(sw_json_get_i64(r, "big", &v), SW_EFORMAT); /* > INT64_MAX */
	assert_int_equal(v, 42);
	assert_true(sw_json_get(r, "i")->b);
	sw_json_free(d);
}

static void test_escapes(void **state)
{
	static const char doc[] = "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u00E9"
		"\\u20ac\\ud83d\\ude00\\uDBFF\\uDFFF\"";
	static const char want[] = "\"\\/\b\f\n\r\tA\xc3\xa9\xc3\xa9\xe2\x82\xac"
		"\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf";
	sw_json_doc *d = parse_ok(doc, strlen(doc));
	const sw_json *r = sw_json_root(d);

	(void)state;
	assert_int_equal(r->slen, sizeof(want) - 1);
	assert_memory_equal(r->s, want, sizeof(want));
	sw_json_free(d);
	/* \u0000 is allowed in values: slen counts it */
	d = parse_ok("\"a\\u0000b\"", 10);
	r = sw_json_root(d);
	assert_int_equal(r->slen, 3);
	assert_memory_equal(r->s, "a\0b", 4);
	sw_json_free(d);
}

static void test_bad_escapes(void **state)
{
	static const bad_case cs[] = {
		{ "\"\\x\"", 0, SW_EFORMAT, "bad escape" },
		{ "\"\\U0041\"", 0, SW_EFORMAT, "bad escape" },
		{ "\"\\'\"", 0, SW_EFORMAT, "bad escape" },
		{ "\"\\u12\"", 0, SW_EFORMAT, "\\u escape" },
		{ "\"\\u12zz\"", 0, SW_EFORMAT, "bad \\u escape" },
		{ "\"\\u-123\"", 0, SW_EFORMAT, "bad \\u escape" },
		{ "\"\\ud800\"", 0, SW_EFORMAT, "lone high surrogate" },
		{ "\"\\ud800x\"", 0, SW_EFORMAT, "lone high surrogate" },
		{ "\"\\ud800\\n\"", 0, SW_EFORMAT, "lone high surrogate" },
		{ "\"\\udbff\\ud800\"", 0, SW_EFORMAT, "bad surrogate pair" },
		{ "\"\\ud800\\u0041\"", 0, SW_EFORMAT, "bad surrogate pair" },
		{ "\"\\ud800\\uzzzz\"", 0, SW_EFORMAT, "bad \\u escape" },
		{ "\"\\udc00\"", 0, SW_EFORMAT, "lone low surrogate" },
		{ "\"\\udfff\\udc00\"", 0, SW_EFORMAT, "lone low surrogate" },
		{ "\"\\", 0, SW_EFORMAT, "unterminated string" },
		{ "\"abc", 0, SW_EFORMAT, "unterminated string" },
		{ "\"abc\\\"", 0, SW_EFORMAT, "unterminated string" },
		{ "{\"a\\u0000b\":1}", 0, SW_EFORMAT, "NUL in member name" },
	};

	(void)state;
	expect_bad_all(cs, sizeof(cs) / sizeof(cs[0]));
}

static void test_utf8(void **state)
{
	static const char *const good[] = {
		"\"\xc3\xa9\"", "\"\xe2\x82\xac\"", "\"\xf0\x9f\x98\x80\"",
		"\"\xf4\x8f\xbf\xbf\"", "\"\xc2\x80\"", "\"\xef\xbf\xbf\"", "\"\x7f\"",
	};
	static const bad_case cs[] = {
		{ "\"\xff\"", 0, SW_EFORMAT, "invalid UTF-8 in string" },
		{ "\"\x80\"", 0, SW_EFORMAT, "invalid UTF-8" },          /* lone continuation */
		{ "\"\xc0\xaf\"", 0, SW_EFORMAT, "invalid UTF-8" },      /* overlong '/' */
		{ "\"\xc1\xbf\"", 0, SW_EFORMAT, "invalid UTF-8" },
		{ "\"\xe0\x80\xaf\"", 0, SW_EFORMAT, "invalid UTF-8" },  /* overlong, 3 bytes */
		{ "\"\xf0\x80\x80\xaf\"", 0, SW_EFORMAT, "invalid UTF-8" },
		{ "\"\xed\xa0\x80\"", 0, SW_EFORMAT, "invalid UTF-8" },  /* encoded surrogate */
		{ "\"\xf4\x90\x80\x80\"", 0, SW_EFORMAT, "invalid UTF-8" }, /* > U+10FFFF */
		{ "\"\xf5\x80\x80\x80\"", 0, SW_EFORMAT, "invalid UTF-8" },
		{ "\"\xe2\x82\"", 0, SW_EFORMAT, "invalid UTF-8" },      /* cut by the quote */
		{ "\"\xc3\"", 0, SW_EFORMAT, "invalid UTF-8" },
		{ "\"\xc3", 0, SW_EFORMAT, "unterminated string" },
		{ "{\"\xff\":1}", 0, SW_EFORMAT, "invalid UTF-8" },      /* in a key too */
		{ "\xef\xbb\xbf{}", 0, SW_EFORMAT, "bad number" },       /* no BOM */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		sw_json_doc *d = parse_ok(good[i], strlen(good[i]));
		assert_int_equal(sw_json_root(d)->slen, strlen(good[i]) - 2);
		assert_memory_equal(sw_json_root(d)->s, good[i] + 1, strlen(good[i]) - 2);
		sw_json_free(d);
	}
	expect_bad_all(cs, sizeof(cs) / sizeof(cs[0]));
}

static void test_control_chars(void **state)
{
	static const bad_case cs[] = {
		{ "\"a\nb\"", 0, SW_EFORMAT, "control character in string" },
		{ "\"\t\"", 0, SW_EFORMAT, "control character" },
		{ "\"\x01\"", 0, SW_EFORMAT, "control character" },
		{ "\"\x1f\"", 0, SW_EFORMAT, "control character" },
		{ "\"a\0b\"", 5, SW_EFORMAT, "control character" },
		{ "{\"k\x02\":1}", 0, SW_EFORMAT, "control character" },
		{ "\"\\\x01\"", 0, SW_EFORMAT, "bad escape" },
		{ "[1,\x0b" "2]", 0, SW_EFORMAT, "bad number" },         /* VT is not whitespace */
		{ "\x0c" "1", 0, SW_EFORMAT, "bad number" },             /* nor is FF */
		{ "1\0", 2, SW_EFORMAT, "trailing data" },
	};

	(void)state;
	expect_bad_all(cs, sizeof(cs) / sizeof(cs[0]));
}

static void test_syntax(void **state)
{
	static const bad_case cs[] = {
		{ "", 0, SW_EFORMAT, "unexpected end" },
		{ " \n\t", 0, SW_EFORMAT, "unexpected end" },
		{ "1 2", 0, SW_EFORMAT, "trailing data at byte 2" },
		{ "{} x", 0, SW_EFORMAT, "trailing data" },
		{ "[]]", 0, SW_EFORMAT, "trailing data" },
		{ "nullx", 0, SW_EFORMAT, "trailing data" },
		{ "\"a\"\"b\"", 0, SW_EFORMAT, "trailing data" },
		{ "01", 0, SW_EFORMAT, "trailing data" },                /* leading zero */
		{ "-01", 0, SW_EFORMAT, "trailing data" },
		{ "00", 0, SW_EFORMAT, "trailing data" },
		{ "[01]", 0, SW_EFORMAT, "expected ',' or ']'" },
		{ "{\"a\":01}", 0, SW_EFORMAT, "expected ',' or '}'" },
		{ "[1,]", 0, SW_EFORMAT, "bad number" },                 /* trailing commas */
		{ "{\"a\":1,}", 0, SW_EFORMAT, "expected member name" },
		{ "[,]", 0, SW_EFORMAT, "bad number" },
		{ "[1,,2]", 0, SW_EFORMAT, "bad number" },
		{ "{,}", 0, SW_EFORMAT, "expected member name" },
		{ "[1 2]", 0, SW_EFORMAT, "expected ',' or ']'" },
		{ "[", 0, SW_EFORMAT, "unexpected end" },
		{ "[1", 0, SW_EFORMAT, "expected ',' or ']'" },
		{ "{", 0, SW_EFORMAT, "expected member name" },
		{ "{\"a\"}", 0, SW_EFORMAT, "expected ':'" },
		{ "{\"a\" 1}", 0, SW_EFORMAT, "expected ':'" },
		{ "{\"a\":}", 0, SW_EFORMAT, "bad number" },
		{ "{\"a\":1", 0, SW_EFORMAT, "expected ',' or '}'" },
		{ "{1:2}", 0, SW_EFORMAT, "expected member name" },
		{ "{'a':1}", 0, SW_EFORMAT, "expected member name" },
		{ "tru", 0, SW_EFORMAT, "unexpected token" },
		{ "nul", 0, SW_EFORMAT, "unexpected token" },
		{ "True", 0, SW_EFORMAT, "bad number" },
		{ "NaN", 0, SW_EFORMAT, "bad number" },
		{ "Infinity", 0, SW_EFORMAT, "bad number" },
		{ "-Infinity", 0, SW_EFORMAT, "bad number" },
		{ "+1", 0, SW_EFORMAT, "bad number" },
		{ ".5", 0, SW_EFORMAT, "bad number" },
		{ "-", 0, SW_EFORMAT, "bad number" },
		{ "1.", 0, SW_EFORMAT, "bad fraction" },
		{ "1.e3", 0, SW_EFORMAT, "bad fraction" },
		{ "1e", 0, SW_EFORMAT, "bad exponent" },
		{ "1e+", 0, SW_EFORMAT, "bad exponent" },
		{ "0x10", 0, SW_EFORMAT, "trailing data" },
		{ "'a'", 0, SW_EFORMAT, "bad number" },
		{ "/* c */ 1", 0, SW_EFORMAT, "bad number" },
		{ "1 // c", 0, SW_EFORMAT, "trailing data" },
	};

	(void)state;
	expect_bad_all(cs, sizeof(cs) / sizeof(cs[0]));
}

static void test_duplicate_keys(void **state)
{
	static const bad_case cs[] = {
		{ "{\"a\":1,\"a\":2}", 0, SW_EFORMAT, "duplicate member name" },
		{ "{\"a\":1,\"b\":2,\"a\":null}", 0, SW_EFORMAT, "duplicate member name" },
		{ "{\"x\":{\"a\":1,\"a\":1}}", 0, SW_EFORMAT, "duplicate member name" },
		{ "[{\"a\":1},{\"b\":1,\"b\":2}]", 0, SW_EFORMAT, "duplicate member name" },
		/* the same name spelled two ways decodes to the same key */
		{ "{\"\xc3\xa9\":1,\"\\u00e9\":2}", 0, SW_EFORMAT, "duplicate member name" },
		{ "{\"a/b\":1,\"a\\/b\":2}", 0, SW_EFORMAT, "duplicate member name" },
	};
	sw_json_doc *d;

	(void)state;
	expect_bad_all(cs, sizeof(cs) / sizeof(cs[0]));
	/* same name in sibling objects, and a prefix, are fine */
	d = parse_ok("[{\"a\":1},{\"a\":2,\"ab\":3,\"\":4}]", 29);
	sw_json_free(d);
}

static void big_object(sw_buf *b, size_t n, const char *dup)
{
	size_t i;

	sw_buf_reset(b);
	assert_int_equal(sw_buf_putc(b, '{'), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(sw_buf_printf(b, "%s\"k%zu\":%zu", i ? "," : "", n - i, i), 0);
	if (dup)
		assert_int_equal(sw_buf_printf(b, ",\"%s\":true", dup), 0);
	assert_int_equal(sw_buf_putc(b, '}'), 0);
}

static void test_duplicate_keys_large(void **state)
{
	sw_buf b = SW_BUF_INIT(1 << 20);
	sw_json_doc *d;
	int64_t v;
	bad_case c = { NULL, 0, SW_EFORMAT, "duplicate member name" };

	(void)state;
	big_object(&b, 150, NULL);
	d = parse_ok(b.data, b.len);
	assert_int_equal(sw_json_root(d)->n, 150);
	assert_int_equal(sw_json_get_i64(sw_json_root(d), "k1", &v), 0);
	assert_int_equal(v, 149);
	sw_json_free(d);
	big_object(&b, 150, "k77");
	c.doc = b.data, c.len = b.len;
	expect_bad(&c, 0);
	big_object(&b, 150, "k150"); /* first member, duplicated last */
	c.doc = b.data, c.len = b.len;
	expect_bad(&c, 1);
	big_object(&b, 5000, "k1");
	c.doc = b.data, c.len = b.len;
	expect_bad(&c, 2);
	sw_buf_release(&b);
}

/* `depth` nested containers (alternating arrays and objects) around 1 */
static char *nested(size_t depth, bool objects, size_t *len)
{
	sw_buf b = SW_BUF_INIT(1 << 24);
	size_t i;

	for (i = 0; i < depth; i++)
		assert_int_equal(objects && i % 2 ? sw_buf_append(&b, "{\"k\":", 5) :
				 sw_buf_putc(&b, '['), 0);
	assert_int_equal(sw_buf_putc(&b, '1'), 0);
	for (i = depth; i > 0; i--)
		assert_int_equal(sw_buf_putc(&b, objects && (i - 1) % 2 ? '}' : ']'), 0);
	return sw_buf_detach(&b, len);
}

/* Every value knows its line (a member: its name's), and an error its own:
 * a reader can point at the line of a JSON file a person must change. */
static void test_lines(void **state)
{
	static const char doc[] = "\n{\"a\": 1,\n \"b\":\n  [true,\n   {\"c\": \"x\"}],\r\n\"d\": null}";
	sw_error err = SW_ERROR_INIT;
	sw_json_doc *d = NULL;
	const sw_json *root, *b;

	(void)state;
	assert_int_equal(sw_json_parse(doc, strlen(doc), &d, &err), 0);
	root = sw_json_root(d);
	assert_int_equal(root->line, 2);
	assert_int_equal(root->child->line, 2);                 /* "a" */
	b = root->child->next;
	assert_int_equal(b->line, 3);                           /* "b": its name's line */
	assert_int_equal(b->child->line, 4);                    /* true */
	assert_int_equal(b->child->next->line, 5);              /* {"c": ...} */
	assert_int_equal(b->child->next->child->line, 5);
	assert_int_equal(b->next->line, 6);                     /* "d" after \r\n */
	sw_json_free(d);
	d = NULL;
	assert_int_equal(sw_json_parse("{\n\"a\": 1,\n\n \"b\": x}", 20, &d, &err), SW_EFORMAT);
	assert_int_equal(err.line, 4);
	assert_int_equal(sw_json_parse("{\"a\": 1,\n\"b\": 2,\n\"a\": 3}", 24, &d, &err), SW_EFORMAT);
	assert_int_equal(err.line, 3);                          /* the second "a" */
	assert_non_null(strstr(err.msg, "duplicate member name \"a\""));
}

static void test_depth_limit(void **state)
{
	bad_case c = { NULL, 0, SW_ELIMIT, "nesting deeper than 64" };
	size_t len;
	char *s;
	sw_json_doc *d;
	const sw_json *r;
	size_t i;

	(void)state;
	assert_int_equal(SW_JSON_MAX_DEPTH, 64);
	/* 64 levels of containers parse; the 65th is refused */
	s = nested(SW_JSON_MAX_DEPTH, false, &len);
	d = parse_ok(s, len);
	for (r = sw_json_root(d), i = 1; r->type == SW_JSON_ARR; r = r->child)
		i++;
	assert_int_equal(i, SW_JSON_MAX_DEPTH + 1);
	assert_int_equal(r->i, 1);
	sw_json_free(d);
	free(s);
	s = nested(SW_JSON_MAX_DEPTH + 1, false, &len);
	c.doc = s, c.len = len;
	expect_bad(&c, 0);
	free(s);
	s = nested(SW_JSON_MAX_DEPTH, true, &len);
	sw_json_free(parse_ok(s, len));
	free(s);
	s = nested(SW_JSON_MAX_DEPTH + 1, true, &len);
	c.doc = s, c.len = len;
	expect_bad(&c, 1);
	free(s);
	/* far deeper than any stack would survive without the cap */
	s = nested(1000000, false, &len);
	c.doc = s, c.len = len;
	expect_bad(&c, 2);
	free(s);
}

static void test_writer_escaping(void **state)
{
	sw_buf b = SW_BUF_INIT(1 << 16);

	(void)state;
	assert_int_equal(sw_jsonw_str(&b, "plain"), 0);
	assert_string_equal(sw_buf_cstr(&b), "\"plain\"");
	sw_buf_reset(&b);
	assert_int_equal(sw_jsonw_str(&b, "a\"b\\c\nd\te\rf\x01g\x1f\x08\x0c\x7f/"), 0);
	assert_string_equal(sw_buf_cstr(&b),
			    "\"a\\\"b\\\\c\\nd\\te\\rf\\u0001g\\u001f\\u0008\\u000c\x7f/\"");
	sw_buf_reset(&b);
	assert_int_equal(sw_jsonw_str(&b, NULL), 0);
	assert_string_equal(sw_buf_cstr(&b), "null");
	sw_buf_reset(&b);
	assert_int_equal(sw_jsonw_str(&b, ""), 0);
	assert_string_equal(sw_buf_cstr(&b), "\"\"");
	sw_buf_reset(&b);
	assert_int_equal(sw_jsonw_strn(&b, "a\0b", 3), 0);
	assert_string_equal(sw_buf_cstr(&b), "\"a\\u0000b\"");
	sw_buf_reset(&b);
	/* valid UTF-8 passes through; each invalid byte becomes U+FFFD */
	assert_int_equal(sw_jsonw_str(&b, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), 0);
	assert_string_equal(sw_buf_cstr(&b), "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
	sw_buf_reset(&b);
	assert_int_equal(sw_jsonw_str(&b, "a\xff" "b\xe2\x82" "c\xc0\xaf\xed\xa0\x80"), 0);
	assert_string_equal(sw_buf_cstr(&b), "\"a\\ufffdb\\ufffd\\ufffdc\\ufffd\\ufffd"
			    "\\ufffd\\ufffd\\ufffd\"");
	sw_buf_reset(&b);
	/* a sequence cut by the end of the input, not by the NUL after it */
	assert_int_equal(sw_jsonw_strn(&b, "\xe2\x82\xac", 2), 0);
	assert_string_equal(sw_buf_cstr(&b), "\"\\ufffd\\ufffd\"");
	sw_buf_release(&b);
}

static void roundtrip(const char *in, size_t n, const char *want, size_t wn)
{
	sw_buf b = SW_BUF_INIT(1 << 16);
	sw_json_doc *d;

	assert_int_equal(sw_jsonw_strn(&b, in, n), 0);
	d = parse_ok(b.data, b.len);
	assert_int_equal(sw_json_root(d)->type, SW_JSON_STR);
	assert_int_equal(sw_json_root(d)->slen, wn);
	assert_memory_equal(sw_json_root(d)->s, want, wn);
	sw_json_free(d);
	sw_buf_release(&b);
}

static void test_writer_roundtrip(void **state)
{
	char all[128];
	char one[2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(all); i++)
		all[i] = (char)i;
	roundtrip(all, sizeof(all), all, sizeof(all));
	roundtrip("\xf4\x8f\xbf\xbf\xc2\x80", 6, "\xf4\x8f\xbf\xbf\xc2\x80", 6);
	roundtrip("a\xff" "b", 3, "a\xef\xbf\xbd" "b", 5);
	roundtrip("\xe2\x82", 2, "\xef\xbf\xbd\xef\xbf\xbd", 6);
	/* every single byte produces a document the strict reader accepts */
	for (i = 0x80; i < 0x100; i++) {
		one[0] = (char)i;
		roundtrip(one, 1, "\xef\xbf\xbd", 3);
	}
}

static void test_writer_limit(void **state)
{
	sw_buf b = SW_BUF_INIT(8);

	(void)state;
	assert_int_equal(sw_jsonw_str(&b, "abcdefgh"), SW_ELIMIT);
	sw_buf_reset(&b);
	assert_int_equal(sw_jsonw_str(&b, "abcdef"), 0);
	assert_string_equal(sw_buf_cstr(&b), "\"abcdef\"");
	sw_buf_reset(&b);
	assert_int_equal(sw_jsonw_str(&b, "\x01\x02"), SW_ELIMIT);
	sw_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_long_number_magnitude),
		cmocka_unit_test(test_containers),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_bad_escapes),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_control_chars),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_duplicate_keys_large),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_writer_escaping),
		cmocka_unit_test(test_writer_roundtrip),
		cmocka_unit_test(test_writer_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
