/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The drift file format: whatever parses is in range and survives a round trip (format,
 * parse, format again gives the same line, values within half a thousandth); and the first
 * 16 bytes as two doubles are formatted exactly when in range.
 */
#include <errno.h>
#include <math.h>

#include "fuzz.h"
#include "phcsync/driftfile.h"

static void round_trip(double freq_ppb, double unc_ppb)
{
	char line[128], again[128];
	double f2, u2;
	int n = driftfile_format(line, sizeof(line), freq_ppb, unc_ppb), n2;

	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(line), "format %g %g: %d", freq_ppb, unc_ppb, n);
	FUZZ_CHECK(line[n - 1] == '\n' && strlen(line) == (size_t)n, "line \"%s\"", line);
	FUZZ_CHECK(driftfile_parse(line, (size_t)n, &f2, &u2) == 0, "\"%s\" does not parse", line);
	FUZZ_CHECK(fabs(f2 - freq_ppb) <= 0.0005 + 1e-9 * fabs(freq_ppb) &&
			   fabs(u2 - unc_ppb) <= 0.0005 + 1e-9 * unc_ppb,
		   "%g %g -> \"%s\" -> %g %g", freq_ppb, unc_ppb, line, f2, u2);
	n2 = driftfile_format(again, sizeof(again), f2, u2);
	FUZZ_CHECK(n2 == n && !strcmp(line, again), "\"%s\" then \"%s\"", line, again);
	/* Any shorter buffer is refused, never cut. */
	for (size_t len = 0; len <= (size_t)n; len++)
		FUZZ_CHECK(driftfile_format(again, len, freq_ppb, unc_ppb) ==
				   (len ? -ENOSPC : -EINVAL),
			   "buffer of %zu", len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	double freq_ppb = 1234.5, unc_ppb = 6.5;
	char *text = fuzz_strndup(data, size);

	if (driftfile_parse(text, size, &freq_ppb, &unc_ppb) == 0) {
		FUZZ_CHECK(isfinite(freq_ppb) && fabs(freq_ppb) <= DRIFTFILE_FREQ_MAX_PPB &&
				   isfinite(unc_ppb) && unc_ppb >= 0 &&
				   unc_ppb <= DRIFTFILE_UNC_MAX_PPB,
			   "parsed %g %g", freq_ppb, unc_ppb);
		round_trip(freq_ppb, unc_ppb);
	} else {
		FUZZ_CHECK(freq_ppb == 1234.5 && unc_ppb == 6.5, "a refused file set values");
	}
	free(text);

	if (size >= 2 * sizeof(double)) {
		char line[128];
		int n;

		memcpy(&freq_ppb, data, sizeof(double));
		memcpy(&unc_ppb, data + sizeof(double), sizeof(double));
		n = driftfile_format(line, sizeof(line), freq_ppb, unc_ppb);
		if (isfinite(freq_ppb) && fabs(freq_ppb) <= DRIFTFILE_FREQ_MAX_PPB &&
		    isfinite(unc_ppb) && unc_ppb >= 0 && unc_ppb <= DRIFTFILE_UNC_MAX_PPB)
			round_trip(freq_ppb, unc_ppb);
		else
			FUZZ_CHECK(n == -EINVAL, "format %g %g: %d", freq_ppb, unc_ppb, n);
	}
	return 0;
}
