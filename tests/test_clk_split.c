/* SPDX-License-Identifier: BSD-2-Clause */
/* clk_split_freq and clk_max_freq_ppb only: pure, nothing here touches the clock. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "check_main.h"
#include "phcsync/clk.h"

#define FREQ_LIMIT_PPB 500000.0

static const long hzs[] = {100, 250, 1000};

static struct clk make(long user_hz)
{
	struct clk c = {.user_hz = user_hz, .nominal_tick_us = (1000000 + user_hz / 2) / user_hz};

	return c;
}

static void check_split(const struct clk *c, double freq_ppb)
{
	long lo = (900000 + c->user_hz - 1) / c->user_hz, hi = 1100000 / c->user_hz;
	long delta = 12345;
	double rest = NAN;

	clk_split_freq(c, freq_ppb, &delta, &rest);
	ck_assert_msg(c->nominal_tick_us + delta >= lo && c->nominal_tick_us + delta <= hi,
		      "USER_HZ %ld freq %.1f: tick %ld outside %ld..%ld", c->user_hz, freq_ppb,
		      c->nominal_tick_us + delta, lo, hi);
	ck_assert_msg(fabs(rest) <= FREQ_LIMIT_PPB, "USER_HZ %ld freq %.1f: rest %.1f", c->user_hz,
		      freq_ppb, rest);
	if (fabs(freq_ppb) <= clk_max_freq_ppb(c)) {
		double back = (double)delta * (double)c->user_hz * 1000.0 + rest;

		ck_assert_msg(fabs(back - freq_ppb) <= 1e-6 * fmax(1.0, fabs(freq_ppb)),
			      "USER_HZ %ld freq %.3f: split back to %.3f", c->user_hz, freq_ppb,
			      back);
	} else {
		/* Beyond reach: saturated in the right direction. */
		ck_assert(freq_ppb > 0 ? rest == FREQ_LIMIT_PPB : rest == -FREQ_LIMIT_PPB);
		ck_assert(freq_ppb > 0 ? c->nominal_tick_us + delta == hi
				       : c->nominal_tick_us + delta == lo);
	}
}

START_TEST(test_max_freq)
{
	struct clk c = make(hzs[_i]);

	ck_assert(fabs(clk_max_freq_ppb(&c) - 100.5e6) < 1e-3);
}
END_TEST

START_TEST(test_user_hz_100_tick_range)
{
	struct clk c = make(100);
	long delta;
	double rest;

	ck_assert_int_eq(c.nominal_tick_us, 10000);
	/* The old bug: 100.5e6 ppb asked for a tick beyond 11000. */
	clk_split_freq(&c, 100.5e6, &delta, &rest);
	ck_assert_int_le(10000 + delta, 11000);
	ck_assert_int_ge(10000 + delta, 9000);
	clk_split_freq(&c, -100.5e6, &delta, &rest);
	ck_assert_int_le(10000 + delta, 11000);
	ck_assert_int_ge(10000 + delta, 9000);
	clk_split_freq(&c, 0.0, &delta, &rest);
	ck_assert_int_eq(delta, 0);
	ck_assert(rest == 0.0);
	clk_split_freq(&c, 499999.0, &delta, &rest);
	ck_assert_int_eq(delta, 0);
	ck_assert(rest == 499999.0);
}
END_TEST

START_TEST(test_grid)
{
	struct clk c = make(hzs[_i]);
	double max = clk_max_freq_ppb(&c);
	static const double exact[] = {0.0,	 100.5e6,	100.5e6 - 1.0, 100.5e6 + 1.0,
				       100.0e6,	 200e6,		500000.0,      500001.0,
				       499999.0, 1e8 + 499999.0};

	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
		check_split(&c, exact[i]);
		check_split(&c, -exact[i]);
	}
	check_split(&c, max);
	check_split(&c, -max);
	for (double f = 1.0; f <= 200e6; f *= 1.01) {
		check_split(&c, f);
		check_split(&c, -f);
	}
	for (double f = -200e6; f <= 200e6; f += 99999.7)
		check_split(&c, f);
}
END_TEST

int main(void)
{
	TCase *tc = check_tcase("clk_split", NULL, NULL);
	int n = (int)(sizeof(hzs) / sizeof(hzs[0]));

	tcase_add_loop_test(tc, test_max_freq, 0, n);
	tcase_add_test(tc, test_user_hz_100_tick_range);
	tcase_add_loop_test(tc, test_grid, 0, n);
	return check_run_tcase("clk_split", tc);
}
