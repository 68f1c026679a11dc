/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The discipline's decisions, pure: samples, failures and requests go in, one action comes
 * out per pass. Inside: one mode, the servo, disruption confirmation, the leap plan, the
 * step policy and budget, reference sanity and panic. It never touches a clock or a file;
 * act.c carries out the action and feeds any refusal back (decide_refused).
 */
#ifndef PHCSYNC_DECIDE_H
#define PHCSYNC_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phcsync/leapsec.h"
#include "phcsync/servo.h"
#include "phcsync/status.h"

enum decide_fault {
	FAULT_NONE,
	FAULT_NO_DEVICE,   /* the PHC was never found */
	FAULT_PANIC,	   /* the offset is beyond max_offset_panic */
	FAULT_STEP_BUDGET, /* a step would exceed the step budget */
	FAULT_REFERENCE,   /* the PHC's rate or progress is not sane */
	FAULT_KERNEL,	   /* the kernel refused an adjustment */
};

struct decide_params {
	double interval_s;
	struct servo_params servo; /* servo.max_freq_ppb is also the slew limit; its
				      thresholds and interval are taken from here */
	enum servo_type servo_type;
	double start_freq_ppb;		 /* the frequency on the clock at start */
	int64_t first_step_threshold_ns; /* 0: no step at start */
	int64_t step_threshold_ns;	 /* 0: no step later */
	int64_t panic_ns;		 /* 0: no limit */
	bool allow_large_step;
	int disruption_samples;
	int holdover_after; /* failed polls before holdover */
	int64_t step_window_ns;
	int64_t step_limit_back_ns;	 /* 0: no limit */
	int step_limit_count;		 /* 0: no limit */
	double reference_freq_limit_ppb; /* 0: no rate check */
	bool observe_only;
	bool rtcsync;
	int utc_offset_s; /* TAI-UTC without a table, for a TAI PHC */
};

/* Defaults matching phcsyncd.conf(5) for a poll interval. */
void decide_params_defaults(struct decide_params *p, double interval_s);

/* One measured sample. */
struct decide_sample {
	int64_t t_mono_ns;  /* CLOCK_MONOTONIC of the pass */
	int64_t offset_ns;  /* CLOCK_REALTIME - reference UTC (positive: ahead) */
	int64_t ref_utc_ns; /* the reference's UTC time (for the leap plan) */
	int64_t error_ns;   /* the sample's error bound */
	int64_t phc_ns;	    /* the PHC's own reading, for the sanity check */
	int64_t raw_ns;	    /* CLOCK_MONOTONIC_RAW at phc_ns; < 0 when unavailable */
	int64_t mono_at_ns; /* CLOCK_MONOTONIC at phc_ns (fallback for raw_ns) */
	bool recovered;	    /* the device was reopened or holdover just ended */
	bool burst_odd;	    /* the PHC did not advance with the system clock within the
				 burst (filter_burst_consistent): burst_why says how */
	char burst_why[160];
};

#define DECIDE_EVENTS_MAX 8
#define DECIDE_EVENT_LEN 240

enum step_cause { STEP_SERVO, STEP_DISRUPTION, STEP_LEAP, STEP_REQUEST };

/* What act must do, in this order: step, TAI, frequency, leap bits, status. */
struct action {
	bool step;
	int64_t step_ns; /* add to CLOCK_REALTIME */
	enum step_cause step_cause;
	bool set_tai;
	int tai_s;
	bool set_freq;
	double freq_ppb; /* total: servo + slew + leap smear */
	bool set_leap;
	int leap_dir; /* +1 insert, -1 delete, 0 none */
	bool set_status;
	int64_t maxerror_ns;
	int64_t esterror_ns;
	bool synced;
	bool quick_poll; /* measure again soon to confirm a suspect sample */
	int nevents;
	struct {
		int priority; /* syslog priority */
		char text[DECIDE_EVENT_LEN];
	} events[DECIDE_EVENTS_MAX];
};

/* What act reports back: which part of the last action the kernel refused. */
enum act_part { ACT_STEP, ACT_TAI, ACT_FREQ, ACT_LEAP, ACT_STATUS };

/* Counters and figures for status, summaries and the report. Read-only outside decide. */
struct decide_view {
	enum status_state mode;
	enum decide_fault fault;
	bool stable; /* servo locked and stable */
	enum servo_state servo_state;
	bool have_servo_state;
	double freq_ppb; /* last frequency set (servo + slew + smear), or drift with -x */
	int64_t last_offset_ns;
	int64_t last_error_ns;
	int64_t maxerror_ns; /* last bound told to the kernel */
	int64_t slew_remaining_ns;
	int64_t smear_ns;
	double smear_rate_ppb;
	double reference_rate_ppb; /* last PHC rate against CLOCK_MONOTONIC_RAW */
	struct status_counts counts;
	int64_t last_step_ns;
	int64_t last_step_mono_ns;
	bool ever_locked;
	int kernel_tai_s;
	uint64_t vmclock_disruptions; /* jumps corrected at once on the vmclock page's word */
	uint64_t vmclock_restores;
};

struct decide;

/* NULL on bad parameters or without memory. ls may be NULL (no leap table) and is kept. */
struct decide *decide_create(const struct decide_params *p, const struct leapsec *ls);
void decide_destroy(struct decide *d);

/* A sample: fill *a with what to do. */
void decide_sample(struct decide *d, const struct decide_sample *s, struct action *a);

/*
 * A poll without a sample: err is the reason (errno); ever_opened says whether the device
 * was ever found. Fills *a (holdover, a slew's progress).
 */
void decide_failure(struct decide *d, int err, bool ever_opened, int64_t t_mono_ns,
		    struct action *a);

/* The operator asks for a step to the reference now (control socket). Panic applies; the
 * step budget does not. Returns 0, or -ERANGE (panic) with a reason in a's events. */
int decide_request_step(struct decide *d, const struct decide_sample *s, struct action *a);

/* The operator asks for a restart of the servo (keeps the frequency) and a clear budget. */
void decide_request_reset(struct decide *d, struct action *a);

/* The VM slept for slept_ns: a hint for the disruption that usually follows. Until a
 * sample verifies the clock, passes without one tell the kernel it is unsynchronised. */
void decide_note_suspend(struct decide *d, int64_t slept_ns, int64_t t_mono_ns);

/* A poll that gave nothing to judge (a rejected burst, an interrupted read). */
void decide_no_sample(struct decide *d, struct action *a);

/* The kernel refused part of the last action with errno err. */
void decide_refused(struct decide *d, enum act_part part, int err, struct action *a);

/* The last action went through whole: a fault for a kernel refusal ends (its events in
 * *a), and a later refusal is news again. */
void decide_applied(struct decide *d, struct action *a);

/*
 * A reload: take p's panic, allow_large_step, rtcsync, holdover_after, step budget and
 * reference rate limit from the next pass on. The servo, its thresholds and the interval
 * stay as they were created (those keys need a restart).
 */
void decide_set_live(struct decide *d, const struct decide_params *p);

/* The leap table changed (reload). */
void decide_set_leap(struct decide *d, const struct leapsec *ls);

/* How soon to poll again after a pass that asked for a quick poll. */
int64_t decide_quick_poll_ns(void);

/* The frequency to hold when samples cannot be used (mean of recent locked ones). */
double decide_held_freq_ppb(const struct decide *d);

/* The standard deviation of those frequencies (the driftfile's uncertainty). */
double decide_freq_spread_ppb(const struct decide *d);

/*
 * What the hypervisor's vmclock page says (sync.c reads it). disrupted and restored are
 * news, kept until the next sample uses them; the rest is the page's state now.
 */
struct decide_vmclock {
	bool disrupted;	     /* the disruption marker changed: the next jump needs no confirming */
	bool restored;	     /* the VM generation changed: forget the learnt frequency too */
	bool warned;	     /* a disruption is announced: hold the frequency, learn nothing */
	bool unreliable;     /* the host's clock is unreliable: holdover */
	int64_t maxerror_ns; /* added to the bounds told to the kernel (0: none) */
	int64_t esterror_ns;
	char cause[64]; /* what the page said, for the log */
};

/* The vmclock page's word; a pass that follows uses it. */
void decide_vmclock(struct decide *d, const struct decide_vmclock *vm);

/* The figures for status and reports. */
const struct decide_view *decide_view(const struct decide *d);

/* "none", "no device", "max_offset_panic", "step budget", "reference", "kernel refusal". */
const char *decide_fault_name(enum decide_fault f);

#endif
