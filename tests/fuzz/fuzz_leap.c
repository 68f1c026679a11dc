/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The leap table parsers (leap-seconds.list and TZif): any input is refused with a message
 * or gives a table that holds every rule the daemon relies on, and whose queries agree with
 * its entries at each leap and at the ends of int64.
 */
#include <errno.h>
#include <time.h>

#include "fuzz.h"
#include "phcsync/leap.h"

#define DAY_S 86400
#define FIRST_UTC_S 63072000LL	  /* 1972-01-01 */
#define LAST_UTC_S 253402300800LL /* 10000-01-01 */

static bool first_of_month(int64_t utc_s)
{
	time_t t = (time_t)utc_s;
	struct tm tm;

	return gmtime_r(&t, &tm) && tm.tm_mday == 1 && tm.tm_hour == 0 && tm.tm_min == 0 &&
	       tm.tm_sec == 0;
}

static void check_table(const struct leap_table *t)
{
	size_t n = leap_count(t);
	int64_t utc_s, prev_s = 0, when_s, last_s = 0;
	int tai, prev_tai = 0, dir;

	FUZZ_CHECK(n >= 1 && n <= LEAP_ENTRIES_MAX, "%zu entries", n);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(leap_entry(t, i, &utc_s, &tai) == 0, "entry %zu", i);
		FUZZ_CHECK(utc_s >= FIRST_UTC_S && utc_s <= LAST_UTC_S, "entry %zu at %lld", i,
			   (long long)utc_s);
		FUZZ_CHECK(first_of_month(utc_s), "entry %zu at %lld", i, (long long)utc_s);
		if (i == 0) {
			FUZZ_CHECK(utc_s == FIRST_UTC_S && tai == 10, "first entry %lld %d",
				   (long long)utc_s, tai);
		} else {
			FUZZ_CHECK(utc_s > prev_s, "entry %zu not after the previous", i);
			FUZZ_CHECK(tai - prev_tai == 1 || tai - prev_tai == -1,
				   "entry %zu: %d -> %d", i, prev_tai, tai);
			/* The queries at the leap: the day it ends, the second before and at it. */
			FUZZ_CHECK(leap_tai_utc(t, utc_s - 1) == prev_tai, "before entry %zu", i);
			FUZZ_CHECK(leap_tai_utc(t, utc_s) == tai, "at entry %zu", i);
			FUZZ_CHECK(leap_at_day_end(t, utc_s - 1) == tai - prev_tai, "entry %zu", i);
			FUZZ_CHECK(leap_at_day_end(t, utc_s - DAY_S) == tai - prev_tai, "entry %zu",
				   i);
			FUZZ_CHECK(leap_next(t, utc_s - 1, &when_s, &dir) == 0 && when_s == utc_s &&
					   dir == tai - prev_tai,
				   "leap_next before entry %zu", i);
		}
		prev_s = utc_s;
		prev_tai = tai;
		last_s = utc_s;
	}
	FUZZ_CHECK(leap_entry(t, n, &utc_s, &tai) == -ERANGE, "entry past the end");
	FUZZ_CHECK(leap_next(t, last_s, &when_s, &dir) == -ENOENT, "leap_next after the last");

	/* The ends of int64 and of int: no overflow, answers from the first and last entries. */
	FUZZ_CHECK(leap_tai_utc(t, INT64_MIN) == 10, "TAI-UTC at INT64_MIN");
	FUZZ_CHECK(leap_tai_utc(t, INT64_MAX) == prev_tai, "TAI-UTC at INT64_MAX");
	FUZZ_CHECK(leap_at_day_end(t, INT64_MIN) == 0 && leap_at_day_end(t, INT64_MAX) == 0,
		   "leap_at_day_end at the ends");
	FUZZ_CHECK(leap_next(t, INT64_MAX, &when_s, &dir) == -ENOENT, "leap_next at INT64_MAX");
	FUZZ_CHECK(n == 1 || leap_next(t, INT64_MIN, &when_s, &dir) == 0, "leap_next at INT64_MIN");
	(void)leap_expires_within(t, INT64_MIN, INT32_MAX);
	(void)leap_expires_within(t, INT64_MAX, INT32_MIN);

	if (leap_format(t) == LEAP_FORMAT_LIST) {
		int64_t updated = leap_updated(t), expiry = leap_expiry(t);

		FUZZ_CHECK(updated >= FIRST_UTC_S && updated < LAST_UTC_S, "updated %lld",
			   (long long)updated);
		FUZZ_CHECK(expiry > updated && expiry - updated <= 1096LL * DAY_S,
			   "expiry %lld updated %lld", (long long)expiry, (long long)updated);
		FUZZ_CHECK(last_s - updated <= 731LL * DAY_S, "last leap %lld updated %lld",
			   (long long)last_s, (long long)updated);
	} else {
		FUZZ_CHECK(leap_format(t) == LEAP_FORMAT_TZIF, "format %d", (int)leap_format(t));
		FUZZ_CHECK(leap_updated(t) == 0, "a TZif update date");
	}
	if (leap_expiry(t)) {
		FUZZ_CHECK(leap_expiry(t) > last_s && leap_expiry(t) <= LAST_UTC_S + 1096LL * DAY_S,
			   "expiry %lld, last leap %lld", (long long)leap_expiry(t),
			   (long long)last_s);
		FUZZ_CHECK(!leap_expired(t, leap_expiry(t) - 1) && leap_expired(t, leap_expiry(t)),
			   "leap_expired at the expiry");
		FUZZ_CHECK(leap_expires_within(t, leap_expiry(t) - DAY_S, 1) &&
				   !leap_expires_within(t, leap_expiry(t) - DAY_S - 1, 1),
			   "leap_expires_within a day of the expiry");
	} else {
		FUZZ_CHECK(!leap_expired(t, INT64_MAX), "expired without an expiry");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct leap_table *t = NULL, *sentinel = (struct leap_table *)&t;
	char err[512] = "";
	int ret;

	t = sentinel;
	ret = leap_parse(data, size, "fuzz", &t, err, sizeof(err));
	if (ret == 0) {
		FUZZ_CHECK(t && t != sentinel, "no table");
		check_table(t);
		leap_free(t);
	} else {
		FUZZ_CHECK(ret == -EINVAL || ret == -EFBIG, "returned %d", ret);
		FUZZ_CHECK(t == sentinel, "a refused table changed *table");
		FUZZ_CHECK(!strncmp(err, "fuzz: ", 6) && !strchr(err, '\n'), "message \"%s\"", err);
	}
	return 0;
}
