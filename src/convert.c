/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A chrony.conf or a phc2sys command line into phcsyncd.conf. The output is built as
 * blocks, one per input line or option, each quoting its input, then its settings and the
 * comments that explain what differs. Every setting goes through conf_set() as it is made,
 * so the output always parses; a key set twice keeps the later value (chrony's own rule)
 * and the earlier one is written as a comment.
 *
 * What changes how the clock is corrected (steps, offsets, time scale, poll rate) is
 * carried over as the old tool did it, even where phcsyncd's default differs, with a
 * comment on the difference: a migration should not change behaviour silently. What the
 * old tool did not have (a leap table, holdover, the step budget) keeps phcsyncd's default.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "phcsync/conf.h"
#include "phcsync/convert.h"

#define WORDS_MAX 64
#define NOTE_WIDTH 90
/* TAI - UTC has been 10 s (1972) to 37 s (2017): offsets in this range are TAI. */
#define TAI_UTC_MIN 10
#define TAI_UTC_MAX 37
#define TAI_UTC_NOW 37
/* phcsyncd.conf's ranges, repeated here only to say what was clamped. */
#define POLL_LOG2_MIN -6
#define POLL_LOG2_MAX 6
#define READINGS_MAX 25
#define OFFSET_MAX_S 1000.0
#define READS_PER_SECOND_DEFAULT 100.0

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	if (b->oom)
		return;
	va_copy(aq, ap);
	n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, aq);
	va_end(aq);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if (!b->p || b->len + (size_t)n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(b, fmt, ap);
	va_end(ap);
}

/* A setting (key set) or a comment (key NULL) in a block. */
struct item {
	size_t block;
	char *key;
	char *text; /* the value, or the comment */
	bool replaced;
};

struct cv {
	const char *name;
	unsigned line; /* of the input the current block comes from; 0: none */
	char **heads;  /* one per block */
	size_t nblocks, blocks_cap;
	struct item *items;
	size_t nitems, items_cap;
	struct sbuf msgs;
	int errors, warnings;
	bool oom;
	struct conf check; /* every setting made so far, through conf_set */
};

static char *vformat(const char *fmt, va_list ap)
{
	struct sbuf b = {0};

	sb_vprintf(&b, fmt, ap);
	if (b.oom || !b.p) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
	void *q;
	size_t n = *cap ? *cap : 16;

	if (need <= *cap)
		return true;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * size);
	if (!q)
		return false;
	*p = q;
	*cap = n;
	return true;
}

static void begin(struct cv *c, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Start a block, headed by fmt; line is where its input is, for messages. */
static void begin(struct cv *c, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char *head;

	c->line = line;
	va_start(ap, fmt);
	head = vformat(fmt, ap);
	va_end(ap);
	if (!head || !grow((void **)&c->heads, &c->blocks_cap, c->nblocks + 1, sizeof(char *))) {
		free(head);
		c->oom = true;
		return;
	}
	c->heads[c->nblocks++] = head;
}

static void add_item(struct cv *c, char *key, char *text)
{
	if (!text || c->nblocks == 0 ||
	    !grow((void **)&c->items, &c->items_cap, c->nitems + 1, sizeof(struct item))) {
		free(key);
		free(text);
		c->oom = true;
		return;
	}
	c->items[c->nitems++] = (struct item){c->nblocks - 1, key, text, false};
}

static void note(struct cv *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A comment in the current block. */
static void note(struct cv *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_item(c, NULL, vformat(fmt, ap));
	va_end(ap);
}

static void diag(struct cv *c, const char *level, const char *fmt, va_list ap)
{
	if (c->line)
		sb_printf(&c->msgs, "%s:%u: %s: ", c->name, c->line, level);
	else
		sb_printf(&c->msgs, "%s: %s: ", c->name, level);
	sb_vprintf(&c->msgs, fmt, ap);
	sb_printf(&c->msgs, "\n");
}

static void warn(struct cv *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A trap: one line on stderr, beside the comment that explains it. */
static void warn(struct cv *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag(c, "warning", fmt, ap);
	va_end(ap);
	c->warnings++;
}

static void fail(struct cv *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Input that cannot be converted: nothing is printed, the message says what was expected. */
static void fail(struct cv *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag(c, "error", fmt, ap);
	va_end(ap);
	c->errors++;
}

static void set(struct cv *c, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A setting in the current block, checked as phcsyncd will read it. */
static void set(struct cv *c, const char *key, const char *fmt, ...)
{
	char err[512];
	va_list ap;
	char *value;
	size_t i;

	va_start(ap, fmt);
	value = vformat(fmt, ap);
	va_end(ap);
	if (!value) {
		c->oom = true;
		return;
	}
	if (conf_set(&c->check, key, value, "converted", err, sizeof(err)) < 0) {
		note(c, "Not converted, as phcsyncd would refuse it: %s.", err);
		warn(c, "%s", err);
		free(value);
		return;
	}
	for (i = 0; i < c->nitems; i++)
		if (c->items[i].key && strcmp(c->items[i].key, key) == 0)
			c->items[i].replaced = true;
	add_item(c, strdup(key), value);
}

/* Seconds with nanosecond resolution and no trailing zeros: 0.25, 16, 0.000001. */
static void put_seconds(char *buf, size_t len, double s)
{
	size_t n;

	snprintf(buf, len, "%.9f", s);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	if (strcmp(buf, "-0") == 0)
		snprintf(buf, len, "0");
}

static void set_seconds(struct cv *c, const char *key, double s)
{
	char v[64];

	put_seconds(v, sizeof(v), s);
	set(c, key, "%s", v);
}

/* Whole-string decimal numbers only; like phcsyncd.conf, no hex, NaN or infinity. */
static bool parse_real(const char *s, double *out)
{
	char *end;

	if (!*s || s[strspn(s, "0123456789.eE+-")] != '\0')
		return false;
	errno = 0;
	*out = strtod(s, &end);
	return errno == 0 && *end == '\0' && isfinite(*out);
}

static bool parse_int(const char *s, long *out)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	*out = strtol(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static bool is_whole(double v)
{
	return v == floor(v);
}

/* Word wrap a comment into "# " lines. */
static void put_comment(struct sbuf *out, const char *text)
{
	const char *p = text;

	while (*p) {
		size_t room = NOTE_WIDTH - 2, n = strlen(p), cut = n;

		if (n > room) {
			cut = room;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0) /* one word longer than a line */
				cut = strcspn(p, " ");
		}
		sb_printf(out, "# %.*s\n", (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

static void render(struct cv *c, struct sbuf *out, enum convert_format format)
{
	size_t b, i;

	sb_printf(out,
		  "# phcsyncd.conf converted by phcsyncd --convert from %s (a %s).\n"
		  "# Each block quotes its input, then gives the settings and what differs.\n"
		  "# Review the comments, then check the file with phcsyncd --check-config -f "
		  "FILE.\n",
		  c->name, convert_format_name(format));
	for (b = 0; b < c->nblocks; b++) {
		sb_printf(out, "\n# %s\n", c->heads[b]);
		for (i = 0; i < c->nitems; i++) {
			const struct item *it = &c->items[i];

			if (it->block != b)
				continue;
			if (!it->key)
				put_comment(out, it->text);
			else if (it->replaced)
				sb_printf(out,
					  "# %s %s   (set again below: the later one counts)\n",
					  it->key, it->text);
			else
				sb_printf(out, "%s %s\n", it->key, it->text);
		}
	}
}

/* ---- chrony.conf ---- */

/* What chrony directives with no single equivalent are about, and the comment for each. */
enum topic { T_NTP, T_SERVE, T_CMD, T_LOG, T_RTC, T_MODEL, T_PROCESS, T_INCLUDE, T_COUNT };

static const char *const topic_note[T_COUNT] = {
	[T_NTP] = "No equivalent: phcsyncd has no NTP client and follows only the PHC. chronyd "
		  "could fall back to these sources when the PHC failed; phcsyncd holds the "
		  "last frequency instead (holdover). If you need NTP as a fallback, NTS, or "
		  "several sources, keep chrony (with its refclock PHC line).",
	[T_SERVE] = "No equivalent: phcsyncd does not serve time to other machines. If this "
		    "machine is an NTP server, keep chrony.",
	[T_CMD] = "No equivalent: phcsyncctl(8) reaches phcsyncd through a Unix socket only "
		  "(control_socket, with access for control_group).",
	[T_LOG] = "No equivalent: phcsyncd logs to syslog or the journal (every step, and a "
		  "summary every summary_interval); phcsyncctl status and metrics give its "
		  "state.",
	[T_RTC] = "No equivalent: phcsyncd does not track the real-time clock; rtcsync yes "
		  "lets the kernel copy the system time to it.",
	[T_MODEL] = "No equivalent: a parameter of chronyd's clock model and source "
		    "statistics. phcsyncd's servo, disruption checks (disruption_samples) "
		    "and reference sanity (reference_freq_limit) have their own settings.",
	[T_PROCESS] = "No equivalent needed: under systemd phcsyncd runs as root with only "
		      "CAP_SYS_TIME (outside it, user NAME switches to NAME); it keeps no pid "
		      "file and needs no locked memory or real-time priority.",
	[T_INCLUDE] = "Not followed: convert the files it names too, and merge the results by "
		      "hand.",
};

static const struct {
	const char *name;
	enum topic topic;
} chrony_topics[] = {
	{"server", T_NTP},
	{"pool", T_NTP},
	{"peer", T_NTP},
	{"initstepslew", T_NTP},
	{"sourcedir", T_NTP},
	{"keyfile", T_NTP},
	{"ntsdumpdir", T_NTP},
	{"ntstrustedcerts", T_NTP},
	{"nosystemcert", T_NTP},
	{"nocerttimecheck", T_NTP},
	{"ntsrefresh", T_NTP},
	{"authselectmode", T_NTP},
	{"minsources", T_NTP},
	{"maxdistance", T_NTP},
	{"maxjitter", T_NTP},
	{"combinelimit", T_NTP},
	{"reselectdist", T_NTP},
	{"stratumweight", T_NTP},
	{"acquisitionport", T_NTP},
	{"bindacqaddress", T_NTP},
	{"bindacqdevice", T_NTP},
	{"dscp", T_NTP},
	{"hwtimestamp", T_NTP},
	{"ptpport", T_NTP},
	{"manual", T_NTP},
	{"minsamples", T_NTP},
	{"maxsamples", T_NTP},
	{"allow", T_SERVE},
	{"deny", T_SERVE},
	{"local", T_SERVE},
	{"bindaddress", T_SERVE},
	{"binddevice", T_SERVE},
	{"broadcast", T_SERVE},
	{"clientloglimit", T_SERVE},
	{"noclientlog", T_SERVE},
	{"ntpsigndsocket", T_SERVE},
	{"ntsport", T_SERVE},
	{"ntsservercert", T_SERVE},
	{"ntsserverkey", T_SERVE},
	{"ntsprocesses", T_SERVE},
	{"maxntsconnections", T_SERVE},
	{"ntsntpserver", T_SERVE},
	{"ntsrotate", T_SERVE},
	{"port", T_SERVE},
	{"ratelimit", T_SERVE},
	{"ntsratelimit", T_SERVE},
	{"smoothtime", T_SERVE},
	{"bindcmdaddress", T_CMD},
	{"bindcmddevice", T_CMD},
	{"cmdallow", T_CMD},
	{"cmddeny", T_CMD},
	{"cmdport", T_CMD},
	{"cmdratelimit", T_CMD},
	{"logdir", T_LOG},
	{"log", T_LOG},
	{"logbanner", T_LOG},
	{"logchange", T_LOG},
	{"mailonchange", T_LOG},
	{"rtcfile", T_RTC},
	{"rtcdevice", T_RTC},
	{"rtconutc", T_RTC},
	{"rtcautotrim", T_RTC},
	{"hwclockfile", T_RTC},
	{"maxclockerror", T_MODEL},
	{"corrtimeratio", T_MODEL},
	{"fallbackdrift", T_MODEL},
	{"clockprecision", T_MODEL},
	{"tempcomp", T_MODEL},
	{"dumpdir", T_MODEL},
	{"dumponexit", T_MODEL},
	{"lock_all", T_PROCESS},
	{"sched_priority", T_PROCESS},
	{"pidfile", T_PROCESS},
	{"user", T_PROCESS},
	{"confdir", T_INCLUDE},
	{"include", T_INCLUDE},
};

struct chrony {
	unsigned phc_line; /* the refclock PHC line converted; 0: none */
	bool phc_noselect; /* that line has noselect */
	unsigned topic_line[T_COUNT];
	bool makestep, leaptable, tai_option;
	double poll_interval_s; /* of the converted refclock, for makestep's note */
};

/* Words of one line, split at white space, in a copy the caller frees. */
static char *split(const char *line, size_t len, char **w, int *n)
{
	char *copy = strndup(line, len), *save = NULL, *t;

	*n = 0;
	if (!copy)
		return NULL;
	for (t = strtok_r(copy, " \t\r\f\v", &save); t; t = strtok_r(NULL, " \t\r\f\v", &save)) {
		if (*n == WORDS_MAX) {
			*n = -1;
			break;
		}
		w[(*n)++] = t;
	}
	return copy;
}

static bool has_word(char **w, int n, int from, const char *word)
{
	for (int i = from; i < n; i++)
		if (strcasecmp(w[i], word) == 0)
			return true;
	return false;
}

/* A PHC driver parameter with extpps timestamps external pulses: not a time source. */
static bool is_phc_time_source(char **w, int n)
{
	return n >= 3 && strcasecmp(w[0], "refclock") == 0 && strcmp(w[1], "PHC") == 0 &&
	       !strstr(w[2], ":extpps");
}

/* refclock options that take a value, and whether that value is an integer. */
static const struct {
	const char *name;
	bool integer;
} refclock_values[] = {
	{"poll", true},	  {"dpoll", true},	{"filter", true},	  {"offset", false},
	{"delay", false}, {"precision", false}, {"maxdispersion", false}, {"stratum", true},
	{"refid", false}, {"lock", false},	{"rate", true},		  {"maxlockage", true},
	{"width", false}, {"minsamples", true}, {"maxsamples", true},
};

static const char *const refclock_flags[] = {"pps",	"noselect", "prefer", "trust",
					     "require", "tai",	    "local"};

struct refclock {
	long poll, dpoll, filter;
	bool poll_given;
	double offset_s;
	bool offset_given;
	bool flags[sizeof(refclock_flags) / sizeof(refclock_flags[0])];
	char ignored[256]; /* options with no equivalent, for one comment */
};

static bool flag(const struct refclock *r, const char *name)
{
	for (size_t i = 0; i < sizeof(refclock_flags) / sizeof(refclock_flags[0]); i++)
		if (strcmp(refclock_flags[i], name) == 0)
			return r->flags[i];
	return false;
}

static void add_ignored(struct refclock *r, const char *opt)
{
	size_t used = strlen(r->ignored);

	snprintf(r->ignored + used, sizeof(r->ignored) - used, "%s%s", used ? ", " : "", opt);
}

/* Parse the options after the driver parameter. Returns false after an error. */
static bool refclock_options(struct cv *c, char **w, int n, struct refclock *r)
{
	int i = 3;

	while (i < n) {
		const char *opt = w[i];
		size_t k, nv = sizeof(refclock_values) / sizeof(refclock_values[0]);
		bool done = false;

		for (k = 0; k < sizeof(refclock_flags) / sizeof(refclock_flags[0]); k++) {
			if (strcasecmp(opt, refclock_flags[k]) == 0) {
				r->flags[k] = true;
				done = true;
			}
		}
		if (done) {
			i++;
			continue;
		}
		for (k = 0; k < nv && strcasecmp(opt, refclock_values[k].name) != 0; k++)
			;
		if (k == nv) {
			note(c,
			     "Unknown refclock option %s: it and the rest of the line are not "
			     "converted.",
			     opt);
			warn(c,
			     "refclock: unknown option %s: the rest of the line is not converted",
			     opt);
			return true;
		}
		if (i + 1 >= n) {
			fail(c, "refclock %s: missing value, expected %s", refclock_values[k].name,
			     refclock_values[k].integer ? "an integer" : "a number");
			return false;
		}
		const char *val = w[i + 1], *name = refclock_values[k].name;
		long iv = 0;
		double dv = 0;

		if (strcmp(name, "refid") == 0 || strcmp(name, "lock") == 0) {
			add_ignored(r, name);
		} else if (refclock_values[k].integer ? !parse_int(val, &iv)
						      : !parse_real(val, &dv)) {
			fail(c, "refclock %s: expected %s, got \"%s\"", refclock_values[k].name,
			     refclock_values[k].integer ? "an integer" : "a number in seconds",
			     val);
			return false;
		} else if (strcmp(name, "poll") == 0 || strcmp(name, "dpoll") == 0) {
			bool is_poll = strcmp(name, "poll") == 0;

			if (iv < -30 || iv > 30) {
				fail(c,
				     "refclock %s: expected an integer from -30 to 30, got \"%s\"",
				     name, val);
				return false;
			}
			*(is_poll ? &r->poll : &r->dpoll) = iv;
			r->poll_given |= is_poll;
		} else if (strcmp(name, "filter") == 0) {
			if (iv < 1) {
				fail(c, "refclock filter: expected an integer from 1, got \"%s\"",
				     val);
				return false;
			}
			r->filter = iv;
		} else if (strcmp(name, "offset") == 0) {
			r->offset_s = dv;
			r->offset_given = true;
		} else {
			add_ignored(r, refclock_values[k].name);
		}
		i += 2;
	}
	return true;
}

static void refclock_timescale(struct cv *c, struct chrony *ch, const struct refclock *r)
{
	double off = r->offset_s;

	if (flag(r, "tai")) {
		set(c, "timescale", "tai");
		note(c, "tai: the PHC keeps TAI. chronyd subtracts TAI - UTC taken from its "
			"leapsectz table; phcsyncd takes it from leapfile (auto: tzdata's "
			"leap-seconds.list, then right/UTC), or utc_offset when no table can be "
			"read.");
		ch->tai_option = true;
	} else if (r->offset_given && is_whole(off) && off <= -TAI_UTC_MIN && off >= -TAI_UTC_MAX) {
		set(c, "timescale", "tai");
		if (off != -TAI_UTC_NOW)
			set(c, "utc_offset", "%.0f", -off);
		note(c,
		     "offset %g: this is TAI - UTC, not an error to compensate: the PHC keeps "
		     "TAI, and chrony's documentation has you subtract TAI - UTC with offset. "
		     "phcsyncd says so with timescale tai and takes TAI - UTC from its leap "
		     "table, so the next leap second needs no edit; utc_offset is used only "
		     "when no table can be read.",
		     off);
		warn(c, "refclock offset %g read as a TAI PHC: converted to timescale tai", off);
		return;
	} else {
		set(c, "timescale", "utc");
		note(c, "Without the tai option chronyd takes the PHC's time as UTC. phcsyncd's "
			"default (timescale auto) would take a vmclock device as TAI.");
	}
	if (!r->offset_given || off == 0)
		return;
	if (fabs(off) > OFFSET_MAX_S) {
		note(c, "offset %g is not converted: phcsyncd's offset_ns is limited to +-%.0f s.",
		     off, OFFSET_MAX_S);
		warn(c, "refclock offset %g s is beyond offset_ns's range", off);
		return;
	}
	set(c, "offset_ns", "%.0f", round(off * 1e9));
	note(c,
	     "offset %g s: chrony's offset and phcsyncd's offset_ns are both added to the "
	     "PHC's time, so the sign is kept.",
	     off);
	if (!flag(r, "tai") && is_whole(off) && off >= TAI_UTC_MIN && off <= TAI_UTC_MAX) {
		note(c,
		     "Check the sign: this puts the system clock %g s ahead of the PHC. A PHC "
		     "that keeps TAI needs offset -%g in chrony, which is timescale tai here.",
		     off, off);
		warn(c,
		     "refclock offset +%g: a TAI PHC needs -%g (timescale tai); converted as "
		     "given",
		     off, off);
	}
}

static void refclock_poll(struct cv *c, struct chrony *ch, const struct refclock *r)
{
	long poll = r->poll, dpoll = r->dpoll, clamped = poll, per, samples;
	char iv[64];

	if (clamped < POLL_LOG2_MIN)
		clamped = POLL_LOG2_MIN;
	if (clamped > POLL_LOG2_MAX)
		clamped = POLL_LOG2_MAX;
	ch->poll_interval_s = ldexp(1.0, (int)clamped);
	per = poll > dpoll ? (poll - dpoll > 20 ? 1L << 20 : 1L << (poll - dpoll)) : 1;
	samples = per < r->filter ? per : r->filter;
	set_seconds(c, "poll_interval", ch->poll_interval_s);
	set(c, "readings", "%ld", samples > READINGS_MAX ? READINGS_MAX : samples);
	put_seconds(iv, sizeof(iv), ldexp(1.0, (int)dpoll));
	note(c,
	     "poll %ld, dpoll %ld, filter %ld: chronyd reads the PHC every %s s and "
	     "updates the clock every 2^%ld s from the %ld sample%s of the interval, averaging "
	     "those its median filter keeps. phcsyncd updates every poll_interval from a burst "
	     "of readings taken together, keeping the one with the shortest read delay.",
	     poll, dpoll, r->filter, iv, poll, samples, samples == 1 ? "" : "s");
	if (clamped != poll)
		note(c, "poll_interval is limited to 2^%d to 2^%d s: 2^%ld became 2^%ld.",
		     POLL_LOG2_MIN, POLL_LOG2_MAX, poll, clamped);
	if (samples > READINGS_MAX)
		note(c, "readings is limited to %d.", READINGS_MAX);
	if (!r->poll_given)
		note(c, "poll is chronyd's default (4, 16 s). phcsyncd's own default, a burst of "
			"5 readings every second, follows the PHC more tightly: delete "
			"poll_interval and readings to use it.");
}

static void chrony_refclock(struct cv *c, struct chrony *ch, char **w, int n)
{
	struct refclock r = {.poll = 4, .dpoll = 0, .filter = 64};
	char *path, *opt, *save = NULL;

	if (n < 3) {
		fail(c, "refclock: expected a driver and its parameter, as in "
			"\"refclock PHC /dev/ptp0\"");
		return;
	}
	if (strcmp(w[1], "PHC") != 0) {
		note(c,
		     "No equivalent: phcsyncd follows only a PTP hardware clock (refclock PHC); "
		     "this %s source is not converted. Keep chrony if you need it.",
		     w[1]);
		return;
	}
	if (!is_phc_time_source(w, n)) {
		note(c, "No equivalent: with extpps chronyd uses the PHC to timestamp an external "
			"pulse, not as a time source.");
		return;
	}
	if (c->line != ch->phc_line) {
		note(c, "Not converted: phcsyncd follows one PHC, the one on line %u.",
		     ch->phc_line);
		warn(c, "a second refclock PHC: only line %u is converted", ch->phc_line);
		return;
	}
	if (!refclock_options(c, w, n, &r))
		return;

	path = strtok_r(w[2], ":", &save);
	if (!path || path[0] != '/') {
		fail(c, "refclock PHC: expected a device path starting with /, got \"%s\"",
		     path ? path : "");
		return;
	}
	set(c, "device", "%s", path);
	if (strncmp(path, "/dev/ptp", 8) == 0 && path[8] >= '0' && path[8] <= '9')
		note(c, "PHC numbers can change from boot to boot: device auto finds the "
			"hypervisor's clock by its name, device interface:NAME a network card's.");
	while ((opt = strtok_r(NULL, ":", &save))) {
		if (strcmp(opt, "nocrossts") == 0)
			note(c, "nocrossts: phcsyncd's readout auto tries cross-timestamps "
				"(PTP_SYS_OFFSET_PRECISE) first; readout extended (or basic, where "
				"the driver has no extended) avoids them as nocrossts did.");
		else
			note(c, "Driver option %s has no equivalent.", opt);
	}
	refclock_timescale(c, ch, &r);
	refclock_poll(c, ch, &r);
	if (flag(&r, "noselect")) {
		note(c,
		     "noselect: chronyd only monitored this clock and never steered the system "
		     "clock with it. phcsyncd steers with it; to only monitor, run phcsyncd -x.");
		warn(c,
		     "refclock PHC is noselect in chrony; phcsyncd will steer the clock with it");
	}
	if (flag(&r, "pps")) {
		note(c, "pps: chronyd used only the fraction of a second and took the whole "
			"seconds from other sources; phcsyncd takes the PHC's whole time, so its "
			"seconds must be right (see timescale).");
		warn(c, "refclock PHC pps: phcsyncd follows the whole seconds of the PHC too");
	}
	if (flag(&r, "local")) {
		note(c, "local: chronyd used this clock only as a frequency standard; phcsyncd "
			"follows its time as well.");
		warn(c, "refclock PHC local: phcsyncd follows the PHC's time, not only its rate");
	}
	if (flag(&r, "prefer") || flag(&r, "trust") || flag(&r, "require"))
		note(c, "prefer, trust and require choose among several sources; phcsyncd has "
			"one.");
	if (r.ignored[0])
		note(c,
		     "Not converted: %s. chronyd uses such options to weigh and select sources "
		     "and to estimate their error; phcsyncd has one source and measures each "
		     "reading's delay itself.",
		     r.ignored);
}

static bool parse_args(struct cv *c, const char *what, int n, int want, const char *expected)
{
	if (n - 1 >= want)
		return true;
	fail(c, "%s: missing value, expected %s", what, expected);
	return false;
}

static void chrony_makestep(struct cv *c, struct chrony *ch, char **w, int n)
{
	double threshold;
	long limit;

	if (!parse_args(c, "makestep", n, 2, "a threshold in seconds and a limit of updates"))
		return;
	if (!parse_real(w[1], &threshold) || threshold < 0) {
		fail(c, "makestep: expected a threshold in seconds (0 or more), got \"%s\"", w[1]);
		return;
	}
	if (!parse_int(w[2], &limit)) {
		fail(c, "makestep: expected a limit of clock updates (an integer), got \"%s\"",
		     w[2]);
		return;
	}
	ch->makestep = true;
	/* phcsyncd's 0 means never; chronyd's 0 threshold steps any offset. */
	if (threshold == 0)
		threshold = 1e-9;
	if (limit == 0) {
		set(c, "first_step_threshold", "0");
		set(c, "step_threshold", "0");
		note(c, "A limit of 0 updates: chronyd never steps, and neither will phcsyncd.");
		return;
	}
	set_seconds(c, "first_step_threshold", threshold);
	if (limit < 0) {
		set_seconds(c, "step_threshold", threshold);
		note(c,
		     "chronyd steps whenever the offset is beyond %g s (a negative limit), as "
		     "phcsyncd does with both thresholds. phcsyncd's steps after the first lock "
		     "are also limited by the step budget (step_window, step_limit_back, "
		     "step_limit_count).",
		     threshold);
		return;
	}
	set(c, "step_threshold", "0");
	note(c,
	     "makestep %s %ld: chronyd steps the clock when it is off by more than %g s in any "
	     "of its first %ld clock update%s (about %g s at this poll interval), and only "
	     "slews after that. phcsyncd steps beyond first_step_threshold only at its first "
	     "update, "
	     "and with step_threshold 0 never after, so an offset after a live migration or a "
	     "resume is slewed (at about 10%%, 100 ms a second, where chronyd's maxslewrate "
	     "gives 83 ms). phcsyncd's default step_threshold 0.128 steps such offsets at once; "
	     "delete the step_threshold line to use it.",
	     w[1], limit, threshold, limit, limit == 1 ? "" : "s",
	     (double)limit * ch->poll_interval_s);
}

static void chrony_leaptable(struct cv *c, struct chrony *ch, char **w, int n, bool tz)
{
	if (!parse_args(c, w[0], n, 1, tz ? "a time zone name" : "a file path"))
		return;
	ch->leaptable = true;
	if (tz && w[1][0] != '/')
		set(c, "leapfile", "/usr/share/zoneinfo/%s", w[1]);
	else
		set(c, "leapfile", "%s", w[1]);
	note(c,
	     "phcsyncd reads the table itself (a TZif zone with leap seconds, or a "
	     "leap-seconds.list whose hash it checks). leapfile auto, its default, uses tzdata's "
	     "leap-seconds.list, then right/UTC.");
}

static void chrony_leapsecmode(struct cv *c, char **w, int n)
{
	if (!parse_args(c, "leapsecmode", n, 1, "system, step, slew or ignore"))
		return;
	if (strcasecmp(w[1], "system") == 0 || strcasecmp(w[1], "step") == 0) {
		set(c, "leap_mode", "%s", strcasecmp(w[1], "system") == 0 ? "system" : "step");
	} else if (strcasecmp(w[1], "slew") == 0) {
		set(c, "leap_mode", "smear");
		note(c, "slew: chronyd slews the second out after it happened (about 12 s at its "
			"maxslewrate). phcsyncd's nearest mode, smear, spreads it over "
			"leap_smear_window (a day) centred on the leap, as the public clouds do.");
		warn(c, "leapsecmode slew became leap_mode smear, which spreads the second over a "
			"day");
	} else if (strcasecmp(w[1], "ignore") == 0) {
		note(c, "ignore has no equivalent: phcsyncd applies leap seconds from its table "
			"(leap_mode). With leapfile none it ignores them, and corrects the PHC's "
			"jump like any other.");
	} else {
		fail(c, "leapsecmode: expected system, step, slew or ignore, got \"%s\"", w[1]);
	}
}

static void chrony_maxchange(struct cv *c, char **w, int n)
{
	double max;
	long start, ignore;

	if (!parse_args(c, "maxchange", n, 3, "an offset in seconds and two counts"))
		return;
	if (!parse_real(w[1], &max) || max <= 0) {
		fail(c, "maxchange: expected an offset in seconds (above 0), got \"%s\"", w[1]);
		return;
	}
	if (!parse_int(w[2], &start) || !parse_int(w[3], &ignore)) {
		fail(c,
		     "maxchange: expected two integers (updates before the check, offsets to "
		     "ignore), got \"%s %s\"",
		     w[2], w[3]);
		return;
	}
	set_seconds(c, "max_offset_panic", max > 1e9 ? 1e9 : max);
	note(c,
	     "chronyd checks from update %ld on, ignores %ld larger offsets, then exits. "
	     "phcsyncd checks from its first sample (allow_large_step yes disables the check), "
	     "never exits, and leaves the clock alone while the offset stays beyond the limit, "
	     "reporting a fault.",
	     start, ignore);
}

static void chrony_line(struct cv *c, struct chrony *ch, char **w, int n)
{
	const char *d = w[0];
	size_t i;

	if (strcasecmp(d, "refclock") == 0) {
		chrony_refclock(c, ch, w, n);
	} else if (strcasecmp(d, "makestep") == 0) {
		chrony_makestep(c, ch, w, n);
	} else if (strcasecmp(d, "leapsectz") == 0 || strcasecmp(d, "leapseclist") == 0) {
		chrony_leaptable(c, ch, w, n, strcasecmp(d, "leapsectz") == 0);
	} else if (strcasecmp(d, "leapsecmode") == 0) {
		chrony_leapsecmode(c, w, n);
	} else if (strcasecmp(d, "rtcsync") == 0) {
		set(c, "rtcsync", "yes");
		note(c, "The same kernel mode (11-minute RTC updates); phcsyncd enables it only "
			"while the clock is locked.");
	} else if (strcasecmp(d, "driftfile") == 0) {
		set(c, "driftfile", "/var/lib/phcsyncd/drift");
		note(c, "phcsyncd keeps its own file, in its own format, where its unit may write "
			"(/var/lib/phcsyncd); chronyd's file is not read.");
	} else if (strcasecmp(d, "maxchange") == 0) {
		chrony_maxchange(c, w, n);
	} else if (strcasecmp(d, "maxupdateskew") == 0) {
		note(c, "No equivalent: chronyd ignores frequency estimates less certain than "
			"this. phcsyncd's kalman servo weighs each sample by its own estimate of the noise; its disruption checks "
			"(disruption_samples) and reference sanity (reference_freq_limit) keep bad "
			"samples out.");
	} else if (strcasecmp(d, "maxslewrate") == 0) {
		note(c, "No equivalent: phcsyncd slews at up to the kernel's range (500 ppm of "
			"frequency plus the tick, about 10%% in all).");
	} else if (strcasecmp(d, "maxdrift") == 0) {
		note(c, "No equivalent: phcsyncd's frequency is limited by the kernel's range. "
			"reference_freq_limit is a different check: it bounds the PHC's own rate.");
	} else {
		for (i = 0; i < sizeof(chrony_topics) / sizeof(chrony_topics[0]); i++)
			if (strcasecmp(d, chrony_topics[i].name) == 0)
				break;
		if (i == sizeof(chrony_topics) / sizeof(chrony_topics[0])) {
			note(c, "Unknown chrony directive: not converted.");
			warn(c, "unknown chrony directive %s: not converted", d);
			return;
		}
		enum topic t = chrony_topics[i].topic;

		if (ch->topic_line[t]) {
			note(c, "No equivalent (see line %u).", ch->topic_line[t]);
			return;
		}
		ch->topic_line[t] = c->line;
		note(c, "%s", topic_note[t]);
		if (t == T_NTP && ch->phc_line)
			warn(c, "%s: phcsyncd has no NTP fallback for when the PHC fails", d);
		else if (t == T_SERVE)
			warn(c, "%s: phcsyncd does not serve time", d);
		else if (t == T_INCLUDE)
			warn(c, "%s: the files it names are not converted", d);
	}
}

/* Calls fn with the words of each line that is not blank or a comment. */
static void each_line(struct cv *c, const char *text, size_t len, bool quote,
		      void (*fn)(struct cv *, struct chrony *, char **, int), struct chrony *ch)
{
	size_t pos = 0;
	unsigned lineno = 0;

	while (pos < len && !c->oom) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos, skip = 0, end = n;
		char *w[WORDS_MAX] = {0}, *copy;
		int nw;

		pos += n + (nl ? 1 : 0);
		lineno++;
		while (skip < n && strchr(" \t\r\f\v", line[skip]))
			skip++;
		if (skip == n || strchr("!;#%", line[skip]))
			continue;
		while (end > skip && strchr(" \t\r\f\v", line[end - 1]))
			end--;
		if (memchr(line, '\0', n)) {
			c->line = lineno;
			if (quote)
				fail(c, "expected text, got a NUL byte");
			continue;
		}
		copy = split(line + skip, end - skip, w, &nw);
		if (!copy) {
			c->oom = true;
			return;
		}
		if (quote)
			begin(c, lineno, "line %u: %.*s", lineno, (int)(end - skip), line + skip);
		c->line = lineno;
		if (nw < 0) {
			if (quote)
				fail(c, "expected at most %d words", WORDS_MAX);
		} else
			fn(c, ch, w, nw);
		free(copy);
	}
}

static void find_phc(struct cv *c, struct chrony *ch, char **w, int n)
{
	if (!is_phc_time_source(w, n))
		return;
	/* The first PHC that steers; without one, the first PHC at all. */
	if (!ch->phc_line || (ch->phc_noselect && !has_word(w, n, 3, "noselect"))) {
		long poll = 4;

		ch->phc_line = c->line;
		ch->phc_noselect = has_word(w, n, 3, "noselect");
		/* For makestep's comment, which may come first; a bad value fails later. */
		for (int i = 3; i + 1 < n; i++)
			if (strcasecmp(w[i], "poll") == 0 && parse_int(w[i + 1], &poll))
				break;
		ch->poll_interval_s = ldexp(1.0, poll < POLL_LOG2_MIN	? POLL_LOG2_MIN
						 : poll > POLL_LOG2_MAX ? POLL_LOG2_MAX
									: (int)poll);
	}
}

static void chrony_convert(struct cv *c, const char *text, size_t len)
{
	struct chrony ch = {0};

	each_line(c, text, len, false, find_phc, &ch);
	each_line(c, text, len, true, chrony_line, &ch);
	if (c->errors || c->oom)
		return;
	c->line = 0;
	if (!ch.phc_line) {
		fail(c, "no refclock PHC line: chronyd follows no PTP hardware clock here, and "
			"phcsyncd follows nothing else (phcsyncd(8), CONVERTING)");
		return;
	}
	if (!ch.makestep) {
		begin(c, 0, "not in %s: makestep", c->name);
		set(c, "first_step_threshold", "0");
		set(c, "step_threshold", "0");
		note(c, "Without makestep chronyd never steps the clock; these keep it so. "
			"phcsyncd's defaults step at start beyond 20 us and later beyond 0.128 s "
			"(live migrations, resumes): delete both lines to use them.");
	}
	if (!ch.leaptable) {
		begin(c, 0, "not in %s: leapsectz", c->name);
		note(c,
		     "chronyd learned leap seconds only from NTP servers (a PHC carries none)%s. "
		     "phcsyncd reads tzdata's table (leapfile auto).",
		     ch.tai_option ? ", and its tai option needs leapsectz to work" : "");
	}
}

/* ---- phc2sys command line ---- */

#define P2S_ARG_OPTS "fdsicEPISFRNOLMunzlt"
#define P2S_FLAG_OPTS "arwxmqhv"

/* phc2sys's config file options that have a short option, as long options. */
static const struct {
	const char *name;
	char letter;
} p2s_long[] = {
	{"step_threshold", 'S'},    {"first_step_threshold", 'F'}, {"pi_proportional_const", 'P'},
	{"pi_integral_const", 'I'}, {"clock_servo", 'E'},	   {"sanity_freq_limit", 'L'},
	{"ntpshm_segment", 'M'},    {"domainNumber", 'n'},	   {"uds_address", 'z'},
	{"logging_level", 'l'},	    {"message_tag", 't'},
};

struct p2s {
	const char *value[128]; /* the last value of each option letter */
	char shown[128][160];	/* the option as written, for its block */
	int count[128];
	const char *unknown[WORDS_MAX];
	int nunknown;
	double rate_hz;
};

/*
 * Split s into words as sh does with quotes and backslashes (no expansion) into buf (at
 * least strlen(s) + 1 bytes). Returns the number of words, -1 for an unterminated quote,
 * -2 for too many words.
 */
static int sh_split(const char *s, char *buf, char **w, int max)
{
	int n = 0;
	char *o = buf;

	while (*s) {
		char quote = 0;

		while (*s && strchr(" \t\r\f\v\n", *s))
			s++;
		if (!*s)
			break;
		if (n == max)
			return -2;
		w[n++] = o;
		while (*s && (quote || !strchr(" \t\r\f\v\n", *s))) {
			if (quote == '\'' && *s == '\'') {
				quote = 0;
			} else if (quote == '\'') {
				*o++ = *s;
			} else if (*s == '\\' && s[1] && (!quote || strchr("\"\\$`", s[1]))) {
				*o++ = *++s;
			} else if (*s == '"' || (!quote && *s == '\'')) {
				quote = quote ? 0 : *s;
			} else {
				*o++ = *s;
			}
			s++;
		}
		if (quote)
			return -1;
		*o++ = '\0';
	}
	return n;
}

static const char *skip_space(const char *s)
{
	while (*s && strchr(" \t\r\f\v", *s))
		s++;
	return s;
}

/* After ExecStart= or OPTIONS= (a unit or a sysconfig file), the command line itself. */
static const char *strip_prefix(const char *s, bool *options)
{
	*options = false;
	s = skip_space(s);
	if (strncmp(s, "ExecStart=", 10) == 0) {
		s += 10;
		while (*s && strchr("-@:+!", *s))
			s++;
	} else if (strncmp(s, "OPTIONS=", 8) == 0) {
		s += 8;
		*options = true;
	}
	return s;
}

static bool is_phc2sys(const char *word)
{
	const char *base = strrchr(word, '/');

	return strcmp(base ? base + 1 : word, "phc2sys") == 0;
}

/* The command line: continuation lines joined, comments and blank lines skipped. */
static char *command_line(struct cv *c, const char *text, size_t len, unsigned *first)
{
	struct sbuf b = {0};
	size_t pos = 0;
	unsigned lineno = 0;
	bool cont = false, done = false;

	*first = 0;
	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos, end = n;
		const char *t;

		pos += n + (nl ? 1 : 0);
		lineno++;
		while (end > 0 && strchr(" \t\r\f\v", line[end - 1]))
			end--;
		t = skip_space(line);
		if (!cont && ((size_t)(t - line) >= end || *t == '#'))
			continue;
		if (memchr(line, '\0', n)) {
			c->line = lineno;
			fail(c, "expected text, got a NUL byte");
			break;
		}
		if (done) {
			c->line = lineno;
			fail(c, "expected one phc2sys command line (the first is on line %u)",
			     *first);
			break;
		}
		if (!*first)
			*first = lineno;
		cont = end > 0 && line[end - 1] == '\\';
		sb_printf(&b, "%.*s ", (int)(end - (cont ? 1 : 0)), line);
		if (!cont)
			done = true;
	}
	if (b.oom) {
		c->oom = true;
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* Parse the words of the command line into p. Returns false after an error. */
static bool p2s_parse(struct cv *c, char **w, int n, struct p2s *p)
{
	int i = 0;

	if (n > 0 && is_phc2sys(w[0]))
		i++;
	for (; i < n; i++) {
		const char *a = w[i];

		if (strcmp(a, "--") == 0 || a[0] != '-' || a[1] == '\0') {
			fail(c, "unexpected argument \"%s\": expected phc2sys options only",
			     strcmp(a, "--") == 0 && i + 1 < n ? w[i + 1] : a);
			return false;
		}
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name), k;
			const char *val = eq ? eq + 1 : (i + 1 < n ? w[++i] : NULL);

			if (!val) {
				fail(c, "%s: missing value", a);
				return false;
			}
			for (k = 0; k < sizeof(p2s_long) / sizeof(p2s_long[0]); k++)
				if (strlen(p2s_long[k].name) == len &&
				    strncmp(p2s_long[k].name, name, len) == 0)
					break;
			if (k == sizeof(p2s_long) / sizeof(p2s_long[0])) {
				if (p->nunknown < WORDS_MAX)
					p->unknown[p->nunknown++] = a;
				continue;
			}
			unsigned char l = (unsigned char)p2s_long[k].letter;

			p->value[l] = val;
			p->count[l]++;
			snprintf(p->shown[l], sizeof(p->shown[l]), "--%.*s %s", (int)len, name,
				 val);
			continue;
		}
		for (const char *o = a + 1; *o; o++) {
			unsigned char l = (unsigned char)*o;

			if (strchr(P2S_FLAG_OPTS, l)) {
				p->count[l]++;
				/* -r may be given twice (-rr). */
				snprintf(p->shown[l], sizeof(p->shown[l]), "-%c%s", l,
					 l == 'r' && p->count[l] > 1 ? "r" : "");
				continue;
			}
			if (!strchr(P2S_ARG_OPTS, l)) {
				if (p->nunknown < WORDS_MAX)
					p->unknown[p->nunknown++] = a;
				break;
			}
			const char *val = o[1] ? o + 1 : (i + 1 < n ? w[++i] : NULL);

			if (!val) {
				fail(c, "-%c: missing value", l);
				return false;
			}
			p->value[l] = val;
			p->count[l]++;
			snprintf(p->shown[l], sizeof(p->shown[l]), "-%c %s", l, val);
			break;
		}
	}
	return true;
}

/* A block for option l if it was given; returns its value (or "" for a flag). */
static const char *given(struct cv *c, const struct p2s *p, unsigned line, char l)
{
	unsigned char u = (unsigned char)l;

	if (!p->count[u])
		return NULL;
	begin(c, line, "phc2sys %s", p->shown[u]);
	return p->value[u] ? p->value[u] : "";
}

static bool p2s_real(struct cv *c, char l, const char *v, double min, double *out)
{
	if (parse_real(v, out) && *out >= min)
		return true;
	fail(c, "-%c: expected a number from %g, got \"%s\"", l, min, v);
	*out = 1; /* a usable value for what follows, which prints nothing after an error */
	return false;
}

static void p2s_source(struct cv *c, const struct p2s *p, unsigned line)
{
	const char *s = given(c, p, line, 's');
	const char *i = given(c, p, line, 'i');

	if (i) {
		note(c, "-i is -s under its old name.");
		if (!s)
			s = i;
	}
	if (!s)
		return;
	if (s[0] == '/') {
		set(c, "device", "%s", s);
		if (strncmp(s, "/dev/ptp", 8) == 0 && s[8] >= '0' && s[8] <= '9')
			note(c, "PHC numbers can change from boot to boot: device auto finds the "
				"hypervisor's clock by its name, device interface:NAME a network "
				"card's.");
	} else if (strncmp(s, "CLOCK_", 6) == 0) {
		fail(c,
		     "-s %s: the source must be a PTP hardware clock: phcsyncd disciplines "
		     "CLOCK_REALTIME from a PHC only",
		     s);
	} else if (strlen(s) > 15 || strpbrk(s, "/: \t") || strcmp(s, ".") == 0 ||
		   strcmp(s, "..") == 0) {
		fail(c, "-s %s: expected a /dev/ptp* path or a network interface name", s);
	} else {
		set(c, "device", "interface:%s", s);
		note(c, "An interface name: phcsyncd asks the kernel for its PHC at start, and "
			"again when the clock disappears. Under systemd this needs "
			"PrivateNetwork=no (phcsyncd(8)).");
	}
}

static void p2s_timescale(struct cv *c, const struct p2s *p, unsigned line)
{
	const char *v;
	long o;

	if (given(c, p, line, 'w')) {
		note(c, "phc2sys waited for ptp4l to be synchronised; phcsyncd does not talk to "
			"ptp4l and starts at once.");
		if (!p->count['O']) {
			set(c, "timescale", "tai");
			note(c,
			     "-w without -O: phc2sys kept the system clock TAI - UTC behind the "
			     "PHC with the offset ptp4l announced, so the PHC keeps TAI. phcsyncd "
			     "takes TAI - UTC from its leap table.");
		}
	}
	v = given(c, p, line, 'O');
	if (!v)
		return;
	if (!parse_int(v, &o)) {
		fail(c, "-O: expected a whole number of seconds, got \"%s\"", v);
		return;
	}
	if (o <= -TAI_UTC_MIN && o >= -TAI_UTC_MAX) {
		set(c, "timescale", "tai");
		if (o != -TAI_UTC_NOW)
			set(c, "utc_offset", "%ld", -o);
		note(c,
		     "-O %ld is TAI - UTC, not an offset to compensate: the PHC keeps TAI and "
		     "the system clock UTC, %ld s behind (phc2sys(8), TIME SCALE USAGE). phcsyncd "
		     "says so with timescale tai and takes TAI - UTC from its leap table, so the "
		     "next leap second needs no edit; utc_offset is used only when no table can "
		     "be read.",
		     o, -o);
		warn(c, "-O %ld read as a TAI PHC: converted to timescale tai", o);
		return;
	}
	set(c, "timescale", "utc");
	if (o == 0) {
		note(c, "-O 0: the PHC is taken as UTC. phcsyncd's default (timescale auto) would "
			"take a vmclock device as TAI.");
		return;
	}
	if (labs(o) > (long)OFFSET_MAX_S) {
		note(c, "-O %ld is not converted: phcsyncd's offset_ns is limited to +-%.0f s.", o,
		     OFFSET_MAX_S);
		warn(c, "-O %ld is beyond offset_ns's range", o);
		return;
	}
	set(c, "offset_ns", "%ld000000000", o);
	note(c,
	     "-O %ld: phc2sys sets the system clock to the PHC's time plus -O, and phcsyncd "
	     "adds offset_ns to the PHC's time: the sign is kept.",
	     o);
	if (o >= TAI_UTC_MIN && o <= TAI_UTC_MAX) {
		note(c,
		     "Check the sign: -O %ld puts the system clock %ld s ahead of the PHC. For "
		     "a PHC that keeps TAI phc2sys needs -O -%ld, which is timescale tai here.",
		     o, o, o);
		warn(c, "-O %ld: a TAI PHC needs -O -%ld (timescale tai); converted as given", o,
		     o);
	}
}

static void p2s_servo(struct cv *c, const struct p2s *p, unsigned line)
{
	const char *e = given(c, p, line, 'E');
	const char *kp = p->value['P'], *ki = p->value['I'];
	double v;

	if (e) {
		if (strcmp(e, "pi") == 0) {
			set(c, "servo", "pi");
		} else if (strcmp(e, "linreg") == 0) {
			set(c, "servo", "kalman");
			note(c, "linreg estimates the frequency by regression over recent samples; "
				"phcsyncd's kalman servo (its default) estimates offset and frequency "
				"with the read noise and the oscillator's wander learnt from the data.");
		} else if (strcmp(e, "ntpshm") == 0 || strcmp(e, "nullf") == 0 ||
			   strcmp(e, "refclock_sock") == 0) {
			note(c,
			     "With -E %s phc2sys did not steer the clock itself (it fed another "
			     "daemon, or held the frequency). phcsyncd steers it: stop the other "
			     "daemon, or run phcsyncd -x to only observe.",
			     e);
			warn(c, "-E %s: phcsyncd disciplines the clock itself", e);
		} else {
			fail(c,
			     "-E: expected pi, linreg, ntpshm, nullf or refclock_sock, got \"%s\"",
			     e);
		}
	}
	for (int k = 0; k < 2; k++) {
		char l = k ? 'I' : 'P';
		const char *val = given(c, p, line, l);

		if (!val || !p2s_real(c, l, val, 0, &v))
			continue;
		if (kp && ki) {
			set(c, k ? "pi_ki" : "pi_kp", "%s", val);
			note(c, "A fixed gain, as phc2sys uses -P and -I when both are given; "
				"phcsyncd caps it where linuxptp does, beyond which the loop "
				"diverges.");
		} else {
			note(c,
			     "phc2sys uses -P and -I only when both are given, and otherwise "
			     "derives both from the update rate, as phcsyncd does with pi_kp and "
			     "pi_ki 0: not converted.");
			warn(c, "-%c alone: phc2sys ignored it, so it is not converted", l);
		}
	}
}

static void p2s_steps(struct cv *c, const struct p2s *p, unsigned line)
{
	const char *v;
	double s;

	if ((v = given(c, p, line, 'S')) && p2s_real(c, 'S', v, 0, &s)) {
		set_seconds(c, "step_threshold", s);
		note(c, "%s",
		     s == 0 ? "0: never step after the first update, as with phc2sys."
			    : "Steps after the first lock are also limited by phcsyncd's "
			      "step budget (step_window, step_limit_back, step_limit_count).");
	}
	if ((v = given(c, p, line, 'F')) && p2s_real(c, 'F', v, 0, &s)) {
		set_seconds(c, "first_step_threshold", s);
		note(c, "The same rule: step at the first update beyond it, 0 never.");
	}
}

static void p2s_rate(struct cv *c, struct p2s *p, unsigned line)
{
	const char *v;
	long n = 5;

	p->rate_hz = 1;
	if ((v = given(c, p, line, 'R')) && p2s_real(c, 'R', v, 1e-9, &p->rate_hz)) {
		double s = 1 / p->rate_hz;

		if (s < 1.0 / 64 || s > 64) {
			s = s < 1.0 / 64 ? 1.0 / 64 : 64;
			note(c, "poll_interval is limited to 1/64 to 64 s (-R 64 to 0.015625).");
			warn(c, "-R %s is beyond poll_interval's range: %g s used", v, s);
		}
		set_seconds(c, "poll_interval", s);
		note(c, "-R is updates a second, poll_interval seconds between updates.");
	}
	if ((v = given(c, p, line, 'N'))) {
		if (!parse_int(v, &n) || n < 1) {
			fail(c, "-N: expected an integer from 1, got \"%s\"", v);
			return;
		}
		set(c, "readings", "%ld", n > READINGS_MAX ? READINGS_MAX : n);
		note(c, "Both keep the reading with the shortest read delay.%s",
		     n > READINGS_MAX ? " readings is limited to 25." : "");
	}
	if ((double)(n > READINGS_MAX ? READINGS_MAX : n) * p->rate_hz > READS_PER_SECOND_DEFAULT)
		note(c, "phcsyncd reads the PHC at most max_reads_per_second (100) times a second "
			"and takes fewer readings per update to stay below it; raise it if the "
			"device allows more.");
}

static void p2s_other(struct cv *c, const struct p2s *p, unsigned line)
{
	const char *v;
	long u;

	if ((v = given(c, p, line, 'u'))) {
		if (!parse_int(v, &u) || u < 0) {
			fail(c, "-u: expected an integer from 0, got \"%s\"", v);
		} else if (u == 0) {
			note(c, "-u 0 prints every update: phcsyncd -d logs every update.");
		} else {
			double s = (double)u / p->rate_hz;

			set_seconds(c, "summary_interval", s < 1 ? 1 : s > 86400 ? 86400 : s);
			note(c, "A summary every %ld updates is one every %g s.", u,
			     (double)u / p->rate_hz);
		}
	}
	if (given(c, p, line, 'L'))
		note(c, "No equivalent: -L checks the system clock's own rate against "
			"CLOCK_MONOTONIC. phcsyncd's reference_freq_limit checks the PHC's rate "
			"instead, at 800 ppm by default.");
	if (given(c, p, line, 'd')) {
		note(c, "No equivalent: phcsyncd reads the PHC's time directly and does not use a "
			"PPS device.");
		warn(c, "-d: the PPS device is not used");
	}
	if (given(c, p, line, 'x'))
		note(c, "phc2sys learns leap seconds only from ptp4l. phcsyncd applies them from "
			"its table as leap_mode says (system by default; smear spreads them out).");
	if (given(c, p, line, 'r'))
		note(c, "-r matters only with -a.");
	if (given(c, p, line, 'f')) {
		note(c, "Not read: convert the options it sets by hand, or give them here as "
			"--name value.");
		warn(c, "-f: the linuxptp configuration file is not converted");
	}
	if (given(c, p, line, 'n') || given(c, p, line, 'z'))
		note(c, "No equivalent: phcsyncd does not talk to ptp4l.");
	if (given(c, p, line, 'M'))
		note(c, "No equivalent: used by the ntpshm servo.");
	if (given(c, p, line, 'm'))
		note(c, "phcsyncd -n stays in the foreground and logs to standard error; under "
			"systemd it logs to the journal.");
	if (given(c, p, line, 'q'))
		note(c, "No equivalent: phcsyncd logs to syslog or, with -n, to standard error.");
	if (given(c, p, line, 'l'))
		note(c, "No equivalent: phcsyncd logs at info and above, every update with -d.");
	if (given(c, p, line, 't'))
		note(c, "No equivalent: phcsyncd's messages are tagged phcsyncd.");
	if (given(c, p, line, 'h') || given(c, p, line, 'v'))
		note(c, "Ignored.");
	for (int i = 0; i < p->nunknown; i++) {
		begin(c, line, "phc2sys %s", p->unknown[i]);
		note(c, "Unknown or without equivalent: not converted.");
		warn(c, "%s: not converted", p->unknown[i]);
	}
}

static void phc2sys_convert(struct cv *c, const char *text, size_t len)
{
	struct p2s *p = calloc(1, sizeof(*p));
	unsigned line;
	char *cmd = command_line(c, text, len, &line), *buf = NULL, *buf2 = NULL, *w[WORDS_MAX];
	const char *rest;
	bool options;
	int n;

	if (!p || !cmd || c->errors)
		goto out;
	c->line = line;
	rest = strip_prefix(cmd, &options);
	buf = malloc(strlen(rest) + 1);
	if (!buf) {
		c->oom = true;
		goto out;
	}
	n = sh_split(rest, buf, w, WORDS_MAX);
	if (n >= 0 && options) {
		/* OPTIONS="-a -r": the words are in the quoted value. */
		struct sbuf joined = {0};

		for (int i = 0; i < n; i++)
			sb_printf(&joined, "%s ", w[i]);
		buf2 = joined.p;
		char *bigger = NULL;

		if (!joined.oom && buf2)
			bigger = realloc(buf, strlen(buf2) + 1);
		if (!bigger) {
			c->oom = true;
			goto out;
		}
		buf = bigger;
		n = sh_split(buf2, buf, w, WORDS_MAX);
	}
	if (n == -1) {
		fail(c, "expected a command line, got an unterminated quote");
		goto out;
	}
	if (n < 0) {
		fail(c, "expected at most %d words", WORDS_MAX);
		goto out;
	}
	if (!p2s_parse(c, w, n, p))
		goto out;
	if (p->count['a']) {
		fail(c,
		     "-a: phc2sys takes its clocks from ptp4l and follows its port states; "
		     "phcsyncd has no PTP stack. Name the PHC ptp4l disciplines instead (phc2sys "
		     "-s DEVICE, or device in phcsyncd.conf)");
		goto out;
	}
	/* From here on every problem is reported, not only the first. */
	if (!p->count['s'] && !p->count['i'])
		fail(c, "no source clock: expected -s DEVICE (a /dev/ptp* path or a network "
			"interface)");
	if (p->value['c'] && strcmp(p->value['c'], "CLOCK_REALTIME") != 0)
		fail(c, "-c %s: phcsyncd disciplines CLOCK_REALTIME only", p->value['c']);
	p2s_source(c, p, line);
	if (given(c, p, line, 'c'))
		note(c, "CLOCK_REALTIME, the only clock phcsyncd disciplines.");
	p2s_timescale(c, p, line);
	p2s_servo(c, p, line);
	p2s_steps(c, p, line);
	p2s_rate(c, p, line);
	p2s_other(c, p, line);
	if (c->errors)
		goto out;
	c->line = 0;
	if (!p->count['S'] || (!p->count['O'] && !p->count['w'])) {
		begin(c, 0, "phc2sys defaults that differ from phcsyncd's");
		if (!p->count['S']) {
			set(c, "step_threshold", "0");
			note(c, "phc2sys's -S 0: never step after the first update, so an offset "
				"after a live migration or a resume is slewed (at about 10%%, 100 "
				"ms a "
				"second). phcsyncd's default step_threshold 0.128 steps such "
				"offsets at "
				"once: delete this line to use it.");
		}
		if (!p->count['O'] && !p->count['w']) {
			set(c, "timescale", "utc");
			note(c, "phc2sys's -O 0: the PHC is taken as UTC. phcsyncd's default "
				"(timescale auto) would take a vmclock device as TAI.");
		}
	}
	begin(c, 0, "what phcsyncd adds");
	note(c, "phc2sys without ptp4l knows no leap seconds; phcsyncd applies them from tzdata's "
		"table (leapfile auto). It also holds the frequency when the PHC fails (holdover), "
		"reopens a PHC that disappears, and limits steps (the step budget).");
out:
	free(buf);
	free(buf2);
	free(cmd);
	free(p);
}

/* ---- the interface ---- */

const char *convert_format_name(enum convert_format format)
{
	return format == CONVERT_PHC2SYS ? "phc2sys command line" : "chrony.conf";
}

enum convert_format convert_detect(const char *text, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos, i = 0;
		char word[256];
		bool options;
		const char *s;

		pos += n + (nl ? 1 : 0);
		if (n >= sizeof(word))
			return CONVERT_CHRONY;
		memcpy(word, line, n);
		word[n] = '\0';
		s = skip_space(word);
		if (!*s || strchr("#!;%", *s))
			continue;
		s = skip_space(strip_prefix(s, &options));
		if (*s == '"' || *s == '\'')
			s++;
		while (s[i] && !strchr(" \t\r\f\v\"'", s[i]))
			i++;
		char first[256];

		if (s[0] == '-')
			return CONVERT_PHC2SYS;
		snprintf(first, sizeof(first), "%.*s", (int)i, s);
		return is_phc2sys(first) ? CONVERT_PHC2SYS : CONVERT_CHRONY;
	}
	return CONVERT_CHRONY;
}

void convert_result_free(struct convert_result *r)
{
	free(r->text);
	free(r->messages);
	r->text = r->messages = NULL;
}

int convert_text(const char *name, const char *text, size_t len, enum convert_format format,
		 struct convert_result *r)
{
	struct cv c = {.name = name};
	struct sbuf out = {0};
	size_t i;
	int ret;

	memset(r, 0, sizeof(*r));
	conf_defaults(&c.check);
	if (format == CONVERT_AUTO)
		format = convert_detect(text, len);
	if (format == CONVERT_PHC2SYS)
		phc2sys_convert(&c, text, len);
	else
		chrony_convert(&c, text, len);
	if (!c.errors && !c.oom)
		render(&c, &out, format);
	sb_printf(&c.msgs, "%s", "");
	ret = c.oom || out.oom || c.msgs.oom ? -ENOMEM : c.errors ? -EINVAL : 0;
	if (ret == 0) {
		r->text = out.p;
		r->len = out.len;
	} else {
		free(out.p);
	}
	r->messages = c.msgs.p;
	r->errors = c.errors;
	r->warnings = c.warnings;
	r->format = format;
	for (i = 0; i < c.nblocks; i++)
		free(c.heads[i]);
	for (i = 0; i < c.nitems; i++) {
		free(c.items[i].key);
		free(c.items[i].text);
	}
	free(c.heads);
	free(c.items);
	return ret;
}
