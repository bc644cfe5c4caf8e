/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the WWW-Authenticate reader of the registry client. The input is
 * read as a header (up to its first NUL, as the client keeps it): any
 * value found lies inside it. Then the input, split in two, becomes two
 * values written into a challenge as quoted strings with their escapes,
 * around a third parameter: each must read back exactly, whatever it holds
 * ("realm=" text, quotes, commas, backslashes), so a parameter is only
 * ever read from itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/lib/registry/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const keys[] = { "realm", "service", "scope", "error", "REALM" };

/* "\"value\"" with '"' and '\\' escaped; NULs left out */
static void quote(sw_buf *b, const uint8_t *p, size_t n, sw_buf *plain)
{
	size_t i;

	sw_buf_putc(b, '"');
	for (i = 0; i < n; i++) {
		if (!p[i])
			continue;
		if (p[i] == '"' || p[i] == '\\')
			sw_buf_putc(b, '\\');
		sw_buf_putc(b, (char)p[i]);
		sw_buf_putc(plain, (char)p[i]);
	}
	sw_buf_putc(b, '"');
}

static void expect(const char *header, const char *key, const char *want)
{
	char *got = sw_reg__challenge_param(header, key);

	if (!got || strcmp(got, want) != 0)
		abort();
	free(got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	sw_buf h = SW_BUF_INIT(1u << 22), v1 = SW_BUF_INIT(1u << 20), v2 = SW_BUF_INIT(1u << 20);
	size_t i, half = size / 2;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *v = sw_reg__challenge_param(s, keys[i]);
		if (v && strlen(v) > strlen(s))
			abort();
		free(v);
	}
	/* round trip: Bearer service="<first half>",scope=x,realm="<second half>" */
	sw_buf_printf(&h, "Bearer service=");
	quote(&h, data, half, &v1);
	sw_buf_printf(&h, ", scope=x ,realm = ");
	quote(&h, data + half, size - half, &v2);
	expect(sw_buf_cstr(&h), "service", sw_buf_cstr(&v1));
	expect(sw_buf_cstr(&h), "realm", sw_buf_cstr(&v2));
	expect(sw_buf_cstr(&h), "Scope", "x");
	sw_buf_release(&h);
	sw_buf_release(&v1);
	sw_buf_release(&v2);
	free(s);
	return 0;
}
