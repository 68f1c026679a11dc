/* SPDX-License-Identifier: BSD-2-Clause */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "check_main.h"
#include "phcsync/stats.h"

START_TEST(test_empty_is_zero)
{
	struct stats s;

	stats_reset(&s);
	ck_assert_int_eq(s.count, 0);
	ck_assert_double_eq(stats_mean(&s), 0.0);
	ck_assert_double_eq(stats_rms(&s), 0.0);
	ck_assert_double_eq(stats_stddev(&s), 0.0);
	ck_assert_double_eq(stats_max_abs(&s), 0.0);
}
END_TEST

START_TEST(test_known_series)
{
	struct stats s;
	const double v[] = {3.0, -4.0, 3.0, -4.0};

	stats_reset(&s);
	for (unsigned i = 0; i < 4; i++)
		stats_add(&s, v[i]);
	ck_assert_double_eq_tol(stats_mean(&s), -0.5, 1e-12);
	ck_assert_double_eq_tol(stats_rms(&s), 3.5355339059327378, 1e-12);
	ck_assert_double_eq_tol(stats_stddev(&s), 3.5, 1e-12);
	ck_assert_double_eq(stats_max_abs(&s), 4.0);
}
END_TEST

START_TEST(test_constant_series_has_no_spread)
{
	struct stats s;

	stats_reset(&s);
	for (int i = 0; i < 1000; i++)
		stats_add(&s, 123456.789);
	ck_assert_double_eq(stats_stddev(&s), 0.0);
	ck_assert_double_eq_tol(stats_rms(&s), 123456.789, 1e-6);
}
END_TEST

START_TEST(test_reset_forgets)
{
	struct stats s;

	stats_reset(&s);
	stats_add(&s, 100.0);
	stats_reset(&s);
	stats_add(&s, -2.0);
	ck_assert_int_eq(s.count, 1);
	ck_assert_double_eq(stats_max_abs(&s), 2.0);
	ck_assert_double_eq(stats_mean(&s), -2.0);
}
END_TEST

/* A line is found exactly, with no spread, whatever its sign and scale. */
START_TEST(test_slope_of_a_line)
{
	static const double slopes[] = {-1e6, -3.5, -1e-3, 0.0, 1e-3, 2.0, 1e6};
	double x[10], y[10], b, sd;

	for (unsigned k = 0; k < sizeof(slopes) / sizeof(slopes[0]); k++) {
		for (int i = 0; i < 10; i++) {
			/* Times far from 0, as CLOCK_MONOTONIC seconds are. */
			x[i] = 1e5 + i * 1.25;
			y[i] = 7.0 + slopes[k] * (x[i] - 1e5);
		}
		ck_assert_int_eq(stats_slope(x, y, 10, &b, &sd), 0);
		ck_assert_double_eq_tol(b, slopes[k], 1e-9 * fabs(slopes[k]) + 1e-9);
		ck_assert_double_le(sd, 1e-6 * fabs(slopes[k]) + 1e-6);
	}
}
END_TEST

/* Points alternately 1 above and 1 below the line y = 2x: the slope and its standard
 * error by the textbook formulas, worked out by hand. */
START_TEST(test_slope_with_scatter)
{
	double x[4] = {0, 1, 2, 3}, y[4] = {1, 1, 5, 5}, b, sd;

	/* mean x 1.5, mean y 3, sxx 5, sxy = (-1.5)(-2) + (-0.5)(-2) + (0.5)(2) + (1.5)(2)
	 * = 8: slope 1.6; residuals 0.4, -1.2, 1.2, -0.4: sum of squares 3.2. */
	ck_assert_int_eq(stats_slope(x, y, 4, &b, &sd), 0);
	ck_assert_double_eq_tol(b, 1.6, 1e-12);
	ck_assert_double_eq_tol(sd, sqrt(3.2 / 2 / 5), 1e-12);
}
END_TEST

START_TEST(test_slope_refuses)
{
	double x[3] = {1, 1, 1}, y[3] = {1, 2, 3}, b = 42, sd = 42;

	ck_assert_int_eq(stats_slope(x, y, 2, &b, &sd), -EINVAL);
	ck_assert_int_eq(stats_slope(x, y, 3, &b, &sd), -EINVAL);
	ck_assert_double_eq(b, 42);
	ck_assert_double_eq(sd, 42);
}
END_TEST

int main(void)
{
	TCase *tc = check_tcase("core", NULL, NULL);

	tcase_add_test(tc, test_empty_is_zero);
	tcase_add_test(tc, test_known_series);
	tcase_add_test(tc, test_constant_series_has_no_spread);
	tcase_add_test(tc, test_reset_forgets);
	tcase_add_test(tc, test_slope_of_a_line);
	tcase_add_test(tc, test_slope_with_scatter);
	tcase_add_test(tc, test_slope_refuses);
	return check_run_tcase("stats", tc);
}
