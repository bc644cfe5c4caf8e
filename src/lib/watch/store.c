/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The watch's store: tables, versioned migrations, the job queue and the
 * event log, in SQLite or PostgreSQL (../db/db.h).
 *
 * The queue: one row per job, unique by a key that makes every enqueue
 * idempotent (a catalog or repository job per sweep; an image job per
 * registry, repository, digest and platform, whatever the sweep). A worker
 * leases the best ready job (priority, then age) for a time; PostgreSQL
 * takes it with FOR UPDATE SKIP LOCKED so workers never wait on each
 * other, SQLite in one IMMEDIATE transaction. A lease that runs out (a
 * killed worker) is put back by whichever worker looks next (reap).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "watch_int.h"
#include "../util/util.h"
#include "../util/banned.h"

int64_t sw_watch__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Migrations, in order: migration i takes the schema from version i to
 * i + 1. "@ID@" is each engine's auto-increment key, "@BLOB@" its bytes
 * type. Never edit one that shipped; add the next. */
static const char *const MIGRATIONS[] = {
	"CREATE TABLE watch_sweeps(id @ID@, registry TEXT NOT NULL, started BIGINT NOT NULL, finished BIGINT);"
	"CREATE UNIQUE INDEX watch_sweeps_open ON watch_sweeps(registry) WHERE finished IS NULL;"
	"CREATE TABLE watch_jobs(id @ID@, ukey TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,"
	" registry TEXT NOT NULL, repo TEXT NOT NULL DEFAULT '', ref TEXT NOT NULL DEFAULT '',"
	" platform TEXT NOT NULL DEFAULT '', tag TEXT, opt TEXT, parent TEXT, mtype TEXT, sweep BIGINT NOT NULL DEFAULT 0,"
	" priority INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'queued', attempts INTEGER NOT NULL DEFAULT 0,"
	" not_before BIGINT NOT NULL DEFAULT 0, leased_by TEXT, lease_until BIGINT NOT NULL DEFAULT 0,"
	" error TEXT, created BIGINT NOT NULL, finished BIGINT);"
	"CREATE INDEX watch_jobs_ready ON watch_jobs(state, priority, id);"
	"CREATE INDEX watch_jobs_sweep ON watch_jobs(sweep, state);"
	"CREATE TABLE watch_tags(registry TEXT NOT NULL, repo TEXT NOT NULL, tag TEXT NOT NULL,"
	" digest TEXT NOT NULL, seen BIGINT NOT NULL, PRIMARY KEY(registry, repo, tag));"
	"CREATE TABLE watch_images(registry TEXT NOT NULL, repo TEXT NOT NULL, digest TEXT NOT NULL,"
	" platform TEXT NOT NULL, top TEXT NOT NULL, verdict TEXT NOT NULL, findings TEXT NOT NULL,"
	" layers INTEGER NOT NULL, scanned BIGINT NOT NULL, seconds DOUBLE PRECISION NOT NULL DEFAULT 0,"
	" worker TEXT, PRIMARY KEY(registry, repo, digest));"
	"CREATE INDEX watch_images_top ON watch_images(registry, repo, top);"
	"CREATE TABLE watch_layers(digest TEXT PRIMARY KEY, state TEXT NOT NULL, worker TEXT,"
	" lease_until BIGINT NOT NULL DEFAULT 0, scans INTEGER NOT NULL DEFAULT 0,"
	" reuses INTEGER NOT NULL DEFAULT 0, first_seen BIGINT NOT NULL);"
	"CREATE TABLE watch_events(id @ID@, time BIGINT NOT NULL, kind TEXT NOT NULL, registry TEXT, repo TEXT,"
	" tag TEXT, digest TEXT, platform TEXT, verdict TEXT, detail TEXT);"
	"CREATE INDEX watch_events_time ON watch_events(time);"
	"CREATE TABLE watch_lookalikes(registry TEXT NOT NULL, repo TEXT NOT NULL, kind TEXT NOT NULL,"
	" resembles TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY(registry, repo));"
	"CREATE TABLE watch_counters(name TEXT PRIMARY KEY, value BIGINT NOT NULL);",
	/* version 2: a new tag's manifest, fetched by the repository's job (a GET by
	 * tag instead of a HEAD), carried to its image's job and dropped
	 * when that job is done */
	"ALTER TABLE watch_jobs ADD COLUMN manifest @BLOB@;",
};

static char *dialect(const sw_db *db, const char *sql)
{
	static const char *const marks[2] = { "@ID@", "@BLOB@" };
	const char *with[2] = { sw_db_pg(db) ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY",
				sw_db_pg(db) ? "BYTEA" : "BLOB" };
	sw_buf b = SW_BUF_INIT(1u << 20);
	const char *p = sql;

	for (;;) {
		const char *q = NULL;
		int m, which = 0;
		for (m = 0; m < 2; m++) {
			const char *at = strstr(p, marks[m]);
			if (at && (!q || at < q)) {
				q = at;
				which = m;
			}
		}
		if (!q)
			break;
		sw_buf_append(&b, p, (size_t)(q - p));
		sw_buf_append(&b, with[which], strlen(with[which]));
		p = q + strlen(marks[which]);
	}
	sw_buf_append(&b, p, strlen(p));
	if (sw_buf_err(&b)) {
		sw_buf_release(&b);
		return NULL;
	}
	return sw_buf_detach(&b, NULL);
}

static int migrate(sw_db *db, sw_error *err)
{
	sw_dbres *r = NULL;
	int64_t have;
	size_t i, want = sizeof(MIGRATIONS) / sizeof(MIGRATIONS[0]);
	int rc;

	/* one migrator at a time: the others wait, then find it done */
	if ((rc = sw_db_begin(db, err)) < 0)
		return rc;
	if (sw_db_pg(db) && sw_db_exec(db, "SELECT pg_advisory_xact_lock(7478233)", NULL, 0, NULL, err) < 0)
		goto fail;
	if (sw_db_script(db, "CREATE TABLE IF NOT EXISTS watch_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
			 err) < 0)
		goto fail;
	if (sw_db_exec(db, "SELECT value FROM watch_meta WHERE key = 'schema_version'", NULL, 0, &r, err) < 0)
		goto fail;
	have = sw_dbres_rows(r) ? sw_dbres_int(r, 0, 0) : 0;
	sw_dbres_free(r);
	if (have > (int64_t)want) {
		sw_db_rollback(db);
		return sw_error_set(err, SW_EFORMAT, "the database's watch schema is version %lld, newer than this "
				    "stowaway's %zu: upgrade stowaway", (long long)have, want);
	}
	for (i = (size_t)have; i < want; i++) {
		char *sql = dialect(db, MIGRATIONS[i]), ver[24];
		sw_dbv v[] = { DB_S(ver) };
		if (!sql) {
			sw_error_set(err, SW_ENOMEM, "out of memory");
			goto fail;
		}
		rc = sw_db_script(db, sql, err);
		free(sql);
		if (rc < 0)
			goto fail;
		snprintf(ver, sizeof(ver), "%zu", i + 1);
		if (sw_db_exec(db, "INSERT INTO watch_meta(key, value) VALUES('schema_version', $1) "
			       "ON CONFLICT(key) DO UPDATE SET value = excluded.value", v, 1, NULL, err) < 0)
			goto fail;
	}
	return sw_db_commit(db, err);
fail:
	sw_db_rollback(db);
	return SW_EIO;
}

int sw_watch__open(sw_db **out, const char *url, sw_error *err)
{
	int rc;

	if ((rc = sw_db_open(out, url, err)) < 0)
		return rc;
	if ((rc = migrate(*out, err)) < 0) {
		sw_db_close(*out);
		*out = NULL;
	}
	return rc;
}

/* ---- jobs ---- */

int64_t sw_watch__enqueue_job(sw_db *db, const wjob *s, sw_error *err)
{
	char *ukey;
	int64_t n;
	const char *plat = s->platform ? s->platform : "";

	/* what makes a job the same job: enumeration (catalog, namespace,
	 * repo) once per sweep, an image once ever (a new sweep finds it
	 * judged) */
	if (strcmp(s->kind, "image") == 0)
		ukey = sw__asprintf("image\n%s\n%s\n%s\n%s", s->registry, s->repo, s->ref, plat);
	else
		ukey = sw__asprintf("%s\n%s\n%s\n%lld", s->kind, s->registry, s->repo ? s->repo : "", (long long)s->sweep);
	if (!ukey)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	{
		sw_dbv v[] = { DB_S(ukey), DB_S(s->kind), DB_S(s->registry), DB_S(s->repo ? s->repo : ""),
			       DB_S(s->ref ? s->ref : ""), DB_S(plat), DB_S(s->tag), DB_S(s->opt), DB_I(s->sweep),
			       DB_I(s->priority), DB_I(sw_watch__now()), DB_S(s->parent), DB_S(s->mtype),
			       s->manifest ? DB_B(s->manifest, s->manifest_len) : DB_S(NULL) };
		n = sw_db_exec(db, "INSERT INTO watch_jobs(ukey, kind, registry, repo, ref, platform, tag, opt, sweep, "
			       "priority, created, parent, mtype, manifest) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
			       "$11, $12, $13, $14) ON CONFLICT(ukey) DO NOTHING", v, 14, NULL, err);
	}
	free(ukey);
	return n;
}

int64_t sw_watch__enqueue(sw_db *db, const char *kind, const char *registry, const char *repo, const char *ref,
			  const char *platform, const char *tag, const char *opt, int64_t sweep, int priority,
			  sw_error *err)
{
	wjob s = { .kind = (char *)kind, .registry = (char *)registry, .repo = (char *)repo, .ref = (char *)ref,
		   .platform = (char *)platform, .tag = (char *)tag, .opt = (char *)opt, .sweep = sweep,
		   .priority = priority };

	return sw_watch__enqueue_job(db, &s, err);
}

void sw_watch__job_free(wjob *j)
{
	free(j->kind);
	free(j->registry);
	free(j->repo);
	free(j->ref);
	free(j->platform);
	free(j->tag);
	free(j->opt);
	free(j->parent);
	free(j->mtype);
	free(j->manifest);
	memset(j, 0, sizeof(*j));
}

static char *dup_or_null(const char *s)
{
	return s ? sw__strdup(s) : NULL;
}

int sw_watch__lease(sw_db *db, const char *me, int64_t lease_ms, wjob *j, sw_error *err)
{
	int64_t now = sw_watch__now();
	sw_dbv v[] = { DB_S(me), DB_I(now + lease_ms), DB_I(now) };
	sw_dbres *r = NULL;
	int64_t n;

	memset(j, 0, sizeof(*j));
	n = sw_db_exec(db, sw_db_pg(db) ?
		       "UPDATE watch_jobs SET state = 'leased', leased_by = $1, lease_until = $2, "
		       "attempts = attempts + 1 WHERE id = (SELECT id FROM watch_jobs WHERE state = 'queued' AND "
		       "not_before <= $3 ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED) "
		       "RETURNING id, kind, registry, repo, ref, platform, tag, opt, sweep, priority, attempts, parent, mtype, "
		       "manifest" :
		       "UPDATE watch_jobs SET state = 'leased', leased_by = $1, lease_until = $2, "
		       "attempts = attempts + 1 WHERE id = (SELECT id FROM watch_jobs WHERE state = 'queued' AND "
		       "not_before <= $3 ORDER BY priority DESC, id LIMIT 1) "
		       "RETURNING id, kind, registry, repo, ref, platform, tag, opt, sweep, priority, attempts, parent, mtype, "
		       "manifest", v, 3, &r, err);
	if (n <= 0) {
		sw_dbres_free(r);
		return n < 0 ? (int)n : 0;
	}
	j->id = sw_dbres_int(r, 0, 0);
	j->kind = dup_or_null(sw_dbres_text(r, 0, 1));
	j->registry = dup_or_null(sw_dbres_text(r, 0, 2));
	j->repo = dup_or_null(sw_dbres_text(r, 0, 3));
	j->ref = dup_or_null(sw_dbres_text(r, 0, 4));
	j->platform = dup_or_null(sw_dbres_text(r, 0, 5));
	j->tag = dup_or_null(sw_dbres_text(r, 0, 6));
	j->opt = dup_or_null(sw_dbres_text(r, 0, 7));
	j->sweep = sw_dbres_int(r, 0, 8);
	j->priority = (int)sw_dbres_int(r, 0, 9);
	j->attempts = (int)sw_dbres_int(r, 0, 10);
	j->parent = dup_or_null(sw_dbres_text(r, 0, 11));
	j->mtype = dup_or_null(sw_dbres_text(r, 0, 12));
	{
		size_t len = 0;
		const uint8_t *m = sw_dbres_blob(r, 0, 13, &len);
		if (m && len && len <= WATCH_MAX_CARRIED && (j->manifest = malloc(len))) {
			memcpy(j->manifest, m, len);
			j->manifest_len = len;
		}
	}
	sw_dbres_free(r);
	if (!j->kind || !j->registry || !j->repo || !j->ref || !j->platform) {
		/* the job stays leased and comes back when its lease runs out */
		sw_watch__job_free(j);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	return 1;
}

int sw_watch__extend(sw_db *db, const wjob *j, const char *me, int64_t lease_ms)
{
	sw_dbv v[] = { DB_I(j->id), DB_I(sw_watch__now() + lease_ms), DB_S(me) };

	return sw_db_exec(db, "UPDATE watch_jobs SET lease_until = $2 WHERE id = $1 AND leased_by = $3 AND "
			  "state = 'leased'", v, 3, NULL, NULL) == 1 ? 0 : SW_ENOTFOUND;
}

int sw_watch__finish(sw_db *db, const wjob *j, const char *me, const char *error, sw_error *err)
{
	int64_t now = sw_watch__now(), n;

	if (!error) {
		sw_dbv v[] = { DB_I(j->id), DB_S(me), DB_I(now) };
		n = sw_db_exec(db, "UPDATE watch_jobs SET state = 'done', finished = $3, error = NULL, manifest = NULL "
			       "WHERE id = $1 AND leased_by = $2 AND state = 'leased'", v, 3, NULL, err);
	} else if (j->attempts < WATCH_MAX_ATTEMPTS && !j->permanent) {
		/* again later: 2 s, then 8 s */
		sw_dbv v[] = { DB_I(j->id), DB_S(me), DB_I(now + (2000ll << (2 * (j->attempts - 1)))), DB_S(error) };
		n = sw_db_exec(db, "UPDATE watch_jobs SET state = 'queued', not_before = $3, error = $4, "
			       "leased_by = NULL WHERE id = $1 AND leased_by = $2 AND state = 'leased'", v, 4, NULL, err);
	} else {
		sw_dbv v[] = { DB_I(j->id), DB_S(me), DB_I(now), DB_S(error) };
		n = sw_db_exec(db, "UPDATE watch_jobs SET state = 'failed', finished = $3, error = $4, manifest = NULL "
			       "WHERE id = $1 AND leased_by = $2 AND state = 'leased'", v, 4, NULL, err);
		if (n == 1) {
			sw_buf b = SW_BUF_INIT(8192);
			sw_jw w = SW_JW_INIT(&b);
			sw_jw_obj(&w);
			sw_jw_kstr(&w, "job", j->kind);
			sw_jw_kint(&w, "attempts", j->attempts);
			sw_jw_kstr(&w, "error", error);
			sw_jw_end(&w);
			sw_watch__event(db, "failed", j->registry, j->repo, j->tag,
					strcmp(j->kind, "image") == 0 ? j->ref : NULL,
					j->platform[0] ? j->platform : NULL, NULL, sw_buf_cstr(&b));
			sw_buf_release(&b);
		}
	}
	if (n < 0)
		return (int)n;
	/* 0: the lease ran out and the job went to another worker, which
	 * does it again; what this one wrote is idempotent */
	return n == 1 ? 0 : SW_ENOTFOUND;
}

int sw_watch__defer(sw_db *db, const wjob *j, const char *me, int64_t delay_ms)
{
	sw_dbv v[] = { DB_I(j->id), DB_S(me), DB_I(sw_watch__now() + delay_ms) };

	return sw_db_exec(db, "UPDATE watch_jobs SET state = 'queued', not_before = $3, leased_by = NULL, "
			  "attempts = attempts - 1 WHERE id = $1 AND leased_by = $2 AND state = 'leased'",
			  v, 3, NULL, NULL) < 0 ? SW_EIO : 0;
}

int sw_watch__reap(sw_db *db)
{
	sw_dbv v[] = { DB_I(sw_watch__now()) };
	int64_t n;

	n = sw_db_exec(db, "UPDATE watch_jobs SET state = 'queued', leased_by = NULL "
		       "WHERE state = 'leased' AND lease_until < $1", v, 1, NULL, NULL);
	if (n > 0)
		sw_watch__count(db, "leases_expired", n);
	return n < 0 ? (int)n : 0;
}

int64_t sw_watch__pending(sw_db *db, sw_error *err)
{
	sw_dbres *r = NULL;
	int64_t n;

	if ((n = sw_db_exec(db, "SELECT COUNT(*) FROM watch_jobs WHERE state IN ('queued', 'leased')", NULL, 0, &r,
			    err)) < 0)
		return n;
	n = sw_dbres_int(r, 0, 0);
	sw_dbres_free(r);
	return n;
}

/* ---- sweeps ---- */

int64_t sw_watch__sweep_start(sw_db *db, const char *registry, bool *created, sw_error *err)
{
	sw_dbv v[] = { DB_S(registry), DB_I(sw_watch__now()) };
	sw_dbres *r = NULL;
	int64_t n, id;

	*created = false;
	/* at most one open sweep per registry (a partial unique index): a
	 * second run joins it */
	n = sw_db_exec(db, "INSERT INTO watch_sweeps(registry, started) VALUES($1, $2) "
		       "ON CONFLICT(registry) WHERE finished IS NULL DO NOTHING", v, 2, NULL, err);
	if (n < 0)
		return n;
	*created = n == 1;
	if (sw_db_exec(db, "SELECT id FROM watch_sweeps WHERE registry = $1 AND finished IS NULL", v, 1, &r, err) < 0)
		return SW_EIO;
	id = sw_dbres_rows(r) ? sw_dbres_int(r, 0, 0) : 0;
	sw_dbres_free(r);
	if (!id)
		return sw_error_set(err, SW_EIO, "no sweep of %s could be started", registry);
	return id;
}

void sw_watch__sweeps_close(sw_db *db)
{
	sw_dbv v[] = { DB_I(sw_watch__now()) };

	sw_db_exec(db, "UPDATE watch_sweeps SET finished = $1 WHERE finished IS NULL AND NOT EXISTS "
		   "(SELECT 1 FROM watch_jobs j WHERE j.sweep = watch_sweeps.id AND j.state IN ('queued', 'leased'))",
		   v, 1, NULL, NULL);
}

/* ---- events and counters ---- */

int sw_watch__event(sw_db *db, const char *kind, const char *registry, const char *repo, const char *tag,
		    const char *digest, const char *platform, const char *verdict, const char *detail)
{
	sw_dbv v[] = { DB_I(sw_watch__now()), DB_S(kind), DB_S(registry), DB_S(repo), DB_S(tag), DB_S(digest),
		       DB_S(platform), DB_S(verdict), DB_S(detail) };

	return sw_db_exec(db, "INSERT INTO watch_events(time, kind, registry, repo, tag, digest, platform, verdict, "
			  "detail) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9)", v, 9, NULL, NULL) < 0 ? SW_EIO : 0;
}

void sw_watch__count(sw_db *db, const char *name, int64_t n)
{
	sw_dbv v[] = { DB_S(name), DB_I(n) };

	sw_db_exec(db, "INSERT INTO watch_counters(name, value) VALUES($1, $2) ON CONFLICT(name) DO UPDATE SET "
		   "value = watch_counters.value + excluded.value", v, 2, NULL, NULL);
}
