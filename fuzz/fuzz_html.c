/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the report page (report/html.c and its parts) with whatever JSON a
 * saved report may hold: no crash or hang, and a page that is made holds
 * no markup the document brought in (no element but ours, no script, no
 * event handler) and nothing misleading (controls, direction overrides,
 * invalid UTF-8). Any other outcome is a format error. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../src/lib/report/report_int.h"
#include "../src/lib/util/util.h"
#include "inert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The elements a page is made of; anything else came from the document. */
static const char *const ours[] = {
	"!DOCTYPE", "html", "head", "meta", "title", "style", "body", "nav", "main", "header", "footer", "section",
	"div", "h1", "h2", "h3", "h4", "p", "a", "span", "strong", "code", "pre", "br", "dl", "dt", "dd", "ul", "ol",
	"li", "table", "thead", "tbody", "tr", "th", "td", "details", "summary", "article", "figure", "figcaption",
	"svg", "defs", "symbol", "polygon", "circle", "path", "marker", "rect", "use", "text", "tspan", "g", NULL,
};

static void only_our_markup(const char *p, size_t n)
{
	size_t i, k, len;

	for (i = 0; i < n; i++) {
		if (p[i] != '<')
			continue;
		k = i + 1 + (p[i + 1] == '/');
		for (len = 0; k + len < n && p[k + len] != ' ' && p[k + len] != '>' && p[k + len] != '/'; len++)
			;
		{
			const char *const *t;
			for (t = ours; *t && (strlen(*t) != len || strncmp(*t, p + k, len) != 0); t++)
				;
			if (!*t)
				abort();
		}
	}
	for (i = 0; i + 3 < n; i++) /* an event handler: " on...=" */
		if (p[i] == ' ' && !strncasecmp(p + i + 1, "on", 2) && p[i + 3] != ' ') {
			for (k = i + 3; k < n && p[k] != ' ' && p[k] != '=' && p[k] != '>' && p[k] != '<'; k++)
				;
			if (k < n && p[k] == '=' && k + 1 < n && p[k + 1] == '"')
				abort();
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sw_buf b = SW_BUF_INIT(64u << 20);
	int rc = sw_report__html((const char *)data, size, &b, NULL);

	if (rc == 0) {
		only_our_markup(b.data, b.len);
		sw_fuzz_inert(b.data, b.len, true);
	} else if (rc != SW_EFORMAT && rc != SW_ENOMEM && rc != SW_ELIMIT) {
		abort();
	}
	sw_buf_release(&b);
	return 0;
}
