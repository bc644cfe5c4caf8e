/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streaming decompression of layer blobs.
 *
 * gzip goes through ISA-L's igzip inflater: of the three Debian libraries we
 * measured (zlib, libdeflate, isa-l; see bench/gunzip.c and
 * docs/ARCHITECTURE.md) it is the fastest that can stream, and libdeflate
 * cannot stream at all (it wants the whole input and output in memory).
 * Concatenated gzip members are followed, as Go's reader does; bytes after
 * the last member that do not start another member are an error, because a
 * container runtime would refuse the layer.
 *
 * zstd goes through libzstd's streaming API; skippable frames (zstd:chunked)
 * are handled by libzstd itself. Plain tar passes through.
 */
#include <stdlib.h>
#include <string.h>

#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include "inflate.h"
#include "../util/banned.h"

#define OUT_CHUNK (256u << 10)

struct sw_inflate {
	sw_comp kind;
	uint8_t *out;
	struct inflate_state gz;
	bool gz_member_done; /* between members: waiting to see the next header */
	bool gz_started;
	ZSTD_DStream *zs;
	bool zs_frame_done;
	uint64_t in_total;
};

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
	default: return "unknown";
	}
}

int sw_inflate_new(sw_inflate **out, sw_comp kind, sw_error *err)
{
	sw_inflate *z;

	*out = NULL;
	if (kind != SW_COMP_NONE && kind != SW_COMP_GZIP && kind != SW_COMP_ZSTD)
		return sw_error_set(err, SW_EFORMAT,
				    "%s-compressed layers are not supported by the image spec",
				    sw_comp_name(kind));
	if (!(z = calloc(1, sizeof(*z))))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	z->kind = kind;
	if (kind != SW_COMP_NONE && !(z->out = malloc(OUT_CHUNK)))
		goto oom;
	if (kind == SW_COMP_GZIP) {
		isal_inflate_init(&z->gz);
		z->gz.crc_flag = ISAL_GZIP;
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

static int gz_feed(sw_inflate *z, const uint8_t *p, size_t n, sw_sink_fn sink,
		   void *ctx, sw_error *err)
{
	int rc;

	while (n) {
		uint32_t take = n > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)n;
		if (z->gz_member_done) {
			/* Another member must start here; zero padding is not a
			 * member and a runtime would reject it. */
			if (p[0] != 0x1f)
				return sw_error_set(err, SW_EFORMAT,
						    "gzip: %llu bytes after the end of the stream are not a gzip member",
						    (unsigned long long)n);
			isal_inflate_reset(&z->gz);
			z->gz.crc_flag = ISAL_GZIP;
			z->gz_member_done = false;
		}
		z->gz.next_in = (uint8_t *)p;
		z->gz.avail_in = take;
		z->gz_started = true;
		do {
			int r;
			z->gz.next_out = z->out;
			z->gz.avail_out = OUT_CHUNK;
			r = isal_inflate(&z->gz);
			if (r < 0)
				return sw_error_set(err, SW_EFORMAT, "gzip: corrupt data (%s)",
						    r == ISAL_INCORRECT_CHECKSUM ? "CRC mismatch" :
						    r == ISAL_INVALID_WRAPPER ? "bad header" :
						    "invalid deflate stream");
			if (z->gz.next_out > z->out &&
			    (rc = sink(ctx, z->out, (size_t)(z->gz.next_out - z->out))) < 0)
				return rc;
			if (z->gz.block_state == ISAL_BLOCK_FINISH) {
				z->gz_member_done = true;
				break;
			}
		} while (z->gz.avail_in || z->gz.avail_out == 0);
		n -= take - z->gz.avail_in;
		p += take - z->gz.avail_in;
		if (!z->gz_member_done && z->gz.avail_in == 0 && n == 0)
			break;
	}
	return 0;
}

static int zs_feed(sw_inflate *z, const uint8_t *p, size_t n, sw_sink_fn sink,
		   void *ctx, sw_error *err)
{
	ZSTD_inBuffer in = { p, n, 0 };
	int rc;

	while (in.pos < in.size) {
		ZSTD_outBuffer o = { z->out, OUT_CHUNK, 0 };
		size_t r = ZSTD_decompressStream(z->zs, &o, &in);
		if (ZSTD_isError(r))
			return sw_error_set(err, SW_EFORMAT, "zstd: %s", ZSTD_getErrorName(r));
		z->zs_frame_done = r == 0;
		if (o.pos && (rc = sink(ctx, z->out, o.pos)) < 0)
			return rc;
	}
	/* Drain output held inside the decoder (input consumed, output full). */
	for (;;) {
		ZSTD_inBuffer none = { NULL, 0, 0 };
		ZSTD_outBuffer o = { z->out, OUT_CHUNK, 0 };
		size_t r = ZSTD_decompressStream(z->zs, &o, &none);
		if (ZSTD_isError(r))
			return sw_error_set(err, SW_EFORMAT, "zstd: %s", ZSTD_getErrorName(r));
		if (!o.pos)
			break;
		z->zs_frame_done = r == 0;
		if ((rc = sink(ctx, z->out, o.pos)) < 0)
			return rc;
	}
	return 0;
}

int sw_inflate_feed(sw_inflate *z, const uint8_t *p, size_t n, sw_sink_fn sink,
		    void *ctx, sw_error *err)
{
	z->in_total += n;
	switch (z->kind) {
	case SW_COMP_GZIP: return gz_feed(z, p, n, sink, ctx, err);
	case SW_COMP_ZSTD: return zs_feed(z, p, n, sink, ctx, err);
	default: return n ? sink(ctx, p, n) : 0;
	}
}

int sw_inflate_finish(sw_inflate *z, sw_error *err)
{
	if (z->kind == SW_COMP_GZIP && !z->gz_member_done)
		return sw_error_set(err, SW_EFORMAT, "gzip: truncated stream (%llu compressed bytes)",
				    (unsigned long long)z->in_total);
	if (z->kind == SW_COMP_ZSTD && !z->zs_frame_done)
		return sw_error_set(err, SW_EFORMAT, "zstd: truncated stream (%llu compressed bytes)",
				    (unsigned long long)z->in_total);
	return 0;
}
