/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy's parts, internal (see policy.c): the one model both readers
 * fill, and the calls between the model with its scopes and the loading
 * (policy.c), the YAML reader (policy_yaml.c), the containers-policy.json
 * reader (policy_containers.c) and the decision (policy_decide.c).
 */
#ifndef SW_POLICY_INT_H
#define SW_POLICY_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "stowaway/policy.h"
#include "../util/util.h"

typedef enum { ACT_UNSET = -1, ACT_ALLOW = 0, ACT_WARN, ACT_DENY } action;

typedef struct settings {
	int mode;             /* -1 unset, 1 enforce, 0 warn */
	int typosquat, impersonation;   /* action */
	int digest;           /* -1 unset, 0/1 */
	int max_severity;     /* -1 unset, -2 "none" (no finding at all), else sw_severity */
	char *keys[SW_POLICY_MAX_KEYS];
	int nkeys;            /* -1 unset (require.signature absent; 0 with keyless only) */
	char *kl_identity, *kl_identity_re, *kl_issuer, *kl_issuer_re, *kl_root;  /* keyless */
	char *att_keys[SW_POLICY_MAX_KEYS];   /* require.attestation */
	int natt_keys;        /* -1 unset */
	int att_verdict;      /* 0 clean, 1 suspicious, 2 malicious; -1 unset */
	int att_max_age;      /* days; -1 unset, 0 any */
	int on_timeout;       /* admission: -1 unset, 0 deny, 1 allow */
	int scan_pending;     /* admission: -1 unset, 0 deny, 1 warn */
	int on_timeout_line, scan_pending_line;
} settings;

typedef struct entry {
	char *transport;      /* "docker", "oci", ... */
	char *scope;
	bool allow;           /* access-list entries */
	int level;            /* 0 registry, 1 namespace, 2 repository */
	int line;
	settings s;           /* overrides */
} entry;

/* containers-policy.json, as containers/image holds it: a scope's
 * requirements, every one of which must pass. */
typedef enum { CP_ACCEPT, CP_REJECT, CP_SIGSTORE, CP_SIGNED_BY, CP_BASE_LAYER } cp_kind;

typedef struct cp_req {
	cp_kind kind;
	int line;
	bool keyless;                      /* sigstoreSigned with pki (not verified) */
	char *fulcio_ca;                   /* fulcio: caPath, or "data:" + base64 of caData */
	char *fulcio_issuer, *fulcio_email;
	char *keys[SW_POLICY_MAX_KEYS];    /* a path, or "data:" + base64 of the PEM */
	size_t nkeys;
	char *rekor[SW_POLICY_MAX_KEYS];   /* the same, for Rekor's keys */
	size_t nrekor;
	sw_identity_rule id_rule;
	char *id_value, *id_signed_prefix;
} cp_req;

typedef struct cp_scope {
	char *transport;                   /* NULL: "default" */
	char *scope;
	int line;
	cp_req *reqs;
	size_t nreqs;
} cp_scope;

struct sw_policy {
	char *path;
	bool containers;         /* a containers-policy.json: cp_default and cp decide */
	cp_scope cp_default;
	cp_scope *cp;
	size_t ncp;
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

/* The model (policy.c): a problem or a warning kept with its line (at
 * most 1,000); settings with nothing set. */
void sw_policy__problem(loader *l, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sw_policy__warning(loader *l, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sw_policy__settings_init(settings *s);

/* Scopes (policy.c): a docker scope checked (its level: 0 host,
 * 1 namespace, 2 repository or deeper, 3 exact; -1 and why); how
 * specifically a docker scope or a local path scope matches (-1: not). */
int sw_policy__scope_check(const char *s, char *why, size_t whyn);
int sw_policy__scope_match(const char *scope, const char *host, const char *name, const char *full);
int sw_policy__path_match(const char *scope, const char *path);

/* What both readers add (policy.c): a key path as the policy file means
 * it (YAML: relative to the file; malloc'd); a signature key (yaml: its
 * path read so); an entry of an access list or an override (*out NULL
 * when there are too many: a problem then). */
char *sw_policy__key_path(const loader *l, const char *path);
void sw_policy__add_key(loader *l, settings *s, const char *path, int line, bool yaml);
void sw_policy__add_entry(loader *l, entry **v, size_t *n, const char *transport, const char *scope,
			  int line, entry **out);

/* The readers: a YAML policy (policy_yaml.c), a containers-policy.json
 * (policy_containers.c), each into l->p, every problem into l; warnings
 * about the reach of a YAML policy's access lists (policy_yaml.c). */
void sw_policy__load_yaml(loader *l, const sw_yaml *root);
void sw_policy__load_containers_json(loader *l, const sw_json *root);
void sw_policy__lint_lists(loader *l);
void sw_policy__cp_release(cp_scope *sc);

/* The decision under a containers-policy.json (policy_decide.c). */
void sw_policy__decide_containers(const sw_policy *p, const char *transport, const sw_ref *ref, const char *path,
				  const sw_name_result *nr, sw_decision *d);

#endif
