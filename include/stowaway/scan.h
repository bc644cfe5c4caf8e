/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Static scanning: stream every layer once, hand each file to the detectors,
 * then lay the layers over each other to tell which findings are still in
 * the final filesystem. The result is an sw_report (report.h).
 */
#ifndef STOWAWAY_SCAN_H
#define STOWAWAY_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stowaway/export.h"
#include "stowaway/error.h"
#include "stowaway/image.h"
#include "stowaway/report.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bounds on what one image may cost. Whatever exceeds one is not an error:
 * it is listed under "incomplete" and raises a medium `incomplete` finding. */
typedef struct sw_limits {
	uint64_t max_file_size;   /* bytes of one file given to content detectors */
	uint64_t max_image_bytes; /* uncompressed bytes per image */
	uint64_t max_entries;     /* tar entries per image */
	uint32_t max_ratio;       /* uncompressed:compressed bytes per layer */
	uint32_t max_path;        /* bytes of an entry's path */
	uint32_t max_depth;       /* nested archive depth */
	double timeout;           /* seconds per image */
} sw_limits;

#define SW_LIMITS_INIT { 256ull << 20, 32ull << 30, 1000000, 250, 4096, 4, 600.0 }

typedef struct sw_progress {
	size_t layers_done, layers;
	uint64_t bytes_in, bytes_out;  /* compressed read, uncompressed produced */
	uint64_t files;
	double seconds;
} sw_progress;

typedef struct sw_scan_opts {
	sw_limits limits;
	unsigned jobs;                    /* worker threads; 0 = number of cores */
	const char *const *ioc_files;     /* extra IOC lists ("sha256 severity category name") */
	size_t n_ioc_files;
	bool no_bundled_ioc;
	/* extra YARA rules: directories (read recursively for *.yar, *.yara)
	 * or files; docs/rules.md says how they are read */
	const char *const *rule_dirs;
	size_t n_rule_dirs;
	/* A --rules file that does not compile is left out, its problem
	 * reported, instead of failing the scan. */
	bool rules_skip_broken;
	/* The severity of --rules rules whose meta names none ("medium" when
	 * NULL; info, low, medium, high or critical). */
	const char *rules_severity;
	/* Every problem met loading --rules ("file:line: error|warning: why"
	 * lines, all at once), before the scan starts; NULL: not told. */
	void (*rules_problems)(void *ctx, const char *lines);
	void *rules_problems_ctx;
	bool no_bundled_rules;
	bool no_rule_cache;               /* always compile; never read or write the cache */
	const char *cache_dir;            /* NULL = $XDG_CACHE_HOME/stowaway or ~/.cache/stowaway */
	int file_timeout;                 /* seconds of YARA per file; 0 = 10 */
	bool no_prefilter;                /* give every file to libyara (no literal prefilter) */
	/* Called from worker threads at most every 200 ms (serialised). */
	void (*progress)(void *ctx, const sw_progress *p);
	void *progress_ctx;
	/* The per-layer verdict cache (SQLite): NULL = none. A layer found
	 * there (same digest, rules, limits and engine version) is neither
	 * read nor decompressed; results are the same as without it. */
	const char *layer_cache;
	uint64_t layer_cache_max;         /* bytes kept, least recently used go first; 0 = 2 GiB */
	/* Layer i's blob bytes as the scan reads them, before decompression,
	 * for a caller that keeps what it scans (the registry gate: fetch,
	 * verify, store and scan in one pass). Called from worker threads,
	 * one thread per layer at a time; a non-zero return stops the scan.
	 * A layer the layer cache answers is not read, so not passed. */
	int (*layer_raw)(void *ctx, size_t layer, const uint8_t *p, size_t n);
	void *layer_raw_ctx;
	/* An open layer cache used instead of opening layer_cache (the caller
	 * keeps and closes it; one scan at a time uses it). */
	struct sw_cache *layer_cache_handle;
	/* After a successful scan, once per layer, on the calling thread:
	 * whether its result came from the layer cache, and whether it was
	 * scanned and stored there (a shared store counts the scans). */
	void (*layer_result)(void *ctx, size_t layer, bool cached, bool stored);
	void *layer_result_ctx;
	/* Keep the loaded rules, IOC lists and prefilter for the rest of the
	 * process and share them with every later scan with the same rule
	 * options (a sweep's or a server's thousands of scans): a rule file
	 * changed on disk is then not seen until the process restarts. */
	bool share_detectors;
} sw_scan_opts;

#define SW_SCAN_OPTS_INIT { SW_LIMITS_INIT, 0, NULL, 0, false, NULL, 0, false, NULL, NULL, NULL, false, false, NULL, 0, false, NULL, NULL, \
			    NULL, 0, NULL, NULL, NULL, NULL, NULL, false }

/* Scan an image. On success *out belongs to the caller (sw_report_free),
 * whatever the findings. Errors (SW_EVERIFY for a blob or diff_id that does
 * not match, SW_EFORMAT for a corrupt layer, SW_EIO) leave *out NULL. */
SW_API int sw_scan_image(const sw_image *img, const sw_scan_opts *opts, sw_report **out,
			 sw_error *err);

/* Scan every platform of the index img was picked from (sw_image_variants):
 * img first, then each other image manifest the index lists (attestations
 * are none), each once, into one report. A layer the platforms share is
 * read once: through the layer cache when opts names one, else through one
 * kept in memory for this call. Every finding and incomplete entry says its
 * platform (sw_finding.platform); the verdict and the worst severity are
 * those of the worst platform; the report lists each platform scanned
 * (digests, layers, counts) and each not scanned with why. Not scanned:
 * when img was opened for a platform its caller named
 * (sw_image_platform_named: `--platform`), every other; an image manifest
 * the source does not hold (a layout with some platforms' blobs only:
 * nothing of it can run from there); those opts->limits.timeout, which
 * bounds the whole call, left no time for (then also an incomplete entry
 * and its medium finding). More than SW_IMAGE_MAX_PLATFORMS
 * image manifests: the rest are not read, and an incomplete entry (with
 * its medium finding) says how many. img from no index of several: as
 * sw_scan_image. Other platforms are opened with the options img was
 * opened with; their scans get opts without layer_raw and layer_result
 * (those see img's layers only). Errors as sw_scan_image, for any
 * platform (err names it). */
SW_API int sw_scan_platforms(const sw_image *img, const sw_scan_opts *opts, sw_report **out, sw_error *err);

#ifdef __cplusplus
}
#endif
#endif
