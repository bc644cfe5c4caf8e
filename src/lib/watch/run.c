/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The watch's workers. Each thread holds its own database connections (one
 * for the queue, one for the layer cache) and takes jobs until stopped:
 *
 *   catalog  the registry's _catalog, page by page: a repo job each;
 *   repo     the names judge on the repository's name (a look-alike is an
 *            event), then its tags, each resolved to a digest by HEAD (free
 *            on Docker Hub); a tag seen before at another digest is drift;
 *            an image job for each digest (new and moved tags first);
 *   image    an index becomes one image job per platform; an image is
 *            judged once: its layers claimed in the store (all or none, in
 *            digest order, so two workers never scan one layer and never
 *            deadlock), scanned with the store as the layer cache, the
 *            verdict and findings stored.
 *
 * A job that finds a layer another worker is scanning goes back to the
 * queue for a moment; one whose worker dies comes back when its lease runs
 * out (leases are renewed while a job is worked on). Requests to a
 * registry pass a per-registry gate in this process: a token bucket
 * (--rate), a bound on requests at once (--concurrency), and a pause for
 * every worker when the registry answers 429 (Retry-After, or 1 s).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "stowaway/cache.h"
#include "stowaway/names.h"
#include "watch_int.h"
#include "../registry/registry.h"
#include "../util/util.h"
#include "../util/banned.h"

#define MAX_PAGE (16u << 20)      /* bytes of one _catalog or tags/list page */
#define MAX_PAGES 100000
#define PAGE_N 1000
#define MAX_TAGS 100000           /* tags of one repository a sweep resolves */

typedef struct gate {
	char *host;
	double tokens, last, paused_until;
	unsigned inflight;
	uint64_t requests, throttled, errors;
	struct gate *next;
} gate;

typedef struct watch {
	const sw_watch_opts *o;
	sw_registry_opts reg;        /* o->registry with the gate's hooks */
	int64_t lease_ms;
	pthread_mutex_t mu;
	pthread_cond_t cv;           /* the gates' waits, and a worker's end (ended) */
	unsigned ended;              /* workers returned, under mu */
	gate *gates;
	atomic_bool stop;
	double start;
	atomic_llong images, scanned, reused, jobs_done, jobs_failed, deferred;
	atomic_llong verdicts[3];
	sw_watch_progress prog;      /* under mu */
	char host[64];
} watch;

typedef struct worker {
	watch *w;
	unsigned index;
	char me[128];
	sw_db *db;
	sw_cache *cache;
	pthread_t t;
	bool joined;
	const wjob *job;             /* the job in hand, for lease renewal */
	double renewed;
	/* the scan's per-layer outcome */
	bool *cached, *stored;
	size_t nlayers;
	/* a repository's tags and their digests, HEADs made, not yet stored */
	struct wtag {
		char *tag, *digest, *mtype, *error;
		const char *was;     /* the digest the store has for it (known_tags), or NULL */
		bool same;           /* was == digest: nothing to write */
		char *body;          /* a new tag's manifest (GET), carried to its image job */
		size_t len;
	} *tags;
	size_t ntags;
} worker;

static atomic_int signalled;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&signalled, 1);
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !atomic_load(&signalled))
		;
}

static bool stopping(watch *w)
{
	if (atomic_load(&signalled))
		atomic_store(&w->stop, true);
	return atomic_load(&w->stop);
}

/* ---- the per-registry gate (the registry client's hooks) ---- */

static gate *gate_of(watch *w, const char *host)
{
	gate *g;

	for (g = w->gates; g; g = g->next)
		if (strcmp(g->host, host) == 0)
			return g;
	if (!(g = calloc(1, sizeof(*g))) || !(g->host = sw__strdup(host))) {
		free(g);
		return NULL;
	}
	g->tokens = 1;
	g->last = sw_now();
	g->next = w->gates;
	w->gates = g;
	return g;
}

static void before_request(void *ctx, const char *host)
{
	watch *w = ctx;
	unsigned conc = w->o->concurrency ? w->o->concurrency : 8;
	gate *g;

	pthread_mutex_lock(&w->mu);
	if (!(g = gate_of(w, host))) {
		pthread_mutex_unlock(&w->mu);
		return;
	}
	for (;;) {
		double now = sw_now(), wait = 0;
		if (w->o->rate > 0) {
			g->tokens += (now - g->last) * w->o->rate;
			if (g->tokens > (w->o->rate > 1 ? w->o->rate : 1))
				g->tokens = w->o->rate > 1 ? w->o->rate : 1;
		}
		g->last = now;
		if (now < g->paused_until)
			wait = g->paused_until - now;
		else if (w->o->rate > 0 && g->tokens < 1)
			wait = (1 - g->tokens) / w->o->rate;
		else if (g->inflight < conc)
			break;
		if (wait > 0) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += (time_t)wait;
			ts.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&w->cv, &w->mu, &ts);
		} else {
			pthread_cond_wait(&w->cv, &w->mu);
		}
	}
	if (w->o->rate > 0)
		g->tokens -= 1;
	g->inflight++;
	g->requests++;
	pthread_mutex_unlock(&w->mu);
}

static void after_request(void *ctx, const char *host, long status, double retry_after)
{
	watch *w = ctx;
	gate *g;

	pthread_mutex_lock(&w->mu);
	if ((g = gate_of(w, host))) {
		if (g->inflight)
			g->inflight--;
		if (status == 429) {
			/* the registry asked us to slow down: every worker waits */
			double until = sw_now() + (retry_after > 0 ? (retry_after < 300 ? retry_after : 300) : 1);
			g->throttled++;
			if (until > g->paused_until)
				g->paused_until = until;
		} else if (status == 0 || status >= 500) {
			g->errors++;
		}
	}
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* ---- lease renewal ---- */

static void renew(worker *k)
{
	double now = sw_now();

	if (k->job && now - k->renewed > (double)k->w->lease_ms / 3000.0) {
		sw_watch__extend(k->db, k->job, k->me, k->w->lease_ms);
		k->renewed = now;
	}
}

static void scan_progress(void *ctx, const sw_progress *p)
{
	(void)p;
	renew(ctx);
}

/* ---- catalog ---- */

static bool repo_name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 255 || s[0] == '/' || s[n - 1] == '/')
		return false;
	for (i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || strchr("._-/", s[i])))
			return false;
	return strstr(s, "//") == NULL && strstr(s, "..") == NULL;
}

static bool tag_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 128 || !(isalnum((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || strchr("._-", s[i])))
			return false;
	return true;
}

/* A name the registry listed that we will not use: said, never skipped silently. */
static void refused_name(worker *k, const wjob *j, const char *what, const char *name)
{
	sw_buf b = SW_BUF_INIT(4096);
	sw_jw w = SW_JW_INIT(&b);

	sw_jw_obj(&w);
	sw_jw_kstr(&w, "error", what);
	sw_jw_kstr(&w, "name", name);
	sw_jw_end(&w);
	sw_watch__event(k->db, "failed", j->registry, j->repo[0] ? j->repo : NULL, NULL, NULL, NULL, NULL,
			sw_buf_cstr(&b));
	sw_buf_release(&b);
}

/* Page through a JSON list the registry serves (_catalog's "repositories",
 * tags/list's "tags"), calling each(name) for each entry. */
static char *pages(worker *k, sw_reg *r, bool catalog, const char *key,
		   int (*each)(worker *, const wjob *, sw_reg *, const char *), const wjob *j)
{
	char *last = NULL, *body = NULL, *error = NULL;
	size_t len, npages;
	sw_error err = SW_ERROR_INIT;

	for (npages = 0; npages < MAX_PAGES && !stopping(k->w); npages++) {
		sw_json_doc *doc = NULL;
		const sw_json *arr, *e;
		size_t n = 0;
		int rc = catalog ? sw_reg_catalog(r, PAGE_N, last, MAX_PAGE, &body, &len, &err) :
				   sw_reg_tags(r, PAGE_N, last, MAX_PAGE, &body, &len, &err);
		if (rc < 0) {
			error = sw__strdup(err.msg);
			break;
		}
		if (sw_json_parse(body, len, &doc, &err) < 0) {
			error = sw__asprintf("%s: %s", catalog ? "_catalog" : "tags/list", err.msg);
			free(body);
			break;
		}
		free(body);
		body = NULL;
		arr = sw_json_get_arr(sw_json_root(doc), key);
		/* lists come in lexical order: a page that does not start past the
		 * last one would make a hostile registry's pages go round for ever */
		if (last && arr && arr->child && arr->child->type == SW_JSON_STR && strcmp(arr->child->s, last) <= 0) {
			error = sw__asprintf("%s: the registry's pages do not advance (a page after \"%.100s\" starts "
					     "at \"%.100s\")", catalog ? "_catalog" : "tags/list", last, arr->child->s);
			sw_json_free(doc);
			break;
		}
		for (e = arr ? arr->child : NULL; e; e = e->next, n++) {
			if (e->type != SW_JSON_STR || strlen(e->s) != e->slen)
				continue;
			if (each(k, j, r, e->s) < 0) {
				error = sw__asprintf("%s: the store refused a write", catalog ? "_catalog" : "tags/list");
				break;
			}
			if (!e->next) {
				free(last);
				last = sw__strdup(e->s);
			}
			renew(k);
		}
		sw_json_free(doc);
		/* a short page is the last; a registry that ignores n= sends all */
		if (error || n < PAGE_N || !last)
			break;
	}
	free(last);
	return error;
}

static int each_repo(worker *k, const wjob *j, sw_reg *r, const char *name)
{
	(void)r;
	if (!repo_name_ok(name)) {
		refused_name(k, j, "not a repository name", name);
		return 0;
	}
	return sw_watch__enqueue(k->db, "repo", j->registry, name, NULL, NULL, NULL, j->opt, j->sweep, PRIO_REPO, NULL) <
	       0 ? -1 : 0;
}

static char *do_catalog(worker *k, wjob *j)
{
	sw_reg *r = NULL;
	sw_error err = SW_ERROR_INIT;
	char *body = NULL, *error;
	size_t len;
	int rc;

	if (sw_reg_open(&r, j->registry, "", &k->w->reg, &err) < 0)
		return sw__strdup(err.msg);
	/* a registry that refuses its catalog (Docker Hub does) will not change
	 * its mind: said once, with what to do instead */
	if ((rc = sw_reg_catalog(r, 1, NULL, MAX_PAGE, &body, &len, &err)) == SW_EVERIFY || rc == SW_ENOTFOUND) {
		j->permanent = true;
		error = sw__asprintf("%s refuses to list its repositories (_catalog: %s): name them with --repo, "
				     "--repos-file or --namespace", j->registry, err.msg);
	} else {
		error = pages(k, r, true, "repositories", each_repo, j);
	}
	free(body);
	sw_reg_free(r);
	return error;
}

/* ---- namespace (a Docker Hub-shaped listing API) ---- */

/* "scheme://host[:port]" of a URL: its length, 0 when it has none */
static size_t origin_len(const char *u)
{
	const char *p = strstr(u, "://");

	return p ? (size_t)(p + 3 - u) + strcspn(p + 3, "/?#") : 0;
}

static char *do_namespace(worker *k, wjob *j)
{
	const char *base = j->ref;
	sw_reg *r = NULL;
	sw_error err = SW_ERROR_INIT;
	char *url, *error = NULL;
	size_t npages, ol = origin_len(base);

	if (!ol)
		return sw__asprintf("%s: not a URL", base);
	if (sw_reg_open(&r, j->registry, "", &k->w->reg, &err) < 0)
		return sw__strdup(err.msg);
	url = sw__asprintf("%.*s/v2/repositories/%s/?page_size=100", (int)strcspn(base + ol, "?#") + (int)ol, base,
			   j->repo);
	for (npages = 0; url && npages < MAX_PAGES && !error && !stopping(k->w); npages++) {
		sw_json_doc *doc = NULL;
		const sw_json *e;
		const char *next;
		char *body = NULL, *cur;
		size_t len;
		if (sw_reg_get_url(r, url, MAX_PAGE, &body, &len, &err) < 0 || sw_json_parse(body, len, &doc, &err) < 0) {
			error = sw__asprintf("%s: %s", url, err.msg);
			free(body);
			break;
		}
		free(body);
		e = sw_json_get_arr(sw_json_root(doc), "results");
		for (e = e ? e->child : NULL; e && !error; e = e->next) {
			const char *name = sw_json_get_str(e, "name"), *ns = sw_json_get_str(e, "namespace");
			char *full;
			if (!name || (ns && strcmp(ns, j->repo) != 0)) {
				refused_name(k, j, "a listing entry of another namespace, or without a name",
					     name ? name : "(none)");
				continue;
			}
			if (!(full = sw__asprintf("%s/%s", j->repo, name))) {
				error = sw__strdup("out of memory");
				break;
			}
			if (each_repo(k, j, r, full) < 0)
				error = sw__strdup("the store refused a write");
			free(full);
			renew(k);
		}
		next = sw_json_get_str(sw_json_root(doc), "next");
		cur = url;
		url = NULL;
		/* the next page must come from the same API: a listing cannot send
		 * the sweeper elsewhere */
		if (next && *next && !error) {
			if (strcmp(next, cur) == 0) {
				j->permanent = true;
				error = sw__asprintf("%s: its next page is the page itself", base);
			} else if (origin_len(next) != ol || strncmp(next, base, ol) != 0) {
				j->permanent = true;   /* a lie the API will tell again */
				error = sw__asprintf("%s: its next page %.200s is on another host", base, next);
			}
			else
				url = sw__strdup(next);
		}
		free(cur);
		sw_json_free(doc);
	}
	free(url);
	sw_reg_free(r);
	return error;
}

/* ---- repo ---- */

static void judge_name(worker *k, const wjob *j)
{
	sw_name_result nr;
	char *name = sw__asprintf("%s/%s", j->opt && *j->opt ? j->opt : j->registry, j->repo);

	if (name && sw_names_check(name, &nr, NULL) == 0 && nr.verdict != SW_NAME_OK) {
		sw_dbv v[] = { DB_S(j->registry), DB_S(j->repo), DB_S(sw_name_verdict_str(nr.verdict)),
			       DB_S(nr.resembles), DB_S(nr.reason) };
		if (sw_db_exec(k->db, "INSERT INTO watch_lookalikes(registry, repo, kind, resembles, reason) "
			       "VALUES($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING", v, 5, NULL, NULL) == 1) {
			sw_buf b = SW_BUF_INIT(8192);
			sw_jw w = SW_JW_INIT(&b);
			sw_jw_obj(&w);
			sw_jw_kstr(&w, "kind", sw_name_verdict_str(nr.verdict));
			sw_jw_kstr(&w, "resembles", nr.resembles);
			sw_jw_kstr(&w, "reason", nr.reason);
			sw_jw_kstr(&w, "judged_as", name);
			sw_jw_end(&w);
			sw_watch__event(k->db, "lookalike", j->registry, j->repo, NULL, NULL, NULL, NULL, sw_buf_cstr(&b));
			sw_buf_release(&b);
		}
	}
	free(name);
}

/* A tag of the listing, collected; its HEAD is made later, with the
 * others, a few at a time (resolve_tags). */
static int each_tag(worker *k, const wjob *j, sw_reg *r, const char *tag)
{
	(void)r;
	if (!tag_ok(tag)) {
		refused_name(k, j, "not a tag", tag);
		return 0;
	}
	if (k->ntags == MAX_TAGS) {
		refused_name(k, j, "a repository with more tags than a sweep reads (100000): the rest skipped", tag);
		return 0;
	}
	if (SW_GROW(k->tags, k->ntags) < 0)
		return -1;
	memset(&k->tags[k->ntags], 0, sizeof(k->tags[0]));
	if (!(k->tags[k->ntags].tag = sw__strdup(tag)))
		return -1;
	k->ntags++;
	return 0;
}

/* The tags resolved, a few at once: a re-sweep with nothing new is a HEAD
 * per tag and little else, so its time is the registry's latency divided
 * by how many are in flight. The per-registry gate (before_request) still
 * bounds requests at once across all the process's workers.
 *
 * A tag the store does not know is read with a GET instead: its image job
 * needs the manifest anyway, so the GET replaces a HEAD and a GET by
 * digest (a first sweep of the test registry: 1,195 requests became 899),
 * and the manifest rides in the job's row (WATCH_MAX_CARRIED each, and
 * MAX_CARRIED_REPO for a repository's tags together: a registry choosing
 * how many tags and how large their manifests are does not choose how much
 * memory a worker holds). Not on Docker Hub, where a HEAD is free and a GET
 * counts against the pull limit, which a tag at an image already judged
 * would spend for nothing. */
#define MAX_RESOLVERS 8
#define MAX_CARRIED_REPO (16u << 20)

typedef struct resolving {
	worker *k;
	sw_reg *r;
	bool get_new;                /* a tag not in the store: GET, not HEAD */
	atomic_size_t carried;       /* bytes of manifests kept, at most MAX_CARRIED_REPO */
	pthread_t owner;             /* the worker's thread: it renews the lease */
	atomic_size_t next;
} resolving;

/* Keep a manifest of len bytes in its image job's row? Not past
 * WATCH_MAX_CARRIED, nor past MAX_CARRIED_REPO for the repository's tags
 * together (a manifest not kept leaves its bytes to a smaller one). */
static bool carry(resolving *rs, size_t len)
{
	if (len > WATCH_MAX_CARRIED)
		return false;
	if (atomic_fetch_add(&rs->carried, len) + len <= MAX_CARRIED_REPO)
		return true;
	atomic_fetch_sub(&rs->carried, len);
	return false;
}

static void *resolver(void *arg)
{
	resolving *rs = arg;
	worker *k = rs->k;
	uint64_t max = k->w->o->image.max_manifest ? k->w->o->image.max_manifest : 4u << 20;
	size_t i;

	while ((i = atomic_fetch_add(&rs->next, 1)) < k->ntags && !stopping(k->w)) {
		struct wtag *t = &k->tags[i];
		sw_error err = SW_ERROR_INIT;
		int rc;
		if (!t->was && rs->get_new) {
			rc = sw_reg_manifest(rs->r, t->tag, max, &t->body, &t->len, &t->mtype, &t->digest, &err);
			if (rc >= 0 && !carry(rs, t->len)) {
				free(t->body); /* the image job fetches it again, by digest */
				t->body = NULL;
				t->len = 0;
			}
		} else {
			rc = sw_reg_resolve(rs->r, t->tag, max, &t->digest, &t->mtype, &err);
		}
		if (rc < 0) {
			t->digest = t->mtype = t->body = NULL;
			t->len = 0;
			/* a tag gone since the list was made is no news */
			t->error = rc == SW_ENOTFOUND ? NULL : sw__strdup(err.msg[0] ? err.msg : "failed");
		}
		if (pthread_equal(pthread_self(), rs->owner))
			renew(k);
	}
	return NULL;
}

static void resolve_tags(worker *k, const wjob *j, sw_reg *r)
{
	resolving rs = { .k = k, .r = r, .owner = pthread_self(), .get_new = !sw_docker_hub_host(j->registry) };
	pthread_t t[MAX_RESOLVERS];
	unsigned want = k->w->o->concurrency ? k->w->o->concurrency : 8, n = 0, i;
	size_t kept = 0;

	if (want > MAX_RESOLVERS)
		want = MAX_RESOLVERS;
	if (want > k->ntags)
		want = (unsigned)k->ntags;
	atomic_init(&rs.next, 0);
	atomic_init(&rs.carried, 0);
	/* this thread resolves too; helpers as far as they can be had */
	while (n + 1 < want && pthread_create(&t[n], NULL, resolver, &rs) == 0)
		n++;
	resolver(&rs);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	/* events from this thread only (the store's connection is ours), and
	 * the tags that did not resolve dropped */
	for (size_t x = 0; x < k->ntags; x++) {
		struct wtag *tg = &k->tags[x];
		if (tg->error)
			refused_name(k, j, tg->error, tg->tag);
		if (tg->digest) {
			k->tags[kept++] = *tg;
			continue;
		}
		free(tg->tag);
		free(tg->mtype);
		free(tg->error);
		free(tg->body);
	}
	k->ntags = kept;
}

/* One tag that is new or moved into the store (a moved tag is an event,
 * and its image job carries the digest it pointed at before). `seen` is
 * when the tag was first seen at its digest. */
static int write_tag(worker *k, const wjob *j, const struct wtag *t, int64_t now)
{
	const char *tag = t->tag, *digest = t->digest;
	sw_dbv v[] = { DB_S(j->registry), DB_S(j->repo), DB_S(tag), DB_S(digest), DB_I(now) };
	sw_dbres *res = NULL;
	char *prev = NULL;
	int prio = PRIO_IMAGE_NEW;
	int64_t n;

	if ((n = sw_db_exec(k->db, "SELECT digest FROM watch_tags WHERE registry = $1 AND repo = $2 AND tag = $3",
			    v, 3, &res, NULL)) < 0)
		return (int)n;
	if (sw_dbres_rows(res) && sw_dbres_text(res, 0, 0) && strcmp(sw_dbres_text(res, 0, 0), digest) == 0) {
		/* written already (the transaction redone after a COMMIT whose
		 * answer was lost), its image job with it */
		sw_dbres_free(res);
		return 0;
	}
	if (sw_dbres_rows(res) == 0) {
		n = sw_db_exec(k->db, "INSERT INTO watch_tags(registry, repo, tag, digest, seen) VALUES($1, $2, $3, $4, $5)",
			       v, 5, NULL, NULL);
	} else {
		sw_buf b = SW_BUF_INIT(4096);
		sw_jw w = SW_JW_INIT(&b);
		prev = sw__strdup(sw_dbres_text(res, 0, 0));
		sw_jw_obj(&w);
		sw_jw_kstr(&w, "from", prev);
		sw_jw_kstr(&w, "to", digest);
		sw_jw_end(&w);
		sw_watch__event(k->db, "tag_moved", j->registry, j->repo, tag, digest, NULL, NULL, sw_buf_cstr(&b));
		sw_buf_release(&b);
		n = sw_db_exec(k->db, "UPDATE watch_tags SET digest = $4, seen = $5 WHERE registry = $1 AND repo = $2 AND "
			       "tag = $3", v, 5, NULL, NULL);
	}
	sw_dbres_free(res);
	if (n >= 0) {
		wjob im = { .kind = "image", .registry = j->registry, .repo = j->repo, .ref = (char *)digest,
			    .tag = (char *)tag, .opt = prev, .mtype = t->mtype, .sweep = j->sweep, .priority = prio,
			    .manifest = (uint8_t *)t->body, .manifest_len = t->len };
		n = sw_watch__enqueue_job(k->db, &im, NULL);
	}
	free(prev);
	return n < 0 ? (int)n : 0;
}

/* The repository's tags in one transaction (redone whole when the store
 * asks: the HEADs are not made again). */
static int cmp_wtag(const void *a, const void *b)
{
	return strcmp(((const struct wtag *)a)->tag, ((const struct wtag *)b)->tag);
}

/* The digest the store knows tag at, or NULL (known: rows of (tag,
 * digest) sorted by tag) */
static const char *known_digest(const sw_dbres *known, const char *tag)
{
	size_t lo = 0, hi = sw_dbres_rows(known);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(sw_dbres_text(known, mid, 0), tag);
		if (c == 0)
			return sw_dbres_text(known, mid, 1);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The repository's tags as the store knows them, in one statement, before
 * they are resolved: a known tag gets a HEAD, a new one a GET
 * (resolve_tags); a tag at the same digest needs no write (write_tags: a
 * re-sweep with nothing new costs a statement per repository, not per
 * tag). Each tag's `was` points into the result, which the caller frees
 * after write_tags. NULL when the store did not answer. */
static sw_dbres *known_tags(worker *k, const wjob *j, sw_error *err)
{
	sw_dbv v[] = { DB_S(j->registry), DB_S(j->repo) };
	sw_dbres *known = NULL;
	size_t i;

	if (sw_db_exec(k->db, sw_db_pg(k->db) ?
		       "SELECT tag, digest FROM watch_tags WHERE registry = $1 AND repo = $2 ORDER BY tag COLLATE \"C\"" :
		       "SELECT tag, digest FROM watch_tags WHERE registry = $1 AND repo = $2 ORDER BY tag",
		       v, 2, &known, err) < 0)
		return NULL;
	for (i = 0; i < k->ntags; i++)
		k->tags[i].was = known_digest(known, k->tags[i].tag);
	return known;
}

static char *write_tags(worker *k, const wjob *j)
{
	sw_error err = SW_ERROR_INIT;
	int64_t now = sw_watch__now();
	size_t i, changed = 0;
	int tries, rc = 0;

	for (i = 0; i < k->ntags; i++) { /* in tag order (do_repo): rows locked in one order */
		k->tags[i].same = k->tags[i].was && strcmp(k->tags[i].was, k->tags[i].digest) == 0;
		changed += !k->tags[i].same;
	}
	if (!changed)
		return NULL;
	for (tries = 0; tries < 5; tries++) {
		if ((rc = sw_db_begin(k->db, &err)) == 0) {
			for (i = 0; i < k->ntags && rc == 0; i++)
				if (!k->tags[i].same)
					rc = write_tag(k, j, &k->tags[i], now);
			if (rc == 0 && (rc = sw_db_commit(k->db, &err)) == 0)
				return NULL;
		}
		sw_db_rollback(k->db);
		if (rc != SW_DB_RETRY)
			break;
	}
	return sw__asprintf("the store refused the tags: %s", err.msg[0] ? err.msg : "a write failed");
}

static void tags_release(worker *k)
{
	size_t i;

	for (i = 0; i < k->ntags; i++) {
		free(k->tags[i].tag);
		free(k->tags[i].digest);
		free(k->tags[i].mtype);
		free(k->tags[i].error);
		free(k->tags[i].body);
	}
	free(k->tags);
	k->tags = NULL;
	k->ntags = 0;
}

static char *do_repo(worker *k, const wjob *j)
{
	sw_reg *r = NULL;
	sw_error err = SW_ERROR_INIT;
	sw_dbres *known = NULL;
	char *error;

	judge_name(k, j);
	if (sw_reg_open(&r, j->registry, j->repo, &k->w->reg, &err) < 0)
		return sw__strdup(err.msg);
	error = pages(k, r, false, "tags", each_tag, j);
	/* in tag order from here on: resolved in it (a registry's listing order
	 * does not choose which manifests fit the carried budget) and written
	 * in it (every worker locks a repository's tag rows in one order) */
	if (!error && k->ntags > 1)
		qsort(k->tags, k->ntags, sizeof(*k->tags), cmp_wtag);
	if (!error && !(known = known_tags(k, j, &err)))
		error = sw__asprintf("the store: %s", err.msg);
	if (!error && !stopping(k->w))
		resolve_tags(k, j, r);
	sw_reg_free(r);
	if (!error)
		error = write_tags(k, j);
	sw_dbres_free(known);
	tags_release(k);
	return error;
}

/* ---- image ---- */

#define DEFER ((char *)-1)

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The claim on PostgreSQL: one statement for every layer, in digest order
 * as the loop below (two claimers never wait on each other in a circle),
 * and the layers' states read back only when one was not taken (a loop of
 * two statements a layer was a fifth of a sweep's statements). ds: valid
 * digests, sorted. 1: all taken or done, 0: one is being scanned
 * elsewhere, < 0: the store's error. */
static int claim_all(worker *k, const char **ds, size_t n, int64_t now, sw_error *err)
{
	sw_buf b = SW_BUF_INIT(1u << 20);
	sw_dbres *r = NULL;
	int64_t got;
	size_t i;

	sw_buf_append(&b, "{", 1);
	for (i = 0; i < n; i++)
		sw_buf_printf(&b, "%s%s", i ? "," : "", ds[i]);
	sw_buf_append(&b, "}", 1);
	if (sw_buf_err(&b)) {
		sw_buf_release(&b);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	{
		sw_dbv v[] = { DB_S(sw_buf_cstr(&b)), DB_S(k->me), DB_I(now + k->w->lease_ms), DB_I(now) };
		got = sw_db_exec(k->db,
				 "INSERT INTO watch_layers(digest, state, worker, lease_until, first_seen) "
				 "SELECT d, 'scanning', $2, $3, $4 FROM unnest(CAST($1 AS TEXT[])) WITH ORDINALITY AS t(d, i) "
				 "ORDER BY i ON CONFLICT(digest) DO UPDATE SET state = 'scanning', worker = $2, lease_until = $3 "
				 "WHERE watch_layers.state = 'free' OR (watch_layers.state = 'scanning' AND "
				 "(watch_layers.lease_until < $4 OR watch_layers.worker = $2))", v, 4, NULL, err);
		if (got >= 0 && (size_t)got != n &&
		    (got = sw_db_exec(k->db, "SELECT COUNT(*) FROM watch_layers WHERE digest = ANY(CAST($1 AS TEXT[])) "
				      "AND state <> 'done' AND NOT (state = 'scanning' AND worker = $2 AND lease_until = $3)",
				      v, 3, &r, err)) >= 0)
			got = sw_dbres_int(r, 0, 0) == 0 ? (int64_t)n : 0;
	}
	sw_dbres_free(r);
	sw_buf_release(&b);
	if (got < 0)
		return (int)got;
	return (size_t)got == n;
}

static bool all_digests(const char **ds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!sw_digest_valid(ds[i]))
			return false;
	return true;
}

/* Claim every layer not yet judged, all or none. 1: go on (the scan then
 * finds the ones done in the store's layer cache), 0: one is being scanned
 * elsewhere. */
static int claim(worker *k, const char **ds, size_t n, sw_error *err)
{
	int64_t now = sw_watch__now();
	bool batch = sw_db_pg(k->db) && n > 0 && all_digests(ds, n);
	size_t i;
	int tries, rc = 0;

	for (tries = 0; tries < 5; tries++) {
		if ((rc = sw_db_begin(k->db, err)) < 0)
			goto again;
		if (batch) {
			if ((rc = claim_all(k, ds, n, now, err)) < 0)
				goto again;
			if (rc == 0) {
				sw_db_rollback(k->db);
				return 0;
			}
			if ((rc = sw_db_commit(k->db, err)) == 0)
				return 1;
			goto again;
		}
		for (i = 0; i < n; i++) {
			sw_dbv v[] = { DB_S(ds[i]), DB_S(k->me), DB_I(now + k->w->lease_ms), DB_I(now) };
			sw_dbres *r = NULL;
			int64_t got = sw_db_exec(k->db,
						 "INSERT INTO watch_layers(digest, state, worker, lease_until, first_seen) "
						 "VALUES($1, 'scanning', $2, $3, $4) ON CONFLICT(digest) DO UPDATE SET "
						 "state = 'scanning', worker = $2, lease_until = $3 WHERE "
						 "watch_layers.state = 'free' OR (watch_layers.state = 'scanning' AND "
						 "(watch_layers.lease_until < $4 OR watch_layers.worker = $2))",
						 v, 4, NULL, err);
			if (got < 0) {
				rc = (int)got;
				break;
			}
			if (got == 1)
				continue;
			if (sw_db_exec(k->db, "SELECT state FROM watch_layers WHERE digest = $1", v, 1, &r, err) < 0) {
				rc = SW_EIO;
				break;
			}
			got = sw_dbres_rows(r) && strcmp(sw_dbres_text(r, 0, 0), "done") == 0;
			sw_dbres_free(r);
			if (!got) {
				sw_db_rollback(k->db);
				return 0;
			}
		}
		if (i == n && (rc = sw_db_commit(k->db, err)) == 0)
			return 1;
again:
		sw_db_rollback(k->db);
		if (rc != SW_DB_RETRY)
			return rc < 0 ? rc : SW_EIO;
	}
	return rc;
}

static void release_claims(worker *k, const char **ds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		sw_dbv v[] = { DB_S(ds[i]), DB_S(k->me) };
		sw_db_exec(k->db, "UPDATE watch_layers SET state = 'free', lease_until = 0 WHERE digest = $1 AND "
			   "worker = $2 AND state = 'scanning'", v, 2, NULL, NULL);
	}
}

static void layer_result(void *ctx, size_t i, bool cached, bool stored)
{
	worker *k = ctx;

	if (i < k->nlayers) {
		k->cached[i] = cached;
		k->stored[i] = stored;
	}
}

static char *findings_json(const sw_report *rep)
{
	sw_buf b = SW_BUF_INIT(64u << 20);
	sw_jw w = SW_JW_INIT(&b);
	size_t i;

	sw_jw_arr(&w);
	for (i = 0; i < sw_report_finding_count(rep); i++) {
		const sw_finding *f = sw_report_finding(rep, i);
		sw_jw_obj(&w);
		sw_jw_kstr(&w, "rule", f->id);
		sw_jw_kstr(&w, "severity", sw_severity_name(f->severity));
		sw_jw_kstr(&w, "category", f->category);
		sw_jw_kstr(&w, "title", f->title);
		sw_jw_kstr(&w, "path", f->path);
		sw_jw_kint(&w, "layer", f->layer);
		sw_jw_kstr(&w, "layer_digest", f->layer_digest);
		sw_jw_kbool(&w, "in_final_fs", f->in_final_fs);
		sw_jw_end(&w);
	}
	sw_jw_end(&w);
	if (sw_jw_done(&w) < 0) {
		sw_buf_release(&b);
		return NULL;
	}
	return sw_buf_detach(&b, NULL);
}

static int by_digest(const void *a, const void *b, void *img)
{
	return strcmp(sw_image_layer(img, *(const size_t *)a)->digest, sw_image_layer(img, *(const size_t *)b)->digest);
}

/* Did this worker's record of the image land? (a COMMIT whose connection
 * was lost may have) */
static bool recorded_by_me(worker *k, const wjob *j, const char *digest)
{
	sw_dbv v[] = { DB_S(j->registry), DB_S(j->repo), DB_S(digest), DB_S(k->me) };
	sw_dbres *r = NULL;
	bool mine = sw_db_exec(k->db, "SELECT 1 FROM watch_images WHERE registry = $1 AND repo = $2 AND digest = $3 "
			       "AND worker = $4", v, 4, &r, NULL) > 0;

	sw_dbres_free(r);
	return mine;
}

/* What the scan did with each layer, and the image's row and events, in
 * one transaction. */
static int record(worker *k, const wjob *j, const sw_image *img, const char *platform, const sw_report *rep,
		  double seconds, sw_error *err)
{
	const char *digest = sw_image_manifest_digest(img), *verdict = sw_verdict_name(sw_report_verdict(rep));
	char *findings = findings_json(rep);
	size_t o, n = sw_image_layer_count(img), *order = calloc(n + 1, sizeof(*order));
	int tries, rc = SW_EIO;
	long long scanned = 0, reused = 0;

	if (!findings || !order) {
		free(findings);
		free(order);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	for (o = 0; o < n; o++)
		order[o] = o;
	qsort_r(order, n, sizeof(*order), by_digest, (void *)img);
	for (o = 0; o < n; o++)
		if (k->cached[o])
			reused++;
		else
			scanned++;
	for (tries = 0; tries < 5; tries++) {
		/* redone after a lost COMMIT that landed: its counts are in */
		if (tries > 0 && recorded_by_me(k, j, digest)) {
			rc = 0;
			break;
		}
		if ((rc = sw_db_begin(k->db, err)) < 0)
			goto again;
		for (o = 0; o < n; o++) {
			/* in digest order, as the claims take them: two transactions
			 * over one image's layers never wait on each other in a circle */
			size_t i = order[o];
			const sw_layer_info *li = sw_image_layer(img, i);
			sw_dbv v[] = { DB_S(li->digest), DB_S(k->me) };
			const char *sql;
			if (k->cached[i]) {
				/* a layer whose scan reached the layer cache (its own
				 * connection) while the image's record was lost (the
				 * store crashed before that commit): the retry finds
				 * it cached, but it was scanned once and never counted */
				sql = "UPDATE watch_layers SET reuses = reuses + CASE WHEN scans > 0 THEN 1 ELSE 0 END, "
				      "scans = CASE WHEN scans > 0 THEN scans ELSE 1 END, state = 'done' WHERE digest = $1";
			} else if (k->stored[i]) {
				sql = "UPDATE watch_layers SET scans = scans + 1, state = 'done', worker = $2 WHERE digest = $1";
			} else {
				/* scanned, but the result depends on more than the layer: the next image scans it too */
				sql = "UPDATE watch_layers SET scans = scans + 1, state = 'free', lease_until = 0 "
				      "WHERE digest = $1";
			}
			if ((rc = (int)sw_db_exec(k->db, sql, v, 2, NULL, err)) < 0)
				goto again;
			if (k->stored[i] && !k->cached[i])
				sw_watch__event(k->db, "new_layer", j->registry, j->repo, NULL, li->digest, NULL, NULL, NULL);
		}
		{
			sw_dbv v[] = { DB_S(j->registry), DB_S(j->repo), DB_S(digest), DB_S(platform ? platform : ""),
				       DB_S(j->parent ? j->parent : j->ref), DB_S(verdict), DB_S(findings), DB_I(n),
				       DB_I(sw_watch__now()),
				       { .t = 's', .s = NULL }, DB_S(k->me) };
			char secs[32];
			int64_t got;
			snprintf(secs, sizeof(secs), "%.3f", seconds);
			v[9] = DB_S(secs);
			got = sw_db_exec(k->db, "INSERT INTO watch_images(registry, repo, digest, platform, top, verdict, "
					 "findings, layers, scanned, seconds, worker) VALUES($1, $2, $3, $4, $5, $6, $7, $8, "
					 "$9, CAST($10 AS DOUBLE PRECISION), $11) ON CONFLICT DO NOTHING", v, 11, NULL, err);
			if (got < 0) {
				rc = (int)got;
				goto again;
			}
			if (got == 1) {
				sw_watch__event(k->db, "new_image", j->registry, j->repo, j->tag, digest, platform, verdict,
						NULL);
				if (j->opt && sw_digest_valid(j->opt)) {
					/* the tag moved: did the verdict? */
					sw_dbv p[] = { DB_S(j->registry), DB_S(j->repo), DB_S(j->opt), DB_S(platform ? platform : "") };
					sw_dbres *r = NULL;
					if (sw_db_exec(k->db, "SELECT verdict FROM watch_images WHERE registry = $1 AND repo = $2 "
						       "AND top = $3 AND (platform = $4 OR $4 = '') ORDER BY verdict LIMIT 1",
						       p, 4, &r, NULL) > 0 && strcmp(sw_dbres_text(r, 0, 0), verdict) != 0) {
						sw_buf b = SW_BUF_INIT(4096);
						sw_jw w = SW_JW_INIT(&b);
						sw_jw_obj(&w);
						sw_jw_kstr(&w, "from", sw_dbres_text(r, 0, 0));
						sw_jw_kstr(&w, "to", verdict);
						sw_jw_kstr(&w, "previous_digest", j->opt);
						sw_jw_end(&w);
						sw_watch__event(k->db, "verdict", j->registry, j->repo, j->tag, digest, platform,
								verdict, sw_buf_cstr(&b));
						sw_buf_release(&b);
					}
					sw_dbres_free(r);
				}
			}
		}
		if ((rc = sw_db_commit(k->db, err)) == 0)
			break;
again:
		sw_db_rollback(k->db);
		if (rc != SW_DB_RETRY)
			break;
	}
	free(findings);
	free(order);
	if (rc == 0) {
		atomic_fetch_add(&k->w->images, 1);
		atomic_fetch_add(&k->w->scanned, scanned);
		atomic_fetch_add(&k->w->reused, reused);
		atomic_fetch_add(&k->w->verdicts[sw_report_verdict(rep)], 1);
	}
	return rc;
}

static char *judge(worker *k, const wjob *j, const sw_image *img)
{
	const char *digest = sw_image_manifest_digest(img), *platform;
	size_t n = sw_image_layer_count(img), i, nd = 0;
	const char **ds = NULL;
	sw_scan_opts so = k->w->o->scan;
	sw_report *rep = NULL;
	sw_error err = SW_ERROR_INIT;
	sw_dbres *r = NULL;
	char *error = NULL;
	double t0;
	int rc;

	platform = j->platform[0] ? j->platform : sw_image_platform(img);
	{
		sw_dbv v[] = { DB_S(j->registry), DB_S(j->repo), DB_S(digest) };
		if (sw_db_exec(k->db, "SELECT 1 FROM watch_images WHERE registry = $1 AND repo = $2 AND digest = $3",
			       v, 3, &r, &err) < 0)
			return sw__strdup(err.msg);
		i = sw_dbres_rows(r);
		sw_dbres_free(r);
		if (i)
			return NULL;   /* judged already (another tag, or a job done twice) */
	}
	if (!(ds = calloc(n + 1, sizeof(*ds))) || !(k->cached = calloc(n + 1, 1)) || !(k->stored = calloc(n + 1, 1))) {
		error = sw__strdup("out of memory");
		goto out;
	}
	k->nlayers = n;
	for (i = 0; i < n; i++)
		ds[nd++] = sw_image_layer(img, i)->digest;
	qsort(ds, nd, sizeof(*ds), cmp_str);
	for (i = 1; i < nd;)
		if (strcmp(ds[i], ds[i - 1]) == 0)
			memmove(&ds[i], &ds[i + 1], (--nd - i) * sizeof(*ds));
		else
			i++;
	if ((rc = claim(k, ds, nd, &err)) <= 0) {
		error = rc == 0 ? DEFER : sw__strdup(err.msg);
		goto out;
	}
	so.layer_cache = NULL;
	so.layer_cache_handle = k->cache;
	so.share_detectors = true;   /* rules loaded once per process, not per image */
	so.layer_result = layer_result;
	so.layer_result_ctx = k;
	so.progress = scan_progress;
	so.progress_ctx = k;
	t0 = sw_now();
	if (sw_scan_image(img, &so, &rep, &err) < 0) {
		release_claims(k, ds, nd);
		error = sw__asprintf("scan: %s", err.msg);
		goto out;
	}
	if (record(k, j, img, platform, rep, sw_now() - t0, &err) < 0) {
		release_claims(k, ds, nd);
		error = sw__asprintf("store: %s", err.msg);
	}
out:
	sw_report_free(rep);
	free(ds);
	free(k->cached);
	free(k->stored);
	k->cached = k->stored = NULL;
	k->nlayers = 0;
	return error;
}

/* An index: each platform's image becomes a job of its own, by its
 * digest (one manifest GET each later), the index's digest its parent.
 * Attestation manifests (platform unknown/unknown) are not platforms. */
static char *index_platforms(worker *k, const wjob *j)
{
	sw_reg *r = NULL;
	sw_error err = SW_ERROR_INIT;
	char *body = NULL, *mt = NULL, *digest = NULL, *error = NULL;
	size_t len, n = 0;
	sw_json_doc *doc = NULL;
	const sw_json *e;

	if (sw_reg_open(&r, j->registry, j->repo, &k->w->reg, &err) < 0 ||
	    sw_reg_manifest(r, j->ref, k->w->o->image.max_manifest ? k->w->o->image.max_manifest : 4u << 20, &body,
			    &len, &mt, &digest, &err) < 0 || sw_json_parse(body, len, &doc, &err) < 0) {
		error = sw__strdup(err.msg);
		goto out;
	}
	e = sw_json_get_arr(sw_json_root(doc), "manifests");
	if (!e) {
		error = sw__asprintf("%s@%s: not an index", j->repo, j->ref);
		goto out;
	}
	for (e = e->child; e && n < WATCH_MAX_PLATFORMS; e = e->next) {
		const sw_json *pf = sw_json_get_obj(e, "platform");
		const char *os = sw_json_get_str(pf, "os"), *arch = sw_json_get_str(pf, "architecture"),
			   *var = sw_json_get_str(pf, "variant"), *d = sw_json_get_str(e, "digest");
		char p[128];
		wjob child = { .kind = "image", .registry = j->registry, .repo = j->repo, .platform = p, .tag = j->tag,
			       .opt = j->opt, .parent = j->ref, .mtype = (char *)sw_json_get_str(e, "mediaType"),
			       .sweep = j->sweep, .priority = j->priority };
		if (!os || !arch || strcmp(os, "unknown") == 0)
			continue;
		if (!d || !sw_digest_valid(d) || strlen(os) + strlen(arch) + (var ? strlen(var) : 0) + 3 > sizeof(p)) {
			refused_name(k, j, "an index entry without a valid digest or platform", d ? d : "(none)");
			continue;
		}
		snprintf(p, sizeof(p), "%s/%s%s%s", os, arch, var ? "/" : "", var ? var : "");
		child.ref = (char *)d;
		if (sw_watch__enqueue_job(k->db, &child, &err) < 0) {
			error = sw__strdup(err.msg);
			break;
		}
		n++;
	}
	if (e && !error)
		refused_name(k, j, "an index with more platforms than a sweep reads", j->ref);
out:
	sw_json_free(doc);
	free(body);
	free(mt);
	free(digest);
	sw_reg_free(r);
	return error;
}

static bool index_type(const char *mt)
{
	return mt && (strstr(mt, "image.index") || strstr(mt, "manifest.list"));
}

static char *open_and_judge(worker *k, const wjob *j)
{
	sw_image_opts io = k->w->o->image;
	sw_image *img = NULL;
	sw_error err = SW_ERROR_INIT;
	char *ref, *error = NULL;
	size_t np;
	int rc;

	if (!sw_digest_valid(j->ref))
		return sw__asprintf("%s: not a digest", j->ref);
	/* the HEAD said it is an index: read its platforms, nothing else */
	if (!j->platform[0] && index_type(j->mtype))
		return index_platforms(k, j);
	if (!(ref = sw__asprintf("%s/%s@%s", j->registry, j->repo, j->ref)))
		return sw__strdup("out of memory");
	io.registry = &k->w->reg;
	io.platform = j->platform[0] ? j->platform : NULL;
	rc = sw_image_open(&img, ref, &io, &err);
	free(ref);
	if (rc == SW_ENOTFOUND && !j->platform[0])
		return index_platforms(k, j);   /* an index without the default platform */
	if (rc < 0)
		return sw__strdup(err.msg);
	if (!j->platform[0] && (sw_image_platforms(img, &np), np > 0)) {
		/* an index the HEAD did not announce */
		sw_image_free(img);
		return index_platforms(k, j);
	}
	error = judge(k, j, img);
	sw_image_free(img);
	return error;
}

/* An image job. The manifest its tag's GET brought (resolve_tags), when
 * its bytes are the digest asked for, answers the fetch of that digest
 * (sw_reg__memo, this thread), so the image or index is not fetched twice. */
static char *do_image(worker *k, const wjob *j)
{
	char *error;
	bool memo = false;

	if (j->manifest) {
		uint8_t want[SW_SHA256_LEN], have[SW_SHA256_LEN];
		sw_sha256_buf(j->manifest, j->manifest_len, have);
		if ((memo = sw_digest_parse(j->ref, want) == 0 && memcmp(want, have, SW_SHA256_LEN) == 0))
			sw_reg__memo(j->repo, j->ref, (const char *)j->manifest, j->manifest_len, j->mtype);
	}
	error = open_and_judge(k, j);
	if (memo)
		sw_reg__memo(NULL, NULL, NULL, 0, NULL);
	return error;
}

/* ---- the worker loop ---- */

static void *work(void *arg)
{
	worker *k = arg;
	watch *w = k->w;
	double last_reap = 0;
	sw_error err = SW_ERROR_INIT;

	while (!stopping(w)) {
		wjob j;
		char *error;
		int rc;
		if (sw_now() - last_reap > 1.0) {
			sw_watch__reap(k->db);
			last_reap = sw_now();
		}
		if ((rc = sw_watch__lease(k->db, k->me, w->lease_ms, &j, &err)) < 0) {
			fprintf(stderr, "stowaway watch: %s: %s\n", k->me, err.msg);
			sleep_s(1);
			continue;
		}
		if (rc == 0) {
			int64_t pending = sw_watch__pending(k->db, NULL);
			if (w->o->until_idle && pending == 0) {
				sw_watch__sweeps_close(k->db);
				break;
			}
			/* work in hand elsewhere may queue more soon: look again sooner */
			sleep_s(pending > 0 ? 0.05 : 0.5);
			continue;
		}
		k->job = &j;
		k->renewed = sw_now();
		if (strcmp(j.kind, "catalog") == 0)
			error = do_catalog(k, &j);
		else if (strcmp(j.kind, "repo") == 0)
			error = do_repo(k, &j);
		else if (strcmp(j.kind, "namespace") == 0)
			error = do_namespace(k, &j);
		else if (strcmp(j.kind, "image") == 0)
			error = do_image(k, &j);
		else
			error = sw__asprintf("unknown job kind %s", j.kind);
		k->job = NULL;
		if (error == DEFER) {
			atomic_fetch_add(&w->deferred, 1);
			/* another worker is scanning one of its layers: back soon
			 * (a layer of the bench registry takes 20-200 ms; a job
			 * put back for 300-700 ms left 4 workers idle at the end
			 * of a sweep), spread so the waiters do not come at once */
			sw_watch__defer(k->db, &j, k->me, 60 + (int64_t)(k->index * 37 % 80));
		} else {
			if (sw_watch__finish(k->db, &j, k->me, error, &err) == 0)
				atomic_fetch_add(error && j.attempts >= WATCH_MAX_ATTEMPTS ? &w->jobs_failed : &w->jobs_done,
						 1);
			free(error);
		}
		sw_watch__job_free(&j);
	}
	/* the supervisor waits on this, not on a timer: a run that finds
	 * nothing to do (a re-sweep) ends when its last worker does */
	pthread_mutex_lock(&w->mu);
	w->ended++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* ---- progress and /metrics ---- */

static void poll_queue(watch *w, sw_db *db)
{
	sw_dbres *r = NULL;
	sw_watch_progress p = { 0 };
	size_t i;

	if (sw_db_exec(db, "SELECT state, COUNT(*) FROM watch_jobs GROUP BY state", NULL, 0, &r, NULL) >= 0)
		for (i = 0; i < sw_dbres_rows(r); i++) {
			const char *s = sw_dbres_text(r, i, 0);
			long long n = (long long)sw_dbres_int(r, i, 1);
			if (strcmp(s, "queued") == 0)
				p.queued = n;
			else if (strcmp(s, "leased") == 0)
				p.leased = n;
			else if (strcmp(s, "done") == 0)
				p.done = n;
			else if (strcmp(s, "failed") == 0)
				p.failed = n;
		}
	sw_dbres_free(r);
	p.images = atomic_load(&w->images);
	p.layers_scanned = atomic_load(&w->scanned);
	p.layers_reused = atomic_load(&w->reused);
	p.seconds = sw_now() - w->start;
	p.db_seconds = sw_db_seconds();
	pthread_mutex_lock(&w->mu);
	w->prog = p;
	pthread_mutex_unlock(&w->mu);
	if (w->o->progress)
		w->o->progress(w->o->progress_ctx, &p);
}

/* What this process did, in one line on stderr at the end (o->summary). */
static void summary(watch *w, unsigned nworkers)
{
	double secs = sw_now() - w->start, db = sw_db_seconds();

	fprintf(stderr, "stowaway watch: %lld images, %lld layers scanned, %lld reused, %lld deferred in %.2f s; "
		"%.2f s of %u workers' time waiting on the store (%.1f%%)\n", (long long)atomic_load(&w->images),
		(long long)atomic_load(&w->scanned), (long long)atomic_load(&w->reused),
		(long long)atomic_load(&w->deferred), secs, db, nworkers,
		secs > 0 ? 100.0 * db / (secs * nworkers) : 0.0);
}

static void metrics_text(watch *w, sw_buf *b)
{
	sw_watch_progress p;
	gate *g;
	static const char *const vn[] = { "clean", "suspicious", "malicious" };
	int i;

	pthread_mutex_lock(&w->mu);
	p = w->prog;
	sw_buf_printf(b, "# HELP stowaway_watch_jobs Jobs in the shared queue by state (all workers).\n"
		      "# TYPE stowaway_watch_jobs gauge\n");
	sw_buf_printf(b, "stowaway_watch_jobs{state=\"queued\"} %lld\nstowaway_watch_jobs{state=\"leased\"} %lld\n"
		      "stowaway_watch_jobs{state=\"done\"} %lld\nstowaway_watch_jobs{state=\"failed\"} %lld\n",
		      p.queued, p.leased, p.done, p.failed);
	sw_buf_printf(b, "# HELP stowaway_watch_registry_requests_total HTTP requests to each registry.\n"
		      "# TYPE stowaway_watch_registry_requests_total counter\n");
	for (g = w->gates; g; g = g->next)
		sw_buf_printf(b, "stowaway_watch_registry_requests_total{registry=\"%s\"} %llu\n", g->host,
			      (unsigned long long)g->requests);
	sw_buf_printf(b, "# HELP stowaway_watch_registry_throttled_total 429 answers from each registry.\n"
		      "# TYPE stowaway_watch_registry_throttled_total counter\n");
	for (g = w->gates; g; g = g->next)
		sw_buf_printf(b, "stowaway_watch_registry_throttled_total{registry=\"%s\"} %llu\n", g->host,
			      (unsigned long long)g->throttled);
	sw_buf_printf(b, "# HELP stowaway_watch_registry_errors_total 5xx answers and failed connections.\n"
		      "# TYPE stowaway_watch_registry_errors_total counter\n");
	for (g = w->gates; g; g = g->next)
		sw_buf_printf(b, "stowaway_watch_registry_errors_total{registry=\"%s\"} %llu\n", g->host,
			      (unsigned long long)g->errors);
	pthread_mutex_unlock(&w->mu);
	sw_buf_printf(b, "# HELP stowaway_watch_images_total Images judged by this process.\n"
		      "# TYPE stowaway_watch_images_total counter\n");
	for (i = 0; i < 3; i++)
		sw_buf_printf(b, "stowaway_watch_images_total{verdict=\"%s\"} %lld\n", vn[i],
			      (long long)atomic_load(&w->verdicts[i]));
	sw_buf_printf(b, "# HELP stowaway_watch_layers_total Layers of judged images: scanned here, or reused "
		      "from the store.\n# TYPE stowaway_watch_layers_total counter\n"
		      "stowaway_watch_layers_total{how=\"scanned\"} %lld\nstowaway_watch_layers_total{how=\"reused\"} %lld\n",
		      (long long)atomic_load(&w->scanned), (long long)atomic_load(&w->reused));
	sw_buf_printf(b, "# HELP stowaway_watch_db_seconds_total Time the workers waited on the store.\n"
		      "# TYPE stowaway_watch_db_seconds_total counter\nstowaway_watch_db_seconds_total %.3f\n",
		      sw_db_seconds());
	sw_buf_printf(b, "# HELP stowaway_watch_jobs_deferred_total Jobs put back because a layer was being "
		      "scanned elsewhere.\n# TYPE stowaway_watch_jobs_deferred_total counter\n"
		      "stowaway_watch_jobs_deferred_total %lld\n", (long long)atomic_load(&w->deferred));
}

typedef struct metrics_srv {
	watch *w;
	int fd;
	pthread_t t;
} metrics_srv;

/* A tiny HTTP/1.0 answerer: GET /metrics, one request per connection,
 * every read bounded in size and time. */
static void *serve_metrics(void *arg)
{
	metrics_srv *m = arg;

	while (!stopping(m->w)) {
		struct pollfd pfd = { m->fd, POLLIN, 0 };
		char req[2048];
		size_t got = 0;
		int c;
		double end;
		sw_buf b = SW_BUF_INIT(1u << 20), body = SW_BUF_INIT(1u << 20);
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		if ((c = accept(m->fd, NULL, NULL)) < 0)
			continue;
		end = sw_now() + 2;
		while (got < sizeof(req) - 1 && sw_now() < end) {
			struct pollfd cp = { c, POLLIN, 0 };
			ssize_t n;
			if (poll(&cp, 1, 200) <= 0)
				continue;
			if ((n = read(c, req + got, sizeof(req) - 1 - got)) <= 0)
				break;
			got += (size_t)n;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
				break;
		}
		req[got] = '\0';
		if (strncmp(req, "GET /metrics ", 13) == 0 || strncmp(req, "GET /metrics?", 13) == 0) {
			metrics_text(m->w, &body);
			sw_buf_printf(&b, "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
				      "Content-Length: %zu\r\nConnection: close\r\n\r\n", body.len);
			sw_buf_append(&b, body.data ? body.data : "", body.len);
		} else if (strncmp(req, "GET /healthz ", 13) == 0) {
			sw_buf_printf(&b, "HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n");
		} else {
			sw_buf_printf(&b, "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
		}
		if (!sw_buf_err(&b)) {
			size_t off = 0;
			while (off < b.len) {
				ssize_t n = write(c, b.data + off, b.len - off);
				if (n <= 0)
					break;
				off += (size_t)n;
			}
		}
		close(c);
		sw_buf_release(&b);
		sw_buf_release(&body);
	}
	return NULL;
}

static int metrics_listen(const char *addr, sw_error *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *colon = strrchr(addr, ':');
	char host[64];
	long port;
	int fd, one = 1;

	if (!colon || (size_t)(colon - addr) >= sizeof(host) || (port = strtol(colon + 1, NULL, 10)) < 0 ||
	    port > 65535)
		return sw_error_set(err, SW_EINVAL, "--metrics %s: expected ADDR:PORT", addr);
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa.sin_addr) != 1)
		return sw_error_set(err, SW_EINVAL, "--metrics %s: not an IPv4 address", addr);
	sa.sin_port = htons((uint16_t)port);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return sw_error_set(err, SW_EIO, "--metrics: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		sw_error_set(err, SW_EIO, "--metrics %s: %s", addr, strerror(errno));
		close(fd);
		return SW_EIO;
	}
	return fd;
}

/* ---- the run ---- */

/* "host/name" given for a registry, or a name of every registry */
static int seed(watch *w, sw_db *db, sw_error *err)
{
	const sw_watch_opts *o = w->o;
	const char *hub = o->hub_api;
	size_t i, r;

	if (o->n_namespaces && !hub) {
		for (r = 0; r < o->n_registries && strcmp(o->registries[r], "docker.io"); r++)
			;
		if (r == o->n_registries)
			return sw_error_set(err, SW_EINVAL, "--namespace lists repositories through a Docker Hub-shaped "
					    "API: give --hub-api URL");
		hub = "https://hub.docker.com";
	}
	if (hub && !origin_len(hub))
		return sw_error_set(err, SW_EINVAL, "--hub-api %s: not a URL", hub);
	for (r = 0; r < o->n_registries; r++) {
		bool created;
		int64_t sweep = sw_watch__sweep_start(db, o->registries[r], &created, err);
		size_t given = 0;
		if (sweep < 0)
			return (int)sweep;
		if (!created)
			continue;   /* a sweep is running: join it */
		for (i = 0; i < o->n_repos; i++) {
			const char *name = o->repos[i];
			size_t hl = strlen(o->registries[r]);
			if (strncmp(name, o->registries[r], hl) == 0 && name[hl] == '/')
				name += hl + 1;
			else if (strchr(name, '/') && strchr(name, '/') != name &&
				 (memchr(name, '.', (size_t)(strchr(name, '/') - name)) ||
				  memchr(name, ':', (size_t)(strchr(name, '/') - name))))
				continue;   /* another registry's */
			if (!repo_name_ok(name))
				return sw_error_set(err, SW_EINVAL, "%s: not a repository name", o->repos[i]);
			if (sw_watch__enqueue(db, "repo", o->registries[r], name, NULL, NULL, NULL, o->names_as, sweep,
					      PRIO_REPO, err) < 0)
				return SW_EIO;
			given++;
		}
		for (i = 0; i < o->n_namespaces; i++) {
			if (!repo_name_ok(o->namespaces[i]) || strchr(o->namespaces[i], '/'))
				return sw_error_set(err, SW_EINVAL, "%s: not a namespace", o->namespaces[i]);
			if (sw_watch__enqueue(db, "namespace", o->registries[r], o->namespaces[i], hub, NULL, NULL,
					      o->names_as, sweep, PRIO_CATALOG, err) < 0)
				return SW_EIO;
		}
		if (!o->n_repos && !o->n_namespaces &&
		    sw_watch__enqueue(db, "catalog", o->registries[r], NULL, NULL, NULL, NULL, o->names_as, sweep,
				      PRIO_CATALOG, err) < 0)
			return SW_EIO;
		if (o->n_repos && !given)
			return sw_error_set(err, SW_EINVAL, "no --repo names a repository of %s", o->registries[r]);
	}
	return 0;
}

int sw_watch_run(const sw_watch_opts *o, sw_error *err)
{
	watch w;
	worker *ks = NULL;
	sw_db *db = NULL;
	metrics_srv ms = { &w, -1, 0 };
	unsigned n = o->workers ? o->workers : 1, i, started = 0;
	struct sigaction sa, old_int, old_term;
	char hostname[64] = "host";
	int rc;

	memset(&w, 0, sizeof(w));
	w.o = o;
	w.reg = o->registry;
	w.reg.before_request = before_request;
	w.reg.after_request = after_request;
	w.reg.request_ctx = &w;
	w.lease_ms = (int64_t)((o->lease > 0 ? o->lease : 300) * 1000);
	w.start = sw_now();
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	gethostname(hostname, sizeof(hostname) - 1);
	if ((rc = sw_watch__open(&db, o->db, err)) < 0)
		goto out;
	if ((rc = seed(&w, db, err)) < 0 || o->enqueue_only)
		goto out;
	if (o->metrics && (ms.fd = rc = metrics_listen(o->metrics, err)) < 0)
		goto out;
	if (!(ks = calloc(n, sizeof(*ks)))) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		ks[i].w = &w;
		ks[i].index = i;
		snprintf(ks[i].me, sizeof(ks[i].me), "%s:%ld:%u", hostname, (long)getpid(), i);
		if ((rc = sw_db_open(&ks[i].db, o->db, err)) < 0 || (rc = sw_cache_open(&ks[i].cache, o->db, 0, err)) < 0)
			goto out;
	}
	atomic_store(&signalled, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	if (ms.fd >= 0 && pthread_create(&ms.t, NULL, serve_metrics, &ms) != 0) {
		close(ms.fd);
		ms.fd = -1;
	}
	for (started = 0; started < n; started++)
		if (pthread_create(&ks[started].t, NULL, work, &ks[started]) != 0)
			break;
	if (!started) {
		rc = sw_error_set(err, SW_ENOMEM, "cannot start a worker thread");
	} else {
		/* progress, and the queue's figures for /metrics, once a second
		 * until the workers are done */
		double last = 0;
		for (;;) {
			bool alive = false;
			unsigned joined = 0;
			for (i = 0; i < started; i++) {
				if (!ks[i].joined && pthread_tryjoin_np(ks[i].t, NULL) == EBUSY)
					alive = true;
				else
					ks[i].joined = true;
				joined += ks[i].joined;
			}
			if (!alive || sw_now() - last >= 1) {
				poll_queue(&w, db);
				last = sw_now();
			}
			if (!alive)
				break;
			/* until a worker not joined yet ends (one that ended
			 * since the joins above is not waited for), or the next
			 * progress line is due */
			{
				struct timespec ts;
				pthread_mutex_lock(&w.mu);
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_sec += 1;
				while (w.ended <= joined && !atomic_load(&signalled) &&
				       pthread_cond_timedwait(&w.cv, &w.mu, &ts) == 0)
					;
				pthread_mutex_unlock(&w.mu);
			}
		}
		rc = 0;
		if (o->summary)
			summary(&w, started);
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
out:
	atomic_store(&w.stop, true);
	if (ms.fd >= 0) {
		if (ms.t)
			pthread_join(ms.t, NULL);
		close(ms.fd);
	}
	for (i = 0; ks && i < n; i++) {
		sw_cache_close(ks[i].cache);
		sw_db_close(ks[i].db);
	}
	free(ks);
	sw_db_close(db);
	while (w.gates) {
		gate *g = w.gates;
		w.gates = g->next;
		free(g->host);
		free(g);
	}
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	return rc < 0 ? rc : 0;
}
