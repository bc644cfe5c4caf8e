/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stowaway: the command-line front end. Each verb is a thin cmd_<verb>.c
 * over the public library API. Exit codes follow ClamAV: 0 nothing at or
 * above --fail-on, 1 findings at or above it, 2 an error.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stowaway/stowaway.h"
#include "cli.h"

/* Format one line and print it escaped whole (sw_term_fputs), then the
 * newline: any part of a message may quote an image (a tar name, the User,
 * a reference, a registry's answer), and which part is decided far from
 * here, so the whole of it is escaped at the one place it is printed. */
static void vline(FILE *f, const char *prefix, const char *fmt, va_list ap)
{
	char small[1024], *big = NULL;
	const char *s = small;
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n >= (int)sizeof(small) && (big = malloc((size_t)n + 1)) &&
	    vsnprintf(big, (size_t)n + 1, fmt, again) == n)
		s = big; /* else the first 1023 bytes will do */
	va_end(again);
	fputs(prefix, f);
	if (n >= 0)
		sw_term_fputs(s, f);
	fputc('\n', f);
	free(big);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(stderr, "stowaway: ", fmt, ap);
	va_end(ap);
}

void cli_line(FILE *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(f, "", fmt, ap);
	va_end(ap);
}

int cli_bad(const char *opt, const char *val)
{
	cli_error("%s: invalid value \"%s\"", opt, val);
	return EXIT_ERROR;
}

int cli_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

int cli_parse_size(const char *s, uint64_t *out)
{
	return sw_parse_size(s, out);
}

int cli_push(const char ***v, size_t *n, const char *s)
{
	const char **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return -1;
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

int cli_registry_opt(cli_registry *r, int c, const char *arg)
{
	double v;

	switch (c) {
	case CLI_O_INSECURE:
		if (r->insecure_set) { /* the flag replaces the setting's list */
			r->ninsecure = 0;
			r->insecure_set = false;
		}
		if (cli_push(&r->insecure, &r->ninsecure, arg) < 0)
			return -1;
		r->o.insecure = r->insecure;
		r->o.n_insecure = r->ninsecure;
		return 1;
	case CLI_O_MIRROR:
		if (r->mirrors_set) {
			r->nmirrors = 0;
			r->mirrors_set = false;
		}
		if (cli_push(&r->mirrors, &r->nmirrors, arg) < 0)
			return -1;
		r->o.mirrors = r->mirrors;
		r->o.n_mirrors = r->nmirrors;
		return 1;
	case CLI_O_CA:
		r->o.ca_file = arg;
		return 1;
	case CLI_O_CREDS:
		if (!strchr(arg, ':')) {
			cli_error("--creds: expected USER:PASSWORD");
			return -1;
		}
		r->o.creds = arg;
		return 1;
	case CLI_O_REGTIMEOUT:
		if (cli_duration_opt("--registry-timeout", arg, 3600, &v) < 0)
			return -1;
		r->o.stall_timeout = v;
		r->o.connect_timeout = v < 15 ? v : 15;
		return 1;
	default:
		return 0;
	}
}

int cli_bundle_format(const char *value, bool *legacy)
{
	if (strcmp(value, "new") != 0 && strcmp(value, "legacy") != 0) {
		cli_error("--bundle-format: \"%s\" is not new or legacy", value);
		return -1;
	}
	*legacy = strcmp(value, "legacy") == 0;
	return 0;
}

const char *cli_sig_home(const char *arg, sw_source_kind kind, char *buf, size_t n)
{
	if (kind == SW_SRC_REGISTRY)
		snprintf(buf, n, "%s", strncmp(arg, "docker://", 9) == 0 ? arg + 9 : arg);
	else if (kind == SW_SRC_OCI) /* a layout named by its bare path is still oci: to the signature store */
		snprintf(buf, n, "%s%s", strncmp(arg, "oci:", 4) != 0 ? "oci:" : "", arg);
	else
		return NULL;
	return buf;
}

int cli_note_attachments(sw_report *rep, const char *arg, sw_source_kind kind, const sw_image_opts *io)
{
	sw_error err = SW_ERROR_INIT;
	char where[4200];
	int s = 0, t = 0, rc;

	if (!cli_sig_home(arg, kind, where, sizeof(where)))
		rc = sw_report_set_attachments(rep, 0, 0, NULL, "an archive or a directory keeps no signatures");
	else if (sw_attachments_count(where, io, &s, &t, &err) < 0)
		rc = sw_report_set_attachments(rep, 0, 0, kind == SW_SRC_REGISTRY ? "registry" : "layout", err.msg);
	else
		rc = sw_report_set_attachments(rep, s, t, kind == SW_SRC_REGISTRY ? "registry" : "layout", NULL);
	if (rc < 0)
		cli_error("%s: out of memory", arg);
	return rc;
}

void cli_registry_free(cli_registry *r)
{
	free(r->insecure);
	free(r->mirrors);
}

/* The list of commands, from the table. */
static void usage(FILE *f)
{
	size_t i;

	fputs("usage: stowaway <command> [options] [operands]\n\ncommands:\n", f);
	for (i = 0; i < cli_ncmds; i++)
		fprintf(f, "  %-20s %s\n", cli_cmds[i].name, cli_cmds[i].summary);
	fputs("\n"
	      "IMAGE: oci:DIR[:TAG]  oci-archive:FILE[:TAG]  docker-archive:FILE[:REF|:@N]\n"
	      "       dir:ROOTFS     a registry reference, or a bare path (sniffed)\n"
	      "Every command takes -h/--help; options may come before or after operands.\n"
	      "Run 'stowaway COMMAND --help' or see stowaway-COMMAND(1).\n", f);
}

static int cmd_version(int argc, char **argv)
{
	cli_args a;
	bool verbose = false;
	int c;

	if (cli_args_init(&a, "version") < 0)
		return EXIT_ERROR;
	while ((c = cli_next(&a, argc, argv)) > 0)
		if (c == CLI_O_VERBOSE)
			verbose = true;
	if (c == 0 && a.nops) {
		cli_error("version: takes no operands");
		c = -1;
		a.status = EXIT_ERROR;
	}
	cli_args_release(&a);
	if (c < 0)
		return a.status;
	printf("stowaway %s\nYARA prefilter: %s\n", sw_version(), sw_rules_prefilter());
	if (verbose)
		cli_settings_print(stdout);
	return EXIT_CLEAN;
}

static int cmd_help(int argc, char **argv)
{
	cli_args a;
	const cli_cmd *c = NULL;
	int r;

	if (cli_args_init(&a, "help") < 0)
		return EXIT_ERROR;
	while ((r = cli_next(&a, argc, argv)) > 0)
		;
	if (r == 0 && a.nops > 1)
		cli_error("help: one command at most");
	else if (r == 0 && a.nops == 1 && !(c = cli_cmd_find(a.ops[0])))
		cli_error("%s: unknown command (try 'stowaway help')", a.ops[0]);
	else if (r == 0)
		c ? cli_usage(c, stdout) : usage(stdout);
	cli_args_release(&a);
	return r < 0 ? a.status : r == 0 && (a.nops > 1 || (a.nops == 1 && !c)) ? EXIT_ERROR : EXIT_CLEAN;
}

/* The commands of the table and what runs each. */
static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "scan", cmd_scan }, { "detonate", cmd_detonate }, { "check", cmd_check }, { "name", cmd_name },
	{ "policy", cmd_policy }, { "rules", cmd_rules }, { "pull", cmd_pull }, { "unpack", cmd_unpack },
	{ "cache", cmd_cache }, { "verify", cmd_verify }, { "verify-blob", cmd_verify_blob },
	{ "verify-attestation", cmd_verify_attestation },
	{ "sign", cmd_sign }, { "keygen", cmd_keygen }, { "serve", cmd_serve }, { "watch", cmd_watch }, { "report", cmd_report },
	{ "version", cmd_version },
	{ "help", cmd_help },
};

int main(int argc, char **argv)
{
	const char *name = argc >= 2 ? argv[1] : NULL;
	size_t i;
	int rc;

	if (argc < 2) {
		usage(stderr);
		return EXIT_ERROR;
	}
	if (strcmp(name, "--version") == 0)
		name = "version";
	else if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
		name = "help";
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(name, commands[i].name) == 0 && cli_cmd_find(name))
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		cli_error("%s: unknown command (try 'stowaway help')", argv[1]);
		return EXIT_ERROR;
	}
	if (strcmp(name, "help") != 0 && cli_settings_load() < 0) {
		cli_settings_free();
		return EXIT_ERROR;
	}
	rc = commands[i].run(argc - 1, argv + 1);
	cli_settings_free();
	return rc;
}
