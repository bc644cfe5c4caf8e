/* SPDX-License-Identifier: Apache-2.0 */
/* A small YARA source reader shared by the size-tier splitter
 * (yaratier.c) and the prefilter's gate builder (yaragate*.c). */
#ifndef SW_DETECT_YARALEX_H
#define SW_DETECT_YARALEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sw_ylex {
	const char *s;
	size_t n, i;
} sw_ylex;

bool sw_ylex_is_id0(char c);
bool sw_ylex_is_id(char c);
/* Skip whitespace and comments; false on an unterminated comment. */
bool sw_ylex_space(sw_ylex *l);
/* Skip a "text string" or a /regex/ starting at l->i (its opening quote or
 * slash), escapes included; false when unterminated. */
bool sw_ylex_quoted(sw_ylex *l, char q);
/* Skip an identifier at l->i; its length. */
size_t sw_ylex_ident(sw_ylex *l);
bool sw_ylex_word_is(const char *p, size_t n, const char *w);
/* "N", "NKB", "NMB" (decimal) -> bytes; 0 when malformed. */
uint64_t sw_ylex_size(const char *p, size_t n);

#endif
