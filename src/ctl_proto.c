/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control protocol: request parsing and reply formatting, no I/O.
 *
 * Device and clock names are user data: they are written as valid UTF-8 whatever their
 * bytes (an invalid byte becomes U+FFFD), so that every JSON parser and Prometheus scraper
 * accepts the reply. Non-finite numbers are JSON null, never "nan".
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "phcsync/ctl_proto.h"
#include "phcsync/units.h"

static const char *const command_names[] = {
	[CTL_CMD_STATUS] = "status", [CTL_CMD_METRICS] = "metrics", [CTL_CMD_STEP] = "step",
	[CTL_CMD_RESET] = "reset",   [CTL_CMD_RELOAD] = "reload",
};

/* A bounded output buffer: writes past the end are dropped and remembered. */
struct out {
	char *buf;
	size_t len;
	size_t cap;
	bool full;
};

static void out_init(struct out *o, char *buf, size_t cap)
{
	o->buf = buf;
	o->len = 0;
	o->cap = cap;
	o->full = cap == 0;
}

static void out_bytes(struct out *o, const char *s, size_t n)
{
	/* One byte stays free for the NUL. */
	if (o->full || n >= o->cap - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void out_str(struct out *o, const char *s)
{
	out_bytes(o, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->full = true;
	else
		o->len += (size_t)n;
}

static int out_end(struct out *o)
{
	if (o->full) {
		if (o->cap)
			o->buf[0] = '\0';
		return -ENOSPC;
	}
	o->buf[o->len] = '\0';
	return (int)o->len;
}

/* Length of the well-formed UTF-8 sequence (RFC 3629) at s, or 0 if there is none. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t k;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		k = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		k = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		k = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF. */
	if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

/* Copy the non-ASCII character at s, or U+FFFD for an invalid byte; returns bytes consumed. */
static size_t out_utf8(struct out *o, const unsigned char *s, size_t n)
{
	size_t k = utf8_seq_len(s, n);

	if (!k) {
		out_str(o, "\xef\xbf\xbd");
		return 1;
	}
	out_bytes(o, (const char *)s, k);
	return k;
}

/*
 * What a quoted format escapes and how. ASCII bytes in from are written as a backslash
 * and the byte at the same place in to; with hex_controls, the other control bytes as
 * \u00XX. Everything else is written as it is (non-ASCII as UTF-8, see out_utf8).
 */
struct escapes {
	const char *from;
	const char *to;
	bool hex_controls;
};

/* RFC 8259: every control character must be escaped. */
static const struct escapes json_escapes = {"\"\\\n\t", "\"\\nt", true};
/* Prometheus text format 0.0.4, label values: backslash, double quote and line feed. */
static const struct escapes label_escapes = {"\"\\\n", "\"\\n", false};

/* The first n bytes of s as a double-quoted string of the format e describes. */
static void out_quoted(struct out *o, const char *s, size_t n, const struct escapes *e)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	out_bytes(o, "\"", 1);
	while (i < n) {
		unsigned char c = u[i];
		const char *hit;

		if (c >= 0x80) {
			i += out_utf8(o, u + i, n - i);
			continue;
		}
		hit = memchr(e->from, c, strlen(e->from));
		if (hit) {
			char esc[2] = {'\\', e->to[hit - e->from]};

			out_bytes(o, esc, 2);
		} else if (e->hex_controls && (c < 0x20 || c == 0x7f)) {
			out_printf(o, "\\u%04x", c);
		} else {
			out_bytes(o, (const char *)&c, 1);
		}
		i++;
	}
	out_bytes(o, "\"", 1);
}

/* The text fields of struct status need not be NUL-terminated to be read safely. */
#define FIELD_LEN(arr) strnlen((arr), sizeof(arr))

static void json_begin(struct out *o, bool ok)
{
	out_printf(o, "{\"ok\":%s,\"version\":%d", ok ? "true" : "false", CTL_PROTO_VERSION);
}

static void json_end(struct out *o)
{
	out_str(o, "}\n");
}

static void json_key(struct out *o, const char *key)
{
	out_printf(o, ",\"%s\":", key);
}

static void json_text(struct out *o, const char *key, const char *s, size_t n)
{
	json_key(o, key);
	out_quoted(o, s, n, &json_escapes);
}

static void json_bool(struct out *o, const char *key, bool v)
{
	json_key(o, key);
	out_str(o, v ? "true" : "false");
}

static void json_int(struct out *o, const char *key, int64_t v)
{
	json_key(o, key);
	out_printf(o, "%" PRId64, v);
}

static void json_double(struct out *o, const char *key, double v)
{
	json_key(o, key);
	if (isfinite(v))
		out_printf(o, "%.12g", v);
	else
		out_str(o, "null");
}

/* v, or null when it is not known. */
static void json_int_if(struct out *o, const char *key, int64_t v, bool known)
{
	if (known) {
		json_int(o, key, v);
		return;
	}
	json_key(o, key);
	out_str(o, "null");
}

static void json_double_if(struct out *o, const char *key, double v, bool known)
{
	json_double(o, key, known ? v : NAN);
}

/* A figure in nanoseconds: an integer, as phcsyncctl(8) promises for every key ending in
 * _ns (a fraction of a nanosecond means nothing here); null when unknown or not finite. */
static void json_ns_if(struct out *o, const char *key, double v, bool known)
{
	json_int_if(o, key, known && isfinite(v) && fabs(v) < 9e18 ? llround(v) : 0,
		    known && isfinite(v) && fabs(v) < 9e18);
}

int ctl_proto_parse(const char *line, size_t len, enum ctl_command *cmd, char *err, size_t errlen)
{
	size_t start = 0, end, rest;

	if (len >= CTL_REQUEST_MAX) {
		snprintf(err, errlen, "request too long: more than %d bytes", CTL_REQUEST_MAX - 1);
		return -EMSGSIZE;
	}
	if (len && line[len - 1] == '\r')
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c >= 0x7f) {
			snprintf(err, errlen, "malformed request: byte 0x%02x at offset %zu", c, i);
			return -EINVAL;
		}
	}
	while (start < len && (line[start] == ' ' || line[start] == '\t'))
		start++;
	end = start;
	while (end < len && line[end] != ' ' && line[end] != '\t')
		end++;
	rest = end;
	while (rest < len && (line[rest] == ' ' || line[rest] == '\t'))
		rest++;
	if (end == start) {
		snprintf(err, errlen, "empty request");
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(command_names) / sizeof(command_names[0]); i++) {
		if (strlen(command_names[i]) != end - start ||
		    memcmp(command_names[i], line + start, end - start) != 0)
			continue;
		if (rest < len) {
			snprintf(err, errlen, "%s takes no arguments", command_names[i]);
			return -EINVAL;
		}
		*cmd = (enum ctl_command)i;
		return 0;
	}
	/* Echo at most 32 bytes: the word is the client's and only the start helps a reader. */
	snprintf(err, errlen,
		 "unknown command \"%.*s\": expected status, metrics, step, reset or reload",
		 (int)(end - start < 32 ? end - start : 32), line + start);
	return -EOPNOTSUPP;
}

const char *ctl_command_name(enum ctl_command cmd)
{
	if ((size_t)cmd < sizeof(command_names) / sizeof(command_names[0]))
		return command_names[cmd];
	return "unknown";
}

bool ctl_command_privileged(enum ctl_command cmd)
{
	return cmd == CTL_CMD_STEP || cmd == CTL_CMD_RESET || cmd == CTL_CMD_RELOAD;
}

int ctl_proto_reply_status(const struct status *st, char *buf, size_t len)
{
	struct out o;

	out_init(&o, buf, len);
	json_begin(&o, true);
	json_text(&o, "device", st->device, FIELD_LEN(st->device));
	json_text(&o, "clock_name", st->clock_name, FIELD_LEN(st->clock_name));
	json_text(&o, "readout", st->readout, FIELD_LEN(st->readout));
	json_key(&o, "state");
	out_quoted(&o, status_state_name(st->state), strlen(status_state_name(st->state)),
		   &json_escapes);
	json_text(&o, "fault", st->fault, FIELD_LEN(st->fault));
	json_text(&o, "servo_state", st->servo_state, FIELD_LEN(st->servo_state));
	json_bool(&o, "observe_only", st->observe_only);
	json_bool(&o, "stable", st->stable);
	json_bool(&o, "have_sample", st->have_sample);
	json_int_if(&o, "last_offset_ns", st->last_offset_ns, st->have_sample);
	json_ns_if(&o, "rms_offset_ns", st->rms_offset_ns, st->have_sample);
	json_ns_if(&o, "max_offset_ns", st->max_offset_ns, st->have_sample);
	json_int_if(&o, "delay_ns", st->delay_ns, st->have_sample);
	json_int_if(&o, "error_bound_ns", st->error_bound_ns, st->have_sample);
	json_int(&o, "window_updates", st->window);
	json_double(&o, "freq_ppb", st->freq_ppb);
	json_double(&o, "poll_interval_s", st->poll_interval_s);
	json_int(&o, "updates", st->counts.updates);
	json_int(&o, "steps", st->counts.steps);
	json_int_if(&o, "last_step_ns", st->last_step_ns, st->counts.steps > 0);
	json_double_if(&o, "last_step_age_s", st->last_step_age_s, st->last_step_age_s >= 0.0);
	json_double(&o, "uptime_s", st->uptime_s);
	json_int(&o, "read_failures", st->counts.read_failures);
	json_int(&o, "rejected_bursts", st->rejected_bursts);
	json_int(&o, "reopens", st->reopens);
	json_int_if(&o, "tai_utc_s", st->tai_utc_s, st->tai_utc_s >= 0);
	json_int(&o, "next_leap", st->next_leap);
	json_int_if(&o, "next_leap_utc_s", st->next_leap_utc_s, st->next_leap != 0);
	json_int_if(&o, "leap_expiry_utc_s", st->leap_expiry_utc_s, st->leap_expiry_utc_s != 0);
	json_bool(&o, "leap_table_expired", st->leap_table_expired);
	json_int(&o, "leap_smear_ns", st->leap_smear_ns);
	json_int(&o, "max_error_ns", st->max_error_ns);
	json_int(&o, "slew_remaining_ns", st->slew_remaining_ns);
	json_double(&o, "reference_rate_ppb", st->reference_rate_ppb);
	json_int(&o, "disruptions", st->counts.disruptions);
	json_int(&o, "step_refusals", st->counts.step_refusals);
	json_int(&o, "reference_faults", st->counts.reference_faults);
	json_int(&o, "adjust_refusals", st->counts.adjust_refusals);
	json_text(&o, "servo", st->servo, FIELD_LEN(st->servo));
	json_double_if(&o, "last_sample_age_s", st->last_sample_age_s,
		       st->last_sample_age_s >= 0.0);
	json_double_if(&o, "last_sample_utc_s", st->last_sample_utc_s,
		       st->last_sample_age_s >= 0.0);
	json_double_if(&o, "freq_residual_ppb", st->freq_residual_ppb, st->freq_window >= 3);
	json_double_if(&o, "freq_skew_ppb", st->freq_skew_ppb, st->freq_window >= 3);
	json_int(&o, "freq_window", st->freq_window);
	json_bool(&o, "vmclock", st->vmclock_present);
	if (st->vmclock_present) {
		char marker[24];

		json_text(&o, "vmclock_device", st->vmclock_device, FIELD_LEN(st->vmclock_device));
		json_bool(&o, "vmclock_good", st->vmclock_good);
		json_text(&o, "vmclock_status", st->vmclock_status, FIELD_LEN(st->vmclock_status));
		json_text(&o, "vmclock_flags", st->vmclock_flags, FIELD_LEN(st->vmclock_flags));
		snprintf(marker, sizeof(marker), "%#" PRIx64, st->vmclock_marker);
		json_text(&o, "vmclock_marker", marker, strlen(marker));
		json_int(&o, "vmclock_generation", (int64_t)st->vmclock_generation);
		json_int(&o, "vmclock_disruptions", st->vmclock_disruptions);
		json_int(&o, "vmclock_restores", st->vmclock_restores);
		json_int(&o, "vmclock_bad_reads", st->vmclock_bad_reads);
	}
	json_text(&o, "daemon_version", st->build_version, FIELD_LEN(st->build_version));
	json_text(&o, "features", st->build_features, FIELD_LEN(st->build_features));
	json_end(&o);
	return out_end(&o);
}

/* A reply of one text field (n bytes of text), or of none when key is NULL. */
static int reply_text(bool ok, const char *key, const char *text, size_t n, char *buf, size_t len)
{
	struct out o;

	out_init(&o, buf, len);
	json_begin(&o, ok);
	if (key)
		json_text(&o, key, text, n);
	json_end(&o);
	return out_end(&o);
}

int ctl_proto_reply_metrics(const struct status *st, char *buf, size_t len)
{
	char text[CTL_REPLY_MAX];
	int n = ctl_proto_prometheus(st, text, sizeof(text));

	return n < 0 ? n : reply_text(true, "metrics", text, (size_t)n, buf, len);
}

int ctl_proto_reply_ok(const char *message, char *buf, size_t len)
{
	bool any = message && *message;

	return reply_text(true, any ? "message" : NULL, message, any ? strlen(message) : 0, buf,
			  len);
}

int ctl_proto_reply_error(const char *error, char *buf, size_t len)
{
	return reply_text(false, "error", error, strlen(error), buf, len);
}

static void prom_family(struct out *o, const char *name, const char *type, const char *help)
{
	out_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One metric of one sample: a row of ctl_proto_prometheus's table. */
struct metric {
	const char *name; /* a counter's, and only a counter's, ends in _total */
	const char *help;
	enum { METRIC_INT, METRIC_DOUBLE, METRIC_NS } kind;
	bool absent; /* no meaningful value: left out, as Prometheus expects */
	int64_t i;   /* METRIC_INT; METRIC_NS: nanoseconds, written as exact seconds */
	double d;    /* METRIC_DOUBLE */
};

static void prom_metric(struct out *o, const struct metric *m)
{
	size_t n = strlen(m->name), suffix = strlen("_total");
	bool counter = n > suffix && strcmp(m->name + n - suffix, "_total") == 0;
	uint64_t abs_ns = m->i < 0 ? -(uint64_t)m->i : (uint64_t)m->i;

	prom_family(o, m->name, counter ? "counter" : "gauge", m->help);
	switch (m->kind) {
	case METRIC_INT:
		out_printf(o, "%s %" PRId64 "\n", m->name, m->i);
		break;
	case METRIC_DOUBLE:
		if (isnan(m->d))
			out_printf(o, "%s NaN\n", m->name);
		else if (isinf(m->d))
			out_printf(o, "%s %sInf\n", m->name, m->d > 0 ? "+" : "-");
		else
			out_printf(o, "%s %.12g\n", m->name, m->d);
		break;
	case METRIC_NS:
		/* Exact decimal seconds: a double would round large offsets. */
		out_printf(o, "%s %s%" PRIu64 ".%09" PRIu64 "\n", m->name, m->i < 0 ? "-" : "",
			   abs_ns / (uint64_t)NS_PER_S, abs_ns % (uint64_t)NS_PER_S);
		break;
	}
}

int ctl_proto_prometheus(const struct status *st, char *buf, size_t len)
{
	static const enum status_state states[] = {STATUS_UNLOCKED, STATUS_LOCKED, STATUS_HOLDOVER,
						   STATUS_STEPPING, STATUS_FAULT,  STATUS_SLEWING};
	const bool no_sample = !st->have_sample;
	const struct metric metrics[] = {
		{"phcsync_servo_stable", "1 when the servo is locked and stable.", METRIC_INT,
		 .i = st->stable},
		{"phcsync_observe_only",
		 "1 when the daemon only measures and never adjusts the clock.", METRIC_INT,
		 .i = st->observe_only},
		{"phcsync_offset_seconds",
		 "Last offset of the system clock from the PHC, positive: ahead.", METRIC_NS,
		 .i = st->last_offset_ns, .absent = no_sample},
		{"phcsync_offset_rms_seconds", "RMS offset over the last window of updates.",
		 METRIC_DOUBLE, .d = st->rms_offset_ns / 1e9, .absent = no_sample},
		{"phcsync_offset_max_seconds",
		 "Largest absolute offset over the last window of updates.", METRIC_DOUBLE,
		 .d = st->max_offset_ns / 1e9, .absent = no_sample},
		{"phcsync_read_delay_seconds", "Read delay of the last PHC sample.", METRIC_NS,
		 .i = st->delay_ns, .absent = no_sample},
		{"phcsync_error_bound_seconds", "Error bound of the last PHC sample.", METRIC_NS,
		 .i = st->error_bound_ns, .absent = no_sample},
		{"phcsync_offset_window_updates",
		 "Updates in the window of the RMS and largest offsets.", METRIC_INT,
		 .i = st->window},
		{"phcsync_frequency_adjustment_ratio",
		 "Frequency adjustment set on the system clock (ppb / 1e9).", METRIC_DOUBLE,
		 .d = st->freq_ppb / 1e9},
		{"phcsync_poll_interval_seconds", "Interval between updates.", METRIC_DOUBLE,
		 .d = st->poll_interval_s},
		{"phcsync_updates_total", "Servo updates.", METRIC_INT, .i = st->counts.updates},
		{"phcsync_steps_total", "Steps of the system clock.", METRIC_INT,
		 .i = st->counts.steps},
		{"phcsync_last_step_seconds", "Size of the last step of the system clock.",
		 METRIC_NS, .i = st->last_step_ns, .absent = st->counts.steps <= 0},
		{"phcsync_last_step_age_seconds", "Time since the last step of the system clock.",
		 METRIC_DOUBLE, .d = st->last_step_age_s, .absent = !(st->last_step_age_s >= 0.0)},
		{"phcsync_uptime_seconds", "Time since the daemon started.", METRIC_DOUBLE,
		 .d = st->uptime_s},
		{"phcsync_read_failures_total", "Failed reads of the PHC.", METRIC_INT,
		 .i = st->counts.read_failures},
		{"phcsync_rejected_bursts_total", "Bursts of readings rejected by the filter.",
		 METRIC_INT, .i = st->rejected_bursts},
		{"phcsync_reopens_total", "Times the PHC was opened again.", METRIC_INT,
		 .i = st->reopens},
		{"phcsync_tai_offset_seconds", "TAI - UTC.", METRIC_INT, .i = st->tai_utc_s,
		 .absent = st->tai_utc_s < 0},
		{"phcsync_leap_pending", "Next known leap second: 1 inserted, -1 deleted, 0 none.",
		 METRIC_INT, .i = st->next_leap},
		{"phcsync_leap_next_timestamp_seconds", "UNIX time of the next leap second.",
		 METRIC_INT, .i = st->next_leap_utc_s, .absent = !st->next_leap},
		{"phcsync_leap_table_expiry_timestamp_seconds",
		 "UNIX time the leap second table expires.", METRIC_INT, .i = st->leap_expiry_utc_s,
		 .absent = !st->leap_expiry_utc_s},
		{"phcsync_leap_table_expired", "1 when the leap second table has expired.",
		 METRIC_INT, .i = st->leap_table_expired},
		{"phcsync_leap_smear_seconds", "Leap smear correction in effect (leap_mode smear).",
		 METRIC_NS, .i = st->leap_smear_ns},
		{"phcsync_max_error_seconds", "Error bound told to the kernel (maxerror).",
		 METRIC_NS, .i = st->max_error_ns},
		{"phcsync_slew_remaining_seconds", "Offset still being slewed out.", METRIC_NS,
		 .i = st->slew_remaining_ns},
		{"phcsync_disruptions_total", "Confirmed clock disruptions.", METRIC_INT,
		 .i = st->counts.disruptions},
		{"phcsync_step_refusals_total", "Steps refused by the step budget.", METRIC_INT,
		 .i = st->counts.step_refusals},
		{"phcsync_reference_faults_total",
		 "Times the PHC was found not sane and not followed.", METRIC_INT,
		 .i = st->counts.reference_faults},
		{"phcsync_adjust_refusals_total", "Clock adjustments the kernel refused.",
		 METRIC_INT, .i = st->counts.adjust_refusals},
		{"phcsync_last_update_timestamp_seconds",
		 "UNIX time (system clock) of the last sample of the PHC.", METRIC_DOUBLE,
		 .d = st->last_sample_utc_s, .absent = !(st->last_sample_age_s >= 0.0)},
		{"phcsync_frequency_residual_ratio",
		 "Slope of the offset while locked (ppb / 1e9), positive: the system clock gains.",
		 METRIC_DOUBLE, .d = st->freq_residual_ppb / 1e9, .absent = st->freq_window < 3},
		{"phcsync_frequency_skew_ratio",
		 "Standard error of the residual frequency (ppb / 1e9).", METRIC_DOUBLE,
		 .d = st->freq_skew_ppb / 1e9, .absent = st->freq_window < 3},
		{"phcsync_vmclock_good", "1 when the vmclock page read last was well formed.",
		 METRIC_INT, .i = st->vmclock_good, .absent = !st->vmclock_present},
		{"phcsync_vmclock_disruptions_total",
		 "Jumps corrected at once on the vmclock page's word.", METRIC_INT,
		 .i = st->vmclock_disruptions, .absent = !st->vmclock_present},
		{"phcsync_vmclock_restores_total", "Snapshot restores the vmclock page announced.",
		 METRIC_INT, .i = st->vmclock_restores, .absent = !st->vmclock_present},
		{"phcsync_vmclock_bad_reads_total",
		 "Reads of the vmclock page that gave a malformed or unsettled page.", METRIC_INT,
		 .i = st->vmclock_bad_reads, .absent = !st->vmclock_present},
		{"phcsync_vmclock_generation", "The vmclock page's VM generation counter.",
		 METRIC_INT, .i = (int64_t)st->vmclock_generation, .absent = !st->vmclock_present},
	};
	struct out o;

	out_init(&o, buf, len);
	prom_family(
		&o, "phcsync_build_info", "gauge",
		"The daemon's version and compiled-in features (+name, or -name when left out).");
	out_str(&o, "phcsync_build_info{version=");
	out_quoted(&o, st->build_version, FIELD_LEN(st->build_version), &label_escapes);
	out_str(&o, ",features=");
	out_quoted(&o, st->build_features, FIELD_LEN(st->build_features), &label_escapes);
	out_str(&o, "} 1\n");
	prom_family(&o, "phcsync_info", "gauge",
		    "The PHC followed: device path, clock name, readout method and servo.");
	out_str(&o, "phcsync_info{device=");
	out_quoted(&o, st->device, FIELD_LEN(st->device), &label_escapes);
	out_str(&o, ",clock_name=");
	out_quoted(&o, st->clock_name, FIELD_LEN(st->clock_name), &label_escapes);
	out_str(&o, ",readout=");
	out_quoted(&o, st->readout, FIELD_LEN(st->readout), &label_escapes);
	out_str(&o, ",servo=");
	out_quoted(&o, st->servo, FIELD_LEN(st->servo), &label_escapes);
	out_str(&o, "} 1\n");

	if (st->vmclock_present) {
		prom_family(
			&o, "phcsync_vmclock_info", "gauge",
			"The vmclock device: path, the host's clock status and the page's flags.");
		out_str(&o, "phcsync_vmclock_info{device=");
		out_quoted(&o, st->vmclock_device, FIELD_LEN(st->vmclock_device), &label_escapes);
		out_str(&o, ",clock_status=");
		out_quoted(&o, st->vmclock_status, FIELD_LEN(st->vmclock_status), &label_escapes);
		out_str(&o, ",flags=");
		out_quoted(&o, st->vmclock_flags, FIELD_LEN(st->vmclock_flags), &label_escapes);
		out_str(&o, "} 1\n");
	}
	prom_family(&o, "phcsync_state", "gauge", "1 for the daemon's current state, else 0.");
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		out_printf(&o, "phcsync_state{state=\"%s\"} %d\n", status_state_name(states[i]),
			   st->state == states[i]);
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		if (!metrics[i].absent)
			prom_metric(&o, &metrics[i]);
	return out_end(&o);
}
