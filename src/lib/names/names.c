/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Look-alike image names. A reference is judged against three bundled lists
 * (data/names/): the Docker Hub official images (with the names people
 * expect for some of them: mongodb for mongo), known publisher namespaces
 * with the repositories they publish, and registry hosts.
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
 * for names of 3 characters or fewer (4 under a namespace, where short names
 * are mostly ordinary words: wiki, bind), only look-alike letters; 1 up to 7;
 * 2 from 8.
 *
 * Across namespaces, closeness has to be earned, because most names that
 * resemble a known one are somebody else's ordinary name:
 *   - a namespace two edits from a publisher's (kubernetes, kubernetesui)
 *     counts only when the repository is one that publisher publishes; one
 *     edit or look-alike letters (bitnarni) count on their own;
 *   - a repository close to a publisher's counts only with the edits its
 *     distinctive part allows: the letters outside generic words (server,
 *     agent, operator...), so api-server is not cp-server (distinctive "cp":
 *     no edits) while grafna is grafana;
 *   - only distinctive repositories (the publisher's own product, not a
 *     repackaged one or a common word: "~name" in publishers.txt) are
 *     impersonated by the same name elsewhere;
 *   - a namespace that is, or resembles, an official name impersonates it
 *     only when the repository is an official name or close to that one
 *     (couchbase/server, zaproxy/zap-stable are ordinary);
 *   - a repository under the project's own namespace, the same name with
 *     separators dropped (cilium/cilium, phpmyadmin/phpmyadmin,
 *     openliberty/open-liberty), is that project's own image, unless a known
 *     publisher on the same registry publishes that repository under another
 *     namespace (terraform/terraform is not hashicorp/terraform); so is a
 *     publisher's repository under a namespace of the publisher's name on
 *     another registry (argoproj/argocd, as quay.io/argoproj/argocd).
 *
 * The judge runs once per image of an admission review, on the server's
 * loop: the lists are parsed once, skeletons and lengths made at load, and
 * every comparison is bounded (bench/names.c measures it).
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
#define MAX_ALIASES 4
#define NAME_MAX_LEN 256

/* A known name and what is derived from it once, at load. */
typedef struct known {
	const char *name;
	const char *sk;     /* its skeleton (see skeleton()) */
	size_t len, sklen;
	size_t dlen;        /* letters outside generic words (distinctive_len()) */
	bool distinct;      /* a repository: the same name elsewhere is an impersonation */
	bool plain;         /* the name is its own skeleton */
} known;

typedef struct official {
	known k;
	known alias[MAX_ALIASES];   /* names people expect for it: mongodb for mongo */
	size_t nalias;
} official;

typedef struct pub {
	const char *host;   /* "docker.io", "quay.io"... */
	known ns;
	known *repos;
	size_t nrepos;
} pub;

static struct {
	official *official;
	size_t nofficial;
	pub *pubs;
	size_t npubs;
	const char **hosts;         /* ".suffix" entries are domain suffixes */
	size_t nhosts;
	known deco[32];             /* decoration words, as skeletons */
	size_t ndeco;
	int rc;
} D;

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void skeleton(const char *s, char *out, size_t n, bool drop_sep);

/* Words that say what kind of thing an image is, not whose: they earn no
 * edits when a name is compared with a publisher's repository elsewhere. */
static const char *const generic_words[] = {
	"server", "agent", "node", "hub", "operator", "controller", "cli", "api", "app", "web", "ui", "base",
	"core", "stable", "connect", "runtime", "sdk", "proxy", "gateway", "worker", "manager", "community",
	"enterprise", "edition", "team", "standalone", "plugin", "service", "daemon", "ce", "ee", "oss",
	"runner", "docker", "all", "in", "one",
};

static bool is_generic(const char *w, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(generic_words) / sizeof(generic_words[0]); i++)
		if (strlen(generic_words[i]) == n && memcmp(w, generic_words[i], n) == 0)
			return true;
	return false;
}

/* The letters of a name outside generic words: "cp-server" 2, "grafana" 7,
 * "node-exporter" 8. */
static size_t distinctive_len(const char *s)
{
	size_t total = 0;

	while (*s) {
		size_t n = strcspn(s, "-_.");
		if (n && !is_generic(s, n))
			total += n;
		s += n;
		if (*s)
			s++;
	}
	return total;
}

/* Fill k for the word w; "~w" marks a repository that is not distinctive. */
static int known_init(known *k, const char *w)
{
	char sk[NAME_MAX_LEN + 1];

	k->distinct = w[0] != '~';
	if (!k->distinct)
		w++;
	skeleton(w, sk, sizeof(sk), true);
	if (!(k->sk = sw__strdup(sk)))
		return -1;
	k->name = w;
	k->len = strlen(w);
	k->sklen = strlen(sk);
	k->dlen = distinctive_len(w);
	k->plain = strcmp(w, sk) == 0;
	return 0;
}

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
	official *o;
	size_t i;

	if (D.nofficial >= MAX_WORDS)
		return -1;
	o = &D.official[D.nofficial];
	if (known_init(&o->k, w[0]) < 0)
		return -1;
	for (i = 1; i < n && o->nalias < MAX_ALIASES; i++)
		if (known_init(&o->alias[o->nalias++], w[i]) < 0)
			return -1;
	D.nofficial++;
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
		w[0] = slash + 1;
	} else {
		p->host = "docker.io";
	}
	p->nrepos = n - 1;
	if (known_init(&p->ns, w[0]) < 0 || (n > 1 && !(p->repos = calloc(n - 1, sizeof(*p->repos)))))
		return -1;
	for (i = 1; i < n; i++)
		if (known_init(&p->repos[i - 1], w[i]) < 0)
			return -1;
	D.npubs++;
	return 0;
}

/* Words glued to a known name to make a look-alike ("node-js",
 * "nginx-official", "officialnginx"). */
static const char *const decorations[] = {
	"official", "offical", "oficial", "officail", "docker", "dockerhub", "hub", "library",
	"libary", "image", "img", "js", "org", "inc", "latest",
};

static void load(void)
{
	char *a = sw__strdup(sw_bundled_names_official), *b = sw__strdup(sw_bundled_names_publishers),
	     *c = sw__strdup(sw_bundled_names_registries);
	size_t i;

	D.official = calloc(MAX_WORDS, sizeof(*D.official));
	D.hosts = calloc(MAX_WORDS, sizeof(*D.hosts));
	D.pubs = calloc(MAX_WORDS, sizeof(*D.pubs));
	if (!a || !b || !c || !D.official || !D.hosts || !D.pubs || each_line(a, add_official) < 0 ||
	    each_line(b, add_pub) < 0 || each_line(c, add_host) < 0)
		D.rc = SW_ENOMEM;
	for (i = 0; i < sizeof(decorations) / sizeof(decorations[0]) && !D.rc; i++)
		if (known_init(&D.deco[D.ndeco++], decorations[i]) < 0)
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

static size_t allowed(size_t len)
{
	return len <= 3 ? 0 : len <= 7 ? 1 : 2;
}

/* Edits allowed between a name of length ln and a known one of length lk;
 * under a namespace, names of 4 characters or fewer get none. */
static size_t edits(size_t ln, size_t lk, bool in_ns)
{
	if (in_ns && ln <= 4)
		return 0;
	return allowed(ln > lk ? ln : lk);
}

/* Edits the distinctive part of a known name earns against a name of length
 * ln: generic words and separators earn none ("9-base" is not a typo of
 * r-base, nor api-server of cp-server; tomcat11 still is one of tomcat). */
static size_t earned(size_t ln, const known *k)
{
	size_t generic = k->len - k->dlen, l = ln > generic ? ln - generic : 0;

	return allowed(l > k->dlen ? l : k->dlen);
}

/* Under a namespace, the edits a known name allows are also earned. */
static size_t edits_earned(size_t ln, const known *k, bool in_ns)
{
	size_t e = edits(ln, k->len, in_ns), d = earned(ln, k);

	return in_ns && d < e ? d : e;
}

typedef enum {
	NOT_CLOSE,
	CLOSE_LETTERS,    /* the same skeleton: look-alike letters, separators */
	CLOSE_EDIT1,      /* one edit */
	CLOSE_EDIT2,      /* two edits */
	CLOSE_DECORATED,  /* a decoration word glued on */
	CLOSE_DECORATED_TYPO, /* the same, on a typo of the name (wordpres-official) */
	CLOSE_ALIAS,      /* the name people expect, which is not the official one */
} closeness;

#define MAX_STRIPS 4

/* A name being judged, prepared once for all the known names it meets: its
 * skeleton, lengths, and what is left of the skeleton when a decoration
 * word comes off its start or end ("nginxofficial" -> "nginx"). */
typedef struct cand {
	const char *name;
	char sk[NAME_MAX_LEN + 1];
	size_t len, sklen;
	bool plain;
	char rest[MAX_STRIPS][NAME_MAX_LEN + 1];
	size_t lrest[MAX_STRIPS], nrest;
} cand;

static void cand_strip(cand *c, const char *from, size_t n)
{
	if (c->nrest >= MAX_STRIPS)
		return;
	memcpy(c->rest[c->nrest], from, n);
	c->rest[c->nrest][n] = '\0';
	c->lrest[c->nrest++] = n;
}

static void cand_init(cand *c, const char *name)
{
	size_t i;

	c->name = name;
	skeleton(name, c->sk, sizeof(c->sk), true);
	c->len = strlen(name);
	c->sklen = strlen(c->sk);
	c->plain = strcmp(name, c->sk) == 0;
	c->nrest = 0;
	for (i = 0; i < D.ndeco; i++) {
		const known *d = &D.deco[i];
		if (c->sklen <= d->sklen)
			continue;
		if (memcmp(c->sk + c->sklen - d->sklen, d->sk, d->sklen) == 0)
			cand_strip(c, c->sk, c->sklen - d->sklen);
		if (memcmp(c->sk, d->sk, d->sklen) == 0)
			cand_strip(c, c->sk + d->sklen, c->sklen - d->sklen);
	}
}

static size_t absdiff(size_t a, size_t b)
{
	return a > b ? a - b : b - a;
}

/* A decoration taken off c leaves k (CLOSE_DECORATED) or a typo of k
 * (CLOSE_DECORATED_TYPO, wordpres-official). */
static closeness decorated(const cand *c, const known *k)
{
	closeness best = NOT_CLOSE;
	size_t i;

	for (i = 0; i < c->nrest; i++) {
		size_t lr = c->lrest[i], max = allowed(lr);
		if (absdiff(lr, k->sklen) > max)
			continue;
		if (lr == k->sklen && strcmp(c->rest[i], k->sk) == 0)
			return CLOSE_DECORATED;
		if (lr >= 4 && sw_names_distance(c->rest[i], k->sk, max) <= max)
			best = CLOSE_DECORATED_TYPO;
	}
	return best;
}

/* How the name c resembles the known name k, within max edits; an exact
 * name is never close. */
static closeness close_to(const cand *c, const known *k, size_t max, bool glued)
{
	size_t d = max + 1;

	if (!k->sk[0] || (c->len == k->len && strcmp(c->name, k->name) == 0))
		return NOT_CLOSE;
	if (c->sklen == k->sklen && strcmp(c->sk, k->sk) == 0)
		return CLOSE_LETTERS;
	if (absdiff(c->len, k->len) <= max)
		d = sw_names_distance(c->name, k->name, max);
	/* both plain: the skeletons are the names, already compared */
	if (d > max && !(c->plain && k->plain) && absdiff(c->sklen, k->sklen) <= max)
		d = sw_names_distance(c->sk, k->sk, max);
	if (d <= max)
		return d <= 1 ? CLOSE_EDIT1 : CLOSE_EDIT2;
	if (!glued || k->len < 3 || c->sklen <= k->sklen)
		return NOT_CLOSE;
	return decorated(c, k);
}

/* ---- lookups ---- */

static bool is_official(const char *name)
{
	size_t i;

	for (i = 0; i < D.nofficial; i++)
		if (strcmp(D.official[i].k.name, name) == 0)
			return true;
	return false;
}

static const official *alias_of(const char *name, const known **alias)
{
	size_t i, j;

	for (i = 0; i < D.nofficial; i++)
		for (j = 0; j < D.official[i].nalias; j++)
			if (strcmp(D.official[i].alias[j].name, name) == 0) {
				*alias = &D.official[i].alias[j];
				return &D.official[i];
			}
	return NULL;
}

static const pub *find_pub(const char *host, const char *ns)
{
	size_t i;

	for (i = 0; i < D.npubs; i++)
		if (strcmp(D.pubs[i].host, host) == 0 && strcmp(D.pubs[i].ns.name, ns) == 0)
			return &D.pubs[i];
	return NULL;
}

typedef struct omatch {
	const official *o;
	const known *alias;   /* the expected name it is (CLOSE_ALIAS) or resembles, or NULL */
	closeness how;
} omatch;

/* Is `name` a look-alike of an official image? in_ns: it stands under a
 * namespace, where the expected name itself (someuser/mongodb) is somebody's
 * image of that name, not a look-alike. */
static bool official_lookalike(const char *name, bool in_ns, omatch *m)
{
	cand c;
	size_t i, j;

	memset(m, 0, sizeof(*m));
	if (is_official(name))
		return false;
	if ((m->o = alias_of(name, &m->alias))) {
		m->how = CLOSE_ALIAS;
		return !in_ns;
	}
	cand_init(&c, name);
	for (i = 0; i < D.nofficial; i++) {
		const official *o = &D.official[i];
		if ((m->how = close_to(&c, &o->k, edits_earned(c.len, &o->k, in_ns), true)) != NOT_CLOSE) {
			m->o = o;
			return true;
		}
		for (j = 0; j < o->nalias; j++)
			if ((m->how = close_to(&c, &o->alias[j], edits_earned(c.len, &o->alias[j], in_ns), true)) !=
			    NOT_CLOSE) {
				m->o = o;
				m->alias = &o->alias[j];
				return true;
			}
	}
	return false;
}

/* One of p's repositories that repo is or resembles, or NULL. */
static const known *pub_has(const pub *p, const cand *repo)
{
	size_t k;

	for (k = 0; k < p->nrepos; k++)
		if (strcmp(repo->name, p->repos[k].name) == 0 ||
		    close_to(repo, &p->repos[k], edits(repo->len, p->repos[k].len, true), false) != NOT_CLOSE)
			return &p->repos[k];
	return NULL;
}

/* The publisher on host whose namespace ns resembles; *which: the
 * publisher's repository that repo is or resembles, or NULL. Two edits
 * (kubernetes, kubernetesui) count only with such a repository. */
static const pub *pub_ns_lookalike(const char *host, const char *ns, const char *repo, const known **which)
{
	cand c, r;
	size_t i;

	if (find_pub(host, ns))
		return NULL;
	cand_init(&c, ns);
	cand_init(&r, repo);
	for (i = 0; i < D.npubs; i++) {
		const pub *p = &D.pubs[i];
		closeness how;
		if (p->ns.len < 4 || strcmp(p->host, host) != 0)
			continue;
		if ((how = close_to(&c, &p->ns, edits(c.len, p->ns.len, false), true)) == NOT_CLOSE)
			continue;
		*which = pub_has(p, &r);
		if (how != CLOSE_EDIT2 || *which)
			return p;
	}
	return NULL;
}

/* A publisher with the repository repo (only distinctive ones when
 * distinct_only), preferring one on host. */
static const pub *pub_repo_exact(const char *host, const char *repo, bool distinct_only, const known **which)
{
	const pub *other = NULL;
	const known *ow = NULL;
	size_t i, k;

	for (i = 0; i < D.npubs; i++)
		for (k = 0; k < D.pubs[i].nrepos; k++) {
			const known *r = &D.pubs[i].repos[k];
			if ((distinct_only && !r->distinct) || strcmp(repo, r->name) != 0)
				continue;
			if (host && strcmp(D.pubs[i].host, host) == 0) {
				*which = r;
				return &D.pubs[i];
			}
			if (!other) {
				other = &D.pubs[i];
				ow = r;
			}
		}
	*which = ow;
	return other;
}

static bool any_pub_repo(const char *repo)
{
	const known *w;

	return pub_repo_exact(NULL, repo, false, &w) != NULL;
}

/* A publisher's distinctive repository that repo, under the namespace ns,
 * is a typo of: the edits must be earned by the repository's distinctive
 * part (api-server is not cp-server), or the namespace must resemble the
 * publisher's too. Look-alike letters always count. */
static const pub *pub_repo_close(const char *ns, const char *repo, const known **which)
{
	cand c, n;
	size_t i, k;

	cand_init(&c, repo);
	cand_init(&n, ns);
	for (i = 0; i < D.npubs; i++)
		for (k = 0; k < D.pubs[i].nrepos; k++) {
			const known *r = &D.pubs[i].repos[k];
			closeness how;
			if (!r->distinct || r->len < 5)
				continue;
			how = close_to(&c, r, edits(c.len, r->len, true), false);
			if (how == NOT_CLOSE)
				continue;
			if (how == CLOSE_LETTERS || (how == CLOSE_EDIT1 ? 1u : 2u) <= earned(c.len, r) ||
			    close_to(&n, &D.pubs[i].ns, edits(n.len, D.pubs[i].ns.len, false), true) != NOT_CLOSE) {
				*which = r;
				return &D.pubs[i];
			}
		}
	return NULL;
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

/* The same name with separators dropped, letter for letter: a project's own
 * namespace (Docker Hub namespaces have no separators: openliberty for
 * open-liberty). */
static bool same_project(const char *ns, const char *repo)
{
	for (;; ns++, repo++) {
		while (*ns == '-' || *ns == '_' || *ns == '.')
			ns++;
		while (*repo == '-' || *repo == '_' || *repo == '.')
			repo++;
		if (*ns != *repo)
			return false;
		if (!*ns)
			return true;
	}
}

/* Does repo claim the official image o: o itself, another official name,
 * or close to o? (zap-stable does not claim haproxy.) */
static bool claims_official(const char *repo, const official *o)
{
	cand c;

	if (strcmp(repo, o->k.name) == 0 || is_official(repo))
		return true;
	cand_init(&c, repo);
	return close_to(&c, &o->k, edits(c.len, o->k.len, true), true) != NOT_CLOSE;
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

/* Flag repo as a typosquat of the official image m names; where: the
 * official images' home ("docker.io/library", a mirror's path), which repo
 * stands in when home (then it says it is not an official image). */
static void set_official_typo(sw_name_result *r, const char *where, bool home, const char *repo,
			      const omatch *m)
{
	char res[320];
	const char *is = home ? "is not an official image; it is" : "is";
	const char *how = m->how == CLOSE_DECORATED	 ? "the name, with a word glued on, of"
			  : m->how == CLOSE_DECORATED_TYPO ? "a typo of the name, with a word glued on, of"
							   : "a typo or look-alike letters away from";

	snprintf(res, sizeof(res), "%s/%s", where, m->o->k.name);
	if (m->how == CLOSE_ALIAS)
		set(r, SW_NAME_TYPOSQUAT, res, "\"%s\" is not an official image; the official image is called \"%s\"",
		    repo, m->o->k.name);
	else if (m->alias)
		set(r, SW_NAME_TYPOSQUAT, res, "\"%s\" %s %s \"%s\", the name people expect for the official image \"%s\"",
		    repo, is, how, m->alias->name, m->o->k.name);
	else
		set(r, SW_NAME_TYPOSQUAT, res, "\"%s\" %s %s the official image \"%s\"", repo, is, how, m->o->k.name);
}

static void check_library(sw_name_result *r, const char *repo)
{
	omatch m;

	if (is_official(repo))
		set(r, SW_NAME_OK, NULL, "Docker Hub official image");
	else if (official_lookalike(repo, false, &m))
		set_official_typo(r, "docker.io/library", true, repo, &m);
	else
		set(r, SW_NAME_OK, NULL,
		    "not a Docker Hub official image: library/ holds only official images, so this name does not resolve there");
}

/* The namespace: dressed as Docker's, or a publisher's look-alike. */
static bool check_hub_ns(sw_name_result *r, const char *ns, const char *repo)
{
	char res[320];
	const known *w = NULL;
	const pub *p;

	if (mimics_library(ns)) {
		snprintf(res, sizeof(res), "docker.io/library/%s", repo);
		set(r, SW_NAME_IMPERSONATION, res,
		    "the namespace \"%s\" dresses up as Docker's official images, which live only under library/ "
		    "(pull \"%s\" for the real one)", ns, repo);
		return true;
	}
	if (!(p = pub_ns_lookalike("docker.io", ns, repo, &w)))
		return false;
	if (w)
		snprintf(res, sizeof(res), "docker.io/%s/%s", p->ns.name, w->name);
	else
		snprintf(res, sizeof(res), "docker.io/%s", p->ns.name);
	set(r, SW_NAME_TYPOSQUAT, res, "the namespace \"%s\" is a look-alike of the publisher \"%s\"", ns,
	    p->ns.name);
	return true;
}

/* A known name where its owner does not publish. own: ns is the project's
 * own namespace for repo. */
static bool check_hub_claims(sw_name_result *r, const char *ns, const char *repo, bool own)
{
	char res[320];
	const known *w;
	const pub *p;
	bool ns_official = is_official(ns);
	omatch m;

	if (!own && (ns_official || official_lookalike(ns, false, &m))) {
		const char *o = ns_official ? ns : m.o->k.name;
		if (ns_official ? strcmp(repo, o) == 0 || is_official(repo) : claims_official(repo, m.o)) {
			snprintf(res, sizeof(res), "docker.io/library/%s", o);
			set(r, SW_NAME_IMPERSONATION, res,
			    "the namespace \"%s\" presents itself as the official image \"%s\", which is published only "
			    "as docker.io/library/%s", ns, o, o);
			return true;
		}
	}
	if (!own && is_official(repo)) {
		snprintf(res, sizeof(res), "docker.io/library/%s", repo);
		set(r, SW_NAME_IMPERSONATION, res,
		    "\"%s\" is a Docker Hub official image, published only as docker.io/library/%s; \"%s\" is not "
		    "its publisher", repo, repo, ns);
		return true;
	}
	/* the publisher's own namespace name on another registry is the same
	 * project (argoproj/argocd on Docker Hub, quay.io/argoproj/argocd) */
	if ((p = pub_repo_exact("docker.io", repo, true, &w)) && (!own || strcmp(p->host, "docker.io") == 0) &&
	    strcmp(p->ns.name, ns) != 0) {
		snprintf(res, sizeof(res), "%s/%s/%s", p->host, p->ns.name, w->name);
		set(r, SW_NAME_IMPERSONATION, res, "\"%s\" is %s's image (%s); \"%s\" is not its publisher", repo,
		    p->ns.name, res, ns);
		return true;
	}
	return false;
}

/* A repository close to an official or a publisher's name. */
static bool check_hub_typo(sw_name_result *r, const char *ns, const char *repo)
{
	char res[320];
	const known *w;
	const pub *p;
	omatch m;

	if (any_pub_repo(repo))
		return false;
	if (official_lookalike(repo, true, &m)) {
		set_official_typo(r, "docker.io/library", false, repo, &m);
		return true;
	}
	if (!(p = pub_repo_close(ns, repo, &w)))
		return false;
	snprintf(res, sizeof(res), "%s/%s/%s", p->host, p->ns.name, w->name);
	set(r, SW_NAME_TYPOSQUAT, res, "\"%s\" is a typo or look-alike away from %s", repo, res);
	return true;
}

static void check_hub(sw_name_result *r)
{
	char ns[256];
	const char *repo, *slash = strchr(r->ref.path, '/');
	bool own;

	snprintf(ns, sizeof(ns), "%.*s", (int)(slash ? slash - r->ref.path : 0), r->ref.path);
	repo = strrchr(r->ref.path, '/') + 1;
	if (strcmp(ns, "library") == 0) {
		if (!strchr(slash + 1, '/'))
			check_library(r, repo);
		else
			set(r, SW_NAME_OK, NULL, "not a Docker Hub official image (those have one name under library/)");
		return;
	}
	if (find_pub("docker.io", ns)) {
		set(r, SW_NAME_OK, NULL, "published by %s, a known publisher", ns);
		return;
	}
	if (check_hub_ns(r, ns, repo))
		return;
	own = same_project(ns, repo);
	if (check_hub_claims(r, ns, repo, own) || check_hub_typo(r, ns, repo))
		return;
	if (own)
		set(r, SW_NAME_OK, NULL, "the project's own namespace (\"%s\" under \"%s\"), not in the known-publisher "
		    "list", repo, ns);
	else
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

/* Mirrors of the Docker official images: HOST/PREFIX<official name>. */
static const struct mirror {
	const char *host, *prefix, *what;
} mirrors[] = {
	{ "public.ecr.aws", "docker/library/", "Amazon ECR Public mirror of the Docker official images" },
	{ "mirror.gcr.io", "library/", "Google's mirror (mirror.gcr.io) of the Docker Hub official images" },
};

static bool check_mirror(sw_name_result *r, const char *host)
{
	char where[128];
	const char *repo;
	size_t i, pl;
	omatch m;

	for (i = 0; i < sizeof(mirrors) / sizeof(mirrors[0]); i++) {
		pl = strlen(mirrors[i].prefix);
		if (strcmp(host, mirrors[i].host) != 0 || strncmp(r->ref.path, mirrors[i].prefix, pl) != 0 ||
		    strchr(r->ref.path + pl, '/'))
			continue;
		repo = r->ref.path + pl;
		snprintf(where, sizeof(where), "%s/%.*s", host, (int)pl - 1, mirrors[i].prefix);
		if (!is_official(repo) && official_lookalike(repo, false, &m))
			set_official_typo(r, where, false, repo, &m);
		else
			set(r, SW_NAME_OK, NULL, "%s", mirrors[i].what);
		return true;
	}
	return false;
}

static void check_other(sw_name_result *r, const char *host)
{
	char ns[256], res[320];
	const char *slash = strchr(r->ref.path, '/'), *w;
	const known *kw = NULL;
	const pub *p;
	bool prefix = false;

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
	if (check_mirror(r, host))
		return;
	if (find_pub(host, ns)) {
		set(r, SW_NAME_OK, NULL, "published by %s on %s, a known publisher", ns, host);
		return;
	}
	if ((p = pub_ns_lookalike(host, ns, strrchr(r->ref.path, '/') + 1, &kw))) {
		snprintf(res, sizeof(res), "%s/%s", host, p->ns.name);
		set(r, SW_NAME_TYPOSQUAT, res, "the namespace \"%s\" on %s is a look-alike of \"%s\"", ns, host,
		    p->ns.name);
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
	if (sw_docker_hub_host(host) && strchr(r->ref.path, '/'))
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
