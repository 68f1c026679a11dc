/* SPDX-License-Identifier: BSD-2-Clause */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "phcsync/leapsec.h"

#define NS 1000000000LL
/* 2027-07-01T00:00:00Z: the test tables have a leap at the end of 2027-06-30. */
#define LEAP_S 1814400000LL

static void open_table(struct leapsec *ls, const char *file, enum conf_leap_mode mode)
{
	struct conf c;
	char err[512];

	conf_defaults(&c);
	snprintf(c.leapfile, sizeof(c.leapfile), "%s/%s", getenv("PHCSYNC_LEAP_DATA"), file);
	c.leap_mode = mode;
	c.leap_smear_window_s = 86400;
	ck_assert_msg(leapsec_open(ls, &c, err, sizeof(err)) == 0, "%s", err);
}

static struct leap_plan plan_at(const struct leapsec *ls, int64_t utc_ns, int64_t step_done)
{
	struct leap_plan p;

	leapsec_plan(ls, utc_ns, step_done, &p);
	return p;
}

START_TEST(test_off)
{
	struct leapsec ls;
	struct leap_plan p;
	struct conf c;
	char err[256];

	conf_defaults(&c);
	snprintf(c.leapfile, sizeof(c.leapfile), "none");
	ck_assert_int_eq(leapsec_open(&ls, &c, err, sizeof(err)), 0);
	ck_assert_ptr_null(ls.table);
	p = plan_at(&ls, LEAP_S * NS, 0);
	ck_assert_int_eq(p.tai_utc_s, -1);
	ck_assert(!p.ignore_sample);
	ck_assert_int_eq(p.arm, 0);
	ck_assert_int_eq(leapsec_tai_utc_at_tai(&ls, LEAP_S * NS), -1);
}
END_TEST

START_TEST(test_system_mode_arms_on_the_leap_day_only)
{
	struct leapsec ls;
	struct leap_plan p;

	open_table(&ls, "future-insert.list", CONF_LEAP_SYSTEM);
	p = plan_at(&ls, (LEAP_S - 86400 - 1) * NS, 0); /* 2027-06-29 23:59:59 */
	ck_assert_int_eq(p.arm, 0);
	ck_assert_int_eq(p.tai_utc_s, 37);
	p = plan_at(&ls, (LEAP_S - 86400) * NS, 0); /* 2027-06-30 00:00:00 */
	ck_assert_int_eq(p.arm, 1);
	ck_assert(!p.ignore_sample);
	p = plan_at(&ls, (LEAP_S - 6) * NS, 0);
	ck_assert_int_eq(p.arm, 1);
	ck_assert(!p.ignore_sample);
	p = plan_at(&ls, (LEAP_S - 5) * NS, 0);
	ck_assert(p.ignore_sample);
	ck_assert_int_eq(p.leap_utc_s, LEAP_S);
	p = plan_at(&ls, (LEAP_S + 4) * NS + NS / 2, 0);
	ck_assert(p.ignore_sample);
	ck_assert_int_eq(p.arm, 0);
	ck_assert_int_eq(p.tai_utc_s, 38);
	p = plan_at(&ls, (LEAP_S + 5) * NS, 0);
	ck_assert(!p.ignore_sample);
	ck_assert_int_eq(p.step_dir, 0);
	leapsec_close(&ls);
}
END_TEST

START_TEST(test_system_mode_delete)
{
	struct leapsec ls;
	struct leap_plan p;

	open_table(&ls, "future-delete.list", CONF_LEAP_SYSTEM);
	p = plan_at(&ls, (LEAP_S - 3600) * NS, 0);
	ck_assert_int_eq(p.arm, -1);
	ck_assert_int_eq(p.tai_utc_s, 37);
	p = plan_at(&ls, (LEAP_S + 3600) * NS, 0);
	ck_assert_int_eq(p.arm, 0);
	ck_assert_int_eq(p.tai_utc_s, 36);
	leapsec_close(&ls);
}
END_TEST

START_TEST(test_step_mode_steps_once_after_midnight)
{
	struct leapsec ls;
	struct leap_plan p;

	open_table(&ls, "future-insert.list", CONF_LEAP_STEP);
	p = plan_at(&ls, (LEAP_S - 1) * NS, 0);
	ck_assert_int_eq(p.step_dir, 0);
	ck_assert_int_eq(p.arm, 0);
	p = plan_at(&ls, LEAP_S * NS, 0);
	ck_assert_int_eq(p.step_dir, 1);
	p = plan_at(&ls, (LEAP_S + 2) * NS, LEAP_S);
	ck_assert_int_eq(p.step_dir, 0);
	leapsec_close(&ls);
}
END_TEST

START_TEST(test_smear_follows_the_curve)
{
	/* An insertion smeared over 86400 s of UTC, which last 86401 true seconds. */
	const double span = 86401.0;
	struct leapsec ls;
	struct leap_plan p;

	open_table(&ls, "future-insert.list", CONF_LEAP_SMEAR);
	p = plan_at(&ls, (LEAP_S - 43200 - 1) * NS, 0);
	ck_assert_int_eq(p.smear_ns, 0);
	ck_assert_double_eq(p.smear_rate_ppb, 0.0);
	p = plan_at(&ls, (LEAP_S - 21600) * NS, 0);
	ck_assert_int_eq(p.smear_ns, llround(-21600 / span * NS));
	ck_assert_double_eq_tol(p.smear_rate_ppb, -1e9 / span, 1e-6);
	p = plan_at(&ls, (LEAP_S - 10) * NS, 0);
	ck_assert_int_eq(p.smear_ns, llround(-43190 / span * NS));
	/*
	 * After the PHC's jump back by 1 s the correction changes sign, and the smeared time
	 * is continuous in true time: true L+10 is PHC L+9.
	 */
	p = plan_at(&ls, (LEAP_S + 9) * NS, 0);
	ck_assert_int_eq(p.smear_ns, llround((86400 - 43209) / span * NS));
	ck_assert_int_le(llabs((LEAP_S + 9) * NS + p.smear_ns -
			       ((LEAP_S - 43200) * NS + llround(43210.0 * 86400 / span * NS))),
			 1);
	p = plan_at(&ls, (LEAP_S + 21600) * NS, 0);
	ck_assert_int_eq(p.smear_ns, llround(21600 / span * NS));
	p = plan_at(&ls, (LEAP_S + 43200) * NS, 0);
	ck_assert_int_eq(p.smear_ns, 0);
	ck_assert_int_eq(p.arm, 0);
	ck_assert_int_eq(p.step_dir, 0);
	leapsec_close(&ls);
}
END_TEST

START_TEST(test_tai_phc_conversion)
{
	struct leapsec ls;

	open_table(&ls, "future-insert.list", CONF_LEAP_SYSTEM);
	ck_assert_int_eq(leapsec_tai_utc_at_tai(&ls, (LEAP_S - 100 + 37) * NS), 37);
	ck_assert_int_eq(leapsec_tai_utc_at_tai(&ls, (LEAP_S + 10 + 38) * NS), 38);
	/* 2017-01-01, the last real leap, in TAI */
	ck_assert_int_eq(leapsec_tai_utc_at_tai(&ls, (1483228800LL + 60 + 37) * NS), 37);
	ck_assert_int_eq(leapsec_tai_utc_at_tai(&ls, (1483228800LL - 60 + 36) * NS), 36);
	leapsec_close(&ls);
}
END_TEST

START_TEST(test_failed_reload_keeps_the_table)
{
	struct leapsec ls;
	struct conf c;
	char err[512];

	open_table(&ls, "future-insert.list", CONF_LEAP_SYSTEM);
	conf_defaults(&c);
	snprintf(c.leapfile, sizeof(c.leapfile), "%s/bad-hash.list", getenv("PHCSYNC_LEAP_DATA"));
	ck_assert_int_lt(leapsec_reload(&ls, &c, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "bad-hash.list"));
	ck_assert_ptr_nonnull(ls.table);
	ck_assert_int_eq(plan_at(&ls, (LEAP_S + 3600) * NS, 0).tai_utc_s, 38);
	leapsec_close(&ls);
}
END_TEST

START_TEST(test_default_is_the_debian_table)
{
	struct leapsec ls;
	struct conf c;
	char err[512];

	conf_defaults(&c);
	ck_assert_msg(leapsec_open(&ls, &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(ls.path, "/usr/share/zoneinfo/leap-seconds.list");
	ck_assert_int_eq(plan_at(&ls, 1800000000LL * NS, 0).tai_utc_s, 37);
	leapsec_close(&ls);
}
END_TEST

int main(void)
{
	TCase *tc = check_tcase("plan", NULL, NULL);

	tcase_add_test(tc, test_off);
	tcase_add_test(tc, test_system_mode_arms_on_the_leap_day_only);
	tcase_add_test(tc, test_system_mode_delete);
	tcase_add_test(tc, test_step_mode_steps_once_after_midnight);
	tcase_add_test(tc, test_smear_follows_the_curve);
	tcase_add_test(tc, test_tai_phc_conversion);
	tcase_add_test(tc, test_failed_reload_keeps_the_table);
	tcase_add_test(tc, test_default_is_the_debian_table);
	return check_run_tcase("leapsec", tc);
}
