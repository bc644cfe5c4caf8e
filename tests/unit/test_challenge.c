/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the WWW-Authenticate reader of the registry client
 * (sw_reg__challenge_param in src/lib/registry/client.c). The realm it
 * returns is where the client sends the registry credentials for a token,
 * so a value must come from its own parameter and nowhere else: RFC 7235
 * auth-params, names in any case, values as tokens or quoted strings with
 * backslash escapes, white space around '=', commas inside quotes, and
 * garbage (unterminated quotes, token68, bare '=') read as nothing.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/lib/registry/registry.h"
#include "../../src/lib/util/banned.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define ABSENT ((const char *)0)

typedef struct {
	const char *header;
	const char *key;
	const char *want;   /* ABSENT: NULL */
} param_case;

static void check(const param_case *c, size_t i)
{
	char *got = sw_reg__challenge_param(c->header, c->key);

	if (!c->want && got)
		fail_msg("case %zu: %s in [%s] is \"%s\", want absent", i, c->key, c->header, got);
	if (c->want && (!got || strcmp(got, c->want) != 0))
		fail_msg("case %zu: %s in [%s] is %s%s%s, want \"%s\"", i, c->key, c->header, got ? "\"" : "",
			 got ? got : "absent", got ? "\"" : "", c->want);
	free(got);
}

static void check_all(const param_case *cs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		check(&cs[i], i);
}

static void test_docker_hub(void **state)
{
	static const char hub[] = "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
				  "scope=\"repository:samalba/my-app:pull,push\",error=\"insufficient_scope\"";
	static const param_case cs[] = {
		{ hub, "realm", "https://auth.docker.io/token" },
		{ hub, "service", "registry.docker.io" },
		/* a comma inside quotes is part of the value */
		{ hub, "scope", "repository:samalba/my-app:pull,push" },
		{ hub, "error", "insufficient_scope" },
		{ hub, "push", ABSENT },
		{ hub, "Bearer", ABSENT },
		{ "Basic realm=\"Registry Realm\"", "realm", "Registry Realm" },
		/* values as tokens, with spaces after the commas */
		{ "Bearer realm=https://ghcr.io/token, service=ghcr.io, scope=repository:o/r:pull", "service", "ghcr.io" },
		{ "Bearer realm=https://ghcr.io/token, service=ghcr.io, scope=repository:o/r:pull", "scope",
		  "repository:o/r:pull" },
		{ "Bearer realm=https://ghcr.io/token,service=ghcr.io", "realm", "https://ghcr.io/token" },
		/* without a scheme, and with tabs */
		{ "realm=\"https://a.example/t\"", "realm", "https://a.example/t" },
		{ "Bearer\trealm=\"https://a.example/t\",\tservice=\"s\"", "service", "s" },
	};

	(void)state;
	check_all(cs, N(cs));
}

static void test_missing(void **state)
{
	static const param_case cs[] = {
		{ "Bearer realm=\"https://a.example/t\"", "service", ABSENT },
		{ "Bearer realm=\"https://a.example/t\"", "scope", ABSENT },
		{ "Bearer", "realm", ABSENT },
		{ "Basic", "realm", ABSENT },
		{ "", "realm", ABSENT },
		/* names are whole words: no prefix, no suffix */
		{ "Bearer xrealm=\"bad\",realm=\"good\"", "realm", "good" },
		{ "Bearer realmx=\"bad\"", "realm", ABSENT },
		{ "Bearer realm2=\"bad\"", "realm", ABSENT },
		{ "Bearer myservice=\"bad\", service=\"good\"", "service", "good" },
		/* a name without '=' is not a parameter */
		{ "Bearer realm, realm=\"x\"", "realm", "x" },
		{ "Bearer realm", "realm", ABSENT },
		/* an empty value is a value */
		{ "Bearer realm=\"\",service=s", "realm", "" },
		{ "Bearer realm=,service=s", "realm", "" },
		{ "Bearer realm=,service=s", "service", "s" },
		/* the first of two counts, and the first challenge's */
		{ "Bearer realm=\"a\",realm=\"b\"", "realm", "a" },
		{ "Bearer realm=\"https://a/t\",service=\"s\", Basic realm=\"x\"", "realm", "https://a/t" },
		{ "Bearer realm=\"https://a/t\",service=\"s\", Basic realm=\"x\"", "service", "s" },
	};

	(void)state;
	check_all(cs, N(cs));
}

/* RFC 7235 section 2.1: names match case-insensitively, white space may
 * surround '=', and quoted strings carry backslash escapes. */
static void test_rfc7235(void **state)
{
	static const param_case cs[] = {
		{ "Bearer Realm=\"https://a.example/t\",SERVICE=\"reg\"", "realm", "https://a.example/t" },
		{ "Bearer Realm=\"https://a.example/t\",SERVICE=\"reg\"", "service", "reg" },
		{ "bearer REALM=https://a.example/t", "realm", "https://a.example/t" },
		{ "Bearer realm = \"https://a.example/t\" , service= reg", "realm", "https://a.example/t" },
		{ "Bearer realm = \"https://a.example/t\" , service= reg", "service", "reg" },
		{ "Bearer realm\t=\t\"x\"", "realm", "x" },
		{ "Bearer realm=\"https://a.example/t?q=\\\"x\\\"\",service=\"s\"", "realm", "https://a.example/t?q=\"x\"" },
		{ "Bearer realm=\"https://a.example/t?q=\\\"x\\\"\",service=\"s\"", "service", "s" },
		{ "Bearer service=\"a\\\\b\\c\"", "service", "a\\bc" },
		{ "Bearer service=\"\\\"\"", "service", "\"" },
		/* bytes outside ASCII are kept as they are */
		{ "Bearer realm=\"https://a.example/\xc3\xa9\"", "realm", "https://a.example/\xc3\xa9" },
	};

	(void)state;
	check_all(cs, N(cs));
}

/* A parameter's name inside another's quoted value is text: the realm (where
 * the credentials go) comes from the realm parameter only. */
static void test_names_inside_values(void **state)
{
	static const param_case cs[] = {
		{ "Bearer service=\"x, realm=https://evil.example/\",realm=\"https://good.example/token\"", "realm",
		  "https://good.example/token" },
		{ "Bearer service=\"x,realm=https://evil.example/\",realm=\"https://good.example/token\"", "realm",
		  "https://good.example/token" },
		{ "Bearer scope=\"repository:a/b:pull, service=evil\",realm=\"https://a/t\"", "service", ABSENT },
		{ "Bearer scope=\"repository:a/b:pull, service=evil\",realm=\"https://a/t\"", "realm", "https://a/t" },
		{ "Bearer error=\"x \\\" realm=evil\",realm=good", "realm", "good" },
	};

	(void)state;
	check_all(cs, N(cs));
}

static void test_garbage(void **state)
{
	static const param_case cs[] = {
		{ "Bearer realm=\"unterminated", "realm", ABSENT },
		{ "Bearer realm=\"ends in a backslash\\", "realm", ABSENT },
		/* quotes pair up from the left: this realm is inside service's value */
		{ "Bearer service=\"open, realm=\"https://x/t\"", "realm", ABSENT },
		{ "\"\"\"", "realm", ABSENT },
		{ "=,=,=", "realm", ABSENT },
		{ ",,,realm=x,,,", "realm", "x" },
		{ "Bearer abc123==", "realm", ABSENT },
		{ "Bearer \"quoted\" realm=x", "realm", "x" },
		{ "Bearer realm=\"a\"b, service=c", "service", "c" },
		{ "Bearer realm=\"a\"b, service=c", "realm", "a" },
		{ "\x01\x02\xff realm=\x7f", "realm", "\x7f" },
	};
	char big[9000];
	size_t n;
	char *v;

	(void)state;
	check_all(cs, N(cs));
	/* the longest header the client keeps (8 KiB), the realm last */
	memset(big, ' ', sizeof(big));
	memcpy(big, "Bearer", 6);
	n = 8192 - strlen(",realm=\"https://a/t\"");
	big[n - 1] = ',';
	memcpy(big + n, ",realm=\"https://a/t\"", strlen(",realm=\"https://a/t\"") + 1);
	assert_int_equal(strlen(big), 8192);
	v = sw_reg__challenge_param(big, "realm");
	assert_non_null(v);
	assert_string_equal(v, "https://a/t");
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker_hub),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_rfc7235),
		cmocka_unit_test(test_names_inside_values),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
