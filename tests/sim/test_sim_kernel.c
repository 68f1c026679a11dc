/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the simulator's kernel timekeeping model. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sim_kernel.h"

#define NS SIM_NS_PER_S
#define MONO0 (1000 * NS)
/* 2016-12-31 23:59:58.500 UTC: 1.5 s before a real leap second. */
#define LEAP_EVE_NS (1483228798LL * NS + NS / 2)
#define PPM_SCALE (1000LL << 16) /* timex.freq unit in the kernel's ns/s << 32 */
#define FREQ_MAX (500L << 16)	 /* +500 ppm in timex.freq units */
#define ADJ_ADJTIME 0x8000	 /* the kernel's adjtime() mode bit, without single-shot */
/* Every mode that changes state, so a refused call shows that none of it was applied. */
#define ALL_MODES                                                                                  \
	(ADJ_OFFSET | ADJ_FREQUENCY | ADJ_MAXERROR | ADJ_ESTERROR | ADJ_STATUS | ADJ_TIMECONST |   \
	 ADJ_TAI | ADJ_SETOFFSET | ADJ_NANO | ADJ_TICK)

static int64_t get(const struct sim_kernel *k, clockid_t id)
{
	int64_t ns = 0;

	ck_assert_int_eq(sim_kernel_gettime(k, id, &ns), 0);
	return ns;
}

static int adj(struct sim_kernel *k, unsigned modes, struct timex *tx)
{
	tx->modes = modes;
	return sim_kernel_adjtimex(k, tx);
}

/* A read of the NTP state (modes 0). */
static struct timex readback(struct sim_kernel *k)
{
	struct timex tx = {0};

	sim_kernel_adjtimex(k, &tx);
	return tx;
}

/*
 * The call is refused with EINVAL and leaves the model byte for byte as it was, and what
 * adjtimex reads back is the same too.
 */
static void refused(struct sim_kernel *k, unsigned modes, struct timex tx)
{
	struct sim_kernel before;
	struct timex a, b;

	memcpy(&before, k, sizeof(before));
	a = readback(k);
	ck_assert_int_eq(adj(k, modes, &tx), -EINVAL);
	ck_assert_int_eq(memcmp(&before, k, sizeof(before)), 0);
	b = readback(k);
	ck_assert_int_eq(a.freq, b.freq);
	ck_assert_int_eq(a.offset, b.offset);
	ck_assert_int_eq(a.maxerror, b.maxerror);
	ck_assert_int_eq(a.esterror, b.esterror);
	ck_assert_int_eq(a.status, b.status);
	ck_assert_int_eq(a.constant, b.constant);
	ck_assert_int_eq(a.tick, b.tick);
	ck_assert_int_eq(a.tai, b.tai);
	ck_assert_int_eq(a.time.tv_sec, b.time.tv_sec);
	ck_assert_int_eq(a.time.tv_usec, b.time.tv_usec);
}

/* A synchronised clock in PLL mode with nanosecond units, at 2000 s, MONOTONIC 1000 s. */
static void init_synced(struct sim_kernel *k)
{
	struct timex tx = {.status = STA_PLL, .maxerror = 1000, .esterror = 10};

	sim_kernel_init(k, 2000 * NS, MONO0, 0);
	ck_assert_int_eq(adj(k, ADJ_STATUS | ADJ_MAXERROR | ADJ_ESTERROR | ADJ_NANO, &tx), TIME_OK);
}

/* A call that would change everything, with one field spoilt by the caller. */
static struct timex everything(void)
{
	return (struct timex){.offset = 1000,
			      .freq = 10 << 16,
			      .maxerror = 5,
			      .esterror = 5,
			      .status = STA_PLL | STA_INS,
			      .constant = 3,
			      .time = {.tv_sec = 1, .tv_usec = 0},
			      .tick = 10001};
}

START_TEST(test_step)
{
	struct sim_kernel k;
	struct timex tx = {0};

	sim_kernel_init(&k, 2000 * NS, MONO0, 0);
	tx.time.tv_sec = -2;
	tx.time.tv_usec = 500000000;
	ck_assert_int_ge(adj(&k, ADJ_SETOFFSET | ADJ_NANO, &tx), 0);
	ck_assert_int_eq(get(&k, CLOCK_REALTIME), 1998 * NS + NS / 2);
	ck_assert_int_eq(get(&k, CLOCK_MONOTONIC), MONO0);
	ck_assert(k.status & STA_NANO);

	/* Without ADJ_NANO the field is in microseconds. */
	tx = (struct timex){0};
	tx.time.tv_sec = 1;
	tx.time.tv_usec = 250000;
	ck_assert_int_ge(adj(&k, ADJ_SETOFFSET, &tx), 0);
	ck_assert_int_eq(get(&k, CLOCK_REALTIME), 1999 * NS + 750000000);

	tx = (struct timex){0};
	tx.time.tv_usec = 1000000;
	ck_assert_int_eq(adj(&k, ADJ_SETOFFSET, &tx), -EINVAL);
	tx.time.tv_usec = -1;
	ck_assert_int_eq(adj(&k, ADJ_SETOFFSET | ADJ_NANO, &tx), -EINVAL);
	ck_assert_int_eq(get(&k, CLOCK_REALTIME), 1999 * NS + 750000000);

	ck_assert_int_eq(sim_kernel_settime(&k, CLOCK_REALTIME, 5000 * NS), 0);
	ck_assert_int_eq(get(&k, CLOCK_REALTIME), 5000 * NS);
	/* Linux refuses REALTIME before MONOTONIC (here 1000 s). */
	ck_assert_int_eq(sim_kernel_settime(&k, CLOCK_REALTIME, 5 * NS), -EINVAL);
	ck_assert_int_eq(get(&k, CLOCK_REALTIME), 5000 * NS);
	ck_assert_int_eq(sim_kernel_settime(&k, CLOCK_MONOTONIC, 5 * NS), -EINVAL);
}
END_TEST

START_TEST(test_frequency)
{
	struct sim_kernel k;
	struct timex tx = {0};
	int64_t t0;

	sim_kernel_init(&k, 2000 * NS, MONO0, 0);
	tx.freq = 10 << 16; /* +10 ppm */
	ck_assert_int_ge(adj(&k, ADJ_FREQUENCY, &tx), 0);
	t0 = get(&k, CLOCK_REALTIME);
	sim_kernel_advance(&k, 100 * NS, 0.0);
	ck_assert_int_lt(llabs(get(&k, CLOCK_REALTIME) - t0 - 100 * NS - 1000000), 2);
	/* The raw clock ignores adjustments. */
	ck_assert_int_eq(get(&k, CLOCK_MONOTONIC_RAW), MONO0 + 100 * NS);

	/* A -50 ppm correction cancels a +50 ppm oscillator (to second order). */
	tx.freq = -(50 << 16);
	adj(&k, ADJ_FREQUENCY, &tx);
	t0 = get(&k, CLOCK_REALTIME);
	sim_kernel_advance(&k, 10 * NS, 50000.0);
	ck_assert_int_lt(llabs(get(&k, CLOCK_REALTIME) - t0 - 10 * NS), 30);

	/* Clamped to +-500 ppm like the kernel, not refused. */
	tx.freq = 600 << 16;
	ck_assert_int_ge(adj(&k, ADJ_FREQUENCY, &tx), 0);
	ck_assert_int_eq(tx.freq, 500 << 16);
	ck_assert_int_eq(tx.tolerance, 500 << 16);
	ck_assert_double_eq_tol(sim_kernel_adj_ppb(&k), 500000.0, 1e-6);
}
END_TEST

START_TEST(test_tick)
{
	struct sim_kernel k;
	struct timex tx = {0};
	int64_t t0;

	sim_kernel_init(&k, 2000 * NS, MONO0, 0);
	tx.tick = 10001; /* +100 ppm */
	ck_assert_int_ge(adj(&k, ADJ_TICK, &tx), 0);
	ck_assert_int_eq(tx.tick, 10001);
	t0 = get(&k, CLOCK_REALTIME);
	sim_kernel_advance(&k, 10 * NS, 0.0);
	ck_assert_int_lt(llabs(get(&k, CLOCK_REALTIME) - t0 - 10 * NS - 1000000), 2);

	tx.tick = 8999;
	ck_assert_int_eq(adj(&k, ADJ_TICK, &tx), -EINVAL);
	tx.tick = 11001;
	ck_assert_int_eq(adj(&k, ADJ_TICK, &tx), -EINVAL);
	tx = (struct timex){0};
	adj(&k, 0, &tx);
	ck_assert_int_eq(tx.tick, 10001);
}
END_TEST

START_TEST(test_leap_insert)
{
	struct sim_kernel k;
	struct timex tx = {0};
	int64_t tai0;

	sim_kernel_init(&k, LEAP_EVE_NS, MONO0, 36);
	tai0 = get(&k, CLOCK_TAI);
	/* A synchronised clock: otherwise adjtimex answers TIME_ERROR. */
	tx.status = STA_INS;
	tx.maxerror = 1000;
	ck_assert_int_eq(adj(&k, ADJ_STATUS | ADJ_MAXERROR, &tx), TIME_OK);

	/* Armed at the next second. */
	ck_assert_int_eq(sim_kernel_advance(&k, 600000000, 0.0), 0);
	tx = (struct timex){0};
	ck_assert_int_eq(adj(&k, 0, &tx), TIME_INS);

	/* Midnight: 23:59:59 again, TAI offset one more, CLOCK_TAI continuous. */
	ck_assert_int_eq(sim_kernel_advance(&k, NS, 0.0), -1);
	ck_assert_int_eq(get(&k, CLOCK_REALTIME), LEAP_EVE_NS + 600000000);
	ck_assert_int_eq(get(&k, CLOCK_TAI), tai0 + NS + 600000000);
	ck_assert_int_eq(adj(&k, 0, &tx), TIME_OOP);
	ck_assert_int_eq(tx.tai, 37);

	sim_kernel_advance(&k, NS, 0.0);
	ck_assert_int_eq(adj(&k, 0, &tx), TIME_WAIT);
	ck_assert_int_eq(get(&k, CLOCK_REALTIME), 1483228800LL * NS + 100000000);
	/* TIME_WAIT lasts until STA_INS is cleared. */
	sim_kernel_advance(&k, NS, 0.0);
	ck_assert_int_eq(adj(&k, 0, &tx), TIME_WAIT);
	tx.status = 0;
	adj(&k, ADJ_STATUS, &tx);
	sim_kernel_advance(&k, NS, 0.0);
	ck_assert_int_eq(adj(&k, 0, &tx), TIME_OK);
	ck_assert_int_eq(get(&k, CLOCK_TAI), tai0 + 4 * NS + 600000000);
}
END_TEST

START_TEST(test_leap_delete)
{
	struct sim_kernel k;
	struct timex tx = {0};

	/* Armed when entering 23:59:58: a deletion must be known before 23:59:59 starts. */
	sim_kernel_init(&k, LEAP_EVE_NS - NS, MONO0, 36);
	tx.status = STA_DEL;
	tx.maxerror = 1000;
	adj(&k, ADJ_STATUS | ADJ_MAXERROR, &tx);
	sim_kernel_advance(&k, 600000000, 0.0);
	ck_assert_int_eq(adj(&k, 0, &tx), TIME_DEL);
	/* 23:59:59 is skipped. */
	ck_assert_int_eq(sim_kernel_advance(&k, NS, 0.0), 1);
	ck_assert_int_eq(get(&k, CLOCK_REALTIME), 1483228800LL * NS + 100000000);
	ck_assert_int_eq(adj(&k, 0, &tx), TIME_WAIT);
	ck_assert_int_eq(tx.tai, 35);

	/* Clearing STA_DEL before the day ends cancels an armed deletion. */
	sim_kernel_init(&k, LEAP_EVE_NS - NS, MONO0, 36);
	tx.status = STA_DEL;
	tx.maxerror = 1000;
	adj(&k, ADJ_STATUS | ADJ_MAXERROR, &tx);
	sim_kernel_advance(&k, 600000000, 0.0);
	tx.status = 0;
	adj(&k, ADJ_STATUS, &tx);
	ck_assert_int_eq(sim_kernel_advance(&k, 2 * NS, 0.0), 0);
	ck_assert_int_eq(adj(&k, 0, &tx), TIME_OK);
	ck_assert_int_eq(get(&k, CLOCK_REALTIME), LEAP_EVE_NS + 1600000000LL);
}
END_TEST

START_TEST(test_tai)
{
	struct sim_kernel k;
	struct timex tx = {0};

	sim_kernel_init(&k, 2000 * NS, MONO0, 0);
	ck_assert_int_eq(get(&k, CLOCK_TAI), 2000 * NS);
	tx.constant = 37;
	adj(&k, ADJ_TAI, &tx);
	ck_assert_int_eq(tx.tai, 37);
	ck_assert_int_eq(get(&k, CLOCK_TAI), 2037 * NS);
	/* Out-of-range values are ignored, as in the kernel. */
	tx.constant = -1;
	adj(&k, ADJ_TAI, &tx);
	ck_assert_int_eq(tx.tai, 37);
}
END_TEST

START_TEST(test_maxerror)
{
	struct sim_kernel k;
	struct timex tx = {0};

	sim_kernel_init(&k, 2000 * NS, MONO0, 0);
	ck_assert_int_eq(adj(&k, 0, &tx), TIME_ERROR);
	tx.maxerror = 1000;
	tx.esterror = 20;
	tx.status = 0;
	ck_assert_int_eq(adj(&k, ADJ_MAXERROR | ADJ_ESTERROR | ADJ_STATUS, &tx), TIME_OK);
	sim_kernel_advance(&k, 10 * NS, 0.0);
	adj(&k, 0, &tx);
	ck_assert_int_eq(tx.maxerror, 6000);
	ck_assert_int_eq(tx.esterror, 20);

	/* Saturation at 16 s marks the clock unsynchronised. */
	tx.maxerror = SIM_PHASE_LIMIT_US - 1000;
	adj(&k, ADJ_MAXERROR, &tx);
	sim_kernel_advance(&k, 3 * NS, 0.0);
	ck_assert_int_eq(adj(&k, 0, &tx), TIME_ERROR);
	ck_assert_int_eq(tx.maxerror, SIM_PHASE_LIMIT_US);
	ck_assert(tx.status & STA_UNSYNC);
}
END_TEST

START_TEST(test_adjtime_slew)
{
	struct sim_kernel k;
	int64_t delta = 1000000, old = -1;
	int64_t t0;

	sim_kernel_init(&k, 2000 * NS, MONO0, 0);
	t0 = get(&k, CLOCK_REALTIME);
	sim_kernel_adjtime(&k, &delta, &old);
	ck_assert_int_eq(old, 0);
	sim_kernel_advance(&k, NS, 0.0);
	ck_assert_int_lt(llabs(get(&k, CLOCK_REALTIME) - t0 - NS - 500000), 2);
	sim_kernel_advance(&k, 2 * NS, 0.0);
	ck_assert_int_lt(llabs(get(&k, CLOCK_REALTIME) - t0 - 3 * NS - 1000000), 2);
	sim_kernel_adjtime(&k, NULL, &old);
	ck_assert_int_eq(old, 0);
}
END_TEST

START_TEST(test_resume)
{
	struct sim_kernel k;

	sim_kernel_init(&k, 2000 * NS, MONO0, 0);
	sim_kernel_resume(&k, 30 * NS + 400000000, 30 * NS);
	ck_assert_int_eq(get(&k, CLOCK_MONOTONIC), MONO0);
	ck_assert_int_eq(get(&k, CLOCK_BOOTTIME), MONO0 + 30 * NS + 400000000);
	ck_assert_int_eq(get(&k, CLOCK_REALTIME), 2030 * NS);
}
END_TEST

/* ADJ_TICK: 9000..11000 us at USER_HZ 100, checked before anything else is applied. */
START_TEST(test_tick_limits)
{
	static const long ok[] = {SIM_TICK_MIN_US, SIM_TICK_MIN_US + 1, SIM_TICK_MAX_US - 1,
				  SIM_TICK_MAX_US};
	static const long bad[] = {SIM_TICK_MIN_US - 1, SIM_TICK_MAX_US + 1, 0, -10000, LONG_MAX};
	struct sim_kernel k;
	struct timex tx;

	ck_assert_int_eq(SIM_TICK_MIN_US, 9000);
	ck_assert_int_eq(SIM_TICK_MAX_US, 11000);
	init_synced(&k);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		tx = (struct timex){.tick = ok[i]};
		ck_assert_int_eq(adj(&k, ADJ_TICK, &tx), TIME_OK);
		ck_assert_int_eq(readback(&k).tick, ok[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tx = everything();
		tx.tick = bad[i];
		refused(&k, ALL_MODES, tx);
	}
	/* In adjtime() mode the tick is neither checked nor applied. */
	tx = (struct timex){.tick = 1, .offset = 20};
	ck_assert_int_eq(adj(&k, ADJ_OFFSET_SINGLESHOT | ADJ_TICK, &tx), TIME_OK);
	ck_assert_int_eq(readback(&k).tick, SIM_TICK_MAX_US);
	/* The kernel's adjtime() bit without the single-shot bit is refused. */
	refused(&k, ADJ_ADJTIME | ADJ_FREQUENCY, everything());
}
END_TEST

/* ADJ_FREQUENCY: EINVAL where freq * PPM_SCALE overflows, else clamped to +-500 ppm. */
START_TEST(test_freq_limits)
{
	static const struct {
		long in, out;
	} ok[] = {
		{FREQ_MAX, FREQ_MAX},
		{FREQ_MAX - 1, FREQ_MAX - 1},
		{FREQ_MAX + 1, FREQ_MAX},
		{-FREQ_MAX, -FREQ_MAX},
		{-FREQ_MAX + 1, -FREQ_MAX + 1},
		{-FREQ_MAX - 1, -FREQ_MAX},
		{1, 1},
		{-1, -1},
		{LLONG_MAX / PPM_SCALE, FREQ_MAX},
		{LLONG_MIN / PPM_SCALE, -FREQ_MAX},
	};
	struct sim_kernel k;
	struct timex tx;

	init_synced(&k);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		tx = (struct timex){.freq = ok[i].in};
		ck_assert_int_eq(adj(&k, ADJ_FREQUENCY, &tx), TIME_OK);
		ck_assert_int_eq(tx.freq, ok[i].out);
		ck_assert_double_eq_tol(sim_kernel_freq_ppb(&k), ok[i].out / 65.536, 1e-9);
	}
	tx = everything();
	tx.freq = LLONG_MAX / PPM_SCALE + 1;
	refused(&k, ALL_MODES & ~ADJ_TICK, tx);
	tx.freq = LLONG_MIN / PPM_SCALE - 1;
	refused(&k, ALL_MODES & ~ADJ_TICK, tx);
	tx.freq = LONG_MAX;
	refused(&k, ADJ_FREQUENCY, tx);
}
END_TEST

/* ADJ_SETOFFSET: the fraction must be in [0, 1 s) in the call's units. */
START_TEST(test_setoffset_fraction)
{
	struct sim_kernel k;
	struct timex tx;
	int64_t t0;

	init_synced(&k);
	t0 = get(&k, CLOCK_REALTIME);
	tx = (struct timex){.time = {.tv_sec = 0, .tv_usec = 999999999}};
	ck_assert_int_ge(adj(&k, ADJ_SETOFFSET | ADJ_NANO, &tx), 0);
	ck_assert_int_eq(get(&k, CLOCK_REALTIME), t0 + 999999999);
	tx = (struct timex){.time = {.tv_sec = -1, .tv_usec = 1}};
	ck_assert_int_ge(adj(&k, ADJ_SETOFFSET | ADJ_NANO, &tx), 0);
	ck_assert_int_eq(get(&k, CLOCK_REALTIME), t0);
	tx = (struct timex){.time = {.tv_sec = 0, .tv_usec = 999999}};
	ck_assert_int_ge(adj(&k, ADJ_SETOFFSET | ADJ_MICRO, &tx), 0);
	ck_assert_int_eq(get(&k, CLOCK_REALTIME), t0 + 999999000);
	tx = (struct timex){.time = {.tv_sec = -1, .tv_usec = 1}};
	ck_assert_int_ge(adj(&k, ADJ_SETOFFSET | ADJ_MICRO, &tx), 0);
	ck_assert_int_eq(get(&k, CLOCK_REALTIME), t0);

	init_synced(&k);
	tx = everything();
	tx.time.tv_usec = 1000000000;
	refused(&k, ALL_MODES & ~ADJ_TICK, tx);
	tx.time.tv_usec = -1;
	refused(&k, ALL_MODES & ~ADJ_TICK, tx);
	/* Microseconds without ADJ_NANO, even though the clock is in nanosecond mode. */
	tx.time.tv_usec = 1000000;
	refused(&k, (ALL_MODES & ~(ADJ_TICK | ADJ_NANO)) | ADJ_MICRO, tx);
	tx.time.tv_usec = -1;
	refused(&k, (ALL_MODES & ~(ADJ_TICK | ADJ_NANO)) | ADJ_MICRO, tx);
}
END_TEST

/*
 * A step to before MONOTONIC or out of [0, TIME_SETTOD_SEC_MAX) s is refused; nothing
 * else in the call is applied, but (6.1-6.12) the NTP state is cleared all the same.
 */
static void step_refused(struct sim_kernel *k, int64_t sec, int64_t frac_ns)
{
	struct timex tx = everything();
	struct timex after;
	int64_t t0 = get(k, CLOCK_REALTIME);

	tx.time.tv_sec = sec;
	tx.time.tv_usec = frac_ns;
	tx.freq = 20 << 16;
	ck_assert_int_eq(adj(k, ALL_MODES & ~ADJ_TICK, &tx), -EINVAL);
	ck_assert_int_eq(get(k, CLOCK_REALTIME), t0);
	after = readback(k);
	ck_assert_int_eq(after.freq, 0);
	ck_assert_int_eq(after.tai, 0);
	ck_assert_int_eq(after.constant, 2);
	ck_assert_int_eq(after.status, STA_PLL | STA_NANO | STA_UNSYNC);
	ck_assert_int_eq(after.maxerror, SIM_PHASE_LIMIT_US);
	ck_assert_int_eq(after.esterror, SIM_PHASE_LIMIT_US);
}

START_TEST(test_setoffset_range)
{
	int64_t max_s = SIM_SETTOD_SEC_MAX;
	struct sim_kernel k;
	struct timex tx;

	ck_assert_int_eq(SIM_SETTOD_SEC_MAX, 8277292036LL);
	/* REALTIME 2000 s, MONOTONIC 1000 s: -1000 s is the largest step back. */
	init_synced(&k);
	tx = (struct timex){.time = {.tv_sec = -1000, .tv_usec = 0}};
	ck_assert_int_ge(adj(&k, ADJ_SETOFFSET | ADJ_NANO, &tx), 0);
	ck_assert_int_eq(get(&k, CLOCK_REALTIME), get(&k, CLOCK_MONOTONIC));
	init_synced(&k);
	step_refused(&k, -1001, 999999999);
	init_synced(&k);
	step_refused(&k, LLONG_MIN, 0);

	/* Up to the last nanosecond before TIME_SETTOD_SEC_MAX. */
	init_synced(&k);
	tx = (struct timex){.time = {.tv_sec = max_s - 1 - 2000, .tv_usec = 999999999}};
	ck_assert_int_ge(adj(&k, ADJ_SETOFFSET | ADJ_NANO, &tx), 0);
	ck_assert_int_eq(get(&k, CLOCK_REALTIME), max_s * NS - 1);
	init_synced(&k);
	step_refused(&k, max_s - 2000, 0);
	init_synced(&k);
	step_refused(&k, LLONG_MAX, 999999999);
}
END_TEST

/* clock_settime/settimeofday: the same range; only a time before MONOTONIC clears NTP. */
START_TEST(test_settime_range)
{
	struct sim_kernel k;
	struct sim_kernel before;
	struct timex tx;

	init_synced(&k);
	ck_assert_int_eq(sim_kernel_settime(&k, CLOCK_REALTIME, MONO0), 0);
	ck_assert_int_eq(get(&k, CLOCK_REALTIME), MONO0);
	tx = readback(&k);
	ck_assert(tx.status & STA_UNSYNC);
	ck_assert_int_eq(tx.maxerror, SIM_PHASE_LIMIT_US);

	init_synced(&k);
	ck_assert_int_eq(sim_kernel_settime(&k, CLOCK_REALTIME, MONO0 - 1), -EINVAL);
	ck_assert_int_eq(get(&k, CLOCK_REALTIME), 2000 * NS);
	ck_assert(readback(&k).status & STA_UNSYNC);

	init_synced(&k);
	ck_assert_int_eq(sim_kernel_settime(&k, CLOCK_REALTIME, SIM_SETTOD_SEC_MAX * NS - 1), 0);
	ck_assert_int_eq(get(&k, CLOCK_REALTIME), SIM_SETTOD_SEC_MAX * NS - 1);
	/* Checked before the timekeeper is touched: no trace at all. */
	init_synced(&k);
	memcpy(&before, &k, sizeof(before));
	ck_assert_int_eq(sim_kernel_settime(&k, CLOCK_REALTIME, SIM_SETTOD_SEC_MAX * NS), -EINVAL);
	ck_assert_int_eq(sim_kernel_settime(&k, CLOCK_REALTIME, -1), -EINVAL);
	ck_assert_int_eq(sim_kernel_settime(&k, CLOCK_TAI, 3000 * NS), -EINVAL);
	ck_assert_int_eq(memcmp(&before, &k, sizeof(before)), 0);
}
END_TEST

/* Every step clears the NTP state, as ntp_clear() does. */
START_TEST(test_step_clears_ntp)
{
	struct sim_kernel k;
	struct timex tx;
	int64_t delta = 5000000, old;

	init_synced(&k);
	sim_kernel_adjtime(&k, &delta, NULL);
	tx = (struct timex){.time = {.tv_sec = 0, .tv_usec = 1}};
	ck_assert_int_eq(adj(&k, ADJ_SETOFFSET | ADJ_NANO, &tx), TIME_ERROR);
	ck_assert_int_eq(tx.maxerror, SIM_PHASE_LIMIT_US);
	ck_assert_int_eq(tx.esterror, SIM_PHASE_LIMIT_US);
	sim_kernel_adjtime(&k, NULL, &old);
	ck_assert_int_eq(old, 0);
	/* Modes in the same call are applied after the step's clearing. */
	tx = (struct timex){.time = {.tv_sec = 0, .tv_usec = 1}, .status = STA_PLL, .maxerror = 7};
	ck_assert_int_eq(adj(&k, ADJ_SETOFFSET | ADJ_NANO | ADJ_STATUS | ADJ_MAXERROR, &tx),
			 TIME_OK);
	ck_assert_int_eq(tx.maxerror, 7);

	/* An armed insertion is forgotten: TIME_INS stays, midnight passes without a leap. */
	sim_kernel_init(&k, LEAP_EVE_NS, MONO0, 36);
	tx = (struct timex){.status = STA_INS, .maxerror = 1000};
	adj(&k, ADJ_STATUS | ADJ_MAXERROR, &tx);
	sim_kernel_advance(&k, 600000000, 0.0);
	tx = (struct timex){.time = {.tv_sec = 0, .tv_usec = 1}};
	adj(&k, ADJ_SETOFFSET | ADJ_NANO, &tx);
	tx = (struct timex){.status = STA_INS, .maxerror = 1000};
	ck_assert_int_eq(adj(&k, ADJ_STATUS | ADJ_MAXERROR, &tx), TIME_INS);
	ck_assert_int_eq(sim_kernel_advance(&k, 3 * NS, 0.0), 0);
	ck_assert_int_eq(readback(&k).tai, 36);
	ck_assert_int_eq(adj(&k, 0, &tx), TIME_INS);
}
END_TEST

/* ADJ_MAXERROR/ADJ_ESTERROR are clamped to 0..NTP_PHASE_LIMIT (6.1+ stable). */
START_TEST(test_error_limits)
{
	static const struct {
		long in, out;
	} cases[] = {
		{-1, 0},
		{0, 0},
		{1, 1},
		{SIM_PHASE_LIMIT_US - 1, SIM_PHASE_LIMIT_US - 1},
		{SIM_PHASE_LIMIT_US, SIM_PHASE_LIMIT_US},
		{SIM_PHASE_LIMIT_US + 1, SIM_PHASE_LIMIT_US},
		{LONG_MIN, 0},
		{LONG_MAX, SIM_PHASE_LIMIT_US},
	};
	struct sim_kernel k;
	struct timex tx;

	init_synced(&k);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tx = (struct timex){.maxerror = cases[i].in, .esterror = cases[i].in};
		ck_assert_int_ge(adj(&k, ADJ_MAXERROR | ADJ_ESTERROR, &tx), 0);
		ck_assert_int_eq(tx.maxerror, cases[i].out);
		ck_assert_int_eq(tx.esterror, cases[i].out);
	}
}
END_TEST

/* ADJ_TIMECONST: clamped to 0..10, plus 4 in microsecond mode, clamped again. */
START_TEST(test_timeconst_limits)
{
	static const struct {
		long in, nano, micro;
	} cases[] = {
		{LONG_MIN, 0, 4},   {-1, 0, 4}, {0, 0, 4},	     {1, 1, 5},
		{6, 6, 10},	    {7, 7, 10}, {SIM_MAXTC, 10, 10}, {SIM_MAXTC + 1, 10, 10},
		{LONG_MAX, 10, 10},
	};
	struct sim_kernel k;
	struct timex tx;

	init_synced(&k);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tx = (struct timex){.constant = cases[i].in};
		ck_assert_int_ge(adj(&k, ADJ_TIMECONST | ADJ_NANO, &tx), 0);
		ck_assert_int_eq(tx.constant, cases[i].nano);
		tx = (struct timex){.constant = cases[i].in};
		ck_assert_int_ge(adj(&k, ADJ_TIMECONST | ADJ_MICRO, &tx), 0);
		ck_assert_int_eq(tx.constant, cases[i].micro);
	}
}
END_TEST

/* ADJ_TAI: 0..100000 taken, anything else ignored without an error. */
START_TEST(test_tai_limits)
{
	static const struct {
		long in, out;
	} cases[] = {
		{37, 37},
		{0, 0},
		{-1, 0},
		{1, 1},
		{SIM_MAX_TAI_OFFSET, SIM_MAX_TAI_OFFSET},
		{SIM_MAX_TAI_OFFSET + 1, SIM_MAX_TAI_OFFSET},
		{LONG_MIN, SIM_MAX_TAI_OFFSET},
		{SIM_MAX_TAI_OFFSET - 1, SIM_MAX_TAI_OFFSET - 1},
	};
	struct sim_kernel k;
	struct timex tx;

	init_synced(&k);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tx = (struct timex){.constant = cases[i].in};
		ck_assert_int_eq(adj(&k, ADJ_TAI, &tx), TIME_OK);
		ck_assert_int_eq(tx.tai, cases[i].out);
	}
}
END_TEST

/* ADJ_STATUS cannot touch STA_RONLY; the result is TIME_ERROR only for UNSYNC/CLOCKERR. */
START_TEST(test_status_bits)
{
	struct sim_kernel k;
	struct timex tx;

	init_synced(&k);
	tx = (struct timex){.status = STA_PLL | STA_CLOCKERR | STA_PPSSIGNAL | STA_PPSJITTER |
				      STA_PPSWANDER | STA_PPSERROR | STA_MODE | STA_CLK};
	ck_assert_int_eq(adj(&k, ADJ_STATUS, &tx), TIME_OK);
	ck_assert_int_eq(tx.status, STA_PLL | STA_NANO);
	/* No CONFIG_NTP_PPS: PPS requests without a signal are no error. */
	tx = (struct timex){
		.status = STA_PLL | STA_PPSFREQ | STA_PPSTIME, .ppsfreq = 9, .jitter = 9};
	ck_assert_int_eq(adj(&k, ADJ_STATUS, &tx), TIME_OK);
	ck_assert_int_eq(tx.status, STA_PLL | STA_NANO | STA_PPSFREQ | STA_PPSTIME);
	ck_assert_int_eq(tx.ppsfreq, 0);
	ck_assert_int_eq(tx.jitter, 0);
	tx = (struct timex){.status = STA_PLL | STA_UNSYNC};
	ck_assert_int_eq(adj(&k, ADJ_STATUS, &tx), TIME_ERROR);

	/* Leaving PLL mode resets everything, the read-only STA_NANO and the leap state too. */
	init_synced(&k);
	tx = (struct timex){.status = STA_PLL | STA_INS};
	adj(&k, ADJ_STATUS, &tx);
	sim_kernel_advance(&k, NS, 0.0);
	ck_assert_int_eq(adj(&k, 0, &tx), TIME_INS);
	tx = (struct timex){.status = STA_INS};
	ck_assert_int_eq(adj(&k, ADJ_STATUS, &tx), TIME_OK);
	ck_assert_int_eq(tx.status, STA_INS);
}
END_TEST

/* ADJ_OFFSET in PLL mode: phase clamped to +-0.5 s (+-1 s first in microseconds). */
START_TEST(test_pll_limits)
{
	static const struct {
		long in, nano_out;
	} nano[] = {
		{SIM_MAXPHASE_NS, SIM_MAXPHASE_NS},
		{SIM_MAXPHASE_NS - 250, SIM_MAXPHASE_NS - 250},
		{SIM_MAXPHASE_NS + 1, SIM_MAXPHASE_NS},
		{-SIM_MAXPHASE_NS, -SIM_MAXPHASE_NS},
		{-SIM_MAXPHASE_NS + 250, -SIM_MAXPHASE_NS + 250},
		{-SIM_MAXPHASE_NS - 1, -SIM_MAXPHASE_NS},
		{LONG_MAX, SIM_MAXPHASE_NS},
		{LONG_MIN, -SIM_MAXPHASE_NS},
	};
	static const struct {
		long in, micro_out;
	} micro[] = {
		{500000, 500000},
		{499999, 499999},
		{500001, 500000},
		{1000001, 500000},
		{LONG_MAX, 500000},
		/* A negative phase reads back negative, as on a real 6.12 kernel (the guest
		 * suite's conformance case), not through the u32 division of older kernels. */
		{-500000, -500000},
		{-500001, -500000},
		{-499999, -499999},
		{-1000001, -500000},
		{LONG_MIN, -500000},
	};
	struct sim_kernel k;
	struct timex tx;

	init_synced(&k);
	for (size_t i = 0; i < sizeof(nano) / sizeof(nano[0]); i++) {
		tx = (struct timex){.offset = nano[i].in};
		ck_assert_int_eq(adj(&k, ADJ_OFFSET, &tx), TIME_OK);
		ck_assert_int_eq(tx.offset, nano[i].nano_out);
	}
	tx = (struct timex){0};
	adj(&k, ADJ_MICRO, &tx);
	for (size_t i = 0; i < sizeof(micro) / sizeof(micro[0]); i++) {
		tx = (struct timex){.offset = micro[i].in};
		ck_assert_int_eq(adj(&k, ADJ_OFFSET, &tx), TIME_OK);
		ck_assert_int_eq(tx.offset, micro[i].micro_out);
	}
	/* Within the second no PLL frequency: the updates came 0 s apart. */
	ck_assert_int_eq(tx.freq, 0);

	/* Without STA_PLL the offset is ignored. */
	sim_kernel_init(&k, 2000 * NS, MONO0, 0);
	{
		struct sim_kernel before;

		memcpy(&before, &k, sizeof(before));
		tx = (struct timex){.offset = 1000};
		ck_assert_int_eq(adj(&k, ADJ_OFFSET, &tx), TIME_ERROR);
		ck_assert_int_eq(memcmp(&before, &k, sizeof(before)), 0);
	}
}
END_TEST

/* The PLL slews its phase out and turns the offsets into frequency, as ntp.c does. */
START_TEST(test_pll_behaviour)
{
	struct sim_kernel k;
	struct timex tx;
	int64_t t0;

	init_synced(&k);
	tx = (struct timex){.constant = 0};
	adj(&k, ADJ_TIMECONST, &tx);
	t0 = get(&k, CLOCK_REALTIME);
	tx = (struct timex){.offset = 1000000};
	adj(&k, ADJ_OFFSET, &tx);
	/* A quarter of the remaining phase goes in each second (shift 2 + constant 0). */
	sim_kernel_advance(&k, NS, 0.0);
	ck_assert_int_eq(readback(&k).offset, 750000);
	/*
	 * Each share goes in over the ticks of one REALTIME second, which the share itself
	 * shortens: the sum of share^2 * 1e-9, 143 ns of the 1 ms, is lost, as in the kernel.
	 */
	sim_kernel_advance(&k, 99 * NS, 0.0);
	ck_assert_int_lt(llabs(get(&k, CLOCK_REALTIME) - t0 - 100 * NS - (1000000 - 143)), 3);
	ck_assert_int_eq(readback(&k).offset, 0);

	/* 100 s later: the interval is capped at 2^(2 + 1 + 0) s, 1000 ns * 8 / 2^8 ppb. */
	tx = (struct timex){.offset = 1000};
	adj(&k, ADJ_OFFSET, &tx);
	ck_assert_int_eq(tx.freq, 2048); /* 31.25 ppb */
	ck_assert_double_eq_tol(sim_kernel_freq_ppb(&k), 31.25, 1e-9);
	ck_assert(!(tx.status & STA_MODE));

	/* The frequency is clamped to +-500 ppm. */
	sim_kernel_advance(&k, 10 * NS, 0.0);
	tx = (struct timex){.offset = SIM_MAXPHASE_NS};
	adj(&k, ADJ_OFFSET, &tx);
	ck_assert_int_eq(tx.freq, FREQ_MAX);

	/* STA_FLL after 256 s or more adds offset / interval / 4 (STA_MODE shows it). */
	init_synced(&k);
	tx = (struct timex){.status = STA_PLL | STA_FLL | STA_FREQHOLD, .constant = 0};
	adj(&k, ADJ_STATUS | ADJ_TIMECONST, &tx);
	sim_kernel_advance(&k, 256 * NS, 0.0);
	tx = (struct timex){.offset = 256000};
	adj(&k, ADJ_OFFSET, &tx);
	ck_assert_int_eq(tx.freq, 0); /* STA_FREQHOLD: an interval of 0 */
	tx = (struct timex){.status = STA_PLL | STA_FLL};
	adj(&k, ADJ_STATUS, &tx);
	sim_kernel_advance(&k, 256 * NS, 0.0);
	tx = (struct timex){.offset = 256000};
	adj(&k, ADJ_OFFSET, &tx);
	ck_assert(tx.status & STA_MODE);
	ck_assert_double_eq_tol(sim_kernel_freq_ppb(&k), 250.0 + 8000.0, 1e-6);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sim_kernel");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_step);
	tcase_add_test(tc, test_frequency);
	tcase_add_test(tc, test_tick);
	tcase_add_test(tc, test_leap_insert);
	tcase_add_test(tc, test_leap_delete);
	tcase_add_test(tc, test_tai);
	tcase_add_test(tc, test_maxerror);
	tcase_add_test(tc, test_adjtime_slew);
	tcase_add_test(tc, test_resume);
	tcase_add_test(tc, test_tick_limits);
	tcase_add_test(tc, test_freq_limits);
	tcase_add_test(tc, test_setoffset_fraction);
	tcase_add_test(tc, test_setoffset_range);
	tcase_add_test(tc, test_settime_range);
	tcase_add_test(tc, test_step_clears_ntp);
	tcase_add_test(tc, test_error_limits);
	tcase_add_test(tc, test_timeconst_limits);
	tcase_add_test(tc, test_tai_limits);
	tcase_add_test(tc, test_status_bits);
	tcase_add_test(tc, test_pll_limits);
	tcase_add_test(tc, test_pll_behaviour);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
