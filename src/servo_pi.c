/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * PI servo with linuxptp's gain scaling and state machine, so that tuning carries over.
 * The integrator holds the frequency that cancels the clock's own error; the output adds
 * the proportional correction of the current offset.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "phcsync/servo.h"
#include "phcsync/servo_ops.h"

/* linuxptp's hardware time stamping defaults: k = scale * T^exponent, at most norm_max / T. */
#define KP_SCALE 0.7
#define KP_EXPONENT -0.3
#define KP_NORM_MAX 0.7
#define KI_SCALE 0.3
#define KI_EXPONENT 0.4
#define KI_NORM_MAX 0.3

/* Explicit gains are still capped where linuxptp caps them, beyond which the loop diverges. */
#define KP_EXPLICIT_NORM_MAX 1.0
#define KI_EXPLICIT_NORM_MAX 2.0

struct pi_servo {
	struct servo base; /* first: servo.c hands us &base */
	struct servo_params p;
	double kp;
	double ki;
	double integ_ppb;
	int count; /* samples toward the frequency estimate: 0, 1, then 2 for PI */
	int64_t offset0_ns;
	int64_t local0_ns;
	int stable_run;
	bool first_update;
};

static struct pi_servo *to_pi(struct servo *s)
{
	return (struct pi_servo *)s;
}

static const struct pi_servo *to_pi_const(const struct servo *s)
{
	return (const struct pi_servo *)s;
}

static double clamp(double v, double limit)
{
	if (v > limit)
		return limit;
	if (v < -limit)
		return -limit;
	return v;
}

/* |offset_ns| > threshold_ns without llabs, which is undefined for INT64_MIN. */
static double gain(double explicit_k, double scale, double exponent, double norm_max,
		   double explicit_norm_max, double interval_s)
{
	if (explicit_k > 0.0)
		return fmin(explicit_k, explicit_norm_max / interval_s);
	return fmin(scale * pow(interval_s, exponent), norm_max / interval_s);
}

static void pi_update_gains(struct pi_servo *s)
{
	double t = s->p.interval_s;

	s->kp = gain(s->p.kp, KP_SCALE, KP_EXPONENT, KP_NORM_MAX, KP_EXPLICIT_NORM_MAX, t);
	s->ki = gain(s->p.ki, KI_SCALE, KI_EXPONENT, KI_NORM_MAX, KI_EXPLICIT_NORM_MAX, t);
}

static void pi_remember(struct pi_servo *s, int64_t offset_ns, int64_t local_ns)
{
	s->offset0_ns = offset_ns;
	s->local0_ns = local_ns;
	s->count = 1;
}

/*
 * The clock ran at (1 + e)(1 + integ) against the reference; cancelling e needs
 * 1 + f = (1 + integ)(1 - d offset / d local), local being the clock's own time.
 */
static void pi_estimate(struct pi_servo *s, int64_t offset_ns, int64_t local_ns)
{
	double rate = ((double)offset_ns - (double)s->offset0_ns) /
		      ((double)local_ns - (double)s->local0_ns);

	s->integ_ppb = clamp(s->integ_ppb - (1e9 + s->integ_ppb) * rate, s->p.max_freq_ppb);
}

static enum servo_state pi_stability(struct pi_servo *s, int64_t offset_ns)
{
	int64_t limit = s->p.stable_offset_ns;

	if (limit <= 0 || s->p.stable_count <= 0)
		return SERVO_LOCKED;
	if (offset_ns < limit && offset_ns > -limit) {
		if (s->stable_run < s->p.stable_count)
			s->stable_run++;
	} else {
		s->stable_run = 0;
	}
	return s->stable_run >= s->p.stable_count ? SERVO_LOCKED_STABLE : SERVO_LOCKED;
}

static double pi_sample(struct servo *servo, int64_t offset_ns, int64_t local_ns,
			enum servo_state *state)
{
	struct pi_servo *s = to_pi(servo);
	double out_ppb, kp, ki;

	switch (s->count) {
	case 0:
		if (s->first_update && s->p.freq_trusted) {
			/* The frequency is known: one sample decides between a step and the PI. */
			s->first_update = false;
			s->stable_run = 0;
			s->count = 2;
			if (servo_beyond(offset_ns, s->p.first_step_threshold_ns) ||
			    servo_beyond(offset_ns, s->p.step_threshold_ns)) {
				*state = SERVO_STEP;
				return s->integ_ppb;
			}
			/* Below the threshold: slew it out over one interval, integrator kept. */
			*state = SERVO_LOCKED;
			return clamp(s->integ_ppb - (double)offset_ns / s->p.interval_s,
				     s->p.max_freq_ppb);
		}
		pi_remember(s, offset_ns, local_ns);
		*state = SERVO_UNLOCKED;
		return s->integ_ppb;
	case 1:
		/* A sample that is not newer cannot give a rate: start the estimate over. */
		if (local_ns <= s->local0_ns) {
			pi_remember(s, offset_ns, local_ns);
			*state = SERVO_UNLOCKED;
			return s->integ_ppb;
		}
		/* A frequency from a driftfile beats one from two samples a poll apart. */
		if (!(s->first_update && s->p.freq_trusted))
			pi_estimate(s, offset_ns, local_ns);
		if ((s->first_update && servo_beyond(offset_ns, s->p.first_step_threshold_ns)) ||
		    servo_beyond(offset_ns, s->p.step_threshold_ns))
			*state = SERVO_STEP;
		else
			*state = SERVO_LOCKED;
		s->first_update = false;
		s->stable_run = 0;
		s->count = 2;
		return s->integ_ppb;
	default:
		break;
	}

	/*
	 * Too far off to slew: re-estimate the frequency from this sample and the next one,
	 * which then asks for a step, as linuxptp does.
	 */
	if (servo_beyond(offset_ns, s->p.step_threshold_ns)) {
		pi_remember(s, offset_ns, local_ns);
		*state = SERVO_UNLOCKED;
		return s->integ_ppb;
	}

	/* Integrate only while the output is not saturated, so the integrator cannot wind up. */
	kp = s->kp;
	ki = s->ki;
	if (s->stable_run >= s->p.stable_count && s->p.stable_count > 0) {
		kp *= s->p.stable_kp_scale;
		ki *= s->p.stable_ki_scale;
	}
	out_ppb = s->integ_ppb - (kp + ki) * (double)offset_ns;
	if (fabs(out_ppb) <= s->p.max_freq_ppb)
		s->integ_ppb -= ki * (double)offset_ns;
	else
		out_ppb = clamp(out_ppb, s->p.max_freq_ppb);
	*state = pi_stability(s, offset_ns);
	return out_ppb;
}

static void pi_reset(struct servo *servo)
{
	struct pi_servo *s = to_pi(servo);

	s->count = 0;
	s->stable_run = 0;
}

static void pi_unsettle(struct servo *servo)
{
	to_pi(servo)->stable_run = 0;
}

static void pi_set_interval(struct servo *servo, double interval_s)
{
	struct pi_servo *s = to_pi(servo);

	if (!isfinite(interval_s) || interval_s <= 0.0)
		return;
	s->p.interval_s = interval_s;
	pi_update_gains(s);
}

static double pi_freq_ppb(const struct servo *servo)
{
	return to_pi_const(servo)->integ_ppb;
}

static void pi_destroy(struct servo *servo)
{
	free(to_pi(servo));
}

static const struct servo_ops pi_ops = {
	.sample = pi_sample,
	.reset = pi_reset,
	.unsettle = pi_unsettle,
	.set_interval = pi_set_interval,
	.freq_ppb = pi_freq_ppb,
	.destroy = pi_destroy,
};

struct servo *servo_pi_create(const struct servo_params *p, double freq_ppb)
{
	struct pi_servo *s;

	if (!p || !servo_params_valid(p, freq_ppb) || !isfinite(p->kp) || p->kp < 0.0 ||
	    !isfinite(p->ki) || p->ki < 0.0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->base.ops = &pi_ops;
	s->p = *p;
	s->integ_ppb = clamp(freq_ppb, p->max_freq_ppb);
	s->first_update = true;
	pi_update_gains(s);
	return &s->base;
}
