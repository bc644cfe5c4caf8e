/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One verified layer stream (stream.c): the only code that reads a layer
 * blob. scan, rootfs assembly (unpack, detonate) and pull all go through
 * it, so every bound and every check applies to all three. Internal.
 */
#ifndef SW_IMAGE_STREAM_H
#define SW_IMAGE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stowaway/image.h"
#include "../layer/tar.h"
#include "../util/util.h"

typedef struct sw_lstream sw_lstream;

typedef struct sw_lstream_opts {
	unsigned max_ratio;       /* decompressed bytes per blob byte, judged after 16 MiB; 0: none */
	double deadline;          /* a sw_now() time; 0: none */
	double timeout;           /* the budget that deadline came from, for the message */
	bool pipelined;           /* decompression and the tar stage on two threads */
	size_t pipe_bytes;        /* the pipe between them (0: 8 MiB): more lets the
				   * decompressor run further ahead of a big file's
				   * detectors, when memory allows */
} sw_lstream_opts;

typedef struct sw_lstream_cb {
	void *ctx;
	/* Blob bytes as read, before decompression (may be NULL). */
	int (*raw)(void *ctx, const uint8_t *p, size_t n, sw_error *err);
	/* After each decompressed chunk, before the tar stage sees it: the
	 * caller's own budgets and progress (may be NULL). */
	int (*out)(void *ctx, size_t n, sw_error *err);
	/* The layer's entries. With pipelined they run on the stream's second
	 * thread, one layer at a time. */
	sw_tar_cb tar;
} sw_lstream_cb;

typedef struct sw_lstream_stats {
	uint64_t in, out;         /* blob bytes read, tar bytes made */
	bool trailing;            /* non-zero bytes after the tar's end marker */
} sw_lstream_stats;

/* A stream's reusable state (hashers, read buffer). NULL on ENOMEM. */
sw_lstream *sw_lstream_new(void);
void sw_lstream_free(sw_lstream *ls);

/*
 * Read layer i of img once, from wherever it lives (a file range or the
 * registry), and check it on the way: never more bytes than the descriptor
 * says and exactly as many, the blob's digest (where the source names it),
 * the decompressor chosen by the first bytes, the ratio and the deadline,
 * the tar stream, the config's diff_id. Errors: SW_ELIMIT (ratio),
 * SW_ETIMEOUT (deadline), SW_EVERIFY (size, digest, diff_id), SW_EFORMAT
 * (empty, corrupt, bad tar), SW_EIO, or a callback's own code. err gets the
 * message; callbacks that set their own leave it as they set it.
 */
int sw_lstream_run(sw_lstream *ls, const sw_image *img, size_t i, const sw_lstream_opts *o,
		   const sw_lstream_cb *cb, sw_lstream_stats *st, sw_error *err);

/* What a layer-cache hit still owes a local source: layer i's blob read
 * and its digest checked (the diff_id for an uncompressed blob whose source
 * names no digest), without decompressing. SW_EVERIFY on a mismatch. */
int sw_lstream_verify(sw_lstream *ls, const sw_image *img, size_t i, sw_error *err);

#endif
