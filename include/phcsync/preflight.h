/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * --check-config: what start-up would load and find, checked without starting. Nothing
 * here reads or adjusts a clock, reads the PHC, creates a file or changes the process.
 */
#ifndef PHCSYNC_PREFLIGHT_H
#define PHCSYNC_PREFLIGHT_H

#include <stdio.h>

#include "phcsync/conf.h"

/*
 * Check conf (parsed from file; the device came from device_origin, the file or "-s") as
 * start-up would use it, against the clocks under sysfs_dir:
 * - control_socket: control_group resolves, the socket's directory exists or can be made,
 *   nothing but a socket is in its place;
 * - leapfile: the table loads and verifies (hash, expiry, sanity), the default ones too;
 * - driftfile: readable and sane, or absent (a missing directory is only a note: systemd
 *   may make it at start);
 * - device: resolved as start-up resolves it (auto and interface:NAME through sysfs and
 *   netlink; a path is opened O_RDONLY|O_NONBLOCK and closed, never read, no ioctl); a
 *   missing one is only a note with wait_for_device yes;
 * - user: exists, and the process may switch to it (root).
 * Writes one line per problem to err ("FILE: KEY: what is wrong") and notes to out, each
 * with any byte outside printable ASCII shown as \xHH. Returns the number of problems.
 */
int preflight_check(const struct conf *conf, const char *file, const char *device_origin,
		    const char *sysfs_dir, FILE *out, FILE *err);

#endif
