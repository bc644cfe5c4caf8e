/* SPDX-License-Identifier: Apache-2.0 */
#ifndef SW_CLI_H
#define SW_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <getopt.h>

/* Print "stowaway: <what>: <why>" to stderr, the formatted message escaped
 * whole for the terminal (stowaway/term.h): it may quote an image. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print one line to f the same way: fmt formatted (without a newline),
 * escaped whole, then '\n'. Every line that shows a reference, a path, a
 * reason or anything else from outside goes through here or cli_error. */
void cli_line(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "OPT: invalid value \"VAL\"" on stderr; returns EXIT_ERROR. */
int cli_bad(const char *opt, const char *val);
/* "64M", "1GiB", "4096" -> bytes. -1 on error. */
int cli_parse_size(const char *s, uint64_t *out);
int cli_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* Append a borrowed string to a growing array. -1 on OOM. */
int cli_push(const char ***v, size_t *n, const char *s);

#include "stowaway/image.h"
#include "stowaway/report.h"
#include "stowaway/json.h"
#include "cmdtab.h"

/* The registry options (CLI_O_INSECURE ... CLI_O_REGTIMEOUT), over the
 * settings: cli_registry_init takes insecure-registry, mirror and
 * registry-timeout from them; a flag replaces what they gave. */
typedef struct cli_registry {
	sw_registry_opts o;
	const char **insecure, **mirrors;
	size_t ninsecure, nmirrors;
	bool insecure_set, mirrors_set; /* the lists hold the settings' values */
} cli_registry;

/* 1: option handled; 0: not a registry option; -1: bad value (reported). */
int cli_registry_opt(cli_registry *r, int c, const char *arg);
void cli_registry_free(cli_registry *r);
/* Zero r, fill it from the settings and point io's registry options at it. */
void cli_registry_init(cli_registry *r, sw_image_opts *io);

/* Where an image keeps its signatures, as the signing functions name it
 * (into buf): its registry reference, or oci:DIR[:TAG] for a layout also
 * when named by its bare path; NULL for an archive or a directory. */
const char *cli_sig_home(const char *arg, sw_source_kind kind, char *buf, size_t n);
/* --bundle-format's value: *legacy set; -1 when it is neither new nor
 * legacy (said). */
int cli_bundle_format(const char *value, bool *legacy);
/* For a page: the signatures and attestations next to the image, counted
 * into the report (a failed lookup is recorded, not an error). -1 on OOM
 * (said). */
int cli_note_attachments(sw_report *rep, const char *arg, sw_source_kind kind, const sw_image_opts *io);

/* ---- one parser for every command (opts.c), over its cmdtab.c entry ---- */
#define CLI_FAIL_NONE (-1)

typedef struct cli_args {
	const cli_cmd *cmd;
	cli_registry *reg;       /* set before parsing to take the registry options */
	const char *format;      /* "table", "json", "sarif", "html"; NULL: the command's default */
	const char *output;      /* --output FILE, or NULL */
	int fail_on;             /* a sw_severity, or CLI_FAIL_NONE */
	char **ops;              /* the operands, once cli_next returned 0 */
	int nops;
	char **pass;             /* PASSTHRU: what followed "--" */
	int npass;
	int status;              /* the exit code, once cli_next returned -1 */
	struct option *lo;       /* private */
	char so[96];
	char **collected;
} cli_args;

/* Build the getopt tables of the command called name; -1 (said) on error.
 * Release with cli_args_release. */
int cli_args_init(cli_args *a, const char *name);
void cli_args_release(cli_args *a);
/* The next option the command handles itself (a CLI_O_* id, its value in
 * optarg), after handling the shared ones: -h/--help (usage on stdout,
 * status 0), --format, --output, --fail-on, the registry's when a->reg is
 * set. 0 at the end (operands in a->ops); -1 to stop with a->status (help
 * printed, or an error said in one line). */
int cli_next(cli_args *a, int argc, char **argv);
/* The format asked for, else the command's default (CLI_CMD_AUTOFMT: table
 * on a terminal without --output, else json; otherwise table). */
sw_format cli_format(const cli_args *a);
/* Colours for a table: NO_COLOR (not empty) never, CLICOLOR_FORCE (not
 * empty, not 0) always, else when writing to a terminal. */
bool cli_color(const cli_args *a);
/* --output opened for writing, else stdout; NULL when it cannot be (said). */
FILE *cli_open(const cli_args *a);
/* Close what cli_open gave (flush stdout); rc, or EXIT_ERROR when writing
 * failed (said). */
int cli_close(const cli_args *a, FILE *f, int rc);
/* --format html, a page per image. Several pages (n > 1) need --output
 * DIR (made when missing): -1 (said) otherwise. */
int cli_pages_check(const cli_args *a, size_t n);
/* The page of image i of n, named after name (its reference or input):
 * one page goes where cli_open says; several to DIR/NN-NAME.html (NAME
 * reduced to a safe file name, never through a link). Its path (or
 * "standard output") in path. NULL when it cannot be opened (said). */
FILE *cli_page_open(const cli_args *a, size_t i, size_t n, const char *name, char *path, size_t size);
/* Close it: rc, or EXIT_ERROR when writing failed (said). */
int cli_page_close(const cli_args *a, FILE *f, size_t n, const char *path, int rc);
/* The page of rep, image i of n: to out (opened by cli_open) when n is 1,
 * else to a file of its own. 0, or EXIT_ERROR (said, naming name). */
int cli_write_page(const cli_args *a, const sw_report *rep, FILE *out, size_t i, size_t n, const char *name);
/* A JSON document {"schema": schema, key: [ ... (NULL when out of memory:
 * cli_json_end says so), and its end: closed, written to f, freed; rc, or
 * EXIT_ERROR (said). */
sw_json_out *cli_json_begin(const char *schema, const char *key);
int cli_json_end(sw_json_out *jo, FILE *f, int rc);
/* Write a finished document to f and free it: rc, or EXIT_ERROR (said). */
int cli_json_finish(sw_json_out *jo, FILE *f, int rc);
/* The exit code of a judgement (denied, flagged, unsigned: bad) under
 * --fail-on: 1 when bad unless --fail-on none. */
int cli_judged(const cli_args *a, bool bad);
/* Does a finding of this severity fail under --fail-on? */
bool cli_fails(const cli_args *a, sw_severity worst);
/* Print the command's help, made from the table. */
void cli_usage(const cli_cmd *c, FILE *f);
/* Is w one of the blank-separated words of list? */
bool cli_word_in(const char *list, const char *w);
/* A severity in any case ("CRITICAL"), or "none" when none is true
 * (CLI_FAIL_NONE); -1 otherwise. */
int cli_parse_severity(const char *s, bool none, int *out);
/* --rules-severity into o (2 printed on a bad value); the --rules
 * problems printed on stderr (sw_scan_opts.rules_problems). */
struct sw_scan_opts;
int cli_rules_severity(const char *arg, struct sw_scan_opts *o);
void cli_rules_problems(void *ctx, const char *lines);
/* A duration: a number (in units of `unit` seconds: 1, or 86400 for days)
 * or a number with ms, s, m, h or d ("90", "90s", "5m", "1.5h"), above 0
 * and at most max seconds, into *out (seconds). -1 otherwise. */
int cli_parse_duration(const char *s, double unit, double max, double *out);
/* Seconds rounded up (for the options the library takes in whole seconds;
 * no libm: the CLI links the library's public symbols only). */
unsigned cli_whole_seconds(double t);
/* The same for an option's value in seconds, saying what is wrong. */
int cli_duration_opt(const char *opt, const char *s, double max, double *out);

/* ---- settings (settings.c): flag > STOWAWAY_* > config file > default ---- */
/* Read the config file and the environment; -1 (said) when one is wrong. */
int cli_settings_load(void);
void cli_settings_free(void);
/* The setting's (first) value, or NULL for the default. */
const char *cli_setting(int id);
size_t cli_setting_list(int id, const char *const **v);
/* The layer cache's path: the flag, the setting or the default (malloc'd;
 * NULL when there is none). */
char *cli_cache_path(const char *flag);
/* version --verbose: the config file and every setting, with its source. */
void cli_settings_print(FILE *f);

/* A private key's password: --password-file, $STOWAWAY_PASSWORD,
 * $COSIGN_PASSWORD or a prompt (twice when confirm). -1 when none. */
int cli_password(const char *file, bool confirm, char *buf, size_t n);
void cli_wipe(char *p, size_t n);

int cmd_scan(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_rules(int argc, char **argv);
int cmd_name(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_unpack(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_verify_attestation(int argc, char **argv);
int cmd_verify_blob(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_detonate(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_report(int argc, char **argv);

#define EXIT_CLEAN 0
#define EXIT_FINDINGS 1
#define EXIT_ERROR 2

/* Last: the functions no file may use (every command includes this header
 * after its system headers, so none can miss it). */
#include "../lib/util/banned.h"

#endif
