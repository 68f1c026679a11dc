/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The readout path under a hostile device: the input is what a fake PHC answers to each
 * ioctl and clock_gettime (capabilities, timestamps of every method, error codes), and the
 * poll sizes and time steps of the caller. Readings go through phc_read, the filter, the
 * burst checks and the servo (PI or Kalman, with any burst_combine), as measure and decide
 * use them; their results must stay inside what each documents.
 */
#include <errno.h>
#include <math.h>

#include "fuzz.h"
#include "phcsync/filter.h"
#include "phcsync/phc.h"
#include "phcsync/servo.h"

static struct fuzz_in in;

/* The first byte of an answer picks an error (or none); the data follows. */
static int answer_error(void)
{
	static const int errors[] = {EOPNOTSUPP, ENOTTY, EINVAL, EINTR, EIO, ENODEV, EBUSY};
	uint8_t b;

	if (!in.left)
		return ENODEV;
	b = fuzz_u8(&in);
	return b < 192 ? 0 : errors[b % (sizeof(errors) / sizeof(errors[0]))];
}

static int fake_open(const char *path, int flags)
{
	(void)path;
	(void)flags;
	return 3;
}

static int fake_close(int fd)
{
	(void)fd;
	return 0;
}

static int fake_ioctl(int fd, unsigned long request, void *arg)
{
	int e = answer_error();

	(void)fd;
	if (e) {
		errno = e;
		return -1;
	}
	switch (request) {
	case PTP_CLOCK_GETCAPS:
		fuzz_take(&in, arg, sizeof(struct ptp_clock_caps));
		return 0;
	case PTP_SYS_OFFSET_PRECISE:
		fuzz_take(&in, arg, sizeof(struct ptp_sys_offset_precise));
		return 0;
	case PTP_SYS_OFFSET_EXTENDED: {
		struct ptp_sys_offset_extended *req = arg;
		unsigned n = req->n_samples;

		/* The kernel fills the samples asked for and keeps n_samples. */
		fuzz_take(&in, req->ts, sizeof(req->ts));
		req->n_samples = n;
		return 0;
	}
	case PTP_SYS_OFFSET: {
		struct ptp_sys_offset *req = arg;
		unsigned n = req->n_samples;

		fuzz_take(&in, req->ts, sizeof(req->ts));
		req->n_samples = n;
		return 0;
	}
	default:
		errno = ENOTTY;
		return -1;
	}
}

static int fake_clock_gettime(clockid_t id, struct timespec *ts)
{
	int e = answer_error();
	int64_t v[2];

	(void)id;
	if (e) {
		errno = e;
		return -1;
	}
	fuzz_take(&in, v, sizeof(v));
	ts->tv_sec = (time_t)v[0];
	ts->tv_nsec = (long)v[1];
	return 0;
}

static const struct phc_sys fake_sys = {
	.open = fake_open,
	.close = fake_close,
	.ioctl = fake_ioctl,
	.clock_gettime = fake_clock_gettime,
};

static void check_sample(const struct filter_sample *s, int n)
{
	FUZZ_CHECK(s->used >= 1 && s->used <= n, "used %d of %d", s->used, n);
	FUZZ_CHECK(s->delay_ns >= 0 && s->delay_ns <= 1000000000LL, "delay %lld",
		   (long long)s->delay_ns);
	FUZZ_CHECK(s->error_bound_ns >= 1 && s->error_bound_ns >= (s->delay_ns + 1) / 2,
		   "error bound %lld, delay %lld", (long long)s->error_bound_ns,
		   (long long)s->delay_ns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct phc_reading r[PTP_MAX_SAMPLES];
	struct servo_params sp;
	struct filter *f;
	struct servo *sv;
	struct phc *p;
	int64_t mono_ns = 0;
	int method;
	uint8_t setup;
	char why[256];

	in = (struct fuzz_in){data, size};
	/* The first byte: the method (or auto), the servo and how bursts are combined. */
	setup = fuzz_u8(&in);
	method = (int)(setup % (PHC_METHOD_COUNT + 1)) - 1;
	if (phc_open(&p, "/dev/ptp0", method, &fake_sys) < 0)
		return 0;
	FUZZ_CHECK(phc_current_method(p) >= 0 && phc_current_method(p) < PHC_METHOD_COUNT,
		   "method %d", (int)phc_current_method(p));
	f = filter_create();
	servo_params_defaults(&sp, 1.0);
	sp.first_step_threshold_ns = 20000;
	sp.step_threshold_ns = 128000000;
	sv = servo_create(setup & 0x08 ? SERVO_KALMAN : SERVO_PI, &sp, 0.0);
	FUZZ_CHECK(f && sv, "create");
	filter_set_combine(f, (enum filter_combine)((setup >> 4) % (FILTER_COMBINE_TRIMMED + 1)));

	for (int poll = 0; poll < 64 && in.left; poll++) {
		int want = fuzz_u8(&in) % (PTP_MAX_SAMPLES + 2);
		int n = phc_read(p, want, r);
		struct filter_sample s;
		enum servo_state st;
		double freq_ppb;
		int ret;

		FUZZ_CHECK(phc_current_method(p) >= 0 && phc_current_method(p) < PHC_METHOD_COUNT,
			   "method %d", (int)phc_current_method(p));
		if (want <= 0) {
			FUZZ_CHECK(n == -EINVAL, "%d readings asked: %d", want, n);
			continue;
		}
		if (n < 0)
			continue;
		FUZZ_CHECK(n >= 1 && n <= want && n <= PTP_MAX_SAMPLES, "%d of %d readings", n,
			   want);
		for (int i = 0; i < n; i++)
			FUZZ_CHECK(phc_current_method(p) != PHC_METHOD_PRECISE ||
					   r[i].sys_before_ns == r[i].sys_after_ns,
				   "a precise reading with a window");
		(void)filter_burst_consistent(r, n, why, sizeof(why));
		(void)filter_burst_check(f, r, n, why, sizeof(why));
		ret = filter_process(f, r, n, &s);
		FUZZ_CHECK(ret == 0 || ret == -EAGAIN || ret == -EINVAL, "filter %d", ret);
		if (ret == -EINVAL)
			continue;
		check_sample(&s, n);
		if (ret)
			continue;
		mono_ns += 1 + (int64_t)fuzz_u8(&in) * 10000000;
		freq_ppb = servo_sample(sv, s.offset_ns, mono_ns, &st);
		FUZZ_CHECK(isfinite(freq_ppb) && fabs(freq_ppb) <= sp.max_freq_ppb, "frequency %g",
			   freq_ppb);
		FUZZ_CHECK(st >= SERVO_UNLOCKED && st <= SERVO_LOCKED_STABLE, "state %d", (int)st);
		FUZZ_CHECK(isfinite(servo_freq_ppb(sv)), "servo frequency %g", servo_freq_ppb(sv));
		FUZZ_CHECK(servo_noise_ns(sv) == -1 ||
				   (isfinite(servo_noise_ns(sv)) && servo_noise_ns(sv) >= 0),
			   "noise %g", servo_noise_ns(sv));
		if (st == SERVO_STEP)
			servo_reset(sv);
	}
	(void)phc_probe_methods(p);
	servo_destroy(sv);
	filter_destroy(f);
	phc_close(p);
	return 0;
}
