/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What scanning one layer produces (a "job"): the records of its entries
 * for the merge, its findings, what it could not scan, and the small
 * scripts kept for the entrypoint chain. Shared by the engine (scan*.c)
 * and the layer cache codec (jobcache.c).
 */
#ifndef SW_SCAN_JOB_H
#define SW_SCAN_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stowaway/report.h"
#include "../util/util.h"

typedef struct rec {
	uint32_t path, link;    /* offsets into job.strings; link 0 = none */
	char type;
	uint8_t flags;          /* SW_MREC_* */
} rec;

typedef struct pfinding {
	sw_finding f;           /* strings heap-owned */
	size_t rec;
	char *path;             /* inside a nested archive ("outer!inner"), else NULL */
} pfinding;

typedef struct kept {
	size_t rec;
	uint8_t *data;
	size_t len;
} kept;

/* The digests of an ELF file in a system binary directory, for pkgdb.c to
 * compare with the package database's record (a replaced ps or sshd):
 * dpkg records MD5, apk SHA-1, rpm SHA-256 (or what its header names). */
typedef struct psum {
	size_t rec;
	uint8_t md5[SW_MD5_LEN];
	uint8_t sha1[SW_SHA1_LEN];
	uint8_t sha256[SW_SHA256_LEN];
} psum;

typedef struct pinc {
	char *path, *reason;
} pinc;

typedef struct job {
	size_t index;
	int rc;
	sw_error err;
	rec *recs;
	size_t nrecs, caprecs;
	sw_buf strings;
	pfinding *fs;
	size_t nf, capf;
	pinc *incs;
	size_t ninc, capinc, inc_dropped, f_dropped;
	kept *kept;
	size_t nkept, capkept;
	psum *sums;
	size_t nsums, capsums;
	uint64_t entries, bytes_out;  /* what it counted against the image's limits */
	uint64_t files;               /* files it scanned (nested ones too): the
				       * report's count, also on a cache hit */
	bool cached;            /* filled from the layer cache: not scanned */
	bool limited;           /* a bound stopped it: not cacheable */
	bool transient;         /* shaped by the run (a timeout, the image's script budget): not cacheable */
	bool stopped;           /* told to stop because another layer failed */
	char *key;              /* its cache key, when a cache is open */
} job;

/* The layer cache's payload for a job (everything the image-level passes
 * read: records, findings, incompletes, kept scripts) plus the diff_id the
 * layer was verified against. */
int sw_job_encode(const job *j, const char *diff_id, sw_buf *out);
/* Fill an empty job from a payload; SW_EFORMAT on anything malformed (a
 * cache file is input like any other). *diff_id is malloc'd. */
int sw_job_decode(job *j, const uint8_t *p, size_t n, char **diff_id, size_t max_strings);

/* Free what a job owns (the job itself is not freed). */
void sw_job_release(job *j);

#endif
