/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A snapshot of the daemon's state for the control socket (status, metrics) and the exit
 * report. Plain data: the sync loop fills it, ctl_proto formats it.
 */
#ifndef PHCSYNC_STATUS_H
#define PHCSYNC_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#define STATUS_TEXT_MAX 256

/* The daemon's state as operators see it. */
enum status_state {
	STATUS_UNLOCKED, /* no sample yet, or the servo is collecting its first samples */
	STATUS_STEPPING, /* a jump is being confirmed, or a step awaits a sample to verify it */
	STATUS_SLEWING,	 /* a known offset is being slewed out at up to the maximum rate */
	STATUS_LOCKED,	 /* the servo disciplines the clock; the offset is inside maxerror */
	STATUS_HOLDOVER, /* the PHC cannot be read: the last good frequency is kept */
	STATUS_FAULT,	 /* not following the reference: `fault` says why */
};

/* What the discipline counts, as status, metrics and the exit report show it. */
struct status_counts {
	long updates;	       /* samples taken */
	long steps;	       /* steps of the system clock */
	long read_failures;    /* polls without a reading */
	long disruptions;      /* confirmed disruptions */
	long step_refusals;    /* steps refused by the step budget */
	long reference_faults; /* times the reference was found not sane */
	long adjust_refusals;  /* adjustments the kernel refused */
};

struct status {
	int version;		      /* protocol version of this layout: 1 */
	char device[STATUS_TEXT_MAX]; /* /dev/ptpN */
	char clock_name[STATUS_TEXT_MAX];
	char readout[32]; /* phc_method_name */
	enum status_state state;
	char fault[32];	      /* decide_fault_name: "none" unless state is fault */
	char servo_state[32]; /* servo_state_name, or "none" */
	bool observe_only;
	bool stable;		/* servo LOCKED_STABLE */
	bool have_sample;	/* the fields below are meaningful */
	int64_t last_offset_ns; /* system - reference, positive: ahead */
	double rms_offset_ns;	/* over the last `window` updates */
	double max_offset_ns;	/* largest |offset| over the same window */
	int window;		/* updates in that window */
	double freq_ppb;	/* frequency set on the clock (or drift with -x) */
	int64_t delay_ns;	/* read delay of the last sample */
	int64_t error_bound_ns; /* error bound of the last sample */
	double poll_interval_s;
	struct status_counts counts;
	int64_t last_step_ns;	/* size of the last step */
	double last_step_age_s; /* seconds since the last step; < 0: none */
	double uptime_s;
	long rejected_bursts;
	long reopens;
	/* Leap second table; tai_utc_s < 0 when unknown. */
	int tai_utc_s;
	int next_leap;		   /* +1, -1, 0: none known */
	int64_t next_leap_utc_s;   /* UNIX time of the leap, 0: none */
	int64_t leap_expiry_utc_s; /* UNIX time the table expires, 0: unknown */
	bool leap_table_expired;
	int64_t leap_smear_ns; /* leap_mode smear: correction in effect */
	int64_t max_error_ns;  /* the bound last told to the kernel (maxerror) */
	int64_t slew_remaining_ns;
	double reference_rate_ppb; /* the PHC's rate against CLOCK_MONOTONIC_RAW */
	char servo[16];		   /* the algorithm in use, as the servo key names it */
	double last_sample_age_s;  /* seconds since the last sample; < 0: none yet */
	double last_sample_utc_s;  /* UNIX time (system clock) of the last sample */
	/*
	 * The slope of the offset over the last freq_window samples while locked (all samples
	 * with -x), in ppb: positive, the system clock gains on the PHC, so the frequency set on
	 * it is that much too high. freq_skew_ppb: its standard error. Known when
	 * freq_window >= 3.
	 */
	double freq_residual_ppb;
	double freq_skew_ppb;
	int freq_window;
	/* The vmclock page (vmclock, issue 16); the rest only when vmclock_present. */
	bool vmclock_present;
	bool vmclock_good; /* the last read gave a well-formed, settled page */
	char vmclock_device[64];
	char vmclock_status[16]; /* vmclock_status_name of clock_status */
	char vmclock_flags[128]; /* vmclock_flags_str */
	uint64_t vmclock_marker;
	uint64_t vmclock_generation;
	long vmclock_disruptions; /* jumps corrected at once on the page's word */
	long vmclock_restores;
	long vmclock_bad_reads; /* reads that gave a malformed or unsettled page */
	/* The build, for metrics' build_info (filled by the daemon, "" elsewhere). */
	char build_version[64];
	char build_features[64];
};

/* "unlocked", "stepping", "slewing", "locked", "holdover", "fault": the one vocabulary of
 * the log, status, metrics and the exit report. */
const char *status_state_name(enum status_state st);

#endif
