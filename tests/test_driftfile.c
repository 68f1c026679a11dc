/* SPDX-License-Identifier: BSD-2-Clause */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "phcsync/driftfile.h"

/* A fresh empty directory per test, removed (with what the test left) by cleanup(). */
static char dir[64];

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/test_driftfile.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* Permissive, so the mode seen is the one the code asks for. */
	umask(0);
}

static void cleanup(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_MAX];

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (unlink(p) < 0)
			ck_assert_int_eq(rmdir(p), 0);
	}
	closedir(d);
	ck_assert_int_eq(rmdir(dir), 0);
}

static void in_dir(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* Entries in the test directory besides . and .. */
static int entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void put_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static int parse_str(const char *s, double *freq, double *unc)
{
	return driftfile_parse(s, strlen(s), freq, unc);
}

START_TEST(test_format)
{
	char buf[64];

	ck_assert_int_eq(driftfile_format(buf, sizeof(buf), -49987.123, 2.5), 17);
	ck_assert_str_eq(buf, "-49987.123 2.500\n");
	driftfile_format(buf, sizeof(buf), 0.0004, 0);
	ck_assert_str_eq(buf, "0.000 0.000\n");
	driftfile_format(buf, sizeof(buf), -0.0004, 0);
	ck_assert_str_eq(buf, "0.000 0.000\n");
	driftfile_format(buf, sizeof(buf), 12.3456, 0.0005);
	ck_assert_str_eq(buf, "12.346 0.001\n");
	driftfile_format(buf, sizeof(buf), -500000, 100000);
	ck_assert_str_eq(buf, "-500000.000 100000.000\n");
	ck_assert_int_eq(driftfile_format(buf, 8, 1, 1), -ENOSPC);
	ck_assert_int_eq(driftfile_format(buf, 0, 1, 1), -EINVAL);
}
END_TEST

START_TEST(test_format_rejects_absurd)
{
	char buf[64];

	ck_assert_int_eq(driftfile_format(buf, sizeof(buf), NAN, 1), -EINVAL);
	ck_assert_int_eq(driftfile_format(buf, sizeof(buf), INFINITY, 1), -EINVAL);
	ck_assert_int_eq(driftfile_format(buf, sizeof(buf), 500000.5, 1), -EINVAL);
	ck_assert_int_eq(driftfile_format(buf, sizeof(buf), 1, -0.1), -EINVAL);
	ck_assert_int_eq(driftfile_format(buf, sizeof(buf), 1, 100001), -EINVAL);
	ck_assert_int_eq(driftfile_format(buf, sizeof(buf), 1, NAN), -EINVAL);
}
END_TEST

START_TEST(test_round_trip)
{
	static const double values[][2] = {
		{-49987.123, 2.5},	 {0, 0}, {1.001, 0.001}, {-500000, 100000},
		{499999.999, 99999.999},
	};
	char buf[64];
	double freq, unc;

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		int n = driftfile_format(buf, sizeof(buf), values[i][0], values[i][1]);

		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(driftfile_parse(buf, (size_t)n, &freq, &unc), 0);
		ck_assert_double_eq(freq, values[i][0]);
		ck_assert_double_eq(unc, values[i][1]);
	}
}
END_TEST

START_TEST(test_parse_accepts)
{
	double freq = 0, unc = 0;

	ck_assert_int_eq(parse_str("-12 3", &freq, &unc), 0);
	ck_assert_double_eq(freq, -12);
	ck_assert_double_eq(unc, 3);
	ck_assert_int_eq(parse_str("+1.5\t \t0.25\n", &freq, &unc), 0);
	ck_assert_double_eq(freq, 1.5);
	ck_assert_double_eq(unc, 0.25);
	ck_assert_int_eq(parse_str("500000 100000\n", &freq, &unc), 0);
	/* Only len bytes count: no terminating NUL is needed. */
	ck_assert_int_eq(driftfile_parse("7 8\nJUNK", 4, &freq, &unc), 0);
	ck_assert_double_eq(freq, 7);
	ck_assert_double_eq(unc, 8);
}
END_TEST

START_TEST(test_parse_rejects_corrupt)
{
	static const char *const bad[] = {
		"",
		"\n",
		"1\n",
		"1 \n",
		" 1 2\n",
		"1 2 \n",
		"1 2\n\n",
		"1 2 3\n",
		"1 2x\n",
		"1 2\r\n",
		"1 2\r",
		"1+2\n",
		"nan 1\n",
		"inf 1\n",
		"1 nan\n",
		"1e3 1\n",
		"0x10 1\n",
		"1. 2\n",
		".5 2\n",
		"1,5 2\n",
		"--1 2\n",
		"- 1 2\n",
		"1 +-2\n",
		"1\n2\n",
		"1234567890123456789 1\n",
		"1.0000000000000000001 1\n",
	};
	static const char binary[] = {'1', ' ', '2', '\0'};
	static const char garbage[] = {'\x7f', 'E', 'L', 'F', '\x02', '\x01', '\xff', '\0'};
	double freq = 42, unc = 43;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse_str(bad[i], &freq, &unc) == -EINVAL, "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(driftfile_parse(binary, sizeof(binary), &freq, &unc), -EINVAL);
	ck_assert_int_eq(driftfile_parse(garbage, sizeof(garbage), &freq, &unc), -EINVAL);
	/* The outputs are untouched on failure. */
	ck_assert_double_eq(freq, 42);
	ck_assert_double_eq(unc, 43);
}
END_TEST

START_TEST(test_parse_rejects_absurd)
{
	static const char *const bad[] = {
		"500000.001 1\n", "-500001 1\n", "1 -0.5\n", "1 100000.5\n", "99999999 1\n",
	};
	double freq, unc;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse_str(bad[i], &freq, &unc) == -EINVAL, "accepted \"%s\"", bad[i]);
}
END_TEST

START_TEST(test_write_then_read)
{
	char path[128], buf[64];
	double freq, unc;
	struct stat st;
	FILE *f;

	setup();
	in_dir(path, sizeof(path), "drift");
	ck_assert_int_eq(driftfile_read(path, &freq, &unc), -ENOENT);
	ck_assert_int_eq(driftfile_write(path, -49987.123, 2.5), 0);
	ck_assert_int_eq(driftfile_read(path, &freq, &unc), 0);
	ck_assert_double_eq(freq, -49987.123);
	ck_assert_double_eq(unc, 2.5);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_str_eq(buf, "-49987.123 2.500\n");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	/* Overwrite; no temp file stays behind. */
	ck_assert_int_eq(driftfile_write(path, 12.5, 0.75), 0);
	ck_assert_int_eq(driftfile_read(path, &freq, &unc), 0);
	ck_assert_double_eq(freq, 12.5);
	ck_assert_double_eq(unc, 0.75);
	ck_assert_int_eq(entries(), 1);
	cleanup();
}
END_TEST

START_TEST(test_write_relative_path)
{
	char cwd[PATH_MAX];
	double freq, unc;

	setup();
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(dir), 0);
	ck_assert_int_eq(driftfile_write("drift", 3, 1), 0);
	ck_assert_int_eq(driftfile_read("drift", &freq, &unc), 0);
	ck_assert_double_eq(freq, 3);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert_int_eq(entries(), 1);
	cleanup();
}
END_TEST

START_TEST(test_failed_write_keeps_old_content)
{
	char path[128], tmp[140];
	double freq, unc;

	setup();
	in_dir(path, sizeof(path), "drift");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_int_eq(driftfile_write(path, 100, 1), 0);

	/* The temp file cannot be created (a directory is in the way; root ignores modes). */
	ck_assert_int_eq(mkdir(tmp, 0755), 0);
	ck_assert_int_eq(driftfile_write(path, 200, 2), -EISDIR);
	ck_assert_int_eq(driftfile_read(path, &freq, &unc), 0);
	ck_assert_double_eq(freq, 100);
	ck_assert_int_eq(rmdir(tmp), 0);

	/* Absurd values are never written. */
	ck_assert_int_eq(driftfile_write(path, NAN, 2), -EINVAL);
	ck_assert_int_eq(driftfile_read(path, &freq, &unc), 0);
	ck_assert_double_eq(freq, 100);
	ck_assert_int_eq(entries(), 1);
	cleanup();
}
END_TEST

START_TEST(test_failed_rename_removes_temp)
{
	char path[128], tmp[140], inner[160];
	struct stat st;

	setup();
	in_dir(path, sizeof(path), "drift");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* A non-empty directory at path: the rename fails after the temp file is written. */
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(inner, sizeof(inner), "%s/x", path);
	put_file(inner, "x", 1);
	ck_assert_int_lt(driftfile_write(path, 1, 1), 0);
	ck_assert_int_eq(stat(tmp, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(unlink(inner), 0);
	ck_assert_int_eq(entries(), 1);
	cleanup();
}
END_TEST

START_TEST(test_missing_directory)
{
	char path[128];
	double freq, unc;

	setup();
	in_dir(path, sizeof(path), "missing/drift");
	ck_assert_int_eq(driftfile_write(path, 1, 1), -ENOENT);
	ck_assert_int_eq(driftfile_read(path, &freq, &unc), -ENOENT);
	ck_assert_int_eq(entries(), 0);
	cleanup();
}
END_TEST

START_TEST(test_read_rejects_bad_files)
{
	static char big[DRIFTFILE_SIZE_MAX + 100];
	char path[128];
	double freq, unc;

	setup();
	in_dir(path, sizeof(path), "drift");
	put_file(path, "", 0);
	ck_assert_int_eq(driftfile_read(path, &freq, &unc), -EINVAL);
	put_file(path, "1 2\n3 4\n", 8);
	ck_assert_int_eq(driftfile_read(path, &freq, &unc), -EINVAL);
	/* A valid line padded beyond 4 KiB. */
	memset(big, '\n', sizeof(big));
	memcpy(big, "1 2\n", 4);
	put_file(path, big, sizeof(big));
	ck_assert_int_eq(driftfile_read(path, &freq, &unc), -EINVAL);
	/* Valid in its first 4 KiB + 1 byte, but longer: not cut short and accepted. */
	memset(big, ' ', sizeof(big));
	big[0] = '1';
	big[DRIFTFILE_SIZE_MAX] = '2';
	big[DRIFTFILE_SIZE_MAX + 1] = '\n';
	put_file(path, big, DRIFTFILE_SIZE_MAX + 2);
	ck_assert_int_eq(driftfile_read(path, &freq, &unc), -EINVAL);
	/* The same at the limit is read. */
	big[DRIFTFILE_SIZE_MAX - 2] = '2';
	big[DRIFTFILE_SIZE_MAX - 1] = '\n';
	put_file(path, big, DRIFTFILE_SIZE_MAX);
	ck_assert_int_eq(driftfile_read(path, &freq, &unc), 0);
	ck_assert_double_eq(unc, 2);
	ck_assert_int_eq(driftfile_read(dir, &freq, &unc), -EISDIR);
	/* Anything but a regular file is refused at once: a FIFO without a writer too. */
	in_dir(path, sizeof(path), "fifo");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(driftfile_read(path, &freq, &unc), -EMEDIUMTYPE);
	ck_assert_str_eq(driftfile_strerror(-EMEDIUMTYPE),
			 "not a regular file (a FIFO, socket or device?)");
	unlink(path);
	ck_assert_int_eq(driftfile_read("/dev/null", &freq, &unc), -EMEDIUMTYPE);
	ck_assert_str_eq(driftfile_strerror(-EINVAL), "corrupt or absurd content");
	cleanup();
}
END_TEST

int main(void)
{
	TCase *tc = check_tcase("driftfile", NULL, NULL);

	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_format_rejects_absurd);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_parse_accepts);
	tcase_add_test(tc, test_parse_rejects_corrupt);
	tcase_add_test(tc, test_parse_rejects_absurd);
	tcase_add_test(tc, test_write_then_read);
	tcase_add_test(tc, test_write_relative_path);
	tcase_add_test(tc, test_failed_write_keeps_old_content);
	tcase_add_test(tc, test_failed_rename_removes_temp);
	tcase_add_test(tc, test_missing_directory);
	tcase_add_test(tc, test_read_rejects_bad_files);
	return check_run_tcase("driftfile", tc);
}
