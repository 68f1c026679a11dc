/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Kalman servo on two states: the clock's offset x (ns) and the frequency fc (ppb) that
 * holds the offset constant (what the PI's integrator holds). With the frequency f set on
 * the clock, x grows by (f - fc) dt. Each output removes the estimated offset over the next
 * interval on top of fc, so the clock's error is the estimator's error.
 *
 * Nothing is set per device. The covariance is kept in units of the measurement noise R
 * (P / R), so the gains depend only on the ratio of process to measurement noise, and R
 * itself comes from the innovations:
 * - R: the median of the normalised squared innovations over a window, which a heavy tail
 *   or a burst of outliers does not move.
 * - Process noise: a frequency random walk q, a prior of 1 ppb^2/s scaled by a factor
 *   learnt from the innovations' lag-one correlation: positive when the filter lags the
 *   clock (q too small), negative when it chases the noise (q too large). An optimal
 *   filter's innovations are white.
 * - Gating: a sample whose innovation u is beyond GATE_SIGMA counts as if its noise were
 *   (u / GATE_SIGMA)^2 times larger, so a far outlier barely moves the estimate; PERSIST
 *   of them in a row on one side are a real move, followed at once; so is one just after
 *   an unsettle, when the discipline itself has moved the clock.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "phcsync/servo.h"
#include "phcsync/servo_ops.h"

#define WINDOW 256		/* innovations in the noise estimate */
#define WINDOW_MIN 8		/* before this many, no gating */
#define CHI2_1_MEDIAN 0.4549364 /* median of a squared standard normal */
#define R_START_NS2 1e4		/* (100 ns)^2 until innovations say otherwise */
#define R_MIN_NS2 1.0
#define Q_PRIOR_PPB2_S 1.0 /* frequency random walk of a typical oscillator */
#define Q_SCALE_MIN 1e-4
#define Q_SCALE_MAX 1e4
#define Q_ETA 0.02 /* step of the log scale per innovation pair */
#define GATE_SIGMA 4.0
#define PERSIST 3
#define UNSETTLE_WANDER_S 600.0
#define FC_LIMIT 4.0 /* times max_freq_ppb: the frequency estimate's bound */

struct kalman_servo {
	struct servo base; /* first: servo.c hands us &base */
	struct servo_params p;
	/* State at last_ns, and covariance over R. */
	double x_ns;
	double fc_ppb;
	double pxx, pxf, pff;
	double out_ppb; /* the frequency returned last: on the clock since last_ns */
	int64_t last_ns;
	int count; /* 0, 1: collecting (as the PI); 2: filtering */
	int64_t offset0_ns;
	int64_t local0_ns;
	bool first_update;
	bool relock; /* count 1 after a large offset: keep the filter's frequency */
	int stable_run;
	/* Noise estimation. */
	double ring[WINDOW]; /* innovation^2 / (P/R + 1): R for each sample */
	int ring_n, ring_pos;
	double r_ns2;
	double q_log_scale;
	double last_u;	 /* the previous normalised innovation, 0 when none */
	int gated_run;	 /* gated innovations in a row on one side (sign) */
	int moved;	 /* samples since an unsettle still to take a gated one as a move */
	double doubt_ns; /* the last sample's innovation when it was down-weighted, else 0 */
};

static struct kalman_servo *to_k(struct servo *s)
{
	return (struct kalman_servo *)s;
}

static const struct kalman_servo *to_k_const(const struct servo *s)
{
	return (const struct kalman_servo *)s;
}

static double clamp(double v, double limit)
{
	return v > limit ? limit : v < -limit ? -limit : v;
}

/*
 * The k-th smallest of v[0..n) (0-based); reorders v. A selection, not qsort: glibc's
 * qsort asks the kernel for the memory size (sysinfo) on arrays this long, which the
 * seccomp allow-list rightly refuses.
 */
static double select_kth(double *v, int n, int k)
{
	int lo = 0, hi = n - 1;

	while (lo < hi) {
		double pivot = v[lo + (hi - lo) / 2];
		int i = lo, j = hi;

		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				double t = v[i];

				v[i++] = v[j];
				v[j--] = t;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return v[k];
}

static void noise_push(struct kalman_servo *s, double r_sample)
{
	double sorted[WINDOW];
	int n;

	s->ring[s->ring_pos] = r_sample;
	s->ring_pos = (s->ring_pos + 1) % WINDOW;
	if (s->ring_n < WINDOW)
		s->ring_n++;
	n = s->ring_n;
	memcpy(sorted, s->ring, sizeof(double) * (size_t)n);
	if (n % 2)
		s->r_ns2 = select_kth(sorted, n, n / 2);
	else
		s->r_ns2 = 0.5 * (select_kth(sorted, n, n / 2 - 1) + select_kth(sorted, n, n / 2));
	s->r_ns2 /= CHI2_1_MEDIAN;
	if (s->r_ns2 < R_MIN_NS2)
		s->r_ns2 = R_MIN_NS2;
}

static double q_norm(const struct kalman_servo *s)
{
	return Q_PRIOR_PPB2_S * exp(s->q_log_scale) / s->r_ns2;
}

/* The output for the current estimate: remove x over one interval, on top of fc. */
static double control(struct kalman_servo *s)
{
	s->out_ppb = clamp(s->fc_ppb - s->x_ns / s->p.interval_s, s->p.max_freq_ppb);
	return s->out_ppb;
}

/* The output that holds the estimated frequency. */
static double hold(struct kalman_servo *s)
{
	s->out_ppb = clamp(s->fc_ppb, s->p.max_freq_ppb);
	return s->out_ppb;
}

/* Start filtering at local_ns from offset x and frequency fc known as well as two samples
 * dt_s apart tell them. */
static void start_filter(struct kalman_servo *s, double x_ns, int64_t local_ns, double dt_s)
{
	s->x_ns = x_ns;
	s->pxx = 1.0;
	s->pxf = -1.0 / dt_s;
	s->pff = 2.0 / (dt_s * dt_s);
	s->last_ns = local_ns;
	s->last_u = 0.0;
	s->gated_run = 0;
	s->moved = 0;
	s->stable_run = 0;
	s->count = 2;
}

static void remember(struct kalman_servo *s, int64_t offset_ns, int64_t local_ns)
{
	s->offset0_ns = offset_ns;
	s->local0_ns = local_ns;
	s->count = 1;
}

static void predict(struct kalman_servo *s, double dt_s)
{
	double q = q_norm(s);

	if (dt_s <= 0.0)
		return;
	s->x_ns += (s->out_ppb - s->fc_ppb) * dt_s;
	s->pxx += -2.0 * dt_s * s->pxf + dt_s * dt_s * s->pff + q * dt_s * dt_s * dt_s / 3.0;
	s->pxf += -dt_s * s->pff - q * dt_s * dt_s / 2.0;
	s->pff += q * dt_s;
}

/* One measurement z of x, its noise scaled by w (1: as estimated). */
static void update(struct kalman_servo *s, double z_ns, double w)
{
	double sv = s->pxx + w, nu = z_ns - s->x_ns;
	double kx = s->pxx / sv, kf = s->pxf / sv;
	double pxx = s->pxx, pxf = s->pxf;

	s->x_ns += kx * nu;
	/* Not clamped at the output's limit: where the clock needs more than that, the
	 * estimate must say so, or it would learn the runaway offset as noise. */
	s->fc_ppb = clamp(s->fc_ppb + kf * nu, FC_LIMIT * s->p.max_freq_ppb);
	s->pxx = pxx - kx * pxx;
	s->pxf = pxf - kx * pxf;
	s->pff = s->pff - kf * pxf;
	if (s->pxx < 0.0 || s->pff < 0.0 || s->pxf * s->pxf > s->pxx * s->pff) {
		/* Rounding: keep the covariance positive definite. */
		s->pxx = fabs(s->pxx) + 1e-12;
		s->pff = fabs(s->pff) + 1e-30;
		s->pxf = copysign(fmin(fabs(s->pxf), sqrt(s->pxx * s->pff)), s->pxf);
	}
}

static void filter_sample(struct kalman_servo *s, int64_t offset_ns, int64_t local_ns)
{
	double dt_s = (double)(local_ns - s->last_ns) / 1e9;
	double z = (double)offset_ns, nu, sv, u, w = 1.0;
	bool moving = s->moved > 0;
	bool gating;

	predict(s, dt_s);
	if (local_ns > s->last_ns)
		s->last_ns = local_ns;
	nu = z - s->x_ns;
	s->doubt_ns = 0.0;
	sv = s->pxx + 1.0;
	/*
	 * What is left of a move the discipline made (a slew's rate set a little later than
	 * it counts, a step's latency) is not noise, nor news about the frequency: beyond
	 * the gate it moves the phase only, even before the noise is known (R's start value).
	 */
	if (s->moved == 0)
		noise_push(s, nu * nu / sv);
	u = nu / sqrt(sv * s->r_ns2);
	gating = s->ring_n >= WINDOW_MIN || s->moved > 0;

	if (gating && fabs(u) > GATE_SIGMA) {
		int side = u > 0 ? 1 : -1;

		s->gated_run = s->gated_run * side > 0 ? s->gated_run + side : side;
		if (abs(s->gated_run) >= PERSIST || s->moved > 0) {
			/*
			 * A real move: the offset is as uncertain as the move is large. One the
			 * servo found itself may be a new frequency too: as uncertain as if the
			 * move took one interval (innovations that then stay small, as after a
			 * phase jump, leave it where it was). The discipline moves only the phase,
			 * but a second leftover on the same side, after the phase was taken, is
			 * the clock running away (a frequency that moved in a holdover).
			 */
			double span_s = fmax(dt_s, s->p.interval_s);

			s->pxx += nu * nu / s->r_ns2;
			if (s->moved == 0 || abs(s->gated_run) >= 2)
				s->pff += nu * nu / (span_s * span_s * s->r_ns2);
			if (s->moved == 0)
				s->gated_run = 0;
		} else {
			/* Down-weight: the farther out, the less it counts. */
			w = sv * (u * u / (GATE_SIGMA * GATE_SIGMA)) - s->pxx;
			s->doubt_ns = fabs(nu);
		}
	} else {
		s->gated_run = 0;
	}
	update(s, z, w);
	if (s->moved > 0)
		s->moved--;

	/* Whiteness: adapt the process noise from consecutive clipped innovations (a move's
	 * leftovers say nothing of it). */
	if (gating && !moving) {
		double uc = clamp(u, 2.0);

		if (s->last_u != 0.0)
			s->q_log_scale += Q_ETA * uc * s->last_u;
		s->q_log_scale = fmax(log(Q_SCALE_MIN), fmin(log(Q_SCALE_MAX), s->q_log_scale));
		s->last_u = uc != 0.0 ? uc : 1e-9;
	}
}

static enum servo_state stability(struct kalman_servo *s, int64_t offset_ns)
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

static double kalman_sample(struct servo *servo, int64_t offset_ns, int64_t local_ns,
			    enum servo_state *state)
{
	struct kalman_servo *s = to_k(servo);
	double dt_s;

	switch (s->count) {
	case 0:
		if (s->first_update && s->p.freq_trusted) {
			/* The frequency is known: one sample decides between a step and the filter.
			 */
			s->first_update = false;
			start_filter(s, (double)offset_ns, local_ns, s->p.interval_s);
			if (servo_beyond(offset_ns, s->p.first_step_threshold_ns) ||
			    servo_beyond(offset_ns, s->p.step_threshold_ns)) {
				s->x_ns = 0.0;
				*state = SERVO_STEP;
				return hold(s);
			}
			*state = SERVO_LOCKED;
			return control(s);
		}
		remember(s, offset_ns, local_ns);
		*state = SERVO_UNLOCKED;
		return hold(s);
	case 1:
		if (local_ns <= s->local0_ns) {
			remember(s, offset_ns, local_ns);
			*state = SERVO_UNLOCKED;
			return hold(s);
		}
		dt_s = (double)(local_ns - s->local0_ns) / 1e9;
		if (!s->relock && !(s->first_update && s->p.freq_trusted)) {
			/* The clock ran at out: the offset's rate is out's error. */
			double rate = ((double)offset_ns - (double)s->offset0_ns) / dt_s;

			s->fc_ppb = clamp(s->out_ppb - rate * (1.0 + s->out_ppb * 1e-9),
					  FC_LIMIT * s->p.max_freq_ppb);
		}
		start_filter(s, (double)offset_ns, local_ns, dt_s);
		hold(s);
		s->relock = false;
		if ((s->first_update && servo_beyond(offset_ns, s->p.first_step_threshold_ns)) ||
		    servo_beyond(offset_ns, s->p.step_threshold_ns)) {
			s->first_update = false;
			s->x_ns = 0.0;
			*state = SERVO_STEP;
			return hold(s);
		}
		s->first_update = false;
		*state = SERVO_LOCKED;
		return control(s);
	default:
		break;
	}

	/* Too far off to slew: the next sample, if it agrees, asks for a step. */
	if (servo_beyond(offset_ns, s->p.step_threshold_ns)) {
		remember(s, offset_ns, local_ns);
		s->relock = true;
		*state = SERVO_UNLOCKED;
		return hold(s);
	}
	filter_sample(s, offset_ns, local_ns);
	*state = stability(s, offset_ns);
	return control(s);
}

static void kalman_reset(struct servo *servo)
{
	struct kalman_servo *s = to_k(servo);

	s->count = 0;
	s->stable_run = 0;
	s->relock = false;
	s->ring_n = 0;
	s->ring_pos = 0;
	s->last_u = 0.0;
	s->gated_run = 0;
	s->doubt_ns = 0.0;
}

static void kalman_unsettle(struct servo *servo)
{
	struct kalman_servo *s = to_k(servo);

	/*
	 * Someone else moved the offset (a step, a slew): what is left of it is no outlier.
	 * The event may have hidden time from us (a suspend, a holdover) in which the
	 * frequency wandered: at least as uncertain as after UNSETTLE_WANDER_S of wander.
	 */
	s->stable_run = 0;
	s->gated_run = 0;
	s->last_u = 0.0;
	s->moved = PERSIST;
	s->pff = fmax(s->pff, q_norm(s) * UNSETTLE_WANDER_S);
}

static void kalman_shift(struct servo *servo, int64_t delta_ns)
{
	struct kalman_servo *s = to_k(servo);

	if (s->count == 1)
		s->offset0_ns += delta_ns;
	else if (s->count == 2)
		s->x_ns += (double)delta_ns;
}

/*
 * The prediction runs on the frequency on the clock: up to local_ns on the one it knew,
 * from then on freq_ppb (continuous process noise: predicting in two parts is the same).
 * Between the two first samples, the first moves as if freq_ppb had been on all along.
 */
static void kalman_applied(struct servo *servo, double freq_ppb, int64_t local_ns)
{
	struct kalman_servo *s = to_k(servo);

	if (!isfinite(freq_ppb))
		return;
	if (s->count == 2 && local_ns > s->last_ns) {
		predict(s, (double)(local_ns - s->last_ns) / 1e9);
		s->last_ns = local_ns;
	} else if (s->count == 1 && local_ns > s->local0_ns) {
		s->offset0_ns += (int64_t)llround((s->out_ppb - freq_ppb) *
						  (double)(local_ns - s->local0_ns) / 1e9);
	}
	s->out_ppb = freq_ppb;
}

static void kalman_moving(struct servo *servo)
{
	struct kalman_servo *s = to_k(servo);

	s->gated_run = 0;
	s->moved = PERSIST;
}

static void kalman_set_interval(struct servo *servo, double interval_s)
{
	if (isfinite(interval_s) && interval_s > 0.0)
		to_k(servo)->p.interval_s = interval_s;
}

static double kalman_freq_ppb(const struct servo *servo)
{
	const struct kalman_servo *s = to_k_const(servo);

	return clamp(s->fc_ppb, s->p.max_freq_ppb);
}

static double kalman_noise_ns(const struct servo *servo)
{
	const struct kalman_servo *s = to_k_const(servo);

	return s->ring_n ? sqrt(s->r_ns2) : -1.0;
}

static double kalman_doubt_ns(const struct servo *servo)
{
	return to_k_const(servo)->doubt_ns;
}

static void kalman_destroy(struct servo *servo)
{
	free(to_k(servo));
}

static const struct servo_ops kalman_ops = {
	.sample = kalman_sample,
	.reset = kalman_reset,
	.unsettle = kalman_unsettle,
	.shift = kalman_shift,
	.applied = kalman_applied,
	.moving = kalman_moving,
	.set_interval = kalman_set_interval,
	.freq_ppb = kalman_freq_ppb,
	.noise_ns = kalman_noise_ns,
	.doubt_ns = kalman_doubt_ns,
	.destroy = kalman_destroy,
};

struct servo *servo_kalman_create(const struct servo_params *p, double freq_ppb)
{
	struct kalman_servo *s;

	if (!p || !servo_params_valid(p, freq_ppb))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->base.ops = &kalman_ops;
	s->p = *p;
	s->fc_ppb = clamp(freq_ppb, p->max_freq_ppb);
	hold(s);
	s->first_update = true;
	s->r_ns2 = R_START_NS2;
	return &s->base;
}
