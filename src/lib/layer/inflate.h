/* SPDX-License-Identifier: Apache-2.0 */
/* Decompression stage: sniffed from magic bytes, never from a media type. */
#ifndef SW_LAYER_INFLATE_H
#define SW_LAYER_INFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "../util/util.h"

typedef enum { SW_COMP_NONE, SW_COMP_GZIP, SW_COMP_ZSTD, SW_COMP_BZIP2,
	       SW_COMP_XZ, SW_COMP_UNKNOWN,
	       SW_COMP_DEFLATE /* raw deflate (zip members): never sniffed */ } sw_comp;

/* Identify a stream from its first bytes (n >= 6 for a sure answer). */
sw_comp sw_comp_sniff(const uint8_t *p, size_t n);
const char *sw_comp_name(sw_comp c);

typedef int (*sw_sink_fn)(void *ctx, const uint8_t *p, size_t n);
typedef struct sw_inflate sw_inflate;

/* Errors: SW_EFORMAT for unsupported kinds (bzip2, xz in layers). */
int sw_inflate_new(sw_inflate **out, sw_comp kind, sw_error *err);
void sw_inflate_free(sw_inflate *z);
/* Decompress `n` input bytes, passing output to sink in chunks. */
/* Decompress into buffers the caller hands out (get, called with the ctx
 * of each feed, before each step) instead of the decompressor's own: the
 * sink then sees pointers into them. */
typedef int (*sw_outbuf_fn)(void *ctx, uint8_t **buf, size_t *cap);
void sw_inflate_set_output(sw_inflate *z, sw_outbuf_fn get);
int sw_inflate_feed(sw_inflate *z, const uint8_t *p, size_t n,
		    sw_sink_fn sink, void *ctx, sw_error *err);
/* SW_EFORMAT if the compressed stream ended early (truncated). */
int sw_inflate_finish(sw_inflate *z, sw_error *err);

#endif
