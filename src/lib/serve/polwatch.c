/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A server's policy and its reloads (polwatch.h). The server looks every
 * few seconds: a file whose device, inode, size or mtime changed (a
 * ConfigMap's symlink swap, an in-place write) is hashed; new bytes are
 * loaded; a file that does not load is refused once (until it changes
 * again) and the policy in force stays.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "polwatch.h"

#define MAX_POLICY_FILE (4u << 20)

void sw_pol_unref(sw_pol *p)
{
	if (p && --p->refs == 0) {
		sw_policy_free(p->p);
		free(p);
	}
}

void sw_hash_final16(sw_sha256 *h, char out[17])
{
	uint8_t d[SW_SHA256_LEN];
	char hex[2 * SW_SHA256_LEN + 1];

	sw_sha256_final(h, d);
	sw_sha256_free(h);
	sw_hex(d, sizeof(d), hex);
	memcpy(out, hex, 16);
	out[16] = 0;
}

int sw_hash_file_into(sw_sha256 *h, const char *path, size_t max, struct stat *st)
{
	char buf[16384];
	ssize_t got;
	size_t total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return SW_EIO;
	if (st && fstat(fd, st) < 0) {
		close(fd);
		return SW_EIO;
	}
	while (total <= max && (got = read(fd, buf, sizeof(buf))) > 0) {
		sw_sha256_update(h, buf, (size_t)got);
		total += (size_t)got;
	}
	close(fd);
	return 0;
}

static int hash_file(const char *path, char out[17], struct stat *st)
{
	sw_sha256 *h = sw_sha256_new();
	int e;

	if (!h) {
		errno = ENOMEM;
		return SW_EIO;
	}
	if (sw_hash_file_into(h, path, MAX_POLICY_FILE, st) < 0) {
		e = errno;
		sw_sha256_free(h);
		errno = e;
		return SW_EIO;
	}
	sw_hash_final16(h, out);
	return 0;
}

static int load(sw_polwatch *w, sw_pol **out, struct stat *st, sw_error *err)
{
	sw_policy_problem *probs = NULL;
	size_t nprobs = 0, i;
	sw_pol *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	p->refs = 1;
	if (!w->path) {
		snprintf(p->hash, sizeof(p->hash), "built-in");
		if (sw_policy_default(&p->p) < 0) {
			free(p);
			return sw_error_set(err, SW_ENOMEM, "out of memory");
		}
		*out = p;
		return 0;
	}
	if (hash_file(w->path, p->hash, st) < 0) {
		free(p);
		return sw_error_set(err, SW_EIO, "%s: %s", w->path, strerror(errno));
	}
	rc = sw_policy_load(w->path, &p->p, &probs, &nprobs, err);
	for (i = 0; rc < 0 && i < nprobs && probs[i].warning; i++)
		;
	if (rc < 0 && i < nprobs)
		sw_error_set(err, rc, "%s:%d: %s", w->path, probs[i].line, probs[i].msg);
	free(probs);
	if (rc < 0) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int sw_polwatch_init(sw_polwatch *w, const char *path, sw_error *err)
{
	int rc;

	memset(w, 0, sizeof(*w));
	w->path = path;
	if ((rc = load(w, &w->cur, &w->st, err)) < 0)
		return rc;
	w->cur->gen = 1;
	return 0;
}

void sw_polwatch_release(sw_polwatch *w)
{
	sw_pol_unref(w->cur);
	w->cur = NULL;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int sw_polwatch_check(sw_polwatch *w, sw_error *err)
{
	struct stat st;
	char hash[17];
	sw_pol *np;
	int rc;

	if (!w->path || stat(w->path, &st) < 0 || same_file(&st, &w->st))
		return 0; /* a file missing for a moment (a swap) is looked at again next time */
	if (hash_file(w->path, hash, &st) == 0 && strcmp(hash, w->cur->hash) == 0) {
		w->st = st; /* touched, not changed */
		return 0;
	}
	if ((rc = load(w, &np, &st, err)) < 0) {
		w->st = st; /* refused once, not every few seconds */
		w->refused++;
		snprintf(w->error, sizeof(w->error), "%s", err->msg);
		return rc;
	}
	np->gen = w->cur->gen + 1;
	sw_pol_unref(w->cur);
	w->cur = np;
	w->st = st;
	w->loaded++;
	w->error[0] = 0;
	return 1;
}
