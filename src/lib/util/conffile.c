/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Settings files (stowaway/config.h): a flat YAML mapping read through the
 * one bounded YAML reader (yaml.c), handed to the caller value by value
 * with its line. The CLI's config.yaml is read here rather than by a second
 * YAML reader of the CLI's own: two readers could see two different
 * settings in the same bytes, and the bounds (no aliases, no duplicate
 * keys, size, depth) would have to be written twice. What the names mean is
 * the caller's business; the shape (scalars, or lists of scalars, under
 * top-level keys) is checked here.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stowaway/config.h"
#include "util.h"
#include "banned.h"

#define MAX_CONFIG_FILE (1u << 20)

static int shape(sw_error *err, const char *path, int line, const char *why)
{
	sw_error_set(err, SW_EFORMAT, "%s:%d: %s", path, line, why);
	if (err)
		err->line = line;
	return SW_EFORMAT;
}

/* Every value of the document's root map, in order. */
static int walk(const sw_yaml *root, const char *path, sw_config_value_fn fn, void *ctx, sw_error *err)
{
	const sw_yaml *kv, *item;
	int rc;

	if (root->type != SW_YAML_MAP)
		return shape(err, path, root->line, "a config file is a mapping of names to values");
	for (kv = root->child; kv; kv = kv->next) {
		if (kv->type == SW_YAML_MAP)
			return shape(err, path, kv->line, "a value is a scalar or a list of scalars, not a mapping");
		if (kv->type == SW_YAML_SCALAR) {
			if ((rc = fn(ctx, kv->key, kv->s, kv->line, 0)) != 0)
				return rc;
			continue;
		}
		for (item = kv->child; item; item = item->next) {
			if (item->type != SW_YAML_SCALAR)
				return shape(err, path, item->line, "a list holds scalars only");
			if ((rc = fn(ctx, kv->key, item->s, item->line, 1)) != 0)
				return rc;
		}
	}
	return 0;
}

int sw_config_read(const char *path, sw_config_value_fn fn, void *ctx, sw_error *err)
{
	sw_buf b = SW_BUF_INIT(MAX_CONFIG_FILE);
	sw_yaml_doc *doc = NULL;
	const sw_yaml *root;
	sw_error yerr = SW_ERROR_INIT;
	int rc;

	if ((rc = sw_file_read(path, &b)) < 0) {
		int e = errno;
		sw_buf_release(&b);
		if (rc == SW_ELIMIT)
			return sw_error_set(err, SW_ELIMIT, "%s: larger than 1 MiB", path);
		sw_error_set(err, SW_ENOTFOUND, "%s: %s", path, strerror(e));
		errno = e; /* the caller may tell a missing file from others */
		return SW_ENOTFOUND;
	}
	if ((rc = sw_yaml_parse(b.data ? b.data : "", b.len, path, &doc, &yerr)) < 0) {
		sw_buf_release(&b);
		if (err)
			*err = yerr; /* "PATH:LINE: why", with the line */
		return rc == SW_ENOMEM ? rc : SW_EFORMAT;
	}
	sw_buf_release(&b);
	if (sw_yaml_ndocs(doc) > 1)
		rc = shape(err, path, 0, "a config file is one YAML document");
	else if (sw_yaml_ndocs(doc) == 1 && (root = sw_yaml_root(doc, 0)))
		rc = walk(root, path, fn, ctx, err);
	else
		rc = 0; /* empty */
	sw_yaml_free(doc);
	return rc;
}

int sw_parse_size(const char *s, uint64_t *out)
{
	static const struct { const char *suf; uint64_t mul; } u[] = {
		{ "", 1 }, { "B", 1 }, { "K", 1ull << 10 }, { "KiB", 1ull << 10 },
		{ "M", 1ull << 20 }, { "MiB", 1ull << 20 }, { "G", 1ull << 30 },
		{ "GiB", 1ull << 30 }, { "T", 1ull << 40 }, { "TiB", 1ull << 40 },
	};
	char *end;
	unsigned long long v;
	size_t i;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (strcmp(end, u[i].suf) == 0) {
			if (v > UINT64_MAX / u[i].mul)
				return -1;
			*out = v * u[i].mul;
			return 0;
		}
	return -1;
}

int sw_parse_duration(const char *s, double unit, double max, double *out)
{
	static const struct { const char *suf; double secs; } u[] = {
		{ "ms", 0.001 }, { "s", 1 }, { "m", 60 }, { "h", 3600 }, { "d", 86400 },
	};
	char *end;
	double v, mul = unit;
	size_t i;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s)
		return -1;
	if (*end) {
		for (i = 0; i < sizeof(u) / sizeof(u[0]) && strcmp(end, u[i].suf) != 0; i++)
			;
		if (i == sizeof(u) / sizeof(u[0]))
			return -1;
		mul = u[i].secs;
	}
	v *= mul;
	if (!(v > 0 && v <= max)) /* NaN and infinities too */
		return -1;
	*out = v;
	return 0;
}
