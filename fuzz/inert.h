/* SPDX-License-Identifier: Apache-2.0 */
/* What the harnesses of text for people (fuzz_term, fuzz_html) require of
 * their output: nothing a terminal obeys or a reader is misled by. */
#ifndef SW_FUZZ_INERT_H
#define SW_FUZZ_INERT_H

#include <stdbool.h>
#include <stdlib.h>

#include "../src/lib/util/util.h"

/* Abort unless p[0..n) is valid UTF-8 without C0 (but \n and \t when
 * lines), DEL, C1, a bidirectional mark, override or isolate, or a
 * Unicode line or paragraph separator. */
static inline void sw_fuzz_inert(const char *p, size_t n, bool lines)
{
	size_t i = 0, k;
	uint32_t cp;

	while (i < n) {
		unsigned char c = (unsigned char)p[i];
		if ((c < 0x20 && !(lines && (c == '\n' || c == '\t'))) || c == 0x7f)
			abort();
		if (!(k = sw_utf8_decode(p + i, n - i, &cp)))
			abort();
		if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
		    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
			abort();
		i += k;
	}
}

#endif
