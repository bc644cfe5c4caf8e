/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI distribution client over libcurl (FORMATS.md §4). One sw_reg is one
 * repository on one registry; requests may run from several threads (each
 * uses its own easy handle; the bearer token is shared under a lock).
 *
 *   - HTTPS with certificate verification; plain HTTP only for hosts named
 *     insecure; extra CA file.
 *   - Auth: a 401 with "Bearer realm=...,service=...,scope=..." fetches a
 *     token (anonymous, or with basic credentials from --creds or the
 *     Docker config.json "auths"), a 401 with "Basic" gets the credentials.
 *   - Redirects followed by hand (at most 5): the Authorization header is
 *     sent only to the host it was meant for, never across hosts (object
 *     stores get presigned URLs).
 *   - Retries with exponential backoff on 429, 5xx and transport errors,
 *     honouring Retry-After (at most 30 s), but never after body bytes have
 *     gone downstream.
 *   - Connect timeout, stall timeout (no byte for N seconds), size limits
 *     enforced while receiving, every manifest and small blob hashed and
 *     checked against its digest and Docker-Content-Digest.
 *   - Docker Hub: docker.io is served by registry-1.docker.io; mirrors are
 *     tried first, in order.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "registry.h"
#include "../util/banned.h"

#define MAX_REDIRECTS 5
#define MAX_ERR_BODY 2048
#define MAX_TOKEN (64u << 10)

static const char ACCEPT[] =
	"Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
	"application/vnd.docker.distribution.manifest.list.v2+json, "
	"application/vnd.docker.distribution.manifest.v2+json";

struct sw_reg {
	char *bases[8];          /* "https://host[:port]": mirrors first, then the registry */
	size_t nbases, base;     /* the one that answered last */
	char *repo;
	char *user, *pass;       /* basic credentials, or NULL */
	char *ca_file;
	double connect_timeout, stall_timeout;
	unsigned retries;
	pthread_mutex_t mu;
	char *token;             /* bearer token, shared */
	char *token_for;         /* the base it was issued for */
	char *host;              /* the registry's host[:port], for the hooks */
	void (*before)(void *, const char *);
	void (*after)(void *, const char *, long, double);
	void *hook_ctx;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/* One pool of connections, DNS answers and TLS sessions for every request
 * of the process, whatever thread makes it: a sweep's HEADs, a scan's
 * layers and a gate's upstream fetches reuse kept-alive connections
 * instead of a TCP and TLS handshake each. */
static CURLSH *share;
static pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ctx)
{
	(void)h;
	(void)access;
	(void)ctx;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ctx)
{
	(void)h;
	(void)ctx;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&share_mu[data]);
}

/* A manifest the calling thread already fetched and verified
 * (sw_reg__memo): content-addressed, so the same bytes whoever asks. */
static _Thread_local struct {
	const char *repo, *digest, *body, *media_type;
	size_t len;
} memo;

static void curl_init(void)
{
	unsigned i;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&share_mu[i], NULL);
	/* without it (out of memory) every request opens its own connection */
	if ((share = curl_share_init())) {
		curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock);
		curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock);
		curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
		curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
		curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	}
}

/* ---- credentials ---- */

static int set_creds(sw_reg *r, const char *userpass)
{
	const char *colon = strchr(userpass, ':');

	if (!colon)
		return -1;
	r->user = sw__strndup(userpass, (size_t)(colon - userpass));
	r->pass = sw__strdup(colon + 1);
	return r->user && r->pass ? 0 : -1;
}

/* Docker's config.json: {"auths": {"host": {"auth": base64("user:pass")}}};
 * Docker Hub's key is "https://index.docker.io/v1/". */
static void creds_from_config(sw_reg *r, const char *domain, const char *path)
{
	sw_buf b = SW_BUF_INIT(1u << 20);
	sw_json_doc *doc = NULL;
	const sw_json *auths = NULL, *e;
	char *fallback = NULL;
	const char *dir = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	bool hub = strcmp(domain, "docker.io") == 0;

	if (!path) {
		if (dir && *dir)
			path = fallback = sw__asprintf("%s/config.json", dir);
		else if (home && *home)
			path = fallback = sw__asprintf("%s/.docker/config.json", home);
	}
	if (!path || sw_file_read(path, &b) < 0 || sw_json_parse(b.data, b.len, &doc, NULL) < 0)
		goto out;
	auths = sw_json_get_obj(sw_json_root(doc), "auths");
	for (e = auths ? auths->child : NULL; e; e = e->next) {
		const char *k = e->key, *auth;
		uint8_t *dec = NULL;
		size_t dl = 0;
		if (strncmp(k, "https://", 8) == 0)
			k += 8;
		else if (strncmp(k, "http://", 7) == 0)
			k += 7;
		if (!(hub ? strncmp(k, "index.docker.io", 15) == 0 || strncmp(k, "docker.io", 9) == 0 ||
				    strncmp(k, "registry-1.docker.io", 20) == 0
			  : strncmp(k, domain, strlen(domain)) == 0 &&
				    (k[strlen(domain)] == '\0' || k[strlen(domain)] == '/')))
			continue;
		if ((auth = sw_json_get_str(e, "auth")) && strlen(auth) < 4096 &&
		    sw_b64_decode(auth, strlen(auth), &dec, &dl) == 0 && dl && !memchr(dec, 0, dl)) {
			dec[dl] = '\0';
			set_creds(r, (const char *)dec);
		}
		if (dec)
			explicit_bzero(dec, dl);
		free(dec);
		break;
	}
out:
	/* the parsed strings and the file's bytes hold credentials */
	for (e = auths ? auths->child : NULL; e; e = e->next) {
		const sw_json *a = sw_json_get(e, "auth");
		if (a && a->type == SW_JSON_STR)
			explicit_bzero((char *)a->s, a->slen);
	}
	sw_json_free(doc);
	sw_buf_release_secret(&b);
	free(fallback);
}

/* ---- one HTTP exchange ---- */

typedef struct xfer {
	sw_reg *r;
	long status;
	/* response headers we use */
	char *content_type, *docker_digest, *location, *www_auth, *retry_after;
	/* body */
	uint64_t max;            /* for buffered bodies */
	sw_buf *body;            /* buffered body (status 200), or NULL when streaming */
	int (*sink)(void *, const uint8_t *, size_t);
	void *sink_ctx;
	int sink_rc;
	uint64_t delivered;
	bool too_big;
	sw_buf errbody;          /* start of a non-200 body, for messages */
	CURL *h;
	/* writes */
	const char *method;      /* NULL = GET */
	const uint8_t *upload;   /* request body */
	size_t upload_len;
	const char *req_type;    /* request Content-Type */
	long want;               /* success status (200 for GET) */
	bool head;               /* HEAD: headers only */
} xfer;

static void xfer_reset(xfer *x)
{
	free(x->content_type);
	free(x->docker_digest);
	free(x->location);
	free(x->www_auth);
	free(x->retry_after);
	x->content_type = x->docker_digest = x->location = x->www_auth = x->retry_after = NULL;
	x->status = 0;
	x->errbody.len = 0;
	x->too_big = false;
	if (x->body)
		x->body->len = 0;
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
	xfer *x = ud;
	size_t len = size * n, k;
	static const struct { const char *name; size_t off; } want[] = {
		{ "content-type", offsetof(xfer, content_type) },
		{ "docker-content-digest", offsetof(xfer, docker_digest) },
		{ "location", offsetof(xfer, location) },
		{ "www-authenticate", offsetof(xfer, www_auth) },
		{ "retry-after", offsetof(xfer, retry_after) },
	};

	if (len > 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* a new response (after 100-continue, or a proxy): forget the last */
		free(x->www_auth);
		x->www_auth = NULL;
		return len;
	}
	for (k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		size_t nl = strlen(want[k].name);
		if (len > nl + 1 && strncasecmp(buf, want[k].name, nl) == 0 && buf[nl] == ':') {
			char **slot = (char **)((char *)x + want[k].off);
			const char *v = buf + nl + 1;
			size_t vl = len - nl - 1;
			while (vl && (*v == ' ' || *v == '\t')) {
				v++;
				vl--;
			}
			while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
				vl--;
			free(*slot);
			*slot = sw__strndup(v, vl > 8192 ? 8192 : vl);
		}
	}
	return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
	xfer *x = ud;
	size_t len = size * n;

	if (!x->status)
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->status != (x->want ? x->want : 200)) {
		if (x->errbody.len < MAX_ERR_BODY)
			sw_buf_append(&x->errbody, buf,
				      len < MAX_ERR_BODY - x->errbody.len ? len : MAX_ERR_BODY - x->errbody.len);
		return len;
	}
	if (x->sink) {
		if ((x->sink_rc = x->sink(x->sink_ctx, (const uint8_t *)buf, len)) < 0)
			return 0; /* abort the transfer */
		x->delivered += len;
		return len;
	}
	if (x->body->len + len > x->max) {
		x->too_big = true;
		return 0;
	}
	if (sw_buf_append(x->body, buf, len) < 0)
		return 0;
	return len;
}

static bool same_host(const char *a, const char *b)
{
	/* scheme://host[:port]/... : compare through the authority */
	const char *pa = strstr(a, "://"), *pb = strstr(b, "://");
	size_t la, lb;

	if (!pa || !pb)
		return false;
	pa += 3;
	pb += 3;
	la = strcspn(pa, "/?#");
	lb = strcspn(pb, "/?#");
	return la == lb && strncasecmp(pa, pb, la) == 0 && (size_t)(pa - a) == (size_t)(pb - b) &&
	       strncasecmp(a, b, (size_t)(pa - a)) == 0;
}

/* Resolve a Location against the URL it answered. */
static char *resolve(const char *base, const char *loc)
{
	const char *p;

	if (strstr(loc, "://"))
		return sw__strdup(loc);
	p = strstr(base, "://");
	if (!p)
		return NULL;
	p += 3;
	if (loc[0] == '/')
		return sw__asprintf("%.*s%s", (int)(p - base + strcspn(p, "/?#")), base, loc);
	return NULL; /* relative paths without '/': registries do not send them */
}

static void sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The end of the quoted string that starts at q (its closing quote), or
 * NULL when it is not closed. */
static const char *quoted_end(const char *q)
{
	for (q++; *q && *q != '"'; q++)
		if (*q == '\\' && q[1])
			q++;
	return *q ? q : NULL;
}

/* RFC 7235 auth-params: name BWS "=" BWS (token / quoted-string), names in
 * any case, separated by commas (and the scheme, a token without '=').
 * Quoted strings are skipped whole wherever they are, so a name inside a
 * value is never read as a parameter; their escapes are undone. The first
 * parameter of that name counts. */
char *sw_reg__challenge_param(const char *ch, const char *key)
{
	size_t kl = strlen(key);
	const char *p = ch;

	for (;;) {
		const char *name, *v, *e;
		size_t nl;
		bool hit;

		p += strspn(p, " \t,");
		if (!*p)
			return NULL;
		if (*p == '"') {            /* a stray quoted string */
			if (!(e = quoted_end(p)))
				return NULL;
			p = e + 1;
			continue;
		}
		name = p;
		nl = strcspn(p, " \t,=\"");
		p += nl + strspn(p + nl, " \t");
		if (*p != '=')              /* the scheme, a token68, a stray word (nl > 0) */
			continue;
		p += 1 + strspn(p + 1, " \t");
		hit = nl == kl && strncasecmp(name, key, kl) == 0;
		if (*p != '"') {
			v = p;
			p += strcspn(p, " \t,");
			if (hit)
				return sw__strndup(v, (size_t)(p - v));
			continue;
		}
		if (!(e = quoted_end(p)))
			return NULL;
		if (hit) {
			char *out = malloc((size_t)(e - p)), *o = out;
			if (!out)
				return NULL;
			for (v = p + 1; v < e; v++)
				*o++ = *v == '\\' ? *++v : *v;
			*o = '\0';
			return out;
		}
		p = e + 1;
	}
}

static CURL *easy(sw_reg *r, xfer *x)
{
	CURL *h = curl_easy_init();

	if (!h)
		return NULL;
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (share)
		curl_easy_setopt(h, CURLOPT_SHARE, share);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(r->connect_timeout * 1000));
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)(r->stall_timeout < 1 ? 1 : r->stall_timeout));
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (r->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, r->ca_file);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "stowaway/" SW_VERSION);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL);
	return h;
}

static bool transient(CURLcode cc)
{
	/* not CURLE_OPERATION_TIMEDOUT: a server that went silent for the
	 * whole stall timeout has had its chance */
	return cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR || cc == CURLE_PARTIAL_FILE ||
	       cc == CURLE_GOT_NOTHING || cc == CURLE_HTTP2 || cc == CURLE_HTTP2_STREAM;
}

/* Fetch a bearer token for this challenge. */
static int fetch_token(sw_reg *r, const char *challenge, sw_error *err)
{
	char *realm = sw_reg__challenge_param(challenge, "realm"),
	     *service = sw_reg__challenge_param(challenge, "service"),
	     *scope = sw_reg__challenge_param(challenge, "scope"), *url = NULL, *es = NULL, *esc = NULL;
	sw_buf body = SW_BUF_INIT(MAX_TOKEN);
	xfer x;
	CURL *h = NULL;
	CURLcode cc;
	sw_json_doc *doc = NULL;
	const char *tok;
	int rc = 0;

	memset(&x, 0, sizeof(x));
	x.r = r;
	x.body = &body;
	x.max = MAX_TOKEN;
	(void)sw_buf_reserve(&body, MAX_TOKEN - 1); /* one allocation: no copy left behind by realloc */
	x.errbody = (sw_buf)SW_BUF_INIT(MAX_ERR_BODY);
	if (!realm || (strncmp(realm, "https://", 8) != 0 && strncmp(realm, "http://", 7) != 0)) {
		rc = sw_error_set(err, SW_EFORMAT, "%s: bearer challenge without a usable realm", sw_reg_base(r));
		goto out;
	}
	if (!(h = easy(r, &x))) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	x.h = h;
	es = service ? curl_easy_escape(h, service, 0) : NULL;
	if (!scope)
		scope = sw__asprintf("repository:%s:pull", r->repo);
	esc = scope ? curl_easy_escape(h, scope, 0) : NULL;
	url = sw__asprintf("%s%sservice=%s&scope=%s", realm, strchr(realm, '?') ? "&" : "?", es ? es : "",
			   esc ? esc : "");
	if (!url) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (r->user && strncmp(realm, "http://", 7) == 0 && strncmp(sw_reg_base(r), "http://", 7) != 0) {
		/* a TLS registry naming a plain-HTTP token service: the password
		 * would cross the network in clear */
		rc = sw_error_set(err, SW_EVERIFY, "%s: refusing to send credentials to the plain-HTTP token realm %s",
				  sw_reg_base(r), realm);
		goto out;
	}
	if (r->user) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, r->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, r->pass);
	}
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x.status);
	if (cc != CURLE_OK) {
		rc = sw_error_set(err, SW_EIO, "token server %s: %s", realm, curl_easy_strerror(cc));
		goto out;
	}
	if (x.status == 401 || x.status == 403) {
		rc = sw_error_set(err, SW_EVERIFY, "token server %s refused the %s (HTTP %ld)", realm,
				  r->user ? "credentials" : "anonymous request", x.status);
		goto out;
	}
	if (x.status != 200 || sw_json_parse(body.data, body.len, &doc, NULL) < 0 ||
	    (!(tok = sw_json_get_str(sw_json_root(doc), "token")) &&
	     !(tok = sw_json_get_str(sw_json_root(doc), "access_token")))) {
		rc = sw_error_set(err, SW_EFORMAT, "token server %s: no token in the answer (HTTP %ld)", realm,
				  x.status);
		goto out;
	}
	pthread_mutex_lock(&r->mu);
	sw_free_secret(r->token);
	free(r->token_for);
	r->token = sw__strdup(tok);
	r->token_for = sw__strdup(r->bases[r->base]);
	pthread_mutex_unlock(&r->mu);
	explicit_bzero((char *)tok, strlen(tok)); /* the parsed copy */
out:
	if (es)
		curl_free(es);
	if (esc)
		curl_free(esc);
	if (h)
		curl_easy_cleanup(h);
	sw_json_free(doc);
	sw_buf_release_secret(&body);
	sw_buf_release(&x.errbody);
	xfer_reset(&x);
	free(realm);
	free(service);
	free(scope);
	free(url);
	return rc;
}

/* GET base/v2/<repo>/<what>: auth, redirects, retries. For a buffered body
 * pass body+max; for streaming, sink. On success x->status is 200. */
static int get(sw_reg *r, const char *what, const char *accept, xfer *x, sw_error *err)
{
	unsigned attempt = 0, auth_tries = 0, redirects = 0;
	char *url = NULL;
	int rc = 0;

	for (;;) {
		struct curl_slist *hdr = NULL;
		char *authz = NULL;
		CURLcode cc;
		double wait = 0;
		const char *base = r->bases[r->base];

		if (!url && !(url = strstr(what, "://") ? sw__strdup(what) : sw__asprintf("%s/v2/%s/%s", base, r->repo, what)))
			return sw_error_set(err, SW_ENOMEM, "out of memory");
		xfer_reset(x);
		if (!(x->h = easy(r, x))) {
			free(url);
			return sw_error_set(err, SW_ENOMEM, "out of memory");
		}
		curl_easy_setopt(x->h, CURLOPT_URL, url);
		if (accept)
			hdr = curl_slist_append(hdr, accept);
		if (x->method) {
			char ct[200];
			curl_easy_setopt(x->h, CURLOPT_CUSTOMREQUEST, x->method);
			curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, x->upload ? (const char *)x->upload : "");
			curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->upload_len);
			snprintf(ct, sizeof(ct), "Content-Type: %s", x->req_type ? x->req_type : "application/octet-stream");
			hdr = curl_slist_append(hdr, ct);
		}
		/* credentials only for the registry's own host */
		if (same_host(url, base)) {
			pthread_mutex_lock(&r->mu);
			if (r->token && r->token_for && strcmp(r->token_for, base) == 0)
				authz = sw__asprintf("Authorization: Bearer %s", r->token);
			pthread_mutex_unlock(&r->mu);
			if (authz)
				hdr = curl_slist_append(hdr, authz);
			else if (r->user && auth_tries) {
				curl_easy_setopt(x->h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
				curl_easy_setopt(x->h, CURLOPT_USERNAME, r->user);
				curl_easy_setopt(x->h, CURLOPT_PASSWORD, r->pass);
			}
		}
		curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, hdr);
		if (x->head)
			curl_easy_setopt(x->h, CURLOPT_NOBODY, 1L);
		if (r->before)
			r->before(r->hook_ctx, r->host);
		cc = curl_easy_perform(x->h);
		if (!x->status)
			curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
		if (r->after)
			r->after(r->hook_ctx, r->host, cc == CURLE_OK ? x->status : 0,
				 x->retry_after && isdigit((unsigned char)x->retry_after[0]) ?
				 strtod(x->retry_after, NULL) : 0);
		curl_easy_cleanup(x->h);
		x->h = NULL;
		curl_slist_free_all(hdr);
		sw_free_secret(authz);
		if (x->sink_rc < 0) {
			rc = x->sink_rc;
			break;
		}
		if (x->too_big) {
			rc = sw_error_set(err, SW_ELIMIT, "%s: larger than the %llu-byte limit", url,
					  (unsigned long long)x->max);
			break;
		}
		if (cc == CURLE_OK && x->status == (x->want ? x->want : 200))
			break;
		if (cc == CURLE_OK && x->status == 401 && x->www_auth && auth_tries < 2) {
			auth_tries++;
			if (strncasecmp(x->www_auth, "Bearer", 6) == 0) {
				if ((rc = fetch_token(r, x->www_auth, err)) < 0)
					break;
				continue;
			}
			if (strncasecmp(x->www_auth, "Basic", 5) == 0 && r->user)
				continue;
		}
		if (cc == CURLE_OK && !x->method && x->status >= 300 && x->status < 400 && x->status != 304 &&
		    x->location) {
			char *next = resolve(url, x->location);
			if (!next || ++redirects > MAX_REDIRECTS ||
			    (strncmp(next, "https://", 8) != 0 && strncmp(next, "http://", 7) != 0)) {
				free(next);
				rc = sw_error_set(err, SW_EFORMAT, "%s: too many or unusable redirects", url);
				break;
			}
			free(url);
			url = next;
			continue;
		}
		/* transient? (a host that does not resolve or refuses the
		 * connection is not going to change its mind in a second) */
		if (((cc != CURLE_OK && transient(cc)) || (cc == CURLE_OK && (x->status == 429 || x->status >= 500))) &&
		    !x->delivered && attempt < r->retries) {
			wait = 0.5 * (double)(1u << (attempt < 6 ? attempt : 6)); /* 30 s caps it anyway */
			if (x->retry_after && isdigit((unsigned char)x->retry_after[0]))
				wait = strtod(x->retry_after, NULL);
			if (wait > 30)
				wait = 30;
			attempt++;
			sleep_s(wait);
			continue;
		}
		/* a mirror that fails gives way to the next base */
		if (r->base + 1 < r->nbases && !x->delivered) {
			r->base++;
			free(url);
			url = NULL;
			attempt = auth_tries = redirects = 0;
			continue;
		}
		if (cc == CURLE_SSL_CONNECT_ERROR && strncmp(url, "https://", 8) == 0)
			/* the usual cause: a registry that speaks plain HTTP */
			rc = sw_error_set(err, SW_EIO, "%s: %s (if %.*s serves plain HTTP, name it with "
					  "--insecure-registry %.*s)", url, curl_easy_strerror(cc),
					  (int)strcspn(url + 8, "/"), url + 8, (int)strcspn(url + 8, "/"), url + 8);
		else if (cc != CURLE_OK)
			rc = sw_error_set(err, cc == CURLE_OPERATION_TIMEDOUT ? SW_ETIMEOUT : SW_EIO, "%s: %s", url,
					  cc == CURLE_OPERATION_TIMEDOUT ? "timed out (no data)" : curl_easy_strerror(cc));
		else if (x->status == 404)
			rc = sw_error_set(err, SW_ENOTFOUND, "%s: not found (HTTP 404)", url);
		else if (x->status == 401 || x->status == 403)
			rc = sw_error_set(err, SW_EVERIFY, "%s: access denied (HTTP %ld)%s", url, x->status,
					  r->user ? "" : "; give credentials with --creds or docker login");
		else
			rc = sw_error_set(err, SW_EIO, "%s: HTTP %ld %.200s", url, x->status,
					  sw_buf_cstr(&x->errbody));
		break;
	}
	free(url);
	return rc;
}

/* ---- public ---- */

const char *sw_reg_base(const sw_reg *r)
{
	return r->bases[r->base];
}

static bool in_list(const char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

int sw_reg_open(sw_reg **out, const char *domain, const char *repo, const sw_registry_opts *o,
		sw_error *err)
{
	static const sw_registry_opts defaults = { 0 };
	sw_reg *r;
	const char *host = strcmp(domain, "docker.io") == 0 ? "registry-1.docker.io" : domain;
	size_t i;

	*out = NULL;
	if (!o)
		o = &defaults;
	pthread_once(&curl_once, curl_init);
	if (!(r = calloc(1, sizeof(*r))))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	pthread_mutex_init(&r->mu, NULL);
	r->connect_timeout = o->connect_timeout > 0 ? o->connect_timeout : 15;
	r->stall_timeout = o->stall_timeout > 0 ? o->stall_timeout : 30;
	r->retries = o->retries ? o->retries : 4;
	r->repo = sw__strdup(repo);
	r->host = sw__strdup(domain);
	r->before = o->before_request;
	r->after = o->after_request;
	r->hook_ctx = o->request_ctx;
	r->ca_file = o->ca_file ? sw__strdup(o->ca_file) : NULL;
	if (strcmp(domain, "docker.io") == 0)
		for (i = 0; i < o->n_mirrors && r->nbases < 7; i++)
			r->bases[r->nbases++] = sw__asprintf("%s://%s", in_list(o->insecure, o->n_insecure, o->mirrors[i]) ?
							     "http" : "https", o->mirrors[i]);
	r->bases[r->nbases++] = sw__asprintf("%s://%s", in_list(o->insecure, o->n_insecure, domain) ||
							       in_list(o->insecure, o->n_insecure, host) ? "http" : "https",
					     host);
	for (i = 0; i < r->nbases; i++)
		if (!r->bases[i]) {
			sw_reg_free(r);
			return sw_error_set(err, SW_ENOMEM, "out of memory");
		}
	if (o->creds) {
		if (set_creds(r, o->creds) < 0) {
			sw_reg_free(r);
			return sw_error_set(err, SW_EINVAL, "--creds must be USER:PASSWORD");
		}
	} else {
		creds_from_config(r, domain, o->docker_config);
	}
	if (!r->repo || !r->host) {
		sw_reg_free(r);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	*out = r;
	return 0;
}

void sw_reg_free(sw_reg *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nbases; i++)
		free(r->bases[i]);
	free(r->repo);
	free(r->host);
	free(r->user);
	sw_free_secret(r->pass);
	free(r->ca_file);
	sw_free_secret(r->token);
	free(r->token_for);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* GET what into b (at most max bytes); x is set up here and reset by the
 * caller (xfer_done). */
static int get_into(sw_reg *r, const char *what, const char *accept, sw_buf *b, uint64_t max, xfer *x, sw_error *err)
{
	memset(x, 0, sizeof(*x));
	x->r = r;
	x->body = b;
	x->max = max;
	x->errbody = (sw_buf)SW_BUF_INIT(MAX_ERR_BODY);
	return get(r, what, accept, x, err);
}

static void xfer_done(xfer *x, sw_buf *b)
{
	sw_buf_release(b);
	sw_buf_release(&x->errbody);
	xfer_reset(x);
}

void sw_reg__memo(const char *repo, const char *digest, const char *body, size_t len, const char *media_type)
{
	memo.repo = repo;
	memo.digest = digest;
	memo.body = body;
	memo.len = len;
	memo.media_type = media_type;
}

/* The memo's manifest, when it is the one asked for: 1 (copied out), 0
 * (not it), SW_ENOMEM. */
static int from_memo(const sw_reg *r, const char *tag_or_digest, uint64_t max, char **body, size_t *len,
		     char **media_type, char **digest)
{
	if (!memo.digest || strcmp(memo.digest, tag_or_digest) || strcmp(memo.repo, r->repo) || memo.len > max)
		return 0;
	*body = malloc(memo.len + 1);
	*media_type = sw__strdup(memo.media_type ? memo.media_type : "");
	*digest = sw__strdup(memo.digest);
	if (!*body || !*media_type || !*digest) {
		free(*body);
		free(*media_type);
		free(*digest);
		*body = *media_type = *digest = NULL;
		return SW_ENOMEM;
	}
	memcpy(*body, memo.body, memo.len);
	(*body)[memo.len] = 0;
	*len = memo.len;
	return 1;
}

int sw_reg_manifest(sw_reg *r, const char *tag_or_digest, uint64_t max, char **body, size_t *len,
		    char **media_type, char **digest, sw_error *err)
{
	sw_buf b = SW_BUF_INIT(max + 1);
	xfer x;
	char *what, dstr[SW_DIGEST_STRLEN];
	uint8_t d[SW_SHA256_LEN], want[SW_SHA256_LEN];
	int rc;

	*body = *media_type = *digest = NULL;
	if ((rc = from_memo(r, tag_or_digest, max, body, len, media_type, digest)) != 0)
		return rc < 0 ? sw_error_set(err, rc, "out of memory") : 0;
	if (!(what = sw__asprintf("manifests/%s", tag_or_digest)))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	rc = get_into(r, what, ACCEPT, &b, max, &x, err);
	free(what);
	if (rc == 0) {
		sw_sha256_buf(b.data ? b.data : "", b.len, d);
		sw_digest_str(d, dstr);
		if (x.docker_digest && sw_digest_valid(x.docker_digest) && strcmp(x.docker_digest, dstr) != 0)
			rc = sw_error_set(err, SW_EVERIFY,
					  "%s: manifest %s hashes to %s but the registry says Docker-Content-Digest %.80s",
					  sw_reg_base(r), tag_or_digest, dstr, x.docker_digest);
		else if (strncmp(tag_or_digest, "sha256:", 7) == 0 &&
			 (sw_digest_parse(tag_or_digest, want) < 0 || memcmp(want, d, sizeof(d)) != 0))
			rc = sw_error_set(err, SW_EVERIFY, "%s: manifest %s: content hashes to %s", sw_reg_base(r),
					  tag_or_digest, dstr);
	}
	if (rc == 0) {
		*len = b.len;
		*media_type = sw__strdup(x.content_type ? x.content_type : "");
		*digest = sw__strdup(dstr);
		*body = sw_buf_detach(&b, NULL);
		if (!*media_type || !*digest || !*body) {
			free(*media_type);
			free(*digest);
			free(*body);
			*body = *media_type = *digest = NULL;
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		}
	}
	xfer_done(&x, &b);
	return rc;
}

int sw_reg_referrers(sw_reg *r, const char *digest, uint64_t max, char **body, size_t *len, sw_error *err)
{
	sw_buf b = SW_BUF_INIT(max + 1);
	xfer x;
	char *what = sw_digest_valid(digest) ? sw__asprintf("referrers/%s", digest) : NULL;
	int rc;

	*body = NULL;
	*len = 0;
	if (!what)
		return sw_error_set(err, SW_EINVAL, "referrers of \"%.80s\": not a digest", digest);
	rc = get_into(r, what, "Accept: application/vnd.oci.image.index.v1+json", &b, max, &x, err);
	free(what);
	if (rc == 0) {
		*len = b.len;
		if (!(*body = sw_buf_detach(&b, NULL)))
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	xfer_done(&x, &b);
	return rc;
}

int sw_reg_blob(sw_reg *r, const char *digest, int64_t size, uint64_t max, char **out, size_t *len,
		sw_error *err)
{
	sw_buf b = SW_BUF_INIT(max + 1);
	xfer x;
	char *what, dstr[SW_DIGEST_STRLEN];
	uint8_t d[SW_SHA256_LEN], want[SW_SHA256_LEN];
	int rc;

	*out = NULL;
	if (sw_digest_parse(digest, want) < 0)
		return sw_error_set(err, SW_EFORMAT, "invalid digest \"%.100s\"", digest);
	if (size >= 0 && (uint64_t)size > max)
		return sw_error_set(err, SW_ELIMIT, "blob %s declares %lld bytes, over the %llu-byte limit", digest,
				    (long long)size, (unsigned long long)max);
	if (!(what = sw__asprintf("blobs/%s", digest)))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	rc = get_into(r, what, NULL, &b, max, &x, err);
	free(what);
	if (rc == 0 && size >= 0 && b.len != (size_t)size)
		rc = sw_error_set(err, SW_EVERIFY, "blob %s: %zu bytes, descriptor says %lld", digest, b.len,
				  (long long)size);
	if (rc == 0) {
		sw_sha256_buf(b.data ? b.data : "", b.len, d);
		if (memcmp(d, want, sizeof(d)) != 0) {
			sw_digest_str(d, dstr);
			rc = sw_error_set(err, SW_EVERIFY, "blob %s: content hashes to %s", digest, dstr);
		}
	}
	if (rc == 0) {
		*len = b.len;
		if (!(*out = sw_buf_detach(&b, NULL)))
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	xfer_done(&x, &b);
	return rc;
}

/* GET a JSON listing (what: malloc'd, taken) into *body, at most max bytes. */
static int get_listing(sw_reg *r, char *what, uint64_t max, char **body, size_t *len, sw_error *err)
{
	sw_buf b = SW_BUF_INIT(max + 1);
	xfer x;
	int rc;

	*body = NULL;
	if (!what)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	rc = get_into(r, what, "application/json", &b, max, &x, err);
	free(what);
	if (rc == 0) {
		*len = b.len;
		if (!(*body = sw_buf_detach(&b, NULL)))
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	xfer_done(&x, &b);
	return rc;
}

int sw_reg_tags(sw_reg *r, unsigned n, const char *last, uint64_t max, char **body, size_t *len, sw_error *err)
{
	return get_listing(r, last && last[0] ? sw__asprintf("tags/list?n=%u&last=%s", n, last) :
			   sw__asprintf("tags/list?n=%u", n), max, body, len, err);
}

int sw_reg_catalog(sw_reg *r, unsigned n, const char *last, uint64_t max, char **body, size_t *len, sw_error *err)
{
	/* the catalog is the registry's, not a repository's: an absolute URL */
	return get_listing(r, last && last[0] ? sw__asprintf("%s/v2/_catalog?n=%u&last=%s", sw_reg_base(r), n, last) :
			   sw__asprintf("%s/v2/_catalog?n=%u", sw_reg_base(r), n), max, body, len, err);
}

int sw_reg_get_url(sw_reg *r, const char *url, uint64_t max, char **body, size_t *len, sw_error *err)
{
	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
		return sw_error_set(err, SW_EINVAL, "%.200s: not an http(s) URL", url);
	return get_listing(r, sw__strdup(url), max, body, len, err);
}

int sw_reg_resolve(sw_reg *r, const char *ref, uint64_t max, char **digest, char **media_type, sw_error *err)
{
	sw_buf b = SW_BUF_INIT(1);
	xfer x;
	char *what = sw__asprintf("manifests/%s", ref), *body = NULL;
	size_t len;
	int rc;

	*digest = *media_type = NULL;
	if (!what)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	memset(&x, 0, sizeof(x));
	x.r = r;
	x.body = &b;
	x.max = 0;
	x.head = true;
	x.errbody = (sw_buf)SW_BUF_INIT(MAX_ERR_BODY);
	rc = get(r, what, ACCEPT, &x, err);
	free(what);
	if (rc == 0 && x.docker_digest && sw_digest_valid(x.docker_digest)) {
		*digest = sw__strdup(x.docker_digest);
		*media_type = sw__strdup(x.content_type ? x.content_type : "");
		if (!*digest || !*media_type) {
			free(*digest);
			free(*media_type);
			*digest = *media_type = NULL;
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		}
		xfer_done(&x, &b);
		return rc;
	}
	xfer_done(&x, &b);
	if (rc < 0 && rc != SW_EVERIFY && rc != SW_EIO && rc != SW_ETIMEOUT)
		return rc;   /* not found, too large...: a GET would say the same */
	/* no usable digest in the answer (or a registry that refuses HEAD):
	 * the manifest itself, hashed */
	if (err)
		err->msg[0] = '\0';
	rc = sw_reg_manifest(r, ref, max, &body, &len, media_type, digest, err);
	free(body);
	return rc;
}

int sw_reg_stream(sw_reg *r, const char *digest, int (*sink)(void *ctx, const uint8_t *p, size_t n),
		  void *ctx, sw_error *err)
{
	xfer x;
	char *what = sw__asprintf("blobs/%s", digest);
	int rc;

	if (!what)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	memset(&x, 0, sizeof(x));
	x.r = r;
	x.sink = sink;
	x.sink_ctx = ctx;
	x.errbody = (sw_buf)SW_BUF_INIT(MAX_ERR_BODY);
	rc = get(r, what, NULL, &x, err);
	free(what);
	sw_buf_release(&x.errbody);
	xfer_reset(&x);
	return rc;
}

/* ---- writes (signatures) ---- */

static int request(sw_reg *r, const char *method, const char *what, const char *ctype, const void *body, size_t len,
		   long want, char **location, sw_error *err)
{
	xfer x;
	sw_buf sink = SW_BUF_INIT(1u << 16);
	int rc;

	memset(&x, 0, sizeof(x));
	x.r = r;
	x.body = &sink;
	x.max = 1u << 16;
	x.errbody = (sw_buf)SW_BUF_INIT(MAX_ERR_BODY);
	x.method = method;
	x.upload = body;
	x.upload_len = len;
	x.req_type = ctype;
	x.want = want;
	rc = get(r, what, NULL, &x, err);
	if (rc == 0 && location)
		*location = x.location ? sw__strdup(x.location) : NULL;
	sw_buf_release(&sink);
	sw_buf_release(&x.errbody);
	xfer_reset(&x);
	return rc;
}

int sw_reg_put_blob(sw_reg *r, const void *data, size_t len, char digest[SW_DIGEST_STRLEN], sw_error *err)
{
	uint8_t d[SW_SHA256_LEN];
	char *loc = NULL, *abs = NULL, *url = NULL;
	int rc;

	sw_sha256_buf(data, len, d);
	sw_digest_str(d, digest);
	/* already there? a HEAD would do; a small GET costs the same here */
	if ((rc = request(r, "POST", "blobs/uploads/", NULL, "", 0, 202, &loc, err)) < 0)
		return rc;
	if (!loc)
		return sw_error_set(err, SW_EFORMAT, "%s: upload started without a Location", sw_reg_base(r));
	abs = loc[0] == '/' ? sw__asprintf("%s%s", sw_reg_base(r), loc) : sw__strdup(loc);
	if (!abs || !(url = sw__asprintf("%s%sdigest=%s", abs, strchr(abs, '?') ? "&" : "?", digest)))
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
	else if (!same_host(url, sw_reg_base(r)))
		rc = sw_error_set(err, SW_EFORMAT, "%s: upload Location points to another host", sw_reg_base(r));
	else
		rc = request(r, "PUT", url, "application/octet-stream", data, len, 201, NULL, err);
	free(loc);
	free(abs);
	free(url);
	return rc;
}

int sw_reg_put_manifest(sw_reg *r, const char *tag, const char *media_type, const void *body, size_t len,
			sw_error *err)
{
	char *what = sw__asprintf("manifests/%s", tag);
	int rc;

	if (!what)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	rc = request(r, "PUT", what, media_type, body, len, 201, NULL, err);
	free(what);
	return rc;
}
