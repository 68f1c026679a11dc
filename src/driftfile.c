/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "phcsync/driftfile.h"

/* 18 digits always fit a uint64 mantissa; no sane value needs more. */
#define DIGITS_MAX 18

static bool in_range(double freq_ppb, double unc_ppb)
{
	return isfinite(freq_ppb) && fabs(freq_ppb) <= DRIFTFILE_FREQ_MAX_PPB &&
	       isfinite(unc_ppb) && unc_ppb >= 0.0 && unc_ppb <= DRIFTFILE_UNC_MAX_PPB;
}

/* Write "[-]I.FFF" from thousandths, with integers so no locale changes the point. */
static int put_milli(char *buf, size_t len, int64_t milli)
{
	uint64_t a = milli < 0 ? -(uint64_t)milli : (uint64_t)milli;

	return snprintf(buf, len, "%s%" PRIu64 ".%03" PRIu64, milli < 0 ? "-" : "", a / 1000,
			a % 1000);
}

int driftfile_format(char *buf, size_t len, double freq_ppb, double unc_ppb)
{
	char f[32], u[32];
	int n;

	if (!in_range(freq_ppb, unc_ppb) || !len)
		return -EINVAL;
	/* In range, both fit an int64 in thousandths with room to spare. */
	put_milli(f, sizeof(f), llround(freq_ppb * 1000.0));
	put_milli(u, sizeof(u), llround(unc_ppb * 1000.0));
	n = snprintf(buf, len, "%s %s\n", f, u);
	if (n < 0)
		return -EINVAL;
	return (size_t)n < len ? n : -ENOSPC;
}

/* Parse [+-]DIGITS[.DIGITS] at *p, before end; no exponent, no inf or nan. */
static int parse_decimal(const char **p, const char *end, double *out)
{
	const char *s = *p;
	bool neg = false;
	uint64_t mant = 0;
	int digits = 0, frac = 0;

	if (s < end && (*s == '+' || *s == '-'))
		neg = *s++ == '-';
	for (; s < end && *s >= '0' && *s <= '9'; s++, digits++) {
		if (digits == DIGITS_MAX)
			return -EINVAL;
		mant = mant * 10 + (uint64_t)(*s - '0');
	}
	if (!digits)
		return -EINVAL;
	if (s < end && *s == '.') {
		s++;
		for (; s < end && *s >= '0' && *s <= '9'; s++, digits++, frac++) {
			if (digits == DIGITS_MAX)
				return -EINVAL;
			mant = mant * 10 + (uint64_t)(*s - '0');
		}
		if (!frac)
			return -EINVAL;
	}
	*out = (double)mant / pow(10.0, frac);
	if (neg)
		*out = -*out;
	*p = s;
	return 0;
}

int driftfile_parse(const char *text, size_t len, double *freq_ppb, double *unc_ppb)
{
	const char *p = text, *end = text + len;
	const char *blanks;
	double freq, unc;

	if (parse_decimal(&p, end, &freq))
		return -EINVAL;
	for (blanks = p; p < end && (*p == ' ' || *p == '\t'); p++)
		;
	if (p == blanks || parse_decimal(&p, end, &unc))
		return -EINVAL;
	if (p < end && *p == '\n')
		p++;
	if (p != end || !in_range(freq, unc))
		return -EINVAL;
	*freq_ppb = freq;
	*unc_ppb = unc;
	return 0;
}

const char *driftfile_strerror(int ret)
{
	if (ret == -EINVAL)
		return "corrupt or absurd content";
	if (ret == -EMEDIUMTYPE)
		return "not a regular file (a FIFO, socket or device?)";
	return strerror(-ret);
}

int driftfile_read(const char *path, double *freq_ppb, double *unc_ppb)
{
	/* One byte more than allowed, to tell a full file from an oversized one. */
	char buf[DRIFTFILE_SIZE_MAX + 1];
	struct stat sb = {0};
	size_t got = 0;
	int fd, err = 0;

	/* O_NONBLOCK: a FIFO must not hang the daemon; what was opened is what is checked. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return S_ISDIR(sb.st_mode) ? -EISDIR : -EMEDIUMTYPE;
	}
	while (got < sizeof(buf)) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (!n)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (err)
		return err;
	if (got > DRIFTFILE_SIZE_MAX)
		return -EINVAL;
	return driftfile_parse(buf, got, freq_ppb, unc_ppb);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Make the rename itself durable: fsync the directory that holds path. */
static int sync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, err = 0;

	if (!slash)
		strcpy(dir, ".");
	else if (slash == path)
		strcpy(dir, "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

int driftfile_write(const char *path, double freq_ppb, double unc_ppb)
{
	char line[96];
	char tmp[PATH_MAX];
	int n, fd, err;

	n = driftfile_format(line, sizeof(line), freq_ppb, unc_ppb);
	if (n < 0)
		return n;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	err = write_all(fd, line, (size_t)n);
	if (!err && fsync(fd) < 0)
		err = -errno;
	/* close() can report a deferred write error (NFS): do not rename over it. */
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	return sync_dir(path);
}
