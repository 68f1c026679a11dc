/* SPDX-License-Identifier: BSD-2-Clause */
/* Running statistics of a series (offsets, frequencies, delays) for summaries. Pure. */
#ifndef PHCSYNC_STATS_H
#define PHCSYNC_STATS_H

struct stats {
	long count;
	double sum;
	double sum_sq;
	double max_abs;
};

/* Start an empty series. */
void stats_reset(struct stats *s);

/* Add one value. */
void stats_add(struct stats *s, double value);

/* Mean, root mean square, standard deviation (population) and largest |value|; 0 when empty. */
double stats_mean(const struct stats *s);
double stats_rms(const struct stats *s);
double stats_stddev(const struct stats *s);
double stats_max_abs(const struct stats *s);

/*
 * The least-squares line through the n points (x[i], y[i]): its slope, and the slope's
 * standard error from the scatter about the line. Returns 0, or -EINVAL when n < 3 or
 * the x are all equal.
 */
int stats_slope(const double *x, const double *y, int n, double *slope, double *slope_sd);

#endif
