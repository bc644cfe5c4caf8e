/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Admission policy (docs/policy.md). Two readers:
 *
 *   stowaway YAML: mode, allow/deny lists of registries, namespaces and
 *   repositories, actions for look-alike names, required digest, required
 *   signature keys, the highest finding severity a scan may report, and
 *   per-scope overrides of all of these;
 *
 *   containers-policy.json (containers/image): "default" and per-transport
 *   scopes, each a list of requirements, kept as containers/image keeps
 *   them and decided as it decides (policy_containers.c, policy_decide.c).
 *
 * YAML scopes match on component boundaries: "docker.io/library" matches
 * docker.io/library/nginx and never docker.io/library-evil/nginx (the
 * prefix trap of string-prefix matchers). A host scope matches that host
 * (port included) and "*.example.com" matches its subdomains. The most
 * specific matching scope wins: longest scope, an exact reference (with tag
 * or digest) above all, a deny above an allow of the same length.
 *
 * The parts: this file holds the model, its scopes, the problems and
 * warnings a reader finds, and the loading; policy_yaml.c and
 * policy_containers.c read the two formats; policy_decide.c decides on a
 * reference.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy_int.h"
#include "../util/banned.h"

#define MAX_ENTRIES 10000
#define MAX_POLICY_FILE (4u << 20)

static void add_problem(loader *l, int line, bool warning, const char *fmt, va_list ap)
{
	sw_policy_problem *np;

	if (l->nprobs >= 1000 || SW_GROW(l->probs, l->nprobs) < 0)
		return;
	np = &l->probs[l->nprobs++];
	np->line = line;
	np->warning = warning;
	vsnprintf(np->msg, sizeof(np->msg), fmt, ap);
}

void sw_policy__problem(loader *l, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_problem(l, line, false, fmt, ap);
	va_end(ap);
}

void sw_policy__warning(loader *l, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_problem(l, line, true, fmt, ap);
	va_end(ap);
}

void sw_policy__settings_init(settings *s)
{
	memset(s, 0, sizeof(*s));
	s->mode = s->typosquat = s->impersonation = s->digest = s->max_severity = -1;
	s->nkeys = -1;
	s->natt_keys = -1;
	s->att_verdict = -1;
	s->att_max_age = -1;
	s->on_timeout = s->scan_pending = -1;
}

static void settings_release(settings *s)
{
	int i;

	for (i = 0; i < s->nkeys; i++)
		free(s->keys[i]);
	free(s->kl_identity);
	free(s->kl_identity_re);
	free(s->kl_issuer);
	free(s->kl_issuer_re);
	free(s->kl_root);
	for (i = 0; i < s->natt_keys; i++)
		free(s->att_keys[i]);
}

void sw_policy_free(sw_policy *p)
{
	size_t i;

	if (!p)
		return;
	settings_release(&p->base);
	for (i = 0; i < p->nlists; i++) {
		free(p->lists[i].transport);
		free(p->lists[i].scope);
	}
	for (i = 0; i < p->noverrides; i++) {
		free(p->overrides[i].transport);
		free(p->overrides[i].scope);
		settings_release(&p->overrides[i].s);
	}
	free(p->lists);
	free(p->overrides);
	sw_policy__cp_release(&p->cp_default);
	for (i = 0; i < p->ncp; i++)
		sw_policy__cp_release(&p->cp[i]);
	free(p->cp);
	free(p->path);
	free(p);
}

const char *sw_policy_path(const sw_policy *p)
{
	return p->path ? p->path : "(built-in)";
}

/* ---- scopes ---- */

/* Validate a docker scope: "*.host", "host[:port]", "host/ns[/...]", or an
 * exact reference "host/path:tag" / "host/path@digest". Returns the level
 * (0 host, 1 namespace, 2 repository or deeper, 3 exact) or -1 with why. */
int sw_policy__scope_check(const char *s, char *why, size_t whyn)
{
	sw_ref r;
	sw_error err = SW_ERROR_INIT;
	const char *slash = strchr(s, '/');
	size_t i;

	if (!*s) {
		snprintf(why, whyn, "an empty scope");
		return -1;
	}
	if (s[0] == '*') {
		if (s[1] != '.' || slash || !s[2]) {
			snprintf(why, whyn, "\"%s\": a wildcard scope is *.DOMAIN, nothing after it", s);
			return -1;
		}
		return 0;
	}
	if (!slash) {
		for (i = 0; s[i]; i++)
			if (!(isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '-' || s[i] == ':' ||
			      s[i] == '[' || s[i] == ']')) {
				snprintf(why, whyn, "\"%s\" is not a registry host[:port]", s);
				return -1;
			}
		if (!strchr(s, '.') && !strchr(s, ':') && strcmp(s, "localhost") != 0) {
			snprintf(why, whyn,
				 "\"%.100s\" is not a registry host (a host has a '.' or a port, or is localhost); "
				 "namespaces are written with their host, as in docker.io/%.100s", s, s);
			return -1;
		}
		return 0;
	}
	if (sw_ref_parse(s, &r, &err) < 0) {
		snprintf(why, whyn, "%.280s", err.msg);
		return -1;
	}
	/* the host must be written out: "library/nginx" would silently be Docker Hub */
	if (strncmp(s, r.domain, strlen(r.domain)) != 0 && strncmp(s, "index.docker.io/", 16) != 0) {
		snprintf(why, whyn, "\"%.100s\": write the registry host first (%.60s/%.100s)", s, r.domain, r.path);
		return -1;
	}
	if (r.tag[0] || r.digest[0])
		return 3;
	/* as written: "docker.io/nginx" is the namespace nginx, not library/nginx */
	return strchr(strchr(s, '/') + 1, '/') ? 2 : 1;
}

/* Normalised scope text: "index.docker.io/x" -> "docker.io/x"; Docker
 * Hub "docker.io/nginx" stays as written (a namespace called nginx). */
static char *scope_norm(const char *s)
{
	if (strncmp(s, "index.docker.io", 15) == 0 && (s[15] == '/' || !s[15]))
		return sw__asprintf("docker.io%s", s + 15);
	return sw__strdup(s);
}

/* How specifically scope matches name (domain/path) or the exact reference
 * full; -1 when it does not. */
int sw_policy__scope_match(const char *scope, const char *host, const char *name, const char *full)
{
	size_t n = strlen(scope), hl = strlen(host);

	if (scope[0] == '*') {
		size_t sl = n - 1; /* ".example.com" */
		if (hl > sl && strcmp(host + hl - sl, scope + 1) == 0)
			return (int)sl;
		return -1;
	}
	if (strchr(scope, '@') || (strchr(scope, '/') && strchr(strrchr(scope, '/'), ':')))
		return strcmp(scope, full) == 0 ? 100000 : -1;
	if (strncmp(name, scope, n) == 0 && (name[n] == '\0' || name[n] == '/'))
		return (int)n;
	return -1;
}

/* Local transports: path prefixes on '/' boundaries; "" matches all. */
int sw_policy__path_match(const char *scope, const char *path)
{
	size_t n = strlen(scope);

	if (!n)
		return 0;
	while (n > 1 && scope[n - 1] == '/')
		n--;
	if (strncmp(path, scope, n) == 0 && (path[n] == '\0' || path[n] == '/'))
		return (int)n;
	return -1;
}

/* ---- what both readers add ---- */

/* A key path as the policy file means it: relative to the file's own
 * directory (the policy travels with its keys), never to wherever check
 * happens to run. malloc'd; NULL on ENOMEM. */
char *sw_policy__key_path(const loader *l, const char *path)
{
	const char *slash = l->name ? strrchr(l->name, '/') : NULL;

	if (path[0] == '/' || !slash)
		return sw__strdup(path);
	return sw__asprintf("%.*s/%s", (int)(slash - l->name), l->name, path);
}

void sw_policy__add_key(loader *l, settings *s, const char *path, int line, bool yaml)
{
	char *full;

	if (s->nkeys < 0)
		s->nkeys = 0;
	if (s->nkeys >= SW_POLICY_MAX_KEYS) {
		sw_policy__problem(l, line, "at most %d signature keys", SW_POLICY_MAX_KEYS);
		return;
	}
	/* containers-policy.json keeps containers/image's reading of its paths */
	if (!(full = yaml ? sw_policy__key_path(l, path) : sw__strdup(path))) {
		sw_policy__problem(l, line, "out of memory");
		return;
	}
	if (access(full, R_OK) != 0)
		sw_policy__problem(l, line, "signature key \"%s\": %s", full, strerror(errno));
	s->keys[s->nkeys++] = full;
}

void sw_policy__add_entry(loader *l, entry **v, size_t *n, const char *transport, const char *scope, int line,
			  entry **out)
{
	entry *nv;

	*out = NULL;
	if (*n >= MAX_ENTRIES || SW_GROW(*v, *n) < 0) {
		sw_policy__problem(l, line, "too many entries (at most %d)", MAX_ENTRIES);
		return;
	}
	nv = *v;
	memset(&nv[*n], 0, sizeof(nv[*n]));
	nv[*n].transport = sw__strdup(transport);
	nv[*n].scope = scope_norm(scope);
	nv[*n].line = line;
	sw_policy__settings_init(&nv[*n].s);
	*out = &nv[(*n)++];
}

/* ---- loading ---- */

static int finish(loader *l, sw_policy **out, sw_policy_problem **probs, size_t *nprobs, sw_error *err)
{
	size_t i;

	*probs = l->probs;
	*nprobs = l->nprobs;
	for (i = 0; i < l->nprobs; i++)
		if (!l->probs[i].warning) {
			sw_error_set(err, SW_EFORMAT, "%s:%d: %s", l->name, l->probs[i].line, l->probs[i].msg);
			if (err)
				err->line = l->probs[i].line;
			sw_policy_free(l->p);
			return SW_EFORMAT;
		}
	*out = l->p;
	return 0;
}

int sw_policy_load(const char *path, sw_policy **out, sw_policy_problem **probs, size_t *nprobs,
		   sw_error *err)
{
	sw_buf b = SW_BUF_INIT(MAX_POLICY_FILE);
	loader l = { NULL, NULL, 0, path };
	const char *p;
	int rc;

	*out = NULL;
	*probs = NULL;
	*nprobs = 0;
	if ((rc = sw_file_read(path, &b)) < 0) {
		sw_buf_release(&b);
		return sw_error_set(err, rc, "policy %s: %s", path,
				    rc == SW_ELIMIT ? "larger than 4 MiB" : strerror(errno));
	}
	if (!(l.p = calloc(1, sizeof(*l.p))) || !(l.p->path = sw__strdup(path))) {
		free(l.p);
		sw_buf_release(&b);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	sw_policy__settings_init(&l.p->base);
	/* up to the NUL sw_buf_cstr puts after the data: a file of white
	 * space only was sniffed by the byte the heap left after it */
	for (p = sw_buf_cstr(&b); isspace((unsigned char)*p); p++)
		;
	if (*p == '{') {
		sw_json_doc *doc = NULL;
		sw_error jerr = SW_ERROR_INIT;
		if (sw_json_parse(b.data, b.len, &doc, &jerr) < 0)
			sw_policy__problem(&l, jerr.line, "not valid JSON: %s", jerr.msg);
		else
			sw_policy__load_containers_json(&l, sw_json_root(doc));
		l.p->containers = true;
		sw_json_free(doc);
	} else {
		sw_yaml_doc *doc = NULL;
		sw_error yerr = SW_ERROR_INIT;
		/* parsed under a short name: "policy:LINE: why" fits in the
		 * message whatever the path's length (finish() names the file) */
		if (sw_yaml_parse(b.data ? b.data : "", b.len, "policy", &doc, &yerr) < 0) {
			char head[32];
			size_t hl = (size_t)snprintf(head, sizeof(head), "policy:%d: ", yerr.line);
			sw_policy__problem(&l, yerr.line, "%s",
					   strncmp(yerr.msg, head, hl) == 0 ? yerr.msg + hl : yerr.msg);
		} else if (sw_yaml_ndocs(doc) != 1) {
			sw_policy__problem(&l, 0, "a policy is one YAML document (found %zu)", sw_yaml_ndocs(doc));
		} else {
			sw_policy__load_yaml(&l, sw_yaml_root(doc, 0));
			sw_policy__lint_lists(&l);
		}
		sw_yaml_free(doc);
	}
	sw_buf_release(&b);
	return finish(&l, out, probs, nprobs, err);
}

int sw_policy_default(sw_policy **out)
{
	sw_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return SW_ENOMEM;
	sw_policy__settings_init(&p->base);
	*out = p;
	return 0;
}
