/* SPDX-License-Identifier: Apache-2.0 */
#ifndef SW_CLI_H
#define SW_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Print "stowaway: <what>: <why>" to stderr, the formatted message escaped
 * whole for the terminal (stowaway/term.h): it may quote an image. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print one line to f the same way: fmt formatted (without a newline),
 * escaped whole, then '\n'. Every line that shows a reference, a path, a
 * reason or anything else from outside goes through here or cli_error. */
void cli_line(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "OPT: invalid value \"VAL\"" on stderr; returns EXIT_ERROR. */
int cli_bad(const char *opt, const char *val);
/* "64M", "1GiB", "4096" -> bytes. -1 on error. */
int cli_parse_size(const char *s, uint64_t *out);
int cli_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* Append a borrowed string to a growing array. -1 on OOM. */
int cli_push(const char ***v, size_t *n, const char *s);

/* Registry options shared by the verbs that reach registries. */
#include "stowaway/image.h"

enum { O_REG_INSECURE = 1000, O_REG_CA, O_REG_CREDS, O_REG_MIRROR, O_REG_TIMEOUT };
#define CLI_REGISTRY_LONGOPTS \
	{ "insecure-registry", required_argument, NULL, O_REG_INSECURE }, \
	{ "ca", required_argument, NULL, O_REG_CA }, \
	{ "creds", required_argument, NULL, O_REG_CREDS }, \
	{ "mirror", required_argument, NULL, O_REG_MIRROR }, \
	{ "registry-timeout", required_argument, NULL, O_REG_TIMEOUT }
#define CLI_REGISTRY_HELP \
	"registries (references such as alpine:3.20, ghcr.io/org/app@sha256:...):\n" \
	"  --insecure-registry HOST  plain HTTP to HOST[:PORT] (test registries; repeatable)\n" \
	"  --ca FILE               trust the CA certificates in FILE (PEM) as well\n" \
	"  --creds USER:PASSWORD   credentials (default: ~/.docker/config.json, $DOCKER_CONFIG)\n" \
	"  --mirror HOST[:PORT]    try this Docker Hub mirror first (repeatable)\n" \
	"  --registry-timeout S    seconds without data before a transfer fails (default 30)\n"

typedef struct cli_registry {
	sw_registry_opts o;
	const char **insecure, **mirrors;
	size_t ninsecure, nmirrors;
} cli_registry;

/* 1: option handled; 0: not a registry option; -1: bad value (reported). */
int cli_registry_opt(cli_registry *r, int c, const char *arg);
void cli_registry_free(cli_registry *r);
/* Zero r and point io's registry options at it. */
void cli_registry_init(cli_registry *r, sw_image_opts *io);
/* A private key's password: --password-file, $STOWAWAY_PASSWORD,
 * $COSIGN_PASSWORD or a prompt (twice when confirm). -1 when none. */
int cli_password(const char *file, bool confirm, char *buf, size_t n);
void cli_wipe(char *p, size_t n);

int cmd_scan(int argc, char **argv);
int cmd_rules(int argc, char **argv);
int cmd_name(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_unpack(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_verify_attestation(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_detonate(int argc, char **argv);

#define EXIT_CLEAN 0
#define EXIT_FINDINGS 1
#define EXIT_ERROR 2

/* Last: the functions no file may use (every command includes this header
 * after its system headers, so none can miss it). */
#include "../lib/util/banned.h"

#endif
