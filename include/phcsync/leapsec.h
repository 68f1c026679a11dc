/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Leap second policy of the daemon: which table, what the kernel should be told and when,
 * and how samples around a leap are treated. The decisions (leapsec_plan) are pure; loading
 * the table reads a file.
 */
#ifndef PHCSYNC_LEAPSEC_H
#define PHCSYNC_LEAPSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phcsync/conf.h"
#include "phcsync/leap.h"

/* Samples this close to a leap (either side of UTC midnight) are ignored. */
#define LEAPSEC_IGNORE_S 5
/* A table expiring within this many days is warned about. */
#define LEAPSEC_EXPIRY_WARN_DAYS 28

struct leapsec {
	struct leap_table *table; /* NULL: leap handling off */
	char path[CONF_PATH_MAX]; /* where the table came from */
	enum conf_leap_mode mode;
	int64_t smear_window_s;
};

/* What to do at one update. */
struct leap_plan {
	bool ignore_sample;    /* within LEAPSEC_IGNORE_S of a leap: hold the frequency */
	int arm;	       /* system mode: +1 STA_INS, -1 STA_DEL, 0 neither */
	int tai_utc_s;	       /* TAI-UTC now (for ADJ_TAI); -1 without a table */
	int64_t smear_ns;      /* smear mode: add to the reference (UTC) time */
	double smear_rate_ppb; /* smear mode: the frequency the smear asks of the clock */
	int step_dir;	       /* step mode: the leap just happened, step by -step_dir s once */
	int64_t leap_utc_s;    /* the leap midnight this plan refers to, 0: none near */
};

/*
 * Load the table conf names ("" tries the Debian list, then right/UTC; "none": off).
 * Returns 0 (also when off), or -errno with a message in err; ls is then off.
 */
int leapsec_open(struct leapsec *ls, const struct conf *conf, char *err, size_t errlen);

/* Load the table again; on failure the old one stays. Returns 0 or -errno with err. */
int leapsec_reload(struct leapsec *ls, const struct conf *conf, char *err, size_t errlen);

void leapsec_close(struct leapsec *ls);

/*
 * Decide for the system's UTC time utc_ns (CLOCK_REALTIME). step_done_utc_s is the leap
 * midnight a step was already taken for (step mode), 0 if none. Pure.
 */
void leapsec_plan(const struct leapsec *ls, int64_t utc_ns, int64_t step_done_utc_s,
		  struct leap_plan *plan);

/* TAI-UTC in s for a PHC that reads TAI time phc_tai_ns; -1 without a table. Pure. */
int leapsec_tai_utc_at_tai(const struct leapsec *ls, int64_t phc_tai_ns);

#endif
