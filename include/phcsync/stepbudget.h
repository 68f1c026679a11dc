/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * How much the clock may be stepped within a sliding window, so that a reference that keeps
 * jumping (backwards especially) cannot drag the clock away. Pure: no I/O.
 */
#ifndef PHCSYNC_STEPBUDGET_H
#define PHCSYNC_STEPBUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* More than step_limit_count's largest value, so a count limit always sees every step. */
#define STEPBUDGET_HISTORY 256

struct stepbudget {
	int64_t window_ns;     /* steps older than this are forgotten */
	int64_t limit_back_ns; /* sum of backward steps in the window; 0: no limit */
	int limit_count;       /* steps in the window; 0: no limit */
	int n;
	struct {
		int64_t t_ns;
		int64_t step_ns;
	} hist[STEPBUDGET_HISTORY];
};

void stepbudget_init(struct stepbudget *b, int64_t window_ns, int64_t limit_back_ns,
		     int limit_count);

/*
 * May the clock be stepped by step_ns (added to the clock) at t_ns? The first step in a
 * window is always allowed: one confirmed disruption is stepped whatever its size. When
 * not, why says which limit (for the log).
 */
bool stepbudget_allows(const struct stepbudget *b, int64_t t_ns, int64_t step_ns, char *why,
		       size_t whylen);

/* A step was made. */
void stepbudget_record(struct stepbudget *b, int64_t t_ns, int64_t step_ns);

/* Take back the last record (the kernel refused the step). */
void stepbudget_unrecord(struct stepbudget *b);

/* Forget every step (an operator's reset). */
void stepbudget_clear(struct stepbudget *b);

#endif
