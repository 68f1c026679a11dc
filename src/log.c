/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Logging. In the foreground lines go to stderr prefixed with CLOCK_MONOTONIC seconds, as
 * phc2sys does: a reader can line them up with the poll interval, and under a clock
 * simulator the output is as deterministic as the simulation. The seconds are written
 * "t=12.345s", as a bare number in brackets reads as a PID.
 *
 * When stderr is the journal's stream (systemd sets JOURNAL_STREAM to its device and
 * inode), each line starts with its priority as "<N>" instead: the journal keeps the level
 * and adds its own time and name, so neither is repeated.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "phcsync/log.h"

static const char *log_ident = "phcsyncd";
static bool log_to_stderr = true;
static bool log_journal;
static bool log_debug_on;

bool log_stream_is_journal(const char *journal_stream, dev_t dev, ino_t ino)
{
	unsigned long long want_dev, want_ino;
	int end = 0;

	if (!journal_stream ||
	    sscanf(journal_stream, "%llu:%llu%n", &want_dev, &want_ino, &end) != 2 ||
	    journal_stream[end] != '\0')
		return false;
	return want_dev == (unsigned long long)dev && want_ino == (unsigned long long)ino;
}

static bool stderr_is_journal(void)
{
	struct stat st;

	return fstat(STDERR_FILENO, &st) == 0 &&
	       log_stream_is_journal(getenv("JOURNAL_STREAM"), st.st_dev, st.st_ino);
}

void log_early(int priority, const char *fmt, ...)
{
	va_list ap;

	if (stderr_is_journal())
		fprintf(stderr, "<%d>", LOG_PRI(priority));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void log_init(const char *ident, bool to_stderr, bool debug)
{
	log_ident = ident;
	log_to_stderr = to_stderr;
	log_debug_on = debug;
	/* Only stderr itself: a child of a journald-logged shell inherits the variable. */
	log_journal = to_stderr && stderr_is_journal();
	if (!to_stderr)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	if (priority == LOG_DEBUG && !log_debug_on)
		return;
	va_start(ap, fmt);
	if (log_journal) {
		fprintf(stderr, "<%d>", LOG_PRI(priority));
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else if (log_to_stderr) {
		struct timespec now;

		/* No time rather than a made-up one (a simulator may refuse the clock). */
		if (clock_gettime(CLOCK_MONOTONIC, &now) == 0)
			fprintf(stderr, "%s t=%lld.%03lds: ", log_ident, (long long)now.tv_sec,
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
