/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "phcsync/device.h"
#include "phcsync/filter.h"
#include "phcsync/log.h"
#include "phcsync/measure.h"
#include "phcsync/units.h"

#define SYSFS_PTP "/sys/class/ptp"
#define OPEN_BACKOFF_MIN_NS (1 * NS_PER_S)
/* A PHC that comes back (re-plugged, driver reloaded) is found within this. */
#define OPEN_BACKOFF_MAX_NS (8 * NS_PER_S)
#define WAIT_LOG_INTERVAL_NS (300 * NS_PER_S)

struct measure {
	struct measure_params p;
	const struct leapsec *leap;
	struct phc *phc; /* NULL while the device is missing or being reopened */
	struct filter *filter;
	struct measure_view v;
	enum conf_timescale timescale; /* resolved: UTC or TAI */
	int last_errno;
	int consecutive_failures;
	int64_t next_open_ns;
	int64_t open_backoff_ns;
	int64_t waiting_since_ns;
	int64_t last_wait_log_ns;
	bool reopened; /* the next sample comes from a new handle */
	bool raw_warned;
	int interrupted; /* polls in a row whose reads were interrupted */
};

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * NS_PER_S + ts->tv_nsec;
}

/* `timescale auto`: what the driver is known to give (documented in phcsyncd.conf(5)). */
static void resolve_timescale(struct measure *m)
{
	enum conf_timescale ts = m->p.timescale;

	if (ts == CONF_TIMESCALE_AUTO)
		ts = strncmp(m->v.clock_name, "vmclock", 7) == 0 ? CONF_TIMESCALE_TAI
								 : CONF_TIMESCALE_UTC;
	if (ts == m->timescale)
		return;
	m->timescale = ts;
	log_info("%s: timescale %s%s", m->v.device, ts == CONF_TIMESCALE_TAI ? "tai" : "utc",
		 m->p.timescale == CONF_TIMESCALE_AUTO ? " (auto, from the clock name)" : "");
	if (ts == CONF_TIMESCALE_TAI && !(m->leap && m->leap->table))
		log_warn("timescale tai without a leap table: using a fixed TAI-UTC of %d s "
			 "(utc_offset); it will be wrong after the next leap second",
			 m->p.utc_offset_s);
}

/*
 * Open the configured device, or find it again by its clock name. A handle already open is
 * replaced only when the new open succeeds.
 */
static int open_device(struct measure *m, char *msg, size_t msglen)
{
	struct device_choice choice;
	struct phc *phc = NULL;
	int ret;

	ret = device_resolve(SYSFS_PTP, m->p.device, m->v.clock_name, &choice, msg, msglen);
	if (ret == 0) {
		ret = phc_open(&phc, choice.path, m->p.readout, &phc_sys_default);
		if (ret < 0)
			snprintf(msg, msglen, "cannot open %s: %s", choice.path, strerror(-ret));
	}
	if (ret < 0)
		return ret;
	if (m->phc)
		phc_close(m->phc);
	m->phc = phc;
	snprintf(m->v.device, sizeof(m->v.device), "%s", choice.path);
	snprintf(m->v.clock_name, sizeof(m->v.clock_name), "%s", choice.clock_name);
	/* Known after the first read when probing. */
	m->v.method =
		m->p.readout == PHC_METHOD_AUTO ? PHC_METHOD_COUNT : phc_current_method(m->phc);
	filter_reset(m->filter);
	resolve_timescale(m);
	if (m->v.ever_opened) {
		m->v.reopens++;
		m->reopened = true;
		log_notice("%s (%s): reopened", m->v.device, m->v.clock_name);
	} else {
		log_info("%s (%s): opened read-only, readout %s", m->v.device, m->v.clock_name,
			 m->p.readout == PHC_METHOD_AUTO ? "auto (probing)"
							 : phc_method_name(m->p.readout));
	}
	m->v.ever_opened = true;
	m->waiting_since_ns = -1;
	return 0;
}

int measure_create(struct measure **out, const struct measure_params *p, const struct leapsec *ls,
		   bool wait)
{
	struct measure *m = calloc(1, sizeof(*m));
	char msg[1024] = "";
	int ret;

	*out = NULL;
	if (!m)
		return -ENOMEM;
	m->p = *p;
	m->leap = ls;
	m->timescale = CONF_TIMESCALE_AUTO;
	m->open_backoff_ns = OPEN_BACKOFF_MIN_NS;
	m->waiting_since_ns = -1;
	m->v.method = PHC_METHOD_COUNT;
	snprintf(m->v.device, sizeof(m->v.device), "%s", p->device);
	m->filter = filter_create();
	if (!m->filter) {
		free(m);
		return -ENOMEM;
	}
	filter_set_combine(m->filter, (enum filter_combine)p->burst_combine);
	ret = open_device(m, msg, sizeof(msg));
	if (ret < 0) {
		if (!wait) {
			log_err("device %s: %s", p->device, msg[0] ? msg : strerror(-ret));
			measure_destroy(m);
			return ret;
		}
		log_warn("device %s: %s; waiting for it (wait_for_device yes)", p->device,
			 msg[0] ? msg : strerror(-ret));
		m->last_errno = ENODEV;
	}
	*out = m;
	return 0;
}

void measure_destroy(struct measure *m)
{
	if (!m)
		return;
	if (m->phc)
		phc_close(m->phc);
	filter_destroy(m->filter);
	free(m);
}

void measure_set_leap(struct measure *m, const struct leapsec *ls)
{
	m->leap = ls;
}

void measure_set_live(struct measure *m, const struct measure_params *p)
{
	m->p.readings = p->readings;
	m->p.offset_ns = p->offset_ns;
	m->p.reopen_after = p->reopen_after;
}

const struct measure_view *measure_view(const struct measure *m)
{
	return &m->v;
}

/* Open (or reopen) the device when the backoff allows; -EAGAIN when it does not yet. */
static int try_open(struct measure *m, int64_t now_ns)
{
	char msg[1024];
	int ret;

	if (now_ns < m->next_open_ns)
		return -EAGAIN;
	if (m->waiting_since_ns < 0) {
		m->waiting_since_ns = now_ns;
		m->last_wait_log_ns = now_ns;
	}
	ret = open_device(m, msg, sizeof(msg));
	m->next_open_ns = now_ns + m->open_backoff_ns;
	m->open_backoff_ns = m->open_backoff_ns * 2 > OPEN_BACKOFF_MAX_NS ? OPEN_BACKOFF_MAX_NS
									  : m->open_backoff_ns * 2;
	if (ret == 0)
		return 0;
	if (!m->phc && now_ns - m->last_wait_log_ns >= WAIT_LOG_INTERVAL_NS) {
		m->last_wait_log_ns = now_ns;
		log_warn("still waiting for device %s (%.0f s)", m->p.device,
			 (double)(now_ns - m->waiting_since_ns) / NS_PER_S);
	}
	return ret;
}

/* A poll without a sample: say so once per cause. */
static int failed(struct measure *m, int err)
{
	m->consecutive_failures++;
	/* Before the first open the wait was logged already (and again every few minutes). */
	if (m->last_errno != err && m->v.ever_opened)
		log_warn("%s: read failed: %s", m->v.device, strerror(err));
	m->last_errno = err;
	return -err;
}

/* A read failed: a vanished device is looked for at once, a failing one reopened with backoff. */
static int read_failed(struct measure *m, int err, int64_t now_ns)
{
	bool first = m->last_errno != err;

	failed(m, err);
	if (err == EOPNOTSUPP || err == ENOTTY) {
		/* Only a forced method gets here (auto moves on): a reopen cannot help. */
		if (first)
			log_err("%s (%s) does not support readout %s; use readout auto",
				m->v.device, m->v.clock_name, phc_method_name(m->p.readout));
	} else if (err == ENODEV || err == ENXIO || err == EBADF) {
		log_warn("%s: device gone; looking for %s again", m->v.device, m->v.clock_name);
		if (m->phc) {
			phc_close(m->phc);
			m->phc = NULL;
		}
		m->next_open_ns = now_ns;
	} else if (m->consecutive_failures >= m->p.reopen_after && now_ns >= m->next_open_ns) {
		/* A fresh handle may help a wedged device; the old one is kept if it fails. */
		log_debug("%s: trying a reopen after %d failed polls", m->v.device,
			  m->consecutive_failures);
		try_open(m, now_ns);
	}
	return -err;
}

/* The reference's UTC time at the sample and the system clock's offset from it. */
static void to_reference(const struct measure *m, const struct filter_sample *fs,
			 struct decide_sample *s)
{
	int64_t ref_ns = fs->t_local_ns - fs->offset_ns + m->p.offset_ns;
	int tai_utc_s;

	s->phc_ns = fs->t_local_ns - fs->offset_ns;
	if (m->timescale == CONF_TIMESCALE_TAI) {
		tai_utc_s = m->leap ? leapsec_tai_utc_at_tai(m->leap, ref_ns) : -1;
		if (tai_utc_s < 0)
			tai_utc_s = m->p.utc_offset_s;
		ref_ns -= (int64_t)tai_utc_s * NS_PER_S;
	}
	s->ref_utc_ns = ref_ns;
	s->offset_ns = fs->t_local_ns - ref_ns;
}

/*
 * CLOCK_MONOTONIC and CLOCK_MONOTONIC_RAW at the sample's instant, from one reading of each
 * just after the burst (CLOCK_REALTIME is read too: nothing steps it meanwhile).
 */
static void local_times(struct measure *m, int64_t t_local_ns, int64_t now_mono_ns,
			struct decide_sample *s)
{
	struct timespec rt, mono, raw;
	int64_t back_ns;

	s->mono_at_ns = now_mono_ns;
	s->raw_ns = -1;
	if (clock_gettime(CLOCK_REALTIME, &rt) < 0 || clock_gettime(CLOCK_MONOTONIC, &mono) < 0)
		return;
	back_ns = ts_ns(&rt) - t_local_ns;
	s->mono_at_ns = ts_ns(&mono) - back_ns;
	if (clock_gettime(CLOCK_MONOTONIC_RAW, &raw) < 0) {
		if (!m->raw_warned)
			log_notice(
				"CLOCK_MONOTONIC_RAW cannot be read (%s): the reference's rate is "
				"checked against CLOCK_MONOTONIC",
				strerror(errno));
		m->raw_warned = true;
		return;
	}
	s->raw_ns = ts_ns(&raw) - back_ns;
}

int measure_take(struct measure *m, int64_t now_mono_ns, struct decide_sample *s)
{
	struct phc_reading r[PTP_MAX_SAMPLES];
	struct filter_sample fs;
	enum phc_method method;
	int n, ret;

	memset(s, 0, sizeof(*s));
	s->t_mono_ns = now_mono_ns;
	if (!m->phc) {
		ret = try_open(m, now_mono_ns);
		if (!m->phc)
			return failed(m, ret == -EAGAIN ? (m->last_errno ? m->last_errno : ENODEV)
							: -ret);
	}
	n = phc_read(m->phc, m->p.readings, r);
	method = phc_current_method(m->phc);
	if (method != m->v.method && m->v.method == PHC_METHOD_COUNT) {
		log_info("%s: readout %s", m->v.device, phc_method_name(method));
		m->v.method = method;
	} else if (method != m->v.method) {
		log_notice("%s: readout method %s -> %s", m->v.device, phc_method_name(m->v.method),
			   phc_method_name(method));
		m->v.method = method;
		filter_reset(m->filter);
	}
	/* An interrupted read is no failure of the device; a run of them is. */
	if (n == -EINTR && ++m->interrupted < m->p.reopen_after)
		return 0;
	if (n != -EINTR)
		m->interrupted = 0;
	if (n < 0)
		return read_failed(m, -n, now_mono_ns);
	if (m->last_errno) {
		log_notice("%s: reading again after %s", m->v.device, strerror(m->last_errno));
		m->last_errno = 0;
	}
	m->open_backoff_ns = OPEN_BACKOFF_MIN_NS;
	m->waiting_since_ns = -1;
	ret = filter_process(m->filter, r, n, &fs);
	if (ret == -EAGAIN) {
		m->v.rejected++;
		log_debug("burst rejected: delay %" PRId64 " ns is an outlier", fs.delay_ns);
		return 0;
	}
	if (ret < 0) {
		m->v.rejected++;
		log_warn("%s: no usable reading in a burst of %d", m->v.device, n);
		return 0;
	}
	m->consecutive_failures = 0;
	m->interrupted = 0;
	m->v.last_delay_ns = fs.delay_ns;
	s->burst_odd = !filter_burst_check(m->filter, r, n, s->burst_why, sizeof(s->burst_why));
	to_reference(m, &fs, s);
	s->error_ns = fs.error_bound_ns;
	local_times(m, fs.t_local_ns, now_mono_ns, s);
	s->recovered = m->reopened;
	m->reopened = false;
	return 1;
}
