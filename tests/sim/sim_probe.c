/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A tiny clock client for the simulator's own tests: finds a PHC through sysfs, reads it
 * with every method it offers, steers CLOCK_REALTIME a little and waits with the usual
 * calls, until SIGTERM. Prints what it sees, so two runs can be compared byte for byte.
 * --touch FILE creates FILE first thing in main (the safety tests check it never runs).
 * --fifo IN OUT serves pings for the exec tests instead (see fifo_mode).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include <linux/ptp_clock.h>

#define NS 1000000000LL
#define FD_TO_CLOCKID(fd) ((clockid_t)((((unsigned)~(fd)) << 3) | 3))

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t ns_of(struct timespec ts)
{
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static int64_t pct(struct ptp_clock_time t)
{
	return (int64_t)t.sec * NS + t.nsec;
}

/* The first /sys/class/ptp entry, by name order, and its clock_name. */
static int find_phc(char *path, size_t len)
{
	DIR *d = opendir("/sys/class/ptp");
	struct dirent *e;
	int best = -1;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, "ptp", 3) == 0) {
			int n = atoi(e->d_name + 3);

			if (best < 0 || n < best)
				best = n;
		}
	closedir(d);
	if (best >= 0) {
		char name_path[64], name[64] = "";
		int fd;
		ssize_t n;

		snprintf(name_path, sizeof(name_path), "/sys/class/ptp/ptp%d/clock_name", best);
		fd = open(name_path, O_RDONLY);
		if (fd >= 0) {
			n = read(fd, name, sizeof(name) - 1);
			name[n > 0 ? n : 0] = '\0';
			close(fd);
		}
		printf("found ptp%d: %s", best, name);
		snprintf(path, len, "/dev/ptp%d", best);
	}
	return best;
}

static void read_phc(int fd, int i)
{
	struct ptp_sys_offset so = {.n_samples = 3};
	struct ptp_sys_offset_precise sp;
	struct ptp_sys_offset_extended se = {.n_samples = 2};
	struct timespec a, p, b;

	if (ioctl(fd, PTP_SYS_OFFSET, &so) == 0)
		printf("%d basic %lld %lld %lld\n", i, (long long)pct(so.ts[0]),
		       (long long)pct(so.ts[1]), (long long)pct(so.ts[2]));
	else
		printf("%d basic: %s\n", i, strerror(errno));
	if (ioctl(fd, PTP_SYS_OFFSET_PRECISE, &sp) == 0)
		printf("%d precise %lld %lld\n", i, (long long)pct(sp.device),
		       (long long)pct(sp.sys_realtime));
	else
		printf("%d precise: %s\n", i, strerror(errno));
	if (ioctl(fd, PTP_SYS_OFFSET_EXTENDED, &se) == 0)
		printf("%d extended %lld\n", i, (long long)pct(se.ts[0][1]));
	else
		printf("%d extended: %s\n", i, strerror(errno));
	clock_gettime(CLOCK_REALTIME, &a);
	if (clock_gettime(FD_TO_CLOCKID(fd), &p) == 0) {
		clock_gettime(CLOCK_REALTIME, &b);
		printf("%d gettime %lld %lld %lld\n", i, (long long)ns_of(a), (long long)ns_of(p),
		       (long long)ns_of(b));
	} else {
		printf("%d gettime: %s\n", i, strerror(errno));
	}
}

/* Steer once: step by the offset seen, then a frequency and a status. */
static void steer(int fd)
{
	struct ptp_sys_offset_precise sp;
	struct timex tx = {0};
	int64_t off;

	/* A TAI PHC: REALTIME should read the kernel's TAI offset less. */
	if (adjtimex(&tx) < 0 || ioctl(fd, PTP_SYS_OFFSET_PRECISE, &sp))
		return;
	off = pct(sp.sys_realtime) - (pct(sp.device) - tx.tai * NS);
	tx.modes = ADJ_SETOFFSET | ADJ_NANO;
	tx.time.tv_sec = (-off) / NS - ((-off) % NS < 0);
	tx.time.tv_usec = (-off) - (int64_t)tx.time.tv_sec * NS;
	printf("step %lld: %d\n", (long long)-off, clock_adjtime(CLOCK_REALTIME, &tx));
	tx = (struct timex){.modes = ADJ_FREQUENCY | ADJ_STATUS | ADJ_MAXERROR,
			    .freq = -(50 << 16),
			    .maxerror = 100,
			    .status = STA_INS};
	printf("freq: %d\n", clock_adjtime(CLOCK_REALTIME, &tx));
}

/* One wait for IN until the next whole simulated second, with the call of that second. */
static int fifo_wait(int in, int ep, int64_t mono_ns, const char **call)
{
	int64_t left_ns = NS - mono_ns % NS;
	struct pollfd p = {in, POLLIN, 0};
	int64_t left_us = (left_ns + 999) / 1000;
	struct timespec ts = {left_ns / NS, (long)(left_ns % NS)};
	struct timeval tv = {left_us / 1000000, (long)(left_us % 1000000)};
	struct epoll_event ev;
	fd_set rd;

	switch (mono_ns / NS % 4) {
	case 0:
		*call = "poll";
		return poll(&p, 1, (int)((left_ns + 999999) / 1000000));
	case 1:
		*call = "select";
		FD_ZERO(&rd);
		FD_SET(in, &rd);
		return select(in + 1, &rd, NULL, NULL, &tv);
	case 2:
		*call = "epoll_wait";
		return epoll_wait(ep, &ev, 1, (int)((left_ns + 999999) / 1000000));
	default:
		*call = "ppoll";
		return ppoll(&p, 1, &ts, NULL);
	}
}

/*
 * Wait on the FIFO IN with poll, select, epoll_wait and ppoll in turn (by the simulated
 * second); answer each line read with "pong MONO_NS" on the FIFO OUT and print what
 * happened, so the exec tests see at which simulated time a command was served.
 */
static int fifo_mode(const char *in_path, const char *out_path)
{
	/* Read-write, so neither open blocks nor sees the end when a writer leaves. */
	int in = open(in_path, O_RDWR | O_NONBLOCK);
	int out = open(out_path, O_RDWR | O_NONBLOCK);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = in};

	if (in < 0 || out < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, in, &ev)) {
		perror("sim_probe: fifo");
		return 1;
	}
	while (!stop) {
		struct timespec mono;
		const char *call;
		char buf[256];
		ssize_t n;
		int r;

		clock_gettime(CLOCK_MONOTONIC, &mono);
		r = fifo_wait(in, ep, ns_of(mono), &call);
		clock_gettime(CLOCK_MONOTONIC, &mono);
		if (r <= 0) {
			printf("%lld %s: %s\n", (long long)ns_of(mono), call,
			       r == 0 ? "timeout" : strerror(errno));
			continue;
		}
		n = read(in, buf, sizeof(buf) - 1);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
			printf("%lld %s: %s\n", (long long)ns_of(mono), call, line);
			dprintf(out, "pong %lld\n", (long long)ns_of(mono));
		}
	}
	printf("stopped by SIGTERM\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_term};
	char path[64];
	int fd = -1;

	if (argc == 3 && strcmp(argv[1], "--touch") == 0) {
		FILE *f = fopen(argv[2], "w");

		if (f)
			fclose(f);
	}
	sigaction(SIGTERM, &sa, NULL);
	if (argc == 4 && strcmp(argv[1], "--fifo") == 0)
		return fifo_mode(argv[2], argv[3]);
	if (find_phc(path, sizeof(path)) >= 0)
		fd = open(path, O_RDONLY);
	for (int i = 0; !stop; i++) {
		struct timespec mono, half = {0, 500000000};
		struct timeval tv = {0, 250000};

		clock_gettime(CLOCK_MONOTONIC, &mono);
		printf("%d mono %lld\n", i, (long long)ns_of(mono));
		if (fd >= 0)
			read_phc(fd, i);
		if (i == 3 && fd >= 0)
			steer(fd);
		/* Each wait call the simulator must advance time in. */
		switch (i % 4) {
		case 0:
			poll(NULL, 0, 1000);
			break;
		case 1:
			nanosleep(&half, NULL);
			break;
		case 2:
			select(0, NULL, NULL, NULL, &tv);
			break;
		default:
			usleep(250000);
			break;
		}
	}
	printf("stopped by SIGTERM\n");
	if (fd >= 0)
		close(fd);
	return 0;
}
