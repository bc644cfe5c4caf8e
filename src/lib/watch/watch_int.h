/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside stowaway watch: the store (store.c: schema and its migrations,
 * the job queue, layer claims, events), the workers (run.c) and the
 * outputs (out.c). Times are milliseconds since the epoch, from the
 * workers' clocks.
 */
#ifndef SW_WATCH_INT_H
#define SW_WATCH_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "stowaway/watch.h"
#include "../db/db.h"

#define WATCH_SCHEMA_VERSION 1
#define WATCH_MAX_ATTEMPTS 3
#define WATCH_MAX_PLATFORMS 64    /* platform images read from one index */

/* priorities: enumeration first, then tags new or moved, then the rest */
enum { PRIO_CATALOG = 100, PRIO_REPO = 90, PRIO_IMAGE_NEW = 50, PRIO_IMAGE = 10 };

/* the largest manifest a repository's job carries to its image's job in
 * the queue (a larger one is fetched again by digest) */
#define WATCH_MAX_CARRIED (64u << 10)

typedef struct wjob {
	int64_t id;
	char *kind;        /* "catalog", "repo", "image" */
	char *registry, *repo, *ref, *platform, *tag, *opt;
	char *parent;      /* an index's platform image: the index's digest */
	char *mtype;       /* the manifest's media type, when a HEAD said it */
	uint8_t *manifest; /* an image job's manifest, fetched with its tag (or NULL) */
	size_t manifest_len;
	int64_t sweep;
	int priority, attempts;
	bool permanent;    /* set by a job that failed for good: no retry */
} wjob;

int64_t sw_watch__now(void);
int sw_watch__open(sw_db **out, const char *url, sw_error *err);   /* opens and migrates */

int64_t sw_watch__enqueue(sw_db *db, const char *kind, const char *registry, const char *repo, const char *ref,
			  const char *platform, const char *tag, const char *opt, int64_t sweep, int priority,
			  sw_error *err);
int sw_watch__lease(sw_db *db, const char *me, int64_t lease_ms, wjob *j, sw_error *err);  /* 1: got one */
void sw_watch__job_free(wjob *j);
/* the same with every field of a job (parent, mtype) */
int64_t sw_watch__enqueue_job(sw_db *db, const wjob *spec, sw_error *err);
int sw_watch__extend(sw_db *db, const wjob *j, const char *me, int64_t lease_ms);
/* done, or failed for good after WATCH_MAX_ATTEMPTS (an event), or back
 * to the queue after a pause; defer: back without counting an attempt */
int sw_watch__finish(sw_db *db, const wjob *j, const char *me, const char *error, sw_error *err);
int sw_watch__defer(sw_db *db, const wjob *j, const char *me, int64_t delay_ms);
int sw_watch__reap(sw_db *db);
/* queued + leased jobs (not_before included) */
int64_t sw_watch__pending(sw_db *db, sw_error *err);

int64_t sw_watch__sweep_start(sw_db *db, const char *registry, bool *created, sw_error *err);
void sw_watch__sweeps_close(sw_db *db);

int sw_watch__event(sw_db *db, const char *kind, const char *registry, const char *repo, const char *tag,
		    const char *digest, const char *platform, const char *verdict, const char *detail);
void sw_watch__count(sw_db *db, const char *name, int64_t n);

#endif
