/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The drift file: the clock's frequency and its uncertainty kept across restarts, one line
 * "FREQ_PPB UNCERTAINTY_PPB\n" in decimal (e.g. "-49987.123 2.500\n").
 */
#ifndef PHCSYNC_DRIFTFILE_H
#define PHCSYNC_DRIFTFILE_H

#include <stddef.h>

/* Values beyond these are corrupt or absurd for a clock that can be trusted. */
#define DRIFTFILE_FREQ_MAX_PPB 500000.0
#define DRIFTFILE_UNC_MAX_PPB 100000.0

/* Largest file driftfile_read() accepts. */
#define DRIFTFILE_SIZE_MAX 4096

/*
 * Format the line (3 decimals, locale-independent) into buf. Returns its length,
 * -EINVAL for values out of range, -ENOSPC when buf is too small.
 */
int driftfile_format(char *buf, size_t len, double freq_ppb, double unc_ppb);

/*
 * Parse len bytes (no NUL needed): two plain decimals separated by blanks and an optional
 * final newline. Returns 0, or -EINVAL for anything else or values out of range.
 */
int driftfile_parse(const char *text, size_t len, double *freq_ppb, double *unc_ppb);

/*
 * Read and parse path: 0, -errno from open/read (-ENOENT: none yet), -EMEDIUMTYPE when it
 * is not a regular file (opened without waiting: a FIFO cannot hang the caller) or -EINVAL.
 */
int driftfile_read(const char *path, double *freq_ppb, double *unc_ppb);

/* What a driftfile_read() error means, for a message. */
const char *driftfile_strerror(int ret);

/*
 * Replace path atomically: write path.tmp, fsync, rename over path, fsync the directory.
 * Returns 0 or -errno; on failure path.tmp is removed and path keeps its old content
 * (unless only the final directory fsync failed).
 */
int driftfile_write(const char *path, double freq_ppb, double unc_ppb);

#endif
