/* SPDX-License-Identifier: Apache-2.0 */
/* Private keys inside the library: what an sw_privkey holds, for the
 * signers (sign.c, attest.c) and the tests. */
#ifndef SW_SIGN_KEYS_H
#define SW_SIGN_KEYS_H

#include <stdint.h>

#include <openssl/evp.h>

#include "stowaway/sign.h"

struct sw_privkey {
	EVP_PKEY *pkey;   /* never NULL */
};

/* Key generation with chosen scrypt N and PEM label: for tests of the
 * reader (cosign writes N=65536 and the SIGSTORE label; we write 32768). */
int sw_key__generate(const char *priv_path, const char *pub_path, const char *password, int64_t scrypt_n,
		     const char *label, sw_error *err);

#endif
