/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hash IOCs: SHA-256 lists of known-bad files. The bundled list
 * (data/ioc/sha256.txt) is compiled into the library; users add their own
 * with --ioc FILE. Line format: "<sha256-hex>[:<size>] <severity> <category>
 * <name>", '#' starts a comment. A malformed line is an error naming file
 * and line: a typo in a blocklist must not silently disable it.
 *
 * The size, when given (as ClamAV's .hdb lists carry it), narrows hashing:
 * the engine hashes a file only when some entry could match it
 * (wants_sha256), and a list whose every entry has a size costs nothing
 * for files of other sizes. One entry without a size makes every regular
 * file hashed. Lookup is a binary search in a sorted array.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "detector.h"
#include "../util/banned.h"

extern const char sw_bundled_ioc[];

#define MAX_IOC_FILE (64u << 20)
#define MAX_IOCS 4000000

typedef struct ioc {
	uint8_t h[SW_SHA256_LEN];
	sw_severity sev;
	const char *category, *name, *source; /* into the string pool */
} ioc;

typedef struct iocs {
	ioc *v;
	size_t n;
	uint64_t *sizes;             /* of the entries that give one: sorted, unique */
	size_t nsizes;
	bool unsized;                /* an entry without a size: hash every file */
	char **pool;
	size_t npool;
} iocs;


static char *pool_add(iocs *s, char *str)
{
	if (!str || SW_GROW(s->pool, s->npool) < 0) {
		free(str);
		return NULL;
	}
	s->pool[s->npool++] = str;
	return str;
}

static int parse_list(iocs *s, const char *text, size_t len, const char *source,
		      sw_error *err)
{
	const char *p = text, *end = text + len;
	size_t line = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *f[4];
		size_t fl[4], k = 0;
		const char *q;
		ioc *x;

		eol = eol ? eol : end;
		line++;
		q = p;
		while (q < eol && k < 4) {
			while (q < eol && (*q == ' ' || *q == '\t' || *q == '\r'))
				q++;
			if (q >= eol || *q == '#')
				break;
			f[k] = q;
			if (k == 3) { /* the name is the rest of the line */
				const char *t = eol;
				while (t > q && (t[-1] == ' ' || t[-1] == '\t' || t[-1] == '\r'))
					t--;
				fl[k++] = (size_t)(t - q);
				break;
			}
			while (q < eol && *q != ' ' && *q != '\t')
				q++;
			fl[k] = (size_t)(q - f[k]);
			k++;
		}
		p = eol + 1;
		if (k == 0)
			continue;
		if (k != 4)
			return sw_error_set(err, SW_EFORMAT,
					    "%s:%zu: expected \"sha256 severity category name\"", source, line);
		if (s->n >= MAX_IOCS)
			return sw_error_set(err, SW_ELIMIT, "%s: more than %d IOCs", source, MAX_IOCS);
		if (SW_GROW(s->v, s->n) < 0)
			return sw_error_set(err, SW_ENOMEM, "out of memory");
		x = &s->v[s->n];
		if (fl[0] < 64 || sw_unhex(f[0], SW_SHA256_LEN, x->h) < 0 || (fl[0] > 64 && f[0][64] != ':'))
			return sw_error_set(err, SW_EFORMAT, "%s:%zu: not a 64-hex-digit SHA-256", source, line);
		if (fl[0] == 64) {
			s->unsized = true;
		} else {
			uint64_t size = 0;
			size_t i;
			for (i = 65; i < fl[0] && isdigit((unsigned char)f[0][i]) && size <= UINT64_MAX / 10 - 1; i++)
				size = size * 10 + (uint64_t)(f[0][i] - '0');
			if (i == 65 || i != fl[0])
				return sw_error_set(err, SW_EFORMAT, "%s:%zu: the size after \"sha256:\" must be a "
						    "decimal number of bytes", source, line);
			if (SW_GROW(s->sizes, s->nsizes) < 0)
				return sw_error_set(err, SW_ENOMEM, "out of memory");
			s->sizes[s->nsizes++] = size;
		}
		{
			char sev[16];
			snprintf(sev, sizeof(sev), "%.*s", (int)(fl[1] < 15 ? fl[1] : 15), f[1]);
			if (sw_severity_parse(sev, &x->sev) < 0)
				return sw_error_set(err, SW_EFORMAT,
						    "%s:%zu: severity must be info, low, medium, high or critical",
						    source, line);
		}
		{
			char name[32];
			const sw_category *c;
			snprintf(name, sizeof(name), "%.*s", (int)(fl[2] < 31 ? fl[2] : 31), f[2]);
			if (fl[2] > 31 || !(c = sw_category_find(name)) || !c->rules)
				return sw_error_set(err, SW_EFORMAT, "%s:%zu: unknown category \"%.*s\"",
						    source, line, (int)(fl[2] > 40 ? 40 : fl[2]), f[2]);
			x->category = c->name;
		}
		if (!(x->name = pool_add(s, sw__strndup(f[3], fl[3] > 200 ? 200 : fl[3]))))
			return sw_error_set(err, SW_ENOMEM, "out of memory");
		x->source = source;
		s->n++;
	}
	return 0;
}

static int cmp_ioc(const void *a, const void *b)
{
	return memcmp(((const ioc *)a)->h, ((const ioc *)b)->h, SW_SHA256_LEN);
}

static void ioc_release(void *state)
{
	iocs *s = state;
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->npool; i++)
		free(s->pool[i]);
	free(s->pool);
	free(s->v);
	free(s->sizes);
	free(s);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool ioc_wants(void *state, uint64_t size)
{
	const iocs *s = state;

	return s->unsized || (s->nsizes && bsearch(&size, s->sizes, s->nsizes, sizeof(*s->sizes), cmp_u64));
}

static int ioc_init(void **state, const sw_scan_opts *o, sw_buf *ruleset, sw_error *err)
{
	iocs *s = calloc(1, sizeof(*s));
	size_t i;
	int rc = 0;

	*state = NULL;
	if (!s)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	if (!o->no_bundled_ioc) {
		/* the ruleset's digest keys the layer cache: never a partial one */
		if (sw_buf_printf(ruleset, "ioc:bundled\n%s", sw_bundled_ioc) < 0) {
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
			goto out;
		}
		if ((rc = parse_list(s, sw_bundled_ioc, strlen(sw_bundled_ioc), "bundled IOC list", err)) < 0)
			goto out;
	}
	for (i = 0; i < o->n_ioc_files; i++) {
		const char *path = o->ioc_files[i];
		sw_buf b = SW_BUF_INIT(MAX_IOC_FILE);
		const char *src;

		if ((rc = sw_file_read(path, &b)) < 0) {
			sw_buf_release(&b);
			rc = sw_error_set(err, rc, "--ioc %s: %s", path, rc == SW_ELIMIT ?
					  "larger than 64 MiB" : "cannot open");
			goto out;
		}
		src = pool_add(s, sw__strdup(path));
		if (!src || sw_buf_printf(ruleset, "ioc:%zu\n", b.len) < 0 || sw_buf_append(ruleset, b.data, b.len) < 0)
			rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		else
			rc = parse_list(s, b.data ? b.data : "", b.len, src, err);
		sw_buf_release(&b);
		if (rc < 0)
			goto out;
	}
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), cmp_ioc);
	if (s->nsizes > 1) {
		size_t j, k = 1;
		qsort(s->sizes, s->nsizes, sizeof(*s->sizes), cmp_u64);
		for (j = 1; j < s->nsizes; j++)
			if (s->sizes[j] != s->sizes[k - 1])
				s->sizes[k++] = s->sizes[j];
		s->nsizes = k;
	}
	*state = s;
	return 0;
out:
	ioc_release(s);
	return rc;
}

static int ioc_file(void *state, void *wstate, const sw_file *f, const uint8_t *data,
		    size_t len, sw_emit *out)
{
	iocs *s = state;
	ioc key;
	const ioc *hit;
	char hex[2 * SW_SHA256_LEN + 1], title[256];
	sw_buf ev = SW_BUF_INIT(4096);
	sw_jw w = SW_JW_INIT(&ev);
	int rc;

	(void)wstate, (void)data, (void)len;
	if (!f->sha256 || !s->n)
		return 0;
	memcpy(key.h, f->sha256, SW_SHA256_LEN);
	if (!(hit = bsearch(&key, s->v, s->n, sizeof(*s->v), cmp_ioc)))
		return 0;
	sw_hex(f->sha256, SW_SHA256_LEN, hex);
	snprintf(title, sizeof(title), "Known-bad file hash: %s", hit->name);
	sw_jw_obj(&w);
	sw_jw_kstr(&w, "sha256", hex);
	sw_jw_kstr(&w, "ioc", hit->name);
	sw_jw_kstr(&w, "list", hit->source);
	sw_jw_end(&w);
	rc = sw_buf_err(&ev) ? sw_buf_err(&ev) :
	     sw_emit_finding(out, "SW-IOC-SHA256", hit->sev, hit->category, title, sw_buf_cstr(&ev));
	sw_buf_release(&ev);
	return rc;
}

const sw_detector sw_detector_ioc = {
	.name = "ioc",
	.flags = 0,
	.init = ioc_init,
	.release = ioc_release,
	.file = ioc_file,
	.wants_sha256 = ioc_wants,
};
