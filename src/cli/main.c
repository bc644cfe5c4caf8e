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

int cmd_serve(int argc, char **argv); /* cmd_serve.c */

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
	static const struct { const char *suf; uint64_t mul; } u[] = {
		{ "", 1 }, { "B", 1 }, { "K", 1ull << 10 }, { "KiB", 1ull << 10 },
		{ "M", 1ull << 20 }, { "MiB", 1ull << 20 }, { "G", 1ull << 30 },
		{ "GiB", 1ull << 30 }, { "T", 1ull << 40 }, { "TiB", 1ull << 40 },
	};
	char *end;
	unsigned long long v;
	size_t i;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (strcmp(end, u[i].suf) == 0) {
			if (v > UINT64_MAX / u[i].mul)
				return -1;
			*out = v * u[i].mul;
			return 0;
		}
	return -1;
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
	char *end;
	double v;

	switch (c) {
	case O_REG_INSECURE:
		if (cli_push(&r->insecure, &r->ninsecure, arg) < 0)
			return -1;
		r->o.insecure = r->insecure;
		r->o.n_insecure = r->ninsecure;
		return 1;
	case O_REG_MIRROR:
		if (cli_push(&r->mirrors, &r->nmirrors, arg) < 0)
			return -1;
		r->o.mirrors = r->mirrors;
		r->o.n_mirrors = r->nmirrors;
		return 1;
	case O_REG_CA:
		r->o.ca_file = arg;
		return 1;
	case O_REG_CREDS:
		if (!strchr(arg, ':')) {
			cli_error("--creds: expected USER:PASSWORD");
			return -1;
		}
		r->o.creds = arg;
		return 1;
	case O_REG_TIMEOUT:
		v = strtod(arg, &end);
		if (*end || !(v > 0) || v > 3600) {
			cli_error("--registry-timeout: \"%s\" is not a number of seconds (up to 3600)", arg);
			return -1;
		}
		r->o.stall_timeout = v;
		r->o.connect_timeout = v < 15 ? v : 15;
		return 1;
	default:
		return 0;
	}
}

void cli_registry_init(cli_registry *r, sw_image_opts *io)
{
	memset(r, 0, sizeof(*r));
	io->registry = &r->o;
}

void cli_registry_free(cli_registry *r)
{
	free(r->insecure);
	free(r->mirrors);
}

static void usage(FILE *f)
{
	fputs("usage: stowaway <command> [options]\n"
	      "\n"
	      "commands:\n"
	      "  scan IMAGE...     static analysis of container images\n"
	      "  rules list        the YARA rules a scan would use\n"
	      "  rules test FILE.. run the rules over local files\n"
	      "  name REF...       flag look-alike image names (typosquats, impersonation)\n"
	      "  check IMAGE...    may these images run? (names, policy, scan)\n"
	      "  check --manifests PATH  every image of Dockerfiles, Kubernetes YAML, compose\n"
	      "  policy lint FILE  every problem of a policy file, with its line\n"
	      "  pull IMAGE oci:DIR  copy a registry image into an OCI layout\n"
	      "  detonate IMAGE    run the image in a rootless, sinkholed sandbox; report what it does\n"
	      "  unpack IMAGE DIR  assemble the image's root filesystem in DIR\n"
	      "  cache stats|prune the per-layer verdict cache\n"
	      "  verify --key K IMAGE  check cosign signatures of an image\n"
	      "  sign --key K IMAGE    sign an image as cosign does\n"
	      "  keygen            a cosign-format key pair\n"
	      "  verify-attestation --key K IMAGE  check signed scan verdicts (scan --attest)\n"
	      "  serve webhook     a Kubernetes admission webhook (HTTPS, AdmissionReview v1)\n"
	      "  version           print the version\n"
	      "  help              this text\n"
	      "\n"
	      "IMAGE: oci:DIR[:TAG]  oci-archive:FILE[:TAG]  docker-archive:FILE[:REF|:@N]\n"
	      "       dir:ROOTFS     or a bare path (sniffed)\n"
	      "Run 'stowaway scan --help' for scan options.\n", f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_ERROR;
	}
	if (strcmp(argv[1], "scan") == 0)
		return cmd_scan(argc - 1, argv + 1);
	if (strcmp(argv[1], "rules") == 0)
		return cmd_rules(argc - 1, argv + 1);
	if (strcmp(argv[1], "name") == 0)
		return cmd_name(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "pull") == 0)
		return cmd_pull(argc - 1, argv + 1);
	if (strcmp(argv[1], "detonate") == 0)
		return cmd_detonate(argc - 1, argv + 1);
	if (strcmp(argv[1], "unpack") == 0)
		return cmd_unpack(argc - 1, argv + 1);
	if (strcmp(argv[1], "cache") == 0)
		return cmd_cache(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "sign") == 0)
		return cmd_sign(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify-attestation") == 0)
		return cmd_verify_attestation(argc - 1, argv + 1);
	if (strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argc - 1, argv + 1);
	if (strcmp(argv[1], "policy") == 0)
		return cmd_policy(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("stowaway %s\nYARA prefilter: %s\n", sw_version(), sw_rules_prefilter());
		return EXIT_CLEAN;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return EXIT_CLEAN;
	}
	cli_error("%s: unknown command (try 'stowaway help')", argv[1]);
	return EXIT_ERROR;
}
