/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * phcsim: run a program under libphcsim.so, failing closed. The child drops
 * CAP_SYS_TIME before exec (so even a program that escaped the library could not set the
 * real clock), and the program may only run past the library's constructor once the
 * harness has seen the library's handshake. See tests/sim/README.md.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>

#include "sim_scenario.h"

#define EXIT_HARNESS 125 /* usage, scenario, library path, capabilities */
#define EXIT_NO_SIM 126	 /* the program did not start with the library */
#define EXIT_NO_EXEC 127 /* the program could not be executed */
#define HANDSHAKE_MS 5000
#define LOCK_NS 10000	      /* --report: |offset| at or below this counts as locked */
#define EXEC_TIMEOUT_MS 30000 /* default real time an exec'd command may take */

static pid_t child = -1;

struct options {
	const char *scenario;
	const char *builtin;
	const char *seed;
	int64_t duration_ns;
	const char *trace;
	const char *lib;
	bool report;
	const char *exec_log;
	int exec_timeout_ms;
	bool strict;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: phcsim [-s SCENARIO | --builtin NAME] [--seed N] [--duration S]\n"
		   "              [-t TRACE] [--report] [-L LIBPATH] [--exec-log FILE]\n"
		   "              [--exec-timeout S] [--strict] -- PROGRAM [ARGS...]\n"
		   "Runs PROGRAM against simulated clocks (libphcsim.so). Exit status: the\n"
		   "program's; 125 harness error, 126 simulator did not start, 127 no exec.\n");
}

static void forward_signal(int sig)
{
	if (child > 0)
		kill(child, sig);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void remove_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The library must be a loadable libphcsim of this version: checked by dlopen, inert. */
static int check_library(const char *path)
{
	const char *abi;
	void *h;

	setenv("PHCSIM_PROBE", "1", 1);
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	unsetenv("PHCSIM_PROBE");
	if (!h) {
		fprintf(stderr, "phcsim: cannot load the simulator library: %s\n", dlerror());
		return -1;
	}
	abi = dlsym(h, "sim_preload_abi");
	if (!abi || strcmp(abi, "phcsim-1")) {
		fprintf(stderr, "phcsim: %s is not a phcsim-1 simulator library\n", path);
		return -1;
	}
	return 0;
}

/*
 * In the child before exec: make sure the program cannot gain CAP_SYS_TIME. Root gets
 * the bounding set on exec, so it must lose the capability there; anyone else must not
 * hold it now, and no_new_privs stops file capabilities and set-uid from granting it.
 */
static int drop_time_caps(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	unsigned bit = 1u << (CAP_SYS_TIME % 32);
	int word = CAP_SYS_TIME / 32;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		perror("phcsim: PR_SET_NO_NEW_PRIVS");
		return -1;
	}
	if (prctl(PR_CAPBSET_DROP, CAP_SYS_TIME, 0, 0, 0) && errno != EPERM) {
		perror("phcsim: PR_CAPBSET_DROP");
		return -1;
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (syscall(SYS_capget, &hdr, data)) {
		perror("phcsim: capget");
		return -1;
	}
	data[word].effective &= ~bit;
	data[word].permitted &= ~bit;
	data[word].inheritable &= ~bit;
	if (syscall(SYS_capset, &hdr, data)) {
		perror("phcsim: capset");
		return -1;
	}
	if (prctl(PR_CAPBSET_READ, CAP_SYS_TIME, 0, 0, 0) != 0 && geteuid() == 0) {
		fprintf(stderr, "phcsim: cannot drop CAP_SYS_TIME from the bounding set; "
				"refusing to run the program as root with it\n");
		return -1;
	}
	return 0;
}

static void set_env_num(const char *name, long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", v);
	setenv(name, buf, 1);
}

__attribute__((noreturn)) static void run_child(const struct options *o, const char *lib,
						const char *dir, const char *trace, int hs_fd,
						int go_fd, char **argv)
{
	const char *old = getenv("LD_PRELOAD");
	char preload[2 * PATH_MAX + 2];

	snprintf(preload, sizeof(preload), "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
	setenv("LD_PRELOAD", preload, 1);
	set_env_num("PHCSIM_HS_FD", hs_fd);
	set_env_num("PHCSIM_GO_FD", go_fd);
	setenv("PHCSIM_DIR", dir, 1);
	unsetenv("PHCSIM_ALLOW");
	unsetenv("PHCSIM_PROBE");
	unsetenv("PHCSIM_SCENARIO");
	unsetenv("PHCSIM_BUILTIN");
	unsetenv("PHCSIM_SEED");
	unsetenv("PHCSIM_DURATION_NS");
	unsetenv("PHCSIM_TRACE");
	unsetenv("PHCSIM_STRICT");
	if (o->strict)
		setenv("PHCSIM_STRICT", "1", 1);
	if (o->scenario)
		setenv("PHCSIM_SCENARIO", o->scenario, 1);
	else if (o->builtin)
		setenv("PHCSIM_BUILTIN", o->builtin, 1);
	if (o->seed)
		setenv("PHCSIM_SEED", o->seed, 1);
	if (o->duration_ns)
		set_env_num("PHCSIM_DURATION_NS", o->duration_ns);
	if (trace)
		setenv("PHCSIM_TRACE", trace, 1);
	if (drop_time_caps())
		_exit(EXIT_HARNESS);
	execvp(argv[0], argv);
	fprintf(stderr, "phcsim: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(EXIT_NO_EXEC);
}

/* Wait for "phcsim-hello PID\n" from the child's library. 0, or -1 when it did not come. */
static int await_handshake(int fd, pid_t pid)
{
	char buf[64], want[64];
	size_t got = 0;
	struct timespec start, now;

	snprintf(want, sizeof(want), "phcsim-hello %d\n", (int)pid);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (got < sizeof(buf) - 1) {
		struct pollfd p = {fd, POLLIN, 0};
		long left_ms;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left_ms = HANDSHAKE_MS - ((now.tv_sec - start.tv_sec) * 1000 +
					  (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left_ms <= 0 || poll(&p, 1, (int)left_ms) <= 0)
			return -1;
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
		if (memchr(buf, '\n', got))
			break;
	}
	buf[got] = '\0';
	return strcmp(buf, want) ? -1 : 0;
}

static void print_stats(const char *label, const int64_t *off, size_t n)
{
	double sum2 = 0;
	int64_t max = 0;

	if (!n) {
		fprintf(stderr, "phcsim:   %s: no samples\n", label);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		sum2 += (double)off[i] * (double)off[i];
		if (llabs(off[i]) > max)
			max = llabs(off[i]);
	}
	fprintf(stderr, "phcsim:   %s: rms %.0f ns, max |offset| %lld ns (%zu s)\n", label,
		sqrt(sum2 / (double)n), (long long)max, n);
}

static const char *field(const char *line, const char *name)
{
	const char *p = strstr(line, name);

	return p ? p + strlen(name) : NULL;
}

/* ---- exec events: commands run outside the simulation while virtual time stands ---- */

/* No preload and no harness variables: the command must not join the simulation. */
static void clean_env(void)
{
	extern char **environ;
	char name[256];

	unsetenv("LD_PRELOAD");
	for (;;) {
		char **e = environ;

		while (*e && strncmp(*e, "PHCSIM_", 7))
			e++;
		if (!*e)
			break;
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(*e, "="), *e);
		if (unsetenv(name))
			_exit(EXIT_HARNESS);
	}
}

__attribute__((noreturn)) static void run_command(const char *cmd, int out_fd)
{
	int in = open("/dev/null", O_RDONLY);

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	/* Its own process group, so a timeout ends whatever it started too. */
	setpgid(0, 0);
	if (in < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
	    dup2(out_fd, STDERR_FILENO) < 0)
		_exit(EXIT_HARNESS);
	clean_env();
	if (drop_time_caps())
		_exit(EXIT_HARNESS);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(EXIT_NO_EXEC);
}

static long ms_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/*
 * Run one command to its end, or kill its process group after timeout_ms, or when the
 * simulated program (child_pidfd) ends first. Returns its status (128+N for signal N).
 */
static int exec_command(const char *cmd, int out_fd, int timeout_ms, int child_pidfd,
			bool *timed_out)
{
	struct timespec start;
	pid_t pid;
	int pidfd, status;

	*timed_out = false;
	clock_gettime(CLOCK_MONOTONIC, &start);
	pid = fork();
	if (pid < 0) {
		perror("phcsim: fork");
		return EXIT_NO_EXEC;
	}
	if (pid == 0)
		run_command(cmd, out_fd);
	setpgid(pid, pid);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		struct pollfd p[2] = {{pidfd, POLLIN, 0}, {child_pidfd, POLLIN, 0}};
		long left_ms = timeout_ms - ms_since(&start);
		int r;

		if (left_ms <= 0) {
			*timed_out = true;
			break;
		}
		r = poll(p, 2, (int)left_ms);
		if (r < 0 && errno != EINTR) {
			perror("phcsim: poll");
			break;
		}
		if (r > 0 && (p[0].revents || p[1].revents))
			break;
	}
	if (pidfd < 0 || *timed_out || waitpid(pid, &status, WNOHANG) != pid) {
		kill(-pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				return EXIT_NO_EXEC;
	}
	if (pidfd >= 0)
		close(pidfd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * Serve the library's "exec N" requests until the program ends: run event N's command
 * and answer "status S" or "timeout S". The library holds virtual time meanwhile.
 */
static void serve_execs(const struct sim_scenario *sc, const struct options *o, int from_lib,
			int to_lib, int child_pidfd, int out_fd)
{
	char buf[64];
	size_t got = 0;

	for (;;) {
		struct pollfd p[2] = {{child_pidfd, POLLIN, 0}, {from_lib, POLLIN, 0}};
		char *nl;
		ssize_t n;

		if (poll(p, from_lib >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("phcsim: poll");
			return;
		}
		if (p[0].revents)
			return;
		if (!p[1].revents)
			continue;
		n = read(from_lib, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0) {
			/* The program has left the library behind (exec): only its end is left. */
			close(from_lib);
			from_lib = -1;
			continue;
		}
		got += (size_t)n;
		while ((nl = memchr(buf, '\n', got))) {
			const struct sim_event *e;
			bool timed_out;
			char *end;
			long idx;
			int status;

			*nl = '\0';
			idx = strncmp(buf, "exec ", 5) ? -1 : strtol(buf + 5, &end, 10);
			if (idx < 0 || idx >= sc->nevents || *end ||
			    sc->ev[idx].type != SIM_EV_EXEC) {
				fprintf(stderr, "phcsim: bad request from the library: '%s'\n",
					buf);
				close(from_lib);
				from_lib = -1;
				got = 0;
				break;
			}
			e = &sc->ev[idx];
			status = exec_command(sc->exec[e->exec], out_fd, o->exec_timeout_ms,
					      child_pidfd, &timed_out);
			if (timed_out)
				fprintf(stderr,
					"phcsim: exec at %.3f s ran over %.1f s; killed: %s\n",
					(double)e->t_ns / 1e9, o->exec_timeout_ms / 1000.0,
					sc->exec[e->exec]);
			dprintf(to_lib, "%s %d\n", timed_out ? "timeout" : "status", status);
			got -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, got);
		}
		if (got == sizeof(buf) - 1) {
			fprintf(stderr, "phcsim: bad request from the library\n");
			close(from_lib);
			from_lib = -1;
			got = 0;
		}
	}
}

/* The truth summary, from the trace. */
static void report(const char *trace)
{
	FILE *f = fopen(trace, "r");
	char line[1024], name[64] = "?";
	int64_t *off = NULL, *t = NULL;
	size_t n = 0, cap = 0, lock = SIZE_MAX;
	long long steps = 0, largest = 0, reads = 0;
	double duration_s = 0;
	const char *p;

	if (!f) {
		fprintf(stderr, "phcsim: no trace to report on: %s\n", strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "\"type\":\"start\"")) {
			if ((p = field(line, "\"scenario\":\"")))
				sscanf(p, "%63[^\"]", name);
			if ((p = field(line, "\"duration_s\":")))
				duration_s = strtod(p, NULL);
		} else if (strstr(line, "\"type\":\"tick\"")) {
			double ts = strtod(field(line, "{\"t\":"), NULL);

			if (ts > duration_s)
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 4096;
				off = realloc(off, cap * sizeof(*off));
				t = realloc(t, cap * sizeof(*t));
				if (!off || !t) {
					fprintf(stderr, "phcsim: out of memory\n");
					exit(EXIT_HARNESS);
				}
			}
			t[n] = (int64_t)ts;
			off[n] = strtoll(field(line, "\"offset_ns\":"), NULL, 10);
			if ((p = field(line, "\"phc_reads\":")))
				reads = strtoll(p, NULL, 10);
			if (lock == SIZE_MAX && llabs(off[n]) <= LOCK_NS)
				lock = n;
			n++;
		} else if ((p = field(line, "\"step_ns\":")) && strstr(line, "\"type\":\"adj\"")) {
			long long s = strtoll(p, NULL, 10);

			steps++;
			if (llabs(s) > llabs(largest))
				largest = s;
		}
	}
	fclose(f);
	fprintf(stderr, "phcsim: truth for %s, %.0f s simulated\n", name, duration_s);
	if (n && (double)t[n - 1] < duration_s)
		fprintf(stderr, "phcsim:   the program ended early, at t=%lld s\n",
			(long long)t[n - 1]);
	{
		size_t half = 0;

		while (half < n && (double)t[half] < duration_s / 2)
			half++;
		print_stats("last half", off + half, n - half);
	}
	if (lock == SIZE_MAX) {
		fprintf(stderr, "phcsim:   never locked (|offset| <= %d ns)\n", LOCK_NS);
	} else {
		char label[64];

		snprintf(label, sizeof(label), "after lock at t=%lld s", (long long)t[lock]);
		print_stats(label, off + lock, n - lock);
	}
	fprintf(stderr, "phcsim:   steps: %lld, largest %lld ns\n", steps, largest);
	/* Per second of the program's life, which may have ended early. */
	fprintf(stderr, "phcsim:   PHC reads: %lld (%.1f/s)\n", reads,
		n > 1 ? (double)reads / (double)t[n - 1] : 0.0);
	free(off);
	free(t);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"scenario", required_argument, NULL, 's'},
		{"builtin", required_argument, NULL, 'b'},
		{"seed", required_argument, NULL, 'S'},
		{"duration", required_argument, NULL, 'd'},
		{"trace", required_argument, NULL, 't'},
		{"report", no_argument, NULL, 'r'},
		{"lib", required_argument, NULL, 'L'},
		{"exec-log", required_argument, NULL, 'E'},
		{"exec-timeout", required_argument, NULL, 'T'},
		{"strict", no_argument, NULL, 'X'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "+s:t:L:h", longopts, NULL)) != -1) {
		char *end;
		double d;

		switch (c) {
		case 's':
			o->scenario = optarg;
			break;
		case 'b':
			o->builtin = optarg;
			break;
		case 'S':
			errno = 0;
			strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-') {
				fprintf(stderr, "phcsim: bad seed '%s'\n", optarg);
				return -1;
			}
			o->seed = optarg;
			break;
		case 'd':
			d = strtod(optarg, &end);
			if (end == optarg || *end || !(d > 0) || d > 366 * 86400.0) {
				fprintf(stderr, "phcsim: bad duration '%s' (seconds)\n", optarg);
				return -1;
			}
			o->duration_ns = llround(d * 1e9);
			break;
		case 't':
			o->trace = optarg;
			break;
		case 'r':
			o->report = true;
			break;
		case 'L':
			o->lib = optarg;
			break;
		case 'E':
			o->exec_log = optarg;
			break;
		case 'T':
			d = strtod(optarg, &end);
			if (end == optarg || *end || !(d > 0) || d > 3600) {
				fprintf(stderr, "phcsim: bad exec timeout '%s' (seconds)\n",
					optarg);
				return -1;
			}
			o->exec_timeout_ms = (int)ceil(d * 1000);
			break;
		case 'X':
			o->strict = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (o->scenario && o->builtin) {
		fprintf(stderr, "phcsim: -s and --builtin exclude each other\n");
		return -1;
	}
	if (optind >= argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/* Absolute path of the library: -L, else libphcsim.so next to this binary. */
static int library_path(const char *given, char *out)
{
	char self[PATH_MAX], guess[PATH_MAX + 16];
	ssize_t n;

	if (!given) {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0) {
			perror("phcsim: /proc/self/exe");
			return -1;
		}
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
		snprintf(guess, sizeof(guess), "%s/libphcsim.so", self);
		given = guess;
	}
	if (!realpath(given, out)) {
		fprintf(stderr, "phcsim: simulator library %s: %s\n", given, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = {.exec_timeout_ms = EXEC_TIMEOUT_MS};
	static struct sim_scenario sc;
	char lib[PATH_MAX], scen[PATH_MAX], dir[] = "/tmp/phcsim.XXXXXX";
	char trace_buf[sizeof(dir) + 32], err[512];
	const char *trace;
	int hs[2], go[2], status;
	int ret, child_pidfd, out_fd = STDOUT_FILENO;

	if (parse_options(argc, argv, &o))
		return EXIT_HARNESS;
	if (o.scenario) {
		if (sim_scenario_load(&sc, o.scenario, err, sizeof(err)) ||
		    !realpath(o.scenario, scen)) {
			fprintf(stderr, "phcsim: %s\n", err);
			return EXIT_HARNESS;
		}
		o.scenario = scen;
	} else if (sim_scenario_builtin(&sc, o.builtin ? o.builtin : SIM_DEFAULT_SCENARIO, err,
					sizeof(err))) {
		fprintf(stderr, "phcsim: %s\n", err);
		return EXIT_HARNESS;
	}
	if (library_path(o.lib, lib) || check_library(lib))
		return EXIT_HARNESS;
	if (o.exec_log) {
		out_fd = open(o.exec_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (out_fd < 0) {
			fprintf(stderr, "phcsim: exec log %s: %s\n", o.exec_log, strerror(errno));
			return EXIT_HARNESS;
		}
	}
	if (!mkdtemp(dir)) {
		perror("phcsim: mkdtemp");
		return EXIT_HARNESS;
	}
	trace = o.trace;
	if (!trace && o.report) {
		snprintf(trace_buf, sizeof(trace_buf), "%s/trace.jsonl", dir);
		trace = trace_buf;
	}
	if (pipe2(hs, O_CLOEXEC) || pipe2(go, O_CLOEXEC)) {
		perror("phcsim: pipe");
		remove_tree(dir);
		return EXIT_HARNESS;
	}
	child = fork();
	if (child < 0) {
		perror("phcsim: fork");
		remove_tree(dir);
		return EXIT_HARNESS;
	}
	if (child == 0) {
		/* The child's ends must survive exec; the parent's must not. */
		fcntl(hs[1], F_SETFD, 0);
		fcntl(go[0], F_SETFD, 0);
		run_child(&o, lib, dir, trace, hs[1], go[0], argv + optind);
	}
	signal(SIGINT, forward_signal);
	signal(SIGTERM, forward_signal);
	signal(SIGHUP, forward_signal);
	/* A library that went away must not kill the harness through its pipe. */
	signal(SIGPIPE, SIG_IGN);
	close(hs[1]);
	close(go[0]);
	child_pidfd = sc.nexec ? (int)syscall(SYS_pidfd_open, child, 0) : -1;
	if (sc.nexec && child_pidfd < 0)
		perror("phcsim: pidfd_open (needed by exec events)");
	if ((sc.nexec && child_pidfd < 0) || await_handshake(hs[0], child) ||
	    write(go[1], "go\n", 3) != 3) {
		kill(child, SIGKILL);
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
		remove_tree(dir);
		if (WIFEXITED(status) &&
		    (WEXITSTATUS(status) == EXIT_NO_EXEC || WEXITSTATUS(status) == EXIT_HARNESS))
			return WEXITSTATUS(status);
		fprintf(stderr,
			"phcsim: %s did not start under the simulator (no handshake); "
			"stopped it\n",
			argv[optind]);
		return EXIT_NO_SIM;
	}
	if (sc.nexec)
		serve_execs(&sc, &o, hs[0], go[1], child_pidfd, out_fd);
	close(hs[0]);
	close(go[1]);
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR) {
			perror("phcsim: waitpid");
			remove_tree(dir);
			return EXIT_HARNESS;
		}
	ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (o.report)
		report(trace);
	remove_tree(dir);
	return ret;
}
