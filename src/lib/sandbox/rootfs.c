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
 *   - bounded and verified: entries and bytes written here; the size
 *     against the descriptor, the ratio, time, the blob digest and the
 *     diff_id by the one layer stream every reader of layers uses
 *     (image/stream.c).
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
#include "../image/stream.h"
#include "../layer/merge.h"
#include "../layer/tar.h"
#include "../util/util.h"
#include "../util/banned.h"

typedef struct asm_ctx {
	int root;
	sw_rootfs_stats *st;
	const sw_rootfs_opts *o;
	sw_error *err;
	int out_fd;             /* the regular file being written, or -1 */
	char path[4100];
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

int sw_rootfs_assemble(const sw_image *img, const char *target, const sw_rootfs_opts *o, sw_rootfs_stats *st,
		       sw_error *err)
{
	static const sw_rootfs_opts defo = SW_ROOTFS_OPTS_INIT;
	sw_lstream_cb cb = { NULL, NULL, NULL, { NULL, on_entry, on_data, on_entry_end } };
	sw_lstream_opts lo;
	sw_lstream *ls;
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
	cb.tar.ctx = &c;
	lo = (sw_lstream_opts){ o->max_ratio, o->timeout > 0 ? sw_now() + o->timeout : 0, o->timeout, false };
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
	if (!(ls = sw_lstream_new())) {
		close(c.root);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	for (i = 0; i < sw_image_layer_count(img) && rc == 0; i++) {
		const sw_layer_info *li = sw_image_layer(img, i);
		sw_lstream_stats ls_st;
		rc = sw_lstream_run(ls, img, i, &lo, &cb, &ls_st, err);
		if (c.out_fd >= 0)
			close(c.out_fd);
		c.out_fd = -1;
		if (rc < 0)
			sw_error_prefix(err, "layer %zu (%s)", i, li->digest ? li->digest : "");
		st->layers++;
	}
	sw_lstream_free(ls);
	close(c.root);
	return rc;
}
