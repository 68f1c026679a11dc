/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A model of the guest kernel's timekeeping: CLOCK_REALTIME, MONOTONIC, MONOTONIC_RAW,
 * BOOTTIME and TAI driven by an oscillator with a given frequency error, and the NTP
 * state that adjtimex/clock_adjtime change (frequency, tick, PLL, steps, leap second
 * state machine, TAI offset, maxerror/esterror, adjtime slew). It follows Linux 6.1 to
 * 6.12 (kernel/time/ntp.c, timekeeping.c) as built by distributions: USER_HZ 100, HZ 250,
 * no CONFIG_NTP_PPS (it needs a periodic tick). Pure: no I/O, no real clocks.
 */
#ifndef PHCSYNC_SIM_KERNEL_H
#define PHCSYNC_SIM_KERNEL_H

#include <stdint.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>

#define SIM_NS_PER_S 1000000000LL
#define SIM_USER_HZ 100
#define SIM_HZ 250 /* NTP_INTERVAL_FREQ: the PLL's phase is kept per tick */
#define SIM_TICK_NOMINAL_US (1000000 / SIM_USER_HZ)
#define SIM_TICK_MIN_US (900000 / SIM_USER_HZ)	/* ADJ_TICK below: EINVAL */
#define SIM_TICK_MAX_US (1100000 / SIM_USER_HZ) /* ADJ_TICK above: EINVAL */
#define SIM_MAXFREQ_PPB 500000LL		/* the kernel's MAXFREQ, 500 ppm */
#define SIM_MAXPHASE_NS 500000000LL		/* ADJ_OFFSET (PLL) is clamped to +-0.5 s */
#define SIM_MAXTC 10				/* time constant range 0..MAXTC */
#define SIM_PHASE_LIMIT_US 16000000L		/* NTP_PHASE_LIMIT: maxerror saturates here */
#define SIM_MAX_TAI_OFFSET 100000		/* largest TAI offset ADJ_TAI accepts */
/* TIME_SETTOD_SEC_MAX: REALTIME may be set to [0, this) seconds (KTIME_SEC_MAX - 30 y). */
#define SIM_SETTOD_SEC_MAX (9223372036LL - 30LL * 365 * 86400)

struct sim_kernel {
	int64_t mono_ns;     /* CLOCK_MONOTONIC */
	double mono_frac_ns; /* sub-ns carry, so long runs do not drift by rounding */
	int64_t raw_ns;	     /* CLOCK_MONOTONIC_RAW */
	double raw_frac_ns;
	int64_t real_off_ns;	   /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	int64_t boot_off_ns;	   /* CLOCK_BOOTTIME - CLOCK_MONOTONIC */
	int64_t last_sec;	   /* REALTIME second whose start second_overflow last saw */
	int64_t next_leap_sec;	   /* REALTIME second at which the armed leap happens */
	int64_t adjtime_left_ns;   /* adjtime()/ADJ_OFFSET_SINGLESHOT still to slew */
	int64_t freq_scaled;	   /* time_freq: ns/s << 32, within +-500 ppm */
	int64_t pll_offset_scaled; /* time_offset: PLL phase still to apply, ns << 32 per tick */
	int64_t pll_tick_scaled;   /* the share applied to each tick of this second */
	int64_t reftime_s;	   /* time_reftime: REALTIME second of the last PLL update */
	long tick_us;
	long constant; /* time_constant, 0..SIM_MAXTC (ADJ_TIMECONST + 4 in microsecond mode) */
	long maxerror_us;
	long esterror_us;
	int status; /* STA_* */
	int state;  /* TIME_OK .. TIME_WAIT (never TIME_ERROR) */
	int tai_s;
};

/* Boot state: unsynchronised, nominal tick, no frequency correction. */
void sim_kernel_init(struct sim_kernel *k, int64_t realtime_ns, int64_t mono_ns, int tai_s);

/*
 * Let dt_ns of true time pass with the oscillator off by osc_err_ppb. Runs the kernel's
 * once-a-second work (leap state machine, maxerror growth, PLL phase, adjtime slew).
 * Returns the leap applied to REALTIME during the interval: -1 inserted (clock stepped
 * back), +1 deleted, 0 none.
 */
int sim_kernel_advance(struct sim_kernel *k, int64_t dt_ns, double osc_err_ppb);

/*
 * adjtimex/clock_adjtime(CLOCK_REALTIME) as do_adjtimex: the whole call is validated
 * first and a refused call changes nothing, except that a step refused for leaving the
 * valid range still clears the NTP state (6.1-6.12). Returns the clock state (TIME_OK ..
 * TIME_ERROR) or -EINVAL; fills tx like the kernel. See README.md for every limit.
 */
int sim_kernel_adjtimex(struct sim_kernel *k, struct timex *tx);

/* Read a clock (REALTIME, TAI, MONOTONIC, MONOTONIC_RAW, BOOTTIME and variants). 0/-EINVAL. */
int sim_kernel_gettime(const struct sim_kernel *k, clockid_t id, int64_t *ns);

/*
 * Set CLOCK_REALTIME (clock_settime, settimeofday) as do_settimeofday64. 0, or -EINVAL
 * for other clocks, a time outside [0, SIM_SETTOD_SEC_MAX) s, or one before
 * CLOCK_MONOTONIC. Like any step it clears the NTP state, even when refused for the last.
 */
int sim_kernel_settime(struct sim_kernel *k, clockid_t id, int64_t ns);

/* adjtime(): slew by delta_ns at 500 ppm; returns in *old_ns what was still pending. */
void sim_kernel_adjtime(struct sim_kernel *k, const int64_t *delta_ns, int64_t *old_ns);

/* The frequency set by ADJ_FREQUENCY or the PLL (time_freq), ppb. */
double sim_kernel_freq_ppb(const struct sim_kernel *k);

/* The rate correction the kernel applies now (frequency, tick, PLL phase, slew), ppb. */
double sim_kernel_adj_ppb(const struct sim_kernel *k);

/*
 * Resume from a suspend of slept_ns: BOOTTIME gains slept_ns, MONOTONIC nothing, and
 * REALTIME gains realtime_inject_ns (what the RTC says was slept).
 */
void sim_kernel_resume(struct sim_kernel *k, int64_t slept_ns, int64_t realtime_inject_ns);

#endif
