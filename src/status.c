/* SPDX-License-Identifier: BSD-2-Clause */
#include "phcsync/status.h"

const char *status_state_name(enum status_state st)
{
	switch (st) {
	case STATUS_UNLOCKED:
		return "unlocked";
	case STATUS_LOCKED:
		return "locked";
	case STATUS_HOLDOVER:
		return "holdover";
	case STATUS_STEPPING:
		return "stepping";
	case STATUS_FAULT:
		return "fault";
	case STATUS_SLEWING:
		return "slewing";
	}
	return "unknown";
}
