/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Reference sanity: the PHC's rate against the local oscillator (CLOCK_MONOTONIC_RAW)
 * between consecutive samples. A PHC beyond the rate limit, one that does not advance, or
 * one that runs backwards, for several samples in a row, is not followed. One odd pair is
 * only suspect: a jump of the reference looks like that once. Pure: no I/O.
 */
#ifndef PHCSYNC_REFSANITY_H
#define PHCSYNC_REFSANITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Pairs in a row that make (or end) a fault. */
#define REFSANITY_RUN 3

enum refsanity_verdict {
	REFSANITY_OK,	     /* use the sample */
	REFSANITY_SUSPECT,   /* an odd pair: do not learn from this sample */
	REFSANITY_FAULT,     /* the reference is broken: do not follow it */
	REFSANITY_RECOVERED, /* the fault ended with this sample */
};

struct refsanity {
	double limit_ppb; /* |rate| beyond this is not sane; 0: rate not checked */
	bool have_prev;
	int64_t prev_phc_ns;
	int64_t prev_local_ns;
	int bad_run;
	int good_run;
	bool fault;
	double rate_ppb; /* of the last pair */
	bool odd_next;
	char odd_why[160];
};

void refsanity_init(struct refsanity *r, double limit_ppb);

/*
 * Judge a sample: phc_ns read at local_ns on a local clock that runs local_rate_ppb fast
 * against the bare oscillator (0 for CLOCK_MONOTONIC_RAW; the frequency set on the clock
 * for CLOCK_MONOTONIC). why describes an odd pair.
 */
enum refsanity_verdict refsanity_feed(struct refsanity *r, int64_t phc_ns, int64_t local_ns,
				      double local_rate_ppb, char *why, size_t whylen);

/* The next sample is known to be odd by other means (its burst): its pair counts as odd,
 * with why as the reason. */
void refsanity_mark_odd(struct refsanity *r, const char *why);

/* Forget the previous sample (a different device). Keeps a fault. */
void refsanity_forget(struct refsanity *r);

#endif
