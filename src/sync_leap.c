/* Leap seconds in the discipline: the table, the kernel's leap bits and TAI offset, smear. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "phcsync/clk.h"
#include "phcsync/log.h"
#include "sync_private.h"

int64_t sync_realtime_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

void sync_format_day(int64_t utc_s, char *buf, size_t len)
{
	time_t t = (time_t)utc_s;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

static void describe_leap_table(struct sync *s, const char *what)
{
	char expiry[32] = "unknown", next[32] = "none known";
	int64_t now_s = sync_realtime_s(), when_s;
	int dir;

	if (leap_expiry(s->leap.table))
		sync_format_day(leap_expiry(s->leap.table), expiry, sizeof(expiry));
	if (leap_next(s->leap.table, now_s, &when_s, &dir) == 0) {
		sync_format_day(when_s - 1, next, sizeof(next));
		snprintf(next + strlen(next), sizeof(next) - strlen(next), " (%+d s)", dir);
	}
	log_info("leap table %s %s: %zu entries, TAI-UTC %d s, next leap %s, expires %s", what,
		 s->leap.path, leap_count(s->leap.table), leap_tai_utc(s->leap.table, now_s), next,
		 expiry);
}

/* Warned at start and once a day: an old table misses leaps announced since. */
static void warn_expiry(struct sync *s, int64_t utc_s)
{
	int64_t day = utc_s / 86400;
	char expiry[32];

	if (!s->leap.table || day == s->expiry_warned_day)
		return;
	s->expiry_warned_day = day;
	if (!leap_expires_within(s->leap.table, utc_s, LEAPSEC_EXPIRY_WARN_DAYS))
		return;
	sync_format_day(leap_expiry(s->leap.table), expiry, sizeof(expiry));
	log_warn("leap table %s %s on %s: update tzdata; known leap seconds are still applied",
		 s->leap.path, leap_expired(s->leap.table, utc_s) ? "expired" : "expires", expiry);
}

int sync_leap_open(struct sync *s)
{
	char err[1024];
	int ret = leapsec_open(&s->leap, &s->conf, err, sizeof(err));

	if (ret < 0 && s->conf.leapfile[0]) {
		log_err("leapfile: %s", err);
		return ret;
	}
	if (ret < 0)
		log_warn("no leap table (%s): leap seconds will not be handled", err);
	else if (!s->leap.table)
		log_info("leapfile none: leap seconds are not handled");
	else
		describe_leap_table(s, "loaded");
	return 0;
}

int sync_reload(struct sync *s, char *msg, size_t msglen)
{
	char err[1024];
	int ret = leapsec_reload(&s->leap, &s->conf, err, sizeof(err));

	if (ret < 0) {
		log_warn("leap table reload failed, keeping the old one: %s", err);
		snprintf(msg, msglen, "leap table reload failed, keeping the old one: %s", err);
		return ret;
	}
	if (s->leap.table)
		describe_leap_table(s, "reloaded");
	s->expiry_warned_day = 0;
	snprintf(msg, msglen, "leap table reloaded");
	return 0;
}

/*
 * Tell the kernel about leap seconds and keep the servo away from them. Returns true when
 * the sample must not be used (it is too close to a leap). Adjusts *offset_ns by the smear.
 */
bool sync_leap_apply(struct sync *s, int64_t *offset_ns, int64_t ref_utc_ns, int64_t now_mono_ns)
{
	struct leap_plan plan;
	char day[32];
	int ret;

	if (!s->leap.table)
		return false;
	leapsec_plan(&s->leap, ref_utc_ns, s->leap_step_done_s, &plan);
	warn_expiry(s, ref_utc_ns / NS_PER_S);
	if (plan.step_dir && !s->clk->observe_only) {
		/* The PHC has taken the leap and our clock has not: take it now, at once. */
		s->leap_step_done_s = plan.leap_utc_s;
		ret = clk_step_ns(s->clk, -(int64_t)plan.step_dir * NS_PER_S);
		log_notice("leap second: %s the clock by %+d s (leap_mode step)%s%s",
			   ret < 0 ? "failed to step" : "stepped", -plan.step_dir,
			   ret < 0 ? ": " : "", ret < 0 ? strerror(-ret) : "");
		if (ret == 0) {
			s->steps++;
			s->last_step_ns = -(int64_t)plan.step_dir * NS_PER_S;
			s->last_step_mono_ns = now_mono_ns;
			/* CLOCK_TAI must not lag the step. */
			if (plan.tai_utc_s >= 0 && clk_set_tai(s->clk, plan.tai_utc_s) == 0) {
				s->kernel_tai_s = plan.tai_utc_s;
				log_notice("TAI offset set to %d s", plan.tai_utc_s);
			}
		}
	}
	if (plan.smear_rate_ppb != s->smear_rate_ppb) {
		/* Fed forward, so the servo never sees the smear's ramp as an error. */
		s->smear_rate_ppb = plan.smear_rate_ppb;
		if (!s->clk->observe_only && s->ever_locked)
			sync_set_freq(s, s->freq_ppb);
	}
	if (plan.ignore_sample) {
		if (s->leap_ignored_s != plan.leap_utc_s) {
			s->leap_ignored_s = plan.leap_utc_s;
			if (!s->clk->observe_only && s->ever_locked)
				sync_set_freq(s, sync_held_freq_ppb(s));
			sync_format_day(plan.leap_utc_s - 1, day, sizeof(day));
			log_notice(
				"leap second at the end of %s: ignoring samples within %d s of it, "
				"frequency held",
				day, LEAPSEC_IGNORE_S);
		}
		return true;
	}
	if (!s->clk->observe_only && plan.tai_utc_s >= 0 && plan.tai_utc_s != s->kernel_tai_s) {
		ret = clk_set_tai(s->clk, plan.tai_utc_s);
		if (ret < 0)
			log_warn("setting the TAI offset failed: %s", strerror(-ret));
		else
			log_notice("TAI offset set to %d s", plan.tai_utc_s);
		s->kernel_tai_s = plan.tai_utc_s;
	}
	if (!s->clk->observe_only && plan.arm != s->armed) {
		ret = clk_set_leap(s->clk, plan.arm);
		if (ret < 0) {
			log_warn("setting the leap status failed: %s", strerror(-ret));
		} else if (plan.arm) {
			sync_format_day(ref_utc_ns / NS_PER_S, day, sizeof(day));
			log_notice("leap second: the kernel will %s a second at the end of %s",
				   plan.arm > 0 ? "insert" : "delete", day);
		} else {
			log_notice("leap second: done, kernel leap status cleared");
		}
		s->armed = plan.arm;
	}
	if (plan.smear_ns != s->smear_ns && (plan.smear_ns == 0 || s->smear_ns == 0))
		log_notice("leap smear %s", plan.smear_ns ? "started" : "finished");
	s->smear_ns = plan.smear_ns;
	*offset_ns -= plan.smear_ns;
	return false;
}
