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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inert(const char *e)
{
	size_t n = strlen(e), i = 0, k;
	uint32_t cp;

	while (i < n) {
		if ((unsigned char)e[i] < 0x20 || e[i] == 0x7f)
			abort();
		if (!(k = sw_utf8_decode(e + i, n - i, &cp)))
			abort();
		if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
		    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
			abort();
		i += k;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t whole = SW_TERM_ESCAPED_MAX(size), cut, used, len;
	char *e = malloc(whole), *part = NULL;

	if (!e)
		return 0;
	if (sw_term_escape(e, whole, s, size) != size)
		abort(); /* SW_TERM_ESCAPED_MAX must always be room enough */
	inert(e);
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
