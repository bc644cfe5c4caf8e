/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The report from the layers' results (see scan.c): the records laid over
 * each other bottom to top (layer/merge.c), every finding told whether its
 * file is still in the final filesystem, flagged files a later layer
 * removed reported as hidden payloads, hard-link floods, each layer's
 * incompletes with their SW-INCOMPLETE, and the entrypoint chain
 * (chain.c) over the merged view.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan_int.h"
#include "chain.h"
#include "../report/report_int.h"
#include "../util/banned.h"

static void on_issue(void *ctx, size_t layer, size_t r, const char *why)
{
	scan *s = ctx;
	job *j = &s->jobs[layer];

	sw_scan__add_inc(j, sw_scan__job_path(j, r), "%s", why);
}

int sw_scan__merge(scan *s, sw_merge **out)
{
	sw_merge *m = sw_merge_new(s->njobs);
	sw_mrec **all = calloc(s->njobs + 1, sizeof(*all));
	size_t l, i;
	int rc = 0;

	*out = NULL;
	if (!m || !all) {
		rc = SW_ENOMEM;
		goto out;
	}
	for (l = 0; l < s->njobs && rc == 0; l++) {
		job *j = &s->jobs[l];
		if (!(all[l] = calloc(j->nrecs + 1, sizeof(sw_mrec)))) {
			rc = SW_ENOMEM;
			break;
		}
		for (i = 0; i < j->nrecs; i++) {
			all[l][i].path = j->strings.data + j->recs[i].path;
			all[l][i].link = j->recs[i].link ? j->strings.data + j->recs[i].link : NULL;
			all[l][i].type = j->recs[i].type;
			all[l][i].flags = j->recs[i].flags;
		}
		rc = sw_merge_apply(m, l, all[l], j->nrecs, on_issue, s);
	}
out:
	/* the merge keeps pointers into job strings, not into the arrays */
	for (l = 0; all && l < s->njobs; l++)
		free(all[l]);
	free(all);
	if (rc < 0) {
		sw_merge_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

/* The findings j->fs[..last] that share last's file: if a later layer
 * deleted or replaced that file, say so in a finding of its own, naming
 * both layers and their build steps. The bytes are still in every pull. */
static int hidden_payload(scan *s, const sw_merge *m, sw_report *r, size_t l, size_t last)
{
	job *j = &s->jobs[l];
	size_t rr = j->fs[last].rec, first = last, k;
	const sw_layer_info *add = sw_image_layer(s->img, l), *del;
	sw_severity sev = SW_SEV_INFO;
	sw_buf ev = SW_BUF_INIT(65536);
	sw_jw w = SW_JW_INIT(&ev);
	sw_finding f = { 0 };
	char title[160];
	long by;
	int rc;

	if ((j->recs[rr].flags & SW_MREC_UNPLACED) || (by = sw_merge_removed_by(m, l, rr)) < 0)
		return 0;
	while (first > 0 && j->fs[first - 1].rec == rr)
		first--;
	del = sw_image_layer(s->img, (size_t)by);
	sw_jw_obj(&w);
	sw_jw_kuint(&w, "added_in_layer", l);
	sw_jw_kstr(&w, "added_by", add->created_by);
	sw_jw_kint(&w, "removed_in_layer", by);
	sw_jw_kstr(&w, "removed_by", del ? del->created_by : NULL);
	sw_jw_karr(&w, "findings");
	for (k = first; k <= last; k++) {
		if (j->fs[k].f.severity > sev)
			sev = j->fs[k].f.severity;
		sw_jw_str(&w, j->fs[k].f.id);
	}
	sw_jw_end(&w);
	sw_jw_end(&w);
	snprintf(title, sizeof(title), "Flagged file removed by layer %ld still ships in layer %zu", by, l);
	f.id = "SW-HIDDEN-PAYLOAD";
	f.severity = sev;
	f.category = "hidden-payload";
	f.title = title;
	f.detector = "merge";
	f.path = sw_scan__job_path(j, rr);
	f.layer = (int)l;
	f.layer_digest = add->digest;
	f.created_by = add->created_by;
	f.in_final_fs = false;
	f.evidence = sw_buf_cstr(&ev);
	rc = sw_jw_done(&w);
	if (rc == 0)
		rc = sw_report__add(r, &f);
	sw_buf_release(&ev);
	return rc;
}

static int cmp_link(const void *a, const void *b, void *ctx)
{
	const job *j = ctx;

	return strcmp(j->strings.data + *(const uint32_t *)a, j->strings.data + *(const uint32_t *)b);
}

/* Thousands of hard links to one file in a layer: nothing a package does
 * (git's many names for one program are about a hundred), and an unpacker
 * that copies each link writes the file that many times (3,000 links to
 * 1 MiB: 3 GiB from a 1 MiB layer). One finding per such target. */
static int link_floods(scan *s, const sw_merge *m, sw_report *r, size_t l)
{
	job *j = &s->jobs[l];
	const sw_layer_info *li = sw_image_layer(s->img, l);
	uint32_t *links;
	size_t n = 0, i, k;
	int rc = 0;

	for (i = 0; i < j->nrecs; i++)
		n += j->recs[i].type == '1' && j->recs[i].link;
	if (n < LINK_FLOOD)
		return 0;
	if (!(links = malloc(n * sizeof(*links))))
		return SW_ENOMEM;
	for (i = 0, n = 0; i < j->nrecs; i++)
		if (j->recs[i].type == '1' && j->recs[i].link)
			links[n++] = j->recs[i].link;
	qsort_r(links, n, sizeof(*links), cmp_link, j);
	for (i = 0; i < n && rc == 0; i = k) {
		sw_finding f = { 0 };
		sw_buf ev = SW_BUF_INIT(64);
		sw_jw w = SW_JW_INIT(&ev);
		char title[160];
		size_t ol, orr;
		for (k = i + 1; k < n && !cmp_link(&links[i], &links[k], j); k++)
			;
		if (k - i < LINK_FLOOD)
			continue;
		snprintf(title, sizeof(title), "%zu hard links to one file: an unpacker that copies links writes it "
			 "%zu times", k - i, k - i);
		sw_jw_obj(&w);
		sw_jw_kuint(&w, "hard_links", k - i);
		sw_jw_end(&w);
		f.id = "SW-HARDLINK-FLOOD";
		f.severity = SW_SEV_MEDIUM;
		f.category = "suspicious-config";
		f.title = title;
		f.detector = "merge";
		f.path = j->strings.data + links[i];
		f.layer = (int)l;
		f.layer_digest = li->digest;
		f.created_by = li->created_by;
		f.in_final_fs = sw_merge_lookup(m, f.path, &ol, &orr);
		f.evidence = sw_buf_cstr(&ev);
		if ((rc = sw_jw_done(&w)) == 0)
			rc = sw_report__add(r, &f);
		sw_buf_release(&ev);
	}
	free(links);
	return rc;
}

/* What layer l could not scan: an incomplete entry, and the medium
 * SW-INCOMPLETE finding that keeps the verdict from being clean. */
static int layer_incomplete(scan *s, const sw_merge *m, sw_report *r, size_t l, const char *path, const char *reason)
{
	const sw_layer_info *li = sw_image_layer(s->img, l);
	sw_finding where = { 0 };

	where.detector = "limits";
	where.path = path;
	where.layer = (int)l;
	where.layer_digest = li->digest;
	where.created_by = li->created_by;
	if (path) {
		size_t ol, orr;
		where.in_final_fs = sw_merge_lookup(m, path, &ol, &orr) && ol == l;
	}
	return sw_report__incomplete(r, &where, reason);
}

/* The regular files layer l added that a later layer deleted or replaced
 * (what a reader of the layers wants to see where it was added, with the
 * layer that removed it). */
static int removed_files(const scan *s, const sw_merge *m, sw_report *r, size_t l)
{
	const job *j = &s->jobs[l];
	size_t i;
	long by;
	int rc;

	for (i = 0; i < j->nrecs; i++) {
		const rec *x = &j->recs[i];
		if (x->type != '0' || (x->flags & (SW_MREC_UNPLACED | SW_MREC_WHITEOUT | SW_MREC_OPAQUE)) ||
		    (by = sw_merge_removed_by(m, l, i)) <= (long)l)
			continue;
		if ((rc = sw_report__removed(r, l, sw_scan__job_path(j, i), (int)by)) < 0)
			return rc;
	}
	return 0;
}

int sw_scan__build_report(scan *s, const sw_merge *m, sw_report *r)
{
	size_t l, i;
	int rc;

	for (l = 0; l < s->njobs; l++) {
		job *j = &s->jobs[l];
		const sw_layer_info *li = sw_image_layer(s->img, l);
		if (l < r->nlayers) {
			r->layers[l].files = (int64_t)j->files;
			if ((rc = removed_files(s, m, r, l)) < 0)
				return rc;
		}
		for (i = 0; i < j->nf; i++) {
			sw_finding f = j->fs[i].f;
			size_t rr = j->fs[i].rec;
			f.path = j->fs[i].path ? j->fs[i].path : sw_scan__job_path(j, rr);
			f.layer_digest = li->digest;
			f.created_by = li->created_by;
			f.in_final_fs = !(j->recs[rr].flags & SW_MREC_UNPLACED) && sw_merge_live(m, l, rr);
			if ((rc = sw_report__add(r, &f)) < 0)
				return rc;
			/* a detector's findings on one file are consecutive */
			if ((i + 1 == j->nf || j->fs[i + 1].rec != rr) &&
			    (rc = hidden_payload(s, m, r, l, i)) < 0)
				return rc;
		}
		if ((rc = link_floods(s, m, r, l)) < 0)
			return rc;
		if (j->f_dropped) {
			char msg[128];
			snprintf(msg, sizeof(msg), "%zu more findings in this layer not listed (limit %d)",
				 j->f_dropped, MAX_FINDINGS_PER_LAYER);
			if ((rc = layer_incomplete(s, m, r, l, NULL, msg)) < 0)
				return rc;
		}
		if (j->inc_dropped) {
			char msg[128];
			snprintf(msg, sizeof(msg), "%zu more incomplete entries in this layer not listed",
				 j->inc_dropped);
			if ((rc = layer_incomplete(s, m, r, l, NULL, msg)) < 0)
				return rc;
		}
		for (i = 0; i < j->ninc; i++)
			if ((rc = layer_incomplete(s, m, r, l, j->incs[i].path, j->incs[i].reason)) < 0)
				return rc;
	}
	return 0;
}

static char chain_type(void *ctx, size_t l, size_t r)
{
	const scan *s = ctx;
	return r < s->jobs[l].nrecs ? s->jobs[l].recs[r].type : 0;
}

static const char *chain_link(void *ctx, size_t l, size_t r)
{
	const scan *s = ctx;
	const job *j = &s->jobs[l];
	return r < j->nrecs && j->recs[r].link ? j->strings.data + j->recs[r].link : NULL;
}

static const uint8_t *chain_content(void *ctx, size_t l, size_t r, size_t *len)
{
	const scan *s = ctx;
	const job *j = &s->jobs[l];
	size_t i;

	for (i = 0; i < j->nkept; i++)
		if (j->kept[i].rec == r) {
			*len = j->kept[i].len;
			return j->kept[i].data;
		}
	return NULL;
}

int sw_scan__chain(scan *s, const sw_merge *m, sw_report *r)
{
	sw_chain_env env = { m, NULL, 0, s, chain_type, chain_link, chain_content };

	env.config = sw_image_config(s->img, &env.config_len);
	return sw_chain_link(&env, r);
}
