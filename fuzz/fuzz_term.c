/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the terminal escaper (util/term.c): whatever the bytes, the escape
 * holds nothing a terminal obeys (no C0, DEL, C1, bidirectional control or
 * Unicode line break, nothing outside valid UTF-8), and an escape into a
 * smaller buffer is a prefix of the whole one, made of whole units, that
 * never writes past its buffer. The first byte picks that buffer's size. */
#include <stdlib.h>
#include <string.h>

#include "../src/lib/util/util.h"
#include "stowaway/term.h"
#include "inert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t whole = SW_TERM_ESCAPED_MAX(size), cut, used, len;
	char *e = malloc(whole), *part = NULL;

	if (!e)
		return 0;
	if (sw_term_escape(e, whole, s, size) != size)
		abort(); /* SW_TERM_ESCAPED_MAX must always be room enough */
	sw_fuzz_inert(e, strlen(e), false);
	len = strlen(e);
	cut = size ? data[0] % (len + 2) : 0;
	if ((part = malloc(cut + 1))) {
		part[cut] = '#';
		used = sw_term_escape(part, cut, s, size);
		if (part[cut] != '#' || used > size || (cut == 0 && used != 0))
			abort();
		if (cut && (strlen(part) >= cut || memcmp(part, e, strlen(part)) != 0))
			abort();
		if (cut && used == size && strcmp(part, e) != 0)
			abort();
	}
	free(part);
	free(e);
	return 0;
}
