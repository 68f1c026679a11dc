/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * --check-config beyond the parse: each check asks the module that start-up uses the same
 * question, through a function that changes nothing (see preflight.h). Whatever start-up
 * would refuse, or merely warn about and run without, is a problem here.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "phcsync/ctl.h"
#include "phcsync/device.h"
#include "phcsync/driftfile.h"
#include "phcsync/leapsec.h"
#include "phcsync/preflight.h"
#include "phcsync/privdrop.h"

#define MSG_MAX 1024

struct check {
	const char *file;
	FILE *out, *err;
	int problems;
};

/* One line, with every byte outside printable ASCII as \xHH. */
static void put_line(FILE *f, const char *line)
{
	for (const unsigned char *p = (const unsigned char *)line; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f)
			fputc(*p, f);
		else
			fprintf(f, "\\x%02x", *p);
	}
	fputc('\n', f);
}

static void say(FILE *f, const char *origin, const char *key, const char *fmt, va_list ap)
{
	char line[2 * MSG_MAX];
	int n = snprintf(line, sizeof(line), "%s: %s: ", origin, key);

	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	put_line(f, line);
}

static void problem(struct check *c, const char *origin, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void problem(struct check *c, const char *origin, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(c->err, origin, key, fmt, ap);
	va_end(ap);
	c->problems++;
}

static void note(struct check *c, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void note(struct check *c, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(c->out, c->file, key, fmt, ap);
	va_end(ap);
}

static void check_control(struct check *c, const struct conf *conf)
{
	char msg[MSG_MAX];

	if (!strcmp(conf->control_socket, "none"))
		return;
	if (conf->control_group[0] && ctl_check_group(conf->control_group, msg, sizeof(msg)) < 0)
		problem(c, c->file, "control_group",
			"%s (phcsyncd would run without its control socket)", msg);
	if (ctl_check(conf->control_socket, msg, sizeof(msg)) < 0)
		problem(c, c->file, "control_socket",
			"%s (phcsyncd would run without its control socket)", msg);
}

static void check_leap(struct check *c, const struct conf *conf)
{
	struct leapsec ls;
	char msg[MSG_MAX];

	if (leapsec_open(&ls, conf, msg, sizeof(msg)) < 0) {
		if (conf->leapfile[0])
			problem(c, c->file, "leapfile", "%s", msg);
		else
			problem(c, c->file, "leapfile",
				"auto: no leap table (%s): leap seconds would not be handled", msg);
		return;
	}
	if (ls.table)
		note(c, "leapfile", "%s: loaded and verified", ls.path);
	leapsec_close(&ls);
}

static void check_drift(struct check *c, const struct conf *conf)
{
	char dir[CONF_PATH_MAX];
	double freq, unc;
	int ret, fd;

	if (!conf->driftfile[0])
		return;
	ret = driftfile_read(conf->driftfile, &freq, &unc);
	if (ret == 0)
		return;
	if (ret != -ENOENT) {
		problem(c, c->file, "driftfile", "%s: %s (phcsyncd would ignore it)",
			conf->driftfile, driftfile_strerror(ret));
		return;
	}
	/*
	 * Not there yet is normal. Its directory may be missing too and still appear before
	 * start (systemd's StateDirectory= makes /var/lib/phcsyncd): a note, not a problem.
	 */
	snprintf(dir, sizeof(dir), "%s", conf->driftfile);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		note(c, "driftfile",
		     "%s: not there yet, and %s: %s: it cannot be written unless the directory "
		     "is made before phcsyncd starts",
		     conf->driftfile, dir, strerror(errno));
		return;
	}
	close(fd);
}

/*
 * 1 or 0, or -errno. Opened O_NONBLOCK and closed without a read or an ioctl (a PHC's
 * open reads nothing), then asked what it is: a path is never looked up with stat().
 */
static int is_char_device(const char *path)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = fstat(fd, &sb) < 0 ? -errno : S_ISCHR(sb.st_mode);
	close(fd);
	return ret;
}

static void check_device(struct check *c, const struct conf *conf, const char *origin,
			 const char *sysfs_dir)
{
	struct device_choice choice;
	char msg[MSG_MAX];
	int ret;

	ret = device_resolve(sysfs_dir, conf->device, "", &choice, msg, sizeof(msg));
	if (ret == 0) {
		ret = is_char_device(choice.path);
		if (ret < 0) {
			problem(c, origin, "device", "%s: %s", choice.path, strerror(-ret));
			return;
		}
		if (!ret) {
			problem(c, origin, "device", "%s: not a character device, so not a PHC",
				choice.path);
			return;
		}
		note(c, "device", "%s: %s (%s)", conf->device, choice.path, choice.clock_name);
	} else if (conf->wait_for_device)
		note(c, "device",
		     "%s: not there now (%s); phcsyncd would wait for it "
		     "(wait_for_device yes)",
		     conf->device, msg[0] ? msg : strerror(-ret));
	else
		problem(c, origin, "device", "%s (wait_for_device no)",
			msg[0] ? msg : strerror(-ret));
}

static void check_user(struct check *c, const struct conf *conf)
{
	char msg[MSG_MAX];

	if (conf->user[0] && privdrop_check_user(conf->user, msg, sizeof(msg)) < 0)
		problem(c, c->file, "user", "%s", msg);
}

int preflight_check(const struct conf *conf, const char *file, const char *device_origin,
		    const char *sysfs_dir, FILE *out, FILE *err)
{
	struct check c = {.file = file, .out = out, .err = err};

	/* In start-up's order. */
	check_control(&c, conf);
	check_drift(&c, conf);
	check_leap(&c, conf);
	check_device(&c, conf, device_origin, sysfs_dir);
	check_user(&c, conf);
	return c.problems;
}
