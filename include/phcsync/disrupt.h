/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Disruption detector: confirm a sudden jump of the offset (live migration, resume from
 * suspend, host clock step, snapshot revert) by N consecutive agreeing samples before the
 * caller acts on it, so that one wild sample never moves the clock. Pure: no I/O.
 */
#ifndef PHCSYNC_DISRUPT_H
#define PHCSYNC_DISRUPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds of disrupt_params.samples (config `disruption_samples`). */
#define DISRUPT_SAMPLES_MIN 1
#define DISRUPT_SAMPLES_MAX 10

struct disrupt_params {
	int samples;	     /* consecutive agreeing samples that confirm a jump, 1..10 */
	int64_t floor_ns;    /* the threshold never goes below this, > 0 */
	double noise_factor; /* threshold = max(floor_ns, noise_factor x RMS of normal offsets) */
};

enum disrupt_verdict {
	DISRUPT_NORMAL,	   /* use the sample as usual */
	DISRUPT_SUSPECT,   /* hold: do not feed the servo, keep the frequency */
	DISRUPT_CONFIRMED, /* a jump of result.offset_ns: step or slew it now */
	DISRUPT_DISCARDED, /* the suspects were outliers; use this sample as NORMAL */
};

struct disrupt_result {
	enum disrupt_verdict verdict;
	int64_t offset_ns;    /* CONFIRMED: median of the confirming samples; else the sample */
	int discarded;	      /* outliers dropped by this sample, see disrupt_feed() */
	int64_t threshold_ns; /* the threshold the sample was judged against; 0 while inactive */
};

/* What the caller knows about the moments before the disruption, to name its cause. */
struct disrupt_hint {
	bool suspended;	     /* CLOCK_BOOTTIME gained on CLOCK_MONOTONIC: the VM slept */
	int64_t suspend_ns;  /* how long, when suspended */
	int64_t holdover_ns; /* > 0: the PHC was unreadable this long just before */
};

struct disrupt;

/* Defaults: 3 samples, 100 us floor, noise factor 20. */
void disrupt_params_default(struct disrupt_params *p);

/* A detector; NULL with errno EINVAL for parameters out of range, ENOMEM without memory. */
struct disrupt *disrupt_create(const struct disrupt_params *p);

/*
 * Judge one offset (system - PHC, ns) and fill *out. Until 4 normal samples are in the
 * history everything is NORMAL (the servo is still converging). After CONFIRMED the
 * detector restarts itself as disrupt_reset() does. out->discarded counts the suspects a
 * DISCARDED sample, or a SUSPECT that disagreed with the run and restarted it, dropped as
 * outliers. Returns out->verdict.
 */
enum disrupt_verdict disrupt_feed(struct disrupt *d, int64_t offset_ns, struct disrupt_result *out);

/* Forget the history and any suspect run (after a step, a device reopen, holdover). */
void disrupt_reset(struct disrupt *d);

void disrupt_destroy(struct disrupt *d);

/*
 * Format the log line "clock disruption: +0.512 s (likely cause: ...)" into buf; hint
 * may be NULL. Returns the length written, -ENOSPC when truncated, -EINVAL when len is 0.
 */
int disrupt_format(char *buf, size_t len, int64_t offset_ns, const struct disrupt_hint *hint);

#endif
