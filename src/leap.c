/* SPDX-License-Identifier: BSD-2-Clause */
/* Leap second table from leap-seconds.list (IERS/IETF) or a TZif file (RFC 8536/9636). */
#include "phcsync/leap.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nettle/sha1.h>

#define DAY_S 86400
/* NTP era 0 starts 70 years (17 of them leap years) before the UNIX epoch. */
#define NTP_UNIX_OFFSET_S 2208988800LL
/* Every table starts with 1972-01-01, when UTC took its current form with TAI-UTC 10 s. */
#define FIRST_UTC_S 63072000LL
#define FIRST_TAI_UTC_S 10
/* 12 decimal digits reach past the year 30000; more would only risk overflow. */
#define NUMBER_DIGITS_MAX 12

#define TZIF_HEADER_SIZE 44
/* 10000-01-01: no table date may be later, which also keeps date arithmetic in range. */
#define LAST_UTC_S 253402300800LL
/* IERS announces a leap about six months ahead and a list is good for about a year; the
 * bounds leave room for that without accepting dates moved from one stamp to the other. */
#define ANNOUNCE_MAX_S (731LL * DAY_S)
#define EXPIRY_SPAN_MAX_S (1096LL * DAY_S)

struct leap_entry {
	int64_t utc_s;
	int tai_utc_s;
};

struct leap_table {
	enum leap_format format;
	size_t count;
	int64_t expiry_s;
	int64_t updated_s;
	struct leap_entry entries[LEAP_ENTRIES_MAX];
};

/* Format "NAME: message (where N)" into err (where is NULL for no location); returns ret. */
__attribute__((format(printf, 7, 8))) static int fail(char *err, size_t errlen, int ret,
						      const char *name, const char *where, size_t n,
						      const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (where)
		snprintf(err, errlen, "%s: %s (%s %zu)", name, msg, where, n);
	else
		snprintf(err, errlen, "%s: %s", name, msg);
	return ret;
}

static bool first_of_month(int64_t utc_s)
{
	time_t t = (time_t)utc_s;
	struct tm tm;

	if ((int64_t)t != utc_s || !gmtime_r(&t, &tm))
		return false;
	return tm.tm_mday == 1 && tm.tm_hour == 0 && tm.tm_min == 0 && tm.tm_sec == 0;
}

/* utc_s as YYYY-MM-DD for messages, or the number when gmtime cannot say. */
static void date(char buf[32], int64_t utc_s)
{
	time_t t = (time_t)utc_s;
	struct tm tm;

	if ((int64_t)t != utc_s || !gmtime_r(&t, &tm) || !strftime(buf, 32, "%Y-%m-%d", &tm))
		snprintf(buf, 32, "%" PRId64, utc_s);
}

/*
 * Add an entry after checking it against the previous one. Returns NULL or what is wrong;
 * a leap entry must start a month so that its leap second ends the month before.
 */
static const char *add_entry(struct leap_table *t, int64_t utc_s, int64_t tai_utc_s)
{
	const struct leap_entry *prev = t->count ? &t->entries[t->count - 1] : NULL;

	if (t->count == LEAP_ENTRIES_MAX)
		return "too many entries";
	if (!prev && (utc_s != FIRST_UTC_S || tai_utc_s != FIRST_TAI_UTC_S))
		return "the first entry must be 1972-01-01 with TAI-UTC 10 s";
	if (prev && utc_s <= prev->utc_s)
		return "date not after the previous entry's";
	if (prev && tai_utc_s != prev->tai_utc_s + 1 && tai_utc_s != prev->tai_utc_s - 1)
		return "TAI-UTC does not change by exactly +1 or -1 s";
	if (!first_of_month(utc_s))
		return "date not at 00:00:00 UTC on the first of a month";
	t->entries[t->count].utc_s = utc_s;
	t->entries[t->count].tai_utc_s = (int)tai_utc_s;
	t->count++;
	return NULL;
}

/* leap-seconds.list: a cursor over one line. */
struct line {
	const char *p;
	const char *end;
};

static void skip_blanks(struct line *l)
{
	while (l->p < l->end && (*l->p == ' ' || *l->p == '\t'))
		l->p++;
}

/* Read an unsigned decimal number and feed its digits to the hash, as the format wants. */
static bool take_number(struct line *l, int64_t *value, struct sha1_ctx *hash)
{
	const char *start = l->p;
	int64_t v = 0;

	while (l->p < l->end && *l->p >= '0' && *l->p <= '9') {
		if (l->p - start == NUMBER_DIGITS_MAX)
			return false;
		v = v * 10 + (*l->p - '0');
		l->p++;
	}
	if (l->p == start)
		return false;
	sha1_update(hash, (size_t)(l->p - start), (const uint8_t *)start);
	*value = v;
	return true;
}

/* "#h" carries five 32-bit words in hex; a word may drop its leading zeros. */
static bool take_hash(struct line *l, uint8_t digest[SHA1_DIGEST_SIZE])
{
	for (int w = 0; w < SHA1_DIGEST_SIZE / 4; w++) {
		const char *start;
		uint32_t v = 0;

		skip_blanks(l);
		start = l->p;
		while (l->p < l->end && l->p - start < 9) {
			char c = *l->p;
			int d;

			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				break;
			v = v << 4 | (uint32_t)d;
			l->p++;
		}
		if (l->p == start || l->p - start > 8)
			return false;
		digest[4 * w] = (uint8_t)(v >> 24);
		digest[4 * w + 1] = (uint8_t)(v >> 16);
		digest[4 * w + 2] = (uint8_t)(v >> 8);
		digest[4 * w + 3] = (uint8_t)v;
	}
	skip_blanks(l);
	return l->p == l->end;
}

/* A "#$" or "#@" line: one NTP time. */
static bool take_stamp(struct line *l, int64_t *utc_s, struct sha1_ctx *hash)
{
	int64_t ntp_s;

	l->p += 2;
	skip_blanks(l);
	if (!take_number(l, &ntp_s, hash))
		return false;
	skip_blanks(l);
	if (l->p != l->end)
		return false;
	*utc_s = ntp_s - NTP_UNIX_OFFSET_S;
	return true;
}

/* A data line: "NTP-seconds TAI-UTC", then blanks or a comment. */
static bool take_entry(struct line *l, int64_t *utc_s, int64_t *tai_utc_s, struct sha1_ctx *hash)
{
	const char *gap;
	int64_t ntp_s;

	if (!take_number(l, &ntp_s, hash))
		return false;
	gap = l->p;
	skip_blanks(l);
	if (l->p == gap || !take_number(l, tai_utc_s, hash))
		return false;
	skip_blanks(l);
	*utc_s = ntp_s - NTP_UNIX_OFFSET_S;
	return l->p == l->end || *l->p == '#';
}

static int parse_list(const char *text, size_t len, const char *name, struct leap_table *t,
		      char *err, size_t errlen)
{
	uint8_t want[SHA1_DIGEST_SIZE], got[SHA1_DIGEST_SIZE];
	char updated[32], expiry[32], last[32];
	size_t updated_line = 0, expiry_line = 0, hash_line = 0, n = 0;
	const char *p = text, *end = text + len;
	struct sha1_ctx hash;

	for (const char *c = text; c < end; c++) {
		unsigned char u = (unsigned char)*c;

		if (*c == '\n')
			n++;
		else if ((u < ' ' && *c != '\t' && *c != '\r') || u == 0x7f)
			return fail(err, errlen, -EINVAL, name, "line", n + 1,
				    "binary data, not a leap-seconds.list or TZif file");
	}

	sha1_init(&hash);
	for (n = 1; p < end; n++) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		struct line l = {p, eol ? eol : end};
		int64_t utc_s, tai_utc_s;
		const char *why;

		p = eol ? eol + 1 : end;
		if (l.end > l.p && l.end[-1] == '\r')
			l.end--;
		if (l.p < l.end && *l.p == '#') {
			char tag = l.end - l.p > 1 ? l.p[1] : '\0';

			if (tag == '$' || tag == '@') {
				size_t *seen = tag == '$' ? &updated_line : &expiry_line;

				if (*seen)
					return fail(err, errlen, -EINVAL, name, "line", n,
						    "second #%c line", tag);
				if (!take_stamp(&l, tag == '$' ? &t->updated_s : &t->expiry_s,
						&hash))
					return fail(err, errlen, -EINVAL, name, "line", n,
						    "expected '#%c NTP-seconds'", tag);
				*seen = n;
			} else if (tag == 'h') {
				if (hash_line)
					return fail(err, errlen, -EINVAL, name, "line", n,
						    "second #h line");
				l.p += 2;
				if (!take_hash(&l, want))
					return fail(err, errlen, -EINVAL, name, "line", n,
						    "expected '#h' and five hex words");
				hash_line = n;
			}
			continue;
		}
		skip_blanks(&l);
		if (l.p == l.end)
			continue;
		if (!take_entry(&l, &utc_s, &tai_utc_s, &hash))
			return fail(err, errlen, -EINVAL, name, "line", n,
				    "expected 'NTP-seconds TAI-UTC [# comment]'");
		why = add_entry(t, utc_s, tai_utc_s);
		if (why)
			return fail(err, errlen, -EINVAL, name, "line", n, "%s", why);
	}

	if (!t->count)
		return fail(err, errlen, -EINVAL, name, NULL, 0, "no leap second entries");
	if (!hash_line)
		return fail(err, errlen, -EINVAL, name, "line", n - 1,
			    "no #h hash line at the end (file truncated?)");
	if (!updated_line)
		return fail(err, errlen, -EINVAL, name, NULL, 0, "no #$ (last update) line");
	if (!expiry_line)
		return fail(err, errlen, -EINVAL, name, NULL, 0, "no #@ (expiry) line");
	if (t->expiry_s <= t->entries[t->count - 1].utc_s)
		return fail(err, errlen, -EINVAL, name, "line", expiry_line,
			    "expiry not after the last entry");
	sha1_digest(&hash, sizeof(got), got);
	if (memcmp(want, got, sizeof(got)))
		return fail(err, errlen, -EINVAL, name, "line", hash_line,
			    "hash mismatch: the data is not what #h was computed over");
	/* The hash covers the digits only, so it cannot tell a date from another made of the
	 * same digits moved between the #$ and #@ lines: the dates must also make sense. */
	date(updated, t->updated_s);
	date(expiry, t->expiry_s);
	date(last, t->entries[t->count - 1].utc_s);
	if (t->updated_s < FIRST_UTC_S || t->updated_s >= LAST_UTC_S)
		return fail(err, errlen, -EINVAL, name, "line", updated_line,
			    "last update (#$) %s not between 1972 and 9999", updated);
	if (t->expiry_s <= t->updated_s || t->expiry_s - t->updated_s > EXPIRY_SPAN_MAX_S)
		return fail(err, errlen, -EINVAL, name, "line", expiry_line,
			    "expiry (#@) %s not within %lld days after the last update (#$) %s",
			    expiry, EXPIRY_SPAN_MAX_S / DAY_S, updated);
	if (t->entries[t->count - 1].utc_s - t->updated_s > ANNOUNCE_MAX_S)
		return fail(err, errlen, -EINVAL, name, "line", updated_line,
			    "last leap %s more than %lld days after the last update (#$) %s", last,
			    ANNOUNCE_MAX_S / DAY_S, updated);
	return 0;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_header {
	char version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

/* The caller has checked the magic "TZif". */
static void tzif_header(const unsigned char *p, struct tzif_header *h)
{
	h->version = (char)p[4];
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
}

/* Size of the data block after a header, with time_size-byte times (4 in v1, 8 after). */
static uint64_t tzif_block_size(const struct tzif_header *h, unsigned time_size)
{
	return (uint64_t)h->timecnt * (time_size + 1) + (uint64_t)h->typecnt * 6 + h->charcnt +
	       (uint64_t)h->leapcnt * (time_size + 4) + h->isstdcnt + h->isutcnt;
}

/*
 * Leap records hold the occurrence in "UNIX leap time" (counting earlier leap seconds) and
 * the total correction from then on. An inserted second occurs at 23:59:60, a deleted one
 * at 23:59:59, so the UTC midnight after it is the occurrence less the earlier corrections,
 * plus one for a deletion.
 */
static int tzif_leaps(const unsigned char *rec, const struct tzif_header *h, unsigned time_size,
		      const char *name, struct leap_table *t, char *err, size_t errlen)
{
	int64_t prev_occ = -1, prev_corr = 0;

	if (!h->leapcnt)
		return fail(err, errlen, -EINVAL, name, NULL, 0,
			    "no leap second records (not a right/ zone such as right/UTC)");
	t->entries[0].utc_s = FIRST_UTC_S;
	t->entries[0].tai_utc_s = FIRST_TAI_UTC_S;
	t->count = 1;
	for (uint32_t i = 0; i < h->leapcnt; i++, rec += time_size + 4) {
		int64_t occ = time_size == 8 ? be64(rec) : (int32_t)be32(rec);
		int64_t corr = (int32_t)be32(rec + time_size), dir = corr - prev_corr;
		const char *why;

		if (occ <= prev_occ)
			return fail(err, errlen, -EINVAL, name, "leap record", i + 1,
				    "occurrence not after the previous one");
		/* The bound keeps occ - prev_corr in range: |prev_corr| <= LEAP_ENTRIES_MAX. */
		if (occ > LAST_UTC_S)
			return fail(err, errlen, -EINVAL, name, "leap record", i + 1,
				    "occurrence %" PRId64 " after the year 9999", occ);
		if (i == 0 && dir != 1 && dir != -1)
			return fail(err, errlen, -EINVAL, name, "leap record", i + 1,
				    "table truncated at the start (correction %" PRId64 ")", corr);
		if (dir == 0 && i == h->leapcnt - 1 && h->version >= '4') {
			t->expiry_s = occ - prev_corr;
			if (t->expiry_s <= t->entries[t->count - 1].utc_s)
				return fail(err, errlen, -EINVAL, name, "leap record", i + 1,
					    "expiry not after the last leap");
			break;
		}
		if (dir != 1 && dir != -1)
			return fail(err, errlen, -EINVAL, name, "leap record", i + 1,
				    "correction does not change by exactly +1 or -1 s");
		why = add_entry(t, occ - prev_corr + (dir < 0), FIRST_TAI_UTC_S + corr);
		if (why)
			return fail(err, errlen, -EINVAL, name, "leap record", i + 1, "%s", why);
		prev_occ = occ;
		prev_corr = corr;
	}
	return 0;
}

static int parse_tzif(const unsigned char *buf, size_t len, const char *name, struct leap_table *t,
		      char *err, size_t errlen)
{
	const unsigned char *block = buf + TZIF_HEADER_SIZE, *leaps;
	struct tzif_header h;
	uint64_t size;
	unsigned time_size = 4;

	if (len < TZIF_HEADER_SIZE)
		return fail(err, errlen, -EINVAL, name, NULL, 0, "truncated TZif header");
	tzif_header(buf, &h);
	if (h.version != '\0' && (h.version < '2' || h.version > '4'))
		return fail(err, errlen, -EINVAL, name, NULL, 0, "unsupported TZif version");
	if (!h.typecnt || !h.charcnt)
		return fail(err, errlen, -EINVAL, name, NULL, 0,
			    "no local time type or no abbreviation (RFC 8536 requires both)");
	size = tzif_block_size(&h, 4);
	if (size > len - TZIF_HEADER_SIZE)
		return fail(err, errlen, -EINVAL, name, NULL, 0, "truncated TZif data");
	if (h.version >= '2') {
		/* Version 2 and later repeat everything with 64-bit times: use those. */
		const unsigned char *second = block + size;
		size_t left = len - TZIF_HEADER_SIZE - (size_t)size;
		const unsigned char *footer;

		if (left < TZIF_HEADER_SIZE)
			return fail(err, errlen, -EINVAL, name, NULL, 0,
				    "truncated TZif version 2+ header");
		if (memcmp(second, "TZif", 4))
			return fail(err, errlen, -EINVAL, name, NULL, 0,
				    "bad TZif version 2+ header");
		tzif_header(second, &h);
		if (!h.typecnt || !h.charcnt)
			return fail(
				err, errlen, -EINVAL, name, NULL, 0,
				"no local time type or no abbreviation (RFC 8536 requires both)");
		time_size = 8;
		block = second + TZIF_HEADER_SIZE;
		left -= TZIF_HEADER_SIZE;
		size = tzif_block_size(&h, time_size);
		if (size > left)
			return fail(err, errlen, -EINVAL, name, NULL, 0, "truncated TZif data");
		footer = block + size;
		left -= (size_t)size;
		if (left && footer[0] != '\n')
			return fail(err, errlen, -EINVAL, name, NULL, 0, "bad TZif footer");
		if (left < 2 || !memchr(footer + 1, '\n', left - 1))
			return fail(err, errlen, -EINVAL, name, NULL, 0, "truncated TZif footer");
	}
	t->format = LEAP_FORMAT_TZIF;
	/* Leap records follow the transition times and types, the local time types and the
	 * abbreviations. */
	leaps = block + (uint64_t)h.timecnt * (time_size + 1) + (uint64_t)h.typecnt * 6 + h.charcnt;
	return tzif_leaps(leaps, &h, time_size, name, t, err, errlen);
}

int leap_parse(const void *buf, size_t len, const char *name, struct leap_table **table, char *err,
	       size_t errlen)
{
	struct leap_table *t;
	int ret;

	if (len > LEAP_FILE_MAX)
		return fail(err, errlen, -EFBIG, name, NULL, 0, "too large (more than %d bytes)",
			    LEAP_FILE_MAX);
	if (!len)
		return fail(err, errlen, -EINVAL, name, NULL, 0, "empty file");
	t = calloc(1, sizeof(*t));
	if (!t)
		return fail(err, errlen, -ENOMEM, name, NULL, 0, "out of memory");
	if (len >= 4 && !memcmp(buf, "TZif", 4))
		ret = parse_tzif(buf, len, name, t, err, errlen);
	else
		ret = parse_list(buf, len, name, t, err, errlen);
	if (ret) {
		free(t);
		return ret;
	}
	*table = t;
	return 0;
}

int leap_load(const char *path, struct leap_table **table, char *err, size_t errlen)
{
	struct stat sb = {0};
	size_t len = 0;
	char *buf;
	int fd, ret;

	/* O_NONBLOCK: a FIFO must not hang the daemon; what was opened is what is checked. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return fail(err, errlen, -errno, path, NULL, 0, "cannot open: %s", strerror(errno));
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		ret = fail(err, errlen, S_ISDIR(sb.st_mode) ? -EISDIR : -EINVAL, path, NULL, 0,
			   "cannot read: %s",
			   S_ISDIR(sb.st_mode) ? strerror(EISDIR)
					       : "not a regular file (a FIFO, socket or device?)");
		close(fd);
		return ret;
	}
	buf = malloc(LEAP_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		return fail(err, errlen, -ENOMEM, path, NULL, 0, "out of memory");
	}
	/* One byte more than allowed tells a huge file from one exactly at the limit. */
	while (len < LEAP_FILE_MAX + 1) {
		ssize_t got = read(fd, buf + len, LEAP_FILE_MAX + 1 - len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = fail(err, errlen, -errno, path, NULL, 0, "cannot read: %s",
				   strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	ret = leap_parse(buf, len, path, table, err, errlen);
out:
	free(buf);
	close(fd);
	return ret;
}

void leap_free(struct leap_table *t)
{
	free(t);
}

enum leap_format leap_format(const struct leap_table *t)
{
	return t->format;
}

size_t leap_count(const struct leap_table *t)
{
	return t->count;
}

int leap_entry(const struct leap_table *t, size_t i, int64_t *utc_s, int *tai_utc_s)
{
	if (i >= t->count)
		return -ERANGE;
	*utc_s = t->entries[i].utc_s;
	*tai_utc_s = t->entries[i].tai_utc_s;
	return 0;
}

int leap_tai_utc(const struct leap_table *t, int64_t utc_s)
{
	size_t i = t->count - 1;

	while (i > 0 && t->entries[i].utc_s > utc_s)
		i--;
	return t->entries[i].tai_utc_s;
}

int leap_at_day_end(const struct leap_table *t, int64_t utc_s)
{
	int64_t day_start_s;

	/* The first leap ends 1972-06-30, so earlier times need no rounding down below 0. */
	if (utc_s < FIRST_UTC_S)
		return 0;
	day_start_s = utc_s - utc_s % DAY_S;
	for (size_t i = 1; i < t->count; i++)
		if (t->entries[i].utc_s - DAY_S == day_start_s)
			return t->entries[i].tai_utc_s - t->entries[i - 1].tai_utc_s;
	return 0;
}

int leap_next(const struct leap_table *t, int64_t utc_s, int64_t *when_s, int *dir)
{
	for (size_t i = 1; i < t->count; i++) {
		if (t->entries[i].utc_s > utc_s) {
			*when_s = t->entries[i].utc_s;
			*dir = t->entries[i].tai_utc_s - t->entries[i - 1].tai_utc_s;
			return 0;
		}
	}
	return -ENOENT;
}

int64_t leap_expiry(const struct leap_table *t)
{
	return t->expiry_s;
}

int64_t leap_updated(const struct leap_table *t)
{
	return t->updated_s;
}

bool leap_expired(const struct leap_table *t, int64_t now_s)
{
	return t->expiry_s && now_s >= t->expiry_s;
}

bool leap_expires_within(const struct leap_table *t, int64_t now_s, int days)
{
	return t->expiry_s && now_s >= t->expiry_s - (int64_t)days * DAY_S;
}
