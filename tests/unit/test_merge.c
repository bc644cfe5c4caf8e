/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the merged view (src/lib/layer/merge.c): layers applied
 * bottom to top as the OCI image spec's "Applying changesets" describes.
 *
 * Each test lays out small layers as record arrays (the cleaned paths and
 * markers the scanner produces) and asks the two questions a report needs:
 * is this entry's content still reachable in the final filesystem
 * (sw_merge_live), and which entry last wrote this path (sw_merge_lookup).
 * The hostile cases are the ones that decide whether a finding counts as
 * present: whiteouts, opaque directories, hardlinks that outlive their
 * target, and paths that run through a symlink.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stowaway/error.h"
#include "../../src/lib/layer/merge.h"
#include "../../src/lib/util/banned.h"

#define F(p) { (p), NULL, '0', 0 }
#define D(p) { (p), NULL, '5', 0 }
#define S(p) { (p), NULL, '2', 0 }
#define HL(p, t) { (p), (t), '1', 0 }
#define WH(p) { (p), NULL, '0', SW_MREC_WHITEOUT }
#define OPQ(p) { (p), NULL, '0', SW_MREC_OPAQUE }
#define N(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
	int n;
	size_t layer, rec;
	char why[256];
} issues;

static void on_issue(void *ctx, size_t layer, size_t rec, const char *why)
{
	issues *is = ctx;

	if (!is)
		return;
	is->n++;
	is->layer = layer;
	is->rec = rec;
	snprintf(is->why, sizeof(is->why), "%s", why);
}

static void apply(sw_merge *m, size_t layer, const sw_mrec *r, size_t n, issues *is)
{
	assert_int_equal(sw_merge_apply(m, layer, r, n, on_issue, is), 0);
}

/* lookup(path) == (layer, rec), or absent when layer is (size_t)-1 */
static void expect_owner(const sw_merge *m, const char *path, size_t layer, size_t rec)
{
	size_t l = 99, r = 99;
	bool found = sw_merge_lookup(m, path, &l, &r);

	if (layer == (size_t)-1) {
		if (found)
			fail_msg("%s: found (%zu, %zu), want absent", path, l, r);
		return;
	}
	if (!found)
		fail_msg("%s: absent, want (%zu, %zu)", path, layer, rec);
	if (l != layer || r != rec)
		fail_msg("%s: (%zu, %zu), want (%zu, %zu)", path, l, r, layer, rec);
}

#define ABSENT ((size_t)-1)

static void test_implicit_parents(void **state)
{
	static const sw_mrec l0[] = { F("/a/b/c"), F("/a/b/d"), D("/x") };
	sw_merge *m = sw_merge_new(1);
	issues is = { 0 };

	(void)state;
	assert_non_null(m);
	apply(m, 0, l0, N(l0), &is);
	assert_int_equal(is.n, 0);
	expect_owner(m, "/a/b/c", 0, 0);
	expect_owner(m, "/a/b/d", 0, 1);
	expect_owner(m, "/x", 0, 2);
	/* parents nobody declared exist, but no entry wrote them */
	expect_owner(m, "/a", ABSENT, 0);
	expect_owner(m, "/a/b", ABSENT, 0);
	expect_owner(m, "/a/b/c/d", ABSENT, 0);
	expect_owner(m, "/nope", ABSENT, 0);
	assert_int_equal(sw_merge_count(m), 5); /* a, b, c, d, x */
	assert_true(sw_merge_live(m, 0, 0));
	assert_true(sw_merge_live(m, 0, 1));
	/* out-of-range questions have a plain answer */
	assert_false(sw_merge_live(m, 0, 3));
	assert_false(sw_merge_live(m, 1, 0));
	sw_merge_free(m);
	sw_merge_free(NULL);
}

static void test_root_entry(void **state)
{
	static const sw_mrec l0[] = { D("/"), F("/f") };
	sw_merge *m = sw_merge_new(1);

	(void)state;
	expect_owner(m, "/", ABSENT, 0);
	apply(m, 0, l0, N(l0), NULL);
	expect_owner(m, "/", 0, 0);
	expect_owner(m, "/f", 0, 1);
	sw_merge_free(m);
}

static void test_bad_layer_index(void **state)
{
	static const sw_mrec l0[] = { F("/a") };
	sw_merge *m = sw_merge_new(2);

	(void)state;
	assert_int_equal(sw_merge_apply(m, 2, l0, 1, NULL, NULL), SW_EINVAL);
	assert_int_equal(sw_merge_apply(m, 0, l0, 0, NULL, NULL), 0); /* empty layer */
	sw_merge_free(m);
}

static void test_whiteout_file(void **state)
{
	static const sw_mrec l0[] = { F("/a"), F("/b"), F("/d/c") };
	static const sw_mrec l1[] = { WH("/a"), WH("/d/c"), WH("/never/was") };
	sw_merge *m = sw_merge_new(2);
	issues is = { 0 };

	(void)state;
	apply(m, 0, l0, N(l0), &is);
	apply(m, 1, l1, N(l1), &is);
	assert_int_equal(is.n, 0);
	assert_false(sw_merge_live(m, 0, 0));
	assert_true(sw_merge_live(m, 0, 1));
	assert_false(sw_merge_live(m, 0, 2));
	expect_owner(m, "/a", ABSENT, 0);
	expect_owner(m, "/b", 0, 1);
	expect_owner(m, "/d/c", ABSENT, 0);
	/* a whiteout is not itself content, and never creates parents */
	assert_false(sw_merge_live(m, 1, 0));
	expect_owner(m, "/never", ABSENT, 0);
	assert_int_equal(sw_merge_count(m), 2); /* b, d */
	sw_merge_free(m);
}

static void test_whiteout_directory(void **state)
{
	static const sw_mrec l0[] = { D("/d"), F("/d/x"), F("/d/e/y"), D("/d/e/f"),
				      F("/d/e/f/z"), F("/keep"), F("/dd") };
	static const sw_mrec l1[] = { WH("/d") };
	static const sw_mrec l2[] = { F("/d/new") };
	sw_merge *m = sw_merge_new(3);
	size_t i;

	(void)state;
	apply(m, 0, l0, N(l0), NULL);
	apply(m, 1, l1, N(l1), NULL);
	for (i = 0; i < 5; i++)
		assert_false(sw_merge_live(m, 0, i));
	assert_true(sw_merge_live(m, 0, 5));
	assert_true(sw_merge_live(m, 0, 6));   /* a name prefix is not a child */
	expect_owner(m, "/d", ABSENT, 0);
	expect_owner(m, "/d/e/f/z", ABSENT, 0);
	expect_owner(m, "/keep", 0, 5);
	assert_int_equal(sw_merge_count(m), 2);
	/* the name can be used again above the whiteout */
	apply(m, 2, l2, N(l2), NULL);
	expect_owner(m, "/d/new", 2, 0);
	expect_owner(m, "/d/x", ABSENT, 0);
	sw_merge_free(m);
}

static void test_whiteout_root_ignored(void **state)
{
	static const sw_mrec l0[] = { F("/a") };
	static const sw_mrec l1[] = { WH("/") };
	sw_merge *m = sw_merge_new(2);

	(void)state;
	apply(m, 0, l0, N(l0), NULL);
	apply(m, 1, l1, N(l1), NULL);
	assert_true(sw_merge_live(m, 0, 0));
	sw_merge_free(m);
}

/* Whiteout records that name no entry ("/d/..", "/d/.", "/d/") delete
 * nothing: not the directory, not its parent. */
static void test_whiteout_naming_no_entry(void **state)
{
	static const sw_mrec l0[] = { D("/d"), F("/d/a"), F("/b") };
	static const sw_mrec l1[] = { WH("/d/.."), WH("/d/."), WH("/d/") };
	sw_merge *m = sw_merge_new(2);
	issues is = { 0 };

	(void)state;
	apply(m, 0, l0, N(l0), NULL);
	apply(m, 1, l1, N(l1), &is);
	assert_true(sw_merge_live(m, 0, 0));
	assert_true(sw_merge_live(m, 0, 1));
	assert_true(sw_merge_live(m, 0, 2));
	assert_int_equal(is.n, 3);
	assert_non_null(strstr(is.why, "names no entry"));
	sw_merge_free(m);
}

/* The one classifier every layer reader asks. */
static void test_marker_kinds(void **state)
{
	static const struct { const char *name; sw_marker want; const char *target; } cases[] = {
		{ "passwd", SW_MARK_NONE, NULL },
		{ ".wh", SW_MARK_NONE, NULL },
		{ ".wh.passwd", SW_MARK_WHITEOUT, "passwd" },
		{ ".wh...x", SW_MARK_WHITEOUT, "..x" },
		{ ".wh....", SW_MARK_WHITEOUT, "..." },
		{ ".wh..wh", SW_MARK_WHITEOUT, ".wh" },
		{ ".wh..wh..opq", SW_MARK_OPAQUE, NULL },
		{ ".wh..wh..opqx", SW_MARK_META, NULL },
		{ ".wh..wh.plnk", SW_MARK_META, NULL },
		{ ".wh...", SW_MARK_HOSTILE, NULL },
		{ ".wh..", SW_MARK_HOSTILE, NULL },
		{ ".wh.", SW_MARK_HOSTILE, NULL },
		{ ".wh.a/b", SW_MARK_HOSTILE, NULL },
	};
	const char *t;
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		assert_int_equal(sw_marker_kind(cases[i].name, strlen(cases[i].name), &t), cases[i].want);
		if (cases[i].target)
			assert_string_equal(t, cases[i].target);
		else
			assert_null(t);
	}
	/* a NUL inside the target, with the length given */
	assert_int_equal(sw_marker_kind(".wh.a\0b", 7, &t), SW_MARK_HOSTILE);
}

static void test_opaque_marker_after_sibling(void **state)
{
	static const sw_mrec l0[] = { D("/d"), F("/d/old"), F("/d/sub/deep"), F("/other") };
	/* the marker comes after an entry of the same layer in that directory */
	static const sw_mrec l1[] = { F("/d/new"), OPQ("/d") };
	sw_merge *m = sw_merge_new(2);

	(void)state;
	apply(m, 0, l0, N(l0), NULL);
	apply(m, 1, l1, N(l1), NULL);
	assert_true(sw_merge_live(m, 1, 0));
	expect_owner(m, "/d/new", 1, 0);
	assert_false(sw_merge_live(m, 0, 1));
	assert_false(sw_merge_live(m, 0, 2));
	expect_owner(m, "/d/old", ABSENT, 0);
	expect_owner(m, "/d/sub", ABSENT, 0);
	/* the directory itself and everything outside it stay */
	expect_owner(m, "/d", 0, 0);
	assert_true(sw_merge_live(m, 0, 3));
	sw_merge_free(m);
}

static void test_opaque_marker_first(void **state)
{
	static const sw_mrec l0[] = { D("/d"), F("/d/old"), F("/d/keep") };
	static const sw_mrec l1[] = { OPQ("/d"), D("/d"), F("/d/new"), F("/d/keep") };
	sw_merge *m = sw_merge_new(2);

	(void)state;
	apply(m, 0, l0, N(l0), NULL);
	apply(m, 1, l1, N(l1), NULL);
	expect_owner(m, "/d", 1, 1);
	expect_owner(m, "/d/new", 1, 2);
	expect_owner(m, "/d/keep", 1, 3);     /* rewritten by the opaque layer */
	assert_false(sw_merge_live(m, 0, 1));
	assert_false(sw_merge_live(m, 0, 2));
	sw_merge_free(m);
}

/* The opaque layer writes a file below a subdirectory that only a lower
 * layer declared. The lower subtree is hidden, but the new file is part of
 * this layer, and a runtime that meets the marker first (as tar writers
 * emit it) recreates the directory for it: it must stay live. */
static void test_opaque_keeps_own_file_in_lower_subdir(void **state)
{
	static const sw_mrec l0[] = { D("/d"), D("/d/sub"), F("/d/sub/old") };
	static const sw_mrec l1[] = { OPQ("/d"), F("/d/sub/new") };
	sw_merge *m = sw_merge_new(2);

	(void)state;
	apply(m, 0, l0, N(l0), NULL);
	apply(m, 1, l1, N(l1), NULL);
	assert_false(sw_merge_live(m, 0, 2));
	expect_owner(m, "/d/sub/old", ABSENT, 0);
	assert_true(sw_merge_live(m, 1, 1));
	expect_owner(m, "/d/sub/new", 1, 1);
	sw_merge_free(m);
}

static void test_opaque_missing_or_file(void **state)
{
	static const sw_mrec l0[] = { F("/f"), F("/g") };
	static const sw_mrec l1[] = { OPQ("/nodir"), OPQ("/f") };
	sw_merge *m = sw_merge_new(2);

	(void)state;
	apply(m, 0, l0, N(l0), NULL);
	apply(m, 1, l1, N(l1), NULL);
	assert_true(sw_merge_live(m, 0, 0));
	assert_true(sw_merge_live(m, 0, 1));
	expect_owner(m, "/nodir", ABSENT, 0);
	sw_merge_free(m);
}

static void test_dir_replaced_by_file(void **state)
{
	static const sw_mrec l0[] = { D("/d"), F("/d/x"), F("/d/sub/y") };
	static const sw_mrec l1[] = { F("/d") };
	static const sw_mrec l2[] = { F("/d/z") };
	sw_merge *m = sw_merge_new(3);
	issues is = { 0 };

	(void)state;
	apply(m, 0, l0, N(l0), &is);
	apply(m, 1, l1, N(l1), &is);
	assert_int_equal(is.n, 0);
	expect_owner(m, "/d", 1, 0);
	expect_owner(m, "/d/x", ABSENT, 0);
	assert_false(sw_merge_live(m, 0, 1));
	assert_false(sw_merge_live(m, 0, 2));
	assert_true(sw_merge_live(m, 1, 0));
	/* nothing can be placed under a file */
	apply(m, 2, l2, N(l2), &is);
	assert_int_equal(is.n, 1);
	assert_int_equal(is.layer, 2);
	assert_int_equal(is.rec, 0);
	assert_non_null(strstr(is.why, "not a directory"));
	assert_false(sw_merge_live(m, 2, 0));
	expect_owner(m, "/d/z", ABSENT, 0);
	sw_merge_free(m);
}

static void test_file_replaced_by_dir(void **state)
{
	static const sw_mrec l0[] = { F("/p"), F("/q") };
	static const sw_mrec l1[] = { D("/p"), F("/p/in"), F("/q") };
	sw_merge *m = sw_merge_new(2);

	(void)state;
	apply(m, 0, l0, N(l0), NULL);
	apply(m, 1, l1, N(l1), NULL);
	assert_false(sw_merge_live(m, 0, 0));
	assert_false(sw_merge_live(m, 0, 1));  /* overwritten */
	expect_owner(m, "/p", 1, 0);
	expect_owner(m, "/p/in", 1, 1);
	expect_owner(m, "/q", 1, 2);
	sw_merge_free(m);
}

static void test_dir_redeclared_keeps_children(void **state)
{
	static const sw_mrec l0[] = { D("/d"), F("/d/x") };
	static const sw_mrec l1[] = { D("/d") };
	sw_merge *m = sw_merge_new(2);

	(void)state;
	apply(m, 0, l0, N(l0), NULL);
	apply(m, 1, l1, N(l1), NULL);
	expect_owner(m, "/d", 1, 0);            /* takes the attributes */
	expect_owner(m, "/d/x", 0, 1);
	assert_true(sw_merge_live(m, 0, 1));
	sw_merge_free(m);
}

static void test_hardlink_outlives_target(void **state)
{
	static const sw_mrec l0[] = { F("/bin/real"), F("/other") };
	/* link first, then the whiteout of its target, in one layer */
	static const sw_mrec l1[] = { HL("/lib/alias", "/bin/real"), WH("/bin/real") };
	static const sw_mrec l2[] = { WH("/lib/alias") };
	sw_merge *m = sw_merge_new(3);
	issues is = { 0 };

	(void)state;
	apply(m, 0, l0, N(l0), &is);
	apply(m, 1, l1, N(l1), &is);
	assert_int_equal(is.n, 0);
	expect_owner(m, "/bin/real", ABSENT, 0);
	expect_owner(m, "/lib/alias", 1, 0);
	assert_true(sw_merge_live(m, 0, 0));    /* reachable through the link */
	/* removing the last name drops the content */
	apply(m, 2, l2, N(l2), &is);
	assert_false(sw_merge_live(m, 0, 0));
	assert_true(sw_merge_live(m, 0, 1));
	sw_merge_free(m);
}

static void test_hardlink_after_whiteout(void **state)
{
	static const sw_mrec l0[] = { F("/a"), D("/dir") };
	static const sw_mrec l1[] = { WH("/a"), HL("/b", "/a"), HL("/c", "/dir"),
				      HL("/e", "/nowhere") };
	sw_merge *m = sw_merge_new(2);
	issues is = { 0 };

	(void)state;
	apply(m, 0, l0, N(l0), &is);
	apply(m, 1, l1, N(l1), &is);
	assert_int_equal(is.n, 3);
	assert_int_equal(is.rec, 3);
	assert_non_null(strstr(is.why, "hardlink target is missing or a directory"));
	assert_false(sw_merge_live(m, 0, 0));
	expect_owner(m, "/b", ABSENT, 0);
	expect_owner(m, "/c", ABSENT, 0);
	sw_merge_free(m);
}

static void test_hardlink_chain(void **state)
{
	static const sw_mrec l0[] = { F("/a"), HL("/b", "/a") };
	static const sw_mrec l1[] = { HL("/c", "/b"), WH("/a"), WH("/b") };
	sw_merge *m = sw_merge_new(2);

	(void)state;
	apply(m, 0, l0, N(l0), NULL);
	apply(m, 1, l1, N(l1), NULL);
	/* /c holds /a's bytes, whichever name it was linked through */
	assert_true(sw_merge_live(m, 0, 0));
	expect_owner(m, "/c", 1, 0);
	sw_merge_free(m);
}

/* A hardlink whose target is the path it replaces (itself, or a file
 * inside the directory it replaces) must not read the removed node. */
static void test_hardlink_replaces_target(void **state)
{
	static const sw_mrec l0[] = { F("/a"), D("/d"), F("/d/f") };
	static const sw_mrec l1[] = { HL("/a", "/a"), HL("/d", "/d/f") };
	static const sw_mrec l2[] = { F("/a/x"), F("/d/y") };
	sw_merge *m = sw_merge_new(3);
	issues is = { 0 };

	(void)state;
	apply(m, 0, l0, N(l0), &is);
	apply(m, 1, l1, N(l1), &is);
	/* whatever the merge decides, neither name may become a directory */
	is.n = 0;
	apply(m, 2, l2, N(l2), &is);
	assert_int_equal(is.n, 2);
	assert_false(sw_merge_live(m, 2, 0));
	assert_false(sw_merge_live(m, 2, 1));
	sw_merge_free(m);
}

static void test_symlink_parent(void **state)
{
	static const sw_mrec l0[] = { S("/lnk"), F("/file") };
	static const sw_mrec l1[] = { F("/lnk/x"), F("/lnk/a/b"), F("/file/y"), F("/ok") };
	sw_merge *m = sw_merge_new(2);
	issues is = { 0 };

	(void)state;
	apply(m, 0, l0, N(l0), &is);
	apply(m, 1, l1, N(l1), &is);
	assert_int_equal(is.n, 3);
	assert_false(sw_merge_live(m, 1, 0));
	assert_false(sw_merge_live(m, 1, 1));
	assert_false(sw_merge_live(m, 1, 2));
	assert_true(sw_merge_live(m, 1, 3));
	expect_owner(m, "/lnk/x", ABSENT, 0);
	expect_owner(m, "/lnk", 0, 0);
	sw_merge_free(m);
}

static void test_symlink_parent_messages(void **state)
{
	static const sw_mrec l0[] = { S("/lnk"), F("/f") };
	static const sw_mrec a[] = { F("/lnk/deep/x") };
	static const sw_mrec b[] = { F("/lnk/x") };
	static const sw_mrec c[] = { F("/f/deep/x") };
	sw_merge *m = sw_merge_new(4);
	issues is = { 0 };

	(void)state;
	apply(m, 0, l0, N(l0), &is);
	apply(m, 1, a, 1, &is);
	assert_int_equal(is.n, 1);
	assert_non_null(strstr(is.why, "symlink"));
	apply(m, 2, b, 1, &is);         /* a symlink as the direct parent */
	assert_int_equal(is.n, 2);
	assert_int_equal(is.layer, 2);
	apply(m, 3, c, 1, &is);
	assert_int_equal(is.n, 3);
	assert_non_null(strstr(is.why, "non-directory"));
	sw_merge_free(m);
}

static void test_lookup_last_writer(void **state)
{
	static const sw_mrec l0[] = { F("/a"), D("/d"), F("/b") };
	static const sw_mrec l1[] = { F("/a") };
	static const sw_mrec l2[] = { F("/c"), D("/d"), F("/a") };
	static const sw_mrec l3[] = { WH("/b"), F("/b") };
	sw_merge *m = sw_merge_new(4);

	(void)state;
	apply(m, 0, l0, N(l0), NULL);
	apply(m, 1, l1, N(l1), NULL);
	apply(m, 2, l2, N(l2), NULL);
	apply(m, 3, l3, N(l3), NULL);
	expect_owner(m, "/a", 2, 2);
	expect_owner(m, "/d", 2, 1);
	expect_owner(m, "/c", 2, 0);
	expect_owner(m, "/b", 3, 1);
	assert_false(sw_merge_live(m, 0, 0));
	assert_false(sw_merge_live(m, 1, 0));
	assert_true(sw_merge_live(m, 2, 2));
	assert_false(sw_merge_live(m, 0, 2));
	/* the same path twice in one layer: the later entry wins */
	{
		static const sw_mrec l4[] = { F("/t"), F("/t") };
		sw_merge *m2 = sw_merge_new(1);
		apply(m2, 0, l4, N(l4), NULL);
		expect_owner(m2, "/t", 0, 1);
		assert_false(sw_merge_live(m2, 0, 0));
		assert_true(sw_merge_live(m2, 0, 1));
		sw_merge_free(m2);
	}
	sw_merge_free(m);
}

static void test_unplaced_skipped(void **state)
{
	static const sw_mrec l0[] = { { "/x", NULL, '0', SW_MREC_UNPLACED }, F("/y") };
	sw_merge *m = sw_merge_new(1);

	(void)state;
	apply(m, 0, l0, N(l0), NULL);
	assert_false(sw_merge_live(m, 0, 0));
	expect_owner(m, "/x", ABSENT, 0);
	expect_owner(m, "/y", 0, 1);
	sw_merge_free(m);
}

/* Enough paths to grow the hash table several times, then a whiteout of a
 * directory holding most of them. */
static void test_many_paths(void **state)
{
	enum { NDIR = 50, NFILE = 200 };
	sw_mrec *recs = calloc(NDIR * NFILE, sizeof(*recs));
	char (*names)[32] = calloc(NDIR * NFILE, sizeof(*names));
	static const sw_mrec wh[] = { WH("/top/d7") };
	sw_merge *m = sw_merge_new(2);
	size_t i, l, r;

	(void)state;
	assert_non_null(recs);
	assert_non_null(names);
	for (i = 0; i < NDIR * NFILE; i++) {
		snprintf(names[i], sizeof(names[i]), "/top/d%zu/f%zu", i / NFILE, i % NFILE);
		recs[i].path = names[i];
		recs[i].type = '0';
	}
	apply(m, 0, recs, NDIR * NFILE, NULL);
	assert_int_equal(sw_merge_count(m), 1 + NDIR + NDIR * NFILE);
	for (i = 0; i < NDIR * NFILE; i += 37) {
		assert_true(sw_merge_lookup(m, names[i], &l, &r));
		assert_int_equal(r, i);
	}
	apply(m, 1, wh, N(wh), NULL);
	assert_int_equal(sw_merge_count(m), 1 + (NDIR - 1) + (NDIR - 1) * NFILE);
	for (i = 0; i < NDIR * NFILE; i++)
		if (sw_merge_live(m, 0, i) != (i / NFILE != 7))
			fail_msg("%s: live %d", names[i], sw_merge_live(m, 0, i));
	sw_merge_free(m);
	free(recs);
	free(names);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_implicit_parents),
		cmocka_unit_test(test_root_entry),
		cmocka_unit_test(test_bad_layer_index),
		cmocka_unit_test(test_whiteout_file),
		cmocka_unit_test(test_whiteout_directory),
		cmocka_unit_test(test_whiteout_naming_no_entry),
		cmocka_unit_test(test_marker_kinds),
		cmocka_unit_test(test_whiteout_root_ignored),
		cmocka_unit_test(test_opaque_marker_after_sibling),
		cmocka_unit_test(test_opaque_marker_first),
		cmocka_unit_test(test_opaque_keeps_own_file_in_lower_subdir),
		cmocka_unit_test(test_opaque_missing_or_file),
		cmocka_unit_test(test_dir_replaced_by_file),
		cmocka_unit_test(test_file_replaced_by_dir),
		cmocka_unit_test(test_dir_redeclared_keeps_children),
		cmocka_unit_test(test_hardlink_outlives_target),
		cmocka_unit_test(test_hardlink_after_whiteout),
		cmocka_unit_test(test_hardlink_chain),
		cmocka_unit_test(test_symlink_parent),
		cmocka_unit_test(test_symlink_parent_messages),
		cmocka_unit_test(test_lookup_last_writer),
		cmocka_unit_test(test_unplaced_skipped),
		cmocka_unit_test(test_many_paths),
		/* last: the bug it guards against aborts sanitizer builds */
		cmocka_unit_test(test_hardlink_replaces_target),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
