/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of the leap second table: Debian's files, crafted files, TZif built here, lookups. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nettle/sha1.h>

#include "check_main.h"
#include "phcsync/leap.h"
#include "sim/sim_rng.h"

#define DAY_S 86400
#define NTP_UNIX_OFFSET_S 2208988800LL
#define UTC_1972_S 63072000LL
#define UTC_2017_S 1483228800LL /* the last real leap: TAI-UTC 37 s from here */
#define UTC_2026_06_01_S 1780272000LL
#define UTC_2026_06_28_S 1782604800LL
/* tests/data/leap/debian-2026f.list, a copy of Debian's tzdata 2026f list, expires then. */
#define DEBIAN_EXPIRY_S 1814140800LL	 /* 2027-06-28 */
#define DEBIAN_EXPIRY_27D_S 1811808000LL /* 2027-06-01 */
#define UTC_2027_07_01_S 1814400000LL	 /* the crafted future leaps end 2027-06-30 */
#define UTC_2028_06_28_S 1845763200LL	 /* the crafted future lists expire */

static char err[512];

static const char *data_path(const char *file)
{
	static char path[4096];
	const char *dir = getenv("PHCSYNC_LEAP_DATA");

	ck_assert_msg(dir, "PHCSYNC_LEAP_DATA is not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return path;
}

static const char *env_path(const char *var)
{
	const char *path = getenv(var);

	ck_assert_msg(path, "%s is not set (run through meson test)", var);
	return path;
}

/* The whole file, NUL-terminated for text helpers. */
static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long size;

	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	ck_assert_int_ge(size, 0);
	rewind(f);
	buf = malloc((size_t)size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	buf[size] = '\0';
	fclose(f);
	*len = (size_t)size;
	return buf;
}

static struct leap_table *load_ok(const char *path)
{
	struct leap_table *t = NULL;
	int ret = leap_load(path, &t, err, sizeof(err));

	ck_assert_msg(ret == 0, "%s: %d: %s", path, ret, err);
	ck_assert_ptr_nonnull(t);
	return t;
}

static struct leap_table *parse_ok(const char *text, size_t len)
{
	struct leap_table *t = NULL;
	int ret = leap_parse(text, len, "test", &t, err, sizeof(err));

	ck_assert_msg(ret == 0, "%d: %s", ret, err);
	return t;
}

/* Parse must fail with ret and exactly "test: what". */
static void parse_fails(const void *buf, size_t len, int ret, const char *what)
{
	struct leap_table *t = (struct leap_table *)&err; /* a sentinel: must stay */
	char want[512];

	err[0] = '\0';
	ck_assert_int_eq(leap_parse(buf, len, "test", &t, err, sizeof(err)), ret);
	ck_assert_ptr_eq(t, (struct leap_table *)&err);
	snprintf(want, sizeof(want), "test: %s", what);
	ck_assert_str_eq(err, want);
}

/* Loading tests/data/leap/file must fail with ret and exactly "PATH: what". */
static void load_fails(const char *file, int ret, const char *what)
{
	struct leap_table *t = NULL;
	char want[4096];
	const char *path = data_path(file);

	err[0] = '\0';
	ck_assert_int_eq(leap_load(path, &t, err, sizeof(err)), ret);
	ck_assert_ptr_null(t);
	snprintf(want, sizeof(want), "%s: %s", path, what);
	ck_assert_str_eq(err, want);
}

/*
 * The leap-seconds.list hash, computed independently of the parser: SHA-1 over the digits
 * of the #$ and #@ values and of both fields of every data line, in file order. Returns
 * text with its #h line replaced by the correct one (malloc'd).
 */
static char *rehash(const char *text)
{
	size_t len = strlen(text);
	char *out = malloc(len + 64), *o = out;
	uint8_t d[SHA1_DIGEST_SIZE];
	struct sha1_ctx ctx;
	const char *p;

	ck_assert_ptr_nonnull(out);
	sha1_init(&ctx);
	for (p = text; *p;) {
		const char *eol = strchrnul(p, '\n');
		bool stamp = p[0] == '#' && (p[1] == '$' || p[1] == '@');
		bool data = *p >= '0' && *p <= '9';

		for (const char *c = p; (stamp || data) && c < eol && *c != (data ? '#' : '\n');
		     c++)
			if (*c >= '0' && *c <= '9')
				sha1_update(&ctx, 1, (const uint8_t *)c);
		if (strncmp(p, "#h", 2)) {
			memcpy(o, p, (size_t)(eol - p));
			o += eol - p;
			*o++ = '\n';
		}
		p = *eol ? eol + 1 : eol;
	}
	sha1_digest(&ctx, sizeof(d), d);
	o += sprintf(o, "#h\t");
	for (int w = 0; w < 5; w++)
		o += sprintf(o, "%02x%02x%02x%02x%s", d[4 * w], d[4 * w + 1], d[4 * w + 2],
			     d[4 * w + 3], w < 4 ? " " : "\n");
	*o = '\0';
	return out;
}

/* text (malloc'd, freed here) with the first old replaced by new, malloc'd. */
static char *replace(char *text, const char *old, const char *new)
{
	char *at = strstr(text, old), *out;

	ck_assert_ptr_nonnull(at);
	out = malloc(strlen(text) + strlen(new) + 1);
	ck_assert_ptr_nonnull(out);
	memcpy(out, text, (size_t)(at - text));
	strcpy(out + (at - text), new);
	strcat(out, at + strlen(old));
	free(text);
	return out;
}

/* Debian's list with the first old replaced by new, then rehashed. */
static char *debian_list_with(const char *old, const char *new)
{
	size_t len;
	char *edited = replace(read_all(env_path("PHCSYNC_LEAP_LIST"), &len), old, new);
	char *out = rehash(edited);

	free(edited);
	return out;
}

static void assert_same_entries(const struct leap_table *a, const struct leap_table *b)
{
	ck_assert_uint_eq(leap_count(a), leap_count(b));
	for (size_t i = 0; i < leap_count(a); i++) {
		int64_t utc_a, utc_b;
		int tai_a, tai_b;

		ck_assert_int_eq(leap_entry(a, i, &utc_a, &tai_a), 0);
		ck_assert_int_eq(leap_entry(b, i, &utc_b, &tai_b), 0);
		ck_assert_int_eq(utc_a, utc_b);
		ck_assert_int_eq(tai_a, tai_b);
	}
}

/* TZif building: one UTC type, the given leap records, version 0 (v1 only) or '2'..'4'. */
struct rec {
	int64_t occ;
	int32_t corr;
};

static unsigned char *put32(unsigned char *p, uint32_t v)
{
	*p++ = (unsigned char)(v >> 24);
	*p++ = (unsigned char)(v >> 16);
	*p++ = (unsigned char)(v >> 8);
	*p++ = (unsigned char)v;
	return p;
}

/* The counts of local time types and abbreviation bytes; RFC 8536 wants neither 0. */
static uint32_t tzif_typecnt = 1, tzif_charcnt = 4;

static unsigned char *put_block(unsigned char *p, char version, const struct rec *r, size_t n,
				bool wide)
{
	memcpy(p, "TZif", 4);
	p[4] = (unsigned char)version;
	memset(p + 5, 0, 15);
	p += 20;
	/* Counts: isut, isstd, leap, time, type, char; then types like 0 (UTC, offset 0, not
	 * DST) and the abbreviation "UTC". */
	p = put32(p, 0);
	p = put32(p, 0);
	p = put32(p, (uint32_t)n);
	p = put32(p, 0);
	p = put32(p, tzif_typecnt);
	p = put32(p, tzif_charcnt);
	memset(p, 0, 6 * tzif_typecnt);
	p += 6 * tzif_typecnt;
	memcpy(p, "UTC", tzif_charcnt < 4 ? tzif_charcnt : 4);
	memset(p + 4, 0, tzif_charcnt > 4 ? tzif_charcnt - 4 : 0);
	p += tzif_charcnt;
	for (size_t i = 0; i < n; i++) {
		if (wide)
			p = put32(p, (uint32_t)((uint64_t)r[i].occ >> 32));
		p = put32(p, (uint32_t)r[i].occ);
		p = put32(p, (uint32_t)r[i].corr);
	}
	return p;
}

static size_t build_tzif(unsigned char *out, char version, const struct rec *r, size_t n)
{
	unsigned char *p = put_block(out, version, r, n, false);

	if (version) {
		p = put_block(p, version, r, n, true);
		memcpy(p, "\nUTC0\n", 6);
		p += 6;
	}
	return (size_t)(p - out);
}

/*
 * Leap records for a table, as zic writes them: the occurrence counts earlier leap seconds
 * and is 23:59:60 for an insertion, 23:59:59 for a deletion. With expiry, a last record
 * with an unchanged correction marks it (version 4).
 */
static size_t records_of(const struct leap_table *t, struct rec *r, bool expiry)
{
	size_t n = 0;

	for (size_t i = 1; i < leap_count(t); i++) {
		int64_t utc_s, prev_s;
		int tai, prev_tai;

		leap_entry(t, i, &utc_s, &tai);
		leap_entry(t, i - 1, &prev_s, &prev_tai);
		r[n].occ = utc_s + (prev_tai - 10) - (tai < prev_tai);
		r[n].corr = tai - 10;
		n++;
	}
	if (expiry) {
		r[n].occ = leap_expiry(t) + r[n - 1].corr;
		r[n].corr = r[n - 1].corr;
		n++;
	}
	return n;
}

START_TEST(test_installed_list)
{
	/* Whatever tzdata is installed must parse and verify; its dates move with updates. */
	struct leap_table *t = load_ok(env_path("PHCSYNC_LEAP_SYSTEM_LIST"));
	int64_t utc_s;
	int tai;

	ck_assert_uint_ge(leap_count(t), 28);
	ck_assert_int_eq(leap_entry(t, 27, &utc_s, &tai), 0);
	ck_assert_int_eq(utc_s, UTC_2017_S);
	ck_assert_int_eq(tai, 37);
	ck_assert_int_gt(leap_expiry(t), UTC_2017_S);
	leap_free(t);
}
END_TEST

START_TEST(test_debian_list)
{
	struct leap_table *t = load_ok(env_path("PHCSYNC_LEAP_LIST"));
	int64_t utc_s;
	int tai;

	ck_assert_int_eq(leap_format(t), LEAP_FORMAT_LIST);
	ck_assert_uint_eq(leap_count(t), 28);
	ck_assert_int_eq(leap_entry(t, 0, &utc_s, &tai), 0);
	ck_assert_int_eq(utc_s, UTC_1972_S);
	ck_assert_int_eq(tai, 10);
	ck_assert_int_eq(leap_entry(t, 27, &utc_s, &tai), 0);
	ck_assert_int_eq(utc_s, UTC_2017_S);
	ck_assert_int_eq(tai, 37);
	ck_assert_int_eq(leap_entry(t, 28, &utc_s, &tai), -ERANGE);
	ck_assert_int_eq(leap_updated(t), 3992312697LL - NTP_UNIX_OFFSET_S);

	/* Expires in June 2027: reported, not an error, once past. */
	ck_assert_int_eq(leap_expiry(t), DEBIAN_EXPIRY_S);
	ck_assert(!leap_expired(t, DEBIAN_EXPIRY_S - 1));
	ck_assert(leap_expired(t, DEBIAN_EXPIRY_S));
	ck_assert(!leap_expires_within(t, DEBIAN_EXPIRY_27D_S, 26));
	ck_assert(leap_expires_within(t, DEBIAN_EXPIRY_27D_S, 27));
	ck_assert(leap_expires_within(t, DEBIAN_EXPIRY_S + 1, 0));
	leap_free(t);
}
END_TEST

START_TEST(test_debian_tzif_matches_list)
{
	struct leap_table *list = load_ok(env_path("PHCSYNC_LEAP_LIST"));
	struct leap_table *tzif = load_ok(env_path("PHCSYNC_LEAP_TZIF"));

	ck_assert_int_eq(leap_format(tzif), LEAP_FORMAT_TZIF);
	assert_same_entries(list, tzif);
	/* Debian's right/UTC (version 2) carries no expiry. */
	ck_assert_int_eq(leap_expiry(tzif), 0);
	ck_assert_int_eq(leap_updated(tzif), 0);
	ck_assert(!leap_expired(tzif, INT64_MAX));
	ck_assert(!leap_expires_within(tzif, UTC_2028_06_28_S, 10000));
	leap_free(tzif);
	leap_free(list);
}
END_TEST

/* The records this test writes for the real table are byte for byte what zic wrote. */
START_TEST(test_tzif_records_rule_matches_zic)
{
	struct leap_table *list = load_ok(env_path("PHCSYNC_LEAP_LIST"));
	unsigned char built[4096];
	struct rec r[LEAP_ENTRIES_MAX];
	size_t len, n = records_of(list, r, false);
	char *real = read_all(env_path("PHCSYNC_LEAP_TZIF"), &len);
	size_t built_len = build_tzif(built, '2', r, n);
	/* The v2 leap records sit right before the footer in both files (no isstd/isut). */
	size_t rec_bytes = n * 12, real_footer = 2, built_footer = 6;

	ck_assert_uint_ge(len, rec_bytes + real_footer);
	ck_assert_mem_eq(real + len - real_footer - rec_bytes,
			 built + built_len - built_footer - rec_bytes, rec_bytes);
	free(real);
	leap_free(list);
}
END_TEST

START_TEST(test_lookups_around_every_leap)
{
	struct leap_table *t = load_ok(env_path("PHCSYNC_LEAP_LIST"));
	int64_t when_s;
	int dir;

	/* Before 1972: the first entry's 10 s (an approximation). */
	ck_assert_int_eq(leap_tai_utc(t, 0), 10);
	ck_assert_int_eq(leap_tai_utc(t, -4000000000LL), 10);
	ck_assert_int_eq(leap_tai_utc(t, UTC_1972_S - 1), 10);
	ck_assert_int_eq(leap_tai_utc(t, UTC_1972_S), 10);
	ck_assert_int_eq(leap_at_day_end(t, UTC_1972_S - 1), 0);
	ck_assert_int_eq(leap_next(t, INT64_MIN, &when_s, &dir), 0);
	ck_assert_int_eq(when_s, 78796800); /* 1972-07-01 */
	ck_assert_int_eq(dir, 1);

	for (size_t i = 1; i < leap_count(t); i++) {
		int64_t utc_s, prev_s;
		int tai, prev_tai;

		leap_entry(t, i, &utc_s, &tai);
		leap_entry(t, i - 1, &prev_s, &prev_tai);
		/* 23:59:59 of the leap day, then 00:00:00 of the next. */
		ck_assert_int_eq(leap_tai_utc(t, utc_s - 1), prev_tai);
		ck_assert_int_eq(leap_tai_utc(t, utc_s), tai);
		ck_assert_int_eq(leap_at_day_end(t, utc_s - 1), tai - prev_tai);
		ck_assert_int_eq(leap_at_day_end(t, utc_s - DAY_S), tai - prev_tai);
		ck_assert_int_eq(leap_at_day_end(t, utc_s - DAY_S - 1), 0);
		ck_assert_int_eq(leap_at_day_end(t, utc_s), 0);
		ck_assert_int_eq(leap_next(t, utc_s - 1, &when_s, &dir), 0);
		ck_assert_int_eq(when_s, utc_s);
		ck_assert_int_eq(dir, tai - prev_tai);
		ck_assert_int_eq(leap_next(t, prev_s, &when_s, &dir), 0);
		ck_assert_int_eq(when_s, utc_s);
	}

	/* After the last entry. */
	ck_assert_int_eq(leap_tai_utc(t, UTC_2017_S + 10 * 365 * DAY_S), 37);
	ck_assert_int_eq(leap_tai_utc(t, INT64_MAX), 37);
	ck_assert_int_eq(leap_next(t, UTC_2017_S, &when_s, &dir), -ENOENT);
	ck_assert_int_eq(leap_at_day_end(t, INT64_MAX), 0);
	ck_assert_int_eq(leap_at_day_end(t, INT64_MIN), 0);
	leap_free(t);
}
END_TEST

/* Over every day from 1960 to 2040, only the 27 leap days answer non-zero. */
START_TEST(test_at_day_end_only_on_leap_days)
{
	struct leap_table *t = load_ok(env_path("PHCSYNC_LEAP_LIST"));
	int leap_days = 0;

	for (int64_t day_s = -3653LL * DAY_S; day_s < 25567LL * DAY_S; day_s += DAY_S) {
		int at_noon = leap_at_day_end(t, day_s + DAY_S / 2);

		ck_assert_int_eq(leap_at_day_end(t, day_s), at_noon);
		ck_assert_int_eq(leap_at_day_end(t, day_s + DAY_S - 1), at_noon);
		if (at_noon) {
			ck_assert_int_eq(at_noon, 1);
			ck_assert_int_eq(leap_tai_utc(t, day_s + DAY_S) - leap_tai_utc(t, day_s),
					 1);
			leap_days++;
		}
	}
	ck_assert_int_eq(leap_days, 27);
	leap_free(t);
}
END_TEST

static void check_future(const char *file, int dir_want)
{
	struct leap_table *t = load_ok(data_path(file));
	int64_t when_s;
	int dir;

	ck_assert_uint_eq(leap_count(t), 29);
	ck_assert_int_eq(leap_expiry(t), UTC_2028_06_28_S);
	ck_assert(!leap_expired(t, UTC_2027_07_01_S));
	ck_assert_int_eq(leap_next(t, UTC_2026_06_01_S, &when_s, &dir), 0);
	ck_assert_int_eq(when_s, UTC_2027_07_01_S);
	ck_assert_int_eq(dir, dir_want);
	ck_assert_int_eq(leap_at_day_end(t, UTC_2027_07_01_S - DAY_S - 1), 0);
	ck_assert_int_eq(leap_at_day_end(t, UTC_2027_07_01_S - DAY_S), dir_want);
	ck_assert_int_eq(leap_at_day_end(t, UTC_2027_07_01_S - 1), dir_want);
	ck_assert_int_eq(leap_at_day_end(t, UTC_2027_07_01_S), 0);
	ck_assert_int_eq(leap_tai_utc(t, UTC_2027_07_01_S - 1), 37);
	ck_assert_int_eq(leap_tai_utc(t, UTC_2027_07_01_S), 37 + dir_want);
	ck_assert_int_eq(leap_next(t, UTC_2027_07_01_S, &when_s, &dir), -ENOENT);
	leap_free(t);
}

START_TEST(test_future_insert)
{
	check_future("future-insert.list", 1);
}
END_TEST

START_TEST(test_future_delete)
{
	check_future("future-delete.list", -1);
}
END_TEST

/* A version 4 TZif with the same leaps and expiry gives the same table as each list. */
START_TEST(test_tzif_v4_matches_future_lists)
{
	static const char *const files[] = {"future-insert.list", "future-delete.list"};

	for (size_t f = 0; f < 2; f++) {
		struct leap_table *list = load_ok(data_path(files[f])), *tzif;
		unsigned char buf[4096];
		struct rec r[LEAP_ENTRIES_MAX];
		size_t n = records_of(list, r, true);

		tzif = parse_ok((const char *)buf, build_tzif(buf, '4', r, n));
		assert_same_entries(list, tzif);
		ck_assert_int_eq(leap_expiry(tzif), UTC_2028_06_28_S);
		leap_free(tzif);

		/* Version 1 data only, without the expiry record. */
		tzif = parse_ok((const char *)buf, build_tzif(buf, '\0', r, n - 1));
		assert_same_entries(list, tzif);
		ck_assert_int_eq(leap_expiry(tzif), 0);
		leap_free(tzif);

		/* Before version 4 an unchanged correction is an error, not an expiry. */
		parse_fails(buf, build_tzif(buf, '3', r, n), -EINVAL,
			    "correction does not change by exactly +1 or -1 s (leap record 29)");
		leap_free(list);
	}
}
END_TEST

/* The committed crafted files carry correct hashes, except bad-hash.list. */
START_TEST(test_crafted_files_hashes)
{
	static const char *const files[] = {"future-insert.list", "future-delete.list",
					    "expired.list", "non-monotonic.list", "step-2.list"};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t len;
		char *text = read_all(data_path(files[i]), &len);
		char *fixed = rehash(text);

		ck_assert_msg(!strcmp(text, fixed), "%s: #h is not the hash of its data", files[i]);
		free(fixed);
		free(text);
	}
}
END_TEST

START_TEST(test_expired)
{
	struct leap_table *t = load_ok(data_path("expired.list"));

	ck_assert_uint_eq(leap_count(t), 28);
	ck_assert_int_eq(leap_expiry(t), 3786480000LL - NTP_UNIX_OFFSET_S);
	ck_assert(leap_expired(t, UTC_2026_06_01_S));
	ck_assert(leap_expires_within(t, UTC_2026_06_01_S, 0));
	leap_free(t);
}
END_TEST

START_TEST(test_bad_files)
{
	load_fails("bad-hash.list", -EINVAL,
		   "hash mismatch: the data is not what #h was computed over (line 36)");
	load_fails("truncated.list", -EINVAL,
		   "no #h hash line at the end (file truncated?) (line 26)");
	load_fails("non-monotonic.list", -EINVAL, "date not after the previous entry's (line 19)");
	load_fails("step-2.list", -EINVAL,
		   "TAI-UTC does not change by exactly +1 or -1 s (line 8)");
	load_fails("empty.list", -EINVAL, "empty file");
	load_fails("junk.bin", -EINVAL,
		   "binary data, not a leap-seconds.list or TZif file (line 1)");
	load_fails("missing.list", -ENOENT, "cannot open: No such file or directory");
	load_fails("", -EISDIR, "cannot read: Is a directory");
}
END_TEST

/* A failed reload keeps the table the caller had. */
START_TEST(test_failed_load_keeps_table)
{
	struct leap_table *t = load_ok(env_path("PHCSYNC_LEAP_LIST")), *old = t;

	ck_assert_int_eq(leap_load(data_path("bad-hash.list"), &t, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_eq(t, old);
	ck_assert_uint_eq(leap_count(t), 28);
	leap_free(t);
}
END_TEST

START_TEST(test_size_limit)
{
	size_t len, pad;
	char *text = read_all(env_path("PHCSYNC_LEAP_LIST"), &len);
	char *big = malloc(LEAP_FILE_MAX + 1);
	char path[] = "/tmp/test_leap_XXXXXX";
	struct leap_table *t;
	int fd;

	ck_assert_ptr_nonnull(big);
	/* Exactly at the limit: comment lines pad the real file, which still parses. */
	pad = LEAP_FILE_MAX - len;
	memset(big, '#', pad);
	for (size_t i = 79; i < pad; i += 80)
		big[i] = '\n';
	big[pad - 1] = '\n';
	memcpy(big + pad, text, len);
	t = parse_ok(big, LEAP_FILE_MAX);
	ck_assert_uint_eq(leap_count(t), 28);
	leap_free(t);

	big[LEAP_FILE_MAX] = '\n';
	parse_fails(big, LEAP_FILE_MAX + 1, -EFBIG, "too large (more than 1048576 bytes)");

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, LEAP_FILE_MAX + 1), 0);
	t = NULL;
	ck_assert_int_eq(leap_load(path, &t, err, sizeof(err)), -EFBIG);
	ck_assert_ptr_null(t);
	ck_assert_ptr_nonnull(strstr(err, ": too large (more than 1048576 bytes)"));
	unlink(path);
	close(fd);
	free(big);
	free(text);
}
END_TEST

/* Hand-made lists, each rehashed so that only the intended fault remains. */
START_TEST(test_list_errors)
{
	static const struct {
		const char *old, *new, *what;
	} cases[] = {
		{"2272060800      10", "2272060800      11",
		 "the first entry must be 1972-01-01 with TAI-UTC 10 s (line 86)"},
		{"2272060800      10", "2287785600      10",
		 "the first entry must be 1972-01-01 with TAI-UTC 10 s (line 86)"},
		{"2287785600      11", "2287872000      11",
		 "date not at 00:00:00 UTC on the first of a month (line 87)"},
		{"2287785600      11", "2287785601      11",
		 "date not at 00:00:00 UTC on the first of a month (line 87)"},
		{"3692217600      37", "3692217600      36",
		 "TAI-UTC does not change by exactly +1 or -1 s (line 113)"},
		{"3692217600      37", "3692217600      37 x",
		 "expected 'NTP-seconds TAI-UTC [# comment]' (line 113)"},
		{"3692217600      37", "3692217600",
		 "expected 'NTP-seconds TAI-UTC [# comment]' (line 113)"},
		{"3692217600      37", "3692217600#37",
		 "expected 'NTP-seconds TAI-UTC [# comment]' (line 113)"},
		{"3692217600      37", "36922176000000      37",
		 "expected 'NTP-seconds TAI-UTC [# comment]' (line 113)"},
		{"3692217600      37", "-3692217600      37",
		 "expected 'NTP-seconds TAI-UTC [# comment]' (line 113)"},
		{"#@\t4023129600", "#@\t4023129600\n#@\t4023129600", "second #@ line (line 72)"},
		{"#$\t3992312697", "#$\t3992312697 1", "expected '#$ NTP-seconds' (line 63)"},
		{"#@\t4023129600", "#@", "expected '#@ NTP-seconds' (line 71)"},
		{"#@\t4023129600", "#@\t3692217600", "expiry not after the last entry (line 71)"},
		{"#@\t4023129600", "#", "no #@ (expiry) line"},
		{"#$\t3992312697", "#", "no #$ (last update) line"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = debian_list_with(cases[i].old, cases[i].new);

		parse_fails(text, strlen(text), -EINVAL, cases[i].what);
		free(text);
	}
}
END_TEST

/* One entry a month from 1972, TAI-UTC alternating 10 and 11 s: refused after the limit. */
START_TEST(test_list_too_many_entries)
{
	size_t size = 64 + (LEAP_ENTRIES_MAX + 1) * 32;
	char *text = malloc(size), *hashed;
	int len = snprintf(text, size, "#$\t%lld\n#@\t%lld\n", 3960835200LL, 3991593600LL);

	ck_assert_ptr_nonnull(text);
	for (int i = 0; i <= LEAP_ENTRIES_MAX; i++) {
		struct tm tm = {.tm_year = 72 + i / 12, .tm_mon = i % 12, .tm_mday = 1};

		len += snprintf(text + len, size - (size_t)len, "%lld %d\n",
				(long long)timegm(&tm) + NTP_UNIX_OFFSET_S, 10 + i % 2);
	}
	hashed = rehash(text);
	parse_fails(hashed, strlen(hashed), -EINVAL, "too many entries (line 515)");

	/* The same without the last entry is within the limit. */
	*strrchr(text, '\n') = '\0';
	*(strrchr(text, '\n') + 1) = '\0';
	free(hashed);
	hashed = rehash(text);
	leap_free(parse_ok(hashed, strlen(hashed)));
	free(hashed);
	free(text);
}
END_TEST

START_TEST(test_list_hash_line)
{
	char *text = debian_list_with("#$", "#$"), *h = strstr(text, "#h\t");
	size_t len;
	struct leap_table *t;

	ck_assert_ptr_nonnull(h);
	t = parse_ok(text, strlen(text));
	leap_free(t);

	/* A word may drop its leading zeros: "0abc" is the word 0x00000abc. */
	memcpy(h + 3, "00000abc", 8);
	parse_fails(text, strlen(text), -EINVAL,
		    "hash mismatch: the data is not what #h was computed over (line 120)");
	memcpy(h + 3, "     abc", 8);
	parse_fails(text, strlen(text), -EINVAL,
		    "hash mismatch: the data is not what #h was computed over (line 120)");
	memcpy(h + 3, "00000abg", 8);
	parse_fails(text, strlen(text), -EINVAL, "expected '#h' and five hex words (line 120)");
	strcpy(h + 3, "1 2 3 4");
	parse_fails(text, strlen(text), -EINVAL, "expected '#h' and five hex words (line 120)");
	strcpy(h + 3, "1 2 3 4 5 6");
	parse_fails(text, strlen(text), -EINVAL, "expected '#h' and five hex words (line 120)");
	strcpy(h + 3, "1 2 3 4 123456789");
	parse_fails(text, strlen(text), -EINVAL, "expected '#h' and five hex words (line 120)");
	free(text);

	text = replace(read_all(env_path("PHCSYNC_LEAP_LIST"), &len), "#@", "#h 1 2 3 4 5\n#@");
	parse_fails(text, strlen(text), -EINVAL, "second #h line (line 121)");
	free(text);
}
END_TEST

/* Whatever a list loses at its end, it is refused; CRLF line ends are fine. */
START_TEST(test_list_truncated_anywhere)
{
	size_t len, lines = 0;
	char *text = read_all(env_path("PHCSYNC_LEAP_LIST"), &len);
	char *crlf = malloc(2 * len + 1), *o = crlf;
	const char *hash_at = strstr(text, "#h");
	struct leap_table *t;

	for (size_t cut = 0; cut < len; cut++) {
		t = NULL;
		/* Only a missing final newline or trailing blanks leave a whole file. */
		if (cut >= (size_t)(hash_at - text) + 47)
			continue;
		ck_assert_int_lt(leap_parse(text, cut, "test", &t, err, sizeof(err)), 0);
		ck_assert_ptr_null(t);
	}
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n') {
			*o++ = '\r';
			lines++;
		}
		*o++ = text[i];
	}
	t = parse_ok(crlf, (size_t)(o - crlf));
	ck_assert_uint_eq(leap_count(t), 28);
	ck_assert_uint_eq(lines, 120);
	leap_free(t);
	free(crlf);
	free(text);
}
END_TEST

START_TEST(test_tzif_errors)
{
	struct leap_table *list = load_ok(env_path("PHCSYNC_LEAP_LIST"));
	unsigned char buf[4096];
	struct rec r[LEAP_ENTRIES_MAX];
	size_t n = records_of(list, r, false), len;

	ck_assert_uint_eq(n, 27);
	len = build_tzif(buf, '2', r, 0);
	parse_fails(buf, len, -EINVAL,
		    "no leap second records (not a right/ zone such as right/UTC)");

	len = build_tzif(buf, '2', r, n);
	buf[len - 6] = 'X';
	parse_fails(buf, len, -EINVAL, "bad TZif footer");

	len = build_tzif(buf, '5', r, n);
	parse_fails(buf, len, -EINVAL, "unsupported TZif version");

	r[3].corr += 1;
	len = build_tzif(buf, '2', r, n);
	parse_fails(buf, len, -EINVAL,
		    "correction does not change by exactly +1 or -1 s (leap record 4)");
	r[3].corr -= 1;

	r[3].occ = r[2].occ;
	len = build_tzif(buf, '2', r, n);
	parse_fails(buf, len, -EINVAL, "occurrence not after the previous one (leap record 4)");
	r[3].occ = r[2].occ + 60;
	len = build_tzif(buf, '2', r, n);
	parse_fails(buf, len, -EINVAL,
		    "date not at 00:00:00 UTC on the first of a month (leap record 4)");
	n = records_of(list, r, false);

	r[0].corr = 5;
	len = build_tzif(buf, '4', r, n);
	parse_fails(buf, len, -EINVAL,
		    "table truncated at the start (correction 5) (leap record 1)");
	records_of(list, r, false);

	/* 1970-02-01: a leap second before the table's first entry. */
	r[0].occ = 2678400;
	len = build_tzif(buf, '2', r, 1);
	parse_fails(buf, len, -EINVAL, "date not after the previous entry's (leap record 1)");

	/* Junk after the magic: whatever the counts say, no read goes past the end. */
	for (unsigned seed = 1; seed <= 200; seed++) {
		struct leap_table *t = NULL;
		struct sim_rng rng;

		sim_rng_seed(&rng, seed, 0);
		memcpy(buf, "TZif2", 5);
		for (size_t i = 5; i < 200; i++)
			buf[i] = (unsigned char)(sim_rng_next(&rng) % (seed % 4 ? 4 : 256));
		ck_assert_int_eq(leap_parse(buf, 200, "test", &t, err, sizeof(err)), -EINVAL);
		ck_assert_ptr_null(t);
	}
	leap_free(list);
}
END_TEST

/* Every prefix of Debian's right/UTC is refused as truncated. */
START_TEST(test_tzif_truncated_anywhere)
{
	size_t len;
	char *real = read_all(env_path("PHCSYNC_LEAP_TZIF"), &len);

	for (size_t cut = 4; cut < len; cut++) {
		struct leap_table *t = NULL;

		ck_assert_int_eq(leap_parse(real, cut, "right/UTC", &t, err, sizeof(err)), -EINVAL);
		ck_assert_ptr_null(t);
		ck_assert_msg(strncmp(err, "right/UTC: truncated TZif ", 26) == 0, "%zu: %s", cut,
			      err);
	}
	free(real);
}
END_TEST

/* Records near the ends of int64: refused by range, with no overflow on the way. */
START_TEST(test_tzif_extreme_records)
{
	unsigned char buf[4096];
	struct leap_table *t;
	struct rec r[2];
	int64_t utc_s;
	int tai;

	/* A deletion, then a version 4 expiry at INT64_MAX: less the correction -1 it would
	 * wrap to INT64_MIN. */
	r[0] = (struct rec){UTC_2017_S - 1, -1};
	r[1] = (struct rec){INT64_MAX, -1};
	parse_fails(buf, build_tzif(buf, '4', r, 2), -EINVAL,
		    "occurrence 9223372036854775807 after the year 9999 (leap record 2)");
	r[0] = (struct rec){INT64_MAX - 1, -1};
	parse_fails(buf, build_tzif(buf, '4', r, 1), -EINVAL,
		    "occurrence 9223372036854775806 after the year 9999 (leap record 1)");
	r[0] = (struct rec){INT64_MIN, 1};
	parse_fails(buf, build_tzif(buf, '4', r, 1), -EINVAL,
		    "occurrence not after the previous one (leap record 1)");

	/* The last date allowed: an insertion ending 9999-12-31, and one second more. */
	r[0] = (struct rec){253402300800LL, 1};
	t = parse_ok((const char *)buf, build_tzif(buf, '2', r, 1));
	ck_assert_int_eq(leap_entry(t, 1, &utc_s, &tai), 0);
	ck_assert_int_eq(utc_s, 253402300800LL);
	ck_assert_int_eq(tai, 11);
	leap_free(t);
	r[0].occ++;
	parse_fails(buf, build_tzif(buf, '2', r, 1), -EINVAL,
		    "occurrence 253402300801 after the year 9999 (leap record 1)");
}
END_TEST

/* RFC 8536: typecnt and charcnt must not be zero, in either header. */
START_TEST(test_tzif_zero_counts)
{
	struct leap_table *list = load_ok(env_path("PHCSYNC_LEAP_LIST"));
	unsigned char buf[8192];
	struct rec r[LEAP_ENTRIES_MAX];
	size_t n = records_of(list, r, false);
	static const char *const versions = "\0"
					    "234";

	for (size_t v = 0; v < 4; v++) {
		tzif_typecnt = 0;
		parse_fails(buf, build_tzif(buf, versions[v], r, n), -EINVAL,
			    "no local time type or no abbreviation (RFC 8536 requires both)");
		tzif_typecnt = 1;
		tzif_charcnt = 0;
		parse_fails(buf, build_tzif(buf, versions[v], r, n), -EINVAL,
			    "no local time type or no abbreviation (RFC 8536 requires both)");
		/* Larger counts only move the leap records. */
		tzif_typecnt = 3;
		tzif_charcnt = 9;
		leap_free(parse_ok((const char *)buf, build_tzif(buf, versions[v], r, n)));
		tzif_typecnt = 1;
		tzif_charcnt = 4;
	}
	/* Only the version 2+ header is zero. */
	{
		size_t len = build_tzif(buf, '2', r, n);
		size_t v1 = 44 + 6 + 4 + n * 8;

		ck_assert_int_eq(buf[v1 + 39], 1);
		buf[v1 + 39] = 0;
		parse_fails(buf, len, -EINVAL,
			    "no local time type or no abbreviation (RFC 8536 requires both)");
	}
	leap_free(list);
}
END_TEST

/* A version 4 expiry must come after the last leap, as the list parser wants too. */
START_TEST(test_tzif_expiry_not_after_last_leap)
{
	static const char *const files[] = {"future-insert.list", "future-delete.list"};

	for (size_t f = 0; f < 2; f++) {
		struct leap_table *list = load_ok(data_path(files[f])), *t;
		unsigned char buf[4096];
		struct rec r[LEAP_ENTRIES_MAX];
		size_t n = records_of(list, r, true);
		int64_t last_s;
		int tai;

		leap_entry(list, leap_count(list) - 1, &last_s, &tai);
		/* At the last leap: after an insertion its record may say so, after a
		 * deletion the occurrences would already be equal. */
		r[n - 1].occ = last_s + r[n - 1].corr;
		parse_fails(buf, build_tzif(buf, '4', r, n), -EINVAL,
			    f == 0 ? "expiry not after the last leap (leap record 29)"
				   : "occurrence not after the previous one (leap record 29)");
		r[n - 1].occ++;
		t = parse_ok((const char *)buf, build_tzif(buf, '4', r, n));
		ck_assert_int_eq(leap_expiry(t), last_s + 1);
		leap_free(t);
		leap_free(list);
	}
}
END_TEST

/* Digits moved between #$ and #@ keep the hash: the dates themselves are refused. */
START_TEST(test_list_moved_digits)
{
	size_t len;
	char *text = read_all(env_path("PHCSYNC_LEAP_LIST"), &len);

	/* Update 1912, expiry 4245. */
	text = replace(text, "#$\t3992312697", "#$\t399231269");
	text = replace(text, "#@\t4023129600", "#@\t74023129600");
	parse_fails(text, strlen(text), -EINVAL,
		    "last update (#$) 1912-08-26 not between 1972 and 9999 (line 63)");
	free(text);

	/* Update 3235, expiry 1900: before the last leap. */
	text = read_all(env_path("PHCSYNC_LEAP_LIST"), &len);
	text = replace(text, "#$\t3992312697", "#$\t39923126974");
	text = replace(text, "#@\t4023129600", "#@\t023129600");
	parse_fails(text, strlen(text), -EINVAL, "expiry not after the last entry (line 71)");
	free(text);
}
END_TEST

/* Two edits, then rehashed: only the dates are wrong. */
static char *debian_list_with2(const char *old1, const char *new1, const char *old2,
			       const char *new2)
{
	size_t len;
	char *edited = replace(read_all(env_path("PHCSYNC_LEAP_LIST"), &len), old1, new1);
	char *out;

	edited = replace(edited, old2, new2);
	out = rehash(edited);
	free(edited);
	return out;
}

/* The bounds on the update and expiry dates, each at its edge and one second past. */
START_TEST(test_list_date_bounds)
{
	static const struct {
		const char *updated, *expiry, *what;
	} cases[] = {
		/* The update no earlier than 1972. */
		{"2272060800", "2272060801", "expiry not after the last entry (line 71)"},
		{"2272060799", "4023129600",
		 "last update (#$) 1971-12-31 not between 1972 and 9999 (line 63)"},
		/* The expiry after the update, at most 1096 days. */
		{"3992312697", "4087007097", NULL},
		{"3992312697", "4087007098",
		 "expiry (#@) 2029-07-06 not within 1096 days after the last update (#$) "
		 "2026-07-06 (line 71)"},
		{"3992312697", "3992312697",
		 "expiry (#@) 2026-07-06 not within 1096 days after the last update (#$) "
		 "2026-07-06 (line 71)"},
		{"3692217700", "3692217600", "expiry not after the last entry (line 71)"},
		/* The last leap (2017-01-01) at most 731 days after the update. */
		{"3629059200", "3692304000", NULL},
		{"3629059199", "3692304000",
		 "last leap 2017-01-01 more than 731 days after the last update (#$) 2014-12-31 "
		 "(line 63)"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char updated[32], expiry[32], *text;

		snprintf(updated, sizeof(updated), "#$\t%s", cases[i].updated);
		snprintf(expiry, sizeof(expiry), "#@\t%s", cases[i].expiry);
		text = debian_list_with2("#$\t3992312697", updated, "#@\t4023129600", expiry);
		if (cases[i].what) {
			parse_fails(text, strlen(text), -EINVAL, cases[i].what);
		} else {
			struct leap_table *t = parse_ok(text, strlen(text));

			ck_assert_int_eq(leap_updated(t),
					 strtoll(cases[i].updated, NULL, 10) - NTP_UNIX_OFFSET_S);
			ck_assert_int_eq(leap_expiry(t),
					 strtoll(cases[i].expiry, NULL, 10) - NTP_UNIX_OFFSET_S);
			leap_free(t);
		}
		free(text);
	}
}
END_TEST

static Suite *leap_suite(void)
{
	Suite *s = suite_create("leap");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_installed_list);
	tcase_add_test(tc, test_debian_list);
	tcase_add_test(tc, test_debian_tzif_matches_list);
	tcase_add_test(tc, test_tzif_records_rule_matches_zic);
	tcase_add_test(tc, test_lookups_around_every_leap);
	tcase_add_test(tc, test_at_day_end_only_on_leap_days);
	tcase_add_test(tc, test_future_insert);
	tcase_add_test(tc, test_future_delete);
	tcase_add_test(tc, test_tzif_v4_matches_future_lists);
	tcase_add_test(tc, test_crafted_files_hashes);
	tcase_add_test(tc, test_expired);
	tcase_add_test(tc, test_bad_files);
	tcase_add_test(tc, test_failed_load_keeps_table);
	tcase_add_test(tc, test_size_limit);
	tcase_add_test(tc, test_list_errors);
	tcase_add_test(tc, test_list_too_many_entries);
	tcase_add_test(tc, test_list_hash_line);
	tcase_add_test(tc, test_list_truncated_anywhere);
	tcase_add_test(tc, test_tzif_errors);
	tcase_add_test(tc, test_tzif_truncated_anywhere);
	tcase_add_test(tc, test_tzif_extreme_records);
	tcase_add_test(tc, test_tzif_zero_counts);
	tcase_add_test(tc, test_tzif_expiry_not_after_last_leap);
	tcase_add_test(tc, test_list_moved_digits);
	tcase_add_test(tc, test_list_date_bounds);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(leap_suite)
