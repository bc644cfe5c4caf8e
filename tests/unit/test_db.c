/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the store's SQL layer (src/lib/db/db.c): a transaction is
 * all or nothing even when its caller ignores a statement that failed (the
 * watch queue writes its events on the side and does not stop for them).
 *
 * SQLite runs here in a temporary directory. PostgreSQL runs when
 * STOWAWAY_TEST_PG_URL names a database: the watch suite (tests/watch)
 * starts a throwaway server and runs this program against it; alone, the
 * PostgreSQL cases report themselves skipped.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/lib/db/db.h"
#include "tmpdir.h"
#include "../../src/lib/util/banned.h"

static int setup(void **state)
{
	(void)state;
	return tmpdir_setup("db");
}

static sw_db *open_url(const char *url)
{
	sw_db *db = NULL;
	sw_error err = SW_ERROR_INIT;

	if (sw_db_open(&db, url, &err) != 0)
		fail_msg("open %s: %s", url, err.msg);
	sw_db_set_reconnect_wait(db, 20);
	return db;
}

/* the engine under test: SQLite in the temporary directory, or the
 * PostgreSQL the environment names (NULL: skip) */
static sw_db *open_engine(bool pg, const char *name)
{
	char url[600];

	if (pg) {
		const char *u = getenv("STOWAWAY_TEST_PG_URL");
		if (!u || !*u)
			return NULL;
		return open_url(u);
	}
	snprintf(url, sizeof(url), "sqlite:%s/%s.db", dir, name);
	return open_url(url);
}

static void run(sw_db *db, const char *sql)
{
	sw_error err = SW_ERROR_INIT;

	if (sw_db_exec(db, sql, NULL, 0, NULL, &err) < 0)
		fail_msg("%s: %s", sql, err.msg);
}

static int64_t count(sw_db *db, const char *table)
{
	char sql[128];
	sw_dbres *r = NULL;
	sw_error err = SW_ERROR_INIT;
	int64_t n;

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
	if (sw_db_exec(db, sql, NULL, 0, &r, &err) < 0)
		fail_msg("%s: %s", sql, err.msg);
	n = sw_dbres_int(r, 0, 0);
	sw_dbres_free(r);
	return n;
}

static void fresh_table(sw_db *db, const char *table)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", table);
	run(db, sql);
	snprintf(sql, sizeof(sql), "CREATE TABLE %s(k TEXT PRIMARY KEY)", table);
	run(db, sql);
}

static int64_t insert(sw_db *db, const char *table, const char *k, sw_error *err)
{
	char sql[160];
	sw_dbv v[] = { DB_S(k) };

	snprintf(sql, sizeof(sql), "INSERT INTO %s(k) VALUES($1)", table);
	return sw_db_exec(db, sql, v, 1, NULL, err);
}

/* A statement fails (a table that does not exist), its caller goes on:
 * the statements after it and the COMMIT fail too, and nothing lands. */
static void ignored_failure_fails_the_transaction(bool pg)
{
	sw_db *db = open_engine(pg, "ignored");
	sw_error err = SW_ERROR_INIT;
	int rc;

	if (!db) {
		skip();
		return;
	}
	fresh_table(db, "t_ignored");
	assert_int_equal(sw_db_begin(db, &err), 0);
	assert_int_equal(insert(db, "t_ignored", "before", &err), 1);
	assert_true(sw_db_exec(db, "INSERT INTO no_such_table(k) VALUES('x')", NULL, 0, NULL, NULL) < 0);
	err = (sw_error)SW_ERROR_INIT;
	assert_true(insert(db, "t_ignored", "after", &err) < 0);
	assert_non_null(strstr(err.msg, "no_such_table"));   /* the first failure, named */
	rc = sw_db_commit(db, &err);
	assert_int_equal(rc, SW_EIO);
	assert_int_equal(count(db, "t_ignored"), 0);
	/* and the next transaction starts clean */
	assert_int_equal(sw_db_begin(db, &err), 0);
	assert_int_equal(insert(db, "t_ignored", "next", &err), 1);
	assert_int_equal(sw_db_commit(db, &err), 0);
	assert_int_equal(count(db, "t_ignored"), 1);
	sw_db_close(db);
}

static void sqlite_ignored_failure(void **state)
{
	(void)state;
	ignored_failure_fails_the_transaction(false);
}

static void pg_ignored_failure(void **state)
{
	(void)state;
	ignored_failure_fails_the_transaction(true);
}

/* PostgreSQL ends the connection in the middle of a transaction (here its
 * backend is terminated from a second connection; a crash does the same).
 * The statement that meets the loss returns SW_DB_RETRY; the ones the
 * caller sends after it are refused as well, not committed one by one on
 * the new connection; COMMIT says redo; nothing of it lands. */
static void pg_connection_lost_mid_transaction(void **state)
{
	sw_db *db = open_engine(true, NULL), *other;
	sw_error err = SW_ERROR_INIT;
	sw_dbres *r = NULL;
	char pid[32];

	(void)state;
	if (!db) {
		skip();
		return;
	}
	other = open_engine(true, NULL);
	fresh_table(db, "t_lost");
	assert_true(sw_db_exec(db, "SELECT pg_backend_pid()", NULL, 0, &r, &err) == 1);
	snprintf(pid, sizeof(pid), "%s", sw_dbres_text(r, 0, 0));
	sw_dbres_free(r);
	assert_int_equal(sw_db_begin(db, &err), 0);
	assert_int_equal(insert(db, "t_lost", "before", &err), 1);
	{
		sw_dbv v[] = { DB_S(pid) };
		r = NULL;
		assert_true(sw_db_exec(other, "SELECT pg_terminate_backend(CAST($1 AS INTEGER))", v, 1, &r, &err) == 1);
		assert_string_equal(sw_dbres_text(r, 0, 0), "t");
		sw_dbres_free(r);
	}
	assert_int_equal(insert(db, "t_lost", "met the loss", &err), SW_DB_RETRY);
	assert_int_equal(insert(db, "t_lost", "ignored and sent on", &err), SW_DB_RETRY);
	assert_int_equal(sw_db_commit(db, &err), SW_DB_RETRY);
	assert_int_equal(count(other, "t_lost"), 0);
	assert_true(sw_db_reconnects(db) >= 1);
	/* redone whole, it lands */
	assert_int_equal(sw_db_begin(db, &err), 0);
	assert_int_equal(insert(db, "t_lost", "before", &err), 1);
	assert_int_equal(sw_db_commit(db, &err), 0);
	assert_int_equal(count(other, "t_lost"), 1);
	sw_db_close(other);
	sw_db_close(db);
}

/* A transaction the server aborted behind the layer's back (a script
 * statement failed): PostgreSQL answers its COMMIT with "ROLLBACK" and no
 * error; the layer reports the failure. */
static void pg_commit_of_an_aborted_transaction_fails(void **state)
{
	sw_db *db = open_engine(true, NULL);
	sw_error err = SW_ERROR_INIT;

	(void)state;
	if (!db) {
		skip();
		return;
	}
	fresh_table(db, "t_aborted");
	assert_int_equal(sw_db_begin(db, &err), 0);
	assert_int_equal(insert(db, "t_aborted", "a", &err), 1);
	assert_true(sw_db_script(db, "SELECT * FROM no_such_table", &err) < 0);
	err = (sw_error)SW_ERROR_INIT;
	assert_int_equal(sw_db_commit(db, &err), SW_EIO);
	assert_non_null(strstr(err.msg, "rolled back"));
	assert_int_equal(count(db, "t_aborted"), 0);
	sw_db_close(db);
}

/* A statement is parsed once per connection and then only bound and run
 * (PostgreSQL's pg_prepared_statements lists it); a table dropped and made
 * again under a parsed statement is followed; past the kept number the
 * rest are sent whole and still run; a failed parse is the statement's
 * failure; after a lost connection, or when the session drops them, the
 * statements are parsed again. */
static void pg_statements_parsed_once(void **state)
{
	sw_db *db = open_engine(true, NULL), *other;
	sw_error err = SW_ERROR_INIT;
	sw_dbres *r = NULL;
	char sql[160], pid[32];
	int i, pass;

	(void)state;
	if (!db) {
		skip();
		return;
	}
	other = open_engine(true, NULL);
	for (pass = 0; pass < 2; pass++) {
		fresh_table(db, "t_parsed");
		for (i = 0; i < 80; i++) {
			char k[16];
			snprintf(k, sizeof(k), "%d", i);
			snprintf(sql, sizeof(sql), "INSERT INTO t_parsed(k) VALUES($1 || '-%d')", i);
			{
				sw_dbv v[] = { DB_S(k) };
				assert_int_equal(sw_db_exec(db, sql, v, 1, NULL, &err), 1);
			}
		}
		assert_int_equal(count(db, "t_parsed"), 80);
	}
	assert_true(sw_db_exec(db, "SELECT COUNT(*) FROM pg_prepared_statements WHERE name LIKE 'sw%'", NULL, 0,
			       &r, &err) == 1);
	assert_int_equal(sw_dbres_int(r, 0, 0), 64);
	sw_dbres_free(r);
	assert_true(sw_db_exec(db, "SELEKT 1", NULL, 0, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "syntax error"));
	/* the connection lost: parsed again on the new one */
	assert_true(sw_db_exec(db, "SELECT pg_backend_pid()", NULL, 0, &r, &err) == 1);
	snprintf(pid, sizeof(pid), "%s", sw_dbres_text(r, 0, 0));
	sw_dbres_free(r);
	{
		sw_dbv v[] = { DB_S(pid) };
		assert_true(sw_db_exec(other, "SELECT pg_terminate_backend(CAST($1 AS INTEGER))", v, 1, NULL, &err) == 1);
	}
	snprintf(sql, sizeof(sql), "INSERT INTO t_parsed(k) VALUES($1 || '-%d')", 0);
	{
		sw_dbv v[] = { DB_S("again") };
		assert_int_equal(sw_db_exec(db, sql, v, 1, NULL, &err), 1);
	}
	assert_true(sw_db_reconnects(db) >= 1);
	assert_int_equal(count(db, "t_parsed"), 81);
	/* the session drops what it parsed behind the layer's back (DISCARD
	 * ALL, as a pooler may; a pooler's other server connection looks the
	 * same): a statement on its own is parsed again and runs; one in a
	 * transaction makes the transaction be redone, and the redo lands */
	assert_int_equal(sw_db_script(db, "DEALLOCATE ALL", &err), 0);
	{
		sw_dbv v[] = { DB_S("after discard") };
		assert_int_equal(sw_db_exec(db, sql, v, 1, NULL, &err), 1);
	}
	assert_int_equal(sw_db_script(db, "DEALLOCATE ALL", &err), 0);
	assert_int_equal(sw_db_begin(db, &err), 0);
	{
		sw_dbv v[] = { DB_S("in a transaction") };
		assert_int_equal(sw_db_exec(db, sql, v, 1, NULL, &err), SW_DB_RETRY);
		assert_int_equal(sw_db_commit(db, &err), SW_DB_RETRY);
		assert_int_equal(sw_db_begin(db, &err), 0);
		assert_int_equal(sw_db_exec(db, sql, v, 1, NULL, &err), 1);
		assert_int_equal(sw_db_commit(db, &err), 0);
	}
	assert_int_equal(count(db, "t_parsed"), 83);
	/* the same codes from a statement parsed just now are its own error
	 * (0A000, feature not supported): failed, not redone */
	assert_int_equal(sw_db_begin(db, &err), 0);
	err = (sw_error)SW_ERROR_INIT;
	assert_int_equal(sw_db_exec(db, "SELECT COUNT(*) FROM t_parsed FOR UPDATE", NULL, 0, NULL, &err), SW_EIO);
	assert_non_null(strstr(err.msg, "FOR UPDATE"));
	sw_db_rollback(db);
	sw_db_close(other);
	sw_db_close(db);
}

/* COMMIT without BEGIN is the caller's bug, said as such. */
static void commit_outside_a_transaction(void **state)
{
	sw_db *db = open_engine(false, "outside");
	sw_error err = SW_ERROR_INIT;

	(void)state;
	assert_int_equal(sw_db_commit(db, &err), SW_EINVAL);
	assert_non_null(strstr(err.msg, "outside a transaction"));
	sw_db_close(db);
}

/* Processes opening one new SQLite file at once all get it: switching it
 * to WAL takes a lock SQLite does not wait for, and one start in about a
 * hundred failed with "database is locked" (a `watch status` beside a
 * starting `watch run`). 300 rounds of 10 processes: on the code before
 * the fix, 3 runs in 5 failed. */
static void sqlite_concurrent_first_opens(void **state)
{
	char path[600], url[620], wal[610], shm[610];
	int round, i, failed = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/race.db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	for (round = 0; round < 300 && !failed; round++) {
		pid_t kids[10];
		unlink(path);
		unlink(wal);
		unlink(shm);
		for (i = 0; i < 10; i++) {
			if ((kids[i] = fork()) == 0) {
				sw_db *db = NULL;
				sw_error err = SW_ERROR_INIT;
				int rc = sw_db_open(&db, url, &err);
				if (rc == 0)
					rc = (int)sw_db_exec(db, "CREATE TABLE IF NOT EXISTS t(x)", NULL, 0, NULL, &err);
				if (rc < 0)
					fprintf(stderr, "round %d: %s\n", round, err.msg);
				sw_db_close(db);
				_exit(rc < 0);
			}
			assert_true(kids[i] > 0);
		}
		for (i = 0; i < 10; i++) {
			int st = 0;
			assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
			failed += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
		}
	}
	assert_int_equal(failed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sqlite_ignored_failure),
		cmocka_unit_test(commit_outside_a_transaction),
		cmocka_unit_test(sqlite_concurrent_first_opens),
		cmocka_unit_test(pg_ignored_failure),
		cmocka_unit_test(pg_connection_lost_mid_transaction),
		cmocka_unit_test(pg_commit_of_an_aborted_transaction_fails),
		cmocka_unit_test(pg_statements_parsed_once),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
