/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containers-policy.json (containers/image) into the model (see policy.c):
 * "default" and per-transport scopes with reject, insecureAcceptAnything
 * or sigstoreSigned (keyPath, keyPaths, keyData, keyDatas), read strictly
 * as containers/image reads it: an unknown field rejects the file. A
 * scope's requirements replace the default's whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"
#include "../util/banned.h"

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
			sw_policy__problem(l, 0, "%s: unknown field \"%s\" (containers-policy.json is strict: the whole file is rejected)",
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
		sw_policy__problem(l, 0, "%s: at most %d keys", where, SW_POLICY_MAX_KEYS);
		return;
	}
	s->keys[s->nkeys++] = k;
}

static void cp_requirements(loader *l, const sw_json *arr, settings *s, const char *where)
{
	const sw_json *r;

	if (!arr || arr->type != SW_JSON_ARR || !arr->n) {
		sw_policy__problem(l, 0, "%s: a non-empty list of requirements is required", where);
		return;
	}
	for (r = arr->child; r; r = r->next) {
		const char *type = r->type == SW_JSON_OBJ ? sw_json_get_str(r, "type") : NULL;
		if (!type) {
			sw_policy__problem(l, 0, "%s: each requirement is an object with a \"type\"", where);
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
				sw_policy__add_key(l, s, sw_json_get_str(r, "keyPath"), 0, false);
			}
			if (sw_json_get_str(r, "keyData")) {
				given++;
				cp_keydata(l, s, sw_json_get_str(r, "keyData"), where);
			}
			if ((e = sw_json_get_arr(r, "keyPaths"))) {
				given++;
				for (e = e->child; e; e = e->next)
					if (e->type == SW_JSON_STR)
						sw_policy__add_key(l, s, e->s, 0, false);
			}
			if ((e = sw_json_get_arr(r, "keyDatas"))) {
				given++;
				for (e = e->child; e; e = e->next)
					if (e->type == SW_JSON_STR)
						cp_keydata(l, s, e->s, where);
			}
			if (sw_json_get(r, "fulcio") || sw_json_get(r, "pki")) {
				given++;
				sw_policy__problem(l, 0, "%s: sigstoreSigned with fulcio or pki (keyless) is not supported: "
						   "stowaway verifies keyed signatures", where);
			}
			if (given != 1)
				sw_policy__problem(l, 0, "%s: sigstoreSigned needs exactly one of keyPath, keyPaths, keyData, keyDatas",
						   where);
		} else if (strcmp(type, "signedBy") == 0) {
			sw_policy__problem(l, 0, "%s: signedBy (GPG simple signing) is not supported: use sigstoreSigned", where);
		} else {
			sw_policy__problem(l, 0, "%s: unknown requirement type \"%s\"", where, type);
		}
	}
}

void sw_policy__load_containers_json(loader *l, const sw_json *root)
{
	static const char *const top[] = { "default", "transports", NULL };
	const sw_json *t, *tr, *sc;

	if (!root || root->type != SW_JSON_OBJ) {
		sw_policy__problem(l, 0, "containers-policy.json must be a JSON object");
		return;
	}
	strict_keys(l, root, "policy", top);
	if (!sw_json_get_arr(root, "default"))
		sw_policy__problem(l, 0, "\"default\" is required");
	else
		cp_requirements(l, sw_json_get_arr(root, "default"), &l->p->base, "default");
	/* names are not part of containers-policy.json: warn about look-alikes */
	l->p->base.typosquat = l->p->base.impersonation = ACT_WARN;
	if (!(t = sw_json_get(root, "transports")))
		return;
	if (t->type != SW_JSON_OBJ) {
		sw_policy__problem(l, 0, "\"transports\" must be an object");
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
			sw_policy__problem(l, 0, "transports: unknown transport \"%s\"", tr->key);
			continue;
		}
		if (tr->type != SW_JSON_OBJ) {
			sw_policy__problem(l, 0, "transports.%s must be an object of scopes", tr->key);
			continue;
		}
		for (sc = tr->child; sc; sc = sc->next) {
			char where[600], why[600];
			entry *en;
			snprintf(where, sizeof(where), "transports.%s[\"%.400s\"]", tr->key, sc->key);
			if (strcmp(tr->key, "docker") == 0 && sc->key[0] && sw_policy__scope_check(sc->key, why, sizeof(why)) < 0) {
				sw_policy__problem(l, 0, "%s: %s", where, why);
				continue;
			}
			sw_policy__add_entry(l, &l->p->overrides, &l->p->noverrides, tr->key, sc->key, 0, &en);
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
