/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The stowaway YAML policy (docs/policy.md) into the model (see policy.c):
 * version, mode, the access lists of registries, namespaces and
 * repositories, names, require (digest, signature, attestation), scan, and
 * overrides by scope. Every value that is not what it should be, and every
 * unknown key, is a problem with its line; the reader goes on to find the
 * others.
 */
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy_int.h"
#include "../util/banned.h"

static int parse_action(loader *l, const sw_yaml *v, const char *what)
{
	const char *s = sw_yaml_str(v);

	if (s && strcmp(s, "deny") == 0)
		return ACT_DENY;
	if (s && strcmp(s, "warn") == 0)
		return ACT_WARN;
	if (s && strcmp(s, "allow") == 0)
		return ACT_ALLOW;
	sw_policy__problem(l, v->line, "%s must be deny, warn or allow", what);
	return ACT_UNSET;
}

static int parse_bool(loader *l, const sw_yaml *v, const char *what)
{
	const char *s = sw_yaml_str(v);

	if (s && (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0))
		return 1;
	if (s && (strcmp(s, "false") == 0 || strcmp(s, "no") == 0))
		return 0;
	sw_policy__problem(l, v->line, "%s must be true or false", what);
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
			sw_policy__problem(l, c->line, "%s: unknown key \"%s\"", where, c->key);
	}
}

static bool want_map(loader *l, const sw_yaml *v, const char *what)
{
	if (v->type == SW_YAML_MAP)
		return true;
	sw_policy__problem(l, v->line, "%s must be a mapping (key: value lines)", what);
	return false;
}

/* A choice of two words: 0 for the first, 1 for the second, -1 (a
 * problem) for anything else. */
static int parse_choice(loader *l, const sw_yaml *v, const char *what, const char *w0, const char *w1)
{
	const char *s = sw_yaml_str(v);

	if (s && strcmp(s, w0) == 0)
		return 0;
	if (s && strcmp(s, w1) == 0)
		return 1;
	sw_policy__problem(l, v->line, "%s must be %s or %s", what, w0, w1);
	return -1;
}

/* names, require, scan, mode, on_timeout: the settings an override may
 * change too. */
/* A string member, kept (malloc'd); a problem when it is not one. */
static char *opt_str(loader *l, const sw_yaml *m, const char *key, const char *where)
{
	const sw_yaml *v = sw_yaml_get(m, key);
	char *out;

	if (!v)
		return NULL;
	if (v->type != SW_YAML_SCALAR || !v->slen) {
		sw_policy__problem(l, v->line, "%s.%s must be a string", where, key);
		return NULL;
	}
	if (!(out = sw__strdup(v->s)))
		sw_policy__problem(l, v->line, "out of memory");
	return out;
}

static void check_regexp(loader *l, const sw_yaml *m, const char *key, const char *re)
{
	regex_t rx;

	if (!re)
		return;
	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
		sw_policy__problem(l, sw_yaml_get(m, key)->line, "require.signature.%s: not a regular expression (POSIX "
				   "extended)", key);
	else
		regfree(&rx);
}

/* require.signature: keys, or keyless (identity or identity_regexp, and
 * issuer or issuer_regexp, checked against trusted_root or the built-in
 * root), or both: either kind of signature counts. */
static void parse_signature(loader *l, const sw_yaml *c, settings *s)
{
	static const char *const ks[] = { "keys", "identity", "identity_regexp", "issuer", "issuer_regexp",
					  "trusted_root", NULL };
	const sw_yaml *keys = sw_yaml_get(c, "keys"), *e;
	const char *w = "require.signature";
	char *root;

	unknown_keys(l, c, w, ks);
	s->nkeys = 0;
	s->kl_identity = opt_str(l, c, "identity", w);
	s->kl_identity_re = opt_str(l, c, "identity_regexp", w);
	s->kl_issuer = opt_str(l, c, "issuer", w);
	s->kl_issuer_re = opt_str(l, c, "issuer_regexp", w);
	check_regexp(l, c, "identity_regexp", s->kl_identity_re);
	check_regexp(l, c, "issuer_regexp", s->kl_issuer_re);
	if ((root = opt_str(l, c, "trusted_root", w))) {
		s->kl_root = sw_policy__key_path(l, root);
		free(root);
		if (s->kl_root && access(s->kl_root, R_OK) != 0)
			sw_policy__problem(l, sw_yaml_get(c, "trusted_root")->line, "trusted root \"%s\": %s", s->kl_root,
					   strerror(errno));
	}
	if ((s->kl_identity && s->kl_identity_re) || (s->kl_issuer && s->kl_issuer_re))
		sw_policy__problem(l, c->line, "%s: identity or identity_regexp, issuer or issuer_regexp: not both", w);
	if ((s->kl_identity || s->kl_identity_re) != (s->kl_issuer || s->kl_issuer_re))
		sw_policy__problem(l, c->line, "%s: a keyless signature needs an identity and an issuer", w);
	if (s->kl_root && !s->kl_identity && !s->kl_identity_re)
		sw_policy__problem(l, c->line, "%s: trusted_root is for keyless signatures (identity, issuer)", w);
	if (!keys && !s->kl_identity && !s->kl_identity_re) {
		sw_policy__problem(l, c->line, "%s needs keys (public key files) or identity and issuer (keyless)", w);
		return;
	}
	if (keys && keys->type != SW_YAML_SEQ) {
		sw_policy__problem(l, keys->line, "require.signature.keys must be a list of public key files");
		return;
	}
	for (e = keys ? keys->child : NULL; e; e = e->next) {
		if (e->type != SW_YAML_SCALAR || !e->slen)
			sw_policy__problem(l, e->line, "a signature key is a file path");
		else
			sw_policy__add_key(l, s, e->s, e->line, true);
	}
}

static void parse_settings(loader *l, const sw_yaml *m, settings *s, const char *where)
{
	const sw_yaml *v, *c;

	if ((v = sw_yaml_get(m, "on_timeout"))) {
		s->on_timeout = parse_choice(l, v, "on_timeout", "deny", "allow");
		s->on_timeout_line = v->line;
	}
	if ((v = sw_yaml_get(m, "mode"))) {
		const char *t = sw_yaml_str(v);
		if (t && strcmp(t, "enforce") == 0)
			s->mode = 1;
		else if (t && strcmp(t, "warn") == 0)
			s->mode = 0;
		else
			sw_policy__problem(l, v->line, "%smode must be enforce or warn", where);
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
		if ((c = sw_yaml_get(v, "signature")) && want_map(l, c, "require.signature"))
			parse_signature(l, c, s);
	}
	if ((v = sw_yaml_get(m, "require")) && v->type == SW_YAML_MAP && (c = sw_yaml_get(v, "attestation")) &&
	    want_map(l, c, "require.attestation")) {
		static const char *const ka[] = { "keys", "verdict", "max_age_days", NULL };
		const sw_yaml *keys = sw_yaml_get(c, "keys"), *e, *x;
		unknown_keys(l, c, "require.attestation", ka);
		if (!keys || keys->type != SW_YAML_SEQ) {
			sw_policy__problem(l, c->line, "require.attestation.keys must be a list of public key files");
		} else {
			s->natt_keys = 0;
			for (e = keys->child; e; e = e->next) {
				if (e->type != SW_YAML_SCALAR || !e->slen || s->natt_keys >= SW_POLICY_MAX_KEYS) {
					sw_policy__problem(l, e->line, "a key is a file path (at most %d)", SW_POLICY_MAX_KEYS);
					continue;
				}
				char *full = sw_policy__key_path(l, e->s);
				if (!full) {
					sw_policy__problem(l, e->line, "out of memory");
					continue;
				}
				if (access(full, R_OK) != 0)
					sw_policy__problem(l, e->line, "attestation key \"%s\": %s", full, strerror(errno));
				s->att_keys[s->natt_keys++] = full;
			}
		}
		s->att_verdict = 2;
		if ((x = sw_yaml_get(c, "verdict"))) {
			const char *t = sw_yaml_str(x);
			s->att_verdict = t && !strcmp(t, "clean") ? 0 : t && !strcmp(t, "suspicious") ? 1 :
					 t && !strcmp(t, "malicious") ? 2 : -2;
			if (s->att_verdict == -2)
				sw_policy__problem(l, x->line, "require.attestation.verdict must be clean, suspicious or malicious");
		}
		s->att_max_age = 0;
		if ((x = sw_yaml_get(c, "max_age_days"))) {
			const char *t = sw_yaml_str(x);
			char *end = NULL;
			long d = t ? strtol(t, &end, 10) : -1;
			if (!t || *end || d < 1 || d > 100000)
				sw_policy__problem(l, x->line, "require.attestation.max_age_days must be a number of days");
			else
				s->att_max_age = (int)d;
		}
	}
	if ((v = sw_yaml_get(m, "scan")) && want_map(l, v, "scan")) {
		static const char *const k[] = { "max_severity", "pending", NULL };
		unknown_keys(l, v, "scan", k);
		if ((c = sw_yaml_get(v, "pending"))) {
			s->scan_pending = parse_choice(l, c, "scan.pending", "deny", "warn");
			s->scan_pending_line = c->line;
		}
		if ((c = sw_yaml_get(v, "max_severity"))) {
			sw_severity sev;
			const char *t = sw_yaml_str(c);
			if (t && strcmp(t, "none") == 0)
				s->max_severity = -2;
			else if (t && sw_severity_parse(t, &sev) == 0)
				s->max_severity = (int)sev;
			else
				sw_policy__problem(l, c->line, "scan.max_severity must be none, info, low, medium, high or critical");
		}
	}
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
			sw_policy__problem(l, list->line, "%s.%s must be a list", key, allow ? "allow" : "deny");
			continue;
		}
		for (e = list->child; e; e = e->next) {
			char why[600];
			int lv;
			entry *en;
			if (e->type != SW_YAML_SCALAR) {
				sw_policy__problem(l, e->line, "%s.%s: each entry is one name", key, allow ? "allow" : "deny");
				continue;
			}
			lv = sw_policy__scope_check(e->s, why, sizeof(why));
			if (lv < 0) {
				sw_policy__problem(l, e->line, "%s", why);
				continue;
			}
			if ((level == 0 && lv != 0) || (level == 1 && lv != 1) || (level == 2 && lv < 2)) {
				sw_policy__problem(l, e->line, "%s.%s: \"%s\" is not %s", key, allow ? "allow" : "deny", e->s,
						   levels[level]);
				continue;
			}
			sw_policy__add_entry(l, &l->p->lists, &l->p->nlists, "docker", e->s, e->line, &en);
			if (en) {
				en->allow = allow;
				en->level = level;
			}
		}
	}
}

void sw_policy__load_yaml(loader *l, const sw_yaml *root)
{
	static const char *const top[] = { "version", "mode", "registries", "namespaces", "repositories",
					   "names", "require", "scan", "on_timeout", "overrides", NULL };
	const sw_yaml *v, *o;

	if (!root || root->type != SW_YAML_MAP) {
		sw_policy__problem(l, root ? root->line : 1, "a policy is a mapping that starts with \"version: 1\"");
		return;
	}
	unknown_keys(l, root, "policy", top);
	v = sw_yaml_get(root, "version");
	if (!v)
		sw_policy__problem(l, 1, "\"version: 1\" is required");
	else if (!sw_yaml_str(v) || strcmp(v->s, "1") != 0)
		sw_policy__problem(l, v->line, "version must be 1");
	parse_settings(l, root, &l->p->base, "");
	parse_lists(l, root, "registries", 0);
	parse_lists(l, root, "namespaces", 1);
	parse_lists(l, root, "repositories", 2);
	if ((o = sw_yaml_get(root, "overrides"))) {
		if (o->type != SW_YAML_SEQ) {
			sw_policy__problem(l, o->line, "overrides must be a list of {scope: ..., ...}");
			return;
		}
		for (v = o->child; v; v = v->next) {
			static const char *const k[] = { "scope", "mode", "names", "require", "scan", "on_timeout", NULL };
			const sw_yaml *sc;
			char why[600];
			entry *en;
			if (!want_map(l, v, "an override"))
				continue;
			unknown_keys(l, v, "override", k);
			sc = sw_yaml_get(v, "scope");
			if (!sc || !sw_yaml_str(sc)) {
				sw_policy__problem(l, v->line, "an override needs a scope (host, host/namespace or host/repository)");
				continue;
			}
			if (sw_policy__scope_check(sc->s, why, sizeof(why)) < 0) {
				sw_policy__problem(l, sc->line, "%s", why);
				continue;
			}
			sw_policy__add_entry(l, &l->p->overrides, &l->p->noverrides, "docker", sc->s, sc->line, &en);
			if (en)
				parse_settings(l, v, &en->s, "override: ");
		}
	}
}

/* ---- the reach of the access lists (warnings) ---- */

static const char *const list_names[] = { "registries", "namespaces", "repositories" };

/* The host of an entry's scope ("*.example.com" stays itself). */
static size_t host_len(const entry *e)
{
	const char *slash = strchr(e->scope, '/');

	return slash ? (size_t)(slash - e->scope) : strlen(e->scope);
}

/* Whether every name a matches is also matched by b (a within b's reach),
 * as sw_policy__scope_match matches: a wildcard covers longer hosts that
 * end with it, a host covers what is on it, a name covers its own
 * reference and what is under it. */
static bool within(const entry *a, const entry *b)
{
	size_t ah = host_len(a), bl = strlen(b->scope);
	const char *an = a->scope;

	if (b->scope[0] == '*') {
		const char *h = an[0] == '*' ? an + 1 : an; /* ".sub.example.com" or "r.example.com" */
		size_t hl = an[0] == '*' ? ah - 1 : ah;
		return hl > bl - 1 && strncmp(h + hl - (bl - 1), b->scope + 1, bl - 1) == 0;
	}
	if (an[0] == '*')
		return false;
	if (b->level == 0)
		return ah == bl && strncmp(an, b->scope, bl) == 0;
	if (strchr(b->scope, '@') || strchr(b->scope + host_len(b), ':'))
		return strcmp(an, b->scope) == 0; /* an exact reference */
	return strncmp(an, b->scope, bl) == 0 && (an[bl] == '\0' || an[bl] == '/' || an[bl] == ':' || an[bl] == '@');
}

/* An allow entry that the same scope's deny always beats (a tie goes to
 * the deny) never admits anything; a deny entry with a more specific
 * allow inside its reach does not deny what that allow admits. Both are
 * said, as warnings: the policy still loads. */
void sw_policy__lint_lists(loader *l)
{
	const sw_policy *p = l->p;
	size_t i, k;

	for (i = 0; i < p->nlists; i++) {
		const entry *d = &p->lists[i];
		if (d->allow)
			continue;
		for (k = 0; k < p->nlists; k++) {
			const entry *a = &p->lists[k];
			if (!a->allow || !within(a, d))
				continue;
			if (strcmp(a->scope, d->scope) == 0)
				sw_policy__warning(l, a->line, "%s.allow \"%s\" never admits anything: %s.deny names the same "
						   "scope (line %d), and a deny wins a tie", list_names[a->level], a->scope,
						   list_names[d->level], d->line);
			else
				sw_policy__warning(l, d->line, "%s.deny \"%s\" does not deny \"%s\": the more specific "
						   "%s.allow entry (line %d) admits it", list_names[d->level], d->scope,
						   a->scope, list_names[a->level], a->line);
		}
	}
}
