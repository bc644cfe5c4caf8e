/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gate's content store (store.h). Files are reached through directory
 * descriptors (openat, renameat, unlinkat), never through a path an
 * upstream named: blob names are the hex of a validated digest.
 *
 * Three hash tables, chained, that double as they fill (every lookup is
 * O(1) whatever the store holds):
 *  - blobs by digest, each counted by the images that hold it (the file
 *    goes with the last of them);
 *  - images by repository and digest (a manifest pulled);
 *  - members: (repository, blob) with the number of that repository's
 *    images that hold the blob: a blob is served under a repository's name
 *    only while an allowed image of it needs the blob.
 * Images are also a recency list, the least recently pulled evicted first
 * when the store is over its bound (never the one just adopted). Everything
 * runs on one thread (the server's loop): no lock, and an eviction is
 * never seen half done.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

#define MAX_DEPTH 4           /* staging/blobs/sha256/FILE */
#define MAX_BLOBS_PER_IMAGE 4096
#define MIN_BUCKETS 64

/* A node of a table: the entry's hash, the next in its chain. */
typedef struct hnode {
	struct hnode *next;
	uint32_t hash;
} hnode;

typedef struct htab {
	hnode **b;
	size_t n, cap;               /* entries; buckets (a power of two) */
} htab;

typedef struct blob {
	hnode node;                  /* first: a node is its blob */
	char hex[65];
	uint64_t size;
	unsigned refs;
} blob;

typedef struct image {
	hnode node;
	char *repo, *media_type;
	char digest[SW_DIGEST_STRLEN];
	blob **blobs;
	size_t nblobs;
	struct image *prev, *next;   /* most recently pulled first */
} image;

typedef struct member {
	hnode node;
	char *repo;
	const blob *b;
	unsigned images;             /* the repository's images that hold b */
} member;

struct sw_store {
	int dirfd, blobsfd, tmpfd;
	char *tmp;                   /* DIR/tmp, for the pulls that write a staging layout */
	uint64_t bytes, max;
	htab blobs, images, members;
	image *head, *tail;
	size_t nimages, evicted;
	unsigned seq;
};

/* ---- the tables ---- */

static uint32_t fnv(uint32_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

#define FNV0 2166136261u

static uint32_t hash_hex(const char *hex)
{
	return fnv(FNV0, hex);
}

/* repository and a digest's hex (or a digest), a 0 byte between */
static uint32_t hash_pair(const char *repo, const char *s)
{
	return fnv(fnv(FNV0, repo) * 16777619u, s);
}

static hnode *ht_first(const htab *t, uint32_t h)
{
	return t->cap ? t->b[h & (t->cap - 1)] : NULL;
}

/* Twice the buckets, when the table is as full as it has buckets. */
static int ht_grow(htab *t)
{
	size_t cap = t->cap ? t->cap * 2 : MIN_BUCKETS, i;
	hnode **b;

	if (t->n < t->cap)
		return 0;
	if (!(b = calloc(cap, sizeof(*b))))
		return t->cap ? 0 : SW_ENOMEM; /* a full table still works, only slower */
	for (i = 0; i < t->cap; i++) {
		hnode *n = t->b[i], *next;
		for (; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (cap - 1)];
			b[n->hash & (cap - 1)] = n;
		}
	}
	free(t->b);
	t->b = b;
	t->cap = cap;
	return 0;
}

static int ht_add(htab *t, hnode *n, uint32_t h)
{
	if (ht_grow(t) < 0)
		return SW_ENOMEM;
	n->hash = h;
	n->next = t->b[h & (t->cap - 1)];
	t->b[h & (t->cap - 1)] = n;
	t->n++;
	return 0;
}

static void ht_del(htab *t, hnode *n)
{
	hnode **p = &t->b[n->hash & (t->cap - 1)];

	while (*p && *p != n)
		p = &(*p)->next;
	if (*p) {
		*p = n->next;
		t->n--;
	}
}

static bool valid_hex(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

static blob *find_blob(const sw_store *s, const char *hex)
{
	uint32_t h = hash_hex(hex);
	hnode *n;

	for (n = ht_first(&s->blobs, h); n; n = n->next)
		if (n->hash == h && strcmp(((blob *)n)->hex, hex) == 0)
			return (blob *)n;
	return NULL;
}

static image *find_image(const sw_store *s, const char *repo, const char *digest)
{
	uint32_t h = hash_pair(repo, digest);
	hnode *n;

	for (n = ht_first(&s->images, h); n; n = n->next) {
		image *im = (image *)n;
		if (n->hash == h && strcmp(im->digest, digest) == 0 && strcmp(im->repo, repo) == 0)
			return im;
	}
	return NULL;
}

static member *find_member(const sw_store *s, const char *repo, const char *hex)
{
	uint32_t h = hash_pair(repo, hex);
	hnode *n;

	for (n = ht_first(&s->members, h); n; n = n->next) {
		member *m = (member *)n;
		if (n->hash == h && strcmp(m->b->hex, hex) == 0 && strcmp(m->repo, repo) == 0)
			return m;
	}
	return NULL;
}

/* One more image of repo holds b. */
static int member_ref(sw_store *s, const char *repo, const blob *b)
{
	member *m = find_member(s, repo, b->hex);

	if (m) {
		m->images++;
		return 0;
	}
	if (!(m = calloc(1, sizeof(*m))) || !(m->repo = sw__strdup(repo))) {
		free(m);
		return SW_ENOMEM;
	}
	m->b = b;
	m->images = 1;
	if (ht_add(&s->members, &m->node, hash_pair(repo, b->hex)) < 0) {
		free(m->repo);
		free(m);
		return SW_ENOMEM;
	}
	return 0;
}

static void member_unref(sw_store *s, const char *repo, const blob *b)
{
	member *m = find_member(s, repo, b->hex);

	if (m && --m->images == 0) {
		ht_del(&s->members, &m->node);
		free(m->repo);
		free(m);
	}
}

/* Remove what is under fd (a directory we made), not following links. */
static void empty_dir(int fd, int depth)
{
	DIR *d;
	struct dirent *de;
	int dfd = dup(fd);

	if (dfd < 0 || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
			int sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				empty_dir(sub, depth + 1);
				close(sub);
			}
			unlinkat(fd, de->d_name, AT_REMOVEDIR);
		} else if (!S_ISDIR(st.st_mode)) {
			unlinkat(fd, de->d_name, 0);
		}
	}
	closedir(d);
}

/* dir/name as a directory, made when missing (not a link). */
static int open_sub(int dirfd, const char *name)
{
	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		return -1;
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int sw_store_open(sw_store **out, const char *dir, uint64_t max_bytes, sw_error *err)
{
	sw_store *s = calloc(1, sizeof(*s));
	int b;

	if (!s)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	s->dirfd = s->blobsfd = s->tmpfd = -1;
	s->max = max_bytes;
	if ((mkdir(dir, 0700) < 0 && errno != EEXIST) ||
	    (s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    (b = open_sub(s->dirfd, "blobs")) < 0) {
		sw_error_set(err, SW_EIO, "storage %s: %s", dir, strerror(errno));
		sw_store_free(s);
		return SW_EIO;
	}
	s->blobsfd = open_sub(b, "sha256");
	close(b);
	if (s->blobsfd < 0 || (s->tmpfd = open_sub(s->dirfd, "tmp")) < 0 || !(s->tmp = sw__asprintf("%s/tmp", dir))) {
		sw_error_set(err, SW_EIO, "storage %s: %s", dir, strerror(errno));
		sw_store_free(s);
		return SW_EIO;
	}
	/* what a previous process judged is not trusted: judged again */
	empty_dir(s->blobsfd, 2);
	empty_dir(s->tmpfd, 1);
	*out = s;
	return 0;
}

static void free_image(image *im)
{
	free(im->repo);
	free(im->media_type);
	free(im->blobs);
	free(im);
}

void sw_store_free(sw_store *s)
{
	image *im, *next;
	size_t i;

	if (!s)
		return;
	for (im = s->head; im; im = next) {
		next = im->next;
		free_image(im);
	}
	for (i = 0; i < s->blobs.cap; i++) {
		hnode *n = s->blobs.b[i], *nn;
		for (; n; n = nn) {
			nn = n->next;
			free(n);
		}
	}
	for (i = 0; i < s->members.cap; i++) {
		hnode *n = s->members.b[i], *nn;
		for (; n; n = nn) {
			nn = n->next;
			free(((member *)n)->repo);
			free(n);
		}
	}
	free(s->blobs.b);
	free(s->images.b);
	free(s->members.b);
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->blobsfd >= 0)
		close(s->blobsfd);
	if (s->tmpfd >= 0)
		close(s->tmpfd);
	free(s->tmp);
	free(s);
}

int sw_store_staging(sw_store *s, char *buf, size_t n, sw_error *err)
{
	char name[32];

	snprintf(name, sizeof(name), "s%u-%ld", ++s->seq, (long)getpid());
	if (mkdirat(s->tmpfd, name, 0700) < 0)
		return sw_error_set(err, SW_EIO, "staging directory: %s", strerror(errno));
	snprintf(buf, n, "%s/%s", s->tmp, name);
	return 0;
}

/* The staging directory's own name (its last component). */
static const char *staging_name(const char *staging)
{
	const char *slash = strrchr(staging, '/');

	return slash ? slash + 1 : staging;
}

void sw_store_discard(sw_store *s, const char *staging)
{
	const char *name = staging_name(staging);
	int fd = openat(s->tmpfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		empty_dir(fd, 1);
		close(fd);
	}
	unlinkat(s->tmpfd, name, AT_REMOVEDIR);
}

static void unlink_lru(sw_store *s, image *im)
{
	if (im->prev)
		im->prev->next = im->next;
	else
		s->head = im->next;
	if (im->next)
		im->next->prev = im->prev;
	else
		s->tail = im->prev;
	im->prev = im->next = NULL;
}

static void push_front(sw_store *s, image *im)
{
	im->next = s->head;
	if (s->head)
		s->head->prev = im;
	s->head = im;
	if (!s->tail)
		s->tail = im;
}

static void drop_blob(sw_store *s, blob *b)
{
	if (--b->refs)
		return;
	ht_del(&s->blobs, &b->node);
	unlinkat(s->blobsfd, b->hex, 0);
	s->bytes -= b->size;
	free(b);
}

static void evict(sw_store *s, image *im)
{
	size_t i;

	unlink_lru(s, im);
	ht_del(&s->images, &im->node);
	for (i = 0; i < im->nblobs; i++) {
		member_unref(s, im->repo, im->blobs[i]);
		drop_blob(s, im->blobs[i]);
	}
	s->nimages--;
	s->evicted++;
	free_image(im);
}

static bool image_has(const image *im, const char *hex)
{
	size_t i;

	for (i = 0; i < im->nblobs; i++)
		if (strcmp(im->blobs[i]->hex, hex) == 0)
			return true;
	return false;
}

/* One blob of the staging layout into the store (or counted again). */
static blob *take_blob(sw_store *s, int from, const char *hex, sw_error *err)
{
	blob *b = find_blob(s, hex);
	struct stat st;

	if (b) {
		unlinkat(from, hex, 0);
		b->refs++;
		return b;
	}
	if (fstatat(from, hex, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
	    renameat(from, hex, s->blobsfd, hex) < 0) {
		sw_error_set(err, SW_EIO, "storing blob sha256:%s: %s", hex, strerror(errno));
		return NULL;
	}
	if (!(b = calloc(1, sizeof(*b)))) {
		unlinkat(s->blobsfd, hex, 0);
		sw_error_set(err, SW_ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(b->hex, hex, 65);
	b->size = (uint64_t)st.st_size;
	b->refs = 1;
	if (ht_add(&s->blobs, &b->node, hash_hex(hex)) < 0) {
		unlinkat(s->blobsfd, hex, 0);
		free(b);
		sw_error_set(err, SW_ENOMEM, "out of memory");
		return NULL;
	}
	s->bytes += b->size;
	return b;
}

int sw_store_adopt(sw_store *s, const char *repo, const char *digest, const char *media_type, const char *staging,
		   sw_error *err)
{
	const char *name = staging_name(staging);
	image *im = find_image(s, repo, digest);
	size_t nm = 0;               /* members counted */
	int sfd = -1, rc = 0;
	DIR *d = NULL;
	struct dirent *de;

	if (im) { /* judged twice (two policies, a re-judged tag): one copy */
		unlink_lru(s, im);
		push_front(s, im);
		sw_store_discard(s, staging);
		return 0;
	}
	if (!sw_digest_valid(digest))
		return sw_error_set(err, SW_EINVAL, "not a digest: %s", digest);
	if (!(im = calloc(1, sizeof(*im))) || !(im->repo = sw__strdup(repo)) ||
	    !(im->media_type = sw__strdup(media_type))) {
		if (im)
			free_image(im);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	snprintf(im->digest, sizeof(im->digest), "%s", digest);
	{
		int t = openat(s->tmpfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), b = -1;
		if (t >= 0 && (b = openat(t, "blobs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0)
			sfd = openat(b, "sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (t >= 0)
			close(t);
		if (b >= 0)
			close(b);
	}
	if (sfd < 0 || !(d = fdopendir(dup(sfd)))) {
		rc = sw_error_set(err, SW_EIO, "staging %s: no blobs: %s", name, strerror(errno));
		goto out;
	}
	while ((de = readdir(d))) {
		blob *b;
		if (de->d_name[0] == '.' || !valid_hex(de->d_name))
			continue; /* a pull's temporary file, or anything else: not adopted */
		if (im->nblobs >= MAX_BLOBS_PER_IMAGE) {
			rc = sw_error_set(err, SW_ELIMIT, "more than %d blobs in one image", MAX_BLOBS_PER_IMAGE);
			goto out;
		}
		if ((rc = SW_GROW(im->blobs, im->nblobs)) < 0) {
			sw_error_set(err, rc, "out of memory");
			goto out;
		}
		if (!(b = take_blob(s, sfd, de->d_name, err))) {
			rc = err->code;
			goto out;
		}
		im->blobs[im->nblobs++] = b;
	}
	if (!image_has(im, digest + 7)) {
		rc = sw_error_set(err, SW_EIO, "staging %s: the manifest %s is not in it", name, digest);
		goto out;
	}
	for (nm = 0; nm < im->nblobs; nm++)
		if (member_ref(s, repo, im->blobs[nm]) < 0) {
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
			goto out;
		}
	if (ht_add(&s->images, &im->node, hash_pair(repo, digest)) < 0)
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
out:
	if (d)
		closedir(d);
	if (sfd >= 0)
		close(sfd);
	sw_store_discard(s, staging);
	if (rc < 0) {
		size_t i;
		for (i = 0; i < im->nblobs; i++) {
			if (i < nm)
				member_unref(s, repo, im->blobs[i]);
			drop_blob(s, im->blobs[i]);
		}
		free_image(im);
		return rc;
	}
	push_front(s, im);
	s->nimages++;
	while (s->bytes > s->max && s->tail && s->tail != im)
		evict(s, s->tail);
	return 0;
}

bool sw_store_manifest(sw_store *s, const char *repo, const char *digest, char *path, size_t n,
		       const char **media_type)
{
	image *im = find_image(s, repo, digest);

	if (!im)
		return false;
	unlink_lru(s, im);
	push_front(s, im);
	snprintf(path, n, "/proc/self/fd/%d/%s", s->blobsfd, digest + 7);
	*media_type = im->media_type;
	return true;
}

bool sw_store_blob(sw_store *s, const char *repo, const char *digest, char *path, size_t n)
{
	if (!sw_digest_valid(digest) || !find_member(s, repo, digest + 7))
		return false;
	snprintf(path, n, "/proc/self/fd/%d/%s", s->blobsfd, digest + 7);
	return true;
}

int sw_store_link_blob(const sw_store *s, const char *digest, int dfd, const char *name)
{
	if (!sw_digest_valid(digest))
		return -1;
	return linkat(s->blobsfd, digest + 7, dfd, name, 0) == 0 ? 0 : -1;
}

uint64_t sw_store_bytes(const sw_store *s)
{
	return s->bytes;
}

size_t sw_store_images(const sw_store *s)
{
	return s->nimages;
}

size_t sw_store_evicted(const sw_store *s)
{
	return s->evicted;
}
