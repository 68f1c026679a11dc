/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "phcsync/vmclock.h"

/*
 * The page as the ABI lays it out (all little-endian). Fields are decoded byte by byte, so
 * a big-endian host reads it right too; this struct only ties the offsets used to the
 * documented layout, field by field.
 */
struct vmclock_abi_layout {
	uint32_t magic;
	uint32_t size;
	uint16_t version;
	uint8_t counter_id;
	uint8_t time_type;
	uint32_t seq_count;
	uint64_t disruption_marker;
	uint64_t flags;
	uint8_t pad[2];
	uint8_t clock_status;
	uint8_t leap_second_smearing_hint;
	uint16_t tai_offset_sec;
	uint8_t leap_indicator;
	uint8_t counter_period_shift;
	uint64_t counter_value;
	uint64_t counter_period_frac_sec;
	uint64_t counter_period_esterror_rate_frac_sec;
	uint64_t counter_period_maxerror_rate_frac_sec;
	uint64_t time_sec;
	uint64_t time_frac_sec;
	uint64_t time_esterror_nanosec;
	uint64_t time_maxerror_nanosec;
	uint64_t vm_generation_counter;
};

#define AT(field, off) _Static_assert(offsetof(struct vmclock_abi_layout, field) == (off), #field)
AT(magic, VMCLOCK_OFF_MAGIC);
AT(size, VMCLOCK_OFF_SIZE);
AT(version, VMCLOCK_OFF_VERSION);
AT(counter_id, VMCLOCK_OFF_COUNTER_ID);
AT(time_type, VMCLOCK_OFF_TIME_TYPE);
AT(seq_count, VMCLOCK_OFF_SEQ_COUNT);
AT(disruption_marker, VMCLOCK_OFF_DISRUPTION_MARKER);
AT(flags, VMCLOCK_OFF_FLAGS);
AT(pad, VMCLOCK_OFF_PAD);
AT(clock_status, VMCLOCK_OFF_CLOCK_STATUS);
AT(leap_second_smearing_hint, VMCLOCK_OFF_SMEARING_HINT);
AT(tai_offset_sec, VMCLOCK_OFF_TAI_OFFSET);
AT(leap_indicator, VMCLOCK_OFF_LEAP_INDICATOR);
AT(counter_period_shift, VMCLOCK_OFF_PERIOD_SHIFT);
AT(counter_value, VMCLOCK_OFF_COUNTER_VALUE);
AT(counter_period_frac_sec, VMCLOCK_OFF_PERIOD_FRAC);
AT(counter_period_esterror_rate_frac_sec, VMCLOCK_OFF_PERIOD_ESTERROR_RATE);
AT(counter_period_maxerror_rate_frac_sec, VMCLOCK_OFF_PERIOD_MAXERROR_RATE);
AT(time_sec, VMCLOCK_OFF_TIME_SEC);
AT(time_frac_sec, VMCLOCK_OFF_TIME_FRAC);
AT(time_esterror_nanosec, VMCLOCK_OFF_TIME_ESTERROR_NS);
AT(time_maxerror_nanosec, VMCLOCK_OFF_TIME_MAXERROR_NS);
AT(vm_generation_counter, VMCLOCK_OFF_VM_GENERATION);
_Static_assert(sizeof(struct vmclock_abi_layout) == VMCLOCK_PAGE_LEN, "the structure's length");
#undef AT

/* The region is one page; 64 KiB covers the largest page size of the hosts that use it. */
#define SIZE_MAX_BYTES 65536u
/* An error bound beyond a day is not a bound the discipline can use. */
#define ERROR_MAX_NS 86400000000000ull

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void say(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

int vmclock_parse(const uint8_t *buf, size_t len, struct vmclock_snap *out, char *why,
		  size_t whylen)
{
	struct vmclock_snap s;
	uint32_t magic;

	if (len < VMCLOCK_PAGE_LEN) {
		say(why, whylen, "short page: %zu bytes, the structure needs %d", len,
		    VMCLOCK_PAGE_LEN);
		return -EINVAL;
	}
	magic = le32(buf + VMCLOCK_OFF_MAGIC);
	if (magic != VMCLOCK_MAGIC) {
		say(why, whylen, "bad magic 0x%08" PRIx32 " (expected 0x%08x)", magic,
		    VMCLOCK_MAGIC);
		return -EINVAL;
	}
	memset(&s, 0, sizeof(s));
	s.size = le32(buf + VMCLOCK_OFF_SIZE);
	if (s.size < VMCLOCK_PAGE_LEN || s.size > SIZE_MAX_BYTES) {
		say(why, whylen, "bad size %" PRIu32 " (expected %d to %u)", s.size,
		    VMCLOCK_PAGE_LEN, SIZE_MAX_BYTES);
		return -EINVAL;
	}
	s.version = le16(buf + VMCLOCK_OFF_VERSION);
	if (s.version != VMCLOCK_VERSION) {
		say(why, whylen, "unknown version %u (expected %d)", s.version, VMCLOCK_VERSION);
		return -EINVAL;
	}
	s.seq_count = le32(buf + VMCLOCK_OFF_SEQ_COUNT);
	if (s.seq_count & 1) {
		say(why, whylen, "seq_count %" PRIu32 " is odd: the host is writing", s.seq_count);
		return -EINVAL;
	}
	s.counter_id = buf[VMCLOCK_OFF_COUNTER_ID];
	s.time_type = buf[VMCLOCK_OFF_TIME_TYPE];
	s.disruption_marker = le64(buf + VMCLOCK_OFF_DISRUPTION_MARKER);
	s.flags = le64(buf + VMCLOCK_OFF_FLAGS);
	s.clock_status = buf[VMCLOCK_OFF_CLOCK_STATUS];
	if (s.clock_status > VMCLOCK_STATUS_UNRELIABLE)
		s.clock_status = VMCLOCK_STATUS_UNKNOWN;
	s.smearing_hint = buf[VMCLOCK_OFF_SMEARING_HINT];
	s.tai_offset_s = (int16_t)le16(buf + VMCLOCK_OFF_TAI_OFFSET);
	s.leap_indicator = buf[VMCLOCK_OFF_LEAP_INDICATOR];
	if (s.leap_indicator > VMCLOCK_LEAP_POST_NEG)
		s.leap_indicator = VMCLOCK_LEAP_NONE;
	s.period_shift = buf[VMCLOCK_OFF_PERIOD_SHIFT];
	s.counter_value = le64(buf + VMCLOCK_OFF_COUNTER_VALUE);
	s.period_frac = le64(buf + VMCLOCK_OFF_PERIOD_FRAC);
	s.period_esterror_rate = le64(buf + VMCLOCK_OFF_PERIOD_ESTERROR_RATE);
	s.period_maxerror_rate = le64(buf + VMCLOCK_OFF_PERIOD_MAXERROR_RATE);
	s.time_sec = le64(buf + VMCLOCK_OFF_TIME_SEC);
	s.time_frac = le64(buf + VMCLOCK_OFF_TIME_FRAC);
	s.time_esterror_ns = le64(buf + VMCLOCK_OFF_TIME_ESTERROR_NS);
	s.time_maxerror_ns = le64(buf + VMCLOCK_OFF_TIME_MAXERROR_NS);
	s.vm_generation = le64(buf + VMCLOCK_OFF_VM_GENERATION);
	*out = s;
	return 0;
}

int vmclock_snapshot(const struct vmclock_reader *r, int tries, struct vmclock_snap *out, char *why,
		     size_t whylen)
{
	uint8_t buf[VMCLOCK_PAGE_LEN];
	uint32_t before = 0, after = 0;
	int i, ret;

	for (i = 0; i < tries; i++) {
		ret = r->seq(r->ctx, &before);
		if (ret < 0) {
			say(why, whylen, "cannot read seq_count: %s", strerror(-ret));
			return ret;
		}
		if (before & 1)
			continue;
		ret = r->copy(r->ctx, buf, sizeof(buf));
		if (ret < 0) {
			say(why, whylen, "cannot read the page: %s", strerror(-ret));
			return ret;
		}
		ret = r->seq(r->ctx, &after);
		if (ret < 0) {
			say(why, whylen, "cannot read seq_count: %s", strerror(-ret));
			return ret;
		}
		if (after != before || le32(buf + VMCLOCK_OFF_SEQ_COUNT) != before)
			continue;
		return vmclock_parse(buf, sizeof(buf), out, why, whylen);
	}
	/* No seq_count values in the text: the caller logs a reason once, until it changes. */
	say(why, whylen, "seq_count never settled in %d tries", tries);
	return -EAGAIN;
}

unsigned vmclock_compare(const struct vmclock_snap *prev, const struct vmclock_snap *cur)
{
	unsigned ev = 0;
	bool gen = prev->flags & cur->flags & VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT;

	if (prev->disruption_marker != cur->disruption_marker)
		ev |= VMCLOCK_EV_DISRUPTION;
	if (gen && prev->vm_generation != cur->vm_generation)
		ev |= VMCLOCK_EV_RESTORE | VMCLOCK_EV_DISRUPTION;
	if (!vmclock_warned(prev) && vmclock_warned(cur))
		ev |= VMCLOCK_EV_WARN_ON;
	if (vmclock_warned(prev) && !vmclock_warned(cur))
		ev |= VMCLOCK_EV_WARN_OFF;
	if (prev->clock_status != cur->clock_status)
		ev |= VMCLOCK_EV_STATUS;
	if (prev->leap_indicator != cur->leap_indicator ||
	    (prev->flags ^ cur->flags) & VMCLOCK_FLAG_TAI_OFFSET_VALID ||
	    prev->tai_offset_s != cur->tai_offset_s)
		ev |= VMCLOCK_EV_LEAP;
	return ev;
}

bool vmclock_warned(const struct vmclock_snap *s)
{
	return s->flags & (VMCLOCK_FLAG_DISRUPTION_SOON | VMCLOCK_FLAG_DISRUPTION_IMMINENT);
}

bool vmclock_unreliable(const struct vmclock_snap *s)
{
	return s->clock_status == VMCLOCK_STATUS_UNRELIABLE;
}

bool vmclock_freerunning(const struct vmclock_snap *s)
{
	return s->clock_status == VMCLOCK_STATUS_FREERUNNING;
}

static int64_t bound_ns(const struct vmclock_snap *s, uint64_t flag, uint64_t v)
{
	if (!(s->flags & flag) || v > ERROR_MAX_NS)
		return 0;
	return (int64_t)v;
}

int64_t vmclock_esterror_ns(const struct vmclock_snap *s)
{
	return bound_ns(s, VMCLOCK_FLAG_TIME_ESTERROR_VALID, s->time_esterror_ns);
}

int64_t vmclock_maxerror_ns(const struct vmclock_snap *s)
{
	return bound_ns(s, VMCLOCK_FLAG_TIME_MAXERROR_VALID, s->time_maxerror_ns);
}

bool vmclock_leap_agrees(const struct vmclock_snap *s, int table_dir, int table_tai_s, char *why,
			 size_t whylen)
{
	int page_dir = 0;

	if (s->flags & VMCLOCK_FLAG_TAI_OFFSET_VALID && s->tai_offset_s != table_tai_s) {
		say(why, whylen, "the page's TAI-UTC is %d s, the leap table's %d s",
		    s->tai_offset_s, table_tai_s);
		return false;
	}
	/* Only an announcement ahead is comparable with the table's plan for this month. */
	if (s->leap_indicator == VMCLOCK_LEAP_PRE_POS)
		page_dir = 1;
	else if (s->leap_indicator == VMCLOCK_LEAP_PRE_NEG)
		page_dir = -1;
	else if (s->leap_indicator != VMCLOCK_LEAP_NONE)
		return true;
	if (page_dir != table_dir) {
		say(why, whylen, "the page announces %s, the leap table %s",
		    page_dir > 0   ? "an inserted leap second"
		    : page_dir < 0 ? "a deleted leap second"
				   : "no leap second",
		    table_dir > 0   ? "an inserted one"
		    : table_dir < 0 ? "a deleted one"
				    : "none");
		return false;
	}
	return true;
}

const char *vmclock_status_name(uint8_t status)
{
	static const char *const names[] = {"unknown", "initializing", "synchronized",
					    "freerunning", "unreliable"};

	return status < sizeof(names) / sizeof(names[0]) ? names[status] : "unknown";
}

void vmclock_flags_str(uint64_t flags, char *buf, size_t len)
{
	static const char *const names[] = {"tai",	  "soon",     "imminent", "period-est",
					    "period-max", "time-est", "time-max", "monotonic",
					    "generation", "notify"};
	size_t used = 0;
	unsigned i;

	if (!len)
		return;
	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int n;

		if (!(flags & (1ull << i)))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", names[i]);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}
