/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-layer verdict cache (cache.c): what scanning one layer produced,
 * stored in SQLite under a key that covers everything the result depends
 * on, so a layer shared by many images is downloaded and scanned once.
 */
#ifndef STOWAWAY_CACHE_H
#define STOWAWAY_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "stowaway/export.h"
#include "stowaway/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_cache sw_cache;

/* path: the database file (created with its directory). max_bytes: the
 * size the stored entries are pruned to, least recently used first. */
SW_API int sw_cache_open(sw_cache **out, const char *path, uint64_t max_bytes, sw_error *err);
SW_API void sw_cache_close(sw_cache *c);

/* The stored bytes for key (64 hex), or SW_ENOTFOUND. *out is malloc'd. A
 * hit marks the entry as used now. */
SW_API int sw_cache_get(sw_cache *c, const char *key, uint8_t **out, size_t *len);
/* Store (replace) an entry; prunes when over the size. */
SW_API int sw_cache_put(sw_cache *c, const char *key, const char *layer_digest, const uint8_t *data,
			size_t len);

typedef struct sw_cache_stats {
	uint64_t entries, bytes, max_bytes;
	uint64_t hits, misses;   /* counted in the database, across runs */
} sw_cache_stats;

SW_API int sw_cache_stats_get(sw_cache *c, sw_cache_stats *st, sw_error *err);
/* Drop entries, least recently used first, until at most max_bytes remain
 * (0: drop all). Returns how many were dropped. */
SW_API int64_t sw_cache_prune(sw_cache *c, uint64_t max_bytes, sw_error *err);

/* $XDG_CACHE_HOME/stowaway/layers.db, or ~/.cache/stowaway/layers.db */
SW_API char *sw_cache_default_path(void);

#ifdef __cplusplus
}
#endif

#endif
