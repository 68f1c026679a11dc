/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One synchronisation source, wired as measure -> decide -> act: the PHC's sample (or its
 * failure) goes to the pure decide stage, whose action act carries out on the clock; a
 * refusal goes back to decide. Besides the wiring: the leap table and the driftfile (files),
 * and the figures report shows. The config is turned here into each stage's parameters.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "phcsync/act.h"
#include "phcsync/decide.h"
#include "phcsync/driftfile.h"
#include "phcsync/filter.h"
#include "phcsync/leapsec.h"
#include "phcsync/log.h"
#include "phcsync/measure.h"
#include "phcsync/report.h"
#include "phcsync/rtchint.h"
#include "phcsync/sync.h"
#include "phcsync/units.h"
#include "phcsync/vmclock_dev.h"

#define DRIFT_WRITE_INTERVAL_NS (3600 * NS_PER_S)
/* Once stable, a narrower loop passes less read noise to the clock (measured under the
 * simulator: RMS 48 -> 22 ns on KVM, 245 -> 173 ns on ptp_vmw). */
#define STABLE_KP_SCALE 0.3
#define STABLE_KI_SCALE 0.1
/* A host clock running free keeps no promise: this much is added to the error bound. */
#define VMCLOCK_FREERUN_ERROR_NS 1000000
/* A leap announcement the table can confirm: one within this many days. */
#define VMCLOCK_LEAP_HORIZON_S (31 * 86400)

struct sync {
	struct clk *clk;
	struct measure *measure;
	struct decide *decide;
	struct leapsec leap;
	struct report report;
	char conf_device[CONF_DEVICE_MAX];
	char driftfile[CONF_PATH_MAX];
	const char *leapfile_conf; /* points into conf_copy */
	struct conf conf_copy;	   /* as running: for leap table reloads */
	int readings;
	int max_reads_per_second;
	bool quick_poll;
	bool rtc_checked;
	int64_t drift_written_mono_ns;
	int told_mode; /* decide's mode as sync_state_changed last reported it; -1: none yet */
	bool told_sample;
	/* The vmclock page: the device, its last good snapshot, what was last reported. */
	struct vmclock_dev *vm;
	struct vmclock_snap vm_last;
	bool vm_have;
	char vm_bad[200];	 /* the last malformation reported; "": the page is good */
	uint64_t vm_warn_marker; /* the marker when a disruption was announced */
	bool drift_untrusted;	 /* restored: no driftfile until locked again */
	uint64_t vm_bad_reads;
};

static int readings_per_poll(const struct conf *c)
{
	int n = c->readings;

	if (c->max_reads_per_second > 0) {
		int cap = (int)floor(c->max_reads_per_second * c->poll_interval_s);

		if (cap < 1)
			cap = 1;
		if (n > cap)
			n = cap;
	}
	return n;
}

static int64_t realtime_s(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return 0;
	return ts.tv_sec;
}

static void format_day(int64_t utc_s, char *buf, size_t len)
{
	time_t t = (time_t)utc_s;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, len, "?");
}

static void describe_leap_table(struct sync *s, const char *what)
{
	char expiry[32] = "unknown", next[48] = "none known";
	int64_t now_s = realtime_s(), when_s;
	int dir;

	if (leap_expiry(s->leap.table))
		format_day(leap_expiry(s->leap.table), expiry, sizeof(expiry));
	if (leap_next(s->leap.table, now_s, &when_s, &dir) == 0) {
		format_day(when_s - 1, next, sizeof(next));
		snprintf(next + strlen(next), sizeof(next) - strlen(next), " (%+d s)", dir);
	}
	log_info("leap table %s %s: %zu entries, TAI-UTC %d s, next leap %s, expires %s", what,
		 s->leap.path, leap_count(s->leap.table), leap_tai_utc(s->leap.table, now_s), next,
		 expiry);
}

static int open_leap(struct sync *s, const struct conf *conf)
{
	char err[1024];
	int ret = leapsec_open(&s->leap, conf, err, sizeof(err));

	if (ret < 0 && conf->leapfile[0]) {
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

/* Start from the driftfile's frequency, when it holds a sane one. */
static bool load_drift(const char *path, double *freq_ppb)
{
	double freq, unc;
	int ret = driftfile_read(path, &freq, &unc);

	if (ret == -ENOENT) {
		log_info("driftfile %s: not there yet", path);
		return false;
	}
	if (ret < 0) {
		log_warn("driftfile %s: ignored: %s", path, driftfile_strerror(ret));
		return false;
	}
	log_info("driftfile %s: starting from %+.3f ppb (uncertainty %.3f ppb)", path, freq, unc);
	*freq_ppb = freq;
	return true;
}

static void save_drift(struct sync *s, int64_t now_mono_ns)
{
	const struct decide_view *v = decide_view(s->decide);
	double freq = decide_held_freq_ppb(s->decide);
	double unc = decide_freq_spread_ppb(s->decide);
	int ret;

	if (!s->driftfile[0] || !v->ever_locked || s->clk->observe_only || s->drift_untrusted)
		return;
	s->drift_written_mono_ns = now_mono_ns;
	if (unc > DRIFTFILE_UNC_MAX_PPB)
		unc = DRIFTFILE_UNC_MAX_PPB;
	ret = driftfile_write(s->driftfile, freq, unc);
	if (ret < 0)
		log_warn("driftfile %s: cannot write: %s", s->driftfile, strerror(-ret));
	else
		log_debug("driftfile %s: wrote %+.3f ppb", s->driftfile, freq);
}

static void decide_params_from_conf(struct decide_params *p, const struct conf *c,
				    const struct clk *clk, double start_freq_ppb, bool trusted)
{
	decide_params_defaults(p, c->poll_interval_s);
	p->servo_type = c->servo;
	p->servo.kp = c->pi_kp;
	p->servo.ki = c->pi_ki;
	/* Explicit gains are used as given, so linuxptp tuning carries over unchanged. */
	if (c->pi_kp == 0 && c->pi_ki == 0) {
		p->servo.stable_kp_scale = STABLE_KP_SCALE;
		p->servo.stable_ki_scale = STABLE_KI_SCALE;
	}
	p->servo.max_freq_ppb = clk_max_freq_ppb(clk);
	p->servo.freq_trusted = trusted;
	p->first_step_threshold_ns = (int64_t)llround(c->first_step_threshold_s * NS_PER_S);
	p->step_threshold_ns = (int64_t)llround(c->step_threshold_s * NS_PER_S);
	p->start_freq_ppb = start_freq_ppb;
	p->panic_ns = (int64_t)llround(c->max_offset_panic_s * NS_PER_S);
	p->allow_large_step = c->allow_large_step;
	p->disruption_samples = c->disruption_samples;
	p->holdover_after = c->holdover_after;
	p->step_window_ns = (int64_t)llround(c->step_window_s * NS_PER_S);
	p->step_limit_back_ns = (int64_t)llround(c->step_limit_back_s * NS_PER_S);
	p->step_limit_count = c->step_limit_count;
	p->reference_freq_limit_ppb = c->reference_freq_limit_ppm * 1000.0;
	p->observe_only = clk->observe_only;
	p->rtcsync = c->rtcsync;
	p->utc_offset_s = c->utc_offset_s;
}

/* ---- the vmclock page ---- */

static void vm_describe(const struct vmclock_snap *v, char *buf, size_t len)
{
	char flags[160];

	vmclock_flags_str(v->flags, flags, sizeof(flags));
	snprintf(buf, len, "clock status %s, flags %s, disruption marker %#llx, VM generation %llu",
		 vmclock_status_name(v->clock_status), flags[0] ? flags : "none",
		 (unsigned long long)v->disruption_marker, (unsigned long long)v->vm_generation);
}

/* The page's leap second and TAI-UTC against the table's; the table wins unless expired. */
static void vm_leap_check(struct sync *s, const struct vmclock_snap *v)
{
	int64_t now_s = realtime_s(), when_s = 0, expiry_s;
	int dir = 0, table_dir = 0;
	char why[200];

	if (!s->leap.table)
		return;
	if (leap_next(s->leap.table, now_s, &when_s, &dir) == 0 &&
	    when_s - now_s <= VMCLOCK_LEAP_HORIZON_S)
		table_dir = dir;
	if (vmclock_leap_agrees(v, table_dir, leap_tai_utc(s->leap.table, now_s), why, sizeof(why)))
		return;
	expiry_s = leap_expiry(s->leap.table);
	if (expiry_s && expiry_s < now_s)
		log_warn("vmclock %s: %s; the leap table %s has expired: update it, the page is "
			 "likely right",
			 vmclock_dev_path(s->vm), why, s->leap.path);
	else
		log_warn("vmclock %s: %s; following the leap table %s", vmclock_dev_path(s->vm),
			 why, s->leap.path);
}

/*
 * Read the page and tell decide what it says. Returns true when it brought news that a
 * pass should act on now (a disruption, an announcement, a change of the host's status).
 */
static bool vm_check(struct sync *s, int64_t now_mono_ns)
{
	struct decide_vmclock dv = {0};
	struct vmclock_snap v;
	char why[200], desc[256];
	unsigned ev = 0;
	int ret;

	if (!s->vm)
		return false;
	ret = vmclock_dev_read(s->vm, &v, why, sizeof(why));
	if (ret < 0) {
		s->vm_bad_reads++;
		if (strcmp(why, s->vm_bad))
			log_warn("vmclock %s: page ignored: %s", vmclock_dev_path(s->vm), why);
		snprintf(s->vm_bad, sizeof(s->vm_bad), "%s", why);
		/* Untrusted: nothing of it reaches the discipline. */
		decide_vmclock(s->decide, &dv);
		return false;
	}
	if (s->vm_bad[0]) {
		log_notice("vmclock %s: the page is readable again", vmclock_dev_path(s->vm));
		s->vm_bad[0] = '\0';
	}
	if (s->vm_have)
		ev = vmclock_compare(&s->vm_last, &v);
	else
		ev = VMCLOCK_EV_LEAP | (vmclock_freerunning(&v) ? VMCLOCK_EV_STATUS : 0) |
		     (vmclock_warned(&v) ? VMCLOCK_EV_WARN_ON : 0);
	if (ev & VMCLOCK_EV_RESTORE) {
		snprintf(dv.cause, sizeof(dv.cause), "snapshot restore (VM generation %llu)",
			 (unsigned long long)v.vm_generation);
		dv.disrupted = dv.restored = true;
		s->drift_untrusted = true;
	} else if (ev & VMCLOCK_EV_DISRUPTION) {
		snprintf(dv.cause, sizeof(dv.cause), "disruption marker %#llx (migration)",
			 (unsigned long long)v.disruption_marker);
		dv.disrupted = true;
	}
	if (dv.disrupted)
		log_notice("vmclock %s: %s: measuring again now", vmclock_dev_path(s->vm),
			   dv.cause);
	if (ev & VMCLOCK_EV_WARN_ON) {
		s->vm_warn_marker = v.disruption_marker;
		log_notice("vmclock %s: a disruption is announced (%s): holding the frequency",
			   vmclock_dev_path(s->vm),
			   v.flags & VMCLOCK_FLAG_DISRUPTION_IMMINENT ? "imminent" : "soon");
	}
	if (ev & VMCLOCK_EV_WARN_OFF)
		log_notice("vmclock %s: the announced disruption was withdrawn",
			   vmclock_dev_path(s->vm));
	if (ev & VMCLOCK_EV_STATUS)
		log_notice("vmclock %s: the host's clock is %s%s", vmclock_dev_path(s->vm),
			   vmclock_status_name(v.clock_status),
			   vmclock_freerunning(&v) ? ": widening the error bound" : "");
	if (ev & VMCLOCK_EV_LEAP)
		vm_leap_check(s, &v);
	/* Held until the marker moves (the disruption came) or the flag clears. */
	dv.warned = vmclock_warned(&v) && v.disruption_marker == s->vm_warn_marker;
	dv.unreliable = vmclock_unreliable(&v);
	dv.maxerror_ns =
		vmclock_maxerror_ns(&v) + (vmclock_freerunning(&v) ? VMCLOCK_FREERUN_ERROR_NS : 0);
	dv.esterror_ns = vmclock_esterror_ns(&v);
	decide_vmclock(s->decide, &dv);
	if (!s->vm_have) {
		vm_describe(&v, desc, sizeof(desc));
		log_info("vmclock %s: %s; changes %s", vmclock_dev_path(s->vm), desc,
			 v.flags & VMCLOCK_FLAG_NOTIFICATION_PRESENT ? "wake the loop"
								     : "are read at every poll");
	}
	(void)now_mono_ns;
	s->vm_last = v;
	s->vm_have = true;
	return ev & (VMCLOCK_EV_DISRUPTION | VMCLOCK_EV_WARN_ON | VMCLOCK_EV_WARN_OFF |
		     VMCLOCK_EV_STATUS);
}

static int open_vmclock(struct sync *s, const struct conf *conf)
{
	char why[400];
	int ret = vmclock_dev_open(&s->vm, conf->vmclock, why, sizeof(why));

	if (ret < 0) {
		log_err("vmclock: %s", why);
		return ret;
	}
	if (why[0])
		log_warn("vmclock: %s", why);
	if (!s->vm && !strcmp(conf->vmclock, "auto"))
		log_debug("vmclock auto: no /dev/vmclockN");
	return 0;
}

int sync_vmclock_fd(const struct sync *s)
{
	return vmclock_dev_poll_fd(s->vm);
}

void sync_vmclock_poll_failed(struct sync *s, short revents)
{
	log_warn("vmclock %s: poll() reports %s: reading the page at every poll instead",
		 vmclock_dev_path(s->vm),
		 revents & POLLNVAL  ? "an invalid fd"
		 : revents & POLLHUP ? "a hang-up"
				     : "an error");
	vmclock_dev_stop_notify(s->vm);
}

bool sync_vmclock_changed(struct sync *s, int64_t now_mono_ns)
{
	return vm_check(s, now_mono_ns);
}

int sync_create(struct sync **out, const struct conf *conf, struct clk *clk)
{
	struct measure_params mp = {0};
	struct decide_params dp;
	struct sync *s = calloc(1, sizeof(*s));
	double freq_ppb = 0.0;
	bool trusted = false;
	int ret;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->clk = clk;
	s->told_mode = -1;
	s->conf_copy = *conf;
	snprintf(s->conf_device, sizeof(s->conf_device), "%s", conf->device);
	snprintf(s->driftfile, sizeof(s->driftfile), "%s", conf->driftfile);
	s->max_reads_per_second = conf->max_reads_per_second;
	s->readings = readings_per_poll(conf);
	if (s->readings < conf->readings)
		log_notice("readings per poll lowered from %d to %d by max_reads_per_second %d",
			   conf->readings, s->readings, conf->max_reads_per_second);
	ret = clk_get_freq_ppb(clk, &freq_ppb);
	if (ret < 0) {
		log_err("cannot read the system clock's frequency: %s", strerror(-ret));
		free(s);
		return ret;
	}
	if (conf->driftfile[0])
		trusted = load_drift(conf->driftfile, &freq_ppb);
	report_init(&s->report, clk->observe_only, conf->poll_interval_s, s->readings);

	ret = open_leap(s, conf);
	if (ret < 0) {
		free(s);
		return ret;
	}
	decide_params_from_conf(&dp, conf, clk, freq_ppb, trusted);
	s->decide = decide_create(&dp, &s->leap);
	if (!s->decide) {
		log_err("cannot create the discipline");
		sync_destroy(s);
		return -ENOMEM;
	}
	if (trusted && !clk->observe_only) {
		struct action a = {.set_freq = true, .freq_ppb = freq_ppb};

		act_apply(clk, s->decide, &a);
	}
	snprintf(mp.device, sizeof(mp.device), "%s", conf->device);
	mp.readout = conf->readout;
	mp.readings = s->readings;
	mp.burst_combine = conf->burst_combine;
	mp.timescale = conf->timescale;
	mp.utc_offset_s = conf->utc_offset_s;
	mp.offset_ns = conf->offset_ns;
	mp.reopen_after = conf->holdover_after;
	ret = measure_create(&s->measure, &mp, &s->leap, conf->wait_for_device);
	if (ret < 0) {
		sync_destroy(s);
		return ret;
	}
	ret = open_vmclock(s, conf);
	if (ret < 0) {
		sync_destroy(s);
		return ret;
	}
	vm_check(s, 0);
	log_info("servo %s: interval %.3f s, %s, start frequency %+.3f ppb, burst %s, "
		 "first step above %.9f s, later steps above %.9f s%s; step budget %.0f s: "
		 "%.3f s back, %d steps (0: no limit); reference rate limit %.0f ppm (0: off)",
		 servo_type_name(conf->servo), conf->poll_interval_s,
		 conf->servo != SERVO_PI	      ? "noise estimated from the data"
		 : conf->pi_kp > 0 || conf->pi_ki > 0 ? "gains set"
						      : "default gains",
		 freq_ppb, filter_combine_name((enum filter_combine)conf->burst_combine),
		 conf->first_step_threshold_s, conf->step_threshold_s,
		 conf->step_threshold_s > 0 ? "" : " (never)", conf->step_window_s,
		 conf->step_limit_back_s, conf->step_limit_count, conf->reference_freq_limit_ppm);
	*out = s;
	return 0;
}

void sync_update(struct sync *s, int64_t now_mono_ns)
{
	struct decide_sample sample;
	struct action a;
	char msg[512];
	int ret;

	if (s->report.start_mono_ns < 0)
		s->report.start_mono_ns = now_mono_ns;
	vm_check(s, now_mono_ns);
	ret = measure_take(s->measure, now_mono_ns, &sample);
	if (ret == 0) {
		decide_no_sample(s->decide, &a);
		act_apply(s->clk, s->decide, &a);
		return;
	}
	if (ret < 0) {
		decide_failure(s->decide, -ret, measure_view(s->measure)->ever_opened, now_mono_ns,
			       &a);
		act_apply(s->clk, s->decide, &a);
		s->quick_poll = a.quick_poll;
		return;
	}
	if (!s->rtc_checked) {
		s->rtc_checked = true;
		if (rtchint_check(sample.offset_ns, msg, sizeof(msg)))
			log_warn("%s", msg);
	}
	decide_sample(s->decide, &sample, &a);
	act_apply(s->clk, s->decide, &a);
	s->quick_poll = a.quick_poll;
	if (s->drift_untrusted && decide_view(s->decide)->mode == STATUS_LOCKED)
		s->drift_untrusted = false;
	report_sample(&s->report, decide_view(s->decide), now_mono_ns, sample.offset_ns,
		      measure_view(s->measure)->last_delay_ns);
	log_debug("offset %+lld ns mode %s freq %+.3f ppb error %lld ns",
		  (long long)sample.offset_ns, status_state_name(decide_view(s->decide)->mode),
		  decide_view(s->decide)->freq_ppb, (long long)sample.error_ns);
	if (decide_view(s->decide)->ever_locked) {
		if (s->drift_written_mono_ns == 0)
			s->drift_written_mono_ns = now_mono_ns;
		else if (now_mono_ns - s->drift_written_mono_ns >= DRIFT_WRITE_INTERVAL_NS)
			save_drift(s, now_mono_ns);
	}
}

void sync_log_summary(struct sync *s)
{
	report_summary(&s->report, decide_view(s->decide), measure_view(s->measure));
}

void sync_log_report(struct sync *s, int64_t now_mono_ns)
{
	report_final(&s->report, decide_view(s->decide), measure_view(s->measure), s->conf_device,
		     now_mono_ns);
}

int sync_reload(struct sync *s, const struct conf *conf, char *msg, size_t msglen)
{
	struct measure_params mp = {0};
	struct decide_params dp;
	char err[1024];
	int ret;

	s->conf_copy = *conf;
	snprintf(s->driftfile, sizeof(s->driftfile), "%s", conf->driftfile);
	s->max_reads_per_second = conf->max_reads_per_second;
	s->readings = readings_per_poll(conf);
	s->report.readings = s->readings;
	mp.readings = s->readings;
	mp.offset_ns = conf->offset_ns;
	mp.reopen_after = conf->holdover_after;
	measure_set_live(s->measure, &mp);
	decide_params_from_conf(&dp, conf, s->clk, 0.0, false);
	decide_set_live(s->decide, &dp);

	ret = leapsec_reload(&s->leap, &s->conf_copy, err, sizeof(err));
	if (ret < 0) {
		log_warn("leap table reload failed, keeping the old one: %s", err);
		snprintf(msg, msglen, "leap table reload failed, keeping the old one: %s", err);
		return ret;
	}
	if (s->leap.table)
		describe_leap_table(s, "reloaded");
	decide_set_leap(s->decide, &s->leap);
	measure_set_leap(s->measure, &s->leap);
	snprintf(msg, msglen, "%s", s->leap.table ? "leap table reloaded" : "no leap table");
	return 0;
}

int sync_step_now(struct sync *s, int64_t now_mono_ns, char *msg, size_t msglen)
{
	struct decide_sample sample;
	struct action a;
	int ret;

	if (s->clk->observe_only) {
		snprintf(msg, msglen, "observe-only: the clock is never adjusted");
		return -EPERM;
	}
	if (measure_take(s->measure, now_mono_ns, &sample) != 1) {
		snprintf(msg, msglen, "no sample from %s now", measure_view(s->measure)->device);
		return -EIO;
	}
	ret = decide_request_step(s->decide, &sample, &a);
	if (ret < 0) {
		act_log_events(&a);
		snprintf(msg, msglen, "%s", a.nevents ? a.events[a.nevents - 1].text : "refused");
		return ret;
	}
	ret = act_apply(s->clk, s->decide, &a);
	if (ret < 0) {
		snprintf(msg, msglen, "the kernel refused the step: %s", strerror(-ret));
		return ret;
	}
	snprintf(msg, msglen, "stepped the clock by %+.9f s", (double)a.step_ns / NS_PER_S);
	return 0;
}

void sync_reset(struct sync *s)
{
	struct action a;

	decide_request_reset(s->decide, &a);
	act_apply(s->clk, s->decide, &a);
}

void sync_get_status(const struct sync *s, int64_t now_mono_ns, struct status *st)
{
	struct timespec ts = {0};

	/* 0 (1970) rather than a made-up time when the clock cannot be read. */
	clock_gettime(CLOCK_REALTIME, &ts);
	report_status(&s->report, decide_view(s->decide), measure_view(s->measure), &s->leap,
		      now_mono_ns, (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec, st);
	snprintf(st->servo, sizeof(st->servo), "%s", conf_value_name("servo", s->conf_copy.servo));
	if (s->vm) {
		const struct decide_view *v = decide_view(s->decide);

		st->vmclock_present = true;
		st->vmclock_good = s->vm_have && !s->vm_bad[0];
		snprintf(st->vmclock_device, sizeof(st->vmclock_device), "%s",
			 vmclock_dev_path(s->vm));
		snprintf(st->vmclock_status, sizeof(st->vmclock_status), "%s",
			 s->vm_have ? vmclock_status_name(s->vm_last.clock_status) : "unknown");
		vmclock_flags_str(s->vm_last.flags, st->vmclock_flags, sizeof(st->vmclock_flags));
		st->vmclock_marker = s->vm_last.disruption_marker;
		st->vmclock_generation = s->vm_last.vm_generation;
		st->vmclock_disruptions = (long)v->vmclock_disruptions;
		st->vmclock_restores = (long)v->vmclock_restores;
		st->vmclock_bad_reads = (long)s->vm_bad_reads;
	}
}

bool sync_state_changed(struct sync *s, int64_t now_mono_ns, struct status *st)
{
	const struct decide_view *v = decide_view(s->decide);

	if ((int)v->mode == s->told_mode && (v->counts.updates > 0) == s->told_sample)
		return false;
	s->told_mode = (int)v->mode;
	s->told_sample = v->counts.updates > 0;
	sync_get_status(s, now_mono_ns, st);
	return true;
}

int64_t sync_take_quick_poll(struct sync *s)
{
	int64_t delay_ns = decide_quick_poll_ns();

	if (!s->quick_poll)
		return 0;
	s->quick_poll = false;
	/* Never beyond the configured read budget. */
	if (s->max_reads_per_second > 0 &&
	    (int64_t)s->readings * NS_PER_S / s->max_reads_per_second > delay_ns)
		delay_ns = (int64_t)s->readings * NS_PER_S / s->max_reads_per_second;
	return delay_ns;
}

void sync_note_suspend(struct sync *s, int64_t slept_ns, int64_t now_mono_ns)
{
	decide_note_suspend(s->decide, slept_ns, now_mono_ns);
}

void sync_shutdown(struct sync *s, int64_t now_mono_ns)
{
	struct action a = {
		.set_status = true,
		.maxerror_ns = 16000000000LL,
		.esterror_ns = 16000000000LL,
		.synced = false,
	};

	save_drift(s, now_mono_ns);
	if (s->clk->observe_only)
		return;
	/* Nobody disciplines the clock any more. */
	act_apply(s->clk, s->decide, &a);
}

void sync_destroy(struct sync *s)
{
	if (!s)
		return;
	decide_destroy(s->decide);
	measure_destroy(s->measure);
	vmclock_dev_close(s->vm);
	leapsec_close(&s->leap);
	free(s);
}
