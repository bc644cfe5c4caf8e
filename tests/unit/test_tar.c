/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the push-driven tar parser (src/lib/layer/tar.c).
 *
 * Archives are built here, block by block, so each test shows exactly the
 * bytes it feeds: ustar headers with a computed checksum, PAX and GNU
 * long-name records, base-256 numbers. Every callback is written to a text
 * log, and each archive is fed whole, a byte at a time and in odd chunk
 * sizes: the parser must produce the same log however its input is cut,
 * because a decompressor hands it arbitrary pieces.
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

#include "../../src/lib/layer/tar.h"
#include "../../src/lib/util/banned.h"

#define BIG (1u << 26)

/* ---- building archives ---- */

typedef struct {
	const char *name, *link, *prefix;
	char type;
	uint64_t size;     /* what the header says; data is passed separately */
	uint32_t mode;
	uint64_t uid, gid;
	bool gnu;          /* GNU "ustar  " magic instead of POSIX "ustar\0" */
	bool b256;         /* size in GNU base-256 */
} hspec;

static void put_str(uint8_t *f, size_t w, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	assert_true(n <= w);
	if (n)
		memcpy(f, s, n);
}

static void put_oct(uint8_t *f, size_t w, uint64_t v)
{
	char tmp[32];

	assert_true(snprintf(tmp, sizeof(tmp), "%0*llo", (int)(w - 1),
			     (unsigned long long)v) == (int)(w - 1));
	memcpy(f, tmp, w); /* w - 1 digits and the NUL */
}

static void put_b256(uint8_t *f, size_t w, uint64_t v)
{
	size_t i;

	memset(f, 0, w);
	for (i = w; i > 1 && v; i--, v >>= 8)
		f[i - 1] = (uint8_t)(v & 0xff);
	f[0] = 0x80;
}

static void set_checksum(uint8_t *blk)
{
	unsigned sum = 0;
	size_t i;
	char tmp[8];

	memset(blk + 148, ' ', 8);
	for (i = 0; i < SW_TAR_BLOCK; i++)
		sum += blk[i];
	snprintf(tmp, sizeof(tmp), "%06o", sum);
	memcpy(blk + 148, tmp, 7); /* six digits, NUL; the space stays */
}

static void make_header(uint8_t *blk, const hspec *h)
{
	memset(blk, 0, SW_TAR_BLOCK);
	put_str(blk, 100, h->name);
	put_oct(blk + 100, 8, h->mode);
	put_oct(blk + 108, 8, h->uid);
	put_oct(blk + 116, 8, h->gid);
	if (h->b256)
		put_b256(blk + 124, 12, h->size);
	else
		put_oct(blk + 124, 12, h->size);
	put_oct(blk + 136, 12, 1700000000);
	blk[156] = (uint8_t)h->type;
	put_str(blk + 157, 100, h->link);
	memcpy(blk + 257, h->gnu ? "ustar  \0" : "ustar\0" "00", 8);
	put_str(blk + 345, 155, h->prefix);
	set_checksum(blk);
}

static void tb_pad(sw_buf *t)
{
	static const uint8_t zero[SW_TAR_BLOCK];

	if (t->len % SW_TAR_BLOCK)
		assert_int_equal(sw_buf_append(t, zero, SW_TAR_BLOCK - t->len % SW_TAR_BLOCK), 0);
}

/* A header, then n bytes of data padded to a block. */
static void tb_entry(sw_buf *t, const hspec *h, const void *data, size_t n)
{
	uint8_t blk[SW_TAR_BLOCK];

	make_header(blk, h);
	assert_int_equal(sw_buf_append(t, blk, sizeof(blk)), 0);
	assert_int_equal(sw_buf_append(t, data, n), 0);
	tb_pad(t);
}

static void tb_file(sw_buf *t, const char *name, const char *data)
{
	hspec h = { .name = name, .type = '0', .size = strlen(data), .mode = 0644 };

	tb_entry(t, &h, data, strlen(data));
}

/* A PAX ('x', 'g') or GNU ('L', 'K') record carrying `payload`. */
static void tb_meta(sw_buf *t, char type, const void *payload, size_t n)
{
	hspec h = { .name = "././@meta", .type = type, .size = n, .mode = 0644 };

	tb_entry(t, &h, payload, n);
}

static void tb_end(sw_buf *t)
{
	static const uint8_t zero[2 * SW_TAR_BLOCK];

	assert_int_equal(sw_buf_append(t, zero, sizeof(zero)), 0);
}

/* One "LEN key=value\n" record; LEN counts its own digits. */
static void pax_rec(sw_buf *p, const char *key, const void *val, size_t vlen)
{
	size_t body = strlen(key) + vlen + 3, len = body + 1;
	char d[24];

	while ((size_t)snprintf(d, sizeof(d), "%zu", len) + body != len)
		len = body + (size_t)snprintf(d, sizeof(d), "%zu", len);
	assert_int_equal(sw_buf_printf(p, "%zu %s=", len, key), 0);
	assert_int_equal(sw_buf_append(p, val, vlen), 0);
	assert_int_equal(sw_buf_putc(p, '\n'), 0);
}

static void pax_str(sw_buf *p, const char *key, const char *val)
{
	pax_rec(p, key, val, strlen(val));
}

/* ---- recording callbacks ---- */

typedef struct {
	sw_buf log, data;
	uint64_t entries;
	int fail_entry;    /* entry callback number (1-based) to fail, or 0 */
	int fail_code;
	bool fail_data;
} rec;

static void put_esc(sw_buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '|')
			assert_int_equal(sw_buf_putc(b, (char)c), 0);
		else
			assert_int_equal(sw_buf_printf(b, "\\x%02x", c), 0);
	}
}

static int on_entry(void *ctx, const sw_tar_entry *e)
{
	rec *r = ctx;
	size_t i;

	r->entries++;
	assert_int_equal(sw_buf_append(&r->log, "E ", 2), 0);
	put_esc(&r->log, e->name, e->name_len);
	assert_int_equal(sw_buf_putc(&r->log, '|'), 0);
	put_esc(&r->log, e->link, strlen(e->link));
	assert_int_equal(sw_buf_printf(&r->log, "|%c|%llu|%o|%llu|%llu|%c|@%llu", e->type,
				       (unsigned long long)e->size, (unsigned)e->mode,
				       (unsigned long long)e->uid, (unsigned long long)e->gid,
				       e->sparse ? 'S' : '-', (unsigned long long)e->offset), 0);
	for (i = 0; i < e->nxattrs; i++) {
		assert_int_equal(sw_buf_printf(&r->log, "|x:%s=", e->xattrs[i].name), 0);
		put_esc(&r->log, e->xattrs[i].value, e->xattrs[i].value_len);
	}
	assert_int_equal(sw_buf_putc(&r->log, '\n'), 0);
	sw_buf_reset(&r->data);
	if (r->fail_entry && (uint64_t)r->fail_entry == r->entries)
		return r->fail_code;
	return 0;
}

static int on_data(void *ctx, const uint8_t *p, size_t n)
{
	rec *r = ctx;

	assert_true(n > 0);
	if (r->fail_data)
		return r->fail_code;
	return sw_buf_append(&r->data, p, n);
}

static uint32_t fnv(const char *p, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

static int on_end(void *ctx)
{
	rec *r = ctx;

	assert_int_equal(sw_buf_append(&r->log, "D ", 2), 0);
	if (r->data.len <= 32)
		put_esc(&r->log, r->data.data, r->data.len);
	else
		assert_int_equal(sw_buf_printf(&r->log, "#%zu:%08x", r->data.len,
					       fnv(r->data.data, r->data.len)), 0);
	assert_int_equal(sw_buf_putc(&r->log, '\n'), 0);
	sw_buf_reset(&r->data);
	return 0;
}

static void rec_init(rec *r)
{
	memset(r, 0, sizeof(*r));
	r->log = (sw_buf)SW_BUF_INIT(BIG);
	r->data = (sw_buf)SW_BUF_INIT(BIG);
}

static void rec_release(rec *r)
{
	sw_buf_release(&r->log);
	sw_buf_release(&r->data);
}

/* Feed `n` bytes in pieces of `chunk` (0: all at once), then finish. */
static int run_tar(rec *r, const uint8_t *p, size_t n, size_t chunk, size_t max_meta,
		   bool *trailing, sw_error *err)
{
	sw_tar_cb cb = { r, on_entry, on_data, on_end };
	sw_tar *t = sw_tar_new(&cb, max_meta);
	size_t off = 0;
	int rc = 0;

	assert_non_null(t);
	if (!chunk)
		chunk = n ? n : 1;
	while (off < n && rc == 0) {
		size_t k = n - off < chunk ? n - off : chunk;
		rc = sw_tar_feed(t, p + off, k, err);
		off += k;
	}
	if (rc == 0)
		rc = sw_tar_finish(t, trailing, err);
	assert_int_equal(sw_tar_entries(t), r->entries);
	sw_tar_free(t);
	return rc;
}

static const size_t chunks[] = { 0, 1, 7, 100, 511, 512, 513, 4096 };
#define NCHUNKS (sizeof(chunks) / sizeof(chunks[0]))

/* The archive parses cleanly to `want` however it is cut. */
static void expect_log(const sw_buf *t, size_t max_meta, const char *want)
{
	size_t i;

	for (i = 0; i < NCHUNKS; i++) {
		sw_error err = SW_ERROR_INIT;
		bool trailing = true;
		rec r;
		int rc;

		rec_init(&r);
		rc = run_tar(&r, (const uint8_t *)t->data, t->len, chunks[i], max_meta,
			     &trailing, &err);
		if (rc != 0)
			fail_msg("chunk %zu: rc %d (%s)", chunks[i], rc, err.msg);
		assert_false(trailing);
		if (strcmp(sw_buf_cstr(&r.log), want) != 0)
			fail_msg("chunk %zu: log\n%s\nwant\n%s", chunks[i], r.log.data, want);
		rec_release(&r);
	}
}

/* The archive fails with `code` and a message containing `msg`, however it
 * is cut; returns how many entries were reported before the failure. */
static uint64_t expect_err(const uint8_t *p, size_t n, size_t max_meta, int code,
			   const char *msg)
{
	uint64_t entries = 0;
	size_t i;

	for (i = 0; i < NCHUNKS; i++) {
		sw_error err = SW_ERROR_INIT;
		rec r;
		int rc;

		rec_init(&r);
		rc = run_tar(&r, p, n, chunks[i], max_meta, NULL, &err);
		if (rc != code)
			fail_msg("chunk %zu: rc %d, want %d (%s)", chunks[i], rc, code, err.msg);
		assert_int_equal(err.code, code);
		if (!strstr(err.msg, msg))
			fail_msg("chunk %zu: message \"%s\" lacks \"%s\"", chunks[i], err.msg, msg);
		if (i && r.entries != entries)
			fail_msg("chunk %zu: %llu entries before the error, not %llu", chunks[i],
				 (unsigned long long)r.entries, (unsigned long long)entries);
		entries = r.entries;
		rec_release(&r);
	}
	return entries;
}

/* ---- tests ---- */

static void test_basic_entries(void **state)
{
	sw_buf t = SW_BUF_INIT(BIG);
	hspec a = { .name = "a.txt", .type = '0', .size = 5, .mode = 0644, .uid = 1000, .gid = 100 };
	/* links, directories and fifos carry no data whatever size says */
	hspec d = { .name = "d/", .type = '5', .size = 1024, .mode = 0755 };
	hspec l = { .name = "d/l", .link = "../a.txt", .type = '2', .mode = 0777 };
	hspec h = { .name = "h", .link = "a.txt", .type = '1', .size = 5, .mode = 0644 };
	hspec e = { .name = "e", .type = '0', .mode = 0600 };
	hspec c = { .name = "c", .type = '7', .size = 2, .mode = 0644 };   /* contiguous */
	hspec z = { .name = "z", .type = '\0', .size = 1, .mode = 0644 };  /* pre-POSIX */
	hspec f = { .name = "p", .type = '6', .size = 3, .mode = 0644 };

	(void)state;
	tb_entry(&t, &a, "hello", 5);
	tb_entry(&t, &d, NULL, 0);
	tb_entry(&t, &l, NULL, 0);
	tb_entry(&t, &h, NULL, 0);
	tb_entry(&t, &e, NULL, 0);
	tb_entry(&t, &c, "xy", 2);
	tb_entry(&t, &z, "q", 1);
	tb_entry(&t, &f, NULL, 0);
	tb_end(&t);
	expect_log(&t, 4096,
		   "E a.txt||0|5|644|1000|100|-|@512\nD hello\n"
		   "E d/||5|0|755|0|0|-|@1536\nD \n"
		   "E d/l|../a.txt|2|0|777|0|0|-|@2048\nD \n"
		   "E h|a.txt|1|0|644|0|0|-|@2560\nD \n"
		   "E e||0|0|600|0|0|-|@3072\nD \n"
		   "E c||0|2|644|0|0|-|@3584\nD xy\n"
		   "E z||0|1|644|0|0|-|@4608\nD q\n"
		   "E p||6|0|644|0|0|-|@5632\nD \n");
	sw_buf_release(&t);
}

static void test_large_data(void **state)
{
	sw_buf t = SW_BUF_INIT(BIG);
	char *big = malloc(100000), want[128];
	size_t i;

	(void)state;
	assert_non_null(big);
	for (i = 0; i < 99999; i++)
		big[i] = (char)('a' + (i * 7) % 26);
	big[99999] = '\0';
	tb_file(&t, "big", big);
	tb_file(&t, "next", "n");
	tb_end(&t);
	snprintf(want, sizeof(want), "E big||0|99999|644|0|0|-|@512\nD #99999:%08x\n"
		 "E next||0|1|644|0|0|-|@101376\nD n\n", fnv(big, 99999));
	expect_log(&t, 4096, want);
	free(big);
	sw_buf_release(&t);
}

static void test_ustar_prefix(void **state)
{
	sw_buf t = SW_BUF_INIT(BIG), want = SW_BUF_INIT(BIG);
	hspec posix = { .name = "file.txt", .prefix = "usr/share/very/deep", .type = '0' };
	/* GNU headers use the prefix area for other fields: never a prefix */
	hspec gnu = { .name = "gnu.txt", .prefix = "not/a/prefix", .type = '0', .gnu = true };
	char full[101];
	hspec longname = { .name = full, .prefix = "p", .type = '0' };

	(void)state;
	memset(full, 'n', 100);
	full[100] = '\0';
	tb_entry(&t, &posix, NULL, 0);
	tb_entry(&t, &gnu, NULL, 0);
	tb_entry(&t, &longname, NULL, 0); /* a 100-byte name has no NUL */
	tb_end(&t);
	assert_int_equal(sw_buf_printf(&want, "%s%s%s||0|0|0|0|0|-|@1536\nD \n",
				       "E usr/share/very/deep/file.txt||0|0|0|0|0|-|@512\nD \n"
				       "E gnu.txt||0|0|0|0|0|-|@1024\nD \n", "E p/", full), 0);
	expect_log(&t, 4096, sw_buf_cstr(&want));
	sw_buf_release(&t);
	sw_buf_release(&want);
}

static void test_pax_overrides(void **state)
{
	sw_buf t = SW_BUF_INIT(BIG), p = SW_BUF_INIT(BIG), want = SW_BUF_INIT(BIG);
	char longpath[251];
	hspec sym = { .name = "short", .link = "x", .type = '2', .mode = 0777, .uid = 1, .gid = 2 };
	hspec f = { .name = "f", .type = '0', .size = 0, .mode = 0644 };
	hspec after = { .name = "after", .type = '0', .size = 1, .mode = 0644, .uid = 5, .gid = 6 };

	(void)state;
	memset(longpath, 'p', 250);
	memcpy(longpath + 246, "/sym", 5);
	pax_str(&p, "path", longpath);
	pax_str(&p, "linkpath", "target/of/link");
	pax_str(&p, "uid", "123456789");
	pax_str(&p, "gid", "7");
	pax_str(&p, "mtime", "1700000000.5");   /* known, not used */
	pax_str(&p, "comment", "a=b=c");        /* unknown keys are ignored */
	tb_meta(&t, 'x', p.data, p.len);
	tb_entry(&t, &sym, NULL, 0);
	/* size overrides the header (which says 0); xattrs are collected */
	sw_buf_reset(&p);
	pax_str(&p, "size", "5");
	pax_rec(&p, "SCHILY.xattr.security.capability", "\x01\x00\x00\x02\n=", 6);
	pax_str(&p, "SCHILY.xattr.user.note", "hi");
	pax_str(&p, "SCHILY.xattr.", "no name: ignored");
	tb_meta(&t, 'x', p.data, p.len);
	tb_entry(&t, &f, "12345", 5);
	/* nothing carries over to the next entry */
	tb_entry(&t, &after, "z", 1);
	tb_end(&t);
	assert_int_equal(sw_buf_printf(&want, "E %s|target/of/link|2|0|777|123456789|7|-|@1536\nD \n",
				       longpath), 0);
	assert_int_equal(sw_buf_printf(&want, "%s",
		"E f||0|5|644|0|0|-|@3072|x:security.capability=\\x01\\x00\\x00\\x02\\x0a="
		"|x:user.note=hi\nD 12345\n"
		"E after||0|1|644|5|6|-|@4096\nD z\n"), 0);
	expect_log(&t, 4096, sw_buf_cstr(&want));
	sw_buf_release(&t);
	sw_buf_release(&p);
	sw_buf_release(&want);
}

static void test_pax_sparse_and_global(void **state)
{
	sw_buf t = SW_BUF_INIT(BIG), p = SW_BUF_INIT(BIG);
	hspec f = { .name = "s", .type = '0', .size = 3, .mode = 0644 };
	hspec g = { .name = "gs", .type = 'S', .size = 2, .mode = 0644, .gnu = true };

	(void)state;
	pax_str(&p, "GNU.sparse.major", "1");
	pax_str(&p, "GNU.sparse.minor", "0");
	tb_meta(&t, 'x', p.data, p.len);
	tb_entry(&t, &f, "map", 3);
	tb_entry(&t, &g, "gg", 2);
	/* a global header's path applies to no entry */
	sw_buf_reset(&p);
	pax_str(&p, "path", "global/name");
	tb_meta(&t, 'g', p.data, p.len);
	tb_file(&t, "plain", "");
	tb_end(&t);
	expect_log(&t, 4096,
		   "E s||0|3|644|0|0|S|@1536\nD map\n"
		   "E gs||S|2|644|0|0|S|@2560\nD gg\n"
		   "E plain||0|0|644|0|0|-|@4608\nD \n");
	sw_buf_release(&t);
	sw_buf_release(&p);
}

static void test_gnu_long_names(void **state)
{
	sw_buf t = SW_BUF_INIT(BIG), want = SW_BUF_INIT(BIG);
	char name[301], link[201];
	hspec f = { .name = "././@LongLink-truncated", .type = '0', .size = 2, .mode = 0644 };
	hspec s = { .name = "sym", .link = "short-link", .type = '2', .mode = 0777 };

	(void)state;
	memset(name, 'L', 300);
	name[300] = '\0';
	memset(link, 'K', 200);
	link[200] = '\0';
	tb_meta(&t, 'L', name, 301);     /* GNU records include the NUL */
	tb_entry(&t, &f, "ok", 2);
	tb_meta(&t, 'K', link, 201);
	tb_entry(&t, &s, NULL, 0);
	tb_end(&t);
	assert_int_equal(sw_buf_printf(&want, "E %s||0|2|644|0|0|-|@1536\nD ok\n", name), 0);
	assert_int_equal(sw_buf_printf(&want, "E sym|%s|2|0|777|0|0|-|@3584\nD \n", link), 0);
	expect_log(&t, 4096, sw_buf_cstr(&want));
	sw_buf_release(&t);
	sw_buf_release(&want);
}

static void test_pax_beats_gnu(void **state)
{
	sw_buf t = SW_BUF_INIT(BIG), p = SW_BUF_INIT(BIG);
	hspec f = { .name = "hdr-name", .link = "hdr-link", .type = '1', .mode = 0644 };

	(void)state;
	tb_meta(&t, 'L', "gnu/name", 9);
	tb_meta(&t, 'K', "gnu/link", 9);
	pax_str(&p, "path", "pax/name");
	pax_str(&p, "linkpath", "pax/link");
	tb_meta(&t, 'x', p.data, p.len);
	tb_entry(&t, &f, NULL, 0);
	tb_end(&t);
	expect_log(&t, 4096, "E pax/name|pax/link|1|0|644|0|0|-|@3584\nD \n");
	sw_buf_release(&t);
	sw_buf_release(&p);
}

static void test_checksum_mismatch(void **state)
{
	sw_buf t = SW_BUF_INIT(BIG);
	uint64_t n;

	(void)state;
	tb_file(&t, "good", "g");
	tb_file(&t, "bad", "b");
	tb_end(&t);
	t.data[1024 + 1] ^= 0x01;                  /* "bad" -> "b`d" */
	n = expect_err((const uint8_t *)t.data, t.len, 4096, SW_EFORMAT,
		       "header checksum mismatch");
	assert_int_equal(n, 1);
	t.data[1024 + 1] ^= 0x01;
	memcpy(t.data + 1024 + 148, "0000000", 7);  /* checksum field lies */
	expect_err((const uint8_t *)t.data, t.len, 4096, SW_EFORMAT, "checksum mismatch");
	memcpy(t.data + 1024 + 148, "9999999", 7);  /* not even octal */
	expect_err((const uint8_t *)t.data, t.len, 4096, SW_EFORMAT, "checksum mismatch");
	sw_buf_release(&t);
}

static void test_bad_numbers(void **state)
{
	uint8_t blk[3 * SW_TAR_BLOCK];
	hspec f = { .name = "f", .type = '0', .size = 1 };

	(void)state;
	memset(blk, 0, sizeof(blk));
	make_header(blk, &f);
	memcpy(blk + 124, "0000000001x\0", 12);      /* size with a stray letter */
	set_checksum(blk);
	expect_err(blk, sizeof(blk), 4096, SW_EFORMAT, "bad number in header");
	make_header(blk, &f);
	memset(blk + 124, 0xff, 12);                 /* negative base-256 */
	set_checksum(blk);
	expect_err(blk, sizeof(blk), 4096, SW_EFORMAT, "bad number in header");
	make_header(blk, &f);
	memcpy(blk + 124, "\x80\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 12); /* > 64 bits */
	set_checksum(blk);
	expect_err(blk, sizeof(blk), 4096, SW_EFORMAT, "bad number in header");
	make_header(blk, &f);
	memcpy(blk + 108, "1 2\0\0\0\0\0", 8);        /* uid with a space inside */
	set_checksum(blk);
	expect_err(blk, sizeof(blk), 4096, SW_EFORMAT, "bad number in header");
}

static void test_lenient_octal(void **state)
{
	sw_buf t = SW_BUF_INIT(BIG);
	hspec f = { .name = "f", .type = '0', .size = 3, .mode = 0644 };
	uint8_t *b;

	(void)state;
	tb_entry(&t, &f, "abc", 3);
	tb_end(&t);
	b = (uint8_t *)t.data;
	memcpy(b + 124, "  3 \0\0\0\0\0\0\0\0", 12);  /* space and NUL padding */
	memcpy(b + 100, "644\0\0\0\0\0", 8);
	set_checksum(b);
	expect_log(&t, 4096, "E f||0|3|644|0|0|-|@512\nD abc\n");
	sw_buf_release(&t);
}

static void test_base256(void **state)
{
	sw_buf t = SW_BUF_INIT(BIG);
	hspec f = { .name = "b", .type = '0', .size = 5, .mode = 0644, .uid = 77, .b256 = true };
	hspec huge = { .name = "huge", .type = '0', .size = (uint64_t)1 << 40, .b256 = true };
	uint8_t *b;

	(void)state;
	tb_entry(&t, &f, "12345", 5);
	tb_end(&t);
	b = (uint8_t *)t.data;
	assert_int_equal(b[124], 0x80);
	put_b256(b + 108, 8, 70000000000ull); /* uid beyond 8 octal digits */
	set_checksum(b);
	expect_log(&t, 4096, "E b||0|5|644|70000000000|0|-|@512\nD 12345\n");
	/* a 1 TiB entry: reported, then the stream ends inside it */
	sw_buf_reset(&t);
	tb_entry(&t, &huge, "abc", 3);
	expect_err((const uint8_t *)t.data, t.len, 4096, SW_EFORMAT, "truncated");
	sw_buf_release(&t);
}

static void test_truncated(void **state)
{
	sw_buf t = SW_BUF_INIT(BIG), p = SW_BUF_INIT(BIG);
	char data[1001];
	uint64_t n;

	(void)state;
	memset(data, 'd', 1000);
	data[1000] = '\0';
	tb_file(&t, "first", "1");
	tb_file(&t, "abc", data);
	tb_end(&t);
	/* inside the second header */
	n = expect_err((const uint8_t *)t.data, 1024 + 100, 4096, SW_EFORMAT,
		       "truncated header");
	assert_int_equal(n, 1);
	/* header complete, no data yet */
	expect_err((const uint8_t *)t.data, 1536, 4096, SW_EFORMAT, "truncated");
	/* inside the data */
	n = expect_err((const uint8_t *)t.data, 1536 + 600, 4096, SW_EFORMAT,
		       "missing bytes");
	assert_int_equal(n, 2);
	/* inside a PAX record */
	sw_buf_reset(&t);
	pax_str(&p, "path", "some/long/name");
	tb_meta(&t, 'x', p.data, p.len);
	tb_file(&t, "x", "x");
	expect_err((const uint8_t *)t.data, 512 + 10, 4096, SW_EFORMAT, "truncated");
	sw_buf_release(&t);
	sw_buf_release(&p);
}

static void test_clean_ends(void **state)
{
	sw_buf t = SW_BUF_INIT(BIG);
	sw_error err = SW_ERROR_INIT;
	rec r;

	(void)state;
	tb_file(&t, "a", "a");
	/* no end-of-archive marker at all: the stream simply stops */
	expect_log(&t, 4096, "E a||0|1|644|0|0|-|@512\nD a\n");
	/* an empty stream has no entries and is not an error */
	rec_init(&r);
	assert_int_equal(run_tar(&r, (const uint8_t *)"", 0, 0, 4096, NULL, &err), 0);
	assert_int_equal(r.entries, 0);
	rec_release(&r);
	sw_buf_release(&t);
}

static void test_meta_limit(void **state)
{
	sw_buf t = SW_BUF_INIT(BIG), p = SW_BUF_INIT(BIG);
	char name[700];
	hspec f = { .name = "f", .type = '0' };

	(void)state;
	memset(name, 'n', 599);
	name[599] = '\0';
	pax_str(&p, "path", name);
	assert_true(p.len > 600);
	tb_meta(&t, 'x', p.data, p.len);
	tb_entry(&t, &f, NULL, 0);
	tb_end(&t);
	expect_err((const uint8_t *)t.data, t.len, 512, SW_ELIMIT, "x record of");
	expect_err((const uint8_t *)t.data, t.len, 512, SW_ELIMIT, "exceeds 512");
	/* a record exactly max_meta long is accepted */
	{
		sw_buf want = SW_BUF_INIT(BIG);
		assert_int_equal(sw_buf_printf(&want, "E %s||0|0|0|0|0|-|@%zu\nD \n", name,
					       (size_t)512 + (p.len + 511) / 512 * 512 + 512), 0);
		expect_log(&t, p.len, sw_buf_cstr(&want));
		sw_buf_release(&want);
	}
	/* GNU long names are bounded the same way */
	sw_buf_reset(&t);
	tb_meta(&t, 'L', name, 600);
	tb_entry(&t, &f, NULL, 0);
	tb_end(&t);
	expect_err((const uint8_t *)t.data, t.len, 599, SW_ELIMIT, "L record of 600 bytes exceeds 599");
	sw_buf_release(&t);
	sw_buf_release(&p);
}

static void expect_pax_err(const char *payload, size_t n, int code, const char *msg)
{
	sw_buf t = SW_BUF_INIT(BIG);
	hspec f = { .name = "f", .type = '0' };

	tb_meta(&t, 'x', payload, n);
	tb_entry(&t, &f, NULL, 0);
	tb_end(&t);
	assert_int_equal(expect_err((const uint8_t *)t.data, t.len, 4096, code, msg), 0);
	sw_buf_release(&t);
}

static void test_pax_malformed(void **state)
{
	static const char *const bad[] = {
		"5 a=b\n",          /* length says 5, record is 6 */
		"7 a=b\n",          /* runs past the payload */
		"6 a=bX",           /* does not end in a newline */
		"6 ab\n\n",         /* no '=' */
		"6 =ab\n",          /* empty key */
		"0 a=b\n",
		"06a=b\n",          /* no space after the length */
		" 6 a=b\n",
		"x a=b\n",
		"999999999999999 a=b\n",
		"6 a=b\n3 \n",      /* a second, broken record */
	};
	sw_buf p = SW_BUF_INIT(BIG);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_pax_err(bad[i], strlen(bad[i]), SW_EFORMAT, "malformed PAX record");
	expect_pax_err("11 size=1a\n", 11, SW_EFORMAT, "PAX header: bad value");
	expect_pax_err("8 size=\n", 8, SW_EFORMAT, "PAX header: bad value");
	expect_pax_err("9 uid=-1\n", 9, SW_EFORMAT, "PAX header: bad value");
	pax_str(&p, "size", "18446744073709551616"); /* 20 digits: 2^64 */
	expect_pax_err(p.data, p.len, SW_EFORMAT, "PAX header: bad value");
	sw_buf_release(&p);
}

static void test_pax_xattr_limit(void **state)
{
	sw_buf t = SW_BUF_INIT(BIG), p = SW_BUF_INIT(BIG);
	char key[64];
	hspec f = { .name = "f", .type = '0' };
	size_t i;

	(void)state;
	for (i = 0; i < 64; i++) {
		snprintf(key, sizeof(key), "SCHILY.xattr.user.k%zu", i);
		pax_str(&p, key, "v");
	}
	tb_meta(&t, 'x', p.data, p.len);
	tb_entry(&t, &f, NULL, 0);
	tb_end(&t);
	{
		rec r;
		sw_error err = SW_ERROR_INIT;
		rec_init(&r);
		assert_int_equal(run_tar(&r, (const uint8_t *)t.data, t.len, 0, 65536, NULL, &err), 0);
		assert_non_null(strstr(r.log.data, "|x:user.k63=v\n"));
		rec_release(&r);
	}
	sw_buf_reset(&t);
	pax_str(&p, "SCHILY.xattr.user.k64", "v");
	tb_meta(&t, 'x', p.data, p.len);
	tb_entry(&t, &f, NULL, 0);
	tb_end(&t);
	expect_err((const uint8_t *)t.data, t.len, 65536, SW_ELIMIT, "too many xattrs");
	sw_buf_release(&t);
	sw_buf_release(&p);
}

static void test_trailing(void **state)
{
	sw_buf t = SW_BUF_INIT(BIG);
	size_t i;

	(void)state;
	tb_file(&t, "a", "a");
	tb_end(&t);
	assert_int_equal(sw_buf_append(&t, "\0\0\0\0", 4), 0); /* zeros: not trailing */
	expect_log(&t, 4096, "E a||0|1|644|0|0|-|@512\nD a\n");
	tb_file(&t, "hidden", "not extracted by anyone");
	for (i = 0; i < NCHUNKS; i++) {
		sw_error err = SW_ERROR_INIT;
		bool trailing = false;
		rec r;
		rec_init(&r);
		assert_int_equal(run_tar(&r, (const uint8_t *)t.data, t.len, chunks[i], 4096,
					 &trailing, &err), 0);
		assert_true(trailing);
		assert_int_equal(r.entries, 1);
		assert_null(strstr(sw_buf_cstr(&r.log), "hidden"));
		rec_release(&r);
	}
	sw_buf_release(&t);
}

static void test_callback_errors(void **state)
{
	sw_buf t = SW_BUF_INIT(BIG);
	size_t i;

	(void)state;
	tb_file(&t, "a", "a");
	tb_file(&t, "b", "b");
	tb_end(&t);
	for (i = 0; i < NCHUNKS; i++) {
		sw_error err = SW_ERROR_INIT;
		rec r;
		rec_init(&r);
		r.fail_entry = 2;
		r.fail_code = SW_EVERIFY;
		assert_int_equal(run_tar(&r, (const uint8_t *)t.data, t.len, chunks[i], 4096,
					 NULL, &err), SW_EVERIFY);
		assert_int_equal(err.code, SW_EVERIFY);
		assert_non_null(strstr(err.msg, "entry 2 rejected"));
		rec_release(&r);
		sw_error_set(&err, SW_OK, "%s", "");
		rec_init(&r);
		r.fail_data = true;
		r.fail_code = SW_ELIMIT;
		assert_int_equal(run_tar(&r, (const uint8_t *)t.data, t.len, chunks[i], 4096,
					 NULL, &err), SW_ELIMIT);
		assert_non_null(strstr(err.msg, "entry data rejected"));
		rec_release(&r);
	}
	sw_buf_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_entries),
		cmocka_unit_test(test_large_data),
		cmocka_unit_test(test_ustar_prefix),
		cmocka_unit_test(test_pax_overrides),
		cmocka_unit_test(test_pax_sparse_and_global),
		cmocka_unit_test(test_gnu_long_names),
		cmocka_unit_test(test_pax_beats_gnu),
		cmocka_unit_test(test_checksum_mismatch),
		cmocka_unit_test(test_bad_numbers),
		cmocka_unit_test(test_lenient_octal),
		cmocka_unit_test(test_base256),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_clean_ends),
		cmocka_unit_test(test_meta_limit),
		cmocka_unit_test(test_pax_malformed),
		cmocka_unit_test(test_pax_xattr_limit),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_callback_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
