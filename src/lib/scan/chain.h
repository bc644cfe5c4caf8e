/* SPDX-License-Identifier: Apache-2.0 */
/* The entrypoint chain: what an image runs at start, followed through the
 * merged filesystem. Internal to the scan engine. */
#ifndef SW_SCAN_CHAIN_H
#define SW_SCAN_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "../layer/merge.h"
#include "../report/report_int.h"

/* What the chain needs to know about entries, answered by the engine. */
typedef struct sw_chain_env {
	const sw_merge *m;
	const char *config;      /* image config JSON, or NULL */
	size_t config_len;
	void *ctx;
	char (*type)(void *ctx, size_t layer, size_t rec);
	const char *(*link)(void *ctx, size_t layer, size_t rec);
	/* retained bytes of a small script, or NULL */
	const uint8_t *(*content)(void *ctx, size_t layer, size_t rec, size_t *len);
} sw_chain_env;

/* Paths the image may run first (Entrypoint/Cmd resolved against WorkingDir
 * and PATH), so the engine keeps their bytes. *out is a NULL-terminated
 * array of heap strings (free with sw_chain_free_paths). */
int sw_chain_start_paths(const char *config, size_t len, char ***out);
void sw_chain_free_paths(char **paths);

/* Follow the chain and link findings: files it reaches get
 * "runs_at_start" (and "started_by"), and a launcher that starts a flagged
 * file gets a finding of its own pointing at it. */
int sw_chain_link(const sw_chain_env *env, sw_report *r);

#endif
