/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The PTP hardware clock: sysfs scan, hypervisor clock choice, and readings.
 *
 * Files are read with open/read/close and directories with opendir/readdir so that an
 * LD_PRELOAD clock simulator, which interposes those symbols, sees every access (stdio and
 * scandir reach the kernel through glibc-internal calls that bypass interposition).
 */
#include "phcsync/phc.h"
#include "phcsync/units.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Consecutive failed calls after which an automatically chosen method is left. */
#define PHC_FAILURES_MAX 3
/* Calls on a fallback method between two attempts to return to a better one. */
#define PHC_REPROBE_CALLS 64
/*
 * Tries of one call that signals keep interrupting. The daemon's handlers run without
 * SA_RESTART, so a signal during a read ends it with EINTR; that says nothing about the
 * device, and after the last try the read is reported as interrupted (-EINTR), not failed.
 */
#define PHC_EINTR_TRIES 3

struct phc {
	const struct phc_sys *sys;
	int fd;
	clockid_t clockid;
	struct ptp_clock_caps caps;
	int forced; /* a phc_method, or PHC_METHOD_AUTO */
	enum phc_method current;
	bool unsupported[PHC_METHOD_COUNT];
	bool tried[PHC_METHOD_COUNT];
	int failures;		    /* consecutive failed calls of current */
	unsigned calls_on_fallback; /* since the last (re-)probe of better methods */
};

static const char *const method_names[PHC_METHOD_COUNT] = {
	[PHC_METHOD_PRECISE] = "precise",
	[PHC_METHOD_EXTENDED] = "extended",
	[PHC_METHOD_BASIC] = "basic",
	[PHC_METHOD_GETTIME] = "gettime",
};

const char *phc_method_name(int method)
{
	if (method == PHC_METHOD_AUTO)
		return "auto";
	if (method < 0 || method >= PHC_METHOD_COUNT)
		return "unknown";
	return method_names[method];
}

/* open and ioctl are variadic; these give them the fixed signatures of struct phc_sys. */
static int sys_open(const char *path, int flags)
{
	return open(path, flags);
}

static int sys_ioctl(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg);
}

const struct phc_sys phc_sys_default = {
	.open = sys_open,
	.close = close,
	.ioctl = sys_ioctl,
	.clock_gettime = clock_gettime,
};

/* -errno of a failed call, never 0 even if the callee forgot to set errno. */
static int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* ioctl that a signal interrupted is made again; 0 or -errno (-EINTR: every try was). */
static int ioctl_tries(const struct phc_sys *sys, int fd, unsigned long request, void *arg)
{
	for (int i = 0; i < PHC_EINTR_TRIES; i++) {
		if (sys->ioctl(fd, request, arg) >= 0)
			return 0;
		if (errno != EINTR)
			return neg_errno();
	}
	return -EINTR;
}

/* clock_gettime, likewise. */
static int gettime_tries(const struct phc_sys *sys, clockid_t id, struct timespec *ts)
{
	for (int i = 0; i < PHC_EINTR_TRIES; i++) {
		if (sys->clock_gettime(id, ts) == 0)
			return 0;
		if (errno != EINTR)
			return neg_errno();
	}
	return -EINTR;
}

/* ---- sysfs scan ---- */

/* N of a canonical "ptpN" name (no sign, no leading zero), or -1. */
static int ptp_index(const char *name)
{
	const char *d = name + 3;
	long index = 0;

	if (strncmp(name, "ptp", 3) != 0 || *d == '\0' || (d[0] == '0' && d[1] != '\0'))
		return -1;
	for (; *d; d++) {
		if (*d < '0' || *d > '9')
			return -1;
		index = index * 10 + (*d - '0');
		if (index > INT_MAX)
			return -1;
	}
	return (int)index;
}

/* Read a small sysfs attribute into buf, without its trailing newlines. */
static int read_attr(const char *path, char *buf, size_t len)
{
	size_t used = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return neg_errno();
	while (used < len - 1) {
		ssize_t got = read(fd, buf + used, len - 1 - used);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = neg_errno();
			break;
		}
		if (got == 0)
			break;
		used += (size_t)got;
	}
	close(fd);
	buf[used] = '\0';
	while (used > 0 && buf[used - 1] == '\n')
		buf[--used] = '\0';
	return ret;
}

/* Insert info into out[0..*n), kept sorted by index and bounded by max. */
static void insert_sorted(struct phc_info *out, int *n, int max, const struct phc_info *info)
{
	int pos = *n;

	while (pos > 0 && out[pos - 1].index > info->index)
		pos--;
	if (pos >= max)
		return;
	if (*n < max)
		(*n)++;
	memmove(&out[pos + 1], &out[pos], (size_t)(*n - 1 - pos) * sizeof(*out));
	out[pos] = *info;
}

int phc_scan(const char *sysfs_dir, struct phc_info *out, int max)
{
	struct dirent *de;
	DIR *dir;
	int n = 0;

	if (max < 0)
		return -EINVAL;
	dir = opendir(sysfs_dir);
	if (!dir)
		return errno == ENOENT ? 0 : neg_errno();
	while ((de = readdir(dir))) {
		char path[PATH_MAX];
		struct phc_info info;

		info.index = ptp_index(de->d_name);
		if (info.index < 0)
			continue;
		snprintf(info.path, sizeof(info.path), "/dev/ptp%d", info.index);
		if (snprintf(path, sizeof(path), "%s/%s/clock_name", sysfs_dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		/* No readable clock_name: the clock is being removed, or is no PTP clock. */
		if (read_attr(path, info.clock_name, sizeof(info.clock_name)) < 0)
			continue;
		insert_sorted(out, &n, max, &info);
	}
	closedir(dir);
	return n;
}

/* ---- choosing a hypervisor clock ---- */

int phc_hypervisor_rank(const char *clock_name)
{
	/* vmclock first: it also gives cross-timestamps and marks live-migration disruptions. */
	if (strncmp(clock_name, "vmclock", 7) == 0)
		return 0;
	if (strcmp(clock_name, "KVM virtual PTP") == 0)
		return 1;
	if (strcmp(clock_name, "ptp_vmw") == 0)
		return 2;
	if (strcmp(clock_name, "hyperv") == 0)
		return 3;
	return -1;
}

/* Append s at *used, truncated to fit; msg stays terminated. */
static void msg_add(char *msg, size_t msglen, size_t *used, const char *s)
{
	size_t len = strlen(s);

	if (*used + 1 >= msglen)
		return;
	if (len > msglen - 1 - *used)
		len = msglen - 1 - *used;
	memcpy(msg + *used, s, len);
	*used += len;
	msg[*used] = '\0';
}

/* Append "path (name), ..." for the clocks in list of the given rank, or all of them. */
static void msg_list(char *msg, size_t msglen, size_t *used, const struct phc_info *list, int n,
		     bool all, int rank)
{
	for (int i = 0, listed = 0; i < n; i++) {
		if (!all && phc_hypervisor_rank(list[i].clock_name) != rank)
			continue;
		if (listed++)
			msg_add(msg, msglen, used, ", ");
		msg_add(msg, msglen, used, list[i].path);
		msg_add(msg, msglen, used, " (");
		msg_add(msg, msglen, used, list[i].clock_name);
		msg_add(msg, msglen, used, ")");
	}
}

int phc_pick_auto(const struct phc_info *list, int n, char *msg, size_t msglen)
{
	int best = -1, best_rank = INT_MAX, count = 0;
	size_t used = 0;

	if (msg && msglen > 0)
		msg[0] = '\0';
	else
		msglen = 0;
	for (int i = 0; i < n; i++) {
		int rank = phc_hypervisor_rank(list[i].clock_name);

		if (rank < 0)
			continue;
		if (rank < best_rank) {
			best_rank = rank;
			best = i;
			count = 0;
		}
		if (rank == best_rank)
			count++;
	}
	if (count == 1)
		return best;
	if (count > 1) {
		msg_add(msg, msglen, &used, "several hypervisor clocks: ");
		msg_list(msg, msglen, &used, list, n, false, best_rank);
		msg_add(msg, msglen, &used, "; set device to one of them");
		return -EEXIST;
	}
	if (n == 0) {
		msg_add(msg, msglen, &used, "no PTP clocks found");
	} else {
		msg_add(msg, msglen, &used, "no hypervisor PTP clock; found: ");
		msg_list(msg, msglen, &used, list, n, true, -1);
	}
	return -ENOENT;
}

/* ---- open ---- */

/* The kernel's encoding of a file descriptor as a dynamic POSIX clock. */
static clockid_t fd_to_clockid(int fd)
{
	/* Shift as unsigned: left-shifting the negative ~fd is undefined in C. */
	return (clockid_t)(((unsigned)~fd << 3) | 3u);
}

int phc_open(struct phc **out, const char *path, int method, const struct phc_sys *sys)
{
	struct phc *p;
	int ret;

	if (method != PHC_METHOD_AUTO && (method < 0 || method >= PHC_METHOD_COUNT))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->sys = sys;
	for (int i = 0; i < PHC_EINTR_TRIES; i++) {
		p->fd = sys->open(path, O_RDONLY | O_CLOEXEC);
		if (p->fd >= 0 || errno != EINTR)
			break;
	}
	if (p->fd < 0) {
		ret = neg_errno();
		free(p);
		return ret;
	}
	/* Any device file opens; only a PHC answers GETCAPS. */
	ret = ioctl_tries(sys, p->fd, PTP_CLOCK_GETCAPS, &p->caps);
	if (ret < 0) {
		sys->close(p->fd);
		free(p);
		return ret;
	}
	p->clockid = fd_to_clockid(p->fd);
	p->forced = method;
	p->current = method == PHC_METHOD_AUTO ? PHC_METHOD_PRECISE : (enum phc_method)method;
	*out = p;
	return 0;
}

const struct ptp_clock_caps *phc_caps(const struct phc *p)
{
	return &p->caps;
}

enum phc_method phc_current_method(const struct phc *p)
{
	return p->current;
}

clockid_t phc_clockid(const struct phc *p)
{
	return p->clockid;
}

void phc_close(struct phc *p)
{
	if (!p)
		return;
	p->sys->close(p->fd);
	free(p);
}

/* ---- readings ---- */

/*
 * sec carries the sign of the whole value and nsec is always added, so -0.5 s is
 * {-1, 500000000}. False for a value that is malformed or does not fit in int64_t ns.
 */
static bool time_to_ns(int64_t sec, int64_t nsec, int64_t *ns)
{
	if (nsec < 0 || nsec >= NS_PER_S)
		return false;
	if (sec > INT64_MAX / NS_PER_S - 1 || sec < INT64_MIN / NS_PER_S)
		return false;
	*ns = sec * NS_PER_S + nsec;
	return true;
}

static bool ptp_to_ns(const struct ptp_clock_time *t, int64_t *ns)
{
	return time_to_ns(t->sec, t->nsec, ns);
}

static bool ts_to_ns(const struct timespec *ts, int64_t *ns)
{
	return time_to_ns(ts->tv_sec, ts->tv_nsec, ns);
}

static int read_precise(struct phc *p, int n, struct phc_reading *out)
{
	for (int i = 0; i < n; i++) {
		struct ptp_sys_offset_precise req;
		int ret;

		memset(&req, 0, sizeof(req));
		ret = ioctl_tries(p->sys, p->fd, PTP_SYS_OFFSET_PRECISE, &req);
		if (ret < 0)
			return ret;
		if (!ptp_to_ns(&req.device, &out[i].phc_ns) ||
		    !ptp_to_ns(&req.sys_realtime, &out[i].sys_before_ns))
			return -EPROTO;
		out[i].sys_after_ns = out[i].sys_before_ns;
	}
	return n;
}

/*
 * Readings from a burst of timestamps: reading i takes sys, phc, sys from ts[stride i],
 * [stride i + 1] and [stride i + 2].
 */
static int from_stamps(const struct ptp_clock_time *ts, int stride, int n, struct phc_reading *out)
{
	for (int i = 0; i < n; i++) {
		const struct ptp_clock_time *t = ts + stride * i;

		if (!ptp_to_ns(&t[0], &out[i].sys_before_ns) || !ptp_to_ns(&t[1], &out[i].phc_ns) ||
		    !ptp_to_ns(&t[2], &out[i].sys_after_ns))
			return -EPROTO;
	}
	return n;
}

static int read_extended(struct phc *p, int n, struct phc_reading *out)
{
	struct ptp_sys_offset_extended req = {.n_samples = (unsigned)n};
	int ret = ioctl_tries(p->sys, p->fd, PTP_SYS_OFFSET_EXTENDED, &req);

	/* A (sys, phc, sys) triple per reading. */
	return ret < 0 ? ret : from_stamps(&req.ts[0][0], 3, n, out);
}

static int read_basic(struct phc *p, int n, struct phc_reading *out)
{
	struct ptp_sys_offset req = {.n_samples = (unsigned)n};
	int ret = ioctl_tries(p->sys, p->fd, PTP_SYS_OFFSET, &req);

	/* Interleaved sys, phc, sys, phc, ..., sys: each system stamp serves two readings. */
	return ret < 0 ? ret : from_stamps(req.ts, 2, n, out);
}

static int read_gettime(struct phc *p, int n, struct phc_reading *out)
{
	for (int i = 0; i < n; i++) {
		struct timespec before, phc, after;
		int ret;

		/* A retried PHC read stays between the two system reads, only a longer delay. */
		ret = gettime_tries(p->sys, CLOCK_REALTIME, &before);
		if (ret == 0)
			ret = gettime_tries(p->sys, p->clockid, &phc);
		if (ret == 0)
			ret = gettime_tries(p->sys, CLOCK_REALTIME, &after);
		if (ret < 0)
			return ret;
		if (!ts_to_ns(&before, &out[i].sys_before_ns) || !ts_to_ns(&phc, &out[i].phc_ns) ||
		    !ts_to_ns(&after, &out[i].sys_after_ns))
			return -EPROTO;
	}
	return n;
}

static int read_method(struct phc *p, enum phc_method m, int n, struct phc_reading *out)
{
	switch (m) {
	case PHC_METHOD_PRECISE:
		return read_precise(p, n, out);
	case PHC_METHOD_EXTENDED:
		return read_extended(p, n, out);
	case PHC_METHOD_BASIC:
		return read_basic(p, n, out);
	default:
		return read_gettime(p, n, out);
	}
}

/*
 * One attempt in auto mode; marks the method unsupported when the error says the driver
 * lacks it. Old drivers answer an unknown ioctl with EINVAL, which later, once the method
 * is known to exist, means a real failure instead. An interrupted attempt tells nothing.
 */
static int attempt(struct phc *p, enum phc_method m, int n, struct phc_reading *out)
{
	bool first = !p->tried[m];
	int ret = read_method(p, m, n, out);

	if (ret == -EINTR)
		return ret;
	p->tried[m] = true;
	if (ret < 0 && m != PHC_METHOD_GETTIME &&
	    (ret == -EOPNOTSUPP || ret == -ENOTTY || (first && ret == -EINVAL)))
		p->unsupported[m] = true;
	return ret;
}

/* The first method after m (-1: the best) not known to be unsupported; gettime always is. */
static enum phc_method next_supported(const struct phc *p, int m)
{
	for (int i = m + 1; i < PHC_METHOD_GETTIME; i++)
		if (!p->unsupported[i])
			return (enum phc_method)i;
	return PHC_METHOD_GETTIME;
}

/* Try the supported methods better than the current one; switch to the first that works. */
static int reprobe(struct phc *p, int n, struct phc_reading *out)
{
	int ret = -ENOENT;

	for (int i = 0; i < (int)p->current; i++) {
		if (p->unsupported[i])
			continue;
		ret = attempt(p, (enum phc_method)i, n, out);
		if (ret >= 0) {
			p->current = (enum phc_method)i;
			p->failures = 0;
			return ret;
		}
	}
	return ret;
}

static int read_auto(struct phc *p, int n, struct phc_reading *out)
{
	int ret;

	if (next_supported(p, -1) < p->current && ++p->calls_on_fallback >= PHC_REPROBE_CALLS) {
		p->calls_on_fallback = 0;
		ret = reprobe(p, n, out);
		if (ret >= 0)
			return ret;
	}
	for (;;) {
		enum phc_method m = p->current;

		ret = attempt(p, m, n, out);
		if (ret >= 0) {
			p->failures = 0;
			return ret;
		}
		/* Interrupted: a skipped poll, no failure of the method (nor a reason to move). */
		if (ret == -EINTR)
			return ret;
		if (p->unsupported[m]) {
			p->current = next_supported(p, m);
			p->failures = 0;
			continue;
		}
		if (++p->failures >= PHC_FAILURES_MAX && m != PHC_METHOD_GETTIME) {
			enum phc_method next = next_supported(p, m);
			int next_ret;

			/*
			 * Move down only when the next method works now: when every method
			 * fails the device is at fault, not the method, and the best is kept.
			 */
			p->failures = 0;
			next_ret = attempt(p, next, n, out);
			if (next_ret >= 0) {
				p->current = next;
				p->calls_on_fallback = 0;
				return next_ret;
			}
		}
		return ret;
	}
}

int phc_read(struct phc *p, int n, struct phc_reading *out)
{
	if (n <= 0)
		return -EINVAL;
	if (n > PTP_MAX_SAMPLES)
		n = PTP_MAX_SAMPLES;
	if (p->forced != PHC_METHOD_AUTO)
		return read_method(p, p->current, n, out);
	return read_auto(p, n, out);
}

unsigned phc_probe_methods(struct phc *p)
{
	unsigned mask = 0;

	for (int m = 0; m < PHC_METHOD_COUNT; m++) {
		struct phc_reading r;

		if (read_method(p, (enum phc_method)m, 1, &r) >= 0)
			mask |= 1u << m;
	}
	return mask;
}
