/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Kubernetes admission webhook as one library call: HTTPS (HTTP/1.1
 * and HTTP/2), AdmissionReview v1 at /validate (judge) and /mutate (judge
 * and pin each image to the digest judged), /healthz, /readyz and
 * /metrics; every image judged by sw_check (stowaway/check.h) on bounded
 * pools of worker threads, with the decisions cached; a deadline after
 * which the answer is a denial that says what was not verified yet.
 */
#ifndef STOWAWAY_SERVE_H
#define STOWAWAY_SERVE_H

#include "stowaway/export.h"
#include "stowaway/error.h"
#include "stowaway/image.h"
#include "stowaway/scan.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_webhook_opts {
	const char *policy;           /* policy file (NULL: the built-in policy) */
	const char *listen;           /* "ADDR:PORT" */
	const char *tls_cert;         /* PEM chain and key, re-read when they change */
	const char *tls_key;
	double deadline;              /* seconds a review may take; then deny "not yet verified" */
	double read_timeout;          /* seconds for a request's headers and body */
	unsigned workers;             /* decisions (and tag lookups) that run at once */
	unsigned max_conns;           /* connections served at once */
	const sw_image_opts *image;   /* registry client options; NULL: defaults */
	const sw_scan_opts *scan;     /* how scans run (the layer cache shared with
				       * `scan`); NULL: scan's defaults */
	unsigned scan_workers;        /* scans that run at once */
	double ttl_allow;             /* seconds an admitting decision is kept */
	double ttl_deny;              /* seconds a denial (or a failed lookup) is kept */
	double ttl_tag;               /* seconds a tag's digest is kept */
	size_t cache_entries;         /* names, tags and decisions kept, at most */
	size_t cache_bytes;           /* and the memory they hold, at most */
} sw_webhook_opts;

#define SW_WEBHOOK_OPTS_INIT { NULL, "0.0.0.0:8443", NULL, NULL, 2.5, 10.0, 4, 4096, NULL, NULL, 1, \
			       600.0, 30.0, 30.0, 100000, 256u << 20 }

/*
 * Load the policy, listen, and serve until SIGTERM or SIGINT; then answer
 * the reviews in flight and return 0. The policy file is looked at every
 * 2 seconds: a changed one that loads replaces the policy, one that does
 * not is refused and the old policy stays (a log line says why). One
 * JSON line per review and per server event goes to stderr. Errors before serving: the policy does not
 * load (SW_EFORMAT, err naming the first problem), the certificate or key
 * does not load, the address cannot be bound (SW_EIO), a bad option
 * (SW_EINVAL).
 */
SW_API int sw_webhook_serve(const sw_webhook_opts *o, sw_error *err);

/*
 * The registry gate: a pull-through registry (the read side of the
 * distribution API over HTTPS) in front of the upstreams its YAML
 * configuration names, that serves an image only after judging it as
 * sw_check does (names, access rules, signatures and signed verdicts) and
 * scanning it as it is fetched into its store. A denial is the registry
 * error DENIED with the reasons and policy lines. Serves until SIGTERM or
 * SIGINT; 0 then. Errors before serving: the configuration or policy does
 * not load (SW_EFORMAT, err naming the file and line), the store, the
 * certificate or the address cannot be opened (SW_EIO).
 */
typedef struct sw_gate_opts {
	const char *config;           /* the gate's configuration (YAML) */
	const char *listen;           /* "ADDR:PORT" over the file's; NULL: the file's */
	const sw_scan_opts *scan;     /* how scans run (the layer cache shared with
				       * `scan`); NULL: scan's defaults */
} sw_gate_opts;

#define SW_GATE_OPTS_INIT { NULL, NULL, NULL }

SW_API int sw_gate_serve(const sw_gate_opts *o, sw_error *err);

#ifdef __cplusplus
}
#endif

#endif
