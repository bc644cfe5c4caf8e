/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containers-policy.json (containers/image) into the model (see policy.c),
 * read as containers/image reads it, field by field (its
 * signature/policy_config*.go; docs/policy.md states the rules):
 *
 *   - the file is refused whole for anything containers/image refuses: an
 *     unknown or duplicate field, a value of the wrong type (null where an
 *     object or list is due), an empty list of requirements, a requirement
 *     or identity that is not complete (exactly one key source, a Fulcio
 *     that names its issuer and subject, an exactReference with a tag or
 *     digest, remapIdentity prefixes that are names), and a scope its
 *     transport does not accept (oci, oci-archive, dir, sif: an absolute,
 *     clean path other than "/"; docker-archive and tarball: only "";
 *     docker-daemon: not a digest; containers-storage: "[store]...");
 *   - what containers/image accepts is accepted, even where it cannot
 *     match or stowaway cannot verify it: a docker scope is any string (it
 *     is compared as written, never normalised), an unknown transport is
 *     kept and never used, a key file is read when an image needs it,
 *     signedBy (GPG), sigstoreSigned with pki (fulcio is verified: fulcio.c) and
 *     signedBaseLayer are requirements stowaway denies. `policy lint`
 *     warns about each of these.
 *
 * Every problem is reported with its line; the reader goes on to find the
 * others. The decision is in policy_decide.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy_int.h"
#include "../util/banned.h"

#define MAX_SCOPE_REQS 64

typedef enum { F_STR, F_BYTES, F_STRS, F_BYTESS, F_RAW } ftype;

typedef struct field {
	const char *name;
	ftype t;
	bool required;      /* ParanoidUnmarshalJSONObjectExactFields: present, always */
	const sw_json *v;   /* the value (NULL: absent, or JSON null) */
	bool got;           /* the member is there (null included) */
	int line;           /* the member's */
} field;

static const char strict_note[] = "containers-policy.json is strict: the whole file is rejected";

/* The base64 Go's encoding/json reads into []byte: the standard alphabet
 * with its padding; CR and LF are skipped. */
static bool b64_ok(const char *s, size_t n)
{
	size_t len = 0, pad = 0, i;

	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
		} else if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
				    c == '+' || c == '/')) {
			return false;
		}
		len++;
	}
	return len % 4 == 0 && pad <= 2;
}

static bool value_ok(loader *l, const sw_json *v, ftype t, const char *where, const char *name)
{
	const sw_json *e;

	if (v->type == SW_JSON_NULL || t == F_RAW)
		return true;
	switch (t) {
	case F_STR:
		if (v->type == SW_JSON_STR)
			return true;
		break;
	case F_BYTES:
		if (v->type == SW_JSON_STR && b64_ok(v->s, v->slen))
			return true;
		if (v->type == SW_JSON_STR) {
			sw_policy__problem(l, v->line, "%s: \"%s\" is not base64 (it holds the file's bytes, base64-encoded)",
					   where, name);
			return false;
		}
		break;
	case F_STRS:
	case F_BYTESS:
		if (v->type != SW_JSON_ARR)
			break;
		for (e = v->child; e; e = e->next)
			if (e->type != SW_JSON_NULL && !value_ok(l, e, t == F_STRS ? F_STR : F_BYTES, where, name))
				return false;
		return true;
	case F_RAW:
		return true;
	}
	sw_policy__problem(l, v->line, "%s: \"%s\" must be %s", where, name,
			   t == F_STR ? "a string" : t == F_BYTES ? "a base64 string" : "a list of strings");
	return false;
}

/* Read an object's members into f[]: unknown members, values of the wrong
 * type and missing required members are problems. */
static bool fields(loader *l, const sw_json *obj, const char *where, field *f, size_t n)
{
	const sw_json *c;
	bool ok = true;
	size_t i;

	if (!obj || obj->type != SW_JSON_OBJ) {
		sw_policy__problem(l, obj ? obj->line : 0, "%s must be a JSON object", where);
		return false;
	}
	for (c = obj->child; c; c = c->next) {
		for (i = 0; i < n && strcmp(c->key, f[i].name) != 0; i++)
			;
		if (i == n) {
			sw_policy__problem(l, c->line, "%s: unknown field \"%s\" (%s)", where, c->key, strict_note);
			ok = false;
			continue;
		}
		f[i].got = true;
		f[i].v = c->type == SW_JSON_NULL ? NULL : c;
		f[i].line = c->line;
		if (!value_ok(l, c, f[i].t, where, c->key))
			ok = false;
	}
	for (i = 0; i < n; i++)
		if (f[i].required && !f[i].got) {
			sw_policy__problem(l, obj->line, "%s: \"%s\" is missing", where, f[i].name);
			ok = false;
		}
	return ok;
}

static const char *fstr(const field *f)
{
	return f->v ? f->v->s : "";
}

/* ---- identities (signedIdentity, baseLayerIdentity) ---- */

/* distribution/reference's domain: components of [a-zA-Z0-9-] not
 * starting or ending with '-', joined by '.', an optional :port. */
static size_t domain_len(const char *s)
{
	size_t i = 0, start;

	for (;;) {
		start = i;
		while ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		       s[i] == '-')
			i++;
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return 0;
		if (s[i] != '.')
			break;
		i++;
	}
	if (s[i] == ':') {
		start = ++i;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return 0;
	}
	return i;
}

/* distribution/reference's path components: [a-z0-9]+ joined by '.', '_',
 * '__' or runs of '-', separated by '/'. */
static bool path_ok(const char *s)
{
	for (;;) {
		for (;;) {
			const char *a = s;
			while ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9'))
				s++;
			if (s == a)
				return false;
			if (*s == '.' || (*s == '_' && s[1] != '_'))
				s++;
			else if (*s == '_' && s[1] == '_')
				s += 2;
			else if (*s == '-')
				while (*s == '-')
					s++;
			else
				break;
		}
		if (*s == '\0')
			return true;
		if (*s != '/')
			return false;
		s++;
	}
}

/* remapIdentity's prefix and signedPrefix, as containers/image checks them:
 * a domain ("host[:port]"), or a name that starts with a domain and '/'. */
static bool remap_prefix_ok(const char *s)
{
	size_t d = domain_len(s);

	if (!d)
		return false;
	if (!s[d])
		return true;
	return s[d] == '/' && path_ok(s + d + 1);
}

static void parse_identity(loader *l, const sw_json *v, int line, sw_identity_rule *rule, char **value,
			   char **signed_prefix, const char *where)
{
	field f[] = { { "type", F_STR, true, NULL, false }, { "dockerReference", F_STR, false, NULL, false },
		      { "dockerRepository", F_STR, false, NULL, false }, { "prefix", F_STR, false, NULL, false },
		      { "signedPrefix", F_STR, false, NULL, false } };
	static const struct { const char *name; sw_identity_rule rule; const char *needs[3]; } types[] = {
		{ "matchExact", SW_IDENTITY_EXACT, { NULL } },
		{ "matchRepoDigestOrExact", SW_IDENTITY_REPO_DIGEST_OR_EXACT, { NULL } },
		{ "matchRepository", SW_IDENTITY_REPOSITORY, { NULL } },
		{ "exactReference", SW_IDENTITY_EXACT_REFERENCE, { "dockerReference", NULL } },
		{ "exactRepository", SW_IDENTITY_EXACT_REPOSITORY, { "dockerRepository", NULL } },
		{ "remapIdentity", SW_IDENTITY_REMAP, { "prefix", "signedPrefix", NULL } },
	};
	char w[600];
	const char *type;
	size_t i, k;
	sw_ref r;
	sw_error err = SW_ERROR_INIT;

	snprintf(w, sizeof(w), "%.500s.signedIdentity", where);
	if (!v) {
		sw_policy__problem(l, line, "%s must be a JSON object", w);
		return;
	}
	if (!fields(l, v, w, f, sizeof(f) / sizeof(f[0])))
		return;
	type = fstr(&f[0]);
	for (i = 0; i < sizeof(types) / sizeof(types[0]) && strcmp(type, types[i].name) != 0; i++)
		;
	if (i == sizeof(types) / sizeof(types[0])) {
		sw_policy__problem(l, f[0].v ? f[0].v->line : v->line, "%s: unknown type \"%s\"", w, type);
		return;
	}
	/* exactly the fields of its type */
	for (k = 1; k < sizeof(f) / sizeof(f[0]); k++) {
		bool needed = false;
		size_t j;
		for (j = 0; types[i].needs[j]; j++)
			needed |= strcmp(types[i].needs[j], f[k].name) == 0;
		if (f[k].got && !needed)
			sw_policy__problem(l, f[k].v ? f[k].v->line : v->line, "%s: unknown field \"%s\" for %s (%s)", w,
					   f[k].name, type, strict_note);
		else if (!f[k].got && needed)
			sw_policy__problem(l, v->line, "%s: %s needs \"%s\"", w, type, f[k].name);
	}
	*rule = types[i].rule;
	switch (types[i].rule) {
	case SW_IDENTITY_EXACT_REFERENCE:
		if (!f[1].got)
			break;
		if (sw_ref_parse(fstr(&f[1]), &r, &err) < 0)
			sw_policy__problem(l, v->line, "%s: dockerReference \"%s\": %s", w, fstr(&f[1]), err.msg);
		else if (!r.tag[0] && !r.digest[0])
			sw_policy__problem(l, v->line, "%s: dockerReference \"%s\" has neither a tag nor a digest", w,
					   fstr(&f[1]));
		*value = sw__strdup(fstr(&f[1]));
		break;
	case SW_IDENTITY_EXACT_REPOSITORY:
		if (f[2].got && sw_ref_parse(fstr(&f[2]), &r, &err) < 0)
			sw_policy__problem(l, v->line, "%s: dockerRepository \"%s\": %s", w, fstr(&f[2]), err.msg);
		*value = sw__strdup(fstr(&f[2]));
		break;
	case SW_IDENTITY_REMAP:
		for (k = 3; k <= 4; k++)
			if (f[k].got && !remap_prefix_ok(fstr(&f[k])))
				sw_policy__problem(l, f[k].v ? f[k].v->line : v->line,
						   "%s: %s \"%s\" is not a registry host or a name that starts with one", w,
						   f[k].name, fstr(&f[k]));
		*value = sw__strdup(fstr(&f[3]));
		*signed_prefix = sw__strdup(fstr(&f[4]));
		break;
	default:
		break;
	}
}

/* ---- requirements ---- */

/* A key into r->keys (or r->rekor): a path as containers/image reads it
 * (relative to where it runs), or "data:" + base64; a path that begins
 * with "data:" is written "./data:..." so that it stays a path. */
static void add_key(loader *l, cp_req *r, bool rekor, const sw_json *v, bool data, const char *where)
{
	char **keys = rekor ? r->rekor : r->keys;
	size_t *n = rekor ? &r->nrekor : &r->nkeys;
	const char *s = v && v->type == SW_JSON_STR ? v->s : "";
	char *k;

	if (*n >= SW_POLICY_MAX_KEYS) {
		if (*n == SW_POLICY_MAX_KEYS)
			sw_policy__problem(l, v ? v->line : r->line, "%s: at most %d keys", where, SW_POLICY_MAX_KEYS);
		(*n)++;
		return;
	}
	if (data) {
		size_t i, o = 5;
		if ((k = malloc(strlen(s) + 6))) {
			memcpy(k, "data:", 5);
			for (i = 0; s[i]; i++)
				if (s[i] != '\r' && s[i] != '\n')
					k[o++] = s[i];
			k[o] = '\0';
		}
	} else {
		k = strncmp(s, "data:", 5) == 0 ? sw__asprintf("./%s", s) : sw__strdup(s);
		if (k && *s && access(k, R_OK) != 0)
			sw_policy__warning(l, v ? v->line : r->line,
					   "%s: key \"%s\": %s (the images this scope covers are denied while it is so)",
					   where, s, strerror(errno));
	}
	if (!k) {
		sw_policy__problem(l, r->line, "out of memory");
		return;
	}
	keys[(*n)++] = k;
}

/* keyPath/keyPaths/keyData/keyDatas (or their rekorPublicKey* forms), as
 * containers/image counts them: a path or data that is given but empty
 * ("" path, null data) is no source; a list must not be empty. Returns
 * the number of sources. */
/* A list of paths or of data: given (even null or empty), it is a source,
 * and it must not be empty. */
static void key_list(loader *l, cp_req *r, bool rekor, const field *list, bool data, const char *where)
{
	const sw_json *e;

	if (!list->v || !list->v->n)
		sw_policy__problem(l, list->line, "%s: \"%s\" contains no entries", where, list->name);
	for (e = list->v ? list->v->child : NULL; e; e = e->next)
		add_key(l, r, rekor, e, data, where);
}

static int key_sources(loader *l, cp_req *r, bool rekor, field *path, field *paths, field *data, field *datas,
		       const char *where)
{
	int n = 0;

	if (path->got && fstr(path)[0]) {
		n++;
		add_key(l, r, rekor, path->v, false, where);
	}
	if (paths->got) {
		n++;
		key_list(l, r, rekor, paths, false, where);
	}
	if (data->got && data->v) {
		n++;
		add_key(l, r, rekor, data->v, true, where);
	}
	if (datas->got) {
		n++;
		key_list(l, r, rekor, datas, true, where);
	}
	return n;
}

/* A file and its data (caPath, caData, ...): never both; one of them when
 * required. */
static void path_or_data(loader *l, int line, const char *where, const field *path, const field *data, bool required)
{
	if (fstr(path)[0] && data->v)
		sw_policy__problem(l, line, "%s: %s and %s cannot be used simultaneously", where, path->name, data->name);
	else if (required && !fstr(path)[0] && !data->v)
		sw_policy__problem(l, line, "%s: one of %s and %s is required", where, path->name, data->name);
}

static void parse_fulcio(loader *l, const sw_json *v, cp_req *r, const char *where)
{
	field f[] = { { "caPath", F_STR, false, NULL, false }, { "caData", F_BYTES, false, NULL, false },
		      { "oidcIssuer", F_STR, false, NULL, false }, { "subjectEmail", F_STR, false, NULL, false } };
	char w[600];

	snprintf(w, sizeof(w), "%.500s.fulcio", where);
	if (!v || !fields(l, v, w, f, 4))
		return;
	path_or_data(l, v->line, w, &f[0], &f[1], true);
	if (!fstr(&f[2])[0])
		sw_policy__problem(l, v->line, "%s: oidcIssuer is required", w);
	if (!fstr(&f[3])[0])
		sw_policy__problem(l, v->line, "%s: subjectEmail is required", w);
	if (f[1].v && f[1].v->type == SW_JSON_STR)
		r->fulcio_ca = sw__asprintf("data:%s", f[1].v->s);
	else if (fstr(&f[0])[0])
		r->fulcio_ca = sw__strdup(fstr(&f[0]));
	r->fulcio_issuer = sw__strdup(fstr(&f[2]));
	r->fulcio_email = sw__strdup(fstr(&f[3]));
	if (!r->fulcio_ca || !r->fulcio_issuer || !r->fulcio_email)
		sw_policy__problem(l, v->line, "%s: out of memory", w);
	else if (strncmp(r->fulcio_ca, "data:", 5) != 0 && access(r->fulcio_ca, R_OK) != 0)
		sw_policy__warning(l, v->line, "%s: caPath \"%s\": %s (the images this scope covers are denied while it "
				   "is so)", w, r->fulcio_ca, strerror(errno));
}

static void parse_pki(loader *l, const sw_json *v, const char *where)
{
	field f[] = { { "caRootsPath", F_STR, false, NULL, false }, { "caRootsData", F_BYTES, false, NULL, false },
		      { "caIntermediatesPath", F_STR, false, NULL, false },
		      { "caIntermediatesData", F_BYTES, false, NULL, false },
		      { "subjectEmail", F_STR, false, NULL, false }, { "subjectHostname", F_STR, false, NULL, false } };
	char w[600];

	snprintf(w, sizeof(w), "%.500s.pki", where);
	if (!v || !fields(l, v, w, f, 6))
		return;
	path_or_data(l, v->line, w, &f[0], &f[1], true);
	path_or_data(l, v->line, w, &f[2], &f[3], false);
	if (!fstr(&f[4])[0] && !fstr(&f[5])[0])
		sw_policy__problem(l, v->line, "%s: one of subjectEmail and subjectHostname is required", w);
}

static void parse_sigstore(loader *l, const sw_json *v, cp_req *r, const char *where)
{
	field f[] = { { "type", F_STR, false, NULL, false },          { "keyPath", F_STR, false, NULL, false },
		      { "keyPaths", F_STRS, false, NULL, false },       { "keyData", F_BYTES, false, NULL, false },
		      { "keyDatas", F_BYTESS, false, NULL, false },     { "fulcio", F_RAW, false, NULL, false },
		      { "pki", F_RAW, false, NULL, false },
		      { "rekorPublicKeyPath", F_STR, false, NULL, false },
		      { "rekorPublicKeyPaths", F_STRS, false, NULL, false },
		      { "rekorPublicKeyData", F_BYTES, false, NULL, false },
		      { "rekorPublicKeyDatas", F_BYTESS, false, NULL, false },
		      { "signedIdentity", F_RAW, false, NULL, false } };
	int keys, rekor;

	if (!fields(l, v, where, f, sizeof(f) / sizeof(f[0])))
		return;
	keys = key_sources(l, r, false, &f[1], &f[2], &f[3], &f[4], where);
	if (f[5].got) {
		keys++;
		if (!f[5].v)
			sw_policy__problem(l, v->line, "%s: fulcio must be a JSON object", where);
		parse_fulcio(l, f[5].v, r, where);
	}
	if (f[6].got) {
		keys++;
		r->keyless = true;
		if (!f[6].v)
			sw_policy__problem(l, v->line, "%s: pki must be a JSON object", where);
		parse_pki(l, f[6].v, where);
	}
	if (keys != 1)
		sw_policy__problem(l, v->line,
				   "%s: sigstoreSigned needs exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio and pki",
				   where);
	rekor = key_sources(l, r, true, &f[7], &f[8], &f[9], &f[10], where);
	if (rekor > 1)
		sw_policy__problem(l, v->line,
				   "%s: at most one of rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and "
				   "rekorPublicKeyDatas", where);
	if (f[5].got && !rekor)
		sw_policy__problem(l, v->line, "%s: fulcio needs a Rekor public key (rekorPublicKeyPath or ...Data)", where);
	if (f[6].got && rekor)
		sw_policy__problem(l, v->line, "%s: pki takes no Rekor public key", where);
	r->id_rule = SW_IDENTITY_REPO_DIGEST_OR_EXACT; /* containers/image's default */
	if (f[11].got)
		parse_identity(l, f[11].v, f[11].line, &r->id_rule, &r->id_value, &r->id_signed_prefix, where);
	if (r->keyless)
		sw_policy__warning(l, v->line, "%s: stowaway does not verify pki signatures: the images "
				   "this scope covers are denied", where);
}

static void parse_signed_by(loader *l, const sw_json *v, cp_req *r, const char *where)
{
	field f[] = { { "type", F_STR, false, NULL, false },    { "keyType", F_STR, false, NULL, false },
		      { "keyPath", F_STR, false, NULL, false }, { "keyPaths", F_STRS, false, NULL, false },
		      { "keyData", F_BYTES, false, NULL, false }, { "signedIdentity", F_RAW, false, NULL, false } };
	static const char *const key_types[] = { "GPGKeys", "signedByGPGKeys", "X509Certificates",
						 "signedByX509CAs", NULL };
	const char *const *kt;
	int given, sources = 0;

	if (!fields(l, v, where, f, sizeof(f) / sizeof(f[0])))
		return;
	for (kt = key_types; *kt && strcmp(*kt, fstr(&f[1])) != 0; kt++)
		;
	if (!*kt)
		sw_policy__problem(l, f[1].v ? f[1].v->line : v->line, "%s: keyType \"%s\" is not one of GPGKeys, "
				   "signedByGPGKeys, X509Certificates, signedByX509CAs", where, fstr(&f[1]));
	given = f[2].got + f[3].got + f[4].got;
	sources = (f[2].got && fstr(&f[2])[0]) + (f[3].got && f[3].v) + (f[4].got && f[4].v);
	if (given != 1 || sources != 1)
		sw_policy__problem(l, v->line, "%s: signedBy needs exactly one of keyPath, keyPaths and keyData", where);
	r->id_rule = SW_IDENTITY_REPO_DIGEST_OR_EXACT;
	if (f[5].got)
		parse_identity(l, f[5].v, f[5].line, &r->id_rule, &r->id_value, &r->id_signed_prefix, where);
	sw_policy__warning(l, v->line, "%s: stowaway does not verify signedBy (GPG simple signing): the images this "
			   "scope covers are denied", where);
}

static void parse_req(loader *l, const sw_json *v, cp_req *r, const char *where)
{
	const sw_json *t = v->type == SW_JSON_OBJ ? sw_json_get(v, "type") : NULL;
	const char *type = t && t->type == SW_JSON_STR ? t->s : NULL;

	r->line = v->line;
	if (v->type != SW_JSON_OBJ || !type) {
		sw_policy__problem(l, v->line, "%s: each requirement is an object with a \"type\" string", where);
		r->kind = CP_REJECT;
		return;
	}
	if (strcmp(type, "insecureAcceptAnything") == 0 || strcmp(type, "reject") == 0) {
		field f[] = { { "type", F_STR, true, NULL, false } };
		fields(l, v, where, f, 1);
		r->kind = type[0] == 'i' ? CP_ACCEPT : CP_REJECT;
	} else if (strcmp(type, "sigstoreSigned") == 0) {
		r->kind = CP_SIGSTORE;
		parse_sigstore(l, v, r, where);
	} else if (strcmp(type, "signedBy") == 0) {
		r->kind = CP_SIGNED_BY;
		parse_signed_by(l, v, r, where);
	} else if (strcmp(type, "signedBaseLayer") == 0) {
		field f[] = { { "type", F_STR, true, NULL, false }, { "baseLayerIdentity", F_RAW, true, NULL, false } };
		r->kind = CP_BASE_LAYER;
		if (fields(l, v, where, f, 2))
			parse_identity(l, f[1].v, f[1].line, &r->id_rule, &r->id_value, &r->id_signed_prefix, where);
		sw_policy__warning(l, v->line, "%s: signedBaseLayer is not implemented (by containers/image either): the "
				   "images this scope covers are denied", where);
	} else {
		sw_policy__problem(l, t->line, "%s: unknown requirement type \"%s\"", where, type);
		r->kind = CP_REJECT;
	}
}

static void parse_reqs(loader *l, const sw_json *arr, int line, cp_scope *sc, const char *where)
{
	const sw_json *e;

	if (!arr || arr->type != SW_JSON_ARR || !arr->n) {
		sw_policy__problem(l, arr ? arr->line : line, "%s: a non-empty list of requirements is required", where);
		return;
	}
	if (arr->n > MAX_SCOPE_REQS) {
		sw_policy__problem(l, arr->line, "%s: at most %d requirements", where, MAX_SCOPE_REQS);
		return;
	}
	if (!(sc->reqs = calloc(arr->n, sizeof(*sc->reqs)))) {
		sw_policy__problem(l, arr->line, "out of memory");
		return;
	}
	for (e = arr->child; e; e = e->next)
		parse_req(l, e, &sc->reqs[sc->nreqs++], where);
}

/* ---- scopes ---- */

/* filepath.Clean(s) == s for an absolute path: no "//", no "." or ".."
 * component, no trailing '/'. */
static bool clean_abs(const char *s)
{
	const char *c = s;

	if (*s != '/')
		return false;
	while (*c) {
		const char *e;
		c++;
		for (e = c; *e && *e != '/'; e++)
			;
		if (e == c || (e - c == 1 && c[0] == '.') || (e - c == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c = e;
	}
	return true;
}

/* go-digest's Parse: sha256, sha384 or sha512 with its lowercase hex. */
static bool is_digest(const char *s)
{
	static const struct { const char *alg; size_t hex; } algs[] = { { "sha256:", 64 }, { "sha384:", 96 },
									 { "sha512:", 128 } };
	size_t i, k;

	for (i = 0; i < 3; i++) {
		size_t al = strlen(algs[i].alg);
		if (strncmp(s, algs[i].alg, al) != 0 || strlen(s + al) != algs[i].hex)
			continue;
		for (k = al; s[k]; k++)
			if (!((s[k] >= '0' && s[k] <= '9') || (s[k] >= 'a' && s[k] <= 'f')))
				return false;
		return true;
	}
	return false;
}

static bool is_image_id(const char *s)
{
	char d[200];

	snprintf(d, sizeof(d), "sha256:%.150s", s);
	return strlen(s) <= 150 && is_digest(d);
}

/* containers-storage: "[root]" or "[driver@root]" (root absolute), then
 * nothing, a name, or name[:tag]@digest|ID, name[:tag]@digest@ID. */
static bool storage_scope_ok(const char *s)
{
	const char *close = strchr(s, ']'), *at;
	char spec[4200];
	char rest[4200], *f1, *f2;

	if (s[0] != '[' || !close || close == s)
		return false;
	snprintf(spec, sizeof(spec), "%.*s", (int)(close - s - 1), s + 1);
	at = strchr(spec, '@');
	if (!at ? !(spec[0] == '/') : !(at != spec && at[1] == '/'))
		return false;
	snprintf(rest, sizeof(rest), "%s", close + 1);
	if (!(f1 = strchr(rest, '@')))
		return true;
	*f1++ = '\0';
	if ((f2 = strchr(f1, '@'))) {
		*f2++ = '\0';
		return is_digest(f1) && is_image_id(f2);
	}
	return is_image_id(f1) || is_digest(f1);
}

/* A scope its transport accepts (containers/image's
 * ValidatePolicyConfigurationScope); why otherwise. */
static bool scope_ok(const char *transport, const char *scope, const char **why)
{
	if (!scope[0] || strcmp(transport, "docker") == 0)
		return true;
	if (!strcmp(transport, "oci") || !strcmp(transport, "oci-archive") || !strcmp(transport, "dir") ||
	    !strcmp(transport, "sif")) {
		*why = scope[0] != '/' ? "a scope is an absolute path"
		       : strcmp(scope, "/") == 0 ? "\"/\" is not a scope: write the default scope \"\""
		       : "a scope is a clean path (no trailing '/', no \"//\", \".\" or \"..\")";
		return scope[0] == '/' && strcmp(scope, "/") != 0 && clean_abs(scope);
	}
	if (!strcmp(transport, "docker-archive") || !strcmp(transport, "tarball")) {
		*why = "this transport has no scope but \"\"";
		return false;
	}
	if (!strcmp(transport, "docker-daemon")) {
		*why = "a digest (an image ID) is not a scope";
		return !is_digest(scope);
	}
	if (!strcmp(transport, "containers-storage")) {
		*why = "a scope is \"[ROOT]...\" or \"[DRIVER@ROOT]...\" with an absolute ROOT, then NAME[:TAG][@DIGEST][@ID]";
		return storage_scope_ok(scope);
	}
	return true;
}

/* Warn about a docker scope that no reference can match: containers/image
 * looks a reference up by its normalised name (docker.io/library/busybox:
 * latest, then docker.io/library/busybox, docker.io/library, docker.io,
 * then *.io), comparing the scope's text as written. */
static void lint_docker_scope(loader *l, const char *scope, int line, const char *where)
{
	char probe[600], norm[800];
	sw_ref r;
	size_t d;

	if (!scope[0])
		return;
	if (scope[0] == '*') {
		if (scope[1] != '.' || !scope[2] || strchr(scope, '/') || strchr(scope, ':') || scope[2] == '.')
			sw_policy__warning(l, line, "%s: never matches: a wildcard scope is *.DOMAIN (no port, no path)",
					   where);
		return;
	}
	if (!strchr(scope, '/')) {
		snprintf(probe, sizeof(probe), "%.500s/x", scope);
		d = domain_len(scope);
		if (d != strlen(scope) || sw_ref_parse(probe, &r, NULL) < 0 || strcmp(r.domain, scope) != 0 ||
		    strcmp(scope, "index.docker.io") == 0)
			sw_policy__warning(l, line, "%s: never matches: a scope is a registry host, or a name with its host "
					   "(%s)", where, strcmp(scope, "index.docker.io") == 0 ? "write docker.io"
					   : "docker.io/library/NAME for an official image");
		return;
	}
	if (sw_ref_parse(scope, &r, NULL) == 0 && r.tag[0] && r.digest[0]) {
		sw_policy__warning(l, line, "%s: never matches: containers/image refuses a reference with both a tag "
				   "and a digest", where);
		return;
	}
	if (sw_ref_parse(scope, &r, NULL) == 0 &&
	    sw_ref_format(&r, r.tag[0] || r.digest[0] ? SW_REF_FULL : SW_REF_NAME, norm, sizeof(norm)) == 0 &&
	    strcmp(norm, scope) == 0)
		return; /* a reference, a repository or a namespace as containers/image names them */
	/* a namespace only: docker.io/nginx covers docker.io/nginx/x, while
	 * the name docker.io/nginx is docker.io/library/nginx */
	snprintf(probe, sizeof(probe), "%.500s/x", scope);
	if (sw_ref_parse(probe, &r, NULL) == 0 && sw_ref_format(&r, SW_REF_NAME, norm, sizeof(norm)) == 0 &&
	    strcmp(norm, probe) == 0) {
		if (strcmp(r.domain, "docker.io") == 0 && !strchr(scope + 10, '/') && strcmp(scope + 10, "library") != 0)
			sw_policy__warning(l, line, "%s: covers images under %s/..., not the official image "
					   "docker.io/library/%s", where, scope, scope + 10);
		return;
	}
	norm[0] = '\0';
	if (sw_ref_parse(scope, &r, NULL) < 0 ||
	    sw_ref_format(&r, r.tag[0] || r.digest[0] ? SW_REF_FULL : SW_REF_NAME, norm, sizeof(norm)) < 0)
		norm[0] = '\0';
	sw_policy__warning(l, line, "%s: never matches: containers/image compares the scope as written with the "
			   "image's full name%s%s%s", where, norm[0] ? " (" : "", norm, norm[0] ? " is how it would name it)" : "");
}

static void load_scopes(loader *l, const sw_json *tr)
{
	static const char *const known[] = { "docker", "dir", "docker-archive", "docker-daemon", "oci", "oci-archive",
					     "sif", "tarball", "containers-storage", NULL };
	const char *const *k;
	const sw_json *sc;

	for (k = known; *k && strcmp(tr->key, *k) != 0; k++)
		;
	if (tr->type != SW_JSON_OBJ) {
		sw_policy__problem(l, tr->line, "transports.%s must be an object of scopes", tr->key);
		return;
	}
	if (!*k)
		sw_policy__warning(l, tr->line, "transports: \"%s\" is not a transport stowaway or containers/image reads; "
				   "its scopes are never used", tr->key);
	for (sc = tr->child; sc; sc = sc->next) {
		char where[600];
		const char *why = "";
		cp_scope *nv;
		snprintf(where, sizeof(where), "transports.%s[\"%.400s\"]", tr->key, sc->key);
		if (*k && !scope_ok(tr->key, sc->key, &why)) {
			sw_policy__problem(l, sc->line, "%s: %s", where, why);
			continue;
		}
		if (l->p->ncp >= 10000 || SW_GROW(l->p->cp, l->p->ncp) < 0) {
			sw_policy__problem(l, sc->line, "too many scopes (at most 10000)");
			return;
		}
		nv = &l->p->cp[l->p->ncp++];
		memset(nv, 0, sizeof(*nv));
		nv->transport = sw__strdup(tr->key);
		nv->scope = sw__strdup(sc->key);
		nv->line = sc->line;
		if (!nv->transport || !nv->scope) {
			sw_policy__problem(l, sc->line, "out of memory");
			return;
		}
		if (strcmp(tr->key, "docker") == 0)
			lint_docker_scope(l, sc->key, sc->line, where);
		parse_reqs(l, sc, sc->line, nv, where);
	}
}

void sw_policy__load_containers_json(loader *l, const sw_json *root)
{
	field f[] = { { "default", F_RAW, false, NULL, false }, { "transports", F_RAW, false, NULL, false } };
	const sw_json *tr;

	l->p->containers = true;
	/* names are not part of containers-policy.json: warn about look-alikes */
	l->p->base.typosquat = l->p->base.impersonation = ACT_WARN;
	if (!root || root->type != SW_JSON_OBJ) {
		sw_policy__problem(l, root ? root->line : 0, "containers-policy.json must be a JSON object");
		return;
	}
	fields(l, root, "policy", f, 2);
	if (!f[0].got)
		sw_policy__problem(l, root->line, "\"default\" is required");
	else
		parse_reqs(l, f[0].v, f[0].line, &l->p->cp_default, "default");
	if (!f[1].got)
		return;
	if (!f[1].v || f[1].v->type != SW_JSON_OBJ) {
		sw_policy__problem(l, f[1].line, "\"transports\" must be an object");
		return;
	}
	for (tr = f[1].v->child; tr; tr = tr->next)
		load_scopes(l, tr);
}

void sw_policy__cp_release(cp_scope *sc)
{
	size_t i, k;

	for (i = 0; i < sc->nreqs; i++) {
		cp_req *r = &sc->reqs[i];
		for (k = 0; k < r->nkeys && k < SW_POLICY_MAX_KEYS; k++)
			free(r->keys[k]);
		for (k = 0; k < r->nrekor && k < SW_POLICY_MAX_KEYS; k++)
			free(r->rekor[k]);
		free(r->id_value);
		free(r->fulcio_ca);
		free(r->fulcio_issuer);
		free(r->fulcio_email);
		free(r->id_signed_prefix);
	}
	free(sc->reqs);
	free(sc->transport);
	free(sc->scope);
}
