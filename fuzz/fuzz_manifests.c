/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the manifest readers (Dockerfiles, Kubernetes YAML, compose files).
 * The first byte picks the file's name, and so its reader: a Dockerfile, a
 * .yaml (Kubernetes or compose, by content), or a name the reader does not
 * know (sniffed from the content, as for a file given on the command
 * line); the rest is the file, written in a private temporary directory.
 * Every image found must carry the file, a line inside it and a "where";
 * a refusal must say why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "stowaway/manifests.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256];
static const char *const names[] = { "Dockerfile", "deploy.yaml", "app.Dockerfile", "input" };

static void cleanup(void)
{
	char p[512];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sw_image_use *v = NULL;
	size_t n = 0, i, lines = 1;
	sw_error err = SW_ERROR_INIT;
	char path[512];
	int fd;

	if (!dir[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/sw-fuzz-manifests-XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(dir))
			abort();
		atexit(cleanup);
	}
	if (!size)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, names[data[0] % 4]);
	data++, size--;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	/* an upper bound on the lines: YAML also breaks lines at CR, NEL, LS, PS */
	for (i = 0; i < size; i++)
		lines += data[i] == '\n' || data[i] == '\r' || (data[i] == 0xc2 && i + 1 < size && data[i + 1] == 0x85) ||
			 (data[i] == 0xe2 && i + 2 < size && data[i + 1] == 0x80 && (data[i + 2] & 0xfe) == 0xa8);
	if (sw_manifests_collect(path, NULL, &v, &n, &err) == 0) {
		for (i = 0; i < n; i++)
			if (!v[i].image || strcmp(v[i].file, path) != 0 || v[i].line < (v[i].error ? 0 : 1) ||
			    (size_t)v[i].line > lines || !v[i].where || !v[i].where[0] ||
			    (v[i].error && (!v[i].error[0] || v[i].image[0])))
				abort();
		sw_image_uses_free(v, n);
	} else if (v || n || !err.msg[0]) {
		abort();
	}
	return 0;
}
