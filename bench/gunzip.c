/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which gzip decoder should stream layers? Decompresses one file with zlib
 * (streaming), ISA-L igzip (streaming) and libdeflate (whole buffer: it
 * cannot stream) and prints MB/s of output for each, best of N runs.
 *   bench-gunzip FILE.gz [RUNS]
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <zlib.h>

#define CHUNK (1u << 20)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t run_zlib(const uint8_t *in, size_t n, uint8_t *out)
{
	z_stream z;
	size_t total = 0;

	memset(&z, 0, sizeof(z));
	inflateInit2(&z, 15 + 32);
	z.next_in = (uint8_t *)in;
	z.avail_in = (uInt)n;
	for (;;) {
		int r;
		z.next_out = out;
		z.avail_out = CHUNK;
		r = inflate(&z, Z_NO_FLUSH);
		total += CHUNK - z.avail_out;
		if (r == Z_STREAM_END) {
			if (z.avail_in == 0)
				break;
			inflateReset(&z);
		} else if (r != Z_OK) {
			break;
		}
	}
	inflateEnd(&z);
	return total;
}

static size_t run_isal(const uint8_t *in, size_t n, uint8_t *out)
{
	struct inflate_state s;
	size_t total = 0;

	isal_inflate_init(&s);
	s.crc_flag = ISAL_GZIP;
	s.next_in = (uint8_t *)in;
	s.avail_in = (uint32_t)n;
	for (;;) {
		s.next_out = out;
		s.avail_out = CHUNK;
		if (isal_inflate(&s) < 0)
			break;
		total += CHUNK - s.avail_out;
		if (s.block_state == ISAL_BLOCK_FINISH) {
			if (s.avail_in == 0)
				break;
			uint8_t *ni = s.next_in;
			uint32_t ai = s.avail_in;
			isal_inflate_reset(&s);
			s.crc_flag = ISAL_GZIP;
			s.next_in = ni;
			s.avail_in = ai;
		}
	}
	return total;
}

static size_t run_libdeflate(const uint8_t *in, size_t n, uint8_t *big, size_t bigsz)
{
	struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
	size_t got = 0;

	if (libdeflate_gzip_decompress(d, in, n, big, bigsz, &got) != LIBDEFLATE_SUCCESS)
		got = 0;
	libdeflate_free_decompressor(d);
	return got;
}

int main(int argc, char **argv)
{
	int fd, runs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 3, i;
	struct stat st;
	uint8_t *in, *out, *big;
	size_t n, isize, r[3] = { 0 };
	double best[3] = { 1e9, 1e9, 1e9 };

	if (argc < 2 || (fd = open(argv[1], O_RDONLY)) < 0 || fstat(fd, &st) < 0)
		return 2;
	n = (size_t)st.st_size;
	in = malloc(n);
	if (!in || read(fd, in, n) != (ssize_t)n)
		return 2;
	isize = in[n - 4] | in[n - 3] << 8 | in[n - 2] << 16 | (size_t)in[n - 1] << 24;
	(void)isize;
	out = malloc(CHUNK);
	r[0] = run_zlib(in, n, out); /* learn the real size (ISIZE is mod 2^32) */
	big = malloc(r[0] + 1);
	for (i = 0; i < runs; i++) {
		double t;
		t = now(); r[0] = run_zlib(in, n, out); t = now() - t; if (t < best[0]) best[0] = t;
		t = now(); r[1] = run_isal(in, n, out); t = now() - t; if (t < best[1]) best[1] = t;
		t = now(); r[2] = run_libdeflate(in, n, big, r[0] + 1); t = now() - t; if (t < best[2]) best[2] = t;
	}
	printf("%-11s %10s %9s %s\n", "decoder", "out MB/s", "seconds", "streams?");
	printf("%-11s %10.0f %9.3f %s\n", "zlib", r[0] / best[0] / 1e6, best[0], "yes");
	printf("%-11s %10.0f %9.3f %s\n", "isa-l", r[1] / best[1] / 1e6, best[1], "yes");
	printf("%-11s %10.0f %9.3f %s\n", "libdeflate", r[2] / best[2] / 1e6, best[2],
	       "no (whole buffer; single-member only)");
	if (r[0] != r[1] || (r[2] && r[2] != r[0]))
		fprintf(stderr, "warning: output sizes differ: %zu %zu %zu\n", r[0], r[1], r[2]);
	return 0;
}
