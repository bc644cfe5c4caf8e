/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The webhook's parts that need no server: the bounded table of names,
 * tags and decisions (src/lib/serve/dcache.c: its two bounds, least
 * recently used eviction, expiry, and the entries it must never drop),
 * and the AdmissionReview reader's places and JSONPatch
 * (src/lib/serve/review.c).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <sys/stat.h>

#include "../../src/lib/serve/dcache.h"
#include "../../src/lib/serve/store.h"
#include "../../src/lib/serve/review.h"
#include "../../src/lib/util/util.h"

static int freed;

static void count_free(sw_dc_entry *e)
{
	freed++;
	free(e->val);
}

static sw_dc_entry *add_done(sw_dc *c, const char *key, double now, double ttl)
{
	sw_dc_entry *e = sw_dc_add(c, key, 1, now);

	assert_non_null(e);
	e->val = malloc(8);
	sw_dc_done(c, e, now, ttl, 8);
	return e;
}

static void lru_eviction_by_count(void **state)
{
	sw_dc *c;
	char key[32];
	int i;

	(void)state;
	freed = 0;
	assert_int_equal(sw_dc_new(&c, 16, 1u << 20, count_free), 0);
	for (i = 0; i < 16; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		add_done(c, key, 0, 100);
	}
	assert_non_null(sw_dc_get(c, "k0", 1)); /* k0 is now the most recently used */
	add_done(c, "k16", 1, 100);
	assert_int_equal(sw_dc_count(c, -1), 16);
	assert_int_equal(sw_dc_evicted(c), 1);
	assert_null(sw_dc_get(c, "k1", 1));   /* the least recently used went */
	assert_non_null(sw_dc_get(c, "k0", 1));
	assert_non_null(sw_dc_get(c, "k16", 1));
	sw_dc_free(c);
	assert_int_equal(freed, 17);
}

static void running_and_held_entries_stay(void **state)
{
	sw_dc *c;
	sw_dc_entry *e[16];
	char key[32];
	int i;

	(void)state;
	assert_int_equal(sw_dc_new(&c, 16, 1u << 20, count_free), 0);
	for (i = 0; i < 16; i++) {
		snprintf(key, sizeof(key), "run%d", i);
		assert_non_null(e[i] = sw_dc_add(c, key, 2, 0));
	}
	/* every entry is running: no room, and nothing dropped */
	assert_null(sw_dc_add(c, "more", 2, 0));
	assert_int_equal(sw_dc_count(c, 2), 16);
	/* one done but held: still no room */
	e[3]->val = malloc(8);
	sw_dc_done(c, e[3], 0, 100, 8);
	e[3]->held = true;
	assert_null(sw_dc_add(c, "more", 2, 0));
	e[3]->held = false;
	assert_non_null(sw_dc_add(c, "more", 2, 0));
	assert_null(sw_dc_get(c, "run3", 0));
	/* a running entry never expires */
	assert_non_null(sw_dc_get(c, "run5", 1e9));
	sw_dc_free(c);
}

static void expiry_and_byte_bound(void **state)
{
	sw_dc *c;
	sw_dc_entry *e;

	(void)state;
	assert_int_equal(sw_dc_new(&c, 1000, 1u << 20, count_free), 0);
	add_done(c, "short", 10, 5);
	add_done(c, "long", 10, 500);
	assert_non_null(sw_dc_get(c, "short", 14.9));
	assert_null(sw_dc_get(c, "short", 15.0));
	assert_non_null(sw_dc_get(c, "long", 15.0));
	/* an entry that says it holds more than the bound leaves: the others
	 * make room for it first, and it is never dropped while held */
	e = sw_dc_add(c, "big", 1, 20);
	e->val = malloc(8);
	e->held = true;
	sw_dc_done(c, e, 20, 100, (1u << 20) - 64);
	assert_null(sw_dc_get(c, "long", 20));
	assert_non_null(sw_dc_get(c, "big", 20));
	e->held = false;
	add_done(c, "next", 21, 100); /* released, it is what makes room */
	assert_null(sw_dc_get(c, "big", 21));
	assert_true(sw_dc_bytes(c) <= (1u << 20));
	sw_dc_free(c);
}

static const char DEPLOY[] =
	"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
	"\"uid\":\"u1\",\"kind\":{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"},"
	"\"namespace\":\"ns\",\"name\":\"web\",\"operation\":\"CREATE\",\"object\":{\"spec\":{\"template\":{"
	"\"spec\":{\"initContainers\":[{\"name\":\"i\",\"image\":\"reg.test/app:1\"}],"
	"\"containers\":[{\"name\":\"a\",\"image\":\"reg.test/app:1\"},{\"name\":\"b\",\"image\":\"nginx\"},"
	"{\"name\":\"c\",\"image\":\"reg.test/app:1\"}]}}}}}}";

static void places_and_patch(void **state)
{
	sw_review rv;
	sw_error err = SW_ERROR_INIT;
	sw_buf b = SW_BUF_INIT(1u << 20);
	const char *ptrs[2], *vals[2];
	sw_review_answer a = { true, NULL, NULL, 0, NULL, "allow", ptrs, vals, 2 };
	uint8_t *patch;
	size_t n;
	char *p, *q;

	(void)state;
	assert_int_equal(sw_review_read(DEPLOY, sizeof(DEPLOY) - 1, &rv, &err), 0);
	assert_int_equal(rv.nimages, 2);
	assert_string_equal(rv.images[0].image, "reg.test/app:1");
	assert_string_equal(rv.images[0].where, "spec.template.spec.initContainers[0]");
	assert_int_equal(rv.images[0].nptrs, 3);
	assert_string_equal(rv.images[0].ptrs[0], "/spec/template/spec/initContainers/0/image");
	assert_string_equal(rv.images[0].ptrs[1], "/spec/template/spec/containers/0/image");
	assert_string_equal(rv.images[0].ptrs[2], "/spec/template/spec/containers/2/image");
	assert_int_equal(rv.images[1].nptrs, 1);
	assert_string_equal(rv.images[1].ptrs[0], "/spec/template/spec/containers/1/image");
	ptrs[0] = rv.images[0].ptrs[0];
	ptrs[1] = rv.images[0].ptrs[2];
	vals[0] = vals[1] = "reg.test/app:1@sha256:0123";
	assert_int_equal(sw_review_write(&b, "u1", &a), 0);
	p = strstr(sw_buf_cstr(&b), "\"patchType\":\"JSONPatch\",\"patch\":\"");
	assert_non_null(p);
	p += strlen("\"patchType\":\"JSONPatch\",\"patch\":\"");
	q = strchr(p, '"');
	assert_int_equal(sw_b64_decode(p, (size_t)(q - p), &patch, &n), 0);
	assert_int_equal(n, strlen("[{\"op\":\"replace\",\"path\":\"/spec/template/spec/initContainers/0/image\","
				   "\"value\":\"reg.test/app:1@sha256:0123\"},{\"op\":\"replace\",\"path\":"
				   "\"/spec/template/spec/containers/2/image\",\"value\":\"reg.test/app:1@sha256:0123\"}]"));
	assert_memory_equal(patch, "[{\"op\":\"replace\",\"path\":\"/spec/template/spec/initContainers/0/image\"", 68);
	free(patch);
	sw_buf_release(&b);
	sw_review_release(&rv);
}

/* A staging layout with these blobs (contents), as a pull leaves it. */
static void stage(sw_store *st, char *dir, size_t n, const char *const *contents, size_t k, char digests[][SW_DIGEST_STRLEN])
{
	sw_error err = SW_ERROR_INIT;
	char path[4200];
	size_t i;

	assert_int_equal(sw_store_staging(st, dir, n, &err), 0);
	snprintf(path, sizeof(path), "%s/blobs", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/blobs/sha256", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	for (i = 0; i < k; i++) {
		uint8_t d[SW_SHA256_LEN];
		FILE *f;
		sw_sha256_buf(contents[i], strlen(contents[i]), d);
		sw_digest_str(d, digests[i]);
		snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, digests[i] + 7);
		assert_non_null(f = fopen(path, "w"));
		fputs(contents[i], f);
		fclose(f);
	}
	/* a pull's temporary file is not adopted */
	snprintf(path, sizeof(path), "%s/blobs/sha256/.layer-0", dir);
	fclose(fopen(path, "w"));
}

/* Remove the store's directories (empty by then): nothing left behind. */
static void remove_store(const char *root)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/blobs/sha256", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/blobs", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/tmp", root);
	rmdir(path);
	assert_int_equal(rmdir(root), 0);
}

static void store_images_blobs_and_eviction(void **state)
{
	static const char *const a[] = { "manifest A", "shared layer 0123456789", "layer of A only" };
	static const char *const b[] = { "manifest B", "shared layer 0123456789" };
	char root[] = "/tmp/stowaway-store-XXXXXX", dir[4200], path[200], da[3][SW_DIGEST_STRLEN], db[2][SW_DIGEST_STRLEN];
	const char *mt;
	sw_store *st;
	sw_error err = SW_ERROR_INIT;

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_int_equal(sw_store_open(&st, root, 50, &err), 0); /* room for one image */
	stage(st, dir, sizeof(dir), a, 3, da);
	assert_int_equal(sw_store_adopt(st, "up/team/a", da[0], "application/vnd.oci.image.manifest.v1+json", dir, &err), 0);
	assert_true(sw_store_manifest(st, "up/team/a", da[0], path, sizeof(path), &mt));
	assert_string_equal(mt, "application/vnd.oci.image.manifest.v1+json");
	assert_true(sw_store_blob(st, "up/team/a", da[2], path, sizeof(path)));
	assert_false(sw_store_blob(st, "up/team/b", da[2], path, sizeof(path))); /* another repository */
	assert_false(sw_store_manifest(st, "up/team/a", da[1], path, sizeof(path), &mt)); /* a layer is no manifest */
	assert_int_equal(sw_store_images(st), 1);
	/* B shares a layer and pushes the store over its bound: A leaves
	 * whole, the shared layer stays for B */
	stage(st, dir, sizeof(dir), b, 2, db);
	assert_int_equal(sw_store_adopt(st, "up/team/b", db[0], "m", dir, &err), 0);
	assert_int_equal(sw_store_images(st), 1);
	assert_int_equal(sw_store_evicted(st), 1);
	assert_false(sw_store_manifest(st, "up/team/a", da[0], path, sizeof(path), &mt));
	assert_true(sw_store_blob(st, "up/team/b", db[1], path, sizeof(path)));
	assert_false(sw_store_blob(st, "up/team/a", da[2], path, sizeof(path)));
	assert_int_equal(sw_store_bytes(st), strlen(b[0]) + strlen(b[1]));
	/* a staging layout without the manifest it names is refused whole */
	stage(st, dir, sizeof(dir), a + 1, 1, da);
	assert_int_not_equal(sw_store_adopt(st, "up/team/c", db[0], "m", dir, &err), 0);
	assert_int_equal(sw_store_images(st), 1);
	sw_store_free(st);
	/* what a previous process judged is not trusted: emptied on open */
	assert_int_equal(sw_store_open(&st, root, 60, &err), 0);
	assert_int_equal(sw_store_bytes(st), 0);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", root, db[1] + 7);
	assert_int_not_equal(access(path, F_OK), 0);
	sw_store_free(st);
	remove_store(root);
}

/* The least recently pulled image leaves first: a pull (sw_store_manifest)
 * makes an image the most recent; a blob goes with the last image that
 * holds it, and is served under a repository's name only while an image of
 * that repository holds it. */
static void store_eviction_order_and_shared_blobs(void **state)
{
	static const char *const a[] = { "manifest of A.......", "base layer 0123456789" };
	static const char *const b[] = { "manifest of B.......", "base layer 0123456789" };
	static const char *const c[] = { "manifest of C.......", "layer C 0123456789..." };
	static const char *const d[] = { "manifest of D.......", "layer D 0123456789..." };
	char root[] = "/tmp/stowaway-store-XXXXXX", dir[4200], path[200];
	char da[2][SW_DIGEST_STRLEN], db[2][SW_DIGEST_STRLEN], dc[2][SW_DIGEST_STRLEN], dd[2][SW_DIGEST_STRLEN];
	const char *mt;
	sw_store *st;
	sw_error err = SW_ERROR_INIT;

	(void)state;
	assert_non_null(mkdtemp(root));
	/* 20 + 21 bytes an image, the base shared by A and B: A, B, C fit (102) */
	assert_int_equal(sw_store_open(&st, root, 125, &err), 0);
	stage(st, dir, sizeof(dir), a, 2, da);
	assert_int_equal(sw_store_adopt(st, "up/x", da[0], "m", dir, &err), 0);
	stage(st, dir, sizeof(dir), b, 2, db);
	assert_int_equal(sw_store_adopt(st, "up/y", db[0], "m", dir, &err), 0);
	stage(st, dir, sizeof(dir), c, 2, dc);
	assert_int_equal(sw_store_adopt(st, "up/x", dc[0], "m", dir, &err), 0);
	assert_int_equal(sw_store_bytes(st), 20 * 3 + 21 * 2);
	/* the shared base, under each repository that has an image holding it */
	assert_true(sw_store_blob(st, "up/x", da[1], path, sizeof(path)));
	assert_true(sw_store_blob(st, "up/y", da[1], path, sizeof(path)));
	assert_false(sw_store_blob(st, "up/y", dc[1], path, sizeof(path)));
	/* A pulled again: B is now the least recent, and D pushes it out */
	assert_true(sw_store_manifest(st, "up/x", da[0], path, sizeof(path), &mt));
	stage(st, dir, sizeof(dir), d, 2, dd);
	assert_int_equal(sw_store_adopt(st, "up/x", dd[0], "m", dir, &err), 0);
	assert_int_equal(sw_store_evicted(st), 1);
	assert_false(sw_store_manifest(st, "up/y", db[0], path, sizeof(path), &mt));
	/* (looking at blobs does not count as a pull: the order stays D, A, C) */
	assert_true(sw_store_blob(st, "up/x", dc[0], path, sizeof(path)));
	assert_true(sw_store_blob(st, "up/x", dc[1], path, sizeof(path)));
	assert_false(sw_store_blob(st, "up/y", da[1], path, sizeof(path))); /* y has no image left */
	assert_true(sw_store_blob(st, "up/x", da[1], path, sizeof(path)));  /* A still holds it */
	assert_int_equal(sw_store_bytes(st), 20 * 3 + 21 * 3);
	/* B again: the next one out is C (pulled before A, and D came after);
	 * the base is B's again, and only C's own layer leaves */
	stage(st, dir, sizeof(dir), b, 2, db);
	assert_int_equal(sw_store_adopt(st, "up/y", db[0], "m", dir, &err), 0);
	assert_int_equal(sw_store_evicted(st), 2);
	assert_false(sw_store_manifest(st, "up/x", dc[0], path, sizeof(path), &mt));
	assert_true(sw_store_manifest(st, "up/x", da[0], path, sizeof(path), &mt));
	assert_true(sw_store_manifest(st, "up/x", dd[0], path, sizeof(path), &mt));
	assert_true(sw_store_blob(st, "up/y", db[1], path, sizeof(path)));
	assert_true(sw_store_blob(st, "up/x", da[1], path, sizeof(path)));
	assert_false(sw_store_blob(st, "up/x", dc[1], path, sizeof(path)));
	assert_int_equal(sw_store_bytes(st), 20 * 3 + 21 * 2);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", root, dc[1] + 7);
	assert_int_not_equal(access(path, F_OK), 0); /* C's own layer left the disk */
	sw_store_free(st);
	/* reopened: what the last process kept is gone, from the disk too */
	assert_int_equal(sw_store_open(&st, root, 125, &err), 0);
	assert_int_equal(sw_store_bytes(st), 0);
	assert_int_equal(sw_store_images(st), 0);
	assert_false(sw_store_manifest(st, "up/x", dd[0], path, sizeof(path), &mt));
	assert_false(sw_store_blob(st, "up/y", db[1], path, sizeof(path)));
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", root, db[1] + 7);
	assert_int_not_equal(access(path, F_OK), 0);
	/* and it works as new: the same image adopted again */
	stage(st, dir, sizeof(dir), b, 2, db);
	assert_int_equal(sw_store_adopt(st, "up/y", db[0], "m", dir, &err), 0);
	assert_true(sw_store_blob(st, "up/y", db[1], path, sizeof(path)));
	sw_store_free(st);
	assert_int_equal(sw_store_open(&st, root, 125, &err), 0);
	sw_store_free(st);
	remove_store(root);
}

/* Judgments run at once: each writes its own staging layout, and they are
 * adopted one by one on the loop, in whatever order they finish. A blob
 * both staged is kept once and counted once; the bound holds after each
 * adoption, the image adopted last staying. */
static void store_stagings_at_once(void **state)
{
	static const char *const a[] = { "manifest of A.......", "base layer 0123456789", "A's own layer 012345" };
	static const char *const b[] = { "manifest of B.......", "base layer 0123456789", "B's own layer 012345" };
	char root[] = "/tmp/stowaway-store-XXXXXX", sa[4200], sb[4200], path[200];
	char da[3][SW_DIGEST_STRLEN], db[3][SW_DIGEST_STRLEN];
	const char *mt;
	sw_store *st;
	sw_error err = SW_ERROR_INIT;

	(void)state;
	assert_non_null(mkdtemp(root));
	/* A and B: 61 bytes each, 101 together (the base once) */
	assert_int_equal(sw_store_open(&st, root, 110, &err), 0);
	stage(st, sa, sizeof(sa), a, 3, da);
	stage(st, sb, sizeof(sb), b, 3, db);
	assert_string_not_equal(sa, sb);
	assert_int_equal(sw_store_adopt(st, "up/b", db[0], "m", sb, &err), 0);
	assert_int_equal(sw_store_adopt(st, "up/a", da[0], "m", sa, &err), 0);
	assert_int_equal(sw_store_bytes(st), 20 * 4 + 21);
	assert_int_equal(sw_store_images(st), 2);
	assert_true(sw_store_blob(st, "up/a", da[1], path, sizeof(path)));
	assert_true(sw_store_blob(st, "up/b", da[1], path, sizeof(path)));
	/* B again from a third staging, and A from a fourth, at once: the
	 * second copies are only counted, nothing is stored twice */
	stage(st, sb, sizeof(sb), b, 3, db);
	stage(st, sa, sizeof(sa), a, 3, da);
	assert_int_equal(sw_store_adopt(st, "up/b", db[0], "m", sb, &err), 0);
	assert_int_equal(sw_store_adopt(st, "up/a", da[0], "m", sa, &err), 0);
	assert_int_equal(sw_store_bytes(st), 20 * 4 + 21);
	assert_int_equal(sw_store_evicted(st), 0);
	sw_store_free(st);
	/* a bound for one of them: the one adopted first leaves when the
	 * second arrives, whatever order they were staged in */
	assert_int_equal(sw_store_open(&st, root, 70, &err), 0);
	stage(st, sa, sizeof(sa), a, 3, da);
	stage(st, sb, sizeof(sb), b, 3, db);
	assert_int_equal(sw_store_adopt(st, "up/b", db[0], "m", sb, &err), 0);
	assert_int_equal(sw_store_adopt(st, "up/a", da[0], "m", sa, &err), 0);
	assert_int_equal(sw_store_images(st), 1);
	assert_int_equal(sw_store_evicted(st), 1);
	assert_true(sw_store_manifest(st, "up/a", da[0], path, sizeof(path), &mt));
	assert_false(sw_store_blob(st, "up/b", db[2], path, sizeof(path)));
	assert_true(sw_store_blob(st, "up/a", da[1], path, sizeof(path)));
	assert_int_equal(sw_store_bytes(st), 20 + 21 + 20);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", root, db[2] + 7);
	assert_int_not_equal(access(path, F_OK), 0);
	sw_store_free(st);
	assert_int_equal(sw_store_open(&st, root, 70, &err), 0);
	sw_store_free(st);
	remove_store(root);
}

/* Many images (the tables grow past their first 64 buckets three times): each
 * found by its repository and digest, each blob only under its own
 * repository; then all evicted down to the bound, oldest first. */
static void store_many_images(void **state)
{
	enum { N = 500 };
	char root[] = "/tmp/stowaway-store-XXXXXX", dir[4200], path[200], txt[2][64];
	char (*dg)[2][SW_DIGEST_STRLEN] = calloc(N, sizeof(*dg));
	const char *contents[2] = { txt[0], txt[1] };
	const char *mt;
	char repo[64], other[64];
	sw_store *st;
	sw_error err = SW_ERROR_INIT;
	int i;

	(void)state;
	assert_non_null(dg);
	assert_non_null(mkdtemp(root));
	assert_int_equal(sw_store_open(&st, root, 1u << 30, &err), 0);
	for (i = 0; i < N; i++) {
		snprintf(txt[0], sizeof(txt[0]), "manifest %06d", i); /* 15 bytes */
		snprintf(txt[1], sizeof(txt[1]), "layer %06d", i);    /* 12 bytes */
		snprintf(repo, sizeof(repo), "up/r%d", i % 97);
		stage(st, dir, sizeof(dir), contents, 2, dg[i]);
		assert_int_equal(sw_store_adopt(st, repo, dg[i][0], "m", dir, &err), 0);
	}
	assert_int_equal(sw_store_images(st), N);
	for (i = 0; i < N; i++) {
		snprintf(repo, sizeof(repo), "up/r%d", i % 97);
		snprintf(other, sizeof(other), "up/r%d", (i + 1) % 97);
		assert_true(sw_store_manifest(st, repo, dg[i][0], path, sizeof(path), &mt));
		assert_true(sw_store_blob(st, repo, dg[i][1], path, sizeof(path)));
		assert_false(sw_store_blob(st, other, dg[i][1], path, sizeof(path)));
	}
	sw_store_free(st);
	/* reopened with room for 100 images: the first 400 adopted leave */
	assert_int_equal(sw_store_open(&st, root, 2700, &err), 0);
	for (i = 0; i < N; i++) {
		snprintf(txt[0], sizeof(txt[0]), "manifest %06d", i);
		snprintf(txt[1], sizeof(txt[1]), "layer %06d", i);
		snprintf(repo, sizeof(repo), "up/r%d", i % 97);
		stage(st, dir, sizeof(dir), contents, 2, dg[i]);
		assert_int_equal(sw_store_adopt(st, repo, dg[i][0], "m", dir, &err), 0);
		assert_true(sw_store_bytes(st) <= 2700);
	}
	assert_int_equal(sw_store_images(st), 100);
	assert_int_equal(sw_store_evicted(st), N - 100);
	for (i = 0; i < N; i++) {
		snprintf(repo, sizeof(repo), "up/r%d", i % 97);
		assert_int_equal(sw_store_blob(st, repo, dg[i][1], path, sizeof(path)), i >= N - 100);
	}
	sw_store_free(st);
	assert_int_equal(sw_store_open(&st, root, 2700, &err), 0);
	sw_store_free(st);
	remove_store(root);
	free(dg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lru_eviction_by_count),
		cmocka_unit_test(running_and_held_entries_stay),
		cmocka_unit_test(expiry_and_byte_bound),
		cmocka_unit_test(places_and_patch),
		cmocka_unit_test(store_images_blobs_and_eviction),
		cmocka_unit_test(store_eviction_order_and_shared_blobs),
		cmocka_unit_test(store_stagings_at_once),
		cmocka_unit_test(store_many_images),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
