/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One synchronisation source: each update reads the PHC, filters the burst, runs the servo
 * and adjusts the clock, and keeps the figures that summaries and status report.
 */
#ifndef PHCSYNC_SYNC_H
#define PHCSYNC_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "phcsync/clk.h"
#include "phcsync/conf.h"
#include "phcsync/phc.h"
#include "phcsync/status.h"

struct sync;

/*
 * Find and open the configured PHC and set up the discipline of clk. A missing device is
 * waited for when conf->wait_for_device is set. Returns 0, or -errno with a logged reason.
 */
int sync_create(struct sync **out, const struct conf *conf, struct clk *clk);

/* One poll: read, filter, servo, adjust. now_mono_ns: CLOCK_MONOTONIC at the call. */
void sync_update(struct sync *s, int64_t now_mono_ns);

/* Log the summary of the updates since the last one and start a new window. */
void sync_log_summary(struct sync *s);

/* Log the closing report (state, offsets, frequency, steps) at exit. */
void sync_log_report(struct sync *s, int64_t now_mono_ns);

/*
 * A reload (SIGHUP, `reload`): conf is the configuration as it now runs (conf_apply_live).
 * Its live keys take effect from the next poll on; then the leap table is loaded again
 * (the old one stays on failure). msg says what happened to the table. Returns 0 or -errno.
 */
int sync_reload(struct sync *s, const struct conf *conf, char *msg, size_t msglen);

/* Step the clock to the PHC now (control socket `step`). Returns 0 or -errno; msg says
 * what happened. */
int sync_step_now(struct sync *s, int64_t now_mono_ns, char *msg, size_t msglen);

/* Restart the servo from UNLOCKED, keeping its frequency (control socket `reset`). */
void sync_reset(struct sync *s);

/* Fill a status snapshot (control socket, report). */
void sync_get_status(const struct sync *s, int64_t now_mono_ns, struct status *st);

/*
 * Whether the state (the discipline's mode, and whether there is a sample yet) differs from
 * what this call last reported, whatever changed it (an update, `step`, `reset`); if so, st
 * is filled. The first call always reports.
 */
bool sync_state_changed(struct sync *s, int64_t now_mono_ns, struct status *st);

/* After an update: 0, or how soon to poll again to confirm a suspect sample (the normal
 * cadence resumes after it). */
int64_t sync_take_quick_poll(struct sync *s);

/* The VM slept for slept_ns (CLOCK_BOOTTIME gained on CLOCK_MONOTONIC): a hint for the
 * disruption that usually follows. */
void sync_note_suspend(struct sync *s, int64_t slept_ns, int64_t now_mono_ns);

/* Write the driftfile and leave the kernel status consistent (STA_UNSYNC): nobody
 * disciplines the clock any more. */
void sync_shutdown(struct sync *s, int64_t now_mono_ns);

/* The vmclock device's fd for the loop's poll() (POLLIN on a change), or -1 when there is
 * none or it does not notify (the page is then read at every poll). */
int sync_vmclock_fd(const struct sync *s);

/* The vmclock fd was readable: read the page (which acknowledges it). Returns true when
 * it brought news a poll should act on now. */
bool sync_vmclock_changed(struct sync *s, int64_t now_mono_ns);

/* poll() gave revents without POLLIN on the vmclock fd: stop polling it (no busy loop). */
void sync_vmclock_poll_failed(struct sync *s, short revents);

void sync_destroy(struct sync *s);

#endif
