/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry gate's content store (store.c): what the gate judged and
 * allowed, and nothing else. Blobs live under DIR/blobs/sha256/<hex>
 * (names from validated digests only), shared between the images that
 * hold them (counted); an image is a manifest (or an index) of one
 * repository with the blobs it needs. Images arrive whole, from a staging
 * directory (an OCI layout a pull wrote under DIR/tmp), and leave whole,
 * the least recently pulled first, when the store is over its size bound.
 * Everything runs on the server's loop thread but sw_store_link_blob.
 *
 * The store holds what this process judged: it is emptied when opened (a
 * decision made under another policy, or by another build, is not
 * trusted). The per-layer scan cache, which outlives the process, makes
 * judging again cheap.
 */
#ifndef SW_SERVE_STORE_H
#define SW_SERVE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "../util/util.h"

typedef struct sw_store sw_store;

int sw_store_open(sw_store **out, const char *dir, uint64_t max_bytes, sw_error *err);
void sw_store_free(sw_store *s);

/* A new empty staging directory (its path into buf). */
int sw_store_staging(sw_store *s, char *buf, size_t n, sw_error *err);
/* Remove a staging directory and the layout in it. */
void sw_store_discard(sw_store *s, const char *staging);

/* Take the image `digest` of repository `repo` (media_type, as the
 * registry gave it) from staging: every blob of the layout is moved into
 * the store (or dropped, when the store has it), and staging removed. An
 * image already stored is only touched. SW_EIO, SW_ENOMEM. */
int sw_store_adopt(sw_store *s, const char *repo, const char *digest, const char *media_type, const char *staging,
		   sw_error *err);

/* A stored manifest of repo: its file into path and its media type
 * (borrowed); it becomes the most recently pulled. false when not stored. */
bool sw_store_manifest(sw_store *s, const char *repo, const char *digest, char *path, size_t n,
		       const char **media_type);
/* A blob of an image of repo that is stored: its file into path. */
bool sw_store_blob(sw_store *s, const char *repo, const char *digest, char *path, size_t n);

/* A hard link to the stored blob `digest` as dfd/name, when the store has
 * its file: bytes verified when they were stored (a store file is never
 * changed in place, only renamed in and unlinked), so a judgment need not
 * fetch them again. Safe on any thread (it reads nothing that changes: the
 * link either finds the file or fails). 0, or -1 (fetch it). */
int sw_store_link_blob(const sw_store *s, const char *digest, int dfd, const char *name);

uint64_t sw_store_bytes(const sw_store *s);
size_t sw_store_images(const sw_store *s);
size_t sw_store_evicted(const sw_store *s);

#endif
