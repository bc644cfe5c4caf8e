/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one server core (http.c): HTTPS over libh2o (its own event loop) and
 * OpenSSL, HTTP/1.1 and HTTP/2 by ALPN, with every bound a front-end needs
 * (body size, header and read time, connections), the certificate and key
 * re-read when their files change, and a graceful stop on SIGTERM/SIGINT.
 * The webhook is a set of routes on it; the registry gate will be another.
 *
 * Threads: everything here runs on the loop's thread, except sw_http_post,
 * which any thread may call to run a callback on the loop. Slow work goes
 * to a worker pool (pool.c) and comes back through sw_http_post.
 */
#ifndef SW_SERVE_HTTP_H
#define SW_SERVE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "stowaway/error.h"

typedef struct sw_http sw_http;
typedef struct sw_http_req sw_http_req;

#define SW_HTTP_MAX_BODY (3u << 20)   /* the API server's limit for one object */

typedef struct sw_http_opts {
	const char *listen;            /* "ADDR:PORT", "[V6]:PORT" or ":PORT" */
	const char *cert, *key;        /* PEM files, re-read when they change */
	size_t max_body;               /* larger bodies: 413 */
	unsigned read_timeout_ms;      /* a request's headers and body, whole */
	unsigned handshake_timeout_ms; /* the TLS handshake */
	unsigned max_conns;            /* past it, new connections wait in the backlog */
	unsigned reload_ms;            /* how often the certificate files are looked at */
	unsigned grace_ms;             /* after SIGTERM, at most this long for answers in flight */
	bool http1_only;               /* ALPN offers http/1.1 alone (not h2): clients that
					* pull large bodies at once open a connection each,
					* and decrypt them in parallel (the gate's blobs) */
} sw_http_opts;

#define SW_HTTP_OPTS_INIT { NULL, NULL, NULL, SW_HTTP_MAX_BODY, 10000, 10000, 4096, 2000, 10000, false }

/* A route's handler: answer now (sw_http_reply) or keep the request
 * (sw_http_hold) and answer later from the loop. */
typedef void (*sw_http_handler)(void *ctx, sw_http_req *req);

/* Load the pair, bind and listen. SW_EINVAL for a bad address, SW_EIO for
 * a socket or certificate error (err says which). */
int sw_http_new(sw_http **out, const sw_http_opts *o, sw_error *err);
/* Before sw_http_run: requests for exactly path go to fn. */
int sw_http_route(sw_http *h, const char *path, sw_http_handler fn, void *ctx);
/* Before sw_http_run: requests for every path under prefix ("/v2/") go to
 * fn (h2o matches on segment boundaries). */
int sw_http_route_prefix(sw_http *h, const char *prefix, sw_http_handler fn, void *ctx);
/* Serve until SIGTERM or SIGINT, then stop accepting and return once every
 * request in flight is answered (or grace_ms passed). */
int sw_http_run(sw_http *h, sw_error *err);
/* The address bound ("127.0.0.1:8443"). */
const char *sw_http_addr(const sw_http *h);
bool sw_http_stopping(const sw_http *h);
void sw_http_free(sw_http *h);

/* The request (valid until answered or gone). */
const char *sw_http_method(const sw_http_req *r, size_t *len);
/* The media type of Content-Type, without parameters, lowercased into
 * buf; "" when absent. */
const char *sw_http_ctype(const sw_http_req *r, char *buf, size_t n);
const char *sw_http_body(const sw_http_req *r, size_t *len);
/* "HTTP/1.1" or "HTTP/2". */
const char *sw_http_version(const sw_http_req *r);
/* The path as h2o normalised it (".." resolved, %-decoded where safe),
 * without the query; the query without its '?' ("" when none). */
const char *sw_http_path(const sw_http_req *r, size_t *len);
const char *sw_http_query(const sw_http_req *r, size_t *len);
/* A request header's value (name in lowercase), copied into buf (cut to
 * n - 1 bytes); NULL when absent. */
const char *sw_http_header(const sw_http_req *r, const char *name, char *buf, size_t n);
bool sw_http_is_head(const sw_http_req *r);

/* Answer with status, a content type and a body (copied). Once per
 * request; after it r is gone. */
void sw_http_reply(sw_http_req *r, int status, const char *ctype, const char *body, size_t len);
/* The same with more headers: hdrs is NAME, VALUE, ..., NULL. A HEAD
 * request gets the headers (Content-Length too) and no body. */
void sw_http_reply_h(sw_http_req *r, int status, const char *ctype, const char *const *hdrs, const char *body,
		     size_t len);
/* The status line's text for the answer to come (HTTP/1.1 only: HTTP/2
 * has none), cut to 400 bytes of visible ASCII. A client that only says
 * the status (containerd after a HEAD) then says why. */
void sw_http_set_reason(sw_http_req *r, const char *text);
/* A file as the body (200; HEAD and Range as HTTP has them), with more
 * headers. SW_ENOTFOUND when the file cannot be opened: nothing was sent,
 * the caller answers. */
int sw_http_reply_file(sw_http_req *r, const char *ctype, const char *const *hdrs, const char *path);
/* Keep r for a later answer. gone(arg) runs (on the loop) if the client
 * goes away first: r must not be answered after it. */
void sw_http_hold(sw_http_req *r, void (*gone)(void *arg), void *arg);

/* A message from any thread to the loop: fn(m) runs there. m must stay
 * valid until fn runs. */
typedef struct sw_http_msg {
	void *link_[2];                /* the loop's queue (h2o_linklist_t) */
	void (*fn)(struct sw_http_msg *m);
} sw_http_msg;
void sw_http_post(sw_http *h, sw_http_msg *m);

/* A one-shot timer on the loop. Durations are few and fixed (a deadline):
 * at most 8 distinct values of ms per server. */
typedef struct sw_http_timer {
	void *entry_[4];               /* h2o_timeout_entry_t */
	void (*fn)(struct sw_http_timer *t);
} sw_http_timer;
int sw_http_timer_start(sw_http *h, sw_http_timer *t, unsigned ms);
void sw_http_timer_stop(sw_http_timer *t);

/* One JSON log line on stderr, written whole and at once (the server's
 * own events). */
void sw_http_log(const char *event, const char *key, const char *value);
/* A line (with its newline) for stderr, written with the others of this
 * turn of the loop when it ends: the per-request log (loop thread only). */
void sw_http_logline(const char *line, size_t n);

#endif
