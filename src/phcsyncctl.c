/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * phcsyncctl: ask phcsyncd over its control socket. One request per connection; the reply
 * is a JSON object (see phcsyncctl(8)), parsed with json-c and printed for people, or as
 * received with --json.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "phcsync/ctl_proto.h"
#include "phcsync/units.h"

#ifndef PHCSYNC_VERSION
#define PHCSYNC_VERSION "unknown"
#endif

/* The daemon's replies stay below 16 KiB; the margin allows for newer daemons. */
#define REPLY_MAX 65536
/* A daemon that does not answer within this is as good as unreachable. */
#define IO_TIMEOUT_S 5
#define WAITSYNC_TIMEOUT_S 60.0
#define WAITSYNC_MAX_OFFSET_NS 1000000LL
/* How long a "busy" daemon is asked again, and the pauses between the tries. */
#define BUSY_RETRY_S 5
#define BUSY_PAUSE_MIN_NS 10000000LL
#define BUSY_PAUSE_MAX_NS 500000000LL

enum exit_code { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_UNREACHABLE = 2, EXIT_USAGE = 3 };

struct options {
	const char *socket_path;
	bool json;
};

struct reply {
	char raw[REPLY_MAX];
	struct json_object *obj;
	bool ok;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: phcsyncctl [-s SOCKET] [-j] COMMAND\n"
		"Query and control phcsyncd.\n"
		"\n"
		"Commands:\n"
		"  status                          state, offsets and frequency of the clock\n"
		"  metrics                         the same in the Prometheus text format\n"
		"  waitsync [TIMEOUT_S [MAX_OFFSET_NS]]\n"
		"                                  wait until locked within MAX_OFFSET_NS\n"
		"                                  (default %.0f s, %lld ns)\n"
		"  step                            step the clock to the PHC now\n"
		"  reset                           restart the servo\n"
		"  reload                          read the configuration file again\n"
		"\n"
		"Options:\n"
		"  -s, --socket SOCKET  control socket (default " CTL_DEFAULT_SOCKET ")\n"
		"  -j, --json           print the daemon's JSON reply as received\n"
		"  -h, --help           show this help and exit\n"
		"  -V, --version        show the version and exit\n"
		"\n"
		"Exit status: 0 success, 1 the command failed or waitsync timed out,\n"
		"2 phcsyncd cannot be reached, 3 usage error. See phcsyncctl(8).\n",
		WAITSYNC_TIMEOUT_S, WAITSYNC_MAX_OFFSET_NS);
}

static int connect_socket(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	const char *hint = "";
	int fd, err;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "phcsyncctl: %s: socket path too long\n", path);
		return -ENAMETOOLONG;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "phcsyncctl: socket: %s\n", strerror(errno));
		return -errno;
	}
	/* On AF_UNIX the send timeout also bounds connect when the daemon's backlog is full. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		err = errno;
		close(fd);
		if (err == ENOENT || err == ECONNREFUSED)
			hint = ": phcsyncd is not running?";
		else if (err == EACCES || err == EPERM)
			hint = ": root or the socket's group may use it";
		else if (err == EAGAIN || err == EWOULDBLOCK)
			hint = ": phcsyncd is busy or hung";
		fprintf(stderr, "phcsyncctl: cannot connect to %s: %s%s\n", path, strerror(err),
			hint);
		return -err;
	}
	return fd;
}

/*
 * Send the request, then read the reply to the close. A daemon that cannot take the
 * request (too many clients) answers and closes without reading it, so a send that fails
 * with EPIPE or ECONNRESET may still have a reply waiting: it is read before any verdict.
 */
static int exchange(int fd, const char *path, const char *command, char *raw, size_t rawlen)
{
	char line[64];
	size_t len, done = 0;
	ssize_t n;
	int send_err = 0;

	len = (size_t)snprintf(line, sizeof(line), "%s\n", command);
	while (done < len) {
		n = send(fd, line + done, len - done, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			send_err = errno;
			if (send_err == EPIPE || send_err == ECONNRESET)
				break;
			fprintf(stderr, "phcsyncctl: %s: cannot send the request: %s\n", path,
				strerror(send_err));
			return -send_err;
		}
		done += (size_t)n;
	}
	done = 0;
	while (done < rawlen - 1 && !memchr(raw, '\n', done)) {
		n = recv(fd, raw + done, rawlen - 1 - done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			fprintf(stderr, "phcsyncctl: %s: no reply within %d s\n", path,
				IO_TIMEOUT_S);
			return -ETIMEDOUT;
		}
		/* A reset after the whole line is only the daemon closing early. */
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	raw[done] = '\0';
	if (!done && send_err) {
		fprintf(stderr,
			"phcsyncctl: %s: cannot send the request: %s (phcsyncd is stopping?)\n",
			path, strerror(send_err));
		return -send_err;
	}
	if (!done) {
		fprintf(stderr,
			"phcsyncctl: %s: the daemon closed the connection without a reply\n", path);
		return -EPROTO;
	}
	return 0;
}

/* Ask command; returns 0 with the parsed reply, or -errno after one line on stderr. */
static int request(const char *path, const char *command, struct reply *r)
{
	struct json_object *ok, *version;
	enum json_tokener_error jerr;
	int fd, ret;

	r->obj = NULL;
	fd = connect_socket(path);
	if (fd < 0)
		return fd;
	ret = exchange(fd, path, command, r->raw, sizeof(r->raw));
	close(fd);
	if (ret < 0)
		return ret;
	r->obj = json_tokener_parse_verbose(r->raw, &jerr);
	if (!r->obj || !json_object_is_type(r->obj, json_type_object) ||
	    !json_object_object_get_ex(r->obj, "ok", &ok) ||
	    !json_object_is_type(ok, json_type_boolean) ||
	    !json_object_object_get_ex(r->obj, "version", &version) ||
	    !json_object_is_type(version, json_type_int)) {
		fprintf(stderr, "phcsyncctl: %s: not a phcsyncd reply%s%s\n", path,
			r->obj ? "" : ": ", r->obj ? "" : json_tokener_error_desc(jerr));
		json_object_put(r->obj);
		r->obj = NULL;
		return -EPROTO;
	}
	if (json_object_get_int(version) != CTL_PROTO_VERSION) {
		fprintf(stderr, "phcsyncctl: %s: protocol version %d, this client speaks %d\n",
			path, json_object_get_int(version), CTL_PROTO_VERSION);
		json_object_put(r->obj);
		r->obj = NULL;
		return -EPROTO;
	}
	r->ok = json_object_get_boolean(ok);
	return 0;
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The daemon had no room for the request and did not read it: asking again is safe. */
static bool reply_busy(const struct reply *r)
{
	const char *error = get_str(r->obj, "error");

	return !r->ok && error && !strncmp(error, "busy", 4);
}

static void sleep_ns(int64_t ns)
{
	clock_nanosleep(CLOCK_MONOTONIC, 0,
			&(struct timespec){.tv_sec = ns / NS_PER_S, .tv_nsec = ns % NS_PER_S},
			NULL);
}

/*
 * request(), asked again while the daemon answers "busy", for up to BUSY_RETRY_S: a busy
 * daemon frees a slot as soon as it has answered someone.
 */
static int request_retrying(const char *path, const char *command, struct reply *r)
{
	int64_t pause_ns = BUSY_PAUSE_MIN_NS, waited_ns = 0;
	int ret;

	for (;;) {
		ret = request(path, command, r);
		if (ret < 0 || !reply_busy(r) || waited_ns >= BUSY_RETRY_S * NS_PER_S)
			return ret;
		json_object_put(r->obj);
		r->obj = NULL;
		sleep_ns(pause_ns);
		waited_ns += pause_ns;
		if (pause_ns < BUSY_PAUSE_MAX_NS)
			pause_ns *= 2;
	}
}

/* Numbers only: a null (no meaningful value) or missing field returns false. */
static bool get_num(struct json_object *o, const char *key, double *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return false;
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return false;
	*out = json_object_get_double(v);
	return true;
}

static bool get_int(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

static bool get_bool(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

/* ns in the unit that keeps three decimals meaningful. */
static const char *human_ns(char *buf, size_t len, double ns, bool sign)
{
	double a = fabs(ns);

	if (a < 1e3)
		snprintf(buf, len, sign ? "%+.0f ns" : "%.0f ns", ns);
	else if (a < 1e6)
		snprintf(buf, len, sign ? "%+.3f us" : "%.3f us", ns / 1e3);
	else if (a < 1e9)
		snprintf(buf, len, sign ? "%+.3f ms" : "%.3f ms", ns / 1e6);
	else
		snprintf(buf, len, sign ? "%+.6f s" : "%.6f s", ns / 1e9);
	return buf;
}

static void utc_date(char *buf, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d", &tm))
		snprintf(buf, len, "%" PRId64, t);
}

/* A UNIX time as "YYYY-MM-DD HH:MM:SS.S UTC". */
static const char *utc_time(char *buf, size_t len, double t)
{
	time_t whole = (time_t)t; /* sample times are after 1970 */
	struct tm tm;
	char day[32];

	if (!gmtime_r(&whole, &tm) || !strftime(day, sizeof(day), "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "%.1f", t);
	else
		snprintf(buf, len, "%s.%d UTC", day, (int)((t - (double)whole) * 10) % 10);
	return buf;
}

static void print_status(struct json_object *o)
{
	const char *device = get_str(o, "device"), *name = get_str(o, "clock_name");
	const char *servo = get_str(o, "servo_state"), *readout = get_str(o, "readout");
	const char *state = get_str(o, "state"), *algorithm = get_str(o, "servo");
	char a[64];
	double v, w;
	int64_t i, j;

	printf("Device          : %s", device && *device ? device : "none");
	if (name && *name)
		printf(" (%s)", name);
	printf("\nReadout         : %s\n", readout && *readout ? readout : "-");
	printf("State           : %s", state ? state : "-");
	if (servo && *servo)
		printf(", servo %s", servo);
	printf("\n");
	if (algorithm && *algorithm)
		printf("Servo           : %s\n", algorithm);
	if (get_num(o, "last_sample_utc_s", &v) && get_num(o, "last_sample_age_s", &w))
		printf("Last sample     : %s, %.1f s ago\n", utc_time(a, sizeof(a), v), w);
	else
		printf("Last sample     : none yet\n");
	if (get_bool(o, "observe_only"))
		printf("Mode            : observe only, the clock is not adjusted\n");
	if (get_num(o, "last_offset_ns", &v))
		printf("Last offset     : %s (system clock %s)\n", human_ns(a, sizeof(a), v, true),
		       v >= 0 ? "ahead" : "behind");
	else
		printf("Last offset     : -\n");
	if (get_num(o, "rms_offset_ns", &v))
		printf("RMS offset      : %s\n", human_ns(a, sizeof(a), v, false));
	if (get_num(o, "max_offset_ns", &v) && get_int(o, "window_updates", &i))
		printf("Max offset      : %s over the last %" PRId64 " updates\n",
		       human_ns(a, sizeof(a), v, false), i);
	/* phc2sys's sign (the adjustment); chrony's tracking shows the uncorrected error. */
	if (get_num(o, "freq_ppb", &v))
		printf("Frequency       : %+.3f ppm set on the clock (uncorrected it runs %.3f ppm "
		       "%s)\n",
		       v / 1e3, fabs(v) / 1e3, v > 0 ? "slow" : "fast");
	if (get_num(o, "freq_residual_ppb", &v) && get_num(o, "freq_skew_ppb", &w) &&
	    get_int(o, "freq_window", &i))
		printf("Residual freq   : %+.3f ppb, skew %.3f ppb (over %" PRId64 " samples)\n", v,
		       w, i);
	if (get_num(o, "delay_ns", &v))
		printf("Read delay      : %s\n", human_ns(a, sizeof(a), v, false));
	if (get_num(o, "error_bound_ns", &v))
		printf("Error bound     : %s\n", human_ns(a, sizeof(a), v, false));
	if (get_num(o, "poll_interval_s", &v))
		printf("Poll interval   : %g s\n", v);
	if (get_int(o, "updates", &i))
		printf("Updates         : %" PRId64 "\n", i);
	if (get_int(o, "steps", &i)) {
		printf("Steps           : %" PRId64, i);
		if (get_num(o, "last_step_ns", &v) && get_num(o, "last_step_age_s", &w))
			printf(" (last %s, %.0f s ago)", human_ns(a, sizeof(a), v, true), w);
		printf("\n");
	}
	if (get_int(o, "read_failures", &i))
		printf("Read failures   : %" PRId64 "\n", i);
	if (get_int(o, "rejected_bursts", &i))
		printf("Rejected bursts : %" PRId64 "\n", i);
	if (get_int(o, "reopens", &i))
		printf("Reopens         : %" PRId64 "\n", i);
	if (get_int(o, "tai_utc_s", &i))
		printf("TAI - UTC       : %" PRId64 " s\n", i);
	else
		printf("TAI - UTC       : unknown\n");
	if (get_int(o, "next_leap", &i) && i && get_int(o, "next_leap_utc_s", &j)) {
		/* The leap second ends the day before the instant it takes effect. */
		utc_date(a, sizeof(a), j - 1);
		printf("Leap second     : %s at the end of %s (UTC)\n", i > 0 ? "insert" : "delete",
		       a);
	} else {
		printf("Leap second     : none known\n");
	}
	if (get_int(o, "leap_expiry_utc_s", &i)) {
		utc_date(a, sizeof(a), i);
		printf("Leap table      : %s %s\n",
		       get_bool(o, "leap_table_expired") ? "EXPIRED on" : "valid until", a);
	}
	if (get_int(o, "leap_smear_ns", &i) && i)
		printf("Leap smear      : %+.6f s in effect\n", (double)i / 1e9);
	if (get_num(o, "uptime_s", &v))
		printf("Uptime          : %.0f s\n", v);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static bool parse_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return *s && !*end && !errno && isfinite(*out) && *out >= 0.0;
}

static bool parse_int64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	*out = v;
	return *s && !*end && !errno && v >= 0;
}

static int cmd_waitsync(const struct options *opt, int argc, char **argv)
{
	double timeout_s = WAITSYNC_TIMEOUT_S, offset;
	int64_t max_offset_ns = WAITSYNC_MAX_OFFSET_NS, start_ns = mono_ns(), left_ns, pause_ns;
	const char *state;
	struct reply *r;
	char a[64];
	int ret;

	if (argc > 2 || (argc > 0 && !parse_double(argv[0], &timeout_s)) ||
	    (argc > 1 && !parse_int64(argv[1], &max_offset_ns))) {
		fprintf(stderr, "phcsyncctl: waitsync: expected [TIMEOUT_S [MAX_OFFSET_NS]], "
				"non-negative numbers\n");
		return EXIT_USAGE;
	}
	r = malloc(sizeof(*r));
	if (!r) {
		fprintf(stderr, "phcsyncctl: out of memory\n");
		return EXIT_FAILED;
	}
	for (;;) {
		ret = request(opt->socket_path, "status", r);
		if (ret < 0) {
			free(r);
			return EXIT_UNREACHABLE;
		}
		state = get_str(r->obj, "state");
		if (r->ok && state && !strcmp(state, "locked") &&
		    get_num(r->obj, "last_offset_ns", &offset) &&
		    fabs(offset) <= (double)max_offset_ns) {
			if (opt->json)
				fputs(r->raw, stdout);
			else
				printf("synchronised: offset %s\n",
				       human_ns(a, sizeof(a), offset, true));
			json_object_put(r->obj);
			free(r);
			return EXIT_OK;
		}
		left_ns = (int64_t)(timeout_s * 1e9) - (mono_ns() - start_ns);
		if (left_ns <= 0) {
			if (!state)
				state = reply_busy(r) ? "unknown, phcsyncd busy" : "unknown";
			fprintf(stderr, "phcsyncctl: not synchronised within %g s (state %s",
				timeout_s, state);
			if (get_num(r->obj, "last_offset_ns", &offset))
				fprintf(stderr, ", offset %s",
					human_ns(a, sizeof(a), offset, true));
			fprintf(stderr, ")\n");
			json_object_put(r->obj);
			free(r);
			return EXIT_FAILED;
		}
		/* Busy: a slot frees as soon as the daemon has answered someone. */
		pause_ns = reply_busy(r) ? BUSY_PAUSE_MIN_NS * 10 : NS_PER_S;
		json_object_put(r->obj);
		sleep_ns(left_ns < pause_ns ? left_ns : pause_ns);
	}
}

static int cmd_simple(const struct options *opt, const char *command)
{
	const char *text;
	struct reply *r;
	int code = EXIT_OK;

	r = malloc(sizeof(*r));
	if (!r) {
		fprintf(stderr, "phcsyncctl: out of memory\n");
		return EXIT_FAILED;
	}
	if (request_retrying(opt->socket_path, command, r) < 0) {
		free(r);
		return EXIT_UNREACHABLE;
	}
	if (opt->json) {
		fputs(r->raw, stdout);
		if (!r->ok)
			code = EXIT_FAILED;
	} else if (!r->ok) {
		text = get_str(r->obj, "error");
		fprintf(stderr, "phcsyncctl: %s: %s\n", command, text ? text : "failed");
		code = EXIT_FAILED;
	} else if (!strcmp(command, "status")) {
		print_status(r->obj);
	} else if (!strcmp(command, "metrics")) {
		text = get_str(r->obj, "metrics");
		fputs(text ? text : "", stdout);
	} else {
		text = get_str(r->obj, "message");
		printf("%s: %s\n", command, text && *text ? text : "ok");
	}
	json_object_put(r->obj);
	free(r);
	if (fflush(stdout) != 0 && code == EXIT_OK) {
		fprintf(stderr, "phcsyncctl: writing the output: %s\n", strerror(errno));
		code = EXIT_FAILED;
	}
	return code;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	static const char *const simple[] = {"status", "metrics", "step", "reset", "reload"};
	struct options opt = {.socket_path = CTL_DEFAULT_SOCKET};
	const char *command;
	int c;

	/* "+": options end at the command, whose arguments are its own. */
	while ((c = getopt_long(argc, argv, "+s:jhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			opt.socket_path = optarg;
			break;
		case 'j':
			opt.json = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("phcsyncctl %s\n", PHCSYNC_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	command = argv[optind++];
	if (!strcmp(command, "waitsync"))
		return cmd_waitsync(&opt, argc - optind, argv + optind);
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		if (strcmp(command, simple[i]))
			continue;
		if (optind < argc) {
			fprintf(stderr, "phcsyncctl: %s takes no arguments\n", command);
			return EXIT_USAGE;
		}
		return cmd_simple(&opt, command);
	}
	fprintf(stderr, "phcsyncctl: unknown command \"%s\"; see phcsyncctl --help\n", command);
	return EXIT_USAGE;
}
