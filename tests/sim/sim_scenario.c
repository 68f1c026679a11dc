/* SPDX-License-Identifier: BSD-2-Clause */
/* Scenario parsing, profile defaults and the built-in scenarios. */
#include "sim_scenario.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS 1000000000LL
#define MAX_PHC_FREQ_PPB 1e8 /* a PHC off by up to 10 % */

struct profile {
	const char *name;
	const char *clock_name;
	unsigned ops;
	int64_t delay_ns;
	int64_t delay_jitter_ns;
	int64_t noise_ns;
	int64_t precise_noise_ns;
	int max_reads_per_s;
	bool tai;
};

/*
 * What the real drivers implement. KVM, VMware, Hyper-V and ENA clocks carry the host's
 * UTC (CLOCK_REALTIME); the vmclock PHC is registered only for a TAI time base. Delays: a KVM or
 * Hyper-V/VMware PHC read is a hypercall or port access of a few microseconds; vmclock is a
 * shared-memory read; the ENA PHC is read over PCIe and rate-limited by the device.
 */
static const struct profile profiles[] = {
	{"kvm", "KVM virtual PTP", SIM_OP_BASIC | SIM_OP_PRECISE, 1500, 300, 20, 20, 0, false},
	{"vmw", "ptp_vmw", SIM_OP_BASIC, 3000, 1000, 50, 0, 0, false},
	{"hyperv", "hyperv", SIM_OP_BASIC, 2000, 1000, 50, 0, 0, false},
	{"vmclock", "vmclock0", SIM_OP_BASIC | SIM_OP_EXTENDED | SIM_OP_PRECISE, 200, 50, 10, 10, 0,
	 true},
	{"ena", "ena-ptp-0", SIM_OP_BASIC | SIM_OP_EXTENDED, 5000, 2000, 100, 0, 125, false},
};

static const char kvm_hour[] =
	"# A KVM guest for one hour: REALTIME 1.5 s off, 50 ppm fast, wandering.\n"
	"name kvm-hour\n"
	"seed 1\n"
	"duration 1h\n"
	"start 2025-03-01T12:00:00\n"
	"tai_utc 37\n"
	"sys_offset 1.5s\n"
	"sys_freq_ppm 50\n"
	"sys_random_walk_ppb 1\n"
	"phc kvm 0\n"
	"noise 100ns\n"
	"noise_exp 150ns\n";

static const struct {
	const char *name;
	const char *text;
} builtins[] = {
	{"kvm-hour", kvm_hour},
};

static const struct {
	const char *name;
	int err;
} errnames[] = {
	{"EIO", EIO},
	{"ESTALE", ESTALE},
	{"ENODEV", ENODEV},
	{"EINVAL", EINVAL},
	{"ETIMEDOUT", ETIMEDOUT},
	{"EBUSY", EBUSY},
	{"EOPNOTSUPP", EOPNOTSUPP},
	{"EINTR", EINTR},
};

static const char *const event_names[] = {
	[SIM_EV_PHC_STEP] = "phc_step",
	[SIM_EV_PHC_FREQ] = "phc_freq",
	[SIM_EV_SYS_FREQ_STEP] = "sys_freq_step",
	[SIM_EV_SUSPEND] = "suspend",
	[SIM_EV_PHC_ERROR] = "phc_error",
	[SIM_EV_PHC_REMOVE] = "phc_remove",
	[SIM_EV_EXEC] = "exec",
	[SIM_EV_PHC_FREEZE] = "phc_freeze",
	[SIM_EV_PHC_BACKSTEP] = "phc_backstep",
	[SIM_EV_PHC_DELAY_SPIKE] = "phc_delay_spike",
	[SIM_EV_VMCLOCK_MIGRATE] = "vmclock_migrate",
	[SIM_EV_VMCLOCK_RESTORE] = "vmclock_restore",
	[SIM_EV_VMCLOCK_MARKER] = "vmclock_marker",
	[SIM_EV_VMCLOCK_TOUCH] = "vmclock_touch",
	[SIM_EV_VMCLOCK_FLAGS] = "vmclock_flags",
	[SIM_EV_VMCLOCK_STATUS] = "vmclock_status",
	[SIM_EV_VMCLOCK_LEAP] = "vmclock_leap",
	[SIM_EV_VMCLOCK_TAI] = "vmclock_tai",
};

static const char *const vmclock_status_names[] = {"unknown", "initializing", "synchronized",
						   "freerunning", "unreliable"};
static const char *const vmclock_leap_names[] = {"none",     "pre_pos",	 "pre_neg",
						 "pos",	     "post_pos", "post_neg"};

/* The index of word in names, or -1. */
static int word_index(const char *const *names, int n, const char *word)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], word) == 0)
			return i;
	return -1;
}

const char *sim_event_name(enum sim_event_type type)
{
	return event_names[type];
}

struct parser {
	const char *origin;
	int line;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, p->errlen, "%s:%d: ", p->origin, p->line);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < p->errlen)
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int parse_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || !isfinite(*out) ? -1 : 0;
}

static int parse_int(const char *s, long long lo, long long hi, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno || end == s || *end || *out < lo || *out > hi ? -1 : 0;
}

/* A time with an optional unit (ns, us, ms, s, m, h, d); a bare number is seconds. */
static int parse_time(const char *s, int64_t *ns)
{
	static const struct {
		const char *suffix;
		double scale;
	} units[] = {{"ns", 1},	  {"us", 1e3},	 {"ms", 1e6},	 {"s", 1e9},
		     {"m", 60e9}, {"h", 3600e9}, {"d", 86400e9}, {"", 1e9}};
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			v *= units[i].scale;
			if (!isfinite(v) || fabs(v) > 9e18)
				return -1;
			*ns = llround(v);
			return 0;
		}
	}
	return -1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era;
	int yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (int)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int valid_date(int y, int mo, int d)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return y >= 1970 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 && d <= mdays[mo - 1] &&
	       !(mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400)));
}

/* YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SS[Z] when with_time. */
static int parse_date(const char *s, bool with_time, int64_t *posix_s)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;

	if (with_time) {
		if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
			return -1;
		if (s[n] == 'Z')
			n++;
	} else if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3) {
		return -1;
	}
	if (s[n] || !valid_date(y, mo, d) || h > 23 || mi > 59 || sec > 59 || h < 0 || mi < 0 ||
	    sec < 0)
		return -1;
	*posix_s = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	return 0;
}

static const struct profile *find_profile(const char *name)
{
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

static void set_defaults(struct sim_scenario *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "unnamed");
	s->seed = 1;
	s->duration_ns = 3600 * NS;
	s->start_s = days_from_civil(2025, 3, 1) * 86400 + 12 * 3600;
	s->tai_utc_s = 37;
	s->mono_start_ns = 1000 * NS;
	s->vmclock.status = 2; /* synchronized */
	s->vmclock.maxerror_ns = -1;
}

static int parse_phc_line(struct parser *p, struct sim_scenario *s, char **tok, int ntok)
{
	const struct profile *pr;
	struct sim_phc_conf *c;
	long long idx = s->nphc;

	if (ntok < 2 || ntok > 3)
		return fail(p, "expected 'phc PROFILE [INDEX]'");
	pr = find_profile(tok[1]);
	if (!pr)
		return fail(p, "unknown PHC profile '%s' (kvm, vmw, hyperv, vmclock, ena)", tok[1]);
	if (ntok == 3 && parse_int(tok[2], 0, 999, &idx))
		return fail(p, "PHC index '%s' is not 0..999", tok[2]);
	if (s->nphc == SIM_MAX_PHC)
		return fail(p, "more than %d PHC devices", SIM_MAX_PHC);
	c = &s->phc[s->nphc++];
	*c = (struct sim_phc_conf){
		.ops = pr->ops,
		.index = (int)idx,
		.tai = pr->tai,
		.delay_ns = pr->delay_ns,
		.delay_jitter_ns = pr->delay_jitter_ns,
		.asymmetry = 0.5,
		.noise_ns = pr->noise_ns,
		.precise_noise_ns = pr->precise_noise_ns,
		.max_reads_per_s = pr->max_reads_per_s,
	};
	snprintf(c->profile, sizeof(c->profile), "%s", pr->name);
	snprintf(c->clock_name, sizeof(c->clock_name), "%s", pr->clock_name);
	return 0;
}

static int parse_ops(const char *list, unsigned *ops)
{
	char buf[64];
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	*ops = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "basic") == 0)
			*ops |= SIM_OP_BASIC;
		else if (strcmp(t, "extended") == 0)
			*ops |= SIM_OP_EXTENDED;
		else if (strcmp(t, "precise") == 0)
			*ops |= SIM_OP_PRECISE;
		else
			return -1;
	}
	return 0;
}

/* A key of the current phc block; 1 when key is not a device key. */
static int parse_phc_key(struct parser *p, struct sim_scenario *s, char **tok, int ntok,
			 const char *rest)
{
	static const char *const keys[] = {
		"clock_name",	"timescale",	 "offset",	    "freq_ppb",	 "delay",
		"delay_jitter", "asymmetry",	 "noise",	    "noise_exp", "outlier_prob",
		"outlier",	"precise_noise", "max_reads_per_s", "ops",
		"precise_noise_exp", "precise_outlier_prob", "precise_outlier", "window_spread"};
	struct sim_phc_conf *c;
	const char *k = tok[0];
	const char *v = ntok > 1 ? tok[1] : "";
	size_t i;
	long long n;
	int bad = 0;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i], k) == 0)
			break;
	if (i == sizeof(keys) / sizeof(keys[0]))
		return 1;
	if (s->nphc == 0)
		return fail(p, "'%s' outside a 'phc' block", k);
	c = &s->phc[s->nphc - 1];
	if (strcmp(k, "clock_name") == 0) {
		if (!*rest || strlen(rest) >= sizeof(c->clock_name))
			return fail(p, "clock_name needs a value of at most %zu characters",
				    sizeof(c->clock_name) - 1);
		snprintf(c->clock_name, sizeof(c->clock_name), "%s", rest);
		return 0;
	}
	if (ntok != 2)
		return fail(p, "'%s' takes one value", k);
	if (strcmp(k, "timescale") == 0) {
		bad = strcmp(v, "tai") && strcmp(v, "utc");
		c->tai = strcmp(v, "tai") == 0;
	} else if (strcmp(k, "offset") == 0) {
		bad = parse_time(v, &c->offset_ns);
	} else if (strcmp(k, "freq_ppb") == 0) {
		bad = parse_double(v, &c->freq_ppb) || fabs(c->freq_ppb) > MAX_PHC_FREQ_PPB;
	} else if (strcmp(k, "delay") == 0) {
		bad = parse_time(v, &c->delay_ns) || c->delay_ns < 0 || c->delay_ns > NS;
	} else if (strcmp(k, "delay_jitter") == 0) {
		bad = parse_time(v, &c->delay_jitter_ns) || c->delay_jitter_ns < 0 ||
		      c->delay_jitter_ns > NS;
	} else if (strcmp(k, "asymmetry") == 0) {
		bad = parse_double(v, &c->asymmetry) || c->asymmetry < 0 || c->asymmetry > 1;
	} else if (strcmp(k, "noise") == 0) {
		bad = parse_time(v, &c->noise_ns) || c->noise_ns < 0;
	} else if (strcmp(k, "noise_exp") == 0) {
		bad = parse_time(v, &c->noise_exp_ns) || c->noise_exp_ns < 0;
	} else if (strcmp(k, "outlier_prob") == 0) {
		bad = parse_double(v, &c->outlier_prob) || c->outlier_prob < 0 ||
		      c->outlier_prob > 1;
	} else if (strcmp(k, "outlier") == 0) {
		bad = parse_time(v, &c->outlier_ns) || c->outlier_ns < 0;
	} else if (strcmp(k, "precise_noise") == 0) {
		bad = parse_time(v, &c->precise_noise_ns) || c->precise_noise_ns < 0;
	} else if (strcmp(k, "precise_noise_exp") == 0) {
		bad = parse_time(v, &c->precise_noise_exp_ns) || c->precise_noise_exp_ns < 0;
	} else if (strcmp(k, "precise_outlier_prob") == 0) {
		bad = parse_double(v, &c->precise_outlier_prob) || c->precise_outlier_prob < 0 ||
		      c->precise_outlier_prob > 1;
	} else if (strcmp(k, "precise_outlier") == 0) {
		bad = parse_time(v, &c->precise_outlier_ns) || c->precise_outlier_ns < 0;
	} else if (strcmp(k, "window_spread") == 0) {
		bad = parse_double(v, &c->window_spread) || c->window_spread < 0 ||
		      c->window_spread > 1;
	} else if (strcmp(k, "max_reads_per_s") == 0) {
		bad = parse_int(v, 0, 1000000, &n);
		c->max_reads_per_s = (int)n;
	} else {
		bad = parse_ops(v, &c->ops);
	}
	return bad ? fail(p, "bad value '%s' for '%s'", v, k) : 0;
}

static int parse_dev(struct parser *p, const struct sim_scenario *s, const char *v, int *dev)
{
	long long n;

	if (parse_int(v, 0, 999, &n))
		return fail(p, "bad device '%s'", v);
	for (int i = 0; i < s->nphc; i++)
		if (s->phc[i].index == n) {
			*dev = (int)n;
			return 0;
		}
	return fail(p, "no PHC with index %lld (declared above)", n);
}

/* The text after the first n words of rest (which starts at a line's second word). */
static const char *skip_words(const char *rest, int n)
{
	while (n-- > 0) {
		rest += strcspn(rest, " \t\r");
		rest += strspn(rest, " \t\r");
	}
	return rest;
}

static int parse_vmclock_event(struct parser *p, struct sim_event *e, const char *name,
			       char **tok, int ntok)
{
	long long n;

	if (strcmp(name, "vmclock_migrate") == 0 || strcmp(name, "vmclock_restore") == 0) {
		bool restore = name[8] == 'r';

		e->type = restore ? SIM_EV_VMCLOCK_RESTORE : SIM_EV_VMCLOCK_MIGRATE;
		if (ntok != 1 || parse_time(tok[0], &e->value_ns) || (restore && e->value_ns < 0))
			return fail(p, "expected '%s %s'", name, restore ? "AGE" : "CLOCK_STEP");
		return 0;
	}
	if (strcmp(name, "vmclock_marker") == 0 || strcmp(name, "vmclock_touch") == 0) {
		e->type = name[8] == 'm' ? SIM_EV_VMCLOCK_MARKER : SIM_EV_VMCLOCK_TOUCH;
		return ntok ? fail(p, "'%s' takes no value", name) : 0;
	}
	if (ntok != 1)
		return fail(p, "'%s' takes one value", name);
	if (strcmp(name, "vmclock_flags") == 0) {
		e->type = SIM_EV_VMCLOCK_FLAGS;
		e->arg = !strcmp(tok[0], "soon")       ? SIM_VMCLOCK_SOON
			 : !strcmp(tok[0], "imminent") ? SIM_VMCLOCK_IMMINENT
			 : !strcmp(tok[0], "none")     ? 0
						       : -1;
		return e->arg < 0 ? fail(p, "expected 'vmclock_flags soon|imminent|none'") : 0;
	}
	if (strcmp(name, "vmclock_status") == 0) {
		e->type = SIM_EV_VMCLOCK_STATUS;
		e->arg = word_index(vmclock_status_names, 5, tok[0]);
		return e->arg < 0 ? fail(p, "unknown vmclock status '%s'", tok[0]) : 0;
	}
	if (strcmp(name, "vmclock_leap") == 0) {
		e->type = SIM_EV_VMCLOCK_LEAP;
		e->arg = word_index(vmclock_leap_names, 6, tok[0]);
		return e->arg < 0 ? fail(p, "unknown vmclock leap indicator '%s'", tok[0]) : 0;
	}
	if (strcmp(name, "vmclock_tai") == 0) {
		e->type = SIM_EV_VMCLOCK_TAI;
		if (parse_int(tok[0], -32768, 32767, &n))
			return fail(p, "bad TAI offset '%s'", tok[0]);
		e->arg = (int)n;
		return 0;
	}
	return fail(p, "unknown event '%s'", name);
}

/* The vmclock device's keys: `vmclock notify|poll`, then vmclock_* settings. */
static int parse_vmclock_key(struct parser *p, struct sim_scenario *s, char **tok, int ntok)
{
	struct sim_vmclock_conf *c = &s->vmclock;
	const char *k = tok[0], *v = ntok > 1 ? tok[1] : "";
	long long n;

	if (ntok != 2)
		return fail(p, "'%s' takes one value", k);
	if (strcmp(k, "vmclock") == 0) {
		if (strcmp(v, "notify") && strcmp(v, "poll"))
			return fail(p, "expected 'vmclock notify|poll'");
		c->present = true;
		c->notify = strcmp(v, "notify") == 0;
		return 0;
	}
	if (!c->present)
		return fail(p, "'%s' before 'vmclock notify|poll'", k);
	if (strcmp(k, "vmclock_status") == 0) {
		c->status = word_index(vmclock_status_names, 5, v);
		return c->status < 0 ? fail(p, "unknown vmclock status '%s'", v) : 0;
	}
	if (strcmp(k, "vmclock_maxerror") == 0)
		return parse_time(v, &c->maxerror_ns) || c->maxerror_ns < 0
			       ? fail(p, "bad value '%s' for '%s'", v, k)
			       : 0;
	if (strcmp(k, "vmclock_torn") == 0) {
		if (parse_int(v, 0, 1000000, &n))
			return fail(p, "bad value '%s' for '%s'", v, k);
		c->torn_every = (int)n;
		return 0;
	}
	if (strcmp(k, "vmclock_bad") == 0) {
		if (strcmp(v, "magic") && strcmp(v, "size") && strcmp(v, "version") &&
		    strcmp(v, "unsettled"))
			return fail(p, "expected 'vmclock_bad magic|size|version|unsettled'");
		snprintf(c->bad, sizeof(c->bad), "%s", v);
		return 0;
	}
	return fail(p, "unknown key '%s'", k);
}

static int parse_event(struct parser *p, struct sim_scenario *s, char **tok, int ntok,
		       const char *rest)
{
	struct sim_event e = {.line = p->line};
	const char *name;
	long long n;

	if (ntok < 3)
		return fail(p, "expected 'at TIME EVENT ARGS...'");
	if (parse_time(tok[1], &e.t_ns) || e.t_ns < 0)
		return fail(p, "bad event time '%s'", tok[1]);
	if (s->nevents == SIM_MAX_EVENTS)
		return fail(p, "more than %d events", SIM_MAX_EVENTS);
	name = tok[2];
	tok += 3;
	ntok -= 3;
	if (strcmp(name, "phc_step") == 0) {
		e.type = SIM_EV_PHC_STEP;
		if (ntok != 2 || parse_dev(p, s, tok[0], &e.dev))
			return ntok != 2 ? fail(p, "expected 'phc_step DEV TIME'") : -1;
		if (parse_time(tok[1], &e.value_ns))
			return fail(p, "bad step '%s'", tok[1]);
	} else if (strcmp(name, "phc_freq") == 0) {
		e.type = SIM_EV_PHC_FREQ;
		if (ntok != 2 || parse_dev(p, s, tok[0], &e.dev))
			return ntok != 2 ? fail(p, "expected 'phc_freq DEV PPB'") : -1;
		if (parse_double(tok[1], &e.value) || fabs(e.value) > MAX_PHC_FREQ_PPB)
			return fail(p, "bad frequency '%s'", tok[1]);
	} else if (strcmp(name, "sys_freq_step") == 0) {
		e.type = SIM_EV_SYS_FREQ_STEP;
		if (ntok != 1 || parse_double(tok[0], &e.value) || fabs(e.value) > 1e4)
			return fail(p, "expected 'sys_freq_step PPM'");
	} else if (strcmp(name, "suspend") == 0) {
		e.type = SIM_EV_SUSPEND;
		if ((ntok != 1 && ntok != 3) || parse_time(tok[0], &e.value_ns) || e.value_ns <= 0)
			return fail(p, "expected 'suspend TIME [inject_error TIME]'");
		if (ntok == 3) {
			if (strcmp(tok[1], "inject_error") || parse_time(tok[2], &e.inject_ns))
				return fail(p, "expected 'inject_error TIME'");
			e.has_inject = true;
		}
	} else if (strcmp(name, "phc_error") == 0) {
		size_t i;

		e.type = SIM_EV_PHC_ERROR;
		if (ntok != 3 || parse_dev(p, s, tok[0], &e.dev))
			return ntok != 3 ? fail(p, "expected 'phc_error DEV ERRNO TIME'") : -1;
		for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
			if (strcmp(errnames[i].name, tok[1]) == 0)
				e.err = errnames[i].err;
		if (!e.err)
			return fail(p,
				    "unknown error '%s' (EIO, ESTALE, ENODEV, EINVAL, "
				    "ETIMEDOUT, EBUSY, EOPNOTSUPP, EINTR)",
				    tok[1]);
		if (parse_time(tok[2], &e.value_ns) || e.value_ns <= 0)
			return fail(p, "bad duration '%s'", tok[2]);
	} else if (strcmp(name, "phc_remove") == 0) {
		e.type = SIM_EV_PHC_REMOVE;
		if (ntok != 3 || parse_dev(p, s, tok[0], &e.dev))
			return ntok != 3 ? fail(p, "expected 'phc_remove DEV TIME NEW_INDEX'") : -1;
		if (parse_time(tok[1], &e.value_ns) || e.value_ns <= 0)
			return fail(p, "bad duration '%s'", tok[1]);
		if (parse_int(tok[2], 0, 999, &n))
			return fail(p, "bad index '%s'", tok[2]);
		e.new_index = (int)n;
	} else if (strcmp(name, "phc_freeze") == 0) {
		e.type = SIM_EV_PHC_FREEZE;
		if (ntok != 2 || parse_dev(p, s, tok[0], &e.dev))
			return ntok != 2 ? fail(p, "expected 'phc_freeze DEV TIME'") : -1;
		if (parse_time(tok[1], &e.value_ns) || e.value_ns <= 0)
			return fail(p, "bad duration '%s'", tok[1]);
	} else if (strcmp(name, "phc_backstep") == 0 || strcmp(name, "phc_delay_spike") == 0) {
		bool spike = strcmp(name, "phc_delay_spike") == 0;

		e.type = spike ? SIM_EV_PHC_DELAY_SPIKE : SIM_EV_PHC_BACKSTEP;
		if (ntok != 3 || parse_dev(p, s, tok[0], &e.dev))
			return ntok != 3 ? fail(p, "expected '%s DEV %s TIME'", name,
						spike ? "DELAY" : "STEP")
					 : -1;
		/* A read's window, like 'delay', stays within a second. */
		if (parse_time(tok[1], &e.size_ns) || e.size_ns <= 0 || (spike && e.size_ns > NS))
			return fail(p, "bad %s '%s'", spike ? "delay" : "step", tok[1]);
		if (parse_time(tok[2], &e.value_ns) || e.value_ns <= 0)
			return fail(p, "bad duration '%s'", tok[2]);
	} else if (strncmp(name, "vmclock_", 8) == 0) {
		if (parse_vmclock_event(p, &e, name, tok, ntok))
			return -1;
	} else if (strcmp(name, "exec") == 0) {
		const char *cmd = skip_words(rest, 2);

		e.type = SIM_EV_EXEC;
		if (!*cmd)
			return fail(p, "expected 'at TIME exec COMMAND...'");
		if (s->nexec == SIM_MAX_EXEC)
			return fail(p, "more than %d exec events", SIM_MAX_EXEC);
		e.exec = s->nexec;
		snprintf(s->exec[s->nexec++], SIM_EXEC_LEN, "%s", cmd);
	} else {
		return fail(p, "unknown event '%s'", name);
	}
	s->ev[s->nevents++] = e;
	return 0;
}

static int parse_global(struct parser *p, struct sim_scenario *s, char **tok, int ntok,
			const char *rest)
{
	static const char *const keys[] = {"seed",	 "duration",	 "start",
					   "tai_utc",	 "sys_tai",	 "mono_start",
					   "sys_offset", "sys_freq_ppm", "sys_random_walk_ppb"};
	const char *k = tok[0];
	size_t i;
	const char *v = ntok > 1 ? tok[1] : "";
	long long n;
	int bad = 0;

	if (strcmp(k, "phc") == 0)
		return parse_phc_line(p, s, tok, ntok);
	if (strcmp(k, "at") == 0)
		return parse_event(p, s, tok, ntok, rest);
	if (strncmp(k, "vmclock", 7) == 0)
		return parse_vmclock_key(p, s, tok, ntok);
	if (strcmp(k, "name") == 0) {
		if (!*rest || strlen(rest) >= sizeof(s->name))
			return fail(p, "name needs a value of at most %zu characters",
				    sizeof(s->name) - 1);
		snprintf(s->name, sizeof(s->name), "%s", rest);
		return 0;
	}
	if (strcmp(k, "sys_sine_ppm") == 0) {
		int64_t period_ns;

		if (ntok != 3 || parse_double(tok[1], &s->sys_sine_ppm) ||
		    parse_time(tok[2], &period_ns) || period_ns <= 0)
			return fail(p, "expected 'sys_sine_ppm AMPLITUDE PERIOD'");
		s->sys_sine_period_s = (double)period_ns / NS;
		return 0;
	}
	if (strcmp(k, "leap") == 0) {
		struct sim_leap *l = &s->leap[s->nleaps];

		if (s->nleaps == SIM_MAX_LEAPS)
			return fail(p, "more than %d leap seconds", SIM_MAX_LEAPS);
		if (ntok != 3 || parse_date(tok[1], false, &l->midnight_s) ||
		    (strcmp(tok[2], "+1") && strcmp(tok[2], "-1")))
			return fail(p, "expected 'leap YYYY-MM-DD +1|-1'");
		l->midnight_s += 86400;
		l->sign = tok[2][0] == '+' ? 1 : -1;
		s->nleaps++;
		return 0;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i], k) == 0)
			break;
	if (i == sizeof(keys) / sizeof(keys[0]))
		return fail(p, "unknown key '%s'", k);
	if (ntok != 2)
		return fail(p, "'%s' takes one value", k);
	if (strcmp(k, "seed") == 0) {
		bad = parse_int(v, 0, INT64_MAX, &n);
		s->seed = (uint64_t)n;
	} else if (strcmp(k, "duration") == 0) {
		bad = parse_time(v, &s->duration_ns) || s->duration_ns <= 0 ||
		      s->duration_ns > 366 * 86400 * NS;
	} else if (strcmp(k, "start") == 0) {
		bad = parse_date(v, true, &s->start_s);
	} else if (strcmp(k, "tai_utc") == 0) {
		bad = parse_int(v, 0, 1000, &n);
		s->tai_utc_s = (int)n;
	} else if (strcmp(k, "sys_tai") == 0) {
		bad = parse_int(v, 0, 1000, &n);
		s->sys_tai_s = (int)n;
	} else if (strcmp(k, "mono_start") == 0) {
		bad = parse_time(v, &s->mono_start_ns) || s->mono_start_ns < 0;
	} else if (strcmp(k, "sys_offset") == 0) {
		bad = parse_time(v, &s->sys_offset_ns);
	} else if (strcmp(k, "sys_freq_ppm") == 0) {
		bad = parse_double(v, &s->sys_freq_ppm) || fabs(s->sys_freq_ppm) > 1e4;
	} else {
		bad = parse_double(v, &s->sys_random_walk_ppb) || s->sys_random_walk_ppb < 0;
	}
	return bad ? fail(p, "bad value '%s' for '%s'", v, k) : 0;
}

static int cmp_event(const void *a, const void *b)
{
	const struct sim_event *x = a, *y = b;

	if (x->t_ns != y->t_ns)
		return x->t_ns < y->t_ns ? -1 : 1;
	return x->line - y->line;
}

static int cmp_leap(const void *a, const void *b)
{
	const struct sim_leap *x = a, *y = b;

	return x->midnight_s < y->midnight_s ? -1 : x->midnight_s > y->midnight_s;
}

static int check(struct parser *p, struct sim_scenario *s)
{
	for (int i = 0; i < s->nphc; i++)
		for (int j = 0; j < i; j++)
			if (s->phc[i].index == s->phc[j].index)
				return fail(p, "two PHC devices with index %d", s->phc[i].index);
	qsort(s->ev, (size_t)s->nevents, sizeof(s->ev[0]), cmp_event);
	qsort(s->leap, (size_t)s->nleaps, sizeof(s->leap[0]), cmp_leap);
	for (int i = 0; i < s->nleaps; i++) {
		if (i > 0 && s->leap[i].midnight_s == s->leap[i - 1].midnight_s)
			return fail(p, "two leap seconds on one day");
		/* The leap second itself must lie after the start. */
		if (s->leap[i].midnight_s - 1 <= s->start_s)
			return fail(p, "leap second before the start");
	}
	return 0;
}

int sim_scenario_parse(struct sim_scenario *s, const char *text, const char *origin, char *err,
		       size_t errlen)
{
	struct parser p = {.origin = origin, .err = err, .errlen = errlen};
	const char *line = text;

	set_defaults(s);
	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[512];
		char rest[512] = "";
		char *tok[16];
		char *save = NULL;
		char *hash;
		int ntok = 0;
		int r;

		p.line++;
		if (len >= sizeof(buf)) {
			fail(&p, "line too long");
			return -1;
		}
		memcpy(buf, line, len);
		buf[len] = '\0';
		line += len + (nl ? 1 : 0);
		hash = strchr(buf, '#');
		if (hash)
			*hash = '\0';
		/* The text after the key, for values with spaces (clock_name, name). */
		{
			const char *q = buf + strspn(buf, " \t\r");

			q += strcspn(q, " \t\r");
			q += strspn(q, " \t\r");
			snprintf(rest, sizeof(rest), "%s", q);
			for (size_t n = strlen(rest); n && strchr(" \t\r", rest[n - 1]); n--)
				rest[n - 1] = '\0';
		}
		for (char *t = strtok_r(buf, " \t\r", &save); t;
		     t = strtok_r(NULL, " \t\r", &save)) {
			/* A command is the rest of the line, as many words as it has. */
			if (ntok == 3 && strcmp(tok[0], "at") == 0 && strcmp(tok[2], "exec") == 0)
				break;
			if (ntok == 16) {
				fail(&p, "too many words");
				return -1;
			}
			tok[ntok++] = t;
		}
		if (ntok == 0)
			continue;
		r = parse_phc_key(&p, s, tok, ntok, rest);
		if (r == 1)
			r = parse_global(&p, s, tok, ntok, rest);
		if (r)
			return -1;
	}
	p.line = 0;
	return check(&p, s);
}

int sim_scenario_load(struct sim_scenario *s, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text;
	long size;
	int r;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || size > 1 << 20 ||
	    fseek(f, 0, SEEK_SET)) {
		snprintf(err, errlen, "%s: not a readable scenario of at most 1 MiB", path);
		fclose(f);
		return -1;
	}
	text = calloc(1, (size_t)size + 1);
	if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) {
		snprintf(err, errlen, "%s: read failed", path);
		free(text);
		fclose(f);
		return -1;
	}
	fclose(f);
	r = sim_scenario_parse(s, text, path, err, errlen);
	free(text);
	return r;
}

int sim_scenario_builtin(struct sim_scenario *s, const char *name, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (strcmp(builtins[i].name, name) == 0)
			return sim_scenario_parse(s, builtins[i].text, builtins[i].name, err,
						  errlen);
	snprintf(err, errlen, "no built-in scenario '%s' (have: kvm-hour)", name);
	return -1;
}
