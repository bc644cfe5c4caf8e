/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the look-alike name judge (src/lib/names/names.c, public
 * API stowaway/names.h). Rows taken from the labelled table
 * tests/names/labelled.tsv (which tests/names runs whole through the CLI)
 * pin the verdict and the known name each look-alike resembles, for every
 * rule: official images, decorations, look-alike letters, namespaces that
 * dress up as library/, publishers' repositories, registry hosts. Edge
 * cases: empty, overlong, non-ASCII and uppercase input, hosts written in
 * capitals or with a port, the longest name a reference may have. The
 * edit distance and the writers are checked on their own.
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

#include "stowaway/names.h"
#include "../../src/lib/util/util.h"
#include "../../src/lib/util/banned.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef struct {
	const char *ref;
	sw_name_verdict verdict;
	const char *resembles;  /* "" for ok */
	const char *why;        /* a substring of the reason (or of the note, for ok) */
} row;

static void judge(const row *r)
{
	sw_name_result res;
	sw_error err = SW_ERROR_INIT;
	const char *why;

	if (sw_names_check(r->ref, &res, &err) != 0)
		fail_msg("%s: refused: %s", r->ref, err.msg);
	why = res.verdict == SW_NAME_OK ? res.note : res.reason;
	if (res.verdict != r->verdict || strcmp(res.resembles, r->resembles) != 0 || !strstr(why, r->why))
		fail_msg("%s: %s, resembles \"%s\", \"%s\"; want %s, \"%s\", \"...%s...\"", r->ref,
			 sw_name_verdict_str(res.verdict), res.resembles, why, sw_name_verdict_str(r->verdict),
			 r->resembles, r->why);
	/* a flagged name always says why and what it resembles; ok says neither */
	if (res.verdict == SW_NAME_OK)
		assert_true(!res.reason[0] && !res.resembles[0]);
	else
		assert_true(res.reason[0] && res.resembles[0] && !res.note[0]);
}

/* Rows of tests/names/labelled.tsv, one or more per rule. */
static void test_labelled_rows(void **state)
{
	static const row rows[] = {
		/* official images, as people write them */
		{ "openjdk:17-jdk-slim", SW_NAME_OK, "", "Docker Hub official image" },
		{ "index.docker.io/library/openjdk", SW_NAME_OK, "", "Docker Hub official image" },
		{ "nginx@" DIGEST, SW_NAME_OK, "", "Docker Hub official image" },
		/* mono and mongo are both official: an exact name is never a look-alike */
		{ "mono", SW_NAME_OK, "", "Docker Hub official image" },
		{ "bitnami/postgresql", SW_NAME_OK, "", "published by bitnami, a known publisher" },
		/* typosquats of official names: edits, transpositions, look-alike letters, decorations */
		{ "ngnix", SW_NAME_TYPOSQUAT, "docker.io/library/nginx",
		  "\"ngnix\" is not an official image; it is a typo or look-alike letters away from the official image "
		  "\"nginx\"" },
		{ "postgress", SW_NAME_TYPOSQUAT, "docker.io/library/postgres", "typo or look-alike letters" },
		{ "0penjdk", SW_NAME_TYPOSQUAT, "docker.io/library/openjdk", "typo or look-alike letters" },
		{ "mysq1", SW_NAME_TYPOSQUAT, "docker.io/library/mysql", "typo or look-alike letters" },
		{ "node-js", SW_NAME_TYPOSQUAT, "docker.io/library/node", "the name, with a word glued on, of" },
		{ "ubuntu-official:22.04", SW_NAME_TYPOSQUAT, "docker.io/library/ubuntu",
		  "\"ubuntu-official\" is not an official image; it is the name, with a word glued on, of the official "
		  "image \"ubuntu\"" },
		{ "someuser/pyhton", SW_NAME_TYPOSQUAT, "docker.io/library/python", "\"pyhton\" is a typo" },
		/* an official name where Docker does not publish it */
		{ "someuser/openjdk", SW_NAME_IMPERSONATION, "docker.io/library/openjdk",
		  "\"openjdk\" is a Docker Hub official image, published only as docker.io/library/openjdk; \"someuser\" is "
		  "not its publisher" },
		{ "libary/nginx", SW_NAME_IMPERSONATION, "docker.io/library/nginx",
		  "the namespace \"libary\" dresses up as Docker's official images" },
		{ "docker-official/python", SW_NAME_IMPERSONATION, "docker.io/library/python", "dresses up" },
		{ "pyth0n/python", SW_NAME_IMPERSONATION, "docker.io/library/python",
		  "the namespace \"pyth0n\" presents itself as the official image \"python\"" },
		/* publishers: their distinctive repositories, look-alike namespaces */
		{ "someuser/grafana", SW_NAME_IMPERSONATION, "docker.io/grafana/grafana",
		  "\"grafana\" is grafana's image (docker.io/grafana/grafana); \"someuser\" is not its publisher" },
		{ "bitnarni/redis", SW_NAME_TYPOSQUAT, "docker.io/bitnami/redis",
		  "the namespace \"bitnarni\" is a look-alike of the publisher \"bitnami\"" },
		{ "hashicrop/vault", SW_NAME_TYPOSQUAT, "docker.io/hashicorp/vault", "look-alike of the publisher" },
		/* registry hosts */
		{ "gchr.io/someorg/app", SW_NAME_TYPOSQUAT, "ghcr.io",
		  "the host \"gchr.io\" is a typo or look-alike of the registry \"ghcr.io\"" },
		{ "mcr.microsoft.co/dotnet/sdk", SW_NAME_TYPOSQUAT, "mcr.microsoft.com", "look-alike of the registry" },
		{ "docker.io.example.com/library/nginx", SW_NAME_IMPERSONATION, "docker.io",
		  "the host \"docker.io.example.com\" begins with the registry name \"docker.io\" but is a different host" },
		{ "quay.io/prometeus/prometheus", SW_NAME_TYPOSQUAT, "quay.io/prometheus",
		  "the namespace \"prometeus\" on quay.io is a look-alike of \"prometheus\"" },
		{ "public.ecr.aws/docker/library/ngnix", SW_NAME_TYPOSQUAT, "public.ecr.aws/docker/library/nginx",
		  "\"ngnix\" is a typo" },
		{ "public.ecr.aws/docker/library/nginx", SW_NAME_OK, "", "Amazon ECR Public mirror" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(rows); i++)
		judge(&rows[i]);
}

/* Issue 20: ordinary names that were flagged, a missed typosquat, and the
 * rules that now decide them. */
static void test_precision(void **state)
{
	static const row rows[] = {
		/* a publisher's repository two edits away earns no edits from "server" */
		{ "my-company/api-server", SW_NAME_OK, "", "Docker Hub namespace \"my-company\"" },
		{ "apps/portainer-cee", SW_NAME_TYPOSQUAT, "docker.io/portainer/portainer-ce", "a typo or look-alike away" },
		{ "tools/terrafrom", SW_NAME_TYPOSQUAT, "docker.io/hashicorp/terraform", "a typo or look-alike away" },
		/* the project's own namespace, official names included */
		{ "phpmyadmin/phpmyadmin", SW_NAME_OK, "", "the project's own namespace" },
		{ "cilium/cilium", SW_NAME_OK, "", "the project's own namespace" },
		{ "keycloak/keycloak", SW_NAME_OK, "", "the project's own namespace" },
		{ "openliberty/open-liberty", SW_NAME_OK, "", "the project's own namespace" },
		{ "python/python", SW_NAME_OK, "", "the project's own namespace" },
		/* ...unless its publisher on the same registry is another namespace */
		{ "terraform/terraform", SW_NAME_IMPERSONATION, "docker.io/hashicorp/terraform",
		  "\"terraform\" is hashicorp's image (docker.io/hashicorp/terraform)" },
		/* a publisher's namespace name on another registry is the same project */
		{ "argoproj/argocd", SW_NAME_OK, "", "Docker Hub namespace \"argoproj\"" },
		{ "someuser/argocd", SW_NAME_IMPERSONATION, "quay.io/argoproj/argocd", "argoproj's image" },
		/* ...and a look-alike stays one */
		{ "ngnix/ngnix", SW_NAME_TYPOSQUAT, "docker.io/nginx", "look-alike of the publisher \"nginx\"" },
		/* an official name as namespace claims nothing for other repositories */
		{ "couchbase/server", SW_NAME_OK, "", "Docker Hub namespace \"couchbase\"" },
		{ "zaproxy/zap-stable", SW_NAME_OK, "", "Docker Hub namespace \"zaproxy\"" },
		/* generic and repackaged repositories prove nothing elsewhere */
		{ "sysdig/agent", SW_NAME_OK, "", "Docker Hub namespace \"sysdig\"" },
		{ "someuser/keycloak", SW_NAME_IMPERSONATION, "quay.io/keycloak/keycloak",
		  "\"keycloak\" is keycloak's image (quay.io/keycloak/keycloak)" },
		/* a namespace two edits from a publisher's needs that publisher's repository */
		{ "kubernetes/pause", SW_NAME_OK, "", "Docker Hub namespace \"kubernetes\"" },
		{ "linuxserver-io/sonarr", SW_NAME_TYPOSQUAT, "docker.io/linuxserver/sonarr", "look-alike of the publisher" },
		{ "bitnarni/foo", SW_NAME_TYPOSQUAT, "docker.io/bitnami", "look-alike of the publisher \"bitnami\"" },
		/* the names people expect, and their typos */
		{ "mongdb", SW_NAME_TYPOSQUAT, "docker.io/library/mongo",
		  "\"mongdb\" is not an official image; it is a typo or look-alike letters away from \"mongodb\", the "
		  "name people expect for the official image \"mongo\"" },
		{ "mongodb", SW_NAME_TYPOSQUAT, "docker.io/library/mongo", "the official image is called \"mongo\"" },
		{ "someuser/mongodb", SW_NAME_OK, "", "Docker Hub namespace \"someuser\"" },
		{ "wordpres-official", SW_NAME_TYPOSQUAT, "docker.io/library/wordpress",
		  "a typo of the name, with a word glued on, of the official image \"wordpress\"" },
		/* short and generic names under a namespace */
		{ "requarks/wiki", SW_NAME_OK, "", "Docker Hub namespace" },
		{ "almalinux/9-base", SW_NAME_OK, "", "Docker Hub namespace" },
		{ "docker123321/tomcat11", SW_NAME_TYPOSQUAT, "docker.io/library/tomcat", "typo" },
		/* Google's mirror of the official images */
		{ "mirror.gcr.io/library/nginx", SW_NAME_OK, "", "mirror.gcr.io" },
		{ "mirror.gcr.io/library/ngnix", SW_NAME_TYPOSQUAT, "mirror.gcr.io/library/nginx", "typo" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(rows); i++)
		judge(&rows[i]);
}

static void test_other_hosts(void **state)
{
	static const row rows[] = {
		{ "localhost:5000/app", SW_NAME_OK, "", "local or private registry" },
		{ "192.168.1.10:5000/app", SW_NAME_OK, "", "local or private registry" },
		{ "[::1]:5000/x", SW_NAME_OK, "", "local or private registry" },
		{ "registry.internal.example/team/app", SW_NAME_OK, "",
		  "registry \"registry.internal.example\" is not in the known list (private or new)" },
		{ "ghcr.io/someorg/app", SW_NAME_OK, "",
		  "known registry ghcr.io; namespace \"someorg\" is not in the known-publisher list" },
		/* a host is judged without its port, and in lowercase */
		{ "ghcr.io:443/someorg/app", SW_NAME_OK, "", "known registry ghcr.io" },
		{ "DOCKER.IO/library/ngnix", SW_NAME_TYPOSQUAT, "docker.io/library/nginx", "typo" },
		{ "GCHR.IO/someorg/app", SW_NAME_TYPOSQUAT, "ghcr.io", "the host \"gchr.io\"" },
		{ "registry-1.docker.io/someuser/openjdk", SW_NAME_IMPERSONATION, "docker.io/library/openjdk",
		  "published only as docker.io/library/openjdk" },
		/* tags and digests do not change a name's verdict; tags may be uppercase */
		{ "ngnix:LATEST@" DIGEST, SW_NAME_TYPOSQUAT, "docker.io/library/nginx", "typo" },
		{ "nginx:LATEST", SW_NAME_OK, "", "Docker Hub official image" },
		{ "docker.io/ngnix", SW_NAME_TYPOSQUAT, "docker.io/library/nginx", "typo" },
		/* library/ holds only official images */
		{ "library/not-an-official-image", SW_NAME_OK, "", "not a Docker Hub official image" },
		{ "library/a/b", SW_NAME_OK, "", "those have one name under library/" },
		/* short names get no edits, only look-alike letters */
		{ "bux", SW_NAME_OK, "", "not a Docker Hub official image" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(rows); i++)
		judge(&rows[i]);
}

static void refused(const char *ref, const char *msg)
{
	sw_name_result res;
	sw_error err = SW_ERROR_INIT;

	memset(&res, 0x5a, sizeof(res));
	assert_int_equal(sw_names_check(ref, &res, &err), SW_EFORMAT);
	if (!strstr(err.msg, msg))
		fail_msg("%.80s: \"%s\", want \"%s\"", ref, err.msg, msg);
	/* nothing half-judged is left behind */
	assert_int_equal(res.verdict, SW_NAME_OK);
	assert_string_equal(res.reason, "");
	assert_string_equal(res.resembles, "");
}

static void test_edge_cases(void **state)
{
	char s[5000];
	size_t n;

	(void)state;
	refused("", "reference is empty");
	refused("NGINX", "repository name must be lowercase");
	refused("someuser/OpenJDK", "repository name must be lowercase");
	refused("ng\xc3\xafnx", "is not a valid repository path component");
	refused("nginx\xe2\x80\x8b", "is not a valid repository path component"); /* a zero-width space */
	refused("\xd0\xbe\xd1\x80" "enjdk", "is not a valid repository path component"); /* Cyrillic o, p */
	refused("ngi\x01nx", "is not a valid repository path component");
	/* the longest repository name a reference may have, and one more */
	n = (size_t)snprintf(s, sizeof(s), "docker.io/library/");
	memset(s + n, 'a', 255 - 8);
	s[n + 255 - 8] = '\0';
	{
		row r = { s, SW_NAME_OK, "", "not a Docker Hub official image" };
		judge(&r);
	}
	n = (size_t)snprintf(s, sizeof(s), "someuser/");
	memset(s + n, 'n', 246);
	s[n + 246] = '\0';
	{
		row r = { s, SW_NAME_OK, "", "Docker Hub namespace \"someuser\"" };
		judge(&r);
	}
	s[n + 246] = 'n';
	s[n + 247] = '\0';
	refused(s, "repository name longer than 255 characters");
	memset(s, 'a', 4097);
	s[4097] = '\0';
	refused(s, "reference is too long (4097 bytes, at most 4096)");
}

static void test_distance(void **state)
{
	char a[300], b[300];

	(void)state;
	assert_int_equal(sw_names_distance("nginx", "nginx", 2), 0);
	assert_int_equal(sw_names_distance("nginx", "ngnix", 2), 1);   /* one transposition */
	assert_int_equal(sw_names_distance("nginx", "ngin", 2), 1);
	assert_int_equal(sw_names_distance("", "abc", 5), 3);
	assert_int_equal(sw_names_distance("kitten", "sitting", 5), 3);
	/* past max: max + 1, also when the lengths alone say so */
	assert_int_equal(sw_names_distance("kitten", "sitting", 2), 3);
	assert_int_equal(sw_names_distance("a", "abcdef", 1), 2);
	/* optimal string alignment: "ca" -> "abc" is 3, not the 2 of unrestricted Damerau */
	assert_int_equal(sw_names_distance("ca", "abc", 5), 3);
	/* names over 256 bytes are never close */
	memset(a, 'x', 257);
	a[257] = '\0';
	memcpy(b, a, sizeof(a));
	assert_int_equal(sw_names_distance(a, b, 2), 3);
	a[256] = '\0';
	b[256] = '\0';
	b[0] = 'y';
	assert_int_equal(sw_names_distance(a, b, 2), 1);
}

static char *write_results(const char *const *refs, size_t n, bool json)
{
	sw_name_result rs[8];
	sw_error err = SW_ERROR_INIT;
	char *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_true(n <= N(rs));
	for (i = 0; i < n; i++)
		assert_int_equal(sw_names_check(refs[i], &rs[i], &err), 0);
	assert_int_equal(sw_names_write(f, refs, rs, n, json), 0);
	assert_int_equal(fclose(f), 0);
	return text;
}

static void test_write(void **state)
{
	static const char *const refs[] = { "ngnix:1", "nginx" };
	char *text = write_results(refs, 2, true);
	sw_json_doc *d = NULL;
	sw_error err = SW_ERROR_INIT;
	const sw_json *res, *r;

	(void)state;
	assert_int_equal(sw_json_parse(text, strlen(text), &d, &err), 0);
	assert_string_equal(sw_json_get_str(sw_json_root(d), "schema"), "stowaway.names/v1");
	res = sw_json_get_arr(sw_json_root(d), "results");
	assert_int_equal(res->n, 2);
	r = res->child;
	assert_string_equal(sw_json_get_str(r, "input"), "ngnix:1");
	assert_string_equal(sw_json_get_str(r, "reference"), "docker.io/library/ngnix:1");
	assert_string_equal(sw_json_get_str(r, "familiar"), "ngnix:1");
	assert_string_equal(sw_json_get_str(r, "verdict"), "typosquat");
	assert_string_equal(sw_json_get_str(r, "resembles"), "docker.io/library/nginx");
	r = r->next;
	assert_string_equal(sw_json_get_str(r, "reference"), "docker.io/library/nginx:latest");
	assert_string_equal(sw_json_get_str(r, "verdict"), "ok");
	assert_int_equal(sw_json_get(r, "resembles") == NULL, 1); /* null */
	assert_string_equal(sw_json_get_str(r, "reason"), "Docker Hub official image");
	sw_json_free(d);
	free(text);
	text = write_results(refs, 2, false);
	assert_string_equal(text,
			    "ngnix:1                                  typosquat     \"ngnix\" is not an official image; it is "
			    "a typo or look-alike letters away from the official image \"nginx\"; resembles "
			    "docker.io/library/nginx\n"
			    "nginx                                    ok            Docker Hub official image\n");
	free(text);
	assert_string_equal(sw_name_verdict_str(SW_NAME_OK), "ok");
	assert_string_equal(sw_name_verdict_str(SW_NAME_TYPOSQUAT), "typosquat");
	assert_string_equal(sw_name_verdict_str(SW_NAME_IMPERSONATION), "impersonation");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labelled_rows),
		cmocka_unit_test(test_precision),
		cmocka_unit_test(test_other_hosts),
		cmocka_unit_test(test_edge_cases),
		cmocka_unit_test(test_distance),
		cmocka_unit_test(test_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
