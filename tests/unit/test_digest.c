/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for SHA-256 and the digest-string grammar
 * (src/lib/util/digest.c): FIPS 180-2 vectors through the one-shot and the
 * streaming interfaces, and a strict parser that takes "sha256:" plus
 * exactly 64 lowercase hex digits and nothing else, since a digest that two
 * tools would spell differently is a digest two tools could disagree on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/lib/util/util.h"
#include "../../src/lib/util/banned.h"

#define ABC_HEX "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define EMPTY_HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define LONG_HEX "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
#define LONG_MSG "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"

static void hex_of(const uint8_t d[SW_SHA256_LEN], char out[65])
{
	sw_hex(d, SW_SHA256_LEN, out);
}

static void test_sha256_vectors(void **state)
{
	uint8_t d[SW_SHA256_LEN];
	char hex[65];

	(void)state;
	sw_sha256_buf("abc", 3, d);
	hex_of(d, hex);
	assert_string_equal(hex, ABC_HEX);
	sw_sha256_buf("", 0, d);
	hex_of(d, hex);
	assert_string_equal(hex, EMPTY_HEX);
	sw_sha256_buf(LONG_MSG, strlen(LONG_MSG), d);
	hex_of(d, hex);
	assert_string_equal(hex, LONG_HEX);
}

static void test_sha256_streaming(void **state)
{
	sw_sha256 *h = sw_sha256_new();
	uint8_t d[SW_SHA256_LEN];
	char hex[65];
	size_t i;

	(void)state;
	assert_non_null(h);
	sw_sha256_update(h, "a", 1);
	sw_sha256_update(h, "", 0);
	sw_sha256_update(h, "bc", 2);
	sw_sha256_final(h, d);
	hex_of(d, hex);
	assert_string_equal(hex, ABC_HEX);
	/* reset makes the context reusable */
	sw_sha256_reset(h);
	for (i = 0; i < strlen(LONG_MSG); i++)
		sw_sha256_update(h, &LONG_MSG[i], 1);
	sw_sha256_final(h, d);
	hex_of(d, hex);
	assert_string_equal(hex, LONG_HEX);
	sw_sha256_free(h);
	sw_sha256_free(NULL);
}

static void test_digest_str_roundtrip(void **state)
{
	uint8_t d[SW_SHA256_LEN], back[SW_SHA256_LEN];
	char s[SW_DIGEST_STRLEN];

	(void)state;
	sw_sha256_buf("abc", 3, d);
	sw_digest_str(d, s);
	assert_string_equal(s, "sha256:" ABC_HEX);
	assert_int_equal(strlen(s), SW_DIGEST_STRLEN - 1);
	memset(back, 0, sizeof(back));
	assert_int_equal(sw_digest_parse(s, back), 0);
	assert_memory_equal(back, d, SW_SHA256_LEN);
	assert_true(sw_digest_valid(s));
	assert_int_equal(sw_digest_parse(s, NULL), 0);
}

static void test_digest_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"sha256:",
		"sha256",
		"sha256:" "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
		"sha256:" "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015aD",
		"SHA256:" ABC_HEX,
		"Sha256:" ABC_HEX,
		"sha256:" "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
		"sha256:" ABC_HEX "0",
		"sha256:" ABC_HEX "\n",
		" sha256:" ABC_HEX,
		"sha256: " "a7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"sha256:" "ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"sha256:" "-a7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"sha512:" ABC_HEX,
		"sha512:" ABC_HEX ABC_HEX,
		"sha384:" ABC_HEX,
		"md5:" ABC_HEX,
		"blake3:" ABC_HEX,
		ABC_HEX,
		"sha256+b64u:" ABC_HEX,
	};
	uint8_t out[SW_SHA256_LEN], zero[SW_SHA256_LEN];
	size_t i;

	(void)state;
	memset(zero, 0, sizeof(zero));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 0, sizeof(out));
		if (sw_digest_parse(bad[i], out) != SW_EFORMAT)
			fail_msg("accepted \"%s\"", bad[i]);
		if (sw_digest_valid(bad[i]))
			fail_msg("valid: \"%s\"", bad[i]);
	}
	assert_int_equal(sw_digest_parse(NULL, out), SW_EFORMAT);
	assert_false(sw_digest_valid(NULL));
	/* a NUL inside the hex ends the string: too short */
	assert_int_equal(sw_digest_parse("sha256:ba78\0" "16bf", out), SW_EFORMAT);
}

static void test_hex(void **state)
{
	static const uint8_t in[] = { 0x00, 0x0f, 0xa0, 0xff };
	char out[9];

	(void)state;
	sw_hex(in, sizeof(in), out);
	assert_string_equal(out, "000fa0ff");
	sw_hex(in, 0, out);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_sha256_streaming),
		cmocka_unit_test(test_digest_str_roundtrip),
		cmocka_unit_test(test_digest_parse_rejects),
		cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
