/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The layer cache's use by a scan (see scan.c; the cache itself is
 * cache/cache.c, the job's codec jobcache.c): before the workers start,
 * each layer whose result is cached under a key of its digest, the engine,
 * the rules and the limits, and fits this image, is taken from it; after,
 * each layer scanned whole and unshaped by the run is stored.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "scan_int.h"
#include "../image/image_int.h"
#include "../util/banned.h"

#define LAYER_CACHE_DEFAULT_MAX (2ull << 30)

/* Everything a layer's result depends on besides its bytes: the engine
 * (its generation: 3 since executables are searched for compressed payloads),
 * the rules and IOC lists (the ruleset digest), the per-layer limits. */
static char *cache_key(const scan *s, const char *ruleset, const char *digest)
{
	sw_sha256 *h = sw_sha256_new();
	uint8_t d[SW_SHA256_LEN];
	char *hex, *text;

	if (!h)
		return NULL;
	text = sw__asprintf("stowaway layer cache 4\n%s\n%s\n%s\n%llu %u %u %u %d\n", SW_VERSION, ruleset, digest,
			    (unsigned long long)s->lim.max_file_size, s->lim.max_ratio, s->lim.max_path,
			    s->lim.max_depth, s->want_content);
	if (text)
		sw_sha256_update(h, text, strlen(text));
	sw_sha256_final(h, d);
	sw_sha256_free(h);
	free(text);
	if (!(hex = malloc(2 * SW_SHA256_LEN + 1)))
		return NULL;
	sw_hex(d, SW_SHA256_LEN, hex);
	return hex;
}

/* The cached job must hold what this image needs from it: the same diff_id
 * as this image's config names, and the bytes of every file Entrypoint/Cmd
 * may run (kept only for the image that stored the entry). */
static bool cached_job_fits(const scan *s, const job *j, const char *diff_id, const sw_layer_info *li)
{
	char **p;
	size_t r, k;

	if (li->diff_id && strcmp(li->diff_id, diff_id) != 0)
		return false;
	for (p = s->start_paths; p && *p; p++)
		for (r = 0; r < j->nrecs; r++) {
			if (j->recs[r].type != '0' || strcmp(j->strings.data + j->recs[r].path, *p) != 0)
				continue;
			for (k = 0; k < j->nkept && j->kept[k].rec != r; k++)
				;
			if (k == j->nkept)
				return false;
		}
	return true;
}

static void cache_lookup(scan *s, const char *ruleset)
{
	size_t i, k;

	for (i = 0; i < s->njobs; i++) {
		job *j = &s->jobs[i];
		const sw_layer_info *li = sw_image_layer(s->img, i);
		uint8_t *data = NULL;
		size_t len;
		char *diff_id = NULL;
		if (!li->digest || !(j->key = cache_key(s, ruleset, li->digest)))
			continue;
		if (sw_cache_get(s->cache, j->key, &data, &len) < 0)
			continue;
		/* the image-wide bounds count cached layers too: a layer that would
		 * cross one is scanned, so the bound is met where it would be */
		if (sw_job_decode(j, data, len, &diff_id, MAX_NAME_BYTES_PER_LAYER) == 0 &&
		    cached_job_fits(s, j, diff_id, li) &&
		    atomic_load(&s->entries) + j->entries <= s->lim.max_entries &&
		    atomic_load(&s->bytes_out) + j->bytes_out <= s->lim.max_image_bytes) {
			j->cached = true;
			s->cache_hits++;
			atomic_fetch_add(&s->entries, j->entries);
			atomic_fetch_add(&s->bytes_out, j->bytes_out);
			atomic_fetch_add(&s->files, j->files);
			for (k = 0; k < j->nkept; k++)
				atomic_fetch_add(&s->kept_bytes, j->kept[k].len);
		} else {
			/* unusable: scan the layer as if the entry were not there */
			char *key = j->key;
			j->key = NULL;
			sw_job_release(j);
			memset(j, 0, sizeof(*j));
			j->index = i;
			j->key = key;
			j->strings = (sw_buf)SW_BUF_INIT(MAX_NAME_BYTES_PER_LAYER);
		}
		free(diff_id);
		free(data);
	}
}

/* A job is stored only when its result depends on nothing but the layer,
 * the rules and the limits in the key: not when a bound of the whole image
 * (entries, time) stopped it, nor when something transient shaped it (a
 * per-file timeout, the image's script budget). */
static bool cacheable(const job *j)
{
	return !j->cached && !j->limited && !j->transient && j->rc >= 0 && j->key;
}

void sw_scan__cache_store(scan *s)
{
	size_t i;

	for (i = 0; i < s->njobs; i++) {
		job *j = &s->jobs[i];
		const sw_layer_info *li = sw_image_layer(s->img, i);
		sw_buf b = SW_BUF_INIT((size_t)1 << 30);
		bool stored = false;
		if (cacheable(j) && sw_job_encode(j, li->diff_id ? li->diff_id : "", &b) == 0)
			stored = sw_cache_put(s->cache, j->key, li->digest, (const uint8_t *)b.data, b.len) == 0;
		sw_buf_release(&b);
		if (s->o->layer_result)
			s->o->layer_result(s->o->layer_result_ctx, i, j->cached, stored);
	}
}

void sw_scan__cache_open(scan *s, const char *ruleset)
{
	const sw_scan_opts *opts = s->o;

	if ((!opts->layer_cache && !opts->layer_cache_handle) || sw_image__rootfs(s->img))
		return;
	if (opts->layer_cache_handle) {
		s->cache = opts->layer_cache_handle;
		s->cache_borrowed = true;
		cache_lookup(s, ruleset);
		return;
	}
	/* a cache that cannot be opened is not used: the scan does the work */
	if (sw_cache_open(&s->cache, opts->layer_cache,
			  opts->layer_cache_max ? opts->layer_cache_max : LAYER_CACHE_DEFAULT_MAX, NULL) == 0)
		cache_lookup(s, ruleset);
}
