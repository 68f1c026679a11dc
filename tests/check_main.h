/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What every Check unit test's main() shares: run the suite and exit as meson reads it,
 * 0 when every test passed, 1 when one failed, CHECK_SKIP when this machine cannot run
 * the tests (a privilege is missing).
 */
#ifndef PHCSYNC_CHECK_MAIN_H
#define PHCSYNC_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

#define CHECK_SKIP 77

/* Runs suite with fork: CK_FORK_GETENV is Check's default (a process per test unless
 * CK_FORK=no), CK_FORK a process per test whatever the environment says. EXIT_SUCCESS
 * when every test passed, else EXIT_FAILURE. */
static inline int check_run(Suite *suite, enum fork_status fork)
{
	SRunner *sr = srunner_create(suite);
	int failed;

	srunner_set_fork_status(sr, fork);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* A test case with the checked fixture setup and teardown (either may be NULL). */
static inline TCase *check_tcase(const char *name, SFun setup, SFun teardown)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	return tc;
}

/* Runs the suite name of the one test case tc, as Check forks by default. */
static inline int check_run_tcase(const char *name, TCase *tc)
{
	Suite *suite = suite_create(name);

	suite_add_tcase(suite, tc);
	return check_run(suite, CK_FORK_GETENV);
}

/* The main() of a file whose suite_fn() builds its suite, run as Check forks by default. */
#define CHECK_MAIN(suite_fn)                                                                       \
	int main(void)                                                                             \
	{                                                                                          \
		return check_run(suite_fn(), CK_FORK_GETENV);                                      \
	}

#endif
