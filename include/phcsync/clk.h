/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Every adjustment of the system clock goes through here (clock_adjtime on
 * CLOCK_REALTIME). In observe-only mode the adjusting calls are not made at all.
 */
#ifndef PHCSYNC_CLK_H
#define PHCSYNC_CLK_H

#include <stdbool.h>
#include <stdint.h>

struct clk {
	bool observe_only;
	long nominal_tick_us; /* the tick for USER_HZ, microseconds */
	long user_hz;
	bool tick_changed; /* we moved the tick off nominal */
};

/* Read the kernel's tick; never adjusts. Returns 0 or -errno. */
int clk_init(struct clk *c, bool observe_only);

/* The largest |frequency| clk_set_freq_ppb can apply (ADJ_FREQUENCY plus ADJ_TICK). */
double clk_max_freq_ppb(const struct clk *c);

/*
 * How clk_set_freq_ppb splits freq_ppb: whole microseconds of tick (within the kernel's
 * range) and the rest for ADJ_FREQUENCY (within +-500 ppm). Pure.
 */
void clk_split_freq(const struct clk *c, double freq_ppb, long *tick_delta, double *rest_ppb);

/* The frequency now set on the clock (ADJ_FREQUENCY and the tick), ppb. */
int clk_get_freq_ppb(const struct clk *c, double *freq_ppb);

/* Set the frequency, using ADJ_TICK for the part beyond +-500 ppm. Returns 0 or -errno. */
int clk_set_freq_ppb(struct clk *c, double freq_ppb);

/* Step the clock by delta_ns (ADJ_SETOFFSET | ADJ_NANO). Returns 0 or -errno. */
int clk_step_ns(struct clk *c, int64_t delta_ns);

/*
 * Tell the kernel how good the time is: maxerror and esterror in ns (rounded up to us),
 * and whether it is synchronised (clears STA_UNSYNC when true). Returns 0 or -errno.
 */
int clk_set_status(struct clk *c, int64_t maxerror_ns, int64_t esterror_ns, bool synced);

/* Set the kernel's TAI offset (ADJ_TAI), so CLOCK_TAI = CLOCK_REALTIME + tai_s. */
int clk_set_tai(struct clk *c, int tai_s);

/*
 * Ask the kernel to insert (dir +1, STA_INS) or delete (dir -1, STA_DEL) a second at the end
 * of the current UTC day, or neither (0). Other status bits are kept. Returns 0 or -errno.
 */
int clk_set_leap(struct clk *c, int dir);

#endif
