/* SPDX-License-Identifier: Apache-2.0 */
/* stowaway detonate IMAGE: run it in the sandbox and report what it did
 * (a table, JSON, SARIF or an HTML page). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stowaway/stowaway.h"
#include "stowaway/sandbox.h"
#include "cli.h"

int cmd_detonate(int argc, char **argv)
{
	sw_detonate_opts d = SW_DETONATE_OPTS_INIT;
	sw_scan_opts so = SW_SCAN_OPTS_INIT;
	sw_image_opts io = SW_IMAGE_OPTS_INIT;
	cli_registry reg;
	cli_args a;
	sw_error err = SW_ERROR_INIT;
	sw_severity max;
	const char **rdirs = NULL, *shcmd[3];
	size_t nrdirs = 0;
	sw_format fmt;
	sw_image *img = NULL;
	sw_report *rep = NULL;
	FILE *out = NULL;
	uint64_t v;
	double t;
	int c, rc = EXIT_ERROR;

	cli_registry_init(&reg, &io);
	if (cli_args_init(&a, "detonate") < 0)
		goto out;
	a.reg = &reg;
	while ((c = cli_next(&a, argc, argv)) > 0) {
		switch (c) {
		case CLI_O_TIMEOUT:
			if (cli_duration_opt("--timeout", optarg, 86400, &t) < 0)
				goto out;
			d.timeout = cli_whole_seconds(t);
			break;
		case CLI_O_CMD:
			shcmd[0] = "/bin/sh";
			shcmd[1] = "-c";
			shcmd[2] = optarg;
			d.cmd = shcmd;
			d.ncmd = 3;
			break;
		case CLI_O_MEMORY:
			if (cli_parse_size(optarg, &d.memory) < 0 || d.memory < (16u << 20)) {
				cli_bad("--memory", optarg);
				goto out;
			}
			break;
		case CLI_O_MAXPROCS:
			if (cli_parse_uint(optarg, 65536, &v) < 0 || v < 4) {
				cli_bad("--max-procs", optarg);
				goto out;
			}
			d.max_procs = (unsigned)v;
			break;
		case CLI_O_CPUS:
			if (cli_parse_uint(optarg, 4096, &v) < 0 || v == 0) {
				cli_bad("--cpus", optarg);
				goto out;
			}
			d.cpus = (unsigned)v;
			break;
		case CLI_O_KEEP: d.keep = optarg; break;
		case CLI_O_PLATFORM: io.platform = optarg; break;
		case CLI_O_RULES:
			if (cli_push(&rdirs, &nrdirs, optarg) < 0)
				goto out;
			break;
		}
	}
	if (c < 0) {
		rc = a.status;
		goto out;
	}
	if (a.nops != 1) {
		cli_error(a.nops ? "detonate: one image; a command to run goes after \"--\" (try 'stowaway detonate --help')"
			  : "detonate: no image given (try 'stowaway detonate --help')");
		goto out;
	}
	if (a.npass) {
		if (d.cmd) {
			cli_error("detonate: --cmd and a command after \"--\": give one");
			goto out;
		}
		d.cmd = (const char *const *)a.pass;
		d.ncmd = (size_t)a.npass;
	}
	so.rule_dirs = rdirs;
	so.n_rule_dirs = nrdirs;
	d.scan = &so;
	fmt = cli_format(&a);
	if (!(out = cli_open(&a)))
		goto out;
	if (sw_image_open(&img, a.ops[0], &io, &err) < 0 || sw_detonate(img, &d, &rep, &err) < 0 ||
	    (fmt != SW_FMT_HTML && sw_report_write(rep, fmt, cli_color(&a), out, &err) < 0)) {
		cli_error("%s: %s", a.ops[0], err.msg);
		goto out;
	}
	if (fmt == SW_FMT_HTML && (cli_note_attachments(rep, a.ops[0], sw_image_kind(img), &io) < 0 ||
				   cli_write_page(&a, rep, out, 0, 1, a.ops[0]) != 0))
		goto out; /* said */
	rc = sw_report_max_severity(rep, &max) && cli_fails(&a, max) ? EXIT_FINDINGS : EXIT_CLEAN;
out:
	rc = cli_close(&a, out, rc);
	sw_report_free(rep);
	sw_image_free(img);
	free(rdirs);
	cli_registry_free(&reg);
	cli_args_release(&a);
	return rc;
}
