/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prometheus text exposition (format 0.0.4) for a server's /metrics
 * (metrics.c): a latency histogram, and lines of counters and gauges
 * written into a buffer. Label values are the server's own words (never
 * request data), so none needs escaping.
 */
#ifndef SW_SERVE_METRICS_H
#define SW_SERVE_METRICS_H

#include "../util/util.h"

#define SW_HIST_BUCKETS 14

typedef struct sw_hist {
	unsigned long long counts[SW_HIST_BUCKETS + 1]; /* the last: above every bound */
	unsigned long long n;
	double sum;
} sw_hist;

/* Seconds, from 0.5 ms to 10 s. */
extern const double sw_hist_bounds[SW_HIST_BUCKETS];

void sw_hist_observe(sw_hist *h, double seconds);

/* "# HELP" and "# TYPE" lines of a metric. */
void sw_prom_head(sw_buf *b, const char *name, const char *type, const char *help);
/* One sample: name{labels} value (labels "" for none). */
void sw_prom_val(sw_buf *b, const char *name, const char *labels, double v);
/* A histogram's samples (_bucket with le, _sum, _count), with its head. */
void sw_prom_hist(sw_buf *b, const char *name, const char *help, const sw_hist *h);
/* The process's resident set size in bytes (from /proc/self/statm), 0
 * when unknown. */
double sw_prom_rss(void);

#endif
