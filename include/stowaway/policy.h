/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Admission policy: where images may come from and what they must prove.
 * Read from stowaway's YAML policy (docs/policy.md) or from a
 * containers-policy.json (podman, CRI-O, skopeo), and applied to one
 * reference at a time by sw_policy_decide.
 */
#ifndef STOWAWAY_POLICY_H
#define STOWAWAY_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "stowaway/export.h"
#include "stowaway/error.h"
#include "stowaway/names.h"
#include "stowaway/reference.h"
#include "stowaway/report.h"
#include "stowaway/sign.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_policy sw_policy;

/* One problem found while reading a policy: its line (0 when none) and why.
 * A warning does not stop the policy from loading: it says that a rule
 * reaches less (or other) than it seems to (`policy lint` prints them). */
typedef struct sw_policy_problem {
	int line;
	bool warning;
	char msg[400];
} sw_policy_problem;

/* Load a policy file (YAML, or JSON for containers-policy.json). Every
 * problem and warning is collected into probs (caller frees); the load
 * fails with SW_EFORMAT when there is at least one problem that is not a
 * warning, err naming the first. */
SW_API int sw_policy_load(const char *path, sw_policy **out, sw_policy_problem **probs, size_t *nprobs,
			  sw_error *err);
/* The built-in policy used when none is given: look-alike names denied,
 * everything else allowed. */
SW_API int sw_policy_default(sw_policy **out);
SW_API void sw_policy_free(sw_policy *p);
SW_API const char *sw_policy_path(const sw_policy *p);

typedef enum sw_reason_kind { SW_REASON_DENY, SW_REASON_WARN, SW_REASON_INFO } sw_reason_kind;

typedef struct sw_reason {
	sw_reason_kind kind;
	char text[640];
	int line;            /* policy line behind it, 0 when none */
} sw_reason;

#define SW_DECISION_MAX_REASONS 16
#define SW_POLICY_MAX_KEYS 16
#define SW_DECISION_MAX_SIGS 8

/* One signature the image must carry (each of a decision's must be
 * there): by one of keys (paths, or "data:" and the base64 of a PEM file),
 * with a Rekor SET by one of rekor_keys when there are any, under an
 * identity that matches. Pointers borrowed from the policy. */
typedef struct sw_sig_require {
	const char *keys[SW_POLICY_MAX_KEYS];
	size_t nkeys;
	const char *rekor_keys[SW_POLICY_MAX_KEYS];
	size_t nrekor_keys;
	sw_identity identity;
	/* keyless (Sigstore bundles with a Fulcio certificate): accepted when
	 * cert_identity or cert_identity_regexp is set, the certificate's
	 * SAN and OIDC issuer matching; checked against trusted_root (a
	 * trusted_root.json; NULL: the built-in one) */
	const char *cert_identity, *cert_identity_regexp;
	const char *cert_issuer, *cert_issuer_regexp;
	const char *trusted_root;
	/* containers-policy.json's fulcio (legacy keyless .sig signatures): the
	 * CA certificates (a path, or "data:" and base64 of PEM), the OIDC
	 * issuer and the SAN email; NULL when not asked for */
	const char *fulcio_ca, *fulcio_issuer, *fulcio_email;
	int line;                /* the policy's line that asks for it */
} sw_sig_require;

typedef struct sw_decision {
	bool allowed;            /* after the mode: warn mode always allows */
	bool enforce;            /* the effective mode */
	bool need_scan;          /* the policy caps finding severity ... */
	int max_severity;        /* ... at this sw_severity; -1: no finding at all */
	bool need_signature;     /* nsigs > 0: signatures are required, all of sigs[] */
	sw_sig_require sigs[SW_DECISION_MAX_SIGS];
	size_t nsigs;
	bool need_attestation;   /* a signed stowaway scan verdict is required ... */
	const char *att_keys[SW_POLICY_MAX_KEYS];  /* ... by one of these keys */
	size_t natt_keys;
	int att_verdict;         /* at most: 0 clean, 1 suspicious, 2 malicious */
	int att_max_age_days;    /* 0: any age */
	/* Where a decision waits (the admission webhook, the registry gate):
	 * what a decision that cannot finish in time becomes (on_timeout:
	 * allow; else a denial), and whether an image whose required scan is
	 * still running is admitted with a warning (scan.pending: warn; else
	 * denied "scan pending"). The policy line that says so, 0 for the
	 * default. */
	bool on_timeout_allow;
	int on_timeout_line;
	bool scan_pending_warn;
	int scan_pending_line;
	size_t nreasons;
	sw_reason reasons[SW_DECISION_MAX_REASONS];
} sw_decision;

/* Decide on a reference: access lists, look-alike names (nr), digest
 * requirement; says whether a scan and signatures are required (the
 * caller performs them and calls sw_decision_add). transport is "docker"
 * for registry references (ref as the image was named), else "oci",
 * "oci-archive", "docker-archive", "dir" with path holding the local
 * image's path: absolute, without symbolic links (containers-policy.json
 * scopes name it so; sw_check resolves it). */
SW_API void sw_policy_decide(const sw_policy *p, const char *transport, const sw_ref *ref, const char *path,
			     const sw_name_result *nr, sw_decision *d);

/* The look-alike names rule alone, for the name a local image records
 * (io.containerd.image.name, RepoTags; `what` says so in the reason): the
 * action the policy sets for that name's scope (deny by default; a
 * containers-policy.json, which has no such rule, warns), nothing when the
 * policy names the repository or namespace itself. Adds to d. */
SW_API void sw_policy_judge_name(const sw_policy *p, const sw_name_result *nr, const char *what, sw_decision *d);

/* Add a reason (a deny also clears allowed, unless in warn mode, where it
 * becomes a warning). */
SW_API void sw_decision_add(sw_decision *d, sw_reason_kind kind, int line, const char *fmt, ...)
	       __attribute__((format(printf, 4, 5)));

#ifdef __cplusplus
}
#endif

#endif
