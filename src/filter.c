/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The reading with the shortest delay brackets the PHC read most tightly, so its midpoint
 * is the best estimate of when the PHC was sampled. Averaging the fastest third of the
 * burst (ties included, so equal cross-timestamps all count) lowers the read jitter without
 * letting in the slow readings, whose midpoints are skewed by whatever delayed them.
 *
 * Gate: a burst whose best delay is far above the recent ones was probably hit by a host
 * preemption between the reads, which skews the midpoint by up to half that delay; drop it
 * rather than feed the servo. A path that stays slow (the VM moved to another host, the
 * read method changed) would be rejected forever, so after a few rejections in a row the
 * new delay is believed and the history starts over from it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phcsync/filter.h"
#include "phcsync/ring.h"

#define MAX_DELAY_NS 1000000000LL
#define HISTORY_LEN 16
#define SCATTER_LEN 32	   /* bursts whose scatter of read steps is remembered */
#define HISTORY_MIN 4	   /* accepted bursts before the gate applies */
#define GATE_FACTOR 3	   /* ... times the median delay ... */
#define GATE_SLACK_NS 1000 /* ... plus this, so that near-zero delays are not gated */
#define MAX_REJECTS 4	   /* rejections in a row before a slower path is believed */

struct filter {
	struct ring history_ns; /* the accepted minimum delays */
	struct ring scatter_ns; /* recent bursts' scatter of the steps between reads */
	int rejects;
	enum filter_combine combine;
};

struct eval {
	int64_t delay_ns;
	int64_t offset_ns;
	int64_t mid_ns;
};

/* Fills e; false when the reading cannot be right (time ran backwards, or took over 1 s). */
static bool evaluate(const struct phc_reading *r, struct eval *e)
{
	if (__builtin_sub_overflow(r->sys_after_ns, r->sys_before_ns, &e->delay_ns))
		return false;
	if (e->delay_ns < 0 || e->delay_ns > MAX_DELAY_NS)
		return false;
	e->mid_ns = r->sys_before_ns + e->delay_ns / 2;
	return !__builtin_sub_overflow(e->mid_ns, r->phc_ns, &e->offset_ns);
}

/* The k-th smallest sane delay (k >= 1), by counting: bursts are a few dozen readings. */
static int64_t kth_delay(const struct phc_reading *r, int n, int k)
{
	int64_t best_ns = MAX_DELAY_NS;

	for (int i = 0; i < n; i++) {
		struct eval ei, ej;
		int not_above = 0;

		if (!evaluate(&r[i], &ei) || ei.delay_ns >= best_ns)
			continue;
		for (int j = 0; j < n; j++)
			if (evaluate(&r[j], &ej) && ej.delay_ns <= ei.delay_ns)
				not_above++;
		if (not_above >= k)
			best_ns = ei.delay_ns;
	}
	return best_ns;
}

/* Accumulate v - ref; false when the readings disagree by centuries (int64 overflow). */
static bool add_diff(int64_t *sum, int64_t v, int64_t ref)
{
	int64_t d;

	return !__builtin_sub_overflow(v, ref, &d) && !__builtin_add_overflow(*sum, d, sum);
}

static int average_band(const struct phc_reading *r, int n, int64_t max_delay_ns,
			struct filter_sample *out)
{
	struct eval first = {0}, e;
	int64_t off_sum = 0, mid_sum = 0, delay_sum = 0, off_min = 0, off_max = 0, spread;
	int used = 0;

	for (int i = 0; i < n; i++) {
		if (!evaluate(&r[i], &e) || e.delay_ns > max_delay_ns)
			continue;
		if (!used) {
			first = e;
		} else if (!add_diff(&off_sum, e.offset_ns, first.offset_ns) ||
			   !add_diff(&mid_sum, e.mid_ns, first.mid_ns)) {
			return -EINVAL;
		}
		/* At most INT_MAX delays of at most 1 s each: below INT64_MAX. */
		delay_sum += e.delay_ns;
		if (!used || e.offset_ns < off_min)
			off_min = e.offset_ns;
		if (!used || e.offset_ns > off_max)
			off_max = e.offset_ns;
		used++;
	}
	if (!used || __builtin_sub_overflow(off_max, off_min, &spread))
		return -EINVAL;
	out->offset_ns = first.offset_ns + off_sum / used;
	out->t_local_ns = first.mid_ns + mid_sum / used;
	out->delay_ns = delay_sum / used;
	out->error_bound_ns = (out->delay_ns + 1) / 2;
	if ((spread + 1) / 2 > out->error_bound_ns)
		out->error_bound_ns = (spread + 1) / 2;
	if (out->error_bound_ns < 1)
		out->error_bound_ns = 1;
	out->used = used;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/*
 * The median or trimmed mean of the offsets of the readings within max_delay_ns, taken as
 * differences from the first one (absolute offsets near 2026 overflow when summed). The
 * time, delay and error bound are the band's.
 */
#define ORDER_MAX 64
static int order_band(const struct phc_reading *r, int n, int64_t max_delay_ns, bool trimmed,
		      struct filter_sample *out)
{
	int64_t d[ORDER_MAX], ref = 0, sum = 0;
	struct eval e;
	int m = 0, lo, hi, ret;

	ret = average_band(r, n, max_delay_ns, out);
	if (ret)
		return ret;
	for (int i = 0; i < n && m < ORDER_MAX; i++) {
		if (!evaluate(&r[i], &e) || e.delay_ns > max_delay_ns)
			continue;
		if (!m)
			ref = e.offset_ns;
		if (__builtin_sub_overflow(e.offset_ns, ref, &d[m]))
			return -EINVAL;
		m++;
	}
	if (!m)
		return -EINVAL;
	qsort(d, (size_t)m, sizeof(*d), cmp_i64);
	if (!trimmed) {
		out->offset_ns = ref + (m % 2 ? d[m / 2] : d[m / 2 - 1] / 2 + d[m / 2] / 2);
		return 0;
	}
	lo = m / 4;
	hi = m - m / 4;
	for (int i = lo; i < hi; i++)
		if (__builtin_add_overflow(sum, d[i], &sum))
			return -EINVAL;
	out->offset_ns = ref + sum / (hi - lo);
	return 0;
}

struct filter *filter_create(void)
{
	struct filter *f = calloc(1, sizeof(*f));

	if (f) {
		ring_init(&f->history_ns, HISTORY_LEN);
		ring_init(&f->scatter_ns, SCATTER_LEN);
	}
	return f;
}

int filter_process(struct filter *f, const struct phc_reading *r, int n, struct filter_sample *out)
{
	struct eval e;
	int sane = 0, ret;
	int64_t min_delay_ns;

	if (n < 1 || !r)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		sane += evaluate(&r[i], &e);
	if (!sane)
		return -EINVAL;
	min_delay_ns = kth_delay(r, n, 1);
	switch (f->combine) {
	case FILTER_COMBINE_MIN:
		ret = average_band(r, n, min_delay_ns, out);
		break;
	case FILTER_COMBINE_MEDIAN:
	case FILTER_COMBINE_TRIMMED:
		ret = order_band(r, n, kth_delay(r, n, (sane + 1) / 2),
				 f->combine == FILTER_COMBINE_TRIMMED, out);
		break;
	case FILTER_COMBINE_BAND:
	default:
		ret = average_band(r, n, kth_delay(r, n, sane / 3 > 1 ? sane / 3 : 1), out);
		break;
	}
	if (ret)
		return ret;

	if (f->history_ns.count >= HISTORY_MIN &&
	    min_delay_ns > GATE_FACTOR * ring_median_i64(&f->history_ns) + GATE_SLACK_NS) {
		if (f->rejects < MAX_REJECTS) {
			f->rejects++;
			return -EAGAIN;
		}
		filter_reset(f);
	}
	f->rejects = 0;
	ring_push_i64(&f->history_ns, min_delay_ns);
	return 0;
}

void filter_set_combine(struct filter *f, enum filter_combine c)
{
	f->combine = c;
}

const char *filter_combine_name(enum filter_combine c)
{
	switch (c) {
	case FILTER_COMBINE_BAND:
		return "band";
	case FILTER_COMBINE_MIN:
		return "min";
	case FILTER_COMBINE_MEDIAN:
		return "median";
	case FILTER_COMBINE_TRIMMED:
		return "trimmed";
	}
	return "unknown";
}

void filter_reset(struct filter *f)
{
	ring_clear(&f->history_ns);
	ring_clear(&f->scatter_ns);
	f->rejects = 0;
}

void filter_destroy(struct filter *f)
{
	free(f);
}

/* Beyond the read windows: readout noise and a PHC's rate within any sane limit. */
#define BURST_MARGIN_NS 10000
/*
 * ... plus this many times the typical scatter of the steps between reads (the median
 * over recent bursts of each burst's median absolute deviation), where the readout is
 * noisier than the margin. Pooled over bursts it is steady; a jump in one burst does not
 * move it, and a steady backstep has no scatter at all.
 */
#define BURST_NOISE_FACTOR 24
#define BURST_NOISE_MIN 3   /* steps in a burst before its scatter counts */
#define BURST_HISTORY_MIN 4 /* bursts with a scatter before it widens the margin */
#define BURST_STEPS_MAX 64  /* steps whose scatter is measured: more than any burst */

/* The lower median of v[0..n) (n >= 1); sorts v. */
static int64_t lower_median(int64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	return v[(n - 1) / 2];
}

/*
 * The PHC's step between reads i-1 and i less the system clock's, and their windows. A
 * window beyond int64 is -1 (an absurd reading, the filter's to refuse); false when a step
 * is: the reads are centuries apart, which no PHC that follows the system clock can be.
 */
static bool burst_step(const struct phc_reading *r, int i, int64_t *sys_ns, int64_t *diff_ns,
		       int64_t *window_ns)
{
	int64_t before_ns, after_ns, phc_ns, w0_ns, w1_ns;

	if (__builtin_sub_overflow(r[i].sys_after_ns, r[i].sys_before_ns, &w1_ns) ||
	    __builtin_sub_overflow(r[i - 1].sys_after_ns, r[i - 1].sys_before_ns, &w0_ns) ||
	    __builtin_add_overflow(w1_ns, w0_ns, window_ns))
		*window_ns = -1;
	if (__builtin_sub_overflow(r[i].sys_before_ns, r[i - 1].sys_before_ns, &before_ns) ||
	    __builtin_sub_overflow(r[i].sys_after_ns, r[i - 1].sys_after_ns, &after_ns) ||
	    __builtin_sub_overflow(r[i].phc_ns, r[i - 1].phc_ns, &phc_ns))
		return false;
	*sys_ns = before_ns / 2 + after_ns / 2;
	return !__builtin_sub_overflow(phc_ns, *sys_ns, diff_ns);
}

/* The median absolute deviation of the steps (sane windows only); -1 with too few. */
static int64_t burst_scatter_ns(const struct phc_reading *r, int n)
{
	int64_t d[BURST_STEPS_MAX], dev[BURST_STEPS_MAX], med, sys, window;
	int m = 0;

	for (int i = 1; i < n && m < BURST_STEPS_MAX; i++) {
		if (burst_step(r, i, &sys, &d[m], &window) && window >= 0 && d[m] > -MAX_DELAY_NS &&
		    d[m] < MAX_DELAY_NS)
			m++;
	}
	if (m < BURST_NOISE_MIN)
		return -1;
	memcpy(dev, d, sizeof(*d) * (size_t)m);
	med = lower_median(dev, m);
	for (int i = 0; i < m; i++)
		dev[i] = d[i] > med ? d[i] - med : med - d[i];
	return lower_median(dev, m);
}

/* Whether diff lies further than margin outside [-window, window]; window, margin >= 0. */
static bool outside(int64_t diff_ns, int64_t window_ns, int64_t margin_ns)
{
	int64_t excess_ns;

	if (diff_ns > window_ns)
		return __builtin_sub_overflow(diff_ns, window_ns, &excess_ns) ||
		       excess_ns > margin_ns;
	if (diff_ns < -window_ns)
		return __builtin_sub_overflow(-window_ns, diff_ns, &excess_ns) ||
		       excess_ns > margin_ns;
	return false;
}

static bool burst_within(const struct phc_reading *r, int n, int64_t margin_ns, char *why,
			 size_t whylen)
{
	for (int i = 1; i < n; i++) {
		int64_t sys_ns, diff_ns, window_ns;

		if (!burst_step(r, i, &sys_ns, &diff_ns, &window_ns)) {
			/* Unless the window says the reading itself is absurd. */
			if (window_ns < 0)
				continue;
			snprintf(why, whylen,
				 "two reads of the burst are centuries apart on the PHC or the "
				 "system "
				 "clock");
			return false;
		}
		if (window_ns < 0)
			continue;
		if (outside(diff_ns, window_ns, margin_ns)) {
			snprintf(why, whylen,
				 "the PHC moved %+.9f s against the system clock between two reads "
				 "%.0f ns apart",
				 (double)diff_ns / 1e9, (double)sys_ns);
			return false;
		}
	}
	return true;
}

bool filter_burst_consistent(const struct phc_reading *r, int n, char *why, size_t whylen)
{
	return burst_within(r, n, BURST_MARGIN_NS, why, whylen);
}

bool filter_burst_check(struct filter *f, const struct phc_reading *r, int n, char *why,
			size_t whylen)
{
	int64_t scatter_ns = burst_scatter_ns(r, n), margin_ns = BURST_MARGIN_NS;

	if (f->scatter_ns.count >= BURST_HISTORY_MIN)
		margin_ns += BURST_NOISE_FACTOR * ring_median_i64(&f->scatter_ns);
	if (scatter_ns >= 0)
		ring_push_i64(&f->scatter_ns, scatter_ns);
	return burst_within(r, n, margin_ns, why, whylen);
}
