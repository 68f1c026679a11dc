/* SPDX-License-Identifier: BSD-2-Clause */
#include "phcsync/status.h"

const char *status_state_name(enum status_state st)
{
	static const char *const names[] = {
		[STATUS_UNLOCKED] = "unlocked", [STATUS_STEPPING] = "stepping",
		[STATUS_SLEWING] = "slewing",	[STATUS_LOCKED] = "locked",
		[STATUS_HOLDOVER] = "holdover", [STATUS_FAULT] = "fault",
	};

	return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "unknown";
}
