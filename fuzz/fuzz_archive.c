/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz whole images: the input is a tar, opened as a docker-archive (its
 * manifest.json, config and layers) or, when built with -DSW_FUZZ_OCI, as
 * an oci-archive (oci-layout, index.json, manifests, config, layers), then
 * scanned with small limits. The bytes live in a memfd so the real file
 * path code runs. */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stowaway/stowaway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sw_image_opts io = SW_IMAGE_OPTS_INIT;
	sw_scan_opts so = SW_SCAN_OPTS_INIT;
	sw_error err = SW_ERROR_INIT;
	sw_image *img = NULL;
	sw_report *rep = NULL;
	char input[64];
	int fd = memfd_create("fuzz", 0);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
#ifdef SW_FUZZ_OCI
	snprintf(input, sizeof(input), "oci-archive:/proc/self/fd/%d", fd);
#else
	snprintf(input, sizeof(input), "docker-archive:/proc/self/fd/%d", fd);
#endif
	io.max_manifest = 1 << 20;
	io.max_config = 1 << 20;
	so.jobs = 1;
	/* YARA's compiler is not ours to fuzz, and compiling per input would
	 * cost more than the parse: the other detectors (IOC, heuristics,
	 * config/history, entrypoint chain) all run. */
	so.no_bundled_rules = true;
	so.no_rule_cache = true;
	so.limits.max_image_bytes = 64u << 20;
	so.limits.max_entries = 10000;
	so.limits.timeout = 10;
	if (sw_image_open(&img, input, &io, &err) == 0 && sw_scan_image(img, &so, &rep, &err) == 0) {
		FILE *null = fopen("/dev/null", "w");
		if (null) {
			sw_report_write(rep, SW_FMT_JSON, false, null, &err);
			sw_report_write(rep, SW_FMT_TABLE, true, null, &err);
			fclose(null);
		}
	}
	sw_report_free(rep);
	sw_image_free(img);
	close(fd);
	return 0;
}
