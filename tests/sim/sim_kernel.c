/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest kernel timekeeping model. The rules follow kernel/time/ntp.c and timekeeping.c of
 * Linux 6.1 to 6.12 (with the stable clamps of maxerror, esterror and the time constant):
 * validation before anything is applied, frequency clamped to +-500 ppm, tick range
 * checked, the PLL of ntp_update_offset(), leap seconds in the once-a-second overflow of
 * REALTIME, maxerror growing 500 us/s until STA_UNSYNC, and ntp_clear() on every step.
 */
#include "sim_kernel.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#define SCALE_SHIFT 32		 /* NTP_SCALE_SHIFT: ns << 32 */
#define PPM_SCALE (1000LL << 16) /* timex.freq unit to ns/s << 32 */
#define PPM_SCALE_INV_SHIFT 19
#define PPM_SCALE_INV ((1LL << (PPM_SCALE_INV_SHIFT + SCALE_SHIFT)) / PPM_SCALE + 1)
#define MAXFREQ_SCALED (SIM_MAXFREQ_PPB << SCALE_SHIFT)
#define FREQ_LIMIT (500L << 16) /* +-500 ppm in timex.freq units: the tolerance reported */
#define SHIFT_PLL 2
#define SHIFT_FLL 2
#define MINSEC 256  /* below: PLL only */
#define MAXSEC 2048 /* above (or with STA_FLL): FLL too */
/* Kernel-internal mode bits (include/linux/timex.h), absent from glibc's header. */
#define ADJ_ADJTIME 0x8000
#define ADJ_OFFSET_SINGLESHOT_BIT 0x0001
#define ADJ_OFFSET_READONLY 0x2000
#define ADJTIME_SLEW_PPB 500000.0 /* adjtime() slews at 500 us per second */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && (a < 0) != (b < 0))
		q--;
	return q;
}

/* The kernel's shift_right(): rounds towards zero, so signs are symmetric. */
static int64_t shift_right(int64_t v, int s)
{
	return v < 0 ? -(int64_t)((uint64_t)-v >> s) : (int64_t)((uint64_t)v >> s);
}

/* a * b * 2^s with the two's complement wrap of the kernel's s64 arithmetic. */
static int64_t mul_shift_wrap(int64_t a, int64_t b, int s)
{
	return (int64_t)(((uint64_t)a * (uint64_t)b) << s);
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
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

/*
 * ntp_clear(), which every step of REALTIME runs: the adjtime() slew and the PLL phase
 * are dropped, the clock is unsynchronised, an armed leap is forgotten (the state stays,
 * so a TIME_INS/TIME_DEL never fires until its bit is cleared and set again).
 */
static void ntp_clear(struct sim_kernel *k)
{
	k->adjtime_left_ns = 0;
	k->status |= STA_UNSYNC;
	k->maxerror_us = SIM_PHASE_LIMIT_US;
	k->esterror_us = SIM_PHASE_LIMIT_US;
	k->pll_offset_scaled = 0;
	k->pll_tick_scaled = 0;
	k->next_leap_sec = INT64_MAX;
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
	/* The PLL hands a 2^-(SHIFT_PLL + constant) share of its phase to the next second. */
	k->pll_tick_scaled = shift_right(k->pll_offset_scaled, SHIFT_PLL + (int)k->constant);
	k->pll_offset_scaled -= k->pll_tick_scaled;
	return leap;
}

double sim_kernel_freq_ppb(const struct sim_kernel *k)
{
	return (double)k->freq_scaled / (double)(1LL << SCALE_SHIFT);
}

double sim_kernel_adj_ppb(const struct sim_kernel *k)
{
	double ppb = sim_kernel_freq_ppb(k);

	/* One microsecond of a 10000 us tick is 100 ppm. */
	ppb += (double)(k->tick_us - SIM_TICK_NOMINAL_US) * 100000.0;
	/* Every tick of this second is longer by the PLL's share. */
	ppb += (double)k->pll_tick_scaled * SIM_HZ / (double)(1LL << SCALE_SHIFT);
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

/*
 * timekeeping_validate_timex(): everything that refuses the call, checked before any of
 * it is applied. 0 or -EINVAL.
 */
static int validate_timex(const struct timex *tx)
{
	unsigned modes = tx->modes;

	if (modes & ADJ_ADJTIME) {
		/* adjtime() mode: only the single-shot bit says which; other bits are ignored. */
		if (!(modes & ADJ_OFFSET_SINGLESHOT_BIT))
			return -EINVAL;
	} else if ((modes & ADJ_TICK) &&
		   (tx->tick < SIM_TICK_MIN_US || tx->tick > SIM_TICK_MAX_US)) {
		return -EINVAL;
	}
	if (modes & ADJ_SETOFFSET) {
		if (tx->time.tv_usec < 0)
			return -EINVAL;
		if (tx->time.tv_usec >= ((modes & ADJ_NANO) ? SIM_NS_PER_S : 1000000))
			return -EINVAL;
	}
	/* freq * PPM_SCALE must not overflow (the clamp to +-500 ppm comes after). */
	if ((modes & ADJ_FREQUENCY) &&
	    (tx->freq < LLONG_MIN / PPM_SCALE || tx->freq > LLONG_MAX / PPM_SCALE))
		return -EINVAL;
	return 0;
}

/*
 * Set REALTIME to new_ns as do_settimeofday64() and timekeeping_inject_offset() do: it may
 * not fall before MONOTONIC (wall_to_monotonic > 0) nor leave [0, TIME_SETTOD_SEC_MAX).
 * Until 6.13 both clear the NTP state on that refusal too (their error path still runs
 * timekeeping_update(TK_CLEAR_NTP)). ok is false when the caller's arithmetic overflowed.
 */
static int set_realtime(struct sim_kernel *k, int64_t new_ns, bool ok)
{
	ok = ok && new_ns >= k->mono_ns && new_ns >= 0 &&
	     new_ns / SIM_NS_PER_S < SIM_SETTOD_SEC_MAX;
	if (ok) {
		k->real_off_ns = new_ns - k->mono_ns;
		resync_second(k);
	}
	ntp_clear(k);
	return ok ? 0 : -EINVAL;
}

/* ADJ_SETOFFSET: add tx->time (validated) to REALTIME. 0 or -EINVAL. */
static int inject_offset(struct sim_kernel *k, const struct timex *tx)
{
	int64_t frac = tx->time.tv_usec * ((tx->modes & ADJ_NANO) ? 1 : 1000);
	int64_t delta, new_ns;
	/* An overflow here means a result far outside the valid range. */
	bool ok = !__builtin_mul_overflow((int64_t)tx->time.tv_sec, SIM_NS_PER_S, &delta) &&
		  !__builtin_add_overflow(delta, frac, &delta) &&
		  !__builtin_add_overflow(realtime_ns(k), delta, &new_ns);

	return set_realtime(k, ok ? new_ns : 0, ok);
}

/* process_adj_status(): STA_RONLY bits cannot be set or cleared from user space. */
static void process_status(struct sim_kernel *k, int status)
{
	/* Leaving PLL mode resets the leap state and all status bits, read-only ones too. */
	if ((k->status & STA_PLL) && !(status & STA_PLL)) {
		k->state = TIME_OK;
		k->status = STA_UNSYNC;
		k->next_leap_sec = INT64_MAX;
	}
	if (!(k->status & STA_PLL) && (status & STA_PLL))
		k->reftime_s = floor_div(realtime_ns(k), SIM_NS_PER_S);
	k->status &= STA_RONLY;
	k->status |= status & ~STA_RONLY;
}

/*
 * ntp_update_offset(): ADJ_OFFSET in PLL mode (ignored without STA_PLL). The phase is
 * clamped to +-MAXPHASE and applied over the following seconds; the frequency moves by
 * the PLL (and the FLL after long intervals) and is clamped to +-500 ppm.
 */
static void pll_update(struct sim_kernel *k, long offset)
{
	int64_t off = offset;
	int64_t now_s = floor_div(realtime_ns(k), SIM_NS_PER_S);
	int64_t secs, freq_adj = 0;

	if (!(k->status & STA_PLL))
		return;
	if (!(k->status & STA_NANO))
		off = clamp64(off, -1000000, 1000000) * 1000;
	off = clamp64(off, -SIM_MAXPHASE_NS, SIM_MAXPHASE_NS);
	secs = (k->status & STA_FREQHOLD) ? 0 : now_s - k->reftime_s;
	k->reftime_s = now_s;

	k->status &= ~STA_MODE;
	if (secs >= MINSEC && ((k->status & STA_FLL) || secs > MAXSEC)) {
		k->status |= STA_MODE;
		freq_adj = mul_shift_wrap(off, 1, SCALE_SHIFT - SHIFT_FLL) / secs;
	}
	if (secs > 1LL << (SHIFT_PLL + 1 + k->constant))
		secs = 1LL << (SHIFT_PLL + 1 + k->constant);
	freq_adj += mul_shift_wrap(off, secs, SCALE_SHIFT - 2 * (SHIFT_PLL + 2 + (int)k->constant));
	freq_adj = freq_adj + k->freq_scaled;
	k->freq_scaled = clamp64(freq_adj, -MAXFREQ_SCALED, MAXFREQ_SCALED);
	/* div_s64() truncates towards zero, as C division does. */
	k->pll_offset_scaled = mul_shift_wrap(off, 1, SCALE_SHIFT) / SIM_HZ;
}

/* process_adjtimex_modes(), in the kernel's order. */
static void process_modes(struct sim_kernel *k, const struct timex *tx)
{
	unsigned modes = tx->modes;

	if (modes & ADJ_STATUS)
		process_status(k, tx->status);
	if (modes & ADJ_NANO)
		k->status |= STA_NANO;
	if (modes & ADJ_MICRO)
		k->status &= ~STA_NANO;
	if (modes & ADJ_FREQUENCY)
		k->freq_scaled = clamp64(tx->freq * PPM_SCALE, -MAXFREQ_SCALED, MAXFREQ_SCALED);
	if (modes & ADJ_MAXERROR)
		k->maxerror_us = (long)clamp64(tx->maxerror, 0, SIM_PHASE_LIMIT_US);
	if (modes & ADJ_ESTERROR)
		k->esterror_us = (long)clamp64(tx->esterror, 0, SIM_PHASE_LIMIT_US);
	if (modes & ADJ_TIMECONST) {
		k->constant = (long)clamp64(tx->constant, 0, SIM_MAXTC);
		if (!(k->status & STA_NANO))
			k->constant += 4;
		k->constant = (long)clamp64(k->constant, 0, SIM_MAXTC);
	}
	/* Negative or absurd TAI offsets are ignored, not refused. */
	if ((modes & ADJ_TAI) && tx->constant >= 0 && tx->constant <= SIM_MAX_TAI_OFFSET)
		k->tai_s = (int)tx->constant;
	if (modes & ADJ_OFFSET)
		pll_update(k, tx->offset);
	if (modes & ADJ_TICK)
		k->tick_us = tx->tick;
}

/* The PLL phase still to apply, as __do_adjtimex() reports it in tx->offset. */
static long pll_offset_out(const struct sim_kernel *k)
{
	int64_t ns = shift_right(k->pll_offset_scaled * SIM_HZ, SCALE_SHIFT);

	/* Signed in microsecond mode too: a 6.12.117 guest reads -0.5 s back as -500000 (the
	 * u32 division of older kernels would give 3794967; tests/guest conformance). */
	return (k->status & STA_NANO) ? (long)ns : (long)(ns / 1000);
}

int sim_kernel_adjtimex(struct sim_kernel *k, struct timex *tx)
{
	unsigned modes = tx->modes;
	int64_t now;
	int r = validate_timex(tx);

	if (r)
		return r;
	if (modes & ADJ_SETOFFSET) {
		r = inject_offset(k, tx);
		if (r)
			return r;
	}

	if (modes & ADJ_ADJTIME) {
		long old_us = (long)(k->adjtime_left_ns / 1000);

		if (!(modes & ADJ_OFFSET_READONLY))
			k->adjtime_left_ns = (int64_t)tx->offset * 1000;
		tx->offset = old_us;
	} else {
		if (modes)
			process_modes(k, tx);
		tx->offset = pll_offset_out(k);
	}

	tx->freq = (long)shift_right((k->freq_scaled >> PPM_SCALE_INV_SHIFT) * PPM_SCALE_INV,
				     SCALE_SHIFT);
	tx->maxerror = k->maxerror_us;
	tx->esterror = k->esterror_us;
	tx->status = k->status;
	tx->constant = k->constant;
	tx->precision = 1;
	tx->tolerance = FREQ_LIMIT;
	tx->tick = k->tick_us;
	tx->tai = k->tai_s;
	/* Without CONFIG_NTP_PPS the PPS fields read zero. */
	tx->ppsfreq = tx->jitter = tx->stabil = tx->jitcnt = 0;
	tx->calcnt = tx->errcnt = tx->stbcnt = 0;
	tx->shift = 0;
	now = realtime_ns(k);
	tx->time.tv_sec = floor_div(now, SIM_NS_PER_S);
	tx->time.tv_usec = now - (int64_t)tx->time.tv_sec * SIM_NS_PER_S;
	if (!(k->status & STA_NANO))
		tx->time.tv_usec /= 1000;
	/*
	 * is_error_status() without PPS. The kernel's late leap fix-up of the result (for a
	 * tick that has not yet run second_overflow) never applies: the model runs it on time.
	 */
	return (k->status & (STA_UNSYNC | STA_CLOCKERR)) ? TIME_ERROR : k->state;
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
	/* timespec64_valid_settod() is checked before the timekeeper is touched. */
	if (ns < 0 || ns / SIM_NS_PER_S >= SIM_SETTOD_SEC_MAX)
		return -EINVAL;
	return set_realtime(k, ns, true);
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
