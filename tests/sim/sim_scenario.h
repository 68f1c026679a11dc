/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Simulation scenarios: the clocks, the PHC devices and the events of one run, parsed
 * from the line format documented in tests/sim/README.md, or built in.
 */
#ifndef PHCSYNC_SIM_SCENARIO_H
#define PHCSYNC_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_MAX_PHC 8
#define SIM_MAX_EVENTS 256
#define SIM_MAX_LEAPS 16
#define SIM_MAX_EXEC 32
#define SIM_EXEC_LEN 512 /* a scenario line is shorter */

/* Which readout ioctls a driver implements. */
#define SIM_OP_BASIC 1u	   /* PTP_SYS_OFFSET */
#define SIM_OP_EXTENDED 2u /* PTP_SYS_OFFSET_EXTENDED */
#define SIM_OP_PRECISE 4u  /* PTP_SYS_OFFSET_PRECISE */

struct sim_phc_conf {
	char profile[16];	  /* kvm, vmw, hyperv, vmclock, ena */
	char clock_name[64];	  /* sysfs clock_name */
	unsigned ops;		  /* SIM_OP_* */
	int index;		  /* N of /dev/ptpN at start; events name the device by it */
	bool tai;		  /* timescale: TAI, else UTC (repeats a leap second) */
	int64_t offset_ns;	  /* PHC error vs true time at start */
	double freq_ppb;	  /* PHC frequency error vs true time, |x| <= 1e8 (10 %) */
	int64_t delay_ns;	  /* readout delay of one sample */
	int64_t delay_jitter_ns;  /* mean of the exponential extra delay */
	double asymmetry;	  /* where in the delay window the PHC is sampled, 0..1 */
	int64_t noise_ns;	  /* Gaussian sigma on the PHC timestamp */
	int64_t noise_exp_ns;	  /* mean of one-sided exponential noise on the timestamp */
	double outlier_prob;	  /* probability of a large outlier per sample */
	int64_t outlier_ns;	  /* its size (sign random) */
	int64_t precise_noise_ns; /* Gaussian sigma of a cross-timestamp */
	int64_t precise_noise_exp_ns;  /* mean of its one-sided exponential part (PHC late) */
	double precise_outlier_prob;   /* probability of a large outlier per cross-timestamp */
	int64_t precise_outlier_ns;    /* its size (sign random) */
	double window_spread;	       /* the PHC is sampled uniformly over this share of
					  the read window around asymmetry, 0..1 */
	int max_reads_per_s;	  /* 0: unlimited; beyond it: EBUSY */
};

enum sim_event_type {
	SIM_EV_PHC_STEP,	/* dev, value_ns: the PHC jumps */
	SIM_EV_PHC_FREQ,	/* dev, value: PHC frequency error becomes value ppb */
	SIM_EV_SYS_FREQ_STEP,	/* value: system oscillator error changes by value ppm */
	SIM_EV_SUSPEND,		/* value_ns: guest asleep; inject_ns: REALTIME gain on resume */
	SIM_EV_PHC_ERROR,	/* dev, err, value_ns: every access fails with err for a while */
	SIM_EV_PHC_REMOVE,	/* dev, value_ns, new_index: gone, then back as ptp<new_index> */
	SIM_EV_EXEC,		/* exec: the harness runs exec[exec] while virtual time stands */
	SIM_EV_PHC_FREEZE,	/* dev, value_ns: the PHC stands still for a while */
	SIM_EV_PHC_BACKSTEP,	/* dev, size_ns, value_ns: each read moves it back by size_ns */
	SIM_EV_PHC_DELAY_SPIKE, /* dev, size_ns, value_ns: each read's window gains size_ns */
	SIM_EV_VMCLOCK_MIGRATE, /* value_ns: REALTIME jumps by it; the marker changes */
	SIM_EV_VMCLOCK_RESTORE, /* value_ns: REALTIME jumps back by it; marker and generation */
	SIM_EV_VMCLOCK_MARKER,	/* the marker changes, nothing jumps */
	SIM_EV_VMCLOCK_TOUCH,	/* the page is rewritten with nothing changed */
	SIM_EV_VMCLOCK_FLAGS,	/* arg: the disruption flags (SIM_VMCLOCK_SOON/IMMINENT) */
	SIM_EV_VMCLOCK_STATUS,	/* arg: clock_status */
	SIM_EV_VMCLOCK_LEAP,	/* arg: leap_indicator */
	SIM_EV_VMCLOCK_TAI,	/* arg: tai_offset_sec, valid from now */
};

#define SIM_VMCLOCK_SOON 2	/* VMCLOCK_FLAG_DISRUPTION_SOON */
#define SIM_VMCLOCK_IMMINENT 4	/* VMCLOCK_FLAG_DISRUPTION_IMMINENT */

/* The vmclock device /dev/vmclock0 (tests/sim/README.md, "vmclock"). */
struct sim_vmclock_conf {
	bool present;
	bool notify;	     /* VMCLOCK_FLAG_NOTIFICATION_PRESENT: poll() wakes on a change */
	int status;	     /* clock_status at start */
	int64_t maxerror_ns; /* time_maxerror_nanosec, valid when >= 0 */
	int torn_every;	     /* every Nth read of seq_count sees the writer mid-update */
	char bad[16];	     /* "", or a malformed page: magic, size, version, unsettled */
};

struct sim_event {
	int64_t t_ns; /* since the start */
	enum sim_event_type type;
	int dev;
	int64_t value_ns;
	double value;
	int err;
	int new_index;
	bool has_inject;
	int64_t inject_ns;
	int exec;	 /* SIM_EV_EXEC: index of its command in sim_scenario.exec */
	int64_t size_ns; /* SIM_EV_PHC_BACKSTEP: the step back; SIM_EV_PHC_DELAY_SPIKE: delay */
	int arg; /* vmclock events */
	int line;
};

struct sim_leap {
	int64_t midnight_s; /* POSIX time of the 00:00:00 that ends the leap day */
	int sign;	    /* +1 inserted, -1 deleted */
};

struct sim_scenario {
	char name[64];
	uint64_t seed;
	int64_t duration_ns;
	int64_t start_s;	    /* UTC, POSIX seconds */
	int tai_utc_s;		    /* true TAI-UTC at start */
	int sys_tai_s;		    /* the guest kernel's TAI offset at start */
	int64_t mono_start_ns;	    /* CLOCK_MONOTONIC at start */
	int64_t sys_offset_ns;	    /* CLOCK_REALTIME - UTC at start */
	double sys_freq_ppm;	    /* system oscillator error, constant part */
	double sys_random_walk_ppb; /* ppb/sqrt(s) */
	double sys_sine_ppm;	    /* sinusoidal part: amplitude */
	double sys_sine_period_s;
	int nphc;
	struct sim_phc_conf phc[SIM_MAX_PHC];
	int nevents;
	struct sim_event ev[SIM_MAX_EVENTS]; /* sorted by time, file order kept */
	int nleaps;
	struct sim_leap leap[SIM_MAX_LEAPS]; /* sorted */
	struct sim_vmclock_conf vmclock;
	int nexec;
	char exec[SIM_MAX_EXEC][SIM_EXEC_LEN]; /* the commands of exec events, for /bin/sh -c */
};

/* Name of the scenario used when none is given. */
#define SIM_DEFAULT_SCENARIO "kvm-hour"

/*
 * Parse scenario text; origin names it in messages ("file:line: ..."). Returns 0, or -1
 * with the message in err.
 */
int sim_scenario_parse(struct sim_scenario *s, const char *text, const char *origin, char *err,
		       size_t errlen);

/* Read and parse a scenario file. Returns 0, or -1 with the message in err. */
int sim_scenario_load(struct sim_scenario *s, const char *path, char *err, size_t errlen);

/* Load a built-in scenario by name. Returns 0, or -1 with the message in err. */
int sim_scenario_builtin(struct sim_scenario *s, const char *name, char *err, size_t errlen);

/* The event type's name as written in scenarios and traces. */
const char *sim_event_name(enum sim_event_type type);

#endif
