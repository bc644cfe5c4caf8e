/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the decompression stage (src/lib/layer/inflate.c).
 *
 * The compressed inputs are produced here with the reference libraries
 * (zlib for gzip, libzstd for zstd) so the stage is checked against an
 * independent encoder, and each stream is fed whole, a byte at a time and
 * in odd pieces. Beyond round trips: concatenated gzip members (followed,
 * as Go's reader does), bytes after the last member (refused), truncation
 * (caught at finish), zstd skippable frames and the zstd window cap.
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
#include <zlib.h>
#include <zstd.h>

#include "../../src/lib/layer/inflate.h"
#include "../../src/lib/util/banned.h"

#define MAXOUT (1u << 26)

static const size_t chunks[] = { 0, 1, 7, 4096, 65537 };
#define NCHUNKS (sizeof(chunks) / sizeof(chunks[0]))

/* ---- inputs ---- */

/* Text-like bytes (compressible) followed by noise (not), over 256 KiB so
 * the output crosses the stage's chunk size. */
static void sample(sw_buf *b, size_t text, size_t noise, uint32_t seed)
{
	static const char *const words[] = { "layer ", "tar ", "sha256 ", "etc/",
					     "passwd\n", "usr/bin/", "\x00\x01", "root " };
	uint32_t x = seed;
	const char *w;
	size_t i;

	while (b->len < text) {
		x = x * 1103515245u + 12345u;
		w = words[(x >> 16) % 8];
		assert_int_equal(sw_buf_append(b, w, w[0] ? strlen(w) : 2), 0);
	}
	for (i = 0; i < noise; i++) {
		x = x * 1103515245u + 12345u;
		assert_int_equal(sw_buf_putc(b, (char)(x >> 23)), 0);
	}
}

/* One gzip member (zlib, windowBits 15 + 16), appended to out; with fname,
 * the header also carries FNAME and FEXTRA, and FHCRC when hcrc is set. */
static void gzip_member_hdr(sw_buf *out, const void *p, size_t n, const char *fname,
			    bool hcrc)
{
	z_stream zs;
	gz_header h;
	uint8_t tmp[16384];
	int r;

	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	if (fname) {
		memset(&h, 0, sizeof(h));
		h.name = (Bytef *)(uintptr_t)fname;
		h.extra = (Bytef *)(uintptr_t)"xx";
		h.extra_len = 2;
		h.hcrc = hcrc;
		assert_int_equal(deflateSetHeader(&zs, &h), Z_OK);
	}
	zs.next_in = (Bytef *)(uintptr_t)p;
	zs.avail_in = (uInt)n;
	do {
		zs.next_out = tmp;
		zs.avail_out = sizeof(tmp);
		r = deflate(&zs, Z_FINISH);
		assert_true(r == Z_OK || r == Z_STREAM_END);
		assert_int_equal(sw_buf_append(out, tmp, sizeof(tmp) - zs.avail_out), 0);
	} while (r != Z_STREAM_END);
	deflateEnd(&zs);
}

static void gzip_member(sw_buf *out, const void *p, size_t n, const char *fname)
{
	gzip_member_hdr(out, p, n, fname, false);
}

static void zstd_frame(sw_buf *out, const void *p, size_t n)
{
	size_t cap = ZSTD_compressBound(n), r;
	void *tmp = malloc(cap);

	assert_non_null(tmp);
	r = ZSTD_compress(tmp, cap, p, n, 3);
	assert_false(ZSTD_isError(r));
	assert_int_equal(sw_buf_append(out, tmp, r), 0);
	free(tmp);
}

static void zstd_skippable(sw_buf *out, uint8_t low_nibble, const char *payload)
{
	uint8_t h[8] = { (uint8_t)(0x50 | low_nibble), 0x2a, 0x4d, 0x18 };
	uint32_t n = (uint32_t)strlen(payload);

	h[4] = (uint8_t)n, h[5] = (uint8_t)(n >> 8), h[6] = (uint8_t)(n >> 16), h[7] = (uint8_t)(n >> 24);
	assert_int_equal(sw_buf_append(out, h, 8), 0);
	assert_int_equal(sw_buf_append(out, payload, n), 0);
}

/* ---- running the stage ---- */

typedef struct {
	sw_buf out;
	size_t calls;
	int fail;          /* returned by the sink when non-zero */
} sink_ctx;

static int sink(void *ctx, const uint8_t *p, size_t n)
{
	sink_ctx *s = ctx;

	assert_true(n > 0);
	s->calls++;
	if (s->fail)
		return s->fail;
	return sw_buf_append(&s->out, p, n);
}

/* Feed in pieces of `chunk` (0: whole), then finish; the first error wins. */
static int run(sw_comp kind, const void *in, size_t n, size_t chunk, sink_ctx *s,
	       sw_error *err)
{
	const uint8_t *p = in;
	sw_inflate *z = NULL;
	size_t off = 0;
	int rc;

	if ((rc = sw_inflate_new(&z, kind, err)) < 0)
		return rc;
	if (!chunk)
		chunk = n ? n : 1;
	while (off < n && rc == 0) {
		size_t k = n - off < chunk ? n - off : chunk;
		rc = sw_inflate_feed(z, p + off, k, sink, s, err);
		off += k;
	}
	if (rc == 0)
		rc = sw_inflate_finish(z, err);
	sw_inflate_free(z);
	return rc;
}

static void expect_output(sw_comp kind, const sw_buf *in, const sw_buf *want)
{
	size_t i;

	for (i = 0; i < NCHUNKS; i++) {
		sink_ctx s = { SW_BUF_INIT(MAXOUT), 0, 0 };
		sw_error err = SW_ERROR_INIT;
		int rc = run(kind, in->data, in->len, chunks[i], &s, &err);

		if (rc != 0)
			fail_msg("%s, chunk %zu: rc %d (%s)", sw_comp_name(kind), chunks[i], rc, err.msg);
		if (s.out.len != want->len || (want->len && memcmp(s.out.data, want->data, want->len)))
			fail_msg("%s, chunk %zu: %zu bytes out, want %zu", sw_comp_name(kind),
				 chunks[i], s.out.len, want->len);
		sw_buf_release(&s.out);
	}
}

static void expect_fail(sw_comp kind, const void *in, size_t n, const char *msg)
{
	size_t i;

	for (i = 0; i < NCHUNKS; i++) {
		sink_ctx s = { SW_BUF_INIT(MAXOUT), 0, 0 };
		sw_error err = SW_ERROR_INIT;
		int rc = run(kind, in, n, chunks[i], &s, &err);

		if (rc != SW_EFORMAT)
			fail_msg("%s, chunk %zu: rc %d, want SW_EFORMAT (%s)", sw_comp_name(kind),
				 chunks[i], rc, err.msg);
		assert_int_equal(err.code, SW_EFORMAT);
		if (!strstr(err.msg, msg))
			fail_msg("chunk %zu: message \"%s\" lacks \"%s\"", chunks[i], err.msg, msg);
		sw_buf_release(&s.out);
	}
}

/* ---- tests ---- */

static void test_sniff(void **state)
{
	static const struct {
		const char *p;
		size_t n;
		sw_comp want;
	} cs[] = {
		{ "\x1f\x8b\x08\x00", 4, SW_COMP_GZIP },
		{ "\x1f\x8b\x08", 3, SW_COMP_GZIP },
		{ "\x1f\x8b", 2, SW_COMP_NONE },           /* too short to say */
		{ "\x1f\x8b\x07", 3, SW_COMP_NONE },       /* not deflate */
		{ "\x28\xb5\x2f\xfd\x04", 5, SW_COMP_ZSTD },
		{ "\x28\xb5\x2f", 3, SW_COMP_NONE },
		{ "\x50\x2a\x4d\x18", 4, SW_COMP_ZSTD },   /* skippable frames */
		{ "\x5a\x2a\x4d\x18", 4, SW_COMP_ZSTD },
		{ "\x5f\x2a\x4d\x18", 4, SW_COMP_ZSTD },
		{ "\x4f\x2a\x4d\x18", 4, SW_COMP_NONE },
		{ "\x60\x2a\x4d\x18", 4, SW_COMP_NONE },
		{ "BZh91AY", 7, SW_COMP_BZIP2 },
		{ "BZ", 2, SW_COMP_NONE },
		{ "\xfd" "7zXZ\0\0", 7, SW_COMP_XZ },
		{ "\xfd" "7zXZ\0", 6, SW_COMP_XZ },
		{ "\xfd" "7zXZ", 5, SW_COMP_NONE },
		{ "etc/passwd\0\0\0", 13, SW_COMP_NONE },  /* a plain tar header */
		{ "", 0, SW_COMP_NONE },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cs) / sizeof(cs[0]); i++)
		if (sw_comp_sniff((const uint8_t *)cs[i].p, cs[i].n) != cs[i].want)
			fail_msg("case %zu: sniffed %s, want %s", i,
				 sw_comp_name(sw_comp_sniff((const uint8_t *)cs[i].p, cs[i].n)),
				 sw_comp_name(cs[i].want));
	assert_string_equal(sw_comp_name(SW_COMP_NONE), "tar");
	assert_string_equal(sw_comp_name(SW_COMP_GZIP), "gzip");
	assert_string_equal(sw_comp_name(SW_COMP_ZSTD), "zstd");
	assert_string_equal(sw_comp_name(SW_COMP_BZIP2), "bzip2");
	assert_string_equal(sw_comp_name(SW_COMP_XZ), "xz");
	assert_string_equal(sw_comp_name(SW_COMP_UNKNOWN), "unknown");
}

static void test_unsupported(void **state)
{
	static const sw_comp kinds[] = { SW_COMP_BZIP2, SW_COMP_XZ, SW_COMP_UNKNOWN };
	static const char *const msgs[] = { "bzip2-compressed layers are not supported",
					    "xz-compressed layers are not supported",
					    "not supported" };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		sw_error err = SW_ERROR_INIT;
		char dummy;
		sw_inflate *z = (sw_inflate *)&dummy;
		assert_int_equal(sw_inflate_new(&z, kinds[i], &err), SW_EFORMAT);
		assert_null(z);
		assert_int_equal(err.code, SW_EFORMAT);
		assert_non_null(strstr(err.msg, msgs[i]));
	}
	sw_inflate_free(NULL);
}

static void test_plain(void **state)
{
	sw_buf in = SW_BUF_INIT(MAXOUT);
	sink_ctx s = { SW_BUF_INIT(16), 0, 0 };
	sw_error err = SW_ERROR_INIT;
	sw_inflate *z;

	(void)state;
	sample(&in, 100000, 1000, 1);
	expect_output(SW_COMP_NONE, &in, &in);
	/* an empty stream is an empty tar; empty feeds reach no sink */
	assert_int_equal(sw_inflate_new(&z, SW_COMP_NONE, &err), 0);
	assert_int_equal(sw_inflate_feed(z, (const uint8_t *)"", 0, sink, &s, &err), 0);
	assert_int_equal(s.calls, 0);
	assert_int_equal(sw_inflate_finish(z, &err), 0);
	sw_inflate_free(z);
	sw_buf_release(&in);
}

static void test_gzip_roundtrip(void **state)
{
	sw_buf data = SW_BUF_INIT(MAXOUT), gz = SW_BUF_INIT(MAXOUT);

	(void)state;
	sample(&data, 400000, 50000, 2);
	gzip_member(&gz, data.data, data.len, NULL);
	assert_int_equal(sw_comp_sniff((const uint8_t *)gz.data, gz.len), SW_COMP_GZIP);
	expect_output(SW_COMP_GZIP, &gz, &data);
	/* header with FNAME and FEXTRA */
	sw_buf_reset(&gz);
	gzip_member(&gz, data.data, 1000, "layer.tar");
	data.len = 1000;
	expect_output(SW_COMP_GZIP, &gz, &data);
	/* an empty member decodes to nothing */
	sw_buf_reset(&gz);
	gzip_member(&gz, "", 0, NULL);
	data.len = 0;
	expect_output(SW_COMP_GZIP, &gz, &data);
	sw_buf_release(&data);
	sw_buf_release(&gz);
}

/* A header CRC (FHCRC) is valid gzip (RFC 1952 2.3.1) and must decode
 * however the header is split across feeds, in the first member and in a
 * later one, whose header starts wherever the previous member ended. */
static void test_gzip_header_crc_split(void **state)
{
	sw_buf data = SW_BUF_INIT(MAXOUT), gz = SW_BUF_INIT(MAXOUT), want = SW_BUF_INIT(MAXOUT);

	(void)state;
	sample(&data, 5000, 100, 10);
	gzip_member(&gz, "first", 5, NULL);
	gzip_member_hdr(&gz, data.data, data.len, "layer.tar", true);
	assert_int_equal(sw_buf_append(&want, "first", 5), 0);
	assert_int_equal(sw_buf_append(&want, data.data, data.len), 0);
	expect_output(SW_COMP_GZIP, &gz, &want);
	sw_buf_release(&data);
	sw_buf_release(&gz);
	sw_buf_release(&want);
}

static void test_gzip_members(void **state)
{
	sw_buf a = SW_BUF_INIT(MAXOUT), b = SW_BUF_INIT(MAXOUT);
	sw_buf gz = SW_BUF_INIT(MAXOUT), want = SW_BUF_INIT(MAXOUT);

	(void)state;
	sample(&a, 300000, 1000, 3);
	sample(&b, 5000, 70000, 4);
	gzip_member(&gz, a.data, a.len, NULL);
	gzip_member(&gz, b.data, b.len, "second");
	assert_int_equal(sw_buf_append(&want, a.data, a.len), 0);
	assert_int_equal(sw_buf_append(&want, b.data, b.len), 0);
	expect_output(SW_COMP_GZIP, &gz, &want);
	/* three members, the middle one empty */
	gzip_member(&gz, "", 0, NULL);
	gzip_member(&gz, "tail", 4, NULL);
	assert_int_equal(sw_buf_append(&want, "tail", 4), 0);
	expect_output(SW_COMP_GZIP, &gz, &want);
	sw_buf_release(&a);
	sw_buf_release(&b);
	sw_buf_release(&gz);
	sw_buf_release(&want);
}

static void test_gzip_truncated(void **state)
{
	sw_buf data = SW_BUF_INIT(MAXOUT), gz = SW_BUF_INIT(MAXOUT);
	size_t full;

	(void)state;
	sample(&data, 100000, 10000, 5);
	gzip_member(&gz, data.data, data.len, NULL);
	full = gz.len;
	expect_fail(SW_COMP_GZIP, gz.data, full - 1, "gzip: truncated stream");   /* in ISIZE */
	expect_fail(SW_COMP_GZIP, gz.data, full - 8, "gzip: truncated stream");   /* no trailer */
	expect_fail(SW_COMP_GZIP, gz.data, full / 2, "gzip: truncated stream");
	expect_fail(SW_COMP_GZIP, gz.data, 5, "gzip: truncated stream");          /* in the header */
	expect_fail(SW_COMP_GZIP, gz.data, 0, "gzip: truncated stream");          /* nothing at all */
	/* a second member cut short */
	gzip_member(&gz, "more", 4, NULL);
	expect_fail(SW_COMP_GZIP, gz.data, gz.len - 3, "gzip: truncated stream");
	expect_fail(SW_COMP_GZIP, gz.data, full + 1, "gzip: truncated stream");
	sw_buf_release(&data);
	sw_buf_release(&gz);
}

static void test_gzip_trailing_garbage(void **state)
{
	sw_buf gz = SW_BUF_INIT(MAXOUT);
	size_t full;

	(void)state;
	gzip_member(&gz, "hello, layer", 12, NULL);
	full = gz.len;
	assert_int_equal(sw_buf_append(&gz, "X", 1), 0);
	expect_fail(SW_COMP_GZIP, gz.data, gz.len, "are not a gzip member");
	gz.len = full;
	assert_int_equal(sw_buf_append(&gz, "\0\0\0\0\0\0\0\0", 8), 0);  /* zero padding */
	expect_fail(SW_COMP_GZIP, gz.data, gz.len, "are not a gzip member");
	gz.len = full;
	assert_int_equal(sw_buf_append(&gz, "\x1f\x00not a member at all", 21), 0);
	expect_fail(SW_COMP_GZIP, gz.data, gz.len, "gzip: ");
	gz.len = full;
	assert_int_equal(sw_buf_append(&gz, "\x1f", 1), 0);              /* half a magic */
	expect_fail(SW_COMP_GZIP, gz.data, gz.len, "gzip: ");
	sw_buf_release(&gz);
}

static void test_gzip_corrupt(void **state)
{
	sw_buf data = SW_BUF_INIT(MAXOUT), gz = SW_BUF_INIT(MAXOUT);

	(void)state;
	sample(&data, 50000, 0, 6);
	gzip_member(&gz, data.data, data.len, NULL);
	gz.data[gz.len - 6] ^= 0x40;                         /* inside the CRC-32 */
	expect_fail(SW_COMP_GZIP, gz.data, gz.len, "gzip: corrupt data (CRC mismatch)");
	gz.data[gz.len - 6] ^= 0x40;
	memset(gz.data + 10, 0xff, 16);                      /* deflate block header */
	expect_fail(SW_COMP_GZIP, gz.data, gz.len, "gzip: corrupt data");
	sw_buf_release(&data);
	sw_buf_release(&gz);
}

static void test_sink_error(void **state)
{
	static const sw_comp kinds[] = { SW_COMP_NONE, SW_COMP_GZIP, SW_COMP_ZSTD };
	sw_buf data = SW_BUF_INIT(MAXOUT), in = SW_BUF_INIT(MAXOUT);
	size_t i;

	(void)state;
	sample(&data, 10000, 0, 7);
	for (i = 0; i < 3; i++) {
		sink_ctx s = { SW_BUF_INIT(MAXOUT), 0, SW_ELIMIT };
		sw_error err = SW_ERROR_INIT;
		sw_buf_reset(&in);
		if (kinds[i] == SW_COMP_GZIP)
			gzip_member(&in, data.data, data.len, NULL);
		else if (kinds[i] == SW_COMP_ZSTD)
			zstd_frame(&in, data.data, data.len);
		else
			assert_int_equal(sw_buf_append(&in, data.data, data.len), 0);
		assert_int_equal(run(kinds[i], in.data, in.len, 0, &s, &err), SW_ELIMIT);
		assert_int_equal(s.calls, 1);
		sw_buf_release(&s.out);
	}
	sw_buf_release(&data);
	sw_buf_release(&in);
}

static void test_zstd_roundtrip(void **state)
{
	sw_buf data = SW_BUF_INIT(MAXOUT), zs = SW_BUF_INIT(MAXOUT), want = SW_BUF_INIT(MAXOUT);

	(void)state;
	sample(&data, 400000, 50000, 8);
	zstd_frame(&zs, data.data, data.len);
	assert_int_equal(sw_comp_sniff((const uint8_t *)zs.data, zs.len), SW_COMP_ZSTD);
	expect_output(SW_COMP_ZSTD, &zs, &data);
	/* two frames */
	zstd_frame(&zs, "second frame", 12);
	assert_int_equal(sw_buf_append(&want, data.data, data.len), 0);
	assert_int_equal(sw_buf_append(&want, "second frame", 12), 0);
	expect_output(SW_COMP_ZSTD, &zs, &want);
	sw_buf_release(&data);
	sw_buf_release(&zs);
	sw_buf_release(&want);
}

static void test_zstd_skippable(void **state)
{
	sw_buf zs = SW_BUF_INIT(MAXOUT), want = SW_BUF_INIT(MAXOUT);

	(void)state;
	/* a skippable frame first (sniffed as zstd), data, then a trailing
	 * skippable frame as zstd:chunked writes its table of contents */
	zstd_skippable(&zs, 0, "leading metadata");
	zstd_frame(&zs, "payload", 7);
	zstd_skippable(&zs, 0xf, "{\"toc\":[]}");
	assert_int_equal(sw_comp_sniff((const uint8_t *)zs.data, zs.len), SW_COMP_ZSTD);
	assert_int_equal(sw_buf_append(&want, "payload", 7), 0);
	expect_output(SW_COMP_ZSTD, &zs, &want);
	sw_buf_release(&zs);
	sw_buf_release(&want);
}

static void test_zstd_truncated_and_garbage(void **state)
{
	sw_buf data = SW_BUF_INIT(MAXOUT), zs = SW_BUF_INIT(MAXOUT);
	size_t full;

	(void)state;
	sample(&data, 200000, 20000, 9);
	zstd_frame(&zs, data.data, data.len);
	full = zs.len;
	expect_fail(SW_COMP_ZSTD, zs.data, full - 1, "zstd: truncated stream");
	expect_fail(SW_COMP_ZSTD, zs.data, full / 2, "zstd: truncated stream");
	expect_fail(SW_COMP_ZSTD, zs.data, 3, "zstd: truncated stream");
	expect_fail(SW_COMP_ZSTD, zs.data, 0, "zstd: truncated stream");
	assert_int_equal(sw_buf_append(&zs, "garbage after the frame", 23), 0);
	expect_fail(SW_COMP_ZSTD, zs.data, zs.len, "zstd: ");
	zs.len = full;
	assert_int_equal(sw_buf_append(&zs, "\0\0\0\0", 4), 0);
	expect_fail(SW_COMP_ZSTD, zs.data, zs.len, "zstd: ");
	sw_buf_release(&data);
	sw_buf_release(&zs);
}

static void test_zstd_window_cap(void **state)
{
	/* frame header: no content size, window descriptor, one empty raw
	 * last block; window log = 10 + (descriptor >> 3) */
	static const uint8_t w27[] = { 0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x88, 0x01, 0x00, 0x00 };
	static const uint8_t w28[] = { 0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x90, 0x01, 0x00, 0x00 };
	sw_buf in = SW_BUF_INIT(64), empty = SW_BUF_INIT(64);

	(void)state;
	assert_int_equal(sw_buf_append(&in, w27, sizeof(w27)), 0);
	expect_output(SW_COMP_ZSTD, &in, &empty);
	expect_fail(SW_COMP_ZSTD, w28, sizeof(w28), "zstd: ");
	sw_buf_release(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sniff),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_gzip_roundtrip),
		cmocka_unit_test(test_gzip_header_crc_split),
		cmocka_unit_test(test_gzip_members),
		cmocka_unit_test(test_gzip_truncated),
		cmocka_unit_test(test_gzip_trailing_garbage),
		cmocka_unit_test(test_gzip_corrupt),
		cmocka_unit_test(test_sink_error),
		cmocka_unit_test(test_zstd_roundtrip),
		cmocka_unit_test(test_zstd_skippable),
		cmocka_unit_test(test_zstd_truncated_and_garbage),
		cmocka_unit_test(test_zstd_window_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
