/* SPDX-License-Identifier: Apache-2.0 */
/* stowaway pull IMAGE oci:DIR: a registry image into an OCI layout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stowaway/stowaway.h"
#include "cli.h"

/* The options pull and unpack share: --platform, the stream's bounds, the
 * registry's (and the shared ones). 0 to go on with the operands in
 * a->ops; else the exit code (--help, a bad option: said). */
static int platform_opts(cli_args *a, const char *name, int argc, char **argv, cli_registry *reg,
			 sw_image_opts *io, sw_pull_opts *po)
{
	uint64_t v;
	double t;
	int c;

	if (cli_args_init(a, name) < 0)
		return EXIT_ERROR;
	a->reg = reg;
	while ((c = cli_next(a, argc, argv)) > 0) {
		switch (c) {
		case CLI_O_PLATFORM: io->platform = optarg; break;
		case CLI_O_MAXRATIO:
			if (cli_parse_uint(optarg, 1000000000, &v) < 0 || v == 0)
				return cli_bad("--max-ratio", optarg);
			po->max_ratio = (unsigned)v;
			break;
		case CLI_O_TIMEOUT:
			if (cli_duration_opt("--timeout", optarg, 86400, &t) < 0)
				return EXIT_ERROR;
			po->timeout = t;
			break;
		}
	}
	return c < 0 ? a->status : -1;
}

int cmd_pull(int argc, char **argv)
{
	sw_image_opts io = SW_IMAGE_OPTS_INIT;
	sw_pull_opts po = SW_PULL_OPTS_INIT;
	cli_registry reg;
	cli_args a;
	sw_error err = SW_ERROR_INIT;
	const char *dest;
	char *dir = NULL, *colon;
	int rc;

	cli_registry_init(&reg, &io);
	if ((rc = platform_opts(&a, "pull", argc, argv, &reg, &io, &po)) >= 0)
		goto out;
	if (a.nops != 2 || strncmp(a.ops[1], "oci:", 4) != 0 || !a.ops[1][4]) {
		cli_error("pull: expected IMAGE oci:DIR[:TAG] (try 'stowaway pull --help')");
		rc = EXIT_ERROR;
		goto out;
	}
	argv = a.ops;
	/* oci:DIR[:TAG], split at the first ':' as containers/image does */
	if (!(dir = strdup(argv[1] + 4))) {
		cli_error("out of memory");
		rc = EXIT_ERROR;
		goto out;
	}
	if ((colon = strchr(dir, ':'))) {
		*colon = '\0';
		po.tag = colon + 1;
	}
	if (!dir[0] || (po.tag && !po.tag[0])) {
		cli_error("pull: expected IMAGE oci:DIR[:TAG] (try 'stowaway pull --help')");
		rc = EXIT_ERROR;
		goto out;
	}
	dest = dir;
	if ((rc = sw_image_pull(argv[0], dest, &io, &po, &err)) < 0)
		cli_error("%s: %s", argv[0], err.msg);
	rc = rc < 0 ? EXIT_ERROR : EXIT_CLEAN;
out:
	free(dir);
	cli_registry_free(&reg);
	cli_args_release(&a);
	return rc;
}

/* What unpack made, as a line or a JSON object; the exit code. */
static int put_stats(const cli_args *a, FILE *f, const char *image, const char *dir, const sw_rootfs_stats *st)
{
	static const char *const names[] = { "layers", "entries", "files", "bytes", "links", "whiteouts", "skipped",
					     "refused" };
	const uint64_t v[] = { st->layers, st->entries, st->files, st->bytes, st->links, st->whiteouts, st->skipped,
			       st->refused };
	sw_json_out *jo;
	size_t i;

	if (cli_format(a) != SW_FMT_JSON) {
		fprintf(f, "%llu layers, %llu entries, %llu files, %llu bytes, %llu hard links; %llu whiteouts; "
			"skipped %llu (devices, FIFOs, aufs metadata); refused %llu (outside the root)\n",
			(unsigned long long)v[0], (unsigned long long)v[1], (unsigned long long)v[2],
			(unsigned long long)v[3], (unsigned long long)v[4], (unsigned long long)v[5],
			(unsigned long long)v[6], (unsigned long long)v[7]);
		return EXIT_CLEAN;
	}
	jo = sw_json_out_new();
	sw_json_out_obj(jo);
	sw_json_out_key(jo, "schema");
	sw_json_out_str(jo, "stowaway.unpack/v1");
	sw_json_out_key(jo, "image");
	sw_json_out_str(jo, image);
	sw_json_out_key(jo, "target");
	sw_json_out_str(jo, dir);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		sw_json_out_key(jo, names[i]);
		sw_json_out_int(jo, (long long)v[i]);
	}
	sw_json_out_end(jo);
	return cli_json_finish(jo, f, EXIT_CLEAN);
}

int cmd_unpack(int argc, char **argv)
{
	sw_image_opts io = SW_IMAGE_OPTS_INIT;
	sw_pull_opts po = SW_PULL_OPTS_INIT;
	sw_rootfs_opts ro = SW_ROOTFS_OPTS_INIT;
	cli_registry reg;
	cli_args a;
	sw_error err = SW_ERROR_INIT;
	sw_image *img = NULL;
	sw_rootfs_stats st;
	FILE *out;
	int rc = EXIT_CLEAN, r;

	cli_registry_init(&reg, &io);
	if ((r = platform_opts(&a, "unpack", argc, argv, &reg, &io, &po)) >= 0) {
		rc = r;
		goto out;
	}
	if (a.nops != 2) {
		cli_error("unpack: expected IMAGE DIR (try 'stowaway unpack --help')");
		rc = EXIT_ERROR;
		goto out;
	}
	argv = a.ops;
	ro.max_ratio = po.max_ratio;
	ro.timeout = po.timeout;
	if (sw_image_open(&img, argv[0], &io, &err) < 0 ||
	    sw_rootfs_assemble(img, argv[1], &ro, &st, &err) < 0) {
		cli_error("%s: %s", argv[0], err.msg);
		rc = EXIT_ERROR;
		goto out;
	}
	if (!(out = cli_open(&a))) {
		rc = EXIT_ERROR;
		goto out;
	}
	rc = cli_close(&a, out, put_stats(&a, out, argv[0], argv[1], &st));
out:
	sw_image_free(img);
	cli_registry_free(&reg);
	cli_args_release(&a);
	return rc;
}
