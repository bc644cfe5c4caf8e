/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the reading of mining settings in a text
 * (src/lib/detect/mining.h), which the static config analysis and the
 * sandbox's exec findings share: the pool's address as written after a
 * stratum scheme or around a pool's domain, miner options, a wallet's
 * exact extent, settings found in a base64 token, and texts that hold
 * none of them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/lib/detect/mining.h"
#include "../../src/lib/util/banned.h"

#define WALLET "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"

static void span(const char *got, size_t n, const char *want)
{
	assert_non_null(got);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(got, want, n);
}

static void test_command_line(void **state)
{
	const char *t = "xmrig -o stratum+tcp://pool.example:3333 -u " WALLET " --donate-level=1";
	sw_mining_hit h;

	(void)state;
	sw_detect__mining(t, strlen(t), &h);
	assert_string_equal(h.pool, "stratum+tcp://");
	span(h.host, h.host_len, "pool.example:3333");
	assert_string_equal(h.option, "--donate-level");
	span(h.wallet, h.wallet_len, WALLET);
	assert_true(sw_mining_context(&h));
}

static void test_pool_domain(void **state)
{
	const char *t = "POOL=gulf.moneroocean.stream:10128,x";
	sw_mining_hit h;

	(void)state;
	sw_detect__mining(t, strlen(t), &h);
	assert_non_null(h.pool);
	span(h.host, h.host_len, "gulf.moneroocean.stream:10128");
	assert_null(h.option);
	assert_null(h.wallet);
}

static void test_base64(void **state)
{
	/* "xmrig -o stratum+tcp://pool.example:5555 -u WALLET", encoded */
	const char *t = "sh -c 'echo eG1yaWcgLW8gc3RyYXR1bSt0Y3A6Ly9wb29sLmV4YW1wbGU6NTU1NSAtdSA0NEFGRnE1a1NpR0JvWjROTUR3WXROMThvYmM4QWVtUzMzREJMV3MzSDdvdFhmdDNYanJwRHRRR3Y3U3FTc2FCWUJiOTh1TmJyMlZCQkV0N2Yyd2ZuM1JWR1FCRVAzQQ== | base64 -d | sh'";
	sw_mining_hit h;

	(void)state;
	sw_detect__mining(t, strlen(t), &h);
	assert_true(h.decoded);
	assert_string_equal(h.pool, "stratum+tcp://");
	span(h.host, h.host_len, "pool.example:5555");
	span(h.wallet, h.wallet_len, WALLET);
	assert_ptr_equal(h.host, h.dec + strlen("xmrig -o stratum+tcp://"));
}

static void test_none(void **state)
{
	/* a wallet-shaped string alone is no context; nor is an ordinary line */
	const char *w = "WALLET=" WALLET, *t = "python3 -m http.server 8000";
	sw_mining_hit h;

	(void)state;
	sw_detect__mining(w, strlen(w), &h);
	assert_non_null(h.wallet);
	assert_false(sw_mining_context(&h));
	sw_detect__mining(t, strlen(t), &h);
	assert_null(h.pool);
	assert_null(h.option);
	assert_null(h.wallet);
	/* one character short of an address, or cut by the length given */
	sw_detect__mining(WALLET, strlen(WALLET) - 1, &h);
	assert_null(h.wallet);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_line),
		cmocka_unit_test(test_pool_domain),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
