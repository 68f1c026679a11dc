/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Kernel-model conformance: the same list of clock_adjtime calls on CLOCK_REALTIME, made
 * in the QEMU guest (a real 6.12 kernel) and under phcsim (sim_kernel.c). One line a call:
 *
 *   K N LABEL RET ERRNO FREQ TICK STATUS CONSTANT TAI MAXERROR ESTERROR OFFSET STEP_MS
 *
 * RET/ERRNO are the call's; the rest is read back at once with a modes-0 call, and STEP_MS
 * is how far CLOCK_REALTIME moved against CLOCK_MONOTONIC across the call. conform.sh
 * matches the two outputs call by call. A "wait" sleeps until 0.3 s past the next second
 * of CLOCK_REALTIME, so that the kernel's second processing (leap state, maxerror growth,
 * PLL) runs exactly once, and the calls after it run early in a second, far from the next.
 * The list leaves the clock unsynchronised, at frequency 0 and tick 10000.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#define NS 1000000000LL
#define SS_READ 0xa001	  /* ADJ_OFFSET_SS_READ */
#define SINGLESHOT 0x8001 /* ADJ_OFFSET_SINGLESHOT */

struct call {
	const char *label;
	unsigned modes;
	long v;	    /* the value of the field the modes select */
	long usec;  /* ADJ_SETOFFSET: time.tv_usec; v is tv_sec */
	int status; /* ADJ_STATUS */
	int wait;   /* a pause instead of a call */
};

static const struct call calls[] = {
	{"read", 0, 0, 0, 0, 0},
	{"status-clear", ADJ_STATUS, 0, 0, 0, 0},
	{"freq-0", ADJ_FREQUENCY, 0, 0, 0, 0},
	{"freq+500ppm", ADJ_FREQUENCY, 32768000, 0, 0, 0},
	{"freq+501ppm", ADJ_FREQUENCY, 32833536, 0, 0, 0},
	{"freq-600ppm", ADJ_FREQUENCY, -39321600, 0, 0, 0},
	{"freq-max", ADJ_FREQUENCY, -140737488355L, 0, 0, 0},
	{"freq-overflow", ADJ_FREQUENCY, 140737488356L, 0, 0, 0},
	{"freq-underflow", ADJ_FREQUENCY, -140737488356L, 0, 0, 0},
	{"freq-100ppm", ADJ_FREQUENCY, 6553600, 0, 0, 0},
	{"tick-9000", ADJ_TICK, 9000, 0, 0, 0},
	{"tick-8999", ADJ_TICK, 8999, 0, 0, 0},
	{"tick-11000", ADJ_TICK, 11000, 0, 0, 0},
	{"tick-11001", ADJ_TICK, 11001, 0, 0, 0},
	{"tick+freq-bad", ADJ_TICK | ADJ_FREQUENCY, 12000, 0, 0, 0},
	{"tick-10000", ADJ_TICK, 10000, 0, 0, 0},
	{"maxerror-5000", ADJ_MAXERROR, 5000, 0, 0, 0},
	{"maxerror-neg", ADJ_MAXERROR, -1, 0, 0, 0},
	{"maxerror-big", ADJ_MAXERROR, 20000000, 0, 0, 0},
	{"maxerror-1000", ADJ_MAXERROR, 1000, 0, 0, 0},
	{"esterror-700", ADJ_ESTERROR, 700, 0, 0, 0},
	{"esterror-neg", ADJ_ESTERROR, -5, 0, 0, 0},
	{"esterror-big", ADJ_ESTERROR, 16000001, 0, 0, 0},
	{"wait", 0, 0, 0, 0, 1},
	{"constant-3", ADJ_TIMECONST, 3, 0, 0, 0},
	{"constant-11", ADJ_TIMECONST, 11, 0, 0, 0},
	{"constant-neg", ADJ_TIMECONST, -1, 0, 0, 0},
	{"wait", 0, 0, 0, 0, 1},
	{"pll-on", ADJ_STATUS, 0, 0, STA_PLL, 0},
	{"offset-us-1000", ADJ_OFFSET, 1000, 0, 0, 0},
	{"offset-us-2s", ADJ_OFFSET, 2000000, 0, 0, 0},
	{"offset-us--2s", ADJ_OFFSET, -2000000, 0, 0, 0},
	{"constant-7-us", ADJ_TIMECONST, 7, 0, 0, 0},
	{"nano", ADJ_STATUS | ADJ_NANO, 0, 0, STA_PLL, 0},
	{"offset-ns-300000", ADJ_OFFSET | ADJ_NANO, 300000, 0, 0, 0},
	{"offset-ns-0.6s", ADJ_OFFSET | ADJ_NANO, 600000000, 0, 0, 0},
	{"constant-7-ns", ADJ_TIMECONST | ADJ_NANO, 7, 0, 0, 0},
	{"offset-0", ADJ_OFFSET | ADJ_NANO, 0, 0, 0, 0},
	{"micro", ADJ_STATUS | ADJ_MICRO, 0, 0, 0, 0},
	{"singleshot-bad", 0x8000, 0, 0, 0, 0},
	{"singleshot-500", SINGLESHOT, 500, 0, 0, 0},
	{"singleshot-read", SS_READ, 0, 0, 0, 0},
	{"singleshot-0", SINGLESHOT, 0, 0, 0, 0},
	{"wait", 0, 0, 0, 0, 1},
	{"tai-37", ADJ_TAI, 37, 0, 0, 0},
	{"tai-neg", ADJ_TAI, -1, 0, 0, 0},
	{"tai-100001", ADJ_TAI, 100001, 0, 0, 0},
	{"tai-100000", ADJ_TAI, 100000, 0, 0, 0},
	{"tai-37-again", ADJ_TAI, 37, 0, 0, 0},
	{"ins", ADJ_STATUS, 0, 0, STA_INS, 0},
	{"wait", 0, 0, 0, 0, 1},
	{"ins+del", ADJ_STATUS, 0, 0, STA_INS | STA_DEL, 0},
	{"del", ADJ_STATUS, 0, 0, STA_DEL, 0},
	{"wait", 0, 0, 0, 0, 1},
	{"del-ok", 0, 0, 0, 0, 0},
	{"wait", 0, 0, 0, 0, 1},
	{"leap-clear", ADJ_STATUS, 0, 0, 0, 0},
	{"wait", 0, 0, 0, 0, 1},
	{"ins-again", ADJ_STATUS, 0, 0, STA_INS, 0},
	{"wait", 0, 0, 0, 0, 1},
	{"step+1s", ADJ_SETOFFSET | ADJ_NANO, 1, 0, 0, 0},
	{"wait", 0, 0, 0, 0, 1},
	{"step-usec-neg", ADJ_SETOFFSET, 0, -1, 0, 0},
	{"step-usec-1e6", ADJ_SETOFFSET, 0, 1000000, 0, 0},
	{"step-nsec-1e9", ADJ_SETOFFSET | ADJ_NANO, 0, 1000000000, 0, 0},
	{"step-nsec-999999999", ADJ_SETOFFSET | ADJ_NANO, -1, 999999999, 0, 0},
	{"status-clear", ADJ_STATUS, 0, 0, 0, 0},
	{"maxerror-2000", ADJ_MAXERROR, 2000, 0, 0, 0},
	{"step-before-mono", ADJ_SETOFFSET, -4000000000L, 0, 0, 0},
	{"status-clear", ADJ_STATUS, 0, 0, 0, 0},
	{"step+freq", ADJ_SETOFFSET | ADJ_FREQUENCY, 0, 500000, 0, 0},
	{"step-0.5s", ADJ_SETOFFSET, -1, 500000, 0, 0},
	{"unsync", ADJ_STATUS, 0, 0, STA_UNSYNC, 0},
	{"freq-end", ADJ_FREQUENCY, 0, 0, 0, 0},
	{"read", 0, 0, 0, 0, 0},
};

static int64_t split(void)
{
	struct timespec r, m;

	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return ((int64_t)r.tv_sec - m.tv_sec) * NS + r.tv_nsec - m.tv_nsec;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (unsigned i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		const struct call *c = &calls[i];
		struct timex tx = {.modes = c->modes}, rb = {.modes = 0};
		int64_t before, after;
		int ret, err = 0;

		if (c->wait) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts = (struct timespec){ts.tv_sec + 1, 300000000};
			while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
			continue;
		}
		if (c->modes & ADJ_FREQUENCY)
			tx.freq = c->v;
		if ((c->modes & ADJ_TICK) && c->modes != SINGLESHOT && c->modes != SS_READ)
			tx.tick = c->v;
		if (c->modes & ADJ_MAXERROR)
			tx.maxerror = c->v;
		if (c->modes & ADJ_ESTERROR)
			tx.esterror = c->v;
		if (c->modes & ADJ_TIMECONST)
			tx.constant = c->v;
		if (c->modes & ADJ_TAI)
			tx.constant = c->v;
		if (c->modes & ADJ_STATUS)
			tx.status = c->status;
		if ((c->modes & ADJ_OFFSET) || (c->modes & 0x8000))
			tx.offset = c->v;
		if (c->modes & ADJ_SETOFFSET) {
			tx.time.tv_sec = (c->modes & ADJ_FREQUENCY) ? 0 : c->v;
			tx.time.tv_usec = c->usec;
			if (c->modes & ADJ_FREQUENCY)
				tx.freq = 3276800;
		}
		before = split();
		ret = clock_adjtime(CLOCK_REALTIME, &tx);
		if (ret < 0)
			err = errno;
		after = split();
		clock_adjtime(CLOCK_REALTIME, &rb);
		printf("K %u %s %d %d %ld %ld %d %ld %d %ld %ld %ld %lld\n", i, c->label, ret, err,
		       rb.freq, rb.tick, rb.status, rb.constant, rb.tai, rb.maxerror, rb.esterror,
		       rb.offset,
		       (long long)((after - before + (after >= before ? 500000 : -500000)) /
				   1000000));
	}
	return 0;
}
