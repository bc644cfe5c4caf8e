/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the chunk pipe (src/lib/util/pipe.c): every chunk reaches
 * the consumer once, in order; the side task (the diff_id's hash in the
 * layer stream) runs once on every chunk, in order, and before the
 * consumer takes it, whichever thread runs it: the producer when the
 * consumer is slow and the pipe full, the consumer when the producer is
 * slow. A failing consumer stops the producer with its error. Deferred
 * work (the compressed blob's hash) runs once on every buffer, in order,
 * before the producer reuses it and before finish returns: on the consumer
 * while it waits for chunks, else on the producer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>

#include <cmocka.h>

#include "../../src/lib/util/util.h"
#include "../../src/lib/util/banned.h"

#define CHUNKS 400

typedef struct rec {
	pthread_mutex_t mu;
	uint32_t sided[CHUNKS], consumed[CHUNKS];
	size_t nsided, nconsumed;
	bool out_of_order;          /* consumed a chunk its side task had not seen */
	pthread_t producer;
	size_t by_producer;         /* side tasks run on the producer's thread */
	unsigned consume_ns, fail_at;
} rec;

static void nap(unsigned ns)
{
	struct timespec ts = { 0, (long)ns };

	if (ns)
		nanosleep(&ts, NULL);
}

static void side(void *ctx, const uint8_t *p, size_t n)
{
	rec *r = ctx;
	uint32_t v;

	assert_int_equal(n, sizeof(v) * 16);
	memcpy(&v, p, sizeof(v));
	pthread_mutex_lock(&r->mu);
	r->sided[r->nsided++] = v;
	if (pthread_equal(pthread_self(), r->producer))
		r->by_producer++;
	pthread_mutex_unlock(&r->mu);
}

static int consume(void *ctx, const uint8_t *p, size_t n)
{
	rec *r = ctx;
	uint32_t v;
	size_t i;
	bool seen = false;

	(void)n;
	memcpy(&v, p, sizeof(v));
	nap(r->consume_ns);
	pthread_mutex_lock(&r->mu);
	for (i = 0; i < r->nsided; i++)
		seen |= r->sided[i] == v;
	r->out_of_order |= !seen;
	r->consumed[r->nconsumed++] = v;
	pthread_mutex_unlock(&r->mu);
	return r->fail_at && v == r->fail_at ? SW_EFORMAT : 0;
}

static int run(rec *r, unsigned produce_ns, bool with_side)
{
	sw_pipe *p = NULL;
	uint32_t chunk[16];
	uint32_t i;
	int rc = 0;

	pthread_mutex_init(&r->mu, NULL);
	r->producer = pthread_self();
	assert_int_equal(sw_pipe_start(&p, 4, sizeof(chunk), consume, with_side ? side : NULL, r), 0);
	for (i = 0; i < CHUNKS && rc == 0; i++) {
		memset(chunk, 0, sizeof(chunk));
		chunk[0] = i + 1;
		nap(produce_ns);
		if (i % 2) {
			rc = sw_pipe_put(p, (const uint8_t *)chunk, sizeof(chunk));
		} else {
			uint8_t *buf;
			size_t cap;
			if ((rc = sw_pipe_reserve(p, &buf, &cap)) == 0) {
				memcpy(buf, chunk, sizeof(chunk));
				rc = sw_pipe_commit(p, sizeof(chunk));
			}
		}
	}
	if (rc == 0)
		rc = sw_pipe_finish(p);
	else
		sw_pipe_finish(p);
	pthread_mutex_destroy(&r->mu);
	return rc;
}

static void check_all_in_order(const rec *r)
{
	size_t i;

	assert_int_equal(r->nconsumed, CHUNKS);
	assert_int_equal(r->nsided, CHUNKS);
	for (i = 0; i < CHUNKS; i++) {
		assert_int_equal(r->consumed[i], i + 1);
		assert_int_equal(r->sided[i], i + 1);
	}
	assert_false(r->out_of_order);
}

static void test_slow_consumer_producer_takes_the_side_task(void **state)
{
	rec *r = calloc(1, sizeof(*r));

	(void)state;
	r->consume_ns = 200000;
	assert_int_equal(run(r, 0, true), 0);
	check_all_in_order(r);
	/* a full pipe: the producer hashed instead of waiting */
	assert_true(r->by_producer > CHUNKS / 4);
	free(r);
}

static void test_slow_producer_consumer_does_it(void **state)
{
	rec *r = calloc(1, sizeof(*r));

	(void)state;
	assert_int_equal(run(r, 200000, true), 0);
	check_all_in_order(r);
	free(r);
}

static void test_no_side_task(void **state)
{
	rec *r = calloc(1, sizeof(*r));
	size_t i;

	(void)state;
	assert_int_equal(run(r, 0, false), 0);
	assert_int_equal(r->nsided, 0);
	assert_int_equal(r->nconsumed, CHUNKS);
	for (i = 0; i < CHUNKS; i++)
		assert_int_equal(r->consumed[i], i + 1);
	free(r);
}

static void test_consumer_error_stops_the_producer(void **state)
{
	rec *r = calloc(1, sizeof(*r));

	(void)state;
	r->fail_at = 50;
	r->consume_ns = 10000;
	assert_int_equal(run(r, 0, true), SW_EFORMAT);
	assert_true(r->nconsumed < CHUNKS);
	free(r);
}

/* ---- deferred work ---- */

#define RING 4

typedef struct drec {
	pthread_mutex_t mu;
	uint32_t seen[CHUNKS];
	size_t n, by_consumer;
	pthread_t producer;
	unsigned consume_ns;
} drec;

static void deferred(void *ctx, const uint8_t *p, size_t len)
{
	drec *d = ctx;
	uint32_t v;

	assert_int_equal(len, sizeof(v));
	memcpy(&v, p, sizeof(v));
	pthread_mutex_lock(&d->mu);
	d->seen[d->n++] = v;
	if (!pthread_equal(pthread_self(), d->producer))
		d->by_consumer++;
	pthread_mutex_unlock(&d->mu);
}

static int dconsume(void *ctx, const uint8_t *p, size_t n)
{
	(void)p, (void)n;
	nap(((drec *)ctx)->consume_ns);
	return 0;
}

/* The producer writes value i into ring buffer i % RING, defers it (at
 * most RING - 1 left queued, as the layer stream does) and puts a chunk.
 * A buffer reused before its deferred run would show a later value. */
static void run_deferred(drec *d, unsigned produce_ns, unsigned consume_ns)
{
	uint32_t ring[RING];
	uint8_t chunk[64] = { 0 };
	sw_pipe *p = NULL;
	uint32_t i;

	pthread_mutex_init(&d->mu, NULL);
	d->producer = pthread_self();
	d->consume_ns = consume_ns;
	assert_int_equal(sw_pipe_start(&p, 4, sizeof(chunk), dconsume, NULL, d), 0);
	sw_pipe_set_defer(p, deferred);
	for (i = 0; i < CHUNKS; i++) {
		nap(produce_ns);
		ring[i % RING] = i + 1;
		sw_pipe_defer(p, (const uint8_t *)&ring[i % RING], sizeof(ring[0]), RING - 1);
		assert_int_equal(sw_pipe_put(p, chunk, sizeof(chunk)), 0);
	}
	assert_int_equal(sw_pipe_finish(p), 0);
	assert_int_equal(d->n, CHUNKS);
	for (i = 0; i < CHUNKS; i++)
		assert_int_equal(d->seen[i], i + 1);
	pthread_mutex_destroy(&d->mu);
}

static void test_deferred_slow_producer_consumer_does_it(void **state)
{
	drec *d = calloc(1, sizeof(*d));

	(void)state;
	run_deferred(d, 200000, 0);
	/* the consumer had nothing else to do */
	assert_true(d->by_consumer > CHUNKS / 4);
	free(d);
}

static void test_deferred_slow_consumer_producer_does_it(void **state)
{
	drec *d = calloc(1, sizeof(*d));

	(void)state;
	run_deferred(d, 0, 200000);
	assert_true(d->by_consumer < CHUNKS / 4);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slow_consumer_producer_takes_the_side_task),
		cmocka_unit_test(test_slow_producer_consumer_does_it),
		cmocka_unit_test(test_no_side_task),
		cmocka_unit_test(test_consumer_error_stops_the_producer),
		cmocka_unit_test(test_deferred_slow_producer_consumer_does_it),
		cmocka_unit_test(test_deferred_slow_consumer_producer_does_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
