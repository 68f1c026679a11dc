/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests of the control socket server on real AF_UNIX sockets in a temporary directory.
 * The server runs in-process: the test drives ctl_pollfds, poll with a zero timeout and
 * ctl_process itself, passing CLOCK_MONOTONIC values of its own, so nothing sleeps.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <json-c/json.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "phcsync/ctl.h"
#include "phcsync/ctl_proto.h"
#include "phcsync/log.h"
#include "phcsync/units.h"
#include "sim/sim_rng.h"

static char tmpdir[64];
static char sock_path[100];
static int n_step, n_reset, n_reload;
static bool status_fails;
/* Names that make a metrics reply several socket buffers' worth when shrunk. */
static bool big_names;

static int h_get_status(void *ctx, struct status *st)
{
	(void)ctx;
	if (status_fails)
		return -EAGAIN;
	st->version = CTL_PROTO_VERSION;
	if (big_names) {
		memset(st->device, 0x01, sizeof(st->device) - 1);
		memset(st->clock_name, 0x02, sizeof(st->clock_name) - 1);
	} else {
		snprintf(st->device, sizeof(st->device), "/dev/ptp0");
		snprintf(st->clock_name, sizeof(st->clock_name), "KVM virtual PTP");
	}
	snprintf(st->readout, sizeof(st->readout), "precise");
	st->state = STATUS_LOCKED;
	st->have_sample = true;
	st->last_offset_ns = 42;
	return 0;
}

static int h_step(void *ctx, char *msg, size_t len)
{
	(void)ctx;
	n_step++;
	snprintf(msg, len, "stepped by +1.000000000 s");
	return 0;
}

static int h_reset(void *ctx, char *msg, size_t len)
{
	(void)ctx;
	n_reset++;
	snprintf(msg, len, "servo busy");
	return -EBUSY;
}

static int h_reload(void *ctx, char *msg, size_t len)
{
	(void)ctx;
	(void)msg;
	(void)len;
	n_reload++;
	return -EIO;
}

static const struct ctl_handlers handlers = {
	.get_status = h_get_status,
	.step = h_step,
	.reset = h_reset,
	.reload = h_reload,
};

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_ctl.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	/* Searchable by the unprivileged child of the credentials test. */
	ck_assert_int_eq(chmod(tmpdir, 0711), 0);
	snprintf(sock_path, sizeof(sock_path), "%s/ctl.sock", tmpdir);
	n_step = n_reset = n_reload = 0;
	status_fails = false;
	big_names = false;
	log_init("test_ctl", true, false);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void teardown(void)
{
	nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static struct ctl *open_server(const char *path, const char *group)
{
	struct ctl *c = NULL;
	char err[256] = "";
	int ret;

	ret = ctl_open(&c, path, group, &handlers, err, sizeof(err));
	ck_assert_msg(ret == 0, "ctl_open: %s", err);
	return c;
}

/* Serve until nothing is ready, as the daemon's loop would with poll timeout 0. */
static void pump(struct ctl *c, int64_t now_ns)
{
	for (int round = 0; round < 64; round++) {
		struct pollfd fds[CTL_POLLFDS_MAX];
		int n, ready;

		n = ctl_pollfds(c, fds, CTL_POLLFDS_MAX);
		ck_assert_int_ge(n, 1);
		ck_assert_int_le(n, CTL_POLLFDS_MAX);
		ready = poll(fds, (nfds_t)n, 0);
		ck_assert_int_ge(ready, 0);
		ctl_process(c, fds, n, now_ns);
		if (!ready)
			return;
	}
	ck_abort_msg("the server never went idle");
}

static int client_connect(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd;

	ck_assert_uint_lt(strlen(path), sizeof(addr.sun_path));
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

static void client_send(int fd, const void *data, size_t len)
{
	ck_assert_int_eq(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Read what is there; *eof tells whether the server has closed (a reset counts). */
static size_t client_read(int fd, char *buf, size_t len, bool *eof)
{
	size_t got = 0;

	*eof = false;
	while (got < len - 1) {
		ssize_t n = recv(fd, buf + got, len - 1 - got, 0);

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0 || errno == ECONNRESET)
			*eof = true;
		else
			ck_assert_int_eq(errno, EAGAIN);
		break;
	}
	buf[got] = '\0';
	return got;
}

static struct json_object *parse_reply(const char *buf)
{
	struct json_object *o, *v;
	size_t len = strlen(buf);

	ck_assert_uint_gt(len, 0);
	ck_assert_msg(buf[len - 1] == '\n' && strchr(buf, '\n') == buf + len - 1,
		      "not one line: %s", buf);
	o = json_tokener_parse(buf);
	ck_assert_msg(o && json_object_is_type(o, json_type_object), "not JSON: %s", buf);
	ck_assert(json_object_object_get_ex(o, "version", &v));
	ck_assert_int_eq(json_object_get_int(v), CTL_PROTO_VERSION);
	return o;
}

static bool reply_ok(struct json_object *o)
{
	struct json_object *v;

	ck_assert(json_object_object_get_ex(o, "ok", &v));
	return json_object_get_boolean(v);
}

static const char *reply_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

/* A whole exchange: connect, send req (len bytes), serve, read the reply to the close. */
static struct json_object *ask_raw(struct ctl *c, const char *req, size_t len, int64_t now_ns)
{
	static char buf[CTL_REPLY_MAX + 1];
	bool eof;
	int fd;

	fd = client_connect(sock_path);
	ck_assert_int_ge(fd, 0);
	client_send(fd, req, len);
	pump(c, now_ns);
	client_read(fd, buf, sizeof(buf), &eof);
	ck_assert_msg(eof, "the server kept the connection open");
	close(fd);
	return parse_reply(buf);
}

static struct json_object *ask(struct ctl *c, const char *req, int64_t now_ns)
{
	return ask_raw(c, req, strlen(req), now_ns);
}

/* The server still answers a well-formed request and holds no client. */
static void assert_healthy(struct ctl *c, int64_t now_ns)
{
	struct pollfd fds[CTL_POLLFDS_MAX];
	struct json_object *o = ask(c, "status\n", now_ns);

	ck_assert(reply_ok(o));
	ck_assert_str_eq(reply_str(o, "state"), "locked");
	json_object_put(o);
	ck_assert_int_eq(ctl_pollfds(c, fds, CTL_POLLFDS_MAX), 1);
	ck_assert_int_eq(ctl_next_deadline_ns(c), INT64_MAX);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

START_TEST(test_status_round_trip)
{
	struct ctl *c = open_server(sock_path, "");
	struct json_object *o, *v;

	o = ask(c, "status\n", 0);
	ck_assert(reply_ok(o));
	ck_assert_str_eq(reply_str(o, "device"), "/dev/ptp0");
	ck_assert_str_eq(reply_str(o, "clock_name"), "KVM virtual PTP");
	ck_assert(json_object_object_get_ex(o, "last_offset_ns", &v));
	ck_assert_int_eq(json_object_get_int64(v), 42);
	json_object_put(o);

	o = ask(c, "metrics\r\n", 0);
	ck_assert(reply_ok(o));
	ck_assert_ptr_nonnull(
		strstr(reply_str(o, "metrics"), "\nphcsync_offset_seconds 0.000000042\n"));
	json_object_put(o);

	/* A request ended by shutting the write side instead of a newline. */
	{
		char buf[CTL_REPLY_MAX];
		bool eof;
		int fd = client_connect(sock_path);

		ck_assert_int_ge(fd, 0);
		client_send(fd, "status", 6);
		ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
		pump(c, 0);
		client_read(fd, buf, sizeof(buf), &eof);
		ck_assert(eof);
		o = parse_reply(buf);
		ck_assert(reply_ok(o));
		json_object_put(o);
		close(fd);
	}

	status_fails = true;
	o = ask(c, "status\n", 0);
	ck_assert(!reply_ok(o));
	ck_assert_ptr_nonnull(strstr(reply_str(o, "error"), "status unavailable"));
	json_object_put(o);
	status_fails = false;
	assert_healthy(c, 0);
	ctl_close(c);
}
END_TEST

/* The client runs as the server's own uid: privileged as root, or as the daemon's user. */
START_TEST(test_actions_as_own_uid)
{
	struct ctl *c = open_server(sock_path, "");
	struct json_object *o;

	o = ask(c, "step\n", 0);
	ck_assert(reply_ok(o));
	ck_assert_str_eq(reply_str(o, "message"), "stepped by +1.000000000 s");
	json_object_put(o);
	ck_assert_int_eq(n_step, 1);

	o = ask(c, "reset\n", 0);
	ck_assert(!reply_ok(o));
	ck_assert_str_eq(reply_str(o, "error"), "servo busy");
	json_object_put(o);
	ck_assert_int_eq(n_reset, 1);

	o = ask(c, "reload\n", 0);
	ck_assert(!reply_ok(o));
	ck_assert_str_eq(reply_str(o, "error"), "reload failed: Input/output error");
	json_object_put(o);
	ck_assert_int_eq(n_reload, 1);

	o = ask(c, "step now\n", 0);
	ck_assert(!reply_ok(o));
	ck_assert_str_eq(reply_str(o, "error"), "step takes no arguments");
	json_object_put(o);
	o = ask(c, "shutdown\n", 0);
	ck_assert(!reply_ok(o));
	ck_assert_ptr_nonnull(strstr(reply_str(o, "error"), "unknown command \"shutdown\""));
	json_object_put(o);
	ck_assert_int_eq(n_step, 1);
	assert_healthy(c, 0);
	ctl_close(c);
}
END_TEST

START_TEST(test_many_clients)
{
	enum { N = 200 };
	struct ctl *c = open_server(sock_path, "");
	int fds[N], base, connected = 0, answered = 0, busy = 0, closed = 0;
	static char buf[CTL_REPLY_MAX];

	base = count_fds();
	for (int i = 0; i < N; i++) {
		fds[i] = client_connect(sock_path);
		/* A full backlog refusing a connection is a clean answer too. */
		if (fds[i] < 0) {
			ck_assert_int_eq(fds[i], -EAGAIN);
			continue;
		}
		connected++;
		client_send(fds[i], "status\n", 7);
	}
	ck_assert_int_gt(connected, CTL_MAX_CLIENTS);
	for (int round = 0; round < 64; round++) {
		struct pollfd pfds[CTL_POLLFDS_MAX];
		int n = ctl_pollfds(c, pfds, CTL_POLLFDS_MAX), ready;

		ck_assert_int_le(n, CTL_POLLFDS_MAX);
		/* Ours, the clients' ends, and at most the server's bounded set. */
		ck_assert_int_le(count_fds(), base + connected + CTL_POLLFDS_MAX);
		ready = poll(pfds, (nfds_t)n, 0);
		ctl_process(c, pfds, n, 0);
		if (!ready)
			break;
	}
	for (int i = 0; i < N; i++) {
		struct json_object *o;
		bool eof;

		if (fds[i] < 0)
			continue;
		client_read(fds[i], buf, sizeof(buf), &eof);
		ck_assert_msg(eof, "client %d left open", i);
		close(fds[i]);
		if (!buf[0]) {
			closed++;
			continue;
		}
		o = parse_reply(buf);
		if (reply_ok(o)) {
			ck_assert_str_eq(reply_str(o, "device"), "/dev/ptp0");
			answered++;
		} else {
			ck_assert_ptr_nonnull(strstr(reply_str(o, "error"), "busy"));
			busy++;
		}
		json_object_put(o);
	}
	ck_assert_int_eq(answered + busy + closed, connected);
	/* Each had sent its whole request: with every slot taken, the held ones were read and
	 * served to make room, so nobody was turned away. */
	ck_assert_int_eq(answered, connected);
	ck_assert_int_eq(count_fds(), base);
	assert_healthy(c, 0);
	ctl_close(c);
}
END_TEST

START_TEST(test_silent_client_dropped)
{
	struct ctl *c = open_server(sock_path, "");
	const int64_t t0 = 1000 * NS_PER_S;
	struct json_object *o;
	char buf[512];
	bool eof;
	int fd;

	ck_assert_int_eq(ctl_next_deadline_ns(c), INT64_MAX);
	fd = client_connect(sock_path);
	ck_assert_int_ge(fd, 0);
	pump(c, t0);
	ck_assert_int_eq(ctl_next_deadline_ns(c), t0 + CTL_CLIENT_TIMEOUT_NS);
	/* Half a request does not extend the time limit. */
	client_send(fd, "sta", 3);
	pump(c, t0 + CTL_CLIENT_TIMEOUT_NS - 1);
	ck_assert_uint_eq(client_read(fd, buf, sizeof(buf), &eof), 0);
	ck_assert(!eof);
	ck_assert_int_eq(ctl_next_deadline_ns(c), t0 + CTL_CLIENT_TIMEOUT_NS);
	pump(c, t0 + CTL_CLIENT_TIMEOUT_NS);
	client_read(fd, buf, sizeof(buf), &eof);
	ck_assert(eof);
	o = parse_reply(buf);
	ck_assert(!reply_ok(o));
	ck_assert_ptr_nonnull(strstr(reply_str(o, "error"), "timeout"));
	json_object_put(o);
	close(fd);
	ck_assert_int_eq(ctl_next_deadline_ns(c), INT64_MAX);

	/* A client that connects and closes without a word is dropped quietly. */
	fd = client_connect(sock_path);
	ck_assert_int_ge(fd, 0);
	pump(c, t0);
	close(fd);
	pump(c, t0);
	assert_healthy(c, t0);
	ctl_close(c);
}
END_TEST

START_TEST(test_huge_request)
{
	enum { MIB = 1 << 20 };
	struct ctl *c = open_server(sock_path, "");
	char *big = malloc(MIB), buf[1024];
	struct json_object *o;
	size_t sent = 0;
	ssize_t n;
	bool eof;
	int fd;

	ck_assert_ptr_nonnull(big);
	memset(big, 'a', MIB);
	fd = client_connect(sock_path);
	ck_assert_int_ge(fd, 0);
	/* The client pushes until the socket is full; the server must not wait for the rest. */
	while (sent < MIB && (n = send(fd, big + sent, MIB - sent, MSG_NOSIGNAL)) > 0)
		sent += (size_t)n;
	ck_assert_uint_gt(sent, CTL_REQUEST_MAX);
	pump(c, 0);
	client_read(fd, buf, sizeof(buf), &eof);
	ck_assert(eof);
	o = parse_reply(buf);
	ck_assert(!reply_ok(o));
	ck_assert_ptr_nonnull(strstr(reply_str(o, "error"), "too long"));
	json_object_put(o);
	close(fd);
	free(big);

	/* One byte past the limit, newline included, is refused as well. */
	memset(buf, ' ', CTL_REQUEST_MAX);
	memcpy(buf + CTL_REQUEST_MAX - 7, "status\n", 7);
	o = ask_raw(c, buf, CTL_REQUEST_MAX, 0);
	ck_assert(reply_ok(o));
	json_object_put(o);
	memset(buf, ' ', CTL_REQUEST_MAX + 1);
	memcpy(buf + CTL_REQUEST_MAX + 1 - 7, "status\n", 7);
	o = ask_raw(c, buf, CTL_REQUEST_MAX + 1, 0);
	ck_assert(!reply_ok(o));
	json_object_put(o);
	assert_healthy(c, 0);
	ctl_close(c);
}
END_TEST

START_TEST(test_binary_junk)
{
	struct ctl *c = open_server(sock_path, "");
	static const char junk[] = "\x00\x01\xff\xfe status\n";
	struct json_object *o;
	char rnd[300];
	struct sim_rng rng;

	o = ask_raw(c, junk, sizeof(junk) - 1, 0);
	ck_assert(!reply_ok(o));
	ck_assert_ptr_nonnull(strstr(reply_str(o, "error"), "malformed request"));
	json_object_put(o);
	assert_healthy(c, 0);

	sim_rng_seed(&rng, 12345, 0);
	for (int k = 0; k < 20; k++) {
		for (size_t i = 0; i < sizeof(rnd); i++)
			rnd[i] = (char)(sim_rng_next(&rng) & 0xff);
		rnd[sizeof(rnd) - 1] = '\n';
		o = ask_raw(c, rnd, sizeof(rnd), 0);
		ck_assert(!reply_ok(o));
		json_object_put(o);
	}
	assert_healthy(c, 0);
	ctl_close(c);
}
END_TEST

/*
 * Accept a client (the server's slot[index], poll entry index + 1), shrink the server's send
 * buffer on its socket, then send req, so that the reply needs several POLLOUT rounds.
 * Returns the client's fd.
 */
static int client_with_small_server_buffer_at(struct ctl *c, const char *req, int index)
{
	struct pollfd fds[CTL_POLLFDS_MAX];
	int fd, n, tiny = 1;

	fd = client_connect(sock_path);
	ck_assert_int_ge(fd, 0);
	n = ctl_pollfds(c, fds, CTL_POLLFDS_MAX);
	ck_assert_int_eq(poll(fds, (nfds_t)n, 0), 1);
	ctl_process(c, fds, n, 0);
	n = ctl_pollfds(c, fds, CTL_POLLFDS_MAX);
	ck_assert_int_eq(n, index + 2);
	ck_assert_int_eq(fds[index + 1].events, POLLIN);
	ck_assert_int_eq(setsockopt(fds[index + 1].fd, SOL_SOCKET, SO_SNDBUF, &tiny, sizeof(tiny)),
			 0);
	client_send(fd, req, strlen(req));
	ck_assert_int_ge(poll(fds, (nfds_t)n, 0), 1);
	ctl_process(c, fds, n, 0);
	/* The reply did not fit: the server waits for room. */
	n = ctl_pollfds(c, fds, CTL_POLLFDS_MAX);
	ck_assert_int_eq(n, index + 2);
	ck_assert_int_eq(fds[index + 1].events, POLLOUT);
	return fd;
}

static int client_with_small_server_buffer(struct ctl *c, const char *req)
{
	return client_with_small_server_buffer_at(c, req, 0);
}

START_TEST(test_partial_writes)
{
	struct ctl *c = open_server(sock_path, "");
	static char reply[CTL_REPLY_MAX + 1];
	struct json_object *o;
	size_t got = 0;
	bool eof = false;
	int fd, rounds = 0;

	big_names = true;
	fd = client_with_small_server_buffer(c, "metrics\n");
	while (!eof && rounds++ < 100) {
		got += client_read(fd, reply + got, sizeof(reply) - got, &eof);
		pump(c, 0);
	}
	ck_assert(eof);
	ck_assert_int_ge(rounds, 2);
	o = parse_reply(reply);
	ck_assert(reply_ok(o));
	ck_assert_ptr_nonnull(strstr(reply_str(o, "metrics"), "phcsync_leap_table_expired 0\n"));
	json_object_put(o);
	close(fd);
	big_names = false;
	assert_healthy(c, 0);
	ctl_close(c);
}
END_TEST

START_TEST(test_disconnect_mid_reply)
{
	struct ctl *c = open_server(sock_path, "");
	char buf[64];
	int fd;

	big_names = true;
	fd = client_with_small_server_buffer(c, "metrics\n");
	ck_assert_int_eq(recv(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	close(fd);
	/* No SIGPIPE (it would kill this process) and the slot is freed. */
	pump(c, 0);
	big_names = false;
	assert_healthy(c, 0);
	ctl_close(c);
}
END_TEST

START_TEST(test_stale_socket_replaced)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct ctl *c;
	struct stat sb;
	int fd;

	/* What a crashed daemon leaves: a socket file nobody listens on. */
	memcpy(addr.sun_path, sock_path, strlen(sock_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	ck_assert_int_eq(stat(sock_path, &sb), 0);
	c = open_server(sock_path, "");
	assert_healthy(c, 0);
	ctl_close(c);
	ck_assert_int_eq(stat(sock_path, &sb), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_live_socket_refused)
{
	struct ctl *c = open_server(sock_path, ""), *c2 = NULL;
	char err[256], file[160];
	struct stat sb;
	int fd;

	ck_assert_int_eq(ctl_open(&c2, sock_path, "", &handlers, err, sizeof(err)), -EADDRINUSE);
	ck_assert_ptr_null(c2);
	ck_assert_ptr_nonnull(strstr(err, "another phcsyncd is running"));
	ck_assert_ptr_nonnull(strstr(err, sock_path));
	/* The first daemon keeps its socket. */
	assert_healthy(c, 0);
	ctl_close(c);

	/* A file that is no socket is not ours to delete. */
	snprintf(file, sizeof(file), "%s/file", tmpdir);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(ctl_open(&c2, file, "", &handlers, err, sizeof(err)), -EEXIST);
	ck_assert_ptr_nonnull(strstr(err, "not a socket"));
	ck_assert_int_eq(stat(file, &sb), 0);
	ck_assert(S_ISREG(sb.st_mode));
}
END_TEST

START_TEST(test_socket_mode_group_and_dir)
{
	/* Root may give the socket any group; anyone else only one of its own. */
	struct group *gr = geteuid() == 0 ? getgrnam("nogroup") : getgrgid(getegid());
	char path[240], dir[160], err[256], gid[16];
	struct ctl *c = NULL;
	struct stat sb;

	ck_assert_ptr_nonnull(gr);
	snprintf(dir, sizeof(dir), "%s/run", tmpdir);
	snprintf(path, sizeof(path), "%s/phcsyncd.sock", dir);
	/* A strict umask must change neither mode. */
	umask(0077);
	c = open_server(path, gr->gr_name);
	ck_assert_int_eq(stat(dir, &sb), 0);
	ck_assert(S_ISDIR(sb.st_mode));
	ck_assert_int_eq(sb.st_mode & 07777, 0755);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert(S_ISSOCK(sb.st_mode));
	ck_assert_int_eq(sb.st_mode & 07777, 0660);
	ck_assert_int_eq(sb.st_gid, gr->gr_gid);
	ctl_close(c);
	ck_assert_int_eq(stat(path, &sb), -1);

	/* By number, and with no group the daemon's own. */
	snprintf(gid, sizeof(gid), "%u", (unsigned)gr->gr_gid);
	c = open_server(path, gid);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_gid, gr->gr_gid);
	ctl_close(c);
	c = open_server(path, "");
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_gid, getegid());
	ctl_close(c);

	c = NULL;
	ck_assert_int_eq(ctl_open(&c, path, "no-such-group-here", &handlers, err, sizeof(err)),
			 -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "no-such-group-here"));
	ck_assert_int_eq(stat(path, &sb), -1);
	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	ck_assert_int_eq(ctl_open(&c, path, "", &handlers, err, sizeof(err)), -ENAMETOOLONG);
	ck_assert_ptr_null(c);
}
END_TEST

/* In the child: read a reply to the server's close, blocking at most 10 s. */
static bool child_read(int fd, char *buf, size_t len)
{
	struct timeval tv = {.tv_sec = 10};
	size_t got = 0;
	ssize_t n;

	if (fcntl(fd, F_SETFL, 0) < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return false;
	while (got < len - 1 && (n = recv(fd, buf + got, len - 1 - got, 0)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	return got > 0;
}

/* In the child: as nobody, ask for step and status; exit 0 if refused and answered. */
static void unprivileged_child(gid_t gid, uid_t uid, int ready_fd)
{
	char buf[CTL_REPLY_MAX];
	struct json_object *o;
	int step_fd, status_fd;
	bool ok;

	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		_exit(10);
	step_fd = client_connect(sock_path);
	status_fd = client_connect(sock_path);
	if (step_fd < 0 || status_fd < 0)
		_exit(11);
	if (send(step_fd, "step\n", 5, MSG_NOSIGNAL) != 5 ||
	    send(status_fd, "status\n", 7, MSG_NOSIGNAL) != 7 || write(ready_fd, "r", 1) != 1)
		_exit(12);
	if (!child_read(step_fd, buf, sizeof(buf)))
		_exit(13);
	o = json_tokener_parse(buf);
	ok = o && !reply_ok(o) && strstr(reply_str(o, "error"), "permission denied");
	json_object_put(o);
	if (!ok)
		_exit(14);
	if (!child_read(status_fd, buf, sizeof(buf)))
		_exit(15);
	o = json_tokener_parse(buf);
	ok = o && reply_ok(o);
	json_object_put(o);
	_exit(ok ? 0 : 16);
}

START_TEST(test_unprivileged_peer)
{
	struct group *gr = getgrnam("nogroup");
	struct passwd *pw = getpwnam("nobody");
	struct ctl *c;
	int pipefd[2], status;
	char byte;
	pid_t pid;

	ck_assert_ptr_nonnull(gr);
	ck_assert_ptr_nonnull(pw);
	c = open_server(sock_path, "nogroup");
	ck_assert_int_eq(pipe(pipefd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(pipefd[0]);
		unprivileged_child(gr->gr_gid, pw->pw_uid, pipefd[1]);
	}
	close(pipefd[1]);
	/* Both requests are in the socket once the child says so. */
	ck_assert_int_eq(read(pipefd[0], &byte, 1), 1);
	close(pipefd[0]);
	pump(c, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	ck_assert_int_eq(n_step, 0);
	assert_healthy(c, 0);
	ctl_close(c);
}
END_TEST

/* The server holds fd: nothing was answered and the connection is open. */
static void assert_held(int fd)
{
	char buf[64];
	bool eof;

	ck_assert_uint_eq(client_read(fd, buf, sizeof(buf), &eof), 0);
	ck_assert(!eof);
}

/* The server told fd "busy" and closed it; fd is closed here too. */
static void assert_evicted(int fd)
{
	char buf[512];
	struct json_object *o;
	bool eof;

	client_read(fd, buf, sizeof(buf), &eof);
	ck_assert(eof);
	o = parse_reply(buf);
	ck_assert(!reply_ok(o));
	ck_assert_ptr_nonnull(strstr(reply_str(o, "error"), "busy"));
	json_object_put(o);
	close(fd);
}

static int connect_and_pump(struct ctl *c, const char *partial)
{
	int fd = client_connect(sock_path);

	ck_assert_int_ge(fd, 0);
	if (partial)
		client_send(fd, partial, strlen(partial));
	pump(c, 0);
	return fd;
}

START_TEST(test_incomplete_evicted_oldest_first)
{
	enum { N = CTL_MAX_CLIENTS };
	struct ctl *c = open_server(sock_path, "");
	int held[N], fresh[N], last;
	struct json_object *o;

	/* Every slot taken, alternately by a silent client and by one with half a line. */
	for (int i = 0; i < N; i++)
		held[i] = connect_and_pump(c, i % 2 ? "sta" : NULL);
	/* A whole request is served: the oldest partial line makes room for it. */
	o = ask(c, "status\n", 0);
	ck_assert(reply_ok(o));
	json_object_put(o);
	assert_evicted(held[1]);
	/* Its slot is free again: the next newcomer takes it and nobody is dropped. */
	fresh[0] = connect_and_pump(c, NULL);
	for (int i = 0; i < N; i++)
		if (i != 1)
			assert_held(held[i]);
	/* Silent newcomers displace the partial lines first, oldest first, then the silent
	 * clients, oldest first, then the oldest newcomers. */
	for (int k = 1; k < N; k++) {
		int victim = k < N / 2 ? 2 * k + 1 : 2 * (k - N / 2);

		fresh[k] = connect_and_pump(c, NULL);
		assert_evicted(held[victim]);
		held[victim] = -1;
		for (int i = 0; i < N; i++)
			if (held[i] >= 0 && i != 1)
				assert_held(held[i]);
	}
	/* Past the originals: the oldest newcomer. */
	last = connect_and_pump(c, NULL);
	assert_evicted(fresh[0]);
	fresh[0] = last;
	for (int k = 0; k < N; k++)
		if (fresh[k] >= 0)
			close(fresh[k]);
	pump(c, 0);
	assert_healthy(c, 0);
	ctl_close(c);
}
END_TEST

/*
 * Slowloris: every slot held by a client with half a line, each back with half a line as
 * soon as it is dropped. Every whole request is still answered, at the first try.
 */
START_TEST(test_slowloris_cannot_starve)
{
	enum { ROUNDS = 40 };
	struct ctl *c = open_server(sock_path, "");
	int slow[CTL_MAX_CLIENTS], answered = 0, evicted = 0;

	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		slow[i] = connect_and_pump(c, "stat");
	for (int round = 0; round < ROUNDS; round++) {
		struct json_object *o = ask(c, "status\n", 0);

		answered += reply_ok(o);
		json_object_put(o);
		for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
			char buf[512];
			bool eof;

			client_read(slow[i], buf, sizeof(buf), &eof);
			if (!eof)
				continue;
			ck_assert_ptr_nonnull(strstr(buf, "busy"));
			close(slow[i]);
			evicted++;
			slow[i] = connect_and_pump(c, "stat");
		}
	}
	ck_assert_int_eq(answered, ROUNDS);
	/* One slow client made room for each request, and they kept every slot. */
	ck_assert_int_eq(evicted, ROUNDS);
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		assert_held(slow[i]);
		close(slow[i]);
	}
	pump(c, 0);
	assert_healthy(c, 0);
	ctl_close(c);
}
END_TEST

/* Clients being answered keep their slots: only then is a newcomer told "busy". */
START_TEST(test_busy_when_all_answering)
{
	struct ctl *c = open_server(sock_path, "");
	int fds[CTL_MAX_CLIENTS];
	struct json_object *o;

	big_names = true;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		fds[i] = client_with_small_server_buffer_at(c, "metrics\n", i);
	o = ask(c, "status\n", 0);
	ck_assert(!reply_ok(o));
	ck_assert_ptr_nonnull(strstr(reply_str(o, "error"), "busy"));
	json_object_put(o);
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		close(fds[i]);
	pump(c, 0);
	big_names = false;
	assert_healthy(c, 0);
	ctl_close(c);
}
END_TEST

/*
 * In the child, as nobody: hold every slot with a metrics request whose reply it does not
 * read until told; then read them all. Exits 0 when exactly one reply was cut short.
 */
static void slow_reader_child(gid_t gid, uid_t uid, int to_parent, int from_parent)
{
	static char buf[CTL_REPLY_MAX + 1];
	int fds[CTL_MAX_CLIENTS], cut = 0;
	char byte;

	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0 ||
	    read(from_parent, &byte, 1) != 1)
		_exit(10);
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if ((fds[i] = client_connect(sock_path)) < 0)
			_exit(11);
	if (write(to_parent, "c", 1) != 1 || read(from_parent, &byte, 1) != 1)
		_exit(12);
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (send(fds[i], "metrics\n", 8, MSG_NOSIGNAL) != 8)
			_exit(13);
	if (write(to_parent, "s", 1) != 1 || read(from_parent, &byte, 1) != 1)
		_exit(14);
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		if (!child_read(fds[i], buf, sizeof(buf)) && !buf[0])
			_exit(15);
		cut += buf[strlen(buf) - 1] != '\n';
	}
	_exit(cut == 1 ? 0 : 20 + cut);
}

/* Root's status gets a slot even when other users hold every one and read nothing. */
START_TEST(test_root_displaces_unprivileged_readers)
{
	struct group *gr = getgrnam("nogroup");
	struct passwd *pw = getpwnam("nobody");
	struct pollfd fds[CTL_POLLFDS_MAX];
	int up[2], down[2], status, n, tiny = 1;
	struct json_object *o;
	struct ctl *c;
	char byte;
	pid_t pid;

	ck_assert_ptr_nonnull(gr);
	ck_assert_ptr_nonnull(pw);
	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	/* The child first, so that it holds nothing of the server's. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		slow_reader_child(gr->gr_gid, pw->pw_uid, up[1], down[0]);
	c = open_server(sock_path, "nogroup");
	big_names = true;
	ck_assert_int_eq(write(down[1], "o", 1), 1);
	ck_assert_int_eq(read(up[0], &byte, 1), 1);
	pump(c, 0);
	/* Every slot held; each reply will need many rounds of POLLOUT. */
	n = ctl_pollfds(c, fds, CTL_POLLFDS_MAX);
	ck_assert_int_eq(n, CTL_POLLFDS_MAX);
	for (int i = 1; i < n; i++)
		ck_assert_int_eq(setsockopt(fds[i].fd, SOL_SOCKET, SO_SNDBUF, &tiny, sizeof(tiny)), 0);
	ck_assert_int_eq(write(down[1], "g", 1), 1);
	ck_assert_int_eq(read(up[0], &byte, 1), 1);
	pump(c, 0);
	n = ctl_pollfds(c, fds, CTL_POLLFDS_MAX);
	for (int i = 1; i < n; i++)
		ck_assert_int_eq(fds[i].events, POLLOUT);
	big_names = false;
	o = ask(c, "status\n", 0);
	ck_assert(reply_ok(o));
	json_object_put(o);
	big_names = true;
	/* The child reads its replies now; the server keeps writing them until it is done. */
	ck_assert_int_eq(write(down[1], "e", 1), 1);
	while (waitpid(pid, &status, WNOHANG) == 0)
		pump(c, 0);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	big_names = false;
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
	assert_healthy(c, 0);
	ctl_close(c);
}
END_TEST

static Suite *ctl_suite(void)
{
	Suite *s = suite_create("ctl");
	TCase *tc = tcase_create("server");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_status_round_trip);
	tcase_add_test(tc, test_actions_as_own_uid);
	tcase_add_test(tc, test_many_clients);
	tcase_add_test(tc, test_silent_client_dropped);
	tcase_add_test(tc, test_incomplete_evicted_oldest_first);
	tcase_add_test(tc, test_slowloris_cannot_starve);
	tcase_add_test(tc, test_busy_when_all_answering);
	tcase_add_test(tc, test_huge_request);
	tcase_add_test(tc, test_binary_junk);
	tcase_add_test(tc, test_partial_writes);
	tcase_add_test(tc, test_disconnect_mid_reply);
	tcase_add_test(tc, test_stale_socket_replaced);
	tcase_add_test(tc, test_live_socket_refused);
	tcase_add_test(tc, test_socket_mode_group_and_dir);
	suite_add_tcase(s, tc);
	return s;
}

/* Switching the client to nobody needs root: its own meson test (ctl_root), skipped
 * elsewhere. */
static Suite *ctl_root_suite(void)
{
	Suite *s = suite_create("ctl_root");
	TCase *tc = check_tcase("peer", setup, teardown);

	tcase_add_test(tc, test_unprivileged_peer);
	tcase_add_test(tc, test_root_displaces_unprivileged_readers);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "root") == 0) {
		if (geteuid() != 0) {
			puts("SKIP: the peer-credential case switches a client to nobody: "
			     "needs root");
			return CHECK_SKIP;
		}
		return check_run(ctl_root_suite(), CK_FORK_GETENV);
	}
	return check_run(ctl_suite(), CK_FORK_GETENV);
}
