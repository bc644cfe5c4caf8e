/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prometheus text exposition (metrics.h). Counters are plain integers
 * kept on the loop's thread; this only writes them out.
 */
#include <stdio.h>
#include <unistd.h>

#include "metrics.h"

const double sw_hist_bounds[SW_HIST_BUCKETS] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
						 0.1,    0.25,  0.5,    1,     2.5,  5,     10 };

void sw_hist_observe(sw_hist *h, double seconds)
{
	size_t i;

	for (i = 0; i < SW_HIST_BUCKETS && seconds > sw_hist_bounds[i]; i++)
		;
	h->counts[i]++;
	h->n++;
	h->sum += seconds;
}

void sw_prom_head(sw_buf *b, const char *name, const char *type, const char *help)
{
	sw_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void sw_prom_val(sw_buf *b, const char *name, const char *labels, double v)
{
	if (v == (double)(long long)v)
		sw_buf_printf(b, "%s%s%s%s %lld\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
			      (long long)v);
	else
		sw_buf_printf(b, "%s%s%s%s %.6f\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "", v);
}

void sw_prom_hist(sw_buf *b, const char *name, const char *help, const sw_hist *h)
{
	unsigned long long cum = 0;
	size_t i;

	sw_prom_head(b, name, "histogram", help);
	for (i = 0; i <= SW_HIST_BUCKETS; i++) {
		cum += h->counts[i];
		if (i < SW_HIST_BUCKETS)
			sw_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, sw_hist_bounds[i], cum);
		else
			sw_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, cum);
	}
	sw_buf_printf(b, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name, h->n);
}

double sw_prom_rss(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	unsigned long long size = 0, res = 0;
	long page = sysconf(_SC_PAGESIZE);

	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return page > 0 ? (double)res * (double)page : 0;
}
