/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the daemon tells of itself: summaries, the closing report, the status snapshot.
 * Read-only views of decide's and measure's state, plus the statistics kept for them.
 */
#ifndef PHCSYNC_REPORT_H
#define PHCSYNC_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "phcsync/decide.h"
#include "phcsync/leapsec.h"
#include "phcsync/measure.h"
#include "phcsync/ring.h"
#include "phcsync/stats.h"
#include "phcsync/status.h"

/* Updates over which status reports the RMS and largest offset. */
#define REPORT_WINDOW 64

struct report {
	bool observe_only;
	double interval_s;
	int readings;
	int64_t start_mono_ns; /* < 0: no pass yet */
	struct stats win_offset;
	struct stats win_freq;
	struct stats win_delay;
	struct stats locked_offset;
	struct ring recent_ns; /* the last REPORT_WINDOW offsets */
	/* The residual frequency's fit: times and offsets of the last samples while locked
	 * (all with -x), cleared by a sample that is not, so that no step falls inside. */
	struct ring fit_t_ns;
	struct ring fit_offset_ns;
	int64_t last_sample_mono_ns; /* < 0: none yet */
};

void report_init(struct report *r, bool observe_only, double interval_s, int readings);

/* After decide took the sample of t_mono_ns: offsets count toward the lock's figures only
 * while locked. */
void report_sample(struct report *r, const struct decide_view *v, int64_t t_mono_ns,
		   int64_t offset_ns, int64_t delay_ns);

/* Log the summary of the window and start a new one. */
void report_summary(struct report *r, const struct decide_view *v, const struct measure_view *m);

/* Log the closing report. conf_device: the configured device, for "never found". */
void report_final(const struct report *r, const struct decide_view *v, const struct measure_view *m,
		  const char *conf_device, int64_t now_mono_ns);

/* Fill a status snapshot; now_utc_ns (CLOCK_REALTIME) for the leap table's figures and
 * the time of the last sample. */
void report_status(const struct report *r, const struct decide_view *v,
		   const struct measure_view *m, const struct leapsec *ls, int64_t now_mono_ns,
		   int64_t now_utc_ns, struct status *st);

#endif
