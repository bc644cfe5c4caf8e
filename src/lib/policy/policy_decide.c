/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A policy's decision on one reference (see policy.c): the settings that
 * apply (the base, then the most specific override), the access lists,
 * look-alike names, the digest, and what the policy asks to be checked
 * besides (scan, signature, attestation), every reason with its line.
 *
 * Under a containers-policy.json the decision is containers/image's
 * (signature/policy_eval.go, docker/policyconfiguration/naming.go): the
 * requirements of the first scope found, in this order, apply, and every
 * one of them must pass:
 *   docker: the reference as named (":latest" added when it has neither
 *     tag nor digest; one with both is refused), then its repository and
 *     each parent namespace up to the host with its port, then "*.DOMAIN"
 *     for each domain of the host without its port; scopes are compared
 *     as written;
 *   oci, oci-archive, dir: the image's absolute path without symbolic
 *     links (never a ":TAG" suffix), then each parent directory;
 *   docker-archive: "" only;
 * then the transport's "" scope, then "default".
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
	if (best->s.on_timeout >= 0) {
		s->on_timeout = best->s.on_timeout;
		s->on_timeout_line = best->s.on_timeout_line;
	}
	if (best->s.scan_pending >= 0) {
		s->scan_pending = best->s.scan_pending;
		s->scan_pending_line = best->s.scan_pending_line;
	}
	if (best->s.nkeys >= 0) { /* the requirement is replaced whole */
		s->nkeys = best->s.nkeys;
		memcpy(s->keys, best->s.keys, sizeof(s->keys));
		s->kl_identity = best->s.kl_identity;
		s->kl_identity_re = best->s.kl_identity_re;
		s->kl_issuer = best->s.kl_issuer;
		s->kl_issuer_re = best->s.kl_issuer_re;
		s->kl_root = best->s.kl_root;
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

/* ---- containers-policy.json ---- */

static const cp_scope *cp_find(const sw_policy *p, const char *transport, const char *scope)
{
	size_t i;

	for (i = 0; i < p->ncp; i++)
		if (strcmp(p->cp[i].transport, transport) == 0 && strcmp(p->cp[i].scope, scope) == 0)
			return &p->cp[i];
	return NULL;
}

/* The first scope of containers/image's lookup order (NULL: default). */
static const cp_scope *cp_lookup(const sw_policy *p, const char *transport, const sw_ref *ref, const char *path)
{
	const cp_scope *sc;
	char name[600], id[800];
	char *c;

	if (strcmp(transport, "docker") == 0) {
		sw_ref_format(ref, SW_REF_NAME, name, sizeof(name));
		snprintf(id, sizeof(id), "%s%s%s", name, ref->tag[0] ? ":" : ref->digest[0] ? "@" : ":latest",
			 ref->tag[0] ? ref->tag : ref->digest);
		if ((sc = cp_find(p, transport, id)))
			return sc;
		for (;;) {
			if ((sc = cp_find(p, transport, name)))
				return sc;
			if (!(c = strrchr(name, '/')))
				break;
			*c = '\0';
		}
		/* the host: its port goes, then "*.b.c", "*.c" */
		if ((c = strchr(name, ':')))
			*c = '\0';
		for (c = strchr(name, '.'); c; c = strchr(c + 1, '.')) {
			snprintf(id, sizeof(id), "*%s", c);
			if ((sc = cp_find(p, transport, id)))
				return sc;
		}
	} else if (strcmp(transport, "docker-archive") != 0 && path && path[0] == '/') {
		snprintf(name, sizeof(name), "%s", path);
		while (name[0] && strcmp(name, "/") != 0) {
			if ((sc = cp_find(p, transport, name)))
				return sc;
			if (!(c = strrchr(name, '/')))
				break;
			*c = '\0';
		}
	}
	return cp_find(p, transport, "");
}

static void cp_signature(const cp_req *r, sw_decision *d)
{
	sw_sig_require *s;
	size_t k;

	if (d->nsigs >= SW_DECISION_MAX_SIGS) {
		sw_decision_add(d, SW_REASON_DENY, r->line, "more than %d signature requirements apply",
				SW_DECISION_MAX_SIGS);
		return;
	}
	s = &d->sigs[d->nsigs++];
	for (k = 0; k < r->nkeys; k++)
		s->keys[s->nkeys++] = r->keys[k];
	for (k = 0; k < r->nrekor; k++)
		s->rekor_keys[s->nrekor_keys++] = r->rekor[k];
	s->fulcio_ca = r->fulcio_ca;
	s->fulcio_issuer = r->fulcio_issuer;
	s->fulcio_email = r->fulcio_email;
	s->identity.rule = r->id_rule;
	s->identity.value = r->id_value;
	s->identity.signed_prefix = r->id_signed_prefix;
	s->line = r->line;
	d->need_signature = true;
}

void sw_policy__decide_containers(const sw_policy *p, const char *transport, const sw_ref *ref, const char *path,
				  const sw_name_result *nr, sw_decision *d)
{
	const cp_scope *sc;
	bool docker = strcmp(transport, "docker") == 0;
	size_t i;

	if (docker && ref->tag[0] && ref->digest[0]) {
		sw_decision_add(d, SW_REASON_DENY, 0, "a reference with both a tag and a digest: containers/image "
				"refuses it (name it by digest alone)");
		return;
	}
	if ((sc = cp_lookup(p, transport, ref, path)))
		sw_decision_add(d, SW_REASON_INFO, sc->line, "policy scope %s[\"%s\"] applies", sc->transport, sc->scope);
	else
		sc = &p->cp_default;
	for (i = 0; i < sc->nreqs; i++) {
		const cp_req *r = &sc->reqs[i];
		const char *where = sc == &p->cp_default ? "its default" : "its scope";
		switch (r->kind) {
		case CP_ACCEPT:
			break;
		case CP_REJECT:
			sw_decision_add(d, SW_REASON_DENY, r->line, "rejected by the policy (%s says reject)", where);
			break;
		case CP_SIGNED_BY:
			sw_decision_add(d, SW_REASON_DENY, r->line, "the policy (%s) requires a signedBy (GPG) signature, "
					"which stowaway does not verify", where);
			break;
		case CP_BASE_LAYER:
			sw_decision_add(d, SW_REASON_DENY, r->line, "the policy (%s) requires signedBaseLayer, which is "
					"not implemented", where);
			break;
		case CP_SIGSTORE:
			if (r->keyless)
				sw_decision_add(d, SW_REASON_DENY, r->line, "the policy (%s) requires a pki signature, "
						"which stowaway does not verify", where);
			else
				cp_signature(r, d);
			break;
		}
	}
	/* names are not part of the format: look-alikes are warned about */
	if (docker && nr && nr->verdict != SW_NAME_OK)
		sw_decision_add(d, SW_REASON_WARN, 0, "%s: %s (the real one is %s)", sw_name_verdict_str(nr->verdict),
				nr->reason, nr->resembles);
}

void sw_policy_judge_name(const sw_policy *p, const sw_name_result *nr, const char *what, sw_decision *d)
{
	char host[256], name[600], full[800];
	const entry *ov = NULL;
	sw_decision scratch;
	settings s;
	int explicit_level, act;

	if (nr->verdict == SW_NAME_OK)
		return;
	if (p->containers) {
		sw_decision_add(d, SW_REASON_WARN, 0, "%s: %s: %s (the real one is %s)", what,
				sw_name_verdict_str(nr->verdict), nr->reason, nr->resembles);
		return;
	}
	snprintf(host, sizeof(host), "%s", nr->ref.domain);
	sw_ref_format(&nr->ref, SW_REF_NAME, name, sizeof(name));
	sw_ref_format(&nr->ref, SW_REF_FULL, full, sizeof(full));
	effective(p, "docker", host, name, full, NULL, &s, &ov);
	/* the access lists only say whether the policy names it itself: their
	 * reasons are about a registry image, which this is not */
	memset(&scratch, 0, sizeof(scratch));
	explicit_level = access_lists(p, host, name, full, &scratch);
	if (explicit_level == 1 && strncmp(name, "docker.io/library/", 18) == 0)
		explicit_level = -1;
	if (explicit_level >= 1)
		return;
	act = nr->verdict == SW_NAME_TYPOSQUAT ? s.typosquat : s.impersonation;
	if (act == ACT_UNSET)
		act = ACT_DENY;
	if (act != ACT_ALLOW)
		sw_decision_add(d, act == ACT_DENY ? SW_REASON_DENY : SW_REASON_WARN, 0, "%s: %s: %s (the real one is %s)",
				what, sw_name_verdict_str(nr->verdict), nr->reason, nr->resembles);
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
	if (p->containers) {
		d->enforce = true;
		sw_policy__decide_containers(p, transport, ref, path, nr, d);
		return;
	}
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
	d->on_timeout_allow = s.on_timeout == 1;
	d->on_timeout_line = s.on_timeout_line;
	d->scan_pending_warn = s.scan_pending == 1;
	d->scan_pending_line = s.scan_pending_line;
	if (s.natt_keys > 0) {
		d->need_attestation = true;
		d->att_verdict = s.att_verdict;
		d->att_max_age_days = s.att_max_age;
		for (i = 0; i < (size_t)s.natt_keys && i < SW_POLICY_MAX_KEYS; i++)
			d->att_keys[d->natt_keys++] = s.att_keys[i];
	}
	if (s.nkeys > 0 || s.kl_identity || s.kl_identity_re) {
		/* require.signature: one of the keys, or keyless for the identity
		 * and issuer, signed under the image's repository (cosign signs
		 * the repository) */
		sw_sig_require *sg = &d->sigs[d->nsigs++];
		d->need_signature = true;
		for (i = 0; i < (size_t)s.nkeys && i < SW_POLICY_MAX_KEYS; i++)
			sg->keys[sg->nkeys++] = s.keys[i];
		sg->cert_identity = s.kl_identity;
		sg->cert_identity_regexp = s.kl_identity_re;
		sg->cert_issuer = s.kl_issuer;
		sg->cert_issuer_regexp = s.kl_issuer_re;
		sg->trusted_root = s.kl_root;
		sg->identity.rule = SW_IDENTITY_REPOSITORY;
		sg->line = ov && ov->s.nkeys >= 0 ? ov->line : 0;
	}
}
