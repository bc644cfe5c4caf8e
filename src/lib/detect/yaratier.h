/* SPDX-License-Identifier: Apache-2.0 */
/* Size tiers for YARA rules (meta max_size): see yaratier.c. */
#ifndef SW_DETECT_YARATIER_H
#define SW_DETECT_YARATIER_H

#include <stdint.h>

#include "../util/util.h"

/* Append to out the rule source `text` as compiled for files of at least
 * min_size bytes: each rule whose meta max_size <= min_size becomes a stub
 * `rule NAME { condition: false }` with the same modifiers. min_size 0
 * copies the text. A malformed max_size is an error naming the rule. */
int sw_yara_tier_text(const char *text, uint64_t min_size, sw_buf *out, const char *name,
		      sw_error *err);

#endif
