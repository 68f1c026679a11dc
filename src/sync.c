/*
 * The clock discipline: PHC burst -> filter -> servo -> clk. Policy that is not the
 * servo's lives here: the device's life (waiting, reopening), holdover, disruptions (VM
 * events), the panic limit, observe-only, the driftfile and the kernel status. Leap
 * seconds are in sync_leap.c, summaries and status in sync_report.c; syscalls stay in
 * phc.c and clk.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "phcsync/device.h"
#include "phcsync/disrupt.h"
#include "phcsync/driftfile.h"
#include "phcsync/filter.h"
#include "phcsync/leapsec.h"
#include "phcsync/log.h"
#include "phcsync/rtchint.h"
#include "phcsync/servo.h"
#include "phcsync/stats.h"
#include "phcsync/sync.h"
#include "sync_private.h"

static int readings_per_poll(const struct conf *c)
{
	int n = c->readings;

	if (c->max_reads_per_second > 0) {
		int cap = (int)floor(c->max_reads_per_second * c->poll_interval_s);

		if (cap < 1)
			cap = 1;
		if (n > cap)
			n = cap;
	}
	return n;
}

/* `timescale auto`: what the driver is known to give (documented in phcsyncd.conf(5)). */
static void resolve_timescale(struct sync *s)
{
	enum conf_timescale ts = s->conf.timescale;

	if (ts == CONF_TIMESCALE_AUTO)
		ts = strncmp(s->clock_name, "vmclock", 7) == 0 ? CONF_TIMESCALE_TAI
							       : CONF_TIMESCALE_UTC;
	if (ts == s->timescale)
		return;
	s->timescale = ts;
	log_info("%s: timescale %s%s", s->device, ts == CONF_TIMESCALE_TAI ? "tai" : "utc",
		 s->conf.timescale == CONF_TIMESCALE_AUTO ? " (auto, from the clock name)" : "");
	if (ts == CONF_TIMESCALE_TAI && !s->leap.table)
		log_warn("timescale tai without a leap table: using a fixed TAI-UTC of %d s "
			 "(utc_offset); it will be wrong after the next leap second",
			 s->conf.utc_offset_s);
}

/*
 * Open the configured device, or find it again by its clock name. A handle already open
 * is replaced only when the new open succeeds.
 */
static int open_device(struct sync *s, int64_t now_mono_ns, bool quiet)
{
	struct device_choice choice;
	struct phc *phc = NULL;
	char msg[1024];
	int ret;

	ret = device_resolve(SYSFS_PTP, s->conf.device, s->clock_name, &choice, msg, sizeof(msg));
	if (ret == 0) {
		ret = phc_open(&phc, choice.path, s->conf.readout, &phc_sys_default);
		if (ret < 0)
			snprintf(msg, sizeof(msg), "cannot open %s: %s", choice.path,
				 strerror(-ret));
	}
	if (ret < 0) {
		if (!quiet)
			log_warn("device %s: %s", s->conf.device, msg);
		return ret;
	}
	if (s->phc)
		phc_close(s->phc);
	s->phc = phc;
	snprintf(s->device, sizeof(s->device), "%s", choice.path);
	snprintf(s->clock_name, sizeof(s->clock_name), "%s", choice.clock_name);
	/* Known after the first read when probing. */
	s->method =
		s->conf.readout == PHC_METHOD_AUTO ? PHC_METHOD_COUNT : phc_current_method(s->phc);
	filter_reset(s->filter);
	resolve_timescale(s);
	if (s->ever_opened) {
		s->reopens++;
		log_notice("%s (%s): reopened", s->device, s->clock_name);
	} else {
		log_info("%s (%s): opened read-only, readout %s", s->device, s->clock_name,
			 s->conf.readout == PHC_METHOD_AUTO ? "auto (probing)"
							    : phc_method_name(s->conf.readout));
	}
	s->ever_opened = true;
	s->waiting_since_mono_ns = -1;
	(void)now_mono_ns;
	return 0;
}

static void close_device(struct sync *s, int64_t now_mono_ns, int64_t delay_ns)
{
	if (s->phc) {
		phc_close(s->phc);
		s->phc = NULL;
	}
	s->next_open_mono_ns = now_mono_ns + delay_ns;
}

/* Start from the driftfile's frequency, when it holds a sane one. */
static bool load_drift(struct sync *s, struct clk *clk, double *freq_ppb)
{
	double freq, unc;
	int ret = driftfile_read(s->conf.driftfile, &freq, &unc);

	if (ret == -ENOENT) {
		log_info("driftfile %s: not there yet", s->conf.driftfile);
		return false;
	}
	if (ret < 0) {
		log_warn("driftfile %s: ignored: %s", s->conf.driftfile,
			 ret == -EINVAL ? "corrupt or absurd content" : strerror(-ret));
		return false;
	}
	log_info("driftfile %s: starting from %+.3f ppb (uncertainty %.3f ppb)", s->conf.driftfile,
		 freq, unc);
	if (!clk->observe_only) {
		ret = clk_set_freq_ppb(clk, freq);
		if (ret < 0) {
			log_err("setting frequency %+.3f ppb failed: %s", freq, strerror(-ret));
			return false;
		}
	}
	*freq_ppb = freq;
	return true;
}

/* Standard deviation of the recent locked frequencies: the driftfile's uncertainty. */
static double freq_spread_ppb(const struct sync *s)
{
	struct stats st;

	stats_reset(&st);
	for (int i = 0; i < s->freq_history_len; i++)
		stats_add(&st, s->freq_history_ppb[i]);
	return stats_stddev(&st);
}

static void save_drift(struct sync *s, int64_t now_mono_ns)
{
	double freq = servo_freq_ppb(s->servo);
	double unc = freq_spread_ppb(s);
	int ret;

	if (!s->conf.driftfile[0] || !s->ever_locked || s->clk->observe_only)
		return;
	s->drift_written_mono_ns = now_mono_ns;
	if (unc > DRIFTFILE_UNC_MAX_PPB)
		unc = DRIFTFILE_UNC_MAX_PPB;
	ret = driftfile_write(s->conf.driftfile, freq, unc);
	if (ret < 0)
		log_warn("driftfile %s: cannot write: %s", s->conf.driftfile, strerror(-ret));
	else
		log_debug("driftfile %s: wrote %+.3f ppb", s->conf.driftfile, freq);
}

int sync_create(struct sync **out, const struct conf *conf, struct clk *clk)
{
	struct disrupt_params dp;
	struct servo_params sp;
	struct sync *s = calloc(1, sizeof(*s));
	double freq_ppb = 0.0;
	int ret;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->conf = *conf;
	s->clk = clk;
	s->start_mono_ns = -1;
	s->waiting_since_mono_ns = -1;
	s->kernel_tai_s = -1;
	s->timescale = CONF_TIMESCALE_AUTO;
	s->open_backoff_ns = OPEN_BACKOFF_MIN_NS;
	snprintf(s->device, sizeof(s->device), "%s", conf->device);
	s->readings = readings_per_poll(conf);
	if (s->readings < conf->readings)
		log_notice("readings per poll lowered from %d to %d by max_reads_per_second %d",
			   conf->readings, s->readings, conf->max_reads_per_second);

	ret = clk_get_freq_ppb(clk, &freq_ppb);
	if (ret < 0) {
		log_err("cannot read the system clock's frequency: %s", strerror(-ret));
		free(s);
		return ret;
	}
	servo_params_defaults(&sp, conf->poll_interval_s);
	sp.freq_trusted = conf->driftfile[0] && load_drift(s, clk, &freq_ppb);
	sp.kp = conf->pi_kp;
	sp.ki = conf->pi_ki;
	/*
	 * Once stable, a narrower loop passes less read noise to the clock (measured under
	 * the simulator: RMS 48 -> 22 ns on KVM, 245 -> 173 ns on ptp_vmw); an offset beyond
	 * the stable band restores the full gains at once. Explicit gains are used as given,
	 * so linuxptp tuning carries over unchanged.
	 */
	if (conf->pi_kp == 0 && conf->pi_ki == 0) {
		sp.stable_kp_scale = STABLE_KP_SCALE;
		sp.stable_ki_scale = STABLE_KI_SCALE;
	}
	sp.max_freq_ppb = clk_max_freq_ppb(clk);
	sp.first_step_threshold_ns = (int64_t)llround(conf->first_step_threshold_s * NS_PER_S);
	sp.step_threshold_ns = (int64_t)llround(conf->step_threshold_s * NS_PER_S);
	s->servo = servo_create(SERVO_PI, &sp, freq_ppb);
	s->filter = filter_create();
	disrupt_params_default(&dp);
	dp.samples = conf->disruption_samples;
	s->disrupt = disrupt_create(&dp);
	if (!s->servo || !s->filter || !s->disrupt) {
		log_err("cannot create the servo or the filter");
		sync_destroy(s);
		return -ENOMEM;
	}
	s->freq_ppb = freq_ppb;
	stats_reset(&s->win_offset);
	stats_reset(&s->win_freq);
	stats_reset(&s->win_delay);
	stats_reset(&s->locked_offset);

	ret = sync_leap_open(s);
	if (ret < 0) {
		sync_destroy(s);
		return ret;
	}
	ret = open_device(s, 0, true);
	if (ret < 0) {
		char msg[1024];
		struct device_choice unused;

		device_resolve(SYSFS_PTP, conf->device, "", &unused, msg, sizeof(msg));
		if (!conf->wait_for_device) {
			log_err("device %s: %s", conf->device, msg[0] ? msg : strerror(-ret));
			sync_destroy(s);
			return ret;
		}
		log_warn("device %s: %s; waiting for it (wait_for_device yes)", conf->device,
			 msg[0] ? msg : strerror(-ret));
		s->last_read_errno = ENODEV;
	}
	log_info("servo pi: interval %.3f s, kp %s, ki %s, start frequency %+.3f ppb, "
		 "first step above %.9f s, later steps above %.9f s%s",
		 conf->poll_interval_s, conf->pi_kp > 0 ? "set" : "default",
		 conf->pi_ki > 0 ? "set" : "default", freq_ppb, conf->first_step_threshold_s,
		 conf->step_threshold_s, conf->step_threshold_s > 0 ? "" : " (never)");
	*out = s;
	return 0;
}

/*
 * The offset of the system clock from the UTC the PHC gives (positive: ahead), and that UTC
 * time itself. A TAI PHC is converted with the leap table's TAI-UTC at that instant.
 */
static int64_t reference_offset_ns(const struct sync *s, const struct filter_sample *sample,
				   int64_t *ref_utc_ns)
{
	int64_t ref_ns = sample->t_local_ns - sample->offset_ns + s->conf.offset_ns;
	int tai_utc_s;

	if (s->timescale == CONF_TIMESCALE_TAI) {
		tai_utc_s = leapsec_tai_utc_at_tai(&s->leap, ref_ns);
		if (tai_utc_s < 0)
			tai_utc_s = s->conf.utc_offset_s;
		ref_ns -= (int64_t)tai_utc_s * NS_PER_S;
	}
	*ref_utc_ns = ref_ns;
	return sample->t_local_ns - ref_ns;
}

bool sync_is_locked(enum servo_state st)
{
	return st == SERVO_LOCKED || st == SERVO_LOCKED_STABLE;
}

static void set_state(struct sync *s, enum servo_state st, int64_t offset_ns)
{
	if (s->have_state && s->state == st)
		return;
	if (st != SERVO_STEP)
		log_notice("state %s -> %s (offset %+" PRId64 " ns)",
			   s->have_state ? servo_state_name(s->state) : "start",
			   servo_state_name(st), offset_ns);
	s->state = st;
	s->have_state = true;
}

/*
 * The frequency to hold when samples cannot be used: the mean of the recent locked ones,
 * which, unlike the last output, carries no proportional correction of one noisy offset.
 */
double sync_held_freq_ppb(const struct sync *s)
{
	double sum = 0.0;

	if (s->freq_history_len == 0)
		return s->have_state ? servo_freq_ppb(s->servo) : s->freq_ppb;
	for (int i = 0; i < s->freq_history_len; i++)
		sum += s->freq_history_ppb[i];
	return sum / s->freq_history_len;
}

static void remember_freq(struct sync *s, double freq_ppb)
{
	s->freq_history_ppb[s->freq_history_next] = freq_ppb;
	s->freq_history_next = (s->freq_history_next + 1) % FREQ_HISTORY;
	if (s->freq_history_len < FREQ_HISTORY)
		s->freq_history_len++;
}

/* The kernel's maxerror grows by itself (500 us/s) while nobody updates it. */
static void enter_holdover(struct sync *s, int err, int64_t now_mono_ns)
{
	double freq_ppb = sync_held_freq_ppb(s);
	int ret;

	s->holdover = true;
	s->holdover_since_mono_ns = now_mono_ns;
	s->recovery_good = 0;
	if (!s->clk->observe_only) {
		ret = clk_set_freq_ppb(s->clk, freq_ppb);
		if (ret < 0)
			log_err("setting frequency %+.3f ppb failed: %s", freq_ppb, strerror(-ret));
		s->freq_ppb = freq_ppb;
	}
	log_warn("holdover: %d failed polls (%s): keeping frequency %+.3f ppb, no steps",
		 s->consecutive_failures, strerror(err), s->freq_ppb);
}

/* Open (or reopen) the device when the backoff allows; -EAGAIN when it does not yet. */
static int try_open(struct sync *s, int64_t now_mono_ns)
{
	int ret;

	if (now_mono_ns < s->next_open_mono_ns)
		return -EAGAIN;
	if (s->waiting_since_mono_ns < 0) {
		s->waiting_since_mono_ns = now_mono_ns;
		s->last_wait_log_mono_ns = now_mono_ns;
	}
	ret = open_device(s, now_mono_ns, true);
	if (ret == 0) {
		/* The earliest reopen if reads keep failing; a good read resets the backoff. */
		s->next_open_mono_ns = now_mono_ns + s->open_backoff_ns;
		s->open_backoff_ns = s->open_backoff_ns * 2 > OPEN_BACKOFF_MAX_NS
					     ? OPEN_BACKOFF_MAX_NS
					     : s->open_backoff_ns * 2;
		return 0;
	}
	s->next_open_mono_ns = now_mono_ns + s->open_backoff_ns;
	s->open_backoff_ns *= 2;
	if (s->open_backoff_ns > OPEN_BACKOFF_MAX_NS)
		s->open_backoff_ns = OPEN_BACKOFF_MAX_NS;
	if (!s->phc && now_mono_ns - s->last_wait_log_mono_ns >= WAIT_LOG_INTERVAL_NS) {
		s->last_wait_log_mono_ns = now_mono_ns;
		log_warn("still waiting for device %s (%.0f s)", s->conf.device,
			 (double)(now_mono_ns - s->waiting_since_mono_ns) / NS_PER_S);
	}
	return ret;
}

/* A poll without a sample: count it, and go to holdover after holdover_after of them. */
static void count_failure(struct sync *s, int err, int64_t now_mono_ns)
{
	s->read_failures++;
	s->consecutive_failures++;
	s->recovery_good = 0;
	/* Before the first open the wait was logged already (and again every few minutes). */
	if (s->last_read_errno != err && s->ever_opened)
		log_warn("%s: read failed: %s", s->device, strerror(err));
	s->last_read_errno = err;
	if (!s->holdover && s->ever_opened && s->consecutive_failures >= s->conf.holdover_after)
		enter_holdover(s, err, now_mono_ns);
}

/* A read failed: a vanished device is looked for at once, a failing one reopened with backoff. */
static void read_failed(struct sync *s, int err, int64_t now_mono_ns)
{
	bool first = s->last_read_errno != err;

	count_failure(s, err, now_mono_ns);
	if (err == EOPNOTSUPP || err == ENOTTY) {
		/* Only a forced method gets here (auto moves on): a reopen cannot help. */
		if (first)
			log_err("%s (%s) does not support readout %s; use readout auto", s->device,
				s->clock_name, phc_method_name(s->conf.readout));
	} else if (err == ENODEV || err == ENXIO || err == EBADF) {
		log_warn("%s: device gone; looking for %s again", s->device, s->clock_name);
		close_device(s, now_mono_ns, 0);
	} else if (s->holdover && now_mono_ns >= s->next_open_mono_ns) {
		/* A fresh handle may help a wedged device; the old one is kept if it fails. */
		log_debug("%s: trying a reopen after %d failed polls", s->device,
			  s->consecutive_failures);
		try_open(s, now_mono_ns);
	}
}

static bool read_sample(struct sync *s, struct filter_sample *sample, int64_t now_mono_ns)
{
	struct phc_reading r[PTP_MAX_SAMPLES];
	enum phc_method method;
	int n, ret;

	if (!s->phc) {
		ret = try_open(s, now_mono_ns);
		if (!s->phc) {
			count_failure(s,
				      ret == -EAGAIN
					      ? s->last_read_errno ? s->last_read_errno : ENODEV
					      : -ret,
				      now_mono_ns);
			return false;
		}
	}
	n = phc_read(s->phc, s->readings, r);
	method = phc_current_method(s->phc);
	if (method != s->method && s->method == PHC_METHOD_COUNT) {
		log_info("%s: readout %s", s->device, phc_method_name(method));
		s->method = method;
	} else if (method != s->method) {
		log_notice("%s: readout method %s -> %s", s->device, phc_method_name(s->method),
			   phc_method_name(method));
		s->method = method;
		filter_reset(s->filter);
	}
	if (n < 0) {
		read_failed(s, -n, now_mono_ns);
		return false;
	}
	if (s->last_read_errno) {
		log_notice("%s: reading again after %s", s->device, strerror(s->last_read_errno));
		s->last_read_errno = 0;
	}
	s->open_backoff_ns = OPEN_BACKOFF_MIN_NS;
	s->waiting_since_mono_ns = -1;
	ret = filter_process(s->filter, r, n, sample);
	if (ret == -EAGAIN) {
		s->rejected++;
		log_debug("burst rejected: delay %" PRId64 " ns is an outlier", sample->delay_ns);
		return false;
	}
	if (ret < 0) {
		s->rejected++;
		log_warn("%s: no usable reading in a burst of %d", s->device, n);
		return false;
	}
	s->consecutive_failures = 0;
	return true;
}

/* Leave holdover only after a run of good samples, so stale data never moves the clock. */
static bool recovering(struct sync *s, int64_t offset_ns, int64_t now_mono_ns)
{
	if (!s->holdover)
		return false;
	if (++s->recovery_good < HOLDOVER_EXIT_SAMPLES)
		return true;
	s->holdover = false;
	s->holdover_ns = now_mono_ns - s->holdover_since_mono_ns;
	s->recovered_mono_ns = now_mono_ns;
	servo_unsettle(s->servo);
	log_notice("holdover ended after %.0f s; offset %+" PRId64 " ns",
		   (double)s->holdover_ns / NS_PER_S, offset_ns);
	/*
	 * The servo keeps its frequency and state: the drift of the holdover is a known
	 * offset, stepped or slewed at once by the disruption path, not a reason to estimate
	 * the frequency again from samples the slew would bias.
	 */
	return false;
}

/* Offsets beyond max_offset_panic are refused unless allowed: a wrong PHC or a wrong
 * timescale must not move the clock by days. */
static bool refuse_panic(struct sync *s, int64_t offset_ns)
{
	double limit_s = s->conf.max_offset_panic_s;
	bool beyond = limit_s > 0 && fabs((double)offset_ns) > limit_s * NS_PER_S;

	if (beyond && !s->conf.allow_large_step) {
		if (!s->panicking)
			log_err("offset %+.9f s is beyond max_offset_panic %.0f s: NOT correcting "
				"the clock (check the PHC and timescale, or set allow_large_step)",
				(double)offset_ns / NS_PER_S, limit_s);
		s->panicking = true;
		return true;
	}
	if (s->panicking)
		log_notice("offset %+.9f s is within max_offset_panic again",
			   (double)offset_ns / NS_PER_S);
	s->panicking = false;
	return false;
}

static void step_clock(struct sync *s, int64_t offset_ns, int64_t now_mono_ns)
{
	int ret = clk_step_ns(s->clk, -offset_ns);

	if (ret < 0) {
		log_err("step by %+.9f s failed: %s", (double)-offset_ns / NS_PER_S,
			strerror(-ret));
		return;
	}
	s->steps++;
	s->last_step_ns = -offset_ns;
	s->last_step_mono_ns = now_mono_ns;
	log_notice("%sstepped the clock by %+.9f s (offset was %+" PRId64 " ns)",
		   s->clk->observe_only ? "observe-only, not done: " : "",
		   (double)-offset_ns / NS_PER_S, offset_ns);
}

static void observe(struct sync *s, int64_t offset_ns, int64_t now_mono_ns)
{
	if (!s->have_first) {
		s->have_first = true;
		s->first_offset_ns = offset_ns;
		s->first_mono_ns = now_mono_ns;
		log_notice("observe-only: first offset %+" PRId64 " ns", offset_ns);
	}
	if (now_mono_ns > s->first_mono_ns)
		s->freq_ppb = -(double)(offset_ns - s->first_offset_ns) * 1e9 /
			      (double)(now_mono_ns - s->first_mono_ns);
}

/*
 * maxerror must hold until the next update: besides the offset and the sample's error
 * bound, the clock may move by as much as the correction now applied beyond the held
 * frequency (an overshoot of the servo), over one interval.
 */
static void update_kernel_status(struct sync *s, int64_t offset_ns, int64_t error_ns, bool locked)
{
	int64_t movement_ns =
		(int64_t)(fabs(s->freq_ppb - sync_held_freq_ppb(s)) * s->conf.poll_interval_s);
	int ret = clk_set_status(s->clk, llabs(offset_ns) + error_ns + movement_ns, error_ns,
				 locked && s->conf.rtcsync);

	if (ret < 0)
		log_warn("setting the kernel status failed: %s", strerror(-ret));
}

/* freq_ppb is the servo's; a leap smear's own rate is added on the way to the kernel. */
void sync_set_freq(struct sync *s, double freq_ppb)
{
	int ret = clk_set_freq_ppb(s->clk, freq_ppb + s->smear_rate_ppb);

	if (ret < 0)
		log_err("setting frequency %+.3f ppb failed: %s", freq_ppb, strerror(-ret));
	s->freq_ppb = freq_ppb;
}

/*
 * Slew out a disruption below the step threshold: proportional control only, with the
 * integrator frozen, so the servo's frequency is still right when the offset is gone.
 * Returns false once done: the sample then goes to the servo.
 */
static bool slew(struct sync *s, int64_t offset_ns, int64_t now_mono_ns)
{
	double max = clk_max_freq_ppb(s->clk);
	double freq;

	if (llabs(offset_ns) < SLEW_DONE_NS) {
		s->slewing = false;
		disrupt_reset(s->disrupt);
		servo_unsettle(s->servo);
		log_notice("disruption slewed out in %.0f s; offset %+" PRId64 " ns",
			   (double)(now_mono_ns - s->slew_start_mono_ns) / NS_PER_S, offset_ns);
		return false;
	}
	freq = s->slew_base_ppb - SLEW_GAIN * (double)offset_ns / s->conf.poll_interval_s;
	freq = freq > max ? max : freq < -max ? -max : freq;
	sync_set_freq(s, freq);
	log_debug("slewing: offset %+" PRId64 " ns freq %+.3f ppb", offset_ns, freq);
	return true;
}

/*
 * Watch for VM events that move the offset far beyond the noise. Returns true when the
 * sample was consumed here (held as a suspect, or used to step or slew).
 */
static bool handle_disruption(struct sync *s, int64_t offset_ns, int64_t now_mono_ns)
{
	struct disrupt_hint hint = {0};
	struct disrupt_result r;
	bool was_suspect = s->suspect;
	bool resumed = s->suspend_mono_ns > 0 && now_mono_ns - s->suspend_mono_ns < RESUME_TRUST_NS;
	bool recovered =
		s->recovered_mono_ns > 0 && now_mono_ns - s->recovered_mono_ns < RESUME_TRUST_NS;
	double base_ppb;
	char msg[256];

	s->suspect = false;
	if (s->slewing)
		return slew(s, offset_ns, now_mono_ns);
	if (!s->have_state || !sync_is_locked(s->state))
		return false;
	switch (disrupt_feed(s->disrupt, offset_ns, &r)) {
	case DISRUPT_NORMAL:
		return false;
	case DISRUPT_DISCARDED:
		log_info("ignored %d outlier sample(s)", r.discarded);
		return false;
	case DISRUPT_SUSPECT:
		if (r.discarded)
			log_info("ignored %d outlier sample(s)", r.discarded);
		if (resumed || recovered) {
			/* The VM just slept, or the PHC was unreadable: the jump is expected. */
			disrupt_reset(s->disrupt);
			break;
		}
		log_info("offset %+" PRId64 " ns is beyond the noise (threshold %" PRId64
			 " ns): holding the frequency, confirming with quick polls",
			 offset_ns, r.threshold_ns);
		if (!was_suspect)
			sync_set_freq(s, sync_held_freq_ppb(s));
		s->suspect = true;
		s->quick_poll = true;
		return true;
	case DISRUPT_CONFIRMED:
		break;
	}
	hint.suspended =
		s->suspend_mono_ns > 0 && now_mono_ns - s->suspend_mono_ns < SUSPEND_HINT_NS;
	hint.suspend_ns = s->suspend_ns;
	if (recovered)
		hint.holdover_ns = s->holdover_ns;
	base_ppb = sync_held_freq_ppb(s);
	/* Named by how far the reference moved against our clock: the correction to come. */
	disrupt_format(msg, sizeof(msg), -offset_ns, &hint);
	log_notice("%s", msg);
	s->disruptions++;
	if (s->conf.step_threshold_s > 0 &&
	    fabs((double)offset_ns) > s->conf.step_threshold_s * NS_PER_S) {
		step_clock(s, offset_ns, now_mono_ns);
		sync_set_freq(s, base_ppb);
		disrupt_reset(s->disrupt);
		servo_unsettle(s->servo);
		return true;
	}
	s->slewing = true;
	s->slew_base_ppb = base_ppb;
	s->slew_start_mono_ns = now_mono_ns;
	log_notice("slewing %+.9f s (below step_threshold)", (double)-offset_ns / NS_PER_S);
	return slew(s, offset_ns, now_mono_ns);
}

static void record(struct sync *s, const struct filter_sample *sample, int64_t offset_ns)
{
	char msg[512];

	s->updates++;
	s->last_offset_ns = offset_ns;
	s->last_delay_ns = sample->delay_ns;
	s->last_error_ns = sample->error_bound_ns;
	stats_add(&s->win_delay, (double)sample->delay_ns);
	/* Before lock the offsets are the start-up error, not the quality of the lock. */
	if (s->clk->observe_only || (s->have_state && sync_is_locked(s->state)))
		stats_add(&s->win_offset, (double)offset_ns);
	s->recent_offset_ns[s->recent_next] = offset_ns;
	s->recent_next = (s->recent_next + 1) % STATUS_WINDOW;
	if (s->recent_count < STATUS_WINDOW)
		s->recent_count++;
	if (s->updates == 1 && rtchint_check(offset_ns, msg, sizeof(msg)))
		log_warn("%s", msg);
}

static void discipline(struct sync *s, const struct filter_sample *sample, int64_t offset_ns,
		       int64_t now_mono_ns)
{
	enum servo_state st;
	double freq_ppb;

	freq_ppb = servo_sample(s->servo, offset_ns, now_mono_ns, &st);
	set_state(s, st, offset_ns);
	switch (st) {
	case SERVO_UNLOCKED:
		break;
	case SERVO_STEP:
		step_clock(s, offset_ns, now_mono_ns);
		disrupt_reset(s->disrupt);
		/* The frequency estimate holds across the step. */
		__attribute__((fallthrough));
	case SERVO_LOCKED:
	case SERVO_LOCKED_STABLE:
		sync_set_freq(s, freq_ppb);
		stats_add(&s->win_freq, freq_ppb);
		if (st != SERVO_STEP)
			remember_freq(s, freq_ppb);
		break;
	}
	if (sync_is_locked(st)) {
		stats_add(&s->locked_offset, (double)offset_ns);
		if (!s->ever_locked)
			s->drift_written_mono_ns = now_mono_ns;
		s->ever_locked = true;
	}
	log_debug("offset %+" PRId64 " ns state %s freq %+.3f ppb delay %" PRId64
		  " ns error %" PRId64 " ns",
		  offset_ns, servo_state_name(st), freq_ppb, sample->delay_ns,
		  sample->error_bound_ns);
}

void sync_update(struct sync *s, int64_t now_mono_ns)
{
	struct filter_sample sample;
	int64_t offset_ns, ref_utc_ns;

	if (s->start_mono_ns < 0)
		s->start_mono_ns = now_mono_ns;
	if (!read_sample(s, &sample, now_mono_ns))
		return;
	offset_ns = reference_offset_ns(s, &sample, &ref_utc_ns);
	if (sync_leap_apply(s, &offset_ns, ref_utc_ns, now_mono_ns))
		return;
	if (recovering(s, offset_ns, now_mono_ns))
		return;
	record(s, &sample, offset_ns);

	if (s->clk->observe_only) {
		observe(s, offset_ns, now_mono_ns);
		log_debug("offset %+" PRId64 " ns delay %" PRId64 " ns drift %+.3f ppb", offset_ns,
			  sample.delay_ns, s->freq_ppb);
		return;
	}
	if (refuse_panic(s, offset_ns))
		return;
	if (!handle_disruption(s, offset_ns, now_mono_ns))
		discipline(s, &sample, offset_ns, now_mono_ns);
	update_kernel_status(s, offset_ns, sample.error_bound_ns,
			     !s->slewing && !s->suspect && s->have_state &&
				     sync_is_locked(s->state));
	if (s->ever_locked && now_mono_ns - s->drift_written_mono_ns >= DRIFT_WRITE_INTERVAL_NS)
		save_drift(s, now_mono_ns);
}

int sync_step_now(struct sync *s, int64_t now_mono_ns, char *msg, size_t msglen)
{
	struct filter_sample sample;
	int64_t offset_ns, ref_utc_ns;

	if (s->clk->observe_only) {
		snprintf(msg, msglen, "observe-only: the clock is never adjusted");
		return -EPERM;
	}
	if (!read_sample(s, &sample, now_mono_ns)) {
		snprintf(msg, msglen, "no sample from %s now", s->device);
		return -EIO;
	}
	offset_ns = reference_offset_ns(s, &sample, &ref_utc_ns);
	if (refuse_panic(s, offset_ns)) {
		snprintf(msg, msglen, "offset %+.9f s is beyond max_offset_panic",
			 (double)offset_ns / NS_PER_S);
		return -ERANGE;
	}
	log_notice("step requested over the control socket");
	step_clock(s, offset_ns, now_mono_ns);
	s->slewing = false;
	disrupt_reset(s->disrupt);
	snprintf(msg, msglen, "stepped the clock by %+.9f s", (double)-offset_ns / NS_PER_S);
	return 0;
}

void sync_reset(struct sync *s)
{
	log_notice("servo reset requested over the control socket");
	servo_reset(s->servo);
	disrupt_reset(s->disrupt);
	filter_reset(s->filter);
	s->slewing = false;
}

int64_t sync_take_quick_poll(struct sync *s)
{
	int64_t delay_ns = QUICK_POLL_NS;

	if (!s->quick_poll)
		return 0;
	s->quick_poll = false;
	/* Never beyond the configured read budget. */
	if (s->conf.max_reads_per_second > 0 &&
	    (int64_t)s->readings * NS_PER_S / s->conf.max_reads_per_second > delay_ns)
		delay_ns = (int64_t)s->readings * NS_PER_S / s->conf.max_reads_per_second;
	return delay_ns;
}

void sync_note_suspend(struct sync *s, int64_t slept_ns, int64_t now_mono_ns)
{
	s->suspend_ns = slept_ns;
	s->suspend_mono_ns = now_mono_ns;
}

void sync_shutdown(struct sync *s, int64_t now_mono_ns)
{
	int ret;

	save_drift(s, now_mono_ns);
	if (s->clk->observe_only)
		return;
	ret = clk_set_status(s->clk, 16000000000LL, 16000000000LL, false);
	if (ret < 0)
		log_warn("marking the clock unsynchronised failed: %s", strerror(-ret));
}

void sync_destroy(struct sync *s)
{
	if (!s)
		return;
	if (s->servo)
		servo_destroy(s->servo);
	if (s->disrupt)
		disrupt_destroy(s->disrupt);
	if (s->filter)
		filter_destroy(s->filter);
	if (s->phc)
		phc_close(s->phc);
	leapsec_close(&s->leap);
	free(s);
}
