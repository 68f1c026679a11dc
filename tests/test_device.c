/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * device_resolve for a configured path: a listed clock is taken as named, anything else is
 * opened to learn whether it is there, and a path that is gone is found again by its clock
 * name. The sysfs tree and the "device nodes" are files in a temporary directory.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "check_main.h"
#include "phcsync/device.h"

static char dir[64];
static char sysfs[128];

static void make_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* sysfs/ptp3 named "KVM virtual PTP", so that a list has one clock. */
static void setup(void)
{
	char path[256];

	strcpy(dir, "/tmp/test_device.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sysfs, sizeof(sysfs), "%s/sys", dir);
	ck_assert_int_eq(mkdir(sysfs, 0755), 0);
	snprintf(path, sizeof(path), "%s/ptp3", sysfs);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/ptp3/clock_name", sysfs);
	make_file(path, "KVM virtual PTP\n");
}

static void teardown(void)
{
	static const char *const files[] = {"sys/ptp3/clock_name", "ptp-node", "fifo", "sock"};
	static const char *const dirs[] = {"sys/ptp3", "sys", ""};
	char path[256];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, dirs[i]);
		rmdir(path);
	}
}

static int resolve(const char *spec, const char *want_name, struct device_choice *out, char *msg)
{
	memset(out, 0, sizeof(*out));
	return device_resolve(sysfs, spec, want_name, out, msg, 256);
}

START_TEST(listed_path_taken_as_named)
{
	struct device_choice c;
	char msg[256];

	/* No /dev/ptp3 here: a listed path is not opened (the caller does that). */
	ck_assert_int_eq(resolve("/dev/ptp3", "", &c, msg), 0);
	ck_assert_str_eq(c.path, "/dev/ptp3");
	ck_assert_str_eq(c.clock_name, "KVM virtual PTP");
}
END_TEST

START_TEST(unlisted_path_that_opens)
{
	struct device_choice c;
	char node[128], fifo[128], msg[256];

	snprintf(node, sizeof(node), "%s/ptp-node", dir);
	make_file(node, "");
	ck_assert_int_eq(resolve(node, "", &c, msg), 0);
	ck_assert_str_eq(c.path, node);
	ck_assert_str_eq(c.clock_name, "unknown clock");
	ck_assert_int_eq(resolve(node, "vmclock0", &c, msg), 0);
	ck_assert_str_eq(c.path, node);
	ck_assert_str_eq(c.clock_name, "vmclock0");

	/* Opened without blocking: a FIFO with no writer does not hang the daemon. */
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_int_eq(resolve(fifo, "", &c, msg), 0);
	ck_assert_str_eq(c.path, fifo);
}
END_TEST

START_TEST(missing_path_found_by_name)
{
	struct device_choice c;
	char path[128], msg[256], want[300];

	snprintf(path, sizeof(path), "%s/gone/ptp0", dir);
	ck_assert_int_eq(resolve(path, "KVM virtual PTP", &c, msg), 0);
	ck_assert_str_eq(c.path, "/dev/ptp3");
	ck_assert_str_eq(c.clock_name, "KVM virtual PTP");

	ck_assert_int_eq(resolve(path, "", &c, msg), -ENOENT);
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	ck_assert_str_eq(msg, want);
	ck_assert_int_eq(resolve(path, "hyperv", &c, msg), -ENOENT);
}
END_TEST

/*
 * A node that is there but whose open says ENXIO (no driver behind it) is gone: the clock
 * is looked for by name. A UNIX socket file gives that errno; access() called it present.
 */
START_TEST(present_but_no_device)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct device_choice c;
	char msg[256], want[300];
	int sock = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(sock, 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/sock", dir);
	ck_assert_int_eq(bind(sock, (struct sockaddr *)&addr, sizeof(addr)), 0);

	ck_assert_int_eq(resolve(addr.sun_path, "KVM virtual PTP", &c, msg), 0);
	ck_assert_str_eq(c.path, "/dev/ptp3");
	ck_assert_str_eq(c.clock_name, "KVM virtual PTP");

	ck_assert_int_eq(resolve(addr.sun_path, "", &c, msg), -ENXIO);
	snprintf(want, sizeof(want), "%s: %s", addr.sun_path, strerror(ENXIO));
	ck_assert_str_eq(msg, want);
	close(sock);
}
END_TEST

int main(void)
{
	TCase *tc = check_tcase("path", setup, teardown);

	tcase_add_test(tc, listed_path_taken_as_named);
	tcase_add_test(tc, unlisted_path_that_opens);
	tcase_add_test(tc, missing_path_found_by_name);
	tcase_add_test(tc, present_but_no_device);
	return check_run_tcase("device", tc);
}
