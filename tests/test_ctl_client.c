/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of phcsyncctl's reply handling and waitsync arguments, with hostile values. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "phcsync/ctl_client.h"

static char err[256];

/* The status summary of raw, which must parse; malloc'd. */
static char *summary(const char *raw)
{
	struct json_object *o;
	char *text = NULL;
	size_t len = 0;
	bool ok;
	FILE *f;

	ck_assert_msg(ctl_client_parse(raw, &o, &ok, err, sizeof(err)) == 0, "%s", err);
	f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	ctl_client_print_status(f, o);
	fclose(f);
	json_object_put(o);
	return text;
}

static void summary_has(const char *raw, const char *line)
{
	char *text = summary(raw);

	ck_assert_msg(strstr(text, line), "\"%s\" not in:\n%s", line, text);
	free(text);
}

START_TEST(test_parse_refuses)
{
	static const struct {
		const char *raw, *what;
	} cases[] = {
		{"", "not a phcsyncd reply: "},
		{"[1]", "not a phcsyncd reply"},
		{"{\"ok\":1,\"version\":1}", "not a phcsyncd reply"},
		{"{\"ok\":true}", "not a phcsyncd reply"},
		{"{\"ok\":true,\"version\":1.0}", "not a phcsyncd reply"},
		{"{\"ok\":true,\"version\":2}", "protocol version 2, this client speaks 1"},
		/* Not truncated to an int on the way. */
		{"{\"ok\":true,\"version\":4294967297}",
		 "protocol version 4294967297, this client speaks 1"},
		{"{\"ok\":true,\"version\":-9223372036854775808}",
		 "protocol version -9223372036854775808, this client speaks 1"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *o = (struct json_object *)&err;
		bool ok;

		ck_assert_int_eq(ctl_client_parse(cases[i].raw, &o, &ok, err, sizeof(err)),
				 -EPROTO);
		ck_assert_ptr_null(o);
		ck_assert_msg(!strncmp(err, cases[i].what, strlen(cases[i].what)), "%zu: %s", i,
			      err);
	}
}
END_TEST

/* Out-of-range dates print as numbers; INT64_MIN once overflowed "the day before". */
START_TEST(test_leap_dates_out_of_range)
{
	summary_has("{\"ok\":true,\"version\":1,\"next_leap\":1,"
		    "\"next_leap_utc_s\":-9223372036854775808}",
		    "Leap second     : insert at the end of -9223372036854775808 s (UTC)");
	summary_has("{\"ok\":true,\"version\":1,\"next_leap\":-1,"
		    "\"next_leap_utc_s\":9223372036854775807}",
		    "Leap second     : delete at the end of 9223372036854775806 s (UTC)");
	summary_has("{\"ok\":true,\"version\":1,\"next_leap\":1,\"next_leap_utc_s\":-1}",
		    "Leap second     : insert at the end of -1 s (UTC)");
	summary_has("{\"ok\":true,\"version\":1,\"next_leap\":1,\"next_leap_utc_s\":1814400000}",
		    "Leap second     : insert at the end of 2027-06-30 (UTC)");
	summary_has("{\"ok\":true,\"version\":1,\"leap_expiry_utc_s\":-9223372036854775808}",
		    "Leap table      : valid until -9223372036854775808 s");
	summary_has("{\"ok\":true,\"version\":1,\"leap_expiry_utc_s\":1814140800}",
		    "Leap table      : valid until 2027-06-28");
	/* A double far outside time_t once went through a cast: undefined behaviour. */
	summary_has("{\"ok\":true,\"version\":1,\"last_sample_utc_s\":1e300,"
		    "\"last_sample_age_s\":-1e300}",
		    "Last sample     : 100000000000000005250476025520442024870446858110815915491");
	summary_has("{\"ok\":true,\"version\":1,\"last_sample_utc_s\":-0.5,"
		    "\"last_sample_age_s\":0}",
		    "Last sample     : -0.5, 0.0 s ago");
	summary_has("{\"ok\":true,\"version\":1,\"last_sample_utc_s\":1814400000.25,"
		    "\"last_sample_age_s\":1.5}",
		    "Last sample     : 2027-07-01 00:00:00.2 UTC, 1.5 s ago");
	summary_has("{\"ok\":true,\"version\":1,\"leap_smear_ns\":-9223372036854775808}",
		    "Leap smear      : -9223372036.854776 s in effect");
}
END_TEST

/* Texts from the daemon reach the terminal with their control bytes escaped. */
START_TEST(test_texts_escaped)
{
	summary_has("{\"ok\":true,\"version\":1,\"device\":\"/dev/ptp0\\u001b[2J\","
		    "\"clock_name\":\"a\\nb\\u007f\",\"state\":\"locked\\r\",\"readout\":\"\\t\","
		    "\"servo_state\":\"\xc3\xa9\"}",
		    "Device          : /dev/ptp0\\x1b[2J (a\\x0ab\\x7f)\n"
		    "Readout         : \\x09\n"
		    "State           : locked\\x0d, servo \xc3\xa9\n");
}
END_TEST

/* Huge and odd numbers print, whatever their size. */
START_TEST(test_numbers_any_size)
{
	summary_has("{\"ok\":true,\"version\":1,\"last_offset_ns\":1e308}",
		    "Last offset     : +1e+299 s (system clock ahead)");
	summary_has("{\"ok\":true,\"version\":1,\"last_offset_ns\":-9223372036854775808}",
		    "Last offset     : -9.22337e+09 s (system clock behind)");
	summary_has("{\"ok\":true,\"version\":1,\"last_offset_ns\":null}", "Last offset     : -");
	summary_has("{\"ok\":true,\"version\":1,\"last_offset_ns\":\"1\"}", "Last offset     : -");
	summary_has("{\"ok\":true,\"version\":1,\"steps\":-9223372036854775808,"
		    "\"last_step_ns\":-1e300,\"last_step_age_s\":1e300}",
		    "Steps           : -9223372036854775808 (last -1e+291 s, ");
}
END_TEST

START_TEST(test_waitsync_args)
{
	static const struct {
		const char *timeout, *offset;
		double timeout_s;
		int64_t max_offset_ns;
		const char *what;
	} cases[] = {
		{"0", "0", 0, 0, NULL},
		{"1.5", "9223372036854775807", 1.5, INT64_MAX, NULL},
		{"31536000", NULL, 31536000, 1000, NULL},
		{"1e10", NULL, 0, 0,
		 "TIMEOUT_S \"1e10\": expected seconds from 0 to 31536000 (a year)"},
		{"31536000.001", NULL, 0, 0, "TIMEOUT_S \"31536000.001\": expected seconds"},
		{"1e400", NULL, 0, 0, "TIMEOUT_S \"1e400\": expected seconds"},
		{"inf", NULL, 0, 0, "TIMEOUT_S \"inf\": expected seconds"},
		{"nan", NULL, 0, 0, "TIMEOUT_S \"nan\": expected seconds"},
		{"-1", NULL, 0, 0, "TIMEOUT_S \"-1\": expected seconds"},
		{"", NULL, 0, 0, "TIMEOUT_S \"\": expected seconds"},
		{"1s", NULL, 0, 0, "TIMEOUT_S \"1s\": expected seconds"},
		/* Echoed escaped, and cut: no control byte reaches the terminal. */
		{"\x1b]0;x\a\n", NULL, 0, 0, "TIMEOUT_S \"\\x1b]0;x\\x07\\x0a\": expected seconds"},
		{"123456789012345678901234567890123", NULL, 0, 0,
		 "TIMEOUT_S \"12345678901234567890123456789012\": expected seconds"},
		{"1", "\xff", 0, 0, "MAX_OFFSET_NS \"\\xff\": expected an integer"},
		{"1", "-1", 0, 0, "MAX_OFFSET_NS \"-1\": expected an integer from 0 to "},
		{"1", "9223372036854775808", 0, 0, "MAX_OFFSET_NS \"9223372036854775808\""},
		{"1", "1.0", 0, 0, "MAX_OFFSET_NS \"1.0\""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[2] = {(char *)cases[i].timeout, (char *)cases[i].offset};
		double timeout_s = 60;
		int64_t max_offset_ns = 1000;
		int ret = ctl_client_waitsync_args(cases[i].offset ? 2 : 1, argv, &timeout_s,
						   &max_offset_ns, err, sizeof(err));

		if (!cases[i].what) {
			ck_assert_msg(ret == 0, "%zu: %s", i, err);
			ck_assert(timeout_s == cases[i].timeout_s);
			ck_assert_int_eq(max_offset_ns, cases[i].max_offset_ns);
		} else {
			ck_assert_int_eq(ret, -EINVAL);
			ck_assert_msg(!strncmp(err, cases[i].what, strlen(cases[i].what)),
				      "%zu: %s", i, err);
		}
	}
	ck_assert_int_eq(ctl_client_waitsync_args(3, (char *[]){"1", "2", "3"}, &(double){0},
						  &(int64_t){0}, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "expected [TIMEOUT_S [MAX_OFFSET_NS]]");
}
END_TEST

START_TEST(test_synced)
{
	static const struct {
		const char *raw;
		int64_t max_offset_ns;
		bool synced;
	} cases[] = {
		{"{\"ok\":true,\"version\":1,\"state\":\"locked\",\"last_offset_ns\":-1000}", 1000,
		 true},
		{"{\"ok\":true,\"version\":1,\"state\":\"locked\",\"last_offset_ns\":1001}", 1000,
		 false},
		{"{\"ok\":false,\"version\":1,\"state\":\"locked\",\"last_offset_ns\":0}", 1000,
		 false},
		{"{\"ok\":true,\"version\":1,\"state\":\"unlocked\",\"last_offset_ns\":0}", 1000,
		 false},
		{"{\"ok\":true,\"version\":1,\"state\":\"locked\",\"last_offset_ns\":null}", 1000,
		 false},
		{"{\"ok\":true,\"version\":1,\"state\":\"locked\",\"last_offset_ns\":1e300}",
		 INT64_MAX, false},
		{"{\"ok\":true,\"version\":1,\"state\":\"locked\",\"last_offset_ns\":-9.2e18}",
		 INT64_MAX, true},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *o;
		double offset = 0;
		bool ok;

		ck_assert_int_eq(ctl_client_parse(cases[i].raw, &o, &ok, err, sizeof(err)), 0);
		ck_assert_msg(ctl_client_synced(o, ok, cases[i].max_offset_ns, &offset) ==
				      cases[i].synced,
			      "%zu", i);
		json_object_put(o);
	}
}
END_TEST

static Suite *ctl_client_suite(void)
{
	Suite *s = suite_create("ctl_client");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse_refuses);
	tcase_add_test(tc, test_leap_dates_out_of_range);
	tcase_add_test(tc, test_numbers_any_size);
	tcase_add_test(tc, test_texts_escaped);
	tcase_add_test(tc, test_waitsync_args);
	tcase_add_test(tc, test_synced);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(ctl_client_suite)
