/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streaming decompression of layer blobs.
 *
 * gzip goes through ISA-L's igzip inflater: of the three Debian libraries we
 * measured (zlib, libdeflate, isa-l; see bench/gunzip.c and
 * docs/ARCHITECTURE.md) it is the fastest that can stream, and libdeflate
 * cannot stream at all (it wants the whole input and output in memory).
 * ISA-L insists on seeing a gzip header whole in one call, and a header can
 * be cut anywhere by our reads (FNAME and FEXTRA make it any length), so we
 * parse member headers ourselves, byte by byte, and hand ISA-L only the
 * deflate data, asking it to verify the trailer (ISAL_GZIP_NO_HDR_VER).
 * Concatenated gzip members are followed, as Go's reader does; bytes after
 * the last member that do not start another member are an error, because a
 * container runtime would refuse the layer.
 *
 * zstd goes through libzstd's streaming API; skippable frames (zstd:chunked)
 * are handled by libzstd itself. Plain tar passes through.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include "inflate.h"
#include "../util/banned.h"

#define OUT_CHUNK (256u << 10)
#define MAX_GZ_HEADER (1u << 20)

enum { GH_FIXED, GH_XLEN, GH_EXTRA, GH_NAME, GH_COMMENT, GH_HCRC, GH_DONE };
enum { FHCRC = 2, FEXTRA = 4, FNAME = 8, FCOMMENT = 16 };

struct sw_inflate {
	sw_comp kind;
	uint8_t *out;        /* ours, made on first use */
	sw_outbuf_fn get;    /* the caller's buffers, if set */
	bool gz_member_done; /* between members: waiting to see the next header */
	bool gz_in_header;
	int gh_state;
	uint8_t gh_buf[10];
	size_t gh_n, gh_total;
	uint32_t gh_need, gh_crc;
	uint8_t gh_flg;
	ZSTD_DStream *zs;
	bool zs_frame_done;
	uint64_t in_total;
	/* last: ISA-L's state is large (its window) and isal_inflate_init
	 * sets what it needs, so it is not zeroed (a zip of 15,000 small
	 * members would otherwise clear a gigabyte) */
	struct inflate_state gz;
};

static void gz_member_start(sw_inflate *z);

void sw_inflate_set_output(sw_inflate *z, sw_outbuf_fn get)
{
	z->get = get;
}

/* Where the next step writes: our buffer, or the caller's. */
static int out_buf(sw_inflate *z, void *ctx, uint8_t **buf, size_t *cap)
{
	int rc;

	if (!z->get) {
		if (!z->out && !(z->out = malloc(OUT_CHUNK)))
			return SW_ENOMEM;
		*buf = z->out;
		*cap = OUT_CHUNK;
		return 0;
	}
	if ((rc = z->get(ctx, buf, cap)) < 0)
		return rc;
	if (*cap > UINT32_MAX / 2)
		*cap = UINT32_MAX / 2;
	return *cap ? 0 : SW_ERROR;
}

sw_comp sw_comp_sniff(const uint8_t *p, size_t n)
{
	if (n >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 0x08)
		return SW_COMP_GZIP;
	if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
		return SW_COMP_ZSTD;
	if (n >= 4 && (p[0] & 0xF0) == 0x50 && p[1] == 0x2a && p[2] == 0x4d && p[3] == 0x18)
		return SW_COMP_ZSTD; /* starts with a skippable frame */
	if (n >= 3 && p[0] == 'B' && p[1] == 'Z' && p[2] == 'h')
		return SW_COMP_BZIP2;
	if (n >= 6 && memcmp(p, "\xFD" "7zXZ\0", 6) == 0)
		return SW_COMP_XZ;
	return SW_COMP_NONE;
}

const char *sw_comp_name(sw_comp c)
{
	switch (c) {
	case SW_COMP_NONE: return "tar";
	case SW_COMP_GZIP: return "gzip";
	case SW_COMP_ZSTD: return "zstd";
	case SW_COMP_BZIP2: return "bzip2";
	case SW_COMP_XZ: return "xz";
	case SW_COMP_DEFLATE: return "deflate";
	default: return "unknown";
	}
}

int sw_inflate_new(sw_inflate **out, sw_comp kind, sw_error *err)
{
	sw_inflate *z;

	*out = NULL;
	if (kind != SW_COMP_NONE && kind != SW_COMP_GZIP && kind != SW_COMP_ZSTD &&
	    kind != SW_COMP_DEFLATE)
		return sw_error_set(err, SW_EFORMAT,
				    "%s-compressed layers are not supported by the image spec",
				    sw_comp_name(kind));
	if (!(z = malloc(sizeof(*z))))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	memset(z, 0, offsetof(sw_inflate, gz));
	z->kind = kind;
	if (kind == SW_COMP_GZIP) {
		gz_member_start(z);
	} else if (kind == SW_COMP_DEFLATE) {
		/* a zip member: one raw deflate stream, no header, no trailer */
		z->gz_in_header = false;
		isal_inflate_init(&z->gz);
		z->gz.crc_flag = ISAL_DEFLATE;
	} else if (kind == SW_COMP_ZSTD) {
		if (!(z->zs = ZSTD_createDStream()))
			goto oom;
		ZSTD_initDStream(z->zs);
		/* Refuse frames that ask for a window over 128 MiB: that much
		 * memory per layer is a denial of service, not a layer. */
		ZSTD_DCtx_setParameter(z->zs, ZSTD_d_windowLogMax, 27);
	}
	*out = z;
	return 0;
oom:
	sw_inflate_free(z);
	return sw_error_set(err, SW_ENOMEM, "out of memory");
}

void sw_inflate_free(sw_inflate *z)
{
	if (!z)
		return;
	ZSTD_freeDStream(z->zs);
	free(z->out);
	free(z);
}

/* Step past the optional header fields this member's flags say are absent. */
static void gh_skip(sw_inflate *z)
{
	if (z->gh_state == GH_XLEN && !(z->gh_flg & FEXTRA))
		z->gh_state = GH_NAME;
	if (z->gh_state == GH_NAME && !(z->gh_flg & FNAME))
		z->gh_state = GH_COMMENT;
	if (z->gh_state == GH_COMMENT && !(z->gh_flg & FCOMMENT))
		z->gh_state = GH_HCRC;
	if (z->gh_state == GH_HCRC && !(z->gh_flg & FHCRC))
		z->gh_state = GH_DONE;
	z->gh_n = 0;
}

/* Advance the member-header parser over p[0..n); returns bytes consumed or
 * a negative error. gh_state is GH_DONE once the header has ended. */
static long gz_header(sw_inflate *z, const uint8_t *p, size_t n, sw_error *err)
{
	size_t i = 0;

	while (i < n && z->gh_state != GH_DONE) {
		uint8_t c = p[i++];
		if (++z->gh_total > MAX_GZ_HEADER)
			return sw_error_set(err, SW_ELIMIT, "gzip: member header longer than %u bytes",
					    MAX_GZ_HEADER);
		if (z->gh_state != GH_HCRC)
			z->gh_crc = crc32_gzip_refl(z->gh_crc, &c, 1);
		switch (z->gh_state) {
		case GH_FIXED:
			z->gh_buf[z->gh_n++] = c;
			if (z->gh_n < 10)
				break;
			if (z->gh_buf[0] != 0x1f || z->gh_buf[1] != 0x8b || z->gh_buf[2] != 8)
				return sw_error_set(err, SW_EFORMAT, "gzip: bad member header");
			if (z->gh_buf[3] & 0xE0)
				return sw_error_set(err, SW_EFORMAT, "gzip: reserved header flags set");
			z->gh_flg = z->gh_buf[3];
			z->gh_state = GH_XLEN;
			z->gh_need = 0;
			gh_skip(z);
			break;
		case GH_XLEN:
			z->gh_need |= (uint32_t)c << (8 * z->gh_n++);
			if (z->gh_n == 2) {
				z->gh_state = z->gh_need ? GH_EXTRA : GH_NAME;
				if (z->gh_state == GH_NAME)
					gh_skip(z);
			}
			break;
		case GH_EXTRA:
			if (--z->gh_need == 0) {
				z->gh_state = GH_NAME;
				gh_skip(z);
			}
			break;
		case GH_NAME:
		case GH_COMMENT:
			if (c == 0) {
				z->gh_state++;
				gh_skip(z);
			}
			break;
		case GH_HCRC:
			z->gh_buf[z->gh_n++] = c;
			if (z->gh_n == 2) {
				if ((uint32_t)(z->gh_buf[0] | z->gh_buf[1] << 8) != (z->gh_crc & 0xFFFF))
					return sw_error_set(err, SW_EFORMAT, "gzip: header CRC mismatch");
				z->gh_state = GH_DONE;
			}
			break;
		}
	}
	return (long)i;
}

static void gz_member_start(sw_inflate *z)
{
	z->gz_in_header = true;
	z->gh_state = GH_FIXED;
	z->gh_n = z->gh_total = 0;
	z->gh_need = z->gh_crc = 0;
}

static int gz_feed(sw_inflate *z, const uint8_t *p, size_t n, sw_sink_fn sink,
		   void *ctx, sw_error *err)
{
	int rc;

	while (n) {
		uint32_t take;
		if (z->gz_member_done) {
			/* Another member must start here; zero padding is not a
			 * member and a runtime would reject it. */
			if (p[0] != 0x1f)
				return sw_error_set(err, SW_EFORMAT,
						    "gzip: %llu bytes after the end of the stream are not a gzip member",
						    (unsigned long long)n);
			gz_member_start(z);
			z->gz_member_done = false;
		}
		if (z->gz_in_header) {
			long used = gz_header(z, p, n, err);
			if (used < 0)
				return (int)used;
			p += used;
			n -= (size_t)used;
			if (z->gh_state != GH_DONE)
				break;
			z->gz_in_header = false;
			isal_inflate_init(&z->gz);
			z->gz.crc_flag = ISAL_GZIP_NO_HDR_VER;
			if (!n)
				break;
		}
		take = n > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)n;
		z->gz.next_in = (uint8_t *)p;
		z->gz.avail_in = take;
		do {
			uint8_t *out;
			size_t cap;
			int r;
			if ((rc = out_buf(z, ctx, &out, &cap)) < 0)
				return rc;
			z->gz.next_out = out;
			z->gz.avail_out = (uint32_t)cap;
			r = isal_inflate(&z->gz);
			if (r < 0)
				return sw_error_set(err, SW_EFORMAT, "gzip: corrupt data (%s)",
						    r == ISAL_INCORRECT_CHECKSUM ? "CRC mismatch" :
						    "invalid deflate stream");
			if (z->gz.next_out > out &&
			    (rc = sink(ctx, out, (size_t)(z->gz.next_out - out))) < 0)
				return rc;
			if (z->gz.block_state == ISAL_BLOCK_FINISH) {
				z->gz_member_done = true;
				break;
			}
		} while (z->gz.avail_in || z->gz.avail_out == 0);
		n -= take - z->gz.avail_in;
		p += take - z->gz.avail_in;
	}
	return 0;
}

static int zs_feed(sw_inflate *z, const uint8_t *p, size_t n, sw_sink_fn sink,
		   void *ctx, sw_error *err)
{
	ZSTD_inBuffer in = { p, n, 0 };
	int rc;

	while (in.pos < in.size) {
		ZSTD_outBuffer o = { NULL, 0, 0 };
		size_t r;
		if ((rc = out_buf(z, ctx, (uint8_t **)&o.dst, &o.size)) < 0)
			return rc;
		r = ZSTD_decompressStream(z->zs, &o, &in);
		if (ZSTD_isError(r))
			return sw_error_set(err, SW_EFORMAT, "zstd: %s", ZSTD_getErrorName(r));
		z->zs_frame_done = r == 0;
		if (o.pos && (rc = sink(ctx, o.dst, o.pos)) < 0)
			return rc;
	}
	/* Drain output held inside the decoder (input consumed, output full). */
	for (;;) {
		ZSTD_inBuffer none = { NULL, 0, 0 };
		ZSTD_outBuffer o = { NULL, 0, 0 };
		size_t r;
		if ((rc = out_buf(z, ctx, (uint8_t **)&o.dst, &o.size)) < 0)
			return rc;
		r = ZSTD_decompressStream(z->zs, &o, &none);
		if (ZSTD_isError(r))
			return sw_error_set(err, SW_EFORMAT, "zstd: %s", ZSTD_getErrorName(r));
		if (!o.pos)
			break;
		z->zs_frame_done = r == 0;
		if ((rc = sink(ctx, o.dst, o.pos)) < 0)
			return rc;
	}
	return 0;
}

int sw_inflate_feed(sw_inflate *z, const uint8_t *p, size_t n, sw_sink_fn sink,
		    void *ctx, sw_error *err)
{
	z->in_total += n;
	switch (z->kind) {
	case SW_COMP_GZIP:
	case SW_COMP_DEFLATE:
		return gz_feed(z, p, n, sink, ctx, err);
	case SW_COMP_ZSTD: return zs_feed(z, p, n, sink, ctx, err);
	default: return n ? sink(ctx, p, n) : 0;
	}
}

int sw_inflate_finish(sw_inflate *z, sw_error *err)
{
	if ((z->kind == SW_COMP_GZIP || z->kind == SW_COMP_DEFLATE) &&
	    (z->gz_in_header || !z->gz_member_done))
		return sw_error_set(err, SW_EFORMAT, "gzip: truncated stream (%llu compressed bytes)",
				    (unsigned long long)z->in_total);
	if (z->kind == SW_COMP_ZSTD && !z->zs_frame_done)
		return sw_error_set(err, SW_EFORMAT, "zstd: truncated stream (%llu compressed bytes)",
				    (unsigned long long)z->in_total);
	return 0;
}
