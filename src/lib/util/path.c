/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lexical path cleaning for names that come out of tar headers. The result
 * is always absolute ("/etc/passwd"), never contains "." or ".." or empty
 * components, and a name that climbs above the root is refused rather than
 * clamped: "../../etc/x" is an attack, not a typo, and the caller reports it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "banned.h"

int sw_path_clean(const char *in, size_t inlen, char *out, size_t max)
{
	size_t i = 0, o = 0;

	if (max < 2)
		return SW_ELIMIT;
	out[o++] = '/';
	while (i < inlen) {
		size_t start, clen;

		while (i < inlen && in[i] == '/')
			i++;
		start = i;
		while (i < inlen && in[i] != '/')
			i++;
		clen = i - start;
		if (clen == 0 || (clen == 1 && in[start] == '.'))
			continue;
		if (memchr(in + start, '\0', clen))
			return SW_EFORMAT;
		if (clen == 2 && in[start] == '.' && in[start + 1] == '.') {
			if (o == 1)
				return SW_EFORMAT;
			o--; /* drop the trailing component */
			while (o > 1 && out[o - 1] != '/')
				o--;
			if (o > 1)
				o--;
			continue;
		}
		if (o > 1) {
			if (o + 1 >= max)
				return SW_ELIMIT;
			out[o++] = '/';
		}
		if (o + clen >= max)
			return SW_ELIMIT;
		memcpy(out + o, in + start, clen);
		o += clen;
	}
	out[o] = '\0';
	return 0;
}

/* Looked at through O_PATH first (opening a FIFO waits for a writer,
 * forever; opening a device can act on it), then opened non-blocking and
 * checked to be the same inode, so a swap between the two steps is caught. */
int sw_open_regular(int dfd, const char *name, bool follow)
{
	struct stat a, b;
	int nf = follow ? 0 : O_NOFOLLOW, pfd = openat(dfd, name, O_PATH | nf | O_CLOEXEC), fd, e;

	if (pfd < 0)
		return -1;
	if (fstat(pfd, &a) < 0 || !S_ISREG(a.st_mode)) {
		e = S_ISLNK(a.st_mode) ? ELOOP : EINVAL;
		close(pfd);
		errno = e;
		return -1;
	}
	close(pfd);
	if ((fd = openat(dfd, name, O_RDONLY | nf | O_NONBLOCK | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &b) < 0 || !S_ISREG(b.st_mode) || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

bool sw_docker_hub_host(const char *h)
{
	static const char *const hub[] = { "docker.io", "registry-1.docker.io", "index.docker.io",
					   "registry.hub.docker.com" };
	size_t i;

	for (i = 0; i < sizeof(hub) / sizeof(hub[0]); i++)
		if (strcmp(h, hub[i]) == 0)
			return true;
	return false;
}
