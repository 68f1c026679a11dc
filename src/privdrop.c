/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Switch to an unprivileged user and keep CAP_SYS_TIME, the one capability clock_adjtime
 * needs. setuid() from root clears every capability unless PR_SET_KEEPCAPS is set first;
 * then only CAP_SYS_TIME is raised again. The other capabilities also leave the bounding
 * set while we still hold CAP_SETPCAP, so no later execve could bring them back.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/capability.h>
#include <unistd.h>

#include "phcsync/privdrop.h"

static int fail(int e, char *err, size_t errlen, const char *user, const char *what)
{
	snprintf(err, errlen, "cannot become user %s: %s: %s", user, what, strerror(e));
	return -e;
}

static int drop_bounding_set(void)
{
	for (cap_value_t c = 0; c < (cap_value_t)cap_max_bits(); c++) {
		if (c == CAP_SYS_TIME || cap_get_bound(c) != 1)
			continue;
		if (cap_drop_bound(c) < 0)
			return -errno;
	}
	return 0;
}

static int keep_only_sys_time(void)
{
	cap_value_t keep = CAP_SYS_TIME;
	cap_t caps = cap_init();
	int ret = 0;

	if (!caps)
		return -errno;
	if (cap_set_flag(caps, CAP_PERMITTED, 1, &keep, CAP_SET) < 0 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, 1, &keep, CAP_SET) < 0 || cap_set_proc(caps) < 0)
		ret = -errno;
	cap_free(caps);
	return ret;
}

/* The checks before any change: the user exists and we may become it. */
static int look_up(const char *user, struct passwd *pw, char *buf, size_t buflen, char *err,
		   size_t errlen)
{
	struct passwd *found = NULL;
	int e;

	e = getpwnam_r(user, pw, buf, buflen, &found);
	if (e)
		return fail(e, err, errlen, user, "looking up the user");
	if (!found) {
		snprintf(err, errlen, "cannot become user %s: no such user", user);
		return -ENOENT;
	}
	if (geteuid() != 0) {
		snprintf(err, errlen, "cannot become user %s: only root can switch users", user);
		return -EPERM;
	}
	return 0;
}

int privdrop_check_user(const char *user, char *err, size_t errlen)
{
	char buf[4096];
	struct passwd pw;

	return look_up(user, &pw, buf, sizeof(buf), err, errlen);
}

int privdrop_to_user(const char *user, char *err, size_t errlen)
{
	char buf[4096];
	struct passwd pw;
	int ret;

	ret = look_up(user, &pw, buf, sizeof(buf), err, errlen);
	if (ret < 0)
		return ret;
	ret = drop_bounding_set();
	if (ret < 0)
		return fail(-ret, err, errlen, user, "dropping capabilities from the bounding set");
	if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) < 0)
		return fail(errno, err, errlen, user, "prctl(PR_SET_KEEPCAPS)");
	if (setgroups(0, NULL) < 0)
		return fail(errno, err, errlen, user, "setgroups");
	if (setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) < 0)
		return fail(errno, err, errlen, user, "setresgid");
	if (setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid) < 0)
		return fail(errno, err, errlen, user, "setresuid");
	ret = keep_only_sys_time();
	if (ret < 0)
		return fail(-ret, err, errlen, user, "keeping CAP_SYS_TIME");
	if (prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) < 0)
		return fail(errno, err, errlen, user, "prctl(PR_SET_KEEPCAPS)");
	return 0;
}

int privdrop_has_extra_caps(void)
{
	cap_value_t sys_time = CAP_SYS_TIME;
	cap_t have = cap_get_proc();
	cap_t none = cap_init();
	int ret, diff;

	if (!have || !none) {
		ret = -errno;
		cap_free(have);
		cap_free(none);
		return ret;
	}
	if (cap_set_flag(have, CAP_EFFECTIVE, 1, &sys_time, CAP_CLEAR) < 0 ||
	    cap_set_flag(have, CAP_PERMITTED, 1, &sys_time, CAP_CLEAR) < 0) {
		ret = -errno;
	} else {
		diff = cap_compare(have, none);
		ret = diff < 0 ? -EINVAL
			       : CAP_DIFFERS(diff, CAP_EFFECTIVE) ||
					 CAP_DIFFERS(diff, CAP_PERMITTED);
	}
	cap_free(have);
	cap_free(none);
	return ret;
}
