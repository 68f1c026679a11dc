/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The PTP hardware clock: find it, open it read-only, learn its capabilities and take
 * readings with the best method it supports. All syscalls go through struct phc_sys so
 * that unit tests can fake the device.
 */
#ifndef PHCSYNC_PHC_H
#define PHCSYNC_PHC_H

#include <stddef.h>
#include <time.h>

#include <linux/ptp_clock.h>

#include "phcsync/reading.h"

/* Readout methods, best first; this is also the probe order. */
enum phc_method {
	PHC_METHOD_PRECISE,  /* PTP_SYS_OFFSET_PRECISE: cross-timestamp */
	PHC_METHOD_EXTENDED, /* PTP_SYS_OFFSET_EXTENDED */
	PHC_METHOD_BASIC,    /* PTP_SYS_OFFSET */
	PHC_METHOD_GETTIME,  /* clock_gettime on the PHC between two CLOCK_REALTIME reads */
	PHC_METHOD_COUNT,
};
#define PHC_METHOD_AUTO (-1)

/* "precise", "extended", "basic", "gettime"; "auto" for PHC_METHOD_AUTO. */
const char *phc_method_name(int method);

/* The syscalls the module uses. */
struct phc_sys {
	int (*open)(const char *path, int flags);
	int (*close)(int fd);
	int (*ioctl)(int fd, unsigned long request, void *arg);
	int (*clock_gettime)(clockid_t id, struct timespec *ts);
};

/* The real ones. */
extern const struct phc_sys phc_sys_default;

#define PHC_NAME_MAX 64
#define PHC_PATH_MAX 256

struct phc_info {
	int index;		       /* N of ptpN */
	char path[PHC_PATH_MAX];       /* /dev/ptpN */
	char clock_name[PHC_NAME_MAX]; /* from sysfs, trailing newline removed */
};

/*
 * List the clocks under sysfs_dir (normally /sys/class/ptp), sorted by index, at most max.
 * Returns the number found (0 when the directory is missing) or -errno.
 */
int phc_scan(const char *sysfs_dir, struct phc_info *out, int max);

/*
 * Rank of a clock_name among hypervisor clocks: 0 is the first choice; -1 when it is not a
 * hypervisor clock. The order is documented in phcsyncd.conf(5).
 */
int phc_hypervisor_rank(const char *clock_name);

/*
 * Choose a hypervisor clock among n scanned ones. Returns its position in list, or
 * -ENOENT (none) / -EEXIST (several of the best rank); msg then says which were seen.
 */
int phc_pick_auto(const struct phc_info *list, int n, char *msg, size_t msglen);

struct phc;

/*
 * Open path read-only and learn its capabilities. method is a phc_method to force one, or
 * PHC_METHOD_AUTO to probe. Returns 0 or -errno (-EINTR: signals kept interrupting it).
 */
int phc_open(struct phc **out, const char *path, int method, const struct phc_sys *sys);

/* Capabilities from PTP_CLOCK_GETCAPS. */
const struct ptp_clock_caps *phc_caps(const struct phc *p);

/* The method the next phc_read will use. */
enum phc_method phc_current_method(const struct phc *p);

/* The dynamic clockid of the open PHC. */
clockid_t phc_clockid(const struct phc *p);

/*
 * Take up to n (at most PTP_MAX_SAMPLES) readings with the current method. A method that
 * the device does not support is dropped for the next one at once; one that keeps failing
 * is left for the next after a few failures and tried again later. A call that signals
 * interrupt is made again a few times; then -EINTR is returned, which is no failure of the
 * method (the caller may count the poll as skipped). Returns the number of readings or
 * -errno of the last failure.
 */
int phc_read(struct phc *p, int n, struct phc_reading *out);

/* Bit (1 << method) set for each method that works now (for --list-devices). */
unsigned phc_probe_methods(struct phc *p);

void phc_close(struct phc *p);

#endif
