/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control socket server. It lives in the daemon's poll loop, so every socket is non-
 * blocking and every buffer bounded: a client gets at most CTL_REQUEST_MAX bytes of request
 * and CTL_CLIENT_TIMEOUT_NS to be served, and at most CTL_MAX_CLIENTS are held at once.
 *
 * When every slot is taken, what the held clients have sent is read first (a whole request
 * is served there and then); if that frees no slot, a newcomer takes the slot of the
 * oldest client that has still not sent a whole request, a partial line before a silent
 * one, so that clients holding slots without asking (slowloris) cannot keep anyone out.
 * Root and the daemon's user may also take the slot of another user's client whose reply
 * is not being read. Otherwise, when every held client is being answered, a newcomer is
 * told "busy" and closed rather than left in the backlog, so that a client never waits
 * without knowing why.
 */
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "phcsync/ctl.h"
#include "phcsync/ctl_proto.h"
#include "phcsync/log.h"

/* Connections taken per ctl_process: a flood of connects must not keep the loop here. */
#define ACCEPT_BATCH 32
/* Room for a reload's message: a path and the keys it changed. */
#define MSG_MAX 1024

enum client_state { CLIENT_FREE, CLIENT_READ, CLIENT_WRITE };

struct client {
	int fd;
	enum client_state state;
	int64_t deadline_ns;
	uid_t uid;
	pid_t pid;
	bool privileged;
	uint64_t seq; /* accept order: the oldest is evicted first */
	size_t in_len;
	size_t out_len;
	size_t out_sent;
	char in[CTL_REQUEST_MAX];
	char out[CTL_REPLY_MAX];
};

struct ctl {
	int listen_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	/* The socket file we bound, so that ctl_close never removes a successor's. */
	dev_t dev;
	ino_t ino;
	struct ctl_handlers h;
	uint64_t accepted;
	struct client clients[CTL_MAX_CLIENTS];
};

static int resolve_group(const char *group, gid_t *gid, char *err, size_t errlen)
{
	struct group grp, *res = NULL;
	char buf[4096];
	char *end;
	unsigned long num;
	int ret;

	ret = getgrnam_r(group, &grp, buf, sizeof(buf), &res);
	if (ret == 0 && res) {
		*gid = res->gr_gid;
		return 0;
	}
	errno = 0;
	num = strtoul(group, &end, 10);
	if (*group >= '0' && *group <= '9' && !*end && !errno && num < (gid_t)-1) {
		*gid = (gid_t)num;
		return 0;
	}
	snprintf(err, errlen, "control socket group \"%s\": %s", group,
		 ret ? strerror(ret) : "no such group");
	return ret ? -ret : -ENOENT;
}

static int make_parent_dir(const char *path, char *err, size_t errlen)
{
	char copy[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *dir;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (mkdir(dir, 0755) == 0) {
		/* The umask may have narrowed it; clients need to reach the socket. */
		if (chmod(dir, 0755) < 0) {
			snprintf(err, errlen, "%s: cannot set mode 0755: %s", dir, strerror(errno));
			return -errno;
		}
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	snprintf(err, errlen, "%s: cannot create the control socket directory: %s", dir,
		 strerror(errno));
	return -errno;
}

/*
 * A socket file left by a crashed daemon refuses connections and is removed; one that
 * accepts them (or whose backlog is full) belongs to a running daemon.
 */
static int clear_stale_socket(const struct sockaddr_un *addr, char *err, size_t errlen)
{
	struct stat sb;
	int fd, ret;

	if (lstat(addr->sun_path, &sb) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", addr->sun_path, strerror(errno));
		return -errno;
	}
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(err, errlen, "%s: exists and is not a socket; not replacing it",
			 addr->sun_path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	ret = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	if (ret == 0 || errno == EAGAIN) {
		close(fd);
		snprintf(err, errlen,
			 "%s: another phcsyncd is running (its control socket answers); two "
			 "daemons must never discipline one clock",
			 addr->sun_path);
		return -EADDRINUSE;
	}
	ret = errno;
	close(fd);
	if (ret != ECONNREFUSED) {
		snprintf(err, errlen, "%s: cannot probe the existing socket: %s", addr->sun_path,
			 strerror(ret));
		return -ret;
	}
	if (unlink(addr->sun_path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot remove the stale socket: %s", addr->sun_path,
			 strerror(errno));
		return -errno;
	}
	log_info("removed the stale control socket %s", addr->sun_path);
	return 0;
}

static int bind_socket(struct ctl *c, const struct sockaddr_un *addr, bool set_group, gid_t gid,
		       char *err, size_t errlen)
{
	struct stat sb;
	mode_t old_mask;
	int ret;

	/* Born 0660: there is no moment at which anyone else could connect. */
	old_mask = umask(0117);
	ret = bind(c->listen_fd, (const struct sockaddr *)addr, sizeof(*addr));
	umask(old_mask);
	if (ret < 0) {
		snprintf(err, errlen, "%s: cannot bind: %s", addr->sun_path, strerror(errno));
		return -errno;
	}
	if (set_group && chown(addr->sun_path, (uid_t)-1, gid) < 0) {
		snprintf(err, errlen, "%s: cannot set group %u: %s", addr->sun_path, (unsigned)gid,
			 strerror(errno));
		return -errno;
	}
	if (chmod(addr->sun_path, 0660) < 0 || stat(addr->sun_path, &sb) < 0) {
		snprintf(err, errlen, "%s: cannot set mode 0660: %s", addr->sun_path,
			 strerror(errno));
		return -errno;
	}
	c->dev = sb.st_dev;
	c->ino = sb.st_ino;
	if (listen(c->listen_fd, SOMAXCONN) < 0) {
		snprintf(err, errlen, "%s: cannot listen: %s", addr->sun_path, strerror(errno));
		return -errno;
	}
	return 0;
}

int ctl_check_group(const char *group, char *err, size_t errlen)
{
	gid_t gid;

	return resolve_group(group, &gid, err, errlen);
}

int ctl_check(const char *path, char *err, size_t errlen)
{
	char copy[sizeof(((struct sockaddr_un *)0)->sun_path)], up[sizeof(copy)];
	const char *dir;
	struct stat sb;

	if (!*path || strlen(path) >= sizeof(copy)) {
		snprintf(err, errlen, "control socket \"%s\": expected a path of 1 to %zu bytes",
			 path, sizeof(copy) - 1);
		return -ENAMETOOLONG;
	}
	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (stat(dir, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode)) {
			snprintf(err, errlen, "%s: not a directory", dir);
			return -ENOTDIR;
		}
		if (access(dir, W_OK | X_OK) < 0) {
			snprintf(err, errlen, "%s: cannot create the socket in it: %s", dir,
				 strerror(errno));
			return -errno;
		}
	} else if (errno == ENOENT) {
		/* ctl_open makes this one directory, not its parents. */
		snprintf(up, sizeof(up), "%s", dir);
		if (access(dirname(up), W_OK | X_OK) < 0) {
			snprintf(err, errlen, "%s: cannot create the control socket directory: %s",
				 dir, strerror(errno));
			return -errno;
		}
	} else {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	if (lstat(path, &sb) == 0 && !S_ISSOCK(sb.st_mode)) {
		snprintf(err, errlen, "%s: exists and is not a socket; not replacing it", path);
		return -EEXIST;
	}
	return 0;
}

int ctl_open(struct ctl **out, const char *path, const char *group,
	     const struct ctl_handlers *handlers, char *err, size_t errlen)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	bool set_group = group && *group;
	gid_t gid = 0;
	struct ctl *c;
	int ret;

	if (!*path || strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(err, errlen, "control socket \"%s\": expected a path of 1 to %zu bytes",
			 path, sizeof(addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (set_group) {
		ret = resolve_group(group, &gid, err, errlen);
		if (ret < 0)
			return ret;
	}
	ret = make_parent_dir(path, err, errlen);
	if (ret < 0)
		return ret;
	ret = clear_stale_socket(&addr, err, errlen);
	if (ret < 0)
		return ret;

	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "control socket: out of memory");
		return -ENOMEM;
	}
	memcpy(c->path, addr.sun_path, sizeof(c->path));
	c->h = *handlers;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		c->clients[i].fd = -1;
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		ret = -errno;
		free(c);
		return ret;
	}
	ret = bind_socket(c, &addr, set_group, gid, err, errlen);
	if (ret < 0) {
		/* bind failing with EADDRINUSE means another daemon won a race: its file stays. */
		if (ret != -EADDRINUSE)
			unlink(addr.sun_path);
		close(c->listen_fd);
		free(c);
		return ret;
	}
	*out = c;
	return 0;
}

int ctl_pollfds(const struct ctl *c, struct pollfd *fds, int max)
{
	int n = 0;

	if (n < max)
		fds[n++] = (struct pollfd){.fd = c->listen_fd, .events = POLLIN};
	for (int i = 0; i < CTL_MAX_CLIENTS && n < max; i++) {
		const struct client *cl = &c->clients[i];

		if (cl->state == CLIENT_FREE)
			continue;
		fds[n++] = (struct pollfd){
			.fd = cl->fd,
			.events = cl->state == CLIENT_READ ? POLLIN : POLLOUT,
		};
	}
	return n;
}

static void client_drop(struct client *cl)
{
	close(cl->fd);
	cl->fd = -1;
	cl->state = CLIENT_FREE;
}

/* Send what the socket takes; a peer that has gone is dropped without a word (or SIGPIPE). */
static void client_write(struct client *cl)
{
	while (cl->out_sent < cl->out_len) {
		ssize_t n = send(cl->fd, cl->out + cl->out_sent, cl->out_len - cl->out_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				client_drop(cl);
			return;
		}
		cl->out_sent += (size_t)n;
	}
	client_drop(cl);
}

static void set_error(struct client *cl, const char *error)
{
	int n = ctl_proto_reply_error(error, cl->out, sizeof(cl->out));

	cl->out_len = n > 0 ? (size_t)n : 0;
}

static void serve_status(struct ctl *c, struct client *cl, enum ctl_command cmd)
{
	struct status st;
	int ret;

	memset(&st, 0, sizeof(st));
	ret = c->h.get_status(c->h.ctx, &st);
	if (ret < 0) {
		char msg[MSG_MAX];

		snprintf(msg, sizeof(msg), "status unavailable: %s", strerror(-ret));
		set_error(cl, msg);
		return;
	}
	if (cmd == CTL_CMD_STATUS)
		ret = ctl_proto_reply_status(&st, cl->out, sizeof(cl->out));
	else
		ret = ctl_proto_reply_metrics(&st, cl->out, sizeof(cl->out));
	if (ret < 0)
		set_error(cl, "reply too large");
	else
		cl->out_len = (size_t)ret;
}

static void serve_action(struct ctl *c, struct client *cl, enum ctl_command cmd)
{
	int (*fn)(void *, char *, size_t) = c->h.reload;
	const char *name = ctl_command_name(cmd);
	char msg[MSG_MAX] = "";
	int ret;

	if (cmd == CTL_CMD_STEP)
		fn = c->h.step;
	else if (cmd == CTL_CMD_RESET)
		fn = c->h.reset;

	if (!cl->privileged) {
		log_warn("control: %s refused to uid %u (pid %d)", name, (unsigned)cl->uid,
			 (int)cl->pid);
		snprintf(msg, sizeof(msg), "permission denied: %s needs root or the daemon's user",
			 name);
		set_error(cl, msg);
		return;
	}
	if (!fn) {
		snprintf(msg, sizeof(msg), "%s is not supported by this daemon", name);
		set_error(cl, msg);
		return;
	}
	log_notice("control: %s requested by uid %u (pid %d)", name, (unsigned)cl->uid,
		   (int)cl->pid);
	ret = fn(c->h.ctx, msg, sizeof(msg));
	if (ret < 0) {
		if (!msg[0])
			snprintf(msg, sizeof(msg), "%s failed: %s", name, strerror(-ret));
		set_error(cl, msg);
		return;
	}
	ret = ctl_proto_reply_ok(msg, cl->out, sizeof(cl->out));
	cl->out_len = ret > 0 ? (size_t)ret : 0;
}

static void client_request(struct ctl *c, struct client *cl, size_t len)
{
	enum ctl_command cmd;
	char msg[MSG_MAX];

	if (ctl_proto_parse(cl->in, len, &cmd, msg, sizeof(msg)) < 0)
		set_error(cl, msg);
	else if (ctl_command_privileged(cmd))
		serve_action(c, cl, cmd);
	else
		serve_status(c, cl, cmd);
	cl->out_sent = 0;
	cl->state = CLIENT_WRITE;
	client_write(cl);
}

static void client_read(struct ctl *c, struct client *cl)
{
	ssize_t n;
	char *nl;

	n = recv(cl->fd, cl->in + cl->in_len, sizeof(cl->in) - cl->in_len, MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			client_drop(cl);
		return;
	}
	if (n == 0) {
		/* The client shut its side: what it sent is the request, newline or not. */
		if (cl->in_len)
			client_request(c, cl, cl->in_len);
		else
			client_drop(cl);
		return;
	}
	cl->in_len += (size_t)n;
	nl = memchr(cl->in, '\n', cl->in_len);
	if (nl)
		client_request(c, cl, (size_t)(nl - cl->in));
	else if (cl->in_len == sizeof(cl->in))
		client_request(c, cl, cl->in_len); /* the parser reports it too long */
}

static void client_expire(struct client *cl)
{
	log_debug("control: dropping a client (pid %d) that took too long", (int)cl->pid);
	if (cl->state == CLIENT_READ) {
		char reply[128];
		int n;

		/* Best effort: the socket buffer is empty, so a short reply fits at once. */
		n = ctl_proto_reply_error("timeout: no request line in time", reply, sizeof(reply));
		if (n > 0 && send(cl->fd, reply, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("control: timeout reply not sent: %s", strerror(errno));
	}
	client_drop(cl);
}

static void reject_busy(int fd)
{
	char reply[128];
	int n;

	n = ctl_proto_reply_error("busy: too many control clients, try again", reply,
				  sizeof(reply));
	if (n > 0 && send(fd, reply, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("control: busy reply not sent: %s", strerror(errno));
	close(fd);
}

/*
 * The slot a newcomer may take when none is free: the oldest client with part of a line,
 * else the oldest that sent nothing. A client being answered keeps its slot. NULL: none.
 */
static struct client *pick_victim(struct ctl *c)
{
	struct client *best = NULL;

	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct client *cl = &c->clients[i];

		if (cl->state != CLIENT_READ)
			continue;
		if (!best || (cl->in_len > 0) > (best->in_len > 0) ||
		    ((cl->in_len > 0) == (best->in_len > 0) && cl->seq < best->seq))
			best = cl;
	}
	return best;
}

static void evict(struct client *cl)
{
	log_debug("control: dropping a client (pid %d) without a whole request for a newer one",
		  (int)cl->pid);
	reject_busy(cl->fd);
	cl->fd = -1;
	cl->state = CLIENT_FREE;
}

/*
 * A free slot when all are taken, or NULL. Reading the held clients first serves those
 * whose request has arrived, so that only a client without a whole request is displaced.
 * Failing that, a privileged newcomer (root or the daemon's user) takes the slot of the
 * oldest unprivileged client whose reply is not being read: other users cannot keep root
 * out by asking and not reading. That client's reply is cut short.
 */
static struct client *make_room(struct ctl *c, bool privileged)
{
	struct client *cl = NULL;

	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->clients[i].state == CLIENT_READ)
			client_read(c, &c->clients[i]);
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->clients[i].state == CLIENT_FREE)
			return &c->clients[i];
	cl = pick_victim(c);
	if (cl) {
		evict(cl);
		return cl;
	}
	if (!privileged)
		return NULL;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct client *w = &c->clients[i];

		if (w->state == CLIENT_WRITE && !w->privileged && (!cl || w->seq < cl->seq))
			cl = w;
	}
	if (cl) {
		log_debug("control: cutting the reply to uid %u (pid %d) short for a privileged "
			  "client",
			  (unsigned)cl->uid, (int)cl->pid);
		client_drop(cl);
	}
	return cl;
}

static void accept_clients(struct ctl *c, int64_t now_mono_ns)
{
	for (int k = 0; k < ACCEPT_BATCH; k++) {
		struct ucred cred;
		socklen_t cred_len = sizeof(cred);
		struct client *cl = NULL;
		bool privileged;
		int fd;

		fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("control: accept: %s", strerror(errno));
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0)
			cred = (struct ucred){.uid = (uid_t)-1, .gid = (gid_t)-1, .pid = 0};
		/* Asked now, not at open: the daemon may have dropped to its user since. */
		privileged = cred.uid != (uid_t)-1 && (cred.uid == 0 || cred.uid == geteuid());
		for (int i = 0; i < CTL_MAX_CLIENTS && !cl; i++)
			if (c->clients[i].state == CLIENT_FREE)
				cl = &c->clients[i];
		if (!cl)
			cl = make_room(c, privileged);
		if (!cl) {
			reject_busy(fd);
			continue;
		}
		cl->fd = fd;
		cl->seq = c->accepted++;
		cl->state = CLIENT_READ;
		cl->deadline_ns = now_mono_ns + CTL_CLIENT_TIMEOUT_NS;
		cl->in_len = 0;
		cl->out_len = 0;
		cl->out_sent = 0;
		cl->uid = cred.uid;
		cl->pid = cred.pid;
		cl->privileged = privileged;
	}
}

static struct client *find_client(struct ctl *c, int fd)
{
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->clients[i].state != CLIENT_FREE && c->clients[i].fd == fd)
			return &c->clients[i];
	return NULL;
}

void ctl_process(struct ctl *c, const struct pollfd *fds, int n, int64_t now_mono_ns)
{
	bool listen_ready = false;

	for (int i = 0; i < n; i++) {
		struct client *cl;

		if (!fds[i].revents || fds[i].fd < 0)
			continue;
		if (fds[i].fd == c->listen_fd) {
			listen_ready = true;
			continue;
		}
		cl = find_client(c, fds[i].fd);
		if (!cl)
			continue;
		if (cl->state == CLIENT_READ && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
			client_read(c, cl);
		else if (cl->state == CLIENT_WRITE && (fds[i].revents & POLLOUT))
			client_write(cl);
		else if (fds[i].revents & (POLLHUP | POLLERR | POLLNVAL))
			client_drop(cl);
	}
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct client *cl = &c->clients[i];

		if (cl->state != CLIENT_FREE && now_mono_ns >= cl->deadline_ns)
			client_expire(cl);
	}
	/* Last, so that a new client cannot inherit the events of a closed one's fd number. */
	if (listen_ready)
		accept_clients(c, now_mono_ns);
}

int64_t ctl_next_deadline_ns(const struct ctl *c)
{
	int64_t next = INT64_MAX;

	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->clients[i].state != CLIENT_FREE && c->clients[i].deadline_ns < next)
			next = c->clients[i].deadline_ns;
	return next;
}

void ctl_close(struct ctl *c)
{
	struct stat sb;

	if (!c)
		return;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->clients[i].state != CLIENT_FREE)
			client_drop(&c->clients[i]);
	close(c->listen_fd);
	if (stat(c->path, &sb) == 0 && sb.st_dev == c->dev && sb.st_ino == c->ino)
		unlink(c->path);
	free(c);
}
