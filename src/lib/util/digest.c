/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SHA-256 through OpenSSL's EVP interface (which uses the CPU's SHA
 * extensions where present), and the strict digest-string grammar: we only
 * accept "sha256:" followed by exactly 64 lowercase hex digits, as the OCI
 * image spec requires for the algorithm we implement.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

#include "util.h"
#include "banned.h"

struct sw_sha256 {
	EVP_MD_CTX *ctx;
};

/* The implementation fetched once: EVP_sha256() makes OpenSSL 3 look it up
 * again at every init, which a scan does for every file. */
static EVP_MD *fetched;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch(void)
{
	fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *sha256_md(void)
{
	pthread_once(&fetch_once, fetch);
	return fetched ? fetched : EVP_sha256();
}

sw_sha256 *sw_sha256_new(void)
{
	sw_sha256 *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, sha256_md(), NULL) != 1) {
		EVP_MD_CTX_free(h->ctx);
		free(h);
		return NULL;
	}
	return h;
}

void sw_sha256_free(sw_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void sw_sha256_reset(sw_sha256 *h)
{
	EVP_DigestInit_ex(h->ctx, sha256_md(), NULL);
}

void sw_sha256_update(sw_sha256 *h, const void *p, size_t n)
{
	EVP_DigestUpdate(h->ctx, p, n);
}

void sw_sha256_final(sw_sha256 *h, uint8_t out[SW_SHA256_LEN])
{
	unsigned int n = SW_SHA256_LEN;

	EVP_DigestFinal_ex(h->ctx, out, &n);
}

void sw_sha256_buf(const void *p, size_t n, uint8_t out[SW_SHA256_LEN])
{
	unsigned int len = SW_SHA256_LEN;

	EVP_Digest(p, n, out, &len, sha256_md(), NULL);
}

/* MD5, only to compare a file with the digest a package database recorded
 * for it (dpkg's md5sums): never to identify content on its own. */
void sw_md5_buf(const void *p, size_t n, uint8_t out[SW_MD5_LEN])
{
	unsigned int len = SW_MD5_LEN;

	EVP_Digest(p, n, out, &len, EVP_md5(), NULL);
}

/* SHA-1, only to compare a file with apk's record of it (Z:Q1...). */
void sw_sha1_buf(const void *p, size_t n, uint8_t out[SW_SHA1_LEN])
{
	unsigned int len = SW_SHA1_LEN;

	EVP_Digest(p, n, out, &len, EVP_sha1(), NULL);
}

void sw_hex(const uint8_t *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int sw_unhex(const char *p, size_t n, uint8_t *out)
{
	size_t i;

	for (i = 0; i < 2 * n; i++) {
		int c = (unsigned char)p[i], v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
						 c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (v < 0)
			return SW_EFORMAT;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return 0;
}

void sw_digest_str(const uint8_t d[SW_SHA256_LEN], char out[SW_DIGEST_STRLEN])
{
	memcpy(out, "sha256:", 7);
	sw_hex(d, SW_SHA256_LEN, out + 7);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int sw_digest_parse(const char *s, uint8_t out[SW_SHA256_LEN])
{
	size_t i;

	if (!s || strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
		return SW_EFORMAT;
	for (i = 0; i < SW_SHA256_LEN; i++) {
		int hi = hexval(s[7 + 2 * i]), lo = hexval(s[8 + 2 * i]);
		if (hi < 0 || lo < 0)
			return SW_EFORMAT;
		if (out)
			out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

bool sw_digest_valid(const char *s)
{
	return sw_digest_parse(s, NULL) == 0;
}
