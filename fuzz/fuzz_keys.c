/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the private key reader (sign/keys.c): cosign's encrypted keys (PEM
 * around base64 JSON: scrypt parameters, salt, nonce, secretbox
 * ciphertext) and plain or encrypted PEM keys, read with a fixed password.
 * The bytes live in a memfd so the real file path code runs. A key is
 * either read whole or refused with a reason. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stowaway/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sw_privkey *pk = NULL;
	sw_error err = SW_ERROR_INIT;
	char path[64];
	int fd = memfd_create("fuzz", 0), rc;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rc = sw_privkey_load(path, "fuzz-password", &pk, &err);
	close(fd);
	if ((rc == 0) != (pk != NULL) || (rc != 0 && !err.msg[0]))
		abort();
	sw_privkey_free(pk);
	return 0;
}
