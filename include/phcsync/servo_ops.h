/* SPDX-License-Identifier: BSD-2-Clause */
/* What a servo algorithm provides to servo.c. Not for callers of the servo. */
#ifndef PHCSYNC_SERVO_OPS_H
#define PHCSYNC_SERVO_OPS_H

#include "phcsync/servo.h"

struct servo {
	const struct servo_ops *ops;
};

struct servo_ops {
	double (*sample)(struct servo *s, int64_t offset_ns, int64_t local_ns,
			 enum servo_state *state);
	void (*reset)(struct servo *s);
	void (*unsettle)(struct servo *s);
	/* NULL: the servo keeps no offset or output between samples. */
	void (*shift)(struct servo *s, int64_t delta_ns);
	void (*applied)(struct servo *s, double freq_ppb, int64_t local_ns);
	void (*moving)(struct servo *s);
	void (*set_interval)(struct servo *s, double interval_s);
	double (*freq_ppb)(const struct servo *s);
	double (*noise_ns)(const struct servo *s); /* NULL: estimates none */
	double (*doubt_ns)(const struct servo *s); /* NULL: follows every sample */
	void (*destroy)(struct servo *s);
};

/* What every algorithm requires of its parameters and start frequency. */
bool servo_params_valid(const struct servo_params *p, double freq_ppb);

/* |offset_ns| is beyond a step threshold; a threshold of 0 means never. */
static inline bool servo_beyond(int64_t offset_ns, int64_t threshold_ns)
{
	return threshold_ns > 0 && (offset_ns > threshold_ns || offset_ns < -threshold_ns);
}

/* Constructors of the algorithms. */
struct servo *servo_pi_create(const struct servo_params *p, double freq_ppb);
struct servo *servo_kalman_create(const struct servo_params *p, double freq_ppb);

#endif
