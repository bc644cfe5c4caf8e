/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The run configuration, read once. Three readers once parsed it each their
 * own way and disagreed on the edges an attacker picks: a string with a NUL
 * inside (a runtime cannot pass it to execve: it refuses to start, so it is
 * dropped and counted here, never silently cut short), an Env entry without
 * '=' (no variable), which of two PATH= entries wins (the last, as
 * execve's environment and the runtimes' Env merge leave it), and how many
 * arguments count. Every reader now sees the same argv, Env and PATH.
 */
#include <stdlib.h>
#include <string.h>

#include "runconf.h"
#include "../util/banned.h"

static int push(char ***v, size_t *n, const char *s, size_t len)
{
	char *c;

	if (SW_GROW(*v, *n + 1) < 0)
		return SW_ENOMEM;
	(*v)[*n] = NULL; /* terminated before anything else can fail */
	if (!(c = sw__strndup(s, len)))
		return SW_ENOMEM;
	(*v)[(*n)++] = c;
	(*v)[*n] = NULL;
	return 0;
}

/* A string a runtime can pass: a JSON string without NUL inside. */
static bool passable(const sw_json *e)
{
	return e->type == SW_JSON_STR && !memchr(e->s, '\0', e->slen);
}

static int args(const sw_json *arr, sw_runconf *rc)
{
	const sw_json *e;
	int r;

	for (e = arr ? arr->child : NULL; e; e = e->next) {
		if (!passable(e) || rc->argc >= SW_RUNCONF_MAX_ARGS) {
			rc->dropped++;
			continue;
		}
		if ((r = push(&rc->argv, &rc->argc, e->s, e->slen)) < 0)
			return r;
	}
	return 0;
}

int sw_runconf_from(const sw_json *cfg, sw_runconf *rc)
{
	const sw_json *e;
	const char *s;
	int r;

	memset(rc, 0, sizeof(*rc));
	rc->path = SW_RUNCONF_DEFAULT_PATH;
	if ((r = args(sw_json_get_arr(cfg, "Entrypoint"), rc)) < 0)
		return r;
	rc->nentry = rc->argc;
	if ((r = args(sw_json_get_arr(cfg, "Cmd"), rc)) < 0)
		return r;
	for (e = sw_json_get_arr(cfg, "Env") ? sw_json_get_arr(cfg, "Env")->child : NULL; e; e = e->next) {
		if (!passable(e) || !strchr(e->s, '=') || e->s[0] == '=' || rc->nenv >= SW_RUNCONF_MAX_ARGS) {
			rc->dropped++;
			continue;
		}
		if ((r = push(&rc->env, &rc->nenv, e->s, e->slen)) < 0)
			return r;
		if (strncmp(e->s, "PATH=", 5) == 0) {
			rc->has_path = true;
			rc->path = rc->env[rc->nenv - 1] + 5;
		}
		rc->has_home |= strncmp(e->s, "HOME=", 5) == 0;
	}
	/* a NUL inside these cannot be passed either (chdir, the user lookup) */
	if ((e = sw_json_get(cfg, "WorkingDir")) && e->type == SW_JSON_STR && !passable(e))
		rc->dropped++;
	else if ((s = sw_json_get_str(cfg, "WorkingDir")) && s[0] == '/' && !(rc->workdir = sw__strdup(s)))
		return SW_ENOMEM;
	if ((e = sw_json_get(cfg, "User")) && e->type == SW_JSON_STR && !passable(e))
		rc->dropped++;
	else if ((s = sw_json_get_str(cfg, "User")) && s[0] && !(rc->user = sw__strdup(s)))
		return SW_ENOMEM;
	return 0;
}

int sw_runconf_parse(const char *config_json, size_t len, sw_runconf *rc)
{
	sw_json_doc *doc = NULL;
	int r;

	memset(rc, 0, sizeof(*rc));
	rc->path = SW_RUNCONF_DEFAULT_PATH;
	if (!config_json)
		return 0;
	if ((r = sw_json_parse(config_json, len, &doc, NULL)) < 0)
		return r == SW_ENOMEM ? r : SW_EFORMAT; /* out of memory is no verdict on the config */
	r = sw_runconf_from(sw_json_get_obj(sw_json_root(doc), "config"), rc);
	sw_json_free(doc);
	return r;
}

static void strv_free(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void sw_runconf_release(sw_runconf *rc)
{
	if (!rc)
		return;
	strv_free(rc->argv);
	strv_free(rc->env);
	free(rc->workdir);
	free(rc->user);
	memset(rc, 0, sizeof(*rc));
	rc->path = SW_RUNCONF_DEFAULT_PATH;
}
