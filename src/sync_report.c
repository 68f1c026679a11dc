/* What the discipline tells: summaries, the closing report, the status snapshot. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "phcsync/log.h"
#include "sync_private.h"

void sync_log_summary(struct sync *s)
{
	if (s->win_offset.count == 0) {
		log_info("summary: no samples while locked (%ld read failures, %ld rejected)",
			 s->read_failures, s->rejected);
		stats_reset(&s->win_freq);
		stats_reset(&s->win_delay);
		return;
	}
	log_info("summary: offset rms %.0f ns max %.0f ns, freq mean %+.3f ppb sd %.3f ppb, "
		 "delay mean %.0f ns, %ld samples",
		 stats_rms(&s->win_offset), stats_max_abs(&s->win_offset),
		 s->clk->observe_only ? s->freq_ppb : stats_mean(&s->win_freq),
		 stats_stddev(&s->win_freq), stats_mean(&s->win_delay), s->win_offset.count);
	stats_reset(&s->win_offset);
	stats_reset(&s->win_freq);
	stats_reset(&s->win_delay);
}

void sync_log_report(struct sync *s, int64_t now_mono_ns)
{
	const char *state = s->clk->observe_only ? "observing"
			    : s->panicking	 ? "refusing (beyond max_offset_panic)"
			    : s->have_state	 ? servo_state_name(s->state)
						 : "no sample yet";
	double uptime_s =
		s->start_mono_ns < 0 ? 0.0 : (double)(now_mono_ns - s->start_mono_ns) / NS_PER_S;

	if (s->ever_opened)
		log_info("report: device %s (%s), readout %s", s->device, s->clock_name,
			 phc_method_name(s->method));
	else
		log_info("report: device %s never found", s->conf.device);
	log_info("report: state %s, last offset %+" PRId64 " ns, error bound %" PRId64
		 " ns, delay %" PRId64 " ns",
		 state, s->last_offset_ns, s->last_error_ns, s->last_delay_ns);
	log_info("report: offset while locked rms %.0f ns max %.0f ns over %ld updates",
		 stats_rms(&s->locked_offset), stats_max_abs(&s->locked_offset),
		 s->locked_offset.count);
	log_info("report: %s %+.3f ppb, poll interval %.3f s, %d readings per poll",
		 s->clk->observe_only ? "drift" : "frequency", s->freq_ppb, s->conf.poll_interval_s,
		 s->readings);
	if (s->steps)
		log_info("report: %ld step(s), last %+.9f s at %.3f s after start", s->steps,
			 (double)s->last_step_ns / NS_PER_S,
			 (double)(s->last_step_mono_ns - s->start_mono_ns) / NS_PER_S);
	else
		log_info("report: no steps");
	log_info("report: %ld updates, %ld read failures, %ld rejected bursts, uptime %.0f s",
		 s->updates, s->read_failures, s->rejected, uptime_s);
}

void sync_get_status(const struct sync *s, int64_t now_mono_ns, struct status *st)
{
	struct stats recent;

	memset(st, 0, sizeof(*st));
	st->version = 1;
	snprintf(st->device, sizeof(st->device), "%s", s->device);
	snprintf(st->clock_name, sizeof(st->clock_name), "%s", s->clock_name);
	snprintf(st->readout, sizeof(st->readout), "%s", phc_method_name(s->method));
	snprintf(st->servo_state, sizeof(st->servo_state), "%s",
		 s->have_state ? servo_state_name(s->state) : "none");
	st->observe_only = s->clk->observe_only;
	if (s->panicking || !s->ever_opened)
		st->state = STATUS_FAULT;
	else if (s->holdover)
		st->state = STATUS_HOLDOVER;
	else if (s->suspect)
		st->state = STATUS_STEPPING;
	else if (s->slewing)
		st->state = STATUS_UNLOCKED;
	else if (s->have_state && sync_is_locked(s->state))
		st->state = STATUS_LOCKED;
	else if (s->have_state && s->state == SERVO_STEP)
		st->state = STATUS_STEPPING;
	else
		st->state = STATUS_UNLOCKED;
	st->stable = s->have_state && s->state == SERVO_LOCKED_STABLE;
	st->have_sample = s->updates > 0;
	st->last_offset_ns = s->last_offset_ns;
	stats_reset(&recent);
	for (int i = 0; i < s->recent_count; i++)
		stats_add(&recent, (double)s->recent_offset_ns[i]);
	st->rms_offset_ns = stats_rms(&recent);
	st->max_offset_ns = stats_max_abs(&recent);
	st->window = s->recent_count;
	st->freq_ppb = s->freq_ppb;
	st->delay_ns = s->last_delay_ns;
	st->error_bound_ns = s->last_error_ns;
	st->poll_interval_s = s->conf.poll_interval_s;
	st->updates = s->updates;
	st->steps = s->steps;
	st->last_step_ns = s->last_step_ns;
	st->last_step_age_s =
		s->steps ? (double)(now_mono_ns - s->last_step_mono_ns) / NS_PER_S : -1.0;
	st->uptime_s =
		s->start_mono_ns < 0 ? 0.0 : (double)(now_mono_ns - s->start_mono_ns) / NS_PER_S;
	st->read_failures = s->read_failures;
	st->rejected_bursts = s->rejected;
	st->reopens = s->reopens;
	st->tai_utc_s = -1;
	if (s->leap.table) {
		int64_t now_s = sync_realtime_s(), when_s;
		int dir;

		st->tai_utc_s = leap_tai_utc(s->leap.table, now_s);
		if (leap_next(s->leap.table, now_s, &when_s, &dir) == 0) {
			st->next_leap = dir;
			st->next_leap_utc_s = when_s;
		}
		st->leap_expiry_utc_s = leap_expiry(s->leap.table);
		st->leap_table_expired = leap_expired(s->leap.table, now_s);
	}
	st->leap_smear_ns = s->smear_ns;
}
