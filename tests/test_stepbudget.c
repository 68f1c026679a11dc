/* SPDX-License-Identifier: BSD-2-Clause */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "phcsync/stepbudget.h"

#define S 1000000000LL
#define WINDOW (3600 * S)

static struct stepbudget b;
static char why[160];

static void setup(void)
{
	stepbudget_init(&b, WINDOW, S, 10);
	why[0] = '\0';
}

static bool allows(int64_t t_ns, int64_t step_ns)
{
	return stepbudget_allows(&b, t_ns, step_ns, why, sizeof(why));
}

START_TEST(test_first_step_always_allowed)
{
	static const int64_t steps[] = {
		-1, 1, -S, -1000 * S, 1000 * S, INT64_MAX / 2, -(INT64_MAX / 2)};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		ck_assert(allows(10 * S, steps[i]));
	stepbudget_init(&b, WINDOW, 1, 1);
	ck_assert(allows(0, -1000 * S));
}
END_TEST

START_TEST(test_back_sum_limit)
{
	stepbudget_record(&b, 0, -400000000);
	ck_assert(allows(S, -600000000));      /* at the limit */
	ck_assert(allows(S, -600000000 + 1));  /* just under */
	ck_assert(!allows(S, -600000000 - 1)); /* just over */
	ck_assert_ptr_nonnull(strstr(why, "step_limit_back"));
	stepbudget_record(&b, S, -600000000);
	ck_assert(!allows(2 * S, -1));
	ck_assert(allows(2 * S, 0));
}
END_TEST

START_TEST(test_count_limit)
{
	stepbudget_init(&b, WINDOW, 0, 3);
	stepbudget_record(&b, 0, 5 * S);
	stepbudget_record(&b, S, -5 * S);
	ck_assert(allows(2 * S, 5 * S));
	stepbudget_record(&b, 2 * S, 5 * S);
	ck_assert(!allows(3 * S, 1));
	ck_assert_ptr_nonnull(strstr(why, "step_limit_count 3"));
	ck_assert(!allows(3 * S, -1));
}
END_TEST

START_TEST(test_no_limits)
{
	stepbudget_init(&b, WINDOW, 0, 0);
	for (int i = 0; i < 200; i++) {
		ck_assert(allows(i * S, -100 * S));
		stepbudget_record(&b, i * S, -100 * S);
	}
}
END_TEST

START_TEST(test_window_slides)
{
	stepbudget_record(&b, 100 * S, -S);
	ck_assert(!allows(100 * S + WINDOW - 1, -1));
	ck_assert(allows(100 * S + WINDOW, -S));
	ck_assert(allows(100 * S + WINDOW, -100 * S)); /* forgotten: first in its window */
	stepbudget_init(&b, WINDOW, 0, 2);
	stepbudget_record(&b, 0, S);
	stepbudget_record(&b, 10 * S, S);
	ck_assert(!allows(WINDOW - 1, S));
	ck_assert(allows(WINDOW, S)); /* the first one slid out */
	stepbudget_record(&b, WINDOW, S);
	ck_assert(!allows(WINDOW + 9 * S, S));
	ck_assert(allows(WINDOW + 10 * S, S));
}
END_TEST

START_TEST(test_unrecord)
{
	stepbudget_record(&b, 0, -S);
	ck_assert(!allows(S, -1));
	stepbudget_unrecord(&b);
	ck_assert(allows(S, -S));
	ck_assert(allows(S, -100 * S));
	stepbudget_unrecord(&b); /* nothing left: harmless */
	ck_assert_int_eq(b.n, 0);
	stepbudget_record(&b, 0, -S / 2);
	stepbudget_record(&b, S, -S / 2);
	stepbudget_unrecord(&b);
	ck_assert(allows(2 * S, -S / 2));
	ck_assert(!allows(2 * S, -S / 2 - 1));
}
END_TEST

START_TEST(test_clear)
{
	for (int i = 0; i < 10; i++)
		stepbudget_record(&b, i * S, -S);
	ck_assert(!allows(11 * S, -1));
	stepbudget_clear(&b);
	ck_assert(allows(11 * S, -100 * S));
	ck_assert_int_eq(b.n, 0);
}
END_TEST

START_TEST(test_forward_not_in_back_sum)
{
	stepbudget_record(&b, 0, 50 * S);
	stepbudget_record(&b, S, 50 * S);
	ck_assert(allows(2 * S, -S));
	ck_assert(!allows(2 * S, -S - 1));
	stepbudget_record(&b, 2 * S, -S / 2);
	ck_assert(allows(3 * S, -S / 2));
	ck_assert(!allows(3 * S, -S / 2 - 1));
	ck_assert(allows(3 * S, 1000 * S));
}
END_TEST

START_TEST(test_history_full)
{
	stepbudget_init(&b, WINDOW, 0, 0);
	for (int i = 0; i < STEPBUDGET_HISTORY + 10; i++)
		stepbudget_record(&b, i * S, -S);
	ck_assert_int_eq(b.n, STEPBUDGET_HISTORY);
	ck_assert(b.hist[STEPBUDGET_HISTORY - 1].t_ns == (STEPBUDGET_HISTORY + 9) * S);
	ck_assert(b.hist[0].t_ns == 10 * S);
}
END_TEST

int main(void)
{
	TCase *tc = check_tcase("stepbudget", setup, NULL);

	tcase_add_test(tc, test_first_step_always_allowed);
	tcase_add_test(tc, test_back_sum_limit);
	tcase_add_test(tc, test_count_limit);
	tcase_add_test(tc, test_no_limits);
	tcase_add_test(tc, test_window_slides);
	tcase_add_test(tc, test_unrecord);
	tcase_add_test(tc, test_clear);
	tcase_add_test(tc, test_forward_not_in_back_sum);
	tcase_add_test(tc, test_history_full);
	return check_run_tcase("stepbudget", tc);
}
