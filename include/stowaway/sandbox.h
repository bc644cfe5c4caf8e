/* SPDX-License-Identifier: Apache-2.0 */
/* Dynamic analysis, first part: an image's root filesystem on disk. */
#ifndef STOWAWAY_SANDBOX_H
#define STOWAWAY_SANDBOX_H

#include <stdint.h>

#include "stowaway/error.h"
#include "stowaway/image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_rootfs_opts {
	uint64_t max_entries;
	uint64_t max_bytes;       /* bytes written in all */
} sw_rootfs_opts;

#define SW_ROOTFS_OPTS_INIT { 1000000, 8ull << 30 }

typedef struct sw_rootfs_stats {
	uint64_t layers, entries, files, bytes;
	uint64_t whiteouts;
	uint64_t skipped;         /* device nodes, FIFOs: never created */
	uint64_t refused;         /* names above the root, hard links out of it */
} sw_rootfs_stats;

/* Apply the image's layers to target (created, or empty): whiteouts and
 * opaque directories, no entry outside target, nothing written through a
 * link, no device nodes, no setuid bits; blob digests and diff_ids checked. */
int sw_rootfs_assemble(const sw_image *img, const char *target, const sw_rootfs_opts *o, sw_rootfs_stats *st,
		       sw_error *err);

#ifdef __cplusplus
}
#endif

#endif
