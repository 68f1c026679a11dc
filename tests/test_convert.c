/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests of phcsyncd --convert: real-world chrony.conf files and phc2sys command lines
 * (tests/data/convert, NAME.in against NAME.out and NAME.err), each output parsed back with
 * phcsyncd's own parser; the traps; sweeps of offsets and poll rates; bad input.
 * PHCSYNC_CONVERT_REGEN=1 rewrites the expected files from the current output.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "phcsync/conf.h"
#include "phcsync/convert.h"

static struct convert_result res;
static struct conf parsed;

static void teardown(void)
{
	convert_result_free(&res);
}

/* Convert text; when it converts, the output must parse, into `parsed`. */
static int convert(const char *text)
{
	char err[512];
	int ret;

	convert_result_free(&res);
	ret = convert_text("in.conf", text, strlen(text), CONVERT_AUTO, &res);
	ck_assert_ptr_nonnull(res.messages);
	if (ret == 0) {
		ck_assert_ptr_nonnull(res.text);
		ck_assert_uint_eq(strlen(res.text), res.len);
		conf_defaults(&parsed);
		if (conf_parse_buffer(&parsed, "out.conf", res.text, res.len, err, sizeof(err)) !=
		    0)
			ck_abort_msg("output does not parse: %s\n%s", err, res.text);
		ck_assert_int_eq(res.errors, 0);
	} else {
		ck_assert_int_eq(ret, -EINVAL);
		ck_assert_ptr_null(res.text);
		ck_assert_int_gt(res.errors, 0);
	}
	return ret;
}

static bool has(const char *haystack, const char *needle)
{
	return haystack && strstr(haystack, needle) != NULL;
}

#define ck_assert_has(h, n) ck_assert_msg(has(h, n), "\"%s\" not in:\n%s", n, h)
#define ck_assert_lacks(h, n) ck_assert_msg(!has(h, n), "\"%s\" in:\n%s", n, h)

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static void spill(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	fputs(text ? text : "", f);
	ck_assert_int_eq(fclose(f), 0);
}

/* NAME.in converted as the CLI would name it, against NAME.out (or none) and NAME.err. */
static int golden(const char *name)
{
	const char *dir = getenv("PHCSYNC_CONVERT_DATA");
	char path[512], label[128], err[512], *in, *want;
	int ret;

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/%s.in", dir, name);
	in = slurp(path);
	ck_assert_msg(in != NULL, "cannot read %s", path);
	snprintf(label, sizeof(label), "%s.in", name);
	convert_result_free(&res);
	ret = convert_text(label, in, strlen(in), CONVERT_AUTO, &res);
	free(in);
	ck_assert_int_ne(ret, -ENOMEM);
	if (getenv("PHCSYNC_CONVERT_REGEN")) {
		snprintf(path, sizeof(path), "%s/%s.out", dir, name);
		if (res.text)
			spill(path, res.text);
		else
			remove(path);
		snprintf(path, sizeof(path), "%s/%s.err", dir, name);
		spill(path, res.messages);
	}
	snprintf(path, sizeof(path), "%s/%s.out", dir, name);
	want = slurp(path);
	if (ret == 0) {
		ck_assert_msg(want != NULL, "%s missing", path);
		ck_assert_str_eq(res.text, want);
		conf_defaults(&parsed);
		if (conf_parse_buffer(&parsed, path, res.text, res.len, err, sizeof(err)) != 0)
			ck_abort_msg("%s does not parse: %s", path, err);
	} else {
		ck_assert_msg(want == NULL, "%s exists but the input does not convert", path);
	}
	free(want);
	snprintf(path, sizeof(path), "%s/%s.err", dir, name);
	want = slurp(path);
	ck_assert_msg(want != NULL, "%s missing", path);
	ck_assert_str_eq(res.messages, want);
	free(want);
	return ret;
}

START_TEST(test_debian_default_with_phc)
{
	ck_assert_int_eq(golden("debian-phc.chrony"), 0);
	ck_assert_int_eq(res.format, CONVERT_CHRONY);
	ck_assert_str_eq(parsed.device, "/dev/ptp0");
	ck_assert_double_eq(parsed.poll_interval_s, 4);
	ck_assert_int_eq(parsed.readings, 4); /* 2^(2 - 0) samples */
	ck_assert_double_eq(parsed.first_step_threshold_s, 1);
	ck_assert_double_eq(parsed.step_threshold_s, 0);
	ck_assert(parsed.rtcsync);
	ck_assert_str_eq(parsed.leapfile, "/usr/share/zoneinfo/right/UTC");
	ck_assert_str_eq(parsed.driftfile, "/var/lib/phcsyncd/drift");
	ck_assert_int_eq(parsed.timescale, CONF_TIMESCALE_UTC);
	/* The trap of makestep 1 3, and NTP said once. */
	ck_assert_has(res.text, "first 3 clock updates");
	ck_assert_has(res.text, "keep chrony");
	ck_assert_has(res.messages, "no NTP fallback");
	ck_assert_has(res.messages, "confdir: the files it names are not converted");
}
END_TEST

START_TEST(test_aws_ena)
{
	ck_assert_int_eq(golden("aws-ena.chrony"), 0);
	ck_assert_double_eq(parsed.poll_interval_s, 1);
	ck_assert_int_eq(parsed.readings, 1);
	ck_assert_has(res.text, "Not converted: delay");
	ck_assert_has(res.text, "prefer, trust and require");
}
END_TEST

START_TEST(test_kvm_ptp_kvm)
{
	ck_assert_int_eq(golden("kvm-ptp_kvm.chrony"), 0);
	ck_assert_str_eq(parsed.device, "/dev/ptp_kvm");
	ck_assert_int_eq(parsed.readings, 4); /* dpoll -2 at poll 0 */
	ck_assert_double_eq(parsed.first_step_threshold_s, 0.1);
	ck_assert_double_eq(parsed.step_threshold_s, 0.1); /* a negative limit */
	ck_assert_double_eq(parsed.max_offset_panic_s, 1000);
	ck_assert_str_eq(parsed.leapfile, "/usr/share/zoneinfo/leap-seconds.list");
	ck_assert_int_eq(parsed.offset_ns, 0);
	ck_assert_int_eq(res.warnings, 0);
}
END_TEST

START_TEST(test_tai_offset_and_several_sources)
{
	ck_assert_int_eq(golden("tai-offset.chrony"), 0);
	ck_assert_str_eq(parsed.device, "/dev/ptp1"); /* the one that steers */
	ck_assert_int_eq(parsed.timescale, CONF_TIMESCALE_TAI);
	ck_assert_int_eq(parsed.offset_ns, 0);
	ck_assert_int_eq(parsed.leap_mode, CONF_LEAP_SMEAR);
	ck_assert_double_eq(parsed.first_step_threshold_s, 0.5);
	ck_assert_has(res.messages, "offset -37 read as a TAI PHC");
	ck_assert_has(res.messages, "a second refclock PHC: only line 2 is converted");
	ck_assert_has(res.text, "this SHM");
}
END_TEST

START_TEST(test_tai_option_case_and_unknown)
{
	ck_assert_int_eq(golden("tai-option.chrony"), 0);
	ck_assert_int_eq(parsed.timescale, CONF_TIMESCALE_TAI);
	ck_assert_int_eq(parsed.offset_ns, 150000);
	ck_assert_double_eq(parsed.poll_interval_s, 0.5);
	ck_assert_int_eq(parsed.readings, 8);
	/* leapseclist came later: it wins, the earlier leapfile is a comment. */
	ck_assert_str_eq(parsed.leapfile, "/usr/share/zoneinfo/leap-seconds.list");
	ck_assert_has(res.text, "# leapfile /usr/share/zoneinfo/right/UTC   (set again below");
	ck_assert_has(res.text, "readout extended");
	ck_assert_has(res.messages, "unknown chrony directive mystery");
	ck_assert_has(res.messages, "noselect");
}
END_TEST

START_TEST(test_chrony_without_phc)
{
	ck_assert_int_eq(golden("no-phc.chrony"), -EINVAL);
	ck_assert_has(res.messages, "no refclock PHC line");
}
END_TEST

START_TEST(test_chrony_bad_values)
{
	ck_assert_int_eq(golden("bad-values.chrony"), -EINVAL);
	ck_assert_int_eq(res.errors, 4);
	ck_assert_has(res.messages,
		      "bad-values.chrony.in:1: error: refclock poll: expected an integer, got "
		      "\"fast\"");
	ck_assert_has(res.messages,
		      "bad-values.chrony.in:2: error: makestep: expected a threshold");
	ck_assert_has(res.messages, "bad-values.chrony.in:3: error: maxchange: missing value");
	ck_assert_has(res.messages, "bad-values.chrony.in:4: warning: a second refclock PHC");
	ck_assert_has(res.messages, "bad-values.chrony.in:5: error: leapsecmode: expected system");
}
END_TEST

START_TEST(test_phc2sys_basic)
{
	ck_assert_int_eq(golden("basic.phc2sys"), 0);
	ck_assert_int_eq(res.format, CONVERT_PHC2SYS);
	ck_assert_str_eq(parsed.device, "/dev/ptp0");
	ck_assert_int_eq(parsed.timescale, CONF_TIMESCALE_UTC);
	ck_assert_double_eq(parsed.step_threshold_s, 0); /* phc2sys's -S default */
	ck_assert_double_eq(parsed.first_step_threshold_s, 0.00002);
	ck_assert_int_eq(parsed.readings, 10); /* phcsyncd's default: more reads, a cleaner sample */
	ck_assert_double_eq(parsed.poll_interval_s, 1);
	ck_assert_int_eq(res.warnings, 0);
}
END_TEST

START_TEST(test_phc2sys_auto)
{
	ck_assert_int_eq(golden("auto.phc2sys"), -EINVAL);
	ck_assert_has(res.messages, "-a: phc2sys takes its clocks from ptp4l");
}
END_TEST

START_TEST(test_phc2sys_tai_unit)
{
	ck_assert_int_eq(golden("tai.phc2sys"), 0);
	ck_assert_str_eq(parsed.device, "interface:eth0");
	ck_assert_int_eq(parsed.timescale, CONF_TIMESCALE_TAI);
	ck_assert_int_eq(parsed.offset_ns, 0);
	ck_assert_double_eq(parsed.poll_interval_s, 0.25);
	ck_assert_int_eq(parsed.readings, 10);
	ck_assert_double_eq(parsed.step_threshold_s, 0.5);
	ck_assert_double_eq(parsed.summary_interval_s, 15); /* 60 updates at 4 Hz */
}
END_TEST

START_TEST(test_phc2sys_plus37)
{
	ck_assert_int_eq(golden("plus37.phc2sys"), 0);
	ck_assert_int_eq(parsed.offset_ns, 37000000000LL);
	ck_assert_int_eq(parsed.timescale, CONF_TIMESCALE_UTC);
	ck_assert_has(res.messages, "-O 37: a TAI PHC needs -O -37");
}
END_TEST

START_TEST(test_phc2sys_linreg)
{
	ck_assert_int_eq(golden("linreg.phc2sys"), 0);
	ck_assert_int_eq(parsed.servo, SERVO_KALMAN);
	ck_assert_double_eq(parsed.pi_kp, 0); /* -P alone: phc2sys ignores it */
	ck_assert_double_eq(parsed.first_step_threshold_s, 0);
	ck_assert_double_eq(parsed.step_threshold_s, 1);
	ck_assert_has(res.messages, "-P alone");
}
END_TEST

START_TEST(test_phc2sys_bad)
{
	ck_assert_int_eq(golden("bad.phc2sys"), -EINVAL);
	ck_assert_int_eq(res.errors, 3);
	ck_assert_has(res.messages, "bad.phc2sys.in:1: error: -c /dev/ptp1");
	ck_assert_has(res.messages, "bad.phc2sys.in:1: error: -s CLOCK_REALTIME");
	ck_assert_has(res.messages, "bad.phc2sys.in:1: error: -O: expected a whole number");
}
END_TEST

START_TEST(test_detect)
{
	static const struct {
		const char *text;
		enum convert_format want;
	} cases[] = {
		{"refclock PHC /dev/ptp0\n", CONVERT_CHRONY},
		{"# comment\n\n  server a.example\n", CONVERT_CHRONY},
		{"", CONVERT_CHRONY},
		{"phc2sys -s eth0\n", CONVERT_PHC2SYS},
		{"# a comment\n/usr/sbin/phc2sys -a -r\n", CONVERT_PHC2SYS},
		{"-s /dev/ptp0 -O 0\n", CONVERT_PHC2SYS},
		{"ExecStart=/usr/sbin/phc2sys -w -s eth0\n", CONVERT_PHC2SYS},
		{"ExecStart=-/usr/sbin/phc2sys -s eth0\n", CONVERT_PHC2SYS},
		{"OPTIONS=\"-a -r\"\n", CONVERT_PHC2SYS},
		{"OPTIONS='-s eth0'\n", CONVERT_PHC2SYS},
		{"phc2sysx -s eth0\n", CONVERT_CHRONY},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(convert_detect(cases[i].text, strlen(cases[i].text)) == cases[i].want,
			      "case %zu: %s", i, cases[i].text);
}
END_TEST

/* makestep THRESHOLD LIMIT against phcsyncd's two thresholds. */
START_TEST(test_makestep_forms)
{
	static const struct {
		const char *line;
		double first_s, later_s;
	} cases[] = {
		{"makestep 1 3", 1, 0},	       {"makestep 1.0 -1", 1, 1},
		{"makestep 0.1 1", 0.1, 0},    {"makestep 0 3", 1e-9, 0},
		{"makestep 1 0", 0, 0},	       {"makestep 1000 -5", 1000, 1000},
		{"makestep 2e-3 3", 0.002, 0}, {"", 0, 0}, /* none: chronyd never steps */
	};
	char text[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "refclock PHC /dev/ptp0\n%s\n", cases[i].line);
		ck_assert_int_eq(convert(text), 0);
		ck_assert_msg(parsed.first_step_threshold_s == cases[i].first_s &&
				      parsed.step_threshold_s == cases[i].later_s,
			      "%s: %g %g", cases[i].line, parsed.first_step_threshold_s,
			      parsed.step_threshold_s);
	}
}
END_TEST

/*
 * Offsets in seconds, both signs, for chrony's offset and phc2sys's -O: TAI - UTC values
 * with a minus sign mean a TAI PHC; with a plus sign they are kept and flagged; others are
 * kept with their sign; beyond +-1000 s they cannot be.
 */
START_TEST(test_offset_sweep)
{
	for (int chrony = 0; chrony < 2; chrony++) {
		for (long o = -1200; o <= 1200; o++) {
			char text[128];
			bool tai = o <= -10 && o >= -37, flagged = o >= 10 && o <= 37;
			bool beyond = labs(o) > 1000;

			if (labs(o) > 40 && labs(o) % 97 != 0 && labs(o) != 1000 && labs(o) != 1001)
				continue;
			if (chrony)
				snprintf(text, sizeof(text), "refclock PHC /dev/ptp0 offset %ld\n",
					 o);
			else
				snprintf(text, sizeof(text), "phc2sys -s /dev/ptp0 -O %ld\n", o);
			ck_assert_int_eq(convert(text), 0);
			ck_assert_int_eq(parsed.timescale,
					 tai ? CONF_TIMESCALE_TAI : CONF_TIMESCALE_UTC);
			ck_assert_int_eq(parsed.utc_offset_s, tai ? -o : 37);
			ck_assert_int_eq(parsed.offset_ns, tai || beyond ? 0 : o * 1000000000LL);
			ck_assert_int_eq(has(res.messages, "TAI PHC"), tai || flagged);
			ck_assert_int_eq(has(res.messages, "beyond offset_ns"), beyond);
		}
	}
	/* Fractions are kept to the nanosecond, with their sign. */
	ck_assert_int_eq(convert("refclock PHC /dev/ptp0 offset -0.000000123\n"), 0);
	ck_assert_int_eq(parsed.offset_ns, -123);
	ck_assert_int_eq(convert("refclock PHC /dev/ptp0 offset 2.5e-3\n"), 0);
	ck_assert_int_eq(parsed.offset_ns, 2500000);
	ck_assert_int_eq(convert("refclock PHC /dev/ptp0 offset -37.5\n"), 0);
	ck_assert_int_eq(parsed.timescale, CONF_TIMESCALE_UTC);
	ck_assert_int_eq(parsed.offset_ns, -37500000000LL);
	/* tai and an offset: both apply. */
	ck_assert_int_eq(convert("refclock PHC /dev/ptp0 tai offset -37\n"), 0);
	ck_assert_int_eq(parsed.timescale, CONF_TIMESCALE_TAI);
	ck_assert_int_eq(parsed.offset_ns, -37000000000LL);
}
END_TEST

/* Every poll/dpoll pair chrony accepts in a wide range gives a valid poll_interval/readings. */
START_TEST(test_poll_grid)
{
	for (int poll = -10; poll <= 10; poll++) {
		for (int dpoll = -10; dpoll <= 10; dpoll++) {
			for (int filter = 1; filter <= 64; filter *= 4) {
				char text[160];
				int p = poll < -6 ? -6 : poll > 6 ? 6 : poll;
				long per = poll > dpoll ? 1L << (poll - dpoll) : 1;
				long want = per < filter ? per : filter;

				snprintf(text, sizeof(text),
					 "refclock PHC /dev/ptp0 poll %d dpoll %d filter %d\n",
					 poll, dpoll, filter);
				ck_assert_int_eq(convert(text), 0);
				ck_assert_double_eq(parsed.poll_interval_s, ldexp(1, p));
				ck_assert_int_eq(parsed.readings, want > 25 ? 25 : want);
			}
		}
	}
}
END_TEST

START_TEST(test_phc2sys_rates)
{
	static const struct {
		const char *rate;
		double interval_s;
	} cases[] = {{"1", 1},		{"4", 0.25},   {"0.5", 2},	  {"64", 0.015625},
		     {"100", 0.015625}, {"0.001", 64}, {"3", 0.333333333}};
	char text[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "phc2sys -s eth1 -R %s -N 30\n", cases[i].rate);
		ck_assert_int_eq(convert(text), 0);
		ck_assert_double_eq_tol(parsed.poll_interval_s, cases[i].interval_s, 1e-9);
		ck_assert_int_eq(parsed.readings, 25);
	}
}
END_TEST

START_TEST(test_phc2sys_forms)
{
	/* Clustered flags, attached values, long options, quotes, a continuation. */
	ck_assert_int_eq(convert("phc2sys -mq -s/dev/ptp3 -O-37 --first_step_threshold=0.1 "
				 "-P 0.2 -I 0.05\n"),
			 0);
	ck_assert_str_eq(parsed.device, "/dev/ptp3");
	ck_assert_int_eq(parsed.timescale, CONF_TIMESCALE_TAI);
	ck_assert_double_eq(parsed.first_step_threshold_s, 0.1);
	ck_assert_double_eq(parsed.pi_kp, 0.2);
	ck_assert_double_eq(parsed.pi_ki, 0.05);
	ck_assert_int_eq(convert("ExecStart=/usr/sbin/phc2sys -s 'eth0' \\\n  -O \"0\"\n"), 0);
	ck_assert_str_eq(parsed.device, "interface:eth0");
	ck_assert_int_eq(convert("OPTIONS=\"-s /dev/ptp0 -w\"\n"), 0);
	ck_assert_int_eq(parsed.timescale, CONF_TIMESCALE_TAI);
	ck_assert_int_eq(convert("phc2sys -s /dev/ptp0 -E ntpshm -M 1\n"), 0);
	ck_assert_has(res.messages, "-E ntpshm");
	ck_assert_int_eq(convert("phc2sys -s /dev/ptp0 -Z\n"), 0);
	ck_assert_has(res.messages, "-Z: not converted");
	ck_assert_int_eq(convert("phc2sys -s /dev/ptp0 --transportSpecific 1\n"), 0);
	ck_assert_has(res.messages, "--transportSpecific: not converted");
}
END_TEST

START_TEST(test_phc2sys_errors)
{
	static const struct {
		const char *text, *message;
	} cases[] = {
		{"phc2sys -a -rr\n", "-a: phc2sys takes its clocks from ptp4l"},
		{"phc2sys -m\n", "no source clock"},
		{"phc2sys -s CLOCK_REALTIME -c /dev/ptp0\n", "-c /dev/ptp0"},
		{"phc2sys -s CLOCK_TAI\n", "-s CLOCK_TAI: the source must be a PTP hardware clock"},
		{"phc2sys -s a/b\n", "expected a /dev/ptp* path or a network interface"},
		{"phc2sys -s averyveryverylongname0\n", "network interface"},
		{"phc2sys -s /dev/ptp0 -O 1.5\n", "-O: expected a whole number of seconds"},
		{"phc2sys -s /dev/ptp0 -R 0\n", "-R: expected a number from"},
		{"phc2sys -s /dev/ptp0 -N 0\n", "-N: expected an integer from 1"},
		{"phc2sys -s /dev/ptp0 -S -1\n", "-S: expected a number from 0"},
		{"phc2sys -s /dev/ptp0 -E magic\n", "-E: expected pi, linreg"},
		{"phc2sys -s /dev/ptp0 -O\n", "-O: missing value"},
		{"phc2sys -s /dev/ptp0 extra\n", "unexpected argument \"extra\""},
		{"phc2sys -s '/dev/ptp0\n", "unterminated quote"},
		{"phc2sys -s /dev/ptp0\nphc2sys -s /dev/ptp1\n", "in.conf:2: error: expected one "
								 "phc2sys command line"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(convert(cases[i].text) == -EINVAL, "converted: %s", cases[i].text);
		ck_assert_has(res.messages, cases[i].message);
	}
}
END_TEST

START_TEST(test_chrony_errors)
{
	static const struct {
		const char *text, *message;
	} cases[] = {
		{"refclock PHC\n",
		 "in.conf:1: error: refclock: expected a driver and its parameter"},
		{"refclock PHC /dev/ptp0 poll\n", "refclock poll: missing value"},
		{"refclock PHC /dev/ptp0 poll 99\n", "refclock poll: expected an integer from -30"},
		{"refclock PHC /dev/ptp0 offset nan\n", "refclock offset: expected a number"},
		{"refclock PHC /dev/ptp0 filter 0\n",
		 "refclock filter: expected an integer from 1"},
		{"refclock PHC /dev/ptp0\nmakestep 1\n",
		 "in.conf:2: error: makestep: missing value"},
		{"refclock PHC /dev/ptp0\nmakestep -1 3\n", "makestep: expected a threshold"},
		{"refclock PHC /dev/ptp0\nmakestep 1 x\n", "makestep: expected a limit"},
		{"refclock PHC /dev/ptp0\nmaxchange 0 1 2\n", "maxchange: expected an offset"},
		{"refclock PHC /dev/ptp0\nleapsectz\n", "leapsectz: missing value"},
		{"refclock PHC /dev/ptp0:extpps\n", "no refclock PHC line"},
		{"refclock PHC dev/ptp0\n", "refclock PHC: expected a device path starting with /"},
		{"refclock PHC /dev/ptp0\nx\0y\n", "in.conf:2: error: expected text, got a NUL"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].text);

		/* The last case holds a NUL: it is longer than strlen says. */
		if (i == sizeof(cases) / sizeof(cases[0]) - 1)
			len = sizeof("refclock PHC /dev/ptp0\nx\0y\n") - 1;
		convert_result_free(&res);
		ck_assert_msg(convert_text("in.conf", cases[i].text, len, CONVERT_CHRONY, &res) ==
				      -EINVAL,
			      "converted: %s", cases[i].text);
		ck_assert_has(res.messages, cases[i].message);
	}
}
END_TEST

/* Unknown options and directives are comments and warnings, never errors. */
START_TEST(test_unknown_is_not_fatal)
{
	ck_assert_int_eq(convert("refclock PHC /dev/ptp0 poll 1 shiny 3 dpoll -1\n"
				 "frobnicate yes\nserver a.example\npool b.example\n"),
			 0);
	ck_assert_double_eq(parsed.poll_interval_s, 2);
	ck_assert_int_eq(parsed.readings, 2); /* dpoll after the unknown option: not read */
	ck_assert_has(res.messages, "unknown option shiny");
	ck_assert_has(res.messages, "unknown chrony directive frobnicate");
	ck_assert_has(res.text, "No equivalent (see line 3)");
}
END_TEST

/* A deterministic soup of chrony words: every result either converts and parses, or fails. */
START_TEST(test_word_soup)
{
	static const char *const words[] = {
		"refclock", "PHC",	 "/dev/ptp0",	"poll",	      "dpoll",	   "-2",
		"3",	    "offset",	 "-37",		"0.5",	      "tai",	   "noselect",
		"makestep", "1",	 "-1",		"leapsectz",  "right/UTC", "maxchange",
		"rtcsync",  "driftfile", "server",	"x",	      "filter",	   "0",
		"#",	    "\t",	 "leapsecmode", "slew",	      "SHM",	   ":nocrossts",
		"1e999",    "99",	 "pool",	"leapseclist"};
	unsigned seed = 12345;
	char text[1024];

	for (int round = 0; round < 3000; round++) {
		size_t used = 0;

		used += (size_t)snprintf(text, sizeof(text), "refclock PHC /dev/ptp0\n");
		for (int line = 0; line < 4; line++) {
			int n = 1 + (int)((seed = seed * 1103515245 + 12345) >> 16) % 6;

			for (int i = 0; i < n; i++) {
				seed = seed * 1103515245 + 12345;
				used += (size_t)snprintf(
					text + used, sizeof(text) - used, "%s ",
					words[(seed >> 16) % (sizeof(words) / sizeof(words[0]))]);
			}
			used += (size_t)snprintf(text + used, sizeof(text) - used, "\n");
		}
		convert(text);
	}
}
END_TEST

static Suite *convert_suite(void)
{
	Suite *s = suite_create("convert");
	TCase *tc = check_tcase("core", NULL, teardown);

	tcase_add_test(tc, test_debian_default_with_phc);
	tcase_add_test(tc, test_aws_ena);
	tcase_add_test(tc, test_kvm_ptp_kvm);
	tcase_add_test(tc, test_tai_offset_and_several_sources);
	tcase_add_test(tc, test_tai_option_case_and_unknown);
	tcase_add_test(tc, test_chrony_without_phc);
	tcase_add_test(tc, test_chrony_bad_values);
	tcase_add_test(tc, test_phc2sys_basic);
	tcase_add_test(tc, test_phc2sys_auto);
	tcase_add_test(tc, test_phc2sys_tai_unit);
	tcase_add_test(tc, test_phc2sys_plus37);
	tcase_add_test(tc, test_phc2sys_linreg);
	tcase_add_test(tc, test_phc2sys_bad);
	tcase_add_test(tc, test_detect);
	tcase_add_test(tc, test_makestep_forms);
	tcase_add_test(tc, test_offset_sweep);
	tcase_add_test(tc, test_poll_grid);
	tcase_add_test(tc, test_phc2sys_rates);
	tcase_add_test(tc, test_phc2sys_forms);
	tcase_add_test(tc, test_phc2sys_errors);
	tcase_add_test(tc, test_chrony_errors);
	tcase_add_test(tc, test_unknown_is_not_fatal);
	tcase_add_test(tc, test_word_soup);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(convert_suite)
