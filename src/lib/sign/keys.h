/* SPDX-License-Identifier: Apache-2.0 */
/* Key generation with chosen scrypt N and PEM label: for tests of the
 * reader (cosign writes N=65536 and the SIGSTORE label; we write 32768). */
#ifndef SW_SIGN_KEYS_H
#define SW_SIGN_KEYS_H

#include <stdint.h>

#include "stowaway/sign.h"

int sw_key__generate(const char *priv_path, const char *pub_path, const char *password, int64_t scrypt_n,
		     const char *label, sw_error *err);

#endif
