/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The look-alike name judge's speed: sw_names_check over the references of
 * a labelled table (tests/names/labelled.tsv: REFERENCE <tab> LABEL), round
 * after round, and over names that match nothing (the slowest path: every
 * list compared). The webhook runs the judge once per image of a review, on
 * its event loop, so this is the figure that must stay small. CPU time of
 * the process, not wall time: the machine is shared.
 *
 * usage: bench-names TABLE [ROUNDS]   prints µs per name for both sets
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stowaway/names.h"

#define MAX_ROWS 8192

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* µs per name over rounds of the n names, or -1 on a refused name */
static double run(char **refs, size_t n, long rounds)
{
	sw_name_result r;
	double t0 = now();
	long k;
	size_t i;

	for (k = 0; k < rounds; k++)
		for (i = 0; i < n; i++)
			if (sw_names_check(refs[i], &r, NULL) < 0) {
				fprintf(stderr, "bench-names: refused %s\n", refs[i]);
				return -1;
			}
	return (now() - t0) * 1e6 / ((double)rounds * (double)n);
}

int main(int argc, char **argv)
{
	static char *refs[MAX_ROWS], *miss[64];
	char line[1024];
	size_t n = 0, nm = 0, i;
	long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 50;
	double a, b;
	FILE *f;

	if (argc < 2 || rounds < 1 || !(f = fopen(argv[1], "r"))) {
		fprintf(stderr, "usage: bench-names TABLE [ROUNDS]\n");
		return 2;
	}
	while (n < MAX_ROWS && fgets(line, sizeof(line), f)) {
		char *tab = strchr(line, '\t');
		if (line[0] == '#' || !tab)
			continue;
		*tab = '\0';
		if (!(refs[n++] = strdup(line)))
			return 2;
	}
	fclose(f);
	/* names that resemble nothing: every rule runs to its end */
	for (i = 0; i < 64; i++) {
		char s[64];
		snprintf(s, sizeof(s), "team-%zu/payments-service-%zu", i, i * 7919);
		if (!(miss[nm++] = strdup(s)))
			return 2;
	}
	(void)run(refs, n, 1); /* load the lists */
	if ((a = run(refs, n, rounds)) < 0 || (b = run(miss, nm, rounds * (long)(n / nm + 1))) < 0)
		return 1;
	printf("names: %zu labelled references x %ld rounds: %.2f us/name; unmatched names: %.2f us/name\n", n,
	       rounds, a, b);
	for (i = 0; i < n; i++)
		free(refs[i]);
	for (i = 0; i < nm; i++)
		free(miss[i]);
	return 0;
}
