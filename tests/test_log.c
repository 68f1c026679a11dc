/* SPDX-License-Identifier: BSD-2-Clause */
/* JOURNAL_STREAM as systemd sets it ("DEV:INODE") against stderr's device and inode. */
#include <check.h>
#include <stdlib.h>

#include "check_main.h"
#include "phcsync/log.h"

START_TEST(test_journal_stream_matches)
{
	ck_assert(log_stream_is_journal("8:1234", 8, 1234));
	ck_assert(log_stream_is_journal("0:0", 0, 0));
	ck_assert(log_stream_is_journal("18446744073709551615:9", (dev_t)-1, 9));
}
END_TEST

/* Another file (a shell's stream inherited by a daemon started by hand), or not the
 * variable's form: not the journal. */
START_TEST(test_journal_stream_refused)
{
	static const char *const bad[] = {
		"8:1235", "9:1234", "8:1234x", "8:1234 ", "8", "8:", ":1234", "", "x:y", "8;1234",
	};

	ck_assert(!log_stream_is_journal(NULL, 8, 1234));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!log_stream_is_journal(bad[i], 8, 1234), "accepted \"%s\"", bad[i]);
}
END_TEST

int main(void)
{
	TCase *tc = check_tcase("core", NULL, NULL);

	tcase_add_test(tc, test_journal_stream_matches);
	tcase_add_test(tc, test_journal_stream_refused);
	return check_run_tcase("log", tc);
}
