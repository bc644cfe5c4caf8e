/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bounded single-producer, single-consumer pipe of byte chunks with its own
 * consumer thread. The scanner uses it to split one layer's work over two
 * cores: the producer reads, hashes and decompresses; the consumer hashes the
 * uncompressed stream, parses tar and runs the detectors. A layer of any size
 * then costs about max(decompress, scan) instead of their sum, which matters
 * when one big layer would otherwise keep a core idle.
 *
 * Memory is fixed (slots x slot size). When the consumer fails, put() returns
 * its error so the producer stops at once; finish() returns it too.
 *
 * A side task (the diff_id's hash) runs once on every chunk, in order,
 * before the consumer takes it, on whichever thread would otherwise wait:
 * the producer, when the pipe is full, hashes the oldest chunk not hashed
 * yet instead of sleeping; the consumer hashes a chunk itself when the
 * producer has not. So the work goes to the side with time to spare: on a
 * one-layer image the consumer (tar and every detector) is the slower, and
 * the decompressing thread takes the hashing off it.
 *
 * Deferred work (the compressed blob's hash) goes the other way: the
 * producer queues its own buffers (sw_pipe_defer), and the consumer, when
 * it would otherwise wait for a chunk, runs the oldest; the producer runs
 * them itself when too many are queued, or when the pipe is full. On a
 * layer whose decompression is the slower side, the hash leaves it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h"

struct sw_pipe {
	pthread_mutex_t mu;
	pthread_cond_t can_put, can_get;
	uint8_t **slot;
	uint8_t *mem;           /* every slot, in one allocation */
	size_t *len;
	size_t nslots, slot_size, head, count;
	bool closed, reserved;  /* reserved: the producer writes into the tail slot */
	int rc;                 /* consumer's first error */
	int (*fn)(void *, const uint8_t *, size_t);
	void (*side)(void *, const uint8_t *, size_t);
	size_t sided;           /* chunks from head on that the side task has done */
	bool side_busy;         /* a thread runs it now (on chunk head + sided) */
	pthread_cond_t side_done;
	void (*dfn)(void *, const uint8_t *, size_t);
	struct { const uint8_t *p; size_t n; } dq[SW_PIPE_DEFER_MAX];
	size_t dhead, dcount;   /* deferred: queued from dhead on */
	bool dbusy;             /* a thread runs the one at dhead */
	void *ctx;
	pthread_t th;
};

/* The oldest deferred entry, run by the caller (mutex held on entry and
 * exit; false when there is none or another thread has it). */
static bool run_deferred(sw_pipe *p)
{
	if (!p->dcount || p->dbusy)
		return false;
	p->dbusy = true;
	pthread_mutex_unlock(&p->mu);
	p->dfn(p->ctx, p->dq[p->dhead].p, p->dq[p->dhead].n);
	pthread_mutex_lock(&p->mu);
	p->dbusy = false;
	p->dhead = (p->dhead + 1) % SW_PIPE_DEFER_MAX;
	p->dcount--;
	pthread_cond_broadcast(&p->side_done);
	return true;
}

static void *consume(void *arg)
{
	sw_pipe *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		uint8_t *buf;
		size_t n;
		int rc;
		while (p->count == 0 && !p->closed)
			if (!run_deferred(p))   /* the producer's work while it has none for us */
				pthread_cond_wait(&p->can_get, &p->mu);
		if (p->count == 0)
			break;
		buf = p->slot[p->head];
		n = p->len[p->head];
		while (p->side && p->sided == 0) {
			if (p->side_busy) { /* the producer is on this chunk */
				pthread_cond_wait(&p->side_done, &p->mu);
				continue;
			}
			p->side_busy = true;
			pthread_mutex_unlock(&p->mu);
			p->side(p->ctx, buf, n);
			pthread_mutex_lock(&p->mu);
			p->side_busy = false;
			p->sided = 1;
		}
		pthread_mutex_unlock(&p->mu);
		rc = p->rc < 0 ? 0 : p->fn(p->ctx, buf, n);
		pthread_mutex_lock(&p->mu);
		if (rc < 0 && p->rc == 0)
			p->rc = rc;
		p->head = (p->head + 1) % p->nslots;
		p->count--;
		if (p->side)
			p->sided--;
		pthread_cond_signal(&p->can_put);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void pipe_free(sw_pipe *p)
{
	free(p->mem);
	free(p->slot);
	free(p->len);
	pthread_cond_destroy(&p->can_put);
	pthread_cond_destroy(&p->can_get);
	pthread_cond_destroy(&p->side_done);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

int sw_pipe_start(sw_pipe **out, size_t nslots, size_t slot_size,
		  int (*fn)(void *, const uint8_t *, size_t), void (*side)(void *, const uint8_t *, size_t),
		  void *ctx)
{
	sw_pipe *p = calloc(1, sizeof(*p));
	size_t i;

	*out = NULL;
	if (!p)
		return SW_ENOMEM;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->can_put, NULL);
	pthread_cond_init(&p->can_get, NULL);
	pthread_cond_init(&p->side_done, NULL);
	p->side = side;
	p->nslots = nslots;
	p->slot_size = slot_size;
	p->fn = fn;
	p->ctx = ctx;
	if (!nslots || !slot_size || nslots > SIZE_MAX / slot_size ||
	    !(p->slot = calloc(nslots, sizeof(*p->slot))) || !(p->len = calloc(nslots, sizeof(*p->len))) ||
	    !(p->mem = malloc(nslots * slot_size)))
		goto oom;
	sw_mem_huge(p->mem, nslots * slot_size);
	for (i = 0; i < nslots; i++)
		p->slot[i] = p->mem + i * slot_size;
	if (pthread_create(&p->th, NULL, consume, p) != 0)
		goto oom;
	*out = p;
	return 0;
oom:
	pipe_free(p);
	return SW_ENOMEM;
}

int sw_pipe_reserve(sw_pipe *p, uint8_t **buf, size_t *cap)
{
	int rc;

	pthread_mutex_lock(&p->mu);
	while (p->count == p->nslots && p->rc == 0) {
		if (run_deferred(p))
			continue;
		if (p->side && !p->side_busy && p->sided < p->count) {
			/* full: the oldest chunk not hashed yet, instead of waiting */
			size_t i = (p->head + p->sided) % p->nslots;
			p->side_busy = true;
			pthread_mutex_unlock(&p->mu);
			p->side(p->ctx, p->slot[i], p->len[i]);
			pthread_mutex_lock(&p->mu);
			p->side_busy = false;
			p->sided++;
			pthread_cond_broadcast(&p->side_done);
			continue;
		}
		pthread_cond_wait(&p->can_put, &p->mu);
	}
	rc = p->rc;
	/* the slot at tail is ours until count says otherwise */
	*buf = p->slot[(p->head + p->count) % p->nslots];
	pthread_mutex_unlock(&p->mu);
	*cap = p->slot_size;
	p->reserved = rc == 0;
	return rc;
}

int sw_pipe_commit(sw_pipe *p, size_t n)
{
	int rc;

	if (!p->reserved || n > p->slot_size)
		return SW_ERROR;
	if (n == 0)
		return 0;
	pthread_mutex_lock(&p->mu);
	rc = p->rc;
	p->len[(p->head + p->count) % p->nslots] = n;
	if (rc == 0) {
		p->count++;
		pthread_cond_signal(&p->can_get);
	}
	pthread_mutex_unlock(&p->mu);
	p->reserved = false;
	return rc;
}

int sw_pipe_put(sw_pipe *p, const uint8_t *data, size_t n)
{
	while (n) {
		uint8_t *slot;
		size_t cap, k;
		int rc;
		if ((rc = sw_pipe_reserve(p, &slot, &cap)) < 0)
			return rc;
		k = n < cap ? n : cap;
		memcpy(slot, data, k);
		if ((rc = sw_pipe_commit(p, k)) < 0)
			return rc;
		data += k;
		n -= k;
	}
	return 0;
}

void sw_pipe_set_defer(sw_pipe *p, void (*fn)(void *ctx, const uint8_t *buf, size_t n))
{
	p->dfn = fn;
}

void sw_pipe_defer(sw_pipe *p, const uint8_t *buf, size_t n, size_t keep)
{
	if (keep >= SW_PIPE_DEFER_MAX)
		keep = SW_PIPE_DEFER_MAX - 1;
	pthread_mutex_lock(&p->mu);
	/* room (a caller whose keep grew between calls may find it full) */
	while (p->dcount == SW_PIPE_DEFER_MAX)
		if (!run_deferred(p))
			pthread_cond_wait(&p->side_done, &p->mu);
	p->dq[(p->dhead + p->dcount) % SW_PIPE_DEFER_MAX].p = buf;
	p->dq[(p->dhead + p->dcount) % SW_PIPE_DEFER_MAX].n = n;
	p->dcount++;
	while (p->dcount > keep)
		if (!run_deferred(p))
			pthread_cond_wait(&p->side_done, &p->mu);
	pthread_cond_signal(&p->can_get);
	pthread_mutex_unlock(&p->mu);
}

int sw_pipe_finish(sw_pipe *p)
{
	int rc;

	if (!p)
		return 0;
	pthread_mutex_lock(&p->mu);
	p->closed = true;
	pthread_cond_signal(&p->can_get);
	/* what was deferred is done before the caller reads its result */
	while (p->dcount)
		if (!run_deferred(p))
			pthread_cond_wait(&p->side_done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->th, NULL);
	rc = p->rc;
	pipe_free(p);
	return rc;
}
