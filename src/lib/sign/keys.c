/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signing keys in cosign's format (FORMATS.md §6.3). A private key file is
 * PEM whose body is JSON:
 *   {"kdf":{"name":"scrypt","params":{"N":..,"r":8,"p":1},"salt":b64(32)},
 *    "cipher":{"name":"nacl/secretbox","nonce":b64(24)},
 *    "ciphertext":b64(secretbox(PKCS#8 DER))}
 * with key = scrypt(password, salt, N, r, p, 32). We write the label
 * "ENCRYPTED COSIGN PRIVATE KEY" with N = 32768 (what every cosign and
 * containers/image version reads) and read that label and "ENCRYPTED
 * SIGSTORE PRIVATE KEY" with N in {32768, 65536, 131072}; plain PKCS#8 or
 * SEC1 PEM keys are read too. Passwords, derived keys and decrypted key
 * bytes are wiped (sodium_memzero) as soon as they are used. A key read is
 * an sw_privkey, opaque outside src/lib/sign: the OpenSSL key inside never
 * reaches a caller.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "stowaway/sign.h"
#include "keys.h"
#include "../util/util.h"
#include "../util/banned.h"

#define LABEL_COSIGN "ENCRYPTED COSIGN PRIVATE KEY"
#define LABEL_SIGSTORE "ENCRYPTED SIGSTORE PRIVATE KEY"
#define WRITE_N 32768

static int write_file(const char *path, const char *text, mode_t mode, sw_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode), rc = 0;

	if (fd < 0)
		return sw_error_set(err, SW_EIO, "%s: %s%s", path, strerror(errno),
				    errno == EEXIST ? " (not overwritten)" : "");
	if (sw_write_all(fd, text, strlen(text)) < 0)
		rc = sw_error_set(err, SW_EIO, "%s: %s", path, strerror(errno));
	close(fd);
	return rc;
}


/* "key": the base64 of n bytes, through the JSON writer. */
static void kb64(sw_jw *w, const char *key, const void *p, size_t n)
{
	sw_buf b = SW_BUF_INIT(SIZE_MAX);

	if (sw_b64_encode(&b, p, n) < 0 && !w->b->err)
		w->b->err = SW_ENOMEM;
	sw_jw_kstr(w, key, sw_buf_cstr(&b));
	sw_buf_release(&b);
}

int sw_key__generate(const char *priv_path, const char *pub_path, const char *password, int64_t scrypt_n,
		     const char *label, sw_error *err)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	uint8_t salt[32], nonce[crypto_secretbox_NONCEBYTES], key[32];
	unsigned char *der = NULL, *ct = NULL;
	int derlen;
	sw_buf json = SW_BUF_INIT(1u << 16), pem = SW_BUF_INIT(1u << 16), b64 = SW_BUF_INIT(1u << 16);
	BIO *bio = NULL;
	char *pubpem = NULL;
	long publen;
	size_t i;
	int rc = 0;

	if (sodium_init() < 0 || !pk)
		return sw_error_set(err, SW_ERROR, "cannot initialise the crypto libraries");
	/* PKCS#8 DER of the private key */
	{
		PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pk);
		derlen = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;
		PKCS8_PRIV_KEY_INFO_free(p8);
	}
	if (derlen <= 0) {
		rc = sw_error_set(err, SW_ERROR, "cannot encode the private key");
		goto out;
	}
	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(nonce, sizeof(nonce));
	if (crypto_pwhash_scryptsalsa208sha256_ll((const uint8_t *)password, strlen(password), salt, sizeof(salt),
						   (uint64_t)scrypt_n, 8, 1, key, sizeof(key)) != 0) {
		rc = sw_error_set(err, SW_ENOMEM, "scrypt failed (memory)");
		goto out;
	}
	if (!(ct = malloc((size_t)derlen + crypto_secretbox_MACBYTES))) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	crypto_secretbox_easy(ct, der, (unsigned long long)derlen, nonce, key);
	{
		sw_jw w = SW_JW_INIT(&json);
		sw_jw_obj(&w);
		sw_jw_kobj(&w, "kdf");
		sw_jw_kstr(&w, "name", "scrypt");
		sw_jw_kobj(&w, "params");
		sw_jw_kint(&w, "N", scrypt_n);
		sw_jw_kint(&w, "r", 8);
		sw_jw_kint(&w, "p", 1);
		sw_jw_end(&w);
		kb64(&w, "salt", salt, sizeof(salt));
		sw_jw_end(&w);
		sw_jw_kobj(&w, "cipher");
		sw_jw_kstr(&w, "name", "nacl/secretbox");
		kb64(&w, "nonce", nonce, sizeof(nonce));
		sw_jw_end(&w);
		kb64(&w, "ciphertext", ct, (size_t)derlen + crypto_secretbox_MACBYTES);
		sw_jw_end(&w);
		if (sw_jw_done(&w) < 0) {
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
			goto out;
		}
	}
	sw_b64_encode(&b64, json.data, json.len);
	sw_buf_printf(&pem, "-----BEGIN %s-----\n", label);
	for (i = 0; i < b64.len; i += 64)
		sw_buf_printf(&pem, "%.*s\n", (int)(b64.len - i < 64 ? b64.len - i : 64), b64.data + i);
	sw_buf_printf(&pem, "-----END %s-----\n", label);
	/* public key */
	if (!(bio = BIO_new(BIO_s_mem())) || PEM_write_bio_PUBKEY(bio, pk) != 1 ||
	    (publen = BIO_get_mem_data(bio, &pubpem)) <= 0) {
		rc = sw_error_set(err, SW_ERROR, "cannot encode the public key");
		goto out;
	}
	{
		char *pubtext = sw__strndup(pubpem, (size_t)publen);
		if (!pubtext)
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		else if ((rc = write_file(pub_path, pubtext, 0644, err)) == 0 &&
			 (rc = write_file(priv_path, sw_buf_cstr(&pem), 0600, err)) < 0)
			unlink(pub_path);
		free(pubtext);
	}
out:
	sodium_memzero(key, sizeof(key));
	if (der) {
		sodium_memzero(der, (size_t)(derlen > 0 ? derlen : 0));
		OPENSSL_free(der);
	}
	free(ct);
	sw_buf_release(&json);
	sw_buf_release(&b64);
	sw_buf_release(&pem);
	BIO_free(bio);
	EVP_PKEY_free(pk);
	return rc;
}

int sw_key_generate(const char *priv_path, const char *pub_path, const char *password, sw_error *err)
{
	return sw_key__generate(priv_path, pub_path, password, WRITE_N, LABEL_COSIGN, err);
}

/* The body between "-----BEGIN label-----" and its END line. */
static char *pem_body(const char *text, const char *label)
{
	char begin[96], end[96];
	const char *b, *e;
	sw_buf out = SW_BUF_INIT(1u << 20);

	snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
	snprintf(end, sizeof(end), "-----END %s-----", label);
	if (!(b = strstr(text, begin)) || !(e = strstr(b, end)))
		return NULL;
	for (b += strlen(begin); b < e; b++)
		if (*b != '\n' && *b != '\r' && *b != ' ' && *b != '\t' && sw_buf_putc(&out, *b) < 0)
			break;
	return sw_buf_detach(&out, NULL);
}

/* The OpenSSL key in the file at path (see sw_privkey_load). */
static int load_pkey(const char *path, const char *password, EVP_PKEY **out, sw_error *err)
{
	sw_buf b = SW_BUF_INIT(1u << 20);
	char *body = NULL;
	uint8_t *json = NULL, *salt = NULL, *nonce = NULL, *ct = NULL, *plain = NULL, key[32];
	size_t jlen = 0, sl = 0, nl = 0, cl = 0;
	sw_json_doc *doc = NULL;
	const sw_json *root, *kdf, *params, *cipher;
	int64_t N = 0, r = 0, p = 0;
	int rc = 0;

	*out = NULL;
	if (sodium_init() < 0)
		return sw_error_set(err, SW_ERROR, "cannot initialise libsodium");
	if (sw_file_read(path, &b) < 0) {
		sw_buf_release(&b);
		return sw_error_set(err, SW_ENOTFOUND, "key %s: %s", path, strerror(errno));
	}
	if (!(body = pem_body(sw_buf_cstr(&b), LABEL_COSIGN)) && !(body = pem_body(sw_buf_cstr(&b), LABEL_SIGSTORE))) {
		/* a plain PEM private key (PKCS#8 or SEC1) */
		BIO *bio = BIO_new_mem_buf(b.data, (int)b.len);
		*out = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)(password ? password : "")) : NULL;
		BIO_free(bio);
		rc = *out ? 0 : sw_error_set(err, SW_EFORMAT, "key %s: not a cosign key nor a PEM private key", path);
		goto out;
	}
	if (sw_b64_decode(body, strlen(body), &json, &jlen) < 0 || sw_json_parse((const char *)json, jlen, &doc, NULL) < 0) {
		rc = sw_error_set(err, SW_EFORMAT, "key %s: the PEM body is not base64 JSON (truncated?)", path);
		goto out;
	}
	root = sw_json_root(doc);
	kdf = sw_json_get_obj(root, "kdf");
	params = sw_json_get_obj(kdf, "params");
	cipher = sw_json_get_obj(root, "cipher");
	if (!sw_json_get_str(kdf, "name") || strcmp(sw_json_get_str(kdf, "name"), "scrypt") != 0 ||
	    !sw_json_get_str(cipher, "name") || strcmp(sw_json_get_str(cipher, "name"), "nacl/secretbox") != 0 ||
	    sw_json_get_i64(params, "N", &N) < 0 || sw_json_get_i64(params, "r", &r) < 0 ||
	    sw_json_get_i64(params, "p", &p) < 0) {
		rc = sw_error_set(err, SW_EFORMAT, "key %s: not scrypt + nacl/secretbox", path);
		goto out;
	}
	/* the parameters cosign's libraries accept, and nothing costlier */
	if (!((N == 32768 || N == 65536 || N == 131072) && r == 8 && p == 1)) {
		rc = sw_error_set(err, SW_EFORMAT, "key %s: scrypt parameters N=%lld r=%lld p=%lld are not accepted", path,
				  (long long)N, (long long)r, (long long)p);
		goto out;
	}
	if (!sw_json_get_str(kdf, "salt") || sw_b64_decode(sw_json_get_str(kdf, "salt"), strlen(sw_json_get_str(kdf, "salt")), &salt, &sl) < 0 ||
	    !sw_json_get_str(cipher, "nonce") || sw_b64_decode(sw_json_get_str(cipher, "nonce"), strlen(sw_json_get_str(cipher, "nonce")), &nonce, &nl) < 0 ||
	    nl != crypto_secretbox_NONCEBYTES || !sw_json_get_str(root, "ciphertext") ||
	    sw_b64_decode(sw_json_get_str(root, "ciphertext"), strlen(sw_json_get_str(root, "ciphertext")), &ct, &cl) < 0 || cl < crypto_secretbox_MACBYTES) {
		rc = sw_error_set(err, SW_EFORMAT, "key %s: salt, nonce or ciphertext malformed", path);
		goto out;
	}
	if (crypto_pwhash_scryptsalsa208sha256_ll((const uint8_t *)(password ? password : ""),
						   password ? strlen(password) : 0, salt, sl, (uint64_t)N, (uint32_t)r,
						   (uint32_t)p, key, sizeof(key)) != 0) {
		rc = sw_error_set(err, SW_ENOMEM, "scrypt failed (memory)");
		goto out;
	}
	if (!(plain = malloc(cl - crypto_secretbox_MACBYTES + 1))) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto out;
	}
	if (crypto_secretbox_open_easy(plain, ct, cl, nonce, key) != 0) {
		rc = sw_error_set(err, SW_EVERIFY, "key %s: wrong password (or a damaged key file)", path);
		goto out;
	}
	{
		const unsigned char *pp = plain;
		PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &pp, (long)(cl - crypto_secretbox_MACBYTES));
		*out = p8 ? EVP_PKCS82PKEY(p8) : NULL;
		PKCS8_PRIV_KEY_INFO_free(p8);
		if (!*out)
			rc = sw_error_set(err, SW_EFORMAT, "key %s: the decrypted key is not PKCS#8", path);
	}
out:
	sodium_memzero(key, sizeof(key));
	if (plain) {
		sodium_memzero(plain, cl - crypto_secretbox_MACBYTES);
		free(plain);
	}
	sw_json_free(doc);
	free(json);
	free(salt);
	free(nonce);
	free(ct);
	free(body);
	sodium_memzero(b.data ? b.data : (char *)key, b.data ? b.len : 0);
	sw_buf_release(&b);
	return rc;
}

int sw_privkey_load(const char *path, const char *password, sw_privkey **out, sw_error *err)
{
	EVP_PKEY *pkey = NULL;
	int rc;

	*out = NULL;
	if ((rc = load_pkey(path, password, &pkey, err)) < 0)
		return rc;
	if (!(*out = malloc(sizeof(**out)))) {
		EVP_PKEY_free(pkey);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	(*out)->pkey = pkey;
	return 0;
}

/* OpenSSL clears a private key's secret when the key is freed. */
void sw_privkey_free(sw_privkey *key)
{
	if (!key)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}
