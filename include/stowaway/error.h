/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Errors: every fallible function returns 0 or a negative SW_E* code and
 * writes a one-line message into a caller-owned sw_error. The struct holds
 * its buffer inline, so setting an error never allocates: it is safe in
 * worker threads and in forked children.
 */
#ifndef STOWAWAY_ERROR_H
#define STOWAWAY_ERROR_H

#include "stowaway/export.h"

#ifdef __cplusplus
extern "C" {
#endif

enum sw_code {
	SW_OK = 0,
	SW_ERROR = -1,    /* generic failure */
	SW_ENOMEM = -2,   /* allocation failed */
	SW_EIO = -3,      /* read/write/open failed */
	SW_EFORMAT = -4,  /* input is malformed */
	SW_ELIMIT = -5,   /* a configured bound was exceeded */
	SW_EVERIFY = -6,  /* a digest, size or signature did not match */
	SW_ENOTFOUND = -7,/* a named object does not exist */
	SW_EINVAL = -8,   /* bad argument from the caller */
	SW_ETIMEOUT = -9, /* a deadline passed */
};

typedef struct sw_error {
	int code;
	char msg[512];
	int line;      /* the line of the input it concerns, when the reader
			* knows it (YAML), else 0 */
} sw_error;

#define SW_ERROR_INIT { 0, { 0 }, 0 }

/* Record an error (printf-style) and return `code`; line is reset to 0.
 * `err` may be NULL. */
SW_API int sw_error_set(sw_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the existing message with "<prefix>: ". Returns err->code. */
SW_API int sw_error_prefix(sw_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A short name for a code ("format", "limit", ...). */
SW_API const char *sw_code_name(int code);

#ifdef __cplusplus
}
#endif
#endif
