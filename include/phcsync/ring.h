/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The last values of a series in a fixed-capacity ring, and the statistics of such a window
 * (median, mean, RMS, standard deviation). Pure; each function is a few lines, so they live
 * here and are inlined where used.
 *
 * The first count slots of v hold the values, in slot order: after a wrap that is not their
 * age. Statistics sum in slot order, so their rounding never depends on where the ring
 * stands; ring_at_i64() gives the values by age.
 */
#ifndef PHCSYNC_RING_H
#define PHCSYNC_RING_H

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* The largest capacity: the longest window kept (64 offsets for the status). */
#define RING_CAP_MAX 64

/* A ring holds one kind of value, int64_t or double, by its user's choice. */
struct ring {
	int cap;   /* values kept at most, 1..RING_CAP_MAX */
	int count; /* values held */
	int next;  /* the slot the next value goes to */
	union {
		int64_t i64[RING_CAP_MAX];
		double f64[RING_CAP_MAX];
	} v;
};

/* An empty ring of cap values (1..RING_CAP_MAX). Returns 0, or -EINVAL leaving r as it was. */
static inline int ring_init(struct ring *r, int cap)
{
	if (cap < 1 || cap > RING_CAP_MAX)
		return -EINVAL;
	r->cap = cap;
	r->count = 0;
	r->next = 0;
	return 0;
}

/* Forget every value; the capacity stays. */
static inline void ring_clear(struct ring *r)
{
	r->count = 0;
	r->next = 0;
}

/* Take a slot for a new value: when the ring is full, the oldest value's. */
static inline int ring_take_slot(struct ring *r)
{
	int slot = r->next;

	r->next = (slot + 1) % r->cap;
	if (r->count < r->cap)
		r->count++;
	return slot;
}

/* Add x; when the ring is full it replaces the oldest value. */
static inline void ring_push_i64(struct ring *r, int64_t x)
{
	r->v.i64[ring_take_slot(r)] = x;
}

static inline void ring_push_f64(struct ring *r, double x)
{
	r->v.f64[ring_take_slot(r)] = x;
}

/* The i-th oldest value, 0 <= i < count. */
static inline int64_t ring_at_i64(const struct ring *r, int i)
{
	return r->v.i64[(r->next - r->count + i + r->cap) % r->cap];
}

/* (a + b) / 2 rounded toward zero, exact for any two int64 (whose sum may not fit). */
static inline int64_t ring_mid_i64(int64_t a, int64_t b)
{
	if ((a < 0) != (b < 0))
		return (a + b) / 2;
	return a / 2 + b / 2 + (a % 2 + b % 2) / 2;
}

/* Sort the first n values of v in place, smallest first (insertion: n is a few dozen). */
static inline void ring_sort_i64(int64_t *v, int n)
{
	for (int i = 1; i < n; i++) {
		int64_t x = v[i];
		int j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* The median; of an even count the mean of the middle two, rounded toward zero. 0 if empty. */
static inline int64_t ring_median_i64(const struct ring *r)
{
	int64_t v[RING_CAP_MAX];
	int n = r->count;

	if (!n)
		return 0;
	memcpy(v, r->v.i64, (size_t)n * sizeof(v[0]));
	ring_sort_i64(v, n);
	return n % 2 ? v[n / 2] : ring_mid_i64(v[n / 2 - 1], v[n / 2]);
}

/* Root mean square, in double; 0 if empty. */
static inline double ring_rms_i64(const struct ring *r)
{
	double sum_sq = 0.0;

	if (!r->count)
		return 0.0;
	for (int i = 0; i < r->count; i++)
		sum_sq += (double)r->v.i64[i] * (double)r->v.i64[i];
	return sqrt(sum_sq / r->count);
}

/* Mean; 0 if empty. */
static inline double ring_mean_f64(const struct ring *r)
{
	double sum = 0.0;

	if (!r->count)
		return 0.0;
	for (int i = 0; i < r->count; i++)
		sum += r->v.f64[i];
	return sum / r->count;
}

/* Standard deviation (of the population, not a sample's estimate); 0 if empty. */
static inline double ring_stddev_f64(const struct ring *r)
{
	double mean = ring_mean_f64(r), sum = 0.0;

	if (!r->count)
		return 0.0;
	for (int i = 0; i < r->count; i++)
		sum += (r->v.f64[i] - mean) * (r->v.f64[i] - mean);
	return sqrt(sum / r->count);
}

#endif
