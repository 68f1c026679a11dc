/* SPDX-License-Identifier: BSD-2-Clause */
#include <math.h>
#include <stddef.h>

#include "phcsync/servo.h"
#include "phcsync/servo_ops.h"

void servo_params_defaults(struct servo_params *p, double interval_s)
{
	*p = (struct servo_params){
		.interval_s = interval_s,
		.max_freq_ppb = 500000.0,
		.stable_offset_ns = 2000,
		.stable_count = 10,
		.stable_kp_scale = 1.0,
		.stable_ki_scale = 1.0,
	};
}

bool servo_params_valid(const struct servo_params *p, double freq_ppb)
{
	return isfinite(p->interval_s) && p->interval_s > 0.0 && isfinite(p->max_freq_ppb) &&
	       p->max_freq_ppb > 0.0 && p->first_step_threshold_ns >= 0 &&
	       p->step_threshold_ns >= 0 && p->stable_offset_ns >= 0 && p->stable_count >= 0 &&
	       isfinite(freq_ppb);
}

struct servo *servo_create(enum servo_type type, const struct servo_params *p, double freq_ppb)
{
	switch (type) {
	case SERVO_PI:
		return servo_pi_create(p, freq_ppb);
	case SERVO_KALMAN:
		return servo_kalman_create(p, freq_ppb);
	}
	return NULL;
}

double servo_sample(struct servo *s, int64_t offset_ns, int64_t local_ns, enum servo_state *state)
{
	return s->ops->sample(s, offset_ns, local_ns, state);
}

void servo_unsettle(struct servo *s)
{
	s->ops->unsettle(s);
}

void servo_shift(struct servo *s, int64_t delta_ns)
{
	if (s->ops->shift)
		s->ops->shift(s, delta_ns);
}

void servo_applied(struct servo *s, double freq_ppb, int64_t local_ns)
{
	if (s->ops->applied)
		s->ops->applied(s, freq_ppb, local_ns);
}

void servo_moving(struct servo *s)
{
	if (s->ops->moving)
		s->ops->moving(s);
}

void servo_reset(struct servo *s)
{
	s->ops->reset(s);
}

void servo_set_interval(struct servo *s, double interval_s)
{
	s->ops->set_interval(s, interval_s);
}

double servo_freq_ppb(const struct servo *s)
{
	return s->ops->freq_ppb(s);
}

double servo_noise_ns(const struct servo *s)
{
	return s->ops->noise_ns ? s->ops->noise_ns(s) : -1.0;
}

double servo_doubt_ns(const struct servo *s)
{
	return s->ops->doubt_ns ? s->ops->doubt_ns(s) : 0.0;
}

void servo_destroy(struct servo *s)
{
	if (s)
		s->ops->destroy(s);
}

const char *servo_state_name(enum servo_state st)
{
	switch (st) {
	case SERVO_UNLOCKED:
		return "unlocked";
	case SERVO_STEP:
		return "step";
	case SERVO_LOCKED:
		return "locked";
	case SERVO_LOCKED_STABLE:
		return "locked_stable";
	}
	return "unknown";
}

const char *servo_type_name(enum servo_type type)
{
	switch (type) {
	case SERVO_PI:
		return "pi";
	case SERVO_KALMAN:
		return "kalman";
	}
	return "unknown";
}
