/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The error buffer. Messages are formatted straight into the caller's
 * struct; prefixes are added by shifting in place, so a message keeps the
 * context of every layer it passed through ("layer 2 (sha256:..): tar:
 * entry 17: bad checksum") without any allocation.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "stowaway/error.h"

int sw_error_set(sw_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	err->line = 0;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int sw_error_prefix(sw_error *err, const char *fmt, ...)
{
	char pre[256];
	size_t plen, mlen;
	va_list ap;

	if (!err)
		return SW_ERROR;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	plen = strlen(pre);
	mlen = strnlen(err->msg, sizeof(err->msg) - 1);
	if (plen + 2 >= sizeof(err->msg))
		return err->code;
	if (plen + 2 + mlen >= sizeof(err->msg))
		mlen = sizeof(err->msg) - 1 - plen - 2;
	memmove(err->msg + plen + 2, err->msg, mlen);
	memcpy(err->msg, pre, plen);
	err->msg[plen] = ':';
	err->msg[plen + 1] = ' ';
	err->msg[plen + 2 + mlen] = '\0';
	return err->code;
}

const char *sw_code_name(int code)
{
	switch (code) {
	case SW_OK: return "ok";
	case SW_ENOMEM: return "out of memory";
	case SW_EIO: return "i/o";
	case SW_EFORMAT: return "format";
	case SW_ELIMIT: return "limit";
	case SW_EVERIFY: return "verification";
	case SW_ENOTFOUND: return "not found";
	case SW_EINVAL: return "invalid argument";
	case SW_ETIMEOUT: return "timeout";
	default: return "error";
	}
}
