/* SPDX-License-Identifier: BSD-2-Clause */
/* One PHC reading: system time before and after, and the PHC time in between. */
#ifndef PHCSYNC_READING_H
#define PHCSYNC_READING_H

#include <stdint.h>

/*
 * Nanoseconds since the epoch of each clock. For a cross-timestamp
 * (PTP_SYS_OFFSET_PRECISE) sys_before_ns == sys_after_ns.
 * sys_* are CLOCK_REALTIME; phc_ns is the PHC's own timescale.
 */
struct phc_reading {
	int64_t sys_before_ns;
	int64_t phc_ns;
	int64_t sys_after_ns;
};

#endif
