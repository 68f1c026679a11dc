/* SPDX-License-Identifier: BSD-2-Clause */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "phcsync/vmclock.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* A well-formed page with every field distinct, so a wrong offset shows. */
static void good_page(uint8_t *p)
{
	memset(p, 0, VMCLOCK_PAGE_LEN);
	put32(p + VMCLOCK_OFF_MAGIC, VMCLOCK_MAGIC);
	put32(p + VMCLOCK_OFF_SIZE, 4096);
	put16(p + VMCLOCK_OFF_VERSION, 1);
	p[VMCLOCK_OFF_COUNTER_ID] = 1;
	p[VMCLOCK_OFF_TIME_TYPE] = 0;
	put32(p + VMCLOCK_OFF_SEQ_COUNT, 42);
	put64(p + VMCLOCK_OFF_DISRUPTION_MARKER, 0x1122334455667788ull);
	put64(p + VMCLOCK_OFF_FLAGS, VMCLOCK_FLAG_TAI_OFFSET_VALID |
					     VMCLOCK_FLAG_TIME_MAXERROR_VALID |
					     VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT);
	p[VMCLOCK_OFF_CLOCK_STATUS] = VMCLOCK_STATUS_SYNCHRONIZED;
	p[VMCLOCK_OFF_SMEARING_HINT] = 2;
	put16(p + VMCLOCK_OFF_TAI_OFFSET, 37);
	p[VMCLOCK_OFF_LEAP_INDICATOR] = VMCLOCK_LEAP_NONE;
	p[VMCLOCK_OFF_PERIOD_SHIFT] = 4;
	put64(p + VMCLOCK_OFF_COUNTER_VALUE, 1001);
	put64(p + VMCLOCK_OFF_PERIOD_FRAC, 1002);
	put64(p + VMCLOCK_OFF_PERIOD_ESTERROR_RATE, 1003);
	put64(p + VMCLOCK_OFF_PERIOD_MAXERROR_RATE, 1004);
	put64(p + VMCLOCK_OFF_TIME_SEC, 1800000000);
	put64(p + VMCLOCK_OFF_TIME_FRAC, 1ull << 63);
	put64(p + VMCLOCK_OFF_TIME_ESTERROR_NS, 1500);
	put64(p + VMCLOCK_OFF_TIME_MAXERROR_NS, 25000);
	put64(p + VMCLOCK_OFF_VM_GENERATION, 7);
}

START_TEST(test_parse_fields)
{
	uint8_t p[VMCLOCK_PAGE_LEN];
	struct vmclock_snap s;
	char why[128];

	good_page(p);
	ck_assert_int_eq(vmclock_parse(p, sizeof(p), &s, why, sizeof(why)), 0);
	ck_assert_uint_eq(s.size, 4096);
	ck_assert_uint_eq(s.version, 1);
	ck_assert_uint_eq(s.counter_id, 1);
	ck_assert_uint_eq(s.seq_count, 42);
	ck_assert_uint_eq(s.disruption_marker, 0x1122334455667788ull);
	ck_assert_uint_eq(s.clock_status, VMCLOCK_STATUS_SYNCHRONIZED);
	ck_assert_uint_eq(s.smearing_hint, 2);
	ck_assert_int_eq(s.tai_offset_s, 37);
	ck_assert_uint_eq(s.period_shift, 4);
	ck_assert_uint_eq(s.counter_value, 1001);
	ck_assert_uint_eq(s.period_frac, 1002);
	ck_assert_uint_eq(s.period_esterror_rate, 1003);
	ck_assert_uint_eq(s.period_maxerror_rate, 1004);
	ck_assert_uint_eq(s.time_sec, 1800000000);
	ck_assert_uint_eq(s.time_frac, 1ull << 63);
	ck_assert_uint_eq(s.time_esterror_ns, 1500);
	ck_assert_uint_eq(s.time_maxerror_ns, 25000);
	ck_assert_uint_eq(s.vm_generation, 7);
	/* Only the bound whose flag is set counts. */
	ck_assert_int_eq(vmclock_maxerror_ns(&s), 25000);
	ck_assert_int_eq(vmclock_esterror_ns(&s), 0);
}
END_TEST

START_TEST(test_parse_negative_tai)
{
	uint8_t p[VMCLOCK_PAGE_LEN];
	struct vmclock_snap s;

	good_page(p);
	put16(p + VMCLOCK_OFF_TAI_OFFSET, (uint16_t)-5);
	ck_assert_int_eq(vmclock_parse(p, sizeof(p), &s, NULL, 0), 0);
	ck_assert_int_eq(s.tai_offset_s, -5);
}
END_TEST

/* Each malformation alone makes the page untrusted, with a reason. */
START_TEST(test_parse_malformed)
{
	static const struct {
		int off, width;
		uint64_t v;
		const char *why;
	} bad[] = {
		{VMCLOCK_OFF_MAGIC, 4, 0x4b4c4357, "magic"},
		{VMCLOCK_OFF_MAGIC, 4, 0x56434c4b, "magic"}, /* big-endian writer */
		{VMCLOCK_OFF_SIZE, 4, 0, "size"},
		{VMCLOCK_OFF_SIZE, 4, VMCLOCK_PAGE_LEN - 1, "size"},
		{VMCLOCK_OFF_SIZE, 4, 65537, "size"},
		{VMCLOCK_OFF_SIZE, 4, UINT32_MAX, "size"},
		{VMCLOCK_OFF_VERSION, 2, 0, "version"},
		{VMCLOCK_OFF_VERSION, 2, 2, "version"},
		{VMCLOCK_OFF_VERSION, 2, 0xffff, "version"},
		{VMCLOCK_OFF_SEQ_COUNT, 4, 43, "odd"},
	};
	uint8_t p[VMCLOCK_PAGE_LEN];
	struct vmclock_snap s;
	char why[128];

	good_page(p);
	if (bad[_i].width == 4)
		put32(p + bad[_i].off, (uint32_t)bad[_i].v);
	else
		put16(p + bad[_i].off, (uint16_t)bad[_i].v);
	memset(&s, 0xa5, sizeof(s));
	why[0] = '\0';
	ck_assert_int_eq(vmclock_parse(p, sizeof(p), &s, why, sizeof(why)), -EINVAL);
	ck_assert_msg(strstr(why, bad[_i].why), "why: %s", why);
}
END_TEST

START_TEST(test_parse_boundaries)
{
	uint8_t p[VMCLOCK_PAGE_LEN];
	struct vmclock_snap s;

	good_page(p);
	put32(p + VMCLOCK_OFF_SIZE, VMCLOCK_PAGE_LEN);
	ck_assert_int_eq(vmclock_parse(p, sizeof(p), &s, NULL, 0), 0);
	put32(p + VMCLOCK_OFF_SIZE, 65536);
	ck_assert_int_eq(vmclock_parse(p, sizeof(p), &s, NULL, 0), 0);
	ck_assert_int_eq(vmclock_parse(p, VMCLOCK_PAGE_LEN - 1, &s, NULL, 0), -EINVAL);
	/* Unknown enum values do not reject the page but are not believed. */
	p[VMCLOCK_OFF_CLOCK_STATUS] = 9;
	p[VMCLOCK_OFF_LEAP_INDICATOR] = 200;
	ck_assert_int_eq(vmclock_parse(p, sizeof(p), &s, NULL, 0), 0);
	ck_assert_uint_eq(s.clock_status, VMCLOCK_STATUS_UNKNOWN);
	ck_assert_uint_eq(s.leap_indicator, VMCLOCK_LEAP_NONE);
}
END_TEST

/* A page behind a writer: script[i] is the seq_count the i-th seq read sees; the copy
 * takes the page as it stands with the seq_count of the read before it. */
struct fake {
	uint8_t page[VMCLOCK_PAGE_LEN];
	const uint32_t *script;
	int nscript;
	int pos;
	int seq_reads, copies;
	int fail_copy;
};

static int fake_seq(void *ctx, uint32_t *seq)
{
	struct fake *f = ctx;

	f->seq_reads++;
	*seq = f->script[f->pos < f->nscript ? f->pos : f->nscript - 1];
	f->pos++;
	return 0;
}

static int fake_copy(void *ctx, uint8_t *buf, size_t len)
{
	struct fake *f = ctx;
	uint32_t seq = f->script[(f->pos - 1) < f->nscript ? f->pos - 1 : f->nscript - 1];

	f->copies++;
	if (f->fail_copy)
		return -EIO;
	put32(f->page + VMCLOCK_OFF_SEQ_COUNT, seq);
	memcpy(buf, f->page, len);
	return 0;
}

static int run(struct fake *f, const uint32_t *script, int n, struct vmclock_snap *s, char *why,
	       size_t whylen)
{
	struct vmclock_reader r = {fake_seq, fake_copy, f};

	good_page(f->page);
	f->script = script;
	f->nscript = n;
	return vmclock_snapshot(&r, VMCLOCK_SNAPSHOT_TRIES, s, why, whylen);
}

START_TEST(test_snapshot_settled)
{
	static const uint32_t script[] = {10, 10};
	struct fake f = {0};
	struct vmclock_snap s;

	ck_assert_int_eq(run(&f, script, 2, &s, NULL, 0), 0);
	ck_assert_uint_eq(s.seq_count, 10);
	ck_assert_int_eq(f.seq_reads, 2);
	ck_assert_int_eq(f.copies, 1);
}
END_TEST

/* Mid-update on the first reads: odd, then changed under the copy, then settled. */
START_TEST(test_snapshot_mid_update)
{
	static const uint32_t script[] = {11, 11, 12, 14, 14, 14};
	struct fake f = {0};
	struct vmclock_snap s;

	ck_assert_int_eq(run(&f, script, 6, &s, NULL, 0), 0);
	ck_assert_uint_eq(s.seq_count, 14);
	/* Two odd reads skip the copy; 12 -> 14 spoils one copy. */
	ck_assert_int_eq(f.copies, 2);
}
END_TEST

/* A seq_count that never settles: always odd, or always moving. Never trusted. */
START_TEST(test_snapshot_never_settles)
{
	static const uint32_t odd[] = {1};
	uint32_t moving[2 * VMCLOCK_SNAPSHOT_TRIES + 2];
	struct fake f = {0}, g = {0};
	struct vmclock_snap s;
	char why[128];
	int i;

	ck_assert_int_eq(run(&f, odd, 1, &s, why, sizeof(why)), -EAGAIN);
	ck_assert_ptr_nonnull(strstr(why, "never settled"));
	ck_assert_int_eq(f.seq_reads, VMCLOCK_SNAPSHOT_TRIES);
	ck_assert_int_eq(f.copies, 0);
	for (i = 0; i < (int)(sizeof(moving) / sizeof(moving[0])); i++)
		moving[i] = 2u * (uint32_t)i;
	ck_assert_int_eq(
		run(&g, moving, (int)(sizeof(moving) / sizeof(moving[0])), &s, why, sizeof(why)),
		-EAGAIN);
	ck_assert_int_eq(g.copies, VMCLOCK_SNAPSHOT_TRIES);
}
END_TEST

START_TEST(test_snapshot_errors)
{
	static const uint32_t script[] = {4};
	struct fake f = {.fail_copy = 1};
	struct vmclock_snap s;
	struct vmclock_reader r = {fake_seq, fake_copy, &f};
	char why[128];

	ck_assert_int_eq(run(&f, script, 1, &s, why, sizeof(why)), -EIO);
	/* A settled but malformed page is reported as such, not retried into trust. */
	f.fail_copy = 0;
	f.pos = 0;
	put32(f.page + VMCLOCK_OFF_MAGIC, 0);
	ck_assert_int_eq(vmclock_snapshot(&r, 4, &s, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "magic"));
}
END_TEST

static void snap(struct vmclock_snap *s)
{
	uint8_t p[VMCLOCK_PAGE_LEN];

	good_page(p);
	ck_assert_int_eq(vmclock_parse(p, sizeof(p), s, NULL, 0), 0);
}

START_TEST(test_compare)
{
	struct vmclock_snap a, b;

	snap(&a);
	b = a;
	ck_assert_uint_eq(vmclock_compare(&a, &b), 0);
	/* A new seq_count or time alone is no event: the page moves with no jump. */
	b.seq_count += 2;
	b.time_sec += 1;
	b.counter_value += 12345;
	b.time_maxerror_ns += 10;
	ck_assert_uint_eq(vmclock_compare(&a, &b), 0);
	b = a;
	b.disruption_marker++;
	ck_assert_uint_eq(vmclock_compare(&a, &b), VMCLOCK_EV_DISRUPTION);
	b.vm_generation++;
	ck_assert_uint_eq(vmclock_compare(&a, &b), VMCLOCK_EV_DISRUPTION | VMCLOCK_EV_RESTORE);
	/* A generation without its flag is not believed. */
	b = a;
	b.flags &= ~VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT;
	b.vm_generation++;
	ck_assert_uint_eq(vmclock_compare(&a, &b), 0);
	b = a;
	b.flags |= VMCLOCK_FLAG_DISRUPTION_SOON;
	ck_assert_uint_eq(vmclock_compare(&a, &b), VMCLOCK_EV_WARN_ON);
	ck_assert(vmclock_warned(&b));
	a = b;
	b.flags = (b.flags & ~VMCLOCK_FLAG_DISRUPTION_SOON) | VMCLOCK_FLAG_DISRUPTION_IMMINENT;
	ck_assert_uint_eq(vmclock_compare(&a, &b), 0); /* still warned */
	a = b;
	b.flags &= ~VMCLOCK_FLAG_DISRUPTION_IMMINENT;
	ck_assert_uint_eq(vmclock_compare(&a, &b), VMCLOCK_EV_WARN_OFF);
	snap(&a);
	b = a;
	b.clock_status = VMCLOCK_STATUS_UNRELIABLE;
	ck_assert_uint_eq(vmclock_compare(&a, &b), VMCLOCK_EV_STATUS);
	ck_assert(vmclock_unreliable(&b));
	ck_assert(!vmclock_freerunning(&b));
	b = a;
	b.leap_indicator = VMCLOCK_LEAP_PRE_POS;
	ck_assert_uint_eq(vmclock_compare(&a, &b), VMCLOCK_EV_LEAP);
	b = a;
	b.tai_offset_s++;
	ck_assert_uint_eq(vmclock_compare(&a, &b), VMCLOCK_EV_LEAP);
}
END_TEST

START_TEST(test_bounds)
{
	struct vmclock_snap s;

	snap(&s);
	s.flags |= VMCLOCK_FLAG_TIME_ESTERROR_VALID;
	ck_assert_int_eq(vmclock_esterror_ns(&s), 1500);
	s.time_maxerror_ns = 86400000000001ull;
	ck_assert_int_eq(vmclock_maxerror_ns(&s), 0);
	s.time_maxerror_ns = UINT64_MAX;
	ck_assert_int_eq(vmclock_maxerror_ns(&s), 0);
	s.time_maxerror_ns = 86400000000000ull;
	ck_assert_int_eq(vmclock_maxerror_ns(&s), 86400000000000ll);
	s.flags &= ~VMCLOCK_FLAG_TIME_MAXERROR_VALID;
	ck_assert_int_eq(vmclock_maxerror_ns(&s), 0);
}
END_TEST

START_TEST(test_leap_agrees)
{
	struct vmclock_snap s;
	char why[160];

	snap(&s);
	ck_assert(vmclock_leap_agrees(&s, 0, 37, why, sizeof(why)));
	ck_assert(!vmclock_leap_agrees(&s, 0, 36, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "TAI-UTC"));
	ck_assert(!vmclock_leap_agrees(&s, 1, 37, why, sizeof(why)));
	s.leap_indicator = VMCLOCK_LEAP_PRE_POS;
	ck_assert(vmclock_leap_agrees(&s, 1, 37, why, sizeof(why)));
	ck_assert(!vmclock_leap_agrees(&s, -1, 37, why, sizeof(why)));
	ck_assert(!vmclock_leap_agrees(&s, 0, 37, why, sizeof(why)));
	s.leap_indicator = VMCLOCK_LEAP_PRE_NEG;
	ck_assert(vmclock_leap_agrees(&s, -1, 37, why, sizeof(why)));
	/* During and after the leap second the page says nothing the plan compares. */
	s.leap_indicator = VMCLOCK_LEAP_POS;
	ck_assert(vmclock_leap_agrees(&s, 0, 37, why, sizeof(why)));
	/* Without its flag, the page's TAI offset is not compared. */
	s.leap_indicator = VMCLOCK_LEAP_NONE;
	s.flags &= ~VMCLOCK_FLAG_TAI_OFFSET_VALID;
	ck_assert(vmclock_leap_agrees(&s, 0, 10, why, sizeof(why)));
}
END_TEST

START_TEST(test_names)
{
	char buf[128];

	ck_assert_str_eq(vmclock_status_name(VMCLOCK_STATUS_UNRELIABLE), "unreliable");
	ck_assert_str_eq(vmclock_status_name(200), "unknown");
	vmclock_flags_str(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
	vmclock_flags_str(VMCLOCK_FLAG_DISRUPTION_SOON | VMCLOCK_FLAG_NOTIFICATION_PRESENT, buf,
			  sizeof(buf));
	ck_assert_str_eq(buf, "soon,notify");
	vmclock_flags_str(UINT64_MAX, buf, 8);
	ck_assert_uint_lt(strlen(buf), 8);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vmclock");
	TCase *tc = tcase_create("vmclock");

	tcase_add_test(tc, test_parse_fields);
	tcase_add_test(tc, test_parse_negative_tai);
	tcase_add_loop_test(tc, test_parse_malformed, 0, 10);
	tcase_add_test(tc, test_parse_boundaries);
	tcase_add_test(tc, test_snapshot_settled);
	tcase_add_test(tc, test_snapshot_mid_update);
	tcase_add_test(tc, test_snapshot_never_settles);
	tcase_add_test(tc, test_snapshot_errors);
	tcase_add_test(tc, test_compare);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_leap_agrees);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return check_run(s, CK_FORK_GETENV);
}
