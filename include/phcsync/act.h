/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Carry out decide's action on the system clock: the only caller of clk. Logs the action's
 * events and every step; a part the kernel refuses goes back to decide, which logs it once.
 */
#ifndef PHCSYNC_ACT_H
#define PHCSYNC_ACT_H

#include "phcsync/clk.h"
#include "phcsync/decide.h"

/* Apply a. Returns 0, or the -errno of the first refused part. */
int act_apply(struct clk *c, struct decide *d, const struct action *a);

/* Log an action's events only (nothing to apply). */
void act_log_events(const struct action *a);

#endif
