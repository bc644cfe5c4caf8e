/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admission decision as one library call: may this image run? The CLI
 * (`stowaway check`), the admission webhook, the registry gate and the
 * sweeper all call sw_check, so they decide exactly alike.
 */
#ifndef STOWAWAY_CHECK_H
#define STOWAWAY_CHECK_H

#include <stdbool.h>

#include "stowaway/export.h"
#include "stowaway/error.h"
#include "stowaway/image.h"
#include "stowaway/policy.h"
#include "stowaway/scan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* When the image is scanned. AUTO: a local image always (it is at hand,
 * and nothing is admitted unjudged), a registry image when the policy
 * requires it. ALWAYS: every image. NEVER: only when the policy requires
 * it (a policy's requirement is never waived). */
typedef enum sw_check_scan { SW_CHECK_SCAN_AUTO, SW_CHECK_SCAN_ALWAYS, SW_CHECK_SCAN_NEVER } sw_check_scan;

typedef struct sw_check_opts {
	const sw_image_opts *image;   /* registry client and platform; NULL: defaults */
	const sw_scan_opts *scan;     /* how a scan runs (limits, layer cache, rules);
				       * NULL: scan's defaults */
	bool resolve;                 /* ask the registry for the digest even when
				       * nothing else needs it */
	sw_check_scan scan_mode;
	bool defer_scan;              /* the scan is not run here: r->scan_due says one
				       * is due, and the decision is not complete until
				       * sw_check_run_scan has run it (a server runs
				       * scans on workers of their own, or on its copy) */
	bool keep_report;             /* r->report: the scan's report (or one naming the
				       * image, when nothing was scanned) carrying the
				       * decision, for a page of it (SW_FMT_HTML); not
				       * with defer_scan */
} sw_check_opts;

#define SW_CHECK_OPTS_INIT { NULL, NULL, false, SW_CHECK_SCAN_AUTO, false, false }

/* A scan the policy did not bound admits findings up to this severity
 * (as `scan --fail-on high`: a high or critical finding denies). */
#define SW_CHECK_DEFAULT_MAX_SEVERITY SW_SEV_MEDIUM

#define SW_CHECK_MAX_UNCHECKED 4

typedef struct sw_check_result {
	char reference[800];          /* the normalised reference, or the input for a
				       * local source */
	char digest[80];              /* the manifest digest judged, when known */
	bool bad_input;               /* the input is neither an image nor a reference */
	sw_decision d;                /* allowed, mode, every reason with its policy line */
	const char *unchecked[SW_CHECK_MAX_UNCHECKED]; /* what was not checked ("not
				       * scanned", "signature not required"): static */
	size_t nunchecked;
	bool scan_due;                /* defer_scan: a scan is required and
				       * has not run; d is not final until it has */
	struct sw_report *report;     /* keep_report: the caller's (sw_report_free);
				       * NULL otherwise, or when out of memory */
} sw_check_result;

/*
 * Decide on input (anything `stowaway scan` takes: oci:DIR[:TAG],
 * oci-archive:FILE, docker-archive:FILE, dir:ROOTFS, a bare path, a
 * registry reference with or without docker://) under policy (NULL: the
 * built-in policy). Applies the look-alike names check and the policy's
 * access rules, then the scan, signature and attestation the policy
 * requires. When the policy requires both a scan and a signed scan
 * verdict (require.attestation), a valid verdict stands in for the scan.
 * It never fails open: whatever could not be checked is a deny reason in r. Returns 0 with the decision in r; SW_ENOMEM alone is an
 * error. With o->keep_report, r->report is the caller's to free (r is
 * overwritten: free an earlier one first).
 */
SW_API int sw_check(const sw_policy *policy, const char *input, const sw_check_opts *o, sw_check_result *r);

/* The scan that sw_check deferred (r->scan_due), run now on the same input
 * and options, its verdict added to r->d. */
SW_API void sw_check_run_scan(const char *input, const sw_check_opts *o, sw_check_result *r);

/* The verdict of a scan the caller ran itself (rep: its report; NULL when
 * it failed, why: its error), held against the policy's bound in r->d as
 * sw_check_run_scan holds it. */
SW_API void sw_check_add_scan(sw_check_result *r, const sw_report *rep, const char *why);

/* What sw_check decides about a registry reference before any I/O: the
 * look-alike names check and the policy's access rules, with what the
 * policy requires of the image in r->d (need_scan, need_signature,
 * need_attestation). A denial in enforce mode here is final: sw_check
 * would deny too, and nothing needs the registry to say so. Returns 0
 * (r->bad_input when ref is not a registry reference); SW_ENOMEM. */
SW_API int sw_check_name(const sw_policy *policy, const char *ref, sw_check_result *r);

#ifdef __cplusplus
}
#endif

#endif
