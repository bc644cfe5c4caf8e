/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the bounded YAML reader: any input either parses into trees whose
 * every node is reachable within the depth bound, or is refused with a
 * message; no aliases ever come out (they are refused). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/lib/util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk(const sw_yaml *n, int depth)
{
	const sw_yaml *c;
	size_t k = 1;

	if (depth > 64)
		abort();
	if (n->type == SW_YAML_SCALAR && (!n->s || strlen(n->s) > n->slen))
		abort();
	for (c = n->child; c; c = c->next) {
		if (n->type == SW_YAML_MAP && !c->key)
			abort();
		k += walk(c, depth + 1);
	}
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sw_yaml_doc *d = NULL;
	sw_error err = SW_ERROR_INIT;
	size_t i;

	if (sw_yaml_parse((const char *)data, size, "fuzz", &d, &err) == 0) {
		for (i = 0; i < sw_yaml_ndocs(d); i++)
			if (sw_yaml_root(d, i))
				walk(sw_yaml_root(d, i), 0);
		sw_yaml_free(d);
	} else if (!err.msg[0]) {
		abort();
	}
	return 0;
}
