/* SPDX-License-Identifier: BSD-2-Clause */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "phcsync/refsanity.h"

#define S 1000000000LL
#define LIMIT_PPB 800000.0

static struct refsanity r;
static int64_t phc_ns, local_ns;
static char why[160];

static void setup(void)
{
	refsanity_init(&r, LIMIT_PPB);
	phc_ns = 1700000000 * S;
	local_ns = 5 * S;
	why[0] = '\0';
}

/* One pair: dlocal_ns of the local clock, the PHC moving rate_ppb against it. */
static enum refsanity_verdict pair(double rate_ppb, int64_t dlocal_ns)
{
	local_ns += dlocal_ns;
	phc_ns += llround((double)dlocal_ns * (1.0 + rate_ppb * 1e-9));
	return refsanity_feed(&r, phc_ns, local_ns, 0.0, why, sizeof(why));
}

static enum refsanity_verdict step(double rate_ppb)
{
	return pair(rate_ppb, S);
}

START_TEST(test_first_sample_ok)
{
	ck_assert_int_eq(refsanity_feed(&r, 0, 0, 0.0, why, sizeof(why)), REFSANITY_OK);
	ck_assert_int_eq(refsanity_feed(&r, -5, 0, 0.0, why, sizeof(why)), REFSANITY_OK);
}
END_TEST

START_TEST(test_sane_rates)
{
	ck_assert_int_eq(step(0), REFSANITY_OK);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(step(0), REFSANITY_OK);
		ck_assert(fabs(r.rate_ppb) < 1.0);
		ck_assert_int_eq(step(LIMIT_PPB / 2), REFSANITY_OK);
		ck_assert_int_eq(step(-LIMIT_PPB / 2), REFSANITY_OK);
	}
	ck_assert(fabs(r.rate_ppb + LIMIT_PPB / 2) < 1.0);
}
END_TEST

START_TEST(test_beyond_limit_both_signs)
{
	double rate = _i ? -1.5 * LIMIT_PPB : 1.5 * LIMIT_PPB;

	step(0);
	ck_assert_int_eq(step(rate), REFSANITY_SUSPECT);
	ck_assert_ptr_nonnull(strstr(why, "reference_freq_limit"));
	ck_assert_int_eq(step(rate), REFSANITY_SUSPECT);
	ck_assert_int_eq(step(rate), REFSANITY_FAULT);
	ck_assert(r.fault);
	ck_assert_int_eq(step(rate), REFSANITY_FAULT);
	ck_assert(fabs(r.rate_ppb - rate) < 1.0);
}
END_TEST

START_TEST(test_two_bad_then_good)
{
	step(0);
	ck_assert_int_eq(step(2e6), REFSANITY_SUSPECT);
	ck_assert_int_eq(step(2e6), REFSANITY_SUSPECT);
	ck_assert_int_eq(step(0), REFSANITY_OK);
	ck_assert_int_eq(step(2e6), REFSANITY_SUSPECT);
	ck_assert(!r.fault);
}
END_TEST

START_TEST(test_not_advancing)
{
	step(0);
	for (int i = 0; i < 3; i++) {
		local_ns += S;
		ck_assert_int_eq(refsanity_feed(&r, phc_ns, local_ns, 0.0, why, sizeof(why)),
				 i < 2 ? REFSANITY_SUSPECT : REFSANITY_FAULT);
		ck_assert_ptr_nonnull(strstr(why, "did not advance"));
	}
}
END_TEST

START_TEST(test_not_advancing_without_rate_limit)
{
	refsanity_init(&r, 0.0);
	step(0);
	ck_assert_int_eq(step(50e6), REFSANITY_OK); /* no rate check */
	for (int i = 0; i < 3; i++) {
		local_ns += S;
		ck_assert_int_eq(refsanity_feed(&r, phc_ns, local_ns, 0.0, why, sizeof(why)),
				 i < 2 ? REFSANITY_SUSPECT : REFSANITY_FAULT);
	}
}
END_TEST

START_TEST(test_backwards)
{
	step(0);
	for (int i = 0; i < 3; i++) {
		local_ns += S;
		phc_ns -= 1000;
		ck_assert_int_eq(refsanity_feed(&r, phc_ns, local_ns, 0.0, why, sizeof(why)),
				 i < 2 ? REFSANITY_SUSPECT : REFSANITY_FAULT);
		ck_assert_ptr_nonnull(strstr(why, "ran backwards"));
	}
}
END_TEST

START_TEST(test_recovery)
{
	step(0);
	for (int i = 0; i < 5; i++)
		step(1000000.0 * 10);
	ck_assert(r.fault);
	ck_assert_int_eq(step(0), REFSANITY_FAULT);
	ck_assert_int_eq(step(0), REFSANITY_FAULT);
	ck_assert_int_eq(step(0), REFSANITY_RECOVERED);
	ck_assert(!r.fault);
	ck_assert_int_eq(step(0), REFSANITY_OK);
	/* A bad pair in the recovery run starts it again. */
	for (int i = 0; i < 3; i++)
		step(-5e6);
	ck_assert(r.fault);
	step(0);
	step(0);
	ck_assert_int_eq(step(5e6), REFSANITY_FAULT);
	ck_assert_int_eq(step(0), REFSANITY_FAULT);
	ck_assert_int_eq(step(0), REFSANITY_FAULT);
	ck_assert_int_eq(step(0), REFSANITY_RECOVERED);
}
END_TEST

START_TEST(test_local_rate_correction)
{
	/* CLOCK_MONOTONIC runs 500 ppm fast; the PHC is perfect against the oscillator. */
	double mono_ppb = 500000.0;

	refsanity_init(&r, 100000.0);
	for (int i = 0; i < 5; i++) {
		local_ns += llround(S * (1.0 + mono_ppb * 1e-9));
		phc_ns += S;
		ck_assert_int_eq(refsanity_feed(&r, phc_ns, local_ns, mono_ppb, why, sizeof(why)),
				 REFSANITY_OK);
		ck_assert(fabs(r.rate_ppb) < 1000.0);
	}
	/* Without the correction the same PHC looks 500 ppm slow. */
	local_ns += llround(S * (1.0 + mono_ppb * 1e-9));
	phc_ns += S;
	ck_assert_int_eq(refsanity_feed(&r, phc_ns, local_ns, 0.0, why, sizeof(why)),
			 REFSANITY_SUSPECT);
	ck_assert(fabs(r.rate_ppb + mono_ppb) < 1000.0);
}
END_TEST

START_TEST(test_single_jump)
{
	step(0);
	step(0);
	phc_ns += S / 2;
	ck_assert_int_eq(step(0), REFSANITY_SUSPECT);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(step(0), REFSANITY_OK);
	phc_ns -= S / 2;
	ck_assert_int_eq(step(0), REFSANITY_SUSPECT);
	ck_assert_int_eq(step(0), REFSANITY_OK);
}
END_TEST

START_TEST(test_local_clock_not_advancing_ignored)
{
	step(0);
	/* No local time passed: nothing to judge, the pair is skipped. */
	ck_assert_int_eq(refsanity_feed(&r, phc_ns + S, local_ns, 0.0, why, sizeof(why)),
			 REFSANITY_OK);
	ck_assert_int_eq(refsanity_feed(&r, phc_ns + 2 * S, local_ns - S, 0.0, why, sizeof(why)),
			 REFSANITY_OK);
}
END_TEST

START_TEST(test_forget_keeps_fault)
{
	step(0);
	for (int i = 0; i < 3; i++)
		step(-5e6);
	refsanity_forget(&r);
	ck_assert_int_eq(refsanity_feed(&r, 0, local_ns + S, 0.0, why, sizeof(why)),
			 REFSANITY_FAULT);
	ck_assert(r.fault);
}
END_TEST

/* The verdict flips exactly at the limit, on a log grid of limits from 1 ppm to 10 %. */
START_TEST(test_limit_sweep)
{
	const int64_t dlocal = 1000 * S; /* 0.001 ppb resolution */

	for (double limit = 1000.0; limit <= 100e6 * 1.0001; limit *= 1.25892541179) {
		for (int sign = -1; sign <= 1; sign += 2) {
			refsanity_init(&r, limit);
			pair(0, dlocal);
			ck_assert_msg(pair(sign * (limit - 1.0), dlocal) == REFSANITY_OK,
				      "limit %.0f sign %d: just inside not OK (rate %.3f)", limit,
				      sign, r.rate_ppb);
			ck_assert_msg(pair(sign * (limit + 1.0), dlocal) == REFSANITY_SUSPECT,
				      "limit %.0f sign %d: just beyond not suspect (rate %.3f)",
				      limit, sign, r.rate_ppb);
		}
	}
}
END_TEST

int main(void)
{
	TCase *tc = check_tcase("refsanity", setup, NULL);

	tcase_add_test(tc, test_first_sample_ok);
	tcase_add_test(tc, test_sane_rates);
	tcase_add_loop_test(tc, test_beyond_limit_both_signs, 0, 2);
	tcase_add_test(tc, test_two_bad_then_good);
	tcase_add_test(tc, test_not_advancing);
	tcase_add_test(tc, test_not_advancing_without_rate_limit);
	tcase_add_test(tc, test_backwards);
	tcase_add_test(tc, test_recovery);
	tcase_add_test(tc, test_local_rate_correction);
	tcase_add_test(tc, test_single_jump);
	tcase_add_test(tc, test_local_clock_not_advancing_ignored);
	tcase_add_test(tc, test_forget_keeps_fault);
	tcase_add_test(tc, test_limit_sweep);
	return check_run_tcase("refsanity", tc);
}
