/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cosign-compatible keyed signatures (FORMATS.md §6): verification of the
 * legacy "simple signing" format that cosign v1/v2 (and v3 with
 * --new-bundle-format=false) store under the sha256-<hex>.sig tag.
 */
#ifndef STOWAWAY_SIGN_H
#define STOWAWAY_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "stowaway/export.h"
#include "stowaway/error.h"
#include "stowaway/image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_pubkeys sw_pubkeys;

/* Load PEM public keys (PUBLIC KEY: ECDSA P-256, also P-384/P-521, RSA,
 * Ed25519). A value starting with "data:" is base64 of the PEM file (as
 * containers-policy.json's keyData). */
SW_API int sw_pubkeys_load(sw_pubkeys **out, const char *const *paths, size_t n, sw_error *err);
SW_API void sw_pubkeys_free(sw_pubkeys *k);

typedef enum sw_sig_status {
	SW_SIG_VALID = 0,       /* signature and claims check out */
	SW_SIG_BAD_SIGNATURE,   /* no key verifies it */
	SW_SIG_WRONG_DIGEST,    /* signed, but for another manifest */
	SW_SIG_WRONG_IDENTITY,  /* signed for this digest, under another name */
	SW_SIG_MALFORMED,       /* payload or annotation not as cosign writes them */
	SW_SIG_BAD_REKOR,       /* a Rekor SET was required: missing, or not by a trusted log key,
				 * or not for this key, signature and payload */
} sw_sig_status;

typedef struct sw_sig_result {
	sw_sig_status status;
	char reason[300];
	char identity[512];     /* critical.identity.docker-reference */
	char digest[80];        /* critical.image.docker-manifest-digest */
	int key;                /* index of the key that verified it, -1 none */
	bool rekor_bundle;      /* a transparency-log bundle annotation is present (checked
				 * only when Rekor keys are given) */
} sw_sig_result;

/* How the signed identity (the payload's docker-reference) must relate to
 * the image's reference: containers-policy.json's signedIdentity, with
 * containers/image's meaning (docs/policy.md), plus ANY. The image's
 * reference is the one it was named by, ":latest" added when it has
 * neither tag nor digest. */
typedef enum sw_identity_rule {
	SW_IDENTITY_ANY,                  /* not checked (cosign's default) */
	SW_IDENTITY_REPOSITORY,           /* matchRepository: the same repository */
	SW_IDENTITY_EXACT,                /* matchExact: the same repository and tag (or digest);
					   * a repository-only identity never matches */
	SW_IDENTITY_REPO_DIGEST_OR_EXACT, /* matchRepoDigestOrExact: a tag reference as matchExact,
					   * a digest reference its repository with any tag or
					   * digest; a repository-only identity never matches */
	SW_IDENTITY_EXACT_REFERENCE,      /* exactReference: exactly value (with a tag or digest),
					   * whatever the image is called */
	SW_IDENTITY_EXACT_REPOSITORY,     /* exactRepository: value's repository */
	SW_IDENTITY_REMAP,                /* remapIdentity: a reference under the prefix value is
					   * rewritten under signed_prefix, then as
					   * REPO_DIGEST_OR_EXACT */
} sw_identity_rule;

typedef struct sw_identity {
	sw_identity_rule rule;
	const char *value;          /* EXACT_REFERENCE, EXACT_REPOSITORY: the reference;
				     * REMAP: the prefix */
	const char *signed_prefix;  /* REMAP */
} sw_identity;

#define SW_IDENTITY_INIT { SW_IDENTITY_ANY, NULL, NULL }

/* Whether a signature naming signed_ref is accepted for an image named
 * reference (NULL: an image with no name, as a local one: only the rules
 * that do not look at it can match). Both are parsed and normalised as
 * Docker does; what does not parse never matches. */
SW_API bool sw_identity_match(const sw_identity *id, const char *reference, const char *signed_ref);

/* Verify one signature: payload bytes, the base64 DER signature from the
 * layer annotation, against the image's manifest digest; the identity
 * against reference (id NULL: any). */
SW_API void sw_sig_verify(const sw_pubkeys *keys, const char *payload, size_t plen, const char *sig_b64,
			  const char *image_digest, const char *reference, const sw_identity *id, sw_sig_result *out);

/* A Rekor SET (cosign's dev.sigstore.cosign/bundle annotation) checked
 * as containers/image checks it: signed by one of the log's keys (ECDSA,
 * over the canonical JSON of its payload), for a hashedrekord entry of
 * this public key, this signature and this payload. 0, or SW_EVERIFY with
 * why in err. */
SW_API int sw_rekor_set_verify(const sw_pubkeys *rekor_keys, const char *bundle, const sw_pubkeys *keys, int key,
			       const char *sig_b64, const void *payload, size_t plen, sw_error *err);

/* What a registry image's signatures must show: one of keys, a Rekor SET
 * by one of rekor_keys when not NULL, and the identity (NULL: any). */
typedef struct sw_sig_check {
	const sw_pubkeys *keys;
	const sw_pubkeys *rekor_keys;
	const sw_identity *identity;
} sw_sig_check;

/* Verify a registry image: resolve its digest, read sha256-<hex>.sig from
 * the same repository, verify every signature. results (malloc'd) has one
 * entry per signature layer. Returns the number of valid signatures, or an
 * error (no .sig tag is 0 signatures, not an error). */
SW_API int sw_verify_image(const char *ref, const sw_image_opts *o, const sw_sig_check *c, char *digest_out,
			   size_t digest_n, sw_sig_result **results, size_t *nresults, sw_error *err);

/* ---- keys and signing ---- */

/* A private signing key. Opaque: its bytes stay inside the library (and are
 * wiped when it is freed); callers hold it only to pass it to sw_sign_image
 * or sw_attest_image. */
typedef struct sw_privkey sw_privkey;

/* A new ECDSA P-256 key pair: the public key as PEM PUBLIC KEY, the private
 * key in cosign's encrypted format (scrypt N=32768 + nacl/secretbox over
 * PKCS#8, label ENCRYPTED COSIGN PRIVATE KEY). Files are created, never
 * overwritten. */
SW_API int sw_key_generate(const char *priv_path, const char *pub_path, const char *password, sw_error *err);

/* Read a private key: cosign's or sigstore's encrypted format (scrypt N of
 * 32768, 65536 or 131072, r=8, p=1), or a plain PEM one (PKCS#8 or SEC1,
 * encrypted PEM with the same password). password NULL is "". On success
 * *out belongs to the caller (sw_privkey_free); on failure it is NULL.
 * Errors: SW_ENOTFOUND (no such file), SW_EVERIFY (wrong password or a
 * damaged ciphertext), SW_EFORMAT (not a key we read). */
SW_API int sw_privkey_load(const char *path, const char *password, sw_privkey **out, sw_error *err);
/* Free a key, its secret wiped; NULL is a no-op. */
SW_API void sw_privkey_free(sw_privkey *key);

/* Sign a registry image (or an OCI layout, oci:DIR) as cosign does: the
 * simple-signing payload for its digest and identity, ECDSA-SHA256,
 * appended as a layer to the sha256-<hex>.sig manifest beside the image.
 * The identity is the image's repository, or identity when not NULL (a
 * reference, its tag kept: cosign's --sign-container-identity; what a
 * layout that records no name must be given). annotations: "k=v" strings
 * for the payload's "optional" object (may be NULL). */
SW_API int sw_sign_image(const char *ref, const sw_image_opts *o, const sw_privkey *key, const char *identity,
				const char *const *annotations, size_t nannotations, char *digest_out, size_t digest_n,
				sw_error *err);

/* ---- signed scan verdicts (in-toto statements in DSSE envelopes) ---- */

#define SW_ATTEST_PREDICATE "https://stowaway.dev/attestations/scan/v1"

struct sw_report;

/* Sign a statement about a registry image (subject: its digest; predicate:
 * the scan's verdict, counts per severity, incomplete count, ruleset and
 * scanner version, time) and attach it next to the image: an OCI manifest
 * with "subject" (an OCI 1.1 referrer) tagged sha256-<hex>.att (the
 * fallback for registries without the referrers API), appended to what is
 * there. The report must be of the image the reference resolves to. */
SW_API int sw_attest_image(const char *ref, const sw_image_opts *o, const sw_privkey *key,
				  const struct sw_report *rep, char *digest_out, size_t digest_n, sw_error *err);

typedef struct sw_att_result {
	sw_sig_status status;    /* VALID: signature, subject and predicate type check out */
	char reason[300];
	char verdict[16];        /* clean | suspicious | malicious */
	long long scanned_at;    /* seconds since the epoch */
	char ruleset[80];
} sw_att_result;

/* What is next to an image (ref: a registry reference, or oci:DIR[:TAG]):
 * the cosign signatures and attestations in its repository's
 * sha256-<hex>.sig / .att manifests or its layout, counted, not verified
 * (a page shows what is there; `verify` says whether it counts). 0 with
 * the counts, or an error (the registry, a damaged manifest). */
SW_API int sw_attachments_count(const char *ref, const sw_image_opts *o, int *signatures, int *attestations,
				sw_error *err);

/* Read and verify the image's scan attestations; returns the number that
 * are valid (results malloc'd, one per attestation layer). */
SW_API int sw_verify_attestations(const char *ref, const sw_image_opts *o, const sw_pubkeys *keys,
					 char *digest_out, size_t digest_n, sw_att_result **results, size_t *n,
					 sw_error *err);

#ifdef __cplusplus
}
#endif

#endif
