/*
 * A model of the guest kernel's timekeeping: CLOCK_REALTIME, MONOTONIC, MONOTONIC_RAW,
 * BOOTTIME and TAI driven by an oscillator with a given frequency error, and the NTP
 * state that adjtimex/clock_adjtime change (frequency, tick, steps, leap second state
 * machine, TAI offset, maxerror/esterror, adjtime slew). Pure: no I/O, no real clocks.
 */
#ifndef PHCSYNC_SIM_KERNEL_H
#define PHCSYNC_SIM_KERNEL_H

#include <stdint.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>

#define SIM_NS_PER_S 1000000000LL
#define SIM_USER_HZ 100
#define SIM_TICK_NOMINAL_US (1000000 / SIM_USER_HZ)
#define SIM_MAXFREQ_PPB 500000LL     /* the kernel's MAXFREQ, 500 ppm */
#define SIM_PHASE_LIMIT_US 16000000L /* NTP_PHASE_LIMIT: maxerror saturates here */
#define SIM_MAX_TAI_OFFSET 100000    /* largest TAI offset ADJ_TAI accepts */

struct sim_kernel {
	int64_t mono_ns;     /* CLOCK_MONOTONIC */
	double mono_frac_ns; /* sub-ns carry, so long runs do not drift by rounding */
	int64_t raw_ns;	     /* CLOCK_MONOTONIC_RAW */
	double raw_frac_ns;
	int64_t real_off_ns;	 /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	int64_t boot_off_ns;	 /* CLOCK_BOOTTIME - CLOCK_MONOTONIC */
	int64_t last_sec;	 /* REALTIME second whose start second_overflow last saw */
	int64_t next_leap_sec;	 /* REALTIME second at which the armed leap happens */
	int64_t adjtime_left_ns; /* adjtime()/ADJ_OFFSET_SINGLESHOT still to slew */
	long freq;		 /* timex.freq units (ppm << 16), within +-500 ppm */
	long tick_us;
	long constant;
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
 * once-a-second work (leap state machine, maxerror growth, adjtime slew). Returns the
 * leap applied to REALTIME during the interval: -1 inserted (clock stepped back), +1
 * deleted, 0 none.
 */
int sim_kernel_advance(struct sim_kernel *k, int64_t dt_ns, double osc_err_ppb);

/*
 * adjtimex/clock_adjtime(CLOCK_REALTIME) with the kernel's validation and clamping.
 * Returns the clock state (TIME_OK .. TIME_ERROR) or -errno; fills tx like the kernel.
 * ADJ_OFFSET without ADJ_OFFSET_SINGLESHOT (the kernel PLL) is not modelled: -EOPNOTSUPP.
 */
int sim_kernel_adjtimex(struct sim_kernel *k, struct timex *tx);

/* Read a clock (REALTIME, TAI, MONOTONIC, MONOTONIC_RAW, BOOTTIME and variants). 0/-EINVAL. */
int sim_kernel_gettime(const struct sim_kernel *k, clockid_t id, int64_t *ns);

/* Set CLOCK_REALTIME (clock_settime, settimeofday). 0 or -EINVAL for other clocks. */
int sim_kernel_settime(struct sim_kernel *k, clockid_t id, int64_t ns);

/* adjtime(): slew by delta_ns at 500 ppm; returns in *old_ns what was still pending. */
void sim_kernel_adjtime(struct sim_kernel *k, const int64_t *delta_ns, int64_t *old_ns);

/* The rate correction the kernel applies now (frequency, tick, slew), ppb. */
double sim_kernel_adj_ppb(const struct sim_kernel *k);

/*
 * Resume from a suspend of slept_ns: BOOTTIME gains slept_ns, MONOTONIC nothing, and
 * REALTIME gains realtime_inject_ns (what the RTC says was slept).
 */
void sim_kernel_resume(struct sim_kernel *k, int64_t slept_ns, int64_t realtime_inject_ns);

#endif
