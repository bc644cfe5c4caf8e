/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Text for terminals: the one escaper for every image-controlled string a
 * person reads (report tables, error lines, progress and status lines).
 * Machine formats (JSON, SARIF's structure) are escaped by their own writers
 * and never go through it.
 *
 * The convention, one for every output:
 *   \\          a backslash (so each escape below means exactly one thing)
 *   \t \n \r    tab, line feed, carriage return
 *   \xNN        any other C0 control (0x00-0x1f, ESC is \x1b), DEL (\x7f), and
 *               every byte that does not belong to valid UTF-8: raw C1 bytes
 *               0x80-0x9f, stray continuation bytes, truncated, overlong or
 *               surrogate sequences, anything past U+10FFFF (byte by byte)
 *   \uNNNN      a valid UTF-8 character that acts rather than prints: the C1
 *               controls U+0080-U+009F, the bidirectional marks, embeddings,
 *               overrides and isolates (U+061C, U+200E, U+200F, U+202A-U+202E,
 *               U+2066-U+2069) and the line and paragraph separators U+2028,
 *               U+2029
 * Everything else, printable ASCII and every other valid UTF-8 character
 * (accents, CJK, emoji), is copied unchanged. The result holds no control
 * character and no line break, and is valid UTF-8.
 */
#ifndef STOWAWAY_TERM_H
#define STOWAWAY_TERM_H

#include <stddef.h>
#include <stdio.h>

#include "stowaway/export.h"
#include "stowaway/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Room that always holds the escape of n bytes: each byte becomes at most
 * four ("\xNN"), plus the NUL. */
#define SW_TERM_ESCAPED_MAX(n) (4 * (size_t)(n) + 1)

/*
 * Escape n bytes of s (NULs included: they become \x00) into out, which has
 * `size` bytes. Only whole escapes and whole characters are written, and out
 * is always NUL-terminated when size > 0: what does not fit is left out,
 * never cut in the middle. Returns how many bytes of s were consumed (n when
 * all of it fit; see SW_TERM_ESCAPED_MAX), so a caller can tell a cut and go
 * on from there. The output's length is strlen(out).
 */
SW_API size_t sw_term_escape(char *out, size_t size, const char *s, size_t n);

/* Write the C string s to f escaped (NULL writes nothing). SW_EIO when a
 * write fails. */
SW_API int sw_term_fputs(const char *s, FILE *f);

#ifdef __cplusplus
}
#endif
#endif
