/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the per-layer verdict cache (src/lib/cache/cache.c, public
 * API stowaway/cache.h) in a temporary directory: entries come back byte
 * for byte, a miss is a miss, and an entry damaged in the database (a bit
 * flipped, cut short, sizes that disagree, a frame that claims 2 GiB) is a
 * miss too, never bytes the scan would trust. The size bound prunes the
 * least recently used entries, a hit counting as a use.
 */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "stowaway/cache.h"
#include "tmpdir.h"
#include "../../src/lib/util/banned.h"

#define LAYER "sha256:0000000000000000000000000000000000000000000000000000000000000001"

static int setup(void **state)
{
	(void)state;
	return tmpdir_setup("cache");
}

static const char *db_path(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static sw_cache *open_cache(const char *name, uint64_t max)
{
	sw_cache *c = NULL;
	sw_error err = SW_ERROR_INIT;

	if (sw_cache_open(&c, db_path(name), max, &err) != 0)
		fail_msg("open %s: %s", name, err.msg);
	assert_non_null(c);
	return c;
}

/* A key as the scan makes them: 64 hex digits. */
static const char *key(int i)
{
	static char k[4][65];
	static int slot;
	char *s = k[slot++ & 3];

	snprintf(s, 65, "%064x", i);
	return s;
}

/* n bytes that do not compress (xorshift), the same for the same seed */
static uint8_t *noise(size_t n, uint32_t seed)
{
	uint8_t *p = malloc(n ? n : 1);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 17;
		seed ^= seed << 5;
		p[i] = (uint8_t)seed;
	}
	return p;
}

static void expect_hit(sw_cache *c, const char *k, const uint8_t *want, size_t n)
{
	uint8_t *got = NULL;
	size_t len = 99;

	if (sw_cache_get(c, k, &got, &len) != 0)
		fail_msg("key %.8s...: a miss, want %zu bytes", k, n);
	assert_int_equal(len, n);
	if (n)
		assert_memory_equal(got, want, n);
	free(got);
}

static void expect_miss(sw_cache *c, const char *k)
{
	uint8_t *got = (uint8_t *)&got;
	size_t len = 99;

	assert_int_equal(sw_cache_get(c, k, &got, &len), SW_ENOTFOUND);
	assert_null(got);
	assert_int_equal(len, 0);
}

static sw_cache_stats stats(sw_cache *c)
{
	sw_cache_stats st;
	sw_error err = SW_ERROR_INIT;

	assert_int_equal(sw_cache_stats_get(c, &st, &err), 0);
	return st;
}

static void test_round_trip(void **state)
{
	sw_cache *c = open_cache("a/b/rt.db", 0);   /* parents are made */
	static const uint8_t text[] = "the records, findings and scripts of one layer";
	uint8_t *big = noise(3u << 20, 7), *again;
	sw_cache_stats st;

	(void)state;
	expect_miss(c, key(1));
	assert_int_equal(sw_cache_put(c, key(1), LAYER, text, sizeof(text)), 0);
	assert_int_equal(sw_cache_put(c, key(2), LAYER, big, 3u << 20), 0);
	assert_int_equal(sw_cache_put(c, key(3), LAYER, text, 0), 0);   /* empty is an entry */
	expect_hit(c, key(1), text, sizeof(text));
	expect_hit(c, key(2), big, 3u << 20);
	expect_hit(c, key(3), text, 0);
	expect_miss(c, key(4));
	/* a second put replaces */
	again = noise(1000, 8);
	assert_int_equal(sw_cache_put(c, key(1), LAYER, again, 1000), 0);
	expect_hit(c, key(1), again, 1000);
	st = stats(c);
	assert_int_equal(st.entries, 3);
	assert_true(st.bytes > (3u << 20) && st.bytes < (3u << 20) + 4096); /* noise stays its size */
	assert_int_equal(st.hits, 4);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.max_bytes, 0);
	sw_cache_close(c);
	/* counters and entries are in the file, across runs */
	c = open_cache("a/b/rt.db", 1u << 30);
	st = stats(c);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.hits, 4);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.max_bytes, 1u << 30);
	expect_hit(c, key(2), big, 3u << 20);
	/* more than the bound (1 GiB) is refused before anything is read */
	assert_int_equal(sw_cache_put(c, key(5), LAYER, text, (1u << 30) + 1), SW_ELIMIT);
	expect_miss(c, key(5));
	sw_cache_close(c);
	sw_cache_close(NULL);
	free(big);
	free(again);
}

/* Change the stored entry of k with SQL (the damage a disk, a crash or
 * another program can do): ?1 is blob (when not NULL) or v, ?2 the key. */
static void tamper(const char *name, const char *sql, const void *blob, int n, int64_t v, const char *k)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_open(db_path(name), &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (blob)
		sqlite3_bind_blob(st, 1, blob, n, SQLITE_TRANSIENT);
	else
		sqlite3_bind_int64(st, 1, v);
	sqlite3_bind_text(st, 2, k, -1, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

#define SET_DATA "UPDATE layers SET data = ?1 WHERE key = ?2"
#define SET_RAW "UPDATE layers SET raw_size = ?1 WHERE key = ?2"

static void *stored(const char *name, const char *k, int *n)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	void *copy;

	assert_int_equal(sqlite3_open(db_path(name), &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT data FROM layers WHERE key = ?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, k, -1, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	*n = sqlite3_column_bytes(st, 0);
	copy = malloc((size_t)*n);
	assert_non_null(copy);
	memcpy(copy, sqlite3_column_blob(st, 0), (size_t)*n);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return copy;
}

static void test_damaged(void **state)
{
	uint8_t *data = noise(5000, 3), *blob, *bad;
	int n, i;
	sw_cache *c = open_cache("damaged.db", 0);
	/* a zstd frame header that declares 2 GiB of content (single segment,
	 * an 8-byte content size) and no blocks */
	static const uint8_t huge[] = { 0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0x80, 0, 0, 0, 0 };

	(void)state;
	for (i = 1; i <= 7; i++)
		assert_int_equal(sw_cache_put(c, key(i), LAYER, data, 5000), 0);
	blob = stored("damaged.db", key(1), &n);
	bad = malloc((size_t)n);
	assert_non_null(bad);
	/* one bit flipped in the payload: the frame checksum catches it */
	memcpy(bad, blob, (size_t)n);
	bad[n / 2] ^= 0x10;
	tamper("damaged.db", SET_DATA, bad, n, 0, key(1));
	/* cut short */
	tamper("damaged.db", SET_DATA, blob, n - 1, 0, key(2));
	/* the stored size disagrees with the frame's */
	tamper("damaged.db", SET_RAW, NULL, 0, 4999, key(3));
	/* not zstd at all */
	tamper("damaged.db", SET_DATA, data, 100, 0, key(4));
	/* empty (a zero-length blob binds as an empty blob, not NULL) */
	tamper("damaged.db", SET_DATA, "", 0, 0, key(5));
	/* a frame that claims 2 GiB, the stored size agreeing: over the bound */
	tamper("damaged.db", SET_DATA, huge, (int)sizeof(huge), 0, key(6));
	tamper("damaged.db", SET_RAW, NULL, 0, INT64_C(1) << 31, key(6));
	for (i = 1; i <= 6; i++)
		expect_miss(c, key(i));
	expect_hit(c, key(7), data, 5000);
	/* a damaged entry is replaced by the next put */
	assert_int_equal(sw_cache_put(c, key(1), LAYER, data, 5000), 0);
	expect_hit(c, key(1), data, 5000);
	sw_cache_close(c);
	free(data);
	free(blob);
	free(bad);
}

static void pause_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void test_lru(void **state)
{
	uint8_t *d[6];
	sw_cache *c = open_cache("lru.db", 0);
	uint64_t one;
	int i;

	(void)state;
	for (i = 0; i < 6; i++)
		d[i] = noise(2000, (uint32_t)i + 100);
	assert_int_equal(sw_cache_put(c, key(0), LAYER, d[0], 2000), 0);
	one = stats(c).bytes;    /* one stored entry (all are the same size) */
	assert_true(one > 2000 && one < 2100);
	sw_cache_close(c);
	/* room for three and a half */
	c = open_cache("lru.db", 3 * one + one / 2);
	pause_ms(2);
	assert_int_equal(sw_cache_put(c, key(1), LAYER, d[1], 2000), 0);
	pause_ms(2);
	assert_int_equal(sw_cache_put(c, key(2), LAYER, d[2], 2000), 0);
	pause_ms(2);
	expect_hit(c, key(0), d[0], 2000);   /* 0 is now the most recently used */
	pause_ms(2);
	assert_int_equal(sw_cache_put(c, key(3), LAYER, d[3], 2000), 0);
	/* four did not fit: the least recently used one (1) went */
	assert_int_equal(stats(c).entries, 3);
	assert_int_equal(stats(c).bytes, 3 * one);
	expect_miss(c, key(1));
	expect_hit(c, key(2), d[2], 2000);
	pause_ms(2);
	expect_hit(c, key(0), d[0], 2000);
	pause_ms(2);
	expect_hit(c, key(3), d[3], 2000);
	pause_ms(2);
	assert_int_equal(sw_cache_put(c, key(4), LAYER, d[4], 2000), 0);
	expect_miss(c, key(2));
	expect_hit(c, key(0), d[0], 2000);
	/* prune to a bound: least recently used first (3, then 4), or all */
	{
		sw_error err = SW_ERROR_INIT;
		pause_ms(2);
		expect_hit(c, key(4), d[4], 2000);
		pause_ms(2);
		expect_hit(c, key(0), d[0], 2000);
		assert_int_equal(sw_cache_prune(c, one, &err), 2);
		expect_miss(c, key(3));
		expect_miss(c, key(4));
		expect_hit(c, key(0), d[0], 2000);
		assert_int_equal(sw_cache_prune(c, one, &err), 0);
		assert_int_equal(sw_cache_prune(c, 0, &err), 1);
		assert_int_equal(stats(c).entries, 0);
		assert_int_equal(stats(c).bytes, 0);
	}
	/* an entry larger than the bound alone is not kept */
	assert_int_equal(sw_cache_put(c, key(5), LAYER, d[5], 2000), 0);
	sw_cache_close(c);
	c = open_cache("lru.db", one / 2);
	assert_int_equal(sw_cache_put(c, key(5), LAYER, d[5], 2000), 0);
	expect_miss(c, key(5));
	assert_int_equal(stats(c).entries, 0);
	sw_cache_close(c);
	for (i = 0; i < 6; i++)
		free(d[i]);
}

static void test_open_errors(void **state)
{
	sw_cache *c = (sw_cache *)&c;
	sw_error err = SW_ERROR_INIT;
	char want[700];
	FILE *f;
	char *p;

	(void)state;
	/* a directory where the file should be */
	assert_int_equal(mkdir(db_path("isdir.db"), 0700), 0);
	assert_int_equal(sw_cache_open(&c, db_path("isdir.db"), 0, &err), SW_EIO);
	assert_null(c);
	snprintf(want, sizeof(want), "cache %s: ", db_path("isdir.db"));
	assert_int_equal(strncmp(err.msg, want, strlen(want)), 0);
	/* a file that is not a database */
	assert_non_null(f = fopen(db_path("junk.db"), "wb"));
	for (int i = 0; i < 100; i++)
		fputs("not a database, not at all. ", f);
	assert_int_equal(fclose(f), 0);
	c = (sw_cache *)&c;
	assert_int_equal(sw_cache_open(&c, db_path("junk.db"), 0, &err), SW_EIO);
	assert_null(c);
	snprintf(want, sizeof(want), "cache %s: file is not a database", db_path("junk.db"));
	assert_string_equal(err.msg, want);
	/* where the default lives */
	assert_int_equal(setenv("XDG_CACHE_HOME", "/x/cache", 1), 0);
	assert_string_equal(p = sw_cache_default_path(), "/x/cache/stowaway/layers.db");
	free(p);
	assert_int_equal(setenv("XDG_CACHE_HOME", "", 1), 0);
	assert_int_equal(setenv("HOME", "/home/u", 1), 0);
	assert_string_equal(p = sw_cache_default_path(), "/home/u/.cache/stowaway/layers.db");
	free(p);
	assert_int_equal(unsetenv("HOME"), 0);
	assert_null(sw_cache_default_path());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_lru),
		cmocka_unit_test(test_open_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
