/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The PHC of a network interface (`device interface:NAME`): asked of the kernel's ethtool
 * netlink family, or of the older SIOCETHTOOL ioctl when that family is missing.
 */
#ifndef PHCSYNC_IFACE_H
#define PHCSYNC_IFACE_H

#include <stddef.h>

#include <net/if.h>

struct iface_info {
	char name[IF_NAMESIZE];
	int phc_index; /* N of /dev/ptpN; -1: no PHC */
};

/*
 * The PHC index of interface ifname in *index. Returns 0, or with the reason in err:
 * -ENODEV no such interface, -EOPNOTSUPP it has no PHC (*index -1), -EINVAL a bad name,
 * or the -errno of the ioctl when the kernel has no ethtool netlink and the ioctl fails too.
 */
int iface_phc_index(const char *ifname, int *index, char *err, size_t errlen);

/* The same question asked of the SIOCETHTOOL ioctl alone (the fallback), with the same answers. */
int iface_phc_index_ioctl(const char *ifname, int *index, char *err, size_t errlen);

/*
 * Every interface of this network namespace with its PHC index, in if_nameindex order.
 * Returns how many were stored in out (at most max), or -errno with the reason in err.
 */
int iface_list(struct iface_info *out, int max, char *err, size_t errlen);

#endif
