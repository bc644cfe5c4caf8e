/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One option parser for every command, over the command's entry in the
 * table (cmdtab.c): the getopt_long tables are built from it, so what is
 * parsed is what --help, the man page and the completions list. The
 * options every command shares are handled here once: -h/--help, -f/--format
 * (any case, checked against the command's formats), -o/--output, --fail-on
 * (a severity in any case, or none) and the registry's. Options may come
 * before or after the operands (getopt's permutation); a command whose
 * operands after "--" are a command line (detonate) has getopt return the
 * operands in order instead, so that "--" still marks where they begin.
 * Durations (90, 90s, 5m) and severities are read by one function each.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stowaway/stowaway.h"
#include "cli.h"

#define HELP_COL 30 /* where an option's help starts */

static size_t count_opts(const cli_opt *o)
{
	size_t n = 0;

	for (; !CLI_OPT_END(o); o++)
		n += o->name != NULL;
	return n;
}

int cli_args_init(cli_args *a, const char *name)
{
	const cli_opt *o;
	size_t n = 0, s;

	memset(a, 0, sizeof(*a));
	a->fail_on = SW_SEV_HIGH;
	if (!(a->cmd = cli_cmd_find(name))) {
		cli_error("%s: not in the command table", name);
		return -1;
	}
	if (a->cmd->fail_on && cli_parse_severity(strcmp(a->cmd->fail_on, "any") ? a->cmd->fail_on : "info",
						  false, &a->fail_on) < 0)
		a->fail_on = SW_SEV_HIGH;
	if (!(a->lo = calloc(count_opts(a->cmd->opts) + 1, sizeof(*a->lo)))) {
		cli_error("out of memory");
		return -1;
	}
	/* "-": operands returned in order (PASSTHRU); ":": missing values
	 * reported by us, as every other error is */
	s = (size_t)snprintf(a->so, sizeof(a->so), "%s:", a->cmd->flags & CLI_CMD_PASSTHRU ? "-" : "");
	for (o = a->cmd->opts; !CLI_OPT_END(o); o++) {
		if (!o->name)
			continue;
		a->lo[n++] = (struct option){ o->name, o->arg ? required_argument : no_argument, NULL, o->id };
		if (o->shrt && s + 3 < sizeof(a->so)) {
			a->so[s++] = o->shrt;
			if (o->arg)
				a->so[s++] = ':';
			a->so[s] = '\0';
		}
	}
	optind = 0; /* glibc: start afresh */
	opterr = 0;
	return 0;
}

void cli_args_release(cli_args *a)
{
	free(a->lo);
	free(a->collected);
	a->lo = NULL;
	a->collected = NULL;
}

/* The id of the short option ch in a's command (0: none). */
static int short_id(const cli_args *a, int ch)
{
	const cli_opt *o;

	for (o = a->cmd->opts; !CLI_OPT_END(o); o++)
		if (o->name && o->shrt == ch)
			return o->id;
	return 0;
}

static int stop(cli_args *a, int status)
{
	a->status = status;
	return -1;
}

/* A bad --format/--fail-on value, said the way the tests and users know. */
static int bad_value(cli_args *a, const char *opt, const char *val)
{
	cli_bad(opt, val);
	return stop(a, EXIT_ERROR);
}

/* The option just parsed, as the user wrote it (for messages). */
static const char *as_written(char **argv, int ch)
{
	static char shrt[3] = "-?";

	if (ch > 0 && ch < 256 && ch != '?' && ch != ':') {
		shrt[1] = (char)ch;
		return shrt;
	}
	return argv[optind - 1];
}

bool cli_word_in(const char *list, const char *w)
{
	size_t n = strlen(w);
	const char *p;

	for (p = list; n && p && (p = strstr(p, w)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static int shared_option(cli_args *a, int c)
{
	char buf[16];
	size_t i;

	switch (c) {
	case CLI_O_HELP:
		cli_usage(a->cmd, stdout);
		return stop(a, EXIT_CLEAN);
	case CLI_O_FORMAT:
		for (i = 0; optarg[i] && i + 1 < sizeof(buf); i++)
			buf[i] = (char)tolower((unsigned char)optarg[i]);
		buf[i] = '\0';
		if (optarg[i] || !cli_word_in(a->cmd->formats, buf))
			return bad_value(a, "--format", optarg);
		a->format = strcmp(buf, "table") == 0 ? "table" : strcmp(buf, "json") == 0 ? "json" :
			    strcmp(buf, "html") == 0 ? "html" : "sarif";
		return 0;
	case CLI_O_OUTPUT:
		a->output = optarg;
		return 0;
	case CLI_O_FAILON:
		if (cli_parse_severity(optarg, true, &a->fail_on) < 0)
			return bad_value(a, "--fail-on", optarg);
		return 0;
	default:
		return 1;
	}
}

int cli_next(cli_args *a, int argc, char **argv)
{
	int c, r;

	for (;;) {
		c = getopt_long(argc, argv, a->so, a->lo, NULL);
		if (c == -1)
			break;
		if (c == 1) { /* an operand, in order (PASSTHRU) */
			char **v = realloc(a->collected, (size_t)(a->nops + 1) * sizeof(*v));
			if (!v) {
				cli_error("out of memory");
				return stop(a, EXIT_ERROR);
			}
			a->collected = v;
			v[a->nops++] = optarg;
			continue;
		}
		if (c == '?') {
			cli_error("%s: unknown option \"%s\" (try 'stowaway %s --help')", a->cmd->name,
				  optopt && optopt < 256 ? as_written(argv, optopt) : argv[optind - 1], a->cmd->name);
			return stop(a, EXIT_ERROR);
		}
		if (c == ':') {
			cli_error("%s: %s needs a value (try 'stowaway %s --help')", a->cmd->name,
				  optopt && optopt < 256 ? as_written(argv, optopt) : argv[optind - 1], a->cmd->name);
			return stop(a, EXIT_ERROR);
		}
		if (c < 256)
			c = short_id(a, c);
		if ((r = shared_option(a, c)) < 0)
			return -1;
		if (r == 0)
			continue;
		if (a->reg && (r = cli_registry_opt(a->reg, c, optarg)) != 0) {
			if (r < 0)
				return stop(a, EXIT_ERROR);
			continue;
		}
		return c;
	}
	if (a->cmd->flags & CLI_CMD_PASSTHRU) {
		a->ops = a->collected;
		a->pass = argv + optind;
		a->npass = argc - optind;
	} else {
		a->ops = argv + optind;
		a->nops = argc - optind;
	}
	return 0;
}

sw_format cli_format(const cli_args *a)
{
	const char *f = a->format;

	if (!f && a->cmd->formats && !strcmp(a->cmd->formats, CLI_V_FORMATS_HTML))
		f = "html"; /* a command that makes pages only */
	if (!f)
		f = (a->cmd->flags & CLI_CMD_AUTOFMT) && (a->output || !isatty(STDOUT_FILENO)) ? "json" : "table";
	return strcmp(f, "sarif") == 0 ? SW_FMT_SARIF : strcmp(f, "json") == 0 ? SW_FMT_JSON :
	       strcmp(f, "html") == 0 ? SW_FMT_HTML : SW_FMT_TABLE;
}

bool cli_color(const cli_args *a)
{
	const char *no = getenv("NO_COLOR"), *force = getenv("CLICOLOR_FORCE");

	if (no && *no)
		return false;
	if (force && *force && strcmp(force, "0") != 0)
		return true;
	return !a->output && isatty(STDOUT_FILENO);
}

FILE *cli_open(const cli_args *a)
{
	FILE *f;

	if (!a->output)
		return stdout;
	if (!(f = fopen(a->output, "w")))
		cli_error("--output %s: cannot open for writing: %s", a->output, strerror(errno));
	return f;
}

int cli_close(const cli_args *a, FILE *f, int rc)
{
	if (!f)
		return rc;
	if (f == stdout) {
		if (fflush(stdout) != 0) {
			cli_error("standard output: write failed");
			return EXIT_ERROR;
		}
		return rc;
	}
	if (fclose(f) != 0) {
		cli_error("--output %s: write failed", a->output);
		return EXIT_ERROR;
	}
	return rc;
}

/* ---- HTML pages ---- */

int cli_pages_check(const cli_args *a, size_t n)
{
	struct stat st;

	if (n <= 1)
		return 0;
	if (!a->output) {
		cli_error("--format html: %zu images make %zu pages: give --output DIR", n, n);
		return -1;
	}
	if (mkdir(a->output, 0777) < 0 && errno != EEXIST) {
		cli_error("--output %s: cannot make the directory: %s", a->output, strerror(errno));
		return -1;
	}
	if (stat(a->output, &st) < 0 || !S_ISDIR(st.st_mode)) {
		cli_error("--output %s: several pages go into a directory, and this is not one", a->output);
		return -1;
	}
	return 0;
}

/* name, reduced to what a file name may safely hold: letters, digits,
 * '.', '_' and '-' (the rest one '-'), at most 80 bytes, never empty,
 * never starting with '.' */
static void page_slug(const char *name, char *out, size_t size)
{
	size_t o = 0;
	const char *p;

	for (p = name ? name : ""; *p && o + 1 < size && o < 80; p++) {
		char c = *p;
		bool keep = isalnum((unsigned char)c) || c == '_' || c == '-' || (c == '.' && o > 0);
		if (!keep && (o == 0 || out[o - 1] == '-'))
			continue;
		out[o++] = keep ? (char)tolower((unsigned char)c) : '-';
	}
	while (o > 0 && out[o - 1] == '-')
		o--;
	if (o == 0)
		o = (size_t)snprintf(out, size, "image");
	out[o] = '\0';
}

FILE *cli_page_open(const cli_args *a, size_t i, size_t n, const char *name, char *path, size_t size)
{
	char slug[96];
	int fd, width = n >= 100 ? 3 : 2;
	FILE *f;

	if (n <= 1) {
		snprintf(path, size, "%s", a->output ? a->output : "standard output");
		return cli_open(a);
	}
	page_slug(name, slug, sizeof(slug));
	snprintf(path, size, "%s/%0*zu-%s.html", a->output, width, i + 1, slug);
	/* O_NOFOLLOW: a link planted in the directory is not written through */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666)) < 0 ||
	    !(f = fdopen(fd, "w"))) {
		cli_error("%s: cannot open for writing: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return f;
}

int cli_page_close(const cli_args *a, FILE *f, size_t n, const char *path, int rc)
{
	if (n <= 1)
		return cli_close(a, f, rc);
	if (f && fclose(f) != 0) {
		cli_error("%s: write failed", path);
		return EXIT_ERROR;
	}
	return rc;
}

int cli_write_page(const cli_args *a, const sw_report *rep, FILE *out, size_t i, size_t n, const char *name)
{
	sw_error err = SW_ERROR_INIT;
	char path[4200];
	FILE *f = n <= 1 ? out : cli_page_open(a, i, n, name, path, sizeof(path));
	int rc;

	if (!f)
		return EXIT_ERROR;
	if (n <= 1)
		snprintf(path, sizeof(path), "%s", a->output ? a->output : "standard output");
	rc = sw_report_write(rep, SW_FMT_HTML, false, f, &err) < 0 ? EXIT_ERROR : 0;
	if (rc)
		cli_error("%s: %s", name, err.msg);
	return n <= 1 ? rc : cli_page_close(a, f, n, path, rc);
}

sw_json_out *cli_json_begin(const char *schema, const char *key)
{
	sw_json_out *jo = sw_json_out_new();

	sw_json_out_obj(jo);
	sw_json_out_key(jo, "schema");
	sw_json_out_str(jo, schema);
	sw_json_out_key(jo, key);
	sw_json_out_arr(jo);
	return jo;
}

int cli_json_finish(sw_json_out *jo, FILE *f, int rc)
{
	sw_error err = SW_ERROR_INIT;

	if (sw_json_out_finish(jo, f, &err) < 0) {
		cli_error("%s", err.msg);
		return EXIT_ERROR;
	}
	return rc;
}

int cli_json_end(sw_json_out *jo, FILE *f, int rc)
{
	sw_json_out_end(jo);
	sw_json_out_end(jo);
	return cli_json_finish(jo, f, rc);
}

int cli_judged(const cli_args *a, bool bad)
{
	return bad && a->fail_on != CLI_FAIL_NONE ? EXIT_FINDINGS : EXIT_CLEAN;
}

bool cli_fails(const cli_args *a, sw_severity worst)
{
	return a->fail_on != CLI_FAIL_NONE && (int)worst >= a->fail_on;
}

int cli_parse_severity(const char *s, bool none, int *out)
{
	char low[16];
	size_t i;
	sw_severity sev;

	for (i = 0; s[i] && i + 1 < sizeof(low); i++)
		low[i] = (char)tolower((unsigned char)s[i]);
	low[i] = '\0';
	if (s[i])
		return -1;
	if (none && strcmp(low, "none") == 0) {
		*out = CLI_FAIL_NONE;
		return 0;
	}
	if (sw_severity_parse(low, &sev) < 0)
		return -1;
	*out = (int)sev;
	return 0;
}

int cli_parse_duration(const char *s, double unit, double max, double *out)
{
	return sw_parse_duration(s, unit, max, out);
}

unsigned cli_whole_seconds(double t)
{
	unsigned s = (unsigned)t;

	return s + ((double)s < t);
}

int cli_duration_opt(const char *opt, const char *s, double max, double *out)
{
	if (cli_parse_duration(s, 1, max, out) == 0)
		return 0;
	cli_error("%s: \"%s\" is not a duration (90, 90s, 5m, 1h; up to %.0f s)", opt, s, max);
	return -1;
}

/* ---- --help, from the table ---- */

/* text, each line after the first indented by col */
static void put_lines(FILE *f, const char *text, int col)
{
	const char *p = text, *nl;

	for (; (nl = strchr(p, '\n')); p = nl + 1)
		fprintf(f, "%.*s\n%*s", (int)(nl - p), p, col, "");
	fprintf(f, "%s\n", p);
}

static void put_option(FILE *f, const cli_opt *o)
{
	char head[96];
	int n;

	if (o->shrt)
		n = snprintf(head, sizeof(head), "  -%c, --%s%s%s", o->shrt, o->name, o->arg ? " " : "",
			     o->arg ? o->arg : "");
	else
		n = snprintf(head, sizeof(head), "      --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
	if (n + 2 > HELP_COL)
		fprintf(f, "%s\n%*s", head, HELP_COL, "");
	else
		fprintf(f, "%-*s", HELP_COL, head);
	put_lines(f, o->help, HELP_COL);
}

void cli_usage(const cli_cmd *c, FILE *f)
{
	const char *p = c->synopsis, *nl;
	const cli_opt *o;
	bool first = true, any = false;
	size_t i;

	for (; p; p = nl ? nl + 1 : NULL, first = false) {
		nl = strchr(p, '\n');
		fprintf(f, "%s stowaway %.*s\n", first ? "usage:" : "      ", nl ? (int)(nl - p) : (int)strlen(p), p);
	}
	fprintf(f, "\n%s\n\n", c->description);
	for (o = c->opts; !CLI_OPT_END(o); o++) {
		if (!o->name)
			fprintf(f, "%s\n", o->help);
		else
			put_option(f, o);
	}
	fprintf(f, "\nexit status: ");
	put_lines(f, c->exit_status, 13);
	for (i = 0; i < CLI_S_COUNT; i++)
		if (c->flags & cli_settings[i].cmds) {
			if (!any)
				fprintf(f, "\nsettings (a flag wins over the environment, which wins over the config\n"
					"file %s; 'stowaway version --verbose' shows them):\n", cli_config_doc);
			fprintf(f, "  %-28s%s: %s\n", cli_settings[i].env, cli_settings[i].key, cli_settings[i].help);
			any = true;
		}
}
