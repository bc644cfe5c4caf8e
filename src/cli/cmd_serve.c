/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stowaway serve webhook: the Kubernetes validating admission webhook.
 * Options in, sw_webhook_serve (stowaway/serve.h) does the rest.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stowaway/stowaway.h"
#include "cli.h"

int cmd_serve(int argc, char **argv);

static const char serve_help[] =
	"usage: stowaway serve webhook --policy FILE --tls-cert FILE --tls-key FILE [options]\n"
	"\n"
	"A Kubernetes validating admission webhook (AdmissionReview v1) over HTTPS\n"
	"(HTTP/1.1 and HTTP/2). POST /validate judges the images of Pods and of every\n"
	"kind with a pod template, as `stowaway check` judges them; GET /healthz and\n"
	"/readyz answer probes. One JSON line per review on stderr. The certificate\n"
	"and key are re-read when their files change. SIGTERM answers the reviews in\n"
	"flight, then exits 0.\n"
	"  --policy FILE           the policy (docs/policy.md); without: look-alike names denied\n"
	"  --tls-cert FILE         PEM certificate chain; --tls-key FILE: its key\n"
	"  --listen ADDR:PORT      default 0.0.0.0:8443\n"
	"  --deadline S            a review's time (default 2.5s): then the images not yet\n"
	"                          decided are denied \"not yet verified ..., retry\"\n"
	"  --read-timeout S        a request's headers and body (default 10s)\n"
	"  --workers N             decisions at once (default 4)\n"
	"  --max-connections N     connections at once (default 4096)\n"
	CLI_REGISTRY_HELP;

enum { O_POLICY = 256, O_CERT, O_KEY, O_LISTEN, O_DEADLINE, O_READ, O_WORKERS, O_MAXCONN, O_HELP };

static const struct option longopts[] = {
	{ "policy", required_argument, NULL, O_POLICY },
	{ "tls-cert", required_argument, NULL, O_CERT },
	{ "tls-key", required_argument, NULL, O_KEY },
	{ "listen", required_argument, NULL, O_LISTEN },
	{ "deadline", required_argument, NULL, O_DEADLINE },
	{ "read-timeout", required_argument, NULL, O_READ },
	{ "workers", required_argument, NULL, O_WORKERS },
	{ "max-connections", required_argument, NULL, O_MAXCONN },
	{ "help", no_argument, NULL, O_HELP },
	CLI_REGISTRY_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

/* "2.5", "2.5s" or "500ms" -> seconds; -1 when not a duration. */
static double seconds(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || !(v >= 0))
		return -1;
	if (strcmp(end, "ms") == 0)
		return v / 1000.0;
	return *end == 0 || strcmp(end, "s") == 0 ? v : -1;
}

static int serve_option(sw_webhook_opts *o, int c, const char *arg)
{
	uint64_t n;

	switch (c) {
	case O_POLICY: o->policy = arg; return 0;
	case O_CERT: o->tls_cert = arg; return 0;
	case O_KEY: o->tls_key = arg; return 0;
	case O_LISTEN: o->listen = arg; return 0;
	case O_DEADLINE: return (o->deadline = seconds(arg)) > 0 ? 0 : cli_bad("--deadline", arg);
	case O_READ: return (o->read_timeout = seconds(arg)) > 0 ? 0 : cli_bad("--read-timeout", arg);
	case O_WORKERS:
		if (cli_parse_uint(arg, 256, &n) < 0 || n == 0)
			return cli_bad("--workers", arg);
		o->workers = (unsigned)n;
		return 0;
	case O_MAXCONN:
		if (cli_parse_uint(arg, 1u << 20, &n) < 0 || n == 0)
			return cli_bad("--max-connections", arg);
		o->max_conns = (unsigned)n;
		return 0;
	default:
		return EXIT_ERROR;
	}
}

int cmd_serve(int argc, char **argv)
{
	sw_webhook_opts o = SW_WEBHOOK_OPTS_INIT;
	sw_image_opts io = SW_IMAGE_OPTS_INIT;
	sw_error err = SW_ERROR_INIT;
	cli_registry reg;
	int c, r, rc = EXIT_CLEAN;

	if (argc < 2 || strcmp(argv[1], "webhook") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
			fputs(serve_help, stdout);
			return EXIT_CLEAN;
		}
		cli_error("serve: expected 'webhook' (try 'stowaway serve --help')");
		return EXIT_ERROR;
	}
	cli_registry_init(&reg, &io);
	o.image = &io;
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "", longopts, NULL)) != -1) {
		if (c == O_HELP) {
			fputs(serve_help, stdout);
			goto out;
		}
		if ((r = cli_registry_opt(&reg, c, optarg)) != 0) {
			if (r < 0)
				rc = EXIT_ERROR;
		} else if (c == '?' || serve_option(&o, c, optarg) != 0)
			rc = EXIT_ERROR;
		if (rc)
			goto out;
	}
	if (optind < argc - 1) {
		cli_error("serve webhook: unexpected argument \"%s\"", argv[optind + 1]);
		rc = EXIT_ERROR;
		goto out;
	}
	if (sw_webhook_serve(&o, &err) < 0) {
		cli_error("serve webhook: %s", err.msg);
		rc = EXIT_ERROR;
	}
out:
	cli_registry_free(&reg);
	return rc;
}
