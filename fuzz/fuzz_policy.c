/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz admission policies: the input is a policy file, stowaway's YAML or,
 * built with -DSW_FUZZ_CONTAINERS, a containers-policy.json (inputs that do
 * not start as a JSON object are skipped there). The bytes live in a memfd
 * so the real file path code runs. A policy that loads decides on fixed
 * references (official, look-alike, pinned, another registry) and local
 * transports; every decision must be consistent: a denial says why, warn
 * mode never denies, what the caller must check is well formed. A policy
 * that loads has warnings at most; a refusal names at least one problem. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stowaway/names.h"
#include "stowaway/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *const refs[] = {
	"nginx:1.27", "ngnix", "docker.io/someuser/openjdk", "docker.io/library/busybox:1.36",
	("ghcr.io/example-org/app@" DIGEST), "quay.io/prometheus/prometheus", "localhost:5000/app",
	"registry.example.com/team/app:1", "gchr.io/org/app", ("redis:7@" DIGEST), "busybox",
	"r.example.com:5000/x/y",
};

static const struct {
	const char *transport, *path;
} locals[] = {
	{ "oci", "/srv/images/app" }, { "dir", "/srv/images-evil/app" }, { "docker-archive", "/tmp/a.tar" },
	{ "oci-archive", "/" },
};

static void consistent(const sw_decision *d)
{
	size_t i, denies = 0;

	if (d->nreasons > SW_DECISION_MAX_REASONS || d->nsigs > SW_DECISION_MAX_SIGS ||
	    d->natt_keys > SW_POLICY_MAX_KEYS)
		abort();
	for (i = 0; i < d->nreasons; i++) {
		const sw_reason *r = &d->reasons[i];
		if (!r->text[0] || !memchr(r->text, '\0', sizeof(r->text)) || r->line < 0)
			abort();
		denies += r->kind == SW_REASON_DENY;
	}
	/* a denial is explained; warn mode turns every denial into a warning */
	if (!d->allowed && (!d->enforce || !denies))
		abort();
	if (d->allowed && denies)
		abort();
	if (d->need_signature != (d->nsigs > 0) || d->need_attestation != (d->natt_keys > 0))
		abort();
	for (i = 0; i < d->nsigs; i++) {
		const sw_sig_require *s = &d->sigs[i];
		size_t k;
		/* each signature has its keys; an identity rule that names a
		 * reference has it */
		if (!s->nkeys || s->nkeys > SW_POLICY_MAX_KEYS || s->nrekor_keys > SW_POLICY_MAX_KEYS)
			abort();
		for (k = 0; k < s->nkeys; k++)
			if (!s->keys[k])
				abort();
		for (k = 0; k < s->nrekor_keys; k++)
			if (!s->rekor_keys[k])
				abort();
		if ((s->identity.rule == SW_IDENTITY_EXACT_REFERENCE || s->identity.rule == SW_IDENTITY_EXACT_REPOSITORY ||
		     s->identity.rule == SW_IDENTITY_REMAP) && !s->identity.value)
			abort();
		if (s->identity.rule == SW_IDENTITY_REMAP && !s->identity.signed_prefix)
			abort();
	}
	for (i = 0; i < d->natt_keys; i++)
		if (!d->att_keys[i] || !d->att_keys[i][0])
			abort();
	if (d->need_scan && (d->max_severity < -1 || d->max_severity > SW_SEV_CRITICAL))
		abort();
	if (d->need_attestation && (d->att_verdict < 0 || d->att_verdict > 2 || d->att_max_age_days < 0))
		abort();
}

static void decide_all(const sw_policy *p)
{
	sw_decision d;
	size_t i;

	for (i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		sw_name_result nr;
		sw_error err = SW_ERROR_INIT;
		if (sw_names_check(refs[i], &nr, &err) != 0)
			abort();
		sw_policy_decide(p, "docker", &nr.ref, NULL, &nr, &d);
		consistent(&d);
		sw_policy_decide(p, "docker", &nr.ref, NULL, NULL, &d);
		consistent(&d);
	}
	for (i = 0; i < sizeof(locals) / sizeof(locals[0]); i++) {
		sw_ref none;
		memset(&none, 0, sizeof(none));
		sw_policy_decide(p, locals[i].transport, &none, locals[i].path, NULL, &d);
		consistent(&d);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sw_policy *p = NULL;
	sw_policy_problem *probs = NULL;
	size_t n = 0, i;
	sw_error err = SW_ERROR_INIT;
	char path[64];
	int fd, rc;

#ifdef SW_FUZZ_CONTAINERS
	for (i = 0; i < size && isspace(data[i]); i++)
		;
	if (i == size || data[i] != '{')
		return 0;
#endif
	if ((fd = memfd_create("fuzz", 0)) < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rc = sw_policy_load(path, &p, &probs, &n, &err);
	close(fd);
	for (i = 0; i < n; i++)
		if (!probs[i].msg[0] || probs[i].line < 0)
			abort();
	if (rc == 0) {
		/* loaded: with warnings at most */
		if (!p)
			abort();
		for (i = 0; i < n; i++)
			if (!probs[i].warning)
				abort();
		decide_all(p);
		sw_policy_free(p);
		free(probs);
		return 0;
	}
	/* refused: the first problem is in err, one at least is not a warning */
	if (p || !err.msg[0])
		abort();
	for (i = 0; i < n && probs[i].warning; i++)
		;
	if ((rc == SW_EFORMAT) != (i < n))
		abort();
	free(probs);
	return 0;
}
