/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one verified layer stream. A layer blob is read once, as a chain of
 * stages like curl's client writers:
 *
 *   source (file range by pread, or the registry's body)
 *     -> size against the descriptor -> SHA-256 of the blob -> the caller's raw hook
 *     -> decompressor (chosen by the first bytes) -> ratio, deadline, the caller's budget
 *     -> SHA-256 of the tar (the diff_id) -> tar parser -> the caller's entry callbacks
 *
 * and at the end: exactly the descriptor's size, the blob digest, the
 * diff_id. scan, rootfs assembly and pull differ only in their callbacks,
 * so no reader of layers can skip a check another makes (rootfs assembly
 * once lacked the size, ratio and deadline checks).
 *
 * Pipelined, the decompressor writes straight into the slots of a bounded
 * pipe whose own thread parses the tar: decompression and detection
 * overlap, and stored layers are the only ones copied. The diff_id's hash
 * runs on whichever of the two threads would otherwise wait (pipe.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stream.h"
#include "image_int.h"
#include "../layer/inflate.h"
#include "../util/banned.h"

#define READ_CHUNK (1u << 20)
#define PIPE_SLOTS 32              /* 8 MiB: a big file's detectors run while the
					 * decompressor fills the pipe (and hashes it);
					 * one-layer bench median 2.06 s at 8 slots,
					 * 1.91 s at 32, 1.88 s at 128 */
#define PIPE_SLOT (256u << 10)
#define HASH_RING 4               /* read buffers whose hash may wait: 4 MiB */
#define RATIO_GRACE (16ull << 20) /* the ratio is judged once this much came out */

struct sw_lstream {
	sw_sha256 *bh, *dh;
	uint8_t *ring[HASH_RING];  /* the blob as read, kept until hashed */
	unsigned rcur;             /* the buffer being filled */
	size_t rlen;               /* and how much of it */
	/* one run */
	const sw_lstream_opts *o;
	const sw_lstream_cb *cb;
	sw_error *err;          /* the consumer's side (tar and its callbacks): the caller's */
	sw_error perr;          /* the producer's side (read, size, inflate, bounds) */
	sw_tar *t;
	sw_inflate *z;
	sw_pipe *pipe;
	const uint8_t *slot;    /* the pipe slot the decompressor writes into */
	uint64_t size, in, out;
	int crc;                /* the tar stage's error, unpipelined */
};

sw_lstream *sw_lstream_new(void)
{
	sw_lstream *ls = calloc(1, sizeof(*ls));

	unsigned i;

	if (!ls || !(ls->bh = sw_sha256_new()) || !(ls->dh = sw_sha256_new())) {
		sw_lstream_free(ls);
		return NULL;
	}
	for (i = 0; i < HASH_RING; i++)
		if (!(ls->ring[i] = malloc(READ_CHUNK))) {
			sw_lstream_free(ls);
			return NULL;
		}
	return ls;
}

void sw_lstream_free(sw_lstream *ls)
{
	if (!ls)
		return;
	sw_sha256_free(ls->bh);
	sw_sha256_free(ls->dh);
	for (unsigned i = 0; i < HASH_RING; i++)
		free(ls->ring[i]);
	free(ls);
}

/* The diff_id's hash: inline, or the pipe's side task (on whichever
 * thread has time: pipe.c). */
static void hash_tar(void *ctx, const uint8_t *p, size_t n)
{
	sw_lstream *ls = ctx;

	sw_sha256_update(ls->dh, p, n);
}

/* The blob's hash: inline, or deferred to whichever thread has time
 * (pipe.c): on a layer whose decompression is the slower side, the
 * consumer does it while it waits. The bytes are kept in the ring until
 * hashed; read_blob reads into it, a registry's body is copied in. */
static void hash_blob_now(void *ctx, const uint8_t *p, size_t n)
{
	sw_lstream *ls = ctx;

	sw_sha256_update(ls->bh, p, n);
}

static void hash_flush(sw_lstream *ls)
{
	if (!ls->rlen)
		return;
	sw_pipe_defer(ls->pipe, ls->ring[ls->rcur], ls->rlen, HASH_RING - 1);
	ls->rcur = (ls->rcur + 1) % HASH_RING;
	ls->rlen = 0;
}

static void hash_blob(sw_lstream *ls, const uint8_t *p, size_t n)
{
	if (!ls->pipe) {
		sw_sha256_update(ls->bh, p, n);
		return;
	}
	while (n) {
		uint8_t *b = ls->ring[ls->rcur] + ls->rlen;
		size_t k = READ_CHUNK - ls->rlen < n ? READ_CHUNK - ls->rlen : n;
		if (p != b)
			memcpy(b, p, k);
		ls->rlen += k;
		p += k;
		n -= k;
		if (ls->rlen == READ_CHUNK)
			hash_flush(ls);
	}
}

/* The tar stage: on the pipe's thread, or inline. */
static int consume(void *ctx, const uint8_t *p, size_t n)
{
	sw_lstream *ls = ctx;

	if (!ls->pipe)
		hash_tar(ls, p, n);
	return sw_tar_feed(ls->t, p, n, ls->err);
}

/* After the decompressor: the bounds, then on to the tar stage. */
static int sink(void *ctx, const uint8_t *p, size_t n)
{
	sw_lstream *ls = ctx;
	const sw_lstream_opts *o = ls->o;
	int rc;

	ls->out += n;
	if (o->max_ratio && ls->out > RATIO_GRACE && ls->in && ls->out / ls->in > o->max_ratio)
		return sw_error_set(&ls->perr, SW_ELIMIT, "compression ratio over max-ratio %u:1 (%llu bytes from %llu): layer stopped",
				    o->max_ratio, (unsigned long long)ls->out, (unsigned long long)ls->in);
	if (o->deadline > 0 && sw_now() > o->deadline)
		return sw_error_set(&ls->perr, SW_ETIMEOUT, "exceeded its %.0f s timeout: layer stopped", o->timeout);
	if (ls->cb->out && (rc = ls->cb->out(ls->cb->ctx, n, &ls->perr)) < 0)
		return rc;
	if (!ls->pipe) {
		if ((rc = consume(ls, p, n)) < 0)
			ls->crc = rc;
		return rc;
	}
	if (ls->slot && p == ls->slot) {
		ls->slot = NULL;
		return sw_pipe_commit(ls->pipe, n);
	}
	return sw_pipe_put(ls->pipe, p, n);
}

static int outbuf(void *ctx, uint8_t **buf, size_t *cap)
{
	sw_lstream *ls = ctx;
	int rc = sw_pipe_reserve(ls->pipe, buf, cap);

	ls->slot = rc == 0 ? *buf : NULL;
	return rc;
}

/* One chunk of the blob, as read. */
static int feed(void *ctx, const uint8_t *p, size_t n)
{
	sw_lstream *ls = ctx;
	int rc;

	if (n > ls->size - ls->in)
		return sw_error_set(&ls->perr, SW_EVERIFY, "layer blob is larger than its descriptor says (%llu bytes)",
				    (unsigned long long)ls->size);
	if (!ls->z) {
		if ((rc = sw_inflate_new(&ls->z, sw_comp_sniff(p, n), &ls->perr)) < 0)
			return rc;
		if (ls->pipe)
			sw_inflate_set_output(ls->z, outbuf);
	}
	ls->in += n;
	hash_blob(ls, p, n);
	if (ls->cb->raw && (rc = ls->cb->raw(ls->cb->ctx, p, n, &ls->perr)) < 0)
		return rc;
	return sw_inflate_feed(ls->z, p, n, sink, ls, &ls->perr);
}

/* The source: a file range, or the registry's response body. */
static int read_blob(sw_lstream *ls, const sw_image *img, size_t i, const sw_blobloc *loc)
{
	uint64_t off = 0;
	int rc = 0;

	if (loc->fd < 0) {
		sw_error nerr = SW_ERROR_INIT;
		if ((rc = sw_image__stream_layer(img, i, feed, ls, &nerr)) < 0 && !ls->perr.msg[0] && !ls->crc)
			ls->perr = nerr;
		return rc;
	}
	while (off < loc->size) {
		size_t n = loc->size - off < READ_CHUNK ? (size_t)(loc->size - off) : READ_CHUNK;
		uint8_t *b;
		if (ls->rlen)
			hash_flush(ls);
		/* into the ring's free buffer: hashed there later, not copied */
		b = ls->ring[ls->rcur];
		if ((rc = sw_pread_all(loc->fd, b, n, loc->off + off)) < 0)
			return sw_error_set(&ls->perr, rc, "read failed at offset %llu", (unsigned long long)off);
		off += n;
		if ((rc = feed(ls, b, n)) < 0)
			return rc;
	}
	return 0;
}

static int check(sw_sha256 *h, const char *want, sw_error *err, const char *fmt)
{
	uint8_t d[SW_SHA256_LEN], w[SW_SHA256_LEN];
	char got[SW_DIGEST_STRLEN];

	sw_sha256_final(h, d);
	if (sw_digest_parse(want, w) < 0 || memcmp(d, w, sizeof(d)) != 0) {
		sw_digest_str(d, got);
		return sw_error_set(err, SW_EVERIFY, fmt, want, got);
	}
	return 0;
}

int sw_lstream_run(sw_lstream *ls, const sw_image *img, size_t i, const sw_lstream_opts *o,
		   const sw_lstream_cb *cb, sw_lstream_stats *st, sw_error *err)
{
	const sw_layer_info *li = sw_image_layer(img, i);
	const sw_blobloc *loc = sw_image__layer_loc(img, i);
	int rc, crc = 0;

	memset(st, 0, sizeof(*st));
	if (!li || !loc)
		return sw_error_set(err, SW_EINVAL, "no layer %zu", i);
	sw_sha256_reset(ls->bh);
	sw_sha256_reset(ls->dh);
	memset(&ls->perr, 0, sizeof(ls->perr));
	ls->o = o;
	ls->cb = cb;
	ls->err = err;
	ls->z = NULL;
	ls->pipe = NULL;
	ls->slot = NULL;
	ls->size = loc->size;
	ls->in = ls->out = 0;
	ls->crc = 0;
	if (!(ls->t = sw_tar_new(&cb->tar, 1u << 20)))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	if (o->pipelined && sw_pipe_start(&ls->pipe, o->pipe_bytes >= PIPE_SLOT ? o->pipe_bytes / PIPE_SLOT : PIPE_SLOTS,
					  PIPE_SLOT, consume, hash_tar, ls) < 0) {
		sw_tar_free(ls->t);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	if (ls->pipe)
		sw_pipe_set_defer(ls->pipe, hash_blob_now);
	ls->rcur = 0;
	ls->rlen = 0;
	rc = read_blob(ls, img, i, loc);
	if (ls->pipe)
		hash_flush(ls);
	if (rc == 0 && ls->in != ls->size)
		rc = sw_error_set(&ls->perr, SW_EVERIFY, "blob %s: %llu bytes, the manifest says %llu", li->digest ? li->digest : "",
				  (unsigned long long)ls->in, (unsigned long long)ls->size);
	if (rc == 0 && !ls->z)
		rc = sw_error_set(&ls->perr, SW_EFORMAT, "layer blob is empty");
	if (rc == 0)
		rc = sw_inflate_finish(ls->z, &ls->perr);
	/* the tar stage's error explains a producer that was told to stop */
	if (ls->pipe)
		crc = sw_pipe_finish(ls->pipe);
	else
		crc = ls->crc;
	if (crc < 0)
		rc = crc;
	else if (rc < 0)
		*err = ls->perr;
	ls->pipe = NULL;
	if (rc == 0)
		rc = sw_tar_finish(ls->t, &st->trailing, err);
	if (rc == 0 && loc->verify && li->digest)
		rc = check(ls->bh, li->digest, err, "blob %s: content hashes to %s");
	if (rc == 0 && li->diff_id)
		rc = check(ls->dh, li->diff_id, err, "uncompressed layer: the config's diff_id is %s but it hashes to %s");
	st->in = ls->in;
	st->out = ls->out;
	sw_inflate_free(ls->z);
	ls->z = NULL;
	sw_tar_free(ls->t);
	ls->t = NULL;
	return rc;
}

int sw_lstream_verify(sw_lstream *ls, const sw_image *img, size_t i, sw_error *err)
{
	const sw_layer_info *li = sw_image_layer(img, i);
	const sw_blobloc *loc = sw_image__layer_loc(img, i);
	const char *want = NULL;
	uint64_t off = 0;
	int rc;

	if (!li || !loc || loc->fd < 0)
		return sw_error_set(err, SW_EINVAL, "layer %zu is not a local blob", i);
	sw_sha256_reset(ls->bh);
	while (off < loc->size) {
		size_t n = loc->size - off < READ_CHUNK ? (size_t)(loc->size - off) : READ_CHUNK;
		if ((rc = sw_pread_all(loc->fd, ls->ring[0], n, loc->off + off)) < 0)
			return sw_error_set(err, rc, "read failed at offset %llu", (unsigned long long)off);
		/* a source that does not name the blob's digest (docker save's
		 * layer.tar) still names an uncompressed layer's: the diff_id */
		if (off == 0)
			want = loc->verify ? li->digest : sw_comp_sniff(ls->ring[0], n) == SW_COMP_NONE ? li->diff_id : NULL;
		sw_sha256_update(ls->bh, ls->ring[0], n);
		off += n;
	}
	if (!want)
		return 0;
	return check(ls->bh, want, err, "blob %s: content hashes to %s");
}
