/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The measure stage: the PHC's life (find, open, wait, reopen by clock name), a burst of
 * readings with the best method, the filter, and the timescale (a TAI PHC converted to UTC
 * with the leap table). Each poll gives a sample for decide, or a failure.
 */
#ifndef PHCSYNC_MEASURE_H
#define PHCSYNC_MEASURE_H

#include <stdbool.h>
#include <stdint.h>

#include "phcsync/conf.h"
#include "phcsync/decide.h"
#include "phcsync/leapsec.h"
#include "phcsync/phc.h"

struct measure_params {
	char device[CONF_DEVICE_MAX]; /* path, "auto" or "interface:NAME" */
	int readout;		      /* phc_method or PHC_METHOD_AUTO */
	int readings;		      /* per poll, after the read budget */
	int burst_combine;	      /* a filter_combine */
	enum conf_timescale timescale;
	int utc_offset_s;  /* TAI-UTC for a TAI PHC without a table */
	int64_t offset_ns; /* added to the PHC's time */
	int reopen_after;  /* failed polls before a reopen is tried */
};

/* What status and reports show of the device. */
struct measure_view {
	char device[PHC_PATH_MAX];
	char clock_name[PHC_NAME_MAX];
	enum phc_method method; /* PHC_METHOD_COUNT: not known yet */
	bool ever_opened;
	long rejected;
	long reopens;
	int64_t last_delay_ns;
};

struct measure;

/*
 * Open the device (a missing one is waited for when wait is set: the reason is logged).
 * ls is the leap table, kept for TAI conversion. Returns 0 or -errno with a logged reason.
 */
int measure_create(struct measure **out, const struct measure_params *p, const struct leapsec *ls,
		   bool wait);
void measure_destroy(struct measure *m);

/*
 * One poll at now_mono_ns: 1 with *s filled, 0 when this poll gives nothing (a rejected
 * burst, an interrupted read), -errno when the PHC could not be read.
 */
int measure_take(struct measure *m, int64_t now_mono_ns, struct decide_sample *s);

void measure_set_leap(struct measure *m, const struct leapsec *ls);

/* A reload: take p's readings, offset_ns and reopen_after from the next poll on; the
 * device, its readout and timescale stay as they are. */
void measure_set_live(struct measure *m, const struct measure_params *p);

const struct measure_view *measure_view(const struct measure *m);

#endif
