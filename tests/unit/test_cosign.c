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

#define assert_has(hay, needle) do { \
	if (!strstr((hay), (needle))) \
		fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle)); \
} while (0)

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
	char *bundle;      /* dev.sigstore.cosign/bundle, or NULL */
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
	s64 = sw_json_get_str(sw_json_get_obj(sw_json_root(doc), "annotations"), "dev.sigstore.cosign/bundle");
	v.bundle = s64 ? strdup(s64) : NULL;
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
	sw_sig_verify(k, v.payload, v.plen, v.sig, dg, NULL, NULL, r);
	free(v.payload);
	free(v.sig);
	free(v.bundle);
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
	sw_identity repo = { SW_IDENTITY_REPOSITORY, NULL, NULL }, rdoe = { SW_IDENTITY_REPO_DIGEST_OR_EXACT, NULL, NULL };
	sw_sig_result r;
	size_t i;

	(void)state;
	sw_sig_verify(k, v.payload, v.plen, v.sig, dg, NULL, NULL, &r);
	assert_int_equal(r.status, SW_SIG_VALID);
	/* a flipped bit anywhere in the payload */
	for (i = 0; i < v.plen; i += 7) {
		v.payload[i] ^= 0x01;
		sw_sig_verify(k, v.payload, v.plen, v.sig, dg, NULL, NULL, &r);
		assert_int_equal(r.status, SW_SIG_BAD_SIGNATURE);
		v.payload[i] ^= 0x01;
	}
	/* a changed signature character (still base64) */
	for (i = 10; i < strlen(v.sig) - 4; i += 5) {
		char c = v.sig[i];
		v.sig[i] = c == 'A' ? 'B' : 'A';
		sw_sig_verify(k, v.payload, v.plen, v.sig, dg, NULL, NULL, &r);
		assert_true(r.status == SW_SIG_BAD_SIGNATURE || r.status == SW_SIG_MALFORMED);
		v.sig[i] = c;
	}
	/* the right signature under another key */
	sw_sig_verify(k2, v.payload, v.plen, v.sig, dg, NULL, NULL, &r);
	assert_int_equal(r.status, SW_SIG_BAD_SIGNATURE);
	/* not base64 at all */
	sw_sig_verify(k, v.payload, v.plen, "***", dg, NULL, NULL, &r);
	assert_int_equal(r.status, SW_SIG_MALFORMED);
	/* the identity rule: repository matches, another repository does not */
	sw_sig_verify(k, v.payload, v.plen, v.sig, dg, "192.168.64.2:5000/cosign-signed-single-sample:v9", &repo, &r);
	assert_int_equal(r.status, SW_SIG_VALID);
	sw_sig_verify(k, v.payload, v.plen, v.sig, dg, "192.168.64.2:5000/other", &repo, &r);
	assert_int_equal(r.status, SW_SIG_WRONG_IDENTITY);
	/* cosign signs the repository alone: containers/image's default
	 * (matchRepoDigestOrExact) and matchExact never take it */
	sw_sig_verify(k, v.payload, v.plen, v.sig, dg, "192.168.64.2:5000/cosign-signed-single-sample:latest", &rdoe, &r);
	assert_int_equal(r.status, SW_SIG_WRONG_IDENTITY);
	free(v.payload);
	free(v.sig);
	free(v.bundle);
	free(dg);
	sw_pubkeys_free(k);
	sw_pubkeys_free(k2);
}

/* The Rekor SET cosign attached to key-rekor-valid: signed by the public
 * log's key over the canonical JSON of its payload, for cosign2.pub, this
 * signature and this payload; anything else fails. */
static void test_rekor_set(void **state)
{
	vsig v = load_sig("key-rekor-valid/signature-1.json");
	sw_pubkeys *rk = key("rekor.pub"), *k = key("cosign.pub"), *k2 = key("cosign2.pub");
	sw_error err = SW_ERROR_INIT;
	char *b, *p;

	(void)state;
	assert_non_null(v.bundle);
	assert_int_equal(sw_rekor_set_verify(rk, v.bundle, k2, 0, v.sig, v.payload, v.plen, &err), 0);
	/* the log's key must be the log's: cosign2.pub is not */
	assert_int_equal(sw_rekor_set_verify(k2, v.bundle, k2, 0, v.sig, v.payload, v.plen, &err), SW_EVERIFY);
	assert_has(err.msg, "no trusted Rekor key");
	/* the entry names cosign2.pub, not cosign.pub */
	assert_int_equal(sw_rekor_set_verify(rk, v.bundle, k, 0, v.sig, v.payload, v.plen, &err), SW_EVERIFY);
	assert_has(err.msg, "another public key");
	/* another payload */
	v.payload[3] ^= 1;
	assert_int_equal(sw_rekor_set_verify(rk, v.bundle, k2, 0, v.sig, v.payload, v.plen, &err), SW_EVERIFY);
	assert_has(err.msg, "another payload");
	v.payload[3] ^= 1;
	/* no bundle; a bundle with a member more; a payload changed after signing */
	assert_int_equal(sw_rekor_set_verify(rk, NULL, k2, 0, v.sig, v.payload, v.plen, &err), SW_EVERIFY);
	b = malloc(strlen(v.bundle) + 16);
	snprintf(b, strlen(v.bundle) + 16, "{\"x\":1,%s", v.bundle + 1);
	assert_int_equal(sw_rekor_set_verify(rk, b, k2, 0, v.sig, v.payload, v.plen, &err), SW_EVERIFY);
	memcpy(b, v.bundle, strlen(v.bundle) + 1);
	assert_non_null(p = strstr(b, "\"logIndex\":"));
	p[11] = p[11] == '9' ? '8' : '9';
	assert_int_equal(sw_rekor_set_verify(rk, b, k2, 0, v.sig, v.payload, v.plen, &err), SW_EVERIFY);
	assert_has(err.msg, "no trusted Rekor key");
	free(b);
	/* white space does not matter: the log signed the canonical form */
	assert_non_null(p = strstr(v.bundle, "\"Payload\":{"));
	b = malloc(strlen(v.bundle) + 8);
	snprintf(b, strlen(v.bundle) + 8, "%.*s\"Payload\" :\n { %s", (int)(p - v.bundle), v.bundle, p + 11);
	assert_int_equal(sw_rekor_set_verify(rk, b, k2, 0, v.sig, v.payload, v.plen, &err), 0);
	free(b);
	free(v.payload);
	free(v.sig);
	free(v.bundle);
	sw_pubkeys_free(rk);
	sw_pubkeys_free(k);
	sw_pubkeys_free(k2);
}

/* containers/image's signedIdentity rules, case by case
 * (signature/policy_reference_match.go and its tests). */
static void test_identity_rules(void **state)
{
	static const struct {
		sw_identity_rule rule;
		const char *value, *signed_prefix, *image, *signed_ref;
		bool want;
	} cases[] = {
		{ SW_IDENTITY_ANY, NULL, NULL, "a.example/x:1", "other.example/y", true },
		/* matchRepository */
		{ SW_IDENTITY_REPOSITORY, NULL, NULL, "a.example/ns/x:1", "a.example/ns/x", true },
		{ SW_IDENTITY_REPOSITORY, NULL, NULL, "a.example/ns/x:1", "a.example/ns/x:2", true },
		{ SW_IDENTITY_REPOSITORY, NULL, NULL, "busybox:latest", "index.docker.io/library/busybox", true },
		{ SW_IDENTITY_REPOSITORY, NULL, NULL, "a.example/ns/x:1", "a.example/ns/y", false },
		{ SW_IDENTITY_REPOSITORY, NULL, NULL, NULL, "a.example/ns/x", false },
		/* matchExact */
		{ SW_IDENTITY_EXACT, NULL, NULL, "a.example/x:1", "a.example/x:1", true },
		{ SW_IDENTITY_EXACT, NULL, NULL, "a.example/x:1", "a.example/x", false },
		{ SW_IDENTITY_EXACT, NULL, NULL, "a.example/x:1", "a.example/x:2", false },
		{ SW_IDENTITY_EXACT, NULL, NULL, "a.example/x", "a.example/x", false },
		{ SW_IDENTITY_EXACT, NULL, NULL, "busybox:latest", "docker.io/library/busybox:latest", true },
		/* matchRepoDigestOrExact */
		{ SW_IDENTITY_REPO_DIGEST_OR_EXACT, NULL, NULL, "a.example/x:1", "a.example/x:1", true },
		{ SW_IDENTITY_REPO_DIGEST_OR_EXACT, NULL, NULL, "a.example/x:1", "a.example/x", false },
		{ SW_IDENTITY_REPO_DIGEST_OR_EXACT, NULL, NULL, "a.example/x:1", "a.example/x:2", false },
		{ SW_IDENTITY_REPO_DIGEST_OR_EXACT, NULL, NULL,
		  "a.example/x@sha256:0000000000000000000000000000000000000000000000000000000000000000", "a.example/x:7", true },
		{ SW_IDENTITY_REPO_DIGEST_OR_EXACT, NULL, NULL,
		  "a.example/x@sha256:0000000000000000000000000000000000000000000000000000000000000000", "a.example/x",
		  false },
		{ SW_IDENTITY_REPO_DIGEST_OR_EXACT, NULL, NULL,
		  "a.example/x@sha256:0000000000000000000000000000000000000000000000000000000000000000", "a.example/y:7",
		  false },
		/* exactReference: the image's own name does not matter */
		{ SW_IDENTITY_EXACT_REFERENCE, "a.example/x:1", NULL, "b.example/y:2", "a.example/x:1", true },
		{ SW_IDENTITY_EXACT_REFERENCE, "a.example/x:1", NULL, NULL, "a.example/x:1", true },
		{ SW_IDENTITY_EXACT_REFERENCE, "a.example/x:1", NULL, "a.example/x:1", "a.example/x", false },
		{ SW_IDENTITY_EXACT_REFERENCE, "a.example/x:1", NULL, "a.example/x:1", "a.example/x:2", false },
		/* exactRepository */
		{ SW_IDENTITY_EXACT_REPOSITORY, "a.example/x", NULL, "b.example/y:2", "a.example/x", true },
		{ SW_IDENTITY_EXACT_REPOSITORY, "a.example/x", NULL, "b.example/y:2", "a.example/x:9", true },
		{ SW_IDENTITY_EXACT_REPOSITORY, "a.example/x", NULL, "b.example/y:2", "a.example/xx", false },
		/* remapIdentity: then as matchRepoDigestOrExact */
		{ SW_IDENTITY_REMAP, "mirror.example/ns", "a.example/team", "mirror.example/ns/app:1", "a.example/team/app:1",
		  true },
		{ SW_IDENTITY_REMAP, "mirror.example/ns", "a.example/team", "mirror.example/ns/app:1", "a.example/team/app",
		  false },
		{ SW_IDENTITY_REMAP, "mirror.example/ns", "a.example/team", "mirror.example/nsx/app:1",
		  "a.example/team/app:1", false },
		{ SW_IDENTITY_REMAP, "mirror.example/ns", "a.example/team", "mirror.example/nsx/app:1",
		  "mirror.example/nsx/app:1", true },
		/* the rewritten name must be canonical: docker.io/busybox is not */
		{ SW_IDENTITY_REMAP, "mirror.example/lib", "docker.io", "mirror.example/lib/busybox:1", "busybox:1", false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sw_identity id = { cases[i].rule, cases[i].value, cases[i].signed_prefix };
		if (sw_identity_match(&id, cases[i].image, cases[i].signed_ref) != cases[i].want)
			fail_msg("case %zu: %s signed as %s: want %d", i, cases[i].image ? cases[i].image : "(none)",
				 cases[i].signed_ref, cases[i].want);
	}
	assert_true(sw_identity_match(NULL, NULL, "anything"));
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
		sw_sig_verify(k, payload, strlen(payload), sig, D, NULL, NULL, &r);
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
		cmocka_unit_test(test_rekor_set),
		cmocka_unit_test(test_identity_rules),
		cmocka_unit_test(test_bad_keys),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: test_cosign VECTORS_DIR\n");
		return 2;
	}
	dir = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
