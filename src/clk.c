/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The only place that adjusts CLOCK_REALTIME. Frequencies beyond the +-500 ppm that
 * ADJ_FREQUENCY accepts are reached through ADJ_TICK, as the kernel's tick length is the
 * coarse knob and freq the fine one.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include "phcsync/clk.h"
#include "phcsync/units.h"

#define FREQ_LIMIT_PPB 500000.0
/* struct timex freq is ppm with a 16-bit fraction. */
#define FREQ_UNITS_PER_PPB 65.536
/* Bits of other disciplines that would fight ours. */
#define STA_FOREIGN (STA_PLL | STA_FLL | STA_PPSFREQ | STA_PPSTIME)

static int adjtime_rt(struct timex *tx)
{
	int ret = clock_adjtime(CLOCK_REALTIME, tx);

	return ret < 0 ? -errno : ret;
}

/* ppb of frequency that one microsecond of tick length is worth. */
static double ppb_per_tick_us(const struct clk *c)
{
	return (double)c->user_hz * 1000.0;
}

int clk_init(struct clk *c, bool observe_only)
{
	struct timex tx = {0};
	int ret;

	memset(c, 0, sizeof(*c));
	c->observe_only = observe_only;
	c->user_hz = sysconf(_SC_CLK_TCK);
	if (c->user_hz <= 0)
		c->user_hz = 100;
	c->nominal_tick_us = (1000000 + c->user_hz / 2) / c->user_hz;
	ret = adjtime_rt(&tx);
	return ret < 0 ? ret : 0;
}

/* The kernel accepts a tick from 900000 / USER_HZ to 1100000 / USER_HZ us. */
static long max_tick_delta(const struct clk *c)
{
	long up = 1100000 / c->user_hz - c->nominal_tick_us;
	long down = c->nominal_tick_us - (900000 + c->user_hz - 1) / c->user_hz;

	return up < down ? up : down;
}

double clk_max_freq_ppb(const struct clk *c)
{
	return (double)max_tick_delta(c) * ppb_per_tick_us(c) + FREQ_LIMIT_PPB;
}

void clk_split_freq(const struct clk *c, double freq_ppb, long *tick_delta, double *rest_ppb)
{
	long max_delta = max_tick_delta(c);
	long delta = 0;

	if (fabs(freq_ppb) > FREQ_LIMIT_PPB) {
		double want = freq_ppb / ppb_per_tick_us(c);

		delta = want > (double)max_delta    ? max_delta
			: want < -(double)max_delta ? -max_delta
						    : lround(want);
	}
	freq_ppb -= (double)delta * ppb_per_tick_us(c);
	if (freq_ppb > FREQ_LIMIT_PPB)
		freq_ppb = FREQ_LIMIT_PPB;
	if (freq_ppb < -FREQ_LIMIT_PPB)
		freq_ppb = -FREQ_LIMIT_PPB;
	*tick_delta = delta;
	*rest_ppb = freq_ppb;
}

int clk_get_freq_ppb(const struct clk *c, double *freq_ppb)
{
	struct timex tx = {0};
	int ret = adjtime_rt(&tx);

	if (ret < 0)
		return ret;
	*freq_ppb = tx.freq / FREQ_UNITS_PER_PPB +
		    (double)(tx.tick - c->nominal_tick_us) * ppb_per_tick_us(c);
	return 0;
}

/* An adjusting call: none in observe-only mode. Returns 0 or -errno. */
static int adjust(struct clk *c, struct timex *tx)
{
	int ret;

	if (c->observe_only)
		return 0;
	ret = adjtime_rt(tx);
	return ret < 0 ? ret : 0;
}

/* The same with ADJ_STATUS: the bits in mask become bits, the others are kept. */
static int adjust_status(struct clk *c, struct timex *tx, int mask, int bits)
{
	struct timex now = {0};
	int ret;

	if (c->observe_only)
		return 0;
	ret = adjtime_rt(&now);
	if (ret < 0)
		return ret;
	tx->modes |= ADJ_STATUS;
	tx->status = (now.status & ~mask) | bits;
	return adjust(c, tx);
}

int clk_set_freq_ppb(struct clk *c, double freq_ppb)
{
	struct timex tx = {0};
	long tick_delta;
	double rest_ppb;
	int ret;

	if (!isfinite(freq_ppb))
		return -EINVAL;
	clk_split_freq(c, freq_ppb, &tick_delta, &rest_ppb);
	tx.modes = ADJ_FREQUENCY;
	tx.freq = lround(rest_ppb * FREQ_UNITS_PER_PPB);
	/* Touch the tick only when it has to change, so plain setups never see ADJ_TICK. */
	if (tick_delta != 0 || c->tick_changed) {
		tx.modes |= ADJ_TICK;
		tx.tick = c->nominal_tick_us + tick_delta;
	}
	ret = adjust(c, &tx);
	if (ret == 0 && !c->observe_only)
		c->tick_changed = tick_delta != 0;
	return ret;
}

int clk_step_ns(struct clk *c, int64_t delta_ns)
{
	struct timex tx = {0};
	int64_t sec = delta_ns / NS_PER_S;
	int64_t nsec = delta_ns % NS_PER_S;

	/* ADJ_SETOFFSET wants a normalised timeval: nanoseconds in [0, 1e9). */
	if (nsec < 0) {
		nsec += NS_PER_S;
		sec -= 1;
	}
	tx.modes = ADJ_SETOFFSET | ADJ_NANO;
	tx.time.tv_sec = sec;
	tx.time.tv_usec = nsec;
	return adjust(c, &tx);
}

int clk_set_tai(struct clk *c, int tai_s)
{
	struct timex tx = {.modes = ADJ_TAI, .constant = tai_s};

	return adjust(c, &tx);
}

int clk_set_leap(struct clk *c, int dir)
{
	struct timex tx = {0};

	return adjust_status(c, &tx, STA_INS | STA_DEL, dir > 0 ? STA_INS : dir < 0 ? STA_DEL : 0);
}

static long ns_to_us_up(int64_t ns)
{
	if (ns <= 0)
		return 0;
	return (long)((ns + 999) / 1000);
}

int clk_set_status(struct clk *c, int64_t maxerror_ns, int64_t esterror_ns, bool synced)
{
	struct timex tx = {
		.modes = ADJ_MAXERROR | ADJ_ESTERROR,
		.maxerror = ns_to_us_up(maxerror_ns),
		.esterror = ns_to_us_up(esterror_ns),
	};

	return adjust_status(c, &tx, STA_FOREIGN | STA_UNSYNC, synced ? 0 : STA_UNSYNC);
}
