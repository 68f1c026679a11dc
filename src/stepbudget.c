/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdio.h>
#include <string.h>

#include "phcsync/stepbudget.h"

void stepbudget_init(struct stepbudget *b, int64_t window_ns, int64_t limit_back_ns,
		     int limit_count)
{
	memset(b, 0, sizeof(*b));
	b->window_ns = window_ns;
	b->limit_back_ns = limit_back_ns;
	b->limit_count = limit_count;
}

bool stepbudget_allows(const struct stepbudget *b, int64_t t_ns, int64_t step_ns, char *why,
		       size_t whylen)
{
	int64_t back_ns = step_ns < 0 ? -step_ns : 0;
	int count = 0;

	for (int i = 0; i < b->n; i++) {
		if (t_ns - b->hist[i].t_ns >= b->window_ns)
			continue;
		count++;
		if (b->hist[i].step_ns < 0)
			back_ns += -b->hist[i].step_ns;
	}
	if (count == 0)
		return true;
	if (b->limit_count > 0 && count + 1 > b->limit_count) {
		snprintf(why, whylen, "%d steps within %.0f s (step_limit_count %d)", count + 1,
			 (double)b->window_ns / 1e9, b->limit_count);
		return false;
	}
	if (b->limit_back_ns > 0 && back_ns > b->limit_back_ns) {
		snprintf(why, whylen,
			 "%.3f s of backward steps within %.0f s (step_limit_back %.3f s)",
			 (double)back_ns / 1e9, (double)b->window_ns / 1e9,
			 (double)b->limit_back_ns / 1e9);
		return false;
	}
	return true;
}

void stepbudget_record(struct stepbudget *b, int64_t t_ns, int64_t step_ns)
{
	if (b->n == STEPBUDGET_HISTORY) {
		memmove(&b->hist[0], &b->hist[1], sizeof(b->hist[0]) * (STEPBUDGET_HISTORY - 1));
		b->n--;
	}
	b->hist[b->n].t_ns = t_ns;
	b->hist[b->n].step_ns = step_ns;
	b->n++;
}

void stepbudget_unrecord(struct stepbudget *b)
{
	if (b->n > 0)
		b->n--;
}

void stepbudget_clear(struct stepbudget *b)
{
	b->n = 0;
}
