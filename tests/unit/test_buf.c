/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the bounded buffer (src/lib/util/buf.c). The contract that
 * matters is the ceiling: growth up to `max` works, one byte more fails
 * with SW_ELIMIT and leaves the content exactly as it was, whichever entry
 * point (append, putc, printf on its small or large path) hit it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/lib/util/util.h"
#include "../../src/lib/util/banned.h"

static void assert_content(sw_buf *b, const char *want)
{
	assert_int_equal(b->len, strlen(want));
	assert_string_equal(sw_buf_cstr(b), want);
}

static void test_append_and_cstr(void **state)
{
	sw_buf b = SW_BUF_INIT(1024);

	(void)state;
	assert_string_equal(sw_buf_cstr(&b), "");
	assert_int_equal(b.len, 0);
	assert_int_equal(sw_buf_append(&b, "abc", 3), 0);
	assert_int_equal(sw_buf_append(&b, NULL, 0), 0);
	assert_int_equal(sw_buf_putc(&b, 'd'), 0);
	assert_content(&b, "abcd");
	assert_true(b.cap > b.len);
	sw_buf_reset(&b);
	assert_content(&b, "");
	assert_int_equal(sw_buf_append(&b, "xyz", 3), 0);
	assert_content(&b, "xyz");
	sw_buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 1024);
	sw_buf_release(&b); /* twice is harmless */
}

static void test_max_bound(void **state)
{
	sw_buf b = SW_BUF_INIT(10);

	(void)state;
	assert_int_equal(sw_buf_append(&b, "0123456", 7), 0);
	assert_int_equal(sw_buf_append(&b, "789x", 4), SW_ELIMIT);
	assert_content(&b, "0123456");
	/* the first failure sticks: nothing more is written, even what fits */
	assert_int_equal(sw_buf_err(&b), SW_ELIMIT);
	assert_int_equal(sw_buf_append(&b, "7", 1), SW_ELIMIT);
	assert_content(&b, "0123456");
	sw_buf_reset(&b); /* until reset */
	assert_int_equal(sw_buf_err(&b), 0);
	assert_int_equal(sw_buf_append(&b, "0123456", 7), 0);
	assert_int_equal(sw_buf_append(&b, "789", 3), 0); /* exactly max */
	assert_content(&b, "0123456789");
	assert_int_equal(sw_buf_putc(&b, 'x'), SW_ELIMIT);
	assert_int_equal(sw_buf_printf(&b, "%d", 1), SW_ELIMIT);
	assert_int_equal(sw_buf_append(&b, "", 0), 0);    /* nothing to add */
	assert_content(&b, "0123456789");
	assert_true(b.cap <= 11);
	/* a length that would wrap size_t is refused, not wrapped */
	assert_int_equal(sw_buf_append(&b, "x", SIZE_MAX), SW_ELIMIT);
	assert_int_equal(sw_buf_append(&b, "x", SIZE_MAX - 5), SW_ELIMIT);
	assert_content(&b, "0123456789");
	sw_buf_release(&b);
}

static void test_zero_max(void **state)
{
	sw_buf b = SW_BUF_INIT(0);

	(void)state;
	assert_int_equal(sw_buf_putc(&b, 'a'), SW_ELIMIT);
	assert_string_equal(sw_buf_cstr(&b), "");
	sw_buf_release(&b);
}

/* "no practical bound" must not wrap: max + 1 overflows when max is SIZE_MAX */
static void test_unbounded_max(void **state)
{
	sw_buf b = SW_BUF_INIT(SIZE_MAX);

	(void)state;
	assert_int_equal(sw_buf_append(&b, "0123456789", 10), 0);
	assert_int_equal(sw_buf_append(&b, "abcdefghij", 10), 0);
	assert_true(b.cap >= 21);
	assert_content(&b, "0123456789abcdefghij");
	sw_buf_release(&b);
}

static void test_printf(void **state)
{
	sw_buf b = SW_BUF_INIT(4096);
	char want[1100];

	(void)state;
	assert_int_equal(sw_buf_printf(&b, "%s-%d", "x", 42), 0);
	assert_content(&b, "x-42");
	/* past the 256-byte scratch buffer: the large path formats in place */
	assert_int_equal(sw_buf_printf(&b, "[%0*d]", 1000, 7), 0);
	memcpy(want, "x-42[", 5);
	memset(want + 5, '0', 999);
	memcpy(want + 1004, "7]", 3);
	assert_content(&b, want);
	sw_buf_reset(&b);
	/* exactly 255 and 256 bytes: either side of the scratch size */
	assert_int_equal(sw_buf_printf(&b, "%255s", ""), 0);
	assert_int_equal(b.len, 255);
	assert_int_equal(sw_buf_printf(&b, "%256s", "a"), 0);
	assert_int_equal(b.len, 511);
	assert_int_equal(sw_buf_cstr(&b)[510], 'a');
	sw_buf_release(&b);
}

static void test_printf_limit(void **state)
{
	sw_buf b = SW_BUF_INIT(300);

	(void)state;
	assert_int_equal(sw_buf_printf(&b, "%s", "keep"), 0);
	/* large path refused */
	assert_int_equal(sw_buf_printf(&b, "%400s", "x"), SW_ELIMIT);
	assert_content(&b, "keep");
	/* small path refused (after a reset: the first failure sticks) */
	assert_int_equal(sw_buf_printf(&b, "%250s", "y"), SW_ELIMIT);
	sw_buf_reset(&b);
	assert_int_equal(sw_buf_printf(&b, "%s", "keep"), 0);
	assert_int_equal(sw_buf_printf(&b, "%250s", "y"), 0);
	assert_int_equal(sw_buf_printf(&b, "%100s", "z"), SW_ELIMIT);
	assert_int_equal(b.len, 254);
	assert_int_equal(memcmp(sw_buf_cstr(&b), "keep", 4), 0);
	/* large path fits exactly at the ceiling */
	sw_buf_reset(&b);
	assert_int_equal(sw_buf_printf(&b, "%300s", "w"), 0);
	assert_int_equal(b.len, 300);
	assert_int_equal(sw_buf_putc(&b, '!'), SW_ELIMIT);
	sw_buf_release(&b);
}

static void test_detach(void **state)
{
	sw_buf b = SW_BUF_INIT(64);
	size_t len = 99;
	char *p;

	(void)state;
	assert_int_equal(sw_buf_append(&b, "hello", 5), 0);
	p = sw_buf_detach(&b, &len);
	assert_non_null(p);
	assert_int_equal(len, 5);
	assert_string_equal(p, "hello");
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 64);
	/* the emptied buffer is usable again and keeps its ceiling */
	assert_int_equal(sw_buf_append(&b, "again", 5), 0);
	assert_content(&b, "again");
	free(p);
	sw_buf_release(&b);
	/* an empty buffer detaches as an owned "" */
	p = sw_buf_detach(&b, &len);
	assert_non_null(p);
	assert_int_equal(len, 0);
	assert_string_equal(p, "");
	free(p);
	p = sw_buf_detach(&b, NULL);
	assert_non_null(p);
	free(p);
}

static void test_growth_large(void **state)
{
	sw_buf b = SW_BUF_INIT(1 << 20);
	size_t i;

	(void)state;
	for (i = 0; i < (1 << 20); i++)
		assert_int_equal(sw_buf_putc(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(b.len, 1 << 20);
	assert_true(b.cap <= (1 << 20) + 1);
	assert_int_equal(sw_buf_putc(&b, 'x'), SW_ELIMIT);
	for (i = 0; i < (1 << 20); i += 4099)
		assert_int_equal(b.data[i], 'a' + i % 26);
	sw_buf_release(&b);
}

/* Does the mapping holding p carry the kernel's huge-page advice ("hg" in
 * its VmFlags)? -1 when /proc/self/smaps cannot tell. */
static int advised_huge(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false;
	int found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
			continue;
		}
		if (in && strncmp(line, "VmFlags:", 8) == 0) {
			found = strstr(line, " hg") != NULL;
			break;
		}
	}
	fclose(f);
	return found;
}

/* Is THP there to advise ("[always]" or "[madvise]", not "[never]")? */
static bool thp_available(void)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	char line[128] = "";
	bool ok;

	if (!f)
		return false;
	ok = fgets(line, sizeof(line), f) && !strstr(line, "[never]");
	fclose(f);
	return ok;
}

/* A reset buffer grows to the room asked for (from nothing: its stale
 * bytes are not copied, which is speed, not seen here); one that holds
 * bytes keeps them across growth; the bound holds; a big one carries the
 * huge-page advice on its aligned part, and the advice is harmless on a
 * range too small to align. */
static void test_reserve_after_reset(void **state)
{
	sw_buf b = SW_BUF_INIT(64u << 20);
	size_t i;

	(void)state;
	assert_int_equal(sw_buf_append(&b, "stale", 5), 0);
	sw_buf_reset(&b);
	assert_int_equal(sw_buf_reserve(&b, 8u << 20), 0);
	assert_true(b.cap > (8u << 20));
	assert_int_equal(b.len, 0);
	for (i = 0; i < (8u << 20); i += 4096)
		b.data[i] = (char)(i >> 12);
	b.len = 8u << 20;
	assert_int_equal(sw_buf_reserve(&b, 16u << 20), 0); /* keeps what it holds */
	for (i = 0; i < (8u << 20); i += 4096)
		assert_int_equal(b.data[i], (char)(i >> 12));
	if (thp_available() && advised_huge(b.data) >= 0)
		assert_int_equal(advised_huge(b.data + (4u << 20)), 1);
	assert_int_equal(sw_buf_reserve(&b, 64u << 20), SW_ELIMIT);
	sw_mem_huge(NULL, 0);
	sw_mem_huge(b.data + 1, 3);
	sw_buf_release(&b);
}

static void test_helpers(void **state)
{
	char *s;

	(void)state;
	s = sw__strndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	s = sw__asprintf("%s=%d", "n", 5);
	assert_string_equal(s, "n=5");
	free(s);
	assert_null(sw__strdup(NULL));
	s = sw__strdup("x");
	assert_string_equal(s, "x");
	free(s);
}

/* Growing arrays: appended one at a time, every index written (ASan sees
 * an overrun), with the implicit and the explicit capacity. */
static void test_grow(void **state)
{
	size_t *v = NULL, n, *w = NULL, wn, cap = 0;
	char **z = NULL;

	(void)state;
	for (n = 0; n < 5000; n++) {
		assert_int_equal(SW_GROW(v, n), 0);
		v[n] = n;
	}
	for (n = 0; n < 5000; n++)
		assert_int_equal(v[n], n);
	free(v);
	for (wn = 0; wn < 3000; wn++) {
		assert_int_equal(SW_GROW_CAP(w, wn, cap), 0);
		assert_true(cap > wn);
		w[wn] = wn;
	}
	free(w);
	/* a NULL-terminated list: the count includes the terminator */
	for (n = 0; n < 100; n++) {
		assert_int_equal(SW_GROW(z, n + 1), 0);
		z[n] = (char *)"x";
		z[n + 1] = NULL;
	}
	free(z);
	/* an array allocated elsewhere, exact size: the explicit form grows it */
	w = calloc(3, sizeof(*w));
	cap = 0;
	assert_non_null(w);
	assert_int_equal(SW_GROW_CAP(w, 3, cap), 0);
	w[3] = 3;
	assert_true(cap >= 4);
	free(w);
	/* overflow is refused, the array kept */
	cap = SIZE_MAX / 2;
	w = NULL;
	assert_int_equal(sw__grow(&w, SIZE_MAX / 2, 8, &cap), SW_ENOMEM);
	assert_null(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_cstr),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_max_bound),
		cmocka_unit_test(test_zero_max),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_printf_limit),
		cmocka_unit_test(test_detach),
		cmocka_unit_test(test_growth_large),
		cmocka_unit_test(test_reserve_after_reset),
		cmocka_unit_test(test_helpers),
		/* last: the bug it guards against aborts sanitizer builds */
		cmocka_unit_test(test_unbounded_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
