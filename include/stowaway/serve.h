/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Kubernetes validating admission webhook as one library call: HTTPS
 * (HTTP/1.1 and HTTP/2), AdmissionReview v1 at /validate, /healthz and
 * /readyz, every image judged by sw_check (stowaway/check.h) on a bounded
 * pool of worker threads, and a deadline after which the answer is a
 * denial that says what was not verified yet.
 */
#ifndef STOWAWAY_SERVE_H
#define STOWAWAY_SERVE_H

#include "stowaway/export.h"
#include "stowaway/error.h"
#include "stowaway/image.h"

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
	unsigned workers;             /* decisions that run at once */
	unsigned max_conns;           /* connections served at once */
	const sw_image_opts *image;   /* registry client options; NULL: defaults */
} sw_webhook_opts;

#define SW_WEBHOOK_OPTS_INIT { NULL, "0.0.0.0:8443", NULL, NULL, 2.5, 10.0, 4, 4096, NULL }

/*
 * Load the policy, listen, and serve until SIGTERM or SIGINT; then answer
 * the reviews in flight and return 0. One JSON line per review and per
 * server event goes to stderr. Errors before serving: the policy does not
 * load (SW_EFORMAT, err naming the first problem), the certificate or key
 * does not load, the address cannot be bound (SW_EIO), a bad option
 * (SW_EINVAL).
 */
SW_API int sw_webhook_serve(const sw_webhook_opts *o, sw_error *err);

#ifdef __cplusplus
}
#endif

#endif
