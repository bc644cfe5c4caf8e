/* SPDX-License-Identifier: Apache-2.0 */
/* What the servers share (common.h). Everything runs on the loop. */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "metrics.h"

void sw_waiter_add(sw_waiter *w, sw_waiter **list, void *owner, size_t slot)
{
	w->owner = owner;
	w->slot = slot;
	w->head = list;
	w->prev = NULL;
	w->next = *list;
	if (*list)
		(*list)->prev = w;
	*list = w;
}

void sw_waiter_remove(sw_waiter *w)
{
	if (!w->head)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		*w->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->head = NULL;
	w->prev = w->next = NULL;
}

void sw_waiters_wake(sw_waiter **list, sw_waiter **notify, void (*fn)(void *owner, size_t slot, void *ctx),
		     void *ctx)
{
	sw_waiter *w;

	*notify = *list;
	*list = NULL;
	for (w = *notify; w; w = w->next)
		w->head = notify;
	while ((w = *notify)) {
		sw_waiter_remove(w);
		fn(w->owner, w->slot, ctx);
	}
}

void sw_serve_readyz(sw_http_req *req, sw_http *h, const sw_polwatch *pw, const char *policy_name)
{
	sw_buf b = SW_BUF_INIT(4096);
	sw_jw w = SW_JW_INIT(&b);
	bool stopping = sw_http_stopping(h);

	sw_jw_obj(&w);
	sw_jw_kstr(&w, "status", stopping ? "stopping" : "ready");
	sw_jw_kstr(&w, "policy", policy_name);
	sw_jw_kstr(&w, "policy_hash", pw->cur->hash);
	sw_jw_kuint(&w, "policy_generation", pw->cur->gen);
	if (pw->error[0])
		sw_jw_kstr(&w, "policy_reload_error", pw->error);
	sw_jw_end(&w);
	if (sw_jw_done(&w) == 0)
		sw_http_reply(req, stopping ? 503 : 200, "application/json", b.data, b.len);
	else
		sw_http_reply(req, 500, "text/plain", "out of memory\n", 14);
	sw_buf_release(&b);
}

void sw_serve_reload(sw_polwatch *pw)
{
	sw_error err = SW_ERROR_INIT;
	int rc = sw_polwatch_check(pw, &err);

	if (rc > 0)
		sw_http_log("policy-loaded", "policy_hash", pw->cur->hash);
	else if (rc < 0)
		sw_http_log("policy-refused", "error", err.msg);
}

void sw_prom_server(sw_buf *b, const char *prefix, const sw_polwatch *pw)
{
	char name[96];

	snprintf(name, sizeof(name), "%s_policy_reloads_total", prefix);
	sw_prom_head(b, name, "counter", "policy file changes, loaded or refused");
	sw_prom_val(b, name, "result=\"loaded\"", (double)pw->loaded);
	sw_prom_val(b, name, "result=\"refused\"", (double)pw->refused);
	snprintf(name, sizeof(name), "%s_policy_generation", prefix);
	sw_prom_head(b, name, "gauge", "policies loaded since the start (1: the first)");
	sw_prom_val(b, name, "", (double)pw->cur->gen);
	sw_prom_head(b, "process_resident_memory_bytes", "gauge", "resident memory");
	sw_prom_val(b, "process_resident_memory_bytes", "", sw_prom_rss());
}

void sw_prom_reply(sw_http_req *req, sw_buf *b)
{
	if (sw_buf_err(b) == 0)
		sw_http_reply(req, 200, "text/plain; version=0.0.4", b->data, b->len);
	else
		sw_http_reply(req, 500, "text/plain", "out of memory\n", 14);
	sw_buf_release(b);
}
