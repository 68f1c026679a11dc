#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Kernel-model conformance: guest_conform's list of clock_adjtime calls on a real 6.12
# kernel (in the QEMU guest) and under phcsim (sim_kernel.c); return codes and the state
# read back must match call by call. maxerror may differ by the kernel's 500 us a second
# growth (the guest's calls straddle second boundaries; the simulator's take no time).
# Usage: conform.sh PHCSIM BINDIR...
set -u
phcsim=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/phcsync-conform.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
conform=
for d in "$@"; do
	[ -z "$conform" ] && [ -x "$d/guest_conform" ] && conform=$d/guest_conform
done
[ -n "$conform" ] || { echo "ERROR: guest_conform not found"; exit 99; }

"$phcsim" --duration 120 -- "$conform" >"$tmp/sim.out" 2>"$tmp/sim.err"
st=$?
[ "$st" -eq 0 ] || { echo "ERROR: guest_conform under phcsim: exit $st"; cat "$tmp/sim.err"; exit 99; }

PHCSYNC_GUEST_KEEP=$tmp/guest.log sh "$here/guest.sh" conform "$@"
st=$?
[ "$st" -eq 0 ] || exit "$st"

grep '^K ' "$tmp/guest.log" >"$tmp/guest.k"
grep '^K ' "$tmp/sim.out" >"$tmp/sim.k"
echo "== call: guest (real kernel) | phcsim"
echo "   K N LABEL RET ERRNO FREQ TICK STATUS CONSTANT TAI MAXERROR ESTERROR OFFSET STEP_MS"
awk 'NR == FNR { sim[$2] = $0; next }
	{
		split(sim[$2], s, " ")
		bad = ""
		if (!($2 in sim)) bad = " missing under phcsim"
		for (i = 3; i <= 14 && !bad; i++) {
			if (i == 11) { d = $i - s[i]; if (d < 0) d = -d; if (d <= 1000) continue }
			if ($i != s[i]) bad = bad " field" i
		}
		n++
		if (bad) { nbad++; print "DIFF " $0 "\n   | " sim[$2] "  (" bad " )" }
		else print "same " $0
	}
	END {
		printf "%d calls, %d differ\n", n, nbad
		exit !(n > 60 && nbad == 0)
	}' "$tmp/sim.k" "$tmp/guest.k"
