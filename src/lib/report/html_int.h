/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTML page of a report (html.c: the page and its sections; html_svg.c:
 * the drawings; html_dyn.c: the sandbox run; html_esc.c: text and the
 * style sheet). Everything is read from the report's JSON document, so a
 * saved report renders as the scan that made it; a value of the wrong type
 * (a hand-edited file) is shown as absent, never trusted. Internal.
 */
#ifndef SW_REPORT_HTML_INT_H
#define SW_REPORT_HTML_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/util.h"

/* ---- text (html_esc.c) ---- */
enum {
	SW_HTML_LINES = 1 << 0, /* newlines and tabs kept (build steps, program output) */
	SW_HTML_ATTR = 1 << 1,  /* inside an attribute value: escapes as plain text */
	SW_HTML_SVG = 1 << 2,   /* inside SVG text: escapes in <tspan> */
};
/*
 * Append n bytes of s as text of a page: & < > " ' as references, and every
 * control, bidirectional mark or override, line separator and byte outside
 * valid UTF-8 as the terminal escaper writes it (sw_term_unit: \x1b,
 * \u202e), shown in a span of class "esc" (none in attributes). A backslash
 * stays one. At most max bytes of s are taken (whole characters); returns
 * how many were, n when all (the caller marks the cut).
 */
size_t sw_html_text(sw_buf *b, const char *s, size_t n, size_t max, unsigned flags);
/* The style sheet (no url(), no @import: nothing is fetched). */
extern const char sw_html_css[];

/* ---- the page being written ---- */
typedef struct sw_json sw_json;

#define SW_HTML_SEVS 5       /* info .. critical, as sw_severity */

typedef struct hw {
	sw_buf *b;
	const sw_json *root, *image, *layers, *findings, *incomplete, *dynamic, *entry, *decision;
	const sw_json **lay;     /* layers by index (NULL where a member is not an object) */
	size_t nlay;
	const sw_json **f;       /* findings in the document's order */
	size_t nf;
	int *fsev;               /* each finding's severity, -1 when unknown */
	int *flayer;             /* its layer index, -1 when image-level or out of range */
	int *lworst;             /* per layer: worst severity of its findings, -1: none */
	size_t *lcount;          /* per layer: how many findings */
	size_t sevcount[SW_HTML_SEVS];
	bool run_first;          /* a sandbox run with no static scan of the layers
				  * (detonate): the run before the layers */
	size_t *hidden;          /* the SW-HIDDEN-PAYLOAD findings, indexes into f (at most
				  * SW_HTML_MAX_HIDDEN) */
	size_t nhidden;
	const char *own_platform; /* the platform whose layers image.layers are, when the
				   * report spans an index's platforms (else NULL) */
} hw;

#define SW_HTML_MAX_HIDDEN 1000

/* Small writers every section uses. */
void hw_raw(hw *h, const char *s);
void hw_printf(hw *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string value as text (max bytes, then an ellipsis); "—" when v is
 * not a string. flags as sw_html_text. */
void hw_str(hw *h, const sw_json *v, size_t max, unsigned flags);
void hw_cstr(hw *h, const char *s, size_t max, unsigned flags);
void hw_str_n(hw *h, const char *s, size_t n, size_t max, unsigned flags);
/* open, the text (as hw_cstr, or hw_str for a JSON value), close: our
 * markup around text from the report. */
void hw_wrap(hw *h, const char *open, const char *s, size_t max, const char *close);
void hw_wrapv(hw *h, const char *open, const sw_json *v, size_t max, const char *close);
/* Human sizes: 1.5 MiB. */
void hw_size(hw *h, int64_t bytes);
/* A severity badge (shape, colour and word). */
void hw_badge(hw *h, int sev);
/* The name of severity s, "unknown" out of range. */
const char *hw_sev_name(int s);
/* Parse a severity name (-1 when unknown). */
int hw_sev_parse(const char *s);
/* A number member as a double (false when absent or not a number). */
bool hw_num(const sw_json *obj, const char *key, double *out);
/* An integer member (false when absent, not an integer or out of int range). */
bool hw_int(const sw_json *obj, const char *key, int *out);

/* ---- drawings (html_svg.c) ---- */
/* The severity shapes as symbols (#sym-0 .. #sym-4, #sym-ok), once per page. */
void sw_html__symbols(hw *h);
/* The layer map: a segment per layer coloured by its worst finding, arcs
 * from where a flagged file was added to the layer that removed it, dots
 * under the layers that hold the entrypoint chain. */
void sw_html__layer_map(hw *h);

/* A tree drawn as indented boxes joined by elbows (the entrypoint chain,
 * the sandbox's processes). */
typedef struct sw_html_tree {
	size_t n;
	const int *parent;       /* index of the parent node; -1 (or anything not a
				  * node): a child of the root */
	const int *sev;          /* worst severity of its findings, -1: none */
	const bool *ghost;       /* drawn dashed (a removed file, a process gone) */
	/* write node i's text line (0: its name, 1: what it is), escaped with
	 * flags (SW_HTML_SVG in the box, SW_HTML_ATTR in its tooltip), at most
	 * max bytes of the source text; i == SIZE_MAX: the root */
	void (*line)(hw *h, void *ctx, size_t i, int which, size_t max, unsigned flags);
	void *ctx;
	const char *label;       /* the drawing's accessible name */
	const char *caption;     /* what its shapes mean (our text, not escaped) */
} sw_html_tree;
void sw_html__tree(hw *h, const sw_html_tree *t);

/* ---- the sandbox run (html_dyn.c) ---- */
void sw_html__dynamic(hw *h);

/* The sandbox run's story (html_story.c), from dynamic.story (NULL: none):
 * the chains to each finding and the collapsed noise; the contacts by
 * host and port, false when the story has none to draw (the caller draws
 * its own table). */
void sw_html__story(hw *h, const sw_json *story);
bool sw_html__story_contacts(hw *h, const sw_json *story);

#endif
