/* Unit tests of the simulator's kernel timekeeping model. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "sim_kernel.h"

#define NS SIM_NS_PER_S
#define MONO0 (1000 * NS)
/* 2016-12-31 23:59:58.500 UTC: 1.5 s before a real leap second. */
#define LEAP_EVE_NS (1483228798LL * NS + NS / 2)

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

	ck_assert_int_eq(sim_kernel_settime(&k, CLOCK_REALTIME, 5 * NS), 0);
	ck_assert_int_eq(get(&k, CLOCK_REALTIME), 5 * NS);
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
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
