/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * PHC module tests. The device is a fake struct phc_sys whose driver profiles mirror the
 * real ones: which PTP_SYS_OFFSET* ioctls exist and what an unknown ioctl returns.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "phcsync/phc.h"

#define NS 1000000000LL
#define FAKE_FD 7
/* FD_TO_CLOCKID(7) = (~7 << 3) | 3 */
#define FAKE_CLOCKID (-61)

#define M(m) (1u << PHC_METHOD_##m)

struct profile {
	const char *name;
	unsigned methods;	/* ioctl methods the driver has */
	int unknown_errno;	/* what it answers for the others */
	enum phc_method chosen; /* what auto must settle on */
};

static const struct profile profiles[] = {
	{"kvm", M(PRECISE) | M(BASIC), EOPNOTSUPP, PHC_METHOD_PRECISE},
	{"vmw", M(BASIC), EOPNOTSUPP, PHC_METHOD_BASIC},
	{"hyperv", M(BASIC), EOPNOTSUPP, PHC_METHOD_BASIC},
	{"vmclock", M(PRECISE) | M(EXTENDED) | M(BASIC), EOPNOTSUPP, PHC_METHOD_PRECISE},
	{"ena", M(EXTENDED) | M(BASIC), EOPNOTSUPP, PHC_METHOD_EXTENDED},
	{"old-einval", M(BASIC), EINVAL, PHC_METHOD_BASIC},
	{"old-enotty", M(BASIC), ENOTTY, PHC_METHOD_BASIC},
};

static struct {
	unsigned methods;
	int unknown_errno;
	int open_errno;
	int getcaps_errno;
	int getcaps_eintr;		  /* GETCAPS calls still to be interrupted; -1: all */
	int fail_errno[PHC_METHOD_COUNT]; /* injected failure of a method */
	int fail_left[PHC_METHOD_COUNT];  /* calls still to fail; -1: all */
	int calls[PHC_METHOD_COUNT];
	unsigned last_n_samples;
	int precise_seq;
	int gettime_seq;
	bool is_open;
	bool custom; /* PTP_SYS_OFFSET returns custom_ts instead of the pattern */
	struct ptp_clock_time custom_ts[2 * PTP_MAX_SAMPLES + 1];
} dev;

static void fake_reset(unsigned methods, int unknown_errno)
{
	memset(&dev, 0, sizeof(dev));
	dev.methods = methods;
	dev.unknown_errno = unknown_errno;
}

static void fake_fail(enum phc_method m, int err, int count)
{
	dev.fail_errno[m] = err;
	dev.fail_left[m] = count;
}

static int fake_open(const char *path, int flags)
{
	ck_assert_str_eq(path, "/dev/ptp0");
	ck_assert_int_eq(flags & O_ACCMODE, O_RDONLY);
	if (dev.open_errno) {
		errno = dev.open_errno;
		return -1;
	}
	dev.is_open = true;
	return FAKE_FD;
}

static int fake_close(int fd)
{
	ck_assert_int_eq(fd, FAKE_FD);
	ck_assert(dev.is_open);
	dev.is_open = false;
	return 0;
}

/* Returns the injected errno for method m, or 0. */
static int injected(enum phc_method m)
{
	if (dev.fail_left[m] == 0)
		return 0;
	if (dev.fail_left[m] > 0)
		dev.fail_left[m]--;
	return dev.fail_errno[m];
}

/* Distinct values per slot: sample i, slot j (0 before, 1 phc, 2 after). */
static struct ptp_clock_time ext_ts(int i, int j)
{
	return (struct ptp_clock_time){.sec = 1000 + 10 * i + j, .nsec = 1000u * i + 10u * j + 7};
}

static struct ptp_clock_time basic_ts(int k)
{
	return (struct ptp_clock_time){.sec = 2000 + k, .nsec = 100u + k};
}

static int fake_ioctl(int fd, unsigned long request, void *arg)
{
	enum phc_method m;
	int err;

	ck_assert_int_eq(fd, FAKE_FD);
	ck_assert(dev.is_open);
	if (request == PTP_CLOCK_GETCAPS) {
		if (dev.getcaps_eintr) {
			if (dev.getcaps_eintr > 0)
				dev.getcaps_eintr--;
			errno = EINTR;
			return -1;
		}
		if (dev.getcaps_errno) {
			errno = dev.getcaps_errno;
			return -1;
		}
		memset(arg, 0, sizeof(struct ptp_clock_caps));
		((struct ptp_clock_caps *)arg)->max_adj = 123;
		return 0;
	}
	if (request == PTP_SYS_OFFSET_PRECISE)
		m = PHC_METHOD_PRECISE;
	else if (request == PTP_SYS_OFFSET_EXTENDED)
		m = PHC_METHOD_EXTENDED;
	else if (request == PTP_SYS_OFFSET)
		m = PHC_METHOD_BASIC;
	else
		ck_abort_msg("unexpected ioctl %lx", request);
	dev.calls[m]++;
	if (!(dev.methods & (1u << m))) {
		errno = dev.unknown_errno;
		return -1;
	}
	err = injected(m);
	if (err) {
		errno = err;
		return -1;
	}
	if (m == PHC_METHOD_PRECISE) {
		struct ptp_sys_offset_precise *r = arg;
		int c = dev.precise_seq++;

		r->device = (struct ptp_clock_time){.sec = 3000 + c, .nsec = 11u + c};
		r->sys_realtime = (struct ptp_clock_time){.sec = 4000 + c, .nsec = 22u + c};
		r->sys_monoraw = (struct ptp_clock_time){.sec = 9999, .nsec = 1};
	} else if (m == PHC_METHOD_EXTENDED) {
		struct ptp_sys_offset_extended *r = arg;

		/* The kernel refuses sample counts beyond PTP_MAX_SAMPLES. */
		if (r->n_samples == 0 || r->n_samples > PTP_MAX_SAMPLES) {
			errno = EINVAL;
			return -1;
		}
		dev.last_n_samples = r->n_samples;
		for (int i = 0; i < (int)r->n_samples; i++)
			for (int j = 0; j < 3; j++)
				r->ts[i][j] = ext_ts(i, j);
	} else {
		struct ptp_sys_offset *r = arg;

		if (r->n_samples == 0 || r->n_samples > PTP_MAX_SAMPLES) {
			errno = EINVAL;
			return -1;
		}
		dev.last_n_samples = r->n_samples;
		for (int k = 0; k < 2 * (int)r->n_samples + 1; k++)
			r->ts[k] = dev.custom ? dev.custom_ts[k] : basic_ts(k);
	}
	return 0;
}

static int fake_clock_gettime(clockid_t id, struct timespec *ts)
{
	int k = dev.gettime_seq++;
	int err;

	if (id == CLOCK_REALTIME) {
		*ts = (struct timespec){.tv_sec = 5000 + k, .tv_nsec = k};
		return 0;
	}
	if (id != FAKE_CLOCKID || !dev.is_open) {
		errno = EINVAL;
		return -1;
	}
	dev.calls[PHC_METHOD_GETTIME]++;
	err = injected(PHC_METHOD_GETTIME);
	if (err) {
		errno = err;
		return -1;
	}
	*ts = (struct timespec){.tv_sec = 6000 + k, .tv_nsec = k};
	return 0;
}

static const struct phc_sys fake_sys = {
	.open = fake_open,
	.close = fake_close,
	.ioctl = fake_ioctl,
	.clock_gettime = fake_clock_gettime,
};

static struct phc *open_fake(int method)
{
	struct phc *p = NULL;

	ck_assert_int_eq(phc_open(&p, "/dev/ptp0", method, &fake_sys), 0);
	ck_assert_ptr_nonnull(p);
	return p;
}

static int64_t ns_of(struct ptp_clock_time t)
{
	return t.sec * NS + t.nsec;
}

/* Assert r[0..n) are the extended pattern. */
static void assert_extended(const struct phc_reading *r, int n)
{
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(r[i].sys_before_ns, ns_of(ext_ts(i, 0)));
		ck_assert_int_eq(r[i].phc_ns, ns_of(ext_ts(i, 1)));
		ck_assert_int_eq(r[i].sys_after_ns, ns_of(ext_ts(i, 2)));
	}
}

static void assert_basic(const struct phc_reading *r, int n)
{
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(r[i].sys_before_ns, ns_of(basic_ts(2 * i)));
		ck_assert_int_eq(r[i].phc_ns, ns_of(basic_ts(2 * i + 1)));
		ck_assert_int_eq(r[i].sys_after_ns, ns_of(basic_ts(2 * i + 2)));
	}
}

/* Each method leaves its own mark in phc_ns, so a reading tells which method took it. */
static enum phc_method method_of(const struct phc_reading *r)
{
	int64_t s = r->phc_ns / NS;

	if (s >= 3000 && s < 4000)
		return PHC_METHOD_PRECISE;
	if (s >= 1000 && s < 2000)
		return PHC_METHOD_EXTENDED;
	if (s >= 2000 && s < 3000)
		return PHC_METHOD_BASIC;
	ck_assert_int_ge(s, 6000);
	return PHC_METHOD_GETTIME;
}

/* A device with PRECISE and BASIC, opened with auto and read once: PRECISE is in use. */
static struct phc *open_precise_in_use(struct phc_reading *r)
{
	struct phc *p;

	fake_reset(M(PRECISE) | M(BASIC), EOPNOTSUPP);
	p = open_fake(PHC_METHOD_AUTO);
	ck_assert_int_eq(phc_read(p, 2, r), 2);
	return p;
}

START_TEST(test_method_names)
{
	ck_assert_str_eq(phc_method_name(PHC_METHOD_PRECISE), "precise");
	ck_assert_str_eq(phc_method_name(PHC_METHOD_EXTENDED), "extended");
	ck_assert_str_eq(phc_method_name(PHC_METHOD_BASIC), "basic");
	ck_assert_str_eq(phc_method_name(PHC_METHOD_GETTIME), "gettime");
	ck_assert_str_eq(phc_method_name(PHC_METHOD_AUTO), "auto");
}
END_TEST

START_TEST(test_auto_per_profile)
{
	const struct profile *pr = &profiles[_i];
	struct phc_reading r[5];
	struct phc *p;

	fake_reset(pr->methods, pr->unknown_errno);
	p = open_fake(PHC_METHOD_AUTO);
	ck_assert_int_eq(phc_caps(p)->max_adj, 123);
	ck_assert_int_eq(phc_clockid(p), FAKE_CLOCKID);
	ck_assert_int_eq(phc_current_method(p), PHC_METHOD_PRECISE);

	/* First read probes down in order, each missing method once, in the same call. */
	ck_assert_int_eq(phc_read(p, 5, r), 5);
	ck_assert_msg(phc_current_method(p) == pr->chosen, "%s chose %s", pr->name,
		      phc_method_name(phc_current_method(p)));
	ck_assert_int_eq(method_of(&r[0]), pr->chosen);
	for (int m = 0; m < (int)pr->chosen; m++)
		ck_assert_int_eq(dev.calls[m], 1);
	for (int m = pr->chosen + 1; m < PHC_METHOD_COUNT; m++)
		ck_assert_int_eq(dev.calls[m], 0);

	/* Missing methods are not asked again. */
	ck_assert_int_eq(phc_read(p, 5, r), 5);
	for (int m = 0; m < (int)pr->chosen; m++)
		ck_assert_int_eq(dev.calls[m], 1);
	ck_assert_int_eq(method_of(&r[4]), pr->chosen);
	phc_close(p);
	ck_assert(!dev.is_open);
}
END_TEST

START_TEST(test_precise_layout)
{
	struct phc_reading r[3];
	struct phc *p;

	fake_reset(M(PRECISE), EOPNOTSUPP);
	p = open_fake(PHC_METHOD_PRECISE);
	ck_assert_int_eq(phc_read(p, 3, r), 3);
	ck_assert_int_eq(dev.calls[PHC_METHOD_PRECISE], 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(r[i].phc_ns, (3000 + i) * NS + 11 + i);
		ck_assert_int_eq(r[i].sys_before_ns, (4000 + i) * NS + 22 + i);
		ck_assert_int_eq(r[i].sys_after_ns, r[i].sys_before_ns);
	}
	phc_close(p);
}
END_TEST

START_TEST(test_extended_layout)
{
	struct phc_reading r[4];
	struct phc *p;

	fake_reset(M(EXTENDED), EOPNOTSUPP);
	p = open_fake(PHC_METHOD_EXTENDED);
	ck_assert_int_eq(phc_read(p, 4, r), 4);
	ck_assert_int_eq(dev.calls[PHC_METHOD_EXTENDED], 1);
	ck_assert_uint_eq(dev.last_n_samples, 4);
	assert_extended(r, 4);
	/* Spot check against literals: sample 2, slot 1. */
	ck_assert_int_eq(r[2].phc_ns, 1021 * NS + 2017);
	phc_close(p);
}
END_TEST

START_TEST(test_basic_layout)
{
	struct phc_reading r[3];
	struct phc *p;

	fake_reset(M(BASIC), EOPNOTSUPP);
	p = open_fake(PHC_METHOD_BASIC);
	ck_assert_int_eq(phc_read(p, 3, r), 3);
	ck_assert_uint_eq(dev.last_n_samples, 3);
	assert_basic(r, 3);
	/* The shared system stamps: after of one reading is before of the next. */
	ck_assert_int_eq(r[0].sys_after_ns, r[1].sys_before_ns);
	ck_assert_int_eq(r[1].sys_before_ns, 2002 * NS + 102);
	ck_assert_int_eq(r[2].sys_after_ns, 2006 * NS + 106);
	phc_close(p);
}
END_TEST

START_TEST(test_gettime_layout)
{
	struct phc_reading r[2];
	struct phc *p;

	fake_reset(0, EOPNOTSUPP);
	p = open_fake(PHC_METHOD_GETTIME);
	ck_assert_int_eq(phc_read(p, 2, r), 2);
	/* REALTIME, PHC, REALTIME per reading, in this order. */
	ck_assert_int_eq(r[0].sys_before_ns, 5000 * NS + 0);
	ck_assert_int_eq(r[0].phc_ns, 6001 * NS + 1);
	ck_assert_int_eq(r[0].sys_after_ns, 5002 * NS + 2);
	ck_assert_int_eq(r[1].sys_before_ns, 5003 * NS + 3);
	ck_assert_int_eq(r[1].phc_ns, 6004 * NS + 4);
	ck_assert_int_eq(r[1].sys_after_ns, 5005 * NS + 5);
	phc_close(p);
}
END_TEST

START_TEST(test_time_conversion)
{
	static const struct {
		int64_t sec;
		uint32_t nsec;
		int64_t ns;
	} cases[] = {
		{0, 0, 0},
		{-1, 500000000, -500000000},
		{-1, 999999999, -1},
		{-2, 0, -2000000000},
		{-3, 250000000, -2750000000},
		{1, 999999999, 1999999999},
		{1700000000, 123456789, 1700000000123456789},
		{-1700000000, 1, -1699999999999999999},
	};
	int n = (int)(sizeof(cases) / sizeof(cases[0]));
	struct phc_reading r[PTP_MAX_SAMPLES];
	struct phc *p;

	/* PTP_SYS_OFFSET with n readings has 2n + 1 slots: fill them in order. */
	fake_reset(M(BASIC), EOPNOTSUPP);
	dev.custom = true;
	for (int k = 0; k < 2 * n + 1; k++)
		dev.custom_ts[k] = (struct ptp_clock_time){.sec = 7, .nsec = 7};
	for (int i = 0; i < n; i++)
		dev.custom_ts[2 * i + 1] =
			(struct ptp_clock_time){.sec = cases[i].sec, .nsec = cases[i].nsec};
	p = open_fake(PHC_METHOD_BASIC);
	ck_assert_int_eq(phc_read(p, n, r), n);
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(r[i].phc_ns, cases[i].ns);
		ck_assert_int_eq(r[i].sys_before_ns, 7 * NS + 7);
	}

	/* A nanosecond field out of range is a malformed reading, not a time. */
	dev.custom_ts[3].nsec = 1000000000u;
	ck_assert_int_eq(phc_read(p, n, r), -EPROTO);
	/* So is a second count that overflows int64_t nanoseconds. */
	dev.custom_ts[3] = (struct ptp_clock_time){.sec = INT64_MAX / 1000, .nsec = 0};
	ck_assert_int_eq(phc_read(p, n, r), -EPROTO);
	phc_close(p);
}
END_TEST

START_TEST(test_n_capped)
{
	struct phc_reading r[PTP_MAX_SAMPLES + 1];
	struct phc *p;

	fake_reset(M(PRECISE) | M(EXTENDED) | M(BASIC), EOPNOTSUPP);
	memset(r, 0x5a, sizeof(r));
	p = open_fake(PHC_METHOD_EXTENDED);
	ck_assert_int_eq(phc_read(p, 100, r), PTP_MAX_SAMPLES);
	ck_assert_uint_eq(dev.last_n_samples, PTP_MAX_SAMPLES);
	assert_extended(r, PTP_MAX_SAMPLES);
	/* Nothing written past the cap. */
	ck_assert_int_eq(r[PTP_MAX_SAMPLES].phc_ns, 0x5a5a5a5a5a5a5a5aLL);
	ck_assert_int_eq(phc_read(p, 0, r), -EINVAL);
	phc_close(p);

	p = open_fake(PHC_METHOD_BASIC);
	ck_assert_int_eq(phc_read(p, PTP_MAX_SAMPLES + 1, r), PTP_MAX_SAMPLES);
	ck_assert_uint_eq(dev.last_n_samples, PTP_MAX_SAMPLES);
	assert_basic(r, PTP_MAX_SAMPLES);
	phc_close(p);

	p = open_fake(PHC_METHOD_PRECISE);
	ck_assert_int_eq(phc_read(p, 30, r), PTP_MAX_SAMPLES);
	ck_assert_int_eq(dev.calls[PHC_METHOD_PRECISE], PTP_MAX_SAMPLES);
	phc_close(p);

	p = open_fake(PHC_METHOD_GETTIME);
	ck_assert_int_eq(phc_read(p, 26, r), PTP_MAX_SAMPLES);
	ck_assert_int_eq(dev.calls[PHC_METHOD_GETTIME], PTP_MAX_SAMPLES);
	phc_close(p);
}
END_TEST

START_TEST(test_forced_never_falls_back)
{
	struct phc_reading r[2];
	struct phc *p;

	/* Unsupported: the error comes back every time. */
	fake_reset(M(PRECISE) | M(BASIC), EOPNOTSUPP);
	p = open_fake(PHC_METHOD_EXTENDED);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(phc_read(p, 2, r), -EOPNOTSUPP);
	ck_assert_int_eq(phc_current_method(p), PHC_METHOD_EXTENDED);
	ck_assert_int_eq(dev.calls[PHC_METHOD_EXTENDED], 5);
	ck_assert_int_eq(dev.calls[PHC_METHOD_BASIC], 0);
	phc_close(p);

	/* Failing: no move after three failures, nor a re-probe after many calls. */
	fake_reset(M(PRECISE) | M(BASIC), EOPNOTSUPP);
	p = open_fake(PHC_METHOD_BASIC);
	fake_fail(PHC_METHOD_BASIC, EIO, -1);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(phc_read(p, 2, r), -EIO);
	ck_assert_int_eq(phc_current_method(p), PHC_METHOD_BASIC);
	ck_assert_int_eq(dev.calls[PHC_METHOD_PRECISE], 0);
	ck_assert_int_eq(dev.calls[PHC_METHOD_GETTIME], 0);
	phc_close(p);
}
END_TEST

START_TEST(test_failures_then_reprobe)
{
	struct phc_reading r[2];
	struct phc *p;

	fake_reset(M(PRECISE) | M(EXTENDED) | M(BASIC), EOPNOTSUPP);
	p = open_fake(PHC_METHOD_AUTO);
	ck_assert_int_eq(phc_read(p, 2, r), 2);
	ck_assert_int_eq(method_of(r), PHC_METHOD_PRECISE);

	/*
	 * Errors other than "unsupported" are returned; the third tries the next method in
	 * the same call and moves to it because it works.
	 */
	fake_fail(PHC_METHOD_PRECISE, EIO, -1);
	ck_assert_int_eq(phc_read(p, 2, r), -EIO);
	ck_assert_int_eq(phc_current_method(p), PHC_METHOD_PRECISE);
	ck_assert_int_eq(phc_read(p, 2, r), -EIO);
	ck_assert_int_eq(phc_current_method(p), PHC_METHOD_PRECISE);
	ck_assert_int_eq(dev.calls[PHC_METHOD_EXTENDED], 0);
	ck_assert_int_eq(phc_read(p, 2, r), 2);
	ck_assert_int_eq(method_of(r), PHC_METHOD_EXTENDED);
	ck_assert_int_eq(phc_current_method(p), PHC_METHOD_EXTENDED);
	ck_assert_int_eq(dev.calls[PHC_METHOD_EXTENDED], 1);

	/* 63 calls on the fallback; the 64th re-probes, still broken: stay, lose nothing. */
	for (int i = 1; i < 64; i++) {
		ck_assert_int_eq(phc_read(p, 2, r), 2);
		ck_assert_int_eq(method_of(r), PHC_METHOD_EXTENDED);
	}
	/* Precise is one ioctl per reading: 2 for the first read, then 3 failed calls. */
	ck_assert_int_eq(dev.calls[PHC_METHOD_PRECISE], 5);
	ck_assert_int_eq(phc_read(p, 2, r), 2);
	ck_assert_int_eq(dev.calls[PHC_METHOD_PRECISE], 6);
	ck_assert_int_eq(method_of(r), PHC_METHOD_EXTENDED);
	ck_assert_int_eq(phc_current_method(p), PHC_METHOD_EXTENDED);

	/* Precise recovers: the next re-probe, 64 calls later, returns to it. */
	fake_fail(PHC_METHOD_PRECISE, 0, 0);
	for (int i = 1; i < 64; i++)
		ck_assert_int_eq(phc_read(p, 2, r), 2);
	ck_assert_int_eq(phc_current_method(p), PHC_METHOD_EXTENDED);
	ck_assert_int_eq(dev.calls[PHC_METHOD_PRECISE], 6);
	ck_assert_int_eq(phc_read(p, 2, r), 2);
	ck_assert_int_eq(dev.calls[PHC_METHOD_PRECISE], 8);
	ck_assert_int_eq(method_of(r), PHC_METHOD_PRECISE);
	ck_assert_int_eq(phc_current_method(p), PHC_METHOD_PRECISE);
	phc_close(p);
}
END_TEST

START_TEST(test_failure_count_is_consecutive)
{
	struct phc_reading r[2];
	struct phc *p;

	p = open_precise_in_use(r);
	/* Two failures, a success, two failures: never three in a row. */
	for (int round = 0; round < 3; round++) {
		fake_fail(PHC_METHOD_PRECISE, ETIMEDOUT, 2);
		ck_assert_int_eq(phc_read(p, 2, r), -ETIMEDOUT);
		ck_assert_int_eq(phc_read(p, 2, r), -ETIMEDOUT);
		ck_assert_int_eq(phc_read(p, 2, r), 2);
		ck_assert_int_eq(phc_current_method(p), PHC_METHOD_PRECISE);
	}
	phc_close(p);
}
END_TEST

START_TEST(test_einval_only_first_use)
{
	struct phc_reading r[2];
	struct phc *p;

	/* Once precise has been used, EINVAL is a failure, not "unsupported". */
	p = open_precise_in_use(r);
	fake_fail(PHC_METHOD_PRECISE, EINVAL, 1);
	ck_assert_int_eq(phc_read(p, 2, r), -EINVAL);
	ck_assert_int_eq(phc_current_method(p), PHC_METHOD_PRECISE);
	ck_assert_int_eq(dev.calls[PHC_METHOD_EXTENDED], 0);
	ck_assert_int_eq(phc_read(p, 2, r), 2);
	ck_assert_int_eq(method_of(r), PHC_METHOD_PRECISE);
	phc_close(p);

	/*
	 * The device vanishing is returned as such; after three calls gettime is tried, and
	 * as it fails too (the device, not the method, is at fault) basic is kept and is used
	 * again as soon as the device answers.
	 */
	fake_reset(M(BASIC), EOPNOTSUPP);
	p = open_fake(PHC_METHOD_AUTO);
	ck_assert_int_eq(phc_read(p, 2, r), 2);
	fake_fail(PHC_METHOD_BASIC, ENODEV, -1);
	fake_fail(PHC_METHOD_GETTIME, ENODEV, -1);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(phc_read(p, 2, r), -ENODEV);
	ck_assert_int_eq(dev.calls[PHC_METHOD_GETTIME], 1);
	ck_assert_int_eq(phc_current_method(p), PHC_METHOD_BASIC);
	ck_assert_int_eq(phc_read(p, 2, r), -ENODEV);
	ck_assert_int_eq(dev.calls[PHC_METHOD_GETTIME], 1);
	fake_fail(PHC_METHOD_BASIC, 0, 0);
	ck_assert_int_eq(phc_read(p, 2, r), 2);
	ck_assert_int_eq(method_of(r), PHC_METHOD_BASIC);
	phc_close(p);
}
END_TEST

START_TEST(test_eintr_retried)
{
	struct phc_reading r[2];
	struct phc *p;

	/* Interrupted once: made again in the same call, and the reading succeeds. */
	p = open_precise_in_use(r);
	fake_fail(PHC_METHOD_PRECISE, EINTR, 1);
	ck_assert_int_eq(phc_read(p, 2, r), 2);
	ck_assert_int_eq(method_of(r), PHC_METHOD_PRECISE);
	ck_assert_int_eq(dev.calls[PHC_METHOD_PRECISE], 2 + 3);
	phc_close(p);

	/* Always interrupted: -EINTR after three tries, never a move to a worse method. */
	p = open_precise_in_use(r);
	fake_fail(PHC_METHOD_PRECISE, EINTR, -1);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(phc_read(p, 2, r), -EINTR);
	ck_assert_int_eq(dev.calls[PHC_METHOD_PRECISE], 2 + 10 * 3);
	ck_assert_int_eq(dev.calls[PHC_METHOD_EXTENDED], 0);
	ck_assert_int_eq(dev.calls[PHC_METHOD_BASIC], 0);
	ck_assert_int_eq(dev.calls[PHC_METHOD_GETTIME], 0);
	ck_assert_int_eq(phc_current_method(p), PHC_METHOD_PRECISE);
	/* Nor was it counted as failing: two failures after it are not the three that move. */
	fake_fail(PHC_METHOD_PRECISE, EIO, 2);
	ck_assert_int_eq(phc_read(p, 2, r), -EIO);
	ck_assert_int_eq(phc_read(p, 2, r), -EIO);
	ck_assert_int_eq(phc_read(p, 2, r), 2);
	ck_assert_int_eq(method_of(r), PHC_METHOD_PRECISE);
	ck_assert_int_eq(dev.calls[PHC_METHOD_BASIC], 0);
	phc_close(p);

	/* An interrupted first use tells nothing: EINVAL on the next still means "unknown". */
	fake_reset(M(PRECISE) | M(BASIC), EOPNOTSUPP);
	p = open_fake(PHC_METHOD_AUTO);
	fake_fail(PHC_METHOD_PRECISE, EINTR, 3);
	ck_assert_int_eq(phc_read(p, 2, r), -EINTR);
	ck_assert_int_eq(phc_current_method(p), PHC_METHOD_PRECISE);
	ck_assert_int_eq(dev.calls[PHC_METHOD_BASIC], 0);
	fake_fail(PHC_METHOD_PRECISE, EINVAL, 1);
	ck_assert_int_eq(phc_read(p, 2, r), 2);
	ck_assert_int_eq(phc_current_method(p), PHC_METHOD_BASIC);
	phc_close(p);

	/* Forced methods and gettime alike. */
	fake_reset(M(BASIC), EOPNOTSUPP);
	p = open_fake(PHC_METHOD_BASIC);
	fake_fail(PHC_METHOD_BASIC, EINTR, 2);
	ck_assert_int_eq(phc_read(p, 2, r), 2);
	assert_basic(r, 2);
	fake_fail(PHC_METHOD_BASIC, EINTR, -1);
	ck_assert_int_eq(phc_read(p, 2, r), -EINTR);
	ck_assert_int_eq(dev.calls[PHC_METHOD_BASIC], 3 + 3);
	phc_close(p);
	fake_reset(0, EOPNOTSUPP);
	p = open_fake(PHC_METHOD_GETTIME);
	fake_fail(PHC_METHOD_GETTIME, EINTR, 1);
	ck_assert_int_eq(phc_read(p, 2, r), 2);
	ck_assert_int_eq(dev.calls[PHC_METHOD_GETTIME], 3);
	ck_assert_int_le(r[0].sys_before_ns, r[0].sys_after_ns);
	fake_fail(PHC_METHOD_GETTIME, EINTR, -1);
	ck_assert_int_eq(phc_read(p, 2, r), -EINTR);
	ck_assert_int_eq(dev.calls[PHC_METHOD_GETTIME], 3 + 3);
	phc_close(p);

	/* Opening: GETCAPS interrupted once is made again; always, the open fails -EINTR. */
	fake_reset(M(BASIC), EOPNOTSUPP);
	dev.getcaps_eintr = 1;
	p = open_fake(PHC_METHOD_AUTO);
	ck_assert_int_eq(phc_caps(p)->max_adj, 123);
	phc_close(p);
	dev.getcaps_eintr = -1;
	p = NULL;
	ck_assert_int_eq(phc_open(&p, "/dev/ptp0", PHC_METHOD_AUTO, &fake_sys), -EINTR);
	ck_assert_ptr_null(p);
	ck_assert(!dev.is_open);
}
END_TEST

START_TEST(test_open_errors)
{
	struct phc *p = NULL;

	fake_reset(M(BASIC), EOPNOTSUPP);
	dev.getcaps_errno = ENOTTY;
	ck_assert_int_eq(phc_open(&p, "/dev/ptp0", PHC_METHOD_AUTO, &fake_sys), -ENOTTY);
	ck_assert_ptr_null(p);
	ck_assert(!dev.is_open);

	fake_reset(M(BASIC), EOPNOTSUPP);
	dev.open_errno = ENOENT;
	ck_assert_int_eq(phc_open(&p, "/dev/ptp0", PHC_METHOD_AUTO, &fake_sys), -ENOENT);
	ck_assert_ptr_null(p);

	fake_reset(M(BASIC), EOPNOTSUPP);
	ck_assert_int_eq(phc_open(&p, "/dev/ptp0", PHC_METHOD_COUNT, &fake_sys), -EINVAL);
	ck_assert_int_eq(phc_open(&p, "/dev/ptp0", -2, &fake_sys), -EINVAL);
	ck_assert_ptr_null(p);
	ck_assert(!dev.is_open);
}
END_TEST

START_TEST(test_probe_methods)
{
	static const unsigned expect[] = {
		M(PRECISE) | M(BASIC) | M(GETTIME),
		M(BASIC) | M(GETTIME),
		M(BASIC) | M(GETTIME),
		M(PRECISE) | M(EXTENDED) | M(BASIC) | M(GETTIME),
		M(EXTENDED) | M(BASIC) | M(GETTIME),
		M(BASIC) | M(GETTIME),
		M(BASIC) | M(GETTIME),
	};
	const struct profile *pr = &profiles[_i];
	struct phc_reading r[2];
	struct phc *p;

	fake_reset(pr->methods, pr->unknown_errno);
	p = open_fake(PHC_METHOD_AUTO);
	ck_assert_uint_eq(phc_probe_methods(p), expect[_i]);
	ck_assert_int_eq(phc_current_method(p), PHC_METHOD_PRECISE);
	ck_assert_int_eq(phc_read(p, 2, r), 2);
	ck_assert_int_eq(phc_current_method(p), pr->chosen);
	ck_assert_uint_eq(phc_probe_methods(p), expect[_i]);
	ck_assert_int_eq(phc_current_method(p), pr->chosen);
	phc_close(p);

	/* A forced method does not limit what the probe reports. */
	p = open_fake(PHC_METHOD_GETTIME);
	ck_assert_uint_eq(phc_probe_methods(p), expect[_i]);
	ck_assert_int_eq(phc_current_method(p), PHC_METHOD_GETTIME);
	phc_close(p);
}
END_TEST

/* ---- sysfs scan ---- */

static char tmpdir[64];

static void mkdir_in(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	ck_assert_int_eq(mkdir(path, 0755), 0);
}

static void write_name(const char *dir, const char *content)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/clock_name", tmpdir, dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void remove_tree(void)
{
	static const char *const dirs[] = {"ptp0", "ptp10", "ptp2", "ptp3", "foo", "ptpx", "ptp01"};
	char path[256];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s/clock_name", tmpdir, dirs[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s", tmpdir, dirs[i]);
		rmdir(path);
	}
	rmdir(tmpdir);
}

START_TEST(test_scan)
{
	struct phc_info list[8];

	strcpy(tmpdir, "/tmp/test_phc.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	mkdir_in("ptp10");
	write_name("ptp10", "mlx5_ptp\n");
	mkdir_in("ptp0");
	write_name("ptp0", "KVM virtual PTP\n");
	mkdir_in("ptp2");
	write_name("ptp2", "ptp_vmw"); /* no newline: nothing to strip */
	mkdir_in("ptp3");	       /* no clock_name */
	mkdir_in("foo");
	write_name("foo", "hyperv\n");
	mkdir_in("ptpx");
	write_name("ptpx", "hyperv\n");
	mkdir_in("ptp01");
	write_name("ptp01", "hyperv\n");

	ck_assert_int_eq(phc_scan(tmpdir, list, 8), 3);
	ck_assert_int_eq(list[0].index, 0);
	ck_assert_str_eq(list[0].path, "/dev/ptp0");
	ck_assert_str_eq(list[0].clock_name, "KVM virtual PTP");
	ck_assert_int_eq(list[1].index, 2);
	ck_assert_str_eq(list[1].path, "/dev/ptp2");
	ck_assert_str_eq(list[1].clock_name, "ptp_vmw");
	ck_assert_int_eq(list[2].index, 10);
	ck_assert_str_eq(list[2].path, "/dev/ptp10");
	ck_assert_str_eq(list[2].clock_name, "mlx5_ptp");

	/* At most max, and those are the lowest indices. */
	memset(list, 0, sizeof(list));
	ck_assert_int_eq(phc_scan(tmpdir, list, 2), 2);
	ck_assert_int_eq(list[0].index, 0);
	ck_assert_int_eq(list[1].index, 2);
	ck_assert_int_eq(list[2].index, 0);
	ck_assert_int_eq(phc_scan(tmpdir, list, 0), 0);

	remove_tree();
	ck_assert_int_eq(phc_scan(tmpdir, list, 8), 0);
	ck_assert_int_eq(phc_scan("/nonexistent/sys/class/ptp", list, 8), 0);
}
END_TEST

/* ---- auto choice ---- */

static struct phc_info info(int index, const char *name)
{
	struct phc_info i = {.index = index};

	snprintf(i.path, sizeof(i.path), "/dev/ptp%d", index);
	snprintf(i.clock_name, sizeof(i.clock_name), "%s", name);
	return i;
}

START_TEST(test_rank)
{
	ck_assert_int_eq(phc_hypervisor_rank("vmclock0"), 0);
	ck_assert_int_eq(phc_hypervisor_rank("vmclock"), 0);
	ck_assert_int_eq(phc_hypervisor_rank("KVM virtual PTP"), 1);
	ck_assert_int_eq(phc_hypervisor_rank("ptp_vmw"), 2);
	ck_assert_int_eq(phc_hypervisor_rank("hyperv"), 3);
	ck_assert_int_eq(phc_hypervisor_rank("mlx5_ptp"), -1);
	ck_assert_int_eq(phc_hypervisor_rank("KVM virtual PTP2"), -1);
	ck_assert_int_eq(phc_hypervisor_rank(""), -1);
}
END_TEST

START_TEST(test_pick_auto)
{
	struct phc_info l[4];
	char msg[256];

	strcpy(msg, "stale");
	ck_assert_int_eq(phc_pick_auto(NULL, 0, msg, sizeof(msg)), -ENOENT);
	ck_assert_str_eq(msg, "no PTP clocks found");

	l[0] = info(0, "mlx5_ptp");
	ck_assert_int_eq(phc_pick_auto(l, 1, msg, sizeof(msg)), -ENOENT);
	ck_assert_str_eq(msg, "no hypervisor PTP clock; found: /dev/ptp0 (mlx5_ptp)");
	l[1] = info(3, "ice-ptp");
	ck_assert_int_eq(phc_pick_auto(l, 2, msg, sizeof(msg)), -ENOENT);
	ck_assert_str_eq(msg, "no hypervisor PTP clock; found: /dev/ptp0 (mlx5_ptp), "
			      "/dev/ptp3 (ice-ptp)");

	l[1] = info(1, "hyperv");
	ck_assert_int_eq(phc_pick_auto(l, 2, msg, sizeof(msg)), 1);

	/* Preferred among several: a better rank wins wherever it is in the list. */
	l[2] = info(2, "ptp_vmw");
	ck_assert_int_eq(phc_pick_auto(l, 3, msg, sizeof(msg)), 2);
	l[3] = info(5, "KVM virtual PTP");
	ck_assert_int_eq(phc_pick_auto(l, 4, msg, sizeof(msg)), 3);
	l[0] = info(0, "vmclock0");
	ck_assert_int_eq(phc_pick_auto(l, 4, msg, sizeof(msg)), 0);

	/* Ambiguous among the best rank, even with a worse one present. */
	l[0] = info(0, "KVM virtual PTP");
	l[1] = info(1, "hyperv");
	l[2] = info(2, "KVM virtual PTP");
	ck_assert_int_eq(phc_pick_auto(l, 3, msg, sizeof(msg)), -EEXIST);
	ck_assert_str_eq(msg, "several hypervisor clocks: /dev/ptp0 (KVM virtual PTP), "
			      "/dev/ptp2 (KVM virtual PTP); set device to one of them");

	/* A short buffer truncates, still terminated; no buffer is fine. */
	ck_assert_int_eq(phc_pick_auto(l, 3, msg, 12), -EEXIST);
	ck_assert_str_eq(msg, "several hyp");
	ck_assert_int_eq(phc_pick_auto(l, 3, NULL, 0), -EEXIST);
}
END_TEST

static Suite *phc_suite(void)
{
	int np = (int)(sizeof(profiles) / sizeof(profiles[0]));
	Suite *s = suite_create("phc");
	TCase *tc = tcase_create("read");
	TCase *ts = tcase_create("find");

	tcase_add_test(tc, test_method_names);
	tcase_add_loop_test(tc, test_auto_per_profile, 0, np);
	tcase_add_test(tc, test_precise_layout);
	tcase_add_test(tc, test_extended_layout);
	tcase_add_test(tc, test_basic_layout);
	tcase_add_test(tc, test_gettime_layout);
	tcase_add_test(tc, test_time_conversion);
	tcase_add_test(tc, test_n_capped);
	tcase_add_test(tc, test_forced_never_falls_back);
	tcase_add_test(tc, test_failures_then_reprobe);
	tcase_add_test(tc, test_failure_count_is_consecutive);
	tcase_add_test(tc, test_einval_only_first_use);
	tcase_add_test(tc, test_eintr_retried);
	tcase_add_test(tc, test_open_errors);
	tcase_add_loop_test(tc, test_probe_methods, 0, np);
	suite_add_tcase(s, tc);
	tcase_add_test(ts, test_scan);
	tcase_add_test(ts, test_rank);
	tcase_add_test(ts, test_pick_auto);
	suite_add_tcase(s, ts);
	return s;
}

CHECK_MAIN(phc_suite)
