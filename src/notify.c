/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sd_notify without libsystemd: the protocol is one datagram, and linking libsystemd for it
 * would pull a large library (and its own system calls) into a small sandboxed daemon.
 * A fresh socket per message, as sd_notify does: messages are rare (state changes and the
 * watchdog), and nothing stays open across a fork, a privilege drop or the seccomp filter.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "phcsync/notify.h"

#define MSG_MAX 512

static int send_msg(const char *msg)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len;
	socklen_t salen;
	ssize_t sent;
	int fd;

	if (!name || !name[0])
		return 0;
	len = strlen(name);
	if ((name[0] != '/' && name[0] != '@') || len < 2 || len > sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, name, len);
	/*
	 * An abstract name has no terminating NUL: its length is part of the name. A path needs
	 * none either: the kernel ends it at the given length.
	 */
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* The loop never waits on a reader: a full queue loses the message, not the clock. */
	sent = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&sa,
		      salen);
	if (sent < 0)
		sent = -errno;
	close(fd);
	return sent < 0 ? (int)sent : 0;
}

int notify_ready(const char *status)
{
	char msg[MSG_MAX];

	if (!status)
		return send_msg("READY=1");
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	return send_msg(msg);
}

int notify_status(const char *fmt, ...)
{
	char msg[MSG_MAX] = "STATUS=";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), fmt, ap);
	va_end(ap);
	return send_msg(msg);
}

int notify_watchdog(void)
{
	return send_msg("WATCHDOG=1");
}

int notify_stopping(void)
{
	return send_msg("STOPPING=1");
}

/* A decimal number in the whole string, or 0. */
static uint64_t parse_u64(const char *s)
{
	char *end;
	uintmax_t v;

	if (!s || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoumax(s, &end, 10);
	return errno || *end || v > UINT64_MAX ? 0 : (uint64_t)v;
}

uint64_t notify_watchdog_usec(void)
{
	const char *pid = getenv("WATCHDOG_PID");

	/* systemd names the process it watches: a child or a forked daemon is not it. */
	if (pid && parse_u64(pid) != (uint64_t)getpid())
		return 0;
	return parse_u64(getenv("WATCHDOG_USEC"));
}
