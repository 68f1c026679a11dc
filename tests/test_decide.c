/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The discipline's decisions, driven by a simulated clock: each pass's action is applied to
 * a simulated offset (clock - reference) before the next sample is taken.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "phcsync/decide.h"

#define US 1000LL
#define MS 1000000LL
#define S 1000000000LL

struct sim {
	struct decide_params p;
	struct decide *d;
	struct action a;
	int64_t t_ns;	     /* CLOCK_MONOTONIC (and the true time since start) */
	int64_t raw_ns;	     /* the oscillator */
	int64_t phc_ns;	     /* the reference */
	double offset_ns;    /* clock - reference */
	double osc_ppb;	     /* the oscillator's error: the clock's rate at frequency 0 */
	double phc_rate_ppb; /* the PHC's rate error */
	double freq_ppb;     /* on the clock */
	bool frozen;	     /* the PHC does not advance */
	int events;	     /* over the whole run */
	char log[8192];
};

static struct sim sim;
/* The servo of the test case running: every decision must hold with each. */
static enum servo_type servo_type;

static void params(double interval_s)
{
	decide_params_defaults(&sim.p, interval_s);
	sim.p.servo_type = servo_type;
	sim.p.servo.first_step_threshold_ns = sim.p.first_step_threshold_ns;
	sim.p.servo.step_threshold_ns = sim.p.step_threshold_ns;
}

static void start(double offset_s)
{
	sim.p.servo.first_step_threshold_ns = sim.p.first_step_threshold_ns;
	sim.p.servo.step_threshold_ns = sim.p.step_threshold_ns;
	sim.d = decide_create(&sim.p, NULL);
	ck_assert_ptr_nonnull(sim.d);
	sim.t_ns = 100 * S;
	sim.raw_ns = 90 * S;
	sim.phc_ns = 1700000000LL * S;
	sim.offset_ns = offset_s * 1e9;
	sim.freq_ppb = sim.p.start_freq_ppb;
}

static void setup(void)
{
	memset(&sim, 0, sizeof(sim));
	params(1.0);
}

static void setup_pi(void)
{
	servo_type = SERVO_PI;
	setup();
}

static void setup_kalman(void)
{
	servo_type = SERVO_KALMAN;
	setup();
}

static void teardown(void)
{
	decide_destroy(sim.d);
	sim.d = NULL;
}

static void take(void)
{
	const struct action *a = &sim.a;

	ck_assert(a->nevents >= 0 && a->nevents <= DECIDE_EVENTS_MAX);
	for (int i = 0; i < a->nevents; i++) {
		size_t len = strlen(sim.log);

		if (len + strlen(a->events[i].text) + 2 < sizeof(sim.log)) {
			strcat(sim.log, a->events[i].text);
			strcat(sim.log, "\n");
		}
	}
	sim.events += a->nevents;
	if (a->step)
		sim.offset_ns += (double)a->step_ns;
	if (a->set_freq) {
		ck_assert_msg(fabs(a->freq_ppb) <= sim.p.servo.max_freq_ppb + 1e-6,
			      "frequency %.0f beyond %.0f", a->freq_ppb, sim.p.servo.max_freq_ppb);
		sim.freq_ppb = a->freq_ppb;
	}
}

/*
 * Time passes: dt_ns of CLOCK_MONOTONIC, which like the clock runs at the oscillator scaled
 * by the kernel's frequency (the rates multiply): less or more true time.
 */
static void advance(int64_t dt_ns)
{
	double rate = (1.0 + sim.osc_ppb * 1e-9) * (1.0 + sim.freq_ppb * 1e-9);
	double true_ns = (double)dt_ns / rate;

	sim.t_ns += dt_ns;
	sim.raw_ns += llround(true_ns * (1.0 + sim.osc_ppb * 1e-9));
	if (!sim.frozen)
		sim.phc_ns += llround(true_ns * (1.0 + sim.phc_rate_ppb * 1e-9));
	sim.offset_ns += (rate - 1.0) * true_ns;
	if (sim.frozen)
		sim.offset_ns += true_ns;
	else
		sim.offset_ns -= sim.phc_rate_ppb * 1e-9 * true_ns;
}

static struct decide_sample sample(void)
{
	struct decide_sample s = {
		.t_mono_ns = sim.t_ns,
		.offset_ns = llround(sim.offset_ns),
		.ref_utc_ns = sim.phc_ns - 37 * S,
		.error_ns = 100,
		.phc_ns = sim.phc_ns,
		.raw_ns = sim.raw_ns,
		.mono_at_ns = sim.t_ns,
	};

	return s;
}

/* One pass: time passes (the quick poll when asked for), a sample, its action applied. */
static void pass(void)
{
	struct decide_sample s;

	advance(sim.a.quick_poll ? decide_quick_poll_ns() : (int64_t)(sim.p.interval_s * S));
	s = sample();
	decide_sample(sim.d, &s, &sim.a);
	take();
	ck_assert(sim.a.set_status);
	ck_assert(sim.a.maxerror_ns >= llabs(s.offset_ns) + s.error_ns);
	ck_assert(sim.a.synced == (decide_view(sim.d)->mode == STATUS_LOCKED && sim.p.rtcsync));
}

static void failure(int err)
{
	advance((int64_t)(sim.p.interval_s * S));
	decide_failure(sim.d, err, true, sim.t_ns, &sim.a);
	take();
}

static enum status_state mode(void)
{
	return decide_view(sim.d)->mode;
}

static enum decide_fault fault(void)
{
	return decide_view(sim.d)->fault;
}

static bool logged(const char *what)
{
	return strstr(sim.log, what) != NULL;
}

static int count(const char *what)
{
	int n = 0;

	for (const char *p = strstr(sim.log, what); p; p = strstr(p + 1, what))
		n++;
	return n;
}

static int run_until(enum status_state m, int max)
{
	for (int i = 1; i <= max; i++) {
		pass();
		if (mode() == m)
			return i;
	}
	ck_abort_msg("mode %s not reached in %d passes (now %s); log:\n%s", status_state_name(m),
		     max, status_state_name(mode()), sim.log);
	return -1;
}

static void lock(double offset_s)
{
	start(offset_s);
	run_until(STATUS_LOCKED, 60);
	for (int i = 0; i < 30; i++)
		pass();
	ck_assert_int_eq(mode(), STATUS_LOCKED);
	ck_assert(fabs(sim.offset_ns) < 10 * US);
}

START_TEST(test_names)
{
	ck_assert_str_eq(status_state_name(STATUS_LOCKED), "locked");
	ck_assert_str_eq(status_state_name((enum status_state)99), "unknown");
	ck_assert_str_eq(decide_fault_name(FAULT_STEP_BUDGET), "step budget");
	ck_assert_ptr_null(decide_create(NULL, NULL));
	sim.p.interval_s = 0;
	ck_assert_ptr_null(decide_create(&sim.p, NULL));
}
END_TEST

START_TEST(test_start_step_lock)
{
	start(0.5);
	ck_assert_int_eq(mode(), STATUS_UNLOCKED);
	pass();
	ck_assert_int_eq(mode(), STATUS_UNLOCKED);
	for (int i = 0; i < 5 && !sim.a.step; i++)
		pass();
	ck_assert(sim.a.step);
	ck_assert_int_eq(mode(), STATUS_STEPPING);
	ck_assert_int_eq(decide_view(sim.d)->counts.steps, 1);
	ck_assert(fabs(sim.offset_ns) < 1 * MS);
	run_until(STATUS_LOCKED, 20);
	ck_assert(decide_view(sim.d)->ever_locked);
	for (int i = 0; i < 30; i++)
		pass();
	ck_assert_int_eq(mode(), STATUS_LOCKED);
	ck_assert(fabs(sim.offset_ns) < 1 * US);
	ck_assert(logged("-> stepping"));
	ck_assert(logged("-> locked"));
}
END_TEST

START_TEST(test_start_slew)
{
	double before;

	sim.p.first_step_threshold_ns = 0;
	sim.p.step_threshold_ns = 0;
	start(1.5);
	sim.osc_ppb = 20000;
	for (int i = 0; i < 5000 && mode() != STATUS_LOCKED; i++) {
		pass();
		ck_assert(!sim.a.step);
		ck_assert(fabs(decide_view(sim.d)->freq_ppb) <= sim.p.servo.max_freq_ppb);
	}
	ck_assert(logged("-> slewing"));
	ck_assert_int_eq(mode(), STATUS_LOCKED);
	before = fabs(sim.offset_ns);
	for (int i = 0; i < 60; i++) {
		pass();
		ck_assert(!sim.a.step);
	}
	ck_assert_int_eq(mode(), STATUS_LOCKED);
	ck_assert(fabs(sim.offset_ns) <= before + 1 * US);
	ck_assert(fabs(sim.offset_ns) < 1 * US);
}
END_TEST

/*
 * Steps disabled, a start offset slewed out: the slew runs toward the reference all the
 * way (the servo does not fight the rate fed forward), then the servo locks and holds.
 * Offsets on a log grid, both signs, with an oscillator error of either sign; then the
 * same at the kernel's largest rate (10 % by the tick) with a 500 ppm oscillator, where a
 * slew counted at its nominal rate would be wrong by 50 ppm.
 */
START_TEST(test_slew_grid)
{
	static const double offsets_s[] = {0.002, 0.02, 0.2, 1.5};
	int k = _i % 8;
	double off = offsets_s[k / 2] * (k % 2 ? -1.0 : 1.0);
	double prev;
	bool slewing = false;
	int i;

	sim.p.first_step_threshold_ns = 0;
	sim.p.step_threshold_ns = 0;
	if (_i >= 8)
		sim.p.servo.max_freq_ppb = 100500000;
	start(off);
	sim.osc_ppb = (k % 4 < 2 ? 1 : -1) * (_i >= 8 ? 500000 : 20000);
	prev = fabs(sim.offset_ns);
	/* Locked near the reference, and a slew begun (the servo may lock first) is done. */
	for (i = 0; i < 5000 && !(mode() == STATUS_LOCKED && fabs(sim.offset_ns) < 100 * US &&
				  count(", at up to ") == count("slewed out"));
	     i++) {
		pass();
		ck_assert(!sim.a.step);
		/* Never away from the reference by more than the first passes' drift. */
		ck_assert_msg(fabs(sim.offset_ns) <=
				      fabs(off) * 1e9 + 2.0 * fabs(sim.osc_ppb) + 50 * US,
			      "pass %d: offset %.0f ns from %.0f ns", i, sim.offset_ns, off * 1e9);
		/* The slew counts what it removes: the residual stays small (a slew counted
		 * at its nominal rate leaves 50 us a pass at 10 % with 500 ppm of base). */
		if (slewing && mode() == STATUS_SLEWING)
			ck_assert_msg(fabs(sim.offset_ns -
					   (double)decide_view(sim.d)->slew_remaining_ns) < 10 * US,
				      "pass %d: offset %.0f ns, slew left %" PRId64 " ns", i,
				      sim.offset_ns, decide_view(sim.d)->slew_remaining_ns);
		/* Once slewing, every pass removes some of the offset while it is large. */
		if (slewing && fabs(sim.offset_ns) > 1 * MS)
			ck_assert_msg(fabs(sim.offset_ns) < prev, "pass %d: %.0f ns after %.0f ns",
				      i, sim.offset_ns, prev);
		prev = fabs(sim.offset_ns);
		slewing = mode() == STATUS_SLEWING;
	}
	ck_assert_msg(mode() == STATUS_LOCKED, "not locked after %d passes, offset %.0f ns: %s", i,
		      sim.offset_ns, sim.log);
	/* At most the max rate's time, and a little for the servo to settle. */
	ck_assert_msg(i < fabs(off) / (sim.p.servo.max_freq_ppb * 1e-9) * 1.2 + 60,
		      "%d passes for %.3f s: %s", i, off, sim.log);
	for (i = 0; i < 120; i++) {
		pass();
		ck_assert(!sim.a.step);
		ck_assert_msg(mode() == STATUS_LOCKED, "pass %d after lock: %s, offset %.0f ns: %s",
			      i, status_state_name(mode()), sim.offset_ns, sim.log);
	}
	ck_assert_msg(fabs(sim.offset_ns) < 1 * US, "offset %.0f ns", sim.offset_ns);
}
END_TEST

/*
 * maxerror holds until the next update, even when the oscillator's frequency steps (a
 * servo that takes the first samples after it for outliers must say so) from the first
 * sample that shows it: steps on a log grid, both signs.
 */
START_TEST(test_maxerror_covers_freq_step)
{
	static const double steps_ppb[] = {50, 200, 500, 2000, 10000};
	double step = steps_ppb[_i / 2] * (_i % 2 ? -1.0 : 1.0);

	lock(0.5);
	sim.osc_ppb += step;
	for (int i = 0; i < 60; i++) {
		int64_t bound_ns = sim.a.maxerror_ns;
		struct decide_sample s;

		advance((int64_t)(sim.p.interval_s * S));
		/* Before a sample shows the step nothing can: from the first one on. */
		ck_assert_msg(
			i == 0 || fabs(sim.offset_ns) <= (double)bound_ns,
			"pass %d after a %+.0f ppb step: offset %.0f ns beyond maxerror %" PRId64
			" ns",
			i, step, sim.offset_ns, bound_ns);
		s = sample();
		decide_sample(sim.d, &s, &sim.a);
		take();
		ck_assert(sim.a.set_status);
	}
	ck_assert_int_eq(mode(), STATUS_LOCKED);
	ck_assert_msg(fabs(sim.offset_ns) < 1 * US, "offset %.0f ns", sim.offset_ns);
}
END_TEST

/* Lock, then move the PHC by jump_ns: the first sample after it is held to confirm. */
static void jump_after_lock(int64_t jump_ns)
{
	lock(0.5);
	sim.phc_ns += jump_ns;
	sim.offset_ns -= jump_ns;
	pass();
	ck_assert_int_eq(mode(), STATUS_STEPPING);
	ck_assert(sim.a.quick_poll);
	ck_assert(!sim.a.step);
}

START_TEST(test_jump_after_lock_steps)
{
	jump_after_lock(2 * S);
	for (int i = 0; i < 5 && !sim.a.step; i++)
		pass();
	ck_assert(sim.a.step);
	ck_assert_int_eq(sim.a.step_cause, STEP_DISRUPTION);
	ck_assert(fabs(sim.offset_ns) < 100 * US);
	run_until(STATUS_LOCKED, 20);
	ck_assert_int_eq(decide_view(sim.d)->counts.disruptions, 1);
}
END_TEST

START_TEST(test_jump_below_threshold_slews)
{
	jump_after_lock(50 * MS);
	run_until(STATUS_SLEWING, 5);
	ck_assert(!sim.a.step);
	run_until(STATUS_LOCKED, 1000);
	for (int i = 0; i < 30; i++) {
		pass();
		ck_assert(!sim.a.step);
	}
	ck_assert(fabs(sim.offset_ns) < 10 * US);
	ck_assert_int_eq(decide_view(sim.d)->counts.steps, 1);
}
END_TEST

/* The old bug: with an oscillator error the slew stalled at +100 us. */
START_TEST(test_slew_finishes_with_osc_error)
{
	sim.p.step_threshold_ns = 0;
	sim.osc_ppb = 100000;
	lock(0.0);
	sim.phc_ns += 300 * MS;
	sim.offset_ns -= 300 * MS;
	run_until(STATUS_SLEWING, 6);
	run_until(STATUS_LOCKED, 3000);
	ck_assert(logged("slewed out"));
	for (int i = 0; i < 60; i++) {
		pass();
		ck_assert(!sim.a.step);
	}
	ck_assert_msg(fabs(sim.offset_ns) < 10 * US, "offset %.0f ns", sim.offset_ns);
	ck_assert_int_eq(mode(), STATUS_LOCKED);
}
END_TEST

START_TEST(test_panic)
{
	sim.p.panic_ns = 100 * S;
	lock(0.5);
	sim.events = 0;
	sim.log[0] = '\0';
	sim.phc_ns += 1000 * S;
	sim.offset_ns -= 1000 * S;
	for (int i = 0; i < 10; i++) {
		pass();
		ck_assert(!sim.a.step);
	}
	ck_assert_int_eq(mode(), STATUS_FAULT);
	ck_assert_int_eq(fault(), FAULT_PANIC);
	ck_assert(logged("beyond max_offset_panic"));
	ck_assert_int_eq(count("beyond max_offset_panic"), 1);
	ck_assert_int_eq(count("-> fault"), 1);
}
END_TEST

START_TEST(test_step_budget)
{
	struct decide_sample s;

	sim.p.step_limit_back_ns = S;
	lock(0.5);
	sim.phc_ns -= 800 * MS;
	sim.offset_ns += 800 * MS;
	for (int i = 0; i < 6 && !sim.a.step; i++)
		pass();
	ck_assert(sim.a.step);
	run_until(STATUS_LOCKED, 30);
	sim.events = 0;
	sim.log[0] = '\0';
	sim.phc_ns -= 800 * MS;
	sim.offset_ns += 800 * MS;
	for (int i = 0; i < 10; i++) {
		pass();
		ck_assert(!sim.a.step);
	}
	ck_assert_int_eq(mode(), STATUS_FAULT);
	ck_assert_int_eq(fault(), FAULT_STEP_BUDGET);
	ck_assert_int_eq(decide_view(sim.d)->counts.step_refusals, 1);
	ck_assert(logged("refused: step budget"));
	ck_assert_int_eq(count("refused: step budget"), 1);
	ck_assert_int_eq(count("-> fault"), 1);
	/* The operator overrides. */
	advance(S);
	s = sample();
	ck_assert_int_eq(decide_request_step(sim.d, &s, &sim.a), 0);
	take();
	ck_assert(sim.a.step);
	ck_assert_int_eq(sim.a.step_cause, STEP_REQUEST);
	ck_assert(fabs(sim.offset_ns) < 1 * MS);
	ck_assert(fault() == FAULT_NONE);
	run_until(STATUS_LOCKED, 30);
}
END_TEST

START_TEST(test_reference_rate_fault)
{
	double held;

	lock(0.5);
	held = decide_held_freq_ppb(sim.d);
	sim.phc_rate_ppb = 1000000;
	for (int i = 0; i < 3; i++)
		pass();
	ck_assert_int_eq(mode(), STATUS_FAULT);
	ck_assert_int_eq(fault(), FAULT_REFERENCE);
	ck_assert(logged("reference fault"));
	for (int i = 0; i < 10; i++) {
		pass();
		ck_assert(!sim.a.step);
		ck_assert(!sim.a.set_freq || fabs(sim.a.freq_ppb - held) < 1000.0);
		ck_assert(fabs(sim.freq_ppb - held) < 1000.0);
	}
	ck_assert_int_eq(decide_view(sim.d)->counts.reference_faults, 1);
	sim.phc_rate_ppb = 0;
	sim.offset_ns = 0;
	for (int i = 0; i < 3; i++)
		pass();
	ck_assert(logged("reference sane again"));
	ck_assert(fault() == FAULT_NONE);
	run_until(STATUS_LOCKED, 30);
}
END_TEST

START_TEST(test_frozen_phc)
{
	lock(0.5);
	sim.frozen = true;
	for (int i = 0; i < 20; i++) {
		pass();
		ck_assert(!sim.a.step);
	}
	ck_assert_int_eq(fault(), FAULT_REFERENCE);
	ck_assert(logged("did not advance"));
}
END_TEST

START_TEST(test_holdover)
{
	double held;

	lock(0.5);
	held = decide_held_freq_ppb(sim.d);
	for (int i = 0; i < sim.p.holdover_after; i++) {
		ck_assert_int_ne(mode(), STATUS_HOLDOVER);
		failure(ENODEV);
	}
	ck_assert_int_eq(mode(), STATUS_HOLDOVER);
	ck_assert(logged("holdover"));
	for (int i = 0; i < 10; i++) {
		failure(ENODEV);
		ck_assert(!sim.a.step);
		ck_assert(fabs(sim.freq_ppb - held) < 1.0);
	}
	pass();
	ck_assert_int_eq(mode(), STATUS_HOLDOVER);
	pass();
	ck_assert_int_eq(mode(), STATUS_HOLDOVER);
	pass();
	ck_assert_int_ne(mode(), STATUS_HOLDOVER);
	ck_assert(logged("holdover ended"));
	run_until(STATUS_LOCKED, 30);
}
END_TEST

START_TEST(test_kernel_refusal)
{
	lock(0.5);
	sim.events = 0;
	decide_refused(sim.d, ACT_FREQ, EINVAL, &sim.a);
	take();
	ck_assert_int_eq(fault(), FAULT_KERNEL);
	ck_assert(logged("refused by the kernel"));
	ck_assert_int_eq(sim.events, 2); /* the state change and the refusal */
	pass();
	decide_refused(sim.d, ACT_FREQ, EINVAL, &sim.a);
	take();
	ck_assert_int_eq(sim.a.nevents, 0);
	pass();
	decide_applied(sim.d, &sim.a);
	take();
	ck_assert(fault() == FAULT_NONE);
	ck_assert(logged("adjustments go through again"));
	decide_refused(sim.d, ACT_FREQ, EINVAL, &sim.a);
	take();
	ck_assert_int_eq(fault(), FAULT_KERNEL);
	ck_assert(sim.a.nevents > 0);
	ck_assert_int_eq(decide_view(sim.d)->counts.adjust_refusals, 3);
}
END_TEST

START_TEST(test_synced_only_locked_with_rtcsync)
{
	sim.p.rtcsync = _i;
	start(0.5);
	for (int i = 0; i < 60; i++)
		pass();
	ck_assert_int_eq(mode(), STATUS_LOCKED);
	ck_assert(sim.a.synced == (bool)_i);
}
END_TEST

START_TEST(test_reset_clears_budget)
{
	sim.p.step_limit_back_ns = S;
	lock(0.5);
	sim.phc_ns -= 900 * MS;
	sim.offset_ns += 900 * MS;
	for (int i = 0; i < 6 && !sim.a.step; i++)
		pass();
	run_until(STATUS_LOCKED, 30);
	decide_request_reset(sim.d, &sim.a);
	take();
	ck_assert(logged("servo reset"));
	run_until(STATUS_LOCKED, 30);
	sim.phc_ns -= 900 * MS;
	sim.offset_ns += 900 * MS;
	for (int i = 0; i < 6 && !sim.a.step; i++)
		pass();
	ck_assert(sim.a.step);
	ck_assert_int_eq(decide_view(sim.d)->counts.step_refusals, 0);
}
END_TEST

/* ---- the vmclock page ---- */

static void vm_say(bool disrupted, bool restored, bool warned, bool unreliable)
{
	struct decide_vmclock vm = {
		.disrupted = disrupted,
		.restored = restored,
		.warned = warned,
		.unreliable = unreliable,
	};

	snprintf(vm.cause, sizeof(vm.cause), "%s", restored ? "snapshot restore" : "migration");
	decide_vmclock(sim.d, &vm);
}

/* An announced jump is corrected in the pass that sees it, with no confirming polls:
 * both signs, on a log grid of sizes either side of the step threshold. */
START_TEST(test_vmclock_jump_at_once)
{
	static const int64_t sizes[] = {300 * US, 3 * MS, 30 * MS, 300 * MS, 3 * S, 300 * S};
	int64_t jump_ns = sizes[_i / 2] * (_i % 2 ? -1 : 1);
	const struct decide_view *v;
	int steps;

	lock(0.5);
	v = decide_view(sim.d);
	steps = (int)v->counts.steps;
	vm_say(true, false, false, false);
	sim.phc_ns += jump_ns;
	sim.offset_ns -= jump_ns;
	pass();
	ck_assert_msg(!sim.a.quick_poll, "jump %lld: asked to confirm", (long long)jump_ns);
	ck_assert_int_eq(v->vmclock_disruptions, 1);
	/* Stepped whatever its size: below step_threshold too, the hypervisor vouches. */
	ck_assert(sim.a.step);
	ck_assert_int_eq(sim.a.step_cause, STEP_DISRUPTION);
	ck_assert_int_eq(v->counts.steps, steps + 1);
	ck_assert_msg(fabs(sim.offset_ns) < 1 * US, "offset %.0f after the step", sim.offset_ns);
	ck_assert(logged("without confirming polls"));
	/* The news is used once: the next jump needs confirming again. */
	run_until(STATUS_LOCKED, 2000);
	sim.phc_ns += 2 * S;
	sim.offset_ns -= 2 * S;
	pass();
	ck_assert(sim.a.quick_poll);
	ck_assert(!sim.a.step);
}
END_TEST

/* step_threshold 0 (never step): an announced jump is slewed, at once. */
START_TEST(test_vmclock_no_steps_slews)
{
	sim.p.step_threshold_ns = 0;
	lock(0.5);
	vm_say(true, false, false, false);
	sim.phc_ns += 30 * MS;
	sim.offset_ns -= 30 * MS;
	pass();
	ck_assert(!sim.a.step);
	ck_assert(!sim.a.quick_poll);
	ck_assert_int_eq(mode(), STATUS_SLEWING);
	ck_assert_int_eq(decide_view(sim.d)->vmclock_disruptions, 1);
	run_until(STATUS_LOCKED, 2000);
	ck_assert_int_eq(decide_view(sim.d)->counts.steps, 1);
}
END_TEST

/* The page changes with no jump: no step, no slew, nothing counted. */
START_TEST(test_vmclock_no_jump_no_step)
{
	const struct decide_view *v;
	int steps;

	lock(0.5);
	v = decide_view(sim.d);
	steps = (int)v->counts.steps;
	for (int k = 0; k < 5; k++) {
		vm_say(true, k == 3, false, false);
		for (int i = 0; i < 20; i++) {
			pass();
			ck_assert(!sim.a.step);
		}
	}
	ck_assert_int_eq(v->counts.steps, steps);
	ck_assert_int_eq(v->vmclock_disruptions, 0);
	ck_assert_int_eq(v->vmclock_restores, 1);
	ck_assert(logged("nothing to correct"));
	ck_assert(fabs(sim.offset_ns) < 10 * US);
}
END_TEST

/* A restore: the clock jumps back by the snapshot's age, the frequency is learnt anew. */
START_TEST(test_vmclock_restore)
{
	const struct decide_view *v;

	sim.osc_ppb = 3000;
	lock(0.5);
	v = decide_view(sim.d);
	vm_say(true, true, false, false);
	sim.offset_ns -= 600 * S;
	sim.osc_ppb = -4000; /* another host */
	pass();
	ck_assert(sim.a.step);
	ck_assert(!sim.a.quick_poll);
	ck_assert(fabs(sim.offset_ns) < 1 * US);
	ck_assert_int_eq(v->vmclock_restores, 1);
	ck_assert(logged("snapshot restore"));
	ck_assert(logged("no longer trusted"));
	run_until(STATUS_LOCKED, 200);
	for (int i = 0; i < 60; i++)
		pass();
	ck_assert(fabs(sim.freq_ppb - 4000) < 50);
	ck_assert(fabs(sim.offset_ns) < 10 * US);
}
END_TEST

/* A disruption announced: the frequency is held, whatever the samples say. */
START_TEST(test_vmclock_warned_holds)
{
	double held;

	lock(0.5);
	held = sim.freq_ppb;
	vm_say(false, false, true, false);
	sim.osc_ppb += 200; /* the oscillator wanders; learning would follow it */
	for (int i = 0; i < 30; i++) {
		pass();
		ck_assert(!sim.a.step);
		ck_assert(fabs(sim.freq_ppb - held) < 1e-6);
	}
	vm_say(false, false, false, false);
	for (int i = 0; i < 200; i++)
		pass();
	ck_assert(fabs(sim.freq_ppb - (held - 200)) < 20);
}
END_TEST

/* The host's clock unreliable: holdover, no steps even across a jump; then it ends. */
START_TEST(test_vmclock_unreliable_holdover)
{
	lock(0.5);
	vm_say(false, false, false, true);
	pass();
	ck_assert_int_eq(mode(), STATUS_HOLDOVER);
	ck_assert(logged("unreliable"));
	sim.phc_ns += 2 * S;
	sim.offset_ns -= 2 * S;
	for (int i = 0; i < 10; i++) {
		pass();
		ck_assert(!sim.a.step);
		ck_assert_int_eq(mode(), STATUS_HOLDOVER);
	}
	vm_say(false, false, false, false);
	run_until(STATUS_LOCKED, 60);
	ck_assert(fabs(sim.offset_ns) < 10 * US);
}
END_TEST

/* The page's bounds are added to what the kernel is told. */
START_TEST(test_vmclock_bounds)
{
	struct decide_vmclock vm = {.maxerror_ns = 250 * US, .esterror_ns = 20 * US};
	int64_t before_max, before_est;

	lock(0.5);
	pass();
	before_max = sim.a.maxerror_ns;
	before_est = sim.a.esterror_ns;
	decide_vmclock(sim.d, &vm);
	pass();
	ck_assert_int_ge(sim.a.maxerror_ns, before_max + 250 * US - 10 * US);
	ck_assert_int_ge(sim.a.esterror_ns, before_est + 20 * US - 1 * US);
}
END_TEST

static TCase *tcase(const char *name, SFun fixture)
{
	TCase *tc = check_tcase(name, fixture, teardown);

	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_start_step_lock);
	tcase_add_test(tc, test_start_slew);
	tcase_add_loop_test(tc, test_slew_grid, 0, 16);
	tcase_add_loop_test(tc, test_maxerror_covers_freq_step, 0, 10);
	tcase_add_test(tc, test_jump_after_lock_steps);
	tcase_add_test(tc, test_jump_below_threshold_slews);
	tcase_add_test(tc, test_slew_finishes_with_osc_error);
	tcase_add_test(tc, test_panic);
	tcase_add_test(tc, test_step_budget);
	tcase_add_test(tc, test_reference_rate_fault);
	tcase_add_test(tc, test_frozen_phc);
	tcase_add_test(tc, test_holdover);
	tcase_add_test(tc, test_kernel_refusal);
	tcase_add_loop_test(tc, test_synced_only_locked_with_rtcsync, 0, 2);
	tcase_add_test(tc, test_reset_clears_budget);
	tcase_add_loop_test(tc, test_vmclock_jump_at_once, 0, 12);
	tcase_add_test(tc, test_vmclock_no_steps_slews);
	tcase_add_test(tc, test_vmclock_no_jump_no_step);
	tcase_add_test(tc, test_vmclock_restore);
	tcase_add_test(tc, test_vmclock_warned_holds);
	tcase_add_test(tc, test_vmclock_unreliable_holdover);
	tcase_add_test(tc, test_vmclock_bounds);
	return tc;
}

int main(void)
{
	Suite *suite = suite_create("decide");

	suite_add_tcase(suite, tcase("pi", setup_pi));
	suite_add_tcase(suite, tcase("kalman", setup_kalman));
	return check_run(suite, CK_FORK_GETENV);
}
