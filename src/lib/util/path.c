/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lexical path cleaning for names that come out of tar headers. The result
 * is always absolute ("/etc/passwd"), never contains "." or ".." or empty
 * components, and a name that climbs above the root is refused rather than
 * clamped: "../../etc/x" is an attack, not a typo, and the caller reports it.
 */
#include <string.h>

#include "util.h"
#include "banned.h"

int sw_path_clean(const char *in, size_t inlen, char *out, size_t max)
{
	size_t i = 0, o = 0;

	if (max < 2)
		return SW_ELIMIT;
	out[o++] = '/';
	while (i < inlen) {
		size_t start, clen;

		while (i < inlen && in[i] == '/')
			i++;
		start = i;
		while (i < inlen && in[i] != '/')
			i++;
		clen = i - start;
		if (clen == 0 || (clen == 1 && in[start] == '.'))
			continue;
		if (memchr(in + start, '\0', clen))
			return SW_EFORMAT;
		if (clen == 2 && in[start] == '.' && in[start + 1] == '.') {
			if (o == 1)
				return SW_EFORMAT;
			o--; /* drop the trailing component */
			while (o > 1 && out[o - 1] != '/')
				o--;
			if (o > 1)
				o--;
			continue;
		}
		if (o > 1) {
			if (o + 1 >= max)
				return SW_ELIMIT;
			out[o++] = '/';
		}
		if (o + clen >= max)
			return SW_ELIMIT;
		memcpy(out + o, in + start, clen);
		o += clen;
	}
	out[o] = '\0';
	return 0;
}
