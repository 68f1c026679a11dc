/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Recognise the "hours off after reboot" pattern: a system clock that starts a whole
 * number of quarter hours away from the PHC was most likely set from an RTC that keeps
 * local time. Pure: no I/O.
 */
#ifndef PHCSYNC_RTCHINT_H
#define PHCSYNC_RTCHINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * True when offset (system - PHC, ns) is 1 h to 14 h (plus tolerance) in size and within
 * 2 min of a multiple of 15 min, i.e. looks like a UTC offset (zones span -12..+14 h).
 * Then msg (may be NULL) gets a one-line explanation for the log, truncated to len.
 */
bool rtchint_check(int64_t offset_ns, char *msg, size_t len);

#endif
