/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Logging: stderr in the foreground, syslog otherwise. Lines on stderr carry CLOCK_MONOTONIC
 * seconds, or no time when that clock cannot be read.
 */
#ifndef PHCSYNC_LOG_H
#define PHCSYNC_LOG_H

#include <stdbool.h>
#include <syslog.h>

void log_init(const char *ident, bool to_stderr, bool debug);

void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
