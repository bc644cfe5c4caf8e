/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A read-only view of the files an image source is made of, so the OCI and
 * docker-archive readers work the same over a directory and over a tar.
 *
 * Directory: paths are opened one component at a time with O_NOFOLLOW, so a
 * hostile layout cannot point "blobs/sha256/<x>" at /etc/shadow through a
 * symlink. Tar: the archive is indexed once (headers only, data skipped with
 * offsets), then members are byte ranges of the same file descriptor, read
 * with pread: a layer inside a 10 GB docker save is never copied.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_int.h"
#include "../layer/tar.h"
#include "../layer/inflate.h"
#include "../util/banned.h"

#define MAX_MEMBERS 100000

typedef struct member {
	char *name;       /* cleaned, without the leading '/' */
	char type;
	uint64_t off, size;
	size_t seq;
} member;

struct sw_fsview {
	int dirfd;        /* directory view, else -1 */
	int tarfd;        /* tar view, else -1 */
	char *label;
	member *m;
	size_t nm;
	int *fds;         /* files opened for blob locations */
	size_t nfds;
};

static int cmp_member(const void *a, const void *b)
{
	const member *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int sw_fsview_open_dir(sw_fsview **out, const char *path, sw_error *err)
{
	sw_fsview *v;

	*out = NULL;
	if (!(v = calloc(1, sizeof(*v))))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	v->tarfd = -1;
	v->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (v->dirfd < 0) {
		int e = errno;
		free(v);
		return sw_error_set(err, e == ENOENT ? SW_ENOTFOUND : SW_EIO, "%s: %s",
				    path, strerror(e));
	}
	v->label = sw__strdup(path);
	*out = v;
	return 0;
}

static int add_member(sw_fsview *v, const char *name, char type, uint64_t off,
		      uint64_t size, sw_error *err)
{
	char clean[4096];
	member *m;

	if (sw_path_clean(name, strlen(name), clean, sizeof(clean)) < 0)
		return sw_error_set(err, SW_EFORMAT,
				    "%s: archive member \"%.200s\" escapes the archive root",
				    v->label, name);
	if (v->nm >= MAX_MEMBERS)
		return sw_error_set(err, SW_ELIMIT, "%s: more than %d archive members",
				    v->label, MAX_MEMBERS);
	if (SW_GROW(v->m, v->nm) < 0)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	m = &v->m[v->nm];
	if (!(m->name = sw__strdup(clean + 1)))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	m->type = type;
	m->off = off;
	m->size = size;
	m->seq = v->nm++;
	return 0;
}

typedef struct { char *path; bool have; } pax_path;

static int on_pax_path(void *ctx, const char *k, size_t kl, const char *val, size_t vl)
{
	pax_path *pp = ctx;

	if (kl == 4 && memcmp(k, "path", 4) == 0) {
		free(pp->path);
		if (!(pp->path = sw__strndup(val, vl)))
			return SW_ENOMEM;
		pp->have = true;
	}
	return 0;
}

static int index_tar(sw_fsview *v, uint64_t fsize, sw_error *err)
{
	uint8_t blk[SW_TAR_BLOCK];
	uint64_t off = 0;
	pax_path pp = { NULL, false };
	char *longname = NULL;
	int rc = 0;

	while (off + SW_TAR_BLOCK <= fsize) {
		sw_tar_hdr h;
		uint64_t data = off + SW_TAR_BLOCK, padded;

		if ((rc = sw_pread_all(v->tarfd, blk, sizeof(blk), off)) < 0) {
			sw_error_set(err, rc, "%s: read failed at offset %llu", v->label,
				     (unsigned long long)off);
			goto out;
		}
		if (off == 0 && sw_comp_sniff(blk, sizeof(blk)) != SW_COMP_NONE) {
			rc = sw_error_set(err, SW_EFORMAT,
					  "%s: archive is %s-compressed; decompress it first",
					  v->label, sw_comp_name(sw_comp_sniff(blk, sizeof(blk))));
			goto out;
		}
		if ((rc = sw_tar__parse_header(blk, &h, err)) < 0) {
			sw_error_prefix(err, "%s: offset %llu", v->label, (unsigned long long)off);
			goto out;
		}
		if (h.zero)
			break;
		padded = (h.size + SW_TAR_BLOCK - 1) / SW_TAR_BLOCK * SW_TAR_BLOCK;
		if (h.size > fsize || data > fsize - h.size) {
			rc = sw_error_set(err, SW_EFORMAT,
					  "%s: member \"%.200s\" declares %llu bytes past the end of the file",
					  v->label, h.name, (unsigned long long)h.size);
			goto out;
		}
		if (h.type == 'x' || h.type == 'L') {
			char *meta;
			if (h.size > (1u << 20)) {
				rc = sw_error_set(err, SW_ELIMIT, "%s: oversized tar record", v->label);
				goto out;
			}
			if (!(meta = malloc(h.size + 1))) {
				rc = sw_error_set(err, SW_ENOMEM, "out of memory");
				goto out;
			}
			rc = sw_pread_all(v->tarfd, meta, h.size, data);
			meta[h.size] = '\0';
			if (rc == 0 && h.type == 'x')
				rc = sw_tar__parse_pax(meta, h.size, on_pax_path, &pp, err);
			if (rc == 0 && h.type == 'L') {
				free(longname);
				longname = meta;
				meta = NULL;
			}
			free(meta);
			if (rc < 0) {
				sw_error_set(err, SW_EFORMAT, "%s: bad tar record at %llu", v->label,
					     (unsigned long long)off);
				goto out;
			}
		} else if (h.type != 'g' && h.type != 'K') {
			const char *name = pp.have ? pp.path : longname ? longname : h.name;
			char type = h.type == '7' ? '0' : h.type;
			if ((rc = add_member(v, name, type, data,
					     type == '0' ? h.size : 0, err)) < 0)
				goto out;
			free(pp.path);
			pp.path = NULL;
			pp.have = false;
			free(longname);
			longname = NULL;
		}
		off = data + padded;
	}
	if (v->nm > 1)
		qsort(v->m, v->nm, sizeof(*v->m), cmp_member);
out:
	free(pp.path);
	free(longname);
	return rc;
}

int sw_fsview_open_tar(sw_fsview **out, const char *path, sw_error *err)
{
	sw_fsview *v;
	struct stat st;
	int rc;

	*out = NULL;
	if (!(v = calloc(1, sizeof(*v))))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	v->dirfd = -1;
	v->label = sw__strdup(path);
	v->tarfd = sw_open_regular(AT_FDCWD, path, true);
	if (v->tarfd < 0 && errno == EINVAL) {
		sw_fsview_free(v);
		return sw_error_set(err, SW_EFORMAT, "%s: not a regular file", path);
	}
	if (v->tarfd < 0 || fstat(v->tarfd, &st) < 0) {
		int e = errno;
		sw_fsview_free(v);
		return sw_error_set(err, e == ENOENT ? SW_ENOTFOUND : SW_EIO, "%s: %s", path,
				    strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		sw_fsview_free(v);
		return sw_error_set(err, SW_EFORMAT, "%s: not a regular file", path);
	}
	if ((rc = index_tar(v, (uint64_t)st.st_size, err)) < 0) {
		sw_fsview_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

void sw_fsview_free(sw_fsview *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < v->nm; i++)
		free(v->m[i].name);
	free(v->m);
	for (i = 0; i < v->nfds; i++)
		close(v->fds[i]);
	free(v->fds);
	if (v->dirfd >= 0)
		close(v->dirfd);
	if (v->tarfd >= 0)
		close(v->tarfd);
	free(v->label);
	free(v);
}

/* The last member with this name (a later duplicate wins, as tar extraction). */
static const member *find_member(sw_fsview *v, const char *path)
{
	size_t lo = 0, hi = v->nm;
	const member *hit = NULL;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(v->m[mid].name, path);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo < v->nm && strcmp(v->m[lo].name, path) == 0)
		hit = &v->m[lo++];
	return hit;
}

static int open_beneath(sw_fsview *v, const char *path, sw_error *err)
{
	char clean[4096], *p, *slash;
	int fd = dup(v->dirfd), next;

	if (fd < 0)
		return sw_error_set(err, SW_EIO, "dup: %s", strerror(errno));
	if (sw_path_clean(path, strlen(path), clean, sizeof(clean)) < 0 || !clean[1]) {
		close(fd);
		return sw_error_set(err, SW_EFORMAT, "%s: path \"%.200s\" escapes the layout",
				    v->label, path);
	}
	for (p = clean + 1;; p = slash + 1) {
		slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		next = slash ? openat(fd, p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_DIRECTORY)
			     : sw_open_regular(fd, p, false);
		if (next < 0) {
			int e = errno;
			close(fd);
			if (e == ELOOP)
				return sw_error_set(err, SW_EFORMAT, "%s/%s: is a symlink; refused",
						    v->label, path);
			if (e == EINVAL || e == ENOTDIR)
				return sw_error_set(err, SW_EFORMAT, "%s/%s: %s; refused", v->label, path,
						    e == ENOTDIR ? "a component is not a directory" :
						    "not a regular file (a FIFO, device or socket is never opened)");
			return sw_error_set(err, e == ENOENT ? SW_ENOTFOUND : SW_EIO, "%s/%s: %s",
					    v->label, path, strerror(e));
		}
		close(fd);
		fd = next;
		if (!slash)
			return fd;
	}
}


/* Find a regular file. In a directory view the file is opened; `keep` makes
 * the view own that descriptor (layer blobs, read later), otherwise the
 * caller closes it (*tmpfd) as soon as it is done. */
static int locate(sw_fsview *v, const char *path, sw_blobloc *out, bool keep, int *tmpfd,
		  sw_error *err)
{
	struct stat st;
	int fd;

	*tmpfd = -1;
	if (v->tarfd >= 0) {
		const member *m = find_member(v, path);
		if (!m)
			return sw_error_set(err, SW_ENOTFOUND, "%s: no member \"%s\"", v->label, path);
		if (m->type != '0')
			return sw_error_set(err, SW_EFORMAT, "%s: member \"%s\" is not a regular file",
					    v->label, path);
		out->fd = v->tarfd;
		out->off = m->off;
		out->size = m->size;
		return 0;
	}
	if ((fd = open_beneath(v, path, err)) < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return sw_error_set(err, SW_EFORMAT, "%s/%s: not a regular file", v->label, path);
	}
	if (!keep) {
		*tmpfd = fd;
	} else if (SW_GROW(v->fds, v->nfds) < 0) {
		close(fd);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	} else {
		v->fds[v->nfds++] = fd;
	}
	out->fd = fd;
	out->off = 0;
	out->size = (uint64_t)st.st_size;
	return 0;
}

int sw_fsview_locate(sw_fsview *v, const char *path, sw_blobloc *out, sw_error *err)
{
	int unused;

	return locate(v, path, out, true, &unused, err);
}

int sw_fsview_read(sw_fsview *v, const char *path, uint64_t max, char **out,
		   size_t *len, sw_error *err)
{
	sw_blobloc loc;
	char *buf;
	int rc, fd;

	*out = NULL;
	if ((rc = locate(v, path, &loc, false, &fd, err)) < 0)
		return rc;
	if (loc.size > max) {
		rc = sw_error_set(err, SW_ELIMIT, "%s: %s is %llu bytes, over the %llu-byte limit",
				  v->label, path, (unsigned long long)loc.size,
				  (unsigned long long)max);
	} else if (!(buf = malloc(loc.size + 1))) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
	} else if ((rc = sw_pread_all(loc.fd, buf, loc.size, loc.off)) < 0) {
		free(buf);
		sw_error_set(err, rc, "%s: %s: short read", v->label, path);
	} else {
		buf[loc.size] = '\0';
		*out = buf;
		*len = loc.size;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

bool sw_fsview_exists(sw_fsview *v, const char *path)
{
	sw_blobloc loc;
	int fd;
	bool found = locate(v, path, &loc, false, &fd, NULL) == 0;

	if (fd >= 0)
		close(fd);
	return found;
}
