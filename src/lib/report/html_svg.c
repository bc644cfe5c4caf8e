/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The drawings of a report page, as inline SVG written here: no chart
 * library, nothing fetched, and a layout that depends only on counts, so
 * it holds for one layer or a thousand and one finding or ten thousand.
 *
 * The layer map is one strip of equal segments (an image of 200 layers
 * still fits the width; the timeline below has the detail), coloured by
 * each layer's worst finding, with an arc from the layer that added a
 * flagged file to the one that removed it: the whiteout trick drawn.
 * Trees (the entrypoint chain, the sandbox's processes) are indented
 * boxes, one row each, joined by elbows: a row per node never overlaps,
 * whatever the fan-out, and long names are cut with the whole name in the
 * node's tooltip and in the table beside the drawing.
 */
#include <stdlib.h>
#include <string.h>

#include "html_int.h"
#include "../util/banned.h"

#define MAP_W 1000
#define MAP_ARC 46       /* arcs above the strip */
#define MAP_STRIP 26
#define TREE_W 1000
#define TREE_ROW 50
#define TREE_BOX 42
#define TREE_INDENT 26
#define TREE_MAX_DEPTH 14 /* deeper nodes are drawn at this indent */

void sw_html__symbols(hw *h)
{
	hw_raw(h, "<svg width=\"0\" height=\"0\" style=\"position:absolute\" aria-hidden=\"true\"><defs>"
		  "<symbol id=\"sym-4\" viewBox=\"0 0 20 20\"><rect x=\"1.5\" y=\"1.5\" width=\"17\" height=\"17\" rx=\"2\"/>"
		  "</symbol>"
		  /* the banners': a stop sign, a warning sign */
		  "<symbol id=\"sym-stop\" viewBox=\"0 0 20 20\"><polygon points=\"6,1 14,1 19,6 19,14 14,19 6,19 1,14 1,6\"/>"
		  "<path d=\"M6.5 6.5l7 7M13.5 6.5l-7 7\" stroke=\"#5c0a3c\" stroke-width=\"2.4\" fill=\"none\"/></symbol>"
		  "<symbol id=\"sym-warn\" viewBox=\"0 0 20 20\"><polygon points=\"10,1 19.5,18.5 0.5,18.5\"/>"
		  "<path d=\"M10 7v5.5M10 14.5v2\" stroke=\"#e0a030\" stroke-width=\"2.2\" fill=\"none\"/></symbol>"
		  "<symbol id=\"sym-3\" viewBox=\"0 0 20 20\"><polygon points=\"10,1 19.5,18.5 0.5,18.5\"/></symbol>"
		  "<symbol id=\"sym-2\" viewBox=\"0 0 20 20\"><polygon points=\"10,0.5 19.5,10 10,19.5 0.5,10\"/></symbol>"
		  "<symbol id=\"sym-1\" viewBox=\"0 0 20 20\"><circle cx=\"10\" cy=\"10\" r=\"8\"/></symbol>"
		  "<symbol id=\"sym-0\" viewBox=\"0 0 20 20\"><circle cx=\"10\" cy=\"10\" r=\"6.5\" fill=\"none\" "
		  "stroke-width=\"3.5\"/></symbol>"
		  "<symbol id=\"sym-n\" viewBox=\"0 0 20 20\"><circle cx=\"10\" cy=\"10\" r=\"5\" fill=\"#fff\" "
		  "stroke=\"#8c96a0\" stroke-width=\"2.5\"/></symbol>"
		  "<symbol id=\"sym-ok\" viewBox=\"0 0 20 20\"><circle cx=\"10\" cy=\"10\" r=\"9\"/>"
		  "<path d=\"M5 10.5l3.2 3.2L15 6.8\" fill=\"none\" stroke=\"#1f5f99\" stroke-width=\"2.6\"/></symbol>"
		  "<marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" "
		  "orient=\"auto-start-reverse\"><path d=\"M0 0L10 5L0 10z\" fill=\"#6e7781\"/></marker>"
		  "<marker id=\"arrow-arc\" viewBox=\"0 0 10 10\" refX=\"8\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" "
		  "orient=\"auto-start-reverse\"><path d=\"M0 0L10 5L0 10z\" fill=\"#b8321a\"/></marker>"
		  "</defs></svg>\n");
}

static const char *sev_class(int s)
{
	static const char *const c[] = { "s0", "s1", "s2", "s3", "s4" };

	return s >= 0 && s < SW_HTML_SEVS ? c[s] : "sn";
}

/* ---- the layer map ---- */

/* The layers holding a file of the entrypoint chain (mark[i] true). */
static void chain_layers(const hw *h, bool *mark)
{
	const sw_json *chain = h->entry ? sw_json_get_arr(h->entry, "chain") : NULL, *c;
	int l;

	for (c = chain ? chain->child : NULL; c; c = c->next)
		if (hw_int(c, "layer", &l) && l >= 0 && (size_t)l < h->nlay)
			mark[l] = true;
}

static double seg_mid(const hw *h, size_t i)
{
	return ((double)i + 0.5) * MAP_W / (double)h->nlay;
}

/* An arc per (added, removed) pair of layers among the hidden payloads. */
static void map_arcs(hw *h)
{
	size_t i, k;

	for (i = 0; i < h->nhidden; i++) {
		const sw_json *ev = sw_json_get_obj(h->f[h->hidden[i]], "evidence");
		int a, d, a2, d2, count = 1;
		double xa, xd, top;
		bool seen = false;
		if (!hw_int(ev, "added_in_layer", &a) || !hw_int(ev, "removed_in_layer", &d) || a < 0 || d <= a ||
		    (size_t)d >= h->nlay)
			continue;
		for (k = 0; k < i && !seen; k++) {
			const sw_json *e2 = sw_json_get_obj(h->f[h->hidden[k]], "evidence");
			seen = hw_int(e2, "added_in_layer", &a2) && hw_int(e2, "removed_in_layer", &d2) && a2 == a && d2 == d;
		}
		if (seen)
			continue;
		for (k = i + 1; k < h->nhidden; k++) {
			const sw_json *e2 = sw_json_get_obj(h->f[h->hidden[k]], "evidence");
			count += hw_int(e2, "added_in_layer", &a2) && hw_int(e2, "removed_in_layer", &d2) && a2 == a &&
				 d2 == d;
		}
		xa = seg_mid(h, (size_t)a);
		xd = seg_mid(h, (size_t)d);
		top = MAP_ARC - 14 - (xd - xa > 208 ? 26 : (xd - xa) / 8);
		hw_printf(h, "<path class=\"arc\" d=\"M%.1f %d C%.1f %.1f %.1f %.1f %.1f %d\" marker-end=\"url(#arrow-arc)\">"
			     "<title>%d flagged file%s added in layer %d, removed by layer %d: still shipped</title></path>",
			  xa, MAP_ARC, xa, top, xd, top, xd, MAP_ARC - 2, count, count == 1 ? "" : "s", a, d);
	}
}

void sw_html__layer_map(hw *h)
{
	size_t i, every;
	double w;
	bool *mark;
	int top;

	if (!h->nlay)
		return;
	if (!(mark = calloc(h->nlay, sizeof(*mark)))) {
		h->b->err = h->b->err ? h->b->err : SW_ENOMEM;
		return;
	}
	chain_layers(h, mark);
	w = (double)MAP_W / (double)h->nlay;
	every = h->nlay <= 40 ? 1 : h->nlay <= 100 ? 5 : 10;
	/* the arcs' room is above the strip: none when nothing is hidden */
	top = h->nhidden ? 0 : MAP_ARC - 6;
	hw_printf(h, "<figure class=\"layermap\"><svg viewBox=\"-12 %d %d %d\" role=\"img\" aria-label=\"Layer map: %zu "
		     "layers, coloured by their worst finding\">",
		  top, MAP_W + 24, MAP_ARC + MAP_STRIP + 30 - top, h->nlay);
	map_arcs(h);
	for (i = 0; i < h->nlay; i++) {
		double x = (double)i * w, gap = w > 8 ? 1.5 : w > 3 ? 0.5 : 0;
		int s = h->lworst[i];
		hw_printf(h, "<a href=\"#layer-%zu\"><rect class=\"%s\" x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
			     "rx=\"2\"/>",
			  i, sev_class(s), x + gap, MAP_ARC, w - 2 * gap > 0.5 ? w - 2 * gap : 0.5, MAP_STRIP);
		if (s >= 0 && w >= 16)
			hw_printf(h, "<use href=\"#sym-%d\" x=\"%.2f\" y=\"%d\" width=\"14\" height=\"14\" "
				     "style=\"fill:#fff;stroke:#fff\"/>",
				  s, x + w / 2 - 7, MAP_ARC + (MAP_STRIP - 14) / 2);
		hw_printf(h, "<title>Layer %zu: %zu finding%s", i, h->lcount[i], h->lcount[i] == 1 ? "" : "s");
		if (s >= 0)
			hw_printf(h, " (worst: %s)", hw_sev_name(s));
		hw_raw(h, " \xe2\x80\x94 ");
		hw_str(h, h->lay[i] ? sw_json_get(h->lay[i], "created_by") : NULL, 200, SW_HTML_ATTR);
		hw_raw(h, "</title></a>");
		if (mark[i])
			hw_printf(h, "<circle cx=\"%.2f\" cy=\"%d\" r=\"3.5\" fill=\"#1b1f24\"><title>holds a file of the "
				     "entrypoint chain</title></circle>",
				  x + w / 2, MAP_ARC + MAP_STRIP + 7);
		if (i % every == 0 || i + 1 == h->nlay)
			hw_printf(h, "<text class=\"lbl\" x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">%zu</text>", x + w / 2,
				  MAP_ARC + MAP_STRIP + 24, i);
	}
	hw_raw(h, "</svg><figcaption>Each segment is a layer, bottom of the image on the left, coloured by its "
		  "worst finding (grey: none); a dashed arc runs from a layer that added a flagged file to the later "
		  "layer that removed it, which hides it from a running container but not from a pull; a dot marks a "
		  "layer holding a file the image runs at start.</figcaption></figure>\n");
	free(mark);
}

/* ---- trees ---- */

typedef struct tlay {
	size_t *order;           /* nodes in drawing order (preorder) */
	int *depth;
	size_t *row;             /* each node's row (the root is row 0) */
	size_t n;
} tlay;

static bool is_node(const sw_html_tree *t, int p)
{
	return p >= 0 && (size_t)p < t->n;
}

/* Preorder from the root's children, each node once: a parent link that
 * loops (or points past the nodes) makes a node a child of the root. */
static int tree_layout(const sw_html_tree *t, tlay *L)
{
	size_t *stack = NULL, sp = 0, i, k;
	bool *seen = NULL;
	int rc = SW_ENOMEM;

	L->order = calloc(t->n + 1, sizeof(*L->order));
	L->depth = calloc(t->n + 1, sizeof(*L->depth));
	L->row = calloc(t->n + 1, sizeof(*L->row));
	stack = calloc(t->n + 1, sizeof(*stack));
	seen = calloc(t->n + 1, sizeof(*seen));
	if (!L->order || !L->depth || !L->row || !stack || !seen)
		goto out;
	L->n = 0;
	/* roots: no parent, or a parent chain that never reaches a root */
	for (i = t->n; i-- > 0;) {
		size_t hops = 0;
		int p = t->parent[i];
		while (is_node(t, p) && hops++ <= t->n)
			p = t->parent[p];
		if (!is_node(t, t->parent[i]) || hops > t->n)
			stack[sp++] = i;
	}
	while (sp) {
		size_t x = stack[--sp];
		if (seen[x])
			continue;
		seen[x] = true;
		L->order[L->n] = x;
		L->row[x] = L->n + 1;
		L->depth[x] = is_node(t, t->parent[x]) && seen[t->parent[x]] && L->row[t->parent[x]] ?
				      L->depth[t->parent[x]] + 1 : 1;
		L->n++;
		for (k = t->n; k-- > 0;) /* children, first ones on top */
			if (t->parent[k] == (int)x && !seen[k])
				stack[sp++] = k;
	}
	rc = 0;
out:
	free(stack);
	free(seen);
	return rc;
}

static int box_x(int depth)
{
	return 8 + (depth < TREE_MAX_DEPTH ? depth : TREE_MAX_DEPTH) * TREE_INDENT;
}

static void tree_node(hw *h, const sw_html_tree *t, size_t i, size_t row, int depth)
{
	int x = box_x(depth), y = (int)row * TREE_ROW + 4, w = TREE_W - x - 8;
	int s = i == SIZE_MAX ? -1 : t->sev[i];
	bool ghost = i != SIZE_MAX && t->ghost && t->ghost[i];
	size_t c1 = (size_t)(w - 44) / 8, c2 = (size_t)(w - 44) / 7;

	hw_printf(h, "<g><rect class=\"box %s%s\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"6\"/>",
		  sev_class(s), ghost ? " ghost" : "", x, y, w, TREE_BOX);
	if (s >= 0)
		hw_printf(h, "<use href=\"#sym-%d\" class=\"%s\" x=\"%d\" y=\"%d\" width=\"18\" height=\"18\"/>", s,
			  sev_class(s), x + 9, y + 12);
	else
		hw_printf(h, "<use href=\"#sym-n\" x=\"%d\" y=\"%d\" width=\"18\" height=\"18\"/>", x + 9, y + 12);
	hw_printf(h, "<text class=\"t1\" x=\"%d\" y=\"%d\">", x + 36, y + 18);
	t->line(h, t->ctx, i, 0, c1, SW_HTML_SVG);
	hw_printf(h, "</text><text class=\"t2\" x=\"%d\" y=\"%d\">", x + 36, y + 35);
	t->line(h, t->ctx, i, 1, c2, SW_HTML_SVG);
	hw_raw(h, "</text><title>");
	t->line(h, t->ctx, i, 0, 4096, SW_HTML_ATTR);
	hw_raw(h, "\n");
	t->line(h, t->ctx, i, 1, 4096, SW_HTML_ATTR);
	hw_raw(h, "</title></g>");
}

void sw_html__tree(hw *h, const sw_html_tree *t)
{
	tlay L = { 0 };
	size_t k;

	if (tree_layout(t, &L) < 0) {
		h->b->err = h->b->err ? h->b->err : SW_ENOMEM;
		goto out;
	}
	hw_printf(h, "<figure class=\"tree\"><svg viewBox=\"0 0 %d %zu\" role=\"img\" aria-label=\"%s\">", TREE_W,
		  (L.n + 1) * TREE_ROW + 8, t->label);
	/* edges first, under the boxes: down from the parent, across to the child */
	for (k = 0; k < L.n; k++) {
		size_t x = L.order[k];
		int p = t->parent[x], d = L.depth[x];
		size_t prow = is_node(t, p) && L.row[p] && L.row[p] < L.row[x] ? L.row[p] : 0;
		int pd = prow ? L.depth[p] : 0, px = box_x(pd) + 18, py = (int)prow * TREE_ROW + 4 + TREE_BOX;
		int cy = (int)L.row[x] * TREE_ROW + 4 + TREE_BOX / 2;
		hw_printf(h, "<path class=\"edge\" d=\"M%d %d V%d H%d\" marker-end=\"url(#arrow)\"/>", px, py, cy,
			  box_x(d) - 1);
	}
	tree_node(h, t, SIZE_MAX, 0, 0);
	for (k = 0; k < L.n; k++)
		tree_node(h, t, L.order[k], L.row[L.order[k]], L.depth[L.order[k]]);
	hw_raw(h, "</svg>");
	if (t->caption)
		hw_printf(h, "<figcaption>%s</figcaption>", t->caption);
	hw_raw(h, "</figure>\n");
out:
	free(L.order);
	free(L.depth);
	free(L.row);
}
