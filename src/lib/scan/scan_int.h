/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The scan engine's parts, internal (see scan.c): the scan, its workers,
 * the detectors' emit context, and the calls between the orchestration
 * (scan.c), a layer's job (scan_job.c), a layer's stream (scan_layer.c),
 * the layer cache's use (scan_cache.c) and the report's assembly
 * (scan_report.c).
 */
#ifndef SW_SCAN_INT_H
#define SW_SCAN_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stowaway/cache.h"
#include "stowaway/scan.h"
#include "../detect/detector.h"
#include "../image/stream.h"
#include "../layer/merge.h"
#include "../layer/tar.h"
#include "../util/util.h"
#include "job.h"

#define READ_CHUNK (1u << 20)
#define MAX_INCOMPLETE_PER_LAYER 1000
#define MAX_FINDINGS_PER_LAYER 10000
#define MAX_NAME_BYTES_PER_LAYER (256u << 20) /* paths + link targets kept for the merge */
#define MAX_RETAIN_FILE (64u << 10)   /* scripts kept for the entrypoint chain */
#define MAX_RETAIN_PKGDB (8u << 20)   /* a package database kept (pkgdb.c) */
#define MAX_RETAIN_TOTAL (16u << 20)  /* both, per image */
#define LINK_FLOOD 1000                 /* hard links to one file in a layer */

/* The detectors, in the order they see each file (scan.c). */
#define NDET 4
extern const sw_detector *const sw_scan__detectors[NDET];

typedef struct scan {
	const sw_image *img;
	const sw_scan_opts *o;
	sw_limits lim;
	void *dstate[NDET];
	bool want_content;
	job *jobs;
	size_t njobs;
	size_t nworkers;          /* layers decoded at once */
	atomic_size_t next, done;
	atomic_uint_fast64_t entries, bytes_in, bytes_out, files;
	atomic_bool stop;
	double start, deadline;
	char **start_paths;     /* what Entrypoint/Cmd may run: keep those bytes */
	atomic_uint_fast64_t kept_bytes;
	pthread_mutex_t plock;
	double last_progress;
	sw_cache *cache;
	bool cache_borrowed;    /* the caller's (layer_cache_handle): not closed here */
	bool shared_detectors;  /* dstate belongs to the process-wide set: not released here */
	uint64_t cache_hits;
} scan;

typedef struct worker {
	scan *s;
	job *j;
	void *wstate[NDET];
	sw_sha256 *fh;
	sw_buf content;
	const uint8_t *direct;  /* the whole file in the tar parser's chunk: not copied */
	size_t direct_len;
	uint8_t *rbuf;
	char *clean, *clean2;
	sw_lstream *ls;         /* the layer stream (image/stream.c) */
	sw_error *err;          /* the job's error */
	/* the file being streamed */
	sw_tar_xattr xa[64];     /* copies: the tar parser frees its own after the header */
	size_t nxa;
	bool in_file, truncated, hashing;
	size_t cur_rec;
	sw_file cur;
	uint8_t digest[SW_SHA256_LEN];
	/* a member of a nested archive being scanned */
	const char *nested_path;
	unsigned depth;
	uint64_t nest_budget;
} worker;

struct sw_emit {
	worker *w;              /* file detectors: the worker and its current file */
	const char *detector;
	sw_report *r;           /* image detectors: straight into the report */
	const sw_image *img;
};

/* A layer's job (scan_job.c): an entry's path; an entry recorded (*idx its
 * record); something not scanned, said once per path and reason, at most
 * MAX_INCOMPLETE_PER_LAYER listed. */
const char *sw_scan__job_path(const job *j, size_t r);
int sw_scan__add_rec(job *j, const char *path, const char *link, char type, uint8_t flags,
		     size_t *idx);
int sw_scan__add_inc(job *j, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A layer's stream (scan_layer.c): the worker's job read from its blob, or
 * from the dir: source's tree; the xattrs it copied freed. */
int sw_scan__blob(worker *w);
int sw_scan__rootfs(worker *w);
void sw_scan__free_xattrs(worker *w);

/* The layer cache (scan_cache.c): opened when the options name one, and
 * the layers it holds taken from it; the scanned layers stored. */
void sw_scan__cache_open(scan *s, const char *ruleset);
void sw_scan__cache_store(scan *s);

/* The report (scan_report.c): the layers' records merged (*out: the
 * merged view); every layer's findings and incompletes placed in it; the
 * entrypoint chain followed. Negative codes: out of memory. */
int sw_scan__merge(scan *s, sw_merge **out);
int sw_scan__build_report(scan *s, const sw_merge *m, sw_report *r);
int sw_scan__chain(scan *s, const sw_merge *m, sw_report *r);
/* Package provenance (pkgdb.c): is path a package database the engine
 * keeps; and every finding on a file told which installed package lists
 * it, from the databases still in the final filesystem. */
bool sw_scan__is_pkgdb(const char *path);
int sw_scan__provenance(scan *s, const sw_merge *m, sw_report *r);

#endif
