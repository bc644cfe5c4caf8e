/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for sw_reference_normalize (src/lib/image/reference.c): the
 * Docker normalisation rules reports rely on to name an image the same way
 * whichever spelling the user typed (default domain, "library/", the
 * index.docker.io alias, registries with ports, ":latest" only when there
 * is neither tag nor digest), refusals with their codes, and the output
 * bound.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stowaway/image.h"
#include "../../src/lib/util/banned.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef struct {
	const char *in;
	int rc;
	const char *out;   /* rc == 0: the normalised form; else a message substring */
} ref_case;

static void run_cases(const ref_case *cs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		sw_error err = SW_ERROR_INIT;
		char out[512];
		int rc;

		memset(out, 0, sizeof(out));
		rc = sw_reference_normalize(cs[i].in, out, sizeof(out), &err);
		if (rc != cs[i].rc)
			fail_msg("\"%s\": rc %d, want %d (%s%s)", cs[i].in, rc, cs[i].rc,
				 err.msg, rc == 0 ? out : "");
		if (rc == 0 && strcmp(out, cs[i].out) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", cs[i].in, out, cs[i].out);
		if (rc != 0 && (err.code != rc || !strstr(err.msg, cs[i].out)))
			fail_msg("\"%s\": error %d \"%s\", want \"%s\"", cs[i].in, err.code,
				 err.msg, cs[i].out);
	}
}

static void test_docker_hub(void **state)
{
	static const ref_case cs[] = {
		{ "alpine", 0, "docker.io/library/alpine:latest" },
		{ "alpine:3.19", 0, "docker.io/library/alpine:3.19" },
		{ "library/alpine", 0, "docker.io/library/alpine:latest" },
		{ "bitnami/redis", 0, "docker.io/bitnami/redis:latest" },
		{ "bitnami/redis:7.2", 0, "docker.io/bitnami/redis:7.2" },
		{ "docker.io/alpine", 0, "docker.io/library/alpine:latest" },
		{ "docker.io/library/alpine:edge", 0, "docker.io/library/alpine:edge" },
		{ "index.docker.io/library/x:1", 0, "docker.io/library/x:1" },
		{ "index.docker.io/x", 0, "docker.io/library/x:latest" },
		{ "my-org/sub.team/app_1", 0, "docker.io/my-org/sub.team/app_1:latest" },
	};

	(void)state;
	run_cases(cs, sizeof(cs) / sizeof(cs[0]));
}

static void test_other_registries(void **state)
{
	static const ref_case cs[] = {
		{ "localhost:5000/app", 0, "localhost:5000/app:latest" },
		{ "localhost/app", 0, "localhost/app:latest" },
		{ "localhost:5000/app:v1", 0, "localhost:5000/app:v1" },
		{ "ghcr.io/a/b", 0, "ghcr.io/a/b:latest" },
		{ "ghcr.io/a/b:1.0", 0, "ghcr.io/a/b:1.0" },
		{ "registry.example.com:443/team/app:v2", 0,
		  "registry.example.com:443/team/app:v2" },
		{ "quay.io/app", 0, "quay.io/app:latest" },  /* no "library/" off the Hub */
		/* uppercase marks a domain, as in Docker's splitting */
		{ "MyRegistry/app", 0, "MyRegistry/app:latest" },
		/* a first component without '.', ':' or uppercase is a Hub namespace */
		{ "localhostx/app", 0, "docker.io/localhostx/app:latest" },
	};

	(void)state;
	run_cases(cs, sizeof(cs) / sizeof(cs[0]));
}

static void test_digests(void **state)
{
	static const ref_case cs[] = {
		{ "ghcr.io/a/b@sha256:" HEX64, 0, "ghcr.io/a/b@sha256:" HEX64 },
		{ "alpine@sha256:" HEX64, 0, "docker.io/library/alpine@sha256:" HEX64 },
		{ "localhost:5000/app@sha256:" HEX64, 0, "localhost:5000/app@sha256:" HEX64 },
	};

	(void)state;
	run_cases(cs, sizeof(cs) / sizeof(cs[0]));
}

/* "name:tag@digest" is a valid reference (the tag is informative, the
 * digest decides); Docker keeps both. */
static void test_tag_and_digest(void **state)
{
	static const ref_case cs[] = {
		{ "alpine:3.19@sha256:" HEX64, 0, "docker.io/library/alpine:3.19@sha256:" HEX64 },
		{ "ghcr.io/a/b:v1@sha256:" HEX64, 0, "ghcr.io/a/b:v1@sha256:" HEX64 },
	};

	(void)state;
	run_cases(cs, sizeof(cs) / sizeof(cs[0]));
}

static void test_rejected(void **state)
{
	static const ref_case cs[] = {
		{ "", SW_EFORMAT, "empty" },
		{ "Alpine", SW_EFORMAT, "repository must be lowercase" },
		{ "alpinE:latest", SW_EFORMAT, "repository must be lowercase" },
		{ "docker.io/Library/x", SW_EFORMAT, "repository must be lowercase" },
		{ "ghcr.io/a/B", SW_EFORMAT, "repository must be lowercase" },
		{ "bitnami/Redis", SW_EFORMAT, "repository must be lowercase" },
		{ "a b", SW_EFORMAT, "repository must be lowercase" },
		{ "ghcr.io/a+b", SW_EFORMAT, "repository must be lowercase" },
		{ ":tag", SW_EFORMAT, "empty repository" },
		{ "@sha256:" HEX64, SW_EFORMAT, "empty repository" },
		{ "ghcr.io/", SW_EFORMAT, "empty repository" },
		{ "ghcr.io/:v1", SW_EFORMAT, "empty repository" },
	};
	sw_error err = SW_ERROR_INIT;
	char out[64];
	char *big;

	(void)state;
	run_cases(cs, sizeof(cs) / sizeof(cs[0]));
	assert_int_equal(sw_reference_normalize(NULL, out, sizeof(out), &err), SW_EFORMAT);
	/* a domain longer than 255 bytes */
	big = malloc(400);
	assert_non_null(big);
	memset(big, 'a', 300);
	memcpy(big + 296, ".io/x", 6);
	assert_int_equal(sw_reference_normalize(big, out, sizeof(out), &err), SW_EFORMAT);
	assert_non_null(strstr(err.msg, "domain too long"));
	free(big);
	/* more than 4096 bytes in all */
	big = malloc(5000);
	assert_non_null(big);
	memset(big, 'a', 4999);
	big[4999] = '\0';
	assert_int_equal(sw_reference_normalize(big, out, sizeof(out), &err), SW_EFORMAT);
	assert_non_null(strstr(err.msg, "too long"));
	free(big);
	/* errors without an error struct */
	assert_int_equal(sw_reference_normalize("", out, sizeof(out), NULL), SW_EFORMAT);
}

static void test_output_bound(void **state)
{
	static const char want[] = "docker.io/library/alpine:latest";
	sw_error err = SW_ERROR_INIT;
	char out[sizeof(want) + 8];

	(void)state;
	memset(out, 'Z', sizeof(out));
	assert_int_equal(sw_reference_normalize("alpine", out, sizeof(want), &err), 0);
	assert_string_equal(out, want);
	assert_int_equal(out[sizeof(want)], 'Z');
	memset(out, 'Z', sizeof(out));
	assert_int_equal(sw_reference_normalize("alpine", out, sizeof(want) - 1, &err), SW_ELIMIT);
	assert_int_equal(err.code, SW_ELIMIT);
	assert_non_null(strstr(err.msg, "reference too long"));
	assert_int_equal(out[sizeof(want) - 1], 'Z');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker_hub),
		cmocka_unit_test(test_other_registries),
		cmocka_unit_test(test_digests),
		cmocka_unit_test(test_tag_and_digest),
		cmocka_unit_test(test_rejected),
		cmocka_unit_test(test_output_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
