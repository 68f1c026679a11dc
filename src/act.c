/* SPDX-License-Identifier: BSD-2-Clause */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "phcsync/act.h"
#include "phcsync/log.h"
#include "phcsync/units.h"

void act_log_events(const struct action *a)
{
	for (int i = 0; i < a->nevents; i++)
		log_msg(a->events[i].priority, "%s", a->events[i].text);
}

static void log_step(const struct clk *c, const struct action *a)
{
	const char *not_done = c->observe_only ? "observe-only, not done: " : "";

	if (a->step_cause == STEP_LEAP)
		log_notice("leap second: %sstepped the clock by %+d s (leap_mode step)", not_done,
			   (int)(a->step_ns / NS_PER_S));
	else
		log_notice("%sstepped the clock by %+.9f s (offset was %+" PRId64 " ns)", not_done,
			   (double)a->step_ns / NS_PER_S, -a->step_ns);
}

/* One part's outcome: a refusal goes back to decide, which says it once. */
static bool done(struct decide *d, enum act_part part, int ret, int *first)
{
	struct action fb;

	if (ret == 0)
		return true;
	decide_refused(d, part, -ret, &fb);
	act_log_events(&fb);
	if (!*first)
		*first = ret;
	return false;
}

int act_apply(struct clk *c, struct decide *d, const struct action *a)
{
	int first = 0;

	act_log_events(a);
	if (a->step && done(d, ACT_STEP, clk_step_ns(c, a->step_ns), &first))
		log_step(c, a);
	if (a->set_tai && done(d, ACT_TAI, clk_set_tai(c, a->tai_s), &first))
		log_notice("TAI offset set to %d s", a->tai_s);
	if (a->set_freq && done(d, ACT_FREQ, clk_set_freq_ppb(c, a->freq_ppb), &first))
		log_debug("frequency %+.3f ppb", a->freq_ppb);
	if (a->set_leap)
		done(d, ACT_LEAP, clk_set_leap(c, a->leap_dir), &first);
	if (a->set_status)
		done(d, ACT_STATUS, clk_set_status(c, a->maxerror_ns, a->esterror_ns, a->synced),
		     &first);
	if (!first) {
		struct action fb;

		decide_applied(d, &fb);
		act_log_events(&fb);
	}
	return first;
}
