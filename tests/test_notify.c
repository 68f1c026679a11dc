/* SPDX-License-Identifier: BSD-2-Clause */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check_main.h"
#include "phcsync/notify.h"

/* The listening end, as systemd's: a datagram socket bound to a path or an abstract name. */
static int sock = -1;
static char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static void listen_on(const char *name)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(name);

	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(sock, 0);
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	ck_assert_int_eq(bind(sock, (struct sockaddr *)&sa,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)),
			 0);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", name, 1), 0);
}

static void listen_path(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(path, sizeof(path), "%s/test_notify.%d", tmp && *tmp ? tmp : "/tmp",
		 (int)getpid());
	unlink(path);
	listen_on(path);
}

static void teardown(void)
{
	if (sock >= 0)
		close(sock);
	sock = -1;
	if (path[0])
		unlink(path);
	path[0] = '\0';
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

/* The next datagram, which the call under test must already have sent. */
static void expect(const char *want)
{
	char buf[1024];
	ssize_t n = recv(sock, buf, sizeof(buf) - 1, 0);

	ck_assert_msg(n >= 0, "no message (%s), expected '%s'", strerror(errno), want);
	buf[n] = '\0';
	ck_assert_str_eq(buf, want);
}

static void expect_none(void)
{
	char buf[64];

	ck_assert_int_eq(recv(sock, buf, sizeof(buf), 0), -1);
	ck_assert_int_eq(errno, EAGAIN);
}

static void sequence(void)
{
	ck_assert_int_eq(notify_ready("waiting for /dev/ptp_kvm"), 0);
	expect("READY=1\nSTATUS=waiting for /dev/ptp_kvm");
	ck_assert_int_eq(notify_ready(NULL), 0);
	expect("READY=1");
	ck_assert_int_eq(notify_status("locked to %s, offset %d ns", "/dev/ptp0", -12), 0);
	expect("STATUS=locked to /dev/ptp0, offset -12 ns");
	ck_assert_int_eq(notify_watchdog(), 0);
	expect("WATCHDOG=1");
	ck_assert_int_eq(notify_stopping(), 0);
	expect("STOPPING=1");
	expect_none();
}

START_TEST(path_socket)
{
	listen_path();
	sequence();
}
END_TEST

START_TEST(abstract_socket)
{
	char name[64];

	snprintf(name, sizeof(name), "@phcsync-test-notify-%d", (int)getpid());
	listen_on(name);
	sequence();
}
END_TEST

START_TEST(no_socket_is_a_noop)
{
	listen_path();
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(notify_ready("x"), 0);
	ck_assert_int_eq(notify_status("y"), 0);
	ck_assert_int_eq(notify_watchdog(), 0);
	ck_assert_int_eq(notify_stopping(), 0);
	expect_none();
	setenv("NOTIFY_SOCKET", "", 1);
	ck_assert_int_eq(notify_watchdog(), 0);
	expect_none();
}
END_TEST

START_TEST(bad_socket_names)
{
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	ck_assert_int_eq(notify_watchdog(), -EINVAL);
	setenv("NOTIFY_SOCKET", "@", 1);
	ck_assert_int_eq(notify_watchdog(), -EINVAL);
	/* Nobody listens there: the error is reported, not hidden. */
	setenv("NOTIFY_SOCKET", "/nonexistent/phcsync/notify", 1);
	ck_assert_int_eq(notify_watchdog(), -ENOENT);
}
END_TEST

START_TEST(long_status_is_cut)
{
	char status[2000], buf[4096];
	ssize_t n;

	listen_path();
	memset(status, 'a', sizeof(status) - 1);
	status[sizeof(status) - 1] = '\0';
	ck_assert_int_eq(notify_status("%s", status), 0);
	n = recv(sock, buf, sizeof(buf), 0);
	ck_assert_int_gt(n, 100);
	ck_assert_int_lt(n, (ssize_t)sizeof(status));
	ck_assert_int_eq(memcmp(buf, "STATUS=aaa", 10), 0);
}
END_TEST

START_TEST(watchdog_usec)
{
	char pid[32];

	ck_assert_uint_eq(notify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "30000000", 1);
	ck_assert_uint_eq(notify_watchdog_usec(), 30000000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	ck_assert_uint_eq(notify_watchdog_usec(), 30000000);
	/* Meant for another process (our parent, say). */
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	ck_assert_uint_eq(notify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "30s", 1);
	ck_assert_uint_eq(notify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "-5", 1);
	ck_assert_uint_eq(notify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "99999999999999999999999", 1);
	ck_assert_uint_eq(notify_watchdog_usec(), 0);
}
END_TEST

int main(void)
{
	TCase *tc = check_tcase("notify", NULL, teardown);

	tcase_add_test(tc, path_socket);
	tcase_add_test(tc, abstract_socket);
	tcase_add_test(tc, no_socket_is_a_noop);
	tcase_add_test(tc, bad_socket_names);
	tcase_add_test(tc, long_status_is_cut);
	tcase_add_test(tc, watchdog_usec);
	return check_run_tcase("notify", tc);
}
