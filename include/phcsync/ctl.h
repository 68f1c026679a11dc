/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control socket server: an AF_UNIX stream socket served from the daemon's single-
 * threaded poll loop. One request per connection (see ctl_proto.h), then close. Nothing
 * here blocks or reads a clock: the caller passes CLOCK_MONOTONIC in.
 */
#ifndef PHCSYNC_CTL_H
#define PHCSYNC_CTL_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "phcsync/status.h"

/*
 * Clients held at once. A newcomer beyond them takes the slot of the oldest client that
 * has not sent a whole request (one with part of a line first), which is told "busy";
 * root or the daemon's user may take that of another user's client being answered (its
 * reply is cut short). Otherwise the newcomer is told "busy" and closed.
 */
#define CTL_MAX_CLIENTS 16
/* pollfd entries ctl_pollfds may add: the listening socket and every client. */
#define CTL_POLLFDS_MAX (1 + CTL_MAX_CLIENTS)
/* Time a client has from its connection to the end of its reply. */
#define CTL_CLIENT_TIMEOUT_NS 2000000000LL

/*
 * What the server asks of the daemon. Each returns 0 or -errno; msg (msglen bytes, empty on
 * entry) may carry a line for the client either way. step, reset and reload are only called
 * for a peer whose uid is 0 or the daemon's own.
 */
struct ctl_handlers {
	void *ctx;
	int (*get_status)(void *ctx, struct status *st);
	int (*step)(void *ctx, char *msg, size_t msglen);
	int (*reset)(void *ctx, char *msg, size_t msglen);
	int (*reload)(void *ctx, char *msg, size_t msglen);
};

struct ctl;

/*
 * Listen on path (its parent directory is created, mode 0755, if missing), socket mode 0660
 * with group (a name or number; "": the daemon's own). A stale socket is replaced; a live
 * one, or a file that is no socket, is refused. Returns 0, or -errno with a message in err.
 */
int ctl_open(struct ctl **out, const char *path, const char *group,
	     const struct ctl_handlers *handlers, char *err, size_t errlen);

/*
 * What ctl_open would find at path, changing nothing: its length, a directory the socket
 * can be made in (or one ctl_open can create), and no other kind of file in its place. A
 * live socket is not refused here (the running daemon's). 0, or -errno with err.
 */
int ctl_check(const char *path, char *err, size_t errlen);

/* Whether ctl_open would find group (a name or number): 0, or -errno with err. */
int ctl_check_group(const char *group, char *err, size_t errlen);

/* Add the server's fds to fds (up to max, CTL_POLLFDS_MAX is enough); returns the count. */
int ctl_pollfds(const struct ctl *c, struct pollfd *fds, int max);

/* Serve whatever fds (the caller's whole array, after poll) reports ready; drop late clients. */
void ctl_process(struct ctl *c, const struct pollfd *fds, int n, int64_t now_mono_ns);

/* CLOCK_MONOTONIC ns at which ctl_process must run to drop a late client; INT64_MAX: none. */
int64_t ctl_next_deadline_ns(const struct ctl *c);

/* Close every connection and remove the socket file (if it is still ours). NULL is a no-op. */
void ctl_close(struct ctl *c);

#endif
