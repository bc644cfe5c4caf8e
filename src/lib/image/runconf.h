/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What an image runs (runconf.c): Entrypoint, Cmd, Env, PATH, WorkingDir
 * and User read once, the way a runtime reads them, for every part that
 * asks (the config analyser, the entrypoint chain, the sandbox). Internal.
 */
#ifndef SW_IMAGE_RUNCONF_H
#define SW_IMAGE_RUNCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/util.h"

#define SW_RUNCONF_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define SW_RUNCONF_MAX_ARGS 4096  /* of Entrypoint + Cmd, and of Env */

typedef struct sw_runconf {
	char **argv;          /* Entrypoint then Cmd, NULL-terminated; owned */
	size_t argc, nentry;  /* how many, and how many came from Entrypoint */
	char **env;           /* "NAME=value" entries, NULL-terminated; owned */
	size_t nenv;
	const char *path;     /* PATH's value (the last PATH= in Env), or the default */
	bool has_path, has_home;
	char *workdir;        /* WorkingDir when absolute, else NULL */
	char *user;           /* User, or NULL when unset or empty (either, with
				 a NUL inside: NULL, and counted in dropped) */
	size_t dropped;       /* entries a runtime could not pass: not strings, a
				 NUL inside, an Env entry without '=', past the bound */
} sw_runconf;

/* Read config_json's "config" object (an image config, as verified). No
 * config or no "config" object gives an empty run configuration, not an
 * error. SW_EFORMAT when the JSON does not parse, SW_ENOMEM. *rc is always
 * safe to release. */
int sw_runconf_parse(const char *config_json, size_t len, sw_runconf *rc);
/* The same from an already parsed "config" object (may be NULL). */
int sw_runconf_from(const sw_json *cfg, sw_runconf *rc);
void sw_runconf_release(sw_runconf *rc);

#endif
