/* SPDX-License-Identifier: Apache-2.0 */
/* Sigstore bundles inside the library: the trusted root, a bundle as read,
 * and the checks the verifier (bundle.c) runs over them: certificates and
 * SCTs (x509.c), transparency-log entries (tlog.c), RFC 3161 timestamps
 * (tsa.c). Every time is seconds since the epoch, UTC. */
#ifndef SW_SIGN_BUNDLE_INT_H
#define SW_SIGN_BUNDLE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "stowaway/sign.h"
#include "../util/util.h"

#define SW_TR_MAX 32          /* logs, CAs or TSAs of each kind in a trusted root */
#define SW_TR_MAX_CHAIN 8     /* certificates in one chain */
#define SW_TIME_OPEN INT64_MAX

/* A transparency log or a CT log. */
typedef struct sw_tr_log {
	EVP_PKEY *key;
	uint8_t id[32];           /* logId.keyId (SHA-256 of the key, as logs name themselves) */
	int64_t start, end;       /* validFor, closed; end SW_TIME_OPEN when open */
} sw_tr_log;

/* A Fulcio CA or a timestamp authority: its chain, leaf-most first. */
typedef struct sw_tr_ca {
	X509 *chain[SW_TR_MAX_CHAIN];
	size_t n;
	int64_t start, end;
} sw_tr_ca;

struct sw_trustroot {
	sw_tr_log tlogs[SW_TR_MAX], ctlogs[SW_TR_MAX];
	sw_tr_ca cas[SW_TR_MAX], tsas[SW_TR_MAX];
	size_t ntlogs, nctlogs, ncas, ntsas;
};

/* A trusted root from its JSON text (name: for messages). */
int sw_tr__parse(const char *text, size_t len, const char *name, sw_trustroot **out, sw_error *err);
/* The log with this id, or NULL. */
const sw_tr_log *sw_tr__log(const sw_tr_log *logs, size_t n, const uint8_t *id, size_t idlen);
/* "2021-01-12T11:53:27Z" (fraction and offset allowed) to seconds; -1 on a bad form. */
int sw_tr__time(const char *s, int64_t *out);
/* DER SubjectPublicKeyInfo, or (RSA) PKCS#1 RSAPublicKey. */
EVP_PKEY *sw_tr__pubkey(const uint8_t *der, size_t n);

/* One transparency-log entry as the bundle gives it. */
typedef struct sw_tlog_entry {
	int64_t log_index;
	uint8_t log_id[32];
	const char *kind, *version;
	int64_t integrated_time;      /* 0: none (Rekor v2) */
	uint8_t *set;                 /* inclusionPromise.signedEntryTimestamp, or NULL */
	size_t setlen;
	const char *body_b64;         /* canonicalizedBody as written */
	uint8_t *body;
	size_t bodylen;
	bool proof;                   /* an inclusion proof is present */
	int64_t p_index, p_size;
	uint8_t root[32];
	uint8_t (*hashes)[32];
	size_t nhashes;
	const char *checkpoint;
} sw_tlog_entry;

/* What the log entry must name: the signature, the signer (leaf
 * certificate or public key), and the artifact (hashedrekord: its
 * digest; DSSE: the envelope). */
typedef struct sw_tlog_want {
	const uint8_t *sig;
	size_t siglen;
	X509 *cert;                   /* or ... */
	EVP_PKEY *key;
	const uint8_t *digest;        /* SHA-256 the signature is over (message: the artifact's;
				       * DSSE: of the PAE) */
	bool dsse;
	const uint8_t *payload;       /* DSSE */
	size_t paylen;
	const char *payload_type;
} sw_tlog_want;

/* The entry checked against the trusted root's logs: body, SET, inclusion
 * proof and checkpoint. *time_out: the integrated time when a SET vouched
 * for it, else 0. SW_EVERIFY with the reason. */
int sw_tlog__verify(const sw_trustroot *tr, const sw_tlog_entry *e, const sw_tlog_want *w, int bundle_minor,
		    int64_t *time_out, sw_error *err);

/* A checkpoint (signed note) for a tree of size with root, signed by log. */
int sw_tlog__checkpoint(const char *cp, int64_t size, const uint8_t root[32], const sw_tr_log *log, sw_error *err);

/* The leaf chains to a Fulcio CA of the trusted root valid at t, is valid
 * itself at t, is not a CA and may sign code. */
int sw_x509__verify_leaf(const sw_trustroot *tr, X509 *leaf, int64_t t, sw_error *err);
/* At least one SCT of the leaf verifies against a CT log of the root. */
int sw_x509__verify_sct(const sw_trustroot *tr, X509 *leaf, sw_error *err);
/* The leaf's SAN (URI or email: the first) and OIDC issuer (Fulcio's
 * extension, new OID then old). Empty strings when absent. */
void sw_x509__identity(X509 *leaf, char *san, size_t sann, char *issuer, size_t issn);

/* An RFC 3161 timestamp response over sig, signed by a TSA of the root at
 * its genTime; *t out. */
int sw_tsa__verify(const sw_trustroot *tr, const uint8_t *der, size_t n, const uint8_t *sig, size_t siglen,
		   int64_t *t, sw_error *err);

/* Whether sig verifies over SHA-256 digest (prehashed) with key. */
bool sw_bdl__verify_digest(EVP_PKEY *key, const uint8_t *digest, const uint8_t *sig, size_t siglen);
/* Whether sig verifies over data (hashed with SHA-256; Ed25519 pure). */
bool sw_bdl__verify_data(EVP_PKEY *key, const void *data, size_t n, const uint8_t *sig, size_t siglen);
/* Strict base64 of a JSON string member; SW_EFORMAT when absent or not base64. */
int sw_bdl__b64(const char *s, uint8_t **out, size_t *n);
/* A protobuf int64 in JSON: a decimal string or an integer. */
int sw_bdl__int64(const sw_json *v, int64_t *out);

#endif
