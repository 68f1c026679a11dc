/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Clock servos: turn offsets into frequency corrections. Pure: no I/O, no clock access.
 * Algorithms sit behind a table of operations (servo_pi.c, servo_kalman.c); the caller
 * sees only this interface.
 */
#ifndef PHCSYNC_SERVO_H
#define PHCSYNC_SERVO_H

#include <stdbool.h>
#include <stdint.h>

enum servo_type { SERVO_PI, SERVO_KALMAN };

enum servo_state {
	SERVO_UNLOCKED,	     /* collecting the first samples: keep the frequency */
	SERVO_STEP,	     /* step the clock by -offset_ns, then set the returned frequency */
	SERVO_LOCKED,	     /* set the returned frequency */
	SERVO_LOCKED_STABLE, /* locked and the offset has stayed small for a while */
};

struct servo_params {
	double interval_s;		 /* poll interval T */
	double kp;			 /* 0: linuxptp default 0.7 * T^-0.3, at most 0.7 / T */
	double ki;			 /* 0: linuxptp default 0.3 * T^0.4, at most 0.3 / T */
	double max_freq_ppb;		 /* output clamp (the kernel's limit) */
	int64_t first_step_threshold_ns; /* step on the first update above this; 0: never */
	int64_t step_threshold_ns;	 /* step later above this; 0: never */
	int64_t stable_offset_ns;	 /* |offset| below this ... */
	int stable_count;		 /* ... this many times in a row: LOCKED_STABLE */
	double stable_kp_scale;		 /* gains while LOCKED_STABLE: less noise passed on */
	double stable_ki_scale;
	bool freq_trusted; /* the start frequency is known (a driftfile): the
			      first sample decides (step or PI) without an estimate */
};

/* Fill p with defaults for a poll interval of interval_s seconds. */
void servo_params_defaults(struct servo_params *p, double interval_s);

/* A servo starting from the frequency freq_ppb now set on the clock; NULL on bad input. */
struct servo *servo_create(enum servo_type type, const struct servo_params *p, double freq_ppb);

/*
 * Feed one measurement. offset_ns: system - reference (positive: system ahead);
 * local_ns: when it was measured (any monotonic ns scale). Returns the frequency in ppb to
 * set on the system clock (positive: run faster), clamped to max_freq_ppb; *state says
 * what to do with it (see enum servo_state).
 */
double servo_sample(struct servo *s, int64_t offset_ns, int64_t local_ns, enum servo_state *state);

/* Forget the measurements and start again from UNLOCKED, keeping the frequency. */
void servo_reset(struct servo *s);

/* An event (holdover, disruption) may have moved the frequency: forget that the offset was
 * stable, so full gains apply until it is stable again. Keeps the frequency and state. */
void servo_unsettle(struct servo *s);

/*
 * The caller moved the offset the servo sees by delta_ns (a step, a slew it took over or
 * gave back): what the servo knows of the offset moves with it. A servo asking for a step
 * (SERVO_STEP) takes the offset it saw as stepped out: the caller shifts only what differs.
 */
void servo_shift(struct servo *s, int64_t delta_ns);

/* The caller is moving the offset (a slew on, or just done): what the next samples show
 * beyond the noise is the move's (a rate set a little after it counts), not the clock's. */
void servo_moving(struct servo *s);

/* From local_ns on, the frequency set on the clock (of which the servo's offsets see the
 * effect) is freq_ppb, whatever the servo returned: the caller holds, or slews instead. */
void servo_applied(struct servo *s, double freq_ppb, int64_t local_ns);

/* The poll interval changed: recompute default gains. */
void servo_set_interval(struct servo *s, double interval_s);

/* The frequency the servo would hold now (its integrator, the Kalman servo's frequency
 * estimate), ppb. */
double servo_freq_ppb(const struct servo *s);

/* The measurement noise the servo estimates from its data (sigma, ns); -1: none (the PI
 * estimates none, the Kalman servo none before its first filtered sample). */
double servo_noise_ns(const struct servo *s);

/* How far the last sample was from what the servo follows, when it chose not to follow it
 * (an outlier it down-weighted), ns; 0 when it followed. Were the sample right, the clock
 * may move as far again by the next one: an error bound must include it. */
double servo_doubt_ns(const struct servo *s);

void servo_destroy(struct servo *s);

/* "pi", "kalman". */
const char *servo_type_name(enum servo_type type);

/* "unlocked", "step", "locked", "locked_stable". */
const char *servo_state_name(enum servo_state st);

#endif
