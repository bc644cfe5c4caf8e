/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compressed streams inside executables. A home-made packer links the
 * miner into its loader as a zlib, gzip, zstd, xz or LZMA stream and, run,
 * inflates it into a memory file and executes that: rules written for the
 * miner never see its bytes. So inside an ELF file we look for the magic
 * of each format where a loader keeps its payload (the loadable segments,
 * and whatever is appended after the ELF's own structure; never debug
 * sections, which Go and others compress as a matter of course), check
 * that the header is valid, and decompress: a stream that ends cleanly
 * (with its checksum where the format has one) is handed back to the
 * engine as a member "outer!zlib@OFFSET", scanned like any file and
 * searched again one level deeper, up to --max-depth.
 *
 * Every ELF file is searched, so the search must cost little: in a file
 * over 256 KiB only the 64 KiB blocks whose middle 1 KiB is dense (nearly
 * every byte value, none far above its share), and the block before each,
 * are searched; an ordinary program has a handful of such blocks at most,
 * a payload of 128 KiB or more always covers one. Magic is found with
 * memchr on its first byte.
 *
 * Nothing is run. Bounds: what nested archives have (bytes per member,
 * the shared budget, the ratio), 64 streams per file (Prometheus carries
 * two dozen small gzip'd assets), 65,536 candidate headers per file, and
 * the search only over ELF files. A candidate that fails within its first
 * 4 KiB of output is not a stream; a gzip, zstd or xz stream (long magic,
 * a checksum) that breaks off later, and any stream that runs into a
 * limit, is reported as not fully read. zlib's two bytes of magic occur
 * by chance in any large program and LZMA has no checksum: a broken one
 * of those is not reported (it cannot be told from chance).
 */
#include <stdlib.h>
#include <string.h>

#include <isa-l/igzip_lib.h>
#include <lzma.h>
#include <zstd.h>

#include "nested.h"
#include "../util/elf.h"
#include "../util/banned.h"

#define MAX_STREAMS 64
#define MAX_TRIES 65536
#define MAX_WASTE (256ull << 20) /* bytes decoded from candidates that came to nothing, per file */
#define MAX_RANGES 16
#define PROBE 4096            /* output a candidate must yield before a failure counts */
#define CHUNK 65536
#define WHOLE (256u << 10)   /* files up to this are searched whole */
#define BLOCK (64u << 10)    /* larger ones: blocks gated by a sample's density */
#define SAMPLE 1024u
#define MIN_OUT 16            /* a stream that yields less is not handed on (chance, or nothing to scan) */

typedef enum { K_XZ, K_ZSTD, K_GZIP, K_LZMA, K_ZLIB, K_N } kind;

static const char *const kind_name[K_N] = { "xz", "zstd", "gzip", "lzma", "zlib" };

/* One decoding: output goes through a stack chunk into o (first call of
 * sw_nested__collect only once a chunk fills or the stream ends, so a
 * false candidate costs no allocation). */
typedef struct dec {
	sw_nested_out o;
	struct inflate_state gz; /* ISA-L's state holds its own history: large, so not on the stack */
	uint8_t chunk[CHUNK];
	size_t held;            /* bytes in chunk */
	uint64_t produced, used;
	int rc;                 /* a limit or out of memory from collect */
} dec;

static int flush(dec *d)
{
	int rc = 0;

	if (d->held && (rc = sw_nested__collect(&d->o, d->chunk, d->held)) < 0)
		d->rc = rc;
	d->held = 0;
	return rc;
}

/* Results of one try. */
enum { T_NONE, T_OK, T_BROKEN };

static int end_try(dec *d, bool ended, const char *why)
{
	if (ended && flush(d) == 0)
		return T_OK;
	if (d->rc < 0)
		return T_BROKEN; /* a limit: o.why says which */
	if (d->produced < PROBE)
		return T_NONE;
	d->o.why = why;
	return T_BROKEN;
}

static int try_deflate(dec *d, const uint8_t *p, size_t n, bool gzip)
{
	struct inflate_state *s = &d->gz;
	int r;

	isal_inflate_init(s);
	s->crc_flag = gzip ? ISAL_GZIP : ISAL_ZLIB;
	s->next_in = (uint8_t *)p;
	s->avail_in = n > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)n;
	for (;;) {
		uint8_t *out = d->chunk + d->held;
		uint32_t before = s->avail_in;
		s->next_out = out;
		s->avail_out = (uint32_t)(CHUNK - d->held);
		r = isal_inflate(s);
		d->held += (size_t)(s->next_out - out);
		d->produced += (size_t)(s->next_out - out);
		d->o.in = (uint64_t)(s->next_in - p);
		if (r < 0)
			return end_try(d, false, r == ISAL_INCORRECT_CHECKSUM ? "checksum mismatch" :
				       "corrupt deflate data");
		if (s->block_state == ISAL_BLOCK_FINISH) {
			d->used = d->o.in;
			return end_try(d, true, NULL);
		}
		if (d->held == CHUNK) {
			if (flush(d) < 0)
				return T_BROKEN;
		} else if (!s->avail_in || (s->next_out == out && s->avail_in == before)) {
			return end_try(d, false, "stream cut short by the end of the file");
		}
	}
}

static int try_zstd(dec *d, const uint8_t *p, size_t n)
{
	ZSTD_DStream *z = ZSTD_createDStream();
	ZSTD_inBuffer in = { p, n, 0 };
	int t = T_BROKEN;

	if (!z) {
		d->rc = SW_ENOMEM;
		d->o.why = "out of memory";
		return T_BROKEN;
	}
	ZSTD_initDStream(z);
	ZSTD_DCtx_setParameter(z, ZSTD_d_windowLogMax, 27);
	for (;;) {
		ZSTD_outBuffer o = { d->chunk + d->held, CHUNK - d->held, 0 };
		size_t r = ZSTD_decompressStream(z, &o, &in);
		d->held += o.pos;
		d->produced += o.pos;
		d->o.in = in.pos;
		if (ZSTD_isError(r)) {
			t = end_try(d, false, "corrupt zstd data");
			break;
		}
		if (r == 0) {
			d->used = in.pos;
			t = end_try(d, true, NULL);
			break;
		}
		if (d->held == CHUNK) {
			if (flush(d) < 0)
				break;
		} else if (in.pos == in.size) {
			t = end_try(d, false, "stream cut short by the end of the file");
			break;
		}
	}
	ZSTD_freeDStream(z);
	return t;
}

static int try_lzma(dec *d, const uint8_t *p, size_t n, bool xz)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret r;
	int t = T_BROKEN;

	/* 128 MiB of decoder memory at most, as for nested xz */
	if ((xz ? lzma_stream_decoder(&s, 128u << 20, 0) : lzma_alone_decoder(&s, 128u << 20)) != LZMA_OK) {
		d->rc = SW_ENOMEM;
		d->o.why = "out of memory";
		return T_BROKEN;
	}
	s.next_in = p;
	s.avail_in = n;
	for (;;) {
		uint8_t *out = d->chunk + d->held;
		s.next_out = out;
		s.avail_out = CHUNK - d->held;
		r = lzma_code(&s, LZMA_FINISH);
		d->held += (size_t)(s.next_out - out);
		d->produced += (size_t)(s.next_out - out);
		d->o.in = s.total_in;
		if (r == LZMA_STREAM_END) {
			d->used = s.total_in;
			t = end_try(d, true, NULL);
			break;
		}
		if (r != LZMA_OK) {
			t = end_try(d, false, r == LZMA_MEMLIMIT_ERROR ? "stream needs too much decoder memory" :
				    r == LZMA_BUF_ERROR ? "stream cut short by the end of the file" :
				    "corrupt LZMA data");
			break;
		}
		if (d->held == CHUNK && flush(d) < 0)
			break;
	}
	lzma_end(&s);
	return t;
}

/* Is a valid header of kind k at p[0..n)? Cheap checks before decoding. */
static bool header_ok(kind k, const uint8_t *p, size_t n)
{
	uint32_t dict;

	switch (k) {
	case K_ZLIB: /* deflate, 32 KiB window, no preset dictionary, first block type valid */
		return n >= 3 && p[0] == 0x78 && ((p[0] << 8 | p[1]) % 31) == 0 && !(p[1] & 0x20) &&
		       ((p[2] >> 1) & 3) != 3;
	case K_GZIP:
		return n >= 18 && !(p[3] & 0xe0);
	case K_ZSTD: /* frame header descriptor: reserved bit clear */
		return n >= 6 && !(p[4] & 0x08);
	case K_XZ: /* stream flags: first byte zero, check type a defined one */
		return n >= 12 && p[6] == 0 && (p[7] == 0 || p[7] == 1 || p[7] == 4 || p[7] == 10);
	case K_LZMA: /* lc=3 lp=0 pb=2, a power-of-two dictionary of 64 KiB..64 MiB, the size
		      * unknown (-1) or from MIN_OUT to 4 GiB, and the range coder's first byte 0 */
		if (n < 14 || p[13] != 0)
			return false;
		dict = (uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 | (uint32_t)p[4] << 24;
		if (dict < (1u << 16) || dict > (1u << 26) || (dict & (dict - 1)))
			return false;
		return memcmp(p + 5, "\xff\xff\xff\xff\xff\xff\xff\xff", 8) == 0 ||
		       (p[9] == 0 && p[10] == 0 && p[11] == 0 && p[12] == 0 &&
			((uint32_t)p[5] | (uint32_t)p[6] << 8 | (uint32_t)p[7] << 16 | (uint32_t)p[8] << 24) >= MIN_OUT);
	default:
		return false;
	}
}

/* The next place the magic of kind k starts. memchr for its first byte,
 * then the rest compared: memchr runs many bytes a cycle, where memmem
 * over a short needle runs one, and this search sees every ELF file. */
static const uint8_t *next_magic(kind k, const uint8_t *p, const uint8_t *end)
{
	static const char *const magic[K_N] = { "\xfd" "7zXZ\0", "\x28\xb5\x2f\xfd", "\x1f\x8b\x08",
						"\x5d\x00\x00", "\x78" };
	static const size_t mlen[K_N] = { 6, 4, 3, 3, 1 };
	const uint8_t first = (uint8_t)magic[k][0];

	while (p < end && (p = memchr(p, first, (size_t)(end - p)))) {
		if ((size_t)(end - p) >= mlen[k] && memcmp(p, magic[k], mlen[k]) == 0)
			return p;
		p++;
	}
	return NULL;
}

typedef struct span {
	size_t from, to;
} span;

typedef struct search {
	const char *outer;
	const uint8_t *data;
	size_t len;
	const sw_nested_limits *lim;
	const sw_nested_cb *cb;
	dec *d;                 /* one decoder for every candidate */
	bool *dense;            /* per block, once per file (files over WHOLE) */
	span found[MAX_STREAMS];
	size_t nfound, tries;
	uint64_t wasted;        /* output of candidates that were not streams */
	int members;
	bool over;              /* the stream limit was reported */
} search;

static bool inside_found(const search *s, size_t at)
{
	size_t i;

	for (i = 0; i < s->nfound; i++)
		if (at >= s->found[i].from && at < s->found[i].to)
			return true;
	return false;
}

/* Decode the candidate at `at`; returns a callback's error, else 0, and
 * sets *skip to the bytes the stream used (0 when it was none). */
static int candidate(search *s, kind k, size_t at, size_t *skip)
{
	dec *d = s->d;
	char name[4096];
	int t, rc = 0;

	*skip = 0;
	d->held = 0;
	d->produced = d->used = 0;
	d->rc = 0;
	memset(&d->o, 0, sizeof(d->o));
	d->o.out = (sw_buf)SW_BUF_INIT(s->lim->max_member);
	d->o.lim = s->lim;
	t = k == K_ZLIB || k == K_GZIP ? try_deflate(d, s->data + at, s->len - at, k == K_GZIP) :
	    k == K_ZSTD ? try_zstd(d, s->data + at, s->len - at) :
	    try_lzma(d, s->data + at, s->len - at, k == K_XZ);
	if (d->rc == SW_ENOMEM) {
		rc = SW_ENOMEM;
		goto out;
	}
	/* zlib's two bytes of magic and LZMA's lack of a checksum leave a
	 * stream that breaks off indistinguishable from chance (a run of 0xff
	 * decodes as literals for a long way): only a limit counts there */
	if (t == T_NONE || (t == T_BROKEN && d->rc == 0 && (k == K_ZLIB || k == K_LZMA)) ||
	    (t == T_OK && d->o.out.len < MIN_OUT)) {
		/* chance headers decode a little before they fail: a file made
		 * of them must not buy gigabytes of decoding (65,536 tries of up
		 * to a chunk each, uncharged to the shared budget) */
		s->wasted += d->produced;
		goto out;
	}
	snprintf(name, sizeof(name), "%s!%s@%zu", s->outer, kind_name[k], at);
	if (s->nfound == MAX_STREAMS) {
		if (!s->over)
			rc = s->cb->incomplete(s->cb->ctx, s->outer,
					       "more than 64 compressed streams embedded: the rest not decompressed");
		s->over = true;
		*skip = s->len; /* stop */
		goto out;
	}
	*skip = d->used ? (size_t)d->used : (size_t)(d->o.in ? d->o.in : 1);
	s->found[s->nfound++] = (span){ at, at + *skip };
	if (t == T_BROKEN) {
		char why[256];
		snprintf(why, sizeof(why), "embedded %s stream at offset %zu not fully read after %llu bytes: %s",
			 kind_name[k], at, (unsigned long long)d->produced, d->o.why ? d->o.why : "limit");
		rc = s->cb->incomplete(s->cb->ctx, s->outer, why);
		goto out;
	}
	if (s->cb->embedded &&
	    (rc = s->cb->embedded(s->cb->ctx, s->outer, kind_name[k], at, *skip,
				  (const uint8_t *)(d->o.out.data ? d->o.out.data : ""), d->o.out.len)) < 0)
		goto out;
	rc = s->cb->member(s->cb->ctx, name, 0644, (const uint8_t *)(d->o.out.data ? d->o.out.data : ""),
			   d->o.out.len);
	if (rc >= 0)
		s->members++;
out:
	sw_buf_release(&d->o.out);
	return rc < 0 ? rc : 0;
}

/* Search [from, to) for streams of kind k. */
static int search_range(search *s, kind k, size_t from, size_t to)
{
	const uint8_t *at = s->data + from, *end = s->data + to;
	int rc;

	while ((at = next_magic(k, at, end))) {
		size_t off = (size_t)(at - s->data), skip;
		if (inside_found(s, off) || !header_ok(k, at, s->len - off)) {
			at++;
			continue;
		}
		if (++s->tries > MAX_TRIES)
			return s->cb->incomplete(s->cb->ctx, s->outer,
						 "more than 65536 candidate compressed-stream headers: search stopped");
		if (s->wasted > MAX_WASTE) {
			s->tries = MAX_TRIES + 1; /* stop every range */
			return s->cb->incomplete(s->cb->ctx, s->outer,
						 "over 256 MiB decoded from candidate headers that were not streams: "
						 "search stopped");
		}
		if ((rc = candidate(s, k, off, &skip)) < 0)
			return rc;
		if (skip >= s->len - off)
			break;
		at += skip ? skip : 1;
	}
	return 0;
}

static int by_start(const void *a, const void *b)
{
	const span *x = a, *y = b;
	return x->from < y->from ? -1 : x->from > y->from;
}

/* Where a loader keeps its payload: the loadable segments' file bytes and
 * the overlay after the ELF's structure, merged and in order. */
static size_t ranges(const sw_elf *e, span *r)
{
	size_t nr = 0, i, m;
	uint64_t ext = sw_elf_extent(e);
	sw_elf_seg g;
	unsigned k;

	for (k = 0; sw_elf_segment(e, k, &g) && nr < MAX_RANGES - 1; k++)
		if (g.type == SW_PT_LOAD && g.off < e->n && g.filesz)
			r[nr++] = (span){ (size_t)g.off, g.filesz > e->n - g.off ? e->n : (size_t)(g.off + g.filesz) };
	if (ext < e->n)
		r[nr++] = (span){ (size_t)ext, e->n };
	if (!nr)
		r[nr++] = (span){ 64, e->n }; /* no segments: the whole file */
	qsort(r, nr, sizeof(*r), by_start);
	for (i = 1, m = 0; i < nr; i++) {
		if (r[i].from <= r[m].to) {
			if (r[i].to > r[m].to)
				r[m].to = r[i].to;
		} else {
			r[++m] = r[i];
		}
	}
	return m + 1;
}

/* Is the 1 KiB in the middle of block b dense (compressed or encrypted)?
 * Uniform bytes: nearly every value present, none much above its share of
 * 4; code, tables and text all have a few values far above it. */
static bool dense_block(const uint8_t *p, size_t n, size_t b)
{
	size_t mid = b * BLOCK + BLOCK / 2, i, distinct = 0, most = 0;
	uint16_t c[256];

	if (mid < SAMPLE / 2 || mid + SAMPLE / 2 > n)
		return false;
	memset(c, 0, sizeof(c));
	for (i = mid - SAMPLE / 2; i < mid + SAMPLE / 2; i++)
		c[p[i]]++;
	for (i = 0; i < 256; i++) {
		distinct += c[i] != 0;
		most = c[i] > most ? c[i] : most;
	}
	return distinct >= 192 && most <= 20;
}

/* Search [from, to) for every kind: whole when the file is small, else
 * only the blocks that are dense or precede a dense one (a stream's header
 * may sit at the end of the block before its body). */
static int search_all(search *s, kind k, size_t from, size_t to)
{
	size_t b;
	int rc;

	if (s->len <= WHOLE)
		return search_range(s, k, from, to);
	for (b = from / BLOCK; b * BLOCK < to && !s->over && s->tries <= MAX_TRIES; b++) {
		size_t lo = b * BLOCK > from ? b * BLOCK : from, hi = (b + 1) * BLOCK < to ? (b + 1) * BLOCK : to;
		if (!s->dense[b] && !s->dense[b + 1])
			continue;
		if ((rc = search_range(s, k, lo, hi)) < 0)
			return rc;
	}
	return 0;
}

int sw_nested_embedded(const char *outer, const uint8_t *data, size_t len,
		       const sw_nested_limits *lim, const sw_nested_cb *cb)
{
	search s = { outer, data, len, lim, cb, NULL, NULL, { { 0, 0 } }, 0, 0, 0, false };
	span r[MAX_RANGES];
	size_t nr, i;
	sw_elf e;
	int k, rc;

	if (!sw_elf_open(&e, data, len))
		return 0;
	if (!(s.d = malloc(sizeof(*s.d))))
		return SW_ENOMEM;
	if (len > WHOLE) {
		size_t b, nb = len / BLOCK + 2;
		if (!(s.dense = malloc(nb))) {
			free(s.d);
			return SW_ENOMEM;
		}
		for (b = 0; b < nb; b++)
			s.dense[b] = dense_block(data, len, b);
	}
	nr = ranges(&e, r);
	for (k = 0, rc = 0; k < K_N && !s.over && s.tries <= MAX_TRIES && rc == 0; k++)
		for (i = 0; i < nr && !s.over && s.tries <= MAX_TRIES && rc == 0; i++)
			if (r[i].to > 64) /* past the file header (a 32-bit one of 52..64 bytes has nothing after it) */
				rc = search_all(&s, (kind)k, r[i].from < 64 ? 64 : r[i].from, r[i].to);
	free(s.d);
	free(s.dense);
	return rc < 0 ? rc : s.members;
}
