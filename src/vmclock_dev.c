/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * read() rather than mmap: the kernel copies the page under its own seq_count loop and a
 * read also acknowledges a notification, so one path serves both; the snapshot's own checks
 * (vmclock_snapshot) still guard against a page copied mid-update.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "phcsync/conf.h"
#include "phcsync/vmclock_dev.h"

struct vmclock_dev {
	int fd;
	bool notify;
	char path[CONF_PATH_MAX];
};

static int read_at(int fd, off_t off, uint8_t *buf, size_t len)
{
	size_t got = 0;

	if (lseek(fd, off, SEEK_SET) < 0)
		return -errno;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the region is shorter than the structure */
		got += (size_t)n;
	}
	return 0;
}

static int seq_cb(void *ctx, uint32_t *seq)
{
	struct vmclock_dev *v = ctx;
	uint8_t b[4];
	int ret = read_at(v->fd, VMCLOCK_OFF_SEQ_COUNT, b, sizeof(b));

	if (ret == 0)
		*seq = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
		       (uint32_t)b[3] << 24;
	return ret;
}

static int copy_cb(void *ctx, uint8_t *buf, size_t len)
{
	struct vmclock_dev *v = ctx;

	return read_at(v->fd, 0, buf, len);
}

int vmclock_dev_read(struct vmclock_dev *v, struct vmclock_snap *s, char *why, size_t whylen)
{
	struct vmclock_reader r = {seq_cb, copy_cb, v};

	return vmclock_snapshot(&r, VMCLOCK_SNAPSHOT_TRIES, s, why, whylen);
}

/* Open and check one path: 0, -errno when it does not open, -EINVAL when its page is bad. */
static int try_open(struct vmclock_dev **out, const char *path, char *why, size_t whylen)
{
	struct vmclock_dev *v;
	struct vmclock_snap s;
	int ret;

	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	snprintf(v->path, sizeof(v->path), "%s", path);
	v->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (v->fd < 0) {
		ret = -errno;
		snprintf(why, whylen, "%s: cannot open: %s", path, strerror(-ret));
		free(v);
		return ret;
	}
	ret = vmclock_dev_read(v, &s, why, whylen);
	if (ret < 0) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", why);
		snprintf(why, whylen, "%s: page not used: %s", path, msg);
		vmclock_dev_close(v);
		return ret;
	}
	v->notify = s.flags & VMCLOCK_FLAG_NOTIFICATION_PRESENT;
	*out = v;
	return 0;
}

int vmclock_dev_open(struct vmclock_dev **out, const char *conf, char *why, size_t whylen)
{
	char path[32];
	int ret;

	*out = NULL;
	why[0] = '\0';
	if (!strcmp(conf, "none"))
		return 0;
	if (strcmp(conf, "auto")) {
		ret = try_open(out, conf, why, whylen);
		/* A page that is there but malformed is reported, not fatal. */
		return ret == -EINVAL || ret == -EAGAIN ? 0 : ret;
	}
	for (int i = 0; i < VMCLOCK_DEV_AUTO_MAX; i++) {
		snprintf(path, sizeof(path), "/dev/vmclock%d", i);
		ret = try_open(out, path, why, whylen);
		if (ret == 0)
			return 0;
		/* A malformed page is worth reporting; a missing device is the common case. */
		if (ret == -EINVAL || ret == -EAGAIN)
			return 0;
	}
	why[0] = '\0';
	return 0;
}

int vmclock_dev_poll_fd(const struct vmclock_dev *v)
{
	return v && v->notify ? v->fd : -1;
}

void vmclock_dev_stop_notify(struct vmclock_dev *v)
{
	v->notify = false;
}

const char *vmclock_dev_path(const struct vmclock_dev *v)
{
	return v->path;
}

void vmclock_dev_close(struct vmclock_dev *v)
{
	if (!v)
		return;
	close(v->fd);
	free(v);
}
