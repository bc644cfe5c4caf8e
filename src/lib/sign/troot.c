/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A Sigstore trusted root (trusted_root.json, protobuf-specs TrustedRoot,
 * media type application/vnd.dev.sigstore.trustedroot+json;version=0.1):
 * the transparency logs, the Fulcio CAs, the CT logs and the timestamp
 * authorities a bundle may be checked against, each with its validity.
 *
 * Read offline, from a file the user names or from the copy compiled into
 * the library (data/sigstore/trusted_root.json, the public-good instance's,
 * from sigstore/root-signing): never fetched. The reader is strict where a
 * lax one would widen trust: a validFor without its start is refused
 * rather than read as "since ever", a key that does not parse or a chain
 * that does not decode refuses the file, and every list is bounded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "stowaway/sign.h"
#include "bundle_int.h"
#include "../util/util.h"
#include "../util/banned.h"

#define MAX_ROOT (4u << 20)

extern const char sw_bundled_trusted_root[];

int sw_tr__time(const char *s, int64_t *out)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, n = 0, off = 0;
	const char *p;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
		return -1;
	p = s + n;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z') {
		p++;
	} else if ((*p == '+' || *p == '-') && p[1] && p[2] && p[3] == ':') {
		int oh, om;
		if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59)
			return -1;
		off = (oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return -1;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = (int64_t)timegm(&tm) - off;
	return 0;
}

EVP_PKEY *sw_tr__pubkey(const uint8_t *der, size_t n)
{
	const unsigned char *p = der;
	EVP_PKEY *k;

	if (n > 16384)
		return NULL;
	if ((k = d2i_PUBKEY(NULL, &p, (long)n)) && p == der + n)
		return k;
	EVP_PKEY_free(k);
	p = der;
	if ((k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)n)) && p == der + n)
		return k;
	EVP_PKEY_free(k);
	return NULL;
}

const sw_tr_log *sw_tr__log(const sw_tr_log *logs, size_t n, const uint8_t *id, size_t idlen)
{
	size_t i;

	for (i = 0; i < n && idlen == 32; i++)
		if (memcmp(logs[i].id, id, 32) == 0)
			return &logs[i];
	return NULL;
}

/* validFor: absent is open on both ends; present, its start is due. */
static int valid_for(const sw_json *v, int64_t *start, int64_t *end)
{
	const char *s, *e;

	*start = 0;
	*end = SW_TIME_OPEN;
	if (!v || v->type == SW_JSON_NULL)
		return 0;
	if (v->type != SW_JSON_OBJ || !(s = sw_json_get_str(v, "start")) || sw_tr__time(s, start) < 0)
		return -1;
	if ((e = sw_json_get_str(v, "end")) && sw_tr__time(e, end) < 0)
		return -1;
	if (sw_json_get(v, "end") && !e && sw_json_get(v, "end")->type != SW_JSON_NULL)
		return -1;
	return *end < *start ? -1 : 0;
}

static int read_logs(const sw_json *arr, sw_tr_log *logs, size_t *n, const char *what, sw_error *err)
{
	const sw_json *l;
	size_t i = 0;

	if (!arr)
		return 0;
	if (arr->type != SW_JSON_ARR || arr->n > SW_TR_MAX)
		return sw_error_set(err, SW_EFORMAT, "%s: not a list of at most %d logs", what, SW_TR_MAX);
	for (l = arr->child; l; l = l->next, i++) {
		const sw_json *pk = sw_json_get_obj(l, "publicKey");
		uint8_t *raw = NULL, *id = NULL;
		size_t rawn = 0, idn = 0;
		int bad;
		bad = sw_bdl__b64(sw_json_get_str(pk, "rawBytes"), &raw, &rawn) < 0 ||
		      sw_bdl__b64(sw_json_get_str(sw_json_get_obj(l, "logId"), "keyId"), &id, &idn) < 0 || idn != 32;
		if (!bad) {
			memcpy(logs[*n].id, id, 32);
			bad = !(logs[*n].key = sw_tr__pubkey(raw, rawn));
		}
		free(raw);
		free(id);
		if (bad)
			return sw_error_set(err, SW_EFORMAT, "%s %zu: no public key or log id that can be read", what, i + 1);
		(*n)++;
		if (valid_for(sw_json_get(pk, "validFor"), &logs[*n - 1].start, &logs[*n - 1].end) < 0)
			return sw_error_set(err, SW_EFORMAT, "%s %zu: validFor without a start, or not RFC 3339", what,
					    i + 1);
	}
	return 0;
}

static int read_cas(const sw_json *arr, sw_tr_ca *cas, size_t *n, const char *what, sw_error *err)
{
	const sw_json *c, *x;
	size_t i = 0;

	if (!arr)
		return 0;
	if (arr->type != SW_JSON_ARR || arr->n > SW_TR_MAX)
		return sw_error_set(err, SW_EFORMAT, "%s: not a list of at most %d authorities", what, SW_TR_MAX);
	for (c = arr->child; c; c = c->next, i++) {
		const sw_json *certs = sw_json_get_arr(sw_json_get_obj(c, "certChain"), "certificates");
		sw_tr_ca *ca = &cas[(*n)++];
		if (!certs || certs->n == 0 || certs->n > SW_TR_MAX_CHAIN)
			return sw_error_set(err, SW_EFORMAT, "%s %zu: no certificate chain (1 to %d)", what, i + 1,
					    SW_TR_MAX_CHAIN);
		for (x = certs->child; x; x = x->next) {
			uint8_t *der = NULL;
			size_t dn = 0;
			const unsigned char *p;
			if (sw_bdl__b64(sw_json_get_str(x, "rawBytes"), &der, &dn) < 0)
				return sw_error_set(err, SW_EFORMAT, "%s %zu: a certificate is not base64", what, i + 1);
			p = der;
			ca->chain[ca->n] = d2i_X509(NULL, &p, (long)dn);
			if (!ca->chain[ca->n] || p != der + dn) {
				X509_free(ca->chain[ca->n]); /* trailing bytes: refused, and freed */
				ca->chain[ca->n] = NULL;
				free(der);
				return sw_error_set(err, SW_EFORMAT, "%s %zu: a certificate is not DER X.509", what, i + 1);
			}
			ca->n++;
			free(der);
		}
		if (valid_for(sw_json_get(c, "validFor"), &ca->start, &ca->end) < 0)
			return sw_error_set(err, SW_EFORMAT, "%s %zu: validFor without a start, or not RFC 3339", what,
					    i + 1);
	}
	return 0;
}

int sw_tr__parse(const char *text, size_t len, const char *name, sw_trustroot **out, sw_error *err)
{
	sw_json_doc *doc = NULL;
	const sw_json *root;
	const char *mt;
	sw_trustroot *tr;
	int rc;

	*out = NULL;
	if (!(tr = calloc(1, sizeof(*tr))))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	if ((rc = sw_json_parse(text, len, &doc, err)) < 0) {
		sw_error_set(err, rc, "%s: not JSON: %s", name, err ? err->msg : "");
		goto out;
	}
	root = sw_json_root(doc);
	mt = sw_json_get_str(root, "mediaType");
	rc = SW_EFORMAT;
	if (!mt || strcmp(mt, "application/vnd.dev.sigstore.trustedroot+json;version=0.1") != 0) {
		sw_error_set(err, rc, "%s: not a trusted root (mediaType %s)", name, mt ? mt : "missing");
		goto out;
	}
	if ((rc = read_logs(sw_json_get(root, "tlogs"), tr->tlogs, &tr->ntlogs, "tlog", err)) < 0 ||
	    (rc = read_logs(sw_json_get(root, "ctlogs"), tr->ctlogs, &tr->nctlogs, "ctlog", err)) < 0 ||
	    (rc = read_cas(sw_json_get(root, "certificateAuthorities"), tr->cas, &tr->ncas, "certificate authority",
			   err)) < 0 ||
	    (rc = read_cas(sw_json_get(root, "timestampAuthorities"), tr->tsas, &tr->ntsas, "timestamp authority",
			   err)) < 0) {
		sw_error_set(err, rc, "%s: %s", name, err ? err->msg : "");
		goto out;
	}
	*out = tr;
	tr = NULL;
	rc = 0;
out:
	sw_trustroot_free(tr);
	sw_json_free(doc);
	return rc;
}

int sw_trustroot_load(const char *path, sw_trustroot **out, sw_error *err)
{
	sw_buf b = SW_BUF_INIT(MAX_ROOT);
	int rc;

	if (!path)
		return sw_tr__parse(sw_bundled_trusted_root, strlen(sw_bundled_trusted_root), "the bundled trusted root",
				  out, err);
	if ((rc = sw_file_read_regular(path, &b)) < 0) {
		sw_buf_release(&b);
		*out = NULL;
		return sw_error_set(err, rc == SW_ELIMIT ? rc : SW_EIO, "%s: cannot read the trusted root%s", path,
				    rc == SW_ELIMIT ? " (over 4 MiB)" : "");
	}
	rc = sw_tr__parse(b.data ? b.data : "", b.len, path, out, err);
	sw_buf_release(&b);
	return rc;
}

static void free_cas(sw_tr_ca *c, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < c[i].n; j++)
			X509_free(c[i].chain[j]);
}

void sw_trustroot_free(sw_trustroot *tr)
{
	size_t i;

	if (!tr)
		return;
	for (i = 0; i < tr->ntlogs; i++)
		EVP_PKEY_free(tr->tlogs[i].key);
	for (i = 0; i < tr->nctlogs; i++)
		EVP_PKEY_free(tr->ctlogs[i].key);
	free_cas(tr->cas, tr->ncas);
	free_cas(tr->tsas, tr->ntsas);
	free(tr);
}
