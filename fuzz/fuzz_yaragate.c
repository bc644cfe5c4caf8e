/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the YARA gate reader (src/lib/detect/yaragate*.c) with rule text of
 * any shape (--rules directories hold third-party rule packs): it must
 * never crash or read out of bounds, and a gate must only open as more is
 * found (a file closed with every pattern found is closed with none).
 * Input: rule text, then (after a 0xff byte, if any) a file's bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "../src/lib/detect/yaragate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sep = memchr(data, 0xff, size);
	size_t tlen = sep ? (size_t)(sep - data) : size;
	const uint8_t *file = sep ? sep + 1 : data;
	size_t flen = sep ? size - tlen - 1 : size;
	char *text = malloc(tlen + 1);
	const char *t[1], *ns[1] = { "user" };
	static uint8_t lits[64][256];
	size_t lens[64];
	sw_ygate *g = NULL;
	sw_error err = SW_ERROR_INIT;

	if (!text)
		return 0;
	memcpy(text, data, tlen);
	text[tlen] = '\0';
	sw_ygate_regex_lits(text, strlen(text), lits, lens, 64, 1);
	t[0] = text;
	if (sw_ygate_build(t, ns, 1, &g, &err) == 0 && g) {
		size_t words = (sw_ygate_npatterns(g) + 63) / 64 + 1, i;
		uint64_t *none = calloc(words, 8), *all = malloc(words * 8);
		uint8_t *scratch = malloc(sw_ygate_nrules(g) + 1);
		sw_ygate_file f = { file, flen, "/etc/cron.d/x.sh", "x.sh", "sh" };
		if (none && all && scratch) {
			memset(all, 0xff, words * 8);
			if (sw_ygate_may_match(g, none, &f, scratch) && !sw_ygate_may_match(g, all, &f, scratch))
				abort(); /* finding more closed a gate */
			for (i = 0; i < sw_ygate_npatterns(g); i++) {
				size_t len;
				unsigned fl;
				sw_ygate_pattern(g, i, &len, &fl);
				if ((fl & SW_YGATE_REGEX) && i % 2)
					sw_ygate_drop(g, i);
			}
			if (sw_ygate_may_match(g, none, &f, scratch) && !sw_ygate_may_match(g, all, &f, scratch))
				abort();
		}
		free(none);
		free(all);
		free(scratch);
		sw_ygate_free(g);
	}
	free(text);
	return 0;
}
