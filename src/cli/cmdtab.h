/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The command line as data: every command, its synopsis, description and
 * options, the settings that may come from the environment or the config
 * file. One table (cmdtab.c) is read by the CLI, which builds its getopt
 * tables and prints --help from it, and by tools/clidoc.c, which writes the
 * man pages and the bash and zsh completions from it at build time: an
 * option cannot be parsed without being documented, nor documented in one
 * place and not in the others.
 *
 * Pure data and no dependency but libc, so the generator builds natively.
 */
#ifndef SW_CLI_CMDTAB_H
#define SW_CLI_CMDTAB_H

#include <stdbool.h>
#include <stddef.h>

/* Every option's id, as getopt_long returns it for the long and the short
 * form alike. One name, one id, whichever command takes it. */
enum cli_optid {
	CLI_O_HELP = 256, CLI_O_FORMAT, CLI_O_OUTPUT, CLI_O_FAILON,
	/* registries */
	CLI_O_INSECURE, CLI_O_CA, CLI_O_CREDS, CLI_O_MIRROR, CLI_O_REGTIMEOUT,
	/* images and scans */
	CLI_O_PLATFORM, CLI_O_JOBS, CLI_O_IOC, CLI_O_NOIOC, CLI_O_QUIET, CLI_O_RULES, CLI_O_NORULES,
	CLI_O_FILETIMEOUT, CLI_O_NOPREFILTER, CLI_O_MAXFILESIZE, CLI_O_MAXIMAGESIZE, CLI_O_MAXENTRIES,
	CLI_O_MAXRATIO, CLI_O_MAXPATH, CLI_O_MAXDEPTH, CLI_O_TIMEOUT, CLI_O_DYNAMIC, CLI_O_DYNTIMEOUT,
	CLI_O_ATTEST, CLI_O_KEY, CLI_O_PWFILE, CLI_O_CACHE, CLI_O_CACHEMAX, CLI_O_NOCACHE,
	/* check, policy */
	CLI_O_POLICY, CLI_O_MANIFESTS, CLI_O_RESOLVE, CLI_O_SCAN, CLI_O_NOSCAN, CLI_O_SKIPDIRS,
	CLI_O_SKIPFILES,
	/* cache */
	CLI_O_MAX, CLI_O_ALL,
	/* signatures */
	CLI_O_IDENTITY, CLI_O_VERDICT, CLI_O_MAXAGE, CLI_O_PREFIX, CLI_O_ANNOTATION, CLI_O_NAME,
	CLI_O_BUNDLE, CLI_O_BUNDLEFMT, CLI_O_CERTID, CLI_O_CERTIDRE, CLI_O_CERTISS, CLI_O_CERTISSRE, CLI_O_TRUSTROOT,
	CLI_O_TYPE,
	/* detonate */
	CLI_O_CMD, CLI_O_MEMORY, CLI_O_MAXPROCS, CLI_O_CPUS, CLI_O_KEEP,
	/* serve */
	CLI_O_TLSCERT, CLI_O_TLSKEY, CLI_O_LISTEN, CLI_O_DEADLINE, CLI_O_READTIMEOUT, CLI_O_WORKERS,
	CLI_O_MAXCONNS, CLI_O_SCANWORKERS, CLI_O_ALLOWTTL, CLI_O_DENYTTL, CLI_O_TAGTTL, CLI_O_CACHEENTRIES,
	CLI_O_CACHEMEMORY, CLI_O_CONFIG,
	/* watch */
	CLI_O_DB, CLI_O_REGISTRY, CLI_O_REPO, CLI_O_REPOSFILE, CLI_O_NAMESAS, CLI_O_UNTILIDLE, CLI_O_LEASE,
	CLI_O_RATE, CLI_O_CONCURRENCY, CLI_O_METRICS, CLI_O_SINCE, CLI_O_KIND, CLI_O_NAMESPACE, CLI_O_HUBAPI,
	/* version */
	CLI_O_VERBOSE,
	/* rules */
	CLI_O_RULESSKIP, CLI_O_RULESSEV, CLI_O_CORPUS,
};

/* How an option's value or an operand completes (the completions). */
#define CLI_V_FILE "@file"
#define CLI_V_DIR "@dir"
#define CLI_V_IMAGE "@image"  /* an image: a file, a directory or a reference */
#define CLI_V_FORMATS2 "table json"
#define CLI_V_FORMATS_REPORT "table json sarif html"  /* scan, detonate */
#define CLI_V_FORMATS_CHECK "table json html"
#define CLI_V_FORMATS_HTML "html"                      /* report */
#define CLI_V_SEVERITIES "none info low medium high critical"

typedef struct cli_opt {
	int id;                    /* CLI_O_*; 0 with name NULL: a heading */
	const char *name;          /* long name without "--"; NULL for a heading */
	char shrt;                 /* short letter, or 0 */
	const char *arg;           /* its value's name ("FILE"); NULL: takes none */
	const char *help;          /* lines separated by '\n' (a heading: its text) */
	const char *values;        /* completion: words, or CLI_V_*; NULL: none */
} cli_opt;

/* The entry that ends a command's options (a heading has its text in help). */
#define CLI_OPT_END(o) (!(o)->name && !(o)->help)

enum {
	CLI_CMD_NOMAN = 1 << 0,    /* no man page of its own (help) */
	CLI_CMD_PASSTHRU = 1 << 1, /* operands after "--" are a command line, kept apart */
	CLI_CMD_AUTOFMT = 1 << 2,  /* default format: table on a terminal, json otherwise
				    * (without: table) */
	CLI_CMD_REGISTRY = 1 << 3, /* takes the registry options and their settings */
	CLI_CMD_CACHE = 1 << 4,    /* uses the layer cache (setting: cache) */
	CLI_CMD_POLICY = 1 << 5,   /* uses a policy (setting: policy) */
	CLI_CMD_COLOR = 1 << 6,    /* its table has colours (NO_COLOR, CLICOLOR_FORCE) */
};

typedef struct cli_cmd {
	const char *name;          /* "scan" */
	const char *summary;       /* one line: the list of commands, the man page's NAME */
	const char *synopsis;      /* after "stowaway ": one line per form, '\n' between */
	const char *subcommands;   /* words that may come first ("list test"), or NULL */
	const char *operands;      /* completion of operands: CLI_V_* */
	const char *description;   /* paragraphs separated by a blank line; a paragraph whose
				    * lines start with two spaces is kept as it is */
	const char *formats;       /* --format values ("table json sarif"), or NULL */
	const char *fail_on;       /* --fail-on's default ("high"), or NULL: no --fail-on */
	const char *exit_status;   /* what its exit codes mean */
	unsigned flags;            /* CLI_CMD_* */
	const cli_opt *opts;       /* ends with an all-zero entry (CLI_OPT_END) */
} cli_cmd;

extern const cli_cmd cli_cmds[];
extern const size_t cli_ncmds;
/* The command called name, or NULL. */
const cli_cmd *cli_cmd_find(const char *name);

/* Settings people set once: a flag's value that may come from the
 * environment (env) or the config file (key), in that order of precedence
 * below the flag itself. */
enum cli_setting_id { CLI_S_CACHE, CLI_S_REGTIMEOUT, CLI_S_INSECURE, CLI_S_MIRROR, CLI_S_POLICY,
		      CLI_S_COUNT };

typedef struct cli_setting_def {
	const char *key;           /* in config.yaml */
	const char *env;           /* STOWAWAY_... */
	const char *flag;          /* the option it stands for, without "--" */
	bool list;                 /* several values: a YAML list, or commas in env */
	bool path;                 /* a path: relative to the config file's directory there */
	unsigned cmds;             /* CLI_CMD_* flag of the commands that use it */
	const char *help;
} cli_setting_def;

extern const cli_setting_def cli_settings[CLI_S_COUNT];
/* The config file's place, for the documents ("$XDG_CONFIG_HOME/..."). */
extern const char cli_config_doc[];
/* Environment variables every command reads, besides the settings:
 * pairs of name and meaning, ending with NULL. */
extern const char *const cli_environment[];

#endif
