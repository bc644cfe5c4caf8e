/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stowaway keygen | sign: cosign-compatible keys and signatures.
 * The password comes from --password-file, $STOWAWAY_PASSWORD or
 * $COSIGN_PASSWORD, or a prompt on the terminal (echo off); it is wiped
 * after use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "stowaway/stowaway.h"
#include "cli.h"

#define PW_MAX 1024

void cli_wipe(char *p, size_t n)
{
	volatile char *v = p;

	while (n--)
		*v++ = 0;
}

static int prompt(const char *what, char *buf, size_t n)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	struct termios old, raw;
	size_t len = 0;

	if (fd < 0)
		return -1;
	if (write(fd, what, strlen(what)) < 0 || tcgetattr(fd, &old) < 0) {
		close(fd);
		return -1;
	}
	raw = old;
	raw.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(fd, TCSAFLUSH, &raw);
	while (len + 1 < n && read(fd, buf + len, 1) == 1 && buf[len] != '\n')
		len++;
	buf[len] = '\0';
	tcsetattr(fd, TCSAFLUSH, &old);
	(void)!write(fd, "\n", 1);
	close(fd);
	return 0;
}

/* 0 with the password in buf; -1 (reported) when none can be had. */
int cli_password(const char *file, bool confirm, char *buf, size_t n)
{
	const char *env = getenv("STOWAWAY_PASSWORD");

	if (!env)
		env = getenv("COSIGN_PASSWORD");
	if (file) {
		FILE *f = fopen(file, "r");
		size_t got;
		if (!f) {
			cli_error("--password-file %s: %s", file, strerror(errno));
			return -1;
		}
		got = fread(buf, 1, n - 1, f);
		fclose(f);
		while (got && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
			got--;
		buf[got] = '\0';
		return 0;
	}
	if (env) {
		snprintf(buf, n, "%s", env);
		return 0;
	}
	if (prompt("Password for the private key: ", buf, n) < 0) {
		cli_error("no password: give --password-file, or set STOWAWAY_PASSWORD or COSIGN_PASSWORD");
		return -1;
	}
	if (confirm) {
		char again[PW_MAX];
		int same = prompt("Again: ", again, sizeof(again)) == 0 && strcmp(again, buf) == 0;
		cli_wipe(again, sizeof(again));
		if (!same) {
			cli_error("the passwords differ");
			return -1;
		}
	}
	return 0;
}

int cmd_keygen(int argc, char **argv)
{
	const char *prefix = "cosign", *pwfile = NULL;
	char pw[PW_MAX], *priv, *pub;
	sw_error err = SW_ERROR_INIT;
	cli_args a;
	int c, rc;

	if (cli_args_init(&a, "keygen") < 0) {
		cli_args_release(&a);
		return EXIT_ERROR;
	}
	while ((c = cli_next(&a, argc, argv)) > 0) {
		if (c == CLI_O_PREFIX)
			prefix = optarg;
		else if (c == CLI_O_PWFILE)
			pwfile = optarg;
	}
	rc = c < 0 ? a.status : a.nops ? EXIT_ERROR : -1;
	if (c == 0 && a.nops)
		cli_error("keygen: takes no operands (try 'stowaway keygen --help')");
	cli_args_release(&a);
	if (rc >= 0)
		return rc;
	if (cli_password(pwfile, true, pw, sizeof(pw)) < 0)
		return EXIT_ERROR;
	priv = malloc(strlen(prefix) + 5);
	pub = malloc(strlen(prefix) + 5);
	if (!priv || !pub) {
		free(priv);
		free(pub);
		cli_wipe(pw, sizeof(pw));
		return EXIT_ERROR;
	}
	snprintf(priv, strlen(prefix) + 5, "%s.key", prefix);
	snprintf(pub, strlen(prefix) + 5, "%s.pub", prefix);
	rc = sw_key_generate(priv, pub, pw, &err);
	cli_wipe(pw, sizeof(pw));
	if (rc < 0)
		cli_error("%s", err.msg);
	else
		printf("Private key written to %s\nPublic key written to %s\n", priv, pub);
	free(priv);
	free(pub);
	return rc < 0 ? EXIT_ERROR : EXIT_CLEAN;
}

int cmd_sign(int argc, char **argv)
{
	sw_image_opts io = SW_IMAGE_OPTS_INIT;
	cli_registry reg;
	const char *keyfile = NULL, *pwfile = NULL, **ann = NULL, *name = NULL;
	size_t nann = 0;
	char pw[PW_MAX];
	sw_privkey *key = NULL;
	sw_error err = SW_ERROR_INIT;
	cli_args a;
	sw_json_out *jo = NULL;
	FILE *out;
	bool json, legacy = false;
	int c, i, r, rc = EXIT_CLEAN;

	cli_registry_init(&reg, &io);
	if (cli_args_init(&a, "sign") < 0) {
		rc = EXIT_ERROR;
		goto out;
	}
	a.reg = &reg;
	while ((c = cli_next(&a, argc, argv)) > 0) {
		switch (c) {
		case CLI_O_KEY: keyfile = optarg; break;
		case CLI_O_ANNOTATION:
			if (!strchr(optarg, '=') || optarg[0] == '=' || cli_push(&ann, &nann, optarg) < 0) {
				cli_error("-a: \"%s\" is not KEY=VALUE", optarg);
				rc = EXIT_ERROR;
				goto out;
			}
			break;
		case CLI_O_PWFILE: pwfile = optarg; break;
		case CLI_O_NAME: name = optarg; break;
		case CLI_O_BUNDLEFMT:
			if (cli_bundle_format(optarg, &legacy) < 0) {
				rc = EXIT_ERROR;
				goto out;
			}
			break;
		}
	}
	if (c < 0) {
		rc = a.status;
		goto out;
	}
	if (nann && !legacy) {
		cli_error("sign: -a annotations go in the legacy payload: add --bundle-format legacy");
		rc = EXIT_ERROR;
		goto out;
	}
	if (!keyfile || a.nops == 0) {
		cli_error("sign: expected --key FILE and at least one IMAGE (try 'stowaway sign --help')");
		rc = EXIT_ERROR;
		goto out;
	}
	argv = a.ops;
	argc = a.nops;
	if (cli_password(pwfile, false, pw, sizeof(pw)) < 0) {
		rc = EXIT_ERROR;
		goto out;
	}
	r = sw_privkey_load(keyfile, pw, &key, &err);
	cli_wipe(pw, sizeof(pw));
	if (r < 0) {
		cli_error("%s", err.msg);
		rc = EXIT_ERROR;
		goto out;
	}
	if (!(out = cli_open(&a))) {
		rc = EXIT_ERROR;
		goto out;
	}
	if ((json = cli_format(&a) == SW_FMT_JSON))
		jo = cli_json_begin("stowaway.sign/v1", "results");
	for (i = 0; i < argc; i++) {
		char digest[80] = "";
		if ((legacy ? sw_sign_image(argv[i], &io, key, name, ann, nann, digest, sizeof(digest), &err)
			    : sw_sign_image_bundle(argv[i], &io, key, name, digest, sizeof(digest), &err)) < 0) {
			cli_error("%s: %s", argv[i], err.msg);
			rc = EXIT_ERROR;
		} else if (json) {
			sw_json_out_obj(jo);
			sw_json_out_key(jo, "image");
			sw_json_out_str(jo, argv[i]);
			sw_json_out_key(jo, "digest");
			sw_json_out_str(jo, digest);
			sw_json_out_end(jo);
		} else {
			cli_line(out, "signed %s@%s", argv[i], digest);
		}
	}
	if (json)
		rc = cli_json_end(jo, out, rc);
	rc = cli_close(&a, out, rc);
out:
	sw_privkey_free(key);
	free(ann);
	cli_registry_free(&reg);
	cli_args_release(&a);
	return rc;
}
