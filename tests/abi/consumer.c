/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A program that uses libstowaway as an outsider would: built by
 * tests/abi/install.py against the installed headers and stowaway.pc, and
 * run against the installed libstowaway.so. It calls what needs no file,
 * network or rule set (the version, the reference grammar, the error
 * names, the terminal escaper, a private key that is not there) and prints
 * the path of the libstowaway it ran (from /proc/self/maps), so the test
 * can tell the installed copy was the one loaded. It is C that C++ reads the same way, so the test can
 * also compile it as C++ and see unmangled names (extern "C").
 *
 * usage: consumer VERSION
 */
#include <stdio.h>
#include <string.h>

#include <stowaway/stowaway.h>

static int fails;

static void expect(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "consumer: %s\n", what);
		fails++;
	}
}

int main(int argc, char **argv)
{
	sw_error err = SW_ERROR_INIT;
	sw_ref ref;
	sw_privkey *key = NULL;
	char out[SW_TERM_ESCAPED_MAX(8)], full[64], line[4096];
	FILE *maps;

	if (argc != 2)
		return 2;
	expect(strcmp(sw_version(), argv[1]) == 0, "sw_version is not the version built");
	expect(sw_ref_parse("alpine", &ref, &err) == 0, "sw_ref_parse(alpine) failed");
	expect(strcmp(ref.domain, "docker.io") == 0 && strcmp(ref.path, "library/alpine") == 0,
	       "alpine is not docker.io/library/alpine");
	expect(sw_ref_format(&ref, SW_REF_DEFAULT, full, sizeof(full)) == 0 &&
	       strcmp(full, "docker.io/library/alpine:latest") == 0, "alpine's default form");
	expect(sw_ref_format(&ref, SW_REF_DEFAULT, full, 8) == SW_ELIMIT, "a short buffer is not SW_ELIMIT");
	expect(sw_ref_parse("Alpine", &ref, &err) == SW_EFORMAT && err.msg[0], "Alpine parsed");
	expect(strcmp(sw_code_name(SW_EFORMAT), "format") == 0, "sw_code_name(SW_EFORMAT) is not \"format\"");
	expect(sw_term_escape(out, sizeof(out), "a\033b", 3) == 3 && strcmp(out, "a\\x1bb") == 0,
	       "ESC is not escaped as \\x1b");
	expect(sw_privkey_load("/nonexistent/stowaway.key", "pw", &key, &err) == SW_ENOTFOUND && !key,
	       "a missing key file is not SW_ENOTFOUND");
	sw_privkey_free(key);
	if (!(maps = fopen("/proc/self/maps", "r")))
		return 1;
	while (fgets(line, sizeof(line), maps))
		if (strstr(line, "libstowaway")) {
			fputs(strchr(line, '/') ? strchr(line, '/') : line, stdout);
			break;
		}
	fclose(maps);
	return fails ? 1 : 0;
}
