/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the signature and attestation readers past their signature checks:
 * the harness signs whatever it is given with a key of its own, so the
 * strict simple-signing payload reader and the DSSE/in-toto statement
 * reader see arbitrary bytes as if a trusted key had signed them. First
 * byte even: the input is a cosign payload; odd: an in-toto statement
 * (wrapped in a DSSE envelope here), or, when the second byte is odd too,
 * a raw envelope, or, when it is 3 modulo 4, the payload of a Rekor SET
 * (written canonically, which must be a fixed point, and signed here as
 * the log would sign it). Nothing may crash; results must be consistent. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "stowaway/sign.h"
#include "../src/lib/sign/sigstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *key;
static sw_pubkeys *pub;
static const char DIGEST[] = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void setup(void)
{
	char path[64];
	const char *p = path;
	FILE *f;

	key = EVP_EC_gen("P-256");
	snprintf(path, sizeof(path), "/tmp/stowaway-fuzz-%d.pub", (int)getpid());
	f = fopen(path, "w");
	if (!key || !f || PEM_write_PUBKEY(f, key) != 1)
		abort();
	fclose(f);
	if (sw_pubkeys_load(&pub, &p, 1, NULL) < 0)
		abort();
	remove(path);
}

/* A Rekor SET over the input as its payload, signed by the harness's key
 * playing the log: the entry reader runs past the log's signature. */
static void rekor(const char *p, size_t n)
{
	sw_json_doc *doc = NULL, *again = NULL;
	sw_buf c1 = SW_BUF_INIT(1u << 22), c2 = SW_BUF_INIT(1u << 22), bundle = SW_BUF_INIT(1u << 23);
	sw_error err = SW_ERROR_INIT;
	char *set = NULL;

	if (sw_json_parse(p, n, &doc, NULL) < 0)
		goto out;
	if (sw_sig__canonical(&c1, sw_json_root(doc)) == 0) {
		/* canonical JSON is a fixed point */
		if (sw_json_parse(c1.data, c1.len, &again, NULL) < 0 || sw_sig__canonical(&c2, sw_json_root(again)) < 0 ||
		    c1.len != c2.len || memcmp(c1.data, c2.data, c1.len) != 0)
			abort();
		if (!(set = sw_sig__sign_b64(key, &c1)))
			abort();
		sw_buf_printf(&bundle, "{\"SignedEntryTimestamp\":\"%s\",\"Payload\":%.*s}", set, (int)n, p);
		sw_rekor_set_verify(pub, sw_buf_cstr(&bundle), pub, 0, "AAAA", "", 0, &err);
	}
out:
	free(set);
	sw_buf_release(&c1);
	sw_buf_release(&c2);
	sw_buf_release(&bundle);
	sw_json_free(doc);
	sw_json_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sw_buf in = SW_BUF_INIT(1u << 22);
	char *sig;

	if (!key)
		setup();
	if (size < 2)
		return 0;
	if (!(data[0] & 1)) {
		sw_sig_result r;
		sw_buf_append(&in, data + 1, size - 1);
		if (!(sig = sw_sig__sign_b64(key, &in)))
			abort();
		sw_identity repo = { SW_IDENTITY_REPOSITORY, NULL, NULL };
		sw_sig_verify(pub, in.data ? in.data : "", in.len, sig, DIGEST, "registry.example.com/a/b", &repo, &r);
		if (r.key != 0 || (r.status == SW_SIG_VALID && strcmp(r.digest, DIGEST) != 0))
			abort(); /* our own signature must verify; valid means this digest */
		free(sig);
	} else if (!(data[1] & 1)) {
		sw_att_result r;
		sw_buf pae = SW_BUF_INIT(1u << 22), env = SW_BUF_INIT(1u << 23);
		char *b64 = malloc(4 * ((size - 2 + 2) / 3) + 1);
		sw_buf_printf(&pae, "DSSEv1 28 application/vnd.in-toto+json %zu ", size - 2);
		sw_buf_append(&pae, data + 2, size - 2);
		if (!b64 || !(sig = sw_sig__sign_b64(key, &pae)))
			abort();
		EVP_EncodeBlock((unsigned char *)b64, data + 2, (int)(size - 2));
		sw_buf_printf(&env, "{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"%s\",\"signatures\":[{\"sig\":\"%s\"}]}",
			      b64, sig);
		sw_att__verify_envelope(pub, env.data, env.len, DIGEST, NULL, NULL, &r);
		if (r.status == SW_SIG_BAD_SIGNATURE)
			abort(); /* we signed it */
		free(b64);
		free(sig);
		sw_buf_release(&pae);
		sw_buf_release(&env);
	} else if ((data[1] & 3) == 3) {
		rekor((const char *)data + 2, size - 2);
	} else {
		sw_att_result r;
		sw_att__verify_envelope(pub, (const char *)data + 2, size - 2, DIGEST, NULL, NULL, &r);
		if (r.status == SW_SIG_VALID)
			abort(); /* nobody but the harness holds the key */
	}
	sw_buf_release(&in);
	return 0;
}
