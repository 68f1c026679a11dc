/*
 * The sync module's own state, shared by its files (sync.c: the update; sync_leap.c: leap
 * seconds; sync_report.c: summaries and status). Not for other modules: include/phcsync/
 * sync.h is the interface.
 */
#ifndef PHCSYNC_SYNC_PRIVATE_H
#define PHCSYNC_SYNC_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "phcsync/clk.h"
#include "phcsync/conf.h"
#include "phcsync/disrupt.h"
#include "phcsync/filter.h"
#include "phcsync/leapsec.h"
#include "phcsync/phc.h"
#include "phcsync/servo.h"
#include "phcsync/stats.h"
#include "phcsync/sync.h"

#define NS_PER_S 1000000000LL
#define SYSFS_PTP "/sys/class/ptp"
#define OPEN_BACKOFF_MIN_NS (1 * NS_PER_S)
/* A PHC that comes back (re-plugged, driver reloaded) is found within this. */
#define OPEN_BACKOFF_MAX_NS (8 * NS_PER_S)
#define WAIT_LOG_INTERVAL_NS (300 * NS_PER_S)
/* Good samples in a row that end holdover. */
#define HOLDOVER_EXIT_SAMPLES 3
/* A disruption below the step threshold is slewed with this proportional gain per poll, the
 * integrator frozen so that it does not wind up, until the offset is below SLEW_DONE_NS. */
#define SLEW_GAIN 1.0
#define SLEW_DONE_NS 10000
#define STABLE_KP_SCALE 0.3
#define STABLE_KI_SCALE 0.1
/* A suspect sample is confirmed by polls this soon, not a whole interval later. */
#define QUICK_POLL_NS (NS_PER_S / 10)
/* Just after a resume the offset is known to be wrong: no confirmation needed. */
#define RESUME_TRUST_NS (10 * NS_PER_S)
/* Frequencies averaged for holding (holdover, leap, disruption). */
#define FREQ_HISTORY 16
/* A suspend this recent is named as the likely cause of a disruption. */
#define SUSPEND_HINT_NS (120 * NS_PER_S)
#define DRIFT_WRITE_INTERVAL_NS (3600 * NS_PER_S)
/* Updates over which status reports the RMS and largest offset. */
#define STATUS_WINDOW 64

struct sync {
	struct conf conf;
	struct phc *phc; /* NULL while the device is missing or being reopened */
	struct clk *clk;
	struct filter *filter;
	struct servo *servo;
	struct disrupt *disrupt;
	char device[PHC_PATH_MAX];
	char clock_name[PHC_NAME_MAX];
	int readings;
	enum phc_method method;
	enum servo_state state;
	bool have_state;
	bool panicking;
	int last_read_errno;
	/* device lifecycle */
	bool ever_opened;
	int64_t next_open_mono_ns;
	int64_t open_backoff_ns;
	int64_t waiting_since_mono_ns;
	int64_t last_wait_log_mono_ns;
	long reopens;
	/* holdover */
	int consecutive_failures;
	bool holdover;
	int64_t holdover_since_mono_ns;
	int recovery_good;
	int64_t holdover_ns;
	int64_t recovered_mono_ns;
	/* disruptions */
	bool slewing;
	double slew_base_ppb;
	bool suspect;
	int64_t slew_start_mono_ns;
	int64_t suspend_ns;
	int64_t suspend_mono_ns;
	long disruptions;
	/* leap seconds */
	struct leapsec leap;
	enum conf_timescale timescale; /* resolved: UTC or TAI */
	int kernel_tai_s;	       /* last ADJ_TAI we made, -1: none */
	int armed;		       /* STA_INS (+1) / STA_DEL (-1) we set */
	int64_t leap_step_done_s;
	int64_t leap_ignored_s; /* the leap whose samples we said we ignore */
	int64_t smear_ns;
	double smear_rate_ppb;
	int64_t expiry_warned_day;
	/* driftfile */
	bool ever_locked;
	int64_t drift_written_mono_ns;
	double freq_ppb;
	int64_t last_offset_ns;
	int64_t last_delay_ns;
	int64_t last_error_ns;
	int64_t start_mono_ns;
	/* observe-only: the first sample, to report the drift */
	bool have_first;
	int64_t first_offset_ns;
	int64_t first_mono_ns;
	long updates;
	long read_failures;
	long rejected;
	long steps;
	int64_t last_step_ns;
	int64_t last_step_mono_ns;
	struct stats win_offset;
	struct stats win_freq;
	struct stats win_delay;
	struct stats locked_offset;
	double freq_history_ppb[FREQ_HISTORY]; /* frequencies set while locked */
	int freq_history_len;
	int freq_history_next;
	bool quick_poll;
	int64_t recent_offset_ns[STATUS_WINDOW];
	int recent_count;
	int recent_next;
};

/* sync.c */
bool sync_is_locked(enum servo_state st);
/* Set the servo's frequency on the clock (a leap smear's rate is added on the way). */
void sync_set_freq(struct sync *s, double freq_ppb);
/* The mean of the recent locked frequencies: what to hold when samples cannot be used. */
double sync_held_freq_ppb(const struct sync *s);

/* sync_leap.c */
/* Load the leap table conf names; -errno only when a named table cannot be used. */
int sync_leap_open(struct sync *s);
/*
 * Tell the kernel about leap seconds and keep the servo away from them. Returns true when
 * the sample must not be used (too close to a leap); applies the smear to *offset_ns.
 */
bool sync_leap_apply(struct sync *s, int64_t *offset_ns, int64_t ref_utc_ns, int64_t now_mono_ns);
/* CLOCK_REALTIME in whole seconds. */
int64_t sync_realtime_s(void);
/* "YYYY-MM-DD" of a UTC time. */
void sync_format_day(int64_t utc_s, char *buf, size_t len);

#endif
