/* SPDX-License-Identifier: BSD-2-Clause */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "phcsync/log.h"
#include "phcsync/report.h"
#include "phcsync/units.h"
#include "phcsync/ctl_proto.h"

void report_init(struct report *r, bool observe_only, double interval_s, int readings)
{
	memset(r, 0, sizeof(*r));
	r->observe_only = observe_only;
	r->interval_s = interval_s;
	r->readings = readings;
	r->start_mono_ns = -1;
	ring_init(&r->recent_ns, REPORT_WINDOW);
	ring_init(&r->fit_t_ns, REPORT_WINDOW);
	ring_init(&r->fit_offset_ns, REPORT_WINDOW);
	r->last_sample_mono_ns = -1;
	stats_reset(&r->win_offset);
	stats_reset(&r->win_freq);
	stats_reset(&r->win_delay);
	stats_reset(&r->locked_offset);
}

void report_sample(struct report *r, const struct decide_view *v, int64_t t_mono_ns,
		   int64_t offset_ns, int64_t delay_ns)
{
	r->last_sample_mono_ns = t_mono_ns;
	stats_add(&r->win_delay, (double)delay_ns);
	ring_push_i64(&r->recent_ns, offset_ns);
	if (r->observe_only || v->mode == STATUS_LOCKED) {
		ring_push_i64(&r->fit_t_ns, t_mono_ns);
		ring_push_i64(&r->fit_offset_ns, offset_ns);
	} else {
		ring_clear(&r->fit_t_ns);
		ring_clear(&r->fit_offset_ns);
	}
	/* Samples held while a jump is confirmed or a step verified are no measure of the lock. */
	if (r->observe_only) {
		stats_add(&r->win_offset, (double)offset_ns);
		return;
	}
	if (v->mode != STATUS_LOCKED)
		return;
	stats_add(&r->win_offset, (double)offset_ns);
	stats_add(&r->win_freq, v->freq_ppb);
	stats_add(&r->locked_offset, (double)offset_ns);
}

void report_summary(struct report *r, const struct decide_view *v, const struct measure_view *m)
{
	if (r->win_offset.count == 0) {
		log_info("summary: %s, no samples while locked (%ld read failures, %ld rejected)",
			 status_state_name(v->mode), v->counts.read_failures, m->rejected);
	} else {
		log_info(
			"summary: offset rms %.0f ns max %.0f ns, freq mean %+.3f ppb sd %.3f ppb, "
			"delay mean %.0f ns, %ld samples",
			stats_rms(&r->win_offset), stats_max_abs(&r->win_offset),
			r->observe_only ? v->freq_ppb : stats_mean(&r->win_freq),
			stats_stddev(&r->win_freq), stats_mean(&r->win_delay), r->win_offset.count);
	}
	stats_reset(&r->win_offset);
	stats_reset(&r->win_freq);
	stats_reset(&r->win_delay);
}

/* The states' one vocabulary (status_state_name), as status and metrics show it. */
static const char *state_text(const struct report *r, const struct decide_view *v, char *buf,
			      size_t len)
{
	if (v->mode == STATUS_FAULT)
		snprintf(buf, len, "fault (%s)%s", decide_fault_name(v->fault),
			 r->observe_only ? ", observe-only" : "");
	else
		snprintf(buf, len, "%s%s", status_state_name(v->mode),
			 r->observe_only ? " (observe-only)" : "");
	return buf;
}

void report_final(const struct report *r, const struct decide_view *v, const struct measure_view *m,
		  const char *conf_device, int64_t now_mono_ns)
{
	double uptime_s =
		r->start_mono_ns < 0 ? 0.0 : (double)(now_mono_ns - r->start_mono_ns) / NS_PER_S;
	char state[64];

	if (m->ever_opened)
		log_info("report: device %s (%s), readout %s", m->device, m->clock_name,
			 phc_method_name(m->method));
	else
		log_info("report: device %s never found", conf_device);
	log_info("report: state %s, last offset %+" PRId64 " ns, error bound %" PRId64
		 " ns, delay %" PRId64 " ns",
		 state_text(r, v, state, sizeof(state)), v->last_offset_ns, v->last_error_ns,
		 m->last_delay_ns);
	log_info("report: offset while locked rms %.0f ns max %.0f ns over %ld updates",
		 stats_rms(&r->locked_offset), stats_max_abs(&r->locked_offset),
		 r->locked_offset.count);
	log_info("report: %s %+.3f ppb, poll interval %.3f s, %d readings per poll",
		 r->observe_only ? "drift" : "frequency", v->freq_ppb, r->interval_s, r->readings);
	if (v->counts.steps)
		log_info("report: %ld step(s), last %+.9f s at %.3f s after start", v->counts.steps,
			 (double)v->last_step_ns / NS_PER_S,
			 (double)(v->last_step_mono_ns - r->start_mono_ns) / NS_PER_S);
	else
		log_info("report: no steps");
	log_info("report: %ld updates, %ld read failures, %ld rejected bursts, uptime %.0f s",
		 v->counts.updates, v->counts.read_failures, m->rejected, uptime_s);
	if (v->counts.disruptions || v->counts.step_refusals || v->counts.reference_faults ||
	    v->counts.adjust_refusals)
		log_info("report: %ld disruptions, %ld steps refused by the budget, %ld reference "
			 "faults, %ld adjustments refused by the kernel",
			 v->counts.disruptions, v->counts.step_refusals, v->counts.reference_faults,
			 v->counts.adjust_refusals);
}

/* The residual frequency and its standard error from the fit window (see report.h). */
static void residual_freq(const struct report *r, struct status *st)
{
	double t_s[REPORT_WINDOW], offset_ns[REPORT_WINDOW];
	int n = r->fit_t_ns.count;

	for (int i = 0; i < n; i++) {
		/* Seconds from the first sample: small numbers keep the fit exact. */
		t_s[i] = (double)(ring_at_i64(&r->fit_t_ns, i) - ring_at_i64(&r->fit_t_ns, 0)) /
			 NS_PER_S;
		offset_ns[i] = (double)ring_at_i64(&r->fit_offset_ns, i);
	}
	if (stats_slope(t_s, offset_ns, n, &st->freq_residual_ppb, &st->freq_skew_ppb) == 0)
		st->freq_window = n;
}

void report_status(const struct report *r, const struct decide_view *v,
		   const struct measure_view *m, const struct leapsec *ls, int64_t now_mono_ns,
		   int64_t now_utc_ns, struct status *st)
{
	int64_t now_utc_s = now_utc_ns / NS_PER_S;
	struct stats recent;

	memset(st, 0, sizeof(*st));
	st->version = CTL_PROTO_VERSION;
	snprintf(st->device, sizeof(st->device), "%s", m->device);
	snprintf(st->clock_name, sizeof(st->clock_name), "%s", m->clock_name);
	snprintf(st->readout, sizeof(st->readout), "%s", phc_method_name(m->method));
	snprintf(st->servo_state, sizeof(st->servo_state), "%s",
		 v->have_servo_state ? servo_state_name(v->servo_state) : "none");
	st->state = v->mode;
	snprintf(st->fault, sizeof(st->fault), "%s", decide_fault_name(v->fault));
	st->observe_only = r->observe_only;
	st->stable = v->mode == STATUS_LOCKED && v->stable;
	st->have_sample = v->counts.updates > 0;
	st->last_offset_ns = v->last_offset_ns;
	stats_reset(&recent);
	for (int i = 0; i < r->recent_ns.count; i++)
		stats_add(&recent, (double)r->recent_ns.v.i64[i]);
	st->rms_offset_ns = stats_rms(&recent);
	st->max_offset_ns = stats_max_abs(&recent);
	st->window = r->recent_ns.count;
	st->freq_ppb = v->freq_ppb;
	st->delay_ns = m->last_delay_ns;
	st->error_bound_ns = v->last_error_ns;
	st->poll_interval_s = r->interval_s;
	st->counts = v->counts;
	st->last_step_ns = v->last_step_ns;
	st->last_step_age_s =
		v->counts.steps ? (double)(now_mono_ns - v->last_step_mono_ns) / NS_PER_S : -1.0;
	st->uptime_s =
		r->start_mono_ns < 0 ? 0.0 : (double)(now_mono_ns - r->start_mono_ns) / NS_PER_S;
	st->rejected_bursts = m->rejected;
	st->reopens = m->reopens;
	st->tai_utc_s = -1;
	if (ls && ls->table) {
		int64_t when_s;
		int dir;

		st->tai_utc_s = leap_tai_utc(ls->table, now_utc_s);
		if (leap_next(ls->table, now_utc_s, &when_s, &dir) == 0) {
			st->next_leap = dir;
			st->next_leap_utc_s = when_s;
		}
		st->leap_expiry_utc_s = leap_expiry(ls->table);
		st->leap_table_expired = leap_expired(ls->table, now_utc_s);
	}
	st->leap_smear_ns = v->smear_ns;
	st->max_error_ns = v->maxerror_ns;
	st->slew_remaining_ns = v->slew_remaining_ns;
	st->reference_rate_ppb = v->reference_rate_ppb;
	st->last_sample_age_s = -1.0;
	if (r->last_sample_mono_ns >= 0) {
		st->last_sample_age_s = (double)(now_mono_ns - r->last_sample_mono_ns) / NS_PER_S;
		st->last_sample_utc_s = (double)now_utc_ns / NS_PER_S - st->last_sample_age_s;
	}
	residual_freq(r, st);
}
