/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the AdmissionReview reader (src/lib/serve/review.c) and the
 * response writer: whatever is read, every image is a string with a place,
 * an UPDATE's count adds up, and the response written for it parses. */
#include <stdlib.h>
#include <string.h>

#include "../src/lib/serve/review.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sw_review rv;
	sw_error err = SW_ERROR_INIT;
	sw_buf out = SW_BUF_INIT(1u << 22);
	sw_json_doc *doc = NULL;
	const char *warn[1];
	sw_review_answer a = { false, "denied", warn, 1, "images", "deny" };
	size_t i;

	if (sw_review_read((const char *)data, size, &rv, &err) < 0)
		return 0;
	if (rv.nimages > SW_REVIEW_MAX_IMAGES || (!rv.judged && rv.nimages))
		abort();
	for (i = 0; i < rv.nimages; i++)
		if (!rv.images[i].image || !rv.images[i].where || strncmp(rv.images[i].where, "", 1) == 0)
			abort();
	warn[0] = rv.nimages ? rv.images[0].image : rv.kind;
	if (sw_review_write(&out, rv.uid, &a) != 0 || sw_json_parse(out.data, out.len, &doc, &err) != 0)
		abort();
	sw_json_free(doc);
	sw_buf_release(&out);
	sw_review_release(&rv);
	return 0;
}
