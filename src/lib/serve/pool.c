/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The worker pool: a fixed number of threads over one bounded queue
 * (mutex and condition variable). A server never waits on it: submit
 * refuses when the queue is full, and the caller answers "busy, retry"
 * instead of queueing without end. Workers block every signal, so SIGTERM
 * reaches the loop's thread and a registry transfer is never interrupted.
 * A job that hangs (a registry that accepts and never answers) holds its
 * worker until the registry client's own timeouts end it; stop waits a
 * bounded time for that and otherwise leaves the workers to the exit.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool.h"
#include "../util/util.h"

struct sw_pool {
	sw_http *h;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	sw_pool_job *head, *tail;
	size_t queued, max_queued;
	unsigned nthreads, running;
	bool stop;
	pthread_t *tids;
};

static void *worker(void *arg)
{
	sw_pool *p = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		sw_pool_job *j;
		while (!p->stop && !p->head)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop)
			break;
		j = p->head;
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
		p->queued--;
		pthread_mutex_unlock(&p->mu);
		j->run(j);
		pthread_mutex_lock(&p->mu);
		if (!p->stop)
			sw_http_post(p->h, &j->done);
	}
	p->running--;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int sw_pool_new(sw_pool **out, sw_http *h, unsigned nthreads, size_t max_queued)
{
	sw_pool *p;
	unsigned i;

	*out = NULL;
	if (!(p = calloc(1, sizeof(*p))) || !(p->tids = calloc(nthreads ? nthreads : 1, sizeof(*p->tids)))) {
		free(p);
		return SW_ENOMEM;
	}
	p->h = h;
	p->max_queued = max_queued;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (i = 0; i < (nthreads ? nthreads : 1); i++) {
		if (pthread_create(&p->tids[i], NULL, worker, p) != 0)
			break;
		p->nthreads++;
		p->running++;
	}
	if (p->nthreads == 0) {
		free(p->tids);
		free(p);
		return SW_EIO;
	}
	*out = p;
	return 0;
}

int sw_pool_submit(sw_pool *p, sw_pool_job *j)
{
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	if (p->stop || p->queued >= p->max_queued)
		rc = SW_ELIMIT;
	else {
		j->next = NULL;
		if (p->tail)
			p->tail->next = j;
		else
			p->head = j;
		p->tail = j;
		p->queued++;
		pthread_cond_signal(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

size_t sw_pool_queued(sw_pool *p)
{
	size_t n;

	pthread_mutex_lock(&p->mu);
	n = p->queued;
	pthread_mutex_unlock(&p->mu);
	return n;
}

int sw_pool_stop(sw_pool *p, double wait_s)
{
	struct timespec until;
	unsigned i;
	int rc = 0;

	if (!p)
		return 0;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)wait_s;
	until.tv_nsec += (long)((wait_s - (double)(time_t)wait_s) * 1e9);
	if (until.tv_nsec >= 1000000000L)
		until.tv_sec++, until.tv_nsec -= 1000000000L;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	while (p->running > 0 && rc == 0)
		if (pthread_cond_timedwait(&p->cv, &p->mu, &until) == ETIMEDOUT)
			rc = SW_ETIMEOUT;
	pthread_mutex_unlock(&p->mu);
	if (rc < 0) {
		for (i = 0; i < p->nthreads; i++)
			pthread_detach(p->tids[i]);
		return rc;
	}
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->tids[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->tids);
	free(p);
	return 0;
}
