/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <math.h>

#include "phcsync/stats.h"

void stats_reset(struct stats *s)
{
	s->count = 0;
	s->sum = 0.0;
	s->sum_sq = 0.0;
	s->max_abs = 0.0;
}

void stats_add(struct stats *s, double value)
{
	s->count++;
	s->sum += value;
	s->sum_sq += value * value;
	if (fabs(value) > s->max_abs)
		s->max_abs = fabs(value);
}

double stats_mean(const struct stats *s)
{
	return s->count ? s->sum / (double)s->count : 0.0;
}

double stats_rms(const struct stats *s)
{
	return s->count ? sqrt(s->sum_sq / (double)s->count) : 0.0;
}

double stats_stddev(const struct stats *s)
{
	double mean = stats_mean(s);
	double var;

	if (!s->count)
		return 0.0;
	/* Rounding can make the difference slightly negative for a constant series. */
	var = s->sum_sq / (double)s->count - mean * mean;
	return var > 0.0 ? sqrt(var) : 0.0;
}

double stats_max_abs(const struct stats *s)
{
	return s->max_abs;
}

int stats_slope(const double *x, const double *y, int n, double *slope, double *slope_sd)
{
	double mx = 0.0, my = 0.0, sxx = 0.0, sxy = 0.0, sres = 0.0, b;
	int i;

	if (n < 3)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= n;
	my /= n;
	/* Centred sums: absolute times and offsets would cancel out in the products. */
	for (i = 0; i < n; i++) {
		sxx += (x[i] - mx) * (x[i] - mx);
		sxy += (x[i] - mx) * (y[i] - my);
	}
	if (!(sxx > 0.0))
		return -EINVAL;
	b = sxy / sxx;
	for (i = 0; i < n; i++) {
		double r = y[i] - my - b * (x[i] - mx);

		sres += r * r;
	}
	*slope = b;
	*slope_sd = sqrt(sres / (n - 2) / sxx);
	return 0;
}
