/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Text on a report page, and the page's style sheet.
 *
 * Everything a page shows from an image (paths, build steps, rule strings,
 * the command a sandbox ran) is attacker-controlled. Markup characters
 * become references, so no name can open a tag, end an attribute or start
 * a script; and what a terminal would obey is shown as the terminal
 * escaper shows it (util/term.c decides, here as for the table): a
 * right-to-left override would otherwise reorder "gpj.exe" in the reader's
 * eyes, an invalid byte would be replaced silently. Those escapes are set
 * apart (class "esc") so that a reader sees they are not the name's own
 * backslashes.
 */
#include <string.h>

#include "html_int.h"
#include "../util/banned.h"

static const char *markup(unsigned char c)
{
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	default: return NULL;
	}
}

size_t sw_html_text(sw_buf *b, const char *s, size_t n, size_t max, unsigned flags)
{
	char u[SW_TERM_UNIT_MAX];
	const char *tag = flags & SW_HTML_SVG ? "tspan" : "span";
	size_t i = 0, k;

	while (i < n && i < max) {
		unsigned char c = (unsigned char)s[i];
		const char *m = markup(c);
		if (m) {
			sw_buf_append(b, m, strlen(m));
			i++;
			continue;
		}
		if (c == '\\' || ((c == '\n' || c == '\t') && (flags & SW_HTML_LINES))) {
			sw_buf_putc(b, (char)c);
			i++;
			continue;
		}
		k = sw_term_unit(s + i, n - i, u);
		if (strlen(u) == k && memcmp(u, s + i, k) == 0)
			sw_buf_append(b, u, k); /* the character itself */
		else if (flags & SW_HTML_ATTR)
			sw_buf_append(b, u, strlen(u)); /* ASCII: \x1b, \u202e */
		else
			sw_buf_printf(b, "<%s class=\"esc\">%s</%s>", tag, u, tag);
		i += k;
	}
	return i;
}

/*
 * Colours: a scale that holds for colour-blind readers and in grey print,
 * because severities differ in lightness (critical darkest, info lightest
 * but medium) and each has its own shape and always its word; no meaning
 * rests on red against green. Print keeps the colours, opens collapsed
 * lists and drops the navigation.
 */
const char sw_html_css[] =
	":root{--c4:#5c0a3c;--c3:#b8321a;--c2:#e0a030;--c1:#3a78b5;--c0:#8c96a0;--ok:#1f5f99;"
	"--ink:#1b1f24;--mute:#59636e;--line:#d0d7de;--bg:#f6f8fa;--card:#fff;"
	"--mono:ui-monospace,'DejaVu Sans Mono','Liberation Mono',Menlo,monospace}\n"
	"*{box-sizing:border-box}\n"
	"html{-webkit-text-size-adjust:100%}\n"
	"body{margin:0;background:var(--bg);color:var(--ink);"
	"font:15px/1.45 system-ui,-apple-system,'Segoe UI','DejaVu Sans',Roboto,sans-serif}\n"
	"main{max-width:1120px;margin:0 auto;padding:0 20px 40px}\n"
	"code,.mono{font-family:var(--mono);font-size:.92em;overflow-wrap:anywhere}\n"
	"pre{font-family:var(--mono);font-size:.85em;white-space:pre-wrap;overflow-wrap:anywhere;margin:.3em 0;"
	"background:var(--bg);padding:6px 8px;border-radius:4px}\n"
	"h1{font-size:1.45em;margin:.2em 0;overflow-wrap:anywhere}\n"
	"h2{font-size:1.2em;margin:1.8em 0 .6em;padding-bottom:.2em;border-bottom:1px solid var(--line)}\n"
	"h3{font-size:1.02em;margin:.2em 0}\n"
	"a{color:#0b5cad}\n"
	".esc{font-family:var(--mono);font-size:.85em;color:#fff;background:#6b2c91;border-radius:3px;padding:0 2px;"
	"margin:0 1px}\n"
	"tspan.esc{fill:#6b2c91;font-weight:bold}\n"
	"nav.toc{position:sticky;top:0;z-index:2;background:var(--ink);padding:6px 20px}\n"
	"nav.toc a{color:#fff;margin-right:16px;text-decoration:none;font-size:.9em}\n"
	"nav.toc a:hover{text-decoration:underline}\n"
	"header.top{background:var(--card);border:1px solid var(--line);border-radius:8px;margin:18px 0;"
	"overflow:hidden}\n"
	".banner{display:flex;align-items:center;gap:14px;padding:14px 18px;color:#fff}\n"
	".banner .word{font-size:1.6em;font-weight:700;letter-spacing:.06em;text-transform:uppercase}\n"
	".banner .why{opacity:.95}\n"
	".banner svg{width:40px;height:40px;flex:none}\n"
	".v-malicious .banner{background:var(--c4)}\n"
	".v-suspicious .banner{background:var(--c2);color:#1b1f24}\n"
	".v-clean .banner{background:var(--ok)}\n"
	".v-unknown .banner{background:var(--mute)}\n"
	".headbody{padding:10px 18px 14px}\n"
	"dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:3px 16px;margin:.4em 0}\n"
	"dl.facts dt{color:var(--mute)}\n"
	"dl.facts dd{margin:0;overflow-wrap:anywhere}\n"
	".chips{display:flex;flex-wrap:wrap;gap:6px;margin:.6em 0 0}\n"
	".badge{display:inline-flex;align-items:center;gap:4px;border-radius:10px;padding:0 8px 0 5px;"
	"font-size:.82em;font-weight:600;white-space:nowrap;color:#fff;vertical-align:1px}\n"
	".badge svg{width:13px;height:13px;fill:currentColor}\n"
	".b4{background:var(--c4)}.b3{background:var(--c3)}.b2{background:var(--c2);color:#1b1f24}"
	".b1{background:var(--c1)}.b0{background:var(--c0);color:#1b1f24}.bn{background:var(--line);color:var(--ink)}\n"
	".s4{stroke:var(--c4);fill:var(--c4)}.s3{stroke:var(--c3);fill:var(--c3)}.s2{stroke:var(--c2);fill:var(--c2)}"
	".s1{stroke:var(--c1);fill:var(--c1)}.s0{stroke:var(--c0);fill:var(--c0)}.sn{stroke:#aab4be;fill:#e3e8ed}\n"
	".card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px}\n"
	"ol.timeline{list-style:none;margin:0;padding:0 0 0 34px;position:relative}\n"
	"ol.timeline::before{content:'';position:absolute;left:14px;top:6px;bottom:6px;width:3px;"
	"background:var(--line)}\n"
	"li.layer{position:relative;margin:0 0 10px}\n"
	"li.layer>.mark{position:absolute;left:-29px;top:10px;width:22px;height:22px}\n"
	"li.layer .step{font-family:var(--mono);font-size:.88em;white-space:pre-wrap;overflow-wrap:anywhere;"
	"background:var(--bg);border-radius:4px;padding:3px 6px;margin:4px 0;display:block}\n"
	"li.layer:target>.card,article.finding:target{outline:3px solid #0b5cad}\n"
	".facts-line{color:var(--mute);font-size:.88em}\n"
	"ul.plain{list-style:none;padding:0;margin:.3em 0}\n"
	"ul.plain li{margin:2px 0}\n"
	".gone{border-left:4px solid var(--c3);background:#fbf1ee;padding:4px 8px;margin:6px 0;border-radius:0 4px 4px 0}\n"
	".hides{border-left:4px dashed var(--c3);padding:4px 8px;margin:6px 0}\n"
	"li.run>details>summary{cursor:pointer;color:var(--mute);padding:4px 0}\n"
	"li.run ol{list-style:none;padding:0}\n"
	"li.run li.layer>.mark{left:-27px;width:18px;height:18px}\n"
	"figure{margin:.6em 0}\n"
	"figure svg{width:100%;height:auto;display:block}\n"
	"figcaption,.note{color:var(--mute);font-size:.85em}\n"
	"svg text{font-family:var(--mono)}\n"
	"svg .t1{font-size:13px;font-weight:600;fill:var(--ink)}\n"
	"svg .t2{font-size:11.5px;fill:var(--mute)}\n"
	"svg .box{fill:#fff;stroke-width:2}\n"
	"svg .box.sn{fill:#fff;stroke:#aab4be}\n"
	"svg .ghost{stroke-dasharray:6 4;fill:#fbf1ee}\n"
	"svg .edge{fill:none;stroke:#6e7781;stroke-width:1.5}\n"
	"svg .arc{fill:none;stroke:var(--c3);stroke-width:2;stroke-dasharray:5 3}\n"
	"svg .lbl{font-size:10px;fill:var(--mute)}\n"
	"article.finding{background:var(--card);border:1px solid var(--line);border-left-width:6px;border-radius:6px;"
	"padding:8px 12px;margin:8px 0}\n"
	"article.f4{border-left-color:var(--c4)}article.f3{border-left-color:var(--c3)}"
	"article.f2{border-left-color:var(--c2)}article.f1{border-left-color:var(--c1)}"
	"article.f0{border-left-color:var(--c0)}\n"
	"article.finding>h4{margin:0 0 4px;font-size:1em;display:flex;flex-wrap:wrap;gap:6px;align-items:baseline}\n"
	".fid{font-family:var(--mono);font-weight:700}\n"
	"dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:.3em 0;font-size:.92em}\n"
	"dl.kv dt{color:var(--mute)}\n"
	"dl.kv dd{margin:0;overflow-wrap:anywhere;min-width:0}\n"
	"table{border-collapse:collapse;width:100%;font-size:.9em;margin:.4em 0;background:var(--card)}\n"
	"th,td{border:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}\n"
	"th{background:var(--bg);font-weight:600}\n"
	"td.num,th.num,td.nw,th{white-space:nowrap}td.num,th.num{text-align:right}\n"
	"details>summary{cursor:pointer}\n"
	".decision{border-width:2px}\n"
	".allow{border-color:var(--ok)}.deny{border-color:var(--c4)}\n"
	".kind{font-weight:700;text-transform:uppercase;font-size:.8em;letter-spacing:.04em}\n"
	"footer{color:var(--mute);font-size:.85em;margin-top:30px}\n"
	"@media print{\n"
	" *{-webkit-print-color-adjust:exact;print-color-adjust:exact}\n"
	" body{background:#fff;font-size:10pt}\n"
	" nav.toc{display:none}\n"
	" main{max-width:none;padding:0}\n"
	" a{color:inherit;text-decoration:none}\n"
	" li.layer,article.finding,figure,tr{break-inside:avoid}\n"
	" h2{break-after:avoid}\n"
	" details::details-content{content-visibility:visible;display:block}\n"
	"}\n";
