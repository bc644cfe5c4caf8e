/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A temporary directory for the unit tests that need files: made by
 * tmpdir_setup("name") under $TMPDIR (or /tmp), removed with everything in
 * it by the cmocka teardown. Include after the system headers.
 */
#ifndef SW_TESTS_TMPDIR_H
#define SW_TESTS_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static char dir[256];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

static int tmpdir_setup(const char *name)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/sw-test-%s-XXXXXX", t && *t ? t : "/tmp", name);
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
