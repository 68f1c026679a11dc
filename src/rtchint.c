/* SPDX-License-Identifier: BSD-2-Clause */
#include <inttypes.h>
#include <stdio.h>

#include "phcsync/rtchint.h"

#define MIN_NS (60 * 1000000000ULL)
#define QUARTER_NS (15 * MIN_NS)
/* Under an hour a multiple of 15 min is too easily chance (most zones are whole hours). */
#define LOW_NS (60 * MIN_NS)
/* The farthest zone is 14 h from UTC; days off is something else (a dead RTC battery). */
#define HIGH_NS (14 * 60 * MIN_NS)
/* Room for RTC drift and a read at boot to the second; wider would match chance offsets. */
#define TOLERANCE_NS (2 * MIN_NS)

bool rtchint_check(int64_t offset_ns, char *msg, size_t len)
{
	uint64_t a = offset_ns < 0 ? -(uint64_t)offset_ns : (uint64_t)offset_ns;
	uint64_t quarters;

	if (a < LOW_NS || a > HIGH_NS + TOLERANCE_NS)
		return false;
	quarters = (a + QUARTER_NS / 2) / QUARTER_NS;
	if (a + TOLERANCE_NS < quarters * QUARTER_NS || a > quarters * QUARTER_NS + TOLERANCE_NS)
		return false;
	if (msg && len) {
		uint64_t min = quarters * 15;

		snprintf(msg, len,
			 "the system clock is %" PRIu64 " h %02" PRIu64 " min %s the PHC: the RTC "
			 "probably keeps local time (Windows-style, or libvirt clock "
			 "offset='localtime'); check 'timedatectl' (RTC in local TZ: no) and the "
			 "VM's clock settings",
			 min / 60, min % 60, offset_ns > 0 ? "ahead of" : "behind");
	}
	return true;
}
