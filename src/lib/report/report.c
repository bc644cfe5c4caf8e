/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The report object: findings, what could not be fully scanned, and the
 * verdict derived from them. The report owns copies of every string, so it
 * outlives the image and the scan that produced it.
 */
#include <stdlib.h>
#include <string.h>

#include "report_int.h"
#include "../util/banned.h"

static const char *const sev_names[] = { "info", "low", "medium", "high", "critical" };

const char *sw_severity_name(sw_severity s)
{
	return (unsigned)s < 5 ? sev_names[s] : "unknown";
}

int sw_severity_parse(const char *name, sw_severity *out)
{
	int i;

	for (i = 0; i < 5; i++)
		if (name && strcmp(name, sev_names[i]) == 0) {
			*out = (sw_severity)i;
			return 0;
		}
	return SW_EINVAL;
}

const char *sw_verdict_name(sw_verdict v)
{
	return v == SW_VERDICT_MALICIOUS ? "malicious" :
	       v == SW_VERDICT_SUSPICIOUS ? "suspicious" : "clean";
}

int sw_verdict_parse(const char *name, sw_verdict *out)
{
	static const sw_verdict all[] = { SW_VERDICT_CLEAN, SW_VERDICT_SUSPICIOUS, SW_VERDICT_MALICIOUS };
	size_t i;

	for (i = 0; name && i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(name, sw_verdict_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	return SW_EFORMAT;
}

int sw_report__new(sw_report **out, const sw_image *img, sw_error *err)
{
	sw_report *r = calloc(1, sizeof(*r));
	size_t i, n = sw_image_layer_count(img);

	*out = NULL;
	if (!r || !(r->layers = calloc(n + 1, sizeof(*r->layers))))
		goto oom;
	r->nlayers = n;
#define COPY(dst, src) do { const char *s_ = (src); if (((dst) = sw__strdup(s_)) == NULL && s_) goto oom; } while (0)
	COPY(r->input, sw_image_input(img));
	COPY(r->reference, sw_image_reference(img));
	COPY(r->manifest_digest, sw_image_manifest_digest(img));
	COPY(r->config_digest, sw_image_config_digest(img));
	COPY(r->platform, sw_image_platform(img));
	{
		size_t np;
		const char *const *pl = sw_image_platforms(img, &np);
		if (np && !(r->platforms = calloc(np, sizeof(*r->platforms))))
			goto oom;
		for (i = 0; i < np; i++, r->nplatforms++)
			COPY(r->platforms[i], pl[i]);
	}
	for (i = 0; i < n; i++) {
		const sw_layer_info *li = sw_image_layer(img, i);
		COPY(r->layers[i].digest, li->digest);
		COPY(r->layers[i].diff_id, li->diff_id);
		COPY(r->layers[i].created_by, li->created_by);
		COPY(r->layers[i].media_type, li->media_type);
		r->layers[i].size = li->size;
		r->layers[i].files = -1;
	}
#undef COPY
	*out = r;
	return 0;
oom:
	sw_report_free(r);
	return sw_error_set(err, SW_ENOMEM, "out of memory");
}

int sw_report__new_bare(sw_report **out, const char *input, const char *reference, const char *digest)
{
	sw_report *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r || !(r->input = sw__strdup(input)) || (reference && !(r->reference = sw__strdup(reference))) ||
	    (digest && !(r->manifest_digest = sw__strdup(digest)))) {
		sw_report_free(r);
		return SW_ENOMEM;
	}
	*out = r;
	return 0;
}

int sw_report__removed(sw_report *r, size_t layer, const char *path, int by)
{
	sw_rlayer *l = &r->layers[layer];
	sw_rremoved *d;

	l->nremoved++;
	if (by >= 0 && (size_t)by < r->nlayers)
		r->layers[by].nremoves++;
	if (l->nlisted >= SW_REPORT_MAX_REMOVED)
		return 0;
	if (!l->removed && !(l->removed = calloc(SW_REPORT_MAX_REMOVED, sizeof(*l->removed))))
		return SW_ENOMEM;
	d = &l->removed[l->nlisted];
	if (!(d->path = sw__strdup(path)))
		return SW_ENOMEM;
	d->by = by;
	l->nlisted++;
	return 0;
}

int sw_report__set_command(sw_report *r, char *const *argv, size_t n, const char *user)
{
	size_t i;

	if (n && !(r->command = calloc(n, sizeof(*r->command))))
		return SW_ENOMEM;
	for (i = 0; i < n; i++, r->ncommand++)
		if (!(r->command[i] = sw__strdup(argv[i])))
			return SW_ENOMEM;
	if (user && !(r->user = sw__strdup(user)))
		return SW_ENOMEM;
	return 0;
}

int sw_report__chain_add(sw_report *r, const char *path, int layer, int parent, int depth, bool present)
{
	sw_rchain *c;

	if (SW_GROW(r->chain, r->nchain) < 0)
		return SW_ENOMEM;
	c = &r->chain[r->nchain];
	if (!(c->path = sw__strdup(path)))
		return SW_ENOMEM;
	c->layer = layer;
	c->parent = parent;
	c->depth = depth;
	c->present = present;
	r->nchain++;
	return 0;
}

int sw_report__set_decision(sw_report *r, const char *json)
{
	char *d = sw__strdup(json);

	if (!d)
		return SW_ENOMEM;
	free(r->decision);
	r->decision = d;
	return 0;
}

int sw_report_set_attachments(sw_report *r, int signatures, int attestations, const char *where, const char *error)
{
	sw_buf b = SW_BUF_INIT(4096);
	sw_jw w = SW_JW_INIT(&b);
	int rc;

	sw_jw_obj(&w);
	sw_jw_kstr(&w, "where", where);
	if (error) {
		sw_jw_kstr(&w, "error", error);
	} else {
		sw_jw_kint(&w, "signatures", signatures);
		sw_jw_kint(&w, "attestations", attestations);
	}
	sw_jw_end(&w);
	if ((rc = sw_jw_done(&w)) == 0) {
		free(r->attachments);
		r->attachments = sw_buf_detach(&b, NULL);
		rc = r->attachments ? 0 : SW_ENOMEM;
	}
	sw_buf_release(&b);
	return rc;
}

int sw_report__evidence_add(sw_finding *f, const char *key, const char *json)
{
	size_t n = strlen(f->evidence);
	sw_buf b = SW_BUF_INIT(SIZE_MAX);
	sw_jw w = SW_JW_INIT(&b);
	int rc;

	/* callers add a key once: never search the text for it, evidence quotes
	 * attacker bytes */
	if (n < 2 || f->evidence[n - 1] != '}')
		return 0;
	sw_buf_append(&b, f->evidence, n - 1);
	sw_jw_resume(&w, n > 2);
	sw_jw_kraw(&w, key, json);
	sw_jw_end(&w);
	if ((rc = sw_jw_done(&w)) < 0) {
		sw_buf_release(&b);
		return rc;
	}
	free((char *)f->evidence);
	f->evidence = sw_buf_detach(&b, NULL);
	return f->evidence ? 0 : SW_ENOMEM;
}

static void finding_release(sw_finding *f)
{
	free((char *)f->id);
	free((char *)f->category);
	free((char *)f->title);
	free((char *)f->detector);
	free((char *)f->path);
	free((char *)f->layer_digest);
	free((char *)f->created_by);
	free((char *)f->evidence);
	free((char *)f->platform);
}

static void layers_release(sw_rlayer *ls, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		free(ls[i].digest);
		free(ls[i].diff_id);
		free(ls[i].created_by);
		free(ls[i].media_type);
		for (k = 0; k < ls[i].nlisted; k++)
			free(ls[i].removed[k].path);
		free(ls[i].removed);
	}
	free(ls);
}

void sw_report_free(sw_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nf; i++)
		finding_release(&r->f[i]);
	free(r->f);
	for (i = 0; i < r->ninc; i++) {
		free((char *)r->inc[i].path);
		free((char *)r->inc[i].reason);
		free((char *)r->inc[i].platform);
	}
	free(r->inc);
	for (i = 0; i < r->nplats; i++) {
		free(r->plats[i].platform);
		free(r->plats[i].manifest_digest);
		free(r->plats[i].config_digest);
		free(r->plats[i].reason);
		layers_release(r->plats[i].layers, r->plats[i].nlayers);
	}
	free(r->plats);
	free(r->index_digest);
	for (i = 0; i < r->nevents; i++) {
		free(r->events[i]);
		free(r->event_lines[i]);
	}
	free(r->events);
	free(r->event_lines);
	free(r->dynamic);
	layers_release(r->layers, r->nlayers);
	for (i = 0; i < r->nplatforms; i++)
		free(r->platforms[i]);
	free(r->platforms);
	free(r->platform);
	for (i = 0; i < r->ncommand; i++)
		free(r->command[i]);
	free(r->command);
	free(r->user);
	for (i = 0; i < r->nchain; i++)
		free(r->chain[i].path);
	free(r->chain);
	free(r->attachments);
	free(r->decision);
	free(r->input);
	free(r->reference);
	free(r->manifest_digest);
	free(r->config_digest);
	free(r->ruleset);
	free(r);
}

int sw_report__add(sw_report *r, const sw_finding *f)
{
	sw_finding *d;

	if (r->nf == r->capf) {
		size_t cap = r->capf ? r->capf * 2 : 16;
		sw_finding *nf = realloc(r->f, cap * sizeof(*nf));
		if (!nf)
			return SW_ENOMEM;
		r->f = nf;
		r->capf = cap;
	}
	d = &r->f[r->nf];
	memset(d, 0, sizeof(*d));
	d->severity = f->severity;
	d->layer = f->layer;
	d->in_final_fs = f->in_final_fs;
	d->id = sw__strdup(f->id);
	d->category = sw__strdup(f->category);
	d->title = sw__strdup(f->title);
	d->detector = sw__strdup(f->detector);
	d->path = sw__strdup(f->path);
	d->layer_digest = sw__strdup(f->layer_digest);
	d->created_by = sw__strdup(f->created_by);
	d->evidence = sw__strdup(f->evidence ? f->evidence : "{}");
	d->platform = sw__strdup(f->platform);
	if (!d->id || !d->category || !d->title || !d->detector || !d->evidence ||
	    (f->path && !d->path) || (f->layer_digest && !d->layer_digest) || (f->created_by && !d->created_by) ||
	    (f->platform && !d->platform)) {
		finding_release(d);
		return SW_ENOMEM;
	}
	r->nf++;
	return 0;
}

int sw_report__add_incomplete(sw_report *r, const char *path, int layer, const char *reason)
{
	sw_incomplete *d;

	if (r->ninc == r->capinc) {
		size_t cap = r->capinc ? r->capinc * 2 : 8;
		sw_incomplete *ni = realloc(r->inc, cap * sizeof(*ni));
		if (!ni)
			return SW_ENOMEM;
		r->inc = ni;
		r->capinc = cap;
	}
	d = &r->inc[r->ninc];
	d->platform = NULL;
	d->path = sw__strdup(path);
	d->layer = layer;
	d->reason = sw__strdup(reason);
	if (!d->reason || (path && !d->path)) {
		free((char *)d->path);
		free((char *)d->reason);
		return SW_ENOMEM;
	}
	r->ninc++;
	return 0;
}

int sw_report__incomplete(sw_report *r, const sw_finding *where, const char *reason)
{
	sw_finding f = *where;
	char title[700];
	int rc;

	if ((rc = sw_report__add_incomplete(r, where->path, where->layer, reason)) < 0)
		return rc;
	if (where->platform && !(r->inc[r->ninc - 1].platform = sw__strdup(where->platform)))
		return SW_ENOMEM;
	snprintf(title, sizeof(title), "Not fully analysed: %s", reason);
	f.id = "SW-INCOMPLETE";
	f.severity = SW_SEV_MEDIUM;
	f.category = "incomplete";
	f.title = title;
	f.evidence = "{}";
	return sw_report__add(r, &f);
}

int sw_report_add_incomplete(sw_report *r, const char *detector, const char *path, int layer,
			     const char *reason)
{
	sw_finding where = { 0 };
	int rc;

	where.detector = detector;
	where.path = path;
	where.layer = layer;
	if ((rc = sw_report__incomplete(r, &where, reason)) < 0)
		return rc;
	sw_report__sort(r);
	return 0;
}

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int cmp_finding(const void *pa, const void *pb)
{
	const sw_finding *a = pa, *b = pb;
	int c;

	if (a->severity != b->severity)
		return a->severity > b->severity ? -1 : 1;
	if ((c = cmp_str(a->platform, b->platform)))
		return c;
	if (a->layer != b->layer)
		return a->layer < b->layer ? -1 : 1;
	if ((c = cmp_str(a->path, b->path)))
		return c;
	return cmp_str(a->id, b->id);
}

void sw_report__sort(sw_report *r)
{
	if (r->nf > 1)
		qsort(r->f, r->nf, sizeof(*r->f), cmp_finding);
}

size_t sw_report_finding_count(const sw_report *r) { return r->nf; }
const char *sw_report_ruleset(const sw_report *r) { return r->ruleset; }
size_t sw_report_incomplete_count(const sw_report *r) { return r->ninc; }

const sw_finding *sw_report_finding(const sw_report *r, size_t i)
{
	return i < r->nf ? &r->f[i] : NULL;
}

const sw_incomplete *sw_report_incomplete(const sw_report *r, size_t i)
{
	return i < r->ninc ? &r->inc[i] : NULL;
}

bool sw_report_max_severity(const sw_report *r, sw_severity *out)
{
	size_t i;
	bool any = false;

	for (i = 0; i < r->nf; i++)
		if (!any || r->f[i].severity > *out) {
			*out = r->f[i].severity;
			any = true;
		}
	return any;
}

sw_verdict sw_report__verdict_of(const sw_report *r, const char *platform, size_t *count)
{
	sw_verdict v = SW_VERDICT_CLEAN;
	size_t i, n = 0;

	for (i = 0; i < r->nf; i++) {
		const sw_finding *f = &r->f[i];
		if (platform && (!f->platform || strcmp(f->platform, platform) != 0))
			continue;
		n++;
		if (f->severity >= SW_SEV_HIGH && sw_category_malware(f->category))
			v = SW_VERDICT_MALICIOUS;
		else if (f->severity >= SW_SEV_MEDIUM && v == SW_VERDICT_CLEAN)
			v = SW_VERDICT_SUSPICIOUS;
	}
	if (count)
		*count = n;
	return v;
}

sw_verdict sw_report_verdict(const sw_report *r)
{
	return sw_report__verdict_of(r, NULL, NULL);
}

int sw_report__add_event(sw_report *r, const char *json, const char *line)
{
	if (r->nevents == r->capevents) {
		size_t cap = r->capevents ? r->capevents * 2 : 64;
		char **e = realloc(r->events, cap * sizeof(*e)), **l;
		if (!e)
			return SW_ENOMEM;
		r->events = e;
		if (!(l = realloc(r->event_lines, cap * sizeof(*l))))
			return SW_ENOMEM;
		r->event_lines = l;
		r->capevents = cap;
	}
	if (!(r->events[r->nevents] = sw__strdup(json)))
		return SW_ENOMEM;
	if (!(r->event_lines[r->nevents] = sw__strdup(line ? line : ""))) {
		free(r->events[r->nevents]);
		return SW_ENOMEM;
	}
	r->nevents++;
	return 0;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

int sw_report__merge(sw_report *into, const sw_report *from)
{
	size_t i, j;
	int rc;

	for (i = 0; i < from->nf; i++) {
		const sw_finding *f = &from->f[i];
		for (j = 0; j < into->nf; j++)
			if (same_str(into->f[j].id, f->id) && same_str(into->f[j].path, f->path))
				break;
		if (j == into->nf && (rc = sw_report__add(into, f)) < 0)
			return rc;
	}
	for (i = 0; i < from->ninc; i++) {
		if ((rc = sw_report__add_incomplete(into, from->inc[i].path, from->inc[i].layer, from->inc[i].reason)) < 0)
			return rc;
		if (from->inc[i].platform &&
		    !(into->inc[into->ninc - 1].platform = sw__strdup(from->inc[i].platform)))
			return SW_ENOMEM;
	}
	for (i = 0; i < from->nevents; i++)
		if ((rc = sw_report__add_event(into, from->events[i], from->event_lines[i])) < 0)
			return rc;
	if (from->dynamic) {
		free(into->dynamic);
		if (!(into->dynamic = sw__strdup(from->dynamic)))
			return SW_ENOMEM;
	}
	sw_report__sort(into);
	return 0;
}

/* ---- the platforms of an index (sw_scan_platforms) ---- */

static sw_rplatform *new_plat(sw_report *r, const char *platform, const char *digest)
{
	sw_rplatform *p;

	if (SW_GROW(r->plats, r->nplats) < 0)
		return NULL;
	p = &r->plats[r->nplats];
	memset(p, 0, sizeof(*p));
	if (!(p->platform = sw__strdup(platform)) || (digest && !(p->manifest_digest = sw__strdup(digest)))) {
		free(p->platform);
		return NULL;
	}
	r->nplats++;
	return p;
}

/* Every finding and incomplete entry of r from the first to say nothing
 * of its platform on says platform. */
static int tag_platform(sw_report *r, size_t f0, size_t i0, const char *platform)
{
	size_t i;

	for (i = f0; i < r->nf; i++)
		if (!r->f[i].platform && !(r->f[i].platform = sw__strdup(platform)))
			return SW_ENOMEM;
	for (i = i0; i < r->ninc; i++)
		if (!r->inc[i].platform && !(r->inc[i].platform = sw__strdup(platform)))
			return SW_ENOMEM;
	return 0;
}

int sw_report__platform_first(sw_report *r, const char *platform, const char *index_digest)
{
	sw_rplatform *p;

	if ((index_digest && !(r->index_digest = sw__strdup(index_digest))) ||
	    !(p = new_plat(r, platform, r->manifest_digest)) ||
	    (r->config_digest && !(p->config_digest = sw__strdup(r->config_digest))))
		return SW_ENOMEM;
	p->files = r->files;
	p->bytes = r->bytes;
	p->cache_hits = r->cache_hits;
	p->seconds = r->seconds;
	return tag_platform(r, 0, 0, platform);
}

int sw_report__absorb(sw_report *into, sw_report *from, const char *platform)
{
	sw_rplatform *p;
	size_t f0 = into->nf, i0 = into->ninc;

	/* room for all of them (and one more) at once: nothing moves half */
	if (SW_GROW_CAP(into->f, into->nf + from->nf, into->capf) < 0 ||
	    SW_GROW_CAP(into->inc, into->ninc + from->ninc, into->capinc) < 0 ||
	    !(p = new_plat(into, platform, from->manifest_digest)) ||
	    (from->config_digest && !(p->config_digest = sw__strdup(from->config_digest))))
		return SW_ENOMEM;
	if (from->nf)
		memcpy(into->f + into->nf, from->f, from->nf * sizeof(*from->f));
	into->nf += from->nf;
	from->nf = 0;
	if (from->ninc)
		memcpy(into->inc + into->ninc, from->inc, from->ninc * sizeof(*from->inc));
	into->ninc += from->ninc;
	from->ninc = 0;
	p->layers = from->layers;
	p->nlayers = from->nlayers;
	from->layers = NULL;
	from->nlayers = 0;
	p->files = from->files;
	p->bytes = from->bytes;
	p->cache_hits = from->cache_hits;
	p->seconds = from->seconds;
	into->files += from->files;
	into->bytes += from->bytes;
	into->cache_hits += from->cache_hits;
	into->seconds += from->seconds;
	return tag_platform(into, f0, i0, platform);
}

int sw_report__not_scanned(sw_report *r, const char *platform, const char *digest, const char *reason)
{
	sw_rplatform *p = new_plat(r, platform, digest);

	if (!p)
		return SW_ENOMEM;
	if (!(p->reason = sw__strdup(reason)))
		return SW_ENOMEM;
	return 0;
}

bool sw_report__multi(const sw_report *r)
{
	return r->nplats > 1;
}

const sw_rlayer *sw_report__layer(const sw_report *r, const char *platform, int layer)
{
	const sw_rlayer *ls = r->layers;
	size_t n = r->nlayers, i;

	for (i = 1; platform && i < r->nplats; i++)
		if (!r->plats[i].reason && strcmp(r->plats[i].platform, platform) == 0) {
			ls = r->plats[i].layers;
			n = r->plats[i].nlayers;
			break;
		}
	return layer >= 0 && (size_t)layer < n ? &ls[layer] : NULL;
}
