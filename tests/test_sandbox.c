/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sandbox: each case forks a child that installs the filter and makes calls; the parent
 * reads the child's stderr and how it ended. A refused call must kill the child with SIGSYS
 * and name the call. Nothing here can change a clock: the adjtimex calls only read, and
 * clock_settime targets CLOCK_MONOTONIC, which the kernel never lets anyone set.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "phcsync/iface.h"
#include "phcsync/sandbox.h"

struct outcome {
	int status;
	char err[1024];
};

/* Run fn in a child under the filter: exit 0 if fn returns, 3 if the install failed. */
static struct outcome run(void (*fn)(void))
{
	struct rlimit no_core = {0, 0};
	struct outcome o = {0};
	char err[256];
	size_t len = 0;
	ssize_t n;
	int fds[2];
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		setrlimit(RLIMIT_CORE, &no_core);
		if (sandbox_install(err, sizeof(err)) < 0) {
			dprintf(STDERR_FILENO, "%s\n", err);
			_exit(3);
		}
		fn();
		_exit(0);
	}
	close(fds[1]);
	while ((n = read(fds[0], o.err + len, sizeof(o.err) - 1 - len)) > 0)
		len += (size_t)n;
	o.err[len] = '\0';
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &o.status, 0), pid);
	return o;
}

static void expect_refused(void (*fn)(void), const char *number)
{
	struct outcome o = run(fn);
	char want[64];

	ck_assert_msg(WIFSIGNALED(o.status) && WTERMSIG(o.status) == SIGSYS,
		      "status %#x, stderr: %s", o.status, o.err);
	snprintf(want, sizeof(want), ": seccomp: refused system call %s (", number);
	ck_assert_msg(strstr(o.err, want), "stderr: %s", o.err);
}

static void loop_calls(void)
{
	struct timex tx = {.modes = 0};
	struct timespec ts;
	struct pollfd pfd;
	char buf[16], why[256];
	void *big;
	int fd, index;

	if (clock_gettime(CLOCK_REALTIME, &ts) || clock_gettime(CLOCK_MONOTONIC, &ts))
		_exit(10);
	/* modes 0: a read of the kernel's state, as the daemon does at start. */
	if (adjtimex(&tx) < 0 || clock_adjtime(CLOCK_REALTIME, &tx) < 0)
		_exit(11);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0 || write(fd, "x", 1) != 1 || read(fd, buf, sizeof(buf)) != 0)
		_exit(12);
	pfd = (struct pollfd){.fd = fd, .events = POLLIN};
	if (poll(&pfd, 1, 0) < 0)
		_exit(13);
	close(fd);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		_exit(14);
	close(fd);
	big = malloc(1 << 24);
	if (!big)
		_exit(15);
	memset(big, 1, 1 << 24);
	free(big);
	/* The reopen path of `device interface:` (ethtool netlink, AF_UNIX ioctl). */
	if (iface_phc_index("lo", &index, why, sizeof(why)) != -EOPNOTSUPP ||
	    iface_phc_index_ioctl("lo", &index, why, sizeof(why)) != -EOPNOTSUPP)
		_exit(16);
	ts = (struct timespec){0, 1000};
	if (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL))
		_exit(17);
}

START_TEST(loop_calls_are_allowed)
{
	struct outcome o = run(loop_calls);

	ck_assert_msg(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0, "status %#x, stderr: %s",
		      o.status, o.err);
	ck_assert_str_eq(o.err, "");
}
END_TEST

static void call_ptrace(void)
{
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

START_TEST(ptrace_is_refused)
{
	expect_refused(call_ptrace, "101");
}
END_TEST

static void call_clock_settime(void)
{
	struct timespec ts = {1, 0};

	/* CLOCK_MONOTONIC cannot be set: harmless even without a filter. */
	clock_settime(CLOCK_MONOTONIC, &ts);
}

START_TEST(clock_settime_is_refused)
{
	expect_refused(call_clock_settime, "227");
}
END_TEST

static void call_inet_socket(void)
{
	socket(AF_INET, SOCK_DGRAM, 0);
}

START_TEST(inet_socket_is_refused)
{
	expect_refused(call_inet_socket, "41");
}
END_TEST

static void call_kill_init(void)
{
	/* Signal 0 only asks whether init exists. */
	kill(1, 0);
}

START_TEST(kill_of_another_process_is_refused)
{
	expect_refused(call_kill_init, "62");
}
END_TEST

static void call_raise(void)
{
	signal(SIGUSR1, SIG_IGN);
	raise(SIGUSR1);
	kill(getpid(), SIGUSR1);
}

START_TEST(signals_to_self_are_allowed)
{
	struct outcome o = run(call_raise);

	ck_assert_msg(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0, "status %#x, stderr: %s",
		      o.status, o.err);
}
END_TEST

int main(void)
{
	TCase *tc = check_tcase("sandbox", NULL, NULL);

	tcase_add_test(tc, loop_calls_are_allowed);
	tcase_add_test(tc, ptrace_is_refused);
	tcase_add_test(tc, clock_settime_is_refused);
	tcase_add_test(tc, inet_socket_is_refused);
	tcase_add_test(tc, kill_of_another_process_is_refused);
	tcase_add_test(tc, signals_to_self_are_allowed);
	return check_run_tcase("sandbox", tc);
}
