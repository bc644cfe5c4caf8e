/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the layer cache's payload reader: a cache database is a file like
 * any other, and a damaged or forged entry must be refused or read within
 * bounds, never crash; what reads back encodes to a payload that reads
 * back to the same encoding (the reader may accept non-canonical forms). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/lib/scan/job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	job j;
	char *diff_id = NULL;

	memset(&j, 0, sizeof(j));
	if (sw_job_decode(&j, data, size, &diff_id, 1u << 24) == 0) {
		sw_buf b = SW_BUF_INIT(1u << 26), b2 = SW_BUF_INIT(1u << 26);
		job k;
		char *d2 = NULL;
		memset(&k, 0, sizeof(k));
		if (sw_job_encode(&j, diff_id, &b) != 0 ||
		    sw_job_decode(&k, (const uint8_t *)b.data, b.len, &d2, 1u << 24) != 0 ||
		    sw_job_encode(&k, d2, &b2) != 0 || b.len != b2.len || memcmp(b.data, b2.data, b.len) != 0)
			abort();
		free(d2);
		sw_job_release(&k);
		sw_buf_release(&b);
		sw_buf_release(&b2);
	}
	free(diff_id);
	sw_job_release(&j);
	return 0;
}
