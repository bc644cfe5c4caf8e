/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small memory helpers and the bounded buffer. Every buffer that holds
 * attacker-controlled bytes carries its own ceiling (`max`): growth past it
 * fails with SW_ELIMIT instead of letting an input decide how much memory
 * we take (the idea of curl's dynbuf `toobig`).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "banned.h"

void *sw__xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

char *sw__strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *sw__strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *sw__asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

/* A buffer of many MiB written once and then read (a big file's content,
 * the layer pipe) takes a page fault per 4 KiB it first touches, each a
 * trip through the hypervisor on a VM. With MADV_HUGEPAGE (where THP is
 * "madvise", Debian's default) a fault brings 2 MiB: the one-layer bench
 * scan took 1.56-1.73 s with it and 1.89-2.18 s without (docs/ARCHITECTURE.md,
 * performance notes). Only the 2 MiB-aligned part of the range can have
 * them; the kernel ignores the hint where it has no THP. */
#define HUGE_PAGE (2u << 20)

void sw_mem_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
	uintptr_t a = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
	uintptr_t e = ((uintptr_t)p + n) & ~(uintptr_t)(HUGE_PAGE - 1);

	if (p && e > a)
		(void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
	(void)p;
	(void)n;
#endif
}

static int buf_grow(sw_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->err)
		return b->err;
	if (extra > b->max || b->len > b->max - extra)
		return b->err = SW_ELIMIT;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (b->max < SIZE_MAX && cap > b->max + 1)
		cap = b->max + 1;
	if (b->len == 0) { /* nothing to keep: realloc would copy the old bytes */
		free(b->data);
		b->data = NULL;
		b->cap = 0;
		p = malloc(cap);
	} else {
		p = realloc(b->data, cap);
	}
	if (!p)
		return b->err = SW_ENOMEM;
	b->data = p;
	b->cap = cap;
	if (cap >= 2 * HUGE_PAGE)
		sw_mem_huge(p, cap);
	return 0;
}

int sw_buf_reserve(sw_buf *b, size_t n)
{
	return buf_grow(b, n);
}

int sw_buf_append(sw_buf *b, const void *p, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	if ((rc = buf_grow(b, n)) < 0)
		return rc;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int sw_buf_putc(sw_buf *b, char c)
{
	return sw_buf_append(b, &c, 1);
}

int sw_buf_vprintf(sw_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	char small[256];
	int n, rc;

	va_copy(again, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n < 0) {
		va_end(again);
		return b->err = SW_ERROR;
	}
	if ((size_t)n < sizeof(small)) {
		va_end(again);
		return sw_buf_append(b, small, (size_t)n);
	}
	if ((rc = buf_grow(b, (size_t)n)) < 0) {
		va_end(again);
		return rc;
	}
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
	va_end(again);
	b->len += (size_t)n;
	return 0;
}

int sw_buf_printf(sw_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = sw_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

const char *sw_buf_cstr(sw_buf *b)
{
	if (!b->data && buf_grow(b, 0) < 0)
		return "";
	b->data[b->len] = '\0';
	return b->data;
}

void sw_buf_reset(sw_buf *b)
{
	b->len = 0;
	b->err = 0;
}

void sw_buf_release(sw_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->err = 0;
}

int sw__grow(void *pp, size_t n, size_t elem, size_t *cap)
{
	size_t want;
	void *p, *np;

	memcpy(&p, pp, sizeof(p));
	if (!cap) { /* implicit capacity: 8, then the next power of two at or above n */
		if (!p)
			for (want = 8; want <= n && want < SIZE_MAX / 2; want *= 2)
				;
		else if (n == 0)
			want = 8;
		else if (n >= 8 && !(n & (n - 1)))
			want = n * 2;
		else
			return 0;
	} else {
		if (n < *cap)
			return 0;
		for (want = *cap ? *cap * 2 : 8; want <= n && want < SIZE_MAX / 2; want *= 2)
			;
	}
	if (want <= n || want > SIZE_MAX / elem)
		return SW_ENOMEM;
	if (!(np = realloc(p, want * elem)))
		return SW_ENOMEM;
	memcpy(pp, &np, sizeof(np));
	if (cap)
		*cap = want;
	return 0;
}

void sw_buf_release_secret(sw_buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	sw_buf_release(b);
}

void sw_free_secret(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

char *sw_buf_detach(sw_buf *b, size_t *len)
{
	char *p;

	sw_buf_cstr(b);
	p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

int sw_file_read(const char *path, sw_buf *b)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;
	int rc = 0;

	if (!f)
		return SW_ENOTFOUND;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if ((rc = sw_buf_append(b, chunk, n)) < 0)
			break;
	if (rc == 0 && ferror(f))
		rc = SW_EIO;
	fclose(f);
	return rc;
}

int sw_file_read_regular(const char *path, sw_buf *b)
{
	int fd = sw_open_regular(AT_FDCWD, path, false), rc = 0;
	char chunk[65536];
	ssize_t n;

	if (fd < 0)
		return errno == EINVAL ? SW_EFORMAT : SW_ENOTFOUND;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = SW_EIO;
			break;
		}
		if ((rc = sw_buf_append(b, chunk, (size_t)n)) < 0)
			break;
	}
	close(fd);
	return rc;
}

double sw_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
