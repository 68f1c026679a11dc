#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The noise shapes of scenarios/noise-shapes.scn as sim_probe reads them: cross-timestamps
# late by a one-sided amount with rare outliers of both signs, and window reads (basic,
# gettime) whose error about the window's middle grows with the window.
# Usage: test_sim_noise.sh PHCSIM SIM_PROBE SCENARIO
set -u
phcsim=$1 probe=$2 scn=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$phcsim" -s "$scn" -- "$probe" >"$tmp/out" 2>"$tmp/err" ||
	fail "the run exited non-zero: $(cat "$tmp/err")"

# "I precise PHC REAL", "I basic REAL PHC REAL", "I gettime REAL PHC REAL"; only the last
# 12 digits of the nanoseconds (doubles hold them exactly).
awk '
function ns(s) { return substr(s, length(s) - 11) + 0 }
function diff(a, b,   d) {
	d = ns(a) - ns(b); if (d > 5e11) d -= 1e12; if (d < -5e11) d += 1e12; return d
}
function bad(msg) { print "FAIL: " msg; failed = 1 }
# From the probe'"'"'s step on, REALTIME keeps a constant offset from the PHC (its error is
# that of the reading the step used, so it comes out of the data below).
$1 == "step" { on = 1; next }
!on { next }
$2 == "precise" && NF == 4 { p[++np] = diff($3, $4) }
($2 == "basic" || $2 == "gettime") && NF == 5 {
	w[++nw] = diff($5, $3); e[nw] = diff($4, $3) - w[nw] / 2; wsum += w[nw]
}
END {
	if (np < 100 || nw < 200) { bad("too few reads: " np " precise, " nw " window"); exit 1 }
	# The median of the cross-timestamps, then the outliers (over 500 us from it) and
	# the least of the rest: the offset itself, as the other part is one-sided.
	for (i = 1; i <= np; i++) {
		below = 0
		for (j = 1; j <= np; j++) below += p[j] < p[i]
		if (below == int(np / 2)) med = p[i]
	}
	c = med
	for (i = 1; i <= np; i++) {
		if (p[i] - med > 500e3) up++
		else if (p[i] - med < -500e3) down++
		else { if (p[i] < c) c = p[i]; late += p[i]; nl++ }
	}
	late = late / nl - c
	if (up + down < 2 || up + down > 25) bad(up + down " outliers in " np " cross-timestamps (5 %)")
	if (up < 1 || down < 1) bad("the outliers do not take both signs: " up " up, " down " down")
	if (med - c < 5e3 || med - c > 9e3 || late < 8e3 || late > 12e3)
		bad("not one-sided Exp(10 us): median " med - c " ns, mean " late " ns above the least")
	# Each window read within its window; the windows longer than the mean against the
	# shorter ones.
	for (i = 1; i <= nw; i++) {
		a = e[i] - c; a = a < 0 ? -a : a
		if (a > w[i] / 2 + 1000) bad("a read outside its window: " a " ns off, window " w[i])
		if (w[i] > wsum / nw) { long += a; nlong++ } else { short += a; nshort++ }
	}
	if (long / nlong < 2 * short / nshort)
		bad("error does not grow with the window: " long / nlong " against " short / nshort)
	exit failed
}' "$tmp/out" || fail "see above"
echo "ok"
