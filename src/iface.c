/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A network interface's PHC index. The ethtool netlink family (kernel 5.7 and later) is the
 * interface the kernel keeps growing; the SIOCETHTOOL ioctl answers on older kernels. The
 * ioctl goes through an AF_UNIX socket: any socket reaches the device ioctls, and this keeps
 * the daemon within AF_UNIX and AF_NETLINK (RestrictAddressFamilies= in the unit).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/ethtool_netlink.h>
#include <linux/sockios.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "phcsync/iface.h"

struct query {
	int phc_index;
	int error; /* -errno from the kernel, or ours */
	bool done;
};

static int on_reply(struct nl_msg *msg, void *arg)
{
	struct query *q = arg;
	struct nlattr *tb[ETHTOOL_A_TSINFO_MAX + 1];

	/* Newer kernels add attributes past our header's maximum: they are skipped. */
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, ETHTOOL_A_TSINFO_MAX, NULL) < 0) {
		q->error = -EPROTO;
		return NL_STOP;
	}
	/* The kernel leaves the attribute out when the interface has no PHC. */
	q->phc_index = tb[ETHTOOL_A_TSINFO_PHC_INDEX]
			       ? (int)nla_get_u32(tb[ETHTOOL_A_TSINFO_PHC_INDEX])
			       : -1;
	return NL_OK;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct query *q = arg;

	(void)msg;
	q->done = true;
	return NL_STOP;
}

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct query *q = arg;

	(void)who;
	q->error = e->error < 0 ? e->error : -EPROTO;
	q->done = true;
	return NL_STOP;
}

/*
 * Ask the ethtool family. Returns 0 with q filled in (q->error holds the kernel's answer),
 * or -EPROTONOSUPPORT when this kernel has no usable ethtool netlink family.
 */
static int ask_netlink(const char *ifname, struct query *q)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_msg *msg = NULL;
	struct nl_cb *cb = NULL;
	struct nlattr *hdr;
	int family, ret = -EPROTONOSUPPORT;

	if (!sk)
		return -ENOMEM;
	if (genl_connect(sk) < 0)
		goto out;
	family = genl_ctrl_resolve(sk, "ethtool");
	if (family < 0)
		goto out;
	msg = nlmsg_alloc();
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!msg || !cb) {
		ret = -ENOMEM;
		goto out;
	}
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_REQUEST,
			 ETHTOOL_MSG_TSINFO_GET, ETHTOOL_GENL_VERSION) ||
	    !(hdr = nla_nest_start(msg, ETHTOOL_A_TSINFO_HEADER)) ||
	    nla_put_string(msg, ETHTOOL_A_HEADER_DEV_NAME, ifname) < 0) {
		ret = -ENOMEM;
		goto out;
	}
	nla_nest_end(msg, hdr);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_reply, q);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, q);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, q);
	if (nl_send_auto(sk, msg) < 0)
		goto out;
	while (!q->done)
		if (nl_recvmsgs(sk, cb) < 0 && !q->done) {
			q->error = -EIO;
			break;
		}
	/* A kernel with the family but without TSINFO_GET (5.6) cannot answer either. */
	ret = q->error == -EOPNOTSUPP ? -EPROTONOSUPPORT : 0;
out:
	nl_cb_put(cb);
	nlmsg_free(msg);
	nl_socket_free(sk);
	return ret;
}

static int ask_ioctl(const char *ifname, struct query *q)
{
	struct ethtool_ts_info info = {.cmd = ETHTOOL_GET_TS_INFO};
	struct ifreq ifr = {0};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	q->error = ioctl(fd, SIOCETHTOOL, &ifr) < 0 ? -errno : 0;
	q->phc_index = info.phc_index;
	close(fd);
	return 0;
}

static bool valid_name(const char *ifname, char *err, size_t errlen)
{
	size_t n = strlen(ifname);

	if (n > 0 && n < IF_NAMESIZE)
		return true;
	snprintf(err, errlen, "interface '%s': a name is 1 to %d bytes", ifname, IF_NAMESIZE - 1);
	return false;
}

/* The answer q as a return value and a message; how names the method in ioctl errors. */
static int answer(const char *ifname, const struct query *q, const char *how, int *index, char *err,
		  size_t errlen)
{
	*index = -1;
	if (q->error == -ENODEV) {
		snprintf(err, errlen, "interface %s: no such network interface", ifname);
		return -ENODEV;
	}
	if (q->error < 0) {
		snprintf(err, errlen, "interface %s: %s: %s", ifname, how, strerror(-q->error));
		return q->error;
	}
	if (q->phc_index < 0) {
		snprintf(err, errlen, "interface %s: has no PTP hardware clock", ifname);
		return -EOPNOTSUPP;
	}
	*index = q->phc_index;
	return 0;
}

/*
 * The PHC index of ifname: through ethtool netlink first when netlink_first, falling back
 * to the SIOCETHTOOL ioctl on kernels without the netlink family; else the ioctl alone.
 */
static int lookup(const char *ifname, bool netlink_first, int *index, char *err, size_t errlen)
{
	const char *how = "SIOCETHTOOL ETHTOOL_GET_TS_INFO";
	struct query q = {.phc_index = -1};
	int ret;

	*index = -1;
	if (!valid_name(ifname, err, errlen))
		return -EINVAL;
	if (netlink_first) {
		ret = ask_netlink(ifname, &q);
		if (ret == 0)
			return answer(ifname, &q, "ethtool netlink TSINFO_GET", index, err, errlen);
		if (ret != -EPROTONOSUPPORT) {
			snprintf(err, errlen, "interface %s: ethtool netlink: %s", ifname,
				 strerror(-ret));
			return ret;
		}
		q = (struct query){.phc_index = -1};
		how = "no ethtool netlink family in this kernel, and SIOCETHTOOL "
		      "ETHTOOL_GET_TS_INFO failed";
	}
	ret = ask_ioctl(ifname, &q);
	if (ret < 0 && !netlink_first) {
		snprintf(err, errlen, "interface %s: cannot open a socket: %s", ifname,
			 strerror(-ret));
		return ret;
	}
	if (ret < 0)
		q.error = ret;
	return answer(ifname, &q, how, index, err, errlen);
}

int iface_phc_index_ioctl(const char *ifname, int *index, char *err, size_t errlen)
{
	return lookup(ifname, false, index, err, errlen);
}

int iface_phc_index(const char *ifname, int *index, char *err, size_t errlen)
{
	return lookup(ifname, true, index, err, errlen);
}

int iface_list(struct iface_info *out, int max, char *err, size_t errlen)
{
	struct if_nameindex *all = if_nameindex();
	char why[256];
	int n = 0;

	if (!all) {
		int e = errno;

		snprintf(err, errlen, "cannot list network interfaces: %s", strerror(e));
		return -e;
	}
	for (struct if_nameindex *i = all; i->if_name && n < max; i++) {
		int ret = iface_phc_index(i->if_name, &out[n].phc_index, why, sizeof(why));

		/* An interface removed meanwhile is simply gone; no PHC is an answer. */
		if (ret == -ENODEV)
			continue;
		if (ret < 0 && ret != -EOPNOTSUPP) {
			snprintf(err, errlen, "%s", why);
			if_freenameindex(all);
			return ret;
		}
		snprintf(out[n].name, sizeof(out[n].name), "%s", i->if_name);
		n++;
	}
	if_freenameindex(all);
	return n;
}
