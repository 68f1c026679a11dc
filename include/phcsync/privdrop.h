/* SPDX-License-Identifier: BSD-2-Clause */
/* Least privilege: run as an unprivileged user that keeps only CAP_SYS_TIME. */
#ifndef PHCSYNC_PRIVDROP_H
#define PHCSYNC_PRIVDROP_H

#include <stddef.h>

/*
 * Become user (its uid and primary group, no supplementary groups) with CAP_SYS_TIME
 * permitted and effective and every other capability gone, also from the bounding set.
 * Call it as root, after opening the PHC, the control socket and the log. Returns 0, or
 * -errno with the reason in err: -ENOENT no such user, -EPERM not started as root; after
 * other errors the process may be half-way and must exit.
 */
int privdrop_to_user(const char *user, char *err, size_t errlen);

/* What privdrop_to_user checks before it changes anything: 0, -ENOENT or -EPERM (err). */
int privdrop_check_user(const char *user, char *err, size_t errlen);

/*
 * Whether the process holds, effective or permitted, any capability besides CAP_SYS_TIME
 * (it needs no other): 1 or 0, or -errno when its sets cannot be read.
 */
int privdrop_has_extra_caps(void);

#endif
