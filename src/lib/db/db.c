/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQLite and PostgreSQL behind one small interface (db.h).
 *
 * SQLite: WAL mode, a busy timeout, BEGIN IMMEDIATE for transactions, so
 * several processes on one machine share a file safely. PostgreSQL: one
 * connection per sw_db (so one per thread), parameters sent as text except
 * blobs (binary), results read as text. A connection that drops is
 * re-established with backoff, bounded by the reconnect wait; what was
 * being done outside a transaction is done again, what was inside one is
 * handed back (SW_DB_RETRY) for the caller to redo whole.
 *
 * A transaction is all or nothing even when its caller ignores a failed
 * statement (an event it writes on the side): after the first failure
 * every statement of the transaction and its COMMIT fail the same way,
 * without reaching the server. PostgreSQL alone would answer a COMMIT of
 * an aborted transaction with "ROLLBACK" and no error, and after a lost
 * connection the statements that followed would each commit on their own
 * on the new one: a job marked done whose image row was never written.
 */
#include <ctype.h>
#include <stdatomic.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "db.h"
#include "../util/util.h"
#include "../util/banned.h"

#define MAX_PARAMS 32
#define MAX_PREPARED 64 /* statements a PostgreSQL connection keeps parsed */

/* A statement PostgreSQL parsed once for this connection (named
 * "sw<generation>_<index>"):
 * sent again it is only bound and run, not parsed, analysed and planned
 * each time (a first sweep sends about 20 statements per image). */
typedef struct prepared {
	uint64_t hash;
	char *sql;
} prepared;

struct sw_db {
	sqlite3 *lite;
	PGconn *pg;
	char *where;          /* for messages: the path, or the host and database */
	bool in_tx;
	int tx_failed;        /* 0, or what the transaction's first failure returned */
	char tx_why[200];     /* and its message */
	double reconnect_wait;
	uint64_t reconnects;
	prepared prep[MAX_PREPARED]; /* PostgreSQL: this session's; gone with it */
	int nprep;
	unsigned prepgen;             /* in the names: statements forgotten while the
				       * server may still hold them are never named again */
};

typedef struct cell {
	char *p;        /* NULL: SQL NULL */
	size_t n;
	uint8_t *bin;   /* PostgreSQL: the decoded bytea, made on demand */
	size_t binlen;
} cell;

struct sw_dbres {
	size_t rows, cols;
	cell *cells;
};

static atomic_uint_fast64_t waited_ns;

/* The session's prepared statements end with it (a reset or a close). */
static void prep_forget(sw_db *db)
{
	while (db->nprep > 0)
		free(db->prep[--db->nprep].sql);
	db->prepgen++;
}

double sw_db_seconds(void)
{
	return (double)atomic_load(&waited_ns) / 1e9;
}

static void waited(double since)
{
	atomic_fetch_add(&waited_ns, (uint_fast64_t)((sw_now() - since) * 1e9));
}

bool sw_db_pg(const sw_db *db)
{
	return db->pg != NULL;
}

void sw_db_set_reconnect_wait(sw_db *db, double seconds)
{
	db->reconnect_wait = seconds;
}

uint64_t sw_db_reconnects(const sw_db *db)
{
	return db->reconnects;
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

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* the host, port and database of a PostgreSQL connection, never its password */
static char *pg_where(PGconn *c)
{
	return sw__asprintf("postgres %s:%s/%s", PQhost(c) ? PQhost(c) : "?", PQport(c) ? PQport(c) : "?",
			    PQdb(c) ? PQdb(c) : "?");
}

/* libpq's messages, made one line: its newlines and tabs become spaces */
static char *one_line(const char *msg)
{
	char *s = sw__strdup(msg ? msg : "?"), *r, *w;

	if (!s)
		return NULL;
	for (r = w = s; *r; r++) {
		char c = *r == '\n' || *r == '\t' ? ' ' : *r;
		if (c == ' ' && (w == s || w[-1] == ' '))
			continue;
		*w++ = c;
	}
	while (w > s && w[-1] == ' ')
		w--;
	*w = '\0';
	return s;
}

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static int open_pg(sw_db *db, const char *url, sw_error *err)
{
	char *msg;

	db->pg = PQconnectdb(url);
	if (!db->pg)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	if (PQstatus(db->pg) != CONNECTION_OK) {
		msg = one_line(PQerrorMessage(db->pg));
		sw_error_set(err, SW_EIO, "postgres: cannot connect: %s", msg ? msg : "?");
		free(msg);
		return SW_EIO;
	}
	db->where = pg_where(db->pg);
	/* notices (such as "relation already exists, skipping") are not errors */
	PQsetNoticeProcessor(db->pg, quiet, NULL);
	return 0;
}

static int open_lite(sw_db *db, const char *path, sw_error *err)
{
	char *dir = sw__strdup(path);
	int rc, waited;

	if (!dir)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	mkparents(dir);
	free(dir);
	db->where = sw__strdup(path);
	if (sqlite3_open_v2(path, &db->lite, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		return sw_error_set(err, SW_EIO, "%s: %s", path, db->lite ? sqlite3_errmsg(db->lite) : "cannot open");
	sqlite3_busy_timeout(db->lite, 30000);
	/* Switching a new database to WAL needs a lock SQLite does not wait
	 * for: a process that opens the file while another creates it (a
	 * `watch status` beside a starting `watch run`) got "database is
	 * locked" at once, about one start in a hundred. Waited for here,
	 * within the same 30 s as any other lock. */
	for (waited = 0;; waited += 10) {
		rc = sqlite3_exec(db->lite, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
		if ((rc & 0xff) != SQLITE_BUSY || waited >= 30000)
			break;
		sqlite3_sleep(10);
	}
	if (rc != SQLITE_OK)
		return sw_error_set(err, SW_EIO, "%s: %s", path, sqlite3_errmsg(db->lite));
	return 0;
}

int sw_db_open(sw_db **out, const char *url, sw_error *err)
{
	sw_db *db;
	int rc;

	*out = NULL;
	if (!url || !*url)
		return sw_error_set(err, SW_EINVAL, "no database given");
	if (!(db = calloc(1, sizeof(*db))))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	db->reconnect_wait = 300;
	if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
		rc = open_pg(db, url, err);
	else if (strncmp(url, "sqlite:", 7) == 0)
		rc = url[7] ? open_lite(db, url + 7, err) : sw_error_set(err, SW_EINVAL, "sqlite: needs a path");
	else if (strstr(url, "://"))
		rc = sw_error_set(err, SW_EINVAL, "%.*s: not a database URL (postgres://... or sqlite:PATH)",
				  (int)(strstr(url, "://") - url), url);
	else
		rc = open_lite(db, url, err);
	if (rc < 0) {
		sw_db_close(db);
		return rc;
	}
	*out = db;
	return 0;
}

void sw_db_close(sw_db *db)
{
	if (!db)
		return;
	if (db->lite)
		sqlite3_close(db->lite);
	prep_forget(db);
	if (db->pg)
		PQfinish(db->pg);
	free(db->where);
	free(db);
}

void sw_dbres_free(sw_dbres *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->rows * r->cols; i++) {
		free(r->cells[i].p);
		free(r->cells[i].bin);
	}
	free(r->cells);
	free(r);
}

size_t sw_dbres_rows(const sw_dbres *r)
{
	return r ? r->rows : 0;
}

static cell *at(const sw_dbres *r, size_t row, int col)
{
	if (!r || row >= r->rows || col < 0 || (size_t)col >= r->cols)
		return NULL;
	return &r->cells[row * r->cols + (size_t)col];
}

const char *sw_dbres_text(const sw_dbres *r, size_t row, int col)
{
	cell *c = at(r, row, col);

	return c ? c->p : NULL;
}

int64_t sw_dbres_int(const sw_dbres *r, size_t row, int col)
{
	cell *c = at(r, row, col);

	return c && c->p ? (int64_t)strtoll(c->p, NULL, 10) : 0;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

const uint8_t *sw_dbres_blob(const sw_dbres *r, size_t row, int col, size_t *n)
{
	cell *c = at(r, row, col);
	size_t i;

	*n = 0;
	if (!c || !c->p)
		return NULL;
	if (c->bin) {
		*n = c->binlen;
		return c->bin;
	}
	/* SQLite cells hold the bytes as they are; PostgreSQL's text form of a
	 * bytea is "\x" and two hex digits per byte */
	if (c->n < 2 || c->p[0] != '\\' || c->p[1] != 'x') {
		*n = c->n;
		return (const uint8_t *)c->p;
	}
	if ((c->n - 2) % 2 || !(c->bin = malloc((c->n - 2) / 2 + 1)))
		return NULL;
	for (i = 0; i < (c->n - 2) / 2; i++) {
		int hi = hexval((unsigned char)c->p[2 + 2 * i]), lo = hexval((unsigned char)c->p[3 + 2 * i]);
		if (hi < 0 || lo < 0) {
			free(c->bin);
			c->bin = NULL;
			return NULL;
		}
		c->bin[i] = (uint8_t)(hi << 4 | lo);
	}
	c->binlen = (c->n - 2) / 2;
	*n = c->binlen;
	return c->bin;
}

/* ---- SQLite ---- */

static int64_t lite_exec(sw_db *db, const char *sql, const sw_dbv *v, int nv, sw_dbres **res, sw_error *err)
{
	sqlite3_stmt *st = NULL;
	sw_dbres *r = NULL;
	size_t cap = 0;
	int i, rc, cols;
	char name[16];

	if (sqlite3_prepare_v2(db->lite, sql, -1, &st, NULL) != SQLITE_OK)
		return sw_error_set(err, SW_EIO, "%s: %s", db->where, sqlite3_errmsg(db->lite));
	for (i = 0; i < nv; i++) {
		int k;
		snprintf(name, sizeof(name), "$%d", i + 1);
		if (!(k = sqlite3_bind_parameter_index(st, name)))
			continue;
		switch (v[i].t) {
		case 's': sqlite3_bind_text(st, k, v[i].s, -1, SQLITE_STATIC); break;
		case 'i': sqlite3_bind_int64(st, k, v[i].i); break;
		case 'b': sqlite3_bind_blob64(st, k, v[i].b ? v[i].b : "", v[i].n, SQLITE_STATIC); break;
		default: sqlite3_bind_null(st, k); break;
		}
	}
	cols = sqlite3_column_count(st);
	if (res && !(r = calloc(1, sizeof(*r))))
		goto nomem;
	if (r)
		r->cols = (size_t)(cols > 0 ? cols : 0);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!r)
			continue;
		if (r->rows == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			cell *nc = realloc(r->cells, ncap * r->cols * sizeof(*nc) + 1);
			if (!nc)
				goto nomem;
			r->cells = nc;
			cap = ncap;
		}
		/* the whole row zeroed first: a row left half made (out of
		 * memory) frees only what it holds */
		memset(&r->cells[r->rows * r->cols], 0, r->cols * sizeof(*r->cells));
		for (i = 0; i < cols; i++) {
			cell *c = &r->cells[r->rows * r->cols + (size_t)i];
			int type = sqlite3_column_type(st, i);
			if (type == SQLITE_NULL)
				continue;
			if (type == SQLITE_BLOB) {
				const void *b = sqlite3_column_blob(st, i);
				c->n = (size_t)sqlite3_column_bytes(st, i);
				if (!(c->p = malloc(c->n + 1)))
					goto nomem_row;
				if (c->n)
					memcpy(c->p, b, c->n);
				c->p[c->n] = '\0';
			} else {
				const unsigned char *t = sqlite3_column_text(st, i);
				c->n = (size_t)sqlite3_column_bytes(st, i);
				if (!(c->p = sw__strdup(t ? (const char *)t : "")))
					goto nomem_row;
			}
			continue;
nomem_row:
			r->rows++;   /* so the cells made so far are freed */
			goto nomem;
		}
		r->rows++;
	}
	if (rc != SQLITE_DONE) {
		sw_error_set(err, rc == SQLITE_BUSY ? SW_ETIMEOUT : SW_EIO, "%s: %s", db->where,
			     sqlite3_errmsg(db->lite));
		sqlite3_finalize(st);
		sw_dbres_free(r);
		return rc == SQLITE_BUSY ? SW_DB_RETRY : SW_EIO;
	}
	sqlite3_finalize(st);
	if (res) {
		*res = r;
		return (int64_t)r->rows;
	}
	return sqlite3_changes64(db->lite);
nomem:
	sqlite3_finalize(st);
	sw_dbres_free(r);
	return sw_error_set(err, SW_ENOMEM, "out of memory");
}

/* ---- PostgreSQL ---- */

static bool pg_reconnect(sw_db *db)
{
	double end = sw_now() + db->reconnect_wait, wait = 0.1;

	for (;;) {
		prep_forget(db);
		PQreset(db->pg);
		if (PQstatus(db->pg) == CONNECTION_OK) {
			db->reconnects++;
			PQsetNoticeProcessor(db->pg, quiet, NULL);
			return true;
		}
		if (sw_now() + wait > end)
			return false;
		sleep_s(wait);
		wait = wait * 2 > 5 ? 5 : wait * 2;
	}
}

/* The highest $N the statement uses: PostgreSQL refuses parameters it
 * does not use at the end of the list (SQLite ignores them). */
static int max_param(const char *sql)
{
	int max = 0;
	bool quoted = false;

	for (; *sql; sql++) {
		if (*sql == '\'')
			quoted = !quoted;
		else if (!quoted && *sql == '$' && sql[1] >= '1' && sql[1] <= '9') {
			int n = (int)strtol(sql + 1, NULL, 10);
			if (n > max)
				max = n;
		}
	}
	return max;
}

/* A statement the server refused: its message into err; SW_DB_RETRY for
 * a serialization failure or a deadlock (redo the transaction), else
 * SW_EIO. */
static int pg_failure(sw_db *db, const PGresult *pr, sw_error *err)
{
	const char *state = pr ? PQresultErrorField(pr, PG_DIAG_SQLSTATE) : NULL;
	char *msg = one_line(pr ? PQresultErrorMessage(pr) : PQerrorMessage(db->pg));

	sw_error_set(err, SW_EIO, "%s: %s", db->where, msg ? msg : "?");
	free(msg);
	return state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) ? SW_DB_RETRY : SW_EIO;
}

/* sql run with these parameters, by the name PostgreSQL parsed it under
 * for this session; the first time it is parsed (PQprepare) and kept, up
 * to MAX_PREPARED statements, after which the rest are sent whole. A
 * failed parse is answered as a failed statement. *reused: it ran under a
 * name parsed by an earlier call (which the session may have lost since). */
static PGresult *pg_run(sw_db *db, const char *sql, int nv, const char *const *vals, const int *lens,
			const int *fmts, bool *reused)
{
	uint64_t h = 1469598103934665603ull;
	const char *c;
	char name[32];
	PGresult *pr;
	int i;

	for (c = sql; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211ull;
	for (i = 0; i < db->nprep; i++)
		if (db->prep[i].hash == h && strcmp(db->prep[i].sql, sql) == 0)
			break;
	snprintf(name, sizeof(name), "sw%u_%d", db->prepgen, i);
	*reused = i < db->nprep;
	if (i == db->nprep) {
		char *copy = i < MAX_PREPARED ? sw__strdup(sql) : NULL;
		if (!copy) /* all names taken (or no memory for one): sent whole */
			return PQexecParams(db->pg, sql, nv, NULL, vals, lens, fmts, 0);
		pr = PQprepare(db->pg, name, sql, nv, NULL);
		if (!pr || PQresultStatus(pr) != PGRES_COMMAND_OK) {
			free(copy);
			return pr;
		}
		PQclear(pr);
		db->prep[i].sql = copy;
		db->prep[i].hash = h;
		db->nprep++;
	}
	return PQexecPrepared(db->pg, name, nv, vals, lens, fmts, 0);
}

static int64_t pg_exec(sw_db *db, const char *sql, const sw_dbv *v, int nv, sw_dbres **res, sw_error *err)
{
	const char *vals[MAX_PARAMS];
	int lens[MAX_PARAMS], fmts[MAX_PARAMS];
	char ints[MAX_PARAMS][24];
	PGresult *pr;
	ExecStatusType es;
	sw_dbres *r;
	bool reused;
	int i, attempt;
	size_t row, k;

	if (nv > max_param(sql))
		nv = max_param(sql);
	if (nv > MAX_PARAMS)
		return sw_error_set(err, SW_EINVAL, "too many parameters");
	for (i = 0; i < nv; i++) {
		lens[i] = 0;
		fmts[i] = 0;
		switch (v[i].t) {
		case 's': vals[i] = v[i].s; break;
		case 'i':
			snprintf(ints[i], sizeof(ints[i]), "%" PRId64, v[i].i);
			vals[i] = ints[i];
			break;
		case 'b':
			if (v[i].n > INT32_MAX)
				return sw_error_set(err, SW_ELIMIT, "a blob of %zu bytes", v[i].n);
			vals[i] = v[i].b ? v[i].b : "";
			lens[i] = (int)v[i].n;
			fmts[i] = 1;
			break;
		default: vals[i] = NULL; break;
		}
	}
	for (attempt = 0;; attempt++) {
		pr = pg_run(db, sql, nv, vals, lens, fmts, &reused);
		es = pr ? PQresultStatus(pr) : PGRES_FATAL_ERROR;
		if (es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK)
			break;
		if (PQstatus(db->pg) == CONNECTION_BAD) {
			PQclear(pr);
			if (db->in_tx) {
				/* the transaction is gone with the connection: the caller
				 * redoes it (sw_db_exec refuses the rest of it meanwhile) */
				if (!pg_reconnect(db))
					return sw_error_set(err, SW_EIO, "%s: connection lost", db->where);
				sw_error_set(err, SW_EIO, "%s: connection lost in a transaction", db->where);
				return SW_DB_RETRY;
			}
			if (attempt < 3 && pg_reconnect(db))
				continue;
			return sw_error_set(err, SW_EIO, "%s: connection lost", db->where);
		}
		{
			const char *state = pr ? PQresultErrorField(pr, PG_DIAG_SQLSTATE) : NULL;
			int rc = pg_failure(db, pr, err);
			/* a name parsed earlier that the session lost (a pooler handed
			 * us another server connection, or DISCARD ALL), or whose plan
			 * no longer fits its tables: parsed again under new names, the
			 * statement at once, a transaction redone whole. Only for a
			 * name parsed earlier: the same codes from a statement just
			 * parsed are its own error (0A000 is any unsupported feature) */
			bool stale = reused && state && (strcmp(state, "26000") == 0 || strcmp(state, "0A000") == 0);
			PQclear(pr);
			if (stale) {
				prep_forget(db);
				if (db->in_tx)
					return SW_DB_RETRY;
				if (attempt < 3)
					continue;
			}
			return rc;
		}
	}
	if (!res) {
		const char *t = PQcmdTuples(pr);
		int64_t n = es == PGRES_TUPLES_OK ? PQntuples(pr) : (t && *t ? strtoll(t, NULL, 10) : 0);
		PQclear(pr);
		return n;
	}
	if (!(r = calloc(1, sizeof(*r))))
		goto nomem;
	r->rows = (size_t)PQntuples(pr);
	r->cols = (size_t)PQnfields(pr);
	if (r->rows && r->cols && !(r->cells = calloc(r->rows * r->cols, sizeof(*r->cells))))
		goto nomem;
	for (row = 0; row < r->rows; row++)
		for (k = 0; k < r->cols; k++) {
			cell *c = &r->cells[row * r->cols + k];
			if (PQgetisnull(pr, (int)row, (int)k))
				continue;
			c->n = (size_t)PQgetlength(pr, (int)row, (int)k);
			if (!(c->p = malloc(c->n + 1)))
				goto nomem;
			memcpy(c->p, PQgetvalue(pr, (int)row, (int)k), c->n);
			c->p[c->n] = '\0';
		}
	PQclear(pr);
	*res = r;
	return (int64_t)r->rows;
nomem:
	PQclear(pr);
	sw_dbres_free(r);
	return sw_error_set(err, SW_ENOMEM, "out of memory");
}

/* A statement of a transaction that failed already: refused as the
 * failure was (SW_DB_RETRY: redo the whole transaction). */
static int64_t tx_refused(sw_db *db, sw_error *err)
{
	sw_error_set(err, SW_EIO, "%s (the transaction failed earlier)", db->tx_why);
	return db->tx_failed;
}

int64_t sw_db_exec(sw_db *db, const char *sql, const sw_dbv *v, int nv, sw_dbres **res, sw_error *err)
{
	double t0 = sw_now();
	sw_error mine = SW_ERROR_INIT;
	int64_t rc;

	if (res)
		*res = NULL;
	if (db->in_tx && db->tx_failed)
		return tx_refused(db, err);
	if (!err)
		err = &mine;   /* the transaction keeps the message of its failure */
	rc = db->pg ? pg_exec(db, sql, v, nv, res, err) : lite_exec(db, sql, v, nv, res, err);
	if (rc < 0 && db->in_tx) {
		db->tx_failed = rc == SW_DB_RETRY ? SW_DB_RETRY : SW_EIO;
		snprintf(db->tx_why, sizeof(db->tx_why), "%.199s", err->msg[0] ? err->msg : "a statement failed");
	}
	waited(t0);
	return rc;
}

int sw_db_script(sw_db *db, const char *sql, sw_error *err)
{
	char *msg = NULL;

	if (db->pg) {
		PGresult *pr = PQexec(db->pg, sql);
		ExecStatusType es = pr ? PQresultStatus(pr) : PGRES_FATAL_ERROR;
		int rc = 0;
		if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
			msg = one_line(pr ? PQresultErrorMessage(pr) : PQerrorMessage(db->pg));
			rc = sw_error_set(err, SW_EIO, "%s: %s", db->where, msg ? msg : "?");
			free(msg);
		}
		PQclear(pr);
		return rc;
	}
	if (sqlite3_exec(db->lite, sql, NULL, NULL, &msg) != SQLITE_OK) {
		sw_error_set(err, SW_EIO, "%s: %s", db->where, msg ? msg : sqlite3_errmsg(db->lite));
		sqlite3_free(msg);
		return SW_EIO;
	}
	return 0;
}

int sw_db_script_locked(sw_db *db, const char *sql, int64_t lock, sw_error *err)
{
	sw_dbv v[] = { DB_I(lock) };
	int rc;

	if ((rc = sw_db_begin(db, err)) < 0)
		return rc;
	if ((db->pg && sw_db_exec(db, "SELECT pg_advisory_xact_lock(CAST($1 AS BIGINT))", v, 1, NULL, err) < 0) ||
	    (rc = sw_db_script(db, sql, err)) < 0) {
		sw_db_rollback(db);
		return rc < 0 ? rc : SW_EIO;
	}
	return sw_db_commit(db, err);
}

int sw_db_begin(sw_db *db, sw_error *err)
{
	int64_t rc = sw_db_exec(db, db->pg ? "BEGIN" : "BEGIN IMMEDIATE", NULL, 0, NULL, err);

	if (rc < 0)
		return (int)rc;
	db->in_tx = true;
	db->tx_failed = 0;
	return 0;
}

/* PostgreSQL's COMMIT: its command tag says whether it committed (an
 * aborted transaction "commits" as ROLLBACK, without an error). A
 * connection lost here leaves it unknown whether the commit landed: the
 * caller redoes the transaction, which must find its own work done. */
static int pg_commit(sw_db *db, sw_error *err)
{
	double t0 = sw_now();
	PGresult *pr = PQexec(db->pg, "COMMIT");
	ExecStatusType es = pr ? PQresultStatus(pr) : PGRES_FATAL_ERROR;
	int rc = 0;

	if (es == PGRES_COMMAND_OK && strcmp(PQcmdStatus(pr), "COMMIT") == 0) {
		/* committed */
	} else if (es == PGRES_COMMAND_OK) {
		rc = sw_error_set(err, SW_EIO, "%s: the transaction was rolled back (COMMIT answered %s)", db->where,
				  PQcmdStatus(pr));
	} else if (PQstatus(db->pg) == CONNECTION_BAD) {
		sw_error_set(err, SW_EIO, "%s: connection lost at COMMIT", db->where);
		rc = pg_reconnect(db) ? SW_DB_RETRY : SW_EIO;
	} else {
		rc = pg_failure(db, pr, err);
	}
	PQclear(pr);
	waited(t0);
	return rc;
}

int sw_db_commit(sw_db *db, sw_error *err)
{
	int rc;

	if (!db->in_tx)
		return sw_error_set(err, SW_EINVAL, "%s: COMMIT outside a transaction", db->where);
	if (db->tx_failed) {
		rc = (int)tx_refused(db, err);
		sw_db_rollback(db);
		return rc;
	}
	if (db->pg) {
		rc = pg_commit(db, err);
	} else {
		int64_t n = sw_db_exec(db, "COMMIT", NULL, 0, NULL, err);
		rc = n < 0 ? (n == SW_DB_RETRY ? SW_DB_RETRY : (int)n) : 0;
		if (rc < 0)
			sqlite3_exec(db->lite, "ROLLBACK", NULL, NULL, NULL);
	}
	db->in_tx = false;
	db->tx_failed = 0;
	return rc;
}

void sw_db_rollback(sw_db *db)
{
	if (!db->in_tx)
		return;
	db->in_tx = false;
	db->tx_failed = 0;
	if (db->pg) {
		PGresult *pr = PQexec(db->pg, "ROLLBACK");
		PQclear(pr);
	} else {
		sqlite3_exec(db->lite, "ROLLBACK", NULL, NULL, NULL);
	}
}
