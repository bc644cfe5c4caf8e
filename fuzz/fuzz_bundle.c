/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the Sigstore readers: the first byte picks one, the rest is its
 * input. 0: a bundle, verified keyless against the built-in trusted root
 * for a fixed digest; 1: the same bundle verified with a key (keyed
 * bundles, log entries optional); 2: a trusted_root.json; 3: a checkpoint
 * (signed note) for a fixed tree, against a log key of the harness's.
 * The digest is that of the conformance suite's a.txt, so real bundles in
 * the corpus run every check to the end. Nothing may crash or leak; a
 * checkpoint can never verify (no input carries a signature by a key
 * made here). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "stowaway/sign.h"
#include "../src/lib/sign/bundle_int.h"
#include "../src/lib/sign/sigstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char DIGEST[] = "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf";
static sw_trustroot *root;
static sw_pubkeys *pub;
static sw_tr_log log_;

static void setup(void)
{
	char path[64];
	const char *p = path;
	FILE *f;
	EVP_PKEY *key = EVP_EC_gen("P-256");

	snprintf(path, sizeof(path), "/tmp/stowaway-fuzz-bundle-%d.pub", (int)getpid());
	f = fopen(path, "w");
	if (!key || !f || PEM_write_PUBKEY(f, key) != 1)
		abort();
	fclose(f);
	if (sw_pubkeys_load(&pub, &p, 1, NULL) < 0 || sw_trustroot_load(NULL, &root, NULL) < 0)
		abort();
	remove(path);
	log_.key = key; /* kept for the process's life */
	memcpy(log_.id, "\xc0\xd2\x3d\x6a", 4);
	log_.end = SW_TIME_OPEN;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sw_bundle_want want = SW_BUNDLE_WANT_INIT;
	sw_bundle_info info;
	sw_trustroot *tr = NULL;
	uint8_t tree[32] = { 0 };
	char *text;

	if (!root)
		setup();
	if (size < 1 || !(text = malloc(size)))
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		want.identity_regexp = ".";
		want.issuer_regexp = ".";
		sw_bundle_verify(root, text, size - 1, DIGEST, &want, &info, NULL);
		break;
	case 1:
		want.keys = pub;
		want.no_tlog = true;
		sw_bundle_verify(root, text, size - 1, DIGEST, &want, &info, NULL);
		break;
	case 2:
		if (sw_tr__parse(text, size - 1, "fuzz", &tr, NULL) == 0)
			sw_trustroot_free(tr);
		break;
	default:
		if (sw_tlog__checkpoint(text, 3, tree, &log_, NULL) == 0)
			abort();
		break;
	}
	free(text);
	return 0;
}
