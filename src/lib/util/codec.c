/* SPDX-License-Identifier: Apache-2.0 */
/* Standard base64 (through OpenSSL) and writing a whole buffer: the small
 * pieces the signing, registry and layout writers share. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util.h"
#include "banned.h"

int sw_b64_encode(sw_buf *out, const void *p, size_t n)
{
	size_t cap = 4 * ((n + 2) / 3) + 1;
	char *tmp;
	int rc;

	if (n > (size_t)1 << 30 || !(tmp = malloc(cap)))
		return SW_ENOMEM;
	EVP_EncodeBlock((unsigned char *)tmp, p, (int)n);
	rc = sw_buf_append(out, tmp, strlen(tmp));
	free(tmp);
	return rc;
}

int sw_b64_decode(const char *in, size_t n, uint8_t **out, size_t *outn)
{
	size_t pad = 0;
	int got;

	*out = NULL;
	*outn = 0;
	if (n % 4 || n > (size_t)1 << 30)
		return SW_EFORMAT;
	while (pad < 2 && n > pad && in[n - 1 - pad] == '=')
		pad++;
	if (!(*out = malloc(n / 4 * 3 + 1)))
		return SW_ENOMEM;
	got = n ? EVP_DecodeBlock(*out, (const unsigned char *)in, (int)n) : 0;
	if (got < 0 || (size_t)got < pad) {
		free(*out);
		*out = NULL;
		return SW_EFORMAT;
	}
	*outn = (size_t)got - pad; /* EVP_DecodeBlock counts padding as zero bytes */
	return 0;
}

int sw_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return SW_EIO;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int sw_pread_all(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? SW_EIO : SW_EFORMAT;
		got += (size_t)r;
	}
	return 0;
}
