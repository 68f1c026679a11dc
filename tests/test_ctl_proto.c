/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the control protocol: request parsing, JSON replies parsed back with
 * json-c, and the Prometheus text checked by a strict little parser below.
 */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "phcsync/ctl_proto.h"

#define FFFD "\xef\xbf\xbd"

static void sample_status(struct status *st)
{
	memset(st, 0, sizeof(*st));
	st->version = CTL_PROTO_VERSION;
	snprintf(st->device, sizeof(st->device), "/dev/ptp0");
	snprintf(st->clock_name, sizeof(st->clock_name), "KVM virtual PTP");
	snprintf(st->readout, sizeof(st->readout), "precise");
	st->state = STATUS_LOCKED;
	snprintf(st->servo_state, sizeof(st->servo_state), "locked_stable");
	st->stable = true;
	st->have_sample = true;
	st->last_offset_ns = -1500;
	st->rms_offset_ns = 812.5;
	st->max_offset_ns = 2100.0;
	st->window = 64;
	st->freq_ppb = -12345.678;
	st->delay_ns = 1203;
	st->error_bound_ns = 602;
	st->poll_interval_s = 1.0;
	st->counts.updates = 3600;
	st->counts.steps = 1;
	st->last_step_ns = 1234567890123;
	st->last_step_age_s = 3599.5;
	st->uptime_s = 3601.25;
	st->counts.read_failures = 2;
	st->rejected_bursts = 3;
	st->reopens = 4;
	st->tai_utc_s = 37;
	st->next_leap = 1;
	st->next_leap_utc_s = 1798761600;
	st->leap_expiry_utc_s = 1782604800;
	st->leap_table_expired = false;
	st->leap_smear_ns = -250000000;
	snprintf(st->servo, sizeof(st->servo), "pi");
	st->last_sample_age_s = 0.5;
	st->last_sample_utc_s = 1780000000.25;
	st->freq_residual_ppb = -0.75;
	st->freq_skew_ppb = 0.125;
	st->freq_window = 64;
	snprintf(st->build_version, sizeof(st->build_version), "0.1.0");
	snprintf(st->build_features, sizeof(st->build_features), "+seccomp +libcap +netlink");
}

/* --- request parsing --- */

static int parse(const char *line, enum ctl_command *cmd, char *err, size_t errlen)
{
	return ctl_proto_parse(line, strlen(line), cmd, err, errlen);
}

START_TEST(test_parse_commands)
{
	static const struct {
		const char *line;
		enum ctl_command cmd;
	} good[] = {
		{"status", CTL_CMD_STATUS},	 {"metrics", CTL_CMD_METRICS},
		{"step", CTL_CMD_STEP},		 {"reset", CTL_CMD_RESET},
		{"reload", CTL_CMD_RELOAD},	 {"status\r", CTL_CMD_STATUS},
		{"  status \t", CTL_CMD_STATUS}, {"\tmetrics", CTL_CMD_METRICS},
	};
	char err[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		enum ctl_command cmd = (enum ctl_command) - 1;

		ck_assert_msg(parse(good[i].line, &cmd, err, sizeof(err)) == 0, "%s: %s",
			      good[i].line, err);
		ck_assert_int_eq(cmd, good[i].cmd);
		if (i < 5)
			ck_assert_str_eq(ctl_command_name(cmd), good[i].line);
	}
}
END_TEST

START_TEST(test_parse_unknown)
{
	static const char *const bad[] = {"foo", "Status", "STATUS", "stat", "statusx", "help"};
	enum ctl_command cmd;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(parse(bad[i], &cmd, err, sizeof(err)), -EOPNOTSUPP);
		ck_assert_ptr_nonnull(strstr(err, bad[i]));
		ck_assert_ptr_nonnull(strstr(err, "expected status"));
	}
}
END_TEST

START_TEST(test_parse_unknown_echo_is_bounded)
{
	char line[200], err[256], x33[34];
	enum ctl_command cmd;

	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	memset(x33, 'x', 33);
	x33[33] = '\0';
	ck_assert_int_eq(parse(line, &cmd, err, sizeof(err)), -EOPNOTSUPP);
	ck_assert_ptr_null(strstr(err, x33));
	ck_assert_ptr_nonnull(strstr(err, x33 + 1));
}
END_TEST

START_TEST(test_parse_empty)
{
	enum ctl_command cmd;
	char err[256];

	ck_assert_int_eq(ctl_proto_parse("", 0, &cmd, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "empty request");
	ck_assert_int_eq(parse("  \t ", &cmd, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(parse("\r", &cmd, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(test_parse_arguments_refused)
{
	enum ctl_command cmd;
	char err[256];

	ck_assert_int_eq(parse("status now", &cmd, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "status takes no arguments");
	ck_assert_int_eq(parse("step 1.5", &cmd, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(parse("reload\t/etc/x", &cmd, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(test_parse_too_long)
{
	char line[CTL_REQUEST_MAX + 1];
	enum ctl_command cmd;
	char err[256];

	/* The longest line allowed, blanks then the command, parses. */
	memset(line, ' ', CTL_REQUEST_MAX - 1);
	memcpy(line + CTL_REQUEST_MAX - 1 - 6, "status", 6);
	ck_assert_int_eq(ctl_proto_parse(line, CTL_REQUEST_MAX - 1, &cmd, err, sizeof(err)), 0);
	ck_assert_int_eq(cmd, CTL_CMD_STATUS);
	memset(line, ' ', CTL_REQUEST_MAX);
	memcpy(line + CTL_REQUEST_MAX - 6, "status", 6);
	ck_assert_int_eq(ctl_proto_parse(line, CTL_REQUEST_MAX, &cmd, err, sizeof(err)), -EMSGSIZE);
	ck_assert_ptr_nonnull(strstr(err, "too long"));
}
END_TEST

START_TEST(test_parse_junk)
{
	static const struct {
		const char *line;
		size_t len;
	} junk[] = {
		{"status\0", 7},   {"\0status", 7},   {"st\377atus", 7},    {"status\x1b[0m", 10},
		{"\x7fstatus", 7}, {"status\r\r", 8}, {"status\nstep", 11},
	};
	enum ctl_command cmd = CTL_CMD_METRICS;
	char err[256];

	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		ck_assert_int_eq(ctl_proto_parse(junk[i].line, junk[i].len, &cmd, err, sizeof(err)),
				 -EINVAL);
		ck_assert_ptr_nonnull(strstr(err, "malformed request"));
	}
	ck_assert_int_eq(cmd, CTL_CMD_METRICS);
}
END_TEST

START_TEST(test_privileged_commands)
{
	ck_assert(!ctl_command_privileged(CTL_CMD_STATUS));
	ck_assert(!ctl_command_privileged(CTL_CMD_METRICS));
	ck_assert(ctl_command_privileged(CTL_CMD_STEP));
	ck_assert(ctl_command_privileged(CTL_CMD_RESET));
	ck_assert(ctl_command_privileged(CTL_CMD_RELOAD));
}
END_TEST

/* --- JSON replies --- */

/* One line, newline-terminated, no raw control byte: then parse it. */
static struct json_object *parse_reply(const char *buf, int n)
{
	struct json_object *o, *v;

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq((int)strlen(buf), n);
	ck_assert_int_eq(buf[n - 1], '\n');
	for (int i = 0; i < n - 1; i++)
		ck_assert_msg((unsigned char)buf[i] >= 0x20, "control byte at %d", i);
	o = json_tokener_parse(buf);
	ck_assert_msg(o != NULL, "not JSON: %s", buf);
	ck_assert(json_object_is_type(o, json_type_object));
	ck_assert(json_object_object_get_ex(o, "version", &v));
	ck_assert(json_object_is_type(v, json_type_int));
	ck_assert_int_eq(json_object_get_int(v), CTL_PROTO_VERSION);
	ck_assert(json_object_object_get_ex(o, "ok", &v));
	ck_assert(json_object_is_type(v, json_type_boolean));
	return o;
}

static struct json_object *field(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no field %s", key);
	return v;
}

static bool is_null(struct json_object *o, const char *key)
{
	return field(o, key) == NULL;
}

static int64_t int_field(struct json_object *o, const char *key)
{
	struct json_object *v = field(o, key);

	ck_assert_msg(json_object_is_type(v, json_type_int), "%s is not an integer", key);
	return json_object_get_int64(v);
}

static double num_field(struct json_object *o, const char *key)
{
	struct json_object *v = field(o, key);

	ck_assert_msg(json_object_is_type(v, json_type_double) ||
			      json_object_is_type(v, json_type_int),
		      "%s is not a number", key);
	return json_object_get_double(v);
}

static const char *str_field(struct json_object *o, const char *key)
{
	struct json_object *v = field(o, key);

	ck_assert_msg(json_object_is_type(v, json_type_string), "%s is not a string", key);
	return json_object_get_string(v);
}

static bool bool_field(struct json_object *o, const char *key)
{
	struct json_object *v = field(o, key);

	ck_assert_msg(json_object_is_type(v, json_type_boolean), "%s is not a boolean", key);
	return json_object_get_boolean(v);
}

START_TEST(test_status_fields)
{
	char buf[CTL_REPLY_MAX];
	struct status st;
	struct json_object *o;

	sample_status(&st);
	o = parse_reply(buf, ctl_proto_reply_status(&st, buf, sizeof(buf)));
	ck_assert(bool_field(o, "ok"));
	ck_assert_str_eq(str_field(o, "device"), "/dev/ptp0");
	ck_assert_str_eq(str_field(o, "clock_name"), "KVM virtual PTP");
	ck_assert_str_eq(str_field(o, "readout"), "precise");
	ck_assert_str_eq(str_field(o, "state"), "locked");
	ck_assert_str_eq(str_field(o, "servo_state"), "locked_stable");
	ck_assert(!bool_field(o, "observe_only"));
	ck_assert(bool_field(o, "stable"));
	ck_assert(bool_field(o, "have_sample"));
	ck_assert_int_eq(int_field(o, "last_offset_ns"), -1500);
	/* Keys ending in _ns are integers: 812.5 rounds away from zero. */
	ck_assert_int_eq(int_field(o, "rms_offset_ns"), 813);
	ck_assert_int_eq(int_field(o, "max_offset_ns"), 2100);
	ck_assert_int_eq(int_field(o, "window_updates"), 64);
	ck_assert_double_eq_tol(num_field(o, "freq_ppb"), -12345.678, 1e-9);
	ck_assert_int_eq(int_field(o, "delay_ns"), 1203);
	ck_assert_int_eq(int_field(o, "error_bound_ns"), 602);
	ck_assert_double_eq(num_field(o, "poll_interval_s"), 1.0);
	ck_assert_int_eq(int_field(o, "updates"), 3600);
	ck_assert_int_eq(int_field(o, "steps"), 1);
	ck_assert_int_eq(int_field(o, "last_step_ns"), 1234567890123);
	ck_assert_double_eq(num_field(o, "last_step_age_s"), 3599.5);
	ck_assert_double_eq(num_field(o, "uptime_s"), 3601.25);
	ck_assert_int_eq(int_field(o, "read_failures"), 2);
	ck_assert_int_eq(int_field(o, "rejected_bursts"), 3);
	ck_assert_int_eq(int_field(o, "reopens"), 4);
	ck_assert_int_eq(int_field(o, "tai_utc_s"), 37);
	ck_assert_int_eq(int_field(o, "next_leap"), 1);
	ck_assert_int_eq(int_field(o, "next_leap_utc_s"), 1798761600);
	ck_assert_int_eq(int_field(o, "leap_expiry_utc_s"), 1782604800);
	ck_assert(!bool_field(o, "leap_table_expired"));
	ck_assert_str_eq(str_field(o, "servo"), "pi");
	ck_assert_double_eq(num_field(o, "last_sample_age_s"), 0.5);
	ck_assert_double_eq(num_field(o, "last_sample_utc_s"), 1780000000.25);
	ck_assert_double_eq(num_field(o, "freq_residual_ppb"), -0.75);
	ck_assert_double_eq(num_field(o, "freq_skew_ppb"), 0.125);
	ck_assert_int_eq(int_field(o, "freq_window"), 64);
	ck_assert_str_eq(str_field(o, "daemon_version"), "0.1.0");
	ck_assert_str_eq(str_field(o, "features"), "+seccomp +libcap +netlink");
	ck_assert(!bool_field(o, "vmclock"));
	ck_assert(!json_object_object_get_ex(o, "vmclock_marker", NULL));
	/* Every field above and the envelope, nothing else. */
	ck_assert_int_eq(json_object_object_length(o), 2 + 47);
	ck_assert_int_eq(int_field(o, "leap_smear_ns"), -250000000);
	json_object_put(o);
}
END_TEST

START_TEST(test_status_unknowns_are_null)
{
	char buf[CTL_REPLY_MAX];
	struct status st;
	struct json_object *o;

	sample_status(&st);
	st.have_sample = false;
	st.counts.steps = 0;
	st.last_step_age_s = -1.0;
	st.tai_utc_s = -1;
	st.next_leap = 0;
	st.leap_expiry_utc_s = 0;
	st.freq_ppb = NAN;
	st.uptime_s = INFINITY;
	st.state = STATUS_FAULT;
	st.last_sample_age_s = -1.0;
	st.freq_window = 2;
	o = parse_reply(buf, ctl_proto_reply_status(&st, buf, sizeof(buf)));
	ck_assert(is_null(o, "last_sample_age_s"));
	ck_assert(is_null(o, "last_sample_utc_s"));
	ck_assert(is_null(o, "freq_residual_ppb"));
	ck_assert(is_null(o, "freq_skew_ppb"));
	ck_assert_str_eq(str_field(o, "state"), "fault");
	ck_assert(is_null(o, "last_offset_ns"));
	ck_assert(is_null(o, "rms_offset_ns"));
	ck_assert(is_null(o, "max_offset_ns"));
	ck_assert(is_null(o, "delay_ns"));
	ck_assert(is_null(o, "error_bound_ns"));
	ck_assert(is_null(o, "last_step_ns"));
	ck_assert(is_null(o, "last_step_age_s"));
	ck_assert(is_null(o, "tai_utc_s"));
	ck_assert(is_null(o, "next_leap_utc_s"));
	ck_assert(is_null(o, "leap_expiry_utc_s"));
	ck_assert(is_null(o, "freq_ppb"));
	ck_assert(is_null(o, "uptime_s"));
	ck_assert_int_eq(int_field(o, "steps"), 0);
	json_object_put(o);
}
END_TEST

/* Every key ending in _ns is an integer or null, as phcsyncctl(8) says, whatever the
 * figures: fractions, halves of both signs, huge and non-finite values, unknowns. */
static void assert_ns_integers(const struct status *st)
{
	char buf[CTL_REPLY_MAX];
	struct json_object *o = parse_reply(buf, ctl_proto_reply_status(st, buf, sizeof(buf)));
	int seen = 0;

	json_object_object_foreach(o, key, v)
	{
		size_t n = strlen(key);

		if (n < 3 || strcmp(key + n - 3, "_ns") != 0)
			continue;
		seen++;
		ck_assert_msg(json_object_is_type(v, json_type_int) ||
				      json_object_is_type(v, json_type_null),
			      "%s is %s", key, json_type_to_name(json_object_get_type(v)));
	}
	/* last_offset, rms_offset, max_offset, delay, error_bound, last_step, leap_smear,
	 * max_error, slew_remaining */
	ck_assert_int_eq(seen, 9);
	json_object_put(o);
}

START_TEST(test_ns_keys_are_integers)
{
	static const double odd[] = {0.5,  -0.5,  1.4999, -2.5,	   1e15 + 0.5,
				     1e19, -1e19, NAN,	  INFINITY};
	struct status st;

	sample_status(&st);
	assert_ns_integers(&st);
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		st.rms_offset_ns = odd[i];
		st.max_offset_ns = -odd[i];
		assert_ns_integers(&st);
	}
	st.have_sample = false;
	assert_ns_integers(&st);
}
END_TEST

START_TEST(test_odd_names_escaped)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"a\"b\\c", "a\"b\\c"},
		{"tab\tnl\ncr\rbell\007del\177", "tab\tnl\ncr\rbell\007del\177"},
		{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x95\x90",
		 "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x95\x90"},
		{"bad\xff", "bad" FFFD},
		{"overlong\xc0\xaf", "overlong" FFFD FFFD},
		{"surrogate\xed\xa0\x80", "surrogate" FFFD FFFD FFFD},
		{"cut\xe2\x82", "cut" FFFD FFFD},
		{"big\xf4\x90\x80\x80", "big" FFFD FFFD FFFD FFFD},
		{"</script>\\u0000", "</script>\\u0000"},
	};
	char buf[CTL_REPLY_MAX];
	struct status st;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *o;

		sample_status(&st);
		snprintf(st.device, sizeof(st.device), "%s", cases[i].in);
		snprintf(st.clock_name, sizeof(st.clock_name), "%s", cases[i].in);
		o = parse_reply(buf, ctl_proto_reply_status(&st, buf, sizeof(buf)));
		ck_assert_str_eq(str_field(o, "device"), cases[i].out);
		ck_assert_str_eq(str_field(o, "clock_name"), cases[i].out);
		json_object_put(o);
	}
}
END_TEST

/* The exact bytes each format writes: JSON escapes every control, Prometheus only \n. */
START_TEST(test_escapes_exact)
{
	char buf[CTL_REPLY_MAX];
	struct status st;

	sample_status(&st);
	snprintf(st.device, sizeof(st.device), "a\"\\\n\t\001\037\177z");
	ck_assert_int_gt(ctl_proto_reply_status(&st, buf, sizeof(buf)), 0);
	ck_assert_ptr_nonnull(strstr(buf, "\"device\":\"a\\\"\\\\\\n\\t\\u0001\\u001f\\u007fz\""));
	ck_assert_int_gt(ctl_proto_prometheus(&st, buf, sizeof(buf)), 0);
	ck_assert_ptr_nonnull(strstr(buf, "{device=\"a\\\"\\\\\\n\t\001\037\177z\","));
}
END_TEST

START_TEST(test_unterminated_names_bounded)
{
	char buf[CTL_REPLY_MAX];
	struct status st;
	struct json_object *o;

	sample_status(&st);
	memset(st.device, 'd', sizeof(st.device));
	memset(st.readout, 'r', sizeof(st.readout));
	o = parse_reply(buf, ctl_proto_reply_status(&st, buf, sizeof(buf)));
	ck_assert_uint_eq(strlen(str_field(o, "device")), sizeof(st.device));
	ck_assert_uint_eq(strlen(str_field(o, "readout")), sizeof(st.readout));
	ck_assert_str_eq(str_field(o, "clock_name"), "KVM virtual PTP");
	json_object_put(o);
}
END_TEST

/* Names that cost the most bytes once escaped, twice for metrics. */
static void worst_status(struct status *st)
{
	sample_status(st);
	memset(st->device, 0x01, sizeof(st->device) - 1);
	st->device[sizeof(st->device) - 1] = '\0';
	memset(st->clock_name, '"', sizeof(st->clock_name) - 1);
	st->clock_name[sizeof(st->clock_name) - 1] = '\0';
	memset(st->readout, 0x02, sizeof(st->readout) - 1);
	st->readout[sizeof(st->readout) - 1] = '\0';
	memset(st->servo_state, 0x03, sizeof(st->servo_state) - 1);
	st->servo_state[sizeof(st->servo_state) - 1] = '\0';
}

START_TEST(test_worst_case_fits)
{
	char buf[CTL_REPLY_MAX];
	struct status st;
	int n;

	worst_status(&st);
	n = ctl_proto_reply_status(&st, buf, sizeof(buf));
	json_object_put(parse_reply(buf, n));
	n = ctl_proto_reply_metrics(&st, buf, sizeof(buf));
	json_object_put(parse_reply(buf, n));
	/* The margin the header promises. */
	ck_assert_int_lt(n, CTL_REPLY_MAX / 2);
	sample_status(&st);
	st.have_sample = true;
	st.last_offset_ns = INT64_MIN;
	n = ctl_proto_reply_metrics(&st, buf, sizeof(buf));
	json_object_put(parse_reply(buf, n));
}
END_TEST

START_TEST(test_small_buffer)
{
	char full[CTL_REPLY_MAX], buf[CTL_REPLY_MAX];
	struct status st;
	int n;

	sample_status(&st);
	n = ctl_proto_reply_status(&st, full, sizeof(full));
	ck_assert_int_gt(n, 0);
	/* Every size short of the reply and its NUL fails cleanly; the exact size works. */
	for (int len = 0; len <= n; len++) {
		memset(buf, 'X', sizeof(buf));
		ck_assert_int_eq(ctl_proto_reply_status(&st, buf, (size_t)len), -ENOSPC);
		ck_assert_int_eq(buf[len], 'X');
		if (len)
			ck_assert_int_eq(buf[0], '\0');
	}
	ck_assert_int_eq(ctl_proto_reply_status(&st, buf, (size_t)n + 1), n);
	ck_assert_str_eq(buf, full);
	ck_assert_int_eq(ctl_proto_reply_metrics(&st, buf, 100), -ENOSPC);
	ck_assert_int_eq(ctl_proto_prometheus(&st, buf, 100), -ENOSPC);
	ck_assert_int_eq(ctl_proto_reply_error("x", buf, 10), -ENOSPC);
}
END_TEST

START_TEST(test_ok_and_error_replies)
{
	char buf[512];
	struct json_object *o;

	o = parse_reply(buf, ctl_proto_reply_ok("", buf, sizeof(buf)));
	ck_assert(bool_field(o, "ok"));
	ck_assert_int_eq(json_object_object_length(o), 2);
	json_object_put(o);
	o = parse_reply(buf, ctl_proto_reply_ok("stepped by +1.5 s", buf, sizeof(buf)));
	ck_assert_str_eq(str_field(o, "message"), "stepped by +1.5 s");
	json_object_put(o);
	o = parse_reply(buf, ctl_proto_reply_error("no \"such\"\n\\thing", buf, sizeof(buf)));
	ck_assert(!bool_field(o, "ok"));
	ck_assert_str_eq(str_field(o, "error"), "no \"such\"\n\\thing");
	json_object_put(o);
}
END_TEST

/* --- Prometheus text --- */

#define PROM_MAX_FAMILIES 64
#define PROM_MAX_SERIES 256

static bool name_ok(const char *s, size_t n, bool colon)
{
	if (!n || !(isalpha((unsigned char)s[0]) || s[0] == '_' || (colon && s[0] == ':')))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || (colon && s[i] == ':')))
			return false;
	return true;
}

static bool value_ok(const char *s)
{
	char *end;

	if (!strcmp(s, "NaN") || !strcmp(s, "+Inf") || !strcmp(s, "-Inf"))
		return true;
	if (!*s || isspace((unsigned char)*s))
		return false;
	strtod(s, &end);
	return !*end;
}

struct family {
	char name[128];
	char type[16];
	bool help, samples, closed;
};

struct prom {
	struct family fam[PROM_MAX_FAMILIES];
	int nfam;
	char series[PROM_MAX_SERIES][1024];
	int nseries;
	int cur; /* family of the previous sample, -1: none */
};

static struct family *family(struct prom *p, const char *name, size_t n)
{
	for (int i = 0; i < p->nfam; i++)
		if (strlen(p->fam[i].name) == n && !memcmp(p->fam[i].name, name, n))
			return &p->fam[i];
	if (p->nfam == PROM_MAX_FAMILIES || n >= sizeof(p->fam[0].name))
		return NULL;
	memcpy(p->fam[p->nfam].name, name, n);
	p->fam[p->nfam].name[n] = '\0';
	return &p->fam[p->nfam++];
}

/* Label set `{a="x",b="y"}` at s; returns the length, or 0 if malformed or names repeat. */
static size_t labels_ok(const char *s)
{
	char seen[8][64];
	int nseen = 0;
	size_t i = 1;

	if (s[i] == '}')
		return 0; /* empty braces: legal but never written by us */
	for (;;) {
		size_t start = i;

		while (isalnum((unsigned char)s[i]) || s[i] == '_')
			i++;
		if (!name_ok(s + start, i - start, false) || i - start >= 64 || nseen == 8)
			return 0;
		for (int k = 0; k < nseen; k++)
			if (strlen(seen[k]) == i - start && !memcmp(seen[k], s + start, i - start))
				return 0;
		memcpy(seen[nseen], s + start, i - start);
		seen[nseen++][i - start] = '\0';
		if (s[i++] != '=' || s[i++] != '"')
			return 0;
		while (s[i] != '"') {
			if (!s[i] || s[i] == '\n')
				return 0;
			if (s[i] == '\\') {
				i++;
				if (s[i] != '\\' && s[i] != '"' && s[i] != 'n')
					return 0;
			}
			i++;
		}
		i++;
		if (s[i] == '}')
			return i + 1;
		if (s[i++] != ',')
			return 0;
	}
}

/* NULL when text is valid by our strict reading of the exposition format, else why not. */
static const char *prom_check(const char *text, struct prom *p)
{
	static char why[256];
	const char *line = text;
	int lineno = 0;

	memset(p, 0, sizeof(*p));
	p->cur = -1;
	if (!*text || text[strlen(text) - 1] != '\n')
		return "does not end with a newline";
	while (*line) {
		const char *nl = strchr(line, '\n');
		char buf[2048];
		size_t len = (size_t)(nl - line), nlen;
		struct family *f;

		lineno++;
		if (len >= sizeof(buf) || len == 0)
			goto bad;
		memcpy(buf, line, len);
		buf[len] = '\0';
		line = nl + 1;
		if (!strncmp(buf, "# HELP ", 7) || !strncmp(buf, "# TYPE ", 7)) {
			const char *name = buf + 7, *sp = strchr(name, ' ');

			if (!sp || !name_ok(name, (size_t)(sp - name), true) || !sp[1])
				goto bad;
			f = family(p, name, (size_t)(sp - name));
			if (!f || f->samples || f->closed)
				goto bad;
			if (buf[2] == 'H') {
				if (f->help)
					goto bad;
				f->help = true;
			} else {
				if (f->type[0] ||
				    (strcmp(sp + 1, "counter") && strcmp(sp + 1, "gauge") &&
				     strcmp(sp + 1, "histogram") && strcmp(sp + 1, "summary") &&
				     strcmp(sp + 1, "untyped")))
					goto bad;
				snprintf(f->type, sizeof(f->type), "%s", sp + 1);
			}
			continue;
		}
		if (buf[0] == '#')
			goto bad;
		nlen = strcspn(buf, "{ ");
		if (!name_ok(buf, nlen, true) || strncmp(buf, "phcsync_", 8))
			goto bad;
		f = family(p, buf, nlen);
		if (!f || !f->help || !f->type[0] || f->closed)
			goto bad;
		if (!strcmp(f->type, "counter") &&
		    (nlen < 6 || strncmp(buf + nlen - 6, "_total", 6)))
			goto bad;
		if (buf[nlen] == '{') {
			size_t l = labels_ok(buf + nlen);

			if (!l)
				goto bad;
			nlen += l;
		}
		if (buf[nlen] != ' ' || !value_ok(buf + nlen + 1))
			goto bad;
		/* A family's samples are one group: once another starts, it is closed. */
		if (p->cur >= 0 && &p->fam[p->cur] != f)
			p->fam[p->cur].closed = true;
		p->cur = (int)(f - p->fam);
		f->samples = true;
		for (int i = 0; i < p->nseries; i++)
			if (strlen(p->series[i]) == nlen && !memcmp(p->series[i], buf, nlen))
				goto bad;
		if (p->nseries == PROM_MAX_SERIES || nlen >= sizeof(p->series[0]))
			goto bad;
		memcpy(p->series[p->nseries], buf, nlen);
		p->series[p->nseries++][nlen] = '\0';
	}
	return NULL;
bad:
	snprintf(why, sizeof(why), "line %d is invalid", lineno);
	return why;
}

/* The value of the sample whose name and labels are exactly series, or NULL. */
static const char *prom_value(const char *text, const char *series)
{
	static char value[64];
	size_t n = strlen(series);
	const char *line = text;

	while (*line) {
		const char *nl = strchr(line, '\n');

		if (!strncmp(line, series, n) && line[n] == ' ') {
			snprintf(value, sizeof(value), "%.*s", (int)(nl - line - (long)n - 1),
				 line + n + 1);
			return value;
		}
		line = nl + 1;
	}
	return NULL;
}

START_TEST(test_checker_rejects)
{
	static const char *const bad[] = {
		"phcsync_x 1\n",
		"# HELP phcsync_x h\n# TYPE phcsync_x gauge\nphcsync_x one\n",
		"# HELP phcsync_x h\n# TYPE phcsync_x gauge\nphcsync_x 1\nphcsync_x 2\n",
		"# HELP phcsync_x h\n# TYPE phcsync_x gauges\nphcsync_x 1\n",
		"# HELP phcsync_x h\n# TYPE phcsync_x counter\nphcsync_x 1\n",
		"# HELP phcsync_x h\n# TYPE phcsync_x gauge\nphcsync_x{a=\"1\",a=\"2\"} 1\n",
		"# HELP phcsync_x h\n# TYPE phcsync_x gauge\nphcsync_x{a=\"\\t\"} 1\n",
		"# HELP phcsync_x h\n# TYPE phcsync_x gauge\nphcsync_x{1a=\"\"} 1\n",
		"# HELP phcsync_x h\n# TYPE phcsync_x gauge\nphcsync_x 1",
		/* A family that comes back after another one. */
		("# HELP phcsync_x h\n# TYPE phcsync_x gauge\nphcsync_x 1\n"
		 "# HELP phcsync_y h\n# TYPE phcsync_y gauge\nphcsync_y 1\nphcsync_x{a=\"b\"} 1\n"),
		"# HELP phcsync-x h\n# TYPE phcsync-x gauge\nphcsync-x 1\n",
	};
	static struct prom p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(prom_check(bad[i], &p) != NULL, "accepted case %zu", i);
	ck_assert_ptr_null(prom_check("# HELP phcsync_x h\n# TYPE phcsync_x gauge\n"
				      "phcsync_x{a=\"\\\"\\n\\\\\"} -1.5e-09\n",
				      &p));
}
END_TEST

START_TEST(test_prometheus_valid)
{
	static struct prom p;
	char text[CTL_REPLY_MAX];
	struct status st;
	const char *why;
	int ones = 0;

	sample_status(&st);
	ck_assert_int_gt(ctl_proto_prometheus(&st, text, sizeof(text)), 0);
	why = prom_check(text, &p);
	ck_assert_msg(why == NULL, "%s in:\n%s", why, text);
	ck_assert_str_eq(prom_value(text, "phcsync_info{device=\"/dev/ptp0\",clock_name=\"KVM "
					  "virtual PTP\",readout=\"precise\",servo=\"pi\"}"),
			 "1");
	ck_assert_str_eq(prom_value(text, "phcsync_build_info{version=\"0.1.0\",features=\""
					  "+seccomp +libcap +netlink\"}"),
			 "1");
	ck_assert_str_eq(prom_value(text, "phcsync_last_update_timestamp_seconds"),
			 "1780000000.25");
	ck_assert_double_eq_tol(strtod(prom_value(text, "phcsync_frequency_residual_ratio"), NULL),
				-0.75e-9, 1e-20);
	ck_assert_double_eq_tol(strtod(prom_value(text, "phcsync_frequency_skew_ratio"), NULL),
				0.125e-9, 1e-20);
	ck_assert_str_eq(prom_value(text, "phcsync_disruptions_total"), "0");
	for (int s = STATUS_UNLOCKED; s <= STATUS_FAULT; s++) {
		char series[64];
		const char *v;

		snprintf(series, sizeof(series), "phcsync_state{state=\"%s\"}",
			 status_state_name((enum status_state)s));
		v = prom_value(text, series);
		ck_assert_ptr_nonnull(v);
		ones += !strcmp(v, "1");
		ck_assert_str_eq(v, s == STATUS_LOCKED ? "1" : "0");
	}
	ck_assert_int_eq(ones, 1);
	ck_assert_str_eq(prom_value(text, "phcsync_offset_seconds"), "-0.000001500");
	ck_assert_str_eq(prom_value(text, "phcsync_last_step_seconds"), "1234.567890123");
	ck_assert_double_eq_tol(strtod(prom_value(text, "phcsync_offset_rms_seconds"), NULL),
				812.5e-9, 1e-18);
	ck_assert_double_eq_tol(
		strtod(prom_value(text, "phcsync_frequency_adjustment_ratio"), NULL), -12345.678e-9,
		1e-15);
	ck_assert_str_eq(prom_value(text, "phcsync_updates_total"), "3600");
	ck_assert_str_eq(prom_value(text, "phcsync_tai_offset_seconds"), "37");
	ck_assert_str_eq(prom_value(text, "phcsync_leap_next_timestamp_seconds"), "1798761600");
}
END_TEST

START_TEST(test_prometheus_odd_values)
{
	static struct prom p;
	char text[CTL_REPLY_MAX];
	struct status st;
	const char *why;

	sample_status(&st);
	snprintf(st.device, sizeof(st.device), "/dev/\"ptp\\0\"\nx\xff");
	st.freq_ppb = NAN;
	st.uptime_s = -INFINITY;
	st.have_sample = false;
	st.counts.steps = 0;
	st.last_step_age_s = -1.0;
	st.tai_utc_s = -1;
	st.next_leap = 0;
	st.leap_expiry_utc_s = 0;
	st.last_offset_ns = INT64_MIN;
	ck_assert_int_gt(ctl_proto_prometheus(&st, text, sizeof(text)), 0);
	why = prom_check(text, &p);
	ck_assert_msg(why == NULL, "%s in:\n%s", why, text);
	ck_assert_ptr_nonnull(strstr(text, "device=\"/dev/\\\"ptp\\\\0\\\"\\nx" FFFD "\""));
	ck_assert_str_eq(prom_value(text, "phcsync_frequency_adjustment_ratio"), "NaN");
	ck_assert_str_eq(prom_value(text, "phcsync_uptime_seconds"), "-Inf");
	/* Metrics without a value are left out rather than reported as 0. */
	ck_assert_ptr_null(strstr(text, "phcsync_offset_seconds"));
	ck_assert_ptr_null(strstr(text, "phcsync_read_delay_seconds"));
	ck_assert_ptr_null(strstr(text, "phcsync_last_step_seconds"));
	ck_assert_ptr_null(strstr(text, "phcsync_tai_offset_seconds"));
	ck_assert_ptr_null(strstr(text, "phcsync_leap_next_timestamp_seconds"));
	ck_assert_ptr_null(strstr(text, "phcsync_leap_table_expiry_timestamp_seconds"));
	st.last_sample_age_s = -1.0;
	st.freq_window = 0;
	ck_assert_int_gt(ctl_proto_prometheus(&st, text, sizeof(text)), 0);
	ck_assert_ptr_null(strstr(text, "phcsync_last_update_timestamp_seconds"));
	ck_assert_ptr_null(strstr(text, "phcsync_frequency_residual_ratio"));
	ck_assert_ptr_null(strstr(text, "phcsync_frequency_skew_ratio"));
	ck_assert_str_eq(prom_value(text, "phcsync_steps_total"), "0");

	/* The extreme offset is still exact. */
	st.have_sample = true;
	ck_assert_int_gt(ctl_proto_prometheus(&st, text, sizeof(text)), 0);
	ck_assert_ptr_null(prom_check(text, &p));
	ck_assert_str_eq(prom_value(text, "phcsync_offset_seconds"), "-9223372036.854775808");
}
END_TEST

START_TEST(test_metrics_reply_carries_text)
{
	static struct prom p;
	char text[CTL_REPLY_MAX], buf[CTL_REPLY_MAX];
	struct status st;
	struct json_object *o;
	int n;

	worst_status(&st);
	n = ctl_proto_prometheus(&st, text, sizeof(text));
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_null(prom_check(text, &p));
	o = parse_reply(buf, ctl_proto_reply_metrics(&st, buf, sizeof(buf)));
	ck_assert(bool_field(o, "ok"));
	ck_assert_str_eq(str_field(o, "metrics"), text);
	ck_assert_int_eq(json_object_get_string_len(field(o, "metrics")), n);
	json_object_put(o);
}
END_TEST

/* The vmclock device in status and metrics: its fields only when there is one. */
START_TEST(test_vmclock_fields)
{
	static struct prom p;
	char buf[CTL_REPLY_MAX], text[CTL_REPLY_MAX];
	const char *why;
	struct status st;
	struct json_object *o;

	sample_status(&st);
	st.vmclock_present = true;
	st.vmclock_good = true;
	snprintf(st.vmclock_device, sizeof(st.vmclock_device), "/dev/vmclock0");
	snprintf(st.vmclock_status, sizeof(st.vmclock_status), "synchronized");
	snprintf(st.vmclock_flags, sizeof(st.vmclock_flags), "soon,generation,notify");
	st.vmclock_marker = 0xfedcba9876543210ull; /* beyond INT64_MAX: a string */
	st.vmclock_generation = 3;
	st.vmclock_disruptions = 2;
	st.vmclock_restores = 1;
	st.vmclock_bad_reads = 5;
	o = parse_reply(buf, ctl_proto_reply_status(&st, buf, sizeof(buf)));
	ck_assert(bool_field(o, "vmclock"));
	ck_assert(bool_field(o, "vmclock_good"));
	ck_assert_str_eq(str_field(o, "vmclock_device"), "/dev/vmclock0");
	ck_assert_str_eq(str_field(o, "vmclock_status"), "synchronized");
	ck_assert_str_eq(str_field(o, "vmclock_flags"), "soon,generation,notify");
	ck_assert_str_eq(str_field(o, "vmclock_marker"), "0xfedcba9876543210");
	ck_assert_int_eq(int_field(o, "vmclock_generation"), 3);
	ck_assert_int_eq(int_field(o, "vmclock_disruptions"), 2);
	ck_assert_int_eq(int_field(o, "vmclock_restores"), 1);
	ck_assert_int_eq(int_field(o, "vmclock_bad_reads"), 5);
	ck_assert_int_eq(json_object_object_length(o), 2 + 47 + 9);
	json_object_put(o);
	ck_assert_int_gt(ctl_proto_prometheus(&st, text, sizeof(text)), 0);
	why = prom_check(text, &p);
	ck_assert_msg(why == NULL, "%s in:\n%s", why, text);
	ck_assert_str_eq(prom_value(text, "phcsync_vmclock_info{device=\"/dev/vmclock0\","
					  "clock_status=\"synchronized\",flags=\"soon,generation,"
					  "notify\"}"),
			 "1");
	ck_assert_str_eq(prom_value(text, "phcsync_vmclock_disruptions_total"), "2");
	ck_assert_str_eq(prom_value(text, "phcsync_vmclock_restores_total"), "1");
	ck_assert_str_eq(prom_value(text, "phcsync_vmclock_bad_reads_total"), "5");
	ck_assert_str_eq(prom_value(text, "phcsync_vmclock_good"), "1");
	/* Without a device no vmclock series at all. */
	st.vmclock_present = false;
	ck_assert_int_gt(ctl_proto_prometheus(&st, text, sizeof(text)), 0);
	ck_assert_ptr_null(strstr(text, "vmclock"));
}
END_TEST

static Suite *ctl_proto_suite(void)
{
	Suite *s = suite_create("ctl_proto");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_parse_commands);
	tcase_add_test(tc, test_parse_unknown);
	tcase_add_test(tc, test_parse_unknown_echo_is_bounded);
	tcase_add_test(tc, test_parse_empty);
	tcase_add_test(tc, test_parse_arguments_refused);
	tcase_add_test(tc, test_parse_too_long);
	tcase_add_test(tc, test_parse_junk);
	tcase_add_test(tc, test_privileged_commands);
	suite_add_tcase(s, tc);
	tc = tcase_create("json");
	tcase_add_test(tc, test_status_fields);
	tcase_add_test(tc, test_vmclock_fields);
	tcase_add_test(tc, test_status_unknowns_are_null);
	tcase_add_test(tc, test_ns_keys_are_integers);
	tcase_add_test(tc, test_odd_names_escaped);
	tcase_add_test(tc, test_escapes_exact);
	tcase_add_test(tc, test_unterminated_names_bounded);
	tcase_add_test(tc, test_worst_case_fits);
	tcase_add_test(tc, test_small_buffer);
	tcase_add_test(tc, test_ok_and_error_replies);
	suite_add_tcase(s, tc);
	tc = tcase_create("prometheus");
	tcase_add_test(tc, test_checker_rejects);
	tcase_add_test(tc, test_prometheus_valid);
	tcase_add_test(tc, test_prometheus_odd_values);
	tcase_add_test(tc, test_metrics_reply_carries_text);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(ctl_proto_suite)
