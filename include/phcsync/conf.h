/* SPDX-License-Identifier: BSD-2-Clause */
/* phcsyncd.conf: `key value` lines into a plain struct, with file:line errors. */
#ifndef PHCSYNC_CONF_H
#define PHCSYNC_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phcsync/servo.h"

enum conf_timescale { CONF_TIMESCALE_AUTO, CONF_TIMESCALE_UTC, CONF_TIMESCALE_TAI };
enum conf_leap_mode { CONF_LEAP_SYSTEM, CONF_LEAP_STEP, CONF_LEAP_SMEAR };

#define CONF_DEVICE_MAX 256
#define CONF_PATH_MAX 256
#define CONF_NAME_MAX 64

struct conf {
	char device[CONF_DEVICE_MAX]; /* a path, or "auto" */
	int readout;		      /* a phc_method, or PHC_METHOD_AUTO (-1) */
	int readings;		      /* readings per poll, 1..25 */
	int burst_combine;	      /* a filter_combine: how a poll's readings become one */
	int max_reads_per_second;     /* 0: no limit */
	double poll_interval_s;
	enum servo_type servo; /* the algorithm, for servo_create */
	double pi_kp;	       /* 0: derived from poll_interval */
	double pi_ki;
	double first_step_threshold_s; /* 0: never step at start */
	double step_threshold_s;       /* 0: never step after start */
	double max_offset_panic_s;     /* refuse to correct beyond this; 0: no limit */
	bool allow_large_step;	       /* correct beyond max_offset_panic anyway */
	int64_t offset_ns;	       /* added to the PHC's time */
	enum conf_timescale timescale;
	int utc_offset_s;	   /* TAI - UTC for a TAI PHC */
	bool rtcsync;		   /* let the kernel copy the time to the RTC when locked */
	double summary_interval_s; /* 0: no summaries */

	/* Leap seconds (issue 4). */
	char leapfile[CONF_PATH_MAX]; /* "": the Debian list, then right/UTC; "none": off */
	enum conf_leap_mode leap_mode;
	double leap_smear_window_s; /* smear: the window centred on the leap */

	/* Control socket (issue 5). */
	char control_socket[CONF_PATH_MAX]; /* a path, or "none" */
	char control_group[CONF_NAME_MAX];  /* "": the daemon's own group */

	/* Faults (issue 6). */
	bool wait_for_device;	       /* wait for a missing device instead of exiting */
	int holdover_after;	       /* failed polls before holdover */
	int disruption_samples;	       /* consecutive samples that confirm a disruption */
	char driftfile[CONF_PATH_MAX]; /* "": none */
	char vmclock[CONF_PATH_MAX];   /* a path, "auto" or "none" */

	/* Trust (issue 10). */
	double step_window_s;		 /* the step budget's sliding window */
	double step_limit_back_s;	 /* backward steps within it; 0: no limit */
	int step_limit_count;		 /* steps within it; 0: no limit */
	double reference_freq_limit_ppm; /* PHC rate against MONOTONIC_RAW; 0: off */

	/* Appliance (issue 7). */
	char user[CONF_NAME_MAX]; /* "": keep running as the starting user */
	bool seccomp;		  /* install the system call filter */
};

/* One key as its documentation shows it: a row of the table the parser works from. */
struct conf_key {
	const char *name;
	const char *def; /* the default as the file spells it; NULL: empty, which no value spells */
	const char *unit; /* of a number ("seconds", "ppm"); NULL for none */
	const char *doc;  /* words phcsyncd.conf(5) describes the key with */
};

/* The i-th key, or NULL past the last. */
const struct conf_key *conf_key_at(size_t i);

/* The word that sets value for a key of named values ("pi" for servo SERVO_PI); "unknown"
 * for another key or value. */
const char *conf_value_name(const char *key, int value);

/* Whether the i-th key takes effect on reload (live) rather than at the next start. */
bool conf_key_live(size_t i);

/*
 * The keys of one class (live, or needing a restart) whose values differ between running
 * and file: their count, and the first max of their names in names (in table order).
 */
size_t conf_diff(const struct conf *running, const struct conf *file, bool live, const char **names,
		 size_t max);

/* Copy every live key's value from file into running; the other keys stay as they are. */
void conf_apply_live(struct conf *running, const struct conf *file);

/* The defaults documented in phcsyncd.conf(5): every key set to its row's def. */
void conf_defaults(struct conf *c);

/*
 * Set one key as a file line `KEY VALUE` would, with the same checks (for the command
 * line). value is taken whole: no comment or white space is stripped. Returns 0, or -1
 * with c left unchanged and one of these in err (ORIGIN is origin, such as "-s"):
 *   ORIGIN: KEY: expected WHAT, got "VALUE"    (VALUE as conf_escape shows it)
 *   ORIGIN: KEY: missing value, expected WHAT    (value is "")
 *   ORIGIN: KEY: unknown key
 * WHAT is the text the file's messages use for that key.
 */
int conf_set(struct conf *c, const char *key, const char *value, const char *origin, char *err,
	     size_t errlen);

/*
 * Parse text (len bytes, need not be NUL-terminated) on top of c. name is used in messages.
 * Returns 0, or -1 with "NAME:LINE: KEY: what was expected" in err and c left unchanged.
 */
int conf_parse_buffer(struct conf *c, const char *name, const char *text, size_t len, char *err,
		      size_t errlen);

/*
 * Read and parse a file, named by path in messages. Returns 0, or -1 with a message in err
 * ("PATH: cannot read: reason" for I/O errors and for anything but a regular file, which is
 * opened without waiting, so a FIFO cannot hang the caller) and c left unchanged; errno then
 * says why (EINVAL for a bad line or a file that is not regular), so that a caller can take
 * a missing file as all defaults.
 */
int conf_parse_file(struct conf *c, const char *path, char *err, size_t errlen);

/* Room for a value or name as conf_escape shows it (longer ones are cut). */
#define CONF_ECHO_MAX 1024

/*
 * Write s (len bytes) to out (outlen bytes, NUL-terminated) so that it is safe to show on a
 * terminal or in the journal: bytes outside printable ASCII as \xHH, \ and " with a \.
 * Returns the length written; what does not fit is cut at a whole escape.
 */
size_t conf_escape(const char *s, size_t len, char *out, size_t outlen);

#endif
