/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stowaway report FILE...: the HTML page of reports saved as JSON. A file
 * holds one report, or one per line (scan's JSON of several images); each
 * becomes a page the library makes from the JSON alone
 * (sw_report_render_html), the page --format html would have written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stowaway/stowaway.h"
#include "cli.h"

#define MAX_INPUT ((size_t)1 << 30) /* as the largest report a scan writes */

typedef struct doc {
	const char *p;
	size_t n;
	const char *file;
	size_t line;        /* 0: the whole file */
} doc;

/* The whole of path ("-": standard input), at most MAX_INPUT bytes. */
static int read_all(const char *path, char **out, size_t *n)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t cap = 1 << 16, got;
	char *buf = NULL, *nb;

	*out = NULL;
	*n = 0;
	if (!f) {
		cli_error("%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (!(nb = realloc(buf, cap + 1))) {
			cli_error("%s: out of memory", path);
			goto fail;
		}
		buf = nb;
		got = fread(buf + *n, 1, cap - *n, f);
		*n += got;
		if (*n < cap)
			break;
		if (cap >= MAX_INPUT) {
			cli_error("%s: larger than %zu MiB, more than any report", path, MAX_INPUT >> 20);
			goto fail;
		}
		cap *= 2;
	}
	if (ferror(f)) {
		cli_error("%s: read failed", path);
		goto fail;
	}
	if (f != stdin)
		fclose(f);
	buf[*n] = '\0';
	*out = buf;
	return 0;
fail:
	if (f != stdin)
		fclose(f);
	free(buf);
	return -1;
}

/* One report per line (each a JSON object on its own line, as scan writes
 * several), else the whole file as one (pretty-printed JSON too). */
static bool json_lines(const char *p, size_t n)
{
	size_t i = 0, lines = 0;

	while (i < n) {
		size_t e = i, s, t;
		while (e < n && p[e] != '\n')
			e++;
		for (s = i; s < e && (p[s] == ' ' || p[s] == '\t' || p[s] == '\r'); s++)
			;
		for (t = e; t > s && (p[t - 1] == ' ' || p[t - 1] == '\t' || p[t - 1] == '\r'); t--)
			;
		if (t > s) {
			if (p[s] != '{' || p[t - 1] != '}')
				return false;
			lines++;
		}
		i = e + 1;
	}
	return lines > 1;
}

static int add_doc(doc **v, size_t *nv, const char *p, size_t n, const char *file, size_t line)
{
	doc *nd = realloc(*v, (*nv + 1) * sizeof(*nd));

	if (!nd) {
		cli_error("out of memory");
		return -1;
	}
	*v = nd;
	nd[*nv] = (doc){ p, n, file, line };
	(*nv)++;
	return 0;
}

static int split(const char *p, size_t n, const char *file, doc **v, size_t *nv)
{
	size_t i = 0, line = 1;

	if (!json_lines(p, n))
		return add_doc(v, nv, p, n, file, 0);
	while (i < n) {
		size_t e = i;
		while (e < n && p[e] != '\n')
			e++;
		if (strspn(p + i, " \t\r") < e - i && add_doc(v, nv, p + i, e - i, file, line) < 0)
			return -1;
		i = e + 1;
		line++;
	}
	return 0;
}

/* A page's name: the file's base name, and its line when it holds several. */
static void doc_name(const doc *d, char *out, size_t size)
{
	const char *base = strrchr(d->file, '/') ? strrchr(d->file, '/') + 1 : d->file;

	if (d->line)
		snprintf(out, size, "%s-%zu", strcmp(d->file, "-") ? base : "stdin", d->line);
	else
		snprintf(out, size, "%s", strcmp(d->file, "-") ? base : "stdin");
}

static int render(const cli_args *a, const doc *d, FILE *out, size_t i, size_t n)
{
	sw_error err = SW_ERROR_INIT;
	char name[512], path[4200];
	FILE *f;
	int rc;

	doc_name(d, name, sizeof(name));
	if (!(f = n <= 1 ? out : cli_page_open(a, i, n, name, path, sizeof(path))))
		return EXIT_ERROR;
	rc = sw_report_render_html(d->p, d->n, f, &err) < 0 ? EXIT_ERROR : EXIT_CLEAN;
	if (rc != EXIT_CLEAN && d->line)
		cli_error("%s:%zu: %s", d->file, d->line, err.msg);
	else if (rc != EXIT_CLEAN)
		cli_error("%s: %s", d->file, err.msg);
	return n <= 1 ? rc : cli_page_close(a, f, n, path, rc);
}

int cmd_report(int argc, char **argv)
{
	cli_args a;
	char **bufs = NULL;
	doc *docs = NULL;
	size_t ndocs = 0, nb = 0, i;
	FILE *out = NULL;
	int c, rc = EXIT_ERROR, worst = EXIT_CLEAN;

	if (cli_args_init(&a, "report") < 0)
		goto out;
	while ((c = cli_next(&a, argc, argv)) > 0)
		;
	if (c < 0) {
		rc = a.status;
		goto out;
	}
	if (!a.nops) {
		cli_error("report: no report given (try 'stowaway report --help')");
		goto out;
	}
	if (!(bufs = calloc((size_t)a.nops, sizeof(*bufs)))) {
		cli_error("out of memory");
		goto out;
	}
	for (i = 0; i < (size_t)a.nops; i++, nb++) {
		size_t n;
		if (read_all(a.ops[i], &bufs[i], &n) < 0 || split(bufs[i], n, a.ops[i], &docs, &ndocs) < 0)
			goto out;
	}
	if (cli_pages_check(&a, ndocs) < 0 || (ndocs <= 1 && !(out = cli_open(&a))))
		goto out;
	for (i = 0; i < ndocs; i++)
		if (render(&a, &docs[i], out, i, ndocs) != EXIT_CLEAN)
			worst = EXIT_ERROR;
	rc = cli_close(&a, out, worst);
	out = NULL;
out:
	if (out && out != stdout)
		fclose(out);
	for (i = 0; i < nb; i++)
		free(bufs[i]);
	free(bufs);
	free(docs);
	cli_args_release(&a);
	return rc;
}
