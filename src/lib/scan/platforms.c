/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every platform of a multi-platform index (sw_scan_platforms, scan.h).
 *
 * An attacker who publishes an index chooses which platform to poison: a
 * clean linux/amd64 beside a linux/arm64 that carries the miner passes any
 * scanner that reads only the platform it runs on. So an index is scanned
 * whole by default: the image the caller opened first, then each other
 * image manifest the index lists, opened again from the same source by its
 * digest (image.c: sw_image_open_variant), each through sw_scan_image, the
 * one engine. The reports are folded into the first one (report.c:
 * sw_report__absorb): findings keep their own layer numbers and say their
 * platform.
 *
 * Platforms of one image share most of their layers rarely, but a base
 * layer of data (fonts, certificates, a JDK's classes) often is shared;
 * it is read once. The layer cache already does exactly that, with every
 * check a hit needs (same digest, rules, limits and engine, the diff_id,
 * the scripts the entrypoint runs), so when the caller has no cache a
 * private one in memory serves this one call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stowaway/cache.h"
#include "stowaway/scan.h"
#include "../report/report_int.h"
#include "../util/util.h"
#include "../util/banned.h"

#define MEMORY_CACHE_MAX (256ull << 20)   /* bytes the private cache keeps */

/* What a platform is called: its descriptor's platform, else its config's. */
static const char *label(const sw_image_variant *v, const sw_image *img)
{
	if (v->platform)
		return v->platform;
	return img && sw_image_platform(img) ? sw_image_platform(img) : "unknown";
}

/* Was variant i's manifest listed before it (the same image twice)? */
static bool listed_before(const sw_image_variant *v, size_t i)
{
	size_t k;

	for (k = 0; k < i; k++)
		if (strcmp(v[k].digest, v[i].digest) == 0)
			return true;
	return false;
}

/* Variant i scanned into r, or listed as not scanned when its source does
 * not hold it. */
static int scan_variant(const sw_image *img, size_t i, const sw_scan_opts *so, sw_report *r, sw_error *err)
{
	size_t n;
	const sw_image_variant *v = &sw_image_variants(img, &n, NULL)[i];
	sw_image *vi = NULL;
	sw_report *vr = NULL;
	sw_error oe = SW_ERROR_INIT;
	int rc;

	if ((rc = sw_image_open_variant(img, i, &vi, &oe)) == SW_ENOTFOUND) {
		char why[sizeof(oe.msg) + 64];
		snprintf(why, sizeof(why), "not in the source, so nothing of it runs from there: %s", oe.msg);
		return sw_report__not_scanned(r, v->platform ? v->platform : "unknown", v->digest, why) < 0
			       ? sw_error_set(err, SW_ENOMEM, "out of memory") : 0;
	}
	if (rc < 0 && err)
		*err = oe;
	if (rc == 0)
		rc = sw_scan_image(vi, so, &vr, err);
	if (rc == 0 && sw_report__absorb(r, vr, label(v, vi)) < 0)
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
	if (rc < 0)
		sw_error_prefix(err, "platform %s (%s)", label(v, vi), v->digest);
	sw_report_free(vr);
	sw_image_free(vi);
	return rc;
}

/* The time left of the whole scan's --timeout for the next platform: 0
 * when it is spent (then the platform is incomplete, never clean). */
static double time_left(const sw_scan_opts *opts, double start)
{
	double left = opts->limits.timeout - (sw_now() - start);

	if (opts->limits.timeout <= 0)
		return 1e12;
	return left > 0.5 ? left : 0;
}

/* A platform the --timeout left no time for: not scanned, and incomplete. */
static int out_of_time(sw_report *r, const sw_image_variant *v, double timeout, sw_error *err)
{
	const char *p = v->platform ? v->platform : "unknown";
	char why[200];

	snprintf(why, sizeof(why), "the --timeout of %.0f s was spent on the platforms before it", timeout);
	if (sw_report__not_scanned(r, p, v->digest, why) < 0)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	snprintf(why, sizeof(why), "platform %s (%s) not scanned: the --timeout of %.0f s was spent", p, v->digest,
		 timeout);
	return sw_report_add_incomplete(r, "limits", NULL, -1, why) < 0 ? sw_error_set(err, SW_ENOMEM, "out of memory")
									  : 0;
}

/* The other platforms, img's report r holding the first; start: when the
 * first began (one --timeout bounds them all). */
static int others(const sw_image *img, size_t mine, const sw_scan_opts *opts, double start, sw_report *r,
		  sw_error *err)
{
	size_t n, over, i;
	const sw_image_variant *v = sw_image_variants(img, &n, &over);
	sw_scan_opts so = *opts;
	char why[160];
	int rc;

	snprintf(why, sizeof(why), "only %s was asked for (--platform)",
		 sw_image_platform(img) ? sw_image_platform(img) : v[mine].platform ? v[mine].platform : "?");
	for (i = 0; i < n; i++) {
		if (i == mine || listed_before(v, i) || strcmp(v[i].digest, v[mine].digest) == 0)
			continue;
		if (sw_image_platform_named(img)) {
			rc = sw_report__not_scanned(r, v[i].platform ? v[i].platform : "unknown", v[i].digest, why) < 0
				     ? sw_error_set(err, SW_ENOMEM, "out of memory") : 0;
		} else if ((so.limits.timeout = time_left(opts, start)) == 0) {
			rc = out_of_time(r, &v[i], opts->limits.timeout, err);
		} else {
			rc = scan_variant(img, i, &so, r, err);
		}
		if (rc < 0)
			return rc;
	}
	if (over) {
		snprintf(why, sizeof(why), "the index lists %zu more image manifests than the %d read", over,
			 SW_IMAGE_MAX_PLATFORMS);
		if (sw_report_add_incomplete(r, "index", NULL, -1, why) < 0)
			return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	return 0;
}

int sw_scan_platforms(const sw_image *img, const sw_scan_opts *opts, sw_report **out, sw_error *err)
{
	sw_scan_opts defo = SW_SCAN_OPTS_INIT, so;
	size_t n, mine;
	const sw_image_variant *v = sw_image_variants(img, &n, NULL);
	const char *md = sw_image_manifest_digest(img);
	sw_cache *mem = NULL;
	sw_report *r = NULL;
	double start = sw_now();
	int rc;

	*out = NULL;
	if (!opts)
		opts = &defo;
	if (n == 0)
		return sw_scan_image(img, opts, out, err);
	for (mine = 0; mine < n && !(md && strcmp(v[mine].digest, md) == 0); mine++)
		;
	if (mine == n)
		return sw_error_set(err, SW_EINVAL, "the image is not among its index's manifests");
	so = *opts;
	/* no cache of the caller's: a private one, so shared layers are read once
	 * (an in-memory database fails to open only when memory is short) */
	if (!sw_image_platform_named(img) && !so.layer_cache && !so.layer_cache_handle) {
		if ((rc = sw_cache_open(&mem, ":memory:", MEMORY_CACHE_MAX, err)) < 0)
			return rc;
		so.layer_cache_handle = mem;
	}
	if ((rc = sw_scan_image(img, &so, &r, err)) < 0)
		goto out;
	if (sw_report__platform_first(r, label(&v[mine], img), sw_image_index_digest(img)) < 0) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	so.layer_raw = NULL;
	so.layer_raw_ctx = NULL;
	so.layer_result = NULL;
	so.layer_result_ctx = NULL;
	if ((rc = others(img, mine, &so, start, r, err)) < 0)
		goto out;
	sw_report__sort(r);
	*out = r;
	r = NULL;
out:
	sw_report_free(r);
	sw_cache_close(mem);
	return rc;
}
