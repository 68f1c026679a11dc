/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A stand-in for an independent LD_PRELOAD clock simulator, written to the plain-calls
 * rule's letter (DESIGN.md): it knows sockets and devices, and treats any other fd in a
 * poll set as readable, as such simulators do. It never lets virtual time pass: poll
 * returns at once. Signals come from inside poll, as a simulator delivers them at a
 * scenario's end: SIGHUP at poll PLAIN_HUP_AT, SIGTERM at poll PLAIN_TERM_AT, each with
 * the EINTR a real signal gives. What it saw goes to PLAIN_REPORT, one finding a line:
 *
 *   poll-fd FD MODE     an fd in a poll set that is no socket nor device (octal st_mode)
 *   lookup CALL PATH    access or stat of a path under a PLAIN_WATCH prefix (':'-separated)
 *   spin                PLAIN_SPIN_MAX polls in a row found an fd ready: the loop spins
 *   clock-read CALL ID  with PLAIN_CLOCK_READS=1, any reading of a clock (clock_gettime,
 *                       and clock_adjtime or adjtimex asked for the state only)
 *
 * Faults: PLAIN_BOOTTIME_ERRNO fails CLOCK_BOOTTIME with that errno; PLAIN_MONO_ERRNO fails
 * CLOCK_MONOTONIC after PLAIN_MONO_OK_CALLS good calls (0: from the first).
 *
 * Safety: it refuses to run while the process holds CAP_SYS_TIME, and it ends the process
 * (exit 99) at any attempt to set or adjust a clock, before the call reaches the kernel.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#define CAP_SYS_TIME_BIT 25

static int report_fd = -1;
static long polls, ready_in_a_row;
static bool reported_fd;
static long hup_at = -1, term_at = -1, spin_max = 1000;
static int boottime_errno, mono_errno;
static long mono_ok_calls = -1;
static const char *watch;
static bool clock_reads;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void report(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	if (report_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	if (write(report_fd, line, (size_t)n) < 0) {
		/* Nowhere else to say it; the test then misses the line and fails. */
	}
}

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 10) : dflt;
}

/* The bits of a "CapXxx:" line of /proc/self/status; all set when it cannot be read. */
static unsigned long long cap_set(const char *status, const char *key)
{
	const char *at = strstr(status, key);

	return at ? strtoull(at + strlen(key), NULL, 16) : ~0ull;
}

/* True when CAP_SYS_TIME is permitted or effective, or when that cannot be known. */
static bool holds_sys_time(void)
{
	char buf[4096];
	ssize_t got;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return true;
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got <= 0)
		return true;
	buf[got] = '\0';
	return ((cap_set(buf, "CapPrm:") | cap_set(buf, "CapEff:")) >> CAP_SYS_TIME_BIT) & 1;
}

__attribute__((constructor)) static void plain_init(void)
{
	const char *path = getenv("PLAIN_REPORT");

	if (holds_sys_time()) {
		static const char msg[] = "plain_preload: refusing to run with CAP_SYS_TIME\n";

		if (write(2, msg, sizeof(msg) - 1) < 0) {
			/* Exiting anyway. */
		}
		_exit(98);
	}
	if (path)
		report_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	hup_at = env_long("PLAIN_HUP_AT", -1);
	term_at = env_long("PLAIN_TERM_AT", -1);
	spin_max = env_long("PLAIN_SPIN_MAX", 1000);
	boottime_errno = (int)env_long("PLAIN_BOOTTIME_ERRNO", 0);
	mono_errno = (int)env_long("PLAIN_MONO_ERRNO", 0);
	mono_ok_calls = env_long("PLAIN_MONO_OK_CALLS", 0);
	watch = getenv("PLAIN_WATCH");
	clock_reads = env_long("PLAIN_CLOCK_READS", 0) != 0;
}

/* ---- the clocks ---- */

int clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);

	if (!real)
		real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	if (clock_reads)
		report("clock-read clock_gettime %d\n", (int)id);
	if (id == CLOCK_BOOTTIME && boottime_errno) {
		errno = boottime_errno;
		return -1;
	}
	if (id == CLOCK_MONOTONIC && mono_errno) {
		if (mono_ok_calls > 0) {
			mono_ok_calls--;
		} else {
			errno = mono_errno;
			return -1;
		}
	}
	return real(id, ts);
}

static void refuse(const char *call)
{
	report("adjust %s\n", call);
	_exit(99);
}

int clock_adjtime(clockid_t id, struct timex *tx)
{
	static int (*real)(clockid_t, struct timex *);

	if (tx->modes)
		refuse("clock_adjtime");
	if (clock_reads)
		report("clock-read clock_adjtime %d\n", (int)id);
	if (!real)
		real = (int (*)(clockid_t, struct timex *))dlsym(RTLD_NEXT, "clock_adjtime");
	return real(id, tx);
}

int adjtimex(struct timex *tx)
{
	static int (*real)(struct timex *);

	if (tx->modes)
		refuse("adjtimex");
	if (clock_reads)
		report("clock-read adjtimex 0\n");
	if (!real)
		real = (int (*)(struct timex *))dlsym(RTLD_NEXT, "adjtimex");
	return real(tx);
}

int ntp_adjtime(struct timex *tx)
{
	return adjtimex(tx);
}

int clock_settime(clockid_t id, const struct timespec *ts)
{
	(void)id;
	(void)ts;
	refuse("clock_settime");
	return -1;
}

int settimeofday(const struct timeval *tv, const struct timezone *tz)
{
	(void)tv;
	(void)tz;
	refuse("settimeofday");
	return -1;
}

int adjtime(const struct timeval *delta, struct timeval *olddelta)
{
	(void)delta;
	(void)olddelta;
	refuse("adjtime");
	return -1;
}

/* ---- lookups before open ---- */

static void check_lookup(const char *call, const char *path)
{
	const char *w = watch;

	while (path && w && *w) {
		const char *end = strchr(w, ':');
		size_t len = end ? (size_t)(end - w) : strlen(w);

		if (len && strncmp(path, w, len) == 0) {
			report("lookup %s %s\n", call, path);
			return;
		}
		w = end ? end + 1 : NULL;
	}
}

/* Hand the call on to the next definition of fn (libc's). */
#define PASS_ON(fn, ...)                                                                           \
	static __typeof__(fn) *real;                                                               \
	if (!real)                                                                                 \
		real = (__typeof__(fn) *)dlsym(RTLD_NEXT, #fn);                                    \
	return real(__VA_ARGS__)

int access(const char *path, int mode)
{
	check_lookup("access", path);
	PASS_ON(access, path, mode);
}

int faccessat(int dirfd, const char *path, int mode, int flags)
{
	check_lookup("faccessat", path);
	PASS_ON(faccessat, dirfd, path, mode, flags);
}

int euidaccess(const char *path, int mode)
{
	check_lookup("euidaccess", path);
	PASS_ON(euidaccess, path, mode);
}

int eaccess(const char *path, int mode)
{
	check_lookup("eaccess", path);
	PASS_ON(eaccess, path, mode);
}

int stat(const char *path, struct stat *sb)
{
	check_lookup("stat", path);
	PASS_ON(stat, path, sb);
}

int lstat(const char *path, struct stat *sb)
{
	check_lookup("lstat", path);
	PASS_ON(lstat, path, sb);
}

int fstatat(int dirfd, const char *path, struct stat *sb, int flags)
{
	check_lookup("fstatat", path);
	PASS_ON(fstatat, dirfd, path, sb, flags);
}

int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *sb)
{
	check_lookup("statx", path);
	PASS_ON(statx, dirfd, path, flags, mask, sb);
}

/* ---- waiting ---- */

/* The kernel's answer for one fd, without waiting. */
static int poll_now(struct pollfd *fd)
{
	static int (*real)(struct pollfd *, nfds_t, int);

	if (!real)
		real = (int (*)(struct pollfd *, nfds_t, int))dlsym(RTLD_NEXT, "poll");
	return real(fd, 1, 0);
}

static int interrupt(int sig)
{
	raise(sig);
	errno = EINTR;
	return -1;
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	int ready = 0;

	(void)timeout_ms;
	polls++;
	for (nfds_t i = 0; i < nfds; i++) {
		struct stat sb;

		fds[i].revents = 0;
		if (fds[i].fd < 0)
			continue;
		if (fstat(fds[i].fd, &sb) < 0) {
			fds[i].revents = POLLNVAL;
		} else if (S_ISSOCK(sb.st_mode) || S_ISCHR(sb.st_mode)) {
			struct pollfd one = fds[i];

			if (poll_now(&one) > 0)
				fds[i].revents = one.revents;
		} else {
			if (!reported_fd)
				report("poll-fd %d %o\n", fds[i].fd, (unsigned)sb.st_mode);
			reported_fd = true;
			fds[i].revents = fds[i].events & POLLIN;
		}
		if (fds[i].revents)
			ready++;
	}
	if (polls == hup_at)
		return interrupt(SIGHUP);
	if (polls == term_at)
		return interrupt(SIGTERM);
	ready_in_a_row = ready ? ready_in_a_row + 1 : 0;
	if (ready_in_a_row == spin_max)
		report("spin\n");
	return ready;
}
