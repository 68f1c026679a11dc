/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vmclock page (Linux ptp_vmclock, /dev/vmclockN), pure: the layout of the page as the
 * hypervisor writes it (little-endian), a consistent snapshot under its seq_count, the
 * checks that decide whether the page may be trusted at all, and what changed between two
 * snapshots. No I/O: the page's bytes come through callbacks (vmclock_dev.c reads them).
 */
#ifndef PHCSYNC_VMCLOCK_H
#define PHCSYNC_VMCLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMCLOCK_MAGIC 0x4b4c4356u /* "VCLK" read as a little-endian u32 */
#define VMCLOCK_VERSION 1

/* Byte offsets of the fields in the page (the kernel's vmclock-abi.h). */
enum vmclock_offset {
	VMCLOCK_OFF_MAGIC = 0,		       /* le32 */
	VMCLOCK_OFF_SIZE = 4,		       /* le32: bytes of the region */
	VMCLOCK_OFF_VERSION = 8,	       /* le16 */
	VMCLOCK_OFF_COUNTER_ID = 10,	       /* u8 */
	VMCLOCK_OFF_TIME_TYPE = 11,	       /* u8 */
	VMCLOCK_OFF_SEQ_COUNT = 12,	       /* le32: odd while the host writes */
	VMCLOCK_OFF_DISRUPTION_MARKER = 16,    /* le64 */
	VMCLOCK_OFF_FLAGS = 24,		       /* le64 */
	VMCLOCK_OFF_PAD = 32,		       /* u8[2] */
	VMCLOCK_OFF_CLOCK_STATUS = 34,	       /* u8 */
	VMCLOCK_OFF_SMEARING_HINT = 35,	       /* u8 */
	VMCLOCK_OFF_TAI_OFFSET = 36,	       /* le16, two's complement */
	VMCLOCK_OFF_LEAP_INDICATOR = 38,       /* u8 */
	VMCLOCK_OFF_PERIOD_SHIFT = 39,	       /* u8 */
	VMCLOCK_OFF_COUNTER_VALUE = 40,	       /* le64 */
	VMCLOCK_OFF_PERIOD_FRAC = 48,	       /* le64: 2^-(64 + shift) s */
	VMCLOCK_OFF_PERIOD_ESTERROR_RATE = 56, /* le64 */
	VMCLOCK_OFF_PERIOD_MAXERROR_RATE = 64, /* le64 */
	VMCLOCK_OFF_TIME_SEC = 72,	       /* le64 */
	VMCLOCK_OFF_TIME_FRAC = 80,	       /* le64: 2^-64 s */
	VMCLOCK_OFF_TIME_ESTERROR_NS = 88,     /* le64 */
	VMCLOCK_OFF_TIME_MAXERROR_NS = 96,     /* le64 */
	VMCLOCK_OFF_VM_GENERATION = 104,       /* le64 */
	VMCLOCK_PAGE_LEN = 112,		       /* the structure's length */
};

#define VMCLOCK_FLAG_TAI_OFFSET_VALID (1ull << 0)
#define VMCLOCK_FLAG_DISRUPTION_SOON (1ull << 1)     /* about a day ahead */
#define VMCLOCK_FLAG_DISRUPTION_IMMINENT (1ull << 2) /* about an hour ahead */
#define VMCLOCK_FLAG_PERIOD_ESTERROR_VALID (1ull << 3)
#define VMCLOCK_FLAG_PERIOD_MAXERROR_VALID (1ull << 4)
#define VMCLOCK_FLAG_TIME_ESTERROR_VALID (1ull << 5)
#define VMCLOCK_FLAG_TIME_MAXERROR_VALID (1ull << 6)
#define VMCLOCK_FLAG_TIME_MONOTONIC (1ull << 7)
#define VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT (1ull << 8)
#define VMCLOCK_FLAG_NOTIFICATION_PRESENT (1ull << 9) /* poll() wakes on a change */

enum vmclock_status {
	VMCLOCK_STATUS_UNKNOWN = 0,
	VMCLOCK_STATUS_INITIALIZING = 1,
	VMCLOCK_STATUS_SYNCHRONIZED = 2,
	VMCLOCK_STATUS_FREERUNNING = 3,
	VMCLOCK_STATUS_UNRELIABLE = 4,
};

enum vmclock_leap {
	VMCLOCK_LEAP_NONE = 0,
	VMCLOCK_LEAP_PRE_POS = 1, /* a positive leap second at the end of the month */
	VMCLOCK_LEAP_PRE_NEG = 2,
	VMCLOCK_LEAP_POS = 3, /* during 23:59:60 */
	VMCLOCK_LEAP_POST_POS = 4,
	VMCLOCK_LEAP_POST_NEG = 5,
};

#define VMCLOCK_COUNTER_INVALID 0xff

/* One consistent, checked reading of the page in host order. */
struct vmclock_snap {
	uint32_t size;
	uint16_t version;
	uint8_t counter_id;
	uint8_t time_type;
	uint32_t seq_count;
	uint64_t disruption_marker;
	uint64_t flags;
	uint8_t clock_status; /* enum vmclock_status; an unknown value reads as UNKNOWN */
	uint8_t smearing_hint;
	int16_t tai_offset_s;
	uint8_t leap_indicator; /* enum vmclock_leap; an unknown value reads as NONE */
	uint8_t period_shift;
	uint64_t counter_value;
	uint64_t period_frac;
	uint64_t period_esterror_rate;
	uint64_t period_maxerror_rate;
	uint64_t time_sec;
	uint64_t time_frac;
	uint64_t time_esterror_ns;
	uint64_t time_maxerror_ns;
	uint64_t vm_generation;
};

/*
 * Decode and check len bytes of a page (len >= VMCLOCK_PAGE_LEN). Returns 0, or -EINVAL
 * with the reason in why (bad magic, a size below the structure or above a page's worth,
 * an unknown version, an odd seq_count). A page that fails is never to be trusted.
 */
int vmclock_parse(const uint8_t *buf, size_t len, struct vmclock_snap *out, char *why,
		  size_t whylen);

/* How the snapshot reaches the page: read its seq_count, copy the whole structure. Each
 * returns 0 or -errno; the caller's callbacks hold the memory ordering. */
struct vmclock_reader {
	int (*seq)(void *ctx, uint32_t *seq);
	int (*copy)(void *ctx, uint8_t *buf, size_t len);
	void *ctx;
};

#define VMCLOCK_SNAPSHOT_TRIES 16

/*
 * A consistent snapshot: seq_count read even, the page copied, seq_count read again and
 * unchanged (and equal to the copy's), retried at most tries times. Returns 0; -EAGAIN
 * when the seq_count never settled; -EINVAL when the page is malformed; another -errno
 * from a callback. why says what went wrong.
 */
int vmclock_snapshot(const struct vmclock_reader *r, int tries, struct vmclock_snap *out, char *why,
		     size_t whylen);

/* What changed from one snapshot to the next (bits of vmclock_compare). */
#define VMCLOCK_EV_DISRUPTION (1u << 0) /* the marker changed: migration or restore */
#define VMCLOCK_EV_RESTORE (1u << 1)	/* the VM generation changed: snapshot restore */
#define VMCLOCK_EV_WARN_ON (1u << 2)	/* a disruption is now announced */
#define VMCLOCK_EV_WARN_OFF (1u << 3)	/* the announcement was withdrawn */
#define VMCLOCK_EV_STATUS (1u << 4)	/* clock_status changed */
#define VMCLOCK_EV_LEAP (1u << 5)	/* leap_indicator or the TAI offset changed */

unsigned vmclock_compare(const struct vmclock_snap *prev, const struct vmclock_snap *cur);

/* A disruption is announced (soon or imminent): hold the frequency, learn nothing. */
bool vmclock_warned(const struct vmclock_snap *s);

/* The host says its own clock cannot be trusted (unreliable): holdover. */
bool vmclock_unreliable(const struct vmclock_snap *s);

/* The host's clock runs free: report it and widen the error bound. */
bool vmclock_freerunning(const struct vmclock_snap *s);

/* The host's error bounds in ns where the flags say they are valid, else 0. Values
 * beyond a day are not plausible and read as 0. */
int64_t vmclock_esterror_ns(const struct vmclock_snap *s);
int64_t vmclock_maxerror_ns(const struct vmclock_snap *s);

/*
 * Cross-check the page's leap announcement and TAI offset (when valid) against the leap
 * table's: table_dir +1/-1/0 for a leap second at the end of this month, table_tai_s the
 * table's TAI-UTC now. Returns true when they agree (or the page says nothing); else the
 * disagreement in why.
 */
bool vmclock_leap_agrees(const struct vmclock_snap *s, int table_dir, int table_tai_s, char *why,
			 size_t whylen);

/* "unknown", "initializing", "synchronized", "freerunning", "unreliable". */
const char *vmclock_status_name(uint8_t status);

/* The set flags as "tai,soon,imminent,..." (empty for none) into buf. */
void vmclock_flags_str(uint64_t flags, char *buf, size_t len);

#endif
