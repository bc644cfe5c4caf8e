/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image references, following distribution/reference (the grammar Docker,
 * containerd and cosign share; FORMATS.md §5):
 *
 *   reference := name [":" tag] ["@" digest]
 *   name      := [domain "/"] path
 *   domain    := (domain-name | "[" ipv6 "]") [":" port]
 *   path      := component ("/" component)*, each [a-z0-9]+ joined by
 *                ".", "_", "__" or runs of "-"; at most 255 characters
 *   tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest    := sha256:<64> | sha384:<96> | sha512:<128> lowercase hex
 *
 * Normalisation is ParseNormalizedNamed's: the first component is a domain
 * only when it has a '.' or ':', is "localhost", or has uppercase letters;
 * otherwise the domain is docker.io; index.docker.io is docker.io; a
 * single-component Docker Hub path gets "library/". A bare 64-hex string
 * is an image ID, not a name, and is refused.
 *
 * One place where we are stricter than Docker: a first component that is
 * taken as a domain must be a valid domain. Docker's regex then falls back
 * to reading "my_reg.io/app" as a path with no domain at all, which no
 * registry can serve; we say the domain is invalid instead.
 */
#include <ctype.h>
#include <string.h>

#include "stowaway/image.h"
#include "stowaway/reference.h"
#include "../util/util.h"
#include "../util/banned.h"

static bool alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool alnum_any(char c)
{
	return isalnum((unsigned char)c) != 0;
}

/* host[:port], host a domain name or [ipv6] */
static bool valid_domain(const char *d, size_t n)
{
	size_t i = 0;

	if (n == 0)
		return false;
	if (d[0] == '[') {
		for (i = 1; i < n && (isxdigit((unsigned char)d[i]) || d[i] == ':'); i++)
			;
		if (i == 1 || i >= n || d[i] != ']')
			return false;
		i++;
	} else {
		for (;;) {
			size_t c0 = i;
			while (i < n && (alnum_any(d[i]) || d[i] == '-'))
				i++;
			if (i == c0 || d[c0] == '-' || d[i - 1] == '-')
				return false;
			if (i < n && d[i] == '.') {
				i++;
				continue;
			}
			break;
		}
	}
	if (i < n && d[i] == ':') {
		size_t p0 = ++i;
		while (i < n && isdigit((unsigned char)d[i]))
			i++;
		if (i == p0)
			return false;
	}
	return i == n;
}

/* One path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)* */
static bool valid_component(const char *c, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t a0 = i;
		while (i < n && alnum_lower(c[i]))
			i++;
		if (i == a0)
			return false;
		if (i == n)
			return true;
		if (c[i] == '.') {
			i++;
		} else if (c[i] == '_') {
			i++;
			if (i < n && c[i] == '_')
				i++;
		} else if (c[i] == '-') {
			while (i < n && c[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i == n || !alnum_lower(c[i]))
			return false;
	}
	return n > 0;
}

static bool valid_tag(const char *t, size_t n)
{
	size_t i;

	if (n == 0 || n > 128 || !(alnum_any(t[0]) || t[0] == '_'))
		return false;
	for (i = 1; i < n; i++)
		if (!(alnum_any(t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
			return false;
	return true;
}

/* algorithm ":" encoded, validated as go-digest does: known algorithm,
 * lowercase hex of its exact length. */
static int check_digest(const char *s, size_t n, const char *ref, sw_error *err)
{
	static const struct { const char *alg; size_t hex; } algs[] = {
		{ "sha256", 64 }, { "sha384", 96 }, { "sha512", 128 },
	};
	const char *colon = memchr(s, ':', n);
	size_t al, hl, i, k;

	if (!colon || colon == s || colon + 1 == s + n)
		return sw_error_set(err, SW_EFORMAT,
				    "reference \"%.200s\": digest must be algorithm:hex", ref);
	al = (size_t)(colon - s);
	hl = n - al - 1;
	for (k = 0; k < sizeof(algs) / sizeof(algs[0]); k++)
		if (strlen(algs[k].alg) == al && memcmp(s, algs[k].alg, al) == 0)
			break;
	if (k == sizeof(algs) / sizeof(algs[0]))
		return sw_error_set(err, SW_EFORMAT,
				    "reference \"%.200s\": unsupported digest algorithm \"%.*s\" (sha256, sha384 or sha512)",
				    ref, (int)(al < 32 ? al : 32), s);
	for (i = 0; i < hl; i++)
		if (!(isdigit((unsigned char)colon[1 + i]) || (colon[1 + i] >= 'a' && colon[1 + i] <= 'f')))
			return sw_error_set(err, SW_EFORMAT,
					    "reference \"%.200s\": digest must be lowercase hex", ref);
	if (hl != algs[k].hex)
		return sw_error_set(err, SW_EFORMAT,
				    "reference \"%.200s\": a %s digest has %zu hex digits, not %zu", ref,
				    algs[k].alg, algs[k].hex, hl);
	return 0;
}

static bool is_image_id(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!(isdigit((unsigned char)s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 64;
}

int sw_ref_parse(const char *s, sw_ref *r, sw_error *err)
{
	const char *slash, *rem, *p, *end, *name_end;
	size_t dlen, n, i;
	bool upper = false;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!s || !*s)
		return sw_error_set(err, SW_EFORMAT, "reference is empty");
	n = strlen(s);
	if (n > SW_REF_MAX_INPUT)
		return sw_error_set(err, SW_EFORMAT, "reference is too long (%zu bytes, at most %d)", n,
				    SW_REF_MAX_INPUT);
	if (is_image_id(s))
		return sw_error_set(err, SW_EFORMAT,
				    "reference \"%s\": a bare 64-digit hex string is an image ID, not a name", s);
	/* splitDockerDomain */
	slash = strchr(s, '/');
	dlen = slash ? (size_t)(slash - s) : 0;
	for (p = s; slash && p < slash; p++)
		upper |= isupper((unsigned char)*p) != 0;
	if (slash && (memchr(s, '.', dlen) || memchr(s, ':', dlen) ||
		      (dlen == 9 && memcmp(s, "localhost", 9) == 0) || upper)) {
		if (dlen >= sizeof(r->domain))
			return sw_error_set(err, SW_EFORMAT,
					    "reference \"%.200s\": domain longer than 255 characters", s);
		if (!valid_domain(s, dlen))
			return sw_error_set(err, SW_EFORMAT,
					    "reference \"%.200s\": \"%.*s\" is not a valid registry host[:port]",
					    s, (int)dlen, s);
		memcpy(r->domain, s, dlen);
		rem = slash + 1;
	} else {
		snprintf(r->domain, sizeof(r->domain), "docker.io");
		rem = s;
	}
	if (strcmp(r->domain, "index.docker.io") == 0)
		snprintf(r->domain, sizeof(r->domain), "docker.io");
	end = s + n;
	/* the path ends at the tag's ':' or the digest's '@' */
	for (name_end = rem; name_end < end && *name_end != ':' && *name_end != '@'; name_end++)
		;
	for (p = rem; p < name_end; p++)
		if (isupper((unsigned char)*p))
			return sw_error_set(err, SW_EFORMAT,
					    "reference \"%.200s\": repository name must be lowercase", s);
	if (name_end == rem)
		return sw_error_set(err, SW_EFORMAT, "reference \"%.200s\": empty repository name", s);
	/* path components */
	for (p = rem; p < name_end;) {
		const char *c = p;
		while (p < name_end && *p != '/')
			p++;
		if (!valid_component(c, (size_t)(p - c)))
			return sw_error_set(err, SW_EFORMAT,
					    "reference \"%.200s\": \"%.*s\" is not a valid repository path component "
					    "(lowercase letters and digits, joined by '.', '_', '__' or '-')",
					    s, (int)((size_t)(p - c) < 100 ? (size_t)(p - c) : 100), c);
		if (p < name_end)
			p++;
		if (p == name_end && p[-1] == '/')
			return sw_error_set(err, SW_EFORMAT,
					    "reference \"%.200s\": repository path ends with '/'", s);
	}
	{
		bool hub_single = strcmp(r->domain, "docker.io") == 0 &&
				  !memchr(rem, '/', (size_t)(name_end - rem));
		size_t plen = (size_t)(name_end - rem) + (hub_single ? 8 : 0);
		if (plen > 255)
			return sw_error_set(err, SW_EFORMAT,
					    "reference \"%.200s\": repository name longer than 255 characters", s);
		snprintf(r->path, sizeof(r->path), "%s%.*s", hub_single ? "library/" : "",
			 (int)(name_end - rem), rem);
	}
	p = name_end;
	if (p < end && *p == ':') {
		const char *t = ++p;
		while (p < end && *p != '@')
			p++;
		if (!valid_tag(t, (size_t)(p - t)))
			return sw_error_set(err, SW_EFORMAT,
					    "reference \"%.200s\": \"%.*s\" is not a valid tag "
					    "(1-128 of A-Z a-z 0-9 _ . -, not starting with . or -)",
					    s, (int)((size_t)(p - t) < 140 ? (size_t)(p - t) : 140), t);
		memcpy(r->tag, t, (size_t)(p - t));
	}
	if (p < end && *p == '@') {
		p++;
		if ((rc = check_digest(p, (size_t)(end - p), s, err)) < 0)
			return rc;
		i = (size_t)(end - p);
		memcpy(r->digest, p, i);
		p = end;
	}
	if (p != end)
		return sw_error_set(err, SW_EFORMAT, "reference \"%.200s\": invalid reference format", s);
	return 0;
}

/* Would the first component of a path be read as a domain? */
static bool first_is_domain(const char *path)
{
	const char *slash = strchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	return slash && (memchr(path, '.', n) || memchr(path, ':', n) ||
			 (n == 9 && memcmp(path, "localhost", 9) == 0));
}

int sw_ref_format(const sw_ref *r, sw_ref_form form, char *out, size_t n)
{
	const char *name = r->path;
	bool hub = strcmp(r->domain, "docker.io") == 0;
	int w;

	if (form == SW_REF_FAMILIAR && hub && strncmp(name, "library/", 8) == 0 && !strchr(name + 8, '/'))
		name += 8;
	/* Docker drops "docker.io/" even from "docker.io/foo.bar/app", whose
	 * familiar form then reads back as host foo.bar: we keep it there */
	if (form == SW_REF_FAMILIAR && hub && !first_is_domain(name))
		w = snprintf(out, n, "%s", name);
	else
		w = snprintf(out, n, "%s/%s", r->domain, name);
	if (w >= 0 && (size_t)w < n && form != SW_REF_NAME) {
		size_t used = (size_t)w;
		int x = snprintf(out + used, n - used, "%s%s%s%s", r->tag[0] ? ":" : "", r->tag,
				 r->digest[0] ? "@" : "", r->digest);
		w = x < 0 ? x : w + x;
		if (w >= 0 && (size_t)w < n && form == SW_REF_DEFAULT && !r->tag[0] && !r->digest[0]) {
			used = (size_t)w;
			x = snprintf(out + used, n - used, ":latest");
			w = x < 0 ? x : w + x;
		}
	}
	if (w < 0 || (size_t)w >= n) {
		if (n)
			out[0] = '\0';
		return SW_ELIMIT;
	}
	return 0;
}

int sw_reference_normalize(const char *ref, char *out, size_t n, sw_error *err)
{
	sw_ref r;
	int rc;

	if ((rc = sw_ref_parse(ref, &r, err)) < 0)
		return rc;
	if (sw_ref_format(&r, SW_REF_DEFAULT, out, n) < 0)
		return sw_error_set(err, SW_ELIMIT, "reference too long for its buffer");
	return 0;
}
