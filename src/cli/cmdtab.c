/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every command of the CLI with its options, as data (cmdtab.h says who
 * reads it). The text here is what --help prints and what the man pages
 * and completions are made of, so it is written for people: an option's
 * help is a few lines of at most 50 columns, a description is wrapped at
 * 76 columns. The options shared by many commands (--format, --output,
 * --fail-on, --help, the registry's) are the macros below, one text each.
 */
#include <string.h>

#include "cmdtab.h"
#include "../lib/util/banned.h"

#define END { 0, NULL, 0, NULL, NULL, NULL }
#define HEADING(text) { 0, NULL, 0, NULL, text, NULL }

#define OPT_HELP { CLI_O_HELP, "help", 'h', NULL, "print this help and exit", NULL }
#define OPT_OUTPUT { CLI_O_OUTPUT, "output", 'o', "FILE", "write the result to FILE, not standard output", \
		     CLI_V_FILE }
#define OPT_FORMAT2 { CLI_O_FORMAT, "format", 'f', "FORMAT", "table or json (any case)", CLI_V_FORMATS2 }
#define OPT_FORMAT2_AUTO { CLI_O_FORMAT, "format", 'f', "FORMAT", \
			   "table or json (any case; default: table on a\nterminal, json otherwise)", \
			   CLI_V_FORMATS2 }
/* --fail-on where results have severities */
#define OPT_FAILON_SEV(dflt) { CLI_O_FAILON, "fail-on", 0, "SEVERITY", \
			       "exit 1 at or above: info, low, medium, high,\ncritical (any case; default " dflt \
			       "), or none:\nreport only, exit 0 unless an error", CLI_V_SEVERITIES }
/* --fail-on where results are judgements (denied, flagged, unsigned) */
#define OPT_FAILON_JUDGE(what) { CLI_O_FAILON, "fail-on", 0, "SEVERITY", \
				 "none: report only, exit 0 even when " what ";\nany severity: exit 1 then " \
				 "(the default)", CLI_V_SEVERITIES }

#define OPTS_REGISTRY \
	HEADING("registries (references such as alpine:3.20, ghcr.io/org/app@sha256:...):"), \
	{ CLI_O_INSECURE, "insecure-registry", 0, "HOST", \
	  "plain HTTP to HOST[:PORT] (test registries;\nrepeatable; setting insecure-registry)", NULL }, \
	{ CLI_O_CA, "ca", 0, "FILE", "trust the CA certificates in FILE (PEM) as well", CLI_V_FILE }, \
	{ CLI_O_CREDS, "creds", 0, "USER:PASSWORD", \
	  "credentials (default: ~/.docker/config.json,\n$DOCKER_CONFIG)", NULL }, \
	{ CLI_O_MIRROR, "mirror", 0, "HOST[:PORT]", \
	  "try this Docker Hub mirror first (repeatable;\nsetting mirror)", NULL }, \
	{ CLI_O_REGTIMEOUT, "registry-timeout", 0, "DURATION", \
	  "time without data before a transfer fails: 90,\n90s, 5m (default 30s; setting registry-timeout)", \
	  NULL }

/* keyless signatures (Sigstore bundles with a Fulcio certificate) */
#define OPTS_KEYLESS \
	{ CLI_O_CERTID, "certificate-identity", 0, "ID", \
	  "keyless: the certificate's SAN (URI or email),\nexactly", NULL }, \
	{ CLI_O_CERTIDRE, "certificate-identity-regexp", 0, "RE", \
	  "keyless: the SAN matches RE (POSIX extended,\nunanchored)", NULL }, \
	{ CLI_O_CERTISS, "certificate-oidc-issuer", 0, "URL", "keyless: the certificate's OIDC issuer, exactly", \
	  NULL }, \
	{ CLI_O_CERTISSRE, "certificate-oidc-issuer-regexp", 0, "RE", "keyless: the OIDC issuer matches RE", NULL }, \
	{ CLI_O_TRUSTROOT, "trusted-root", 0, "FILE", \
	  "a Sigstore trusted_root.json (default: the\npublic-good instance's, built in)", CLI_V_FILE }

#define OPT_PLATFORM { CLI_O_PLATFORM, "platform", 0, "OS/ARCH[/V]", \
		       "image to pick from a multi-platform index\n(default linux/amd64)", NULL }
#define OPT_PLATFORM_SCAN { CLI_O_PLATFORM, "platform", 0, "OS/ARCH[/V]", \
		       "scan only this platform of a multi-platform index\n(default: every platform)", NULL }

#define EXIT_SEVERITY "0 nothing at or above --fail-on; 1 findings at or above it; 2 an error."

/* An HTML page per image: the one text the commands that write them share. */
#define HTML_PAGES "html is a page per image for people: one image\nto --output FILE (or stdout), several to\n" \
	"--output DIR (made if missing), one file each"

static const cli_opt scan_opts[] = {
	{ CLI_O_FORMAT, "format", 'f', "FORMAT",
	  "table, json, sarif or html (any case; default:\ntable on a terminal, json otherwise); sarif is\n"
	  "SARIF 2.1.0 for GitHub code scanning, one\ndocument with a run per image (at most 20\nimages); "
	  HTML_PAGES, CLI_V_FORMATS_REPORT },
	OPT_OUTPUT,
	OPT_FAILON_SEV("high"),
	OPT_PLATFORM_SCAN,
	{ CLI_O_JOBS, "jobs", 'j', "N", "layers decoded in parallel (default: the number\nof cores)", NULL },
	{ CLI_O_IOC, "ioc", 0, "FILE",
	  "extra SHA-256 IOC list: \"sha256 severity category\nname\" per line (repeatable)", CLI_V_FILE },
	{ CLI_O_NOIOC, "no-bundled-ioc", 0, NULL, "do not load the bundled IOC list", NULL },
	{ CLI_O_RULES, "rules", 0, "PATH", "extra YARA rules: a file, or a directory read\nrecursively for *.yar, *.yara (repeatable)", CLI_V_FILE },
	{ CLI_O_NORULES, "no-bundled-rules", 0, NULL, "do not load the bundled YARA rules", NULL },
	{ CLI_O_RULESSKIP, "rules-skip-broken", 0, NULL,
	  "leave out --rules files that do not compile\n(each problem still listed) instead of failing", NULL },
	{ CLI_O_RULESSEV, "rules-severity", 0, "SEVERITY",
	  "severity of --rules rules whose meta gives none\n(default medium)", CLI_V_SEVERITIES },
	{ CLI_O_FILETIMEOUT, "file-timeout", 0, "DURATION", "YARA time per file (default 10s)", NULL },
	{ CLI_O_NOPREFILTER, "no-prefilter", 0, NULL,
	  "give every file to libyara (the prefilter skips\nfiles no rule can match; the findings are the\nsame)",
	  NULL },
	{ CLI_O_QUIET, "quiet", 'q', NULL, "no progress on stderr", NULL },
	OPT_HELP,
	HEADING("limits (exceeding one is reported as incomplete, never passed as clean):"),
	{ CLI_O_MAXFILESIZE, "max-file-size", 0, "SIZE",
	  "bytes of one file given to content detectors\n(default 256M)", NULL },
	{ CLI_O_MAXIMAGESIZE, "max-image-size", 0, "SIZE", "uncompressed bytes per image (default 32G)", NULL },
	{ CLI_O_MAXENTRIES, "max-entries", 0, "N", "tar entries per image (default 1000000)", NULL },
	{ CLI_O_MAXRATIO, "max-ratio", 0, "N", "uncompressed:compressed ratio per layer\n(default 250)", NULL },
	{ CLI_O_MAXPATH, "max-path", 0, "N", "bytes of an entry path (default 4096)", NULL },
	{ CLI_O_MAXDEPTH, "max-depth", 0, "N", "nested archive depth (default 4)", NULL },
	{ CLI_O_TIMEOUT, "timeout", 0, "DURATION", "per image: 90, 90s, 5m (default 600s)", NULL },
	HEADING("dynamic analysis and attestations:"),
	{ CLI_O_DYNAMIC, "dynamic", 0, NULL,
	  "also run the image in the sandbox (see stowaway\ndetonate) and merge what it does into the report",
	  NULL },
	{ CLI_O_DYNTIMEOUT, "dynamic-timeout", 0, "DURATION", "the sandbox's wall clock (default 30s)", NULL },
	{ CLI_O_ATTEST, "attest", 0, NULL,
	  "sign the verdict of each image (in-toto, DSSE)\nand attach it next to it: in its registry\n"
	  "repository or its OCI layout (needs --key)", NULL },
	{ CLI_O_KEY, "key", 0, "FILE", "private key for --attest (cosign format or PEM)", CLI_V_FILE },
	{ CLI_O_BUNDLEFMT, "bundle-format", 0, "FORMAT",
	  "--attest's: new, a Sigstore bundle stored as an\nOCI 1.1 referrer (cosign v3's default, the\n"
	  "default); legacy, the sha256-<digest>.att tag\n(cosign v2)", "new legacy" },
	{ CLI_O_PWFILE, "password-file", 0, "FILE",
	  "its password (else $STOWAWAY_PASSWORD,\n$COSIGN_PASSWORD, a prompt)", CLI_V_FILE },
	HEADING("layer cache (a layer already scanned with the same rules is not read again):"),
	{ CLI_O_CACHE, "cache", 0, "PATH",
	  "the SQLite file (default\n$XDG_CACHE_HOME/stowaway/layers.db; setting cache)", CLI_V_FILE },
	{ CLI_O_CACHEMAX, "cache-max", 0, "SIZE",
	  "keep at most SIZE, least recently used go first\n(default 2G)", NULL },
	{ CLI_O_NOCACHE, "no-cache", 0, NULL, "neither read nor write the cache", NULL },
	OPTS_REGISTRY,
	END,
};

static const cli_opt rules_opts[] = {
	{ CLI_O_RULES, "rules", 0, "PATH", "extra YARA rules: a file, or a directory read\nrecursively for *.yar, *.yara (repeatable)", CLI_V_FILE },
	{ CLI_O_NORULES, "no-bundled-rules", 0, NULL, "do not load the bundled YARA rules", NULL },
	{ CLI_O_NOPREFILTER, "no-prefilter", 0, NULL, "test: give every file to libyara", NULL },
	{ CLI_O_RULESSKIP, "rules-skip-broken", 0, NULL,
	  "leave out --rules files that do not compile\n(each problem still listed) instead of failing", NULL },
	{ CLI_O_RULESSEV, "rules-severity", 0, "SEVERITY",
	  "severity of --rules rules whose meta gives none\n(default medium)", CLI_V_SEVERITIES },
	{ CLI_O_FILETIMEOUT, "file-timeout", 0, "DURATION",
	  "test: YARA time per file (default 10s); a file\nover it is reported incomplete, the rest tested", NULL },
	{ CLI_O_CORPUS, "corpus", 0, "PATH",
	  "list: measure each rule's prefilter gate over\nthese files (directories read recursively;\nrepeatable)",
	  CLI_V_FILE },
	OPT_FORMAT2,
	OPT_OUTPUT,
	{ CLI_O_FAILON, "fail-on", 0, "SEVERITY",
	  "test: exit 1 when a rule of at least this\nseverity matched (any case; default info: any\n"
	  "match), or none: report only", CLI_V_SEVERITIES },
	OPT_HELP,
	END,
};

static const cli_opt name_opts[] = {
	OPT_FORMAT2_AUTO,
	OPT_OUTPUT,
	OPT_FAILON_JUDGE("a name is flagged"),
	OPT_HELP,
	END,
};

static const cli_opt check_opts[] = {
	{ CLI_O_POLICY, "policy", 0, "FILE",
	  "stowaway YAML or containers-policy.json (setting\npolicy; docs/policy.md)", CLI_V_FILE },
	{ CLI_O_FORMAT, "format", 'f', "FORMAT",
	  "table, json or html (any case; default: table on\na terminal, json otherwise); " HTML_PAGES
	  ",\nwith the decision and the scan", CLI_V_FORMATS_CHECK },
	OPT_OUTPUT,
	OPT_FAILON_JUDGE("an image is denied"),
	{ CLI_O_MANIFESTS, "manifests", 0, NULL,
	  "the operands are Dockerfiles, Kubernetes YAML,\ncompose files, directories of them, or -", NULL },
	{ CLI_O_SKIPDIRS, "skip-dirs", 0, "GLOB", "do not enter matching directories (repeatable)", NULL },
	{ CLI_O_SKIPFILES, "skip-files", 0, "GLOB", "do not read matching files (repeatable)", NULL },
	{ CLI_O_SCAN, "scan", 0, NULL, "scan registry images too (local images always\nare)", NULL },
	{ CLI_O_NOSCAN, "no-scan", 0, NULL, "scan only where the policy requires it", NULL },
	{ CLI_O_RESOLVE, "resolve", 0, NULL, "ask the registry what each tag points to (digest)", NULL },
	{ CLI_O_PLATFORM, "platform", 0, "OS/ARCH[/V]",
	  "scan only this platform of a multi-platform index\n(default: every platform; the worst decides)", NULL },
	{ CLI_O_CACHE, "cache", 0, "PATH", "the layer cache scans use (setting cache)", CLI_V_FILE },
	{ CLI_O_NOCACHE, "no-cache", 0, NULL, "neither read nor write the layer cache", NULL },
	OPT_HELP,
	OPTS_REGISTRY,
	END,
};

static const cli_opt policy_opts[] = {
	OPT_FORMAT2,
	OPT_OUTPUT,
	OPT_HELP,
	END,
};

#define STREAM_OPTS \
	OPT_PLATFORM, \
	{ CLI_O_MAXRATIO, "max-ratio", 0, "N", "stop at a layer that inflates more than N:1\n(default 250)", \
	  NULL }, \
	{ CLI_O_TIMEOUT, "timeout", 0, "DURATION", "stop after this long: 90, 90s, 5m (default 600s)", NULL }, \
	OPT_HELP

static const cli_opt pull_opts[] = {
	STREAM_OPTS,
	OPTS_REGISTRY,
	END,
};

static const cli_opt unpack_opts[] = {
	STREAM_OPTS,
	OPT_FORMAT2,
	OPT_OUTPUT,
	OPTS_REGISTRY,
	END,
};

static const cli_opt cache_opts[] = {
	{ CLI_O_CACHE, "cache", 0, "PATH",
	  "the SQLite file (default\n$XDG_CACHE_HOME/stowaway/layers.db; setting cache)", CLI_V_FILE },
	{ CLI_O_MAX, "max", 0, "SIZE", "prune: keep at most SIZE (64M, 2G, ...)", NULL },
	{ CLI_O_ALL, "all", 0, NULL, "prune: drop every entry", NULL },
	OPT_FORMAT2,
	OPT_OUTPUT,
	OPT_HELP,
	END,
};

static const cli_opt verify_opts[] = {
	{ CLI_O_KEY, "key", 0, "FILE", "a PEM public key (cosign.pub); repeatable", CLI_V_FILE },
	OPTS_KEYLESS,
	{ CLI_O_IDENTITY, "identity", 0, "RULE",
	  "any (cosign's default), repository (the signed\nname is the image's repository) or exact (and\nits tag)",
	  "any repository exact" },
	OPT_FORMAT2_AUTO,
	OPT_OUTPUT,
	OPT_FAILON_JUDGE("an image has no valid\nsignature"),
	OPT_HELP,
	OPTS_REGISTRY,
	END,
};

static const cli_opt vblob_opts[] = {
	{ CLI_O_BUNDLE, "bundle", 0, "FILE", "the Sigstore bundle (.sigstore.json)", CLI_V_FILE },
	{ CLI_O_KEY, "key", 0, "FILE", "a PEM public key: the bundle must be signed\nwith it (repeatable)", CLI_V_FILE },
	OPTS_KEYLESS,
	OPT_FORMAT2,
	OPT_OUTPUT,
	OPT_FAILON_JUDGE("the bundle is refused"),
	OPT_HELP,
	END,
};

static const cli_opt vatt_opts[] = {
	{ CLI_O_KEY, "key", 0, "FILE", "a PEM public key (cosign.pub); repeatable", CLI_V_FILE },
	OPTS_KEYLESS,
	{ CLI_O_TYPE, "type", 0, "TYPE",
	  "the predicate type: stowaway (the default: scan\nverdicts), cosign's names (custom,\n"
	  "slsaprovenance, slsaprovenance1, link, spdx,\ncyclonedx, vuln, openvex ...) or a URI",
	  "stowaway custom slsaprovenance slsaprovenance02 slsaprovenance1 link spdx spdxjson cyclonedx vuln openvex" },
	{ CLI_O_VERDICT, "verdict", 0, "VERDICT",
	  "stowaway's: the worst verdict that passes: clean,\nsuspicious or malicious (default: any)",
	  "clean suspicious malicious" },
	{ CLI_O_MAXAGE, "max-age", 0, "DURATION",
	  "stowaway's: the oldest scan that passes: 7\n(days), 12h, 90m, 7d (default: any age)", NULL },
	OPT_FORMAT2,
	OPT_OUTPUT,
	OPT_FAILON_JUDGE("an image has no passing\nattestation"),
	OPT_HELP,
	OPTS_REGISTRY,
	END,
};

static const cli_opt keygen_opts[] = {
	{ CLI_O_PREFIX, "output-key-prefix", 0, "PREFIX", "write PREFIX.key and PREFIX.pub (default cosign)",
	  CLI_V_FILE },
	{ CLI_O_PWFILE, "password-file", 0, "FILE",
	  "the password (else $STOWAWAY_PASSWORD,\n$COSIGN_PASSWORD, a prompt, twice)", CLI_V_FILE },
	OPT_HELP,
	END,
};

static const cli_opt sign_opts[] = {
	{ CLI_O_KEY, "key", 0, "FILE", "the private key (cosign, sigstore or PEM)", CLI_V_FILE },
	{ CLI_O_ANNOTATION, "annotation", 'a', "KEY=VALUE",
	  "add to the payload's \"optional\" part (repeatable)", NULL },
	{ CLI_O_NAME, "name", 0, "REF",
	  "the identity to sign (default: the image's\nrepository; a layout's recorded name). With a\n"
	  "tag, the signature passes verify --identity\nexact for that tag", NULL },
	{ CLI_O_NAME, "sign-container-identity", 0, "REF", "cosign's name for --name", NULL },
	{ CLI_O_BUNDLEFMT, "bundle-format", 0, "FORMAT",
	  "new: a Sigstore bundle stored as an OCI 1.1\nreferrer (cosign v3's default, the default);\n"
	  "legacy: the sha256-<digest>.sig tag (cosign v2)", "new legacy" },
	{ CLI_O_PWFILE, "password-file", 0, "FILE",
	  "its password (else $STOWAWAY_PASSWORD,\n$COSIGN_PASSWORD, a prompt)", CLI_V_FILE },
	OPT_FORMAT2,
	OPT_OUTPUT,
	OPT_HELP,
	OPTS_REGISTRY,
	END,
};

static const cli_opt detonate_opts[] = {
	{ CLI_O_CMD, "cmd", 0, "STRING", "run /bin/sh -c STRING instead of the image's\nEntrypoint and Cmd",
	  NULL },
	{ CLI_O_TIMEOUT, "timeout", 0, "DURATION",
	  "wall clock, then every process is killed: 90,\n90s, 5m (default 30s)", NULL },
	{ CLI_O_MEMORY, "memory", 0, "SIZE", "memory for the whole sandbox (default 1G)", NULL },
	{ CLI_O_MAXPROCS, "max-procs", 0, "N", "processes (default 256)", NULL },
	{ CLI_O_CPUS, "cpus", 0, "N", "CPUs for the sandbox (cgroup v2 where delegated;\ndefault all)", NULL },
	{ CLI_O_KEEP, "keep", 0, "DIR", "keep the root filesystem and executed files under\nDIR", CLI_V_DIR },
	{ CLI_O_FORMAT, "format", 'f', "FORMAT",
	  "table, json, sarif or html (any case; default:\ntable on a terminal, json otherwise); html is a\n"
	  "page for people", CLI_V_FORMATS_REPORT },
	OPT_OUTPUT,
	OPT_FAILON_SEV("high"),
	OPT_PLATFORM,
	{ CLI_O_RULES, "rules", 0, "DIR", "extra YARA rules for executed files (repeatable)", CLI_V_DIR },
	OPT_HELP,
	OPTS_REGISTRY,
	END,
};

static const cli_opt serve_opts[] = {
	{ CLI_O_CONFIG, "config", 0, "FILE", "gate: its configuration (docs/gate.md)", CLI_V_FILE },
	{ CLI_O_POLICY, "policy", 0, "FILE",
	  "webhook: the policy (docs/policy.md; setting\npolicy); without: look-alike names denied", CLI_V_FILE },
	{ CLI_O_TLSCERT, "tls-cert", 0, "FILE", "PEM certificate chain", CLI_V_FILE },
	{ CLI_O_TLSKEY, "tls-key", 0, "FILE", "its private key (PEM)", CLI_V_FILE },
	{ CLI_O_LISTEN, "listen", 0, "ADDR:PORT", "where to listen (default 0.0.0.0:8443)", NULL },
	{ CLI_O_DEADLINE, "deadline", 0, "DURATION",
	  "a review's time: 2.5, 2.5s, 500ms (default 2.5s);\nthen the images not yet decided are denied\n"
	  "\"not yet verified ..., retry\"", NULL },
	{ CLI_O_READTIMEOUT, "read-timeout", 0, "DURATION", "a request's headers and body (default 10s)", NULL },
	{ CLI_O_WORKERS, "workers", 0, "N", "decisions and tag lookups at once (default 4)", NULL },
	{ CLI_O_SCANWORKERS, "scan-workers", 0, "N", "scans at once (default 1)", NULL },
	{ CLI_O_MAXCONNS, "max-connections", 0, "N", "connections at once (default 4096)", NULL },
	{ CLI_O_ALLOWTTL, "allow-ttl", 0, "DURATION", "how long an admitting decision is kept\n(default 10m)", NULL },
	{ CLI_O_DENYTTL, "deny-ttl", 0, "DURATION",
	  "how long a denial or a failed lookup is kept\n(default 30s)", NULL },
	{ CLI_O_TAGTTL, "tag-ttl", 0, "DURATION", "how long a tag's digest is kept (default 30s)", NULL },
	{ CLI_O_CACHEENTRIES, "cache-entries", 0, "N", "names, tags and decisions kept (default 100000)", NULL },
	{ CLI_O_CACHEMEMORY, "cache-memory", 0, "SIZE", "the memory they may hold (default 256M)", NULL },
	{ CLI_O_CACHE, "cache", 0, "PATH", "the layer cache scans use, shared with 'scan'\n(setting cache)",
	  CLI_V_FILE },
	{ CLI_O_NOCACHE, "no-cache", 0, NULL, "neither read nor write the layer cache", NULL },
	OPT_HELP,
	OPTS_REGISTRY,
	END,
};

static const cli_opt watch_opts[] = {
	{ CLI_O_DB, "db", 0, "URL",
	  "the shared store: postgres://USER@HOST/DB (libpq's\nURI) or sqlite:PATH (default:\n"
	  "$STOWAWAY_WATCH_DB, else sqlite:\n$XDG_CACHE_HOME/stowaway/watch.db)", NULL },
	OPT_FORMAT2,
	OPT_OUTPUT,
	OPT_HELP,
	HEADING("run and sweep: what to sweep, and how:"),
	{ CLI_O_REGISTRY, "registry", 0, "HOST[:PORT]",
	  "sweep this registry (repeatable): its _catalog,\nor the --repo names", NULL },
	{ CLI_O_REPO, "repo", 0, "NAME", "sweep only this repository (repeatable;\nNAME or HOST/NAME)", NULL },
	{ CLI_O_REPOSFILE, "repos-file", 0, "FILE", "repository names, one per line (# comments)", CLI_V_FILE },
	{ CLI_O_NAMESPACE, "namespace", 0, "NS",
	  "sweep the repositories of NS (repeatable), listed\nby --hub-api (registries without _catalog)", NULL },
	{ CLI_O_HUBAPI, "hub-api", 0, "URL",
	  "a Docker Hub-shaped listing API: URL/v2/\nrepositories/NS/ (default for docker.io:\n"
	  "https://hub.docker.com)", NULL },
	{ CLI_O_NAMESAS, "names-as", 0, "REGISTRY",
	  "judge repository names as if they were on\nREGISTRY (docker.io for a Docker Hub mirror)", NULL },
	{ CLI_O_WORKERS, "workers", 0, "N", "jobs at once in this process (default 1)", NULL },
	{ CLI_O_JOBS, "jobs", 'j', "N", "layers decoded in parallel per image (default:\nthe number of cores)",
	  NULL },
	{ CLI_O_UNTILIDLE, "until-idle", 0, NULL, "exit when no job is queued or running", NULL },
	{ CLI_O_LEASE, "lease", 0, "DURATION",
	  "a job given back unless its worker renews it in\nthis time (default 5m)", NULL },
	{ CLI_O_RATE, "rate", 0, "N", "requests per second to each registry (default:\nno limit)", NULL },
	{ CLI_O_CONCURRENCY, "concurrency", 0, "N", "requests at once to each registry (default 8)", NULL },
	{ CLI_O_METRICS, "metrics", 0, "ADDR:PORT", "serve Prometheus' /metrics there", NULL },
	{ CLI_O_RULES, "rules", 0, "PATH", "extra YARA rules: a file, or a directory read\nrecursively for *.yar, *.yara (repeatable)", CLI_V_FILE },
	{ CLI_O_IOC, "ioc", 0, "FILE", "extra SHA-256 IOC list (repeatable)", CLI_V_FILE },
	{ CLI_O_TIMEOUT, "timeout", 0, "DURATION", "per image (default 600s)", NULL },
	{ CLI_O_QUIET, "quiet", 'q', NULL, "no progress line on stderr", NULL },
	HEADING("events:"),
	{ CLI_O_SINCE, "since", 0, "TIME",
	  "only events at or after TIME: RFC 3339\n(2026-12-07T10:00:00Z) or a DURATION ago (10m)", NULL },
	{ CLI_O_KIND, "kind", 0, "KIND",
	  "only one kind: new_image, new_layer, verdict,\ntag_moved, lookalike, failed",
	  "new_image new_layer verdict tag_moved lookalike failed" },
	OPTS_REGISTRY,
	END,
};

static const cli_opt report_opts[] = {
	{ CLI_O_FORMAT, "format", 'f', "FORMAT", "html (any case; the default): " HTML_PAGES, CLI_V_FORMATS_HTML },
	{ CLI_O_OUTPUT, "output", 'o', "PATH", "the page (FILE), or the directory of pages (DIR)", CLI_V_FILE },
	OPT_HELP,
	END,
};

static const cli_opt version_opts[] = {
	{ CLI_O_VERBOSE, "verbose", 'v', NULL,
	  "also every setting, its value and where it came\nfrom (default, config file, environment)", NULL },
	OPT_HELP,
	END,
};

static const cli_opt help_opts[] = {
	OPT_HELP,
	END,
};

const cli_cmd cli_cmds[] = {
	{ "scan", "static analysis of container images",
	  "scan [options] IMAGE...", NULL, CLI_V_IMAGE,
	  "Open each image, stream every layer once through the detectors (YARA rules,\n"
	  "SHA-256 IOC lists, heuristics, the image's config and history, the\n"
	  "entrypoint chain, nested archives) and report every finding with the layer\n"
	  "and build step that added it, and whether it is still in the final\n"
	  "filesystem. With several images and JSON, one report per line.\n"
	  "\n"
	  "IMAGE is one of:\n"
	  "  oci:DIR[:TAG]                     an OCI image layout\n"
	  "  oci-archive:FILE[:TAG]            a tar of one\n"
	  "  docker-archive:FILE[:REF|:@N]     docker save output\n"
	  "  dir:ROOTFS                        a root filesystem directory\n"
	  "  alpine:3.20, ghcr.io/org/app@...  a registry reference (docker://REF too)\n"
	  "  PATH                              sniffed: a layout, a rootfs or an archive\n"
	  "\n"
	  "With --format html, the page also says which cosign signatures and\n"
	  "attestations are next to the image (counted, not verified).",
	  CLI_V_FORMATS_REPORT, "high", EXIT_SEVERITY,
	  CLI_CMD_AUTOFMT | CLI_CMD_REGISTRY | CLI_CMD_CACHE | CLI_CMD_COLOR, scan_opts },
	{ "detonate", "run an image in a rootless, sinkholed sandbox and report what it does",
	  "detonate [options] IMAGE [-- CMD ARG...]", NULL, CLI_V_IMAGE,
	  "Run the image in a rootless sandbox (user, mount, PID, network, IPC, UTS and\n"
	  "cgroup namespaces; no capabilities; a seccomp filter; a sinkholed network) and\n"
	  "report what it did: the timeline of executions, connections, DNS names, pool\n"
	  "logins, file writes and refused syscalls, and the findings they make. Files it\n"
	  "executes are scanned with the static detectors.\n"
	  "\n"
	  "The image's Entrypoint and Cmd run, or --cmd STRING, or the command line\n"
	  "after \"--\" (options may come before or after IMAGE; everything after \"--\"\n"
	  "is the command's).",
	  CLI_V_FORMATS_REPORT, "high", EXIT_SEVERITY,
	  CLI_CMD_AUTOFMT | CLI_CMD_PASSTHRU | CLI_CMD_REGISTRY | CLI_CMD_COLOR, detonate_opts },
	{ "check", "may these images run? (names, policy, scan, signatures)",
	  "check [options] IMAGE...\ncheck [options] --manifests PATH...", NULL, CLI_V_IMAGE,
	  "IMAGE: a registry reference (nginx:1.27, ghcr.io/org/app@sha256:...) or a\n"
	  "local image (oci:DIR, oci-archive:FILE, docker-archive:FILE, dir:ROOTFS).\n"
	  "\n"
	  "--manifests reads Dockerfiles (FROM, COPY --from), Kubernetes YAML and\n"
	  "compose files (a file, a directory tree, or - for standard input) and\n"
	  "checks every image they name, reporting file and line. A file that cannot\n"
	  "be read (a YAML error, a Helm template) is an error on its own line; the\n"
	  "others are still checked. Compose ${VAR:-default} is expanded from the\n"
	  "environment and the .env beside the file.\n"
	  "\n"
	  "Without --policy (or the policy setting): look-alike names are denied, and\n"
	  "a scan (of local images, or with --scan) denies a high or critical finding\n"
	  "or an incomplete scan. Every decision lists what it did not check.\n"
	  "\n"
	  "--format html writes a page per image: the decision with its reasons, and\n"
	  "the scan's layers, findings and entrypoint chain when it scanned.",
	  CLI_V_FORMATS_CHECK, "any",
	  "0 every image is allowed (or --fail-on none); 1 one is denied; 2 an error.",
	  CLI_CMD_AUTOFMT | CLI_CMD_REGISTRY | CLI_CMD_CACHE | CLI_CMD_POLICY, check_opts },
	{ "name", "flag look-alike image names (typosquats, impersonation)",
	  "name [options] REF... | -", NULL, NULL,
	  "Judge image names against the bundled lists of Docker Hub official\n"
	  "images, known publishers and registry hosts:\n"
	  "  impersonation  a known name where its owner does not publish\n"
	  "                 (someuser/openjdk, library-nginx/nginx)\n"
	  "  typosquat      close to a known name (ngnix, bitnarni/redis, ghrc.io/...)\n"
	  "  ok             neither, with a note on what is known\n"
	  "\n"
	  "'-' reads one reference per line from standard input.",
	  CLI_V_FORMATS2, "any",
	  "0 all are ok (or --fail-on none); 1 one is flagged; 2 one is not a valid\nreference.",
	  CLI_CMD_AUTOFMT, name_opts },
	{ "policy", "check policy files",
	  "policy lint [options] FILE...", "lint", CLI_V_FILE,
	  "lint: read each policy (stowaway YAML, or containers-policy.json) and print\n"
	  "every problem as FILE:LINE: why, and every rule whose reach is not what it\n"
	  "seems as FILE:LINE: warning: why (an allow that can never match, a deny a\n"
	  "more specific allow cuts into, a scope no image can have, a requirement\n"
	  "stowaway cannot verify). The format is described in docs/policy.md.",
	  CLI_V_FORMATS2, NULL, "0 all are valid (warnings or not); 2 one is not, or an error.",
	  0, policy_opts },
	{ "rules", "the YARA rules a scan uses: list them, test them on files",
	  "rules list [options]\nrules lint [options]\nrules test [options] FILE...", "list lint test", CLI_V_FILE,
	  "list: every rule with its id, severity, category and title; a rule marked\n"
	  "      \"(every file)\" requires no literal the prefilter can look for, so\n"
	  "      every file goes to libyara while it is loaded (slower, never wrong).\n"
	  "      With --corpus, the share of those files on which each rule's gate\n"
	  "      was open (the rule alone would send them to libyara).\n"
	  "lint: read every --rules file and print every problem as FILE:LINE:\n"
	  "      error|warning: why; the files that compile still load.\n"
	  "test: run the rules over local files; one line per match, and one per\n"
	  "      file the rules could not finish (incomplete).",
	  CLI_V_FORMATS2, "info",
	  "list: 0, or 2 on an error. lint: 0 no error (warnings or not); 2 a file\n"
	  "does not compile. test: 0 nothing matched at or above --fail-on; 1\n"
	  "something did (an incomplete file counts as medium); 2 an error.",
	  0, rules_opts },
	{ "pull", "copy a registry image into an OCI layout",
	  "pull [options] IMAGE oci:DIR[:TAG]", NULL, CLI_V_IMAGE,
	  "Copy a registry image into a new OCI layout directory: its manifest, config\n"
	  "and layers byte for byte, each verified against its digest, tagged TAG in\n"
	  "the layout's index when given. Scan it later with 'stowaway scan oci:DIR',\n"
	  "offline. Layers are read as a scan reads them (decompressed, tar and\n"
	  "diff_id checked).",
	  NULL, NULL, "0 copied; 2 an error.",
	  CLI_CMD_REGISTRY, pull_opts },
	{ "unpack", "assemble an image's root filesystem in a directory",
	  "unpack [options] IMAGE DIR", NULL, CLI_V_IMAGE,
	  "Assemble the image's root filesystem in DIR (created, or empty): layers\n"
	  "applied with their whiteouts, nothing placed outside DIR or written through\n"
	  "a link, hard links made as links, no device nodes, setuid/setgid bits\n"
	  "dropped, digests checked. Prints what it made (JSON: schema\n"
	  "stowaway.unpack/v1).",
	  CLI_V_FORMATS2, NULL, "0 assembled; 2 an error.",
	  CLI_CMD_REGISTRY, unpack_opts },
	{ "cache", "the per-layer verdict cache: statistics, pruning",
	  "cache stats [options]\ncache prune [options] (--max SIZE | --all)", "stats prune", NULL,
	  "The layer cache (default $XDG_CACHE_HOME/stowaway/layers.db) keeps what\n"
	  "scanning each layer found, keyed by layer digest, rules and limits.\n"
	  "stats: entries, bytes, hits and misses. prune: drop least recently used\n"
	  "entries until at most SIZE remain, or all of them.",
	  CLI_V_FORMATS2, NULL, "0 done; 2 an error.",
	  CLI_CMD_CACHE, cache_opts },
	{ "verify", "check the cosign signatures of images",
	  "verify --key FILE [--key FILE]... [options] IMAGE...\n"
	  "verify --certificate-identity ID --certificate-oidc-issuer URL [options] IMAGE...", NULL, CLI_V_IMAGE,
	  "Verify cosign signatures: the legacy sha256-<digest>.sig format cosign\n"
	  "v1/v2 write (and v3 with --new-bundle-format=false), checked against the\n"
	  "keys, whose payload must name the image's digest; and the Sigstore bundles\n"
	  "cosign v3 writes, found through the registry's referrers API or, where it\n"
	  "has none, the sha256-<digest> tag (in an OCI layout: that tag in\n"
	  "index.json): signed with one of the keys, or keyless by a Fulcio\n"
	  "certificate for the identity and issuer given, checked offline as\n"
	  "verify-blob checks them (for the image's digest) against the trusted root.\n"
	  "Offline: a legacy signature's Rekor bundle is reported, not required; a\n"
	  "keyed bundle without log entries is accepted, entries present are checked.",
	  CLI_V_FORMATS2, "any",
	  "0 every image has a valid signature (or --fail-on none); 1 one has none;\n2 an error.",
	  CLI_CMD_AUTOFMT | CLI_CMD_REGISTRY, verify_opts },
	{ "verify-blob", "verify a Sigstore bundle for a file, offline",
	  "verify-blob --bundle FILE --key FILE [options] FILE|sha256:DIGEST\n"
	  "verify-blob --bundle FILE --certificate-identity ID --certificate-oidc-issuer URL [options] FILE|sha256:DIGEST",
	  NULL,
	  CLI_V_FILE,
	  "Verify a Sigstore bundle (cosign v3, sigstore-go, sigstore-python; media\n"
	  "types v0.1 to v0.3) for FILE, or for the artifact whose SHA-256 is\n"
	  "sha256:DIGEST when no such file exists, offline: the message signature or\n"
	  "DSSE envelope (an in-toto statement naming the artifact), every Rekor\n"
	  "entry (body, signed entry timestamp, inclusion proof and signed\n"
	  "checkpoint), every RFC 3161 timestamp, and, keyless, the certificate's\n"
	  "chain to a Fulcio CA when it was used, its SCT, identity and issuer.\n"
	  "Everything is checked against the trusted root: the built-in copy of the\n"
	  "public-good instance's (never fetched), or --trusted-root. The arguments\n"
	  "are those of the Sigstore conformance suite and of cosign verify-blob.",
	  CLI_V_FORMATS2, "any",
	  "0 verified (or --fail-on none); 1 refused, with the reason; 2 an error.",
	  0, vblob_opts },
	{ "verify-attestation", "check the attestations of images (scan --attest's verdicts, cosign's)",
	  "verify-attestation --key FILE [--key FILE]... [options] IMAGE...\n"
	  "verify-attestation --certificate-identity ID --certificate-oidc-issuer URL [options] IMAGE...", NULL,
	  CLI_V_IMAGE,
	  "Check the attestations of images: the signed scan verdicts 'stowaway scan\n"
	  "--attest' attaches (the default --type), or any in-toto predicate type\n"
	  "cosign attest stores (--type). Both formats are read: Sigstore bundles\n"
	  "(cosign v3's, found through the referrers API or the sha256-<digest> tag),\n"
	  "signed with one of the keys or keyless by a Fulcio certificate for the\n"
	  "identity and issuer given (checked offline against the trusted root), and\n"
	  "the legacy sha256-<digest>.att layers (keys). Each counts when its\n"
	  "signature checks, its statement names the image's digest and it is of the\n"
	  "type asked for; a verdict also by --verdict and --max-age.",
	  CLI_V_FORMATS2, "any",
	  "0 every image has one that passes (or --fail-on none); 1 one has none;\n2 an error.",
	  CLI_CMD_REGISTRY, vatt_opts },
	{ "sign", "sign images as cosign does",
	  "sign --key FILE [options] IMAGE...", NULL, CLI_V_IMAGE,
	  "Sign registry images (or OCI layouts, oci:DIR) as cosign v3 does by default:\n"
	  "an in-toto statement for the image's digest in a DSSE envelope, in a Sigstore\n"
	  "bundle (no Rekor entry: stowaway signs offline), stored as an OCI 1.1\n"
	  "referrer of the image, with the sha256-<digest> tag's index kept for\n"
	  "registries without the referrers API. --bundle-format legacy signs as cosign\n"
	  "v1/v2 (simple signing, a layer of the sha256-<digest>.sig manifest; -a\n"
	  "annotations go in its payload). Signatures already there are kept. The key\n"
	  "is a cosign or sigstore encrypted private key, or a plain PEM private key.\n"
	  "Prints each image signed with its digest (JSON: schema stowaway.sign/v1).",
	  CLI_V_FORMATS2, NULL, "0 every image signed; 2 an error.",
	  CLI_CMD_REGISTRY, sign_opts },
	{ "keygen", "write a cosign-format key pair",
	  "keygen [options]", NULL, NULL,
	  "Write PREFIX.key (ECDSA P-256, cosign's encrypted format: scrypt N=32768 +\n"
	  "nacl/secretbox, ENCRYPTED COSIGN PRIVATE KEY) and PREFIX.pub (PEM PUBLIC KEY).\n"
	  "Existing files are never overwritten.",
	  NULL, NULL, "0 written; 2 an error.",
	  0, keygen_opts },
	{ "serve", "the admission webhook, or the registry gate",
	  "serve webhook --tls-cert FILE --tls-key FILE [options]\n"
	  "serve gate --config FILE [--listen ADDR:PORT] [--cache PATH]", "webhook gate", NULL,
	  "serve webhook: a Kubernetes admission webhook (AdmissionReview v1) over HTTPS (HTTP/1.1 and\n"
	  "HTTP/2). POST /validate judges the images of Pods and of every kind with a\n"
	  "pod template, as 'stowaway check' judges them; POST /mutate judges them too\n"
	  "and pins each admitted image to the digest judged (a JSONPatch). Decisions,\n"
	  "tag lookups and name verdicts are cached; a scan the policy requires runs in\n"
	  "the background. GET /healthz and /readyz answer probes, /metrics Prometheus.\n"
	  "One JSON line per review on stderr. The certificate, key and policy are\n"
	  "re-read when their files change (a policy that does not load is refused and\n"
	  "the old one stays). SIGTERM answers the reviews in flight, then exits 0.\n\n"
	  "serve gate: a pull-through registry (GET and HEAD of the distribution API, over\n"
	  "HTTPS) in front of the upstreams its configuration names. A manifest is\n"
	  "served only after the image was judged as 'check' judges it and scanned as it\n"
	  "was fetched into the gate's store; a denial is the registry error DENIED with\n"
	  "the reasons, which docker, podman, skopeo and ctr print. Blobs are served only\n"
	  "for images allowed. See docs/gate.md.",
	  NULL, NULL, "0 after SIGTERM; 2 an error (it could not start).",
	  CLI_CMD_REGISTRY | CLI_CMD_POLICY | CLI_CMD_CACHE, serve_opts },
	{ "watch", "sweep whole registries, on one machine or many",
	  "watch run [--registry HOST]... [options]\n"
	  "watch sweep --registry HOST [--registry HOST]... [options]\n"
	  "watch status|events|report [--db URL] [options]", "run sweep status events report", NULL,
	  "watch run: enumerate each registry (its _catalog, or the --repo names), resolve\n"
	  "every tag to a digest with HEAD requests, and judge every image on every\n"
	  "platform: names as 'name' judges them, layers as 'scan' scans them. The\n"
	  "store (--db) is the work queue, the verdicts and the layer cache: any\n"
	  "number of 'watch run' on any number of machines share one PostgreSQL\n"
	  "database, a layer scanned by one is reused by all, a killed worker's job\n"
	  "goes back to the queue when its lease runs out, and a run that stops is\n"
	  "continued by the next. A sweep of a registry already running is joined; a\n"
	  "new one finds what changed (new tags, tags moved) and judges only images\n"
	  "not judged before. Requests to each registry are bounded (--rate,\n"
	  "--concurrency) and 429 answers pause them. Without --registry, run only\n"
	  "works the queue (the workers of a fleet); watch sweep only starts the\n"
	  "sweeps (a periodic job) and exits.\n\n"
	  "watch status: the queue and the store in figures. watch events: what\n"
	  "happened (new images and layers, verdicts that changed, tags moved,\n"
	  "look-alike repositories, jobs that failed), as JSON lines or a table.\n"
	  "watch report: the malicious and suspicious images with their findings, and\n"
	  "the look-alike repositories. See docs/SCALE.md.",
	  CLI_V_FORMATS2, NULL,
	  "run: 0 stopped or idle; 2 an error. status, events: 0; 2 an error. report: 0\n"
	  "nothing found; 1 a malicious or suspicious image or a look-alike; 2 an\nerror.",
	  CLI_CMD_REGISTRY, watch_opts },
	{ "report", "render saved JSON reports as HTML pages",
	  "report [options] FILE...", NULL, CLI_V_FILE,
	  "Render reports that scan or detonate saved with --format json as the page\n"
	  "--format html writes (check's JSON is a list of decisions, not a report).\n"
	  "FILE holds one report, or one per line as scan writes several; - is\n"
	  "standard input. The page is made from the JSON alone, so it is the page\n"
	  "the scan would have written, except that nothing is looked up again (the\n"
	  "signatures next to the image).",
	  CLI_V_FORMATS_HTML, NULL, "0 every page written; 2 an error (a file that is not a stowaway report).",
	  0, report_opts },
	{ "version", "print the version and, with --verbose, the settings in force",
	  "version [--verbose]", NULL, NULL,
	  "Print the version and whether the YARA prefilter is built in. --verbose adds\n"
	  "the config file read and every setting: its value and where it came from.",
	  NULL, NULL, "0; 2 when the config file cannot be read.",
	  0, version_opts },
	{ "help", "print the list of commands, or a command's help",
	  "help [COMMAND]", NULL, NULL,
	  "Print the list of commands, or the help of one (as COMMAND --help).",
	  NULL, NULL, "0; 2 for an unknown command.",
	  CLI_CMD_NOMAN, help_opts },
};

const size_t cli_ncmds = sizeof(cli_cmds) / sizeof(cli_cmds[0]);

const cli_cmd *cli_cmd_find(const char *name)
{
	size_t i;

	for (i = 0; name && i < cli_ncmds; i++)
		if (strcmp(cli_cmds[i].name, name) == 0)
			return &cli_cmds[i];
	return NULL;
}

const cli_setting_def cli_settings[CLI_S_COUNT] = {
	[CLI_S_CACHE] = { "cache", "STOWAWAY_CACHE", "cache", false, true, CLI_CMD_CACHE,
			  "the layer cache's SQLite file" },
	[CLI_S_REGTIMEOUT] = { "registry-timeout", "STOWAWAY_REGISTRY_TIMEOUT", "registry-timeout", false, false,
			       CLI_CMD_REGISTRY, "time without data before a registry transfer fails" },
	[CLI_S_INSECURE] = { "insecure-registry", "STOWAWAY_INSECURE_REGISTRY", "insecure-registry", true, false,
			     CLI_CMD_REGISTRY, "registries reached over plain HTTP (a list)" },
	[CLI_S_MIRROR] = { "mirror", "STOWAWAY_MIRROR", "mirror", true, false, CLI_CMD_REGISTRY,
			   "Docker Hub mirrors tried first (a list)" },
	[CLI_S_POLICY] = { "policy", "STOWAWAY_POLICY", "policy", false, true, CLI_CMD_POLICY,
			   "the policy check applies" },
};

const char cli_config_doc[] = "$XDG_CONFIG_HOME/stowaway/config.yaml";

const char *const cli_environment[] = {
	"STOWAWAY_CONFIG", "the config file to read instead of " "$XDG_CONFIG_HOME/stowaway/config.yaml "
			   "(~/.config when XDG_CONFIG_HOME is unset); empty: none",
	"NO_COLOR", "when set and not empty, tables have no colours",
	"CLICOLOR_FORCE", "when set and not 0, tables have colours even when not written to a terminal "
			  "(NO_COLOR wins)",
	"XDG_CACHE_HOME", "where the layer cache and compiled rules live (default ~/.cache)",
	"STOWAWAY_PASSWORD", "a private key's password (sign, keygen, scan --attest); also COSIGN_PASSWORD",
	NULL,
};
