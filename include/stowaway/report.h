/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Findings and the scan report (schema stowaway.report/v1, see
 * docs/ARCHITECTURE.md), with the table, JSON and SARIF writers.
 */
#ifndef STOWAWAY_REPORT_H
#define STOWAWAY_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stowaway/export.h"
#include "stowaway/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SW_SEV_INFO, SW_SEV_LOW, SW_SEV_MEDIUM, SW_SEV_HIGH,
	       SW_SEV_CRITICAL } sw_severity;

SW_API const char *sw_severity_name(sw_severity s);
/* SW_EINVAL for an unknown name. */
SW_API int sw_severity_parse(const char *name, sw_severity *out);

typedef struct sw_finding {
	const char *id;            /* stable rule id, e.g. "SW-IOC-SHA256" */
	sw_severity severity;
	const char *category;      /* miner, backdoor, ..., incomplete */
	const char *title;
	const char *detector;      /* ioc, yara, heuristic, config, limits, ... */
	const char *path;          /* NULL for image-level findings */
	int layer;                 /* -1 for image-level findings */
	const char *layer_digest;
	const char *created_by;
	bool in_final_fs;
	const char *evidence;      /* a JSON object ("{}" when empty) */
	const char *platform;      /* "os/arch[/variant]" of the image it is in, when the
				    * image came from an index of several (sw_scan_platforms);
				    * NULL otherwise. layer counts that platform's layers. */
} sw_finding;

typedef struct sw_incomplete {
	const char *path;          /* NULL when a whole layer or image is concerned */
	int layer;                 /* -1 for the image */
	const char *reason;
	const char *platform;      /* as sw_finding's */
} sw_incomplete;

typedef enum { SW_VERDICT_CLEAN, SW_VERDICT_SUSPICIOUS, SW_VERDICT_MALICIOUS } sw_verdict;

/* A finding category, from the one table (report/category.c). */
typedef struct sw_category {
	const char *name;          /* "miner", "escape", ... */
	bool malware;              /* a high finding in it makes the verdict malicious */
	bool rules;                /* YARA rules and IOC lists may name it */
	const char *help;          /* what to do about it (SARIF's help text) */
} sw_category;

/* The category called name, or NULL when there is none (borrowed, static). */
SW_API const sw_category *sw_category_find(const char *name);
/* Is name a malware category? false for unknown names. */
SW_API bool sw_category_malware(const char *name);

typedef struct sw_report sw_report;

SW_API void sw_report_free(sw_report *r);
SW_API size_t sw_report_finding_count(const sw_report *r);
/* The digest of every rule and IOC list the scan used ("sha256:..."). */
SW_API const char *sw_report_ruleset(const sw_report *r);
SW_API const sw_finding *sw_report_finding(const sw_report *r, size_t i);
SW_API size_t sw_report_incomplete_count(const sw_report *r);
SW_API const sw_incomplete *sw_report_incomplete(const sw_report *r, size_t i);
SW_API sw_verdict sw_report_verdict(const sw_report *r);
SW_API const char *sw_verdict_name(sw_verdict v);
/* "clean", "suspicious" or "malicious" into *out (the enum's order is the
 * ranking); SW_EFORMAT for anything else, which no bound should admit. */
SW_API int sw_verdict_parse(const char *name, sw_verdict *out);
/* Highest severity present; returns false when there are no findings. */
SW_API bool sw_report_max_severity(const sw_report *r, sw_severity *out);
/* Record that part of the analysis did not run or finish (path may be
 * NULL, layer -1 for the image): an `incomplete` entry and a medium
 * SW-INCOMPLETE finding from `detector`, so the verdict is never clean.
 * SW_ENOMEM is the only error. */
SW_API int sw_report_add_incomplete(sw_report *r, const char *detector, const char *path, int layer,
				    const char *reason);

/*
 * Report formats.
 *   SW_FMT_TABLE  for people; `color` adds ANSI colours.
 *   SW_FMT_JSON   schema stowaway.report/v1 (docs/ARCHITECTURE.md).
 *   SW_FMT_SARIF  SARIF 2.1.0 as GitHub code scanning takes it: one run, a
 *                 rule per finding id with its `security-severity` (critical
 *                 9.5, high 8.0, medium 5.5, low 3.0, info 1.0), a result per
 *                 finding located at the URI "image/<layer>/<path>" ("image/config"
 *                 for image-level findings) with a fingerprint stable across
 *                 runs, and "incomplete" items as tool execution notifications.
 *                 At most 25,000 results: beyond that the most severe are kept
 *                 and a notification counts the rest.
 *   SW_FMT_HTML   one self-contained page for people (no script, nothing
 *                 fetched; every string from the image escaped): verdict,
 *                 layers as a timeline with their build steps and what later
 *                 layers removed, the entrypoint chain as a graph, findings
 *                 by severity with their evidence, what was incomplete, the
 *                 sandbox run and the admission decision when there are
 *                 any. Made from the report's JSON, as sw_report_render_html
 *                 makes it from a saved one; long lists are cut with counts.
 */
typedef enum { SW_FMT_TABLE, SW_FMT_JSON, SW_FMT_SARIF, SW_FMT_HTML } sw_format;
/* Write to f. SW_EIO when writing fails; also SW_ELIMIT when the document
 * would exceed 1 GiB (then nothing is written). */
SW_API int sw_report_write(const sw_report *r, sw_format fmt, bool color, FILE *f, sw_error *err);
/* The HTML page (SW_FMT_HTML) of a saved report: one stowaway.report/v1
 * JSON document of len bytes, as `--format json` writes it. SW_EFORMAT
 * when it is not one (err says why), SW_EIO when writing fails. */
SW_API int sw_report_render_html(const char *json, size_t len, FILE *f, sw_error *err);
/* Record what was found next to the image: cosign signatures and
 * attestations (counted, not verified) in its registry repository or its
 * OCI layout (where: "registry", "layout"), or why they could not be
 * looked for (error not NULL). The JSON report carries it as
 * image.attachments. SW_ENOMEM. */
SW_API int sw_report_set_attachments(sw_report *r, int signatures, int attestations, const char *where,
				     const char *error);
/* One SARIF 2.1.0 document with a run per report (reports borrowed), for
 * several images in one file. n is 1 to 20 (GitHub's runs per file), else
 * SW_EINVAL; errors otherwise as sw_report_write. */
SW_API int sw_report_write_sarif(const sw_report *const *reps, size_t n, FILE *f, sw_error *err);

#ifdef __cplusplus
}
#endif
#endif
