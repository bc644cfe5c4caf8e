/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Archives inside image files: a tar.gz, tar.bz2 or tar.xz under /opt/vendor, a jar, a wheel,
 * an npm .tgz, a self-extracting installer. Attackers nest payloads to step
 * around scanners that look at layer files only. Each level is expanded in
 * memory from the bytes the engine already holds, with the same stages as a
 * layer (sw_inflate for gzip/zstd/deflate, sw_tar for tar), and every member
 * is handed back to the engine, which scans it like any file and may expand
 * it again, one level deeper, up to --max-depth.
 *
 * Bounds: bytes per member, members per archive, the compression ratio, and
 * a budget of expanded bytes shared by everything under one top-level file,
 * so a zip of zips of zips cannot multiply its way past the limits.
 */
#include <string.h>

#include <bzlib.h>
#include <lzma.h>

#include "nested.h"
#include "../layer/inflate.h"
#include "../layer/merge.h"
#include "../layer/tar.h"
#include "../util/banned.h"

#define MAX_NAME 4096

const char *sw_nested_kind(const uint8_t *p, size_t n)
{
	if (n >= 512 && (memcmp(p + 257, "ustar\0", 6) == 0 || memcmp(p + 257, "ustar ", 6) == 0))
		return "tar";
	if (n >= 4 && memcmp(p, "PK\x03\x04", 4) == 0)
		return "zip";
	switch (sw_comp_sniff(p, n)) {
	case SW_COMP_GZIP: return "gzip";
	case SW_COMP_ZSTD: return "zstd";
	case SW_COMP_BZIP2: return "bzip2";
	case SW_COMP_XZ: return "xz";
	default: return NULL;
	}
}

/* ---- decompression into a bounded buffer ---- */

typedef sw_nested_out dctx;

int sw_nested__collect(void *c, const uint8_t *p, size_t n)
{
	dctx *d = c;
	int rc;
	bool in_place = d->out.data && p == (const uint8_t *)d->out.data + d->out.len;

	if (n > *d->lim->budget) {
		d->why = "expansion budget for this file spent";
		return SW_ELIMIT;
	}
	if (d->out.len + n > 16u << 20 && d->in && (d->out.len + n) / d->in > d->lim->max_ratio) {
		d->why = "compression ratio over max-ratio";
		return SW_ELIMIT;
	}
	if (in_place) { /* decompressed where it belongs (into_out) */
		if (n > d->out.cap - d->out.len - 1)
			return SW_ERROR; /* more than into_out gave room for */
		d->out.len += n;
	} else if ((rc = sw_buf_append(&d->out, p, n)) < 0) {
		d->why = rc == SW_ENOMEM ? "out of memory" : "member larger than max-file-size";
		return rc;
	}
	*d->lim->budget -= n;
	return 0;
}

/* The decompressor writes straight into the member's buffer: room for
 * what is left of the size hint, or 64 KiB more. */
static int into_out(void *c, uint8_t **buf, size_t *cap)
{
	dctx *d = c;
	size_t want = d->hint > d->out.len + 65536 ? d->hint - d->out.len : 65536;

	if (d->out.cap - (d->out.data ? d->out.len + 1 : 0) < 4096 || !d->out.data) {
		if (sw_buf_reserve(&d->out, want) < 0) {
			int rc;
			d->out.err = 0; /* the hint was too much: try a little */
			if ((rc = sw_buf_reserve(&d->out, 4096)) < 0) {
				d->why = rc == SW_ENOMEM ? "out of memory" : "member larger than max-file-size";
				return rc;
			}
		}
	}
	*buf = (uint8_t *)d->out.data + d->out.len;
	*cap = d->out.cap - d->out.len - 1;
	return 0;
}

/* Decompress p[0..n) (kind); the result goes to d->out. */
static int decompress(sw_comp kind, const uint8_t *p, size_t n, dctx *d)
{
	sw_error err = SW_ERROR_INIT;
	sw_inflate *z = NULL;
	int rc;

	d->in = n;
	if ((rc = sw_inflate_new(&z, kind, &err)) < 0)
		return rc;
	/* a hint, from bytes an attacker wrote: never above what the limits
	 * allow (max-file-size, and the ratio once past 16 MiB) */
	if (d->hint > d->lim->max_member)
		d->hint = d->lim->max_member;
	if (d->hint > *d->lim->budget)
		d->hint = *d->lim->budget;
	if (d->hint > (16u << 20) && d->hint / (n ? n : 1) > d->lim->max_ratio)
		d->hint = 16u << 20;
	sw_inflate_set_output(z, into_out);
	rc = sw_inflate_feed(z, p, n, sw_nested__collect, d, &err);
	if (rc == 0)
		rc = sw_inflate_finish(z, &err);
	if (rc < 0 && !d->why)
		d->why = "corrupt compressed data";
	sw_inflate_free(z);
	return rc;
}

/* bzip2 and xz are not layer formats (the image spec has no such media
 * types, and layers refuse them), but they are common inside layers. */
static int decompress_bz2(const uint8_t *p, size_t n, dctx *d)
{
	bz_stream bz;
	uint8_t out[65536];
	int r, rc = 0;

	memset(&bz, 0, sizeof(bz));
	d->in = n;
	if (BZ2_bzDecompressInit(&bz, 0, 0) != BZ_OK)
		return SW_ENOMEM;
	bz.next_in = (char *)p;
	bz.avail_in = n > UINT32_MAX ? UINT32_MAX : (unsigned)n;
	do {
		bz.next_out = (char *)out;
		bz.avail_out = sizeof(out);
		r = BZ2_bzDecompress(&bz);
		if (r != BZ_OK && r != BZ_STREAM_END) {
			d->why = "corrupt bzip2 data";
			rc = SW_EFORMAT;
			break;
		}
		if ((rc = sw_nested__collect(d, out, sizeof(out) - bz.avail_out)) < 0)
			break;
		if (r == BZ_OK && bz.avail_in == 0 && bz.avail_out != 0) {
			d->why = "truncated bzip2 data";
			rc = SW_EFORMAT;
			break;
		}
	} while (r != BZ_STREAM_END);
	BZ2_bzDecompressEnd(&bz);
	return rc;
}

static int decompress_xz(const uint8_t *p, size_t n, dctx *d)
{
	lzma_stream xz = LZMA_STREAM_INIT;
	uint8_t out[65536];
	lzma_ret r;
	int rc = 0;

	d->in = n;
	/* 128 MiB of decoder memory at most, as for zstd windows */
	if (lzma_stream_decoder(&xz, 128u << 20, LZMA_CONCATENATED) != LZMA_OK)
		return SW_ENOMEM;
	xz.next_in = p;
	xz.avail_in = n;
	do {
		xz.next_out = out;
		xz.avail_out = sizeof(out);
		r = lzma_code(&xz, LZMA_FINISH);
		if (r != LZMA_OK && r != LZMA_STREAM_END) {
			d->why = r == LZMA_MEMLIMIT_ERROR ? "xz stream needs too much memory" :
				 r == LZMA_BUF_ERROR ? "truncated xz data" : "corrupt xz data";
			rc = r == LZMA_MEMLIMIT_ERROR ? SW_ELIMIT : SW_EFORMAT;
			break;
		}
		if ((rc = sw_nested__collect(d, out, sizeof(out) - xz.avail_out)) < 0)
			break;
	} while (r != LZMA_STREAM_END);
	lzma_end(&xz);
	return rc;
}

static int member_name(char *out, const char *outer, const char *inner, size_t ilen)
{
	char clean[MAX_NAME];

	if (sw_path_clean(inner, ilen, clean, sizeof(clean)) < 0)
		return SW_EFORMAT;
	if ((size_t)snprintf(out, MAX_NAME, "%s!%s", outer, clean + 1) >= MAX_NAME)
		return SW_ELIMIT;
	return 0;
}

/* ---- tar ---- */

typedef struct tctx {
	const char *outer;
	const sw_nested_limits *lim;
	const sw_nested_cb *cb;
	sw_buf data;
	char name[MAX_NAME];
	uint32_t mode;
	bool in_file, skip;
	int count, rc;
} tctx;

static int t_entry(void *c, const sw_tar_entry *e)
{
	tctx *t = c;
	int rc;

	if (t->cb->hostile && member_name(t->name, t->outer, e->name, e->name_len) == 0) {
		const char *inner = t->name + strlen(t->outer) + 1, *base = strrchr(inner, '/');
		base = base ? base + 1 : inner;
		if (sw_marker_kind(base, strlen(base), NULL) == SW_MARK_HOSTILE &&
		    (rc = t->cb->hostile(t->cb->ctx, t->name, base)) < 0)
			return rc;
	}
	t->in_file = e->type == '0' && !e->sparse;
	t->skip = false;
	t->mode = e->mode;
	sw_buf_reset(&t->data);
	if (!t->in_file)
		return 0;
	if ((uint32_t)t->count >= t->lim->max_members) {
		t->skip = true;
		return t->count++ == (int)t->lim->max_members ?
			t->cb->incomplete(t->cb->ctx, t->outer, "more members than the nested-archive limit") : 0;
	}
	if (member_name(t->name, t->outer, e->name, e->name_len) < 0) {
		t->skip = true;
		return t->cb->incomplete(t->cb->ctx, t->outer, "member name escapes or is too long");
	}
	if (e->size > t->lim->max_member || e->size > *t->lim->budget) {
		t->skip = true;
		return t->cb->incomplete(t->cb->ctx, t->name, "nested member over max-file-size or budget");
	}
	return 0;
}

static int t_data(void *c, const uint8_t *p, size_t n)
{
	tctx *t = c;

	if (!t->in_file || t->skip)
		return 0;
	return sw_buf_append(&t->data, p, n);
}

static int t_end(void *c)
{
	tctx *t = c;
	int rc;

	if (!t->in_file || t->skip)
		return 0;
	t->in_file = false;
	*t->lim->budget -= t->data.len;
	t->count++;
	rc = t->cb->member(t->cb->ctx, t->name, t->mode, (const uint8_t *)(t->data.data ? t->data.data : ""),
			   t->data.len);
	if (rc < 0)
		t->rc = rc;
	return rc;
}

static int expand_tar(const char *outer, const uint8_t *p, size_t n, const sw_nested_limits *lim,
		      const sw_nested_cb *cb)
{
	tctx t = { outer, lim, cb, SW_BUF_INIT(lim->max_member), "", 0, false, false, 0, 0 };
	sw_tar_cb tcb = { &t, t_entry, t_data, t_end };
	sw_error err = SW_ERROR_INIT;
	sw_tar *tar = sw_tar_new(&tcb, 1 << 20);
	bool trailing;
	int rc;

	if (!tar)
		return SW_ENOMEM;
	rc = sw_tar_feed(tar, p, n, &err);
	if (rc == 0)
		rc = sw_tar_finish(tar, &trailing, &err);
	sw_tar_free(tar);
	sw_buf_release(&t.data);
	if (t.rc < 0)
		return t.rc; /* a callback's own error */
	if (rc == SW_ENOMEM)
		return rc; /* ours, not the archive's */
	if (rc < 0)
		return cb->incomplete(cb->ctx, outer, "nested tar is corrupt or truncated");
	return t.count;
}

/* ---- zip: central directory, stored and deflate members ---- */

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static int expand_zip(const char *outer, const uint8_t *p, size_t n, const sw_nested_limits *lim,
		      const sw_nested_cb *cb)
{
	size_t eocd, off, i, entries;
	char name[MAX_NAME];
	int count = 0, rc;
	bool is_dir;

	if (n < 22)
		return cb->incomplete(cb->ctx, outer, "zip too short");
	for (eocd = n - 22;; eocd--) { /* end record: within the last 64 KiB + 22 */
		if (le32(p + eocd) == 0x06054b50)
			break;
		if (eocd == 0 || n - eocd > 65557)
			return cb->incomplete(cb->ctx, outer, "zip end-of-central-directory not found");
	}
	entries = le16(p + eocd + 10);
	off = le32(p + eocd + 16);
	for (i = 0; i < entries; i++) {
		uint16_t method, nlen, xlen, clen_c, flags;
		uint32_t csize, usize, lho;
		size_t data;
		if (off + 46 > n || le32(p + off) != 0x02014b50)
			return cb->incomplete(cb->ctx, outer, "zip central directory is corrupt");
		flags = le16(p + off + 8);
		method = le16(p + off + 10);
		csize = le32(p + off + 20);
		usize = le32(p + off + 24);
		nlen = le16(p + off + 28);
		xlen = le16(p + off + 30);
		clen_c = le16(p + off + 32);
		lho = le32(p + off + 42);
		if (off + 46 + nlen > n)
			return cb->incomplete(cb->ctx, outer, "zip central directory is corrupt");
		rc = member_name(name, outer, (const char *)p + off + 46, nlen);
		is_dir = nlen && p[off + 46 + nlen - 1] == '/';
		off += 46u + nlen + xlen + clen_c;
		if (rc < 0) {
			if ((rc = cb->incomplete(cb->ctx, outer, "zip member name escapes or is too long")) < 0)
				return rc;
			continue;
		}
		if (is_dir)
			continue;
		if ((uint32_t)count >= lim->max_members)
			return cb->incomplete(cb->ctx, outer, "more members than the nested-archive limit");
		/* size_t arithmetic: a hostile offset near 4 GiB must not wrap */
		if ((size_t)lho + 30 > n || le32(p + lho) != 0x04034b50)
			return cb->incomplete(cb->ctx, name, "zip local header missing");
		data = (size_t)lho + 30 + le16(p + lho + 26) + le16(p + lho + 28);
		if ((flags & 1) || (method != 0 && method != 8) || data > n || csize > n - data ||
		    usize > lim->max_member || usize > *lim->budget) {
			if ((rc = cb->incomplete(cb->ctx, name, (flags & 1) ? "encrypted zip member" :
						 (method != 0 && method != 8) ? "zip member uses an unsupported method" :
						 "zip member over max-file-size, budget, or past the end")) < 0)
				return rc;
			continue;
		}
		if (method == 0) {
			*lim->budget -= csize;
			rc = cb->member(cb->ctx, name, 0644, p + data, csize);
		} else {
			dctx dz = { SW_BUF_INIT(lim->max_member), usize, 0, lim, NULL };
			int dr = decompress(SW_COMP_DEFLATE, p + data, csize, &dz);
			if (dr == SW_ENOMEM)
				rc = dr; /* an error of ours, not the archive's */
			else if (dr < 0)
				rc = cb->incomplete(cb->ctx, name, dz.why);
			else
				rc = cb->member(cb->ctx, name, 0644,
						(const uint8_t *)(dz.out.data ? dz.out.data : ""), dz.out.len);
			sw_buf_release(&dz.out);
		}
		if (rc < 0)
			return rc;
		count++;
	}
	return count;
}

/* A script with an archive appended: where the archive starts, or NULL. */
static const uint8_t *sfx_payload(const uint8_t *data, size_t len)
{
	static const char *const marks[] = { "\n\x1f\x8b\x08", "\nPK\x03\x04", "\n\x28\xb5\x2f\xfd" };
	size_t i;

	if (len <= 2 || data[0] != '#' || data[1] != '!')
		return NULL;
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		const uint8_t *at = memmem(data, len, marks[i], strlen(marks[i]));
		if (at)
			return at + 1;
	}
	return NULL;
}

bool sw_nested_expandable(const uint8_t *data, size_t len)
{
	return sw_nested_kind(data, len) || sfx_payload(data, len);
}

int sw_nested_expand(const char *outer, const uint8_t *data, size_t len,
		     const sw_nested_limits *lim, const sw_nested_cb *cb)
{
	const char *kind = sw_nested_kind(data, len);
	const uint8_t *at = kind ? NULL : sfx_payload(data, len);
	int rc;

	if (at) {
		char name[MAX_NAME];
		if (cb->sfx && (rc = cb->sfx(cb->ctx, outer, (size_t)(at - data))) < 0)
			return rc;
		snprintf(name, sizeof(name), "%s!payload", outer);
		return sw_nested_expand(name, at, len - (size_t)(at - data), lim, cb);
	}
	if (!kind) /* not an archive: an executable may still carry a compressed payload */
		return sw_nested_embedded(outer, data, len, lim, cb);
	if (!strcmp(kind, "tar"))
		return expand_tar(outer, data, len, lim, cb);
	if (!strcmp(kind, "zip"))
		return expand_zip(outer, data, len, lim, cb);
	{
		/* gzip ends with the size mod 2^32: a hint for the buffer */
		dctx d = { SW_BUF_INIT(lim->max_member),
			   len >= 18 && !strcmp(kind, "gzip") ? (size_t)le32(data + len - 4) : 0, 0, lim, NULL };
		char name[MAX_NAME];
		const char *base = strrchr(outer, '/') ? strrchr(outer, '/') + 1 : outer;
		size_t bl = strlen(base);
		int dr = !strcmp(kind, "bzip2") ? decompress_bz2(data, len, &d) :
			 !strcmp(kind, "xz") ? decompress_xz(data, len, &d) :
			 decompress(!strcmp(kind, "gzip") ? SW_COMP_GZIP : SW_COMP_ZSTD, data, len, &d);
		if (dr < 0) {
			rc = dr == SW_ENOMEM ? dr : cb->incomplete(cb->ctx, outer, d.why);
			sw_buf_release(&d.out);
			return rc;
		}
		/* x.tar.gz / x.tgz hold a tar: expand it in place of the gzip level */
		if (sw_nested_kind((const uint8_t *)d.out.data, d.out.len) &&
		    !strcmp(sw_nested_kind((const uint8_t *)d.out.data, d.out.len), "tar")) {
			rc = expand_tar(outer, (const uint8_t *)d.out.data, d.out.len, lim, cb);
		} else {
			static const char *const sufs[] = { ".gz", ".zst", ".bz2", ".xz" };
			size_t k;
			for (k = 0; k < sizeof(sufs) / sizeof(sufs[0]); k++)
				if (bl > strlen(sufs[k]) && !strcmp(base + bl - strlen(sufs[k]), sufs[k])) {
					bl -= strlen(sufs[k]);
					break;
				}
			snprintf(name, sizeof(name), "%s!%.*s", outer, (int)bl, base);
			rc = cb->member(cb->ctx, name, 0644, (const uint8_t *)(d.out.data ? d.out.data : ""),
					d.out.len);
			rc = rc < 0 ? rc : 1;
		}
		sw_buf_release(&d.out);
		return rc;
	}
}
