/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the webhook and the gate do alike (common.c): lists of requests
 * waiting on work under way (single flight), the readiness answer, the
 * policy's reload tick, and the metrics every server exports.
 */
#ifndef SW_SERVE_COMMON_H
#define SW_SERVE_COMMON_H

#include <stddef.h>

#include "http.h"
#include "polwatch.h"

/* One request (owner; slot: which of its parts) waiting on a list. */
typedef struct sw_waiter {
	void *owner;
	size_t slot;
	struct sw_waiter **head;     /* the list it is on; NULL: none */
	struct sw_waiter *prev, *next;
} sw_waiter;

void sw_waiter_add(sw_waiter *w, sw_waiter **list, void *owner, size_t slot);
/* Off its list (nothing when on none). */
void sw_waiter_remove(sw_waiter *w);
/* The work the list waits on changed: each waiter is taken off, moved to
 * *notify first (so an owner answered and freed meanwhile takes its other
 * waiters off that list), and handed to fn, which may wait again. */
void sw_waiters_wake(sw_waiter **list, sw_waiter **notify, void (*fn)(void *owner, size_t slot, void *ctx),
		     void *ctx);

/* /readyz: 200 with the policy's hash and generation (and the last reload
 * refused), 503 while stopping. */
void sw_serve_readyz(sw_http_req *req, sw_http *h, const sw_polwatch *pw, const char *policy_name);
/* The reload tick: a changed policy loaded or refused, and logged. */
void sw_serve_reload(sw_polwatch *pw);
/* The metrics every server has: policy reloads and generation, resident
 * memory. prefix: "stowaway_webhook", "stowaway_gate". */
void sw_prom_server(sw_buf *b, const char *prefix, const sw_polwatch *pw);
/* /metrics' answer: b (released), or a 500 when it ran out of memory. */
void sw_prom_reply(sw_http_req *req, sw_buf *b);

#endif
