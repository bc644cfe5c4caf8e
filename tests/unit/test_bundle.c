/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Sigstore readers' small parts, where a lax reading would widen trust:
 * RFC 3339 times (validity bounds), protobuf base64 and int64 in JSON, the
 * trusted root's refusals (a validFor without start, an end before its
 * start, an unknown media type), and checkpoints (signed notes): the log's
 * signature found by key hint among witnesses', size and root held to the
 * proof's, every malformed shape refused. The whole verifier is tested by
 * the conformance suite and the private instance (tests/sigstore).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "stowaway/sign.h"
#include "../../src/lib/sign/bundle_int.h"
#include "../../src/lib/util/util.h"
#include "../../src/lib/util/banned.h"

static void test_times(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(sw_tr__time("2021-01-12T11:53:27Z", &t), 0);
	assert_int_equal(t, 1610452407);
	assert_int_equal(sw_tr__time("2022-12-31T23:59:59.999Z", &t), 0);
	assert_int_equal(t, 1672531199);
	assert_int_equal(sw_tr__time("2021-01-12T13:53:27+02:00", &t), 0);
	assert_int_equal(t, 1610452407);
	assert_int_equal(sw_tr__time("2021-01-12T11:53:27-00:30", &t), 0);
	assert_int_equal(t, 1610452407 + 1800);
	static const char *const bad[] = { "", "2021-01-12", "2021-01-12 11:53:27Z", "2021-01-12T11:53:27",
					   "2021-13-01T00:00:00Z", "2021-01-12T11:53:27Zjunk", "2021-01-12T11:53:27.Z",
					   "2021-1-12T11:53:27Z", "2021-01-12T24:00:00Z", "2021-01-12T11:53:27+2:00" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sw_tr__time(bad[i], &t) == 0)
			fail_msg("\"%s\" read as a time", bad[i]);
	assert_int_equal(sw_tr__time(NULL, &t), -1);
}

static void b64_is(const char *in, const char *want)
{
	uint8_t *out = NULL;
	size_t n = 0;

	if (sw_bdl__b64(in, &out, &n) != 0)
		fail_msg("\"%s\" refused", in);
	if (n != strlen(want) || memcmp(out, want, n) != 0)
		fail_msg("\"%s\" decoded to %zu bytes, want \"%s\"", in, n, want);
	free(out);
}

static void test_base64(void **state)
{
	uint8_t *out = NULL;
	size_t n = 0;

	(void)state;
	b64_is("aGVsbG8/Pz4+", "hello?\?>>");
	b64_is("aGVsbG8_Pz4-", "hello?\?>>");     /* the URL alphabet */
	b64_is("aGk=", "hi");
	b64_is("aGk", "hi");                      /* padding optional */
	b64_is("aGVs\nbG8/\r\nPz4+", "hello?\?>>"); /* line breaks skipped, as Go does */
	b64_is("", "");
	static const char *const bad[] = { "aGk!", "a", "aG=k", "aGk=\t", " aGk=", "INVALID!!!BASE64" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sw_bdl__b64(bad[i], &out, &n) == 0)
			fail_msg("\"%s\" read as base64", bad[i]);
		assert_null(out);
	}
	assert_int_equal(sw_bdl__b64(NULL, &out, &n), SW_EFORMAT);
}

static void test_int64(void **state)
{
	sw_json_doc *doc = NULL;
	const sw_json *r;
	int64_t v = 0;

	(void)state;
	static const char j[] = "{\"a\":\"27246492\",\"b\":-1,\"c\":\"-5\",\"d\":\"1x\",\"e\":\"\",\"f\":1.5,"
				"\"g\":\"+1\",\"h\":true}";

	assert_int_equal(sw_json_parse(j, strlen(j), &doc, NULL), 0);
	r = sw_json_root(doc);
	assert_int_equal(sw_bdl__int64(sw_json_get(r, "a"), &v), 0);
	assert_int_equal(v, 27246492);
	assert_int_equal(sw_bdl__int64(sw_json_get(r, "b"), &v), 0);
	assert_int_equal(v, -1);
	assert_int_equal(sw_bdl__int64(sw_json_get(r, "c"), &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(sw_bdl__int64(sw_json_get(r, "d"), &v), SW_EFORMAT);
	assert_int_equal(sw_bdl__int64(sw_json_get(r, "e"), &v), SW_EFORMAT);
	assert_int_equal(sw_bdl__int64(sw_json_get(r, "f"), &v), SW_EFORMAT);
	assert_int_equal(sw_bdl__int64(sw_json_get(r, "g"), &v), SW_EFORMAT);
	assert_int_equal(sw_bdl__int64(sw_json_get(r, "h"), &v), SW_EFORMAT);
	assert_int_equal(sw_bdl__int64(NULL, &v), SW_EFORMAT);
	sw_json_free(doc);
}

#define ROOT_HEAD "{\"mediaType\":\"application/vnd.dev.sigstore.trustedroot+json;version=0.1\","
/* the production root's Rekor v1 key */
#define TLOG(valid) "\"tlogs\":[{\"baseUrl\":\"https://rekor.sigstore.dev\",\"hashAlgorithm\":\"SHA2_256\"," \
	"\"publicKey\":{\"rawBytes\":\"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y+2tabdTV5BcGiBIx0a9fAFwrkBbmLSGtks4L3q" \
	"X6yYY0zufBnhC8Ur/iy55GhWP/9A/bY2LhC30M9+RYtw==\",\"keyDetails\":\"PKIX_ECDSA_P256_SHA_256\"" valid "}," \
	"\"logId\":{\"keyId\":\"wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=\"}}]}"

static int root_rc(const char *text)
{
	sw_trustroot *tr = NULL;
	sw_error err = SW_ERROR_INIT;
	int rc = sw_tr__parse(text, strlen(text), "test", &tr, &err);

	if (rc == 0)
		assert_non_null(tr);
	else
		assert_null(tr);
	sw_trustroot_free(tr);
	return rc;
}

static void test_trusted_root(void **state)
{
	sw_trustroot *tr = NULL;
	sw_error err = SW_ERROR_INIT;

	(void)state;
	assert_int_equal(sw_trustroot_load(NULL, &tr, &err), 0); /* the built-in copy */
	assert_int_equal(tr->ntlogs, 2);
	assert_int_equal(tr->ncas, 2);
	assert_int_equal(tr->nctlogs, 2);
	assert_int_equal(tr->ntsas, 1);
	assert_int_equal(tr->cas[1].end, SW_TIME_OPEN);
	sw_trustroot_free(tr);
	sw_trustroot_free(NULL);
	assert_int_equal(root_rc(ROOT_HEAD TLOG(",\"validFor\":{\"start\":\"2021-01-12T11:53:27Z\"}")), 0);
	assert_int_equal(root_rc(ROOT_HEAD TLOG("")), 0); /* no validFor: open */
	assert_int_equal(root_rc(ROOT_HEAD TLOG(",\"validFor\":{\"end\":\"2021-01-12T11:53:27Z\"}")), SW_EFORMAT);
	assert_int_equal(root_rc(ROOT_HEAD TLOG(",\"validFor\":{\"start\":\"2022-01-12T11:53:27Z\","
						"\"end\":\"2021-01-12T11:53:27Z\"}")), SW_EFORMAT);
	assert_int_equal(root_rc(ROOT_HEAD TLOG(",\"validFor\":{\"start\":\"yesterday\"}")), SW_EFORMAT);
	assert_int_equal(root_rc("{\"mediaType\":\"application/vnd.dev.sigstore.trustedroot+json;version=0.2\"}"),
			 SW_EFORMAT);
	assert_int_equal(root_rc(ROOT_HEAD "\"tlogs\":[{\"publicKey\":{\"rawBytes\":\"AAAA\"},"
					   "\"logId\":{\"keyId\":\"wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=\"}}]}"),
			 SW_EFORMAT);
	assert_int_equal(root_rc(ROOT_HEAD "\"certificateAuthorities\":[{\"certChain\":{\"certificates\":[]}}]}"),
			 SW_EFORMAT);
	assert_int_equal(root_rc("not json"), SW_EFORMAT);
	assert_int_equal(sw_trustroot_load("/nonexistent/trusted_root.json", &tr, &err), SW_EIO);
}

/* A note signed by key, as a log signs its checkpoint. */
static char *note(EVP_PKEY *key, const uint8_t hint[4], const char *text, const char *before, const char *after)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t sig[300];
	size_t siglen = sizeof(sig) - 4;
	sw_buf b = SW_BUF_INIT(1u << 16), s = SW_BUF_INIT(1024);

	memcpy(sig, hint, 4);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, sig + 4, &siglen, (const uint8_t *)text, strlen(text)), 1);
	EVP_MD_CTX_free(md);
	sw_b64_encode(&s, sig, siglen + 4);
	sw_buf_printf(&b, "%s\n%s\xe2\x80\x94 rekor.test %s\n%s", text, before, sw_buf_cstr(&s), after);
	sw_buf_release(&s);
	return sw_buf_detach(&b, NULL);
}

static void cp_is(const sw_tr_log *log, const char *cp, int64_t size, const uint8_t root[32], const char *want)
{
	sw_error err = SW_ERROR_INIT;
	int rc = sw_tlog__checkpoint(cp, size, root, log, &err);

	if (!want && rc != 0)
		fail_msg("refused: %s\n%s", err.msg, cp);
	if (want && (rc != SW_EVERIFY || !strstr(err.msg, want)))
		fail_msg("rc %d \"%s\", want a refusal with \"%s\"\n%s", rc, err.msg, want, cp);
}

static void test_checkpoint(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-256");
	sw_tr_log log = { key, { 0xc0, 0xd2, 0x3d, 0x6a }, 0, SW_TIME_OPEN };
	uint8_t root[32], other_root[32];
	const char *text = "rekor.test - 42\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nTimestamp: 1\n";
	const char *witness = "\xe2\x80\x94 witness.example/w1 sE1vjwAAAABopPLqcjWVAVGAl48d2/LUcCJsxS4=\n";
	char *cp;

	(void)state;
	memset(root, 0, sizeof(root));
	memset(other_root, 1, sizeof(other_root));
	cp = note(key, log.id, text, "", "");
	cp_is(&log, cp, 3, root, NULL);
	cp_is(&log, cp, 4, root, "tree size");
	cp_is(&log, cp, 3, other_root, "root hash");
	free(cp);
	/* witnesses' cosignatures before or after the log's are skipped */
	cp = note(key, log.id, text, witness, witness);
	cp_is(&log, cp, 3, root, NULL);
	free(cp);
	/* the log's hint on another key's signature; another hint; no signature */
	cp = note(other, log.id, text, "", "");
	cp_is(&log, cp, 3, root, "does not verify");
	free(cp);
	cp = note(key, (const uint8_t *)"\xc1\xd2\x3d\x6a", text, "", "");
	cp_is(&log, cp, 3, root, "key hint");
	free(cp);
	cp_is(&log, "rekor.test - 42\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n", 3, root, "key hint");
	/* malformed notes */
	cp_is(&log, NULL, 3, root, "missing");
	cp_is(&log, "rekor.test - 42\n3\nAAAA\n", 3, root, "no signatures");
	cp_is(&log, "\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\nx\n", 3, root, "origin");
	cp_is(&log, "o\nthree\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\nx\n", 3, root, "tree size");
	cp_is(&log, "o\n03\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\nx\n", 3, root, "tree size");
	cp_is(&log, "o\n3\n\n\nx\n", 3, root, "root hash");
	cp_is(&log, "o\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n- o sig\n", 3, root, "signature line");
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

static void test_bad_arguments(void **state)
{
	sw_trustroot *tr = NULL;
	sw_bundle_info info;
	sw_error err = SW_ERROR_INIT;

	(void)state;
	assert_int_equal(sw_trustroot_load(NULL, &tr, &err), 0);
	assert_int_equal(sw_bundle_verify(tr, "{}", 2, "sha256:00", NULL, &info, &err), SW_EINVAL);
	assert_int_equal(sw_bundle_verify(NULL, "{}", 2, "sha256:" "0000000000000000000000000000000000000000000000000000000000000000",
					  NULL, &info, &err), SW_EINVAL);
	assert_int_equal(sw_bundle_verify(tr, "{}", 2, "sha256:" "0000000000000000000000000000000000000000000000000000000000000000",
					  NULL, &info, &err), SW_EVERIFY);
	assert_string_equal(err.msg, "bundle: unknown media type");
	sw_trustroot_free(tr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_int64),
		cmocka_unit_test(test_trusted_root),
		cmocka_unit_test(test_checkpoint),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
