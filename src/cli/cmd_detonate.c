/* SPDX-License-Identifier: Apache-2.0 */
/* stowaway detonate IMAGE: run it in the sandbox and report what it did. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stowaway/stowaway.h"
#include "stowaway/sandbox.h"
#include "cli.h"

static const char detonate_help[] =
	"usage: stowaway detonate [options] IMAGE [-- CMD ARG...]\n"
	"\n"
	"Run the image in a rootless sandbox (user, mount, PID, network, IPC, UTS and\n"
	"cgroup namespaces; no capabilities; a seccomp filter; a sinkholed network) and\n"
	"report what it did: the timeline of executions, connections, DNS names, pool\n"
	"logins, file writes and refused syscalls, and the findings they make. Files it\n"
	"executes are scanned with the static detectors. Exit 0 clean, 1 findings at or\n"
	"above --fail-on, 2 error.\n"
	"  -- CMD ARG...           run this instead of the image's Entrypoint and Cmd\n"
	"  --cmd STRING            run /bin/sh -c STRING instead\n"
	"  --timeout SECONDS       wall clock, then every process is killed (default 30)\n"
	"  --memory SIZE           memory for the whole sandbox (default 1G)\n"
	"  --max-procs N           processes (default 256)\n"
	"  --cpus N                CPUs for the sandbox (cgroup v2 where delegated; default all)\n"
	"  --keep DIR              keep the root filesystem and executed files under DIR\n"
	"  --format FORMAT         table, json or sarif (default: table on a terminal, json\n"
	"                          otherwise)\n"
	"  --output FILE           write the report to FILE\n"
	"  --fail-on SEVERITY      exit 1 at or above: info|low|medium|high|critical (default high)\n"
	"  --platform OS/ARCH[/V]  image to pick from a multi-platform index (default linux/amd64)\n"
	"  --rules DIR             extra YARA rules for executed files (repeatable)\n"
	CLI_REGISTRY_HELP;

enum { O_TIMEOUT = 256, O_CMD, O_MEMORY, O_MAXPROCS, O_CPUS, O_KEEP, O_FORMAT, O_OUTPUT, O_FAILON, O_PLATFORM, O_RULES,
       O_HELP };

static const struct option longopts[] = {
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "cmd", required_argument, NULL, O_CMD },
	{ "memory", required_argument, NULL, O_MEMORY },
	{ "max-procs", required_argument, NULL, O_MAXPROCS },
	{ "cpus", required_argument, NULL, O_CPUS },
	{ "keep", required_argument, NULL, O_KEEP },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "output", required_argument, NULL, O_OUTPUT },
	{ "fail-on", required_argument, NULL, O_FAILON },
	{ "platform", required_argument, NULL, O_PLATFORM },
	{ "rules", required_argument, NULL, O_RULES },
	{ "help", no_argument, NULL, O_HELP },
	CLI_REGISTRY_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

int cmd_detonate(int argc, char **argv)
{
	sw_detonate_opts d = SW_DETONATE_OPTS_INIT;
	sw_scan_opts so = SW_SCAN_OPTS_INIT;
	sw_image_opts io = SW_IMAGE_OPTS_INIT;
	cli_registry reg;
	sw_error err = SW_ERROR_INIT;
	sw_severity fail_on = SW_SEV_HIGH, max;
	const char *format = NULL, *output = NULL, **rdirs = NULL, *shcmd[3];
	size_t nrdirs = 0;
	sw_format fmt;
	sw_image *img = NULL;
	sw_report *rep = NULL;
	FILE *out = stdout;
	uint64_t v;
	int c, rc = EXIT_ERROR;

	cli_registry_init(&reg, &io);
	optind = 1;
	while ((c = getopt_long(argc, argv, "+o:f:", longopts, NULL)) != -1) {
		int r;
		switch (c) {
		case O_TIMEOUT:
			if (cli_parse_uint(optarg, 86400, &v) < 0 || v == 0)
				return cli_bad("--timeout", optarg);
			d.timeout = (unsigned)v;
			break;
		case O_CMD:
			shcmd[0] = "/bin/sh";
			shcmd[1] = "-c";
			shcmd[2] = optarg;
			d.cmd = shcmd;
			d.ncmd = 3;
			break;
		case O_MEMORY:
			if (cli_parse_size(optarg, &d.memory) < 0 || d.memory < (16u << 20))
				return cli_bad("--memory", optarg);
			break;
		case O_MAXPROCS:
			if (cli_parse_uint(optarg, 65536, &v) < 0 || v < 4)
				return cli_bad("--max-procs", optarg);
			d.max_procs = (unsigned)v;
			break;
		case O_CPUS:
			if (cli_parse_uint(optarg, 4096, &v) < 0 || v == 0)
				return cli_bad("--cpus", optarg);
			d.cpus = (unsigned)v;
			break;
		case O_KEEP: d.keep = optarg; break;
		case 'f': case O_FORMAT:
			if (strcmp(optarg, "table") && strcmp(optarg, "json") && strcmp(optarg, "sarif"))
				return cli_bad("--format", optarg);
			format = optarg;
			break;
		case 'o': case O_OUTPUT: output = optarg; break;
		case O_FAILON:
			if (sw_severity_parse(optarg, &fail_on) < 0)
				return cli_bad("--fail-on", optarg);
			break;
		case O_PLATFORM: io.platform = optarg; break;
		case O_RULES:
			if (cli_push(&rdirs, &nrdirs, optarg) < 0)
				goto out;
			break;
		case O_HELP:
			fputs(detonate_help, stdout);
			rc = EXIT_CLEAN;
			goto out;
		default:
			if ((r = cli_registry_opt(&reg, c, optarg)) > 0)
				break;
			if (r == 0)
				fputs(detonate_help, stderr);
			goto out;
		}
	}
	if (optind >= argc) {
		cli_error("detonate: no image given (try 'stowaway detonate --help')");
		goto out;
	}
	if (optind + 1 < argc) {
		if (strcmp(argv[optind + 1], "--") != 0 || optind + 2 >= argc || d.cmd) {
			fputs(detonate_help, stderr);
			goto out;
		}
		d.cmd = (const char *const *)argv + optind + 2;
		d.ncmd = (size_t)(argc - optind - 2);
	}
	so.rule_dirs = rdirs;
	so.n_rule_dirs = nrdirs;
	d.scan = &so;
	if (!format)
		format = isatty(STDOUT_FILENO) && !output ? "table" : "json";
	fmt = !strcmp(format, "sarif") ? SW_FMT_SARIF : !strcmp(format, "json") ? SW_FMT_JSON : SW_FMT_TABLE;
	if (output && !(out = fopen(output, "w"))) {
		cli_error("--output %s: cannot open for writing", output);
		goto out;
	}
	if (sw_image_open(&img, argv[optind], &io, &err) < 0 || sw_detonate(img, &d, &rep, &err) < 0 ||
	    sw_report_write(rep, fmt, !output && isatty(STDOUT_FILENO), out, &err) < 0) {
		cli_error("%s: %s", argv[optind], err.msg);
		goto out;
	}
	rc = sw_report_max_severity(rep, &max) && max >= fail_on ? EXIT_FINDINGS : EXIT_CLEAN;
out:
	if (output && out && out != stdout && fclose(out) != 0) {
		cli_error("--output %s: write failed", output);
		rc = EXIT_ERROR;
	}
	sw_report_free(rep);
	sw_image_free(img);
	free(rdirs);
	cli_registry_free(&reg);
	return rc;
}
