/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the reference parser (src/lib/image/reference.c): the
 * distribution/reference grammar field by field, every refusal with its
 * reason, length limits, the output forms, and sw_reference_normalize: the
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stowaway/image.h"
#include "stowaway/reference.h"
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
		{ "Alpine", SW_EFORMAT, "repository name must be lowercase" },
		{ "alpinE:latest", SW_EFORMAT, "repository name must be lowercase" },
		{ "docker.io/Library/x", SW_EFORMAT, "repository name must be lowercase" },
		{ "ghcr.io/a/B", SW_EFORMAT, "repository name must be lowercase" },
		{ "bitnami/Redis", SW_EFORMAT, "repository name must be lowercase" },
		{ "a b", SW_EFORMAT, "not a valid repository path component" },
		{ "ghcr.io/a+b", SW_EFORMAT, "not a valid repository path component" },
		{ ":tag", SW_EFORMAT, "empty repository name" },
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
	assert_non_null(strstr(err.msg, "domain longer than 255"));
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


typedef struct {
	const char *in;
	const char *domain, *path, *tag, *digest, *familiar;
} parse_case;

#define SHA512 HEX64 HEX64
#define SHA384 HEX64 "0123456789abcdef0123456789abcdef"

/* The grammar, field by field, with the familiar form docker prints. */
static void test_parse_fields(void **state)
{
	static const parse_case cs[] = {
		{ "openjdk", "docker.io", "library/openjdk", "", "", "openjdk" },
		{ "openjdk:17-jdk", "docker.io", "library/openjdk", "17-jdk", "", "openjdk:17-jdk" },
		{ "docker.io/openjdk", "docker.io", "library/openjdk", "", "", "openjdk" },
		{ "index.docker.io/library/openjdk", "docker.io", "library/openjdk", "", "", "openjdk" },
		{ "docker.io/library/openjdk:21", "docker.io", "library/openjdk", "21", "", "openjdk:21" },
		{ "someuser/openjdk", "docker.io", "someuser/openjdk", "", "", "someuser/openjdk" },
		{ "docker.io/library/a/b", "docker.io", "library/a/b", "", "", "library/a/b" },
		{ "registry-1.docker.io/library/x", "registry-1.docker.io", "library/x", "", "",
		  "registry-1.docker.io/library/x" },
		{ "localhost/app", "localhost", "app", "", "", "localhost/app" },
		{ "localhost:5000/app:1", "localhost:5000", "app", "1", "", "localhost:5000/app:1" },
		{ "127.0.0.1:5000/a/b/c", "127.0.0.1:5000", "a/b/c", "", "", "127.0.0.1:5000/a/b/c" },
		{ "[::1]:5000/app", "[::1]:5000", "app", "", "", "[::1]:5000/app" },
		{ "[2001:db8::1]/app", "[2001:db8::1]", "app", "", "", "[2001:db8::1]/app" },
		{ "Registry.Example.COM/team/app", "Registry.Example.COM", "team/app", "", "",
		  "Registry.Example.COM/team/app" },
		{ "xn--bcher-kva.example/app", "xn--bcher-kva.example", "app", "", "",
		  "xn--bcher-kva.example/app" },
		{ "a.b-c.d/x", "a.b-c.d", "x", "", "", "a.b-c.d/x" },
		{ "ghcr.io/a/b:v1@sha256:" HEX64, "ghcr.io", "a/b", "v1", "sha256:" HEX64,
		  "ghcr.io/a/b:v1@sha256:" HEX64 },
		{ "alpine@sha256:" HEX64, "docker.io", "library/alpine", "", "sha256:" HEX64,
		  "alpine@sha256:" HEX64 },
		{ "alpine@sha512:" SHA512, "docker.io", "library/alpine", "", "sha512:" SHA512,
		  "alpine@sha512:" SHA512 },
		{ "alpine@sha384:" SHA384, "docker.io", "library/alpine", "", "sha384:" SHA384,
		  "alpine@sha384:" SHA384 },
		/* separators: . _ __ and runs of - */
		{ "x/a.b_c__d---e/f-g", "docker.io", "x/a.b_c__d---e/f-g", "", "", "x/a.b_c__d---e/f-g" },
		{ "0/1", "docker.io", "0/1", "", "", "0/1" },
		/* familiar forms that would read back as another host keep docker.io */
		{ "docker.io/foo.bar/app", "docker.io", "foo.bar/app", "", "", "docker.io/foo.bar/app" },
		{ "docker.io/localhost/app", "docker.io", "localhost/app", "", "", "docker.io/localhost/app" },
		/* tags: \w then [\w.-], up to 128, uppercase allowed */
		{ "x:Latest_1.0-rc", "docker.io", "library/x", "Latest_1.0-rc", "", "x:Latest_1.0-rc" },
		{ "x:_", "docker.io", "library/x", "_", "", "x:_" },
		/* a name that is a "host:port" with no path is a Hub name with a tag */
		{ "localhost:5000", "docker.io", "library/localhost", "5000", "", "localhost:5000" },
		/* 63 hex digits is a name, 64 is an image ID */
		{ "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", "docker.io",
		  "library/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", "", "",
		  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		sw_error err = SW_ERROR_INIT;
		sw_ref r;
		char fam[1024];
		if (sw_ref_parse(cs[i].in, &r, &err) != 0)
			fail_msg("\"%s\": %s", cs[i].in, err.msg);
		if (strcmp(r.domain, cs[i].domain) || strcmp(r.path, cs[i].path) ||
		    strcmp(r.tag, cs[i].tag) || strcmp(r.digest, cs[i].digest))
			fail_msg("\"%s\": got %s | %s | %s | %s", cs[i].in, r.domain, r.path, r.tag, r.digest);
		assert_int_equal(sw_ref_format(&r, SW_REF_FAMILIAR, fam, sizeof(fam)), 0);
		if (strcmp(fam, cs[i].familiar))
			fail_msg("\"%s\": familiar \"%s\", want \"%s\"", cs[i].in, fam, cs[i].familiar);
	}
}

/* What Docker refuses, and why we say it does. */
static void test_grammar_rejections(void **state)
{
	static const ref_case cs[] = {
		{ HEX64, SW_EFORMAT, "image ID" },
		{ "docker.io/" HEX64, 0, "docker.io/library/" HEX64 ":latest" },
		{ "UPPER", SW_EFORMAT, "must be lowercase" },
		{ "docker.io/Upper/x", SW_EFORMAT, "must be lowercase" },
		{ "a//b", SW_EFORMAT, "not a valid repository path component" },
		{ "a/b/", SW_EFORMAT, "repository path ends with '/'" },
		{ "/a", SW_EFORMAT, "not a valid repository path component" },
		{ "-a", SW_EFORMAT, "not a valid repository path component" },
		{ "a-", SW_EFORMAT, "not a valid repository path component" },
		{ "a..b", SW_EFORMAT, "not a valid repository path component" },
		{ "a___b", SW_EFORMAT, "not a valid repository path component" },
		{ "a._b", SW_EFORMAT, "not a valid repository path component" },
		{ "a_-b", SW_EFORMAT, "not a valid repository path component" },
		{ ".a", SW_EFORMAT, "not a valid repository path component" },
		{ "a/.b", SW_EFORMAT, "not a valid repository path component" },
		{ "my_reg.io/app", SW_EFORMAT, "not a valid registry host" },
		{ "-reg.io/app", SW_EFORMAT, "not a valid registry host" },
		{ "reg-.io/app", SW_EFORMAT, "not a valid registry host" },
		{ "reg..io/app", SW_EFORMAT, "not a valid registry host" },
		{ "reg.io:/app", SW_EFORMAT, "not a valid registry host" },
		{ "reg.io:50a/app", SW_EFORMAT, "not a valid registry host" },
		{ "[::1/app", SW_EFORMAT, "not a valid registry host" },
		{ "[]:5000/app", SW_EFORMAT, "not a valid registry host" },
		{ "[zz::1]/app", SW_EFORMAT, "not a valid registry host" },
		{ "x:", SW_EFORMAT, "not a valid tag" },
		{ "x:-a", SW_EFORMAT, "not a valid tag" },
		{ "x:.a", SW_EFORMAT, "not a valid tag" },
		{ "x:a+b", SW_EFORMAT, "not a valid tag" },
		{ "x:a:b", SW_EFORMAT, "not a valid tag" },
		{ "x@", SW_EFORMAT, "digest must be algorithm:hex" },
		{ "x@sha256", SW_EFORMAT, "digest must be algorithm:hex" },
		{ "x@sha256:", SW_EFORMAT, "digest must be algorithm:hex" },
		{ "x@md5:0123456789abcdef0123456789abcdef", SW_EFORMAT, "unsupported digest algorithm" },
		{ "x@sha256:" HEX64 "0", SW_EFORMAT, "64 hex digits, not 65" },
		{ "x@sha256:0123", SW_EFORMAT, "64 hex digits, not 4" },
		{ "x@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", SW_EFORMAT,
		  "lowercase hex" },
		{ "x@sha256:" HEX64 "@sha256:" HEX64, SW_EFORMAT, "lowercase hex" },
		{ "x:t@sha256:" HEX64 ":t", SW_EFORMAT, "lowercase hex" },
	};

	(void)state;
	run_cases(cs, sizeof(cs) / sizeof(cs[0]));
}

/* Length limits: 128-character tags, 255-character paths ("library/"
 * counted, as the normalised path is what the registry sees). */
static void test_lengths(void **state)
{
	char buf[600];
	sw_error err = SW_ERROR_INIT;
	sw_ref r;

	(void)state;
	snprintf(buf, sizeof(buf), "x:%0128d", 7);
	assert_int_equal(sw_ref_parse(buf, &r, &err), 0);
	assert_int_equal(strlen(r.tag), 128);
	snprintf(buf, sizeof(buf), "x:%0129d", 7);
	assert_int_equal(sw_ref_parse(buf, &r, &err), SW_EFORMAT);
	memset(buf, 'a', 255);
	buf[255] = '\0';
	buf[3] = '/';
	assert_int_equal(sw_ref_parse(buf, &r, &err), 0);
	assert_int_equal(strlen(r.path), 255);
	buf[3] = 'a';
	/* one component of 255 gets "library/": 263 */
	assert_int_equal(sw_ref_parse(buf, &r, &err), SW_EFORMAT);
	assert_non_null(strstr(err.msg, "longer than 255"));
	memset(buf, 'a', 256);
	buf[256] = '\0';
	buf[3] = '/';
	assert_int_equal(sw_ref_parse(buf, &r, &err), SW_EFORMAT);
}

static void test_forms(void **state)
{
	sw_ref r;
	char out[300];

	(void)state;
	assert_int_equal(sw_ref_parse("index.docker.io/library/redis:7", &r, NULL), 0);
	assert_int_equal(sw_ref_format(&r, SW_REF_NAME, out, sizeof(out)), 0);
	assert_string_equal(out, "docker.io/library/redis");
	assert_int_equal(sw_ref_format(&r, SW_REF_FULL, out, sizeof(out)), 0);
	assert_string_equal(out, "docker.io/library/redis:7");
	assert_int_equal(sw_ref_format(&r, SW_REF_FAMILIAR, out, sizeof(out)), 0);
	assert_string_equal(out, "redis:7");
	assert_int_equal(sw_ref_parse("bitnami/redis", &r, NULL), 0);
	assert_int_equal(sw_ref_format(&r, SW_REF_FULL, out, sizeof(out)), 0);
	assert_string_equal(out, "docker.io/bitnami/redis");
	assert_int_equal(sw_ref_format(&r, SW_REF_DEFAULT, out, sizeof(out)), 0);
	assert_string_equal(out, "docker.io/bitnami/redis:latest");
	assert_int_equal(sw_ref_format(&r, SW_REF_DEFAULT, out, 10), SW_ELIMIT);
	assert_string_equal(out, "");
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
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_grammar_rejections),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_forms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
