/* SPDX-License-Identifier: BSD-2-Clause */
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
 * A system clock with its own rate error err (ratio) and the frequency freq_ppb set on it
 * (the kernel applies it on top of the oscillator): over dt of reference time it advances
 * dt * (1 + err) * (1 + freq).
 */
struct model {
	int64_t true_ns;
	double offset_ns; /* system - reference */
	double err;
	double freq_ppb;
};

static void model_advance(struct model *m, double interval_s)
{
	double dt_ns = interval_s * NS_PER_S;

	m->true_ns += (int64_t)dt_ns;
	m->offset_ns += dt_ns * ((1.0 + m->err) * (1.0 + m->freq_ppb * 1e-9) - 1.0);
}

static int64_t model_local_ns(const struct model *m)
{
	return m->true_ns + llround(m->offset_ns);
}

static struct servo *make_servo(double interval_s, double freq_ppb)
{
	struct servo_params p;
	struct servo *s;

	servo_params_defaults(&p, interval_s);
	s = servo_create(SERVO_PI, &p, freq_ppb);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* The exact frequency that cancels a rate error err, in ppb. */
static double cancelling_ppb(double err)
{
	return (1.0 / (1.0 + err) - 1.0) * 1e9;
}

/*
 * Closed loop: 50 ppm fast oscillator, 3 ms initial offset (stepped away), 100 ns Gaussian
 * measurement jitter. For these gains the linearised loop passes jitter sigma to the true
 * offset with a steady-state RMS of about 1.06 sigma (T = 1 s) and 0.51 sigma (T = 0.25 s),
 * and to the integrator with an RMS of about 0.34 and 0.26 sigma ppb. The bounds below are
 * over five of those RMS: a loop that is slower, oscillating or biased fails them.
 */
static void check_convergence(double interval_s, uint64_t seed)
{
	const double sigma_ns = 100.0, err = 50e-6;
	struct model m = {.true_ns = T2026_NS, .offset_ns = 3e6, .err = err};
	struct servo_params p;
	struct servo *s;
	struct sim_rng rng; /* the simulator's: the same noise on every run and every libc */
	double sum_sq = 0.0;
	int steps = 0, n = 0;

	sim_rng_seed(&rng, seed, 0);
	servo_params_defaults(&p, interval_s);
	p.first_step_threshold_ns = 20000;
	s = servo_create(SERVO_PI, &p, 0.0);
	ck_assert_ptr_nonnull(s);

	for (int k = 0; k < 2000; k++) {
		enum servo_state st;
		int64_t meas_ns = llround(m.offset_ns + sigma_ns * sim_rng_gauss(&rng));

		m.freq_ppb = servo_sample(s, meas_ns, model_local_ns(&m), &st);
		if (st == SERVO_STEP) {
			m.offset_ns -= (double)meas_ns;
			steps++;
		}
		ck_assert(fabs(m.freq_ppb) <= p.max_freq_ppb);
		if (k >= 1000) {
			double freq_err_ppb = servo_freq_ppb(s) - cancelling_ppb(err);

			ck_assert(st == SERVO_LOCKED || st == SERVO_LOCKED_STABLE);
			ck_assert_msg(fabs(m.offset_ns) < 6.0 * sigma_ns, "k %d offset %.1f ns", k,
				      m.offset_ns);
			ck_assert_msg(fabs(freq_err_ppb) < 2.0 * sigma_ns,
				      "k %d freq error %.1f ppb", k, freq_err_ppb);
			sum_sq += m.offset_ns * m.offset_ns;
			n++;
		}
		model_advance(&m, interval_s);
	}
	ck_assert_int_eq(steps, 1);
	ck_assert_msg(sqrt(sum_sq / n) < 1.5 * sigma_ns, "rms %.1f ns", sqrt(sum_sq / n));
	servo_destroy(s);
}

START_TEST(test_converges_1s)
{
	check_convergence(1.0, 1);
}
END_TEST

START_TEST(test_converges_250ms)
{
	check_convergence(0.25, 2);
}
END_TEST

START_TEST(test_frequency_estimate_from_two_samples)
{
	/* Already running at +10 ppm, the oscillator 50 ppm fast: the estimate must undo both. */
	const double err = 50e-6, freq0_ppb = 10000.0;
	struct model m = {
		.true_ns = T2026_NS, .offset_ns = 1000.0, .err = err, .freq_ppb = freq0_ppb};
	struct servo *s = make_servo(1.0, freq0_ppb);
	enum servo_state st;
	double f;

	f = servo_sample(s, llround(m.offset_ns), model_local_ns(&m), &st);
	ck_assert_int_eq(st, SERVO_UNLOCKED);
	ck_assert_double_eq(f, freq0_ppb);
	/* A long interval keeps the ns rounding of the samples below 0.01 ppb. */
	model_advance(&m, 100.0);
	f = servo_sample(s, llround(m.offset_ns), model_local_ns(&m), &st);
	ck_assert_int_eq(st, SERVO_LOCKED);
	ck_assert_double_eq_tol(f, cancelling_ppb(err), 0.05);
	ck_assert_double_eq_tol(servo_freq_ppb(s), f, 1e-9);
	servo_destroy(s);
}
END_TEST

START_TEST(test_trusted_frequency_is_kept)
{
	/*
	 * A driftfile frequency: the first sample is slewed out over one interval with the
	 * integrator kept (no estimate), or stepped above the first step threshold; after a
	 * reset the frequency is estimated again.
	 */
	struct model m = {
		.true_ns = T2026_NS, .offset_ns = 1000.0, .err = 50e-6, .freq_ppb = -49000.0};
	struct servo_params p;
	struct servo *s;
	enum servo_state st;
	double f;

	servo_params_defaults(&p, 1.0);
	p.freq_trusted = true;
	p.first_step_threshold_ns = 20000;
	s = servo_create(SERVO_PI, &p, -49000.0);
	ck_assert_ptr_nonnull(s);
	f = servo_sample(s, llround(m.offset_ns), model_local_ns(&m), &st);
	ck_assert_int_eq(st, SERVO_LOCKED);
	ck_assert_double_eq_tol(f, -49000.0 - 1000.0 / 1.0, 1e-6);
	ck_assert_double_eq(servo_freq_ppb(s), -49000.0);
	servo_destroy(s);

	s = servo_create(SERVO_PI, &p, -49000.0);
	f = servo_sample(s, 30000, model_local_ns(&m), &st);
	ck_assert_int_eq(st, SERVO_STEP);
	ck_assert_double_eq(f, -49000.0);
	f = servo_sample(s, 10, model_local_ns(&m) + 1000000000, &st);
	ck_assert_int_eq(st, SERVO_LOCKED);

	servo_reset(s);
	m.freq_ppb = servo_freq_ppb(s);
	servo_sample(s, llround(m.offset_ns), model_local_ns(&m), &st);
	ck_assert_int_eq(st, SERVO_UNLOCKED);
	model_advance(&m, 100.0);
	f = servo_sample(s, llround(m.offset_ns), model_local_ns(&m), &st);
	ck_assert_double_eq_tol(f, cancelling_ppb(50e-6), 0.05);
	servo_destroy(s);
}
END_TEST

START_TEST(test_estimate_needs_newer_sample)
{
	struct servo *s = make_servo(1.0, 0.0);
	enum servo_state st;

	servo_sample(s, 0, 5 * NS_PER_S, &st);
	servo_sample(s, 50000, 5 * NS_PER_S, &st);
	ck_assert_int_eq(st, SERVO_UNLOCKED);
	ck_assert_double_eq(servo_freq_ppb(s), 0.0);
	/* The repeated sample became the first one of the estimate. */
	ck_assert_double_eq_tol(servo_sample(s, 100000, 6 * NS_PER_S, &st), -50000.0, 1e-6);
	ck_assert_int_eq(st, SERVO_LOCKED);
	servo_destroy(s);
}
END_TEST

START_TEST(test_estimate_is_clamped)
{
	struct servo_params p;
	struct servo *s;
	enum servo_state st;

	servo_params_defaults(&p, 1.0);
	p.max_freq_ppb = 1000.0;
	s = servo_create(SERVO_PI, &p, 0.0);
	servo_sample(s, 0, 0, &st);
	ck_assert_double_eq(servo_sample(s, -50000, NS_PER_S, &st), 1000.0);
	ck_assert_double_eq(servo_freq_ppb(s), 1000.0);
	servo_destroy(s);
}
END_TEST

/* Lock a servo on a perfect clock at freq_ppb: two samples with the same offset. */
static void lock_at(struct servo *s, int64_t *local_ns, double interval_s)
{
	enum servo_state st;

	servo_sample(s, 0, *local_ns, &st);
	*local_ns += (int64_t)(interval_s * NS_PER_S);
	servo_sample(s, 0, *local_ns, &st);
	ck_assert_int_eq(st, SERVO_LOCKED);
	*local_ns += (int64_t)(interval_s * NS_PER_S);
}

START_TEST(test_saturation_does_not_wind_up)
{
	struct servo_params p;
	struct servo *s;
	enum servo_state st;
	int64_t local_ns = T2026_NS;
	double f;

	servo_params_defaults(&p, 1.0);
	p.max_freq_ppb = 100000.0;
	s = servo_create(SERVO_PI, &p, 2000.0);
	lock_at(s, &local_ns, 1.0);
	for (int k = 0; k < 1000; k++, local_ns += NS_PER_S) {
		f = servo_sample(s, 10000000, local_ns, &st);
		ck_assert_double_eq(f, -100000.0);
		ck_assert(fabs(servo_freq_ppb(s)) <= p.max_freq_ppb);
	}
	/* The integrator kept its pre-saturation value; the correction turns at once. */
	ck_assert_double_eq_tol(servo_freq_ppb(s), 2000.0, 1e-9);
	f = servo_sample(s, -1000, local_ns, &st);
	ck_assert_double_eq_tol(f, 2000.0 + 1000.0, 1e-9);
	servo_destroy(s);
}
END_TEST

START_TEST(test_states_unlocked_locked_stable)
{
	struct servo *s = make_servo(1.0, 0.0);
	enum servo_state st;
	int64_t local_ns = T2026_NS;

	servo_sample(s, 100, local_ns, &st);
	ck_assert_int_eq(st, SERVO_UNLOCKED);
	local_ns += NS_PER_S;
	servo_sample(s, 100, local_ns, &st);
	ck_assert_int_eq(st, SERVO_LOCKED);
	/* Defaults: 10 offsets in a row below 2000 ns. */
	for (int k = 1; k <= 10; k++) {
		local_ns += NS_PER_S;
		servo_sample(s, 1999, local_ns, &st);
		ck_assert_int_eq(st, k < 10 ? SERVO_LOCKED : SERVO_LOCKED_STABLE);
	}
	local_ns += NS_PER_S;
	servo_sample(s, 2000, local_ns, &st);
	ck_assert_int_eq(st, SERVO_LOCKED);
	for (int k = 1; k <= 10; k++) {
		local_ns += NS_PER_S;
		servo_sample(s, -1999, local_ns, &st);
		ck_assert_int_eq(st, k < 10 ? SERVO_LOCKED : SERVO_LOCKED_STABLE);
	}
	servo_destroy(s);
}
END_TEST

static enum servo_state second_state(int64_t first_step_ns, int64_t offset_ns)
{
	struct servo_params p;
	struct servo *s;
	enum servo_state st;

	servo_params_defaults(&p, 1.0);
	p.first_step_threshold_ns = first_step_ns;
	s = servo_create(SERVO_PI, &p, 0.0);
	servo_sample(s, offset_ns, 0, &st);
	servo_sample(s, offset_ns, NS_PER_S, &st);
	servo_destroy(s);
	return st;
}

START_TEST(test_first_step_threshold)
{
	ck_assert_int_eq(second_state(20000, 20001), SERVO_STEP);
	ck_assert_int_eq(second_state(20000, -20001), SERVO_STEP);
	ck_assert_int_eq(second_state(20000, 20000), SERVO_LOCKED);
	ck_assert_int_eq(second_state(20000, -19999), SERVO_LOCKED);
	ck_assert_int_eq(second_state(0, 1000000000), SERVO_LOCKED);
}
END_TEST

START_TEST(test_first_step_only_on_first_update)
{
	struct servo_params p;
	struct servo *s;
	enum servo_state st;

	servo_params_defaults(&p, 1.0);
	p.first_step_threshold_ns = 20000;
	s = servo_create(SERVO_PI, &p, 0.0);
	servo_sample(s, 100, 0, &st);
	servo_sample(s, 100, NS_PER_S, &st);
	ck_assert_int_eq(st, SERVO_LOCKED);
	servo_reset(s);
	servo_sample(s, 50000, 2 * NS_PER_S, &st);
	ck_assert_int_eq(st, SERVO_UNLOCKED);
	servo_sample(s, 50000, 3 * NS_PER_S, &st);
	ck_assert_int_eq(st, SERVO_LOCKED);
	servo_destroy(s);
}
END_TEST

START_TEST(test_no_later_step_without_threshold)
{
	struct servo_params p;
	struct servo *s;
	enum servo_state st;
	int64_t local_ns = 0;

	servo_params_defaults(&p, 1.0);
	p.first_step_threshold_ns = 20000;
	s = servo_create(SERVO_PI, &p, 0.0);
	lock_at(s, &local_ns, 1.0);
	servo_sample(s, 10 * NS_PER_S, local_ns, &st);
	ck_assert_int_eq(st, SERVO_LOCKED);
	servo_destroy(s);
}
END_TEST

START_TEST(test_later_step_goes_unlocked_then_step)
{
	struct servo_params p;
	struct servo *s;
	enum servo_state st;
	int64_t local_ns = 0;
	double f;

	servo_params_defaults(&p, 1.0);
	p.step_threshold_ns = 1000000;
	s = servo_create(SERVO_PI, &p, 3000.0);
	lock_at(s, &local_ns, 1.0);
	servo_sample(s, 1000000, local_ns, &st);
	ck_assert_int_eq(st, SERVO_LOCKED);
	local_ns += NS_PER_S;
	/* Clock stepped by someone else: hold the frequency and re-estimate it. */
	f = servo_sample(s, -5000000, local_ns, &st);
	ck_assert_int_eq(st, SERVO_UNLOCKED);
	ck_assert_double_eq_tol(f, servo_freq_ppb(s), 1e-9);
	local_ns += NS_PER_S;
	f = servo_sample(s, -5000000, local_ns, &st);
	ck_assert_int_eq(st, SERVO_STEP);
	ck_assert_double_eq_tol(f, servo_freq_ppb(s), 1e-9);
	/* The caller stepped: PI again. */
	local_ns += NS_PER_S;
	servo_sample(s, 10, local_ns, &st);
	ck_assert_int_eq(st, SERVO_LOCKED);
	servo_destroy(s);
}
END_TEST

START_TEST(test_reset_keeps_frequency)
{
	struct servo *s = make_servo(1.0, 0.0);
	enum servo_state st;
	int64_t local_ns = 0;
	double held;

	servo_sample(s, 0, local_ns, &st);
	local_ns += NS_PER_S;
	servo_sample(s, 30000, local_ns, &st);
	local_ns += NS_PER_S;
	servo_sample(s, 500, local_ns, &st);
	held = servo_freq_ppb(s);
	ck_assert_double_eq_tol(held, -30000.0 - 0.3 * 500.0, 0.01);
	servo_reset(s);
	ck_assert_double_eq(servo_freq_ppb(s), held);
	local_ns += NS_PER_S;
	ck_assert_double_eq(servo_sample(s, 800, local_ns, &st), held);
	ck_assert_int_eq(st, SERVO_UNLOCKED);
	servo_destroy(s);
}
END_TEST

/* Measure kp and ki from the response of a locked servo at freq 0 to one offset. */
static void measure_gains(struct servo *s, int64_t *local_ns, double *kp, double *ki)
{
	const int64_t offset_ns = 1000;
	double before = servo_freq_ppb(s);
	enum servo_state st;
	double out;

	out = servo_sample(s, offset_ns, *local_ns, &st);
	*ki = (before - servo_freq_ppb(s)) / offset_ns;
	*kp = (before - out) / offset_ns - *ki;
}

static void check_default_gains(double interval_s, double want_kp, double want_ki)
{
	struct servo *s = make_servo(interval_s, 0.0);
	int64_t local_ns = 0;
	double kp, ki;

	lock_at(s, &local_ns, interval_s);
	measure_gains(s, &local_ns, &kp, &ki);
	ck_assert_double_eq_tol(kp, want_kp, 1e-9);
	ck_assert_double_eq_tol(ki, want_ki, 1e-9);
	servo_destroy(s);
}

START_TEST(test_default_gains)
{
	check_default_gains(1.0, 0.7, 0.3);
	/* 0.7 * 0.25^-0.3 = 0.7 * 2^0.6 and 0.3 * 0.25^0.4 = 0.3 * 2^-0.8: below the caps. */
	check_default_gains(0.25, 1.0610015965572785, 0.17230475324955521);
	/* 0.7 * 16^-0.3 = 0.30 and 0.3 * 16^0.4 = 0.91 exceed the caps 0.7/16 and 0.3/16. */
	check_default_gains(16.0, 0.04375, 0.01875);
}
END_TEST

START_TEST(test_explicit_gains_and_new_interval)
{
	struct servo_params p;
	struct servo *s;
	int64_t local_ns = 0;
	double kp, ki;

	servo_params_defaults(&p, 1.0);
	p.kp = 0.2;
	p.ki = 0.05;
	s = servo_create(SERVO_PI, &p, 0.0);
	lock_at(s, &local_ns, 1.0);
	measure_gains(s, &local_ns, &kp, &ki);
	ck_assert_double_eq_tol(kp, 0.2, 1e-9);
	ck_assert_double_eq_tol(ki, 0.05, 1e-9);
	servo_destroy(s);

	s = make_servo(1.0, 0.0);
	lock_at(s, &local_ns, 1.0);
	servo_set_interval(s, 16.0);
	measure_gains(s, &local_ns, &kp, &ki);
	ck_assert_double_eq_tol(kp, 0.04375, 1e-9);
	ck_assert_double_eq_tol(ki, 0.01875, 1e-9);
	servo_destroy(s);
}
END_TEST

START_TEST(test_bad_params)
{
	struct servo_params p;

	servo_params_defaults(&p, 0.0);
	ck_assert_ptr_null(servo_create(SERVO_PI, &p, 0.0));
	servo_params_defaults(&p, 1.0);
	p.max_freq_ppb = 0.0;
	ck_assert_ptr_null(servo_create(SERVO_PI, &p, 0.0));
	servo_params_defaults(&p, 1.0);
	p.ki = -0.1;
	ck_assert_ptr_null(servo_create(SERVO_PI, &p, 0.0));
	servo_params_defaults(&p, 1.0);
	ck_assert_ptr_null(servo_create(SERVO_PI, &p, NAN));
}
END_TEST

START_TEST(test_state_names)
{
	ck_assert_str_eq(servo_state_name(SERVO_UNLOCKED), "unlocked");
	ck_assert_str_eq(servo_state_name(SERVO_STEP), "step");
	ck_assert_str_eq(servo_state_name(SERVO_LOCKED), "locked");
	ck_assert_str_eq(servo_state_name(SERVO_LOCKED_STABLE), "locked_stable");
}
END_TEST

int main(void)
{
	TCase *tc = check_tcase("pi", NULL, NULL);

	tcase_add_test(tc, test_converges_1s);
	tcase_add_test(tc, test_converges_250ms);
	tcase_add_test(tc, test_frequency_estimate_from_two_samples);
	tcase_add_test(tc, test_trusted_frequency_is_kept);
	tcase_add_test(tc, test_estimate_needs_newer_sample);
	tcase_add_test(tc, test_estimate_is_clamped);
	tcase_add_test(tc, test_saturation_does_not_wind_up);
	tcase_add_test(tc, test_states_unlocked_locked_stable);
	tcase_add_test(tc, test_first_step_threshold);
	tcase_add_test(tc, test_first_step_only_on_first_update);
	tcase_add_test(tc, test_no_later_step_without_threshold);
	tcase_add_test(tc, test_later_step_goes_unlocked_then_step);
	tcase_add_test(tc, test_reset_keeps_frequency);
	tcase_add_test(tc, test_default_gains);
	tcase_add_test(tc, test_explicit_gains_and_new_interval);
	tcase_add_test(tc, test_bad_params);
	tcase_add_test(tc, test_state_names);
	return check_run_tcase("servo", tc);
}
