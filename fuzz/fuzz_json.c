/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the JSON reader and writer: whatever parses must be walkable within
 * the depth bound, and any bytes written as a JSON string must read back as
 * one string (the report writer relies on that for hostile file names). */
#include <stdlib.h>
#include <string.h>

#include "../src/lib/util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk(const sw_json *v, int depth)
{
	const sw_json *c;
	size_t n = 1;

	if (depth > SW_JSON_MAX_DEPTH)
		abort(); /* the parser must have refused this */
	for (c = v->child; c; c = c->next)
		n += walk(c, depth + 1);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sw_json_doc *doc = NULL, *again = NULL;
	sw_error err = SW_ERROR_INIT;
	sw_buf out = SW_BUF_INIT(1u << 26);
	const sw_json *root;
	int64_t i;

	if (sw_json_parse((const char *)data, size, &doc, &err) == 0) {
		root = sw_json_root(doc);
		walk(root, 0);
		(void)sw_json_get_str(root, "mediaType");
		(void)sw_json_get_arr(root, "layers");
		(void)sw_json_get_i64(root, "size", &i);
	}
	if (sw_jsonw_strn(&out, (const char *)data, size) == 0) {
		if (sw_json_parse(out.data, out.len, &again, &err) != 0 ||
		    sw_json_root(again)->type != SW_JSON_STR)
			abort();
	}
	sw_json_free(doc);
	sw_json_free(again);
	sw_buf_release(&out);
	return 0;
}
