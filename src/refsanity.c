/* SPDX-License-Identifier: BSD-2-Clause */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "phcsync/refsanity.h"

void refsanity_init(struct refsanity *r, double limit_ppb)
{
	memset(r, 0, sizeof(*r));
	r->limit_ppb = limit_ppb;
}

void refsanity_forget(struct refsanity *r)
{
	r->have_prev = false;
}

/* Is the pair sane? Fills why when not. */
static bool judge(struct refsanity *r, int64_t dphc_ns, int64_t dlocal_ns, double local_rate_ppb,
		  char *why, size_t whylen)
{
	r->rate_ppb =
		((double)dphc_ns - (double)dlocal_ns) / (double)dlocal_ns * 1e9 + local_rate_ppb;
	if (dphc_ns < 0) {
		snprintf(why, whylen, "the PHC ran backwards by %.9f s in %.3f s",
			 (double)-dphc_ns / 1e9, (double)dlocal_ns / 1e9);
		return false;
	}
	if (dphc_ns == 0) {
		snprintf(why, whylen, "the PHC did not advance in %.3f s", (double)dlocal_ns / 1e9);
		return false;
	}
	if (r->limit_ppb > 0 && fabs(r->rate_ppb) > r->limit_ppb) {
		snprintf(why, whylen,
			 "the PHC runs %+.0f ppm against CLOCK_MONOTONIC_RAW "
			 "(reference_freq_limit %.0f ppm)",
			 r->rate_ppb / 1e3, r->limit_ppb / 1e3);
		return false;
	}
	return true;
}

static enum refsanity_verdict bad_pair(struct refsanity *r)
{
	r->good_run = 0;
	if (++r->bad_run >= REFSANITY_RUN)
		r->fault = true;
	return r->fault ? REFSANITY_FAULT : REFSANITY_SUSPECT;
}

void refsanity_mark_odd(struct refsanity *r, const char *why)
{
	r->odd_next = true;
	snprintf(r->odd_why, sizeof(r->odd_why), "%s", why);
}

enum refsanity_verdict refsanity_feed(struct refsanity *r, int64_t phc_ns, int64_t local_ns,
				      double local_rate_ppb, char *why, size_t whylen)
{
	int64_t dphc_ns = phc_ns - r->prev_phc_ns;
	int64_t dlocal_ns = local_ns - r->prev_local_ns;
	bool had_prev = r->have_prev;
	bool odd = r->odd_next;

	r->odd_next = false;
	if (whylen)
		why[0] = '\0';
	if (odd) {
		r->have_prev = true;
		r->prev_phc_ns = phc_ns;
		r->prev_local_ns = local_ns;
		snprintf(why, whylen, "%s", r->odd_why);
		return bad_pair(r);
	}
	r->have_prev = true;
	r->prev_phc_ns = phc_ns;
	r->prev_local_ns = local_ns;
	if (!had_prev || dlocal_ns <= 0)
		return r->fault ? REFSANITY_FAULT : REFSANITY_OK;
	if (!judge(r, dphc_ns, dlocal_ns, local_rate_ppb, why, whylen))
		return bad_pair(r);
	r->bad_run = 0;
	r->good_run++;
	if (!r->fault)
		return REFSANITY_OK;
	if (r->good_run < REFSANITY_RUN)
		return REFSANITY_FAULT;
	r->fault = false;
	return REFSANITY_RECOVERED;
}
