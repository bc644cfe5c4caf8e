/* SPDX-License-Identifier: Apache-2.0 */
/* Dynamic analysis, first part: an image's root filesystem on disk. */
#ifndef STOWAWAY_SANDBOX_H
#define STOWAWAY_SANDBOX_H

#include <stdint.h>

#include "stowaway/export.h"
#include "stowaway/error.h"
#include "stowaway/image.h"
#include "stowaway/report.h"
#include "stowaway/scan.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_rootfs_opts {
	uint64_t max_entries;
	uint64_t max_bytes;       /* bytes written in all */
	int64_t id_base;          /* >= 0 (root only): entries owned by id_base + their
				   * uid/gid (ids above 65535 become 65534); -1: ours */
	unsigned max_ratio;       /* bytes written per byte of a layer's blob, judged
				   * after 16 MiB of a layer (as a scan's max-ratio) */
	double timeout;           /* seconds for the whole assembly */
} sw_rootfs_opts;

#define SW_ROOTFS_OPTS_INIT { 1000000, 8ull << 30, -1, 250, 600 }

typedef struct sw_rootfs_stats {
	uint64_t layers, entries, files, bytes;
	uint64_t links;           /* hard links, made as links (never copies) */
	uint64_t whiteouts;
	uint64_t skipped;         /* device nodes, FIFOs: never created */
	uint64_t refused;         /* names above the root, hard links out of it */
} sw_rootfs_stats;

/* Apply the image's layers to target (created, or empty): whiteouts and
 * opaque directories, no entry outside target, nothing written through a
 * link, no device nodes, no setuid bits; blob digests and diff_ids checked.
 * SW_EFORMAT for a whiteout that names "", "." or ".." (nothing of it is
 * applied; what earlier entries made stays in target), SW_ELIMIT past a
 * bound (entries, bytes, ratio, time), SW_EVERIFY on a digest mismatch. */
SW_API int sw_rootfs_assemble(const sw_image *img, const char *target, const sw_rootfs_opts *o,
			      sw_rootfs_stats *st, sw_error *err);

/*
 * Dynamic analysis: run the image in a rootless sandbox (user, mount, PID,
 * network, IPC, UTS and cgroup namespaces; pivot_root; no capabilities;
 * no_new_privs; a seccomp filter; rlimits) whose network is a sinkhole,
 * trace what it does, and judge it. Works as root and as an unprivileged
 * user (user namespaces must be allowed).
 */
typedef struct sw_detonate_opts {
	unsigned timeout;           /* seconds of wall clock (default 30) */
	const char *const *cmd;     /* argv replacing Entrypoint + Cmd, or NULL */
	size_t ncmd;
	uint64_t memory;            /* bytes for the whole sandbox (default 1 GiB) */
	unsigned max_procs;         /* processes (default 256) */
	unsigned cpus;              /* CPU limit where cgroup v2 is delegated (0: none) */
	uint64_t max_artifact;      /* bytes of an executed file kept for the scan (64 MiB) */
	uint64_t max_disk;          /* bytes it may write to the work directory's disk (4 GiB) */
	const char *keep;           /* keep the work directory here (rootfs, executed files) */
	const sw_scan_opts *scan;   /* how executed files are scanned (NULL: defaults) */
	sw_rootfs_opts rootfs;
	uint64_t max_inodes;        /* inodes it may add to that filesystem (100,000) */
} sw_detonate_opts;

#define SW_DETONATE_OPTS_INIT { 30, NULL, 0, 1ull << 30, 256, 0, 64ull << 20, 4ull << 30, NULL, NULL, \
				SW_ROOTFS_OPTS_INIT, 100000 }

/* Detonate img. The report carries the timeline (events), the behaviour
 * findings (detector "sandbox") and the static findings of every file the
 * image executed. Every event is judged; the timeline keeps the first
 * 20,000 (or 64 MiB of them) and limit events; whatever was not seen or
 * recorded is listed as incomplete with a SW-INCOMPLETE finding (a run
 * whose supervisor died or overran its deadline too). SW_ERROR when the sandbox cannot be built here (the
 * reason says which part), SW_ELIMIT/SW_EVERIFY/SW_EFORMAT from the image. */
SW_API int sw_detonate(const sw_image *img, const sw_detonate_opts *o, sw_report **out, sw_error *err);

/* Append the findings and timeline of `dynamic` to `into` (scan --dynamic). */
SW_API int sw_report_merge(sw_report *into, const sw_report *dynamic, sw_error *err);

#ifdef __cplusplus
}
#endif

#endif
