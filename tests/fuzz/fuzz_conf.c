/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The config parser: any input either parses to values inside every key's documented range
 * or is refused with a one-line "fuzz:LINE: ..." message and the struct untouched. The first
 * line, split at its first blank, also goes to conf_set as KEY and VALUE, held to the same.
 */
#include <math.h>
#include <stdbool.h>

#include "fuzz.h"
#include "phcsync/conf.h"
#include "phcsync/filter.h"
#include "phcsync/phc.h"

#define IN_RANGE(v, lo, hi) ((v) >= (lo) && (v) <= (hi))
#define STR_OK(field) (memchr((field), '\0', sizeof(field)) != NULL && no_controls(field))

/* Paths and names carry no control byte (they reach logs and terminals). */
static bool no_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool real_ok(double v, double lo, double hi, bool zero_ok)
{
	return isfinite(v) && ((zero_ok && v == 0.0) || IN_RANGE(v, lo, hi));
}

static void check_ranges(const struct conf *c)
{
	FUZZ_CHECK(STR_OK(c->device) && STR_OK(c->leapfile) && STR_OK(c->control_socket) &&
			   STR_OK(c->control_group) && STR_OK(c->driftfile) && STR_OK(c->user),
		   "a string is not terminated or has a control byte");
	FUZZ_CHECK(c->device[0], "empty device");
	FUZZ_CHECK(IN_RANGE(c->readout, PHC_METHOD_AUTO, PHC_METHOD_COUNT - 1), "readout %d",
		   c->readout);
	FUZZ_CHECK(IN_RANGE(c->readings, 1, 25), "readings %d", c->readings);
	FUZZ_CHECK(IN_RANGE(c->max_reads_per_second, 0, 1000000), "max_reads_per_second %d",
		   c->max_reads_per_second);
	FUZZ_CHECK(real_ok(c->poll_interval_s, 0.015625, 64, false), "poll_interval %g",
		   c->poll_interval_s);
	FUZZ_CHECK(c->servo == SERVO_PI || c->servo == SERVO_KALMAN, "servo %d", (int)c->servo);
	FUZZ_CHECK(IN_RANGE(c->burst_combine, FILTER_COMBINE_BAND, FILTER_COMBINE_TRIMMED),
		   "burst_combine %d", c->burst_combine);
	FUZZ_CHECK(real_ok(c->pi_kp, 0, 10, false) && real_ok(c->pi_ki, 0, 10, false),
		   "pi_kp %g pi_ki %g", c->pi_kp, c->pi_ki);
	/* Thresholds of up to 1e9 s keep their nanoseconds inside int64. */
	FUZZ_CHECK(real_ok(c->first_step_threshold_s, 0, 1e9, false) &&
			   real_ok(c->step_threshold_s, 0, 1e9, false) &&
			   real_ok(c->max_offset_panic_s, 0, 1e9, false),
		   "thresholds %g %g %g", c->first_step_threshold_s, c->step_threshold_s,
		   c->max_offset_panic_s);
	FUZZ_CHECK(IN_RANGE(c->offset_ns, -1000000000000LL, 1000000000000LL), "offset_ns %lld",
		   (long long)c->offset_ns);
	FUZZ_CHECK(IN_RANGE((int)c->timescale, CONF_TIMESCALE_AUTO, CONF_TIMESCALE_TAI),
		   "timescale %d", (int)c->timescale);
	FUZZ_CHECK(IN_RANGE(c->utc_offset_s, 0, 1000), "utc_offset %d", c->utc_offset_s);
	FUZZ_CHECK(real_ok(c->summary_interval_s, 1, 86400, true), "summary_interval %g",
		   c->summary_interval_s);
	FUZZ_CHECK(IN_RANGE((int)c->leap_mode, CONF_LEAP_SYSTEM, CONF_LEAP_SMEAR), "leap_mode %d",
		   (int)c->leap_mode);
	FUZZ_CHECK(real_ok(c->leap_smear_window_s, 60, 172800, false), "leap_smear_window %g",
		   c->leap_smear_window_s);
	FUZZ_CHECK(c->control_socket[0], "empty control_socket");
	FUZZ_CHECK(IN_RANGE(c->holdover_after, 1, 1000), "holdover_after %d", c->holdover_after);
	FUZZ_CHECK(IN_RANGE(c->disruption_samples, 1, 10), "disruption_samples %d",
		   c->disruption_samples);
	FUZZ_CHECK(real_ok(c->step_window_s, 1, 604800, false), "step_window %g", c->step_window_s);
	FUZZ_CHECK(real_ok(c->step_limit_back_s, 0.000001, 1e9, true), "step_limit_back %g",
		   c->step_limit_back_s);
	FUZZ_CHECK(IN_RANGE(c->step_limit_count, 0, 100), "step_limit_count %d",
		   c->step_limit_count);
	FUZZ_CHECK(real_ok(c->reference_freq_limit_ppm, 1, 200000, true), "reference_freq_limit %g",
		   c->reference_freq_limit_ppm);
}

/* An error message names the origin and echoes the input escaped: printable ASCII only. */
static void check_message(const char *err, const char *origin)
{
	FUZZ_CHECK(!strncmp(err, origin, strlen(origin)) && err[strlen(origin)] == ':',
		   "message \"%s\" does not start with %s:", err, origin);
	for (const char *c = err; *c; c++)
		FUZZ_CHECK(*c >= 0x20 && *c < 0x7f, "byte 0x%02x in message \"%s\"",
			   (unsigned char)*c, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf defaults, c, before;
	char err[1024];
	const uint8_t *eol = memchr(data, '\n', size);
	size_t first = eol ? (size_t)(eol - data) : size;

	memset(&defaults, 0, sizeof(defaults));
	conf_defaults(&defaults);
	check_ranges(&defaults);
	c = defaults;
	before = c;
	err[0] = '\0';
	if (conf_parse_buffer(&c, "fuzz", (const char *)data, size, err, sizeof(err)) == 0) {
		check_ranges(&c);
	} else {
		FUZZ_CHECK(!memcmp(&c, &before, sizeof(c)), "a refused file changed the struct");
		check_message(err, "fuzz");
	}

	/* The first line as conf_set's key and value, split at the first blank. */
	{
		char *line = fuzz_strndup(data, first), *value = line + strcspn(line, " \t");

		if (*value)
			*value++ = '\0';
		c = defaults;
		err[0] = '\0';
		if (conf_set(&c, line, value, "-o", err, sizeof(err)) == 0) {
			check_ranges(&c);
		} else {
			FUZZ_CHECK(!memcmp(&c, &defaults, sizeof(c)),
				   "a refused value changed the struct");
			check_message(err, "-o");
		}
		free(line);
	}
	return 0;
}
