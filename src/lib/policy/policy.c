/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Admission policy (docs/policy.md). Two readers fill one model:
 *
 *   stowaway YAML: mode, allow/deny lists of registries, namespaces and
 *   repositories, actions for look-alike names, required digest, required
 *   signature keys, the highest finding severity a scan may report, and
 *   per-scope overrides of all of these;
 *
 *   containers-policy.json (containers/image): "default" and per-transport
 *   scopes with reject / insecureAcceptAnything / sigstoreSigned
 *   (keyPath, keyPaths, keyData, keyDatas), parsed strictly as c/image does
 *   (an unknown field rejects the file).
 *
 * Scopes match on component boundaries: "docker.io/library" matches
 * docker.io/library/nginx and never docker.io/library-evil/nginx (the
 * prefix trap of string-prefix matchers). A host scope matches that host
 * (port included) and "*.example.com" matches its subdomains. The most
 * specific matching scope wins: longest scope, an exact reference (with tag
 * or digest) above all, a deny above an allow of the same length.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stowaway/policy.h"
#include "../util/util.h"
#include "../util/banned.h"

#define MAX_ENTRIES 10000
#define MAX_POLICY_FILE (4u << 20)

typedef enum { ACT_UNSET = -1, ACT_ALLOW = 0, ACT_WARN, ACT_DENY } action;

typedef struct settings {
	int mode;             /* -1 unset, 1 enforce, 0 warn */
	int typosquat, impersonation;   /* action */
	int digest;           /* -1 unset, 0/1 */
	int max_severity;     /* -1 unset, -2 "none" (no finding at all), else sw_severity */
	int verdict;          /* containers-policy: ACT_ALLOW (accept anything), ACT_DENY (reject) */
	char *keys[SW_POLICY_MAX_KEYS];
	int nkeys;            /* -1 unset */
	char *att_keys[SW_POLICY_MAX_KEYS];   /* require.attestation */
	int natt_keys;        /* -1 unset */
	int att_verdict;      /* 0 clean, 1 suspicious, 2 malicious; -1 unset */
	int att_max_age;      /* days; -1 unset, 0 any */
} settings;

typedef struct entry {
	char *transport;      /* "docker", "oci", ... */
	char *scope;
	bool allow;           /* access-list entries */
	int level;            /* 0 registry, 1 namespace, 2 repository */
	int line;
	settings s;           /* overrides */
} entry;

struct sw_policy {
	char *path;
	settings base;
	entry *lists;
	size_t nlists;
	bool any_registry;       /* registries: any: what no allow entry covers is not denied */
	entry *overrides;
	size_t noverrides;
};

typedef struct loader {
	sw_policy *p;
	sw_policy_problem *probs;
	size_t nprobs;
	const char *name;
} loader;

static void problem(loader *l, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void problem(loader *l, int line, const char *fmt, ...)
{
	sw_policy_problem *np;
	va_list ap;

	if (l->nprobs >= 1000 || SW_GROW(l->probs, l->nprobs) < 0)
		return;
	np = l->probs;
	np[l->nprobs].line = line;
	va_start(ap, fmt);
	vsnprintf(np[l->nprobs].msg, sizeof(np[l->nprobs].msg), fmt, ap);
	va_end(ap);
	l->nprobs++;
}

static void settings_init(settings *s)
{
	memset(s, 0, sizeof(*s));
	s->mode = s->typosquat = s->impersonation = s->digest = s->max_severity = -1;
	s->verdict = ACT_UNSET;
	s->nkeys = -1;
	s->natt_keys = -1;
	s->att_verdict = -1;
	s->att_max_age = -1;
}

static void settings_release(settings *s)
{
	int i;

	for (i = 0; i < s->nkeys; i++)
		free(s->keys[i]);
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
static int scope_check(const char *s, char *why, size_t whyn)
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
static int scope_match(const char *scope, const char *host, const char *name, const char *full)
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
static int path_match(const char *scope, const char *path)
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

/* ---- YAML policy ---- */

static int parse_action(loader *l, const sw_yaml *v, const char *what)
{
	const char *s = sw_yaml_str(v);

	if (s && strcmp(s, "deny") == 0)
		return ACT_DENY;
	if (s && strcmp(s, "warn") == 0)
		return ACT_WARN;
	if (s && strcmp(s, "allow") == 0)
		return ACT_ALLOW;
	problem(l, v->line, "%s must be deny, warn or allow", what);
	return ACT_UNSET;
}

static int parse_bool(loader *l, const sw_yaml *v, const char *what)
{
	const char *s = sw_yaml_str(v);

	if (s && (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0))
		return 1;
	if (s && (strcmp(s, "false") == 0 || strcmp(s, "no") == 0))
		return 0;
	problem(l, v->line, "%s must be true or false", what);
	return -1;
}

static void unknown_keys(loader *l, const sw_yaml *map, const char *where, const char *const *known)
{
	const sw_yaml *c;

	for (c = map->child; c; c = c->next) {
		const char *const *k;
		for (k = known; *k; k++)
			if (strcmp(c->key, *k) == 0)
				break;
		if (!*k)
			problem(l, c->line, "%s: unknown key \"%s\"", where, c->key);
	}
}

static bool want_map(loader *l, const sw_yaml *v, const char *what)
{
	if (v->type == SW_YAML_MAP)
		return true;
	problem(l, v->line, "%s must be a mapping (key: value lines)", what);
	return false;
}

/* A key path as the policy file means it: relative to the file's own
 * directory (the policy travels with its keys), never to wherever check
 * happens to run. malloc'd; NULL on ENOMEM. */
static char *key_path(const loader *l, const char *path)
{
	const char *slash = l->name ? strrchr(l->name, '/') : NULL;

	if (path[0] == '/' || !slash)
		return sw__strdup(path);
	return sw__asprintf("%.*s/%s", (int)(slash - l->name), l->name, path);
}

static void add_key(loader *l, settings *s, const char *path, int line, bool yaml)
{
	char *full;

	if (s->nkeys < 0)
		s->nkeys = 0;
	if (s->nkeys >= SW_POLICY_MAX_KEYS) {
		problem(l, line, "at most %d signature keys", SW_POLICY_MAX_KEYS);
		return;
	}
	/* containers-policy.json keeps containers/image's reading of its paths */
	if (!(full = yaml ? key_path(l, path) : sw__strdup(path))) {
		problem(l, line, "out of memory");
		return;
	}
	if (access(full, R_OK) != 0)
		problem(l, line, "signature key \"%s\": %s", full, strerror(errno));
	s->keys[s->nkeys++] = full;
}

/* names, require, scan, mode: the settings an override may change too. */
static void parse_settings(loader *l, const sw_yaml *m, settings *s, const char *where)
{
	const sw_yaml *v, *c;

	if ((v = sw_yaml_get(m, "mode"))) {
		const char *t = sw_yaml_str(v);
		if (t && strcmp(t, "enforce") == 0)
			s->mode = 1;
		else if (t && strcmp(t, "warn") == 0)
			s->mode = 0;
		else
			problem(l, v->line, "%smode must be enforce or warn", where);
	}
	if ((v = sw_yaml_get(m, "names")) && want_map(l, v, "names")) {
		static const char *const k[] = { "typosquat", "impersonation", NULL };
		unknown_keys(l, v, "names", k);
		if ((c = sw_yaml_get(v, "typosquat")))
			s->typosquat = parse_action(l, c, "names.typosquat");
		if ((c = sw_yaml_get(v, "impersonation")))
			s->impersonation = parse_action(l, c, "names.impersonation");
	}
	if ((v = sw_yaml_get(m, "require")) && want_map(l, v, "require")) {
		static const char *const k[] = { "digest", "signature", "attestation", NULL };
		unknown_keys(l, v, "require", k);
		if ((c = sw_yaml_get(v, "digest")))
			s->digest = parse_bool(l, c, "require.digest");
		if ((c = sw_yaml_get(v, "signature")) && want_map(l, c, "require.signature")) {
			static const char *const ks[] = { "keys", NULL };
			const sw_yaml *keys = sw_yaml_get(c, "keys"), *e;
			unknown_keys(l, c, "require.signature", ks);
			if (!keys || keys->type != SW_YAML_SEQ) {
				problem(l, c->line, "require.signature.keys must be a list of public key files");
			} else {
				s->nkeys = 0;
				for (e = keys->child; e; e = e->next) {
					if (e->type != SW_YAML_SCALAR || !e->slen)
						problem(l, e->line, "a signature key is a file path");
					else
						add_key(l, s, e->s, e->line, true);
				}
			}
		}
	}
	if ((v = sw_yaml_get(m, "require")) && v->type == SW_YAML_MAP && (c = sw_yaml_get(v, "attestation")) &&
	    want_map(l, c, "require.attestation")) {
		static const char *const ka[] = { "keys", "verdict", "max_age_days", NULL };
		const sw_yaml *keys = sw_yaml_get(c, "keys"), *e, *x;
		unknown_keys(l, c, "require.attestation", ka);
		if (!keys || keys->type != SW_YAML_SEQ) {
			problem(l, c->line, "require.attestation.keys must be a list of public key files");
		} else {
			s->natt_keys = 0;
			for (e = keys->child; e; e = e->next) {
				if (e->type != SW_YAML_SCALAR || !e->slen || s->natt_keys >= SW_POLICY_MAX_KEYS) {
					problem(l, e->line, "a key is a file path (at most %d)", SW_POLICY_MAX_KEYS);
					continue;
				}
				char *full = key_path(l, e->s);
				if (!full) {
					problem(l, e->line, "out of memory");
					continue;
				}
				if (access(full, R_OK) != 0)
					problem(l, e->line, "attestation key \"%s\": %s", full, strerror(errno));
				s->att_keys[s->natt_keys++] = full;
			}
		}
		s->att_verdict = 2;
		if ((x = sw_yaml_get(c, "verdict"))) {
			const char *t = sw_yaml_str(x);
			s->att_verdict = t && !strcmp(t, "clean") ? 0 : t && !strcmp(t, "suspicious") ? 1 :
					 t && !strcmp(t, "malicious") ? 2 : -2;
			if (s->att_verdict == -2)
				problem(l, x->line, "require.attestation.verdict must be clean, suspicious or malicious");
		}
		s->att_max_age = 0;
		if ((x = sw_yaml_get(c, "max_age_days"))) {
			const char *t = sw_yaml_str(x);
			char *end = NULL;
			long d = t ? strtol(t, &end, 10) : -1;
			if (!t || *end || d < 1 || d > 100000)
				problem(l, x->line, "require.attestation.max_age_days must be a number of days");
			else
				s->att_max_age = (int)d;
		}
	}
	if ((v = sw_yaml_get(m, "scan")) && want_map(l, v, "scan")) {
		static const char *const k[] = { "max_severity", NULL };
		unknown_keys(l, v, "scan", k);
		if ((c = sw_yaml_get(v, "max_severity"))) {
			sw_severity sev;
			const char *t = sw_yaml_str(c);
			if (t && strcmp(t, "none") == 0)
				s->max_severity = -2;
			else if (t && sw_severity_parse(t, &sev) == 0)
				s->max_severity = (int)sev;
			else
				problem(l, c->line, "scan.max_severity must be none, info, low, medium, high or critical");
		}
	}
}

static void add_entry(loader *l, entry **v, size_t *n, const char *transport, const char *scope, int line,
		      entry **out)
{
	entry *nv;

	*out = NULL;
	if (*n >= MAX_ENTRIES || SW_GROW(*v, *n) < 0) {
		problem(l, line, "too many entries (at most %d)", MAX_ENTRIES);
		return;
	}
	nv = *v;
	memset(&nv[*n], 0, sizeof(nv[*n]));
	nv[*n].transport = sw__strdup(transport);
	nv[*n].scope = scope_norm(scope);
	nv[*n].line = line;
	settings_init(&nv[*n].s);
	*out = &nv[(*n)++];
}

static void parse_lists(loader *l, const sw_yaml *root, const char *key, int level)
{
	const sw_yaml *m = sw_yaml_get(root, key), *e;
	static const char *const k[] = { "allow", "deny", NULL };
	static const char *const levels[] = { "a registry host", "a namespace (host/namespace)",
					      "a repository (host/namespace/name)" };
	int allow;

	if (m && level == 0 && m->type == SW_YAML_SCALAR && strcmp(m->s, "any") == 0) {
		l->p->any_registry = true; /* the explicit opt-out of complete allow lists */
		return;
	}
	if (!m || !want_map(l, m, key))
		return;
	unknown_keys(l, m, key, k);
	for (allow = 1; allow >= 0; allow--) {
		const sw_yaml *list = sw_yaml_get(m, allow ? "allow" : "deny");
		if (!list)
			continue;
		if (list->type != SW_YAML_SEQ) {
			problem(l, list->line, "%s.%s must be a list", key, allow ? "allow" : "deny");
			continue;
		}
		for (e = list->child; e; e = e->next) {
			char why[600];
			int lv;
			entry *en;
			if (e->type != SW_YAML_SCALAR) {
				problem(l, e->line, "%s.%s: each entry is one name", key, allow ? "allow" : "deny");
				continue;
			}
			lv = scope_check(e->s, why, sizeof(why));
			if (lv < 0) {
				problem(l, e->line, "%s", why);
				continue;
			}
			if ((level == 0 && lv != 0) || (level == 1 && lv != 1) || (level == 2 && lv < 2)) {
				problem(l, e->line, "%s.%s: \"%s\" is not %s", key, allow ? "allow" : "deny", e->s,
					levels[level]);
				continue;
			}
			add_entry(l, &l->p->lists, &l->p->nlists, "docker", e->s, e->line, &en);
			if (en) {
				en->allow = allow;
				en->level = level;
			}
		}
	}
}

static void load_yaml(loader *l, const sw_yaml *root)
{
	static const char *const top[] = { "version", "mode", "registries", "namespaces", "repositories",
					   "names", "require", "scan", "overrides", NULL };
	const sw_yaml *v, *o;

	if (!root || root->type != SW_YAML_MAP) {
		problem(l, root ? root->line : 1, "a policy is a mapping that starts with \"version: 1\"");
		return;
	}
	unknown_keys(l, root, "policy", top);
	v = sw_yaml_get(root, "version");
	if (!v)
		problem(l, 1, "\"version: 1\" is required");
	else if (!sw_yaml_str(v) || strcmp(v->s, "1") != 0)
		problem(l, v->line, "version must be 1");
	parse_settings(l, root, &l->p->base, "");
	parse_lists(l, root, "registries", 0);
	parse_lists(l, root, "namespaces", 1);
	parse_lists(l, root, "repositories", 2);
	if ((o = sw_yaml_get(root, "overrides"))) {
		if (o->type != SW_YAML_SEQ) {
			problem(l, o->line, "overrides must be a list of {scope: ..., ...}");
			return;
		}
		for (v = o->child; v; v = v->next) {
			static const char *const k[] = { "scope", "mode", "names", "require", "scan", NULL };
			const sw_yaml *sc;
			char why[600];
			entry *en;
			if (!want_map(l, v, "an override"))
				continue;
			unknown_keys(l, v, "override", k);
			sc = sw_yaml_get(v, "scope");
			if (!sc || !sw_yaml_str(sc)) {
				problem(l, v->line, "an override needs a scope (host, host/namespace or host/repository)");
				continue;
			}
			if (scope_check(sc->s, why, sizeof(why)) < 0) {
				problem(l, sc->line, "%s", why);
				continue;
			}
			add_entry(l, &l->p->overrides, &l->p->noverrides, "docker", sc->s, sc->line, &en);
			if (en)
				parse_settings(l, v, &en->s, "override: ");
		}
	}
}

/* ---- containers-policy.json ---- */

static bool strict_keys(loader *l, const sw_json *obj, const char *where, const char *const *known)
{
	const sw_json *c;
	bool ok = true;

	for (c = obj->child; c; c = c->next) {
		const char *const *k;
		for (k = known; *k; k++)
			if (strcmp(c->key, *k) == 0)
				break;
		if (!*k) {
			problem(l, 0, "%s: unknown field \"%s\" (containers-policy.json is strict: the whole file is rejected)",
				where, c->key);
			ok = false;
		}
	}
	return ok;
}

static void cp_keydata(loader *l, settings *s, const char *b64, const char *where)
{
	/* keyData is the base64 of the PEM file: keep it decoded in a private file? No:
	 * keep it inline, marked with "data:" so the verifier reads it from memory */
	char *k = sw__asprintf("data:%s", b64);

	(void)where;
	if (s->nkeys < 0)
		s->nkeys = 0;
	if (!k || s->nkeys >= SW_POLICY_MAX_KEYS) {
		free(k);
		problem(l, 0, "%s: at most %d keys", where, SW_POLICY_MAX_KEYS);
		return;
	}
	s->keys[s->nkeys++] = k;
}

static void cp_requirements(loader *l, const sw_json *arr, settings *s, const char *where)
{
	const sw_json *r;

	if (!arr || arr->type != SW_JSON_ARR || !arr->n) {
		problem(l, 0, "%s: a non-empty list of requirements is required", where);
		return;
	}
	for (r = arr->child; r; r = r->next) {
		const char *type = r->type == SW_JSON_OBJ ? sw_json_get_str(r, "type") : NULL;
		if (!type) {
			problem(l, 0, "%s: each requirement is an object with a \"type\"", where);
			continue;
		}
		if (strcmp(type, "insecureAcceptAnything") == 0) {
			static const char *const k[] = { "type", NULL };
			strict_keys(l, r, where, k);
			if (s->verdict == ACT_UNSET)
				s->verdict = ACT_ALLOW;
		} else if (strcmp(type, "reject") == 0) {
			static const char *const k[] = { "type", NULL };
			strict_keys(l, r, where, k);
			s->verdict = ACT_DENY;
		} else if (strcmp(type, "sigstoreSigned") == 0) {
			static const char *const k[] = { "type", "keyPath", "keyPaths", "keyData", "keyDatas",
							 "fulcio", "pki", "rekorPublicKeyPath", "rekorPublicKeyPaths",
							 "rekorPublicKeyData", "rekorPublicKeyDatas", "signedIdentity",
							 NULL };
			const sw_json *e;
			int given = 0;
			strict_keys(l, r, where, k);
			if (sw_json_get_str(r, "keyPath")) {
				given++;
				add_key(l, s, sw_json_get_str(r, "keyPath"), 0, false);
			}
			if (sw_json_get_str(r, "keyData")) {
				given++;
				cp_keydata(l, s, sw_json_get_str(r, "keyData"), where);
			}
			if ((e = sw_json_get_arr(r, "keyPaths"))) {
				given++;
				for (e = e->child; e; e = e->next)
					if (e->type == SW_JSON_STR)
						add_key(l, s, e->s, 0, false);
			}
			if ((e = sw_json_get_arr(r, "keyDatas"))) {
				given++;
				for (e = e->child; e; e = e->next)
					if (e->type == SW_JSON_STR)
						cp_keydata(l, s, e->s, where);
			}
			if (sw_json_get(r, "fulcio") || sw_json_get(r, "pki")) {
				given++;
				problem(l, 0, "%s: sigstoreSigned with fulcio or pki (keyless) is not supported: "
					"stowaway verifies keyed signatures", where);
			}
			if (given != 1)
				problem(l, 0, "%s: sigstoreSigned needs exactly one of keyPath, keyPaths, keyData, keyDatas",
					where);
		} else if (strcmp(type, "signedBy") == 0) {
			problem(l, 0, "%s: signedBy (GPG simple signing) is not supported: use sigstoreSigned", where);
		} else {
			problem(l, 0, "%s: unknown requirement type \"%s\"", where, type);
		}
	}
}

static void load_containers_json(loader *l, const sw_json *root)
{
	static const char *const top[] = { "default", "transports", NULL };
	const sw_json *t, *tr, *sc;

	if (!root || root->type != SW_JSON_OBJ) {
		problem(l, 0, "containers-policy.json must be a JSON object");
		return;
	}
	strict_keys(l, root, "policy", top);
	if (!sw_json_get_arr(root, "default"))
		problem(l, 0, "\"default\" is required");
	else
		cp_requirements(l, sw_json_get_arr(root, "default"), &l->p->base, "default");
	/* names are not part of containers-policy.json: warn about look-alikes */
	l->p->base.typosquat = l->p->base.impersonation = ACT_WARN;
	if (!(t = sw_json_get(root, "transports")))
		return;
	if (t->type != SW_JSON_OBJ) {
		problem(l, 0, "\"transports\" must be an object");
		return;
	}
	for (tr = t->child; tr; tr = tr->next) {
		static const char *const known[] = { "docker", "atomic", "containers-storage", "dir",
						     "docker-archive", "docker-daemon", "oci", "oci-archive",
						     "sif", "tarball", NULL };
		const char *const *k;
		for (k = known; *k; k++)
			if (strcmp(tr->key, *k) == 0)
				break;
		if (!*k) {
			problem(l, 0, "transports: unknown transport \"%s\"", tr->key);
			continue;
		}
		if (tr->type != SW_JSON_OBJ) {
			problem(l, 0, "transports.%s must be an object of scopes", tr->key);
			continue;
		}
		for (sc = tr->child; sc; sc = sc->next) {
			char where[600], why[600];
			entry *en;
			snprintf(where, sizeof(where), "transports.%s[\"%.400s\"]", tr->key, sc->key);
			if (strcmp(tr->key, "docker") == 0 && sc->key[0] && scope_check(sc->key, why, sizeof(why)) < 0) {
				problem(l, 0, "%s: %s", where, why);
				continue;
			}
			add_entry(l, &l->p->overrides, &l->p->noverrides, tr->key, sc->key, 0, &en);
			if (!en)
				continue;
			cp_requirements(l, sc, &en->s, where);
			/* a scope's requirements replace the default's whole, as in
			 * containers/image: sigstoreSigned alone accepts what its keys
			 * verify, and keys the scope does not name are not asked for */
			if (en->s.verdict == ACT_UNSET)
				en->s.verdict = ACT_ALLOW;
			if (en->s.nkeys < 0)
				en->s.nkeys = 0;
		}
	}
}

/* ---- loading ---- */

static int finish(loader *l, sw_policy **out, sw_policy_problem **probs, size_t *nprobs, sw_error *err)
{
	*probs = l->probs;
	*nprobs = l->nprobs;
	if (l->nprobs) {
		sw_error_set(err, SW_EFORMAT, "%s:%d: %s", l->name, l->probs[0].line, l->probs[0].msg);
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
	settings_init(&l.p->base);
	/* up to the NUL sw_buf_cstr puts after the data: a file of white
	 * space only was sniffed by the byte the heap left after it */
	for (p = sw_buf_cstr(&b); isspace((unsigned char)*p); p++)
		;
	if (*p == '{') {
		sw_json_doc *doc = NULL;
		sw_error jerr = SW_ERROR_INIT;
		if (sw_json_parse(b.data, b.len, &doc, &jerr) < 0)
			problem(&l, 0, "not valid JSON: %s", jerr.msg);
		else
			load_containers_json(&l, sw_json_root(doc));
		sw_json_free(doc);
	} else {
		sw_yaml_doc *doc = NULL;
		sw_error yerr = SW_ERROR_INIT;
		/* parsed under a short name: "policy:LINE: why" fits in the
		 * message whatever the path's length (finish() names the file) */
		if (sw_yaml_parse(b.data ? b.data : "", b.len, "policy", &doc, &yerr) < 0) {
			/* "policy:LINE: why" -> the line and the why */
			const char *m = strncmp(yerr.msg, "policy:", 7) == 0 ? yerr.msg + 6 : "";
			int line = *m == ':' ? (int)strtol(m + 1, NULL, 10) : 0;
			const char *why = line ? strchr(m + 1, ':') : NULL;
			problem(&l, line, "%s", why ? why + 2 : yerr.msg);
		} else if (sw_yaml_ndocs(doc) != 1) {
			problem(&l, 0, "a policy is one YAML document (found %zu)", sw_yaml_ndocs(doc));
		} else {
			load_yaml(&l, sw_yaml_root(doc, 0));
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
	settings_init(&p->base);
	*out = p;
	return 0;
}

/* ---- deciding ---- */

void sw_decision_add(sw_decision *d, sw_reason_kind kind, int line, const char *fmt, ...)
{
	sw_reason *r;
	va_list ap;

	if (kind == SW_REASON_DENY && !d->enforce)
		kind = SW_REASON_WARN;
	if (kind == SW_REASON_DENY)
		d->allowed = false;
	if (d->nreasons >= SW_DECISION_MAX_REASONS)
		return;
	r = &d->reasons[d->nreasons++];
	r->kind = kind;
	r->line = line;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/* base, then the most specific override over it */
static void effective(const sw_policy *p, const char *transport, const char *host, const char *name,
		      const char *full, const char *path, settings *s, const entry **ov)
{
	const entry *best = NULL;
	int bestm = -1;
	size_t i;

	*s = p->base;
	for (i = 0; i < p->noverrides; i++) {
		const entry *e = &p->overrides[i];
		int m;
		if (strcmp(e->transport, transport) != 0)
			continue;
		m = strcmp(transport, "docker") == 0 ? (e->scope[0] ? scope_match(e->scope, host, name, full) : 0)
						     : path_match(e->scope, path ? path : "");
		if (m > bestm) {
			bestm = m;
			best = e;
		}
	}
	*ov = best;
	if (!best)
		return;
	if (best->s.mode >= 0)
		s->mode = best->s.mode;
	if (best->s.typosquat >= 0)
		s->typosquat = best->s.typosquat;
	if (best->s.impersonation >= 0)
		s->impersonation = best->s.impersonation;
	if (best->s.digest >= 0)
		s->digest = best->s.digest;
	if (best->s.max_severity != -1)
		s->max_severity = best->s.max_severity;
	if (best->s.verdict != ACT_UNSET)
		s->verdict = best->s.verdict;
	if (best->s.nkeys >= 0) {
		s->nkeys = best->s.nkeys;
		memcpy(s->keys, best->s.keys, sizeof(s->keys));
	}
	if (best->s.natt_keys >= 0) {
		s->natt_keys = best->s.natt_keys;
		memcpy(s->att_keys, best->s.att_keys, sizeof(s->att_keys));
		s->att_verdict = best->s.att_verdict;
		s->att_max_age = best->s.att_max_age;
	}
}

static const char *const list_names[] = { "registries", "namespaces", "repositories" };

static int entry_match(const entry *e, const char *host, const char *name, const char *full)
{
	if (e->level == 0 && e->scope[0] != '*')
		return strcmp(e->scope, host) == 0 ? (int)strlen(host) : -1;
	return scope_match(e->scope, host, name, full);
}

/* The allow and deny lists. A deny entry that matches denies, unless an
 * allow entry more specific than it matches too (deny docker.io/someuser,
 * allow docker.io/someuser/good). Allow lists are complete: when the policy
 * allows anything, a name no allow entry covers is denied (as Kyverno and
 * Gatekeeper users read an allow list), unless it says `registries: any`.
 * They also narrow, level by level: when
 * registries.allow is not empty the host must be in it; when
 * namespaces.allow names namespaces on this host, the namespace must be one
 * of them; when repositories.allow names repositories in this namespace,
 * the repository must be one of them. An allow entry of a deeper level
 * counts for the levels above it. Returns the deepest level that allowed
 * the name explicitly (-1 none). */
static int access_lists(const sw_policy *p, const char *host, const char *name, const char *full,
			sw_decision *d)
{
	const entry *deny = NULL, *allow = NULL;
	int dm = -1, am = -1, level, explicit_level = -1;
	size_t i, hl = strlen(host);
	char ns[600];
	const char *slash = strchr(name + hl + 1, '/');

	snprintf(ns, sizeof(ns), "%.*s", (int)(slash ? (size_t)(slash - name) : strlen(name)), name);
	for (i = 0; i < p->nlists; i++) {
		const entry *e = &p->lists[i];
		int m = entry_match(e, host, name, full);
		if (m < 0)
			continue;
		if (!e->allow && m > dm) {
			dm = m;
			deny = e;
		}
		if (e->allow && m > am) {
			am = m;
			allow = e;
		}
		if (e->allow && e->level > explicit_level)
			explicit_level = e->level;
	}
	if (deny && am <= dm) {
		sw_decision_add(d, SW_REASON_DENY, deny->line, "%s is denied: it matches \"%s\" in %s.deny", name,
				deny->scope, list_names[deny->level]);
		return -1;
	}
	if (!allow && !p->any_registry) {
		const entry *first = NULL;
		for (i = 0; i < p->nlists && !first; i++)
			if (p->lists[i].allow)
				first = &p->lists[i];
		if (first) {
			sw_decision_add(d, SW_REASON_DENY, first->line,
					"%s is not admitted: the policy's allow lists are complete and none covers it "
					"(registries.allow would need \"%s\", or namespaces.allow \"%s\"; "
					"`registries: any` admits what the lists do not name)", name, host, ns);
			return -1;
		}
	}
	for (level = 0; level < 3; level++) {
		bool applies = false, admitted = false;
		for (i = 0; i < p->nlists; i++) {
			const entry *e = &p->lists[i];
			if (!e->allow || e->level != level)
				continue;
			/* entries that speak about this name's registry / namespace */
			if (level == 0)
				applies = true;
			else if (level == 1)
				applies |= strncmp(e->scope, host, hl) == 0 && e->scope[hl] == '/';
			else
				applies |= strncmp(e->scope, ns, strlen(ns)) == 0 && e->scope[strlen(ns)] == '/';
		}
		if (!applies)
			continue;
		for (i = 0; i < p->nlists && !admitted; i++)
			admitted = p->lists[i].allow && p->lists[i].level >= level &&
				   entry_match(&p->lists[i], host, name, full) >= 0;
		if (!admitted) {
			sw_decision_add(d, SW_REASON_DENY, 0, "%s is not admitted: %s not in %s.allow", name,
					level == 0 ? "its registry is" : level == 1 ? "its namespace is" : "it is",
					list_names[level]);
			return -1;
		}
	}
	if (allow)
		sw_decision_add(d, SW_REASON_INFO, allow->line, "allowed by \"%s\" in %s.allow", allow->scope,
				list_names[allow->level]);
	return explicit_level;
}

void sw_policy_decide(const sw_policy *p, const char *transport, const sw_ref *ref, const char *path,
		      const sw_name_result *nr, sw_decision *d)
{
	char host[256], name[600], full[800];
	const entry *ov = NULL;
	settings s;
	size_t i;
	int explicit_level = -1;
	bool docker = strcmp(transport, "docker") == 0;

	memset(d, 0, sizeof(*d));
	d->allowed = true;
	host[0] = name[0] = full[0] = '\0';
	if (docker) {
		snprintf(host, sizeof(host), "%s", ref->domain);
		sw_ref_format(ref, SW_REF_NAME, name, sizeof(name));
		sw_ref_format(ref, SW_REF_FULL, full, sizeof(full));
	}
	effective(p, transport, host, name, full, path, &s, &ov);
	d->enforce = s.mode != 0;
	if (ov)
		sw_decision_add(d, SW_REASON_INFO, ov->line, "policy scope \"%s\" applies%s", ov->scope[0] ? ov->scope : "\"\"",
				strcmp(ov->transport, "docker") ? " (local transport)" : "");
	if (s.verdict == ACT_DENY)
		sw_decision_add(d, SW_REASON_DENY, ov ? ov->line : 0, "rejected by the policy (%s)",
				ov ? "its scope says reject" : "its default says reject");
	/* access lists */
	if (docker)
		explicit_level = access_lists(p, host, name, full, d);
	/* look-alike names, unless the policy names this repository, or this
	 * namespace, itself (allowing docker.io/library vouches for the
	 * official images, not for a misspelt one) */
	if (docker && explicit_level == 1 && strncmp(name, "docker.io/library/", 18) == 0)
		explicit_level = -1;
	if (docker && nr && nr->verdict != SW_NAME_OK && explicit_level < 1) {
		int act = nr->verdict == SW_NAME_TYPOSQUAT ? s.typosquat : s.impersonation;
		if (act == ACT_UNSET)
			act = ACT_DENY;
		if (act != ACT_ALLOW)
			sw_decision_add(d, act == ACT_DENY ? SW_REASON_DENY : SW_REASON_WARN, 0, "%s: %s (the real one is %s)",
					sw_name_verdict_str(nr->verdict), nr->reason, nr->resembles);
	}
	if (docker && s.digest == 1 && !ref->digest[0])
		sw_decision_add(d, SW_REASON_DENY, 0,
				"the policy requires a digest and %s has none: a tag can be moved to other content; pin it as %s@sha256:...",
				full, name);
	if (s.max_severity != -1) {
		d->need_scan = true;
		d->max_severity = s.max_severity == -2 ? -1 : s.max_severity;
	}
	if (s.natt_keys > 0) {
		d->need_attestation = true;
		d->att_verdict = s.att_verdict;
		d->att_max_age_days = s.att_max_age;
		for (i = 0; i < (size_t)s.natt_keys && i < SW_POLICY_MAX_KEYS; i++)
			d->att_keys[d->natt_keys++] = s.att_keys[i];
	}
	if (s.nkeys > 0) {
		d->need_signature = true;
		for (i = 0; i < (size_t)s.nkeys && i < SW_POLICY_MAX_KEYS; i++)
			d->keys[d->nkeys++] = s.keys[i];
	}
}
