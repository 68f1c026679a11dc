/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Logging: stderr in the foreground, syslog otherwise. Lines on stderr carry CLOCK_MONOTONIC
 * seconds ("phcsyncd t=12.345s: "), or no time when that clock cannot be read; when stderr
 * is the journal's stream they carry only the priority ("<4>"), sd-daemon style.
 */
#ifndef PHCSYNC_LOG_H
#define PHCSYNC_LOG_H

#include <stdbool.h>
#include <syslog.h>
#include <sys/types.h>

/* Whether JOURNAL_STREAM ("DEV:INODE", as systemd sets it) names the file dev:ino. */
bool log_stream_is_journal(const char *journal_stream, dev_t dev, ino_t ino);

/* to_stderr: the foreground; stderr's lines then follow JOURNAL_STREAM (see above). */
void log_init(const char *ident, bool to_stderr, bool debug);

/* Before log_init (a configuration error at start): fmt on stderr as it is, after the
 * priority's "<N>" when stderr is the journal's stream. */
void log_early(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
