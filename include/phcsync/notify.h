/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The systemd notification protocol (sd_notify): one datagram per message to the AF_UNIX
 * socket named by $NOTIFY_SOCKET (a path, or "@name" for an abstract socket). Without
 * $NOTIFY_SOCKET every call does nothing and returns 0, so callers need no test.
 */
#ifndef PHCSYNC_NOTIFY_H
#define PHCSYNC_NOTIFY_H

#include <stdint.h>

/* READY=1, with a STATUS= line when status is not NULL. Returns 0 or -errno. */
int notify_ready(const char *status);

/* A STATUS= line, printf-style, for state changes. Returns 0 or -errno. */
int notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* WATCHDOG=1: the main loop is alive. Returns 0 or -errno. */
int notify_watchdog(void);

/* STOPPING=1, on the way out. Returns 0 or -errno. */
int notify_stopping(void);

/*
 * The watchdog timeout in microseconds ($WATCHDOG_USEC, when $WATCHDOG_PID is unset or is
 * this process), or 0 when systemd expects no pings; ping at least every half of it.
 */
uint64_t notify_watchdog_usec(void);

#endif
