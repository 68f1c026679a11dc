/*
 * Guest kernel timekeeping model. The rules follow kernel/time/ntp.c and timekeeping.c
 * (Linux 6.x): frequency clamped to +-500 ppm, tick range checked, leap handled in the
 * once-a-second overflow of REALTIME, maxerror growing 500 us/s until STA_UNSYNC.
 */
#include "sim_kernel.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#define PPM_SCALE 65536000LL	 /* timex.freq unit to the kernel's internal scale */
#define FREQ_LIMIT (500LL << 16) /* +-500 ppm in timex.freq units */
#define TIMECONST_MAX 10
/* Kernel-internal mode bits (include/uapi/linux/timex.h), absent from glibc's header. */
#define ADJ_ADJTIME 0x8000
#define ADJ_OFFSET_READONLY 0x2000
#define ADJTIME_SLEW_PPB 500000.0 /* adjtime() slews at 500 us per second */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && (a < 0) != (b < 0))
		q--;
	return q;
}

static int64_t realtime_ns(const struct sim_kernel *k)
{
	return k->mono_ns + k->real_off_ns;
}

/* After REALTIME was set: the next overflow is for the second after the new time. */
static void resync_second(struct sim_kernel *k)
{
	k->last_sec = floor_div(realtime_ns(k), SIM_NS_PER_S);
}

void sim_kernel_init(struct sim_kernel *k, int64_t realtime_ns, int64_t mono_ns, int tai_s)
{
	*k = (struct sim_kernel){
		.mono_ns = mono_ns,
		.raw_ns = mono_ns,
		.real_off_ns = realtime_ns - mono_ns,
		.next_leap_sec = INT64_MAX,
		.tick_us = SIM_TICK_NOMINAL_US,
		.constant = 2,
		.maxerror_us = SIM_PHASE_LIMIT_US,
		.esterror_us = SIM_PHASE_LIMIT_US,
		.status = STA_UNSYNC,
		.state = TIME_OK,
		.tai_s = tai_s,
	};
	resync_second(k);
}

/* The kernel's second_overflow(): called as REALTIME enters second secs. */
static int second_overflow(struct sim_kernel *k, int64_t secs)
{
	int leap = 0;

	switch (k->state) {
	case TIME_OK:
		if (k->status & STA_INS) {
			k->state = TIME_INS;
			k->next_leap_sec = secs + 86400 - (secs % 86400 + 86400) % 86400;
		} else if (k->status & STA_DEL) {
			k->state = TIME_DEL;
			k->next_leap_sec = secs + 86400 - ((secs + 1) % 86400 + 86400) % 86400;
		}
		break;
	case TIME_INS:
		if (!(k->status & STA_INS)) {
			k->next_leap_sec = INT64_MAX;
			k->state = TIME_OK;
		} else if (secs == k->next_leap_sec) {
			leap = -1;
			k->state = TIME_OOP;
		}
		break;
	case TIME_DEL:
		if (!(k->status & STA_DEL)) {
			k->next_leap_sec = INT64_MAX;
			k->state = TIME_OK;
		} else if (secs == k->next_leap_sec) {
			leap = 1;
			k->next_leap_sec = INT64_MAX;
			k->state = TIME_WAIT;
		}
		break;
	case TIME_OOP:
		k->next_leap_sec = INT64_MAX;
		k->state = TIME_WAIT;
		break;
	case TIME_WAIT:
		if (!(k->status & (STA_INS | STA_DEL)))
			k->state = TIME_OK;
		break;
	}
	k->maxerror_us += SIM_MAXFREQ_PPB / 1000;
	if (k->maxerror_us > SIM_PHASE_LIMIT_US) {
		k->maxerror_us = SIM_PHASE_LIMIT_US;
		k->status |= STA_UNSYNC;
	}
	return leap;
}

double sim_kernel_adj_ppb(const struct sim_kernel *k)
{
	double ppb = (double)k->freq * 1000.0 / 65536.0;

	/* One microsecond of a 10000 us tick is 100 ppm. */
	ppb += (double)(k->tick_us - SIM_TICK_NOMINAL_US) * 100000.0;
	if (k->adjtime_left_ns > 0)
		ppb += ADJTIME_SLEW_PPB;
	else if (k->adjtime_left_ns < 0)
		ppb -= ADJTIME_SLEW_PPB;
	return ppb;
}

int sim_kernel_advance(struct sim_kernel *k, int64_t dt_ns, double osc_err_ppb)
{
	double raw_rate = 1.0 + osc_err_ppb * 1e-9;
	int leap = 0;

	while (dt_ns > 0) {
		double rate = raw_rate * (1.0 + sim_kernel_adj_ppb(k) * 1e-9);
		int64_t step = dt_ns;
		/* Stop at the next REALTIME second so the overflow work runs on time. */
		double to_sec = (double)((k->last_sec + 1) * SIM_NS_PER_S - realtime_ns(k)) -
				k->mono_frac_ns;
		double to_sec_true = ceil(to_sec / rate);
		double slewed;
		double adv;
		int64_t whole;

		if (to_sec_true < 1.0)
			to_sec_true = 1.0;
		if (to_sec_true < (double)step)
			step = (int64_t)to_sec_true;
		if (k->adjtime_left_ns != 0) {
			double to_done = ceil((double)llabs(k->adjtime_left_ns) /
					      (raw_rate * ADJTIME_SLEW_PPB * 1e-9));
			if (to_done < (double)step)
				step = to_done < 1.0 ? 1 : (int64_t)to_done;
		}

		adv = (double)step * rate + k->mono_frac_ns;
		whole = (int64_t)floor(adv);
		k->mono_frac_ns = adv - (double)whole;
		k->mono_ns += whole;
		adv = (double)step * raw_rate + k->raw_frac_ns;
		whole = (int64_t)floor(adv);
		k->raw_frac_ns = adv - (double)whole;
		k->raw_ns += whole;

		if (k->adjtime_left_ns != 0) {
			slewed = llround((double)step * raw_rate * ADJTIME_SLEW_PPB * 1e-9);
			if (slewed >= (double)llabs(k->adjtime_left_ns))
				k->adjtime_left_ns = 0;
			else if (k->adjtime_left_ns > 0)
				k->adjtime_left_ns -= (int64_t)slewed;
			else
				k->adjtime_left_ns += (int64_t)slewed;
		}

		while (floor_div(realtime_ns(k), SIM_NS_PER_S) > k->last_sec) {
			int l = second_overflow(k, ++k->last_sec);

			if (l) {
				k->real_off_ns += l * SIM_NS_PER_S;
				k->last_sec += l;
				k->tai_s -= l;
				leap = l;
			}
		}
		dt_ns -= step;
	}
	return leap;
}

static void process_status(struct sim_kernel *k, int status)
{
	/* Leaving PLL mode resets the leap state, as the kernel does. */
	if ((k->status & STA_PLL) && !(status & STA_PLL)) {
		k->state = TIME_OK;
		k->next_leap_sec = INT64_MAX;
	}
	k->status &= STA_RONLY;
	k->status |= status & ~STA_RONLY;
}

static long clamp_long(long v, long lo, long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int error_status(int s)
{
	if (s & (STA_UNSYNC | STA_CLOCKERR))
		return 1;
	if ((s & (STA_PPSFREQ | STA_PPSTIME)) && !(s & STA_PPSSIGNAL))
		return 1;
	if ((s & (STA_PPSTIME | STA_PPSJITTER)) == (STA_PPSTIME | STA_PPSJITTER))
		return 1;
	return (s & STA_PPSFREQ) && (s & (STA_PPSWANDER | STA_PPSERROR));
}

int sim_kernel_adjtimex(struct sim_kernel *k, struct timex *tx)
{
	unsigned modes = tx->modes;
	int64_t now;

	if (modes & ADJ_ADJTIME) {
		if ((modes & ADJ_OFFSET_SINGLESHOT) != ADJ_OFFSET_SINGLESHOT)
			return -EINVAL;
	} else {
		if ((modes & ADJ_TICK) &&
		    (tx->tick < 900000 / SIM_USER_HZ || tx->tick > 1100000 / SIM_USER_HZ))
			return -EINVAL;
		if (modes & ADJ_OFFSET)
			return -EOPNOTSUPP;
	}
	if (modes & ADJ_SETOFFSET) {
		if (tx->time.tv_usec < 0)
			return -EINVAL;
		if (tx->time.tv_usec >= ((modes & ADJ_NANO) ? SIM_NS_PER_S : 1000000))
			return -EINVAL;
	}
	if ((modes & ADJ_FREQUENCY) &&
	    (tx->freq < LLONG_MIN / PPM_SCALE || tx->freq > LLONG_MAX / PPM_SCALE))
		return -EINVAL;

	if (modes & ADJ_SETOFFSET) {
		int64_t frac = tx->time.tv_usec;

		if (!(modes & ADJ_NANO))
			frac *= 1000;
		k->real_off_ns += (int64_t)tx->time.tv_sec * SIM_NS_PER_S + frac;
		resync_second(k);
	}

	if (modes & ADJ_ADJTIME) {
		long old_us = (long)(k->adjtime_left_ns / 1000);

		if (!(modes & ADJ_OFFSET_READONLY))
			k->adjtime_left_ns = (int64_t)tx->offset * 1000;
		tx->offset = old_us;
	} else {
		if (modes & ADJ_STATUS)
			process_status(k, tx->status);
		if (modes & ADJ_NANO)
			k->status |= STA_NANO;
		if (modes & ADJ_MICRO)
			k->status &= ~STA_NANO;
		if (modes & ADJ_FREQUENCY)
			k->freq = clamp_long(tx->freq, -FREQ_LIMIT, FREQ_LIMIT);
		if (modes & ADJ_MAXERROR)
			k->maxerror_us = clamp_long(tx->maxerror, 0, SIM_PHASE_LIMIT_US);
		if (modes & ADJ_ESTERROR)
			k->esterror_us = clamp_long(tx->esterror, 0, SIM_PHASE_LIMIT_US);
		if (modes & ADJ_TIMECONST) {
			long c = clamp_long(tx->constant, 0, TIMECONST_MAX);

			if (!(k->status & STA_NANO))
				c += 4;
			k->constant = clamp_long(c, 0, TIMECONST_MAX);
		}
		if ((modes & ADJ_TAI) && tx->constant >= 0 && tx->constant <= SIM_MAX_TAI_OFFSET)
			k->tai_s = (int)tx->constant;
		if (modes & ADJ_TICK)
			k->tick_us = tx->tick;
		tx->offset = 0;
	}

	tx->freq = k->freq;
	tx->maxerror = k->maxerror_us;
	tx->esterror = k->esterror_us;
	tx->status = k->status;
	tx->constant = k->constant;
	tx->precision = 1;
	tx->tolerance = FREQ_LIMIT;
	tx->tick = k->tick_us;
	tx->tai = k->tai_s;
	now = realtime_ns(k);
	tx->time.tv_sec = floor_div(now, SIM_NS_PER_S);
	tx->time.tv_usec = now - (int64_t)tx->time.tv_sec * SIM_NS_PER_S;
	if (!(k->status & STA_NANO))
		tx->time.tv_usec /= 1000;
	return error_status(k->status) ? TIME_ERROR : k->state;
}

int sim_kernel_gettime(const struct sim_kernel *k, clockid_t id, int64_t *ns)
{
	switch (id) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_REALTIME_ALARM:
		*ns = realtime_ns(k);
		return 0;
	case CLOCK_TAI:
		*ns = realtime_ns(k) + (int64_t)k->tai_s * SIM_NS_PER_S;
		return 0;
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_COARSE:
		*ns = k->mono_ns;
		return 0;
	case CLOCK_MONOTONIC_RAW:
		*ns = k->raw_ns;
		return 0;
	case CLOCK_BOOTTIME:
	case CLOCK_BOOTTIME_ALARM:
		*ns = k->mono_ns + k->boot_off_ns;
		return 0;
	default:
		return -EINVAL;
	}
}

int sim_kernel_settime(struct sim_kernel *k, clockid_t id, int64_t ns)
{
	if (id != CLOCK_REALTIME)
		return -EINVAL;
	k->real_off_ns = ns - k->mono_ns;
	resync_second(k);
	return 0;
}

void sim_kernel_adjtime(struct sim_kernel *k, const int64_t *delta_ns, int64_t *old_ns)
{
	if (old_ns)
		*old_ns = k->adjtime_left_ns;
	if (delta_ns)
		k->adjtime_left_ns = *delta_ns;
}

void sim_kernel_resume(struct sim_kernel *k, int64_t slept_ns, int64_t realtime_inject_ns)
{
	k->boot_off_ns += slept_ns;
	k->real_off_ns += realtime_inject_ns;
	resync_second(k);
}
