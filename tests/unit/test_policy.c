/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for admission policies (src/lib/policy/policy*.c, public API
 * stowaway/policy.h): policies written to a temporary directory in both
 * forms (stowaway's YAML and containers-policy.json), loaded, and asked
 * about references. Each decision is checked whole: allowed or not, the
 * effective mode, and every reason with its kind, its exact text and the
 * policy line behind it, since that line is what `check` shows a person.
 * The refusals are checked the same way (line and message of every
 * problem), hostile YAML among them: duplicate keys, anchors and aliases,
 * several documents, nesting, size bounds.
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

#include "stowaway/names.h"
#include "stowaway/policy.h"
#include "../../src/lib/util/util.h"
#include "tmpdir.h"
#include "../../src/lib/util/banned.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int setup(void **state)
{
	(void)state;
	return tmpdir_setup("policy");
}

/* Write name in the temporary directory; the path stays valid until the
 * next call (two slots). */
static const char *put(const char *name, const char *text, size_t len)
{
	static char paths[2][4096];
	static int slot;
	char *path = paths[slot++ & 1];
	FILE *f;

	snprintf(path, sizeof(paths[0]), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static sw_policy *load(const char *name, const char *text)
{
	sw_policy *p = NULL;
	sw_policy_problem *probs = NULL;
	size_t n = 99;
	sw_error err = SW_ERROR_INIT;
	const char *path = put(name, text, strlen(text));
	int rc = sw_policy_load(path, &p, &probs, &n, &err);

	if (rc != 0)
		fail_msg("%s refused: %d %s", name, rc, err.msg);
	if (n)
		fail_msg("%s: %zu warnings, the first on line %d: %s", name, n, probs[0].line, probs[0].msg);
	assert_null(probs);
	assert_non_null(p);
	assert_string_equal(sw_policy_path(p), path);
	return p;
}

typedef struct {
	int line;
	const char *msg;   /* the whole message */
} prob;

/* The policy is refused with exactly these problems, in this order, and
 * err names the first as "PATH:LINE: MESSAGE". */
static void refused_n(const char *name, const char *text, size_t len, const prob *want, size_t nwant)
{
	sw_policy *p = (sw_policy *)&p;
	sw_policy_problem *probs = NULL;
	size_t n = 0, i;
	sw_error err = SW_ERROR_INIT;
	const char *path = put(name, text, len);
	char first[1024];
	int rc = sw_policy_load(path, &p, &probs, &n, &err);
	size_t k;

	if (rc != SW_EFORMAT)
		fail_msg("%s: rc %d (%s), want SW_EFORMAT", name, rc, err.msg);
	assert_null(p);
	for (i = k = 0; i < n; i++) /* the warnings are not what this is about */
		if (!probs[i].warning)
			probs[k++] = probs[i];
	n = k;
	for (i = 0; i < n && i < nwant; i++)
		if (probs[i].line != want[i].line || strcmp(probs[i].msg, want[i].msg) != 0)
			fail_msg("%s: problem %zu is %d \"%s\", want %d \"%s\"", name, i, probs[i].line,
				 probs[i].msg, want[i].line, want[i].msg);
	if (n != nwant)
		fail_msg("%s: %zu problems, want %zu (first: %s)", name, n, nwant, n ? probs[0].msg : "-");
	snprintf(first, sizeof(err.msg), "%s:%d: %s", path, want[0].line, want[0].msg);
	assert_int_equal(err.code, SW_EFORMAT);
	assert_string_equal(err.msg, first);
	free(probs);
}

static void refused(const char *name, const char *text, int line, const char *msg)
{
	prob want = { line, msg };

	refused_n(name, text, strlen(text), &want, 1);
}

/* Loaded with exactly these warnings (line and message). */
static sw_policy *load_warned(const char *name, const char *text, const prob *want, size_t nwant)
{
	sw_policy *p = NULL;
	sw_policy_problem *probs = NULL;
	size_t n = 0, i;
	sw_error err = SW_ERROR_INIT;
	const char *path = put(name, text, strlen(text));

	if (sw_policy_load(path, &p, &probs, &n, &err) != 0)
		fail_msg("%s refused: %s", name, err.msg);
	for (i = 0; i < n; i++)
		if (i >= nwant || !probs[i].warning || probs[i].line != want[i].line ||
		    strncmp(probs[i].msg, want[i].msg, strlen(want[i].msg)) != 0)
			fail_msg("%s: warning %zu is %d \"%s\" (warning %d), want %d \"%s\"", name, i, probs[i].line,
				 probs[i].msg, probs[i].warning, i < nwant ? want[i].line : -1, i < nwant ? want[i].msg : "-");
	if (n != nwant)
		fail_msg("%s: %zu warnings, want %zu", name, n, nwant);
	free(probs);
	return p;
}

/* Decide on a registry reference, with its look-alike verdict. */
static void decide(const sw_policy *p, const char *ref, sw_decision *d)
{
	sw_name_result nr;
	sw_error err = SW_ERROR_INIT;

	if (sw_names_check(ref, &nr, &err) != 0)
		fail_msg("%s: %s", ref, err.msg);
	sw_policy_decide(p, "docker", &nr.ref, NULL, &nr, d);
}

typedef struct {
	sw_reason_kind kind;
	int line;
	const char *text;  /* exact, or a prefix when it ends in "..." */
} reason;

static bool reason_is(const sw_reason *r, const reason *w)
{
	size_t n = strlen(w->text);

	if (r->kind != w->kind || r->line != w->line)
		return false;
	if (n > 3 && strcmp(w->text + n - 3, "...") == 0)
		return strncmp(r->text, w->text, n - 3) == 0;
	return strcmp(r->text, w->text) == 0;
}

static const char *kind_name(sw_reason_kind k)
{
	return k == SW_REASON_DENY ? "deny" : k == SW_REASON_WARN ? "warn" : "info";
}

/* The decision has exactly these reasons, in order. */
static void expect(const sw_decision *d, const char *what, bool allowed, bool enforce, const reason *want,
		   size_t nwant)
{
	size_t i;

	for (i = 0; i < d->nreasons; i++)
		if (i >= nwant || !reason_is(&d->reasons[i], &want[i]))
			fail_msg("%s: reason %zu is %s line %d \"%s\"; want %s", what, i,
				 kind_name(d->reasons[i].kind), d->reasons[i].line, d->reasons[i].text,
				 i < nwant ? want[i].text : "none");
	if (d->nreasons != nwant)
		fail_msg("%s: %zu reasons, want %zu", what, d->nreasons, nwant);
	if (d->allowed != allowed)
		fail_msg("%s: allowed is %d, want %d", what, d->allowed, allowed);
	if (d->enforce != enforce)
		fail_msg("%s: enforce is %d, want %d", what, d->enforce, enforce);
}

#define EXPECT(p, ref, allowed, enforce, ...) do { \
	static const reason w_[] = { __VA_ARGS__ }; \
	sw_decision d_; \
	decide((p), (ref), &d_); \
	expect(&d_, (ref), (allowed), (enforce), w_, N(w_) - 1); \
} while (0)
#define END { SW_REASON_INFO, -1, "" }

/* ---- the YAML policy ---- */

static const char lists_yaml[] =
	"version: 1\n"                                                               /* 1 */
	"registries:\n"                                                              /* 2 */
	"  allow: [docker.io, ghcr.io, \"localhost:5000\", \"*.example.com\"]\n"     /* 3 */
	"  deny: [quay.io]\n"                                                        /* 4 */
	"namespaces:\n"                                                              /* 5 */
	"  allow:\n"                                                                 /* 6 */
	"    - docker.io/library\n"                                                  /* 7 */
	"    - docker.io/bitnami\n"                                                  /* 8 */
	"  deny: [docker.io/someuser]\n"                                             /* 9 */
	"repositories:\n"                                                            /* 10 */
	"  allow: [docker.io/someuser/good]\n"                                       /* 11 */
	"  deny: [docker.io/library/centos]\n";                                      /* 12 */

static void test_access_lists(void **state)
{
	static const prob w[] = { { 9, "namespaces.deny \"docker.io/someuser\" does not deny \"docker.io/someuser/good\": "
				       "the more specific repositories.allow entry (line 11) admits it" } };
	sw_policy *p = load_warned("lists.yaml", lists_yaml, w, N(w));

	(void)state;
	EXPECT(p, "nginx:1.27", true, true,
	       { SW_REASON_INFO, 7, "allowed by \"docker.io/library\" in namespaces.allow" }, END);
	EXPECT(p, "quay.io/prometheus/prometheus", false, true,
	       { SW_REASON_DENY, 4, "quay.io/prometheus/prometheus is denied: it matches \"quay.io\" in registries.deny" },
	       END);
	EXPECT(p, "docker.io/someuser/tool", false, true,
	       { SW_REASON_DENY, 9,
		 "docker.io/someuser/tool is denied: it matches \"docker.io/someuser\" in namespaces.deny" },
	       END);
	/* an allow more specific than the deny admits that repository only */
	EXPECT(p, "docker.io/someuser/good:1", true, true,
	       { SW_REASON_INFO, 11, "allowed by \"docker.io/someuser/good\" in repositories.allow" }, END);
	EXPECT(p, "docker.io/library/centos:7", false, true,
	       { SW_REASON_DENY, 12,
		 "docker.io/library/centos is denied: it matches \"docker.io/library/centos\" in repositories.deny" },
	       END);
	/* the prefix trap: docker.io/library does not match library-evil */
	EXPECT(p, "docker.io/library-evil/nginx", false, true,
	       { SW_REASON_DENY, 0,
		 "docker.io/library-evil/nginx is not admitted: its namespace is not in namespaces.allow" },
	       { SW_REASON_DENY, 0, "impersonation: the namespace \"library-evil\" dresses up as Docker's official "
				    "images, which live only under library/ (pull \"nginx\" for the real one) (the real one "
				    "is docker.io/library/nginx)" },
	       END);
	EXPECT(p, "gcr.io/distroless/static", false, true,
	       { SW_REASON_DENY, 3, "gcr.io/distroless/static is not admitted: the policy's allow lists are complete and none covers it..." },
	       END);
	EXPECT(p, "registry.example.com/team/app", true, true,
	       { SW_REASON_INFO, 3, "allowed by \"*.example.com\" in registries.allow" }, END);
	/* a wildcard is for subdomains, never the domain itself */
	EXPECT(p, "example.com/team/app", false, true,
	       { SW_REASON_DENY, 3, "example.com/team/app is not admitted: the policy's allow lists are complete and none covers it..." },
	       END);
	/* a host is matched with its port */
	EXPECT(p, "localhost:5000/app", true, true,
	       { SW_REASON_INFO, 3, "allowed by \"localhost:5000\" in registries.allow" }, END);
	EXPECT(p, "localhost:5001/app", false, true,
	       { SW_REASON_DENY, 3, "localhost:5001/app is not admitted: the policy's allow lists are complete and none covers it..." },
	       END);
	EXPECT(p, "ghcr.io/example-org/app@" DIGEST, true, true,
	       { SW_REASON_INFO, 3, "allowed by \"ghcr.io\" in registries.allow" }, END);
	sw_policy_free(p);
}

/* `policy lint`'s warnings about the lists' reach: an allow the same
 * scope's deny always beats, a deny that a more specific allow cuts into
 * (wildcards, hosts, names and exact references alike). */
static void test_list_warnings(void **state)
{
	static const char y[] =
		"version: 1\n"                                                           /* 1 */
		"registries:\n"                                                          /* 2 */
		"  allow: [ghcr.io, r.corp.example]\n"                                   /* 3 */
		"  deny: [ghcr.io, \"*.corp.example\"]\n"                                /* 4 */
		"namespaces:\n"                                                          /* 5 */
		"  allow: [quay.io/team, docker.io/libraryx]\n"                          /* 6 */
		"  deny: [docker.io/library]\n"                                          /* 7 */
		"repositories:\n"                                                        /* 8 */
		"  allow: [quay.io/team/app, \"docker.io/library/nginx:1.27\"]\n"        /* 9 */
		"  deny: [quay.io/team/app]\n";                                          /* 10 */
	static const prob w[] = {
		{ 3, "registries.allow \"ghcr.io\" never admits anything: registries.deny names the same scope (line 4), and "
		     "a deny wins a tie" },
		{ 4, "registries.deny \"*.corp.example\" does not deny \"r.corp.example\": the more specific "
		     "registries.allow entry (line 3) admits it" },
		{ 7, "namespaces.deny \"docker.io/library\" does not deny \"docker.io/library/nginx:1.27\": the more "
		     "specific repositories.allow entry (line 9) admits it" },
		{ 9, "repositories.allow \"quay.io/team/app\" never admits anything: repositories.deny names the same scope "
		     "(line 10), and a deny wins a tie" },
	};
	sw_policy *p = load_warned("reach.yaml", y, w, N(w));

	(void)state;
	EXPECT(p, "ghcr.io/org/app", false, true,
	       { SW_REASON_DENY, 4, "ghcr.io/org/app is denied: it matches \"ghcr.io\" in registries.deny" }, END);
	EXPECT(p, "quay.io/team/app", false, true,
	       { SW_REASON_DENY, 10, "quay.io/team/app is denied: it matches \"quay.io/team/app\" in repositories.deny" },
	       END);
	sw_policy_free(p);
	/* the example policy has nothing to warn about */
	p = load("clean.yaml", "version: 1\nnamespaces:\n  allow: [docker.io/library]\nrepositories:\n"
		 "  deny: [docker.io/library/centos]\n");
	sw_policy_free(p);
}

static void test_names(void **state)
{
	sw_policy *dflt = load("names0.yaml", "version: 1\n");
	sw_policy *act = load("names1.yaml",
			      "version: 1\n"
			      "names:\n"
			      "  typosquat: allow\n"
			      "  impersonation: warn\n");
	sw_policy *vouch = load("names2.yaml",
				"version: 1\n"
				"names: {typosquat: warn}\n"
				"namespaces:\n"
				"  allow: [docker.io/library, docker.io/someuser]\n");

	(void)state;
	/* without a names section, look-alikes are denied */
	EXPECT(dflt, "ngnix", false, true,
	       { SW_REASON_DENY, 0, "typosquat: \"ngnix\" is not an official image; it is a typo or look-alike letters "
				    "away from the official image \"nginx\" (the real one is docker.io/library/nginx)" },
	       END);
	EXPECT(dflt, "docker.io/someuser/openjdk", false, true,
	       { SW_REASON_DENY, 0, "impersonation: \"openjdk\" is a Docker Hub official image, published only as "
				    "docker.io/library/openjdk; \"someuser\" is not its publisher (the real one is "
				    "docker.io/library/openjdk)" },
	       END);
	EXPECT(dflt, "nginx", true, true, END);
	EXPECT(act, "ngnix", true, true, END);
	EXPECT(act, "gchr.io/org/app", true, true, END);
	EXPECT(act, "docker.io.example.com/x/y", true, true,
	       { SW_REASON_WARN, 0, "impersonation: the host \"docker.io.example.com\" begins with the registry name "
				    "\"docker.io\" but is a different host (the real one is docker.io)" },
	       END);
	/* allowing docker.io/library does not vouch for a misspelt official name */
	EXPECT(vouch, "ngnix", true, true,
	       { SW_REASON_INFO, 4, "allowed by \"docker.io/library\" in namespaces.allow" },
	       { SW_REASON_WARN, 0, "typosquat: \"ngnix\" is not an official image; it is a typo or look-alike letters "
				    "away from the official image \"nginx\" (the real one is docker.io/library/nginx)" },
	       END);
	/* a namespace named explicitly is the one the author means */
	EXPECT(vouch, "docker.io/someuser/openjdk", true, true,
	       { SW_REASON_INFO, 4, "allowed by \"docker.io/someuser\" in namespaces.allow" }, END);
	sw_policy_free(dflt);
	sw_policy_free(act);
	sw_policy_free(vouch);
}

static void test_digest_and_mode(void **state)
{
	static const char y[] =
		"version: 1\n"
		"mode: warn\n"
		"require:\n"
		"  digest: yes\n";
	sw_policy *warn = load("warn.yaml", y);
	sw_policy *enf = load("enforce.yaml", "version: 1\nmode: enforce\nrequire: {digest: true}\n");
	sw_decision d;

	(void)state;
	EXPECT(warn, "nginx:1.27", true, false,
	       { SW_REASON_WARN, 0, "the policy requires a digest and docker.io/library/nginx:1.27 has none: a tag can be "
				    "moved to other content; pin it as docker.io/library/nginx@sha256:..." },
	       END);
	EXPECT(warn, "nginx@" DIGEST, true, false, END);
	/* warn mode turns a look-alike's denial into a warning too */
	EXPECT(warn, "mysq1@" DIGEST, true, false,
	       { SW_REASON_WARN, 0, "typosquat: \"mysq1\" is not an official image; ..." }, END);
	EXPECT(enf, "ghcr.io/org/app:1", false, true,
	       { SW_REASON_DENY, 0, "the policy requires a digest and ghcr.io/org/app:1 has none: a tag can be "
				    "moved to other content; pin it as ghcr.io/org/app@sha256:..." },
	       END);
	EXPECT(enf, "ghcr.io/org/app:1@" DIGEST, true, true, END);
	/* nothing asked of the caller when the policy asks nothing */
	decide(enf, "nginx@" DIGEST, &d);
	assert_false(d.need_scan);
	assert_false(d.need_signature);
	assert_false(d.need_attestation);
	assert_int_equal(d.nsigs, 0);
	sw_policy_free(warn);
	sw_policy_free(enf);
}

static void test_overrides(void **state)
{
	static const char y[] =
		"version: 1\n"                                       /* 1 */
		"require:\n"                                         /* 2 */
		"  digest: true\n"                                   /* 3 */
		"scan:\n"                                            /* 4 */
		"  max_severity: medium\n"                           /* 5 */
		"overrides:\n"                                       /* 6 */
		"  - scope: ghcr.io/example-org\n"                   /* 7 */
		"    mode: warn\n"                                   /* 8 */
		"  - scope: ghcr.io/example-org/sandbox\n"           /* 9 */
		"    require: { digest: false }\n"                   /* 10 */
		"    scan: { max_severity: none }\n"                 /* 11 */
		"  - scope: docker.io/library/busybox:1.36\n"        /* 12 */
		"    scan: { max_severity: high }\n"                 /* 13 */
		"  - scope: index.docker.io/library/alpine\n"        /* 14 */
		"    names: { typosquat: allow }\n"                  /* 15 */
		"    require: { digest: false }\n";                  /* 16 */
	sw_policy *p = load("overrides.yaml", y);
	sw_decision d;

	(void)state;
	/* the most specific scope wins, alone: sandbox's override sets no mode */
	EXPECT(p, "ghcr.io/example-org/sandbox:1", true, true,
	       { SW_REASON_INFO, 9, "policy scope \"ghcr.io/example-org/sandbox\" applies" }, END);
	decide(p, "ghcr.io/example-org/sandbox:1", &d);
	assert_true(d.need_scan);
	assert_int_equal(d.max_severity, -1); /* none: no finding at all */
	EXPECT(p, "ghcr.io/example-org/app:1", true, false,
	       { SW_REASON_INFO, 7, "policy scope \"ghcr.io/example-org\" applies" },
	       { SW_REASON_WARN, 0, "the policy requires a digest and ghcr.io/example-org/app:1 has none: ..." }, END);
	decide(p, "ghcr.io/example-org/app:1", &d);
	assert_true(d.need_scan);
	assert_int_equal(d.max_severity, SW_SEV_MEDIUM);
	/* an exact reference scope is above every other, and only for that tag */
	decide(p, "docker.io/library/busybox:1.36", &d);
	assert_int_equal(d.max_severity, SW_SEV_HIGH);
	EXPECT(p, "busybox:1.36", false, true,
	       { SW_REASON_INFO, 12, "policy scope \"docker.io/library/busybox:1.36\" applies" },
	       { SW_REASON_DENY, 0, "the policy requires a digest and docker.io/library/busybox:1.36 has none: ..." },
	       END);
	decide(p, "busybox:1.37", &d);
	assert_int_equal(d.max_severity, SW_SEV_MEDIUM);
	assert_int_equal(d.nreasons, 1);
	/* scopes match on path boundaries */
	EXPECT(p, "ghcr.io/example-org-evil/app:1", false, true,
	       { SW_REASON_DENY, 0, "the policy requires a digest and ghcr.io/example-org-evil/app:1 has none: ..." },
	       END);
	/* index.docker.io is read as docker.io */
	EXPECT(p, "alpine:3.20", true, true,
	       { SW_REASON_INFO, 14, "policy scope \"docker.io/library/alpine\" applies" }, END);
	sw_policy_free(p);
}

/* What a waiting decision becomes (the admission webhook's deadline):
 * on_timeout and scan.pending, per scope, with their lines; refused when
 * they are not one of their two words. */
static void test_waiting(void **state)
{
	static const char y[] =
		"version: 1\n"                                       /* 1 */
		"on_timeout: deny\n"                                 /* 2 */
		"scan:\n"                                            /* 3 */
		"  max_severity: high\n"                             /* 4 */
		"overrides:\n"                                       /* 5 */
		"  - scope: ghcr.io/team-a\n"                        /* 6 */
		"    on_timeout: allow\n"                            /* 7 */
		"  - scope: ghcr.io/team-b\n"                        /* 8 */
		"    scan: { max_severity: high, pending: warn }\n"; /* 9 */
	sw_policy *p = load("waiting.yaml", y);
	sw_decision d;

	(void)state;
	decide(p, "ghcr.io/team-a/app:1", &d);
	assert_true(d.on_timeout_allow);
	assert_int_equal(d.on_timeout_line, 7);
	assert_false(d.scan_pending_warn);
	decide(p, "ghcr.io/team-b/app:1", &d);
	assert_false(d.on_timeout_allow);
	assert_int_equal(d.on_timeout_line, 2);
	assert_true(d.scan_pending_warn);
	assert_int_equal(d.scan_pending_line, 9);
	decide(p, "docker.io/library/nginx:1", &d);
	assert_false(d.on_timeout_allow);
	assert_false(d.scan_pending_warn);
	sw_policy_free(p);
	refused("timeout.yaml", "version: 1\non_timeout: maybe\n", 2, "on_timeout must be deny or allow");
	refused("pending.yaml", "version: 1\nscan: {max_severity: high, pending: allow}\n", 2,
		"scan.pending must be deny or warn");
}

/* require.signature keyless: identity and issuer (or their regexps), a
 * trusted root relative to the policy; an override replaces the whole
 * requirement. */
static void test_keyless(void **state)
{
	char y[4096], root[512], pub[512];
	sw_policy *p;
	sw_decision d;

	(void)state;
	snprintf(root, sizeof(root), "%s", put("root.json", "{}", 2));
	snprintf(pub, sizeof(pub), "%s", put("kl.pub", "k\n", 2));
	snprintf(y, sizeof(y),
		 "version: 1\n"
		 "require:\n"
		 "  signature:\n"
		 "    identity: https://github.com/org/app/.github/workflows/release.yml@refs/heads/main\n"
		 "    issuer: https://token.actions.githubusercontent.com\n"
		 "    trusted_root: root.json\n"
		 "overrides:\n"
		 "  - scope: ghcr.io/org\n"
		 "    require: {signature: {keys: [\"%s\"], identity_regexp: \"@example\\\\.com$\", "
		 "issuer_regexp: \"^https://accounts\\\\.\"}}\n",
		 pub);
	p = load("keyless.yaml", y);
	decide(p, "nginx@" DIGEST, &d);
	assert_true(d.need_signature);
	assert_int_equal(d.nsigs, 1);
	assert_int_equal(d.sigs[0].nkeys, 0);
	assert_string_equal(d.sigs[0].cert_identity,
			    "https://github.com/org/app/.github/workflows/release.yml@refs/heads/main");
	assert_string_equal(d.sigs[0].cert_issuer, "https://token.actions.githubusercontent.com");
	assert_null(d.sigs[0].cert_identity_regexp);
	assert_string_equal(d.sigs[0].trusted_root, root);
	decide(p, "ghcr.io/org/app@" DIGEST, &d);
	assert_int_equal(d.nsigs, 1);
	assert_int_equal(d.sigs[0].nkeys, 1);
	assert_null(d.sigs[0].cert_identity);
	assert_string_equal(d.sigs[0].cert_identity_regexp, "@example\\.com$");
	assert_string_equal(d.sigs[0].cert_issuer_regexp, "^https://accounts\\.");
	assert_null(d.sigs[0].trusted_root);
	sw_policy_free(p);
}

static void test_keys(void **state)
{
	char y[4096], pub[512], att[512];
	sw_policy *p;
	sw_decision d;

	(void)state;
	snprintf(pub, sizeof(pub), "%s", put("cosign.pub", "k\n", 2));
	snprintf(att, sizeof(att), "%s", put("scanner.pub", "k\n", 2));
	snprintf(y, sizeof(y),
		 "version: 1\n"
		 "require:\n"
		 "  signature:\n"
		 "    keys: [\"%s\"]\n"
		 "  attestation:\n"
		 "    keys: [\"%s\", \"%s\"]\n"
		 "    verdict: clean\n"
		 "    max_age_days: 7\n"
		 "overrides:\n"
		 "  - scope: ghcr.io/org\n"
		 "    require: {signature: {keys: [\"%s\"]}}\n",
		 pub, att, pub, att);
	p = load("keys.yaml", y);
	decide(p, "nginx@" DIGEST, &d);
	assert_int_equal(d.nreasons, 0);
	assert_true(d.allowed);
	assert_true(d.need_signature);
	assert_int_equal(d.nsigs, 1);
	assert_int_equal(d.sigs[0].nkeys, 1);
	assert_string_equal(d.sigs[0].keys[0], pub);
	assert_int_equal(d.sigs[0].identity.rule, SW_IDENTITY_REPOSITORY);
	assert_true(d.need_attestation);
	assert_int_equal(d.natt_keys, 2);
	assert_string_equal(d.att_keys[0], att);
	assert_string_equal(d.att_keys[1], pub);
	assert_int_equal(d.att_verdict, 0);
	assert_int_equal(d.att_max_age_days, 7);
	assert_null(d.sigs[0].cert_identity);
	/* an override's keys replace the top level's */
	decide(p, "ghcr.io/org/app@" DIGEST, &d);
	assert_int_equal(d.nsigs, 1);
	assert_int_equal(d.sigs[0].nkeys, 1);
	assert_string_equal(d.sigs[0].keys[0], att);
	assert_int_equal(d.natt_keys, 2);
	sw_policy_free(p);
	/* defaults: any verdict short of malicious, any age */
	snprintf(y, sizeof(y), "version: 1\nrequire:\n  attestation:\n    keys: [\"%s\"]\n", att);
	p = load("att.yaml", y);
	decide(p, "nginx", &d);
	assert_true(d.need_attestation);
	assert_int_equal(d.att_verdict, 2);
	assert_int_equal(d.att_max_age_days, 0);
	assert_false(d.need_signature);
	sw_policy_free(p);
}

static void test_key_problems(void **state)
{
	char y[4096], msg[1024], missing[512];
	size_t o, i;
	prob want[3];

	(void)state;
	snprintf(missing, sizeof(missing), "%s/missing.pub", dir);
	snprintf(y, sizeof(y),
		 "version: 1\n"
		 "require:\n"
		 "  signature:\n"
		 "    keys:\n"
		 "      - \"%s\"\n"
		 "  attestation:\n"
		 "    keys: [\"%s\"]\n"
		 "    verdict: dirty\n"
		 "    max_age_days: 0\n",
		 missing, missing);
	snprintf(msg, sizeof(msg), "signature key \"%s\": No such file or directory", missing);
	want[0] = (prob){ 5, msg };
	want[1] = (prob){ 8, "require.attestation.verdict must be clean, suspicious or malicious" };
	want[2] = (prob){ 9, "require.attestation.max_age_days must be a number of days" };
	{
		char msg2[1024];
		prob all[4] = { want[0], { 7, msg2 }, want[1], want[2] };
		snprintf(msg2, sizeof(msg2), "attestation key \"%s\": No such file or directory", missing);
		refused_n("keys-bad.yaml", y, strlen(y), all, 4);
	}
	/* at most 16 keys */
	o = (size_t)snprintf(y, sizeof(y), "version: 1\nrequire:\n  signature:\n    keys:\n");
	for (i = 0; i < 17; i++)
		o += (size_t)snprintf(y + o, sizeof(y) - o, "      - \"%s/k%zu.pub\"\n", dir, i);
	for (i = 0; i < 17; i++) {
		char name[32];
		snprintf(name, sizeof(name), "k%zu.pub", i);
		put(name, "k", 1);
	}
	refused("keys-17.yaml", y, 21, "at most 16 signature keys");
	refused("keys-none.yaml", "version: 1\nrequire:\n  signature: {}\n", 3,
		"require.signature needs keys (public key files) or identity and issuer (keyless)");
	refused("keys-map.yaml", "version: 1\nrequire:\n  signature: {keys: {a: b}}\n", 3,
		"require.signature.keys must be a list of public key files");
	/* keyless: both halves, one form of each, a regexp that compiles, a root that can be read */
	refused("kl-half.yaml", "version: 1\nrequire:\n  signature: {identity: a@example.com}\n", 3,
		"require.signature: a keyless signature needs an identity and an issuer");
	refused("kl-both.yaml",
		"version: 1\nrequire:\n  signature: {identity: a, identity_regexp: b, issuer: c}\n", 3,
		"require.signature: identity or identity_regexp, issuer or issuer_regexp: not both");
	refused("kl-re.yaml",
		"version: 1\nrequire:\n  signature:\n    identity_regexp: \"(\"\n    issuer: c\n", 4,
		"require.signature.identity_regexp: not a regular expression (POSIX extended)");
	refused("kl-root.yaml",
		"version: 1\nrequire:\n  signature:\n    identity: a\n    issuer: b\n    trusted_root: /nonexistent/r.json\n",
		6, "trusted root \"/nonexistent/r.json\": No such file or directory");
	refused("kl-root-only.yaml",
		"version: 1\nrequire:\n  signature:\n    keys: [/dev/null]\n    trusted_root: /dev/null\n", 3,
		"require.signature: trusted_root is for keyless signatures (identity, issuer)");
	refused("keys-empty.yaml", "version: 1\nrequire:\n  signature:\n    keys: [\"\"]\n", 4,
		"a signature key is a file path");
}

static void test_problems(void **state)
{
	static const struct {
		const char *text;
		int line;
		const char *msg;
	} cases[] = {
		{ "mode: enforce\n", 1, "\"version: 1\" is required" },
		{ "version: 2\n", 1, "version must be 1" },
		{ "version: 1\nregistry:\n  allow: [docker.io]\n", 2, "policy: unknown key \"registry\"" },
		{ "version: 1\nmode: maybe\n", 2, "mode must be enforce or warn" },
		{ "version: 1\nnames:\n  typosquat: block\n", 3, "names.typosquat must be deny, warn or allow" },
		{ "version: 1\nnames: [deny]\n", 2, "names must be a mapping (key: value lines)" },
		{ "version: 1\nnames:\n  typo: deny\n", 3, "names: unknown key \"typo\"" },
		{ "version: 1\nrequire:\n  digest: maybe\n", 3, "require.digest must be true or false" },
		{ "version: 1\nscan:\n  max_severity: severe\n", 3,
		  "scan.max_severity must be none, info, low, medium, high or critical" },
		{ "version: 1\nregistries:\n  allow: [library]\n", 3,
		  "\"library\" is not a registry host (a host has a '.' or a port, or is localhost); namespaces are "
		  "written with their host, as in docker.io/library" },
		{ "version: 1\nregistries:\n  allow: docker.io\n", 3, "registries.allow must be a list" },
		{ "version: 1\nregistries:\n  allow: [docker.io/library]\n", 3,
		  "registries.allow: \"docker.io/library\" is not a registry host" },
		{ "version: 1\nregistries:\n  deny: [\"*.\"]\n", 3,
		  "\"*.\": a wildcard scope is *.DOMAIN, nothing after it" },
		{ "version: 1\nnamespaces:\n  allow: [library/nginx]\n", 3,
		  "\"library/nginx\": write the registry host first (docker.io/library/nginx)" },
		{ "version: 1\nnamespaces:\n  deny: [docker.io/a/b]\n", 3,
		  "namespaces.deny: \"docker.io/a/b\" is not a namespace (host/namespace)" },
		{ "version: 1\nrepositories:\n  allow: [docker.io/nginx]\n", 3,
		  "repositories.allow: \"docker.io/nginx\" is not a repository (host/namespace/name)" },
		{ "version: 1\nrepositories:\n  allow:\n    - {a: b}\n", 4, "repositories.allow: each entry is one name" },
		{ "version: 1\noverrides: {scope: docker.io}\n", 2, "overrides must be a list of {scope: ..., ...}" },
		{ "version: 1\noverrides:\n  - mode: warn\n", 3,
		  "an override needs a scope (host, host/namespace or host/repository)" },
		{ "version: 1\noverrides:\n  - scope: docker.io\n    registries: {}\n", 4,
		  "override: unknown key \"registries\"" },
		{ "version: 1\noverrides:\n  - scope: docker.io\n    mode: loud\n", 4,
		  "override: mode must be enforce or warn" },
		{ "- version: 1\n", 1, "a policy is a mapping that starts with \"version: 1\"" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		char name[32];
		snprintf(name, sizeof(name), "problem%zu.yaml", i);
		refused(name, cases[i].text, cases[i].line, cases[i].msg);
	}
}

static void test_all_problems_listed(void **state)
{
	static const char y[] =
		"version: 3\n"
		"mode: loud\n"
		"colour: red\n"
		"registries:\n"
		"  allow: [nohost, docker.io]\n";
	static const prob want[] = {
		{ 3, "policy: unknown key \"colour\"" },
		{ 1, "version must be 1" },
		{ 2, "mode must be enforce or warn" },
		{ 5, "\"nohost\" is not a registry host (a host has a '.' or a port, or is localhost); namespaces are "
		     "written with their host, as in docker.io/nohost" },
	};

	(void)state;
	refused_n("many.yaml", y, strlen(y), want, N(want));
}

static void test_hostile_yaml(void **state)
{
	static const char bomb[] =
		"version: 1\n"
		"registries:\n"
		"  allow: &a [\"docker.io\", \"docker.io\", \"docker.io\", \"docker.io\"]\n"
		"  deny: [*a, *a, *a, *a]\n";
	sw_buf b = SW_BUF_INIT(16u << 20);
	sw_policy *p = (sw_policy *)&p;
	sw_policy_problem *probs = (sw_policy_problem *)&p;
	size_t n = 99, i;
	sw_error err = SW_ERROR_INIT;
	const char *path;
	char msg[4200];

	(void)state;
	refused("dup.yaml", "version: 1\nmode: warn\nnames:\n  typosquat: warn\nmode: enforce\n", 5,
		"key \"mode\" given twice (first on line 2)");
	refused("dup-nested.yaml", "version: 1\nnames:\n  typosquat: warn\n  typosquat: allow\n", 4,
		"key \"typosquat\" given twice (first on line 3)");
	refused("bomb.yaml", bomb, 3, "anchors (&name) are not accepted: write the value out");
	refused("alias.yaml", "version: 1\nmode: *m\n", 2, "aliases (*name) are not accepted: write the value out");
	refused("two.yaml", "version: 1\n---\nversion: 1\n", 0, "a policy is one YAML document (found 2)");
	refused("empty.yaml", "", 0, "a policy is one YAML document (found 0)");
	refused("badutf8.yaml", "version: 1 # \xff\xfe\n", 1, "invalid leading UTF-8 octet");
	refused("unclosed.yaml", "version: 1\nregistries: {allow: [docker.io}\n", 2,
		"did not find expected ',' or ']' while parsing a flow sequence");
	/* nesting: refused at the 65th level */
	for (i = 0; i < 100; i++)
		sw_buf_putc(&b, '[');
	for (i = 0; i < 100; i++)
		sw_buf_putc(&b, ']');
	refused("deep.yaml", sw_buf_cstr(&b), 1, "nested deeper than 64 levels");
	/* 10,001 list entries: one too many */
	sw_buf_reset(&b);
	sw_buf_printf(&b, "version: 1\nregistries:\n  allow:\n");
	for (i = 0; i < 10001; i++)
		sw_buf_printf(&b, "    - h%zu.example.com\n", i);
	refused("many-entries.yaml", sw_buf_cstr(&b), 10004, "too many entries (at most 10000)");
	/* problems are collected up to 1,000 */
	sw_buf_reset(&b);
	sw_buf_printf(&b, "version: 1\nregistries:\n  allow:\n");
	for (i = 0; i < 1500; i++)
		sw_buf_printf(&b, "    - \"*x%zu\"\n", i);
	path = put("many-problems.yaml", b.data, b.len);
	assert_int_equal(sw_policy_load(path, &p, &probs, &n, &err), SW_EFORMAT);
	assert_null(p);
	assert_int_equal(n, 1000);
	assert_int_equal(probs[999].line, 1003);
	assert_string_equal(probs[999].msg, "\"*x999\": a wildcard scope is *.DOMAIN, nothing after it");
	free(probs);
	/* a file over 4 MiB is not read at all; exactly 4 MiB is */
	sw_buf_reset(&b);
	sw_buf_printf(&b, "version: 1\n#");
	while (b.len < (4u << 20))
		sw_buf_putc(&b, 'x');
	p = load("4mib.yaml", sw_buf_cstr(&b));
	sw_policy_free(p);
	sw_buf_putc(&b, 'x');
	path = put("huge.yaml", b.data, b.len);
	p = (sw_policy *)&p;
	probs = (sw_policy_problem *)&p;
	assert_int_equal(sw_policy_load(path, &p, &probs, &n, &err), SW_ELIMIT);
	assert_null(p);
	assert_null(probs);
	assert_int_equal(n, 0);
	snprintf(msg, sizeof(msg), "policy %s: larger than 4 MiB", path);
	assert_string_equal(err.msg, msg);
	sw_buf_release(&b);
	/* a file that is not there */
	snprintf(err.msg, sizeof(err.msg), "-");
	assert_int_equal(sw_policy_load("/nonexistent/policy.yaml", &p, &probs, &n, &err), SW_ENOTFOUND);
	assert_string_equal(err.msg, "policy /nonexistent/policy.yaml: No such file or directory");
}

/* A YAML error in a policy whose path is longer than an error message:
 * the line and the reason are still found (the loader looked for them
 * strlen(path) bytes into the message, past its end). */
static void test_long_path(void **state)
{
	char sub[1024], name[1200];
	size_t i;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/", dir);
	for (i = 0; i < 3; i++) {
		size_t o = strlen(sub);
		memset(sub + o, 'd', 200);
		sub[o + 200] = '\0';
		assert_int_equal(mkdir(sub, 0700), 0);
		sub[o + 200] = '/';
		sub[o + 201] = '\0';
	}
	snprintf(name, sizeof(name), "%s%s", sub + strlen(dir) + 1, "dup.yaml");
	assert_true(strlen(dir) + 1 + strlen(name) > 600);
	refused(name, "mode: warn\nversion: 1\nmode: enforce\n", 3, "key \"mode\" given twice (first on line 1)");
	refused(name, "version: 1\nmode: *x\n", 2, "aliases (*name) are not accepted: write the value out");
}

/* A file of white space only is an empty YAML document, whatever byte the
 * heap left after it (the sniffer read one byte past the data). */
static void test_blank_file(void **state)
{
	static const char blank[] = "  \n    \n\n          \n    \n\n         \n";
	const char *path = put("blank.yaml", blank, strlen(blank));
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		sw_policy *p = NULL;
		sw_policy_problem *probs = NULL;
		size_t n = 0;
		sw_error err = SW_ERROR_INIT;
		/* leave '{' where the loader's buffer will be allocated: every
		 * free 64-byte chunk the allocator holds is taken, filled, given
		 * back (glibc keeps its own 16 bytes at the start of each) */
		char *junk[32];
		size_t k;
		for (k = 0; k < N(junk); k++) {
			assert_non_null(junk[k] = malloc(64));
			memset(junk[k], '{', 64);
		}
		for (k = 0; k < N(junk); k++)
			free(junk[k]);
		assert_int_equal(sw_policy_load(path, &p, &probs, &n, &err), SW_EFORMAT);
		assert_int_equal(n, 1);
		assert_int_equal(probs[0].line, 0);
		assert_string_equal(probs[0].msg, "a policy is one YAML document (found 0)");
		free(probs);
	}
}

/* ---- containers-policy.json ---- */

static void decide_local(const sw_policy *p, const char *transport, const char *path, sw_decision *d)
{
	sw_ref r;

	memset(&r, 0, sizeof(r));
	sw_policy_decide(p, transport, &r, path, NULL, d);
}

static void test_containers_policy(void **state)
{
	char js[4096], keyfile[512];
	sw_policy *p;
	sw_decision d;

	(void)state;
	snprintf(keyfile, sizeof(keyfile), "%s", put("org.pub", "k\n", 2));
	snprintf(js, sizeof(js),
		 "{\n"                                                                                 /* 1 */
		 "  \"default\": [{\"type\": \"reject\"}],\n"                                          /* 2 */
		 "  \"transports\": {\n"                                                               /* 3 */
		 "    \"docker\": {\n"                                                                 /* 4 */
		 "      \"docker.io/library\": [{\"type\": \"insecureAcceptAnything\"}],\n"            /* 5 */
		 "      \"ghcr.io/example-org\": [{\"type\": \"sigstoreSigned\", \"keyPath\": \"%s\",\n"  /* 6 */
		 "                               \"signedIdentity\": {\"type\": \"matchRepository\"}}],\n"
		 "      \"quay.io/keys\": [{\"type\": \"sigstoreSigned\", \"keyDatas\": [\"QUJD\", \"RE\\nVG\"]}]\n" /* 8 */
		 "    },\n"
		 "    \"oci\": {\"\": [{\"type\": \"insecureAcceptAnything\"}]},\n"                    /* 10 */
		 "    \"dir\": {\"/srv/images\": [{\"type\": \"insecureAcceptAnything\"}]}\n"          /* 11 */
		 "  }\n"
		 "}\n",
		 keyfile);
	p = load("policy.json", js);
	/* reasons point at the policy's lines */
	EXPECT(p, "nginx:1.27", true, true, { SW_REASON_INFO, 5, "policy scope docker[\"docker.io/library\"] applies" },
	       END);
	EXPECT(p, "quay.io/prometheus/prometheus", false, true,
	       { SW_REASON_DENY, 2, "rejected by the policy (its default says reject)" }, END);
	EXPECT(p, "docker.io/someuser/app", false, true,
	       { SW_REASON_DENY, 2, "rejected by the policy (its default says reject)" }, END);
	/* look-alike names are not part of the format: a warning only */
	EXPECT(p, "ngnix", true, true, { SW_REASON_INFO, 5, "policy scope docker[\"docker.io/library\"] applies" },
	       { SW_REASON_WARN, 0, "typosquat: \"ngnix\" is not an official image; ..." }, END);
	/* a signature is asked for, with the requirement's identity rule */
	decide(p, "quay.io/keys/app", &d);
	assert_true(d.allowed);
	assert_int_equal(d.nsigs, 1);
	assert_int_equal(d.sigs[0].nkeys, 2);
	assert_string_equal(d.sigs[0].keys[0], "data:QUJD");
	assert_string_equal(d.sigs[0].keys[1], "data:REVG"); /* base64's line breaks dropped */
	assert_int_equal(d.sigs[0].identity.rule, SW_IDENTITY_REPO_DIGEST_OR_EXACT); /* the default */
	assert_int_equal(d.sigs[0].line, 8);
	decide(p, "ghcr.io/example-org/app:1", &d);
	assert_int_equal(d.nsigs, 1);
	assert_string_equal(d.sigs[0].keys[0], keyfile);
	assert_int_equal(d.sigs[0].identity.rule, SW_IDENTITY_REPOSITORY);
	assert_int_equal(d.sigs[0].nrekor_keys, 0);
	/* local transports: the path, then its parents, then "" */
	decide_local(p, "oci", "/anywhere/image", &d);
	assert_true(d.allowed);
	assert_int_equal(d.nreasons, 1);
	assert_string_equal(d.reasons[0].text, "policy scope oci[\"\"] applies");
	assert_int_equal(d.reasons[0].line, 10);
	decide_local(p, "dir", "/srv/images/app", &d);
	assert_true(d.allowed);
	assert_string_equal(d.reasons[0].text, "policy scope dir[\"/srv/images\"] applies");
	decide_local(p, "dir", "/srv/images-evil/app", &d);
	assert_false(d.allowed);
	assert_int_equal(d.nreasons, 1);
	assert_string_equal(d.reasons[0].text, "rejected by the policy (its default says reject)");
	decide_local(p, "docker-archive", "/srv/images/app.tar", &d);
	assert_false(d.allowed);
	sw_policy_free(p);
}

/* containers/image's lookup: the reference as named (":latest" when it has
 * neither tag nor digest), its repository and namespaces up to the host
 * with its port, "*.DOMAIN" without the port, then "", then the default;
 * scopes compared as written; a tag and a digest together refused. */
static void test_containers_lookup(void **state)
{
	static const char js[] =
		"{\"default\": [{\"type\": \"reject\"}],\n"                                             /* 1 */
		" \"transports\": {\"docker\": {\n"                                                     /* 2 */
		"   \"docker.io/library/busybox:latest\": [{\"type\": \"insecureAcceptAnything\"}],\n"   /* 3 */
		"   \"docker.io/library/busybox\": [{\"type\": \"reject\"}],\n"                          /* 4 */
		"   \"*.example.com\": [{\"type\": \"insecureAcceptAnything\"}],\n"                      /* 5 */
		"   \"registry.example.com:5000/team\": [{\"type\": \"reject\"}],\n"                     /* 6 */
		"   \"index.docker.io/library/alpine\": [{\"type\": \"insecureAcceptAnything\"}],\n"     /* 7 */
		"   \"docker.io/library/nginx@" DIGEST "\": [{\"type\": \"insecureAcceptAnything\"}],\n" /* 8 */
		"   \"docker.io/library/redis\": [{\"type\": \"insecureAcceptAnything\"}]},\n"           /* 9 */
		"  \"oci\": {\"/srv/oci\": [{\"type\": \"insecureAcceptAnything\"}],\n"                 /* 10 */
		"           \"/srv/oci/bad\": [{\"type\": \"reject\"}]},\n"                              /* 11 */
		"  \"docker-archive\": {\"\": [{\"type\": \"insecureAcceptAnything\"}]}}}\n";            /* 12 */
	static const prob warned[] = {
		{ 7, "transports.docker[\"index.docker.io/library/alpine\"]: never matches: containers/image compares the "
		     "scope as written with the image's full name (docker.io/library/alpine is how it would name it)" },
	};
	sw_policy *p = load_warned("lookup.json", js, warned, N(warned));
	sw_decision d;

	(void)state;
	EXPECT(p, "busybox", true, true,
	       { SW_REASON_INFO, 3, "policy scope docker[\"docker.io/library/busybox:latest\"] applies" }, END);
	EXPECT(p, "busybox:1.36", false, true,
	       { SW_REASON_INFO, 4, "policy scope docker[\"docker.io/library/busybox\"] applies" },
	       { SW_REASON_DENY, 4, "rejected by the policy (its scope says reject)" }, END);
	/* *.DOMAIN: the host's port goes first */
	EXPECT(p, "r.example.com:5000/x/y", true, true,
	       { SW_REASON_INFO, 5, "policy scope docker[\"*.example.com\"] applies" }, END);
	EXPECT(p, "registry.example.com:5000/team/app", false, true,
	       { SW_REASON_INFO, 6, "policy scope docker[\"registry.example.com:5000/team\"] applies" },
	       { SW_REASON_DENY, 6, "rejected by the policy (its scope says reject)" }, END);
	EXPECT(p, "example.com/x", false, true, { SW_REASON_DENY, 1, "rejected by the policy (its default says reject)" },
	       END);
	/* index.docker.io is a scope no reference has */
	EXPECT(p, "alpine:3.20", false, true, { SW_REASON_DENY, 1, "rejected by the policy (its default says reject)" },
	       END);
	EXPECT(p, "index.docker.io/library/alpine:3.20", false, true,
	       { SW_REASON_DENY, 1, "rejected by the policy (its default says reject)" }, END);
	EXPECT(p, "nginx@" DIGEST, true, true,
	       { SW_REASON_INFO, 8, "policy scope docker[\"docker.io/library/nginx@" DIGEST "\"] applies" }, END);
	EXPECT(p, "nginx:1.27", false, true, { SW_REASON_DENY, 1, "rejected by the policy (its default says reject)" },
	       END);
	/* a tag and a digest: containers/image refuses the reference */
	EXPECT(p, "redis:7@" DIGEST, false, true,
	       { SW_REASON_DENY, 0, "a reference with both a tag and a digest: containers/image refuses it (name it by "
				    "digest alone)" }, END);
	EXPECT(p, "redis@" DIGEST, true, true,
	       { SW_REASON_INFO, 9, "policy scope docker[\"docker.io/library/redis\"] applies" }, END);
	decide_local(p, "oci", "/srv/oci/bad/x", &d);
	assert_false(d.allowed);
	assert_int_equal(d.reasons[0].line, 11);
	decide_local(p, "oci", "/srv/oci/bad", &d);
	assert_false(d.allowed);
	decide_local(p, "oci", "/srv/oci/good", &d);
	assert_true(d.allowed);
	decide_local(p, "oci", "/srv/ocibad", &d);
	assert_false(d.allowed);
	assert_int_equal(d.reasons[0].line, 1);
	decide_local(p, "docker-archive", "/anywhere/x.tar", &d);
	assert_true(d.allowed);
	sw_policy_free(p);
}

/* Every requirement of the scope found must pass (an AND): a reject among
 * accepts rejects, two sigstoreSigned need two signatures; and the
 * requirements of a scope replace the default's whole, both ways. */
static void test_containers_requirements(void **state)
{
	char js[4096], a[512], rk[512];
	sw_policy *p;
	sw_decision d;

	(void)state;
	snprintf(a, sizeof(a), "%s", put("a.pub", "k\n", 2));
	snprintf(rk, sizeof(rk), "%s", put("rekor.pub", "k\n", 2));
	snprintf(js, sizeof(js),
		 "{\"default\": [{\"type\": \"insecureAcceptAnything\"}],\n"                              /* 1 */
		 " \"transports\": {\"docker\": {\n"                                                      /* 2 */
		 "  \"ghcr.io/rej\": [{\"type\": \"insecureAcceptAnything\"}, {\"type\": \"reject\"}],\n" /* 3 */
		 "  \"ghcr.io/org\": [{\"type\": \"insecureAcceptAnything\"},\n"                         /* 4 */
		 "    {\"type\": \"sigstoreSigned\", \"keyPath\": \"%s\", \"rekorPublicKeyPath\": \"%s\"},\n" /* 5 */
		 "    {\"type\": \"sigstoreSigned\", \"keyData\": \"QUJD\",\n"                            /* 6 */
		 "     \"signedIdentity\": {\"type\": \"remapIdentity\", \"prefix\": \"ghcr.io/org\",\n"
		 "                          \"signedPrefix\": \"registry.example.com/org\"}}],\n"
		 "  \"ghcr.io/gpg\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": \"%s\"}]}}}\n", /* 9 */
		 a, rk, a);
	{
		static const prob w[] = { { 9, "transports.docker[\"ghcr.io/gpg\"]: stowaway does not verify signedBy" } };
		p = load_warned("and.json", js, w, N(w));
	}
	EXPECT(p, "ghcr.io/rej/x", false, true, { SW_REASON_INFO, 3, "policy scope docker[\"ghcr.io/rej\"] applies" },
	       { SW_REASON_DENY, 3, "rejected by the policy (its scope says reject)" }, END);
	decide(p, "ghcr.io/org/app:1", &d);
	assert_true(d.allowed);
	assert_true(d.need_signature);
	assert_int_equal(d.nsigs, 2);
	assert_string_equal(d.sigs[0].keys[0], a);
	assert_int_equal(d.sigs[0].nrekor_keys, 1);
	assert_string_equal(d.sigs[0].rekor_keys[0], rk);
	assert_int_equal(d.sigs[0].line, 5);
	assert_string_equal(d.sigs[1].keys[0], "data:QUJD");
	assert_int_equal(d.sigs[1].nrekor_keys, 0);
	assert_int_equal(d.sigs[1].identity.rule, SW_IDENTITY_REMAP);
	assert_string_equal(d.sigs[1].identity.value, "ghcr.io/org");
	assert_string_equal(d.sigs[1].identity.signed_prefix, "registry.example.com/org");
	EXPECT(p, "ghcr.io/gpg/x", false, true, { SW_REASON_INFO, 9, "policy scope docker[\"ghcr.io/gpg\"] applies" },
	       { SW_REASON_DENY, 9, "the policy (its scope) requires a signedBy (GPG) signature, which stowaway does not "
				    "verify" }, END);
	EXPECT(p, "quay.io/x/y", true, true, END);
	sw_policy_free(p);
	/* a signing default, an accepting scope: no signature asked there */
	snprintf(js, sizeof(js),
		 "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyPath\": \"%s\"}],\n"
		 " \"transports\": {\"docker\": {\"docker.io/library\": [{\"type\": \"insecureAcceptAnything\"}]}}}\n", a);
	p = load("accept-scope.json", js);
	decide(p, "nginx:1.27", &d);
	assert_true(d.allowed);
	assert_false(d.need_signature);
	assert_int_equal(d.nsigs, 0);
	decide(p, "ghcr.io/other/app:1", &d);
	assert_true(d.allowed);
	assert_true(d.need_signature);
	assert_string_equal(d.sigs[0].keys[0], a);
	sw_policy_free(p);
	/* a rejecting default, a signing scope: admitted when signed */
	snprintf(js, sizeof(js),
		 "{\"default\": [{\"type\": \"reject\"}],\n"
		 " \"transports\": {\"docker\": {\"ghcr.io/example-org\": [{\"type\": \"sigstoreSigned\", "
		 "\"keyPath\": \"%s\", \"signedIdentity\": {\"type\": \"matchRepository\"}}]}}}\n", a);
	p = load("signed-scope.json", js);
	decide(p, "ghcr.io/example-org/app:1", &d);
	assert_true(d.allowed);
	assert_int_equal(d.nsigs, 1);
	sw_policy_free(p);
}

/* Accepted as containers/image accepts them, with a warning each: a docker
 * scope no reference can match, an unknown transport, a key file that is
 * not there (read when an image needs it). */
static void test_containers_warnings(void **state)
{
	static const char js[] =
		"{\"default\": [{\"type\": \"reject\"}],\n"                                                  /* 1 */
		" \"transports\": {\n"                                                                       /* 2 */
		"  \"docker\": {\"library/x\": [{\"type\": \"insecureAcceptAnything\"}],\n"                 /* 3 */
		"             \"docker.io/nginx\": [{\"type\": \"insecureAcceptAnything\"}],\n"              /* 4 */
		"             \"*.example.com:5000\": [{\"type\": \"insecureAcceptAnything\"}],\n"           /* 5 */
		"             \"quay.io\": [{\"type\": \"sigstoreSigned\", \"keyPath\": \"/nonexistent/k.pub\"}]},\n" /* 6 */
		"  \"ftp\": {\"x\": [{\"type\": \"insecureAcceptAnything\"}]}}}\n";                         /* 7 */
	static const prob w[] = {
		{ 3, "transports.docker[\"library/x\"]: never matches: containers/image compares the scope as written with "
		     "the image's full name (docker.io/library/x is how it would name it)" },
		{ 4, "transports.docker[\"docker.io/nginx\"]: covers images under docker.io/nginx/..., not the official "
		     "image docker.io/library/nginx" },
		{ 5, "transports.docker[\"*.example.com:5000\"]: never matches: a wildcard scope is *.DOMAIN" },
		{ 6, "transports.docker[\"quay.io\"]: key \"/nonexistent/k.pub\": No such file or directory" },
		{ 7, "transports: \"ftp\" is not a transport stowaway or containers/image reads" },
	};
	sw_policy *p = load_warned("warned.json", js, w, N(w));

	(void)state;
	EXPECT(p, "x", false, true, { SW_REASON_DENY, 1, "rejected by the policy (its default says reject)" }, END);
	sw_policy_free(p);
}

static void test_containers_policy_strict(void **state)
{
	static const struct {
		const char *text;
		int line;
		const char *msg;
	} cases[] = {
		{ "{\"default\": [{\"type\": \"reject\"}], \"extra\": 1}", 1,
		  "policy: unknown field \"extra\" (containers-policy.json is strict: the whole file is rejected)" },
		{ "{\"default\": [{\"type\": \"reject\", \"why\": \"x\"}]}", 1,
		  "default: unknown field \"why\" (containers-policy.json is strict: the whole file is rejected)" },
		{ "{\"transports\": {}}", 1, "\"default\" is required" },
		{ "{\"default\": []}", 1, "default: a non-empty list of requirements is required" },
		{ "{\"default\": null}", 1, "default: a non-empty list of requirements is required" },
		{ "{\"default\": [\"reject\"]}", 1, "default: each requirement is an object with a \"type\" string" },
		{ "{\"default\": [{\"type\": \"acceptAll\"}]}", 1, "default: unknown requirement type \"acceptAll\"" },
		{ "{\"default\": [{\"type\": \"insecureAcceptAnything\", \"keyPath\": \"/x\"}]}", 1,
		  "default: unknown field \"keyPath\" (containers-policy.json is strict: the whole file is rejected)" },
		{ "{\"default\": [{\"type\": \"sigstoreSigned\"}]}", 1,
		  "default: sigstoreSigned needs exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio and pki" },
		{ "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyData\": \"QQ==\", \"keyDatas\": [\"QQ==\"]}]}", 1,
		  "default: sigstoreSigned needs exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio and pki" },
		{ "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyPaths\": []}]}", 1,
		  "default: \"keyPaths\" contains no entries" },
		{ "{\"default\": [{\"type\": \"sigstoreSigned\",\n \"keyDatas\": []}]}", 2,
		  "default: \"keyDatas\" contains no entries" },
		{ "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyData\": \"QQ=\"}]}", 1,
		  "default: \"keyData\" is not base64 (it holds the file's bytes, base64-encoded)" },
		{ "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyData\": \"QQ==\", \"rekorPublicKeyPath\": \"/r\",\n"
		  "  \"rekorPublicKeyData\": \"QQ==\"}]}", 1,
		  "default: at most one of rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and "
		  "rekorPublicKeyDatas" },
		{ "{\"default\": [{\"type\": \"sigstoreSigned\", \"fulcio\": {\"caPath\": \"/ca\", \"oidcIssuer\": \"x\"},\n"
		  "  \"rekorPublicKeyPath\": \"/r\"}]}", 1, "default.fulcio: subjectEmail is required" },
		{ "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyData\": \"QQ==\",\n"
		  "  \"signedIdentity\": {\"type\": \"matchExact\", \"extra\": 1}}]}", 2,
		  "default.signedIdentity: unknown field \"extra\" (containers-policy.json is strict: the whole file is "
		  "rejected)" },
		{ "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyData\": \"QQ==\",\n"
		  "  \"signedIdentity\": {\"type\": \"matchRepository\", \"dockerReference\": \"a.example/x:1\"}}]}", 2,
		  "default.signedIdentity: unknown field \"dockerReference\" for matchRepository (containers-policy.json is "
		  "strict: the whole file is rejected)" },
		{ "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyData\": \"QQ==\",\n"
		  "  \"signedIdentity\": {\"type\": \"exactReference\", \"dockerReference\": \"a.example/x\"}}]}", 2,
		  "default.signedIdentity: dockerReference \"a.example/x\" has neither a tag nor a digest" },
		{ "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyData\": \"QQ==\",\n"
		  "  \"signedIdentity\": {\"type\": \"exactRepository\"}}]}", 2,
		  "default.signedIdentity: exactRepository needs \"dockerRepository\"" },
		{ "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyData\": \"QQ==\",\n"
		  "  \"signedIdentity\": {\"type\": \"remapIdentity\", \"prefix\": \"a.example/Team\",\n"
		  "                     \"signedPrefix\": \"b.example\"}}]}", 2,
		  "default.signedIdentity: prefix \"a.example/Team\" is not a registry host or a name that starts with one" },
		{ "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyData\": \"QQ==\", \"signedIdentity\": null}]}", 1,
		  "default.signedIdentity must be a JSON object" },
		{ "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyData\": \"QQ==\",\n"
		  "  \"signedIdentity\": {\"type\": \"matchAnything\"}}]}", 2,
		  "default.signedIdentity: unknown type \"matchAnything\"" },
		{ "{\"default\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\"}]}", 1,
		  "default: signedBy needs exactly one of keyPath, keyPaths and keyData" },
		{ "{\"default\": [{\"type\": \"signedBy\", \"keyType\": \"PGP\", \"keyPath\": \"/k\"}]}", 1,
		  "default: keyType \"PGP\" is not one of GPGKeys, signedByGPGKeys, X509Certificates, signedByX509CAs" },
		{ "{\"default\": [{\"type\": \"reject\"}], \"transports\": []}", 1, "\"transports\" must be an object" },
		{ "{\"default\": [{\"type\": \"reject\"}],\n \"transports\": null}", 2, "\"transports\" must be an object" },
		{ "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"oci\": []}}", 1,
		  "transports.oci must be an object of scopes" },
		{ "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"oci\": {\"/x\": []}}}", 1,
		  "transports.oci[\"/x\"]: a non-empty list of requirements is required" },
		{ "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"oci\": {\"/x\": null}}}", 1,
		  "transports.oci[\"/x\"]: a non-empty list of requirements is required" },
		{ "{\"default\": [{\"type\": \"reject\"}],\n \"transports\": {\"oci\": {\n"
		  "  \"images/app\": [{\"type\": \"insecureAcceptAnything\"}]}}}", 3,
		  "transports.oci[\"images/app\"]: a scope is an absolute path" },
		{ "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"oci-archive\": {\n"
		  "  \"/\": [{\"type\": \"insecureAcceptAnything\"}]}}}", 2,
		  "transports.oci-archive[\"/\"]: \"/\" is not a scope: write the default scope \"\"" },
		{ "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"dir\": {\n"
		  "  \"/srv/x/\": [{\"type\": \"insecureAcceptAnything\"}]}}}", 2,
		  "transports.dir[\"/srv/x/\"]: a scope is a clean path (no trailing '/', no \"//\", \".\" or \"..\")" },
		{ "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"oci\": {\n"
		  "  \"/srv/../etc\": [{\"type\": \"insecureAcceptAnything\"}]}}}", 2,
		  "transports.oci[\"/srv/../etc\"]: a scope is a clean path (no trailing '/', no \"//\", \".\" or \"..\")" },
		{ "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker-archive\": {\n"
		  "  \"/srv/x.tar\": [{\"type\": \"insecureAcceptAnything\"}]}}}", 2,
		  "transports.docker-archive[\"/srv/x.tar\"]: this transport has no scope but \"\"" },
		{ "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker-daemon\": {\n"
		  "  \"" DIGEST "\": [{\"type\": \"insecureAcceptAnything\"}]}}}", 2,
		  "transports.docker-daemon[\"" DIGEST "\"]: a digest (an image ID) is not a scope" },
		{ "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"containers-storage\": {\n"
		  "  \"[var/lib/containers]x\": [{\"type\": \"insecureAcceptAnything\"}]}}}", 2,
		  "transports.containers-storage[\"[var/lib/containers]x\"]: a scope is \"[ROOT]...\" or "
		  "\"[DRIVER@ROOT]...\" with an absolute ROOT, then NAME[:TAG][@DIGEST][@ID]" },
		/* JSON errors at their line */
		{ "{\"default\": [{\"type\": \"reject\"},\n]}", 2, "not valid JSON: json: bad number at byte 33" },
		{ "{\"default\": [{\"type\": \"reject\"}],\n \"default\": []}", 2,
		  "not valid JSON: json: duplicate member name \"default\" at byte 49" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		char name[32];
		snprintf(name, sizeof(name), "strict%zu.json", i);
		refused(name, cases[i].text, cases[i].line, cases[i].msg);
	}
}

/* ---- the built-in policy ---- */

static void test_default_policy(void **state)
{
	sw_policy *p = NULL;
	sw_decision d;

	(void)state;
	assert_int_equal(sw_policy_default(&p), 0);
	assert_string_equal(sw_policy_path(p), "(built-in)");
	EXPECT(p, "nginx", true, true, END);
	EXPECT(p, "ghcr.io/org/app:1", true, true, END);
	EXPECT(p, "library-nginx/nginx", false, true,
	       { SW_REASON_DENY, 0, "impersonation: the namespace \"library-nginx\" dresses up as ..." }, END);
	decide_local(p, "oci", "/tmp/layout", &d);
	assert_true(d.allowed);
	assert_int_equal(d.nreasons, 0);
	assert_false(d.need_scan);
	/* a decision keeps at most 16 reasons; a deny past them still denies */
	for (int i = 0; i < 20; i++)
		sw_decision_add(&d, i < 19 ? SW_REASON_INFO : SW_REASON_DENY, i, "r%d", i);
	assert_int_equal(d.nreasons, SW_DECISION_MAX_REASONS);
	assert_string_equal(d.reasons[15].text, "r15");
	assert_false(d.allowed);
	sw_policy_free(p);
	sw_policy_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_access_lists),
		cmocka_unit_test(test_list_warnings),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_digest_and_mode),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_waiting),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_keyless),
		cmocka_unit_test(test_key_problems),
		cmocka_unit_test(test_problems),
		cmocka_unit_test(test_all_problems_listed),
		cmocka_unit_test(test_hostile_yaml),
		cmocka_unit_test(test_long_path),
		cmocka_unit_test(test_blank_file),
		cmocka_unit_test(test_containers_policy),
		cmocka_unit_test(test_containers_lookup),
		cmocka_unit_test(test_containers_requirements),
		cmocka_unit_test(test_containers_warnings),
		cmocka_unit_test(test_containers_policy_strict),
		cmocka_unit_test(test_default_policy),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
