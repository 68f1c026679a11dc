/* SPDX-License-Identifier: BSD-2-Clause */
/* Reduce a burst of PHC readings to one sample; reject delay outliers. Pure: no I/O. */
#ifndef PHCSYNC_FILTER_H
#define PHCSYNC_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phcsync/reading.h"

/* The result of one poll. */
struct filter_sample {
	int64_t offset_ns;	/* system - PHC at t_local_ns (positive: system ahead) */
	int64_t delay_ns;	/* read delay of the reading(s) used */
	int64_t t_local_ns;	/* CLOCK_REALTIME time the offset refers to */
	int64_t error_bound_ns; /* at least delay_ns / 2 */
	int used;		/* readings that went into the sample */
};

struct filter;

/* How a burst's readings become one offset. Each takes the readings of shortest delay (a
 * band: the fastest third, or half for the order statistics), then: */
enum filter_combine {
	FILTER_COMBINE_BAND,	/* their mean offset, over the fastest third */
	FILTER_COMBINE_MIN,	/* the fastest reading (equal delays averaged) */
	FILTER_COMBINE_MEDIAN,	/* their median offset, over the fastest half */
	FILTER_COMBINE_TRIMMED, /* their mean offset without the outer quarters, fastest half */
};

/* A filter with default parameters (FILTER_COMBINE_BAND); NULL when out of memory. */
struct filter *filter_create(void);

/* Choose how bursts are combined from now on. */
void filter_set_combine(struct filter *f, enum filter_combine c);

/* "band", "min", "median", "trimmed". */
const char *filter_combine_name(enum filter_combine c);

/*
 * Choose the best of n readings and gate it against recent delays.
 * Returns 0 and fills *out, -EINVAL when n < 1 or no reading is sane,
 * -EAGAIN when the burst is rejected as a delay outlier (out is still filled).
 */
int filter_process(struct filter *f, const struct phc_reading *r, int n, struct filter_sample *out);

/*
 * Does the PHC advance with the system clock across the burst? Consecutive readings must
 * differ on the PHC by what they differ on the system clock, within their read windows
 * and a margin. A PHC that jumps back between two reads does not: false, with why filled.
 * Pure.
 */
bool filter_burst_consistent(const struct phc_reading *r, int n, char *why, size_t whylen);

/*
 * The same check with a margin that also grows with the typical scatter of the steps
 * between reads in recent bursts (remembered in f), so that heavy read noise is not taken
 * for a PHC jumping back. Every burst of four readings or more adds to that memory.
 */
bool filter_burst_check(struct filter *f, const struct phc_reading *r, int n, char *why,
			size_t whylen);

/* Forget the delay and scatter history (after a device reopen or a method change). */
void filter_reset(struct filter *f);

void filter_destroy(struct filter *f);

#endif
