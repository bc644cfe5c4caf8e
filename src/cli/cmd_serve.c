/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stowaway serve webhook: the Kubernetes admission webhook; stowaway serve
 * gate: the registry gate. Options in, sw_webhook_serve and sw_gate_serve
 * (stowaway/serve.h) do the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stowaway/stowaway.h"
#include "cli.h"

typedef struct serve_args {
	const char *cache, *config, *listen;
	bool no_cache, webhook_only; /* an option that only the webhook takes was given */
} serve_args;

/* One option of serve's own into o: 0, or EXIT_ERROR (said). */
static int serve_option(sw_webhook_opts *o, serve_args *sa, int c, const char *arg)
{
	uint64_t n;

	if (c != CLI_O_CACHE && c != CLI_O_NOCACHE && c != CLI_O_LISTEN && c != CLI_O_CONFIG)
		sa->webhook_only = true;
	switch (c) {
	case CLI_O_CONFIG: sa->config = arg; return 0;
	case CLI_O_CACHE: sa->cache = arg; return 0;
	case CLI_O_NOCACHE: sa->no_cache = true; return 0;
	case CLI_O_ALLOWTTL: return cli_duration_opt("--allow-ttl", arg, 86400, &o->ttl_allow) < 0 ? EXIT_ERROR : 0;
	case CLI_O_DENYTTL: return cli_duration_opt("--deny-ttl", arg, 86400, &o->ttl_deny) < 0 ? EXIT_ERROR : 0;
	case CLI_O_TAGTTL: return cli_duration_opt("--tag-ttl", arg, 86400, &o->ttl_tag) < 0 ? EXIT_ERROR : 0;
	case CLI_O_SCANWORKERS:
		if (cli_parse_uint(arg, 64, &n) < 0 || n == 0)
			return cli_bad("--scan-workers", arg);
		o->scan_workers = (unsigned)n;
		return 0;
	case CLI_O_CACHEENTRIES:
		if (cli_parse_uint(arg, 100000000, &n) < 0 || n < 16)
			return cli_bad("--cache-entries", arg);
		o->cache_entries = (size_t)n;
		return 0;
	case CLI_O_CACHEMEMORY:
		if (cli_parse_size(arg, &n) < 0 || n < (1u << 20))
			return cli_bad("--cache-memory", arg);
		o->cache_bytes = (size_t)n;
		return 0;
	case CLI_O_POLICY: o->policy = arg; return 0;
	case CLI_O_TLSCERT: o->tls_cert = arg; return 0;
	case CLI_O_TLSKEY: o->tls_key = arg; return 0;
	case CLI_O_LISTEN: o->listen = sa->listen = arg; return 0;
	case CLI_O_DEADLINE: return cli_duration_opt("--deadline", arg, 3600, &o->deadline) < 0 ? EXIT_ERROR : 0;
	case CLI_O_READTIMEOUT:
		return cli_duration_opt("--read-timeout", arg, 3600, &o->read_timeout) < 0 ? EXIT_ERROR : 0;
	case CLI_O_WORKERS:
		if (cli_parse_uint(arg, 256, &n) < 0 || n == 0)
			return cli_bad("--workers", arg);
		o->workers = (unsigned)n;
		return 0;
	case CLI_O_MAXCONNS:
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
	sw_scan_opts so = SW_SCAN_OPTS_INIT;
	serve_args sa = { NULL, NULL, NULL, false, false };
	sw_gate_opts go = SW_GATE_OPTS_INIT;
	char *cache = NULL;
	sw_error err = SW_ERROR_INIT;
	cli_registry reg;
	cli_args a;
	int c, rc = EXIT_CLEAN;

	cli_registry_init(&reg, &io);
	o.image = &io;
	if (cli_args_init(&a, "serve") < 0) {
		rc = EXIT_ERROR;
		goto out;
	}
	a.reg = &reg;
	while ((c = cli_next(&a, argc, argv)) > 0)
		if ((rc = serve_option(&o, &sa, c, optarg)) != 0)
			goto out;
	if (c < 0) {
		rc = a.status;
		goto out;
	}
	if (a.nops != 1 || (strcmp(a.ops[0], "webhook") != 0 && strcmp(a.ops[0], "gate") != 0)) {
		cli_error("serve: expected 'webhook' or 'gate' (try 'stowaway serve --help')");
		rc = EXIT_ERROR;
		goto out;
	}
	if (!sa.no_cache)
		so.layer_cache = cache = cli_cache_path(sa.cache);
	if (strcmp(a.ops[0], "gate") == 0) {
		if (sa.webhook_only || !sa.config) {
			cli_error(sa.config ? "serve gate: its settings are in the configuration file; only --listen and "
					      "--cache go on the command line"
					    : "serve gate: give its configuration: --config FILE (docs/gate.md)");
			rc = EXIT_ERROR;
			goto out;
		}
		go.config = sa.config;
		go.listen = sa.listen;
		go.scan = &so;
		if (sw_gate_serve(&go, &err) < 0) {
			cli_error("serve gate: %s", err.msg);
			rc = EXIT_ERROR;
		}
		goto out;
	}
	if (sa.config) {
		cli_error("serve webhook: --config is the gate's; the webhook takes --policy and its options");
		rc = EXIT_ERROR;
		goto out;
	}
	if (!o.policy)
		o.policy = cli_setting(CLI_S_POLICY);
	/* the same layer cache as `stowaway scan`: shared entries */
	o.scan = &so;
	if (sw_webhook_serve(&o, &err) < 0) {
		cli_error("serve webhook: %s", err.msg);
		rc = EXIT_ERROR;
	}
out:
	free(cache);
	cli_registry_free(&reg);
	cli_args_release(&a);
	return rc;
}
