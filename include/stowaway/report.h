/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Findings and the scan report (schema stowaway.report/v1, see
 * docs/ARCHITECTURE.md), with the JSON and table writers.
 */
#ifndef STOWAWAY_REPORT_H
#define STOWAWAY_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stowaway/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SW_SEV_INFO, SW_SEV_LOW, SW_SEV_MEDIUM, SW_SEV_HIGH,
	       SW_SEV_CRITICAL } sw_severity;

const char *sw_severity_name(sw_severity s);
/* SW_EINVAL for an unknown name. */
int sw_severity_parse(const char *name, sw_severity *out);

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
} sw_finding;

typedef struct sw_incomplete {
	const char *path;          /* NULL when a whole layer or image is concerned */
	int layer;                 /* -1 for the image */
	const char *reason;
} sw_incomplete;

typedef enum { SW_VERDICT_CLEAN, SW_VERDICT_SUSPICIOUS, SW_VERDICT_MALICIOUS } sw_verdict;

typedef struct sw_report sw_report;

void sw_report_free(sw_report *r);
size_t sw_report_finding_count(const sw_report *r);
const sw_finding *sw_report_finding(const sw_report *r, size_t i);
size_t sw_report_incomplete_count(const sw_report *r);
const sw_incomplete *sw_report_incomplete(const sw_report *r, size_t i);
sw_verdict sw_report_verdict(const sw_report *r);
const char *sw_verdict_name(sw_verdict v);
/* Highest severity present; returns false when there are no findings. */
bool sw_report_max_severity(const sw_report *r, sw_severity *out);

typedef enum { SW_FMT_TABLE, SW_FMT_JSON } sw_format;
/* Write to f. `color` adds ANSI colours to the table. */
int sw_report_write(const sw_report *r, sw_format fmt, bool color, FILE *f, sw_error *err);

#ifdef __cplusplus
}
#endif
#endif
