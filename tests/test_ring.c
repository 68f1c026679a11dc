/* SPDX-License-Identifier: BSD-2-Clause */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "phcsync/ring.h"

#include "check_main.h"

static struct ring ring_of(int cap, const int64_t *v, int n)
{
	struct ring r;

	ck_assert_int_eq(ring_init(&r, cap), 0);
	for (int i = 0; i < n; i++)
		ring_push_i64(&r, v[i]);
	return r;
}

START_TEST(test_capacity_bounds)
{
	struct ring r;

	ck_assert_int_eq(ring_init(&r, 0), -EINVAL);
	ck_assert_int_eq(ring_init(&r, -1), -EINVAL);
	ck_assert_int_eq(ring_init(&r, RING_CAP_MAX + 1), -EINVAL);
	ck_assert_int_eq(ring_init(&r, 1), 0);
	ck_assert_int_eq(ring_init(&r, RING_CAP_MAX), 0);
	ck_assert_int_eq(r.cap, RING_CAP_MAX);
	ck_assert_int_eq(r.count, 0);
}
END_TEST

START_TEST(test_empty_is_zero)
{
	struct ring r;

	ck_assert_int_eq(ring_init(&r, 8), 0);
	ck_assert_int_eq(r.count, 0);
	ck_assert_int_eq(ring_median_i64(&r), 0);
	ck_assert_double_eq(ring_rms_i64(&r), 0.0);
	ck_assert_double_eq(ring_mean_f64(&r), 0.0);
	ck_assert_double_eq(ring_stddev_f64(&r), 0.0);
}
END_TEST

START_TEST(test_fills_then_wraps)
{
	struct ring r;

	ck_assert_int_eq(ring_init(&r, 4), 0);
	for (int64_t x = 1; x <= 4; x++) {
		ring_push_i64(&r, x);
		ck_assert_int_eq(r.count, x);
		ck_assert_int_eq(ring_at_i64(&r, 0), 1);
		ck_assert_int_eq(ring_at_i64(&r, (int)x - 1), x);
	}
	/* Full: each push replaces the oldest, and at() still goes by age. */
	for (int64_t x = 5; x <= 11; x++) {
		ring_push_i64(&r, x);
		ck_assert_int_eq(r.count, 4);
		for (int i = 0; i < 4; i++)
			ck_assert_int_eq(ring_at_i64(&r, i), x - 3 + i);
	}
}
END_TEST

START_TEST(test_capacity_one)
{
	const int64_t v[] = {7, -9};
	struct ring r = ring_of(1, v, 2);

	ck_assert_int_eq(r.count, 1);
	ck_assert_int_eq(ring_at_i64(&r, 0), -9);
	ck_assert_int_eq(ring_median_i64(&r), -9);
}
END_TEST

START_TEST(test_clear_keeps_capacity)
{
	const int64_t v[] = {1, 2, 3, 4, 5};
	struct ring r = ring_of(3, v, 5);

	ring_clear(&r);
	ck_assert_int_eq(r.count, 0);
	ck_assert_int_eq(r.cap, 3);
	ring_push_i64(&r, 42);
	ck_assert_int_eq(r.count, 1);
	ck_assert_int_eq(ring_at_i64(&r, 0), 42);
	ck_assert_int_eq(ring_median_i64(&r), 42);
}
END_TEST

START_TEST(test_median_odd)
{
	const int64_t v[] = {510, 500, 540};
	const int64_t neg[] = {-7, 3, -100, 12, 0};
	struct ring r = ring_of(8, v, 3);

	ck_assert_int_eq(ring_median_i64(&r), 510);
	r = ring_of(8, neg, 5);
	ck_assert_int_eq(ring_median_i64(&r), 0);
	/* The median leaves the ring's order alone. */
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(ring_at_i64(&r, i), neg[i]);
}
END_TEST

START_TEST(test_median_even_rounds_toward_zero)
{
	const int64_t pos[] = {4, 1, 2, 9};
	const int64_t neg[] = {-500, -503, -502, -540};
	const int64_t odd_neg[] = {-1, -2};
	const int64_t mixed[] = {-1, 2};
	const int64_t mixed2[] = {-4, 1};
	struct ring r = ring_of(8, pos, 4);

	ck_assert_int_eq(ring_median_i64(&r), 3); /* (2 + 4) / 2 */
	r = ring_of(8, neg, 4);
	ck_assert_int_eq(ring_median_i64(&r), -502); /* (-503 - 502) / 2 = -502.5 */
	r = ring_of(8, odd_neg, 2);
	ck_assert_int_eq(ring_median_i64(&r), -1);
	r = ring_of(8, mixed, 2);
	ck_assert_int_eq(ring_median_i64(&r), 0);
	r = ring_of(8, mixed2, 2);
	ck_assert_int_eq(ring_median_i64(&r), -1);
}
END_TEST

START_TEST(test_median_after_wrap)
{
	const int64_t v[] = {100, 200, 300, 1, 2, 3};
	struct ring r = ring_of(3, v, 6);

	ck_assert_int_eq(ring_median_i64(&r), 2);
}
END_TEST

START_TEST(test_median_int64_extremes)
{
	const int64_t low[] = {INT64_MIN, INT64_MIN + 1};
	const int64_t high[] = {INT64_MAX, INT64_MAX - 1};
	const int64_t both[] = {INT64_MIN, INT64_MAX};
	const int64_t same[] = {INT64_MAX, INT64_MAX};
	struct ring r = ring_of(4, low, 2);

	ck_assert_int_eq(ring_median_i64(&r), INT64_MIN + 1);
	r = ring_of(4, high, 2);
	ck_assert_int_eq(ring_median_i64(&r), INT64_MAX - 1);
	r = ring_of(4, both, 2);
	ck_assert_int_eq(ring_median_i64(&r), 0);
	r = ring_of(4, same, 2);
	ck_assert_int_eq(ring_median_i64(&r), INT64_MAX);
}
END_TEST

START_TEST(test_mid_any_pair)
{
	ck_assert_int_eq(ring_mid_i64(INT64_MIN, INT64_MIN), INT64_MIN);
	ck_assert_int_eq(ring_mid_i64(INT64_MIN, INT64_MAX), 0);
	ck_assert_int_eq(ring_mid_i64(-3, -3), -3);
	ck_assert_int_eq(ring_mid_i64(3, 5), 4);
	ck_assert_int_eq(ring_mid_i64(-3, -5), -4);
	ck_assert_int_eq(ring_mid_i64(-3, 0), -1);
	ck_assert_int_eq(ring_mid_i64(0, 3), 1);
}
END_TEST

START_TEST(test_sort)
{
	int64_t v[] = {5, INT64_MIN, -1, INT64_MAX, 0, -1, 3};
	const int64_t want[] = {INT64_MIN, -1, -1, 0, 3, 5, INT64_MAX};

	ring_sort_i64(v, 7);
	for (int i = 0; i < 7; i++)
		ck_assert_int_eq(v[i], want[i]);
	/* Nothing to do for none or one. */
	ring_sort_i64(v, 0);
	ring_sort_i64(v + 6, 1);
	ck_assert_int_eq(v[6], INT64_MAX);
}
END_TEST

START_TEST(test_rms)
{
	const int64_t v[] = {3, -4, 3, -4};
	const int64_t big[] = {INT64_MIN, INT64_MAX};
	struct ring r = ring_of(4, v, 4);

	ck_assert_double_eq_tol(ring_rms_i64(&r), 3.5355339059327378, 1e-12);
	/* Only the last cap values count. */
	ring_push_i64(&r, 0);
	ring_push_i64(&r, 0);
	ck_assert_double_eq_tol(ring_rms_i64(&r), 2.5, 1e-12);
	/* In double, the extremes neither overflow nor wrap. */
	r = ring_of(4, big, 2);
	ck_assert_double_eq_tol(ring_rms_i64(&r), 9.223372036854775807e18, 1e4);
}
END_TEST

START_TEST(test_mean_and_stddev)
{
	struct ring r;

	ck_assert_int_eq(ring_init(&r, 4), 0);
	for (int i = 0; i < 4; i++)
		ring_push_f64(&r, i % 2 ? -4.0 : 3.0);
	ck_assert_double_eq_tol(ring_mean_f64(&r), -0.5, 1e-12);
	ck_assert_double_eq_tol(ring_stddev_f64(&r), 3.5, 1e-12);
	/* A wrap drops the oldest: 3, -4, 10, 10. */
	ring_push_f64(&r, 10.0);
	ring_push_f64(&r, 10.0);
	ck_assert_int_eq(r.count, 4);
	ck_assert_double_eq_tol(ring_mean_f64(&r), 4.75, 1e-12);
	ck_assert_double_eq_tol(ring_stddev_f64(&r), 5.80409338312195, 1e-12);
}
END_TEST

START_TEST(test_constant_has_no_spread)
{
	struct ring r;

	ck_assert_int_eq(ring_init(&r, 16), 0);
	for (int i = 0; i < 40; i++)
		ring_push_f64(&r, -12.345);
	ck_assert_int_eq(r.count, 16);
	ck_assert_double_eq_tol(ring_mean_f64(&r), -12.345, 1e-12);
	ck_assert_double_eq(ring_stddev_f64(&r), 0.0);
}
END_TEST

int main(void)
{
	TCase *tc = check_tcase("core", NULL, NULL);

	tcase_add_test(tc, test_capacity_bounds);
	tcase_add_test(tc, test_empty_is_zero);
	tcase_add_test(tc, test_fills_then_wraps);
	tcase_add_test(tc, test_capacity_one);
	tcase_add_test(tc, test_clear_keeps_capacity);
	tcase_add_test(tc, test_median_odd);
	tcase_add_test(tc, test_median_even_rounds_toward_zero);
	tcase_add_test(tc, test_median_after_wrap);
	tcase_add_test(tc, test_median_int64_extremes);
	tcase_add_test(tc, test_mid_any_pair);
	tcase_add_test(tc, test_sort);
	tcase_add_test(tc, test_rms);
	tcase_add_test(tc, test_mean_and_stddev);
	tcase_add_test(tc, test_constant_has_no_spread);
	return check_run_tcase("ring", tc);
}
