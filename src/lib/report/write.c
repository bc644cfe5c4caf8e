/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Report writers. JSON follows the stowaway.report/v1 schema field for field
 * (docs/ARCHITECTURE.md); it is assembled in memory (a report is small next
 * to the image it describes) and written with one fwrite, so a failed write
 * is detected and reported rather than leaving half a document.
 */
#include <string.h>

#include "report_int.h"
#include "../util/banned.h"

#ifndef SW_VERSION
#define SW_VERSION "0.0.0"
#endif

#define MAX_REPORT (1u << 30)

/* A layer's removed files: {"count": N, "files": [{"path", "by"}...]}
 * (the first SW_REPORT_MAX_REMOVED), null when it was not scanned. */
static void json_removed(sw_jw *w, const sw_rlayer *l)
{
	size_t k;

	sw_jw_key(w, "removed");
	if (l->files < 0) {
		sw_jw_null(w);
		return;
	}
	sw_jw_obj(w);
	sw_jw_kuint(w, "count", l->nremoved);
	sw_jw_karr(w, "files");
	for (k = 0; k < l->nlisted; k++) {
		sw_jw_obj(w);
		sw_jw_kstr(w, "path", l->removed[k].path);
		sw_jw_kint(w, "by", l->removed[k].by);
		sw_jw_end(w);
	}
	sw_jw_end(w);
	sw_jw_end(w);
}

/* What the image runs and the chain followed from it (a scan's). */
static void json_entrypoint(sw_jw *w, const sw_report *r)
{
	size_t i;

	sw_jw_kobj(w, "entrypoint");
	sw_jw_karr(w, "command");
	for (i = 0; i < r->ncommand; i++)
		sw_jw_str(w, r->command[i]);
	sw_jw_end(w);
	sw_jw_kstr(w, "user", r->user);
	sw_jw_karr(w, "chain");
	for (i = 0; i < r->nchain; i++) {
		const sw_rchain *c = &r->chain[i];
		sw_jw_obj(w);
		sw_jw_kstr(w, "path", c->path);
		sw_jw_kint(w, "layer", c->layer);
		sw_jw_kint(w, "parent", c->parent);
		sw_jw_kint(w, "depth", c->depth);
		sw_jw_kbool(w, "present", c->present);
		sw_jw_end(w);
	}
	sw_jw_end(w);
	sw_jw_end(w);
}

/* "layers": [{index, digest, diff_id, size, created_by, files, removed,
 * removes}] */
static void json_layers(sw_jw *w, const sw_rlayer *ls, size_t n)
{
	size_t i;

	sw_jw_karr(w, "layers");
	for (i = 0; i < n; i++) {
		const sw_rlayer *l = &ls[i];
		sw_jw_obj(w);
		sw_jw_kuint(w, "index", i);
		sw_jw_kstr(w, "digest", l->digest);
		sw_jw_kstr(w, "diff_id", l->diff_id);
		sw_jw_key(w, "size");
		if (l->size >= 0)
			sw_jw_int(w, l->size);
		else
			sw_jw_null(w);
		sw_jw_kstr(w, "created_by", l->created_by);
		sw_jw_key(w, "files");
		if (l->files >= 0)
			sw_jw_int(w, l->files);
		else
			sw_jw_null(w);
		json_removed(w, l);
		sw_jw_key(w, "removes");
		if (l->files >= 0)
			sw_jw_uint(w, l->nremoves);
		else
			sw_jw_null(w);
		sw_jw_end(w);
	}
	sw_jw_end(w);
}

/* The index's platforms: index_digest, platforms_scanned (each with its
 * digests, verdict, findings, counts and layers) and platforms_not_scanned
 * (with why). */
static void json_platforms(sw_jw *w, const sw_report *r)
{
	size_t i, nf;

	sw_jw_kstr(w, "index_digest", r->index_digest);
	sw_jw_karr(w, "platforms_scanned");
	for (i = 0; i < r->nplats; i++) {
		const sw_rplatform *p = &r->plats[i];
		if (p->reason)
			continue;
		sw_jw_obj(w);
		sw_jw_kstr(w, "platform", p->platform);
		sw_jw_kstr(w, "manifest_digest", p->manifest_digest);
		sw_jw_kstr(w, "config_digest", p->config_digest);
		sw_jw_kstr(w, "verdict", sw_verdict_name(sw_report__verdict_of(r, p->platform, &nf)));
		sw_jw_kuint(w, "findings", nf);
		sw_jw_kuint(w, "files", p->files);
		sw_jw_kuint(w, "bytes", p->bytes);
		sw_jw_kuint(w, "cache_hits", p->cache_hits);
		if (p->layers || i == 0)
			json_layers(w, i == 0 ? r->layers : p->layers, i == 0 ? r->nlayers : p->nlayers);
		sw_jw_end(w);
	}
	sw_jw_end(w);
	sw_jw_karr(w, "platforms_not_scanned");
	for (i = 0; i < r->nplats; i++) {
		const sw_rplatform *p = &r->plats[i];
		if (!p->reason)
			continue;
		sw_jw_obj(w);
		sw_jw_kstr(w, "platform", p->platform);
		sw_jw_kstr(w, "manifest_digest", p->manifest_digest);
		sw_jw_kstr(w, "reason", p->reason);
		sw_jw_end(w);
	}
	sw_jw_end(w);
}

static size_t not_scanned(const sw_report *r)
{
	size_t n = 0, i;

	for (i = 0; i < r->nplats; i++)
		n += r->plats[i].reason != NULL;
	return n;
}

/* Layers of every platform scanned. */
static size_t all_layers(const sw_report *r)
{
	size_t n = r->nlayers, i;

	for (i = 1; i < r->nplats; i++)
		n += r->plats[i].nlayers;
	return n;
}

/* dynamic.story: the run told for people (story.c). */
static void story_json(const sw_report *r, sw_jw *w, sw_buf *b)
{
	sw_story *st = NULL;

	if (sw_story__new(r, &st) < 0) {
		b->err = b->err ? b->err : SW_ENOMEM;
		return;
	}
	sw_jw_key(w, "story");
	sw_story__json(st, w);
	sw_story__free(st);
}

void sw_report__json(const sw_report *r, sw_buf *b)
{
	sw_jw w = SW_JW_INIT(b);
	size_t i;

	sw_jw_obj(&w);
	sw_jw_kstr(&w, "schema", "stowaway.report/v1");
	sw_jw_kobj(&w, "tool");
	sw_jw_kstr(&w, "name", "stowaway");
	sw_jw_kstr(&w, "version", SW_VERSION);
	sw_jw_kstr(&w, "ruleset", r->ruleset);
	sw_jw_end(&w);
	sw_jw_kobj(&w, "image");
	sw_jw_kstr(&w, "input", r->input);
	sw_jw_kstr(&w, "reference", r->reference);
	sw_jw_kstr(&w, "manifest_digest", r->manifest_digest);
	sw_jw_kstr(&w, "config_digest", r->config_digest);
	sw_jw_kstr(&w, "platform", r->platform);
	sw_jw_karr(&w, "platforms");
	for (i = 0; i < r->nplatforms; i++)
		sw_jw_str(&w, r->platforms[i]);
	sw_jw_end(&w);
	json_layers(&w, r->layers, r->nlayers);
	if (r->nplats)
		json_platforms(&w, r);
	if (r->scanned)
		json_entrypoint(&w, r);
	if (r->attachments)
		sw_jw_kraw(&w, "attachments", r->attachments);
	sw_jw_end(&w);
	sw_jw_kstr(&w, "verdict", sw_verdict_name(sw_report_verdict(r)));
	if (r->decision)
		sw_jw_kraw(&w, "decision", r->decision);
	sw_jw_karr(&w, "findings");
	for (i = 0; i < r->nf; i++) {
		const sw_finding *f = &r->f[i];
		sw_jw_obj(&w);
		sw_jw_kstr(&w, "id", f->id);
		sw_jw_kstr(&w, "severity", sw_severity_name(f->severity));
		sw_jw_kstr(&w, "category", f->category);
		sw_jw_kstr(&w, "title", f->title);
		sw_jw_kstr(&w, "detector", f->detector);
		sw_jw_kstr(&w, "path", f->path);
		sw_jw_key(&w, "layer");
		if (f->layer >= 0)
			sw_jw_int(&w, f->layer);
		else
			sw_jw_null(&w);
		sw_jw_kstr(&w, "layer_digest", f->layer_digest);
		sw_jw_kstr(&w, "created_by", f->created_by);
		sw_jw_key(&w, "in_final_fs");
		if (f->path)
			sw_jw_bool(&w, f->in_final_fs);
		else
			sw_jw_null(&w);
		sw_jw_kraw(&w, "evidence", f->evidence);
		sw_jw_kstr(&w, "platform", f->platform);
		sw_jw_end(&w);
	}
	sw_jw_end(&w);
	sw_jw_karr(&w, "incomplete");
	for (i = 0; i < r->ninc; i++) {
		const sw_incomplete *c = &r->inc[i];
		sw_jw_obj(&w);
		sw_jw_kstr(&w, "path", c->path);
		sw_jw_key(&w, "layer");
		if (c->layer >= 0)
			sw_jw_int(&w, c->layer);
		else
			sw_jw_null(&w);
		sw_jw_kstr(&w, "reason", c->reason);
		sw_jw_kstr(&w, "platform", c->platform);
		sw_jw_end(&w);
	}
	sw_jw_end(&w);
	if (r->dynamic || r->nevents) {
		sw_jw_kobj(&w, "dynamic");
		sw_jw_kraw(&w, "summary", r->dynamic ? r->dynamic : "{}");
		sw_jw_karr(&w, "events");
		for (i = 0; i < r->nevents; i++)
			sw_jw_raw(&w, r->events[i]);
		sw_jw_end(&w);
		story_json(r, &w, b);
		sw_jw_end(&w);
	}
	sw_jw_kobj(&w, "stats");
	sw_jw_kuint(&w, "layers", all_layers(r));
	if (r->nplats)
		sw_jw_kuint(&w, "platforms", r->nplats - not_scanned(r));
	sw_jw_kuint(&w, "files", r->files);
	sw_jw_kuint(&w, "bytes", r->bytes);
	sw_jw_key(&w, "seconds");
	sw_jw_real(&w, r->seconds, 3);
	sw_jw_kuint(&w, "cache_hits", r->cache_hits);
	sw_jw_end(&w);
	sw_jw_end(&w);
	if (sw_jw_done(&w) == 0)
		sw_buf_putc(b, '\n');
}

static const char *sev_color(sw_severity s)
{
	switch (s) {
	case SW_SEV_CRITICAL: return "\033[1;31m";
	case SW_SEV_HIGH: return "\033[31m";
	case SW_SEV_MEDIUM: return "\033[33m";
	case SW_SEV_LOW: return "\033[36m";
	default: return "\033[2m";
	}
}

/* At most `w` columns of s, escaped for the terminal (sw_term_unit: a
 * character is one column, an escape as many as its characters), then
 * padded; when s does not fit, what fits in w - 1 columns and a '~'. */
static void cell(sw_buf *b, const char *s, int w)
{
	char u[SW_TERM_UNIT_MAX];
	size_t n = s ? strlen(s) : 0, i = 0, cols = 0, width = w > 0 ? (size_t)w : 0;
	size_t mark = b->len, mark_cols = 0, k, c;

	while (i < n && width > 0) {
		k = sw_term_unit(s + i, n - i, u);
		c = (unsigned char)u[0] >= 0x80 ? 1 : strlen(u);
		if (cols + c > width) {
			b->len = mark; /* back to the last unit that leaves room for the '~' */
			cols = mark_cols;
			sw_buf_putc(b, '~');
			cols++;
			break;
		}
		sw_buf_append(b, u, strlen(u));
		cols += c;
		i += k;
		if (cols < width) {
			mark = b->len;
			mark_cols = cols;
		}
	}
	while (cols++ < width)
		sw_buf_putc(b, ' ');
}

/* The whole of s, escaped for the terminal. */
static void text(sw_buf *b, const char *s)
{
	if (s)
		(void)sw_buf_term(b, s, strlen(s), SIZE_MAX, NULL);
}

static void human(char *out, size_t n, uint64_t v)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)v;
	int i = 0;

	while (d >= 1024 && i < 4)
		d /= 1024, i++;
	snprintf(out, n, i ? "%.1f %s" : "%.0f %s", d, u[i]);
}

/* "Sandbox: ran /usr/bin/x as uid 0; exit 0 after 1.20 s; CPU 0.40 s; ..." */
static void sandbox_line(const char *dyn, sw_buf *b, const char *bold, const char *off)
{
	sw_json_doc *d = NULL;
	const sw_json *run, *root, *cmd, *v;
	int64_t x;

	if (sw_json_parse(dyn, strlen(dyn), &d, NULL) < 0)
		return;
	root = sw_json_root(d);
	run = sw_json_get_obj(root, "run");
	cmd = sw_json_get_obj(root, "command");
	/* the image's Entrypoint: attacker-controlled text like every other */
	sw_buf_printf(b, "%sSandbox%s  ran ", bold, off);
	text(b, cmd && sw_json_get_str(cmd, "exe") ? sw_json_get_str(cmd, "exe") : "?");
	if (cmd && sw_json_get_i64(cmd, "uid", &x) == 0)
		sw_buf_printf(b, " as uid %lld", (long long)x);
	if (run) {
		if (sw_json_get_i64(run, "exit", &x) == 0)
			sw_buf_printf(b, "; exit %lld", (long long)x);
		else if (sw_json_get_i64(run, "signal", &x) == 0)
			sw_buf_printf(b, "; killed by signal %lld", (long long)x);
		if ((v = sw_json_get(run, "wall_seconds")) && v->type == SW_JSON_NUM)
			sw_buf_printf(b, " after %.2f s", v->is_int ? (double)v->i : v->d);
		if ((v = sw_json_get(run, "timed_out")) && v->type == SW_JSON_BOOL && v->b)
			sw_buf_printf(b, " (the time limit)");
		if ((v = sw_json_get(run, "cpu_seconds")) && v->type == SW_JSON_NUM)
			sw_buf_printf(b, "; CPU %.2f s", v->is_int ? (double)v->i : v->d);
		if (sw_json_get_i64(run, "peak_processes", &x) == 0 && x > 0)
			sw_buf_printf(b, "; at most %lld processes", (long long)x);
	}
	sw_buf_printf(b, "\n\n");
	sw_json_free(d);
}

/* An indented detail line under a finding: "label: text (layer N)". */
static void detail(sw_buf *b, const char *label, const char *text, int64_t layer)
{
	sw_buf_printf(b, "%44s %s: ", "", label);
	cell(b, text, 100);
	while (b->len && b->data[b->len - 1] == ' ')
		b->len--;
	if (layer >= 0)
		sw_buf_printf(b, " (layer %lld)", (long long)layer);
	sw_buf_putc(b, '\n');
}

/* What the JSON evidence says that a reader of the table needs: the file
 * a launcher starts, the step that deleted a hidden payload. */
static void evidence_lines(sw_buf *b, const sw_finding *f)
{
	sw_json_doc *d = NULL;
	const sw_json *root;
	const char *v;
	int64_t layer;

	if (!f->evidence || sw_json_parse(f->evidence, strlen(f->evidence), &d, NULL) < 0)
		return;
	root = sw_json_root(d);
	if ((v = sw_json_get_str(root, "starts")))
		detail(b, "starts", v, sw_json_get_i64(root, "target_layer", &layer) == 0 ? layer : -1);
	if ((v = sw_json_get_str(root, "removed_by")))
		detail(b, "removed by", v, sw_json_get_i64(root, "removed_in_layer", &layer) == 0 ? layer : -1);
	sw_json_free(d);
}

/* The index's platforms, each scanned with its verdict, then those not
 * scanned with why. Returns whether findings need a platform column
 * (more than one was scanned). */
static bool table_platforms(const sw_report *r, sw_buf *b, const char *bold, const char *off)
{
	size_t i, nf, scanned = 0;

	for (i = 0; i < r->nplats; i++) {
		const sw_rplatform *p = &r->plats[i];
		if (p->reason)
			continue;
		sw_buf_printf(b, "%s", scanned++ ? ", " : "platforms scanned: ");
		text(b, p->platform);
		sw_buf_printf(b, " %s", sw_verdict_name(sw_report__verdict_of(r, p->platform, &nf)));
	}
	if (scanned)
		sw_buf_putc(b, '\n');
	for (i = 0; i < r->nplats; i++) {
		const sw_rplatform *p = &r->plats[i];
		if (!p->reason)
			continue;
		sw_buf_printf(b, "%snot scanned%s: ", bold, off);
		text(b, p->platform);
		sw_buf_printf(b, " (");
		text(b, p->reason);
		sw_buf_printf(b, ")\n");
	}
	return scanned > 1;
}

/* The sandbox run told for people, then its timeline without the events
 * the story collapsed as noise (the first 400 others). */
static void table_timeline(const sw_report *r, sw_buf *b, const char *bold, const char *off)
{
	sw_story *st = NULL;
	size_t i, shown = 0, hidden = 0;

	if (sw_story__new(r, &st) < 0) {
		b->err = b->err ? b->err : SW_ENOMEM;
		return;
	}
	sw_story__table(st, b, bold, off);
	sw_buf_printf(b, "%sTimeline (sandbox)%s\n", bold, off);
	/* event lines are escaped where they are rendered (detonate.c:
	 * render), where each value's length is known */
	for (i = 0; i < r->nevents; i++) {
		if (sw_story__hidden(st, i))
			hidden++;
		else if (shown++ < 400)
			sw_buf_printf(b, "  %s\n", r->event_lines[i]);
	}
	if (shown > 400)
		sw_buf_printf(b, "  ... and %zu more events (see --format json)\n", shown - 400);
	if (hidden)
		sw_buf_printf(b, "  (%zu noise events not listed: counted under Noise above)\n", hidden);
	sw_buf_putc(b, '\n');
	sw_story__free(st);
}

static void write_table(const sw_report *r, sw_buf *b, bool color)
{
	const char *bold = color ? "\033[1m" : "", *off = color ? "\033[0m" : "";
	sw_verdict v = sw_report_verdict(r);
	int counts[5] = { 0 };
	char sz[32], lay[16];
	size_t i;
	bool pcol;

	human(sz, sizeof(sz), r->bytes);
	sw_buf_printf(b, "%sstowaway %s%s  ", bold, SW_VERSION, off);
	text(b, r->input);
	if (r->reference) {
		sw_buf_printf(b, "  (");
		text(b, r->reference);
		sw_buf_putc(b, ')');
	}
	sw_buf_printf(b, "\n%zu layers, %llu files, %s in %.2f s\n", all_layers(r),
		      (unsigned long long)r->files, sz, r->seconds);
	pcol = table_platforms(r, b, bold, off);
	sw_buf_putc(b, '\n');
	if (r->dynamic)
		sandbox_line(r->dynamic, b, bold, off);
	if (r->nevents)
		table_timeline(r, b, bold, off);
	if (r->nf) {
		sw_buf_printf(b, "%s%-9s %-24s ", bold, "SEVERITY", "ID");
		if (pcol)
			sw_buf_printf(b, "%-14s ", "PLATFORM");
		sw_buf_printf(b, "%-5s %-44s %s%s\n", "LAYER", "PATH", "TITLE", off);
		for (i = 0; i < r->nf; i++) {
			const sw_finding *f = &r->f[i];
			counts[f->severity]++;
			sw_buf_printf(b, "%s%-9s%s ", color ? sev_color(f->severity) : "",
				      sw_severity_name(f->severity), off);
			cell(b, f->id, 24);
			sw_buf_putc(b, ' ');
			if (pcol) {
				cell(b, f->platform ? f->platform : "-", 14);
				sw_buf_putc(b, ' ');
			}
			if (f->layer >= 0)
				snprintf(lay, sizeof(lay), "%d", f->layer);
			else
				snprintf(lay, sizeof(lay), "-");
			cell(b, lay, 5);
			sw_buf_putc(b, ' ');
			cell(b, f->path ? f->path : "(image)", 44);
			sw_buf_putc(b, ' ');
			cell(b, f->title, 200);
			while (b->len && b->data[b->len - 1] == ' ')
				b->len--;
			sw_buf_putc(b, '\n');
			if (f->path && !f->in_final_fs && f->layer >= 0)
				sw_buf_printf(b, "%44s deleted or replaced by a later layer: still shipped in every pull\n", "");
			if (f->created_by)
				detail(b, "added by", f->created_by, -1);
			evidence_lines(b, f);
		}
		sw_buf_putc(b, '\n');
	} else {
		sw_buf_printf(b, "no findings\n\n");
	}
	if (r->ninc) {
		sw_buf_printf(b, "%sNot fully scanned%s\n", bold, off);
		for (i = 0; i < r->ninc && i < 50; i++) {
			const sw_incomplete *c = &r->inc[i];
			sw_buf_printf(b, "  ");
			if (c->platform && pcol) {
				text(b, c->platform);
				sw_buf_putc(b, ' ');
			}
			if (c->layer >= 0)
				sw_buf_printf(b, "layer %d ", c->layer);
			else
				sw_buf_printf(b, "image ");
			if (c->path) {
				cell(b, c->path, 60);
				while (b->len && b->data[b->len - 1] == ' ')
					b->len--;
			}
			sw_buf_printf(b, ": ");
			text(b, c->reason);
			sw_buf_putc(b, '\n');
		}
		if (r->ninc > 50)
			sw_buf_printf(b, "  ... and %zu more (see --format json)\n", r->ninc - 50);
		sw_buf_putc(b, '\n');
	}
	sw_buf_printf(b, "verdict: %s%s%s", color && v != SW_VERDICT_CLEAN ?
		      (v == SW_VERDICT_MALICIOUS ? "\033[1;31m" : "\033[33m") : "",
		      sw_verdict_name(v), off);
	if (r->nf) {
		int s;
		bool first = true;
		sw_buf_printf(b, " (%zu finding%s:", r->nf, r->nf == 1 ? "" : "s");
		for (s = 4; s >= 0; s--)
			if (counts[s]) {
				sw_buf_printf(b, "%s %d %s", first ? "" : ",", counts[s],
					      sw_severity_name((sw_severity)s));
				first = false;
			}
		sw_buf_putc(b, ')');
	}
	sw_buf_putc(b, '\n');
}

/* The page is made from the report's JSON, the one path a saved report
 * takes too (sw_report_render_html): what a scan shows and what `stowaway
 * report` shows of its JSON cannot differ. */
static int html_page(const sw_report *r, sw_buf *b, sw_error *err)
{
	sw_buf j = SW_BUF_INIT(MAX_REPORT);
	int rc;

	sw_report__json(r, &j);
	if ((rc = sw_buf_err(&j)) == 0)
		rc = sw_report__html(j.data, j.len, b, err);
	else
		sw_error_set(err, rc, "%s", rc == SW_ELIMIT ? "the report is larger than 1 GiB" :
			     "out of memory writing the report");
	sw_buf_release(&j);
	return rc;
}

int sw_report_write(const sw_report *r, sw_format fmt, bool color, FILE *f, sw_error *err)
{
	sw_buf b = SW_BUF_INIT(MAX_REPORT);
	int rc = 0;

	if (fmt == SW_FMT_SARIF)
		rc = sw_report__sarif(&r, 1, &b, err);
	else if (fmt == SW_FMT_JSON)
		sw_report__json(r, &b);
	else if (fmt == SW_FMT_HTML)
		rc = html_page(r, &b, err);
	else
		write_table(r, &b, color);
	if (rc == 0 && sw_buf_err(&b)) /* never half a report */
		rc = sw_error_set(err, sw_buf_err(&b), sw_buf_err(&b) == SW_ELIMIT ?
				  "the report is larger than %u MiB" : sw_buf_err(&b) == SW_EINVAL ?
				  "the report's JSON was not well formed (a bug: please report it)" :
				  "out of memory writing the report",
				  (unsigned)(MAX_REPORT >> 20));
	if (rc == 0 && b.len && (fwrite(b.data, 1, b.len, f) != b.len || fflush(f) != 0))
		rc = sw_error_set(err, SW_EIO, "writing the report failed");
	sw_buf_release(&b);
	return rc;
}

int sw_report_render_html(const char *json, size_t len, FILE *f, sw_error *err)
{
	sw_buf b = SW_BUF_INIT(MAX_REPORT);
	int rc = sw_report__html(json, len, &b, err);

	if (rc == 0 && b.len && (fwrite(b.data, 1, b.len, f) != b.len || fflush(f) != 0))
		rc = sw_error_set(err, SW_EIO, "writing the page failed");
	sw_buf_release(&b);
	return rc;
}
