/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker's reference normalisation, enough to name images in reports:
 * domain detection (a first component with '.' or ':', "localhost", or
 * uppercase letters), docker.io as the default domain, index.docker.io
 * folded into docker.io, "library/" for single-component Docker Hub names,
 * and ":latest" when neither tag nor digest is given. The full grammar with
 * its exhaustive tests belongs to the registry access-control work.
 */
#include <ctype.h>
#include <string.h>

#include "stowaway/image.h"
#include "../util/util.h"
#include "../util/banned.h"

int sw_reference_normalize(const char *ref, char *out, size_t n, sw_error *err)
{
	const char *slash, *path, *at, *colon, *p;
	char domain[256];
	size_t dlen;
	bool tagged, digested, upper;
	int w;

	if (!ref || !*ref || strlen(ref) > 4096)
		return sw_error_set(err, SW_EFORMAT, "reference is empty or too long");
	slash = strchr(ref, '/');
	dlen = slash ? (size_t)(slash - ref) : 0;
	upper = false;
	for (p = ref; slash && p < slash; p++)
		upper |= isupper((unsigned char)*p) != 0;
	if (slash && (memchr(ref, '.', dlen) || memchr(ref, ':', dlen) ||
		      (dlen == 9 && strncmp(ref, "localhost", 9) == 0) || upper)) {
		if (dlen >= sizeof(domain))
			return sw_error_set(err, SW_EFORMAT, "reference domain too long");
		memcpy(domain, ref, dlen);
		domain[dlen] = '\0';
		path = slash + 1;
	} else {
		snprintf(domain, sizeof(domain), "docker.io");
		path = ref;
	}
	if (strcmp(domain, "index.docker.io") == 0)
		snprintf(domain, sizeof(domain), "docker.io");
	at = strchr(path, '@');
	/* the tag's colon is the last one before any digest */
	colon = NULL;
	for (p = path; *p && p != at; p++)
		if (*p == ':')
			colon = p;
	if (colon && memchr(colon, '/', (size_t)((at ? at : colon + strlen(colon)) - colon)))
		colon = NULL;
	digested = at != NULL;
	tagged = colon != NULL;
	for (p = path; *p && p != (colon ? colon : at); p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
		      *p == '.' || *p == '_' || *p == '-' || *p == '/'))
			return sw_error_set(err, SW_EFORMAT,
					    "reference \"%.200s\": repository must be lowercase [a-z0-9._-/]",
					    ref);
	if (p == path)
		return sw_error_set(err, SW_EFORMAT, "reference \"%.200s\": empty repository", ref);
	if (strcmp(domain, "docker.io") == 0 && !memchr(path, '/', (size_t)(p - path)))
		w = snprintf(out, n, "%s/library/%s%s", domain, path,
			     tagged || digested ? "" : ":latest");
	else
		w = snprintf(out, n, "%s/%s%s", domain, path, tagged || digested ? "" : ":latest");
	if (w < 0 || (size_t)w >= n)
		return sw_error_set(err, SW_ELIMIT, "reference too long");
	return 0;
}
