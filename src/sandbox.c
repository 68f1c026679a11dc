/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The seccomp filter. Installed after start-up (config, PHC, control socket, privilege
 * drop), so it allows only what the loop and the paths it can take later need: the PHC
 * readout and clock adjustment, reopening a PHC that went away (sysfs scan, or ethtool
 * netlink for `device interface:`), the control socket, the driftfile, re-reading the leap
 * table on SIGHUP, logging and exit. Calls the daemon never makes in the loop (execve, fork,
 * ptrace, mount, clock_settime, settimeofday, AF_INET sockets...) are refused.
 *
 * A refused call raises SIGSYS (SCMP_ACT_TRAP) rather than killing silently: the handler
 * writes the call's number to stderr (the journal under systemd), which names the missing
 * entry (`scmp_sys_resolver NUMBER`), then dies of SIGSYS so the exit status still says so.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <seccomp.h>

#include "phcsync/sandbox.h"

/* Grouped by purpose, several calls a line. */
/* clang-format off */
static const char *const allowed[] = {
	/*
	 * Waiting, time, and disciplining the clock. clock_settime and settimeofday are not
	 * here: steps use clock_adjtime(ADJ_SETOFFSET).
	 */
	"poll", "ppoll", "nanosleep", "clock_nanosleep", "restart_syscall", "clock_gettime",
	"clock_getres", "gettimeofday", "time", "clock_adjtime", "adjtimex",
	/* PHC readout (PTP_SYS_OFFSET*), SIOCETHTOOL, and terminal checks of stdio. */
	"ioctl",
	/*
	 * Files: the PHC and sysfs, the leap table, the driftfile (written to a temporary
	 * file, synced, renamed over), the self-pipe of the signal handlers, stderr. The
	 * vmclock page is read with lseek + read (no pread64), its changes waited for by poll.
	 */
	"open", "openat", "close", "read", "readv", "write", "writev", "lseek", "fcntl",
	"fstat", "newfstatat", "stat", "lstat", "statx", "access", "faccessat", "faccessat2",
	"readlink", "readlinkat", "getcwd", "getdents64", "fsync", "fdatasync", "rename",
	"renameat", "renameat2", "unlink", "unlinkat",
	/*
	 * The clock simulator (tests/sim/sim_preload.c) runs inside the daemon's process: it
	 * adds and removes fake sysfs entries when a PHC disappears or returns, and writes
	 * its trace. The daemon itself needs none of these.
	 */
	"mkdir", "mkdirat", "rmdir", "symlink", "symlinkat",
	/*
	 * The control socket, syslog, sd_notify, ethtool and route netlink (socket() itself
	 * is limited to AF_UNIX and AF_NETLINK below).
	 */
	"connect", "bind", "getsockname", "getsockopt", "setsockopt", "accept", "accept4",
	"recvfrom", "recvmsg", "sendto", "sendmsg", "shutdown",
	/* Memory (malloc), signals, identity for log lines and libnl's port, exit. */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "futex", "getrandom",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "getpid", "gettid", "getuid",
	"geteuid", "getgid", "getegid", "exit", "exit_group",
};
/* clang-format on */

static void put(char *buf, size_t *len, size_t cap, const char *s)
{
	while (*s && *len < cap)
		buf[(*len)++] = *s++;
}

/* Async-signal-safe: no stdio, no syslog (its lock may be held by the interrupted code). */
static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	char msg[256], digits[16];
	size_t len = 0, n = 0;
	unsigned nr = (unsigned)si->si_syscall;

	(void)ctx;
	do
		digits[n++] = (char)('0' + nr % 10);
	while ((nr /= 10) && n < sizeof(digits));
	put(msg, &len, sizeof(msg), program_invocation_short_name);
	put(msg, &len, sizeof(msg), ": seccomp: refused system call ");
	while (n && len < sizeof(msg))
		msg[len++] = digits[--n];
	put(msg, &len, sizeof(msg),
	    " (not in the allow-list of src/sandbox.c; `seccomp no` turns the filter off)\n");
	/* Nowhere else to report a failed write. */
	(void)!write(STDERR_FILENO, msg, len);
	/* Pending until the handler returns, then fatal: the process dies of SIGSYS. */
	sigaction(sig, &dfl, NULL);
	raise(sig);
}

/* Allow call nr when its first argument is value. */
static int allow_if_arg0(scmp_filter_ctx ctx, int nr, scmp_datum_t value)
{
	struct scmp_arg_cmp cmp = {.arg = 0, .op = SCMP_CMP_EQ, .datum_a = value, .datum_b = 0};

	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &cmp);
}

static int fail(int e, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "seccomp: %s: %s", what, strerror(e));
	return -e;
}

int sandbox_install(char *err, size_t errlen)
{
	struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
	scmp_filter_ctx ctx;
	int ret = 0;

	err[0] = '\0';
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return fail(errno, err, errlen, "cannot handle SIGSYS");
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return fail(ENOMEM, err, errlen, "cannot create the filter");
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && !ret; i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);

		/* Not every architecture has every call (open, stat: aarch64 has only the *at). */
		if (nr == __NR_SCMP_ERROR)
			continue;
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (ret < 0 && nr < 0)
			ret = 0;
		else if (ret < 0)
			snprintf(err, errlen, "seccomp: cannot allow %s: %s", allowed[i],
				 strerror(-ret));
	}
	if (!ret)
		ret = allow_if_arg0(ctx, SCMP_SYS(socket), AF_UNIX);
	if (!ret)
		ret = allow_if_arg0(ctx, SCMP_SYS(socket), AF_NETLINK);
	/* Signals to ourselves only: raise() and the simulator's SIGTERM at its end. */
	if (!ret)
		ret = allow_if_arg0(ctx, SCMP_SYS(tgkill), (scmp_datum_t)getpid());
	if (!ret)
		ret = allow_if_arg0(ctx, SCMP_SYS(kill), (scmp_datum_t)getpid());
	if (ret < 0 && !err[0])
		snprintf(err, errlen, "seccomp: cannot add a rule: %s", strerror(-ret));
	if (!ret) {
		ret = seccomp_load(ctx);
		if (ret < 0)
			snprintf(err, errlen, "seccomp: cannot load the filter: %s",
				 strerror(-ret));
	}
	seccomp_release(ctx);
	return ret;
}
