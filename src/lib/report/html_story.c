/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sandbox run's story on a report page (dynamic.story, built by
 * story.c): the chain from the entrypoint to each process that raised a
 * finding, the network contacts by the host the program asked for with
 * what was said to each, and the noise the timeline leaves out, one line
 * per kind with its count. Everything is read from the JSON document, so
 * a saved report draws the same page; a report without a story (an older
 * one) draws none of it, and the page falls back to its address table.
 */
#include <stdlib.h>
#include <string.h>

#include "html_int.h"
#include "../util/banned.h"

#define MAX_CHAINS 64
#define MAX_CONTACTS 200
#define MAX_SAID 8
#define MAX_NOISE 64            /* kinds of noise (story.c has a dozen) */
#define MAX_RUN 64              /* findings of the run as a whole, named */

static bool num_of(const sw_json *o, const char *k, double *out)
{
	return o && o->type == SW_JSON_OBJ && hw_num(o, k, out);
}

static const char *str_of(const sw_json *o, const char *k)
{
	return o && o->type == SW_JSON_OBJ ? sw_json_get_str(o, k) : NULL;
}

static void chains(hw *h, const sw_json *story)
{
	const sw_json *arr = sw_json_get_arr(story, "chains"), *run = sw_json_get_arr(story, "run_findings"), *c;
	size_t n = 0, k = 0;

	if (!arr || !arr->n)
		return;
	hw_raw(h, "<h3>From the entrypoint to each finding</h3><ol id=\"chains\">");
	for (c = arr->child; c && n < MAX_CHAINS; c = c->next, n++) {
		int pid = 0; /* an integer in int's range, else 0: a saved report is anyone's */
		if (c->type != SW_JSON_OBJ)
			continue;
		hw_int(c, "pid", &pid);
		hw_printf(h, "<li data-pid=\"%d\"><span class=\"note\">process %d:</span> <code>", pid, pid);
		hw_cstr(h, str_of(c, "text") ? str_of(c, "text") : "?", 2000, 0);
		hw_raw(h, "</code></li>");
	}
	hw_raw(h, "</ol>");
	if (run && run->n) {
		hw_raw(h, "<p class=\"note\">Of the run as a whole, on no one process: ");
		for (c = run->child; c && k < MAX_RUN; c = c->next, k++)
			if (c->type == SW_JSON_STR)
				hw_wrapv(h, c == run->child ? "<code>" : ", <code>", c, 80, "</code>");
		if (run->n > k)
			hw_printf(h, " and %zu more (see the JSON report)", run->n - k);
		hw_raw(h, "</p>");
	}
}

static void contact_row(hw *h, const sw_json *c)
{
	const sw_json *said = sw_json_get_arr(c, "said"), *s;
	double v = 0, w = 0;
	int port = 0; /* as pid above: 1e30 made a double-to-integer overflow */
	size_t k = 0;

	hw_int(c, "port", &port);
	hw_raw(h, "<tr><td><code>");
	hw_cstr(h, str_of(c, "host") ? str_of(c, "host") : "?", 300, 0);
	hw_printf(h, ":%d</code></td><td><code>", port);
	hw_cstr(h, str_of(c, "proto") ? str_of(c, "proto") : "tcp", 8, 0);
	hw_raw(h, " ");
	hw_cstr(h, str_of(c, "address") ? str_of(c, "address") : "?", 300, 0);
	hw_printf(h, ":%d</code></td><td class=\"num\">", port);
	num_of(c, "connects", &v);
	num_of(c, "sessions", &w);
	hw_printf(h, "%.0f / %.0f</td><td class=\"num\">", v, w);
	v = w = 0;
	num_of(c, "bytes_out", &v);
	num_of(c, "bytes_in", &w);
	hw_printf(h, "%.0f / %.0f</td><td class=\"num\">", v, w);
	v = w = 0;
	num_of(c, "first", &v);
	num_of(c, "last", &w);
	hw_printf(h, "%.3f\xe2\x80\x93%.3f</td><td>", v, w);
	for (s = said ? said->child : NULL; s && k < MAX_SAID; s = s->next, k++) {
		double n = 1;
		num_of(s, "count", &n);
		hw_wrap(h, "<div><code>", str_of(s, "text") ? str_of(s, "text") : "", 400, "</code>");
		if (n > 1)
			hw_printf(h, " \xc3\x97%.0f", n);
		hw_raw(h, "</div>");
	}
	hw_raw(h, "</td></tr>");
}

bool sw_html__story_contacts(hw *h, const sw_json *story)
{
	const sw_json *arr = sw_json_get_arr(story, "contacts"), *c;
	double more = 0;
	size_t n = 0;

	if (!arr)
		return false;
	hw_raw(h, "<h3>Network contacts</h3>");
	if (!arr->n) {
		hw_raw(h, "<p class=\"note\">No connection was made.</p>");
		return true;
	}
	hw_raw(h, "<table id=\"contacts\"><thead><tr><th>Host (as asked for) and port</th><th>Address</th>"
		  "<th class=\"num\">Connections / sessions</th><th class=\"num\">Bytes out / in</th>"
		  "<th class=\"num\">First\xe2\x80\x93last (s)</th><th>What was said</th></tr></thead><tbody>");
	for (c = arr->child; c && n < MAX_CONTACTS; c = c->next, n++)
		if (c->type == SW_JSON_OBJ)
			contact_row(h, c);
	hw_raw(h, "</tbody></table><p class=\"note\">The host is the name the program asked for (its lookup, TLS "
		  "server name or HTTP Host); where an event did not say it, the one name its address was seen with, "
		  "else the address.</p>");
	if (num_of(story, "contacts_more", &more) && more > 0)
		hw_printf(h, "<p class=\"note\">and %.0f more destinations (see the JSON report)</p>", more);
	if (arr->n > n)
		hw_printf(h, "<p class=\"note\">The first %zu contacts are shown.</p>", n);
	return true;
}

static void noise(hw *h, const sw_json *story)
{
	const sw_json *arr = sw_json_get_arr(story, "noise"), *c;
	size_t k = 0;

	if (!arr || !arr->n)
		return;
	hw_raw(h, "<h3>Noise</h3><table id=\"noise\"><thead><tr><th>Kind</th><th class=\"num\">Events</th>"
		  "<th>The first</th></tr></thead><tbody>");
	for (c = arr->child; c && k < MAX_NOISE; c = c->next, k++) {
		double n = 0;
		if (c->type != SW_JSON_OBJ)
			continue;
		num_of(c, "count", &n);
		hw_wrap(h, "<tr><td>", str_of(c, "what") ? str_of(c, "what") : "?", 200, "");
		hw_wrap(h, " <span class=\"note\">(", str_of(c, "class") ? str_of(c, "class") : "?", 40, ")</span>");
		hw_printf(h, "</td><td class=\"num\">%.0f</td><td><code>", n);
		hw_cstr(h, str_of(c, "first") ? str_of(c, "first") : "", 300, 0);
		hw_raw(h, "</code></td></tr>");
	}
	hw_raw(h, "</tbody></table><p class=\"note\">File events every program causes, collapsed here and left out of "
		  "the timeline below; none of them raised a finding.</p>");
}

void sw_html__story(hw *h, const sw_json *story)
{
	if (!story)
		return;
	chains(h, story);
	noise(h, story);
}
