/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the ELF reader (util/elf.c) and the search for compressed streams
 * inside executables (scan/embedded.c): the input is the file. Members are
 * checked to lie within the limits the search was given. */
#include <stdlib.h>
#include <string.h>

#include "../src/lib/scan/nested.h"
#include "../src/lib/util/elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_member(void *ctx, const char *path, uint32_t mode, const uint8_t *p, size_t n)
{
	size_t *seen = ctx;

	(void)mode;
	if (n > (1u << 20) || !strchr(path, '@'))
		abort(); /* over max_member, or not named outer!kind@offset */
	*seen += n ? p[n - 1] : 1;
	return 0;
}

static int on_incomplete(void *ctx, const char *path, const char *reason)
{
	(void)ctx, (void)path, (void)reason;
	return 0;
}

static int on_embedded(void *ctx, const char *path, const char *kind, size_t offset, size_t clen,
		       const uint8_t *p, size_t n)
{
	(void)ctx, (void)path, (void)kind, (void)p, (void)n;
	if (clen > (1u << 24) || offset < 64)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t budget = 4u << 20, off, len;
	sw_nested_limits lim = { 1u << 20, &budget, 100, 100 };
	size_t seen = 0;
	sw_nested_cb cb = { &seen, on_member, on_incomplete, NULL, NULL, on_embedded };
	sw_elf_seg g;
	sw_elf e;
	unsigned i;

	if (sw_elf_open(&e, data, size)) {
		for (i = 0; sw_elf_segment(&e, i, &g); i++)
			seen += g.type;
		if (sw_elf_section(&e, ".dynsym", &off, &len) && (off > size || len > size - off))
			abort();
		seen += sw_elf_imports(&e, "memfd_create") + (size_t)sw_elf_extent(&e);
	}
	sw_nested_embedded("/f", data, size, &lim, &cb);
	return seen == 1; /* keep `seen` alive */
}
