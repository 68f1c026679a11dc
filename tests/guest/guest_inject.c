/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Moves the guest's PHC from inside the guest, as a host event would: through
 * clock_adjtime on the PHC's dynamic clockid (the PTP class driver's adjtime/adjfine).
 *
 *   guest_inject DEVICE step NS        ADJ_SETOFFSET by NS (exact)
 *   guest_inject DEVICE set UNIX_S     step so that the PHC reads UNIX_S now
 *   guest_inject DEVICE at UNIX_S NS   wait until the PHC reads UNIX_S, then step by NS
 *   guest_inject DEVICE freq PPB       frequency PPB ppb (compensated, see below); "min"
 *                                      is the most negative the driver takes
 *                                      (-max_adjustment of /sys/class/ptp/ptpN)
 *
 * QEMU's igb model steps its clock at each frequency change (by about 2*delta*T, T being
 * QEMU's run time, plus 2^41 ns on a decrease): freq measures the PHC against
 * CLOCK_MONOTONIC_RAW just before and after the change and steps the difference back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000LL
#define FD_TO_CLOCKID(fd) ((~(clockid_t)(fd) << 3) | 3)

static clockid_t phc;

static int64_t now(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts)) {
		perror("guest_inject: clock_gettime");
		exit(1);
	}
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

/* PHC - CLOCK_MONOTONIC_RAW, from the tightest of 15 bracketed readings. */
static int64_t phc_minus_raw(void)
{
	int64_t best_w = INT64_MAX, best = 0;

	for (int i = 0; i < 15; i++) {
		int64_t a = now(CLOCK_MONOTONIC_RAW), p = now(phc), b = now(CLOCK_MONOTONIC_RAW);

		if (b - a < best_w) {
			best_w = b - a;
			best = p - (a + (b - a) / 2);
		}
	}
	return best;
}

static void adj(struct timex *tx, const char *what)
{
	if (clock_adjtime(phc, tx) < 0) {
		fprintf(stderr, "guest_inject: clock_adjtime(%s): %s\n", what, strerror(errno));
		exit(1);
	}
}

static void step(int64_t ns)
{
	struct timex tx = {.modes = ADJ_SETOFFSET | ADJ_NANO};
	int64_t s = ns / NS, r = ns % NS;

	if (r < 0) {
		s--;
		r += NS;
	}
	tx.time.tv_sec = s;
	tx.time.tv_usec = r;
	adj(&tx, "ADJ_SETOFFSET");
}

int main(int argc, char **argv)
{
	const char *op;
	int fd;

	if (argc < 4) {
		fprintf(stderr, "usage: guest_inject DEVICE step NS | set UNIX_S | at UNIX_S NS | "
				"freq PPB\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "guest_inject: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	phc = FD_TO_CLOCKID(fd);
	op = argv[2];
	if (strcmp(op, "step") == 0) {
		step(strtoll(argv[3], NULL, 10));
		printf("inject step %s ns\n", argv[3]);
	} else if (strcmp(op, "set") == 0) {
		step(strtoll(argv[3], NULL, 10) * NS - now(phc));
		printf("inject set %s\n", argv[3]);
	} else if (strcmp(op, "at") == 0 && argc > 4) {
		int64_t target = strtoll(argv[3], NULL, 10) * NS, left;

		while ((left = target - now(phc)) > 0) {
			int64_t nap = left > 20000000 ? left - 10000000 : 100000;
			struct timespec ts = {nap / NS, nap % NS};

			clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
		}
		left = now(phc) - target;
		step(strtoll(argv[4], NULL, 10));
		printf("inject at %s step %s ns (%lld ns after it)\n", argv[3], argv[4],
		       (long long)left);
	} else if (strcmp(op, "freq") == 0) {
		struct timex tx = {.modes = ADJ_FREQUENCY};
		long long ppb = strtoll(argv[3], NULL, 10);
		int64_t before, after;

		if (strcmp(argv[3], "min") == 0) {
			const char *base = strrchr(argv[1], '/');
			char path[256];
			FILE *f;

			snprintf(path, sizeof(path), "/sys/class/ptp/%s/max_adjustment",
				 base ? base + 1 : argv[1]);
			f = fopen(path, "r");
			if (!f || fscanf(f, "%lld", &ppb) != 1) {
				fprintf(stderr, "guest_inject: cannot read %s\n", path);
				return 1;
			}
			fclose(f);
			ppb = -ppb;
		}

		tx.freq = (long)(ppb * 65536 / 1000);
		before = phc_minus_raw();
		adj(&tx, "ADJ_FREQUENCY");
		after = phc_minus_raw();
		if (after != before)
			step(before - after);
		printf("inject freq %lld ppb, compensated %lld ns, residual %lld ns\n", ppb,
		       (long long)(before - after), (long long)(phc_minus_raw() - before));
	} else {
		fprintf(stderr, "guest_inject: unknown operation %s\n", op);
		return 2;
	}
	return 0;
}
