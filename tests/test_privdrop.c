/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * privdrop: each test runs in its own forked process (Check's fork mode, forced below), so
 * the drop never reaches the test runner. No clock is touched: capabilities are only read.
 */
#include <check.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "check_main.h"
#include "phcsync/privdrop.h"

START_TEST(drops_to_nobody_keeping_sys_time)
{
	struct passwd *pw = getpwnam("nobody");
	cap_t want = cap_from_text("cap_sys_time=ep");
	cap_t have;
	gid_t groups[4];
	char err[256] = "";

	ck_assert_ptr_nonnull(pw);
	ck_assert_ptr_nonnull(want);
	ck_assert_int_eq(privdrop_to_user("nobody", err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(getuid(), pw->pw_uid);
	ck_assert_uint_eq(geteuid(), pw->pw_uid);
	ck_assert_uint_eq(getgid(), pw->pw_gid);
	ck_assert_uint_eq(getegid(), pw->pw_gid);
	ck_assert_int_eq(getgroups(4, groups), 0);
	have = cap_get_proc();
	ck_assert_ptr_nonnull(have);
	ck_assert_msg(cap_compare(have, want) == 0, "capabilities are %s", cap_to_text(have, NULL));
	ck_assert_int_eq(cap_get_bound(CAP_SYS_TIME), 1);
	ck_assert_int_eq(privdrop_has_extra_caps(), 0);
	ck_assert_int_eq(cap_get_bound(CAP_SYS_ADMIN), 0);
	ck_assert_int_eq(cap_get_bound(CAP_SETUID), 0);
	ck_assert_int_eq(prctl(PR_GET_KEEPCAPS, 0L, 0L, 0L, 0L), 0);
	/* No way back. */
	ck_assert_int_eq(setuid(0), -1);
	ck_assert_int_eq(errno, EPERM);
	cap_free(have);
	cap_free(want);
}
END_TEST

START_TEST(unknown_user)
{
	char err[256];

	ck_assert_int_eq(privdrop_to_user("phcsync-no-such-user", err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "cannot become user phcsync-no-such-user: no such user");
	ck_assert_uint_eq(geteuid(), 0);
}
END_TEST

START_TEST(not_root)
{
	struct passwd *pw = getpwnam("nobody");
	char err[256];

	ck_assert_ptr_nonnull(pw);
	ck_assert_int_eq(setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid), 0);
	ck_assert_int_eq(privdrop_to_user("nobody", err, sizeof(err)), -EPERM);
	ck_assert_str_eq(err, "cannot become user nobody: only root can switch users");
}
END_TEST

/* Sets the process's capabilities to text (cap_from_text's syntax). */
static void set_caps(const char *text)
{
	cap_t caps = cap_from_text(text);

	ck_assert_ptr_nonnull(caps);
	ck_assert_msg(cap_set_proc(caps) == 0, "cap_set_proc(%s): %s", text, strerror(errno));
	cap_free(caps);
}

START_TEST(extra_caps_from_the_sets)
{
	cap_value_t sys_time = CAP_SYS_TIME;
	cap_t caps = cap_get_proc();

	/* Root as started here, and root without CAP_SYS_TIME (capsh --drop): extras held. */
	ck_assert_int_eq(privdrop_has_extra_caps(), 1);
	ck_assert_ptr_nonnull(caps);
	ck_assert_int_eq(cap_set_flag(caps, CAP_EFFECTIVE, 1, &sys_time, CAP_CLEAR), 0);
	ck_assert_int_eq(cap_set_flag(caps, CAP_PERMITTED, 1, &sys_time, CAP_CLEAR), 0);
	ck_assert_int_eq(cap_set_proc(caps), 0);
	cap_free(caps);
	ck_assert_int_eq(privdrop_has_extra_caps(), 1);
	/* Permitted counts as much as effective: it can be raised at any time. */
	set_caps("cap_chown=p");
	ck_assert_int_eq(privdrop_has_extra_caps(), 1);
	set_caps("cap_chown=ep");
	ck_assert_int_eq(privdrop_has_extra_caps(), 1);
	/* Inheritable alone gives nothing without file capabilities: not counted. */
	set_caps("cap_chown=i");
	ck_assert_int_eq(privdrop_has_extra_caps(), 0);
	set_caps("=");
	ck_assert_int_eq(privdrop_has_extra_caps(), 0);
	/* Still uid 0: the uid alone does not decide. */
	ck_assert_uint_eq(geteuid(), 0);
}
END_TEST

START_TEST(sys_time_alone_is_no_extra)
{
	set_caps("cap_sys_time=ep");
	ck_assert_int_eq(privdrop_has_extra_caps(), 0);
	set_caps("cap_sys_time=p");
	ck_assert_int_eq(privdrop_has_extra_caps(), 0);
	ck_assert_uint_eq(geteuid(), 0);
}
END_TEST

int main(void)
{
	TCase *tc = check_tcase("privdrop", NULL, NULL);
	Suite *suite = suite_create("privdrop");

	if (geteuid() != 0) {
		puts("SKIP: switching to another user and keeping CAP_SYS_TIME needs root");
		return CHECK_SKIP;
	}
	tcase_add_test(tc, drops_to_nobody_keeping_sys_time);
	tcase_add_test(tc, unknown_user);
	tcase_add_test(tc, not_root);
	tcase_add_test(tc, extra_caps_from_the_sets);
	tcase_add_test(tc, sys_time_alone_is_no_extra);
	suite_add_tcase(suite, tc);
	return check_run(suite, CK_FORK);
}
