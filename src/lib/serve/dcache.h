/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bounded table of keyed entries with expiry and least-recently-used
 * eviction (dcache.c), for a server's loop thread: the webhook keeps its
 * name verdicts, tag resolutions and decisions in one. An entry is either
 * running (work for it is under way: never evicted, never expired) or done
 * (with a time it expires). The table is bounded by a count and by the
 * bytes its owner says each entry holds; room is made by dropping expired
 * entries, then the least recently used done ones. What an entry holds is
 * its owner's (val, freed by the table's free_val when it goes).
 */
#ifndef SW_SERVE_DCACHE_H
#define SW_SERVE_DCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sw_dc sw_dc;

typedef struct sw_dc_entry {
	char *key;
	uint64_t hash;
	int kind;                    /* the owner's, counted per kind (0..7) */
	bool done;
	bool held;                   /* the owner is using it: not evicted */
	double expires;              /* when done */
	size_t bytes;                /* what it holds, as its owner counts it */
	void *val;                   /* the owner's */
	void *waiters;               /* the owner's */
	struct sw_dc_entry *hnext;   /* its hash chain */
	struct sw_dc_entry *prev, *next; /* most recently used first */
} sw_dc_entry;

#define SW_DC_KINDS 8

int sw_dc_new(sw_dc **out, size_t max_entries, size_t max_bytes, void (*free_val)(sw_dc_entry *e));
void sw_dc_free(sw_dc *c);

/* The entry for key: a done one that expired is dropped (NULL), unless
 * held. A found entry becomes the most recently used. */
sw_dc_entry *sw_dc_get(sw_dc *c, const char *key, double now);
/* A new running entry for key (which must not be there). NULL when there
 * is no room (every entry is running or held) or no memory. */
sw_dc_entry *sw_dc_add(sw_dc *c, const char *key, int kind, double now);
/* e's work is done: it holds bytes (besides its key) for ttl seconds. */
void sw_dc_done(sw_dc *c, sw_dc_entry *e, double now, double ttl, size_t bytes);
/* e goes now (its val is freed). */
void sw_dc_drop(sw_dc *c, sw_dc_entry *e);

size_t sw_dc_count(const sw_dc *c, int kind);
size_t sw_dc_bytes(const sw_dc *c);
size_t sw_dc_evicted(const sw_dc *c);

#endif
