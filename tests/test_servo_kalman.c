/* SPDX-License-Identifier: BSD-2-Clause */
/* servo kalman against a simulated clock: pure logic, deterministic noise. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check_main.h"
#include "phcsync/servo.h"
#include "phcsync/units.h"
#include "sim/sim_rng.h"

#define T2026_NS 1800000000000000000LL

/*
 * A system clock with its own rate error err (ratio) and the frequency freq_ppb set on it:
 * over dt of reference time it advances dt * (1 + err) * (1 + freq). The error may wander
 * (a random walk of walk_ppb per sqrt(s)). Measurements carry Gaussian noise of sigma_ns.
 */
struct loop {
	struct servo *s;
	struct sim_rng rng;
	int64_t true_ns;
	double offset_ns; /* system - reference */
	double err;
	double walk_ppb;
	double freq_ppb;
	double sigma_ns;
	double interval_s;
	int steps;
};

static void loop_init(struct loop *l, enum servo_type type, const struct servo_params *p,
		      double err, double offset_ns, double sigma_ns, uint64_t seed)
{
	*l = (struct loop){.true_ns = T2026_NS,
			   .offset_ns = offset_ns,
			   .err = err,
			   .sigma_ns = sigma_ns,
			   .interval_s = p->interval_s};
	sim_rng_seed(&l->rng, seed, 0);
	l->s = servo_create(type, p, 0.0);
	ck_assert_ptr_nonnull(l->s);
}

static void loop_advance(struct loop *l)
{
	double dt_ns = l->interval_s * NS_PER_S;

	l->true_ns += (int64_t)dt_ns;
	l->offset_ns += dt_ns * ((1.0 + l->err) * (1.0 + l->freq_ppb * 1e-9) - 1.0);
	l->err += l->walk_ppb * 1e-9 * sqrt(l->interval_s) * sim_rng_gauss(&l->rng);
}

/* One poll with the given extra measurement error; the state the servo returned. */
static enum servo_state loop_poll(struct loop *l, double extra_ns)
{
	enum servo_state st;
	int64_t meas_ns = llround(l->offset_ns + l->sigma_ns * sim_rng_gauss(&l->rng) + extra_ns);
	int64_t local_ns = l->true_ns + llround(l->offset_ns);

	l->freq_ppb = servo_sample(l->s, meas_ns, local_ns, &st);
	if (st == SERVO_STEP) {
		l->offset_ns -= (double)meas_ns;
		l->steps++;
	}
	loop_advance(l);
	return st;
}

/* The exact frequency that cancels a rate error err, in ppb. */
static double cancelling_ppb(double err)
{
	return (1.0 / (1.0 + err) - 1.0) * 1e9;
}

static void kalman_params(struct servo_params *p, double interval_s)
{
	servo_params_defaults(p, interval_s);
	p->first_step_threshold_ns = 20000;
	p->step_threshold_ns = 128000000;
}

/*
 * Offsets and frequency errors on log grids, both signs: after the start (a step above
 * 20 us) the clock's error is the estimator's, which for 100 ns of noise and a still
 * oscillator shrinks well below the noise.
 */
START_TEST(test_converges)
{
	static const double offsets_ns[] = {100.0, 3e3, 1e5, 3e6, 1e8};
	static const double errs_ppm[] = {0.1, 3.0, 100.0, 400.0};
	const double sigma_ns = 100.0;
	uint64_t seed = 1;

	for (size_t i = 0; i < sizeof(offsets_ns) / sizeof(offsets_ns[0]); i++) {
		for (size_t j = 0; j < sizeof(errs_ppm) / sizeof(errs_ppm[0]); j++) {
			for (int sign = -1; sign <= 1; sign += 2) {
				struct servo_params p;
				struct loop l;
				double err = sign * errs_ppm[j] * 1e-6, sum_sq = 0.0;
				int n = 0;

				kalman_params(&p, 1.0);
				loop_init(&l, SERVO_KALMAN, &p, err, sign * offsets_ns[i], sigma_ns,
					  seed++);
				for (int k = 0; k < 600; k++) {
					enum servo_state st = loop_poll(&l, 0.0);

					ck_assert(fabs(l.freq_ppb) <= p.max_freq_ppb);
					if (k < 300)
						continue;
					ck_assert(st == SERVO_LOCKED || st == SERVO_LOCKED_STABLE);
					ck_assert_msg(fabs(l.offset_ns) < 4.0 * sigma_ns,
						      "offset %g err %g: k %d offset %.1f ns",
						      offsets_ns[i], err, k, l.offset_ns);
					sum_sq += l.offset_ns * l.offset_ns;
					n++;
				}
				/* The second sample decides: the offset then, against 20 us. */
				ck_assert_int_eq(
					l.steps,
					fabs(sign * offsets_ns[i] + err * 1e9) > 20000 ? 1 : 0);
				ck_assert_msg(fabs(servo_freq_ppb(l.s) - cancelling_ppb(err)) < 5.0,
					      "offset %g err %g: freq error %.2f ppb",
					      offsets_ns[i], err,
					      servo_freq_ppb(l.s) - cancelling_ppb(err));
				/* The PI passes about sigma; an estimator averaging the still
				 * clock's samples passes far less. */
				ck_assert_msg(sqrt(sum_sq / n) < 0.5 * sigma_ns,
					      "offset %g err %g: rms %.1f ns", offsets_ns[i], err,
					      sqrt(sum_sq / n));
				servo_destroy(l.s);
			}
		}
	}
}
END_TEST

/*
 * The noise estimate converges to the true sigma (log grid 10 ns .. 100 us), and the
 * frequency held through that noise wanders far less than the PI's: its gains follow the
 * noise, the PI's do not.
 */
START_TEST(test_noise_estimate)
{
	for (double sigma_ns = 10.0; sigma_ns <= 100001.0; sigma_ns *= sqrt(10.0)) {
		struct servo_params p;
		struct loop l, pi;
		double est, kal_sq = 0.0, pi_sq = 0.0;

		kalman_params(&p, 1.0);
		p.first_step_threshold_ns = 0;
		loop_init(&l, SERVO_KALMAN, &p, 20e-6, 0.0, sigma_ns, 7);
		loop_init(&pi, SERVO_PI, &p, 20e-6, 0.0, sigma_ns, 7);
		l.walk_ppb = pi.walk_ppb = 1.0;
		for (int k = 0; k < 3000; k++) {
			loop_poll(&l, 0.0);
			loop_poll(&pi, 0.0);
			if (k >= 1500) {
				double ek = l.freq_ppb - cancelling_ppb(l.err);
				double ep = pi.freq_ppb - cancelling_ppb(pi.err);

				kal_sq += ek * ek;
				pi_sq += ep * ep;
			}
		}
		est = servo_noise_ns(l.s);
		ck_assert_msg(est > 0.85 * sigma_ns && est < 1.15 * sigma_ns,
			      "sigma %.0f ns: estimated %.1f ns", sigma_ns, est);
		ck_assert_double_eq(servo_noise_ns(pi.s), -1.0);
		if (sigma_ns >= 1000.0)
			ck_assert_msg(kal_sq < 0.25 * pi_sq,
				      "sigma %.0f ns: frequency rms kalman %.1f pi %.1f ppb",
				      sigma_ns, sqrt(kal_sq / 1500), sqrt(pi_sq / 1500));
		servo_destroy(l.s);
		servo_destroy(pi.s);
	}
}
END_TEST

/* The output is clamped, and the estimate does not wind up while it is. */
START_TEST(test_clamp_no_windup)
{
	for (int sign = -1; sign <= 1; sign += 2) {
		struct servo_params p;
		struct loop l;

		kalman_params(&p, 1.0);
		p.max_freq_ppb = 100000.0;
		/* 300 ppm: beyond the clamp, so the offset runs away at 200 ppm. */
		loop_init(&l, SERVO_KALMAN, &p, sign * 300e-6, 0.0, 10.0, 3);
		for (int k = 0; k < 50; k++) {
			loop_poll(&l, 0.0);
			ck_assert(fabs(l.freq_ppb) <= p.max_freq_ppb);
		}
		ck_assert_double_eq_tol(l.freq_ppb, -sign * p.max_freq_ppb, 1e-6);
		ck_assert(fabs(servo_freq_ppb(l.s)) <= p.max_freq_ppb);
		/* Back within reach: the next interval removes the offset, no overshoot beyond
		 * the noise after it. */
		l.err = sign * 50e-6;
		l.offset_ns = 0.0;
		servo_unsettle(l.s);
		for (int k = 0; k < 30; k++) {
			loop_poll(&l, 0.0);
			if (k >= 10)
				ck_assert_msg(fabs(l.offset_ns) < 1000.0, "k %d offset %.0f ns", k,
					      l.offset_ns);
		}
		servo_destroy(l.s);
	}
}
END_TEST

/* Steps as the PI asks for them: the first threshold at start, the later one after. */
START_TEST(test_step_requests)
{
	struct servo_params p;
	struct servo *s;
	enum servo_state st;
	double f;

	kalman_params(&p, 1.0);
	s = servo_create(SERVO_KALMAN, &p, 1000.0);
	ck_assert_ptr_nonnull(s);
	f = servo_sample(s, 30000, 1 * NS_PER_S, &st);
	ck_assert_int_eq(st, SERVO_UNLOCKED);
	ck_assert_double_eq(f, 1000.0);
	/* The clock held +1000 ppb and gained 1000 ns: the cancelling frequency is 0. */
	f = servo_sample(s, 31000, 2 * NS_PER_S, &st);
	ck_assert_int_eq(st, SERVO_STEP);
	ck_assert_double_eq_tol(f, 0.0, 0.01);
	ck_assert_double_eq_tol(servo_freq_ppb(s), 0.0, 0.01);
	/* Later offsets above the first threshold are slewed. */
	servo_sample(s, 30000, 3 * NS_PER_S, &st);
	ck_assert(st == SERVO_LOCKED);
	/* Beyond the later threshold: unlocked, then a step if it stays. */
	servo_sample(s, 200000000, 4 * NS_PER_S, &st);
	ck_assert_int_eq(st, SERVO_UNLOCKED);
	servo_sample(s, 200000000, 5 * NS_PER_S, &st);
	ck_assert_int_eq(st, SERVO_STEP);
	servo_sample(s, 0, 6 * NS_PER_S, &st);
	ck_assert_int_eq(st, SERVO_LOCKED);
	servo_destroy(s);

	/* Below the first threshold at start: no step; thresholds 0: never. */
	for (int64_t off = -19000; off <= 19000; off += 38000) {
		s = servo_create(SERVO_KALMAN, &p, 0.0);
		servo_sample(s, off, NS_PER_S, &st);
		servo_sample(s, off, 2 * NS_PER_S, &st);
		ck_assert_int_eq(st, SERVO_LOCKED);
		servo_destroy(s);
	}
	p.first_step_threshold_ns = 0;
	p.step_threshold_ns = 0;
	s = servo_create(SERVO_KALMAN, &p, 0.0);
	for (int k = 1; k <= 5; k++) {
		servo_sample(s, 5000000000LL, k * NS_PER_S, &st);
		ck_assert(st != SERVO_STEP);
	}
	servo_destroy(s);
}
END_TEST

/* A driftfile frequency: the first sample decides, the frequency is kept. */
START_TEST(test_trusted_frequency)
{
	struct servo_params p;
	struct servo *s;
	enum servo_state st;
	double f;

	kalman_params(&p, 1.0);
	p.freq_trusted = true;
	s = servo_create(SERVO_KALMAN, &p, -49000.0);
	f = servo_sample(s, 1000, NS_PER_S, &st);
	ck_assert_int_eq(st, SERVO_LOCKED);
	ck_assert_double_eq_tol(f, -49000.0 - 1000.0, 1e-6);
	ck_assert_double_eq(servo_freq_ppb(s), -49000.0);
	servo_destroy(s);

	s = servo_create(SERVO_KALMAN, &p, -49000.0);
	f = servo_sample(s, -30000, NS_PER_S, &st);
	ck_assert_int_eq(st, SERVO_STEP);
	ck_assert_double_eq(f, -49000.0);
	servo_destroy(s);
}
END_TEST

/*
 * A lone outlier far beyond the noise barely moves the clock; a shift that stays is
 * followed within a few samples, both signs, sizes on a log grid.
 */
START_TEST(test_outlier_gating)
{
	for (double size_ns = 2e3; size_ns <= 2e5; size_ns *= 10.0) {
		for (int sign = -1; sign <= 1; sign += 2) {
			struct servo_params p;
			struct loop l;
			double before_ns, max_dev = 0.0;

			kalman_params(&p, 1.0);
			loop_init(&l, SERVO_KALMAN, &p, 10e-6, 0.0, 100.0, 11);
			for (int k = 0; k < 200; k++)
				loop_poll(&l, 0.0);
			before_ns = l.offset_ns;
			loop_poll(&l, sign * size_ns);
			ck_assert_msg(fabs(l.offset_ns - before_ns) < 200.0,
				      "outlier %+.0f ns moved the clock %.1f ns", sign * size_ns,
				      l.offset_ns - before_ns);
			for (int k = 0; k < 50; k++)
				loop_poll(&l, 0.0);
			/* The reference moves for good: the clock follows. */
			l.offset_ns -= sign * size_ns;
			for (int k = 0; k < 5; k++)
				loop_poll(&l, 0.0);
			ck_assert_msg(fabs(l.offset_ns) < 300.0,
				      "shift %+.0f ns: still %.0f ns off", sign * size_ns,
				      l.offset_ns);
			for (int k = 0; k < 100; k++) {
				loop_poll(&l, 0.0);
				max_dev = fmax(max_dev, fabs(l.offset_ns));
			}
			ck_assert_msg(max_dev < 500.0, "shift %+.0f ns: then %.0f ns off",
				      sign * size_ns, max_dev);
			servo_destroy(l.s);
		}
	}
}
END_TEST

/*
 * The caller steps the clock and says so (servo_shift): the servo knows where the offset
 * went, and nothing of it reaches the frequency: a twin that saw no step follows the same
 * frequency, and the stepped clock is back beside it one poll later. Log grid, both signs,
 * where the clock model (the rates multiply) stays within a nanosecond of the servo's.
 */
START_TEST(test_shift)
{
	for (double delta_ns = 100.0; delta_ns <= 1e4; delta_ns *= 10.0) {
		for (int sign = -1; sign <= 1; sign += 2) {
			struct servo_params p;
			struct loop a, b;

			kalman_params(&p, 1.0);
			p.step_threshold_ns = 0;
			loop_init(&a, SERVO_KALMAN, &p, 20e-6, 0.0, 100.0, 5);
			loop_init(&b, SERVO_KALMAN, &p, 20e-6, 0.0, 100.0, 5);
			for (int k = 0; k < 100; k++) {
				loop_poll(&a, 0.0);
				loop_poll(&b, 0.0);
			}
			b.offset_ns += sign * delta_ns;
			/* The caller's local time (CLOCK_MONOTONIC) does not step. */
			b.true_ns -= llround(sign * delta_ns);
			servo_shift(b.s, llround(sign * delta_ns));
			for (int k = 0; k < 50; k++) {
				loop_poll(&a, 0.0);
				loop_poll(&b, 0.0);
				/*
				 * The twins' readings round apart by a nanosecond, and the rates
				 * multiply: removing the step at 20 ppm of error is 2e-5 of it off.
				 * Not told, the twin's frequency moves by a hundredth of the step.
				 */
				ck_assert_msg(fabs(servo_freq_ppb(a.s) - servo_freq_ppb(b.s)) <
						      0.05 + 2e-6 * delta_ns,
					      "shift %+.0f ns, poll %d: frequency %.3f, twin %.3f",
					      sign * delta_ns, k, servo_freq_ppb(b.s),
					      servo_freq_ppb(a.s));
			}
			ck_assert_msg(fabs(a.offset_ns - b.offset_ns) < 1.0,
				      "shift %+.0f ns: %.1f ns from the twin", sign * delta_ns,
				      b.offset_ns - a.offset_ns);
			servo_destroy(a.s);
			servo_destroy(b.s);
		}
	}
}
END_TEST

/* A sample the servo does not follow is its doubt, until one it follows. The PI has none. */
START_TEST(test_doubt)
{
	struct servo_params p;
	struct loop l;

	kalman_params(&p, 1.0);
	loop_init(&l, SERVO_KALMAN, &p, 10e-6, 0.0, 100.0, 3);
	for (int k = 0; k < 200; k++)
		loop_poll(&l, 0.0);
	ck_assert(servo_doubt_ns(l.s) == 0.0);
	loop_poll(&l, 20000.0);
	ck_assert_msg(servo_doubt_ns(l.s) > 19000.0 && servo_doubt_ns(l.s) < 21000.0,
		      "doubt %.0f ns", servo_doubt_ns(l.s));
	loop_poll(&l, 0.0);
	ck_assert(servo_doubt_ns(l.s) == 0.0);
	servo_destroy(l.s);
	loop_init(&l, SERVO_PI, &p, 10e-6, 0.0, 100.0, 3);
	for (int k = 0; k < 50; k++)
		loop_poll(&l, 0.0);
	loop_poll(&l, 20000.0);
	ck_assert(servo_doubt_ns(l.s) == 0.0);
	servo_destroy(l.s);
}
END_TEST

/* reset: unlocked again, frequency kept. unsettle: frequency and state kept, and an offset
 * the discipline left is taken at once. */
START_TEST(test_reset_unsettle)
{
	struct servo_params p;
	struct loop l;
	enum servo_state st;
	double f;

	kalman_params(&p, 1.0);
	p.stable_count = 5;
	loop_init(&l, SERVO_KALMAN, &p, 30e-6, 0.0, 50.0, 5);
	for (int k = 0; k < 100; k++)
		st = loop_poll(&l, 0.0);
	ck_assert_int_eq(st, SERVO_LOCKED_STABLE);
	f = servo_freq_ppb(l.s);
	ck_assert_double_eq_tol(f, cancelling_ppb(30e-6), 10.0);

	servo_unsettle(l.s);
	ck_assert_double_eq(servo_freq_ppb(l.s), f);
	/* The discipline slewed and left 5 us: no outlier. */
	l.offset_ns += 5000.0;
	st = loop_poll(&l, 0.0);
	ck_assert_int_eq(st, SERVO_LOCKED);
	ck_assert_msg(fabs(l.offset_ns) < 500.0, "left %.0f ns", l.offset_ns);
	for (int k = 0; k < 10; k++)
		st = loop_poll(&l, 0.0);
	ck_assert_int_eq(st, SERVO_LOCKED_STABLE);

	servo_reset(l.s);
	ck_assert_double_eq_tol(servo_freq_ppb(l.s), f, 10.0);
	f = servo_freq_ppb(l.s);
	ck_assert_int_eq(loop_poll(&l, 0.0), SERVO_UNLOCKED);
	ck_assert_double_eq(l.freq_ppb, f);
	ck_assert_int_eq(loop_poll(&l, 0.0), SERVO_LOCKED);
	servo_destroy(l.s);
}
END_TEST

/* A new poll interval: the control spreads the offset over it, and converges as well. */
START_TEST(test_interval_change)
{
	struct servo_params p;
	struct loop l;

	kalman_params(&p, 1.0);
	loop_init(&l, SERVO_KALMAN, &p, -40e-6, 5000.0, 100.0, 9);
	for (int k = 0; k < 200; k++)
		loop_poll(&l, 0.0);
	for (double t = 0.25; t <= 4.01; t *= 4.0) {
		servo_set_interval(l.s, t);
		servo_set_interval(l.s, 0.0);
		servo_set_interval(l.s, NAN);
		l.interval_s = t;
		l.offset_ns += 2000.0;
		for (int k = 0; k < 300; k++) {
			loop_poll(&l, 0.0);
			if (k >= 100)
				ck_assert_msg(fabs(l.offset_ns) < 400.0, "T %.2f k %d offset %.0f",
					      t, k, l.offset_ns);
		}
	}
	servo_destroy(l.s);
}
END_TEST

START_TEST(test_names_and_bad_input)
{
	struct servo_params p;

	ck_assert_str_eq(servo_type_name(SERVO_PI), "pi");
	ck_assert_str_eq(servo_type_name(SERVO_KALMAN), "kalman");
	kalman_params(&p, 1.0);
	p.interval_s = 0.0;
	ck_assert_ptr_null(servo_create(SERVO_KALMAN, &p, 0.0));
	kalman_params(&p, 1.0);
	ck_assert_ptr_null(servo_create(SERVO_KALMAN, &p, NAN));
	p.max_freq_ppb = 0.0;
	ck_assert_ptr_null(servo_create(SERVO_KALMAN, &p, 0.0));
}
END_TEST

int main(void)
{
	TCase *tc = check_tcase("servo_kalman", NULL, NULL);

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_converges);
	tcase_add_test(tc, test_noise_estimate);
	tcase_add_test(tc, test_clamp_no_windup);
	tcase_add_test(tc, test_step_requests);
	tcase_add_test(tc, test_trusted_frequency);
	tcase_add_test(tc, test_outlier_gating);
	tcase_add_test(tc, test_shift);
	tcase_add_test(tc, test_doubt);
	tcase_add_test(tc, test_reset_unsettle);
	tcase_add_test(tc, test_interval_change);
	tcase_add_test(tc, test_names_and_bad_input);
	return check_run_tcase("servo_kalman", tc);
}
