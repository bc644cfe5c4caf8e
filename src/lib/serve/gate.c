/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry gate (stowaway/serve.h: sw_gate_serve): the read side of
 * the distribution API in front of upstream registries, on the same
 * server core as the webhook (http.c), that serves an image only once it
 * has been judged and allowed.
 *
 *   GET|HEAD /v2/                                  the API version check
 *   GET|HEAD /v2/[UPSTREAM/]REPO/manifests/REF     judged, then served from the store
 *   GET|HEAD /v2/[UPSTREAM/]REPO/blobs/DIGEST      only blobs of an allowed image of REPO
 *   GET /v2/[UPSTREAM/]REPO/tags/list              the upstream's list (names, not content)
 *
 * The upstream is the first path component when it names one (podman's
 * and Docker's mirror prefixes), else the one whose registry containerd
 * names in ?ns=, else the default one (default_upstream, or the only
 * one). A manifest request goes through up to
 * two steps, each cached in one bounded table (dcache.c) and run once
 * however many clients ask (single flight):
 *
 *  1. a tag is resolved at the upstream ("t|UP|REPO|TAG", gate.tag_ttl);
 *     the last digest seen is kept longer ("s|...") to notice a tag that
 *     moved (logged as tag-drift) and, when the upstream is down, to serve
 *     the image last judged for it (with a Warning header);
 *  2. the digest is judged ("d|POLICY|UP|REPO|DIGEST"): sw_check on
 *     NAME@DIGEST for the names, access rules, signatures and signed
 *     verdicts (the scan deferred), then the image is fetched, verified,
 *     kept and scanned in one pass (fetch_and_scan: the scan streams each
 *     layer and a tee writes its bytes to a staging layout; always scanned,
 *     with the policy's bound or scan's default); allowed, the staging
 *     layout moves into the store; denied, it is removed. An index is judged by its name and signatures and
 *     stored alone; each platform manifest is judged when a client asks
 *     for it, as a child of the index (its signature is the index's).
 *
 * A client waits for the first judgment at most gate.first_pull_wait; then
 * it gets 503 with Retry-After and the work goes on. A denial is the
 * registry error DENIED (403) with the reasons and policy lines, which
 * docker, podman, skopeo and ctr print. Nothing unjudged is ever served.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "stowaway/check.h"
#include "stowaway/config.h"
#include "stowaway/serve.h"
#include "../image/image_int.h"
#include "../registry/registry.h"
#include "common.h"
#include "dcache.h"
#include "http.h"
#include "metrics.h"
#include "polwatch.h"
#include "pool.h"
#include "store.h"
#include "../util/util.h"

#define MAX_CONFIG (1u << 20)
#define MAX_UPSTREAMS 16
#define MAX_QUEUED 256
#define MAX_CHILDREN 64          /* platform manifests of one index */
#define MAX_FETCH_THREADS 16     /* layers fetched apart at once */
#define STALE_TTL (7 * 86400.0)
#define RELOAD_MS 2000
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

enum { K_TAG, K_DECISION, K_STALE, K_CHILD };
enum { J_RESOLVE, J_JUDGE };
static const char *const job_names[] = { "resolve", "judge" };
enum { D_ALLOW, D_DENY, D_WAIT, D_ERROR };
static const char *const decision_names[] = { "allow", "deny", "wait", "error" };

typedef struct gate gate;
typedef struct job job;
typedef struct pull pull;

typedef struct upstream {
	char *name, *url, *host, *registry, *ca, *creds;
	bool insecure;
	const char *insecure_list[1], *mirrors[1];
	sw_registry_opts ro;
	sw_image_opts io;
} upstream;

/* What an entry knows (its val). */
typedef struct known {
	/* tag, stale: the digest and its media type; decision: the verdict */
	char digest[SW_DIGEST_STRLEN];
	char *media_type;
	bool allowed;
	bool index;
	char *message;           /* a denial's reasons, or why it could not be judged */
	int status;              /* an error's HTTP status (404: the upstream has no such thing) */
	char children[MAX_CHILDREN][SW_DIGEST_STRLEN];
	size_t nchildren;
	size_t bytes;
	job *j;
	sw_waiter *waiters, *notify;
} known;

struct job {
	sw_pool_job base;
	gate *g;
	sw_dc_entry *e;
	sw_pol *pol;
	int kind;
	const upstream *up;
	char *repo, *ref;           /* ref: a tag (resolve) or a digest (judge) */
	bool child;                 /* a platform manifest of an allowed index */
	/* out */
	char digest[SW_DIGEST_STRLEN];
	char *media_type;
	bool allowed, index, stage_used;
	char staging[4096];
	char children[MAX_CHILDREN][SW_DIGEST_STRLEN];
	size_t nchildren;
	int status;
	sw_buf msg;
	uint64_t bytes_in;
	atomic_int state;
	char phase[200];
	double started;
};

struct pull {
	gate *g;
	sw_http_req *req;
	const upstream *up;
	char repo[300], ref[300];
	char digest[SW_DIGEST_STRLEN];
	char stale_digest[SW_DIGEST_STRLEN];
	bool by_digest, stale;
	sw_pol *pol;
	sw_waiter w;
	sw_dc_entry *waiting;
	sw_http_timer timer;
	bool timer_on;
	double t0;
};

typedef struct gmetrics {
	unsigned long long pulls[4];
	unsigned long long jobs[2];            /* upstream work started, by kind */
	unsigned long long from_store, judged;
	unsigned long long blobs_served, blobs_refused;
	unsigned long long bytes_in, bytes_out;
	unsigned long long upstream_errors, tag_drift, stale_served, busy;
	sw_hist wait;
} gmetrics;

struct gate {
	/* the configuration */
	char *listen, *cert, *key, *policy_path, *storage;
	uint64_t max_size;
	double first_pull_wait, tag_ttl, allow_ttl, deny_ttl;
	unsigned workers;
	upstream ups[MAX_UPSTREAMS];
	size_t nups;
	char *default_up;            /* the upstream of a path with no prefix and no ?ns= */
	const upstream *dflt;
	/* the running server */
	sw_scan_opts scan;
	sw_polwatch pw;
	sw_http *http;
	sw_pool *pool;
	sw_dc *dc;
	sw_store *store;
	atomic_uint scan_threads;    /* held by the judgments running (take_threads) */
	sw_http_timer reload;
	bool reload_on;
	gmetrics m;
};

static bool advance(pull *p, double now);
static void job_done(sw_http_msg *m);
static void job_free(job *j);

static const upstream *find_upstream(const gate *g, const char *name, size_t len);

/* ---- the configuration file ---- */

static int conf_problem(sw_error *err, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int conf_problem(sw_error *err, const char *file, int line, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sw_error_set(err, SW_EFORMAT, "%s:%d: %s", file, line, msg);
	err->line = line;
	return SW_EFORMAT;
}

/* A path in the file, relative to the file's directory (malloc'd). */
static char *conf_path(const char *file, const char *p)
{
	const char *slash = strrchr(file, '/');

	if (p[0] == '/' || !slash)
		return sw__strdup(p);
	return sw__asprintf("%.*s/%s", (int)(slash - file), file, p);
}

static int known_keys(const sw_yaml *m, const char *const *keys, const char *file, const char *where, sw_error *err)
{
	const sw_yaml *c;

	for (c = m->child; c; c = c->next) {
		const char *const *k;
		for (k = keys; *k && strcmp(*k, c->key); k++)
			;
		if (!*k)
			return conf_problem(err, file, c->line, "%s: unknown key \"%s\"", where, c->key);
	}
	return 0;
}

static int conf_str(const sw_yaml *m, const char *key, const char *file, char **out, bool path, sw_error *err)
{
	const sw_yaml *v = sw_yaml_get(m, key);

	if (!v)
		return 0;
	if (!sw_yaml_str(v) || !v->slen || memchr(v->s, 0, v->slen))
		return conf_problem(err, file, v->line, "%s must be a non-empty string", key);
	if (!(*out = path ? conf_path(file, v->s) : sw__strdup(v->s)))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	return 0;
}

static int conf_duration(const sw_yaml *m, const char *key, const char *file, double max, double *out, sw_error *err)
{
	const sw_yaml *v = sw_yaml_get(m, key);

	if (v && sw_parse_duration(sw_yaml_str(v), 1, max, out) < 0)
		return conf_problem(err, file, v->line, "%s must be a duration (90, 90s, 5m, 1h; up to %.0f s)", key, max);
	return 0;
}

/* "user:password" from username and password_file (its first line). */
static int conf_creds(upstream *u, const sw_yaml *m, const char *file, sw_error *err)
{
	char *user = NULL, *pwfile = NULL;
	sw_buf b = SW_BUF_INIT(4096);
	int rc;

	if ((rc = conf_str(m, "username", file, &user, false, err)) < 0 ||
	    (rc = conf_str(m, "password_file", file, &pwfile, true, err)) < 0)
		goto out;
	if (!user != !pwfile) {
		rc = conf_problem(err, file, m->line, "upstream %s: username and password_file go together", u->name);
		goto out;
	}
	if (user) {
		const char *pw;
		if (sw_file_read(pwfile, &b) < 0) {
			rc = sw_error_set(err, SW_EIO, "%s: %s", pwfile, strerror(errno));
			goto out;
		}
		pw = sw_buf_cstr(&b);
		if (!(u->creds = sw__asprintf("%s:%.*s", user, (int)strcspn(pw, "\r\n"), pw)))
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
	}
out:
	free(user);
	free(pwfile);
	sw_buf_release(&b);
	return rc;
}

static int conf_upstream(gate *g, const sw_yaml *m, const char *file, sw_error *err)
{
	static const char *const keys[] = { "name", "url", "registry", "ca", "insecure", "username", "password_file",
					    NULL };
	upstream *u = &g->ups[g->nups];
	const sw_yaml *v;
	const char *host;
	sw_ref ref;
	sw_error rerr = SW_ERROR_INIT;
	size_t i;
	int rc;

	if (m->type != SW_YAML_MAP)
		return conf_problem(err, file, m->line, "an upstream is a mapping (name, url, ...)");
	if (g->nups >= MAX_UPSTREAMS)
		return conf_problem(err, file, m->line, "at most %d upstreams", MAX_UPSTREAMS);
	if ((rc = known_keys(m, keys, file, "upstream", err)) < 0 || (rc = conf_str(m, "name", file, &u->name, false, err)) < 0 ||
	    (rc = conf_str(m, "url", file, &u->url, false, err)) < 0 || (rc = conf_str(m, "registry", file, &u->registry, false, err)) < 0 ||
	    (rc = conf_str(m, "ca", file, &u->ca, true, err)) < 0)
		return rc;
	g->nups++;
	if (!u->name || !u->url)
		return conf_problem(err, file, m->line, "an upstream needs a name and a url");
	for (i = 0; u->name[i]; i++)
		if (!((u->name[i] >= 'a' && u->name[i] <= 'z') || (u->name[i] >= '0' && u->name[i] <= '9') || u->name[i] == '-'))
			return conf_problem(err, file, m->line, "upstream name \"%s\": lowercase letters, digits and '-'",
					    u->name);
	for (i = 0; i + 1 < g->nups; i++)
		if (strcmp(g->ups[i].name, u->name) == 0)
			return conf_problem(err, file, m->line, "upstream name \"%s\" given twice", u->name);
	if (strncmp(u->url, "https://", 8) == 0)
		host = u->url + 8;
	else if (strncmp(u->url, "http://", 7) == 0)
		host = u->url + 7, u->insecure = true;
	else
		return conf_problem(err, file, m->line, "upstream %s: url must be https://HOST[:PORT] (or http://)", u->name);
	if (!(u->host = sw__strndup(host, strcspn(host, "/"))))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	if (host[strlen(u->host)] && strcmp(host + strlen(u->host), "/"))
		return conf_problem(err, file, m->line, "upstream %s: url is a registry's root, without a path", u->name);
	if ((v = sw_yaml_get(m, "insecure"))) {
		const char *t = sw_yaml_str(v);
		if (t && strcmp(t, "true") == 0)
			u->insecure = true;
		else if (!t || strcmp(t, "false"))
			return conf_problem(err, file, v->line, "insecure must be true or false");
	}
	if (!u->registry && !(u->registry = sw__strdup(u->host)))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	/* the registry is the name images have there (policies, look-alikes);
	 * the url is where they are fetched: the same host, or a Docker Hub
	 * mirror */
	{
		char probe[600];
		snprintf(probe, sizeof(probe), "%s/x", u->registry);
		if (strchr(u->registry, '/') || sw_ref_parse(probe, &ref, &rerr) < 0 || strcmp(ref.domain, u->registry))
			return conf_problem(err, file, m->line, "upstream %s: registry \"%s\" is not a registry host%s%s",
					    u->name, u->registry, rerr.msg[0] ? ": " : "", rerr.msg);
	}
	if (strcmp(u->registry, u->host) && strcmp(u->registry, "docker.io"))
		return conf_problem(err, file, m->line, "upstream %s: registry %s is served by another host (%s): only "
				    "docker.io may be (a mirror)", u->name, u->registry, u->host);
	if ((rc = conf_creds(u, m, file, err)) < 0)
		return rc;
	u->insecure_list[0] = u->host;
	u->mirrors[0] = u->host;
	u->ro.insecure = u->insecure ? u->insecure_list : NULL;
	u->ro.n_insecure = u->insecure ? 1 : 0;
	u->ro.ca_file = u->ca;
	u->ro.creds = u->creds;
	u->ro.docker_config = "/nonexistent"; /* credentials come from this file only */
	if (strcmp(u->registry, u->host)) {
		u->ro.mirrors = u->mirrors;
		u->ro.n_mirrors = 1;
	}
	u->io = (sw_image_opts)SW_IMAGE_OPTS_INIT;
	u->io.registry = &u->ro;
	return 0;
}

static int read_config(gate *g, const char *file, sw_error *err)
{
	static const char *const top[] = { "listen", "tls", "policy", "storage", "first_pull_wait", "tag_ttl", "allow_ttl",
					   "deny_ttl", "workers", "upstreams", "default_upstream", NULL };
	sw_buf b = SW_BUF_INIT(MAX_CONFIG);
	sw_yaml_doc *doc = NULL;
	const sw_yaml *root, *v, *c;
	int rc;

	if ((rc = sw_file_read(file, &b)) < 0) {
		sw_buf_release(&b);
		return sw_error_set(err, rc == SW_ELIMIT ? SW_ELIMIT : SW_EIO, "%s: %s", file,
				    rc == SW_ELIMIT ? "larger than 1 MiB" : strerror(errno));
	}
	if ((rc = sw_yaml_parse(b.data ? b.data : "", b.len, file, &doc, err)) < 0)
		goto out;
	root = sw_yaml_ndocs(doc) == 1 ? sw_yaml_root(doc, 0) : NULL;
	if (!root || root->type != SW_YAML_MAP) {
		rc = conf_problem(err, file, 1, "the gate's configuration is one mapping (listen, tls, upstreams, ...)");
		goto out;
	}
	if ((rc = known_keys(root, top, file, "gate", err)) < 0 || (rc = conf_str(root, "listen", file, &g->listen, false, err)) < 0 ||
	    (rc = conf_str(root, "policy", file, &g->policy_path, true, err)) < 0 ||
	    (rc = conf_duration(root, "first_pull_wait", file, 3600, &g->first_pull_wait, err)) < 0 ||
	    (rc = conf_duration(root, "tag_ttl", file, 86400, &g->tag_ttl, err)) < 0 ||
	    (rc = conf_duration(root, "allow_ttl", file, 7 * 86400, &g->allow_ttl, err)) < 0 ||
	    (rc = conf_duration(root, "deny_ttl", file, 86400, &g->deny_ttl, err)) < 0)
		goto out;
	if ((v = sw_yaml_get(root, "tls"))) {
		static const char *const k[] = { "cert", "key", NULL };
		if (v->type != SW_YAML_MAP) {
			rc = conf_problem(err, file, v->line, "tls is a mapping: {cert: FILE, key: FILE}");
			goto out;
		}
		if ((rc = known_keys(v, k, file, "tls", err)) < 0 || (rc = conf_str(v, "cert", file, &g->cert, true, err)) < 0 ||
		    (rc = conf_str(v, "key", file, &g->key, true, err)) < 0)
			goto out;
	}
	if (!g->cert || !g->key) {
		rc = conf_problem(err, file, v ? v->line : 1, "the gate serves HTTPS only: tls: {cert: FILE, key: FILE}");
		goto out;
	}
	if ((v = sw_yaml_get(root, "storage"))) {
		static const char *const k[] = { "path", "max_size", NULL };
		const sw_yaml *ms;
		if (v->type != SW_YAML_MAP) {
			rc = conf_problem(err, file, v->line, "storage is a mapping: {path: DIR, max_size: 20G}");
			goto out;
		}
		if ((rc = known_keys(v, k, file, "storage", err)) < 0 || (rc = conf_str(v, "path", file, &g->storage, true, err)) < 0)
			goto out;
		if ((ms = sw_yaml_get(v, "max_size")) && (sw_parse_size(sw_yaml_str(ms), &g->max_size) < 0 || g->max_size < (16u << 20))) {
			rc = conf_problem(err, file, ms->line, "storage.max_size must be a size of 16M or more (20G, 500M)");
			goto out;
		}
	}
	if (!g->storage) {
		rc = conf_problem(err, file, 1, "storage: {path: DIR} is required (where judged images are kept)");
		goto out;
	}
	if ((v = sw_yaml_get(root, "workers"))) {
		char *end = NULL;
		long n = sw_yaml_str(v) ? strtol(v->s, &end, 10) : 0;
		if (!end || *end || n < 1 || n > 64) {
			rc = conf_problem(err, file, v->line, "workers must be a number from 1 to 64");
			goto out;
		}
		g->workers = (unsigned)n;
	}
	v = sw_yaml_get(root, "upstreams");
	if (!v || v->type != SW_YAML_SEQ || !v->n) {
		rc = conf_problem(err, file, v ? v->line : 1, "upstreams: a list of at least one {name, url}");
		goto out;
	}
	for (c = v->child; c; c = c->next)
		if ((rc = conf_upstream(g, c, file, err)) < 0)
			goto out;
	if ((rc = conf_str(root, "default_upstream", file, &g->default_up, false, err)) < 0)
		goto out;
	if (g->default_up && !(g->dflt = find_upstream(g, g->default_up, strlen(g->default_up)))) {
		rc = conf_problem(err, file, sw_yaml_get(root, "default_upstream")->line,
				  "default_upstream \"%s\" names no upstream", g->default_up);
		goto out;
	}
	if (!g->dflt && g->nups == 1)
		g->dflt = &g->ups[0];
out:
	sw_yaml_free(doc);
	sw_buf_release(&b);
	return rc;
}

static void free_config(gate *g)
{
	size_t i;

	for (i = 0; i < g->nups; i++) {
		upstream *u = &g->ups[i];
		free(u->name);
		free(u->url);
		free(u->host);
		free(u->registry);
		free(u->ca);
		free(u->creds);
	}
	free(g->default_up);
	free(g->listen);
	free(g->cert);
	free(g->key);
	free(g->policy_path);
	free(g->storage);
}

/* ---- answers ---- */

static void reg_error(sw_http_req *req, int status, const char *code, const char *msg, const char *const *hdrs)
{
	sw_buf b = SW_BUF_INIT(1u << 16);
	sw_jw w = SW_JW_INIT(&b);

	sw_jw_obj(&w);
	sw_jw_karr(&w, "errors");
	sw_jw_obj(&w);
	sw_jw_kstr(&w, "code", code);
	sw_jw_kstr(&w, "message", msg);
	sw_jw_end(&w);
	sw_jw_end(&w);
	sw_jw_end(&w);
	if (sw_jw_done(&w) == 0)
		sw_http_reply_h(req, status, "application/json", hdrs, b.data, b.len);
	else
		sw_http_reply(req, 500, "text/plain", "out of memory\n", 14);
	sw_buf_release(&b);
}

static void log_pull(const pull *p, const char *decision, const char *source, const char *reason)
{
	sw_buf b = SW_BUF_INIT(1u << 16);
	sw_jw w = SW_JW_INIT(&b);

	sw_jw_obj(&w);
	sw_jw_kint(&w, "time", (long long)time(NULL));
	sw_jw_kstr(&w, "event", "pull");
	sw_jw_kstr(&w, "upstream", p->up->name);
	sw_jw_kstr(&w, "repository", p->repo);
	sw_jw_kstr(&w, "reference", p->ref);
	sw_jw_kstr(&w, "digest", p->digest);
	sw_jw_kstr(&w, "decision", decision);
	sw_jw_kstr(&w, "source", source);
	if (reason)
		sw_jw_kstr(&w, "reason", reason);
	sw_jw_key(&w, "ms");
	sw_jw_real(&w, (sw_now() - p->t0) * 1000.0, 2);
	sw_jw_end(&w);
	if (sw_jw_done(&w) == 0 && sw_buf_putc(&b, '\n') == 0)
		sw_http_logline(b.data, b.len);
	sw_buf_release(&b);
}

static void pull_free(pull *p)
{
	sw_waiter_remove(&p->w);
	if (p->timer_on)
		sw_http_timer_stop(&p->timer);
	sw_pol_unref(p->pol);
	free(p);
}

/* The pull is answered: p goes. */
static void finish(pull *p, int d, const char *source, const char *reason)
{
	gate *g = p->g;

	g->m.pulls[d]++;
	if (d != D_WAIT && !p->by_digest)
		sw_hist_observe(&g->m.wait, sw_now() - p->t0);
	log_pull(p, decision_names[d], source, reason);
	p->req = NULL;
	pull_free(p);
}

/* A file's size, for the bytes served (0 when it is gone). */
static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* The stored manifest, to the client. false when it is not stored. */
static bool serve_manifest(pull *p, const char *source, const char *warning)
{
	gate *g = p->g;
	char path[200], key[600];
	const char *mt, *hdrs[5] = { "Docker-Content-Digest", p->digest, NULL, NULL, NULL };

	snprintf(key, sizeof(key), "%s/%s", p->up->name, p->repo);
	if (!sw_store_manifest(g->store, key, p->digest, path, sizeof(path), &mt))
		return false;
	if (warning) {
		hdrs[2] = "Warning";
		hdrs[3] = warning;
	}
	if (!sw_http_is_head(p->req))
		g->m.bytes_out += file_size(path);
	if (sw_http_reply_file(p->req, mt, hdrs, path) < 0)
		return false;
	finish(p, D_ALLOW, source, warning);
	return true;
}

static void deny(pull *p, const char *why)
{
	char msg[2200];

	snprintf(msg, sizeof(msg), "stowaway denied %s/%s@%s: %s", p->up->registry, p->repo, p->digest, why);
	/* a HEAD's answer has no body: the reason goes in the status line too */
	sw_http_set_reason(p->req, msg);
	reg_error(p->req, 403, "DENIED", msg, NULL);
	finish(p, D_DENY, "decision", why);
}

static void on_gone(void *arg)
{
	pull *p = arg;

	p->req = NULL;
	pull_free(p);
}

static void describe(const gate *g, const pull *p, char *out, size_t n)
{
	const known *k = p->waiting ? p->waiting->val : NULL;
	const job *j = k ? k->j : NULL;

	if (j && atomic_load_explicit(&j->state, memory_order_acquire) == 1)
		snprintf(out, n, "%s (for %.0f s)", j->phase, sw_now() - j->started);
	else
		snprintf(out, n, "waiting for a free worker (%zu queued)", sw_pool_queued(g->pool));
}

/* The first pull waited long enough: 503, Retry-After; the work goes on. */
static void on_wait_timeout(sw_http_timer *t)
{
	pull *p = (pull *)((char *)t - offsetof(pull, timer));
	char what[300], msg[1200];
	const char *hdrs[] = { "Retry-After", "10", NULL };

	p->timer_on = false;
	sw_waiter_remove(&p->w);
	describe(p->g, p, what, sizeof(what));
	snprintf(msg, sizeof(msg), "stowaway is still judging %s/%s%s%s: %s; retry", p->up->registry, p->repo,
		 p->digest[0] ? "@" : ":", p->digest[0] ? p->digest : p->ref, what);
	reg_error(p->req, 503, "UNAVAILABLE", msg, hdrs);
	finish(p, D_WAIT, "decision", what);
}

/* ---- the work, on the workers ---- */

static void job_free(job *j)
{
	sw_pol_unref(j->pol);
	free(j->repo);
	free(j->ref);
	free(j->media_type);
	sw_buf_release(&j->msg);
	free(j);
}

static void set_phase(job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_phase(job *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->phase, sizeof(j->phase), fmt, ap);
	va_end(ap);
	if (!atomic_load_explicit(&j->state, memory_order_relaxed)) {
		j->started = sw_now();
		atomic_store_explicit(&j->state, 1, memory_order_release);
	}
}

static void run_resolve(job *j)
{
	sw_error err = SW_ERROR_INIT;
	sw_reg *reg = NULL;
	char *dg = NULL;

	set_phase(j, "resolving the tag at %s", j->up->name);
	/* HEAD (no pull counted): the manifest itself is fetched once, by
	 * digest, when the image is judged */
	if (sw_reg_open(&reg, j->up->registry, j->repo, &j->up->ro, &err) < 0 ||
	    sw_reg_resolve(reg, j->ref, j->up->io.max_manifest, &dg, &j->media_type, &err) < 0) {
		j->status = err.code == SW_ENOTFOUND ? 404 : 502;
		sw_buf_printf(&j->msg, "%s", err.msg);
	} else {
		snprintf(j->digest, sizeof(j->digest), "%s", dg);
	}
	free(dg);
	sw_reg_free(reg);
}

static bool is_index(const char *mt)
{
	return mt && (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0);
}

/* A decision's denial reasons, with their policy lines, into the message. */
static void reasons(job *j, const sw_check_result *r)
{
	size_t i;

	for (i = 0; i < r->d.nreasons; i++) {
		const sw_reason *rs = &r->d.reasons[i];
		if (rs->kind != SW_REASON_DENY)
			continue;
		if (j->msg.len)
			sw_buf_printf(&j->msg, "; ");
		if (rs->line)
			sw_buf_printf(&j->msg, "%s (policy %s:%d)", rs->text, sw_policy_path(j->pol->p), rs->line);
		else
			sw_buf_printf(&j->msg, "%s", rs->text);
	}
	if (!j->msg.len)
		sw_buf_printf(&j->msg, "denied by the policy");
}

/* An index, stored alone: its platform manifests are judged when asked. */
static void keep_index(job *j, const char *body, size_t len, sw_error *err)
{
	sw_json_doc *doc = NULL;
	const sw_json *ms, *c;
	char path[4200];
	uint8_t dg[SW_SHA256_LEN];
	FILE *f;

	if (sw_json_parse(body, len, &doc, err) < 0 || !(ms = sw_json_get_arr(sw_json_root(doc), "manifests"))) {
		sw_buf_printf(&j->msg, "the index is not valid: %s", err->msg[0] ? err->msg : "no manifests");
		j->allowed = false;
		goto out;
	}
	for (c = ms->child; c; c = c->next) {
		const char *d = sw_json_get_str(c, "digest");
		if (!d || !sw_digest_valid(d))
			continue;
		if (j->nchildren == MAX_CHILDREN) {
			sw_buf_printf(&j->msg, "more than %d manifests in one index", MAX_CHILDREN);
			j->allowed = false;
			goto out;
		}
		snprintf(j->children[j->nchildren++], SW_DIGEST_STRLEN, "%s", d);
	}
	sw_digest_parse(j->digest, dg);
	if (sw_store_staging(j->g->store, j->staging, sizeof(j->staging), err) < 0) {
		sw_buf_printf(&j->msg, "%s", err->msg);
		j->allowed = false;
		goto out;
	}
	j->stage_used = true;
	snprintf(path, sizeof(path), "%s/blobs", j->staging);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/blobs/sha256", j->staging);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", j->staging, j->digest + 7);
	if (!(f = fopen(path, "wxe")) || fwrite(body, 1, len, f) != len || fclose(f) != 0) {
		sw_buf_printf(&j->msg, "storing the index: %s", strerror(errno));
		j->allowed = false;
	}
out:
	sw_json_free(doc);
}

/* One layer's blob on its way into the staging layout. */
typedef struct kept {
	int fd;
	uint64_t n, size;
	sw_sha256 *h;            /* only for a layer fetched apart (the scan verifies its own) */
	bool failed, linked;
	int rc;                  /* fetched apart: how it went */
	sw_error err;
} kept;

typedef struct keeper {
	kept *k;
	size_t n;
	const sw_image *img;
	atomic_size_t next;      /* the next layer to fetch apart */
} keeper;

static int tee_raw(void *ctx, size_t layer, const uint8_t *p, size_t n)
{
	keeper *t = ctx;
	kept *k;

	if (layer >= t->n)
		return -1;
	k = &t->k[layer];
	if (n > k->size - k->n || sw_write_all(k->fd, p, n) < 0) {
		k->failed = true;
		return -1;
	}
	k->n += n;
	return 0;
}

static int fetch_sink(void *ctx, const uint8_t *p, size_t n)
{
	kept *k = ctx;

	if (n > k->size - k->n || sw_write_all(k->fd, p, n) < 0)
		return SW_EIO;
	sw_sha256_update(k->h, p, n);
	k->n += n;
	return 0;
}

static int write_blob(int dfd, const char *digest, const void *p, size_t n)
{
	int fd = openat(dfd, digest + 7, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc = fd < 0 ? SW_EIO : sw_write_all(fd, p, n);

	if (fd >= 0 && close(fd) < 0)
		rc = SW_EIO;
	return rc;
}

/* A layer the layer cache answered (the scan did not read it), fetched
 * apart and its digest checked, on its own thread. */
static void *fetch_one(void *arg)
{
	keeper *t = arg;
	size_t i;

	while ((i = atomic_fetch_add(&t->next, 1)) < t->n) {
		kept *k = &t->k[i];
		uint8_t d[SW_SHA256_LEN];
		char got[SW_DIGEST_STRLEN];
		if (k->linked || k->n || !k->size)
			continue;
		if (!(k->h = sw_sha256_new())) {
			k->rc = sw_error_set(&k->err, SW_ENOMEM, "out of memory");
			continue;
		}
		if ((k->rc = sw_image__stream_layer(t->img, i, fetch_sink, k, &k->err)) < 0)
			continue;
		sw_sha256_final(k->h, d);
		sw_digest_str(d, got);
		if (strcmp(got, t->img->layers[i].digest))
			k->rc = sw_error_set(&k->err, SW_EVERIFY, "layer %zu: the upstream sent %s for %s", i, got,
					     t->img->layers[i].digest);
	}
	return NULL;
}

/* The layers the scan did not read (the layer cache knew them): a link to
 * the store's copy when it has one (verified when stored; a variant of an
 * image shares its base layers), else fetched from the upstream, up to
 * `threads` at once. 0, or the first failure in err. */
static int fetch_apart(job *j, keeper *t, int dfd, unsigned threads, sw_error *err)
{
	pthread_t th[MAX_FETCH_THREADS];
	size_t i, nth = 0, todo = 0;

	for (i = 0; i < t->n; i++) {
		kept *k = &t->k[i];
		const char *dg = t->img->layers[i].digest;
		char name[32];
		struct stat st;
		if (k->n || !k->size)
			continue;
		if (sw_store_link_blob(j->g->store, dg, dfd, dg + 7) == 0) {
			if (fstatat(dfd, dg + 7, &st, AT_SYMLINK_NOFOLLOW) < 0 || (uint64_t)st.st_size != k->size)
				return sw_error_set(err, SW_EVERIFY, "layer %zu: %s is %lld bytes, the manifest says %llu", i,
						    dg, (long long)st.st_size, (unsigned long long)k->size);
			snprintf(name, sizeof(name), ".layer-%zu", i);
			close(k->fd);
			k->fd = -1;
			unlinkat(dfd, name, 0);
			k->linked = true;
			continue;
		}
		todo++;
	}
	atomic_store(&t->next, 0);
	if (threads > MAX_FETCH_THREADS)
		threads = MAX_FETCH_THREADS;
	for (; todo && nth < threads && nth < todo; nth++)
		if (pthread_create(&th[nth], NULL, fetch_one, t) != 0)
			break;
	if (todo && !nth)
		fetch_one(t); /* no thread to be had: on this one */
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < t->n; i++)
		if (t->k[i].rc < 0) {
			*err = t->k[i].err;
			return err->code;
		}
	return 0;
}

/* The scan threads of one judgment: what is left of the budget (`workers`,
 * at most one a core) for all the judgments running, at least one. So a
 * lone judgment scans that many layers at once and several share them: the
 * threads (and the memory each holds: inflate windows, the rules' scratch)
 * stay under twice the budget however many judgments run. Not more than
 * the cores: the scan is CPU-bound on a near upstream, and 4 threads on 2
 * cores made the bench image's judgment 30% longer and cost 10-25% more
 * CPU than 2 (bench/gate.sh, STOWAWAY_BENCH_WORKERS). Given back by the
 * caller. */
static unsigned take_threads(gate *g)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned budget = cores > 0 && (unsigned long)cores < g->workers ? (unsigned)cores : g->workers;
	unsigned used = atomic_load(&g->scan_threads), take;

	do
		take = used < budget ? budget - used : 1;
	while (!atomic_compare_exchange_weak(&g->scan_threads, &used, used + take));
	return take;
}

/* Fetch, verify, keep and scan the image in one pass (its manifest, body,
 * already fetched by its digest through *reg, which the image takes): the
 * layers stream from the upstream through the scan, up to `workers` of
 * them at once, at most one a core (shared by the judgments running:
 * take_threads), and each
 * one's bytes go to the staging layout as the scan reads (and verifies)
 * them; a layer the layer cache answered (not read by the scan) is linked
 * from the store, or else fetched apart and its digest checked
 * (fetch_apart). The scan's verdict goes into r. 0, or an error in
 * err (nothing of the staging layout may be kept then). */
static int fetch_and_scan(job *j, const char *input, sw_reg **reg, const char *body, size_t len,
			  sw_check_result *r, sw_error *err)
{
	sw_scan_opts so = j->g->scan;
	sw_image *img = NULL;
	sw_report *rep = NULL;
	keeper t = { NULL, 0 };
	char dir[4300];
	size_t i, clen;
	const char *cfg;
	unsigned threads = 0;
	int dfd = -1, rc;

	rc = sw_image__open_fetched(&img, input, *reg, j->digest, body, len, &j->up->io, err);
	*reg = NULL; /* the image's now */
	if (rc < 0)
		goto out;
	snprintf(dir, sizeof(dir), "%s/blobs", j->staging);
	mkdir(dir, 0700);
	snprintf(dir, sizeof(dir), "%s/blobs/sha256", j->staging);
	if ((mkdir(dir, 0700) < 0 && errno != EEXIST) ||
	    (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		rc = sw_error_set(err, SW_EIO, "staging: %s", strerror(errno));
		goto out;
	}
	cfg = sw_image_config(img, &clen);
	if (write_blob(dfd, img->manifest_digest, img->manifest, img->manifest_len) < 0 ||
	    write_blob(dfd, img->config_digest, cfg, clen) < 0) {
		rc = sw_error_set(err, SW_EIO, "staging: %s", strerror(errno));
		goto out;
	}
	if (img->nlayers && !(t.k = calloc(img->nlayers, sizeof(*t.k)))) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	t.n = img->nlayers;
	t.img = img;
	for (i = 0; i < t.n; i++) {
		char name[32];
		snprintf(name, sizeof(name), ".layer-%zu", i);
		t.k[i].size = (uint64_t)img->layers[i].size;
		t.k[i].err = (sw_error)SW_ERROR_INIT;
		if ((t.k[i].fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
			rc = sw_error_set(err, SW_EIO, "staging: %s", strerror(errno));
			t.n = i;
			goto out;
		}
	}
	so.progress = NULL;
	if (!so.jobs) /* layers fetched, verified, kept and scanned at once */
		so.jobs = threads = take_threads(j->g);
	so.layer_raw = tee_raw;
	so.layer_raw_ctx = &t;
	if ((rc = sw_scan_image(img, &so, &rep, err)) < 0)
		goto out;
	/* the verdict exists: a denial is said now, without fetching what
	 * the scan did not read (nothing of a denied image is kept) */
	sw_check_add_scan(r, rep, NULL);
	if (!r->d.allowed)
		goto out;
	if ((rc = fetch_apart(j, &t, dfd, so.jobs, err)) < 0)
		goto out;
	for (i = 0; i < t.n; i++) {
		kept *k = &t.k[i];
		char name[32];
		if (k->linked)
			continue;
		if (k->failed || k->n != k->size) {
			rc = sw_error_set(err, SW_EVERIFY, "layer %zu: %llu of %llu bytes kept", i, (unsigned long long)k->n,
					  (unsigned long long)k->size);
			goto out;
		}
		snprintf(name, sizeof(name), ".layer-%zu", i);
		if (close(k->fd) < 0 || renameat(dfd, name, dfd, img->layers[i].digest + 7) < 0) {
			k->fd = -1;
			rc = sw_error_set(err, SW_EIO, "staging: %s", strerror(errno));
			goto out;
		}
		k->fd = -1;
		j->bytes_in += k->n;
	}
out:
	for (i = 0; i < t.n; i++) {
		if (t.k[i].fd >= 0)
			close(t.k[i].fd);
		sw_sha256_free(t.k[i].h);
	}
	free(t.k);
	if (dfd >= 0)
		close(dfd);
	if (threads)
		atomic_fetch_sub(&j->g->scan_threads, threads);
	sw_report_free(rep);
	sw_image_free(img);
	return rc;
}

static void run_judge(job *j)
{
	const upstream *up = j->up;
	sw_check_opts co = SW_CHECK_OPTS_INIT;
	sw_check_result *r = malloc(sizeof(*r));
	sw_error err = SW_ERROR_INIT;
	sw_reg *reg = NULL;
	char *body = NULL, *dg = NULL, input[1200];
	size_t len = 0;

	if (!r) {
		sw_buf_printf(&j->msg, "out of memory");
		return;
	}
	snprintf(j->digest, sizeof(j->digest), "%s", j->ref);
	snprintf(input, sizeof(input), "docker://%s/%s@%s", up->registry, j->repo, j->digest);
	/* a name the policy refuses needs nothing from the upstream */
	set_phase(j, "checking its name");
	if (sw_check_name(j->pol->p, input, r) < 0)
		goto oom;
	if (!r->d.allowed && r->d.enforce) {
		reasons(j, r);
		goto out;
	}
	set_phase(j, "fetching its manifest from %s", up->name);
	if (sw_reg_open(&reg, up->registry, j->repo, &up->ro, &err) < 0 ||
	    sw_reg_manifest(reg, j->digest, up->io.max_manifest, &body, &len, &j->media_type, &dg, &err) < 0) {
		j->status = err.code == SW_ENOTFOUND ? 404 : 502;
		sw_buf_printf(&j->msg, "%s", err.msg);
		goto out;
	}
	j->index = is_index(j->media_type);
	/* the signatures' check asks for this manifest again: from memory */
	sw_reg__memo(j->repo, j->digest, body, len, j->media_type);
	co.image = &up->io;
	co.scan = &j->g->scan;
	co.scan_mode = j->index ? SW_CHECK_SCAN_NEVER : SW_CHECK_SCAN_ALWAYS;
	co.defer_scan = true;
	if (j->child) {
		/* a platform manifest of an index already judged: its signature
		 * was the index's; the name and the scan bound are the same */
		if (!r->d.need_scan) { /* nothing unjudged: scan's own bound */
			r->d.need_scan = true;
			r->d.max_severity = SW_CHECK_DEFAULT_MAX_SEVERITY;
		}
		r->scan_due = true;
	} else {
		set_phase(j, "checking its name, signatures and signed verdicts");
		if (sw_check(j->pol->p, input, &co, r) < 0)
			goto oom;
	}
	sw_reg__memo(NULL, NULL, NULL, 0, NULL);
	if (!r->d.allowed) {
		reasons(j, r);
		goto out;
	}
	if (j->index) {
		j->allowed = true;
		keep_index(j, body, len, &err);
		goto out;
	}
	set_phase(j, "fetching and scanning its layers from %s", up->name);
	if (sw_store_staging(j->g->store, j->staging, sizeof(j->staging), &err) < 0 ||
	    (j->stage_used = true, fetch_and_scan(j, input, &reg, body, len, r, &err)) < 0) {
		sw_buf_printf(&j->msg, "the image could not be fetched whole, so it was not judged: %s", err.msg);
		j->status = 0;
		goto out;
	}
	j->allowed = r->d.allowed;
	if (!j->allowed)
		reasons(j, r);
	goto out;
oom:
	sw_buf_printf(&j->msg, "out of memory while judging");
out:
	sw_reg__memo(NULL, NULL, NULL, 0, NULL);
	free(r);
	free(body);
	free(dg);
	sw_reg_free(reg);
}

static void job_run(sw_pool_job *pj)
{
	job *j = (job *)pj;

	if (j->kind == J_RESOLVE)
		run_resolve(j);
	else
		run_judge(j);
}

/* ---- the table ---- */

static void known_release(known *k)
{
	free(k->media_type);
	free(k->message);
	k->media_type = k->message = NULL;
}

static void free_val(sw_dc_entry *e)
{
	known *k = e->val;

	if (k) {
		if (k->j) /* only at the end, when the pool has stopped */
			job_free(k->j);
		known_release(k);
		free(k);
	}
}

static void wake(void *owner, size_t slot, void *ctx)
{
	pull *p = owner;

	(void)slot;
	p->waiting = NULL;
	advance(p, *(const double *)ctx);
}

static void notify(sw_dc_entry *e)
{
	known *k = e->val;
	double now = sw_now();
	bool held = e->held;

	e->held = true;
	sw_waiters_wake(&k->waiters, &k->notify, wake, &now);
	e->held = held;
}

static void wait_on(pull *p, sw_dc_entry *e)
{
	sw_waiter_add(&p->w, &((known *)e->val)->waiters, p, 0);
	p->waiting = e;
}

static sw_dc_entry *put_known(gate *g, const char *key, int kind, double now)
{
	sw_dc_entry *e = sw_dc_get(g->dc, key, now);
	known *k;

	if (e && e->done) {
		known_release(e->val);
		return e;
	}
	if (e)
		return NULL; /* running: not replaced */
	if (!(k = calloc(1, sizeof(*k))) || !(e = sw_dc_add(g->dc, key, kind, now))) {
		free(k);
		return NULL;
	}
	e->val = k;
	return e;
}

static void repo_key(const job *j, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", j->up->name, j->repo);
}

static void job_done(sw_http_msg *m)
{
	job *j = (job *)((char *)m - offsetof(job, base.done));
	gate *g = j->g;
	sw_dc_entry *e = j->e;
	known *k = e->val;
	double now = sw_now(), ttl;
	sw_error err = SW_ERROR_INIT;
	char key[1200];
	size_t i;

	k->j = NULL;
	snprintf(k->digest, sizeof(k->digest), "%s", j->digest);
	k->media_type = j->media_type;
	j->media_type = NULL;
	k->status = j->status;
	if (j->kind == J_RESOLVE) {
		if (j->msg.len) {
			g->m.upstream_errors++;
			k->message = sw__strdup(sw_buf_cstr(&j->msg));
			ttl = j->status == 404 ? g->deny_ttl : 1.0; /* an outage is looked at again soon */
		} else {
			/* the last digest of the tag, kept long: drift, and outages */
			sw_dc_entry *s;
			snprintf(key, sizeof(key), "s|%s|%s|%s", j->up->name, j->repo, j->ref);
			s = sw_dc_get(g->dc, key, now);
			if (s && s->done && strcmp(((known *)s->val)->digest, j->digest)) {
				char note[1400];
				g->m.tag_drift++;
				snprintf(note, sizeof(note), "%s/%s:%s moved from %s to %s", j->up->registry, j->repo, j->ref,
					 ((known *)s->val)->digest, j->digest);
				sw_http_log("tag-drift", "tag", note);
			}
			if ((s = put_known(g, key, K_STALE, now))) {
				snprintf(((known *)s->val)->digest, SW_DIGEST_STRLEN, "%s", j->digest);
				sw_dc_done(g->dc, s, now, STALE_TTL, 0);
			}
			ttl = g->tag_ttl;
		}
	} else {
		g->m.judged++;
		k->allowed = j->allowed;
		k->index = j->index;
		if (j->msg.len)
			k->message = sw__strdup(sw_buf_cstr(&j->msg));
		if (j->status)
			g->m.upstream_errors++;
		if (j->allowed && j->stage_used) {
			repo_key(j, key, sizeof(key));
			g->m.bytes_in += j->bytes_in;
			if (sw_store_adopt(g->store, key, j->digest, k->media_type ? k->media_type : "", j->staging, &err) < 0) {
				k->allowed = false;
				free(k->message);
				k->message = sw__asprintf("the judged image could not be stored: %s", err.msg);
			}
			j->stage_used = false;
		}
		if (j->stage_used)
			sw_store_discard(g->store, j->staging);
		/* an allowed index vouches for its platform manifests' names
		 * and signatures: each is scanned when asked for */
		for (i = 0; k->allowed && i < j->nchildren; i++) {
			sw_dc_entry *c;
			snprintf(key, sizeof(key), "c|%s|%s|%s|%s", j->pol->hash, j->up->name, j->repo, j->children[i]);
			if ((c = put_known(g, key, K_CHILD, now)))
				sw_dc_done(g->dc, c, now, g->allow_ttl, 0);
		}
		ttl = k->allowed ? g->allow_ttl : j->status ? 1.0 : g->deny_ttl;
	}
	k->bytes = (k->message ? strlen(k->message) : 0) + (k->media_type ? strlen(k->media_type) : 0);
	sw_dc_done(g->dc, e, now, ttl, k->bytes);
	job_free(j);
	notify(e);
}

static int submit(gate *g, sw_dc_entry *e, pull *p, int kind, bool child)
{
	job *j = calloc(1, sizeof(*j));

	if (!j || !(j->repo = sw__strdup(p->repo)) || !(j->ref = sw__strdup(kind == J_RESOLVE ? p->ref : p->digest))) {
		if (j) {
			free(j->repo);
			free(j);
		}
		return SW_ENOMEM;
	}
	j->g = g;
	j->e = e;
	j->pol = sw_pol_ref(p->pol);
	j->kind = kind;
	j->up = p->up;
	j->child = child;
	j->msg = (sw_buf)SW_BUF_INIT(1u << 16);
	j->base.run = job_run;
	j->base.done.fn = job_done;
	if (sw_pool_submit(g->pool, &j->base) < 0) {
		job_free(j);
		return SW_ELIMIT;
	}
	((known *)e->val)->j = j;
	g->m.jobs[kind]++;
	return 0;
}

/* A new entry with its work, or an answer said (NULL). */
static sw_dc_entry *start_work(pull *p, const char *key, int kind, int jkind, bool child, double now)
{
	gate *g = p->g;
	sw_dc_entry *e;
	known *k = calloc(1, sizeof(*k));

	if (!k || !(e = sw_dc_add(g->dc, key, kind, now))) {
		free(k);
		g->m.busy++;
		reg_error(p->req, 503, "UNAVAILABLE", "stowaway is busy (every cache slot is in use): retry", NULL);
		finish(p, D_ERROR, "busy", NULL);
		return NULL;
	}
	e->val = k;
	if (submit(g, e, p, jkind, child) < 0) {
		sw_dc_drop(g->dc, e);
		g->m.busy++;
		reg_error(p->req, 503, "UNAVAILABLE", "stowaway is busy (the work queue is full): retry", NULL);
		finish(p, D_ERROR, "busy", NULL);
		return NULL;
	}
	return e;
}

/* ---- the steps of a manifest pull ---- */

/* The upstream had no such thing (404: MANIFEST_UNKNOWN) or failed: then
 * nothing was judged and nothing is served, a denial (403 DENIED, the
 * reason in the status line too) because clients print a 4xx's message
 * (podman, skopeo: the body; ctr: the status line of its HEAD) and only
 * the status of a 5xx. Said; p is gone. */
static void upstream_error(pull *p, int status, const char *msg)
{
	char what[2400];

	if (status == 404) {
		reg_error(p->req, 404, "MANIFEST_UNKNOWN", msg ? msg : "not found", NULL);
		finish(p, D_ERROR, "upstream", msg);
		return;
	}
	snprintf(what, sizeof(what), "stowaway cannot judge %s/%s%s%s: the upstream failed (%s), and nothing unjudged "
		 "is served", p->up->registry, p->repo, p->digest[0] ? "@" : ":", p->digest[0] ? p->digest : p->ref,
		 msg ? msg : "no answer");
	sw_http_set_reason(p->req, what);
	reg_error(p->req, 403, "DENIED", what, NULL);
	finish(p, D_ERROR, "upstream", msg);
}

/* The steps: true when p waits (for work under way), false when it was
 * answered (p is gone). */
static bool judge_step(pull *p, double now)
{
	gate *g = p->g;
	char key[1200], ck[1200];
	sw_dc_entry *e, *c;
	known *k;

	snprintf(key, sizeof(key), "d|%s|%s|%s|%s", p->pol->hash, p->up->name, p->repo, p->digest);
	e = sw_dc_get(g->dc, key, now);
	if (e && e->done) {
		k = e->val;
		if (!k->allowed) {
			if (k->status)
				upstream_error(p, k->status, k->message);
			else
				deny(p, k->message ? k->message : "denied");
			return false;
		}
		if (p->stale)
			g->m.stale_served++;
		else
			g->m.from_store++;
		if (serve_manifest(p, p->stale ? "stale" : "store", p->stale ?
				   "110 stowaway \"stale: the upstream is unreachable; the image last judged for this tag\"" : NULL))
			return false;
		if (e->held) { /* its waiters are being told: not dropped under them */
			reg_error(p->req, 503, "UNAVAILABLE", "the image left the store as it was judged: retry", NULL);
			finish(p, D_ERROR, "store", NULL);
			return false;
		}
		sw_dc_drop(g->dc, e); /* allowed but evicted from the store: judged again */
		e = NULL;
	}
	if (e) {
		wait_on(p, e);
		return true;
	}
	snprintf(ck, sizeof(ck), "c|%s|%s|%s|%s", p->pol->hash, p->up->name, p->repo, p->digest);
	c = sw_dc_get(g->dc, ck, now);
	if (!(e = start_work(p, key, K_DECISION, J_JUDGE, c && c->done, now)))
		return false;
	wait_on(p, e);
	return true;
}

static bool tag_step(pull *p, double now)
{
	gate *g = p->g;
	char key[1200], sk[1200];
	sw_dc_entry *e, *s;
	known *k;

	snprintf(key, sizeof(key), "t|%s|%s|%s", p->up->name, p->repo, p->ref);
	if (!(e = sw_dc_get(g->dc, key, now))) {
		if (!(e = start_work(p, key, K_TAG, J_RESOLVE, false, now)))
			return false;
		wait_on(p, e);
		return true;
	}
	if (!e->done) {
		wait_on(p, e);
		return true;
	}
	k = e->val;
	if (k->message) {
		/* the upstream did not answer: the image last judged for the
		 * tag, if it is stored and allowed; never anything else */
		snprintf(sk, sizeof(sk), "s|%s|%s|%s", p->up->name, p->repo, p->ref);
		if (k->status != 404 && (s = sw_dc_get(g->dc, sk, now)) && s->done) {
			snprintf(p->digest, sizeof(p->digest), "%s", ((known *)s->val)->digest);
			p->stale = true;
			return judge_step(p, now);
		}
		upstream_error(p, k->status, k->message);
		return false;
	}
	snprintf(p->digest, sizeof(p->digest), "%s", k->digest);
	return judge_step(p, now);
}

static bool advance(pull *p, double now)
{
	return p->digest[0] ? judge_step(p, now) : tag_step(p, now);
}

static bool valid_tag(const char *t)
{
	size_t i, n = strlen(t);

	if (!n || n > 128 || !((t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z') ||
			       (t[0] >= '0' && t[0] <= '9') || t[0] == '_'))
		return false;
	for (i = 1; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= '0' && t[i] <= '9') ||
		      t[i] == '_' || t[i] == '.' || t[i] == '-'))
			return false;
	return true;
}

/* ---- tags lists: names, not content, so passed on (rewritten) ---- */

#define MAX_TAGS_BODY (4u << 20)

typedef struct tags_job {
	sw_pool_job base;
	gate *g;
	sw_http_req *req;           /* NULL once the client went away */
	const upstream *up;
	char repo[300], name[400];  /* name: as the client asked (its prefix kept) */
	unsigned n;
	char last[200];
	char *body;
	size_t len;
	int status;
	char msg[600];
} tags_job;

static void tags_run(sw_pool_job *pj)
{
	tags_job *t = (tags_job *)pj;
	sw_error err = SW_ERROR_INIT;
	sw_reg *reg = NULL;

	if (sw_reg_open(&reg, t->up->registry, t->repo, &t->up->ro, &err) < 0 ||
	    sw_reg_tags(reg, t->n, t->last, MAX_TAGS_BODY, &t->body, &t->len, &err) < 0) {
		t->status = err.code == SW_ENOTFOUND ? 404 : 502;
		snprintf(t->msg, sizeof(t->msg), "%s", err.msg);
	}
	sw_reg_free(reg);
}

static void tags_gone(void *arg)
{
	((tags_job *)arg)->req = NULL;
}

/* The upstream's list, rewritten: the name the client asked for, and only
 * tags that are tags (the one JSON writer escapes what is kept). */
static void tags_done(sw_http_msg *m)
{
	tags_job *t = (tags_job *)((char *)m - offsetof(tags_job, base.done));
	sw_json_doc *doc = NULL;
	sw_error err = SW_ERROR_INIT;
	sw_buf b = SW_BUF_INIT(MAX_TAGS_BODY);
	sw_jw w = SW_JW_INIT(&b);
	const sw_json *tags, *c;
	const char *lastkept = NULL;
	char link[800];
	const char *hdrs[3] = { NULL, NULL, NULL };
	unsigned nkept = 0;
	bool more = false;

	if (!t->req)
		goto out;
	if (t->status) {
		t->g->m.upstream_errors++;
		reg_error(t->req, t->status, t->status == 404 ? "NAME_UNKNOWN" : "UNKNOWN", t->msg, NULL);
		goto out;
	}
	if (sw_json_parse(t->body, t->len, &doc, &err) < 0 || !(tags = sw_json_get_arr(sw_json_root(doc), "tags"))) {
		reg_error(t->req, 502, "UNKNOWN", "the upstream's tags list is not one", NULL);
		goto out;
	}
	sw_jw_obj(&w);
	sw_jw_kstr(&w, "name", t->name);
	sw_jw_karr(&w, "tags");
	/* a page as the distribution spec has it (an upstream may not page) */
	for (c = tags->child; c; c = c->next) {
		if (c->type != SW_JSON_STR || !valid_tag(c->s) || (t->last[0] && strcmp(c->s, t->last) <= 0))
			continue;
		if (nkept == t->n) {
			more = true;
			break;
		}
		sw_jw_str(&w, c->s);
		lastkept = c->s;
		nkept++;
	}
	sw_jw_end(&w);
	sw_jw_end(&w);
	if (more && lastkept) {
		snprintf(link, sizeof(link), "</v2/%s/tags/list?n=%u&last=%s>; rel=\"next\"", t->name, t->n, lastkept);
		hdrs[0] = "Link";
		hdrs[1] = link;
	}
	if (sw_jw_done(&w) == 0)
		sw_http_reply_h(t->req, 200, "application/json", hdrs, b.data, b.len);
	else
		reg_error(t->req, 502, "UNKNOWN", "the upstream's tags list is too large", NULL);
out:
	sw_json_free(doc);
	sw_buf_release(&b);
	free(t->body);
	free(t);
}

/* The value of query parameter key (its first occurrence) into buf; false
 * when absent or longer than buf holds (a value is never cut). */
static bool query_value(sw_http_req *req, const char *key, char *buf, size_t n)
{
	size_t qlen, kl = strlen(key);
	const char *q = sw_http_query(req, &qlen);

	while (qlen) {
		const char *amp = memchr(q, '&', qlen);
		size_t l = amp ? (size_t)(amp - q) : qlen;
		if (l > kl && q[kl] == '=' && memcmp(q, key, kl) == 0) {
			if (l - kl - 1 >= n)
				return false;
			memcpy(buf, q + kl + 1, l - kl - 1);
			buf[l - kl - 1] = 0;
			return true;
		}
		if (!amp)
			break;
		qlen -= l + 1;
		q = amp + 1;
	}
	return false;
}

/* n and last from the query (n at most 10,000, which is also the page
 * when none is asked for). */
static void tags_query(sw_http_req *req, tags_job *t)
{
	char v[200];

	t->n = 10000;
	if (query_value(req, "n", v, 8)) {
		t->n = (unsigned)strtoul(v, NULL, 10);
		if (t->n < 1 || t->n > 10000)
			t->n = 10000;
	}
	if (query_value(req, "last", v, sizeof(v)) && valid_tag(v))
		snprintf(t->last, sizeof(t->last), "%s", v);
}

static void on_tags(gate *g, sw_http_req *req, const upstream *up, const char *repo, const char *name, size_t nlen)
{
	tags_job *t = calloc(1, sizeof(*t));

	if (!t) {
		reg_error(req, 503, "UNAVAILABLE", "out of memory", NULL);
		return;
	}
	t->g = g;
	t->req = req;
	t->up = up;
	snprintf(t->repo, sizeof(t->repo), "%s", repo);
	snprintf(t->name, sizeof(t->name), "%.*s", (int)nlen, name);
	tags_query(req, t);
	t->base.run = tags_run;
	t->base.done.fn = tags_done;
	if (sw_pool_submit(g->pool, &t->base) < 0) {
		free(t);
		g->m.busy++;
		reg_error(req, 503, "UNAVAILABLE", "stowaway is busy (the work queue is full): retry", NULL);
		return;
	}
	sw_http_hold(req, tags_gone, t);
}

/* ---- routes ---- */

static const upstream *find_upstream(const gate *g, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < g->nups; i++)
		if (strlen(g->ups[i].name) == len && memcmp(g->ups[i].name, name, len) == 0)
			return &g->ups[i];
	return NULL;
}

/* The upstream and repository of NAME (the path between /v2/ and
 * /manifests/ or /blobs/): its first component when it names an upstream,
 * else ?ns=, else the default one. */
static const upstream *route(const gate *g, sw_http_req *req, const char *name, size_t len, char *repo, size_t rn)
{
	const char *slash = memchr(name, '/', len);
	const upstream *u = NULL;
	char ns[300];
	size_t i;

	if (slash && (u = find_upstream(g, name, (size_t)(slash - name)))) {
		len -= (size_t)(slash - name) + 1;
		name = slash + 1;
	} else {
		if (query_value(req, "ns", ns, sizeof(ns)))
			for (i = 0; i < g->nups && !u; i++)
				if (strcmp(g->ups[i].registry, ns) == 0)
					u = &g->ups[i];
		if (!u)
			u = g->dflt;
	}
	if (!u || len == 0 || len >= rn)
		return NULL;
	memcpy(repo, name, len);
	repo[len] = 0;
	return u;
}

static bool valid_repo(const upstream *u, const char *repo)
{
	char full[800];
	sw_ref r;
	sw_error err = SW_ERROR_INIT;

	snprintf(full, sizeof(full), "%s/%s", u->registry, repo);
	return sw_ref_parse(full, &r, &err) == 0 && !r.tag[0] && !r.digest[0] &&
	       strcmp(r.path, repo) == 0; /* already as the registry names it */
}


static void on_manifest(gate *g, sw_http_req *req, const upstream *up, const char *repo, const char *ref)
{
	pull *p = calloc(1, sizeof(*p));
	double now = sw_now();

	if (!p) {
		reg_error(req, 503, "UNAVAILABLE", "out of memory", NULL);
		return;
	}
	p->g = g;
	p->req = req;
	p->up = up;
	p->t0 = now;
	p->pol = sw_pol_ref(g->pw.cur);
	snprintf(p->repo, sizeof(p->repo), "%s", repo);
	snprintf(p->ref, sizeof(p->ref), "%s", ref);
	if (sw_digest_valid(ref)) {
		snprintf(p->digest, sizeof(p->digest), "%.71s", ref);
		p->by_digest = true;
	}
	sw_http_hold(req, on_gone, p);
	if (!advance(p, now))
		return; /* answered (p is gone) */
	p->timer.fn = on_wait_timeout;
	if (sw_http_timer_start(g->http, &p->timer, (unsigned)(g->first_pull_wait * 1000.0 + 0.5)) == 0)
		p->timer_on = true;
}

static void on_blob(gate *g, sw_http_req *req, const upstream *up, const char *repo, const char *digest)
{
	char path[200], key[600];
	const char *hdrs[] = { "Docker-Content-Digest", digest, NULL };

	snprintf(key, sizeof(key), "%s/%s", up->name, repo);
	if (sw_store_blob(g->store, key, digest, path, sizeof(path))) {
		uint64_t n = sw_http_is_head(req) ? 0 : file_size(path);
		if (sw_http_reply_file(req, "application/octet-stream", hdrs, path) == 0) {
			g->m.blobs_served++;
			g->m.bytes_out += n;
			return;
		}
	}
	g->m.blobs_refused++;
	reg_error(req, 404, "BLOB_UNKNOWN", "stowaway serves a blob only as part of an image it judged and allowed "
		  "for this repository: pull its manifest first", NULL);
}

static void on_v2(void *ctx, sw_http_req *req)
{
	gate *g = ctx;
	const char *path, *m, *rest, *kind;
	static const char *const api[] = { "Docker-Distribution-Api-Version", "registry/2.0", NULL };
	const upstream *up;
	char tail[300], repo[300];
	size_t len, mlen, i;

	m = sw_http_method(req, &mlen);
	if (!((mlen == 3 && memcmp(m, "GET", 3) == 0) || (mlen == 4 && memcmp(m, "HEAD", 4) == 0))) {
		reg_error(req, 405, "UNSUPPORTED", "the gate is read-only: GET and HEAD", api);
		return;
	}
	path = sw_http_path(req, &len);
	if (len < 4 || memcmp(path, "/v2/", 4)) {
		reg_error(req, 404, "NAME_UNKNOWN", "not a registry path", api);
		return;
	}
	if (len == 4) {
		sw_http_reply_h(req, 200, "application/json", api, "{}", 2);
		return;
	}
	rest = path + 4;
	len -= 4;
	if (len > 10 && memcmp(rest + len - 10, "/tags/list", 10) == 0) {
		if (!(up = route(g, req, rest, len - 10, repo, sizeof(repo))) || !valid_repo(up, repo)) {
			reg_error(req, 404, "NAME_UNKNOWN", "no upstream serves this name (a path prefix names one, or ?ns=)", api);
			return;
		}
		on_tags(g, req, up, repo, rest, len - 10);
		return;
	}
	/* NAME/manifests/REF or NAME/blobs/DIGEST: the last such word wins */
	for (i = len, kind = NULL; i-- > 0;) {
		if (i + 11 <= len && memcmp(rest + i, "/manifests/", 11) == 0) {
			kind = "manifests";
			break;
		}
		if (i + 7 <= len && memcmp(rest + i, "/blobs/", 7) == 0) {
			kind = "blobs";
			break;
		}
	}
	if (!kind) {
		reg_error(req, 404, "UNSUPPORTED", "the gate serves manifests, blobs and tags lists (no catalog)", api);
		return;
	}
	snprintf(tail, sizeof(tail), "%.*s", (int)(len - i - strlen(kind) - 2), rest + i + strlen(kind) + 2);
	if (!(up = route(g, req, rest, i, repo, sizeof(repo))) || !valid_repo(up, repo)) {
		reg_error(req, 404, "NAME_UNKNOWN", "no upstream serves this name (a path prefix names one, or ?ns=)", api);
		return;
	}
	if (kind[0] == 'b') {
		if (!sw_digest_valid(tail)) {
			reg_error(req, 400, "DIGEST_INVALID", "a blob is named by a sha256 digest", api);
			return;
		}
		on_blob(g, req, up, repo, tail);
		return;
	}
	if (!sw_digest_valid(tail) && !valid_tag(tail)) {
		reg_error(req, 400, "MANIFEST_INVALID", "not a tag or a sha256 digest", api);
		return;
	}
	on_manifest(g, req, up, repo, tail);
}

static void on_healthz(void *ctx, sw_http_req *req)
{
	(void)ctx;
	sw_http_reply(req, 200, "application/json", "{\"status\":\"ok\"}", 15);
}

static void on_readyz(void *ctx, sw_http_req *req)
{
	gate *g = ctx;

	sw_serve_readyz(req, g->http, &g->pw, g->policy_path ? g->policy_path : "(built-in policy)");
}

static void on_metrics(void *ctx, sw_http_req *req)
{
	gate *g = ctx;
	const gmetrics *m = &g->m;
	sw_buf b = SW_BUF_INIT(1u << 20);
	char l[64];
	size_t d;

	sw_prom_head(&b, "stowaway_gate_pulls_total", "counter",
		     "manifest pulls answered, by decision (wait: the first-pull wait ran out)");
	for (d = 0; d < 4; d++) {
		snprintf(l, sizeof(l), "decision=\"%s\"", decision_names[d]);
		sw_prom_val(&b, "stowaway_gate_pulls_total", l, (double)m->pulls[d]);
	}
	sw_prom_hist(&b, "stowaway_gate_pull_wait_seconds", "time from a tag pull's arrival to its answer", &m->wait);
	sw_prom_head(&b, "stowaway_gate_upstream_work_total", "counter",
		     "work that reaches an upstream, by kind (resolve a tag; judge: fetch, check, pull, scan)");
	for (d = 0; d < 2; d++) {
		snprintf(l, sizeof(l), "kind=\"%s\"", job_names[d]);
		sw_prom_val(&b, "stowaway_gate_upstream_work_total", l, (double)m->jobs[d]);
	}
	sw_prom_head(&b, "stowaway_gate_manifests_from_store_total", "counter", "manifests served from the store");
	sw_prom_val(&b, "stowaway_gate_manifests_from_store_total", "", (double)m->from_store);
	sw_prom_head(&b, "stowaway_gate_judgments_total", "counter", "images judged (fetched, checked, scanned)");
	sw_prom_val(&b, "stowaway_gate_judgments_total", "", (double)m->judged);
	sw_prom_head(&b, "stowaway_gate_blobs_total", "counter", "blob requests, served or refused");
	sw_prom_val(&b, "stowaway_gate_blobs_total", "result=\"served\"", (double)m->blobs_served);
	sw_prom_val(&b, "stowaway_gate_blobs_total", "result=\"refused\"", (double)m->blobs_refused);
	sw_prom_head(&b, "stowaway_gate_bytes_total", "counter",
		     "bytes pulled from upstreams into the store (in) and served to clients (out)");
	sw_prom_val(&b, "stowaway_gate_bytes_total", "direction=\"in\"", (double)m->bytes_in);
	sw_prom_val(&b, "stowaway_gate_bytes_total", "direction=\"out\"", (double)m->bytes_out);
	sw_prom_head(&b, "stowaway_gate_upstream_errors_total", "counter", "upstream lookups and fetches that failed");
	sw_prom_val(&b, "stowaway_gate_upstream_errors_total", "", (double)m->upstream_errors);
	sw_prom_head(&b, "stowaway_gate_tag_drift_total", "counter", "tags found pointing to a new digest");
	sw_prom_val(&b, "stowaway_gate_tag_drift_total", "", (double)m->tag_drift);
	sw_prom_head(&b, "stowaway_gate_stale_served_total", "counter",
		     "pulls served the image last judged for a tag while the upstream was unreachable");
	sw_prom_val(&b, "stowaway_gate_stale_served_total", "", (double)m->stale_served);
	sw_prom_head(&b, "stowaway_gate_store_bytes", "gauge", "bytes of judged images kept");
	sw_prom_val(&b, "stowaway_gate_store_bytes", "", (double)sw_store_bytes(g->store));
	sw_prom_head(&b, "stowaway_gate_store_images", "gauge", "judged images kept");
	sw_prom_val(&b, "stowaway_gate_store_images", "", (double)sw_store_images(g->store));
	sw_prom_head(&b, "stowaway_gate_store_evictions_total", "counter", "images dropped to stay within max_size");
	sw_prom_val(&b, "stowaway_gate_store_evictions_total", "", (double)sw_store_evicted(g->store));
	sw_prom_head(&b, "stowaway_gate_queue_depth", "gauge", "work waiting for a worker");
	sw_prom_val(&b, "stowaway_gate_queue_depth", "", (double)sw_pool_queued(g->pool));
	sw_prom_head(&b, "stowaway_gate_busy_total", "counter", "pulls refused because a queue or the cache was full");
	sw_prom_val(&b, "stowaway_gate_busy_total", "", (double)m->busy);
	sw_prom_server(&b, "stowaway_gate", &g->pw);
	sw_prom_reply(req, &b);
}

static void on_reload(sw_http_timer *t)
{
	gate *g = (gate *)((char *)t - offsetof(gate, reload));

	g->reload_on = false;
	sw_serve_reload(&g->pw);
	if (!sw_http_stopping(g->http) && sw_http_timer_start(g->http, &g->reload, RELOAD_MS) == 0)
		g->reload_on = true;
}

/* ---- the whole ---- */

int sw_gate_serve(const sw_gate_opts *o, sw_error *err)
{
	sw_http_opts ho = SW_HTTP_OPTS_INIT;
	gate *g;
	int rc;

	if (!o->config)
		return sw_error_set(err, SW_EINVAL, "the gate needs its configuration file (--config FILE)");
	if (!(g = calloc(1, sizeof(*g))))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	g->first_pull_wait = 60;
	g->tag_ttl = 300;
	g->allow_ttl = 86400;
	g->deny_ttl = 60;
	g->workers = 4;
	g->max_size = 20ull << 30;
	if ((rc = read_config(g, o->config, err)) < 0)
		goto out;
	g->scan = (sw_scan_opts)SW_SCAN_OPTS_INIT;
	if (o->scan)
		g->scan = *o->scan;
	g->scan.progress = NULL;
	if ((rc = sw_polwatch_init(&g->pw, g->policy_path, err)) < 0 ||
	    (rc = sw_store_open(&g->store, g->storage, g->max_size, err)) < 0)
		goto out;
	if ((rc = sw_dc_new(&g->dc, 100000, 64u << 20, free_val)) < 0) {
		sw_error_set(err, rc, "out of memory");
		goto out;
	}
	ho.listen = o->listen ? o->listen : g->listen ? g->listen : "0.0.0.0:5443";
	ho.cert = g->cert;
	ho.key = g->key;
	ho.max_body = 0; /* read-only: no request has a body */
	ho.grace_ms = 5000;
	/* a pull fetches blobs at once: over HTTP/1.1 a client opens a
	 * connection for each and reads them in parallel, which h2 (one
	 * connection, its frames read in turn) does not (docs/gate.md) */
	ho.http1_only = true;
	if ((rc = sw_http_new(&g->http, &ho, err)) < 0)
		goto out;
	if ((rc = sw_pool_new(&g->pool, g->http, g->workers, MAX_QUEUED)) < 0) {
		sw_error_set(err, rc, "cannot start the worker threads");
		goto out;
	}
	if ((rc = sw_http_route_prefix(g->http, "/v2/", on_v2, g)) < 0 ||
	    (rc = sw_http_route(g->http, "/healthz", on_healthz, g)) < 0 ||
	    (rc = sw_http_route(g->http, "/readyz", on_readyz, g)) < 0 ||
	    (rc = sw_http_route(g->http, "/metrics", on_metrics, g)) < 0) {
		sw_error_set(err, rc, "too many routes");
		goto out;
	}
	if (g->policy_path) {
		g->reload.fn = on_reload;
		if (sw_http_timer_start(g->http, &g->reload, RELOAD_MS) == 0)
			g->reload_on = true;
	}
	sw_http_log("policy-loaded", "policy", g->policy_path ? g->policy_path : "(built-in policy)");
	rc = sw_http_run(g->http, err);
out:
	if (g->reload_on)
		sw_http_timer_stop(&g->reload);
	if (g->pool && sw_pool_stop(g->pool, 1.0) < 0) {
		sw_http_log("stopped", "note", "work still running was abandoned");
		return rc;
	}
	sw_http_free(g->http);
	sw_dc_free(g->dc);
	sw_store_free(g->store);
	if (g->pw.cur)
		sw_polwatch_release(&g->pw);
	free_config(g);
	free(g);
	return rc;
}
