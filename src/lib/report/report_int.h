/* SPDX-License-Identifier: Apache-2.0 */
/* Building a report: the scan engine's side of report.h. Internal. */
#ifndef SW_REPORT_INT_H
#define SW_REPORT_INT_H

#include "stowaway/report.h"
#include "stowaway/image.h"
#include "../util/util.h"

/* A file a layer added that a later layer deleted or replaced. */
typedef struct sw_rremoved {
	char *path;
	int by;                  /* the later layer */
} sw_rremoved;

#define SW_REPORT_MAX_REMOVED 50   /* listed per layer; the rest counted */

typedef struct sw_rlayer {
	char *digest, *diff_id, *created_by, *media_type;
	int64_t size;
	int64_t files;           /* files scanned in it (nested ones too); -1: not scanned */
	uint64_t nremoved;       /* regular files it added that a later layer removed */
	sw_rremoved *removed;    /* the first SW_REPORT_MAX_REMOVED of them */
	size_t nlisted;
	uint64_t nremoves;       /* regular files of earlier layers it removed */
} sw_rlayer;

/* A file of the entrypoint chain (scan/chain.c): what the image runs at
 * start, and what those scripts start in turn. */
typedef struct sw_rchain {
	char *path;
	int layer;               /* the layer its bytes come from */
	int parent;              /* index of the script that names it; -1: Entrypoint/Cmd */
	int depth;
	bool present;            /* false: named, flagged, and removed by a later layer */
} sw_rchain;

/* A platform of the index the image came from (sw_scan_platforms):
 * scanned (reason NULL), or not and why. */
typedef struct sw_rplatform {
	char *platform, *manifest_digest, *config_digest;
	char *reason;            /* not scanned: why */
	sw_rlayer *layers;       /* scanned: its layers; NULL for the report's own (r->layers) */
	size_t nlayers;
	uint64_t files, bytes, cache_hits;
	double seconds;
} sw_rplatform;

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
	/* what people read beside the findings (the HTML page): the platform
	 * and the index's others, what the image runs (Entrypoint then Cmd,
	 * User) and the chain followed from it (scanned: true when the layers
	 * and image-level passes ran), signatures found next to the image and
	 * the admission decision, each a JSON object (NULL: not looked at) */
	char *platform, **platforms;
	size_t nplatforms;
	bool scanned;
	char **command, *user;
	size_t ncommand;
	sw_rchain *chain;
	size_t nchain;
	char *attachments, *decision;
	/* the platforms of its index (sw_scan_platforms): the report's own
	 * image first, then the others scanned, then those not scanned;
	 * nplats 0 when the image came from no index of several */
	sw_rplatform *plats;
	size_t nplats;
	char *index_digest;
};

/* A report describing `img` (copied), with no findings yet. */
int sw_report__new(sw_report **out, const sw_image *img, sw_error *err);
/* A report on input that was not scanned (a registry image that `check`
 * judged by its name and signatures): no layers, no image details. */
int sw_report__new_bare(sw_report **out, const char *input, const char *reference, const char *digest);
/* A regular file layer `layer` added that layer `by` removed. SW_ENOMEM. */
int sw_report__removed(sw_report *r, size_t layer, const char *path, int by);
/* What the image runs: argv (Entrypoint then Cmd) and User (may be NULL). */
int sw_report__set_command(sw_report *r, char *const *argv, size_t n, const char *user);
/* A file of the entrypoint chain (path copied). SW_ENOMEM. */
int sw_report__chain_add(sw_report *r, const char *path, int layer, int parent, int depth, bool present);
/* The admission decision, a JSON object (copied; replaces any). */
int sw_report__set_decision(sw_report *r, const char *json);
/* Append "key": json (a JSON value) to a finding's evidence object (the
 * key must not be there yet). SW_ENOMEM. */
int sw_report__evidence_add(sw_finding *f, const char *key, const char *json);
/* Copy a finding in (all strings duplicated). */
int sw_report__add(sw_report *r, const sw_finding *f);
int sw_report__add_incomplete(sw_report *r, const char *path, int layer, const char *reason);
/* Append a timeline event (a JSON object) and its table line (copied;
 * every value in it already through the terminal escaper). */
int sw_report__add_event(sw_report *r, const char *json, const char *line);
/* Findings, incompletes and the timeline of `from` appended to `into`;
 * a finding with the same id and path as one already there is skipped. */
int sw_report__merge(sw_report *into, const sw_report *from);
/* The report's own image is platform `platform` of an index (its digest
 * index_digest, may be NULL): every finding and incomplete entry so far
 * says so, and it is the first platform listed. SW_ENOMEM. */
int sw_report__platform_first(sw_report *r, const char *platform, const char *index_digest);
/* The findings, incompletes, layers and counts of `from`, the scan of
 * another platform of the same index, moved into `into` (from keeps
 * nothing of them), each finding saying its platform. SW_ENOMEM (then
 * into holds what was moved before). */
int sw_report__absorb(sw_report *into, sw_report *from, const char *platform);
/* A platform of the index not scanned, and why. SW_ENOMEM. */
int sw_report__not_scanned(sw_report *r, const char *platform, const char *digest, const char *reason);
/* The verdict of the findings of one platform (NULL: all), and how many
 * there are (*count, when not NULL). */
sw_verdict sw_report__verdict_of(const sw_report *r, const char *platform, size_t *count);
/* Layer `layer` of the platform a finding or incomplete entry names
 * (NULL: the report's own image); NULL when there is none. */
const sw_rlayer *sw_report__layer(const sw_report *r, const char *platform, int layer);
/* Its platforms of several: nplats > 0 and more than one scanned or listed. */
bool sw_report__multi(const sw_report *r);
/* The sandbox run told for people (story.c): the process tree with the
 * chain from the entrypoint to each process that raised a finding, file
 * noise collapsed by kind with counts, contacts by host and port with
 * what was said. Read from r's events and findings (r must outlive it).
 * 0 or SW_ENOMEM; *out is the caller's (sw_story__free, NULL a no-op). */
typedef struct sw_story sw_story;
int sw_story__new(const sw_report *r, sw_story **out);
void sw_story__free(sw_story *s);
/* The story as one JSON value (dynamic.story), and as the table's lines
 * (every value through the terminal escaper). */
void sw_story__json(sw_story *s, sw_jw *w);
void sw_story__table(sw_story *s, sw_buf *b, const char *bold, const char *off);
/* Whether event `event` (its index in r->events) is collapsed noise. */
bool sw_story__hidden(const sw_story *s, size_t event);
/* The noise class of a timeline event e ("python-bytecode", ...), or NULL
 * when it is none or it raised a finding (a path one of `findings`, the
 * report's JSON findings array, names): for pages drawn from JSON. */
const char *sw_story__noise(const sw_json *e, const sw_json *findings);
/* Stable order: severity (highest first), then layer, path, id. */
void sw_report__sort(sw_report *r);
/* An incomplete entry and its medium SW-INCOMPLETE finding ("Not fully
 * analysed: <reason>"), located as `where` says (detector, path, layer,
 * layer_digest, created_by, in_final_fs; the rest is set here). */
int sw_report__incomplete(sw_report *r, const sw_finding *where, const char *reason);
/* The report's JSON (stowaway.report/v1) appended to b (write.c); errors
 * are b's (sw_buf_err). */
void sw_report__json(const sw_report *r, sw_buf *b);
/* An HTML page from a report's JSON document (html.c); SW_EFORMAT when
 * the document is not a stowaway.report/v1, b's errors otherwise. */
int sw_report__html(const char *json, size_t len, sw_buf *b, sw_error *err);
/* Append a SARIF 2.1.0 document with one run per report (1 to 20) to b
 * (sarif.c). SW_EINVAL for a bad n, SW_ELIMIT past b's bound, SW_ENOMEM. */
int sw_report__sarif(const sw_report *const *reps, size_t n, sw_buf *b, sw_error *err);

#endif
