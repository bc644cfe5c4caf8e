/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the images a change names (src/lib/policy/manifests.c,
 * public API stowaway/manifests.h): Dockerfiles (ARG before FROM, build
 * stages, --platform, COPY --from, continued lines, parser directives),
 * Kubernetes YAML (every workload kind, several documents, List), compose
 * files and directory walks, each image with its file, line and "where".
 * `check --manifests` denies what these return, so an image the reader
 * misses is an image the policy never sees: the tests assert the whole
 * list, not just that some image came out.
 */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "stowaway/manifests.h"
#include "tmpdir.h"
#include "../../src/lib/util/banned.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int setup(void **state)
{
	(void)state;
	return tmpdir_setup("manifests");
}

/* Write dir/name (parents made); returns the path (static, one slot). */
static const char *put(const char *name, const char *text)
{
	static char path[4096];
	char *s;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (s = path + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", path, strerror(errno));
		*s = '/';
	}
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	return path;
}

typedef struct {
	const char *image;
	const char *file;   /* relative to dir; NULL: the path collected */
	int line;
	const char *where;
} use;

/* Collect path: exactly these uses, in this order. */
static void expect_uses(const char *path, const use *want, size_t nwant)
{
	sw_image_use *v = NULL;
	size_t n = 0, i;
	sw_error err = SW_ERROR_INIT;

	if (sw_manifests_collect(path, NULL, &v, &n, &err) != 0)
		fail_msg("%s: %s", path, err.msg);
	for (i = 0; i < n; i++) {
		char file[4096];
		if (i >= nwant)
			fail_msg("%s: extra use %zu: \"%s\" line %d (%s)", path, i, v[i].image, v[i].line, v[i].where);
		snprintf(file, sizeof(file), "%s/%s", dir, want[i].file ? want[i].file : "");
		if (strcmp(v[i].image, want[i].image) != 0 || v[i].line != want[i].line ||
		    strcmp(v[i].where, want[i].where) != 0 || strcmp(v[i].file, want[i].file ? file : path) != 0)
			fail_msg("%s: use %zu is \"%s\" %s:%d (%s); want \"%s\" line %d (%s)", path, i, v[i].image,
				 v[i].file, v[i].line, v[i].where, want[i].image, want[i].line, want[i].where);
	}
	if (n != nwant)
		fail_msg("%s: %zu uses, want %zu", path, n, nwant);
	sw_image_uses_free(v, n);
}

static void refused(const char *path, int code, const char *msg)
{
	sw_image_use *v = (sw_image_use *)&v;
	size_t n = 99;
	sw_error err = SW_ERROR_INIT;
	int rc = sw_manifests_collect(path, NULL, &v, &n, &err);

	if (rc != code || strcmp(err.msg, msg) != 0)
		fail_msg("%s: %d \"%s\", want %d \"%s\"", path, rc, err.msg, code, msg);
	assert_null(v);
	assert_int_equal(n, 0);
}

/* ---- Dockerfiles ---- */

static void test_dockerfile(void **state)
{
	static const char df[] =
		"# syntax=docker/dockerfile:1\n"                              /* 1 */
		"ARG BASE=debian\n"                                           /* 2 */
		"ARG TAG=\"bookworm-slim\"\n"                                 /* 3 */
		"ARG REG\n"                                                   /* 4 */
		"FROM ${BASE}:${TAG} AS build\n"                              /* 5 */
		"RUN make\n"                                                  /* 6 */
		"FROM --platform=$BUILDPLATFORM golang:1.22 AS tools\n"       /* 7 */
		"FROM build AS test\n"                                        /* 8 */
		"COPY --from=build /out /out\n"                               /* 9 */
		"COPY --chown=0:0 --from=tools /go/bin/x /x\n"                /* 10 */
		"COPY --from=nginx:1.27 /etc/nginx /etc/nginx\n"              /* 11 */
		"COPY --from=0 /a /a\n"                                       /* 12 */
		"FROM $REG/app:1\n"                                           /* 13 */
		"FROM scratch\n"                                              /* 14 */
		"FROM \\\n"                                                   /* 15 */
		"  # a comment inside a continued line\n"                     /* 16 */
		"  --platform=linux/arm64 \\\r\n"                             /* 17 */
		"  alpine:3.20\n"                                             /* 18 */
		"ADD --from=busybox:1.36 /bin/sh /sh\n"                       /* 19 */
		"from python:3.12 as Final\n"                                 /* 20 */
		"copy --from=final /x /y\n"                                   /* 21 */
		"ARG LATE=ignored\n"                                          /* 22 */
		"FROM img:${LATE}\n"                                          /* 23 */
		"FROM ${X:-alpine}\n"                                         /* 24 */
		"FROM\n"                                                      /* 25 */
		"  FROM   ghcr.io/org/app@" DIGEST "   \n";                   /* 26 */
	static const use want[] = {
		{ "debian:bookworm-slim", NULL, 5, "FROM" },
		{ "golang:1.22", NULL, 7, "FROM --platform=$BUILDPLATFORM" },
		{ "nginx:1.27", NULL, 11, "COPY --from" },
		{ "$REG/app:1", NULL, 13, "FROM with build argument REG that has no default" },
		{ "alpine:3.20", NULL, 15, "FROM --platform=linux/arm64" },
		{ "busybox:1.36", NULL, 19, "COPY --from" },
		{ "python:3.12", NULL, 20, "FROM" },
		/* an ARG after the first FROM is not visible to FROM */
		{ "img:${LATE}", NULL, 23, "FROM with build argument LATE that has no default" },
		{ "${X:-alpine}", NULL, 24, "FROM with build argument ${X:-alpine} that has no default" },
		{ "ghcr.io/org/app@" DIGEST, NULL, 26, "FROM" },
	};

	(void)state;
	expect_uses(put("Dockerfile", df), want, N(want));
}

/* The escape parser directive: with "# escape=`" (Windows images) a '\' at
 * the end of a line is text and '`' continues lines. Read with '\', the
 * FROM after "RUN echo \" vanished into the RUN: a base image the policy
 * never saw. */
static void test_dockerfile_escape_directive(void **state)
{
	static const char df[] =
		"# syntax=docker/dockerfile:1\n"
		"#  Escape = `\n"
		"FROM mcr.microsoft.com/windows/servercore:ltsc2022\n"
		"RUN echo C:\\\n"
		"FROM evil/base:1\n"
		"FROM `\n"
		"  --platform=windows/amd64 `\n"
		"  busybox\n";
	static const use want[] = {
		{ "mcr.microsoft.com/windows/servercore:ltsc2022", NULL, 3, "FROM" },
		{ "evil/base:1", NULL, 5, "FROM" },
		{ "busybox", NULL, 6, "FROM --platform=windows/amd64" },
	};
	/* a directive only counts at the very top: after a comment it is a comment */
	static const char late[] =
		"# hello\n"
		"# escape=`\n"
		"FROM a:1 `\n"
		"FROM b:2\n";
	static const use want_late[] = {
		{ "a:1", NULL, 3, "FROM" },
		{ "b:2", NULL, 4, "FROM" },
	};
	/* and only '\' or '`' can be the escape character */
	static const char bad[] =
		"# escape=x\n"
		"FROM a:1 \\\n"
		"  AS s\n"
		"FROM s\n";
	static const use want_bad[] = {
		{ "a:1", NULL, 2, "FROM" },
	};

	(void)state;
	expect_uses(put("win.Dockerfile", df), want, N(want));
	expect_uses(put("late.Dockerfile", late), want_late, N(want_late));
	expect_uses(put("bad.Dockerfile", bad), want_bad, N(want_bad));
}

/* Continued lines are joined as BuildKit joins them. Each of these hid an
 * image from the policy: lines joined with a space between (the image
 * BuildKit pulls is the two halves glued together), a comment ending in
 * the escape character (a comment is never continued), a blank line inside
 * a continued line (skipped, it ends nothing), an escaped escape at the end
 * of a line (text, not a continuation), a byte-order mark. */
static void test_dockerfile_continuations(void **state)
{
	static const char df[] =
		"FROM ghcr.io/trusted-org\\\n"                  /* 1 */
		"-evil/app:1\n"                                  /* 2 */
		"# a comment that ends in a backslash \\\n"    /* 3 */
		"FROM evil/two:1\n"                              /* 4 */
		"FROM \\\n"                                    /* 5 */
		"\n"                                             /* 6 */
		"   \t\n"                                       /* 7 */
		"  evil/three:1\n"                               /* 8 */
		"RUN echo \\\\\n"                            /* 9 */
		"FROM evil/four:1\n"                             /* 10 */
		"   # an indented comment \\\n"                /* 11 */
		"FROM evil/five:1 \\  \t\n"                   /* 12 */
		"  # a comment inside is skipped \\\n"         /* 13 */
		"  AS five\n"                                    /* 14 */
		"COPY --from=five /a /b\n"                       /* 15 */
		"FROM last\\";                                  /* 16: at the end of the file */
	static const use want[] = {
		{ "ghcr.io/trusted-org-evil/app:1", NULL, 1, "FROM" },
		{ "evil/two:1", NULL, 4, "FROM" },
		{ "evil/three:1", NULL, 5, "FROM" },
		{ "evil/four:1", NULL, 10, "FROM" },
		{ "evil/five:1", NULL, 12, "FROM" },
		{ "last", NULL, 16, "FROM" },
	};
	static const use bom[] = { { "evil/bom:1", NULL, 1, "FROM" } };
	/* a line's leading white space is Unicode's (no-break and ideographic spaces) */
	static const use nbsp[] = { { "evil/nbsp:1", NULL, 1, "FROM" }, { "evil/ideo:1", NULL, 2, "FROM" } };
	/* of two ARGs with one name, the last one counts */
	static const use twice[] = { { "evil/arg:1", NULL, 3, "FROM" } };

	(void)state;
	expect_uses(put("joins.Dockerfile", df), want, N(want));
	expect_uses(put("bom.Dockerfile", "\xef\xbb\xbf" "FROM evil/bom:1\n"), bom, N(bom));
	expect_uses(put("nbsp.Dockerfile", "\xc2\xa0" "FROM evil/nbsp:1\n\xe3\x80\x80 FROM evil/ideo:1\n"
					    "\xe2\x80" "AFROM not/a-space\n"),
		    nbsp, N(nbsp));
	expect_uses(put("twice.Dockerfile", "ARG B=good/base:1\nARG B=evil/arg:1\nFROM $B\n"), twice, N(twice));
}

/* ---- Kubernetes and compose ---- */

static const char k8s[] =
	"apiVersion: apps/v1\n"                                  /* 1 */
	"kind: Deployment\n"                                     /* 2 */
	"metadata:\n"                                            /* 3 */
	"  name: web\n"                                          /* 4 */
	"spec:\n"                                                /* 5 */
	"  template:\n"                                          /* 6 */
	"    spec:\n"                                            /* 7 */
	"      initContainers:\n"                                /* 8 */
	"        - name: init\n"                                 /* 9 */
	"          image: busybox:1.36\n"                        /* 10 */
	"      containers:\n"                                    /* 11 */
	"        - name: app\n"                                  /* 12 */
	"          image: ghcr.io/org/app@" DIGEST "\n"          /* 13 */
	"        - name: sidecar\n"                              /* 14 */
	"          image: \"envoyproxy/envoy:v1.30\"\n"          /* 15 */
	"---\n"                                                  /* 16 */
	"apiVersion: batch/v1\n"                                 /* 17 */
	"kind: CronJob\n"                                        /* 18 */
	"metadata: {name: nightly}\n"                            /* 19 */
	"spec:\n"                                                /* 20 */
	"  schedule: \"0 3 * * *\"\n"                            /* 21 */
	"  jobTemplate:\n"                                       /* 22 */
	"    spec:\n"                                            /* 23 */
	"      template:\n"                                      /* 24 */
	"        spec:\n"                                        /* 25 */
	"          containers:\n"                                /* 26 */
	"            - name: job\n"                              /* 27 */
	"              image: alpine:3.20\n"                     /* 28 */
	"---\n"                                                  /* 29 */
	"kind: Pod\n"                                            /* 30 */
	"metadata: {name: p}\n"                                  /* 31 */
	"spec:\n"                                                /* 32 */
	"  containers:\n"                                        /* 33 */
	"    - image: [not, a, string]\n"                        /* 34 */
	"    - name: noimage\n"                                  /* 35 */
	"  ephemeralContainers:\n"                               /* 36 */
	"    - name: debug\n"                                    /* 37 */
	"      image: nicolaka/netshoot\n"                       /* 38 */
	"---\n"                                                  /* 39 */
	"kind: List\n"                                           /* 40 */
	"items:\n"                                               /* 41 */
	"  - kind: Pod\n"                                        /* 42 */
	"    metadata: {name: inlist}\n"                         /* 43 */
	"    spec: {containers: [{name: c, image: redis:7}]}\n"  /* 44 */
	"  - kind: List\n"                                       /* 45 */
	"    items: [{kind: Pod, spec: {containers: [{image: nested}]}}]\n" /* 46 */
	"---\n"                                                  /* 47 */
	"kind: Service\n"                                        /* 48 */
	"spec: {containers: [{image: ignored}]}\n"               /* 49 */
	"---\n"                                                  /* 50 */
	"kind: StatefulSet\n"                                    /* 51 */
	"spec: {template: {spec: {containers: [{name: s, image: postgres:16}]}}}\n" /* 52 */
	"---\n"                                                  /* 53 */
	"kind: PodTemplate\n"                                    /* 54 */
	"metadata: {name: pt}\n"                                 /* 55 */
	"template: {spec: {containers: [{name: t, image: \"quay.io/x/y:1\"}]}}\n" /* 56 */
	"---\n"                                                  /* 57 */
	"- just a list\n";                                       /* 58 */

static void test_kubernetes(void **state)
{
	static const use want[] = {
		{ "busybox:1.36", NULL, 10, "Deployment web, initContainers init" },
		{ "ghcr.io/org/app@" DIGEST, NULL, 13, "Deployment web, containers app" },
		{ "envoyproxy/envoy:v1.30", NULL, 15, "Deployment web, containers sidecar" },
		{ "alpine:3.20", NULL, 28, "CronJob nightly, containers job" },
		{ "", NULL, 34, "Pod p, containers (unnamed): image is not a string" },
		{ "nicolaka/netshoot", NULL, 38, "Pod p, ephemeralContainers debug" },
		{ "redis:7", NULL, 44, "Pod inlist, containers c" },
		/* a List inside a List is not a Kubernetes object */
		{ "postgres:16", NULL, 52, "StatefulSet (unnamed), containers s" },
		{ "quay.io/x/y:1", NULL, 56, "PodTemplate pt, containers t" },
	};

	(void)state;
	expect_uses(put("deploy/all.yaml", k8s), want, N(want));
}

static void test_compose(void **state)
{
	static const char compose[] =
		"services:\n"                           /* 1 */
		"  web:\n"                              /* 2 */
		"    image: nginx:1.27\n"               /* 3 */
		"    ports: [\"80:80\"]\n"              /* 4 */
		"  db:\n"                               /* 5 */
		"    image: 'postgres:16'\n"            /* 6 */
		"  built:\n"                            /* 7 */
		"    build: .\n"                        /* 8 */
		"volumes: {data: {}}\n";                /* 9 */
	static const use want[] = {
		{ "nginx:1.27", NULL, 3, "compose service web" },
		{ "postgres:16", NULL, 6, "compose service db" },
	};
	/* "services" beside "kind" is a Kubernetes object, not a compose file */
	static const char notcompose[] =
		"kind: Pod\n"
		"metadata: {name: x}\n"
		"services: {web: {image: nope}}\n"
		"spec: {containers: [{name: a, image: yes}]}\n";
	static const use want2[] = { { "yes", NULL, 4, "Pod x, containers a" } };

	(void)state;
	expect_uses(put("compose.yaml", compose), want, N(want));
	expect_uses(put("pod.yml", notcompose), want2, N(want2));
}

/* An explicit file of any name: a Dockerfile when it starts like one. */
static void test_explicit_files(void **state)
{
	static const use df[] = { { "alpine", NULL, 1, "FROM" } };
	static const use df2[] = { { "alpine", NULL, 2, "FROM" } };
	static const use ym[] = { { "redis:7", NULL, 1, "compose service r" } };

	(void)state;
	expect_uses(put("build.txt", "from alpine\n"), df, N(df));
	expect_uses(put("build2.txt", "# base\nFROM alpine\n"), df2, N(df2));
	expect_uses(put("args.txt", "ARG X=alpine\nFROM $X\n"), df2, N(df2));
	expect_uses(put("stack.txt", "services: {r: {image: \"redis:7\"}}\n"), ym, N(ym));
	expect_uses(put("empty.yaml", ""), NULL, 0);
	expect_uses(put("Dockerfile.empty", ""), NULL, 0);
}

static int by_file_line(const void *a, const void *b)
{
	const sw_image_use *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	return c ? c : x->line - y->line;
}

static void test_directory(void **state)
{
	char root[512], sub[600], link[600];
	sw_image_use *v = NULL;
	size_t n = 0, i;
	sw_error err = SW_ERROR_INIT;
	static const struct {
		const char *file;
		int line;
		const char *image;
	} want[] = {
		{ "tree/Containerfile.dev", 1, "fedora:40" },
		{ "tree/Dockerfile", 1, "alpine:3.20" },
		{ "tree/app.dockerfile", 1, "node:20" },
		{ "tree/deploy/k8s/pod.yml", 2, "busybox" },
		{ "tree/svc.Dockerfile", 1, "golang:1.22" },
		{ "tree/z-compose.yaml", 1, "redis:7" },
	};

	(void)state;
	put("tree/Dockerfile", "FROM alpine:3.20\n");
	put("tree/svc.Dockerfile", "FROM golang:1.22\n");
	put("tree/app.dockerfile", "FROM node:20\n");
	put("tree/Containerfile.dev", "FROM fedora:40\n");
	put("tree/z-compose.yaml", "services: {r: {image: \"redis:7\"}}\n");
	put("tree/deploy/k8s/pod.yml", "kind: Pod\nspec: {containers: [{image: busybox}]}\n");
	/* not read: other names, hidden directories, symbolic links */
	put("tree/README.md", "FROM not-an-image\n");
	put("tree/notes.json", "{\"image\": \"x\"}\n");
	put("tree/.git/Dockerfile", "FROM hidden\n");
	put("tree/.hidden.yaml", "services: {h: {image: hidden}}\n");
	put("elsewhere/Dockerfile", "FROM outside:1\n");
	snprintf(root, sizeof(root), "%s/tree", dir);
	snprintf(link, sizeof(link), "%s/tree/linked", dir);
	snprintf(sub, sizeof(sub), "%s/elsewhere", dir);
	assert_int_equal(symlink(sub, link), 0);
	snprintf(link, sizeof(link), "%s/tree/Dockerfile.link", dir);
	snprintf(sub, sizeof(sub), "%s/elsewhere/Dockerfile", dir);
	assert_int_equal(symlink(sub, link), 0);
	assert_int_equal(sw_manifests_collect(root, NULL, &v, &n, &err), 0);
	/* the walk's order is the directory's: compare sorted */
	qsort(v, n, sizeof(*v), by_file_line);
	for (i = 0; i < n && i < N(want); i++) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, want[i].file);
		if (strcmp(v[i].file, path) != 0 || strcmp(v[i].image, want[i].image) != 0 || v[i].line != want[i].line)
			fail_msg("use %zu: %s:%d \"%s\"; want %s:%d \"%s\"", i, v[i].file, v[i].line, v[i].image, path,
				 want[i].line, want[i].image);
	}
	assert_int_equal(n, N(want));
	sw_image_uses_free(v, n);
	/* a symbolic link named on the command line is not followed either */
	{
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s: not a file or directory (symbolic links are not followed)", link);
		refused(link, SW_EFORMAT, msg);
	}
}

/* Collect path: among its uses, one error for file at line with msg; the
 * other uses are returned beside it. Returns how many uses there were. */
static size_t expect_error(const char *path, const char *file, int line, const char *msg)
{
	sw_image_use *v = NULL;
	size_t n = 0, i, found = 0;
	sw_error err = SW_ERROR_INIT;

	if (sw_manifests_collect(path, NULL, &v, &n, &err) != 0)
		fail_msg("%s: %s", path, err.msg);
	for (i = 0; i < n; i++) {
		if (!v[i].error)
			continue;
		if (strcmp(v[i].file, file) != 0 || v[i].line != line || strcmp(v[i].error, msg) != 0 ||
		    strcmp(v[i].image, "") != 0)
			fail_msg("%s: error %s:%d \"%s\"; want %s:%d \"%s\"", path, v[i].file, v[i].line, v[i].error,
				 file, line, msg);
		found++;
	}
	if (found != 1)
		fail_msg("%s: %zu errors, want 1", path, found);
	sw_image_uses_free(v, n);
	return n;
}

static void test_errors(void **state)
{
	char msg[1024], path[600], *big;
	const char *p;
	size_t i;

	(void)state;
	p = put("dup.yaml", "kind: Pod\nspec:\n  containers: []\n  containers: []\n");
	snprintf(msg, sizeof(msg), "%s:4: key \"containers\" given twice (first on line 3)", p);
	assert_int_equal(expect_error(p, p, 4, msg), 1);
	p = put("anchor.yaml", "kind: Pod\nspec: &s {containers: [{image: a}]}\n");
	snprintf(msg, sizeof(msg), "%s:2: anchors (&name) are not accepted: write the value out", p);
	assert_int_equal(expect_error(p, p, 2, msg), 1);
	/* one bad file does not hide the others: its error, and the rest */
	put("walk/ok/Dockerfile", "FROM alpine\n");
	p = put("walk/bad.yaml", "a: [\n");
	snprintf(msg, sizeof(msg), "%s:2: did not find expected node content while parsing a flow node", p);
	snprintf(path, sizeof(path), "%s/walk", dir);
	assert_int_equal(expect_error(path, p, 2, msg), 2);
	refused("/nonexistent/manifests", SW_ENOTFOUND, "/nonexistent/manifests: No such file or directory");
	refused("/dev/null", SW_EFORMAT,
		"/dev/null: not a file or directory (symbolic links are not followed)");
	/* 16 MiB is the most a file may hold */
	big = malloc((16u << 20) + 2);
	assert_non_null(big);
	memset(big, '#', (16u << 20) + 1);
	big[(16u << 20) + 1] = '\0';
	p = put("huge.yaml", big);
	assert_int_equal(expect_error(p, p, 0, "larger than 16 MiB"), 1);
	big[16u << 20] = '\0';
	expect_uses(put("huge.yaml", big), NULL, 0);
	free(big);
	/* directories nested deeper than 16: that directory is an error, the
	 * rest is read */
	snprintf(path, sizeof(path), "deep");
	for (i = 0; i < 18; i++)
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "/d");
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "/Dockerfile");
	put(path, "FROM x\n");
	put("deep/Dockerfile", "FROM y\n");
	snprintf(path, sizeof(path), "%s/deep", dir);
	snprintf(msg, sizeof(msg), "%s/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d", path);
	assert_int_equal(expect_error(path, msg, 0, "directories nested deeper than 16: not read"), 2);
}

/* A Helm chart's templates are not YAML until rendered: each says so, at
 * the line of its first action. */
static void test_templates(void **state)
{
	const char *p;

	(void)state;
	p = put("chart/templates/deploy.yaml",
		"{{- if .Values.enabled }}\n"
		"apiVersion: apps/v1\n"
		"kind: Deployment\n"
		"metadata:\n"
		"  name: {{ include \"x.fullname\" . }}\n"
		"{{- end }}\n");
	assert_int_equal(expect_error(p, p, 1,
				      "a template: render it first (helm template CHART | stowaway check --manifests -)"),
			 1);
	p = put("chart2/pod.yaml", "kind: Pod\nspec:\n  containers:\n  - name: a\n    image: {{ .Values.image }}\n");
	assert_int_equal(expect_error(p, p, 5,
				      "a template: render it first (helm template CHART | stowaway check --manifests -)"),
			 1);
	/* a value that merely holds {{ }} (an alert template) is not a template */
	p = put("cm.yaml", "kind: Pod\nmetadata:\n  annotations:\n    summary: \"{{ $labels.instance }} down\"\n"
			   "spec:\n  containers:\n  - name: a\n    image: alpine:3.20\n");
	{
		static const use want[] = { { "alpine:3.20", NULL, 8, "Pod (unnamed), containers a" } };
		expect_uses(p, want, N(want));
	}
}

/* Compose interpolation as docker compose does it: the environment first,
 * then .env beside the file; defaults; an unset variable named. */
static void test_compose_variables(void **state)
{
	const char *p;

	(void)state;
	put("cv/.env", "# comment\nexport TAG=1.2\nREG = \"ghcr.io/org\"  \nEMPTY=\nSHADOWED=from-file\n");
	p = put("cv/compose.yaml",
		"services:\n"
		"  a:\n    image: ${REG}/app:${TAG}\n"
		"  b:\n    image: $REG/b:${MISSING:-7}\n"
		"  c:\n    image: x/c:${EMPTY:-dflt}\n"
		"  d:\n    image: x/d:${EMPTY-kept}\n"
		"  e:\n    image: x/e:${NOPE}\n"
		"  f:\n    image: x/f:${SHADOWED}\n"
		"  g:\n    image: x/g$$:${UNSET_A:-${TAG}}\n"
		"  h:\n    image: x/h:${NOPE2:?must be set}\n");
	setenv("SHADOWED", "from-env", 1);
	unsetenv("NOPE");
	unsetenv("NOPE2");
	unsetenv("MISSING");
	unsetenv("UNSET_A");
	{
		static const use want[] = {
			{ "ghcr.io/org/app:1.2", NULL, 3, "compose service a" },
			{ "ghcr.io/org/b:7", NULL, 5, "compose service b" },
			{ "x/c:dflt", NULL, 7, "compose service c" },
			{ "x/d:", NULL, 9, "compose service d" },
			{ "x/e:${NOPE}", NULL, 11,
			  "compose service e: variable NOPE is not set (no default, not in the environment or .env)" },
			{ "x/f:from-env", NULL, 13, "compose service f" },
			{ "x/g$:1.2", NULL, 15, "compose service g" },
			{ "x/h:${NOPE2:?must be set}", NULL, 17,
			  "compose service h: variable NOPE2 is not set (no default, not in the environment or .env)" },
		};
		expect_uses(p, want, N(want));
	}
	unsetenv("SHADOWED");
	/* a file that asks for more lookups than the bound (each may scan a
	 * 1 MiB .env) stops expanding, and says so, instead of running long */
	{
		static char big[8192];
		char *q = big;
		q += snprintf(q, 64, "services:\n  a:\n    image: x/a:");
		for (int i = 0; i < 300; i++)
			q += snprintf(q, 8, "${TAG}");
		snprintf(q, 4, "\n");
		{
			static const use want[] = {
				{ NULL, NULL, 3, "compose service a: more than 256 variables to look up in this file: not expanded" },
			};
			sw_image_use *v = NULL;
			size_t n = 0;
			sw_error err = SW_ERROR_INIT;
			const char *path = put("cv/many.yaml", big);
			assert_int_equal(sw_manifests_collect(path, NULL, &v, &n, &err), 0);
			assert_int_equal(n, 1);
			assert_int_equal(v[0].line, want[0].line);
			assert_string_equal(v[0].where, want[0].where);
			{ /* left as written: the text without its newline */
				const char *written = big + strlen("services:\n  a:\n    image: ");
				assert_int_equal(strlen(v[0].image), strlen(written) - 1);
				assert_memory_equal(v[0].image, written, strlen(written) - 1);
			}
			sw_image_uses_free(v, n);
		}
	}
}

/* --skip-dirs and --skip-files: globs on the path and on the name. */
static void test_skip(void **state)
{
	sw_image_use *v = NULL;
	size_t n = 0;
	sw_error err = SW_ERROR_INIT;
	const char *dirs[] = { "vendor" }, *files[] = { "*.test.yaml" };
	sw_manifests_opts o = { dirs, 1, files, 1 };
	char path[600];

	(void)state;
	put("sk/vendor/Dockerfile", "FROM vendored\n");
	put("sk/a.test.yaml", "kind: Pod\nspec:\n  containers: [{name: t, image: test}]\n");
	put("sk/app/Dockerfile", "FROM kept\n");
	snprintf(path, sizeof(path), "%s/sk", dir);
	assert_int_equal(sw_manifests_collect(path, &o, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].image, "kept");
	sw_image_uses_free(v, n);
	assert_int_equal(sw_manifests_collect(path, NULL, &v, &n, &err), 0);
	assert_int_equal(n, 3);
	sw_image_uses_free(v, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dockerfile),
		cmocka_unit_test(test_dockerfile_escape_directive),
		cmocka_unit_test(test_dockerfile_continuations),
		cmocka_unit_test(test_kubernetes),
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_compose_variables),
		cmocka_unit_test(test_skip),
		cmocka_unit_test(test_compose),
		cmocka_unit_test(test_explicit_files),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
