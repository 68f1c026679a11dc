/* SPDX-License-Identifier: BSD-2-Clause */
#include <check.h>
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

int main(void)
{
	TCase *tc = check_tcase("core", NULL, NULL);

	tcase_add_test(tc, test_empty_is_zero);
	tcase_add_test(tc, test_known_series);
	tcase_add_test(tc, test_constant_series_has_no_spread);
	tcase_add_test(tc, test_reset_forgets);
	return check_run_tcase("stats", tc);
}
