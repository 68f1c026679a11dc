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

/* A refusal goes back to decide, which says it once and changes the mode. */
static int refused(struct decide *d, enum act_part part, int ret, int first)
{
	struct action fb;

	decide_refused(d, part, -ret, &fb);
	act_log_events(&fb);
	return first ? first : ret;
}

int act_apply(struct clk *c, struct decide *d, const struct action *a)
{
	int first = 0;
	int ret;

	act_log_events(a);
	if (a->step) {
		ret = clk_step_ns(c, a->step_ns);
		if (ret < 0)
			first = refused(d, ACT_STEP, ret, first);
		else
			log_step(c, a);
	}
	if (a->set_tai) {
		ret = clk_set_tai(c, a->tai_s);
		if (ret < 0)
			first = refused(d, ACT_TAI, ret, first);
		else
			log_notice("TAI offset set to %d s", a->tai_s);
	}
	if (a->set_freq) {
		ret = clk_set_freq_ppb(c, a->freq_ppb);
		if (ret < 0)
			first = refused(d, ACT_FREQ, ret, first);
		else
			log_debug("frequency %+.3f ppb", a->freq_ppb);
	}
	if (a->set_leap) {
		ret = clk_set_leap(c, a->leap_dir);
		if (ret < 0)
			first = refused(d, ACT_LEAP, ret, first);
	}
	if (a->set_status) {
		ret = clk_set_status(c, a->maxerror_ns, a->esterror_ns, a->synced);
		if (ret < 0)
			first = refused(d, ACT_STATUS, ret, first);
	}
	if (!first) {
		struct action fb;

		decide_applied(d, &fb);
		act_log_events(&fb);
	}
	return first;
}
