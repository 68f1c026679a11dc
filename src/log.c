/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Logging. In the foreground lines go to stderr prefixed with CLOCK_MONOTONIC seconds, as
 * phc2sys does: a reader can line them up with the poll interval, and under a clock
 * simulator the output is as deterministic as the simulation.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "phcsync/log.h"

static const char *log_ident = "phcsyncd";
static bool log_to_stderr = true;
static bool log_debug_on;

void log_init(const char *ident, bool to_stderr, bool debug)
{
	log_ident = ident;
	log_to_stderr = to_stderr;
	log_debug_on = debug;
	if (!to_stderr)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	if (priority == LOG_DEBUG && !log_debug_on)
		return;
	va_start(ap, fmt);
	if (log_to_stderr) {
		struct timespec now;

		/* No time rather than a made-up one (a simulator may refuse the clock). */
		if (clock_gettime(CLOCK_MONOTONIC, &now) == 0)
			fprintf(stderr, "%s[%lld.%03ld]: ", log_ident, (long long)now.tv_sec,
				now.tv_nsec / 1000000);
		else
			fprintf(stderr, "%s: ", log_ident);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else {
		vsyslog(priority, fmt, ap);
	}
	va_end(ap);
}
