/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A policy's decision on one reference (see policy.c): the settings that
 * apply (the base, then the most specific override), the access lists,
 * look-alike names, the digest, and what the policy asks to be checked
 * besides (scan, signature, attestation), every reason with its line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy_int.h"
#include "../util/banned.h"

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
		m = strcmp(transport, "docker") == 0 ? (e->scope[0] ? sw_policy__scope_match(e->scope, host, name, full) : 0)
						     : sw_policy__path_match(e->scope, path ? path : "");
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
	return sw_policy__scope_match(e->scope, host, name, full);
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
