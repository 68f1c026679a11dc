/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The daemon's leap second policy. A hypervisor PHC gives POSIX UTC and repeats (or skips)
 * a second at a leap without saying so; the table says when, and this module turns that
 * into kernel requests, a smear, or a step, and keeps the servo away from the leap itself.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "phcsync/leapsec.h"
#include "phcsync/units.h"

#define DEBIAN_LIST "/usr/share/zoneinfo/leap-seconds.list"
#define DEBIAN_TZIF "/usr/share/zoneinfo/right/UTC"
#define DAY_S 86400

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int load(struct leapsec *ls, const struct conf *conf, char *err, size_t errlen)
{
	static const char *const defaults[] = {DEBIAN_LIST, DEBIAN_TZIF};
	struct leap_table *t = NULL;
	char first_err[512] = "";
	int ret = -ENOENT;

	if (strcmp(conf->leapfile, "none") == 0)
		return 0;
	if (conf->leapfile[0]) {
		ret = leap_load(conf->leapfile, &t, err, errlen);
		if (ret < 0)
			return ret;
		snprintf(ls->path, sizeof(ls->path), "%s", conf->leapfile);
	} else {
		for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]) && !t; i++) {
			ret = leap_load(defaults[i], &t, err, errlen);
			if (ret == 0)
				snprintf(ls->path, sizeof(ls->path), "%s", defaults[i]);
			else if (!first_err[0])
				snprintf(first_err, sizeof(first_err), "%s", err);
		}
		if (!t) {
			char last_err[512];

			snprintf(last_err, sizeof(last_err), "%s", err);
			snprintf(err, errlen, "%s; %s", first_err, last_err);
			return ret;
		}
	}
	leap_free(ls->table);
	ls->table = t;
	return 0;
}

int leapsec_open(struct leapsec *ls, const struct conf *conf, char *err, size_t errlen)
{
	memset(ls, 0, sizeof(*ls));
	ls->mode = conf->leap_mode;
	ls->smear_window_s = (int64_t)conf->leap_smear_window_s;
	err[0] = '\0';
	return load(ls, conf, err, errlen);
}

int leapsec_reload(struct leapsec *ls, const struct conf *conf, char *err, size_t errlen)
{
	err[0] = '\0';
	return load(ls, conf, err, errlen);
}

void leapsec_close(struct leapsec *ls)
{
	leap_free(ls->table);
	ls->table = NULL;
}

/*
 * The smeared time runs 1 s slower (insertion) or faster (deletion) across the window
 * centred on the leap, at a constant rate over the window's true length (W + dir seconds:
 * an inserted second makes it one longer). The PHC jumps at the leap itself; smear_ns is
 * what to add to the PHC's UTC to get the smeared time, continuous in true time, and
 * *rate_ppb the frequency the smear itself asks of the clock.
 */
static int64_t smear_ns(int64_t utc_ns, int64_t leap_s, int dir, int64_t window_s, double *rate_ppb)
{
	int64_t start_ns = (leap_s - window_s / 2) * NS_PER_S;
	int64_t end_ns = start_ns + window_s * NS_PER_S;
	double span_s = (double)(window_s + dir);
	double since_s;

	*rate_ppb = 0.0;
	if (utc_ns <= start_ns || utc_ns >= end_ns)
		return 0;
	since_s = (double)(utc_ns - start_ns) / NS_PER_S;
	*rate_ppb = -dir * 1e9 / span_s;
	if (utc_ns < leap_s * NS_PER_S)
		return (int64_t)llround(-dir * since_s / span_s * NS_PER_S);
	return (int64_t)llround(dir * ((double)window_s - since_s) / span_s * NS_PER_S);
}

void leapsec_plan(const struct leapsec *ls, int64_t utc_ns, int64_t step_done_utc_s,
		  struct leap_plan *plan)
{
	int64_t utc_s = floor_div(utc_ns, NS_PER_S);
	int64_t day_start = floor_div(utc_s, DAY_S) * DAY_S;
	int dir_end, dir_start, dir;
	int64_t leap_s;

	memset(plan, 0, sizeof(*plan));
	plan->tai_utc_s = -1;
	if (!ls->table)
		return;
	plan->tai_utc_s = leap_tai_utc(ls->table, utc_s);
	dir_end = leap_at_day_end(ls->table, utc_s);	       /* a leap at day_start + 1 day */
	dir_start = leap_at_day_end(ls->table, day_start - 1); /* a leap at day_start */

	/* The leap nearest to now: the one ending today, else the one that began today. */
	if (dir_end && utc_s >= day_start + DAY_S / 2) {
		dir = dir_end;
		leap_s = day_start + DAY_S;
	} else if (dir_start) {
		dir = dir_start;
		leap_s = day_start;
	} else if (dir_end) {
		dir = dir_end;
		leap_s = day_start + DAY_S;
	} else {
		return;
	}
	plan->leap_utc_s = leap_s;
	plan->ignore_sample =
		utc_s >= leap_s - LEAPSEC_IGNORE_S && utc_s < leap_s + LEAPSEC_IGNORE_S;

	switch (ls->mode) {
	case CONF_LEAP_SYSTEM:
		/* The kernel acts on the bit at the end of the day it is set in. */
		plan->arm = dir_end;
		break;
	case CONF_LEAP_STEP:
		if (utc_s >= leap_s && leap_s == day_start && step_done_utc_s != leap_s)
			plan->step_dir = dir;
		break;
	case CONF_LEAP_SMEAR:
		/* The repeated second of a UTC PHC still has to be ignored: P does not move. */
		plan->smear_ns =
			smear_ns(utc_ns, leap_s, dir, ls->smear_window_s, &plan->smear_rate_ppb);
		break;
	}
}

int leapsec_tai_utc_at_tai(const struct leapsec *ls, int64_t phc_tai_ns)
{
	int64_t tai_s = floor_div(phc_tai_ns, NS_PER_S);
	int64_t utc_guess_s;

	if (!ls->table)
		return -1;
	/* Using TAI as UTC is off by TAI-UTC; one more lookup settles it but near a leap. */
	utc_guess_s = tai_s - leap_tai_utc(ls->table, tai_s);
	return leap_tai_utc(ls->table, utc_guess_s);
}
