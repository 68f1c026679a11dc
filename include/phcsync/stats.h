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

#endif
