/* SPDX-License-Identifier: BSD-2-Clause */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "phcsync/disrupt.h"
#include "sim/sim_rng.h"

#define US 1000LL
#define MS 1000000LL
#define S 1000000000LL

/* The simulator's deterministic noise source, so every run sees the same samples. */
static struct sim_rng rng;

static void rng_seed(uint64_t seed)
{
	sim_rng_seed(&rng, seed, 0);
}

/* Gaussian noise of the given standard deviation. */
static int64_t noise_ns(double sigma_ns)
{
	return llround(sigma_ns * sim_rng_gauss(&rng));
}

static struct disrupt *make(int samples, int64_t floor_ns, double factor)
{
	struct disrupt_params p = {
		.samples = samples, .floor_ns = floor_ns, .noise_factor = factor};
	struct disrupt *d = disrupt_create(&p);

	ck_assert_ptr_nonnull(d);
	return d;
}

static enum disrupt_verdict feed(struct disrupt *d, int64_t offset_ns)
{
	struct disrupt_result r;

	return disrupt_feed(d, offset_ns, &r);
}

/* Enough noisy normal samples to activate the detector and fill its history. */
static void warm_up(struct disrupt *d, double sigma_ns)
{
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(feed(d, noise_ns(sigma_ns)), DISRUPT_NORMAL);
}

START_TEST(test_defaults)
{
	struct disrupt_params p;

	disrupt_params_default(&p);
	ck_assert_int_eq(p.samples, 3);
	ck_assert_int_eq(p.floor_ns, 100 * US);
	ck_assert(p.noise_factor == 20.0);
}
END_TEST

START_TEST(test_invalid_params)
{
	struct disrupt_params bad[] = {
		{.samples = 0, .floor_ns = 100 * US, .noise_factor = 20},
		{.samples = 11, .floor_ns = 100 * US, .noise_factor = 20},
		{.samples = 3, .floor_ns = 0, .noise_factor = 20},
		{.samples = 3, .floor_ns = 100 * US, .noise_factor = 0},
		{.samples = 3, .floor_ns = 100 * US, .noise_factor = NAN},
		{.samples = 3, .floor_ns = 100 * US, .noise_factor = INFINITY},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ck_assert_ptr_null(disrupt_create(&bad[i]));
		ck_assert_int_eq(errno, EINVAL);
	}
}
END_TEST

START_TEST(test_noise_only_is_normal)
{
	/* Gaussian noise never reaches 20 sigma, nor the floor when it is small. */
	static const double sigma_ns[] = {100, 1 * US, 10 * US, 50 * US, 2 * MS};

	for (size_t k = 0; k < sizeof(sigma_ns) / sizeof(sigma_ns[0]); k++) {
		struct disrupt *d = make(3, 100 * US, 20);

		rng_seed(k + 1);
		for (int i = 0; i < 5000; i++) {
			struct disrupt_result r;

			ck_assert_int_eq(disrupt_feed(d, noise_ns(sigma_ns[k]), &r),
					 DISRUPT_NORMAL);
			ck_assert_int_eq(r.discarded, 0);
		}
		disrupt_destroy(d);
	}
}
END_TEST

static const int64_t jumps_ns[] = {20 * MS, 500 * MS, -500 * MS, 3 * 3600 * S};

/* Every jump, for every N: exactly N - 1 SUSPECT, then CONFIRMED with the jump's value. */
START_TEST(test_jump_confirmed_after_n)
{
	int64_t jump_ns = jumps_ns[_i];

	for (int n = DISRUPT_SAMPLES_MIN; n <= DISRUPT_SAMPLES_MAX; n++) {
		struct disrupt *d = make(n, 100 * US, 20);
		struct disrupt_result r;

		rng_seed((uint64_t)(_i * 100 + n));
		warm_up(d, 1 * US);
		for (int i = 1; i < n; i++) {
			ck_assert_int_eq(disrupt_feed(d, jump_ns + noise_ns(1 * US), &r),
					 DISRUPT_SUSPECT);
			ck_assert_int_eq(r.discarded, 0);
		}
		ck_assert_int_eq(disrupt_feed(d, jump_ns + noise_ns(1 * US), &r),
				 DISRUPT_CONFIRMED);
		ck_assert_int_le(llabs(r.offset_ns - jump_ns), 5 * US);
		disrupt_destroy(d);
	}
}
END_TEST

START_TEST(test_confirmed_value_is_median)
{
	struct disrupt *d = make(3, 100 * US, 20);
	struct disrupt_result r;

	rng_seed(7);
	warm_up(d, 1 * US);
	ck_assert_int_eq(disrupt_feed(d, 510 * MS, &r), DISRUPT_SUSPECT);
	ck_assert_int_eq(disrupt_feed(d, 500 * MS, &r), DISRUPT_SUSPECT);
	ck_assert_int_eq(disrupt_feed(d, 540 * MS, &r), DISRUPT_CONFIRMED);
	ck_assert_int_eq(r.offset_ns, 510 * MS);
	disrupt_destroy(d);

	/* An even run: the mean of the middle two. */
	d = make(4, 100 * US, 20);
	warm_up(d, 1 * US);
	feed(d, -500 * MS);
	feed(d, -503 * MS);
	feed(d, -502 * MS);
	ck_assert_int_eq(disrupt_feed(d, -540 * MS, &r), DISRUPT_CONFIRMED);
	ck_assert_int_eq(r.offset_ns, -502500 * US);
	disrupt_destroy(d);
}
END_TEST

START_TEST(test_single_outlier_discarded)
{
	struct disrupt *d = make(3, 100 * US, 20);
	struct disrupt_result r;

	rng_seed(3);
	warm_up(d, 1 * US);
	ck_assert_int_eq(disrupt_feed(d, 1 * S, &r), DISRUPT_SUSPECT);
	ck_assert_int_eq(r.offset_ns, 1 * S);
	ck_assert_int_eq(disrupt_feed(d, 700, &r), DISRUPT_DISCARDED);
	ck_assert_int_eq(r.discarded, 1);
	ck_assert_int_eq(r.offset_ns, 700);
	/* The run is over: the next samples are normal and a new outlier starts afresh. */
	ck_assert_int_eq(disrupt_feed(d, -300, &r), DISRUPT_NORMAL);
	ck_assert_int_eq(r.discarded, 0);
	ck_assert_int_eq(feed(d, 1 * S), DISRUPT_SUSPECT);
	ck_assert_int_eq(feed(d, 1 * S), DISRUPT_SUSPECT);
	ck_assert_int_eq(disrupt_feed(d, 200, &r), DISRUPT_DISCARDED);
	ck_assert_int_eq(r.discarded, 2);
	disrupt_destroy(d);
}
END_TEST

START_TEST(test_disagreeing_outliers_do_not_confirm)
{
	struct disrupt *d = make(2, 100 * US, 20);
	struct disrupt_result r;

	rng_seed(4);
	warm_up(d, 1 * US);
	ck_assert_int_eq(disrupt_feed(d, 1 * S, &r), DISRUPT_SUSPECT);
	ck_assert_int_eq(disrupt_feed(d, -1 * S, &r), DISRUPT_SUSPECT);
	ck_assert_int_eq(r.discarded, 1);
	/* More than 10 % apart. */
	ck_assert_int_eq(disrupt_feed(d, -800 * MS, &r), DISRUPT_SUSPECT);
	ck_assert_int_eq(r.discarded, 1);
	ck_assert_int_eq(disrupt_feed(d, 0, &r), DISRUPT_DISCARDED);
	ck_assert_int_eq(r.discarded, 1);
	disrupt_destroy(d);

	/* The disagreeing suspect restarts the run from itself: two more confirm it with N = 3. */
	d = make(3, 100 * US, 20);
	warm_up(d, 1 * US);
	ck_assert_int_eq(feed(d, 1 * S), DISRUPT_SUSPECT);
	ck_assert_int_eq(disrupt_feed(d, 2 * S, &r), DISRUPT_SUSPECT);
	ck_assert_int_eq(r.discarded, 1);
	ck_assert_int_eq(feed(d, 2 * S), DISRUPT_SUSPECT);
	ck_assert_int_eq(disrupt_feed(d, 2 * S, &r), DISRUPT_CONFIRMED);
	ck_assert_int_eq(r.offset_ns, 2 * S);
	disrupt_destroy(d);
}
END_TEST

START_TEST(test_agreement_tolerance)
{
	struct disrupt *d = make(2, 100 * US, 20);
	struct disrupt_result r;

	/* Small jumps: within threshold / 2 (50 us) agree, beyond do not. */
	for (int i = 0; i < 8; i++)
		feed(d, 0);
	ck_assert_int_eq(feed(d, 300 * US), DISRUPT_SUSPECT);
	ck_assert_int_eq(disrupt_feed(d, 360 * US, &r), DISRUPT_SUSPECT);
	ck_assert_int_eq(r.discarded, 1);
	ck_assert_int_eq(disrupt_feed(d, 410 * US, &r), DISRUPT_CONFIRMED);
	ck_assert_int_eq(r.offset_ns, 385 * US);
	/* Large jumps: within 10 % of the first suspect. */
	for (int i = 0; i < 8; i++)
		feed(d, 0);
	ck_assert_int_eq(feed(d, 10 * S), DISRUPT_SUSPECT);
	ck_assert_int_eq(feed(d, 11 * S), DISRUPT_CONFIRMED);
	disrupt_destroy(d);
}
END_TEST

START_TEST(test_n_equals_one)
{
	struct disrupt *d = make(1, 100 * US, 20);
	struct disrupt_result r;

	rng_seed(5);
	warm_up(d, 1 * US);
	ck_assert_int_eq(disrupt_feed(d, 500 * MS, &r), DISRUPT_CONFIRMED);
	ck_assert_int_eq(r.offset_ns, 500 * MS);
	ck_assert_int_eq(r.discarded, 0);
	disrupt_destroy(d);
}
END_TEST

START_TEST(test_threshold_follows_noise)
{
	struct disrupt *d = make(3, 10 * US, 20);
	struct disrupt_result r;

	/* 1 us noise: threshold about 20 us, so a 50 us jump is a disruption. */
	rng_seed(6);
	warm_up(d, 1 * US);
	ck_assert_int_eq(disrupt_feed(d, 50 * US, &r), DISRUPT_SUSPECT);
	ck_assert_int_ge(r.threshold_ns, 10 * US);
	ck_assert_int_le(r.threshold_ns, 40 * US);
	ck_assert_int_eq(feed(d, 50 * US), DISRUPT_SUSPECT);
	ck_assert_int_eq(disrupt_feed(d, 50 * US, &r), DISRUPT_CONFIRMED);
	ck_assert_int_eq(r.offset_ns, 50 * US);
	disrupt_destroy(d);

	/* 10 us noise: threshold about 200 us; a 50 us step is the servo's job. */
	d = make(3, 10 * US, 20);
	warm_up(d, 10 * US);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(disrupt_feed(d, 50 * US + noise_ns(10 * US), &r), DISRUPT_NORMAL);
		ck_assert_int_ge(r.threshold_ns, 100 * US);
	}
	disrupt_destroy(d);

	/* Quiet noise: the floor holds. */
	d = make(3, 100 * US, 20);
	warm_up(d, 100);
	ck_assert_int_eq(disrupt_feed(d, 90 * US, &r), DISRUPT_NORMAL);
	ck_assert_int_eq(r.threshold_ns, 100 * US);
	disrupt_destroy(d);
}
END_TEST

START_TEST(test_inactive_before_history)
{
	struct disrupt *d = make(1, 100 * US, 20);
	struct disrupt_result r;

	/* The servo is still converging: large offsets are normal. */
	ck_assert_int_eq(disrupt_feed(d, 1 * S, &r), DISRUPT_NORMAL);
	ck_assert_int_eq(r.threshold_ns, 0);
	ck_assert_int_eq(feed(d, 0), DISRUPT_NORMAL);
	ck_assert_int_eq(feed(d, 5 * S), DISRUPT_NORMAL);
	ck_assert_int_eq(feed(d, 0), DISRUPT_NORMAL);
	/* Four in the history: active, but the RMS of those offsets makes a 1 s jump small. */
	ck_assert_int_eq(disrupt_feed(d, 1 * S, &r), DISRUPT_NORMAL);
	ck_assert_int_gt(r.threshold_ns, 1 * S);
	disrupt_destroy(d);

	d = make(1, 100 * US, 20);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(feed(d, 0), DISRUPT_NORMAL);
	ck_assert_int_eq(feed(d, 1 * S), DISRUPT_NORMAL);
	disrupt_destroy(d);
	d = make(1, 100 * US, 20);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(feed(d, 0), DISRUPT_NORMAL);
	ck_assert_int_eq(feed(d, 1 * S), DISRUPT_CONFIRMED);
	disrupt_destroy(d);
}
END_TEST

START_TEST(test_reset)
{
	struct disrupt *d = make(2, 100 * US, 20);

	rng_seed(8);
	warm_up(d, 1 * US);
	ck_assert_int_eq(feed(d, 1 * S), DISRUPT_SUSPECT);
	disrupt_reset(d);
	/* The history restarts, and so does the run. */
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(feed(d, 1 * S), DISRUPT_NORMAL);
	disrupt_reset(d);
	warm_up(d, 1 * US);
	ck_assert_int_eq(feed(d, 1 * S), DISRUPT_SUSPECT);
	ck_assert_int_eq(feed(d, 1 * S), DISRUPT_CONFIRMED);
	/* CONFIRMED resets by itself: the uncorrected offset does not start a new run. */
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(feed(d, 1 * S), DISRUPT_NORMAL);
	disrupt_destroy(d);
}
END_TEST

START_TEST(test_int64_extremes)
{
	struct disrupt *d = make(2, 100 * US, 20);
	struct disrupt_result r;

	for (int i = 0; i < 4; i++)
		feed(d, 0);
	ck_assert_int_eq(feed(d, INT64_MAX), DISRUPT_SUSPECT);
	ck_assert_int_eq(disrupt_feed(d, INT64_MIN, &r), DISRUPT_SUSPECT);
	ck_assert_int_eq(r.discarded, 1);
	ck_assert_int_eq(disrupt_feed(d, INT64_MIN + 1, &r), DISRUPT_CONFIRMED);
	ck_assert_int_eq(r.offset_ns, INT64_MIN + 1);
	for (int i = 0; i < 4; i++)
		feed(d, 0);
	ck_assert_int_eq(feed(d, INT64_MAX - 1), DISRUPT_SUSPECT);
	ck_assert_int_eq(disrupt_feed(d, INT64_MAX, &r), DISRUPT_CONFIRMED);
	ck_assert_int_eq(r.offset_ns, INT64_MAX - 1);

	/* A history of extremes saturates the threshold instead of overflowing it. */
	for (int i = 0; i < 4; i++)
		feed(d, i % 2 ? INT64_MIN : INT64_MAX);
	ck_assert_int_eq(disrupt_feed(d, INT64_MAX, &r), DISRUPT_NORMAL);
	ck_assert_int_eq(r.threshold_ns, INT64_MAX);
	/* |INT64_MIN| is one more than the largest threshold. */
	ck_assert_int_eq(disrupt_feed(d, INT64_MIN, &r), DISRUPT_SUSPECT);
	disrupt_destroy(d);
}
END_TEST

START_TEST(test_format)
{
	struct disrupt_hint resume = {.suspended = true, .suspend_ns = 300 * S + 400 * MS};
	char buf[160];

	ck_assert_int_gt(disrupt_format(buf, sizeof(buf), 512 * MS, NULL), 0);
	ck_assert_str_eq(buf, "clock disruption: +0.512 s (likely cause: live migration, host "
			      "clock step or snapshot revert)");
	ck_assert_int_eq(disrupt_format(buf, sizeof(buf), -3 * 3600 * S, &resume),
			 (int)strlen("clock disruption: -10800.000 s (likely cause: resume "
				     "after 300 s of suspend)"));
	ck_assert_str_eq(
		buf,
		"clock disruption: -10800.000 s (likely cause: resume after 300 s of suspend)");
	/* Rounded to the millisecond, carrying into the seconds. */
	disrupt_format(buf, sizeof(buf), 999600 * US, NULL);
	ck_assert_ptr_nonnull(strstr(buf, ": +1.000 s ("));
	disrupt_format(buf, sizeof(buf), -20 * MS - 400 * US, NULL);
	ck_assert_ptr_nonnull(strstr(buf, ": -0.020 s ("));
	disrupt_format(buf, sizeof(buf), INT64_MIN, NULL);
	ck_assert_ptr_nonnull(strstr(buf, ": -9223372036.855 s ("));
	/* Below 10 ms, in microseconds: a real disruption never shows as 0.000 s. */
	disrupt_format(buf, sizeof(buf), -237400, NULL);
	ck_assert_ptr_nonnull(strstr(buf, ": -0.000237 s ("));
	disrupt_format(buf, sizeof(buf), 9999 * US, NULL);
	ck_assert_ptr_nonnull(strstr(buf, ": +0.009999 s ("));
	/* A hint without a suspend names the other causes. */
	resume.suspended = false;
	disrupt_format(buf, sizeof(buf), 0, &resume);
	ck_assert_ptr_nonnull(strstr(buf, "live migration"));
	/* Drift after holdover. */
	resume.holdover_ns = 600 * S;
	disrupt_format(buf, sizeof(buf), 300 * US, &resume);
	ck_assert_ptr_nonnull(strstr(buf, "(likely cause: drift during 600 s of holdover)"));
	/* Too small a buffer: truncated and said so. */
	ck_assert_int_eq(disrupt_format(buf, 20, 512 * MS, NULL), -ENOSPC);
	ck_assert_uint_eq(strlen(buf), 19);
	ck_assert_int_eq(disrupt_format(buf, 0, 512 * MS, NULL), -EINVAL);
}
END_TEST

int main(void)
{
	TCase *tc = check_tcase("disrupt", NULL, NULL);

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_invalid_params);
	tcase_add_test(tc, test_noise_only_is_normal);
	tcase_add_loop_test(tc, test_jump_confirmed_after_n, 0,
			    (int)(sizeof(jumps_ns) / sizeof(jumps_ns[0])));
	tcase_add_test(tc, test_confirmed_value_is_median);
	tcase_add_test(tc, test_single_outlier_discarded);
	tcase_add_test(tc, test_disagreeing_outliers_do_not_confirm);
	tcase_add_test(tc, test_agreement_tolerance);
	tcase_add_test(tc, test_n_equals_one);
	tcase_add_test(tc, test_threshold_follows_noise);
	tcase_add_test(tc, test_inactive_before_history);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_int64_extremes);
	tcase_add_test(tc, test_format);
	return check_run_tcase("disrupt", tc);
}
