/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bounded pool of worker threads (pool.c) for the work a server must not
 * do on its event loop (a decision that may reach a registry). A job runs
 * on a worker, then its done message goes to the loop (sw_http_post).
 */
#ifndef SW_SERVE_POOL_H
#define SW_SERVE_POOL_H

#include <stddef.h>

#include "http.h"

typedef struct sw_pool sw_pool;

typedef struct sw_pool_job {
	struct sw_pool_job *next;
	void (*run)(struct sw_pool_job *j);  /* on a worker */
	sw_http_msg done;                    /* then done.fn on the loop */
} sw_pool_job;

/* nthreads workers, at most max_queued jobs waiting. SW_ENOMEM, SW_EIO. */
int sw_pool_new(sw_pool **out, sw_http *h, unsigned nthreads, size_t max_queued);
/* Queue j. SW_ELIMIT when max_queued jobs wait already (j is not taken). */
int sw_pool_submit(sw_pool *p, sw_pool_job *j);
/* Jobs waiting for a worker. */
size_t sw_pool_queued(sw_pool *p);
/* Stop: queued jobs are dropped (their done never runs), running ones
 * finish; waits for the workers at most wait_s seconds. Returns 0 when
 * every worker ended (p is freed), SW_ETIMEOUT when one is still running
 * (p is left to the process's exit, and so must what its jobs use). */
int sw_pool_stop(sw_pool *p, double wait_s);

#endif
