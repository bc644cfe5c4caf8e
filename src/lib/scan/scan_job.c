/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A layer's job (job.h), as the worker fills it: the records of its
 * entries (paths and link targets in one string buffer, for the merge),
 * what it could not scan, and the findings the detectors emit through
 * sw_emit (file detectors into the layer's job, image detectors straight
 * into the report). Every list is bounded; what goes over is counted.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan_int.h"
#include "../report/report_int.h"
#include "../util/banned.h"

static int job_str(job *j, const char *s, size_t n, uint32_t *off)
{
	int rc;

	if (j->strings.len == 0 && (rc = sw_buf_putc(&j->strings, '\0')) < 0)
		return rc; /* offset 0 means "none" */
	if (j->strings.len + n + 1 > UINT32_MAX)
		return SW_ELIMIT;
	*off = (uint32_t)j->strings.len;
	if ((rc = sw_buf_append(&j->strings, s, n)) < 0)
		return rc;
	return sw_buf_putc(&j->strings, '\0');
}

const char *sw_scan__job_path(const job *j, size_t r)
{
	return j->strings.data + j->recs[r].path;
}

int sw_scan__add_rec(job *j, const char *path, const char *link, char type, uint8_t flags,
		     size_t *idx)
{
	rec *r;
	int rc;

	if (SW_GROW_CAP(j->recs, j->nrecs, j->caprecs) < 0)
		return SW_ENOMEM;
	r = &j->recs[j->nrecs];
	memset(r, 0, sizeof(*r));
	r->type = type;
	r->flags = flags;
	if ((rc = job_str(j, path, strlen(path), &r->path)) < 0)
		return rc;
	if (link && (rc = job_str(j, link, strlen(link), &r->link)) < 0)
		return rc;
	*idx = j->nrecs++;
	return 0;
}

int sw_scan__add_inc(job *j, const char *path, const char *fmt, ...)
{
	va_list ap;
	char reason[600];
	pinc *p;

	if (j->ninc >= MAX_INCOMPLETE_PER_LAYER) {
		j->inc_dropped++;
		return 0;
	}
	if (SW_GROW_CAP(j->incs, j->ninc, j->capinc) < 0)
		return SW_ENOMEM;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	p = &j->incs[j->ninc];
	p->path = sw__strdup(path);
	p->reason = sw__strdup(reason);
	if (!p->reason || (path && !p->path)) {
		free(p->path);
		free(p->reason);
		return SW_ENOMEM;
	}
	j->ninc++;
	return 0;
}

int sw_emit_step_finding(sw_emit *e, int layer, const char *created_by, const char *id,
			 sw_severity sev, const char *category, const char *title,
			 const char *evidence_json)
{
	const sw_layer_info *li = layer >= 0 ? sw_image_layer(e->img, (size_t)layer) : NULL;
	sw_finding f = { 0 };

	if (!e->r)
		return SW_EINVAL;
	f.id = id;
	f.severity = sev;
	f.category = category;
	f.title = title;
	f.detector = e->detector;
	f.layer = li ? layer : -1;
	f.layer_digest = li ? li->digest : NULL;
	f.created_by = created_by;
	f.evidence = evidence_json;
	return sw_report__add(e->r, &f);
}

int sw_emit_finding(sw_emit *e, const char *id, sw_severity sev, const char *category,
	    const char *title, const char *evidence_json)
{
	job *j;
	pfinding *p;

	if (!e->w)
		return sw_emit_step_finding(e, -1, NULL, id, sev, category, title, evidence_json);
	j = e->w->j;

	if (j->nf >= MAX_FINDINGS_PER_LAYER) {
		j->f_dropped++;
		return 0;
	}
	if (SW_GROW_CAP(j->fs, j->nf, j->capf) < 0)
		return SW_ENOMEM;
	p = &j->fs[j->nf];
	memset(p, 0, sizeof(*p));
	p->rec = e->w->cur_rec;
	p->f.id = sw__strdup(id);
	p->f.severity = sev;
	p->f.category = sw__strdup(category);
	p->f.title = sw__strdup(title);
	p->f.detector = sw__strdup(e->detector);
	p->f.evidence = sw__strdup(evidence_json ? evidence_json : "{}");
	p->f.layer = (int)j->index;
	p->path = e->w->nested_path ? sw__strdup(e->w->nested_path) : NULL;
	if ((e->w->nested_path && !p->path) || !p->f.id || !p->f.category || !p->f.title || !p->f.detector || !p->f.evidence) {
		free((char *)p->f.id);
		free((char *)p->f.category);
		free((char *)p->f.title);
		free((char *)p->f.detector);
		free((char *)p->f.evidence);
		free(p->path);
		return SW_ENOMEM;
	}
	j->nf++;
	return 0;
}

int sw_emit_incomplete(sw_emit *e, const char *reason)
{
	return sw_scan__add_inc(e->w->j, e->w->cur.path, "%s: %s", e->detector, reason);
}

int sw_emit_transient(sw_emit *e, const char *reason)
{
	e->w->j->transient = true;
	return sw_emit_incomplete(e, reason);
}
