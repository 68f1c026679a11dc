/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of the phcsyncd.conf parser: defaults, every key, every error message. */
#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "phcsync/conf.h"
#include "phcsync/filter.h"
#include "phcsync/phc.h"
#include "phcsync/ctl_proto.h"

static char err[512];

static int parse(struct conf *c, const char *text)
{
	conf_defaults(c);
	err[0] = '\0';
	return conf_parse_buffer(c, "test.conf", text, strlen(text), err, sizeof(err));
}

static void assert_conf_eq(const struct conf *a, const struct conf *b)
{
	ck_assert_str_eq(a->device, b->device);
	ck_assert_int_eq(a->readout, b->readout);
	ck_assert_int_eq(a->readings, b->readings);
	ck_assert_int_eq(a->max_reads_per_second, b->max_reads_per_second);
	ck_assert_double_eq(a->poll_interval_s, b->poll_interval_s);
	ck_assert_int_eq(a->servo, b->servo);
	ck_assert_double_eq(a->pi_kp, b->pi_kp);
	ck_assert_double_eq(a->pi_ki, b->pi_ki);
	ck_assert_double_eq(a->first_step_threshold_s, b->first_step_threshold_s);
	ck_assert_double_eq(a->step_threshold_s, b->step_threshold_s);
	ck_assert_double_eq(a->max_offset_panic_s, b->max_offset_panic_s);
	ck_assert_int_eq(a->allow_large_step, b->allow_large_step);
	ck_assert_int_eq(a->offset_ns, b->offset_ns);
	ck_assert_int_eq(a->timescale, b->timescale);
	ck_assert_int_eq(a->utc_offset_s, b->utc_offset_s);
	ck_assert_int_eq(a->rtcsync, b->rtcsync);
	ck_assert_double_eq(a->summary_interval_s, b->summary_interval_s);
	ck_assert_str_eq(a->leapfile, b->leapfile);
	ck_assert_int_eq(a->leap_mode, b->leap_mode);
	ck_assert_double_eq(a->leap_smear_window_s, b->leap_smear_window_s);
	ck_assert_str_eq(a->control_socket, b->control_socket);
	ck_assert_str_eq(a->control_group, b->control_group);
	ck_assert_int_eq(a->wait_for_device, b->wait_for_device);
	ck_assert_int_eq(a->holdover_after, b->holdover_after);
	ck_assert_int_eq(a->disruption_samples, b->disruption_samples);
	ck_assert_double_eq(a->step_window_s, b->step_window_s);
	ck_assert_double_eq(a->step_limit_back_s, b->step_limit_back_s);
	ck_assert_int_eq(a->step_limit_count, b->step_limit_count);
	ck_assert_double_eq(a->reference_freq_limit_ppm, b->reference_freq_limit_ppm);
	ck_assert_str_eq(a->driftfile, b->driftfile);
	ck_assert_str_eq(a->user, b->user);
	ck_assert_int_eq(a->seccomp, b->seccomp);
}

START_TEST(test_defaults)
{
	struct conf c;

	memset(&c, 0x5a, sizeof(c));
	conf_defaults(&c);
	ck_assert_str_eq(c.device, "auto");
	ck_assert_int_eq(c.readout, PHC_METHOD_AUTO);
	ck_assert_int_eq(c.readings, 10);
	ck_assert_int_eq(c.max_reads_per_second, 100);
	ck_assert_double_eq(c.poll_interval_s, 1.0);
	ck_assert_int_eq(c.servo, SERVO_KALMAN);
	ck_assert_int_eq(c.burst_combine, FILTER_COMBINE_TRIMMED);
	ck_assert_double_eq(c.pi_kp, 0.0);
	ck_assert_double_eq(c.pi_ki, 0.0);
	ck_assert_double_eq(c.first_step_threshold_s, 0.00002);
	ck_assert_double_eq(c.step_threshold_s, 0.128);
	ck_assert_double_eq(c.max_offset_panic_s, 86400.0);
	ck_assert(!c.allow_large_step);
	ck_assert_int_eq(c.offset_ns, 0);
	ck_assert_int_eq(c.timescale, CONF_TIMESCALE_AUTO);
	ck_assert_int_eq(c.utc_offset_s, 37);
	ck_assert(!c.rtcsync);
	ck_assert_double_eq(c.summary_interval_s, 300.0);
	ck_assert_str_eq(c.leapfile, "");
	ck_assert_int_eq(c.leap_mode, CONF_LEAP_SYSTEM);
	ck_assert_double_eq(c.leap_smear_window_s, 86400.0);
	ck_assert_str_eq(c.control_socket, CTL_DEFAULT_SOCKET);
	ck_assert_str_eq(c.control_group, "");
	ck_assert(c.wait_for_device);
	ck_assert_int_eq(c.holdover_after, 3);
	ck_assert_int_eq(c.disruption_samples, 3);
	ck_assert_str_eq(c.driftfile, "");
	ck_assert_str_eq(c.user, "");
	ck_assert(!c.seccomp);
}
END_TEST

START_TEST(test_empty_and_blank)
{
	struct conf c, d;

	conf_defaults(&d);
	ck_assert_int_eq(parse(&c, ""), 0);
	assert_conf_eq(&c, &d);
	ck_assert_int_eq(parse(&c, "\n\n   \t\n# only a comment\n\t# indented\r\n\r\n"), 0);
	assert_conf_eq(&c, &d);
}
END_TEST

START_TEST(test_every_key)
{
	struct conf c;

	ck_assert_int_eq(parse(&c, "device /dev/ptp3\n"
				   "readout extended\n"
				   "readings 25\n"
				   "burst_combine median\n"
				   "max_reads_per_second 0\n"
				   "poll_interval 0.25\n"
				   "servo kalman\n"
				   "pi_kp 0.7\n"
				   "pi_ki 0.3\n"
				   "first_step_threshold 0\n"
				   "step_threshold 1.5\n"
				   "max_offset_panic 0\n"
				   "allow_large_step yes\n"
				   "offset_ns -1000000000000\n"
				   "timescale tai\n"
				   "utc_offset 0\n"
				   "rtcsync on\n"
				   "summary_interval 0\n"
				   "leapfile /etc/leap-seconds.list\n"
				   "leap_mode smear\n"
				   "leap_smear_window 3600.5\n"
				   "control_socket /run/p.sock\n"
				   "control_group _phc-ctl9\n"
				   "wait_for_device 0\n"
				   "holdover_after 17\n"
				   "disruption_samples 5\n"
				   "driftfile /var/lib/phcsyncd/drift\n"
				   "user phcsync\n"
				   "seccomp yes\n"),
			 0);
	ck_assert_str_eq(c.device, "/dev/ptp3");
	ck_assert_int_eq(c.readout, PHC_METHOD_EXTENDED);
	ck_assert_int_eq(c.readings, 25);
	ck_assert_int_eq(c.burst_combine, FILTER_COMBINE_MEDIAN);
	ck_assert_int_eq(c.max_reads_per_second, 0);
	ck_assert_double_eq(c.poll_interval_s, 0.25);
	ck_assert_int_eq(c.servo, SERVO_KALMAN);
	ck_assert_double_eq(c.pi_kp, 0.7);
	ck_assert_double_eq(c.pi_ki, 0.3);
	ck_assert_double_eq(c.first_step_threshold_s, 0.0);
	ck_assert_double_eq(c.step_threshold_s, 1.5);
	ck_assert_double_eq(c.max_offset_panic_s, 0.0);
	ck_assert(c.allow_large_step);
	ck_assert_int_eq(c.offset_ns, -1000000000000LL);
	ck_assert_int_eq(c.timescale, CONF_TIMESCALE_TAI);
	ck_assert_int_eq(c.utc_offset_s, 0);
	ck_assert(c.rtcsync);
	ck_assert_double_eq(c.summary_interval_s, 0.0);
	ck_assert_str_eq(c.leapfile, "/etc/leap-seconds.list");
	ck_assert_int_eq(c.leap_mode, CONF_LEAP_SMEAR);
	ck_assert_double_eq(c.leap_smear_window_s, 3600.5);
	ck_assert_str_eq(c.control_socket, "/run/p.sock");
	ck_assert_str_eq(c.control_group, "_phc-ctl9");
	ck_assert(!c.wait_for_device);
	ck_assert_int_eq(c.holdover_after, 17);
	ck_assert_int_eq(c.disruption_samples, 5);
	ck_assert_str_eq(c.driftfile, "/var/lib/phcsyncd/drift");
	ck_assert_str_eq(c.user, "phcsync");
	ck_assert(c.seccomp);
}
END_TEST

START_TEST(test_bounds_accepted)
{
	struct conf c;

	ck_assert_int_eq(parse(&c, "readings 1\nmax_reads_per_second 1000000\n"
				   "poll_interval 0.015625\npi_kp 10\npi_ki 0\n"
				   "offset_ns +1000000000000\nutc_offset 1000\n"
				   "summary_interval 86400\nstep_threshold 1e9\n"),
			 0);
	ck_assert_int_eq(c.readings, 1);
	ck_assert_int_eq(c.max_reads_per_second, 1000000);
	ck_assert_double_eq(c.poll_interval_s, 0.015625);
	ck_assert_double_eq(c.pi_kp, 10.0);
	ck_assert_int_eq(c.offset_ns, 1000000000000LL);
	ck_assert_int_eq(c.utc_offset_s, 1000);
	ck_assert_double_eq(c.summary_interval_s, 86400.0);
	ck_assert_double_eq(c.step_threshold_s, 1e9);

	ck_assert_int_eq(parse(&c, "poll_interval 64\nsummary_interval 1\n"), 0);
	ck_assert_double_eq(c.poll_interval_s, 64.0);
	ck_assert_double_eq(c.summary_interval_s, 1.0);

	ck_assert_int_eq(parse(&c, "leap_smear_window 60\nholdover_after 1\n"
				   "disruption_samples 1\n"),
			 0);
	ck_assert_double_eq(c.leap_smear_window_s, 60.0);
	ck_assert_int_eq(c.holdover_after, 1);
	ck_assert_int_eq(c.disruption_samples, 1);

	ck_assert_int_eq(parse(&c, "leap_smear_window 172800\nholdover_after 1000\n"
				   "disruption_samples 10\n"),
			 0);
	ck_assert_double_eq(c.leap_smear_window_s, 172800.0);
	ck_assert_int_eq(c.holdover_after, 1000);
	ck_assert_int_eq(c.disruption_samples, 10);
}
END_TEST

static const struct {
	const char *name;
	int value;
} readouts[] = {
	{"auto", PHC_METHOD_AUTO},	   {"precise", PHC_METHOD_PRECISE},
	{"extended", PHC_METHOD_EXTENDED}, {"basic", PHC_METHOD_BASIC},
	{"gettime", PHC_METHOD_GETTIME},
};

START_TEST(test_readout_names)
{
	char text[64];
	struct conf c;

	snprintf(text, sizeof(text), "readout %s\n", readouts[_i].name);
	/* Start from a value no name maps to, so "auto" is really stored. */
	conf_defaults(&c);
	c.readout = PHC_METHOD_COUNT;
	ck_assert_int_eq(conf_parse_buffer(&c, "t", text, strlen(text), err, sizeof(err)), 0);
	ck_assert_int_eq(c.readout, readouts[_i].value);
}
END_TEST

static const struct {
	const char *name;
	enum conf_leap_mode value;
} leap_modes[] = {
	{"system", CONF_LEAP_SYSTEM},
	{"step", CONF_LEAP_STEP},
	{"smear", CONF_LEAP_SMEAR},
};

START_TEST(test_leap_mode_names)
{
	char text[64];
	struct conf c;

	snprintf(text, sizeof(text), "leap_mode %s\n", leap_modes[_i].name);
	/* Start from another mode, so the default "system" is really stored. */
	conf_defaults(&c);
	c.leap_mode = leap_modes[_i].value == CONF_LEAP_SMEAR ? CONF_LEAP_STEP : CONF_LEAP_SMEAR;
	ck_assert_int_eq(conf_parse_buffer(&c, "t", text, strlen(text), err, sizeof(err)), 0);
	ck_assert_int_eq(c.leap_mode, leap_modes[_i].value);
}
END_TEST

static const struct {
	const char *word;
	bool value;
} bools[] = {
	{"yes", true}, {"true", true},	 {"on", true},	 {"1", true},
	{"no", false}, {"false", false}, {"off", false}, {"0", false},
};

START_TEST(test_bool_spellings)
{
	char text[128];
	struct conf c;

	snprintf(text, sizeof(text),
		 "allow_large_step %s\nrtcsync %s\nwait_for_device %s\nseccomp %s\n",
		 bools[_i].word, bools[_i].word, bools[_i].word, bools[_i].word);
	conf_defaults(&c);
	c.allow_large_step = !bools[_i].value;
	c.rtcsync = !bools[_i].value;
	c.wait_for_device = !bools[_i].value;
	c.seccomp = !bools[_i].value;
	ck_assert_int_eq(conf_parse_buffer(&c, "t", text, strlen(text), err, sizeof(err)), 0);
	ck_assert_int_eq(c.allow_large_step, bools[_i].value);
	ck_assert_int_eq(c.rtcsync, bools[_i].value);
	ck_assert_int_eq(c.wait_for_device, bools[_i].value);
	ck_assert_int_eq(c.seccomp, bools[_i].value);
}
END_TEST

/* The words that stand for a path, and what each key stores for them. */
START_TEST(test_path_words)
{
	struct conf c;

	conf_defaults(&c);
	snprintf(c.leapfile, sizeof(c.leapfile), "/x");
	snprintf(c.driftfile, sizeof(c.driftfile), "/x");
	ck_assert_int_eq(
		conf_parse_buffer(&c, "t", "leapfile auto\ndriftfile none\n", 29, err, sizeof(err)),
		0);
	ck_assert_str_eq(c.leapfile, "");
	ck_assert_str_eq(c.driftfile, "");

	ck_assert_int_eq(parse(&c, "leapfile none\ncontrol_socket none\n"), 0);
	ck_assert_str_eq(c.leapfile, "none");
	ck_assert_str_eq(c.control_socket, "none");

	/* A file that happens to be called like a word is still a path. */
	ck_assert_int_eq(parse(&c, "leapfile /none\ncontrol_socket /auto\ndriftfile /none\n"), 0);
	ck_assert_str_eq(c.leapfile, "/none");
	ck_assert_str_eq(c.control_socket, "/auto");
	ck_assert_str_eq(c.driftfile, "/none");
}
END_TEST

static const char *const good_devices[] = {
	"auto",
	"/dev/ptp0",
	"/dev/ptp_kvm",
	"interface:eth0",
	"interface:enp0s31f6",
	"interface:a",
	"interface:abcdefghijklmno", /* 15 bytes, IFNAMSIZ less the NUL */
	"interface:...",
	"interface:eth0.100",
};

START_TEST(test_device_good)
{
	char text[128];
	struct conf c;

	snprintf(text, sizeof(text), "device %s\n", good_devices[_i]);
	ck_assert_msg(parse(&c, text) == 0, "%s", err);
	ck_assert_str_eq(c.device, good_devices[_i]);
}
END_TEST

START_TEST(test_account_names)
{
	char text[128], name[34];
	struct conf c;

	ck_assert_int_eq(parse(&c, "control_group a\nuser _\n"), 0);
	ck_assert_str_eq(c.control_group, "a");
	ck_assert_str_eq(c.user, "_");
	ck_assert_int_eq(parse(&c, "control_group _0-9_z\nuser systemd-timesync\n"), 0);
	ck_assert_str_eq(c.control_group, "_0-9_z");
	ck_assert_str_eq(c.user, "systemd-timesync");

	/* 32 bytes are accepted, 33 are not. */
	memset(name, 'n', sizeof(name));
	name[32] = '\0';
	snprintf(text, sizeof(text), "control_group %s\nuser %s\n", name, name);
	ck_assert_int_eq(parse(&c, text), 0);
	ck_assert_str_eq(c.control_group, name);
	ck_assert_str_eq(c.user, name);

	name[32] = 'n';
	name[33] = '\0';
	snprintf(text, sizeof(text), "user %s\n", name);
	ck_assert_int_eq(parse(&c, text), -1);
	ck_assert_ptr_nonnull(strstr(err, "test.conf:1: user: expected a user name"));
	snprintf(text, sizeof(text), "control_group %s\n", name);
	ck_assert_int_eq(parse(&c, text), -1);
	ck_assert_ptr_nonnull(strstr(err, "test.conf:1: control_group: expected a group name"));
}
END_TEST

START_TEST(test_layout)
{
	struct conf c;

	ck_assert_int_eq(parse(&c, "  readings\t7   # seven is plenty\r\n"
				   "\t poll_interval  \t 2\t\r\n"
				   "# readings 9\r\n"
				   "device /dev/ptp1#comment glued to the value\n"
				   "timescale tai"),
			 0);
	ck_assert_int_eq(c.readings, 7);
	ck_assert_double_eq(c.poll_interval_s, 2.0);
	ck_assert_str_eq(c.device, "/dev/ptp1");
	ck_assert_int_eq(c.timescale, CONF_TIMESCALE_TAI);
}
END_TEST

START_TEST(test_not_nul_terminated)
{
	const char text[] = {'r', 'e', 'a', 'd', 'i', 'n', 'g', 's', ' ', '2', '5'};
	struct conf c;

	conf_defaults(&c);
	/* Only "readings 2" is inside len; the '5' beyond it must not be read. */
	ck_assert_int_eq(conf_parse_buffer(&c, "t", text, sizeof(text) - 1, err, sizeof(err)), 0);
	ck_assert_int_eq(c.readings, 2);
}
END_TEST

START_TEST(test_on_top_and_unchanged_on_error)
{
	struct conf c, before;

	conf_defaults(&c);
	c.readings = 9;
	ck_assert_int_eq(conf_parse_buffer(&c, "t", "rtcsync yes\n", 12, err, sizeof(err)), 0);
	ck_assert_int_eq(c.readings, 9);
	ck_assert(c.rtcsync);

	before = c;
	ck_assert_int_eq(conf_parse_buffer(&c, "t", "readings 3\nutc_offset 5\nbogus 1\n", 33, err,
					   sizeof(err)),
			 -1);
	assert_conf_eq(&c, &before);
	ck_assert_int_eq(conf_parse_buffer(&c, "t", "leapfile none\nuser x\nholdover_after 0\n", 37,
					   err, sizeof(err)),
			 -1);
	assert_conf_eq(&c, &before);
}
END_TEST

START_TEST(test_small_error_buffer)
{
	struct conf c;
	char small[8];

	conf_defaults(&c);
	memset(small, 'x', sizeof(small));
	ck_assert_int_eq(conf_parse_buffer(&c, "t", "readings 0", 10, small, sizeof(small)), -1);
	ck_assert_str_eq(small, "t:1: re");
	ck_assert_int_eq(conf_parse_buffer(&c, "t", "readings 0", 10, NULL, 0), -1);
}
END_TEST

#define PATH_RULE "(no spaces or control characters, at most 255 bytes)"
#define DEVICE_EXPECTED                                                                            \
	"auto, a path starting with / " PATH_RULE " or interface:NAME (NAME 1 to 15 bytes, no /, " \
	":, spaces or controls)"
#define LEAPFILE_EXPECTED "auto, none or a path starting with / " PATH_RULE
#define DRIFTFILE_EXPECTED "none or a path starting with / " PATH_RULE
#define SOCKET_EXPECTED                                                                            \
	"none or a path starting with / (no spaces or control characters, at most 107 bytes to "   \
	"fit an AF_UNIX socket address)"
#define NAME_RULE                                                                                  \
	"(a lower-case letter or _, then lower-case letters, digits, _ or -, at most 32 bytes)"
#define GROUP_EXPECTED "a group name " NAME_RULE
#define USER_EXPECTED "a user name " NAME_RULE

static const struct {
	const char *text;
	const char *msg;
} bad[] = {
	/* unknown key, also with a line number beyond the first */
	{"readings 5\n\n# c\nreadingz 5\n", "test.conf:4: readingz: unknown key"},
	{"readings=5\n", "test.conf:1: readings=5: unknown key"},
	{"interface eth0\n", "test.conf:1: interface: unknown key"},
	{"leap_smear 86400\n", "test.conf:1: leap_smear: unknown key"},
	{"Readings 5\n", "test.conf:1: Readings: unknown key"},
	/* missing value, also when the value is behind a comment */
	{"\nreadings\n", "test.conf:2: readings: missing value, expected an integer from 1 to 25"},
	{"readings   \r\n",
	 "test.conf:1: readings: missing value, expected an integer from 1 to 25"},
	{"readings # 5\n",
	 "test.conf:1: readings: missing value, expected an integer from 1 to 25"},
	{"device\n", "test.conf:1: device: missing value, expected " DEVICE_EXPECTED},
	{"leapfile\n", "test.conf:1: leapfile: missing value, expected " LEAPFILE_EXPECTED},
	{"control_group \t# adm\n",
	 "test.conf:1: control_group: missing value, expected " GROUP_EXPECTED},
	/* integers */
	{"readings 30\n", "test.conf:1: readings: expected an integer from 1 to 25, got \"30\""},
	{"readings 0\n", "test.conf:1: readings: expected an integer from 1 to 25, got \"0\""},
	{"readings 1x\n", "test.conf:1: readings: expected an integer from 1 to 25, got \"1x\""},
	{"readings five\n",
	 "test.conf:1: readings: expected an integer from 1 to 25, got \"five\""},
	{"readings 5.0\n", "test.conf:1: readings: expected an integer from 1 to 25, got \"5.0\""},
	{"readings 0x5\n", "test.conf:1: readings: expected an integer from 1 to 25, got \"0x5\""},
	{"readings 5 6\n", "test.conf:1: readings: expected an integer from 1 to 25, got \"5 6\""},
	{"readings -\n", "test.conf:1: readings: expected an integer from 1 to 25, got \"-\""},
	{"max_reads_per_second -1\n",
	 "test.conf:1: max_reads_per_second: expected an integer from 0 (no limit) to 1000000, got "
	 "\"-1\""},
	{"max_reads_per_second 1000001\n",
	 "test.conf:1: max_reads_per_second: expected an integer from 0 (no limit) to 1000000, got "
	 "\"1000001\""},
	{"offset_ns 1000000000001\n",
	 "test.conf:1: offset_ns: expected an integer from -1000000000000 to 1000000000000, got "
	 "\"1000000000001\""},
	{"offset_ns -1000000000001\n",
	 "test.conf:1: offset_ns: expected an integer from -1000000000000 to 1000000000000, got "
	 "\"-1000000000001\""},
	{"offset_ns 99999999999999999999\n",
	 "test.conf:1: offset_ns: expected an integer from -1000000000000 to 1000000000000, got "
	 "\"99999999999999999999\""},
	{"utc_offset -1\n",
	 "test.conf:1: utc_offset: expected an integer from 0 to 1000, got \"-1\""},
	{"utc_offset 1001\n",
	 "test.conf:1: utc_offset: expected an integer from 0 to 1000, got \"1001\""},
	/* real numbers */
	{"poll_interval 0.015624\n",
	 "test.conf:1: poll_interval: expected seconds from 0.015625 to 64, got \"0.015624\""},
	{"poll_interval 64.001\n",
	 "test.conf:1: poll_interval: expected seconds from 0.015625 to 64, got \"64.001\""},
	{"poll_interval 1x\n",
	 "test.conf:1: poll_interval: expected seconds from 0.015625 to 64, got \"1x\""},
	{"poll_interval 1s\n",
	 "test.conf:1: poll_interval: expected seconds from 0.015625 to 64, got \"1s\""},
	{"poll_interval nan\n",
	 "test.conf:1: poll_interval: expected seconds from 0.015625 to 64, got \"nan\""},
	{"poll_interval inf\n",
	 "test.conf:1: poll_interval: expected seconds from 0.015625 to 64, got \"inf\""},
	{"poll_interval 0x1p0\n",
	 "test.conf:1: poll_interval: expected seconds from 0.015625 to 64, got \"0x1p0\""},
	{"poll_interval 1e\n",
	 "test.conf:1: poll_interval: expected seconds from 0.015625 to 64, got \"1e\""},
	{"poll_interval .\n",
	 "test.conf:1: poll_interval: expected seconds from 0.015625 to 64, got \".\""},
	{"pi_kp -0.1\n", "test.conf:1: pi_kp: expected a number from 0 to 10, got \"-0.1\""},
	{"pi_ki 10.5\n", "test.conf:1: pi_ki: expected a number from 0 to 10, got \"10.5\""},
	{"pi_ki NaN\n", "test.conf:1: pi_ki: expected a number from 0 to 10, got \"NaN\""},
	{"step_threshold -1\n",
	 "test.conf:1: step_threshold: expected seconds from 0 to 1000000000, got \"-1\""},
	{"first_step_threshold 1e999\n",
	 "test.conf:1: first_step_threshold: expected seconds from 0 to 1000000000, got \"1e999\""},
	{"max_offset_panic -inf\n",
	 "test.conf:1: max_offset_panic: expected seconds from 0 to 1000000000, got \"-inf\""},
	{"max_offset_panic 1e-400\n",
	 "test.conf:1: max_offset_panic: expected seconds from 0 to 1000000000, got \"1e-400\""},
	{"summary_interval 0.5\n",
	 "test.conf:1: summary_interval: expected 0 (off) or seconds from 1 to 86400, got \"0.5\""},
	{"summary_interval 86401\n",
	 "test.conf:1: summary_interval: expected 0 (off) or seconds from 1 to 86400, got "
	 "\"86401\""},
	/* names */
	{"readout fast\n",
	 "test.conf:1: readout: expected auto, precise, extended, basic or gettime, got \"fast\""},
	{"readout Precise\n",
	 "test.conf:1: readout: expected auto, precise, extended, basic or gettime, got "
	 "\"Precise\""},
	{"servo linreg\n", "test.conf:1: servo: expected pi or kalman, got \"linreg\""},
	{"timescale gps\n", "test.conf:1: timescale: expected auto, utc or tai, got \"gps\""},
	{"allow_large_step maybe\n",
	 "test.conf:1: allow_large_step: expected yes or no, got \"maybe\""},
	{"rtcsync 2\n", "test.conf:1: rtcsync: expected yes or no, got \"2\""},
	/* device */
	{"device ptp0\n", "test.conf:1: device: expected " DEVICE_EXPECTED ", got \"ptp0\""},
	{"device /dev/ptp0 /dev/ptp1\n",
	 "test.conf:1: device: expected " DEVICE_EXPECTED ", got \"/dev/ptp0 /dev/ptp1\""},
	{"device AUTO\n", "test.conf:1: device: expected " DEVICE_EXPECTED ", got \"AUTO\""},
	{"device interface:\n",
	 "test.conf:1: device: expected " DEVICE_EXPECTED ", got \"interface:\""},
	{"device interface:abcdefghijklmnop\n",
	 "test.conf:1: device: expected " DEVICE_EXPECTED ", got \"interface:abcdefghijklmnop\""},
	{"device interface:.\n",
	 "test.conf:1: device: expected " DEVICE_EXPECTED ", got \"interface:.\""},
	{"device interface:..\n",
	 "test.conf:1: device: expected " DEVICE_EXPECTED ", got \"interface:..\""},
	{"device interface:a/b\n",
	 "test.conf:1: device: expected " DEVICE_EXPECTED ", got \"interface:a/b\""},
	{"device interface:eth0:1\n",
	 "test.conf:1: device: expected " DEVICE_EXPECTED ", got \"interface:eth0:1\""},
	{"device interface:eth 0\n",
	 "test.conf:1: device: expected " DEVICE_EXPECTED ", got \"interface:eth 0\""},
	{"device interface: eth0\n",
	 "test.conf:1: device: expected " DEVICE_EXPECTED ", got \"interface: eth0\""},
	{"device Interface:eth0\n",
	 "test.conf:1: device: expected " DEVICE_EXPECTED ", got \"Interface:eth0\""},
	{"device eth0\n", "test.conf:1: device: expected " DEVICE_EXPECTED ", got \"eth0\""},
	/* leap seconds */
	{"leapfile leap-seconds.list\n",
	 "test.conf:1: leapfile: expected " LEAPFILE_EXPECTED ", got \"leap-seconds.list\""},
	{"leapfile off\n", "test.conf:1: leapfile: expected " LEAPFILE_EXPECTED ", got \"off\""},
	{"leapfile /a b\n", "test.conf:1: leapfile: expected " LEAPFILE_EXPECTED ", got \"/a b\""},
	{"leap_mode slew\n",
	 "test.conf:1: leap_mode: expected system, step or smear, got \"slew\""},
	{"leap_mode none\n",
	 "test.conf:1: leap_mode: expected system, step or smear, got \"none\""},
	{"leap_smear_window 59.9\n",
	 "test.conf:1: leap_smear_window: expected seconds from 60 to 172800, got \"59.9\""},
	{"leap_smear_window 172801\n",
	 "test.conf:1: leap_smear_window: expected seconds from 60 to 172800, got \"172801\""},
	{"leap_smear_window 1d\n",
	 "test.conf:1: leap_smear_window: expected seconds from 60 to 172800, got \"1d\""},
	/* control socket */
	{"control_socket phcsyncd.sock\n",
	 "test.conf:1: control_socket: expected " SOCKET_EXPECTED ", got \"phcsyncd.sock\""},
	{"control_socket auto\n",
	 "test.conf:1: control_socket: expected " SOCKET_EXPECTED ", got \"auto\""},
	{"control_socket @abstract\n",
	 "test.conf:1: control_socket: expected " SOCKET_EXPECTED ", got \"@abstract\""},
	{"control_group Adm\n",
	 "test.conf:1: control_group: expected " GROUP_EXPECTED ", got \"Adm\""},
	{"control_group 0day\n",
	 "test.conf:1: control_group: expected " GROUP_EXPECTED ", got \"0day\""},
	{"control_group -x\n",
	 "test.conf:1: control_group: expected " GROUP_EXPECTED ", got \"-x\""},
	{"control_group a.b\n",
	 "test.conf:1: control_group: expected " GROUP_EXPECTED ", got \"a.b\""},
	{"control_group a b\n",
	 "test.conf:1: control_group: expected " GROUP_EXPECTED ", got \"a b\""},
	{"control_group pc$\n",
	 "test.conf:1: control_group: expected " GROUP_EXPECTED ", got \"pc$\""},
	/* faults */
	{"wait_for_device always\n",
	 "test.conf:1: wait_for_device: expected yes or no, got \"always\""},
	{"holdover_after 0\n",
	 "test.conf:1: holdover_after: expected an integer from 1 to 1000, got \"0\""},
	{"holdover_after 1001\n",
	 "test.conf:1: holdover_after: expected an integer from 1 to 1000, got \"1001\""},
	{"holdover_after 3.0\n",
	 "test.conf:1: holdover_after: expected an integer from 1 to 1000, got \"3.0\""},
	{"disruption_samples 0\n",
	 "test.conf:1: disruption_samples: expected an integer from 1 to 10, got \"0\""},
	{"disruption_samples 11\n",
	 "test.conf:1: disruption_samples: expected an integer from 1 to 10, got \"11\""},
	{"driftfile auto\n",
	 "test.conf:1: driftfile: expected " DRIFTFILE_EXPECTED ", got \"auto\""},
	{"driftfile drift\n",
	 "test.conf:1: driftfile: expected " DRIFTFILE_EXPECTED ", got \"drift\""},
	/* privileges */
	{"user root:root\n", "test.conf:1: user: expected " USER_EXPECTED ", got \"root:root\""},
	{"user 1000\n", "test.conf:1: user: expected " USER_EXPECTED ", got \"1000\""},
	{"user Phcsync\n", "test.conf:1: user: expected " USER_EXPECTED ", got \"Phcsync\""},
	{"seccomp strict\n", "test.conf:1: seccomp: expected yes or no, got \"strict\""},
	/* duplicate, even with the same value */
	{"readings 5\nrtcsync no\nreadings 5\n",
	 "test.conf:3: readings: expected once, already given on line 1"},
	{"utc_offset 37\r\n# x\r\nutc_offset 36\r\n",
	 "test.conf:3: utc_offset: expected once, already given on line 1"},
	{"user phcsync\nuser phcsync\n",
	 "test.conf:2: user: expected once, already given on line 1"},
	{"leapfile auto\nleapfile none\n",
	 "test.conf:2: leapfile: expected once, already given on line 1"},
	/* the first error wins */
	{"readings 99\nbogus\n",
	 "test.conf:1: readings: expected an integer from 1 to 25, got \"99\""},
};

START_TEST(test_errors)
{
	struct conf c;

	ck_assert_int_eq(parse(&c, bad[_i].text), -1);
	ck_assert_str_eq(err, bad[_i].msg);
}
END_TEST

static const struct {
	const char *key;
	size_t offset; /* of the field in struct conf */
	size_t max_len;
} path_keys[] = {
	{"device", offsetof(struct conf, device), CONF_DEVICE_MAX - 1},
	{"leapfile", offsetof(struct conf, leapfile), CONF_PATH_MAX - 1},
	{"driftfile", offsetof(struct conf, driftfile), CONF_PATH_MAX - 1},
	/* sun_path less the NUL */
	{"control_socket", offsetof(struct conf, control_socket), 107},
};

START_TEST(test_path_length)
{
	char text[300], path[CONF_PATH_MAX + 1], want[64];
	size_t max_len = path_keys[_i].max_len;
	struct conf c;

	/* max_len bytes are accepted; one more is not. */
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[max_len] = '\0';
	snprintf(text, sizeof(text), "%s %s\n", path_keys[_i].key, path);
	ck_assert_msg(parse(&c, text) == 0, "%s", err);
	ck_assert_str_eq((const char *)&c + path_keys[_i].offset, path);

	path[max_len] = 'p';
	path[max_len + 1] = '\0';
	snprintf(text, sizeof(text), "%s %s\n", path_keys[_i].key, path);
	ck_assert_int_eq(parse(&c, text), -1);
	snprintf(want, sizeof(want), "test.conf:1: %s: expected ", path_keys[_i].key);
	ck_assert_ptr_eq(strstr(err, want), err);
}
END_TEST

START_TEST(test_nul_byte)
{
	const char text[] = "readings 5\nrtc\0sync yes\n";
	struct conf c;

	conf_defaults(&c);
	ck_assert_int_eq(conf_parse_buffer(&c, "t", text, sizeof(text) - 1, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "t:2: expected text, got a NUL byte");
}
END_TEST

START_TEST(test_file_missing)
{
	struct conf c;

	conf_defaults(&c);
	ck_assert_int_eq(conf_parse_file(&c, "/nonexistent/phcsyncd.conf", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/nonexistent/phcsyncd.conf: cannot read: No such file or directory");
}
END_TEST

START_TEST(test_file_is_directory)
{
	struct conf c;

	conf_defaults(&c);
	ck_assert_int_eq(conf_parse_file(&c, "/", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/: cannot read: Is a directory");
}
END_TEST

/* Write text to a fresh temporary file; path receives its name. */
static void write_temp(char *path, size_t len, const char *text)
{
	const char *dir = getenv("TMPDIR");
	FILE *f;
	int fd;

	snprintf(path, len, "%s/test_conf.XXXXXX", dir ? dir : "/tmp");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_file_parse)
{
	char path[256], want[512];
	struct conf c;

	write_temp(path, sizeof(path), "readings 3\npoll_interval 0.5\n");
	conf_defaults(&c);
	ck_assert_int_eq(conf_parse_file(&c, path, err, sizeof(err)), 0);
	ck_assert_int_eq(c.readings, 3);
	ck_assert_double_eq(c.poll_interval_s, 0.5);
	unlink(path);

	write_temp(path, sizeof(path), "readings 3\n\nservo pid\n");
	ck_assert_int_eq(conf_parse_file(&c, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: servo: expected pi or kalman, got \"pid\"", path);
	ck_assert_str_eq(err, want);
	unlink(path);
}
END_TEST

START_TEST(test_file_large)
{
	char path[256], want[512];
	struct conf c;
	FILE *f;
	int i;

	/* Blank lines are valid, so only the size can make this file fail. */
	write_temp(path, sizeof(path), "");
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (i = 0; i < 2 * 1024; i++)
		ck_assert_int_ge(fprintf(f, "%1023s\n", ""), 0);
	ck_assert_int_eq(fclose(f), 0);
	conf_defaults(&c);
	ck_assert_int_eq(conf_parse_file(&c, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: cannot read: %s", path, strerror(EFBIG));
	ck_assert_str_eq(err, want);
	unlink(path);
}
END_TEST

static const char *env_path(const char *name)
{
	const char *path = getenv(name);

	ck_assert_msg(path != NULL, "%s is not set", name);
	return path;
}

static const char *example_path(void)
{
	return env_path("PHCSYNC_EXAMPLE_CONF");
}

START_TEST(test_example_parses_to_defaults)
{
	struct conf c, d;

	conf_defaults(&c);
	conf_defaults(&d);
	ck_assert_msg(conf_parse_file(&c, example_path(), err, sizeof(err)) == 0, "%s", err);
	assert_conf_eq(&c, &d);
}
END_TEST

/*
 * The example comments every setting out as "#key value": enabling all of them must also
 * give the defaults. (test_table_documented checks that every key is there.)
 */
START_TEST(test_example_enabled_is_defaults)
{
	char line[1024], text[8192];
	struct conf c, d;
	size_t used = 0;
	FILE *f;

	f = fopen(example_path(), "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line + 1);

		if (line[0] != '#' || line[1] < 'a' || line[1] > 'z')
			continue;
		ck_assert_uint_lt(used + len, sizeof(text));
		memcpy(text + used, line + 1, len);
		used += len;
	}
	fclose(f);
	conf_defaults(&c);
	conf_defaults(&d);
	ck_assert_msg(conf_parse_buffer(&c, "example", text, used, err, sizeof(err)) == 0, "%s",
		      err);
	assert_conf_eq(&c, &d);
}
END_TEST

/* -s and the like: the file's checks and messages, with the origin for file:line. */
START_TEST(test_set)
{
	struct conf c, before;

	conf_defaults(&c);
	ck_assert_int_eq(conf_set(&c, "device", "interface:eth0", "-s", err, sizeof(err)), 0);
	ck_assert_str_eq(c.device, "interface:eth0");
	ck_assert_int_eq(conf_set(&c, "poll_interval", "0.5", "-s", err, sizeof(err)), 0);
	ck_assert_double_eq(c.poll_interval_s, 0.5);

	before = c;
	ck_assert_int_eq(conf_set(&c, "device", "eth0", "-s", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "-s: device: expected " DEVICE_EXPECTED ", got \"eth0\"");
	ck_assert_int_eq(conf_set(&c, "readings", "", "-s", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "-s: readings: missing value, expected an integer from 1 to 25");
	/* The value is taken whole: no white space or comment is stripped. */
	ck_assert_int_eq(conf_set(&c, "readings", "5 ", "-s", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "-s: readings: expected an integer from 1 to 25, got \"5 \"");
	ck_assert_int_eq(conf_set(&c, "readings", "5#", "-s", err, sizeof(err)), -1);
	ck_assert_int_eq(conf_set(&c, "readingz", "5", "-s", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "-s: readingz: unknown key");
	ck_assert_int_eq(conf_set(&c, "readings", "0", "-s", NULL, 0), -1);
	assert_conf_eq(&c, &before);
}
END_TEST

/* phcsyncd.conf(5)'s .TP entries, as plain text. */
static struct man_entry {
	char heads[4][32]; /* the keys its .TP and .TQ lines name */
	int nheads;
	size_t body; /* where the text after the heads starts */
	char text[4096];
} man[64];
static int nman;

/* Append s (n bytes) without roff's font and dash escapes, white space collapsed. */
static void man_put(struct man_entry *e, const char *s, size_t n)
{
	size_t i, used = strlen(e->text);

	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (ch == '\\' && i + 1 < n && strchr("f&-", s[i + 1])) {
			i += s[i + 1] == 'f' ? 2 : 1;
			if (s[i] != '-')
				continue;
			ch = '-';
		}
		if (ch == ' ' && (used == 0 || e->text[used - 1] == ' '))
			continue;
		ck_assert_uint_lt(used + 1, sizeof(e->text));
		e->text[used++] = ch;
	}
	e->text[used] = '\0';
}

/* A text line as it reads, a font macro's arguments as they print; other requests vanish. */
static void man_line(struct man_entry *e, const char *line)
{
	char macro[4] = "";
	const char *p, *q;
	bool alt;

	if (line[0] != '.') {
		man_put(e, line, strlen(line));
		man_put(e, " ", 1);
		return;
	}
	sscanf(line + 1, "%3s", macro);
	if (strspn(macro, "BIR") != strlen(macro) || strcmp(macro, "R") == 0)
		return;
	alt = strlen(macro) == 2; /* .BR and the like alternate fonts without a space */
	for (p = line + 1 + strlen(macro); *p;) {
		while (*p == ' ')
			p++;
		if (*p == '"') {
			q = p + 1 + strcspn(p + 1, "\"");
			man_put(e, p + 1, (size_t)(q - p - 1));
			p = *q ? q + 1 : q;
		} else {
			q = p + strcspn(p, " ");
			man_put(e, p, (size_t)(q - p));
			p = q;
		}
		if (!alt)
			man_put(e, " ", 1);
	}
	man_put(e, " ", 1);
}

static bool is_request(const char *line, const char *name)
{
	size_t len = strlen(name);

	return strncmp(line, name, len) == 0 && (line[len] == '\0' || line[len] == ' ');
}

static void man_read(void)
{
	struct man_entry *e = NULL;
	bool head_next = false;
	char line[1024];
	int depth = 0;
	FILE *f;

	if (nman > 0)
		return;
	f = fopen(env_path("PHCSYNC_CONF_MAN"), "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		depth += is_request(line, ".RS") - is_request(line, ".RE");
		if (depth == 0 && (is_request(line, ".TP") || is_request(line, ".SS") ||
				   is_request(line, ".SH"))) {
			e = NULL;
			if (is_request(line, ".TP")) {
				ck_assert_uint_lt(nman, sizeof(man) / sizeof(man[0]));
				e = &man[nman++];
				head_next = true;
			}
			continue;
		}
		if (!e)
			continue;
		if (depth == 0 && is_request(line, ".TQ")) {
			head_next = true;
			continue;
		}
		if (head_next && (is_request(line, ".B") || is_request(line, ".BI"))) {
			ck_assert_int_lt(e->nheads, 4);
			sscanf(line, "%*s %31s", e->heads[e->nheads++]);
		} else if (e->body == 0) {
			e->body = strlen(e->text);
		}
		head_next = false;
		man_line(e, line);
	}
	fclose(f);
}

static const struct man_entry *man_entry(const char *key)
{
	int i, j;

	man_read();
	for (i = 0; i < nman; i++)
		for (j = 0; j < man[i].nheads; j++)
			if (strcmp(man[i].heads[j], key) == 0)
				return &man[i];
	return NULL;
}

static bool word_char(const char *p)
{
	return (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
	       *p == '_' || (*p == '.' && p[1] >= '0' && p[1] <= '9');
}

/* The last place before end where word stands alone in s, or NULL. */
static const char *find_word(const char *s, const char *end, const char *word)
{
	const char *p, *last = NULL;

	for (p = strstr(s, word); p && p + strlen(word) <= end; p = strstr(p + 1, word))
		if ((p == s || (!word_char(p - 1) && p[-1] != '.')) && !word_char(p + strlen(word)))
			last = p;
	return last;
}

/*
 * Check the "Default: X" of key in e: each default belongs to the head last named before
 * it in the text (all heads if none is), as in the step budget's shared entry.
 */
static void check_man_default(const struct man_entry *e, const char *key, const char *want)
{
	const char *p, *body = e->text + e->body;
	int found = 0;

	for (p = strstr(body, "efault: "); p; p = strstr(p + 1, "efault: ")) {
		const char *owner = NULL, *at = NULL;
		char value[256];
		size_t len;
		int j;

		if (p[-1] != 'D' && p[-1] != 'd')
			continue;
		for (j = 0; j < e->nheads; j++) {
			const char *w = find_word(body, p, e->heads[j]);

			if (w && w > at) {
				at = w;
				owner = e->heads[j];
			}
		}
		if (owner && strcmp(owner, key) != 0)
			continue;
		len = strcspn(p + 8, " ,;)");
		ck_assert_uint_lt(len, sizeof(value));
		memcpy(value, p + 8, len);
		value[len - (len > 0 && value[len - 1] == '.')] = '\0';
		ck_assert_msg(strcmp(value, want) == 0,
			      "phcsyncd.conf(5): %s: default %s, table %s", key, value, want);
		found++;
	}
	ck_assert_msg(found > 0, "phcsyncd.conf(5): %s: no \"Default:\"", key);
}

/* Every number of a numeric key's "expected ..." (its range) is in its man page entry. */
static void check_man_range(const struct man_entry *e, const char *key)
{
	struct conf c;
	const char *p;

	conf_defaults(&c);
	ck_assert_int_eq(conf_set(&c, key, "", "t", err, sizeof(err)), -1);
	if (!strstr(err, " from "))
		return;
	for (p = strstr(err, "expected "); *p; p++) {
		char num[32];
		size_t len;

		if (!((*p >= '0' && *p <= '9') || (*p == '-' && p[1] >= '0' && p[1] <= '9')))
			continue;
		len = 1 + strspn(p + 1, "0123456789.");
		ck_assert_uint_lt(len, sizeof(num));
		memcpy(num, p, len);
		num[len] = '\0';
		ck_assert_msg(find_word(e->text, e->text + strlen(e->text), num) != NULL,
			      "phcsyncd.conf(5): %s: %s not in \"%s\"", key, num, e->text);
		p += len - 1;
	}
}

/* The example's "#key default" line, or for an empty default a "# key value" that parses. */
static void check_example(const char *key, const char *def)
{
	char line[1024], want[512];
	bool found = false;
	struct conf c;
	FILE *f;

	if (def)
		snprintf(want, sizeof(want), "#%s %s\n", key, def);
	else
		snprintf(want, sizeof(want), "# %s ", key);
	f = fopen(example_path(), "r");
	ck_assert_ptr_nonnull(f);
	while (!found && fgets(line, sizeof(line), f)) {
		if (def) {
			found = strcmp(line, want) == 0;
		} else if (strncmp(line, want, strlen(want)) == 0) {
			line[strcspn(line, "\n")] = '\0';
			conf_defaults(&c);
			ck_assert_msg(conf_set(&c, key, line + strlen(want), "example", err,
					       sizeof(err)) == 0,
				      "%s", err);
			found = true;
		}
	}
	fclose(f);
	ck_assert_msg(found, "example lacks \"%s\"", want);
}

/*
 * Every key of the table is documented with the table's default: in phcsyncd.conf(5) (an
 * entry headed by the key and its unit, with its doc words and range) and in the example.
 */
START_TEST(test_table_documented)
{
	const struct conf_key *k;
	char head[128];
	struct conf c;
	size_t i;

	for (i = 0; (k = conf_key_at(i)) != NULL; i++) {
		const struct man_entry *e = man_entry(k->name);

		conf_defaults(&c);
		ck_assert_msg(
			!k->def || conf_set(&c, k->name, k->def, "default", err, sizeof(err)) == 0,
			"%s", err);
		ck_assert_msg(e != NULL, "phcsyncd.conf(5) has no entry for %s", k->name);
		ck_assert_msg(strstr(e->text, k->doc) != NULL,
			      "phcsyncd.conf(5): %s: \"%s\" not in \"%s\"", k->name, k->doc,
			      e->text);
		snprintf(head, sizeof(head), "%s %s ", k->name, k->unit ? k->unit : "");
		ck_assert_msg(!k->unit || strstr(e->text, head),
			      "phcsyncd.conf(5): %s: no \"%s\" head", k->name, head);
		check_man_default(e, k->name, k->def ? k->def : "empty");
		check_man_range(e, k->name);
		check_example(k->name, k->def);
	}
	ck_assert_uint_ge(i, 30);
}
END_TEST

/* What a reload applies at once; every other key needs a restart (phcsyncd.conf(5) RELOAD). */
static const char *const live_keys[] = {
	"readings",
	"max_reads_per_second",
	"max_offset_panic",
	"allow_large_step",
	"offset_ns",
	"rtcsync",
	"summary_interval",
	"leapfile",
	"holdover_after",
	"step_window",
	"step_limit_back",
	"step_limit_count",
	"reference_freq_limit",
	"driftfile",
};

static bool in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
			return true;
	return false;
}

/* A value other than the default for every key. */
static const struct {
	const char *key, *value;
} changed[] = {
	{"device", "/dev/ptp3"},
	{"readout", "extended"},
	{"readings", "25"},
	{"burst_combine", "median"},
	{"max_reads_per_second", "0"},
	{"poll_interval", "0.25"},
	{"servo", "pi"},
	{"pi_kp", "0.7"},
	{"pi_ki", "0.3"},
	{"first_step_threshold", "0"},
	{"step_threshold", "1.5"},
	{"max_offset_panic", "0"},
	{"allow_large_step", "yes"},
	{"offset_ns", "-5"},
	{"timescale", "tai"},
	{"utc_offset", "0"},
	{"rtcsync", "on"},
	{"summary_interval", "0"},
	{"leapfile", "none"},
	{"leap_mode", "smear"},
	{"leap_smear_window", "3600.5"},
	{"control_socket", "/run/p.sock"},
	{"control_group", "_phc-ctl9"},
	{"wait_for_device", "no"},
	{"holdover_after", "17"},
	{"disruption_samples", "5"},
	{"vmclock", "none"},
	{"step_window", "60"},
	{"step_limit_back", "0"},
	{"step_limit_count", "0"},
	{"reference_freq_limit", "0"},
	{"driftfile", "/var/lib/phcsyncd/drift"},
	{"user", "phcsync"},
	{"seccomp", "yes"},
};

START_TEST(test_reload_classes)
{
	const struct conf_key *k;
	size_t i, nlive = 0;

	for (i = 0; (k = conf_key_at(i)) != NULL; i++) {
		bool want = in_list(k->name, live_keys, sizeof(live_keys) / sizeof(live_keys[0]));

		ck_assert_msg(conf_key_live(i) == want, "%s: live %d, expected %d", k->name,
			      conf_key_live(i), want);
		nlive += want;
	}
	ck_assert_uint_eq(nlive, sizeof(live_keys) / sizeof(live_keys[0]));
	/* test_reload_diff_each_key has a value for every key. */
	ck_assert_uint_eq(i, sizeof(changed) / sizeof(changed[0]));
	ck_assert(!conf_key_live(i));
	ck_assert(!conf_key_live((size_t)-1));
}
END_TEST

static const char *changed_value(const char *key)
{
	for (size_t i = 0; i < sizeof(changed) / sizeof(changed[0]); i++)
		if (strcmp(changed[i].key, key) == 0)
			return changed[i].value;
	ck_abort_msg("%s: no changed value in the test", key);
	return NULL;
}

/* One key changed in the file: the diff names it in its class only; apply takes it only
 * when it is live. */
START_TEST(test_reload_diff_each_key)
{
	const struct conf_key *k = conf_key_at((size_t)_i);
	const char *value = changed_value(k->name);
	const char *names[4] = {NULL};
	struct conf running, file, before;
	bool live = conf_key_live((size_t)_i);

	if (!value)
		return;
	conf_defaults(&running);
	conf_defaults(&file);
	ck_assert_msg(conf_set(&file, k->name, value, "test", err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(conf_diff(&running, &file, live, names, 4), 1);
	ck_assert_str_eq(names[0], k->name);
	ck_assert_uint_eq(conf_diff(&running, &file, !live, names, 4), 0);

	before = running;
	conf_apply_live(&running, &file);
	if (live) {
		ck_assert_uint_eq(conf_diff(&running, &file, true, names, 4), 0);
		ck_assert_uint_eq(conf_diff(&running, &file, false, names, 4), 0);
		assert_conf_eq(&running, &file);
	} else {
		/* Still different: named again at the next reload, until a restart. */
		ck_assert_uint_eq(conf_diff(&running, &file, false, names, 4), 1);
		assert_conf_eq(&running, &before);
	}
}
END_TEST

START_TEST(test_value_names)
{
	ck_assert_str_eq(conf_value_name("servo", SERVO_PI), "pi");
	ck_assert_str_eq(conf_value_name("leap_mode", CONF_LEAP_SMEAR), "smear");
	ck_assert_str_eq(conf_value_name("readout", PHC_METHOD_AUTO), "auto");
	ck_assert_str_eq(conf_value_name("servo", 12345), "unknown");
	ck_assert_str_eq(conf_value_name("readings", 5), "unknown");
	ck_assert_str_eq(conf_value_name("no_such_key", 0), "unknown");
}
END_TEST

START_TEST(test_reload_diff_same)
{
	const char *names[1];
	struct conf a, b;

	ck_assert_int_eq(parse(&a, "readings 7\ndevice /dev/ptp10\n"), 0);
	/* A shorter string leaves bytes of the longer one after its NUL. */
	ck_assert_int_eq(conf_set(&a, "device", "/dev/ptp1", "test", err, sizeof(err)), 0);
	ck_assert_int_eq(parse(&b, "device /dev/ptp1\nreadings 7\n"), 0);
	ck_assert_uint_eq(conf_diff(&a, &b, true, names, 1), 0);
	ck_assert_uint_eq(conf_diff(&a, &b, false, names, 1), 0);
}
END_TEST

/* More changes than room for names: all are counted, max are named, in table order. */
START_TEST(test_reload_diff_count)
{
	const char *names[2] = {NULL, NULL};
	struct conf a, b;

	conf_defaults(&a);
	ck_assert_int_eq(parse(&b, "driftfile /x\nreadings 2\nrtcsync yes\noffset_ns 9\n"), 0);
	ck_assert_uint_eq(conf_diff(&a, &b, true, names, 2), 4);
	ck_assert_str_eq(names[0], "readings");
	ck_assert_str_eq(names[1], "offset_ns");
	ck_assert_uint_eq(conf_diff(&a, &b, true, NULL, 0), 4);
	ck_assert_uint_eq(conf_diff(&a, &b, false, names, 2), 0);
}
END_TEST

/* phcsyncd.conf(5)'s RELOAD section lists each key in its class. */
START_TEST(test_reload_documented)
{
	FILE *f = fopen(env_path("PHCSYNC_CONF_MAN"), "r");
	const struct conf_key *k;
	char line[1024], word[64];
	char listed[64][64];
	bool listed_live[64];
	int cls = -1, n = 0;
	size_t i;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, ".\\\" reload: ", 12) == 0) {
			cls = strncmp(line + 12, "live", 4) == 0      ? 1
			      : strncmp(line + 12, "restart", 7) == 0 ? 0
								      : -1;
			continue;
		}
		if (cls < 0 || (sscanf(line, ".B %63[a-z_]", word) != 1 &&
				sscanf(line, ".BR %63[a-z_]", word) != 1))
			continue;
		ck_assert_int_lt(n, 64);
		snprintf(listed[n], sizeof(listed[n]), "%s", word);
		listed_live[n++] = cls;
	}
	fclose(f);
	for (i = 0; (k = conf_key_at(i)) != NULL; i++) {
		int j = 0;

		while (j < n && strcmp(listed[j], k->name) != 0)
			j++;
		ck_assert_msg(j < n, "phcsyncd.conf(5) RELOAD does not list %s", k->name);
		ck_assert_msg(listed_live[j] == conf_key_live(i),
			      "phcsyncd.conf(5) RELOAD lists %s as %s", k->name,
			      listed_live[j] ? "live" : "needing a restart");
	}
	ck_assert_int_eq(n, (int)i);
}
END_TEST

/* No byte of a message may be a control character a terminal or the journal would act on. */
static void assert_printable(const char *msg)
{
	for (const char *p = msg; *p; p++)
		ck_assert_msg((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
			      "byte 0x%02x at %zu of \"%s\"", (unsigned char)*p, (size_t)(p - msg),
			      msg);
}

/* Every C0 control but tab (white space, refused in paths as such) and DEL. */
static const unsigned char controls[] = {0x01, 0x04, 0x07, 0x08, 0x0b, 0x0c,
					 0x0d, 0x0e, 0x1b, 0x1f, 0x7f};

START_TEST(test_control_bytes_refused)
{
	static const char *const keys[] = {"device",	     "leapfile",      "driftfile",
					   "control_socket", "control_group", "user"};
	char text[128], want[256];
	struct conf c;

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		/* 0x0d ends the value as white space would; put it mid-word anyway. */
		snprintf(text, sizeof(text), "readings 3\n%s %sa%cb\n", keys[k],
			 strstr(keys[k], "group") || !strcmp(keys[k], "user") ? "" : "/x/",
			 controls[_i]);
		ck_assert_int_eq(parse(&c, text), -1);
		snprintf(want, sizeof(want), "test.conf:2: %s: expected ", keys[k]);
		ck_assert_msg(strstr(err, want) == err, "%s", err);
		assert_printable(err);
		if (controls[_i] != 0x0d && controls[_i] != 0x0b && controls[_i] != 0x0c) {
			snprintf(want, sizeof(want), "a\\x%02xb\"", controls[_i]);
			ck_assert_msg(strstr(err, want) != NULL, "%s lacks %s", err, want);
		}
	}
	/* The command line goes through the same check. */
	snprintf(text, sizeof(text), "/dev/ptp%c", controls[_i]);
	conf_defaults(&c);
	ck_assert_int_eq(conf_set(&c, "device", text, "-s", err, sizeof(err)), -1);
	assert_printable(err);
	snprintf(text, sizeof(text), "interface:e%c", controls[_i]);
	ck_assert_int_eq(conf_set(&c, "device", text, "-s", err, sizeof(err)), -1);
	assert_printable(err);
}
END_TEST

START_TEST(test_echo_escaped)
{
	struct conf c;

	/* An unknown key, a bad value with a high byte, a quote and a backslash. */
	ck_assert_int_eq(parse(&c, "\x1b]0;owned\x07key 1\n"), -1);
	ck_assert_str_eq(err, "test.conf:1: \\x1b]0;owned\\x07key: unknown key");
	ck_assert_int_eq(parse(&c, "servo \"p\\\xc3\xa9\"\n"), -1);
	ck_assert_str_eq(err, "test.conf:1: servo: expected pi or kalman, got \"\\\"p\\\\\\xc3\\xa9\\\"\"");
	/* The file's own name is escaped too. */
	conf_defaults(&c);
	ck_assert_int_eq(conf_parse_buffer(&c, "a\x1b[2Jb.conf", "x\n", 2, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "a\\x1b[2Jb.conf:1: x: unknown key");
	ck_assert_int_eq(conf_set(&c, "\x04", "1", "-s", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "-s: \\x04: unknown key");
	/* A path with UTF-8 is a path: accepted, and shown escaped only when echoed. */
	ck_assert_int_eq(parse(&c, "leapfile /caf\xc3\xa9\n"), 0);
	ck_assert_str_eq(c.leapfile, "/caf\xc3\xa9");
}
END_TEST

START_TEST(test_escape)
{
	char out[16];

	ck_assert_uint_eq(conf_escape("ab", 2, out, sizeof(out)), 2);
	ck_assert_str_eq(out, "ab");
	ck_assert_uint_eq(conf_escape("a\0b", 3, out, sizeof(out)), 6);
	ck_assert_str_eq(out, "a\\x00b");
	/* Cut at a whole escape: never half of one. */
	ck_assert_uint_eq(conf_escape("abc\x1b", 4, out, 7), 3);
	ck_assert_str_eq(out, "abc");
	ck_assert_uint_eq(conf_escape("abc\x1b", 4, out, 8), 7);
	ck_assert_uint_eq(conf_escape("x", 1, out, 1), 0);
	ck_assert_str_eq(out, "");
	ck_assert_uint_eq(conf_escape("x", 1, out, 0), 0);
}
END_TEST

START_TEST(test_file_not_regular)
{
	char dir[] = "/tmp/test_conf.XXXXXX", fifo[64], want[160];
	struct conf c;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	conf_defaults(&c);
	/* Returns at once: no writer is waited for, nothing is read. */
	ck_assert_int_eq(conf_parse_file(&c, fifo, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, EINVAL);
	snprintf(want, sizeof(want),
		 "%s: cannot read: not a regular file (a FIFO, socket or device?)", fifo);
	ck_assert_str_eq(err, want);
	unlink(fifo);
	rmdir(dir);
	ck_assert_int_eq(conf_parse_file(&c, "/dev/null", err, sizeof(err)), -1);
	ck_assert_str_eq(err,
			 "/dev/null: cannot read: not a regular file (a FIFO, socket or device?)");
}
END_TEST

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("parse");
	TCase *tf = tcase_create("file");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_empty_and_blank);
	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_bounds_accepted);
	tcase_add_loop_test(tc, test_readout_names, 0, sizeof(readouts) / sizeof(readouts[0]));
	tcase_add_loop_test(tc, test_leap_mode_names, 0,
			    sizeof(leap_modes) / sizeof(leap_modes[0]));
	tcase_add_loop_test(tc, test_bool_spellings, 0, sizeof(bools) / sizeof(bools[0]));
	tcase_add_test(tc, test_path_words);
	tcase_add_loop_test(tc, test_device_good, 0,
			    sizeof(good_devices) / sizeof(good_devices[0]));
	tcase_add_test(tc, test_account_names);
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_not_nul_terminated);
	tcase_add_test(tc, test_on_top_and_unchanged_on_error);
	tcase_add_test(tc, test_small_error_buffer);
	tcase_add_loop_test(tc, test_errors, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_loop_test(tc, test_path_length, 0, sizeof(path_keys) / sizeof(path_keys[0]));
	tcase_add_test(tc, test_nul_byte);
	tcase_add_loop_test(tc, test_control_bytes_refused, 0,
			    sizeof(controls) / sizeof(controls[0]));
	tcase_add_test(tc, test_echo_escaped);
	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_set);
	tcase_add_test(tc, test_reload_classes);
	tcase_add_loop_test(tc, test_reload_diff_each_key, 0, sizeof(changed) / sizeof(changed[0]));
	tcase_add_test(tc, test_reload_diff_same);
	tcase_add_test(tc, test_value_names);
	tcase_add_test(tc, test_reload_diff_count);
	suite_add_tcase(s, tc);

	tcase_add_test(tf, test_file_missing);
	tcase_add_test(tf, test_file_is_directory);
	tcase_add_test(tf, test_file_not_regular);
	tcase_add_test(tf, test_file_parse);
	tcase_add_test(tf, test_file_large);
	tcase_add_test(tf, test_example_parses_to_defaults);
	tcase_add_test(tf, test_example_enabled_is_defaults);
	tcase_add_test(tf, test_table_documented);
	tcase_add_test(tf, test_reload_documented);
	suite_add_tcase(s, tf);
	return s;
}

CHECK_MAIN(conf_suite)
