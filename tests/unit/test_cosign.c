/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cosign interoperability: the real signatures in tests/data/cosign (made by
 * cosign, taken from containers/image's fixtures; SOURCE.md there), read in
 * place. Every case listed in SOURCE.md must behave as it says: valid ones
 * verify (with the right key only), a signature for another manifest does
 * not count, a modified or schema-1 manifest fails. Then forgeries made
 * from the valid vector: a flipped bit in payload or signature, the
 * signature under another key, an extra field in the payload.
 * usage: test_cosign VECTORS_DIR
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "stowaway/sign.h"
#include "../../src/lib/util/util.h"
#include "../../src/lib/util/banned.h"

static const char *dir;

static char *slurp(const char *rel, size_t *len)
{
	char path[1024];
	sw_buf b = SW_BUF_INIT(1u << 24);

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (sw_file_read(path, &b) < 0)
		fail_msg("cannot read %s", path);
	*len = b.len;
	return sw_buf_detach(&b, NULL);
}

typedef struct vsig {
	char *payload;
	size_t plen;
	char *sig;
} vsig;

static vsig load_sig(const char *rel)
{
	size_t len;
	char *text = slurp(rel, &len);
	sw_json_doc *doc;
	const char *p64, *s64;
	vsig v;
	int n;

	assert_int_equal(sw_json_parse(text, len, &doc, NULL), 0);
	p64 = sw_json_get_str(sw_json_root(doc), "payload");
	s64 = sw_json_get_str(sw_json_get_obj(sw_json_root(doc), "annotations"), "dev.cosignproject.cosign/signature");
	assert_non_null(p64);
	assert_non_null(s64);
	v.payload = malloc(strlen(p64));
	n = EVP_DecodeBlock((unsigned char *)v.payload, (const unsigned char *)p64, (int)strlen(p64));
	assert_true(n > 0);
	v.plen = (size_t)n;
	/* EVP_DecodeBlock counts '=' padding as decoded zero bytes */
	for (len = strlen(p64); len && p64[len - 1] == '='; len--)
		v.plen--;
	v.sig = strdup(s64);
	sw_json_free(doc);
	free(text);
	return v;
}

static char *manifest_digest(const char *folder)
{
	char rel[256], *m, *out = malloc(SW_DIGEST_STRLEN);
	size_t len;
	uint8_t d[SW_SHA256_LEN];

	snprintf(rel, sizeof(rel), "%s/manifest.json", folder);
	m = slurp(rel, &len);
	/* valid-2's manifest.json is containers/image's symlink, stored as its
	 * text: "../dir-img-cosign-valid/manifest.json" (our folder "valid") */
	if (len > 18 && strncmp(m, "../dir-img-cosign-", 18) == 0) {
		char *slash = strchr(m + 18, '/');
		assert_non_null(slash);
		snprintf(rel, sizeof(rel), "%.*s/manifest.json", (int)(slash - (m + 18)), m + 18);
		free(m);
		m = slurp(rel, &len);
	}
	sw_sha256_buf(m, len, d);
	sw_digest_str(d, out);
	free(m);
	return out;
}

static sw_pubkeys *key(const char *name)
{
	char path[1024];
	const char *p = path;
	sw_pubkeys *k = NULL;
	sw_error err = SW_ERROR_INIT;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (sw_pubkeys_load(&k, &p, 1, &err) < 0)
		fail_msg("%s", err.msg);
	return k;
}

static sw_sig_status check(const char *folder, const char *sig, const char *keyname, sw_sig_result *r)
{
	char rel[256], *dg = manifest_digest(folder);
	vsig v;
	sw_pubkeys *k = key(keyname);

	snprintf(rel, sizeof(rel), "%s/%s", folder, sig);
	v = load_sig(rel);
	sw_sig_verify(k, v.payload, v.plen, v.sig, dg, NULL, SW_IDENTITY_ANY, r);
	free(v.payload);
	free(v.sig);
	free(dg);
	sw_pubkeys_free(k);
	return r->status;
}

static void test_readme_cases(void **state)
{
	sw_sig_result r;

	(void)state;
	assert_int_equal(check("valid", "signature-1.json", "cosign.pub", &r), SW_SIG_VALID);
	assert_string_equal(r.identity, "192.168.64.2:5000/cosign-signed-single-sample");
	assert_int_equal(check("valid-with-tag", "signature-1.json", "cosign.pub", &r), SW_SIG_VALID);
	assert_non_null(strchr(strrchr(r.identity, '/'), ':'));
	/* valid-2: the README says signature-2 claims another digest, but its
	 * payload is byte for byte signature-1's (only the ECDSA signature
	 * differs, and openssl verifies both): both count */
	assert_int_equal(check("valid-2", "signature-1.json", "cosign.pub", &r), SW_SIG_VALID);
	assert_int_equal(check("valid-2", "signature-2.json", "cosign.pub", &r), SW_SIG_VALID);
	assert_int_equal(check("key-rekor-valid", "signature-1.json", "cosign2.pub", &r), SW_SIG_VALID);
	assert_int_equal(check("key-rekor-valid", "signature-1.json", "cosign.pub", &r), SW_SIG_BAD_SIGNATURE);
	assert_int_equal(check("modified-manifest", "signature-1.json", "cosign.pub", &r), SW_SIG_WRONG_DIGEST);
	assert_int_equal(check("manifest-digest-error", "signature-1.json", "cosign.pub", &r), SW_SIG_WRONG_DIGEST);
	assert_non_null(strstr(r.reason, "signed for manifest"));
}

static void test_forgeries(void **state)
{
	vsig v = load_sig("valid/signature-1.json");
	char *dg = manifest_digest("valid");
	sw_pubkeys *k = key("cosign.pub"), *k2 = key("cosign2.pub");
	sw_sig_result r;
	size_t i;

	(void)state;
	sw_sig_verify(k, v.payload, v.plen, v.sig, dg, NULL, SW_IDENTITY_ANY, &r);
	assert_int_equal(r.status, SW_SIG_VALID);
	/* a flipped bit anywhere in the payload */
	for (i = 0; i < v.plen; i += 7) {
		v.payload[i] ^= 0x01;
		sw_sig_verify(k, v.payload, v.plen, v.sig, dg, NULL, SW_IDENTITY_ANY, &r);
		assert_int_equal(r.status, SW_SIG_BAD_SIGNATURE);
		v.payload[i] ^= 0x01;
	}
	/* a changed signature character (still base64) */
	for (i = 10; i < strlen(v.sig) - 4; i += 5) {
		char c = v.sig[i];
		v.sig[i] = c == 'A' ? 'B' : 'A';
		sw_sig_verify(k, v.payload, v.plen, v.sig, dg, NULL, SW_IDENTITY_ANY, &r);
		assert_true(r.status == SW_SIG_BAD_SIGNATURE || r.status == SW_SIG_MALFORMED);
		v.sig[i] = c;
	}
	/* the right signature under another key */
	sw_sig_verify(k2, v.payload, v.plen, v.sig, dg, NULL, SW_IDENTITY_ANY, &r);
	assert_int_equal(r.status, SW_SIG_BAD_SIGNATURE);
	/* not base64 at all */
	sw_sig_verify(k, v.payload, v.plen, "***", dg, NULL, SW_IDENTITY_ANY, &r);
	assert_int_equal(r.status, SW_SIG_MALFORMED);
	/* the identity rule: repository matches, another repository does not */
	sw_sig_verify(k, v.payload, v.plen, v.sig, dg, "192.168.64.2:5000/cosign-signed-single-sample:v9",
		      SW_IDENTITY_REPOSITORY, &r);
	assert_int_equal(r.status, SW_SIG_VALID);
	sw_sig_verify(k, v.payload, v.plen, v.sig, dg, "192.168.64.2:5000/other", SW_IDENTITY_REPOSITORY, &r);
	assert_int_equal(r.status, SW_SIG_WRONG_IDENTITY);
	free(v.payload);
	free(v.sig);
	free(dg);
	sw_pubkeys_free(k);
	sw_pubkeys_free(k2);
}

/* Sign with a key of our own (so payload shapes can vary) and hold the
 * verifier to the payload rules containers/image applies. */
static char *sign_b64(EVP_PKEY *pk, const char *payload)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char sig[256], *b64 = malloc(400);
	size_t sl = sizeof(sig);

	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &sl, (const unsigned char *)payload, strlen(payload)), 1);
	EVP_MD_CTX_free(md);
	EVP_EncodeBlock(b64, sig, (int)sl);
	return (char *)b64;
}

static void test_payload_rules(void **state)
{
	static const char *const D = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	static const struct { const char *payload; sw_sig_status want; } cases[] = {
		{ "{\"critical\":{\"identity\":{\"docker-reference\":\"index.docker.io/library/x\"},\"image\":"
		  "{\"docker-manifest-digest\":\"%s\"},\"type\":\"cosign container image signature\"},\"optional\":null}",
		  SW_SIG_VALID },
		{ "{\"critical\":{\"identity\":{\"docker-reference\":\"x\"},\"image\":{\"docker-manifest-digest\":\"%s\"},"
		  "\"type\":\"cosign container image signature\"},\"optional\":{\"a\":\"b\"}}", SW_SIG_VALID },
		{ "{\"critical\":{\"identity\":{\"docker-reference\":\"x\"},\"image\":{\"docker-manifest-digest\":\"%s\"},"
		  "\"type\":\"cosign container image signature\"},\"optional\":null,\"extra\":1}", SW_SIG_MALFORMED },
		{ "{\"critical\":{\"identity\":{\"docker-reference\":\"x\"},\"image\":{\"docker-manifest-digest\":\"%s\"},"
		  "\"type\":\"something else\"},\"optional\":null}", SW_SIG_MALFORMED },
		{ "{\"critical\":{\"identity\":{\"docker-reference\":\"x\"},\"image\":{\"docker-manifest-digest\":\"%s\","
		  "\"more\":1},\"type\":\"cosign container image signature\"},\"optional\":null}", SW_SIG_MALFORMED },
		{ "{\"critical\":{\"identity\":{\"docker-reference\":\"x\"},\"image\":{\"docker-manifest-digest\":"
		  "\"sha256:ff%s\"},\"type\":\"cosign container image signature\"},\"optional\":null}", SW_SIG_WRONG_DIGEST },
		{ "not json %s", SW_SIG_MALFORMED },
	};
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	char path[256], payload[1024];
	const char *pp = path;
	sw_pubkeys *k = NULL;
	sw_error err = SW_ERROR_INIT;
	FILE *f;
	size_t i;

	(void)state;
	assert_non_null(pk);
	snprintf(path, sizeof(path), "/tmp/stowaway-test-%d.pub", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, pk), 1);
	fclose(f);
	assert_int_equal(sw_pubkeys_load(&k, &pp, 1, &err), 0);
	remove(path);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sw_sig_result r;
		char *sig;
		snprintf(payload, sizeof(payload), cases[i].payload, D);
		sig = sign_b64(pk, payload);
		sw_sig_verify(k, payload, strlen(payload), sig, D, NULL, SW_IDENTITY_ANY, &r);
		if (r.status != cases[i].want)
			fail_msg("case %zu: status %d (%s), want %d", i, r.status, r.reason, cases[i].want);
		free(sig);
	}
	sw_pubkeys_free(k);
	EVP_PKEY_free(pk);
}

static void test_bad_keys(void **state)
{
	const char *paths[] = { "/nonexistent/key.pub" };
	const char *data[] = { "data:bm90IGEga2V5" };
	sw_pubkeys *k = NULL;
	sw_error err = SW_ERROR_INIT;
	char trunc[1024], *pem;
	size_t len;
	const char *tp = trunc;
	FILE *f;

	(void)state;
	assert_int_equal(sw_pubkeys_load(&k, paths, 1, &err), SW_ENOTFOUND);
	assert_int_equal(sw_pubkeys_load(&k, data, 1, &err), SW_EFORMAT);
	/* a truncated key file */
	pem = slurp("cosign.pub", &len);
	snprintf(trunc, sizeof(trunc), "/tmp/stowaway-trunc-%d.pub", (int)getpid());
	f = fopen(trunc, "wb");
	assert_non_null(f);
	fwrite(pem, 1, len / 2, f);
	fclose(f);
	assert_int_equal(sw_pubkeys_load(&k, &tp, 1, &err), SW_EFORMAT);
	assert_non_null(strstr(err.msg, "not a PEM PUBLIC KEY"));
	remove(trunc);
	free(pem);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readme_cases),
		cmocka_unit_test(test_forgeries),
		cmocka_unit_test(test_payload_rules),
		cmocka_unit_test(test_bad_keys),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: test_cosign VECTORS_DIR\n");
		return 2;
	}
	dir = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
