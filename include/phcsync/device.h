/* SPDX-License-Identifier: BSD-2-Clause */
/* Which PHC to use: resolve `auto` or a path, and find a clock again after it moved. */
#ifndef PHCSYNC_DEVICE_H
#define PHCSYNC_DEVICE_H

#include <stddef.h>

#include "phcsync/phc.h"

struct device_choice {
	char path[PHC_PATH_MAX];
	char clock_name[PHC_NAME_MAX];
};

/*
 * Resolve spec (a path, "auto", or "interface:NAME" for the PHC of a network interface,
 * found through ethtool netlink) against the clocks under sysfs_dir. want_name is the
 * clock_name of the device used before, or "": when the configured path has gone, a clock
 * of that name is used instead (a re-plugged PHC may come back as another ptpN), and with
 * "auto" it is preferred. Returns 0, or -errno with the reason in msg.
 */
int device_resolve(const char *sysfs_dir, const char *spec, const char *want_name,
		   struct device_choice *out, char *msg, size_t msglen);

#endif
