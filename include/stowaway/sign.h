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
	SW_SIG_OTHER_TYPE,      /* an attestation of another predicate type than the one asked
				 * for (cosign's --type): not counted, not an error */
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

struct sw_bundle_want;
struct sw_trustroot;

/* What a registry image's signatures must show: one of keys, a Rekor SET
 * by one of rekor_keys when not NULL, and the identity (NULL: any).
 * Sigstore bundles (cosign v3) count too: keyed ones by keys (with log
 * entries when rekor_keys is set, else entries are checked only when
 * present), keyless ones when keyless names the certificate's identity
 * and issuer (NULL: keyless bundles are not accepted); both against
 * trust_root (NULL: the built-in one). */
typedef struct sw_sig_check {
	const sw_pubkeys *keys;
	const sw_pubkeys *rekor_keys;
	const sw_identity *identity;
	const struct sw_bundle_want *keyless;
	const struct sw_trustroot *trust_root;
	/* containers-policy.json's fulcio: a legacy .sig signature with a
	 * certificate counts when it chains to these CA certificates (PEM: a
	 * path, or "data:" and base64) at its Rekor SET's time (rekor_keys
	 * required), for this OIDC issuer and SAN email */
	const char *fulcio_ca;
	const char *fulcio_issuer;
	const char *fulcio_email;
} sw_sig_check;

/* Verify a registry image (or an OCI layout, oci:DIR): resolve its digest,
 * read sha256-<hex>.sig from the same repository and the Sigstore bundles
 * that refer to it (the referrers API, else the sha256-<hex> tag's index),
 * verify every signature. results (malloc'd) has one entry per signature
 * layer and per bundle. Returns the number of valid signatures, or an
 * error (no signature at all is 0 signatures, not an error). */
SW_API int sw_verify_image(const char *ref, const sw_image_opts *o, const sw_sig_check *c, char *digest_out,
			   size_t digest_n, sw_sig_result **results, size_t *nresults, sw_error *err);

/* ---- Sigstore bundles (cosign v3, sigstore-go, sigstore-python ...) ---- */

/* A Sigstore trusted root (trusted_root.json): the transparency logs,
 * Fulcio CAs, CT logs and timestamp authorities bundles are checked
 * against. path NULL: the public-good instance's root compiled into the
 * library (data/sigstore/trusted_root.json). Never fetched. *out belongs to
 * the caller (sw_trustroot_free). Errors: SW_EIO (cannot read),
 * SW_EFORMAT (not a trusted root; a validFor without its start, a key or
 * certificate that does not parse). */
typedef struct sw_trustroot sw_trustroot;
SW_API int sw_trustroot_load(const char *path, sw_trustroot **out, sw_error *err);
/* NULL is a no-op. */
SW_API void sw_trustroot_free(sw_trustroot *tr);

/* Who must have signed: keys (a bundle signed with a public key: one of
 * them), or a Fulcio certificate whose SAN (URI or email) is identity, or
 * matches identity_regexp, and whose OIDC issuer is issuer or matches
 * issuer_regexp (POSIX extended, unanchored, as cosign's options; NULL:
 * not checked). Borrowed for the call. */
typedef struct sw_bundle_want {
	const sw_pubkeys *keys;
	const char *identity;
	const char *identity_regexp;
	const char *issuer;
	const char *issuer_regexp;
	bool no_tlog;           /* a keyed bundle without log entries is accepted (cosign's
				 * --insecure-ignore-tlog; entries present are still checked) */
} sw_bundle_want;

#define SW_BUNDLE_WANT_INIT { NULL, NULL, NULL, NULL, NULL, false }

/* What a verified bundle says. */
typedef struct sw_bundle_info {
	char identity[512];     /* the certificate's SAN (empty for a key) */
	char issuer[256];       /* its OIDC issuer */
	long long signed_at;    /* the first time a log or a TSA vouched for, seconds since the epoch */
	bool dsse;              /* a DSSE envelope (an attestation), else a message signature */
	char predicate_type[256]; /* DSSE: the in-toto statement's predicateType */
	char subject_name[512];   /* DSSE: the name of the subject that is the artifact */
	bool keyed;             /* signed with a key (not a certificate) */
} sw_bundle_info;

/* Verify a Sigstore bundle (JSON, media types v0.1 to v0.3) for an artifact
 * whose SHA-256 is artifact_digest ("sha256:<64 hex>"), offline, against
 * tr: the signature (message or DSSE with an in-toto statement naming the
 * artifact), every transparency-log entry (body, SET, inclusion proof and
 * signed checkpoint), every RFC 3161 timestamp, and for a certificate its
 * chain to a Fulcio CA at the times those vouch for, its SCT and its
 * identity. 0: verified (info filled); SW_EVERIFY: refused, why in err
 * (naming the part: bundle, signature, DSSE, certificate, SCT, identity,
 * issuer, log entry, SET, inclusion proof, checkpoint, timestamp);
 * SW_EINVAL: a bad argument. Bundles are bounded at 16 MiB. */
SW_API int sw_bundle_verify(const sw_trustroot *tr, const char *bundle, size_t len, const char *artifact_digest,
			    const sw_bundle_want *want, sw_bundle_info *info, sw_error *err);

/* sw_bundle_verify over files: the bundle read from bundle_path, the
 * artifact a regular file (hashed as it is read) or, when no file has
 * that name, "sha256:<64 hex>". SW_EIO: a file cannot be read (the
 * bundle: SW_ELIMIT over 16 MiB); else as sw_bundle_verify. */
SW_API int sw_bundle_verify_blob(const sw_trustroot *tr, const char *bundle_path, const char *artifact,
				 const sw_bundle_want *want, sw_bundle_info *info, sw_error *err);

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

/* Sign as cosign v3 does by default: an in-toto statement (predicateType
 * https://sigstore.dev/cosign/sign/v1, subject: the image's digest, named
 * by its repository or identity) in a DSSE envelope, in a Sigstore bundle
 * v0.3 with the key's hint and no log entry (offline, as cosign's
 * --tlog-upload=false), stored as an OCI 1.1 referrer of the image with
 * the sha256-<hex> tag's index kept for registries without the referrers
 * API. */
SW_API int sw_sign_image_bundle(const char *ref, const sw_image_opts *o, const sw_privkey *key, const char *identity,
				char *digest_out, size_t digest_n, sw_error *err);

/* ---- signed scan verdicts (in-toto statements in DSSE envelopes) ---- */

#define SW_ATTEST_PREDICATE "https://stowaway.dev/attestations/scan/v1"

struct sw_report;

/* Sign a statement about a registry image (subject: its digest; predicate:
 * the scan's verdict, counts per severity, incomplete count, ruleset and
 * scanner version, time) and attach it next to the image as cosign v2
 * stores attestations: a DSSE layer of an OCI manifest with "subject" (an
 * OCI 1.1 referrer) tagged sha256-<hex>.att (the fallback for registries
 * without the referrers API), appended to what is there. The report must
 * be of the image the reference resolves to. */
SW_API int sw_attest_image(const char *ref, const sw_image_opts *o, const sw_privkey *key,
				  const struct sw_report *rep, char *digest_out, size_t digest_n, sw_error *err);

/* The same statement stored as cosign v3 stores attestations by default:
 * its DSSE envelope in a Sigstore bundle v0.3 with the key's hint and no
 * log entry (offline), an OCI 1.1 referrer of the image annotated with the
 * predicate type, listed in the sha256-<hex> tag's index too (other
 * entries kept). */
SW_API int sw_attest_image_bundle(const char *ref, const sw_image_opts *o, const sw_privkey *key,
				  const struct sw_report *rep, char *digest_out, size_t digest_n, sw_error *err);

/* Where an attestation was found. */
typedef enum sw_att_format {
	SW_ATT_LEGACY,           /* a DSSE layer of the sha256-<hex>.att manifest (cosign v1/v2) */
	SW_ATT_BUNDLE,           /* a Sigstore bundle referring to the image (cosign v3) */
} sw_att_format;

typedef struct sw_att_result {
	sw_sig_status status;    /* VALID: signature, subject and predicate type check out;
				  * OTHER_TYPE: signed or not, of another predicate type */
	char reason[300];
	sw_att_format format;
	char predicate_type[256]; /* the statement's (or, not read, its annotation's) */
	char signer[400];        /* a keyless bundle's certificate: "SAN (issuer)"; else empty */
	char verdict[16];        /* stowaway's predicate: clean | suspicious | malicious */
	long long scanned_at;    /* seconds since the epoch */
	char ruleset[80];
} sw_att_result;

/* Who must have signed an attestation, and what it must be about. */
typedef struct sw_att_check {
	const sw_pubkeys *keys;                 /* legacy layers and keyed bundles */
	const struct sw_bundle_want *keyless;   /* keyless bundles: identity and issuer; NULL: refused */
	const struct sw_trustroot *trust_root;  /* bundles are checked against it; NULL: the built-in one */
	const char *predicate_type;             /* the statement's predicateType (a URI); NULL:
						 * SW_ATTEST_PREDICATE, stowaway's scan verdict */
} sw_att_check;

#define SW_ATT_CHECK_INIT { NULL, NULL, NULL, NULL }

/* What is next to an image (ref: a registry reference, or oci:DIR[:TAG]):
 * the cosign signatures and attestations in its repository's
 * sha256-<hex>.sig / .att manifests or its layout, and the Sigstore
 * bundles referring to it (by the predicate type its referrers index
 * names: cosign's sign predicate is a signature, any other an
 * attestation), counted, not verified (a page shows what is there;
 * `verify` says whether it counts). 0 with the counts, or an error (the
 * registry, a damaged manifest). */
SW_API int sw_attachments_count(const char *ref, const sw_image_opts *o, int *signatures, int *attestations,
				sw_error *err);

/* Read and verify the image's attestations, both formats: the layers of
 * the sha256-<hex>.att manifest (keyed) and the Sigstore bundles referring
 * to it (the referrers API, else the sha256-<hex> tag's index; keyed or
 * keyless, offline, as sw_bundle_verify for the image's digest). Each is
 * signed as c asks, its in-toto statement names the image's digest among
 * its subjects, and its predicate type is c's (others are OTHER_TYPE; a
 * bundle whose index annotation names another type is not fetched). For
 * stowaway's predicate the verdict, ruleset and time are read. Returns the
 * number valid (results malloc'd, one per layer and per bundle; at most
 * 256 and 64), or an error (the registry, the trusted root). */
SW_API int sw_verify_attestations(const char *ref, const sw_image_opts *o, const sw_att_check *c,
				  char *digest_out, size_t digest_n, sw_att_result **results, size_t *n,
				  sw_error *err);

#ifdef __cplusplus
}
#endif

#endif
