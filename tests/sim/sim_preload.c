/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libphcsim.so: run an unmodified program against simulated clocks. Interposes the libc
 * time, wait, PHC device and sysfs calls; keeps true time, the guest kernel model
 * (sim_kernel.c) and the PHC devices of a scenario; writes the truth to a trace. Time is
 * virtual: it advances only while the program waits (and by PHC readout delays), so runs
 * are fast and a scenario and seed always give the same trace. The program is assumed to
 * be single-threaded, as phcsyncd and phc2sys are.
 *
 * Safety: every call that would set the real clock is simulated, never forwarded; the
 * library refuses to load outside the phcsim harness (see phcsim.c).
 */
/* Both open and open64 (and friends) are interposed, so the headers must not alias them. */
#undef _FILE_OFFSET_BITS
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include <linux/ptp_clock.h>

#include "sim_kernel.h"
#include "sim_rng.h"
#include "sim_scenario.h"

#define NS SIM_NS_PER_S
#define CELL_NS 100000000LL /* the oscillator error is constant over 0.1 s cells */
#define GRACE_NS (10 * NS)  /* how long after SIGTERM the program may keep waiting */
#define MAX_FD 4096
/*
 * Reading a system clock takes no time, except in a busy loop: past SPIN_READS reads in a
 * row without time passing (chronyd measures the clock's precision so), each read takes
 * SPIN_READ_NS, or the loop would never end.
 */
#define SPIN_READS 1000
#define SPIN_READ_NS 20
#define PTP_MAJOR 248 /* any major: programs only print it */
#define SYSFS_PTP "/sys/class/ptp"

/* Checked by the harness (dlsym) before it trusts a library path. */
__attribute__((visibility("default"))) const char sim_preload_abi[] = "phcsim-1";

struct dev {
	const struct sim_phc_conf *conf;
	int index;	     /* current N of /dev/ptpN; -1 while removed */
	unsigned generation; /* bumped on removal: fds of the old instance get ENODEV */
	double err_ns;	     /* PHC error vs its timescale at err_t_ns */
	int64_t err_t_ns;
	double freq_ppb; /* PHC frequency error */
	int error;	 /* errno every access returns, until error_until_ns */
	int64_t error_until_ns;
	bool frozen;		 /* phc_freeze: every read gives frozen_ns until freeze_until_ns */
	int64_t frozen_ns;	 /* the PHC's value when it stopped (steps move it too) */
	int64_t freeze_until_ns; /* then it runs on from frozen_ns */
	int64_t backstep_ns;	 /* phc_backstep: each read first moves the PHC back by this */
	int64_t backstep_total_ns; /* how far this phc_backstep has moved it so far */
	int64_t backstep_until_ns; /* 0: none */
	int64_t spike_ns;	   /* phc_delay_spike: each read's window is longer by this */
	int64_t spike_until_ns;	   /* 0: none */
	int64_t back_at_ns;	   /* while removed: when it returns, as ptp<back_index> */
	int back_index;
	uint64_t reads;
	int64_t rate_sec; /* reads counted in this true second, for max_reads_per_s */
	int rate_count;
	struct sim_rng rng;
};

struct fdmap {
	struct dev *dev;
	unsigned generation;
};

static struct world {
	bool ready;
	struct sim_scenario sc;
	struct sim_kernel k;
	int64_t now_ns; /* true time since the start */
	int tai_utc_s;	/* true TAI-UTC now */
	int next_leap;
	int64_t leap_at_ns[SIM_MAX_LEAPS];
	int next_event;
	int64_t next_tick_s;
	int64_t cell;
	double rw_ppb;	 /* system oscillator: random-walk part */
	double step_ppb; /* system oscillator: sum of sys_freq_step events */
	double osc_ppb;	 /* system oscillator error in the current cell */
	struct sim_rng osc_rng;
	struct sim_rng getrandom_rng; /* what getrandom() gives the program */
	bool suspended;
	int64_t resume_at_ns;
	int64_t slept_ns;
	int64_t inject_ns;
	bool term_sent;
	int ndev;
	struct dev dev[SIM_MAX_PHC];
	struct fdmap fds[MAX_FD];
	uint64_t reads_total;
	int spin; /* system clock reads since time last passed */
	FILE *trace;
	char dir[PATH_MAX]; /* root of the fake sysfs */
	bool own_dir;
	bool chan;    /* the pipes to and from the harness stay open for exec events */
	int chan_out; /* to the harness: "exec N\n" */
	int chan_in;  /* from it: "status S\n" or "timeout S\n" */
	int nexec;    /* exec events, as indices into sc.ev in time order */
	int exec_ev[SIM_MAX_EXEC];
	int exec_next;	   /* the next to run, or the one running */
	bool frozen;	   /* its command runs: waits are real and time stands */
	bool strict;	   /* phcsim --strict: behave like an independent LD_PRELOAD simulator */
	long strict_spins; /* polls in a row that --strict answered at once */
	struct vmc {
		uint32_t seq;
		uint64_t marker, generation, flags;
		int status, leap, tai_s;
		uint64_t seq_reads;
		bool notified; /* a change was signalled since the last wait checked */
		char fifo[PATH_MAX];
	} vmc;
	bool vmc_fd[MAX_FD];
	int64_t vmc_off[MAX_FD];
} w;

/* What an interposed wait waits on, for the real waits while an exec'd command runs. */
struct waitset {
	const sigset_t *mask;
	struct pollfd *fds; /* poll, ppoll */
	nfds_t nfds;
	int nsel; /* select, pselect: the program's sets, and copies made before the call */
	fd_set *rd, *wr, *ex;
	fd_set rd0, wr0, ex0;
	bool epoll; /* epoll_wait */
	int epfd;
	struct epoll_event *ev;
	int maxev;
};

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("libphcsim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (w.trace)
		fflush(w.trace);
	_exit(2);
}

static void *real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (!f)
		die("cannot find libc's %s", name);
	return f;
}

#define REAL(ret, name, ...)                                                                       \
	static ret (*real_##name)(__VA_ARGS__);                                                    \
	if (!real_##name)                                                                          \
	real_##name = (ret(*)(__VA_ARGS__))real(#name)

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && (a < 0) != (b < 0))
		q--;
	return q;
}

static struct timespec ns_to_ts(int64_t ns)
{
	struct timespec ts;

	ts.tv_sec = floor_div(ns, NS);
	ts.tv_nsec = ns - (int64_t)ts.tv_sec * NS;
	return ts;
}

static int64_t ts_to_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * NS + ts->tv_nsec;
}

/* REALTIME, MONOTONIC and the other clocks the kernel model keeps. */
static bool is_sim_clock(clockid_t id)
{
	int64_t ns;

	return sim_kernel_gettime(&w.k, id, &ns) == 0;
}

static int64_t clock_now(clockid_t id)
{
	int64_t ns = 0;

	sim_kernel_gettime(&w.k, id, &ns);
	return ns;
}

/* ---- truth ---- */

static int64_t tai_true_ns(int64_t t_ns)
{
	return (w.sc.start_s + w.sc.tai_utc_s) * NS + t_ns;
}

static int64_t utc_true_ns(void)
{
	return tai_true_ns(w.now_ns) - (int64_t)w.tai_utc_s * NS;
}

static int64_t offset_true_ns(void)
{
	return clock_now(CLOCK_REALTIME) - utc_true_ns();
}

/* The PHC at true time t_ns if it were not frozen. */
static int64_t phc_running(const struct dev *d, int64_t t_ns)
{
	int64_t base = tai_true_ns(t_ns);
	double err = d->err_ns + d->freq_ppb * 1e-9 * (double)(t_ns - d->err_t_ns);

	if (!d->conf->tai)
		base -= (int64_t)w.tai_utc_s * NS;
	return base + llround(err);
}

static bool phc_frozen_at(const struct dev *d, int64_t t_ns)
{
	return d->frozen && t_ns < d->freeze_until_ns;
}

/*
 * The PHC's value at true time t_ns (which may lie inside a readout window, so past the
 * end of a freeze whose end has not been folded into err_ns yet).
 */
static int64_t phc_at(const struct dev *d, int64_t t_ns)
{
	if (!d->frozen)
		return phc_running(d, t_ns);
	if (t_ns < d->freeze_until_ns)
		return d->frozen_ns;
	return phc_running(d, t_ns) - (phc_running(d, d->freeze_until_ns) - d->frozen_ns);
}

/* A jump of the PHC, frozen or not. */
static void phc_jump(struct dev *d, int64_t step_ns)
{
	d->err_ns += (double)step_ns;
	if (d->frozen)
		d->frozen_ns += step_ns;
}

static int64_t add_sat(int64_t a, int64_t b)
{
	return b > INT64_MAX - a ? INT64_MAX : a + b;
}

static double freq_err_ppb(void)
{
	return ((1.0 + w.osc_ppb * 1e-9) * (1.0 + sim_kernel_adj_ppb(&w.k) * 1e-9) - 1.0) * 1e9;
}

/* ---- trace ---- */

static const char *fmt_t(char *buf, size_t len, int64_t ns)
{
	snprintf(buf, len, "%lld.%09lld", (long long)(ns / NS), (long long)(ns % NS));
	return buf;
}

__attribute__((format(printf, 2, 3))) static void trace(const char *type, const char *fmt, ...)
{
	char t[32];
	va_list ap;

	if (!w.trace)
		return;
	fprintf(w.trace, "{\"t\":%s,\"type\":\"%s\"", fmt_t(t, sizeof(t), w.now_ns), type);
	va_start(ap, fmt);
	vfprintf(w.trace, fmt, ap);
	va_end(ap);
	fputs("}\n", w.trace);
}

static void trace_tick(void)
{
	trace("tick",
	      ",\"offset_ns\":%lld,\"freq_ppb\":%.3f,\"osc_ppb\":%.3f,\"status\":%d,\"state\":%d,"
	      "\"tai\":%d,\"maxerror_us\":%ld,\"esterror_us\":%ld,\"phc_reads\":%llu",
	      (long long)offset_true_ns(), freq_err_ppb(), w.osc_ppb, w.k.status, w.k.state,
	      w.k.tai_s, w.k.maxerror_us, w.k.esterror_us, (unsigned long long)w.reads_total);
}

/* ---- fake sysfs ---- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f))
		die("cannot write %s: %s", path, strerror(errno));
}

static void sysfs_add(int index, const char *clock_name)
{
	char path[PATH_MAX + 64], text[96];

	snprintf(path, sizeof(path), "%s/devices/ptp%d", w.dir, index);
	if (mkdir(path, 0755) && errno != EEXIST)
		die("cannot create %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/devices/ptp%d/clock_name", w.dir, index);
	snprintf(text, sizeof(text), "%s\n", clock_name);
	write_file(path, text);
	snprintf(path, sizeof(path), "%s/devices/ptp%d/dev", w.dir, index);
	snprintf(text, sizeof(text), "%d:%d\n", PTP_MAJOR, index);
	write_file(path, text);
	snprintf(path, sizeof(path), "%s/devices/ptp%d/max_adjustment", w.dir, index);
	write_file(path, "0\n");
	/* Like sysfs, the class directory holds symlinks to the devices. */
	snprintf(path, sizeof(path), "%s/class/ptp/ptp%d", w.dir, index);
	snprintf(text, sizeof(text), "../../devices/ptp%d", index);
	if (symlink(text, path))
		die("cannot create %s: %s", path, strerror(errno));
}

static void sysfs_remove(int index)
{
	static const char *const files[] = {"clock_name", "dev", "max_adjustment"};
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/class/ptp/ptp%d", w.dir, index);
	unlink(path);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/devices/ptp%d/%s", w.dir, index, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/devices/ptp%d", w.dir, index);
	rmdir(path);
}

static void sysfs_init(void)
{
	const char *dir = getenv("PHCSIM_DIR");
	char path[PATH_MAX + 64];

	if (dir && *dir) {
		snprintf(w.dir, sizeof(w.dir), "%s", dir);
	} else {
		snprintf(w.dir, sizeof(w.dir), "/tmp/phcsim.XXXXXX");
		if (!mkdtemp(w.dir))
			die("cannot create a temporary directory: %s", strerror(errno));
		w.own_dir = true;
	}
	snprintf(path, sizeof(path), "%s/class", w.dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/class/ptp", w.dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/devices", w.dir);
	if (mkdir(path, 0755) && errno != EEXIST)
		die("cannot create %s: %s", path, strerror(errno));
}

__attribute__((destructor)) static void sysfs_cleanup(void)
{
	char path[PATH_MAX + 64];

	if (!w.own_dir)
		return;
	for (int i = 0; i < w.ndev; i++)
		if (w.dev[i].index >= 0)
			sysfs_remove(w.dev[i].index);
	snprintf(path, sizeof(path), "%s/class/ptp", w.dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/class", w.dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/devices", w.dir);
	rmdir(path);
	rmdir(w.dir);
}

/* /sys/class/ptp[/...] -> the same path under the fake sysfs; false for other paths. */
static bool sysfs_path(const char *path, char *out, size_t len)
{
	size_t n = strlen(SYSFS_PTP);

	if (!w.ready || !path || strncmp(path, SYSFS_PTP, n) || (path[n] && path[n] != '/'))
		return false;
	snprintf(out, len, "%s/class/ptp%s", w.dir, path + n);
	return true;
}

/* N for "/dev/ptpN", else -1. */
static int ptp_path_index(const char *path)
{
	const char *p;
	int n = 0;

	if (!w.ready || !path || strncmp(path, "/dev/ptp", 8) || !path[8])
		return -1;
	for (p = path + 8; *p; p++) {
		if (*p < '0' || *p > '9' || n > 9999)
			return -1;
		n = n * 10 + (*p - '0');
	}
	return n;
}

static struct dev *dev_by_index(int index)
{
	for (int i = 0; i < w.ndev; i++)
		if (w.dev[i].index == index)
			return &w.dev[i];
	return NULL;
}

static struct dev *dev_by_initial_index(int index)
{
	for (int i = 0; i < w.ndev; i++)
		if (w.dev[i].conf->index == index)
			return &w.dev[i];
	return NULL;
}

/* ---- the passage of time ---- */

static void osc_enter_cell(void)
{
	const struct sim_scenario *s = &w.sc;
	double t_mid_s = ((double)w.cell + 0.5) * CELL_NS / NS;

	if (w.cell > 0 && s->sys_random_walk_ppb > 0)
		w.rw_ppb += sim_rng_gauss(&w.osc_rng) * s->sys_random_walk_ppb *
			    sqrt((double)CELL_NS / NS);
	w.osc_ppb = s->sys_freq_ppm * 1000.0 + w.step_ppb + w.rw_ppb;
	if (s->sys_sine_period_s > 0)
		w.osc_ppb +=
			s->sys_sine_ppm * 1000.0 * sin(2.0 * M_PI * t_mid_s / s->sys_sine_period_s);
}

static void vmc_event(const struct sim_event *e, const char *name);

static void apply_event(const struct sim_event *e)
{
	struct dev *d = e->type == SIM_EV_SYS_FREQ_STEP || e->type == SIM_EV_SUSPEND ||
					e->type == SIM_EV_EXEC || e->type >= SIM_EV_VMCLOCK_MIGRATE
				? NULL
				: dev_by_initial_index(e->dev);
	const char *name = sim_event_name(e->type);

	switch (e->type) {
	case SIM_EV_VMCLOCK_MIGRATE:
	case SIM_EV_VMCLOCK_RESTORE:
	case SIM_EV_VMCLOCK_MARKER:
	case SIM_EV_VMCLOCK_TOUCH:
	case SIM_EV_VMCLOCK_FLAGS:
	case SIM_EV_VMCLOCK_STATUS:
	case SIM_EV_VMCLOCK_LEAP:
	case SIM_EV_VMCLOCK_TAI:
		vmc_event(e, name);
		break;
	case SIM_EV_PHC_STEP:
		phc_jump(d, e->value_ns);
		trace("event", ",\"event\":\"%s\",\"dev\":%d,\"step_ns\":%lld", name, e->dev,
		      (long long)e->value_ns);
		break;
	case SIM_EV_PHC_FREQ:
		d->err_ns += d->freq_ppb * 1e-9 * (double)(w.now_ns - d->err_t_ns);
		d->err_t_ns = w.now_ns;
		d->freq_ppb = e->value;
		trace("event", ",\"event\":\"%s\",\"dev\":%d,\"freq_ppb\":%.3f", name, e->dev,
		      e->value);
		break;
	case SIM_EV_SYS_FREQ_STEP:
		w.step_ppb += e->value * 1000.0;
		osc_enter_cell();
		trace("event", ",\"event\":\"%s\",\"step_ppb\":%.3f", name, e->value * 1000.0);
		break;
	case SIM_EV_SUSPEND:
		if (w.suspended)
			break;
		w.suspended = true;
		w.slept_ns = e->value_ns;
		w.resume_at_ns = w.now_ns + e->value_ns;
		/* By default REALTIME learns the sleep from a 1 s resolution RTC. */
		w.inject_ns =
			e->has_inject ? e->value_ns + e->inject_ns : e->value_ns - e->value_ns % NS;
		trace("event", ",\"event\":\"%s\",\"sleep_ns\":%lld,\"inject_ns\":%lld", name,
		      (long long)e->value_ns, (long long)w.inject_ns);
		break;
	case SIM_EV_PHC_ERROR:
		d->error = e->err;
		d->error_until_ns = w.now_ns + e->value_ns;
		trace("event", ",\"event\":\"%s\",\"dev\":%d,\"errno\":\"%s\",\"until\":%lld", name,
		      e->dev, strerror(e->err), (long long)(d->error_until_ns / NS));
		break;
	case SIM_EV_EXEC:
		break; /* run by the waits, which stop at it (see wait_until) */
	case SIM_EV_PHC_FREEZE:
		/* A freeze during a freeze starts afresh from the value the PHC shows now. */
		d->frozen_ns = phc_at(d, w.now_ns);
		d->frozen = true;
		d->freeze_until_ns = add_sat(w.now_ns, e->value_ns);
		trace("event", ",\"event\":\"%s\",\"dev\":%d,\"until\":%lld", name, e->dev,
		      (long long)(d->freeze_until_ns / NS));
		break;
	case SIM_EV_PHC_BACKSTEP:
		d->backstep_ns = e->size_ns;
		d->backstep_total_ns = 0;
		d->backstep_until_ns = add_sat(w.now_ns, e->value_ns);
		trace("event", ",\"event\":\"%s\",\"dev\":%d,\"step_ns\":%lld,\"until\":%lld", name,
		      e->dev, (long long)e->size_ns, (long long)(d->backstep_until_ns / NS));
		break;
	case SIM_EV_PHC_DELAY_SPIKE:
		d->spike_ns = e->size_ns;
		d->spike_until_ns = add_sat(w.now_ns, e->value_ns);
		trace("event", ",\"event\":\"%s\",\"dev\":%d,\"until\":%lld,\"delay_ns\":%lld",
		      name, e->dev, (long long)(d->spike_until_ns / NS), (long long)e->size_ns);
		break;
	case SIM_EV_PHC_REMOVE:
		if (d->index < 0)
			break;
		sysfs_remove(d->index);
		trace("event", ",\"event\":\"%s\",\"dev\":%d,\"index\":%d,\"back_index\":%d", name,
		      e->dev, d->index, e->new_index);
		d->index = -1;
		d->generation++;
		d->back_at_ns = w.now_ns + e->value_ns;
		d->back_index = e->new_index;
		break;
	}
}

/* Everything due at w.now_ns, in a fixed order so traces are reproducible. */
static void at_instant(void)
{
	if (w.now_ns == (w.cell + 1) * CELL_NS) {
		w.cell++;
		osc_enter_cell();
	}
	while (w.next_leap < w.sc.nleaps && w.leap_at_ns[w.next_leap] <= w.now_ns) {
		w.tai_utc_s += w.sc.leap[w.next_leap].sign;
		trace("event", ",\"event\":\"leap\",\"sign\":%d,\"tai_utc\":%d",
		      w.sc.leap[w.next_leap].sign, w.tai_utc_s);
		w.next_leap++;
	}
	if (w.suspended && w.now_ns >= w.resume_at_ns) {
		w.suspended = false;
		sim_kernel_resume(&w.k, w.slept_ns, w.inject_ns);
		trace("event", ",\"event\":\"resume\",\"offset_ns\":%lld",
		      (long long)offset_true_ns());
	}
	for (int i = 0; i < w.ndev; i++) {
		struct dev *d = &w.dev[i];

		if (d->error && w.now_ns >= d->error_until_ns) {
			d->error = 0;
			trace("event", ",\"event\":\"phc_error_end\",\"dev\":%d", d->conf->index);
		}
		if (d->frozen && w.now_ns >= d->freeze_until_ns) {
			/* It runs on from where it stopped: behind by the time it stood still. */
			int64_t lag_ns = phc_running(d, d->freeze_until_ns) - d->frozen_ns;

			d->err_ns -= (double)lag_ns;
			d->frozen = false;
			trace("event",
			      ",\"event\":\"phc_freeze_end\",\"dev\":%d,\"offset_ns\":%lld",
			      d->conf->index, (long long)-lag_ns);
		}
		if (d->backstep_until_ns && w.now_ns >= d->backstep_until_ns) {
			d->backstep_until_ns = 0;
			trace("event",
			      ",\"event\":\"phc_backstep_end\",\"dev\":%d,\"offset_ns\":%lld",
			      d->conf->index, (long long)-d->backstep_total_ns);
		}
		if (d->spike_until_ns && w.now_ns >= d->spike_until_ns) {
			d->spike_until_ns = 0;
			trace("event", ",\"event\":\"phc_delay_spike_end\",\"dev\":%d",
			      d->conf->index);
		}
		if (d->index < 0 && w.now_ns >= d->back_at_ns) {
			if (dev_by_index(d->back_index)) {
				/* The number is taken: come back at the next free one. */
				while (dev_by_index(d->back_index))
					d->back_index++;
			}
			d->index = d->back_index;
			sysfs_add(d->index, d->conf->clock_name);
			trace("event", ",\"event\":\"phc_return\",\"dev\":%d,\"index\":%d",
			      d->conf->index, d->index);
		}
	}
	while (w.next_event < w.sc.nevents && w.sc.ev[w.next_event].t_ns <= w.now_ns)
		apply_event(&w.sc.ev[w.next_event++]);
	if (w.now_ns == w.next_tick_s * NS) {
		trace_tick();
		w.next_tick_s++;
	}
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static void advance_to(int64_t target_ns)
{
	if (w.now_ns < target_ns)
		w.spin = 0;
	while (w.now_ns < target_ns) {
		int64_t next = min64(target_ns, (w.cell + 1) * CELL_NS);
		int leap;

		next = min64(next, w.next_tick_s * NS);
		if (w.next_event < w.sc.nevents)
			next = min64(next, w.sc.ev[w.next_event].t_ns);
		if (w.next_leap < w.sc.nleaps)
			next = min64(next, w.leap_at_ns[w.next_leap]);
		if (w.suspended)
			next = min64(next, w.resume_at_ns);
		for (int i = 0; i < w.ndev; i++) {
			if (w.dev[i].error)
				next = min64(next, w.dev[i].error_until_ns);
			if (w.dev[i].frozen)
				next = min64(next, w.dev[i].freeze_until_ns);
			if (w.dev[i].backstep_until_ns)
				next = min64(next, w.dev[i].backstep_until_ns);
			if (w.dev[i].spike_until_ns)
				next = min64(next, w.dev[i].spike_until_ns);
			if (w.dev[i].index < 0)
				next = min64(next, w.dev[i].back_at_ns);
		}
		if (!w.suspended) {
			leap = sim_kernel_advance(&w.k, next - w.now_ns, w.osc_ppb);
			w.now_ns = next;
			if (leap)
				trace("kernel_leap", ",\"sign\":%d,\"tai\":%d", -leap, w.k.tai_s);
		} else {
			w.now_ns = next;
		}
		at_instant();
	}
}

static void raise_term(const sigset_t *mask)
{
	sigset_t old;

	if (mask)
		sigprocmask(SIG_SETMASK, mask, &old);
	raise(SIGTERM);
	if (mask)
		sigprocmask(SIG_SETMASK, &old, NULL);
}

/*
 * A wait of step_ns true time is about to start: at the end of the scenario deliver
 * SIGTERM once (-EINTR), and end a program that keeps waiting long after it.
 */
static int end_check(int64_t step_ns, const sigset_t *mask)
{
	int64_t end = w.sc.duration_ns;

	if (!w.term_sent) {
		if (step_ns < end - w.now_ns)
			return 0;
		advance_to(end);
		w.term_sent = true;
		trace("end", ",\"signal\":\"SIGTERM\"");
		if (w.trace)
			fflush(w.trace);
		raise_term(mask);
		return -EINTR;
	}
	if (step_ns < end + GRACE_NS - w.now_ns)
		return 0;
	advance_to(end + GRACE_NS);
	trace("abort", ",\"reason\":\"still waiting 10 s after SIGTERM\"");
	if (w.trace)
		fflush(w.trace);
	fprintf(stderr, "libphcsim: the program still waits 10 simulated seconds after "
			"SIGTERM at the end of the scenario; exiting with status 124\n");
	_exit(124);
}

/* ---- the vmclock device ---- */

#define VMC_PAGE_LEN 112
#define VMC_FLAG_TAI_VALID (1ull << 0)
#define VMC_FLAG_MAXERROR_VALID (1ull << 6)
#define VMC_FLAG_GEN_PRESENT (1ull << 8)
#define VMC_FLAG_NOTIFY (1ull << 9)

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The page as the host wrote it, with seq as a reader of seq_count sees it. */
static void vmc_page(uint8_t *p, uint32_t seq)
{
	const struct sim_vmclock_conf *c = &w.sc.vmclock;

	memset(p, 0, VMC_PAGE_LEN);
	put_le(p + 0, strcmp(c->bad, "magic") ? 0x4b4c4356u : 0x4b4c4357u, 4);
	put_le(p + 4, strcmp(c->bad, "size") ? 4096 : 64, 4);
	put_le(p + 8, strcmp(c->bad, "version") ? 1 : 2, 2);
	p[10] = 0xff; /* no counter: an event source, like Firecracker's and QEMU's */
	p[11] = 0;    /* UTC */
	put_le(p + 12, seq, 4);
	put_le(p + 16, w.vmc.marker, 8);
	put_le(p + 24, w.vmc.flags, 8);
	p[34] = (uint8_t)w.vmc.status;
	put_le(p + 36, (uint16_t)w.vmc.tai_s, 2);
	p[38] = (uint8_t)w.vmc.leap;
	if (c->maxerror_ns >= 0)
		put_le(p + 96, (uint64_t)c->maxerror_ns, 8);
	put_le(p + 104, w.vmc.generation, 8);
}

/* The host rewrote the page: a new seq_count, and a notification where there are any. */
static void vmc_changed(void)
{
	w.vmc.seq += 2;
	if (!w.sc.vmclock.notify)
		return;
	w.vmc.notified = true;
	for (int fd = 0; fd < MAX_FD; fd++)
		if (w.vmc_fd[fd])
			(void)!syscall(SYS_write, fd, "!", 1);
}

static void vmc_init(void)
{
	const struct sim_vmclock_conf *c = &w.sc.vmclock;

	if (!c->present)
		return;
	w.vmc.seq = 2;
	w.vmc.marker = 0x5eed0000u + w.sc.seed;
	w.vmc.generation = 1;
	w.vmc.status = c->status;
	w.vmc.tai_s = 0;
	w.vmc.flags = VMC_FLAG_GEN_PRESENT | (c->notify ? VMC_FLAG_NOTIFY : 0) |
		      (c->maxerror_ns >= 0 ? VMC_FLAG_MAXERROR_VALID : 0);
	/* A FIFO made now, before any sandbox: its fd is readable exactly while a
	 * notification waits, as the device's is. */
	if ((size_t)snprintf(w.vmc.fifo, sizeof(w.vmc.fifo), "%.*s/vmclock0.fifo",
			     (int)(sizeof(w.vmc.fifo) - 20), w.dir) >= sizeof(w.vmc.fifo))
		die("the simulator's directory name is too long");
	if (mkfifo(w.vmc.fifo, 0600) < 0 && errno != EEXIST)
		die("cannot make %s: %s", w.vmc.fifo, strerror(errno));
}

static void vmc_event(const struct sim_event *e, const char *name)
{
	switch (e->type) {
	case SIM_EV_VMCLOCK_MIGRATE:
		w.vmc.marker++;
		sim_kernel_resume(&w.k, 0, e->value_ns);
		break;
	case SIM_EV_VMCLOCK_RESTORE:
		w.vmc.marker++;
		w.vmc.generation++;
		sim_kernel_resume(&w.k, 0, -e->value_ns);
		break;
	case SIM_EV_VMCLOCK_MARKER:
		w.vmc.marker++;
		break;
	case SIM_EV_VMCLOCK_TOUCH:
		break;
	case SIM_EV_VMCLOCK_FLAGS:
		w.vmc.flags = (w.vmc.flags & ~(uint64_t)(SIM_VMCLOCK_SOON | SIM_VMCLOCK_IMMINENT)) |
			      (uint64_t)e->arg;
		break;
	case SIM_EV_VMCLOCK_STATUS:
		w.vmc.status = e->arg;
		break;
	case SIM_EV_VMCLOCK_LEAP:
		w.vmc.leap = e->arg;
		break;
	case SIM_EV_VMCLOCK_TAI:
		w.vmc.tai_s = e->arg;
		w.vmc.flags |= VMC_FLAG_TAI_VALID;
		break;
	default:
		return;
	}
	if (!w.sc.vmclock.present)
		return;
	vmc_changed();
	trace("event",
	      ",\"event\":\"%s\",\"arg\":%d,\"value_ns\":%lld,\"marker\":%llu,"
	      "\"generation\":%llu,\"offset_ns\":%lld",
	      name, e->arg, (long long)e->value_ns, (unsigned long long)w.vmc.marker,
	      (unsigned long long)w.vmc.generation, (long long)offset_true_ns());
}

/* N for "/dev/vmclockN", else -1. */
static int vmc_path_index(const char *path)
{
	char *end;
	long n;

	if (!w.ready || !path || strncmp(path, "/dev/vmclock", 12) || !path[12])
		return -1;
	n = strtol(path + 12, &end, 10);
	return *end || n < 0 || n > 999 ? -1 : (int)n;
}

/* Only /dev/vmclock0, and only when the scenario has one: never the host's. --strict
 * has none: the independent simulators it stands for know no vmclock. */
static int vmc_open(int index, int flags)
{
	int fd;

	if (!w.sc.vmclock.present || index != 0 || w.strict) {
		errno = ENOENT;
		return -1;
	}
	fd = (int)syscall(SYS_openat, AT_FDCWD, w.vmc.fifo,
			  O_RDWR | O_NONBLOCK | (flags & O_CLOEXEC));
	if (fd < 0)
		return -1;
	if (fd >= MAX_FD) {
		syscall(SYS_close, fd);
		errno = EMFILE;
		return -1;
	}
	w.fds[fd].dev = NULL;
	w.vmc_fd[fd] = true;
	w.vmc_off[fd] = 0;
	return fd;
}

/* read() of the page from the fd's offset; it acknowledges a notification. */
static ssize_t vmc_read(int fd, void *buf, size_t len)
{
	const struct sim_vmclock_conf *c = &w.sc.vmclock;
	uint8_t page[VMC_PAGE_LEN], drain[64];
	uint32_t seq = w.vmc.seq;
	int64_t off = w.vmc_off[fd];
	size_t n;

	while (syscall(SYS_read, fd, drain, sizeof(drain)) > 0)
		;
	/* A writer mid-update: the reader sees an odd seq_count. */
	if (off <= 12 && off + (int64_t)len > 12) {
		w.vmc.seq_reads++;
		if (!strcmp(c->bad, "unsettled") ||
		    (c->torn_every > 0 && w.vmc.seq_reads % (uint64_t)c->torn_every == 0))
			seq |= 1;
	}
	vmc_page(page, seq);
	if (off >= VMC_PAGE_LEN)
		return 0;
	n = len < (size_t)(VMC_PAGE_LEN - off) ? len : (size_t)(VMC_PAGE_LEN - off);
	memcpy(buf, page + off, n);
	w.vmc_off[fd] = off + (int64_t)n;
	return (ssize_t)n;
}

static off_t vmc_lseek(int fd, off_t off, int whence)
{
	int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? w.vmc_off[fd] : 4096;

	if ((whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END) || base + off < 0) {
		errno = EINVAL;
		return -1;
	}
	w.vmc_off[fd] = base + off;
	return (off_t)w.vmc_off[fd];
}

off_t lseek(int fd, off_t off, int whence)
{
	if (fd >= 0 && fd < MAX_FD && w.vmc_fd[fd])
		return vmc_lseek(fd, off, whence);
	return (off_t)syscall(SYS_lseek, fd, off, whence);
}

off_t lseek64(int fd, off_t off, int whence);
off_t lseek64(int fd, off_t off, int whence)
{
	return lseek(fd, off, whence);
}

/* Whether a wait on ws includes a vmclock fd (a notification ends it). */
static bool vmc_waited(const struct waitset *ws)
{
	for (nfds_t i = 0; ws->fds && i < ws->nfds; i++)
		if (ws->fds[i].fd >= 0 && ws->fds[i].fd < MAX_FD && w.vmc_fd[ws->fds[i].fd])
			return true;
	return false;
}

/* ---- exec events ---- */

/* True time of the next exec event to run; INT64_MAX when none is left before the end. */
static int64_t next_exec_ns(void)
{
	int64_t t;

	if (w.exec_next == w.nexec)
		return INT64_MAX;
	t = w.sc.ev[w.exec_ev[w.exec_next]].t_ns;
	return t < w.sc.duration_ns ? t : INT64_MAX;
}

/*
 * The real, zero-timeout check the wait call itself starts with: fills in the program's
 * results and returns their count, 0, or -EINTR.
 */
static int ready_now(struct waitset *ws)
{
	struct timespec zero = {0, 0};
	struct {
		const sigset_t *set;
		size_t size;
	} sig = {ws->mask, _NSIG / 8};
	long r = 0;

	if (ws->fds) {
		r = syscall(SYS_ppoll, ws->fds, ws->nfds, &zero, ws->mask, _NSIG / 8);
	} else if (ws->nsel) {
		if (ws->rd)
			*ws->rd = ws->rd0;
		if (ws->wr)
			*ws->wr = ws->wr0;
		if (ws->ex)
			*ws->ex = ws->ex0;
		r = syscall(SYS_pselect6, ws->nsel, ws->rd, ws->wr, ws->ex, &zero, &sig);
	} else if (ws->epoll) {
		r = syscall(SYS_epoll_wait, ws->epfd, ws->ev, ws->maxev, 0);
	}
	if (r < 0)
		return errno == EINTR ? -EINTR : 0;
	return (int)r;
}

/* The program's fds of ws as pollfds, plus the harness pipe last; *n is the count. */
static struct pollfd *frozen_pollfds(const struct waitset *ws, nfds_t *n)
{
	nfds_t max = 1 + (ws->fds ? ws->nfds : 0) + (nfds_t)ws->nsel + ws->epoll;
	struct pollfd *p = calloc(max, sizeof(*p));

	if (!p)
		die("out of memory");
	*n = 0;
	for (nfds_t i = 0; ws->fds && i < ws->nfds; i++)
		p[(*n)++] = (struct pollfd){ws->fds[i].fd, ws->fds[i].events, 0};
	for (int fd = 0; fd < ws->nsel; fd++) {
		short ev = (short)((ws->rd && FD_ISSET(fd, &ws->rd0) ? POLLIN : 0) |
				   (ws->wr && FD_ISSET(fd, &ws->wr0) ? POLLOUT : 0) |
				   (ws->ex && FD_ISSET(fd, &ws->ex0) ? POLLPRI : 0));

		if (ev)
			p[(*n)++] = (struct pollfd){fd, ev, 0};
	}
	if (ws->epoll)
		p[(*n)++] = (struct pollfd){ws->epfd, POLLIN, 0};
	p[(*n)++] = (struct pollfd){w.chan_in, POLLIN, 0};
	return p;
}

/*
 * Wait in real time, with no virtual time passing, for the program's fds or the harness.
 * 0 when the harness has answered, >0 when the program's fds are ready (results filled
 * in), -EINTR on a signal.
 */
static int frozen_wait(struct waitset *ws)
{
	nfds_t n;
	struct pollfd *p = frozen_pollfds(ws, &n);
	int r;

	for (;;) {
		r = (int)syscall(SYS_ppoll, p, n, NULL, ws->mask, _NSIG / 8);
		if (r < 0 && errno != EINTR)
			die("waiting for an exec'd command: %s", strerror(errno));
		if (r < 0) {
			r = -EINTR;
			break;
		}
		if (p[n - 1].revents) {
			r = 0;
			break;
		}
		r = ready_now(ws);
		if (r)
			break;
	}
	free(p);
	return r;
}

static void trace_exec(const char *cmd, int status, bool timeout)
{
	char esc[6 * SIM_EXEC_LEN + 1];
	size_t n = 0;

	for (const unsigned char *c = (const unsigned char *)cmd; *c; c++) {
		if (*c == '"' || *c == '\\')
			n += (size_t)snprintf(esc + n, sizeof(esc) - n, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			n += (size_t)snprintf(esc + n, sizeof(esc) - n, "\\u%04x", *c);
		else
			esc[n++] = (char)*c;
	}
	esc[n] = '\0';
	trace("event", ",\"event\":\"exec\",\"command\":\"%s\",\"status\":%d%s", esc, status,
	      timeout ? ",\"timeout\":true" : "");
}

/* The harness's answer to "exec N": the command's status, and whether it timed out. */
static void read_exec_result(int *status, bool *timeout)
{
	char buf[64];
	size_t got = 0;
	ssize_t n;

	while (!memchr(buf, '\n', got)) {
		if (got == sizeof(buf) - 1)
			die("garbled answer from the harness");
		n = syscall(SYS_read, w.chan_in, buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("the harness went away while a command ran");
		got += (size_t)n;
	}
	buf[got] = '\0';
	if (sscanf(buf, "status %d", status) == 1)
		*timeout = false;
	else if (sscanf(buf, "timeout %d", status) == 1)
		*timeout = true;
	else
		die("garbled answer from the harness");
}

/*
 * The exec event due now: ask the harness to run its command (once) and wait for it in
 * real time. Returns like frozen_wait, and after the command, the program's fds ready
 * then (its last effects, such as a client's close, must not wait for the next second).
 */
static int exec_step(struct waitset *ws)
{
	int idx = w.exec_ev[w.exec_next];
	const struct sim_event *e = &w.sc.ev[idx];
	char msg[32];
	bool timeout;
	int n, r, status;

	if (!w.frozen) {
		n = snprintf(msg, sizeof(msg), "exec %d\n", idx);
		if (w.trace)
			fflush(w.trace);
		if (syscall(SYS_write, w.chan_out, msg, (size_t)n) != n)
			die("cannot ask the harness to run a command: %s", strerror(errno));
		w.frozen = true;
	}
	r = frozen_wait(ws);
	if (r)
		return r;
	read_exec_result(&status, &timeout);
	w.frozen = false;
	w.exec_next++;
	trace_exec(w.sc.exec[e->exec], status, timeout);
	return ready_now(ws);
}

/*
 * Wait until clock id reads target_ns (INT64_MAX: forever). 0, -EINTR at the end (or on
 * a signal while a command runs), or the count of the program's fds in ws that became
 * ready while a command ran.
 */
static int wait_until(clockid_t id, int64_t target_ns, struct waitset *ws)
{
	for (int64_t now = clock_now(id); now < target_ns; now = clock_now(id)) {
		int64_t step = 400LL * 86400 * NS;
		int r;

		if (next_exec_ns() <= w.now_ns) {
			r = exec_step(ws);
			if (r)
				return r;
			continue;
		}
		if (w.suspended) {
			step = w.resume_at_ns - w.now_ns;
		} else if (target_ns != INT64_MAX) {
			double rate = 1.0 + w.osc_ppb * 1e-9;

			if (id != CLOCK_MONOTONIC_RAW)
				rate *= 1.0 + sim_kernel_adj_ppb(&w.k) * 1e-9;
			step = (int64_t)ceil((double)(target_ns - now) / rate);
			if (step < 1)
				step = 1;
		}
		step = min64(step, next_exec_ns() - w.now_ns);
		/* A vmclock notification ends the wait at the event's instant. */
		if (vmc_waited(ws) && w.next_event < w.sc.nevents)
			step = min64(step, w.sc.ev[w.next_event].t_ns - w.now_ns);
		if (step < 1)
			step = 1;
		r = end_check(step, ws->mask);
		if (r)
			return r;
		w.vmc.notified = false;
		advance_to(w.now_ns + step);
		if (w.vmc.notified && vmc_waited(ws)) {
			r = ready_now(ws);
			if (r)
				return r;
		}
	}
	return 0;
}

/* Wait timeout_ns on CLOCK_MONOTONIC (negative: forever); returns like wait_until. */
static int wait_rel(int64_t timeout_ns, struct waitset *ws)
{
	int64_t now = clock_now(CLOCK_MONOTONIC);

	return wait_until(
		CLOCK_MONOTONIC,
		timeout_ns < 0 || timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns, ws);
}

/* ---- start ---- */

static void load_scenario(void)
{
	const char *file = getenv("PHCSIM_SCENARIO");
	const char *builtin = getenv("PHCSIM_BUILTIN");
	const char *seed = getenv("PHCSIM_SEED");
	const char *duration = getenv("PHCSIM_DURATION_NS");
	char err[512];
	int r;

	if (file && *file)
		r = sim_scenario_load(&w.sc, file, err, sizeof(err));
	else
		r = sim_scenario_builtin(&w.sc,
					 builtin && *builtin ? builtin : SIM_DEFAULT_SCENARIO, err,
					 sizeof(err));
	if (r)
		die("%s", err);
	if (seed && *seed)
		w.sc.seed = strtoull(seed, NULL, 10);
	if (duration && *duration) {
		w.sc.duration_ns = strtoll(duration, NULL, 10);
		if (w.sc.duration_ns <= 0)
			die("bad PHCSIM_DURATION_NS '%s'", duration);
	}
}

static void world_init(void)
{
	struct sim_scenario *s = &w.sc;
	const char *trace_path = getenv("PHCSIM_TRACE");
	int tai_utc = s->tai_utc_s;

	sim_kernel_init(&w.k, s->start_s * NS + s->sys_offset_ns, s->mono_start_ns, s->sys_tai_s);
	w.tai_utc_s = s->tai_utc_s;
	for (int i = 0; i < s->nleaps; i++) {
		/* True UTC reaches 00:00:00 (insertion) or 23:59:59 (deletion). */
		int64_t at_s = s->leap[i].midnight_s - (s->leap[i].sign < 0) + tai_utc -
			       (s->start_s + s->tai_utc_s);

		w.leap_at_ns[i] = at_s * NS;
		tai_utc += s->leap[i].sign;
	}
	sim_rng_seed(&w.osc_rng, s->seed, 0);
	sim_rng_seed(&w.getrandom_rng, s->seed, 1000);
	sysfs_init();
	vmc_init();
	w.ndev = s->nphc;
	for (int i = 0; i < s->nphc; i++) {
		struct dev *d = &w.dev[i];

		d->conf = &s->phc[i];
		d->index = s->phc[i].index;
		d->err_ns = (double)s->phc[i].offset_ns;
		d->freq_ppb = s->phc[i].freq_ppb;
		d->rate_sec = -1;
		sim_rng_seed(&d->rng, s->seed, 1 + (uint64_t)i);
		sysfs_add(d->index, d->conf->clock_name);
	}
	if (trace_path && *trace_path) {
		w.trace = fopen(trace_path, "w");
		if (!w.trace)
			die("cannot write the trace %s: %s", trace_path, strerror(errno));
		trace("start", ",\"scenario\":\"%s\",\"seed\":%llu,\"duration_s\":%.3f", s->name,
		      (unsigned long long)s->seed, (double)s->duration_ns / NS);
	}
	for (int i = 0; i < s->nevents; i++)
		if (s->ev[i].type == SIM_EV_EXEC)
			w.exec_ev[w.nexec++] = i;
	osc_enter_cell();
	at_instant();
}

/* Whether a harness started us; refuses (exits) when neither it nor a unit test did. */
static bool harness_present(void)
{
	const char *allow = getenv("PHCSIM_ALLOW");

	if (getenv("PHCSIM_HS_FD") && getenv("PHCSIM_GO_FD"))
		return true;
	if (allow && strcmp(allow, "1") == 0)
		return false;
	die("refusing to run outside the phcsim harness (use phcsim, or PHCSIM_ALLOW=1 in "
	    "unit tests)");
}

/* The harness lets the program start only after this (see phcsim.c). */
static void handshake(void)
{
	int hs_fd = atoi(getenv("PHCSIM_HS_FD"));
	int go_fd = atoi(getenv("PHCSIM_GO_FD"));
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "phcsim-hello %d\n", (int)getpid());

	if (write(hs_fd, buf, (size_t)n) != n)
		die("handshake with the harness failed: %s", strerror(errno));
	n = (int)read(go_fd, buf, sizeof(buf) - 1);
	if (n != 3 || memcmp(buf, "go\n", 3))
		die("the harness did not answer the handshake");
	if (w.nexec) {
		/* phcsim runs the commands of exec events: keep its pipes, not for children. */
		w.chan = true;
		w.chan_out = hs_fd;
		w.chan_in = go_fd;
		fcntl(hs_fd, F_SETFD, FD_CLOEXEC);
		fcntl(go_fd, F_SETFD, FD_CLOEXEC);
	} else {
		close(hs_fd);
		close(go_fd);
	}
	/* A program this one starts has no harness: it must refuse to run. */
	unsetenv("PHCSIM_HS_FD");
	unsetenv("PHCSIM_GO_FD");
}

__attribute__((constructor)) static void sim_start(void)
{
	const char *probe = getenv("PHCSIM_PROBE");
	const char *preload = getenv("LD_PRELOAD");
	bool harness;

	/* The harness dlopen()s us to check the path; only then may we stay inert. */
	if (probe && strcmp(probe, "1") == 0 && !(preload && strstr(preload, "phcsim")))
		return;
	harness = harness_present();
	w.strict = getenv("PHCSIM_STRICT") && strcmp(getenv("PHCSIM_STRICT"), "1") == 0;
	load_scenario();
	world_init();
	if (w.nexec && !harness)
		die("exec events need the phcsim harness to run their commands");
	if (harness)
		handshake();
	w.ready = true;
}

/* ---- PHC devices ---- */

/* The device behind a PHC fd: 0 with *out set, 1 when fd is not a PHC, or -errno. */
static int phc_fd(int fd, struct dev **out)
{
	struct dev *d;

	if (!w.ready || fd < 0 || fd >= MAX_FD || !w.fds[fd].dev)
		return 1;
	d = w.fds[fd].dev;
	if (d->index < 0 || d->generation != w.fds[fd].generation)
		return -ENODEV;
	if (d->error)
		return -d->error;
	*out = d;
	return 0;
}

static bool is_phc_clockid(clockid_t id)
{
	return id < 0 && (id & 7) == 3;
}

static int count_reads(struct dev *d, int n)
{
	int max = d->conf->max_reads_per_s;

	if (max) {
		int64_t sec = w.now_ns / NS;

		if (sec != d->rate_sec) {
			d->rate_sec = sec;
			d->rate_count = 0;
		}
		if (d->rate_count + n > max)
			return -EBUSY;
		d->rate_count += n;
	}
	d->reads += (uint64_t)n;
	w.reads_total += (uint64_t)n;
	return 0;
}

static int64_t sample_delay(struct dev *d)
{
	int64_t delay = d->conf->delay_ns;

	if (d->conf->delay_jitter_ns)
		delay += llround(sim_rng_exp(&d->rng, (double)d->conf->delay_jitter_ns));
	if (d->spike_until_ns && w.now_ns < d->spike_until_ns)
		delay += d->spike_ns;
	return delay;
}

/* What every read does first: during a phc_backstep, move the PHC back for good. */
static void read_starts(struct dev *d)
{
	if (d->backstep_until_ns && w.now_ns < d->backstep_until_ns) {
		phc_jump(d, -d->backstep_ns);
		d->backstep_total_ns += d->backstep_ns;
	}
}

/*
 * Gaussian sigma, plus Exp(exp_ns) (the PHC side reads late), plus +-outlier_ns with
 * probability prob. A part that is 0 draws nothing, so adding a part to one scenario
 * leaves the random streams of the others as they were.
 */
static int64_t noise_shape(struct dev *d, int64_t sigma_ns, int64_t exp_ns, double prob,
			   int64_t outlier_ns)
{
	double n = 0;

	if (sigma_ns)
		n += sim_rng_gauss(&d->rng) * (double)sigma_ns;
	if (exp_ns)
		n += sim_rng_exp(&d->rng, (double)exp_ns);
	if (prob > 0 && sim_rng_uniform(&d->rng) < prob)
		n += (sim_rng_uniform(&d->rng) < 0.5 ? -1.0 : 1.0) * (double)outlier_ns;
	return llround(n);
}

static int64_t reading_noise(struct dev *d)
{
	const struct sim_phc_conf *c = d->conf;

	return noise_shape(d, c->noise_ns, c->noise_exp_ns, c->outlier_prob, c->outlier_ns);
}

/*
 * Where in a window of delay ns the PHC is sampled: at asymmetry, or with window_spread
 * uniformly over that share of the window around it (within the window), so that a
 * longer window gives a larger error about the point a reader assumes.
 */
static int64_t sample_point(struct dev *d, int64_t delay)
{
	double f = d->conf->asymmetry;

	if (d->conf->window_spread > 0) {
		f += d->conf->window_spread * (sim_rng_uniform(&d->rng) - 0.5);
		f = f < 0 ? 0 : f > 1 ? 1 : f;
	}
	return llround((double)delay * f);
}

/*
 * One PHC read taking a readout delay: its value; time advances past the window. A
 * frozen PHC gives its value exactly (the noise is drawn all the same, so the random
 * stream does not depend on the freeze).
 */
static int64_t read_phc(struct dev *d)
{
	int64_t delay, at, noise, v;

	read_starts(d);
	delay = sample_delay(d);
	noise = reading_noise(d);
	at = w.now_ns + sample_point(d, delay);
	v = phc_at(d, at) + (phc_frozen_at(d, at) ? 0 : noise);
	advance_to(w.now_ns + delay);
	return v;
}

static struct ptp_clock_time ptp_time(int64_t ns)
{
	struct timespec ts = ns_to_ts(ns);

	return (struct ptp_clock_time){.sec = ts.tv_sec, .nsec = (unsigned)ts.tv_nsec};
}

static int phc_ioctl(struct dev *d, unsigned long req, void *arg)
{
	const struct sim_phc_conf *c = d->conf;
	int r;

	switch (req) {
	case PTP_CLOCK_GETCAPS:
	case PTP_CLOCK_GETCAPS2: {
		struct ptp_clock_caps *caps = arg;

		memset(caps, 0, sizeof(*caps));
		caps->cross_timestamping = !!(c->ops & SIM_OP_PRECISE);
		return 0;
	}
	case PTP_SYS_OFFSET:
	case PTP_SYS_OFFSET2: {
		struct ptp_sys_offset *so = arg;

		if (!(c->ops & SIM_OP_BASIC))
			return -EOPNOTSUPP;
		if (so->n_samples > PTP_MAX_SAMPLES)
			return -EINVAL;
		r = count_reads(d, (int)so->n_samples);
		if (r)
			return r;
		for (unsigned i = 0; i < so->n_samples; i++) {
			so->ts[2 * i] = ptp_time(clock_now(CLOCK_REALTIME));
			so->ts[2 * i + 1] = ptp_time(read_phc(d));
		}
		so->ts[2 * so->n_samples] = ptp_time(clock_now(CLOCK_REALTIME));
		return 0;
	}
	case PTP_SYS_OFFSET_EXTENDED:
	case PTP_SYS_OFFSET_EXTENDED2: {
		struct ptp_sys_offset_extended *so = arg;
		clockid_t sys = (clockid_t)so->rsv[0];

		if (!(c->ops & SIM_OP_EXTENDED))
			return -EOPNOTSUPP;
		/* rsv[0] is the system clock in newer kernels; REALTIME (0) before. */
		if (so->n_samples > PTP_MAX_SAMPLES || so->rsv[1] || so->rsv[2] ||
		    (sys != CLOCK_REALTIME && sys != CLOCK_MONOTONIC && sys != CLOCK_MONOTONIC_RAW))
			return -EINVAL;
		r = count_reads(d, (int)so->n_samples);
		if (r)
			return r;
		for (unsigned i = 0; i < so->n_samples; i++) {
			so->ts[i][0] = ptp_time(clock_now(sys));
			so->ts[i][1] = ptp_time(read_phc(d));
			so->ts[i][2] = ptp_time(clock_now(sys));
		}
		return 0;
	}
	case PTP_SYS_OFFSET_PRECISE:
	case PTP_SYS_OFFSET_PRECISE2: {
		struct ptp_sys_offset_precise *sp = arg;
		double noise;

		if (!(c->ops & SIM_OP_PRECISE))
			return -EOPNOTSUPP;
		r = count_reads(d, 1);
		if (r)
			return r;
		read_starts(d);
		memset(sp, 0, sizeof(*sp));
		noise = (double)noise_shape(d, c->precise_noise_ns, c->precise_noise_exp_ns,
					    c->precise_outlier_prob, c->precise_outlier_ns);
		if (phc_frozen_at(d, w.now_ns))
			noise = 0.0;
		sp->device = ptp_time(phc_at(d, w.now_ns) + llround(noise));
		sp->sys_realtime = ptp_time(clock_now(CLOCK_REALTIME));
		sp->sys_monoraw = ptp_time(clock_now(CLOCK_MONOTONIC_RAW));
		advance_to(w.now_ns + sample_delay(d));
		return 0;
	}
	default:
		return _IOC_TYPE(req) == PTP_CLK_MAGIC ? -EOPNOTSUPP : -ENOTTY;
	}
}

static int open_phc(int index, int flags)
{
	struct dev *d = dev_by_index(index);
	int fd;

	if (!d) {
		errno = ENOENT;
		return -1;
	}
	/* A real fd the program can poll and close; the map says which device it is. */
	fd = (int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR | (flags & O_CLOEXEC));
	if (fd < 0)
		return -1;
	if (fd >= MAX_FD) {
		syscall(SYS_close, fd);
		errno = EMFILE;
		return -1;
	}
	w.fds[fd] = (struct fdmap){d, d->generation};
	return fd;
}

static int do_open(int dirfd, const char *path, int flags, mode_t mode)
{
	char buf[PATH_MAX + 64];
	int index = ptp_path_index(path);

	if (index >= 0)
		return open_phc(index, flags);
	index = vmc_path_index(path);
	if (index >= 0)
		return vmc_open(index, flags);
	int fd;

	if (sysfs_path(path, buf, sizeof(buf)))
		path = buf;
	fd = (int)syscall(SYS_openat, dirfd, path, flags, mode);
	/* A PHC fd closed behind our back (fclose) must not haunt its reused number. */
	if (fd >= 0 && fd < MAX_FD) {
		w.fds[fd].dev = NULL;
		w.vmc_fd[fd] = false;
	}
	return fd;
}

static mode_t open_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

/* ---- interposed: files ---- */

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return do_open(AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return do_open(AT_FDCWD, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return do_open(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return do_open(dirfd, path, flags, mode);
}

int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
	return do_open(AT_FDCWD, path, flags, 0);
}

int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags)
{
	return do_open(AT_FDCWD, path, flags, 0);
}

int __openat_2(int dirfd, const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags)
{
	return do_open(dirfd, path, flags, 0);
}

int __openat64_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags)
{
	return do_open(dirfd, path, flags, 0);
}

FILE *fopen(const char *path, const char *mode)
{
	char buf[PATH_MAX + 64];
	REAL(FILE *, fopen, const char *, const char *);

	if (ptp_path_index(path) >= 0) {
		int fd = open_phc(ptp_path_index(path), O_CLOEXEC);

		return fd < 0 ? NULL : fdopen(fd, mode);
	}
	return real_fopen(sysfs_path(path, buf, sizeof(buf)) ? buf : path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
	return fopen(path, mode);
}

int close(int fd)
{
	/* The harness pipes are not the program's to close: as if they were not open. */
	if (w.chan && (fd == w.chan_in || fd == w.chan_out)) {
		errno = EBADF;
		return -1;
	}
	if (fd >= 0 && fd < MAX_FD) {
		w.fds[fd].dev = NULL;
		w.vmc_fd[fd] = false;
	}
	return (int)syscall(SYS_close, fd);
}

ssize_t read(int fd, void *buf, size_t len)
{
	struct dev *d;
	int r = phc_fd(fd, &d);

	if (fd >= 0 && fd < MAX_FD && w.vmc_fd[fd])
		return vmc_read(fd, buf, len);
	if (r == 1)
		return syscall(SYS_read, fd, buf, len);
	/* No external timestamp channels are ever enabled, so there is nothing to read. */
	errno = r < 0 ? -r : EAGAIN;
	return -1;
}

int ioctl(int fd, unsigned long req, ...)
{
	struct dev *d;
	va_list ap;
	void *arg;
	int r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	r = phc_fd(fd, &d);
	if (r == 1)
		return (int)syscall(SYS_ioctl, fd, req, arg);
	if (r == 0)
		r = phc_ioctl(d, req, arg);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

DIR *opendir(const char *path)
{
	char buf[PATH_MAX + 64];
	REAL(DIR *, opendir, const char *);

	return real_opendir(sysfs_path(path, buf, sizeof(buf)) ? buf : path);
}

static int stat_phc(int index, struct stat *st)
{
	if (!dev_by_index(index)) {
		errno = ENOENT;
		return -1;
	}
	if (syscall(SYS_newfstatat, AT_FDCWD, "/dev/null", st, 0))
		return -1;
	st->st_mode = S_IFCHR | 0600;
	st->st_rdev = makedev(PTP_MAJOR, (unsigned)index);
	return 0;
}

static int do_stat(int dirfd, const char *path, struct stat *st, int flags)
{
	char buf[PATH_MAX + 64];
	int index = ptp_path_index(path);

	if (index >= 0 && !w.strict)
		return stat_phc(index, st);
	return (int)syscall(SYS_newfstatat, dirfd, sysfs_path(path, buf, sizeof(buf)) ? buf : path,
			    st, flags);
}

int stat(const char *path, struct stat *st)
{
	return do_stat(AT_FDCWD, path, st, 0);
}

int stat64(const char *path, struct stat64 *st)
{
	return do_stat(AT_FDCWD, path, (struct stat *)st, 0);
}

int lstat(const char *path, struct stat *st)
{
	return do_stat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

int lstat64(const char *path, struct stat64 *st)
{
	return do_stat(AT_FDCWD, path, (struct stat *)st, AT_SYMLINK_NOFOLLOW);
}

int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return do_stat(dirfd, path, st, flags);
}

int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	return do_stat(dirfd, path, (struct stat *)st, flags);
}

static int do_access(int dirfd, const char *path, int mode, int flags)
{
	char buf[PATH_MAX + 64];
	int index = ptp_path_index(path);

	if (index >= 0 && !w.strict) {
		if (dev_by_index(index))
			return 0;
		errno = ENOENT;
		return -1;
	}
	return (int)syscall(SYS_faccessat2, dirfd, sysfs_path(path, buf, sizeof(buf)) ? buf : path,
			    mode, flags);
}

int access(const char *path, int mode)
{
	return do_access(AT_FDCWD, path, mode, 0);
}

int faccessat(int dirfd, const char *path, int mode, int flags)
{
	return do_access(dirfd, path, mode, flags);
}

ssize_t readlink(const char *path, char *buf, size_t len)
{
	char p[PATH_MAX + 64];

	return syscall(SYS_readlinkat, AT_FDCWD, sysfs_path(path, p, sizeof(p)) ? p : path, buf,
		       len);
}

/* ---- interposed: randomness ---- */

/*
 * The program's random bytes come from the scenario's seed, so that a program that draws
 * them (chronyd spreads its timers so) gives the same trace on every run.
 */
ssize_t getrandom(void *buf, size_t len, unsigned flags)
{
	unsigned char *p = buf;

	if (!w.ready)
		return syscall(SYS_getrandom, buf, len, flags);
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = sim_rng_next(&w.getrandom_rng);

		memcpy(p + i, &v, len - i < 8 ? len - i : 8);
	}
	return (ssize_t)len;
}

/* ---- interposed: reading clocks ---- */

/* A system clock read: free, but for a busy loop (SPIN_READS). */
static void sys_clock_read(void)
{
	if (++w.spin > SPIN_READS) {
		advance_to(w.now_ns + SPIN_READ_NS);
		w.spin = SPIN_READS;
	}
}

/* --strict: clocks an independent simulator does not know. */
static bool strict_refused(clockid_t id)
{
	return w.strict && (id == CLOCK_BOOTTIME || id == CLOCK_TAI);
}

static int phc_gettime(clockid_t id, int64_t *ns)
{
	int fd = (int)~(id >> 3);
	struct dev *d;
	int r = phc_fd(fd, &d);

	if (r == 1)
		return -EINVAL;
	if (r == 0)
		r = count_reads(d, 1);
	if (r == 0)
		*ns = read_phc(d);
	return r;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	int64_t ns;
	int r;

	if (!w.ready)
		return (int)syscall(SYS_clock_gettime, id, ts);
	if (strict_refused(id)) {
		errno = EINVAL;
		return -1;
	}
	if (is_phc_clockid(id))
		r = phc_gettime(id, &ns);
	else if (sim_kernel_gettime(&w.k, id, &ns))
		return (int)syscall(SYS_clock_gettime, id, ts);
	else
		r = 0;
	if (r == 0 && !is_phc_clockid(id)) {
		sys_clock_read();
		sim_kernel_gettime(&w.k, id, &ns);
	}
	if (r) {
		errno = -r;
		return -1;
	}
	*ts = ns_to_ts(ns);
	return 0;
}

int clock_getres(clockid_t id, struct timespec *res)
{
	if (w.ready && strict_refused(id)) {
		errno = EINVAL;
		return -1;
	}
	if (w.ready && (is_phc_clockid(id) || is_sim_clock(id))) {
		if (res)
			*res = (struct timespec){0, 1};
		return 0;
	}
	return (int)syscall(SYS_clock_getres, id, res);
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	int64_t ns;

	if (!w.ready)
		return (int)syscall(SYS_gettimeofday, tv, tz);
	sys_clock_read();
	ns = clock_now(CLOCK_REALTIME);
	tv->tv_sec = floor_div(ns, NS);
	tv->tv_usec = (ns - (int64_t)tv->tv_sec * NS) / 1000;
	if (tz)
		memset(tz, 0, sizeof(struct timezone));
	return 0;
}

time_t time(time_t *t)
{
	time_t now;

	if (!w.ready)
		now = (time_t)syscall(SYS_time, NULL);
	else {
		sys_clock_read();
		now = (time_t)floor_div(clock_now(CLOCK_REALTIME), NS);
	}
	if (t)
		*t = now;
	return now;
}

int timespec_get(struct timespec *ts, int base)
{
	if (base != TIME_UTC)
		return 0;
	return clock_gettime(CLOCK_REALTIME, ts) ? 0 : base;
}

/* ---- interposed: setting clocks (never forwarded to the kernel) ---- */

static void trace_adj(const char *call, const struct timex *tx, int ret, int64_t step_ns)
{
	char extra[512] = "";
	size_t n = 0;
	unsigned modes = tx ? tx->modes : 0;

#define ADD(...) n += (size_t)snprintf(extra + n, sizeof(extra) - n, __VA_ARGS__)
	if (step_ns)
		ADD(",\"step_ns\":%lld", (long long)step_ns);
	if (modes & ADJ_FREQUENCY)
		ADD(",\"freq_ppb\":%.3f", sim_kernel_freq_ppb(&w.k));
	if (modes & ADJ_TICK)
		ADD(",\"tick_us\":%ld", w.k.tick_us);
	if (modes & ADJ_STATUS)
		ADD(",\"status\":%d", w.k.status);
	if (modes & ADJ_TAI)
		ADD(",\"tai\":%d", w.k.tai_s);
	if (modes & ADJ_MAXERROR)
		ADD(",\"maxerror_us\":%ld", w.k.maxerror_us);
	if (modes & ADJ_ESTERROR)
		ADD(",\"esterror_us\":%ld", w.k.esterror_us);
#undef ADD
	trace("adj", ",\"call\":\"%s\",\"modes\":%u,\"ret\":%d%s,\"offset_ns\":%lld", call, modes,
	      ret, extra, (long long)offset_true_ns());
}

static int adjtimex_realtime(const char *call, struct timex *tx)
{
	int64_t before = clock_now(CLOCK_REALTIME);
	int r = sim_kernel_adjtimex(&w.k, tx);

	/* Reads (modes 0, adjtime queries) are too frequent to trace. */
	if (tx->modes && tx->modes != ADJ_OFFSET_SS_READ)
		trace_adj(call, tx, r,
			  r >= 0 && (tx->modes & ADJ_SETOFFSET) ? clock_now(CLOCK_REALTIME) - before
								: 0);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

int clock_adjtime(clockid_t id, struct timex *tx)
{
	struct dev *d;
	int r;

	if (!w.ready) {
		errno = EPERM;
		return -1;
	}
	if (id == CLOCK_REALTIME)
		return adjtimex_realtime("clock_adjtime", tx);
	if (!is_phc_clockid(id)) {
		errno = is_sim_clock(id) ? EOPNOTSUPP : EINVAL;
		return -1;
	}
	r = phc_fd((int)~(id >> 3), &d);
	if (r == 1)
		r = -EINVAL;
	else if (r == 0 && tx->modes)
		r = -EOPNOTSUPP; /* hypervisor clocks are read-only */
	if (r) {
		errno = -r;
		return -1;
	}
	memset(tx, 0, sizeof(*tx));
	return TIME_OK;
}

int adjtimex(struct timex *tx)
{
	if (!w.ready) {
		errno = EPERM;
		return -1;
	}
	return adjtimex_realtime("adjtimex", tx);
}

int ntp_adjtime(struct timex *tx)
{
	if (!w.ready) {
		errno = EPERM;
		return -1;
	}
	return adjtimex_realtime("ntp_adjtime", tx);
}

int __adjtimex(struct timex *tx);
int __adjtimex(struct timex *tx)
{
	if (!w.ready) {
		errno = EPERM;
		return -1;
	}
	return adjtimex_realtime("__adjtimex", tx);
}

int ntp_gettimex(struct ntptimeval *ntv)
{
	struct timex tx = {0};
	int r;

	if (!w.ready) {
		errno = EPERM;
		return -1;
	}
	r = sim_kernel_adjtimex(&w.k, &tx);
	ntv->time = tx.time;
	ntv->maxerror = tx.maxerror;
	ntv->esterror = tx.esterror;
	ntv->tai = tx.tai;
	return r;
}

/* Set REALTIME to sec + nsec (nsec already checked) like the kernel; 0 or -1/errno. */
static int settime(const char *call, int64_t sec, int64_t nsec)
{
	int64_t before = clock_now(CLOCK_REALTIME);
	int64_t ns = 0;
	int r = -EINVAL;

	/* A time whose nanoseconds overflow is far outside what the kernel accepts. */
	if (!__builtin_mul_overflow(sec, NS, &ns) && !__builtin_add_overflow(ns, nsec, &ns))
		r = sim_kernel_settime(&w.k, CLOCK_REALTIME, ns);
	trace_adj(call, NULL, r, r == 0 ? ns - before : 0);
	if (r) {
		errno = -r;
		return -1;
	}
	return 0;
}

int clock_settime(clockid_t id, const struct timespec *ts)
{
	if (!w.ready) {
		errno = EPERM;
		return -1;
	}
	if (is_phc_clockid(id) || id != CLOCK_REALTIME) {
		errno = is_phc_clockid(id) ? EOPNOTSUPP : EINVAL;
		return -1;
	}
	if (ts->tv_nsec < 0 || ts->tv_nsec >= NS) {
		errno = EINVAL;
		return -1;
	}
	return settime("clock_settime", ts->tv_sec, ts->tv_nsec);
}

int settimeofday(const struct timeval *tv, const struct timezone *tz)
{
	(void)tz;
	if (!w.ready) {
		errno = EPERM;
		return -1;
	}
	if (!tv)
		return 0;
	if (tv->tv_usec < 0 || tv->tv_usec >= 1000000) {
		errno = EINVAL;
		return -1;
	}
	return settime("settimeofday", tv->tv_sec, (int64_t)tv->tv_usec * 1000);
}

/* Gone from glibc's headers, still exported for old binaries. */
int stime(const time_t *t);
int stime(const time_t *t)
{
	if (!w.ready) {
		errno = EPERM;
		return -1;
	}
	return settime("stime", *t, 0);
}

int adjtime(const struct timeval *delta, struct timeval *olddelta)
{
	int64_t d, old;

	if (!w.ready) {
		errno = EPERM;
		return -1;
	}
	if (delta) {
		d = (int64_t)delta->tv_sec * NS + (int64_t)delta->tv_usec * 1000;
		/* Like glibc: the kernel takes the slew in microseconds in a long. */
		if (llabs(d / 1000) > INT_MAX) {
			errno = EINVAL;
			return -1;
		}
	}
	sim_kernel_adjtime(&w.k, delta ? &d : NULL, &old);
	if (delta)
		trace("adj", ",\"call\":\"adjtime\",\"slew_ns\":%lld,\"offset_ns\":%lld",
		      (long long)d, (long long)offset_true_ns());
	if (olddelta) {
		olddelta->tv_sec = old / NS;
		olddelta->tv_usec = (old % NS) / 1000;
	}
	return 0;
}

/* ---- interposed: waiting ---- */

/* The end of a wait call: wait_until's result as the call's, with -1/EINTR. */
/*
 * --strict: an fd that is neither a socket nor a device is unknown to such simulators, which
 * report it readable at once (time does not pass). Returns the count of ready fds when one
 * is in the set (revents filled in), else 0 to wait as usual.
 */
#define STRICT_SPIN_MAX 100000
static int strict_unknown_ready(struct pollfd *fds, nfds_t nfds, const sigset_t *mask)
{
	struct timespec zero = {0, 0};
	bool unknown = false;
	int n = 0;

	for (nfds_t i = 0; i < nfds; i++) {
		struct stat st;

		if (fds[i].fd >= 0 && (fds[i].events & POLLIN) &&
		    syscall(SYS_fstat, fds[i].fd, &st) == 0 && !S_ISSOCK(st.st_mode) &&
		    !S_ISCHR(st.st_mode))
			unknown = true;
	}
	if (!unknown) {
		w.strict_spins = 0;
		return 0;
	}
	if (++w.strict_spins >= STRICT_SPIN_MAX)
		die("--strict: %d polls in a row returned at once on an fd that is neither a "
		    "socket nor a device: the program spins",
		    STRICT_SPIN_MAX);
	if (syscall(SYS_ppoll, fds, nfds, &zero, mask, _NSIG / 8) < 0)
		for (nfds_t i = 0; i < nfds; i++)
			fds[i].revents = 0;
	for (nfds_t i = 0; i < nfds; i++) {
		struct stat st;

		if (fds[i].fd >= 0 && (fds[i].events & POLLIN) &&
		    syscall(SYS_fstat, fds[i].fd, &st) == 0 && !S_ISSOCK(st.st_mode) &&
		    !S_ISCHR(st.st_mode))
			fds[i].revents |= POLLIN;
		if (fds[i].revents)
			n++;
	}
	return n;
}

static int wait_result(int r)
{
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	struct waitset ws = {.fds = fds, .nfds = nfds};
	int r;

	if (!w.ready)
		return (int)syscall(SYS_poll, fds, nfds, timeout_ms);
	if (w.strict && (r = strict_unknown_ready(fds, nfds, NULL)))
		return r;
	r = (int)syscall(SYS_poll, fds, nfds, 0);
	if (r != 0 || timeout_ms == 0)
		return r;
	return wait_result(wait_rel(timeout_ms < 0 ? -1 : (int64_t)timeout_ms * 1000000, &ws));
}

int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout_ms, size_t fdslen);
int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout_ms, size_t fdslen)
{
	(void)fdslen;
	return poll(fds, nfds, timeout_ms);
}

int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *mask)
{
	struct timespec zero = {0, 0};
	struct waitset ws = {.mask = mask, .fds = fds, .nfds = nfds};
	int r;

	if (!w.ready)
		return (int)syscall(SYS_ppoll, fds, nfds, tmo, mask, _NSIG / 8);
	if (w.strict && (r = strict_unknown_ready(fds, nfds, mask)))
		return r;
	r = (int)syscall(SYS_ppoll, fds, nfds, &zero, mask, _NSIG / 8);
	if (r != 0 || (tmo && tmo->tv_sec == 0 && tmo->tv_nsec == 0))
		return r;
	return wait_result(wait_rel(tmo ? ts_to_ns(tmo) : -1, &ws));
}

int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *mask,
		size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *mask,
		size_t fdslen)
{
	(void)fdslen;
	return ppoll(fds, nfds, tmo, mask);
}

/* The sets as the program passed them, for the real waits while a command runs. */
static void select_waitset(struct waitset *ws, int nfds, fd_set *rd, fd_set *wr, fd_set *ex)
{
	ws->nsel = nfds < FD_SETSIZE ? nfds : FD_SETSIZE;
	ws->rd = rd;
	ws->wr = wr;
	ws->ex = ex;
	if (rd)
		ws->rd0 = *rd;
	if (wr)
		ws->wr0 = *wr;
	if (ex)
		ws->ex0 = *ex;
}

int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
	struct timeval zero = {0, 0};
	struct waitset ws = {0};
	int r;

	if (!w.ready)
		return (int)syscall(SYS_select, nfds, rd, wr, ex, tv);
	select_waitset(&ws, nfds, rd, wr, ex);
	/* On timeout the kernel returns empty sets too, so the zero-timeout call is exact. */
	r = (int)syscall(SYS_select, nfds, rd, wr, ex, &zero);
	if (r != 0 || (tv && tv->tv_sec == 0 && tv->tv_usec == 0))
		return r;
	r = wait_rel(tv ? (int64_t)tv->tv_sec * NS + (int64_t)tv->tv_usec * 1000 : -1, &ws);
	if (r == 0 && tv)
		*tv = zero;
	return wait_result(r);
}

int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *ts,
	    const sigset_t *mask)
{
	struct timespec zero = {0, 0};
	struct {
		const sigset_t *set;
		size_t size;
	} sig = {mask, _NSIG / 8};
	struct waitset ws = {.mask = mask};
	int r;

	if (!w.ready)
		return (int)syscall(SYS_pselect6, nfds, rd, wr, ex, ts, &sig);
	select_waitset(&ws, nfds, rd, wr, ex);
	r = (int)syscall(SYS_pselect6, nfds, rd, wr, ex, &zero, &sig);
	if (r != 0 || (ts && ts->tv_sec == 0 && ts->tv_nsec == 0))
		return r;
	return wait_result(wait_rel(ts ? ts_to_ns(ts) : -1, &ws));
}

int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout_ms)
{
	struct waitset ws = {.epoll = true, .epfd = epfd, .ev = ev, .maxev = max};
	int r;

	if (!w.ready)
		return (int)syscall(SYS_epoll_wait, epfd, ev, max, timeout_ms);
	r = (int)syscall(SYS_epoll_wait, epfd, ev, max, 0);
	if (r != 0 || timeout_ms == 0)
		return r;
	return wait_result(wait_rel(timeout_ms < 0 ? -1 : (int64_t)timeout_ms * 1000000, &ws));
}

/* The relative sleeps; fills *rem on interruption. Returns 0 or -errno. */
static int sleep_rel(const struct timespec *req, struct timespec *rem)
{
	int64_t start = clock_now(CLOCK_MONOTONIC);
	struct waitset ws = {0};
	int64_t len;

	if (req->tv_nsec < 0 || req->tv_nsec >= NS || req->tv_sec < 0)
		return -EINVAL;
	len = ts_to_ns(req);
	if (wait_rel(len, &ws)) {
		if (rem) {
			int64_t left = start + len - clock_now(CLOCK_MONOTONIC);

			*rem = ns_to_ts(left > 0 ? left : 0);
		}
		return -EINTR;
	}
	return 0;
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
	int r;

	if (!w.ready)
		return (int)syscall(SYS_nanosleep, req, rem);
	r = sleep_rel(req, rem);
	if (r) {
		errno = -r;
		return -1;
	}
	return 0;
}

int clock_nanosleep(clockid_t id, int flags, const struct timespec *req, struct timespec *rem)
{
	if (!w.ready || (!is_phc_clockid(id) && !is_sim_clock(id))) {
		/* CPU-time clocks are not simulated. */
		int r = (int)syscall(SYS_clock_nanosleep, id, flags, req, rem);

		return r < 0 ? errno : 0;
	}
	if (strict_refused(id))
		return EINVAL;
	switch (id) {
	case CLOCK_REALTIME:
	case CLOCK_MONOTONIC:
	case CLOCK_BOOTTIME:
	case CLOCK_TAI:
	case CLOCK_REALTIME_ALARM:
	case CLOCK_BOOTTIME_ALARM:
		break;
	default:
		return EOPNOTSUPP; /* like the kernel: PHCs, RAW and COARSE cannot sleep */
	}
	if (req->tv_nsec < 0 || req->tv_nsec >= NS)
		return EINVAL;
	if (flags & TIMER_ABSTIME) {
		struct waitset ws = {0};

		return wait_until(id, ts_to_ns(req), &ws) ? EINTR : 0;
	}
	return -sleep_rel(req, rem);
}

int usleep(useconds_t us)
{
	struct timespec req = {us / 1000000, (long)(us % 1000000) * 1000};

	return nanosleep(&req, NULL);
}

unsigned sleep(unsigned s)
{
	struct timespec req = {s, 0}, rem = {0, 0};

	if (nanosleep(&req, &rem) == 0)
		return 0;
	return (unsigned)rem.tv_sec + (rem.tv_nsec > 0);
}
