/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Settings files: a YAML mapping of names to values, read through the
 * library's one bounded YAML reader (no anchors or aliases, no duplicate
 * keys, bounded size and depth), so a front-end never needs a YAML reader
 * of its own. The library gives no name a meaning: the caller checks the
 * names and values it is handed (the CLI's config.yaml, see stowaway(1)).
 */
#ifndef STOWAWAY_CONFIG_H
#define STOWAWAY_CONFIG_H

#include <stddef.h>

#include <stdint.h>

#include "stowaway/export.h"
#include "stowaway/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One value: a top-level key, one scalar of it (borrowed, valid during the
 * call), its 1-based line, and whether the key's value is a list (a key
 * with a list gives one call per item, an empty list none). A positive
 * return stops the reading and is returned by sw_config_read (report your
 * own problem first; err is not touched). */
typedef int (*sw_config_value_fn)(void *ctx, const char *key, const char *value, int line, int is_list);

/*
 * Read the settings file at path: an empty file, or one YAML document that
 * is a mapping whose values are scalars or lists of scalars (at most 1 MiB).
 * Calls fn for every value, in file order. Returns 0, fn's positive return,
 * or: SW_ENOTFOUND when the file cannot be opened (err says why, errno is
 * kept: ENOENT for a file that does not exist),
 * SW_EFORMAT when it is not such a mapping or not valid YAML (err names the
 * file and the line, and err->line holds it), SW_ELIMIT when it is larger.
 */
SW_API int sw_config_read(const char *path, sw_config_value_fn fn, void *ctx, sw_error *err);

/* A size: digits and an optional unit (B, K or KiB, M or MiB, G or GiB,
 * T or TiB; powers of 1024). -1 for anything else or an overflow. */
SW_API int sw_parse_size(const char *s, uint64_t *out);
/* A duration: a number and an optional unit (ms, s, m, h, d; without one,
 * `unit` seconds each), more than 0 and at most max seconds. -1 for
 * anything else (NaN and infinities too). */
SW_API int sw_parse_duration(const char *s, double unit, double max, double *out);

#ifdef __cplusplus
}
#endif
#endif
