/* SPDX-License-Identifier: Apache-2.0 */
/* The OCI distribution client (client.c): one repository of one registry. */
#ifndef SW_REGISTRY_H
#define SW_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stowaway/image.h"
#include "../util/util.h"

typedef struct sw_reg sw_reg;

/* domain: the reference's ("docker.io" is served by registry-1.docker.io),
 * repo: its path ("library/alpine"). Options may be NULL (defaults). */
int sw_reg_open(sw_reg **out, const char *domain, const char *repo, const sw_registry_opts *o,
		sw_error *err);
void sw_reg_free(sw_reg *r);

/* GET a manifest by tag or digest, at most max bytes, with the full Accept
 * list. *digest is the SHA-256 of the body ("sha256:..."), checked against
 * Docker-Content-Digest when the registry sends one. All out strings are
 * malloc'd. */
int sw_reg_manifest(sw_reg *r, const char *tag_or_digest, uint64_t max, char **body, size_t *len,
		    char **media_type, char **digest, sw_error *err);

/* Until called again (with NULLs to end it), sw_reg_manifest on this
 * thread answers a request for `digest` in repository `repo` with body
 * (len bytes, media_type) from memory, without the registry: the caller
 * fetched and verified it (sw_reg_manifest) and keeps the strings alive.
 * The gate fetches a manifest once for the decision, the signatures and
 * the scan. The bytes are content-addressed: the same whoever asks. */
void sw_reg__memo(const char *repo, const char *digest, const char *body, size_t len, const char *media_type);

/* GET the referrers index of a manifest (OCI 1.1: /v2/<repo>/referrers/
 * <digest>), at most max bytes, malloc'd. SW_ENOTFOUND when the registry
 * has no referrers API (404): use the sha256-<hex> tag instead. */
int sw_reg_referrers(sw_reg *r, const char *digest, uint64_t max, char **body, size_t *len, sw_error *err);

/* GET a small blob into memory (at most max bytes), size and digest checked. */
int sw_reg_blob(sw_reg *r, const char *digest, int64_t size, uint64_t max, char **out, size_t *len,
		sw_error *err);

/* GET tags/list?n=N[&last=LAST] (last: a tag, checked by the caller), at
 * most max bytes of JSON, as the registry sent it. */
int sw_reg_tags(sw_reg *r, unsigned n, const char *last, uint64_t max, char **body, size_t *len, sw_error *err);

/* GET /v2/_catalog?n=N[&last=LAST] of the registry, as it sent it. */
int sw_reg_catalog(sw_reg *r, unsigned n, const char *last, uint64_t max, char **body, size_t *len, sw_error *err);

/* GET an absolute URL's JSON (a listing API beside the registry's, such
 * as Docker Hub's repositories API), with the client's auth, retries and
 * hooks, at most max bytes. */
int sw_reg_get_url(sw_reg *r, const char *url, uint64_t max, char **body, size_t *len, sw_error *err);

/* A tag's digest and media type (malloc'd) by HEAD, which Docker Hub does
 * not count as a pull, or by GET (at most max bytes, hashed) when the
 * registry sends no valid Docker-Content-Digest or refuses the HEAD. The
 * digest is what the caller fetches and verifies next. */
int sw_reg_resolve(sw_reg *r, const char *ref, uint64_t max, char **digest, char **media_type, sw_error *err);

/* Stream a blob into sink as it arrives (no temporary file). The caller
 * hashes what it receives and checks the digest; a transfer that fails
 * after bytes were delivered is not retried (they cannot be taken back). */
int sw_reg_stream(sw_reg *r, const char *digest, int (*sink)(void *ctx, const uint8_t *p, size_t n),
		  void *ctx, sw_error *err);

/* Upload a blob (monolithic POST + PUT); digest gets its "sha256:...". */
int sw_reg_put_blob(sw_reg *r, const void *data, size_t len, char digest[SW_DIGEST_STRLEN], sw_error *err);
/* PUT a manifest under a tag. */
int sw_reg_put_manifest(sw_reg *r, const char *tag, const char *media_type, const void *body, size_t len,
			sw_error *err);

/* "https://registry-1.docker.io" etc., for messages */
const char *sw_reg_base(const sw_reg *r);

/* The value of the auth-param `key` in a WWW-Authenticate challenge
 * ("Bearer realm=\"...\",service=..."), malloc'd; NULL when absent,
 * malformed or out of memory. Internal to the client; exposed for tests. */
char *sw_reg__challenge_param(const char *challenge, const char *key);

#endif
