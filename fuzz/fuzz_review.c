/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the AdmissionReview reader (src/lib/serve/review.c) and the
 * response writer: whatever is read, every image is a string with a place
 * and a JSON pointer to each container that names it (within the bound),
 * and the responses written for it parse: a denial, and an admission with
 * a JSONPatch of every place whose base64 decodes to a JSON array. */
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
	sw_review_answer a = { false, "denied", warn, 1, "images", "deny", NULL, NULL, 0 };
	const char **ptrs = NULL, **vals = NULL;
	size_t i, k, np = 0;

	if (sw_review_read((const char *)data, size, &rv, &err) < 0)
		return 0;
	if (rv.nimages > SW_REVIEW_MAX_IMAGES || (!rv.judged && rv.nimages))
		abort();
	for (i = 0; i < rv.nimages; i++) {
		const sw_review_image *im = &rv.images[i];
		if (!im->image || !im->where || strncmp(im->where, "", 1) == 0 || !im->nptrs)
			abort();
		for (k = 0; k < im->nptrs; k++) {
			size_t l = strlen(im->ptrs[k]);
			if (im->ptrs[k][0] != '/' || l < 6 || strcmp(im->ptrs[k] + l - 6, "/image") != 0)
				abort();
			if (!(ptrs = realloc(ptrs, (np + 1) * sizeof(*ptrs))) ||
			    !(vals = realloc(vals, (np + 1) * sizeof(*vals))))
				abort();
			ptrs[np] = im->ptrs[k];
			vals[np++] = im->image;
		}
	}
	if (np > SW_REVIEW_MAX_PLACES)
		abort();
	warn[0] = rv.nimages ? rv.images[0].image : rv.kind;
	if (sw_review_write(&out, rv.uid, &a) != 0 || sw_json_parse(out.data, out.len, &doc, &err) != 0)
		abort();
	sw_json_free(doc);
	doc = NULL;
	if (np) {
		const sw_json *resp;
		const char *patch;
		uint8_t *dec = NULL;
		size_t declen;
		sw_review_answer b = { true, NULL, NULL, 0, NULL, "allow", ptrs, vals, np };
		sw_buf_reset(&out);
		if (sw_review_write(&out, rv.uid, &b) != 0 || sw_json_parse(out.data, out.len, &doc, &err) != 0 ||
		    !(resp = sw_json_get_obj(sw_json_root(doc), "response")) ||
		    !(patch = sw_json_get_str(resp, "patch")) ||
		    sw_b64_decode(patch, strlen(patch), &dec, &declen) != 0)
			abort();
		sw_json_free(doc);
		doc = NULL;
		if (sw_json_parse((const char *)dec, declen, &doc, &err) != 0 || sw_json_root(doc)->type != SW_JSON_ARR ||
		    sw_json_root(doc)->n != np)
			abort();
		sw_json_free(doc);
		free(dec);
	}
	free(ptrs);
	free(vals);
	sw_buf_release(&out);
	sw_review_release(&rv);
	return 0;
}
