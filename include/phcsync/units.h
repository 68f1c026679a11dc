/* SPDX-License-Identifier: BSD-2-Clause */
/* Time units, spelled once: nanoseconds are int64_t everywhere inside the daemon. */
#ifndef PHCSYNC_UNITS_H
#define PHCSYNC_UNITS_H

#define NS_PER_US 1000LL
#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL

#endif
