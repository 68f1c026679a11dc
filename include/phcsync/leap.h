/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Leap second table: parse and validate leap-seconds.list or a TZif file with leap records
 * (right/UTC), then answer questions about TAI-UTC and leap seconds. Times are int64 UNIX
 * seconds (UTC, POSIX: no leap seconds counted). Pure except leap_load, which reads a file.
 */
#ifndef PHCSYNC_LEAP_H
#define PHCSYNC_LEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Larger files are refused: a real table is a few kilobytes. */
#define LEAP_FILE_MAX (1024 * 1024)
/* More entries are refused (28 so far since 1972). */
#define LEAP_ENTRIES_MAX 512

enum leap_format { LEAP_FORMAT_LIST, LEAP_FORMAT_TZIF };

struct leap_table;

/*
 * Parse len bytes (a leap-seconds.list or TZif file, told apart by content); name is used in
 * messages. Returns 0 and a new table in *table, or -EINVAL (bad content), -EFBIG (over
 * LEAP_FILE_MAX) or -ENOMEM with "NAME: what is wrong (line N)" in err; *table is unchanged.
 */
int leap_parse(const void *buf, size_t len, const char *name, struct leap_table **table, char *err,
	       size_t errlen);

/*
 * Read path and parse it as leap_parse does. Returns 0 and a new table in *table, or -errno
 * with "PATH: what is wrong" in err and *table unchanged (a failed reload keeps the old one).
 */
int leap_load(const char *path, struct leap_table **table, char *err, size_t errlen);

/* Free a table from leap_parse or leap_load; NULL is ignored. */
void leap_free(struct leap_table *t);

/* Which format the table came from. */
enum leap_format leap_format(const struct leap_table *t);

/* Number of entries; the first is always 1972-01-01 with TAI-UTC 10 s. */
size_t leap_count(const struct leap_table *t);

/*
 * Entry i: from UTC time *utc_s (00:00:00 of the first of a month) TAI-UTC is *tai_utc_s.
 * Returns 0, or -ERANGE when i >= leap_count(t).
 */
int leap_entry(const struct leap_table *t, size_t i, int64_t *utc_s, int *tai_utc_s);

/* TAI-UTC in seconds at UTC time utc_s. Before 1972 this is 10 s, only an approximation. */
int leap_tai_utc(const struct leap_table *t, int64_t utc_s);

/* The leap at the end of the UTC day containing utc_s: +1 (23:59:60 inserted), -1 (23:59:59
 * deleted) or 0. */
int leap_at_day_end(const struct leap_table *t, int64_t utc_s);

/*
 * The first leap after utc_s: *when_s is the UTC midnight that ends the leap day (from then
 * on the new TAI-UTC applies) and *dir is +1 or -1. Returns 0, or -ENOENT if none is known.
 */
int leap_next(const struct leap_table *t, int64_t utc_s, int64_t *when_s, int *dir);

/* When the table expires (UTC), or 0 if unknown (a TZif file without an expiry record). */
int64_t leap_expiry(const struct leap_table *t);

/* When the table was last updated (leap-seconds.list `#$`, UTC), or 0 if unknown. */
int64_t leap_updated(const struct leap_table *t);

/* Whether the table has expired at now_s; false when the expiry is unknown. */
bool leap_expired(const struct leap_table *t, int64_t now_s);

/* Whether the table expires within days days of now_s (or already has); false when unknown. */
bool leap_expires_within(const struct leap_table *t, int64_t now_s, int days);

#endif
