/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy a server decides under, and its reloads (polwatch.c), shared
 * by the webhook and the registry gate. A loaded policy is counted (on the
 * loop's thread): each review, pull or job that uses it holds a reference,
 * so a reload never frees a policy in use. The file is named by a hash of
 * its bytes, the key under which decisions are cached.
 */
#ifndef SW_SERVE_POLWATCH_H
#define SW_SERVE_POLWATCH_H

#include <stddef.h>
#include <sys/stat.h>

#include "stowaway/policy.h"
#include "../util/util.h"

typedef struct sw_pol {
	sw_policy *p;
	int refs;
	char hash[17];           /* 16 hex digits of SHA-256 over the file; "built-in" */
	unsigned gen;            /* 1 for the first, one more per reload */
} sw_pol;

typedef struct sw_polwatch {
	const char *path;        /* NULL: the built-in policy */
	sw_pol *cur;
	struct stat st;          /* the file as last read */
	unsigned long loaded, refused;
	char error[600];         /* why the last changed file was refused ("" when it loaded) */
} sw_polwatch;

/* Load the policy (SW_EFORMAT naming the first problem and its line,
 * SW_EIO, SW_ENOMEM). */
int sw_polwatch_init(sw_polwatch *w, const char *path, sw_error *err);
void sw_polwatch_release(sw_polwatch *w);
/* Look at the file: 1 when a changed one loaded (w->cur is new), 0 when
 * nothing changed, SW_EFORMAT (or another error, err saying why, also kept
 * in w->error) when a changed one was refused and the old one stays. */
int sw_polwatch_check(sw_polwatch *w, sw_error *err);

static inline sw_pol *sw_pol_ref(sw_pol *p) { p->refs++; return p; }
void sw_pol_unref(sw_pol *p);

/* The first 16 hex digits of SHA-256 over the bytes of a file (at most
 * max) into h's place; st when asked. SW_EIO with errno. */
int sw_hash_file_into(sw_sha256 *h, const char *path, size_t max, struct stat *st);
void sw_hash_final16(sw_sha256 *h, char out[17]);

#endif
