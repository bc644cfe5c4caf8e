/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocation-failure injection for stowaway's own code. Linked into a test
 * build of the binary with -Wl,--wrap for malloc, calloc, realloc, strdup,
 * strndup and vasprintf, so only the calls stowaway's objects make go
 * through here (libc's, OpenSSL's and libyara's own allocations do not):
 *
 *   SW_ALLOC_FAIL_AT=N   the N-th allocation (counted from 1, all threads)
 *                        returns NULL with errno ENOMEM; the others succeed
 *   SW_ALLOC_COUNT=FILE  at exit, write how many allocations were made
 *   SW_ALLOC_TRACE=1     print the call stack of the failed allocation
 *
 * A driver (run.py) runs a scan once to count, then once per N.
 */
#include <errno.h>
#include <execinfo.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_vasprintf(char **out, const char *fmt, va_list ap);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_vasprintf(char **out, const char *fmt, va_list ap);

static atomic_long count;
static long fail_at = -2; /* -2: not read yet, -1: never */

static int fail_now(void)
{
	long n = atomic_fetch_add(&count, 1) + 1;

	if (fail_at == -2) {
		const char *e = getenv("SW_ALLOC_FAIL_AT");
		fail_at = e && *e ? strtol(e, NULL, 10) : -1;
	}
	if (fail_at > 0 && n == fail_at) {
		if (getenv("SW_ALLOC_TRACE")) {
			void *bt[32];
			backtrace_symbols_fd(bt, backtrace(bt, 32), 2);
		}
		errno = ENOMEM;
		return 1;
	}
	return 0;
}

void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { return fail_now() ? NULL : __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { return fail_now() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return fail_now() ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) { return fail_now() ? NULL : __real_strndup(s, n); }

int __wrap_vasprintf(char **out, const char *fmt, va_list ap)
{
	if (fail_now()) {
		*out = NULL;
		return -1;
	}
	return __real_vasprintf(out, fmt, ap);
}

__attribute__((destructor)) static void report(void)
{
	const char *path = getenv("SW_ALLOC_COUNT");
	FILE *f;

	if (path && *path && (f = fopen(path, "w"))) {
		fprintf(f, "%ld\n", (long)atomic_load(&count));
		fclose(f);
	}
}
