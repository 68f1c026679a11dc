/* SPDX-License-Identifier: BSD-2-Clause */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "phcsync/rtchint.h"

#define S 1000000000LL
#define MIN (60 * S)
#define H (60 * MIN)

START_TEST(test_whole_hours)
{
	char msg[256];

	ck_assert(rtchint_check(8 * H, msg, sizeof(msg)));
	ck_assert_str_eq(msg,
			 "the system clock is 8 h 00 min ahead of the PHC: the RTC probably keeps "
			 "local time (Windows-style, or libvirt clock offset='localtime'); "
			 "check 'timedatectl' (RTC in local TZ: no) and the VM's clock "
			 "settings");
	ck_assert(rtchint_check(-1 * H, msg, sizeof(msg)));
	ck_assert_ptr_nonnull(strstr(msg, " 1 h 00 min behind the PHC: "));
	/* The farthest zones: UTC-12 and UTC+14. */
	ck_assert(rtchint_check(-12 * H, msg, sizeof(msg)));
	ck_assert(rtchint_check(14 * H, msg, sizeof(msg)));
	ck_assert_ptr_nonnull(strstr(msg, " 14 h 00 min ahead of "));
}
END_TEST

START_TEST(test_quarter_hours)
{
	char msg[256];

	ck_assert(rtchint_check(-(5 * H + 30 * MIN), msg, sizeof(msg)));
	ck_assert_ptr_nonnull(strstr(msg, " 5 h 30 min behind the PHC: "));
	/* Nepal. */
	ck_assert(rtchint_check(5 * H + 45 * MIN, msg, sizeof(msg)));
	ck_assert_ptr_nonnull(strstr(msg, " 5 h 45 min ahead of the PHC: "));
}
END_TEST

START_TEST(test_tolerance)
{
	char msg[256];

	/* The RTC drifted a little: still a zone offset, shown rounded. */
	ck_assert(rtchint_check(8 * H + 30 * S, msg, sizeof(msg)));
	ck_assert_ptr_nonnull(strstr(msg, " 8 h 00 min ahead "));
	ck_assert(rtchint_check(-(8 * H - 90 * S), msg, sizeof(msg)));
	ck_assert_ptr_nonnull(strstr(msg, " 8 h 00 min behind "));
	ck_assert(rtchint_check(8 * H + 2 * MIN, NULL, 0));
	ck_assert(!rtchint_check(8 * H + 2 * MIN + 1, NULL, 0));
	ck_assert(!rtchint_check(8 * H - 2 * MIN - 1, NULL, 0));
	ck_assert(!rtchint_check(8 * H + 10 * MIN, NULL, 0));
	ck_assert(!rtchint_check(8 * H + 7 * MIN + 30 * S, NULL, 0));
	ck_assert(rtchint_check(14 * H + 2 * MIN, NULL, 0));
}
END_TEST

START_TEST(test_out_of_range)
{
	char msg[8] = "unset";

	ck_assert(!rtchint_check(0, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "unset");
	ck_assert(!rtchint_check(59 * MIN, NULL, 0));
	ck_assert(!rtchint_check(-45 * MIN, NULL, 0));
	ck_assert(!rtchint_check(1 * H - 1, NULL, 0));
	ck_assert(rtchint_check(1 * H, NULL, 0));
	/* Beyond every zone: a dead RTC battery or a snapshot, not a time zone. */
	ck_assert(!rtchint_check(15 * H, NULL, 0));
	ck_assert(!rtchint_check(-24 * H, NULL, 0));
	ck_assert(!rtchint_check(3 * 24 * H, NULL, 0));
	ck_assert(!rtchint_check(INT64_MAX, NULL, 0));
	ck_assert(!rtchint_check(INT64_MIN, NULL, 0));
}
END_TEST

START_TEST(test_short_buffer)
{
	char msg[16];

	ck_assert(rtchint_check(8 * H, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "the system cloc");
}
END_TEST

int main(void)
{
	TCase *tc = check_tcase("rtchint", NULL, NULL);

	tcase_add_test(tc, test_whole_hours);
	tcase_add_test(tc, test_quarter_hours);
	tcase_add_test(tc, test_tolerance);
	tcase_add_test(tc, test_out_of_range);
	tcase_add_test(tc, test_short_buffer);
	return check_run_tcase("rtchint", tc);
}
