/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the sinkhole's readers of what the sandbox sends: DNS queries
 * (first byte 0), TLS ClientHellos (first byte 1), and whole TCP sessions
 * through the protocol handlers (2..6: as if sent to port 80, 443, 3333,
 * 53 or 9999: HTTP, TLS, stratum, DNS over TCP, raw). Every byte comes
 * from the program under analysis. An answer never exceeds its buffer,
 * keeps the query's id and question, and names are NUL-terminated,
 * printable and at most 255 bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>

#include "../src/lib/sandbox/sandbox_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void printable(const char *s)
{
	size_t n = strnlen(s, 256);

	if (n > 255)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[600];
	char name[256];
	unsigned qt;
	int n;

	if (size < 1)
		return 0;
	if (data[0] == 0) {
		n = sw_dns_answer(NULL, data + 1, size - 1, out, sizeof(out), name, &qt);
		if (n > (int)sizeof(out))
			abort();
		if (n >= 0)
			printable(name);
		if (n > 0 && (memcmp(out, data + 1, 2) != 0 || !(out[2] & 0x80) || out[5] != 1))
			abort();
	} else if (data[0] == 1) {
		n = sw_tls_sni(data + 1, size - 1, name);
		if (n == 1)
			printable(name);
	} else if (data[0] >= 2 && data[0] <= 6) {
		static const unsigned ports[] = { 80, 443, 3333, 53, 9999 };
		static int devnull = -1;
		sw_evlog log = { .fd = -1 };
		if (devnull < 0 && (devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
			abort();
		log.fd = devnull;
		if (sw_sink_feed(data + 1, size - 1, ports[data[0] - 2], &log) < 0)
			abort();
	}
	return 0;
}
