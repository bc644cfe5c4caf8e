/* SPDX-License-Identifier: Apache-2.0 */
/* stowaway pull IMAGE oci:DIR: a registry image into an OCI layout. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stowaway/stowaway.h"
#include "cli.h"

#define STREAM_HELP \
	"  --platform OS/ARCH[/V]  image to pick from a multi-platform index (default linux/amd64)\n" \
	"  --max-ratio N           stop at a layer that inflates more than N:1 (default 250)\n" \
	"  --timeout S             stop after S seconds (default 600)\n"

static const char pull_help[] =
	"usage: stowaway pull [options] IMAGE oci:DIR[:TAG]\n"
	"\n"
	"Copy a registry image into a new OCI layout directory: its manifest, config\n"
	"and layers byte for byte, each verified against its digest. Scan it later\n"
	"with 'stowaway scan oci:DIR', offline.\n"
	"Layers are read as a scan reads them (decompressed, tar and diff_id checked).\n"
	STREAM_HELP
	CLI_REGISTRY_HELP;

enum { O_PLATFORM = 256, O_HELP, O_RATIO, O_TIMEOUT };

static const struct option longopts[] = {
	{ "platform", required_argument, NULL, O_PLATFORM },
	{ "max-ratio", required_argument, NULL, O_RATIO },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "help", no_argument, NULL, O_HELP },
	CLI_REGISTRY_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

/* The options pull and unpack share: --platform, the stream's bounds,
 * --help, the registry's. 0 to go on, 1 after --help, -1 on a bad option
 * (said). */
static int platform_opts(int argc, char **argv, cli_registry *reg, sw_image_opts *io, sw_pull_opts *po,
			 const char *help)
{
	uint64_t v;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_PLATFORM: io->platform = optarg; break;
		case O_RATIO:
			if (cli_parse_uint(optarg, 1000000000, &v) < 0 || v == 0)
				return cli_bad("--max-ratio", optarg), -1;
			po->max_ratio = (unsigned)v;
			break;
		case O_TIMEOUT:
			if (cli_parse_uint(optarg, 86400, &v) < 0 || v == 0)
				return cli_bad("--timeout", optarg), -1;
			po->timeout = (double)v;
			break;
		case O_HELP: fputs(help, stdout); return 1;
		default:
			if ((r = cli_registry_opt(reg, c, optarg)) > 0)
				break;
			if (r == 0)
				fputs(help, stderr);
			return -1;
		}
	}
	return 0;
}

int cmd_pull(int argc, char **argv)
{
	sw_image_opts io = SW_IMAGE_OPTS_INIT;
	sw_pull_opts po = SW_PULL_OPTS_INIT;
	cli_registry reg;
	sw_error err = SW_ERROR_INIT;
	const char *dest;
	char *dir, *colon;
	int rc;

	cli_registry_init(&reg, &io);
	if ((rc = platform_opts(argc, argv, &reg, &io, &po, pull_help)) != 0) {
		cli_registry_free(&reg);
		return rc > 0 ? EXIT_CLEAN : EXIT_ERROR;
	}
	if (argc - optind != 2 || strncmp(argv[optind + 1], "oci:", 4) != 0 || !argv[optind + 1][4]) {
		fputs(pull_help, stderr);
		cli_registry_free(&reg);
		return EXIT_ERROR;
	}
	/* oci:DIR[:TAG], split at the first ':' as containers/image does */
	if (!(dir = strdup(argv[optind + 1] + 4))) {
		cli_error("out of memory");
		cli_registry_free(&reg);
		return EXIT_ERROR;
	}
	if ((colon = strchr(dir, ':'))) {
		*colon = '\0';
		po.tag = colon + 1;
	}
	if (!dir[0] || (po.tag && !po.tag[0])) {
		fputs(pull_help, stderr);
		free(dir);
		cli_registry_free(&reg);
		return EXIT_ERROR;
	}
	dest = dir;
	if ((rc = sw_image_pull(argv[optind], dest, &io, &po, &err)) < 0)
		cli_error("%s: %s", argv[optind], err.msg);
	free(dir);
	cli_registry_free(&reg);
	return rc < 0 ? EXIT_ERROR : EXIT_CLEAN;
}

static const char unpack_help[] =
	"usage: stowaway unpack [options] IMAGE DIR\n"
	"\n"
	"Assemble the image's root filesystem in DIR (created, or empty): layers\n"
	"applied with their whiteouts, nothing placed outside DIR or written through\n"
	"a link, hard links made as links, no device nodes, setuid/setgid bits\n"
	"dropped, digests checked.\n"
	STREAM_HELP
	CLI_REGISTRY_HELP;

int cmd_unpack(int argc, char **argv)
{
	sw_image_opts io = SW_IMAGE_OPTS_INIT;
	sw_pull_opts po = SW_PULL_OPTS_INIT;
	sw_rootfs_opts ro = SW_ROOTFS_OPTS_INIT;
	cli_registry reg;
	sw_error err = SW_ERROR_INIT;
	sw_image *img = NULL;
	sw_rootfs_stats st;
	int rc = EXIT_CLEAN, r;

	cli_registry_init(&reg, &io);
	if ((r = platform_opts(argc, argv, &reg, &io, &po, unpack_help)) != 0) {
		rc = r > 0 ? EXIT_CLEAN : EXIT_ERROR;
		goto out;
	}
	if (argc - optind != 2) {
		fputs(unpack_help, stderr);
		rc = EXIT_ERROR;
		goto out;
	}
	ro.max_ratio = po.max_ratio;
	ro.timeout = po.timeout;
	if (sw_image_open(&img, argv[optind], &io, &err) < 0 ||
	    sw_rootfs_assemble(img, argv[optind + 1], &ro, &st, &err) < 0) {
		cli_error("%s: %s", argv[optind], err.msg);
		rc = EXIT_ERROR;
		goto out;
	}
	printf("%llu layers, %llu entries, %llu files, %llu bytes, %llu hard links; %llu whiteouts; "
	       "skipped %llu (devices, FIFOs, aufs metadata); refused %llu (outside the root)\n",
	       (unsigned long long)st.layers, (unsigned long long)st.entries, (unsigned long long)st.files,
	       (unsigned long long)st.bytes, (unsigned long long)st.links, (unsigned long long)st.whiteouts,
	       (unsigned long long)st.skipped,
	       (unsigned long long)st.refused);
out:
	sw_image_free(img);
	cli_registry_free(&reg);
	return rc;
}
