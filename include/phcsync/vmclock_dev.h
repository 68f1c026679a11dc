/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vmclock device (/dev/vmclockN): open it, take consistent snapshots of its page with
 * read(), and give the main loop its fd where the device notifies changes.
 */
#ifndef PHCSYNC_VMCLOCK_DEV_H
#define PHCSYNC_VMCLOCK_DEV_H

#include <stdbool.h>
#include <stddef.h>

#include "phcsync/vmclock.h"

struct vmclock_dev;

/* How many /dev/vmclockN `auto` tries, from 0. */
#define VMCLOCK_DEV_AUTO_MAX 8

/*
 * Open what the config names: "none" gives *out NULL; "auto" the first /dev/vmclockN that
 * opens, or *out NULL when none does; a path that one device or an error. The first page
 * is read and checked: a malformed one is reported and the device not used (*out NULL).
 * Returns 0, or -errno for a configured path that cannot be opened (why says why).
 */
int vmclock_dev_open(struct vmclock_dev **out, const char *conf, char *why, size_t whylen);

/* A snapshot of the page now. Returns 0, or -errno with why (see vmclock_snapshot). */
int vmclock_dev_read(struct vmclock_dev *v, struct vmclock_snap *s, char *why, size_t whylen);

/* The fd to poll for POLLIN where the device notifies changes, else -1. */
int vmclock_dev_poll_fd(const struct vmclock_dev *v);

/* poll() reported an error on the fd: read the page at every poll from now on. */
void vmclock_dev_stop_notify(struct vmclock_dev *v);

/* The path the device was opened by. */
const char *vmclock_dev_path(const struct vmclock_dev *v);

void vmclock_dev_close(struct vmclock_dev *v);

#endif
