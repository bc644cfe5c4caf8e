/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One small SQL interface over two engines (db.c): SQLite, embedded, for one
 * machine, and PostgreSQL through libpq, for many. The layer cache and the
 * watch queue write their SQL once against it:
 *   - parameters are written $1, $2, ... in both (SQLite reads "$1" as a
 *     named parameter), bound as text, 64-bit integers, blobs or NULL;
 *   - results come back whole, as text cells (integers parsed on demand,
 *     blobs decoded from PostgreSQL's hex form);
 *   - a statement lost to a dropped PostgreSQL connection outside a
 *     transaction is retried once the connection is back (bounded wait);
 *     inside one, or on a serialization failure or deadlock, the call
 *     returns SW_DB_RETRY and the caller runs the transaction again;
 *   - a transaction is all or nothing: once one of its statements failed,
 *     the rest and its COMMIT fail the same way (a caller may ignore a
 *     side write's failure without committing half a transaction). A
 *     COMMIT whose connection was lost returns SW_DB_RETRY though it may
 *     have landed: a redone transaction must find its own work done.
 * What differs between the dialects (auto-increment keys, blob type,
 * SKIP LOCKED) the caller asks with sw_db_pg().
 */
#ifndef SW_DB_H
#define SW_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stowaway/error.h"

#define SW_DB_RETRY (-100)

typedef struct sw_db sw_db;
typedef struct sw_dbres sw_dbres;

typedef struct sw_dbv {
	char t;            /* 's' text, 'i' integer, 'b' blob, 'n' NULL */
	const char *s;
	int64_t i;
	const void *b;
	size_t n;
} sw_dbv;

static inline sw_dbv DB_S(const char *s)
{
	return (sw_dbv){ .t = s ? 's' : 'n', .s = s };
}

#define DB_I(x) ((sw_dbv){ .t = 'i', .i = (int64_t)(x) })
#define DB_B(p, len) ((sw_dbv){ .t = 'b', .b = (p), .n = (len) })

/* url: "postgres://..." / "postgresql://..." (libpq's URI), "sqlite:PATH"
 * or a plain path (SQLite). A path's directory is created. */
int sw_db_open(sw_db **out, const char *url, sw_error *err);
void sw_db_close(sw_db *db);
bool sw_db_pg(const sw_db *db);
/* seconds a statement waits for a lost PostgreSQL connection (default 300) */
void sw_db_set_reconnect_wait(sw_db *db, double seconds);
/* how many times the connection was re-established */
uint64_t sw_db_reconnects(const sw_db *db);
/* Seconds this process spent waiting on either engine, all connections
 * together (the share of a sweep's time the store takes). */
double sw_db_seconds(void);

/* Run one statement. res (may be NULL) gets the rows. Returns the number
 * of rows changed or returned (>= 0), SW_DB_RETRY, or an error set in err. */
int64_t sw_db_exec(sw_db *db, const char *sql, const sw_dbv *v, int nv, sw_dbres **res, sw_error *err);
/* Several statements without parameters (schemas). */
int sw_db_script(sw_db *db, const char *sql, sw_error *err);
/* The same in a transaction that holds lock (PostgreSQL: an advisory lock
 * of that number; SQLite: the write lock), so that processes starting at
 * once do not race to create the same tables. */
int sw_db_script_locked(sw_db *db, const char *sql, int64_t lock, sw_error *err);
/* BEGIN (SQLite: IMMEDIATE, so writers queue at the start), COMMIT, ROLLBACK */
int sw_db_begin(sw_db *db, sw_error *err);
int sw_db_commit(sw_db *db, sw_error *err);
void sw_db_rollback(sw_db *db);

size_t sw_dbres_rows(const sw_dbres *r);
const char *sw_dbres_text(const sw_dbres *r, size_t row, int col);   /* NULL for NULL */
int64_t sw_dbres_int(const sw_dbres *r, size_t row, int col);         /* 0 for NULL */
/* A blob cell's bytes (PostgreSQL's bytea decoded), owned by r. */
const uint8_t *sw_dbres_blob(const sw_dbres *r, size_t row, int col, size_t *n);
void sw_dbres_free(sw_dbres *r);

#endif
