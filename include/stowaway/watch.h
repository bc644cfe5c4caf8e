/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registry-wide sweeps (src/lib/watch/): enumerate registries, judge every
 * image on every platform, and keep what was found, on one machine (SQLite)
 * or on many sharing one PostgreSQL database, which is at once the work
 * queue, the verdict store and the layer cache. A layer scanned by any
 * worker is reused by all; a worker that dies gives its work back when its
 * lease runs out; a run that stops is continued by the next.
 */
#ifndef STOWAWAY_WATCH_H
#define STOWAWAY_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "stowaway/export.h"
#include "stowaway/error.h"
#include "stowaway/image.h"
#include "stowaway/scan.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_watch_progress {
	long long queued, leased, done, failed;   /* jobs, all workers */
	long long images, layers_scanned, layers_reused;   /* by this process */
	double seconds;
	double db_seconds;      /* of the workers' time, waiting on the store (all threads) */
} sw_watch_progress;

typedef struct sw_watch_opts {
	const char *db;                        /* "postgres://..." or "sqlite:PATH" */
	const char *const *registries;         /* "host[:port]": sweep each */
	size_t n_registries;
	const char *const *repos;              /* sweep only these ("name" or "host/name") */
	size_t n_repos;
	const char *const *namespaces;         /* sweep the repositories of these namespaces, */
	size_t n_namespaces;                   /* listed by hub_api */
	const char *hub_api;                   /* a Docker Hub-shaped listing API ("https://hub.docker.com") */
	const char *names_as;                  /* judge repository names as on this registry ("docker.io") */
	unsigned workers;                      /* threads taking jobs; 0 = 1 */
	bool until_idle;                       /* return when no job is queued or leased */
	bool enqueue_only;                     /* start the sweeps and return (no worker) */
	bool summary;                          /* one line on stderr at the end: work, time, store's share */
	double lease;                          /* seconds a job is held without news; 0 = 300 */
	double rate;                           /* requests per second per registry; 0 = no limit */
	unsigned concurrency;                  /* requests at once per registry; 0 = 8 */
	const char *metrics;                   /* "ADDR:PORT" for Prometheus' /metrics, or NULL */
	sw_registry_opts registry;             /* how to reach the registries (hooks are the watch's) */
	sw_image_opts image;                   /* bounds on manifests and configs */
	sw_scan_opts scan;                     /* rules, limits, jobs (layer cache: the database's) */
	void (*progress)(void *ctx, const sw_watch_progress *p);   /* about once a second */
	void *progress_ctx;
} sw_watch_opts;

/* Start a sweep of each registry that has none running (or join the one
 * that does), then run workers until stopped (SIGINT/SIGTERM: the jobs in
 * hand are finished first) or, with until_idle, until the queue is empty.
 * With no registry, only work the queue; with enqueue_only, only start
 * the sweeps. SW_EIO when the database cannot be reached at the start. */
SW_API int sw_watch_run(const sw_watch_opts *o, sw_error *err);

typedef enum { SW_WATCH_TABLE, SW_WATCH_JSON } sw_watch_format;

/* Progress of the queue and the store (schema stowaway.watch-status/v1). */
SW_API int sw_watch_status(const char *db, sw_watch_format fmt, FILE *out, sw_error *err);
/* Events since a time (milliseconds since the epoch; 0: all), of one kind
 * or all (kind NULL), as JSON lines or a table. */
SW_API int sw_watch_events(const char *db, long long since_ms, const char *kind, sw_watch_format fmt, FILE *out,
			   sw_error *err);
/* Malicious and suspicious images and look-alike repositories
 * (schema stowaway.watch-report/v1). Returns 1 when any was found. */
SW_API int sw_watch_report(const char *db, sw_watch_format fmt, FILE *out, sw_error *err);

#ifdef __cplusplus
}
#endif

#endif
