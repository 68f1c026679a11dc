/* SPDX-License-Identifier: BSD-2-Clause */
/* phcsyncctl's reply checks, status summary and waitsync arguments. */
#include "phcsync/ctl_client.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "phcsync/ctl_proto.h"

/* Dates outside 1970..9999 are printed as numbers: gmtime and strftime need not cope. */
#define DATE_MAX_S 253402300800LL

int ctl_client_parse(const char *raw, struct json_object **obj, bool *ok, char *err, size_t errlen)
{
	struct json_object *o, *okv, *version;
	enum json_tokener_error jerr;

	*obj = NULL;
	o = json_tokener_parse_verbose(raw, &jerr);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "ok", &okv) ||
	    !json_object_is_type(okv, json_type_boolean) ||
	    !json_object_object_get_ex(o, "version", &version) ||
	    !json_object_is_type(version, json_type_int)) {
		snprintf(err, errlen, "not a phcsyncd reply%s%s", o ? "" : ": ",
			 o ? "" : json_tokener_error_desc(jerr));
		json_object_put(o);
		return -EPROTO;
	}
	if (json_object_get_int64(version) != CTL_PROTO_VERSION) {
		snprintf(err, errlen, "protocol version %" PRId64 ", this client speaks %d",
			 json_object_get_int64(version), CTL_PROTO_VERSION);
		json_object_put(o);
		return -EPROTO;
	}
	*ok = json_object_get_boolean(okv);
	*obj = o;
	return 0;
}

const char *ctl_client_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool ctl_client_num(struct json_object *o, const char *key, double *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return false;
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return false;
	*out = json_object_get_double(v);
	return isfinite(*out);
}

static bool get_int(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

static bool get_bool(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

const char *ctl_client_human_ns(char *buf, size_t len, double ns, bool sign)
{
	double a = fabs(ns);

	if (a < 1e3)
		snprintf(buf, len, sign ? "%+.0f ns" : "%.0f ns", ns);
	else if (a < 1e6)
		snprintf(buf, len, sign ? "%+.3f us" : "%.3f us", ns / 1e3);
	else if (a < 1e9)
		snprintf(buf, len, sign ? "%+.3f ms" : "%.3f ms", ns / 1e6);
	else if (a < 1e15)
		snprintf(buf, len, sign ? "%+.6f s" : "%.6f s", ns / 1e9);
	else
		snprintf(buf, len, sign ? "%+.6g s" : "%.6g s", ns / 1e9);
	return buf;
}

static void utc_date(char *buf, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t < 0 || t >= DATE_MAX_S || !gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d", &tm))
		snprintf(buf, len, "%" PRId64 " s", t);
}

/* A UNIX time as "YYYY-MM-DD HH:MM:SS.S UTC", or its number outside 1970..9999. */
static const char *utc_time(char *buf, size_t len, double t)
{
	time_t whole;
	struct tm tm;
	char day[32];

	if (!(t >= 0 && t < (double)DATE_MAX_S)) {
		snprintf(buf, len, "%.1f", t);
		return buf;
	}
	whole = (time_t)t;
	if (!gmtime_r(&whole, &tm) || !strftime(day, sizeof(day), "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "%.1f", t);
	else
		snprintf(buf, len, "%s.%d UTC", day, (int)((t - (double)whole) * 10) % 10);
	return buf;
}

void ctl_client_put_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
}

void ctl_client_print_status(FILE *out, struct json_object *o)
{
	const char *device = ctl_client_str(o, "device"), *name = ctl_client_str(o, "clock_name");
	const char *servo = ctl_client_str(o, "servo_state");
	const char *readout = ctl_client_str(o, "readout"), *state = ctl_client_str(o, "state");
	const char *algorithm = ctl_client_str(o, "servo");
	char a[64];
	double v, w;
	int64_t i, j;

	fprintf(out, "Device          : ");
	ctl_client_put_text(out, device && *device ? device : "none");
	if (name && *name) {
		fprintf(out, " (");
		ctl_client_put_text(out, name);
		fprintf(out, ")");
	}
	fprintf(out, "\nReadout         : ");
	ctl_client_put_text(out, readout && *readout ? readout : "-");
	fprintf(out, "\nState           : ");
	ctl_client_put_text(out, state ? state : "-");
	if (servo && *servo) {
		fprintf(out, ", servo ");
		ctl_client_put_text(out, servo);
	}
	fprintf(out, "\n");
	if (algorithm && *algorithm) {
		fprintf(out, "Servo           : ");
		ctl_client_put_text(out, algorithm);
		fprintf(out, "\n");
	}
	if (ctl_client_num(o, "last_sample_utc_s", &v) &&
	    ctl_client_num(o, "last_sample_age_s", &w))
		fprintf(out, "Last sample     : %s, %.1f s ago\n", utc_time(a, sizeof(a), v), w);
	else
		fprintf(out, "Last sample     : none yet\n");
	if (get_bool(o, "observe_only"))
		fprintf(out, "Mode            : observe only, the clock is not adjusted\n");
	if (ctl_client_num(o, "last_offset_ns", &v))
		fprintf(out, "Last offset     : %s (system clock %s)\n",
			ctl_client_human_ns(a, sizeof(a), v, true), v >= 0 ? "ahead" : "behind");
	else
		fprintf(out, "Last offset     : -\n");
	if (ctl_client_num(o, "rms_offset_ns", &v))
		fprintf(out, "RMS offset      : %s\n", ctl_client_human_ns(a, sizeof(a), v, false));
	if (ctl_client_num(o, "max_offset_ns", &v) && get_int(o, "window_updates", &i))
		fprintf(out, "Max offset      : %s over the last %" PRId64 " updates\n",
			ctl_client_human_ns(a, sizeof(a), v, false), i);
	/* phc2sys's sign (the adjustment); chrony's tracking shows the uncorrected error. */
	if (ctl_client_num(o, "freq_ppb", &v))
		fprintf(out,
			"Frequency       : %+.3f ppm set on the clock (uncorrected it runs %.3f "
			"ppm "
			"%s)\n",
			v / 1e3, fabs(v) / 1e3, v > 0 ? "slow" : "fast");
	if (ctl_client_num(o, "freq_residual_ppb", &v) && ctl_client_num(o, "freq_skew_ppb", &w) &&
	    get_int(o, "freq_window", &i))
		fprintf(out,
			"Residual freq   : %+.3f ppb, skew %.3f ppb (over %" PRId64 " samples)\n",
			v, w, i);
	if (ctl_client_num(o, "delay_ns", &v))
		fprintf(out, "Read delay      : %s\n", ctl_client_human_ns(a, sizeof(a), v, false));
	if (ctl_client_num(o, "error_bound_ns", &v))
		fprintf(out, "Error bound     : %s\n", ctl_client_human_ns(a, sizeof(a), v, false));
	if (ctl_client_num(o, "poll_interval_s", &v))
		fprintf(out, "Poll interval   : %g s\n", v);
	if (get_int(o, "updates", &i))
		fprintf(out, "Updates         : %" PRId64 "\n", i);
	if (get_int(o, "steps", &i)) {
		fprintf(out, "Steps           : %" PRId64, i);
		if (ctl_client_num(o, "last_step_ns", &v) &&
		    ctl_client_num(o, "last_step_age_s", &w))
			fprintf(out, " (last %s, %.0f s ago)",
				ctl_client_human_ns(a, sizeof(a), v, true), w);
		fprintf(out, "\n");
	}
	if (get_int(o, "read_failures", &i))
		fprintf(out, "Read failures   : %" PRId64 "\n", i);
	if (get_int(o, "rejected_bursts", &i))
		fprintf(out, "Rejected bursts : %" PRId64 "\n", i);
	if (get_int(o, "reopens", &i))
		fprintf(out, "Reopens         : %" PRId64 "\n", i);
	if (get_int(o, "tai_utc_s", &i))
		fprintf(out, "TAI - UTC       : %" PRId64 " s\n", i);
	else
		fprintf(out, "TAI - UTC       : unknown\n");
	if (get_int(o, "next_leap", &i) && i && get_int(o, "next_leap_utc_s", &j)) {
		/* The leap second ends the day before the instant it takes effect; an instant at
		 * or before the epoch is nonsense, shown as its number. */
		utc_date(a, sizeof(a), j > 0 ? j - 1 : j);
		fprintf(out, "Leap second     : %s at the end of %s (UTC)\n",
			i > 0 ? "insert" : "delete", a);
	} else {
		fprintf(out, "Leap second     : none known\n");
	}
	if (get_int(o, "leap_expiry_utc_s", &i)) {
		utc_date(a, sizeof(a), i);
		fprintf(out, "Leap table      : %s %s\n",
			get_bool(o, "leap_table_expired") ? "EXPIRED on" : "valid until", a);
	}
	if (get_int(o, "leap_smear_ns", &i) && i)
		fprintf(out, "Leap smear      : %+.6f s in effect\n", (double)i / 1e9);
	if (ctl_client_num(o, "uptime_s", &v))
		fprintf(out, "Uptime          : %.0f s\n", v);
}

/* At most 32 bytes of s for a message, bytes other than printable ASCII as \xNN. */
static const char *echo(char *buf, size_t len, const char *s)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < 32 && s[i] && o + 5 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f)
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		buf[o] = '\0';
	}
	return buf;
}

int ctl_client_waitsync_args(int argc, char *const argv[], double *timeout_s,
			     int64_t *max_offset_ns, char *err, size_t errlen)
{
	char shown[160], *end;

	if (argc > 2) {
		snprintf(err, errlen, "expected [TIMEOUT_S [MAX_OFFSET_NS]]");
		return -EINVAL;
	}
	if (argc > 0) {
		double v;

		errno = 0;
		v = strtod(argv[0], &end);
		if (!*argv[0] || *end || errno || !isfinite(v) || v < 0.0 ||
		    v > CTL_CLIENT_TIMEOUT_MAX_S) {
			snprintf(err, errlen,
				 "TIMEOUT_S \"%s\": expected seconds from 0 to %.0f (a year)",
				 echo(shown, sizeof(shown), argv[0]), CTL_CLIENT_TIMEOUT_MAX_S);
			return -EINVAL;
		}
		*timeout_s = v;
	}
	if (argc > 1) {
		long long v;

		errno = 0;
		v = strtoll(argv[1], &end, 10);
		if (!*argv[1] || *end || errno || v < 0) {
			snprintf(err, errlen,
				 "MAX_OFFSET_NS \"%s\": expected an integer from 0 to %" PRId64,
				 echo(shown, sizeof(shown), argv[1]), INT64_MAX);
			return -EINVAL;
		}
		*max_offset_ns = v;
	}
	return 0;
}

bool ctl_client_synced(struct json_object *o, bool ok, int64_t max_offset_ns, double *offset_ns)
{
	const char *state = ctl_client_str(o, "state");
	double v;

	if (!ctl_client_num(o, "last_offset_ns", &v))
		return false;
	*offset_ns = v;
	return ok && state && !strcmp(state, "locked") && fabs(v) <= (double)max_offset_ns;
}
