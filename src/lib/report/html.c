/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The report as one HTML page for people (--format html, stowaway report):
 * what the image is and what stowaway thinks of it, then the layers as a
 * timeline (build step, size, files, findings, and what later layers
 * removed of it), what the image runs at start as a graph, the findings by
 * severity with their evidence, what was not fully read, the sandbox run
 * and the admission decision when there are.
 *
 * The page is made from the report's JSON document, never from the report
 * object, so a scan's page and the page of its saved JSON are the same. It
 * is self-contained (the style sheet inline, no script at all, and a
 * Content-Security-Policy that would refuse one), so it can be mailed,
 * attached to a ticket or opened offline, and it reads the same printed.
 * Every string from the document goes through sw_html_text. Long lists
 * are cut at fixed counts with what was left out counted, so the page of
 * an image with ten thousand findings stays a page: the JSON has the rest.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"
#include "html_int.h"
#include "../util/banned.h"

#ifndef SW_VERSION
#define SW_VERSION "0.0.0"
#endif

#define DETAIL_PER_SEV 50    /* findings shown whole per severity */
#define COMPACT_ROWS 500     /* then one row each, over all severities */
#define MAX_IDS 1000         /* rows of the table of finding ids */
#define LAYER_FINDINGS 5     /* findings named in a layer's card */
#define LAYER_REMOVED 20     /* removed files named in a layer's card */
#define RUN_COLLAPSE 5       /* consecutive unremarkable layers folded */
#define MAX_INCOMPLETE 300
#define MAX_REASONS 200
#define TEXT 2000            /* bytes of one string shown */
#define STEP 4096            /* bytes of a build step shown */
#define EV_DEPTH 3           /* evidence nesting shown */
#define EV_ITEMS 20          /* evidence array items shown */
#define EV_MEMBERS 40        /* evidence object members shown */

/* ---- small writers ---- */

void hw_raw(hw *h, const char *s)
{
	sw_buf_append(h->b, s, strlen(s));
}

void hw_printf(hw *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sw_buf_vprintf(h->b, fmt, ap);
	va_end(ap);
}

void hw_str_n(hw *h, const char *s, size_t n, size_t max, unsigned flags)
{
	if (!s) {
		hw_raw(h, "\xe2\x80\x94"); /* an em dash: absent */
		return;
	}
	if (sw_html_text(h->b, s, n, max, flags) < n)
		hw_raw(h, "\xe2\x80\xa6"); /* an ellipsis: cut */
}

void hw_cstr(hw *h, const char *s, size_t max, unsigned flags)
{
	hw_str_n(h, s, s ? strlen(s) : 0, max, flags);
}

void hw_str(hw *h, const sw_json *v, size_t max, unsigned flags)
{
	if (!v || v->type != SW_JSON_STR)
		hw_str_n(h, NULL, 0, max, flags);
	else
		hw_str_n(h, v->s, v->slen, max, flags);
}

void hw_wrap(hw *h, const char *open, const char *s, size_t max, const char *close)
{
	hw_raw(h, open);
	hw_cstr(h, s, max, 0);
	hw_raw(h, close);
}

void hw_wrapv(hw *h, const char *open, const sw_json *v, size_t max, const char *close)
{
	hw_raw(h, open);
	hw_str(h, v, max, 0);
	hw_raw(h, close);
}

void hw_size(hw *h, int64_t v)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)v;
	int i = 0;

	while (d >= 1024 && i < 4)
		d /= 1024, i++;
	hw_printf(h, i ? "%.1f %s" : "%.0f %s", d, u[i]);
}

const char *hw_sev_name(int s)
{
	static const char *const n[] = { "info", "low", "medium", "high", "critical" };

	return s >= 0 && s < SW_HTML_SEVS ? n[s] : "unknown";
}

int hw_sev_parse(const char *s)
{
	int i;

	for (i = 0; s && i < SW_HTML_SEVS; i++)
		if (strcmp(s, hw_sev_name(i)) == 0)
			return i;
	return -1;
}

void hw_badge(hw *h, int s)
{
	if (s >= 0 && s < SW_HTML_SEVS)
		hw_printf(h, "<span class=\"badge b%d\"><svg viewBox=\"0 0 20 20\" aria-hidden=\"true\">"
			     "<use href=\"#sym-%d\"/></svg>%s</span>", s, s, hw_sev_name(s));
	else
		hw_raw(h, "<span class=\"badge bn\">unknown</span>");
}

bool hw_num(const sw_json *obj, const char *key, double *out)
{
	const sw_json *v = obj ? sw_json_get(obj, key) : NULL;

	if (!v || v->type != SW_JSON_NUM)
		return false;
	*out = v->is_int ? (double)v->i : v->d;
	return true;
}

bool hw_int(const sw_json *obj, const char *key, int *out)
{
	int64_t v;

	if (!obj || sw_json_get_i64(obj, key, &v) < 0 || v < -2147483647 || v > 2147483647)
		return false;
	*out = (int)v;
	return true;
}

/* A string member (NULL when absent or not a string). */
static const char *str_of(const sw_json *obj, const char *key)
{
	return obj ? sw_json_get_str(obj, key) : NULL;
}

/* A layer's link: "layer 3" to its card. */
static void layer_link(hw *h, int l)
{
	if (l >= 0 && (size_t)l < h->nlay)
		hw_printf(h, "<a href=\"#layer-%d\">layer %d</a>", l, l);
	else
		hw_printf(h, "layer %d", l);
}

/* The layer obj names under key, linked; else the text none. */
static void layer_ref(hw *h, const sw_json *obj, const char *key, const char *none)
{
	int l;

	if (hw_int(obj, key, &l))
		layer_link(h, l);
	else
		hw_raw(h, none);
}

/* A digest, shortened, whole in its tooltip. */
static void digest(hw *h, const char *d)
{
	if (!d) {
		hw_raw(h, "\xe2\x80\x94");
		return;
	}
	hw_raw(h, "<code title=\"");
	hw_cstr(h, d, 200, SW_HTML_ATTR);
	hw_raw(h, "\">");
	hw_cstr(h, d, strncmp(d, "sha256:", 7) == 0 ? 7 + 16 : 32, 0);
	hw_raw(h, "</code>");
}

/* ---- the document indexed ---- */

/* Does a finding's layer number count image.layers (another platform's
 * count its own layers, which the page does not draw)? */
static bool own_layers(const hw *h, const sw_json *f)
{
	const char *p = str_of(f, "platform");

	return !p || !h->own_platform || strcmp(p, h->own_platform) == 0;
}

/* "linux/arm64 layer 2" for a finding in a layer of another platform. */
static void other_layer(hw *h, const sw_json *f)
{
	int l;

	if (own_layers(h, f) || !hw_int(f, "layer", &l) || l < 0)
		return;
	hw_wrap(h, " in <code>", str_of(f, "platform"), 200, "</code>");
	hw_printf(h, " layer %d", l);
}

static int index_doc(hw *h)
{
	const sw_json *v;
	size_t i;
	int l;

	h->image = sw_json_get_obj(h->root, "image");
	h->layers = h->image ? sw_json_get_arr(h->image, "layers") : NULL;
	h->findings = sw_json_get_arr(h->root, "findings");
	h->incomplete = sw_json_get_arr(h->root, "incomplete");
	h->dynamic = sw_json_get_obj(h->root, "dynamic");
	h->entry = h->image ? sw_json_get_obj(h->image, "entrypoint") : NULL;
	h->decision = sw_json_get_obj(h->root, "decision");
	h->nlay = h->layers ? h->layers->n : 0;
	{
		const sw_json *ps = h->image ? sw_json_get_arr(h->image, "platforms_scanned") : NULL;
		h->own_platform = ps && ps->child ? str_of(ps->child, "platform") : NULL;
	}
	h->nf = h->findings ? h->findings->n : 0;
	h->lay = calloc(h->nlay + 1, sizeof(*h->lay));
	h->lworst = calloc(h->nlay + 1, sizeof(*h->lworst));
	h->lcount = calloc(h->nlay + 1, sizeof(*h->lcount));
	h->f = calloc(h->nf + 1, sizeof(*h->f));
	h->fsev = calloc(h->nf + 1, sizeof(*h->fsev));
	h->flayer = calloc(h->nf + 1, sizeof(*h->flayer));
	h->hidden = calloc(SW_HTML_MAX_HIDDEN, sizeof(*h->hidden));
	if (!h->lay || !h->lworst || !h->lcount || !h->f || !h->fsev || !h->flayer || !h->hidden)
		return SW_ENOMEM;
	for (i = 0, v = h->layers ? h->layers->child : NULL; v; v = v->next, i++) {
		h->lay[i] = v->type == SW_JSON_OBJ ? v : NULL;
		h->lworst[i] = -1;
	}
	for (i = 0, v = h->findings ? h->findings->child : NULL; v; v = v->next, i++) {
		const char *id = str_of(v, "id");
		h->f[i] = v->type == SW_JSON_OBJ ? v : NULL;
		h->fsev[i] = hw_sev_parse(str_of(v, "severity"));
		h->flayer[i] = hw_int(v, "layer", &l) && l >= 0 && (size_t)l < h->nlay && own_layers(h, v) ? l : -1;
		if (h->fsev[i] >= 0)
			h->sevcount[h->fsev[i]]++;
		if (h->flayer[i] >= 0) {
			h->lcount[h->flayer[i]]++;
			if (h->fsev[i] > h->lworst[h->flayer[i]])
				h->lworst[h->flayer[i]] = h->fsev[i];
		}
		if (id && strcmp(id, "SW-HIDDEN-PAYLOAD") == 0 && h->nhidden < SW_HTML_MAX_HIDDEN && h->f[i])
			h->hidden[h->nhidden++] = i;
	}
	return 0;
}

static void release(hw *h)
{
	free(h->lay);
	free(h->lworst);
	free(h->lcount);
	free(h->f);
	free(h->fsev);
	free(h->flayer);
	free(h->hidden);
}

/* ---- the head and the summary ---- */

static const char *verdict_of(const hw *h)
{
	const char *v = str_of(h->root, "verdict");

	return v && (!strcmp(v, "malicious") || !strcmp(v, "suspicious") || !strcmp(v, "clean")) ? v : "unknown";
}

static const char *verdict_why(const char *v)
{
	return !strcmp(v, "malicious") ? "a high or critical finding in a malware category" :
	       !strcmp(v, "suspicious") ? "a finding of medium severity or above, or something not fully read" :
	       !strcmp(v, "clean") ? "nothing of medium severity or above, and everything read" :
				     "the report names no verdict";
}

/* What names the image best: its reference, else what it was given as. */
static const sw_json *image_name(const hw *h)
{
	const sw_json *v = h->image ? sw_json_get(h->image, "reference") : NULL;

	return v && v->type == SW_JSON_STR ? v : h->image ? sw_json_get(h->image, "input") : NULL;
}

static void page_head(hw *h)
{
	const char *v = verdict_of(h);

	hw_printf(h, "<!DOCTYPE html>\n<html lang=\"en\" data-verdict=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
		     "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src "
		     "'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'\">\n"
		     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		     "<meta name=\"generator\" content=\"stowaway %s\">\n<title>",
		  v, SW_VERSION);
	hw_raw(h, v);
	hw_raw(h, ": ");
	hw_str(h, image_name(h), 300, SW_HTML_ATTR);
	hw_raw(h, " \xe2\x80\x94 stowaway</title>\n<style>\n");
	hw_raw(h, sw_html_css);
	hw_raw(h, "</style>\n</head>\n<body>\n");
	sw_html__symbols(h);
}

static void nav(hw *h)
{
	hw_raw(h, "<nav class=\"toc\"><a href=\"#top\">Summary</a>");
	if (h->decision)
		hw_raw(h, "<a href=\"#decision\">Decision</a>");
	if (h->run_first)
		hw_raw(h, "<a href=\"#sandbox\">Sandbox</a>");
	hw_printf(h, "<a href=\"#layers\">Layers (%zu)</a>", h->nlay);
	if (h->entry)
		hw_raw(h, "<a href=\"#entrypoint\">Entrypoint</a>");
	hw_printf(h, "<a href=\"#findings\">Findings (%zu)</a>", h->nf);
	if (h->incomplete && h->incomplete->n)
		hw_printf(h, "<a href=\"#incomplete\">Incomplete (%zu)</a>", h->incomplete->n);
	if (h->dynamic && !h->run_first)
		hw_raw(h, "<a href=\"#sandbox\">Sandbox</a>");
	hw_raw(h, "</nav>\n<main>\n");
}

static void fact(hw *h, const char *label, const sw_json *v, bool code)
{
	hw_printf(h, "<dt>%s</dt><dd>%s", label, code ? "<code>" : "");
	hw_str(h, v, TEXT, 0);
	hw_printf(h, "%s</dd>", code ? "</code>" : "");
}

/* An index's platforms: each scanned with its verdict, each not with why. */
static void platforms_scanned(hw *h)
{
	const sw_json *sc = sw_json_get_arr(h->image, "platforms_scanned");
	const sw_json *ns = sw_json_get_arr(h->image, "platforms_not_scanned"), *p;
	size_t k = 0;

	if (sc && sc->n) {
		hw_raw(h, "<dt>Platforms</dt><dd>");
		for (p = sc->child; p && k < 64; p = p->next, k++) {
			hw_raw(h, k ? ", " : "");
			hw_wrap(h, "<code>", str_of(p, "platform"), 200, "</code> ");
			hw_cstr(h, str_of(p, "verdict"), 20, 0);
		}
		hw_raw(h, "</dd>");
	}
	for (p = ns ? ns->child : NULL, k = 0; p && k < 64; p = p->next, k++) {
		hw_wrap(h, "<dt>Not scanned</dt><dd><code>", str_of(p, "platform"), 200, "</code>: ");
		hw_cstr(h, str_of(p, "reason"), TEXT, 0);
		hw_raw(h, "</dd>");
	}
}

static void platforms(hw *h)
{
	const sw_json *all = sw_json_get_arr(h->image, "platforms"), *p;
	size_t k = 0;

	hw_raw(h, "<dt>Platform</dt><dd>");
	hw_str(h, sw_json_get(h->image, "platform"), 200, 0);
	if (all && all->n > 1) {
		hw_printf(h, " <span class=\"note\">(the index offers %zu: ", all->n);
		for (p = all->child; p && k < 32; p = p->next, k++) {
			hw_raw(h, k ? ", " : "");
			hw_str(h, p, 100, 0);
		}
		hw_raw(h, all->n > 32 ? ", \xe2\x80\xa6)</span>" : ")</span>");
	}
	hw_raw(h, "</dd>");
	platforms_scanned(h);
}

static void attachments(hw *h)
{
	const sw_json *a = sw_json_get_obj(h->image, "attachments");
	const char *where = str_of(a, "where"), *err = str_of(a, "error");
	int s = 0, t = 0;

	hw_raw(h, "<dt>Signatures</dt><dd>");
	if (!a) {
		hw_raw(h, "not looked for (pages of scan, detonate and check look; a report saved as JSON, or a "
			  "check that never reached the registry, does not say)");
	} else if (err) {
		hw_raw(h, "could not be looked for: ");
		hw_cstr(h, err, TEXT, 0);
	} else {
		hw_int(a, "signatures", &s);
		hw_int(a, "attestations", &t);
		hw_printf(h, "%d cosign signature%s, %d attestation%s found next to the image", s, s == 1 ? "" : "s", t,
			  t == 1 ? "" : "s");
		if (where)
			hw_printf(h, " (%s)", !strcmp(where, "layout") ? "in its OCI layout" : "in its registry repository");
		hw_raw(h, s || t ? "; counted, not verified: <code>stowaway verify --key</code> and "
				   "<code>verify-attestation</code> verify them" : "");
	}
	hw_raw(h, "</dd>");
}

/* Were the layers read (a scan), or only run (detonate) or not opened? */
static bool layers_scanned(const hw *h)
{
	size_t i;
	int64_t v;

	for (i = 0; i < h->nlay; i++)
		if (h->lay[i] && sw_json_get_i64(h->lay[i], "files", &v) == 0)
			return true;
	return false;
}

static void stats_line(hw *h)
{
	const sw_json *st = sw_json_get_obj(h->root, "stats");
	double v;
	int64_t n;

	hw_raw(h, "<dt>Scanned</dt><dd>");
	if (!st) {
		hw_raw(h, "\xe2\x80\x94</dd>");
		return;
	}
	if (!layers_scanned(h)) {
		hw_raw(h, "layers not scanned: ");
		hw_raw(h, h->dynamic ? "a sandbox run, of which the files it executed were scanned" :
				       "the decision did not need a scan");
		if (h->dynamic && hw_num(st, "seconds", &v))
			hw_printf(h, " (%.2f s)", v);
		hw_raw(h, "</dd>");
		return;
	}
	if (sw_json_get_i64(st, "layers", &n) == 0)
		hw_printf(h, "%lld layer%s", (long long)n, n == 1 ? "" : "s");
	if (sw_json_get_i64(st, "files", &n) == 0)
		hw_printf(h, ", %lld entr%s", (long long)n, n == 1 ? "y" : "ies");
	if (sw_json_get_i64(st, "bytes", &n) == 0) {
		hw_raw(h, ", ");
		hw_size(h, n);
	}
	if (hw_num(st, "seconds", &v))
		hw_printf(h, " in %.2f s", v);
	if (sw_json_get_i64(st, "cache_hits", &n) == 0 && n > 0)
		hw_printf(h, " (%lld layer%s from the cache)", (long long)n, n == 1 ? "" : "s");
	hw_raw(h, "</dd>");
}

static void severity_chips(hw *h)
{
	int s;

	hw_raw(h, "<div class=\"chips\">");
	if (!h->nf)
		hw_raw(h, "<span class=\"badge bn\">no findings</span>");
	for (s = SW_HTML_SEVS - 1; s >= 0; s--)
		if (h->sevcount[s]) {
			hw_printf(h, "<a href=\"#sev-%s\" style=\"text-decoration:none\">", hw_sev_name(s));
			hw_badge(h, s);
			hw_printf(h, "</a> %zu&nbsp;&nbsp;", h->sevcount[s]);
		}
	hw_raw(h, "</div>");
}

/* The banner: the decision when `check` made the page (the verdict of the
 * scan under it), else the verdict. */
static void banner(hw *h)
{
	const char *v = verdict_of(h), *word = v, *why = verdict_why(v), *cls = v;
	const char *sym = !strcmp(v, "malicious") ? "sym-stop" : !strcmp(v, "suspicious") ? "sym-warn" :
			  !strcmp(v, "clean") ? "sym-ok" : "sym-n";
	const sw_json *al = h->decision ? sw_json_get(h->decision, "allowed") : NULL;

	if (h->decision) {
		bool allowed = al && al->type == SW_JSON_BOOL && al->b;
		word = allowed ? "allowed" : "denied";
		cls = allowed ? "clean" : "malicious";
		sym = allowed ? "sym-ok" : "sym-stop";
		why = NULL;
	}
	hw_printf(h, "<header class=\"top v-%s\" id=\"top\"><div class=\"banner\"><svg viewBox=\"0 0 20 20\" "
		     "aria-hidden=\"true\" style=\"fill:currentColor;stroke:currentColor\"><use href=\"#%s\"/></svg>"
		     "<div><div class=\"word\" id=\"%s\">%s</div><div class=\"why\">",
		  cls, sym, h->decision ? "decision-word" : "verdict", word);
	if (why)
		hw_raw(h, why);
	else if (layers_scanned(h))
		hw_printf(h, "by the admission policy; the scan's verdict: <strong id=\"verdict\">%s</strong> (%s)", v,
			  verdict_why(v));
	else
		hw_raw(h, "by the admission policy; the image was not scanned");
	hw_raw(h, "</div></div></div>");
}

static void summary(hw *h)
{
	const sw_json *tool = sw_json_get_obj(h->root, "tool");

	banner(h);
	hw_wrapv(h, "<div class=\"headbody\"><h1>", image_name(h), TEXT, "</h1><dl class=\"facts\">");
	if (h->image) {
		fact(h, "Input", sw_json_get(h->image, "input"), true);
		fact(h, "Reference", sw_json_get(h->image, "reference"), true);
		hw_raw(h, "<dt>Manifest</dt><dd>");
		digest(h, str_of(h->image, "manifest_digest"));
		hw_raw(h, "</dd><dt>Config</dt><dd>");
		digest(h, str_of(h->image, "config_digest"));
		hw_raw(h, "</dd>");
		platforms(h);
		attachments(h);
	}
	stats_line(h);
	hw_raw(h, "<dt>Rules</dt><dd>");
	digest(h, str_of(tool, "ruleset"));
	hw_wrap(h, " <span class=\"note\">stowaway ", str_of(tool, "version"), 64, "</span></dd></dl>");
	severity_chips(h);
	hw_raw(h, "</div></header>\n");
}

/* ---- the admission decision (check) ---- */

static void decision(hw *h)
{
	const sw_json *d = h->decision, *rs = sw_json_get_arr(d, "reasons"), *nc = sw_json_get_arr(d, "not_checked");
	const sw_json *al = sw_json_get(d, "allowed"), *r;
	bool allowed = al && al->type == SW_JSON_BOOL && al->b;
	size_t k = 0;
	int line;

	const char *pol = str_of(d, "policy");

	hw_printf(h, "<section id=\"decision\"><h2>Admission decision</h2><div class=\"card decision %s\">"
		     "<p><strong class=\"kind\">%s</strong> under ",
		  allowed ? "allow" : "deny", allowed ? "allowed" : "denied");
	if (pol && strcmp(pol, "(built-in)") != 0) {
		hw_wrap(h, "the policy <code>", pol, TEXT, "</code>");
	} else {
		hw_raw(h, "the built-in policy (look-alike names denied; a scan denies high and critical findings)");
	}
	hw_wrap(h, " (mode ", str_of(d, "mode"), 32, ")</p><ul class=\"plain\">");
	for (r = rs ? rs->child : NULL; r && k < MAX_REASONS; r = r->next, k++) {
		const char *kind = str_of(r, "kind");
		hw_printf(h, "<li><span class=\"badge %s\">", kind && !strcmp(kind, "deny") ? "b4" :
			  kind && !strcmp(kind, "warn") ? "b2" : "bn");
		hw_cstr(h, kind, 16, 0);
		hw_raw(h, "</span> ");
		hw_str(h, sw_json_get(r, "text"), TEXT, 0);
		if (hw_int(r, "policy_line", &line))
			hw_printf(h, " <span class=\"note\">(policy line %d)</span>", line);
		hw_raw(h, "</li>");
	}
	if (rs && rs->n > k)
		hw_printf(h, "<li class=\"note\">and %zu more reasons (see the JSON report)</li>", rs->n - k);
	for (r = nc ? nc->child : NULL, k = 0; r && k < 16; r = r->next, k++) {
		hw_wrapv(h, "<li><span class=\"badge bn\">not checked</span> ", r, TEXT, "</li>");
	}
	hw_raw(h, "</ul></div></section>\n");
}

/* ---- layers ---- */

/* The i-th hidden-payload finding and its evidence. */
static const sw_json *hidden(const hw *h, size_t i, const sw_json **ev)
{
	const sw_json *f = h->f[h->hidden[i]];

	*ev = sw_json_get_obj(f, "evidence");
	return f;
}

/* Is layer l worth a card of its own (else it may be folded with its
 * neighbours)? Findings, a removed flagged file, the chain. */
static bool remarkable(const hw *h, size_t l, const bool *chain)
{
	size_t i;
	int a, d;

	if (h->lcount[l] || chain[l] || l == 0 || l + 1 == h->nlay)
		return true;
	for (i = 0; i < h->nhidden; i++) {
		const sw_json *ev;
		hidden(h, i, &ev);
		if (hw_int(ev, "removed_in_layer", &d) && d == (int)l)
			return true;
		if (hw_int(ev, "added_in_layer", &a) && a == (int)l)
			return true;
	}
	return false;
}

/* The hidden-payload finding for a file (path, added in layer l), or NULL. */
static const sw_json *hidden_for(const hw *h, const char *path, int l)
{
	size_t i;
	int a;

	for (i = 0; path && i < h->nhidden; i++) {
		const sw_json *ev, *f = hidden(h, i, &ev);
		const char *p = str_of(f, "path");
		if (p && !strcmp(p, path) && hw_int(f, "layer", &a) && a == l)
			return f;
	}
	return NULL;
}

/* A layer's build step, shortened to one line with the whole step below
 * when it is long. */
static void step(hw *h, const sw_json *l)
{
	const sw_json *cb = l ? sw_json_get(l, "created_by") : NULL;

	if (!cb || cb->type != SW_JSON_STR) {
		hw_raw(h, "<span class=\"step note\">no build step recorded</span>");
		return;
	}
	hw_raw(h, "<span class=\"step\">");
	hw_str(h, cb, STEP, SW_HTML_LINES);
	hw_raw(h, "</span>");
}

static void layer_facts(hw *h, const sw_json *l)
{
	const sw_json *rm = l ? sw_json_get_obj(l, "removed") : NULL;
	int64_t v;

	hw_raw(h, "<div class=\"facts-line\">");
	if (l && sw_json_get_i64(l, "size", &v) == 0) {
		hw_size(h, v);
		hw_raw(h, " compressed");
	} else {
		hw_raw(h, "size unknown");
	}
	if (l && sw_json_get_i64(l, "files", &v) == 0)
		hw_printf(h, " \xc2\xb7 <span title=\"files, directories, links and the members of archives in "
			     "them\">%lld entr%s</span>", (long long)v, v == 1 ? "y" : "ies");
	else
		hw_raw(h, " \xc2\xb7 not scanned");
	if (rm && sw_json_get_i64(rm, "count", &v) == 0 && v > 0)
		hw_printf(h, " \xc2\xb7 %lld removed later", (long long)v);
	if (l && sw_json_get_i64(l, "removes", &v) == 0 && v > 0)
		hw_printf(h, " \xc2\xb7 removes %lld of earlier layers", (long long)v);
	hw_raw(h, " \xc2\xb7 ");
	digest(h, str_of(l, "digest"));
	hw_raw(h, "</div>");
}

static void layer_findings(hw *h, size_t l)
{
	size_t i, shown = 0;

	if (!h->lcount[l])
		return;
	hw_raw(h, "<ul class=\"plain\">");
	for (i = 0; i < h->nf && shown < LAYER_FINDINGS; i++) {
		if (h->flayer[i] != (int)l || !h->f[i])
			continue;
		hw_raw(h, "<li>");
		hw_badge(h, h->fsev[i]);
		hw_printf(h, " <a href=\"#f-%zu\" class=\"fid\">", i);
		hw_cstr(h, str_of(h->f[i], "id"), 200, 0);
		hw_wrap(h, "</a> <code>", str_of(h->f[i], "path"), 300, "</code></li>");
		shown++;
	}
	if (h->lcount[l] > shown)
		hw_printf(h, "<li class=\"note\">and %zu more findings in this layer (below, under Findings)</li>",
			  h->lcount[l] - shown);
	hw_raw(h, "</ul>");
}

/* Files this layer added that later layers removed: flagged ones first
 * (every one of them, from the hidden-payload findings), then the others
 * the report lists. */
static void layer_removed(hw *h, size_t l)
{
	const sw_json *rm = h->lay[l] ? sw_json_get_obj(h->lay[l], "removed") : NULL;
	const sw_json *files = sw_json_get_arr(rm, "files"), *x;
	size_t i, shown = 0;
	int64_t count = 0;

	for (i = 0; i < h->nhidden; i++) {
		const sw_json *ev, *hf = hidden(h, i, &ev);
		int a;
		if (!hw_int(hf, "layer", &a) || a != (int)l)
			continue;
		hw_wrap(h, "<div class=\"gone\"><strong>Hidden payload:</strong> <code>", str_of(hf, "path"), TEXT,
			"</code> was added here and removed by ");
		layer_ref(h, ev, "removed_in_layer", "a later layer");
		hw_raw(h, " (<code>");
		hw_cstr(h, str_of(ev, "removed_by"), 300, 0);
		hw_printf(h, "</code>): invisible in a container, still shipped in every pull "
			     "(<a href=\"#f-%zu\">the finding</a>).</div>", h->hidden[i]);
	}
	if (!rm || sw_json_get_i64(rm, "count", &count) < 0 || count <= 0)
		return;
	hw_printf(h, "<details><summary>%lld file%s added here %s removed by later layers</summary>"
		     "<ul class=\"plain\">", (long long)count, count == 1 ? "" : "s", count == 1 ? "was" : "were");
	for (x = files ? files->child : NULL; x && shown < LAYER_REMOVED; x = x->next, shown++) {
		hw_wrapv(h, "<li><code>", sw_json_get(x, "path"), 500, "</code> \xe2\x80\x94 removed by ");
		layer_ref(h, x, "by", "a later layer");
		if (hidden_for(h, str_of(x, "path"), (int)l))
			hw_raw(h, " <strong>(flagged)</strong>");
		hw_raw(h, "</li>");
	}
	if (count > (int64_t)shown)
		hw_printf(h, "<li class=\"note\">and %lld more (the JSON report lists %zu per layer)</li>",
			  (long long)(count - (int64_t)shown), (size_t)SW_REPORT_MAX_REMOVED);
	hw_raw(h, "</ul></details>");
}

/* Flagged files of earlier layers that this layer removed. */
static void layer_hides(hw *h, size_t l)
{
	size_t i;
	int a, d;

	for (i = 0; i < h->nhidden; i++) {
		const sw_json *ev, *f = hidden(h, i, &ev);
		if (!hw_int(ev, "removed_in_layer", &d) || d != (int)l || !hw_int(ev, "added_in_layer", &a))
			continue;
		hw_wrap(h, "<div class=\"hides\">Removes <code>", str_of(f, "path"), TEXT, "</code>, a flagged file ");
		layer_link(h, a);
		hw_raw(h, " added: the file stays in that layer's blob.</div>");
	}
}

/* The files of the entrypoint chain this layer holds, on one line. */
static void layer_chain(hw *h, size_t l)
{
	const sw_json *chain = h->entry ? sw_json_get_arr(h->entry, "chain") : NULL, *c;
	size_t n = 0;
	int cl;

	for (c = chain ? chain->child : NULL; c; c = c->next) {
		const sw_json *pr = sw_json_get(c, "present");
		if (!hw_int(c, "layer", &cl) || cl != (int)l)
			continue;
		if (n++ == 4) {
			hw_raw(h, ", \xe2\x80\xa6");
			continue;
		}
		if (n > 4)
			continue;
		hw_raw(h, n == 1 ? "<div class=\"note\">Runs at container start: <code>" : ", <code>");
		hw_str(h, sw_json_get(c, "path"), 300, 0);
		hw_raw(h, pr && pr->type == SW_JSON_BOOL && !pr->b ? "</code> (named by a start-up script, removed "
								     "later)" : "</code>");
	}
	if (n)
		hw_printf(h, " (<a href=\"#entrypoint\">%zu file%s of the chain</a>)</div>", n, n == 1 ? "" : "s");
}

static void layer_card(hw *h, size_t l, const bool *chain)
{
	int s = h->lworst[l];

	hw_printf(h, "<li class=\"layer\" id=\"layer-%zu\" data-layer=\"%zu\"><svg class=\"mark %s\" viewBox=\"0 0 20 20\" "
		     "aria-hidden=\"true\"><use href=\"#sym-%s\"/></svg><div class=\"card\"><h3>Layer %zu",
		  l, l, s >= 0 ? (s == 0 ? "s0" : s == 1 ? "s1" : s == 2 ? "s2" : s == 3 ? "s3" : "s4") : "sn",
		  s >= 0 ? hw_sev_name(s) : "n", l);
	hw_printf(h, s >= 0 ? " \xc2\xb7 %zu finding%s, worst " : "", h->lcount[l], h->lcount[l] == 1 ? "" : "s");
	if (s >= 0)
		hw_badge(h, s);
	hw_raw(h, "</h3>");
	step(h, h->lay[l]);
	layer_facts(h, h->lay[l]);
	layer_findings(h, l);
	layer_removed(h, l);
	layer_hides(h, l);
	if (chain[l])
		layer_chain(h, l);
	hw_raw(h, "</div></li>\n");
}

static void layers(hw *h)
{
	const sw_json *chain = h->entry ? sw_json_get_arr(h->entry, "chain") : NULL, *c;
	bool *inchain = calloc(h->nlay + 1, sizeof(*inchain));
	size_t l, run;
	int cl;

	if (!inchain) {
		h->b->err = h->b->err ? h->b->err : SW_ENOMEM;
		return;
	}
	for (c = chain ? chain->child : NULL; c; c = c->next)
		if (hw_int(c, "layer", &cl) && cl >= 0 && (size_t)cl < h->nlay)
			inchain[cl] = true;
	hw_printf(h, "<section id=\"layers\"><h2>Layers (%zu)</h2>", h->nlay);
	if (!h->nlay) {
		hw_raw(h, "<p class=\"note\">No layers: the image was not opened (a check that judged its name and "
			  "signatures only).</p></section>\n");
		free(inchain);
		return;
	}
	if (layers_scanned(h))
		sw_html__layer_map(h);
	hw_raw(h, "<ol class=\"timeline\">\n");
	for (l = 0; l < h->nlay; l = run) {
		for (run = l; run < h->nlay && !remarkable(h, run, inchain); run++)
			;
		if (run - l >= RUN_COLLAPSE) {
			size_t k;
			hw_printf(h, "<li class=\"run\"><details><summary>Layers %zu\xe2\x80\x93%zu: %zu layers without "
				     "findings</summary><ol>\n", l, run - 1, run - l);
			for (k = l; k < run; k++)
				layer_card(h, k, inchain);
			hw_raw(h, "</ol></details></li>\n");
		} else {
			for (; l < run; l++)
				layer_card(h, l, inchain);
		}
		if (run < h->nlay && remarkable(h, run, inchain))
			layer_card(h, run++, inchain);
	}
	hw_raw(h, "</ol></section>\n");
	free(inchain);
}

/* ---- the entrypoint chain ---- */

typedef struct chainctx {
	const sw_json **node;    /* the chain's entries */
	size_t n;
	int *parent, *sev;
	bool *ghost;
	long *first;             /* a finding on the file, or -1 */
} chainctx;

/* The command as one line: words joined, a word with a blank quoted. */
static void command_line(hw *h, const sw_json *cmd, size_t max, unsigned flags)
{
	const sw_json *w;
	size_t used = 0;

	if (!cmd || !cmd->n) {
		hw_raw(h, "(no Entrypoint or Cmd)");
		return;
	}
	for (w = cmd->child; w && used < max; w = w->next) {
		bool q = w->type == SW_JSON_STR && (!w->slen || memchr(w->s, ' ', w->slen));
		hw_raw(h, w == cmd->child ? "" : " ");
		hw_raw(h, q ? "&quot;" : "");
		if (w->type == SW_JSON_STR)
			used += sw_html_text(h->b, w->s, w->slen, max - used, flags) + 1;
		hw_raw(h, q ? "&quot;" : "");
	}
	if (w)
		hw_raw(h, " \xe2\x80\xa6");
}

static void chain_line(hw *h, void *ctx, size_t i, int which, size_t max, unsigned flags)
{
	chainctx *c = ctx;
	const sw_json *n;
	sw_buf t = SW_BUF_INIT(4096);
	size_t k, shown = 0;
	int l = -1;

	if (i == SIZE_MAX) {
		if (which == 0) {
			command_line(h, sw_json_get_arr(h->entry, "command"), max, flags);
		} else {
			hw_raw(h, "Entrypoint + Cmd, as user ");
			hw_cstr(h, str_of(h->entry, "user") ? str_of(h->entry, "user") : "root (User unset)", max, flags);
		}
		return;
	}
	n = c->node[i];
	if (which == 0) {
		hw_str(h, sw_json_get(n, "path"), max, flags);
		return;
	}
	/* the line as plain text first, then escaped and cut as one */
	if (hw_int(n, "layer", &l))
		sw_buf_printf(&t, "layer %d \xc2\xb7 ", l);
	else
		l = -1;
	if (c->ghost[i])
		sw_buf_printf(&t, "removed by a later layer, still shipped \xc2\xb7 ");
	for (k = 0; k < h->nf && c->first[i] >= 0 && shown < 8; k++) {
		const char *p = str_of(h->f[k], "path"), *np = str_of(n, "path"), *id = str_of(h->f[k], "id");
		if (!p || !np || !id || strcmp(p, np) != 0 || h->flayer[k] != l)
			continue;
		sw_buf_printf(&t, "%s%s (%s)", shown++ ? ", " : "", id, hw_sev_name(h->fsev[k]));
	}
	if (c->first[i] < 0)
		sw_buf_printf(&t, "no finding");
	hw_str_n(h, t.data ? t.data : "", t.len, max, flags);
	sw_buf_release(&t);
}

/* The worst finding on a chain file (path, layer): its severity, and
 * the first one's index in *first. */
static int worst_on(const hw *h, const char *path, int layer, long *first)
{
	size_t k;
	int worst = -1;

	*first = -1;
	for (k = 0; path && k < h->nf; k++) {
		const char *p = str_of(h->f[k], "path");
		if (!p || strcmp(p, path) != 0 || h->flayer[k] != layer)
			continue;
		if (*first < 0)
			*first = (long)k;
		if (h->fsev[k] > worst)
			worst = h->fsev[k];
	}
	return worst;
}

static void chain_table(hw *h, const chainctx *c)
{
	size_t i;
	int l, p;

	hw_raw(h, "<table><thead><tr><th>File</th><th>Layer</th><th>Started by</th><th>Findings</th></tr></thead><tbody>");
	for (i = 0; i < c->n; i++) {
		const sw_json *n = c->node[i];
		hw_printf(h, "<tr data-chain=\"%zu\"><td><code>", i);
		hw_str(h, sw_json_get(n, "path"), TEXT, 0);
		hw_raw(h, c->ghost[i] ? "</code> <strong>(removed by a later layer)</strong></td><td>" : "</code></td><td>");
		if (hw_int(n, "layer", &l))
			layer_link(h, l);
		hw_raw(h, "</td><td>");
		if (hw_int(n, "parent", &p) && p >= 0 && (size_t)p < c->n) {
			hw_wrapv(h, "<code>", sw_json_get(c->node[p], "path"), TEXT, "</code>");
		} else {
			hw_raw(h, "Entrypoint/Cmd");
		}
		hw_raw(h, "</td><td>");
		if (c->first[i] >= 0) {
			hw_badge(h, c->sev[i]);
			hw_printf(h, " <a href=\"#f-%ld\">", c->first[i]);
			hw_cstr(h, str_of(h->f[c->first[i]], "id"), 200, 0);
			hw_raw(h, "</a>");
		} else {
			hw_raw(h, "none");
		}
		hw_raw(h, "</td></tr>");
	}
	hw_raw(h, "</tbody></table>");
}

static void entrypoint(hw *h)
{
	const sw_json *chain = sw_json_get_arr(h->entry, "chain"), *x;
	chainctx c = { 0 };
	sw_html_tree t = { 0 };
	size_t i;
	int l;

	hw_raw(h, "<section id=\"entrypoint\"><h2>What the image runs at start</h2><p>Command: <code>");
	command_line(h, sw_json_get_arr(h->entry, "command"), TEXT, 0);
	hw_raw(h, "</code>, as user <code>");
	hw_cstr(h, str_of(h->entry, "user") ? str_of(h->entry, "user") : "root", 300, 0);
	hw_raw(h, "</code>. The chain follows it through interpreters, <code>sh -c</code>, PATH and symbolic links into "
		  "the scripts it starts, and the files they name.</p>");
	c.n = chain ? chain->n : 0;
	c.node = calloc(c.n + 1, sizeof(*c.node));
	c.parent = calloc(c.n + 1, sizeof(*c.parent));
	c.sev = calloc(c.n + 1, sizeof(*c.sev));
	c.ghost = calloc(c.n + 1, sizeof(*c.ghost));
	c.first = calloc(c.n + 1, sizeof(*c.first));
	if (!c.node || !c.parent || !c.sev || !c.ghost || !c.first) {
		h->b->err = h->b->err ? h->b->err : SW_ENOMEM;
		goto out;
	}
	for (i = 0, x = chain ? chain->child : NULL; x; x = x->next, i++) {
		const sw_json *pr = sw_json_get(x, "present");
		c.node[i] = x;
		c.parent[i] = hw_int(x, "parent", &l) ? l : -1;
		c.ghost[i] = pr && pr->type == SW_JSON_BOOL && !pr->b;
		c.sev[i] = worst_on(h, str_of(x, "path"), hw_int(x, "layer", &l) ? l : -1, &c.first[i]);
	}
	t.n = c.n;
	t.parent = c.parent;
	t.sev = c.sev;
	t.ghost = c.ghost;
	t.line = chain_line;
	t.ctx = &c;
	t.label = "The entrypoint chain: what the image starts, and what that starts";
	t.caption = "Each box is a file the image runs at start, or one a start-up script names, under what "
		    "starts it; its shape and colour are its worst finding (a hollow circle: none). A dashed box "
		    "is a flagged file a later layer removed: it cannot run, but it ships.";
	sw_html__tree(h, &t);
	if (c.n)
		chain_table(h, &c);
	else
		hw_raw(h, "<p class=\"note\">Nothing it names is a file in the image (an interpreter the image does "
			  "not have, or no command at all).</p>");
out:
	hw_raw(h, "</section>\n");
	free(c.node);
	free(c.parent);
	free(c.sev);
	free(c.ghost);
	free(c.first);
}

/* ---- evidence ---- */

static void ev_value(hw *h, const char *key, const sw_json *v, int depth);

static bool scalar(const sw_json *v)
{
	return v->type != SW_JSON_ARR && v->type != SW_JSON_OBJ;
}

/* An array of objects as a table, its columns the first object's keys. */
static void ev_table(hw *h, const sw_json *arr, int depth)
{
	const sw_json *row, *col, *cell;
	size_t k = 0, c;

	hw_raw(h, "<table><thead><tr>");
	for (col = arr->child->child, c = 0; col && c < 8; col = col->next, c++) {
		hw_wrap(h, "<th>", col->key, 100, "</th>");
	}
	hw_raw(h, "</tr></thead><tbody>");
	for (row = arr->child; row && k < EV_ITEMS; row = row->next, k++) {
		hw_raw(h, "<tr>");
		for (col = arr->child->child, c = 0; col && c < 8; col = col->next, c++) {
			hw_raw(h, "<td>");
			cell = row->type == SW_JSON_OBJ ? sw_json_get(row, col->key) : NULL;
			if (cell)
				ev_value(h, col->key, cell, depth + 1);
			hw_raw(h, "</td>");
		}
		hw_raw(h, "</tr>");
	}
	hw_raw(h, "</tbody></table>");
	if (arr->n > k)
		hw_printf(h, "<div class=\"note\">and %zu more</div>", arr->n - k);
}

static void ev_object(hw *h, const sw_json *o, int depth)
{
	const sw_json *m;
	size_t k = 0;

	hw_raw(h, "<dl class=\"kv\">");
	for (m = o->child; m && k < EV_MEMBERS; m = m->next) {
		/* shown by the finding itself */
		if (depth == 0 && (!strcmp(m->key, "runs_at_start") || !strcmp(m->key, "started_by") ||
				   !strcmp(m->key, "package")))
			continue;
		hw_wrap(h, "<dt>", m->key, 100, "</dt><dd>");
		ev_value(h, m->key, m, depth + 1);
		hw_raw(h, "</dd>");
		k++;
	}
	hw_raw(h, "</dl>");
	if (m)
		hw_printf(h, "<div class=\"note\">and %zu more members</div>", o->n - k);
}

static void ev_value(hw *h, const char *key, const sw_json *v, int depth)
{
	const sw_json *x;
	size_t k = 0;

	switch (v->type) {
	case SW_JSON_NULL:
		hw_raw(h, "\xe2\x80\x94");
		return;
	case SW_JSON_BOOL:
		hw_raw(h, v->b ? "yes" : "no");
		return;
	case SW_JSON_NUM:
		if (!v->is_int)
			hw_printf(h, "%g", v->d);
		else if (key && !strcmp(key, "offset"))
			hw_printf(h, "0x%llx (%lld)", (unsigned long long)v->i, (long long)v->i);
		else
			hw_printf(h, "%lld", (long long)v->i);
		return;
	case SW_JSON_STR:
		hw_wrapv(h, "<code>", v, 1000, "</code>");
		return;
	case SW_JSON_OBJ:
		if (depth > EV_DEPTH)
			hw_printf(h, "<span class=\"note\">{%zu members: see the JSON report}</span>", v->n);
		else
			ev_object(h, v, depth);
		return;
	case SW_JSON_ARR:
		break;
	}
	if (!v->n) {
		hw_raw(h, "none");
		return;
	}
	if (v->child->type == SW_JSON_OBJ && v->child->n && depth <= EV_DEPTH) {
		ev_table(h, v, depth);
		return;
	}
	for (x = v->child; x && k < EV_ITEMS; x = x->next, k++) {
		hw_raw(h, k ? ", " : "");
		if (scalar(x))
			ev_value(h, key, x, depth + 1);
		else
			hw_raw(h, "<span class=\"note\">(nested)</span>");
	}
	if (v->n > k)
		hw_printf(h, " <span class=\"note\">and %zu more</span>", v->n - k);
}

/* ---- findings ---- */

/* Where a finding's file stands: in the final filesystem, or removed by a
 * later layer (named, with its step, from the hidden-payload finding). */
static void status(hw *h, size_t i)
{
	const sw_json *f = h->f[i], *fin = sw_json_get(f, "in_final_fs"), *hp, *ev;
	int d;

	if (!fin || fin->type != SW_JSON_BOOL)
		return;
	hw_raw(h, "<dt>Status</dt><dd>");
	if (fin->b) {
		hw_raw(h, "in the final filesystem</dd>");
		return;
	}
	hp = hidden_for(h, str_of(f, "path"), h->flayer[i]);
	ev = hp ? sw_json_get_obj(hp, "evidence") : NULL;
	if (hw_int(ev, "removed_in_layer", &d)) {
		hw_raw(h, "<strong>removed by ");
		layer_link(h, d);
		hw_wrap(h, "</strong> (<code>", str_of(ev, "removed_by"), 300,
			"</code>): invisible in a running container, still shipped in every pull</dd>");
	} else {
		hw_raw(h, "<strong>not in the final filesystem</strong> (deleted or replaced by a later layer, or never "
			  "placed): still shipped in every pull</dd>");
	}
}

/* Which installed package lists the file (evidence "package"). */
static void provenance(hw *h, const sw_json *ev)
{
	const sw_json *p = ev && ev->type == SW_JSON_OBJ ? sw_json_get_obj(ev, "package") : NULL;

	if (!p)
		return;
	hw_raw(h, "<dt>Package</dt><dd>");
	if (str_of(p, "name")) {
		hw_wrap(h, "listed by the installed package <code>", str_of(p, "name"), 200, "</code> ");
		hw_cstr(h, str_of(p, "version") ? str_of(p, "version") : "", 100, 0);
		if (str_of(p, "architecture")) {
			hw_wrap(h, " (", str_of(p, "architecture"), 40, ")");
		}
	} else {
		hw_raw(h, "<strong>no installed package lists this file</strong>: it was put there by other means");
	}
	hw_wrap(h, " <span class=\"note\">(", str_of(p, "manager"), 20, "'s database)</span></dd>");
}

static void finding_card(hw *h, size_t i)
{
	const sw_json *f = h->f[i], *ev = sw_json_get(f, "evidence"), *rs;
	const char *path = str_of(f, "path");

	hw_printf(h, "<article class=\"finding f%d\" id=\"f-%zu\" data-finding=\"", h->fsev[i] >= 0 ? h->fsev[i] : 0, i);
	hw_cstr(h, str_of(f, "id"), 200, SW_HTML_ATTR);
	hw_raw(h, "\"><h4>");
	hw_badge(h, h->fsev[i]);
	hw_wrap(h, " <span class=\"fid\">", str_of(f, "id"), 200, "</span> <span>");
	hw_cstr(h, str_of(f, "title"), TEXT, 0);
	hw_raw(h, "</span></h4><dl class=\"kv\"><dt>Where</dt><dd>");
	if (path) {
		hw_wrap(h, "<code>", path, TEXT, "</code>");
	} else if (str_of(f, "detector") && !strcmp(str_of(f, "detector"), "sandbox")) {
		hw_raw(h, "the sandbox run");
	} else {
		hw_raw(h, "the image (its config, history or name)");
	}
	if (path && str_of(f, "detector") && !strcmp(str_of(f, "detector"), "sandbox"))
		hw_raw(h, " (at run time)");
	if (h->flayer[i] >= 0) {
		hw_raw(h, " in ");
		layer_link(h, h->flayer[i]);
	}
	other_layer(h, f);
	hw_raw(h, "</dd>");
	if (str_of(f, "platform"))
		hw_wrap(h, "<dt>Platform</dt><dd><code>", str_of(f, "platform"), 200, "</code></dd>");
	if (str_of(f, "created_by")) {
		hw_wrap(h, "<dt>Added by</dt><dd><code>", str_of(f, "created_by"), 600, "</code></dd>");
	}
	status(h, i);
	provenance(h, ev);
	rs = ev && ev->type == SW_JSON_OBJ ? sw_json_get(ev, "runs_at_start") : NULL;
	if (rs && rs->type == SW_JSON_BOOL && rs->b) {
		hw_wrap(h, "<dt>At start</dt><dd><strong>runs when the container starts</strong>, started by <code>",
			str_of(ev, "started_by"), TEXT, "</code></dd>");
	}
	hw_wrap(h, "<dt>Category</dt><dd>", str_of(f, "category"), 100, " \xc2\xb7 detector ");
	hw_cstr(h, str_of(f, "detector"), 100, 0);
	hw_raw(h, "</dd>");
	if (ev && ev->type == SW_JSON_OBJ && ev->n) {
		hw_raw(h, "<dt>Evidence</dt><dd>");
		ev_object(h, ev, 0);
		hw_raw(h, "</dd>");
	}
	hw_raw(h, "</dl></article>\n");
}

static void compact_row(hw *h, size_t i)
{
	const sw_json *f = h->f[i];

	hw_printf(h, "<tr id=\"f-%zu\" data-finding=\"", i);
	hw_cstr(h, str_of(f, "id"), 200, SW_HTML_ATTR);
	hw_wrap(h, "\"><td class=\"fid\">", str_of(f, "id"), 200, "</td><td><code>");
	hw_cstr(h, str_of(f, "path"), 500, 0);
	hw_raw(h, "</code></td><td>");
	if (h->flayer[i] >= 0)
		layer_link(h, h->flayer[i]);
	other_layer(h, f);
	hw_wrap(h, "</td><td>", str_of(f, "title"), 300, "</td></tr>\n");
}

/* One row per distinct id: what was found, how often, where first. */
static void id_table(hw *h)
{
	size_t i, k, rows = 0, *count = calloc(h->nf + 1, sizeof(*count));
	long *first = calloc(h->nf + 1, sizeof(*first));
	size_t nid = 0;

	if (!count || !first) {
		h->b->err = h->b->err ? h->b->err : SW_ENOMEM;
		goto out;
	}
	/* ids in order of first appearance (the report is sorted by severity) */
	for (i = 0; i < h->nf; i++) {
		const char *id = str_of(h->f[i], "id");
		for (k = 0; k < nid; k++)
			if (id && !strcmp(str_of(h->f[first[k]], "id"), id))
				break;
		if (!id)
			continue;
		if (k == nid) {
			if (nid >= MAX_IDS)
				continue;
			first[nid++] = (long)i;
		}
		count[k]++;
	}
	hw_printf(h, "<details%s><summary>%zu distinct finding id%s</summary><table id=\"ids\"><thead><tr><th>Id</th>"
		     "<th>Severity</th><th class=\"num\">Count</th><th>Title (first)</th></tr></thead><tbody>",
		  nid <= 30 ? " open" : "", nid, nid == 1 ? "" : "s");
	for (k = 0; k < nid; k++, rows++) {
		i = (size_t)first[k];
		hw_raw(h, "<tr data-id=\"");
		hw_cstr(h, str_of(h->f[i], "id"), 200, SW_HTML_ATTR);
		hw_printf(h, "\"><td><a class=\"fid\" href=\"#f-%zu\">", i);
		hw_cstr(h, str_of(h->f[i], "id"), 200, 0);
		hw_raw(h, "</a></td><td>");
		hw_badge(h, h->fsev[i]);
		hw_printf(h, "</td><td class=\"num\">%zu</td><td>", count[k]);
		hw_cstr(h, str_of(h->f[i], "title"), 300, 0);
		hw_raw(h, "</td></tr>");
	}
	hw_raw(h, "</tbody></table>");
	if (nid >= MAX_IDS)
		hw_printf(h, "<p class=\"note\">The first %d ids are listed.</p>", MAX_IDS);
	hw_raw(h, "</details>");
out:
	free(count);
	free(first);
}

/* The findings of severity s: the first DETAIL_PER_SEV whole, then rows
 * while the page's budget of rows lasts, then a count. */
static void severity_group(hw *h, int s, size_t *rows)
{
	size_t i, shown = 0, compact = 0, left = 0;

	hw_printf(h, "<section class=\"sev-group\" id=\"sev-%s\"><h3>", hw_sev_name(s));
	hw_badge(h, s);
	hw_printf(h, " %zu %s finding%s</h3>\n", h->sevcount[s], hw_sev_name(s), h->sevcount[s] == 1 ? "" : "s");
	for (i = 0; i < h->nf; i++) {
		if (h->fsev[i] != s || !h->f[i])
			continue;
		if (shown < DETAIL_PER_SEV) {
			finding_card(h, i);
			shown++;
			continue;
		}
		if (*rows >= COMPACT_ROWS) {
			left++;
			continue;
		}
		if (!compact++)
			hw_printf(h, "<details><summary>%zu more %s findings, one line each</summary><table><thead><tr>"
				     "<th>Id</th><th>Path</th><th>Layer</th><th>Title</th></tr></thead><tbody>\n",
				  h->sevcount[s] - shown, hw_sev_name(s));
		compact_row(h, i);
		(*rows)++;
	}
	if (compact)
		hw_raw(h, "</tbody></table></details>");
	if (left)
		hw_printf(h, "<p class=\"note\">and %zu more %s findings not shown here (the page shows %d whole and %d "
			     "rows in all; see the JSON report)</p>", left, hw_sev_name(s), DETAIL_PER_SEV, COMPACT_ROWS);
	hw_raw(h, "</section>\n");
}

static void findings(hw *h)
{
	size_t rows = 0, i, unknown = 0;
	int s;

	hw_printf(h, "<section id=\"findings\"><h2>Findings (%zu)</h2>", h->nf);
	if (!h->nf) {
		hw_raw(h, "<p>No findings.</p></section>\n");
		return;
	}
	id_table(h);
	for (s = SW_HTML_SEVS - 1; s >= 0; s--)
		if (h->sevcount[s])
			severity_group(h, s, &rows);
	for (i = 0; i < h->nf; i++)
		unknown += h->fsev[i] < 0 && h->f[i];
	if (unknown) {
		hw_printf(h, "<section class=\"sev-group\" id=\"sev-unknown\"><h3>%zu finding%s of no known severity</h3>",
			  unknown, unknown == 1 ? "" : "s");
		for (i = 0; i < h->nf; i++)
			if (h->fsev[i] < 0 && h->f[i] && rows++ < COMPACT_ROWS)
				finding_card(h, i);
		hw_raw(h, "</section>\n");
	}
	hw_raw(h, "</section>\n");
}

/* ---- incomplete ---- */

static void incomplete(hw *h)
{
	const sw_json *x;
	size_t k = 0;

	hw_raw(h, "<section id=\"incomplete\"><h2>Not fully analysed</h2>");
	if (!h->incomplete || !h->incomplete->n) {
		hw_raw(h, "<p>Everything was read.</p></section>\n");
		return;
	}
	hw_printf(h, "<p>%zu item%s could not be read whole; each is also an SW-INCOMPLETE finding, so the verdict "
		     "cannot be clean.</p><table><thead><tr><th>Layer</th><th>Path</th><th>Why</th></tr></thead><tbody>",
		  h->incomplete->n, h->incomplete->n == 1 ? "" : "s");
	for (x = h->incomplete->child; x && k < MAX_INCOMPLETE; x = x->next, k++) {
		hw_raw(h, "<tr><td>");
		layer_ref(h, x, "layer", "image");
		hw_wrapv(h, "</td><td><code>", sw_json_get(x, "path"), 500, "</code></td><td>");
		hw_str(h, sw_json_get(x, "reason"), TEXT, 0);
		hw_raw(h, "</td></tr>");
	}
	hw_raw(h, "</tbody></table>");
	if (h->incomplete->n > k)
		hw_printf(h, "<p class=\"note\">and %zu more (see the JSON report)</p>", h->incomplete->n - k);
	hw_raw(h, "</section>\n");
}

static void footer(hw *h)
{
	hw_printf(h, "<footer>Made by stowaway %s from a stowaway.report/v1 document. Long lists on this page are "
		     "cut with what was left out counted; the JSON report (<code>--format json</code>) has everything. "
		     "Text from the image is shown as it is, with controls and direction marks written out "
		     "(<span class=\"esc\">\\u202e</span>).</footer>\n</main>\n</body>\n</html>\n", SW_VERSION);
}

int sw_report__html(const char *json, size_t len, sw_buf *b, sw_error *err)
{
	sw_json_doc *doc = NULL;
	hw h;
	const char *schema;
	int rc;

	memset(&h, 0, sizeof(h));
	h.b = b;
	if ((rc = sw_json_parse(json, len, &doc, err)) < 0) {
		sw_error_prefix(err, "not a JSON report");
		return rc;
	}
	h.root = sw_json_root(doc);
	schema = h.root->type == SW_JSON_OBJ ? sw_json_get_str(h.root, "schema") : NULL;
	if (!schema || strcmp(schema, "stowaway.report/v1") != 0) {
		rc = sw_error_set(err, SW_EFORMAT, "not a stowaway report (schema %s%s%s, want stowaway.report/v1)",
				  schema ? "\"" : "", schema ? schema : "missing", schema ? "\"" : "");
		goto out;
	}
	if ((rc = index_doc(&h)) < 0) {
		sw_error_set(err, rc, "out of memory");
		goto out;
	}
	/* detonate's page: the run is the news, its layers were not read */
	h.run_first = h.dynamic && !layers_scanned(&h);
	page_head(&h);
	nav(&h);
	summary(&h);
	if (h.decision)
		decision(&h);
	if (h.run_first)
		sw_html__dynamic(&h);
	layers(&h);
	if (h.entry)
		entrypoint(&h);
	findings(&h);
	incomplete(&h);
	if (h.dynamic && !h.run_first)
		sw_html__dynamic(&h);
	footer(&h);
	if ((rc = sw_buf_err(b)) < 0)
		sw_error_set(err, rc, rc == SW_ELIMIT ? "the page would be too large" : "out of memory writing the page");
out:
	release(&h);
	sw_json_free(doc);
	return rc;
}
