/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exhaustive tests for the JSON string writer (sw_jsonw_str, sw_jsonw_strn
 * in src/lib/util/json.c); tests/unit/test_json.c has its hand-picked
 * cases. Here the writer is compared byte for byte with a reference
 * encoder written from RFC 8259 and RFC 3629 in this file: every byte
 * value alone and between letters, every two-byte sequence, every
 * three-byte sequence under the leads where UTF-8 has its edges, the
 * four-byte edges, and 20,000 generated strings. Each output must also
 * parse back, with the library's strict reader, to the input with every
 * byte that is not valid UTF-8 replaced by U+FFFD (so a NUL or any other
 * representable byte comes back as itself).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/lib/util/util.h"
#include "stowaway/json.h"
#include "../../src/lib/util/banned.h"

/* ---- the reference ---- */

/* The length of the valid UTF-8 sequence at p (RFC 3629 section 4), or 0. */
static size_t ref_utf8(const uint8_t *p, size_t n)
{
	uint8_t lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;   /* no surrogates */
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;   /* nothing past U+10FFFF */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* What the writer must produce, and what reading it back must give. */
static void reference(const uint8_t *in, size_t n, sw_buf *json, sw_buf *back)
{
	size_t i = 0, u;

	json->len = back->len = 0;
	sw_buf_putc(json, '"');
	while (i < n) {
		uint8_t c = in[i];
		if (c >= 0x80) {
			if ((u = ref_utf8(in + i, n - i))) {
				sw_buf_append(json, in + i, u);
				sw_buf_append(back, in + i, u);
				i += u;
			} else {
				sw_buf_append(json, "\\ufffd", 6);
				sw_buf_append(back, "\xef\xbf\xbd", 3);
				i++;
			}
			continue;
		}
		if (c == '"' || c == '\\')
			sw_buf_printf(json, "\\%c", c);
		else if (c == '\n')
			sw_buf_append(json, "\\n", 2);
		else if (c == '\t')
			sw_buf_append(json, "\\t", 2);
		else if (c == '\r')
			sw_buf_append(json, "\\r", 2);
		else if (c < 0x20)
			sw_buf_printf(json, "\\u%04x", c);
		else
			sw_buf_putc(json, (char)c);
		sw_buf_putc(back, (char)c);
		i++;
	}
	sw_buf_putc(json, '"');
}

/* ---- checking one input ---- */

typedef struct {
	sw_buf got, want, back;
	size_t checked;
} checker;

static void check(checker *k, const void *in, size_t n)
{
	sw_json_doc *d = NULL;
	sw_error err = SW_ERROR_INIT;
	const sw_json *r;
	size_t i;

	k->got.len = 0;
	assert_int_equal(sw_jsonw_strn(&k->got, in, n), 0);
	reference(in, n, &k->want, &k->back);
	if (k->got.len != k->want.len || memcmp(k->got.data, k->want.data, k->got.len) != 0) {
		char hex[200];
		size_t o = 0;
		for (i = 0; i < n && o + 4 < sizeof(hex); i++)
			o += (size_t)snprintf(hex + o, sizeof(hex) - o, "%02x ", ((const uint8_t *)in)[i]);
		fail_msg("input %s: wrote %.*s, want %.*s", hex, (int)k->got.len, k->got.data, (int)k->want.len,
			 k->want.data);
	}
	/* no raw control byte ever reaches the document */
	for (i = 0; i < k->got.len; i++)
		assert_true((uint8_t)k->got.data[i] >= 0x20);
	if (sw_json_parse(k->got.data, k->got.len, &d, &err) != 0)
		fail_msg("output %.*s does not parse: %s", (int)k->got.len, k->got.data, err.msg);
	r = sw_json_root(d);
	assert_int_equal(r->type, SW_JSON_STR);
	assert_int_equal(r->slen, k->back.len);
	if (r->slen)
		assert_memory_equal(r->s, k->back.data, r->slen);
	sw_json_free(d);
	k->checked++;
}

static void checker_init(checker *k)
{
	memset(k, 0, sizeof(*k));
	k->got = (sw_buf)SW_BUF_INIT(1u << 20);
	k->want = (sw_buf)SW_BUF_INIT(1u << 20);
	k->back = (sw_buf)SW_BUF_INIT(1u << 20);
}

static void checker_release(checker *k)
{
	sw_buf_release(&k->got);
	sw_buf_release(&k->want);
	sw_buf_release(&k->back);
}

/* ---- the tests ---- */

/* The reference itself, on values everyone agrees on. */
static void test_reference(void **state)
{
	static const struct {
		const char *in;
		size_t n;
		const char *json;
	} cs[] = {
		{ "a\"b\\c", 5, "\"a\\\"b\\\\c\"" },
		{ "\n\t\r\b\f\x01\x1f\x7f", 8, "\"\\n\\t\\r\\u0008\\u000c\\u0001\\u001f\x7f\"" },
		{ "\0", 1, "\"\\u0000\"" },
		{ "/", 1, "\"/\"" },
		{ "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"" },
		{ "\xc0\xaf", 2, "\"\\ufffd\\ufffd\"" },
		{ "\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"" },
		{ "\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
		{ "\xe2\x82" "A", 3, "\"\\ufffd\\ufffdA\"" },
	};
	sw_buf j = SW_BUF_INIT(4096), b = SW_BUF_INIT(4096);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		reference((const uint8_t *)cs[i].in, cs[i].n, &j, &b);
		assert_string_equal(sw_buf_cstr(&j), cs[i].json);
	}
	sw_buf_release(&j);
	sw_buf_release(&b);
}

static void test_every_byte(void **state)
{
	checker k;
	uint8_t s[3];
	unsigned c;

	(void)state;
	checker_init(&k);
	check(&k, "", 0);
	for (c = 0; c < 256; c++) {
		s[0] = (uint8_t)c;
		check(&k, s, 1);
		s[0] = 'a';
		s[1] = (uint8_t)c;
		s[2] = 'b';
		check(&k, s, 3);
	}
	assert_int_equal(k.checked, 513);
	checker_release(&k);
}

static void test_every_pair(void **state)
{
	checker k;
	uint8_t s[2];
	unsigned a, b;

	(void)state;
	checker_init(&k);
	for (a = 0; a < 256; a++)
		for (b = 0; b < 256; b++) {
			s[0] = (uint8_t)a;
			s[1] = (uint8_t)b;
			check(&k, s, 2);
		}
	assert_int_equal(k.checked, 65536);
	checker_release(&k);
}

/* Three-byte sequences under every lead with an edge (E0: overlongs,
 * ED: surrogates, EF: U+FFFF and the noncharacters) and the ordinary
 * E1; four-byte sequences under F0 (overlongs) and F4 (past U+10FFFF),
 * with every second byte and the edges of the last two, and leads F5-FF. */
static void test_sequences(void **state)
{
	static const uint8_t leads3[] = { 0xe0, 0xe1, 0xed, 0xef };
	static const uint8_t leads4[] = { 0xf0, 0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xfc, 0xff };
	static const uint8_t edges[] = { 0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff };
	checker k;
	uint8_t s[5];
	size_t l, b, c, d;

	(void)state;
	checker_init(&k);
	for (l = 0; l < sizeof(leads3); l++)
		for (b = 0; b < 256; b++)
			for (c = 0; c < 256; c++) {
				s[0] = leads3[l];
				s[1] = (uint8_t)b;
				s[2] = (uint8_t)c;
				check(&k, s, 3);
			}
	for (l = 0; l < sizeof(leads4); l++)
		for (b = 0; b < 256; b++)
			for (c = 0; c < sizeof(edges); c++)
				for (d = 0; d < sizeof(edges); d++) {
					s[0] = leads4[l];
					s[1] = (uint8_t)b;
					s[2] = edges[c];
					s[3] = edges[d];
					s[4] = 'z';
					check(&k, s, 4);
					check(&k, s, 5);
				}
	assert_int_equal(k.checked, 4 * 65536 + 8 * 256 * 11 * 11 * 2);
	checker_release(&k);
}

/* The edges of valid UTF-8, written out: they pass through unchanged. */
static void test_valid_edges(void **state)
{
	static const char *const valid[] = {
		"\xc2\x80",             /* U+0080 */
		"\xdf\xbf",             /* U+07FF */
		"\xe0\xa0\x80",         /* U+0800 */
		"\xed\x9f\xbf",         /* U+D7FF, below the surrogates */
		"\xee\x80\x80",         /* U+E000, above them */
		"\xef\xbf\xbe",         /* U+FFFE, a noncharacter, still UTF-8 */
		"\xef\xbf\xbf",         /* U+FFFF */
		"\xef\xbb\xbf",         /* U+FEFF, a byte-order mark */
		"\xe2\x80\xa8\xe2\x80\xa9", /* U+2028, U+2029: valid in JSON */
		"\xf0\x90\x80\x80",     /* U+10000 */
		"\xf4\x8f\xbf\xbf",     /* U+10FFFF */
	};
	sw_buf b = SW_BUF_INIT(4096);
	char want[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		b.len = 0;
		assert_int_equal(sw_jsonw_str(&b, valid[i]), 0);
		snprintf(want, sizeof(want), "\"%s\"", valid[i]);
		assert_string_equal(sw_buf_cstr(&b), want);
	}
	sw_buf_release(&b);
}

/* Strings built from pieces that meet at every kind of edge: ASCII,
 * escapes, NUL, valid sequences, invalid ones, lone and cut sequences. */
static void test_generated(void **state)
{
	static const char *const pieces[] = {
		"a", "Z", " ", "\"", "\\", "/", "\n", "\r", "\t", "\b", "\f", "\x01", "\x1f", "\x7f",
		"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf",
		"\xc0", "\xc1\xbf", "\xe0\x80", "\xed\xa0\x80", "\xf4\x90", "\xf8", "\xff", "\x80", "\xbf",
		"\xe2\x82", "\xf0\x9f\x98", "\xc2",
	};
	const size_t np = sizeof(pieces) / sizeof(pieces[0]);
	checker k;
	uint8_t s[256];
	uint32_t x = 2463534242u;
	size_t t;

	(void)state;
	checker_init(&k);
	for (t = 0; t < 20000; t++) {
		size_t n = 0, want;
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		want = x % 40;
		while (n < want) {
			const char *p;
			size_t pl;
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			if (x % 7 == 0) {
				s[n++] = (uint8_t)(x >> 8);   /* a byte of any value, NUL included */
				continue;
			}
			p = pieces[(x >> 3) % np];
			pl = strlen(p) ? strlen(p) : 1;
			if (n + pl > sizeof(s))
				break;
			memcpy(s + n, p, pl);
			n += pl;
		}
		check(&k, s, n);
	}
	assert_int_equal(k.checked, 20000);
	checker_release(&k);
}

/* NUL: sw_jsonw_strn writes it, sw_jsonw_str stops at it; both append. */
static void test_nul_and_append(void **state)
{
	sw_buf b = SW_BUF_INIT(4096);
	sw_json_doc *d = NULL;
	sw_error err = SW_ERROR_INIT;

	(void)state;
	assert_int_equal(sw_jsonw_strn(&b, "a\0b\0", 4), 0);
	assert_string_equal(sw_buf_cstr(&b), "\"a\\u0000b\\u0000\"");
	assert_int_equal(sw_json_parse(b.data, b.len, &d, &err), 0);
	assert_int_equal(sw_json_root(d)->slen, 4);
	assert_memory_equal(sw_json_root(d)->s, "a\0b\0", 4);
	sw_json_free(d);
	b.len = 0;
	assert_int_equal(sw_jsonw_str(&b, "a\0b"), 0);
	assert_string_equal(sw_buf_cstr(&b), "\"a\"");
	/* what is already in the buffer stays */
	b.len = 0;
	sw_buf_putc(&b, '[');
	assert_int_equal(sw_jsonw_str(&b, "x"), 0);
	sw_buf_putc(&b, ',');
	assert_int_equal(sw_jsonw_str(&b, NULL), 0);
	sw_buf_putc(&b, ']');
	assert_string_equal(sw_buf_cstr(&b), "[\"x\",null]");
	sw_buf_release(&b);
	/* an escape counts whole against the buffer's bound: "\u0001" is 8 bytes */
	b = (sw_buf)SW_BUF_INIT(8);
	assert_int_equal(sw_jsonw_strn(&b, "\x01", 1), 0);
	assert_string_equal(sw_buf_cstr(&b), "\"\\u0001\"");
	sw_buf_release(&b);
	b = (sw_buf)SW_BUF_INIT(7);
	assert_int_equal(sw_jsonw_strn(&b, "\x01", 1), SW_ELIMIT);
	sw_buf_release(&b);
}

/* ---- the structure writer (sw_jw_*) ---- */

/* Commas, nesting, keys and every value kind; the result parses. */
static void test_structure(void **state)
{
	sw_buf b = SW_BUF_INIT(4096);
	sw_jw w = SW_JW_INIT(&b);
	sw_json_doc *d = NULL;
	sw_error err = SW_ERROR_INIT;

	(void)state;
	sw_jw_obj(&w);
	sw_jw_kstr(&w, "a", "x\xff");
	sw_jw_karr(&w, "l");
	sw_jw_int(&w, -3);
	sw_jw_uint(&w, 18446744073709551615ull);
	sw_jw_obj(&w);
	sw_jw_end(&w);
	sw_jw_arr(&w);
	sw_jw_end(&w);
	sw_jw_null(&w);
	sw_jw_str(&w, NULL);
	sw_jw_real(&w, 0.5, 1);
	sw_jw_real(&w, 1.0 / 0.0, 3);
	sw_jw_end(&w);
	sw_jw_kbool(&w, "t", true);
	sw_jw_kraw(&w, "r", "{\"k\":[1,2]}");
	sw_jw_kraw(&w, "n", NULL);
	sw_jw_kobj(&w, "\x1b[31m");
	sw_jw_kint(&w, "z", 0);
	sw_jw_end(&w);
	sw_jw_end(&w);
	assert_int_equal(sw_jw_done(&w), 0);
	assert_string_equal(sw_buf_cstr(&b),
		"{\"a\":\"x\\ufffd\",\"l\":[-3,18446744073709551615,{},[],null,null,0.5,null],"
		"\"t\":true,\"r\":{\"k\":[1,2]},\"n\":null,\"\\u001b[31m\":{\"z\":0}}");
	assert_int_equal(sw_json_parse(b.data, b.len, &d, &err), 0);
	sw_json_free(d);
	sw_buf_release(&b);
}

/* Each misuse leaves SW_EINVAL in the buffer, and nothing after it is
 * written. */
static void test_misuse(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 8; i++) {
		sw_buf b = SW_BUF_INIT(4096);
		sw_jw w = SW_JW_INIT(&b);
		size_t len;

		switch (i) {
		case 0: sw_jw_obj(&w); sw_jw_str(&w, "value without key"); break;
		case 1: sw_jw_arr(&w); sw_jw_key(&w, "key in array"); break;
		case 2: sw_jw_end(&w); break;
		case 3: sw_jw_obj(&w); sw_jw_key(&w, "k"); sw_jw_end(&w); break;
		case 4: sw_jw_obj(&w); sw_jw_key(&w, "k"); sw_jw_key(&w, "k2"); break;
		case 5: sw_jw_int(&w, 1); sw_jw_int(&w, 2); break;
		case 6: for (int k = 0; k <= SW_JW_MAX_DEPTH; k++) sw_jw_arr(&w); break;
		case 7: sw_jw_obj(&w); sw_jw_key(&w, NULL); break;
		}
		assert_int_equal(sw_jw_done(&w), SW_EINVAL);
		len = b.len;
		sw_jw_arr(&w);
		sw_jw_end(&w);
		assert_int_equal(b.len, len);
		sw_buf_release(&b);
	}
}

/* Unclosed, or nothing written: not a document. A full buffer's own error
 * is what done reports. */
static void test_done(void **state)
{
	sw_buf b = SW_BUF_INIT(4096);
	sw_jw w = SW_JW_INIT(&b);

	(void)state;
	assert_int_equal(sw_jw_done(&w), SW_EINVAL);
	sw_jw_arr(&w);
	assert_int_equal(sw_jw_done(&w), SW_EINVAL);
	sw_jw_end(&w);
	assert_int_equal(sw_jw_done(&w), 0);
	sw_buf_release(&b);
	b = (sw_buf)SW_BUF_INIT(4);
	w = (sw_jw)SW_JW_INIT(&b);
	sw_jw_arr(&w);
	sw_jw_str(&w, "longer than four");
	sw_jw_end(&w);
	assert_int_equal(sw_jw_done(&w), SW_ELIMIT);
	sw_buf_release(&b);
}

/* The front-ends' document: written whole, or not at all on a misuse. */
static void test_out(void **state)
{
	char got[256] = "";
	sw_error err = SW_ERROR_INIT;
	sw_json_out *o = sw_json_out_new();
	FILE *f = tmpfile();

	(void)state;
	assert_non_null(f);
	sw_json_out_obj(o);
	sw_json_out_key(o, "a");
	sw_json_out_arr(o);
	sw_json_out_str(o, "\x1b]8;;\xc0");
	sw_json_out_int(o, -1);
	sw_json_out_bool(o, false);
	sw_json_out_str(o, NULL);
	sw_json_out_end(o);
	sw_json_out_end(o);
	assert_int_equal(sw_json_out_finish(o, f, &err), 0);
	rewind(f);
	assert_non_null(fgets(got, sizeof(got), f));
	assert_string_equal(got, "{\"a\":[\"\\u001b]8;;\\ufffd\",-1,false,null]}\n");
	fclose(f);

	f = tmpfile();
	o = sw_json_out_new();
	sw_json_out_obj(o);
	sw_json_out_str(o, "no key");
	assert_int_equal(sw_json_out_finish(o, f, &err), SW_EINVAL);
	assert_int_equal(ftell(f), 0);
	assert_int_equal(sw_json_out_finish(NULL, f, &err), SW_ENOMEM);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_every_pair),
		cmocka_unit_test(test_sequences),
		cmocka_unit_test(test_valid_edges),
		cmocka_unit_test(test_generated),
		cmocka_unit_test(test_nul_and_append),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_misuse),
		cmocka_unit_test(test_done),
		cmocka_unit_test(test_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
