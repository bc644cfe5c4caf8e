/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-layer verdict cache: one table of entries (key, layer digest,
 * zstd-compressed payload, size, last use) and one of counters, in SQLite
 * for one machine or in PostgreSQL shared by many (the engines behind
 * ../db/db.h; the SQL is the same). Several processes may use it at once:
 * every write is one short transaction, and a reader that cannot read
 * treats it as a miss (the scan then simply does the work). Entries are
 * opaque here; the scan engine owns their format and checks it when it
 * reads them back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zstd.h>

#include "stowaway/cache.h"
#include "../db/db.h"
#include "../util/util.h"
#include "../util/banned.h"

#define MAX_ENTRY (1u << 30)

struct sw_cache {
	sw_db *db;
	uint64_t max_bytes;
	uint64_t hits, misses;   /* not yet added to the counters table */
};

#define COUNT_BATCH 64

/* the same tables in both engines; only the blob type differs */
static const char SCHEMA[] =
	"CREATE TABLE IF NOT EXISTS layers("
	" key TEXT PRIMARY KEY,"
	" layer_digest TEXT NOT NULL,"
	" data %s NOT NULL,"
	" size BIGINT NOT NULL,"
	" raw_size BIGINT NOT NULL,"
	" created BIGINT NOT NULL,"
	" used BIGINT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS layers_used ON layers(used);"
	"CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value BIGINT NOT NULL);"
	"INSERT INTO counters VALUES('hits', 0), ('misses', 0) ON CONFLICT DO NOTHING;";

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

char *sw_cache_default_path(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (xdg && *xdg)
		return sw__asprintf("%s/stowaway/layers.db", xdg);
	if (home && *home)
		return sw__asprintf("%s/.cache/stowaway/layers.db", home);
	return NULL;
}

/* the database's message, said to be the cache's */
static int cache_error(sw_error *err, int rc)
{
	char m[sizeof(err->msg)];

	if (!err)
		return rc;
	snprintf(m, sizeof(m), "%s", err->msg);
	return sw_error_set(err, rc, "cache %s", m);
}

int sw_cache_open(sw_cache **out, const char *path, uint64_t max_bytes, sw_error *err)
{
	sw_cache *c;
	char *schema;
	int rc;

	*out = NULL;
	if (!(c = calloc(1, sizeof(*c))))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	c->max_bytes = max_bytes;
	if ((rc = sw_db_open(&c->db, path, err)) < 0) {
		free(c);
		return cache_error(err, rc == SW_EINVAL ? rc : SW_EIO);
	}
	if (!(schema = sw__asprintf(SCHEMA, sw_db_pg(c->db) ? "BYTEA" : "BLOB"))) {
		sw_cache_close(c);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	rc = sw_db_script_locked(c->db, schema, 7478232, err);
	free(schema);
	if (rc < 0) {
		sw_cache_close(c);
		return cache_error(err, SW_EIO);
	}
	*out = c;
	return 0;
}

/* The hit and miss counters, added to the table in batches (one round
 * trip per COUNT_BATCH lookups, and at close). */
static void flush_counts(sw_cache *c)
{
	sw_dbv v[] = { DB_I(c->hits), DB_I(c->misses) };

	if (!c->hits && !c->misses)
		return;
	if (sw_db_exec(c->db, "UPDATE counters SET value = value + CASE name WHEN 'hits' THEN CAST($1 AS BIGINT) ELSE CAST($2 AS BIGINT) END "
		       "WHERE name IN ('hits', 'misses')", v, 2, NULL, NULL) >= 0)
		c->hits = c->misses = 0;
}

void sw_cache_close(sw_cache *c)
{
	if (!c)
		return;
	flush_counts(c);
	sw_db_close(c->db);
	free(c);
}

static void count(sw_cache *c, bool hit)
{
	if (hit)
		c->hits++;
	else
		c->misses++;
	if (c->hits + c->misses >= COUNT_BATCH)
		flush_counts(c);
}

int sw_cache_get(sw_cache *c, const char *key, uint8_t **out, size_t *len)
{
	sw_dbv v[] = { DB_S(key), DB_I(now_ns()) };
	sw_dbres *r = NULL;
	const uint8_t *blob;
	size_t n;
	int rc = SW_ENOTFOUND;
	unsigned long long raw;
	int64_t rawsz;

	*out = NULL;
	*len = 0;
	/* one round trip: the entry, marked used now */
	if (sw_db_exec(c->db, "UPDATE layers SET used = $2 WHERE key = $1 RETURNING data, raw_size", v, 2, &r, NULL) >
	    0) {
		blob = sw_dbres_blob(r, 0, 0, &n);
		rawsz = sw_dbres_int(r, 0, 1);
		raw = blob && n > 0 ? ZSTD_getFrameContentSize(blob, n) : ZSTD_CONTENTSIZE_ERROR;
		/* the stored size must agree with the frame, and stay bounded */
		if (raw != ZSTD_CONTENTSIZE_ERROR && raw != ZSTD_CONTENTSIZE_UNKNOWN && raw == (unsigned long long)rawsz &&
		    raw <= MAX_ENTRY && (*out = malloc(raw ? (size_t)raw : 1))) {
			size_t got = ZSTD_decompress(*out, (size_t)raw, blob, n);
			if (!ZSTD_isError(got) && got == raw) {
				*len = got;
				rc = 0;
			} else {
				free(*out);
				*out = NULL;
			}
		}
	}
	sw_dbres_free(r);
	count(c, rc == 0);
	return rc;
}

/* Drop the least recently used entries until at most max_bytes remain. */
static int64_t prune(sw_cache *c, uint64_t max_bytes)
{
	sw_dbres *r = NULL;
	int64_t total, dropped = 0;
	size_t i;

	if (sw_db_exec(c->db, "SELECT COALESCE(SUM(size), 0) FROM layers", NULL, 0, &r, NULL) < 0)
		return -1;
	total = sw_dbres_int(r, 0, 0);
	sw_dbres_free(r);
	while ((uint64_t)total > max_bytes) {
		if (sw_db_exec(c->db, "SELECT key, size FROM layers ORDER BY used ASC LIMIT 256", NULL, 0, &r, NULL) <= 0) {
			sw_dbres_free(r);
			break;
		}
		for (i = 0; i < sw_dbres_rows(r) && (uint64_t)total > max_bytes; i++) {
			sw_dbv k[] = { DB_S(sw_dbres_text(r, i, 0)) };
			if (sw_db_exec(c->db, "DELETE FROM layers WHERE key = $1", k, 1, NULL, NULL) > 0) {
				total -= sw_dbres_int(r, i, 1);
				dropped++;
			}
		}
		sw_dbres_free(r);
	}
	return dropped;
}

int sw_cache_put(sw_cache *c, const char *key, const char *layer_digest, const uint8_t *data, size_t len)
{
	size_t bound = ZSTD_compressBound(len), n;
	void *z;
	int64_t t = now_ns();
	int rc = 0;

	if (len > MAX_ENTRY || !(z = malloc(bound)))
		return SW_ELIMIT;
	{
		/* with the frame checksum, a damaged entry fails to decompress */
		ZSTD_CCtx *cx = ZSTD_createCCtx();
		if (!cx) {
			free(z);
			return SW_ENOMEM;
		}
		ZSTD_CCtx_setParameter(cx, ZSTD_c_compressionLevel, 3);
		ZSTD_CCtx_setParameter(cx, ZSTD_c_checksumFlag, 1);
		n = ZSTD_compress2(cx, z, bound, data, len);
		ZSTD_freeCCtx(cx);
	}
	if (ZSTD_isError(n)) {
		free(z);
		return SW_ERROR;
	}
	/* with a bound, the store and the pruning are one transaction */
	if (c->max_bytes && sw_db_begin(c->db, NULL) < 0) {
		free(z);
		return SW_EIO;
	}
	{
		sw_dbv v[] = { DB_S(key), DB_S(layer_digest), DB_B(z, n), DB_I(n), DB_I(len), DB_I(t) };
		if (sw_db_exec(c->db,
			       "INSERT INTO layers(key, layer_digest, data, size, raw_size, created, used) "
			       "VALUES($1, $2, $3, $4, $5, $6, $6) ON CONFLICT(key) DO UPDATE SET "
			       "layer_digest = excluded.layer_digest, data = excluded.data, size = excluded.size, "
			       "raw_size = excluded.raw_size, used = excluded.used", v, 6, NULL, NULL) < 0)
			rc = SW_EIO;
	}
	if (rc == 0 && c->max_bytes) {
		prune(c, c->max_bytes);
		if (sw_db_commit(c->db, NULL) < 0)
			rc = SW_EIO;
	}
	if (rc < 0)
		sw_db_rollback(c->db);
	free(z);
	return rc;
}

int sw_cache_stats_get(sw_cache *c, sw_cache_stats *s, sw_error *err)
{
	sw_dbres *r = NULL;
	size_t i;

	memset(s, 0, sizeof(*s));
	s->max_bytes = c->max_bytes;
	flush_counts(c);
	if (sw_db_exec(c->db, "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM layers", NULL, 0, &r, err) < 0)
		return SW_EIO;
	s->entries = (uint64_t)sw_dbres_int(r, 0, 0);
	s->bytes = (uint64_t)sw_dbres_int(r, 0, 1);
	sw_dbres_free(r);
	if (sw_db_exec(c->db, "SELECT name, value FROM counters", NULL, 0, &r, err) < 0)
		return SW_EIO;
	for (i = 0; i < sw_dbres_rows(r); i++) {
		const char *name = sw_dbres_text(r, i, 0);
		if (name && strcmp(name, "hits") == 0)
			s->hits = (uint64_t)sw_dbres_int(r, i, 1);
		else if (name && strcmp(name, "misses") == 0)
			s->misses = (uint64_t)sw_dbres_int(r, i, 1);
	}
	sw_dbres_free(r);
	return 0;
}

int64_t sw_cache_prune(sw_cache *c, uint64_t max_bytes, sw_error *err)
{
	int64_t n;

	if (sw_db_begin(c->db, err) < 0)
		return SW_EIO;
	if (max_bytes == 0)
		n = sw_db_exec(c->db, "DELETE FROM layers", NULL, 0, NULL, err);
	else
		n = prune(c, max_bytes);
	if (n >= 0 && sw_db_commit(c->db, err) < 0)
		n = -1;
	if (n < 0) {
		sw_db_rollback(c->db);
		if (err && !err->msg[0])
			sw_error_set(err, SW_EIO, "cache: cannot prune");
		return SW_EIO;
	}
	if (max_bytes == 0 && !sw_db_pg(c->db))
		sw_db_script(c->db, "VACUUM", NULL);
	return n;
}
