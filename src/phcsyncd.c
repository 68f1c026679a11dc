/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * phcsyncd: keep CLOCK_REALTIME locked to a hypervisor's PTP hardware clock.
 * This file holds the command line, the start-up and the main loop; the discipline itself
 * is in sync.c.
 *
 * The loop is one thread and uses only plain calls (poll on sockets, clock_gettime), with
 * signals seen through flags, so that LD_PRELOAD clock simulators can run the daemon
 * unmodified.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "phcsync/clk.h"
#include "phcsync/conf.h"
#include "phcsync/convert_cli.h"
#include "phcsync/ctl.h"
#include "phcsync/iface.h"
#include "phcsync/log.h"
#include "phcsync/notify.h"
#include "phcsync/phc.h"
#include "phcsync/preflight.h"
#include "phcsync/privdrop.h"
#include "phcsync/sandbox.h"
#include "phcsync/sync.h"
#include "phcsync/units.h"
#include "phcsync/vmclock_dev.h"

#include "version.h"

#ifndef PHCSYNC_VERSION
#define PHCSYNC_VERSION "unknown"
#endif
#ifndef PHCSYNC_FEATURES
#define PHCSYNC_FEATURES "unknown"
#endif
#ifndef PHCSYNC_SYSCONFDIR
#define PHCSYNC_SYSCONFDIR "/etc"
#endif

#define DEFAULT_CONF PHCSYNC_SYSCONFDIR "/phcsyncd.conf"
#define SYSFS_PTP "/sys/class/ptp"
#define MAX_CLOCKS 64
/* BOOTTIME gaining this much on MONOTONIC means the VM was suspended. */
#define SUSPEND_MIN_NS (NS_PER_S / 2)

enum exit_code { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_CONFIG = 2 };

struct options {
	const char *conf_path;
	bool conf_given;
	bool foreground;
	bool debug;
	const char *device;
	bool observe_only;
	bool check_config;
	bool list_devices;
	const char *convert; /* --convert FILE */
};

/*
 * Signal handlers only set these flags; the loop acts on them. There is no self-pipe: a
 * clock simulator that does not know an fd treats it as readable, so a pipe in the poll
 * set would wake the loop at once, again and again, and simulated time would never move.
 */
static volatile sig_atomic_t got_term;
static volatile sig_atomic_t got_hup;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: phcsyncd [OPTION]...\n"
		"Keep the system clock locked to a hypervisor's PTP hardware clock.\n"
		"\n"
		"  -f, --config FILE    configuration file (default " DEFAULT_CONF ")\n"
		"  -n, --foreground     stay in the foreground and log to stderr\n"
		"  -d, --debug          log every update\n"
		"  -s, --device DEVICE  PHC to use: a path such as /dev/ptp0, auto, or\n"
		"                       interface:NAME (the PHC of a network interface)\n"
		"  -x, --observe-only   measure and report, never adjust the clock\n"
		"      --check-config   check the configuration file and exit (0 ok, 2 errors)\n"
		"      --list-devices   list the PTP clocks, their capabilities and readout "
		"methods\n"
		"      --convert FILE   print FILE (a chrony.conf, or a phc2sys command line)\n"
		"                       as phcsyncd.conf, with what differs in comments, and\n"
		"                       exit (- reads standard input; 2: not convertible)\n"
		"  -h, --help           show this help and exit\n"
		"  -V, --version        show the version and exit\n"
		"\n"
		"Exit status: 0 on a clean exit, 1 when the clock cannot be disciplined,\n"
		"2 for a configuration or usage error. See phcsyncd(8), phcsyncd.conf(5).\n");
}

/* The git line only when built from git: outside it vcs_tag falls back to the version. */
static void print_version(void)
{
	printf("phcsyncd %s\n", PHCSYNC_VERSION);
	if (strcmp(PHCSYNC_GIT_DESCRIBE, PHCSYNC_VERSION) != 0)
		printf("git: %s\n", PHCSYNC_GIT_DESCRIBE);
	printf("features: %s\n", PHCSYNC_FEATURES);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_CHECK = 256, OPT_LIST, OPT_CONVERT };
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'f'},
		{"foreground", no_argument, NULL, 'n'},
		{"debug", no_argument, NULL, 'd'},
		{"device", required_argument, NULL, 's'},
		{"observe-only", no_argument, NULL, 'x'},
		{"check-config", no_argument, NULL, OPT_CHECK},
		{"list-devices", no_argument, NULL, OPT_LIST},
		{"convert", required_argument, NULL, OPT_CONVERT},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};

	/* The options that only switch something on. */
	const struct {
		int c;
		bool *flag;
	} flags[] = {
		{'n', &o->foreground},	      {'d', &o->debug},
		{'x', &o->observe_only},      {OPT_CHECK, &o->check_config},
		{OPT_LIST, &o->list_devices},
	};
	int c;

	o->conf_path = DEFAULT_CONF;
	while ((c = getopt_long(argc, argv, "f:nds:xhV", longopts, NULL)) != -1) {
		size_t i = 0;

		while (i < sizeof(flags) / sizeof(flags[0]) && flags[i].c != c)
			i++;
		if (i < sizeof(flags) / sizeof(flags[0])) {
			*flags[i].flag = true;
		} else if (c == 'f') {
			o->conf_path = optarg;
			o->conf_given = true;
		} else if (c == 's') {
			o->device = optarg;
		} else if (c == OPT_CONVERT) {
			o->convert = optarg;
		} else if (c == 'h') {
			usage(stdout);
			exit(EXIT_OK);
		} else if (c == 'V') {
			print_version();
			exit(EXIT_OK);
		} else {
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "phcsyncd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	return 0;
}

/*
 * A missing default file means "all defaults"; a file named with -f must exist. The file
 * is opened, not looked up first: open's errno is the answer, with no window between a
 * check and the open, and a simulator that interposes open sees the one call.
 */
static int load_conf(const struct options *o, struct conf *conf)
{
	char err[512];

	conf_defaults(conf);
	if (conf_parse_file(conf, o->conf_path, err, sizeof(err)) == 0)
		return 0;
	if (errno == ENOENT && !o->conf_given) {
		if (o->check_config)
			printf("%s: not present, the defaults apply\n", o->conf_path);
		return 0;
	}
	log_early(LOG_ERR, "%s", err);
	return -1;
}

/*
 * --check-config after the parse: what start-up would load and find (preflight.h). It
 * returns before run(), so nothing here reaches clk, act or the PHC's readout.
 */
static int check_config(const struct options *o, const struct conf *conf)
{
	char shown[CONF_ECHO_MAX];
	int problems;

	conf_escape(o->conf_path, strlen(o->conf_path), shown, sizeof(shown));
	problems =
		preflight_check(conf, shown, o->device ? "-s" : shown, SYSFS_PTP, stdout, stderr);
	if (problems) {
		fflush(stdout);
		fprintf(stderr,
			"%s: %d problem%s: phcsyncd would not start, or would run without "
			"what is named\n",
			shown, problems, problems == 1 ? "" : "s");
		return EXIT_CONFIG;
	}
	printf("%s: configuration OK\n", shown);
	return EXIT_OK;
}

/* The name of an errno value, such as "EINVAL", for messages a simulator's author reads. */
static const char *errno_name(int e)
{
	const char *name = strerrorname_np(e);

	return name ? name : "unknown errno";
}

/* 0, or -errno when CLOCK_MONOTONIC cannot be read. */
static int mono_read(int64_t *ns)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return errno > 0 ? -errno : -EIO;
	*ns = (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
	return 0;
}

/* The last good reading of CLOCK_MONOTONIC (run() starts only with one). */
static int64_t mono_last_ns;
static bool mono_failing;

/* CLOCK_MONOTONIC in ns; when it cannot be read, the last good reading, said once. */
static int64_t mono_ns(void)
{
	int64_t ns;
	int ret = mono_read(&ns);

	if (ret == 0) {
		if (mono_failing)
			log_notice("CLOCK_MONOTONIC can be read again");
		mono_failing = false;
		mono_last_ns = ns;
	} else if (!mono_failing) {
		mono_failing = true;
		log_warn("cannot read CLOCK_MONOTONIC: %s (%s); keeping the last reading",
			 strerror(-ret), errno_name(-ret));
	}
	return mono_last_ns;
}

/*
 * Suspend detection compares CLOCK_BOOTTIME with CLOCK_MONOTONIC; a simulator may refuse
 * BOOTTIME, and then the detection is off for good.
 */
struct suspend_watch {
	bool off;
	bool known;
	int64_t ahead_ns; /* how far BOOTTIME was ahead of MONOTONIC: grows by time suspended */
};

/* The time suspended since it was last seen; 0 when none, or when it cannot be told. */
static int64_t suspend_check(struct suspend_watch *w)
{
	struct timespec boot, mono;
	int64_t ahead_ns, slept_ns;

	if (w->off)
		return 0;
	if (clock_gettime(CLOCK_BOOTTIME, &boot) < 0) {
		int e = errno;

		w->off = true;
		log_notice("cannot read CLOCK_BOOTTIME: %s (%s); suspend detection is off",
			   strerror(e), errno_name(e));
		return 0;
	}
	if (clock_gettime(CLOCK_MONOTONIC, &mono) < 0)
		return 0;
	ahead_ns = (int64_t)(boot.tv_sec - mono.tv_sec) * NS_PER_S + (boot.tv_nsec - mono.tv_nsec);
	if (!w->known) {
		w->known = true;
		w->ahead_ns = ahead_ns;
		return 0;
	}
	slept_ns = ahead_ns - w->ahead_ns;
	if (slept_ns <= SUSPEND_MIN_NS)
		return 0;
	w->ahead_ns = ahead_ns;
	return slept_ns;
}

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

/*
 * Without SA_RESTART, so that a signal arriving while the loop sleeps ends its poll() with
 * EINTR and the flag is acted on at once.
 */
static int setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGHUP, &sa, NULL) < 0)
		return -errno;
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return -errno;
	return 0;
}

/* Each network interface and the PHC behind it, for `device interface:NAME`. */
static void list_interfaces(void)
{
	struct iface_info ifs[64];
	char err[256];
	int n = iface_list(ifs, 64, err, sizeof(err));

	if (n < 0) {
		printf("Network interfaces: cannot list them: %s\n", err);
		return;
	}
	printf("Network interfaces (device interface:NAME):\n");
	for (int i = 0; i < n; i++) {
		if (ifs[i].phc_index >= 0)
			printf("  %-16s /dev/ptp%d\n", ifs[i].name, ifs[i].phc_index);
		else
			printf("  %-16s no PHC\n", ifs[i].name);
	}
}

/* The vmclock devices `vmclock auto` would try, as the page describes itself. */
static void list_vmclock(void)
{
	int found = 0;

	for (int i = 0; i < VMCLOCK_DEV_AUTO_MAX; i++) {
		char path[32], why[256], flags[160];
		struct vmclock_dev *v;
		struct vmclock_snap s;
		int ret;

		snprintf(path, sizeof(path), "/dev/vmclock%d", i);
		ret = vmclock_dev_open(&v, path, why, sizeof(why));
		if (ret == -ENOENT)
			continue;
		found++;
		if (ret < 0 || !v) {
			printf("%s  vmclock  %s\n", path, why);
			continue;
		}
		if (vmclock_dev_read(v, &s, why, sizeof(why)) < 0) {
			printf("%s  vmclock  page not used: %s\n", path, why);
		} else {
			vmclock_flags_str(s.flags, flags, sizeof(flags));
			printf("%s  vmclock  clock status %s, flags %s\n", path,
			       vmclock_status_name(s.clock_status), flags[0] ? flags : "none");
			printf("    disruption marker %#llx, VM generation %llu, counter %s, "
			       "changes %s\n",
			       (unsigned long long)s.disruption_marker,
			       (unsigned long long)s.vm_generation,
			       s.counter_id == VMCLOCK_COUNTER_INVALID ? "none" : "given",
			       s.flags & VMCLOCK_FLAG_NOTIFICATION_PRESENT ? "notified"
									   : "read at every poll");
		}
		vmclock_dev_close(v);
	}
	if (!found)
		printf("No vmclock device (/dev/vmclock0 to /dev/vmclock%d).\n",
		       VMCLOCK_DEV_AUTO_MAX - 1);
}

static int list_devices(void)
{
	struct phc_info list[MAX_CLOCKS];
	int n = phc_scan(SYSFS_PTP, list, MAX_CLOCKS);

	if (n < 0) {
		fprintf(stderr, "phcsyncd: cannot list %s: %s\n", SYSFS_PTP, strerror(-n));
		return EXIT_RUNTIME;
	}
	if (n == 0) {
		printf("No PTP hardware clocks found (%s is empty or missing).\n"
		       "In a VM, load the hypervisor's PHC driver: ptp_kvm (KVM), ptp_vmw "
		       "(VMware), hv_utils (Hyper-V) or vmclock.\n",
		       SYSFS_PTP);
		list_vmclock();
		list_interfaces();
		return EXIT_RUNTIME;
	}
	for (int i = 0; i < n; i++) {
		const struct ptp_clock_caps *caps;
		struct phc *p;
		unsigned methods;
		int rank = phc_hypervisor_rank(list[i].clock_name);
		int ret;

		printf("%s  %s  %s\n", list[i].path, list[i].clock_name,
		       rank >= 0 ? "hypervisor clock" : "not a hypervisor clock (auto skips it)");
		ret = phc_open(&p, list[i].path, PHC_METHOD_AUTO, &phc_sys_default);
		if (ret < 0) {
			printf("    cannot open: %s\n", strerror(-ret));
			continue;
		}
		caps = phc_caps(p);
		printf("    caps: max_adj %d ppb, pins %d, alarms %d, ext_ts %d, per_out %d, "
		       "pps %d, cross_timestamping %d\n",
		       caps->max_adj, caps->n_pins, caps->n_alarm, caps->n_ext_ts, caps->n_per_out,
		       caps->pps, caps->cross_timestamping);
		methods = phc_probe_methods(p);
		printf("    readout:");
		for (int m = 0; m < PHC_METHOD_COUNT; m++)
			printf(" %s %s", phc_method_name(m), (methods & (1u << m)) ? "yes" : "no");
		printf("\n");
		phc_close(p);
	}
	list_vmclock();
	list_interfaces();
	return EXIT_OK;
}

/* What the loop, its timers and the control socket's handlers work on. */
struct daemon {
	struct sync *sync;
	struct ctl *ctl;
	const struct options *opts;
	struct conf conf;	/* as running: the start's, with the live keys of reloads */
	bool summary_changed;	/* a reload changed summary_interval */
	int64_t now_ns;		/* CLOCK_MONOTONIC for this pass of the loop */
	bool ready;		/* READY=1 was sent */
	enum status_state told; /* the state systemd was last told */
};

static int ctl_get_status(void *ctx, struct status *st)
{
	struct daemon *d = ctx;

	sync_get_status(d->sync, d->now_ns, st);
	snprintf(st->build_version, sizeof(st->build_version), "%s", PHCSYNC_VERSION);
	snprintf(st->build_features, sizeof(st->build_features), "%s", PHCSYNC_FEATURES);
	return 0;
}

static int ctl_step(void *ctx, char *msg, size_t msglen)
{
	struct daemon *d = ctx;

	return sync_step_now(d->sync, d->now_ns, msg, msglen);
}

static int ctl_reset(void *ctx, char *msg, size_t msglen)
{
	struct daemon *d = ctx;

	sync_reset(d->sync);
	snprintf(msg, msglen, "servo reset");
	return 0;
}

/* ", "-separated names into buf; "" for none. */
static void join_names(const char **names, size_t n, size_t max, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && i < max && used < len; i++) {
		int k = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", names[i]);

		if (k < 0)
			break;
		used += (size_t)k;
	}
}

/*
 * Read the whole file again, as at start (the same defaults, file and -s). A bad file
 * changes nothing. Live keys take effect at once; the others keep their running values
 * and are named as needing a restart, at every reload until the daemon restarts.
 */
static int reload(struct daemon *d, char *msg, size_t msglen)
{
	const char *path = d->opts->conf_path;
	const char *names[64];
	char live[512], restart[512], leap[1024], err[512];
	struct conf file;
	size_t nlive, nrestart;
	int ret;

	conf_defaults(&file);
	if (conf_parse_file(&file, path, err, sizeof(err)) < 0 &&
	    !(errno == ENOENT && !d->opts->conf_given)) {
		log_err("reload: %s; nothing changed", err);
		snprintf(msg, msglen, "%s; nothing changed", err);
		return -EINVAL;
	}
	if (d->opts->device &&
	    conf_set(&file, "device", d->opts->device, "-s", err, sizeof(err)) < 0) {
		log_err("reload: %s; nothing changed", err);
		snprintf(msg, msglen, "%s; nothing changed", err);
		return -EINVAL;
	}
	nrestart = conf_diff(&d->conf, &file, false, names, 64);
	join_names(names, nrestart, 64, restart, sizeof(restart));
	nlive = conf_diff(&d->conf, &file, true, names, 64);
	join_names(names, nlive, 64, live, sizeof(live));
	d->summary_changed = file.summary_interval_s != d->conf.summary_interval_s;
	conf_apply_live(&d->conf, &file);
	ret = sync_reload(d->sync, &d->conf, leap, sizeof(leap));
	snprintf(msg, msglen, "reloaded %s: %s%s%s%s; %s", path,
		 nlive ? "applied " : "no change to apply", live,
		 nrestart ? "; need a restart, still running the old values: " : "", restart, leap);
	if (nrestart)
		log_warn("%s", msg);
	else
		log_notice("%s", msg);
	return ret;
}

static int ctl_reload(void *ctx, char *msg, size_t msglen)
{
	return reload(ctx, msg, msglen);
}

/*
 * A live socket means another phcsyncd: two daemons must never discipline one clock. Any
 * other failure only costs the socket, not the clock.
 */
static int open_control(const struct conf *conf, struct daemon *d, struct ctl **out)
{
	const struct ctl_handlers handlers = {
		.ctx = d,
		.get_status = ctl_get_status,
		.step = ctl_step,
		.reset = ctl_reset,
		.reload = ctl_reload,
	};
	char err[512];
	int ret;

	*out = NULL;
	if (strcmp(conf->control_socket, "none") == 0)
		return 0;
	ret = ctl_open(out, conf->control_socket, conf->control_group, &handlers, err, sizeof(err));
	if (ret == -EADDRINUSE) {
		log_err("%s", err);
		return ret;
	}
	if (ret < 0)
		log_err("control socket %s: %s; running without it", conf->control_socket, err);
	else
		log_info("control socket %s", conf->control_socket);
	return 0;
}

/* After the device and the socket are open: drop to `user`, then the seccomp filter. */
static int restrict_process(const struct conf *conf)
{
	char err[512];
	int ret;

	if (conf->user[0]) {
		ret = privdrop_to_user(conf->user, err, sizeof(err));
		if (ret < 0) {
			log_err("user %s: %s", conf->user, err);
			return ret;
		}
		log_info("running as %s with CAP_SYS_TIME only", conf->user);
	}
	/* From the sets, not the uid: root may have dropped some, another user hold some. */
	ret = privdrop_has_extra_caps();
	if (ret > 0)
		log_notice("running%s with capabilities beyond CAP_SYS_TIME: `user NAME` keeps "
			   "only CAP_SYS_TIME",
			   geteuid() == 0 ? " as root" : "");
	else if (ret < 0)
		log_warn("cannot read the process's capabilities: %s", strerror(-ret));
	if (conf->seccomp) {
		ret = sandbox_install(err, sizeof(err));
		if (ret < 0) {
			log_err("seccomp: %s", err);
			return ret;
		}
		log_info("seccomp filter installed");
	}
	return 0;
}

/*
 * st: the state has just changed. systemd hears READY=1 once the start-up decision is
 * applied: the state has left unlocked (the clock was stepped, or was close enough to be
 * slewed or locked: the servo's second sample, one poll interval of at most 64 s after the
 * start, well inside systemd's start timeout), or the PHC is awaited or failing (fault,
 * holdover). Then STATUS= at every change of state with a sample. Units ordered after
 * phcsyncd.service thus start on a clock that has had its start-up step;
 * phcsyncd-wait.service waits for the lock itself.
 */
static void tell_systemd(struct daemon *d, const struct status *st)
{
	bool waiting = st->state == STATUS_FAULT && !st->have_sample;
	char line[STATUS_TEXT_MAX + 64];

	if (d->ready ? !st->have_sample || st->state == d->told : st->state == STATUS_UNLOCKED)
		return;
	if (waiting)
		snprintf(line, sizeof(line), "waiting for the PHC");
	else if (!st->have_sample)
		snprintf(line, sizeof(line), "%s %s, no sample yet", st->device,
			 status_state_name(st->state));
	else
		snprintf(line, sizeof(line), "%s %s, offset %+lld ns", st->device,
			 status_state_name(st->state), (long long)st->last_offset_ns);
	if (d->ready)
		notify_status("%s", line);
	else
		notify_ready(line);
	d->ready = true;
	d->told = st->state;
}

/* Fires when `now` reaches next_ns, then every period_ns (0: never). The handler returns 0,
 * or how soon to fire again, sooner than the period. */
struct timer {
	int64_t next_ns;
	int64_t period_ns;
	int64_t (*fire)(struct daemon *d);
};

static int64_t on_poll(struct daemon *d)
{
	struct status st;

	sync_update(d->sync, d->now_ns);
	if (sync_state_changed(d->sync, d->now_ns, &st))
		tell_systemd(d, &st);
	return sync_take_quick_poll(d->sync);
}

static int64_t on_summary(struct daemon *d)
{
	sync_log_summary(d->sync);
	return 0;
}

static int64_t on_watchdog(struct daemon *d)
{
	(void)d;
	notify_watchdog();
	return 0;
}

/* Fire the timers that are due; return the earliest next deadline. */
static int64_t fire_timers(struct daemon *d, struct timer *timers, int n)
{
	int64_t due = d->ctl ? ctl_next_deadline_ns(d->ctl) : INT64_MAX;

	for (struct timer *t = timers; t < timers + n; t++) {
		if (t->period_ns > 0 && d->now_ns >= t->next_ns) {
			int64_t soon_ns = t->fire(d);

			t->next_ns += t->period_ns;
			/* After a long stall keep the cadence instead of firing in a burst. */
			if (t->next_ns <= d->now_ns)
				t->next_ns = d->now_ns + t->period_ns;
			if (soon_ns > 0)
				t->next_ns = d->now_ns + soon_ns;
		}
		if (t->period_ns > 0 && t->next_ns < due)
			due = t->next_ns;
	}
	return due;
}

/* Until SIGTERM or SIGINT. Each pass reads CLOCK_MONOTONIC once, after poll() returns. */
static void loop(struct daemon *d)
{
	const struct conf *conf = &d->conf;
	int64_t now_ns = d->now_ns = mono_ns();
	int64_t summary_ns = (int64_t)(conf->summary_interval_s * NS_PER_S);
	/* The first poll and watchdog ping at once, the first summary after its period. */
	struct timer timers[] = {
		{now_ns, (int64_t)(conf->poll_interval_s * NS_PER_S), on_poll},
		{now_ns + summary_ns, summary_ns, on_summary},
		{now_ns, (int64_t)notify_watchdog_usec() * 1000 / 2, on_watchdog},
	};
	struct suspend_watch suspend = {0};
	struct pollfd fds[CTL_POLLFDS_MAX + 1];

	while (!got_term) {
		int64_t slept_ns = suspend_check(&suspend);
		int64_t wait_ns;
		int nfds = 0, vm_fd;

		if (slept_ns > 0) {
			log_notice("resumed after %.1f s of suspend: polling now",
				   (double)slept_ns / NS_PER_S);
			sync_note_suspend(d->sync, slept_ns, d->now_ns);
			timers[0].next_ns = d->now_ns; /* the poll */
		}
		wait_ns = fire_timers(d, timers, (int)(sizeof(timers) / sizeof(timers[0]))) -
			  d->now_ns;
		/*
		 * A signal that lands after this check and before poll() is seen when poll()
		 * times out: it waits at most one timeout, never longer than poll_interval.
		 */
		if (wait_ns < 0 || got_term || got_hup)
			wait_ns = 0;
		/* Sockets only: see got_term. */
		if (d->ctl)
			nfds = ctl_pollfds(d->ctl, fds, CTL_POLLFDS_MAX);
		vm_fd = sync_vmclock_fd(d->sync);
		if (vm_fd >= 0)
			fds[nfds] = (struct pollfd){vm_fd, POLLIN, 0};
		/* Round up: waking early would only spin. EINTR: a signal, see the flags. */
		poll(fds, (nfds_t)(nfds + (vm_fd >= 0)), (int)((wait_ns + 999999) / 1000000));
		d->now_ns = mono_ns();
		if (d->ctl)
			ctl_process(d->ctl, fds, nfds, d->now_ns);
		/* The hypervisor changed the page: a disruption is corrected now, not at the
		 * next poll. */
		if (vm_fd >= 0 && fds[nfds].revents & POLLIN &&
		    sync_vmclock_changed(d->sync, d->now_ns))
			timers[0].next_ns = d->now_ns;
		else if (vm_fd >= 0 && fds[nfds].revents & (POLLERR | POLLHUP | POLLNVAL))
			sync_vmclock_poll_failed(d->sync, fds[nfds].revents);
		if (got_hup) {
			char msg[1024];

			got_hup = 0;
			log_notice("SIGHUP: reloading %s", d->opts->conf_path);
			reload(d, msg, sizeof(msg));
		}
		if (d->summary_changed) {
			/* The next summary one new period from now. */
			d->summary_changed = false;
			summary_ns = (int64_t)(conf->summary_interval_s * NS_PER_S);
			timers[1].period_ns = summary_ns;
			timers[1].next_ns = d->now_ns + summary_ns;
		}
	}
}

/* Every way out goes through the one cleanup at `out`. */
static int run(const struct options *opts, const struct conf *conf)
{
	struct daemon d = {.opts = opts, .conf = *conf};
	bool observe_only = opts->observe_only;
	struct clk clk;
	int ret = mono_read(&mono_last_ns);

	if (ret < 0) {
		log_err("cannot read CLOCK_MONOTONIC: %s (%s); the poll timer needs it",
			strerror(-ret), errno_name(-ret));
		goto out;
	}
	ret = clk_init(&clk, observe_only);
	if (ret < 0) {
		log_err("cannot read the system clock's state: %s", strerror(-ret));
		goto out;
	}
	if (observe_only)
		log_notice("observe-only: measuring and reporting, never adjusting the clock");
	ret = open_control(conf, &d, &d.ctl);
	if (ret == 0)
		ret = sync_create(&d.sync, conf, &clk);
	if (ret == 0)
		ret = restrict_process(conf);
	if (ret < 0)
		goto out;
	loop(&d);
	notify_stopping();
	log_notice("exiting on signal");
	sync_log_report(d.sync, d.now_ns);
	sync_shutdown(d.sync, d.now_ns);
out:
	sync_destroy(d.sync);
	ctl_close(d.ctl);
	return ret < 0 ? EXIT_RUNTIME : EXIT_OK;
}

int main(int argc, char **argv)
{
	struct options opts = {0};
	struct conf conf;
	char err[512];
	int ret;

	if (parse_options(argc, argv, &opts) < 0)
		return EXIT_CONFIG;
	/* Converting reads another daemon's file: phcsyncd's own is not needed. */
	if (opts.convert)
		return convert_cli(opts.convert, stdout, stderr);
	if (load_conf(&opts, &conf) < 0)
		return EXIT_CONFIG;
	/* The command line goes through the file's own validator. */
	if (opts.device && conf_set(&conf, "device", opts.device, "-s", err, sizeof(err)) < 0) {
		log_early(LOG_ERR, "phcsyncd: %s", err);
		return EXIT_CONFIG;
	}
	if (opts.check_config)
		return check_config(&opts, &conf);
	if (opts.list_devices)
		return list_devices();

	log_init("phcsyncd", opts.foreground, opts.debug);
	if (!opts.foreground && daemon(0, 0) < 0) {
		log_err("cannot detach: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	ret = setup_signals();
	if (ret < 0) {
		log_err("cannot set up signal handling: %s", strerror(-ret));
		return EXIT_RUNTIME;
	}
	log_info("phcsyncd %s starting (%s)", PHCSYNC_VERSION, PHCSYNC_FEATURES);
	return run(&opts, &conf);
}
