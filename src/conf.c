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
#include <sys/un.h>
#include <unistd.h>

#include "phcsync/conf.h"
#include "phcsync/phc.h"

/* A configuration is a few hundred bytes; anything this big is not one. */
#define CONF_FILE_MAX (1024 * 1024)
/* Longer than any valid value, so a value that does not fit is already invalid. */
#define VALUE_MAX 512

enum key_id {
	KEY_DEVICE,
	KEY_READOUT,
	KEY_READINGS,
	KEY_MAX_READS_PER_SECOND,
	KEY_POLL_INTERVAL,
	KEY_SERVO,
	KEY_PI_KP,
	KEY_PI_KI,
	KEY_FIRST_STEP_THRESHOLD,
	KEY_STEP_THRESHOLD,
	KEY_MAX_OFFSET_PANIC,
	KEY_ALLOW_LARGE_STEP,
	KEY_OFFSET_NS,
	KEY_TIMESCALE,
	KEY_UTC_OFFSET,
	KEY_RTCSYNC,
	KEY_SUMMARY_INTERVAL,
	KEY_LEAPFILE,
	KEY_LEAP_MODE,
	KEY_LEAP_SMEAR_WINDOW,
	KEY_CONTROL_SOCKET,
	KEY_CONTROL_GROUP,
	KEY_WAIT_FOR_DEVICE,
	KEY_HOLDOVER_AFTER,
	KEY_DISRUPTION_SAMPLES,
	KEY_STEP_WINDOW,
	KEY_STEP_LIMIT_BACK,
	KEY_STEP_LIMIT_COUNT,
	KEY_REFERENCE_FREQ_LIMIT,
	KEY_DRIFTFILE,
	KEY_USER,
	KEY_SECCOMP,
	KEY_COUNT,
};

enum key_kind { KIND_DEVICE, KIND_PATH, KIND_ACCOUNT, KIND_NAME, KIND_INT, KIND_REAL, KIND_BOOL };

struct name_value {
	const char *name;
	int value;
};

/* A word accepted in place of a path, and the string it is stored as. */
struct word_value {
	const char *word;
	const char *stored;
};

struct key_desc {
	const char *name;
	const char *expected;		/* completes "expected ..." in messages */
	const struct name_value *names; /* KIND_NAME and KIND_BOOL, NULL-terminated */
	const struct word_value *words; /* KIND_DEVICE and KIND_PATH, NULL-terminated */
	double min, max;		/* KIND_INT and KIND_REAL, inclusive */
	size_t max_len;			/* KIND_DEVICE, KIND_PATH and KIND_ACCOUNT, in bytes */
	enum key_kind kind;
	bool zero_ok; /* 0 is also accepted below min (meaning "off") */
};

static const struct name_value readout_names[] = {
	{"auto", PHC_METHOD_AUTO},	   {"precise", PHC_METHOD_PRECISE},
	{"extended", PHC_METHOD_EXTENDED}, {"basic", PHC_METHOD_BASIC},
	{"gettime", PHC_METHOD_GETTIME},   {NULL, 0},
};

static const struct name_value servo_names[] = {
	{"pi", SERVO_PI},
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

#define IFACE_PREFIX "interface:"
/* IFNAMSIZ less its NUL; the kernel refuses longer interface names. */
#define IFACE_NAME_MAX 15
/* useradd's default limit, and what fits utmp's ut_user. */
#define ACCOUNT_NAME_MAX 32
/* The message below promises the AF_UNIX limit; make sure it is the one we build against. */
#define SOCKET_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
_Static_assert(SOCKET_PATH_MAX == 107, "update the control_socket message");

/* 1e9 s (about 32 years) as nanoseconds still fits an int64_t nine times over. */
#define THRESHOLD_MAX_S 1e9

static const struct key_desc keys[KEY_COUNT] = {
	[KEY_DEVICE] = {.name = "device",
			.kind = KIND_DEVICE,
			.expected =
				"auto, a path starting with / (no spaces, at most 255 bytes) or "
				"interface:NAME (NAME 1 to 15 bytes, no /, : or spaces)",
			.words = device_words,
			.max_len = CONF_DEVICE_MAX - 1},
	[KEY_READOUT] = {.name = "readout",
			 .kind = KIND_NAME,
			 .expected = "auto, precise, extended, basic or gettime",
			 .names = readout_names},
	[KEY_READINGS] = {.name = "readings",
			  .kind = KIND_INT,
			  .expected = "an integer from 1 to 25",
			  .min = 1,
			  .max = 25},
	[KEY_MAX_READS_PER_SECOND] = {.name = "max_reads_per_second",
				      .kind = KIND_INT,
				      .expected = "an integer from 0 (no limit) to 1000000",
				      .min = 0,
				      .max = 1000000},
	[KEY_POLL_INTERVAL] = {.name = "poll_interval",
			       .kind = KIND_REAL,
			       .expected = "seconds from 0.015625 to 64",
			       .min = 0.015625,
			       .max = 64},
	[KEY_SERVO] = {.name = "servo", .kind = KIND_NAME, .expected = "pi", .names = servo_names},
	[KEY_PI_KP] = {.name = "pi_kp",
		       .kind = KIND_REAL,
		       .expected = "a number from 0 to 10",
		       .min = 0,
		       .max = 10},
	[KEY_PI_KI] = {.name = "pi_ki",
		       .kind = KIND_REAL,
		       .expected = "a number from 0 to 10",
		       .min = 0,
		       .max = 10},
	[KEY_FIRST_STEP_THRESHOLD] = {.name = "first_step_threshold",
				      .kind = KIND_REAL,
				      .expected = "seconds from 0 to 1000000000",
				      .min = 0,
				      .max = THRESHOLD_MAX_S},
	[KEY_STEP_THRESHOLD] = {.name = "step_threshold",
				.kind = KIND_REAL,
				.expected = "seconds from 0 to 1000000000",
				.min = 0,
				.max = THRESHOLD_MAX_S},
	[KEY_MAX_OFFSET_PANIC] = {.name = "max_offset_panic",
				  .kind = KIND_REAL,
				  .expected = "seconds from 0 to 1000000000",
				  .min = 0,
				  .max = THRESHOLD_MAX_S},
	[KEY_ALLOW_LARGE_STEP] = {.name = "allow_large_step",
				  .kind = KIND_BOOL,
				  .expected = "yes or no",
				  .names = bool_names},
	[KEY_OFFSET_NS] = {.name = "offset_ns",
			   .kind = KIND_INT,
			   .expected = "an integer from -1000000000000 to 1000000000000",
			   .min = -1e12,
			   .max = 1e12},
	[KEY_TIMESCALE] = {.name = "timescale",
			   .kind = KIND_NAME,
			   .expected = "auto, utc or tai",
			   .names = timescale_names},
	[KEY_UTC_OFFSET] = {.name = "utc_offset",
			    .kind = KIND_INT,
			    .expected = "an integer from 0 to 1000",
			    .min = 0,
			    .max = 1000},
	[KEY_RTCSYNC] = {.name = "rtcsync",
			 .kind = KIND_BOOL,
			 .expected = "yes or no",
			 .names = bool_names},
	[KEY_SUMMARY_INTERVAL] = {.name = "summary_interval",
				  .kind = KIND_REAL,
				  .expected = "0 (off) or seconds from 1 to 86400",
				  .min = 1,
				  .max = 86400,
				  .zero_ok = true},
	[KEY_LEAPFILE] = {.name = "leapfile",
			  .kind = KIND_PATH,
			  .expected =
				  "auto, none or a path starting with / (no spaces, at most 255 "
				  "bytes)",
			  .words = leapfile_words,
			  .max_len = CONF_PATH_MAX - 1},
	[KEY_LEAP_MODE] = {.name = "leap_mode",
			   .kind = KIND_NAME,
			   .expected = "system, step or smear",
			   .names = leap_mode_names},
	[KEY_LEAP_SMEAR_WINDOW] = {.name = "leap_smear_window",
				   .kind = KIND_REAL,
				   .expected = "seconds from 60 to 172800",
				   .min = 60,
				   .max = 172800},
	[KEY_CONTROL_SOCKET] = {.name = "control_socket",
				.kind = KIND_PATH,
				.expected =
					"none or a path starting with / (no spaces, at most 107 "
					"bytes to fit an AF_UNIX socket address)",
				.words = control_socket_words,
				.max_len = SOCKET_PATH_MAX},
	[KEY_CONTROL_GROUP] = {.name = "control_group",
			       .kind = KIND_ACCOUNT,
			       .expected =
				       "a group name (a lower-case letter or _, then lower-case "
				       "letters, digits, _ or -, at most 32 bytes)",
			       .max_len = ACCOUNT_NAME_MAX},
	[KEY_WAIT_FOR_DEVICE] = {.name = "wait_for_device",
				 .kind = KIND_BOOL,
				 .expected = "yes or no",
				 .names = bool_names},
	[KEY_HOLDOVER_AFTER] = {.name = "holdover_after",
				.kind = KIND_INT,
				.expected = "an integer from 1 to 1000",
				.min = 1,
				.max = 1000},
	[KEY_DISRUPTION_SAMPLES] = {.name = "disruption_samples",
				    .kind = KIND_INT,
				    .expected = "an integer from 1 to 10",
				    .min = 1,
				    .max = 10},
	[KEY_STEP_WINDOW] = {.name = "step_window",
			     .kind = KIND_REAL,
			     .expected = "seconds from 1 to 604800",
			     .min = 1,
			     .max = 604800},
	[KEY_STEP_LIMIT_BACK] = {.name = "step_limit_back",
				 .kind = KIND_REAL,
				 .expected = "0 (no limit) or seconds from 0.000001 to 1000000000",
				 .min = 0.000001,
				 .max = THRESHOLD_MAX_S,
				 .zero_ok = true},
	[KEY_STEP_LIMIT_COUNT] = {.name = "step_limit_count",
				  .kind = KIND_INT,
				  .expected = "an integer from 0 (no limit) to 100",
				  .min = 0,
				  .max = 100},
	[KEY_REFERENCE_FREQ_LIMIT] = {.name = "reference_freq_limit",
				      .kind = KIND_REAL,
				      .expected = "0 (off) or ppm from 1 to 200000",
				      .min = 1,
				      .max = 200000,
				      .zero_ok = true},
	[KEY_DRIFTFILE] = {.name = "driftfile",
			   .kind = KIND_PATH,
			   .expected =
				   "none or a path starting with / (no spaces, at most 255 bytes)",
			   .words = driftfile_words,
			   .max_len = CONF_PATH_MAX - 1},
	[KEY_USER] = {.name = "user",
		      .kind = KIND_ACCOUNT,
		      .expected = "a user name (a lower-case letter or _, then lower-case letters, "
				  "digits, _ or -, at most 32 bytes)",
		      .max_len = ACCOUNT_NAME_MAX},
	[KEY_SECCOMP] = {.name = "seccomp",
			 .kind = KIND_BOOL,
			 .expected = "yes or no",
			 .names = bool_names},
};

union value {
	int64_t i;
	double d;
	int n;	       /* KIND_NAME and KIND_BOOL */
	const char *s; /* KIND_DEVICE, KIND_PATH and KIND_ACCOUNT: what to store */
};

void conf_defaults(struct conf *c)
{
	*c = (struct conf){
		.device = "auto",
		.readout = PHC_METHOD_AUTO,
		.readings = 5,
		.max_reads_per_second = 100,
		.poll_interval_s = 1.0,
		.servo = SERVO_PI,
		.pi_kp = 0.0,
		.pi_ki = 0.0,
		.first_step_threshold_s = 0.00002,
		.step_threshold_s = 0.128,
		.max_offset_panic_s = 86400.0,
		.allow_large_step = false,
		.offset_ns = 0,
		.timescale = CONF_TIMESCALE_AUTO,
		.utc_offset_s = 37,
		.rtcsync = false,
		.summary_interval_s = 300.0,
		.leapfile = "",
		.leap_mode = CONF_LEAP_SYSTEM,
		.leap_smear_window_s = 86400.0,
		.control_socket = "/run/phcsyncd/phcsyncd.sock",
		.control_group = "",
		.wait_for_device = true,
		.holdover_after = 3,
		.disruption_samples = 3,
		.step_window_s = 3600.0,
		.step_limit_back_s = 1.0,
		.step_limit_count = 10,
		.reference_freq_limit_ppm = 800.0,
		.driftfile = "",
		.user = "",
		.seccomp = false,
	};
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

/* The kernel's rule for interface names (dev_valid_name): others can never match. */
static bool is_ifname(const char *s)
{
	size_t len = strlen(s);

	return len >= 1 && len <= IFACE_NAME_MAX && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
	       strpbrk(s, "/:") == NULL && !has_space(s);
}

/* Names as useradd and groupadd accept them by default, less the trailing $ of machine accounts. */
static bool is_account(const char *s, size_t len, size_t max_len)
{
	size_t i;

	if (len == 0 || len > max_len || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (i = 1; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return false;
	return true;
}

static bool parse_path(const struct key_desc *k, const char *s, size_t len, union value *v)
{
	const struct word_value *w;

	for (w = k->words; w->word; w++) {
		if (span_eq(s, len, w->word)) {
			v->s = w->stored;
			return true;
		}
	}
	v->s = s;
	return s[0] == '/' && len <= k->max_len && !has_space(s);
}

static bool in_range(const struct key_desc *k, double v)
{
	return (v >= k->min && v <= k->max) || (k->zero_ok && v == 0);
}

static bool parse_value(const struct key_desc *k, const char *s, size_t len, union value *v)
{
	const struct name_value *nv;
	double d;

	switch (k->kind) {
	case KIND_DEVICE:
		if (strncmp(s, IFACE_PREFIX, strlen(IFACE_PREFIX)) == 0) {
			v->s = s;
			return is_ifname(s + strlen(IFACE_PREFIX));
		}
		return parse_path(k, s, len, v);
	case KIND_PATH:
		return parse_path(k, s, len, v);
	case KIND_ACCOUNT:
		v->s = s;
		return is_account(s, len, k->max_len);
	case KIND_NAME:
	case KIND_BOOL:
		for (nv = k->names; nv->name; nv++) {
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
		if (!parse_real(s, &d) || !in_range(k, d))
			return false;
		v->d = d;
		return true;
	}
	return false;
}

/* parse_value checked that s fits; this only keeps a wrong table from overflowing dst. */
static void store_str(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%s", s);
}

static void store(struct conf *c, enum key_id id, const union value *v)
{
	switch (id) {
	case KEY_DEVICE:
		store_str(c->device, sizeof(c->device), v->s);
		break;
	case KEY_READOUT:
		c->readout = v->n;
		break;
	case KEY_READINGS:
		c->readings = (int)v->i;
		break;
	case KEY_MAX_READS_PER_SECOND:
		c->max_reads_per_second = (int)v->i;
		break;
	case KEY_POLL_INTERVAL:
		c->poll_interval_s = v->d;
		break;
	case KEY_SERVO:
		c->servo = (enum servo_type)v->n;
		break;
	case KEY_PI_KP:
		c->pi_kp = v->d;
		break;
	case KEY_PI_KI:
		c->pi_ki = v->d;
		break;
	case KEY_FIRST_STEP_THRESHOLD:
		c->first_step_threshold_s = v->d;
		break;
	case KEY_STEP_THRESHOLD:
		c->step_threshold_s = v->d;
		break;
	case KEY_MAX_OFFSET_PANIC:
		c->max_offset_panic_s = v->d;
		break;
	case KEY_ALLOW_LARGE_STEP:
		c->allow_large_step = v->n;
		break;
	case KEY_OFFSET_NS:
		c->offset_ns = v->i;
		break;
	case KEY_TIMESCALE:
		c->timescale = (enum conf_timescale)v->n;
		break;
	case KEY_UTC_OFFSET:
		c->utc_offset_s = (int)v->i;
		break;
	case KEY_RTCSYNC:
		c->rtcsync = v->n;
		break;
	case KEY_SUMMARY_INTERVAL:
		c->summary_interval_s = v->d;
		break;
	case KEY_LEAPFILE:
		store_str(c->leapfile, sizeof(c->leapfile), v->s);
		break;
	case KEY_LEAP_MODE:
		c->leap_mode = (enum conf_leap_mode)v->n;
		break;
	case KEY_LEAP_SMEAR_WINDOW:
		c->leap_smear_window_s = v->d;
		break;
	case KEY_CONTROL_SOCKET:
		store_str(c->control_socket, sizeof(c->control_socket), v->s);
		break;
	case KEY_CONTROL_GROUP:
		store_str(c->control_group, sizeof(c->control_group), v->s);
		break;
	case KEY_WAIT_FOR_DEVICE:
		c->wait_for_device = v->n;
		break;
	case KEY_HOLDOVER_AFTER:
		c->holdover_after = (int)v->i;
		break;
	case KEY_DISRUPTION_SAMPLES:
		c->disruption_samples = (int)v->i;
		break;
	case KEY_STEP_WINDOW:
		c->step_window_s = v->d;
		break;
	case KEY_STEP_LIMIT_BACK:
		c->step_limit_back_s = v->d;
		break;
	case KEY_STEP_LIMIT_COUNT:
		c->step_limit_count = (int)v->i;
		break;
	case KEY_REFERENCE_FREQ_LIMIT:
		c->reference_freq_limit_ppm = v->d;
		break;
	case KEY_DRIFTFILE:
		store_str(c->driftfile, sizeof(c->driftfile), v->s);
		break;
	case KEY_USER:
		store_str(c->user, sizeof(c->user), v->s);
		break;
	case KEY_SECCOMP:
		c->seccomp = v->n;
		break;
	case KEY_COUNT:
		break;
	}
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	/* vsnprintf writes nothing when errlen is 0, so err may then be NULL. */
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* One line without its newline; seen[] holds the line where each key was first given. */
static int parse_line(struct conf *c, const char *name, unsigned lineno, const char *line,
		      size_t len, unsigned seen[KEY_COUNT], char *err, size_t errlen)
{
	const char *key, *val, *hash;
	size_t key_len, val_len;
	char buf[VALUE_MAX];
	union value v = {0};
	bool ok;
	int id;

	if (memchr(line, '\0', len))
		return fail(err, errlen, "%s:%u: expected text, got a NUL byte", name, lineno);
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

	for (id = 0; id < KEY_COUNT; id++)
		if (span_eq(key, key_len, keys[id].name))
			break;
	if (id == KEY_COUNT)
		return fail(err, errlen, "%s:%u: %.*s: unknown key", name, lineno, (int)key_len,
			    key);
	if (seen[id])
		return fail(err, errlen, "%s:%u: %s: expected once, already given on line %u", name,
			    lineno, keys[id].name, seen[id]);
	if (val_len == 0)
		return fail(err, errlen, "%s:%u: %s: missing value, expected %s", name, lineno,
			    keys[id].name, keys[id].expected);
	ok = val_len < sizeof(buf);
	if (ok) {
		memcpy(buf, val, val_len);
		buf[val_len] = '\0';
		ok = parse_value(&keys[id], buf, val_len, &v);
	}
	if (!ok)
		return fail(err, errlen, "%s:%u: %s: expected %s, got \"%.*s\"", name, lineno,
			    keys[id].name, keys[id].expected, (int)val_len, val);
	store(c, (enum key_id)id, &v);
	seen[id] = lineno;
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

int conf_parse_file(struct conf *c, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int fd, ret, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		fail(err, errlen, "%s: cannot read: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	ret = read_all(fd, &text, &len);
	close(fd);
	if (ret < 0) {
		fail(err, errlen, "%s: cannot read: %s", path, strerror(-ret));
		errno = -ret;
		return -1;
	}
	ret = conf_parse_buffer(c, path, text, len, err, errlen);
	free(text);
	errno = ret < 0 ? EINVAL : 0;
	return ret;
}
