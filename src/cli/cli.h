/* SPDX-License-Identifier: Apache-2.0 */
#ifndef SW_CLI_H
#define SW_CLI_H

#include <stddef.h>
#include <stdint.h>

/* Print "stowaway: <what>: <why>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "64M", "1GiB", "4096" -> bytes. -1 on error. */
int cli_parse_size(const char *s, uint64_t *out);
int cli_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* Append a borrowed string to a growing array. -1 on OOM. */
int cli_push(const char ***v, size_t *n, const char *s);

int cmd_scan(int argc, char **argv);
int cmd_rules(int argc, char **argv);
int cmd_name(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_policy(int argc, char **argv);

#define EXIT_CLEAN 0
#define EXIT_FINDINGS 1
#define EXIT_ERROR 2

#endif
