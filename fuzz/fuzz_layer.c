/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the layer path: sniff -> gzip/zstd/plain -> tar, with an output cap
 * standing in for the scanner's ratio and size limits. */
#include <stddef.h>
#include <stdint.h>

#include "../src/lib/layer/inflate.h"
#include "../src/lib/layer/tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	sw_tar *t;
	size_t out;
	sw_error err;
} ctx;

static int sink(void *c, const uint8_t *p, size_t n)
{
	ctx *x = c;

	x->out += n;
	if (x->out > (64u << 20))
		return SW_ELIMIT;
	return sw_tar_feed(x->t, p, n, &x->err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sw_tar_cb cb = { NULL, NULL, NULL, NULL };
	ctx x = { NULL, 0, SW_ERROR_INIT };
	sw_inflate *z = NULL;
	size_t off = 0;
	bool trailing;

	if (sw_inflate_new(&z, sw_comp_sniff(data, size), &x.err) < 0)
		return 0;
	if (!(x.t = sw_tar_new(&cb, 1 << 16))) {
		sw_inflate_free(z);
		return 0;
	}
	while (off < size) {
		size_t n = size - off < 4096 ? size - off : 4096;
		if (sw_inflate_feed(z, data + off, n, sink, &x, &x.err) < 0)
			break;
		off += n;
	}
	if (off >= size && sw_inflate_finish(z, &x.err) == 0)
		sw_tar_finish(x.t, &trailing, &x.err);
	sw_tar_free(x.t);
	sw_inflate_free(z);
	return 0;
}
