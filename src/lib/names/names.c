/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Look-alike image names. A reference is judged against three bundled lists
 * (data/names/): the Docker Hub official images, known publisher namespaces
 * with their distinctive repositories, and registry hosts.
 *
 *   impersonation  a known name where its owner does not publish: an
 *                  official image name under a personal namespace
 *                  (someuser/openjdk), a namespace dressed as the official
 *                  one (library-nginx, libary, official, golang-official),
 *                  a publisher's distinctive repository elsewhere, a host
 *                  that begins with a registry's name (docker.io.example.com);
 *   typosquat      a name, namespace or host close to a known one but not
 *                  it: one or two edits with adjacent transpositions
 *                  (ngnix, ubunut, postgress), digit/letter look-alikes
 *                  (mysq1, 0penjdk, rn for m), or a known name with a
 *                  decoration word glued on (node-js, nginx-official);
 *   ok             everything else, with a note on what is known.
 *
 * Exact matches always win: a name that is itself known is never called a
 * look-alike of another known name (mongo and mono are both official;
 * bitnami/postgresql is bitnami's). Distance allowed grows with length: none
 * for names of 3 characters or fewer (only look-alike letters), 1 up to 7,
 * 2 from 8.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stowaway/names.h"
#include "../util/util.h"
#include "../util/banned.h"

extern const char sw_bundled_names_official[];
extern const char sw_bundled_names_publishers[];
extern const char sw_bundled_names_registries[];

#define MAX_WORDS 8192
#define NAME_MAX_LEN 256

typedef struct pub {
	const char *host;   /* "docker.io", "quay.io"... */
	const char *ns;
	const char *ns_sk;  /* its skeleton (see skeleton()) */
	const char **repos;
	const char **repos_sk;
	size_t nrepos;
} pub;

static struct {
	char *text;                 /* owned copies of the lists, tokenised in place */
	const char **official;
	const char **official_sk;   /* the skeletons, made once (the names check runs on a server's loop) */
	size_t nofficial;
	pub *pubs;
	size_t npubs;
	const char **hosts;         /* ".suffix" entries are domain suffixes */
	size_t nhosts;
	int rc;
} D;

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void skeleton(const char *s, char *out, size_t n, bool drop_sep);
static const char *skel_dup(const char *s);

/* Split a list into lines of whitespace-separated words; '#' comments. Calls
 * fn(words, n) per non-empty line. Modifies text in place. */
static int each_line(char *text, int (*fn)(char **w, size_t n))
{
	char *line = text, *next;
	int rc = 0;

	for (; line && *line && rc == 0; line = next) {
		char *w[64], *p, *hash;
		size_t n = 0;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if ((hash = strchr(line, '#')))
			*hash = '\0';
		for (p = strtok_r(line, " \t\r", &hash); p && n < 64; p = strtok_r(NULL, " \t\r", &hash))
			w[n++] = p;
		if (n)
			rc = fn(w, n);
	}
	return rc;
}

static int add_official(char **w, size_t n)
{
	(void)n;
	if (D.nofficial >= MAX_WORDS || !(D.official_sk[D.nofficial] = skel_dup(w[0])))
		return -1;
	D.official[D.nofficial++] = w[0];
	return 0;
}

static int add_host(char **w, size_t n)
{
	(void)n;
	if (D.nhosts >= MAX_WORDS)
		return -1;
	D.hosts[D.nhosts++] = w[0];
	return 0;
}

static int add_pub(char **w, size_t n)
{
	pub *p;
	char *slash;
	size_t i;

	if (D.npubs >= MAX_WORDS)
		return -1;
	p = &D.pubs[D.npubs];
	slash = strrchr(w[0], '/');
	if (slash) {
		*slash = '\0';
		p->host = w[0];
		p->ns = slash + 1;
	} else {
		p->host = "docker.io";
		p->ns = w[0];
	}
	p->nrepos = n - 1;
	if (!(p->ns_sk = skel_dup(p->ns)) ||
	    (n > 1 && (!(p->repos = calloc(n - 1, sizeof(*p->repos))) ||
		       !(p->repos_sk = calloc(n - 1, sizeof(*p->repos_sk))))))
		return -1;
	for (i = 1; i < n; i++) {
		p->repos[i - 1] = w[i];
		if (!(p->repos_sk[i - 1] = skel_dup(w[i])))
			return -1;
	}
	D.npubs++;
	return 0;
}

static char *dup_list(const char *s)
{
	return sw__strdup(s);
}

static void load(void)
{
	char *a = dup_list(sw_bundled_names_official), *b = dup_list(sw_bundled_names_publishers),
	     *c = dup_list(sw_bundled_names_registries);

	D.official = calloc(MAX_WORDS, sizeof(*D.official));
	D.official_sk = calloc(MAX_WORDS, sizeof(*D.official_sk));
	D.hosts = calloc(MAX_WORDS, sizeof(*D.hosts));
	D.pubs = calloc(MAX_WORDS, sizeof(*D.pubs));
	if (!a || !b || !c || !D.official || !D.official_sk || !D.hosts || !D.pubs || each_line(a, add_official) < 0 ||
	    each_line(b, add_pub) < 0 || each_line(c, add_host) < 0)
		D.rc = SW_ENOMEM;
	/* the strings stay referenced for the life of the process */
}

/* ---- distances ---- */

size_t sw_names_distance(const char *a, const char *b, size_t max)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t rows[3][NAME_MAX_LEN + 1];
	size_t *pp, *p, *c;

	if (la > NAME_MAX_LEN || lb > NAME_MAX_LEN)
		return max + 1;
	if ((la > lb ? la - lb : lb - la) > max)
		return max + 1;
	pp = rows[0], p = rows[1], c = rows[2];
	for (j = 0; j <= lb; j++)
		p[j] = j;
	for (i = 1; i <= la; i++) {
		size_t best = c[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1], v = p[j - 1] + cost;
			if (p[j] + 1 < v)
				v = p[j] + 1;
			if (c[j - 1] + 1 < v)
				v = c[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			c[j] = v;
			if (v < best)
				best = v;
		}
		if (best > max)
			return max + 1;
		{
			size_t *t = pp;
			pp = p;
			p = c;
			c = t;
		}
	}
	return p[lb];
}

/* Letters people and fonts confuse, folded together; separators dropped
 * when drop_sep. "0penjdk" -> "openjdk", "mysq1" -> "mysql" -> "mysql",
 * "bitnarni" -> "bitnami". */
static void skeleton(const char *s, char *out, size_t n, bool drop_sep)
{
	size_t o = 0;

	for (; *s && o + 1 < n; s++) {
		char ch = (char)tolower((unsigned char)*s);
		if (drop_sep && (ch == '-' || ch == '_' || ch == '.'))
			continue;
		if (ch == 'r' && s[1] == 'n') {
			ch = 'm';
			s++;
		} else if (ch == 'v' && s[1] == 'v') {
			ch = 'w';
			s++;
		}
		switch (ch) {
		case '0': ch = 'o'; break;
		case '1': case 'i': case '|': ch = 'l'; break;
		case '3': ch = 'e'; break;
		case '4': ch = 'a'; break;
		case '5': ch = 's'; break;
		case '7': ch = 't'; break;
		case '8': ch = 'b'; break;
		default: break;
		}
		out[o++] = ch;
	}
	out[o] = '\0';
}

/* A known word's skeleton, kept for the life of the process. */
static const char *skel_dup(const char *s)
{
	char sk[NAME_MAX_LEN + 1];

	skeleton(s, sk, sizeof(sk), true);
	return sw__strdup(sk);
}

static size_t allowed(size_t len)
{
	return len <= 3 ? 0 : len <= 7 ? 1 : 2;
}

/* Words glued to a known name to make a look-alike ("node-js",
 * "nginx-official", "officialnginx"). */
static const char *const decorations[] = {
	"official", "offical", "oficial", "officail", "docker", "dockerhub", "hub", "library",
	"libary", "image", "img", "js", "org", "inc", "latest",
};

/* w is a skeleton: compare with the words' skeletons */
static bool is_decoration(const char *w, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(decorations) / sizeof(decorations[0]); i++) {
		char d[32];
		skeleton(decorations[i], d, sizeof(d), true);
		if (strlen(d) == n && memcmp(w, d, n) == 0)
			return true;
	}
	return false;
}

typedef enum { NOT_CLOSE, CLOSE_TYPO, CLOSE_DECORATED } closeness;

/* Is `name` a look-alike of `known` (and not known itself)? sn and sk are
 * their skeletons. */
static closeness close_to(const char *name, const char *sn, const char *known, const char *sk, bool decorated)
{
	size_t lk = strlen(known), ln = strlen(name), ls, lks, max = allowed(ln > lk ? ln : lk);

	if (strcmp(name, known) == 0)
		return NOT_CLOSE;
	if (!sk[0])
		return NOT_CLOSE;
	if (strcmp(sn, sk) == 0 || sw_names_distance(name, known, max) <= max ||
	    sw_names_distance(sn, sk, max) <= max)
		return CLOSE_TYPO;
	ls = strlen(sn);
	lks = strlen(sk);
	if (decorated && lk >= 3 && ls > lks) {
		if (memcmp(sn, sk, lks) == 0 && is_decoration(sn + lks, ls - lks))
			return CLOSE_DECORATED;
		if (memcmp(sn + ls - lks, sk, lks) == 0 && is_decoration(sn, ls - lks))
			return CLOSE_DECORATED;
	}
	return NOT_CLOSE;
}

/* ---- lookups ---- */

static bool is_official(const char *name)
{
	size_t i;

	for (i = 0; i < D.nofficial; i++)
		if (strcmp(D.official[i], name) == 0)
			return true;
	return false;
}

static const pub *find_pub(const char *host, const char *ns)
{
	size_t i;

	for (i = 0; i < D.npubs; i++)
		if (strcmp(D.pubs[i].host, host) == 0 && strcmp(D.pubs[i].ns, ns) == 0)
			return &D.pubs[i];
	return NULL;
}

/* The closest official name `name` looks like, or NULL. */
static const char *official_lookalike(const char *name, bool decorated, closeness *how)
{
	char sn[NAME_MAX_LEN + 1];
	size_t i;

	if (is_official(name))
		return NULL;
	skeleton(name, sn, sizeof(sn), true);
	for (i = 0; i < D.nofficial; i++)
		if ((*how = close_to(name, sn, D.official[i], D.official_sk[i], decorated)) != NOT_CLOSE)
			return D.official[i];
	return NULL;
}

static const pub *pub_ns_lookalike(const char *host, const char *ns)
{
	char sn[NAME_MAX_LEN + 1];
	size_t i;

	if (find_pub(host, ns))
		return NULL;
	skeleton(ns, sn, sizeof(sn), true);
	for (i = 0; i < D.npubs; i++)
		if (strcmp(D.pubs[i].host, host) == 0 && strlen(D.pubs[i].ns) >= 4 &&
		    close_to(ns, sn, D.pubs[i].ns, D.pubs[i].ns_sk, true) != NOT_CLOSE)
			return &D.pubs[i];
	return NULL;
}

/* A distinctive publisher repository equal to (exact) or close to repo. */
static const pub *pub_repo(const char *repo, bool exact, const char **which)
{
	char sn[NAME_MAX_LEN + 1];
	size_t i, k;

	skeleton(repo, sn, sizeof(sn), true);
	for (i = 0; i < D.npubs; i++)
		for (k = 0; k < D.pubs[i].nrepos; k++) {
			const char *r = D.pubs[i].repos[k];
			if (exact ? strcmp(repo, r) == 0
				  : (strlen(r) >= 5 && close_to(repo, sn, r, D.pubs[i].repos_sk[k], false) == CLOSE_TYPO)) {
				*which = r;
				return &D.pubs[i];
			}
		}
	return NULL;
}

static bool any_pub_repo(const char *repo)
{
	const char *w;

	return pub_repo(repo, true, &w) != NULL;
}

/* A namespace that presents itself as Docker's own official images. */
static bool mimics_library(const char *ns)
{
	static const char *const marks[] = { "library", "libary", "librar", "official", "offical",
					     "oficial", "officail" };
	char s[NAME_MAX_LEN + 1];
	size_t i;

	skeleton(ns, s, sizeof(s), true);
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		char m[32];
		skeleton(marks[i], m, sizeof(m), true);
		if (strstr(s, m))
			return true;
	}
	return sw_names_distance(s, "llbrary", 2) <= 2 || strcmp(s, "dockerhub") == 0;
}

static bool hub_host(const char *h)
{
	return strcmp(h, "docker.io") == 0 || strcmp(h, "registry-1.docker.io") == 0 ||
	       strcmp(h, "registry.hub.docker.com") == 0;
}

/* ---- verdicts ---- */

static void set(sw_name_result *r, sw_name_verdict v, const char *resembles, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void set(sw_name_result *r, sw_name_verdict v, const char *resembles, const char *fmt, ...)
{
	va_list ap;

	r->verdict = v;
	snprintf(r->resembles, sizeof(r->resembles), "%s", resembles ? resembles : "");
	va_start(ap, fmt);
	vsnprintf(v == SW_NAME_OK ? r->note : r->reason, v == SW_NAME_OK ? sizeof(r->note) : sizeof(r->reason),
		  fmt, ap);
	va_end(ap);
}

/* "<name> is <how> \"<known>\"" */
static const char *how_str(closeness c)
{
	return c == CLOSE_DECORATED ? "the name, with a word glued on, of" : "a typo or look-alike letters away from";
}

static void check_hub(sw_name_result *r)
{
	char ns[256], res[320];
	const char *repo, *slash = strchr(r->ref.path, '/'), *w;
	const pub *p;
	closeness how = NOT_CLOSE;

	snprintf(ns, sizeof(ns), "%.*s", (int)(slash ? slash - r->ref.path : 0), r->ref.path);
	repo = strrchr(r->ref.path, '/') + 1;
	if (strcmp(ns, "library") == 0 && !strchr(slash + 1, '/')) {
		if (is_official(repo)) {
			set(r, SW_NAME_OK, NULL, "Docker Hub official image");
			return;
		}
		if ((w = official_lookalike(repo, true, &how))) {
			snprintf(res, sizeof(res), "docker.io/library/%s", w);
			set(r, SW_NAME_TYPOSQUAT, res,
			    "\"%s\" is not an official image; it is %s the official image \"%s\"", repo,
			    how_str(how), w);
			return;
		}
		set(r, SW_NAME_OK, NULL,
		    "not a Docker Hub official image: library/ holds only official images, so this name does not resolve there");
		return;
	}
	if (strcmp(ns, "library") == 0) {
		set(r, SW_NAME_OK, NULL, "not a Docker Hub official image (those have one name under library/)");
		return;
	}
	if ((p = find_pub("docker.io", ns))) {
		set(r, SW_NAME_OK, NULL, "published by %s, a known publisher", ns);
		return;
	}
	if (mimics_library(ns)) {
		snprintf(res, sizeof(res), "docker.io/library/%s", repo);
		set(r, SW_NAME_IMPERSONATION, res,
		    "the namespace \"%s\" dresses up as Docker's official images, which live only under library/ "
		    "(pull \"%s\" for the real one)", ns, repo);
		return;
	}
	if ((p = pub_ns_lookalike("docker.io", ns))) {
		snprintf(res, sizeof(res), "docker.io/%s/%s", p->ns, repo);
		set(r, SW_NAME_TYPOSQUAT, res, "the namespace \"%s\" is a look-alike of the publisher \"%s\"", ns,
		    p->ns);
		return;
	}
	if (is_official(ns) || official_lookalike(ns, true, &how)) {
		const char *o = is_official(ns) ? ns : official_lookalike(ns, true, &how);
		snprintf(res, sizeof(res), "docker.io/library/%s", o);
		set(r, SW_NAME_IMPERSONATION, res,
		    "the namespace \"%s\" presents itself as the official image \"%s\", which is published only as "
		    "docker.io/library/%s", ns, o, o);
		return;
	}
	if (is_official(repo)) {
		snprintf(res, sizeof(res), "docker.io/library/%s", repo);
		set(r, SW_NAME_IMPERSONATION, res,
		    "\"%s\" is a Docker Hub official image, published only as docker.io/library/%s; \"%s\" is not "
		    "its publisher", repo, repo, ns);
		return;
	}
	if ((p = pub_repo(repo, true, &w))) {
		snprintf(res, sizeof(res), "%s/%s/%s", p->host, p->ns, w);
		set(r, SW_NAME_IMPERSONATION, res,
		    "\"%s\" is %s's image (%s); \"%s\" is not its publisher", repo, p->ns, res, ns);
		return;
	}
	if (!any_pub_repo(repo) && (w = official_lookalike(repo, true, &how))) {
		snprintf(res, sizeof(res), "docker.io/library/%s", w);
		set(r, SW_NAME_TYPOSQUAT, res, "\"%s\" is %s the official image \"%s\"", repo, how_str(how), w);
		return;
	}
	if (!any_pub_repo(repo) && (p = pub_repo(repo, false, &w))) {
		snprintf(res, sizeof(res), "%s/%s/%s", p->host, p->ns, w);
		set(r, SW_NAME_TYPOSQUAT, res, "\"%s\" is a typo or look-alike away from %s", repo, res);
		return;
	}
	set(r, SW_NAME_OK, NULL, "Docker Hub namespace \"%s\" (not in the known-publisher list)", ns);
}

/* The known host a host looks like, and how. */
static const char *host_lookalike(const char *host, bool *prefix)
{
	size_t i, hl = strlen(host);

	for (i = 0; i < D.nhosts; i++) {
		const char *k = D.hosts[i];
		size_t kl = strlen(k);
		if (k[0] == '.')
			continue;
		if (hl > kl && strncmp(host, k, kl) == 0 && (host[kl] == '.' || host[kl] == '-')) {
			*prefix = true;
			return k;
		}
	}
	for (i = 0; i < D.nhosts; i++) {
		const char *k = D.hosts[i];
		char sh[NAME_MAX_LEN + 1], sk[NAME_MAX_LEN + 1];
		size_t max = allowed(strlen(k));
		if (k[0] == '.')
			continue;
		skeleton(host, sh, sizeof(sh), false);
		skeleton(k, sk, sizeof(sk), false);
		if (strcmp(sh, sk) == 0 || sw_names_distance(host, k, max) <= max) {
			*prefix = false;
			return k;
		}
	}
	return NULL;
}

static bool known_host(const char *host)
{
	size_t i, hl = strlen(host);

	for (i = 0; i < D.nhosts; i++) {
		const char *k = D.hosts[i];
		size_t kl = strlen(k);
		if (k[0] == '.' ? (hl > kl && strcmp(host + hl - kl, k) == 0) : strcmp(host, k) == 0)
			return true;
	}
	return false;
}

static bool local_host(const char *h)
{
	size_t i;
	bool digits_dots = true;

	if (strcmp(h, "localhost") == 0 || h[0] == '[')
		return true;
	for (i = 0; h[i]; i++)
		digits_dots &= isdigit((unsigned char)h[i]) || h[i] == '.';
	return digits_dots;
}

static void check_other(sw_name_result *r, const char *host)
{
	char ns[256], res[320];
	const char *slash = strchr(r->ref.path, '/'), *w;
	const pub *p;
	bool prefix = false;
	closeness how;

	if (local_host(host)) {
		set(r, SW_NAME_OK, NULL, "local or private registry");
		return;
	}
	if (!known_host(host)) {
		if ((w = host_lookalike(host, &prefix))) {
			if (prefix)
				set(r, SW_NAME_IMPERSONATION, w,
				    "the host \"%s\" begins with the registry name \"%s\" but is a different host", host, w);
			else
				set(r, SW_NAME_TYPOSQUAT, w, "the host \"%s\" is a typo or look-alike of the registry \"%s\"",
				    host, w);
			return;
		}
		set(r, SW_NAME_OK, NULL, "registry \"%s\" is not in the known list (private or new)", host);
		return;
	}
	if (!slash) {
		set(r, SW_NAME_OK, NULL, "known registry %s", host);
		return;
	}
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - r->ref.path), r->ref.path);
	/* Amazon's mirror of the official images */
	if (strcmp(host, "public.ecr.aws") == 0 && strncmp(r->ref.path, "docker/library/", 15) == 0 &&
	    !strchr(r->ref.path + 15, '/')) {
		const char *repo = r->ref.path + 15;
		if (!is_official(repo) && (w = official_lookalike(repo, true, &how))) {
			snprintf(res, sizeof(res), "public.ecr.aws/docker/library/%s", w);
			set(r, SW_NAME_TYPOSQUAT, res, "\"%s\" is %s the official image \"%s\"", repo,
			    how_str(how), w);
			return;
		}
		set(r, SW_NAME_OK, NULL, "Amazon ECR Public mirror of the Docker official images");
		return;
	}
	if (find_pub(host, ns)) {
		set(r, SW_NAME_OK, NULL, "published by %s on %s, a known publisher", ns, host);
		return;
	}
	if ((p = pub_ns_lookalike(host, ns))) {
		snprintf(res, sizeof(res), "%s/%s", host, p->ns);
		set(r, SW_NAME_TYPOSQUAT, res, "the namespace \"%s\" on %s is a look-alike of \"%s\"", ns, host, p->ns);
		return;
	}
	set(r, SW_NAME_OK, NULL, "known registry %s; namespace \"%s\" is not in the known-publisher list", host,
	    ns);
}

int sw_names_check(const char *s, sw_name_result *r, sw_error *err)
{
	char host[256];
	char *colon;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = sw_ref_parse(s, &r->ref, err)) < 0)
		return rc;
	pthread_once(&once, load);
	if (D.rc)
		return sw_error_set(err, D.rc, "out of memory loading the name lists");
	snprintf(host, sizeof(host), "%s", r->ref.domain);
	if (host[0] != '[' && (colon = strchr(host, ':')))
		*colon = '\0';
	for (colon = host; *colon; colon++)
		*colon = (char)tolower((unsigned char)*colon);
	if (hub_host(host) && strchr(r->ref.path, '/'))
		check_hub(r);
	else
		check_other(r, host);
	return 0;
}

const char *sw_name_verdict_str(sw_name_verdict v)
{
	return v == SW_NAME_TYPOSQUAT ? "typosquat" : v == SW_NAME_IMPERSONATION ? "impersonation" : "ok";
}

/* ---- output ---- */

int sw_names_write(FILE *f, const char *const *inputs, const sw_name_result *rs, size_t n, bool json)
{
	sw_buf b = SW_BUF_INIT((size_t)1 << 30);
	size_t i;
	int rc = 0;

	if (json) {
		sw_jw w = SW_JW_INIT(&b);
		sw_jw_obj(&w);
		sw_jw_kstr(&w, "schema", "stowaway.names/v1");
		sw_jw_karr(&w, "results");
		for (i = 0; i < n; i++) {
			char full[1024], fam[1024];
			const sw_name_result *r = &rs[i];
			sw_ref_format(&r->ref, SW_REF_DEFAULT, full, sizeof(full));
			sw_ref_format(&r->ref, SW_REF_FAMILIAR, fam, sizeof(fam));
			sw_jw_obj(&w);
			sw_jw_kstr(&w, "input", inputs[i]);
			sw_jw_kstr(&w, "reference", full);
			sw_jw_kstr(&w, "familiar", fam);
			sw_jw_kstr(&w, "verdict", sw_name_verdict_str(r->verdict));
			sw_jw_kstr(&w, "resembles", r->resembles[0] ? r->resembles : NULL);
			sw_jw_kstr(&w, "reason", r->verdict == SW_NAME_OK ? r->note : r->reason);
			sw_jw_end(&w);
		}
		sw_jw_end(&w);
		sw_jw_end(&w);
		if (sw_jw_done(&w) == 0)
			sw_buf_putc(&b, '\n');
	} else {
		/* for a person: the names pass the escaper like any text that
		 * came from outside (a parsed reference holds no control, but
		 * the table does not rely on it) */
		for (i = 0; i < n; i++) {
			const sw_name_result *r = &rs[i];
			const char *why = r->verdict == SW_NAME_OK ? r->note : r->reason;
			char fam[1024];
			size_t at = b.len;
			sw_ref_format(&r->ref, SW_REF_FAMILIAR, fam, sizeof(fam));
			(void)sw_buf_term(&b, fam, strlen(fam), SIZE_MAX, NULL);
			while (b.len - at < 40)
				sw_buf_putc(&b, ' ');
			sw_buf_printf(&b, " %-13s ", sw_name_verdict_str(r->verdict));
			(void)sw_buf_term(&b, why, strlen(why), SIZE_MAX, NULL);
			if (r->resembles[0]) {
				sw_buf_printf(&b, "; resembles ");
				(void)sw_buf_term(&b, r->resembles, strlen(r->resembles), SIZE_MAX, NULL);
			}
			sw_buf_putc(&b, '\n');
		}
	}
	if (sw_buf_err(&b))
		rc = sw_buf_err(&b);
	else if (b.len && fwrite(b.data, 1, b.len, f) != b.len)
		rc = SW_EIO;
	sw_buf_release(&b);
	return rc;
}
