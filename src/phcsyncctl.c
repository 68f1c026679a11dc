/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * phcsyncctl: ask phcsyncd over its control socket. One request per connection; the reply
 * is a JSON object (see phcsyncctl(8)), parsed with json-c and printed for people, or as
 * received with --json.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "phcsync/ctl_client.h"
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
	char err[256];
	int fd, ret;

	r->obj = NULL;
	fd = connect_socket(path);
	if (fd < 0)
		return fd;
	ret = exchange(fd, path, command, r->raw, sizeof(r->raw));
	close(fd);
	if (ret < 0)
		return ret;
	ret = ctl_client_parse(r->raw, &r->obj, &r->ok, err, sizeof(err));
	if (ret < 0)
		fprintf(stderr, "phcsyncctl: %s: %s\n", path, err);
	return ret;
}

/* The daemon had no room for the request and did not read it: asking again is safe. */
static bool reply_busy(const struct reply *r)
{
	const char *error = ctl_client_str(r->obj, "error");

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

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static int cmd_waitsync(const struct options *opt, int argc, char **argv)
{
	double timeout_s = WAITSYNC_TIMEOUT_S, offset;
	int64_t max_offset_ns = WAITSYNC_MAX_OFFSET_NS, start_ns = mono_ns(), left_ns, pause_ns;
	const char *state;
	struct reply *r;
	char a[256];
	int ret;

	if (ctl_client_waitsync_args(argc, argv, &timeout_s, &max_offset_ns, a, sizeof(a)) < 0) {
		fprintf(stderr, "phcsyncctl: waitsync: %s\n", a);
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
		state = ctl_client_str(r->obj, "state");
		if (ctl_client_synced(r->obj, r->ok, max_offset_ns, &offset)) {
			if (opt->json)
				fputs(r->raw, stdout);
			else
				printf("synchronised: offset %s\n",
				       ctl_client_human_ns(a, sizeof(a), offset, true));
			json_object_put(r->obj);
			free(r);
			return EXIT_OK;
		}
		left_ns = (int64_t)(timeout_s * 1e9) - (mono_ns() - start_ns);
		if (left_ns <= 0) {
			if (!state)
				state = reply_busy(r) ? "unknown, phcsyncd busy" : "unknown";
			fprintf(stderr, "phcsyncctl: not synchronised within %g s (state ",
				timeout_s);
			ctl_client_put_text(stderr, state);
			if (ctl_client_num(r->obj, "last_offset_ns", &offset))
				fprintf(stderr, ", offset %s",
					ctl_client_human_ns(a, sizeof(a), offset, true));
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
		text = ctl_client_str(r->obj, "error");
		fprintf(stderr, "phcsyncctl: %s: ", command);
		ctl_client_put_text(stderr, text ? text : "failed");
		fputc('\n', stderr);
		code = EXIT_FAILED;
	} else if (!strcmp(command, "status")) {
		ctl_client_print_status(stdout, r->obj);
	} else if (!strcmp(command, "metrics")) {
		text = ctl_client_str(r->obj, "metrics");
		fputs(text ? text : "", stdout);
	} else {
		text = ctl_client_str(r->obj, "message");
		printf("%s: ", command);
		ctl_client_put_text(stdout, text && *text ? text : "ok");
		putchar('\n');
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
