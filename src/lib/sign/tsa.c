/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An RFC 3161 timestamp in a bundle (timestampVerificationData), checked
 * by OpenSSL's TS verifier against the timestamp authorities of the
 * trusted root: status granted, the CMS signature by a certificate that
 * chains to the authority's root at the token's genTime (a TSA
 * certificate expired since is fine; one not yet or no longer valid then
 * is not), the message imprint the hash of the bundle's signature, and
 * genTime inside the authority's validFor and not in the future. A response may embed the
 * signer's certificate or not: the authority's chain from the trusted
 * root is offered either way, and only its root is trusted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "stowaway/sign.h"
#include "bundle_int.h"
#include "../util/util.h"
#include "../util/banned.h"

#define MAX_TSR (64u << 10)

static bool verify_with(const sw_tr_ca *ca, TS_RESP *resp, const uint8_t *sig, size_t siglen, int64_t t)
{
	TS_VERIFY_CTX *ctx = TS_VERIFY_CTX_new();
	X509_STORE *store = X509_STORE_new();
	STACK_OF(X509) *certs = sk_X509_new_null();
	BIO *data = BIO_new_mem_buf(sig, (int)siglen);
	size_t i;
	bool ok = false;

	if (!ctx || !store || !certs || !data || X509_STORE_add_cert(store, ca->chain[ca->n - 1]) != 1)
		goto fail;
	for (i = 0; i + 1 < ca->n; i++) {
		if (!sk_X509_push(certs, ca->chain[i]))
			goto fail;
		X509_up_ref(ca->chain[i]);
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), (time_t)t);
	TS_VERIFY_CTX_set_flags(ctx, TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_DATA);
	/* the context owns what it is given from here on */
	TS_VERIFY_CTX_set_store(ctx, store);
	TS_VERIFY_CTX_set_certs(ctx, certs);
	TS_VERIFY_CTX_set_data(ctx, data);
	ok = TS_RESP_verify_response(ctx, resp) == 1;
	TS_VERIFY_CTX_free(ctx);
	return ok;
fail:
	TS_VERIFY_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_pop_free(certs, X509_free);
	BIO_free(data);
	return false;
}

int sw_tsa__verify(const sw_trustroot *tr, const uint8_t *der, size_t n, const uint8_t *sig, size_t siglen,
		   int64_t *t, sw_error *err)
{
	const unsigned char *p = der;
	TS_RESP *resp = NULL;
	TS_TST_INFO *info;
	const ASN1_GENERALIZEDTIME *gt;
	struct tm tm;
	size_t i;
	bool in_window = false;
	int rc;

	*t = 0;
	if (n > MAX_TSR || !(resp = d2i_TS_RESP(NULL, &p, (long)n)) || p != der + n)
		goto bad;
	if (!(info = TS_RESP_get_tst_info(resp)) || !(gt = TS_TST_INFO_get_time(info)) || ASN1_TIME_to_tm(gt, &tm) != 1)
		goto bad;
	*t = (int64_t)timegm(&tm);
	if (*t > (int64_t)time(NULL) + 60) {
		TS_RESP_free(resp);
		return sw_error_set(err, SW_EVERIFY, "timestamp: its time is in the future");
	}
	for (i = 0; i < tr->ntsas; i++) {
		if (*t < tr->tsas[i].start || *t > tr->tsas[i].end)
			continue;
		in_window = true;
		if (verify_with(&tr->tsas[i], resp, sig, siglen, *t)) {
			TS_RESP_free(resp);
			return 0;
		}
	}
	rc = sw_error_set(err, SW_EVERIFY, "timestamp: %s",
			  in_window ? "not signed by a timestamp authority of the trusted root, valid at its time, "
				      "over this signature"
				    : "its time is outside every timestamp authority's validity in the trusted root");
	TS_RESP_free(resp);
	return rc;
bad:
	TS_RESP_free(resp);
	return sw_error_set(err, SW_EVERIFY, "timestamp: not an RFC 3161 response that can be read");
}
