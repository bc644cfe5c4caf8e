/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A JSON document for front-ends that print JSON of their own (the CLI's
 * check and verify results). It is the library's one writer (commas,
 * nesting and escapes kept for the caller; bytes that are not valid UTF-8
 * become \ufffd), kept in memory and written whole, so a failure never
 * leaves half a document.
 */
#ifndef STOWAWAY_JSON_H
#define STOWAWAY_JSON_H

#include <stdbool.h>
#include <stdio.h>

#include "stowaway/export.h"
#include "stowaway/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_json_out sw_json_out;

/* NULL when out of memory. */
SW_API sw_json_out *sw_json_out_new(void);
SW_API void sw_json_out_obj(sw_json_out *o);
SW_API void sw_json_out_arr(sw_json_out *o);
SW_API void sw_json_out_end(sw_json_out *o);
SW_API void sw_json_out_key(sw_json_out *o, const char *key);
SW_API void sw_json_out_str(sw_json_out *o, const char *s);   /* NULL: null */
SW_API void sw_json_out_int(sw_json_out *o, long long v);
SW_API void sw_json_out_bool(sw_json_out *o, bool v);
/* Write the document and a newline to f, then free o (o may be NULL: out
 * of memory at sw_json_out_new). A misuse (a value where a key is due, an
 * unclosed container) is SW_EINVAL; nothing is written then. */
SW_API int sw_json_out_finish(sw_json_out *o, FILE *f, sw_error *err);

#ifdef __cplusplus
}
#endif

#endif
