/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mining settings in a text: a stratum URL or a pool's host, miner
 * options, a Monero wallet. One reading for the static analysis of an
 * image's configuration (config.c) and for what a sandboxed program asked
 * to run (its execs' arguments and environment, sandbox/behave.c), so that
 * both see the same things.
 */
#ifndef SW_DETECT_MINING_H
#define SW_DETECT_MINING_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sw_mining_hit {
	const char *pool;       /* a stratum scheme or a pool's domain (a literal), NULL: none */
	const char *host;       /* the pool's address as written (host[:port]), in the text */
	size_t host_len;
	const char *option;     /* a miner option (a literal), NULL: none */
	const char *wallet;     /* a Monero-shaped address, in the text; NULL: none */
	size_t wallet_len;
	bool decoded;           /* found in a base64 token: the pointers are into dec */
	char dec[2048];         /* that token, decoded */
} sw_mining_hit;

/* What of the above the first n bytes of t hold (at most 64 KiB are
 * read), or, when they hold no pool and no option, the first of their
 * base64 tokens (20+ characters, decoding to at most 2 KiB of text) that
 * does, as the config analysis reads them. Pointers are borrowed from t,
 * or from h->dec when h->decoded: h is not to be copied. A wallet alone
 * is no evidence: callers report it only with mining context (a pool or
 * an option) somewhere in what they examine. */
void sw_detect__mining(const char *t, size_t n, sw_mining_hit *h);

static inline bool sw_mining_context(const sw_mining_hit *h)
{
	return h->pool || h->option;
}

#endif
