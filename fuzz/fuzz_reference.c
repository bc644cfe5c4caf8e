/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the reference parser. Whatever parses must print, in its full form,
 * as a reference that parses back to the same fields (the name the report
 * and the policy see is the name the runtime pulls); the familiar form must
 * parse back to the same fields too. Nothing may be read or written out of
 * bounds on any input. The look-alike judge runs on every input as well: a
 * flagged name always comes with its reason and the name it resembles. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stowaway/names.h"
#include "stowaway/reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const sw_ref *a, const sw_ref *b)
{
	if (strcmp(a->domain, b->domain) || strcmp(a->path, b->path) || strcmp(a->tag, b->tag) ||
	    strcmp(a->digest, b->digest))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), out[1024];
	sw_ref r, again;
	sw_error err = SW_ERROR_INIT;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (sw_ref_parse(s, &r, &err) == 0) {
		if (sw_ref_format(&r, SW_REF_FULL, out, sizeof(out)) != 0 ||
		    sw_ref_parse(out, &again, &err) != 0)
			abort();
		same(&r, &again);
		if (sw_ref_format(&r, SW_REF_FAMILIAR, out, sizeof(out)) != 0 ||
		    sw_ref_parse(out, &again, &err) != 0)
			abort();
		same(&r, &again);
	} else if (!err.msg[0]) {
		abort(); /* every refusal says why */
	}
	{
		/* the look-alike judge takes any input too, and always explains */
		sw_name_result nr;
		if (sw_names_check(s, &nr, &err) == 0 &&
		    (nr.verdict == SW_NAME_OK ? 0 : !nr.reason[0] || !nr.resembles[0]))
			abort();
	}
	free(s);
	return 0;
}
