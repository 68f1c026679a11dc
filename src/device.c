/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "phcsync/device.h"
#include "phcsync/iface.h"

#define MAX_CLOCKS 64

static void choose(struct device_choice *out, const struct phc_info *info)
{
	snprintf(out->path, sizeof(out->path), "%s", info->path);
	snprintf(out->clock_name, sizeof(out->clock_name), "%s", info->clock_name);
}

/* The listed clock whose path is spec, as written. */
static int find_path(const struct phc_info *list, int n, const char *spec)
{
	for (int i = 0; i < n; i++)
		if (strcmp(spec, list[i].path) == 0)
			return i;
	return -1;
}

/* The listed clock that spec reaches through a link, such as udev's /dev/ptp_kvm. */
static int find_real_path(const struct phc_info *list, int n, const char *spec)
{
	char real_spec[PATH_MAX], real_dev[PATH_MAX];

	if (!realpath(spec, real_spec))
		return -1;
	for (int i = 0; i < n; i++)
		if (realpath(list[i].path, real_dev) && strcmp(real_spec, real_dev) == 0)
			return i;
	return -1;
}

static int find_name(const struct phc_info *list, int n, const char *name)
{
	for (int i = 0; i < n && name[0]; i++)
		if (strcmp(list[i].clock_name, name) == 0)
			return i;
	return -1;
}

int device_resolve(const char *sysfs_dir, const char *spec, const char *want_name,
		   struct device_choice *out, char *msg, size_t msglen)
{
	struct phc_info list[MAX_CLOCKS];
	int n = phc_scan(sysfs_dir, list, MAX_CLOCKS);
	int i, fd, err;

	msg[0] = '\0';
	if (n < 0) {
		snprintf(msg, msglen, "cannot list %s: %s", sysfs_dir, strerror(-n));
		return n;
	}
	if (strncmp(spec, "interface:", 10) == 0) {
		char err[256];
		int index, ret = iface_phc_index(spec + 10, &index, err, sizeof(err));

		if (ret < 0) {
			snprintf(msg, msglen, "%s", err);
			return ret;
		}
		snprintf(out->path, sizeof(out->path), "/dev/ptp%d", index);
		snprintf(out->clock_name, sizeof(out->clock_name), "PHC of %s", spec + 10);
		for (i = 0; i < n; i++)
			if (list[i].index == index)
				choose(out, &list[i]);
		return 0;
	}
	if (strcmp(spec, "auto") == 0) {
		i = find_name(list, n, want_name);
		if (i < 0)
			i = phc_pick_auto(list, n, msg, msglen);
		if (i < 0)
			return i;
		choose(out, &list[i]);
		return 0;
	}
	i = find_path(list, n, spec);
	if (i >= 0) {
		choose(out, &list[i]);
		return 0;
	}
	/*
	 * Any other path is opened to learn whether it is there, never looked up with access()
	 * or stat() first: open's errno is the device's own answer (ENXIO: a node without its
	 * driver), and a simulator that interposes open sees the call. O_NONBLOCK: a FIFO put
	 * there by mistake must not hang the daemon.
	 */
	fd = open(spec, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd >= 0) {
		close(fd);
		i = find_real_path(list, n, spec);
		if (i >= 0) {
			choose(out, &list[i]);
			return 0;
		}
		/* A PHC without sysfs (or not listed): the caller opens it. */
		snprintf(out->path, sizeof(out->path), "%s", spec);
		snprintf(out->clock_name, sizeof(out->clock_name), "%s",
			 want_name[0] ? want_name : "unknown clock");
		return 0;
	}
	err = errno;
	/* Gone: a re-plugged clock may be back under another ptpN. */
	if (err == ENOENT || err == ENOTDIR || err == ENODEV || err == ENXIO) {
		i = find_name(list, n, want_name);
		if (i >= 0) {
			choose(out, &list[i]);
			return 0;
		}
	}
	snprintf(msg, msglen, "%s: %s", spec, strerror(err));
	return -err;
}
