/* SPDX-License-Identifier: BSD-2-Clause */
/* The seccomp system call filter (`seccomp yes`): an allow-list for the running daemon. */
#ifndef PHCSYNC_SANDBOX_H
#define PHCSYNC_SANDBOX_H

#include <stddef.h>

/*
 * Allow only the system calls of the main loop (listed and explained in sandbox.c); any
 * other call prints its number on stderr and kills the process with SIGSYS. Call it last
 * before the loop, after privdrop. Returns 0, or -errno with the reason in err.
 */
int sandbox_install(char *err, size_t errlen);

#endif
