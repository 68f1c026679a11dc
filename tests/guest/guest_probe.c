/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The guest suite's judge: reads a PHC against CLOCK_REALTIME with PTP_SYS_OFFSET_EXTENDED
 * (the sample with the shortest window), independently of phcsyncd, and prints one line a
 * sample:
 *
 *   P MONO_MS OFFSET_NS WINDOW_NS STATE TAI RAW_NS
 *
 * OFFSET_NS is CLOCK_REALTIME - PHC at the middle of the window; STATE and TAI are what
 * adjtimex (read only) says: the kernel's leap state (TIME_OK 0, INS 1, DEL 2, OOP 3,
 * WAIT 4) and its TAI offset; RAW_NS is CLOCK_REALTIME - CLOCK_MONOTONIC_RAW, whose slope
 * is how fast the guest's clock is being steered against its own oscillator.
 *
 * Usage: guest_probe DEVICE SECONDS [INTERVAL_MS]   (SECONDS 0: until killed)
 *        guest_probe mark NAME                      prints "M MONO_MS NAME"
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include <linux/ptp_clock.h>

static int64_t ns_of(const struct ptp_clock_time *t)
{
	return (int64_t)t->sec * 1000000000 + t->nsec;
}

static int64_t now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ms(void)
{
	return now_ns(CLOCK_MONOTONIC) / 1000000;
}

int main(int argc, char **argv)
{
	struct ptp_sys_offset_extended x;
	long seconds, interval_ms = 50;
	int64_t end;
	int fd;

	if (argc == 3 && strcmp(argv[1], "mark") == 0) {
		printf("M %lld %s\n", (long long)mono_ms(), argv[2]);
		return 0;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: guest_probe DEVICE SECONDS [INTERVAL_MS]\n");
		return 2;
	}
	seconds = strtol(argv[2], NULL, 10);
	if (argc > 3)
		interval_ms = strtol(argv[3], NULL, 10);
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "guest_probe: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	end = mono_ms() + seconds * 1000;
	while (seconds == 0 || mono_ms() < end) {
		struct timespec pause = {interval_ms / 1000, (interval_ms % 1000) * 1000000};
		struct timex tx = {.modes = 0};
		int64_t best_w = INT64_MAX, best_off = 0;
		int64_t raw;
		int state;

		memset(&x, 0, sizeof(x));
		x.n_samples = 5;
		if (ioctl(fd, PTP_SYS_OFFSET_EXTENDED, &x)) {
			fprintf(stderr, "guest_probe: PTP_SYS_OFFSET_EXTENDED: %s\n",
				strerror(errno));
			return 1;
		}
		for (unsigned i = 0; i < x.n_samples; i++) {
			int64_t a = ns_of(&x.ts[i][0]), p = ns_of(&x.ts[i][1]),
				b = ns_of(&x.ts[i][2]);

			if (b - a >= 0 && b - a < best_w) {
				best_w = b - a;
				best_off = a + (b - a) / 2 - p;
			}
		}
		state = adjtimex(&tx);
		raw = now_ns(CLOCK_MONOTONIC_RAW);
		raw = now_ns(CLOCK_REALTIME) - raw;
		printf("P %lld %lld %lld %d %d %lld\n", (long long)mono_ms(), (long long)best_off,
		       (long long)best_w, state, tx.tai, (long long)raw);
		clock_nanosleep(CLOCK_MONOTONIC, 0, &pause, NULL);
	}
	return 0;
}
