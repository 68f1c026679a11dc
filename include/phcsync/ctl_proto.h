/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control protocol, pure (no I/O): one request line in, one JSON object line out.
 * The wire format is documented in phcsyncctl(8).
 */
#ifndef PHCSYNC_CTL_PROTO_H
#define PHCSYNC_CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "phcsync/status.h"

/* Where the daemon listens unless configured otherwise (control_socket) and phcsyncctl asks. */
#define CTL_DEFAULT_SOCKET "/run/phcsyncd/phcsyncd.sock"
/* The "version" of every reply; a client refuses any other. */
#define CTL_PROTO_VERSION 1
/* Longest request line, its newline included. */
#define CTL_REQUEST_MAX 512
/* Room for any reply: status and metrics with worst-case device names fit with a margin. */
#define CTL_REPLY_MAX 32768

enum ctl_command {
	CTL_CMD_STATUS,
	CTL_CMD_METRICS,
	CTL_CMD_STEP,
	CTL_CMD_RESET,
	CTL_CMD_RELOAD,
};

/*
 * Parse a request line of len bytes, without its newline (a trailing CR is tolerated).
 * Returns 0 with *cmd set, or -EINVAL (empty, malformed, unexpected argument),
 * -EMSGSIZE (too long) or -EOPNOTSUPP (unknown command) with a message in err.
 */
int ctl_proto_parse(const char *line, size_t len, enum ctl_command *cmd, char *err, size_t errlen);

/* "status", "metrics", "step", "reset", "reload". */
const char *ctl_command_name(enum ctl_command cmd);

/* Whether cmd changes the daemon's state and so is reserved to root and the daemon's user. */
bool ctl_command_privileged(enum ctl_command cmd);

/*
 * The replies, each one JSON object and a newline, NUL-terminated in buf. They return the
 * length without the NUL, or -ENOSPC when buf is too small (CTL_REPLY_MAX always fits).
 */

/* {"ok":true,"version":1, every field of st}. */
int ctl_proto_reply_status(const struct status *st, char *buf, size_t len);

/* {"ok":true,"version":1,"metrics":"<the Prometheus text of ctl_proto_prometheus>"}. */
int ctl_proto_reply_metrics(const struct status *st, char *buf, size_t len);

/* {"ok":true,"version":1,"message":message}; no message field when message is empty. */
int ctl_proto_reply_ok(const char *message, char *buf, size_t len);

/* {"ok":false,"version":1,"error":error}. */
int ctl_proto_reply_error(const char *error, char *buf, size_t len);

/* st in the Prometheus text exposition format (0.0.4). Same return as the replies. */
int ctl_proto_prometheus(const struct status *st, char *buf, size_t len);

#endif
