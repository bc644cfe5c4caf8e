/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SARIF 2.1.0 writer, shaped for GitHub code scanning (FORMATS.md §9).
 *
 * A report becomes one run. Each distinct finding id becomes one rule, in
 * the order of its first (most severe) result, carrying the GitHub
 * `security-severity` of its worst finding; each finding becomes one result
 * that points at its file. An image has no source tree, so every location is
 * a stable relative URI made up from the image: "image/<layer>/<path>" for a
 * file in a layer, "image/<layer>" for a layer as a whole, "image/fs/<path>"
 * for a file with no layer, and "image/config" for the configuration and
 * history (findings without a path). The path is percent-encoded byte by
 * byte, so any name a tar can hold is a valid URI reference. The image
 * reference and layer digest go in logical locations and the message.
 *
 * `partialFingerprints.primaryLocationLineHash` is the SHA-256 of rule id,
 * path and layer digest (128 bits in hex): the same finding gets the same
 * hash in every run, whatever the result order. Findings that share all
 * three (two config findings of one rule) are told apart by a counter taken
 * in the order of their title and evidence, which is stable too.
 *
 * GitHub's limits are kept here rather than trusted to the uploader: at most
 * 25,000 results per run (the most severe are kept, and a notification says
 * how many were left out), 20 runs per file, 20 tags per rule, rule names of
 * 255 characters and descriptions of 1024. What the scan could not fully
 * read ("incomplete") becomes tool execution notifications; the scan itself
 * still succeeded. Every string goes through the JSON writer (sw_jw): paths, build steps
 * and evidence are attacker-controlled bytes, possibly not UTF-8. Like the
 * JSON writer, the document is built in a bounded buffer and written whole;
 * the first failed append is kept and ends the build, so a half-written
 * document is never mistaken for a complete one.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"
#include "../util/banned.h"

#ifndef SW_VERSION
#define SW_VERSION "0.0.0"
#endif

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"
#define MAX_DOC (1u << 30)
#define MAX_RUNS 20           /* GitHub: runs per file */
#define MAX_RESULTS 25000     /* GitHub: results per run */
#define MAX_TAGS 20           /* GitHub: tags per rule */
#define MAX_NAME 255          /* GitHub: rule name */
#define MAX_DESC 1024         /* GitHub: short/full description (help too) */
#define MAX_NOTES 1000        /* notifications per run, then a summary */
#define MAX_PART 1024         /* bytes of a path, title or build step in a message */
#define FP_HEX 32             /* hex digits of a fingerprint */

/* Everything goes through the JSON writer (util.h: sw_jw), whose errors
 * are sticky in the buffer: after the first failure nothing is added. */
typedef sw_jw out;

/* ---- text helpers ---- */

static const char *nonempty(const char *s, const char *fallback)
{
	return s && *s ? s : fallback;
}

/* The longest prefix of s of at most max bytes that does not end inside a
 * UTF-8 sequence (invalid bytes count as one character each). */
static size_t clip(const char *s, size_t max)
{
	size_t n = strlen(s), k;

	if (n <= max)
		return n;
	for (k = 0; k < 3 && max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80; k++)
		max--;
	return max;
}

/* Append s to t, at most max bytes, "…" when cut. A message is text a
 * person reads (on GitHub, in an editor, in a terminal), so s goes through
 * the terminal escaper: one line, with every control and bidirectional
 * character shown as an escape, never obeyed. The JSON writer then escapes
 * the result as it does any string. */
static void text(sw_buf *t, const char *s, size_t max)
{
	size_t len, start = t->len, taken;

	if (!s)
		return;
	len = strlen(s);
	(void)sw_buf_term(t, s, len, max, &taken);
	if (taken < len && max >= 3) {
		t->len = start;
		(void)sw_buf_term(t, s, len, max - 3, NULL);
		sw_buf_append(t, "\xe2\x80\xa6", 3);
	}
}

/* Write t as a JSON string of at most max bytes (never empty). */
static void text_out(out *o, sw_buf *t, size_t max, const char *fallback)
{
	const char *s = sw_buf_cstr(t);

	if (!*s)
		s = fallback;
	sw_jw_strn(o, s, clip(s, max));
}

/* Write prefix + path as a URI string. The path is percent-encoded:
 * unreserved bytes and '/' stay, the rest become %XX; leading slashes go,
 * and "." and ".." segments are encoded so that a hostile name cannot climb
 * out of the prefix. */
static void uri(out *o, const char *prefix, const char *p)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t i, seg, n, plen = strlen(prefix);
	char *u;

	while (*p == '/')
		p++;
	if (!(u = malloc(plen + 3 * strlen(p) + 2))) {
		if (!o->b->err)
			o->b->err = SW_ENOMEM;
		return;
	}
	memcpy(u, prefix, plen);
	n = plen;
	for (i = 0, seg = 0; p[i]; i++) {
		unsigned char c = (unsigned char)p[i];
		size_t e = i;
		if (c == '/') {
			seg = i + 1;
			u[n++] = '/';
			continue;
		}
		while (i == seg && p[e] == '.')
			e++;
		if (e > i && e - i <= 2 && (p[e] == '/' || !p[e])) { /* "." or ".." */
			for (; i < e; i++)
				u[n++] = '%', u[n++] = '2', u[n++] = 'E';
			i--;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			   c == '-' || c == '.' || c == '_' || c == '~') {
			u[n++] = (char)c;
		} else {
			u[n++] = '%', u[n++] = hx[c >> 4], u[n++] = hx[c & 15];
		}
	}
	if (!*p)
		u[n++] = '_';
	sw_jw_strn(o, u, n);
	free(u);
}

static void lit(sw_buf *t, const char *s)
{
	sw_buf_append(t, s, strlen(s));
}

/* ---- severity mapping ---- */

static const char *level_of(sw_severity s)
{
	return s >= SW_SEV_HIGH ? "error" : s == SW_SEV_MEDIUM ? "warning" : "note";
}

/* GitHub bands (FORMATS.md §9): >9.0 critical, 7.0-8.9 high, 4.0-6.9
 * medium, 0.1-3.9 low. There is no band below low, so info shows as low. */
static const char *security_severity(sw_severity s)
{
	switch (s) {
	case SW_SEV_CRITICAL: return "9.5";
	case SW_SEV_HIGH: return "8.0";
	case SW_SEV_MEDIUM: return "5.5";
	case SW_SEV_LOW: return "3.0";
	default: return "1.0";
	}
}

/* How sure the detector is that a hit is what it says. */
static const char *precision_of(const char *detector)
{
	if (strcmp(detector, "ioc") == 0 || strcmp(detector, "limits") == 0)
		return "very-high"; /* an exact hash; a limit that was reached */
	if (strcmp(detector, "yara") == 0 || strcmp(detector, "merge") == 0 ||
	    strcmp(detector, "sandbox") == 0)
		return "high";
	return "medium";
}

/* ---- rule texts ---- */

/* The engine's own rule ids, whose findings have per-file titles. */
static const struct known {
	const char *id, *shortd, *fulld;
} known_rules[] = {
	{ "SW-IOC-SHA256", "File matches a known-bad SHA-256 hash",
	  "The SHA-256 digest of a file in an image layer is on an indicator-of-compromise list "
	  "(the bundled list or one given with --ioc). A hash identifies the exact file; the "
	  "result names the list entry." },
	{ "SW-HIDDEN-PAYLOAD", "Flagged file deleted by a later layer still ships in the image",
	  "A file that another rule flagged was deleted or replaced by a later layer. It is not "
	  "visible in the container's filesystem, but its bytes stay in the earlier layer and are "
	  "downloaded with every pull: hiding a payload this way is a known evasion." },
	{ "SW-WHITEOUT-ESCAPE", "Whiteout marker that deletes outside its directory",
	  "A layer holds a whiteout marker whose target is empty, \".\" or \"..\" (such as "
	  "\".wh...\"). No build tool writes one. A runtime or unpacker that joins the target to "
	  "the marker's directory deletes that directory, or the directory above the extraction "
	  "target, on the machine that unpacks the image." },
	{ "SW-HARDLINK-FLOOD", "Thousands of hard links to one file",
	  "A layer links one file under a thousand names or more. No package does this; an "
	  "unpacker that copies each hard link writes the file once per link, so a small layer "
	  "fills the disk of whatever unpacks it." },
	{ "SW-INCOMPLETE", "File or layer not fully scanned",
	  "A scan limit (file size, image size, entry count, compression ratio, path length, "
	  "nesting depth or time) was reached, so the content detectors did not see all of this "
	  "file or layer. It was not checked and must not be taken as clean." },
};

static const char default_help[] =
	"Review the file named in the result: the message names the layer and the build step that "
	"added it. Confirm where it came from, and rebuild the image without it if it is not "
	"expected.";

static const struct known *known_rule(const char *id)
{
	size_t i;

	for (i = 0; i < sizeof(known_rules) / sizeof(known_rules[0]); i++)
		if (strcmp(id, known_rules[i].id) == 0)
			return &known_rules[i];
	return NULL;
}

static const char *help_for(const char *category)
{
	const sw_category *c = sw_category_find(category);

	return c ? c->help : default_help;
}

/* "SW-MINER-XMRIG" -> "SwMinerXmrig": a rule name is an identifier. */
static void rule_name(out *o, const char *id)
{
	char name[MAX_NAME + 1];
	size_t n = 0;
	bool start = true;

	for (; *id && n < MAX_NAME; id++) {
		char c = *id;
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		if (!alpha && !(c >= '0' && c <= '9')) {
			start = true;
			continue;
		}
		if (alpha && start && c >= 'a')
			c = (char)(c - 'a' + 'A');
		else if (alpha && !start && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		name[n++] = c;
		start = false;
	}
	name[n] = '\0';
	sw_jw_str(o, n ? name : "Finding");
}

/* ---- one run ---- */

typedef struct rule {
	size_t first;      /* position (in kept order) of its first result */
	size_t start, count; /* its results: members[start .. start+count) */
	bool same_title;   /* every result has the first one's title */
} rule;

typedef struct run {
	const sw_report *r;
	const char *image;  /* reference, or the input when there is none */
	size_t *kept;       /* finding indices, most severe first */
	size_t nkept;
	size_t *members;    /* kept positions grouped by rule id */
	size_t *rix;        /* per kept position: its rule's index */
	rule *rules;
	size_t nrules;
	char (*fp)[FP_HEX + 1];
} run;

static const sw_finding *kf(const run *u, size_t pos)
{
	return &u->r->f[u->kept[pos]];
}

static int cmp_severity(const void *pa, const void *pb, void *ctx)
{
	const run *u = ctx;
	size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
	const sw_finding *a = &u->r->f[ia], *b = &u->r->f[ib];

	if (a->severity != b->severity)
		return a->severity > b->severity ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

static int cmp_id(const void *pa, const void *pb, void *ctx)
{
	const run *u = ctx;
	size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
	int c = strcmp(kf(u, ia)->id, kf(u, ib)->id);

	return c ? c : ia < ib ? -1 : ia > ib;
}

static int cmp_rule_first(const void *pa, const void *pb)
{
	const rule *a = pa, *b = pb;

	return a->first < b->first ? -1 : a->first > b->first;
}

static int cmp_fp(const void *pa, const void *pb, void *ctx)
{
	const run *u = ctx;
	size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
	const sw_finding *a = kf(u, ia), *b = kf(u, ib);
	int c;

	if ((c = strcmp(u->fp[ia], u->fp[ib])) || (c = strcmp(a->title, b->title)) ||
	    (c = strcmp(a->evidence, b->evidence)))
		return c;
	return ia < ib ? -1 : ia > ib;
}

static void run_release(run *u)
{
	free(u->kept);
	free(u->members);
	free(u->rix);
	free(u->rules);
	free(u->fp);
}

/* Hash of rule id, path and layer digest (the platform's name too when
 * the finding has one, and `nth` when nth > 0). */
static void fingerprint(sw_sha256 *h, const sw_finding *f, size_t nth, char hex_out[FP_HEX + 1])
{
	uint8_t d[SW_SHA256_LEN];
	char hex[2 * SW_SHA256_LEN + 1], num[32];
	const char *path = f->path ? f->path : "", *ld = f->layer_digest ? f->layer_digest : "";

	sw_sha256_reset(h);
	sw_sha256_update(h, f->id, strlen(f->id) + 1);
	sw_sha256_update(h, path, strlen(path) + 1);
	sw_sha256_update(h, ld, strlen(ld));
	if (f->platform) { /* the same file in two platforms: two results */
		sw_sha256_update(h, "", 1);
		sw_sha256_update(h, f->platform, strlen(f->platform));
	}
	if (nth) {
		snprintf(num, sizeof(num), "#%zu", nth);
		sw_sha256_update(h, "", 1);
		sw_sha256_update(h, num, strlen(num));
	}
	sw_sha256_final(h, d);
	sw_hex(d, sizeof(d), hex);
	memcpy(hex_out, hex, FP_HEX);
	hex_out[FP_HEX] = '\0';
}

/* Choose the results to keep, group them into rules, fingerprint them. */
static int run_prepare(run *u, const sw_report *r)
{
	size_t n = r->nf, i, j, k, *tmp = NULL, *map = NULL;
	sw_sha256 *h = NULL;
	int rc = SW_ENOMEM;

	memset(u, 0, sizeof(*u));
	u->r = r;
	u->image = nonempty(r->reference, nonempty(r->input, "image"));
	if (!(u->kept = calloc(n + 1, sizeof(*u->kept))) ||
	    !(u->members = calloc(n + 1, sizeof(*u->members))) ||
	    !(u->rix = calloc(n + 1, sizeof(*u->rix))) || !(u->rules = calloc(n + 1, sizeof(*u->rules))) ||
	    !(u->fp = calloc(n + 1, sizeof(*u->fp))) || !(tmp = calloc(n + 1, sizeof(*tmp))) ||
	    !(map = calloc(n + 1, sizeof(*map))) || !(h = sw_sha256_new()))
		goto out;
	for (i = 0; i < n; i++)
		u->kept[i] = i;
	qsort_r(u->kept, n, sizeof(*u->kept), cmp_severity, u);
	u->nkept = n < MAX_RESULTS ? n : MAX_RESULTS;

	/* rules: results grouped by id; a group's first member is its first
	 * (so most severe) result, and rules are listed in that order */
	for (i = 0; i < u->nkept; i++)
		u->members[i] = i;
	qsort_r(u->members, u->nkept, sizeof(*u->members), cmp_id, u);
	for (i = 0; i < u->nkept; i = j) {
		rule *ru = &u->rules[u->nrules];
		const sw_finding *f0 = kf(u, u->members[i]);
		ru->first = u->members[i];
		ru->start = i;
		ru->same_title = true;
		for (j = i; j < u->nkept && strcmp(kf(u, u->members[j])->id, f0->id) == 0; j++) {
			u->rix[u->members[j]] = u->nrules;
			if (strcmp(kf(u, u->members[j])->title, f0->title) != 0)
				ru->same_title = false;
		}
		ru->count = j - i;
		u->nrules++;
	}
	qsort(u->rules, u->nrules, sizeof(*u->rules), cmp_rule_first);
	for (i = 0; i < u->nrules; i++)
		map[u->rix[u->rules[i].first]] = i;
	for (i = 0; i < u->nkept; i++)
		u->rix[i] = map[u->rix[i]];

	/* fingerprints; equal ones are numbered in (title, evidence) order */
	for (i = 0; i < u->nkept; i++) {
		fingerprint(h, kf(u, i), 0, u->fp[i]);
		tmp[i] = i;
	}
	qsort_r(tmp, u->nkept, sizeof(*tmp), cmp_fp, u);
	for (i = 0; i < u->nkept; i = j) {
		for (j = i + 1; j < u->nkept && strcmp(u->fp[tmp[j]], u->fp[tmp[i]]) == 0; j++)
			;
		for (k = i + 1; k < j; k++)
			fingerprint(h, kf(u, tmp[k]), k - i, u->fp[tmp[k]]);
	}
	rc = 0;
out:
	sw_sha256_free(h);
	free(tmp);
	free(map);
	return rc;
}

static void short_text(sw_buf *t, const sw_finding *f, const struct known *k, bool same_title,
		       size_t max)
{
	if (k) {
		text(t, k->shortd, max);
	} else if (same_title) {
		text(t, f->title, max);
	} else {
		lit(t, "Findings of rule ");
		text(t, f->id, max - 17);
	}
}

static void write_rule(out *o, const run *u, const rule *ru)
{
	const sw_finding *f = kf(u, ru->first);
	const struct known *k = known_rule(f->id);
	sw_buf t = SW_BUF_INIT(4 * MAX_DESC);
	const char *tags[MAX_TAGS];
	size_t ntags = 0, i, m;

	sw_jw_obj(o);
	sw_jw_kstr(o, "id", nonempty(f->id, "unknown"));
	sw_jw_key(o, "name");
	rule_name(o, f->id);
	short_text(&t, f, k, ru->same_title, MAX_DESC);
	sw_jw_kobj(o, "shortDescription");
	sw_jw_key(o, "text");
	text_out(o, &t, MAX_DESC, "stowaway finding");
	sw_jw_end(o);
	sw_buf_reset(&t);
	if (k) {
		text(&t, k->fulld, MAX_DESC);
	} else {
		short_text(&t, f, k, ru->same_title, MAX_DESC - 200);
		lit(&t, ". Reported by stowaway's ");
		text(&t, f->detector, 40);
		lit(&t, " detector, category ");
		text(&t, f->category, 40);
		lit(&t, "; each result says where in the image it was found.");
	}
	sw_jw_kobj(o, "fullDescription");
	sw_jw_key(o, "text");
	text_out(o, &t, MAX_DESC, "stowaway finding");
	sw_jw_end(o);
	sw_jw_kobj(o, "help");
	sw_jw_kstr(o, "text", help_for(f->category));
	sw_jw_end(o);
	sw_jw_kobj(o, "defaultConfiguration");
	sw_jw_kstr(o, "level", level_of(f->severity));
	sw_jw_end(o);
	sw_jw_kobj(o, "properties");
	sw_jw_karr(o, "tags");
	sw_jw_str(o, "security");
	tags[ntags++] = "security";
	for (i = ru->start; i < ru->start + ru->count && ntags < MAX_TAGS; i++) {
		const char *c = kf(u, u->members[i])->category;
		for (m = 0; m < ntags && strcmp(tags[m], c) != 0; m++)
			;
		if (m < ntags || !*c)
			continue;
		tags[ntags++] = c;
		sw_jw_str(o, c);
	}
	sw_jw_end(o);
	sw_jw_kstr(o, "security-severity", security_severity(f->severity));
	sw_jw_kstr(o, "precision", precision_of(f->detector));
	sw_jw_end(o);
	sw_jw_end(o);
	sw_buf_release(&t);
}

/* Where a finding or incomplete item is: see the comment at the top; a
 * platform of several goes first ("image/linux/arm64/1/usr/bin/x"),
 * encoded like the path. */
static void location_uri(out *o, const char *platform, const char *path, int layer)
{
	char pre[40];
	char *full;

	if (layer >= 0 && path)
		snprintf(pre, sizeof(pre), "image/%d/", layer);
	else if (layer >= 0)
		snprintf(pre, sizeof(pre), "image/%d", layer);
	else
		snprintf(pre, sizeof(pre), "%s", path ? "image/fs/" : "image/config");
	if (!platform) {
		if (path)
			uri(o, pre, path);
		else
			sw_jw_str(o, pre);
		return;
	}
	while (path && *path == '/')
		path++;
	if (!(full = sw__asprintf("%s/%s%s", platform, pre + 6, path ? path : ""))) {
		if (!o->b->err)
			o->b->err = SW_ENOMEM;
		return;
	}
	uri(o, "image/", full);
	free(full);
}

static void physical(out *o, const char *platform, const char *path, int layer)
{
	sw_jw_obj(o);
	sw_jw_kobj(o, "physicalLocation");
	sw_jw_kobj(o, "artifactLocation");
	sw_jw_key(o, "uri");
	location_uri(o, platform, path, layer);
	sw_jw_end(o);
	sw_jw_kobj(o, "region");
	sw_jw_kint(o, "startLine", 1);
	sw_jw_end(o);
	sw_jw_end(o);
}

/* "<path> in layer 2 (sha256:...)", "layer 2 (sha256:...)" or "the image configuration" */
static void where(sw_buf *t, const run *u, const char *path, int layer, const char *digest)
{
	if (path) {
		text(t, path, MAX_PART);
		lit(t, layer >= 0 ? " in layer " : " in the image");
	} else {
		lit(t, layer >= 0 ? "layer " : "the image configuration of ");
		if (layer < 0)
			text(t, u->image, MAX_PART);
	}
	if (layer >= 0) {
		sw_buf_printf(t, "%d (", layer);
		text(t, nonempty(digest, "unknown digest"), 128);
		lit(t, ")");
	}
}

static void write_result(out *o, const run *u, size_t pos)
{
	const sw_finding *f = kf(u, pos);
	sw_buf t = SW_BUF_INIT(8 * MAX_PART);

	sw_jw_obj(o);
	sw_jw_kstr(o, "ruleId", nonempty(f->id, "unknown"));
	sw_jw_kuint(o, "ruleIndex", u->rix[pos]);
	sw_jw_kstr(o, "level", level_of(f->severity));
	text(&t, nonempty(f->title, f->id), MAX_PART);
	lit(&t, ": ");
	where(&t, u, f->path, f->layer, f->layer_digest);
	if (f->platform) {
		lit(&t, " of the platform ");
		text(&t, f->platform, MAX_PART);
	}
	if (f->layer >= 0) {
		if (f->created_by) {
			lit(&t, ", added by the build step \"");
			text(&t, f->created_by, MAX_PART);
			lit(&t, "\"");
		} else {
			lit(&t, ", added by a build step with no history entry");
		}
	}
	if (f->path)
		lit(&t, f->in_final_fs ? "; the file is still in the final filesystem." :
		    "; the file is not in the final filesystem (deleted or replaced by a later layer) "
		    "but still ships in the image with every pull.");
	else
		lit(&t, ".");
	sw_jw_kobj(o, "message");
	sw_jw_key(o, "text");
	sw_jw_strn(o, sw_buf_cstr(&t), t.len);
	sw_jw_end(o);
	sw_jw_karr(o, "locations");
	physical(o, f->platform, f->path, f->layer);
	sw_jw_karr(o, "logicalLocations");
	sw_jw_obj(o);
	sw_jw_kstr(o, "kind", "module");
	sw_jw_kstr(o, "name", u->image);
	sw_jw_kstr(o, "fullyQualifiedName", u->image);
	sw_jw_end(o);
	if (f->layer >= 0 && f->layer_digest) {
		sw_buf_reset(&t);
		text(&t, u->image, MAX_PART);
		sw_buf_printf(&t, "/layers/%d/", f->layer);
		text(&t, f->layer_digest, 128);
		sw_jw_obj(o);
		sw_jw_kstr(o, "kind", "resource");
		sw_jw_kstr(o, "name", f->layer_digest);
		sw_jw_key(o, "fullyQualifiedName");
		sw_jw_strn(o, sw_buf_cstr(&t), t.len);
		sw_jw_end(o);
	}
	sw_jw_end(o); /* logicalLocations */
	sw_jw_end(o); /* the location */
	sw_jw_end(o); /* locations */
	sw_jw_kobj(o, "partialFingerprints");
	sw_jw_kstr(o, "primaryLocationLineHash", u->fp[pos]);
	sw_jw_end(o);
	sw_jw_kobj(o, "properties");
	sw_jw_kstr(o, "severity", sw_severity_name(f->severity));
	sw_jw_kstr(o, "category", f->category);
	sw_jw_kstr(o, "detector", f->detector);
	sw_jw_kstr(o, "title", f->title);
	sw_jw_kstr(o, "path", f->path);
	sw_jw_key(o, "layer");
	if (f->layer >= 0)
		sw_jw_int(o, f->layer);
	else
		sw_jw_null(o);
	sw_jw_kstr(o, "layer_digest", f->layer_digest);
	sw_jw_kstr(o, "created_by", f->created_by);
	sw_jw_key(o, "in_final_fs");
	if (f->path)
		sw_jw_bool(o, f->in_final_fs);
	else
		sw_jw_null(o);
	sw_jw_kraw(o, "evidence", nonempty(f->evidence, "{}"));
	if (f->platform)
		sw_jw_kstr(o, "platform", f->platform);
	sw_jw_end(o);
	sw_jw_end(o);
	sw_buf_release(&t);
}

static void notification(out *o, const char *msg, size_t len, const char *platform, const char *path, int layer)
{
	sw_jw_obj(o);
	sw_jw_kstr(o, "level", "warning");
	sw_jw_kobj(o, "message");
	sw_jw_key(o, "text");
	sw_jw_strn(o, msg, len);
	sw_jw_end(o);
	sw_jw_kobj(o, "descriptor");
	sw_jw_kstr(o, "id", "SW-INCOMPLETE");
	sw_jw_end(o);
	if (path || layer >= 0) {
		sw_jw_karr(o, "locations");
		physical(o, platform, path, layer);
		sw_jw_end(o);
		sw_jw_end(o);
	}
	sw_jw_end(o);
}

static void write_notifications(out *o, const run *u)
{
	const sw_report *r = u->r;
	sw_buf t = SW_BUF_INIT(8 * MAX_PART);
	size_t i, n = r->ninc < MAX_NOTES ? r->ninc : MAX_NOTES;

	sw_jw_arr(o);
	for (i = 0; i < n; i++) {
		const sw_incomplete *c = &r->inc[i];
		const sw_rlayer *l = sw_report__layer(r, c->platform, c->layer);
		const char *digest = l ? l->digest : NULL;
		sw_buf_reset(&t);
		text(&t, nonempty(c->reason, "not fully scanned"), MAX_PART);
		lit(&t, ": ");
		if (!c->path && c->layer < 0) {
			lit(&t, "the image ");
			text(&t, u->image, MAX_PART);
		} else {
			where(&t, u, c->path, c->layer, digest);
		}
		lit(&t, ". Not fully scanned: not known to be clean.");
		notification(o, sw_buf_cstr(&t), t.len, c->platform, c->path, c->layer);
	}
	if (r->ninc > n) {
		sw_buf_reset(&t);
		sw_buf_printf(&t, "%zu more items were not fully scanned (see --format json for all).",
			      r->ninc - n);
		notification(o, sw_buf_cstr(&t), t.len, NULL, NULL, -1);
	}
	if (r->nf > u->nkept) {
		sw_buf_reset(&t);
		sw_buf_printf(&t, "%zu findings are not in this file: a SARIF run for GitHub holds at "
			      "most %d results, and the %zu most severe were kept (see --format json "
			      "for all).", r->nf - u->nkept, MAX_RESULTS, u->nkept);
		sw_jw_obj(o);
		sw_jw_kstr(o, "level", "warning");
		sw_jw_kobj(o, "message");
		sw_jw_key(o, "text");
		sw_jw_strn(o, sw_buf_cstr(&t), t.len);
		sw_jw_end(o);
		sw_jw_end(o);
	}
	sw_jw_end(o);
	sw_buf_release(&t);
}

static void write_run(out *o, const run *u)
{
	const sw_report *r = u->r;
	sw_buf t = SW_BUF_INIT(2 * MAX_DESC);
	size_t i;

	sw_jw_obj(o);
	sw_jw_kobj(o, "tool");
	sw_jw_kobj(o, "driver");
	sw_jw_kstr(o, "name", "stowaway");
	sw_jw_kstr(o, "semanticVersion", SW_VERSION);
	sw_jw_kstr(o, "version", SW_VERSION);
	sw_jw_karr(o, "rules");
	for (i = 0; i < u->nrules; i++)
		write_rule(o, u, &u->rules[i]);
	sw_jw_end(o);
	sw_jw_end(o);
	sw_jw_end(o);
	/* GitHub's category for this run: one per image, so several images
	 * can be uploaded for one commit; it ends with '/' (no run id). */
	lit(&t, "stowaway/");
	text(&t, u->image + strspn(u->image, "/"), MAX_DESC);
	lit(&t, "/");
	sw_jw_kobj(o, "automationDetails");
	sw_jw_key(o, "id");
	sw_jw_strn(o, sw_buf_cstr(&t), t.len);
	sw_jw_end(o);
	sw_jw_karr(o, "invocations");
	sw_jw_obj(o);
	sw_jw_kbool(o, "executionSuccessful", true);
	sw_jw_key(o, "toolExecutionNotifications");
	write_notifications(o, u);
	sw_jw_end(o);
	sw_jw_end(o);
	sw_jw_karr(o, "results");
	for (i = 0; i < u->nkept; i++)
		write_result(o, u, i);
	sw_jw_end(o);
	sw_jw_kobj(o, "properties");
	sw_jw_kstr(o, "input", r->input);
	sw_jw_kstr(o, "reference", r->reference);
	sw_jw_kstr(o, "manifest_digest", r->manifest_digest);
	sw_jw_kstr(o, "config_digest", r->config_digest);
	sw_jw_kstr(o, "ruleset", r->ruleset);
	sw_jw_kstr(o, "verdict", sw_verdict_name(sw_report_verdict(r)));
	sw_jw_kuint(o, "findings", r->nf);
	sw_jw_kuint(o, "results", u->nkept);
	sw_jw_kobj(o, "stats");
	sw_jw_kuint(o, "layers", r->nlayers);
	sw_jw_kuint(o, "files", r->files);
	sw_jw_kuint(o, "bytes", r->bytes);
	sw_jw_key(o, "seconds");
	sw_jw_real(o, r->seconds, 3);
	sw_jw_kuint(o, "cache_hits", r->cache_hits);
	sw_jw_end(o);
	sw_jw_end(o);
	sw_jw_end(o);
	sw_buf_release(&t);
}

int sw_report__sarif(const sw_report *const *reps, size_t n, sw_buf *b, sw_error *err)
{
	out o = SW_JW_INIT(b);
	size_t i;
	int rc = 0;
	run u;

	if (n == 0 || n > MAX_RUNS)
		return sw_error_set(err, SW_EINVAL, "a SARIF file holds 1 to %d runs (images), not %zu",
				    MAX_RUNS, n);
	sw_jw_obj(&o);
	sw_jw_kstr(&o, "$schema", SARIF_SCHEMA);
	sw_jw_kstr(&o, "version", "2.1.0");
	sw_jw_karr(&o, "runs");
	for (i = 0; i < n && !sw_buf_err(b); i++) {
		if ((rc = run_prepare(&u, reps[i])) == 0)
			write_run(&o, &u);
		else if (!b->err)
			b->err = rc;
		run_release(&u);
	}
	sw_jw_end(&o);
	sw_jw_end(&o);
	if ((rc = sw_jw_done(&o)) == 0)
		rc = sw_buf_putc(b, '\n');
	if (rc == SW_ELIMIT)
		return sw_error_set(err, SW_ELIMIT, "SARIF report exceeds %zu bytes", b->max);
	if (rc < 0)
		return sw_error_set(err, rc == SW_ENOMEM ? SW_ENOMEM : SW_ERROR,
				    "writing the SARIF report failed: %s", sw_code_name(rc));
	return 0;
}

int sw_report_write_sarif(const sw_report *const *reps, size_t n, FILE *f, sw_error *err)
{
	sw_buf b = SW_BUF_INIT(MAX_DOC);
	int rc;

	if ((rc = sw_report__sarif(reps, n, &b, err)) < 0)
		goto out;
	if (fwrite(b.data, 1, b.len, f) != b.len || fflush(f) != 0)
		rc = sw_error_set(err, SW_EIO, "writing the report failed");
out:
	sw_buf_release(&b);
	return rc;
}
