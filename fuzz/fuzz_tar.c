/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the streaming tar parser. The first byte picks the chunk size, so the
 * same archive is also fed in awkward pieces (state carried across calls). */
#include <stddef.h>
#include <stdint.h>

#include "../src/lib/layer/tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_entry(void *ctx, const sw_tar_entry *e)
{
	size_t *n = ctx, i;

	*n += e->name_len + e->nxattrs;
	for (i = 0; i < e->nxattrs; i++)
		*n += e->xattrs[i].value_len;
	return 0;
}

static int on_data(void *ctx, const uint8_t *p, size_t n)
{
	(void)ctx, (void)p, (void)n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t seen = 0, chunk, off = 1;
	sw_tar_cb cb = { &seen, on_entry, on_data, NULL };
	sw_error err = SW_ERROR_INIT;
	sw_tar *t;
	bool trailing;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] * 7 + 1;
	if (!(t = sw_tar_new(&cb, 1 << 16)))
		return 0;
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		if (sw_tar_feed(t, data + off, n, &err) < 0)
			break;
		off += n;
	}
	if (off >= size)
		sw_tar_finish(t, &trailing, &err);
	sw_tar_free(t);
	return 0;
}
