/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "phcsync/disrupt.h"
#include "phcsync/ring.h"

/* Enough normal offsets for a stable RMS, few enough to follow a changing noise level. */
#define HISTORY_LEN 16
/* Below this the RMS says nothing yet and the servo may still be pulling in. */
#define HISTORY_MIN 4
/* Suspects agree when within this fraction of their size (besides threshold / 2). */
#define AGREE_FRACTION 10

struct disrupt {
	struct disrupt_params p;
	struct ring history_ns; /* normal offsets */
	struct ring run_ns;	/* the current suspect run, never longer than p.samples */
};

void disrupt_params_default(struct disrupt_params *p)
{
	*p = (struct disrupt_params){
		.samples = 3,
		.floor_ns = 100000,
		.noise_factor = 20.0,
	};
}

struct disrupt *disrupt_create(const struct disrupt_params *p)
{
	struct disrupt *d;

	if (p->samples < DISRUPT_SAMPLES_MIN || p->samples > DISRUPT_SAMPLES_MAX ||
	    p->floor_ns <= 0 || !isfinite(p->noise_factor) || p->noise_factor <= 0.0) {
		errno = EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->p = *p;
	ring_init(&d->history_ns, HISTORY_LEN);
	ring_init(&d->run_ns, p->samples);
	return d;
}

void disrupt_reset(struct disrupt *d)
{
	ring_clear(&d->history_ns);
	ring_clear(&d->run_ns);
}

void disrupt_destroy(struct disrupt *d)
{
	free(d);
}

/* |x| without the overflow of -INT64_MIN. */
static uint64_t abs_ns(int64_t x)
{
	return x < 0 ? -(uint64_t)x : (uint64_t)x;
}

/* |a - b|: the difference of two int64 fits in uint64 even when it does not in int64. */
static uint64_t dist_ns(int64_t a, int64_t b)
{
	return a >= b ? (uint64_t)a - (uint64_t)b : (uint64_t)b - (uint64_t)a;
}

static int64_t threshold_ns(const struct disrupt *d)
{
	double t = d->p.noise_factor * ring_rms_i64(&d->history_ns);

	/* Huge offsets while converging can push the product past what int64 holds. */
	if (!(t < 9.0e18))
		return INT64_MAX;
	return t > (double)d->p.floor_ns ? (int64_t)t : d->p.floor_ns;
}

/* Whether x agrees with the first sample of the run, which every suspect is compared to. */
static bool agrees(const struct disrupt *d, int64_t x, int64_t thr_ns)
{
	uint64_t tol = (uint64_t)thr_ns / 2;
	int64_t first_ns = ring_at_i64(&d->run_ns, 0);
	uint64_t rel = abs_ns(first_ns) / AGREE_FRACTION;

	if (rel > tol)
		tol = rel;
	return dist_ns(x, first_ns) <= tol;
}

enum disrupt_verdict disrupt_feed(struct disrupt *d, int64_t offset_ns, struct disrupt_result *out)
{
	int64_t thr_ns;

	*out = (struct disrupt_result){.verdict = DISRUPT_NORMAL, .offset_ns = offset_ns};
	if (d->history_ns.count < HISTORY_MIN) {
		ring_push_i64(&d->history_ns, offset_ns);
		return out->verdict;
	}
	thr_ns = threshold_ns(d);
	out->threshold_ns = thr_ns;

	if (abs_ns(offset_ns) <= (uint64_t)thr_ns) {
		if (d->run_ns.count) {
			out->verdict = DISRUPT_DISCARDED;
			out->discarded = d->run_ns.count;
			ring_clear(&d->run_ns);
		}
		ring_push_i64(&d->history_ns, offset_ns);
		return out->verdict;
	}

	if (d->run_ns.count && !agrees(d, offset_ns, thr_ns)) {
		out->discarded = d->run_ns.count;
		ring_clear(&d->run_ns);
	}
	ring_push_i64(&d->run_ns, offset_ns);
	if (d->run_ns.count < d->p.samples) {
		out->verdict = DISRUPT_SUSPECT;
		return out->verdict;
	}
	out->verdict = DISRUPT_CONFIRMED;
	out->offset_ns = ring_median_i64(&d->run_ns);
	/* The noise seen before the jump says nothing about the clock after the correction. */
	disrupt_reset(d);
	return out->verdict;
}

/* Write "[+-]S.mmm s", rounded to the millisecond, with integers only: exact for any int64. */
static void format_seconds(char *buf, size_t len, int64_t ns)
{
	uint64_t a = abs_ns(ns);
	uint64_t s = a / 1000000000u;
	uint64_t ms = (a % 1000000000u + 500000u) / 1000000u;

	/* Below 10 ms, milliseconds would round a real disruption to nothing. */
	if (a < 10000000u) {
		snprintf(buf, len, "%c0.%06" PRIu64 " s", ns < 0 ? '-' : '+', (a + 500u) / 1000u);
		return;
	}
	if (ms == 1000) {
		s++;
		ms = 0;
	}
	snprintf(buf, len, "%c%" PRIu64 ".%03" PRIu64 " s", ns < 0 ? '-' : '+', s, ms);
}

int disrupt_format(char *buf, size_t len, int64_t offset_ns, const struct disrupt_hint *hint)
{
	char offset[32];
	char cause[64];
	int n;

	if (!len)
		return -EINVAL;
	format_seconds(offset, sizeof(offset), offset_ns);
	if (hint && hint->suspended)
		snprintf(cause, sizeof(cause), "resume after %" PRIu64 " s of suspend",
			 (abs_ns(hint->suspend_ns) + 500000000u) / 1000000000u);
	else if (hint && hint->holdover_ns > 0)
		snprintf(cause, sizeof(cause), "drift during %" PRIu64 " s of holdover",
			 (abs_ns(hint->holdover_ns) + 500000000u) / 1000000000u);
	else
		snprintf(cause, sizeof(cause),
			 "live migration, host clock step or snapshot revert");
	n = snprintf(buf, len, "clock disruption: %s (likely cause: %s)", offset, cause);
	if (n < 0)
		return -EINVAL;
	return (size_t)n < len ? n : -ENOSPC;
}
