/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for cosign-format keys (src/lib/sign/keys.c): both PEM labels
 * and every accepted scrypt N read back; a wrong password, a costlier or
 * smaller N, a truncated file and tampered ciphertext are refused; a plain
 * PKCS#8 key reads; the key signs what its public half verifies.
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
#include "../../src/lib/sign/keys.h"
#include "../../src/lib/sign/sigstore.h"
#include "../../src/lib/util/util.h"
#include "../../src/lib/util/banned.h"

static char dirpath[256];

static void paths(const char *name, char *priv, char *pub)
{
	snprintf(priv, 300, "%s/%s.key", dirpath, name);
	snprintf(pub, 300, "%s/%s.pub", dirpath, name);
}

static void roundtrip(const char *name, int64_t n, const char *label)
{
	char priv[300], pub[300], *sig;
	sw_privkey *k = NULL;
	sw_error err = SW_ERROR_INIT;
	sw_pubkeys *pk = NULL;
	const char *pp = pub;
	sw_buf msg = SW_BUF_INIT(64);

	paths(name, priv, pub);
	assert_int_equal(sw_key__generate(priv, pub, "pw", n, label, &err), 0);
	assert_int_equal(sw_privkey_load(priv, "pw", &k, &err), 0);
	/* what it signs, its public half verifies */
	assert_int_equal(sw_buf_append(&msg, "hello", 5), 0);
	assert_non_null(sig = sw_sig__sign_b64(k->pkey, &msg));
	assert_int_equal(sw_pubkeys_load(&pk, &pp, 1, &err), 0);
	assert_int_equal(sw_sig__key_verifies(pk, msg.data, msg.len, sig), 0);
	assert_int_equal(sw_sig__key_verifies(pk, "hellO", 5, sig), -1);
	free(sig);
	sw_buf_release(&msg);
	sw_privkey_free(k);
	sw_pubkeys_free(pk);
	k = NULL;
	assert_int_equal(sw_privkey_load(priv, "wrong", &k, &err), SW_EVERIFY);
	assert_non_null(strstr(err.msg, "wrong password"));
	assert_null(k);
}

static void test_labels_and_costs(void **state)
{
	(void)state;
	roundtrip("c32k", 32768, "ENCRYPTED COSIGN PRIVATE KEY");
	roundtrip("s64k", 65536, "ENCRYPTED SIGSTORE PRIVATE KEY");
	roundtrip("s128k", 131072, "ENCRYPTED SIGSTORE PRIVATE KEY");
}

static void test_refusals(void **state)
{
	char priv[300], pub[300], tpath[300];
	sw_privkey *k = NULL;
	sw_error err = SW_ERROR_INIT;
	sw_buf b = SW_BUF_INIT(1u << 20);
	FILE *f;
	char *mid;

	(void)state;
	paths("n1024", priv, pub);
	assert_int_equal(sw_key__generate(priv, pub, "pw", 1024, "ENCRYPTED COSIGN PRIVATE KEY", &err), 0);
	assert_int_equal(sw_privkey_load(priv, "pw", &k, &err), SW_EFORMAT);
	assert_non_null(strstr(err.msg, "N=1024"));
	/* never overwrites */
	assert_int_equal(sw_key__generate(priv, pub, "pw", 32768, "ENCRYPTED COSIGN PRIVATE KEY", &err), SW_EIO);
	/* truncated */
	paths("t", priv, pub);
	assert_int_equal(sw_key__generate(priv, pub, "pw", 32768, "ENCRYPTED COSIGN PRIVATE KEY", &err), 0);
	assert_int_equal(sw_file_read(priv, &b), 0);
	snprintf(tpath, sizeof(tpath), "%s/trunc.key", dirpath);
	f = fopen(tpath, "w");
	fwrite(b.data, 1, b.len / 2, f);
	fclose(f);
	assert_int_not_equal(sw_privkey_load(tpath, "pw", &k, &err), 0);
	/* a changed character in the middle of the body (ciphertext or JSON) */
	mid = b.data + b.len / 2;
	*mid = *mid == 'A' ? 'B' : 'A';
	f = fopen(tpath, "w");
	fwrite(b.data, 1, b.len, f);
	fclose(f);
	assert_int_not_equal(sw_privkey_load(tpath, "pw", &k, &err), 0);
	assert_null(k);
	sw_buf_release(&b);
	assert_int_equal(sw_privkey_load("/nonexistent", "pw", &k, &err), SW_ENOTFOUND);
}

static void test_plain_pkcs8(void **state)
{
	char path[300];
	EVP_PKEY *gen = EVP_EC_gen("P-256");
	sw_privkey *k = NULL;
	sw_error err = SW_ERROR_INIT;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/plain.pem", dirpath);
	f = fopen(path, "w");
	assert_int_equal(PEM_write_PrivateKey(f, gen, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	assert_int_equal(sw_privkey_load(path, "", &k, &err), 0);
	assert_int_equal(EVP_PKEY_eq(k->pkey, gen), 1);
	sw_privkey_free(k);
	sw_privkey_free(NULL);
	EVP_PKEY_free(gen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels_and_costs),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_plain_pkcs8),
	};
	char cmd[300];
	int rc;

	snprintf(dirpath, sizeof(dirpath), "/tmp/stowaway-keys-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", dirpath);
	if (system(cmd) != 0)
		return 2;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dirpath);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
