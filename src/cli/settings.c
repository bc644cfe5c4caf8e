/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Settings people set once (cmdtab.c: cli_settings): the layer cache's
 * path, the registry timeout, insecure registries, Docker Hub mirrors, the
 * policy. Each comes from, in order of precedence: the command's flag, a
 * STOWAWAY_* environment variable, the config file
 * ($XDG_CONFIG_HOME/stowaway/config.yaml, or $STOWAWAY_CONFIG), the
 * default. They are read once, before the command runs, and each value
 * remembers where it came from, for `stowaway version --verbose`. A flag
 * replaces a setting's values whole, lists too: what a command line says
 * is all there is.
 *
 * The config file is read by the library's sw_config_read (the one YAML
 * reader, with its bounds); this file gives the names their meaning. A
 * relative path in the config file is relative to the file's directory, as
 * key paths in a policy are relative to the policy; in the environment, to
 * the working directory, as on a command line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stowaway/stowaway.h"
#include "cli.h"

#define MAX_VALUES 64

enum { FROM_DEFAULT, FROM_CONFIG, FROM_ENV };

typedef struct setting {
	int from;
	char where[600];  /* "config file PATH:LINE", "environment NAME" */
	char **v;         /* owned */
	size_t n;
	double secs;      /* registry-timeout */
} setting;

static setting vals[CLI_S_COUNT];
static char *config_path;  /* owned; NULL: none looked for */
static int config_state;   /* 0 not present, 1 read, 2 unreadable (ignored) */
static int config_errno;   /* why, for 2 */

static void clear(setting *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

void cli_settings_free(void)
{
	size_t i;

	for (i = 0; i < CLI_S_COUNT; i++)
		clear(&vals[i]);
	free(config_path);
	config_path = NULL;
}

static int add(setting *s, const char *dir, const char *value)
{
	char **v;
	char *copy;
	size_t n;

	if (s->n >= MAX_VALUES) {
		cli_error("%s: more than %d values", s->where, MAX_VALUES);
		return -1;
	}
	if (dir && value[0] != '/') {
		n = strlen(dir) + strlen(value) + 2;
		if ((copy = malloc(n)))
			snprintf(copy, n, "%s/%s", dir, value);
	} else {
		copy = strdup(value);
	}
	if (!copy || !(v = realloc(s->v, (s->n + 1) * sizeof(*v)))) {
		free(copy);
		cli_error("out of memory");
		return -1;
	}
	v[s->n++] = copy;
	s->v = v;
	return 0;
}

static int find_key(const char *key)
{
	int i;

	for (i = 0; i < CLI_S_COUNT; i++)
		if (strcmp(cli_settings[i].key, key) == 0)
			return i;
	return -1;
}

typedef struct reading {
	const char *path;
	char *dir;        /* the config file's directory (paths are relative to it) */
} reading;

static int on_value(void *ctx, const char *key, const char *value, int line, int is_list)
{
	reading *r = ctx;
	int i = find_key(key);
	setting *s;

	if (i < 0) {
		cli_error("%s:%d: unknown setting \"%s\" (known: cache, registry-timeout, insecure-registry, mirror, "
			  "policy)", r->path, line, key);
		return 1;
	}
	s = &vals[i];
	if (is_list && !cli_settings[i].list) {
		cli_error("%s:%d: %s takes one value, not a list", r->path, line, key);
		return 1;
	}
	if (!value[0]) {
		cli_error("%s:%d: %s: empty value", r->path, line, key);
		return 1;
	}
	if (s->from == FROM_DEFAULT) {
		s->from = FROM_CONFIG;
		snprintf(s->where, sizeof(s->where), "config file %s:%d", r->path, line);
	}
	return add(s, cli_settings[i].path ? r->dir : NULL, value) < 0 ? 1 : 0;
}

/* Where the config file is: $STOWAWAY_CONFIG (empty: none), else
 * $XDG_CONFIG_HOME or ~/.config, then stowaway/config.yaml. NULL with
 * *explicit false when there is no place to look. */
static char *config_file(bool *explicit)
{
	const char *env = getenv("STOWAWAY_CONFIG"), *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char buf[4096];

	*explicit = env != NULL;
	if (env)
		return env[0] ? strdup(env) : NULL;
	if (xdg && xdg[0] == '/')
		snprintf(buf, sizeof(buf), "%s/stowaway/config.yaml", xdg);
	else if (home && home[0])
		snprintf(buf, sizeof(buf), "%s/.config/stowaway/config.yaml", home);
	else
		return NULL;
	return strdup(buf);
}

static int read_config(void)
{
	sw_error err = SW_ERROR_INIT;
	reading r = { NULL, NULL };
	bool explicit;
	char *slash;
	int rc;

	if (!(config_path = config_file(&explicit)))
		return 0;
	r.path = config_path;
	if (!(r.dir = strdup(config_path))) {
		cli_error("out of memory");
		return -1;
	}
	slash = strrchr(r.dir, '/');
	if (slash == r.dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(r.dir, strlen(r.dir) + 1, ".");
	rc = sw_config_read(config_path, on_value, &r, &err);
	free(r.dir);
	if (rc == SW_ENOTFOUND && !explicit) {
		/* no config file, the usual case; or one we may not read (a
		 * command run as another user with root's $HOME), as git does */
		config_errno = errno;
		config_state = errno == ENOENT || errno == ENOTDIR ? 0 : 2;
		return 0;
	}
	if (rc < 0)
		cli_error("config file %s", err.msg);
	if (rc != 0)
		return -1;
	config_state = 1;
	return 0;
}

/* STOWAWAY_* over the config file: lists split at commas and blanks. */
static int read_env(void)
{
	size_t i;

	for (i = 0; i < CLI_S_COUNT; i++) {
		const cli_setting_def *d = &cli_settings[i];
		const char *e = getenv(d->env);
		setting *s = &vals[i];
		char *copy, *p, *save = NULL;

		if (!e || !e[0])
			continue;
		clear(s);
		s->from = FROM_ENV;
		snprintf(s->where, sizeof(s->where), "environment %s", d->env);
		if (!d->list) {
			if (add(s, NULL, e) < 0)
				return -1;
			continue;
		}
		if (!(copy = strdup(e))) {
			cli_error("out of memory");
			return -1;
		}
		for (p = strtok_r(copy, ", \t\n", &save); p; p = strtok_r(NULL, ", \t\n", &save))
			if (add(s, NULL, p) < 0) {
				free(copy);
				return -1;
			}
		free(copy);
	}
	return 0;
}

int cli_settings_load(void)
{
	setting *t = &vals[CLI_S_REGTIMEOUT];

	if (read_config() < 0 || read_env() < 0)
		return -1;
	if (t->n && cli_parse_duration(t->v[0], 1, 3600, &t->secs) < 0) {
		cli_error("%s: registry-timeout \"%s\" is not a duration (90, 90s, 5m; up to 3600 s)", t->where,
			  t->v[0]);
		return -1;
	}
	return 0;
}

const char *cli_setting(int id)
{
	return vals[id].n ? vals[id].v[0] : NULL;
}

size_t cli_setting_list(int id, const char *const **v)
{
	*v = (const char *const *)vals[id].v;
	return vals[id].n;
}

static double cli_setting_timeout(void)
{
	return vals[CLI_S_REGTIMEOUT].n ? vals[CLI_S_REGTIMEOUT].secs : 0;
}

char *cli_cache_path(const char *flag)
{
	const char *s = flag ? flag : cli_setting(CLI_S_CACHE);

	return s ? strdup(s) : sw_cache_default_path();
}

void cli_settings_print(FILE *f)
{
	size_t i, k;

	if (!config_path)
		cli_line(f, "config file: none (STOWAWAY_CONFIG is empty, or no $HOME)");
	else
		cli_line(f, "config file: %s (%s)", config_path,
			 config_state == 1 ? "read" : config_state ? strerror(config_errno) : "not present");
	fprintf(f, "settings:\n");
	for (i = 0; i < CLI_S_COUNT; i++) {
		const setting *s = &vals[i];
		char value[2048] = "";
		size_t len = 0;

		for (k = 0; k < s->n && len < sizeof(value); k++)
			len += (size_t)snprintf(value + len, sizeof(value) - len, "%s%s", k ? "," : "", s->v[k]);
		if (!s->n && i == CLI_S_CACHE) {
			char *def = sw_cache_default_path();
			snprintf(value, sizeof(value), "%s", def ? def : "(none: no $XDG_CACHE_HOME or $HOME)");
			free(def);
		} else if (!s->n) {
			snprintf(value, sizeof(value), "%s",
				 i == CLI_S_REGTIMEOUT ? "30s" : i == CLI_S_POLICY ? "(none: the built-in policy)" : "(none)");
		}
		cli_line(f, "  %-18s %-40s  %s", cli_settings[i].key, value,
			 s->from == FROM_DEFAULT ? "default" : s->where);
	}
}

void cli_registry_init(cli_registry *r, sw_image_opts *io)
{
	const char *const *v;
	size_t n, i;

	memset(r, 0, sizeof(*r));
	io->registry = &r->o;
	for (i = 0, n = cli_setting_list(CLI_S_INSECURE, &v); i < n; i++)
		if (cli_push(&r->insecure, &r->ninsecure, v[i]) == 0)
			r->insecure_set = true;
	for (i = 0, n = cli_setting_list(CLI_S_MIRROR, &v); i < n; i++)
		if (cli_push(&r->mirrors, &r->nmirrors, v[i]) == 0)
			r->mirrors_set = true;
	r->o.insecure = r->insecure;
	r->o.n_insecure = r->ninsecure;
	r->o.mirrors = r->mirrors;
	r->o.n_mirrors = r->nmirrors;
	if (cli_setting_timeout() > 0) {
		r->o.stall_timeout = cli_setting_timeout();
		r->o.connect_timeout = r->o.stall_timeout < 15 ? r->o.stall_timeout : 15;
	}
}
