/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * phcsyncd.conf parser. The format is chrony.conf's: `key value` lines and `#` comments.
 * It is parsed by hand because the grammar is one line deep, while Debian's libinih wants
 * `key = value` (with [sections]): that would mean a different syntax from chrony's and a
 * dependency to replace a few dozen lines.
 *
 * Every value is checked completely (whole-string numbers, no NaN, infinity or hex, ranges
 * that keep later nanosecond conversions inside int64_t) and the first problem stops the
 * parse with one line naming the file, line and key, as a mistyped setting on a clock
 * daemon is better refused at start than half-applied.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "phcsync/conf.h"
#include "phcsync/filter.h"
#include "phcsync/phc.h"
#include "phcsync/ctl_proto.h"

/* A configuration is a few hundred bytes; anything this big is not one. */
#define CONF_FILE_MAX (1024 * 1024)
/* Longer than any valid value, so a value that does not fit is already invalid. */
#define VALUE_MAX 512

/* A socket is a path limited by the AF_UNIX address; a device may also name an interface. */
enum kind {
	KIND_DEVICE,
	KIND_PATH,
	KIND_SOCKET,
	KIND_USER,
	KIND_GROUP,
	KIND_NAME,
	KIND_BOOL,
	KIND_INT,
	KIND_REAL
};

struct name_value {
	const char *name;
	int value;
};

/* A word accepted in place of a path, and the string it is stored as. */
struct word_value {
	const char *word;
	const char *stored;
};

/* Everything about one key; messages and defaults are made from it. */
struct row {
	struct conf_key key;
	enum kind kind;
	size_t off, size; /* the field it fills in struct conf */
	double min, max;  /* KIND_INT and KIND_REAL, inclusive */
	const char *zero; /* what 0 means, if anything; below min it is then accepted too */
	const struct name_value *names; /* KIND_NAME, NULL-terminated */
	const struct word_value *words; /* paths, NULL-terminated */
	bool live; /* a reload applies it to the running daemon; otherwise it needs a restart */
};

static const struct name_value readout_names[] = {
	{"auto", PHC_METHOD_AUTO},	   {"precise", PHC_METHOD_PRECISE},
	{"extended", PHC_METHOD_EXTENDED}, {"basic", PHC_METHOD_BASIC},
	{"gettime", PHC_METHOD_GETTIME},   {NULL, 0},
};

static const struct name_value burst_combine_names[] = {
	{"band", FILTER_COMBINE_BAND},
	{"min", FILTER_COMBINE_MIN},
	{"median", FILTER_COMBINE_MEDIAN},
	{"trimmed", FILTER_COMBINE_TRIMMED},
	{NULL, 0},
};

static const struct name_value servo_names[] = {
	{"pi", SERVO_PI},
	{"kalman", SERVO_KALMAN},
	{NULL, 0},
};

static const struct name_value timescale_names[] = {
	{"auto", CONF_TIMESCALE_AUTO},
	{"utc", CONF_TIMESCALE_UTC},
	{"tai", CONF_TIMESCALE_TAI},
	{NULL, 0},
};

/* Spellings accepted for yes/no settings; chrony and systemd users expect these. */
static const struct name_value bool_names[] = {
	{"yes", 1},   {"true", 1}, {"on", 1}, {"1", 1},	 {"no", 0},
	{"false", 0}, {"off", 0},  {"0", 0},  {NULL, 0},
};

static const struct name_value leap_mode_names[] = {
	{"system", CONF_LEAP_SYSTEM},
	{"step", CONF_LEAP_STEP},
	{"smear", CONF_LEAP_SMEAR},
	{NULL, 0},
};

static const struct word_value device_words[] = {{"auto", "auto"}, {NULL, NULL}};
/* "auto" is stored as "" so that the daemon, not the file, owns the list of defaults. */
static const struct word_value leapfile_words[] = {{"auto", ""}, {"none", "none"}, {NULL, NULL}};
static const struct word_value control_socket_words[] = {{"none", "none"}, {NULL, NULL}};
static const struct word_value driftfile_words[] = {{"none", ""}, {NULL, NULL}};
static const struct word_value vmclock_words[] = {{"auto", "auto"}, {"none", "none"}, {NULL, NULL}};

#define IFACE_PREFIX "interface:"
/* IFNAMSIZ less its NUL; the kernel refuses longer interface names. */
#define IFACE_NAME_MAX 15
/* useradd's default limit, and what fits utmp's ut_user. */
#define ACCOUNT_NAME_MAX 32
#define SOCKET_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
_Static_assert(SOCKET_PATH_MAX < CONF_PATH_MAX && ACCOUNT_NAME_MAX < CONF_NAME_MAX,
	       "struct conf's strings hold what the parser accepts");

/* store() writes KIND_NAME values as int. */
_Static_assert(sizeof(enum servo_type) == sizeof(int) &&
		       sizeof(enum conf_timescale) == sizeof(int) &&
		       sizeof(enum conf_leap_mode) == sizeof(int),
	       "enum fields are int-sized");

/* 1e9 s (about 32 years) as nanoseconds still fits an int64_t nine times over. */
#define THRESHOLD_MAX_S 1e9

#define KEY(name, def, unit, doc) .key = {name, def, unit, doc}
#define AT(field) .off = offsetof(struct conf, field), .size = sizeof(((struct conf *)0)->field)

/* test_conf checks every row against phcsyncd.conf(5) (which doc quotes) and the example. */
static const struct row keys[] = {
	{KEY("device", "auto", NULL, "The PHC to follow"), AT(device), .kind = KIND_DEVICE,
	 .words = device_words},
	{KEY("readout", "auto", NULL, "How each reading of the PHC is taken"), AT(readout),
	 .kind = KIND_NAME, .names = readout_names},
	{KEY("readings", "10", NULL, "Readings taken at each poll"), AT(readings), .kind = KIND_INT,
	 .min = 1, .max = 25, .live = true},
	{KEY("burst_combine", "trimmed", NULL, "How the readings of one poll become one offset"),
	 AT(burst_combine), .kind = KIND_NAME, .names = burst_combine_names},
	{KEY("max_reads_per_second", "100", NULL, "An upper bound on the rate of PHC reads"),
	 AT(max_reads_per_second), .kind = KIND_INT, .min = 0, .max = 1000000, .zero = "no limit",
	 .live = true},
	{KEY("poll_interval", "1", "seconds", "Time between polls"), AT(poll_interval_s),
	 .kind = KIND_REAL, .min = 0.015625, .max = 64},
	{KEY("servo", "kalman", NULL,
	     "The algorithm that turns measured offsets into frequency corrections"),
	 AT(servo), .kind = KIND_NAME, .names = servo_names},
	{KEY("pi_kp", "0", NULL, "Proportional and integral constants of the PI servo"), AT(pi_kp),
	 .kind = KIND_REAL, .min = 0, .max = 10},
	{KEY("pi_ki", "0", NULL, "Proportional and integral constants of the PI servo"), AT(pi_ki),
	 .kind = KIND_REAL, .min = 0, .max = 10},
	{KEY("first_step_threshold", "0.00002", "seconds",
	     "At start, an offset larger than this is corrected by a step rather than a slew"),
	 AT(first_step_threshold_s), .kind = KIND_REAL, .min = 0, .max = THRESHOLD_MAX_S},
	{KEY("step_threshold", "0.128", "seconds",
	     "After the start, an offset larger than this is corrected by a step"),
	 AT(step_threshold_s), .kind = KIND_REAL, .min = 0, .max = THRESHOLD_MAX_S},
	{KEY("max_offset_panic", "86400", "seconds",
	     "An offset larger than this is not corrected at all"),
	 AT(max_offset_panic_s), .kind = KIND_REAL, .min = 0, .max = THRESHOLD_MAX_S, .live = true},
	{KEY("allow_large_step", "no", NULL, "Correct offsets beyond max_offset_panic anyway"),
	 AT(allow_large_step), .kind = KIND_BOOL, .live = true},
	{KEY("offset_ns", "0", "nanoseconds",
	     "A constant added to the PHC's time before it is compared with the system clock"),
	 AT(offset_ns), .kind = KIND_INT, .min = -1e12, .max = 1e12, .live = true},
	{KEY("timescale", "auto", NULL, "The time scale the PHC keeps"), AT(timescale),
	 .kind = KIND_NAME, .names = timescale_names},
	{KEY("utc_offset", "37", "seconds",
	     "TAI - UTC for a PHC that keeps TAI when there is no leap table"),
	 AT(utc_offset_s), .kind = KIND_INT, .min = 0, .max = 1000},
	{KEY("rtcsync", "no", NULL,
	     "let the kernel copy the system time to the battery-backed real-time clock"),
	 AT(rtcsync), .kind = KIND_BOOL, .live = true},
	{KEY("summary_interval", "300", "seconds",
	     "How often a summary of how well the clock is tracking is logged"),
	 AT(summary_interval_s), .kind = KIND_REAL, .min = 1, .max = 86400, .zero = "off",
	 .live = true},
	{KEY("leapfile", "auto", NULL, "The leap second table"), AT(leapfile), .kind = KIND_PATH,
	 .words = leapfile_words, .live = true},
	{KEY("leap_mode", "system", NULL, "How a leap second reaches the system clock"),
	 AT(leap_mode), .kind = KIND_NAME, .names = leap_mode_names},
	{KEY("leap_smear_window", "86400", "seconds", "The length of the smear"),
	 AT(leap_smear_window_s), .kind = KIND_REAL, .min = 60, .max = 172800},
	{KEY("control_socket", CTL_DEFAULT_SOCKET, NULL,
	     "The Unix domain socket on which phcsyncd serves its status and metrics"),
	 AT(control_socket), .kind = KIND_SOCKET, .words = control_socket_words},
	{KEY("control_group", NULL, NULL,
	     "The group that may use the control socket besides the daemon's user"),
	 AT(control_group), .kind = KIND_GROUP},
	{KEY("wait_for_device", "yes", NULL,
	     "a PHC that is missing at start or disappears later is waited for"),
	 AT(wait_for_device), .kind = KIND_BOOL},
	{KEY("holdover_after", "3", NULL, "After this many failed polls in a row"),
	 AT(holdover_after), .kind = KIND_INT, .min = 1, .max = 1000, .live = true},
	{KEY("disruption_samples", "3", NULL,
	     "is corrected only after this many consecutive samples agree on it"),
	 AT(disruption_samples), .kind = KIND_INT, .min = 1, .max = 10},
	{KEY("vmclock", "auto", NULL,
	     "The vmclock device through which the hypervisor announces migrations and snapshot "
	     "restores"),
	 AT(vmclock), .kind = KIND_PATH, .words = vmclock_words},
	{KEY("step_window", "3600", "seconds",
	     "how much the clock may be stepped within a sliding window of step_window seconds"),
	 AT(step_window_s), .kind = KIND_REAL, .min = 1, .max = 604800, .live = true},
	{KEY("step_limit_back", "1", "seconds",
	     "the backward steps together may not exceed step_limit_back seconds"),
	 AT(step_limit_back_s), .kind = KIND_REAL, .min = 0.000001, .max = THRESHOLD_MAX_S,
	 .zero = "no limit", .live = true},
	{KEY("step_limit_count", "10", NULL, "there may be at most step_limit_count steps"),
	 AT(step_limit_count), .kind = KIND_INT, .min = 0, .max = 100, .zero = "no limit",
	 .live = true},
	{KEY("reference_freq_limit", "800", "ppm",
	     "the PHC's rate is measured against the local oscillator"),
	 AT(reference_freq_limit_ppm), .kind = KIND_REAL, .min = 1, .max = 200000, .zero = "off",
	 .live = true},
	{KEY("driftfile", "none", NULL,
	     "A file in which the clock's frequency is kept across restarts"),
	 AT(driftfile), .kind = KIND_PATH, .words = driftfile_words, .live = true},
	{KEY("user", NULL, NULL,
	     "The user to switch to once the device, socket and files are open"),
	 AT(user), .kind = KIND_USER},
	{KEY("seccomp", "no", NULL, "Install a system call filter"), AT(seccomp),
	 .kind = KIND_BOOL},
};

#define KEY_COUNT (sizeof(keys) / sizeof(keys[0]))

union value {
	int64_t i;
	double d;
	int n;	       /* KIND_NAME and KIND_BOOL */
	const char *s; /* paths and accounts: what to store */
};

const struct conf_key *conf_key_at(size_t i)
{
	return i < KEY_COUNT ? &keys[i].key : NULL;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v';
}

static bool span_eq(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* The caller has trimmed white space, the only thing strtoll skips before the digits. */
static bool parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return false;
	*out = v;
	return true;
}

/*
 * strtod would also take "nan", "inf" and hex floats; none of them is a sane setting. What
 * is left can only become non-finite by overflow, which strtod reports with ERANGE.
 */
static bool parse_real(const char *s, double *out)
{
	char *end;
	double v;

	if (s[strspn(s, "0123456789.eE+-")] != '\0')
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0')
		return false;
	*out = v;
	return true;
}

static bool has_space(const char *s)
{
	return strpbrk(s, " \t\r\f\v") != NULL;
}

/* C0 controls and DEL: in a path they are a typo or an attack on whoever reads the log. */
static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

size_t conf_escape(const char *s, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	if (!outlen)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		char esc[4];
		size_t k = 0;

		if (ch == '\\' || ch == '"') {
			esc[k++] = '\\';
			esc[k++] = (char)ch;
		} else if (ch >= 0x20 && ch < 0x7f) {
			esc[k++] = (char)ch;
		} else {
			esc[k++] = '\\';
			esc[k++] = 'x';
			esc[k++] = hex[ch >> 4];
			esc[k++] = hex[ch & 15];
		}
		if (n + k >= outlen)
			break;
		memcpy(out + n, esc, k);
		n += k;
	}
	out[n] = '\0';
	return n;
}

/* The kernel's rule for interface names (dev_valid_name): others can never match. */
static bool is_ifname(const char *s)
{
	size_t len = strlen(s);

	return len >= 1 && len <= IFACE_NAME_MAX && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
	       strpbrk(s, "/:") == NULL && !has_space(s) && !has_control(s);
}

/* Names as useradd and groupadd accept them by default, less the trailing $ of machine accounts. */
static bool is_account(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > ACCOUNT_NAME_MAX || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (i = 1; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return false;
	return true;
}

/* A socket path is limited by the AF_UNIX address, other paths by their field. */
static size_t path_max(const struct row *k)
{
	return k->kind == KIND_SOCKET ? SOCKET_PATH_MAX : k->size - 1;
}

static bool parse_path(const struct row *k, const char *s, size_t len, union value *v)
{
	const struct word_value *w;

	for (w = k->words; w->word; w++) {
		if (span_eq(s, len, w->word)) {
			v->s = w->stored;
			return true;
		}
	}
	v->s = s;
	return s[0] == '/' && len <= path_max(k) && !has_space(s) && !has_control(s);
}

static bool in_range(const struct row *k, double v)
{
	return (v >= k->min && v <= k->max) || (k->zero && v == 0);
}

static bool parse_value(const struct row *k, const char *s, size_t len, union value *v)
{
	const struct name_value *nv;

	switch (k->kind) {
	case KIND_DEVICE:
		if (strncmp(s, IFACE_PREFIX, strlen(IFACE_PREFIX)) == 0) {
			v->s = s;
			return is_ifname(s + strlen(IFACE_PREFIX));
		}
		return parse_path(k, s, len, v);
	case KIND_PATH:
	case KIND_SOCKET:
		return parse_path(k, s, len, v);
	case KIND_USER:
	case KIND_GROUP:
		v->s = s;
		return is_account(s, len);
	case KIND_NAME:
	case KIND_BOOL:
		for (nv = k->kind == KIND_BOOL ? bool_names : k->names; nv->name; nv++) {
			if (span_eq(s, len, nv->name)) {
				v->n = nv->value;
				return true;
			}
		}
		return false;
	case KIND_INT:
		/* Range bounds are below 2^53, so the double comparison is exact. */
		return parse_int(s, &v->i) && in_range(k, (double)v->i);
	case KIND_REAL:
		return parse_real(s, &v->d) && in_range(k, v->d);
	}
	return false;
}

/* parse_value checked that strings fit; snprintf only keeps a wrong row from overflowing. */
static void store(struct conf *c, const struct row *k, const union value *v)
{
	void *field = (char *)c + k->off;

	switch (k->kind) {
	case KIND_NAME:
		*(int *)field = v->n;
		break;
	case KIND_BOOL:
		*(bool *)field = v->n;
		break;
	case KIND_INT: /* an int or, told by its size, an int64_t */
		if (k->size == sizeof(int64_t))
			*(int64_t *)field = v->i;
		else
			*(int *)field = (int)v->i;
		break;
	case KIND_REAL:
		*(double *)field = v->d;
		break;
	default:
		snprintf(field, k->size, "%s", v->s);
	}
}

/* Appends to a fixed buffer, truncating; long enough for every row's text. */
struct text {
	char buf[320];
	size_t used;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->used, sizeof(t->buf) - t->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->used += (size_t)n;
	if (t->used >= sizeof(t->buf))
		t->used = sizeof(t->buf) - 1;
}

/* The shortest fixed-point spelling of v that reads back as v: 1000000, not 1e+06. */
static void put_number(struct text *t, double v)
{
	char s[64];
	int prec = 0;

	do
		snprintf(s, sizeof(s), "%.*f", prec, v);
	while (strtod(s, NULL) != v && ++prec < 20);
	put(t, "%s", s);
}

/* The separator before item i of n in "a, b or c". */
static const char *sep(size_t i, size_t n)
{
	return i == 0 ? "" : i + 1 == n ? " or " : ", ";
}

/* What completes "expected ..." for k. */
static void expected(const struct row *k, struct text *t)
{
	const char *number = k->kind == KIND_INT ? "an integer" : k->key.unit;
	size_t i, n = 0, items;

	switch (k->kind) {
	case KIND_BOOL:
		put(t, "yes or no");
		break;
	case KIND_NAME:
		while (k->names[n].name)
			n++;
		for (i = 0; i < n; i++)
			put(t, "%s%s", sep(i, n), k->names[i].name);
		break;
	case KIND_INT:
	case KIND_REAL:
		if (k->zero && k->min > 0)
			put(t, "0 (%s) or ", k->zero);
		put(t, "%s from ", number ? number : "a number");
		put_number(t, k->min);
		if (k->zero && k->min == 0)
			put(t, " (%s)", k->zero);
		put(t, " to ");
		put_number(t, k->max);
		break;
	case KIND_USER:
	case KIND_GROUP:
		put(t,
		    "a %s name (a lower-case letter or _, then lower-case letters, digits, _ or -, "
		    "at most %d bytes)",
		    k->kind == KIND_USER ? "user" : "group", ACCOUNT_NAME_MAX);
		break;
	case KIND_DEVICE:
	case KIND_PATH:
	case KIND_SOCKET:
		while (k->words[n].word)
			n++;
		items = n + 1 + (k->kind == KIND_DEVICE);
		for (i = 0; i < n; i++)
			put(t, "%s%s", sep(i, items), k->words[i].word);
		put(t,
		    "%sa path starting with / (no spaces or control characters, at most %zu "
		    "bytes%s)",
		    sep(n, items), path_max(k),
		    k->kind == KIND_SOCKET ? " to fit an AF_UNIX socket address" : "");
		if (k->kind == KIND_DEVICE)
			put(t,
			    "%s" IFACE_PREFIX
			    "NAME (NAME 1 to %d bytes, no /, :, spaces or controls)",
			    sep(n + 1, items), IFACE_NAME_MAX);
		break;
	}
}

/* "NAME:LINE: " then fmt in err, or "NAME: " when lineno is 0; NAME is escaped. */
static int fail(char *err, size_t errlen, const char *name, unsigned lineno, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail(char *err, size_t errlen, const char *name, unsigned lineno, const char *fmt, ...)
{
	char shown[CONF_ECHO_MAX];
	int n;

	conf_escape(name, strlen(name), shown, sizeof(shown));
	/* snprintf writes nothing when errlen is 0, so err may then be NULL. */
	n = lineno ? snprintf(err, errlen, "%s:%u: ", shown, lineno)
		   : snprintf(err, errlen, "%s: ", shown);
	if (n >= 0 && (size_t)n < errlen) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Check val (len bytes, not NUL-terminated) for k and store it; c is untouched on error. */
static int set(struct conf *c, const struct row *k, const char *name, unsigned lineno,
	       const char *val, size_t len, char *err, size_t errlen)
{
	struct text want = {.used = 0};
	char buf[VALUE_MAX], shown[CONF_ECHO_MAX];
	union value v;

	if (len > 0 && len < sizeof(buf)) {
		memcpy(buf, val, len);
		buf[len] = '\0';
		if (parse_value(k, buf, len, &v)) {
			store(c, k, &v);
			return 0;
		}
	}
	expected(k, &want);
	if (len == 0)
		return fail(err, errlen, name, lineno, "%s: missing value, expected %s",
			    k->key.name, want.buf);
	conf_escape(val, len, shown, sizeof(shown));
	return fail(err, errlen, name, lineno, "%s: expected %s, got \"%s\"", k->key.name, want.buf,
		    shown);
}

static const struct row *find(const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < KEY_COUNT; i++)
		if (span_eq(key, len, keys[i].key.name))
			return &keys[i];
	return NULL;
}

void conf_defaults(struct conf *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	/* The defaults are constants that test_conf sees parsed, so none fails here. */
	for (i = 0; i < KEY_COUNT; i++)
		if (keys[i].key.def)
			set(c, &keys[i], "", 0, keys[i].key.def, strlen(keys[i].key.def), NULL, 0);
}

int conf_set(struct conf *c, const char *key, const char *value, const char *origin, char *err,
	     size_t errlen)
{
	const struct row *k = find(key, strlen(key));

	if (!k) {
		char shown[CONF_ECHO_MAX];

		conf_escape(key, strlen(key), shown, sizeof(shown));
		return fail(err, errlen, origin, 0, "%s: unknown key", shown);
	}
	return set(c, k, origin, 0, value, strlen(value), err, errlen);
}

/* One line without its newline; seen[] holds the line where each key was first given. */
static int parse_line(struct conf *c, const char *name, unsigned lineno, const char *line,
		      size_t len, unsigned seen[KEY_COUNT], char *err, size_t errlen)
{
	const char *key, *val, *hash;
	size_t key_len, val_len;
	const struct row *k;

	if (memchr(line, '\0', len))
		return fail(err, errlen, name, lineno, "expected text, got a NUL byte");
	hash = memchr(line, '#', len);
	if (hash)
		len = (size_t)(hash - line);
	while (len > 0 && is_space(line[0])) {
		line++;
		len--;
	}
	while (len > 0 && is_space(line[len - 1]))
		len--;
	if (len == 0)
		return 0;

	key = line;
	for (key_len = 0; key_len < len && !is_space(key[key_len]); key_len++)
		;
	val = key + key_len;
	val_len = len - key_len;
	while (val_len > 0 && is_space(val[0])) {
		val++;
		val_len--;
	}

	k = find(key, key_len);
	if (!k) {
		char shown[CONF_ECHO_MAX];

		conf_escape(key, key_len, shown, sizeof(shown));
		return fail(err, errlen, name, lineno, "%s: unknown key", shown);
	}
	if (seen[k - keys])
		return fail(err, errlen, name, lineno,
			    "%s: expected once, already given on line %u", k->key.name,
			    seen[k - keys]);
	if (set(c, k, name, lineno, val, val_len, err, errlen) < 0)
		return -1;
	seen[k - keys] = lineno;
	return 0;
}

int conf_parse_buffer(struct conf *c, const char *name, const char *text, size_t len, char *err,
		      size_t errlen)
{
	unsigned seen[KEY_COUNT] = {0};
	struct conf tmp = *c;
	unsigned lineno = 0;
	size_t pos = 0;

	/* Work on a copy so that a file with an error leaves c as it was. */
	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t line_len = nl ? (size_t)(nl - line) : len - pos;

		lineno++;
		if (parse_line(&tmp, name, lineno, line, line_len, seen, err, errlen) < 0)
			return -1;
		pos += line_len + (nl ? 1 : 0);
	}
	*c = tmp;
	return 0;
}

/* Read all of fd into a malloc'ed buffer. Returns 0 or -errno. */
static int read_all(int fd, char **out, size_t *out_len)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *bigger;

			if (cap >= CONF_FILE_MAX) {
				free(buf);
				return -EFBIG;
			}
			bigger = realloc(buf, cap * 2);
			if (!bigger) {
				free(buf);
				return -ENOMEM;
			}
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int ret = -errno;

			free(buf);
			return ret;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

/*
 * Open path for reading if it is a regular file: an fd, or -errno (-EINVAL: something
 * else, such as a FIFO or a device). O_NONBLOCK, so that opening a FIFO does not wait for
 * a writer; opened first and then asked what it is, so that nothing can change between
 * the check and the use.
 */
static int open_regular(const char *path)
{
	struct stat sb;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return S_ISDIR(sb.st_mode) ? -EISDIR : -EINVAL;
	}
	return fd;
}

int conf_parse_file(struct conf *c, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int fd, ret;

	fd = open_regular(path);
	if (fd < 0) {
		fail(err, errlen, path, 0, "cannot read: %s",
		     fd == -EINVAL ? "not a regular file (a FIFO, socket or device?)"
				   : strerror(-fd));
		errno = -fd;
		return -1;
	}
	ret = read_all(fd, &text, &len);
	close(fd);
	if (ret < 0) {
		fail(err, errlen, path, 0, "cannot read: %s", strerror(-ret));
		errno = -ret;
		return -1;
	}
	ret = conf_parse_buffer(c, path, text, len, err, errlen);
	free(text);
	errno = ret < 0 ? EINVAL : 0;
	return ret;
}

bool conf_key_live(size_t i)
{
	return i < KEY_COUNT && keys[i].live;
}

static bool field_differs(const struct row *k, const struct conf *a, const struct conf *b)
{
	const char *fa = (const char *)a + k->off, *fb = (const char *)b + k->off;

	switch (k->kind) {
	case KIND_REAL:
		return *(const double *)(const void *)fa != *(const double *)(const void *)fb;
	case KIND_NAME:
	case KIND_BOOL:
	case KIND_INT:
		return memcmp(fa, fb, k->size) != 0;
	default: /* strings: what follows the NUL is left over from earlier values */
		return strncmp(fa, fb, k->size) != 0;
	}
}

size_t conf_diff(const struct conf *running, const struct conf *file, bool live, const char **names,
		 size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < KEY_COUNT; i++) {
		if (keys[i].live != live || !field_differs(&keys[i], running, file))
			continue;
		if (n < max)
			names[n] = keys[i].key.name;
		n++;
	}
	return n;
}

void conf_apply_live(struct conf *running, const struct conf *file)
{
	size_t i;

	for (i = 0; i < KEY_COUNT; i++)
		if (keys[i].live)
			memcpy((char *)running + keys[i].off, (const char *)file + keys[i].off,
			       keys[i].size);
}

const char *conf_value_name(const char *key, int value)
{
	const struct row *k = find(key, strlen(key));
	const struct name_value *nv;

	if (!k || k->kind != KIND_NAME)
		return "unknown";
	for (nv = k->names; nv->name; nv++)
		if (nv->value == value)
			return nv->name;
	return "unknown";
}
