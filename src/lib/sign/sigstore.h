/* SPDX-License-Identifier: Apache-2.0 */
/* What signing and verifying share: an image's digest and its .sig manifest. */
#ifndef SW_SIGN_SIGSTORE_H
#define SW_SIGN_SIGSTORE_H

#include <openssl/evp.h>

#include "stowaway/reference.h"
#include "stowaway/sign.h"
#include "../registry/registry.h"
#include "../util/util.h"

#define SW_SIG_MAX_KEYS 16

/* Public keys (sw_pubkeys_load), in the order given. */
struct sw_pubkeys {
	EVP_PKEY *k[SW_SIG_MAX_KEYS];
	size_t n;
};

typedef struct sw_sigimage {
	sw_ref ref;
	char full[1024];          /* the reference as given, normalised */
	sw_reg *reg;
	char *digest;             /* what the reference resolves to (manifest or index) */
	char *media_type;         /* its media type, and size */
	size_t manifest_len;
	char tag[80];             /* sha256-<hex>.sig */
	sw_json_doc *doc;         /* the .sig manifest, or NULL when there is none */
	const sw_json *layers;    /* its layers (NULL when none) */
	struct sw_image *img;     /* an OCI layout image ("oci:DIR[:TAG]") ... */
	char *dir;                /* ... and its directory; else reg is set */
} sw_sigimage;

/* Resolve the reference's digest and read its .sig (suffix "sig") or .att
 * ("att") manifest if there is one. */
int sw_sigimage_open(const char *ref, const sw_image_opts *o, const char *suffix, sw_sigimage *si, sw_error *err);
void sw_sigimage_close(sw_sigimage *si);
int sw_sigimage__open_layout(const char *input, const sw_image_opts *o, const char *suffix, sw_sigimage *si,
			     sw_error *err);

/* Blobs and the attachment manifest, in the registry or the layout. */
int sw_sigstore_blob(sw_sigimage *si, const char *digest, int64_t size, uint64_t max, char **out, size_t *len,
		     sw_error *err);
int sw_sigstore_put_blob(sw_sigimage *si, const void *data, size_t len, char digest[SW_DIGEST_STRLEN], sw_error *err);
int sw_sigstore_put_manifest(sw_sigimage *si, const char *media_type, const void *body, size_t len, sw_error *err);
/* The same under another tag (the referrers fallback, sha256-<hex>). */
int sw_sigstore_put_tagged(sw_sigimage *si, const char *tag, const char *media_type, const void *body, size_t len,
			   sw_error *err);
/* A manifest stored by its digest only (a referrer: a registry PUT by
 * digest, a blob of the layout); digest out. */
int sw_sigstore_put_untagged(sw_sigimage *si, const char *media_type, const void *body, size_t len,
			     char digest[SW_DIGEST_STRLEN], sw_error *err);
/* An index entry written back (mediaType, digest, size, artifactType,
 * platform, string annotations). */
void sw_sigstore_write_desc(sw_jw *w, const sw_json *m);
/* The manifest a tag names, at most max bytes; SW_ENOTFOUND when none. */
int sw_sigstore_tagged(sw_sigimage *si, const char *tag, uint64_t max, char **body, size_t *len, sw_error *err);

/* Sigstore bundles stored as OCI 1.1 referrers (referrers.c): verified
 * (results appended to *results, *n; the number valid returned), and one
 * made with a key (cosign v3's DSSE statement, no log entry). */
int sw_sig__verify_bundles(sw_sigimage *si, const sw_sig_check *c, const char *named, sw_sig_result **results,
			   size_t *n, sw_error *err);
/* A results array (*pp of n elements of elem bytes) one element longer:
 * the new one zeroed and returned, n counted; NULL when out of memory (the
 * array unchanged). */
void *sw_sig__one_more(void *pp, size_t *n, size_t elem);

/* The two kinds of bundles beside an image: signatures (cosign's sign
 * predicate) and attestations (any other predicate type). */
typedef enum sw_sig_kind { SW_SIG_KIND_SIGNATURES, SW_SIG_KIND_ATTESTATIONS } sw_sig_kind;

/* Each bundle referring to si of the kind asked for (by the predicate type
 * its index entry's annotation names; an entry without one is read for
 * either kind): fn gets it, with the predicate type the referrer manifest's
 * annotation names, else the index entry's (NULL: none), and why it could
 * not be read (NULL: it was). An entry whose index annotation names
 * another predicate type than only (NULL: any) is not fetched: fn gets
 * that type, no bundle and no why. A negative return of fn stops, and is
 * returned. */
typedef int (*sw_sig_bundle_fn)(void *ctx, const char *digest, const char *predicate, const char *bundle, size_t len,
				const char *why);
int sw_sig__each_bundle(sw_sigimage *si, sw_sig_kind kind, const char *only, sw_sig_bundle_fn fn, void *ctx,
			sw_error *err);
/* The bundles referring to si, added to *signatures and *attestations by
 * their index entries' annotations: unread and unverified, one request. */
int sw_sig__count_bundles(sw_sigimage *si, int *signatures, int *attestations, sw_error *err);
/* A bundle verified for digest with the keys (keyed bundles; no_tlog: one
 * without log entries is accepted) or as keyless asks (NULL: keyless
 * bundles refused), as sw_bundle_verify; the keys do not stand in the way
 * of a keyless bundle when both are given. */
int sw_sig__bundle_check(const sw_trustroot *tr, const sw_pubkeys *keys, const sw_bundle_want *keyless, bool no_tlog,
			 const char *bundle, size_t blen, const char *digest, sw_bundle_info *info, sw_error *err);

/* An in-toto v1 statement opened in w: _type, one subject (name, sha256
 * hex), predicateType; the caller writes "predicate" and closes it. */
void sw_sig__statement_head(sw_jw *w, const char *name, const char *hex, const char *predicate_type);
/* The statement signed with key in a DSSE envelope, in a keyed bundle v0.3
 * (no log entry), stored as a referrer of si annotated with its predicate
 * type, and listed in the sha256-<hex> fallback index (other entries kept). */
int sw_sig__put_bundle(sw_sigimage *si, EVP_PKEY *key, const sw_buf *statement, const char *predicate,
		       sw_error *err);
int sw_sig__sign_bundle(sw_sigimage *si, EVP_PKEY *key, const sw_ref *identity, bool with_tag, sw_error *err);

/* Exactly these members (a NULL-terminated list), every one present but
 * may_lack (NULL: none may be absent); a value of null counts as absent. */
bool sw_sig__only_keys(const sw_json *obj, const char *const *keys, const char *may_lack);

/* v written as RFC 8785 canonical JSON (rekor.c): integers only (within
 * 2^53), member names within the Basic Multilingual Plane; SW_EFORMAT
 * otherwise, the buffer's error when it is full. */
int sw_sig__canonical(sw_buf *out, const sw_json *v);

/* A Rekor SET (rekor.c) for a signer given as DER (a public key's
 * SubjectPublicKeyInfo, or a certificate); the integrated time the log
 * vouched for out. */
int sw_rekor__set_check(const sw_pubkeys *rekor_keys, const char *bundle, const uint8_t *signer, size_t signer_len,
			const char *sig_b64, const void *payload, size_t plen, int64_t *integrated_time, sw_error *err);

/* A legacy keyless signature (fulcio.c): the .sig layer's certificate and
 * chain annotations, checked as containers/image checks a fulcio
 * requirement: chain to the CA at the Rekor SET's time, code signing, the
 * OIDC issuer and the email; then the signature and the SET. 0 (the
 * certificate's key out, the caller's to free), or SW_EVERIFY with why. */
int sw_sig__fulcio_verify(const sw_sig_check *c, const sw_json *annotations, const char *payload, size_t plen,
			  EVP_PKEY **key_out, sw_error *err);

/* Index of the first key that verifies the base64 signature over the
 * bytes, or -1 (also when the signature is not base64). */
int sw_sig__key_verifies(const sw_pubkeys *keys, const void *data, size_t len, const char *sig_b64);

/* The name a signature is made for: the repository (with the tag when
 * with_tag), Docker Hub as index.docker.io (cosign's spelling). */
void sw_sig__signed_name(const sw_ref *ref, bool with_tag, char *out, size_t n);

/* Base64 DER signature (ECDSA-SHA256 etc.) over the bytes; malloc'd. */
char *sw_sig__sign_b64(EVP_PKEY *key, const sw_buf *bytes);
/* Append a layer (uploaded from blob, with one annotation ann_key:
 * ann_value) to the .sig/.att manifest of si: existing layers kept, a
 * fresh config, the manifest (with an OCI 1.1 subject naming si's
 * manifest when subject) PUT under si->tag. */
int sw_sig__append(sw_sigimage *si, const void *blob, size_t len, const char *media_type, const char *ann_key,
		   const char *ann_value, bool subject, sw_error *err);

/* Check one DSSE envelope (bytes of the .att layer) for the image digest:
 * signed by one of the keys, a statement of predicate type want (NULL:
 * stowaway's) that agrees with ann (the layer's predicateType annotation;
 * NULL: none). r filled. */
void sw_att__verify_envelope(const sw_pubkeys *keys, const char *env, size_t len, const char *digest,
			     const char *want, const char *ann, sw_att_result *r);

/* "annotations": the string members of ann (nothing when none). */
void sw_sig__write_annotations(sw_jw *w, const sw_json *ann);

/* Write back a layer descriptor of an existing manifest. */
void sw_sig__write_layer(sw_jw *w, const sw_json *l);

#endif
