/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The discipline's decisions. Every correction is one of two kinds: a step (the servo's,
 * a confirmed disruption's, a leap's, an operator's), or a slew: a known offset removed by
 * feeding a frequency forward, as the leap smear is, while the servo sees only what is left
 * (the residual) and keeps learning the oscillator's error. Steps pass the panic limit and
 * the step budget; every sample first passes the reference sanity check.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "phcsync/decide.h"
#include "phcsync/disrupt.h"
#include "phcsync/refsanity.h"
#include "phcsync/ring.h"
#include "phcsync/stepbudget.h"
#include "phcsync/units.h"

/* Good samples in a row that end holdover. */
#define HOLDOVER_EXIT_SAMPLES 3
/* A suspect sample is confirmed by polls this soon, not a whole interval later. */
#define QUICK_POLL_NS (NS_PER_S / 10)
/* Just after a resume or a recovery the offset is known to be wrong: no confirmation. */
#define RESUME_TRUST_NS (10 * NS_PER_S)
/* A suspend this recent is named as the likely cause of a disruption. */
#define SUSPEND_HINT_NS (120 * NS_PER_S)
/* Frequencies averaged for holding (holdover, leap, disruption, faults). */
#define FREQ_HISTORY 16
/* A residual beyond this while the servo is locked is slewed out, not left to the PI
 * (whose output would saturate and claim a lock it does not have). */
#define SLEW_MIN_NS 1000000
/* A refused offset must come this far inside max_offset_panic to be corrected: noise at
 * the limit must not switch between refusing and correcting. */
#define PANIC_HYSTERESIS_NS 1000000
/* The kernel's largest maxerror: nothing is known. */
#define MAXERROR_UNKNOWN_NS (16 * NS_PER_S)
/* After a step, a leap is armed again no sooner than this. */
#define LEAP_REARM_NS (NS_PER_S + NS_PER_S / 10)
/* A slew is done when this little is left; the servo takes the rest. */
#define SLEW_DONE_NS 1000

struct decide {
	struct decide_params p;
	/* The mode the logic is in; v.mode is what is shown, which a kernel refusal overrides,
	 * and changes of it are logged once per pass, at its end. */
	enum status_state mode;
	enum decide_fault fault;
	char why[DECIDE_EVENT_LEN];
	bool kernel_refusing;
	bool resume_unverified; /* resumed, and no sample since */
	const struct leapsec *leap;
	struct servo *servo;
	struct disrupt *disrupt;
	struct stepbudget budget;
	struct refsanity sanity;
	struct decide_view v;
	double base_ppb;      /* the servo's (or held) frequency, without slew and smear */
	double slew_rate_ppb; /* fed forward since slew_t_ns */
	double slew_gain;     /* 1 / (1 + base): what the kernel's rate is against the truth */
	int64_t slew_t_ns;
	int64_t slew_start_ns;
	bool slew_on;
	int64_t slew_done_ns;  /* when the last slew ended */
	bool freq_set;	       /* applied_ppb is on the clock */
	double applied_ppb;    /* the last frequency act was asked to set */
	const char *slew_what; /* "disruption" or "offset", for the log */
	int failures;
	int recovery_good;
	int64_t holdover_since_ns;
	int64_t recovered_ns;
	int64_t holdover_ns;
	int64_t suspend_ns;
	int64_t suspend_mono_ns;
	bool suspect;
	int armed;
	int64_t leap_rearm_ns; /* no STA_INS/STA_DEL before this: see order_step */
	int64_t leap_step_done_s;
	int64_t leap_ignored_s;
	int64_t expiry_warned_day;
	struct ring hist_ppb;
	bool have_first;
	int64_t first_offset_ns;
	int64_t first_mono_ns;
	/* The last refusal, logged once until a pass goes through. */
	int refused_part;
	int refused_err;
	/* A step ordered by the last action: taken back if the kernel refuses it. */
	bool step_counted;
	bool step_in_budget;
	/* The vmclock page (decide_vmclock). */
	struct decide_vmclock vm;
};

static const char *const fault_names[] = {
	[FAULT_NONE] = "none",
	[FAULT_NO_DEVICE] = "no device",
	[FAULT_PANIC] = "max_offset_panic",
	[FAULT_STEP_BUDGET] = "step budget",
	[FAULT_REFERENCE] = "reference",
	[FAULT_KERNEL] = "kernel refusal",
};

const char *decide_fault_name(enum decide_fault f)
{
	return (unsigned)f < sizeof(fault_names) / sizeof(fault_names[0]) ? fault_names[f]
									  : "unknown";
}

void decide_params_defaults(struct decide_params *p, double interval_s)
{
	memset(p, 0, sizeof(*p));
	p->interval_s = interval_s;
	servo_params_defaults(&p->servo, interval_s);
	p->servo_type = SERVO_PI;
	p->first_step_threshold_ns = 20000;
	p->step_threshold_ns = 128000000;
	p->panic_ns = 86400 * NS_PER_S;
	p->disruption_samples = 3;
	p->holdover_after = 3;
	p->step_window_ns = 3600 * NS_PER_S;
	p->step_limit_back_ns = NS_PER_S;
	p->step_limit_count = 10;
	p->reference_freq_limit_ppb = 800000.0;
	p->utc_offset_s = 37;
}

static void event(struct action *a, int priority, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void event(struct action *a, int priority, const char *fmt, ...)
{
	va_list ap;

	if (a->nevents == DECIDE_EVENTS_MAX)
		return;
	a->events[a->nevents].priority = priority;
	va_start(ap, fmt);
	vsnprintf(a->events[a->nevents].text, DECIDE_EVENT_LEN, fmt, ap);
	va_end(ap);
	a->nevents++;
}

static void clear_action(struct action *a)
{
	memset(a, 0, sizeof(*a));
}

static int64_t abs_ns(int64_t v)
{
	return v < 0 ? (v == INT64_MIN ? INT64_MAX : -v) : v;
}

static double s_of(int64_t ns)
{
	return (double)ns / NS_PER_S;
}

static void set_mode(struct decide *d, enum status_state m, enum decide_fault f, const char *why)
{
	if (d->mode == m && d->fault == f)
		return;
	d->mode = m;
	d->fault = f;
	snprintf(d->why, sizeof(d->why), "%s", why);
}

/* What the pass leaves shown: one line for the change, if any. */
static void show_mode(struct decide *d, struct action *a)
{
	enum status_state m = d->kernel_refusing ? STATUS_FAULT : d->mode;
	enum decide_fault f = d->kernel_refusing ? FAULT_KERNEL : d->fault;
	const char *why = d->kernel_refusing ? "the kernel refuses an adjustment" : d->why;

	if (d->v.mode == m && d->v.fault == f)
		return;
	if (m == STATUS_FAULT)
		event(a, LOG_ERR, "state %s -> fault (%s): %s", status_state_name(d->v.mode),
		      decide_fault_name(f), why);
	else
		event(a, LOG_NOTICE, "state %s -> %s (%s)", status_state_name(d->v.mode),
		      status_state_name(m), why);
	d->v.mode = m;
	d->v.fault = f;
}

double decide_held_freq_ppb(const struct decide *d)
{
	return d->hist_ppb.count ? ring_mean_f64(&d->hist_ppb) : d->base_ppb;
}

double decide_freq_spread_ppb(const struct decide *d)
{
	return ring_stddev_f64(&d->hist_ppb);
}

static double clampd(double v, double limit)
{
	return v > limit ? limit : v < -limit ? -limit : v;
}

/*
 * Account for the slew fed forward since the last pass: the offset it removed. The kernel
 * scales the oscillator by 1 + base + slew, and the base cancels the oscillator's error
 * (1 + osc = 1 / (1 + base)): the clock runs at slew / (1 + base) against the truth (at
 * a 10 % slew, 500 ppm of base is 50 ppm), plus the smear's rate, and so does
 * CLOCK_MONOTONIC, whose interval this is.
 */
static void slew_advance(struct decide *d, int64_t t_ns)
{
	double dt_s, rate_ppb;

	if (!d->slew_on || t_ns <= d->slew_t_ns)
		return;
	rate_ppb = d->slew_rate_ppb * d->slew_gain;
	dt_s = s_of(t_ns - d->slew_t_ns) / (1.0 + (rate_ppb + d->v.smear_rate_ppb) * 1e-9);
	d->v.slew_remaining_ns += (int64_t)llround(rate_ppb * dt_s);
	d->slew_t_ns = t_ns;
}

static void slew_add(struct decide *d, struct action *a, int64_t offset_ns, bool disruption,
		     int64_t t_ns)
{
	if (!d->slew_on) {
		d->slew_what = disruption ? "disruption" : "offset";
		d->slew_on = true;
		d->slew_t_ns = t_ns;
		d->slew_rate_ppb = 0.0;
		d->slew_start_ns = t_ns;
		event(a, LOG_NOTICE, "slewing %+.9f s (%s), at up to %.0f ppm", s_of(-offset_ns),
		      d->p.step_threshold_ns > 0 ? "below step_threshold" : "step_threshold 0",
		      d->p.servo.max_freq_ppb / 1e3);
	}
	d->v.slew_remaining_ns += offset_ns;
	/* The residual the servo sees no longer holds what the slew took. */
	servo_shift(d->servo, -offset_ns);
}

static void slew_cancel(struct decide *d)
{
	servo_shift(d->servo, d->v.slew_remaining_ns);
	d->slew_on = false;
	d->slew_rate_ppb = 0.0;
	d->v.slew_remaining_ns = 0;
}

/* A slew that is all but done hands the rest to the servo. */
static void slew_check_done(struct decide *d, struct action *a, int64_t t_ns)
{
	if (!d->slew_on || abs_ns(d->v.slew_remaining_ns) > SLEW_DONE_NS)
		return;
	event(a, LOG_NOTICE, "%s slewed out in %.0f s", d->slew_what,
	      s_of(t_ns - d->slew_start_ns));
	d->slew_done_ns = t_ns;
	slew_cancel(d);
}

/*
 * The frequency for the next interval: the base, the leap smear's rate and the slew's,
 * which removes what is left within one interval, at most at the rate the kernel has left.
 */
static void emit_freq(struct decide *d, struct action *a, int64_t t_ns)
{
	double room, total;

	if (d->p.observe_only)
		return;
	d->slew_rate_ppb = 0.0;
	if (d->slew_on) {
		/*
		 * The rate r that removes what is left by the next pass, one interval of
		 * CLOCK_MONOTONIC away, which itself runs at r: r T / (1 + r) = -remaining.
		 */
		double rem_s = s_of(d->v.slew_remaining_ns);
		double rate = -rem_s / (d->p.interval_s + rem_s);

		room = d->p.servo.max_freq_ppb - fabs(d->base_ppb) - fabs(d->v.smear_rate_ppb);
		if (room < 0)
			room = 0;
		/* Behind by an interval or more: no rate removes it by the next pass. */
		if (d->p.interval_s + rem_s <= 0)
			rate = 1.0;
		d->slew_gain = 1.0 / (1.0 + d->base_ppb * 1e-9);
		d->slew_rate_ppb = clampd(rate * 1e9 / d->slew_gain, room);
		d->slew_t_ns = t_ns;
	}
	total = clampd(d->base_ppb + d->slew_rate_ppb + d->v.smear_rate_ppb,
		       d->p.servo.max_freq_ppb);
	d->v.freq_ppb = total;
	/* The residuals leave the slew and the smear out: the servo sees the rest. */
	servo_applied(d->servo, total - d->slew_rate_ppb - d->v.smear_rate_ppb, t_ns);
	/* Holding changes nothing: no call for the kernel to refuse or the trace to show. */
	if (d->freq_set && total == d->applied_ppb)
		return;
	a->set_freq = true;
	a->freq_ppb = total;
	d->freq_set = true;
	d->applied_ppb = total;
}

/*
 * maxerror must hold until the next update: the offset, the sample's error, what the clock
 * may move beyond the held frequency over one interval, and as far again as the servo's
 * doubt (a sample it did not follow may be the clock running away).
 */
static void emit_status(struct decide *d, struct action *a, const struct decide_sample *s)
{
	int64_t movement_ns =
		(int64_t)(fabs(d->v.freq_ppb - decide_held_freq_ppb(d)) * d->p.interval_s +
			  ceil(servo_doubt_ns(d->servo)));

	if (d->p.observe_only)
		return;
	/* A sample's status replaces what a resume said. */
	d->resume_unverified = false;
	a->set_status = true;
	a->maxerror_ns = abs_ns(s->offset_ns) + s->error_ns + movement_ns + d->vm.maxerror_ns;
	a->esterror_ns = s->error_ns + d->vm.esterror_ns;
	a->synced = d->mode == STATUS_LOCKED && !d->kernel_refusing && d->p.rtcsync;
	d->v.maxerror_ns = a->maxerror_ns;
}

static void hold(struct decide *d, struct action *a, int64_t t_ns)
{
	d->base_ppb = decide_held_freq_ppb(d);
	emit_freq(d, a, t_ns);
}

struct decide *decide_create(const struct decide_params *p, const struct leapsec *ls)
{
	struct disrupt_params dp;
	struct decide *d;

	if (!p || !(p->interval_s > 0) || p->holdover_after < 1)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->p = *p;
	/* One source for the thresholds: the servo asks for the steps they allow. */
	d->p.servo.first_step_threshold_ns = p->first_step_threshold_ns;
	d->p.servo.step_threshold_ns = p->step_threshold_ns;
	d->p.servo.interval_s = p->interval_s;
	d->leap = ls;
	ring_init(&d->hist_ppb, FREQ_HISTORY);
	d->servo = servo_create(p->servo_type, &d->p.servo, p->start_freq_ppb);
	disrupt_params_default(&dp);
	dp.samples = p->disruption_samples;
	d->disrupt = disrupt_create(&dp);
	if (!d->servo || !d->disrupt) {
		decide_destroy(d);
		return NULL;
	}
	stepbudget_init(&d->budget, p->step_window_ns, p->step_limit_back_ns, p->step_limit_count);
	refsanity_init(&d->sanity, p->reference_freq_limit_ppb);
	d->base_ppb = p->start_freq_ppb;
	d->v.freq_ppb = p->start_freq_ppb;
	/* The caller has the start frequency on the clock already. */
	d->freq_set = true;
	d->applied_ppb = p->start_freq_ppb;
	d->mode = STATUS_UNLOCKED;
	d->v.kernel_tai_s = -1;
	d->refused_part = -1;
	return d;
}

void decide_set_live(struct decide *d, const struct decide_params *p)
{
	d->p.panic_ns = p->panic_ns;
	d->p.allow_large_step = p->allow_large_step;
	d->p.rtcsync = p->rtcsync;
	d->p.holdover_after = p->holdover_after;
	d->p.step_window_ns = p->step_window_ns;
	d->p.step_limit_back_ns = p->step_limit_back_ns;
	d->p.step_limit_count = p->step_limit_count;
	d->p.reference_freq_limit_ppb = p->reference_freq_limit_ppb;
	/* The steps already taken still count against the new budget. */
	d->budget.window_ns = p->step_window_ns;
	d->budget.limit_back_ns = p->step_limit_back_ns;
	d->budget.limit_count = p->step_limit_count;
	d->sanity.limit_ppb = p->reference_freq_limit_ppb;
}

void decide_destroy(struct decide *d)
{
	if (!d)
		return;
	servo_destroy(d->servo);
	disrupt_destroy(d->disrupt);
	free(d);
}

void decide_set_leap(struct decide *d, const struct leapsec *ls)
{
	d->leap = ls;
	d->expiry_warned_day = 0;
}

const struct decide_view *decide_view(const struct decide *d)
{
	return &d->v;
}

int64_t decide_quick_poll_ns(void)
{
	return QUICK_POLL_NS;
}

void decide_note_suspend(struct decide *d, int64_t slept_ns, int64_t t_mono_ns)
{
	d->suspend_ns = slept_ns;
	d->suspend_mono_ns = t_mono_ns;
	if (d->p.observe_only || d->v.counts.updates == 0)
		return;
	d->resume_unverified = true;
	if (d->mode == STATUS_LOCKED || d->mode == STATUS_SLEWING)
		set_mode(d, STATUS_STEPPING, FAULT_NONE, "resumed: verifying the offset");
}

/*
 * The clock came back from the RTC, whole seconds or worse: until a sample says otherwise
 * nothing is known of it, and the kernel is told so.
 */
static void resume_status(struct decide *d, struct action *a)
{
	if (!d->resume_unverified)
		return;
	a->set_status = true;
	a->maxerror_ns = MAXERROR_UNKNOWN_NS;
	a->esterror_ns = MAXERROR_UNKNOWN_NS;
	a->synced = false;
	d->v.maxerror_ns = a->maxerror_ns;
}

void decide_no_sample(struct decide *d, struct action *a)
{
	clear_action(a);
	resume_status(d, a);
	show_mode(d, a);
}

static void format_day(int64_t utc_s, char *buf, size_t len)
{
	time_t t = (time_t)utc_s;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, len, "day %" PRId64, utc_s / 86400);
}

/* Once a day: an old table misses leaps announced since. */
static void leap_expiry_check(struct decide *d, struct action *a, int64_t utc_s)
{
	int64_t day = utc_s / 86400;
	char expiry[32];

	if (day == d->expiry_warned_day)
		return;
	d->expiry_warned_day = day;
	if (!leap_expires_within(d->leap->table, utc_s, LEAPSEC_EXPIRY_WARN_DAYS))
		return;
	format_day(leap_expiry(d->leap->table), expiry, sizeof(expiry));
	event(a, LOG_WARNING,
	      "leap table %s %s on %s: update tzdata; known leap seconds are still applied",
	      d->leap->path, leap_expired(d->leap->table, utc_s) ? "expired" : "expires", expiry);
}

/*
 * The leap plan for this sample: kernel bits, TAI offset, the smear (fed forward like a
 * slew) or a step. Returns true when the sample is too close to a leap to be used.
 */
static bool leap_pass(struct decide *d, const struct decide_sample *s, struct action *a)
{
	struct leap_plan plan;
	char day[32];

	if (!d->leap || !d->leap->table) {
		d->v.smear_ns = 0;
		d->v.smear_rate_ppb = 0.0;
		return false;
	}
	leapsec_plan(d->leap, s->ref_utc_ns, d->leap_step_done_s, &plan);
	leap_expiry_check(d, a, s->ref_utc_ns / NS_PER_S);
	if (plan.step_dir && !d->p.observe_only) {
		/* The PHC has taken the leap and our clock has not: take it now. */
		d->leap_step_done_s = plan.leap_utc_s;
		a->step = true;
		a->step_ns = -(int64_t)plan.step_dir * NS_PER_S;
		a->step_cause = STEP_LEAP;
		d->step_counted = true;
		d->step_in_budget = false;
		d->v.counts.steps++;
		d->v.last_step_ns = a->step_ns;
		d->v.last_step_mono_ns = s->t_mono_ns;
		if (plan.tai_utc_s >= 0) {
			a->set_tai = true;
			a->tai_s = plan.tai_utc_s;
			d->v.kernel_tai_s = plan.tai_utc_s;
		}
	}
	if ((plan.smear_ns != 0) != (d->v.smear_ns != 0))
		event(a, LOG_NOTICE, "leap smear %s", plan.smear_ns ? "started" : "finished");
	d->v.smear_ns = plan.smear_ns;
	d->v.smear_rate_ppb = plan.smear_rate_ppb;
	if (plan.ignore_sample) {
		if (d->leap_ignored_s != plan.leap_utc_s) {
			d->leap_ignored_s = plan.leap_utc_s;
			format_day(plan.leap_utc_s - 1, day, sizeof(day));
			event(a, LOG_NOTICE,
			      "leap second at the end of %s: ignoring samples within %d s of it, "
			      "frequency held",
			      day, LEAPSEC_IGNORE_S);
		}
		return true;
	}
	if (!d->p.observe_only && plan.tai_utc_s >= 0 && plan.tai_utc_s != d->v.kernel_tai_s) {
		a->set_tai = true;
		a->tai_s = plan.tai_utc_s;
		d->v.kernel_tai_s = plan.tai_utc_s;
	}
	if (!d->p.observe_only && plan.arm != d->armed &&
	    !(plan.arm != 0 && s->t_mono_ns < d->leap_rearm_ns)) {
		a->set_leap = true;
		a->leap_dir = plan.arm;
		d->armed = plan.arm;
		if (plan.arm) {
			format_day(s->ref_utc_ns / NS_PER_S, day, sizeof(day));
			event(a, LOG_NOTICE,
			      "leap second: the kernel will %s a second at the end of %s",
			      plan.arm > 0 ? "insert" : "delete", day);
		} else {
			event(a, LOG_NOTICE, "leap second: done, kernel leap status cleared");
		}
	}
	return false;
}

/* Order a step of the clock by step_ns. in_budget: counted against the step budget. */
static void order_step(struct decide *d, struct action *a, int64_t step_ns, enum step_cause cause,
		       bool in_budget, int64_t t_ns)
{
	a->step = true;
	a->step_ns = step_ns;
	a->step_cause = cause;
	if (in_budget)
		stepbudget_record(&d->budget, t_ns, step_ns);
	d->step_counted = true;
	d->step_in_budget = in_budget;
	d->v.counts.steps++;
	d->v.last_step_ns = step_ns;
	d->v.last_step_mono_ns = t_ns;
	/*
	 * A step clears the kernel's NTP state, and with it the time of an armed leap, which
	 * then never comes. Clear the bit now and set it again after a second boundary (the
	 * kernel leaves its leap state only at one), so the kernel plans the leap anew.
	 */
	if (d->armed) {
		a->set_leap = true;
		a->leap_dir = 0;
		d->armed = 0;
		d->leap_rearm_ns = t_ns + LEAP_REARM_NS;
	}
	slew_cancel(d);
	servo_shift(d->servo, step_ns);
	disrupt_reset(d->disrupt);
	servo_unsettle(d->servo);
}

/*
 * Correct a known offset: step it when the policy allows a step of that size and the
 * budget has room, else slew it. Steps made before the first lock repair the clock the
 * machine booted with, not the reference's moves: they are not counted.
 */
static void correct(struct decide *d, struct action *a, int64_t offset_ns, bool may_step,
		    enum step_cause cause, int64_t t_ns)
{
	char why[160];

	if (may_step) {
		/* The budget is for moves of the reference: not for the clock the machine
		 * booted with, nor for the guest's own clock after a resume. */
		bool resumed =
			d->suspend_mono_ns > 0 && t_ns - d->suspend_mono_ns < RESUME_TRUST_NS;
		bool counted = d->v.ever_locked && !resumed;

		if (counted && !stepbudget_allows(&d->budget, t_ns, -offset_ns, why, sizeof(why))) {
			if (d->fault != FAULT_STEP_BUDGET) {
				d->v.counts.step_refusals++;
				event(a, LOG_ERR,
				      "step of %+.9f s refused: step budget: %s; holding the "
				      "frequency (phcsyncctl step overrides)",
				      s_of(-offset_ns), why);
				set_mode(d, STATUS_FAULT, FAULT_STEP_BUDGET, why);
			}
			/* Not following the reference: a slew toward it stops too. */
			slew_cancel(d);
			hold(d, a, t_ns);
			return;
		}
		order_step(d, a, -offset_ns, cause, counted, t_ns);
		set_mode(d, STATUS_STEPPING, FAULT_NONE, "stepped");
		hold(d, a, t_ns);
		return;
	}
	slew_add(d, a, offset_ns, cause == STEP_DISRUPTION, t_ns);
	disrupt_reset(d->disrupt);
	servo_unsettle(d->servo);
	set_mode(d, STATUS_SLEWING, FAULT_NONE, "slewing a known offset");
	hold(d, a, t_ns);
}

static bool beyond(int64_t v_ns, int64_t threshold_ns)
{
	return threshold_ns > 0 && abs_ns(v_ns) > threshold_ns;
}

/* The disruption detector's word on a residual. Returns true when the sample was used. */
static bool disruption_pass(struct decide *d, struct action *a, const struct decide_sample *s,
			    int64_t residual_ns, bool sane)
{
	struct disrupt_hint hint = {0};
	struct disrupt_result r;
	bool was_suspect = d->suspect;
	int64_t t = s->t_mono_ns;
	bool resumed = d->suspend_mono_ns > 0 && t - d->suspend_mono_ns < RESUME_TRUST_NS;
	bool recovered = d->recovered_ns > 0 && t - d->recovered_ns < RESUME_TRUST_NS;
	char msg[DECIDE_EVENT_LEN];

	d->suspect = false;
	switch (disrupt_feed(d->disrupt, residual_ns, &r)) {
	case DISRUPT_NORMAL:
	case DISRUPT_DISCARDED:
		if (r.discarded)
			event(a, LOG_INFO, "ignored %d outlier sample(s)", r.discarded);
		if (sane)
			return false;
		/* An odd pair that is no jump: learn nothing from it. */
		hold(d, a, t);
		a->quick_poll = true;
		return true;
	case DISRUPT_SUSPECT:
		if (r.discarded)
			event(a, LOG_INFO, "ignored %d outlier sample(s)", r.discarded);
		if (resumed || recovered) {
			/* The VM just slept, or the PHC was unreadable: the jump is expected. */
			disrupt_reset(d->disrupt);
			break;
		}
		if (!was_suspect)
			event(a, LOG_INFO,
			      "offset %+" PRId64 " ns is beyond the noise (threshold %" PRId64
			      " ns): holding the frequency, confirming with quick polls",
			      residual_ns, r.threshold_ns);
		d->suspect = true;
		a->quick_poll = true;
		set_mode(d, STATUS_STEPPING, FAULT_NONE, "confirming a jump");
		hold(d, a, t);
		return true;
	case DISRUPT_CONFIRMED:
		break;
	}
	hint.suspended = d->suspend_mono_ns > 0 && t - d->suspend_mono_ns < SUSPEND_HINT_NS;
	hint.suspend_ns = d->suspend_ns;
	if (recovered)
		hint.holdover_ns = d->holdover_ns;
	/* Named by how far the reference moved against our clock: the correction to come. */
	disrupt_format(msg, sizeof(msg), -r.offset_ns, &hint);
	event(a, LOG_NOTICE, "%s", msg);
	d->v.counts.disruptions++;
	correct(d, a, r.offset_ns, beyond(r.offset_ns, d->p.step_threshold_ns), STEP_DISRUPTION, t);
	return true;
}

static void servo_pass(struct decide *d, struct action *a, const struct decide_sample *s,
		       int64_t residual_ns)
{
	bool was_locked = d->v.have_servo_state && (d->v.servo_state == SERVO_LOCKED ||
						    d->v.servo_state == SERVO_LOCKED_STABLE);
	int64_t t = s->t_mono_ns;
	enum servo_state st;
	double freq_ppb;

	/*
	 * A large residual is a known offset to remove, not news about the frequency: fed to
	 * the integrator it would add ki times itself to the frequency the slew relies on.
	 */
	if (was_locked && abs_ns(residual_ns) > SLEW_MIN_NS) {
		d->base_ppb = servo_freq_ppb(d->servo);
		correct(d, a, residual_ns, beyond(residual_ns, d->p.step_threshold_ns), STEP_SERVO,
			t);
		return;
	}
	if (d->slew_on || d->slew_done_ns == t)
		servo_moving(d->servo);
	freq_ppb = servo_sample(d->servo, residual_ns, s->t_mono_ns, &st);
	d->v.servo_state = st;
	d->v.have_servo_state = true;
	d->v.stable = st == SERVO_LOCKED_STABLE;
	switch (st) {
	case SERVO_UNLOCKED:
		d->base_ppb = freq_ppb;
		set_mode(d, d->slew_on ? STATUS_SLEWING : STATUS_UNLOCKED, FAULT_NONE,
			 "collecting samples");
		emit_freq(d, a, t);
		return;
	case SERVO_STEP:
		d->base_ppb = freq_ppb;
		/* The servo took what it saw as stepped out: the step (or its refusal) says. */
		servo_shift(d->servo, residual_ns);
		/* The servo steps only what is beyond its thresholds, so a step is allowed. */
		correct(d, a, residual_ns + d->v.slew_remaining_ns, true, STEP_SERVO, t);
		return;
	case SERVO_LOCKED:
	case SERVO_LOCKED_STABLE:
		break;
	}
	if (abs_ns(residual_ns) > SLEW_MIN_NS) {
		/* The output would saturate: slew the offset out, the integrator kept. */
		d->base_ppb = servo_freq_ppb(d->servo);
		correct(d, a, residual_ns, false, STEP_SERVO, t);
		return;
	}
	d->base_ppb = freq_ppb;
	ring_push_f64(&d->hist_ppb, freq_ppb);
	if (!d->slew_on) {
		d->v.ever_locked = true;
		set_mode(d, STATUS_LOCKED, FAULT_NONE, "servo locked");
	} else {
		set_mode(d, STATUS_SLEWING, FAULT_NONE, "slewing a known offset");
	}
	emit_freq(d, a, t);
}

/* Observe-only: how fast the offset drifts, from the first sample. */
static void observe(struct decide *d, struct action *a, const struct decide_sample *s)
{
	if (!d->have_first) {
		event(a, LOG_NOTICE, "observe-only: first offset %+" PRId64 " ns", s->offset_ns);
		d->have_first = true;
		d->first_offset_ns = s->offset_ns;
		d->first_mono_ns = s->t_mono_ns;
	}
	if (s->t_mono_ns > d->first_mono_ns)
		d->v.freq_ppb = -(double)(s->offset_ns - d->first_offset_ns) * 1e9 /
				(double)(s->t_mono_ns - d->first_mono_ns);
}

/* Reference sanity. Returns false when the sample must not be followed. *sane: no odd pair. */
static bool sanity_pass(struct decide *d, struct action *a, const struct decide_sample *s,
			bool *sane)
{
	char why[160];
	enum refsanity_verdict v;

	if (s->burst_odd)
		refsanity_mark_odd(&d->sanity, s->burst_why);
	if (s->raw_ns >= 0)
		v = refsanity_feed(&d->sanity, s->phc_ns, s->raw_ns, 0.0, why, sizeof(why));
	else
		v = refsanity_feed(&d->sanity, s->phc_ns, s->mono_at_ns, d->v.freq_ppb, why,
				   sizeof(why));
	d->v.reference_rate_ppb = d->sanity.rate_ppb;
	*sane = v == REFSANITY_OK || v == REFSANITY_RECOVERED;
	switch (v) {
	case REFSANITY_OK:
		return true;
	case REFSANITY_SUSPECT:
		event(a, LOG_INFO, "reference suspect: %s", why);
		return true;
	case REFSANITY_FAULT:
		if (d->fault != FAULT_REFERENCE) {
			d->v.counts.reference_faults++;
			set_mode(d, STATUS_FAULT, FAULT_REFERENCE,
				 why[0] ? why : "the PHC is not sane");
			event(a, LOG_ERR,
			      "reference fault: not following the PHC, holding %+.3f ppb (%s)",
			      decide_held_freq_ppb(d), why[0] ? why : "see above");
		}
		slew_cancel(d);
		hold(d, a, s->t_mono_ns);
		return false;
	case REFSANITY_RECOVERED:
		event(a, LOG_NOTICE, "reference sane again");
		set_mode(d, STATUS_UNLOCKED, FAULT_NONE, "reference sane again");
		d->recovered_ns = s->t_mono_ns;
		disrupt_reset(d->disrupt);
		return true;
	}
	return true;
}

/* Leave holdover only after a run of good samples, so stale data never moves the clock. */
static bool holdover_pass(struct decide *d, struct action *a, const struct decide_sample *s)
{
	if (d->mode != STATUS_HOLDOVER)
		return true;
	if (++d->recovery_good < HOLDOVER_EXIT_SAMPLES) {
		hold(d, a, s->t_mono_ns);
		return false;
	}
	d->holdover_ns = s->t_mono_ns - d->holdover_since_ns;
	d->recovered_ns = s->t_mono_ns;
	servo_unsettle(d->servo);
	event(a, LOG_NOTICE, "holdover ended after %.0f s; offset %+" PRId64 " ns",
	      s_of(d->holdover_ns), s->offset_ns);
	/* The servo keeps its frequency: the holdover's drift is a known offset, corrected at
	 * once as a disruption. */
	set_mode(d, STATUS_STEPPING, FAULT_NONE, "verifying the offset after holdover");
	return true;
}

/* Offsets beyond max_offset_panic are refused unless allowed: a wrong PHC or a wrong
 * timescale must not move the clock by days. */
static bool panic_pass(struct decide *d, struct action *a, const struct decide_sample *s,
		       int64_t offset_ns)
{
	if (beyond(offset_ns, d->p.panic_ns) && !d->p.allow_large_step) {
		if (d->fault != FAULT_PANIC) {
			char why[160];

			snprintf(why, sizeof(why),
				 "offset %+.9f s is beyond max_offset_panic %.0f s: NOT correcting "
				 "the clock (check the PHC and timescale, or set allow_large_step)",
				 s_of(offset_ns), s_of(d->p.panic_ns));
			set_mode(d, STATUS_FAULT, FAULT_PANIC, why);
		}
		slew_cancel(d);
		hold(d, a, s->t_mono_ns);
		return false;
	}
	if (d->fault == FAULT_PANIC && beyond(offset_ns, d->p.panic_ns - PANIC_HYSTERESIS_NS)) {
		hold(d, a, s->t_mono_ns);
		return false;
	}
	if (d->fault == FAULT_PANIC) {
		set_mode(d, STATUS_UNLOCKED, FAULT_NONE, "offset within max_offset_panic again");
		d->recovered_ns = s->t_mono_ns;
	}
	return true;
}

/* A step refused by the budget is tried again at each sample: the window slides. */
static bool budget_pass(struct decide *d, struct action *a, const struct decide_sample *s,
			int64_t residual_ns)
{
	char why[160];

	if (d->fault != FAULT_STEP_BUDGET)
		return true;
	if (!beyond(residual_ns, d->p.step_threshold_ns)) {
		set_mode(d, d->v.ever_locked ? STATUS_LOCKED : STATUS_UNLOCKED, FAULT_NONE,
			 "the offset is within the step threshold again");
		disrupt_reset(d->disrupt);
		return true;
	}
	if (!stepbudget_allows(&d->budget, s->t_mono_ns, -residual_ns, why, sizeof(why))) {
		hold(d, a, s->t_mono_ns);
		return false;
	}
	order_step(d, a, -residual_ns, STEP_DISRUPTION, true, s->t_mono_ns);
	set_mode(d, STATUS_STEPPING, FAULT_NONE, "the step budget has room again");
	hold(d, a, s->t_mono_ns);
	return false;
}

/* ---- the vmclock page ---- */

void decide_vmclock(struct decide *d, const struct decide_vmclock *vm)
{
	bool disrupted = d->vm.disrupted || vm->disrupted;
	bool restored = d->vm.restored || vm->restored;
	char cause[sizeof(d->vm.cause)];

	/* News waits for a sample; a later page without news must not erase it. */
	snprintf(cause, sizeof(cause), "%s",
		 vm->disrupted || !d->vm.disrupted ? vm->cause : d->vm.cause);
	d->vm = *vm;
	d->vm.disrupted = disrupted;
	d->vm.restored = restored;
	snprintf(d->vm.cause, sizeof(d->vm.cause), "%s", cause);
}

/* The host's clock is unreliable: holdover until it is not (holdover_pass ends it). */
static bool vmclock_holdover(struct decide *d, struct action *a, const struct decide_sample *s)
{
	if (!d->vm.unreliable || d->p.observe_only)
		return false;
	if (d->mode != STATUS_HOLDOVER) {
		d->holdover_since_ns = s->t_mono_ns;
		d->suspect = false;
		event(a, LOG_WARNING,
		      "holdover: the vmclock page says the host's clock is unreliable: keeping "
		      "frequency %+.3f ppb, no steps",
		      decide_held_freq_ppb(d));
		set_mode(d, STATUS_HOLDOVER, FAULT_NONE, "the host's clock is unreliable");
	}
	d->recovery_good = 0;
	slew_cancel(d);
	hold(d, a, s->t_mono_ns);
	return true;
}

/* A restore: the frequency learnt, and the driftfile's with it, describe another run. */
static void vmclock_forget_freq(struct decide *d, struct action *a)
{
	struct servo_params sp = d->p.servo;
	struct servo *fresh;

	sp.freq_trusted = false;
	fresh = servo_create(d->p.servo_type, &sp, d->base_ppb);
	if (!fresh)
		return;
	servo_destroy(d->servo);
	d->servo = fresh;
	ring_clear(&d->hist_ppb);
	d->v.have_servo_state = false;
	d->v.stable = false;
	event(a, LOG_NOTICE,
	      "vmclock: snapshot restore: the frequency history and the driftfile's frequency are "
	      "no longer trusted; learning the frequency again from %+.3f ppb",
	      d->base_ppb);
}

/*
 * The page's news and announcements. Returns true when the sample was used here: a jump the
 * hypervisor announced is corrected at once, without the confirming polls; while a
 * disruption is announced the frequency is held and the servo learns nothing.
 */
static bool vmclock_pass(struct decide *d, struct action *a, const struct decide_sample *s,
			 int64_t residual_ns)
{
	int64_t t = s->t_mono_ns;

	if (d->vm.disrupted) {
		bool restored = d->vm.restored;

		d->vm.disrupted = false;
		d->vm.restored = false;
		d->suspect = false;
		disrupt_reset(d->disrupt);
		if (restored) {
			d->v.vmclock_restores++;
			vmclock_forget_freq(d, a);
		}
		/* Within the noise: nothing moved, and nothing is stepped. */
		if (!d->v.ever_locked || abs_ns(residual_ns) <= SLEW_MIN_NS / 10) {
			event(a, LOG_INFO,
			      "vmclock: %s; offset %+" PRId64 " ns: nothing to correct",
			      d->vm.cause, residual_ns);
			return false;
		}
		event(a, LOG_NOTICE,
		      "vmclock: %s; correcting %+.9f s at once, without confirming polls",
		      d->vm.cause, s_of(-residual_ns));
		d->v.counts.disruptions++;
		d->v.vmclock_disruptions++;
		/* The hypervisor vouches for the jump: stepped whatever its size, unless steps
		 * are off (step_threshold 0), so the clock is right at once, not after a slew. */
		correct(d, a, residual_ns, d->p.step_threshold_ns > 0, STEP_DISRUPTION, t);
		return true;
	}
	if (d->vm.warned && d->v.ever_locked && abs_ns(residual_ns) <= SLEW_MIN_NS) {
		hold(d, a, t);
		return true;
	}
	return false;
}

static void sample_pass(struct decide *d, const struct decide_sample *s, struct action *a)
{
	int64_t offset_ns, residual_ns;
	bool sane = true;

	clear_action(a);
	d->failures = 0;
	d->step_counted = false;
	slew_advance(d, s->t_mono_ns);
	d->v.counts.updates++;
	d->v.last_offset_ns = s->offset_ns;
	d->v.last_error_ns = s->error_ns;
	if (s->recovered)
		d->recovered_ns = s->t_mono_ns;

	if (leap_pass(d, s, a)) {
		if (!d->p.observe_only && d->v.ever_locked)
			hold(d, a, s->t_mono_ns);
		return;
	}
	offset_ns = s->offset_ns - d->v.smear_ns;
	if (!sanity_pass(d, a, s, &sane))
		goto status;
	if (vmclock_holdover(d, a, s))
		goto status;
	if (!holdover_pass(d, a, s))
		goto status;
	if (d->p.observe_only) {
		observe(d, a, s);
		if (d->mode == STATUS_FAULT && d->fault == FAULT_NO_DEVICE)
			set_mode(d, STATUS_UNLOCKED, FAULT_NONE, "device found");
		return;
	}
	if (!panic_pass(d, a, s, offset_ns))
		goto status;
	slew_check_done(d, a, s->t_mono_ns);
	residual_ns = offset_ns - d->v.slew_remaining_ns;
	if (!budget_pass(d, a, s, residual_ns))
		goto status;
	if (d->fault == FAULT_NO_DEVICE)
		set_mode(d, STATUS_UNLOCKED, FAULT_NONE, "device found");
	if (vmclock_pass(d, a, s, residual_ns))
		goto status;
	if (d->v.ever_locked && d->v.have_servo_state && d->v.servo_state != SERVO_UNLOCKED &&
	    disruption_pass(d, a, s, residual_ns, sane))
		goto status;
	if (!sane) {
		/* Before lock nothing tells a jump from a broken PHC: wait for the next pair. */
		hold(d, a, s->t_mono_ns);
		a->quick_poll = true;
		goto status;
	}
	servo_pass(d, a, s, residual_ns);
status:
	emit_status(d, a, s);
}

void decide_sample(struct decide *d, const struct decide_sample *s, struct action *a)
{
	sample_pass(d, s, a);
	show_mode(d, a);
}

void decide_failure(struct decide *d, int err, bool ever_opened, int64_t t_mono_ns,
		    struct action *a)
{
	clear_action(a);
	d->step_counted = false;
	d->v.counts.read_failures++;
	d->failures++;
	d->recovery_good = 0;
	slew_advance(d, t_mono_ns);
	if (!ever_opened) {
		set_mode(d, STATUS_FAULT, FAULT_NO_DEVICE, "waiting for the PHC");
		show_mode(d, a);
		return;
	}
	if (d->mode != STATUS_HOLDOVER && d->failures >= d->p.holdover_after &&
	    d->v.counts.updates > 0) {
		d->holdover_since_ns = t_mono_ns;
		d->suspect = false;
		event(a, LOG_WARNING,
		      "holdover: %d failed polls (%s): keeping frequency %+.3f ppb, no steps",
		      d->failures, strerror(err), decide_held_freq_ppb(d));
		set_mode(d, STATUS_HOLDOVER, FAULT_NONE, "the PHC cannot be read");
	}
	if (d->mode == STATUS_HOLDOVER && !d->p.observe_only)
		hold(d, a, t_mono_ns);
	else if (d->slew_on && !d->p.observe_only)
		emit_freq(d, a, t_mono_ns);
	resume_status(d, a);
	show_mode(d, a);
}

int decide_request_step(struct decide *d, const struct decide_sample *s, struct action *a)
{
	int64_t offset_ns;

	clear_action(a);
	d->step_counted = false;
	slew_advance(d, s->t_mono_ns);
	if (d->p.observe_only) {
		event(a, LOG_NOTICE, "observe-only: the clock is never adjusted");
		return -EPERM;
	}
	/* To the smeared time when a leap smear is on: the smear stays continuous. */
	offset_ns = s->offset_ns - d->v.smear_ns;
	if (beyond(offset_ns, d->p.panic_ns) && !d->p.allow_large_step) {
		event(a, LOG_WARNING, "step refused: offset %+.9f s is beyond max_offset_panic",
		      s_of(offset_ns));
		return -ERANGE;
	}
	event(a, LOG_NOTICE, "step requested over the control socket");
	order_step(d, a, -offset_ns, STEP_REQUEST, false, s->t_mono_ns);
	if (d->fault == FAULT_STEP_BUDGET || d->fault == FAULT_PANIC)
		set_mode(d, STATUS_STEPPING, FAULT_NONE, "operator step");
	else if (d->mode != STATUS_FAULT && d->mode != STATUS_HOLDOVER)
		set_mode(d, STATUS_STEPPING, FAULT_NONE, "operator step");
	hold(d, a, s->t_mono_ns);
	show_mode(d, a);
	return 0;
}

void decide_request_reset(struct decide *d, struct action *a)
{
	clear_action(a);
	d->step_counted = false;
	event(a, LOG_NOTICE, "servo reset requested over the control socket");
	servo_reset(d->servo);
	disrupt_reset(d->disrupt);
	stepbudget_clear(&d->budget);
	slew_cancel(d);
	d->suspect = false;
	if (d->mode == STATUS_FAULT && d->fault != FAULT_NO_DEVICE && d->fault != FAULT_REFERENCE)
		set_mode(d, STATUS_UNLOCKED, FAULT_NONE, "reset");
	else if (d->mode != STATUS_FAULT && d->mode != STATUS_HOLDOVER)
		set_mode(d, STATUS_UNLOCKED, FAULT_NONE, "reset");
	d->base_ppb = servo_freq_ppb(d->servo);
	if (!d->p.observe_only && d->v.counts.updates > 0)
		emit_freq(d, a, d->slew_t_ns);
	show_mode(d, a);
}

static const char *part_name(enum act_part part)
{
	switch (part) {
	case ACT_STEP:
		return "step";
	case ACT_TAI:
		return "TAI offset";
	case ACT_FREQ:
		return "frequency";
	case ACT_LEAP:
		return "leap status";
	case ACT_STATUS:
		return "kernel status";
	}
	return "adjustment";
}

void decide_refused(struct decide *d, enum act_part part, int err, struct action *a)
{
	clear_action(a);
	d->v.counts.adjust_refusals++;
	if (part == ACT_FREQ)
		d->freq_set = false;
	if (part == ACT_STEP && d->step_counted) {
		d->v.counts.steps--;
		if (d->step_in_budget)
			stepbudget_unrecord(&d->budget);
		d->step_counted = false;
	}
	d->kernel_refusing = true;
	if (d->refused_part == (int)part && d->refused_err == err)
		return;
	d->refused_part = (int)part;
	d->refused_err = err;
	event(a, LOG_ERR, "%s refused by the kernel: %s", part_name(part), strerror(err));
	show_mode(d, a);
}

void decide_applied(struct decide *d, struct action *a)
{
	clear_action(a);
	d->refused_part = -1;
	d->refused_err = 0;
	d->step_counted = false;
	if (!d->kernel_refusing)
		return;
	d->kernel_refusing = false;
	snprintf(d->why, sizeof(d->why), "adjustments go through again");
	show_mode(d, a);
}
