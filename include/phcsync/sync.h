/*
 * One synchronisation source: each update reads the PHC, filters the burst, runs the servo
 * and adjusts the clock, and keeps the figures that summaries and status report.
 */
#ifndef PHCSYNC_SYNC_H
#define PHCSYNC_SYNC_H

#include <stdint.h>

#include "phcsync/clk.h"
#include "phcsync/conf.h"
#include "phcsync/phc.h"
#include "phcsync/status.h"

struct sync;

/*
 * Take over an open PHC (closed by sync_destroy) and the clock. device and clock_name are
 * for messages. Returns NULL with a logged reason on failure.
 */
struct sync *sync_create(const struct conf *conf, struct phc *phc, struct clk *clk,
			 const char *device, const char *clock_name);

/* One poll: read, filter, servo, adjust. now_mono_ns: CLOCK_MONOTONIC at the call. */
void sync_update(struct sync *s, int64_t now_mono_ns);

/* Log the summary of the updates since the last one and start a new window. */
void sync_log_summary(struct sync *s);

/* Log the closing report (state, offsets, frequency, steps) at exit. */
void sync_log_report(struct sync *s, int64_t now_mono_ns);

/* Fill a status snapshot (control socket, report). */
void sync_get_status(const struct sync *s, int64_t now_mono_ns, struct status *st);

/* Leave the kernel status consistent: nobody disciplines the clock any more. */
void sync_shutdown(struct sync *s);

void sync_destroy(struct sync *s);

#endif
