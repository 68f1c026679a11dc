/* SPDX-License-Identifier: BSD-2-Clause */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check_main.h"
#include "phcsync/filter.h"
#include "sim/sim_rng.h"

#define T2026_NS 1800000000000000000LL

/* A reading whose midpoint is mid_ns, whose system time is ahead of the PHC by offset_ns. */
static struct phc_reading reading(int64_t mid_ns, int64_t delay_ns, int64_t offset_ns)
{
	return (struct phc_reading){
		.sys_before_ns = mid_ns - delay_ns / 2,
		.phc_ns = mid_ns - offset_ns,
		.sys_after_ns = mid_ns - delay_ns / 2 + delay_ns,
	};
}

static struct filter *make_filter(void)
{
	struct filter *f = filter_create();

	ck_assert_ptr_nonnull(f);
	return f;
}

/* A burst of one reading of the given delay and a 5 us offset. */
static int burst(struct filter *f, int64_t delay_ns, struct filter_sample *out)
{
	struct phc_reading r = reading(T2026_NS, delay_ns, 5000);

	return filter_process(f, &r, 1, out);
}

START_TEST(test_picks_fastest_reading_and_sign)
{
	/* The slow readings are skewed; only the fast one tells the truth: system 5 us ahead. */
	struct phc_reading r[3] = {
		reading(T2026_NS, 10000, 9000),
		reading(T2026_NS + 20000, 400, 5000),
		reading(T2026_NS + 40000, 20000, -3000),
	};
	struct filter *f = make_filter();
	struct filter_sample out;

	ck_assert_int_eq(filter_process(f, r, 3, &out), 0);
	ck_assert_int_eq(out.offset_ns, 5000);
	ck_assert_int_eq(out.delay_ns, 400);
	ck_assert_int_eq(out.t_local_ns, T2026_NS + 20000);
	ck_assert_int_eq(out.error_bound_ns, 200);
	ck_assert_int_eq(out.used, 1);
	filter_destroy(f);
}
END_TEST

START_TEST(test_offset_sign_from_raw_reading)
{
	/* PHC behind the system clock: positive offset, midpoint of before and after. */
	struct phc_reading r = {.sys_before_ns = 1000, .phc_ns = 600, .sys_after_ns = 1100};
	struct filter *f = make_filter();
	struct filter_sample out;

	ck_assert_int_eq(filter_process(f, &r, 1, &out), 0);
	ck_assert_int_eq(out.offset_ns, 450);
	ck_assert_int_eq(out.t_local_ns, 1050);
	ck_assert_int_eq(out.delay_ns, 100);
	filter_destroy(f);
}
END_TEST

START_TEST(test_precise_readings)
{
	struct phc_reading r[3] = {
		reading(T2026_NS, 0, -100),
		reading(T2026_NS + 1000, 0, -102),
		reading(T2026_NS + 2000, 0, -104),
	};
	struct filter *f = make_filter();
	struct filter_sample out;

	/* Equal delays: all of them are the fastest, and their spread bounds the error. */
	ck_assert_int_eq(filter_process(f, r, 3, &out), 0);
	ck_assert_int_eq(out.offset_ns, -102);
	ck_assert_int_eq(out.t_local_ns, T2026_NS + 1000);
	ck_assert_int_eq(out.delay_ns, 0);
	ck_assert_int_eq(out.error_bound_ns, 2);
	ck_assert_int_eq(out.used, 3);

	ck_assert_int_eq(filter_process(f, r, 1, &out), 0);
	ck_assert_int_eq(out.offset_ns, -100);
	ck_assert_int_eq(out.error_bound_ns, 1);
	filter_destroy(f);
}
END_TEST

START_TEST(test_averages_fastest_third)
{
	/* Nine readings, delays 900 down to 100: the band is the three fastest. */
	struct phc_reading r[9];
	struct filter *f = make_filter();
	struct filter_sample out;

	for (int i = 0; i < 9; i++)
		r[i] = reading(T2026_NS + i * 10000, 900 - i * 100, 1000 + i * 100);
	ck_assert_int_eq(filter_process(f, r, 9, &out), 0);
	ck_assert_int_eq(out.used, 3);
	ck_assert_int_eq(out.offset_ns, 1700);
	ck_assert_int_eq(out.t_local_ns, T2026_NS + 70000);
	ck_assert_int_eq(out.delay_ns, 200);
	ck_assert_int_eq(out.error_bound_ns, 100);
	filter_destroy(f);
}
END_TEST

START_TEST(test_error_bound_from_spread)
{
	struct phc_reading r[2] = {
		reading(T2026_NS, 100, 0),
		reading(T2026_NS, 100, 3000),
	};
	struct filter *f = make_filter();
	struct filter_sample out;

	ck_assert_int_eq(filter_process(f, r, 2, &out), 0);
	ck_assert_int_eq(out.used, 2);
	ck_assert_int_eq(out.offset_ns, 1500);
	ck_assert_int_eq(out.error_bound_ns, 1500);
	filter_destroy(f);
}
END_TEST

START_TEST(test_error_bound_covers_half_delay)
{
	struct filter *f = make_filter();
	struct filter_sample out;

	for (int64_t delay_ns = 0; delay_ns < 2000; delay_ns += 37) {
		filter_reset(f);
		ck_assert_int_eq(burst(f, delay_ns, &out), 0);
		ck_assert_int_ge(2 * out.error_bound_ns, out.delay_ns);
		ck_assert_int_ge(out.error_bound_ns, 1);
	}
	filter_destroy(f);
}
END_TEST

static void fill_history(struct filter *f, int64_t delay_ns, int count)
{
	struct filter_sample out;

	for (int i = 0; i < count; i++)
		ck_assert_int_eq(burst(f, delay_ns + i, &out), 0);
}

START_TEST(test_rejects_delay_spike)
{
	struct filter *f = make_filter();
	struct filter_sample out;

	/* Too little history to judge: a spike passes. */
	fill_history(f, 1000, 3);
	ck_assert_int_eq(burst(f, 100000, &out), 0);
	filter_reset(f);

	/* Median 1001: the limit is 3 * 1001 + 1000 = 4003. */
	fill_history(f, 1000, 3);
	ck_assert_int_eq(burst(f, 1001, &out), 0);
	ck_assert_int_eq(burst(f, 4004, &out), -EAGAIN);
	ck_assert_int_eq(out.offset_ns, 5000);
	ck_assert_int_eq(out.delay_ns, 4004);
	ck_assert_int_eq(burst(f, 4003, &out), 0);
	filter_destroy(f);
}
END_TEST

START_TEST(test_gate_uses_median)
{
	struct filter *f = make_filter();
	struct filter_sample out;

	/* One slow burst in the history must not open the gate for everything. */
	fill_history(f, 1000, 4);
	ck_assert_int_eq(burst(f, 3900, &out), 0);
	ck_assert_int_eq(burst(f, 5000, &out), -EAGAIN);
	filter_destroy(f);
}
END_TEST

START_TEST(test_accepts_after_four_rejections)
{
	struct filter *f = make_filter();
	struct filter_sample out;

	fill_history(f, 1000, 16);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(burst(f, 50000, &out), -EAGAIN);
	ck_assert_int_eq(burst(f, 50000, &out), 0);
	/* The history restarted from the slow path: it is not gated against the old one. */
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(burst(f, 50000 + i, &out), 0);
	ck_assert_int_eq(burst(f, 1000, &out), 0);
	filter_destroy(f);
}
END_TEST

START_TEST(test_rejections_must_be_in_a_row)
{
	struct filter *f = make_filter();
	struct filter_sample out;

	fill_history(f, 1000, 8);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(burst(f, 50000, &out), -EAGAIN);
	ck_assert_int_eq(burst(f, 1000, &out), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(burst(f, 50000, &out), -EAGAIN);
	filter_destroy(f);
}
END_TEST

START_TEST(test_reset_forgets_history)
{
	struct filter *f = make_filter();
	struct filter_sample out;

	fill_history(f, 1000, 8);
	ck_assert_int_eq(burst(f, 50000, &out), -EAGAIN);
	filter_reset(f);
	ck_assert_int_eq(burst(f, 50000, &out), 0);
	filter_destroy(f);
}
END_TEST

START_TEST(test_invalid_input)
{
	struct phc_reading r[3] = {
		{.sys_before_ns = T2026_NS, .phc_ns = T2026_NS, .sys_after_ns = T2026_NS - 1},
		{.sys_before_ns = T2026_NS,
		 .phc_ns = T2026_NS,
		 .sys_after_ns = T2026_NS + 1000000001},
		{.sys_before_ns = INT64_MIN, .phc_ns = 0, .sys_after_ns = INT64_MAX},
	};
	struct filter *f = make_filter();
	struct filter_sample out;

	ck_assert_int_eq(filter_process(f, r, 0, &out), -EINVAL);
	ck_assert_int_eq(filter_process(f, r, 3, &out), -EINVAL);
	filter_destroy(f);
}
END_TEST

START_TEST(test_insane_readings_ignored)
{
	/* A negative delay would otherwise look like the fastest reading. */
	struct phc_reading r[3] = {
		{.sys_before_ns = T2026_NS, .phc_ns = 0, .sys_after_ns = T2026_NS - 500},
		reading(T2026_NS, 300, 42),
		{.sys_before_ns = T2026_NS, .phc_ns = 0, .sys_after_ns = T2026_NS + 2000000000},
	};
	struct filter *f = make_filter();
	struct filter_sample out;

	ck_assert_int_eq(filter_process(f, r, 3, &out), 0);
	ck_assert_int_eq(out.used, 1);
	ck_assert_int_eq(out.offset_ns, 42);
	ck_assert_int_eq(out.delay_ns, 300);
	/* A delay of exactly 1 s is still sane. */
	r[0] = reading(T2026_NS, 1000000000, 7);
	ck_assert_int_eq(filter_process(f, r, 1, &out), 0);
	filter_destroy(f);
}
END_TEST

START_TEST(test_no_overflow_near_2026)
{
	/*
	 * 25 equal-delay readings at 2026 timestamps against a PHC counting from boot: the
	 * offsets and midpoints are ~1.8e18 each, so summing even five of them overflows.
	 */
	struct phc_reading r[25];
	struct filter *f = make_filter();
	struct filter_sample out;
	const int64_t boot_ns = 1234567890123LL;

	for (int i = 0; i < 25; i++)
		r[i] = (struct phc_reading){
			.sys_before_ns = T2026_NS + i * 1000000LL,
			.phc_ns = T2026_NS + i * 1000000LL + 20 - (T2026_NS - boot_ns) + (i % 2),
			.sys_after_ns = T2026_NS + i * 1000000LL + 40,
		};
	ck_assert_int_eq(filter_process(f, r, 25, &out), 0);
	ck_assert_int_eq(out.used, 25);
	ck_assert_int_eq(out.t_local_ns, T2026_NS + 12000000 + 20);
	/* 13 even readings at T - boot, 12 odd at T - boot - 1: the mean truncates. */
	ck_assert_int_eq(out.offset_ns, T2026_NS - boot_ns);
	ck_assert_int_eq(out.delay_ns, 40);
	ck_assert_int_eq(out.error_bound_ns, 20);
	filter_destroy(f);
}
END_TEST

/* A burst of n readings 1 ms apart, offsets off_ns[i], delays delay_ns[i]. */
static void make_burst(struct phc_reading *r, int n, const int64_t *delay_ns, const int64_t *off_ns)
{
	for (int i = 0; i < n; i++)
		r[i] = reading(T2026_NS + i * 1000000LL, delay_ns[i], off_ns[i]);
}

static int64_t combined(enum filter_combine c, const struct phc_reading *r, int n)
{
	struct filter *f = make_filter();
	struct filter_sample out;

	filter_set_combine(f, c);
	ck_assert_int_eq(filter_process(f, r, n, &out), 0);
	filter_destroy(f);
	return out.offset_ns;
}

START_TEST(test_combine_methods)
{
	/* Equal delays (cross-timestamps) and one reading 1 us off. */
	static const int64_t eq_delay[] = {0, 0, 0, 0, 0};
	static const int64_t eq_off[] = {30, -10, 1000, 20, 10};
	/* Delays apart: the slow reading is also the one far off. */
	static const int64_t delay[] = {300, 100, 500, 200, 400};
	static const int64_t off[] = {7, 5, -1000, 6, 8};
	struct phc_reading r[5];

	for (int sign = -1; sign <= 1; sign += 2) {
		int64_t o[5];

		for (int i = 0; i < 5; i++)
			o[i] = sign * eq_off[i];
		make_burst(r, 5, eq_delay, o);
		ck_assert_int_eq(combined(FILTER_COMBINE_BAND, r, 5), sign * 210);
		ck_assert_int_eq(combined(FILTER_COMBINE_MIN, r, 5), sign * 210);
		ck_assert_int_eq(combined(FILTER_COMBINE_MEDIAN, r, 5), sign * 20);
		/* The middle three of five: -10 and 1000 dropped. */
		ck_assert_int_eq(combined(FILTER_COMBINE_TRIMMED, r, 5), sign * 20);

		for (int i = 0; i < 5; i++)
			o[i] = sign * off[i];
		make_burst(r, 5, delay, o);
		/* Fastest third of five: the fastest alone. */
		ck_assert_int_eq(combined(FILTER_COMBINE_BAND, r, 5), sign * 5);
		ck_assert_int_eq(combined(FILTER_COMBINE_MIN, r, 5), sign * 5);
		/* Fastest half: delays 100, 200, 300. */
		ck_assert_int_eq(combined(FILTER_COMBINE_MEDIAN, r, 5), sign * 6);
		ck_assert_int_eq(combined(FILTER_COMBINE_TRIMMED, r, 5), sign * 6);
	}
	/* An even count: the mean of the middle two. */
	make_burst(r, 4, eq_delay, (const int64_t[]){1, 3, 11, 100});
	ck_assert_int_eq(combined(FILTER_COMBINE_MEDIAN, r, 4), 7);
	ck_assert_str_eq(filter_combine_name(FILTER_COMBINE_TRIMMED), "trimmed");
	ck_assert_str_eq(filter_combine_name(FILTER_COMBINE_MEDIAN), "median");
}
END_TEST

START_TEST(test_burst_consistency_scales_with_noise)
{
	char why[160];

	/* Gaussian readout noise on a log grid from 1 us to 1 ms per reading. */
	for (int64_t scale = 1000; scale <= 1000000; scale *= 10) {
		struct filter *f = make_filter();
		struct phc_reading r[5];
		struct sim_rng rng;
		int64_t delay[5], off[5];
		int odd = 0, odd_fixed = 0;

		sim_rng_seed(&rng, 42, 0);
		for (int k = 0; k < 1000; k++) {
			for (int i = 0; i < 5; i++) {
				delay[i] = 2000;
				off[i] = llround((double)scale * sim_rng_gauss(&rng));
			}
			make_burst(r, 5, delay, off);
			odd_fixed += !filter_burst_consistent(r, 5, why, sizeof(why));
			/* The first four have only the fixed margin. */
			if (!filter_burst_check(f, r, 5, why, sizeof(why)) && k >= 4)
				odd++;
		}
		ck_assert_msg(odd == 0, "noise %lld: %d odd bursts", (long long)scale, odd);
		/* Without the memory, many bursts are odd from 10 us on. */
		if (scale >= 10000)
			ck_assert_msg(odd_fixed > 100, "noise %lld: %d", (long long)scale,
				      odd_fixed);
		/* The PHC jumps by 50 times the noise (at least 5 ms) between two reads. */
		for (int sign = -1; sign <= 1; sign += 2) {
			for (int i = 0; i < 5; i++)
				off[i] = llround((double)scale * sim_rng_gauss(&rng)) +
					 (i >= 3 ? sign * (scale * 50 > 5000000 ? scale * 50
										: 5000000)
						 : 0);
			make_burst(r, 5, delay, off);
			ck_assert_msg(!filter_burst_check(f, r, 5, why, sizeof(why)), "noise %lld",
				      (long long)scale);
		}
		filter_destroy(f);
	}
}
END_TEST

START_TEST(test_burst_steady_backstep_inconsistent)
{
	/* 50 us back at every read, no noise: no scatter to hide in. */
	struct phc_reading r[6];
	int64_t delay[6], off[6];
	char why[160];

	for (int i = 0; i < 6; i++) {
		delay[i] = 1000;
		off[i] = 50000 * i;
	}
	make_burst(r, 6, delay, off);
	ck_assert(!filter_burst_consistent(r, 6, why, sizeof(why)));
	/* Nor with the memory, however many such bursts it has seen. */
	{
		struct filter *f = make_filter();

		for (int k = 0; k < 20; k++)
			ck_assert(!filter_burst_check(f, r, 6, why, sizeof(why)));
		filter_destroy(f);
	}
	/* Three readings (two steps): only the fixed margin, so 20 us of noise is odd. */
	make_burst(r, 3, delay, (const int64_t[]){0, 20000, -20000});
	ck_assert(!filter_burst_consistent(r, 3, why, sizeof(why)));
	make_burst(r, 3, delay, (const int64_t[]){0, 4000, -4000});
	ck_assert(filter_burst_consistent(r, 3, why, sizeof(why)));
}
END_TEST

/* A PHC that keeps pace with the system clock is consistent; one that jumps is not. */
START_TEST(test_burst_consistent)
{
	struct phc_reading r[3];
	char why[256] = "";

	for (int i = 0; i < 3; i++)
		r[i] = reading(T2026_NS + i * 1000, 200, 37000000000LL);
	ck_assert(filter_burst_consistent(r, 3, why, sizeof(why)));
	/* Within the read windows and the 10 us margin, and one nanosecond past it. */
	r[2].phc_ns -= 400 + 10000;
	ck_assert(filter_burst_consistent(r, 3, why, sizeof(why)));
	r[2].phc_ns -= 1;
	ck_assert(!filter_burst_consistent(r, 3, why, sizeof(why)));
	ck_assert_str_eq(why, "the PHC moved -0.000010401 s against the system clock between two "
			      "reads 1000 ns apart");
}
END_TEST

/* Readings at the ends of int64 (a hostile device): an answer, no overflow (UBSan). */
START_TEST(test_burst_consistent_extremes)
{
	static const int64_t v[] = {
		INT64_MIN, INT64_MIN + 1,	  -1780000000000000000LL, -1,	    0,
		1,	   1780000000000000000LL, INT64_MAX - 1,	  INT64_MAX};
	const size_t nv = sizeof(v) / sizeof(v[0]);
	struct phc_reading r[2], big[8];
	struct filter *f = make_filter();
	char why[256];

	/* Eight sane readings, then extremes written over them one by one; the scatter's
	 * memory fills from them too. */
	for (int i = 0; i < 8; i++)
		big[i] = reading(T2026_NS + i * 1000, 200, 37000000000LL);

	for (size_t a = 0; a < nv; a++)
		for (size_t b = 0; b < nv; b++)
			for (size_t c = 0; c < nv; c++) {
				r[0] = (struct phc_reading){v[a], v[b], v[c]};
				r[1] = (struct phc_reading){v[c], v[a], v[b]};
				(void)filter_burst_consistent(r, 2, why, sizeof(why));
				r[1] = (struct phc_reading){v[b], v[c], v[a]};
				(void)filter_burst_consistent(r, 2, why, sizeof(why));
				(void)filter_burst_check(f, big, 8, why, sizeof(why));
				big[(a + b + c) % 8] = r[(a + c) % 2];
			}
	/* What the fuzzer found: a PHC near -292 years, the system clock in 2026. */
	r[0] = (struct phc_reading){T2026_NS, T2026_NS, T2026_NS};
	r[1] = (struct phc_reading){T2026_NS, INT64_MIN + 1000000000, T2026_NS};
	ck_assert(!filter_burst_consistent(r, 2, why, sizeof(why)));
	ck_assert_str_eq(why, "two reads of the burst are centuries apart on the PHC or the "
			      "system clock");
	/* Windows beyond int64 are skipped, not compared. */
	r[0] = (struct phc_reading){INT64_MIN, 0, INT64_MAX};
	r[1] = (struct phc_reading){INT64_MIN, INT64_MAX, INT64_MAX};
	ck_assert(filter_burst_consistent(r, 2, why, sizeof(why)));
	filter_destroy(f);
}
END_TEST

int main(void)
{
	TCase *tc = check_tcase("filter", NULL, NULL);

	tcase_add_test(tc, test_picks_fastest_reading_and_sign);
	tcase_add_test(tc, test_offset_sign_from_raw_reading);
	tcase_add_test(tc, test_precise_readings);
	tcase_add_test(tc, test_averages_fastest_third);
	tcase_add_test(tc, test_error_bound_from_spread);
	tcase_add_test(tc, test_error_bound_covers_half_delay);
	tcase_add_test(tc, test_rejects_delay_spike);
	tcase_add_test(tc, test_gate_uses_median);
	tcase_add_test(tc, test_accepts_after_four_rejections);
	tcase_add_test(tc, test_rejections_must_be_in_a_row);
	tcase_add_test(tc, test_reset_forgets_history);
	tcase_add_test(tc, test_invalid_input);
	tcase_add_test(tc, test_insane_readings_ignored);
	tcase_add_test(tc, test_no_overflow_near_2026);
	tcase_add_test(tc, test_combine_methods);
	tcase_add_test(tc, test_burst_consistency_scales_with_noise);
	tcase_add_test(tc, test_burst_steady_backstep_inconsistent);
	tcase_add_test(tc, test_burst_consistent);
	tcase_add_test(tc, test_burst_consistent_extremes);
	return check_run_tcase("filter", tc);
}
