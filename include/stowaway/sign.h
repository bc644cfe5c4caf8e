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
} sw_sig_status;

typedef struct sw_sig_result {
	sw_sig_status status;
	char reason[300];
	char identity[512];     /* critical.identity.docker-reference */
	char digest[80];        /* critical.image.docker-manifest-digest */
	int key;                /* index of the key that verified it, -1 none */
	bool rekor_bundle;      /* a transparency-log bundle annotation is present (not checked) */
} sw_sig_result;

/* How the signed identity must relate to the reference (containers-policy
 * signedIdentity): not checked (cosign's default), same repository, or
 * the exact reference. */
typedef enum sw_identity_rule { SW_IDENTITY_ANY, SW_IDENTITY_REPOSITORY, SW_IDENTITY_EXACT } sw_identity_rule;

/* Verify one signature: payload bytes, the base64 DER signature from the
 * layer annotation, against the image's manifest digest. */
SW_API void sw_sig_verify(const sw_pubkeys *keys, const char *payload, size_t plen, const char *sig_b64,
			  const char *image_digest, const char *reference, sw_identity_rule rule, sw_sig_result *out);

/* Verify a registry image: resolve its digest, read sha256-<hex>.sig from
 * the same repository, verify every signature. results (malloc'd) has one
 * entry per signature layer. Returns the number of valid signatures, or an
 * error (no .sig tag is 0 signatures, not an error). */
SW_API int sw_verify_image(const char *ref, const sw_image_opts *o, const sw_pubkeys *keys,
			   sw_identity_rule rule, char *digest_out, size_t digest_n, sw_sig_result **results,
			   size_t *nresults, sw_error *err);

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

/* Read and verify the image's scan attestations; returns the number that
 * are valid (results malloc'd, one per attestation layer). */
SW_API int sw_verify_attestations(const char *ref, const sw_image_opts *o, const sw_pubkeys *keys,
				  char *digest_out, size_t digest_n, sw_att_result **results, size_t *n,
				  sw_error *err);

#ifdef __cplusplus
}
#endif

#endif
