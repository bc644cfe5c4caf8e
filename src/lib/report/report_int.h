/* SPDX-License-Identifier: Apache-2.0 */
/* Building a report: the scan engine's side of report.h. Internal. */
#ifndef SW_REPORT_INT_H
#define SW_REPORT_INT_H

#include "stowaway/report.h"
#include "stowaway/image.h"
#include "../util/util.h"

typedef struct sw_rlayer {
	char *digest, *diff_id, *created_by, *media_type;
	int64_t size;
} sw_rlayer;

struct sw_report {
	char *input, *reference, *manifest_digest, *config_digest, *ruleset;
	sw_rlayer *layers;
	size_t nlayers;
	sw_finding *f;
	size_t nf, capf;
	sw_incomplete *inc;
	size_t ninc, capinc;
	uint64_t files, bytes;
	double seconds;
	uint64_t cache_hits;
	/* dynamic analysis (sandbox): the timeline, one JSON object per event
	 * with a one-line rendering for the table (already escaped for the
	 * terminal: the table prints it as it is), and the run's summary */
	char **events, **event_lines;
	size_t nevents, capevents;
	char *dynamic;
};

/* A report describing `img` (copied), with no findings yet. */
int sw_report__new(sw_report **out, const sw_image *img, sw_error *err);
/* Copy a finding in (all strings duplicated). */
int sw_report__add(sw_report *r, const sw_finding *f);
int sw_report__add_incomplete(sw_report *r, const char *path, int layer, const char *reason);
/* Append a timeline event (a JSON object) and its table line (copied;
 * every value in it already through the terminal escaper). */
int sw_report__add_event(sw_report *r, const char *json, const char *line);
/* Findings, incompletes and the timeline of `from` appended to `into`;
 * a finding with the same id and path as one already there is skipped. */
int sw_report__merge(sw_report *into, const sw_report *from);
/* Stable order: severity (highest first), then layer, path, id. */
void sw_report__sort(sw_report *r);
/* An incomplete entry and its medium SW-INCOMPLETE finding ("Not fully
 * analysed: <reason>"), located as `where` says (detector, path, layer,
 * layer_digest, created_by, in_final_fs; the rest is set here). */
int sw_report__incomplete(sw_report *r, const sw_finding *where, const char *reason);
/* Append a SARIF 2.1.0 document with one run per report (1 to 20) to b
 * (sarif.c). SW_EINVAL for a bad n, SW_ELIMIT past b's bound, SW_ENOMEM. */
int sw_report__sarif(const sw_report *const *reps, size_t n, sw_buf *b, sw_error *err);

#endif
