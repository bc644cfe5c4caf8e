/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's bounded table (dcache.h): chained hashing (FNV-1a over the
 * key, a power-of-two number of buckets sized for the count bound), a
 * doubly linked recency list, and the two bounds. Everything runs on the
 * loop's thread: no locks.
 */
#include <stdlib.h>
#include <string.h>

#include "dcache.h"
#include "../util/util.h"

struct sw_dc {
	sw_dc_entry **buckets;
	size_t nbuckets;             /* a power of two */
	size_t count, max_entries;
	size_t bytes, max_bytes;
	size_t per_kind[SW_DC_KINDS];
	size_t evicted;
	sw_dc_entry *head, *tail;    /* most recently used at the head */
	void (*free_val)(sw_dc_entry *e);
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static size_t entry_bytes(const sw_dc_entry *e)
{
	return sizeof(*e) + strlen(e->key) + 1 + e->bytes;
}

int sw_dc_new(sw_dc **out, size_t max_entries, size_t max_bytes, void (*free_val)(sw_dc_entry *e))
{
	sw_dc *c;
	size_t n = 64;

	if (!max_entries || !max_bytes)
		return SW_EINVAL;
	while (n < max_entries && n < ((size_t)1 << 24))
		n <<= 1;
	if (!(c = calloc(1, sizeof(*c))) || !(c->buckets = calloc(n, sizeof(*c->buckets)))) {
		free(c);
		return SW_ENOMEM;
	}
	c->nbuckets = n;
	c->max_entries = max_entries;
	c->max_bytes = max_bytes;
	c->free_val = free_val;
	*out = c;
	return 0;
}

static void unlink_lru(sw_dc *c, sw_dc_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void push_front(sw_dc *c, sw_dc_entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

void sw_dc_drop(sw_dc *c, sw_dc_entry *e)
{
	sw_dc_entry **p = &c->buckets[e->hash & (c->nbuckets - 1)];

	while (*p && *p != e)
		p = &(*p)->hnext;
	if (*p)
		*p = e->hnext;
	unlink_lru(c, e);
	c->count--;
	c->per_kind[e->kind]--;
	c->bytes -= entry_bytes(e);
	if (c->free_val)
		c->free_val(e);
	free(e->key);
	free(e);
}

void sw_dc_free(sw_dc *c)
{
	if (!c)
		return;
	while (c->head)
		sw_dc_drop(c, c->head);
	free(c->buckets);
	free(c);
}

static bool droppable(const sw_dc_entry *e)
{
	return e->done && !e->held;
}

sw_dc_entry *sw_dc_get(sw_dc *c, const char *key, double now)
{
	uint64_t h = fnv1a(key);
	sw_dc_entry *e;

	for (e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == h && strcmp(e->key, key) == 0)
			break;
	if (!e)
		return NULL;
	if (droppable(e) && now >= e->expires) {
		sw_dc_drop(c, e);
		return NULL;
	}
	if (c->head != e) {
		unlink_lru(c, e);
		push_front(c, e);
	}
	return e;
}

/* Room for need more bytes and one more entry: expired entries go first
 * (from the least recently used end, a bounded number looked at), then
 * the least recently used done ones. */
static bool make_room(sw_dc *c, size_t need, bool entry, double now)
{
	sw_dc_entry *e, *prev;
	size_t looked = 0;

	for (e = c->tail; e && looked < 64; e = prev, looked++) {
		prev = e->prev;
		if (droppable(e) && now >= e->expires)
			sw_dc_drop(c, e);
	}
	e = c->tail;
	while ((entry && c->count >= c->max_entries) || c->bytes + need > c->max_bytes) {
		while (e && !droppable(e))
			e = e->prev;
		if (!e)
			return false;
		prev = e->prev;
		sw_dc_drop(c, e);
		c->evicted++;
		e = prev;
	}
	return true;
}

sw_dc_entry *sw_dc_add(sw_dc *c, const char *key, int kind, double now)
{
	sw_dc_entry *e;
	size_t b;

	if (kind < 0 || kind >= SW_DC_KINDS)
		return NULL;
	if (!make_room(c, sizeof(*e) + strlen(key) + 1, true, now))
		return NULL;
	if (!(e = calloc(1, sizeof(*e))) || !(e->key = sw__strdup(key))) {
		free(e);
		return NULL;
	}
	e->hash = fnv1a(key);
	e->kind = kind;
	b = e->hash & (c->nbuckets - 1);
	e->hnext = c->buckets[b];
	c->buckets[b] = e;
	push_front(c, e);
	c->count++;
	c->per_kind[kind]++;
	c->bytes += entry_bytes(e);
	return e;
}

void sw_dc_done(sw_dc *c, sw_dc_entry *e, double now, double ttl, size_t bytes)
{
	c->bytes -= entry_bytes(e);
	e->bytes = bytes;
	c->bytes += entry_bytes(e);
	e->done = true;
	e->expires = now + ttl;
	/* over the byte bound now: what is least recently used makes room
	 * (never e itself while its owner holds it) */
	if (c->bytes > c->max_bytes) {
		bool held = e->held;
		e->held = true;
		make_room(c, 0, false, now);
		e->held = held;
	}
}

size_t sw_dc_count(const sw_dc *c, int kind)
{
	return kind >= 0 && kind < SW_DC_KINDS ? c->per_kind[kind] : c->count;
}

size_t sw_dc_bytes(const sw_dc *c)
{
	return c->bytes;
}

size_t sw_dc_evicted(const sw_dc *c)
{
	return c->evicted;
}
