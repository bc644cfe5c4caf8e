/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Root filesystem assembly: an image's layers applied, bottom to top, into
 * a private directory, for the sandbox (and `stowaway unpack`).
 *
 * Every byte of a layer is hostile, so:
 *   - names are cleaned lexically first (sw_path_clean: ".." above the root
 *     and NULs refused);
 *   - parent directories are resolved with openat2(RESOLVE_IN_ROOT |
 *     RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) from the target: a symlink
 *     in the image, even "/" or "../../..", resolves inside the target, so
 *     no entry lands outside it and nothing is written through a link to
 *     the outside;
 *   - the last component is created with O_NOFOLLOW | O_EXCL after
 *     removing what was there (a layer replaces, it never writes through);
 *   - hard links are made as hard links, their target resolved in the
 *     root and never followed out of it (a copy per link would let one
 *     small layer write gigabytes); device nodes and FIFOs are skipped and
 *     counted; setuid/setgid/sticky bits are dropped; owners are not set
 *     (the sandbox maps one user);
 *   - whiteouts remove the named entry in the same directory (one that
 *     names "", "." or ".." refuses the image: joined to its directory it
 *     names that directory or its parent), an opaque
 *     marker empties its directory of what lower layers put there (applied
 *     when it is met; Docker and BuildKit write it before the directory's
 *     own entries);
 *   - bounded: entries, bytes written, the compression ratio, time, and
 *     the same digest checks as a scan (blob digest, diff_id).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <dirent.h>

#include "stowaway/sandbox.h"
#include "../image/image_int.h"
#include "../layer/inflate.h"
#include "../layer/merge.h"
#include "../layer/tar.h"
#include "../util/util.h"
#include "../util/banned.h"

#define READ_CHUNK (1u << 20)

typedef struct asm_ctx {
	int root;
	sw_rootfs_stats *st;
	const sw_rootfs_opts *o;
	sw_error *err;
	sw_sha256 *bh, *dh;
	sw_inflate *z;
	sw_tar *t;
	int out_fd;             /* the regular file being written, or -1 */
	char path[4100];
	uint64_t layer_in, layer_out;
	double deadline;
} asm_ctx;

static int open_in_root(int root, const char *path, int flags, mode_t mode)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.mode = mode;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
	return (int)syscall(SYS_openat2, root, path[0] ? path : ".", &how, sizeof(how));
}

/* Remove whatever is at dfd/name (a file, a link, or a whole tree). */
static int remove_at(int dfd, const char *name, unsigned depth)
{
	struct stat st;
	int sub;
	DIR *d;
	struct dirent *de;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0);
	if (depth > 4096 || (sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if (!(d = fdopendir(sub))) {
		close(sub);
		return -1;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && remove_at(sub, de->d_name, depth + 1) < 0) {
			closedir(d);
			return -1;
		}
	closedir(d);
	return unlinkat(dfd, name, AT_REMOVEDIR);
}

/* Empty a directory (opaque marker). */
static int empty_dir(int dfd)
{
	/* dfd may be an O_PATH descriptor: open the directory itself to read it */
	int dup_fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
		if (dup_fd >= 0)
			close(dup_fd);
		return -1;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && remove_at(dfd, de->d_name, 0) < 0)
			rc = -1;
	closedir(d);
	return rc;
}

static int fail(asm_ctx *c, int code, const char *what)
{
	return sw_error_set(c->err, code, "%s: %s: %s", c->path, what, strerror(errno));
}

/* The directory that holds c->path, resolved inside the root; missing
 * components are made, one at a time, each resolved inside the root.
 * -1 (and counted as refused) when it cannot be. */
static int parent_dir(asm_ctx *c, const char *parent)
{
	char walk[4100], *save = NULL, *tok;
	int pfd = open_in_root(c->root, parent[0] ? parent + 1 : "", O_PATH | O_DIRECTORY, 0), cur;

	if (pfd >= 0)
		return pfd;
	snprintf(walk, sizeof(walk), "%s", parent + 1);
	cur = dup(c->root);
	for (tok = strtok_r(walk, "/", &save); tok && cur >= 0; tok = strtok_r(NULL, "/", &save)) {
		int next;
		if (mkdirat(cur, tok, 0755) < 0 && errno != EEXIST) {
			close(cur);
			return -1;
		}
		if (c->o->id_base >= 0)
			(void)fchownat(cur, tok, (uid_t)c->o->id_base, (gid_t)c->o->id_base, AT_SYMLINK_NOFOLLOW);
		next = open_in_root(cur, tok, O_PATH | O_DIRECTORY, 0);
		close(cur);
		cur = next;
	}
	return cur;
}

/* A hard link made as a hard link: its target's directory resolved inside
 * the root, the target's last component never followed (linkat without
 * AT_SYMLINK_FOLLOW links a symlink itself). A copy would let a small
 * layer (one file, thousands of links to it) write gigabytes. */
static int hard_link(asm_ctx *c, int pfd, const char *name, const char *link)
{
	char lp[4100], *slash;
	int tdir;

	if (sw_path_clean(link, strlen(link), lp, sizeof(lp)) < 0 || !lp[1]) {
		c->st->refused++; /* above the root, or the root itself */
		return 0;
	}
	slash = strrchr(lp, '/');
	*slash = '\0';
	if ((tdir = open_in_root(c->root, lp[0] ? lp + 1 : "", O_PATH | O_DIRECTORY, 0)) < 0) {
		c->st->refused++;
		return 0;
	}
	if (linkat(tdir, slash + 1, pfd, name, 0) < 0)
		c->st->refused++; /* missing, a directory, or another filesystem */
	else
		c->st->links++;
	close(tdir);
	return 0;
}

static int on_entry(void *ctx, const sw_tar_entry *e)
{
	asm_ctx *c = ctx;
	char *slash, *name, parent[4100];
	const char *target;
	int pfd, rc = 0;
	mode_t mode = e->mode & 0777;
	sw_marker mark;

	c->out_fd = -1;
	if (++c->st->entries > c->o->max_entries)
		return sw_error_set(c->err, SW_ELIMIT, "more than %llu entries", (unsigned long long)c->o->max_entries);
	if (sw_path_clean(e->name, e->name_len, c->path, sizeof(c->path) - 1) < 0) {
		c->st->refused++; /* ".." above the root, NUL: never placed */
		return 0;
	}
	if (strcmp(c->path, "/") == 0)
		return 0;
	snprintf(parent, sizeof(parent), "%s", c->path);
	slash = strrchr(parent, '/');
	*slash = '\0';
	name = c->path + (slash + 1 - parent);
	mark = sw_marker_kind(name, strlen(name), &target);
	if (mark == SW_MARK_HOSTILE) /* before anything of it is made */
		return sw_error_set(c->err, SW_EFORMAT,
				    "%s: whiteout naming \"%s\" refused: unpacking it would delete %s", c->path,
				    name + 4, strcmp(name + 4, "..") ? "its whole directory" : "the directory above it");
	if (mark == SW_MARK_META) {
		c->st->skipped++; /* aufs metadata: never part of the tree */
		return 0;
	}
	if ((pfd = parent_dir(c, parent)) < 0) {
		c->st->refused++;
		return 0;
	}
	if (mark != SW_MARK_NONE) {
		if (mark == SW_MARK_OPAQUE)
			rc = empty_dir(pfd) < 0 ? fail(c, SW_EIO, "opaque directory") : 0;
		else if (remove_at(pfd, target, 0) < 0)
			rc = fail(c, SW_EIO, "whiteout");
		close(pfd);
		c->st->whiteouts++;
		return rc;
	}
	switch (e->type) {
	case '5': {
		struct stat st;
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
			remove_at(pfd, name, 0);
		if (mkdirat(pfd, name, mode | 0700) < 0 && errno != EEXIST)
			rc = fail(c, SW_EIO, "mkdir");
		break;
	}
	case '2':
		remove_at(pfd, name, 0);
		if (symlinkat(e->link, pfd, name) < 0)
			rc = fail(c, SW_EIO, "symlink");
		break;
	case '1':
		remove_at(pfd, name, 0);
		rc = hard_link(c, pfd, name, e->link);
		close(pfd);
		return rc; /* owner and mode are the target's: the inode is shared */
	case '0': case '7':
		remove_at(pfd, name, 0);
		if ((c->out_fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777)) < 0) {
			rc = fail(c, SW_EIO, "create");
			break;
		}
		fchmod(c->out_fd, mode & 0777); /* no setuid/setgid/sticky, whatever the umask */
		c->st->files++;
		break;
	default:
		c->st->skipped++; /* devices, FIFOs: never created */
		close(pfd);
		return rc;
	}
	if (rc == 0 && c->o->id_base >= 0) {
		uint64_t u = e->uid < 65536 ? e->uid : 65534, g = e->gid < 65536 ? e->gid : 65534;
		(void)fchownat(pfd, name, (uid_t)(c->o->id_base + (int64_t)u), (gid_t)(c->o->id_base + (int64_t)g),
			       AT_SYMLINK_NOFOLLOW);
	}
	close(pfd);
	return rc;
}

static int on_data(void *ctx, const uint8_t *p, size_t n)
{
	asm_ctx *c = ctx;

	if (c->out_fd < 0)
		return 0;
	c->st->bytes += n;
	if (c->st->bytes > c->o->max_bytes)
		return sw_error_set(c->err, SW_ELIMIT, "more than %llu bytes written", (unsigned long long)c->o->max_bytes);
	return sw_write_all(c->out_fd, p, n) < 0 ? fail(c, SW_EIO, "write") : 0;
}

static int on_entry_end(void *ctx)
{
	asm_ctx *c = ctx;

	if (c->out_fd >= 0)
		close(c->out_fd);
	c->out_fd = -1;
	return 0;
}

static int tar_sink(void *ctx, const uint8_t *p, size_t n)
{
	asm_ctx *c = ctx;

	c->layer_out += n;
	if (c->layer_out > (16u << 20) && c->layer_in && c->o->max_ratio &&
	    c->layer_out / c->layer_in > c->o->max_ratio)
		return sw_error_set(c->err, SW_ELIMIT, "compression ratio over %u:1 (%llu bytes from %llu)",
				    c->o->max_ratio, (unsigned long long)c->layer_out, (unsigned long long)c->layer_in);
	if (c->o->timeout > 0 && sw_now() > c->deadline)
		return sw_error_set(c->err, SW_ETIMEOUT, "assembly exceeded its %.0f s timeout", c->o->timeout);
	sw_sha256_update(c->dh, p, n);
	return sw_tar_feed(c->t, p, n, c->err);
}

static int feed(void *ctx, const uint8_t *p, size_t n)
{
	asm_ctx *c = ctx;
	int rc;

	if (!c->z && (rc = sw_inflate_new(&c->z, sw_comp_sniff(p, n), c->err)) < 0)
		return rc;
	c->layer_in += n;
	sw_sha256_update(c->bh, p, n);
	return sw_inflate_feed(c->z, p, n, tar_sink, c, c->err);
}

static int check(sw_sha256 *h, const char *want, const char *what, sw_error *err)
{
	uint8_t d[SW_SHA256_LEN], w[SW_SHA256_LEN];
	char got[SW_DIGEST_STRLEN];

	sw_sha256_final(h, d);
	if (!want)
		return 0;
	if (sw_digest_parse(want, w) < 0 || memcmp(d, w, sizeof(d)) != 0) {
		sw_digest_str(d, got);
		return sw_error_set(err, SW_EVERIFY, "%s hashes to %s, not %s", what, got, want);
	}
	return 0;
}

int sw_rootfs_assemble(const sw_image *img, const char *target, const sw_rootfs_opts *o, sw_rootfs_stats *st,
		       sw_error *err)
{
	static const sw_rootfs_opts defo = SW_ROOTFS_OPTS_INIT;
	sw_tar_cb cb = { NULL, on_entry, on_data, on_entry_end };
	asm_ctx c;
	size_t i;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	if (!o)
		o = &defo;
	if (sw_image__rootfs(img))
		return sw_error_set(err, SW_EINVAL, "a dir: source is already a root filesystem");
	if (mkdir(target, 0755) < 0 && errno != EEXIST)
		return sw_error_set(err, SW_EIO, "%s: %s", target, strerror(errno));
	memset(&c, 0, sizeof(c));
	c.st = st;
	c.o = o;
	c.err = err;
	c.out_fd = -1;
	c.deadline = sw_now() + o->timeout;
	if ((c.root = open(target, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return sw_error_set(err, SW_EIO, "%s: %s", target, strerror(errno));
	{
		/* an empty target only: assembling over something else would mix */
		int probe = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = probe >= 0 ? fdopendir(probe) : NULL;
		struct dirent *de;
		bool empty = true;
		while (d && (de = readdir(d)))
			empty &= !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
		if (d)
			closedir(d);
		else if (probe >= 0)
			close(probe);
		if (!empty) {
			close(c.root);
			return sw_error_set(err, SW_EINVAL, "%s: not empty", target);
		}
	}
	cb.ctx = &c;
	for (i = 0; i < sw_image_layer_count(img) && rc == 0; i++) {
		const sw_layer_info *li = sw_image_layer(img, i);
		const sw_blobloc *loc = sw_image__layer_loc(img, i);
		bool trailing = false;
		c.z = NULL;
		c.layer_in = c.layer_out = 0;
		if (!(c.t = sw_tar_new(&cb, 1u << 20)) || !(c.bh = sw_sha256_new()) || !(c.dh = sw_sha256_new())) {
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		} else if (loc->fd < 0) {
			rc = sw_image__stream_layer(img, i, feed, &c, err);
		} else {
			uint8_t *buf = malloc(READ_CHUNK);
			uint64_t off = 0;
			if (!buf)
				rc = sw_error_set(err, SW_ENOMEM, "out of memory");
			while (buf && rc == 0 && off < loc->size) {
				size_t n = loc->size - off < READ_CHUNK ? (size_t)(loc->size - off) : READ_CHUNK;
				ssize_t r = pread(loc->fd, buf, n, (off_t)(loc->off + off));
				if (r <= 0) {
					rc = sw_error_set(err, SW_EIO, "read failed");
					break;
				}
				off += (uint64_t)r;
				rc = feed(&c, buf, (size_t)r);
			}
			free(buf);
		}
		if (rc == 0 && !c.z)
			rc = sw_error_set(err, SW_EFORMAT, "empty layer blob");
		if (rc == 0)
			rc = sw_inflate_finish(c.z, err);
		if (rc == 0)
			rc = sw_tar_finish(c.t, &trailing, err);
		if (rc == 0 && loc->verify)
			rc = check(c.bh, li->digest, "blob", err);
		if (rc == 0)
			rc = check(c.dh, li->diff_id, "uncompressed layer", err);
		if (c.out_fd >= 0)
			close(c.out_fd);
		c.out_fd = -1;
		sw_inflate_free(c.z);
		sw_tar_free(c.t);
		sw_sha256_free(c.bh);
		sw_sha256_free(c.dh);
		c.bh = c.dh = NULL;
		if (rc < 0)
			sw_error_prefix(err, "layer %zu (%s)", i, li->digest ? li->digest : "");
		st->layers++;
	}
	close(c.root);
	return rc;
}
