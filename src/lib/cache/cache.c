/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-layer verdict cache in SQLite. One table of entries (key, layer
 * digest, zstd-compressed payload, size, last use) and one of counters.
 * Several processes may scan at once: the database runs in WAL mode with a
 * busy timeout, every write is one short transaction, and a reader that
 * finds the database locked for too long treats it as a miss (the scan
 * then simply does the work). Entries are opaque here; the scan engine
 * owns their format and checks it when it reads them back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>
#include <zstd.h>

#include "stowaway/cache.h"
#include "../util/util.h"
#include "../util/banned.h"

#define MAX_ENTRY (1u << 30)

struct sw_cache {
	sqlite3 *db;
	uint64_t max_bytes;
};

static const char SCHEMA[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS layers("
	" key TEXT PRIMARY KEY,"
	" layer_digest TEXT NOT NULL,"
	" data BLOB NOT NULL,"
	" size INTEGER NOT NULL,"
	" raw_size INTEGER NOT NULL,"
	" created INTEGER NOT NULL,"
	" used INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS layers_used ON layers(used);"
	"CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO counters VALUES('hits', 0), ('misses', 0);";

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void mkparents(char *path)
{
	char *p;

	for (p = path + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0700);
			*p = '/';
		}
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

int sw_cache_open(sw_cache **out, const char *path, uint64_t max_bytes, sw_error *err)
{
	sw_cache *c;
	char *dir, *msg = NULL;

	*out = NULL;
	if (!(c = calloc(1, sizeof(*c))) || !(dir = sw__strdup(path))) {
		free(c);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	mkparents(dir);
	free(dir);
	c->max_bytes = max_bytes;
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		sw_error_set(err, SW_EIO, "cache %s: %s", path, c->db ? sqlite3_errmsg(c->db) : "cannot open");
		sw_cache_close(c);
		return SW_EIO;
	}
	sqlite3_busy_timeout(c->db, 10000);
	if (sqlite3_exec(c->db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK) {
		sw_error_set(err, SW_EIO, "cache %s: %s", path, msg ? msg : "cannot create the tables");
		sqlite3_free(msg);
		sw_cache_close(c);
		return SW_EIO;
	}
	*out = c;
	return 0;
}

void sw_cache_close(sw_cache *c)
{
	if (!c)
		return;
	sqlite3_close(c->db);
	free(c);
}

static void count(sw_cache *c, const char *name)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(c->db, "UPDATE counters SET value = value + 1 WHERE name = ?", -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

int sw_cache_get(sw_cache *c, const char *key, uint8_t **out, size_t *len)
{
	sqlite3_stmt *st = NULL;
	const void *blob;
	int n, rc = SW_ENOTFOUND;
	unsigned long long raw;
	sqlite3_int64 rawsz;

	*out = NULL;
	*len = 0;
	if (sqlite3_prepare_v2(c->db, "SELECT data, raw_size FROM layers WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
		return SW_ENOTFOUND;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		blob = sqlite3_column_blob(st, 0);
		n = sqlite3_column_bytes(st, 0);
		rawsz = sqlite3_column_int64(st, 1);
		raw = blob && n > 0 ? ZSTD_getFrameContentSize(blob, (size_t)n) : ZSTD_CONTENTSIZE_ERROR;
		/* the stored size must agree with the frame, and stay bounded */
		if (raw != ZSTD_CONTENTSIZE_ERROR && raw != ZSTD_CONTENTSIZE_UNKNOWN && raw == (unsigned long long)rawsz &&
		    raw <= MAX_ENTRY && (*out = malloc(raw ? (size_t)raw : 1))) {
			size_t got = ZSTD_decompress(*out, (size_t)raw, blob, (size_t)n);
			if (!ZSTD_isError(got) && got == raw) {
				*len = got;
				rc = 0;
			} else {
				free(*out);
				*out = NULL;
			}
		}
	}
	sqlite3_finalize(st);
	if (rc == 0 && sqlite3_prepare_v2(c->db, "UPDATE layers SET used = ? WHERE key = ?", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, now_ns());
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	count(c, rc == 0 ? "hits" : "misses");
	return rc;
}

static int64_t prune(sw_cache *c, uint64_t max_bytes)
{
	sqlite3_stmt *st;
	int64_t total = 0, dropped = 0;

	if (sqlite3_prepare_v2(c->db, "SELECT COALESCE(SUM(size), 0) FROM layers", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		total = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if ((uint64_t)total <= max_bytes)
		return 0;
	if (sqlite3_prepare_v2(c->db, "SELECT key, size FROM layers ORDER BY used ASC", -1, &st, NULL) != SQLITE_OK)
		return -1;
	while ((uint64_t)total > max_bytes && sqlite3_step(st) == SQLITE_ROW) {
		sqlite3_stmt *del;
		const unsigned char *k = sqlite3_column_text(st, 0);
		int64_t sz = sqlite3_column_int64(st, 1);
		if (sqlite3_prepare_v2(c->db, "DELETE FROM layers WHERE key = ?", -1, &del, NULL) != SQLITE_OK)
			break;
		sqlite3_bind_text(del, 1, (const char *)k, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(del) == SQLITE_DONE) {
			total -= sz;
			dropped++;
		}
		sqlite3_finalize(del);
	}
	sqlite3_finalize(st);
	return dropped;
}

int sw_cache_put(sw_cache *c, const char *key, const char *layer_digest, const uint8_t *data, size_t len)
{
	sqlite3_stmt *st = NULL;
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
	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		free(z);
		return SW_EIO;
	}
	if (sqlite3_prepare_v2(c->db,
			       "INSERT OR REPLACE INTO layers(key, layer_digest, data, size, raw_size, created, used) "
			       "VALUES(?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK) {
		rc = SW_EIO;
	} else {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, layer_digest, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, z, (int)n, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)n);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)len);
		sqlite3_bind_int64(st, 6, t);
		sqlite3_bind_int64(st, 7, t);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = SW_EIO;
		sqlite3_finalize(st);
	}
	if (rc == 0 && c->max_bytes)
		prune(c, c->max_bytes);
	sqlite3_exec(c->db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
	free(z);
	return rc;
}

int sw_cache_stats_get(sw_cache *c, sw_cache_stats *s, sw_error *err)
{
	sqlite3_stmt *st;

	memset(s, 0, sizeof(*s));
	s->max_bytes = c->max_bytes;
	if (sqlite3_prepare_v2(c->db, "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM layers", -1, &st, NULL) != SQLITE_OK)
		return sw_error_set(err, SW_EIO, "cache: %s", sqlite3_errmsg(c->db));
	if (sqlite3_step(st) == SQLITE_ROW) {
		s->entries = (uint64_t)sqlite3_column_int64(st, 0);
		s->bytes = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(c->db, "SELECT name, value FROM counters", -1, &st, NULL) != SQLITE_OK)
		return sw_error_set(err, SW_EIO, "cache: %s", sqlite3_errmsg(c->db));
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		if (name && strcmp(name, "hits") == 0)
			s->hits = (uint64_t)sqlite3_column_int64(st, 1);
		else if (name && strcmp(name, "misses") == 0)
			s->misses = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return 0;
}

int64_t sw_cache_prune(sw_cache *c, uint64_t max_bytes, sw_error *err)
{
	int64_t n;

	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return sw_error_set(err, SW_EIO, "cache: %s", sqlite3_errmsg(c->db));
	if (max_bytes == 0)
		n = sqlite3_exec(c->db, "DELETE FROM layers", NULL, NULL, NULL) == SQLITE_OK ? sqlite3_changes(c->db) : -1;
	else
		n = prune(c, max_bytes);
	sqlite3_exec(c->db, n >= 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
	if (n < 0)
		return sw_error_set(err, SW_EIO, "cache: %s", sqlite3_errmsg(c->db));
	if (max_bytes == 0)
		sqlite3_exec(c->db, "VACUUM", NULL, NULL, NULL);
	return n;
}
